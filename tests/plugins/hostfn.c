/* SPDX-License-Identifier: MIT */
/* hostfn.c - a plugin that calls a host function (Extism's extism:host/user), for
 * tests/test_plugin.c: "ask" passes its input to the host's lookup and outputs the answer. */
#include "extism_env.h"

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
