/* SPDX-License-Identifier: MIT */
/* module.h - a module compiled by wasm2c, as the runtime knows it.
 *
 * The runtime makes, snapshots, restores and frees instances of any module through this
 * description alone: the size of its instance, where its one linear memory lies in it, which
 * of its bytes belong to the live instance rather than to its state, and its entry points.
 * The JavaScript engine provides one (src/engine_module.c); so will every compiled plugin.
 *
 * An instance is wasm2c's instance struct, instance_size bytes. Its state - the globals and
 * whatever else wasm2c keeps there - is what a snapshot copies; the `live` ranges are not
 * state: the pointers to the import context, the memory's and the tables' descriptors, which
 * stay the instance's own when a snapshot is loaded into it (the memory's bytes are restored
 * separately, page by page).
 */
#ifndef PLUGBOX_RT_MODULE_H
#define PLUGBOX_RT_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "wasm-rt.h"

/* Bumped whenever this description or the runtime's entry points change shape. */
#define PB_RT_ABI 2

typedef struct pb_rt_range {
    uint32_t offset, size;
} pb_rt_range;

/* An exported function. type: the value types of its parameters, a colon, those of its
 * results, one character each (i i32, I i64, f f32, F f64, r funcref, x externref): "ii:i".
 * fn takes the instance first, then the parameters; cast it to its type before calling. */
typedef struct pb_rt_export {
    const char *name;
    const char *type;
    void (*fn)(void);
} pb_rt_export;

/* An imported function: module, name and type (as an export's). */
typedef struct pb_rt_import {
    const char *module, *name, *type;
} pb_rt_import;

/* What the imports of a compiled plugin reach (its instantiate's `imports`): for import i, the
 * host function fns[i], called with hosts[i] first, then the import's parameters. */
typedef struct pb_rt_imports {
    void **hosts;
    void (**fns)(void);
} pb_rt_imports;

typedef struct pb_rt_module {
    uint32_t abi;                    /* PB_RT_ABI */
    const char *name;
    size_t instance_size;
    size_t memory_offset;            /* of the wasm_rt_memory_t in the instance */
    const pb_rt_range *live;         /* sorted by offset, disjoint */
    size_t n_live;
    /* Once per process, before the first instance (registers function types). */
    void (*init_module)(void);
    /* Instantiates into zeroed instance_size bytes; every import module's context is
     * `imports` (one pointer that the module's imports reach their host through). Runs no
     * guest code; a memory or table it cannot allocate traps (pb_rt_instantiate). */
    void (*instantiate)(void *instance, void *imports);
    /* Frees what instantiate allocated, also after it failed halfway. */
    void (*free)(void *instance);
    const pb_rt_export *exports;
    size_t n_exports;
    const pb_rt_import *imports;     /* a compiled plugin's, resolved by the loader; the engine's are linked */
    size_t n_imports;
    /* A compiled plugin's start function (a no-op without one), which instantiate leaves for
     * the host to call under a guard; NULL for the engine. */
    void (*start)(void *instance);
    /* The module's stack pointer (LLVM's __stack_pointer, its first global, a u32 in the
     * instance), when it has one: a fault once it has gone below 0 is its own stack running
     * out in its memory, reported as such. */
    int has_stack_pointer;
    size_t stack_pointer_offset;
} pb_rt_module;

/* The runtime's entry points a compiled plugin calls: a plugin is loaded at run time and cannot
 * link against the library, which exports its API and nothing else. */
typedef struct pb_rt_host {
    uint32_t abi; /* PB_RT_ABI */
    void (*trap)(wasm_rt_trap_t code);
    void (*check_failed)(void);
    void (*allocate_memory)(wasm_rt_memory_t *m, uint32_t initial, uint32_t max);
    uint32_t (*grow_memory)(wasm_rt_memory_t *m, uint32_t delta);
    void (*free_memory)(wasm_rt_memory_t *m);
    void (*allocate_funcref_table)(wasm_rt_funcref_table_t *t, uint32_t n, uint32_t max);
    void (*free_funcref_table)(wasm_rt_funcref_table_t *t);
    uint32_t (*grow_funcref_table)(wasm_rt_funcref_table_t *t, uint32_t delta, wasm_rt_funcref_t init);
    void (*allocate_externref_table)(wasm_rt_externref_table_t *t, uint32_t n, uint32_t max);
    void (*free_externref_table)(wasm_rt_externref_table_t *t);
    uint32_t (*grow_externref_table)(wasm_rt_externref_table_t *t, uint32_t delta, wasm_rt_externref_t init);
    uint32_t (*register_func_type)(uint32_t params, uint32_t results, const wasm_rt_type_t *types);
} pb_rt_host;

/* The one symbol a compiled plugin exports: its description, given the runtime's entry
 * points, or NULL when its ABI is not the caller's. */
#define PB_RT_ENTRY "plugbox_module_v1"
typedef const pb_rt_module *(*pb_rt_entry_fn)(const pb_rt_host *rt);

/* The runtime's entry points, for the loader to give a plugin. */
extern const pb_rt_host pb_rt_host_entries;

/* The export called name, or NULL. */
const pb_rt_export *pb_rt_module_export(const pb_rt_module *m, const char *name);

#endif
