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
#include "internal.h"
#include "sha256.h"

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
};

static const host_import *find_import(const pb_rt_import *im)
{
    for (size_t i = 0; i < sizeof wasi_imports / sizeof wasi_imports[0]; i++)
        if (!strcmp(wasi_imports[i].module, im->module) && !strcmp(wasi_imports[i].name, im->name))
            return &wasi_imports[i];
    return NULL;
}

/* The plan every instance of the module follows to connect its imports; an error names the
 * first import the host does not provide, or provides with another type. */
static int plan_imports(const pb_rt_module *m, pb_import_plan *plan, pb_error *err)
{
    plan->n = m->n_imports;
    if (!plan->n)
        return PLUGBOX_OK;
    plan->fns = pb_rt_calloc(plan->n, sizeof *plan->fns);
    plan->kinds = pb_rt_calloc(plan->n, sizeof *plan->kinds);
    if (!plan->fns || !plan->kinds)
        return pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
    for (size_t i = 0; i < m->n_imports; i++) {
        const pb_rt_import *im = &m->imports[i];
        const host_import *h = find_import(im);
        if (!h)
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
    plan->fns = NULL;
    plan->kinds = NULL;
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
 * bytes, else compiled into it (or, without a cache, into a temporary file). */
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
    else
        snprintf(path, sizeof path, "%s/plugbox-%s-%ld.plugbox", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", hex,
                 (long)getpid());
    if (cached && pb__read_file(path, artifact, artifact_len) == 0) {
        if (pb__artifact_load((const uint8_t *)*artifact, *artifact_len, out, msg, sizeof msg) == 0 &&
            !memcmp((*out)->sha256, h, 32))
            return PLUGBOX_OK;
        pb__plugin_release(*out); /* damaged, or another module's: compiled again */
        *out = NULL;
        free(*artifact);
        *artifact = NULL;
    }
    if (pb__artifact_compile(wasm, n, path, msg, sizeof msg) != 0) {
        if (strstr(msg, "cannot run "))
            return pb__error_setf(err, PLUGBOX_ARGUMENT,
                                  "compiling the plugin needs wasm2c (Debian's wabt) and a C compiler (%s); "
                                  "or compile it where they are, with `plugbox compile`, and pass the result",
                                  msg);
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "%s", msg);
    }
    int rc = pb__read_file(path, artifact, artifact_len);
    if (!cached)
        unlink(path);
    if (rc != 0)
        return pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(errno));
    if (pb__artifact_load((const uint8_t *)*artifact, *artifact_len, out, msg, sizeof msg) != 0)
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "%s", msg);
    return PLUGBOX_OK;
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
    if (opts->function && !(p->function = pb_rt_strdup(opts->function)))
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
    if ((rc = plan_imports(p->mod, &p->imports, &p->error)) != PLUGBOX_OK)
        return rc;
    if (p->function) {
        const pb_rt_export *e = pb_rt_module_export(p->mod, p->function);
        if (!e || strcmp(e->type, ":i"))
            return pb__error_setf(&p->error, PLUGBOX_ARGUMENT, "%s is not a function of the plugin%s", p->function,
                                  e ? " of the type () -> i32" : "");
    }
    pb_instance *in = pb__instance_new(p->mod, &p->imports);
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
    char part[4200];
    snprintf(part, sizeof part, "%s.part-%ld", path, (long)getpid());
    FILE *f = fopen(part, "wb");
    if (!f)
        return PLUGBOX_HOST;
    int ok = fwrite(p->artifact, 1, p->artifact_len, f) == p->artifact_len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(part, path) != 0) {
        int e = errno;
        unlink(part);
        errno = e ? e : EIO;
        return PLUGBOX_HOST;
    }
    return PLUGBOX_OK;
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
    a->result = ((fn_i)a->fn->fn)(c->in->w);
    pb_rt_guest_end(g);
    return PLUGBOX_OK;
}

int pb__plugin_call(pb_instance *in, const plugbox_program *p, const char *function, pb_call *c, pb_error *err,
                    uint64_t memory_limit)
{
    const char *name = function ? function : p->function;
    if (!name) {
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "name the plugin's function to call");
    }
    const pb_rt_export *e = pb_rt_module_export(p->mod, name);
    if (!e || strcmp(e->type, ":i"))
        return pb__error_setf(err, PLUGBOX_ARGUMENT, "%s is not a function of the plugin%s", name,
                              e ? " of the type () -> i32" : "");
    struct plugin_call a = {e, 0};
    c->in = in;
    c->interrupt_addr = UINT32_MAX; /* foreign code polls nothing: stopped through its checks */
    c->body = call_body;
    c->arg = &a;
    int rc = pb__call_run(c);
    if (rc != PLUGBOX_OK && c->g.host_error && rc != PLUGBOX_TIMEOUT && rc != PLUGBOX_INTERRUPTED)
        rc = PLUGBOX_HOST; /* as for scripts (call.c) */
    if (rc != PLUGBOX_OK)
        return pb__call_error(err, rc, c, NULL, memory_limit);
    if (a.result != 0)
        return pb__error_setf(err, PLUGBOX_EXCEPTION, "%s returned %u", name, a.result);
    return PLUGBOX_OK;
}
