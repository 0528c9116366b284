/* SPDX-License-Identifier: MIT */
/* test_wasmread.c - tests of the module reader (src/wasmread.c).
 *
 * Modules come from the .wat files of tests/wasm, made by wat2wasm at build time, from tests/wasm/vector.c,
 * made by clang with and without SIMD, and from bytes written here for what no tool emits.
 * The directory of the built modules is $WASM_DIR. Every module is read from a heap block of
 * exactly its size, so that the sanitizers catch a read past its end.
 *
 * The test wraps the C allocator (alloc_wrap.h): the wrappers count the blocks the reader holds,
 * record its largest request, and fail its nth request when told to.
 *
 *     test_wasmread [CASE]    (no case: all of them)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_wrap.h"
#include "check.h"
#include "wasmread.h"

typedef unsigned char u8;

/* ---- modules ---------------------------------------------------------------------------- */

typedef struct blob {
    u8 *b;
    size_t n;
} blob;

static blob load(const char *name)
{
    const char *dir = getenv("WASM_DIR");
    char path[4096];
    blob m = {NULL, 0};
    snprintf(path, sizeof path, "%s/%s.wasm", dir ? dir : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s: %s (is WASM_DIR set?)\n", path, strerror(errno));
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    m.n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    m.b = malloc(m.n ? m.n : 1);
    if (!m.b || fread(m.b, 1, m.n, f) != m.n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    return m;
}

static int all_zero(const void *p, size_t n)
{
    const u8 *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Reads bytes[0..n) from an exact-size copy; on failure checks that info was left empty. */
static int read_copy(const u8 *bytes, size_t n, pb_wasm_info *info, char *err, size_t err_len)
{
    u8 *b = malloc(n ? n : 1);
    if (!b)
        exit(2);
    memcpy(b, bytes, n);
    int rc = pb__wasm_read(b, n, info, err, err_len);
    free(b);
    if (rc)
        CHECK(all_zero(info, sizeof *info));
    return rc;
}

/* A module written byte by byte. */
typedef struct mod {
    u8 b[1 << 16];
    size_t n;
} mod;

static void put(mod *m, const void *p, size_t n)
{
    if (m->n + n > sizeof m->b)
        abort();
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void put_leb(mod *m, uint32_t v)
{
    do {
        u8 c = v & 0x7F;
        v >>= 7;
        if (v)
            c |= 0x80;
        put(m, &c, 1);
    } while (v);
}

static void header(mod *m)
{
    m->n = 0;
    put(m, "\0asm\1\0\0\0", 8);
}

static void section(mod *m, u8 id, const u8 *content, size_t n)
{
    put(m, &id, 1);
    put_leb(m, (uint32_t)n);
    put(m, content, n);
}

#define BYTES(...) (const u8[]){__VA_ARGS__}, sizeof((const u8[]){__VA_ARGS__})
#define SEC(m, id, ...) section((m), (id), BYTES(__VA_ARGS__))

/* type 0: () -> (); one function of that type whose body (locals and code) is given; memory
 * and a data count first when asked */
static void one_func(mod *m, int memory, const u8 *body, size_t n)
{
    mod code;
    header(m);
    SEC(m, 1, 1, 0x60, 0, 0);
    SEC(m, 3, 1, 0);
    if (memory)
        SEC(m, 5, 1, 0, 1);
    if (memory > 1)
        SEC(m, 12, 1);
    code.n = 0;
    put(&code, BYTES(1));
    put_leb(&code, (uint32_t)n);
    put(&code, body, n);
    section(m, 10, code.b, code.n);
}
#define BODY(m, memory, ...) one_func((m), (memory), BYTES(__VA_ARGS__))

static const char *code_name(int rc)
{
    switch (rc) {
    case PB_WASM_OK: return "OK";
    case PB_WASM_MALFORMED: return "MALFORMED";
    case PB_WASM_UNSUPPORTED: return "UNSUPPORTED";
    case PB_WASM_NOMEM: return "NOMEM";
    default: return "?";
    }
}

/* the module m is refused with code and a message that contains part */
static void expect_at(int line, const mod *m, int code, const char *part)
{
    pb_wasm_info info;
    char err[256];
    int rc = read_copy(m->b, m->n, &info, err, sizeof err);
    checks++;
    if (rc != code || !strstr(err, part)) {
        failures++;
        fprintf(stderr, "%s:%d: got %s \"%s\", expected %s with \"%s\"\n", __FILE__, line, code_name(rc), err,
                code_name(code), part);
    }
    pb__wasm_info_free(&info);
}
#define EXPECT(m, code, part) expect_at(__LINE__, (m), (code), (part))
#define MALFORMED(m, part) EXPECT((m), PB_WASM_MALFORMED, (part))
#define REFUSED(m, feature) EXPECT((m), PB_WASM_UNSUPPORTED, "unsupported WebAssembly feature: " feature " (")

/* ---- refused features, from wat2wasm ------------------------------------------------------ */

/* Each module is refused with the feature's exact name, and the byte the message points at is
 * the one that shows the feature. */
static void refused(void)
{
    static const struct {
        const char *module, *feature;
        int byte, mask; /* bytes[offset] & mask == byte */
    } cases[] = {
        {"simd", "SIMD", 0xFD, 0xFF},
        {"simd_type", "SIMD", 0x7B, 0xFF},
        {"relaxed_simd", "SIMD", 0x7B, 0xFF},
        {"threads", "threads", 0x02, 0x02},
        {"atomics", "threads", 0xFE, 0xFF},
        {"memory64", "memory64", 0x04, 0x04},
        {"multi_memory", "multi-memory", 0x00, 0xFF}, /* the second memory's limits */
        {"tail_call", "tail calls", 0x12, 0xFF},
        {"tail_call_indirect", "tail calls", 0x13, 0xFF},
        {"exceptions", "exception handling", 0x06, 0xFF},
        {"exceptions_tag", "exception handling", 0x0D, 0xFF},
        {"extended_const", "extended-const", 0x41, 0xFF}, /* the second i32.const */
        {"gc", "GC", 0x5F, 0xFF},
        {"function_references", "typed function references", 0x14, 0xFF},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        blob m = load(cases[i].module);
        pb_wasm_info info;
        char err[256], want[128];
        size_t at = (size_t)-1;
        int rc = read_copy(m.b, m.n, &info, err, sizeof err);
        snprintf(want, sizeof want, "unsupported WebAssembly feature: %s (", cases[i].feature);
        CHECK_EQ_INT(rc, PB_WASM_UNSUPPORTED);
        CHECK(!strncmp(err, want, strlen(want)));
        const char *b = strstr(err, "at byte 0x");
        CHECK(b && sscanf(b, "at byte 0x%zx", &at) == 1);
        CHECK(at < m.n && (m.b[at] & cases[i].mask) == cases[i].byte);
        if (rc != PB_WASM_UNSUPPORTED || at >= m.n || (m.b[at] & cases[i].mask) != cases[i].byte)
            fprintf(stderr, "  %s: %s\n", cases[i].module, err);
        free(m.b);
    }
    /* in a body, the function is named by its index (imports first), as wasm-objdump does */
    blob m = load("tail_call");
    pb_wasm_info info;
    char err[256];
    read_copy(m.b, m.n, &info, err, sizeof err);
    CHECK_HAS(err, "tail calls (function 1, at byte 0x");
    free(m.b);
}

/* ---- refused features, written byte by byte ------------------------------------------------ */

static void refused_bytes(void)
{
    mod m;
    /* a v128 local */
    BODY(&m, 0, 1, 1, 0x7B, 0x0B);
    REFUSED(&m, "SIMD");
    /* v128.const in a global's initialiser */
    header(&m);
    SEC(&m, 6, 1, 0x7F, 0, 0xFD, 0x0C);
    REFUSED(&m, "SIMD");
    /* a v128 block type */
    BODY(&m, 0, 0, 0x02, 0x7B, 0x0B, 0x0B);
    REFUSED(&m, "SIMD");
    /* a memarg with the memory-index bit: i32.load align=2|0x40 memory 1 offset 0 */
    BODY(&m, 1, 0, 0x41, 0, 0x28, 0x42, 1, 0, 0x1A, 0x0B);
    REFUSED(&m, "multi-memory");
    /* memory.size of memory 1; memory.copy between memories */
    BODY(&m, 1, 0, 0x3F, 1, 0x1A, 0x0B);
    REFUSED(&m, "multi-memory");
    BODY(&m, 1, 0, 0x41, 0, 0x41, 0, 0x41, 0, 0xFC, 10, 0, 1, 0x0B);
    REFUSED(&m, "multi-memory");
    /* an imported memory and a defined one */
    header(&m);
    SEC(&m, 2, 1, 1, 'm', 1, 'm', 2, 0, 1);
    SEC(&m, 5, 1, 0, 1);
    REFUSED(&m, "multi-memory");
    /* an active data segment of memory 1 */
    header(&m);
    SEC(&m, 5, 1, 0, 1);
    SEC(&m, 11, 1, 2, 1, 0x41, 0, 0x0B, 0);
    REFUSED(&m, "multi-memory");
    /* custom page sizes: limits flag 0x08 */
    header(&m);
    SEC(&m, 5, 1, 0x08, 1, 0);
    REFUSED(&m, "custom page sizes");
    /* a table of 64-bit indices (memory64's table64) */
    header(&m);
    SEC(&m, 4, 1, 0x70, 0x04, 1);
    REFUSED(&m, "memory64");
    /* (ref null func) and (ref $0), as parameter types */
    header(&m);
    SEC(&m, 1, 1, 0x60, 1, 0x63, 0x70, 0);
    REFUSED(&m, "typed function references");
    header(&m);
    SEC(&m, 1, 1, 0x60, 1, 0x64, 0x00, 0);
    REFUSED(&m, "typed function references");
    /* ref.null of a type index; br_on_null; a table with an initialiser */
    BODY(&m, 0, 0, 0xD0, 0x00, 0x1A, 0x0B);
    REFUSED(&m, "typed function references");
    BODY(&m, 0, 0, 0x02, 0x40, 0xD5, 0, 0x0B, 0x0B);
    REFUSED(&m, "typed function references");
    header(&m);
    SEC(&m, 4, 1, 0x40, 0x00, 0x70, 0, 1, 0xD0, 0x70, 0x0B);
    REFUSED(&m, "typed function references");
    /* GC: the 0xFB prefix, a rec group, anyref */
    BODY(&m, 0, 0, 0xFB, 0x00, 0x0B);
    REFUSED(&m, "GC");
    header(&m);
    SEC(&m, 1, 1, 0x4E, 1, 0x5F, 0);
    REFUSED(&m, "GC");
    BODY(&m, 0, 1, 1, 0x6E, 0x0B);
    REFUSED(&m, "GC");
    /* exception handling: throw, try_table, a tag import, exnref */
    BODY(&m, 0, 0, 0x08, 0, 0x0B);
    REFUSED(&m, "exception handling");
    BODY(&m, 0, 0, 0x1F, 0x40, 0, 0x0B, 0x0B);
    REFUSED(&m, "exception handling");
    header(&m);
    SEC(&m, 1, 1, 0x60, 0, 0);
    SEC(&m, 2, 1, 1, 'm', 1, 't', 4, 0, 0);
    REFUSED(&m, "exception handling");
    BODY(&m, 0, 1, 1, 0x69, 0x0B);
    REFUSED(&m, "exception handling");
    /* threads: atomic.fence */
    BODY(&m, 0, 0, 0xFE, 0x03, 0x00, 0x0B);
    REFUSED(&m, "threads");
    /* extended-const: global.get then i32.mul in an element offset */
    header(&m);
    SEC(&m, 2, 1, 1, 'm', 1, 'g', 3, 0x7F, 0);
    SEC(&m, 4, 1, 0x70, 0, 1);
    SEC(&m, 9, 1, 0, 0x23, 0, 0x41, 2, 0x6C, 0x0B, 0);
    REFUSED(&m, "extended-const");
    /* a component (cargo component's output), not a core module */
    m.n = 0;
    put(&m, "\0asm\x0d\0\1\0", 8);
    REFUSED(&m, "component model");
}

/* ---- accepted modules ------------------------------------------------------------------ */

static pb_wasm_info read_ok(const char *name)
{
    blob m = load(name);
    pb_wasm_info info;
    char err[256];
    int rc = read_copy(m.b, m.n, &info, err, sizeof err);
    if (rc)
        fprintf(stderr, "%s: %s\n", name, err);
    CHECK_EQ_INT(rc, PB_WASM_OK);
    CHECK_STR(err, "");
    free(m.b);
    return info;
}

static void check_export(const pb_wasm_info *info, const char *name, int kind, uint32_t index, const char *type)
{
    const pb_wasm_export *e = pb__wasm_export_find(info, name);
    CHECK(e != NULL);
    if (!e) {
        fprintf(stderr, "  no export %s\n", name);
        return;
    }
    CHECK_STR(e->name, name);
    CHECK_EQ_INT(e->kind, kind);
    CHECK_EQ_INT(e->index, index);
    CHECK_STR(e->type, type);
}

static void check_import(const pb_wasm_import *im, const char *module, const char *name, int kind, const char *type)
{
    CHECK_STR(im->module, module);
    CHECK_STR(im->name, name);
    CHECK_EQ_INT(im->kind, kind);
    CHECK_STR(im->type, type);
}

static void accepted_mvp(void)
{
    pb_wasm_info info = read_ok("mvp");
    CHECK_EQ_INT(info.n_imports, 4);
    if (info.n_imports == 4) {
        check_import(&info.imports[0], "env", "log", PB_WASM_FUNC, "iI:i");
        check_import(&info.imports[1], "env", "table", PB_WASM_TABLE, "r");
        CHECK_EQ_INT(info.imports[1].limits.min, 2);
        CHECK_EQ_INT(info.imports[1].limits.max, 10);
        check_import(&info.imports[2], "env", "memory", PB_WASM_MEMORY, "");
        CHECK_EQ_INT(info.imports[2].limits.min, 1);
        CHECK_EQ_INT(info.imports[2].limits.has_max, 1);
        CHECK_EQ_INT(info.imports[2].limits.max, 16);
        check_import(&info.imports[3], "env", "base", PB_WASM_GLOBAL, "i");
    }
    CHECK_EQ_INT(info.n_exports, 7);
    CHECK_STR(info.exports[0].name, "add"); /* in the module's order */
    check_export(&info, "add", PB_WASM_FUNC, 2, "ii:i");
    check_export(&info, "indirect", PB_WASM_FUNC, 3, "i:i");
    check_export(&info, "memory", PB_WASM_MEMORY, 0, "");
    check_export(&info, "table", PB_WASM_TABLE, 0, "r");
    check_export(&info, "count", PB_WASM_GLOBAL, 1, "mut i");
    check_export(&info, "pi", PB_WASM_GLOBAL, 2, "F");
    check_export(&info, "log", PB_WASM_FUNC, 0, "iI:i");
    CHECK_EQ_INT(info.n_types, 4);
    CHECK_STR(info.types[0], "iI:i");
    CHECK_EQ_INT(info.n_funcs, 4);
    CHECK_EQ_INT(info.n_funcs_imported, 1);
    CHECK_EQ_INT(info.n_tables, 1);
    CHECK_EQ_INT(info.n_tables_imported, 1);
    CHECK_EQ_INT(info.n_memories, 1);
    CHECK_EQ_INT(info.memory_imported, 1);
    CHECK_EQ_INT(info.memory.min, 1);
    CHECK_EQ_INT(info.memory.max, 16);
    CHECK_EQ_INT(info.n_globals, 3);
    CHECK_EQ_INT(info.n_globals_imported, 1);
    CHECK_EQ_INT(info.has_start, 1);
    CHECK_EQ_INT(info.start, 1);
    CHECK_EQ_INT(info.n_data_active, 1);
    CHECK_EQ_INT(info.n_data_passive, 0);
    CHECK_EQ_INT(info.n_elem, 1);
    CHECK_EQ_INT(info.uses, 0);
    pb__wasm_info_free(&info);
    CHECK(all_zero(&info, sizeof info));
    pb__wasm_info_free(&info); /* idempotent */
    pb__wasm_info_free(NULL);
}

static void accepted_proposals(void)
{
    pb_wasm_info info = read_ok("mutable_globals");
    CHECK_EQ_INT(info.n_imports, 1);
    if (info.n_imports == 1)
        check_import(&info.imports[0], "env", "counter", PB_WASM_GLOBAL, "mut I");
    check_export(&info, "counter", PB_WASM_GLOBAL, 0, "mut I");
    check_export(&info, "d", PB_WASM_GLOBAL, 1, "mut f");
    pb__wasm_info_free(&info);

    info = read_ok("sign_ext");
    check_export(&info, "ext", PB_WASM_FUNC, 0, "iI:I");
    pb__wasm_info_free(&info);

    info = read_ok("sat_conv");
    check_export(&info, "conv", PB_WASM_FUNC, 0, "fF:i");
    pb__wasm_info_free(&info);

    info = read_ok("multi_value");
    check_export(&info, "swap", PB_WASM_FUNC, 0, "Ii:iI");
    check_export(&info, "none", PB_WASM_FUNC, 1, ":");
    pb__wasm_info_free(&info);

    info = read_ok("bulk_memory");
    CHECK_EQ_INT(info.uses, PB_WASM_USES_MEMORY_GROW | PB_WASM_USES_BULK_MEMORY | PB_WASM_USES_PASSIVE_DATA);
    CHECK_EQ_INT(info.n_data_active, 1);
    CHECK_EQ_INT(info.n_data_passive, 1);
    CHECK_EQ_INT(info.n_memories, 1);
    CHECK_EQ_INT(info.memory_imported, 0);
    CHECK_EQ_INT(info.memory.min, 1);
    CHECK_EQ_INT(info.memory.max, 2);
    check_export(&info, "bulk", PB_WASM_FUNC, 0, "i:");
    pb__wasm_info_free(&info);

    info = read_ok("reference_types");
    CHECK_EQ_INT(info.uses, PB_WASM_USES_TABLE_MUTATION);
    CHECK_EQ_INT(info.n_tables, 2);
    CHECK_EQ_INT(info.n_elem, 3);
    check_export(&info, "refs", PB_WASM_TABLE, 1, "x");
    check_export(&info, "g", PB_WASM_FUNC, 1, "x:i");
    pb__wasm_info_free(&info);
}

static void export_find(void)
{
    pb_wasm_info info = read_ok("mvp");
    CHECK(pb__wasm_export_find(&info, "nosuch") == NULL);
    CHECK(pb__wasm_export_find(&info, "") == NULL);
    CHECK(pb__wasm_export_find(&info, "ad") == NULL);
    CHECK(pb__wasm_export_find(NULL, "add") == NULL);
    CHECK(pb__wasm_export_find(&info, NULL) == NULL);
    CHECK(pb__wasm_export_find(&info, "pi") == &info.exports[5]);
    CHECK_STR(pb__wasm_kind_name(PB_WASM_GLOBAL), "global");
    CHECK_STR(pb__wasm_kind_name(9), "?");
    pb__wasm_info_free(&info);
}

/* a C program compiled by clang: accepted, with its WASI imports; with -msimd128, its loop
 * is vectorised and the module refused */
static void clang_module(void)
{
    pb_wasm_info info = read_ok("vector");
    const pb_wasm_import *fd_write = NULL;
    for (uint32_t i = 0; i < info.n_imports; i++) {
        CHECK_STR(info.imports[i].module, "wasi_snapshot_preview1");
        if (!strcmp(info.imports[i].name, "fd_write"))
            fd_write = &info.imports[i];
    }
    CHECK(fd_write != NULL);
    if (fd_write)
        CHECK_STR(fd_write->type, "iiii:i");
    const pb_wasm_export *start = pb__wasm_export_find(&info, "_start");
    CHECK(start && start->kind == PB_WASM_FUNC && start->index >= info.n_funcs_imported &&
          start->index < info.n_funcs);
    CHECK(start && !strcmp(start->type, ":"));
    check_export(&info, "memory", PB_WASM_MEMORY, 0, "");
    CHECK(info.uses & PB_WASM_USES_MEMORY_GROW); /* malloc's sbrk */
    pb__wasm_info_free(&info);

    blob m = load("vector-simd");
    char err[256];
    CHECK_EQ_INT(read_copy(m.b, m.n, &info, err, sizeof err), PB_WASM_UNSUPPORTED);
    CHECK_HAS(err, "unsupported WebAssembly feature: SIMD (function ");
    free(m.b);
}

/* ---- malformed modules ------------------------------------------------------------------- */

/* Offsets where a section ends, in a well-formed module. */
static int is_boundary(const blob *m, size_t at)
{
    size_t p = 8;
    if (at == 8)
        return 1;
    while (p < m->n) {
        uint32_t size = 0;
        unsigned shift = 0;
        p++;
        while (m->b[p] & 0x80) {
            size |= (uint32_t)(m->b[p++] & 0x7F) << shift;
            shift += 7;
        }
        size |= (uint32_t)m->b[p++] << shift;
        p += size;
        if (p == at)
            return 1;
    }
    return 0;
}

/* Every prefix of every accepted module is refused as malformed, but those that end where a
 * section ends, which may be whole modules; never a crash, never a read past the end. */
static void truncations(void)
{
    static const char *const names[] = {"mvp", "mutable_globals", "sign_ext", "sat_conv", "multi_value",
                                        "bulk_memory", "reference_types", "vector"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        blob m = load(names[k]);
        long bad = 0, ok = 0;
        /* every cut of the small modules; of clang's (138 KB), one in 61 and the first 4 KiB */
        size_t step = m.n > 4096 ? 61 : 1;
        for (size_t n = 0; n < m.n; n += n < 4096 ? 1 : step) {
            pb_wasm_info info;
            char err[256];
            int rc = read_copy(m.b, n, &info, err, sizeof err);
            if (rc == PB_WASM_OK)
                ok++;
            if (!(rc == PB_WASM_MALFORMED || (rc == PB_WASM_OK && is_boundary(&m, n)))) {
                if (bad++ < 3)
                    fprintf(stderr, "  %s cut at %zu: %s %s\n", names[k], n, code_name(rc), err);
            } else if (rc == PB_WASM_MALFORMED && strncmp(err, "malformed module at byte 0x", 27)) {
                bad++;
            }
            pb__wasm_info_free(&info);
        }
        CHECK_EQ_INT(bad, 0);
        CHECK(ok >= 1); /* the header alone is a module */
        free(m.b);
    }
    pb_wasm_info info;
    char err[128];
    CHECK_EQ_INT(pb__wasm_read(NULL, 0, &info, err, sizeof err), PB_WASM_MALFORMED);
    CHECK_STR(err, "malformed module at byte 0x0: unexpected end of the module header");
}

/* A count or size far larger than the module is refused before anything is allocated for it. */
static void huge_counts(void)
{
    mod m;
    header(&m);
    SEC(&m, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x60, 0, 0);
    alloc_arm(-1);
    MALFORMED(&m, "4294967295 types declared in 3 bytes");
    CHECK(alloc_largest <= m.n); /* the copy read_copy made */
    header(&m);
    SEC(&m, 2, 0xFF, 0xFF, 0xFF, 0x7F, 1, 'm');
    alloc_arm(-1);
    MALFORMED(&m, "imports declared in");
    CHECK(alloc_largest <= m.n);
    header(&m);
    SEC(&m, 7, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 'x');
    alloc_arm(-1);
    MALFORMED(&m, "an export's name of 4294967295 bytes");
    CHECK(alloc_largest <= 64);
    /* a type of 2^28 parameters */
    header(&m);
    SEC(&m, 1, 1, 0x60, 0x80, 0x80, 0x80, 0x80, 0x01, 0x7F, 0);
    MALFORMED(&m, "268435456 parameters declared in 2 bytes");
    /* a section larger than the module, a function body larger than its section */
    header(&m);
    SEC(&m, 1, 0);
    m.b[9] = 0x20;
    MALFORMED(&m, "the type section of 32 bytes, 1 left");
    BODY(&m, 0, 0, 0x0B);
    m.b[m.n - 3] = 9;
    MALFORMED(&m, "function 0's body of 9 bytes, 2 left");
    /* a data segment larger than its section */
    header(&m);
    SEC(&m, 11, 1, 1, 0xFF, 0xFF, 0x03, 'a');
    MALFORMED(&m, "data segment of 65535 bytes, 1 left");
    /* 2^32-1 locals in a body of 7 bytes */
    BODY(&m, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x0B);
    MALFORMED(&m, "function 0 has more than 50000 locals");
    BODY(&m, 0, 2, 0xD0, 0x86, 0x03, 0x7F, 0x01, 0x7E, 0x0B); /* 50000 + 1 */
    MALFORMED(&m, "more than 50000 locals");
    BODY(&m, 0, 1, 0xD0, 0x86, 0x03, 0x7F, 0x0B); /* 50000 exactly */
    EXPECT(&m, PB_WASM_OK, "");
    /* a br_table of 2^32-1 labels */
    BODY(&m, 0, 0, 0x41, 0, 0x0E, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0x0B);
    MALFORMED(&m, "4294967295 labels declared in");
}

static void bad_leb(void)
{
    mod m;
    /* a u32 of 6 bytes, and one whose fifth byte holds more than 4 bits */
    header(&m);
    SEC(&m, 1, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00);
    MALFORMED(&m, "integer representation too long");
    header(&m);
    SEC(&m, 1, 0x80, 0x80, 0x80, 0x80, 0x10);
    MALFORMED(&m, "integer too large");
    /* the section size itself */
    m.n = 0;
    put(&m, "\0asm\1\0\0\0\1\x80\x80\x80\x80\x80\x00", 15);
    MALFORMED(&m, "at byte 0x9: integer representation too long");
    /* i32.const: the sign bits of the fifth byte must agree; the extremes are fine */
    BODY(&m, 0, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x1A, 0x0B);
    MALFORMED(&m, "integer too large");
    BODY(&m, 0, 0, 0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x1A, 0x0B);
    MALFORMED(&m, "integer too large");
    BODY(&m, 0, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x78, 0x1A, 0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x1A, 0x0B);
    EXPECT(&m, PB_WASM_OK, "");
    BODY(&m, 0, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1A, 0x0B);
    MALFORMED(&m, "integer representation too long");
    /* i64.const: ten bytes at most, the tenth holding the sign */
    BODY(&m, 0, 0, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F, 0x1A, 0x0B);
    EXPECT(&m, PB_WASM_OK, "");
    BODY(&m, 0, 0, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0x1A, 0x0B);
    MALFORMED(&m, "integer too large");
    BODY(&m, 0, 0, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1A, 0x0B);
    MALFORMED(&m, "integer representation too long");
    /* a block type as an s33: type index 0 in two bytes is fine, a negative index is not */
    BODY(&m, 0, 0, 0x02, 0x80, 0x00, 0x0B, 0x0B);
    EXPECT(&m, PB_WASM_OK, "");
    BODY(&m, 0, 0, 0x02, 0xFF, 0x7F, 0x0B, 0x0B);
    MALFORMED(&m, "invalid block type");
    BODY(&m, 0, 0, 0x02, 0x80, 0x80, 0x80, 0x80, 0x20, 0x0B, 0x0B);
    MALFORMED(&m, "integer too large");
    BODY(&m, 0, 0, 0x02, 0x01, 0x0B, 0x0B);
    MALFORMED(&m, "unknown type 1 (there are 1)");
}

static void bad_names(void)
{
    static const struct {
        u8 name[4];
        u8 len;
    } bad[] = {
        {{0xC0, 0x80}, 2},             /* overlong NUL */
        {{0xED, 0xA0, 0x80}, 3},       /* a surrogate */
        {{0xF4, 0x90, 0x80, 0x80}, 4}, /* above U+10FFFF */
        {{'a', 0xE2, 0x82}, 3},        /* cut */
        {{0x80}, 1},                   /* a continuation byte */
    };
    mod m;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mod sec = {.n = 0};
        put(&sec, BYTES(1, 1, 'm'));
        put(&sec, &bad[i].len, 1);
        put(&sec, bad[i].name, bad[i].len);
        put(&sec, BYTES(2, 0, 1));
        header(&m);
        section(&m, 2, sec.b, sec.n);
        MALFORMED(&m, "an import's name is not valid UTF-8");
    }
    /* valid: two-, three- and four-byte characters */
    header(&m);
    SEC(&m, 2, 1, 3, 'e', 0xC3, 0xA9, 7, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 2, 0, 1);
    EXPECT(&m, PB_WASM_OK, "");
    /* NUL, valid UTF-8 but not in a C string */
    header(&m);
    SEC(&m, 7, 1, 3, 'a', 0, 'b', 0, 0);
    MALFORMED(&m, "an export's name holds a NUL byte");
    /* a custom section's name is checked too, and may hold NUL */
    header(&m);
    SEC(&m, 0, 2, 0xFF, 'x', 'y');
    MALFORMED(&m, "a custom section's name is not valid UTF-8");
    header(&m);
    SEC(&m, 0, 2, 'a', 0, 'y');
    EXPECT(&m, PB_WASM_OK, "");
}

static void bad_structure(void)
{
    mod m;
    /* magic and version */
    m.n = 0;
    put(&m, "\0asn\1\0\0\0", 8);
    MALFORMED(&m, "at byte 0x0: not a WebAssembly module");
    m.n = 0;
    put(&m, "\0asm\2\0\0\0", 8);
    MALFORMED(&m, "at byte 0x4: unknown binary version 02 00 00 00");
    /* an unknown section id */
    header(&m);
    SEC(&m, 14, 0);
    MALFORMED(&m, "at byte 0x8: unknown section id 14");
    /* out of order, twice, data count after code; custom sections anywhere */
    header(&m);
    SEC(&m, 3, 0);
    SEC(&m, 1, 0);
    MALFORMED(&m, "at byte 0xb: the type section out of order");
    header(&m);
    SEC(&m, 1, 0);
    SEC(&m, 1, 0);
    MALFORMED(&m, "the type section appears twice");
    header(&m);
    SEC(&m, 10, 0);
    SEC(&m, 12, 0);
    MALFORMED(&m, "the data count section out of order");
    header(&m);
    SEC(&m, 0, 1, 'a');
    SEC(&m, 1, 0);
    SEC(&m, 0, 1, 'b', 0xFF, 0xFF);
    SEC(&m, 12, 0);
    SEC(&m, 10, 0);
    SEC(&m, 11, 0);
    SEC(&m, 0, 0);
    EXPECT(&m, PB_WASM_OK, "");
    /* a section with bytes left over */
    header(&m);
    SEC(&m, 1, 0, 0);
    MALFORMED(&m, "the type section ends 1 bytes before its declared size");
    /* functions without bodies, bodies without functions, data count against data */
    header(&m);
    SEC(&m, 1, 1, 0x60, 0, 0);
    SEC(&m, 3, 1, 0);
    MALFORMED(&m, "1 functions and no code section");
    header(&m);
    SEC(&m, 1, 1, 0x60, 0, 0);
    SEC(&m, 3, 1, 0);
    SEC(&m, 10, 2, 2, 0, 0x0B, 2, 0, 0x0B);
    MALFORMED(&m, "2 function bodies for 1 functions");
    header(&m);
    SEC(&m, 12, 2);
    SEC(&m, 11, 1, 1, 0);
    MALFORMED(&m, "1 data segments, the data count section says 2");
    header(&m);
    SEC(&m, 12, 1);
    MALFORMED(&m, "there is no data section");
    /* bodies: bytes after the final end, no final end, unknown opcodes */
    BODY(&m, 0, 0, 0x0B, 0x01);
    MALFORMED(&m, "1 bytes after the final end of function 0");
    BODY(&m, 0, 0, 0x02, 0x40, 0x0B);
    MALFORMED(&m, "function 0's body lacks its final end");
    BODY(&m, 0, 0, 0x01);
    MALFORMED(&m, "lacks its final end");
    BODY(&m, 0, 0, 0xFF, 0x0B);
    MALFORMED(&m, "unknown opcode 0xff");
    BODY(&m, 0, 0, 0x27, 0x0B);
    MALFORMED(&m, "unknown opcode 0x27");
    BODY(&m, 0, 0, 0xFC, 18, 0x0B);
    MALFORMED(&m, "unknown opcode 0xfc 18");
    BODY(&m, 0, 0, 0x41, 0, 0x1C, 2, 0x7F, 0x7F, 0x0B);
    MALFORMED(&m, "select with 2 types");
    /* limits */
    header(&m);
    SEC(&m, 5, 1, 0, 0x81, 0x80, 0x04);
    MALFORMED(&m, "memory size must be at most 65536 pages");
    header(&m);
    SEC(&m, 5, 1, 1, 2, 1);
    MALFORMED(&m, "size minimum must not be greater than maximum");
    /* constant expressions */
    header(&m);
    SEC(&m, 6, 1, 0x7F, 0, 0x0B);
    MALFORMED(&m, "empty constant expression");
    header(&m);
    SEC(&m, 6, 1, 0x7F, 0, 0x41, 0, 0x1A, 0x0B);
    MALFORMED(&m, "constant expression does not end after its value");
}

static void bad_indices(void)
{
    mod m;
    BODY(&m, 0, 0, 0x10, 1, 0x0B);
    MALFORMED(&m, "unknown function 1 (there are 1)");
    BODY(&m, 0, 0, 0x0C, 1, 0x0B);
    MALFORMED(&m, "unknown label 1 (there are 1)");
    BODY(&m, 0, 0, 0x02, 0x40, 0x0C, 1, 0x0B, 0x0B);
    EXPECT(&m, PB_WASM_OK, "");
    BODY(&m, 0, 1, 2, 0x7F, 0x20, 2, 0x1A, 0x0B);
    MALFORMED(&m, "unknown local 2 (there are 2)");
    BODY(&m, 0, 0, 0x23, 0, 0x1A, 0x0B);
    MALFORMED(&m, "unknown global 0 (there are 0)");
    BODY(&m, 0, 0, 0x41, 0, 0x11, 0, 0, 0x0B);
    MALFORMED(&m, "unknown table 0 (there are 0)");
    BODY(&m, 0, 0, 0x41, 0, 0x28, 2, 0, 0x1A, 0x0B);
    MALFORMED(&m, "memory instruction with no memory");
    BODY(&m, 1, 0, 0x41, 0, 0x28, 2, 0, 0x1A, 0x0B);
    EXPECT(&m, PB_WASM_OK, "");
    BODY(&m, 1, 0, 0xFC, 9, 0, 0x0B);
    MALFORMED(&m, "data segment instruction with no data count section");
    BODY(&m, 2, 0, 0xFC, 9, 1, 0x0B);
    MALFORMED(&m, "unknown data segment 1 (there are 1)");
    header(&m);
    SEC(&m, 1, 1, 0x60, 0, 0);
    SEC(&m, 2, 1, 1, 'm', 1, 'f', 0, 1);
    MALFORMED(&m, "unknown type 1 (there are 1)");
    header(&m);
    SEC(&m, 7, 1, 1, 'f', 0, 0);
    MALFORMED(&m, "unknown function 0 (there are 0)");
    header(&m);
    SEC(&m, 7, 1, 1, 'm', 2, 0);
    MALFORMED(&m, "unknown memory 0 (there are 0)");
    header(&m);
    SEC(&m, 8, 0);
    MALFORMED(&m, "unknown function 0 (there are 0)");
    header(&m);
    SEC(&m, 9, 1, 0, 0x41, 0, 0x0B, 0);
    MALFORMED(&m, "unknown table 0 (there are 0)");
}

static void duplicate_export(void)
{
    mod m;
    header(&m);
    SEC(&m, 1, 1, 0x60, 0, 0);
    SEC(&m, 3, 1, 0);
    SEC(&m, 7, 3, 1, 'f', 0, 0, 1, 'g', 0, 0, 1, 'f', 0, 0);
    SEC(&m, 10, 1, 2, 0, 0x0B);
    MALFORMED(&m, "duplicate export name \"f\" (export 2)");
    header(&m);
    SEC(&m, 1, 1, 0x60, 0, 0);
    SEC(&m, 3, 1, 0);
    SEC(&m, 7, 2, 2, 0xC3, 0xA9, 0, 0, 2, 0xC3, 0xA9, 0, 0);
    SEC(&m, 10, 1, 2, 0, 0x0B);
    MALFORMED(&m, "duplicate export name \"\\xc3\\xa9\"");
    /* distinct names that share a prefix are not duplicates */
    header(&m);
    SEC(&m, 1, 1, 0x60, 0, 0);
    SEC(&m, 3, 1, 0);
    SEC(&m, 7, 3, 1, 'f', 0, 0, 2, 'f', 'f', 0, 0, 0, 0, 0);
    SEC(&m, 10, 1, 2, 0, 0x0B);
    EXPECT(&m, PB_WASM_OK, "");
}

/* The message buffer: always terminated, cut safely, optional. */
static void err_buffer(void)
{
    blob m = load("simd");
    pb_wasm_info info;
    char full[256], small[12];
    CHECK_EQ_INT(read_copy(m.b, m.n, &info, full, sizeof full), PB_WASM_UNSUPPORTED);
    memset(small, 'z', sizeof small);
    CHECK_EQ_INT(read_copy(m.b, m.n, &info, small, 10), PB_WASM_UNSUPPORTED);
    CHECK_EQ_INT(strlen(small), 9);
    CHECK(!strncmp(small, full, 9));
    CHECK(small[10] == 'z'); /* nothing written past err_len */
    small[0] = 'z';
    CHECK_EQ_INT(read_copy(m.b, m.n, &info, small, 1), PB_WASM_UNSUPPORTED);
    CHECK(small[0] == 0);
    small[0] = 'z';
    CHECK_EQ_INT(read_copy(m.b, m.n, &info, small, 0), PB_WASM_UNSUPPORTED);
    CHECK(small[0] == 'z');
    CHECK_EQ_INT(read_copy(m.b, m.n, &info, NULL, 100), PB_WASM_UNSUPPORTED);
    free(m.b);
    /* on success the message is empty */
    m = load("mvp");
    strcpy(full, "stale");
    CHECK_EQ_INT(read_copy(m.b, m.n, &info, full, sizeof full), PB_WASM_OK);
    CHECK_STR(full, "");
    pb__wasm_info_free(&info);
    free(m.b);
}

/* Every allocation of the reader fails in turn: each failure is PB_WASM_NOMEM with its message,
 * and leaves nothing allocated. */
static void alloc_failure(void)
{
    static const char *const names[] = {"mvp", "mutable_globals", "multi_value", "bulk_memory", "reference_types",
                                        "vector", "simd"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        blob m = load(names[k]);
        pb_wasm_info info;
        char err[256];
        int want;
        long live = alloc_live, allocations;
        alloc_arm(-1);
        want = pb__wasm_read(m.b, m.n, &info, err, sizeof err);
        allocations = alloc_calls;
        pb__wasm_info_free(&info);
        CHECK_EQ_INT(alloc_live, live);
        CHECK(allocations > 0);
        for (long n = 0; n < allocations; n++) {
            alloc_arm(n);
            int rc = pb__wasm_read(m.b, m.n, &info, err, sizeof err);
            alloc_arm(-1);
            CHECK_EQ_INT(rc, PB_WASM_NOMEM);
            CHECK(!strncmp(err, "out of memory (", 15));
            CHECK(all_zero(&info, sizeof info));
            CHECK_EQ_INT(alloc_live, live);
            if (rc != PB_WASM_NOMEM || alloc_live != live)
                fprintf(stderr, "  %s, allocation %ld failed: %s %s, %ld blocks leaked\n", names[k], n, code_name(rc),
                        err, alloc_live - live);
            pb__wasm_info_free(&info);
        }
        /* past the last allocation, the read is what it was */
        alloc_arm(allocations);
        CHECK_EQ_INT(pb__wasm_read(m.b, m.n, &info, err, sizeof err), want);
        alloc_arm(-1);
        pb__wasm_info_free(&info);
        CHECK_EQ_INT(alloc_live, live);
        free(m.b);
    }
}

/* Deep nesting and many exports: read without recursion, in time linear in the size. */
static void large_inputs(void)
{
    enum { DEPTH = 1000000, EXPORTS = 100000 };
    size_t cap = (size_t)DEPTH * 4 + (size_t)EXPORTS * 16 + 1024, n = 0;
    u8 *b = malloc(cap);
    pb_wasm_info info;
    char err[256];
    if (!b)
        exit(2);
#define P(x) (b[n++] = (u8)(x))
#define LEB(v)                                     \
    do {                                           \
        uint32_t v_ = (v);                         \
        do {                                       \
            P((v_ & 0x7F) | (v_ >= 0x80 ? 0x80 : 0)); \
            v_ >>= 7;                              \
        } while (v_);                              \
    } while (0)
    memcpy(b, "\0asm\1\0\0\0", 8);
    n = 8;
    P(1), P(4), P(1), P(0x60), P(0), P(0);
    P(3), P(2), P(1), P(0);
    /* exports "e0".."e99999", all of function 0 */
    size_t start = n;
    P(7), n += 5;
    size_t content = n;
    LEB(EXPORTS);
    for (int i = 0; i < EXPORTS; i++) {
        char name[16];
        int len = snprintf(name, sizeof name, "e%d", i);
        P(len);
        memcpy(b + n, name, (size_t)len);
        n += (size_t)len;
        P(0), P(0);
    }
    size_t size = n - content;
    for (int i = 0; i < 5; i++) /* the size, in 5 bytes */
        b[start + 1 + i] = (u8)(((size >> (7 * i)) & 0x7F) | (i < 4 ? 0x80 : 0));
    /* a body of DEPTH nested blocks */
    size_t body = (size_t)DEPTH * 3 + 2;
    P(10);
    LEB((uint32_t)(body + 2 + (body >= 128) + (body >= 16384) + (body >= 2097152)));
    P(1);
    LEB((uint32_t)body);
    P(0);
    for (int i = 0; i < DEPTH; i++)
        P(0x02), P(0x40);
    for (int i = 0; i < DEPTH; i++)
        P(0x0B);
    P(0x0B);
    double t0 = now_ms();
    int rc = pb__wasm_read(b, n, &info, err, sizeof err);
    double ms = now_ms() - t0;
    if (rc)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(rc, PB_WASM_OK);
    CHECK_EQ_INT(info.n_exports, EXPORTS);
    check_export(&info, "e99999", PB_WASM_FUNC, 0, ":");
    /* no bound on the time here (the machine may be busy): a reader that went quadratic
     * would take hours on this and meet the test's timeout */
    printf("%zu bytes, %d nested blocks, %d exports: %.0f ms\n", n, DEPTH, EXPORTS, ms);
    pb__wasm_info_free(&info);
    free(b);
#undef P
#undef LEB
}

static const test_case cases[] = {
    {"refused", refused},
    {"refused_bytes", refused_bytes},
    {"accepted_mvp", accepted_mvp},
    {"accepted_proposals", accepted_proposals},
    {"export_find", export_find},
    {"clang_module", clang_module},
    {"truncations", truncations},
    {"huge_counts", huge_counts},
    {"bad_leb", bad_leb},
    {"bad_names", bad_names},
    {"bad_structure", bad_structure},
    {"bad_indices", bad_indices},
    {"duplicate_export", duplicate_export},
    {"err_buffer", err_buffer},
    {"alloc_failure", alloc_failure},
    {"large_inputs", large_inputs},
};

int main(int argc, char **argv)
{
    return run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
