/* SPDX-License-Identifier: MIT */
/* encode_diff.c - differential fuzz target: the guest's fast JSON encoder (JS_JSONStringifyFast,
 * from guest/quickjs-wasi.patch) against QuickJS's own JSON.stringify (JS_JSONStringify), natively.
 *
 * The input is not JSON text: a small grammar (value() below) reads it as choices and writes a
 * JavaScript program that builds a value, with what JSON.stringify treats specially: toJSON of
 * every kind and place (own or inherited, enumerable or not, data or getter, on the prototypes,
 * through a Proxy, on functions), getters, symbol and array-index keys, holes, sparse arrays,
 * prototypes, class instances, wrappers, BigInt, cycles, shared references, deep nesting, every
 * string escape and number form. The program runs in a fresh runtime; then, for its value:
 *   - the fast encoder returns 1 (its text), 0 (declined) or -1 (out of memory);
 *   - 0 is always fine; -1 only when an allocation limit set here refused an allocation;
 *   - on 1 its text equals JSON.stringify's byte for byte (undefined: no text on both sides),
 *     and JSON.stringify must not throw;
 *   - after 1, the encoder runs again with one of its allocations failing: it must return -1
 *     (or decline, or give the same text if it did without);
 *   - it frees every block it allocated but the text it returns.
 * No normalisation is needed: QuickJS 2021's JSON.stringify already escapes lone surrogates
 * as \udxxx (lowercase, as the fast encoder does) and pairs become one 4-byte UTF-8 sequence
 * in JS_ToCStringLen, as in the encoder.
 *
 * Environment: ENCODE_DIFF_SHOW=1 prints each input's program on stderr (to see what a corpus
 * file or a crash input builds); ENCODE_DIFF_JS=1 takes each input as JavaScript source instead
 * of grammar bytes (to check a value written by hand). */
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"

int JS_JSONStringifyFast(JSContext *ctx, JSValueConst val, char **pbuf, size_t *plen);

/* ---- allocation limits ---- */

/* The fast encoder allocates with the C library (linked with --wrap=malloc,realloc,free to come
 * here). While it runs, a block over FAST_CAP, or the fail_at-th request, is refused, and its
 * blocks are tracked: after it, the only one left may be the text it returns. That is the
 * leak check, not LeakSanitizer: QuickJS 2021 leaks on some failed allocations of its own
 * (JS_ToCStringLen keeps its string), which the limit below makes happen. */
#define FAST_CAP (16u << 20)
#define MAX_LIVE 64
static int in_fast, fast_calls, fail_at, fast_refused;
static void *live[MAX_LIVE];
static int nlive, live_lost;

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

static void track(void *old, void *p)
{
    for (int i = 0; old && i < nlive; i++)
        if (live[i] == old) {
            live[i] = live[--nlive];
            break;
        }
    if (p && nlive < MAX_LIVE)
        live[nlive++] = p;
    else if (p)
        live_lost = 1;
}

static int refuse(size_t n)
{
    fast_calls++;
    if (n > FAST_CAP || fast_calls == fail_at) {
        fast_refused = 1;
        return 1;
    }
    return 0;
}

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

void *__wrap_malloc(size_t n)
{
    if (!in_fast)
        return __real_malloc(n);
    if (refuse(n))
        return NULL;
    void *p = __real_malloc(n);
    track(NULL, p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (!in_fast)
        return __real_realloc(p, n);
    if (refuse(n))
        return NULL;
    void *q = __real_realloc(p, n);
    if (q || !n)
        track(p, q);
    return q;
}

void __wrap_free(void *p)
{
    if (in_fast && p)
        track(p, NULL);
    __real_free(p);
}

/* runs the encoder with the tracking above; it must leave nothing behind but its text */
static int fast_encode(JSContext *ctx, JSValueConst v, char **buf, size_t *len, int fail_on)
{
    nlive = live_lost = fast_calls = fast_refused = 0;
    fail_at = fail_on;
    in_fast = 1;
    int r = JS_JSONStringifyFast(ctx, v, buf, len);
    in_fast = 0;
    fail_at = 0;
    if (!live_lost && (nlive > 1 || (nlive == 1 && live[0] != *buf) || (nlive == 0 && *buf)))
        return -2;
    return r;
}

/* QuickJS's own allocator, as js_def_malloc, but saying when its limit refused something:
 * JSON.stringify failing for that is not held against the encoder */
static int js_refused;

static void *lim_malloc(JSMallocState *s, size_t n)
{
    if (s->malloc_size + n > s->malloc_limit) {
        js_refused = 1;
        return NULL;
    }
    void *p = malloc(n);
    if (!p)
        return NULL;
    s->malloc_count++;
    s->malloc_size += malloc_usable_size(p) + 8;
    return p;
}

static void lim_free(JSMallocState *s, void *p)
{
    if (!p)
        return;
    s->malloc_count--;
    s->malloc_size -= malloc_usable_size(p) + 8;
    free(p);
}

static void *lim_realloc(JSMallocState *s, void *p, size_t n)
{
    if (!p)
        return n ? lim_malloc(s, n) : NULL;
    size_t old = malloc_usable_size(p);
    if (n == 0) {
        lim_free(s, p);
        return NULL;
    }
    if (s->malloc_size + n - old > s->malloc_limit) {
        js_refused = 1;
        return NULL;
    }
    void *q = realloc(p, n);
    if (!q)
        return NULL;
    s->malloc_size += malloc_usable_size(q) - old;
    return q;
}

static size_t lim_usable(const void *p)
{
    return malloc_usable_size((void *)p);
}

static const JSMallocFunctions lim_functions = {lim_malloc, lim_free, lim_realloc, lim_usable};

#define JS_LIMIT (64u << 20)

/* the harness's own conversions run without the limit */
static const char *to_utf8(JSContext *ctx, JSValueConst v, size_t *len)
{
    JS_SetMemoryLimit(JS_GetRuntime(ctx), (size_t)-1);
    const char *s = JS_ToCStringLen(ctx, len, v);
    JS_SetMemoryLimit(JS_GetRuntime(ctx), JS_LIMIT);
    return s;
}

/* ---- the grammar: bytes to a program ---- */

#define MAX_DEPTH 24     /* nesting of the source; deeper values come from N() */
#define MAX_NEST 1500    /* total depth N() may add */
#define MAX_WEIGHT 4000  /* rough size of the JSON text, so that shared references stay small */
#define MAX_SLOTS 32

typedef struct {
    const uint8_t *in;
    size_t n, pos;
    char *s;
    size_t len, cap;
    int depth, nest, slots;
    unsigned weight;
    unsigned slot_weight[MAX_SLOTS];
} gen;

/* Input bytes are choices; past the end every choice is 0, the first (and simplest) one */
static unsigned take(gen *g)
{
    return g->pos < g->n ? g->in[g->pos++] : 0;
}

static void put(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(gen *g, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(g->s + g->len, g->cap - g->len, fmt, ap);
        va_end(ap);
        if (k < 0)
            abort();
        if ((size_t)k < g->cap - g->len) {
            g->len += (size_t)k;
            return;
        }
        g->cap = 2 * (g->cap + (size_t)k);
        g->s = realloc(g->s, g->cap);
        if (!g->s)
            abort();
    }
}

/* The helpers keep a program going where a step does not apply (defining on a frozen object,
 * a primitive prototype...): a program that throws tests nothing. */
static const char prelude[] =
    "(function () {\n"
    "var S = [];\n"
    "function D(h, l) { var d = new DataView(new ArrayBuffer(8)); d.setUint32(0, h); d.setUint32(4, l); return d.getFloat64(0); }\n"
    /* P and M leave arrays short: an array given an index of 2^31 (or such a length) is
     * joined by any conversion to a string, which spends minutes in the engine's own loop,
     * where nothing stops it natively (objects still get those keys) */
    "function L(o, k, v) { try { return Array.isArray(o) && (typeof k === 'string' && /^[0-9]{7,}$/.test(k) ||\n"
    "  k === 'length' && !(typeof v === 'number' && v < 1e6)); } catch (e) { return true; } }\n"
    "function P(o, k, d) { if (L(o, k)) return o; try { Object.defineProperty(o, k, d); } catch (e) {} return o; }\n"
    "function M(o, k, v) { if (L(o, k, v)) return o; try { o[k] = v; } catch (e) {} return o; }\n"
    "function X(o, k) { try { delete o[k]; } catch (e) {} return o; }\n"
    "function O(p) { try { return Object.create(p); } catch (e) { return {}; } }\n"
    "function SP(o, p) { try { Object.setPrototypeOf(o, p); } catch (e) {} return o; }\n"
    "function N(n, v, k) { for (var i = 0; i < n; i++) v = k == 0 || (k == 2 && i & 1) ? [v] : {a: v}; return v; }\n"
    "function PX(t, h) { try { return new Proxy(t, h); } catch (e) { return new Proxy({}, h); } }\n"
    /* wraps primitives only: an object would be converted, and an array made sparse by
     * a[4294967294] = 0 takes minutes to join */
    "function W(c, v) { try { return c === Object ? Object(v) : Object(v) === v ? new c(0) : new c(v); } catch (e) { return new c(0); } }\n"
    "function AR(v, n) { return new Array(n).fill(v); }\n"
    "function AF(v) { try { return Object(v).length > 1000 ? [] : Array.from(v); } catch (e) { return []; } }\n"
    "function Q(o) { try { class B { constructor(o) { return o; } } class C extends B { #p = 1; constructor(o) { super(o); } }\n"
    "  new C(o); } catch (e) {} return o; }\n"
    "return ";
static const char postlude[] = ";\n})()\n";

enum {
    V_NULLISH, V_INT, V_INT32, V_NUMTAB, V_BITS, V_DECIMAL, V_STRING, V_LONGSTR, V_LEAF,
    V_LEAVES, /* the productions above take no value */
    V_WRAPPER = V_LEAVES, V_ARRAY, V_ARRAY_SLOT, V_OBJECT, V_OBJECT_SLOT, V_REF, V_DEFINE,
    V_ASSIGN, V_DELETE, V_CREATE, V_CLASS, V_PROXY, V_FREEZE, V_NEST, V_GLOBAL, V_NEWARRAY,
    V_PRIVATE, V_FUNC, V_SPREAD, V_PARSE, V_SETPROTO, V_TOJSON,
    V_COUNT
};

#define COUNT(a) (sizeof(a) / sizeof *(a))

static const char *const nullish[] = {"null", "true", "false", "undefined"};

/* Number::toString's edges: -0, the 1e-6 and 1e21 switches to exponents, 2^51 (where the
 * encoder's own digits stop), 2^53, the extremes. Some are given as bits, D(high, low):
 * QuickJS's parser rounds some long literals wrongly (999999999999999900000 to 1e21). */
static const char *const numbers[] = {
    "0", "-0", "1", "-1", "0.1", "0.5", "1/3", "-2/3", "0.3", "4.35", "100", "1e21", "-1e21",
    "1e20", "D(0x444b1ae4, 0xd6e2ef4f)", "D(0x441ac53a, 0x7e04bcda)", "1e-6", "1e-7", "-1.5e-6",
    "D(0x3eb0c6f7, 0xa0b5ed8c)", "0.000001234", "1.0000000000000002", "5e-324", "-5e-324",
    "2.2250738585072014e-308", "2.225073858507201e-308", "1.7976931348623157e308", "0/0",
    "1/0", "-1/0", "2**31", "-(2**31)", "2**31-1", "2**32", "2**51", "2**51-0.5", "2**51+1",
    "2**52", "2**53", "2**53+2", "2**63", "2**64", "1e15", "1e16", "1e17", "0.1+0.2",
    "2251799813685247.5", "225179981368524.75", "4503599627370495.5", "1.5 - 0.5",
};

/* code units for strings, past the ASCII ones: the UTF-8 boundaries, the surrogates alone
 * and in pairs (in either order), non-characters, the line separators */
static const char *const units[] = {
    "\\u007f", "\\u0080", "\\u00e9", "\\u00ff", "\\u0100", "\\u07ff", "\\u0800", "\\ufffd",
    "\\uffff", "\\ufeff", "\\u2028", "\\u2029", "\\ud800", "\\udbff", "\\udc00", "\\udfff",
    "\\ud83d\\ude00", "\\ud800\\udc00", "\\udbff\\udfff", "\\ude00\\ud83d", "\\ud800\\ud800",
    "\\u0000", "\\u001f", "\\\"", "\\\\", "/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u000b",
};

/* property keys: array indices and what only looks like one ("01", 2^32-1, "-0"), toJSON,
 * __proto__, wide and astral names, symbols */
static const char *const keys[] = {
    "\"a\"", "\"b\"", "\"toJSON\"", "\"0\"", "\"1\"", "\"2\"", "\"01\"", "\"4294967294\"",
    "\"4294967295\"", "\"2147483648\"", "\"-0\"", "\"1.5\"", "\"length\"", "\"__proto__\"",
    "\"\"", "\"\\u00e9\"", "\"\\ud800\"", "\"\\ud83d\\ude00\"", "\"constructor\"", "\"valueOf\"",
    "\"a\\\"b\\\\\\n\"", "\"toString\"", "\"300\"", "Symbol()", "Symbol.for(\"s\")",
    "Symbol.iterator", "Symbol.toPrimitive", "\"toJSON\"",
    /* the encoder looks for index keys among 8-bit strings only: keys made from wide ones */
    "\"\\u01003000000000\".slice(1)", "\"\\u212a\".toLowerCase()", "(\"\\u0100to\".slice(1) + \"JSON\")",
};

static const char *const leaves[] = {
    "function () {}", "() => 1", "class {}", "async function () {}", "function* () {}",
    "(function () {}).bind(null)", "Symbol()", "Symbol.for(\"s\")", "Symbol.iterator", "1n",
    "-(2n ** 70n)", "Object(1n)", "Math", "JSON", "Reflect", "globalThis", "new Date(0)",
    "new Date(NaN)", "/a/g", "new Error(\"e\")", "new Map([[1, 2]])", "new Set([1])",
    "new Uint8Array([1, 2])", "new ArrayBuffer(4)", "Promise.resolve(1)", "[1, 2].values().next()",
    "/a(b)?/.exec(\"ab\")", "(function () { return arguments; })(1, 2)", "new WeakMap()",
    "Object.getOwnPropertyDescriptor({a: 1}, \"a\")", "Object(Symbol())", "Array.prototype",
    "Object.prototype", "Function.prototype", "new Number(-0)", "new String(\"s\")",
    "new Boolean(false)", "Object.create(null)", "Object.create(Object.prototype)", "[]", "{}",
    "String.fromCharCode(0xd800)", "[, 1]", "[1, , 2]", "Object.freeze([1, 2])", "Array(3)",
};

static const char *const targets[] = {
    "Object.prototype", "Array.prototype", "Object.prototype", "Array.prototype",
    "Function.prototype", "String.prototype",
    "Number.prototype", "Boolean.prototype", "BigInt.prototype", "Symbol.prototype", "Date.prototype",
    "globalThis",
};

static const char *const json_texts[] = {
    "{\"__proto__\":[1],\"a\":2}", "{\"1\":1,\"0\":0,\"b\":2}", "[1,[2,{\"x\":null}]]",
    "{\"a\":1,\"a\":2}", "\"\\ud800\"", "{\"toJSON\":1}", "[1e400,-0,0.1]", "{\"\":{\"\":[]}}",
};

static const int nest_depths[] = {1, 2, 3, 64, 254, 255, 256, 257, 258, 259, 300, 1000};

static void value(gen *g);

static void string(gen *g)
{
    unsigned n = take(g) % 12;
    put(g, "\"");
    g->weight += n;
    while (n--) {
        unsigned c = take(g);
        if (c < 0x80) {
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' ')
                put(g, "%c", (char)c);
            else
                put(g, "\\u%04x", c);
        } else if (c < 0xc0) {
            put(g, "%s", units[c % COUNT(units)]);
        } else {
            unsigned hi = take(g);
            put(g, "\\u%02x%02x", hi, take(g));
        }
    }
    put(g, "\"");
}

static void key(gen *g)
{
    unsigned c = take(g) % (COUNT(keys) + 1);
    if (c < COUNT(keys))
        put(g, "%s", keys[c]);
    else
        string(g);
}

static void func(gen *g)
{
    switch (take(g) % 5) {
    case 0:
        put(g, "function (k) { return ");
        value(g);
        put(g, "; }");
        break;
    case 1:
        put(g, "function () { return this; }");
        break;
    case 2:
        put(g, "function (k) { return k; }");
        break;
    case 3:
        put(g, "function () { throw 1; }");
        break;
    default:
        put(g, "() => (");
        value(g);
        put(g, ")");
        break;
    }
}

/* a property descriptor: data, getter (with or without setter) or setter only */
static void descriptor(gen *g)
{
    unsigned kind = take(g) % 3, flags = take(g);
    const char *e = flags & 1 ? "true" : "false", *c = flags & 4 ? "false" : "true";
    if (kind == 0) {
        put(g, "{value: ");
        value(g);
        put(g, ", enumerable: %s, writable: %s, configurable: %s}", e, flags & 2 ? "true" : "false", c);
    } else if (kind == 1) {
        put(g, "{get: function () { return ");
        value(g);
        put(g, "; }%s, enumerable: %s, configurable: %s}", flags & 2 ? ", set: function (x) {}" : "", e, c);
    } else {
        put(g, "{set: function (x) {}, enumerable: %s, configurable: %s}", e, c);
    }
}

/* one property of an object literal */
static void entry(gen *g)
{
    switch (take(g) % 7) {
    case 0:
        put(g, "[");
        key(g);
        put(g, "]: ");
        value(g);
        break;
    case 1:
        put(g, "get [");
        key(g);
        put(g, "]() { return ");
        value(g);
        put(g, "; }");
        break;
    case 2:
        put(g, "set [");
        key(g);
        put(g, "](x) {}");
        break;
    case 3:
        put(g, "[");
        key(g);
        put(g, "]() {}");
        break;
    case 4:
        put(g, "toJSON: ");
        func(g);
        break;
    case 5:
        put(g, "...");
        value(g);
        break;
    default:
        put(g, "__proto__: "); /* not computed: sets the prototype */
        value(g);
        break;
    }
}

static int new_slot(gen *g)
{
    return g->slots < MAX_SLOTS ? g->slots++ : -1;
}

/* One value: the first byte picks a production (V_*), the next ones its details and parts, in
 * the order the program text is written. Past MAX_DEPTH or MAX_WEIGHT only leaves are picked. */
static void value(gen *g)
{
    unsigned c = take(g), n, i;
    int s;
    unsigned w0 = g->weight++;
    unsigned k = g->depth >= MAX_DEPTH || g->weight >= MAX_WEIGHT ? c % V_LEAVES : c % V_COUNT;
    g->depth++;
    switch (k) {
    case V_NULLISH:
        put(g, "%s", nullish[take(g) % COUNT(nullish)]);
        break;
    case V_INT:
        put(g, "%d", (int)(int8_t)take(g));
        break;
    case V_INT32:
        n = take(g) << 24;
        n |= take(g) << 16;
        n |= take(g) << 8;
        put(g, "(0x%08x | 0)", n | take(g));
        break;
    case V_NUMTAB:
        put(g, "(%s)", numbers[take(g) % COUNT(numbers)]);
        break;
    case V_BITS:
        n = take(g) << 24;
        n |= take(g) << 16;
        n |= take(g) << 8;
        n |= take(g);
        i = take(g) << 24;
        i |= take(g) << 16;
        i |= take(g) << 8;
        put(g, "D(0x%08x, 0x%08x)", n, i | take(g));
        break;
    case V_DECIMAL:
        n = take(g);
        put(g, "%s%u", n & 0x80 ? "-" : "", 1 + take(g) % 9); /* no leading 0: an octal literal */
        for (i = 0; i < (n & 15); i++)
            put(g, "%u", take(g) % 10);
        put(g, "e%d", (int)(int8_t)take(g) * 3);
        break;
    case V_STRING:
        string(g);
        break;
    case V_LONGSTR: /* past the encoder's first buffer (256 bytes), and its doublings */
        n = take(g) * 8 + 1;
        put(g, "(");
        string(g);
        put(g, ").repeat(%u)", n);
        g->weight += n * (g->weight - w0) / 64;
        break;
    case V_LEAF:
        put(g, "(%s)", leaves[take(g) % COUNT(leaves)]);
        break;
    case V_WRAPPER: {
        static const char *const w[] = {"Number", "String", "Boolean", "Date", "Object"};
        put(g, "W(%s, ", w[take(g) % COUNT(w)]);
        value(g);
        put(g, ")");
        break;
    }
    case V_ARRAY: /* a literal, with holes */
        n = take(g) % 6;
        put(g, "[");
        for (i = 0; i < n; i++) {
            if (i)
                put(g, ", ");
            if (take(g) % 8 != 7)
                value(g);
        }
        put(g, "]");
        break;
    case V_ARRAY_SLOT: /* registered before its elements, which can refer to it: cycles */
        if ((s = new_slot(g)) < 0) {
            put(g, "[]");
            break;
        }
        put(g, "(S[%d] = [], S[%d].push(", s, s);
        for (i = 0, n = take(g) % 6; i < n; i++) {
            if (i)
                put(g, ", ");
            value(g);
        }
        put(g, "), S[%d])", s);
        g->slot_weight[s] = g->weight - w0;
        break;
    case V_OBJECT:
        n = take(g) % 6;
        put(g, "({");
        for (i = 0; i < n; i++) {
            if (i)
                put(g, ", ");
            entry(g);
        }
        put(g, "})");
        break;
    case V_OBJECT_SLOT: /* the same, built step by step: defineProperty, assignment, delete */
        if ((s = new_slot(g)) < 0) {
            put(g, "({})");
            break;
        }
        n = take(g);
        put(g, "(S[%d] = ", s);
        if (n % 3 == 0) {
            put(g, "{}");
        } else if (n % 3 == 1) {
            put(g, "O(");
            value(g);
            put(g, ")");
        } else {
            put(g, "[]");
        }
        for (i = 0, n = take(g) % 6; i < n; i++) {
            unsigned op = take(g) % 3;
            put(g, ", %s(S[%d], ", op == 0 ? "P" : op == 1 ? "M" : "X", s);
            key(g);
            if (op == 0) {
                put(g, ", ");
                descriptor(g);
            } else if (op == 1) {
                put(g, ", ");
                value(g);
            }
            put(g, ")");
        }
        put(g, ", S[%d])", s);
        g->slot_weight[s] = g->weight - w0;
        break;
    case V_REF: { /* a shared reference, or a cycle if the slot is not complete yet */
        unsigned w;
        if (!g->slots) {
            put(g, "null");
            break;
        }
        s = (int)(take(g) % (unsigned)g->slots);
        w = g->slot_weight[s] ? g->slot_weight[s] : 1;
        if (g->weight + w > MAX_WEIGHT) {
            put(g, "null");
            break;
        }
        put(g, "S[%d]", s);
        g->weight += w;
        break;
    }
    case V_DEFINE:
        put(g, "P(");
        value(g);
        put(g, ", ");
        key(g);
        put(g, ", ");
        descriptor(g);
        put(g, ")");
        break;
    case V_ASSIGN:
        put(g, "M(");
        value(g);
        put(g, ", ");
        key(g);
        put(g, ", ");
        value(g);
        put(g, ")");
        break;
    case V_DELETE:
        put(g, "X(");
        value(g);
        put(g, ", ");
        key(g);
        put(g, ")");
        break;
    case V_CREATE:
        put(g, "O(");
        value(g);
        put(g, ")");
        break;
    case V_CLASS:
        switch (take(g) % 5) {
        case 0:
            put(g, "Object.assign(new (class {})(), ");
            value(g);
            put(g, ")");
            break;
        case 1:
            put(g, "new (class { toJSON(k) { return ");
            value(g);
            put(g, "; } })()");
            break;
        case 2:
            put(g, "new (class { a = ");
            value(g);
            put(g, "; #p = 0; get g() { return 1; } })()");
            break;
        case 3:
            put(g, "Object.assign(new (class extends Array {})(), ");
            value(g);
            put(g, ")");
            break;
        default: /* a function with an own toJSON */
            put(g, "(class { static toJSON(k) { return ");
            value(g);
            put(g, "; } })");
            break;
        }
        break;
    case V_PROXY:
        switch (take(g) % 5) {
        case 0:
            put(g, "PX(");
            value(g);
            put(g, ", {})");
            break;
        case 1:
            put(g, "PX(");
            value(g);
            put(g, ", {get: function (t, k, r) { return Reflect.get(t, k, r); }})");
            break;
        case 2:
            put(g, "PX(");
            value(g);
            put(g, ", {get: function (t, k, r) { return k === \"toJSON\" ? ");
            func(g);
            put(g, " : Reflect.get(t, k, r); }})");
            break;
        case 3: /* callable: a function to JSON.stringify, which still asks it for toJSON */
            put(g, "PX(function () {}, {get: function (t, k) { return k === \"toJSON\" ? ");
            func(g);
            put(g, " : undefined; }})");
            break;
        default:
            put(g, "(function (r) { r.revoke(); return r.proxy; })(Proxy.revocable({}, {}))");
            break;
        }
        break;
    case V_FREEZE: {
        static const char *const f[] = {"freeze", "seal", "preventExtensions"};
        put(g, "Object.%s(", f[take(g) % COUNT(f)]);
        value(g);
        put(g, ")");
        break;
    }
    case V_NEST: { /* deep values, around the encoder's limit of 256 */
        int d = nest_depths[take(g) % COUNT(nest_depths)];
        unsigned kind = take(g) % 3;
        if (g->nest + d > MAX_NEST)
            d = 1;
        g->nest += d;
        put(g, "N(%d, ", d);
        value(g);
        put(g, ", %u)", kind);
        g->weight += (unsigned)d;
        break;
    }
    case V_GLOBAL: { /* change a prototype, then build the rest: later steps can undo it */
        const char *t = targets[take(g) % COUNT(targets)];
        put(g, "(");
        switch (take(g) % 8) {
        case 0:
            put(g, "%s.toJSON = ", t);
            func(g);
            break;
        case 1:
            put(g, "delete %s.toJSON", t);
            break;
        case 2:
            put(g, "P(%s, \"toJSON\", ", t);
            descriptor(g);
            put(g, ")");
            break;
        case 3:
            put(g, "SP(%s, ", t);
            value(g);
            put(g, ")");
            break;
        case 4:
            put(g, "M(%s, ", t);
            key(g);
            put(g, ", ");
            value(g);
            put(g, ")");
            break;
        case 5: /* a toJSON above the prototype (null-prototype objects, so no cycle) */
            put(g, "SP(%s, SP({toJSON: ", t);
            func(g);
            put(g, "}, null))");
            break;
        case 6:
            put(g, "SP(%s, PX(O(null), {get: function (t, k) { return k === \"toJSON\" ? ", t);
            func(g);
            put(g, " : undefined; }}))");
            break;
        default:
            put(g, "X(%s, ", t);
            key(g);
            put(g, ")");
            break;
        }
        put(g, ", ");
        value(g);
        put(g, ")");
        break;
    }
    case V_NEWARRAY:
        n = take(g) % 300;
        g->weight += n;
        if (take(g) & 1) {
            put(g, "new Array(%u)", n);
        } else { /* n times the same element: n is cut to keep the text small */
            unsigned w1 = g->weight, w;
            put(g, "AR(");
            value(g);
            w = g->weight - w1;
            if (n > 1 && (n - 1) * w > MAX_WEIGHT)
                n = 1 + MAX_WEIGHT / w;
            g->weight += (n ? n - 1 : 0) * w;
            put(g, ", %u)", n);
        }
        break;
    case V_PRIVATE: /* a plain object carrying a private field */
        put(g, "Q(");
        value(g);
        put(g, ")");
        break;
    case V_FUNC:
        func(g);
        break;
    case V_SPREAD: {
        static const char *const f[] = {"(o => ({...o}))", "(o => Object.assign({}, o))", "AF"};
        put(g, "%s(", f[take(g) % COUNT(f)]);
        value(g);
        put(g, ")");
        break;
    }
    case V_PARSE: {
        const char *t = json_texts[take(g) % COUNT(json_texts)];
        put(g, "JSON.parse(\"");
        for (; *t; t++)
            put(g, *t == '"' || *t == '\\' ? "\\%c" : "%c", *t);
        put(g, "\")");
        break;
    }
    case V_SETPROTO:
        put(g, "SP(");
        value(g);
        put(g, ", ");
        value(g);
        put(g, ")");
        break;
    default: /* V_TOJSON: on the value, each way JSON.stringify finds one */
        n = take(g);
        put(g, "%s(", n % 4 == 0 ? "M" : n % 4 == 3 ? "SP" : "P");
        value(g);
        if (n % 4 == 0) {
            put(g, ", \"toJSON\", ");
            func(g);
        } else if (n % 4 == 1) {
            put(g, ", \"toJSON\", {value: ");
            func(g);
            put(g, ", enumerable: %s, configurable: true}", n & 4 ? "true" : "false");
        } else if (n % 4 == 2) {
            put(g, ", \"toJSON\", {get: function () { return ");
            func(g);
            put(g, "; }, enumerable: %s, configurable: true}", n & 4 ? "true" : "false");
        } else { /* inherited from the value's own prototype */
            put(g, ", {toJSON: ");
            func(g);
            put(g, "}");
        }
        put(g, ")");
        break;
    }
    g->depth--;
}

static char *program(const uint8_t *data, size_t size, size_t *len)
{
    gen g;
    memset(&g, 0, sizeof g);
    g.in = data;
    g.n = size;
    g.cap = 4096;
    if (!(g.s = malloc(g.cap)))
        abort();
    put(&g, "%s", prelude);
    value(&g);
    put(&g, "%s", postlude);
    *len = g.len;
    return g.s;
}

/* ---- the comparison ---- */

static int show, raw_js;
static const char *cur_src;

static void fail(const char *why, const char *fast, size_t fast_len, const char *ref, size_t ref_len)
{
    fprintf(stderr, "encode_diff: %s\n", why);
    if (fast)
        fprintf(stderr, "  fast encoder:   %.*s%s\n", (int)(fast_len > 600 ? 600 : fast_len), fast,
                fast_len > 600 ? "..." : "");
    if (ref)
        fprintf(stderr, "  JSON.stringify: %.*s%s\n", (int)(ref_len > 600 ? 600 : ref_len), ref,
                ref_len > 600 ? "..." : "");
    fprintf(stderr, "  value built by:\n%.6000s\n", cur_src);
    abort();
}

static unsigned hash(const uint8_t *d, size_t n)
{
    unsigned h = 2166136261u;
    while (n--)
        h = (h ^ *d++) * 16777619u;
    return h;
}

static void check(JSContext *ctx, JSValueConst v, unsigned h)
{
    char *fast = NULL, *again = NULL;
    size_t fast_len = 0, again_len = 0;

    int r = fast_encode(ctx, v, &fast, &fast_len, 0);
    if (r == -2)
        fail("the fast encoder leaks a block", NULL, 0, NULL, 0);
    if (show)
        fprintf(stderr, "(fast encoder: %d %.*s)\n", r, (int)(fast_len > 2000 ? 2000 : fast_len), fast ? fast : "");
    if (r < 0 && !fast_refused)
        fail("the fast encoder reports out of memory, with no allocation refused", NULL, 0, NULL, 0);
    if (r != 1 && fast)
        fail("the fast encoder gives a text without returning 1", NULL, 0, NULL, 0);
    if (r == 1 && fast_calls > 0) {
        int r2 = fast_encode(ctx, v, &again, &again_len, 1 + (int)(h % (unsigned)fast_calls));
        if (r2 == -2)
            fail("the fast encoder leaks a block when an allocation fails", NULL, 0, NULL, 0);
        /* -1, or declining, is right; 1 only if it managed without that allocation */
        if (r2 != 1 && again)
            fail("the fast encoder gives a text without returning 1, an allocation failing", NULL, 0, NULL, 0);
        if (r2 == 1 && (!fast != !again || again_len != fast_len || (fast && memcmp(again, fast, fast_len))))
            fail("the fast encoder gives another text when an allocation fails", again, again_len, NULL, 0);
        free(again);
    }
    if (r != 1 && !show)
        return; /* declined (or out of memory under the limit): JSON.stringify does it */

    js_refused = 0;
    JSValue s = JS_JSONStringify(ctx, v, JS_UNDEFINED, JS_UNDEFINED);
    JSValue e = JS_IsException(s) ? JS_GetException(ctx) : JS_UNDEFINED;
    size_t n = 0;
    const char *ref = JS_IsString(s) ? to_utf8(ctx, s, &n) : NULL;
    const char *msg = JS_IsException(s) ? to_utf8(ctx, e, NULL) : NULL;
    if (show)
        fprintf(stderr, "(JSON.stringify: %s%.2000s)\n", msg ? "throws " : "",
                msg ? msg : ref ? ref : JS_IsUndefined(s) ? "undefined" : "?");
    if (r == 1) {
        if (JS_IsException(s)) {
            char why[300];
            snprintf(why, sizeof why, "the fast encoder gives a text where JSON.stringify throws %s", msg ? msg : "?");
            if (!js_refused) /* JSON.stringify ran out of memory under the limit: no verdict */
                fail(why, fast ? fast : "(undefined)", fast ? fast_len : 11, NULL, 0);
        } else if (JS_IsUndefined(s)) {
            if (fast)
                fail("the fast encoder gives a text where JSON.stringify gives undefined", fast, fast_len,
                     "(undefined)", 11);
        } else if (!fast) {
            fail("the fast encoder gives undefined where JSON.stringify gives a text", "(undefined)", 11, ref, n);
        } else if (ref && (n != fast_len || memcmp(ref, fast, n))) {
            fail("the fast encoder and JSON.stringify differ", fast, fast_len, ref, n);
        }
    }
    JS_FreeCString(ctx, ref);
    JS_FreeCString(ctx, msg);
    JS_FreeValue(ctx, e);
    JS_FreeValue(ctx, s);
    free(fast);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *e = getenv("ENCODE_DIFF_SHOW");
    show = e && *e && *e != '0';
    e = getenv("ENCODE_DIFF_JS");
    raw_js = e && *e && *e != '0';
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    char *src;
    if (raw_js) {
        src = malloc(size + 1);
        if (!src)
            abort();
        memcpy(src, data, size);
        src[size] = 0;
        len = size;
    } else {
        src = program(data, size, &len);
    }
    cur_src = src;
    if (show)
        fprintf(stderr, "%s", src);

    /* a fresh runtime: prototypes changed by one input do not reach the next */
    JSRuntime *rt = JS_NewRuntime2(&lim_functions, NULL);
    if (!rt)
        abort();
    JS_SetMemoryLimit(rt, JS_LIMIT);
    /* a toJSON that returns a new object holding its own holder recurses without end: the
     * limit ends it, far above what the 257 levels the encoder accepts need */
    JS_SetMaxStackSize(rt, 2u << 20);
    JSContext *ctx = JS_NewContext(rt);
    if (!ctx)
        abort();
    JSValue v = JS_Eval(ctx, src, len, "<encode_diff>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(v)) {
        JSValue e = JS_GetException(ctx);
        if (show) {
            const char *msg = to_utf8(ctx, e, NULL);
            fprintf(stderr, "(throws %s)\n", msg ? msg : "?");
            JS_FreeCString(ctx, msg);
        }
        JS_FreeValue(ctx, e);
    } else {
        check(ctx, v, hash(data, size));
    }
    JS_FreeValue(ctx, v);
    JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
    cur_src = NULL;
    free(src);
    return 0;
}
