/* SPDX-License-Identifier: MIT */
/* prelude.c - the prelude: what the sandbox's JavaScript has beyond QuickJS's own built-ins.
 *
 * prelude/prelude.js (the core-js modules QuickJS needs, and prelude/web.js) is bundled by
 * esbuild and compiled to QuickJS bytecode (prelude/compile.c) at build time, into
 * prelude_bc.h; pb_init runs it once, so that it lives in the engine's snapshot and costs a call
 * nothing. web.js's native helpers are here, on globalThis.__plugbox while the prelude runs:
 *   utf8Encode(s) -> ArrayBuffer                  TextEncoder.encode
 *   utf8EncodeInto(s, buf, off, len) -> [read, written]
 *   utf8Decode(buf, off, len, fatal, stream) -> [text, bytes of a cut character left over]
 *   now(), timeOrigin()                           performance
 *   format(...args)                               console's text of its arguments
 *   detach(buffer)                                ArrayBuffer.prototype.transfer
 *   arm()                                         a timer was set while none was pending
 * and web.js leaves step() and reset() there, its timers' entry points. Also here:
 * queueMicrotask and Error.isError, which the engine does better than core-js (see each). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prelude.h"
#include "prelude_bc.h" /* generated: pb_prelude_bc[], pb_prelude_bc_LEN */

/* guest.c: console's text of a list of values (what console.log writes), in malloc'd memory */
char *pb_console_text(JSContext *ctx, int argc, JSValueConst *argv, size_t *len);

static JSValue helpers;   /* the __plugbox object, kept after the prelude ran */
static int timers_armed;  /* a timer may be pending: step() until it says none */
static uint64_t start_ns; /* the call's start on the monotonic clock */
static int64_t origin_ms; /* and on the wall clock, in Date's milliseconds, once asked; or -1 */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One clock reading a call: the wall clock's is taken when a script asks for it. */
void pb_prelude_call_start(void)
{
    start_ns = clock_ns(CLOCK_MONOTONIC);
    origin_ms = -1;
}

/* Whole milliseconds, as Date has them: finer clocks would only help timing attacks. */
static JSValue js_now(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc, (void)argv;
    return JS_NewInt64(ctx, (int64_t)((clock_ns(CLOCK_MONOTONIC) - start_ns) / 1000000u));
}

/* The wall clock's time at the call's start, in Date's milliseconds: the same all the call. */
static JSValue js_time_origin(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc, (void)argv;
    if (origin_ms < 0)
        origin_ms = (int64_t)((clock_ns(CLOCK_REALTIME) - (clock_ns(CLOCK_MONOTONIC) - start_ns)) / 1000000u);
    return JS_NewInt64(ctx, origin_ms);
}

static JSValue js_format(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    size_t n;
    char *t = pb_console_text(ctx, argc, argv, &n);
    if (!t)
        return JS_EXCEPTION;
    JSValue s = JS_NewStringLen(ctx, t, n);
    free(t);
    return s;
}

static JSValue js_arm(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)ctx, (void)this_val, (void)argc, (void)argv;
    timers_armed = 1;
    return JS_UNDEFINED;
}

/* ---- UTF-8, as the WHATWG Encoding standard has it ------------------------------------------ */

/* One character at s[0..n): 1 when well-formed (*len its bytes); 0 when not (*len the bytes of
 * its maximal subpart, which one U+FFFD replaces); -1 when the bytes run out inside a
 * character that could still be well-formed (*len = n). */
static int utf8_char(const uint8_t *s, size_t n, size_t *len)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t need;
    if (c < 0x80) {
        *len = 1;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        *len = 1;
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= n) {
            *len = n;
            return -1;
        }
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf)) {
            *len = i;
            return 0;
        }
    }
    *len = need;
    return 1;
}

static int get_bytes(JSContext *ctx, JSValueConst buf, JSValueConst off, JSValueConst len, uint8_t **p,
                     size_t *n)
{
    size_t size;
    uint32_t o, l;
    uint8_t *b = JS_GetArrayBuffer(ctx, &size, buf);
    if (!b && JS_HasException(ctx)) /* not a buffer, or a detached one */
        return -1;
    if (JS_ToUint32(ctx, &o, off) < 0 || JS_ToUint32(ctx, &l, len) < 0)
        return -1;
    if (o > size || l > size - o) {
        JS_ThrowRangeError(ctx, "offset out of bounds");
        return -1;
    }
    *p = b ? b + o : NULL;
    *n = l;
    return 0;
}

/* The engine's UTF-8 of a string encodes a lone surrogate as itself (ED A0..BF xx), where
 * TextEncoder writes U+FFFD (EF BF BD): the same three bytes' room. */
static void fix_surrogates(uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++)
        if (p[i] == 0xed && p[i + 1] >= 0xa0) {
            p[i] = 0xef, p[i + 1] = 0xbf, p[i + 2] = 0xbd;
            i += 2;
        }
}

static JSValue js_utf8_encode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc;
    size_t n;
    const char *s = JS_ToCStringLen2(ctx, &n, argv[0], 0);
    if (!s)
        return JS_EXCEPTION;
    JSValue buf = JS_NewArrayBufferCopy(ctx, (const uint8_t *)s, n);
    JS_FreeCString(ctx, s);
    if (JS_IsException(buf))
        return buf;
    size_t size;
    uint8_t *p = JS_GetArrayBuffer(ctx, &size, buf);
    if (p)
        fix_surrogates(p, size);
    return buf;
}

static JSValue pair(JSContext *ctx, JSValue v, size_t n);

static JSValue js_utf8_encode_into(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc;
    uint8_t *dst;
    size_t room;
    if (get_bytes(ctx, argv[1], argv[2], argv[3], &dst, &room) < 0)
        return JS_EXCEPTION;
    size_t n;
    const char *s = JS_ToCStringLen2(ctx, &n, argv[0], 0);
    if (!s)
        return JS_EXCEPTION;
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, read = 0;
    while (i < n) {
        /* the engine's UTF-8 is well-formed but for lone surrogates, which take 3 bytes too */
        size_t len = u[i] < 0x80 ? 1 : u[i] < 0xe0 ? 2 : u[i] < 0xf0 ? 3 : 4;
        if (len > room - i || len > n - i)
            break;
        memcpy(dst + i, u + i, len);
        if (len == 3)
            fix_surrogates(dst + i, 3);
        i += len;
        read += len == 4 ? 2 : 1; /* UTF-16 code units */
    }
    JS_FreeCString(ctx, s);
    return pair(ctx, JS_NewInt64(ctx, (int64_t)read), i);
}

/* [v, n], which takes v */
static JSValue pair(JSContext *ctx, JSValue v, size_t n)
{
    if (JS_IsException(v))
        return v;
    JSValue r = JS_NewArray(ctx);
    if (JS_IsException(r)) {
        JS_FreeValue(ctx, v);
        return r;
    }
    if (JS_SetPropertyUint32(ctx, r, 0, v) < 0 || JS_SetPropertyUint32(ctx, r, 1, JS_NewInt64(ctx, (int64_t)n)) < 0) {
        JS_FreeValue(ctx, r);
        return JS_EXCEPTION;
    }
    return r;
}

static JSValue js_utf8_decode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc;
    uint8_t *s;
    size_t n;
    if (get_bytes(ctx, argv[0], argv[1], argv[2], &s, &n) < 0)
        return JS_EXCEPTION;
    int fatal = JS_ToBool(ctx, argv[3]), stream = JS_ToBool(ctx, argv[4]);
    size_t i = 0, len = 0, left = 0;
    int k = 1;
    while (i < n && (k = utf8_char(s + i, n - i, &len)) == 1)
        i += len;
    if (k == -1 && stream) { /* a character the next chunk completes */
        left = n - i;
        n = i;
    }
    if (i == n) /* well-formed: the engine takes it as it is */
        return pair(ctx, JS_NewStringLen(ctx, (const char *)s, n), left);
    if (fatal)
        return JS_ThrowTypeError(ctx, "The encoded data was not valid for encoding utf-8");
    /* each ill-formed part becomes U+FFFD: at most 3 bytes for each byte */
    if (n > SIZE_MAX / 3)
        return JS_ThrowRangeError(ctx, "input too large");
    uint8_t *out = js_malloc(ctx, n * 3 + 1);
    if (!out)
        return JS_EXCEPTION;
    memcpy(out, s, i);
    size_t o = i;
    while (i < n) {
        k = utf8_char(s + i, n - i, &len);
        if (k == -1 && stream) {
            left = n - i;
            break;
        }
        if (k == 1) {
            memcpy(out + o, s + i, len);
            o += len;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
        }
        i += len;
    }
    JSValue text = JS_NewStringLen(ctx, (const char *)out, o);
    js_free(ctx, out);
    return pair(ctx, text, left);
}

/* ---- detach(buffer): ArrayBuffer.prototype.transfer's (web.js), on an ArrayBuffer it checked - */
static JSValue js_detach(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc;
    JS_DetachArrayBuffer(ctx, argv[0]);
    return JS_UNDEFINED;
}

/* ---- Error.isError -------------------------------------------------------------------------
 * The engine knows an error by its internal class, as the proposal asks; core-js's can only
 * read Symbol.toStringTag, which any object may fake. */
static JSValue js_is_error(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    return JS_NewBool(ctx, argc > 0 && JS_IsError(ctx, argv[0]));
}

/* ---- queueMicrotask ------------------------------------------------------------------------ */

static JSValue microtask_job(JSContext *ctx, int argc, JSValueConst *argv)
{
    (void)argc;
    JSValue r = JS_Call(ctx, argv[0], JS_UNDEFINED, 0, NULL);
    if (JS_IsException(r))
        return r;
    JS_FreeValue(ctx, r);
    return JS_UNDEFINED;
}

static JSValue js_queue_microtask(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    if (argc < 1 || !JS_IsFunction(ctx, argv[0]))
        return JS_ThrowTypeError(ctx, "The \"callback\" argument must be of type function");
    if (JS_EnqueueJob(ctx, microtask_job, 1, argv) < 0)
        return JS_EXCEPTION;
    return JS_UNDEFINED;
}

/* ---- timers -------------------------------------------------------------------------------- */

static int run_jobs(JSContext *ctx)
{
    JSContext *c;
    int r;
    while ((r = JS_ExecutePendingJob(JS_GetRuntime(ctx), &c)) > 0)
        ;
    return r;
}

int pb_prelude_settle(JSContext *ctx, volatile int32_t *interrupt_word, int *interrupted)
{
    for (;;) {
        if (run_jobs(ctx) < 0)
            return -1;
        if (!timers_armed)
            return 0;
        if (*interrupt_word) { /* an endless setInterval stops here too, between callbacks */
            *interrupted = 1;
            JS_ThrowInternalError(ctx, "interrupted");
            return -1;
        }
        JSValue step = JS_GetPropertyStr(ctx, helpers, "step");
        JSValue r = JS_Call(ctx, step, JS_UNDEFINED, 0, NULL);
        JS_FreeValue(ctx, step);
        if (JS_IsException(r))
            return -1;
        if (!JS_ToBool(ctx, r))
            timers_armed = 0;
        JS_FreeValue(ctx, r);
    }
}

void pb_prelude_forget_timers(JSContext *ctx)
{
    if (!timers_armed)
        return;
    timers_armed = 0;
    JSValue reset = JS_GetPropertyStr(ctx, helpers, "reset");
    JSValue r = JS_Call(ctx, reset, JS_UNDEFINED, 0, NULL);
    if (JS_IsException(r))
        JS_FreeValue(ctx, JS_GetException(ctx));
    JS_FreeValue(ctx, r);
    JS_FreeValue(ctx, reset);
}

/* ---- set-up -------------------------------------------------------------------------------- */

static const JSCFunctionListEntry helper_funcs[] = {
    JS_CFUNC_DEF("utf8Encode", 1, js_utf8_encode),
    JS_CFUNC_DEF("utf8EncodeInto", 4, js_utf8_encode_into),
    JS_CFUNC_DEF("utf8Decode", 5, js_utf8_decode),
    JS_CFUNC_DEF("now", 0, js_now),
    JS_CFUNC_DEF("timeOrigin", 0, js_time_origin),
    JS_CFUNC_DEF("format", 0, js_format),
    JS_CFUNC_DEF("detach", 1, js_detach),
    JS_CFUNC_DEF("arm", 0, js_arm),
};

int pb_prelude_install(JSContext *ctx)
{
    JSValue global = JS_GetGlobalObject(ctx);
    int rc = -1;
    helpers = JS_NewObject(ctx);
    if (JS_IsException(helpers))
        goto out;
    JS_SetPropertyFunctionList(ctx, helpers, helper_funcs, sizeof helper_funcs / sizeof helper_funcs[0]);
    if (JS_DefinePropertyValueStr(ctx, global, "queueMicrotask",
                                  JS_NewCFunction(ctx, js_queue_microtask, "queueMicrotask", 1),
                                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0 ||
        JS_SetPropertyStr(ctx, global, "__plugbox", JS_DupValue(ctx, helpers)) < 0)
        goto out;
    JSValue error = JS_GetPropertyStr(ctx, global, "Error");
    int e = JS_DefinePropertyValueStr(ctx, error, "isError", JS_NewCFunction(ctx, js_is_error, "isError", 1),
                                      JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    JS_FreeValue(ctx, error);
    if (e < 0)
        goto out;
    pb_prelude_call_start();
    /* bytecode, compiled at build time (prelude/compile.c) */
    JSValue fn = JS_ReadObject(ctx, pb_prelude_bc, pb_prelude_bc_LEN, JS_READ_OBJ_BYTECODE);
    if (JS_IsException(fn))
        goto out;
    JSValue r = JS_EvalFunction(ctx, fn);
    if (JS_IsException(r))
        goto out;
    JS_FreeValue(ctx, r);
    /* core-js's shared store stays reachable from its own functions: the name is not needed */
    JSAtom shared = JS_NewAtom(ctx, "__core-js_shared__");
    int d = JS_DeleteProperty(ctx, global, shared, 0);
    JS_FreeAtom(ctx, shared);
    if (d < 0)
        goto out;
    rc = 0;
out:
    JS_FreeValue(ctx, global);
    return rc;
}
