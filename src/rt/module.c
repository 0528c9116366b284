/* SPDX-License-Identifier: MIT */
/* module.c - looking into a module's description (module.h). */
#include <string.h>

#include "module.h"
#include "rt.h"
#include "rt_check.h"

const pb_rt_export *pb_rt_module_export(const pb_rt_module *m, const char *name)
{
    for (size_t i = 0; i < m->n_exports; i++)
        if (!strcmp(m->exports[i].name, name))
            return &m->exports[i];
    return NULL;
}

const pb_rt_host pb_rt_host_entries = {
    .abi = PB_RT_ABI,
    .trap = wasm_rt_trap,
    .check_failed = pb_rt_check_failed,
    .allocate_memory = wasm_rt_allocate_memory,
    .grow_memory = wasm_rt_grow_memory,
    .free_memory = wasm_rt_free_memory,
    .allocate_funcref_table = wasm_rt_allocate_funcref_table,
    .free_funcref_table = wasm_rt_free_funcref_table,
    .grow_funcref_table = wasm_rt_grow_funcref_table,
    .allocate_externref_table = wasm_rt_allocate_externref_table,
    .free_externref_table = wasm_rt_free_externref_table,
    .grow_externref_table = wasm_rt_grow_externref_table,
    .register_func_type = pb_rt_register_func_type,
};
