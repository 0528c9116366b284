/* SPDX-License-Identifier: MIT */
/* watchdog.c - one thread per process that stops guest code past its deadline. See rt.h.
 *
 * Arming a call is a list insertion under a mutex; the thread is woken only when the new
 * deadline is earlier than the one it already sleeps towards, so a steady stream of calls
 * with the same limit costs no system call per call. The thread starts on first use, and
 * again in a child process after fork (which copies no thread but the forking one). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "rt.h"

static pthread_mutex_t w_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t w_cond;
static pb_rt_guard *w_list;
static uint64_t w_wake_ns = UINT64_MAX; /* when the thread wakes next */
static int w_started;

uint64_t pb_rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
            if (stop && !PB_RT_LOAD(g->hard) && now >= g->kick_ns)
                pb_rt__hard_stop(g); /* the guest leaves at its next check */
            uint64_t t = !stop ? g->deadline_ns : PB_RT_LOAD(g->hard) ? UINT64_MAX : g->kick_ns;
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
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&w_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;

    /* the watchdog takes no signal of the host's */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    rc = pb_rt_thread_create(&t, &at, watchdog, NULL);
    pthread_attr_destroy(&at);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&w_cond);
        return -1;
    }
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

/* fork: the list is held still across it. The child keeps the guards of the forking thread
 * (own: its innermost, linked by prev: a fork from host code inside a call) and starts a
 * watchdog of its own at the next call that needs one. */
void pb_rt__watch_atfork_prepare(void)
{
    pthread_mutex_lock(&w_lock);
}

void pb_rt__watch_atfork_parent(void)
{
    pthread_mutex_unlock(&w_lock);
}

void pb_rt__watch_atfork_child(pb_rt_guard *own)
{
    pthread_mutex_init(&w_lock, NULL);
    w_list = NULL;
    w_started = 0;
    w_wake_ns = UINT64_MAX;
    for (pb_rt_guard *g = own; g; g = g->prev)
        if (g->wprev)
            insert(g);
}
