/* SPDX-License-Identifier: MIT */
/* rt.c - plugbox's runtime for wasm2c output: traps, checks, memories, snapshot restore. See
 * rt.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rt.h"
#include "rt_check.h"

#define WASM_PAGE 65536u
#define RESERVATION (PB_HEADER_BYTES + PB_DIRTY_MAP_BYTES + PB_WASM_SPAN)
#define MAX_PAGES 65535u /* 65536 pages would not fit wasm_rt_memory_t's u32 size */
#define POOL_SIZE 16     /* reservations kept for reuse */
#define ZERO_BY_MADVISE (1u << 20)
/* Memory a call grows is zeroed where it was written and kept, up to this much: the next call
 * that grows as far takes no page fault (on 10 MB of JSON, faults on fresh pages were a fifth
 * of the call). Beyond it, it goes back to the system. Not under ThreadSanitizer: the engine
 * it does not instrument writes that memory, and the zeroing by host code it does would give
 * every kept page shadow memory that outlives the sandbox (tsan-threads saw 71 MB of it). */
#if defined(__SANITIZE_THREAD__)
#define KEEP_GROWN 0u
#else
#define KEEP_GROWN (64u << 20)
#endif
#define ALT_STACK (64u << 10)
/* a stack that reports more than this (an unlimited rlimit) is taken to have this much
 * below the point where the thread first runs guest code */
#define STACK_MAX ((size_t)1 << 30)
#define STACK_ASSUMED ((size_t)8 << 20)

/* initial-exec: read from signal handlers and generated code, where a lazily allocated TLS
 * block would not do */
#define TLS __thread __attribute__((tls_model("initial-exec")))

TLS uintptr_t pb_rt_check_word; /* rt_check.h: 0 outside guards */
static TLS pb_rt_guard *t_guard;
static TLS uintptr_t t_stack_lo; /* lowest usable address of this thread's stack */
static TLS void *t_altstack;     /* set once the thread is ready to run guest code */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction g_old_segv, g_old_bus;
static int g_handlers_done, g_key_done, g_atfork_done;
static pthread_key_t g_thread_key;

/* ---- host resources -------------------------------------------------------------------------- */

static int g_hooked;                /* atomic; pb_rt_fail_after was called: count and fail */
static long g_fail_countdown = -1; /* atomic; < 0: no failure planned */
static long g_taken;               /* atomic; resources taken since the last pb_rt_fail_after */

/* Outside tests one load of a word nobody writes: no shared counter for the pool's threads to
 * bounce between their caches at every allocation. */
static int fail_now(void)
{
    if (!__atomic_load_n(&g_hooked, __ATOMIC_RELAXED))
        return 0;
    __atomic_fetch_add(&g_taken, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&g_fail_countdown, __ATOMIC_RELAXED) < 0)
        return 0;
    return __atomic_fetch_sub(&g_fail_countdown, 1, __ATOMIC_RELAXED) == 0;
}

long pb_rt_fail_after(long n)
{
    __atomic_store_n(&g_hooked, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&g_fail_countdown, n < 0 ? -1 : n, __ATOMIC_RELAXED);
    return __atomic_exchange_n(&g_taken, 0, __ATOMIC_RELAXED);
}

void *pb_rt_malloc(size_t n)
{
    if (fail_now()) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(n);
}

void *pb_rt_calloc(size_t n, size_t size)
{
    if (fail_now()) {
        errno = ENOMEM;
        return NULL;
    }
    return calloc(n, size);
}

void *pb_rt_realloc(void *p, size_t n)
{
    if (fail_now()) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

char *pb_rt_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = pb_rt_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

void *pb_rt_mmap(size_t len, int prot, int flags)
{
    if (fail_now()) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return mmap(NULL, len, prot, flags, -1, 0);
}

int pb_rt_mprotect(void *addr, size_t len, int prot)
{
    if (fail_now()) {
        errno = ENOMEM;
        return -1;
    }
    return mprotect(addr, len, prot);
}

int pb_rt_thread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (fail_now())
        return EAGAIN;
    return pthread_create(t, attr, fn, arg);
}

/* ---- faults -------------------------------------------------------------------------------- */

static void chain(int sig, siginfo_t *si, void *uc, const struct sigaction *old)
{
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction) {
            old->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* Not a fault of guest code: restore the default action and return, so that the faulting
     * instruction runs again and the process dies of it as it would have without plugbox. */
    signal(sig, SIG_DFL);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    pb_rt_guard *g = t_guard;
    if (g && !g->in_host) {
        const uint8_t *a = si->si_addr;
        if (a >= g->mem_lo && a < g->mem_hi)
            siglongjmp(g->jb, WASM_RT_TRAP_OOB);
        /* the checks keep guest code above its floor; this is for a frame larger than the
         * room the floor leaves */
        uintptr_t ua = (uintptr_t)a;
        if (t_stack_lo && ua < t_stack_lo + PB_RT_HOST_STACK && ua + (1u << 20) >= t_stack_lo)
            siglongjmp(g->jb, WASM_RT_TRAP_EXHAUSTION);
    }
    chain(sig, si, uc, sig == SIGSEGV ? &g_old_segv : &g_old_bus);
}

static void thread_cleanup(void *p)
{
    stack_t ss = {.ss_flags = SS_DISABLE};
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == p)
        sigaltstack(&ss, NULL);
    free(p);
}

static uintptr_t stack_pointer(void)
{
    uintptr_t sp;
    PB_RT_SP(sp);
    return sp;
}

/* Once per thread that runs guest code: where its stack ends, an alternate signal stack
 * (without which a fault of guest code could not be handled; one the host installed is kept)
 * and SIGSEGV and SIGBUS unblocked (while blocked, a fault kills the process whatever its
 * handler). Returns 0, or -1 with nothing changed. */
static int thread_setup(void)
{
    pthread_attr_t at;
    void *lo = NULL;
    size_t n = 0;
    uintptr_t sp = stack_pointer();
    if (pthread_getattr_np(pthread_self(), &at) == 0) {
        if (pthread_attr_getstack(&at, &lo, &n) != 0)
            lo = NULL;
        pthread_attr_destroy(&at);
    }
    if (!lo || n > STACK_MAX || (uintptr_t)lo >= sp) {
        /* unknown or unbounded: assume the rlimit's size below here, at most STACK_ASSUMED */
        struct rlimit rl;
        size_t have = STACK_ASSUMED;
        if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < have)
            have = rl.rlim_cur;
        lo = (void *)(sp > have ? sp - have : 0);
    }
    void *alt = (void *)1; /* the host's own: nothing to free */
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0)
        return -1;
    if (cur.ss_flags & SS_DISABLE) {
        if (!(alt = pb_rt_malloc(ALT_STACK)))
            return -1;
        stack_t ss = {.ss_sp = alt, .ss_size = ALT_STACK, .ss_flags = 0};
        if (pthread_setspecific(g_thread_key, alt) != 0 || sigaltstack(&ss, NULL) != 0) {
            pthread_setspecific(g_thread_key, NULL);
            free(alt);
            return -1;
        }
    }
    sigset_t faults;
    sigemptyset(&faults);
    sigaddset(&faults, SIGSEGV);
    sigaddset(&faults, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
    t_stack_lo = (uintptr_t)lo;
    t_altstack = alt;
    return 0;
}

/* ---- fork: the child has no watchdog thread and its locks may be held by threads it lacks */

static void atfork_prepare(void)
{
    pb_rt__watch_atfork_prepare();
    pthread_mutex_lock(&g_lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&g_lock);
    pb_rt__watch_atfork_parent();
}

static void atfork_child(void)
{
    pthread_mutex_unlock(&g_lock);
    pb_rt__watch_atfork_child(t_guard);
}

/* ---- set-up -------------------------------------------------------------------------------- */

int pb_rt_setup(void)
{
    pthread_mutex_lock(&g_lock);
    int rc = 0;
    if (!g_key_done)
        g_key_done = pthread_key_create(&g_thread_key, thread_cleanup) == 0;
    if (!g_atfork_done)
        g_atfork_done = pthread_atfork(atfork_prepare, atfork_parent, atfork_child) == 0;
    if (!g_handlers_done && g_key_done && g_atfork_done) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        /* SA_NODEFER: the handler leaves by siglongjmp, which (with sigsetjmp(.., 0)) does not
         * restore the mask; without it the signal would stay blocked after the first trap. */
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sa.sa_sigaction = on_fault;
        if (sigaction(SIGSEGV, &sa, &g_old_segv) == 0) {
            if (sigaction(SIGBUS, &sa, &g_old_bus) == 0)
                g_handlers_done = 1;
            else
                sigaction(SIGSEGV, &g_old_segv, NULL);
        }
    }
    if (!g_handlers_done)
        rc = -1;
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* ---- guards -------------------------------------------------------------------------------- */

/* The check word for guest code running under g (or nothing: 0, never failing). */
static uintptr_t check_word_of(const pb_rt_guard *g)
{
    if (!g)
        return 0;
    return PB_RT_LOAD(g->hard) ? UINTPTR_MAX : g->floor;
}

int pb_rt_enter(pb_rt_guard *g, wasm_rt_memory_t *mem)
{
    if (!t_altstack && thread_setup() != 0)
        return -1;
    g->mem_lo = mem->data - PB_DIRTY_MAP_BYTES;
    g->mem_hi = mem->data + PB_WASM_SPAN;
    g->in_host = 1;
    PB_RT_STORE(g->stop, PB_RT_STOP_NONE);
    PB_RT_STORE(g->hard, 0);
    PB_RT_STORE(g->armed, 0);
    g->grow_refused = 0;
    g->host_error = 0;
    g->floor = t_stack_lo + PB_RT_HOST_STACK;
    g->check_word = &pb_rt_check_word;
    g->mem_word = &PB_CHECK_WORD_AT(mem->data);
    g->mem = mem;
    g->soft_ok = 0;
    g->wprev = NULL;
    g->wnext = NULL;
    g->prev = t_guard;
    t_guard = g;
    PB_RT_STORE(pb_rt_check_word, g->floor);
    PB_RT_STORE(*g->mem_word, g->floor);
    return 0;
}

void pb_rt_set_soft_word(pb_rt_guard *g, uint32_t soft_word)
{
    g->soft_word = soft_word;
    g->soft_ok = pb_rt_in_bounds(g->mem, soft_word, 4);
}

void pb_rt_leave(pb_rt_guard *g)
{
    t_guard = g->prev;
    PB_RT_STORE(pb_rt_check_word, check_word_of(t_guard));
    PB_RT_STORE(*g->mem_word, 0); /* a memory runs under one guard at a time */
}

static _Noreturn void stop_now(pb_rt_guard *g)
{
    g->in_host = 1;
    siglongjmp(g->jb, PB_RT_LOAD(g->stop) == PB_RT_STOP_INTERRUPT ? PB_RT_TRAP_INTERRUPT : PB_RT_TRAP_DEADLINE);
}

void pb_rt_guest_begin(pb_rt_guard *g)
{
    g->in_host = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (PB_RT_LOAD(g->hard)) /* the stop came while host code ran */
        stop_now(g);
}

void pb_rt_import_begin(void)
{
    pb_rt_guard *g = t_guard;
    if (g)
        g->in_host++;
}

void pb_rt_import_end(void)
{
    pb_rt_guard *g = t_guard;
    if (!g)
        return;
    g->in_host--;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (!g->in_host && PB_RT_LOAD(g->hard))
        stop_now(g);
}

/* The watchdog's hard stop (under its lock, while g is armed, so g is entered). */
void pb_rt__hard_stop(pb_rt_guard *g)
{
    PB_RT_STORE(g->hard, 1);
    __atomic_store_n(g->check_word, UINTPTR_MAX, __ATOMIC_RELAXED);
    __atomic_store_n(g->mem_word, UINTPTR_MAX, __ATOMIC_RELAXED);
}

/* A check of generated code failed (rt_check.h): the guard was stopped, or the stack is at
 * its floor. Otherwise the word was raised to stop a guard this one nests in (a call made
 * from host code inside another call on this thread): that one stops once control is back
 * in it, and this one goes on. */
void pb_rt_check_failed(void)
{
    pb_rt_guard *g = t_guard;
    if (!g) /* outside guards the word is 0 and no check fails: nothing to do */
        return;
    if (PB_RT_LOAD(g->hard))
        stop_now(g);
    if (stack_pointer() < g->floor)
        wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    PB_RT_STORE(pb_rt_check_word, g->floor);
    PB_RT_STORE(*g->mem_word, g->floor);
}

/* ---- wasm-rt.h: traps, types ----------------------------------------------------------------- */

void wasm_rt_trap(wasm_rt_trap_t code)
{
    pb_rt_guard *g = t_guard;
    if (!g) { /* internal invariant: generated code runs only inside a guard */
        fprintf(stderr, "plugbox runtime: trap outside a guarded call: %s\n", wasm_rt_strerror(code));
        abort();
    }
    g->in_host = 1;
    siglongjmp(g->jb, (int)code);
}

const char *wasm_rt_strerror(wasm_rt_trap_t trap)
{
    switch (trap) {
    case WASM_RT_TRAP_NONE: return "no error";
    case WASM_RT_TRAP_OOB: return "out-of-bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "invalid indirect call";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught wasm exception";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
    }
    return "unknown trap";
}

/* Function types, compared by their signature; registered once per process by
 * a module's init_module, which cannot report an error: a failure is remembered and
 * pb_rt_types_failed() tells it (the next registration pass starts afresh). */
typedef struct {
    uint32_t params, results;
    wasm_rt_type_t types[];
} func_type;
static func_type **g_types;
static uint32_t g_ntypes;
static int g_types_failed;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
    uint32_t n = params + results;
    wasm_rt_type_t types[64];
    if (n > 64) /* wasm2c passes them as arguments: no module of ours or of a compiler has more */
        return pb_rt_register_func_type(params, results, NULL);
    va_list ap;
    va_start(ap, results);
    for (uint32_t i = 0; i < n; i++)
        types[i] = (wasm_rt_type_t)va_arg(ap, int);
    va_end(ap);
    return pb_rt_register_func_type(params, results, types);
}

uint32_t pb_rt_register_func_type(uint32_t params, uint32_t results, const wasm_rt_type_t *types)
{
    uint32_t n = params + results;
    func_type *t = types ? pb_rt_malloc(sizeof *t + n * sizeof t->types[0]) : NULL;
    if (!t) {
        g_types_failed = 1;
        return 0;
    }
    t->params = params;
    t->results = results;
    memcpy(t->types, types, n * sizeof t->types[0]);
    pthread_mutex_lock(&g_lock);
    for (uint32_t i = 0; i < g_ntypes; i++) {
        func_type *o = g_types[i];
        if (o->params == params && o->results == results && !memcmp(o->types, t->types, n * sizeof t->types[0])) {
            pthread_mutex_unlock(&g_lock);
            free(t);
            return i + 1;
        }
    }
    func_type **nt = pb_rt_realloc(g_types, (g_ntypes + 1) * sizeof *nt);
    if (!nt) {
        pthread_mutex_unlock(&g_lock);
        free(t);
        g_types_failed = 1;
        return 0;
    }
    g_types = nt;
    g_types[g_ntypes++] = t;
    uint32_t id = g_ntypes;
    pthread_mutex_unlock(&g_lock);
    return id;
}

int pb_rt_types_failed(void)
{
    int f = g_types_failed;
    g_types_failed = 0;
    return f;
}

void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

/* Exceptions are not used by the guest (built without -fwasm-exceptions). */
uint32_t wasm_rt_register_tag(uint32_t size) { (void)size; return 0; }
void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void *values) { (void)tag; (void)size; (void)values; }
void wasm_rt_throw(void) { wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION); }
WASM_RT_UNWIND_TARGET *wasm_rt_get_unwind_target(void) { return NULL; }
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET *target) { (void)target; }
uint32_t wasm_rt_exception_tag(void) { return 0; }
uint32_t wasm_rt_exception_size(void) { return 0; }
void *wasm_rt_exception(void) { return NULL; }

/* ---- instantiation --------------------------------------------------------------------------- */

static TLS sigjmp_buf *t_instantiating;
static TLS int t_skip_data; /* the instantiation under way leaves the data segments out */

int pb_rt_load_data(void) { return !t_skip_data; }

/* wasm2c's allocation functions return nothing: a failure leaves through here. */
static _Noreturn void instantiation_failed(int err)
{
    if (!t_instantiating) /* internal invariant: memories and tables are made only there */
        abort();
    errno = err;
    siglongjmp(*t_instantiating, err ? err : ENOMEM);
}

int pb_rt_instantiate(void (*init)(void *), void *arg, int load_data)
{
    sigjmp_buf jb;
    volatile int err = sigsetjmp(jb, 0);
    if (err == 0) {
        t_instantiating = &jb;
        t_skip_data = !load_data;
        init(arg);
    }
    t_instantiating = NULL;
    t_skip_data = 0;
    if (err)
        errno = err;
    return err ? -1 : 0;
}

/* ---- linear memories ------------------------------------------------------------------------- */

static uint8_t *g_pool[POOL_SIZE];
static int g_npool;

void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint32_t initial, uint32_t max)
{
    uint8_t *base = NULL;
    m->data = NULL;
    m->size = m->pages = 0;
    pthread_mutex_lock(&g_lock);
    if (g_npool)
        base = g_pool[--g_npool];
    pthread_mutex_unlock(&g_lock);
    if (!base) {
        base = pb_rt_mmap(RESERVATION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
        if (base == MAP_FAILED)
            instantiation_failed(errno);
        if (pb_rt_mprotect(base, PB_HEADER_BYTES + PB_DIRTY_MAP_BYTES, PROT_READ | PROT_WRITE) != 0) {
            int err = errno;
            munmap(base, RESERVATION);
            instantiation_failed(err);
        }
    }
    if (max > MAX_PAGES)
        max = MAX_PAGES;
    /* data stays put until the memory is freed: generated code keeps it in a local (rt_access.h) */
    uint8_t *data = base + PB_HEADER_BYTES + PB_DIRTY_MAP_BYTES;
    if (initial > max || (initial && pb_rt_mprotect(data, (size_t)initial * WASM_PAGE, PROT_READ | PROT_WRITE) != 0)) {
        int err = initial > max ? EINVAL : errno;
        munmap(base, RESERVATION);
        instantiation_failed(err);
    }
    m->data = data;
    m->pages = initial;
    m->max_pages = max;
    m->size = initial * WASM_PAGE;
}

/* Host code the guest calls: a stop waits until the new size is recorded, so that a stop can
 * never leave pages accessible above the memory's size. A refusal of the host (not of the
 * limit) is noted in the guard: the call then fails as the host's failure. */
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t delta)
{
    uint32_t old = m->pages;
    uint64_t want = (uint64_t)old + delta;
    if (want > m->max_pages) {
        if (t_guard)
            t_guard->grow_refused = 1;
        return UINT32_MAX;
    }
    pb_rt_import_begin();
    if (delta && pb_rt_mprotect(m->data + m->size, (size_t)delta * WASM_PAGE, PROT_READ | PROT_WRITE) != 0) {
        if (t_guard)
            t_guard->host_error = errno ? errno : ENOMEM;
        pb_rt_import_end();
        return UINT32_MAX;
    }
    m->pages = (uint32_t)want;
    m->size = (uint32_t)(want * WASM_PAGE);
    pb_rt_import_end();
    return old;
}

/* [p, p + n) of a reservation back to what it was made as: anonymous, no access, reading as
 * zeros; whatever was mapped there (an image's file, written pages) goes. One call, where
 * dropping pages and then changing their protection took two; and it charges no memory, so
 * that it fails, if it does, before anything was unmapped. */
static int unmap_pages(uint8_t *p, size_t n)
{
    void *r = mmap(p, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    return r == (void *)p ? 0 : -1;
}

void wasm_rt_free_memory(wasm_rt_memory_t *m)
{
    if (!m->data)
        return;
    uint8_t *base = m->data - PB_DIRTY_MAP_BYTES - PB_HEADER_BYTES;
    PB_CHECK_WORD_AT(m->data) = 0;
    /* back to a pristine reservation: zero pages (the next user relies on it), no access; the
     * pages a restore kept above the memory's size (KEEP_GROWN) given back too */
    size_t used = (size_t)m->size + KEEP_GROWN;
    if (used > PB_WASM_SPAN)
        used = PB_WASM_SPAN;
    size_t map_used = (used >> PB_PAGE_SHIFT) + 1;
    if (unmap_pages(m->data, used) != 0 || madvise(base + PB_HEADER_BYTES, map_used, MADV_DONTNEED) != 0) {
        munmap(base, RESERVATION);
    } else {
        pthread_mutex_lock(&g_lock);
        if (g_npool < POOL_SIZE) {
            g_pool[g_npool++] = base;
            base = NULL;
        }
        pthread_mutex_unlock(&g_lock);
        if (base)
            munmap(base, RESERVATION);
    }
    m->data = NULL;
    m->size = m->pages = 0;
}

void pb_rt_set_max_pages(wasm_rt_memory_t *m, uint32_t pages)
{
    m->max_pages = pages > MAX_PAGES ? MAX_PAGES : pages;
}

void pb_rt_mark_dirty(wasm_rt_memory_t *m, uint64_t off, uint64_t n)
{
    if (!n)
        return;
    uint8_t *map = pb_rt_dirty_map(m);
    uint64_t first = off >> PB_PAGE_SHIFT, last = (off + n - 1) >> PB_PAGE_SHIFT;
    /* byte stores, atomic: the watchdog marks the interrupt word's page while a call runs */
    for (uint64_t i = first; i <= last; i++)
        PB_RT_STORE(map[i], 1);
}

int pb_rt_write(wasm_rt_memory_t *m, uint64_t off, const void *src, size_t n)
{
    if (!pb_rt_in_bounds(m, off, n))
        return -1;
    pb_rt_mark_dirty(m, off, n);
    memcpy(m->data + off, src, n);
    return 0;
}

/* 128 map bytes at p (16-byte aligned) are all zero: compared as vectors where the compiler
 * has them (SSE2 on every x86-64, NEON on arm64), which halves the scan of a trivial call's
 * restore, most of its cost. */
typedef unsigned long long pb_v16 __attribute__((vector_size(16), aligned(16)));
static inline int clean128(const uint8_t *p)
{
    const pb_v16 *v = (const pb_v16 *)(const void *)p;
    pb_v16 x = (v[0] | v[1]) | (v[2] | v[3]) | (v[4] | v[5]) | (v[6] | v[7]);
    return (x[0] | x[1]) == 0;
}

static inline int clean16(const uint8_t *p)
{
    pb_v16 x = *(const pb_v16 *)(const void *)p;
    return (x[0] | x[1]) == 0;
}

/* Calls f(first, count) for every run of marked pages in map[from, to), clearing them. */
static void for_dirty_runs(uint8_t *map, size_t from, size_t to, void (*f)(void *, size_t, size_t), void *arg)
{
    size_t i = from;
    while (i < to) {
        /* clean pages skipped 128 or 16 at a time where aligned, else eight, else one: a call
         * writes few pages, and this scan is most of a trivial call's restore */
        if ((i & 127) == 0 && i + 128 <= to && clean128(map + i)) {
            i += 128;
            continue;
        }
        if ((i & 15) == 0 && i + 16 <= to && clean16(map + i)) {
            i += 16;
            continue;
        }
        if ((i & 7) == 0 && i + 8 <= to) {
            uint64_t w;
            memcpy(&w, map + i, 8);
            if (!w) {
                i += 8;
                continue;
            }
            /* the first marked page of the eight (the map is read as a little-endian word) */
            uint64_t le = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? w : __builtin_bswap64(w);
            i += (size_t)__builtin_ctzll(le) >> 3;
        } else if (!map[i]) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < to && map[j])
            j++;
        memset(map + i, 0, j - i);
        f(arg, i, j - i);
        i = j;
    }
}

struct restore_ctx {
    uint8_t *data;
    const uint8_t *image, *zero;
    int drop;  /* long runs of zero pages may be dropped (madvise) rather than written */
    int fresh; /* a new instance: its pages read as zeros but where its set-up wrote */
};

/* Zeros n bytes at p: dropped when long enough (they read back as zeros), written otherwise
 * or when dropping fails. */
static void clear(uint8_t *p, size_t n, int drop)
{
    if (!drop || n < ZERO_BY_MADVISE) {
        memset(p, 0, n);
        return;
    }
    /* the system's whole pages inside [p, p + n) dropped (a dirty page is smaller than the
     * system's), what is left at either end zeroed */
    long sys = sysconf(_SC_PAGESIZE);
    uintptr_t page = sys > 0 ? (uintptr_t)sys : 65536;
    uint8_t *lo = (uint8_t *)(((uintptr_t)p + page - 1) & ~(page - 1));
    uint8_t *hi = (uint8_t *)((uintptr_t)(p + n) & ~(page - 1));
    if (hi <= lo) {
        memset(p, 0, n);
        return;
    }
    if (madvise(lo, (size_t)(hi - lo), MADV_DONTNEED) != 0)
        memset(lo, 0, (size_t)(hi - lo));
    memset(p, 0, (size_t)(lo - p));
    memset(hi, 0, (size_t)(p + n - hi));
}

/* A new instance's n bytes at p need no clearing: a long run (dropped unread by clear()) or
 * bytes that read as zeros already. Out of line: only a new sandbox's restore asks. */
static __attribute__((noinline)) int fresh_zero(const uint8_t *p, size_t n)
{
    static const uint8_t zeros[1u << PB_PAGE_SHIFT];
    if (n >= ZERO_BY_MADVISE)
        return 0;
    for (size_t at = 0; at < n; at += sizeof zeros)
        if (memcmp(p + at, zeros, n - at < sizeof zeros ? n - at : sizeof zeros) != 0)
            return 0;
    return 1;
}

/* Pages [first, first + count) back to the image: its zero pages by zeroing, which does not
 * read the image, the others by copying. */
static void copy_back(void *arg, size_t first, size_t count)
{
    struct restore_ctx *c = arg;
    for (size_t i = first, end = first + count; i < end;) {
        size_t j = i;
        while (j < end && c->zero[j] == c->zero[i])
            j++;
        size_t off = i << PB_PAGE_SHIFT, n = (j - i) << PB_PAGE_SHIFT;
        if (!c->zero[i]) {
            memcpy(c->data + off, c->image + off, n);
        } else if (!c->fresh || !fresh_zero(c->data + off, n)) {
            /* in a new instance, only what its set-up wrote: reading an untouched page takes
             * no memory, writing zeros to it would */
            clear(c->data + off, n, c->drop);
        }
        i = j;
    }
}

static void zero_run(void *arg, size_t first, size_t count)
{
    struct restore_ctx *c = arg;
    memset(c->data + (first << PB_PAGE_SHIFT), 0, count << PB_PAGE_SHIFT);
}

/* The image's file over the memory's first `size` bytes, privately: read only first, so that
 * the mapping charges no memory and fails, if it does, before the old pages are gone; then
 * writable (an mprotect that fails leaves it read only, never unmapped). */
static int map_image(uint8_t *data, uint32_t size, int fd)
{
    if (fail_now()) {
        errno = ENOMEM;
        return -1;
    }
    void *r = mmap(data, size, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0);
    if (r != (void *)data)
        return -1;
    return pb_rt_mprotect(data, size, PROT_READ | PROT_WRITE);
}

int pb_rt_restore(wasm_rt_memory_t *m, const uint8_t *image, const uint8_t *zero, int fd, uint32_t size, int full,
                  int fresh)
{
    uint8_t *map = pb_rt_dirty_map(m);
    full = full || fresh;
    struct restore_ctx c = {m->data, image, zero, full, fresh};
    size_t snap_pages = (size_t)size >> PB_PAGE_SHIFT;
    size_t cur_pages = (size_t)m->size >> PB_PAGE_SHIFT;
    if (m->size < size) { /* pb__image_load grows a smaller memory first */
        errno = EINVAL;
        return -1;
    }
    if (full && fd >= 0) {
        /* nothing copied: the pages the guest wrote go back to the system, and the memory
         * reads the image's again, shared with every other memory restored from it */
        if (map_image(m->data, size, fd) != 0)
            return -1;
        memset(map, 0, snap_pages);
    } else if (full) {
        copy_back(&c, 0, snap_pages);
        memset(map, 0, snap_pages);
    } else {
        for_dirty_runs(map, 0, snap_pages, copy_back, &c);
    }
    if (m->size > size) {
        /* Memory the call grew: zero it (grown memory must read as zeros) and take it away. */
        size_t grown = m->size - size;
        if (full || grown > KEEP_GROWN) {
            clear(m->data + size, grown, 1);
            memset(map + snap_pages, 0, cur_pages - snap_pages);
        } else {
            for_dirty_runs(map, snap_pages, cur_pages, zero_run, &c);
        }
        if (pb_rt_mprotect(m->data + size, grown, PROT_NONE) != 0)
            return -1; /* still zeroed and accessible: the caller restores again before use */
        m->size = size;
        m->pages = size / WASM_PAGE;
    }
    return 0;
}

/* ---- shared images ------------------------------------------------------------------------- */

static int write_at(int fd, const uint8_t *p, size_t n, off_t at)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

int pb_rt_image_share(const uint8_t *data, const uint8_t *zero, uint32_t size, int *fd, const uint8_t **bytes)
{
    if (fail_now() || !size) {
        errno = size ? ENOMEM : EINVAL;
        return -1;
    }
    int f = memfd_create("plugbox-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (f < 0)
        return -1;
    size_t pages = (size_t)size >> PB_PAGE_SHIFT;
    int ok = ftruncate(f, size) == 0;
    for (size_t i = 0; ok && i < pages;) {
        if (zero[i]) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < pages && !zero[j])
            j++;
        ok = write_at(f, data + (i << PB_PAGE_SHIFT), (j - i) << PB_PAGE_SHIFT, (off_t)(i << PB_PAGE_SHIFT)) == 0;
        i = j;
    }
    /* sealed: nothing, a bug of ours included, can change an image memories map */
    void *p = MAP_FAILED;
    if (ok && fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0)
        p = mmap(NULL, size, PROT_READ, MAP_SHARED, f, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        close(f);
        errno = err;
        return -1;
    }
    *fd = f;
    *bytes = p;
    return 0;
}

void pb_rt_image_unshare(int fd, const uint8_t *bytes, uint32_t size)
{
    munmap((void *)bytes, size);
    close(fd);
}

/* ---- tables ----------------------------------------------------------------------------------- */

#define DEFINE_TABLE(type)                                                                          \
    void wasm_rt_allocate_##type##_table(wasm_rt_##type##_table_t *t, uint32_t n, uint32_t max)      \
    {                                                                                               \
        t->size = 0;                                                                                \
        t->data = pb_rt_calloc(n ? n : 1, sizeof *t->data);                                         \
        if (!t->data)                                                                               \
            instantiation_failed(ENOMEM);                                                           \
        t->size = n;                                                                                \
        t->max_size = max;                                                                          \
    }                                                                                               \
    void wasm_rt_free_##type##_table(wasm_rt_##type##_table_t *t)                                   \
    {                                                                                               \
        free(t->data);                                                                              \
        t->data = NULL;                                                                             \
        t->size = 0;                                                                                \
    }                                                                                               \
    uint32_t wasm_rt_grow_##type##_table(wasm_rt_##type##_table_t *t, uint32_t delta,               \
                                         wasm_rt_##type##_t init)                                   \
    {                                                                                               \
        uint32_t old = t->size;                                                                     \
        uint64_t n = (uint64_t)old + delta;                                                         \
        if (n > t->max_size)                                                                        \
            return UINT32_MAX;                                                                      \
        void *p = pb_rt_realloc(t->data, (size_t)(n ? n : 1) * sizeof *t->data);                    \
        if (!p)                                                                                     \
            return UINT32_MAX;                                                                      \
        t->data = p;                                                                                \
        for (uint64_t i = old; i < n; i++)                                                          \
            t->data[i] = init;                                                                      \
        t->size = (uint32_t)n;                                                                      \
        return old;                                                                                 \
    }
DEFINE_TABLE(funcref)
DEFINE_TABLE(externref)
