/* SPDX-License-Identifier: MIT */
/* error.c - status names and messages; the error record of programs and sandboxes. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *plugbox_strerror(int status)
{
    switch (status) {
#define PB_CASE_(name, value, msg) \
    case value: return msg;
        PLUGBOX_ERRNO_MAP(PB_CASE_)
#undef PB_CASE_
    }
    return "unknown error";
}

const char *plugbox_err_name(int status)
{
    switch (status) {
#define PB_CASE_(name, value, msg) \
    case value: return #name;
        PLUGBOX_ERRNO_MAP(PB_CASE_)
#undef PB_CASE_
    }
    return "UNKNOWN";
}

/* A copy of s[0..n) as valid UTF-8 and one C string (every bad sequence and NUL becomes
 * U+FFFD), followed by tail. Longer than PB_MAX_ERROR_TEXT bytes, it is cut at a character
 * boundary and marked. */
static char *dup_text(const char *s, size_t n, const char *tail)
{
    static const char cut[] = "... (cut)";
    size_t most = n < PB_MAX_ERROR_TEXT / 3 ? n * 3 : PB_MAX_ERROR_TEXT;
    char *d = pb_rt_malloc(most + sizeof cut + strlen(tail));
    if (!d)
        return NULL;
    size_t i;
    char *o = d + pb__utf8_copy(d, most, s, n, &i);
    if (i < n) {
        memcpy(o, cut, sizeof cut - 1);
        o += sizeof cut - 1;
    }
    strcpy(o, tail);
    return d;
}

void pb__error_clear(pb_error *e)
{
    free(e->message);
    free(e->stack);
    e->message = e->stack = NULL;
    e->kind = PLUGBOX_OK;
}

void pb__error_free(pb_error *e) { pb__error_clear(e); }

/* Returns kind. When a copy cannot be made, the message falls back to plugbox_strerror. */
/* A stack of deep recursion repeats one frame thousands of times: keep its top. */
static size_t stack_cut(const char *s, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' && ++lines == PB_MAX_STACK_FRAMES)
            return i + 1;
    return n;
}

int pb__error_set(pb_error *e, int kind, const char *msg, size_t msg_len, const char *stack, size_t stack_len)
{
    pb__error_clear(e);
    e->kind = kind;
    if (msg)
        e->message = dup_text(msg, msg_len, "");
    if (stack && stack_len) {
        size_t keep = stack_cut(stack, stack_len);
        e->stack = dup_text(stack, keep, keep < stack_len ? "    ...\n" : "");
    }
    return kind;
}

int pb__error_setf(pb_error *e, int kind, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    return pb__error_set(e, kind, buf, (size_t)n, NULL, 0);
}

const char *pb__error_message(const pb_error *e)
{
    if (e->message)
        return e->message;
    return e->kind == PLUGBOX_OK ? "" : plugbox_strerror(e->kind);
}

const char *pb__error_stack(const pb_error *e) { return e->stack ? e->stack : ""; }
