/* SPDX-License-Identifier: MIT */
/* gstplugboxscript.c - the script's sandbox: one engine per process, the program built from
 * the element's properties and swapped in between two buffers, calls that a stop or a flush
 * interrupts, the script's errors (rate-limited warnings) and its stream events. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <string.h>

#include "gstplugboxelement.h"

/* ---- one engine per process ---------------------------------------------------------------- */

/* The process's engine, made on first use. NULL with *rc set when it cannot be made (no
 * memory or address space): the next start tries again. */
plugbox_engine *gst_plugbox_shared_engine(int *rc)
{
    static GMutex lock;
    static plugbox_engine *engine = NULL;
    g_mutex_lock(&lock);
    *rc = engine ? PLUGBOX_OK : plugbox_engine_new(&engine);
    plugbox_engine *e = engine;
    g_mutex_unlock(&lock);
    return e;
}

static void on_console(void *user, plugbox_console_level level, const char *text, size_t len)
{
    GstPlugboxFilter *self = user;
    if (level == PLUGBOX_CONSOLE_ERROR || level == PLUGBOX_CONSOLE_WARN)
        GST_WARNING_OBJECT(self, "script: %.*s", (int)len, text);
    else
        GST_INFO_OBJECT(self, "script: %.*s", (int)len, text);
}

/* Compiles the current script (or location) into a sandbox. Runs on the caller's thread, not
 * the streaming thread. Returns NULL with *err set when there is no script or it fails. */
plugbox_sandbox *gst_plugbox_build_sandbox(GstPlugboxFilter *self, plugbox_engine *engine, GError **err)
{
    GST_OBJECT_LOCK(self);
    gchar *script = g_strdup(self->script), *location = g_strdup(self->location);
    gchar *function = g_strdup(self->function), *config = g_strdup(self->config);
    gchar *caps_json = g_strdup(self->caps_json);
    guint64 memory_limit = self->memory_limit;
    guint time_limit = self->time_limit;
    gboolean stateful = self->stateful;
    GST_OBJECT_UNLOCK(self);

    plugbox_sandbox *box = NULL;
    plugbox_program *prog = NULL;
    gchar *source = script;
    gsize source_len = script ? strlen(script) : 0;
    const gchar *name = "script";
    if (!source && location) {
        if (!g_file_get_contents(location, &source, &source_len, err))
            goto out;
        name = location;
    }
    /* a WebAssembly plugin: a module, or an artifact of plugbox compile */
    gboolean plugin = source != script && ((source_len >= 4 && !memcmp(source, "\0asm", 4)) ||
                                           (source_len >= 8 && !memcmp(source, "PLUGBOXA", 8)));
    if (!source) {
        g_set_error(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "no script: set \"script\" or \"location\"");
        goto out;
    }
    plugbox_options *opts = plugbox_options_new();
    plugbox_options_set_function(opts, function);
    plugbox_options_set_filename(opts, name);
    if (name == location) { /* a module in a file imports from the file's directory */
        gchar *dir = g_path_get_dirname(location);
        plugbox_options_set_module_dir(opts, dir);
        g_free(dir);
    }
    plugbox_options_set_memory_limit(opts, memory_limit);
    plugbox_options_set_time_limit(opts, time_limit);
    plugbox_options_set_stateful(opts, stateful);
    plugbox_options_set_console(opts, on_console, self);
    if (config)
        plugbox_options_set_config(opts, config, strlen(config));
    /* what every call's input looks like, so that a fresh call finds its keys and shapes made */
    gchar *sample = gst_plugbox_describe_sample(caps_json);
    plugbox_options_set_sample(opts, sample, strlen(sample));
    g_free(sample);
    int rc = plugin ? plugbox_program_new_plugin(engine, source, source_len, opts, &prog)
                    : plugbox_program_new(engine, source, strlen(source), opts, &prog);
    if (rc != PLUGBOX_OK) {
        g_set_error(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "%s: %s\n%s", name,
                    prog ? plugbox_program_error_message(prog) : plugbox_strerror(rc),
                    prog ? plugbox_program_error_stack(prog) : "");
    } else if ((rc = plugbox_sandbox_new(prog, opts, &box)) != PLUGBOX_OK) {
        g_set_error(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "%s: %s", name, plugbox_strerror(rc));
    }
    plugbox_options_free(opts);
out:
    plugbox_program_free(prog);
    if (source != script)
        g_free(source);
    g_free(script);
    g_free(location);
    g_free(function);
    g_free(config);
    g_free(caps_json);
    return box;
}

/* A new script while running: build it here and leave it for the streaming thread. */
void gst_plugbox_reload(GstPlugboxFilter *self)
{
    GST_OBJECT_LOCK(self);
    gboolean running = self->box != NULL;
    GST_OBJECT_UNLOCK(self);
    if (!running)
        return; /* start() builds it */
    int rc;
    plugbox_engine *engine = gst_plugbox_shared_engine(&rc); /* there is one: start() made it */
    GError *err = NULL;
    plugbox_sandbox *box = engine ? gst_plugbox_build_sandbox(self, engine, &err) : NULL;
    if (!box) {
        GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("the new script or configuration does not compile; the old one keeps running"),
                            ("%s", err ? err->message : "?"));
        g_clear_error(&err);
        return;
    }
    GST_OBJECT_LOCK(self);
    plugbox_sandbox *old = self->next_box;
    self->next_box = box;
    GST_OBJECT_UNLOCK(self);
    plugbox_sandbox_free(old);
}

/* ---- interrupting a call ------------------------------------------------------------------ */

/* begin_call and end_call with the object lock held (enter_buffer and leave_buffer take it
 * for more). */
static gboolean begin_locked(GstPlugboxFilter *self, plugbox_sandbox *box)
{
    gboolean go = !self->stopping && !self->flushing;
    if (go)
        self->in_call = box;
    return go;
}

static gboolean end_locked(GstPlugboxFilter *self)
{
    self->in_call = NULL;
    if (self->call_waiters)
        g_cond_broadcast(&self->call_done);
    return self->stopping || self->flushing;
}

/* The streaming thread enters a call on box: FALSE when the element is stopping or flushing. */
gboolean gst_plugbox_begin_call(GstPlugboxFilter *self, plugbox_sandbox *box)
{
    GST_OBJECT_LOCK(self);
    gboolean go = begin_locked(self, box);
    GST_OBJECT_UNLOCK(self);
    return go;
}

/* The call returned: TRUE when it was ended because the element is stopping or flushing. */
gboolean gst_plugbox_end_call(GstPlugboxFilter *self)
{
    GST_OBJECT_LOCK(self);
    gboolean halted = end_locked(self);
    GST_OBJECT_UNLOCK(self);
    return halted;
}

/* Ends the running call, if any, and waits until the streaming thread is out of it; called
 * with the object lock held, after setting stopping or flushing so that no new call begins.
 * An interrupt does nothing before the call has entered the sandbox, so it is sent again on
 * each tick until the call returns (the tick is only a retry, not a deadline). */
void gst_plugbox_interrupt_call(GstPlugboxFilter *self)
{
    self->call_waiters++;
    while (self->in_call) {
        if (plugbox_sandbox_interrupt(self->in_call) != PLUGBOX_OK)
            GST_WARNING_OBJECT(self, "cannot interrupt the call");
        g_cond_wait_until(&self->call_done, GST_OBJECT_GET_LOCK(self), g_get_monotonic_time() + 10 * G_TIME_SPAN_MILLISECOND);
    }
    self->call_waiters--;
}

/* ---- the streaming thread ------------------------------------------------------------------ */

/* An exception, a limit or a bad result: a warning, or an error with on-error=fail. Warnings
 * are rate-limited: the first, then at most one a second, which says how many were not posted
 * since (the errors property counts every one). */
GstFlowReturn gst_plugbox_script_error(GstPlugboxFilter *self, GstPlugboxOnError on_error, const char *msg, const char *stack)
{
    if (on_error == GST_PLUGBOX_ON_ERROR_FAIL) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("script: %s", msg), ("%s", stack));
        return GST_FLOW_ERROR;
    }
    GST_OBJECT_LOCK(self);
    gint64 interval = (gint64)self->warning_interval * G_TIME_SPAN_MILLISECOND;
    GST_OBJECT_UNLOCK(self);
    gint64 now = g_get_monotonic_time();
    if (self->warned_us && now - self->warned_us < interval) {
        self->unwarned++;
        GST_DEBUG_OBJECT(self, "script: %s (warning not posted: at most one a second)", msg);
    } else if (self->unwarned) {
        GST_ELEMENT_WARNING(self, STREAM, FAILED,
                            ("script: %s (and %" G_GUINT64_FORMAT " more errors not posted since the last warning)",
                             msg, self->unwarned),
                            ("%s", stack));
        self->unwarned = 0;
        self->warned_us = now;
    } else {
        GST_ELEMENT_WARNING(self, STREAM, FAILED, ("script: %s", msg), ("%s", stack));
        self->warned_us = now;
    }
    return on_error == GST_PLUGBOX_ON_ERROR_DROP ? GST_BASE_TRANSFORM_FLOW_DROPPED : GST_FLOW_OK;
}

/* A new script's sandbox swapped in, between two buffers (object lock held): the old one,
 * to free once the lock is released, or NULL. */
static plugbox_sandbox *swap_box(GstPlugboxFilter *self)
{
    plugbox_sandbox *old = NULL;
    if (self->next_box) {
        old = self->box;
        self->box = self->next_box;
        self->next_box = NULL;
    }
    return old;
}

/* The sandbox to call from now on: a new script's, swapped in here, between two buffers. */
plugbox_sandbox *gst_plugbox_current_box(GstPlugboxFilter *self)
{
    GST_OBJECT_LOCK(self);
    plugbox_sandbox *old = swap_box(self);
    plugbox_sandbox *box = self->box;
    GST_OBJECT_UNLOCK(self);
    plugbox_sandbox_free(old);
    return box;
}

/* A buffer's call: what begin_call, current_box and reading the settings do, under one lock
 * (the object lock was taken six times a buffer, a tenth of the element's own time). */
GstFlowReturn gst_plugbox_enter_buffer(GstPlugboxFilter *self, plugbox_sandbox **box, GstPlugboxOnError *on_error,
                                       GstPlugboxDataAccess *access)
{
    GST_OBJECT_LOCK(self);
    plugbox_sandbox *old = swap_box(self);
    *box = self->box;
    *on_error = self->on_error;
    *access = self->data_access;
    gboolean go = !*box || begin_locked(self, *box);
    GST_OBJECT_UNLOCK(self);
    plugbox_sandbox_free(old);
    return go ? GST_FLOW_OK : GST_FLOW_FLUSHING;
}

gboolean gst_plugbox_leave_buffer(GstPlugboxFilter *self, int rc, gdouble us)
{
    GST_OBJECT_LOCK(self);
    gboolean halted = end_locked(self);
    if (rc == PLUGBOX_INTERRUPTED && halted) {
        GST_OBJECT_UNLOCK(self);
        return TRUE; /* not the script's call to count */
    }
    self->calls++;
    self->total_us += us;
    if (us > self->max_us)
        self->max_us = us;
    GST_OBJECT_UNLOCK(self);
    return halted;
}

/* A stream event for the script: its function `name` (start, eos, flush, stop), called with
 * json when it defines one. Its result's JSON text goes to *result (g_free) when it returned
 * something; its errors follow on-error, and FALSE means the stream must fail. A script that
 * does not define the function is not an error. guarded: the call may be interrupted by a
 * stop or a flush (it runs on the streaming thread). */
gboolean gst_plugbox_call_event(GstPlugboxFilter *self, plugbox_sandbox *box, const char *name, const char *json,
                           gboolean guarded, gchar **result)
{
    if (result)
        *result = NULL;
    if (!box || (guarded && !gst_plugbox_begin_call(self, box)))
        return TRUE;
    const char *out;
    size_t out_len;
    int rc = plugbox_sandbox_call_function(box, name, json, json ? strlen(json) : 0, &out, &out_len);
    gboolean halted = guarded && gst_plugbox_end_call(self);
    if (rc == PLUGBOX_ARGUMENT || (rc == PLUGBOX_INTERRUPTED && halted))
        return TRUE; /* no such function; or stopped, flushed: not the script's error */
    GST_OBJECT_LOCK(self);
    GstPlugboxOnError on_error = self->on_error;
    if (rc != PLUGBOX_OK)
        self->errors++;
    GST_OBJECT_UNLOCK(self);
    if (rc != PLUGBOX_OK) {
        gchar *msg = g_strdup_printf("%s(): %s", name, plugbox_sandbox_error_message(box));
        GstFlowReturn r = gst_plugbox_script_error(self, on_error, msg, plugbox_sandbox_error_stack(box));
        g_free(msg);
        return r != GST_FLOW_ERROR;
    }
    if (result && out)
        *result = g_strndup(out, out_len);
    return TRUE;
}

/* flush()'s result is an object whose "keep" is true */
gboolean gst_plugbox_says_keep(const gchar *json)
{
    GstPlugboxJsonReader r = {json, json + strlen(json)};
    GString *key = g_string_new(NULL);
    gboolean more = TRUE, keep = FALSE;
    if (gst_plugbox_json_enter_object(&r))
        while (gst_plugbox_json_member(&r, key, &more) && more) {
            if (!strcmp(key->str, "keep") && gst_plugbox_json_peek(&r) == GST_PLUGBOX_JSON_TRUE)
                keep = TRUE;
            if (!gst_plugbox_json_skip(&r))
                break;
        }
    g_string_free(key, TRUE);
    return keep;
}

/* eos()'s result, posted as the element message "plugbox" before EOS goes downstream */
void gst_plugbox_post_summary(GstPlugboxFilter *self, const gchar *json)
{
    GstStructure *st = gst_structure_new("plugbox", "json", G_TYPE_STRING, json, "event", G_TYPE_STRING, "eos", NULL);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
}

