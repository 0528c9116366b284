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
#include <string.h>

#include "gstplugboxelement.h"

GST_DEBUG_CATEGORY(gst_plugbox_filter_debug);

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

/* ---- properties ---------------------------------------------------------------------------- */

/* A limit set while running, for the running sandbox and the one waiting to be swapped in
 * (under the object lock) */
static void set_live_limit(GstPlugboxFilter *self, plugbox_limit which, guint64 value)
{
    plugbox_sandbox *boxes[] = {self->box, self->next_box};
    for (int i = 0; i < 2; i++)
        if (boxes[i] && plugbox_sandbox_set_limit(boxes[i], which, value) != PLUGBOX_OK) /* memory only */
            GST_WARNING_OBJECT(self, "memory-limit %" G_GUINT64_FORMAT " is below what the script's snapshot takes: "
                               "the running script keeps its limit", value);
}

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
        set_live_limit(self, PLUGBOX_LIMIT_MEMORY, self->memory_limit);
        break;
    case PROP_TIME_LIMIT:
        self->time_limit = g_value_get_uint(value);
        set_live_limit(self, PLUGBOX_LIMIT_TIME, self->time_limit);
        break;
    case PROP_ON_ERROR: self->on_error = g_value_get_enum(value); break;
    case PROP_STATEFUL: self->stateful = g_value_get_boolean(value); break;
    case PROP_DATA_ACCESS: self->data_access = g_value_get_enum(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
    if (rebuild)
        gst_plugbox_reload(self);
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
        gst_plugbox_interrupt_call(self);
        GST_OBJECT_UNLOCK(self);
    }
    return GST_ELEMENT_CLASS(gst_plugbox_filter_parent_class)->change_state(element, transition);
}

static GstFlowReturn gst_plugbox_filter_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    plugbox_sandbox *box;
    GstPlugboxOnError on_error;
    GstPlugboxDataAccess access;
    GstFlowReturn entered = gst_plugbox_enter_buffer(self, &box, &on_error, &access);
    if (!box || entered != GST_FLOW_OK)
        return entered;

    gst_plugbox_describe_buffer(self, buf);
    const char *out;
    size_t out_len;
    /* the buffer is writable in place (its memory is copied first when shared) */
    gboolean bytes = access != GST_PLUGBOX_DATA_ACCESS_NONE, write = access == GST_PLUGBOX_DATA_ACCESS_READWRITE;
    GstMapInfo map;
    if (bytes && !gst_buffer_map(buf, &map, write ? GST_MAP_READWRITE : GST_MAP_READ)) {
        gst_plugbox_end_call(self);
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("cannot map the buffer"), (NULL));
        return GST_FLOW_ERROR;
    }
    gint64 t0 = g_get_monotonic_time();
    int rc = bytes ? plugbox_sandbox_call_bytes(box, self->input->str, self->input->len, map.data, map.size,
                                                write ? PLUGBOX_BYTES_WRITE : PLUGBOX_BYTES_READ, &out, &out_len)
                   : plugbox_sandbox_call(box, self->input->str, self->input->len, &out, &out_len);
    gboolean halted = gst_plugbox_leave_buffer(self, rc, (gdouble)(g_get_monotonic_time() - t0));
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
    } else if (gst_plugbox_plan_result(self, &plan, out, out_len)) {
        pass = gst_plugbox_apply_plan(self, buf, &plan);
    } else {
        msg = plan.error ? plan.error : NOT_JSON; /* the buffer is left as it was */
    }
    if (msg) {
        GST_OBJECT_LOCK(self);
        self->errors++;
        GST_OBJECT_UNLOCK(self);
    }

    GstFlowReturn ret = msg ? gst_plugbox_script_error(self, on_error, msg, stack) : pass ? GST_FLOW_OK : GST_BASE_TRANSFORM_FLOW_DROPPED;
    gst_plugbox_plan_clear(&plan);
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
        gst_plugbox_interrupt_call(self);
        GST_OBJECT_UNLOCK(self);
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
        GST_OBJECT_LOCK(self);
        self->flushing = FALSE;
        gboolean stateful = self->stateful;
        GST_OBJECT_UNLOCK(self);
        /* flush(): what the script keeps of its state across a flush is its own to say; with
         * no flush() (or one that does not return {keep: true}) it starts from its snapshot */
        plugbox_sandbox *box = gst_plugbox_current_box(self);
        gchar *r = NULL;
        if (!gst_plugbox_call_event(self, box, "flush", NULL, TRUE, &r)) {
            g_free(r);
            gst_event_unref(event);
            return FALSE;
        }
        gboolean keep = r && gst_plugbox_says_keep(r);
        g_free(r);
        if (box && stateful && !keep)
            plugbox_sandbox_reset(box);
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
        GstCaps *caps;
        gst_event_parse_caps(event, &caps);
        gchar *json = gst_plugbox_caps_to_json(caps);
        GST_OBJECT_LOCK(self);
        g_free(self->caps_json);
        self->caps_json = g_strdup(json);
        GST_OBJECT_UNLOCK(self);
        gboolean ok = gst_plugbox_call_event(self, gst_plugbox_current_box(self), "start", json, TRUE, NULL);
        g_free(json);
        if (!ok) {
            gst_event_unref(event);
            return FALSE;
        }
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
        gchar *r = NULL;
        if (!gst_plugbox_call_event(self, gst_plugbox_current_box(self), "eos", NULL, TRUE, &r)) {
            g_free(r);
            gst_event_unref(event);
            return FALSE;
        }
        if (r)
            gst_plugbox_post_summary(self, r);
        g_free(r);
    }
    return GST_BASE_TRANSFORM_CLASS(gst_plugbox_filter_parent_class)->sink_event(trans, event);
}

static gboolean gst_plugbox_filter_start(GstBaseTransform *trans)
{
    GstPlugboxFilter *self = GST_PLUGBOX_FILTER(trans);
    int rc;
    plugbox_engine *engine = gst_plugbox_shared_engine(&rc);
    if (!engine) {
        GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("cannot start the plugbox engine: %s", plugbox_strerror(rc)), (NULL));
        return FALSE;
    }
    GError *err = NULL;
    plugbox_sandbox *box = gst_plugbox_build_sandbox(self, engine, &err);
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
    gst_plugbox_call_event(self, gst_plugbox_current_box(self), "stop", NULL, FALSE, NULL);
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
        g_param_spec_string("location", "Location", "File holding the JavaScript or TypeScript source, or a WebAssembly plugin (.wasm, or compiled by plugbox compile); used when script is unset",
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
