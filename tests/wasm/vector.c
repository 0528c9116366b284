/* SPDX-License-Identifier: MIT */
/* vector.c - a small WASI command, compiled by clang at test time, twice: without SIMD it is
 * accepted (its WASI imports and exports are read); with -msimd128 the loop below is
 * vectorised and the module refused by name (tests/test_wasmread.c). */
#include <stdio.h>

static int sum(const int *v, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += v[i] * 3;
    return s;
}

int main(int argc, char **argv)
{
    int v[256];
    (void)argv;
    for (int i = 0; i < 256; i++)
        v[i] = i + argc;
    printf("%d\n", sum(v, 256 - argc));
    return 0;
}
