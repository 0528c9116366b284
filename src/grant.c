/* SPDX-License-Identifier: MIT */
/* grant.c - what the host grants a script: functions (host.NAME) and configuration (config).
 *
 * Options collect them; a program copies its options' functions when it is made (they are
 * fixed from then on) and hands the names and the configuration to the guest (guest/grant.c),
 * which makes the globals in the program's snapshot. A script's call of host.NAME reaches the
 * host through two imports: host_call runs the function, on the calling thread, and keeps
 * what it returned in the instance; host_take copies that into memory the guest allocated
 * for it, so that the result counts against the sandbox's memory limit. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jsoncheck.h"

#define PB_MAX_NAME 64
#define PB_MAX_THROW (64u << 10)


struct plugbox_host_call {
    pb_pending *pending;
    uint64_t limit; /* the sandbox's memory: a larger result is refused without a copy */
};

/* ---- options ----------------------------------------------------------------------------- */

static int is_identifier(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PB_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

int plugbox_options_add_function(plugbox_options *o, const char *name, plugbox_host_fn fn, void *user)
{
    if (!o || !name || !fn || !is_identifier(name))
        return PLUGBOX_ARGUMENT;
    for (size_t i = 0; i < o->functions.n; i++)
        if (!strcmp(o->functions.v[i].name, name))
            return PLUGBOX_ARGUMENT;
    pb_function *v = pb_rt_realloc(o->functions.v, (o->functions.n + 1) * sizeof *v);
    if (!v)
        return PLUGBOX_HOST;
    o->functions.v = v;
    char *copy = pb_rt_strdup(name);
    if (!copy)
        return PLUGBOX_HOST;
    v[o->functions.n++] = (pb_function){copy, fn, user};
    return PLUGBOX_OK;
}

int plugbox_options_set_config(plugbox_options *o, const char *json, size_t len)
{
    return o ? pb__options_text(&o->config, &o->config_len, json, len) : PLUGBOX_ARGUMENT;
}

int plugbox_options_set_config_value(plugbox_options *o, const char *key, const char *json, size_t len)
{
    if (!o || !key || !*key || !json)
        return PLUGBOX_ARGUMENT;
    if (len == (size_t)-1)
        len = strlen(json);
    pb__json_error e;
    int r = pb__json_check(json, len, &e);
    if (r == PB__JSON_ENOMEM)
        return PLUGBOX_HOST;
    if (r != PB__JSON_OK)
        return PLUGBOX_INPUT;
    size_t i = 0;
    while (i < o->values.n && strcmp(o->values.v[i].key, key))
        i++;
    char *k = pb_rt_strdup(key), *j = pb_rt_malloc(len + 1);
    pb_config_value *v = i == o->values.n ? pb_rt_realloc(o->values.v, (o->values.n + 1) * sizeof *v) : o->values.v;
    if (!k || !j || !v) {
        free(k);
        free(j);
        if (v)
            o->values.v = v;
        return PLUGBOX_HOST;
    }
    memcpy(j, json, len);
    j[len] = 0;
    o->values.v = v;
    if (i == o->values.n) {
        o->values.n++;
    } else {
        free(v[i].key);
        free(v[i].json);
    }
    v[i] = (pb_config_value){k, j, len};
    return PLUGBOX_OK;
}

void pb__grants_free(pb_functions *f, pb_config_values *values)
{
    if (f) {
        for (size_t i = 0; i < f->n; i++)
            free(f->v[i].name);
        free(f->v);
        f->v = NULL;
        f->n = 0;
    }
    if (values) {
        for (size_t i = 0; i < values->n; i++) {
            free(values->v[i].key);
            free(values->v[i].json);
        }
        free(values->v);
        values->v = NULL;
        values->n = 0;
    }
}

int pb__functions_copy(pb_functions *dst, const pb_functions *src)
{
    dst->v = NULL;
    dst->n = 0;
    if (!src->n)
        return PLUGBOX_OK;
    if (!(dst->v = pb_rt_calloc(src->n, sizeof *dst->v)))
        return PLUGBOX_HOST;
    for (size_t i = 0; i < src->n; i++) {
        dst->v[i] = src->v[i];
        if (!(dst->v[i].name = pb_rt_strdup(src->v[i].name))) {
            dst->n = i;
            pb__grants_free(dst, NULL);
            return PLUGBOX_HOST;
        }
        dst->n = i + 1;
    }
    return PLUGBOX_OK;
}

/* ---- into the guest ----------------------------------------------------------------------- */

int pb__check_json_text(const char *what, const char *text, size_t len, pb_error *err)
{
    pb__json_error e;
    int r = pb__json_check(text, len, &e);
    if (r == PB__JSON_ENOMEM)
        return pb__error_setf(err, PLUGBOX_HOST, "host resource exhausted: %s", strerror(ENOMEM));
    if (r != PB__JSON_OK)
        return pb__error_setf(err, PLUGBOX_INPUT, "%s is not valid %s: %s at line %zu, column %zu", what,
                              r == PB__JSON_EUTF8 ? "UTF-8" : "JSON", e.message, e.line, e.column);
    return PLUGBOX_OK;
}

int pb__grant_check(const plugbox_options *o, pb_error *err)
{
    if (!o->config)
        return PLUGBOX_OK;
    int r = pb__check_json_text("config", o->config, o->config_len, err);
    if (r != PLUGBOX_OK)
        return r;
    size_t i = 0;
    while (i < o->config_len && strchr(" \t\r\n", o->config[i]))
        i++;
    if (o->values.n && o->config[i] != '{')
        return pb__error_setf(err, PLUGBOX_INPUT, "config is not a JSON object, so its keys cannot be set");
    return PLUGBOX_OK;
}

/* buf grows by n bytes of s, then pad NULs */
static int append(char **buf, size_t *len, const char *s, size_t n, size_t pad)
{
    char *b = pb_rt_realloc(*buf, *len + n + pad + 1);
    if (!b)
        return -1;
    memcpy(b + *len, s, n);
    memset(b + *len + n, 0, pad);
    *buf = b;
    *len += n + pad;
    return 0;
}

int pb__grant_put(pb_instance *in, pb_rt_guard *g, const pb_functions *f, const plugbox_options *o, int *refused)
{
    *refused = 0;
    if (!f->n && !o->config && !o->values.n)
        return PLUGBOX_OK;
    char *names = NULL, *values = NULL;
    size_t names_len = 0, values_len = 0;
    int rc = PLUGBOX_HOST;
    for (size_t i = 0; i < f->n; i++)
        if (append(&names, &names_len, f->v[i].name, strlen(f->v[i].name), 1) < 0)
            goto out;
    for (size_t i = 0; i < o->values.n; i++)
        if (append(&values, &values_len, o->values.v[i].key, strlen(o->values.v[i].key), 1) < 0 ||
            append(&values, &values_len, o->values.v[i].json, o->values.v[i].len, 8) < 0)
            goto out;
    uint32_t gn = 0, gc = 0, gv = 0;
    if ((names && (rc = pb__guest_put(in, g, names, names_len, &gn)) != PLUGBOX_OK) ||
        (o->config && (rc = pb__guest_put(in, g, o->config, o->config_len, &gc)) != PLUGBOX_OK) ||
        (values && (rc = pb__guest_put(in, g, values, values_len, &gv)) != PLUGBOX_OK))
        goto out;
    pb_rt_guest_begin(g);
    pb_js_grant ga = {gn, (uint32_t)names_len, (uint32_t)f->n, gc, (uint32_t)o->config_len, o->config != NULL,
                      gv, (uint32_t)values_len, (uint32_t)o->values.n};
    *refused = pb__js_grant(in, &ga) != 0;
    pb_rt_guest_end(g);
    rc = PLUGBOX_OK;
out:
    free(names);
    free(values);
    return rc;
}

/* ---- the calls ---------------------------------------------------------------------------- */

static void pending_clear(pb_pending *p)
{
    free(p->text);
    p->text = NULL;
    p->len = 0;
    p->kind = HOST_UNDEFINED;
}

void pb__pending_free(pb_pending *p) { pending_clear(p); }

void plugbox_host_return(plugbox_host_call *call, const char *json, size_t len)
{
    if (!call)
        return;
    pb_pending *p = call->pending;
    pending_clear(p);
    if (!json)
        return; /* undefined */
    if (len > call->limit) {
        p->kind = HOST_TOO_LARGE;
        p->len = len;
        return;
    }
    if (!(p->text = pb_rt_malloc(len ? len : 1))) {
        p->kind = HOST_NO_MEMORY;
        return;
    }
    memcpy(p->text, json, len);
    p->len = len;
    p->kind = HOST_JSON;
}

void plugbox_host_throw(plugbox_host_call *call, const char *message)
{
    if (!call)
        return;
    pb_pending *p = call->pending;
    pending_clear(p);
    const char *m = message ? message : "host function failed";
    size_t n = strnlen(m, PB_MAX_THROW);
    char *t = pb_rt_malloc(n * 3 + 1); /* as valid UTF-8: each bad byte may become U+FFFD */
    if (!t) {
        p->kind = HOST_NO_MEMORY;
        return;
    }
    size_t used;
    p->len = pb__utf8_copy(t, n * 3, m, n, &used);
    t[p->len] = 0;
    p->text = t;
    p->kind = HOST_THREW;
}

uint32_t pb__host_call(pb_host *h, uint32_t index, uint32_t args, uint32_t len, uint32_t out_len)
{
    wasm_rt_memory_t *m = h->mem;
    pending_clear(&h->pending);
    /* the arguments are JSON.stringify's text, NUL-terminated, read in place: nothing else
     * runs in this sandbox while the function does */
    if (!h->functions || index >= h->functions->n || !pb_rt_in_bounds(m, args, (uint64_t)len + 1) ||
        m->data[args + len] != 0 || !pb_rt_in_bounds(m, out_len, 4))
        return HOST_REFUSED;
    const pb_function *f = &h->functions->v[index];
    plugbox_host_call call = {&h->pending, (uint64_t)m->max_pages << 16};
    pb_rt_import_begin();
    f->fn(&call, f->user, (const char *)m->data + args, len);
    uint32_t n = h->pending.len > UINT32_MAX ? UINT32_MAX : (uint32_t)h->pending.len;
    pb_rt_write(m, out_len, &n, 4);
    int kind = h->pending.kind;
    pb_rt_import_end(); /* a stop that came meanwhile takes effect here */
    return (uint32_t)kind;
}

int pb__host_invoke(pb_host *h, size_t index, const char *args, size_t len, uint64_t limit)
{
    pending_clear(&h->pending);
    if (!h->functions || index >= h->functions->n)
        return HOST_REFUSED;
    const pb_function *f = &h->functions->v[index];
    plugbox_host_call call = {&h->pending, limit};
    pb_rt_import_begin();
    f->fn(&call, f->user, args, len);
    int kind = h->pending.kind;
    pb_rt_import_end();
    return kind;
}

void pb__host_take(pb_host *h, uint32_t dst, uint32_t len)
{
    if (dst && len == h->pending.len && h->pending.text && pb_rt_in_bounds(h->mem, dst, len))
        pb_rt_write(h->mem, dst, h->pending.text, len);
    pending_clear(&h->pending);
}
