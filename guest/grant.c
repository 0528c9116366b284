/* SPDX-License-Identifier: MIT */
/* grant.c - what the host grants a program: its functions (the global `host`) and its
 * configuration (the global `config`), installed once, when the program is made, into its
 * snapshot. Deny by default: neither global exists unless the host granted something.
 *
 * A call of host.NAME(...args) goes to the host in two steps, both imports: host_call hands
 * over the arguments as one JSON array (JSON.stringify's text, in this memory) and answers
 * what the host function did, with the size of its text when there is one; host_take then
 * copies that text into memory allocated here, so that a result counts against the sandbox's
 * memory like anything else the script makes. The text is decoded by the guest's JSON decoder
 * (json.c), which words a syntax error with its place. Nothing the host returns reaches the
 * script any other way. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "grant.h"
#include "json.h"

#if defined(__wasm__)
#define IMPORT(name) __attribute__((import_module("plugbox"), import_name(name)))
#else /* the native build of the benchmark: no host to call */
#define IMPORT(name) __attribute__((weak))
#endif

/* What host_call answers; mirrored by the host (src/grant.c). */
enum {
    PB_HOST_UNDEFINED = 0, /* returned nothing */
    PB_HOST_JSON = 1,      /* returned JSON text: *len bytes to take */
    PB_HOST_THREW = 2,     /* threw: a message of *len bytes to take */
    PB_HOST_TOO_LARGE = 3, /* returned more than the sandbox's memory can hold: *len its size, capped */
    PB_HOST_NO_MEMORY = 4, /* the host could not keep what the function returned */
    PB_HOST_REFUSED = 5,   /* no such function, or arguments the host could not read */
};

IMPORT("host_call") int32_t host_call(uint32_t index, const char *args, uint32_t len, uint32_t *out_len);
IMPORT("host_take") void host_take(char *dst, uint32_t len);

/* guest/quickjs/05-json.patch's encoder of plain data, and the text allocator it uses (guest.c) */
int JS_JSONStringifyFast(JSContext *ctx, JSValueConst val, char **pbuf, size_t *plen) __attribute__((weak));
void pb_text_free(void *p);

#define PB_JSON_PAD 8 /* zero bytes after a text the decoder reads (json.h) */

static char **names; /* the granted functions' names, by index (magic) */
static uint32_t count;
static JSValue error_ctor; /* Error, as it was before any script ran: what plugbox_host_throw raises */

static JSValue throw_error(JSContext *ctx, const char *msg)
{
    JSValue m = JS_NewString(ctx, msg);
    JSValue e = JS_IsException(m) ? m : JS_CallConstructor(ctx, error_ctor, 1, (JSValueConst *)&m);
    JS_FreeValue(ctx, m);
    if (JS_IsException(e))
        return e;
    return JS_Throw(ctx, e);
}

/* The pending text of len bytes, taken from the host into memory of the sandbox's, with the
 * decoder's zero padding; NULL (an exception pending) when the sandbox cannot hold it. */
static char *take(JSContext *ctx, uint32_t len)
{
    char *buf = js_malloc(ctx, (size_t)len + PB_JSON_PAD);
    if (!buf) {
        host_take(NULL, 0); /* the host drops it */
        return NULL;
    }
    host_take(buf, len);
    memset(buf + len, 0, PB_JSON_PAD);
    return buf;
}

static JSValue js_host_function(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv, int magic)
{
    (void)this_val;
    if (magic < 0 || (uint32_t)magic >= count)
        return JS_ThrowInternalError(ctx, "no such host function");
    const char *name = names[magic];
    JSValue arr = JS_NewArray(ctx);
    if (JS_IsException(arr))
        return arr;
    for (int i = 0; i < argc; i++)
        if (JS_SetPropertyUint32(ctx, arr, (uint32_t)i, JS_DupValue(ctx, argv[i])) < 0) {
            JS_FreeValue(ctx, arr);
            return JS_EXCEPTION;
        }
    /* the arguments' text: by the fast encoder when they are plain data (NUL-terminated, as
     * the host wants it), else by JSON.stringify, with its errors (a BigInt, a cycle) */
    char *fast = NULL;
    size_t alen = 0;
    const char *args = NULL;
    int f = JS_JSONStringifyFast ? JS_JSONStringifyFast(ctx, arr, &fast, &alen) : 0;
    if (f < 0) {
        JS_FreeValue(ctx, arr);
        return JS_ThrowOutOfMemory(ctx);
    }
    if (f > 0) {
        JS_FreeValue(ctx, arr);
        args = fast;
    } else {
        JSValue text = JS_JSONStringify(ctx, arr, JS_UNDEFINED, JS_UNDEFINED);
        JS_FreeValue(ctx, arr);
        if (JS_IsException(text))
            return text;
        args = JS_ToCStringLen(ctx, &alen, text);
        JS_FreeValue(ctx, text);
        if (!args)
            return JS_EXCEPTION;
    }
    uint32_t len = 0;
    int32_t kind = alen < UINT32_MAX ? host_call((uint32_t)magic, args, (uint32_t)alen, &len) : PB_HOST_REFUSED;
    if (fast)
        pb_text_free(fast);
    else
        JS_FreeCString(ctx, args);

    char msg[160];
    switch (kind) {
    case PB_HOST_UNDEFINED: return JS_UNDEFINED;
    case PB_HOST_JSON: {
        char *buf = take(ctx, len);
        if (!buf)
            return JS_EXCEPTION;
        pb_json_status st;
        JSValue v = pb_json_decode(ctx, buf, len, &st);
        js_free(ctx, buf);
        if (!JS_IsException(v) || st.error == PB_JSON_ENGINE)
            return v;
        if (st.error == PB_JSON_NOMEM)
            return JS_ThrowOutOfMemory(ctx);
        return JS_ThrowSyntaxError(ctx, "host.%s returned text that is not JSON (at byte %zu)", name, st.offset);
    }
    case PB_HOST_THREW: {
        char *buf = take(ctx, len);
        if (!buf)
            return JS_EXCEPTION;
        JSValue r = throw_error(ctx, buf);
        js_free(ctx, buf);
        return r;
    }
    case PB_HOST_TOO_LARGE:
        snprintf(msg, sizeof msg, "host.%s returned %lu bytes, more than the sandbox's memory can hold", name,
                 (unsigned long)len);
        return JS_ThrowRangeError(ctx, "%s", msg);
    case PB_HOST_NO_MEMORY:
        return JS_ThrowInternalError(ctx, "host.%s: the host ran out of memory keeping its result", name);
    default: return JS_ThrowInternalError(ctx, "host.%s could not be called", name);
    }
}

/* Object.freeze on v and on every object under it, without recursion (a deeply nested
 * configuration must not run the guest's stack out). */
static const char deep_freeze_src[] =
    "(function (v) { const f = Object.freeze, k = Object.keys, w = [v];"
    " while (w.length) { const o = w.pop(); f(o);"
    " for (const p of k(o)) { const x = o[p]; if (x !== null && typeof x === 'object') w.push(x); } }"
    " return v; })";

static int define_frozen_global(JSContext *ctx, const char *name, JSValue v)
{
    JSValue fn = JS_Eval(ctx, deep_freeze_src, sizeof deep_freeze_src - 1, "<plugbox>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(fn)) {
        JS_FreeValue(ctx, v);
        return -1;
    }
    JSValue r = JS_Call(ctx, fn, JS_UNDEFINED, 1, (JSValueConst *)&v);
    JS_FreeValue(ctx, fn);
    if (JS_IsException(r)) {
        JS_FreeValue(ctx, v);
        return -1;
    }
    JS_FreeValue(ctx, r);
    JSValue global = JS_GetGlobalObject(ctx);
    int rc = JS_DefinePropertyValueStr(ctx, global, name, v, JS_PROP_ENUMERABLE); /* read-only, fixed */
    JS_FreeValue(ctx, global);
    return rc < 0 ? -1 : 0;
}

static int install_host(JSContext *ctx, const char *list, size_t list_len, uint32_t n)
{
    names = js_mallocz(ctx, sizeof *names * (n ? n : 1));
    if (!names)
        return -1;
    JSValue global = JS_GetGlobalObject(ctx);
    error_ctor = JS_GetPropertyStr(ctx, global, "Error");
    JS_FreeValue(ctx, global);
    if (JS_IsException(error_ctor))
        return -1;
    JSValue host = JS_NewObjectProto(ctx, JS_NULL);
    if (JS_IsException(host))
        return -1;
    const char *p = list, *end = list + list_len;
    for (uint32_t i = 0; i < n; i++) {
        const char *z = memchr(p, 0, (size_t)(end - p));
        if (!z) {
            JS_FreeValue(ctx, host);
            JS_ThrowInternalError(ctx, "malformed list of host functions");
            return -1;
        }
        if (!(names[i] = js_strdup(ctx, p))) {
            JS_FreeValue(ctx, host);
            return -1;
        }
        count = i + 1;
        JSValue f = JS_NewCFunctionMagic(ctx, js_host_function, p, 0, JS_CFUNC_generic_magic, (int)i);
        if (JS_DefinePropertyValueStr(ctx, host, p, f, JS_PROP_ENUMERABLE) < 0) {
            JS_FreeValue(ctx, host);
            return -1;
        }
        p = z + 1;
    }
    return define_frozen_global(ctx, "host", host);
}

/* The base text (or {}), then each "key\0json\0" + padding of values over it. */
static int install_config(JSContext *ctx, const char *base, size_t base_len, int has_base, const char *values,
                          size_t values_len, uint32_t nvalues)
{
    pb_json_status st;
    JSValue config = has_base ? pb_json_decode(ctx, base, base_len, &st) : JS_NewObject(ctx);
    if (JS_IsException(config)) {
        if (has_base && st.error == PB_JSON_SYNTAX)
            JS_ThrowSyntaxError(ctx, "config is not JSON (at byte %zu)", st.offset);
        else if (has_base && st.error == PB_JSON_NOMEM)
            JS_ThrowOutOfMemory(ctx);
        return -1;
    }
    if (nvalues && (!JS_IsObject(config) || JS_IsArray(ctx, config))) {
        JS_FreeValue(ctx, config);
        JS_ThrowTypeError(ctx, "config must be an object to set keys in it");
        return -1;
    }
    const char *p = values, *end = values + values_len;
    for (uint32_t i = 0; i < nvalues; i++) {
        const char *key = p, *kz = memchr(p, 0, (size_t)(end - p));
        const char *json = kz ? kz + 1 : NULL, *jz = json ? memchr(json, 0, (size_t)(end - json)) : NULL;
        if (!jz || (size_t)(end - jz) < PB_JSON_PAD) {
            JS_FreeValue(ctx, config);
            JS_ThrowInternalError(ctx, "malformed configuration values");
            return -1;
        }
        JSValue v = pb_json_decode(ctx, json, (size_t)(jz - json), &st);
        if (JS_IsException(v)) {
            if (st.error == PB_JSON_SYNTAX)
                JS_ThrowSyntaxError(ctx, "config value of %s is not JSON (at byte %zu)", key, st.offset);
            else if (st.error == PB_JSON_NOMEM)
                JS_ThrowOutOfMemory(ctx);
            JS_FreeValue(ctx, config);
            return -1;
        }
        if (JS_DefinePropertyValueStr(ctx, config, key, v, JS_PROP_C_W_E) < 0) {
            JS_FreeValue(ctx, config);
            return -1;
        }
        p = jz + PB_JSON_PAD;
    }
    return define_frozen_global(ctx, "config", config);
}

int pb_grant_install(JSContext *ctx, const struct pb_grant *g)
{
    if (g->functions_count && install_host(ctx, g->functions, g->functions_len, g->functions_count) < 0)
        return -1;
    if ((g->has_config || g->values_count) &&
        install_config(ctx, g->config, g->config_len, g->has_config, g->values, g->values_len, g->values_count) < 0)
        return -1;
    return 0;
}
