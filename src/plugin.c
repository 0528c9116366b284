/* SPDX-License-Identifier: MIT */
/* plugin.c - programs made from WebAssembly plugins: compiled (or found in the cache), their
 * imports connected to what the host grants, initialised once into the program's snapshot;
 * and their calls.
 *
 * The imports a plugin may have are the host's table below: WASI's few calls that plugbox
 * grants every module (imports.c, deny by default) and Extism's kernel (extism.c). Anything
 * else is refused when the program is made, naming the import. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact.h"
#include "extism.h"
#include "internal.h"
#include "jsoncheck.h"
#include "sha256.h"
#include "wasmread.h"

/* ---- the imports the host provides ------------------------------------------------------------- */

typedef struct host_import {
    const char *module, *name, *type;
    void (*fn)(void);
    int kind; /* what the function gets first: PB_IMPORT_HOST (the instance's pb_host) */
} host_import;

#define FN(f) ((void (*)(void))(f))
static const host_import wasi_imports[] = {
    {"wasi_snapshot_preview1", "fd_write", "iiii:i", FN(pb__wasi_fd_write), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "clock_time_get", "iIi:i", FN(pb__wasi_clock_time_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "fd_close", "i:i", FN(pb__wasi_fd_close), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "fd_seek", "iIii:i", FN(pb__wasi_fd_seek), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "fd_read", "iiii:i", FN(pb__wasi_fd_read), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "fd_fdstat_get", "ii:i", FN(pb__wasi_fd_fdstat_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "fd_fdstat_set_flags", "ii:i", FN(pb__wasi_fd_fdstat_set_flags), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "fd_filestat_get", "ii:i", FN(pb__wasi_fd_filestat_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "fd_prestat_get", "ii:i", FN(pb__wasi_fd_prestat_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "fd_prestat_dir_name", "iii:i", FN(pb__wasi_fd_prestat_dir_name), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "path_open", "iiiiiIIii:i", FN(pb__wasi_path_open), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "environ_sizes_get", "ii:i", FN(pb__wasi_environ_sizes_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "environ_get", "ii:i", FN(pb__wasi_environ_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "args_sizes_get", "ii:i", FN(pb__wasi_args_sizes_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "args_get", "ii:i", FN(pb__wasi_args_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "proc_exit", "i:", FN(pb__wasi_proc_exit), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "random_get", "ii:i", FN(pb__wasi_random_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "clock_res_get", "ii:i", FN(pb__wasi_clock_res_get), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "sched_yield", ":i", FN(pb__wasi_sched_yield), PB_IMPORT_HOST},
    {"wasi_snapshot_preview1", "poll_oneoff", "iiii:i", FN(pb__wasi_poll_oneoff), PB_IMPORT_HOST},
};

/* The host's import called im->module.im->name, in *found (its function, type and kind). */
static int find_import(const pb_rt_import *im, host_import *found)
{
    for (size_t i = 0; i < sizeof wasi_imports / sizeof wasi_imports[0]; i++)
        if (!strcmp(wasi_imports[i].module, im->module) && !strcmp(wasi_imports[i].name, im->name)) {
            *found = wasi_imports[i];
            return 1;
        }
    for (size_t i = 0; i < pb__extism_n_imports; i++) {
        const pb_extism_import *e = &pb__extism_imports[i];
        if (!strcmp(e->module, im->module) && !strcmp(e->name, im->name)) {
            *found = (host_import){e->module, e->name, e->type, e->fn, PB_IMPORT_EXTISM};
            return 1;
        }
    }
    return 0;
}

/* ---- host functions: extism:host/user ------------------------------------------------------------
 * A plugin's import NAME from extism:host/user is the host function NAME the program was
 * granted (plugbox_options_add_function), as Extism's host functions are: its argument is a
 * block of the kernel's memory holding JSON text (extism-pdk's Json<T>; none: no argument),
 * given to the function as a one-element array; its result is a new block holding the JSON
 * the function returned (0 for undefined). A function that throws fails the call with its
 * message, as an Extism host function's error does. */

static _Noreturn void user_fail(pb_user_ref *u, int kind, const char *fmt, const char *arg)
{
    snprintf(u->host->message, sizeof u->host->message, fmt, u->name, arg);
    u->host->message_kind = kind;
    wasm_rt_trap((wasm_rt_trap_t)PB_RT_TRAP_IMPORT);
}

static uint64_t user_call(pb_user_ref *u, uint64_t in)
{
    pb_extism *x = u->host->extism;
    uint64_t n = in && x ? pb__extism_length(x, in) : 0;
    if (in && (!x || !n))
        user_fail(u, PLUGBOX_EXCEPTION, "%s: the argument %s", "is not a block of the kernel's memory");
    char *args = pb_rt_malloc(n + 3);
    if (!args)
        user_fail(u, PLUGBOX_HOST, "%s: %s", "out of host memory");
    args[0] = '[';
    for (uint64_t i = 0; i < n; i++)
        args[i + 1] = (char)pb__extism_load_u8(x, in + i);
    args[n + 1] = ']';
    args[n + 2] = 0;
    pb__json_error je;
    if (n && pb__json_check(args + 1, n, &je) != PB__JSON_OK) {
        free(args);
        user_fail(u, PLUGBOX_EXCEPTION, "%s: the argument is not JSON: %s", je.message);
    }
    int kind = pb__host_invoke(u->host, u->index, args, n + 2, (uint64_t)u->host->mem->max_pages << 16);
    free(args);
    pb_pending *r = &u->host->pending;
    if (kind == HOST_THREW)
        user_fail(u, PLUGBOX_EXCEPTION, "%s: %s", r->text ? r->text : "");
    if (kind == HOST_TOO_LARGE)
        user_fail(u, PLUGBOX_MEMORY, "%s: %s", "its result is larger than the sandbox's memory");
    if (kind == HOST_NO_MEMORY)
        user_fail(u, PLUGBOX_HOST, "%s: %s", "out of host memory");
    if (kind != HOST_JSON || !x)
        return 0;
    uint64_t out = pb__extism_alloc(x, r->len ? r->len : 1);
    if (!out)
        user_fail(u, PLUGBOX_MEMORY, "%s: %s", "its result does not fit the memory limit");
    for (size_t i = 0; i < r->len; i++)
        pb__extism_store_u8(x, out + i, (uint8_t)r->text[i]);
    if (!r->len)
        return 0;
    return out;
}

static uint64_t user_II(pb_user_ref *u, uint64_t in) { return user_call(u, in); }
static void user_I(pb_user_ref *u, uint64_t in) { user_call(u, in); }
static uint64_t user__I(pb_user_ref *u) { return user_call(u, 0); }
static void user_(pb_user_ref *u) { user_call(u, 0); }

static const struct {
    const char *type;
    void (*fn)(void);
} user_types[] = {{"I:I", FN(user_II)}, {"I:", FN(user_I)}, {":I", FN(user__I)}, {":", FN(user_)}};

/* The plan every instance of the module follows to connect its imports; an error names the
 * first import the host does not provide, or provides with another type. */
static int plan_imports(const pb_rt_module *m, const pb_functions *granted, pb_import_plan *plan, pb_error *err)
{
    plan->n = m->n_imports;
    if (!plan->n)
        return PLUGBOX_OK;
    plan->fns = pb_rt_calloc(plan->n, sizeof *plan->fns);
    plan->kinds = pb_rt_calloc(plan->n, sizeof *plan->kinds);
    plan->functions = pb_rt_calloc(plan->n, sizeof *plan->functions);
    if (!plan->fns || !plan->kinds || !plan->functions)
        return pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
    for (size_t i = 0; i < m->n_imports; i++) {
        const pb_rt_import *im = &m->imports[i];
        host_import found, *h = &found;
        if (!strcmp(im->module, "extism:host/user")) {
            size_t f = 0, t = 0;
            while (f < granted->n && strcmp(granted->v[f].name, im->name))
                f++;
            while (t < sizeof user_types / sizeof user_types[0] && strcmp(user_types[t].type, im->type))
                t++;
            if (f == granted->n)
                return pb__error_setf(err, PLUGBOX_ARGUMENT,
                                      "the plugin imports the host function %s, which the host did not grant",
                                      im->name);
            if (t == sizeof user_types / sizeof user_types[0])
                return pb__error_setf(err, PLUGBOX_ARGUMENT,
                                      "the plugin imports the host function %s with the type %s: host functions "
                                      "take and return a block of JSON (I:I, I:, :I or :)",
                                      im->name, im->type);
            plan->fns[i] = user_types[t].fn;
            plan->kinds[i] = PB_IMPORT_USER;
            plan->functions[i] = f;
            continue;
        }
        if (!find_import(im, h))
            return pb__error_setf(err, PLUGBOX_ARGUMENT, "the plugin imports %s.%s, which plugbox does not provide",
                                  im->module, im->name);
        if (strcmp(h->type, im->type))
            return pb__error_setf(err, PLUGBOX_ARGUMENT,
                                  "the plugin imports %s.%s with the type %s, plugbox provides %s", im->module,
                                  im->name, im->type, h->type);
        plan->fns[i] = h->fn;
        plan->kinds[i] = h->kind;
    }
    return PLUGBOX_OK;
}

void pb__import_plan_free(pb_import_plan *plan)
{
    free(plan->fns);
    free(plan->kinds);
    free(plan->functions);
    plan->fns = NULL;
    plan->kinds = NULL;
    plan->functions = NULL;
    plan->n = 0;
}

/* ---- the cache ------------------------------------------------------------------------------- */

/* $XDG_CACHE_HOME/plugbox, else ~/.cache/plugbox, made if missing; 0 or -1. */
static int cache_dir(char *dir, size_t cap)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char parent[4096];
    if (x && *x == '/')
        snprintf(parent, sizeof parent, "%s", x);
    else if (home && *home == '/')
        snprintf(parent, sizeof parent, "%s/.cache", home);
    else
        return -1;
    if ((size_t)snprintf(dir, cap, "%s/plugbox", parent) >= cap)
        return -1;
    mkdir(parent, 0700);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* The plugin for a module: from the cache when it holds this version's artifact for these
 * bytes, else compiled, and kept in the cache when there is one (a cache that cannot be
 * written costs the next program a compile, nothing more). */
static int plugin_of_module(const uint8_t *wasm, size_t n, pb_plugin **out, char **artifact, size_t *artifact_len,
                            pb_error *err)
{
    uint8_t h[32];
    char hex[65], dir[4096], path[4400], msg[1024];
    pb__sha256(wasm, n, h);
    pb__sha256_hex(h, hex);
    int cached = cache_dir(dir, sizeof dir) == 0;
    if (cached)
        snprintf(path, sizeof path, "%s/%s-%s.plugbox", dir, hex, PLUGBOX_VERSION);
    if (cached && pb__read_file(path, artifact, artifact_len) == 0) {
        if (pb__artifact_load((const uint8_t *)*artifact, *artifact_len, out, msg, sizeof msg) == 0 &&
            !memcmp((*out)->sha256, h, 32))
            return PLUGBOX_OK;
        pb__plugin_release(*out); /* damaged, or another module's: compiled again */
        *out = NULL;
        free(*artifact);
        *artifact = NULL;
    }
    /* read first, once: a module wasm2c cannot take is refused by name, never by a crash of
     * it, and one whose imports the host does not provide is refused naming the first (its
     * description after compiling is checked again, as an artifact's is) */
    pb_wasm_info info;
    if (pb__wasm_read(wasm, n, &info, msg, sizeof msg) != PB_WASM_OK)
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "%s", msg);
    for (size_t i = 0; i < info.n_imports; i++) {
        const pb_wasm_import *im = &info.imports[i];
        host_import hi;
        pb_rt_import ri = {im->module, im->name, im->type};
        if (im->kind == PB_WASM_FUNC && !strcmp(im->module, "extism:host/user"))
            continue; /* a host function: granted or not by the program's options (plan_imports) */
        if (im->kind != PB_WASM_FUNC) {
            int rc = pb__error_setf(err, PLUGBOX_ARGUMENT, "the plugin imports the %s %s.%s: plugbox gives plugins none",
                                    pb__wasm_kind_name(im->kind), im->module, im->name);
            pb__wasm_info_free(&info);
            return rc;
        }
        int found = find_import(&ri, &hi);
        if (!found || strcmp(hi.type, im->type)) {
            int rc = found
                         ? pb__error_setf(err, PLUGBOX_ARGUMENT,
                                          "the plugin imports %s.%s with the type %s, plugbox provides %s", im->module,
                                          im->name, im->type, hi.type)
                         : pb__error_setf(err, PLUGBOX_ARGUMENT,
                                          "the plugin imports %s.%s, which plugbox does not provide", im->module,
                                          im->name);
            pb__wasm_info_free(&info);
            return rc;
        }
    }
    int rc = pb__artifact_compile(wasm, n, &info, artifact, artifact_len, msg, sizeof msg);
    pb__wasm_info_free(&info);
    if (rc != 0) {
        if (strstr(msg, "cannot run "))
            return pb__error_setf(err, PLUGBOX_ARGUMENT,
                                  "compiling the plugin needs wasm2c (Debian's wabt) and a C compiler (%s); "
                                  "or compile it where they are, with `plugbox compile`, and pass the result",
                                  msg);
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "%s", msg);
    }
    if (cached)
        pb__write_file_atomic(path, *artifact, *artifact_len, NULL, 0);
    if (pb__artifact_load((const uint8_t *)*artifact, *artifact_len, out, msg, sizeof msg) != 0)
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "%s", msg);
    return PLUGBOX_OK;
}

/* ---- configuration ------------------------------------------------------------------------------
 * Extism's configuration is a map of strings: config_get(key) gives the value's text. Here
 * it is the top-level members of plugbox's configuration (a JSON object, checked before this
 * reads it), each --config KEY=VALUE over them: a string member gives its text, any other
 * value its JSON. */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* the end of the JSON value at s[i] (valid JSON) */
static size_t skip_value(const char *s, size_t i, size_t n)
{
    int depth = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (!depth)
                return i + 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth <= 0)
                return i + 1 - (depth < 0);
        } else if (!depth && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            return i;
        }
    }
    return i;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++)
        v = v * 16 + (unsigned)(p[k] <= '9' ? p[k] - '0' : (p[k] | 32) - 'a' + 10);
    return v;
}

/* The text of the JSON string s[0..n) (quotes included, valid), NUL-terminated, malloc'd. */
static char *unquote(const char *s, size_t n, size_t *len)
{
    char *o = pb_rt_malloc(n + 1), *q = o;
    if (!o)
        return NULL;
    for (size_t i = 1; i + 1 < n; i++) {
        if (s[i] != '\\') {
            *q++ = s[i];
            continue;
        }
        char c = s[++i];
        unsigned u;
        switch (c) {
        case 'b': *q++ = '\b'; break;
        case 'f': *q++ = '\f'; break;
        case 'n': *q++ = '\n'; break;
        case 'r': *q++ = '\r'; break;
        case 't': *q++ = '\t'; break;
        case 'u':
            u = hex4(s + i + 1);
            i += 4;
            if (u >= 0xd800 && u < 0xdc00 && i + 6 < n && s[i + 1] == '\\' && s[i + 2] == 'u') {
                unsigned lo = hex4(s + i + 3);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                }
            }
            if (u >= 0xd800 && u < 0xe000)
                u = 0xfffd; /* a lone surrogate */
            if (u < 0x80) {
                *q++ = (char)u;
            } else if (u < 0x800) {
                *q++ = (char)(0xc0 | u >> 6);
                *q++ = (char)(0x80 | (u & 63));
            } else if (u < 0x10000) {
                *q++ = (char)(0xe0 | u >> 12);
                *q++ = (char)(0x80 | ((u >> 6) & 63));
                *q++ = (char)(0x80 | (u & 63));
            } else {
                *q++ = (char)(0xf0 | u >> 18);
                *q++ = (char)(0x80 | ((u >> 12) & 63));
                *q++ = (char)(0x80 | ((u >> 6) & 63));
                *q++ = (char)(0x80 | (u & 63));
            }
            break;
        default: *q++ = c; /* " \\ / */
        }
    }
    *q = 0;
    *len = (size_t)(q - o);
    return o;
}

static int config_add(plugbox_program *p, const char *key, size_t key_len, const char *json, size_t n)
{
    struct pb_plugin_config *v = pb_rt_realloc(p->config.v, (p->config.n + 1) * sizeof *v);
    if (!v)
        return -1;
    p->config.v = v;
    v += p->config.n;
    v->key = v->text = NULL;
    if (json[0] == '"') {
        v->text = unquote(json, n, &v->text_len);
    } else if ((v->text = pb_rt_malloc(n + 1))) {
        memcpy(v->text, json, n);
        v->text[n] = 0;
        v->text_len = n;
    }
    size_t kl;
    if (!v->text || !(v->key = key[0] == '"' ? unquote(key, key_len, &kl) : pb_rt_malloc(key_len + 1))) {
        free(v->text);
        return -1;
    }
    if (key[0] != '"') {
        memcpy(v->key, key, key_len);
        v->key[key_len] = 0;
    }
    p->config.n++;
    return 0;
}

static int config_of(plugbox_program *p, const plugbox_options *o)
{
    const char *s = o->config;
    size_t n = o->config_len, i = s ? skip_ws(s, 0, n) : 0;
    if (s && i < n && s[i] == '{') {
        for (i = skip_ws(s, i + 1, n); i < n && s[i] == '"';) {
            size_t k = i, ke = skip_value(s, i, n);
            size_t v = skip_ws(s, skip_ws(s, ke, n) + 1, n), ve = skip_value(s, v, n);
            if (config_add(p, s + k, ke - k, s + v, ve - v) != 0)
                return -1;
            i = skip_ws(s, ve, n);
            if (i < n && s[i] == ',')
                i = skip_ws(s, i + 1, n);
        }
    }
    for (size_t k = 0; k < o->values.n; k++)
        if (config_add(p, o->values.v[k].key, strlen(o->values.v[k].key), o->values.v[k].json, o->values.v[k].len) != 0)
            return -1;
    return 0;
}

void pb__plugin_config_free(plugbox_program *p)
{
    for (size_t i = 0; i < p->config.n; i++) {
        free(p->config.v[i].key);
        free(p->config.v[i].text);
    }
    free(p->config.v);
    p->config.v = NULL;
    p->config.n = 0;
}

/* ---- initialisation ----------------------------------------------------------------------------- */

/* A function the host calls: () -> i32 (an Extism export) or () -> () (initialisers, _start). */
typedef uint32_t (*fn_i)(void *);
typedef void (*fn_v)(void *);

static int init_body(pb_call *c, pb_rt_guard *g)
{
    pb_instance *in = c->in;
    const pb_rt_module *m = in->mod;
    pb_rt_guest_begin(g);
    m->start(in->w);
    static const char *const inits[] = {"_initialize", "wizer.initialize"};
    for (size_t i = 0; i < 2; i++) {
        const pb_rt_export *e = pb_rt_module_export(m, inits[i]);
        if (e && !strcmp(e->type, ":"))
            ((fn_v)e->fn)(in->w);
    }
    pb_rt_guest_end(g);
    return PLUGBOX_OK;
}

int plugbox_program_new_plugin(plugbox_engine *engine, const void *bytes, size_t len, const plugbox_options *opts,
                               plugbox_program **out)
{
    if (!out)
        return PLUGBOX_ARGUMENT;
    *out = NULL;
    if (!engine || !bytes)
        return PLUGBOX_ARGUMENT;
    opts = pb__opts(opts);
    plugbox_program *p = pb__program_alloc(engine);
    if (!p)
        return PLUGBOX_HOST;
    *out = p;
    int rc;
    char msg[1024];
    if ((rc = pb__grant_check(opts, &p->error)) != PLUGBOX_OK ||
        (rc = pb__functions_copy(&p->functions, &opts->functions)) != PLUGBOX_OK)
        return p->error.kind ? rc : pb__error_setf(&p->error, rc, "host resource exhausted: %s", strerror(ENOMEM));
    const char *name0 = opts->filename ? opts->filename : "plugin";
    p->argc = opts->argc ? opts->argc : 1; /* what pb__program_release frees */
    if ((opts->function && !(p->function = pb_rt_strdup(opts->function))) || config_of(p, opts) != 0 ||
        pb__strings_copy(&p->argv, opts->argc ? (const char *const *)opts->argv : &name0, opts->argc ? opts->argc : 1) !=
            PLUGBOX_OK)
        return pb__error_setf(&p->error, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
    const uint8_t *b = bytes;
    if (pb__artifact_is(b, len)) {
        if (pb__artifact_load(b, len, &p->plugin, msg, sizeof msg) != 0)
            return pb__error_setf(&p->error, PLUGBOX_ARGUMENT, "%s", msg);
        if (!(p->artifact = pb_rt_malloc(len ? len : 1)))
            return pb__error_setf(&p->error, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
        memcpy(p->artifact, b, len);
        p->artifact_len = len;
    } else if (len >= 4 && !memcmp(b, "\0asm", 4)) {
        if ((rc = plugin_of_module(b, len, &p->plugin, &p->artifact, &p->artifact_len, &p->error)) != PLUGBOX_OK)
            return rc;
    } else {
        return pb__error_setf(&p->error, PLUGBOX_ARGUMENT,
                              "not a WebAssembly module (no \\0asm at its start) nor a compiled plugin");
    }
    p->mod = p->plugin->mod;
    const pb_rt_export *start = pb_rt_module_export(p->mod, "_start");
    p->command = start && !strcmp(start->type, ":") ? start : NULL;
    if ((rc = plan_imports(p->mod, &p->functions, &p->imports, &p->error)) != PLUGBOX_OK)
        return rc;
    if (p->function) {
        const pb_rt_export *e = pb_rt_module_export(p->mod, p->function);
        if (!e || strcmp(e->type, ":i"))
            return pb__error_setf(&p->error, PLUGBOX_ARGUMENT, "%s is not a function of the plugin%s", p->function,
                                  e ? " of the type () -> i32" : "");
    }
    pb_instance *in = pb__instance_new(p->mod, &p->imports, 0);
    if (!in)
        return pb__error_setf(&p->error, PLUGBOX_HOST, "host resource exhausted: %s", strerror(errno));
    if (in->mem->size > opts->memory_limit) {
        pb__instance_free(in);
        return pb__error_setf(&p->error, PLUGBOX_MEMORY,
                              "out of memory (limit %llu bytes): the plugin's memory starts at %llu bytes",
                              (unsigned long long)opts->memory_limit, (unsigned long long)in->mem->size);
    }
    pb_rt_set_max_pages(in->mem, (uint32_t)(opts->memory_limit >> 16));
    in->host.console = opts->console;
    in->host.console_user = opts->console_user;
    in->host.argv = p->argv;
    in->host.argc = opts->argc ? opts->argc : 1;
    pb_call c = {.in = in, .time_limit_ms = opts->time_limit_ms, .interrupt_addr = UINT32_MAX, .body = init_body};
    rc = pb__call_run(&c);
    if (rc != PLUGBOX_OK && c.g.host_error && rc != PLUGBOX_TIMEOUT && rc != PLUGBOX_INTERRUPTED)
        rc = PLUGBOX_HOST;
    if (rc != PLUGBOX_OK)
        pb__call_error(&p->error, rc, &c, NULL, opts->memory_limit);
    else if ((rc = pb__image_take(&p->image, in, NULL)) != PLUGBOX_OK)
        pb__error_setf(&p->error, rc, "host resource exhausted: %s", strerror(ENOMEM));
    pb__instance_free(in);
    p->function_style = 1;
    return rc;
}

int plugbox_program_save(const plugbox_program *p, const char *path)
{
    if (!p || !path || !p->artifact)
        return PLUGBOX_ARGUMENT;
    return pb__write_file_atomic(path, p->artifact, p->artifact_len, NULL, 0) == 0 ? PLUGBOX_OK : PLUGBOX_HOST;
}

/* ---- calls ---------------------------------------------------------------------------------------- */

struct plugin_call {
    const pb_rt_export *fn;
    uint32_t result;
};

static int call_body(pb_call *c, pb_rt_guard *g)
{
    struct plugin_call *a = c->arg;
    pb_rt_guest_begin(g);
    if (a->fn->type[1] == 'i')
        a->result = ((fn_i)a->fn->fn)(c->in->w);
    else
        ((fn_v)a->fn->fn)(c->in->w); /* a command's _start */
    pb_rt_guest_end(g);
    return PLUGBOX_OK;
}

/* A fault out of bounds while the module's own stack pointer is below 0 (wrapped: compilers
 * put the stack first in memory, so that it overflows there) is that stack running out. */
static int stack_or_trap(const pb_instance *in, const pb_call *c, int rc)
{
    const pb_rt_module *m = in->mod;
    if (rc != PLUGBOX_TRAP || c->trap != WASM_RT_TRAP_OOB || !m->has_stack_pointer)
        return rc;
    uint32_t sp;
    memcpy(&sp, (const char *)in->w + m->stack_pointer_offset, 4);
    return sp >= in->mem->size ? PLUGBOX_STACK : rc;
}

/* A WASI command: _start from the snapshot, the input on its standard input, its standard
 * output the result; a nonzero exit status is the call's error. */
static int command_call(pb_instance *in, const pb_rt_export *start, const pb_plugin_args *a, pb_call *c,
                        pb_error *err, uint64_t memory_limit)
{
    pb_host *h = &in->host;
    h->command = 1;
    h->stdin = (const uint8_t *)a->input;
    h->stdin_len = a->input ? a->len : 0;
    h->stdin_pos = 0;
    h->out_len = 0;
    h->out_limit = memory_limit > in->mem->size ? memory_limit - in->mem->size : 0;
    h->exited = h->exit_code = 0;
    struct plugin_call pc = {start, 0};
    c->in = in;
    c->interrupt_addr = UINT32_MAX;
    c->body = call_body;
    c->arg = &pc;
    int rc = stack_or_trap(in, c, pb__call_run(c));
    h->command = 0;
    if (c->trap == PB_RT_TRAP_EXIT)
        rc = PLUGBOX_OK;
    if (rc != PLUGBOX_OK && c->g.host_error && rc != PLUGBOX_TIMEOUT && rc != PLUGBOX_INTERRUPTED)
        rc = PLUGBOX_HOST;
    if (rc != PLUGBOX_OK)
        return pb__call_error(err, rc, c, NULL, memory_limit);
    if (h->exit_code != 0)
        return pb__error_setf(err, PLUGBOX_EXCEPTION, "the command exited with status %d", h->exit_code);
    if (a->out) {
        *a->out = h->out ? h->out : "";
        *a->out_len = h->out_len;
    }
    return PLUGBOX_OK;
}

/* A kernel function failed the call, as Extism fails it: the plugin stops here. */
static void extism_trap(void *user, int kind, const char *msg, size_t len)
{
    (void)user, (void)kind, (void)msg, (void)len;
    wasm_rt_trap((wasm_rt_trap_t)PB_RT_TRAP_IMPORT);
}

/* Extism's log levels (0 trace .. 4 error) on the console's */
static void extism_log(void *user, int level, const char *text, size_t len)
{
    pb_host *h = user;
    static const plugbox_console_level to[] = {PLUGBOX_CONSOLE_DEBUG, PLUGBOX_CONSOLE_DEBUG, PLUGBOX_CONSOLE_INFO,
                                               PLUGBOX_CONSOLE_WARN, PLUGBOX_CONSOLE_ERROR};
    if (h->console && level >= 0 && level <= 4)
        h->console(h->console_user, to[level], text, len);
}

/* config_get: a value of the configuration, by key: --config KEY=VALUE's (a string's text,
 * other values as JSON) */
static int extism_config(void *user, const char *key, size_t key_len, const char **value, size_t *value_len)
{
    const plugbox_program *p = user;
    for (size_t i = p->config.n; i-- > 0;) {
        const struct pb_plugin_config *v = &p->config.v[i];
        if (strlen(v->key) != key_len || memcmp(v->key, key, key_len))
            continue;
        *value = v->text;
        *value_len = v->text_len;
        return 1;
    }
    return 0;
}

int pb__plugin_call(pb_instance *in, const plugbox_program *p, const pb_plugin_args *a, pb_call *c, pb_error *err,
                    uint64_t memory_limit)
{
    const char *name = a->function ? a->function : p->function;
    if (!name && p->command) {
        *a->ran_command = 1;
        return command_call(in, p->command, a, c, err, memory_limit);
    }
    if (!name) {
        char list[512] = "";
        size_t k = 0;
        for (size_t i = 0; i < p->mod->n_exports && k + 1 < sizeof list; i++)
            if (!strcmp(p->mod->exports[i].type, ":i"))
                k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", p->mod->exports[i].name);
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "name the plugin's function to call (--call NAME): %s%s",
                              k ? "it has " : "it has none", list);
    }
    const pb_rt_export *e = pb_rt_module_export(p->mod, name);
    if (!e || strcmp(e->type, ":i"))
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "%s is not a function of the plugin%s", name,
                              e ? " of the type () -> i32" : "");
    pb_extism *x = in->host.extism;
    if (x) {
        /* the kernel's memory and the plugin's share the limit */
        uint64_t own = in->mem->size;
        pb__extism_set_limit(x, memory_limit > own ? memory_limit - own : 0);
        pb__extism_set_trap(x, extism_trap, NULL);
        pb__extism_set_log(x, extism_log, &in->host, 0);
        pb__extism_set_config(x, extism_config, (void *)p);
        if (pb__extism_begin(x, a->input, a->len, a->stateful) != 0)
            return pb__extism_limit_hit(x)
                       ? pb__error_setf(err, PLUGBOX_MEMORY,
                                        "out of memory (limit %llu bytes): the input takes %zu bytes",
                                        (unsigned long long)memory_limit, a->len)
                       : pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
    }
    struct plugin_call pc = {e, 0};
    c->in = in;
    c->interrupt_addr = UINT32_MAX; /* foreign code polls nothing: stopped through its checks */
    c->body = call_body;
    c->arg = &pc;
    int rc = stack_or_trap(in, c, pb__call_run(c));
    const char *msg;
    size_t msg_len;
    if (c->trap == PB_RT_TRAP_IMPORT && in->host.message_kind) {
        int kind = in->host.message_kind;
        in->host.message_kind = 0;
        if (kind == PLUGBOX_MEMORY)
            return pb__error_setf(err, kind, "out of memory (limit %llu bytes): %s", (unsigned long long)memory_limit,
                                  in->host.message);
        return pb__error_setf(err, kind, "%s", in->host.message);
    }
    if (c->trap == PB_RT_TRAP_IMPORT && x) {
        int kind = pb__extism_trap(x, &msg, &msg_len);
        if (kind == PB_EXTISM_TRAP_LIMIT)
            return pb__error_setf(err, PLUGBOX_MEMORY, "out of memory (limit %llu bytes)",
                                  (unsigned long long)memory_limit);
        if (kind == PB_EXTISM_TRAP_HOST)
            return pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
        return pb__error_set(err, PLUGBOX_EXCEPTION, msg, msg_len, NULL, 0);
    }
    if (rc != PLUGBOX_OK && c->g.host_error && rc != PLUGBOX_TIMEOUT && rc != PLUGBOX_INTERRUPTED)
        rc = PLUGBOX_HOST; /* as for scripts (call.c) */
    if (rc != PLUGBOX_OK)
        return pb__call_error(err, rc, c, NULL, memory_limit);
    if (pc.result != 0) {
        /* the plugin's message (error_set), else the code it returned */
        if (x && (msg = pb__extism_error(x, &msg_len))) {
            char *clean = pb_rt_malloc(msg_len * 3 + 1);
            if (!clean)
                return pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
            size_t used, n = pb__utf8_copy(clean, msg_len * 3, msg, msg_len, &used);
            rc = pb__error_set(err, PLUGBOX_EXCEPTION, clean, n, NULL, 0);
            free(clean);
            return rc;
        }
        return pb__error_setf(err, PLUGBOX_EXCEPTION, "%s returned %u", name, pc.result);
    }
    if (x && a->out) {
        /* copied out of the kernel's memory, NUL-terminated as a script's result */
        const uint8_t *o;
        size_t n;
        pb__extism_output(x, &o, &n);
        in->host.out_len = 0;
        in->host.out_limit = SIZE_MAX;
        if (o && pb__host_out(&in->host, o, n) != 0)
            return pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
        *a->out = o ? in->host.out : NULL;
        *a->out_len = o ? n : 0;
    }
    return PLUGBOX_OK;
}
