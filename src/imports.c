/* SPDX-License-Identifier: MIT */
/* imports.c - everything the guest can ask of the host: a few WASI calls and the console.
 *
 * Deny by default: the guest gets the wall clock and a monotonic clock (scripts see the wall
 * clock through Date, in milliseconds; no CPU-time clock), and standard output and error
 * routed to the console callback. There is no file, directory, socket, environment variable or argument to
 * reach: every other descriptor is EBADF, and the environment and arguments are empty.
 * Every guest pointer is checked against the instance's memory before use. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "rt/rt_check.h"

enum { WASI_OK = 0, WASI_EBADF = 8, WASI_EFAULT = 21, WASI_EINVAL = 28, WASI_ESPIPE = 70 };

static uint32_t rd32(const wasm_rt_memory_t *m, uint32_t p)
{
    uint32_t v;
    memcpy(&v, m->data + p, 4);
    return v;
}

/* The text goes to the host as valid UTF-8 without NUL (utf8.c), copied only when it is not
 * already; a copy that cannot be made is dropped rather than passed on as it is. */
static void console_out(pb_host *h, int level, const uint8_t *text, size_t len)
{
    if (!h->console)
        return;
    const char *s = (const char *)text;
    if (pb__utf8_valid(s, len) == len) {
        h->console(h->console_user, (plugbox_console_level)level, s, len);
        return;
    }
    char *clean = len <= SIZE_MAX / 3 ? pb_rt_malloc(len * 3) : NULL;
    if (!clean)
        return;
    size_t used, n = pb__utf8_copy(clean, len * 3, s, len, &used);
    h->console(h->console_user, (plugbox_console_level)level, clean, n);
    free(clean);
}

u32 Z_wasi_snapshot_preview1Z_fd_write(struct Z_wasi_snapshot_preview1_instance_t *wi, u32 fd, u32 iovs,
                                       u32 iovs_len, u32 nwritten)
{
    pb_host *h = wi->host;
    wasm_rt_memory_t *m = h->mem;
    if (fd != 1 && fd != 2)
        return WASI_EBADF;
    if (!pb_rt_in_bounds(m, iovs, (uint64_t)iovs_len * 8) || !pb_rt_in_bounds(m, nwritten, 4))
        return WASI_EFAULT;
    uint32_t total = 0;
    pb_rt_import_begin();
    for (uint32_t i = 0; i < iovs_len; i++) {
        uint32_t buf = rd32(m, iovs + i * 8), len = rd32(m, iovs + i * 8 + 4);
        if (!pb_rt_in_bounds(m, buf, len)) {
            pb_rt_import_end();
            return WASI_EFAULT;
        }
        if (len)
            console_out(h, fd == 1 ? PLUGBOX_CONSOLE_LOG : PLUGBOX_CONSOLE_ERROR, m->data + buf, len);
        total += len;
    }
    pb_rt_import_end();
    pb_rt_write(m, nwritten, &total, 4);
    return WASI_OK;
}

u32 Z_wasi_snapshot_preview1Z_clock_time_get(struct Z_wasi_snapshot_preview1_instance_t *wi, u32 clock_id,
                                             u64 precision, u32 out)
{
    (void)precision;
    clockid_t c;
    switch (clock_id) {
    case 0: c = CLOCK_REALTIME; break;
    case 1: c = CLOCK_MONOTONIC; break;
    default: return WASI_EINVAL; /* the CPU-time clocks, which would measure the host */
    }
    struct timespec ts;
    clock_gettime(c, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    return pb_rt_write(wi->host->mem, out, &ns, 8) == 0 ? WASI_OK : WASI_EFAULT;
}

u32 Z_wasi_snapshot_preview1Z_fd_close(struct Z_wasi_snapshot_preview1_instance_t *wi, u32 fd)
{
    (void)wi;
    (void)fd;
    return WASI_EBADF;
}

u32 Z_wasi_snapshot_preview1Z_fd_seek(struct Z_wasi_snapshot_preview1_instance_t *wi, u32 fd, u64 off, u32 whence,
                                      u32 out)
{
    (void)wi;
    (void)off;
    (void)whence;
    (void)out;
    return fd <= 2 ? WASI_ESPIPE : WASI_EBADF;
}

/* engine.h declares it only when the guest imports it (its C library does when the guest
 * writes to a stdio stream), which the guest does not now: declared here as well, or
 * -Wmissing-prototypes fails a build with warnings as errors (make test WERROR=1, CI) */
u32 Z_wasi_snapshot_preview1Z_fd_fdstat_get(struct Z_wasi_snapshot_preview1_instance_t *wi, u32 fd, u32 out);
u32 Z_wasi_snapshot_preview1Z_fd_fdstat_get(struct Z_wasi_snapshot_preview1_instance_t *wi, u32 fd, u32 out)
{
    if (fd > 2)
        return WASI_EBADF;
    /* a character device, writable for 1 and 2, nothing else */
    uint8_t st[24] = {2};
    uint64_t rights = fd == 0 ? 0 : 0x40; /* fd_write */
    memcpy(st + 8, &rights, 8);
    return pb_rt_write(wi->host->mem, out, st, sizeof st) == 0 ? WASI_OK : WASI_EFAULT;
}

void Z_plugboxZ_console(struct Z_plugbox_instance_t *pi, u32 level, u32 text, u32 len)
{
    pb_host *h = pi->host;
    if (!pb_rt_in_bounds(h->mem, text, len) || level > PLUGBOX_CONSOLE_DEBUG)
        return;
    pb_rt_import_begin();
    console_out(h, (int)level, h->mem->data + text, len);
    pb_rt_import_end();
}

/* QuickJS's stack check (guest/quickjs/03-limits.patch); guest/wasm2c.sh inlines it at every call
 * site, so this is only what engine.h declares. */
u32 Z_plugboxZ_stack_left(struct Z_plugbox_instance_t *pi)
{
    (void)pi;
    return pb_rt_native_left();
}
