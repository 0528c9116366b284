/* SPDX-License-Identifier: MIT */
/* sandbox.c - live instances of a program and the call path. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "internal.h"
#include "jsoncheck.h"
#include "testing.h"

enum { RESET_NONE, RESET_DIRTY, RESET_FULL };

struct plugbox_sandbox {
    plugbox_program *program;
    pb_instance *in;
    uint64_t memory_limit;
    uint64_t time_limit_ms;
    int stateful;
    int reset;                  /* what the next call must restore first */
    pb_error error;
    uint64_t rng;               /* seeds the guest's Math.random, per call */
    pthread_mutex_t lock;       /* guards active */
    pb_rt_guard *active;        /* the running call's guard, for interrupts */
    int busy;                   /* a call runs (a host function calling back in is refused) */
    _Atomic uint64_t next_memory_limit; /* plugbox_sandbox_set_limit: taken at the next call */
    _Atomic uint64_t next_time_limit_ms;
};

int plugbox_sandbox_new(plugbox_program *prog, const plugbox_options *opts, plugbox_sandbox **out)
{
    if (!out)
        return PLUGBOX_ARGUMENT;
    *out = NULL;
    if (!prog || prog->error.kind != PLUGBOX_OK || !prog->image.bytes)
        return PLUGBOX_ARGUMENT;
    opts = pb__opts(opts);
    if (opts->memory_limit < prog->image.size)
        return PLUGBOX_MEMORY;
    plugbox_sandbox *sb = pb_rt_calloc(1, sizeof *sb);
    if (!sb)
        return PLUGBOX_HOST;
    sb->in = pb__instance_new(prog->mod, &prog->imports, 1);
    if (!sb->in || pb__image_load(sb->in, &prog->image, 1) != PLUGBOX_OK) {
        int err = errno;
        pb__instance_free(sb->in);
        free(sb);
        errno = err;
        return PLUGBOX_HOST;
    }
    pb_rt_set_max_pages(sb->in->mem, (uint32_t)(opts->memory_limit >> 16));
    sb->in->host.console = opts->console;
    sb->in->host.console_user = opts->console_user;
    sb->in->host.functions = &prog->functions;
    sb->in->host.argv = prog->argv;
    sb->in->host.argc = prog->argc;
    sb->program = prog;
    atomic_fetch_add(&prog->refs, 1);
    sb->memory_limit = opts->memory_limit;
    sb->time_limit_ms = opts->time_limit_ms;
    atomic_init(&sb->next_memory_limit, sb->memory_limit);
    atomic_init(&sb->next_time_limit_ms, sb->time_limit_ms);
    sb->stateful = opts->stateful;
    sb->reset = RESET_NONE;
    if (getrandom(&sb->rng, sizeof sb->rng, 0) != (ssize_t)sizeof sb->rng)
        sb->rng = (uint64_t)(uintptr_t)sb ^ pb_rt_now_ns();
    pthread_mutex_init(&sb->lock, NULL);
    *out = sb;
    return PLUGBOX_OK;
}

void plugbox_sandbox_free(plugbox_sandbox *sb)
{
    if (!sb)
        return;
    pb__instance_free(sb->in);
    pb__error_free(&sb->error);
    pthread_mutex_destroy(&sb->lock);
    pb__program_release(sb->program);
    free(sb);
}

/* splitmix64: a fresh seed per call without a system call */
static uint64_t next_seed(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct run_args {
    const char *json;
    size_t len;
    uint64_t seed;
    int raw;          /* tests: json is a guest address, passed unchecked */
    uint32_t raw_ptr;
    uint32_t arena_cap;
    void *bytes;      /* lent to the script as a Uint8Array, or NULL */
    size_t bytes_len;
    int write_back;   /* copy the bytes back after a call that succeeded */
    uint32_t result_addr;
    const char *function; /* the script's function to call instead of the program's, or NULL */
    int missing;      /* the script has no such function: nothing ran */
};

static int run_body(pb_call *c, pb_rt_guard *g)
{
    struct run_args *a = c->arg;
    pb_instance *in = c->in;
    wasm_rt_memory_t *m = in->mem;
    uint32_t input = a->raw_ptr, bytes = 0;
    int rc;
    if (a->function) {
        uint32_t name;
        if ((rc = pb__guest_put(in, g, a->function, strlen(a->function), &name)) != PLUGBOX_OK)
            return rc;
        pb_rt_guest_begin(g);
        int found = pb__js_select(in, name, (uint32_t)strlen(a->function)) != 0;
        pb__js_free(in, name);
        pb_rt_guest_end(g);
        if (!found) {
            a->missing = 1;
            return PLUGBOX_ARGUMENT;
        }
    }
    if (a->json && !a->raw && (rc = pb__guest_put(in, g, a->json, a->len, &input)) != PLUGBOX_OK)
        return rc;
    /* (a failed copy leaves the input allocated: the sandbox is reset after this error) */
    if (a->bytes && (rc = pb__guest_put(in, g, a->bytes, a->bytes_len, &bytes)) != PLUGBOX_OK)
        return rc;
    pb_rt_guest_begin(g);
    pb_js_run r = {input, (uint32_t)a->len, a->json != NULL || a->raw, (uint32_t)a->seed, (uint32_t)(a->seed >> 32),
                   a->arena_cap, bytes, (uint32_t)a->bytes_len};
    pb__js_run(in, &r);
    pb_rt_guest_end(g);
    pb_outcome o;
    if (a->write_back && pb__outcome_read(in, a->result_addr, &o) == 0 && o.kind == 0 &&
        pb_rt_in_bounds(m, bytes, a->bytes_len))
        memcpy(a->bytes, m->data + bytes, a->bytes_len);
    pb_rt_guest_begin(g);
    if (input && !a->raw)
        pb__js_free(in, input);
    if (bytes)
        pb__js_free(in, bytes);
    pb_rt_guest_end(g);
    return PLUGBOX_OK;
}

/* The engine's decoder stopped at `offset`: the validator words why, with line and column.
 * It runs only on this error path, so valid input is read once, by the decoder. */
static void input_error(plugbox_sandbox *sb, const char *json, size_t len, size_t offset)
{
    pb__json_error e;
    int r = pb__json_check(json, len, &e);
    if (r == PB__JSON_ESYNTAX || r == PB__JSON_EUTF8)
        pb__error_setf(&sb->error, PLUGBOX_INPUT, "data is not valid %s: %s at line %zu, column %zu",
                       r == PB__JSON_EUTF8 ? "UTF-8" : "JSON", e.message, e.line, e.column);
    else
        pb__error_setf(&sb->error, PLUGBOX_INPUT, "data is not valid JSON at byte %zu", offset);
}

/* What the last call left goes, so that this one starts from the snapshot. */
static int reset(plugbox_sandbox *sb)
{
    if (sb->reset == RESET_NONE)
        return PLUGBOX_OK;
    if (pb__image_load(sb->in, &sb->program->image, sb->reset == RESET_FULL) != PLUGBOX_OK) {
        sb->reset = RESET_FULL; /* tried again by the next call */
        return pb__error_setf(&sb->error, PLUGBOX_HOST, "host resource exhausted: restoring the sandbox: %s",
                              strerror(errno));
    }
    sb->reset = RESET_NONE;
    return PLUGBOX_OK;
}

static int run_call(plugbox_sandbox *sb, plugbox_engine *e, struct run_args *a, const char **out, size_t *out_len,
                    int *cancel);

static int call(plugbox_sandbox *sb, struct run_args *a, const char **out, size_t *out_len, int *cancel)
{
    plugbox_engine *e = sb->program->engine;
    if (sb->busy) /* from a host function or console callback of this sandbox's own call */
        return PLUGBOX_ARGUMENT;
    sb->busy = 1;
    int rc = run_call(sb, e, a, out, out_len, cancel);
    sb->busy = 0;
    return rc;
}

static int run_call(plugbox_sandbox *sb, plugbox_engine *e, struct run_args *a, const char **out, size_t *out_len,
                    int *cancel)
{
    /* limits changed since the last call (plugbox_sandbox_set_limit): the memory's takes effect
     * at the growth it bounds, so a stateful sandbox using more keeps what it has */
    uint64_t mem = atomic_load(&sb->next_memory_limit);
    sb->time_limit_ms = atomic_load(&sb->next_time_limit_ms);
    if (mem != sb->memory_limit) {
        sb->memory_limit = mem;
        pb_rt_set_max_pages(sb->in->mem, (uint32_t)(mem >> 16));
    }
    if (a->len > sb->memory_limit || a->bytes_len > sb->memory_limit - a->len)
        return pb__error_setf(&sb->error, PLUGBOX_MEMORY,
                              "out of memory (limit %llu bytes): the input takes %llu bytes",
                              (unsigned long long)sb->memory_limit,
                              (unsigned long long)a->len + (unsigned long long)a->bytes_len);
    int rc = reset(sb);
    if (rc != PLUGBOX_OK)
        return rc;
    if (sb->program->plugin) {
        /* a plugin has one input: the JSON text, then a NUL (which no JSON text holds), then
         * the bytes; it cannot write them back */
        char *joined = NULL;
        const char *input = a->json;
        size_t input_len = a->len;
        if (a->bytes && a->write_back)
            return pb__error_setf(&sb->error, PLUGBOX_ARGUMENT, "a plugin reads the bytes, it cannot write them back");
        if (a->bytes) {
            if (!(joined = pb_rt_malloc(a->len + 1 + a->bytes_len)))
                return pb__error_setf(&sb->error, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
            if (a->len)
                memcpy(joined, a->json, a->len);
            joined[a->len] = 0;
            memcpy(joined + a->len + 1, a->bytes, a->bytes_len);
            input = joined;
            input_len = a->len + 1 + a->bytes_len;
        }
        pb_call c = {.time_limit_ms = sb->time_limit_ms, .active_lock = &sb->lock, .active = &sb->active,
                     .cancel = cancel};
        int command = 0;
        pb_plugin_args pa = {a->function, input, input_len, sb->stateful, out, out_len, &command};
        rc = pb__plugin_call(sb->in, sb->program, &pa, &c, &sb->error, sb->memory_limit);
        free(joined);
        /* a trap from an import (Extism's failure, a command's exit) leaves every store marked */
        if (c.trap && c.trap != PB_RT_TRAP_IMPORT && c.trap != PB_RT_TRAP_EXIT)
            sb->reset = RESET_FULL;
        else if (!sb->stateful || (rc != PLUGBOX_OK && rc != PLUGBOX_EXCEPTION) || c.trap)
            sb->reset = RESET_DIRTY; /* as for scripts: a stateful plugin's own error keeps its state */
        else if (command)
            sb->reset = RESET_DIRTY; /* a command runs from its start every time */
        return rc;
    }
    a->seed = next_seed(&sb->rng);
    /* a fresh call's memory is thrown away: let it allocate without freeing, up to an eighth
     * of its limit (16 MiB at most), so that garbage cannot crowd out live data */
    uint64_t cap = sb->memory_limit / 8;
    a->arena_cap = sb->stateful ? 0 : (uint32_t)(cap < (16u << 20) ? cap : (16u << 20));
    a->result_addr = e->result_addr;
    pb_call c = {.in = sb->in, .time_limit_ms = sb->time_limit_ms, .interrupt_addr = e->interrupt_addr,
                 .active_lock = &sb->lock, .active = &sb->active, .cancel = cancel, .body = run_body, .arg = a};
    pb_outcome o = {0};
    int have_outcome;
    rc = pb__call_status(&c, pb__call_run(&c), e->result_addr, &o, &have_outcome);
    if (rc == PLUGBOX_OK && o.out) {
        const char *text;
        if (pb__guest_text(sb->in, o.out, o.out_len, &text) != 0 || text[o.out_len] != 0) {
            rc = PLUGBOX_TRAP;
            have_outcome = 0;
        } else {
            *out = text;
            *out_len = o.out_len;
        }
    }
    if (a->missing) {
        /* nothing of the script ran: a stateful sandbox keeps its state, a fresh one goes
         * back to its snapshot as after any call */
        if (!sb->stateful)
            sb->reset = RESET_DIRTY;
        return pb__error_setf(&sb->error, PLUGBOX_ARGUMENT, "%s is not a function of the script", a->function);
    }
    if (rc == PLUGBOX_INPUT && have_outcome && a->json)
        input_error(sb, a->json, a->len, o.out_len);
    else if (rc != PLUGBOX_OK)
        pb__call_error(&sb->error, rc, &c, have_outcome ? &o : NULL, sb->memory_limit);

    /* What the next call starts from. A trap may have left a store unrecorded in the dirty map
     * (the jump can fall between a store and its mark), so it restores everything. */
    if (c.trap)
        sb->reset = RESET_FULL;
    else if (!sb->stateful || (rc != PLUGBOX_OK && rc != PLUGBOX_EXCEPTION))
        sb->reset = RESET_DIRTY;
    return rc;
}

int pb__sandbox_call(plugbox_sandbox *sb, const char *json, size_t len, const char **out, size_t *out_len,
                     int *cancel)
{
    if (!sb || !out || !out_len)
        return PLUGBOX_ARGUMENT;
    *out = NULL;
    *out_len = 0;
    pb__error_clear(&sb->error);
    struct run_args a = {.json = json, .len = json ? len : 0};
    return call(sb, &a, out, out_len, cancel);
}

int plugbox_sandbox_call(plugbox_sandbox *sb, const char *json, size_t len, const char **out, size_t *out_len)
{
    return pb__sandbox_call(sb, json, len, out, out_len, NULL);
}

int plugbox_sandbox_call_function(plugbox_sandbox *sb, const char *name, const char *json, size_t len,
                                  const char **out, size_t *out_len)
{
    if (!sb || !out || !out_len)
        return PLUGBOX_ARGUMENT;
    *out = NULL;
    *out_len = 0;
    pb__error_clear(&sb->error);
    if (!name || !*name)
        return pb__error_setf(&sb->error, PLUGBOX_ARGUMENT, "no function name");
    struct run_args a = {.json = json, .len = json ? len : 0, .function = name};
    return call(sb, &a, out, out_len, NULL);
}

int plugbox_sandbox_call_bytes(plugbox_sandbox *sb, const char *json, size_t len, void *bytes, size_t bytes_len,
                               unsigned flags, const char **out, size_t *out_len)
{
    if (!sb || !out || !out_len)
        return PLUGBOX_ARGUMENT;
    *out = NULL;
    *out_len = 0;
    pb__error_clear(&sb->error);
    if ((flags & ~(unsigned)PLUGBOX_BYTES_WRITE) || (!bytes && bytes_len)) {
        pb__error_setf(&sb->error, PLUGBOX_ARGUMENT, "bad bytes or flags");
        return PLUGBOX_ARGUMENT;
    }
    static char empty[1];
    struct run_args a = {.json = json, .len = json ? len : 0, .bytes = bytes ? bytes : empty,
                         .bytes_len = bytes_len, .write_back = (flags & PLUGBOX_BYTES_WRITE) && bytes_len};
    return call(sb, &a, out, out_len, NULL);
}

int pb__sandbox_call_raw(plugbox_sandbox *sb, uint32_t ptr, uint32_t len)
{
    const char *out;
    size_t out_len;
    pb__error_clear(&sb->error);
    struct run_args a = {.len = len, .raw = 1, .raw_ptr = ptr};
    return call(sb, &a, &out, &out_len, NULL);
}

int pb__program_image_shared(const plugbox_program *p) { return p && p->image.bytes && p->image.fd >= 0; }

int pb__program_images_equal(const plugbox_program *a, const plugbox_program *b)
{
    return a && b && a->image.bytes && b->image.bytes && a->image.size == b->image.size &&
           memcmp(a->image.bytes, b->image.bytes, a->image.size) == 0;
}

int pb__sandbox_pristine(plugbox_sandbox *sb)
{
    const pb_image *img = &sb->program->image;
    if (reset(sb) != PLUGBOX_OK)
        return 0;
    wasm_rt_memory_t *m = sb->in->mem;
    if (m->size != img->size || memcmp(m->data, img->bytes, img->size) != 0)
        return 0;
    const uint8_t *map = pb_rt_dirty_map(m);
    for (size_t i = 0; i < (size_t)img->size >> PB_PAGE_SHIFT; i++)
        if (map[i])
            return 0;
    return pb__image_state_equal(sb->in, img);
}

int plugbox_sandbox_reset(plugbox_sandbox *sb)
{
    if (!sb || sb->busy)
        return PLUGBOX_ARGUMENT;
    if (sb->reset == RESET_NONE)
        sb->reset = RESET_DIRTY;
    return reset(sb);
}

int plugbox_sandbox_set_limit(plugbox_sandbox *sb, plugbox_limit which, uint64_t value)
{
    if (!sb)
        return PLUGBOX_ARGUMENT;
    switch (which) {
    case PLUGBOX_LIMIT_MEMORY:
        if (value == 0)
            return PLUGBOX_ARGUMENT;
        if (value > PB_MAX_MEMORY_LIMIT)
            value = PB_MAX_MEMORY_LIMIT;
        if (value < sb->program->image.size)
            return PLUGBOX_MEMORY;
        atomic_store(&sb->next_memory_limit, value);
        return PLUGBOX_OK;
    case PLUGBOX_LIMIT_TIME:
        atomic_store(&sb->next_time_limit_ms, value > PB_MAX_TIME_LIMIT_MS ? PB_MAX_TIME_LIMIT_MS : value);
        return PLUGBOX_OK;
    default: return PLUGBOX_ARGUMENT;
    }
}

int plugbox_sandbox_error_kind(const plugbox_sandbox *sb) { return sb ? sb->error.kind : PLUGBOX_ARGUMENT; }
const char *plugbox_sandbox_error_message(const plugbox_sandbox *sb) { return sb ? pb__error_message(&sb->error) : ""; }
const char *plugbox_sandbox_error_stack(const plugbox_sandbox *sb) { return sb ? pb__error_stack(&sb->error) : ""; }

int plugbox_sandbox_interrupt(plugbox_sandbox *sb)
{
    if (!sb)
        return PLUGBOX_ARGUMENT;
    int rc = PLUGBOX_OK;
    pthread_mutex_lock(&sb->lock);
    if (sb->active && pb_rt_watch_interrupt(sb->active) != 0)
        rc = PLUGBOX_HOST;
    pthread_mutex_unlock(&sb->lock);
    return rc;
}
