/* watchdog.c - one thread per process that stops guest code past its deadline. See rt.h.
 *
 * Arming a call is a list insertion under a mutex; the thread is woken only when the new
 * deadline is earlier than the one it already sleeps towards, so a steady stream of calls
 * with the same limit costs no system call per call. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "rt.h"

#ifndef PLUGBOX_STOP_SIGNAL_OFFSET
#define PLUGBOX_STOP_SIGNAL_OFFSET 5 /* the stop signal is SIGRTMIN + this */
#endif

static pthread_mutex_t w_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t w_cond;
static pb_rt_guard *w_list;
static uint64_t w_wake_ns = UINT64_MAX; /* when the thread wakes next */
static int w_started;
static int w_signal;
static struct sigaction w_old;

uint64_t pb_rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_stop_signal(int sig, siginfo_t *si, void *uc)
{
    if (pb_rt__on_kick())
        return;
    if (w_old.sa_flags & SA_SIGINFO) {
        if (w_old.sa_sigaction)
            w_old.sa_sigaction(sig, si, uc);
    } else if (w_old.sa_handler != SIG_DFL && w_old.sa_handler != SIG_IGN) {
        w_old.sa_handler(sig);
    }
}

static void soft_stop(pb_rt_guard *g)
{
    wasm_rt_memory_t *m = g->mem; /* data is fixed during a call; size is the guest's own */
    if (g->soft_ok) {
        pb_rt_mark_dirty(m, g->soft_word, 4);
        __atomic_store_n((int32_t *)(m->data + g->soft_word), 1, __ATOMIC_RELAXED);
    }
}

static void *watchdog(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&w_lock);
    for (;;) {
        uint64_t now = pb_rt_now_ns(), next = UINT64_MAX;
        for (pb_rt_guard *g = w_list; g; g = g->wnext) {
            int stop = PB_RT_LOAD(g->stop);
            if (!stop && now >= g->deadline_ns) {
                PB_RT_STORE(g->stop, stop = g->reason);
                soft_stop(g);
                g->kick_ns = now + PB_RT_GRACE_NS;
            }
            if (stop && now >= g->kick_ns) {
                /* again, should the last one have come while host code ran; but never while
                 * one is still on its way */
                if (!PB_RT_LOAD(g->kick_pending)) {
                    PB_RT_STORE(g->hard, 1);
                    PB_RT_STORE(g->kick_pending, 1);
                    pthread_kill(g->thread, w_signal);
                }
                g->kick_ns = now + PB_RT_GRACE_NS;
            }
            uint64_t t = stop ? g->kick_ns : g->deadline_ns;
            if (t < next)
                next = t;
        }
        w_wake_ns = next;
        if (next == UINT64_MAX) {
            pthread_cond_wait(&w_cond, &w_lock);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ull), .tv_nsec = (long)(next % 1000000000ull)};
            pthread_cond_timedwait(&w_cond, &w_lock, &ts);
        }
    }
    return NULL;
}

/* under w_lock */
static int start(void)
{
    if (w_started)
        return 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w_cond, &ca);
    pthread_condattr_destroy(&ca);

    w_signal = SIGRTMIN + PLUGBOX_STOP_SIGNAL_OFFSET;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = on_stop_signal;
    if (sigaction(w_signal, &sa, &w_old) != 0)
        return -1;

    /* the watchdog must never run guest code's stop signal itself */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    int rc = pthread_create(&t, &at, watchdog, NULL);
    pthread_attr_destroy(&at);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -1;
    w_started = 1;
    return 0;
}

/* under w_lock */
static void insert(pb_rt_guard *g)
{
    g->wnext = w_list;
    g->wprev = &w_list;
    if (w_list)
        w_list->wprev = &g->wnext;
    w_list = g;
}

static int watch(pb_rt_guard *g, uint64_t deadline_ns, int reason)
{
    pthread_mutex_lock(&w_lock);
    if (start() != 0) {
        pthread_mutex_unlock(&w_lock);
        return -1;
    }
    if (!g->wprev) {
        insert(g);
        PB_RT_STORE(g->armed, 1);
    }
    if (!PB_RT_LOAD(g->stop)) {
        g->deadline_ns = deadline_ns;
        g->reason = reason;
        PB_RT_STORE(g->stop, PB_RT_STOP_NONE);
    }
    if (deadline_ns < w_wake_ns)
        pthread_cond_signal(&w_cond);
    pthread_mutex_unlock(&w_lock);
    return 0;
}

int pb_rt_watch_arm(pb_rt_guard *g, uint64_t deadline_ns)
{
    return watch(g, deadline_ns, PB_RT_STOP_DEADLINE);
}

int pb_rt_watch_interrupt(pb_rt_guard *g)
{
    return watch(g, pb_rt_now_ns(), PB_RT_STOP_INTERRUPT);
}

void pb_rt_watch_disarm(pb_rt_guard *g)
{
    if (!PB_RT_LOAD(g->armed)) /* never armed: no lock needed, nobody else links it */
        return;
    pthread_mutex_lock(&w_lock);
    if (g->wprev) {
        *g->wprev = g->wnext;
        if (g->wnext)
            g->wnext->wprev = g->wprev;
        g->wprev = NULL;
        g->wnext = NULL;
        PB_RT_STORE(g->armed, 0);
    }
    pthread_mutex_unlock(&w_lock);
}
