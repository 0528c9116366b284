/* SPDX-License-Identifier: MIT */
/* engine.c - the engine (the initialised module) and programs (a compiled script and its
 * snapshot). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "internal.h"

static pthread_mutex_t g_setup_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_setup_ok; /* atomic */

/* Once per process, and again after a failure: the runtime's handlers and the module's
 * function types. Returns 0, or -1 with errno set. */
static int process_setup(void)
{
    if (__atomic_load_n(&g_setup_ok, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&g_setup_lock);
    int ok = g_setup_ok;
    if (!ok && pb_rt_setup() == 0) {
        pb__engine_module.init_module();
        ok = !pb_rt_types_failed();
        if (!ok)
            errno = ENOMEM;
        __atomic_store_n(&g_setup_ok, ok, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&g_setup_lock);
    return ok ? 0 : -1;
}

/* ---- engine -------------------------------------------------------------------------------- */

struct init_out {
    uint32_t result_addr, interrupt_addr;
};

static int init_body(pb_call *c, pb_rt_guard *g)
{
    struct init_out *o = c->arg;
    pb_rt_guest_begin(g);
    pb__js_initialize(c->in);
    int32_t r = pb__js_init(c->in);
    o->result_addr = pb__js_result(c->in);
    o->interrupt_addr = pb__js_interrupt_word(c->in);
    pb_rt_guest_end(g);
    return r == 0 ? PLUGBOX_OK : PLUGBOX_HOST;
}

/* The set-up runs the prelude (guest/prelude.c), JavaScript that takes more of the native
 * stack than a caller's small thread may have (below about 68 KiB, the engine could not
 * start): it runs on a thread of its own, with a stack of INIT_STACK, whatever the caller's. */
#define INIT_STACK (1u << 20)

struct init_run {
    pb_call c;
    int rc;
};

static void *init_thread(void *arg)
{
    struct init_run *r = arg;
    r->rc = pb__call_run(&r->c);
    return NULL;
}

/* PLUGBOX_OK or the call's status; PLUGBOX_HOST with errno set when no thread could be made. */
static int init_on_own_stack(struct init_run *r)
{
    pthread_attr_t at;
    pthread_t t;
    int err = pthread_attr_init(&at);
    if (!err) {
        err = pthread_attr_setstacksize(&at, INIT_STACK);
        if (!err)
            err = pb_rt_thread_create(&t, &at, init_thread, r);
        pthread_attr_destroy(&at);
    }
    if (err) {
        r->c.g.host_error = err == ENOMEM ? ENOMEM : EAGAIN;
        return PLUGBOX_HOST;
    }
    pthread_join(t, NULL);
    return r->rc;
}

int plugbox_engine_new(plugbox_engine **out)
{
    if (!out)
        return PLUGBOX_ARGUMENT;
    *out = NULL;
    if (process_setup() != 0)
        return PLUGBOX_HOST;
    plugbox_engine *e = pb_rt_calloc(1, sizeof *e);
    pb_instance *in = e ? pb__instance_new(&pb__engine_module, NULL, 0) : NULL;
    if (!in) {
        int err = errno;
        free(e);
        errno = err;
        return PLUGBOX_HOST;
    }
    struct init_out io = {0, 0};
    struct init_run r = {.c = {.in = in, .body = init_body, .arg = &io}};
    int rc = init_on_own_stack(&r);
    pb_call c = r.c;
    if (rc == PLUGBOX_OK)
        rc = pb__image_take(&e->base, in, NULL);
    int err = rc == PLUGBOX_OK ? 0 : c.g.host_error ? c.g.host_error : ENOMEM;
    pb__instance_free(in);
    if (rc != PLUGBOX_OK) {
        free(e);
        errno = err;
        return PLUGBOX_HOST;
    }
    e->result_addr = io.result_addr;
    e->interrupt_addr = io.interrupt_addr;
    pthread_mutex_init(&e->ts_lock, NULL);
    atomic_init(&e->refs, 1);
    *out = e;
    return PLUGBOX_OK;
}

void pb__engine_release(plugbox_engine *e)
{
    if (e && atomic_fetch_sub(&e->refs, 1) == 1) {
        pb__image_free(&e->base);
        pb__image_free(&e->ts_base);
        pthread_mutex_destroy(&e->ts_lock);
        free(e);
    }
}

void plugbox_engine_free(plugbox_engine *e) { pb__engine_release(e); }

/* ---- TypeScript ------------------------------------------------------------------------------ */

static int ts_init_body(pb_call *c, pb_rt_guard *g)
{
    (void)c->arg;
    pb_rt_guest_begin(g);
    pb__js_ts_init(c->in);
    pb_rt_guest_end(g);
    return PLUGBOX_OK;
}

/* The engine's base with the transpiler evaluated (guest/guest.c, pb_ts_init), made once, by
 * the first TypeScript program: JavaScript programs never pay for it (about 35 ms, and the
 * memory it takes). Returns PLUGBOX_OK, or an error kind with errno set (PLUGBOX_HOST) or the
 * error in err. */
static int ts_base(plugbox_engine *e, pb_error *err)
{
    if (__atomic_load_n(&e->ts_ready, __ATOMIC_ACQUIRE))
        return PLUGBOX_OK;
    pthread_mutex_lock(&e->ts_lock);
    int rc = PLUGBOX_OK;
    if (!e->ts_ready) {
        pb_instance *in = pb__instance_new(&pb__engine_module, NULL, 1);
        if (!in) {
            pthread_mutex_unlock(&e->ts_lock);
            return pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(errno));
        }
        rc = pb__image_load(in, &e->base, 1);
        if (rc == PLUGBOX_OK) {
            pb_call c = {.in = in, .interrupt_addr = e->interrupt_addr, .body = ts_init_body, .arg = NULL};
            pb_outcome o = {0};
            int have_outcome;
            rc = pb__call_status(&c, pb__call_run(&c), e->result_addr, &o, &have_outcome);
            if (rc != PLUGBOX_OK)
                rc = pb__call_error(err, rc, &c, have_outcome ? &o : NULL, PB_DEFAULT_MEMORY_LIMIT);
            else if ((rc = pb__image_take(&e->ts_base, in, &e->base)) != PLUGBOX_OK)
                pb__error_setf(err, rc, "host resource exhausted: %s", strerror(ENOMEM));
        } else {
            pb__error_setf(err, rc, "host resource exhausted: %s", strerror(errno));
        }
        pb__instance_free(in);
        if (rc == PLUGBOX_OK)
            __atomic_store_n(&e->ts_ready, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&e->ts_lock);
    return rc;
}

static int is_ts_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return (n > 3 && !strcmp(name + n - 3, ".ts")) ||
           (n > 4 && (!strcmp(name + n - 4, ".mts") || !strcmp(name + n - 4, ".cts")));
}

/* ---- program ------------------------------------------------------------------------------- */

struct compile_args {
    const plugbox_options *opts;
    const pb_functions *functions;
    const char *source;
    size_t len;
    const char *filename;
    const char *function;
    int typescript;
    pb_outcome outcome;
    uint64_t memory_limit;
};

/* Free heap the snapshot keeps above what the script's set-up used, so that calls allocate
 * without growing memory: growing and then shrinking it back at every restore changes page
 * protections, and each change stops every thread of the process for a TLB flush (the pool
 * of two threads gained 1.8x -> 1.96x without it). The zeros are not stored in the image. */
#define HEADROOM_MAX (4u << 20)

static void reserve_headroom(pb_instance *in, uint64_t memory_limit)
{
    uint64_t size = in->mem->size;
    uint64_t room = memory_limit > size ? (memory_limit - size) / 2 : 0;
    if (room > HEADROOM_MAX)
        room = HEADROOM_MAX;
    if (room < (64u << 10))
        return;
    uint32_t p = pb__js_alloc(in, (uint32_t)room);
    if (p)
        pb__js_free(in, p); /* back to the allocator's top chunk, which never shrinks */
}

/* JSON text decoded once, into what becomes a snapshot: the guest's decoder keeps its keys
 * and its objects' shapes (guest/json.c). *failed: the guest's outcome says why. */
static int learn_text(pb_instance *in, pb_rt_guard *g, const char *json, size_t len, int *failed)
{
    *failed = 0;
    uint32_t s;
    int rc = pb__guest_put(in, g, json, len, &s);
    if (rc != PLUGBOX_OK)
        return rc;
    pb_rt_guest_begin(g);
    *failed = pb__js_learn(in, s, (uint32_t)len) != 0;
    if (!*failed)
        pb__js_free(in, s);
    pb_rt_guest_end(g);
    return PLUGBOX_OK;
}

static int sample_check(const plugbox_options *o, pb_error *err)
{
    return o->sample ? pb__check_json_text("sample", o->sample, o->sample_len, err) : PLUGBOX_OK;
}

static int compile_body(pb_call *c, pb_rt_guard *g)
{
    struct compile_args *a = c->arg;
    pb_instance *in = c->in;
    uint32_t src = 0, name = 0, fn = 0;
    int refused;
    int rc = pb__grant_put(in, g, a->functions, a->opts, &refused);
    if (rc != PLUGBOX_OK || refused)
        return rc; /* a refusal's outcome is the program's */
    const plugbox_options *o = a->opts;
    if (o->sample && ((rc = learn_text(in, g, o->sample, o->sample_len, &refused)) != PLUGBOX_OK || refused))
        return rc;
    rc = pb__guest_put(in, g, a->source, a->len, &src);
    if (rc == PLUGBOX_OK)
        rc = pb__guest_put(in, g, a->filename, strlen(a->filename), &name);
    if (rc == PLUGBOX_OK && a->function)
        rc = pb__guest_put(in, g, a->function, strlen(a->function), &fn);
    if (rc != PLUGBOX_OK)
        return rc;
    pb_rt_guest_begin(g);
    pb__js_compile(in, src, (uint32_t)a->len, name, fn, (uint32_t)a->typescript);
    pb__js_free(in, src);
    pb__js_free(in, name);
    pb__js_free(in, fn);
    reserve_headroom(in, a->memory_limit);
    pb_rt_guest_end(g);
    return PLUGBOX_OK;
}

plugbox_program *pb__program_alloc(plugbox_engine *engine)
{
    plugbox_program *p = pb_rt_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->engine = engine;
    p->mod = &pb__engine_module;
    atomic_fetch_add(&engine->refs, 1);
    atomic_init(&p->refs, 1);
    return p;
}

/* A new program of engine, and the instance that makes its snapshot. PLUGBOX_HOST (errno
 * set, both NULL) when either cannot be had. */
static int program_begin(plugbox_engine *engine, plugbox_program **p, pb_instance **in)
{
    *p = pb__program_alloc(engine);
    *in = *p ? pb__instance_new(&pb__engine_module, NULL, 1) : NULL;
    if (!*in) {
        int err = errno;
        pb__program_release(*p);
        *p = NULL;
        errno = err;
        return PLUGBOX_HOST;
    }
    return PLUGBOX_OK;
}

/* Runs the call c that makes the program's state in `in` (loaded from base), then takes the
 * program's snapshot; the instance goes either way. Returns the status, the error on p. */
static int program_finish(plugbox_program *p, pb_instance *in, pb_call *c, const pb_image *base,
                          uint64_t memory_limit)
{
    pb_outcome o = {0};
    int have_outcome;
    int rc = pb__call_status(c, pb__call_run(c), p->engine->result_addr, &o, &have_outcome);
    if (rc != PLUGBOX_OK)
        rc = pb__call_error(&p->error, rc, c, have_outcome ? &o : NULL, memory_limit);
    if (rc == PLUGBOX_OK && (rc = pb__image_take(&p->image, in, base)) != PLUGBOX_OK)
        pb__error_setf(&p->error, rc, "host resource exhausted: %s", strerror(ENOMEM));
    pb__instance_free(in);
    return rc;
}

int plugbox_program_new(plugbox_engine *engine, const char *source, size_t len, const plugbox_options *opts,
                        plugbox_program **out)
{
    if (!out)
        return PLUGBOX_ARGUMENT;
    *out = NULL;
    if (!engine || !source)
        return PLUGBOX_ARGUMENT;
    if (len == (size_t)-1)
        len = strlen(source);
    opts = pb__opts(opts);
    int rc0;
    plugbox_program *p;
    pb_instance *in;
    if (program_begin(engine, &p, &in) != PLUGBOX_OK)
        return PLUGBOX_HOST;
    *out = p;
    p->function_style = opts->function != NULL;
    if ((rc0 = pb__grant_check(opts, &p->error)) != PLUGBOX_OK || (rc0 = sample_check(opts, &p->error)) != PLUGBOX_OK ||
        (rc0 = pb__functions_copy(&p->functions, &opts->functions)) != PLUGBOX_OK) {
        pb__instance_free(in);
        if (rc0 == PLUGBOX_HOST && !p->error.kind)
            pb__error_setf(&p->error, rc0, "host resource exhausted: %s", strerror(ENOMEM));
        return rc0;
    }
    int typescript = opts->typescript || is_ts_name(opts->filename);
    if (typescript && (rc0 = ts_base(engine, &p->error)) != PLUGBOX_OK) {
        pb__instance_free(in);
        return rc0;
    }
    const pb_image *base = typescript ? &engine->ts_base : &engine->base;
    int rc = pb__image_load(in, base, 1);
    if (rc != PLUGBOX_OK) {
        int err = errno;
        pb__instance_free(in);
        return pb__error_setf(&p->error, rc, "host resource exhausted: %s", strerror(err));
    }
    pb_rt_set_max_pages(in->mem, (uint32_t)(opts->memory_limit >> 16));
    in->host.console = opts->console;
    in->host.console_user = opts->console_user;
    in->host.module_dir = opts->module_dir; /* for this compilation only: the instance goes */
    in->host.functions = &p->functions;

    struct compile_args a = {opts, &p->functions, source, len, opts->filename ? opts->filename : "<script>",
                             opts->function, typescript, {0}, opts->memory_limit};
    pb_call c = {.in = in, .time_limit_ms = opts->time_limit_ms, .interrupt_addr = engine->interrupt_addr,
                 .body = compile_body, .arg = &a};
    return program_finish(p, in, &c, base, opts->memory_limit);
}

struct learn_args {
    const char *json;
    size_t len;
};

static int learn_body(pb_call *c, pb_rt_guard *g)
{
    const struct learn_args *a = c->arg;
    int refused;
    return learn_text(c->in, g, a->json, a->len, &refused); /* a refusal's outcome says why */
}

int plugbox_program_learn(const plugbox_program *prog, const char *json, size_t len, const plugbox_options *opts,
                          plugbox_program **out)
{
    if (!out)
        return PLUGBOX_ARGUMENT;
    *out = NULL;
    if (!prog || !json || prog->plugin || prog->error.kind != PLUGBOX_OK)
        return PLUGBOX_ARGUMENT;
    opts = pb__opts(opts);
    plugbox_program *p;
    pb_instance *in;
    if (program_begin(prog->engine, &p, &in) != PLUGBOX_OK)
        return PLUGBOX_HOST;
    *out = p;
    p->function_style = prog->function_style;
    int rc = pb__check_json_text("input", json, len, &p->error);
    if (rc == PLUGBOX_OK && (rc = pb__functions_copy(&p->functions, &prog->functions)) != PLUGBOX_OK)
        pb__error_setf(&p->error, rc, "host resource exhausted: %s", strerror(ENOMEM));
    if (rc == PLUGBOX_OK && (rc = pb__image_load(in, &prog->image, 1)) != PLUGBOX_OK)
        pb__error_setf(&p->error, rc, "host resource exhausted: %s", strerror(errno));
    if (rc != PLUGBOX_OK) {
        pb__instance_free(in);
        return rc;
    }
    pb_rt_set_max_pages(in->mem, (uint32_t)(opts->memory_limit >> 16));
    in->host.functions = &p->functions;
    struct learn_args a = {json, len};
    pb_call c = {.in = in, .time_limit_ms = opts->time_limit_ms, .interrupt_addr = prog->engine->interrupt_addr,
                 .body = learn_body, .arg = &a};
    return program_finish(p, in, &c, &prog->image, opts->memory_limit);
}

void pb__program_release(plugbox_program *p)
{
    if (p && atomic_fetch_sub(&p->refs, 1) == 1) {
        pb__image_free(&p->image);
        pb__error_free(&p->error);
        pb__grants_free(&p->functions, NULL);
        pb__import_plan_free(&p->imports);
        pb__plugin_config_free(p);
        pb__strings_free(p->argv, p->argc);
        pb__plugin_release(p->plugin);
        free(p->artifact);
        free(p->function);
        pb__engine_release(p->engine);
        free(p);
    }
}

void plugbox_program_free(plugbox_program *p) { pb__program_release(p); }

int plugbox_program_error_kind(const plugbox_program *p) { return p ? p->error.kind : PLUGBOX_ARGUMENT; }
const char *plugbox_program_error_message(const plugbox_program *p) { return p ? pb__error_message(&p->error) : ""; }
const char *plugbox_program_error_stack(const plugbox_program *p) { return p ? pb__error_stack(&p->error) : ""; }
size_t plugbox_program_footprint(const plugbox_program *p) { return p ? p->image.size : 0; }
