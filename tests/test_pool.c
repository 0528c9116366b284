/* SPDX-License-Identifier: MIT */
/* test_pool.c - the pool: order, state, errors, limits at scale, cancellation, the batch
 * call. One case per process: test_pool CASE. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "plugbox.h"

static plugbox_engine *engine;

static plugbox_program *program_of(const char *src, plugbox_options *o)
{
    plugbox_program *p;
    if (plugbox_program_new(engine, src, (size_t)-1, o, &p) != PLUGBOX_OK) {
        fprintf(stderr, "program: %s\n", p ? plugbox_program_error_message(p) : "?");
        exit(1);
    }
    return p;
}

/* What a callback saw, in the order it saw it. */
struct seen {
    uint64_t *index;
    int *status;
    char **json;
    size_t n, cap;
    pthread_mutex_t lock;
    int concurrent, inside;
};

static void record(void *user, uint64_t index, const plugbox_result *r)
{
    struct seen *s = user;
    if (__atomic_add_fetch(&s->inside, 1, __ATOMIC_SEQ_CST) > 1)
        s->concurrent = 1; /* callbacks must come one at a time */
    pthread_mutex_lock(&s->lock);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->index = realloc(s->index, s->cap * sizeof *s->index);
        s->status = realloc(s->status, s->cap * sizeof *s->status);
        s->json = realloc(s->json, s->cap * sizeof *s->json);
    }
    s->index[s->n] = index;
    s->status[s->n] = r->status;
    s->json[s->n] = r->json ? strdup(r->json) : NULL;
    s->n++;
    pthread_mutex_unlock(&s->lock);
    __atomic_sub_fetch(&s->inside, 1, __ATOMIC_SEQ_CST);
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->json[i]);
    free(s->index);
    free(s->status);
    free(s->json);
}

static void t_order_uneven(void)
{
    /* early inputs take longest: a pool that delivered as calls finish would reorder them */
    plugbox_program *p = program_of("var t = Date.now(); while (Date.now() - t < data.ms) {} data.i * 2", NULL);
    struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    plugbox_pool *pool;
    CHECK(plugbox_pool_new(p, NULL, 2, 8, record, &s, &pool) == PLUGBOX_OK);
    int n = 60;
    for (int i = 0; i < n; i++) {
        char in[64];
        snprintf(in, sizeof in, "{\"i\":%d,\"ms\":%d}", i, i % 7 == 0 ? 12 : (i % 3));
        CHECK(plugbox_pool_submit(pool, in, strlen(in)) == PLUGBOX_OK);
    }
    plugbox_pool_wait(pool);
    CHECK(s.n == (size_t)n);
    for (int i = 0; i < n && (size_t)i < s.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "%d", i * 2);
        CHECK(s.index[i] == (uint64_t)i);
        CHECK(s.status[i] == PLUGBOX_OK && s.json[i] && !strcmp(s.json[i], want));
    }
    CHECK(!s.concurrent);
    plugbox_pool_free(pool);
    plugbox_program_free(p);
    seen_free(&s);
}

static void t_fresh_and_kept_state(void)
{
    static const char counter[] = "globalThis.n = (globalThis.n || 0) + 1; n";
    struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    plugbox_program *p = program_of(counter, NULL);
    plugbox_pool *pool;
    CHECK(plugbox_pool_new(p, NULL, 2, 0, record, &s, &pool) == PLUGBOX_OK);
    for (int i = 0; i < 100; i++)
        plugbox_pool_submit(pool, "{}", 2);
    plugbox_pool_wait(pool);
    for (size_t i = 0; i < s.n; i++)
        CHECK(s.json[i] && !strcmp(s.json[i], "1"));
    CHECK(s.n == 100);
    plugbox_pool_free(pool);
    seen_free(&s);

    /* stateful: each thread's sandbox counts up; the counts of both make up every line */
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_stateful(o, 1);
    struct seen k = {.lock = PTHREAD_MUTEX_INITIALIZER};
    CHECK(plugbox_pool_new(p, o, 2, 0, record, &k, &pool) == PLUGBOX_OK);
    for (int i = 0; i < 100; i++)
        plugbox_pool_submit(pool, "{}", 2);
    plugbox_pool_wait(pool);
    /* the values are 1..a from one sandbox and 1..b from the other, a + b = 100: so each
     * value appears at most twice, and never more often than the value below it */
    int count[102] = {0}, shape_ok = 1;
    for (size_t i = 0; i < k.n; i++) {
        int v = atoi(k.json[i]);
        if (v >= 1 && v <= 100)
            count[v]++;
        else
            shape_ok = 0;
    }
    for (int v = 1; v <= 100; v++)
        if (count[v] > 2 || count[v + 1] > count[v])
            shape_ok = 0;
    CHECK(k.n == 100);
    CHECK(count[1] >= 1 && count[1] <= 2); /* one first call per sandbox */
    CHECK(shape_ok);
    plugbox_pool_free(pool);
    plugbox_options_free(o);
    plugbox_program_free(p);
    seen_free(&k);

    /* ... and with one thread, exactly 1..n */
    o = plugbox_options_new();
    plugbox_options_set_stateful(o, 1);
    struct seen one = {.lock = PTHREAD_MUTEX_INITIALIZER};
    p = program_of(counter, o);
    CHECK(plugbox_pool_new(p, o, 1, 0, record, &one, &pool) == PLUGBOX_OK);
    for (int i = 0; i < 50; i++)
        plugbox_pool_submit(pool, NULL, 0);
    plugbox_pool_wait(pool);
    for (size_t i = 0; i < one.n; i++)
        CHECK(atoi(one.json[i]) == (int)i + 1);
    plugbox_pool_free(pool);
    plugbox_options_free(o);
    plugbox_program_free(p);
    seen_free(&one);
}

/* 10,000 inputs, every 10th hitting a limit or bad: results right, kinds right, memory flat */
static void t_limits_at_scale(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 8u << 20);
    /* a wall-clock limit: room for the ordinary lines, and for the memory lines to reach their
     * limit first, also in the sanitizer builds on a loaded machine */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    plugbox_options_set_time_limit(o, 250);
#else
    plugbox_options_set_time_limit(o, 30);
#endif
    plugbox_program *p = program_of("if (data.k === 'loop') for (;;) {}\n"
                                    /* four megabytes at a time: the memory limit comes long before the time
                                     * limit, even on a loaded machine under a sanitizer */
                                    "if (data.k === 'mem') { var a = []; for (;;) a.push(new ArrayBuffer(4 << 20)); }\n"
                                    "if (data.k === 'stack') { var f = (n) => f(n + 1) + 1; f(0); }\n"
                                    "if (data.k === 'throw') throw new RangeError('bad ' + data.i);\n"
                                    "data.i + 1",
                                    o);
    struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    plugbox_pool *pool;
    CHECK(plugbox_pool_new(p, o, 2, 0, record, &s, &pool) == PLUGBOX_OK);
    static const char *const kinds[] = {"loop", "mem", "stack", "throw", "json"};
    static const int want_status[] = {PLUGBOX_TIMEOUT, PLUGBOX_MEMORY, PLUGBOX_STACK, PLUGBOX_EXCEPTION, PLUGBOX_INPUT};
    long rss0 = 0, vm0 = 0;
    int n = 10000;
    for (int i = 0; i < n; i++) {
        char in[96];
        const char *k = i % 10 == 9 ? kinds[(i / 10) % 5] : "none";
        if (!strcmp(k, "json"))
            snprintf(in, sizeof in, "{\"i\":%d, oops}", i);
        else
            snprintf(in, sizeof in, "{\"i\":%d,\"k\":\"%s\"}", i, k);
        plugbox_pool_submit(pool, in, strlen(in));
        if (i == 1000) {
            plugbox_pool_wait(pool);
            rss0 = status_kb("VmRSS");
            vm0 = status_kb("VmSize");
        }
    }
    plugbox_pool_wait(pool);
    long rss = status_kb("VmRSS"), vm = status_kb("VmSize");
    CHECK(s.n == (size_t)n);
    int wrong = 0;
    for (size_t i = 0; i < s.n; i++) {
        int expect = i % 10 == 9 ? want_status[(i / 10) % 5] : PLUGBOX_OK;
        char want[32];
        snprintf(want, sizeof want, "%zu", i + 1);
        if (s.status[i] != expect || (expect == PLUGBOX_OK && (!s.json[i] || strcmp(s.json[i], want)))) {
            if (wrong++ < 5)
                printf("line %zu: %s, %s; expected %s, %s\n", i, plugbox_err_name(s.status[i]),
                       s.json[i] ? s.json[i] : "-", plugbox_err_name(expect), expect == PLUGBOX_OK ? want : "-");
        }
    }
    CHECK(wrong == 0);
    printf("rss %ld -> %ld kB, address space %ld -> %ld kB\n", rss0, rss, vm0, vm);
    CHECK(rss - rss0 < 32 * 1024);
    CHECK(vm - vm0 < 1024 * 1024);
    plugbox_pool_free(pool);
    plugbox_options_free(o);
    plugbox_program_free(p);
    seen_free(&s);
}

static void *canceller(void *arg)
{
    usleep(100 * 1000);
    plugbox_pool_cancel(arg);
    return NULL;
}

static void t_cancel(void)
{
    plugbox_program *p = program_of("if (data.slow) for (;;) {} 'done'", NULL);
    struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    plugbox_pool *pool;
    CHECK(plugbox_pool_new(p, NULL, 2, 0, record, &s, &pool) == PLUGBOX_OK);
    pthread_t t;
    double t0 = now_ms();
    for (int i = 0; i < 50; i++)
        plugbox_pool_submit(pool, "{\"slow\":true}", 13); /* endless without a time limit */
    pthread_create(&t, NULL, canceller, pool);
    plugbox_pool_wait(pool);
    double dt = now_ms() - t0;
    pthread_join(t, NULL);
    CHECK(s.n == 50);
    for (size_t i = 0; i < s.n; i++)
        CHECK(s.status[i] == PLUGBOX_INTERRUPTED);
    CHECK(dt < 5000);
    /* the pool goes on */
    for (int i = 0; i < 10; i++)
        plugbox_pool_submit(pool, "{\"slow\":false}", 14);
    plugbox_pool_wait(pool);
    CHECK(s.n == 60);
    for (size_t i = 50; i < s.n; i++)
        CHECK(s.status[i] == PLUGBOX_OK && s.json[i] && !strcmp(s.json[i], "\"done\""));
    plugbox_pool_free(pool);
    plugbox_program_free(p);
    seen_free(&s);
}

static void t_batch(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "f");
    plugbox_program *p = program_of("function f(d) { if (d < 0) throw new Error('negative'); return d * d; }", o);
    plugbox_pool *pool;
    CHECK(plugbox_pool_new(p, NULL, 0, 4, NULL, NULL, &pool) == PLUGBOX_OK);
    const char *in[40];
    char buf[40][16];
    plugbox_result r[40];
    for (int i = 0; i < 40; i++) {
        snprintf(buf[i], sizeof buf[i], "%d", i % 5 == 4 ? -i : i);
        in[i] = buf[i];
    }
    CHECK(plugbox_pool_run(pool, in, NULL, 40, r) == PLUGBOX_OK);
    for (int i = 0; i < 40; i++) {
        if (i % 5 == 4) {
            CHECK(r[i].status == PLUGBOX_EXCEPTION && !strcmp(r[i].message, "Error: negative"));
        } else {
            char want[16];
            snprintf(want, sizeof want, "%d", i * i);
            CHECK(r[i].status == PLUGBOX_OK && r[i].json && !strcmp(r[i].json, want));
        }
        plugbox_result_clear(&r[i]);
    }
    plugbox_pool_free(pool);
    plugbox_options_free(o);
    plugbox_program_free(p);
}

/* Inputs of changing sizes through a small ring: the buffers of delivered inputs are reused
 * for later ones, larger or smaller; every call must see exactly its own input. */
static void t_input_sizes(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "f");
    plugbox_program *p = program_of("function f(d) { return d.s.length + ':' + d.s.charAt(d.s.length - 1) + d.i; }", o);
    struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    plugbox_pool *pool;
    CHECK(plugbox_pool_new(p, NULL, 2, 4, record, &s, &pool) == PLUGBOX_OK);
    static const size_t sizes[] = {5, 200000, 3, 70000, 1, 150000, 0, 9};
    enum { N = 64 };
    char *in = malloc(200000 + 64);
    for (int i = 0; i < N; i++) {
        size_t n = sizes[i % 8];
        int k = snprintf(in, 64, "{\"i\":%d,\"s\":\"", i);
        memset(in + k, 'a' + i % 26, n);
        k += (int)n;
        k += snprintf(in + k, 8, "\"}");
        CHECK(plugbox_pool_submit(pool, in, (size_t)k) == PLUGBOX_OK);
        memset(in, 'x', (size_t)k); /* the pool keeps its own copy */
    }
    plugbox_pool_wait(pool);
    CHECK(s.n == N);
    int wrong = 0;
    for (size_t i = 0; i < s.n; i++) {
        char want[64];
        size_t n = sizes[i % 8];
        snprintf(want, sizeof want, "\"%zu:%s%zu\"", n, n ? (char[]){(char)('a' + i % 26), 0} : "", i);
        if (s.index[i] != i || s.status[i] != PLUGBOX_OK || !s.json[i] || strcmp(s.json[i], want))
            wrong++;
    }
    CHECK(wrong == 0);
    free(in);
    plugbox_pool_free(pool);
    plugbox_options_free(o);
    plugbox_program_free(p);
    seen_free(&s);
}

static const test_case cases[] = {
    {"order_uneven", t_order_uneven},
    {"fresh_and_kept_state", t_fresh_and_kept_state},
    {"limits_at_scale", t_limits_at_scale},
    {"cancel", t_cancel},
    {"batch", t_batch},
    {"input_sizes", t_input_sizes},
};

int main(int argc, char **argv)
{
    if (plugbox_engine_new(&engine) != PLUGBOX_OK)
        return 1;
    int rc = run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
    plugbox_engine_free(engine);
    return rc;
}
