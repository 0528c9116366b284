/* SPDX-License-Identifier: MIT */
/* grant.h - what the host grants a program (grant.c). */
#ifndef PLUGBOX_GUEST_GRANT_H
#define PLUGBOX_GUEST_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include "quickjs.h"

/* As the host lays them out (src/grant.c): the functions' names, each NUL-terminated, in the
 * order of their indexes; the configuration's base JSON text (has_config: there is one) and
 * its values, each "key\0" then JSON text then eight NULs. Texts end with eight NULs. */
struct pb_grant {
    const char *functions;
    size_t functions_len;
    uint32_t functions_count;
    const char *config;
    size_t config_len;
    int has_config;
    const char *values;
    size_t values_len;
    uint32_t values_count;
};

/* Defines the globals `host` (when functions are granted) and `config` (when a configuration
 * is), deep-frozen. Returns 0, or -1 with an exception pending. */
int pb_grant_install(JSContext *ctx, const struct pb_grant *g);

#endif
