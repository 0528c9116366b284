/* SPDX-License-Identifier: MIT */
/* w2c_rewrite.h - plugbox's changes to wasm2c's output for a plugin (w2c_rewrite.c). */
#ifndef PLUGBOX_W2C_REWRITE_H
#define PLUGBOX_W2C_REWRITE_H

#include <stddef.h>

#include "rt/rt.h"

/* Rewrites src[0..n), the C that `wasm2c -n MODULE` wrote, whose one memory is the instance's
 * field memory_field; helpers is the text of rt_access.h, whose load and store helpers must
 * equal wasm2c's. On success returns 0 and *out (NUL-terminated, *out_len bytes, the
 * caller's to free). Otherwise -1 with err saying why (output of an unexpected shape, or
 * host memory). */
int pb__w2c_rewrite(const char *src, size_t n, const char *module, const char *memory_field, const char *helpers,
                    char **out, size_t *out_len, char *err, size_t err_len);

#endif
