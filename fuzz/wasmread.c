/* SPDX-License-Identifier: MIT */
/* wasmread.c - fuzz target: the WebAssembly module reader (src/wasmread.c) on arbitrary bytes.
 *
 * Every input is read twice. The first read must not crash, read out of bounds or leak (ASan,
 * UBSan), and what it says must hold together: the status is one of the four, the message is
 * one line of printable ASCII in one of the documented shapes, an error leaves the description
 * empty, and a description has its strings, kinds, indices and types in range, export names
 * that are unique and found by pb__wasm_export_find. The second read fails one allocation of
 * those the first made (chosen by the input's length): it must say PB_WASM_NOMEM and leave
 * nothing allocated. The allocator is wrapped for that (tests/alloc_wrap.h).
 * Seeds: the test modules the build makes from the .wat files of tests/wasm (tests/meson.build). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_wrap.h"
#include "wasmread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why, const char *err)
{
    fprintf(stderr, "wasmread fuzz: %s (message: \"%s\")\n", why, err);
    abort();
}

static int valid_value_types(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr("iIfFrx", s[i]))
            return 0;
    return 1;
}

static int valid_type(int kind, const char *t)
{
    if (!t)
        return 0;
    switch (kind) {
    case PB_WASM_FUNC: {
        const char *colon = strchr(t, ':');
        return colon && !strchr(colon + 1, ':') && valid_value_types(t, (size_t)(colon - t)) &&
               valid_value_types(colon + 1, strlen(colon + 1));
    }
    case PB_WASM_TABLE:
        return !strcmp(t, "r") || !strcmp(t, "x");
    case PB_WASM_MEMORY:
        return !strcmp(t, "");
    case PB_WASM_GLOBAL:
        if (!strncmp(t, "mut ", 4))
            t += 4;
        return strlen(t) == 1 && valid_value_types(t, 1);
    default:
        return 0;
    }
}

static void check_info(const pb_wasm_info *in, const char *err)
{
    uint32_t counts[4] = {in->n_funcs, in->n_tables, in->n_memories, in->n_globals};
    uint32_t imported[4] = {0};
    if (err[0])
        fail("a message on success", err);
    for (uint32_t i = 0; i < in->n_types; i++)
        if (!valid_type(PB_WASM_FUNC, in->types[i]))
            fail("an invalid function type", err);
    for (uint32_t i = 0; i < in->n_imports; i++) {
        const pb_wasm_import *im = &in->imports[i];
        if (!im->module || !im->name || im->kind < 0 || im->kind > 3 || !valid_type(im->kind, im->type))
            fail("an invalid import", err);
        imported[im->kind]++;
    }
    if (imported[0] != in->n_funcs_imported || imported[1] != in->n_tables_imported ||
        imported[2] != (uint32_t)in->memory_imported || imported[3] != in->n_globals_imported ||
        in->n_funcs < in->n_funcs_imported || in->n_tables < in->n_tables_imported || in->n_memories > 1 ||
        in->n_memories < (uint32_t)in->memory_imported || in->n_globals < in->n_globals_imported)
        fail("counts that disagree with the imports", err);
    for (uint32_t i = 0; i < in->n_exports; i++) {
        const pb_wasm_export *ex = &in->exports[i];
        if (!ex->name || ex->kind < 0 || ex->kind > 3 || ex->index >= counts[ex->kind] ||
            !valid_type(ex->kind, ex->type))
            fail("an invalid export", err);
        if (pb__wasm_export_find(in, ex->name) != ex)
            fail("an export not found by its name", err);
    }
    if (in->has_start && in->start >= in->n_funcs)
        fail("a start function out of range", err);
    if (in->memory.has_max && in->memory.max < in->memory.min)
        fail("memory limits upside down", err);
}

static void check_message(int rc, const char *err)
{
    static const char *const prefix[] = {"", "malformed module at byte 0x", "unsupported WebAssembly feature: ",
                                         "out of memory ("};
    if (rc < 0 || rc > 3)
        fail("an unknown status", err);
    if (strncmp(err, prefix[rc], strlen(prefix[rc])) || (rc && strlen(err) <= strlen(prefix[rc])))
        fail("a message that does not match its status", err);
    for (const char *c = err; *c; c++)
        if (*c < 0x20 || *c > 0x7E)
            fail("a message that is not printable ASCII", err);
}

static int empty(const pb_wasm_info *in)
{
    static const pb_wasm_info zero;
    return !memcmp(in, &zero, sizeof zero);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pb_wasm_info info;
    char err[256];
    long before = alloc_live, allocations;

    alloc_arm(-1);
    int rc = pb__wasm_read(data, size, &info, err, sizeof err);
    allocations = alloc_calls;
    check_message(rc, err);
    if (rc == PB_WASM_NOMEM)
        fail("out of memory with no allocation failing", err);
    if (rc == PB_WASM_OK)
        check_info(&info, err);
    else if (!empty(&info))
        fail("an error that left a description", err);
    pb__wasm_info_free(&info);
    if (alloc_live != before)
        fail("blocks left allocated", err);

    if (allocations) {
        alloc_arm((long)(size % (size_t)allocations));
        rc = pb__wasm_read(data, size, &info, err, sizeof err);
        alloc_arm(-1);
        if (rc != PB_WASM_NOMEM)
            fail("a failed allocation that was not PB_WASM_NOMEM", err);
        check_message(rc, err);
        if (!empty(&info))
            fail("out of memory that left a description", err);
        if (alloc_live != before)
            fail("blocks left allocated after an allocation failed", err);
    }
    return 0;
}
