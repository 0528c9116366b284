/* SPDX-License-Identifier: MIT */
/* plugin_glue.h - the C compiled with a plugin's wasm2c output (plugin_glue.c). */
#ifndef PLUGBOX_PLUGIN_GLUE_H
#define PLUGBOX_PLUGIN_GLUE_H

#include <stddef.h>

typedef struct pb_glue {
    char *c;              /* the glue's C text, NUL-terminated, the caller's to free */
    size_t c_len;
    char memory_field[64]; /* the instance's field of its one memory (for w2c_rewrite) */
    char stack_pointer[64]; /* its stack pointer's field, "" if none */
} pb_glue;

/* From h[0..hn), the header `wasm2c -n MODULE` wrote. Returns 0, or -1 with err saying why:
 * output of an unknown shape, or a module plugbox does not run (no memory of its own, more
 * than one, an imported memory, table or global). */
int pb__plugin_glue(const char *h, size_t hn, const char *module, pb_glue *out, char *err, size_t err_len);

#endif
