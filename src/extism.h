/* SPDX-License-Identifier: MIT */
/* extism.h - Extism's kernel ABI, host side: what a plugin built with an Extism PDK imports.
 *
 * Internal to plugbox. A plugin imports these functions from the module "extism:host/env"
 * (plugins built before Extism 1.0: from "env", each name prefixed "extism_"). In Extism they
 * are a separate "kernel" WebAssembly module with its own memory, plus host functions; here
 * they are C, over a memory the host keeps apart from the plugin's linear memory. Offsets
 * (u64) address that memory as the kernel's do: the first block's data is at 77, 0 means
 * none, and an offset the plugin makes up is checked on every access: nothing here reads or
 * writes outside the memory, whatever the plugin passes.
 *
 * One call of a plugin:
 *
 *     if (pb__extism_begin(x, in, in_len, stateful) != 0)
 *         return pb__extism_limit_hit(x) ? PLUGBOX_MEMORY : PLUGBOX_HOST;
 *     ... run the export; the imports call pb__extism_* ...
 *     if (pb__extism_trap(x, &msg, &len))   the call failed where Extism fails it
 *     else if ((err = pb__extism_error(x, &err_len)))   the plugin set an error
 *     else pb__extism_output(x, &out, &out_len);
 *
 * Ownership: pb__extism_new's object is the caller's, freed by pb__extism_free. Pointers it
 * hands out (output, error, trap message, a configuration key passed to the callback) point
 * into it and stay valid until the next pb__extism_begin (the key: during the callback only).
 * Thread-safety: none; one pb_extism per sandbox, used by one thread at a time. The callbacks
 * run on that thread, inside the import that needs them, and must not call back into x.
 * Errors: nothing aborts. pb__extism_begin returns -1; a kernel function that fails records
 * a trap (pb__extism_trap) and, when the caller set one, calls its trap callback. */
#ifndef PLUGBOX_EXTISM_H
#define PLUGBOX_EXTISM_H

#include <stddef.h>
#include <stdint.h>

typedef struct pb_extism pb_extism;

/* Empty: the memory is made by the first pb__extism_begin. limit: bytes the memory (whole
 * 64 KiB pages, at least one) and the variables may take together. NULL when the host is
 * out of memory. */
pb_extism *pb__extism_new(uint64_t limit);
void pb__extism_free(pb_extism *x); /* NULL-safe */
/* A new limit, from the next growth on (nothing already held is taken back). */
void pb__extism_set_limit(pb_extism *x, uint64_t limit);
/* The most the variables may hold, counted as Extism counts them (48 bytes per variable plus
 * its key and value); Extism's default, 1 MiB, until set. 0 disables them: var_set fails the
 * call ("Vars are disabled by this host"). */
#define PB_EXTISM_VAR_LIMIT (1u << 20)
void pb__extism_set_var_limit(pb_extism *x, uint64_t bytes);
/* What the memory and the variables take now, as counted against the limit. */
uint64_t pb__extism_memory_used(const pb_extism *x);

/* Before each call: every block freed (the memory zeroed and back to one page), the input
 * copied into a block of its own (none when len is 0), output, error, trap and the limit flag
 * cleared; the variables kept when keep_vars, else deleted. Returns 0, or -1: the host is out
 * of memory, or the input does not fit the limit (then pb__extism_limit_hit is 1). */
int pb__extism_begin(pb_extism *x, const void *input, size_t len, int keep_vars);
/* After the call: the bytes output_set named (NULL and 0 when it was not called). */
void pb__extism_output(const pb_extism *x, const uint8_t **out, size_t *len);
/* The message the plugin set with error_set, when it names a live block of at least one byte
 * (as Extism reads it); NULL otherwise. The bytes are the plugin's: not checked as UTF-8. */
const char *pb__extism_error(const pb_extism *x, size_t *len);
/* 1 when the memory could not grow because of the limit (alloc returned 0, or the input or a
 * host function's result did not fit) since pb__extism_begin. */
int pb__extism_limit_hit(const pb_extism *x);

/* Why a kernel function failed the call (Extism: the host function returned an error, which
 * traps the plugin's call). */
enum {
    PB_EXTISM_TRAP_NONE = 0,
    PB_EXTISM_TRAP_PLUGIN = 1, /* the plugin's request: an offset that is no block, a key that is
                                  not UTF-8, the variables full or disabled, http_request denied */
    PB_EXTISM_TRAP_LIMIT = 2,  /* a host function's result did not fit the limit: "out of memory" */
    PB_EXTISM_TRAP_HOST = 3    /* a host allocation failed */
};
/* The first trap since pb__extism_begin: its kind (PB_EXTISM_TRAP_*, 0 for none), and its
 * message (valid UTF-8, NUL-terminated, at most 511 bytes) in *msg and *len (either may be NULL). */
int pb__extism_trap(const pb_extism *x, const char **msg, size_t *len);
/* Called when a kernel function records a trap, as its last step: x is consistent then, and the
 * callback may leave by longjmp (wasm2c's trap) instead of returning. When it returns (or none
 * is set), the function returns 0 and the plugin goes on: the caller must check pb__extism_trap
 * after the call. */
typedef void (*pb_extism_trap_fn)(void *user, int kind, const char *msg, size_t len);
void pb__extism_set_trap(pb_extism *x, pb_extism_trap_fn fn, void *user);

/* Configuration: the caller's lookup of key[0..key_len) (valid UTF-8, maybe with NUL bytes, not
 * NUL-terminated). Returns 1 with the value in *value, *value_len (valid until the callback is
 * called again), 0 when the key is not there, -1 when the host failed (a HOST trap). */
typedef int (*pb_extism_config_fn)(void *user, const char *key, size_t key_len, const char **value,
                                   size_t *value_len);
void pb__extism_set_config(pb_extism *x, pb_extism_config_fn fn, void *user);

/* Logging: levels as Extism numbers them, 0 trace, 1 debug, 2 info, 3 warn, 4 error. A message
 * below min_level is dropped; fn NULL or min_level above 4 turns logging off (get_log_level then
 * answers INT32_MAX, as Extism does). The text is the plugin's, checked as UTF-8: a message that
 * is not arrives as Extism's own error-level line about it. Off until set. */
typedef void (*pb_extism_log_fn)(void *user, int level, const char *text, size_t len);
void pb__extism_set_log(pb_extism *x, pb_extism_log_fn fn, void *user, int min_level);

/* ---- the kernel functions ------------------------------------------------------------------
 * One per import, with the import's integer types (wasm i32 is uint32_t, i64 uint64_t, as wasm2c
 * declares them). What each does with a bad offset is the kernel's (extism.c says where it is
 * not). The kernel's "free" is pb__extism_free_block (pb__extism_free frees x). */
uint64_t pb__extism_alloc(pb_extism *x, uint64_t n);
void pb__extism_free_block(pb_extism *x, uint64_t offs);
uint64_t pb__extism_length(pb_extism *x, uint64_t offs);
uint64_t pb__extism_length_unsafe(pb_extism *x, uint64_t offs);
uint32_t pb__extism_load_u8(pb_extism *x, uint64_t offs);
uint64_t pb__extism_load_u64(pb_extism *x, uint64_t offs);
void pb__extism_store_u8(pb_extism *x, uint64_t offs, uint32_t v);
void pb__extism_store_u64(pb_extism *x, uint64_t offs, uint64_t v);
uint64_t pb__extism_input_length(pb_extism *x);
uint64_t pb__extism_input_offset(pb_extism *x);
uint32_t pb__extism_input_load_u8(pb_extism *x, uint64_t i);
uint64_t pb__extism_input_load_u64(pb_extism *x, uint64_t i);
void pb__extism_input_set(pb_extism *x, uint64_t offs, uint64_t len);
void pb__extism_output_set(pb_extism *x, uint64_t offs, uint64_t len);
uint64_t pb__extism_output_offset(pb_extism *x);
uint64_t pb__extism_output_length(pb_extism *x);
void pb__extism_error_set(pb_extism *x, uint64_t offs);
uint64_t pb__extism_error_get(pb_extism *x);
void pb__extism_reset(pb_extism *x);
uint64_t pb__extism_memory_bytes(pb_extism *x);
uint64_t pb__extism_config_get(pb_extism *x, uint64_t key);
uint64_t pb__extism_var_get(pb_extism *x, uint64_t key);
void pb__extism_var_set(pb_extism *x, uint64_t key, uint64_t value);
uint64_t pb__extism_http_request(pb_extism *x, uint64_t req, uint64_t body);
uint32_t pb__extism_http_status_code(pb_extism *x);
uint64_t pb__extism_http_headers(pb_extism *x);
void pb__extism_log_trace(pb_extism *x, uint64_t offs);
void pb__extism_log_debug(pb_extism *x, uint64_t offs);
void pb__extism_log_info(pb_extism *x, uint64_t offs);
void pb__extism_log_warn(pb_extism *x, uint64_t offs);
void pb__extism_log_error(pb_extism *x, uint64_t offs);
uint32_t pb__extism_get_log_level(pb_extism *x);

/* The imports above by (module, name), current and pre-1.0 names, for a loader to resolve and
 * type-check a plugin's imports. type is "PARAMS:RESULTS", i for i32 and I for i64 ("I:I" for
 * alloc, ":" for reset); fn is the function, to be cast back to its type, taking the pb_extism
 * first. */
typedef struct pb_extism_import {
    const char *module, *name, *type;
    void (*fn)(void);
} pb_extism_import;
extern const pb_extism_import pb__extism_imports[];
extern const size_t pb__extism_n_imports;

#endif
