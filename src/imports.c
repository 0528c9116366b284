/* SPDX-License-Identifier: MIT */
/* imports.c - everything the guest can ask of the host: a few WASI calls and the console.
 *
 * Deny by default: the guest gets the wall clock and a monotonic clock (scripts see the wall
 * clock through Date, in milliseconds; no CPU-time clock), and standard output and error
 * routed to the console callback. There is no file, directory, socket, environment variable
 * or argument to reach: every other descriptor is EBADF, and the environment and arguments
 * are empty. The one exception is the module files of a program being created, read by the
 * host from under the directory its options name (plugbox_options_set_module_dir).
 * Every guest pointer is checked against the instance's memory before use. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "internal.h"

enum {
    WASI_OK = 0, WASI_EBADF = 8, WASI_EFAULT = 21, WASI_EINVAL = 28, WASI_EIO = 29, WASI_ENOTSUP = 58,
    WASI_ESPIPE = 70, WASI_ENOTCAPABLE = 76
};

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

uint32_t pb__wasi_fd_write(pb_host *h, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nwritten)
{
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
        if (len && fd == 1 && h->command) {
            if (pb__host_out(h, m->data + buf, len) != 0) {
                pb_rt_import_end();
                return WASI_EIO; /* beyond the memory limit: the command sees an error */
            }
        } else if (len) {
            /* a console message is a line: the one newline that ends a write is the line's end */
            uint32_t n = m->data[buf + len - 1] == '\n' ? len - 1 : len;
            if (n)
                console_out(h, fd == 1 ? PLUGBOX_CONSOLE_LOG : PLUGBOX_CONSOLE_ERROR, m->data + buf, n);
        }
        total += len;
    }
    pb_rt_import_end();
    pb_rt_write(m, nwritten, &total, 4);
    return WASI_OK;
}

uint32_t pb__wasi_clock_time_get(pb_host *h, uint32_t clock_id, uint64_t precision, uint32_t out)
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
    return pb_rt_write(h->mem, out, &ns, 8) == 0 ? WASI_OK : WASI_EFAULT;
}

uint32_t pb__wasi_fd_close(pb_host *h, uint32_t fd)
{
    (void)h;
    (void)fd;
    return WASI_EBADF;
}

uint32_t pb__wasi_fd_seek(pb_host *h, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out)
{
    (void)h;
    (void)off;
    (void)whence;
    (void)out;
    return fd <= 2 ? WASI_ESPIPE : WASI_EBADF;
}

void pb__console(pb_host *h, uint32_t level, uint32_t text, uint32_t len)
{
    if (!pb_rt_in_bounds(h->mem, text, len) || level > PLUGBOX_CONSOLE_DEBUG)
        return;
    pb_rt_import_begin();
    console_out(h, (int)level, h->mem->data + text, len);
    pb_rt_import_end();
}

/* ---- a WASI command's standard streams, arguments and exit ---------------------------------------
 * A command module (one that exports _start) reads the call's input on standard input and
 * writes its result on standard output; its arguments are the program's. Everything else a
 * program might ask WASI for is denied: no environment, no preopened directory, no file. */

static void wr32(wasm_rt_memory_t *m, uint32_t p, uint32_t v) { pb_rt_write(m, p, &v, 4); }

int pb__host_out(pb_host *h, const uint8_t *s, size_t n)
{
    if (n > h->out_limit - h->out_len)
        return -1;
    if (h->out_len + n + 1 > h->out_cap) { /* and a NUL after it */
        size_t cap = h->out_cap ? h->out_cap : 4096;
        while (cap < h->out_len + n + 1)
            cap *= 2;
        char *p = pb_rt_realloc(h->out, cap);
        if (!p)
            return -1;
        h->out = p;
        h->out_cap = cap;
    }
    memcpy(h->out + h->out_len, s, n);
    h->out_len += n;
    h->out[h->out_len] = 0;
    return 0;
}

uint32_t pb__wasi_fd_read(pb_host *h, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nread)
{
    wasm_rt_memory_t *m = h->mem;
    if (fd != 0)
        return WASI_EBADF;
    if (!pb_rt_in_bounds(m, iovs, (uint64_t)iovs_len * 8) || !pb_rt_in_bounds(m, nread, 4))
        return WASI_EFAULT;
    uint32_t total = 0;
    for (uint32_t i = 0; i < iovs_len && h->stdin_pos < h->stdin_len; i++) {
        uint32_t buf = rd32(m, iovs + i * 8), len = rd32(m, iovs + i * 8 + 4);
        if (!pb_rt_in_bounds(m, buf, len))
            return WASI_EFAULT;
        size_t k = h->stdin_len - h->stdin_pos < len ? h->stdin_len - h->stdin_pos : len;
        pb_rt_write(m, buf, h->stdin + h->stdin_pos, k);
        h->stdin_pos += k;
        total += (uint32_t)k;
    }
    wr32(m, nread, total);
    return WASI_OK;
}

/* standard input, output and error are character devices; nothing else is open */
uint32_t pb__wasi_fd_fdstat_get(pb_host *h, uint32_t fd, uint32_t out)
{
    if (fd > 2)
        return WASI_EBADF;
    uint8_t st[24] = {2}; /* CHARACTER_DEVICE */
    uint64_t rights = fd == 0 ? 1u << 1 : 1u << 6; /* FD_READ, FD_WRITE */
    memcpy(st + 8, &rights, 8);
    return pb_rt_write(h->mem, out, st, sizeof st) == 0 ? WASI_OK : WASI_EFAULT;
}

uint32_t pb__wasi_fd_fdstat_set_flags(pb_host *h, uint32_t fd, uint32_t flags)
{
    (void)h, (void)flags;
    return fd > 2 ? WASI_EBADF : WASI_ENOTSUP;
}

uint32_t pb__wasi_fd_filestat_get(pb_host *h, uint32_t fd, uint32_t out)
{
    if (fd > 2)
        return WASI_EBADF;
    uint8_t st[64] = {0};
    st[16] = 2; /* CHARACTER_DEVICE */
    return pb_rt_write(h->mem, out, st, sizeof st) == 0 ? WASI_OK : WASI_EFAULT;
}

uint32_t pb__wasi_fd_prestat_get(pb_host *h, uint32_t fd, uint32_t out)
{
    (void)h, (void)fd, (void)out;
    return WASI_EBADF; /* no preopened directory */
}

uint32_t pb__wasi_fd_prestat_dir_name(pb_host *h, uint32_t fd, uint32_t path, uint32_t len)
{
    (void)h, (void)fd, (void)path, (void)len;
    return WASI_EBADF;
}

uint32_t pb__wasi_path_open(pb_host *h, uint32_t fd, uint32_t dirflags, uint32_t path, uint32_t path_len,
                            uint32_t oflags, uint64_t rights, uint64_t inheriting, uint32_t fdflags, uint32_t out)
{
    (void)h, (void)fd, (void)dirflags, (void)path, (void)path_len, (void)oflags, (void)rights, (void)inheriting,
        (void)fdflags, (void)out;
    return WASI_ENOTCAPABLE;
}

/* the environment is empty */
uint32_t pb__wasi_environ_sizes_get(pb_host *h, uint32_t count, uint32_t size)
{
    if (!pb_rt_in_bounds(h->mem, count, 4) || !pb_rt_in_bounds(h->mem, size, 4))
        return WASI_EFAULT;
    wr32(h->mem, count, 0);
    wr32(h->mem, size, 0);
    return WASI_OK;
}

uint32_t pb__wasi_environ_get(pb_host *h, uint32_t environ, uint32_t buf)
{
    (void)h, (void)environ, (void)buf;
    return WASI_OK;
}

uint32_t pb__wasi_args_sizes_get(pb_host *h, uint32_t count, uint32_t size)
{
    wasm_rt_memory_t *m = h->mem;
    if (!pb_rt_in_bounds(m, count, 4) || !pb_rt_in_bounds(m, size, 4))
        return WASI_EFAULT;
    uint64_t bytes = 0;
    for (size_t i = 0; i < h->argc; i++)
        bytes += strlen(h->argv[i]) + 1;
    if (bytes > UINT32_MAX)
        return WASI_EINVAL;
    wr32(m, count, (uint32_t)h->argc);
    wr32(m, size, (uint32_t)bytes);
    return WASI_OK;
}

uint32_t pb__wasi_args_get(pb_host *h, uint32_t argv, uint32_t buf)
{
    wasm_rt_memory_t *m = h->mem;
    if (!pb_rt_in_bounds(m, argv, (uint64_t)h->argc * 4))
        return WASI_EFAULT;
    for (size_t i = 0; i < h->argc; i++) {
        size_t n = strlen(h->argv[i]) + 1;
        if (!pb_rt_in_bounds(m, buf, n))
            return WASI_EFAULT;
        pb_rt_write(m, buf, h->argv[i], n);
        wr32(m, argv + (uint32_t)i * 4, buf);
        buf += (uint32_t)n;
    }
    return WASI_OK;
}

/* the command is over: the call leaves here (PB_RT_TRAP_EXIT), its status kept */
void pb__wasi_proc_exit(pb_host *h, uint32_t code)
{
    h->exit_code = (int)code;
    h->exited = 1;
    wasm_rt_trap((wasm_rt_trap_t)PB_RT_TRAP_EXIT);
}

uint32_t pb__wasi_random_get(pb_host *h, uint32_t buf, uint32_t len)
{
    if (!pb_rt_in_bounds(h->mem, buf, len))
        return WASI_EFAULT;
    uint8_t chunk[256];
    for (uint32_t at = 0; at < len;) {
        uint32_t k = len - at < sizeof chunk ? len - at : (uint32_t)sizeof chunk;
        if (getrandom(chunk, k, 0) != (ssize_t)k)
            return WASI_EIO;
        pb_rt_write(h->mem, buf + at, chunk, k);
        at += k;
    }
    return WASI_OK;
}

uint32_t pb__wasi_clock_res_get(pb_host *h, uint32_t clock_id, uint32_t out)
{
    if (clock_id > 1)
        return WASI_EINVAL;
    uint64_t ns = 1;
    return pb_rt_write(h->mem, out, &ns, 8) == 0 ? WASI_OK : WASI_EFAULT;
}

uint32_t pb__wasi_sched_yield(pb_host *h)
{
    (void)h;
    return WASI_OK;
}

/* no sleeping, no waiting on files: a command that polls gets told so */
uint32_t pb__wasi_poll_oneoff(pb_host *h, uint32_t in, uint32_t out, uint32_t nsubs, uint32_t nevents)
{
    (void)h, (void)in, (void)out, (void)nsubs, (void)nevents;
    return WASI_ENOTSUP;
}

/* Module files: what read_module answers besides a size (guest/guest.c words the errors). */
enum { PB_MODULE_OFF = -1, PB_MODULE_MISSING = -2, PB_MODULE_OUTSIDE = -3, PB_MODULE_TOO_LARGE = -4, PB_MODULE_HOST = -5 };
#define PB_MODULE_MAX_SIZE (1u << 30)

/* name: a path relative to the module directory, made by the guest's resolver and not
 * trusted: no empty, "." or ".." component, not absolute, no NUL. */
static int module_name_ok(const char *name, size_t n)
{
    if (n == 0 || name[0] == '/' || memchr(name, 0, n))
        return 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && name[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && name[i] == '.') || (len == 2 && name[i] == '.' && name[i + 1] == '.'))
            return 0;
        i = j + 1;
    }
    return 1;
}

/* The file's size, its bytes copied to dst[0..cap) when they fit (else nothing: the guest asks
 * again with room), or a negative PB_MODULE_*. The file must resolve, symbolic links
 * followed, to a regular file under the module directory. */
static int64_t read_module(pb_host *h, const char *name, size_t n, uint32_t dst, uint32_t cap)
{
    char path[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
    if (!h->module_dir)
        return PB_MODULE_OFF;
    if (!module_name_ok(name, n) || snprintf(path, sizeof path, "%s/%.*s", h->module_dir, (int)n, name) >= (int)sizeof path)
        return PB_MODULE_OUTSIDE;
    if (!realpath(h->module_dir, root) || !realpath(path, real))
        return PB_MODULE_MISSING;
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) != 0 || (real[rl] != '/' && !(rl == 1 && root[0] == '/')))
        return PB_MODULE_OUTSIDE;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PB_MODULE_MISSING;
    struct stat st;
    int64_t r = PB_MODULE_MISSING;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        r = st.st_size;
        if ((uint64_t)st.st_size > PB_MODULE_MAX_SIZE) {
            r = PB_MODULE_TOO_LARGE;
        } else if ((uint64_t)st.st_size <= cap) {
            char *buf = pb_rt_malloc(st.st_size ? (size_t)st.st_size : 1);
            size_t got = 0;
            while (buf && got < (size_t)st.st_size) {
                ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
                if (k <= 0)
                    break;
                got += (size_t)k;
            }
            if (!buf || got != (size_t)st.st_size || pb_rt_write(h->mem, dst, buf, got) != 0)
                r = buf ? PB_MODULE_MISSING : PB_MODULE_HOST;
            free(buf);
        }
    }
    close(fd);
    return r;
}

uint32_t pb__read_module(pb_host *h, uint32_t name, uint32_t name_len, uint32_t dst, uint32_t cap)
{
    if (!pb_rt_in_bounds(h->mem, name, name_len) || !pb_rt_in_bounds(h->mem, dst, cap))
        return (uint32_t)PB_MODULE_OUTSIDE;
    pb_rt_import_begin();
    int64_t r = read_module(h, (const char *)h->mem->data + name, name_len, dst, cap);
    pb_rt_import_end();
    return (uint32_t)(int32_t)(r > INT32_MAX ? PB_MODULE_TOO_LARGE : r);
}
