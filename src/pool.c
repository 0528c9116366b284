/* SPDX-License-Identifier: MIT */
/* pool.c - worker threads, each with its own sandbox of one program; results in order.
 *
 * Inputs go into a ring of `window` slots, numbered by submission. Workers take the oldest
 * queued slot, run it without the lock, and mark it done; whichever thread then finds the
 * oldest undelivered slot done delivers it and every done slot after it, one at a time, so
 * results come out in submission order however unevenly calls take. Cancellation marks a
 * sequence number: slots below it that have not run end as interrupted, and running ones are
 * stopped through their sandbox (see pb__call_run for the race with a call just starting).
 * A submitter that finds the ring full waits until half of it is free. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

enum { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

typedef struct slot {
    int state;
    int too_big;            /* the input was larger than the memory limit: not copied */
    char *input;            /* owned copy; NULL: no input */
    size_t len, cap;        /* input bytes, and the buffer's size */
    plugbox_result result;  /* owned strings once done */
    plugbox_result *dest;   /* plugbox_pool_run: where the result goes instead of the callback */
} slot;

typedef struct worker {
    plugbox_pool *pool;
    plugbox_sandbox *box;
    pthread_t thread;
    uint64_t running;       /* sequence number of the slot it runs, UINT64_MAX if none */
    int cancel;             /* PB_RT_LOAD/STORE: written by plugbox_pool_cancel */
} worker;

struct plugbox_pool {
    plugbox_program *program;
    uint64_t memory_limit;
    worker *workers;
    unsigned nworkers;
    slot *ring;
    size_t window;
    pthread_mutex_t lock;
    pthread_cond_t work, space, delivered;
    uint64_t submitted, taken, delivered_upto; /* sequence numbers */
    uint64_t cancel_below;                     /* slots below it end interrupted */
    int delivering, stopping;
    /* buffers of delivered inputs, kept for the next submissions: a malloc and a free of
     * every input made glibc give the top of its heap back and take it again, calls that
     * interrupt every thread of the process */
    struct spare {
        char *buf;
        size_t cap;
    } *spares;
    size_t nspares, spare_bytes;
    plugbox_result_fn fn;
    void *user;
};

#define SPARE_BYTES_MAX ((size_t)16 << 20)

/* Keeps an input buffer for a later submission, or frees it. Under the lock. */
static void keep_input(plugbox_pool *p, char *buf, size_t cap)
{
    if (buf && p->nspares < p->window && p->spare_bytes + cap <= SPARE_BYTES_MAX) {
        p->spares[p->nspares].buf = buf;
        p->spares[p->nspares++].cap = cap;
        p->spare_bytes += cap;
    } else {
        free(buf);
    }
}

static char *dup_text(const char *s, size_t n)
{
    char *d = pb_rt_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

void plugbox_result_clear(plugbox_result *r)
{
    if (!r)
        return;
    free((char *)r->json);
    if (r->message && *r->message)
        free((char *)r->message);
    if (r->stack && *r->stack)
        free((char *)r->stack);
    memset(r, 0, sizeof *r);
}

/* Copies what the sandbox's call left into r (owned). */
static void take_result(plugbox_result *r, int status, plugbox_sandbox *box, const char *out, size_t len)
{
    const char *msg = status == PLUGBOX_OK ? "" : plugbox_sandbox_error_message(box);
    const char *stack = status == PLUGBOX_OK ? "" : plugbox_sandbox_error_stack(box);
    r->status = status;
    r->json = out ? dup_text(out, len) : NULL;
    r->len = out ? len : 0;
    r->message = *msg ? dup_text(msg, strlen(msg)) : "";
    r->stack = *stack ? dup_text(stack, strlen(stack)) : "";
    if ((out && !r->json) || !r->message || !r->stack) {
        plugbox_result_clear(r);
        r->status = PLUGBOX_HOST;
        r->message = "";
        r->stack = "";
    }
}

/* A result the pool makes itself, for an input that did not run. */
static void set_status(plugbox_result *r, int status, const char *why)
{
    r->status = status;
    r->json = NULL;
    r->len = 0;
    r->message = dup_text(why, strlen(why));
    if (!r->message)
        r->message = "";
    r->stack = "";
}

/* under lock: hand out every done slot from the oldest on, in order, one thread at a time */
static void deliver(plugbox_pool *p)
{
    if (p->delivering)
        return;
    p->delivering = 1;
    while (p->delivered_upto < p->submitted) {
        uint64_t seq = p->delivered_upto;
        slot *s = &p->ring[seq % p->window];
        if (s->state != SLOT_DONE)
            break;
        if (s->dest) {
            *s->dest = s->result; /* the caller owns it now */
        } else {
            pthread_mutex_unlock(&p->lock);
            if (p->fn)
                p->fn(p->user, seq, &s->result);
            pthread_mutex_lock(&p->lock);
            plugbox_result_clear(&s->result);
        }
        keep_input(p, s->input, s->cap);
        memset(s, 0, sizeof *s);
        p->delivered_upto++;
    }
    /* a submitter blocked on a full ring is woken once half of it is free, not for every
     * result: woken for each, it would take a core from the workers at every call */
    if (p->submitted - p->delivered_upto <= p->window / 2)
        pthread_cond_broadcast(&p->space);
    p->delivering = 0;
    pthread_cond_broadcast(&p->delivered);
}

static void *work(void *arg)
{
    worker *w = arg;
    plugbox_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && p->taken == p->submitted)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->taken == p->submitted) /* stopping, nothing left */
            break;
        uint64_t seq = p->taken++;
        slot *s = &p->ring[seq % p->window];
        if (seq < p->cancel_below) {
            set_status(&s->result, PLUGBOX_INTERRUPTED, "cancelled before it ran");
        } else if (s->too_big) {
            char why[128];
            snprintf(why, sizeof why, "out of memory (limit %llu bytes): the input takes %zu bytes",
                     (unsigned long long)p->memory_limit, s->len);
            set_status(&s->result, PLUGBOX_MEMORY, why);
        } else {
            s->state = SLOT_RUNNING;
            w->running = seq;
            PB_RT_STORE(w->cancel, 0);
            pthread_mutex_unlock(&p->lock);
            const char *out;
            size_t len;
            int status = pb__sandbox_call(w->box, s->input, s->len, &out, &len, &w->cancel);
            take_result(&s->result, status, w->box, out, len);
            pthread_mutex_lock(&p->lock);
            w->running = UINT64_MAX;
        }
        s->state = SLOT_DONE;
        deliver(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int plugbox_pool_new(plugbox_program *prog, const plugbox_options *opts, unsigned threads, size_t window,
                     plugbox_result_fn fn, void *user, plugbox_pool **out)
{
    *out = NULL;
    if (!prog || prog->error.kind != PLUGBOX_OK)
        return PLUGBOX_ARGUMENT;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    if (!window)
        window = 64 * (size_t)threads;
    plugbox_pool *p = pb_rt_calloc(1, sizeof *p);
    if (!p)
        return PLUGBOX_HOST;
    p->workers = pb_rt_calloc(threads, sizeof *p->workers);
    p->ring = pb_rt_calloc(window, sizeof *p->ring);
    p->spares = pb_rt_calloc(window, sizeof *p->spares);
    p->window = window;
    p->memory_limit = pb__opts(opts)->memory_limit;
    p->fn = fn;
    p->user = user;
    p->program = prog;
    atomic_fetch_add(&prog->refs, 1);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->space, NULL);
    pthread_cond_init(&p->delivered, NULL);
    int rc = p->workers && p->ring && p->spares ? PLUGBOX_OK : PLUGBOX_HOST;
    for (unsigned i = 0; rc == PLUGBOX_OK && i < threads; i++) {
        worker *w = &p->workers[i];
        w->pool = p;
        w->running = UINT64_MAX;
        rc = plugbox_sandbox_new(prog, opts, &w->box);
        int err = rc == PLUGBOX_OK ? pb_rt_thread_create(&w->thread, NULL, work, w) : 0;
        if (err) {
            plugbox_sandbox_free(w->box);
            w->box = NULL;
            errno = err;
            rc = PLUGBOX_HOST;
        }
        if (rc == PLUGBOX_OK)
            p->nworkers++;
    }
    if (rc != PLUGBOX_OK) {
        int err = errno;
        plugbox_pool_free(p);
        errno = err;
        return rc;
    }
    *out = p;
    return PLUGBOX_OK;
}

void plugbox_pool_free(plugbox_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i].thread, NULL);
    pthread_mutex_lock(&p->lock);
    deliver(p); /* what the last worker finished while another was delivering */
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; p->workers && i < p->nworkers; i++)
        plugbox_sandbox_free(p->workers[i].box);
    for (size_t i = 0; p->ring && i < p->window; i++) {
        free(p->ring[i].input);
        plugbox_result_clear(&p->ring[i].result);
    }
    for (size_t i = 0; i < p->nspares; i++)
        free(p->spares[i].buf);
    free(p->spares);
    free(p->workers);
    free(p->ring);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->space);
    pthread_cond_destroy(&p->delivered);
    pb__program_release(p->program);
    free(p);
}

static int submit(plugbox_pool *p, const char *json, size_t len, plugbox_result *dest)
{
    char *copy = NULL;
    size_t cap = 0;
    int too_big = json && len > p->memory_limit; /* no copy: it cannot run */
    if (json && !too_big) {
        pthread_mutex_lock(&p->lock);
        if (p->nspares) {
            struct spare *sp = &p->spares[--p->nspares];
            p->spare_bytes -= sp->cap;
            copy = sp->buf;
            cap = sp->cap;
        }
        pthread_mutex_unlock(&p->lock);
        if (cap < len + 1) {
            free(copy);
            cap = len + 1;
            if (!(copy = pb_rt_malloc(cap)))
                return PLUGBOX_HOST;
        }
        memcpy(copy, json, len);
        copy[len] = 0;
    }
    pthread_mutex_lock(&p->lock);
    while (p->submitted - p->delivered_upto >= p->window) {
        deliver(p); /* the submitting thread may have to deliver what is done itself */
        if (p->submitted - p->delivered_upto >= p->window)
            pthread_cond_wait(&p->space, &p->lock);
    }
    slot *s = &p->ring[p->submitted % p->window];
    s->state = SLOT_QUEUED;
    s->too_big = too_big;
    s->input = copy;
    s->len = json ? len : 0;
    s->cap = cap;
    s->dest = dest;
    p->submitted++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return PLUGBOX_OK;
}

int plugbox_pool_submit(plugbox_pool *p, const char *json, size_t len)
{
    return p ? submit(p, json, len, NULL) : PLUGBOX_ARGUMENT;
}

void plugbox_pool_wait(plugbox_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    uint64_t upto = p->submitted;
    while (p->delivered_upto < upto) {
        deliver(p);
        if (p->delivered_upto < upto)
            pthread_cond_wait(&p->delivered, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
}

int plugbox_pool_call_function(plugbox_pool *p, const char *name, const char *json, size_t len,
                               plugbox_result *results, unsigned cap, unsigned *n)
{
    if (!p || !name || !results || !n)
        return PLUGBOX_ARGUMENT;
    plugbox_pool_wait(p); /* every worker is idle after it: its sandbox is free */
    *n = p->nworkers < cap ? p->nworkers : cap;
    for (unsigned i = 0; i < *n; i++) {
        pthread_mutex_lock(&p->lock); /* what the worker did is seen from here */
        plugbox_sandbox *box = p->workers[i].box;
        pthread_mutex_unlock(&p->lock);
        const char *out;
        size_t out_len;
        int status = plugbox_sandbox_call_function(box, name, json, len, &out, &out_len);
        take_result(&results[i], status, box, out, out_len);
    }
    return PLUGBOX_OK;
}

int plugbox_pool_run(plugbox_pool *p, const char *const *inputs, const size_t *lens, size_t n,
                     plugbox_result *results)
{
    if (!p || (n && (!inputs || !results)))
        return PLUGBOX_ARGUMENT;
    /* every result is one the caller may clear, those of inputs that could not be queued too */
    for (size_t i = 0; i < n; i++)
        results[i] = (plugbox_result){PLUGBOX_HOST, NULL, 0, "", ""};
    int rc = PLUGBOX_OK;
    for (size_t i = 0; i < n && rc == PLUGBOX_OK; i++) {
        const char *in = inputs[i];
        rc = submit(p, in, in ? (lens ? lens[i] : strlen(in)) : 0, &results[i]);
    }
    plugbox_pool_wait(p);
    return rc;
}

int plugbox_pool_cancel(plugbox_pool *p)
{
    if (!p)
        return PLUGBOX_ARGUMENT;
    pthread_mutex_lock(&p->lock);
    p->cancel_below = p->submitted;
    for (unsigned i = 0; i < p->nworkers; i++) {
        worker *w = &p->workers[i];
        if (w->running < p->cancel_below) {
            PB_RT_STORE(w->cancel, 1);
            plugbox_sandbox_interrupt(w->box);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return PLUGBOX_OK;
}
