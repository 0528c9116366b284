/* SPDX-License-Identifier: MIT */
/* test_threads.c - sandboxes of one shared program, called from several threads at once,
 * with limits and traps firing: every result right, every error the expected kind, and
 * memory bounded. Usage: test_threads [THREADS] [CALLS_PER_THREAD] [--no-faults] */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plugbox.h"
#include "testing.h"

static plugbox_program *program;
static int calls_per_thread = 300;
/* no code that faults (ThreadSanitizer and a fault's handler leaving by siglongjmp) */
static int no_faults;

static const char script[] =
    "function f(d) {\n"
    "  if (d.k === 'loop') for (;;) {}\n"
    "  if (d.k === 'regex') /(a+)+b/.test('a'.repeat(40));\n"
    "  if (d.k === 'mem') { const a = []; for (;;) a.push(new Array(1e5).fill(1.5)); }\n"
    "  if (d.k === 'stack') { const g = (n) => g(n + 1) + 1; g(0); }\n"
    "  globalThis.leak = (globalThis.leak || 0) + 1;\n"
    "  return { v: d.i * 3 + d.t, leak: globalThis.leak };\n"
    "}\n";

struct result {
    int ok, wrong, timeouts, oom, stack, traps, other;
};

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    struct result *r = calloc(1, sizeof *r);
    /* Calls that must end by the time limit run with a short one; the others have a limit
     * armed too, but one that no stall of a busy machine can reach, so that a memory or stack
     * bomb always meets its own limit first. */
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 16u << 20);
    plugbox_options_set_time_limit(o, 100);
    plugbox_sandbox *quick, *roomy;
    if (plugbox_sandbox_new(program, o, &quick) != PLUGBOX_OK) {
        r->other = -1;
        return r;
    }
    plugbox_options_set_time_limit(o, 600000);
    if (plugbox_sandbox_new(program, o, &roomy) != PLUGBOX_OK) {
        r->other = -1;
        return r;
    }
    static const char *const kinds[] = {"loop", "mem", "stack", "trap", "regex"};
    for (int i = 0; i < calls_per_thread; i++) {
        const char *k = i % 10 == 9 ? kinds[(i / 10 + t) % 5] : "none";
        if (no_faults && !strcmp(k, "trap"))
            k = "loop";
        plugbox_sandbox *b = !strcmp(k, "loop") || !strcmp(k, "regex") ? quick : roomy;
        int rc;
        if (!strcmp(k, "trap")) {
            rc = pb__sandbox_call_raw(b, 0xfffffff0u, 64);
        } else {
            char in[128], want[128];
            snprintf(in, sizeof in, "{\"i\":%d,\"t\":%d,\"k\":\"%s\"}", i, t, k);
            snprintf(want, sizeof want, "{\"v\":%d,\"leak\":1}", i * 3 + t);
            const char *out;
            size_t n;
            rc = plugbox_sandbox_call(b, in, strlen(in), &out, &n);
            if (rc == PLUGBOX_OK) {
                if (!strcmp(k, "none") && n == strlen(want) && !memcmp(out, want, n))
                    r->ok++;
                else
                    r->wrong++;
                continue;
            }
        }
        if (rc == PLUGBOX_TIMEOUT && (!strcmp(k, "loop") || !strcmp(k, "regex")))
            r->timeouts++;
        else if (rc == PLUGBOX_MEMORY && !strcmp(k, "mem"))
            r->oom++;
        else if (rc == PLUGBOX_STACK && !strcmp(k, "stack"))
            r->stack++;
        else if (rc == PLUGBOX_TRAP && !strcmp(k, "trap"))
            r->traps++;
        else {
            r->other++;
            fprintf(stderr, "thread %d call %d (%s): %s: %s\n", t, i, k, plugbox_err_name(rc),
                    plugbox_sandbox_error_message(b));
        }
    }
    if (!pb__sandbox_pristine(quick) || !pb__sandbox_pristine(roomy))
        r->other++;
    plugbox_sandbox_free(quick);
    plugbox_sandbox_free(roomy);
    plugbox_options_free(o);
    return r;
}

static int run_round(int threads, struct result *total)
{
    pthread_t th[64];
    for (int t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < threads; t++) {
        struct result *r;
        pthread_join(th[t], (void **)&r);
        total->ok += r->ok;
        total->wrong += r->wrong;
        total->timeouts += r->timeouts;
        total->oom += r->oom;
        total->stack += r->stack;
        total->traps += r->traps;
        total->other += r->other;
        free(r);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (argc > 2)
        calls_per_thread = atoi(argv[2]);
    no_faults = argc > 3 && !strcmp(argv[3], "--no-faults");
    if (threads < 1 || threads > 64 || calls_per_thread < 10)
        return 2;
    plugbox_engine *engine;
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "f");
    if (plugbox_engine_new(&engine) != PLUGBOX_OK || plugbox_program_new(engine, script, (size_t)-1, o, &program))
        return 1;

    struct result warm = {0}, total = {0};
    run_round(threads, &warm); /* first round: reservations and allocator caches fill up */
    long rss0 = status_kb("VmRSS");
    for (int round = 0; round < 3; round++)
        run_round(threads, &total);
    long grown = status_kb("VmRSS") - rss0;

    int rounds = 3, hostile = threads * rounds * (calls_per_thread / 10);
    CHECK(total.wrong == 0);
    CHECK(total.other == 0);
    CHECK(total.ok == threads * rounds * calls_per_thread - hostile);
    CHECK(total.timeouts + total.oom + total.stack + total.traps == hostile);
    CHECK(total.timeouts > 0 && total.oom > 0 && total.stack > 0 && (no_faults || total.traps > 0));
    CHECK(grown < 64 * 1024); /* KiB: no memory kept per call or per sandbox */
    printf("threads=%d calls=%d ok=%d timeouts=%d oom=%d stack=%d traps=%d rss_growth=%ld KiB\n", threads,
           threads * rounds * calls_per_thread, total.ok, total.timeouts, total.oom, total.stack, total.traps, grown);
    printf("%d passed, %d failed\n", checks - failures, failures);
    plugbox_program_free(program);
    plugbox_engine_free(engine);
    plugbox_options_free(o);
    return failures ? 1 : 0;
}
