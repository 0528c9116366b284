/* SPDX-License-Identifier: MIT */
/* json.h - the guest's JSON decoder (json.c). */
#ifndef PLUGBOX_GUEST_JSON_H
#define PLUGBOX_GUEST_JSON_H

#include <stddef.h>

#include "quickjs.h"

enum {
    PB_JSON_OK = 0,
    PB_JSON_SYNTAX = 1, /* not JSON, or not UTF-8: nothing thrown */
    PB_JSON_NOMEM = 2,  /* the decoder's own memory ran out: nothing thrown */
    PB_JSON_ENGINE = 3  /* QuickJS threw (out of memory): the exception is pending */
};

typedef struct pb_json_status {
    int error;
    size_t offset; /* where decoding stopped: the error's place for PB_JSON_SYNTAX */
} pb_json_status;

/* Decodes text[0..len) into a new value, or returns JS_EXCEPTION with status->error set.
 * text[len..len+8) must be readable (the host puts eight NULs there): short keys and
 * strings are read as whole words. */
JSValue pb_json_decode(JSContext *ctx, const char *text, size_t len, pb_json_status *status);

#endif
