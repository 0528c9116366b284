/* SPDX-License-Identifier: MIT */
/* hostfn.c - a plugin that calls a host function (Extism's extism:host/user), for
 * tests/test_plugin.c: "ask" passes its input to the host's lookup and outputs the answer. */
#include <stdint.h>

#define IMPORT(name) __attribute__((import_module("extism:host/env"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input_length") uint64_t input_length(void);
IMPORT("input_load_u8") uint32_t input_load_u8(uint64_t);
IMPORT("alloc") uint64_t alloc(uint64_t);
IMPORT("length") uint64_t length(uint64_t);
IMPORT("store_u8") void store_u8(uint64_t, uint32_t);
IMPORT("output_set") void output_set(uint64_t, uint64_t);
__attribute__((import_module("extism:host/user"), import_name("lookup"))) uint64_t lookup(uint64_t);

EXPORT("ask") int ask(void)
{
    uint64_t n = input_length(), b = n ? alloc(n) : 0;
    for (uint64_t i = 0; i < n; i++)
        store_u8(b + i, input_load_u8(i));
    uint64_t r = lookup(b);
    if (r)
        output_set(r, length(r));
    return 0;
}
