/* SPDX-License-Identifier: MIT */
/* bench.c - the seed's table on this machine, every row measured in one run.
 *
 * usage: bench [--calls N] [--node PATH|--no-node] [--native] SCRIPT.js DATA.json...
 *
 * For each data file, each row is the median of N calls after a warm-up, and is printed with
 * its ratio to row 5 (what users get) and to node's warm context, as a Markdown table.
 * Noisy absolute times are not the claim; the ratios measured here are. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugbox.h"

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

static void measure(row *r, op_fn op, void *ctx, int n)
{
    int warm = n / 10 > 20 ? n / 10 : 20;
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

/* ---- node ------------------------------------------------------------------------------------ */

static void run_node(const char *node, const char *helper, const char *script, const char *data, row *fresh,
                     row *warm, row *parse)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s' %d 2>/dev/null", node, helper, script, data, calls);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    char name[64], result[64];
    double us;
    while (fscanf(f, "%63s %lf %63s", name, &us, result) == 3) {
        row *r = !strcmp(name, "node_fresh") ? fresh : !strcmp(name, "node_warm") ? warm
                 : !strcmp(name, "node_parse") ? parse : NULL;
        if (r) {
            r->median_us = us;
            r->ran = 1;
            snprintf(r->result, sizeof r->result, "%s", result);
        }
    }
    pclose(f);
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

static void print_row(const row *r, const row *base, const row *node)
{
    if (!r->ran) {
        printf("| %s | %s | n/a | | | |\n", r->id, r->what);
        return;
    }
    printf("| %s | %s | %.1f | %.2f | ", r->id, r->what, r->median_us, r->median_us / base->median_us);
    if (node->ran)
        printf("%.2f |", r->median_us / node->median_us);
    else
        printf("n/a |");
    printf(" %s |\n", r->result);
}

int main(int argc, char **argv)
{
    const char *node = "node", *script_path = NULL;
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
        else if (!script_path)
            script_path = argv[i];
        else if (ndata < 8)
            data_paths[ndata++] = argv[i];
    }
    if (!script_path || !ndata || calls < 10) {
        fprintf(stderr, "usage: bench [--calls N] [--node PATH|--no-node] [--node-helper FILE] SCRIPT.js DATA.json...\n");
        return 2;
    }
    struct env e = {0};
    if (!(e.script = read_file(script_path, &e.script_len)))
        die(script_path, strerror(errno));

    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("plugbox %s benchmark: %s, %ld cores (%s); %d calls a row, median after warm-up\n\n", PLUGBOX_VERSION,
           script_path, sysconf(_SC_NPROCESSORS_ONLN), cpu, calls);

    for (int d = 0; d < ndata; d++) {
        if (!(e.data = read_file(data_paths[d], &e.data_len)))
            die(data_paths[d], strerror(errno));
        if (plugbox_engine_new(&e.engine) != PLUGBOX_OK ||
            plugbox_program_new(e.engine, e.script, e.script_len, NULL, &e.program) != PLUGBOX_OK ||
            plugbox_sandbox_new(e.program, NULL, &e.sandbox) != PLUGBOX_OK)
            die("setting up", "engine, program or sandbox");

        row rows[] = {
            {"1", "new engine, script and sandbox per call (no snapshot)", 0, "", 0},
            {"2", "engine snapshot: script compiled, new sandbox per call", 0, "", 0},
            {"3", "script snapshot: new sandbox per call", 0, "", 0},
            {"4", "everything cached: data kept inside, only the script runs", 0, "", 0},
            {"5", "**production: fresh state, JSON in, result out**", 0, "", 0},
            {"6", "production with a time limit armed", 0, "", 0},
            {"7", "same guest code compiled natively, no sandbox", 0, "", 0},
            {"8a", "node: new vm context per call (JSON.parse + run)", 0, "", 0},
            {"8b", "node: one warm context (JSON.parse + run)", 0, "", 0},
            {"8c", "node: JSON.parse alone", 0, "", 0},
            {"t", "trivial call `1+1`, fresh state", 0, "", 0},
        };
        row *base = &rows[4], *node_warm = &rows[8];

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
        if (node) {
            const char *helper = self_dir;
            run_node(node, helper, script_path, data_paths[d], &rows[7], &rows[8], &rows[9]);
        }
        {
            plugbox_program *p;
            plugbox_sandbox *b;
            if (plugbox_program_new(e.engine, "1+1", 3, NULL, &p) != PLUGBOX_OK || plugbox_sandbox_new(p, NULL, &b) != PLUGBOX_OK)
                die("trivial", "set-up failed");
            measure(&rows[10], op_trivial, b, calls * 5);
            plugbox_sandbox_free(b);
            plugbox_program_free(p);
        }

        printf("### %s (%zu bytes)\n\n", data_paths[d], e.data_len);
        printf("| row | what | median µs | vs row 5 | vs node warm | result |\n");
        printf("|---|---|---:|---:|---:|---|\n");
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
            print_row(&rows[i], base, node_warm);

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
        if (node_warm->ran)
            printf("; row 5 / node warm = %.2f", base->median_us / node_warm->median_us);
        printf("; parallel speed-up %.2fx.\n\n", all / one);
        plugbox_sandbox_free(e.sandbox);
        plugbox_program_free(e.program);
        plugbox_engine_free(e.engine);
        free((char *)e.data);
    }
    free((char *)e.script);
    return 0;
}
