/* SPDX-License-Identifier: MIT */
/* rt.h - plugbox's runtime for wasm2c output (replaces wabt's wasm-rt-impl.c).
 *
 * What it adds over the runtime that ships with wabt:
 *  - traps are per thread: each call into guest code runs under a guard (pb_rt_guard) that
 *    holds its own jump buffer, so sandboxes run in parallel and calls may nest;
 *  - the SIGSEGV/SIGBUS handler claims a fault only when the faulting thread is running guest
 *    code and the address lies in that guest's memory reservation: every other fault goes to
 *    the handler that was there before, so host bugs still crash;
 *  - every generated function, on entry, and every loop of the generated code, at its head,
 *    compares the stack pointer with a word of its thread (rt_check.h). The word is the lowest
 *    stack address guest code may use, which keeps PB_RT_HOST_STACK bytes of the thread's
 *    stack for host code the guest calls, whatever stack the thread has; a stop raises it to
 *    the top, so that guest code leaves at its next check, without a signal, whatever the
 *    thread's signal mask;
 *  - each linear memory is one reservation: a dirty map (one byte per 1 KiB page, written by
 *    every guest store, see guest/wasm2c.sh) followed by 8 GiB of address space, so that any
 *    32-bit address plus offset lands inside it; reservations are recycled, never leaked;
 *  - a snapshot's memory can be a sealed memory file that memories map privately: they share
 *    its pages until they write them, and a restore in full maps it again instead of copying;
 *  - a watchdog thread, started on first use (and again in a child after fork), stops guest
 *    code that outlives its deadline: first by a word the engine polls (a clean JavaScript
 *    stop), then through the check word;
 *  - a host resource that fails (memory, address space, a thread) is an error returned to the
 *    caller, never an abort; a test hook fails the nth of them (pb_rt_fail_after);
 *  - no system call on the path of a call that neither grows memory nor hits a limit.
 */
#ifndef PLUGBOX_RT_H
#define PLUGBOX_RT_H

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wasm-rt.h"
#include "rt_layout.h"

#if !WASM_RT_MEMCHECK_SIGNAL_HANDLER || WASM_RT_USE_STACK_DEPTH_COUNT
#error "plugbox's runtime needs wasm2c's guard-page configuration (64-bit POSIX host)"
#endif

/* Stack kept for host code under guest code (imports, the console callback): guest code may
 * use a thread's stack down to this many bytes above its end. */
#ifndef PB_RT_HOST_STACK
#define PB_RT_HOST_STACK (32u << 10)
#endif

/* Extra trap codes beyond wasm_rt_trap_t. */
enum {
    PB_RT_TRAP_DEADLINE = 100,  /* the call's deadline passed */
    PB_RT_TRAP_INTERRUPT = 101, /* pb_rt_watch_interrupt() from another thread */
    PB_RT_TRAP_HOST = 102,      /* a host resource failed where the guest cannot be told */
    PB_RT_TRAP_IMPORT = 103,    /* an import failed the call (a plugin's Extism kernel: extism.h) */
    PB_RT_TRAP_EXIT = 104       /* a WASI command exited (proc_exit) */
};

/* Why a watched call was asked to stop (pb_rt_guard.stop). */
enum { PB_RT_STOP_NONE = 0, PB_RT_STOP_DEADLINE = 1, PB_RT_STOP_INTERRUPT = 2 };

typedef struct pb_rt_guard pb_rt_guard;
struct pb_rt_guard {
    sigjmp_buf jb;
    const uint8_t *mem_lo, *mem_hi;  /* the reservation faults are claimed in */
    volatile sig_atomic_t in_host;   /* > 0 while host code runs inside the guard */
    int stop;                        /* PB_RT_STOP_*: the watchdog asked the guest to stop */
    int hard;                        /* ... and then to leave at its next check */
    int armed;                       /* in the watchdog's list */
    volatile sig_atomic_t grow_refused; /* memory.grow hit the limit during this guard */
    int host_error;                  /* errno of a host resource that failed during the guard */
    uintptr_t floor;                 /* the lowest stack address guest code may use */
    uintptr_t *check_word;           /* the thread's check word (rt_check.h) */
    uintptr_t *mem_word;             /* the memory's (rt_layout.h): the same value */
    pb_rt_guard *prev;               /* the guard this one nests in, on this thread */
    /* watchdog bookkeeping, under its lock */
    pb_rt_guard *wnext, **wprev;
    wasm_rt_memory_t *mem;
    uint64_t deadline_ns;            /* CLOCK_MONOTONIC */
    uint64_t kick_ns;                /* when to raise the check word */
    uint32_t soft_word;              /* guest address of the engine's interrupt word */
    int soft_ok;                     /* it lies inside the memory (checked when set) */
    int reason;                      /* PB_RT_STOP_* to report once the deadline passes */
};

/* Fields another thread writes (stop, hard, armed; pool cancel flags) are read and written
 * with these, so that the compiler keeps every access and race detectors see the intent. */
#define PB_RT_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define PB_RT_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Process-wide set-up: fault handlers, fork handlers, function types. Idempotent and
 * thread-safe; a failed set-up is tried again by the next call. Returns 0 or -1. */
int pb_rt_setup(void);

/* Enters a guard for guest code touching `mem`; must be paired with pb_rt_leave on the same
 * thread, in LIFO order. Returns -1 without entering when the thread cannot run guest code
 * (its alternate signal stack could not be made). Then
 *     if (PB_RT_TRY(&g) == 0) { ... } pb_rt_leave(&g);
 * where PB_RT_TRY gives 0 the first time and a trap code when the guest trapped (the guard
 * is still entered then: call pb_rt_leave). */
int pb_rt_enter(pb_rt_guard *g, wasm_rt_memory_t *mem);
#define PB_RT_TRY(g) sigsetjmp((g)->jb, 0)
void pb_rt_leave(pb_rt_guard *g);

/* Brackets around a call from host code into guest code, and from guest code into a host
 * import. A pending stop is taken at these points. */
void pb_rt_guest_begin(pb_rt_guard *g);
static inline void pb_rt_guest_end(pb_rt_guard *g) { g->in_host = 1; }
void pb_rt_import_begin(void);
void pb_rt_import_end(void);

/* Watchdog. arm: stop the guarded call at deadline_ns (CLOCK_MONOTONIC), first by writing 1
 * to the guest's soft word (the engine polls it and unwinds cleanly), then, if the guest is
 * still running PB_RT_GRACE_NS later, by raising its thread's check word, which makes it
 * leave at its next check. disarm: always before pb_rt_leave, on every path. interrupt: from
 * any thread, the same stop now for the call running under g, armed or not; the caller
 * guarantees that g stays entered until this returns (sandbox.c holds the sandbox's lock
 * around both). arm and interrupt return 0, or -1 when the watchdog thread could not be
 * started. */
#ifndef PB_RT_GRACE_NS
#define PB_RT_GRACE_NS 10000000ull
#endif
int pb_rt_watch_arm(pb_rt_guard *g, uint64_t deadline_ns);
void pb_rt_watch_disarm(pb_rt_guard *g);
int pb_rt_watch_interrupt(pb_rt_guard *g);
/* The guest word a stop sets, given by the thread that entered g, before arming or
 * publishing it (the watchdog must not read the memory's size while the guest grows it). */
void pb_rt_set_soft_word(pb_rt_guard *g, uint32_t soft_word);
uint64_t pb_rt_now_ns(void);
void pb_rt__watch_atfork_prepare(void); /* watchdog.c, for rt.c's fork handlers */
void pb_rt__watch_atfork_parent(void);
void pb_rt__watch_atfork_child(pb_rt_guard *own);
void pb_rt__hard_stop(pb_rt_guard *g); /* rt.c, for the watchdog */
/* wasm_rt_register_func_type with the types in an array (for compiled plugins: rt/module.h) */
uint32_t pb_rt_register_func_type(uint32_t params, uint32_t results, const wasm_rt_type_t *types);
/* 1 once if a function type could not be registered (a module's init_module cannot say so) */
int pb_rt_types_failed(void);

/* Linear memory helpers for host code. */
static inline uint8_t *pb_rt_dirty_map(const wasm_rt_memory_t *m)
{
    return m->data - PB_DIRTY_MAP_BYTES;
}
static inline int pb_rt_in_bounds(const wasm_rt_memory_t *m, uint64_t off, uint64_t n)
{
    return off <= m->size && n <= m->size - off;
}
void pb_rt_mark_dirty(wasm_rt_memory_t *m, uint64_t off, uint64_t n);
int pb_rt_write(wasm_rt_memory_t *m, uint64_t off, const void *src, size_t n);

/* Sets the most pages the memory may grow to (the sandbox's memory limit). */
void pb_rt_set_max_pages(wasm_rt_memory_t *m, uint32_t pages);

/* Runs init(arg), wasm2c's instantiation of a module, so that a memory or table it cannot
 * allocate makes this return -1 (errno set) instead of aborting; what was allocated is then
 * the caller's to free (wasm2c's free function accepts a half-made instance). load_data 0:
 * the caller loads an image over the memory at once (pb_rt_restore in full), which holds
 * the data segments, so they are not written; the engine's code asks (pb_rt_load_data,
 * rt_check.h), a plugin's writes them anyway. */
int pb_rt_instantiate(void (*init)(void *), void *arg, int load_data);

/* Brings the memory back to `size` bytes equal to image[0..size), zero[i] telling that page i
 * of the image (PB_PAGE_SHIFT) is all zeros: only the pages marked dirty since the last
 * restore are rewritten (all of them when full != 0, after a trap, when a store may have
 * escaped the map); pages above `size` are zeroed and made inaccessible. `fd`: the image's
 * file (pb_rt_image_share), or -1. With a file, a restore in full maps it privately over the
 * memory instead of copying: the memory shares the image's pages, in the system's page cache,
 * until it writes them. `fresh`: the memory is a new instance's, all zeros but where its
 * set-up wrote: restored in full; without a file, the image's zero pages are left untouched
 * where they read as zeros already, so that they take no memory. Returns 0, or -1 (errno set)
 * when the host refused a mapping or a protection: the memory must then be restored again, in
 * full, before guest code runs (it may still have its larger size, zeroed, or read only). */
int pb_rt_restore(wasm_rt_memory_t *m, const uint8_t *image, const uint8_t *zero, int fd, uint32_t size, int full,
                  int fresh);

/* A snapshot's memory as a sealed memory file (memfd) that restores map privately: the pages
 * of data[0..size) that zero[] does not flag are written to it, the others left as holes (they
 * take no memory), and it is mapped read-only. The way wasmtime shares a module's memory image
 * between instances: a hundred idle sandboxes of one program hold one copy of it, not a
 * hundred. Returns 0 with *fd and *bytes (size bytes; pb_rt_image_unshare gives them back), or
 * -1 (errno set) with nothing made: the caller keeps a private copy instead. */
int pb_rt_image_share(const uint8_t *data, const uint8_t *zero, uint32_t size, int *fd, const uint8_t **bytes);
void pb_rt_image_unshare(int fd, const uint8_t *bytes, uint32_t size);

/* ---- host resources -------------------------------------------------------------------------
 * Every allocation, mapping and thread the library takes goes through these, so that a test
 * can make the nth of them fail (pb_rt_fail_after) and check that each failure is an error
 * the caller sees, with nothing leaked. They behave as the functions they wrap. */
void *pb_rt_malloc(size_t n);
void *pb_rt_calloc(size_t n, size_t size);
void *pb_rt_realloc(void *p, size_t n);
char *pb_rt_strdup(const char *s);
void *pb_rt_mmap(size_t len, int prot, int flags);
int pb_rt_mprotect(void *addr, size_t len, int prot);
int pb_rt_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
/* Test hook: from now on, the nth resource taken fails (0: the next one), and every later
 * one succeeds again; n < 0 disarms it. Returns how many were taken since the last call
 * (counted only once the hook has been called: the first call returns 0). */
long pb_rt_fail_after(long n);

#endif
