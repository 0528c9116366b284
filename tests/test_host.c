/* SPDX-License-Identifier: MIT */
/* test_host.c - what the host process can rely on, whatever a script does and whatever the
 * host's own state: every host resource failed in turn, small thread stacks, blocked signals,
 * fork, an address-space limit, the extremes of every option, inputs larger than a sandbox.
 * One case per process: test_host CASE (test_host --list names them). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "plugbox.h"
#include "testing.h"

/* One call's outcome as text: "OK <json>" or "<ERROR NAME>". */
static const char *outcome(plugbox_sandbox *b, const char *json, int *rc)
{
    static char buf[512];
    const char *out;
    size_t n;
    *rc = plugbox_sandbox_call(b, json, json ? strlen(json) : 0, &out, &n);
    if (*rc == PLUGBOX_OK)
        snprintf(buf, sizeof buf, "OK %.*s", (int)n, out ? out : "");
    else
        snprintf(buf, sizeof buf, "%s", plugbox_err_name(*rc));
    return buf;
}

/* ---- every host resource failed in turn ------------------------------------------------------ */

/* Everything a host does with the library, from nothing: engine, program, a program learned
 * from it, sandboxes, calls that grow memory and restore it, a pool. Returns PLUGBOX_OK, or the first error, which must
 * be one a resource failure may cause; everything made is freed either way. */
static int scenario(void)
{
    plugbox_engine *e = NULL;
    plugbox_program *p = NULL;
    plugbox_sandbox *b = NULL;
    plugbox_pool *pool = NULL;
    plugbox_options *o = plugbox_options_new();
    int rc = o ? PLUGBOX_OK : PLUGBOX_HOST;
    if (rc == PLUGBOX_OK)
        rc = plugbox_options_set_function(o, "f");
    if (rc == PLUGBOX_OK)
        rc = plugbox_options_set_time_limit(o, 600000);
    if (rc == PLUGBOX_OK)
        rc = plugbox_engine_new(&e);
    if (rc == PLUGBOX_OK)
        rc = plugbox_program_new(e, "function f(d) { var a = new Array(d * 100000).fill(d); return a.length }",
                                 (size_t)-1, o, &p);
    if (rc == PLUGBOX_OK) { /* the program learns an input's form: its sandboxes are the learned one's */
        plugbox_program *learned = NULL;
        rc = plugbox_program_learn(p, "{\"k\":[1,{\"l\":2}]}", 17, o, &learned);
        plugbox_program_free(p);
        p = learned;
    }
    if (rc == PLUGBOX_OK)
        rc = plugbox_sandbox_new(p, o, &b);
    for (int i = 0; rc == PLUGBOX_OK && i < 3; i++) { /* grows its memory, restored after each */
        const char *out;
        size_t n;
        rc = plugbox_sandbox_call(b, i == 1 ? "20" : "1", i == 1 ? 2 : 1, &out, &n);
        if (rc == PLUGBOX_OK && strcmp(out, i == 1 ? "2000000" : "100000") != 0)
            rc = PLUGBOX_TRAP; /* a wrong answer is never acceptable */
    }
    if (rc == PLUGBOX_OK)
        rc = plugbox_pool_new(p, o, 2, 4, NULL, NULL, &pool);
    if (rc == PLUGBOX_OK) {
        const char *in[5] = {"1", "2", "3", "1", "2"};
        plugbox_result r[5];
        rc = plugbox_pool_run(pool, in, NULL, 5, r);
        for (int i = 0; rc == PLUGBOX_OK && i < 5; i++) {
            char want[32];
            snprintf(want, sizeof want, "%d00000", in[i][0] - '0');
            if (r[i].status != PLUGBOX_OK && r[i].status != PLUGBOX_HOST)
                rc = PLUGBOX_TRAP;
            else if (r[i].status == PLUGBOX_OK && strcmp(r[i].json, want) != 0)
                rc = PLUGBOX_TRAP;
            else if (r[i].status != PLUGBOX_OK)
                rc = r[i].status;
        }
        for (int i = 0; i < 5; i++)
            plugbox_result_clear(&r[i]);
    }
    plugbox_pool_free(pool);
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
    plugbox_engine_free(e);
    plugbox_options_free(o);
    return rc;
}

/* Fails resource n of a scenario, then runs it again without failure. Returns 0 when the
 * failure was absorbed (the scenario succeeded anyway), 1 when it was reported, 2 when it
 * was reported wrongly or the next attempt failed. */
static int fail_one(long n)
{
    pb_rt_fail_after(n);
    int rc = scenario();
    pb_rt_fail_after(-1);
    int again = scenario();
    if ((rc != PLUGBOX_OK && rc != PLUGBOX_HOST && rc != PLUGBOX_MEMORY) || again != PLUGBOX_OK) {
        fprintf(stderr, "resource %ld failed: the scenario ended with %s, then %s\n", n, plugbox_err_name(rc),
                plugbox_err_name(again));
        return 2;
    }
    if (rc == PLUGBOX_OK && getenv("PB_TRACE"))
        fprintf(stderr, "resource %ld: absorbed\n", n);
    return rc != PLUGBOX_OK;
}

/* Every host resource the scenario takes is failed in turn (the way SQLite tests its
 * allocations): each failure is an error of the host's kind, never a wrong result, a crash
 * or a leak (the sanitizer build checks at exit), and the next attempt works. The first
 * scenario of a process also takes what is made once (function types, alternate signal
 * stacks, the watchdog thread): those are failed in a fresh child process each. */
/* The resources the first scenario of a process takes, counted in a child (this process
 * stays as it was). */
static long count_cold(void)
{
    int fd[2];
    long n = -1;
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        pb_rt_fail_after(-1);
        n = scenario() == PLUGBOX_OK ? pb_rt_fail_after(-1) : -1;
        _exit(write(fd[1], &n, sizeof n) == sizeof n ? 0 : 1);
    }
    close(fd[1]);
    if (read(fd[0], &n, sizeof n) != sizeof n)
        n = -1;
    close(fd[0]);
    waitpid(pid, NULL, 0);
    return n;
}

/* Every host resource the scenario takes is failed in turn (the way SQLite tests its
 * allocations): each failure is an error of the host's kind, never a wrong result, a crash
 * or a leak (the sanitizer build checks at exit), and the next attempt works. The first
 * scenario of a process also takes what is made once (function types, alternate signal
 * stacks, the watchdog thread): those are failed in a child of this process, still cold,
 * one child per resource. */
static void t_fail_every_resource(void)
{
    if (getenv("PB_FAIL_ONLY")) { /* to debug one: PB_FAIL_ONLY=n test_host fail_every_resource */
        CHECK(fail_one(atol(getenv("PB_FAIL_ONLY"))) < 2);
        return;
    }
    long cold = count_cold();
    CHECK(cold > 100);
    int reported = 0, bad = 0;
    for (long n = 0; n < cold; n++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0)
            exit(fail_one(n)); /* exit, not _exit: the leak checker runs at exit */
        int status = -1;
        waitpid(pid, &status, 0);
        int r = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
        if (r > 1) {
            fprintf(stderr, "first scenario, resource %ld: the child ended with status %d\n", n, status);
            bad++;
        }
        reported += r == 1;
    }
    CHECK_EQ_INT(bad, 0);

    CHECK_EQ_INT(scenario(), PLUGBOX_OK); /* now warm */
    pb_rt_fail_after(-1);
    CHECK_EQ_INT(scenario(), PLUGBOX_OK);
    long warm = pb_rt_fail_after(-1);
    CHECK(warm > 20 && warm < cold);
    int warm_reported = 0;
    for (long n = 0; n < warm; n++) {
        int r = fail_one(n);
        CHECK(r < 2);
        warm_reported += r == 1;
    }
    /* every failure is seen but those the guest copes with: a refused memory.grow, after which
     * the engine's allocator finds room in what it has, or asks again (PB_TRACE=1 names them;
     * the engine's set-up, with its prelude, grows memory some 15 times) */
    CHECK(reported >= cold - 20);
    CHECK(warm_reported >= warm - 20);
    printf("first scenario: %ld resources failed in turn, %d reported; later ones: %ld, %d reported\n", cold,
           reported, warm, warm_reported);
}

/* ---- thread stacks --------------------------------------------------------------------------- */

struct stack_run {
    size_t stack;
    const char *script;
    int rc;
    char out[128];
};

/* Host code under guest code gets the room it was promised: this console callback takes
 * 16 KiB of stack. */
static void hungry_console(void *user, plugbox_console_level level, const char *text, size_t len)
{
    (void)level;
    volatile char buf[16 << 10];
    memset((char *)buf, (int)len, sizeof buf);
    *(int *)user += buf[len % sizeof buf] == (char)len;
    (void)text;
}

static plugbox_engine *engine;

static void *stack_worker(void *arg)
{
    struct stack_run *r = arg;
    int seen = 0;
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_console(o, hungry_console, &seen);
    plugbox_program *p;
    r->rc = plugbox_program_new(engine, r->script, (size_t)-1, o, &p);
    if (r->rc == PLUGBOX_OK) {
        plugbox_sandbox *b;
        r->rc = plugbox_sandbox_new(p, o, &b);
        if (r->rc == PLUGBOX_OK) {
            snprintf(r->out, sizeof r->out, "%s", outcome(b, NULL, &r->rc));
            plugbox_sandbox_free(b);
        }
    }
    plugbox_program_free(p);
    plugbox_options_free(o);
    return NULL;
}

static int run_on_stack(size_t stack, const char *script, char *out, size_t out_size)
{
    struct stack_run r = {stack, script, -100, ""};
    pthread_attr_t at;
    pthread_attr_init(&at);
    CHECK_EQ_INT(pthread_attr_setstacksize(&at, stack), 0);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, &at, stack_worker, &r), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&at);
    snprintf(out, out_size, "%s", r.out);
    return r.rc;
}

/* Every way a script recurses natively, on stacks from 64 KiB to 1 MiB, with a host callback
 * on top: a stack overflow the script may catch, or that ends the call, never a crash. */
static void t_small_stacks(void)
{
    static const char *const bombs[] = {
        "var x = []; for (var i = 0; i < 2e5; i++) x = [x];"
        "JSON.stringify(x, function (k, v) { console.log('p'); return v }).length",
        "function f(n) { console.log(''); return f(n + 1) + 1 } f(0)",
        "var o = {}; o.toString = function () { console.log(''); return String(this) }; String(o)",
        "var o = { valueOf() { console.log(''); return +this } }; +o",
        "var o = {}; Object.defineProperty(o, 'x', { get() { console.log(''); return this.x } }); o.x",
        "var p = new Proxy({}, { get(t, k, r) { console.log(''); return r[k] } }); p.x",
        "var h = {}; var p = new Proxy({}, h); for (var i = 0; i < 2e5; i++) p = new Proxy(p, h); p.x",
        "var a = [3, 1, 2]; a.sort(function s(x, y) { console.log(''); return a.sort(s), x - y })",
        "var r = Promise.resolve(); function g() { console.log(''); return r.then(g) } g(); 1",
        "var x = []; for (var i = 0; i < 2e5; i++) x = [x]; x.flat(Infinity).length",
        "new RegExp('('.repeat(30000) + 'a' + ')'.repeat(30000)).test('a')",
        "var s = 'x'; for (var i = 0; i < 20; i++) s = s + s; eval('('.repeat(100000) + '1' + ')'.repeat(100000))",
    };
    static const size_t stacks[] = {64u << 10, 128u << 10, 256u << 10, 512u << 10, 1u << 20};
    for (size_t s = 0; s < sizeof stacks / sizeof stacks[0]; s++) {
        for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
            char out[128];
            int rc = run_on_stack(stacks[s], bombs[i], out, sizeof out);
            /* the call ends: a stack overflow (caught by the script or not), or, for some, a
             * result once the engine's limits are met, or a memory limit first */
            if (rc != PLUGBOX_STACK && rc != PLUGBOX_OK && rc != PLUGBOX_EXCEPTION && rc != PLUGBOX_MEMORY &&
                rc != PLUGBOX_SYNTAX) {
                fprintf(stderr, "stack %zu KiB, bomb %zu: %s\n", stacks[s] >> 10, i, plugbox_err_name(rc));
                CHECK(0);
            }
        }
    }
}

/* The smallest thread stack on which calls work (README: the floor): a trivial call, and the
 * seed's kind of work, with a console callback that takes 16 KiB. */
static void t_stack_floor(void)
{
    const char *work = "var t = 0; for (var i = 0; i < 1000; i++) t += JSON.parse(JSON.stringify({a: [i, {b: i}]})).a[1].b;"
                       "console.log('done'); t";
    char out[128];
    size_t floor = 0;
    for (size_t stack = 32u << 10; stack <= (1u << 20); stack += 16u << 10) {
        int rc = run_on_stack(stack, work, out, sizeof out);
        if (rc == PLUGBOX_OK) {
            CHECK_STR(out, "OK 499500");
            if (!floor)
                floor = stack;
        } else {
            if (rc != PLUGBOX_STACK && rc != PLUGBOX_EXCEPTION)
                fprintf(stderr, "stack %zu KiB: %s\n", stack >> 10, plugbox_err_name(rc));
            CHECK(rc == PLUGBOX_STACK || rc == PLUGBOX_EXCEPTION);
            CHECK(!floor); /* every stack above the floor works */
        }
    }
    printf("calls work on thread stacks from %zu KiB\n", floor >> 10);
    CHECK(floor && floor <= (128u << 10));
}

/* ---- signals --------------------------------------------------------------------------------- */

static void *blocked_worker(void *arg)
{
    int *rcs = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_time_limit(o, 100);
    plugbox_program *p;
    plugbox_sandbox *b = NULL;
    if (plugbox_program_new(engine, "if (data === 'regex') /(a+)+b/.test('a'.repeat(40));"
                                    "if (data === 'loop') for (;;) {} 'ok'", (size_t)-1, o, &p) == PLUGBOX_OK &&
        plugbox_sandbox_new(p, o, &b) == PLUGBOX_OK) {
        outcome(b, "\"regex\"", &rcs[0]); /* native engine code: only a hard stop ends it */
        outcome(b, "\"loop\"", &rcs[1]);
        rcs[2] = pb__sandbox_call_raw(b, 0xfffffff0u, 64); /* a fault of guest code */
        outcome(b, "\"none\"", &rcs[3]);
        plugbox_sandbox_free(b);
    }
    plugbox_program_free(p);
    plugbox_options_free(o);
    return NULL;
}

/* Limits hold, and faults of guest code are caught, on a thread that blocks every signal. */
static void t_signal_mask(void)
{
    int rcs[4] = {-100, -100, -100, -100};
    pthread_t t;
    pthread_create(&t, NULL, blocked_worker, rcs);
    pthread_join(t, NULL);
    CHECK_EQ_INT(rcs[0], PLUGBOX_TIMEOUT);
    CHECK_EQ_INT(rcs[1], PLUGBOX_TIMEOUT);
    CHECK_EQ_INT(rcs[2], PLUGBOX_TRAP);
    CHECK_EQ_INT(rcs[3], PLUGBOX_OK);
}

/* ---- fork ------------------------------------------------------------------------------------ */

/* A child of a process that already used time limits (its watchdog thread is not copied)
 * still has them. */
static void t_fork_child(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_time_limit(o, 100);
    plugbox_program *p;
    plugbox_sandbox *b;
    CHECK_EQ_INT(plugbox_program_new(engine, "if (data) for (;;) {} 'ok'", (size_t)-1, o, &p), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_sandbox_new(p, o, &b), PLUGBOX_OK);
    int rc;
    outcome(b, "true", &rc);
    CHECK_EQ_INT(rc, PLUGBOX_TIMEOUT); /* the parent's watchdog runs */
    for (int round = 0; round < 2; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* the child: the sandbox made before the fork, and a new one */
            plugbox_sandbox *c;
            int r1, r2, r3;
            outcome(b, "true", &r1);
            int made = plugbox_sandbox_new(p, o, &c) == PLUGBOX_OK;
            if (made)
                outcome(c, "true", &r2);
            const char *ok = made ? outcome(c, "false", &r3) : "";
            _exit(r1 == PLUGBOX_TIMEOUT && made && r2 == PLUGBOX_TIMEOUT && !strcmp(ok, "OK \"ok\"") ? 0 : 1);
        }
        CHECK(pid > 0);
        int status = -1;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    outcome(b, "true", &rc);
    CHECK_EQ_INT(rc, PLUGBOX_TIMEOUT);
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
    plugbox_options_free(o);
}

/* ---- address space --------------------------------------------------------------------------- */

/* Out of address space (each sandbox reserves 8 GiB): a new sandbox fails with PLUGBOX_HOST
 * and ENOMEM, the others go on, and once there is room again it works. */
static void t_address_space(void)
{
    plugbox_program *p;
    CHECK_EQ_INT(plugbox_program_new(engine, "data * 2", (size_t)-1, NULL, &p), PLUGBOX_OK);
    plugbox_sandbox *before;
    CHECK_EQ_INT(plugbox_sandbox_new(p, NULL, &before), PLUGBOX_OK);
    struct rlimit old, tight;
    CHECK_EQ_INT(getrlimit(RLIMIT_AS, &old), 0);
    tight = old;
    tight.rlim_cur = (rlim_t)status_kb("VmSize") * 1024 + (1u << 30);
    CHECK_EQ_INT(setrlimit(RLIMIT_AS, &tight), 0);
    plugbox_sandbox *b = NULL;
    errno = 0;
    CHECK_EQ_INT(plugbox_sandbox_new(p, NULL, &b), PLUGBOX_HOST);
    CHECK_EQ_INT(errno, ENOMEM);
    CHECK(b == NULL);
    plugbox_engine *e2 = NULL;
    CHECK_EQ_INT(plugbox_engine_new(&e2), PLUGBOX_HOST);
    plugbox_program *p2 = NULL;
    CHECK_EQ_INT(plugbox_program_new(engine, "1", (size_t)-1, NULL, &p2), PLUGBOX_HOST);
    plugbox_pool *pool = NULL;
    CHECK_EQ_INT(plugbox_pool_new(p, NULL, 2, 0, NULL, NULL, &pool), PLUGBOX_HOST);
    int rc;
    CHECK_STR(outcome(before, "21", &rc), "OK 42");
    CHECK_EQ_INT(setrlimit(RLIMIT_AS, &old), 0);
    CHECK_EQ_INT(plugbox_sandbox_new(p, NULL, &b), PLUGBOX_OK);
    CHECK_STR(outcome(b, "4", &rc), "OK 8");
    plugbox_sandbox_free(b);
    plugbox_sandbox_free(before);
    plugbox_program_free(p);
}

/* ---- options --------------------------------------------------------------------------------- */

static void t_option_extremes(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_program *p;
    plugbox_sandbox *b;
    int rc;
    CHECK_EQ_INT(plugbox_program_new(engine, "if (data === 'loop') for (;;) {} data", (size_t)-1, NULL, &p), PLUGBOX_OK);
    /* memory */
    CHECK_EQ_INT(plugbox_options_set_memory_limit(o, 0), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_set_memory_limit(o, 1), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_sandbox_new(p, o, &b), PLUGBOX_MEMORY);
    CHECK_EQ_INT(plugbox_options_set_memory_limit(o, UINT64_MAX), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_sandbox_new(p, o, &b), PLUGBOX_OK);
    CHECK_STR(outcome(b, "[1]", &rc), "OK [1]");
    plugbox_sandbox_free(b);
    /* time: the largest is no limit in practice, not an overflow that fires at once */
    CHECK_EQ_INT(plugbox_options_set_memory_limit(o, 64u << 20), PLUGBOX_OK);
    uint64_t huge[] = {UINT64_MAX, UINT64_MAX / 1000000 + 1, 18446744073709ull, 1ull << 40};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        CHECK_EQ_INT(plugbox_options_set_time_limit(o, huge[i]), PLUGBOX_OK);
        CHECK_EQ_INT(plugbox_sandbox_new(p, o, &b), PLUGBOX_OK);
        CHECK_STR(outcome(b, "2", &rc), "OK 2");
        plugbox_sandbox_free(b);
    }
    CHECK_EQ_INT(plugbox_options_set_time_limit(o, 1), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_sandbox_new(p, o, &b), PLUGBOX_OK);
    CHECK_STR(outcome(b, "\"loop\"", &rc), "TIMEOUT");
    plugbox_sandbox_free(b);
    /* names and NULLs */
    CHECK_EQ_INT(plugbox_options_set_function(o, ""), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_set_function(o, NULL), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_set_filename(o, ""), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_set_stateful(o, 7), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_set_time_limit(NULL, 1), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_set_memory_limit(NULL, 1), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_set_function(NULL, "f"), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_set_console(NULL, NULL, NULL), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_sandbox_new(NULL, o, &b), PLUGBOX_ARGUMENT);
    plugbox_program *none;
    CHECK_EQ_INT(plugbox_program_new(NULL, "1", 1, o, &none), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_program_new(engine, NULL, 1, o, &none), PLUGBOX_ARGUMENT);
    CHECK(none == NULL);
    const char *out;
    size_t n;
    CHECK_EQ_INT(plugbox_sandbox_call(NULL, "1", 1, &out, &n), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_sandbox_interrupt(NULL), PLUGBOX_ARGUMENT);
    plugbox_options_free(o);
    plugbox_program_free(p);
    plugbox_options_free(NULL);
    plugbox_program_free(NULL);
    plugbox_sandbox_free(NULL);
    plugbox_pool_free(NULL);
    plugbox_engine_free(NULL);
}

/* ---- inputs ---------------------------------------------------------------------------------- */

/* An input larger than the memory limit is refused before anything reads it (the length is a
 * lie here: reading past the 16 bytes would be caught by AddressSanitizer). */
static void t_input_too_large(void)
{
    static const char small[16] = "1234567890123456";
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 16u << 20);
    plugbox_program *p;
    plugbox_sandbox *b;
    CHECK_EQ_INT(plugbox_program_new(engine, "data", (size_t)-1, o, &p), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_sandbox_new(p, o, &b), PLUGBOX_OK);
    const char *out;
    size_t n;
    CHECK_EQ_INT(plugbox_sandbox_call(b, small, (size_t)1 << 30, &out, &n), PLUGBOX_MEMORY);
    CHECK_HAS(plugbox_sandbox_error_message(b), "out of memory");
    CHECK_EQ_INT(plugbox_sandbox_call(b, small, 4, &out, &n), PLUGBOX_OK);
    CHECK(n == 4 && !memcmp(out, "1234", 4));
    plugbox_pool *pool;
    CHECK_EQ_INT(plugbox_pool_new(p, o, 1, 0, NULL, NULL, &pool), PLUGBOX_OK);
    const char *in[2] = {small, small};
    size_t lens[2] = {(size_t)1 << 30, 2};
    plugbox_result r[2];
    CHECK_EQ_INT(plugbox_pool_run(pool, in, lens, 2, r), PLUGBOX_OK);
    CHECK_EQ_INT(r[0].status, PLUGBOX_MEMORY);
    CHECK_HAS(r[0].message, "out of memory");
    CHECK_EQ_INT(r[1].status, PLUGBOX_OK);
    CHECK_STR(r[1].json, "12");
    plugbox_result_clear(&r[0]);
    plugbox_result_clear(&r[1]);
    plugbox_pool_free(pool);
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
    plugbox_options_free(o);
}

static const test_case cases[] = {
    {"fail_every_resource", t_fail_every_resource},
    {"small_stacks", t_small_stacks},
    {"stack_floor", t_stack_floor},
    {"signal_mask", t_signal_mask},
    {"fork_child", t_fork_child},
    {"address_space", t_address_space},
    {"option_extremes", t_option_extremes},
    {"input_too_large", t_input_too_large},
};

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list"))
        return run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
    /* the resource case makes its own engines, from nothing */
    if (!(argc == 2 && !strcmp(argv[1], "fail_every_resource")) && plugbox_engine_new(&engine) != PLUGBOX_OK) {
        fprintf(stderr, "cannot create the engine\n");
        return 1;
    }
    int rc = run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
    plugbox_engine_free(engine);
    return rc;
}
