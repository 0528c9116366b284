/* SPDX-License-Identifier: MIT */
/* test_extism.c - Extism's kernel ABI, host side (src/extism.c), driven as a plugin drives it.
 *
 * Offsets are checked against the ones Extism's kernel gives for the same calls (the first
 * block's data at 77, headers of 12 bytes, one page of 64 KiB to start). The sanitizer build
 * runs it too: every access outside the memory, and every leak when allocations fail, shows. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "extism.h"
#include "rt/rt.h"

#define PAGE 65536u
#define FIRST 77u /* the first block's data */
#define HDR 12u

/* A block holding s[0..n), as a PDK makes one: alloc, then store_u64 and store_u8. */
static uint64_t put(pb_extism *x, const void *s, size_t n)
{
    uint64_t p = pb__extism_alloc(x, n);
    const uint8_t *b = s;
    size_t i = 0;
    for (; p && i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, 8);
        pb__extism_store_u64(x, p + i, v);
    }
    for (; p && i < n; i++)
        pb__extism_store_u8(x, p + i, b[i]);
    return p;
}

static uint64_t puts_(pb_extism *x, const char *s)
{
    return put(x, s, strlen(s));
}

/* The block at p read back with load_u64 and load_u8, NUL-terminated (static buffer). */
static const char *get(pb_extism *x, uint64_t p)
{
    static char buf[4096];
    uint64_t n = pb__extism_length(x, p);
    if (n >= sizeof buf)
        return "(too long)";
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = pb__extism_load_u64(x, p + i);
        memcpy(buf + i, &v, 8);
    }
    for (; i < n; i++)
        buf[i] = (char)pb__extism_load_u8(x, p + i);
    buf[n] = 0;
    return buf;
}

static int trap_kind(pb_extism *x, const char **msg)
{
    return pb__extism_trap(x, msg, NULL);
}

static pb_extism *fresh(uint64_t limit)
{
    pb_extism *x = pb__extism_new(limit);
    CHECK(x != NULL);
    if (!x)
        exit(1);
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    return x;
}

/* ---- input ------------------------------------------------------------------------------ */

static void test_input(void)
{
    pb_extism *x = pb__extism_new(1u << 20);
    uint8_t in[20], got[20];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= 20; len++) {
        CHECK_EQ_INT(pb__extism_begin(x, in, len, 0), 0);
        CHECK_EQ_INT(pb__extism_input_length(x), len);
        CHECK_EQ_INT(pb__extism_input_offset(x), len ? FIRST : 0);
        /* rust-pdk's load_input: u64 chunks, then bytes */
        memset(got, 0xee, sizeof got);
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
            uint64_t v = pb__extism_input_load_u64(x, i);
            memcpy(got + i, &v, 8);
        }
        for (; i < len; i++)
            got[i] = (uint8_t)pb__extism_input_load_u8(x, i);
        CHECK(memcmp(got, in, len) == 0);
        /* c-pdk's: the input is a block, read with load_u8 at input_offset */
        if (len) {
            CHECK_EQ_INT(pb__extism_length(x, FIRST), len);
            for (i = 0; i < len; i++)
                CHECK_EQ_INT(pb__extism_load_u8(x, FIRST + i), in[i]);
        }
        /* past the end: 0, as the kernel's bounds checks answer */
        CHECK_EQ_INT(pb__extism_input_load_u8(x, len), 0);
        CHECK_EQ_INT(pb__extism_input_load_u8(x, UINT64_MAX), 0);
        if (len >= 8) {
            uint64_t v;
            memcpy(&v, in + len - 8, 8);
            CHECK(pb__extism_input_load_u64(x, len - 8) == v);
        }
        CHECK_EQ_INT(pb__extism_input_load_u64(x, len > 7 ? len - 7 : 0), 0);
        CHECK_EQ_INT(pb__extism_input_load_u64(x, UINT64_MAX - 7), 0);
        CHECK_EQ_INT(pb__extism_input_load_u64(x, UINT64_MAX), 0);
    }
    /* freeing the input block drops the input, as in the kernel */
    CHECK_EQ_INT(pb__extism_begin(x, in, 20, 0), 0);
    pb__extism_free_block(x, pb__extism_input_offset(x));
    CHECK_EQ_INT(pb__extism_input_length(x), 0);
    CHECK_EQ_INT(pb__extism_input_load_u8(x, 0), 0);
    pb__extism_free(x);
}

/* ---- alloc, store, load, length ---------------------------------------------------------- */

static void test_alloc(void)
{
    pb_extism *x = fresh(1u << 20);
    CHECK_EQ_INT(pb__extism_alloc(x, 0), 0);
    uint64_t p = pb__extism_alloc(x, 100);
    CHECK_EQ_INT(p, FIRST);
    CHECK_EQ_INT(pb__extism_length(x, p), 100);
    CHECK_EQ_INT(pb__extism_length_unsafe(x, p), 100);
    uint64_t q = pb__extism_alloc(x, 10);
    CHECK_EQ_INT(q, p + 100 + HDR);
    /* the header is in the memory, as the kernel lays it out */
    CHECK_EQ_INT(pb__extism_load_u8(x, p - HDR), 1);      /* active */
    CHECK_EQ_INT(pb__extism_load_u8(x, p - HDR + 4), 100); /* size */
    CHECK_EQ_INT(pb__extism_load_u8(x, p - HDR + 8), 100); /* used */
    /* u64 at aligned and unaligned offsets, little-endian */
    pb__extism_store_u64(x, p, 0x0102030405060708ull);
    CHECK(pb__extism_load_u64(x, p) == 0x0102030405060708ull);
    CHECK_EQ_INT(pb__extism_load_u8(x, p), 8);
    CHECK_EQ_INT(pb__extism_load_u8(x, p + 7), 1);
    pb__extism_store_u64(x, p + 3, 0xa1b2c3d4e5f60718ull);
    CHECK(pb__extism_load_u64(x, p + 3) == 0xa1b2c3d4e5f60718ull);
    CHECK_EQ_INT(pb__extism_load_u8(x, p + 2), 6);
    pb__extism_store_u8(x, p + 50, 0x1ff); /* the low byte, as i32.store8 */
    CHECK_EQ_INT(pb__extism_load_u8(x, p + 50), 0xff);
    CHECK_STR(get(x, puts_(x, "hello, kernel")), "hello, kernel");
    CHECK_EQ_INT(pb__extism_memory_bytes(x), PAGE - 64);
    /* many small blocks, as PDKs make them: each its own, bumped */
    uint64_t last = 0;
    int ok = 1;
    for (int i = 0; i < 20000; i++) {
        uint64_t b = pb__extism_alloc(x, 8);
        pb__extism_store_u64(x, b, (uint64_t)i);
        ok &= b > last && (last == 0 || b == last + 8 + HDR);
        last = b;
    }
    CHECK(ok);
    CHECK_EQ_INT(pb__extism_load_u64(x, last), 19999);
    CHECK_EQ_INT(pb__extism_length(x, last), 8);
    CHECK(pb__extism_memory_bytes(x) > PAGE);
    pb__extism_free(x);
}

/* ---- free and reuse, with the kernel's offsets ------------------------------------------- */

static void test_free_reuse(void)
{
    pb_extism *x = fresh(1u << 20);
    uint64_t a = pb__extism_alloc(x, 1000);
    uint64_t b = pb__extism_alloc(x, 8);
    CHECK_EQ_INT(a, FIRST);
    CHECK_EQ_INT(b, FIRST + 1000 + HDR);
    pb__extism_free_block(x, a);
    CHECK_EQ_INT(pb__extism_length(x, a), 0);
    CHECK_EQ_INT(pb__extism_length_unsafe(x, a), 0);
    CHECK_EQ_INT(pb__extism_load_u8(x, a - HDR), 2); /* free */
    pb__extism_free_block(x, a);                     /* twice: nothing */
    CHECK_EQ_INT(pb__extism_length(x, b), 8);
    /* while the page has room, the kernel bumps rather than reuse */
    uint64_t c = pb__extism_alloc(x, 100);
    CHECK_EQ_INT(c, b + 8 + HDR);
    /* fill the page to 50 bytes short of the kernel's limit (size - 128 - position) */
    uint64_t pos = 1012 + 20 + 112;
    uint64_t fill = pb__extism_alloc(x, PAGE - 128 - pos - HDR - 50);
    CHECK(fill != 0);
    CHECK_EQ_INT(pb__extism_memory_bytes(x), PAGE - 64);
    /* now a block that does not fit: the first free block is split, its tail taken */
    uint64_t d = pb__extism_alloc(x, 100);
    CHECK_EQ_INT(d, a + 900);
    CHECK_EQ_INT(pb__extism_length(x, d), 100);
    CHECK_EQ_INT(pb__extism_length(x, a), 0);
    CHECK_EQ_INT(pb__extism_load_u8(x, a - HDR + 4), 888 & 0xff); /* the rest: 1000 - 100 - 12 */
    CHECK_EQ_INT(pb__extism_load_u8(x, a - HDR + 5), 888 >> 8);
    /* less than 128 bytes to spare: the whole block */
    uint64_t e = pb__extism_alloc(x, 880);
    CHECK_EQ_INT(e, a);
    CHECK_EQ_INT(pb__extism_length(x, e), 880);
    CHECK_EQ_INT(pb__extism_load_u8(x, a - HDR + 4), 888 & 0xff); /* size kept, used 880 */
    /* nothing free: the memory grows by a page */
    uint64_t f = pb__extism_alloc(x, 5000);
    CHECK_EQ_INT(f, 65 + pos + (PAGE - 128 - pos - 50) + HDR);
    CHECK_EQ_INT(pb__extism_memory_bytes(x), 2 * PAGE - 64);
    CHECK_EQ_INT(pb__extism_length(x, f), 5000);
    /* freed neighbours are not merged: 8 and 100 bytes free side by side hold no 110 */
    uint64_t left = 2 * PAGE - 128 - (pos + (PAGE - 128 - pos - 50) + 5012);
    CHECK(pb__extism_alloc(x, left - HDR - 20) != 0);
    pb__extism_free_block(x, b);
    pb__extism_free_block(x, c);
    uint64_t g = pb__extism_alloc(x, 110);
    CHECK(g > f);
    CHECK_EQ_INT(pb__extism_memory_bytes(x), 3 * PAGE - 64);
    /* but one of them is taken for what fits it, when the memory would grow again */
    left = 3 * PAGE - 128 - (g + 110 - 65);
    CHECK(pb__extism_alloc(x, left - HDR - 20) != 0);
    CHECK_EQ_INT(pb__extism_alloc(x, 100), c);
    CHECK_EQ_INT(pb__extism_memory_bytes(x), 3 * PAGE - 64);
    /* begin frees everything: the first block is at 77 again, and the memory is zeroed */
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    CHECK_EQ_INT(pb__extism_length(x, FIRST), 0);
    CHECK_EQ_INT(pb__extism_memory_bytes(x), PAGE - 64);
    uint64_t h = pb__extism_alloc(x, 16);
    CHECK_EQ_INT(h, FIRST);
    CHECK_EQ_INT(pb__extism_load_u64(x, h), 0);
    CHECK_EQ_INT(pb__extism_load_u64(x, 2000), 0);
    /* reset, which the kernel exports too: every block gone */
    pb__extism_reset(x);
    CHECK_EQ_INT(pb__extism_length(x, FIRST), 0);
    CHECK_EQ_INT(pb__extism_alloc(x, 4), FIRST);
    pb__extism_free(x);
}

/* ---- offsets the plugin makes up --------------------------------------------------------- */

static int traps;
static void count_trap(void *user, int kind, const char *msg, size_t len)
{
    (void)user;
    (void)kind;
    traps++;
    CHECK(strlen(msg) == len);
}

static void test_bad_offsets(void)
{
    pb_extism *x = fresh(1u << 20);
    pb__extism_set_trap(x, count_trap, NULL);
    pb__extism_set_log(x, NULL, NULL, 5);
    uint64_t p = pb__extism_alloc(x, 40);
    pb__extism_store_u64(x, p, 42);
    uint64_t size = PAGE;
    const uint64_t bad[] = {0, 1, 8, 63, 64, 65, 76, p - 1, p + 1, p + 39, p + 40, 4000, size - 8, size - 1,
                            size, size + 1, 1ull << 32, (1ull << 32) + p, UINT64_MAX - 8, UINT64_MAX - 7,
                            UINT64_MAX - 6, UINT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t o = bad[i];
        CHECK_EQ_INT(pb__extism_length(x, o), 0);
        (void)pb__extism_length_unsafe(x, o); /* garbage allowed, a crash not */
        if (o < 64 || o >= size)
            CHECK_EQ_INT(pb__extism_load_u8(x, o), 0);
        if (o + 7 < 64 || o + 7 >= size)
            CHECK_EQ_INT(pb__extism_load_u64(x, o), 0);
        pb__extism_free_block(x, o);
        /* out of range: the stores do nothing */
        if (o < 64 || o >= size)
            pb__extism_store_u8(x, o, 9);
        if (o + 7 < 64 || o + 7 >= size) /* the last byte's offset, wrapping as the kernel's */
            pb__extism_store_u64(x, o, 9);
        CHECK_EQ_INT(pb__extism_load_u64(x, p), 42);
        CHECK_EQ_INT(pb__extism_length(x, p), 40);
        /* the host functions fail the call for an offset that is no block (0 is the empty one) */
        if (o != 0) {
            int t = traps;
            CHECK_EQ_INT(pb__extism_config_get(x, o), 0);
            CHECK_EQ_INT(pb__extism_var_get(x, o), 0);
            pb__extism_var_set(x, o, p);
            CHECK_EQ_INT(pb__extism_http_request(x, o, 0), 0);
            CHECK_EQ_INT(traps, t + 4);
            CHECK_EQ_INT(pb__extism_length(x, p), 40); /* the value was not taken */
        }
        pb__extism_error_set(x, o);
        pb__extism_output_set(x, o, 1);
        pb__extism_input_set(x, o, 8);
    }
    const char *msg;
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
    CHECK_STR(msg, "invalid handle offset for config key: 1"); /* the first one is kept */
    /* in-range stores near the end land; the last byte is the memory's */
    pb__extism_store_u64(x, size - 8, 0x1122334455667788ull);
    CHECK(pb__extism_load_u64(x, size - 8) == 0x1122334455667788ull);
    CHECK_EQ_INT(pb__extism_load_u8(x, size - 1), 0x11);
    pb__extism_store_u64(x, size - 7, 1);
    CHECK_EQ_INT(pb__extism_load_u64(x, size - 7), 0);
    CHECK_EQ_INT(pb__extism_load_u8(x, size - 1), 0x11);
    /* a header overwritten by the plugin: lengths may be wrong, accesses stay inside */
    pb__extism_store_u64(x, p - HDR + 4, 0xffffffffffffffffull);
    CHECK_EQ_INT(pb__extism_length(x, p), 0);
    (void)pb__extism_alloc(x, 70000);
    uint64_t q = pb__extism_alloc(x, 10);
    CHECK(q != 0);
    CHECK_EQ_INT(pb__extism_config_get(x, p), 0);
    pb__extism_free(x);
    /* before a begin, or after one that failed, there is no memory: nothing to reach */
    x = pb__extism_new(1000);
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), -1);
    CHECK_EQ_INT(pb__extism_load_u8(x, 100), 0);
    CHECK_EQ_INT(pb__extism_load_u64(x, 100), 0);
    pb__extism_store_u64(x, 100, 1);
    CHECK_EQ_INT(pb__extism_length_unsafe(x, 100), 0);
    CHECK_EQ_INT(pb__extism_alloc(x, 8), 0);
    CHECK_EQ_INT(trap_kind(x, NULL), PB_EXTISM_TRAP_HOST);
    pb__extism_reset(x);
    pb__extism_free(x);
}

/* ---- output and error -------------------------------------------------------------------- */

static void test_output(void)
{
    pb_extism *x = fresh(1u << 20);
    const uint8_t *out;
    size_t n;
    pb__extism_output(x, &out, &n);
    CHECK(out == NULL && n == 0);
    uint64_t p = puts_(x, "result!");
    pb__extism_output_set(x, p, 7);
    CHECK_EQ_INT(pb__extism_output_offset(x), p);
    CHECK_EQ_INT(pb__extism_output_length(x), 7);
    pb__extism_output(x, &out, &n);
    CHECK(n == 7 && out && !memcmp(out, "result!", 7));
    /* ranges the kernel refuses: nothing changes */
    const uint64_t bad[][2] = {{0, 0}, {0, 5}, {64, 1}, {65, 0}, {PAGE + 1, 1}, {PAGE, 1}, {p, PAGE},
                               {UINT64_MAX, 2}, {100, UINT64_MAX - 50}, {p, UINT64_MAX}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pb__extism_output_set(x, bad[i][0], bad[i][1]);
        CHECK_EQ_INT(pb__extism_output_offset(x), p);
        CHECK_EQ_INT(pb__extism_output_length(x), 7);
    }
    /* a range of the memory that is no block is taken, as in the kernel; so is length 0 */
    pb__extism_output_set(x, PAGE - 10, 10);
    pb__extism_output(x, &out, &n);
    CHECK(n == 10 && out && out[0] == 0);
    pb__extism_output_set(x, p, 0);
    pb__extism_output(x, &out, &n);
    CHECK(n == 0 && out != NULL);
    /* the output survives the block's free (the kernel does not clear it) */
    pb__extism_output_set(x, p, 7);
    pb__extism_free_block(x, p);
    pb__extism_output(x, &out, &n);
    CHECK(n == 7 && !memcmp(out, "result!", 7));
    /* the next begin clears it */
    CHECK_EQ_INT(pb__extism_begin(x, "in", 2, 0), 0);
    pb__extism_output(x, &out, &n);
    CHECK(out == NULL && n == 0);
    CHECK_EQ_INT(pb__extism_output_length(x), 0);
    pb__extism_free(x);
}

static void test_error(void)
{
    pb_extism *x = fresh(1u << 20);
    size_t n = 99;
    CHECK(pb__extism_error(x, &n) == NULL);
    uint64_t e = puts_(x, "boom");
    pb__extism_error_set(x, e);
    CHECK_EQ_INT(pb__extism_error_get(x), e);
    const char *m = pb__extism_error(x, &n);
    CHECK(m && n == 4 && !memcmp(m, "boom", 4));
    pb__extism_error_set(x, UINT64_MAX); /* out of range: ignored */
    CHECK_EQ_INT(pb__extism_error_get(x), e);
    pb__extism_error_set(x, 0); /* 0 clears */
    CHECK_EQ_INT(pb__extism_error_get(x), 0);
    CHECK(pb__extism_error(x, &n) == NULL);
    /* an offset in range that is no block is kept, but reads as no error (length 0) */
    pb__extism_error_set(x, e + 1);
    CHECK_EQ_INT(pb__extism_error_get(x), e + 1);
    CHECK(pb__extism_error(x, &n) == NULL);
    /* nor does a freed block */
    pb__extism_error_set(x, e);
    pb__extism_free_block(x, e);
    CHECK(pb__extism_error(x, &n) == NULL);
    /* begin clears it */
    e = puts_(x, "again");
    pb__extism_error_set(x, e);
    CHECK(pb__extism_error(x, &n) != NULL);
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    CHECK_EQ_INT(pb__extism_error_get(x), 0);
    CHECK(pb__extism_error(x, &n) == NULL);
    pb__extism_free(x);
}

/* ---- configuration ------------------------------------------------------------------------ */

static size_t last_key_len = 99;
static int config(void *user, const char *key, size_t key_len, const char **value, size_t *value_len)
{
    (void)user;
    last_key_len = key_len;
    if (key_len == 1 && key[0] == 'a') {
        *value = "xyz";
        *value_len = 3;
        return 1;
    }
    if (key_len == 5 && !memcmp(key, "empty", 5)) {
        *value = "";
        *value_len = 0;
        return 1;
    }
    if (key_len == 4 && !memcmp(key, "fail", 4))
        return -1;
    return 0;
}

static void test_config(void)
{
    pb_extism *x = fresh(1u << 20);
    uint64_t k = puts_(x, "missing");
    CHECK_EQ_INT(pb__extism_config_get(x, k), 0); /* no lookup: nothing found */
    pb__extism_set_config(x, config, NULL);
    k = puts_(x, "a");
    uint64_t v = pb__extism_config_get(x, k);
    CHECK(v != 0);
    CHECK_STR(get(x, v), "xyz");
    CHECK_EQ_INT(pb__extism_length(x, k), 0); /* the host took the key */
    CHECK_EQ_INT(pb__extism_config_get(x, puts_(x, "nope")), 0);
    CHECK_EQ_INT(pb__extism_config_get(x, puts_(x, "empty")), 0); /* Extism: an empty value is no block */
    CHECK_EQ_INT(pb__extism_config_get(x, 0), 0);                 /* offset 0: the key "" */
    CHECK_EQ_INT(last_key_len, 0);
    CHECK_EQ_INT(trap_kind(x, NULL), 0);
    /* a key that is not UTF-8 fails the call with Rust's words */
    const char *msg;
    CHECK_EQ_INT(pb__extism_config_get(x, put(x, "a\xff", 2)), 0);
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
    CHECK_STR(msg, "invalid utf-8 sequence of 1 bytes from index 1");
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    CHECK_EQ_INT(pb__extism_config_get(x, put(x, "ab\xe2\x82", 4)), 0);
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
    CHECK_STR(msg, "incomplete utf-8 byte sequence from index 2");
    /* the host's lookup failing is the host's error */
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    CHECK_EQ_INT(pb__extism_config_get(x, puts_(x, "fail")), 0);
    CHECK_EQ_INT(trap_kind(x, NULL), PB_EXTISM_TRAP_HOST);
    pb__extism_free(x);
}

/* ---- variables ---------------------------------------------------------------------------- */

static void test_vars(void)
{
    pb_extism *x = fresh(1u << 20);
    CHECK_EQ_INT(pb__extism_var_get(x, puts_(x, "n")), 0);
    uint64_t k = puts_(x, "n"), v = puts_(x, "one");
    pb__extism_var_set(x, k, v);
    CHECK_EQ_INT(trap_kind(x, NULL), 0);
    CHECK_EQ_INT(pb__extism_length(x, k), 0); /* both taken by the host */
    CHECK_EQ_INT(pb__extism_length(x, v), 0);
    CHECK_EQ_INT(pb__extism_memory_used(x), PAGE + 48 + 1 + 3);
    CHECK_STR(get(x, pb__extism_var_get(x, puts_(x, "n"))), "one");
    pb__extism_var_set(x, puts_(x, "n"), puts_(x, "three"));
    CHECK_STR(get(x, pb__extism_var_get(x, puts_(x, "n"))), "three");
    CHECK_EQ_INT(pb__extism_memory_used(x), PAGE + 48 + 1 + 5);
    pb__extism_var_set(x, 0, puts_(x, "empty key"));
    CHECK_STR(get(x, pb__extism_var_get(x, 0)), "empty key");
    /* kept across calls when asked */
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 1), 0);
    CHECK_STR(get(x, pb__extism_var_get(x, puts_(x, "n"))), "three");
    /* value 0 deletes */
    k = puts_(x, "n");
    pb__extism_var_set(x, k, 0);
    CHECK_EQ_INT(pb__extism_length(x, k), 0);
    CHECK_EQ_INT(pb__extism_var_get(x, puts_(x, "n")), 0);
    CHECK_STR(get(x, pb__extism_var_get(x, 0)), "empty key");
    pb__extism_var_set(x, puts_(x, "never set"), 0); /* deleting nothing: fine */
    CHECK_EQ_INT(trap_kind(x, NULL), 0);
    /* fresh state: gone */
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    CHECK_EQ_INT(pb__extism_var_get(x, 0), 0);
    CHECK_EQ_INT(pb__extism_memory_used(x), PAGE);
    /* a value offset that is no block */
    pb__extism_var_set(x, puts_(x, "k"), 12345);
    const char *msg;
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
    CHECK_STR(msg, "invalid handle offset for var value: 12345");
    pb__extism_free(x);
}

static void test_var_limit(void)
{
    pb_extism *x = fresh(1u << 20);
    const char *msg;
    char big[100];
    memset(big, 'v', sizeof big);
    pb__extism_set_var_limit(x, 200);
    pb__extism_var_set(x, puts_(x, "kk"), put(x, big, 100)); /* 48 + 2 + 100 = 150 */
    CHECK_EQ_INT(trap_kind(x, NULL), 0);
    uint64_t k = puts_(x, "b"), v = put(x, big, 10); /* 150 + 48 + 1 + 10 = 209 > 200 */
    pb__extism_var_set(x, k, v);
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
    CHECK_STR(msg, "Variable store is full");
    CHECK_EQ_INT(pb__extism_length(x, v), 10); /* not taken */
    /* Extism counts the value being replaced too */
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 1), 0);
    pb__extism_var_set(x, puts_(x, "kk"), put(x, big, 1));
    CHECK_EQ_INT(trap_kind(x, NULL), PB_EXTISM_TRAP_PLUGIN);
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 1), 0);
    CHECK_EQ_INT(pb__extism_length(x, pb__extism_var_get(x, puts_(x, "kk"))), 100);
    /* 0 disables them */
    pb__extism_set_var_limit(x, 0);
    pb__extism_var_set(x, puts_(x, "x"), puts_(x, "y"));
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
    CHECK_STR(msg, "Vars are disabled by this host");
    pb__extism_free(x);
    /* the variables count against the memory limit too */
    x = fresh(PAGE + 100);
    pb__extism_var_set(x, puts_(x, "a"), put(x, big, 40)); /* 89 */
    CHECK_EQ_INT(trap_kind(x, NULL), 0);
    pb__extism_var_set(x, puts_(x, "b"), put(x, big, 40)); /* 178 > 100 */
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_LIMIT);
    CHECK_STR(msg, "out of memory");
    CHECK_EQ_INT(pb__extism_limit_hit(x), 1);
    CHECK_EQ_INT(pb__extism_memory_used(x), PAGE + 89);
    pb__extism_free(x);
}

/* ---- the memory limit --------------------------------------------------------------------- */

static void test_memory_limit(void)
{
    pb_extism *x = fresh(3 * PAGE);
    CHECK_EQ_INT(pb__extism_limit_hit(x), 0);
    CHECK_EQ_INT(pb__extism_memory_used(x), PAGE);
    uint64_t a = pb__extism_alloc(x, 2 * PAGE);
    CHECK_EQ_INT(a, FIRST);
    CHECK_EQ_INT(pb__extism_memory_used(x), 3 * PAGE);
    CHECK_EQ_INT(pb__extism_limit_hit(x), 0);
    CHECK_EQ_INT(pb__extism_alloc(x, PAGE), 0); /* the kernel's failed memory.grow: 0, no trap */
    CHECK_EQ_INT(pb__extism_limit_hit(x), 1);
    CHECK_EQ_INT(trap_kind(x, NULL), 0);
    CHECK(pb__extism_alloc(x, 100) != 0); /* what fits still does */
    CHECK_EQ_INT(pb__extism_alloc(x, UINT64_MAX), 0);
    CHECK_EQ_INT(pb__extism_alloc(x, 1ull << 32), 0);
    CHECK_EQ_INT(pb__extism_memory_used(x), 3 * PAGE);
    /* a host function's result that does not fit fails the call: Extism's "out of memory" */
    pb__extism_set_config(x, config, NULL);
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    CHECK_EQ_INT(pb__extism_limit_hit(x), 0);
    pb__extism_set_limit(x, PAGE);
    CHECK_EQ_INT(pb__extism_alloc(x, PAGE - 128 - 12 - 6), FIRST); /* 6 bytes left in the page */
    CHECK_EQ_INT(pb__extism_config_get(x, 0), 0);                 /* not found: nothing to make */
    CHECK_EQ_INT(pb__extism_alloc(x, 1), 0);
    CHECK_EQ_INT(pb__extism_limit_hit(x), 1);
    pb__extism_set_limit(x, 2 * PAGE);
    uint64_t k = puts_(x, "a"); /* the second page */
    CHECK_EQ_INT(k, 65 + (PAGE - 128 - 6) + HDR);
    uint64_t left = 2 * PAGE - 128 - (PAGE - 128 - 6) - HDR - 1;
    CHECK(pb__extism_alloc(x, left - HDR - 6) != 0); /* 6 bytes left again */
    CHECK_EQ_INT(pb__extism_config_get(x, k), 0);    /* "xyz" needs a third page */
    const char *msg;
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_LIMIT);
    CHECK_STR(msg, "out of memory");
    CHECK_EQ_INT(pb__extism_length(x, k), 0); /* the key was taken first, as in Extism */
    /* an input larger than the limit: begin refuses it */
    pb__extism_set_limit(x, 2 * PAGE);
    static char in[3 * PAGE];
    CHECK_EQ_INT(pb__extism_begin(x, in, sizeof in, 0), -1);
    CHECK_EQ_INT(pb__extism_limit_hit(x), 1);
    CHECK_EQ_INT(pb__extism_alloc(x, 8), 0); /* no memory after a failed begin */
    pb__extism_set_limit(x, 4 * PAGE);
    CHECK_EQ_INT(pb__extism_begin(x, in, sizeof in, 0), 0);
    CHECK_EQ_INT(pb__extism_input_length(x), sizeof in);
    CHECK_EQ_INT(pb__extism_limit_hit(x), 0);
    /* less than the kernel's first page */
    pb__extism_set_limit(x, PAGE - 1);
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), -1);
    CHECK_EQ_INT(pb__extism_limit_hit(x), 1);
    pb__extism_free(x);
}

/* ---- logging ------------------------------------------------------------------------------ */

static int log_count, log_level;
static char log_text[256];
static void logger(void *user, int level, const char *text, size_t len)
{
    CHECK(user == &log_count);
    log_count++;
    log_level = level;
    snprintf(log_text, sizeof log_text, "%.*s", (int)len, text);
}

static void test_log(void)
{
    log_count = 0;
    pb_extism *x = fresh(1u << 20);
    CHECK_EQ_INT(pb__extism_get_log_level(x), INT32_MAX); /* off until set */
    uint64_t m = puts_(x, "quiet");
    pb__extism_log_error(x, m);
    CHECK_EQ_INT(pb__extism_length(x, m), 0); /* filtered: freed all the same */
    pb__extism_set_log(x, logger, &log_count, 2);
    CHECK_EQ_INT(pb__extism_get_log_level(x), 2);
    m = puts_(x, "debug");
    pb__extism_log_trace(x, puts_(x, "trace"));
    pb__extism_log_debug(x, m);
    CHECK_EQ_INT(log_count, 0);
    CHECK_EQ_INT(pb__extism_length(x, m), 0);
    pb__extism_log_debug(x, 999); /* filtered: a bad offset is no error */
    CHECK_EQ_INT(trap_kind(x, NULL), 0);
    m = puts_(x, "hello");
    pb__extism_log_info(x, m);
    CHECK_EQ_INT(log_count, 1);
    CHECK_EQ_INT(log_level, 2);
    CHECK_STR(log_text, "hello");
    CHECK_EQ_INT(pb__extism_length(x, m), 0);
    pb__extism_log_warn(x, puts_(x, "w"));
    CHECK_EQ_INT(log_level, 3);
    pb__extism_log_error(x, puts_(x, "e"));
    CHECK_EQ_INT(log_level, 4);
    CHECK_STR(log_text, "e");
    pb__extism_log_info(x, 0); /* the empty block */
    CHECK_EQ_INT(log_count, 4);
    CHECK_STR(log_text, "");
    /* not UTF-8: Extism logs its own error line instead */
    pb__extism_log_info(x, put(x, "ok\xc3(", 4));
    CHECK_EQ_INT(log_level, 4);
    CHECK_STR(log_text, "unable to log message: Err(invalid utf-8 sequence of 1 bytes from index 2)");
    CHECK_EQ_INT(trap_kind(x, NULL), 0);
    pb__extism_log_warn(x, 999);
    const char *msg;
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
    CHECK_STR(msg, "invalid handle offset for log message: 999");
    pb__extism_set_log(x, logger, &log_count, 0);
    CHECK_EQ_INT(pb__extism_get_log_level(x), 0);
    pb__extism_log_trace(x, puts_(x, "t"));
    CHECK_EQ_INT(log_level, 0);
    pb__extism_set_log(x, NULL, NULL, 0);
    CHECK_EQ_INT(pb__extism_get_log_level(x), INT32_MAX);
    int before = log_count;
    pb__extism_log_error(x, puts_(x, "e"));
    CHECK_EQ_INT(log_count, before);
    pb__extism_free(x);
}

/* ---- http --------------------------------------------------------------------------------- */

static sigjmp_buf trap_jb;
static int jumped_kind;
static void jump_trap(void *user, int kind, const char *msg, size_t len)
{
    (void)user;
    (void)msg;
    (void)len;
    jumped_kind = kind;
    siglongjmp(trap_jb, 1);
}

static void test_http(void)
{
    pb_extism *x = fresh(1u << 20);
    const char *msg;
    uint64_t r = puts_(x, "{\"headers\": {\"url\": \"no\"}, \"method\": \"GET\", \"url\": \"https:\\/\\/example.com/x?a=1\"}");
    CHECK_EQ_INT(pb__extism_http_request(x, r, 0), 0);
    CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
    CHECK_STR(msg, "HTTP request to https://example.com/x?a=1 is not allowed");
    CHECK_EQ_INT(pb__extism_length(x, r), 0);
    CHECK_EQ_INT(pb__extism_http_status_code(x), 0);
    CHECK_EQ_INT(pb__extism_http_headers(x), 0);
    const char *bad[] = {"not json", "[\"url\", \"x\"]", "{\"a\": {\"url\": \"x\"}}", "{\"url\": 5}", "{\"url\": \"x",
                         "{\"url\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
        CHECK_EQ_INT(pb__extism_http_request(x, puts_(x, bad[i]), 0), 0);
        CHECK_EQ_INT(trap_kind(x, &msg), PB_EXTISM_TRAP_PLUGIN);
        CHECK_HAS(msg, "invalid HTTP request");
    }
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    CHECK_EQ_INT(pb__extism_http_request(x, 0, 0), 0);
    CHECK_EQ_INT(trap_kind(x, NULL), PB_EXTISM_TRAP_PLUGIN);
    /* a long URL is cut, at a character boundary */
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    char req[1200] = "{\"url\": \"";
    size_t n = strlen(req);
    for (int i = 0; i < 500; i++, n += 2)
        memcpy(req + n, "\xc3\xa9", 2);
    memcpy(req + n, "\"}", 3);
    CHECK_EQ_INT(pb__extism_http_request(x, puts_(x, req), 0), 0);
    size_t len;
    CHECK_EQ_INT(pb__extism_trap(x, &msg, &len), PB_EXTISM_TRAP_PLUGIN);
    CHECK(len < 512 && strlen(msg) == len && !strncmp(msg, "HTTP request to \xc3\xa9", 18));
    CHECK_HAS(msg, "\xc3\xa9 is not allowed");
    /* a trap callback may leave by longjmp, as wasm2c's trap does; x stays usable */
    CHECK_EQ_INT(pb__extism_begin(x, NULL, 0, 0), 0);
    pb__extism_set_trap(x, jump_trap, NULL);
    r = puts_(x, "{\"url\": \"http://a\"}");
    volatile int jumped = 0;
    if (sigsetjmp(trap_jb, 0) == 0)
        pb__extism_http_request(x, r, 0);
    else
        jumped = 1;
    CHECK(jumped);
    CHECK_EQ_INT(jumped_kind, PB_EXTISM_TRAP_PLUGIN);
    CHECK_EQ_INT(pb__extism_length(x, r), 0);
    CHECK(pb__extism_alloc(x, 10) != 0);
    pb__extism_free(x);
}

/* ---- the import table --------------------------------------------------------------------- */

static const pb_extism_import *find(const char *module, const char *name)
{
    for (size_t i = 0; i < pb__extism_n_imports; i++)
        if (!strcmp(pb__extism_imports[i].module, module) && !strcmp(pb__extism_imports[i].name, name))
            return &pb__extism_imports[i];
    return NULL;
}

static void test_imports(void)
{
    /* Extism's own: kernel exports (wasm-objdump of runtime/src/extism-runtime.wasm) and the
     * host functions (runtime/src/plugin.rs) */
    static const char *const current[][2] = {
        {"alloc", "I:I"}, {"free", "I:"}, {"length", "I:I"}, {"length_unsafe", "I:I"}, {"load_u8", "I:i"},
        {"load_u64", "I:I"}, {"input_load_u8", "I:i"}, {"input_load_u64", "I:I"}, {"store_u8", "Ii:"},
        {"store_u64", "II:"}, {"input_set", "II:"}, {"output_set", "II:"}, {"input_length", ":I"},
        {"input_offset", ":I"}, {"output_length", ":I"}, {"output_offset", ":I"}, {"reset", ":"},
        {"error_set", "I:"}, {"error_get", ":I"}, {"memory_bytes", ":I"}, {"config_get", "I:I"},
        {"var_get", "I:I"}, {"var_set", "II:"}, {"http_request", "II:I"}, {"http_status_code", ":i"},
        {"http_headers", ":I"}, {"log_warn", "I:"}, {"log_info", "I:"}, {"log_debug", "I:"},
        {"log_error", "I:"}, {"log_trace", "I:"}, {"get_log_level", ":i"},
    };
    size_t nc = sizeof current / sizeof current[0], old = 0;
    for (size_t i = 0; i < nc; i++) {
        const pb_extism_import *e = find("extism:host/env", current[i][0]);
        CHECK(e != NULL);
        if (e)
            CHECK_STR(e->type, current[i][1]);
        char name[64];
        snprintf(name, sizeof name, "extism_%s", current[i][0]);
        if ((e = find("env", name))) {
            CHECK_STR(e->type, current[i][1]);
            old++;
        }
    }
    /* before 1.0 there were no length_unsafe, http_headers, log_trace, get_log_level */
    CHECK_EQ_INT(old, nc - 4);
    CHECK(find("env", "extism_input_length") && find("env", "extism_log_warn"));
    CHECK(!find("env", "extism_log_trace") && !find("env", "extism_length_unsafe"));
    CHECK_EQ_INT(pb__extism_n_imports, nc + old);
    for (size_t i = 0; i < pb__extism_n_imports; i++) {
        CHECK(pb__extism_imports[i].fn != NULL);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(pb__extism_imports[i].module, pb__extism_imports[j].module) ||
                  strcmp(pb__extism_imports[i].name, pb__extism_imports[j].name));
    }
    /* a loader calls through the table, cast back by the type */
    pb_extism *x = fresh(1u << 20);
    uint64_t (*alloc)(pb_extism *, uint64_t) = (uint64_t (*)(pb_extism *, uint64_t))find("env", "extism_alloc")->fn;
    void (*store)(pb_extism *, uint64_t, uint32_t) =
        (void (*)(pb_extism *, uint64_t, uint32_t))find("extism:host/env", "store_u8")->fn;
    uint32_t (*load)(pb_extism *, uint64_t) = (uint32_t (*)(pb_extism *, uint64_t))find("extism:host/env", "load_u8")->fn;
    uint64_t (*bytes_v0)(pb_extism *) = (uint64_t (*)(pb_extism *))find("env", "extism_memory_bytes")->fn;
    uint64_t p = alloc(x, 16);
    CHECK_EQ_INT(p, FIRST);
    store(x, p, 0xab);
    CHECK_EQ_INT(load(x, p), 0xab);
    CHECK_EQ_INT(bytes_v0(x), 16 + HDR); /* the old kernel's: the position */
    pb__extism_free(x);
}

/* ---- scribbles ---------------------------------------------------------------------------- */

/* A plugin that writes anywhere it may, headers included, then uses every function: answers
 * may be wrong (the kernel's would be), but every access stays inside the memory (the sanitizer
 * build checks it) and every length handed to the host lies inside it too. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static uint64_t some_offset(pb_extism *x, const uint64_t *blocks, size_t n)
{
    uint64_t size = pb__extism_memory_bytes(x) + 64;
    switch (rnd() % 6) {
    case 0: return n ? blocks[rnd() % n] : 0;
    case 1: return n ? blocks[rnd() % n] - HDR + rnd() % 16 : 0; /* a header */
    case 2: return rnd() % (size + 16);
    case 3: return size - rnd() % 16;
    case 4: return UINT64_MAX - rnd() % 16;
    default: return rnd() % 128;
    }
}

static void test_scribble(void)
{
    pb_extism *x = pb__extism_new(8u << 20);
    pb__extism_set_config(x, config, NULL);
    pb__extism_set_log(x, logger, &log_count, 0);
    int ok = 1;
    for (int round = 0; round < 200; round++) {
        CHECK_EQ_INT(pb__extism_begin(x, "input", 5, round % 2), 0);
        CHECK_EQ_INT(pb__extism_input_offset(x), FIRST);
        uint64_t blocks[64];
        size_t n = 0;
        for (int op = 0; op < 300; op++) {
            uint64_t o = some_offset(x, blocks, n), v = rnd();
            switch (rnd() % 14) {
            case 0: {
                uint64_t b = pb__extism_alloc(x, rnd() % 3 ? rnd() % 200 : rnd() % 70000);
                if (b && n < 64)
                    blocks[n++] = b;
                break;
            }
            case 1: pb__extism_free_block(x, o); break;
            case 2: pb__extism_store_u8(x, o, (uint32_t)v); break;
            case 3: pb__extism_store_u64(x, o, rnd() % 2 ? v : v % 3); break;
            case 4: (void)pb__extism_length(x, o); break; /* a forged header's garbage, as the kernel's */
            case 5: (void)pb__extism_length_unsafe(x, o); (void)pb__extism_load_u64(x, o); break;
            case 6: pb__extism_output_set(x, o, rnd() % 2 ? v : v % 300); break;
            case 7: pb__extism_error_set(x, o); break;
            case 8: (void)pb__extism_config_get(x, o); break;
            case 9: pb__extism_var_set(x, o, some_offset(x, blocks, n)); break;
            case 10: (void)pb__extism_var_get(x, o); break;
            case 11: pb__extism_log_info(x, o); break;
            case 12: (void)pb__extism_input_load_u64(x, v % 16); pb__extism_input_set(x, o, v % 300); break;
            default: (void)pb__extism_http_request(x, o, 0); break;
            }
        }
        const uint8_t *out;
        size_t on, en;
        pb__extism_output(x, &out, &on);
        uint64_t end = pb__extism_memory_bytes(x) + 64;
        ok &= !out || (pb__extism_output_offset(x) + on <= end && (on == 0 || out[on - 1] == out[on - 1]));
        const char *e = pb__extism_error(x, &en);
        ok &= !e || (pb__extism_error_get(x) + en <= end && e[en - 1] == e[en - 1]);
        ok &= pb__extism_input_offset(x) + pb__extism_input_length(x) <= end;
        if (pb__extism_input_length(x))
            (void)pb__extism_input_load_u8(x, pb__extism_input_length(x) - 1);
    }
    CHECK(ok);
    pb__extism_free(x);
}

/* ---- bulk --------------------------------------------------------------------------------- */

static void test_bulk(void)
{
    /* 8 MiB in and out 8 bytes at a time, as PDKs move data */
    size_t n = 8u << 20;
    uint8_t *in = malloc(n);
    CHECK(in != NULL);
    if (!in)
        return;
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i * 2654435761u >> 13);
    pb_extism *x = pb__extism_new(64u << 20);
    CHECK_EQ_INT(pb__extism_begin(x, in, n, 0), 0);
    uint64_t out = pb__extism_alloc(x, n);
    CHECK(out != 0);
    for (uint64_t i = 0; i < n; i += 8)
        pb__extism_store_u64(x, out + i, pb__extism_input_load_u64(x, i));
    pb__extism_output_set(x, out, n);
    const uint8_t *o;
    size_t on;
    pb__extism_output(x, &o, &on);
    CHECK(on == n && o && !memcmp(o, in, n));
    CHECK(pb__extism_memory_used(x) >= 2 * n && pb__extism_memory_used(x) <= 2 * n + 2 * PAGE);
    /* the next call starts small again */
    CHECK_EQ_INT(pb__extism_begin(x, "x", 1, 0), 0);
    CHECK_EQ_INT(pb__extism_memory_used(x), PAGE);
    CHECK_EQ_INT(pb__extism_load_u64(x, FIRST + 8), 0);
    pb__extism_free(x);
    free(in);
}

/* ---- every allocation failed in turn ------------------------------------------------------- */

/* 0: it ran through; 1: a host failure was reported (NULL, -1, a HOST trap); 2: wrongly. */
static int scenario(void)
{
    static char in[3000];
    int rc = 0;
    pb_extism *x = pb__extism_new(1u << 30);
    if (!x)
        return 1;
    pb__extism_set_config(x, config, NULL);
    if (pb__extism_begin(x, in, sizeof in, 0) != 0) {
        rc = pb__extism_limit_hit(x) ? 2 : 1;
        goto out;
    }
    if (!pb__extism_alloc(x, 3u << 20)) { /* past the size begin keeps */
        rc = trap_kind(x, NULL) == PB_EXTISM_TRAP_HOST ? 1 : 2;
        goto out;
    }
    for (int i = 0; i < 12; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        pb__extism_var_set(x, puts_(x, k), puts_(x, "value"));
        if (trap_kind(x, NULL)) {
            rc = trap_kind(x, NULL) == PB_EXTISM_TRAP_HOST ? 1 : 2;
            goto out;
        }
    }
    uint64_t v = pb__extism_config_get(x, puts_(x, "a"));
    if (!v) {
        rc = trap_kind(x, NULL) == PB_EXTISM_TRAP_HOST ? 1 : 2;
        goto out;
    }
    if (pb__extism_begin(x, in, sizeof in, 1) != 0) {
        rc = pb__extism_limit_hit(x) ? 2 : 1;
        goto out;
    }
    v = pb__extism_var_get(x, puts_(x, "k11"));
    if (!v || strcmp(get(x, v), "value"))
        rc = 2;
out:
    pb__extism_free(x);
    return rc;
}

static void test_fail_every_allocation(void)
{
    pb_rt_fail_after(-1);
    CHECK_EQ_INT(scenario(), 0);
    long total = pb_rt_fail_after(-1);
    CHECK(total >= 6);
    for (long n = 0; n < total; n++) {
        pb_rt_fail_after(n);
        int rc = scenario();
        pb_rt_fail_after(-1);
        if (rc != 1)
            fprintf(stderr, "allocation %ld of %ld failed: scenario gave %d\n", n, total, rc);
        CHECK_EQ_INT(rc, 1);
        CHECK_EQ_INT(scenario(), 0);
    }
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"input", test_input},
        {"alloc", test_alloc},
        {"free_reuse", test_free_reuse},
        {"bad_offsets", test_bad_offsets},
        {"scribble", test_scribble},
        {"output", test_output},
        {"error", test_error},
        {"config", test_config},
        {"vars", test_vars},
        {"var_limit", test_var_limit},
        {"memory_limit", test_memory_limit},
        {"log", test_log},
        {"http", test_http},
        {"imports", test_imports},
        {"bulk", test_bulk},
        {"fail_every_allocation", test_fail_every_allocation},
    };
    return run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
