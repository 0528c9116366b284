/* SPDX-License-Identifier: MIT */
/* test_grant.c - what the host grants a script: host functions and configuration, one case per
 * process (test_grant --list names them). */
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
    int rc = plugbox_program_new(engine, src, (size_t)-1, o, &p);
    if (rc != PLUGBOX_OK) {
        fprintf(stderr, "program failed: %s\n", p ? plugbox_program_error_message(p) : plugbox_strerror(rc));
        exit(1);
    }
    return p;
}

static plugbox_sandbox *box_of(const char *src, plugbox_options *o)
{
    plugbox_program *p = program_of(src, o);
    plugbox_sandbox *b;
    int rc = plugbox_sandbox_new(p, o, &b);
    plugbox_program_free(p);
    if (rc != PLUGBOX_OK) {
        fprintf(stderr, "sandbox failed: %s\n", plugbox_strerror(rc));
        exit(1);
    }
    return b;
}

/* Calls and returns the result text (a static copy), or the error message after an error. */
static const char *call(plugbox_sandbox *b, const char *json, int *rc)
{
    static char buf[8192];
    const char *out;
    size_t n;
    *rc = plugbox_sandbox_call(b, json, json ? strlen(json) : 0, &out, &n);
    if (*rc != PLUGBOX_OK)
        snprintf(buf, sizeof buf, "%s", plugbox_sandbox_error_message(b));
    else
        snprintf(buf, sizeof buf, "%.*s", out ? (int)n : 9, out ? out : "undefined");
    return buf;
}

/* ---- host functions ----------------------------------------------------------------------- */

static void echo(plugbox_host_call *c, void *user, const char *args, size_t len)
{
    (void)user;
    CHECK_EQ_INT(strlen(args), len); /* NUL-terminated */
    plugbox_host_return(c, args, len);
}

static void fixed(plugbox_host_call *c, void *user, const char *args, size_t len)
{
    (void)args;
    (void)len;
    plugbox_host_return(c, user, user ? strlen(user) : 0);
}

static void fail(plugbox_host_call *c, void *user, const char *args, size_t len)
{
    (void)args;
    (void)len;
    plugbox_host_throw(c, user);
}

static void nothing(plugbox_host_call *c, void *user, const char *args, size_t len)
{
    (void)c;
    (void)user;
    (void)args;
    (void)len;
}

/* Every JSON type both ways; arguments as JSON.stringify writes them */
static void t_values(void)
{
    plugbox_options *o = plugbox_options_new();
    CHECK_EQ_INT(plugbox_options_add_function(o, "echo", echo, NULL), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_add_function(o, "nothing", nothing, NULL), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_add_function(o, "number", fixed, "-1.5e300"), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_add_function(o, "text", fixed, " \"caf\\u00e9 \xe2\x82\xac\" "), PLUGBOX_OK);
    plugbox_sandbox *b = box_of(
        "[host.echo(), host.echo(1, 'a', null, true, false, [1, [2]], {k: {v: -0.5}}),"
        " host.echo(undefined, () => 1, NaN), host.nothing(), host.number(), host.text(),"
        " typeof host.echo, Object.isFrozen(host), Object.keys(host), host.echo.name]",
        o);
    int rc;
    CHECK_STR(call(b, NULL, &rc),
              "[[],[1,\"a\",null,true,false,[1,[2]],{\"k\":{\"v\":-0.5}}],[null,null,null],null,-1.5e+300,"
              "\"caf\xc3\xa9 \xe2\x82\xac\",\"function\",true,[\"echo\",\"nothing\",\"number\",\"text\"],\"echo\"]");
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    /* the script cannot replace or add a function, even sloppily */
    plugbox_sandbox_free(b);
    b = box_of("host.echo = () => 'mine'; host.other = 1; delete host.echo;"
               "[host.echo(7), 'other' in host, Object.getPrototypeOf(host)]", o);
    CHECK_STR(call(b, NULL, &rc), "[[7],false,null]");
    plugbox_sandbox_free(b);
    b = box_of("'use strict'; host.echo = 1", o);
    CHECK_HAS(call(b, NULL, &rc), "read-only");
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    plugbox_sandbox_free(b);
    /* a BigInt argument is JSON.stringify's own error, caught by the script */
    b = box_of("try { host.echo(1n) } catch (e) { e.name + ': ' + e.message }", o);
    CHECK_HAS(call(b, NULL, &rc), "TypeError");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Errors both ways: the host throws, the host returns what is not JSON */
static void t_errors(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_add_function(o, "fail", fail, "no such camera: 7");
    plugbox_options_add_function(o, "failNull", fail, NULL);
    plugbox_options_add_function(o, "bad", fixed, "{\"a\":");
    plugbox_options_add_function(o, "badUtf8", fixed, "\"\xff\"");
    plugbox_options_add_function(o, "two", fixed, "1 2");
    plugbox_sandbox *b = box_of(
        "const r = [];"
        "for (const f of ['fail', 'failNull', 'bad', 'badUtf8', 'two'])"
        "  try { host[f](); r.push('no error') } catch (e) { r.push(e.constructor.name + ': ' + e.message) }"
        "r",
        o);
    int rc;
    const char *out = call(b, NULL, &rc);
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    CHECK_HAS(out, "\"Error: no such camera: 7\"");
    CHECK_HAS(out, "\"Error: host function failed\"");
    CHECK_HAS(out, "\"SyntaxError: host.bad returned text that is not JSON (at byte 5)\"");
    CHECK_HAS(out, "\"SyntaxError: host.badUtf8 returned text that is not JSON");
    CHECK_HAS(out, "\"SyntaxError: host.two returned text that is not JSON (at byte 2)\"");
    plugbox_sandbox_free(b);
    /* the Error of before any script ran, whatever the script made of the global */
    b = box_of("const E = Error; globalThis.Error = function () { return { fake: true } };"
               "try { host.fail() } catch (e) { [e instanceof E, e.message] }", o);
    CHECK_STR(call(b, NULL, &rc), "[true,\"no such camera: 7\"]");
    plugbox_sandbox_free(b);
    /* uncaught, it ends the call as any exception does, with the script's stack */
    b = box_of("function f() { return host.fail() }\nf()", o);
    CHECK_STR(call(b, NULL, &rc), "Error: no such camera: 7");
    CHECK_EQ_INT(rc, PLUGBOX_EXCEPTION);
    CHECK_HAS(plugbox_sandbox_error_stack(b), "<script>:1:");
    CHECK_HAS(plugbox_sandbox_error_stack(b), "<script>:2:");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Names: identifiers, unique per options object; none granted, no `host` */
static void t_names(void)
{
    plugbox_options *o = plugbox_options_new();
    const char *bad[] = {"", "1a", "a-b", "a b", "é", "x.y",
                         "a12345678901234567890123456789012345678901234567890123456789012345"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(plugbox_options_add_function(o, bad[i], echo, NULL), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_add_function(o, NULL, echo, NULL), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_add_function(o, "ok", NULL, NULL), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_add_function(NULL, "ok", echo, NULL), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_add_function(o, "$ok_1", echo, NULL), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_add_function(o, "$ok_1", echo, NULL), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_add_function(o, "delete", echo, NULL), PLUGBOX_OK); /* a property name */
    plugbox_sandbox *b = box_of("[host.$ok_1(1), host.delete(2)]", o);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "[[1],[2]]");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
    /* deny by default: nothing granted, no global, and a script may have its own `host` */
    b = box_of("typeof host", NULL);
    CHECK_STR(call(b, NULL, &rc), "\"undefined\"");
    plugbox_sandbox_free(b);
    b = box_of("let host = 1; let config = 2; host + config", NULL);
    CHECK_STR(call(b, NULL, &rc), "3");
    plugbox_sandbox_free(b);
}

/* A program's functions are those of its options when it was made */
static void t_fixed_per_program(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_add_function(o, "a", fixed, "1");
    plugbox_program *p = program_of("Object.keys(host).map(k => k + '=' + host[k]())", o);
    plugbox_options_add_function(o, "b", fixed, "2");
    plugbox_options *other = plugbox_options_new();
    plugbox_options_add_function(other, "c", fixed, "3");
    plugbox_sandbox *b;
    CHECK_EQ_INT(plugbox_sandbox_new(p, other, &b), PLUGBOX_OK);
    plugbox_options_free(o); /* the program keeps its own copy */
    plugbox_options_free(other);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "[\"a=1\"]");
    plugbox_sandbox_free(b);
    plugbox_program_free(p);
}

/* A result larger than the sandbox's memory: an error the script can catch, nothing copied */
static void t_huge_result(void)
{
    size_t n = 12u << 20;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "[1]", 3);
    big[n] = 0;
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 8u << 20);
    plugbox_options_add_function(o, "big", fixed, big);
    plugbox_sandbox *b = box_of("try { host.big() } catch (e) { e.name + ': ' + e.message }", o);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "\"RangeError: host.big returned 12582912 bytes, more than the sandbox's memory can hold\"");
    /* one that fits the limit but not the memory left: out of memory, also catchable */
    plugbox_options_free(o);
    plugbox_sandbox_free(b);
    big[6u << 20] = 0;
    o = plugbox_options_new();
    plugbox_options_set_memory_limit(o, 8u << 20);
    plugbox_options_add_function(o, "big", fixed, big);
    b = box_of("if (data === 1) 'fine'; else {"
               "  var keep = []; try { for (;;) keep.push(host.big()) } catch (e) { 'caught ' + e.message } }", o);
    const char *out = call(b, NULL, &rc);
    CHECK(rc == PLUGBOX_OK || rc == PLUGBOX_MEMORY); /* caught, or the limit reached outside the try */
    if (rc == PLUGBOX_OK)
        CHECK_HAS(out, "caught");
    CHECK_STR(call(b, "1", &rc), "\"fine\""); /* the sandbox starts afresh */
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
    free(big);
}

/* Calling into the sandbox from its own host function is refused; another sandbox works */
static plugbox_sandbox *self_box, *other_box;
static int inner_rc = 99, other_rc = 99;
static char other_out[64];

static void reenter(plugbox_host_call *c, void *user, const char *args, size_t len)
{
    (void)user;
    (void)args;
    (void)len;
    const char *out;
    size_t n;
    inner_rc = plugbox_sandbox_call(self_box, "1", 1, &out, &n);
    other_rc = plugbox_sandbox_call(other_box, "20", 2, &out, &n);
    if (other_rc == PLUGBOX_OK)
        snprintf(other_out, sizeof other_out, "%.*s", (int)n, out);
    plugbox_host_return(c, other_out, strlen(other_out));
}

static void t_reentry(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_add_function(o, "reenter", reenter, NULL);
    self_box = box_of("host.reenter() + 1", o);
    other_box = box_of("data * 2", NULL);
    int rc;
    CHECK_STR(call(self_box, "0", &rc), "41");
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    CHECK_EQ_INT(inner_rc, PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(other_rc, PLUGBOX_OK);
    CHECK_STR(call(self_box, "0", &rc), "41"); /* and again */
    plugbox_sandbox_free(self_box);
    plugbox_sandbox_free(other_box);
    plugbox_options_free(o);
}

/* The time limit keeps running in a host function, which is not stopped: the call ends with
 * TIMEOUT as soon as it returns, and the script runs no further */
static int slow_returned;

static void slow(plugbox_host_call *c, void *user, const char *args, size_t len)
{
    (void)user;
    (void)args;
    (void)len;
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    slow_returned = 1;
    plugbox_host_return(c, "1", 1);
}

static int console_lines;
static void count_console(void *user, plugbox_console_level level, const char *text, size_t len)
{
    (void)user;
    (void)level;
    (void)text;
    (void)len;
    console_lines++;
}

static void t_time_limit(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_add_function(o, "slow", slow, NULL);
    plugbox_options_set_time_limit(o, 50);
    plugbox_options_set_console(o, count_console, NULL);
    plugbox_sandbox *b = box_of("host.slow(); console.log('after'); 2", o);
    int rc;
    CHECK_HAS(call(b, NULL, &rc), "time limit exceeded");
    CHECK_EQ_INT(rc, PLUGBOX_TIMEOUT);
    CHECK_EQ_INT(slow_returned, 1);
    CHECK_EQ_INT(console_lines, 0);
    /* the sandbox is fine afterwards (a call that returns in time) */
    plugbox_sandbox_free(b);
    plugbox_options_set_time_limit(o, 60000);
    b = box_of("host.slow() + 1", o);
    CHECK_STR(call(b, NULL, &rc), "2");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Host functions at the top level of a function-style program, which runs when it is made */
static void t_top_level(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_add_function(o, "labels", fixed, "[\"person\",\"car\"]");
    plugbox_options_set_function(o, "f");
    plugbox_sandbox *b = box_of("const labels = host.labels(); function f(i) { return labels[i] }", o);
    int rc;
    CHECK_STR(call(b, "1", &rc), "\"car\"");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* Two threads calling host functions on sandboxes of one program at once */
static void add_one(plugbox_host_call *c, void *user, const char *args, size_t len)
{
    (void)user;
    (void)len;
    long v = strtol(args + 1, NULL, 10);
    char out[32];
    plugbox_host_return(c, out, (size_t)snprintf(out, sizeof out, "%ld", v + 1));
}

struct worker {
    plugbox_program *p;
    int ok;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    plugbox_sandbox *b;
    if (plugbox_sandbox_new(w->p, NULL, &b) != PLUGBOX_OK)
        return NULL;
    for (int i = 0; i < 200; i++) {
        char in[32], want[32];
        snprintf(in, sizeof in, "%d", i);
        snprintf(want, sizeof want, "%d", i + 100);
        const char *out;
        size_t n;
        if (plugbox_sandbox_call(b, in, strlen(in), &out, &n) == PLUGBOX_OK && n == strlen(want) &&
            !memcmp(out, want, n))
            w->ok++;
    }
    plugbox_sandbox_free(b);
    return NULL;
}

static void t_threads(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_add_function(o, "addOne", add_one, NULL);
    plugbox_program *p = program_of("let v = data; for (let i = 0; i < 100; i++) v = host.addOne(v); v", o);
    struct worker w[2] = {{p, 0}, {p, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, work, &w[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(w[0].ok, 200);
    CHECK_EQ_INT(w[1].ok, 200);
    plugbox_program_free(p);
    plugbox_options_free(o);
}

/* ---- configuration ------------------------------------------------------------------------ */

static void t_config(void)
{
    plugbox_options *o = plugbox_options_new();
    CHECK_EQ_INT(plugbox_options_set_config(o, "{\"zone\": [[0, 0], [1, 1]], \"label\": \"door\", \"t\": 0.5}", (size_t)-1),
                 PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_set_config_value(o, "t", "0.75", 4), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_set_config_value(o, "extra", "{\"a\":[1]}", (size_t)-1), PLUGBOX_OK);
    CHECK_EQ_INT(plugbox_options_set_config_value(o, "t", "0.8", 3), PLUGBOX_OK); /* the last wins */
    CHECK_EQ_INT(plugbox_options_set_config_value(o, "bad", "door", 4), PLUGBOX_INPUT);
    CHECK_EQ_INT(plugbox_options_set_config_value(o, "", "1", 1), PLUGBOX_ARGUMENT);
    CHECK_EQ_INT(plugbox_options_set_config_value(o, "x", NULL, 0), PLUGBOX_ARGUMENT);
    plugbox_sandbox *b = box_of(
        "config.zone[0][0] = 9; try { config.extra.a.push(2) } catch (e) {} config.nw = 1;"
        "[config, Object.isFrozen(config), Object.isFrozen(config.zone[1]), Object.isFrozen(config.extra.a)]",
        o);
    int rc;
    CHECK_STR(call(b, NULL, &rc),
              "[{\"zone\":[[0,0],[1,1]],\"label\":\"door\",\"t\":0.8,\"extra\":{\"a\":[1]}},true,true,true]");
    CHECK_EQ_INT(rc, PLUGBOX_OK);
    plugbox_sandbox_free(b);
    /* nested deeper than the guest's stack could recurse */
    size_t depth = 20000;
    char *deep = malloc(depth * 2 + 1);
    for (size_t i = 0; i < depth; i++) {
        deep[i] = '[';
        deep[depth * 2 - 1 - i] = ']';
    }
    deep[depth * 2] = 0;
    plugbox_options *d = plugbox_options_new();
    plugbox_options_set_config(d, deep, depth * 2);
    b = box_of("let v = config, n = 0; while (Array.isArray(v) && Object.isFrozen(v)) { n++; v = v[0] } n", d);
    CHECK_STR(call(b, NULL, &rc), "20000");
    plugbox_sandbox_free(b);
    plugbox_options_free(d);
    free(deep);
    plugbox_options_free(o);
}

/* Text that is not JSON makes the program fail with PLUGBOX_INPUT and its place */
static void t_config_errors(void)
{
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_config(o, "{\n  \"a\": 1,\n}", (size_t)-1);
    plugbox_program *p;
    CHECK_EQ_INT(plugbox_program_new(engine, "config", (size_t)-1, o, &p), PLUGBOX_INPUT);
    CHECK_HAS(plugbox_program_error_message(p), "config is not valid JSON");
    CHECK_HAS(plugbox_program_error_message(p), "line 3, column 1");
    plugbox_program_free(p);
    plugbox_options_set_config(o, "[1]", 3);
    plugbox_options_set_config_value(o, "k", "1", 1);
    CHECK_EQ_INT(plugbox_program_new(engine, "config", (size_t)-1, o, &p), PLUGBOX_INPUT);
    CHECK_HAS(plugbox_program_error_message(p), "not a JSON object");
    plugbox_program_free(p);
    /* a base of [1] alone is fine: config is that array */
    plugbox_options_free(o);
    o = plugbox_options_new();
    plugbox_options_set_config(o, " [1] ", 5);
    plugbox_sandbox *b = box_of("config", o);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "[1]");
    plugbox_sandbox_free(b);
    plugbox_options_free(o);
}

/* The configuration is in the snapshot: a call does not decode it again (its sandbox's memory
 * after a call is no larger with a large configuration than the snapshot's own) */
static void t_config_in_snapshot(void)
{
    size_t n = 1u << 20;
    char *big = malloc(n + 16);
    size_t k = (size_t)sprintf(big, "{\"list\":[");
    while (k < n)
        k += (size_t)sprintf(big + k, "%zu,", k);
    big[k - 1] = ']';
    big[k++] = '}';
    plugbox_options *o = plugbox_options_new();
    plugbox_options_set_config(o, big, k);
    plugbox_sandbox *b = box_of("config.list.length > 100000", o);
    int rc;
    CHECK_STR(call(b, NULL, &rc), "true");
    plugbox_sandbox_free(b);
    /* the same program's footprint holds the decoded configuration */
    plugbox_program *with = program_of("1", o), *without = program_of("1", NULL);
    CHECK(plugbox_program_footprint(with) > plugbox_program_footprint(without) + n);
    plugbox_program_free(with);
    plugbox_program_free(without);
    plugbox_options_free(o);
    free(big);
}

static const test_case cases[] = {
    {"values", t_values},
    {"errors", t_errors},
    {"names", t_names},
    {"fixed_per_program", t_fixed_per_program},
    {"huge_result", t_huge_result},
    {"reentry", t_reentry},
    {"time_limit", t_time_limit},
    {"top_level", t_top_level},
    {"threads", t_threads},
    {"config", t_config},
    {"config_errors", t_config_errors},
    {"config_in_snapshot", t_config_in_snapshot},
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
