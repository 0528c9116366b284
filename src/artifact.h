/* SPDX-License-Identifier: MIT */
/* artifact.h - compiled plugins: compiling a WebAssembly module ahead of time, and loading
 * the result (artifact.c). */
#ifndef PLUGBOX_ARTIFACT_H
#define PLUGBOX_ARTIFACT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rt/module.h"

struct pb_wasm_info;

/* A loaded plugin: its code stays mapped while any program made from it lives. */
typedef struct pb_plugin {
    void *dl;
    int fd;                /* the memory file it was loaded from: open while it is loaded */
    const pb_rt_module *mod;
    uint8_t sha256[32];    /* of the module it was compiled from */
    atomic_int refs;
} pb_plugin;

/* Compiles wasm[0..n), which pb__wasm_read accepted as info (so that a module wasm2c cannot
 * take is refused by name before it runs), into an artifact: *artifact, *artifact_len bytes,
 * the caller's to free. Runs wasm2c and the C compiler ($CC, else cc). 0, or -1 with err
 * saying why. */
int pb__artifact_compile(const uint8_t *wasm, size_t n, const struct pb_wasm_info *info, char **artifact,
                         size_t *artifact_len, char *err, size_t err_len);
/* Writes a[0..an) then b[0..bn) to path, replacing it at once: a reader sees the old file or
 * the whole new one, whoever else writes it meanwhile. 0, or -1 with errno set. */
int pb__write_file_atomic(const char *path, const void *a, size_t an, const void *b, size_t bn);
/* 1 when bytes start as an artifact does. */
int pb__artifact_is(const uint8_t *bytes, size_t n);
/* Loads an artifact: checks its header (plugbox version, runtime ABI, exports), then maps its
 * code. 0 with *out (one reference), or -1 with err saying why. Thread-safe. */
int pb__artifact_load(const uint8_t *bytes, size_t n, pb_plugin **out, char *err, size_t err_len);
void pb__plugin_release(pb_plugin *p); /* NULL-safe */
/* A whole regular file into *out (NUL-terminated, *len bytes, the caller's to free). 0 or -1 (errno). */
int pb__read_file(const char *path, char **out, size_t *len);

#endif
