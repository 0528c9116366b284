/* SPDX-License-Identifier: MIT */
/* wasmread.c - the module reader (wasmread.h).
 *
 * One forward pass over the bytes. Every read goes through a cursor bounded by the end of
 * what is being read (the module, a section, a function body), so a size that lies is an
 * error where it is first used and never a read past the end. Counts are checked against the
 * bytes left, at the smallest encoding of one entry, before anything is allocated for them.
 * Function bodies are decoded opcode by opcode with a counter of open blocks (no stack: the
 * kinds of blocks are wasm2c's to check), so the final `end` is found exactly.
 */
#include "wasmread.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned char u8;

enum { KINDS = 4 };

typedef struct rd {
    const u8 *base;
    const u8 *p;
    const u8 *end;          /* of what is being read now */
    const char *where;      /* what that is, for "unexpected end of ..." */
    char *err;
    size_t err_len;
    long long func;         /* function being decoded (index space), -1 outside bodies */
    pb_wasm_info *info;

    /* what the sections read so far declared */
    uint32_t *type_params;  /* parameters of each type */
    uint32_t *imp_slot;     /* import indices grouped by kind, from imp_start[kind] */
    uint32_t imp_start[KINDS];
    uint32_t *def_func_type; /* type of each defined function */
    uint32_t n_def_funcs;
    u8 *def_table;          /* element type of each defined table (value type code) */
    uint32_t n_def_tables;
    u8 *def_global;         /* global_types[] index of each defined global */
    uint32_t n_def_globals;
    int has_datacount;
    uint32_t datacount;
    int has_code;
    uint32_t n_bodies;
} rd;

/* ---- errors ------------------------------------------------------------------------------ */

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#define TRY(x)                 \
    do {                       \
        int rc_ = (x);         \
        if (rc_)               \
            return rc_;        \
    } while (0)

static void say(rd *r, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void say(rd *r, const char *fmt, ...)
{
    va_list ap;
    if (!r->err || !r->err_len)
        return;
    va_start(ap, fmt);
    vsnprintf(r->err, r->err_len, fmt, ap);
    va_end(ap);
}

static int malformed(rd *r, const u8 *at, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int malformed(rd *r, const u8 *at, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    say(r, "malformed module at byte 0x%zx: %s", (size_t)(at - r->base), what);
    return PB_WASM_MALFORMED;
}

static int unsupported(rd *r, const u8 *at, const char *feature)
{
    if (r->func >= 0)
        say(r, "unsupported WebAssembly feature: %s (function %lld, at byte 0x%zx)", feature, r->func,
            (size_t)(at - r->base));
    else
        say(r, "unsupported WebAssembly feature: %s (at byte 0x%zx)", feature, (size_t)(at - r->base));
    return PB_WASM_UNSUPPORTED;
}

static int eof(rd *r)
{
    return malformed(r, r->p, "unexpected end of %s", r->where);
}

/* zeroed; NULL after recording the error (the caller returns PB_WASM_NOMEM) */
static void *alloc(rd *r, size_t n, const char *what)
{
    void *v = calloc(n ? n : 1, 1);
    if (!v)
        say(r, "out of memory (%zu bytes for %s)", n, what);
    return v;
}

/* ---- primitive reads --------------------------------------------------------------------- */

static size_t left(const rd *r)
{
    return (size_t)(r->end - r->p);
}

static int rd_u8(rd *r, u8 *v)
{
    *v = 0;
    if (r->p >= r->end)
        return eof(r);
    *v = *r->p++;
    return 0;
}

static int skip(rd *r, size_t n)
{
    if (left(r) < n) {
        r->p = r->end;
        return eof(r);
    }
    r->p += n;
    return 0;
}

/* unsigned LEB128 of at most 32 bits: at most 5 bytes, the last holding 4 bits */
static int rd_u32(rd *r, uint32_t *out)
{
    const u8 *at = r->p;
    uint32_t v = 0;
    *out = 0;
    for (unsigned i = 0;; i++) {
        u8 b;
        TRY(rd_u8(r, &b));
        if (i == 4 && (b & 0xF0))
            return malformed(r, at, (b & 0x80) ? "integer representation too long" : "integer too large");
        v |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
}

/* signed LEB128 of `bits` bits (32, 33 or 64): at most ceil(bits / 7) bytes, and the unused
 * bits of the last one copies of the sign bit */
static int rd_sleb(rd *r, unsigned bits, int64_t *out)
{
    const u8 *at = r->p;
    unsigned last = (bits + 6) / 7 - 1, shift = 0;
    uint64_t v = 0;
    *out = 0;
    for (unsigned i = 0;; i++) {
        u8 b;
        TRY(rd_u8(r, &b));
        if (i == last) {
            unsigned used = bits - 7 * i; /* meaningful bits in this byte, the sign's included */
            u8 mask = (u8)(0x7F & ~((1u << (used - 1)) - 1));
            if (b & 0x80)
                return malformed(r, at, "integer representation too long");
            if ((b & mask) != 0 && (b & mask) != mask)
                return malformed(r, at, "integer too large");
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            memcpy(out, &v, sizeof v);
            return 0;
        }
    }
}

/* A count of entries of at least min_size bytes each, that the bytes left can hold. */
static int rd_count(rd *r, size_t min_size, uint32_t *n, const char *what)
{
    const u8 *at = r->p;
    TRY(rd_u32(r, n));
    if (*n > left(r) / min_size)
        return malformed(r, at, "%" PRIu32 " %s declared in %zu bytes", *n, what, left(r));
    return 0;
}

/* An index below limit. */
static int rd_index(rd *r, uint32_t limit, const char *what, uint32_t *out)
{
    const u8 *at = r->p;
    uint32_t v;
    if (out)
        *out = 0;
    TRY(rd_u32(r, &v));
    if (v >= limit)
        return malformed(r, at, "unknown %s %" PRIu32 " (there are %" PRIu32 ")", what, v, limit);
    if (out)
        *out = v;
    return 0;
}

/* Length of the UTF-8 sequence at s (n > 0 bytes left), 0 if ill-formed (Unicode Table 3-7). */
static size_t utf8_len(const u8 *s, size_t n)
{
    u8 b = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        len = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* A name: length, valid UTF-8. Copied (NUL-terminated) when out is not NULL; a name to be
 * copied may not hold a NUL byte, which a C string could not carry. */
static int rd_name(rd *r, char **out, const char *what)
{
    const u8 *at = r->p, *s;
    uint32_t len;
    TRY(rd_u32(r, &len));
    if (len > left(r))
        return malformed(r, at, "%s of %" PRIu32 " bytes, %zu left", what, len, left(r));
    s = r->p;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_len(s + i, len - i);
        if (!k)
            return malformed(r, s + i, "%s is not valid UTF-8", what);
        if (out && s[i] == 0)
            return malformed(r, s + i, "%s holds a NUL byte", what);
        i += k;
    }
    r->p += len;
    if (out) {
        char *c = alloc(r, (size_t)len + 1, what);
        if (!c)
            return PB_WASM_NOMEM;
        memcpy(c, s, len);
        *out = c;
    }
    return 0;
}

/* ---- types ------------------------------------------------------------------------------- */

/* The type strings of globals: value type index (i I f F r x) + 6 when mutable. */
static const char *const global_types[12] = {"i", "I", "f", "F", "r", "x",
                                             "mut i", "mut I", "mut f", "mut F", "mut r", "mut x"};
static const char valtype_chars[] = "iIfFrx";

/* Refuses by name the value types of proposals wasm2c does not compile. */
static int refused_type(rd *r, const u8 *at, u8 b)
{
    switch (b) {
    case 0x7B:
        return unsupported(r, at, "SIMD");
    case 0x63: /* (ref null ht), (ref ht) */
    case 0x64:
        return unsupported(r, at, "typed function references");
    case 0x69: /* exnref, nullexnref */
    case 0x74:
        return unsupported(r, at, "exception handling");
    case 0x6A: case 0x6B: case 0x6C: case 0x6D: case 0x6E: /* array struct i31 eq any */
    case 0x71: case 0x72: case 0x73:                       /* none noextern nofunc */
        return unsupported(r, at, "GC");
    default:
        return 0;
    }
}

/* The index in valtype_chars of a value type's byte, -1 if it is none. */
static int valtype_index(u8 b)
{
    switch (b) {
    case 0x7F: return 0;
    case 0x7E: return 1;
    case 0x7D: return 2;
    case 0x7C: return 3;
    case 0x70: return 4;
    case 0x6F: return 5;
    default: return -1;
    }
}

/* A value type, as its index in valtype_chars. */
static int rd_valtype(rd *r, int *t)
{
    const u8 *at = r->p;
    u8 b;
    TRY(rd_u8(r, &b));
    *t = valtype_index(b);
    if (*t >= 0)
        return 0;
    TRY(refused_type(r, at, b));
    return malformed(r, at, "invalid value type 0x%02x", b);
}

static int rd_reftype(rd *r, int *t)
{
    const u8 *at = r->p;
    TRY(rd_valtype(r, t));
    if (*t < 4)
        return malformed(r, at, "%c is not a reference type", valtype_chars[*t]);
    return 0;
}

/* The heap type of ref.null: func or extern; a type index is typed function references. */
static int rd_heaptype(rd *r)
{
    const u8 *at = r->p;
    int64_t v;
    if (r->p < r->end && (*r->p == 0x70 || *r->p == 0x6F)) {
        r->p++;
        return 0;
    }
    if (r->p < r->end)
        TRY(refused_type(r, at, *r->p));
    TRY(rd_sleb(r, 33, &v));
    if (v >= 0)
        return unsupported(r, at, "typed function references");
    return malformed(r, at, "invalid heap type");
}

static int rd_limits(rd *r, int memory, pb_wasm_limits *l)
{
    const u8 *at = r->p;
    u8 flags;
    TRY(rd_u8(r, &flags));
    if (flags & 0xF0)
        return malformed(r, at, "invalid limits flags 0x%02x", flags);
    if (flags & 0x04)
        return unsupported(r, at, "memory64");
    if (flags & 0x02)
        return unsupported(r, at, "threads");
    if (flags & 0x08)
        return unsupported(r, at, "custom page sizes");
    l->has_max = flags & 1;
    TRY(rd_u32(r, &l->min));
    if (l->has_max)
        TRY(rd_u32(r, &l->max));
    if (memory && (l->min > 65536 || (l->has_max && l->max > 65536)))
        return malformed(r, at, "memory size must be at most 65536 pages (4 GiB)");
    if (l->has_max && l->max < l->min)
        return malformed(r, at, "size minimum must not be greater than maximum");
    return 0;
}

/* ---- index spaces ------------------------------------------------------------------------ */

static uint32_t count_of(const rd *r, int kind)
{
    const pb_wasm_info *in = r->info;
    switch (kind) {
    case PB_WASM_FUNC: return in->n_funcs;
    case PB_WASM_TABLE: return in->n_tables;
    case PB_WASM_MEMORY: return in->n_memories;
    default: return in->n_globals;
    }
}

static uint32_t imported_of(const rd *r, int kind)
{
    const pb_wasm_info *in = r->info;
    switch (kind) {
    case PB_WASM_FUNC: return in->n_funcs_imported;
    case PB_WASM_TABLE: return in->n_tables_imported;
    case PB_WASM_MEMORY: return in->memory_imported ? 1 : 0;
    default: return in->n_globals_imported;
    }
}

/* The type string of entity i of a kind (i in range). */
static const char *type_of(const rd *r, int kind, uint32_t i)
{
    if (i < imported_of(r, kind))
        return r->info->imports[r->imp_slot[r->imp_start[kind] + i]].type;
    i -= imported_of(r, kind);
    switch (kind) {
    case PB_WASM_FUNC: return r->info->types[r->def_func_type[i]];
    case PB_WASM_TABLE: return global_types[r->def_table[i]];
    case PB_WASM_MEMORY: return "";
    default: return global_types[r->def_global[i]];
    }
}

/* ---- constant expressions ---------------------------------------------------------------- */

/* One constant instruction and `end`. globals: how many globals it may read. */
static int rd_const_expr(rd *r, uint32_t globals)
{
    const u8 *at = r->p;
    int64_t v;
    u8 op;
    TRY(rd_u8(r, &op));
    switch (op) {
    case 0x41: TRY(rd_sleb(r, 32, &v)); break;
    case 0x42: TRY(rd_sleb(r, 64, &v)); break;
    case 0x43: TRY(skip(r, 4)); break;
    case 0x44: TRY(skip(r, 8)); break;
    case 0x23: TRY(rd_index(r, globals, "global", NULL)); break;
    case 0xD0: TRY(rd_heaptype(r)); break;
    case 0xD2: TRY(rd_index(r, r->info->n_funcs, "function", NULL)); break;
    case 0xFD: return unsupported(r, at, "SIMD");
    case 0xFB: return unsupported(r, at, "GC");
    case 0x0B: return malformed(r, at, "empty constant expression");
    default: return malformed(r, at, "opcode 0x%02x in a constant expression", op);
    }
    at = r->p;
    TRY(rd_u8(r, &op));
    switch (op) {
    case 0x0B:
        return 0;
    /* a second constant, or what extended-const adds: i32/i64 add, sub, mul */
    case 0x41: case 0x42: case 0x23: case 0x6A: case 0x6B: case 0x6C: case 0x7C: case 0x7D: case 0x7E:
        return unsupported(r, at, "extended-const");
    case 0xFD: return unsupported(r, at, "SIMD");
    case 0xFB: return unsupported(r, at, "GC");
    default: return malformed(r, at, "constant expression does not end after its value (opcode 0x%02x)", op);
    }
}

/* ---- sections ---------------------------------------------------------------------------- */

static int rd_types(rd *r)
{
    pb_wasm_info *in = r->info;
    uint32_t n;
    TRY(rd_count(r, 3, &n, "types"));
    in->types = alloc(r, (size_t)n * sizeof *in->types, "the types");
    r->type_params = alloc(r, (size_t)n * sizeof *r->type_params, "the types");
    if (!in->types || !r->type_params)
        return PB_WASM_NOMEM;
    in->n_types = n;
    for (uint32_t i = 0; i < n; i++) {
        const u8 *at = r->p, *params, *results;
        uint32_t np, nr;
        u8 form;
        int t;
        TRY(rd_u8(r, &form));
        if (form == 0x4E || form == 0x50 || form == 0x4F || form == 0x5F || form == 0x5E)
            return unsupported(r, at, "GC"); /* rec, sub, sub final, struct, array */
        if (form != 0x60)
            return malformed(r, at, "invalid type form 0x%02x", form);
        /* every value type accepted is one byte: check them, then copy them */
        TRY(rd_count(r, 1, &np, "parameters"));
        params = r->p;
        for (uint32_t k = 0; k < np; k++)
            TRY(rd_valtype(r, &t));
        TRY(rd_count(r, 1, &nr, "results"));
        results = r->p;
        for (uint32_t k = 0; k < nr; k++)
            TRY(rd_valtype(r, &t));
        char *s = alloc(r, (size_t)np + nr + 2, "a type");
        if (!s)
            return PB_WASM_NOMEM;
        in->types[i] = s;
        r->type_params[i] = np;
        for (uint32_t k = 0; k < np; k++)
            *s++ = valtype_chars[valtype_index(params[k])];
        *s++ = ':';
        for (uint32_t k = 0; k < nr; k++)
            *s++ = valtype_chars[valtype_index(results[k])];
        *s = 0;
    }
    return 0;
}

static int rd_imports(rd *r)
{
    pb_wasm_info *in = r->info;
    uint32_t n, per_kind[KINDS] = {0};
    TRY(rd_count(r, 4, &n, "imports"));
    in->imports = alloc(r, (size_t)n * sizeof *in->imports, "the imports");
    r->imp_slot = alloc(r, (size_t)n * sizeof *r->imp_slot, "the imports");
    if (!in->imports || !r->imp_slot)
        return PB_WASM_NOMEM;
    in->n_imports = n;
    for (uint32_t i = 0; i < n; i++) {
        pb_wasm_import *im = &in->imports[i];
        const u8 *at;
        uint32_t ti;
        u8 kind, mut;
        int t;
        TRY(rd_name(r, &im->module, "an import's module name"));
        TRY(rd_name(r, &im->name, "an import's name"));
        at = r->p;
        TRY(rd_u8(r, &kind));
        im->kind = kind;
        switch (kind) {
        case PB_WASM_FUNC:
            TRY(rd_index(r, in->n_types, "type", &ti));
            im->type = in->types[ti];
            in->n_funcs_imported++;
            break;
        case PB_WASM_TABLE:
            TRY(rd_reftype(r, &t));
            TRY(rd_limits(r, 0, &im->limits));
            im->type = global_types[t];
            in->n_tables_imported++;
            break;
        case PB_WASM_MEMORY:
            TRY(rd_limits(r, 1, &im->limits));
            if (in->memory_imported)
                return unsupported(r, at, "multi-memory");
            im->type = "";
            in->memory_imported = 1;
            in->memory = im->limits;
            break;
        case PB_WASM_GLOBAL:
            TRY(rd_valtype(r, &t));
            at = r->p;
            TRY(rd_u8(r, &mut));
            if (mut > 1)
                return malformed(r, at, "invalid mutability 0x%02x", mut);
            im->type = global_types[t + 6 * mut];
            in->n_globals_imported++;
            break;
        case 4:
            return unsupported(r, at, "exception handling"); /* a tag */
        default:
            return malformed(r, at, "invalid import kind 0x%02x", kind);
        }
        per_kind[kind]++;
    }
    /* imports grouped by kind, in order: entity i of a kind is imports[imp_slot[start + i]] */
    for (int k = 1; k < KINDS; k++)
        r->imp_start[k] = r->imp_start[k - 1] + per_kind[k - 1];
    memset(per_kind, 0, sizeof per_kind);
    for (uint32_t i = 0; i < n; i++) {
        int k = in->imports[i].kind;
        r->imp_slot[r->imp_start[k] + per_kind[k]++] = i;
    }
    in->n_funcs = in->n_funcs_imported;
    in->n_tables = in->n_tables_imported;
    in->n_memories = (uint32_t)in->memory_imported;
    in->n_globals = in->n_globals_imported;
    return 0;
}

static int rd_functions(rd *r)
{
    uint32_t n;
    TRY(rd_count(r, 1, &n, "functions"));
    r->def_func_type = alloc(r, (size_t)n * sizeof *r->def_func_type, "the functions");
    if (!r->def_func_type)
        return PB_WASM_NOMEM;
    for (uint32_t i = 0; i < n; i++)
        TRY(rd_index(r, r->info->n_types, "type", &r->def_func_type[i]));
    r->n_def_funcs = n;
    if (n > UINT32_MAX - r->info->n_funcs)
        return malformed(r, r->p, "more than 2^32 functions");
    r->info->n_funcs += n;
    return 0;
}

static int rd_tables(rd *r)
{
    uint32_t n;
    TRY(rd_count(r, 3, &n, "tables"));
    r->def_table = alloc(r, n, "the tables");
    if (!r->def_table)
        return PB_WASM_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        pb_wasm_limits l;
        int t;
        if (r->p < r->end && *r->p == 0x40) /* a table with an initial value */
            return unsupported(r, r->p, "typed function references");
        TRY(rd_reftype(r, &t));
        TRY(rd_limits(r, 0, &l));
        r->def_table[i] = (u8)t;
    }
    r->n_def_tables = n;
    if (n > UINT32_MAX - r->info->n_tables)
        return malformed(r, r->p, "more than 2^32 tables");
    r->info->n_tables += n;
    return 0;
}

static int rd_memories(rd *r)
{
    pb_wasm_info *in = r->info;
    uint32_t n;
    TRY(rd_count(r, 2, &n, "memories"));
    for (uint32_t i = 0; i < n; i++) {
        const u8 *at = r->p;
        pb_wasm_limits l;
        TRY(rd_limits(r, 1, &l));
        if (in->n_memories)
            return unsupported(r, at, "multi-memory");
        in->memory = l;
        in->n_memories = 1;
    }
    return 0;
}

static int rd_globals(rd *r)
{
    pb_wasm_info *in = r->info;
    uint32_t n;
    TRY(rd_count(r, 3, &n, "globals"));
    r->def_global = alloc(r, n, "the globals");
    if (!r->def_global)
        return PB_WASM_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const u8 *at;
        u8 mut;
        int t;
        TRY(rd_valtype(r, &t));
        at = r->p;
        TRY(rd_u8(r, &mut));
        if (mut > 1)
            return malformed(r, at, "invalid mutability 0x%02x", mut);
        /* the MVP reads imported globals only, GC any earlier one: wasm2c tells them apart */
        TRY(rd_const_expr(r, in->n_globals));
        r->def_global[i] = (u8)(t + 6 * mut);
        in->n_globals++;
        r->n_def_globals++;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((*(const pb_wasm_export *const *)a)->name, (*(const pb_wasm_export *const *)b)->name);
}

/* name, at most 40 bytes of it, as printable ASCII with \xNN escapes */
static void quote(char *out, size_t room, const char *name)
{
    size_t k = 0;
    for (const u8 *s = (const u8 *)name; *s && k + 5 < room; s++) {
        if (s - (const u8 *)name >= 40) {
            k += (size_t)snprintf(out + k, room - k, "...");
            break;
        }
        if (*s >= 0x20 && *s < 0x7F && *s != '"' && *s != '\\')
            out[k++] = (char)*s;
        else
            k += (size_t)snprintf(out + k, room - k, "\\x%02x", *s);
    }
    out[k < room ? k : room - 1] = 0;
}

static int rd_exports(rd *r)
{
    pb_wasm_info *in = r->info;
    const u8 *start;
    uint32_t n;
    TRY(rd_count(r, 3, &n, "exports"));
    start = r->p;
    in->exports = alloc(r, (size_t)n * sizeof *in->exports, "the exports");
    if (!in->exports)
        return PB_WASM_NOMEM;
    in->n_exports = n;
    for (uint32_t i = 0; i < n; i++) {
        pb_wasm_export *ex = &in->exports[i];
        const u8 *at;
        u8 kind;
        TRY(rd_name(r, &ex->name, "an export's name"));
        at = r->p;
        TRY(rd_u8(r, &kind));
        if (kind == 4)
            return unsupported(r, at, "exception handling"); /* a tag */
        if (kind >= KINDS)
            return malformed(r, at, "invalid export kind 0x%02x", kind);
        ex->kind = kind;
        TRY(rd_index(r, count_of(r, kind), pb__wasm_kind_name(kind), &ex->index));
        ex->type = type_of(r, kind, ex->index);
    }
    if (n > 1) {
        const pb_wasm_export **sorted = alloc(r, (size_t)n * sizeof *sorted, "the export names");
        ptrdiff_t dup = -1;
        if (!sorted)
            return PB_WASM_NOMEM;
        for (uint32_t i = 0; i < n; i++)
            sorted[i] = &in->exports[i];
        qsort(sorted, n, sizeof *sorted, cmp_names);
        for (uint32_t i = 1; i < n && dup < 0; i++)
            if (!strcmp(sorted[i - 1]->name, sorted[i]->name))
                dup = sorted[i] > sorted[i - 1] ? sorted[i] - in->exports : sorted[i - 1] - in->exports;
        free(sorted);
        if (dup >= 0) {
            char q[200];
            quote(q, sizeof q, in->exports[dup].name);
            return malformed(r, start, "duplicate export name \"%s\" (export %td)", q, dup);
        }
    }
    return 0;
}

static int rd_start(rd *r)
{
    r->info->has_start = 1;
    return rd_index(r, r->info->n_funcs, "function", &r->info->start);
}

static int rd_elements(rd *r)
{
    pb_wasm_info *in = r->info;
    uint32_t n;
    TRY(rd_count(r, 2, &n, "element segments"));
    for (uint32_t i = 0; i < n; i++) {
        const u8 *at = r->p;
        uint32_t flags, count;
        int t;
        u8 kind;
        TRY(rd_u32(r, &flags));
        if (flags > 7)
            return malformed(r, at, "invalid element segment flags %" PRIu32, flags);
        if (!(flags & 1)) { /* active */
            if (flags & 2)
                TRY(rd_index(r, in->n_tables, "table", NULL));
            else if (!in->n_tables)
                return malformed(r, at, "unknown table 0 (there are 0)");
            TRY(rd_const_expr(r, in->n_globals));
        }
        if (flags & 4) { /* expressions */
            if (flags & 3)
                TRY(rd_reftype(r, &t));
            TRY(rd_count(r, 3, &count, "element expressions"));
            for (uint32_t k = 0; k < count; k++)
                TRY(rd_const_expr(r, in->n_globals));
        } else { /* function indices */
            if (flags & 3) {
                at = r->p;
                TRY(rd_u8(r, &kind));
                if (kind != 0)
                    return malformed(r, at, "invalid element kind 0x%02x", kind);
            }
            TRY(rd_count(r, 1, &count, "element function indices"));
            for (uint32_t k = 0; k < count; k++)
                TRY(rd_index(r, in->n_funcs, "function", NULL));
        }
        in->n_elem++;
    }
    return 0;
}

static int rd_datacount(rd *r)
{
    r->has_datacount = 1;
    return rd_u32(r, &r->datacount);
}

static int rd_data(rd *r)
{
    pb_wasm_info *in = r->info;
    const u8 *at = r->p;
    uint32_t n;
    TRY(rd_count(r, 2, &n, "data segments"));
    if (r->has_datacount && n != r->datacount)
        return malformed(r, at, "%" PRIu32 " data segments, the data count section says %" PRIu32, n, r->datacount);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t flags, len;
        at = r->p;
        TRY(rd_u32(r, &flags));
        if (flags > 2)
            return malformed(r, at, "invalid data segment flags %" PRIu32, flags);
        if (flags == 1) {
            in->n_data_passive++;
            in->uses |= PB_WASM_USES_PASSIVE_DATA;
        } else {
            if (flags == 2) {
                const u8 *m = r->p;
                uint32_t mem;
                TRY(rd_u32(r, &mem));
                if (mem != 0)
                    return unsupported(r, m, "multi-memory");
            }
            if (!in->n_memories)
                return malformed(r, at, "active data segment with no memory");
            TRY(rd_const_expr(r, in->n_globals));
            in->n_data_active++;
        }
        at = r->p;
        TRY(rd_u32(r, &len));
        if (len > left(r))
            return malformed(r, at, "data segment of %" PRIu32 " bytes, %zu left", len, left(r));
        r->p += len;
    }
    return 0;
}

/* ---- function bodies --------------------------------------------------------------------- */

static int rd_blocktype(rd *r)
{
    const u8 *at = r->p;
    int64_t v;
    int t;
    if (r->p >= r->end)
        return eof(r);
    if (*r->p == 0x40) {
        r->p++;
        return 0;
    }
    if (*r->p & 0x40 && !(*r->p & 0x80)) /* a negative one-byte s33: a value type */
        return rd_valtype(r, &t);
    TRY(rd_sleb(r, 33, &v));
    if (v < 0)
        return malformed(r, at, "invalid block type");
    if (v >= r->info->n_types)
        return malformed(r, at, "unknown type %lld (there are %" PRIu32 ")", (long long)v, r->info->n_types);
    return 0;
}

static int need_memory(rd *r, const u8 *at)
{
    if (!r->info->n_memories)
        return malformed(r, at, "memory instruction with no memory");
    return 0;
}

/* A memory index immediate (the MVP's reserved zero byte): anything but 0 is multi-memory. */
static int rd_memidx(rd *r, const u8 *op)
{
    const u8 *at = r->p;
    uint32_t m;
    TRY(need_memory(r, op));
    TRY(rd_u32(r, &m));
    if (m != 0)
        return unsupported(r, at, "multi-memory");
    return 0;
}

static int rd_memarg(rd *r, const u8 *op)
{
    const u8 *at = r->p;
    uint32_t align, offset;
    TRY(need_memory(r, op));
    TRY(rd_u32(r, &align));
    if (align & 0x40) /* a memory index follows */
        return unsupported(r, at, "multi-memory");
    return rd_u32(r, &offset);
}

static int need_datacount(rd *r, const u8 *at)
{
    if (!r->has_datacount)
        return malformed(r, at, "data segment instruction with no data count section");
    return 0;
}

/* The 0xFC prefix: saturating truncations, bulk memory, table operations. */
static int rd_misc(rd *r, const u8 *at)
{
    pb_wasm_info *in = r->info;
    uint32_t sub;
    TRY(rd_u32(r, &sub));
    switch (sub) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: /* trunc_sat */
        return 0;
    case 8: /* memory.init */
        TRY(need_datacount(r, at));
        TRY(rd_index(r, r->datacount, "data segment", NULL));
        TRY(rd_memidx(r, at));
        in->uses |= PB_WASM_USES_BULK_MEMORY | PB_WASM_USES_PASSIVE_DATA;
        return 0;
    case 9: /* data.drop */
        TRY(need_datacount(r, at));
        TRY(rd_index(r, r->datacount, "data segment", NULL));
        in->uses |= PB_WASM_USES_BULK_MEMORY | PB_WASM_USES_PASSIVE_DATA;
        return 0;
    case 10: /* memory.copy */
        TRY(rd_memidx(r, at));
        TRY(rd_memidx(r, at));
        in->uses |= PB_WASM_USES_BULK_MEMORY;
        return 0;
    case 11: /* memory.fill */
        TRY(rd_memidx(r, at));
        in->uses |= PB_WASM_USES_BULK_MEMORY;
        return 0;
    case 12: /* table.init */
        TRY(rd_index(r, in->n_elem, "element segment", NULL));
        TRY(rd_index(r, in->n_tables, "table", NULL));
        in->uses |= PB_WASM_USES_TABLE_MUTATION;
        return 0;
    case 13: /* elem.drop */
        TRY(rd_index(r, in->n_elem, "element segment", NULL));
        in->uses |= PB_WASM_USES_TABLE_MUTATION;
        return 0;
    case 14: /* table.copy */
        TRY(rd_index(r, in->n_tables, "table", NULL));
        TRY(rd_index(r, in->n_tables, "table", NULL));
        in->uses |= PB_WASM_USES_TABLE_MUTATION;
        return 0;
    case 15: /* table.grow */
    case 17: /* table.fill */
        in->uses |= PB_WASM_USES_TABLE_MUTATION;
        return rd_index(r, in->n_tables, "table", NULL);
    case 16: /* table.size */
        return rd_index(r, in->n_tables, "table", NULL);
    default:
        return malformed(r, at, "unknown opcode 0xfc %" PRIu32, sub);
    }
}

static int rd_body(rd *r, uint32_t fidx, uint32_t nparams)
{
    pb_wasm_info *in = r->info;
    const u8 *at = r->p;
    uint64_t nlocals = nparams;
    uint32_t groups, depth = 1, n;
    int64_t v;
    int t;

    TRY(rd_count(r, 2, &groups, "local declarations"));
    for (uint32_t i = 0; i < groups; i++) {
        TRY(rd_u32(r, &n));
        TRY(rd_valtype(r, &t));
        nlocals += n;
        if (nlocals > PB_WASM_MAX_LOCALS)
            break;
    }
    if (nlocals > PB_WASM_MAX_LOCALS)
        return malformed(r, at, "function %" PRIu32 " has more than %d locals", fidx, PB_WASM_MAX_LOCALS);
    while (r->p < r->end) {
        u8 op;
        at = r->p;
        op = *r->p++;
        switch (op) {
        case 0x00: case 0x01: /* unreachable nop */
        case 0x05: /* else */
        case 0x0F: /* return */
        case 0x1A: case 0x1B: /* drop select */
        case 0xD1: /* ref.is_null */
            break;
        case 0x02: case 0x03: case 0x04: /* block loop if */
            TRY(rd_blocktype(r));
            depth++;
            break;
        case 0x0B: /* end */
            if (--depth == 0) {
                if (r->p != r->end)
                    return malformed(r, r->p, "%zu bytes after the final end of function %" PRIu32, left(r), fidx);
                return 0;
            }
            break;
        case 0x0C: case 0x0D: /* br br_if */
            TRY(rd_index(r, depth, "label", NULL));
            break;
        case 0x0E: /* br_table */
            TRY(rd_count(r, 1, &n, "labels"));
            for (uint32_t k = 0; k <= n; k++)
                TRY(rd_index(r, depth, "label", NULL));
            break;
        case 0x10: /* call */
            TRY(rd_index(r, in->n_funcs, "function", NULL));
            break;
        case 0x11: /* call_indirect */
            TRY(rd_index(r, in->n_types, "type", NULL));
            TRY(rd_index(r, in->n_tables, "table", NULL));
            break;
        case 0x12: case 0x13: /* return_call return_call_indirect */
            return unsupported(r, at, "tail calls");
        case 0x14: case 0x15: /* call_ref return_call_ref */
        case 0xD4: case 0xD5: case 0xD6: /* ref.as_non_null br_on_null br_on_non_null */
            return unsupported(r, at, "typed function references");
        case 0x06: case 0x07: case 0x08: case 0x09: case 0x0A: /* try catch throw rethrow throw_ref */
        case 0x18: case 0x19: case 0x1F: /* delegate catch_all try_table */
            return unsupported(r, at, "exception handling");
        case 0xD3: /* ref.eq */
        case 0xFB:
            return unsupported(r, at, "GC");
        case 0xFD:
            return unsupported(r, at, "SIMD");
        case 0xFE:
            return unsupported(r, at, "threads");
        case 0x1C: { /* select t */
            const u8 *c = r->p;
            TRY(rd_u32(r, &n));
            if (n != 1)
                return malformed(r, c, "select with %" PRIu32 " types", n);
            TRY(rd_valtype(r, &t));
            break;
        }
        case 0x20: case 0x21: case 0x22: { /* local.get local.set local.tee */
            const u8 *c = r->p;
            TRY(rd_u32(r, &n));
            if (n >= nlocals)
                return malformed(r, c, "unknown local %" PRIu32 " (there are %llu)", n, (unsigned long long)nlocals);
            break;
        }
        case 0x23: case 0x24: /* global.get global.set */
            TRY(rd_index(r, in->n_globals, "global", NULL));
            break;
        case 0x25: case 0x26: /* table.get table.set */
            TRY(rd_index(r, in->n_tables, "table", NULL));
            if (op == 0x26)
                in->uses |= PB_WASM_USES_TABLE_MUTATION;
            break;
        case 0x3F: case 0x40: /* memory.size memory.grow */
            TRY(rd_memidx(r, at));
            if (op == 0x40)
                in->uses |= PB_WASM_USES_MEMORY_GROW;
            break;
        case 0x41: TRY(rd_sleb(r, 32, &v)); break;
        case 0x42: TRY(rd_sleb(r, 64, &v)); break;
        case 0x43: TRY(skip(r, 4)); break;
        case 0x44: TRY(skip(r, 8)); break;
        case 0xD0: TRY(rd_heaptype(r)); break; /* ref.null */
        case 0xD2: TRY(rd_index(r, in->n_funcs, "function", NULL)); break; /* ref.func */
        case 0xFC: TRY(rd_misc(r, at)); break;
        default:
            if (op >= 0x28 && op <= 0x3E) { /* loads and stores */
                TRY(rd_memarg(r, at));
                break;
            }
            if (op >= 0x45 && op <= 0xC4) /* numeric, sign extension included */
                break;
            return malformed(r, at, "unknown opcode 0x%02x", op);
        }
    }
    return malformed(r, r->p, "function %" PRIu32 "'s body lacks its final end", fidx);
}

static int rd_code(rd *r)
{
    pb_wasm_info *in = r->info;
    const u8 *at = r->p, *section_end = r->end;
    const char *section = r->where;
    uint32_t n;
    TRY(rd_count(r, 2, &n, "function bodies"));
    if (n != r->n_def_funcs)
        return malformed(r, at, "%" PRIu32 " function bodies for %" PRIu32 " functions", n, r->n_def_funcs);
    r->has_code = 1;
    r->n_bodies = n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size, fidx = in->n_funcs_imported + i;
        at = r->p;
        TRY(rd_u32(r, &size));
        if (size > left(r))
            return malformed(r, at, "function %" PRIu32 "'s body of %" PRIu32 " bytes, %zu left", fidx, size,
                             left(r));
        r->end = r->p + size;
        r->where = "a function body";
        r->func = fidx;
        TRY(rd_body(r, fidx, r->type_params[r->def_func_type[i]]));
        r->func = -1;
        r->end = section_end;
        r->where = section;
    }
    return 0;
}

/* ---- the module -------------------------------------------------------------------------- */

/* The order of the known sections (custom: 0, anywhere; 13, tags, would come after memories). */
static int section_rank(u8 id)
{
    static const int rank[14] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
    return id < 14 ? rank[id] : -1;
}

static const char *const section_names[14] = {
    "a custom section", "the type section", "the import section", "the function section", "the table section",
    "the memory section", "the global section", "the export section", "the start section",
    "the element section", "the code section", "the data section", "the data count section", "the tag section"};

static int rd_module(rd *r, size_t n)
{
    static const u8 magic[4] = {0x00, 0x61, 0x73, 0x6D};
    static const u8 version1[4] = {0x01, 0x00, 0x00, 0x00};
    static const u8 component[4] = {0x0D, 0x00, 0x01, 0x00};
    const u8 *module_end = r->base + n;
    int last = 0;

    r->where = "the module header";
    if (n < 4 || memcmp(r->base, magic, 4))
        return malformed(r, r->base, n < 4 ? "unexpected end of the module header"
                                           : "not a WebAssembly module (no \\0asm magic)");
    if (n < 8)
        return malformed(r, r->base + n, "unexpected end of the module header");
    if (!memcmp(r->base + 4, component, 4))
        return unsupported(r, r->base + 4, "component model");
    if (memcmp(r->base + 4, version1, 4))
        return malformed(r, r->base + 4, "unknown binary version %02x %02x %02x %02x", r->base[4], r->base[5],
                         r->base[6], r->base[7]);
    r->p = r->base + 8;
    while (r->p < module_end) {
        const u8 *at = r->p;
        uint32_t size;
        u8 id;
        int rank, rc;
        r->end = module_end;
        r->where = "a section header";
        id = *r->p++;
        rank = section_rank(id);
        if (rank < 0)
            return malformed(r, at, "unknown section id %u", id);
        if (id == 13)
            return unsupported(r, at, "exception handling");
        TRY(rd_u32(r, &size));
        if (size > left(r))
            return malformed(r, at, "%s of %" PRIu32 " bytes, %zu left", section_names[id], size, left(r));
        if (rank) {
            if (rank <= last)
                return malformed(r, at, rank == last ? "%s appears twice" : "%s out of order", section_names[id]);
            last = rank;
        }
        r->end = r->p + size;
        r->where = section_names[id];
        switch (id) {
        case 0: rc = rd_name(r, NULL, "a custom section's name"); r->p = r->end; break;
        case 1: rc = rd_types(r); break;
        case 2: rc = rd_imports(r); break;
        case 3: rc = rd_functions(r); break;
        case 4: rc = rd_tables(r); break;
        case 5: rc = rd_memories(r); break;
        case 6: rc = rd_globals(r); break;
        case 7: rc = rd_exports(r); break;
        case 8: rc = rd_start(r); break;
        case 9: rc = rd_elements(r); break;
        case 10: rc = rd_code(r); break;
        case 11: rc = rd_data(r); break;
        default: rc = rd_datacount(r); break;
        }
        if (rc)
            return rc;
        if (r->p != r->end)
            return malformed(r, r->p, "%s ends %zu bytes before its declared size", section_names[id], left(r));
    }
    if (!r->has_code && r->n_def_funcs)
        return malformed(r, module_end, "%" PRIu32 " functions and no code section", r->n_def_funcs);
    if (r->has_datacount && r->datacount && last < section_rank(11))
        return malformed(r, module_end, "the data count section says %" PRIu32 " data segments, there is no data "
                         "section", r->datacount);
    return 0;
}

int pb__wasm_read(const uint8_t *bytes, size_t n, pb_wasm_info *info, char *err, size_t err_len)
{
    static const u8 none[1] = {0};
    rd r;
    int rc;

    memset(info, 0, sizeof *info);
    memset(&r, 0, sizeof r);
    r.base = bytes ? bytes : none;
    r.err = err;
    r.err_len = err_len;
    r.func = -1;
    r.info = info;
    if (err && err_len)
        err[0] = 0;
    rc = rd_module(&r, bytes ? n : 0);
    free(r.type_params);
    free(r.imp_slot);
    free(r.def_func_type);
    free(r.def_table);
    free(r.def_global);
    if (rc)
        pb__wasm_info_free(info);
    return rc;
}

void pb__wasm_info_free(pb_wasm_info *info)
{
    if (!info)
        return;
    for (uint32_t i = 0; info->imports && i < info->n_imports; i++) {
        free(info->imports[i].module);
        free(info->imports[i].name);
    }
    for (uint32_t i = 0; info->exports && i < info->n_exports; i++)
        free(info->exports[i].name);
    for (uint32_t i = 0; info->types && i < info->n_types; i++)
        free(info->types[i]);
    free(info->imports);
    free(info->exports);
    free(info->types);
    memset(info, 0, sizeof *info);
}

const pb_wasm_export *pb__wasm_export_find(const pb_wasm_info *info, const char *name)
{
    if (!info || !name)
        return NULL;
    for (uint32_t i = 0; i < info->n_exports; i++)
        if (!strcmp(info->exports[i].name, name))
            return &info->exports[i];
    return NULL;
}

const char *pb__wasm_kind_name(int kind)
{
    switch (kind) {
    case PB_WASM_FUNC: return "function";
    case PB_WASM_TABLE: return "table";
    case PB_WASM_MEMORY: return "memory";
    case PB_WASM_GLOBAL: return "global";
    default: return "?";
    }
}
