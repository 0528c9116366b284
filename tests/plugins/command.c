/* SPDX-License-Identifier: MIT */
/* command.c - a WASI command in C (wasi-libc): standard input upper-cased to standard output,
 * its arguments after it, a line on standard error; an input starting with "exit N" exits
 * with status N, "spin" loops, "big N" writes N bytes. For tests/test_plugin.c and cli.sh. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int runs; /* 1 in every call of a fresh sandbox */

int main(int argc, char **argv)
{
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, stdin);
    buf[n] = 0;
    runs++;
    if (!strncmp(buf, "exit ", 5))
        return atoi(buf + 5);
    if (!strncmp(buf, "spin", 4))
        for (volatile int i = 0;; i++)
            ;
    if (!strncmp(buf, "big ", 4)) {
        for (long k = atol(buf + 4); k > 0; k--)
            putchar('x');
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    fwrite(buf, 1, n, stdout);
    for (int i = 1; i < argc; i++)
        printf("[%s]", argv[i]);
    fprintf(stderr, "runs=%d argc=%d\n", runs, argc);
    return 0;
}
