/* gstplugboxfilter.c - plugboxfilter: a sandboxed JavaScript function called on every buffer.
 *
 * The script's function (property "function", default "process") receives, per buffer, an
 * object with the timestamps, offset, flags, the caps as a plain object, the regions of
 * interest (GstVideoRegionOfInterestMeta, with their parameter structures as plain objects)
 * and the JSON metadata an upstream plugboxfilter attached. It returns nothing or true (pass
 * the buffer on), false (drop it), or an object with any of "drop", "rois" (replace the
 * buffer's regions of interest), "meta" (JSON attached to the buffer for elements downstream)
 * and "message" (JSON posted on the bus as an element message).
 *
 * The script runs in a plugbox sandbox with its memory and time limits; an exception or a
 * limit posts a warning and the buffer is passed, dropped or the stream fails ("on-error").
 * Setting "script" or "location" while playing compiles the new program on the setting
 * thread and swaps it in between two buffers: no buffer is lost or seen twice, and a script
 * that does not compile leaves the old one running (with a warning).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <string.h>

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <json-glib/json-glib.h>

#include "gstplugboxfilter.h"
#include "plugbox.h"

GST_DEBUG_CATEGORY_STATIC(gst_plugbox_filter_debug);
#define GST_CAT_DEFAULT gst_plugbox_filter_debug

#define DEFAULT_FUNCTION "process"
#define DEFAULT_MEMORY_LIMIT (64u << 20)
#define DEFAULT_TIME_LIMIT 0
#define DEFAULT_ON_ERROR GST_PLUGBOX_ON_ERROR_PASS
#define DEFAULT_STATEFUL TRUE

enum {
    PROP_0,
    PROP_SCRIPT,
    PROP_LOCATION,
    PROP_FUNCTION,
    PROP_MEMORY_LIMIT,
    PROP_TIME_LIMIT,
    PROP_ON_ERROR,
    PROP_STATEFUL,
    PROP_CALLS,
    PROP_ERRORS,
    PROP_MEAN_TIME,
    PROP_MAX_TIME,
};

struct _GstPlugboxFilter {
    GstBaseTransform parent;

    /* properties, under the object lock */
    gchar *script, *location, *function;
    guint64 memory_limit;
    guint time_limit;
    GstPlugboxOnError on_error;
    gboolean stateful;

    /* the sandbox the streaming thread calls, and the one a property change prepared for it
     * (swapped in between two buffers, under the object lock) */
    plugbox_sandbox *box, *next_box;
    gchar *caps_json;

    /* statistics, under the object lock */
    guint64 calls, errors;
    gdouble total_us, max_us;
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

static plugbox_engine *shared_engine(void)
{
    static plugbox_engine *engine = NULL;
    if (g_once_init_enter(&engine)) {
        plugbox_engine *e = NULL;
        if (plugbox_engine_new(&e) != PLUGBOX_OK)
            g_error("plugboxfilter: cannot start the plugbox engine");
        g_once_init_leave(&engine, e);
    }
    return engine;
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
static plugbox_sandbox *build_sandbox(GstPlugboxFilter *self, GError **err)
{
    GST_OBJECT_LOCK(self);
    gchar *script = g_strdup(self->script), *location = g_strdup(self->location);
    gchar *function = g_strdup(self->function);
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
    plugbox_options_set_memory_limit(opts, memory_limit);
    plugbox_options_set_time_limit(opts, time_limit);
    plugbox_options_set_stateful(opts, stateful);
    plugbox_options_set_console(opts, on_console, self);
    int rc = plugbox_program_new(shared_engine(), source, strlen(source), opts, &prog);
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
    GError *err = NULL;
    plugbox_sandbox *box = build_sandbox(self, &err);
    if (!box) {
        GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("the new script does not compile; the old one keeps running"),
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
    case PROP_FUNCTION:
        g_free(self->function);
        self->function = g_value_dup_string(value);
        rebuild = TRUE;
        break;
    case PROP_MEMORY_LIMIT: self->memory_limit = g_value_get_uint64(value); break;
    case PROP_TIME_LIMIT: self->time_limit = g_value_get_uint(value); break;
    case PROP_ON_ERROR: self->on_error = g_value_get_enum(value); break;
    case PROP_STATEFUL: self->stateful = g_value_get_boolean(value); break;
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
    case PROP_FUNCTION: g_value_set_string(value, self->function); break;
    case PROP_MEMORY_LIMIT: g_value_set_uint64(value, self->memory_limit); break;
    case PROP_TIME_LIMIT: g_value_set_uint(value, self->time_limit); break;
    case PROP_ON_ERROR: g_value_set_enum(value, self->on_error); break;
    case PROP_STATEFUL: g_value_set_boolean(value, self->stateful); break;
    case PROP_CALLS: g_value_set_uint64(value, self->calls); break;
    case PROP_ERRORS: g_value_set_uint64(value, self->errors); break;
    case PROP_MEAN_TIME: g_value_set_double(value, self->calls ? self->total_us / (gdouble)self->calls : 0); break;
    case PROP_MAX_TIME: g_value_set_double(value, self->max_us); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

/* ---- what the script sees ------------------------------------------------------------------ */

static void put_json_string(GString *s, const gchar *text)
{
    g_string_append_c(s, '"');
    for (const guchar *p = (const guchar *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_printf(s, "\\%c", *p);
        else if (*p < 0x20)
            g_string_append_printf(s, "\\u%04x", *p);
        else
            g_string_append_c(s, (gchar)*p);
    }
    g_string_append_c(s, '"');
}

static gboolean put_caps_field(GQuark field, const GValue *value, gpointer user)
{
    GString *s = user;
    g_string_append_c(s, ',');
    put_json_string(s, g_quark_to_string(field));
    g_string_append_c(s, ':');
    if (G_VALUE_HOLDS_INT(value)) {
        g_string_append_printf(s, "%d", g_value_get_int(value));
    } else if (G_VALUE_HOLDS_UINT(value)) {
        g_string_append_printf(s, "%u", g_value_get_uint(value));
    } else if (G_VALUE_HOLDS_BOOLEAN(value)) {
        g_string_append(s, g_value_get_boolean(value) ? "true" : "false");
    } else if (G_VALUE_HOLDS_STRING(value)) {
        put_json_string(s, g_value_get_string(value) ? g_value_get_string(value) : "");
    } else if (GST_VALUE_HOLDS_FRACTION(value)) {
        gint n = gst_value_get_fraction_numerator(value), d = gst_value_get_fraction_denominator(value);
        gchar num[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(s, d ? g_ascii_dtostr(num, sizeof num, (gdouble)n / d) : "null");
    } else if (G_VALUE_HOLDS_DOUBLE(value)) {
        gchar num[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(s, g_ascii_dtostr(num, sizeof num, g_value_get_double(value)));
    } else {
        gchar *text = gst_value_serialize(value);
        put_json_string(s, text ? text : "");
        g_free(text);
    }
    return TRUE;
}

/* {"media":"video/x-raw","format":"I420","width":320,...}: rebuilt on a caps change only */
static gchar *caps_to_json(GstCaps *caps)
{
    if (!caps || gst_caps_get_size(caps) == 0)
        return g_strdup("null");
    GstStructure *st = gst_caps_get_structure(caps, 0);
    GString *s = g_string_new("{\"media\":");
    put_json_string(s, gst_structure_get_name(st));
    gst_structure_foreach(st, put_caps_field, s);
    g_string_append_c(s, '}');
    return g_string_free(s, FALSE);
}

static void put_time(GString *s, const gchar *name, GstClockTime t)
{
    if (GST_CLOCK_TIME_IS_VALID(t))
        g_string_append_printf(s, "\"%s\":%" G_GUINT64_FORMAT ",", name, t);
    else
        g_string_append_printf(s, "\"%s\":null,", name);
}

static gchar *buffer_to_json(GstPlugboxFilter *self, GstBuffer *buf, gsize *len)
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
    GString *s = g_string_sized_new(256);
    g_string_append_c(s, '{');
    put_time(s, "pts", GST_BUFFER_PTS(buf));
    put_time(s, "dts", GST_BUFFER_DTS(buf));
    put_time(s, "duration", GST_BUFFER_DURATION(buf));
    if (GST_BUFFER_OFFSET_IS_VALID(buf))
        g_string_append_printf(s, "\"offset\":%" G_GUINT64_FORMAT ",", GST_BUFFER_OFFSET(buf));
    else
        g_string_append(s, "\"offset\":null,");
    g_string_append(s, "\"flags\":[");
    gboolean first = TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
        if (GST_BUFFER_FLAG_IS_SET(buf, flags[i].flag)) {
            g_string_append_printf(s, "%s\"%s\"", first ? "" : ",", flags[i].name);
            first = FALSE;
        }
    }
    g_string_append(s, "],\"size\":");
    g_string_append_printf(s, "%" G_GSIZE_FORMAT, gst_buffer_get_size(buf));
    g_string_append(s, ",\"caps\":");
    g_string_append(s, self->caps_json ? self->caps_json : "null");
    g_string_append(s, ",\"rois\":[");
    gpointer state = NULL;
    GstMeta *m;
    first = TRUE;
    while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
        GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)m;
        g_string_append_printf(s, "%s{\"id\":%d,\"type\":", first ? "" : ",", roi->id);
        put_json_string(s, roi->roi_type ? g_quark_to_string(roi->roi_type) : "");
        g_string_append_printf(s, ",\"x\":%u,\"y\":%u,\"w\":%u,\"h\":%u,\"params\":{", roi->x, roi->y, roi->w, roi->h);
        gboolean first_param = TRUE;
        for (GList *l = roi->params; l; l = l->next) {
            GstStructure *p = l->data;
            if (!first_param)
                g_string_append_c(s, ',');
            put_json_string(s, gst_structure_get_name(p));
            g_string_append(s, ":{");
            gsize mark = s->len;
            gst_structure_foreach(p, put_caps_field, s);
            if (s->len > mark)
                s->str[mark] = ' '; /* put_caps_field starts every field with a comma */
            g_string_append_c(s, '}');
            first_param = FALSE;
        }
        g_string_append(s, "}}");
        first = FALSE;
    }
    g_string_append_c(s, ']');
    const gchar *meta = gst_plugbox_meta_get_json(buf);
    g_string_append(s, ",\"meta\":");
    g_string_append(s, meta ? meta : "null");
    g_string_append_c(s, '}');
    *len = s->len;
    return g_string_free(s, FALSE);
}

/* ---- what the script returns --------------------------------------------------------------- */

static gchar *member_json(JsonObject *o, const gchar *name)
{
    JsonNode *n = json_object_get_member(o, name);
    return n ? json_to_string(n, FALSE) : NULL;
}

static gboolean is_roi(GstBuffer *buf, GstMeta **meta, gpointer user)
{
    (void)buf;
    (void)user;
    if ((*meta)->info->api == GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)
        *meta = NULL; /* removes it */
    return TRUE;
}

/* A parameter structure from a plain object: numbers, strings and booleans become fields. */
static GstStructure *params_structure(const gchar *name, JsonObject *o)
{
    GstStructure *st = gst_structure_new_empty(name);
    GList *members = json_object_get_members(o);
    for (GList *l = members; l; l = l->next) {
        JsonNode *n = json_object_get_member(o, l->data);
        if (!JSON_NODE_HOLDS_VALUE(n))
            continue;
        GType t = json_node_get_value_type(n);
        if (t == G_TYPE_INT64) {
            gint64 v = json_node_get_int(n);
            if (v >= G_MININT && v <= G_MAXINT)
                gst_structure_set(st, l->data, G_TYPE_INT, (gint)v, NULL);
            else
                gst_structure_set(st, l->data, G_TYPE_INT64, v, NULL);
        } else if (t == G_TYPE_DOUBLE) {
            gst_structure_set(st, l->data, G_TYPE_DOUBLE, json_node_get_double(n), NULL);
        } else if (t == G_TYPE_STRING) {
            gst_structure_set(st, l->data, G_TYPE_STRING, json_node_get_string(n), NULL);
        } else if (t == G_TYPE_BOOLEAN) {
            gst_structure_set(st, l->data, G_TYPE_BOOLEAN, json_node_get_boolean(n), NULL);
        }
    }
    g_list_free(members);
    return st;
}

static guint clamp_uint(JsonObject *o, const gchar *name)
{
    if (!json_object_has_member(o, name))
        return 0;
    gdouble v = json_object_get_double_member(o, name);
    return v <= 0 ? 0 : v >= G_MAXUINT ? G_MAXUINT : (guint)v;
}

/* The buffer's regions of interest become those of the array (objects like the ones the
 * script received); anything that is not an object is left out. */
static void replace_rois(GstBuffer *buf, JsonArray *rois)
{
    gst_buffer_foreach_meta(buf, is_roi, NULL);
    for (guint i = 0; i < json_array_get_length(rois); i++) {
        JsonNode *n = json_array_get_element(rois, i);
        if (!JSON_NODE_HOLDS_OBJECT(n))
            continue;
        JsonObject *o = json_node_get_object(n);
        const gchar *type = json_object_has_member(o, "type") ? json_object_get_string_member(o, "type") : NULL;
        GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta(
            buf, type ? type : "", clamp_uint(o, "x"), clamp_uint(o, "y"), clamp_uint(o, "w"), clamp_uint(o, "h"));
        if (!roi)
            continue;
        if (json_object_has_member(o, "id"))
            roi->id = (gint)json_object_get_int_member(o, "id");
        JsonNode *params = json_object_get_member(o, "params");
        if (params && JSON_NODE_HOLDS_OBJECT(params)) {
            JsonObject *po = json_node_get_object(params);
            GList *names = json_object_get_members(po);
            for (GList *l = names; l; l = l->next) {
                JsonNode *pn = json_object_get_member(po, l->data);
                if (JSON_NODE_HOLDS_OBJECT(pn))
                    gst_video_region_of_interest_meta_add_param(roi, params_structure(l->data, json_node_get_object(pn)));
            }
            g_list_free(names);
        }
    }
}

/* Applies the result; returns TRUE to pass the buffer on. */
static gboolean apply_result(GstPlugboxFilter *self, GstBuffer *buf, const char *json, size_t len)
{
    if (!json || (len == 4 && !memcmp(json, "true", 4)))
        return TRUE;
    if (len == 5 && !memcmp(json, "false", 5))
        return FALSE;
    JsonParser *parser = json_parser_new();
    gboolean pass = TRUE;
    if (json_parser_load_from_data(parser, json, (gssize)len, NULL)) {
        JsonNode *root = json_parser_get_root(parser);
        if (JSON_NODE_HOLDS_OBJECT(root)) {
            JsonObject *o = json_node_get_object(root);
            if (json_object_has_member(o, "drop"))
                pass = !json_object_get_boolean_member(o, "drop");
            JsonNode *rois = json_object_get_member(o, "rois");
            if (rois && JSON_NODE_HOLDS_ARRAY(rois))
                replace_rois(buf, json_node_get_array(rois));
            gchar *meta = member_json(o, "meta");
            if (meta)
                set_meta_json(buf, meta);
            g_free(meta);
            gchar *message = member_json(o, "message");
            if (message) {
                GstStructure *st = gst_structure_new("plugbox", "json", G_TYPE_STRING, message, NULL);
                if (GST_BUFFER_PTS_IS_VALID(buf))
                    gst_structure_set(st, "pts", G_TYPE_UINT64, GST_BUFFER_PTS(buf), NULL);
                gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
            }
            g_free(message);
        }
    }
    g_object_unref(parser);
    return pass;
}

static GstFlowReturn gst_plugbox_filter_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    GST_OBJECT_LOCK(self);
    plugbox_sandbox *old = NULL;
    if (self->next_box) { /* a new script: from this buffer on */
        old = self->box;
        self->box = self->next_box;
        self->next_box = NULL;
    }
    plugbox_sandbox *box = self->box;
    GstPlugboxOnError on_error = self->on_error;
    GST_OBJECT_UNLOCK(self);
    plugbox_sandbox_free(old);
    if (!box)
        return GST_FLOW_OK;

    gsize len;
    gchar *in = buffer_to_json(self, buf, &len);
    const char *out;
    size_t out_len;
    gint64 t0 = g_get_monotonic_time();
    int rc = plugbox_sandbox_call(box, in, len, &out, &out_len);
    gdouble us = (gdouble)(g_get_monotonic_time() - t0);
    g_free(in);

    GST_OBJECT_LOCK(self);
    self->calls++;
    self->total_us += us;
    if (us > self->max_us)
        self->max_us = us;
    if (rc != PLUGBOX_OK)
        self->errors++;
    GST_OBJECT_UNLOCK(self);

    if (rc == PLUGBOX_OK)
        return apply_result(self, buf, out, out_len) ? GST_FLOW_OK : GST_BASE_TRANSFORM_FLOW_DROPPED;

    const char *msg = plugbox_sandbox_error_message(box), *stack = plugbox_sandbox_error_stack(box);
    if (on_error == GST_PLUGBOX_ON_ERROR_FAIL) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("script: %s", msg), ("%s", stack));
        return GST_FLOW_ERROR;
    }
    GST_ELEMENT_WARNING(self, STREAM, FAILED, ("script: %s", msg), ("%s", stack));
    return on_error == GST_PLUGBOX_ON_ERROR_DROP ? GST_BASE_TRANSFORM_FLOW_DROPPED : GST_FLOW_OK;
}

/* The caps are read from the caps event rather than through set_caps: a base transform that
 * has set_caps refuses buffers of a stream that never sent caps, and any stream is welcome. */
static gboolean gst_plugbox_filter_sink_event(GstBaseTransform *trans, GstEvent *event)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
        GstCaps *caps;
        gst_event_parse_caps(event, &caps);
        gchar *json = caps_to_json(caps);
        GST_OBJECT_LOCK(self);
        g_free(self->caps_json);
        self->caps_json = json;
        GST_OBJECT_UNLOCK(self);
    }
    return GST_BASE_TRANSFORM_CLASS(gst_plugbox_filter_parent_class)->sink_event(trans, event);
}

static gboolean gst_plugbox_filter_start(GstBaseTransform *trans)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    GError *err = NULL;
    plugbox_sandbox *box = build_sandbox(self, &err);
    if (!box) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("cannot start the script"), ("%s", err ? err->message : "?"));
        g_clear_error(&err);
        return FALSE;
    }
    GST_OBJECT_LOCK(self);
    self->box = box;
    self->calls = self->errors = 0;
    self->total_us = self->max_us = 0;
    GST_OBJECT_UNLOCK(self);
    return TRUE;
}

static gboolean gst_plugbox_filter_stop(GstBaseTransform *trans)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
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
    g_free(self->caps_json);
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
    g_object_class_install_property(gobject_class, PROP_LOCATION,
        g_param_spec_string("location", "Location", "File holding the JavaScript source (used when script is unset)",
                            NULL, rw));
    g_object_class_install_property(gobject_class, PROP_FUNCTION,
        g_param_spec_string("function", "Function", "Name of the global function called with each buffer's "
                            "description; it returns nothing or true (pass), false (drop), or an object with "
                            "drop, rois, meta and message", DEFAULT_FUNCTION, rw));
    g_object_class_install_property(gobject_class, PROP_MEMORY_LIMIT,
        g_param_spec_uint64("memory-limit", "Memory limit", "Most memory the script's sandbox may use, in bytes "
                            "(read when the script is compiled)", 1u << 20, G_MAXUINT32, DEFAULT_MEMORY_LIMIT, rw));
    g_object_class_install_property(gobject_class, PROP_TIME_LIMIT,
        g_param_spec_uint("time-limit", "Time limit", "Most wall-clock time one buffer's call may take, in "
                          "milliseconds; 0 for none (read when the script is compiled)", 0, G_MAXUINT,
                          DEFAULT_TIME_LIMIT, rw));
    g_object_class_install_property(gobject_class, PROP_ON_ERROR,
        g_param_spec_enum("on-error", "On error", "What happens to a buffer whose call throws or hits a limit "
                          "(a warning is posted in every case)", GST_TYPE_PLUGBOX_ON_ERROR, DEFAULT_ON_ERROR, rw));
    g_object_class_install_property(gobject_class, PROP_STATEFUL,
        g_param_spec_boolean("stateful", "Stateful", "Keep the script's state from buffer to buffer (for counting "
                             "and tracking); false starts every buffer from the compiled script's state "
                             "(read when the script is compiled)", DEFAULT_STATEFUL, rw));
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

    trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_plugbox_filter_transform_ip);
    trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_plugbox_filter_sink_event);
    trans_class->start = GST_DEBUG_FUNCPTR(gst_plugbox_filter_start);
    trans_class->stop = GST_DEBUG_FUNCPTR(gst_plugbox_filter_stop);
    trans_class->passthrough_on_same_caps = FALSE;

    GST_DEBUG_CATEGORY_INIT(gst_plugbox_filter_debug, "plugboxfilter", 0, "plugbox filter");
    gst_type_mark_as_plugin_api(GST_TYPE_PLUGBOX_ON_ERROR, 0);
    gst_plugbox_meta_get_info();
}

static void gst_plugbox_filter_init(GstPlugboxFilter *self)
{
    self->function = g_strdup(DEFAULT_FUNCTION);
    self->memory_limit = DEFAULT_MEMORY_LIMIT;
    self->time_limit = DEFAULT_TIME_LIMIT;
    self->on_error = DEFAULT_ON_ERROR;
    self->stateful = DEFAULT_STATEFUL;
    gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static gboolean plugin_init(GstPlugin *plugin)
{
    return GST_ELEMENT_REGISTER(plugboxfilter, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, plugbox, "Sandboxed JavaScript on every buffer",
                  plugin_init, PLUGBOX_VERSION, "MIT", "plugbox", "plugbox")
