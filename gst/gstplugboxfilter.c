/* SPDX-License-Identifier: MIT */
/* gstplugboxfilter.c - plugboxfilter: a sandboxed JavaScript function called on every buffer.
 *
 * The script's function (property "function", default "process") receives, per buffer, an
 * object with the timestamps, offset, flags, the caps as a plain object, the regions of
 * interest (GstVideoRegionOfInterestMeta, with their parameter structures as plain objects)
 * and the JSON metadata an upstream plugboxfilter attached. It returns nothing or true (pass
 * the buffer on), false (drop it), or an object with any of "drop", "rois" (replace the
 * buffer's regions of interest), "meta" (JSON attached to the buffer for elements downstream)
 * and "message" (JSON posted on the bus as an element message). With "data-access" read or
 * readwrite the function gets the buffer's bytes too, as a Uint8Array in its second argument;
 * with readwrite, what it leaves there is written into the buffer (when the call succeeds).
 *
 * The script runs in a plugbox sandbox with its memory and time limits; an exception or a
 * limit posts a warning and the buffer is passed, dropped or the stream fails ("on-error").
 * Stopping or flushing the element interrupts a running call.
 * Setting "script", "location" or "config" (the script's global `config`, JSON) while
 * playing compiles the new program on the setting thread and swaps it in between two buffers: no buffer is lost or seen twice, and a script
 * that does not compile leaves the old one running (with a warning).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdarg.h>
#include <string.h>

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>

#include "gstplugboxfilter.h"
#include "gstplugboxjson.h"
#include "plugbox.h"

GST_DEBUG_CATEGORY_STATIC(gst_plugbox_filter_debug);
#define GST_CAT_DEFAULT gst_plugbox_filter_debug

#define DEFAULT_FUNCTION "process"
#define DEFAULT_MEMORY_LIMIT (64u << 20)
#define DEFAULT_WARNING_INTERVAL 1000
#define DEFAULT_TIME_LIMIT 1000 /* a pipeline is real time */
#define DEFAULT_ON_ERROR GST_PLUGBOX_ON_ERROR_PASS
#define DEFAULT_STATEFUL TRUE
#define DEFAULT_DATA_ACCESS GST_PLUGBOX_DATA_ACCESS_NONE

enum {
    PROP_0,
    PROP_SCRIPT,
    PROP_LOCATION,
    PROP_CONFIG,
    PROP_WARNING_INTERVAL,
    PROP_FUNCTION,
    PROP_MEMORY_LIMIT,
    PROP_TIME_LIMIT,
    PROP_ON_ERROR,
    PROP_STATEFUL,
    PROP_DATA_ACCESS,
    PROP_CALLS,
    PROP_ERRORS,
    PROP_MEAN_TIME,
    PROP_MAX_TIME,
};

struct _GstPlugboxFilter {
    GstBaseTransform parent;

    /* properties, under the object lock */
    gchar *script, *location, *function;
    gchar *config; /* JSON text, the script's global `config`; NULL: none */
    guint64 memory_limit;
    guint time_limit;
    GstPlugboxOnError on_error;
    gboolean stateful;
    GstPlugboxDataAccess data_access;
    guint warning_interval; /* ms between two warnings of script errors; 0: every one */

    /* the sandbox the streaming thread calls, and the one a property change prepared for it
     * (swapped in between two buffers, under the object lock) */
    plugbox_sandbox *box, *next_box;
    gchar *caps_json;

    /* stopping (from PAUSED->READY to READY->PAUSED) and flushing (from FLUSH_START to
     * FLUSH_STOP) refuse new calls; in_call is the sandbox the streaming thread is calling, NULL
     * when none, and call_done is signalled when that call returns. Under the object lock. */
    gboolean stopping, flushing;
    plugbox_sandbox *in_call;
    GCond call_done;

    /* the streaming thread's: the input of the current call, its regions of interest, and
     * scratch strings for reading the result */
    GString *input, *key, *text, *name;
    GArray *rois; /* InputRoi */

    /* statistics, under the object lock */
    guint64 calls, errors;
    gdouble total_us, max_us;

    /* warnings of script errors, rate-limited (the streaming thread's): when the last was
     * posted, and how many were not since */
    gint64 warned_us;
    guint64 unwarned;
};

G_DEFINE_TYPE(GstPlugboxFilter, gst_plugbox_filter, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(plugboxfilter, "plugboxfilter", GST_RANK_NONE, GST_TYPE_PLUGBOX_FILTER);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

GType gst_plugbox_on_error_get_type(void)
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {GST_PLUGBOX_ON_ERROR_PASS, "Pass the buffer on", "pass"},
        {GST_PLUGBOX_ON_ERROR_DROP, "Drop the buffer", "drop"},
        {GST_PLUGBOX_ON_ERROR_FAIL, "Post an error and stop the stream", "fail"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstPlugboxOnError", values));
    return type;
}

GType gst_plugbox_data_access_get_type(void)
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {GST_PLUGBOX_DATA_ACCESS_NONE, "The script does not see the bytes", "none"},
        {GST_PLUGBOX_DATA_ACCESS_READ, "The script reads the bytes", "read"},
        {GST_PLUGBOX_DATA_ACCESS_READWRITE, "The script reads and changes the bytes", "readwrite"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstPlugboxDataAccess", values));
    return type;
}

/* ---- the JSON metadata that travels with buffers ------------------------------------------ */

static const gchar *meta_tags[] = {NULL};

const GstMetaInfo *gst_plugbox_meta_get_info(void)
{
    static const GstMetaInfo *info = NULL;
    if (g_once_init_enter(&info))
        g_once_init_leave(&info, gst_meta_register_custom("GstPlugboxMeta", meta_tags, NULL, NULL, NULL));
    return info;
}

/* The JSON text an upstream plugboxfilter attached to buf, or NULL. */
const gchar *gst_plugbox_meta_get_json(GstBuffer *buf)
{
    GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, "GstPlugboxMeta");
    if (!meta)
        return NULL;
    return gst_structure_get_string(gst_custom_meta_get_structure(meta), "json");
}

static void set_meta_json(GstBuffer *buf, const gchar *json)
{
    GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, "GstPlugboxMeta");
    if (!meta)
        meta = gst_buffer_add_custom_meta(buf, "GstPlugboxMeta");
    if (meta)
        gst_structure_set(gst_custom_meta_get_structure(meta), "json", G_TYPE_STRING, json, NULL);
}

/* ---- one engine per process ---------------------------------------------------------------- */

/* The process's engine, made on first use. NULL with *rc set when it cannot be made (no
 * memory or address space): the next start tries again. */
static plugbox_engine *shared_engine(int *rc)
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
static plugbox_sandbox *build_sandbox(GstPlugboxFilter *self, plugbox_engine *engine, GError **err)
{
    GST_OBJECT_LOCK(self);
    gchar *script = g_strdup(self->script), *location = g_strdup(self->location);
    gchar *function = g_strdup(self->function), *config = g_strdup(self->config);
    guint64 memory_limit = self->memory_limit;
    guint time_limit = self->time_limit;
    gboolean stateful = self->stateful;
    GST_OBJECT_UNLOCK(self);

    plugbox_sandbox *box = NULL;
    plugbox_program *prog = NULL;
    gchar *source = script;
    const gchar *name = "script";
    if (!source && location) {
        if (!g_file_get_contents(location, &source, NULL, err))
            goto out;
        name = location;
    }
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
    int rc = plugbox_program_new(engine, source, strlen(source), opts, &prog);
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
    return box;
}

/* A new script while running: build it here and leave it for the streaming thread. */
static void reload(GstPlugboxFilter *self)
{
    GST_OBJECT_LOCK(self);
    gboolean running = self->box != NULL;
    GST_OBJECT_UNLOCK(self);
    if (!running)
        return; /* start() builds it */
    int rc;
    plugbox_engine *engine = shared_engine(&rc); /* there is one: start() made it */
    GError *err = NULL;
    plugbox_sandbox *box = engine ? build_sandbox(self, engine, &err) : NULL;
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

/* ---- properties ---------------------------------------------------------------------------- */

static void gst_plugbox_filter_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(object);
    gboolean rebuild = FALSE;
    GST_OBJECT_LOCK(self);
    switch (prop_id) {
    case PROP_SCRIPT:
        g_free(self->script);
        self->script = g_value_dup_string(value);
        rebuild = TRUE;
        break;
    case PROP_LOCATION:
        g_free(self->location);
        self->location = g_value_dup_string(value);
        rebuild = TRUE;
        break;
    case PROP_WARNING_INTERVAL: self->warning_interval = g_value_get_uint(value); break;
    case PROP_CONFIG:
        g_free(self->config);
        self->config = g_value_dup_string(value);
        rebuild = TRUE;
        break;
    case PROP_FUNCTION:
        g_free(self->function);
        self->function = g_value_dup_string(value);
        rebuild = TRUE;
        break;
    /* the limits also go to the live sandboxes, which take them at their next call */
    case PROP_MEMORY_LIMIT:
        self->memory_limit = g_value_get_uint64(value);
        for (int i = 0; i < 2; i++) {
            plugbox_sandbox *b = i ? self->next_box : self->box;
            if (b && plugbox_sandbox_set_limit(b, PLUGBOX_LIMIT_MEMORY, self->memory_limit) != PLUGBOX_OK)
                GST_WARNING_OBJECT(self, "memory-limit %" G_GUINT64_FORMAT " is below what the script's snapshot "
                                   "takes: the running script keeps its limit", self->memory_limit);
        }
        break;
    case PROP_TIME_LIMIT:
        self->time_limit = g_value_get_uint(value);
        if (self->box)
            plugbox_sandbox_set_limit(self->box, PLUGBOX_LIMIT_TIME, self->time_limit);
        if (self->next_box)
            plugbox_sandbox_set_limit(self->next_box, PLUGBOX_LIMIT_TIME, self->time_limit);
        break;
    case PROP_ON_ERROR: self->on_error = g_value_get_enum(value); break;
    case PROP_STATEFUL: self->stateful = g_value_get_boolean(value); break;
    case PROP_DATA_ACCESS: self->data_access = g_value_get_enum(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
    if (rebuild)
        reload(self);
}

static void gst_plugbox_filter_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(object);
    GST_OBJECT_LOCK(self);
    switch (prop_id) {
    case PROP_SCRIPT: g_value_set_string(value, self->script); break;
    case PROP_LOCATION: g_value_set_string(value, self->location); break;
    case PROP_CONFIG: g_value_set_string(value, self->config); break;
    case PROP_WARNING_INTERVAL: g_value_set_uint(value, self->warning_interval); break;
    case PROP_FUNCTION: g_value_set_string(value, self->function); break;
    case PROP_MEMORY_LIMIT: g_value_set_uint64(value, self->memory_limit); break;
    case PROP_TIME_LIMIT: g_value_set_uint(value, self->time_limit); break;
    case PROP_ON_ERROR: g_value_set_enum(value, self->on_error); break;
    case PROP_STATEFUL: g_value_set_boolean(value, self->stateful); break;
    case PROP_DATA_ACCESS: g_value_set_enum(value, self->data_access); break;
    case PROP_CALLS: g_value_set_uint64(value, self->calls); break;
    case PROP_ERRORS: g_value_set_uint64(value, self->errors); break;
    case PROP_MEAN_TIME: g_value_set_double(value, self->calls ? self->total_us / (gdouble)self->calls : 0); break;
    case PROP_MAX_TIME: g_value_set_double(value, self->max_us); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

/* ---- what the script sees ------------------------------------------------------------------ */

typedef struct {
    GstVideoRegionOfInterestMeta *meta;
    gsize start, end; /* its JSON text in the input */
    gboolean kept;
} InputRoi;

typedef struct {
    GString *s;
    gboolean first;
} FieldWriter;

static void put_value(GString *s, const GValue *value)
{
    GType t = G_VALUE_TYPE(value);
    if (t == G_TYPE_INT) {
        gst_plugbox_json_put_int(s, g_value_get_int(value));
    } else if (t == G_TYPE_UINT) {
        gst_plugbox_json_put_uint(s, g_value_get_uint(value));
    } else if (t == G_TYPE_INT64) {
        gst_plugbox_json_put_int(s, g_value_get_int64(value));
    } else if (t == G_TYPE_UINT64) {
        gst_plugbox_json_put_uint(s, g_value_get_uint64(value));
    } else if (t == G_TYPE_DOUBLE) {
        gst_plugbox_json_put_double(s, g_value_get_double(value));
    } else if (t == G_TYPE_FLOAT) {
        gst_plugbox_json_put_double(s, g_value_get_float(value));
    } else if (t == G_TYPE_BOOLEAN) {
        g_string_append(s, g_value_get_boolean(value) ? "true" : "false");
    } else if (t == G_TYPE_STRING) {
        gst_plugbox_json_put_string(s, g_value_get_string(value) ? g_value_get_string(value) : "");
    } else if (t == GST_TYPE_FRACTION) {
        gint n = gst_value_get_fraction_numerator(value), d = gst_value_get_fraction_denominator(value);
        if (d)
            gst_plugbox_json_put_double(s, (gdouble)n / d);
        else
            g_string_append(s, "null");
    } else {
        gchar *text = gst_value_serialize(value);
        gst_plugbox_json_put_string(s, text ? text : "");
        g_free(text);
    }
}

static gboolean put_field(GQuark field, const GValue *value, gpointer user)
{
    FieldWriter *w = user;
    if (!w->first)
        g_string_append_c(w->s, ',');
    w->first = FALSE;
    gst_plugbox_json_put_string(w->s, g_quark_to_string(field));
    g_string_append_c(w->s, ':');
    put_value(w->s, value);
    return TRUE;
}

/* {"media":"video/x-raw","format":"I420","width":320,...}: rebuilt on a caps change only */
static gchar *caps_to_json(GstCaps *caps)
{
    if (!caps || gst_caps_get_size(caps) == 0)
        return g_strdup("null");
    GstStructure *st = gst_caps_get_structure(caps, 0);
    GString *s = g_string_new("{\"media\":");
    gst_plugbox_json_put_string(s, gst_structure_get_name(st));
    FieldWriter w = {s, FALSE};
    gst_structure_foreach(st, put_field, &w);
    g_string_append_c(s, '}');
    return g_string_free(s, FALSE);
}

static void put_time(GString *s, const gchar *key, GstClockTime t)
{
    g_string_append(s, key);
    if (GST_CLOCK_TIME_IS_VALID(t))
        gst_plugbox_json_put_uint(s, t);
    else
        g_string_append(s, "null");
}

static void put_roi(GString *s, const GstVideoRegionOfInterestMeta *roi)
{
    g_string_append(s, "{\"id\":");
    gst_plugbox_json_put_int(s, roi->id);
    g_string_append(s, ",\"parent_id\":");
    gst_plugbox_json_put_int(s, roi->parent_id);
    g_string_append(s, ",\"type\":");
    gst_plugbox_json_put_string(s, roi->roi_type ? g_quark_to_string(roi->roi_type) : "");
    g_string_append(s, ",\"x\":");
    gst_plugbox_json_put_uint(s, roi->x);
    g_string_append(s, ",\"y\":");
    gst_plugbox_json_put_uint(s, roi->y);
    g_string_append(s, ",\"w\":");
    gst_plugbox_json_put_uint(s, roi->w);
    g_string_append(s, ",\"h\":");
    gst_plugbox_json_put_uint(s, roi->h);
    g_string_append(s, ",\"params\":{");
    for (GList *l = roi->params; l; l = l->next) {
        GstStructure *p = l->data;
        if (l != roi->params)
            g_string_append_c(s, ',');
        gst_plugbox_json_put_string(s, gst_structure_get_name(p));
        g_string_append(s, ":{");
        FieldWriter w = {s, TRUE};
        gst_structure_foreach(p, put_field, &w);
        g_string_append_c(s, '}');
    }
    g_string_append(s, "}}");
}

/* The buffer's description, into self->input; its regions of interest, into self->rois. */
static void describe_buffer(GstPlugboxFilter *self, GstBuffer *buf)
{
    static const struct {
        GstBufferFlags flag;
        const gchar *name;
    } flags[] = {
        {GST_BUFFER_FLAG_LIVE, "live"},           {GST_BUFFER_FLAG_DECODE_ONLY, "decode-only"},
        {GST_BUFFER_FLAG_DISCONT, "discont"},     {GST_BUFFER_FLAG_RESYNC, "resync"},
        {GST_BUFFER_FLAG_CORRUPTED, "corrupted"}, {GST_BUFFER_FLAG_MARKER, "marker"},
        {GST_BUFFER_FLAG_HEADER, "header"},       {GST_BUFFER_FLAG_GAP, "gap"},
        {GST_BUFFER_FLAG_DROPPABLE, "droppable"}, {GST_BUFFER_FLAG_DELTA_UNIT, "delta-unit"},
    };
    GString *s = self->input;
    g_string_truncate(s, 0);
    put_time(s, "{\"pts\":", GST_BUFFER_PTS(buf));
    put_time(s, ",\"dts\":", GST_BUFFER_DTS(buf));
    put_time(s, ",\"duration\":", GST_BUFFER_DURATION(buf));
    g_string_append(s, ",\"offset\":");
    if (GST_BUFFER_OFFSET_IS_VALID(buf))
        gst_plugbox_json_put_uint(s, GST_BUFFER_OFFSET(buf));
    else
        g_string_append(s, "null");
    g_string_append(s, ",\"flags\":[");
    gboolean first = TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
        if (GST_BUFFER_FLAG_IS_SET(buf, flags[i].flag)) {
            if (!first)
                g_string_append_c(s, ',');
            gst_plugbox_json_put_string(s, flags[i].name);
            first = FALSE;
        }
    }
    g_string_append(s, "],\"size\":");
    gst_plugbox_json_put_uint(s, gst_buffer_get_size(buf));
    g_string_append(s, ",\"caps\":");
    g_string_append(s, self->caps_json ? self->caps_json : "null");

    g_array_set_size(self->rois, 0);
    gpointer state = NULL;
    GstMeta *m;
    while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
        InputRoi r = {(GstVideoRegionOfInterestMeta *)m, 0, 0, FALSE};
        g_array_append_val(self->rois, r);
    }
    g_string_append(s, ",\"rois\":[");
    for (guint i = 0; i < self->rois->len; i++) {
        InputRoi *r = &g_array_index(self->rois, InputRoi, i);
        if (i > 0)
            g_string_append_c(s, ',');
        r->start = s->len;
        put_roi(s, r->meta);
        r->end = s->len;
    }
    const gchar *meta = gst_plugbox_meta_get_json(buf);
    g_string_append(s, "],\"meta\":");
    g_string_append(s, meta ? meta : "null");
    g_string_append_c(s, '}');
}

/* ---- what the script returns --------------------------------------------------------------- */

/* A result is read whole into a plan and checked before any of it is applied: a result that is
 * wrong anywhere leaves the buffer as it was.
 *
 * Every ROI type, parameter structure name and field name a result gives becomes a GQuark, which
 * GLib keeps until the process ends. A name that is one already costs nothing; a new one counts
 * against a budget shared by every plugboxfilter of the process (it is interned as it is read,
 * so a result refused further on may still have spent some). */
#define MAX_NEW_NAMES 256   /* new names scripts may make the process keep */
#define MAX_NAME_BYTES 256  /* the longest new name */
#define MAX_ROI_ITEMS 16384 /* regions, parameter structures and fields one result may make */
#define NOT_JSON "the result is not valid JSON"

typedef enum {
    ROIS_AS_THEY_ARE,
    ROIS_KEEP_SOME, /* the input's regions marked kept stay, the others go */
    ROIS_NEW,       /* the input's regions go, new_rois come */
} RoisChange;

typedef struct {
    GQuark type;
    gint id, parent_id;
    guint x, y, w, h;
    GPtrArray *params; /* GstStructure; NULL when none */
} NewRoi;

typedef struct {
    gboolean drop;
    RoisChange rois;
    GArray *new_rois; /* NewRoi */
    guint items;      /* regions, parameter structures and fields in new_rois */
    gchar *meta, *message;
    gchar *error; /* what is wrong with the result; NULL when nothing is */
} Plan;

static void clear_new_roi(gpointer data)
{
    NewRoi *roi = data;
    if (roi->params)
        g_ptr_array_unref(roi->params);
}

static void plan_clear(Plan *p)
{
    if (p->new_rois)
        g_array_unref(p->new_rois);
    g_free(p->meta);
    g_free(p->message);
    g_free(p->error);
}

/* Records what is wrong (the first thing only); returns FALSE. */
static gboolean plan_fail(Plan *p, const gchar *format, ...) G_GNUC_PRINTF(2, 3);
static gboolean plan_fail(Plan *p, const gchar *format, ...)
{
    if (!p->error) {
        va_list ap;
        va_start(ap, format);
        p->error = g_strdup_vprintf(format, ap);
        va_end(ap);
    }
    return FALSE;
}

/* One more region, parameter structure or field, within MAX_ROI_ITEMS. */
static gboolean plan_item(Plan *p)
{
    return ++p->items <= MAX_ROI_ITEMS ||
           plan_fail(p, "rois: more than %d regions, parameter structures and fields", MAX_ROI_ITEMS);
}

/* ---- names ---- */

typedef enum { NAME_TYPE, NAME_STRUCTURE, NAME_FIELD } NameKind;

static gboolean is_name_char(gchar c)
{
    return g_ascii_isalnum(c) || (c && strchr("/-_.:+", c));
}

/* What is wrong with a name, or NULL. A structure name is what gst_structure_new_empty takes:
 * a letter, then letters, digits and any of /-_.:+. A field name has the same characters, at
 * least one: gst_structure_set takes any name, but a structure's text form (caps, gst-launch)
 * carries only these. A region's type may be anything (the JSON reader never gives a NUL). */
static const gchar *name_problem(const GString *name, NameKind kind)
{
    if (kind == NAME_TYPE)
        return NULL;
    gboolean ok = name->len > 0 && (kind == NAME_FIELD || g_ascii_isalpha(name->str[0]));
    for (gsize i = 0; ok && i < name->len; i++)
        ok = is_name_char(name->str[i]);
    if (ok)
        return NULL;
    return kind == NAME_STRUCTURE ? "is not a valid structure name (a letter, then letters, digits and any of /-_.:+)"
                                  : "is not a valid field name (letters, digits and any of /-_.:+)";
}

/* The quark of a valid name: the existing one, or a new one within the budget; 0 with
 * *problem set when the name would go past it. */
static GQuark name_quark(const gchar *name, gsize len, const gchar **problem)
{
    static GMutex lock;
    static guint made; /* new names made for scripts, under lock */
    GQuark q = g_quark_try_string(name);
    if (q)
        return q;
    if (len > MAX_NAME_BYTES) {
        *problem = "would be a new name longer than " G_STRINGIFY(MAX_NAME_BYTES) " bytes";
        return 0;
    }
    g_mutex_lock(&lock);
    q = g_quark_try_string(name); /* another thread may have made it meanwhile */
    if (!q && made < MAX_NEW_NAMES) {
        made++;
        q = g_quark_from_string(name);
    }
    g_mutex_unlock(&lock);
    if (!q)
        *problem = "would be a new name past the " G_STRINGIFY(MAX_NEW_NAMES) " that scripts may make in a process "
                   "(GLib keeps every name until the process ends)";
    return q;
}

/* name as a JSON string for a message, cut at about 40 bytes */
static gchar *quote_name(const GString *name)
{
    gsize n = name->len;
    if (n > 40) {
        n = 40;
        while (n > 0 && ((guchar)name->str[n] & 0xc0) == 0x80) /* not inside a character */
            n--;
    }
    GString *s = g_string_new(NULL);
    gchar *cut = g_strndup(name->str, n);
    gst_plugbox_json_put_string(s, cut);
    g_free(cut);
    if (n < name->len)
        g_string_append_printf(s, "... (%" G_GSIZE_FORMAT " bytes)", name->len);
    return g_string_free(s, FALSE);
}

/* The quark for a name of region i (its type, a parameter structure's name, or a field name of
 * the structure `structure`); 0 when the name is not valid or past the budget. */
static GQuark plan_name(Plan *p, guint i, NameKind kind, const GString *name, const gchar *structure)
{
    static const gchar *member[] = {"type", "params", "params."};
    const gchar *problem = name_problem(name, kind);
    GQuark q = problem ? 0 : name_quark(name->str, name->len, &problem);
    if (!q) {
        gchar *quoted = quote_name(name);
        plan_fail(p, "rois[%u].%s%s: %s %s", i, member[kind], kind == NAME_FIELD ? structure : "", quoted, problem);
        g_free(quoted);
    }
    return q;
}

/* ---- regions of interest ---- */

static guint clamp_uint(gdouble v)
{
    return v > 0 ? (v < (gdouble)G_MAXUINT ? (guint)v : G_MAXUINT) : 0;
}

static gint clamp_int(gdouble v)
{
    return v > G_MININT ? (v < G_MAXINT ? (gint)v : G_MAXINT) : G_MININT;
}

/* The field's value, of type t (a number, a string or a boolean): integers int, or int64 past
 * int's range; other numbers double. */
static gboolean set_field(GstPlugboxFilter *self, GstStructure *st, GQuark field, GstPlugboxJsonReader *r,
                          GstPlugboxJsonType t)
{
    gdouble v;
    gboolean integral;
    if (t == GST_PLUGBOX_JSON_STRING) {
        if (!gst_plugbox_json_string(r, self->text))
            return FALSE;
        gst_structure_id_set(st, field, G_TYPE_STRING, self->text->str, NULL);
    } else if (t == GST_PLUGBOX_JSON_NUMBER) {
        if (!gst_plugbox_json_number(r, &v, &integral))
            return FALSE;
        if (integral && v >= G_MININT && v <= G_MAXINT)
            gst_structure_id_set(st, field, G_TYPE_INT, (gint)v, NULL);
        else if (integral && v >= -9007199254740992.0 && v <= 9007199254740992.0)
            gst_structure_id_set(st, field, G_TYPE_INT64, (gint64)v, NULL);
        else
            gst_structure_id_set(st, field, G_TYPE_DOUBLE, v, NULL);
    } else {
        gst_structure_id_set(st, field, G_TYPE_BOOLEAN, t == GST_PLUGBOX_JSON_TRUE, NULL);
        return gst_plugbox_json_skip(r);
    }
    return TRUE;
}

/* A parameter structure's fields, from a plain object: numbers, strings and booleans; the rest
 * is left out. */
static gboolean plan_fields(GstPlugboxFilter *self, Plan *p, GstPlugboxJsonReader *r, guint i, GstStructure *st)
{
    gboolean more = TRUE;
    gst_plugbox_json_enter_object(r);
    while (gst_plugbox_json_member(r, self->key, &more) && more) {
        GstPlugboxJsonType t = gst_plugbox_json_peek(r);
        if (t != GST_PLUGBOX_JSON_NUMBER && t != GST_PLUGBOX_JSON_STRING && t != GST_PLUGBOX_JSON_TRUE &&
            t != GST_PLUGBOX_JSON_FALSE) {
            if (!gst_plugbox_json_skip(r))
                return plan_fail(p, NOT_JSON);
            continue;
        }
        GQuark field = plan_name(p, i, NAME_FIELD, self->key, gst_structure_get_name(st));
        if (!field || !plan_item(p))
            return FALSE;
        if (!set_field(self, st, field, r, t))
            return plan_fail(p, NOT_JSON);
    }
    return !more || plan_fail(p, NOT_JSON);
}

/* A region's "params": each member that is an object is a parameter structure of that name. */
static gboolean plan_params(GstPlugboxFilter *self, Plan *p, GstPlugboxJsonReader *r, guint i, NewRoi *roi)
{
    gboolean more = TRUE;
    gst_plugbox_json_enter_object(r);
    while (gst_plugbox_json_member(r, self->name, &more) && more) {
        if (gst_plugbox_json_peek(r) != GST_PLUGBOX_JSON_OBJECT) {
            if (!gst_plugbox_json_skip(r))
                return plan_fail(p, NOT_JSON);
            continue;
        }
        GQuark name = plan_name(p, i, NAME_STRUCTURE, self->name, NULL);
        if (!name || !plan_item(p))
            return FALSE;
        GstStructure *st = gst_structure_new_id_empty(name);
        if (!roi->params)
            roi->params = g_ptr_array_new_with_free_func((GDestroyNotify)gst_structure_free);
        g_ptr_array_add(roi->params, st);
        if (!plan_fields(self, p, r, i, st))
            return FALSE;
    }
    return !more || plan_fail(p, NOT_JSON);
}

/* Region i, from an object like those the script received; anything else makes none. */
static gboolean plan_roi(GstPlugboxFilter *self, Plan *p, GstPlugboxJsonReader *r, guint i)
{
    if (gst_plugbox_json_peek(r) != GST_PLUGBOX_JSON_OBJECT)
        return gst_plugbox_json_skip(r) || plan_fail(p, NOT_JSON);
    if (!plan_item(p))
        return FALSE;
    NewRoi blank = {.type = g_quark_from_static_string("")};
    g_array_append_val(p->new_rois, blank);
    NewRoi *roi = &g_array_index(p->new_rois, NewRoi, p->new_rois->len - 1);
    gboolean more = TRUE;
    gst_plugbox_json_enter_object(r);
    while (gst_plugbox_json_member(r, self->key, &more) && more) {
        const gchar *k = self->key->str;
        GstPlugboxJsonType t = gst_plugbox_json_peek(r);
        gdouble v;
        gboolean integral;
        if (t == GST_PLUGBOX_JSON_NUMBER) {
            if (!gst_plugbox_json_number(r, &v, &integral))
                return plan_fail(p, NOT_JSON);
            if (!strcmp(k, "x"))
                roi->x = clamp_uint(v);
            else if (!strcmp(k, "y"))
                roi->y = clamp_uint(v);
            else if (!strcmp(k, "w"))
                roi->w = clamp_uint(v);
            else if (!strcmp(k, "h"))
                roi->h = clamp_uint(v);
            else if (!strcmp(k, "id"))
                roi->id = clamp_int(v);
            else if (!strcmp(k, "parent_id"))
                roi->parent_id = clamp_int(v);
        } else if (t == GST_PLUGBOX_JSON_STRING && !strcmp(k, "type")) {
            if (!gst_plugbox_json_string(r, self->text))
                return plan_fail(p, NOT_JSON);
            if (!(roi->type = plan_name(p, i, NAME_TYPE, self->text, NULL)))
                return FALSE;
        } else if (t == GST_PLUGBOX_JSON_OBJECT && !strcmp(k, "params")) {
            if (!plan_params(self, p, r, i, roi))
                return FALSE;
        } else if (!gst_plugbox_json_skip(r)) {
            return plan_fail(p, NOT_JSON);
        }
    }
    return !more || plan_fail(p, NOT_JSON);
}

/* Reads the array; *subset is TRUE when it holds regions the script received, in their order,
 * unchanged (a filter), and those are marked kept. */
static gboolean mark_kept(GstPlugboxFilter *self, GstPlugboxJsonReader *r, gboolean *subset)
{
    GArray *in = self->rois;
    const gchar *text = self->input->str;
    guint next = 0;
    gboolean more = TRUE;
    *subset = TRUE;
    for (guint i = 0; i < in->len; i++)
        g_array_index(in, InputRoi, i).kept = FALSE;
    gst_plugbox_json_enter_array(r);
    while (gst_plugbox_json_element(r, &more) && more) {
        const gchar *start = r->p;
        if (!gst_plugbox_json_skip(r))
            return FALSE;
        gsize n = (gsize)(r->p - start);
        gboolean found = FALSE;
        while (*subset && !found && next < in->len) {
            InputRoi *ir = &g_array_index(in, InputRoi, next++);
            found = ir->end - ir->start == n && !memcmp(text + ir->start, start, n);
            ir->kept = found;
        }
        *subset = *subset && found;
    }
    return !more;
}

/* The buffer's regions become those of the array, in its order: the input's own metas when
 * the array is a filter of them (parameters of any type kept), else regions made anew. */
static gboolean plan_rois(GstPlugboxFilter *self, Plan *p, GstPlugboxJsonReader *r)
{
    GstPlugboxJsonReader again = *r;
    gboolean subset, more = TRUE;
    if (!mark_kept(self, r, &subset))
        return plan_fail(p, NOT_JSON);
    if (subset) {
        p->rois = ROIS_KEEP_SOME;
        return TRUE;
    }
    p->rois = ROIS_NEW;
    if (!p->new_rois) {
        p->new_rois = g_array_new(FALSE, FALSE, sizeof(NewRoi));
        g_array_set_clear_func(p->new_rois, clear_new_roi);
    }
    g_array_set_size(p->new_rois, 0);
    gst_plugbox_json_enter_array(&again);
    for (guint i = 0; gst_plugbox_json_element(&again, &more) && more; i++)
        if (!plan_roi(self, p, &again, i))
            return FALSE;
    return !more || plan_fail(p, NOT_JSON);
}

/* A copy of the next value's JSON text, or NULL when it is not valid. */
static gchar *value_text(GstPlugboxJsonReader *r)
{
    gst_plugbox_json_peek(r);
    const gchar *start = r->p;
    if (!gst_plugbox_json_skip(r) || !g_utf8_validate_len(start, (gsize)(r->p - start), NULL))
        return NULL;
    return g_strndup(start, (gsize)(r->p - start));
}

/* Reads the whole result into p: FALSE, with p->error, when anything in it is wrong. */
static gboolean plan_result(GstPlugboxFilter *self, Plan *p, const char *json, size_t len)
{
    if (!json || (len == 4 && !memcmp(json, "true", 4)))
        return TRUE;
    if (len == 5 && !memcmp(json, "false", 5)) {
        p->drop = TRUE;
        return TRUE;
    }
    GstPlugboxJsonReader r = {json, json + len}, check = r;
    if (!gst_plugbox_json_skip(&check) || gst_plugbox_json_peek(&check) != GST_PLUGBOX_JSON_NONE || check.p != check.end)
        return plan_fail(p, NOT_JSON);
    if (gst_plugbox_json_peek(&r) != GST_PLUGBOX_JSON_OBJECT)
        return TRUE; /* anything else passes */
    gboolean more = TRUE;
    gst_plugbox_json_enter_object(&r);
    while (gst_plugbox_json_member(&r, self->key, &more) && more) {
        const gchar *k = self->key->str;
        GstPlugboxJsonType t = gst_plugbox_json_peek(&r);
        if (!strcmp(k, "drop")) {
            p->drop = t == GST_PLUGBOX_JSON_TRUE;
            gst_plugbox_json_skip(&r);
        } else if (!strcmp(k, "rois") && t == GST_PLUGBOX_JSON_ARRAY) {
            if (!plan_rois(self, p, &r))
                return FALSE;
        } else if (!strcmp(k, "meta") || !strcmp(k, "message")) {
            gchar **slot = !strcmp(k, "meta") ? &p->meta : &p->message;
            g_free(*slot);
            if (!(*slot = value_text(&r)))
                return plan_fail(p, NOT_JSON);
        } else if (!gst_plugbox_json_skip(&r)) {
            return plan_fail(p, NOT_JSON);
        }
    }
    return !more || plan_fail(p, NOT_JSON);
}

/* ---- applying a plan ---- */

static gboolean is_roi(GstBuffer *buf, GstMeta **meta, gpointer user)
{
    (void)buf;
    (void)user;
    if ((*meta)->info->api == GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)
        *meta = NULL; /* removes it */
    return TRUE;
}

static void keep_some_rois(GstPlugboxFilter *self, GstBuffer *buf)
{
    for (guint i = 0; i < self->rois->len; i++) {
        InputRoi *ir = &g_array_index(self->rois, InputRoi, i);
        if (!ir->kept)
            gst_buffer_remove_meta(buf, (GstMeta *)ir->meta);
    }
}

/* The buffer's regions become new ones; their parameter structures move to the metas. */
static void make_new_rois(GstBuffer *buf, GArray *rois)
{
    gst_buffer_foreach_meta(buf, is_roi, NULL);
    for (guint i = 0; i < rois->len; i++) {
        NewRoi *roi = &g_array_index(rois, NewRoi, i);
        GstVideoRegionOfInterestMeta *meta =
            gst_buffer_add_video_region_of_interest_meta_id(buf, roi->type, roi->x, roi->y, roi->w, roi->h);
        meta->id = roi->id;
        meta->parent_id = roi->parent_id;
        if (roi->params) {
            for (guint j = 0; j < roi->params->len; j++)
                gst_video_region_of_interest_meta_add_param(meta, g_ptr_array_index(roi->params, j));
            g_ptr_array_set_free_func(roi->params, NULL); /* the metas own them now */
        }
    }
}

static void post_message(GstPlugboxFilter *self, GstBuffer *buf, const gchar *json)
{
    GstStructure *st = gst_structure_new("plugbox", "json", G_TYPE_STRING, json, NULL);
    if (GST_BUFFER_PTS_IS_VALID(buf))
        gst_structure_set(st, "pts", G_TYPE_UINT64, GST_BUFFER_PTS(buf), NULL);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
}

/* Applies a plan read without error; FALSE to drop the buffer. */
static gboolean apply_plan(GstPlugboxFilter *self, GstBuffer *buf, Plan *p)
{
    if (p->rois == ROIS_KEEP_SOME)
        keep_some_rois(self, buf);
    else if (p->rois == ROIS_NEW)
        make_new_rois(buf, p->new_rois);
    if (p->rois != ROIS_AS_THEY_ARE)
        g_array_set_size(self->rois, 0); /* the metas it points to may be gone */
    if (p->meta)
        set_meta_json(buf, p->meta);
    if (p->message)
        post_message(self, buf, p->message);
    return !p->drop;
}

/* ---- interrupting a call ------------------------------------------------------------------ */

/* The streaming thread enters a call on box: FALSE when the element is stopping or flushing. */
static gboolean begin_call(GstPlugboxFilter *self, plugbox_sandbox *box)
{
    GST_OBJECT_LOCK(self);
    gboolean go = !self->stopping && !self->flushing;
    if (go)
        self->in_call = box;
    GST_OBJECT_UNLOCK(self);
    return go;
}

/* The call returned: TRUE when it was ended because the element is stopping or flushing. */
static gboolean end_call(GstPlugboxFilter *self)
{
    GST_OBJECT_LOCK(self);
    self->in_call = NULL;
    g_cond_broadcast(&self->call_done);
    gboolean halted = self->stopping || self->flushing;
    GST_OBJECT_UNLOCK(self);
    return halted;
}

/* Ends the running call, if any, and waits until the streaming thread is out of it; called
 * with the object lock held, after setting stopping or flushing so that no new call begins.
 * An interrupt does nothing before the call has entered the sandbox, so it is sent again on
 * each tick until the call returns (the tick is only a retry, not a deadline). */
static void interrupt_call(GstPlugboxFilter *self)
{
    while (self->in_call) {
        if (plugbox_sandbox_interrupt(self->in_call) != PLUGBOX_OK)
            GST_WARNING_OBJECT(self, "cannot interrupt the call");
        g_cond_wait_until(&self->call_done, GST_OBJECT_GET_LOCK(self), g_get_monotonic_time() + 10 * G_TIME_SPAN_MILLISECOND);
    }
}

static GstStateChangeReturn gst_plugbox_filter_change_state(GstElement *element, GstStateChange transition)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(element);
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
        GST_OBJECT_LOCK(self);
        self->stopping = self->flushing = FALSE;
        GST_OBJECT_UNLOCK(self);
    } else if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
        /* before the pads deactivate, which waits for the streaming thread */
        GST_OBJECT_LOCK(self);
        self->stopping = TRUE;
        interrupt_call(self);
        GST_OBJECT_UNLOCK(self);
    }
    return GST_ELEMENT_CLASS(gst_plugbox_filter_parent_class)->change_state(element, transition);
}

/* ---- the streaming thread ------------------------------------------------------------------ */

/* An exception, a limit or a bad result: a warning, or an error with on-error=fail. Warnings
 * are rate-limited: the first, then at most one a second, which says how many were not posted
 * since (the errors property counts every one). */
static GstFlowReturn script_error(GstPlugboxFilter *self, GstPlugboxOnError on_error, const char *msg, const char *stack)
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

/* The sandbox to call from now on: a new script's, swapped in here, between two buffers. */
static plugbox_sandbox *current_box(GstPlugboxFilter *self)
{
    GST_OBJECT_LOCK(self);
    plugbox_sandbox *old = NULL;
    if (self->next_box) {
        old = self->box;
        self->box = self->next_box;
        self->next_box = NULL;
    }
    plugbox_sandbox *box = self->box;
    GST_OBJECT_UNLOCK(self);
    plugbox_sandbox_free(old);
    return box;
}

/* A stream event for the script: its function `name` (start, eos, flush, stop), called with
 * json when it defines one. Its result's JSON text goes to *result (g_free) when it returned
 * something; its errors follow on-error, and FALSE means the stream must fail. A script that
 * does not define the function is not an error. guarded: the call may be interrupted by a
 * stop or a flush (it runs on the streaming thread). */
static gboolean call_event(GstPlugboxFilter *self, plugbox_sandbox *box, const char *name, const char *json,
                           gboolean guarded, gchar **result)
{
    if (result)
        *result = NULL;
    if (!box || (guarded && !begin_call(self, box)))
        return TRUE;
    const char *out;
    size_t out_len;
    int rc = plugbox_sandbox_call_function(box, name, json, json ? strlen(json) : 0, &out, &out_len);
    gboolean halted = guarded && end_call(self);
    if (rc == PLUGBOX_ARGUMENT || (rc == PLUGBOX_INTERRUPTED && halted))
        return TRUE; /* no such function; or stopped, flushed: not the script's error */
    GST_OBJECT_LOCK(self);
    GstPlugboxOnError on_error = self->on_error;
    if (rc != PLUGBOX_OK)
        self->errors++;
    GST_OBJECT_UNLOCK(self);
    if (rc != PLUGBOX_OK) {
        gchar *msg = g_strdup_printf("%s(): %s", name, plugbox_sandbox_error_message(box));
        GstFlowReturn r = script_error(self, on_error, msg, plugbox_sandbox_error_stack(box));
        g_free(msg);
        return r != GST_FLOW_ERROR;
    }
    if (result && out)
        *result = g_strndup(out, out_len);
    return TRUE;
}

/* flush()'s result is an object whose "keep" is true */
static gboolean says_keep(const gchar *json)
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
static void post_summary(GstPlugboxFilter *self, const gchar *json)
{
    GstStructure *st = gst_structure_new("plugbox", "json", G_TYPE_STRING, json, "event", G_TYPE_STRING, "eos", NULL);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
}

static GstFlowReturn gst_plugbox_filter_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    plugbox_sandbox *box = current_box(self); /* a new script: from this buffer on */
    GST_OBJECT_LOCK(self);
    GstPlugboxOnError on_error = self->on_error;
    GstPlugboxDataAccess access = self->data_access;
    GST_OBJECT_UNLOCK(self);
    if (!box)
        return GST_FLOW_OK;

    describe_buffer(self, buf);
    const char *out;
    size_t out_len;
    /* the buffer is writable in place (its memory is copied first when shared) */
    gboolean bytes = access != GST_PLUGBOX_DATA_ACCESS_NONE, write = access == GST_PLUGBOX_DATA_ACCESS_READWRITE;
    GstMapInfo map;
    if (bytes && !gst_buffer_map(buf, &map, write ? GST_MAP_READWRITE : GST_MAP_READ)) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("cannot map the buffer"), (NULL));
        return GST_FLOW_ERROR;
    }
    if (!begin_call(self, box)) {
        if (bytes)
            gst_buffer_unmap(buf, &map);
        return GST_FLOW_FLUSHING;
    }
    gint64 t0 = g_get_monotonic_time();
    int rc = bytes ? plugbox_sandbox_call_bytes(box, self->input->str, self->input->len, map.data, map.size,
                                                write ? PLUGBOX_BYTES_WRITE : PLUGBOX_BYTES_READ, &out, &out_len)
                   : plugbox_sandbox_call(box, self->input->str, self->input->len, &out, &out_len);
    gdouble us = (gdouble)(g_get_monotonic_time() - t0);
    gboolean halted = end_call(self);
    if (bytes)
        gst_buffer_unmap(buf, &map);
    if (rc == PLUGBOX_INTERRUPTED && halted)
        return GST_FLOW_FLUSHING; /* stopped or flushed: not the script's error */

    gboolean pass = TRUE;
    const char *msg = NULL, *stack = "";
    Plan plan = {0};
    if (rc != PLUGBOX_OK) {
        msg = plugbox_sandbox_error_message(box);
        stack = plugbox_sandbox_error_stack(box);
    } else if (plan_result(self, &plan, out, out_len)) {
        pass = apply_plan(self, buf, &plan);
    } else {
        msg = plan.error ? plan.error : NOT_JSON; /* the buffer is left as it was */
    }

    GST_OBJECT_LOCK(self);
    self->calls++;
    self->total_us += us;
    if (us > self->max_us)
        self->max_us = us;
    if (msg)
        self->errors++;
    GST_OBJECT_UNLOCK(self);

    GstFlowReturn ret = msg ? script_error(self, on_error, msg, stack) : pass ? GST_FLOW_OK : GST_BASE_TRANSFORM_FLOW_DROPPED;
    plan_clear(&plan);
    return ret;
}

/* The caps are read from the caps event rather than through set_caps: a base transform that
 * has set_caps refuses buffers of a stream that never sent caps, and any stream is welcome. */
static gboolean gst_plugbox_filter_sink_event(GstBaseTransform *trans, GstEvent *event)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_START) {
        GST_OBJECT_LOCK(self);
        self->flushing = TRUE;
        interrupt_call(self);
        GST_OBJECT_UNLOCK(self);
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
        GST_OBJECT_LOCK(self);
        self->flushing = FALSE;
        gboolean stateful = self->stateful;
        GST_OBJECT_UNLOCK(self);
        /* flush(): what the script keeps of its state across a flush is its own to say; with
         * no flush() (or one that does not return {keep: true}) it starts from its snapshot */
        plugbox_sandbox *box = current_box(self);
        gchar *r = NULL;
        if (!call_event(self, box, "flush", NULL, TRUE, &r)) {
            g_free(r);
            gst_event_unref(event);
            return FALSE;
        }
        gboolean keep = r && says_keep(r);
        g_free(r);
        if (box && stateful && !keep)
            plugbox_sandbox_reset(box);
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
        GstCaps *caps;
        gst_event_parse_caps(event, &caps);
        gchar *json = caps_to_json(caps);
        GST_OBJECT_LOCK(self);
        g_free(self->caps_json);
        self->caps_json = g_strdup(json);
        GST_OBJECT_UNLOCK(self);
        gboolean ok = call_event(self, current_box(self), "start", json, TRUE, NULL);
        g_free(json);
        if (!ok) {
            gst_event_unref(event);
            return FALSE;
        }
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
        gchar *r = NULL;
        if (!call_event(self, current_box(self), "eos", NULL, TRUE, &r)) {
            g_free(r);
            gst_event_unref(event);
            return FALSE;
        }
        if (r)
            post_summary(self, r);
        g_free(r);
    }
    return GST_BASE_TRANSFORM_CLASS(gst_plugbox_filter_parent_class)->sink_event(trans, event);
}

static gboolean gst_plugbox_filter_start(GstBaseTransform *trans)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    int rc;
    plugbox_engine *engine = shared_engine(&rc);
    if (!engine) {
        GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("cannot start the plugbox engine: %s", plugbox_strerror(rc)), (NULL));
        return FALSE;
    }
    GError *err = NULL;
    plugbox_sandbox *box = build_sandbox(self, engine, &err);
    if (!box) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("cannot start the script"), ("%s", err ? err->message : "?"));
        g_clear_error(&err);
        return FALSE;
    }
    GST_OBJECT_LOCK(self);
    self->box = box;
    self->warned_us = 0;
    self->unwarned = 0;
    self->calls = self->errors = 0;
    self->total_us = self->max_us = 0;
    GST_OBJECT_UNLOCK(self);
    return TRUE;
}

static gboolean gst_plugbox_filter_stop(GstBaseTransform *trans)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    /* stop(): the stream is over (its time limit bounds it; nothing else can stop it now) */
    call_event(self, current_box(self), "stop", NULL, FALSE, NULL);
    GST_OBJECT_LOCK(self);
    plugbox_sandbox *box = self->box, *next = self->next_box;
    self->box = self->next_box = NULL;
    GST_OBJECT_UNLOCK(self);
    plugbox_sandbox_free(box);
    plugbox_sandbox_free(next);
    return TRUE;
}

static void gst_plugbox_filter_finalize(GObject *object)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(object);
    plugbox_sandbox_free(self->box);
    plugbox_sandbox_free(self->next_box);
    g_free(self->script);
    g_free(self->location);
    g_free(self->function);
    g_free(self->config);
    g_free(self->caps_json);
    g_string_free(self->input, TRUE);
    g_string_free(self->key, TRUE);
    g_string_free(self->text, TRUE);
    g_string_free(self->name, TRUE);
    g_array_unref(self->rois);
    g_cond_clear(&self->call_done);
    G_OBJECT_CLASS(gst_plugbox_filter_parent_class)->finalize(object);
}

static void gst_plugbox_filter_class_init(GstPlugboxFilterClass *klass)
{
    GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
    GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
    const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;
    const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

    gobject_class->set_property = gst_plugbox_filter_set_property;
    gobject_class->get_property = gst_plugbox_filter_get_property;
    gobject_class->finalize = gst_plugbox_filter_finalize;

    g_object_class_install_property(gobject_class, PROP_SCRIPT,
        g_param_spec_string("script", "Script", "JavaScript source defining the function called on every buffer "
                            "(takes precedence over location; setting it while playing swaps the script in between "
                            "two buffers)", NULL, rw));
    g_object_class_install_property(gobject_class, PROP_CONFIG,
        g_param_spec_string("config", "Configuration", "JSON text the script sees as its global `config`, "
                            "deep-frozen (setting it while playing swaps it in between two buffers, like a script)",
                            NULL, rw));
    g_object_class_install_property(gobject_class, PROP_WARNING_INTERVAL,
        g_param_spec_uint("warning-interval", "Warning interval", "Least time between two warnings of script "
                          "errors, in milliseconds: the first is posted, then at most one per interval, saying how "
                          "many were not (the errors property counts them all); 0 posts every one",
                          0, G_MAXUINT, DEFAULT_WARNING_INTERVAL, rw));
    g_object_class_install_property(gobject_class, PROP_LOCATION,
        g_param_spec_string("location", "Location", "File holding the JavaScript source (used when script is unset)",
                            NULL, rw));
    g_object_class_install_property(gobject_class, PROP_FUNCTION,
        g_param_spec_string("function", "Function", "Name of the global function called with each buffer's "
                            "description; it returns nothing or true (pass), false (drop), or an object with "
                            "drop, rois, meta and message", DEFAULT_FUNCTION, rw));
    g_object_class_install_property(gobject_class, PROP_MEMORY_LIMIT,
        g_param_spec_uint64("memory-limit", "Memory limit", "Most memory the script's sandbox may use, in bytes "
                            "(changeable while playing: from the next buffer on)", 1u << 20, G_MAXUINT32, DEFAULT_MEMORY_LIMIT, rw));
    g_object_class_install_property(gobject_class, PROP_TIME_LIMIT,
        g_param_spec_uint("time-limit", "Time limit", "Most wall-clock time one buffer's call may take, in "
                          "milliseconds (a pipeline is real time); 0 for none, when only stopping or flushing "
                          "the element ends a call (changeable while playing: from the next buffer on)", 0, G_MAXUINT,
                          DEFAULT_TIME_LIMIT, rw));
    g_object_class_install_property(gobject_class, PROP_ON_ERROR,
        g_param_spec_enum("on-error", "On error", "What happens to a buffer whose call throws or hits a limit "
                          "(a warning is posted in every case)", GST_TYPE_PLUGBOX_ON_ERROR, DEFAULT_ON_ERROR, rw));
    g_object_class_install_property(gobject_class, PROP_STATEFUL,
        g_param_spec_boolean("stateful", "Stateful", "Keep the script's state from buffer to buffer (for counting "
                             "and tracking); false starts every buffer from the compiled script's state "
                             "(read when the script is compiled)", DEFAULT_STATEFUL, rw));
    g_object_class_install_property(gobject_class, PROP_DATA_ACCESS,
        g_param_spec_enum("data-access", "Data access", "Whether the function also gets the buffer's bytes, as a "
                          "Uint8Array in its second argument: none, read, or readwrite (what the script leaves in "
                          "the array is written into the buffer when the call succeeds)",
                          GST_TYPE_PLUGBOX_DATA_ACCESS, DEFAULT_DATA_ACCESS, rw));
    g_object_class_install_property(gobject_class, PROP_CALLS,
        g_param_spec_uint64("calls", "Calls", "Buffers the script was called on since the element started", 0,
                            G_MAXUINT64, 0, ro));
    g_object_class_install_property(gobject_class, PROP_ERRORS,
        g_param_spec_uint64("errors", "Errors", "Calls that threw or hit a limit", 0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(gobject_class, PROP_MEAN_TIME,
        g_param_spec_double("mean-time", "Mean time", "Mean time of a call, in microseconds", 0, G_MAXDOUBLE, 0, ro));
    g_object_class_install_property(gobject_class, PROP_MAX_TIME,
        g_param_spec_double("max-time", "Max time", "Longest call, in microseconds", 0, G_MAXDOUBLE, 0, ro));

    gst_element_class_set_static_metadata(element_class, "plugbox filter", "Filter",
        "Calls a sandboxed JavaScript function on every buffer: pass, drop, attach JSON metadata, post messages",
        "plugbox developers");
    gst_element_class_add_static_pad_template(element_class, &sink_template);
    gst_element_class_add_static_pad_template(element_class, &src_template);

    element_class->change_state = GST_DEBUG_FUNCPTR(gst_plugbox_filter_change_state);
    trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_plugbox_filter_transform_ip);
    trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_plugbox_filter_sink_event);
    trans_class->start = GST_DEBUG_FUNCPTR(gst_plugbox_filter_start);
    trans_class->stop = GST_DEBUG_FUNCPTR(gst_plugbox_filter_stop);
    trans_class->passthrough_on_same_caps = FALSE;

    GST_DEBUG_CATEGORY_INIT(gst_plugbox_filter_debug, "plugboxfilter", 0, "plugbox filter");
    gst_type_mark_as_plugin_api(GST_TYPE_PLUGBOX_ON_ERROR, 0);
    gst_type_mark_as_plugin_api(GST_TYPE_PLUGBOX_DATA_ACCESS, 0);
    gst_plugbox_meta_get_info();
}

static void gst_plugbox_filter_init(GstPlugboxFilter *self)
{
    self->function = g_strdup(DEFAULT_FUNCTION);
    self->memory_limit = DEFAULT_MEMORY_LIMIT;
    self->time_limit = DEFAULT_TIME_LIMIT;
    self->on_error = DEFAULT_ON_ERROR;
    self->stateful = DEFAULT_STATEFUL;
    self->data_access = DEFAULT_DATA_ACCESS;
    self->warning_interval = DEFAULT_WARNING_INTERVAL;
    self->input = g_string_sized_new(1024);
    self->key = g_string_new(NULL);
    self->text = g_string_new(NULL);
    self->name = g_string_new(NULL);
    self->rois = g_array_new(FALSE, FALSE, sizeof(InputRoi));
    g_cond_init(&self->call_done);
    gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static gboolean plugin_init(GstPlugin *plugin)
{
    return GST_ELEMENT_REGISTER(plugboxfilter, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, plugbox, "Sandboxed JavaScript on every buffer",
                  plugin_init, PLUGBOX_VERSION, "MIT", "plugbox", "plugbox")
