/* SPDX-License-Identifier: MIT */
/* json_diff.c - differential fuzz target: the guest's JSON decoder (guest/json.c) against
 * QuickJS's own JSON.parse and the host's validator (src/jsoncheck.c), natively.
 *
 * For every input: the decoder accepts exactly what the validator (the JSON grammar) accepts;
 * JSON.parse accepts all of that too (it also takes some non-JSON, such as leading zeros, which
 * is not held against the decoder), and the decoder's value equals JSON.parse's (same types, same number bits, -0 included, same strings, same
 * keys in the same order); on invalid UTF-8, the decoder and the validator both reject it
 * (the host's contract; JSON.parse itself sees strings, not bytes). Numbers are held to the
 * correctly rounded value: a second build of the decoder that converts every number with the
 * C library's strtod (glibc's is exact) must give the same bits, so the fast path is exact;
 * QuickJS's own conversion misrounds some long numbers, so against JSON.parse a number may
 * differ by at most 2 units in the last place. The encoder (JS_JSONStringifyFast, from the
 * QuickJS patch) must write the same text as JSON.stringify for every decoded value, or
 * decline it. Any other difference aborts. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"
#include "json.h"
#include "jsoncheck.h"

JSValue pb_json_decode_strtod(JSContext *ctx, const char *text, size_t len, pb_json_status *status);
int JS_JSONStringifyFast(JSContext *ctx, JSValueConst val, char **pbuf, size_t *plen);

static JSRuntime *rt;
static JSContext *ctx;

static void fail(const char *why, const uint8_t *data, size_t size)
{
    fprintf(stderr, "json_diff: %s on input (%zu bytes): %.*s\n", why, size, (int)(size > 300 ? 300 : size), data);
    abort();
}

static int same_string(JSValueConst a, JSValueConst b)
{
    size_t na, nb;
    const char *sa = JS_ToCStringLen(ctx, &na, a), *sb = JS_ToCStringLen(ctx, &nb, b);
    int same = sa && sb && na == nb && !memcmp(sa, sb, na);
    JS_FreeCString(ctx, sa);
    JS_FreeCString(ctx, sb);
    return same;
}

/* the fast encoder and JSON.stringify agree on v, byte for byte */
static void check_encoder(JSValueConst v, const uint8_t *data, size_t size)
{
    char *fast;
    size_t fast_len;
    int r = JS_JSONStringifyFast(ctx, v, &fast, &fast_len);
    if (r < 0)
        fail("the encoder ran out of memory", data, size);
    if (r == 0)
        return; /* declined: JSON.stringify does it */
    JSValue s = JS_JSONStringify(ctx, v, JS_UNDEFINED, JS_UNDEFINED);
    size_t n;
    const char *ref = JS_ToCStringLen(ctx, &n, s);
    if (!ref || !fast || n != fast_len || memcmp(ref, fast, n))
        fail("the fast encoder and JSON.stringify differ", data, size);
    JS_FreeCString(ctx, ref);
    JS_FreeValue(ctx, s);
    free(fast);
}

static int ulp_close(double x, double y)
{
    if (x == y)
        return 1;
    return isfinite(x) && isfinite(y) && (x > 0) == (y > 0) &&
           fabs(x - y) <= 2 * fmax(nextafter(fabs(x), INFINITY) - fabs(x), nextafter(fabs(y), INFINITY) - fabs(y));
}

/* loose: numbers may be 2 ulps apart (against QuickJS's own conversion) */
static int same_value(JSValueConst a, JSValueConst b, int loose, int depth)
{
    if (depth > 100000)
        return 0;
    if (JS_IsNumber(a) || JS_IsNumber(b)) {
        double x, y;
        if (!JS_IsNumber(a) || !JS_IsNumber(b) || JS_ToFloat64(ctx, &x, a) || JS_ToFloat64(ctx, &y, b))
            return 0;
        return !memcmp(&x, &y, sizeof x) || (loose && ulp_close(x, y)); /* Object.is: -0 is not 0 */
    }
    if (JS_IsString(a) || JS_IsString(b))
        return JS_IsString(a) && JS_IsString(b) && same_string(a, b);
    if (JS_IsBool(a) || JS_IsBool(b))
        return JS_IsBool(a) && JS_IsBool(b) && JS_ToBool(ctx, a) == JS_ToBool(ctx, b);
    if (JS_IsNull(a) || JS_IsNull(b))
        return JS_IsNull(a) && JS_IsNull(b);
    if (!JS_IsObject(a) || !JS_IsObject(b) || JS_IsArray(ctx, a) != JS_IsArray(ctx, b))
        return 0;
    JSPropertyEnum *ta, *tb;
    uint32_t la, lb;
    int flags = JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY;
    if (JS_GetOwnPropertyNames(ctx, &ta, &la, a, flags) || JS_GetOwnPropertyNames(ctx, &tb, &lb, b, flags))
        return 0;
    int same = la == lb;
    for (uint32_t i = 0; same && i < la; i++) {
        same = ta[i].atom == tb[i].atom; /* atoms are interned: equal keys, equal atoms */
        if (same) {
            JSValue va = JS_GetProperty(ctx, a, ta[i].atom), vb = JS_GetProperty(ctx, b, tb[i].atom);
            same = same_value(va, vb, loose, depth + 1);
            JS_FreeValue(ctx, va);
            JS_FreeValue(ctx, vb);
        }
    }
    for (uint32_t i = 0; i < la; i++)
        JS_FreeAtom(ctx, ta[i].atom);
    for (uint32_t i = 0; i < lb; i++)
        JS_FreeAtom(ctx, tb[i].atom);
    js_free(ctx, ta);
    js_free(ctx, tb);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rt) {
        rt = JS_NewRuntime();
        JS_SetMaxStackSize(rt, 0);
        ctx = JS_NewContext(rt);
    }
    char *text = calloc(1, size + 8); /* the decoder reads up to 8 bytes past the end */
    memcpy(text, data, size);

    pb__json_error verr;
    int checked = pb__json_check(text, size, &verr);
    pb_json_status st;
    JSValue mine = pb_json_decode(ctx, text, size, &st);
    int mine_ok = !JS_IsException(mine);
    if (st.error == PB_JSON_ENGINE || st.error == PB_JSON_NOMEM)
        fail("the decoder ran out of memory", data, size);
    if (mine_ok != (checked == 0))
        fail(mine_ok ? "decoder accepts what the validator rejects" : "decoder rejects what the validator accepts",
             data, size);
    if (mine_ok) {
        JSValue exact = pb_json_decode_strtod(ctx, text, size, &st);
        if (JS_IsException(exact) || !same_value(mine, exact, 0, 0))
            fail("the decoder's number fast path differs from strtod", data, size);
        JS_FreeValue(ctx, exact);
        check_encoder(mine, data, size);
    }
    if (checked != PB__JSON_EUTF8 && memchr(text, 0, size) == NULL) {
        /* JS_ParseJSON stops at a NUL: only inputs without one are comparable */
        JSValue ref = JS_ParseJSON(ctx, text, size, "<fuzz>");
        int ref_ok = !JS_IsException(ref);
        if (!ref_ok)
            JS_FreeValue(ctx, JS_GetException(ctx));
        /* QuickJS's JSON.parse is more lenient than the JSON grammar (it takes leading zeros,
         * for one): on what the grammar rejects, the validator is the reference, checked above */
        if (mine_ok && !ref_ok)
            fail("decoder accepts what JSON.parse rejects", data, size);
        if (ref_ok && mine_ok && !same_value(mine, ref, 1, 0))
            fail("decoder and JSON.parse give different values", data, size);
        if (ref_ok)
            check_encoder(ref, data, size);
        JS_FreeValue(ctx, ref);
    }
    JS_FreeValue(ctx, mine);
    free(text);
    return 0;
}
