/* SPDX-License-Identifier: MIT */
/* guest_abi.h - the host's side of the JavaScript engine's entry points. guest/guest.c exports
 * them (its header comment says what each does) and src/engine_module.c, the one host file
 * that knows wasm2c's names for them, implements these. Addresses are in the instance's
 * linear memory; every value the guest returns is untrusted. Each is called inside a guard,
 * between pb_rt_guest_begin and pb_rt_guest_end. */
#ifndef PLUGBOX_GUEST_ABI_H
#define PLUGBOX_GUEST_ABI_H

#include <stdint.h>

#include "rt/module.h"

typedef struct pb_instance pb_instance;

/* The engine module (its description for the runtime). */
extern const pb_rt_module pb__engine_module;

/* Arguments of pb_grant: function names (NUL-separated), configuration text, values. */
typedef struct pb_js_grant {
    uint32_t names, names_len, names_count;
    uint32_t config, config_len, has_config;
    uint32_t values, values_len, values_count;
} pb_js_grant;

/* Arguments of pb_run. */
typedef struct pb_js_run {
    uint32_t input, len, has_data;
    uint32_t seed_lo, seed_hi;
    uint32_t arena_cap;
    uint32_t bytes, bytes_len;
} pb_js_run;

void pb__js_initialize(pb_instance *in); /* the C library's constructors (a WASI reactor) */
int32_t pb__js_init(pb_instance *in);
uint32_t pb__js_result(pb_instance *in);
uint32_t pb__js_interrupt_word(pb_instance *in);
void pb__js_ts_init(pb_instance *in);
uint32_t pb__js_alloc(pb_instance *in, uint32_t n);
void pb__js_free(pb_instance *in, uint32_t p);
int32_t pb__js_grant(pb_instance *in, const pb_js_grant *g); /* nonzero: refused (see the outcome) */
int32_t pb__js_learn(pb_instance *in, uint32_t json, uint32_t len); /* nonzero: failed (see the outcome) */
void pb__js_compile(pb_instance *in, uint32_t src, uint32_t len, uint32_t filename, uint32_t function,
                    uint32_t typescript);
int32_t pb__js_select(pb_instance *in, uint32_t name, uint32_t len); /* nonzero: found */
void pb__js_run(pb_instance *in, const pb_js_run *r);

#endif
