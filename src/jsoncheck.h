/* SPDX-License-Identifier: MIT */
/* jsoncheck.h - strict JSON (RFC 8259) and UTF-8 validator for untrusted input.
 *
 * Internal to plugbox: checks host-supplied JSON text before it is copied into a
 * sandbox, so that malformed input is rejected on the host with a precise message
 * (offset, line, column) instead of surfacing as a JavaScript SyntaxError.
 *
 *     pb__json_error e;
 *     int rc = pb__json_check(buf, len, &e);
 *     if (rc != 0)
 *         fprintf(stderr, "input:%zu:%zu: %s\n", e.line, e.column, e.message);
 */
#ifndef PLUGBOX_JSONCHECK_H
#define PLUGBOX_JSONCHECK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PB__JSON_OK      0
#define PB__JSON_ESYNTAX 1 /* not a JSON text */
#define PB__JSON_EUTF8   2 /* ill-formed UTF-8 (anywhere, strings included) */
#define PB__JSON_ENOMEM  3 /* nesting stack could not be grown */

typedef struct pb__json_error {
    size_t offset;      /* byte offset of the offending byte (or of end of input) */
    size_t line;        /* 1-based; "\n", "\r\n" and a lone "\r" each end a line */
    size_t column;      /* 1-based, in code points from the line start; for an
                           invalid UTF-8 byte, the column where that byte stands */
    char message[128];  /* lower-case, no trailing period, NUL-terminated */
} pb__json_error;

/* Returns 0 when s[0..n) is exactly one valid JSON text (whitespace allowed around it),
 * PB__JSON_ESYNTAX for a syntax error, PB__JSON_EUTF8 for invalid UTF-8
 * anywhere in the input (overlong forms, surrogates U+D800..DFFF encoded in UTF-8,
 * code points > U+10FFFF and truncated sequences are all invalid), PB__JSON_ENOMEM
 * if the nesting stack could not be grown.
 *
 * The error reported is the first one in the input: the offset is that of the first
 * byte at which s stops being a prefix of some valid JSON text, except that an
 * ill-formed UTF-8 sequence is reported at its first (lead) byte. Unterminated values
 * are reported at offset n. Lone surrogate escapes ("\ud800") are valid JSON.
 * A UTF-8 byte order mark is not accepted.
 *
 * s need not be NUL-terminated and may contain NUL bytes; it may be NULL when n is 0.
 * err may be NULL; on success *err is zeroed (message ""). Nesting depth is limited
 * only by memory (one bit per level, heap only past 512 levels, freed before return);
 * never recursive. Thread-safe and reentrant: no global state.
 */
int pb__json_check(const char *s, size_t n, pb__json_error *err);

#ifdef __cplusplus
}
#endif

#endif /* PLUGBOX_JSONCHECK_H */
