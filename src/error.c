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

static char *dup_cut(const char *s, size_t n)
{
    static const char cut[] = "... (cut)";
    size_t keep = n > PB_MAX_ERROR_TEXT ? PB_MAX_ERROR_TEXT : n;
    char *d = malloc(keep + sizeof cut);
    if (!d)
        return NULL;
    memcpy(d, s, keep);
    if (keep < n)
        memcpy(d + keep, cut, sizeof cut);
    else
        d[keep] = 0;
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
        e->message = dup_cut(msg, msg_len);
    if (stack && stack_len) {
        size_t keep = stack_cut(stack, stack_len);
        e->stack = dup_cut(stack, keep);
        if (e->stack && keep < stack_len) {
            static const char more[] = "    ...\n";
            char *s = realloc(e->stack, keep + sizeof more);
            if (s) {
                memcpy(s + keep, more, sizeof more);
                e->stack = s;
            }
        }
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
