/* SPDX-License-Identifier: MIT */
/* utf8.c - text that leaves a sandbox for the host (error messages, stacks, console output)
 * is valid UTF-8 and one C string: the engine encodes a lone surrogate as three bytes that are
 * not UTF-8, and a script's text may hold any of them, or NUL. */
#include <string.h>

#include "internal.h"

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* The length of the well-formed UTF-8 character at s[0..n), or 0 when there is none; then
 * *bad is how many bytes one U+FFFD replaces: the maximal subpart of a character (as Unicode
 * recommends), or the 3 bytes the engine encodes a lone surrogate in. NUL counts as bad. */
static size_t utf8_char(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;
    *bad = 1;
    if (c >= 0x01 && c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
        if (c == 0xed && n >= 3 && s[1] >= 0xa0 && s[1] <= 0xbf && (s[2] & 0xc0) == 0x80) {
            *bad = 3; /* a surrogate: U+D800..U+DFFF */
            return 0;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if (i >= n || s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf)) {
            *bad = i;
            return 0;
        }
    }
    return len;
}

size_t pb__utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, bad;
    while (i < n && u[i] >= 0x01 && u[i] < 0x80)
        i++;
    while (i < n) {
        size_t len = utf8_char(u + i, n - i, &bad);
        if (!len)
            break;
        i += len;
    }
    return i;
}

size_t pb__utf8_copy(char *d, size_t room, const char *s, size_t n, size_t *used)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        size_t bad, len = utf8_char(u + i, n - i, &bad);
        size_t out = len ? len : sizeof replacement - 1;
        if (o + out > room)
            break;
        memcpy(d + o, len ? s + i : replacement, out);
        o += out;
        i += len ? len : bad;
    }
    *used = i;
    return o;
}
