/* SPDX-License-Identifier: MIT */
/* extism_env.h - Extism's kernel functions ("extism:host/env") as the test plugins in C
 * import them, declared the way the PDKs declare them (no PDK, no C library). A plugin
 * imports only what it calls. */
#ifndef PLUGBOX_TEST_EXTISM_ENV_H
#define PLUGBOX_TEST_EXTISM_ENV_H

#include <stdint.h>

#define IMPORT(name) __attribute__((import_module("extism:host/env"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("input_length") uint64_t input_length(void);
IMPORT("input_load_u8") uint32_t input_load_u8(uint64_t);
IMPORT("alloc") uint64_t alloc(uint64_t);
IMPORT("length") uint64_t length(uint64_t);
IMPORT("load_u8") uint32_t load_u8(uint64_t);
IMPORT("store_u8") void store_u8(uint64_t, uint32_t);
IMPORT("output_set") void output_set(uint64_t, uint64_t);
IMPORT("error_set") void error_set(uint64_t);
IMPORT("config_get") uint64_t config_get(uint64_t);
IMPORT("var_get") uint64_t var_get(uint64_t);
IMPORT("var_set") void var_set(uint64_t, uint64_t);
IMPORT("log_info") void log_info(uint64_t);

#endif
