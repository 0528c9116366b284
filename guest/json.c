/* SPDX-License-Identifier: MIT */
/* json.c - JSON text to QuickJS values, fast, with JSON.parse's exact semantics.
 *
 * Why not JS_ParseJSON: it runs QuickJS's general tokenizer, creates and frees a string for
 * every key before finding its atom, converts every number with strtod, and recurses once
 * per nesting level. Here keys go through a small per-call atom cache, numbers take an exact
 * fast path (Clinger: at most 15 significant digits and a power of ten below 10^23 multiply
 * or divide exactly, so the result is correctly rounded) and fall back to strtod, whitespace
 * and string bodies are skipped eight bytes at a time, and nesting is an explicit stack, so
 * depth is bounded by memory only.
 *
 * Semantics kept from JSON.parse: duplicate keys (the last wins, at the first one's place),
 * "__proto__" an ordinary own property, integer-like keys ordered as in any object, lone
 * surrogate escapes kept as they are, -0, overflow to Infinity, long integers as doubles.
 * The input must be strict UTF-8 (the host's contract); any error returns JS_EXCEPTION with
 * nothing thrown, and the caller reports the byte offset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"
#include "json.h"

/* From guest/quickjs/05-json.patch; weak, so that a QuickJS tree the patch does not reach still
 * builds, on the generic path. */
int JS_DefineJSONProperty(JSContext *ctx, JSValueConst obj, JSAtom prop, JSValue val) __attribute__((weak));
int JS_AppendJSONElement(JSContext *ctx, JSValueConst arr, uint32_t idx, JSValue val) __attribute__((weak));
void *JS_HoldJSONShape(JSContext *ctx, JSValueConst obj, uint32_t max) __attribute__((weak));
void JS_FreeJSONShape(JSContext *ctx, void *shape) __attribute__((weak));
JSValue JS_NewObjectLikeJSON(JSContext *ctx, void *shape, uint32_t *count) __attribute__((weak));
int JS_SetNthJSONProperty(JSContext *ctx, JSValueConst obj, uint32_t idx, JSAtom prop, JSValue val) __attribute__((weak));
JSValue JS_NewStringASCIIJSON(JSContext *ctx, const uint8_t *buf, size_t len) __attribute__((weak));
JSValue JS_UnshapeJSONObject(JSContext *ctx, JSValue obj, uint32_t filled) __attribute__((weak));
JSValue JS_NewArrayJSON(JSContext *ctx, uint32_t size) __attribute__((weak));

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* bytes of w equal to zero get their high bit set (exact, no false positives) */
static inline uint64_t zero_bytes(uint64_t w)
{
    return ~(((w & ~HIGHS) + ~HIGHS) | w | ~HIGHS);
}

/* A per-call cache entry: bytes in the input (valid during the call), found by hash. */
typedef struct cache_key {
    uint32_t hash, len;
    const uint8_t *bytes;
} cache_key;

/* A key as it was written (plain printable ASCII, no escape: bytes in the input) and its atom. */
typedef struct key_rec {
    const uint8_t *bytes;
    uint32_t len;
    JSAtom atom;
} key_rec;

#define KEYS_MAX 16    /* keys recognised per object */
#define REC_DEPTH 16   /* depths at which keys are recorded */
#define MODEL_KEYS 64  /* the most keys of a shape held as a model */
#define MODEL_TEXT 160 /* bytes of a model's keys as written */

typedef struct decoder {
    JSContext *ctx;
    /* scan_string's cursor and the input's end. pb_json_decode keeps its cursor in a local,
     * passed to the helpers and returned by them: held here, in linear memory, every step
     * wrote it back, and each of those writes marked its page dirty */
    const uint8_t *p, *end;
    uint8_t *scratch; /* unescaped string bytes */
    size_t scratch_cap;
    /* keys seen in this call and their atoms, held until the call ends (a slot is never
     * refilled during a call, so that the decoder may use these atoms without references) */
    struct atom_slot {
        cache_key key;
        JSAtom atom;
    } atoms[256];
    /* the last object finished at each place (the key it stands under; array elements are
     * their array's place, flagged): its shape, the model for the next object there, and its
     * first keys as they were written, to recognise the next object's keys by their bytes.
     * Kept from call to call (a fresh call starts with those of the snapshot, which holds the
     * configuration's and the sample's: sandbox.c): a later input of the same form finds its
     * keys' atoms and its objects' shapes made. A model is only ever a guess: every key is
     * checked against the shape it is filled into. */
    struct model_slot {
        uint32_t site;          /* 0: empty */
        JSAtom site_atom;       /* held: the key the place is under (or its array's) */
        void *shape;            /* held */
        uint32_t nkeys;         /* 0: keys not known */
        key_rec keys[KEYS_MAX]; /* bytes in text, atoms held by the shape */
        uint8_t text[MODEL_TEXT + 8]; /* + 8: read as whole words */
    } models[64];
    uint8_t recent[32]; /* of each pair of model slots, the one a model was last found in */
    /* the keys of the objects under construction, one row per depth */
    key_rec written[REC_DEPTH][KEYS_MAX];
    /* the length of the last array finished at each place, the room the next one there gets
     * (at most LENGTH_HINT_MAX elements: a long array's length is no promise about the next
     * one's, and room it does not use is memory the call holds); kept like the models */
    struct length_slot {
        uint32_t site, len;
    } lengths[64];
    /* short strings seen in this call: equal strings share one value */
    struct string_slot {
        cache_key key;
        JSValue str;
    } strings[256];
    /* the slots this call filled, to empty when it ends: emptying all of them cost a 1 KB
     * input a fifth of its decoding */
    uint16_t filled[256 + 256];
    uint32_t nfilled;
} decoder;

enum { FILLED_ATOM = 0, FILLED_STRING = 256 };

#define LENGTH_HINT_MAX 16

#define SITE_ELEMENT 0x80000000u
#define SITE_TOP 0x7fffffffu /* the value at the top: no atom has that number */

/* A place's model is in one of two slots (two places whose slots collide, as a feature and
 * its geometry can, then keep their models); the one a model was last found in stays. */
static inline struct model_slot *model_pair(decoder *d, uint32_t site)
{
    return &d->models[((site * 2654435761u) >> 27) * 2];
}

static inline struct model_slot *find_model(decoder *d, uint32_t site)
{
    struct model_slot *m = model_pair(d, site);
    int i = m[1].site == site;
    if (!i && m[0].site != site)
        return NULL;
    d->recent[(m - d->models) / 2] = (uint8_t)i;
    return &m[i];
}

/* The slot for a new model of site: an empty one, or the one not found last. */
static inline struct model_slot *model_victim(decoder *d, uint32_t site)
{
    struct model_slot *m = model_pair(d, site);
    if (!m[0].site)
        return &m[0];
    if (!m[1].site)
        return &m[1];
    return &m[!d->recent[(m - d->models) / 2]];
}

/* Empties a model slot: what it holds goes back. */
static void model_drop(decoder *d, struct model_slot *m)
{
    if (m->site) {
        JS_FreeJSONShape(d->ctx, m->shape);
        JS_FreeAtom(d->ctx, m->site_atom);
    }
    m->site = 0;
    m->shape = NULL;
    m->nkeys = 0;
}

static inline struct length_slot *length_slot(decoder *d, uint32_t site)
{
    return &d->lengths[(site * 2654435761u) >> 26];
}

/* An array of len elements is finished at site: the room the next one there gets. */
static void remember_length(decoder *d, uint32_t site, uint32_t len)
{
    struct length_slot *l = length_slot(d, site);
    l->site = site;
    l->len = len < LENGTH_HINT_MAX ? len : LENGTH_HINT_MAX;
}

static JSValue new_array(decoder *d, uint32_t site)
{
    const struct length_slot *l = length_slot(d, site);
    if (l->site == site && JS_NewArrayJSON)
        return JS_NewArrayJSON(d->ctx, l->len);
    return JS_NewArray(d->ctx);
}

/* The first eight bytes of s[0..n) as a word, zero beyond n (the input is padded). */
static inline uint64_t head_word(const uint8_t *s, size_t n)
{
    uint64_t w = load64(s);
    return n >= 8 ? w : w & ((1ull << (n * 8)) - 1);
}

static inline uint32_t hash_bytes(const uint8_t *s, size_t n)
{
    uint64_t h = (head_word(s, n) ^ n) * 0x9e3779b97f4a7c15ull;
    for (size_t i = 8; i < n; i += 8)
        h = (h ^ head_word(s + i, n - i)) * 0xff51afd7ed558ccdull;
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* s[0..n) equals t[0..n), compared a word at a time (both are padded) */
static inline int same_bytes(const uint8_t *s, const uint8_t *t, size_t n)
{
    if (head_word(s, n) != head_word(t, n))
        return 0;
    for (size_t i = 8; i < n; i += 8)
        if (head_word(s + i, n - i) != head_word(t + i, n - i))
            return 0;
    return 1;
}

/* The slot of a 256-entry cache (slots of `stride` bytes, each starting with its key) where
 * s[0..n) belongs; returns 1 when it holds s already, 0 when the caller is to fill it
 * (cache_fill) once its value exists. */
static inline int cache_find(const void *slots, size_t stride, const uint8_t *s, size_t n, size_t *slot,
                             uint32_t *hash)
{
    uint32_t h = hash_bytes(s, n);
    size_t i = (h ^ (h >> 8)) & 255;
    const cache_key *k = (const cache_key *)((const char *)slots + i * stride);
    *slot = i;
    *hash = h;
    return k->bytes && k->hash == h && k->len == n && same_bytes(k->bytes, s, n);
}

static void cache_fill(cache_key *k, const uint8_t *s, size_t n, uint32_t hash)
{
    k->bytes = s;
    k->hash = hash;
    k->len = (uint32_t)n;
}

/* A string value: short plain strings come from a per-call cache (strings are immutable,
 * so sharing one is invisible to scripts). */
static JSValue new_string(decoder *d, const uint8_t *s, size_t n, int ascii)
{
    if (ascii && JS_NewStringASCIIJSON)
        return JS_NewStringASCIIJSON(d->ctx, s, n);
    return JS_NewStringLen(d->ctx, (const char *)s, n);
}

static JSValue string_value(decoder *d, const uint8_t *s, size_t n, int plain, int ascii)
{
    size_t i;
    uint32_t h;
    if (!plain || n > 32)
        return new_string(d, s, n, ascii);
    if (cache_find(d->strings, sizeof d->strings[0], s, n, &i, &h))
        return JS_DupValue(d->ctx, d->strings[i].str);
    JSValue v = new_string(d, s, n, ascii);
    if (JS_IsException(v))
        return v;
    if (d->strings[i].key.bytes)
        JS_FreeValue(d->ctx, d->strings[i].str);
    else
        d->filled[d->nfilled++] = (uint16_t)(FILLED_STRING + i);
    cache_fill(&d->strings[i].key, s, n, h);
    d->strings[i].str = JS_DupValue(d->ctx, v);
    return v;
}

/* ---- whitespace -------------------------------------------------------------------------- */

/* Number of leading spaces in the word (little-endian), 8 if all are. */
static inline unsigned spaces_in(uint64_t w)
{
    uint64_t x = w ^ (ONES * ' ');
    return x ? (unsigned)__builtin_ctzll(x) >> 3 : 8; /* one i64.ctz in WebAssembly */
}

static inline const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    if (*p > ' ') /* at the end, this reads the padding after the input (json.h) */
        return p;
    /* pretty-printed input: a newline and an indent of up to 32 spaces, measured without a
     * branch per word (the indent's length changes from line to line) */
    if (*p == '\n' && end - p >= 33) {
        unsigned a = spaces_in(load64(p + 1)), b = spaces_in(load64(p + 9));
        unsigned c = spaces_in(load64(p + 17)), e = spaces_in(load64(p + 25));
        unsigned n = a + (a == 8) * (b + (b == 8) * (c + (c == 8) * e));
        p += 1 + n;
        if (*p > ' ')
            return p;
    }
    for (;;) {
        while (end - p >= 8 && load64(p) == 0x2020202020202020ull)
            p += 8;
        if (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
            p++;
        else
            break;
    }
    return p;
}

/* ---- strings ----------------------------------------------------------------------------- */

/* A capacity of at least need elements of elem bytes, doubling from cap (or exactly need
 * when doubling would not fit: size_t is 32 bits in the sandbox); 0 when need does not fit. */
static size_t grown(size_t cap, size_t need, size_t elem)
{
    if (need > SIZE_MAX / elem)
        return 0;
    while (cap < need)
        cap = cap <= SIZE_MAX / elem / 2 ? cap * 2 : need;
    return cap;
}

static int scratch_reserve(decoder *d, size_t n)
{
    if (n <= d->scratch_cap)
        return 0;
    size_t cap = grown(d->scratch_cap ? d->scratch_cap : 256, n, 1);
    uint8_t *s = cap ? realloc(d->scratch, cap) : NULL;
    if (!s)
        return -1;
    d->scratch = s;
    d->scratch_cap = cap;
    return 0;
}

static inline int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int hex4(const uint8_t *p)
{
    int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), e = hexval(p[3]);
    if ((a | b | c | e) < 0)
        return -1;
    return a << 12 | b << 8 | c << 4 | e;
}

static uint8_t *put_utf8(uint8_t *q, uint32_t c)
{
    if (c < 0x80) {
        *q++ = (uint8_t)c;
    } else if (c < 0x800) {
        *q++ = (uint8_t)(0xc0 | c >> 6);
        *q++ = (uint8_t)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) { /* lone surrogates too: QuickJS reads them back as they are */
        *q++ = (uint8_t)(0xe0 | c >> 12);
        *q++ = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
        *q++ = (uint8_t)(0x80 | (c & 0x3f));
    } else {
        *q++ = (uint8_t)(0xf0 | c >> 18);
        *q++ = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
        *q++ = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
        *q++ = (uint8_t)(0x80 | (c & 0x3f));
    }
    return q;
}

/* Length of the well-formed UTF-8 sequence at p (first byte >= 0x80), 0 if ill-formed. */
static int utf8_len(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    if (c >= 0xc2 && c <= 0xdf)
        return end - p >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (end - p < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)) /* overlong, surrogate */
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (end - p < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)) /* overlong, > U+10FFFF */
            return 0;
        return 4;
    }
    return 0;
}

/* Length of a character at p inside a string that is not printable ASCII: 2 to 4 for
 * well-formed UTF-8 (clearing *ascii), 0 for a control character or ill-formed UTF-8. */
static int other_char_len(const uint8_t *p, const uint8_t *end, int *ascii)
{
    if (*p < 0x80)
        return 0;
    *ascii = 0;
    return utf8_len(p, end);
}

/* The closing quote of the string whose body starts at p, when the body is printable ASCII
 * without escape (most keys and short values); NULL when it holds anything else, or does not
 * end: scan_string reads it then. Reads whole words: the input is padded (json.h), and the
 * padding's NULs stop the scan. */
static inline const uint8_t *plain_string_end(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        uint64_t w = load64(p);
        uint64_t special = zero_bytes(w ^ (ONES * '"')) | zero_bytes(w ^ (ONES * '\\')) |
                           zero_bytes(w & (ONES * 0xe0)) | (w & HIGHS);
        if (special) {
            p += __builtin_ctzll(special) >> 3;
            return p < end && *p == '"' ? p : NULL;
        }
        p += 8;
    }
    return NULL;
}

/* Scans a string body from d->p (after the opening quote). On return *s and *n are its bytes:
 * the input itself when it has no escape, else the unescaped scratch copy.
 * d->p is left after the closing quote. Returns 0, or -1 on an error (d->p at it). */
static int scan_string(decoder *d, const uint8_t **s, size_t *n, int *ascii)
{
    const uint8_t *p = d->p, *end = d->end, *begin = p;
    int only_ascii = 1;
    for (;;) {
        while (end - p >= 8) {
            uint64_t w = load64(p);
            uint64_t special = zero_bytes(w ^ (ONES * '"')) | zero_bytes(w ^ (ONES * '\\')) |
                               zero_bytes(w & (ONES * 0xe0)) | (w & HIGHS);
            if (special) {
                p += __builtin_ctzll(special) >> 3; /* straight to the first one (little-endian) */
                break;
            }
            p += 8;
        }
        if (p >= end) {
            d->p = p;
            return -1;
        }
        uint8_t c = *p;
        if (c == '"') {
            *s = begin;
            *n = (size_t)(p - begin);
            *ascii = only_ascii;
            d->p = p + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c >= 0x20 && c < 0x80) {
            p++;
            continue;
        }
        int l = other_char_len(p, end, &only_ascii);
        if (!l) {
            d->p = p;
            return -1;
        }
        p += l;
    }

    /* escapes: copy what came so far and unescape the rest into scratch */
    size_t done = (size_t)(p - begin);
    if (scratch_reserve(d, done + (size_t)(end - p)))
        return -2;
    memcpy(d->scratch, begin, done);
    uint8_t *q = d->scratch + done;
    while (p < end) {
        uint8_t c = *p;
        if (c == '"') {
            *s = d->scratch;
            *n = (size_t)(q - d->scratch);
            *ascii = only_ascii;
            d->p = p + 1;
            return 0;
        }
        if (c == '\\') {
            if (end - p < 2)
                break;
            switch (p[1]) {
            case '"': *q++ = '"'; p += 2; continue;
            case '\\': *q++ = '\\'; p += 2; continue;
            case '/': *q++ = '/'; p += 2; continue;
            case 'b': *q++ = '\b'; p += 2; continue;
            case 'f': *q++ = '\f'; p += 2; continue;
            case 'n': *q++ = '\n'; p += 2; continue;
            case 'r': *q++ = '\r'; p += 2; continue;
            case 't': *q++ = '\t'; p += 2; continue;
            case 'u': {
                int u = end - p >= 6 ? hex4(p + 2) : -1;
                if (u < 0) {
                    d->p = p;
                    return -1;
                }
                p += 6;
                uint32_t cp = (uint32_t)u;
                if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                    int lo = hex4(p + 2);
                    if (lo >= 0xdc00 && lo < 0xe000) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                        p += 6;
                    }
                }
                if (cp >= 0x80)
                    only_ascii = 0;
                q = put_utf8(q, cp); /* at most 4 bytes for at least 6 read: fits */
                continue;
            }
            default: d->p = p; return -1;
            }
        }
        if (c >= 0x20 && c < 0x80) {
            *q++ = c;
            p++;
            continue;
        }
        int l = other_char_len(p, end, &only_ascii);
        if (!l) {
            d->p = p;
            return -1;
        }
        memcpy(q, p, (size_t)l);
        q += l;
        p += l;
    }
    d->p = p;
    return -1;
}

/* The atom of key s[0..n); *owned tells whether the caller holds a reference to it, or
 * the key cache does (until the call ends). */
static JSAtom key_atom(decoder *d, const uint8_t *s, size_t n, int plain, int *owned)
{
    size_t i;
    uint32_t h;
    *owned = 1;
    if (!plain || n > 64)
        return JS_NewAtomLen(d->ctx, (const char *)s, n);
    if (cache_find(d->atoms, sizeof d->atoms[0], s, n, &i, &h)) {
        *owned = 0;
        return d->atoms[i].atom;
    }
    JSAtom a = JS_NewAtomLen(d->ctx, (const char *)s, n);
    if (a == JS_ATOM_NULL || d->atoms[i].key.bytes) /* the slot is another key's */
        return a;
    cache_fill(&d->atoms[i].key, s, n, h);
    d->filled[d->nfilled++] = (uint16_t)(FILLED_ATOM + i);
    d->atoms[i].atom = a;
    *owned = 0;
    return a;
}

/* ---- numbers ----------------------------------------------------------------------------- */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parses a number per the JSON grammar at *pp, leaving *pp after it, or at the error.
 * Returns 0 and the value, -1 (syntax) or -2 (memory). */
static inline int parse_number(decoder *d, const uint8_t **pp, const uint8_t *end, JSValue *out)
{
    const uint8_t *p = *pp, *start = p;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') {
        *pp = p;
        return -1;
    }
    uint64_t mant = 0;
    int digits = 0;    /* significant digits kept in mant */
    int dropped = 0;   /* integer digits beyond what mant holds */
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant)
                    digits++;
            } else {
                dropped++;
            }
            p++;
        }
    }
    int frac = 0, is_int = 1;
    if (p < end && *p == '.') {
        is_int = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            *pp = p;
            return -1;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant)
                    digits++;
                frac++;
            } /* else: beyond what mant holds; digits == 19 keeps the fast path off */
            p++;
        }
    }
    int exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9') {
            *pp = p;
            return -1;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            if (exp < 100000)
                exp = exp * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            exp = -exp;
    }
    *pp = p;
    int e10 = exp + dropped - frac;
#ifndef PB_JSON_STRTOD_ONLY /* the fuzz target's reference build: every number through strtod */
    if (digits <= 15 && mant < (1ull << 53)) {
        if (is_int && !dropped && !neg && mant <= INT32_MAX) {
            *out = JS_NewInt32(d->ctx, (int32_t)mant);
            return 0;
        }
        if (is_int && !dropped && neg && mant && mant <= (uint64_t)INT32_MAX + 1) {
            *out = JS_NewInt32(d->ctx, (int32_t)(-(int64_t)mant));
            return 0;
        }
        if (e10 >= -22 && e10 <= 22) {
            double v = (double)mant;
            v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
            *out = JS_NewFloat64(d->ctx, neg ? -v : v);
            return 0;
        }
    }
#else
    (void)e10;
    (void)is_int;
#endif
    /* the general case, with the same conversion JSON.parse uses */
    size_t len = (size_t)(p - start);
    char buf[64], *tmp = len < sizeof buf ? buf : malloc(len + 1);
    if (!tmp)
        return -2;
    memcpy(tmp, start, len);
    tmp[len] = 0;
    double v = strtod(tmp, NULL);
    if (tmp != buf)
        free(tmp);
    *out = JS_NewFloat64(d->ctx, v);
    return 0;
}

/* ---- values ------------------------------------------------------------------------------ */

typedef struct frame {
    JSValue container;
    JSAtom key;       /* object: the key of the value being parsed */
    uint32_t index;   /* array: the next index; object: keys filled in its model's shape */
    uint32_t shaped;  /* object: keys of the model shape it was made in, 0 if none */
    void *shape;      /* object: that shape (the object holds it while it is made in it) */
    struct model_slot *model; /* object: the slot its shape was found in */
    uint32_t site;    /* where it stands, for the model cache */
    JSAtom site_atom; /* the key it stands under, or its array's */
    uint8_t is_array;
    uint8_t nrec;     /* object: its leading keys recorded in d->written[its depth] */
    uint8_t rec_stop; /* object: a key that cannot be recorded came; record no more */
    uint8_t key_owned; /* object: the frame holds a reference to key */
} frame;

/* Notes key number f->nrec of the object at depth `level` as written (clean: plain printable
 * ASCII without escape, so that equal bytes in the input mean this very key; its atom held
 * by the key cache, so that it lives until the call ends). */
static inline void record_key(decoder *d, frame *f, size_t level, const uint8_t *s, size_t n, int clean)
{
    if (f->rec_stop)
        return;
    if (!clean || f->key_owned || level >= REC_DEPTH || f->nrec == KEYS_MAX) {
        f->rec_stop = 1;
        return;
    }
    d->written[level][f->nrec++] = (key_rec){s, (uint32_t)n, f->key};
}

/* The object f (at depth `level`) is finished: the model for the next object at its place,
 * with its first keys as written. An object made in the slot's shape and filled in full
 * leaves the slot as it is, unless it recorded more keys (keys that matched the model's are
 * not recorded: only the first ones can, and they stop the recording). */
static void remember_model(decoder *d, const frame *f, size_t level)
{
    if (!JS_HoldJSONShape)
        return;
    /* the slot it was made from, if it still holds that shape: no second search */
    struct model_slot *m = f->model;
    int same = f->shaped && m->site == f->site && f->shape == m->shape && f->index == f->shaped;
    if (same && m->nkeys >= f->nrec)
        return;
    if (!same) {
        void *shape = JS_HoldJSONShape(d->ctx, f->container, MODEL_KEYS);
        if (!(m = find_model(d, f->site)))
            m = model_victim(d, f->site);
        model_drop(d, m);
        if (!shape)
            return;
        m->site = f->site;
        m->site_atom = JS_DupAtom(d->ctx, f->site_atom);
        m->shape = shape;
    }
    /* the keys' atoms are the shape's; their bytes are copied, the input's go with the call */
    uint32_t n = 0;
    size_t used = 0;
    if (level < REC_DEPTH) {
        for (; n < f->nrec; n++) {
            const key_rec *k = &d->written[level][n];
            if (k->len > MODEL_TEXT - used)
                break;
            memcpy(m->text + used, k->bytes, k->len);
            m->keys[n] = (key_rec){m->text + used, k->len, k->atom};
            used += k->len;
        }
    }
    m->nkeys = n;
}

/* The object is not shaped like its model after all: rebuild it from the keys filled so
 * far, the plain way. */
static int unshape(decoder *d, frame *f)
{
    f->container = JS_UnshapeJSONObject(d->ctx, f->container, f->index);
    f->shaped = 0;
    f->shape = NULL;
    return JS_IsException(f->container) ? -1 : 0;
}

/* The literal word at *pp: 0 and *pp after it, or -1 and *pp at the first byte that differs. */
static inline int literal(const uint8_t **pp, const uint8_t *end, const char *word, size_t n)
{
    const uint8_t *p = *pp;
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0) {
        while (p < end && n && *p == (uint8_t)*word)
            p++, word++, n--;
        *pp = p;
        return -1;
    }
    *pp = p + n;
    return 0;
}

/* One decoder for the guest, its caches empty between calls: each call empties the slots it
 * filled, so that no call pays for clearing them all (a fresh sandbox starts from a snapshot
 * taken with them empty; a trap restores everything). */
static decoder the_decoder;

JSValue pb_json_decode(JSContext *ctx, const char *text, size_t len, pb_json_status *status)
{
    decoder *d = &the_decoder;
    /* the first levels on the C stack: a small input then allocates nothing for its nesting */
    frame first[16], *stack = first;
    size_t depth = 0, cap = sizeof first / sizeof first[0];
    JSValue result = JS_EXCEPTION;
    int rc = -1;
    const uint8_t *start = (const uint8_t *)text, *end = start + len, *p = start;
    d->ctx = ctx;
    d->scratch = NULL;
    d->scratch_cap = 0;
    d->end = end;

    JSValue v;
    p = skip_ws(p, end);
    for (;;) {
        /* a value */
        if (p >= end)
            goto fail;
        switch (*p) {
        case '{':
        case '[': {
            if (depth == cap) {
                size_t nc = grown(cap, depth + 1, sizeof *stack);
                frame *ns = nc ? realloc(stack == first ? NULL : stack, nc * sizeof *ns) : NULL;
                if (!ns) {
                    rc = -2;
                    goto fail;
                }
                if (stack == first)
                    memcpy(ns, first, sizeof first);
                stack = ns;
                cap = nc;
            }
            int is_array = *p == '[';
            p = skip_ws(p + 1, end);
            int empty = p < end && *p == (is_array ? ']' : '}');
            /* where it stands: under its key, or as an element of its array's place */
            uint32_t site = SITE_TOP;
            JSAtom site_atom = JS_ATOM_NULL;
            if (depth > 0) {
                frame *parent = &stack[depth - 1];
                site = parent->is_array ? (parent->site | SITE_ELEMENT) : parent->key;
                site_atom = parent->is_array ? parent->site_atom : parent->key;
            }
            uint32_t shaped = 0;
            void *shape = NULL;
            struct model_slot *m = NULL;
            JSValue c = JS_UNDEFINED;
            if (!is_array && !empty && JS_NewObjectLikeJSON && (m = find_model(d, site)) != NULL &&
                (shape = m->shape) != NULL)
                c = JS_NewObjectLikeJSON(ctx, shape, &shaped);
            if (JS_IsUndefined(c)) {
                shaped = 0;
                shape = NULL;
                m = NULL;
                c = is_array ? (empty ? JS_NewArray(ctx) : new_array(d, site)) : JS_NewObject(ctx);
            }
            if (JS_IsException(c)) {
                rc = -3;
                goto fail;
            }
            stack[depth++] = (frame){c, JS_ATOM_NULL, 0, shaped, shape, m, site, site_atom, (uint8_t)is_array, 0, 0, 0};
            if (empty) {
                p++;
                v = c;
                depth--;
                goto have_value;
            }
            if (!is_array)
                goto object_key;
            continue;
        }
        case '"': {
            const uint8_t *q = plain_string_end(p + 1, end);
            if (q) {
                v = string_value(d, p + 1, (size_t)(q - p - 1), 1, 1);
                p = q + 1;
            } else {
                const uint8_t *s;
                size_t n;
                int ascii;
                d->p = p + 1;
                int r = scan_string(d, &s, &n, &ascii);
                p = d->p;
                if (r) {
                    rc = r;
                    goto fail;
                }
                v = string_value(d, s, n, s == p - n - 1, ascii);
            }
            break;
        }
        case 't':
            if (literal(&p, end, "true", 4))
                goto fail;
            v = JS_TRUE;
            break;
        case 'f':
            if (literal(&p, end, "false", 5))
                goto fail;
            v = JS_FALSE;
            break;
        case 'n':
            if (literal(&p, end, "null", 4))
                goto fail;
            v = JS_NULL;
            break;
        default: {
            if (*p != '-' && (*p < '0' || *p > '9'))
                goto fail;
            int r = parse_number(d, &p, end, &v);
            if (r) {
                rc = r;
                goto fail;
            }
            break;
        }
        }
        if (JS_IsException(v)) {
            rc = -3;
            goto fail;
        }

    have_value:
        /* attach the value to its container, then find what comes next */
        for (;;) {
            if (depth == 0) {
                p = skip_ws(p, end);
                if (p != end) {
                    JS_FreeValue(ctx, v);
                    goto fail;
                }
                result = v;
                rc = 0;
                goto done;
            }
            frame *f = &stack[depth - 1];
            int r;
            if (f->is_array) {
                r = JS_AppendJSONElement ? JS_AppendJSONElement(ctx, f->container, f->index, v)
                                         : JS_DefinePropertyValueUint32(ctx, f->container, f->index, v, JS_PROP_C_W_E);
                f->index++;
            } else {
                int taken = 0;
                r = 0;
                if (f->shaped) {
                    if (JS_SetNthJSONProperty(ctx, f->container, f->index, f->key, v)) {
                        f->index++;
                        taken = 1;
                    } else if (unshape(d, f) < 0) {
                        JS_FreeValue(ctx, v);
                        r = -1;
                        taken = 1;
                    }
                }
                if (!taken)
                    r = JS_DefineJSONProperty ? JS_DefineJSONProperty(ctx, f->container, f->key, v)
                                              : JS_DefinePropertyValue(ctx, f->container, f->key, v, JS_PROP_C_W_E);
                if (f->key_owned)
                    JS_FreeAtom(ctx, f->key);
                f->key = JS_ATOM_NULL;
            }
            if (r < 0) {
                rc = -3;
                goto fail;
            }
            p = skip_ws(p, end);
            if (p >= end)
                goto fail;
            uint8_t c = *p;
            if (c == ',') {
                p = skip_ws(p + 1, end);
                if (!f->is_array)
                    goto object_key;
                break; /* the next array element */
            }
            if (c != (f->is_array ? ']' : '}'))
                goto fail;
            p++;
            if (!f->is_array) {
                /* fewer keys than its model: the keys it has, built the plain way */
                if (f->shaped && f->index != f->shaped && unshape(d, f) < 0) {
                    rc = -3;
                    goto fail;
                }
                remember_model(d, f, depth - 1);
            } else {
                remember_length(d, f->site, f->index);
            }
            v = f->container;
            depth--;
        }
        continue;

    object_key: {
        frame *f = &stack[depth - 1];
        if (p >= end || *p != '"')
            goto fail;
        const uint8_t *key_start = ++p;
        if (f->shaped) {
            /* the key its model has next, written the same way? */
            const struct model_slot *m = f->model;
            if (m->site == f->site && f->index < m->nkeys) {
                const key_rec *k = &m->keys[f->index];
                if ((size_t)(end - key_start) > k->len && key_start[k->len] == '"' &&
                    same_bytes(key_start, k->bytes, k->len)) {
                    f->key = k->atom;
                    f->key_owned = 0;
                    p = key_start + k->len + 1;
                    /* not recorded: the model has it, which is all remember_model needs
                     * when the object ends up with the model's keys */
                    f->rec_stop = 1;
                    goto key_read;
                }
            }
        }
        const uint8_t *s;
        size_t n;
        int clean;
        const uint8_t *q = plain_string_end(key_start, end);
        if (q) {
            s = key_start;
            n = (size_t)(q - key_start);
            clean = 1;
            p = q + 1;
        } else {
            const uint8_t *es;
            size_t en;
            int ascii;
            d->p = key_start;
            int r = scan_string(d, &es, &en, &ascii);
            p = d->p;
            if (r) {
                rc = r;
                goto fail;
            }
            s = es;
            n = en;
            clean = s == key_start && ascii;
        }
        int owned;
        f->key = key_atom(d, s, n, s == key_start, &owned);
        f->key_owned = (uint8_t)owned;
        if (f->key == JS_ATOM_NULL) {
            rc = -3;
            goto fail;
        }
        record_key(d, f, depth - 1, s, n, clean);
    key_read:
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            goto fail;
        p = skip_ws(p + 1, end);
        continue;
    }
    }

fail:
    /* unwind: free the containers under construction and their pending keys */
    while (depth > 0) {
        frame *f = &stack[--depth];
        if (!f->is_array && f->key != JS_ATOM_NULL && f->key_owned)
            JS_FreeAtom(ctx, f->key);
        JS_FreeValue(ctx, f->container);
    }
    result = JS_EXCEPTION;
done:
    for (uint32_t k = 0; k < d->nfilled; k++) {
        unsigned i = d->filled[k];
        if (i < FILLED_STRING) {
            JS_FreeAtom(ctx, d->atoms[i].atom);
            d->atoms[i].key.bytes = NULL;
        } else {
            i -= FILLED_STRING;
            JS_FreeValue(ctx, d->strings[i].str);
            d->strings[i].key.bytes = NULL;
        }
    }
    d->nfilled = 0;
    status->offset = (size_t)(p - start);
    status->error = rc == 0 ? PB_JSON_OK : rc == -2 ? PB_JSON_NOMEM : rc == -3 ? PB_JSON_ENGINE : PB_JSON_SYNTAX;
    if (stack != first)
        free(stack);
    free(d->scratch);
    d->scratch = NULL;
    return result;
}
