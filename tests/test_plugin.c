/* SPDX-License-Identifier: MIT */
/* test_plugin.c - WebAssembly plugins through the C API: compiling, the cache, artifacts, and
 * every limit on foreign code, one case per process (test_plugin --list names them).
 *
 * Environment: PLUGINS, the directory of the test plugins the build compiled (limits.wasm).
 * Each case compiles into a cache of its own (XDG_CACHE_HOME in a temporary directory). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact.h"
#include "check.h"
#include "rt/rt.h"
#include "plugbox.h"
#include "sha256.h"

static plugbox_engine *engine;
static char tmp[256];

static char *slurp(const char *path, size_t *n)
{
    char *b;
    if (pb__read_file(path, &b, n) != 0) {
        fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return b;
}

static char *plugin_bytes(const char *name, size_t *n)
{
    const char *dir = getenv("PLUGINS");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", name);
    return slurp(path, n);
}

/* A program of the plugin, or exit with its error. */
static plugbox_program *program_of(const void *bytes, size_t n, plugbox_options *o)
{
    plugbox_program *p;
    int rc = plugbox_program_new_plugin(engine, bytes, n, o, &p);
    if (rc != PLUGBOX_OK) {
        fprintf(stderr, "program failed: %s\n", p ? plugbox_program_error_message(p) : plugbox_strerror(rc));
        exit(1);
    }
    return p;
}

static plugbox_sandbox *box_of(plugbox_program *p, plugbox_options *o)
{
    plugbox_sandbox *b;
    if (plugbox_sandbox_new(p, o, &b) != PLUGBOX_OK) {
        fprintf(stderr, "sandbox failed\n");
        exit(1);
    }
    return b;
}

/* Calls fn; returns the status, the message in msg. */
static int call(plugbox_sandbox *b, const char *fn, const char **msg)
{
    const char *out;
    size_t n;
    int rc = plugbox_sandbox_call_function(b, fn, NULL, 0, &out, &n);
    *msg = plugbox_sandbox_error_message(b);
    return rc;
}

/* A sandbox of the test plugin `file` (its program dropped: the sandbox holds it). */
static plugbox_sandbox *plugin_box(const char *file, plugbox_options *o)
{
    size_t n;
    char *w = plugin_bytes(file, &n);
    plugbox_program *p = program_of(w, n, o);
    free(w);
    plugbox_sandbox *b = box_of(p, o);
    plugbox_program_free(p);
    return b;
}

static plugbox_sandbox *limits_box(plugbox_options *o) { return plugin_box("limits.wasm", o); }

/* ---- cases ------------------------------------------------------------------------------------ */

static void t_sha256(void)
{
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t h[32];
        char hex[65];
        pb__sha256(v[i].in, strlen(v[i].in), h);
        pb__sha256_hex(h, hex);
        CHECK_STR(hex, v[i].hex);
    }
    /* every length around the block's padding boundaries, against sha256sum */
    char data[200], cmd[512], want[80], hex[65];
    for (int i = 0; i < 200; i++)
        data[i] = (char)('a' + i % 26);
    for (size_t len = 50; len <= 130; len += 1) {
        uint8_t h[32];
        pb__sha256(data, len, h);
        pb__sha256_hex(h, hex);
        snprintf(cmd, sizeof cmd, "printf '%%s' '%.*s' | sha256sum", (int)len, data);
        FILE *f = popen(cmd, "r");
        CHECK(f && fgets(want, sizeof want, f));
        if (f)
            pclose(f);
        want[64] = 0;
        CHECK_STR(hex, want);
    }
}

static void t_calls(void)
{
    plugbox_sandbox *b = limits_box(NULL);
    const char *msg;
    CHECK_EQ_INT(call(b, "ok", &msg), PLUGBOX_OK);
    /* a nonzero return is the call's error */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(call(b, "count", &msg), PLUGBOX_EXCEPTION);
        CHECK_STR(msg, "count returned 1"); /* fresh state: the counter is the snapshot's */
    }
    CHECK_EQ_INT(call(b, "nosuch", &msg), PLUGBOX_ARGUMENT);
    CHECK_HAS(msg, "nosuch is not a function of the plugin");
    CHECK_EQ_INT(call(b, "scribble", &msg), PLUGBOX_OK);
    CHECK_EQ_INT(call(b, "scribble", &msg), PLUGBOX_OK); /* the page it wrote is zero again */
    plugbox_sandbox_free(b);
}

static void t_stateful(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_stateful(o, 1);
    plugbox_sandbox *b = limits_box(o);
    const char *msg;
    char want[64];
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ_INT(call(b, "count", &msg), PLUGBOX_EXCEPTION);
        snprintf(want, sizeof want, "count returned %d", i);
        CHECK_STR(msg, want);
    }
    CHECK_EQ_INT(call(b, "scribble", &msg), PLUGBOX_OK);
    CHECK_EQ_INT(call(b, "scribble", &msg), PLUGBOX_EXCEPTION);
    CHECK_STR(msg, "scribble returned 42");
    CHECK_EQ_INT(plugbox_sandbox_reset(b), PLUGBOX_OK);
    CHECK_EQ_INT(call(b, "count", &msg), PLUGBOX_EXCEPTION);
    CHECK_STR(msg, "count returned 1");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

static void t_time_limit(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_time_limit(o, 100);
    plugbox_sandbox *b = limits_box(o);
    const char *msg;
    double t0 = now_ms();
    CHECK_EQ_INT(call(b, "spin", &msg), PLUGBOX_TIMEOUT);
    double took = now_ms() - t0;
    CHECK_STR(msg, "time limit exceeded (100 ms)");
    CHECK(took >= 100);
    CHECK_EQ_INT(call(b, "ok", &msg), PLUGBOX_OK); /* the sandbox goes on */
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

static void t_stack(void)
{
    plugbox_sandbox *b = limits_box(NULL);
    const char *msg;
    CHECK_EQ_INT(call(b, "recurse", &msg), PLUGBOX_STACK);
    CHECK_STR(msg, "stack overflow");
    CHECK_EQ_INT(call(b, "ok", &msg), PLUGBOX_OK);
    plugbox_sandbox_free(b);
}

static void t_memory(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 4u << 20);
    plugbox_sandbox *b = limits_box(o);
    const char *msg;
    /* memory.grow is refused at the limit: the plugin sees -1 and returns 7 */
    CHECK_EQ_INT(call(b, "grow", &msg), PLUGBOX_EXCEPTION);
    CHECK_STR(msg, "grow returned 7");
    CHECK_EQ_INT(call(b, "trap", &msg), PLUGBOX_TRAP);
    CHECK_HAS(msg, "sandbox trap: ");
    CHECK_EQ_INT(call(b, "ok", &msg), PLUGBOX_OK);
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Memory a call grows reads as zeros in the next call (the restore keeps up to 64 MiB of it,
 * zeroed where written, and gives the rest back) and in a new sandbox in the same reservation. */
static void t_grown_memory(void)
{
    static const char *const fns[] = {"grow_small", "grow_large"};
    const char *msg;
    for (int f = 0; f < 2; f++) {
        for (int sandboxes = 0; sandboxes < 2; sandboxes++) {
            plugbox_sandbox *b = limits_box(NULL);
            for (int i = 0; i < 3; i++)
                CHECK_EQ_INT(call(b, fns[f], &msg), PLUGBOX_OK);
            /* a trap restores everything: the next call still finds zeros */
            CHECK_EQ_INT(call(b, "trap", &msg), PLUGBOX_TRAP);
            CHECK_EQ_INT(call(b, fns[f], &msg), PLUGBOX_OK);
            CHECK_EQ_INT(call(b, fns[1 - f], &msg), PLUGBOX_OK);
            CHECK_EQ_INT(call(b, fns[f], &msg), PLUGBOX_OK);
            plugbox_sandbox_free(b);
        }
    }
}

/* A program's artifact loads without a compiler; a damaged or foreign one is refused. */
static void t_artifact(void)
{
    size_t n;
    char *w = plugin_bytes("limits.wasm", &n);
    plugbox_program *p = program_of(w, n, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/limits.plugbox", tmp);
    CHECK_EQ_INT(plugbox_program_save(p, path), PLUGBOX_OK);
    plugbox_program_free(p);
    /* the cache holds it under the module's hash and this version */
    uint8_t h[32];
    char hex[65], cached[1024];
    pb__sha256(w, n, h);
    pb__sha256_hex(h, hex);
    snprintf(cached, sizeof cached, "%s/plugbox/%s-%s.plugbox", getenv("XDG_CACHE_HOME"), hex, PLUGBOX_VERSION);
    CHECK(access(cached, R_OK) == 0);
    free(w);

    char *old_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", "/nonexistent", 1); /* no wasm2c, no compiler until the end of the case */
    setenv("CC", "/nonexistent/cc", 1);
    size_t an;
    char *a = slurp(path, &an);
    p = program_of(a, an, NULL);
    plugbox_sandbox *b = box_of(p, NULL);
    const char *msg;
    CHECK_EQ_INT(call(b, "count", &msg), PLUGBOX_EXCEPTION);
    CHECK_STR(msg, "count returned 1");
    plugbox_sandbox_free(b);
    plugbox_program_free(p);

    a[16] ^= 1; /* the version it was compiled by */
    CHECK_EQ_INT(plugbox_program_new_plugin(engine, a, an, NULL, &p), PLUGBOX_ARGUMENT);
    CHECK_HAS(plugbox_program_error_message(p), "compile it again");
    plugbox_program_free(p);
    a[16] ^= 1;
    CHECK_EQ_INT(plugbox_program_new_plugin(engine, a, 100, NULL, &p), PLUGBOX_ARGUMENT); /* truncated */
    CHECK_HAS(plugbox_program_error_message(p), "truncated or damaged");
    plugbox_program_free(p);
    /* a module needs the compiler, and says so */
    w = plugin_bytes("limits.wasm", &n);
    w[n - 1] ^= 1; /* another module: not in the cache */
    CHECK_EQ_INT(plugbox_program_new_plugin(engine, w, n, NULL, &p), PLUGBOX_ARGUMENT);
    CHECK_HAS(plugbox_program_error_message(p), "needs wasm2c");
    plugbox_program_free(p);
    free(w);
    free(a);
    setenv("PATH", old_path, 1);
    unsetenv("CC");
    free(old_path);
}

/* Modules plugbox refuses, each with its reason. */
static void t_refused(void)
{
    static const unsigned char import_env_foo[] = {
        0, 'a', 's', 'm', 1, 0, 0, 0,                                    /* header */
        1, 4, 1, 0x60, 0, 0,                                             /* type () -> () */
        2, 11, 1, 3, 'e', 'n', 'v', 3, 'f', 'o', 'o', 0, 0,              /* import env.foo */
        5, 3, 1, 0, 1,                                                   /* memory 1 */
    };
    static const unsigned char no_memory[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    plugbox_program *p;
    CHECK_EQ_INT(plugbox_program_new_plugin(engine, import_env_foo, sizeof import_env_foo, NULL, &p),
                 PLUGBOX_ARGUMENT);
    CHECK_HAS(plugbox_program_error_message(p), "imports env.foo, which plugbox does not provide");
    plugbox_program_free(p);
    CHECK_EQ_INT(plugbox_program_new_plugin(engine, no_memory, sizeof no_memory, NULL, &p), PLUGBOX_ARGUMENT);
    CHECK_HAS(plugbox_program_error_message(p), "no memory of its own");
    plugbox_program_free(p);
    CHECK_EQ_INT(plugbox_program_new_plugin(engine, "hello", 5, NULL, &p), PLUGBOX_ARGUMENT);
    CHECK_HAS(plugbox_program_error_message(p), "not a WebAssembly module");
    plugbox_program_free(p);
    /* a function that is not () -> i32 */
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "memory");
    size_t n;
    char *w = plugin_bytes("limits.wasm", &n);
    CHECK_EQ_INT(plugbox_program_new_plugin(engine, w, n, o, &p), PLUGBOX_ARGUMENT);
    CHECK_HAS(plugbox_program_error_message(p), "memory is not a function of the plugin");
    plugbox_program_free(p);
    plugbox_options_free(o);
    free(w);
}

/* Calls fn with input; returns the status, the output (a static copy) or the error message. */
static const char *call_in(plugbox_sandbox *b, const char *fn, const char *input, int *rc)
{
    static char buf[4096];
    const char *out;
    size_t n;
    *rc = plugbox_sandbox_call_function(b, fn, input, input ? strlen(input) : 0, &out, &n);
    if (*rc != PLUGBOX_OK)
        snprintf(buf, sizeof buf, "%s", plugbox_sandbox_error_message(b));
    else
        snprintf(buf, sizeof buf, "%.*s", out ? (int)n : 6, out ? out : "(none)");
    return buf;
}

static char logged[256];
static void on_console(void *user, plugbox_console_level level, const char *text, size_t len)
{
    (void)user;
    snprintf(logged, sizeof logged, "%d:%.*s", (int)level, (int)len, text);
}

static plugbox_sandbox *kernel_box(plugbox_options *o) { return plugin_box("kernel.wasm", o); }

/* Extism's kernel: input, output, errors, configuration, variables, the log */
static void t_kernel(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_config(o, "{\"name\": \"caf\\u00e9\", \"n\": 3}", (size_t)-1);
    plugbox_options_set_config_value(o, "other", "[1, 2]", (size_t)-1);
    plugbox_options_set_console(o, on_console, NULL);
    plugbox_sandbox *b = kernel_box(o);
    int rc;
    CHECK_STR(call_in(b, "greet", "world", &rc), "Hello, world");
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    CHECK_STR(call_in(b, "greet", NULL, &rc), "Hello, ");
    CHECK_STR(call_in(b, "fail", NULL, &rc), "something went wrong");
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    CHECK_STR(call_in(b, "config", NULL, &rc), "caf\xc3\xa9"); /* a string's text */
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    CHECK_STR(call_in(b, "counter", NULL, &rc), "1");
    CHECK_STR(call_in(b, "counter", NULL, &rc), "1"); /* fresh: the variables go with the call */
    CHECK_STR(call_in(b, "log", NULL, &rc), "logged");
    CHECK_STR(logged, "1:a line of the log"); /* info */
    CHECK_STR(call_in(b, "bad_offset", NULL, &rc), "invalid handle offset for var key: 123456789"); /* Extism's words */
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    CHECK_STR(call_in(b, "greet", "again", &rc), "Hello, again"); /* after the failed call */
    plugbox_sandbox_free(b);

    plugbox_options_set_stateful(o, 1);
    b = kernel_box(o);
    CHECK_STR(call_in(b, "counter", NULL, &rc), "1");
    CHECK_STR(call_in(b, "counter", NULL, &rc), "2");
    CHECK_STR(call_in(b, "counter", NULL, &rc), "3");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* The kernel's memory counts against the sandbox's limit. */
static void t_kernel_memory(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 16u << 20);
    plugbox_sandbox *b = kernel_box(o);
    int rc;
    CHECK_STR(call_in(b, "hog", NULL, &rc), "alloc refused");
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    /* an input larger than the limit is refused before the plugin runs */
    char *big = malloc((20u << 20) + 1);
    memset(big, 'x', 20u << 20);
    big[20u << 20] = 0;
    const char *msg = call_in(b, "greet", big, &rc);
    CHECK_EQ_INT(rc, PLUGBOX_MEMORY);
    CHECK_HAS(msg, "out of memory");
    free(big);
    CHECK_STR(call_in(b, "greet", "small", &rc), "Hello, small");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Every host resource a plugin's program, sandbox and call take, failed in turn (the module
 * in the cache already: compiling runs other programs): each failure is an error, never a
 * crash, and nothing leaks (the asan suite checks). */
static int plugin_scenario(const char *w, size_t n)
{
    plugbox_options *o = plugbox_options_new();
    if (!o)
        return PLUGBOX_HOST;
    plugbox_options_set_config(o, "{\"name\": \"x\"}", (size_t)-1);
    plugbox_program *p = NULL;
    plugbox_sandbox *b = NULL;
    int rc = plugbox_program_new_plugin(engine, w, n, o, &p);
    if (rc == PLUGBOX_OK)
        rc = plugbox_sandbox_new(p, o, &b);
    if (rc == PLUGBOX_OK) {
        const char *out;
        size_t len;
        rc = plugbox_sandbox_call_function(b, "greet", "abc", 3, &out, &len);
        if (rc == PLUGBOX_OK && (len != 10 || memcmp(out, "Hello, abc", 10)))
            rc = -1000; /* a wrong result: not an error the host was told of */
    }
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
    plugbox_options_free(o);
    return rc;
}

static void t_fail_every_resource(void)
{
    size_t n;
    char *w = plugin_bytes("kernel.wasm", &n);
    CHECK_EQ_INT(plugin_scenario(w, n), PLUGBOX_OK); /* compiled into the cache */
    pb_rt_fail_after(-1);
    CHECK_EQ_INT(plugin_scenario(w, n), PLUGBOX_OK);
    long taken = pb_rt_fail_after(-1);
    CHECK(taken > 10);
    int failed = 0;
    for (long k = 0; k < taken; k++) {
        pb_rt_fail_after(k);
        int rc = plugin_scenario(w, n);
        pb_rt_fail_after(-1);
        CHECK(rc != -1000);
        failed += rc != PLUGBOX_OK;
    }
    CHECK(failed > taken / 2); /* most failures reach the caller (some the plugin copes with) */
    CHECK_EQ_INT(plugin_scenario(w, n), PLUGBOX_OK);
    free(w);
}

static plugbox_sandbox *command_box(plugbox_options *o) { return plugin_box("command.wasm", o); }

/* A WASI command: standard input in, standard output out, arguments, exit status, limits. */
static void t_command(void)
{
    plugbox_options *o = plugbox_options_new();
    static const char *const args[] = {"cmd", "one", "two words"};
    plugbox_options_set_arguments(o, 3, args);
    plugbox_options_set_console(o, on_console, NULL);
    plugbox_options_set_time_limit(o, 200);
    plugbox_options_set_stateful(o, 1); /* a command starts afresh all the same */
    plugbox_sandbox *b = command_box(o);
    const char *out;
    size_t n;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(plugbox_sandbox_call(b, "abc", 3, &out, &n), PLUGBOX_OK);
        CHECK(n == 19 && !memcmp(out, "ABC[one][two words]", 19));
        CHECK_STR(logged, "3:runs=1 argc=3"); /* standard error, as an error line; fresh each time */
    }
    CHECK_EQ_INT(plugbox_sandbox_call(b, "exit 7", 6, &out, &n), PLUGBOX_EXCEPTION);
    CHECK_STR(plugbox_sandbox_error_message(b), "the command exited with status 7");
    CHECK_EQ_INT(plugbox_sandbox_call(b, "exit 0", 6, &out, &n), PLUGBOX_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(plugbox_sandbox_call(b, "spin", 4, &out, &n), PLUGBOX_TIMEOUT);
    CHECK_EQ_INT(plugbox_sandbox_call(b, NULL, 0, &out, &n), PLUGBOX_OK); /* no input: end of file */
    CHECK_EQ_INT(plugbox_sandbox_call(b, "big 100000", 10, &out, &n), PLUGBOX_OK);
    CHECK_EQ_INT(n, 100000);
    plugbox_sandbox_free(b);
    /* standard output is bounded by the memory limit: the command sees a write error */
    plugbox_options_set_memory_limit(o, 4u << 20);
    b = command_box(o);
    CHECK_EQ_INT(plugbox_sandbox_call(b, "big 8000000", 11, &out, &n), PLUGBOX_OK);
    CHECK(n < (4u << 20));
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Modules with features wasm2c cannot take are refused by name before it runs (the module
 * reader's own tests cover the reading; these, that a program and the command use it). */
static void t_unsupported(void)
{
    static const struct {
        const char *file, *feature;
    } v[] = {
        {"simd.wasm", "SIMD"},         {"vector-simd.wasm", "SIMD"},          {"threads.wasm", "threads"},
        {"memory64.wasm", "memory64"}, {"multi_memory.wasm", "multi-memory"}, {"tail_call.wasm", "tail calls"},
        {"exceptions.wasm", "exception handling"},                              {"gc.wasm", "GC"},
        {"reference_types.wasm", "table mutation"}, /* a table's elements are not in the snapshot */
        {"funcref_global.wasm", "a global of type funcref"}, /* nor can a function's address be */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n;
        char *w = plugin_bytes(v[i].file, &n), want[128];
        plugbox_program *p;
        CHECK_EQ_INT(plugbox_program_new_plugin(engine, w, n, NULL, &p), PLUGBOX_ARGUMENT);
        snprintf(want, sizeof want, "unsupported WebAssembly feature: %s", v[i].feature);
        CHECK_HAS(plugbox_program_error_message(p), want);
        plugbox_program_free(p);
        free(w);
    }
    /* a clang module without SIMD is fine: its WASI imports are granted */
    size_t n;
    char *w = plugin_bytes("vector.wasm", &n);
    plugbox_program *p;
    int rc = plugbox_program_new_plugin(engine, w, n, NULL, &p);
    CHECK(rc == PLUGBOX_OK);
    if (rc != PLUGBOX_OK)
        fprintf(stderr, "vector.wasm: %s\n", plugbox_program_error_message(p));
    plugbox_program_free(p);
    free(w);
}

/* Extism's own AssemblyScript PDK example, built from its npm package unchanged: what it
 * returned through Extism, it returns here; its variable goes with the call. */
static void t_assemblyscript(void)
{
    size_t n;
    char *w = plugin_bytes("as_example.wasm", &n);
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_config_value(o, "thing", "\"hello\"", (size_t)-1);
    plugbox_program *p = program_of(w, n, o);
    plugbox_sandbox *b = box_of(p, o);
    int rc;
    for (int i = 0; i < 2; i++) {
        CHECK_STR(call_in(b, "count_vowels", "Hello, World! aeiou", &rc),
                  "{\"count\": 8, \"config\": \"hello\", \"a\": \"this is var a\"}");
        CHECK_EQ_INT(rc, PLUGBOX_OK);
    }
    CHECK_STR(call_in(b, "count_vowels", NULL, &rc), "{\"count\": 0, \"config\": \"hello\", \"a\": \"this is var a\"}");
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
    plugbox_options_free(o);
    free(w);
}

/* A Rust plugin (Debian's rustc, the kernel's imports declared by hand): its output, its
 * variables fresh or kept, and every limit: a panic, a loop, deep recursion, allocation. */
static void t_rust(void)
{
    size_t n;
    char *w = plugin_bytes("vowels.wasm", &n);
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_config(o, "{\"thing\": \"from the config\"}", (size_t)-1);
    plugbox_options_set_time_limit(o, 200);
    plugbox_options_set_memory_limit(o, 32u << 20);
    plugbox_program *p = program_of(w, n, o);
    plugbox_sandbox *b = box_of(p, o);
    int rc;
    for (int i = 0; i < 2; i++)
        CHECK_STR(call_in(b, "count_vowels", "Hello, World!", &rc),
                  "{\"count\": 3, \"config\": \"from the config\", \"a\": \"none\"}");
    CHECK_STR(call_in(b, "calls", NULL, &rc), "1");
    CHECK_STR(call_in(b, "calls", NULL, &rc), "1");
    CHECK_STR(call_in(b, "panics", NULL, &rc), "sandbox trap: unreachable executed");
    CHECK_EQ_INT(rc, PLUGBOX_TRAP);
    CHECK_STR(call_in(b, "spin", NULL, &rc), "time limit exceeded (200 ms)");
    CHECK_EQ_INT(rc, PLUGBOX_TIMEOUT);
    CHECK_STR(call_in(b, "recurse", NULL, &rc), "stack overflow"); /* its own stack, in its memory */
    CHECK_EQ_INT(rc, PLUGBOX_STACK);
    call_in(b, "hoard", NULL, &rc);
    CHECK_EQ_INT(rc, PLUGBOX_MEMORY);
    CHECK_STR(call_in(b, "calls", NULL, &rc), "1"); /* after all of it */
    plugbox_sandbox_free(b);
    plugbox_options_set_stateful(o, 1);
    b = box_of(p, o);
    CHECK_STR(call_in(b, "count_vowels", "aaa", &rc), "{\"count\": 3, \"config\": \"from the config\", \"a\": \"none\"}");
    CHECK_STR(call_in(b, "count_vowels", "aaa", &rc),
              "{\"count\": 3, \"config\": \"from the config\", \"a\": \"this is var a\"}");
    CHECK_STR(call_in(b, "calls", NULL, &rc), "1");
    CHECK_STR(call_in(b, "calls", NULL, &rc), "2");
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
    plugbox_options_free(o);
    free(w);
}

/* the host function the hostfn plugin imports: echoes its argument under "got", throws on
 * "throw", returns nothing on null */
static void lookup(plugbox_host_call *call, void *user, const char *args, size_t len)
{
    (void)user;
    char out[256];
    if (!strcmp(args, "[\"throw\"]")) {
        plugbox_host_throw(call, "no such key");
        return;
    }
    if (!strcmp(args, "[null]"))
        return;
    snprintf(out, sizeof out, "{\"got\":%.*s}", (int)len, args);
    plugbox_host_return(call, out, strlen(out));
}

/* Extism's host functions (extism:host/user) are plugbox's */
static void t_host_functions(void)
{
    size_t n;
    char *w = plugin_bytes("hostfn.wasm", &n);
    plugbox_program *p;
    /* not granted: refused, naming it */
    CHECK_EQ_INT(plugbox_program_new_plugin(engine, w, n, NULL, &p), PLUGBOX_ARGUMENT);
    CHECK_HAS(plugbox_program_error_message(p), "host function lookup, which the host did not grant");
    plugbox_program_free(p);
    plugbox_options *o = plugbox_options_new();
    plugbox_options_add_function(o, "lookup", lookup, NULL);
    p = program_of(w, n, o);
    plugbox_sandbox *b = box_of(p, o);
    int rc;
    CHECK_STR(call_in(b, "ask", "{\"k\": 1}", &rc), "{\"got\":[{\"k\": 1}]}");
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    CHECK_STR(call_in(b, "ask", NULL, &rc), "{\"got\":[]}"); /* no argument */
    CHECK_STR(call_in(b, "ask", "null", &rc), "(none)");        /* undefined: no block */
    CHECK_STR(call_in(b, "ask", "\"throw\"", &rc), "lookup: no such key");
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    CHECK_HAS(call_in(b, "ask", "not json", &rc), "lookup: the argument is not JSON");
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    CHECK_STR(call_in(b, "ask", "2", &rc), "{\"got\":[2]}"); /* after the errors */
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
    plugbox_options_free(o);
    free(w);
}

/* bytes beside the input: the plugin's input is the JSON, a NUL, the bytes; its output is
 * NUL-terminated; it cannot write the bytes back */
static void t_bytes(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "greet");
    plugbox_sandbox *b = kernel_box(o);
    const char *out;
    size_t n;
    char bytes[2] = {'y', 'z'};
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "x", 1, bytes, 2, PLUGBOX_BYTES_READ, &out, &n), PLUGBOX_OK);
    CHECK(n == 11 && !memcmp(out, "Hello, x\0yz", 11) && out[11] == 0);
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "x", 1, bytes, 2, PLUGBOX_BYTES_WRITE, &out, &n), PLUGBOX_ARGUMENT);
    CHECK_HAS(plugbox_sandbox_error_message(b), "cannot write them back");
    CHECK_EQ_INT(plugbox_sandbox_call(b, "abc", 3, &out, &n), PLUGBOX_OK); /* the options' function */
    CHECK(n == 10 && !strcmp(out, "Hello, abc"));
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Several plugins in one process, each wasm2c'd under the same module name: their code is
 * kept apart (each loaded on its own, its symbols its own), and a pool runs one. */
static void t_many_modules(void)
{
    static const char *const files[] = {"kernel.wasm", "limits.wasm", "vowels.wasm", "as_example.wasm", "command.wasm"};
    enum { N = sizeof files / sizeof files[0] };
    plugbox_program *p[N];
    plugbox_sandbox *b[N];
    for (int i = 0; i < N; i++) {
        size_t n;
        char *w = plugin_bytes(files[i], &n);
        p[i] = program_of(w, n, NULL);
        b[i] = box_of(p[i], NULL);
        free(w);
    }
    int rc;
    for (int round = 0; round < 2; round++) {
        CHECK_STR(call_in(b[0], "greet", "a", &rc), "Hello, a");
        CHECK_STR(call_in(b[1], "count", NULL, &rc), "count returned 1");
        CHECK_STR(call_in(b[2], "count_vowels", "aei", &rc), "{\"count\": 3, \"config\": \"none\", \"a\": \"none\"}");
        CHECK_STR(call_in(b[3], "count_vowels", "o", &rc), "{\"count\": 1, \"config\": \"null\", \"a\": \"this is var a\"}");
        const char *out;
        size_t n;
        CHECK_EQ_INT(plugbox_sandbox_call(b[4], "q", 1, &out, &n), PLUGBOX_OK);
        CHECK(n == 1 && out[0] == 'Q');
    }
    /* a pool of the Rust plugin: ordered results on every thread */
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "count_vowels");
    size_t n;
    char *w = plugin_bytes("vowels.wasm", &n);
    plugbox_program *pv = program_of(w, n, o);
    free(w);
    plugbox_pool *pool;
    CHECK_EQ_INT(plugbox_pool_new(pv, o, 2, 0, NULL, NULL, &pool), PLUGBOX_OK);
    static const char *const inputs[] = {"a", "ae", "aei", "aeio", "aeiou", "", "x", "oo"};
    static const int counts[] = {1, 2, 3, 4, 5, 0, 0, 2};
    plugbox_result results[8];
    CHECK_EQ_INT(plugbox_pool_run(pool, inputs, NULL, 8, results), PLUGBOX_OK);
    for (int k = 0; k < 8; k++) {
        char want[96];
        snprintf(want, sizeof want, "{\"count\": %d, \"config\": \"none\", \"a\": \"none\"}", counts[k]);
        CHECK(results[k].status == PLUGBOX_OK && results[k].len == strlen(want) && !memcmp(results[k].json, want, results[k].len));
        plugbox_result_clear(&results[k]);
    }
    plugbox_pool_free(pool);
    plugbox_program_free(pv);
    plugbox_options_free(o);
    for (int i = 0; i < N; i++) {
        plugbox_sandbox_free(b[i]);
        plugbox_program_free(p[i]);
    }
}

static const test_case cases[] = {
    {"many_modules", t_many_modules},
    {"bytes", t_bytes},
    {"host_functions", t_host_functions},
    {"assemblyscript", t_assemblyscript}, {"rust", t_rust},
    {"unsupported", t_unsupported},
    {"command", t_command},
    {"fail_every_resource", t_fail_every_resource},
    {"kernel", t_kernel},     {"kernel_memory", t_kernel_memory},
    {"sha256", t_sha256},     {"calls", t_calls},       {"stateful", t_stateful}, {"time_limit", t_time_limit},
    {"grown_memory", t_grown_memory},
    {"stack", t_stack},       {"memory", t_memory},     {"artifact", t_artifact}, {"refused", t_refused},
};

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list"))
        return run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
    const char *t = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/plugbox-test-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "cannot make a temporary directory\n");
        return 1;
    }
    setenv("XDG_CACHE_HOME", tmp, 1);
    if (plugbox_engine_new(&engine) != PLUGBOX_OK) {
        fprintf(stderr, "cannot create the engine\n");
        return 1;
    }
    int rc = run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
    plugbox_engine_free(engine);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return rc;
}
