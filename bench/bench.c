/* SPDX-License-Identifier: MIT */
/* bench.c - the seed's table on this machine, every row measured in one run.
 *
 * usage: bench [--calls N] [--node PATH|--no-node] [--node-helper FILE] [--peers DIR] [--plugin TRACK.wasm]
 *              [--sweep SWEEP.js] [SCRIPT.js DATA.json...]
 *
 * For each data file, each row is the median of N calls after a warm-up, and is printed with
 * its ratio to row 5 (what users get) and to node running the script as a plain function with
 * no sandbox (the baseline users compare with), as a Markdown table; the peers' ratios come
 * from their turns with row 5 (run_peers), not from dividing times taken at other moments. The node and
 * quickjs-emscripten rows come from the helper bench/node_bench.js, which takes turns with
 * row 5 during the run (run_peers); DIR holds the npm peers it loads (bench/fetch-peers.sh
 * installs them). Noisy absolute times are not the claim; the ratios measured here are. Every row's result is
 * compared with row 5's; one that is not the same number to 4 digits fails the run.
 * After the data files: a density line (what a sandbox costs the process, under the first data
 * file's table), the size sweep (SWEEP.js on generated inputs of 1 KB to 10 MB, plugbox and node
 * in turns; with --sweep and no data file, the sweep alone), making programs, host grants. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugbox.h"

extern char **environ;

#ifdef PB_BENCH_NATIVE
/* the guest's own code (guest/guest.c, guest/json.c) and QuickJS, compiled for the host */
int pb_init(void);
int pb_compile(const char *src, size_t len, const char *filename, const char *fn, int typescript);
int pb_run(const char *json, size_t len, int has_data, uint32_t seed_lo, uint32_t seed_hi, uint32_t arena_cap,
           uint8_t *bytes, size_t bytes_len);
const char *pb_native_text(size_t *len);
void host_console(int32_t level, const char *text, uint32_t len);
void host_console(int32_t level, const char *text, uint32_t len)
{
    (void)level;
    (void)text;
    (void)len;
}
/* the native row imports no module */
int32_t host_read_module(const char *name, uint32_t name_len, char *dst, uint32_t cap);
int32_t host_read_module(const char *name, uint32_t name_len, char *dst, uint32_t cap)
{
    (void)name;
    (void)name_len;
    (void)dst;
    (void)cap;
    return -1;
}
#endif

typedef struct row {
    const char *id, *what;
    double median_us;
    char result[64];
    int ran;
    int check; /* its result is the script's, to compare with row 5's */
} row;

static int calls = 1000;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench: %s: %s\n", what, detail);
    exit(1);
}

/* One measured operation: returns 0 and leaves its result in out. */
typedef int (*op_fn)(void *ctx, char *out, size_t out_size);

static void measure_warm(row *r, op_fn op, void *ctx, int n, int warm)
{
    double *t = malloc(sizeof *t * (size_t)n);
    for (int i = 0; i < n + warm; i++) {
        double t0 = now_us();
        if (op(ctx, r->result, sizeof r->result) != 0)
            die(r->id, r->result);
        double dt = now_us() - t0;
        if (i >= warm)
            t[i - warm] = dt;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    r->median_us = t[n / 2];
    r->ran = 1;
    free(t);
}

static void measure(row *r, op_fn op, void *ctx, int n)
{
    measure_warm(r, op, ctx, n, n / 10 > 20 ? n / 10 : 20);
}

/* Two operations timed call by call in alternation, so that drift of the machine hits both
 * alike, over `pairs` contexts of each (where a sandbox's memory happens to lie moves its
 * times by up to ~2% either way, also between two sandboxes made alike): the medians of all
 * their calls. */
static void measure_pairs(row *ra, op_fn a, void *const *ca, row *rb, op_fn b, void *const *cb, int pairs, int n)
{
    int warm = n / 10 > 20 ? n / 10 : 20, per = n / pairs, m = 0;
    double *ta = malloc(sizeof *ta * (size_t)n), *tb = malloc(sizeof *tb * (size_t)n);
    for (int k = 0; k < pairs; k++) {
        for (int i = 0; i < per + warm; i++) {
            double t0 = now_us();
            if (a(ca[k], ra->result, sizeof ra->result) != 0)
                die(ra->id, ra->result);
            double t1 = now_us();
            if (b(cb[k], rb->result, sizeof rb->result) != 0)
                die(rb->id, rb->result);
            double t2 = now_us();
            if (i >= warm) {
                ta[m] = t1 - t0;
                tb[m++] = t2 - t1;
            }
        }
    }
    qsort(ta, (size_t)m, sizeof *ta, cmp_double);
    qsort(tb, (size_t)m, sizeof *tb, cmp_double);
    ra->median_us = ta[m / 2];
    rb->median_us = tb[m / 2];
    ra->ran = rb->ran = 1;
    free(ta);
    free(tb);
}

static void copy_out(char *out, size_t size, const char *s, size_t n)
{
    snprintf(out, size, "%.*s", (int)(n < size - 1 ? n : size - 1), s);
}

/* ---- the plugbox rows ------------------------------------------------------------------------ */

struct env {
    const char *script, *data;
    size_t script_len, data_len;
    plugbox_engine *engine;
    plugbox_program *program;
    plugbox_sandbox *sandbox;
    plugbox_options *opts;
};

static int call_box(plugbox_sandbox *b, const char *data, size_t len, char *out, size_t size)
{
    const char *r;
    size_t n;
    if (plugbox_sandbox_call(b, data, len, &r, &n) != PLUGBOX_OK) {
        copy_out(out, size, plugbox_sandbox_error_message(b), strlen(plugbox_sandbox_error_message(b)));
        return -1;
    }
    copy_out(out, size, r ? r : "undefined", r ? n : 9);
    return 0;
}

static int program_call(struct env *e, plugbox_engine *engine, char *out, size_t size)
{
    plugbox_program *p;
    plugbox_sandbox *b = NULL;
    int rc = plugbox_program_new(engine, e->script, e->script_len, NULL, &p);
    if (rc == PLUGBOX_OK)
        rc = plugbox_sandbox_new(p, NULL, &b);
    if (rc == PLUGBOX_OK)
        rc = call_box(b, e->data, e->data_len, out, size);
    else
        copy_out(out, size, plugbox_strerror(rc), strlen(plugbox_strerror(rc)));
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
    return rc;
}

static int op_baseline(void *ctx, char *out, size_t size)
{
    plugbox_engine *engine;
    if (plugbox_engine_new(&engine) != PLUGBOX_OK)
        return -1;
    int rc = program_call(ctx, engine, out, size);
    plugbox_engine_free(engine);
    return rc;
}

static int op_engine_snapshot(void *ctx, char *out, size_t size)
{
    struct env *e = ctx;
    return program_call(e, e->engine, out, size);
}

static int op_script_cached(void *ctx, char *out, size_t size)
{
    struct env *e = ctx;
    plugbox_sandbox *b;
    if (plugbox_sandbox_new(e->program, NULL, &b) != PLUGBOX_OK)
        return -1;
    int rc = call_box(b, e->data, e->data_len, out, size);
    plugbox_sandbox_free(b);
    return rc;
}

static int op_cached(void *ctx, char *out, size_t size)
{
    struct env *e = ctx;
    return call_box(e->sandbox, NULL, 0, out, size);
}

static int op_production(void *ctx, char *out, size_t size)
{
    struct env *e = ctx;
    return call_box(e->sandbox, e->data, e->data_len, out, size);
}

static int op_trivial(void *ctx, char *out, size_t size)
{
    return call_box(ctx, NULL, 0, out, size);
}

/* ---- making a program from a rule ------------------------------------------------------- */

/* A rule of about `lines` lines: functions over points and boxes, in TypeScript with an
 * interface, an enum, type annotations, `as` and `satisfies`, or the same code without the
 * types in JavaScript; its last line calls the first function. malloc'd. */
static char *make_rule(int lines, int typescript, size_t *len)
{
    size_t cap = (size_t)lines * 120 + 512, n = 0;
    char *s = malloc(cap);
    if (!s)
        die("rule", "out of memory");
    n += (size_t)snprintf(s + n, cap - n, "%s",
                          typescript ? "interface Pt { x: number; y: number }\nenum Kind { A = 1, B, C }\n"
                                       "type Box = { min: Pt; max: Pt };\n"
                                     : "var Kind = { A: 1, B: 2, C: 3 };\n\n\n");
    int i = 0;
    for (int line = 3; line + 8 <= lines - 1; line += 8, i++)
        n += (size_t)snprintf(s + n, cap - n, typescript ?
            "function f%d(p: Pt, k: Kind): number {\n"
            "  const b: Box = { min: { x: %d, y: 0 }, max: { x: 10, y: 10 } };\n"
            "  let s: number = 0;\n"
            "  for (const c of [p.x, p.y] as number[]) s += c * (k as number);\n"
            "  if (p.x < b.min.x || p.y > b.max.y) return -1;\n"
            "  const out = { s, k } satisfies { s: number; k: Kind };\n"
            "  return out.s + out.k;\n"
            "}\n" :
            "function f%d(p, k) {\n"
            "  const b = { min: { x: %d, y: 0 }, max: { x: 10, y: 10 } };\n"
            "  let s = 0;\n"
            "  for (const c of [p.x, p.y]) s += c * (k);\n"
            "  if (p.x < b.min.x || p.y > b.max.y) return -1;\n"
            "  const out = { s, k };\n"
            "  return out.s + out.k;\n"
            "}\n", i, i % 3 - 1);
    n += (size_t)snprintf(s + n, cap - n, "f0({ x: 1, y: 2 }, Kind.B);\n");
    *len = n;
    return s;
}

struct rule {
    plugbox_engine *engine;
    const char *src;
    size_t len;
    plugbox_options *opts;
};

/* A program made from the rule and one call of it: the result shows the rule ran. */
static int op_program(void *ctx, char *out, size_t size)
{
    struct rule *r = ctx;
    plugbox_program *p;
    plugbox_sandbox *b;
    if (plugbox_program_new(r->engine, r->src, r->len, r->opts, &p) != PLUGBOX_OK) {
        snprintf(out, size, "%s", p ? plugbox_program_error_message(p) : "no program");
        plugbox_program_free(p);
        return -1;
    }
    int rc = -1;
    if (plugbox_sandbox_new(p, NULL, &b) == PLUGBOX_OK) {
        rc = call_box(b, NULL, 0, out, size);
        plugbox_sandbox_free(b);
    }
    plugbox_program_free(p);
    return rc;
}

/* Making a program from a 100-line rule in JavaScript and in TypeScript, and from a
 * 2,000-line one, on an engine whose TypeScript base is made (the first TypeScript program of
 * an engine makes it, timed on its own). */
static int bench_programs(int ncalls)
{
    plugbox_engine *engine;
    if (plugbox_engine_new(&engine) != PLUGBOX_OK)
        die("programs", "engine");
    plugbox_options *ts = plugbox_options_new();
    plugbox_options_set_typescript(ts, 1);
    size_t l100j, l100t, l2000t;
    char *js100 = make_rule(100, 0, &l100j), *ts100 = make_rule(100, 1, &l100t), *ts2000 = make_rule(2000, 1, &l2000t);
    struct rule rj = {engine, js100, l100j, NULL}, rt = {engine, ts100, l100t, ts}, rl = {engine, ts2000, l2000t, ts};
    row rows[] = {
        {"c0", "the engine's first TypeScript program (100 lines; sets up the transpiler)", 0, "", 0, 0},
        {"c1", "a 100-line JavaScript rule", 0, "", 0, 0},
        {"c2", "**the same rule in TypeScript**", 0, "", 0, 0},
        {"c3", "a 2,000-line TypeScript rule", 0, "", 0, 0},
    };
    measure_warm(&rows[0], op_program, &rt, 1, 0);
    int n = ncalls / 10 > 11 ? ncalls / 10 : 11;
    measure_warm(&rows[1], op_program, &rj, n, 2);
    measure_warm(&rows[2], op_program, &rt, n, 2);
    measure_warm(&rows[3], op_program, &rl, n / 4 > 5 ? n / 4 : 5, 1);
    printf("### Making a program: the rule compiled into a snapshot, then one call (ms)\n\n");
    printf("| row | what | median ms | vs c1 | result |\n|---|---|---:|---:|---|\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("| %s | %s | %.1f | %.2f | %s |\n", rows[i].id, rows[i].what, rows[i].median_us / 1000,
               rows[i].median_us / rows[1].median_us, rows[i].result);
    int same = !strcmp(rows[1].result, rows[2].result) && !strcmp(rows[1].result, rows[0].result);
    printf("\n%s; a 100-line rule (%zu bytes of TypeScript) becomes a program in %.1f ms.\n\n",
           same ? "The rule's result is the same in both languages" : "The JavaScript and TypeScript results DIFFER",
           l100t, rows[2].median_us / 1000);
    free(js100);
    free(ts100);
    free(ts2000);
    plugbox_options_free(ts);
    plugbox_engine_free(engine);
    return same ? 0 : 1;
}

/* ---- host functions ----------------------------------------------------------------------- */

static void host_echo(plugbox_host_call *call, void *user, const char *args, size_t len)
{
    (void)user;
    plugbox_host_return(call, args, len);
}

#define HOST_TRIPS 1000

/* What the host grants. Host functions: 1,000 round trips host.echo({a:1}) in one call, and the
 * same loop calling a JavaScript function that does what echo does (JSON.stringify of the
 * arguments, JSON.parse of the text) inside the sandbox: a row's time is per trip.
 * Configuration: a trivial call reading a 1 MiB configuration and one reading a tiny one.
 * Returns 1 when the results of a pair differ. */
static int bench_grants(int ncalls)
{
    plugbox_engine *engine;
    plugbox_options *o = plugbox_options_new();
    plugbox_options_add_function(o, "echo", host_echo, NULL);
    static const char host_src[] =
        "let r; for (let i = 0; i < 1000; i++) r = host.echo({a: 1}); r";
    static const char local_src[] =
        "function echo(...a) { return JSON.parse(JSON.stringify(a)) }\n"
        "let r; for (let i = 0; i < 1000; i++) r = echo({a: 1}); r";
    plugbox_program *ph, *pl;
    plugbox_sandbox *bh, *bl;
    if (plugbox_engine_new(&engine) != PLUGBOX_OK ||
        plugbox_program_new(engine, host_src, sizeof host_src - 1, o, &ph) != PLUGBOX_OK ||
        plugbox_program_new(engine, local_src, sizeof local_src - 1, NULL, &pl) != PLUGBOX_OK ||
        plugbox_sandbox_new(ph, NULL, &bh) != PLUGBOX_OK || plugbox_sandbox_new(pl, NULL, &bl) != PLUGBOX_OK)
        die("host functions", "set-up failed");
    /* (the configuration rows below use the same engine) */
    row rows[] = {
        {"h", "**host.echo({a:1}): a round trip to a C function**", 0, "", 0, 0},
        {"h0", "the same in JavaScript inside the sandbox (JSON.stringify + JSON.parse)", 0, "", 0, 0},
    };
    int n = ncalls / 5 > 21 ? ncalls / 5 : 21;
    void *ch = bh, *cl = bl;
    measure_pairs(&rows[0], op_trivial, &ch, &rows[1], op_trivial, &cl, 1, n);
    printf("### Host functions: %d round trips in one call, time per trip (µs)\n\n", HOST_TRIPS);
    printf("| row | what | median µs | vs h0 | result |\n|---|---|---:|---:|---|\n");
    for (size_t i = 0; i < 2; i++)
        printf("| %s | %s | %.2f | %.2f | %s |\n", rows[i].id, rows[i].what, rows[i].median_us / HOST_TRIPS,
               rows[i].median_us / rows[1].median_us, rows[i].result);
    int same = !strcmp(rows[0].result, rows[1].result);
    printf("\n%s.\n\n", same ? "Both return the same value" : "The host and JavaScript results DIFFER");

    /* a configuration is in the snapshot: a trivial call reading it costs what one without
     * does, whatever its size (1 MiB here) */
    size_t cap = (1u << 20) + 64, k = 0;
    char *big = malloc(cap);
    k += (size_t)snprintf(big + k, cap - k, "{\"n\":1,\"list\":[");
    while (k < (1u << 20))
        k += (size_t)snprintf(big + k, cap - k, "%zu,", k);
    big[k - 1] = ']';
    big[k++] = '}';
    plugbox_options *oc = plugbox_options_new(), *os = plugbox_options_new();
    plugbox_options_set_config(oc, big, k);
    plugbox_options_set_config(os, "{\"n\":1}", (size_t)-1);
    plugbox_program *pc, *pt;
    plugbox_sandbox *bc, *bt;
    if (plugbox_program_new(engine, "config.n + 1", (size_t)-1, oc, &pc) != PLUGBOX_OK ||
        plugbox_program_new(engine, "config.n + 1", (size_t)-1, os, &pt) != PLUGBOX_OK ||
        plugbox_sandbox_new(pc, NULL, &bc) != PLUGBOX_OK || plugbox_sandbox_new(pt, NULL, &bt) != PLUGBOX_OK)
        die("configuration", "set-up failed");
    row crow[] = {
        {"tc", "**trivial call reading a 1 MiB configuration** (`config.n + 1`)", 0, "", 0, 0},
        {"tc0", "the same with a configuration of 7 bytes (`{\"n\":1}`)", 0, "", 0, 0},
    };
    void *cc = bc, *ct = bt;
    measure_pairs(&crow[0], op_trivial, &cc, &crow[1], op_trivial, &ct, 1, ncalls * 5);
    printf("### Configuration: in the snapshot, free per call\n\n| row | what | median µs | vs tc0 | result |\n"
           "|---|---|---:|---:|---|\n");
    for (size_t i = 0; i < 2; i++)
        printf("| %s | %s | %.2f | %.2f | %s |\n", crow[i].id, crow[i].what, crow[i].median_us,
               crow[i].median_us / crow[1].median_us, crow[i].result);
    printf("\n");
    same = same && !strcmp(crow[0].result, crow[1].result);
    plugbox_sandbox_free(bc);
    plugbox_sandbox_free(bt);
    plugbox_program_free(pc);
    plugbox_program_free(pt);
    plugbox_options_free(oc);
    plugbox_options_free(os);
    free(big);
    plugbox_sandbox_free(bh);
    plugbox_sandbox_free(bl);
    plugbox_program_free(ph);
    plugbox_program_free(pl);
    plugbox_engine_free(engine);
    plugbox_options_free(o);
    return same ? 0 : 1;
}

/* ---- WebAssembly plugins --------------------------------------------------------------------- */

struct plugin_env {
    plugbox_sandbox *box;
    const char *fn, *data;
    size_t len;
};

static int op_plugin(void *ctx, char *out, size_t size)
{
    struct plugin_env *p = ctx;
    const char *r;
    size_t n;
    if (plugbox_sandbox_call_function(p->box, p->fn, p->data, p->len, &r, &n) != PLUGBOX_OK) {
        copy_out(out, size, plugbox_sandbox_error_message(p->box), strlen(plugbox_sandbox_error_message(p->box)));
        return -1;
    }
    copy_out(out, size, r ? r : "", r ? n : 0);
    return 0;
}

/* The seed workload as a C plugin (bench/track_plugin.c) against the script's production call
 * (row 5), call by call in alternation; a trivial plugin call; and compiling the plugin with
 * an empty cache. Returns 1 when the plugin's result differs from the script's. */
static int bench_plugin(struct env *e, const char *path, int compile_rows)
{
    size_t wlen;
    char *wasm = read_file(path, &wlen);
    if (!wasm)
        die(path, strerror(errno));
    char cache[] = "/tmp/plugbox-bench-XXXXXX";
    if (!mkdtemp(cache))
        die("plugin", "mkdtemp");
    char *old = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    setenv("XDG_CACHE_HOME", cache, 1);
    row comp = {"pc", "**compiling the plugin** (wasm2c + rewrite + cc -O2, empty cache)", 0, "", 0, 0};
    enum { COMPILES = 3 };
    double t[COMPILES];
    plugbox_program *prog = NULL;
    for (int i = 0; i < (compile_rows ? COMPILES : 1); i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s/plugbox", cache);
        if (system(cmd) != 0)
            die("plugin", "cannot empty the cache");
        plugbox_program_free(prog);
        double t0 = now_us();
        if (plugbox_program_new_plugin(e->engine, wasm, wlen, NULL, &prog) != PLUGBOX_OK)
            die("plugin", prog ? plugbox_program_error_message(prog) : "cannot compile");
        t[i] = now_us() - t0;
    }
    qsort(t, compile_rows ? COMPILES : 1, sizeof t[0], cmp_double);
    comp.median_us = t[compile_rows ? COMPILES / 2 : 0];
    comp.ran = compile_rows;
    plugbox_sandbox *b;
    if (plugbox_sandbox_new(prog, NULL, &b) != PLUGBOX_OK)
        die("plugin", "sandbox");
    row rows[] = {
        {"P", "**the track as a C plugin: fresh state, JSON in, result out** (it parses the JSON itself)", 0, "", 0, 0},
        {"5", "the script's production call (row 5), measured in alternation", 0, "", 0, 0},
        {"p0", "trivial plugin call, fresh state (an export returning 0)", 0, "", 0, 0},
    };
    struct plugin_env pe = {b, "total", e->data, e->data_len}, pn = {b, "nop", NULL, 0};
    void *cp = &pe, *cs = e;
    measure_pairs(&rows[0], op_plugin, &cp, &rows[1], op_production, &cs, 1, calls);
    measure(&rows[2], op_plugin, &pn, calls * 5);
    printf("#### WebAssembly plugin (%zu-byte module)\n\n| row | what | median µs | vs row 5 | result |\n"
           "|---|---|---:|---:|---|\n", wlen);
    for (size_t i = 0; i < 3; i++)
        printf("| %s | %s | %.2f | %.3f | %s |\n", rows[i].id, rows[i].what, rows[i].median_us,
               rows[i].median_us / rows[1].median_us, rows[i].result);
    if (comp.ran)
        printf("| %s | %s | %.0f ms | | |\n", comp.id, comp.what, comp.median_us / 1000);
    double a = strtod(rows[0].result, NULL), js = strtod(rows[1].result, NULL);
    int same = a == js || (js != 0 && fabs(a - js) / fabs(js) < 1e-12);
    printf("\nPlugin / script (same run): %.3f. %s.\n\n", rows[0].median_us / rows[1].median_us,
           same ? "The plugin's result is the script's" : "The plugin's result DIFFERS from the script's");
    plugbox_sandbox_free(b);
    plugbox_program_free(prog);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", cache);
    if (old) {
        setenv("XDG_CACHE_HOME", old, 1);
        free(old);
    } else {
        unsetenv("XDG_CACHE_HOME");
    }
    free(wasm);
    return same ? 0 : 1;
}

#ifdef PB_BENCH_NATIVE
static int op_native(void *ctx, char *out, size_t size)
{
    struct env *e = ctx;
    /* the host copies the input in for the sandbox: so it does here */
    char *in = malloc(e->data_len + 1);
    memcpy(in, e->data, e->data_len + 1);
    int rc = pb_run(in, e->data_len, 1, 1, 2, 0, NULL, 0);
    free(in);
    size_t n;
    const char *r = pb_native_text(&n);
    copy_out(out, size, r ? r : "error", r ? n : 5);
    return rc;
}
#endif

/* ---- parallel ------------------------------------------------------------------------------- */

static void count_result(void *user, uint64_t index, const plugbox_result *r)
{
    (void)index;
    if (r->status != PLUGBOX_OK)
        ++*(int *)user;
}

/* calls per second through a pool of `threads` (plugbox_pool: what plugbox map uses) */
static double throughput(struct env *e, int threads, int n)
{
    plugbox_pool *pool;
    int errors = 0;
    if (plugbox_pool_new(e->program, NULL, (unsigned)threads, 0, count_result, &errors, &pool) != PLUGBOX_OK)
        die("pool", "cannot start");
    for (int i = 0; i < threads * 4; i++) /* warm-up */
        plugbox_pool_submit(pool, e->data, e->data_len);
    plugbox_pool_wait(pool);
    double t0 = now_us();
    for (int i = 0; i < n; i++)
        plugbox_pool_submit(pool, e->data, e->data_len);
    plugbox_pool_wait(pool);
    double s = (now_us() - t0) / 1e6;
    plugbox_pool_free(pool);
    if (errors)
        die("pool", "calls failed");
    return n / s;
}

/* ---- the peers: node and quickjs-emscripten ------------------------------------------------- */

/* bench/node_bench.js --serve, in its own process: it prints notes, then "rows NAME...", then
 * answers each "run NAME N W" with "NAME median_us result" for N more calls of that row after W
 * calls of warm-up. */
struct helper {
    pid_t pid;
    FILE *to, *from;
};

static void append(char *buf, size_t size, const char *text)
{
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s", text);
}

static void helper_stop(struct helper *h)
{
    if (h->to)
        fclose(h->to); /* the helper ends at the end of its input */
    if (h->from)
        fclose(h->from);
    waitpid(h->pid, NULL, 0);
}

/* Starts the helper and reads up to its "rows" line; returns 0 when it did not get there. */
static int helper_start(struct helper *h, const char *const argv[], char *rows, size_t rows_size, char *notes,
                        size_t notes_size)
{
    int to[2], from[2];
    if (pipe(to))
        return 0;
    if (pipe(from)) {
        close(to[0]);
        close(to[1]);
        return 0;
    }
    /* posix_spawnp, not fork: this process has threads (the pools, the watchdog). None of the
     * pipes' own ends stays open in the helper, so that it sees the end of its input. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, to[0]);
    posix_spawn_file_actions_addclose(&fa, to[1]);
    posix_spawn_file_actions_addclose(&fa, from[0]);
    posix_spawn_file_actions_addclose(&fa, from[1]);
    int rc = posix_spawnp(&h->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(to[0]);
    close(from[1]);
    if (rc != 0) {
        close(to[1]);
        close(from[0]);
        return 0;
    }
    h->to = fdopen(to[1], "w");
    h->from = fdopen(from[0], "r");
    char line[1024];
    while (h->to && h->from && fgets(line, sizeof line, h->from)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "note ", 5)) {
            append(notes, notes_size, "Note: ");
            append(notes, notes_size, line + 5);
            append(notes, notes_size, ".\n");
        } else if (!strncmp(line, "rows ", 5)) {
            snprintf(rows, rows_size, " %s ", line + 5);
            return 1;
        }
    }
    helper_stop(h);
    return 0;
}

static int helper_run(struct helper *h, const char *name, int n, int warm, double *us, char *result, size_t size)
{
    char line[1024], got[64], res[64];
    if (fprintf(h->to, "run %s %d %d\n", name, n, warm) < 0 || fflush(h->to) != 0 || !fgets(line, sizeof line, h->from))
        return -1;
    if (sscanf(line, "%63s %lf %63s", got, us, res) != 3 || strcmp(got, name))
        return -1;
    snprintf(result, size, "%s", res);
    return 0;
}

/* This machine's speed flips by up to 2x every 50 to 200 ms (a node loop of JSON.parse reads
 * 265 and 480 µs in turn), so peers measured after row 5, or even in rounds of a tenth of the
 * calls, are compared with another machine. Row 5 and each peer take turns in short blocks
 * instead: a block of row 5's calls and one of the peer's, one after the other (row 5 first in
 * every other pair), each of one call of warm-up and then as many calls as take ~BLOCK_US
 * (1 to 15, from that side's last block): both sides run as in a loop of calls, for about as
 * long (a longer block would take more of the time slices of any other process on the CPU).
 * A pair spans ~6 ms with node, ~9 ms with quickjs-emscripten. A peer's time is the median of
 * its blocks' medians; row 5 / peer is the median of the pairs' ratios, with their quartiles.
 * The two CPUs of this machine also run at different speeds at times (a JSON.parse loop pinned
 * to each read medians of 267 and 562 µs in the same minute), so while the pairs run, this
 * thread and the helper's main thread are pinned to one CPU: they take turns there, and the
 * helper's other threads (V8's compilers and garbage collector) keep every CPU. */
enum { BLOCK_US = 3000 };

static int block_calls(double last_us)
{
    int n = last_us > 0 ? (int)(BLOCK_US / last_us + 0.5) : 3;
    return n < 1 ? 1 : n > 15 ? 15 : n;
}

struct peer_ratio {
    double median, q1, q3;
    double base_us; /* row 5's median over the blocks it ran in turns with this peer */
};

static void run_peers(const char *const argv[], struct env *e, row *peers, const char *const *names, int n,
                      int pairs, struct peer_ratio *ratio, char *notes, size_t notes_size)
{
    struct helper h = {0};
    char rows[1024];
    if (!helper_start(&h, argv, rows, sizeof rows, notes, notes_size)) {
        append(notes, notes_size, "Note: the node rows did not run (is `");
        append(notes, notes_size, argv[0]);
        append(notes, notes_size, "` installed?).\n");
        return;
    }
    if (n > 8)
        die("run_peers", "too many peers");
    int ok = 1, have[8], pinned = 0;
    cpu_set_t all, one;
    if (sched_getaffinity(0, sizeof all, &all) == 0 && sched_getcpu() >= 0) {
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu(), &one);
        pinned = sched_setaffinity(0, sizeof one, &one) == 0;
        if (pinned && sched_setaffinity(h.pid, sizeof one, &one) != 0)
            append(notes, notes_size, "Note: the node helper could not be pinned to this thread's CPU.\n");
    }
    double *t5[8], *t[8];
    for (int i = 0; i < n; i++) {
        char key[80];
        snprintf(key, sizeof key, " %s ", names[i]);
        have[i] = strstr(rows, key) != NULL;
        t5[i] = malloc(sizeof *t5[i] * (size_t)pairs);
        t[i] = malloc(sizeof *t[i] * (size_t)pairs);
    }
    for (int k = 0; k < pairs && ok; k++) {
        for (int i = 0; i < n && ok; i++) {
            if (!have[i])
                continue;
            row r5 = {"5", "", 0, "", 0, 0};
            for (int side = 0; side < 2 && ok; side++) {
                if ((side == 0) == (k % 2 == 0)) {
                    measure_warm(&r5, op_production, e, block_calls(k ? t5[i][k - 1] : 0), 1);
                    t5[i][k] = r5.median_us;
                } else if (helper_run(&h, names[i], block_calls(k ? t[i][k - 1] : 0), 1, &t[i][k], peers[i].result,
                                      sizeof peers[i].result)) {
                    append(notes, notes_size, "Note: the node helper stopped answering; the peers' rows are left out.\n");
                    ok = 0;
                }
            }
        }
    }
    helper_stop(&h);
    if (pinned)
        sched_setaffinity(0, sizeof all, &all);
    for (int i = 0; i < n; i++) {
        if (ok && have[i]) {
            double *q = malloc(sizeof *q * (size_t)pairs);
            for (int k = 0; k < pairs; k++)
                q[k] = t5[i][k] / t[i][k];
            qsort(t[i], (size_t)pairs, sizeof t[i][0], cmp_double);
            qsort(t5[i], (size_t)pairs, sizeof t5[i][0], cmp_double);
            qsort(q, (size_t)pairs, sizeof q[0], cmp_double);
            peers[i].median_us = t[i][pairs / 2];
            peers[i].ran = 1;
            ratio[i] = (struct peer_ratio){q[pairs / 2], q[pairs / 4], q[pairs * 3 / 4], t5[i][pairs / 2]};
            free(q);
        }
        free(t5[i]);
        free(t[i]);
    }
}

static void cpu_model(char *buf, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(buf, size, "unknown CPU");
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && c) {
            snprintf(buf, size, "%s", c + 2);
            buf[strcspn(buf, "\n")] = 0;
            break;
        }
    }
    if (f)
        fclose(f);
}

/* vs_base: the row's time over row 5's; vs_plain: over node plain function's, 0 for n/a */
static void print_row(const row *r, double vs_base, double vs_plain)
{
    if (!r->ran) {
        printf("| %s | %s | n/a | | | |\n", r->id, r->what);
        return;
    }
    printf("| %s | %s | %.1f | %.2f | ", r->id, r->what, r->median_us, vs_base);
    if (vs_plain > 0)
        printf("%.2f |", vs_plain);
    else
        printf("n/a |");
    printf(" %s |\n", r->result);
}

/* Prints which rows' results are row 5's and how far the others are; returns 0 when one is not
 * the same number to 4 digits (a row that computes something else measures something else). */
static int check_results(const row *rows, size_t n, const row *base)
{
    char same[256] = "", near[1024] = "";
    double b = strtod(base->result, NULL), worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].ran || !rows[i].check || &rows[i] == base)
            continue;
        char *end;
        double v = strtod(rows[i].result, &end);
        if (!strcmp(rows[i].result, base->result)) {
            snprintf(same + strlen(same), sizeof same - strlen(same), "%s%s", same[0] ? ", " : "", rows[i].id);
            continue;
        }
        double rel = end != rows[i].result && *end == 0 && b != 0 ? fabs(v - b) / fabs(b) : INFINITY;
        snprintf(near + strlen(near), sizeof near - strlen(near), "%s%s by %.1e", near[0] ? ", " : "", rows[i].id, rel);
        if (!(rel <= worst))
            worst = rel;
    }
    printf("Results: as row 5's in rows %s", same[0] ? same : "(none)");
    if (near[0])
        printf("; relative differences: %s (up to 1e-4 accepted)", near);
    printf(".\n");
    if (worst > 1e-4) {
        printf("**A row's result is not row 5's: its time is not comparable.**\n");
        return 0;
    }
    return 1;
}

/* ---- the size sweep ----------------------------------------------------------------------- */

/* A minified GeoJSON FeatureCollection of ~`target` bytes: Point features of ~180 bytes, made
 * from a seed (the same text every run for a seed). malloc'd, NUL-terminated. */
static char *make_features(size_t target, uint32_t seed, size_t *len, int *count)
{
    size_t cap = target + 4096, n = 0;
    char *s = malloc(cap);
    if (!s)
        die("sweep", "out of memory");
    uint32_t x = seed;
    n += (size_t)snprintf(s, cap, "{\"type\":\"FeatureCollection\",\"features\":[");
    int i = 0;
    do {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        double lon = (x % 36000000) / 1e5 - 180, lat = (x / 36000000 % 1800000) / 1e4 - 90;
        n += (size_t)snprintf(s + n, cap - n,
                              "%s{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.5f,%.4f,%.1f]},"
                              "\"properties\":{\"id\":%d,\"name\":\"stop %d\",\"time\":\"2026-11-30T%02d:%02d:%02dZ\","
                              "\"speed\":%.2f}}",
                              i ? "," : "", lon, lat, (x % 40000) / 10.0, i, i, i / 3600 % 24, i / 60 % 60, i % 60,
                              (x % 3000) / 100.0);
        i++;
    } while (n + 190 / 2 < target && n + 512 < cap);
    n += (size_t)snprintf(s + n, cap - n, "]}");
    *len = n;
    *count = i;
    return s;
}

/* One variant of the sweep at one size: plugbox's production call on a fresh sandbox of
 * `program`, in turns with node's plain function when node runs (run_peers). */
static void sweep_one(struct env *e, plugbox_program *program, const char *node, const char *helper_js,
                      const char *script_path, const char *path, int pairs, row *box, row *peer,
                      struct peer_ratio *ratio, char *notes, size_t notes_size)
{
    e->program = program;
    if (plugbox_sandbox_new(program, NULL, &e->sandbox) != PLUGBOX_OK)
        die("sweep", "sandbox");
    *box = (row){"", "", 0, "", 0, 1};
    *peer = (row){"", "", 0, "", 0, 1};
    *ratio = (struct peer_ratio){0, 0, 0, 0};
    if (op_production(e, box->result, sizeof box->result) != 0)
        die("sweep", box->result);
    if (node) {
        char n[16];
        snprintf(n, sizeof n, "%d", pairs);
        const char *argv_[] = {node, helper_js, "--serve", script_path, path, n, "", "node_plain", NULL};
        const char *names[] = {"node_plain"};
        char peer_notes[1024] = "";
        run_peers(argv_, e, peer, names, 1, pairs, ratio, peer_notes, sizeof peer_notes);
        if (!peer->ran)
            append(notes, notes_size, peer_notes);
    }
    if (peer->ran) {
        box->median_us = ratio->base_us;
        box->ran = 1;
    } else {
        measure(box, op_production, e, pairs * 5);
    }
    plugbox_sandbox_free(e->sandbox);
    e->sandbox = NULL;
}

/* The script of bench/sum_coordinate.js on inputs of 1 KB to 10 MB, each size with a fresh
 * sandbox: plugbox's production call and node's plain function taking turns, then the same
 * with a program given a sample input (one feature, other values: plugbox_options_set_sample).
 * Returns 1 when a size's results differ. */
static int bench_sweep(const char *script_path, const char *node, const char *helper_js)
{
    static const size_t sizes[] = {1000, 10000, 100000, 1000000, 10000000};
    enum { SIZES = sizeof sizes / sizeof sizes[0] };
    struct env e = {0};
    if (!(e.script = read_file(script_path, &e.script_len)))
        die(script_path, strerror(errno));
    size_t sample_len;
    int sample_count;
    char *sample = make_features(1, 99, &sample_len, &sample_count);
    plugbox_options *with_sample = plugbox_options_new();
    plugbox_program *plain, *sampled;
    if (!with_sample || plugbox_options_set_sample(with_sample, sample, sample_len) != PLUGBOX_OK ||
        plugbox_engine_new(&e.engine) != PLUGBOX_OK ||
        plugbox_program_new(e.engine, e.script, e.script_len, NULL, &plain) != PLUGBOX_OK ||
        plugbox_program_new(e.engine, e.script, e.script_len, with_sample, &sampled) != PLUGBOX_OK)
        die("sweep", "engine or program");
    char dir[] = "/tmp/plugbox-sweep-XXXXXX";
    if (!mkdtemp(dir))
        die("sweep", "mkdtemp");
    row box[SIZES], peer[SIZES], sbox[SIZES], speer[SIZES];
    struct peer_ratio ratio[SIZES], sratio[SIZES];
    int count[SIZES], failed = 0;
    size_t len[SIZES];
    char notes[4096] = "";
    for (int k = 0; k < SIZES; k++) {
        char path[64], *text = make_features(sizes[k], 2463534242u, &len[k], &count[k]);
        snprintf(path, sizeof path, "%s/%zu.json", dir, sizes[k]);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(text, 1, len[k], f) != len[k] || fclose(f) != 0)
            die(path, "cannot write");
        e.data = text;
        e.data_len = len[k];
        /* fewer turns for the large sizes: a turn at 10 MB is ~0.2 s */
        int pairs = calls / 5 / (sizes[k] >= 10000000 ? 10 : sizes[k] >= 1000000 ? 3 : 1);
        if (pairs < 20)
            pairs = 20;
        sweep_one(&e, plain, node, helper_js, script_path, path, pairs, &box[k], &peer[k], &ratio[k], notes,
                  sizeof notes);
        sweep_one(&e, sampled, node, helper_js, script_path, path, pairs, &sbox[k], &speer[k], &sratio[k], notes,
                  sizeof notes);
        if ((peer[k].ran && strcmp(peer[k].result, box[k].result)) || strcmp(sbox[k].result, box[k].result)) {
            append(notes, sizeof notes, "**The results at a size DIFFER between plugbox and node.**\n");
            failed = 1;
        }
        unlink(path);
        free(text);
    }
    rmdir(dir);
    printf("### Input size sweep: %s on 1 KB to 10 MB (µs per KB of 1,000 bytes)\n\n", script_path);
    printf("Each size: a sandbox's production call (fresh state, JSON in, result out) and node's plain "
           "function (JSON.parse + call + JSON.stringify) in turns; ratios are the medians of the turns'. "
           "Then the same with a program given a sample input (a collection of one feature, other values: "
           "`plugbox_options_set_sample`), in turns with node again.\n\n");
    printf("| input | features | plugbox µs | plugbox µs/KB | node µs | node µs/KB | plugbox / node | "
           "with a sample µs | with a sample / node | result |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int k = 0; k < SIZES; k++) {
        double kb = len[k] / 1000.0;
        printf("| %zu | %d | %.1f | %.2f | ", len[k], count[k], box[k].median_us, box[k].median_us / kb);
        if (peer[k].ran)
            printf("%.1f | %.2f | **%.2f** (%.2f to %.2f) |", peer[k].median_us, peer[k].median_us / kb, ratio[k].median,
                   ratio[k].q1, ratio[k].q3);
        else
            printf("n/a | n/a | n/a |");
        printf(" %.1f |", sbox[k].median_us);
        if (speer[k].ran)
            printf(" **%.2f** (%.2f to %.2f) |", sratio[k].median, sratio[k].q1, sratio[k].q3);
        else
            printf(" n/a |");
        printf(" %s |\n", box[k].result);
    }
    double per100 = box[2].median_us / (len[2] / 1000.0), per10m = box[4].median_us / (len[4] / 1000.0);
    printf("\nplugbox µs/KB at %zu bytes / at %zu bytes = %.2f; a %zu-byte call takes %.1f µs.\n\n", len[4], len[2],
           per10m / per100, len[0], box[0].median_us);
    if (notes[0])
        printf("%s\n", notes);
    plugbox_program_free(plain);
    plugbox_program_free(sampled);
    plugbox_options_free(with_sample);
    plugbox_engine_free(e.engine);
    free(sample);
    free((char *)e.script);
    return failed;
}

/* ---- density ------------------------------------------------------------------------------- */

/* field 0: the process's address space, 1: its resident set; in KiB */
static long statm_kib(int field)
{
    long v[2] = {0, 0};
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &v[0], &v[1]) != 2)
        v[0] = v[1] = -1;
    if (f)
        fclose(f);
    return v[field] < 0 ? -1 : v[field] * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The process's proportional set size in KiB: its resident pages, each divided by the number
 * of mappings that share it (so a page of a program's image that 100 sandboxes map counts
 * once, where the resident set counts it 100 times); -1 where the system does not tell. */
static long pss_kib(void)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Pss: %ld kB", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* What a sandbox of the program costs the process: memory and address space a sandbox, over
 * 100 sandboxes, idle and after one call each. Memory twice: resident (RSS) and proportional
 * (PSS), which differ by the image pages the sandboxes share. */
static void bench_density(struct env *e)
{
    enum { BOXES = 100 };
    plugbox_sandbox *b[BOXES];
    char out[64];
    long rss0 = statm_kib(1), vm0 = statm_kib(0), pss0 = pss_kib();
    for (int i = 0; i < BOXES; i++)
        if (plugbox_sandbox_new(e->program, NULL, &b[i]) != PLUGBOX_OK)
            die("density", "sandbox");
    long rss1 = statm_kib(1), vm1 = statm_kib(0), pss1 = pss_kib();
    for (int i = 0; i < BOXES; i++)
        if (call_box(b[i], e->data, e->data_len, out, sizeof out) != 0)
            die("density", out);
    long rss2 = statm_kib(1), pss2 = pss_kib();
    for (int i = 0; i < BOXES; i++)
        plugbox_sandbox_free(b[i]);
    printf("Density: %d sandboxes of this program: %.2f MB resident (RSS) a sandbox idle, %.2f MB after one call "
           "each; %.1f GiB of address space a sandbox.\n",
           BOXES, (rss1 - rss0) / 1024.0 / BOXES, (rss2 - rss0) / 1024.0 / BOXES, (vm1 - vm0) / 1048576.0 / BOXES);
    if (pss0 >= 0 && pss1 >= 0 && pss2 >= 0)
        printf("Proportional (PSS): %.2f MB a sandbox idle, %.2f MB after one call each.\n",
               (pss1 - pss0) / 1024.0 / BOXES, (pss2 - pss0) / 1024.0 / BOXES);
    printf("\n");
}

int main(int argc, char **argv)
{
    int failed = 0;
    signal(SIGPIPE, SIG_IGN); /* a helper that died is an error from fflush, not the end */
    const char *node = "node", *script_path = NULL, *peers = NULL, *plugin = NULL, *sweep = NULL;
    const char *data_paths[8];
    int ndata = 0;
    char self_dir[4096] = "bench/node_bench.js";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            calls = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--node") && i + 1 < argc)
            node = argv[++i];
        else if (!strcmp(argv[i], "--no-node"))
            node = NULL;
        else if (!strcmp(argv[i], "--node-helper") && i + 1 < argc)
            snprintf(self_dir, sizeof self_dir, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--peers") && i + 1 < argc)
            peers = argv[++i];
        else if (!strcmp(argv[i], "--plugin") && i + 1 < argc)
            plugin = argv[++i];
        else if (!strcmp(argv[i], "--sweep") && i + 1 < argc)
            sweep = argv[++i];
        else if (!script_path)
            script_path = argv[i];
        else if (ndata < 8)
            data_paths[ndata++] = argv[i];
    }
    if ((!sweep && (!script_path || !ndata)) || (script_path && !ndata) || calls < 10) {
        fprintf(stderr, "usage: bench [--calls N] [--node PATH|--no-node] [--node-helper FILE] [--peers DIR] "
                        "[--plugin TRACK.wasm] [--sweep SCRIPT.js] [SCRIPT.js DATA.json...]\n");
        return 2;
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("plugbox %s benchmark: %s, %ld cores (%s); %d calls a row, median after warm-up\n\n", PLUGBOX_VERSION,
           script_path ? script_path : sweep, sysconf(_SC_NPROCESSORS_ONLN), cpu, calls);
    if (!script_path) /* the sweep alone */
        return bench_sweep(sweep, node, self_dir);
    struct env e = {0};
    if (!(e.script = read_file(script_path, &e.script_len)))
        die(script_path, strerror(errno));

    for (int d = 0; d < ndata; d++) {
        if (!(e.data = read_file(data_paths[d], &e.data_len)))
            die(data_paths[d], strerror(errno));
        if (plugbox_engine_new(&e.engine) != PLUGBOX_OK ||
            plugbox_program_new(e.engine, e.script, e.script_len, NULL, &e.program) != PLUGBOX_OK ||
            plugbox_sandbox_new(e.program, NULL, &e.sandbox) != PLUGBOX_OK)
            die("setting up", "engine, program or sandbox");

        row rows[] = {
            {"1", "new engine, script and sandbox per call (no snapshot)", 0, "", 0, 1},
            {"2", "engine snapshot: script compiled, new sandbox per call", 0, "", 0, 1},
            {"3", "script snapshot: new sandbox per call", 0, "", 0, 1},
            {"4", "everything cached: data kept inside, only the script runs", 0, "", 0, 1},
            {"5", "**production: fresh state, JSON in, result out**", 0, "", 0, 1},
            {"6", "production with a time limit armed", 0, "", 0, 1},
            {"7", "same guest code compiled natively, no sandbox", 0, "", 0, 1},
            {"8a", "**node: plain function, no sandbox** (JSON.parse + call + JSON.stringify)", 0, "", 0, 1},
            {"8b", "node: the script in node's main context, no sandbox (JSON.parse + vm.Script.runInThisContext + "
                   "JSON.stringify)", 0, "", 0, 1},
            {"8c", "**quickjs-emscripten: new runtime and context per call** (JSON.parse + evalCode + JSON.stringify, "
                   "inside)", 0, "", 0, 1},
            {"8d", "node: vm context, new per call (JSON.parse + runInContext + JSON.stringify)", 0, "", 0, 1},
            {"8e", "node: vm context, one warm (JSON.parse + runInContext + JSON.stringify)", 0, "", 0, 1},
            {"8f", "node: JSON.parse alone", 0, "", 0, 0},
            {"t", "trivial call `1+1`, fresh state", 0, "", 0, 0},
        };
        enum { PEERS = 6 };
        static const char *const peer_names[PEERS] = {"node_plain", "node_main", "qjs_fresh",
                                                      "node_fresh", "node_warm", "node_parse"};
        row *base = &rows[4], *plain = &rows[7], *qjs = &rows[9];
        char notes[4096] = "";

        measure(&rows[0], op_baseline, &e, calls / 5 > 10 ? calls / 5 : 10);
        measure(&rows[1], op_engine_snapshot, &e, calls / 2);
        measure(&rows[2], op_script_cached, &e, calls / 2);
        {
            /* row 4: a stateful sandbox keeps the decoded data from its first call */
            static const char wrap[] = "if (data !== undefined) globalThis.__kept = data;\nvar data = globalThis.__kept;\n";
            size_t n = sizeof wrap - 1 + e.script_len;
            char *src = malloc(n + 1);
            memcpy(src, wrap, sizeof wrap - 1);
            memcpy(src + sizeof wrap - 1, e.script, e.script_len + 1);
            plugbox_options *o = plugbox_options_new();
            plugbox_options_set_stateful(o, 1);
            plugbox_program *p;
            plugbox_sandbox *b;
            char out[64];
            if (plugbox_program_new(e.engine, src, n, o, &p) != PLUGBOX_OK || plugbox_sandbox_new(p, o, &b) != PLUGBOX_OK ||
                call_box(b, e.data, e.data_len, out, sizeof out) != 0)
                die("row 4", "stateful set-up failed");
            struct env e4 = e;
            e4.sandbox = b;
            measure(&rows[3], op_cached, &e4, calls);
            plugbox_sandbox_free(b);
            plugbox_program_free(p);
            plugbox_options_free(o);
            free(src);
        }
        /* rows 5 and 6 call by call in alternation, over three sandboxes of each */
        {
            plugbox_options *o = plugbox_options_new();
            plugbox_options_set_time_limit(o, 60000);
            enum { PAIRS = 3 };
            struct env e5[PAIRS], e6[PAIRS];
            void *c5[PAIRS], *c6[PAIRS];
            for (int k = 0; k < PAIRS; k++) {
                e5[k] = e6[k] = e;
                if ((k && plugbox_sandbox_new(e.program, NULL, &e5[k].sandbox) != PLUGBOX_OK) ||
                    plugbox_sandbox_new(e.program, o, &e6[k].sandbox) != PLUGBOX_OK)
                    die("rows 5 and 6", "sandbox");
                c5[k] = &e5[k];
                c6[k] = &e6[k];
            }
            measure_pairs(&rows[4], op_production, c5, &rows[5], op_production, c6, PAIRS, calls);
            for (int k = 0; k < PAIRS; k++) {
                if (k)
                    plugbox_sandbox_free(e5[k].sandbox);
                plugbox_sandbox_free(e6[k].sandbox);
            }
            plugbox_options_free(o);
        }
#ifdef PB_BENCH_NATIVE
        {
            char name[] = "bench.js";
            if (pb_init() != 0 || pb_compile(e.script, e.script_len, name, NULL, 0) != 0)
                die("row 7", "native engine set-up failed");
            measure(&rows[6], op_native, &e, calls);
        }
#endif
        struct peer_ratio ratio[PEERS] = {{0, 0, 0, 0}};
        if (node) {
            char n[16];
            snprintf(n, sizeof n, "%d", calls);
            const char *argv_[] = {node, self_dir, "--serve", script_path, data_paths[d], n, peers ? peers : "", NULL};
            run_peers(argv_, &e, &rows[7], peer_names, PEERS, calls / 5 > 20 ? calls / 5 : 20, ratio, notes,
                      sizeof notes);
        }
        {
            plugbox_program *p;
            plugbox_sandbox *b;
            if (plugbox_program_new(e.engine, "1+1", 3, NULL, &p) != PLUGBOX_OK || plugbox_sandbox_new(p, NULL, &b) != PLUGBOX_OK)
                die("trivial", "set-up failed");
            measure(&rows[13], op_trivial, b, calls * 5);
            plugbox_sandbox_free(b);
            plugbox_program_free(p);
        }

        printf("### %s (%zu bytes)\n\n", data_paths[d], e.data_len);
        printf("| row | what | median µs | vs row 5 | vs node plain | result |\n");
        printf("|---|---|---:|---:|---:|---|\n");
        /* The ratio columns: a plugbox row's time over row 5's as measured; a peer's from the
         * pairs (1 / the median of row 5 / peer), as the peers ran at other moments than row 5's
         * own measurement; and "vs node plain" as "vs row 5" times row 5 / node plain from the
         * pairs. So the table agrees with the ratios line below it. */
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            int peer = i >= 7 && i < 7 + PEERS;
            double vs_base = peer ? 1 / ratio[i - 7].median : rows[i].median_us / base->median_us;
            print_row(&rows[i], vs_base, plain->ran ? vs_base * ratio[0].median : 0);
        }

        /* rounds of one thread and of all cores, alternated, so that a slow moment of the
         * machine does not fall on one side only; the medians of each */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        enum { ROUNDS = 5 };
        double ones[ROUNDS], alls[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            ones[r] = throughput(&e, 1, calls);
            alls[r] = throughput(&e, (int)cores, calls);
        }
        qsort(ones, ROUNDS, sizeof ones[0], cmp_double);
        qsort(alls, ROUNDS, sizeof alls[0], cmp_double);
        double one = ones[ROUNDS / 2], all = alls[ROUNDS / 2];
        printf("| 9 | parallel: a pool of %ld threads, %.0f calls/s vs %.0f with 1 thread (medians of %d rounds) | | "
               "**%.2fx** | | |\n\n", cores, all, one, ROUNDS, all / one);
        printf("Ratios from this run: row 6 / row 5 = %.3f", rows[5].median_us / base->median_us);
        if (rows[6].ran)
            printf("; row 5 / row 7 (the sandbox's cost) = %.2f", base->median_us / rows[6].median_us);
        /* the peers' ratios: medians of the rounds' ratios (run_peers), not of the table's times */
        if (plain->ran)
            printf("; row 5 / node plain function = %.2f (quartiles %.2f to %.2f)", ratio[0].median, ratio[0].q1,
                   ratio[0].q3);
        if (qjs->ran)
            printf("; row 5 / quickjs-emscripten fresh = %.3f (%.3f to %.3f)", ratio[2].median, ratio[2].q1, ratio[2].q3);
        printf("; parallel speed-up %.2fx.\n\n", all / one);
        if (!check_results(rows, sizeof rows / sizeof rows[0], base))
            failed = 1;
        if (notes[0])
            printf("%s\n", notes);
        if (d == 0)
            bench_density(&e);
        if (plugin && bench_plugin(&e, plugin, d == 0))
            failed = 1;
        plugbox_sandbox_free(e.sandbox);
        plugbox_program_free(e.program);
        plugbox_engine_free(e.engine);
        free((char *)e.data);
    }
    free((char *)e.script);
    if (sweep && bench_sweep(sweep, node, self_dir))
        failed = 1;
    if (bench_programs(calls))
        failed = 1;
    if (bench_grants(calls))
        failed = 1;
    return failed;
}
