/* SPDX-License-Identifier: MIT */
/* options.c - the options object: limits and settings, copied by whoever reads them. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const plugbox_options pb__default_options = {
    .memory_limit = PB_DEFAULT_MEMORY_LIMIT,
    .filename = "<script>",
};

plugbox_options *plugbox_options_new(void)
{
    plugbox_options *o = pb_rt_calloc(1, sizeof *o);
    if (o)
        o->memory_limit = PB_DEFAULT_MEMORY_LIMIT;
    return o;
}

void plugbox_options_free(plugbox_options *o)
{
    if (!o)
        return;
    free(o->function);
    free(o->filename);
    free(o->module_dir);
    free(o->config);
    free(o->sample);
    pb__strings_free(o->argv, o->argc);
    pb__grants_free(&o->functions, &o->values);
    free(o);
}

int plugbox_options_set_memory_limit(plugbox_options *o, uint64_t bytes)
{
    if (!o || bytes == 0)
        return PLUGBOX_ARGUMENT;
    o->memory_limit = bytes > PB_MAX_MEMORY_LIMIT ? PB_MAX_MEMORY_LIMIT : bytes;
    return PLUGBOX_OK;
}

int plugbox_options_set_time_limit(plugbox_options *o, uint64_t ms)
{
    if (!o)
        return PLUGBOX_ARGUMENT;
    /* kept where a deadline in nanoseconds cannot overflow: longer is no limit in practice */
    o->time_limit_ms = ms > PB_MAX_TIME_LIMIT_MS ? PB_MAX_TIME_LIMIT_MS : ms;
    return PLUGBOX_OK;
}

static int set_string(char **slot, const char *s)
{
    char *d = NULL;
    if (s && !(d = pb_rt_strdup(s)))
        return PLUGBOX_HOST;
    free(*slot);
    *slot = d;
    return PLUGBOX_OK;
}

int pb__options_text(char **text, size_t *text_len, const char *s, size_t len)
{
    char *copy = NULL;
    if (s) {
        if (len == (size_t)-1)
            len = strlen(s);
        if (!(copy = pb_rt_malloc(len + 1)))
            return PLUGBOX_HOST;
        memcpy(copy, s, len);
        copy[len] = 0;
    }
    free(*text);
    *text = copy;
    *text_len = s ? len : 0;
    return PLUGBOX_OK;
}

int plugbox_options_set_sample(plugbox_options *o, const char *json, size_t len)
{
    return o ? pb__options_text(&o->sample, &o->sample_len, json, len) : PLUGBOX_ARGUMENT;
}

int plugbox_options_set_function(plugbox_options *o, const char *name)
{
    if (!o || (name && !*name))
        return PLUGBOX_ARGUMENT;
    return set_string(&o->function, name);
}

int plugbox_options_set_filename(plugbox_options *o, const char *name)
{
    if (!o)
        return PLUGBOX_ARGUMENT;
    return set_string(&o->filename, name);
}

void pb__strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

int pb__strings_copy(char ***dst, const char *const *src, size_t n)
{
    char **v = n ? pb_rt_calloc(n, sizeof *v) : NULL;
    if (n && !v)
        return PLUGBOX_HOST;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = pb_rt_strdup(src[i] ? src[i] : ""))) {
            pb__strings_free(v, n);
            return PLUGBOX_HOST;
        }
    *dst = v;
    return PLUGBOX_OK;
}

int plugbox_options_set_arguments(plugbox_options *o, size_t argc, const char *const *argv)
{
    if (!o || (argc && !argv))
        return PLUGBOX_ARGUMENT;
    char **v = NULL;
    if (pb__strings_copy(&v, argv, argc) != PLUGBOX_OK)
        return PLUGBOX_HOST;
    pb__strings_free(o->argv, o->argc);
    o->argv = v;
    o->argc = argc;
    return PLUGBOX_OK;
}

int plugbox_options_set_module_dir(plugbox_options *o, const char *dir)
{
    if (!o || (dir && !*dir))
        return PLUGBOX_ARGUMENT;
    return set_string(&o->module_dir, dir);
}

int plugbox_options_set_typescript(plugbox_options *o, int typescript)
{
    if (!o)
        return PLUGBOX_ARGUMENT;
    o->typescript = typescript != 0;
    return PLUGBOX_OK;
}

int plugbox_options_set_stateful(plugbox_options *o, int stateful)
{
    if (!o)
        return PLUGBOX_ARGUMENT;
    o->stateful = stateful != 0;
    return PLUGBOX_OK;
}

int plugbox_options_set_console(plugbox_options *o, plugbox_console_fn fn, void *user)
{
    if (!o)
        return PLUGBOX_ARGUMENT;
    o->console = fn;
    o->console_user = user;
    return PLUGBOX_OK;
}
