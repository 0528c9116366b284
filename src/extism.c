/* SPDX-License-Identifier: MIT */
/* extism.c - Extism's kernel ABI, host side (extism.h).
 *
 * Follows Extism's kernel (kernel/src/lib.rs) and host functions (runtime/src/pdk.rs,
 * current_plugin.rs) at extism/extism 7230657f (2025-11-25), with the kernel's default
 * "bounds-checking" feature, as built into the runtime:
 *  - the memory's layout: the kernel's root sits at offset 1 and takes 64 bytes, the first
 *    block's 12-byte header (status u8, size u32 at +4, used u32 at +8, little-endian, as
 *    wasm32 lays out MemoryBlock) at 65, so offsets are the ones Extism gives; headers live in
 *    the memory, where load_u8 sees them;
 *  - the allocator: bump while the pages hold the block; first-fit reuse of freed blocks only
 *    when the memory would otherwise grow, splitting off the tail of a block that has 128 bytes
 *    or more to spare; no merging of neighbours (the kernel has none); growth by whole pages;
 *  - what each function answers for a bad offset: mostly 0 or nothing; the host functions
 *    (config_get, var_get, var_set, log_*, http_request) fail the call for an offset that is
 *    not a live block, as Extism's do (a trap, see extism.h), and offset 0 is the empty block;
 *  - the variables' size limit and its arithmetic, the log level filter, get_log_level;
 *  - http_request: Extism with no allowed host fails the call with "HTTP request to URL is
 *    not allowed"; the status code stays 0 and http_headers answers 0.
 * Where it departs, and why:
 *  - the root is host state, not bytes of the memory: bytes 1..64 hold nothing, so a store the
 *    kernel accepts there (at 57..64) corrupts no input, output or error field;
 *  - the memory starts at one page (the kernel module declares 16, which only widens the
 *    range load_u8/store_u8 accept) and is fresh for each call (zeroed, one page again): a
 *    call sees nothing an earlier one left;
 *  - the kernel traps on a load or store that ends at exactly the memory's size (its check is
 *    off by one), lets output_set/input_set name a range one byte past the end, and lets an
 *    index near 2^64 wrap in input_load_u64 and output_set; here those read 0 or are refused:
 *    no access, the host's included, leaves the memory;
 *  - walks over the blocks stop at the allocator's position and at a header that is not
 *    consistent (the plugin can overwrite headers, as in the kernel): a forged header can give
 *    wrong lengths, never an access outside the memory; a reused "unused" block must be large
 *    enough (the kernel would take it whatever its size);
 *  - a growth past the limit makes alloc return 0, as the kernel's failed memory.grow does
 *    (Extism's limiter traps there instead); the caller sees it in pb__extism_limit_hit; the
 *    variables count against the same limit (Extism keeps them outside its memory limit);
 *  - the pre-1.0 names are aliases of the current functions (that allocator's quirks are
 *    gone), but for extism_memory_bytes, which answered the position then. */
#define _GNU_SOURCE /* rt.h: sigjmp_buf */
#include "extism.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/rt.h"

#define PAGE 65536u
#define ROOT 64u                      /* sizeof(MemoryRoot), at offset 1 */
#define BASE 65u                      /* the first block's header */
#define HDR 12u                       /* sizeof(MemoryBlock) on wasm32 */
#define SPLIT 128u                    /* a free block with this much to spare is split */
#define MAX_SIZE (65536ull * PAGE)    /* a wasm32 memory */
#define KEEP (1u << 20)               /* a larger memory is given back at the next begin */
#define VAR_OVERHEAD 48u              /* Extism counts a String and a Vec per variable */
#define LOG_OFF 5
#define URL_ROOM 256

enum { UNUSED = 0, ACTIVE = 1, FREE = 2 };
enum { E_OK = 0, E_LIMIT = 1, E_HOST = 2 };

typedef struct pb_var {
    uint8_t *data; /* key, then value */
    size_t key_len, value_len;
} pb_var;

struct pb_extism {
    uint8_t *buf;       /* the memory: cap bytes, all zero from dirty on */
    uint64_t cap, dirty;
    uint64_t size;      /* the kernel's memory size: whole pages, 0 before a begin succeeds */
    uint64_t position;  /* the bump allocator's, from BASE */
    uint64_t limit, var_limit;
    uint64_t input_offset, input_length, output_offset, output_length, error;
    int limit_hit;
    int trap_kind;
    size_t trap_len;
    char trap_msg[512];
    pb_extism_trap_fn trap_fn;
    void *trap_user;
    pb_extism_config_fn config_fn;
    void *config_user;
    pb_extism_log_fn log_fn;
    void *log_user;
    int log_level;
    pb_var *vars;
    size_t n_vars, vars_cap;
    uint64_t var_bytes;
};

/* ---- bytes -------------------------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

static void touch(pb_extism *x, uint64_t end)
{
    if (end > x->dirty)
        x->dirty = end;
}

/* Rust's str::from_utf8, which Extism applies to keys and messages: 1 when s[0..n) is UTF-8;
 * else 0, with the valid prefix's length and the bad sequence's (0: the input ends inside it). */
static int utf8_check(const uint8_t *s, uint64_t n, uint64_t *valid_up_to, int *error_len)
{
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int w = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        int bad = 0; /* the bad sequence's length, -1 when the input ends inside it */
        if (!w) {
            bad = 1;
        } else if (i + 1 >= n) {
            bad = -1;
        } else {
            uint8_t lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
            uint8_t hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
            if (s[i + 1] < lo || s[i + 1] > hi)
                bad = 1;
            for (int k = 2; !bad && k < w; k++)
                if (i + k >= n)
                    bad = -1;
                else if ((s[i + k] & 0xC0) != 0x80)
                    bad = k;
        }
        if (bad) {
            *valid_up_to = i;
            *error_len = bad < 0 ? 0 : bad;
            return 0;
        }
        i += (uint64_t)w;
    }
    return 1;
}

/* Rust's Display of that Utf8Error. */
static void utf8_error_text(char *d, size_t room, uint64_t valid_up_to, int error_len)
{
    if (error_len)
        snprintf(d, room, "invalid utf-8 sequence of %d bytes from index %" PRIu64, error_len, valid_up_to);
    else
        snprintf(d, room, "incomplete utf-8 byte sequence from index %" PRIu64, valid_up_to);
}

/* ---- traps -------------------------------------------------------------------------------- */

static void trap(pb_extism *x, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void trap(pb_extism *x, int kind, const char *fmt, ...)
{
    if (!x->trap_kind) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(x->trap_msg, sizeof x->trap_msg, fmt, ap);
        va_end(ap);
        uint64_t len = n < 0 ? 0 : (size_t)n < sizeof x->trap_msg ? (size_t)n : sizeof x->trap_msg - 1;
        int e;
        utf8_check((const uint8_t *)x->trap_msg, len, &len, &e); /* a cut character goes */
        x->trap_msg[len] = 0;
        x->trap_len = (size_t)len;
        x->trap_kind = kind;
    }
    if (x->trap_fn)
        x->trap_fn(x->trap_user, x->trap_kind, x->trap_msg, x->trap_len);
}

static void trap_status(pb_extism *x, int rc)
{
    if (rc == E_LIMIT) {
        x->limit_hit = 1;
        trap(x, PB_EXTISM_TRAP_LIMIT, "out of memory");
    } else {
        trap(x, PB_EXTISM_TRAP_HOST, "out of host memory");
    }
}

/* ---- the allocator ------------------------------------------------------------------------ */

/* Makes the memory new_size bytes (whole pages), if the limit leaves room for it with the
 * variables: the kernel's memory.grow. The buffer grows by doubling, within the limit. */
static int grow_to(pb_extism *x, uint64_t new_size)
{
    if (new_size > MAX_SIZE || x->var_bytes > x->limit || new_size > x->limit - x->var_bytes)
        return E_LIMIT;
    if (new_size > x->cap) {
        uint64_t room = (x->limit - x->var_bytes) / PAGE * PAGE;
        uint64_t c = x->cap * 2;
        if (room > MAX_SIZE)
            room = MAX_SIZE;
        if (c > room)
            c = room;
        if (c < new_size)
            c = new_size;
        if (c > SIZE_MAX)
            return E_HOST;
        uint8_t *b = pb_rt_realloc(x->buf, (size_t)c);
        if (!b)
            return E_HOST;
        memset(b + x->cap, 0, (size_t)(c - x->cap));
        x->buf = b;
        x->cap = c;
    }
    x->size = new_size;
    return E_OK;
}

/* The block's size, when the header at h is consistent: it ends at the position or before. */
static int header_ok(const pb_extism *x, uint64_t h, uint32_t *size)
{
    uint64_t end = BASE + x->position;
    if (h >= end || end - h < HDR)
        return 0;
    *size = rd32(x->buf + h + 4);
    return *size <= end - h - HDR;
}

/* The kernel's find_free_block: the first free block of n bytes or more, its tail split off
 * when 128 bytes or more would be left over. Returns its header, 0 when there is none. */
static uint64_t find_free(pb_extism *x, uint64_t n)
{
    uint32_t size;
    for (uint64_t h = BASE; header_ok(x, h, &size); h += HDR + size) {
        uint8_t st = x->buf[h];
        if ((st != FREE && st != UNUSED) || size < n)
            continue;
        if (st == FREE && size - n >= SPLIT) {
            uint32_t rest = (uint32_t)(size - n - HDR);
            uint64_t h1 = h + HDR + rest;
            wr32(x->buf + h + 4, rest);
            wr32(x->buf + h + 8, 0);
            x->buf[h1] = FREE;
            wr32(x->buf + h1 + 4, (uint32_t)n);
            wr32(x->buf + h1 + 8, 0);
            touch(x, h1 + HDR);
            return h1;
        }
        return h;
    }
    return 0;
}

/* The kernel's alloc: *out is the block's data, 0 for n == 0. */
static int kalloc(pb_extism *x, uint64_t n, uint64_t *out)
{
    *out = 0;
    if (!x->size)
        return E_HOST; /* no memory: pb__extism_begin failed */
    if (n == 0)
        return E_OK;
    if (n > UINT32_MAX)
        return E_LIMIT;
    uint64_t need = n + HDR;
    uint64_t left = x->size - 2 * ROOT - x->position; /* the kernel's length - position - root */
    if (need >= left) {
        if (need <= x->position) {
            uint64_t h = find_free(x, n);
            if (h) {
                wr32(x->buf + h + 8, (uint32_t)n);
                x->buf[h] = ACTIVE;
                *out = h + HDR;
                return E_OK;
            }
        }
        int rc = grow_to(x, x->size + (need - left + PAGE - 1) / PAGE * PAGE);
        if (rc)
            return rc;
    }
    uint64_t h = BASE + x->position;
    x->position += need;
    x->buf[h] = ACTIVE;
    wr32(x->buf + h + 4, (uint32_t)n);
    wr32(x->buf + h + 8, (uint32_t)n);
    touch(x, h + HDR);
    *out = h + HDR;
    return E_OK;
}

/* The kernel's find_block: the header of the live block whose data is at p, or 0. */
static uint64_t find_block(const pb_extism *x, uint64_t p)
{
    if (p < ROOT || p > x->size)
        return 0;
    uint32_t size;
    for (uint64_t h = BASE; h + HDR <= p && header_ok(x, h, &size); h += HDR + size)
        if (x->buf[h] == ACTIVE && h + HDR == p)
            return h;
    return 0;
}

static void kfree(pb_extism *x, uint64_t p)
{
    if (p == 0)
        return;
    uint64_t h = find_block(x, p);
    if (!h)
        return;
    x->buf[h] = FREE;
    if (p == x->input_offset) /* the input's bytes are gone */
        x->input_length = 0;
}

/* Extism's memory_handle: offset 0 is the empty block; another must be a live block. */
static int handle(const pb_extism *x, uint64_t p, const uint8_t **bytes, uint64_t *len)
{
    if (p == 0) {
        *bytes = (const uint8_t *)"";
        *len = 0;
        return 1;
    }
    uint64_t h = find_block(x, p);
    if (!h)
        return 0;
    uint64_t n = rd32(x->buf + h + 8);
    if (n == 0 || n > x->size - p)
        return 0;
    *bytes = x->buf + p;
    *len = n;
    return 1;
}

/* Extism's memory_new: a block holding s[0..n), 0 when n is 0; the call fails when it cannot
 * be made. */
static uint64_t new_block(pb_extism *x, const void *s, uint64_t n)
{
    uint64_t p;
    int rc = kalloc(x, n, &p);
    if (rc) {
        trap_status(x, rc);
        return 0;
    }
    if (n) {
        memcpy(x->buf + p, s, (size_t)n);
        touch(x, p + n);
    }
    return p;
}

/* The kernel's pointer_in_bounds on both ends of a range; the range must lie in the memory. */
static int range_ok(const pb_extism *x, uint64_t p, uint64_t len)
{
    if (p < BASE || p > x->size)
        return 0;
    return len == 0 ? p > BASE : len <= x->size - p;
}

static int utf8_key(pb_extism *x, const uint8_t *k, uint64_t n)
{
    uint64_t v;
    int e;
    if (utf8_check(k, n, &v, &e))
        return 1;
    char m[96];
    utf8_error_text(m, sizeof m, v, e);
    trap(x, PB_EXTISM_TRAP_PLUGIN, "%s", m);
    return 0;
}

/* ---- the object --------------------------------------------------------------------------- */

static void vars_clear(pb_extism *x)
{
    for (size_t i = 0; i < x->n_vars; i++)
        free(x->vars[i].data);
    x->n_vars = 0;
    x->var_bytes = 0;
}

pb_extism *pb__extism_new(uint64_t limit)
{
    pb_extism *x = pb_rt_calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->limit = limit;
    x->var_limit = PB_EXTISM_VAR_LIMIT;
    x->log_level = LOG_OFF;
    return x;
}

void pb__extism_free(pb_extism *x)
{
    if (!x)
        return;
    vars_clear(x);
    free(x->vars);
    free(x->buf);
    free(x);
}

void pb__extism_set_limit(pb_extism *x, uint64_t limit)
{
    x->limit = limit;
}

void pb__extism_set_var_limit(pb_extism *x, uint64_t bytes)
{
    x->var_limit = bytes;
}

uint64_t pb__extism_memory_used(const pb_extism *x)
{
    return x->size + x->var_bytes;
}

void pb__extism_set_trap(pb_extism *x, pb_extism_trap_fn fn, void *user)
{
    x->trap_fn = fn;
    x->trap_user = user;
}

void pb__extism_set_config(pb_extism *x, pb_extism_config_fn fn, void *user)
{
    x->config_fn = fn;
    x->config_user = user;
}

void pb__extism_set_log(pb_extism *x, pb_extism_log_fn fn, void *user, int min_level)
{
    x->log_fn = fn;
    x->log_user = user;
    x->log_level = !fn || min_level > 4 ? LOG_OFF : min_level < 0 ? 0 : min_level;
}

int pb__extism_begin(pb_extism *x, const void *input, size_t len, int keep_vars)
{
    x->trap_kind = 0;
    x->trap_len = 0;
    x->trap_msg[0] = 0;
    x->limit_hit = 0;
    x->input_offset = x->input_length = x->output_offset = x->output_length = x->error = 0;
    x->position = 0;
    x->size = 0;
    if (!keep_vars)
        vars_clear(x);
    if (x->cap > KEEP) {
        free(x->buf);
        x->buf = NULL;
        x->cap = 0;
    } else if (x->dirty) {
        memset(x->buf, 0, (size_t)x->dirty);
    }
    x->dirty = 0;
    int rc = grow_to(x, PAGE);
    if (rc == E_OK && len) {
        uint64_t p;
        if ((rc = kalloc(x, len, &p)) == E_OK) {
            memcpy(x->buf + p, input, len);
            touch(x, p + len);
            x->input_offset = p;
            x->input_length = len;
        }
    }
    if (rc == E_LIMIT)
        x->limit_hit = 1;
    if (rc) /* no memory: every function answers 0 or does nothing, alloc fails */
        x->size = x->position = 0;
    return rc ? -1 : 0;
}

void pb__extism_output(const pb_extism *x, const uint8_t **out, size_t *len)
{
    *out = x->output_offset ? x->buf + x->output_offset : NULL;
    *len = x->output_offset ? (size_t)x->output_length : 0;
}

const char *pb__extism_error(const pb_extism *x, size_t *len)
{
    const uint8_t *b;
    uint64_t n;
    if (!x->error || !handle(x, x->error, &b, &n))
        return NULL;
    *len = (size_t)n;
    return (const char *)b;
}

int pb__extism_limit_hit(const pb_extism *x)
{
    return x->limit_hit;
}

int pb__extism_trap(const pb_extism *x, const char **msg, size_t *len)
{
    if (msg)
        *msg = x->trap_msg;
    if (len)
        *len = x->trap_len;
    return x->trap_kind;
}

/* ---- the kernel's functions --------------------------------------------------------------- */

uint64_t pb__extism_alloc(pb_extism *x, uint64_t n)
{
    uint64_t p;
    int rc = kalloc(x, n, &p);
    if (rc == E_LIMIT)
        x->limit_hit = 1; /* the kernel: memory.grow failed, 0 */
    else if (rc)
        trap_status(x, rc);
    return p;
}

void pb__extism_free_block(pb_extism *x, uint64_t offs)
{
    kfree(x, offs);
}

uint64_t pb__extism_length(pb_extism *x, uint64_t offs)
{
    uint64_t h = offs ? find_block(x, offs) : 0;
    return h ? rd32(x->buf + h + 8) : 0;
}

/* No walk: the header before offs, if it says "active" (garbage for an offset that is no
 * block, as in the kernel, but always from inside the memory). */
uint64_t pb__extism_length_unsafe(pb_extism *x, uint64_t offs)
{
    if (offs < ROOT || offs > x->size)
        return 0;
    const uint8_t *h = x->buf + offs - HDR;
    return h[0] == ACTIVE ? rd32(h + 8) : 0;
}

uint32_t pb__extism_load_u8(pb_extism *x, uint64_t offs)
{
    return offs >= ROOT && offs < x->size ? x->buf[offs] : 0;
}

/* The kernel's check, on the last byte (wrapping: an offset near 2^64 lands below 64). */
static int u64_ok(const pb_extism *x, uint64_t offs)
{
    uint64_t last = offs + 7;
    return last >= ROOT && last < x->size;
}

uint64_t pb__extism_load_u64(pb_extism *x, uint64_t offs)
{
    if (!u64_ok(x, offs))
        return 0;
    return rd64(x->buf + offs);
}

void pb__extism_store_u8(pb_extism *x, uint64_t offs, uint32_t v)
{
    if (offs < ROOT || offs >= x->size)
        return;
    x->buf[offs] = (uint8_t)v;
    touch(x, offs + 1);
}

void pb__extism_store_u64(pb_extism *x, uint64_t offs, uint64_t v)
{
    if (!u64_ok(x, offs))
        return;
    wr64(x->buf + offs, v);
    touch(x, offs + 8);
}

uint64_t pb__extism_input_length(pb_extism *x)
{
    return x->input_length;
}

uint64_t pb__extism_input_offset(pb_extism *x)
{
    return x->input_offset;
}

uint32_t pb__extism_input_load_u8(pb_extism *x, uint64_t i)
{
    return i < x->input_length ? x->buf[x->input_offset + i] : 0;
}

uint64_t pb__extism_input_load_u64(pb_extism *x, uint64_t i)
{
    if (i > x->input_length || x->input_length - i < 8)
        return 0;
    return rd64(x->buf + x->input_offset + i);
}

void pb__extism_input_set(pb_extism *x, uint64_t offs, uint64_t len)
{
    if (!range_ok(x, offs, len))
        return;
    x->input_offset = offs;
    x->input_length = len;
}

void pb__extism_output_set(pb_extism *x, uint64_t offs, uint64_t len)
{
    if (!range_ok(x, offs, len))
        return;
    x->output_offset = offs;
    x->output_length = len;
}

uint64_t pb__extism_output_offset(pb_extism *x)
{
    return x->output_offset;
}

uint64_t pb__extism_output_length(pb_extism *x)
{
    return x->output_length;
}

void pb__extism_error_set(pb_extism *x, uint64_t offs)
{
    if (offs == 0 || (offs >= BASE && offs <= x->size))
        x->error = offs;
}

uint64_t pb__extism_error_get(pb_extism *x)
{
    return x->error;
}

void pb__extism_reset(pb_extism *x)
{
    if (x->position)
        memset(x->buf + BASE, 0, (size_t)x->position);
    x->position = 0;
    x->error = x->input_offset = x->input_length = x->output_offset = x->output_length = 0;
}

uint64_t pb__extism_memory_bytes(pb_extism *x)
{
    return x->size ? x->size - ROOT : 0; /* the kernel's root.length */
}

/* Before Extism 1.0, extism_memory_bytes answered the allocator's position. */
static uint64_t memory_bytes_v0(pb_extism *x)
{
    return x->position;
}

/* ---- the host's functions ----------------------------------------------------------------- */

uint64_t pb__extism_config_get(pb_extism *x, uint64_t key)
{
    const uint8_t *k;
    uint64_t kn;
    if (!handle(x, key, &k, &kn)) {
        trap(x, PB_EXTISM_TRAP_PLUGIN, "invalid handle offset for config key: %" PRIu64, key);
        return 0;
    }
    if (!utf8_key(x, k, kn))
        return 0;
    const char *v = NULL;
    size_t vn = 0;
    int found = x->config_fn ? x->config_fn(x->config_user, (const char *)k, (size_t)kn, &v, &vn) : 0;
    if (found < 0) {
        trap(x, PB_EXTISM_TRAP_HOST, "the configuration could not be read");
        return 0;
    }
    kfree(x, key); /* before the value's block, as Extism: it may take the key's place */
    return found ? new_block(x, v, vn) : 0;
}

static pb_var *var_find(pb_extism *x, const uint8_t *k, uint64_t kn)
{
    for (size_t i = 0; i < x->n_vars; i++)
        if (x->vars[i].key_len == kn && !memcmp(x->vars[i].data, k, (size_t)kn))
            return &x->vars[i];
    return NULL;
}

static uint64_t var_size(const pb_var *v)
{
    return VAR_OVERHEAD + v->key_len + v->value_len;
}

uint64_t pb__extism_var_get(pb_extism *x, uint64_t key)
{
    const uint8_t *k;
    uint64_t kn;
    if (!handle(x, key, &k, &kn)) {
        trap(x, PB_EXTISM_TRAP_PLUGIN, "invalid handle offset for var key: %" PRIu64, key);
        return 0;
    }
    if (!utf8_key(x, k, kn))
        return 0;
    pb_var *v = var_find(x, k, kn);
    kfree(x, key);
    return v ? new_block(x, v->data + v->key_len, v->value_len) : 0;
}

void pb__extism_var_set(pb_extism *x, uint64_t key, uint64_t value)
{
    const uint8_t *k, *val;
    uint64_t kn, vn;
    if (x->var_limit == 0) {
        trap(x, PB_EXTISM_TRAP_PLUGIN, "Vars are disabled by this host");
        return;
    }
    if (!handle(x, key, &k, &kn)) {
        trap(x, PB_EXTISM_TRAP_PLUGIN, "invalid handle offset for var key: %" PRIu64, key);
        return;
    }
    if (!utf8_key(x, k, kn))
        return;
    pb_var *old = var_find(x, k, kn);
    if (value == 0) {
        if (old) {
            x->var_bytes -= var_size(old);
            free(old->data);
            *old = x->vars[--x->n_vars];
        }
        kfree(x, key);
        return;
    }
    if (!handle(x, value, &val, &vn)) {
        trap(x, PB_EXTISM_TRAP_PLUGIN, "invalid handle offset for var value: %" PRIu64, value);
        return;
    }
    /* Extism's sum counts the variable being replaced too */
    if (VAR_OVERHEAD + kn + vn + x->var_bytes > x->var_limit) {
        trap(x, PB_EXTISM_TRAP_PLUGIN, "Variable store is full");
        return;
    }
    uint64_t bytes = x->var_bytes - (old ? var_size(old) : 0) + VAR_OVERHEAD + kn + vn;
    if (bytes > x->limit || x->size > x->limit - bytes) {
        trap_status(x, E_LIMIT);
        return;
    }
    if (!old && x->n_vars == x->vars_cap) {
        size_t c = x->vars_cap ? 2 * x->vars_cap : 8;
        pb_var *v = pb_rt_realloc(x->vars, c * sizeof *v);
        if (!v) {
            trap_status(x, E_HOST);
            return;
        }
        x->vars = v;
        x->vars_cap = c;
    }
    uint8_t *data = pb_rt_malloc((size_t)(kn + vn) + 1);
    if (!data) {
        trap_status(x, E_HOST);
        return;
    }
    memcpy(data, k, (size_t)kn);
    memcpy(data + kn, val, (size_t)vn);
    if (old)
        free(old->data);
    else
        old = &x->vars[x->n_vars++];
    *old = (pb_var){data, (size_t)kn, (size_t)vn};
    x->var_bytes = bytes;
    kfree(x, value);
    kfree(x, key);
}

/* The "url" string member of the JSON object s[0..n), its simple escapes undone, cut to fit
 * out (room bytes with the NUL) at a character boundary. Returns 0 when there is none. */
static int json_url(const uint8_t *s, uint64_t n, char *out, size_t room)
{
    uint64_t i = 0;
    int depth = 0, key = 0;
    for (; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"') {
            uint64_t start = i + 1, j = start;
            while (j < n && s[j] != '"')
                j += s[j] == '\\' ? 2 : 1;
            if (j >= n)
                return 0;
            if (depth == 1 && key) {
                int is_url = j - start == 3 && !memcmp(s + start, "url", 3);
                for (j++; j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'); j++)
                    ;
                if (j >= n || s[j] != ':')
                    return 0;
                for (j++; j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'); j++)
                    ;
                if (is_url) {
                    if (j >= n || s[j] != '"')
                        return 0;
                    uint64_t end = j + 1;
                    while (end < n && s[end] != '"')
                        end += s[end] == '\\' ? 2 : 1;
                    if (end >= n)
                        return 0;
                    size_t o = 0;
                    for (j++; j < end && o + 1 < room; j++) {
                        uint8_t d = s[j];
                        if (d == '\\' && j + 1 < end) {
                            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                            const char *e = memchr(from, s[j + 1], 8);
                            if (e) {
                                d = (uint8_t)to[e - from];
                                j++;
                            }
                        }
                        out[o++] = (char)d;
                    }
                    uint64_t valid = o;
                    int e;
                    utf8_check((const uint8_t *)out, o, &valid, &e);
                    out[valid] = 0;
                    return 1;
                }
                key = 0;
                i = j - 1;
                continue;
            }
            i = j;
        } else if (c == '{' || c == '[') {
            depth++;
            key = depth == 1 && c == '{';
        } else if (c == '}' || c == ']') {
            if (--depth <= 0)
                return 0;
        } else if (c == ',' && depth == 1) {
            key = 1;
        } else if (depth == 0 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return 0;
        }
    }
    return 0;
}

/* No host is allowed: Extism's answer for a request to a host the manifest does not list. */
uint64_t pb__extism_http_request(pb_extism *x, uint64_t req, uint64_t body)
{
    (void)body; /* Extism frees it only after a request that was made */
    const uint8_t *r;
    uint64_t rn;
    char url[URL_ROOM];
    if (!handle(x, req, &r, &rn)) {
        trap(x, PB_EXTISM_TRAP_PLUGIN, "invalid handle offset for http request: %" PRIu64, req);
        return 0;
    }
    int have = json_url(r, rn, url, sizeof url);
    kfree(x, req);
    if (have)
        trap(x, PB_EXTISM_TRAP_PLUGIN, "HTTP request to %s is not allowed", url);
    else
        trap(x, PB_EXTISM_TRAP_PLUGIN, "invalid HTTP request: not a JSON object with a \"url\" string");
    return 0;
}

uint32_t pb__extism_http_status_code(pb_extism *x)
{
    (void)x;
    return 0; /* no request was ever made */
}

uint64_t pb__extism_http_headers(pb_extism *x)
{
    (void)x;
    return 0; /* Extism without allow_http_response_headers */
}

static void log_at(pb_extism *x, int level, uint64_t offs)
{
    const uint8_t *b;
    uint64_t n;
    if (level < x->log_level) { /* filtered: the block is freed if it is one, no error */
        if (handle(x, offs, &b, &n))
            kfree(x, offs);
        return;
    }
    if (!handle(x, offs, &b, &n)) {
        trap(x, PB_EXTISM_TRAP_PLUGIN, "invalid handle offset for log message: %" PRIu64, offs);
        return;
    }
    uint64_t valid;
    int e;
    if (utf8_check(b, n, &valid, &e)) {
        x->log_fn(x->log_user, level, (const char *)b, (size_t)n);
    } else {
        char m[128], t[160];
        utf8_error_text(m, sizeof m, valid, e);
        int tn = snprintf(t, sizeof t, "unable to log message: Err(%s)", m);
        x->log_fn(x->log_user, 4, t, tn < 0 ? 0 : (size_t)tn < sizeof t ? (size_t)tn : sizeof t - 1);
    }
    kfree(x, offs);
}

void pb__extism_log_trace(pb_extism *x, uint64_t offs)
{
    log_at(x, 0, offs);
}

void pb__extism_log_debug(pb_extism *x, uint64_t offs)
{
    log_at(x, 1, offs);
}

void pb__extism_log_info(pb_extism *x, uint64_t offs)
{
    log_at(x, 2, offs);
}

void pb__extism_log_warn(pb_extism *x, uint64_t offs)
{
    log_at(x, 3, offs);
}

void pb__extism_log_error(pb_extism *x, uint64_t offs)
{
    log_at(x, 4, offs);
}

uint32_t pb__extism_get_log_level(pb_extism *x)
{
    return x->log_level == LOG_OFF ? INT32_MAX : (uint32_t)x->log_level;
}

/* ---- the imports -------------------------------------------------------------------------- */

/* name, wasm type, function: in "extism:host/env", and in the pre-1.0 "env" as extism_NAME */
#define PB_EXTISM_BOTH(X)                                   \
    X(alloc, "I:I", pb__extism_alloc)                       \
    X(free, "I:", pb__extism_free_block)                    \
    X(length, "I:I", pb__extism_length)                     \
    X(load_u8, "I:i", pb__extism_load_u8)                   \
    X(load_u64, "I:I", pb__extism_load_u64)                 \
    X(store_u8, "Ii:", pb__extism_store_u8)                 \
    X(store_u64, "II:", pb__extism_store_u64)               \
    X(input_length, ":I", pb__extism_input_length)          \
    X(input_offset, ":I", pb__extism_input_offset)          \
    X(input_load_u8, "I:i", pb__extism_input_load_u8)       \
    X(input_load_u64, "I:I", pb__extism_input_load_u64)     \
    X(input_set, "II:", pb__extism_input_set)               \
    X(output_set, "II:", pb__extism_output_set)             \
    X(output_offset, ":I", pb__extism_output_offset)        \
    X(output_length, ":I", pb__extism_output_length)        \
    X(error_set, "I:", pb__extism_error_set)                \
    X(error_get, ":I", pb__extism_error_get)                \
    X(reset, ":", pb__extism_reset)                         \
    X(config_get, "I:I", pb__extism_config_get)             \
    X(var_get, "I:I", pb__extism_var_get)                   \
    X(var_set, "II:", pb__extism_var_set)                   \
    X(http_request, "II:I", pb__extism_http_request)        \
    X(http_status_code, ":i", pb__extism_http_status_code)  \
    X(log_debug, "I:", pb__extism_log_debug)                \
    X(log_info, "I:", pb__extism_log_info)                  \
    X(log_warn, "I:", pb__extism_log_warn)                  \
    X(log_error, "I:", pb__extism_log_error)
/* added after the move to "extism:host/env" */
#define PB_EXTISM_NEW(X)                                    \
    X(length_unsafe, "I:I", pb__extism_length_unsafe)       \
    X(http_headers, ":I", pb__extism_http_headers)          \
    X(log_trace, "I:", pb__extism_log_trace)                \
    X(get_log_level, ":i", pb__extism_get_log_level)        \
    X(memory_bytes, ":I", pb__extism_memory_bytes)

#define FN(f) ((void (*)(void))(f))
#define CURRENT(name, type, f) {"extism:host/env", #name, type, FN(f)},
#define OLD(name, type, f) {"env", "extism_" #name, type, FN(f)},

const pb_extism_import pb__extism_imports[] = {
    PB_EXTISM_BOTH(CURRENT)
    PB_EXTISM_NEW(CURRENT)
    PB_EXTISM_BOTH(OLD)
    {"env", "extism_memory_bytes", ":I", FN(memory_bytes_v0)},
};
const size_t pb__extism_n_imports = sizeof pb__extism_imports / sizeof pb__extism_imports[0];
