/* SPDX-License-Identifier: MIT */
/* kernel.c - a plugin in C that uses Extism's kernel ABI the way the PDKs do (imports from
 * "extism:host/env", declared in extism_env.h: no PDK, no C library), for tests/test_plugin.c
 * and tests/cli.sh. */
#include "extism_env.h"

static uint64_t block_of(const char *s, uint64_t n)
{
    uint64_t b = alloc(n);
    for (uint64_t i = 0; i < n; i++)
        store_u8(b + i, (uint8_t)s[i]);
    return b;
}

static uint64_t text(const char *s)
{
    uint64_t n = 0;
    while (s[n])
        n++;
    return block_of(s, n);
}

/* "Hello, " and the input */
EXPORT("greet") int greet(void)
{
    uint64_t n = input_length(), b = alloc(7 + n);
    const char *h = "Hello, ";
    for (int i = 0; i < 7; i++)
        store_u8(b + i, (uint8_t)h[i]);
    for (uint64_t i = 0; i < n; i++)
        store_u8(b + 7 + i, input_load_u8(i));
    output_set(b, 7 + n);
    return 0;
}

EXPORT("fail") int fail(void)
{
    error_set(text("something went wrong"));
    return 1;
}

/* the configuration's value of "name" as the output, or an error */
EXPORT("config") int config(void)
{
    uint64_t v = config_get(text("name"));
    if (!v) {
        error_set(text("no name in the configuration"));
        return 1;
    }
    output_set(v, length(v));
    return 0;
}

/* the variable "n", one more each call, as the output (one decimal digit) */
EXPORT("counter") int counter(void)
{
    uint64_t v = var_get(text("n"));
    uint32_t n = v ? load_u8(v) : 0;
    char c = (char)(n + 1);
    var_set(text("n"), block_of(&c, 1));
    char d = (char)('0' + n + 1);
    output_set(block_of(&d, 1), 1);
    return 0;
}

EXPORT("log") int log_(void)
{
    log_info(text("a line of the log"));
    output_set(text("logged"), 6);
    return 0;
}

/* a variable's key at an offset that is no block: Extism fails the call */
EXPORT("bad_offset") int bad_offset(void)
{
    var_get(123456789);
    return 0;
}

/* allocates in the kernel's memory until it is refused */
EXPORT("hog") int hog(void)
{
    for (;;)
        if (!alloc(1 << 20)) {
            error_set(text("alloc refused"));
            return 1;
        }
}

/* for plugboxfilter: the buffer's description back as the JSON meta attached to it,
 * {"meta": INPUT} */
EXPORT("describe") int describe(void)
{
    uint64_t n = input_length(), b = alloc(9 + n);
    const char *h = "{\"meta\":";
    for (int i = 0; i < 8; i++)
        store_u8(b + i, (uint8_t)h[i]);
    for (uint64_t i = 0; i < n; i++)
        store_u8(b + 8 + i, input_load_u8(i));
    store_u8(b + 8 + n, '}');
    output_set(b, 9 + n);
    return 0;
}
