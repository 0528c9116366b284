/* SPDX-License-Identifier: MIT */
/* wasmread.h - reads a WebAssembly module's binary: the first step of compiling a plugin.
 *
 * Internal to plugbox. Debian's wasm2c (wabt 1.0.32) crashes on SIMD and refuses tail calls,
 * threads, memory64 and extended constant expressions with messages about its own internals,
 * so a module is read here first: its structure is checked (every section, every function
 * body decoded to its last immediate), a feature wasm2c cannot compile is refused by its name,
 * and what the host needs to link and run the module is described: imports, exports with their
 * types, the memory, tables, globals, the start function, data segments, and which of the
 * features wasm2c does compile the runtime has to care about (memory.grow, bulk memory,
 * passive data, table mutation).
 *
 *     pb_wasm_info info;
 *     char err[256];
 *     int rc = pb__wasm_read(bytes, n, &info, err, sizeof err);
 *     if (rc != 0) {
 *         fprintf(stderr, "plugin.wasm: %s\n", err);  // "unsupported WebAssembly feature: SIMD ..."
 *         return rc;
 *     }
 *     const pb_wasm_export *run = pb__wasm_export_find(&info, "run");
 *     if (run && run->kind == PB_WASM_FUNC && !strcmp(run->type, ":i"))
 *         ...
 *     pb__wasm_info_free(&info);
 *
 * What is checked is what the binary format says (magic, version 1, the sections' ids, order
 * and sizes, LEB128 encodings, UTF-8 names, every opcode and its immediates, block nesting)
 * and what is cheap to know from it: indices of types, functions, tables, memories, globals,
 * element and data segments, labels and locals in range; as many function bodies as
 * functions; export names unique. Types of instructions are not checked: wasm2c validates the
 * module fully after this, and no input this accepts makes wasm2c crash or run out of bounds
 * on a feature it lacks. Reading is linear in the module's size (sorting the export names,
 * n log n, aside), never recursive, and allocates O(n): every count is checked against the
 * bytes that remain before anything is allocated for it.
 *
 * Ownership: everything pb__wasm_read puts in *info is owned by it, until pb__wasm_info_free.
 * The `type` strings of imports and exports are borrowed from info (several may share one).
 * Memory comes from calloc and goes back with free; when an allocation fails the read stops with
 * PB_WASM_NOMEM (never an abort) and everything it took is freed.
 *
 * Thread-safety: reentrant; no global state. Distinct calls may run on any threads at once.
 *
 * Errors: the return value (PB_WASM_*) says which kind; err receives one line of ASCII, always
 * NUL-terminated, cut to err_len bytes (err may be NULL or err_len 0: no message):
 *     malformed module at byte 0x1a2b: <what>
 *     unsupported WebAssembly feature: SIMD (function 12, at byte 0x1a2b)
 *     unsupported WebAssembly feature: threads (at byte 0x1a)
 *     out of memory (<what>)
 * Byte offsets are from the start of the module; "function N" is N in the module's function
 * index space (imported functions first), as wasm-objdump's func[N]. The names of refused
 * features are exactly: "SIMD" (relaxed SIMD included), "threads", "memory64",
 * "multi-memory", "tail calls", "exception handling", "extended-const", "GC",
 * "typed function references", "custom page sizes", "component model".
 */
#ifndef PLUGBOX_WASMREAD_H
#define PLUGBOX_WASMREAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PB_WASM_OK          0
#define PB_WASM_MALFORMED   1 /* not a valid module binary */
#define PB_WASM_UNSUPPORTED 2 /* valid under a proposal that wasm2c (wabt 1.0.32) cannot compile */
#define PB_WASM_NOMEM       3 /* an allocation failed; nothing is kept, nothing leaks */

/* The kinds of imports and exports, as the binary format numbers them. */
#define PB_WASM_FUNC   0
#define PB_WASM_TABLE  1
#define PB_WASM_MEMORY 2
#define PB_WASM_GLOBAL 3

/* Web engines' limit on a function's locals (parameters included); a module over it is
 * malformed here, so that wasm2c is never asked to declare billions of variables. */
#define PB_WASM_MAX_LOCALS 50000

/* Features that wasm2c compiles and the runtime may have to care about (pb_wasm_info.uses). */
#define PB_WASM_USES_MEMORY_GROW    0x01u /* memory.grow appears in a function body */
#define PB_WASM_USES_BULK_MEMORY    0x02u /* memory.copy, memory.fill, memory.init or data.drop */
#define PB_WASM_USES_PASSIVE_DATA   0x04u /* a passive data segment, memory.init or data.drop */
#define PB_WASM_USES_TABLE_MUTATION 0x08u /* table.set/grow/fill/copy/init or elem.drop */

/* Value types are written one character each: i i32, I i64, f f32, F f64, r funcref,
 * x externref. The type of a function is "PARAMS:RESULTS" ("ii:i", ":"), of a global its
 * value type, "mut " first when mutable ("i", "mut I"), of a table its element type ("r",
 * "x"), of a memory "" (its limits are in the import, or in pb_wasm_info). */

typedef struct pb_wasm_limits {
    uint32_t min;     /* pages of 64 KiB for a memory, elements for a table */
    uint32_t max;     /* valid when has_max */
    int has_max;
} pb_wasm_limits;

typedef struct pb_wasm_import {
    char *module;       /* UTF-8, NUL-terminated (a name holding a NUL byte is refused) */
    char *name;
    int kind;           /* PB_WASM_FUNC, _TABLE, _MEMORY or _GLOBAL */
    const char *type;   /* borrowed (see above) */
    pb_wasm_limits limits; /* tables and memories */
} pb_wasm_import;

typedef struct pb_wasm_export {
    char *name;
    int kind;
    uint32_t index;     /* in the index space of its kind, imports first */
    const char *type;   /* borrowed */
} pb_wasm_export;

typedef struct pb_wasm_info {
    pb_wasm_import *imports;    /* in the module's order */
    uint32_t n_imports;
    pb_wasm_export *exports;    /* in the module's order */
    uint32_t n_exports;
    char **types;               /* the type section's function types, by type index */
    uint32_t n_types;
    uint32_t n_funcs;           /* imported and defined */
    uint32_t n_funcs_imported;
    uint32_t n_tables;          /* imported and defined */
    uint32_t n_tables_imported;
    uint32_t n_memories;        /* 0 or 1 */
    int memory_imported;
    pb_wasm_limits memory;      /* when n_memories is 1 */
    uint32_t n_globals;         /* imported and defined */
    uint32_t n_globals_imported;
    int has_start;
    uint32_t start;             /* function index, when has_start */
    uint32_t n_data_active;
    uint32_t n_data_passive;
    uint32_t n_elem;            /* element segments, all modes */
    unsigned uses;              /* PB_WASM_USES_* */
} pb_wasm_info;

/* Reads the module bytes[0..n) into *info. Returns PB_WASM_OK, or another PB_WASM_* code with
 * *info left empty (all zero: freeing it is harmless) and err set as described above.
 * bytes may be NULL when n is 0; nothing is read outside bytes[0..n), nothing is kept from it. */
int pb__wasm_read(const uint8_t *bytes, size_t n, pb_wasm_info *info, char *err, size_t err_len);

/* Frees what *info owns and zeroes it. NULL-safe and idempotent. */
void pb__wasm_info_free(pb_wasm_info *info);

/* The export named name (NUL-terminated), or NULL. Linear in the number of exports. */
const pb_wasm_export *pb__wasm_export_find(const pb_wasm_info *info, const char *name);

/* "function", "table", "memory", "global"; "?" for anything else. */
const char *pb__wasm_kind_name(int kind);

#ifdef __cplusplus
}
#endif

#endif /* PLUGBOX_WASMREAD_H */
