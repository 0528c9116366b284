/* SPDX-License-Identifier: MIT */
/* buf.h - a growable byte buffer for text the library generates (buf.c). Out of memory is
 * sticky: later writes do nothing and `oom` says so, so that a writer checks once at the end.
 * The bytes stay NUL-terminated. Not thread-safe; free p when done. */
#ifndef PLUGBOX_BUF_H
#define PLUGBOX_BUF_H

#include <stddef.h>

typedef struct pb_buf {
    char *p;
    size_t n, cap;
    int oom;
} pb_buf;

void pb__buf_put(pb_buf *b, const void *s, size_t n);
void pb__buf_puts(pb_buf *b, const char *s);
void pb__buf_printf(pb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
