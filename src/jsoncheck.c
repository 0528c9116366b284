/* SPDX-License-Identifier: MIT */
/* jsoncheck.c - strict, iterative JSON (RFC 8259) + UTF-8 validator.
 *
 * One forward pass with an explicit bit stack (1 = object, 0 = array), so nesting
 * depth costs one bit per level and no C stack. Line and column are not tracked
 * during the scan; they are recomputed from the prefix only when reporting an error.
 */
#include "jsoncheck.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned char u8;

enum { INLINE_STACK_BYTES = 64 }; /* 512 levels before touching the heap */

typedef struct checker {
    const u8 *start;
    const u8 *end;
    u8 *bits;         /* bit i: container at depth i is an object */
    size_t cap;       /* bytes in bits */
    size_t depth;
    int code;
    size_t off;
    char msg[128];
    u8 inl[INLINE_STACK_BYTES];
} checker;

/* Bytes that end a run of plain string content: '"', '\\', controls, non-ASCII. */
static const u8 str_stop[256] = {
    1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    0,0,1,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,1,0,0,0,
    0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,
    1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,
};

/* ---- errors ------------------------------------------------------------ */

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

static const u8 *fail(checker *c, const u8 *at, int code, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

/* Records the error and returns NULL so callers can `return fail(...)`. */
static const u8 *fail(checker *c, const u8 *at, int code, const char *fmt, ...)
{
    va_list ap;
    c->code = code;
    c->off = (size_t)(at - c->start);
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

enum { U8_BAD_BYTE = 1, U8_TRUNCATED, U8_OVERLONG, U8_SURROGATE, U8_TOO_BIG };

/* Decodes the sequence starting at p (p < e). Returns its length
 * and sets *cp, or returns 0 with *why and *seen (bytes worth quoting) set. The
 * restricted second-byte ranges are those of Unicode Table 3-7. */
static size_t utf8_decode(const u8 *p, const u8 *e, uint32_t *cp, int *why, size_t *seen)
{
    u8 b0 = p[0], lo = 0x80, hi = 0xBF;
    size_t len, i;
    uint32_t v;

    *seen = 1;
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 < 0xC2) {
        *why = U8_BAD_BYTE;
        return 0;
    } else if (b0 < 0xE0) {
        len = 2;
        v = b0 & 0x1Fu;
    } else if (b0 < 0xF0) {
        len = 3;
        v = b0 & 0x0Fu;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 < 0xF5) {
        len = 4;
        v = b0 & 0x07u;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        *why = U8_BAD_BYTE;
        return 0;
    }
    for (i = 1; i < len; i++) {
        u8 b;
        if (p + i == e || (p[i] & 0xC0) != 0x80) {
            *why = U8_TRUNCATED;
            *seen = i;
            return 0;
        }
        b = p[i];
        if (i == 1 && (b < lo || b > hi)) {
            *why = b0 == 0xED ? U8_SURROGATE : b0 == 0xF4 ? U8_TOO_BIG : U8_OVERLONG;
            *seen = 2;
            return 0;
        }
        v = (v << 6) | (b & 0x3Fu);
    }
    *cp = v;
    return len;
}

static const u8 *fail_utf8(checker *c, const u8 *at, int why, size_t seen)
{
    static const char *const bad_byte_hint[4] = {
        " (stray continuation byte)", " (overlong encoding)",
        " (code point above U+10FFFF)", ""
    };
    char bytes[24] = "";
    const char *what = "";
    size_t i, k = 0;
    u8 b0 = at[0];

    if (why == U8_BAD_BYTE) {
        int h = b0 < 0xC0 ? 0 : b0 < 0xC2 ? 1 : b0 < 0xF8 ? 2 : 3;
        return fail(c, at, PB__JSON_EUTF8, "invalid UTF-8 byte 0x%02x%s",
                    b0, bad_byte_hint[h]);
    }
    for (i = 0; i < seen && i < 4; i++)
        k += (size_t)snprintf(bytes + k, sizeof bytes - k, i ? " 0x%02x" : "0x%02x", at[i]);
    switch (why) {
    case U8_TRUNCATED:
        what = at + seen == c->end ? "truncated at end of input" : "truncated";
        break;
    case U8_OVERLONG: what = "overlong encoding"; break;
    case U8_SURROGATE: what = "encoded surrogate"; break;
    default: what = "code point above U+10FFFF"; break;
    }
    return fail(c, at, PB__JSON_EUTF8, "invalid UTF-8 sequence %s (%s)", bytes, what);
}

/* If `at` starts an ill-formed UTF-8 sequence, records that error and returns 1:
 * a UTF-8 error at the spot of a syntax error takes precedence, since the input
 * is not even text there. Otherwise describes the character for a message. */
static int utf8_error_or_describe(checker *c, const u8 *at, char desc[40])
{
    uint32_t cp = 0;
    int why = 0;
    size_t seen;

    if (at == c->end) {
        snprintf(desc, 40, "end of input");
        return 0;
    }
    if (utf8_decode(at, c->end, &cp, &why, &seen) == 0) {
        fail_utf8(c, at, why, seen);
        return 1;
    }
    if (cp >= 0x20 && cp < 0x7F)
        snprintf(desc, 40, "'%c'", (char)cp);
    else if (cp == 0xFEFF)
        snprintf(desc, 40, "U+FEFF (byte order mark)");
    else
        snprintf(desc, 40, "U+%04lX", (unsigned long)cp);
    return 0;
}

/* Syntax error at `at`. With show_found, `msg` is followed by the offending character
 * (or the whole message becomes "unexpected end of input" at the end). */
static const u8 *fail_syntax(checker *c, const u8 *at, const char *msg, int show_found)
{
    char desc[40];

    if (utf8_error_or_describe(c, at, desc))
        return NULL;
    if (!show_found)
        return fail(c, at, PB__JSON_ESYNTAX, "%s", msg);
    if (at == c->end)
        return fail(c, at, PB__JSON_ESYNTAX, "unexpected end of input");
    return fail(c, at, PB__JSON_ESYNTAX, "%s %s", msg, desc);
}

/* ---- container stack ---------------------------------------------------- */

static int grow(checker *c)
{
    size_t ncap = c->cap * 2;
    u8 *nb;

    if (ncap < c->cap)
        return 0;
    if (c->bits == c->inl) {
        nb = malloc(ncap);
        if (nb)
            memcpy(nb, c->inl, c->cap);
    } else {
        nb = realloc(c->bits, ncap);
    }
    if (!nb)
        return 0;
    c->bits = nb;
    c->cap = ncap;
    return 1;
}

static inline int push(checker *c, unsigned is_obj)
{
    size_t d = c->depth;
    u8 m = (u8)(1u << (d & 7));

    if ((d >> 3) == c->cap && !grow(c))
        return 0;
    /* a level opening a new byte overwrites it, so stale bits are never read */
    if ((d & 7) == 0)
        c->bits[d >> 3] = (u8)is_obj;
    else
        c->bits[d >> 3] = (u8)((c->bits[d >> 3] & (u8)~m) | (is_obj ? m : 0));
    c->depth = d + 1;
    return 1;
}

/* Pops one level; returns whether the enclosing container (if any) is an object. */
static inline int pop(checker *c)
{
    size_t d = --c->depth;

    if (d == 0)
        return 0;
    d--;
    return (c->bits[d >> 3] >> (d & 7)) & 1;
}

/* ---- scanners: each returns the position after what it consumed, or NULL --- */

static inline uint64_t load64(const u8 *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* With little-endian lanes, borrows in the SWAR tests only run towards higher
 * addresses, so the lowest flagged lane is exact and ctz can jump straight to it. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LITTLE_ENDIAN_CTZ 1
#else
#define LITTLE_ENDIAN_CTZ 0
#endif

/* Nonzero if any byte of x is '"', '\\', < 0x20 or >= 0x80 (classic SWAR tests;
 * only "any" is needed, so borrows between lanes do not matter). */
static inline uint64_t block_has_stop(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"');
    uint64_t b = x ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x) | x) & HIGHS;
}

/* Index of the lowest-addressed nonzero byte of a nonzero m. */
static inline size_t first_lane(uint64_t m)
{
#if LITTLE_ENDIAN_CTZ
    return (size_t)__builtin_ctzll(m) >> 3;
#else
    u8 b[8];
    size_t i = 0;
    memcpy(b, &m, sizeof b);
    while (!b[i])
        i++;
    return i;
#endif
}

static inline const u8 *skip_ws(const u8 *p, const u8 *e)
{
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
        /* pretty-printed input is mostly indentation: skip spaces 8 at a time */
        while (e - p >= 8) {
            uint64_t v = load64(p) ^ (ONES * ' ');
            if (v) {
                p += first_lane(v);
                break;
            }
            p += 8;
        }
    }
    return p;
}

static inline int is_digit(u8 ch)
{
    return (unsigned)(ch - '0') < 10u;
}

static inline int is_hex(u8 ch)
{
    return is_digit(ch) || (unsigned)((ch | 0x20) - 'a') < 6u;
}

static inline const u8 *skip_digits(const u8 *p, const u8 *e)
{
    while (p < e && is_digit(*p))
        p++;
    return p;
}

/* p is just after the backslash. */
static const u8 *scan_escape(checker *c, const u8 *p)
{
    const u8 *e = c->end;
    char desc[40];
    int i;

    if (p == e)
        return fail(c, p, PB__JSON_ESYNTAX, "unterminated string");
    switch (*p) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return p + 1;
    case 'u':
        for (i = 1; i <= 4; i++) {
            if (p + i == e)
                return fail(c, p + i, PB__JSON_ESYNTAX, "unterminated string");
            if (!is_hex(p[i]))
                return fail_syntax(c, p + i, "invalid \\u escape, expected hex digit, found", 1);
        }
        return p + 5;
    default:
        if (utf8_error_or_describe(c, p, desc))
            return NULL;
        if (*p >= 0x20 && *p < 0x7F)
            return fail(c, p, PB__JSON_ESYNTAX, "invalid escape '\\%c'", (char)*p);
        return fail(c, p, PB__JSON_ESYNTAX, "invalid escape: backslash followed by %s", desc);
    }
}

/* First byte in [p, e) that is not plain string content, or e. */
static inline const u8 *find_string_stop(const u8 *p, const u8 *e)
{
    while (e - p >= 8) {
        uint64_t m = block_has_stop(load64(p));
        if (m) {
#if LITTLE_ENDIAN_CTZ
            return p + first_lane(m);
#else
            while (!str_stop[*p]) /* the block holds a stop byte */
                p++;
            return p;
#endif
        }
        p += 8;
    }
    while (p < e && !str_stop[*p])
        p++;
    return p;
}

/* p is just after the opening quote. */
static const u8 *scan_string(checker *c, const u8 *p)
{
    const u8 *e = c->end;
    uint32_t cp;
    size_t len, seen;
    int why;

    for (;;) {
        p = find_string_stop(p, e);
        if (p == e)
            return fail(c, p, PB__JSON_ESYNTAX, "unterminated string");
        if (*p == '"')
            return p + 1;
        if (*p == '\\') {
            p = scan_escape(c, p + 1);
            if (!p)
                return NULL;
        } else if (*p < 0x20) {
            return fail(c, p, PB__JSON_ESYNTAX, "control character U+%04X in string", (unsigned)*p);
        } else {
            len = utf8_decode(p, e, &cp, &why, &seen);
            if (len == 0)
                return fail_utf8(c, p, why, seen);
            p += len;
        }
    }
}

static const u8 *scan_number(checker *c, const u8 *p)
{
    const u8 *e = c->end;

    if (*p == '-') {
        p++;
        if (p == e || !is_digit(*p))
            return fail_syntax(c, p, "invalid number: expected digit after '-'", 0);
    }
    if (*p == '0') {
        p++;
        if (p < e && is_digit(*p))
            return fail_syntax(c, p, "invalid number: leading zero", 0);
    } else {
        p = skip_digits(p + 1, e);
    }
    if (p < e && *p == '.') {
        p++;
        if (p == e || !is_digit(*p))
            return fail_syntax(c, p, "invalid number: expected digit after '.'", 0);
        p = skip_digits(p + 1, e);
    }
    if (p < e && (*p | 0x20) == 'e') {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p == e || !is_digit(*p))
            return fail_syntax(c, p, "invalid number: expected digit in exponent", 0);
        p = skip_digits(p + 1, e);
    }
    return p;
}

static const u8 *scan_literal(checker *c, const u8 *p, const char *lit, size_t len)
{
    char msg[40];
    size_t i;

    if ((size_t)(c->end - p) >= len && memcmp(p, lit, len) == 0)
        return p + len;
    for (i = 1; i < len && p + i < c->end && p[i] == (u8)lit[i]; i++)
        ;
    snprintf(msg, sizeof msg, "invalid literal, expected '%s'", lit);
    return fail_syntax(c, p + i, msg, 0);
}

/* p is where an object key should start; returns the position after its ':'. */
static const u8 *scan_key(checker *c, const u8 *p)
{
    if (p == c->end || *p != '"')
        return fail_syntax(c, p, "expected object key, found", 1);
    p = scan_string(c, p + 1);
    if (!p)
        return NULL;
    p = skip_ws(p, c->end);
    if (p == c->end || *p != ':')
        return fail_syntax(c, p, "expected ':' after object key", 0);
    return p + 1;
}

/* After a complete value: closes containers and finds where the next value starts.
 * Returns NULL both on error and at the successful end (c->code tells them apart). */
static const u8 *after_value(checker *c, const u8 *p, int *in_obj)
{
    const u8 *e = c->end;

    for (;;) {
        p = skip_ws(p, e);
        if (c->depth == 0) {
            if (p != e)
                return fail_syntax(c, p, "trailing characters after the JSON value", 0);
            return NULL;
        }
        if (p == e)
            return fail(c, p, PB__JSON_ESYNTAX, "unexpected end of input");
        if (*p == ',') {
            if (*in_obj)
                return scan_key(c, skip_ws(p + 1, e));
            return p + 1;
        }
        if (*p != (*in_obj ? '}' : ']'))
            return fail_syntax(c, p, *in_obj ? "expected ',' or '}' after object member, found"
                                             : "expected ',' or ']' after array element, found", 1);
        *in_obj = pop(c);
        p++;
    }
}

/* Opens a container at p; returns where its first value starts (after the key for
 * an object), or hands an empty container straight to after_value. */
static const u8 *open_container(checker *c, const u8 *p, int *in_obj)
{
    unsigned is_obj = *p == '{';
    u8 close = is_obj ? '}' : ']';

    if (!push(c, is_obj))
        return fail(c, p, PB__JSON_ENOMEM, "out of memory (nesting depth %zu)", c->depth + 1);
    *in_obj = (int)is_obj;
    p = skip_ws(p + 1, c->end);
    if (p < c->end && *p == close) {
        *in_obj = pop(c);
        return after_value(c, p + 1, in_obj);
    }
    return is_obj ? scan_key(c, p) : p;
}

static int run(checker *c)
{
    const u8 *p = c->start, *e = c->end;
    int in_obj = 0;

    for (;;) {
        p = skip_ws(p, e);
        if (p == e) {
            fail(c, p, PB__JSON_ESYNTAX, "unexpected end of input");
            return c->code;
        }
        switch (*p) {
        case '{': case '[':
            p = open_container(c, p, &in_obj);
            if (!p)
                return c->code;
            continue;
        case '"': p = scan_string(c, p + 1); break;
        case 't': p = scan_literal(c, p, "true", 4); break;
        case 'f': p = scan_literal(c, p, "false", 5); break;
        case 'n': p = scan_literal(c, p, "null", 4); break;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            p = scan_number(c, p);
            break;
        default:
            fail_syntax(c, p, "unexpected character", 1);
            return c->code;
        }
        if (!p)
            return c->code;
        p = after_value(c, p, &in_obj);
        if (!p)
            return c->code;
    }
}

/* Only on error: the prefix before the error is known to be valid UTF-8, so
 * code points are the bytes that are not continuation bytes. */
static void locate(const u8 *s, size_t n, size_t off, size_t *line, size_t *col)
{
    size_t ln = 1, ls = 0, i, k = 1;

    for (i = 0; i < off; i++) {
        if (s[i] == '\n' || (s[i] == '\r' && !(i + 1 < n && s[i + 1] == '\n'))) {
            ln++;
            ls = i + 1;
        }
    }
    for (i = ls; i < off; i++)
        k += (s[i] & 0xC0) != 0x80;
    *line = ln;
    *col = k;
}

int pb__json_check(const char *s, size_t n, pb__json_error *err)
{
    checker c;

    c.start = (const u8 *)s;
    c.end = n ? c.start + n : c.start;
    c.bits = c.inl;
    c.cap = sizeof c.inl;
    c.depth = 0;
    c.code = 0;
    c.off = 0;
    c.msg[0] = '\0';

    if (n == 0) { /* s may be NULL: no pointer arithmetic on it */
        c.code = PB__JSON_ESYNTAX;
        snprintf(c.msg, sizeof c.msg, "unexpected end of input");
    } else {
        run(&c);
    }
    if (c.bits != c.inl)
        free(c.bits);

    if (err) {
        memset(err, 0, sizeof *err);
        if (c.code) {
            err->offset = c.off;
            locate(c.start, n, c.off, &err->line, &err->column);
            memcpy(err->message, c.msg, sizeof err->message);
        }
    }
    return c.code;
}
