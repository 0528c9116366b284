/* SPDX-License-Identifier: MIT */
/* buf.c - a growable byte buffer (buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "rt/rt.h"

static int reserve(pb_buf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (more < b->cap - b->n && b->p)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n <= more) {
        if (cap > (size_t)-1 / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = pb_rt_realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void pb__buf_put(pb_buf *b, const void *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void pb__buf_puts(pb_buf *b, const char *s) { pb__buf_put(b, s, strlen(s)); }

void pb__buf_printf(pb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = 1;
        return;
    }
    if (reserve(b, (size_t)k) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}
