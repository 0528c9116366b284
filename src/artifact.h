/* SPDX-License-Identifier: MIT */
/* artifact.h - compiled plugins: compiling a WebAssembly module ahead of time, and loading
 * the result (artifact.c). */
#ifndef PLUGBOX_ARTIFACT_H
#define PLUGBOX_ARTIFACT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rt/module.h"

/* A loaded plugin: its code stays mapped while any program made from it lives. */
typedef struct pb_plugin {
    void *dl;
    int fd;                /* the memory file it was loaded from: open while it is loaded */
    const pb_rt_module *mod;
    uint8_t sha256[32];    /* of the module it was compiled from */
    atomic_int refs;
} pb_plugin;

/* Compiles wasm[0..n) into an artifact at out_path (replaced at once, never half-written).
 * Runs wasm2c and the C compiler ($CC, else cc). 0, or -1 with err saying why. */
int pb__artifact_compile(const uint8_t *wasm, size_t n, const char *out_path, char *err, size_t err_len);
/* 1 when bytes start as an artifact does. */
int pb__artifact_is(const uint8_t *bytes, size_t n);
/* Loads an artifact: checks its header (plugbox version, runtime ABI, exports), then maps its
 * code. 0 with *out (one reference), or -1 with err saying why. Thread-safe. */
int pb__artifact_load(const uint8_t *bytes, size_t n, pb_plugin **out, char *err, size_t err_len);
void pb__plugin_release(pb_plugin *p); /* NULL-safe */
/* A whole regular file into *out (NUL-terminated, *len bytes, the caller's to free). 0 or -1 (errno). */
int pb__read_file(const char *path, char **out, size_t *len);

#endif
