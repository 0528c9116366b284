/* SPDX-License-Identifier: MIT */
/* test_api.c - the C API, one case per process: test_api CASE (test_api --list names them). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "plugbox.h"
#include "testing.h"

static plugbox_engine *engine;

/* A sandbox of `src` with the given options (NULL: defaults); aborts the case on failure. */
static plugbox_sandbox *box_of(const char *src, plugbox_options *o)
{
    plugbox_program *p;
    int rc = plugbox_program_new(engine, src, (size_t)-1, o, &p);
    if (rc != PLUGBOX_OK) {
        fprintf(stderr, "program failed: %s\n", p ? plugbox_program_error_message(p) : plugbox_strerror(rc));
        exit(1);
    }
    plugbox_sandbox *b;
    rc = plugbox_sandbox_new(p, o, &b);
    plugbox_program_free(p); /* the sandbox keeps it alive */
    if (rc != PLUGBOX_OK) {
        fprintf(stderr, "sandbox failed: %s\n", plugbox_strerror(rc));
        exit(1);
    }
    return b;
}

/* Calls and returns the result text (a static copy), or NULL after an error. */
static const char *call(plugbox_sandbox *b, const char *json, int *rc)
{
    static char buf[4096];
    const char *out;
    size_t n;
    *rc = plugbox_sandbox_call(b, json, json ? strlen(json) : 0, &out, &n);
    if (*rc != PLUGBOX_OK || !out)
        return NULL;
    snprintf(buf, sizeof buf, "%.*s", (int)n, out);
    return buf;
}

/* ---- cases ---------------------------------------------------------------------------------- */

/* Calling one of the script's other functions; resetting a stateful sandbox */
static const char *call_fn(plugbox_sandbox *b, const char *name, const char *json, int *rc)
{
    static char buf[4096];
    const char *out;
    size_t n;
    *rc = plugbox_sandbox_call_function(b, name, json, json ? strlen(json) : 0, &out, &n);
    if (*rc != PLUGBOX_OK)
        return NULL;
    snprintf(buf, sizeof buf, "%.*s", out ? (int)n : 9, out ? out : "undefined");
    return buf;
}

static void t_call_function(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "process");
    plugbox_options_set_stateful(o, 1);
    plugbox_sandbox *b = box_of("var n = 0; function process(d) { n += d; return n; }"
                                "function summary(extra) { return { n: n, extra: extra }; }", o);
    int rc;
    CHECK_STR(call(b, "2", &rc), "2");
    CHECK_STR(call_fn(b, "summary", "[1]", &rc), "{\"n\":2,\"extra\":[1]}");
    CHECK_STR(call_fn(b, "summary", NULL, &rc), "{\"n\":2}");
    /* no such function: nothing ran, the state is kept */
    CHECK(call_fn(b, "eos", NULL, &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_ARGUMENT);
    CHECK_STR(plugbox_sandbox_error_message(b), "eos is not a function of the script");
    CHECK(call_fn(b, "n", NULL, &rc) == NULL); /* a global, not a function */
    CHECK_EQ_INT(rc, PLUGBOX_ARGUMENT);
    CHECK_STR(call(b, "3", &rc), "5");
    /* its errors are the call's */
    CHECK(call_fn(b, "summary", "{", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_INPUT);
    /* back to the snapshot */
    CHECK_EQ_INT(plugbox_sandbox_reset(b), PLUGBOX_OK);
    CHECK_STR(call_fn(b, "summary", NULL, &rc), "{\"n\":0}");
    CHECK_EQ_INT(plugbox_sandbox_reset(NULL), PLUGBOX_ARGUMENT);
    plugbox_sandbox_free(b);
    /* a module's exports first; eval style: what the script defined, once it ran */
    plugbox_options_set_function(o, NULL);
    b = box_of("export default function (d) { return d + 1 } export function eos() { return 'module' }", o);
    CHECK_STR(call_fn(b, "eos", NULL, &rc), "\"module\"");
    plugbox_sandbox_free(b);
    b = box_of("function eos() { return 'eval' } 1", o);
    CHECK_STR(call(b, NULL, &rc), "1");
    CHECK_STR(call_fn(b, "eos", NULL, &rc), "\"eval\"");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Limits changed on a live sandbox take effect from its next call */
static void t_live_limits(void)
{
    plugbox_sandbox *b = box_of("if (data === 'loop') for (;;) {} else if (data === 'big') new Uint8Array(48 << 20).length; "
                                "else 1", NULL);
    int rc;
    CHECK_STR(call(b, "\"big\"", &rc), "50331648"); /* fits the default 256 MiB */
    CHECK_EQ_INT(plugbox_sandbox_set_limit(b, PLUGBOX_LIMIT_MEMORY, 16u << 20), PLUGBOX_OK);
    CHECK(call(b, "\"big\"", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_MEMORY);
    CHECK_STR(call(b, NULL, &rc), "1");
    CHECK_EQ_INT(plugbox_sandbox_set_limit(b, PLUGBOX_LIMIT_TIME, 50), PLUGBOX_OK);
    CHECK(call(b, "\"loop\"", &rc) == NULL); /* without the limit: for ever */
    CHECK_EQ_INT(rc, PLUGBOX_TIMEOUT);
    CHECK_EQ_INT(plugbox_sandbox_set_limit(b, PLUGBOX_LIMIT_TIME, 0), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_sandbox_set_limit(b, PLUGBOX_LIMIT_MEMORY, 256u << 20), PLUGBOX_OK);
    CHECK_STR(call(b, "\"big\"", &rc), "50331648");
    /* below the snapshot: refused, nothing changes */
    CHECK_EQ_INT(plugbox_sandbox_set_limit(b, PLUGBOX_LIMIT_MEMORY, 64u << 10), PLUGBOX_MEMORY);
    CHECK_EQ_INT(plugbox_sandbox_set_limit(b, PLUGBOX_LIMIT_MEMORY, 0), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_sandbox_set_limit(b, (plugbox_limit)7, 1), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_sandbox_set_limit(NULL, PLUGBOX_LIMIT_TIME, 1), PLUGBOX_ARGUMENT);
    CHECK_STR(call(b, "\"big\"", &rc), "50331648");
    plugbox_sandbox_free(b);
}

static void t_eval_string(void)
{
    plugbox_sandbox *b = box_of("'x'.repeat(3)", NULL);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "\"xxx\"");
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    plugbox_sandbox_free(b);
}

static void t_data_input(void)
{
    plugbox_sandbox *b = box_of("({sum: data.a + data.b, keys: Object.keys(data)})", NULL);
    int rc;
    CHECK_STR(call(b, "{\"a\":1,\"b\":2}", &rc), "{\"sum\":3,\"keys\":[\"a\",\"b\"]}");
    CHECK_STR(call(b, "{\"a\":\"x\",\"b\":\"\\u00e9\"}", &rc), "{\"sum\":\"x\xc3\xa9\",\"keys\":[\"a\",\"b\"]}");
    plugbox_sandbox_free(b);
}

static void t_undefined_result(void)
{
    plugbox_sandbox *b = box_of("var x = 1; undefined", NULL);
    const char *out = "sentinel";
    size_t n = 99;
    CHECK_EQ_INT(plugbox_sandbox_call(b, NULL, 0, &out, &n), PLUGBOX_OK);
    CHECK(out == NULL);
    CHECK_EQ_INT(n, 0);
    plugbox_sandbox_free(b);
}

static void t_exception(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_filename(o, "rule.js");
    plugbox_sandbox *b = box_of("function check(d) {\n  if (!d.ok)\n    throw new Error('boom ' + d.id);\n}\ncheck(data)", o);
    int rc;
    CHECK(call(b, "{\"ok\":false,\"id\":7}", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    CHECK_EQ_INT(plugbox_sandbox_error_kind(b), PLUGBOX_EXCEPTION);
    CHECK_STR(plugbox_sandbox_error_message(b), "Error: boom 7");
    CHECK_HAS(plugbox_sandbox_error_stack(b), "rule.js:3");
    CHECK_HAS(plugbox_sandbox_error_stack(b), "check");
    /* the error does not stick: the next call succeeds and clears it */
    CHECK(call(b, "{\"ok\":true}", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    CHECK_STR(plugbox_sandbox_error_message(b), "");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

static void t_syntax_error(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_filename(o, "bad.js");
    plugbox_program *p;
    int rc = plugbox_program_new(engine, "let a = 1;\nlet b = ;\n", (size_t)-1, o, &p);
    CHECK_EQ_INT(rc, PLUGBOX_SYNTAX);
    CHECK(p != NULL);
    CHECK_EQ_INT(plugbox_program_error_kind(p), PLUGBOX_SYNTAX);
    CHECK_HAS(plugbox_program_error_message(p), "SyntaxError");
    CHECK_HAS(plugbox_program_error_stack(p), "bad.js:2");
    plugbox_sandbox *b = NULL;
    CHECK_EQ_INT(plugbox_sandbox_new(p, NULL, &b), PLUGBOX_ARGUMENT);
    CHECK(b == NULL);
    plugbox_program_free(p);
    plugbox_options_free(o);
}

static void t_function_style(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "handle");
    plugbox_sandbox *b = box_of("var setups = 0; setups++;\n"
                                "var calls = 0;\n"
                                "function handle(d) { calls++; return {v: d.n * 2, setups, calls}; }", o);
    int rc;
    for (int i = 0; i < 3; i++) /* the top level ran once, into the snapshot; each call is fresh */
        CHECK_STR(call(b, "{\"n\":21}", &rc), "{\"v\":42,\"setups\":1,\"calls\":1}");
    plugbox_sandbox_free(b);

    plugbox_options_set_function(o, "missing");
    plugbox_program *p;
    CHECK_EQ_INT(plugbox_program_new(engine, "var x = 1;", (size_t)-1, o, &p), PLUGBOX_EXCEPTION);
    CHECK_HAS(plugbox_program_error_message(p), "missing is not a function");
    plugbox_program_free(p);
    plugbox_options_free(o);
}

static void t_async_result(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "f");
    plugbox_sandbox *b = box_of("async function f(d) { await null; if (d.fail) throw new TypeError('no'); return d.x + 1; }", o);
    int rc;
    CHECK_STR(call(b, "{\"x\":1}", &rc), "2");
    CHECK(call(b, "{\"fail\":true}", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    CHECK_STR(plugbox_sandbox_error_message(b), "TypeError: no");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

static void t_memory_small_ok(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 4u << 20);
    plugbox_sandbox *b = box_of("let a = []; for (let i = 0; i < 10000; i++) a.push(i); a.reduce((s, x) => s + x, 0)", o);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "49995000");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

static void t_memory_exceeded(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 4u << 20);
    plugbox_sandbox *b = box_of("if (data.bomb) { let a = []; for (;;) a.push(new Array(1e5).fill(1.5)); } 'fine'", o);
    int rc;
    CHECK(call(b, "{\"bomb\":true}", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_MEMORY);
    CHECK_HAS(plugbox_sandbox_error_message(b), "out of memory");
    CHECK_STR(call(b, "{\"bomb\":false}", &rc), "\"fine\"");
    CHECK(pb__sandbox_pristine(b));

    /* a limit below what the engine itself takes is refused up front */
    plugbox_program *p;
    CHECK_EQ_INT(plugbox_program_new(engine, "1", (size_t)-1, NULL, &p), PLUGBOX_OK);
    CHECK(plugbox_program_footprint(p) > (64u << 10));
    plugbox_options_set_memory_limit(o, 64u << 10);
    plugbox_sandbox *small = NULL;
    CHECK_EQ_INT(plugbox_sandbox_new(p, o, &small), PLUGBOX_MEMORY);
    plugbox_program_free(p);
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Cyclic garbage is still collected in a fresh call, whose arena is not counted towards the
 * collector's threshold: here 48 MiB of it in a sandbox of 8 MiB (an arena of 1 MiB). */
static void t_cycles_collected(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 8u << 20);
    plugbox_sandbox *b = box_of("let n = 0;\n"
                                "for (let i = 0; i < 3000; i++) { const o = { buf: new Float64Array(2048) }; o.self = o; "
                                "n += o.buf.length; }\n"
                                "n",
                                o);
    int rc;
    for (int i = 0; i < 2; i++) {
        CHECK_STR(call(b, NULL, &rc), "6144000");
        CHECK_EQ_INT(rc, PLUGBOX_OK);
    }
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

static void t_time_limit(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_time_limit(o, 100);
    plugbox_sandbox *b = box_of("if (data.loop) for (;;) {} 'done'", o);
    int rc;
    double t0 = now_ms();
    CHECK(call(b, "{\"loop\":true}", &rc) == NULL);
    double dt = now_ms() - t0;
    CHECK_EQ_INT(rc, PLUGBOX_TIMEOUT);
    CHECK_HAS(plugbox_sandbox_error_message(b), "time limit exceeded");
    CHECK(dt >= 95 && dt < 30000); /* never early; the upper bound only catches a hang */
    CHECK_STR(call(b, "{\"loop\":false}", &rc), "\"done\"");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Native engine code that never polls for interrupts: only the signal stops it. */
static void t_time_limit_native(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_time_limit(o, 100);
    plugbox_sandbox *b = box_of("if (data.bomb) /(a+)+b/.test('a'.repeat(40)); 'ok'", o);
    int rc;
    double t0 = now_ms();
    CHECK(call(b, "{\"bomb\":true}", &rc) == NULL);
    double dt = now_ms() - t0;
    CHECK_EQ_INT(rc, PLUGBOX_TIMEOUT);
    CHECK(dt < 30000); /* a hang, not a speed */
    CHECK_STR(call(b, "{\"bomb\":false}", &rc), "\"ok\"");
    CHECK(pb__sandbox_pristine(b));
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

static void t_stack_overflow(void)
{
    plugbox_sandbox *b = box_of("function f(n) { return f(n + 1) + 1 }\nif (data) f(0); 'ok'", NULL);
    int rc;
    CHECK(call(b, "true", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_STACK);
    CHECK_HAS(plugbox_sandbox_error_message(b), "stack overflow");
    CHECK_STR(call(b, "false", &rc), "\"ok\"");
    plugbox_sandbox_free(b);
}

static void t_fresh_state(void)
{
    plugbox_sandbox *b = box_of("var seen = [typeof globalThis.leak, typeof [].polluted, typeof Object.prototype.evil];\n"
                                "globalThis.leak = 1; Array.prototype.polluted = 1; Object.prototype.evil = 1;\n"
                                "var big = new Array(50000).fill('x'.repeat(10));\n"
                                /* the engine's memset and memcpy (bulk memory operations) mark pages too */
                                "var u = new Uint8Array(300000); u.fill(7); u.set(u.subarray(0, 1000), 5000);\n"
                                "u.copyWithin(100, 200, 90000); var copy = u.buffer.slice(10, 200000);\n"
                                "var s = 'ab'.repeat(50000) + 'cd'.repeat(50000);\n"
                                "seen", NULL);
    int rc;
    for (int i = 0; i < 5; i++) {
        CHECK_STR(call(b, "{\"i\":1}", &rc), "[\"undefined\",\"undefined\",\"undefined\"]");
        CHECK(pb__sandbox_pristine(b)); /* byte for byte the snapshot again */
    }
    plugbox_sandbox_free(b);
}

static void t_stateful(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_stateful(o, 1);
    plugbox_options_set_function(o, "count");
    plugbox_sandbox *b = box_of("var n = 0; function count(d) { if (d === 'trap') return; return ++n; }", o);
    int rc;
    CHECK_STR(call(b, "1", &rc), "1");
    CHECK_STR(call(b, "1", &rc), "2");
    CHECK_STR(call(b, "1", &rc), "3");
    /* a trap resets a stateful sandbox to its snapshot */
    CHECK_EQ_INT(pb__sandbox_call_raw(b, 0xfffffff0u, 64), PLUGBOX_TRAP);
    CHECK_STR(call(b, "1", &rc), "1");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

static void t_trap_recovery(void)
{
    plugbox_sandbox *b = box_of("JSON.stringify(data)", NULL);
    int rc;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(pb__sandbox_call_raw(b, 0xfffffff0u, 64), PLUGBOX_TRAP);
        CHECK_HAS(plugbox_sandbox_error_message(b), "out-of-bounds");
        CHECK_STR(call(b, "[1,2]", &rc), "\"[1,2]\"");
    }
    CHECK(pb__sandbox_pristine(b));
    plugbox_sandbox_free(b);
}

static void t_random_differs(void)
{
    plugbox_sandbox *b = box_of("Math.random()", NULL);
    int rc;
    char first[64];
    snprintf(first, sizeof first, "%s", call(b, NULL, &rc));
    const char *second = call(b, NULL, &rc);
    CHECK(second && strcmp(first, second) != 0);
    double v = atof(first);
    CHECK(v >= 0 && v < 1);
    plugbox_sandbox_free(b);
}

struct console_log {
    char text[256];
    int level, count;
};

static void on_console(void *user, plugbox_console_level level, const char *text, size_t len)
{
    struct console_log *l = user;
    snprintf(l->text, sizeof l->text, "%.*s", (int)len, text);
    l->level = (int)level;
    l->count++;
}

static void t_console(void)
{
    struct console_log log = {{0}, -1, 0};
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_console(o, on_console, &log);
    plugbox_sandbox *b = box_of("console.log('a', 1, {b: [2]}); console.error('bad'); 5", o);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "5");
    CHECK_EQ_INT(log.count, 2);
    CHECK_STR(log.text, "bad");
    CHECK_EQ_INT(log.level, PLUGBOX_CONSOLE_ERROR);
    plugbox_sandbox_free(b);
    plugbox_options_set_console(o, NULL, NULL);
    b = box_of("console.warn('x'); 6", o);
    CHECK_STR(call(b, NULL, &rc), "6");
    CHECK_EQ_INT(log.count, 2);
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* The interrupter waits for the event of the script's console line, not for time: by then
 * the call is running. */
struct started {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int started;
    plugbox_sandbox *box;
};

static void on_started(void *user, plugbox_console_level level, const char *text, size_t len)
{
    struct started *s = user;
    (void)level;
    (void)text;
    (void)len;
    pthread_mutex_lock(&s->lock);
    s->started = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void *interrupter(void *arg)
{
    struct started *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->started)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    plugbox_sandbox_interrupt(s->box);
    return NULL;
}

static void t_interrupt(void)
{
    struct started s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL};
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_console(o, on_started, &s);
    plugbox_sandbox *b = s.box = box_of("if (data) { console.log('looping'); for (;;) {} } 'ok'", o);
    int rc;
    pthread_t t;
    pthread_create(&t, NULL, interrupter, &s);
    CHECK(call(b, "true", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_INTERRUPTED);
    pthread_join(t, NULL);
    CHECK_EQ_INT(plugbox_sandbox_interrupt(b), PLUGBOX_OK); /* nothing running: no effect */
    CHECK_STR(call(b, "false", &rc), "\"ok\"");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* An error's kind comes from what happened, never from its text: a script that throws what
 * looks like a limit threw an exception; a limit the engine met is that limit. */
static void t_error_kinds(void)
{
    static const struct {
        const char *script;
        int kind;
        const char *message;
    } cases[] = {
        {"throw null", PLUGBOX_EXCEPTION, "null"},
        {"throw undefined", PLUGBOX_EXCEPTION, "undefined"},
        {"throw Symbol('s')", PLUGBOX_EXCEPTION, "Symbol(s)"},
        /* a thrown value that is not an Error reads as its JSON; when its own code breaks
           that (toJSON, then toString), a text that needs none of it stands in */
        {"throw { code: 42, why: 'bad' }", PLUGBOX_EXCEPTION, "{\"code\":42,\"why\":\"bad\"}"},
        {"throw Object.create(null)", PLUGBOX_EXCEPTION, "{}"},
        {"throw { toString() { return this.toString() } }", PLUGBOX_EXCEPTION, "{}"},
        {"throw { toJSON() { return this.toJSON() }, toString() { return this.toString() } }",
         PLUGBOX_EXCEPTION, "[object Object]"},
        {"throw { toJSON() { throw 1 }, toString() { throw 1 } }", PLUGBOX_EXCEPTION, "[object Object]"},
        {"throw { toJSON() { throw 1 } }", PLUGBOX_EXCEPTION, "[object Object]"},
        {"Promise.reject(null)", PLUGBOX_EXCEPTION, "null"},
        {"throw new InternalError('interrupted')", PLUGBOX_EXCEPTION, "InternalError: interrupted"},
        {"throw new InternalError('out of memory')", PLUGBOX_EXCEPTION, "InternalError: out of memory"},
        {"throw new InternalError('stack overflow')", PLUGBOX_EXCEPTION, "InternalError: stack overflow"},
        {"try { (function f() { f() })() } catch (e) { throw new Error('mine') }", PLUGBOX_EXCEPTION, "Error: mine"},
        {"(function f() { f() })()", PLUGBOX_STACK, "stack overflow"},
        {"try { (function f() { f() })() } catch (e) { throw e }", PLUGBOX_STACK, "stack overflow"},
        /* BigInts stop at 2^20 bits: the engine's RangeError, as node's, not a limit */
        {"var x = 10n; for (;;) x = x * x", PLUGBOX_EXCEPTION, "RangeError: BigInt is too large"},
        {"/(a|b)*c/.exec('ab'.repeat(2 ** 20))", PLUGBOX_MEMORY, "out of memory"},
        {"var a = []; for (;;) a.push('x'.repeat(1000) + a.length)", PLUGBOX_MEMORY, "out of memory"},
    };
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 32u << 20);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plugbox_sandbox *b = box_of(cases[i].script, o);
        int rc;
        CHECK(call(b, NULL, &rc) == NULL);
        if (rc != cases[i].kind)
            fprintf(stderr, "%s: %s\n", cases[i].script, plugbox_sandbox_error_message(b));
        CHECK_EQ_INT(rc, cases[i].kind);
        CHECK_HAS(plugbox_sandbox_error_message(b), cases[i].message);
        plugbox_sandbox_free(b);
    }
    plugbox_options_free(o);
}

static void t_invalid_input(void)
{
    plugbox_sandbox *b = box_of("data", NULL);
    int rc;
    CHECK(call(b, "{\"a\":1,\n  \"b\":}", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_INPUT);
    CHECK_HAS(plugbox_sandbox_error_message(b), "line 2, column 7");
    CHECK(call(b, "[\"\xff\"]", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_INPUT);
    CHECK_HAS(plugbox_sandbox_error_message(b), "UTF-8");
    CHECK(call(b, "", &rc) == NULL);
    CHECK_EQ_INT(rc, PLUGBOX_INPUT);
    CHECK_STR(call(b, "{\"__proto__\":{\"x\":1},\"a\":1,\"a\":2}", &rc), "{\"__proto__\":{\"x\":1},\"a\":2}");
    plugbox_sandbox_free(b);
}

static void t_deep_data(void)
{
    plugbox_sandbox *b = box_of("var d = 0; for (var v = data; Array.isArray(v); v = v[0]) d++; d", NULL);
    for (size_t depth = 100; depth <= 1000000; depth *= 100) {
        char *s = malloc(2 * depth + 1);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = 0;
        int rc;
        const char *r = call(b, s, &rc);
        if (depth == 100)
            CHECK_STR(r, "100");
        else /* too deep for the engine: a clean input error */
            CHECK(rc == PLUGBOX_OK || (rc == PLUGBOX_INPUT && strstr(plugbox_sandbox_error_message(b), "deep")));
        free(s);
    }
    plugbox_sandbox_free(b);
}

static void t_no_address_space_leak(void)
{
    plugbox_program *p;
    CHECK_EQ_INT(plugbox_program_new(engine, "data + 1", (size_t)-1, NULL, &p), PLUGBOX_OK);
    long before = 0;
    for (int i = 0; i < 200; i++) {
        plugbox_sandbox *b;
        CHECK_EQ_INT(plugbox_sandbox_new(p, NULL, &b), PLUGBOX_OK);
        const char *out;
        size_t n;
        CHECK_EQ_INT(plugbox_sandbox_call(b, "1", 1, &out, &n), PLUGBOX_OK);
        plugbox_sandbox_free(b);
        if (i == 9)
            before = status_kb("VmSize");
    }
    /* 8 GiB of address space a sandbox: 190 more must not have kept theirs */
    CHECK(status_kb("VmSize") < before + (8l << 20));
    plugbox_program_free(p);
}

static void t_status_names(void)
{
    CHECK_STR(plugbox_strerror(PLUGBOX_TIMEOUT), "time limit exceeded");
    CHECK_STR(plugbox_strerror(PLUGBOX_MEMORY), "out of memory");
    CHECK_STR(plugbox_strerror(PLUGBOX_STACK), "stack overflow");
    CHECK_STR(plugbox_err_name(PLUGBOX_TRAP), "TRAP");
    CHECK_STR(plugbox_strerror(12345), "unknown error");
    CHECK_EQ_INT(plugbox_options_set_memory_limit(NULL, 1), PLUGBOX_ARGUMENT);
    plugbox_options *o = plugbox_options_new();
    CHECK_EQ_INT(plugbox_options_set_memory_limit(o, 0), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_set_function(o, ""), PLUGBOX_ARGUMENT);
    plugbox_options_free(o);
    plugbox_options_free(NULL);
    plugbox_sandbox_free(NULL);
    plugbox_program_free(NULL);
}

/* The result encoder's fast path writes what JSON.stringify writes, for computed numbers
 * of every shape (short decimals, 17 digits, exponents, integers beyond 2^53), strings with
 * escapes and lone surrogates, and undefined, functions and symbols inside containers. */
static void t_result_encoding(void)
{
    static const char values[] =
        "var v = [], s = 1;\n"
        "for (var i = 0; i < 3000; i++) {\n"
        "  s = (s * 16807) % 2147483647;\n"
        "  v.push(s / 7, s * 1e-9, -s / 3e5, Math.sqrt(s), s / 1024, 1 / s, s * 1e12, s * 1e-12, s / 1e6,\n"
        "         (s % 1000) / 100, -(s % 100) / 10, s * 4294967296, 0.1 * (s % 10));\n"
        "}\n"
        "var o = {a: v, b: 'q\"\\\\\\n\\t\\u0001\\u2028\\ud800x\\udc00\\ud83d\\ude00\u00e9', c: undefined,\n"
        "         d: function () {}, e: [undefined, Symbol('s'), null, true, false, -0, 1e21, 1e-7, 5e-324],\n"
        "         f: {g: {h: [[], {}]}}, 'k\"ey': 1};\n";
    char src[4096];
    snprintf(src, sizeof src, "%so", values);
    plugbox_sandbox *a = box_of(src, NULL);
    const char *out;
    size_t n;
    CHECK_EQ_INT(plugbox_sandbox_call(a, NULL, 0, &out, &n), PLUGBOX_OK);
    /* hand the text back as a JSON string and compare it with JSON.stringify in the sandbox */
    char *in = malloc(n * 6 + 16), *q = in;
    q += sprintf(q, "{\"text\":\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '"' || c == '\\')
            q += sprintf(q, "\\%c", c);
        else if (c < 0x20)
            q += sprintf(q, "\\u%04x", c);
        else
            *q++ = (char)c;
    }
    strcpy(q, "\"}");
    snprintf(src, sizeof src, "%sJSON.stringify(o) === data.text", values);
    plugbox_sandbox *b = box_of(src, NULL);
    int rc;
    CHECK_STR(call(b, in, &rc), "true");
    CHECK(n > 100000);
    free(in);
    plugbox_sandbox_free(a);
    plugbox_sandbox_free(b);
}

/* JSON.stringify's stack and property list are internal: index properties a script puts on
 * Array.prototype's chain (a read-only index, a setter) neither make it throw nor run, and the
 * result encoder writes the same text. */
static void t_stringify_internal_lists(void)
{
    plugbox_sandbox *b = box_of("Object.setPrototypeOf(Array.prototype, Object('-55'));\n"
                                "var calls = 0;\n"
                                "Object.defineProperty(Object.prototype, '1', { set() { calls++; } });\n"
                                "var v = [null, [[]], {a: [1]}];\n"
                                "[JSON.stringify(v), JSON.stringify(v, ['a']), JSON.stringify(v, null, 1).length,\n"
                                " calls, v]", NULL);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "[\"[null,[[]],{\\\"a\\\":[1]}]\",\"[null,[[]],{\\\"a\\\":[1]}]\",46,0,"
                                  "[null,[[]],{\"a\":[1]}]]");
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    plugbox_sandbox_free(b);
}

/* The decoder keeps the shapes and keys of earlier inputs (models) from call to call: inputs
 * of other forms at the same places decode exactly (order, duplicates, escapes, index keys,
 * more keys than a model holds, another type), and a script changing a decoded object (a
 * new key, a deleted one, frozen) does not change the next input's objects. In a stateful
 * sandbox and in fresh ones whose snapshot holds models from the configuration. */
static void check_models(plugbox_sandbox *b)
{
    static char big[2][1400], big_want[2][1400];
    for (int v = 0; v < 2; v++) {
        size_t n = 0, w = 0;
        n += (size_t)snprintf(big[v] + n, sizeof big[v] - n, "{\"a\":{");
        w += (size_t)snprintf(big_want[v] + w, sizeof big_want[v] - w, "{\"a\":{");
        for (int i = 0; i < 70; i++) {
            n += (size_t)snprintf(big[v] + n, sizeof big[v] - n, "%s\"k%d\":%d", i ? "," : "", i, i * (v + 1));
            w += (size_t)snprintf(big_want[v] + w, sizeof big_want[v] - w, "%s\"k%d\":%d", i ? "," : "", i,
                                  i * (v + 1));
        }
        snprintf(big[v] + n, sizeof big[v] - n, "}}");
        snprintf(big_want[v] + w, sizeof big_want[v] - w, "}}");
    }
    const struct {
        const char *in, *want;
    } seq[] = {
        {"{\"a\":{\"x\":1,\"y\":2},\"b\":[{\"k\":1,\"l\":2},{\"k\":3,\"l\":4}]}",
         "{\"a\":{\"x\":1,\"y\":2},\"b\":[{\"k\":1,\"l\":2},{\"k\":3,\"l\":4}]}"},
        {"{\"a\":{\"x\":1,\"y\":2},\"b\":[{\"k\":1,\"l\":2},{\"k\":3,\"l\":4}]}",
         "{\"a\":{\"x\":1,\"y\":2},\"b\":[{\"k\":1,\"l\":2},{\"k\":3,\"l\":4}]}"},
        {"{\"a\":{\"y\":2,\"x\":1},\"b\":[{\"k\":1},{\"k\":1,\"l\":2,\"m\":3},{\"l\":0,\"k\":9}]}",
         "{\"a\":{\"y\":2,\"x\":1},\"b\":[{\"k\":1},{\"k\":1,\"l\":2,\"m\":3},{\"l\":0,\"k\":9}]}"},
        {"{\"a\":{\"x\":1,\"x\":5,\"y\":2}}", "{\"a\":{\"x\":5,\"y\":2}}"},
        {"{\"a\":{\"\\u0078\":1,\"y\":2}}", "{\"a\":{\"x\":1,\"y\":2}}"},
        {"{\"a\":{\"x\":1,\"y\\n\":2}}", "{\"a\":{\"x\":1,\"y\\n\":2}}"},
        {"{\"a\":{\"__proto__\":1,\"y\":2}}", "{\"a\":{\"__proto__\":1,\"y\":2}}"},
        {"{\"a\":{\"x\":2,\"1\":1}}", "{\"a\":{\"1\":1,\"x\":2}}"},
        {"{\"a\":{\"x\":1,\"y\":2}}", "{\"a\":{\"x\":1,\"y\":2}}"},
        {"{\"a\":[{\"x\":1,\"y\":2}]}", "{\"a\":[{\"x\":1,\"y\":2}]}"},
        {"{\"a\":\"x\"}", "{\"a\":\"x\"}"},
        {big[0], big_want[0]},
        {big[1], big_want[1]},
        {"{\"a\":{\"x\":1,\"y\":2}}", "{\"a\":{\"x\":1,\"y\":2}}"},
        {"[{\"x\":1,\"y\":2},{\"x\":3,\"y\":4,\"z\":5},{\"x\":6}]", "[{\"x\":1,\"y\":2},{\"x\":3,\"y\":4,\"z\":5},{\"x\":6}]"},
        {"[{\"x\":1,\"y\":2},{\"x\":3,\"y\":4,\"z\":5},{\"x\":6}]", "[{\"x\":1,\"y\":2},{\"x\":3,\"y\":4,\"z\":5},{\"x\":6}]"},
    };
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
            const char *out;
            size_t n;
            int rc = plugbox_sandbox_call(b, seq[i].in, strlen(seq[i].in), &out, &n);
            CHECK_EQ_INT(rc, PLUGBOX_OK);
            if (rc != PLUGBOX_OK || !out || n != strlen(seq[i].want) || memcmp(out, seq[i].want, n) != 0) {
                failures++;
                fprintf(stderr, "input %zu (round %d): got %.*s\n", i, round, out ? (int)n : 4, out ? out : "none");
            }
        }
    }
}

static const char models_script[] =
    "function f(d) {\n"
    "  var copy = JSON.parse(JSON.stringify(d));\n"
    "  if (d && typeof d.a === 'object' && d.a) { d.a.z = 1; delete d.a.x; Object.freeze(d.a); }\n"
    "  if (Array.isArray(d)) d.forEach(function (o) { o.w = 0; delete o.y; });\n"
    "  return copy;\n"
    "}";

static void t_models_kept(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "f");
    plugbox_options_set_stateful(o, 1);
    plugbox_sandbox *b = box_of(models_script, o);
    check_models(b);
    plugbox_sandbox_free(b);
    /* fresh calls, from a snapshot whose decoder learned the configuration's forms */
    plugbox_options_set_stateful(o, 0);
    const char *config = "{\"a\":{\"x\":0,\"y\":0},\"b\":[{\"k\":0,\"l\":0}],\"c\":[{\"x\":0,\"y\":0}]}";
    plugbox_options_set_config(o, config, strlen(config));
    b = box_of(models_script, o);
    check_models(b);
    plugbox_sandbox_free(b);
    /* the same forms from a sample input */
    plugbox_options_set_config(o, NULL, 0);
    CHECK_EQ_INT(plugbox_options_set_sample(o, config, strlen(config)), PLUGBOX_OK);
    b = box_of(models_script, o);
    check_models(b);
    plugbox_sandbox_free(b);
    /* a sample that is not JSON: the program's input error, with line and column */
    CHECK_EQ_INT(plugbox_options_set_sample(o, "{\"a\":\n [1,}", 12), PLUGBOX_OK);
    plugbox_program *p = NULL;
    CHECK_EQ_INT(plugbox_program_new(engine, models_script, (size_t)-1, o, &p), PLUGBOX_INPUT);
    CHECK_HAS(p ? plugbox_program_error_message(p) : "", "sample is not valid JSON");
    CHECK_HAS(p ? plugbox_program_error_message(p) : "", "line 2, column 5");
    plugbox_program_free(p);
    CHECK_EQ_INT(plugbox_options_set_sample(NULL, "1", 1), PLUGBOX_ARGUMENT);
    plugbox_options_free(o);
}

/* A program learns an input's form after it was made (plugbox_program_learn): its snapshot
 * changes, the results of every form do not (check_models, in fresh sandboxes), the program
 * it came from is untouched, learning is deterministic, and bad text, a failed program and
 * a memory limit too small are errors the caller gets. */
static void t_program_learn(void)
{
    const char *form = "{\"a\":{\"x\":0,\"y\":0},\"b\":[{\"k\":0,\"l\":0}],\"c\":[{\"x\":0,\"y\":0}]}";
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "f");
    plugbox_program *p = NULL, *q = NULL, *q2 = NULL;
    CHECK_EQ_INT(plugbox_program_new(engine, models_script, (size_t)-1, o, &p), PLUGBOX_OK);
    plugbox_sandbox *before = NULL;
    CHECK_EQ_INT(plugbox_sandbox_new(p, o, &before), PLUGBOX_OK);
    int rc;
    CHECK_STR(call(before, form, &rc), form);

    CHECK_EQ_INT(plugbox_program_learn(p, form, strlen(form), o, &q), PLUGBOX_OK);
    CHECK(q && !pb__program_images_equal(p, q)); /* the decoder's models and keys are in it */
    CHECK_EQ_INT(plugbox_program_learn(p, form, strlen(form), NULL, &q2), PLUGBOX_OK);
    CHECK(pb__program_images_equal(q, q2));
    plugbox_program_free(q2);
    q2 = NULL;
    plugbox_sandbox *b = NULL;
    CHECK_EQ_INT(plugbox_sandbox_new(q, o, &b), PLUGBOX_OK);
    if (b) {
        check_models(b);
        CHECK(pb__sandbox_pristine(b));
        plugbox_sandbox_free(b);
    }
    /* learned again from a learned program, and an eval-style script */
    CHECK_EQ_INT(plugbox_program_learn(q, "[1,{\"z\":true}]", 14, o, &q2), PLUGBOX_OK);
    b = NULL;
    CHECK_EQ_INT(plugbox_sandbox_new(q2, o, &b), PLUGBOX_OK);
    if (b) {
        check_models(b);
        plugbox_sandbox_free(b);
    }
    plugbox_program_free(q2);
    plugbox_program *e = NULL, *el = NULL;
    CHECK_EQ_INT(plugbox_program_new(engine, "[Object.keys(data.a), data.a.y, typeof form]", (size_t)-1, NULL, &e),
                 PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_program_learn(e, form, strlen(form), NULL, &el), PLUGBOX_OK);
    b = NULL;
    CHECK_EQ_INT(plugbox_sandbox_new(el, NULL, &b), PLUGBOX_OK);
    if (b) {
        CHECK_STR(call(b, "{\"a\":{\"y\":2,\"x\":1}}", &rc), "[[\"y\",\"x\"],2,\"undefined\"]");
        CHECK_STR(call(b, "{\"a\":{\"x\":1,\"y\":2,\"w\":3}}", &rc), "[[\"x\",\"y\",\"w\"],2,\"undefined\"]");
        plugbox_sandbox_free(b);
    }
    plugbox_program_free(el);
    plugbox_program_free(e);

    /* the program learned from is as it was, and so are its sandboxes */
    CHECK_STR(call(before, form, &rc), form);
    CHECK(pb__sandbox_pristine(before));
    plugbox_sandbox_free(before);

    /* text that is not JSON: the input error, with line and column, on a failed program */
    q2 = NULL;
    CHECK_EQ_INT(plugbox_program_learn(p, "{\"a\":\n [1,}", 12, o, &q2), PLUGBOX_INPUT);
    CHECK_HAS(q2 ? plugbox_program_error_message(q2) : "", "input is not valid JSON");
    CHECK_HAS(q2 ? plugbox_program_error_message(q2) : "", "line 2, column 5");
    b = NULL;
    CHECK_EQ_INT(plugbox_sandbox_new(q2, o, &b), PLUGBOX_ARGUMENT);
    plugbox_program *r = NULL;
    CHECK_EQ_INT(plugbox_program_learn(q2, form, strlen(form), o, &r), PLUGBOX_ARGUMENT); /* a failed one */
    CHECK(r == NULL);
    plugbox_program_free(q2);

    /* decoding counts against the memory limit: a large input in a small one */
    size_t big_n = 4u << 20, at = 0;
    char *big = malloc(big_n + 64);
    if (big) {
        at += (size_t)sprintf(big, "[");
        while (at < big_n)
            at += (size_t)sprintf(big + at, "{\"v%zu\":[%zu]},", at, at);
        sprintf(big + at, "{}]");
        plugbox_options *small = plugbox_options_new();
        plugbox_options_set_memory_limit(small, plugbox_program_footprint(p) + (1u << 20));
        q2 = NULL;
        CHECK_EQ_INT(plugbox_program_learn(p, big, strlen(big), small, &q2), PLUGBOX_MEMORY);
        CHECK_HAS(q2 ? plugbox_program_error_message(q2) : "", "out of memory");
        plugbox_program_free(q2);
        plugbox_options_free(small);
        free(big);
    }

    /* arguments */
    r = NULL;
    CHECK_EQ_INT(plugbox_program_learn(NULL, form, strlen(form), o, &r), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_program_learn(p, NULL, 0, o, &r), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_program_learn(p, form, strlen(form), o, NULL), PLUGBOX_ARGUMENT);
    CHECK(r == NULL);
    plugbox_program_free(q);
    plugbox_program_free(p);
    plugbox_options_free(o);
}

/* Bytes beside the input: read, written back only with the flag and only after success,
 * detached when the call ends, bounded by the memory limit. */
static void t_bytes(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "f");
    plugbox_options_set_stateful(o, 1);
    plugbox_options_set_memory_limit(o, 8u << 20);
    plugbox_sandbox *b = box_of("var kept;\n"
                                "function f(d, bytes) {\n"
                                "  if (d === 'kept') return kept.length;\n"
                                "  kept = bytes;\n"
                                "  var sum = 0;\n"
                                "  for (var i = 0; i < bytes.length; i++) { sum += bytes[i]; bytes[i] = 255 - bytes[i]; }\n"
                                "  if (d === 'throw') throw new Error('after writing');\n"
                                "  return { n: bytes.length, sum: sum, type: Object.prototype.toString.call(bytes) };\n"
                                "}", o);
    unsigned char buf[1000], copy[sizeof buf];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7);
    memcpy(copy, buf, sizeof buf);
    long sum = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        sum += buf[i];
    char want[128];
    snprintf(want, sizeof want, "{\"n\":1000,\"sum\":%ld,\"type\":\"[object Uint8Array]\"}", sum);
    const char *out;
    size_t n;
    /* read: the script's changes stay inside */
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "1", 1, buf, sizeof buf, PLUGBOX_BYTES_READ, &out, &n), PLUGBOX_OK);
    CHECK(out && !strcmp(out, want));
    CHECK(!memcmp(buf, copy, sizeof buf));
    /* the array kept from the last call is detached: empty */
    CHECK_EQ_INT(plugbox_sandbox_call(b, "\"kept\"", 6, &out, &n), PLUGBOX_OK);
    CHECK(out && !strcmp(out, "0"));
    /* write: the changes come back */
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "1", 1, buf, sizeof buf, PLUGBOX_BYTES_WRITE, &out, &n), PLUGBOX_OK);
    int inverted = 1;
    for (size_t i = 0; i < sizeof buf; i++)
        inverted &= buf[i] == (unsigned char)(255 - copy[i]);
    CHECK(inverted);
    /* an error after writing: nothing comes back */
    memcpy(buf, copy, sizeof buf);
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "\"throw\"", 7, buf, sizeof buf, PLUGBOX_BYTES_WRITE, &out, &n),
                 PLUGBOX_EXCEPTION);
    CHECK(!memcmp(buf, copy, sizeof buf));
    /* empty, and bad arguments */
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "1", 1, NULL, 0, PLUGBOX_BYTES_WRITE, &out, &n), PLUGBOX_OK);
    CHECK(out && strstr(out, "\"n\":0,\"sum\":0"));
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "1", 1, NULL, 5, 0, &out, &n), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "1", 1, buf, 5, 8, &out, &n), PLUGBOX_ARGUMENT);
    /* more bytes than the sandbox may hold: a memory error, and the sandbox goes on */
    size_t big_len = 16u << 20;
    unsigned char *big = calloc(1, big_len);
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "1", 1, big, big_len, 0, &out, &n), PLUGBOX_MEMORY);
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "1", 1, big, (8u << 20) - 16, 0, &out, &n), PLUGBOX_MEMORY);
    CHECK_HAS(plugbox_sandbox_error_message(b), "out of memory");
    free(big);
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "1", 1, buf, sizeof buf, 0, &out, &n), PLUGBOX_OK);
    plugbox_sandbox_free(b);

    /* eval style: the global `bytes`; a fresh sandbox */
    plugbox_options_set_function(o, NULL);
    plugbox_options_set_stateful(o, 0);
    b = box_of("bytes[0] = data; bytes.length", o);
    unsigned char two[2] = {1, 2};
    CHECK_EQ_INT(plugbox_sandbox_call_bytes(b, "42", 2, two, 2, PLUGBOX_BYTES_WRITE, &out, &n), PLUGBOX_OK);
    CHECK(out && !strcmp(out, "2") && two[0] == 42 && two[1] == 2);
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* ES modules through the API: refused without a module directory; with one, read when the
 * program is made, and never again. */
static void t_modules(void)
{
    char dir[] = "/tmp/plugbox-modules.XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/geo.js", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("export const twice = (x) => 2 * x\n", f);
    fclose(f);
    const char *main_src = "import { twice } from './geo.js'\nexport function f(d) { return twice(d) }\n";

    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "f");
    plugbox_program *p = NULL;
    CHECK_EQ_INT(plugbox_program_new(engine, main_src, (size_t)-1, o, &p), PLUGBOX_EXCEPTION);
    CHECK_HAS(plugbox_program_error_message(p), "modules are read only when the program is created");
    plugbox_program_free(p);
    CHECK_EQ_INT(plugbox_options_set_module_dir(o, ""), PLUGBOX_ARGUMENT);

    CHECK_EQ_INT(plugbox_options_set_module_dir(o, dir), PLUGBOX_OK);
    plugbox_sandbox *b = box_of(main_src, o);
    int rc;
    CHECK_STR(call(b, "21", &rc), "42");
    /* the file changes and goes: the program holds what it read */
    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("export const twice = (x) => 3 * x\n", f);
    fclose(f);
    CHECK_STR(call(b, "21", &rc), "42");
    CHECK(unlink(path) == 0 && rmdir(dir) == 0);
    CHECK_STR(call(b, "1", &rc), "2");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* TypeScript through the API: by the filename's suffix or by the option; types removed, enums
 * made; a syntax error and a runtime error placed at the TypeScript's own line and column; the
 * same source without either is JavaScript, where the types do not parse. */
static void t_typescript(void)
{
    const char *src = "enum Tone { Low = 1, High = 5 }\n"
                      "interface In { n: number }\n"
                      "function pick<const T extends readonly number[]>(xs: T): T[0] { return xs[0] }\n"
                      "function score(d: In): number {\n"
                      "    const conf = { k: 2 } satisfies Record<string, number>;\n"
                      "    if (d.n < 0) { const o: { a?: { b: number } } = {}; return (o as any).a!.b as number; }\n"
                      "    return d.n * conf.k + Tone.High + pick([10, 20] as const);\n"
                      "}\n";
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_function(o, "score");
    plugbox_program *p = NULL;
    /* as JavaScript (the default name, no option): the types do not parse */
    CHECK_EQ_INT(plugbox_program_new(engine, src, (size_t)-1, o, &p), PLUGBOX_SYNTAX);
    plugbox_program_free(p);
    CHECK_EQ_INT(plugbox_options_set_typescript(NULL, 1), PLUGBOX_ARGUMENT);
    for (int by_name = 0; by_name < 2; by_name++) {
        if (by_name) {
            CHECK_EQ_INT(plugbox_options_set_typescript(o, 0), PLUGBOX_OK);
            CHECK_EQ_INT(plugbox_options_set_filename(o, "rules/score.ts"), PLUGBOX_OK);
        } else {
            CHECK_EQ_INT(plugbox_options_set_typescript(o, 1), PLUGBOX_OK);
            CHECK_EQ_INT(plugbox_options_set_filename(o, "score.rule"), PLUGBOX_OK);
        }
        plugbox_sandbox *b = box_of(src, o);
        int rc;
        CHECK_STR(call(b, "{\"n\":3}", &rc), "21");
        CHECK_EQ_INT(rc, PLUGBOX_OK);
        call(b, "{\"n\":-1}", &rc);
        CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
        CHECK_HAS(plugbox_sandbox_error_message(b), "Cannot read properties of undefined (reading 'b')");
        /* line 6, column 77: the '.' before b in the TypeScript (column 47 in the JavaScript) */
        CHECK_HAS(plugbox_sandbox_error_stack(b), by_name ? "at score (rules/score.ts:6:77)" : "at score (score.rule:6:77)");
        plugbox_sandbox_free(b);
    }
    /* a syntax error: the TypeScript's line and column */
    CHECK_EQ_INT(plugbox_program_new(engine, "let a: number = 1;\nlet b: = 2;\n", (size_t)-1, o, &p), PLUGBOX_SYNTAX);
    CHECK_HAS(plugbox_program_error_message(p), "SyntaxError");
    CHECK_HAS(plugbox_program_error_stack(p), "rules/score.ts:2:8");
    plugbox_program_free(p);
    plugbox_options_free(o);
}

/* Whether this system makes memory files (memfd_create). */
static int memory_files(void)
{
    int fd = memfd_create("plugbox-probe", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* Sandboxes of one program share its snapshot's pages (a memory file each maps privately):
 * what one writes, in JavaScript or below it, no other sees, nor any later fresh call of its
 * own, and a trap brings it back. The same calls run again with private copies of the image,
 * the way a system without memory files runs them. */
static void t_images_shared(void)
{
    static const char src[] = "var seen = [typeof globalThis.leak, globalThis.n || 0, typeof {}.evil];\n"
                              "globalThis.leak = 1; globalThis.n = (globalThis.n || 0) + data.add;\n"
                              "Object.prototype.evil = 1;\n"
                              "new Uint8Array(data.bytes).fill(9);\n" /* 8 MB grows the memory */
                              "JSON.stringify(seen)";
    static const char *const fresh_seen = "\"[\\\"undefined\\\",0,\\\"undefined\\\"]\"";
    for (int shared = 1; shared >= 0; shared--) {
        pb__images_shared(shared);
        plugbox_options *o = plugbox_options_new();
        plugbox_options_set_stateful(o, 1);
        plugbox_program *p;
        CHECK_EQ_INT(plugbox_program_new(engine, src, sizeof src - 1, NULL, &p), PLUGBOX_OK);
        /* shared where the system makes memory files (a seccomp filter may refuse them) */
        CHECK_EQ_INT(pb__program_image_shared(p), shared && memory_files());
        plugbox_sandbox *a, *b, *c;
        CHECK_EQ_INT(plugbox_sandbox_new(p, o, &a), PLUGBOX_OK);
        CHECK_EQ_INT(plugbox_sandbox_new(p, NULL, &b), PLUGBOX_OK);
        int rc;
        CHECK_STR(call(a, "{\"add\":1,\"bytes\":10}", &rc), fresh_seen);
        CHECK_STR(call(a, "{\"add\":2,\"bytes\":8000000}", &rc), "\"[\\\"number\\\",1,\\\"number\\\"]\"");
        for (int i = 0; i < 2; i++) {
            CHECK_STR(call(b, "{\"add\":5,\"bytes\":8000000}", &rc), fresh_seen);
            CHECK(pb__sandbox_pristine(b));
        }
        CHECK_EQ_INT(pb__sandbox_call_raw(b, 0xfffffff0u, 64), PLUGBOX_TRAP);
        CHECK_STR(call(b, "{\"add\":5,\"bytes\":10}", &rc), fresh_seen);
        CHECK(pb__sandbox_pristine(b));
        CHECK_EQ_INT(plugbox_sandbox_new(p, NULL, &c), PLUGBOX_OK); /* made after a wrote */
        CHECK(pb__sandbox_pristine(c));
        CHECK_STR(call(c, "{\"add\":1,\"bytes\":10}", &rc), fresh_seen);
        CHECK_STR(call(a, "{\"add\":1,\"bytes\":10}", &rc), "\"[\\\"number\\\",3,\\\"number\\\"]\"");
        /* a trap takes a stateful sandbox back to the snapshot */
        CHECK_EQ_INT(pb__sandbox_call_raw(a, 0xfffffff0u, 64), PLUGBOX_TRAP);
        CHECK_STR(call(a, "{\"add\":1,\"bytes\":10}", &rc), fresh_seen);
        plugbox_sandbox_free(a);
        plugbox_sandbox_free(b);
        plugbox_sandbox_free(c);
        plugbox_program_free(p);
        plugbox_options_free(o);
    }
    pb__images_shared(1);
}

static const test_case cases[] = {
    {"typescript", t_typescript},
    {"live_limits", t_live_limits},
    {"call_function", t_call_function},
    {"modules", t_modules},
    {"eval_string", t_eval_string},
    {"bytes", t_bytes},
    {"data_input", t_data_input},
    {"undefined_result", t_undefined_result},
    {"exception", t_exception},
    {"syntax_error", t_syntax_error},
    {"function_style", t_function_style},
    {"async_result", t_async_result},
    {"memory_small_ok", t_memory_small_ok},
    {"memory_exceeded", t_memory_exceeded},
    {"cycles_collected", t_cycles_collected},
    {"time_limit", t_time_limit},
    {"time_limit_native", t_time_limit_native},
    {"stack_overflow", t_stack_overflow},
    {"fresh_state", t_fresh_state},
    {"stateful", t_stateful},
    {"trap_recovery", t_trap_recovery},
    {"random_differs", t_random_differs},
    {"console", t_console},
    {"interrupt", t_interrupt},
    {"error_kinds", t_error_kinds},
    {"invalid_input", t_invalid_input},
    {"deep_data", t_deep_data},
    {"no_address_space_leak", t_no_address_space_leak},
    {"status_names", t_status_names},
    {"result_encoding", t_result_encoding},
    {"stringify_internal_lists", t_stringify_internal_lists},
    {"models_kept", t_models_kept},
    {"images_shared", t_images_shared},
    {"program_learn", t_program_learn},
};

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list"))
        return run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
    if (plugbox_engine_new(&engine) != PLUGBOX_OK) {
        fprintf(stderr, "cannot create the engine\n");
        return 1;
    }
    int rc = run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
    plugbox_engine_free(engine);
    return rc;
}
