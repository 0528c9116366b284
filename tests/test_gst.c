/* SPDX-License-Identifier: MIT */
/* test_gst.c - the plugboxfilter element through gst_harness. One case per process:
 * test_gst CASE (with GST_PLUGIN_PATH pointing at the build). */
#include <math.h>
#include <unistd.h>
#include <string.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/gstvideometa.h>

#include "check.h"
#include "gstplugboxjson.h"

static const gchar *meta_json(GstBuffer *buf)
{
    GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, "GstPlugboxMeta");
    return meta ? gst_structure_get_string(gst_custom_meta_get_structure(meta), "json") : NULL;
}

static GstHarness *harness(const gchar *launch)
{
    GstHarness *h = gst_harness_new_parse(launch);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=4,height=2,framerate=10/1");
    return h;
}

/* A bus of the test's own for the harness's element; drop_bus before the teardown, else the
 * messages left on it (they hold the element, which holds the bus) are never freed. */
static GstBus *bus_of(GstHarness *h)
{
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    return bus;
}

static void drop_bus(GstHarness *h, GstBus *bus)
{
    gst_element_set_bus(h->element, NULL);
    gst_bus_set_flushing(bus, TRUE);
    gst_object_unref(bus);
}

/* the (first) plugboxfilter inside the harness's bin; unref when done */
static GstElement *filter_of(GstHarness *h)
{
    return gst_harness_find_element(h, "plugboxfilter");
}

static GstBuffer *frame(guint i)
{
    GstBuffer *b = gst_buffer_new_allocate(NULL, 8, NULL);
    GST_BUFFER_PTS(b) = i * 100 * GST_MSECOND;
    GST_BUFFER_DURATION(b) = 100 * GST_MSECOND;
    GST_BUFFER_OFFSET(b) = i;
    return b;
}

/* pushes n frames; returns how many came out, keeping the last one's meta in *last_meta */
static guint push_frames(GstHarness *h, guint n, gchar **last_meta)
{
    for (guint i = 0; i < n; i++)
        gst_harness_push(h, frame(i));
    guint out = 0;
    GstBuffer *b;
    while ((b = gst_harness_try_pull(h))) {
        if (last_meta) {
            g_free(*last_meta);
            *last_meta = g_strdup(meta_json(b));
        }
        gst_buffer_unref(b);
        out++;
    }
    return out;
}

/* ---- waiting for events ------------------------------------------------------------------ */

/* Far beyond what anything asked of the element takes on any machine: only a hang gets there. */
#define HANG_US (60 * G_USEC_PER_SEC)

/* A function run on its own thread, so that a call that never returns fails the test
 * instead of blocking it. */
typedef struct {
    GThreadFunc fn;
    gpointer arg, result;
    gboolean done;
    GMutex lock;
    GCond cond;
    GThread *thread;
} Job;

static gpointer job_main(gpointer data)
{
    Job *j = data;
    gpointer result = j->fn(j->arg);
    g_mutex_lock(&j->lock);
    j->result = result;
    j->done = TRUE;
    g_cond_broadcast(&j->cond);
    g_mutex_unlock(&j->lock);
    return NULL;
}

static Job *job_start(GThreadFunc fn, gpointer arg)
{
    Job *j = g_new0(Job, 1);
    j->fn = fn;
    j->arg = arg;
    g_mutex_init(&j->lock);
    g_cond_init(&j->cond);
    j->thread = g_thread_new("job", job_main, j);
    return j;
}

/* The job's result once it returned. One that hangs ends the test as failed (its thread
 * cannot be taken back). */
static gpointer job_finish(Job *j, const gchar *what)
{
    gint64 deadline = g_get_monotonic_time() + HANG_US;
    g_mutex_lock(&j->lock);
    while (!j->done && g_cond_wait_until(&j->cond, &j->lock, deadline))
        ;
    gboolean done = j->done;
    g_mutex_unlock(&j->lock);
    if (!done) {
        fprintf(stderr, "check failed: %s never returned\n", what);
        fflush(stderr);
        _exit(1);
    }
    g_thread_join(j->thread);
    gpointer result = j->result;
    g_mutex_clear(&j->lock);
    g_cond_clear(&j->cond);
    g_free(j);
    return result;
}

/* Scripts' console output, which the element logs at INFO: lines "script: in the call". */
static struct {
    GMutex lock;
    GCond cond;
    guint seen;
    guint stopped; /* lines "script: stopped" */
} in_call;

static void on_log(GstDebugCategory *cat, GstDebugLevel level, const gchar *file, const gchar *function, gint line,
                   GObject *object, GstDebugMessage *message, gpointer user)
{
    (void)level, (void)file, (void)function, (void)line, (void)object, (void)user;
    const gchar *text = gst_debug_message_get(message);
    if (strcmp(gst_debug_category_get_name(cat), "plugboxfilter"))
        return;
    gboolean call = strstr(text, "script: in the call") != NULL, stopped = strstr(text, "script: stopped") != NULL;
    if (!call && !stopped)
        return;
    g_mutex_lock(&in_call.lock);
    in_call.seen += call;
    in_call.stopped += stopped;
    g_cond_broadcast(&in_call.cond);
    g_mutex_unlock(&in_call.lock);
}

static void watch_console(void)
{
    gst_debug_set_active(TRUE);
    gst_debug_set_threshold_for_name("plugboxfilter", GST_LEVEL_INFO);
    gst_debug_add_log_function(on_log, NULL, NULL);
}

/* Waits until scripts logged "in the call" n times in all: a call is running. */
static void wait_in_call(guint n)
{
    gint64 deadline = g_get_monotonic_time() + HANG_US;
    g_mutex_lock(&in_call.lock);
    while (in_call.seen < n && g_cond_wait_until(&in_call.cond, &in_call.lock, deadline))
        ;
    gboolean seen = in_call.seen >= n;
    g_mutex_unlock(&in_call.lock);
    if (!seen) {
        fprintf(stderr, "check failed: the script never logged \"in the call\"\n");
        fflush(stderr);
        _exit(1);
    }
}

static gpointer push_first(gpointer h)
{
    return GINT_TO_POINTER(gst_harness_push(h, frame(0)));
}

static gpointer stop_element(gpointer element)
{
    return GINT_TO_POINTER(gst_element_set_state(element, GST_STATE_NULL));
}

static gpointer flush_start(gpointer h)
{
    return GINT_TO_POINTER(gst_harness_push_event(h, gst_event_new_flush_start()));
}

static void t_pass_drop(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { return b.offset % 2 === 0; }\"");
    CHECK(push_frames(h, 10, NULL) == 5);
    guint64 calls = 0;
    GstElement *f = filter_of(h);
    g_object_get(f, "calls", &calls, NULL);
    CHECK(calls == 10);
    gst_object_unref(f);
    gst_harness_teardown(h);
}

static void t_buffer_description(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { return { meta: { pts: b.pts, dur: b.duration, "
                            "off: b.offset, w: b.caps.width, fmt: b.caps.format, fps: b.caps.framerate, "
                            "media: b.caps.media, size: b.size } }; }\"");
    gchar *meta = NULL;
    CHECK(push_frames(h, 3, &meta) == 3);
    CHECK(meta && !strcmp(meta, "{\"pts\":200000000,\"dur\":100000000,\"off\":2,\"w\":4,\"fmt\":\"GRAY8\",\"fps\":10,"
                                "\"media\":\"video/x-raw\",\"size\":8}"));
    g_free(meta);
    gst_harness_teardown(h);
}

static void t_meta_downstream(void)
{
    /* the first element attaches JSON; the second reads it and builds on it */
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { return { meta: { id: b.offset * 10 } }; }\" ! "
                            "plugboxfilter script=\"function process(b) { return { meta: { id: b.meta.id + 1, seen: true } }; }\"");
    gchar *meta = NULL;
    CHECK(push_frames(h, 4, &meta) == 4);
    CHECK(meta && !strcmp(meta, "{\"id\":31,\"seen\":true}"));
    g_free(meta);
    gst_harness_teardown(h);
}

static void t_bus_message(void)
{
    GstHarness *h = harness("plugboxfilter script=\"var n = 0; function process(b) { if (++n === 2) return { message: "
                            "{ entered: 'zone', frame: b.offset } }; }\"");
    GstBus *bus = bus_of(h);
    CHECK(push_frames(h, 3, NULL) == 3);
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    CHECK(m != NULL);
    if (m) {
        const GstStructure *st = gst_message_get_structure(m);
        CHECK(gst_structure_has_name(st, "plugbox"));
        CHECK(!g_strcmp0(gst_structure_get_string(st, "json"), "{\"entered\":\"zone\",\"frame\":1}"));
        gst_message_unref(m);
    }
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

static void t_on_error(void)
{
    static const char script[] = "function process(b) { if (b.offset === 1) throw new Error('bad frame'); }";
    gchar *launch;
    /* pass: the failing buffer goes on, a warning is posted */
    launch = g_strdup_printf("plugboxfilter on-error=pass script=\"%s\"", script);
    GstHarness *h = harness(launch);
    GstBus *bus = bus_of(h);
    CHECK(push_frames(h, 3, NULL) == 3);
    GstMessage *w = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    CHECK(w != NULL);
    if (w) {
        GError *err = NULL;
        gchar *debug = NULL;
        gst_message_parse_warning(w, &err, &debug);
        CHECK(err && strstr(err->message, "Error: bad frame"));
        CHECK(debug && strstr(debug, "process"));
        g_clear_error(&err);
        g_free(debug);
        gst_message_unref(w);
    }
    guint64 errors = 0;
    GstElement *f = filter_of(h);
    g_object_get(f, "errors", &errors, NULL);
    CHECK(errors == 1);
    gst_object_unref(f);
    drop_bus(h, bus);
    gst_harness_teardown(h);
    g_free(launch);
    /* drop */
    launch = g_strdup_printf("plugboxfilter on-error=drop script=\"%s\"", script);
    h = harness(launch);
    CHECK(push_frames(h, 3, NULL) == 2);
    gst_harness_teardown(h);
    g_free(launch);
    /* fail */
    launch = g_strdup_printf("plugboxfilter on-error=fail script=\"%s\"", script);
    h = harness(launch);
    CHECK(gst_harness_push(h, frame(0)) == GST_FLOW_OK);
    CHECK(gst_harness_push(h, frame(1)) == GST_FLOW_ERROR);
    gst_harness_teardown(h);
    g_free(launch);
}

static void t_time_limit(void)
{
    /* a limit far above what the other buffers' calls take, even on a loaded machine */
    GstHarness *h = harness("plugboxfilter time-limit=500 script=\"function process(b) { if (b.offset === 1) for (;;) {} "
                            "return { meta: { ok: b.offset } }; }\"");
    gchar *meta = NULL;
    CHECK(push_frames(h, 4, &meta) == 4); /* on-error=pass: the pipeline goes on */
    CHECK(meta && !strcmp(meta, "{\"ok\":3}"));
    guint64 errors = 0;
    gdouble max_us = 0;
    GstElement *f = filter_of(h);
    g_object_get(f, "errors", &errors, "max-time", &max_us, NULL);
    gst_object_unref(f);
    CHECK(errors == 1);
    CHECK(max_us >= 450000); /* the limit never ends a call early */
    g_free(meta);
    gst_harness_teardown(h);
}

static guint64 errors_of(GstHarness *h)
{
    guint64 errors = 0;
    GstElement *f = filter_of(h);
    g_object_get(f, "errors", &errors, NULL);
    gst_object_unref(f);
    return errors;
}

static gpointer push_second(gpointer h)
{
    return GINT_TO_POINTER(gst_harness_push(h, frame(1)));
}

/* The limits change while playing: the running script takes them from its next buffer on.
 * Without a time limit the looping buffer would never return (the job would hang). */
static void t_live_limits(void)
{
    GstHarness *h = harness("plugboxfilter stateful=false time-limit=0 script=\"function process(b) { if (b.offset === 1) for (;;) {} "
                            "if (b.offset === 2) return new Uint8Array(24 << 20).length > 0; return true; }\"");
    gst_harness_push(h, frame(0));
    CHECK_EQ_INT(errors_of(h), 0);
    GstElement *f = filter_of(h);
    g_object_set(f, "time-limit", 50, NULL);
    Job *push = job_start(push_second, h);
    CHECK_EQ_INT(GPOINTER_TO_INT(job_finish(push, "a looping call after the time limit was lowered")), GST_FLOW_OK);
    CHECK_EQ_INT(errors_of(h), 1);
    /* 24 MiB fits the default 64 MiB, not 16 */
    gst_harness_push(h, frame(2));
    CHECK_EQ_INT(errors_of(h), 1);
    g_object_set(f, "memory-limit", (guint64)16 << 20, NULL);
    gst_harness_push(h, frame(2));
    CHECK_EQ_INT(errors_of(h), 2);
    gst_object_unref(f);
    gst_harness_teardown(h);
}

/* A pipeline is real time: without time-limit a call may take a second at most. */
static void t_default_time_limit(void)
{
    GstElement *f = gst_element_factory_make("plugboxfilter", NULL);
    guint limit = 0;
    g_object_get(f, "time-limit", &limit, NULL);
    CHECK_EQ_INT(limit, 1000);
    gst_object_unref(f);

    GstHarness *h = harness("plugboxfilter script=\"function process(b) { for (;;) {} }\"");
    GstBus *bus = bus_of(h);
    Job *push = job_start(push_first, h);
    CHECK_EQ_INT(GPOINTER_TO_INT(job_finish(push, "a looping call under the default time limit")), GST_FLOW_OK);
    GstMessage *w = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    CHECK(w != NULL);
    if (w) {
        GError *err = NULL;
        gst_message_parse_warning(w, &err, NULL);
        CHECK_HAS(err ? err->message : NULL, "time limit exceeded");
        g_clear_error(&err);
        gst_message_unref(w);
    }
    CHECK_EQ_INT(errors_of(h), 1);
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

#define LOOP_ON_FIRST "plugboxfilter time-limit=0 script=\"function process(b) { if (b.offset === 0) { " \
                      "console.log('in the call'); for (;;) {} } return { meta: b.offset }; }\""

/* Stopping the element ends a call that never would: set_state(NULL) returns, the buffer is
 * refused as flushing (not a script error), and the element starts again afterwards. */
static void t_stop_interrupts(void)
{
    watch_console();
    GstHarness *h = harness(LOOP_ON_FIRST);
    GstBus *bus = bus_of(h);
    Job *push = job_start(push_first, h);
    wait_in_call(1);
    Job *stop = job_start(stop_element, h->element);
    CHECK_EQ_INT(GPOINTER_TO_INT(job_finish(stop, "set_state(NULL) during a call")), GST_STATE_CHANGE_SUCCESS);
    CHECK_EQ_INT(GPOINTER_TO_INT(job_finish(push, "the push of the interrupted buffer")), GST_FLOW_FLUSHING);
    CHECK(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR) == NULL);
    CHECK_EQ_INT(errors_of(h), 0);

    /* started again: the element takes buffers (the stream's events are sent anew) */
    CHECK_EQ_INT(gst_element_set_state(h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
    gst_harness_push_event(h, gst_event_new_stream_start("again"));
    gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=4,height=2,framerate=10/1");
    CHECK_EQ_INT(gst_harness_push(h, frame(1)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_try_pull(h);
    CHECK(out && !g_strcmp0(meta_json(out), "1"));
    if (out)
        gst_buffer_unref(out);
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

/* Stopping at any moment of a buffer's way in, the call not started yet included. */
static void t_stop_race(void)
{
    for (guint i = 0; i < 20; i++) {
        GstHarness *h = harness("plugboxfilter stateful=false time-limit=0 script=\"function process(b) { for (;;) {} }\"");
        Job *push = job_start(push_first, h);
        if (i % 2)
            g_thread_yield();
        Job *stop = job_start(stop_element, h->element);
        CHECK_EQ_INT(GPOINTER_TO_INT(job_finish(stop, "set_state(NULL) racing a buffer")), GST_STATE_CHANGE_SUCCESS);
        CHECK_EQ_INT(GPOINTER_TO_INT(job_finish(push, "the push racing the stop")), GST_FLOW_FLUSHING);
        gst_harness_teardown(h);
    }
}

/* A flush (a seek) ends the running call too; after FLUSH_STOP buffers are called again. */
static void t_flush_interrupts(void)
{
    watch_console();
    GstHarness *h = harness(LOOP_ON_FIRST);
    GstBus *bus = bus_of(h);
    Job *push = job_start(push_first, h);
    wait_in_call(1);
    Job *flush = job_start(flush_start, h);
    CHECK(GPOINTER_TO_INT(job_finish(flush, "FLUSH_START during a call")));
    CHECK_EQ_INT(GPOINTER_TO_INT(job_finish(push, "the push of the interrupted buffer")), GST_FLOW_FLUSHING);
    CHECK(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
    gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=4,height=2,framerate=10/1");
    CHECK_EQ_INT(gst_harness_push(h, frame(2)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_try_pull(h);
    CHECK(out && !g_strcmp0(meta_json(out), "2"));
    if (out)
        gst_buffer_unref(out);
    CHECK(gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING | GST_MESSAGE_ERROR) == NULL);
    CHECK_EQ_INT(errors_of(h), 0);
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

static void t_stateful(void)
{
    static const char count[] = "var n = 0; function process(b) { return { meta: ++n }; }";
    gchar *launch = g_strdup_printf("plugboxfilter script=\"%s\"", count), *meta = NULL;
    GstHarness *h = harness(launch);
    CHECK(push_frames(h, 5, &meta) == 5);
    CHECK(meta && !strcmp(meta, "5"));
    gst_harness_teardown(h);
    g_free(launch);
    launch = g_strdup_printf("plugboxfilter stateful=false script=\"%s\"", count);
    h = harness(launch);
    CHECK(push_frames(h, 5, &meta) == 5);
    CHECK(meta && !strcmp(meta, "1"));
    gst_harness_teardown(h);
    g_free(launch);
    g_free(meta);
}

static void t_caps_change(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { return { meta: b.caps.width }; }\"");
    gchar *meta = NULL;
    CHECK(push_frames(h, 1, &meta) == 1);
    CHECK(meta && !strcmp(meta, "4"));
    gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=16,height=2,framerate=10/1");
    CHECK(push_frames(h, 1, &meta) == 1);
    CHECK(meta && !strcmp(meta, "16"));
    g_free(meta);
    gst_harness_teardown(h);
}

/* Sets the element's `property` to `format` with v = first, first + 1, ... every 2 ms until
 * stopped, counting the swaps. */
struct swapper {
    GstElement *element;
    volatile gint stop;
    gint swaps;
    const gchar *property, *format;
    gint first;
};

static gpointer swap_values(gpointer arg)
{
    struct swapper *s = arg;
    for (gint v = s->first; !g_atomic_int_get(&s->stop); v++) {
        gchar *value = g_strdup_printf(s->format, v);
        g_object_set(s->element, s->property, value, NULL);
        g_free(value);
        g_atomic_int_inc(&s->swaps);
        g_usleep(2000);
    }
    return NULL;
}

static void t_hot_swap(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { return { meta: 1 }; }\"");
    GstBus *bus = bus_of(h);
    GstElement *f = filter_of(h);
    struct swapper s = {f, 0, 0, "script", "function process(b) { return { meta: %d }; }", 2};
    GThread *t = g_thread_new("swap", swap_values, &s);
    /* at least 2000 buffers, and on until several swaps happened under load (buffers are fast
     * and a compile is not: a fixed count can end before the first swap) */
    guint in = 0, out = 0, last = 0, backwards = 0;
    for (guint i = 0; i < 2000 || (g_atomic_int_get(&s.swaps) < 5 && i < 2000000); i++, in++) {
        gst_harness_push(h, frame(i));
        GstBuffer *b = gst_harness_pull(h);
        const gchar *m = meta_json(b);
        guint v = m ? (guint)atoi(m) : 0;
        if (v < last || !m)
            backwards++; /* scripts only ever get newer, and every buffer gets one */
        last = v;
        out++;
        gst_buffer_unref(b);
    }
    g_atomic_int_set(&s.stop, 1);
    g_thread_join(t);
    CHECK(out == in && in >= 2000);
    CHECK(backwards == 0);
    CHECK(last > 1 && s.swaps > 1);
    /* a script that does not compile: a warning, and the old one keeps running */
    g_object_set(f, "script", "function process(b) { return { meta: ", NULL);
    gchar *meta = NULL;
    CHECK(push_frames(h, 2, &meta) == 2);
    CHECK(meta && atoi(meta) == s.swaps + 1); /* the last script that compiled (set as v = swaps + 1) */
    GstMessage *w = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    CHECK(w != NULL);
    if (w)
        gst_message_unref(w);
    g_free(meta);
    gst_object_unref(f);
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

static void add_detection(GstBuffer *b, gint id, const gchar *label, gdouble confidence, guint x, guint y)
{
    GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta(b, label, x, y, 40, 60);
    roi->id = id;
    gst_video_region_of_interest_meta_add_param(
        roi, gst_structure_new("detection", "label", G_TYPE_STRING, label, "confidence", G_TYPE_DOUBLE, confidence, NULL));
}

static guint count_rois(GstBuffer *b, gint *first_id, gdouble *first_confidence)
{
    gpointer state = NULL;
    GstMeta *m;
    guint n = 0;
    while ((m = gst_buffer_iterate_meta_filtered(b, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
        GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)m;
        if (n++ == 0) {
            *first_id = roi->id;
            GstStructure *d = gst_video_region_of_interest_meta_get_param(roi, "detection");
            *first_confidence = -1;
            if (d)
                gst_structure_get_double(d, "confidence", first_confidence);
        }
    }
    return n;
}

static void t_rois_in(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { return { meta: b.rois }; }\"");
    GstBuffer *b = frame(0);
    add_detection(b, 7, "person", 0.75, 10, 20);
    gst_harness_push(h, b);
    GstBuffer *out = gst_harness_pull(h);
    CHECK(!g_strcmp0(meta_json(out), "[{\"id\":7,\"parent_id\":0,\"type\":\"person\",\"x\":10,\"y\":20,\"w\":40,\"h\":60,"
                                     "\"params\":{\"detection\":{\"label\":\"person\",\"confidence\":0.75}}}]"));
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}

/* The configuration changes while playing: it takes effect between two buffers, as a script
 * swap does. Set between pushes, exactly from the next buffer; set under load from another
 * thread, never backwards and no buffer lost or seen twice. */
static void t_config_hot(void)
{
    GstHarness *h = harness("plugboxfilter config=\"{\\\"v\\\": 0}\" "
                            "script=\"function process(b) { return { meta: config.v * 100000 + b.offset }; }\"");
    GstElement *f = filter_of(h);
    guint wrong = 0, i = 0;
    for (guint v = 0; v < 4; v++) {
        if (v) {
            gchar *config = g_strdup_printf("{\"v\": %u}", v);
            g_object_set(f, "config", config, NULL);
            g_free(config);
        }
        for (guint k = 0; k < 10; k++, i++) {
            gst_harness_push(h, frame(i));
            GstBuffer *b = gst_harness_pull(h);
            const gchar *m = meta_json(b);
            if (!m || (guint)atoi(m) != v * 100000 + i)
                wrong++;
            gst_buffer_unref(b);
        }
    }
    CHECK_EQ_INT(wrong, 0);
    gchar *got = NULL;
    g_object_get(f, "config", &got, NULL);
    CHECK(got && !strcmp(got, "{\"v\": 3}"));
    g_free(got);

    struct swapper s = {f, 0, 0, "config", "{\"v\": %d}", 4}; /* after the 0 to 3 above */
    GThread *t = g_thread_new("config", swap_values, &s);
    guint in = 0, out = 0, last = 0, backwards = 0;
    for (i = 0; i < 2000 || (g_atomic_int_get(&s.swaps) < 5 && i < 2000000); i++, in++) {
        gst_harness_push(h, frame(i % 100000));
        GstBuffer *b = gst_harness_pull(h);
        const gchar *m = meta_json(b);
        guint v = m ? (guint)(atoll(m) / 100000) : 0;
        if (!m || (guint)(atoll(m) % 100000) != i % 100000 || (in > 0 && v < last))
            backwards++;
        last = v;
        out++;
        gst_buffer_unref(b);
    }
    g_atomic_int_set(&s.stop, 1);
    g_thread_join(t);
    CHECK(out == in && in >= 2000);
    CHECK_EQ_INT(backwards, 0);
    CHECK(last >= 4 && s.swaps > 1);
    /* a configuration that is not JSON: a warning, and the old one keeps running */
    GstBus *bus = bus_of(h);
    g_object_set(f, "config", "{\"v\": ", NULL);
    gchar *meta = NULL;
    CHECK(push_frames(h, 1, &meta) == 1);
    CHECK(meta && (guint)(atoll(meta) / 100000) == (guint)s.swaps + 3); /* the last one set */
    GstMessage *w = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    CHECK(w != NULL);
    if (w)
        gst_message_unref(w);
    g_free(meta);
    gst_object_unref(f);
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

/* The script's stream events: start(caps) at caps, eos() before EOS goes on (its result
 * posted), flush() at FLUSH_STOP (state reset unless it says {keep: true}), stop() when the
 * element stops */
static const gchar *events_script =
    "var n = 0, width = 0; function start(caps) { width = caps.width; } "
    "function process(b) { n++; return { meta: [n, width] }; } "
    "function eos() { return { frames: n, width: width }; } "
    "function stop() { console.log('stopped'); }";

static void t_events(void)
{
    watch_console();
    for (int keep = 0; keep < 2; keep++) {
        gchar *script = g_strdup_printf("%s %s", events_script,
                                        keep ? "function flush() { return { keep: true }; }" : "");
        GstElement *f = gst_element_factory_make("plugboxfilter", NULL);
        g_object_set(f, "script", script, NULL);
        GstHarness *h = gst_harness_new_with_element(f, "sink", "src");
        gst_object_unref(f);
        GstBus *bus = bus_of(h);
        gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=4,height=2,framerate=10/1");
        gchar *meta = NULL;
        CHECK(push_frames(h, 3, &meta) == 3);
        CHECK(meta && !strcmp(meta, "[3,4]"));
        gst_harness_push_event(h, gst_event_new_flush_start());
        gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
        gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=8,height=2,framerate=10/1");
        gst_harness_push_event(h, gst_event_new_segment(&(GstSegment){.format = GST_FORMAT_TIME, .rate = 1,
                                                                       .applied_rate = 1, .stop = GST_CLOCK_TIME_NONE}));
        CHECK(push_frames(h, 1, &meta) == 1);
        /* without flush(): from the snapshot (n counts again), with the new caps' start() */
        CHECK(meta && !strcmp(meta, keep ? "[4,8]" : "[1,8]"));
        CHECK(gst_harness_push_event(h, gst_event_new_eos()));
        GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
        CHECK(m != NULL);
        if (m) {
            const GstStructure *st = gst_message_get_structure(m);
            CHECK(gst_structure_has_name(st, "plugbox"));
            CHECK(!g_strcmp0(gst_structure_get_string(st, "event"), "eos"));
            CHECK(!g_strcmp0(gst_structure_get_string(st, "json"), keep ? "{\"frames\":4,\"width\":8}"
                                                                          : "{\"frames\":1,\"width\":8}"));
            gst_message_unref(m);
        }
        /* EOS went on downstream after the message */
        GstEvent *e;
        gboolean eos = FALSE;
        while ((e = gst_harness_try_pull_event(h))) {
            eos |= GST_EVENT_TYPE(e) == GST_EVENT_EOS;
            gst_event_unref(e);
        }
        CHECK(eos);
        g_mutex_lock(&in_call.lock);
        guint stopped = in_call.stopped;
        g_mutex_unlock(&in_call.lock);
        drop_bus(h, bus);
        gst_harness_teardown(h);
        g_mutex_lock(&in_call.lock);
        CHECK_EQ_INT(in_call.stopped, stopped + 1);
        g_mutex_unlock(&in_call.lock);
        g_free(meta);
        g_free(script);
    }
}

/* An event function that throws follows on-error; warnings of errors are rate-limited, and the
 * errors property counts every one */
static void t_event_errors(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { throw new Error('bad ' + b.offset); } "
                            "function eos() { throw new Error('no summary'); }\"");
    GstBus *bus = bus_of(h);
    gint64 t0 = g_get_monotonic_time();
    CHECK(push_frames(h, 50, NULL) == 50); /* on-error=pass */
    gint64 elapsed = g_get_monotonic_time() - t0;
    CHECK_EQ_INT(errors_of(h), 50);
    guint warnings = 0;
    GstMessage *m;
    while ((m = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING))) {
        warnings++;
        gst_message_unref(m);
    }
    /* the first, then at most one a second, however fast the machine is */
    CHECK(warnings >= 1 && warnings <= 1 + elapsed / G_USEC_PER_SEC + 1);
    g_usleep(G_USEC_PER_SEC + 100000);
    CHECK(push_frames(h, 1, NULL) == 1);
    m = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    CHECK(m != NULL);
    if (m) {
        GError *err = NULL;
        gst_message_parse_warning(m, &err, NULL);
        CHECK(err && strstr(err->message, "bad 0") && strstr(err->message, "more errors not posted"));
        g_clear_error(&err);
        gst_message_unref(m);
    }
    gst_harness_push_event(h, gst_event_new_eos());
    CHECK_EQ_INT(errors_of(h), 52);
    CHECK(gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT) == NULL); /* no summary */
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

/* examples/zone.js configured from outside: the same detections, another zone and classes */
static void t_zone_config(void)
{
    gchar *launch = g_strdup_printf("plugboxfilter location=%s/zone.js config=\"{\\\"zone\\\": [[0, 0], [100, 0], "
                                    "[100, 100], [0, 100]], \\\"labels\\\": [\\\"person\\\", \\\"dog\\\"], "
                                    "\\\"threshold\\\": 0.95}\"", g_getenv("EXAMPLES"));
    GstHarness *h = harness(launch);
    GstBuffer *b = frame(0);
    add_detection(b, 1, "person", 0.9, 280, 200); /* kept by the defaults; outside this zone */
    add_detection(b, 3, "person", 0.96, 10, 10);  /* inside, confident enough */
    add_detection(b, 4, "dog", 0.99, 20, 20);     /* a wanted class here */
    add_detection(b, 5, "dog", 0.9, 20, 20);      /* below the threshold */
    gst_harness_push(h, b);
    GstBuffer *out = gst_harness_pull(h);
    gint id = 0;
    gdouble confidence = 0;
    CHECK_EQ_INT(count_rois(out, &id, &confidence), 2);
    CHECK_EQ_INT(id, 3);
    gst_buffer_unref(out);
    g_free(launch);
    gst_harness_teardown(h);
}

/* A WebAssembly plugin in the element: it gets each buffer's description as its input, and
 * its output is the result (here the description back, as the buffer's meta). */
static void t_plugin(void)
{
    gchar *launch = g_strdup_printf("plugboxfilter location=%s/kernel.wasm function=describe", g_getenv("PLUGINS"));
    GstHarness *h = harness(launch);
    gchar *meta = NULL;
    CHECK(push_frames(h, 3, &meta) == 3);
    CHECK(meta && strstr(meta, "\"offset\":2") && strstr(meta, "\"format\":\"GRAY8\""));
    g_free(meta);
    GstElement *f = filter_of(h);
    guint64 calls = 0, errors = 0;
    g_object_get(f, "calls", &calls, "errors", &errors, NULL);
    CHECK(calls == 3 && errors == 0);
    gst_object_unref(f);
    gst_harness_teardown(h);
    g_free(launch);
}

/* A plugin's output is any bytes (here the configuration's "name", which the kernel plugin's
 * export `config` returns as it is): what is not one JSON text, anywhere in it, is an error
 * and leaves the buffer as it was; the rest is read as a script's result would be. */
static void t_plugin_results(void)
{
    static const struct {
        const char *out;
        guint errors, passed; /* of two frames */
    } cases[] = {
        {"{\"drop\":true}", 0, 0},
        {" {\"drop\" : true}\n", 0, 0},
        {"{\"drop\":false,\"other\":[1,{\"a\":null}]}", 0, 2},
        {"[1,2]", 0, 2},
        {"{\"drop\":true,", 2, 2},
        {"{\"drop\":true} x", 2, 2},
        {"{\"drop\":true}{}", 2, 2},
        {"{\"drop\":tru}", 2, 2},
        {"{\"drop\":true,\"x\":[1,]}", 2, 2},
        {"{\"drop\":[}", 2, 2},
        {"{\"rois\":[{\"x\":1},]}", 2, 2},
        {"{\"rois\":[{\"x\":1}],\"drop\":true", 2, 2},
        {"{\"meta\":{\"a\":1}", 2, 2},
        {"{\"message\":{\"a\":1},\"drop\":true}]", 2, 2},
        {"[1,2", 2, 2},
    };
    gchar *location = g_strdup_printf("%s/kernel.wasm", g_getenv("PLUGINS"));
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        GString *config = g_string_new("{\"name\":");
        gst_plugbox_json_put_string(config, cases[i].out);
        g_string_append_c(config, '}');
        GstElement *f = gst_element_factory_make("plugboxfilter", NULL);
        g_object_set(f, "location", location, "function", "config", "config", config->str, NULL);
        GstHarness *h = gst_harness_new_with_element(f, "sink", "src");
        gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=4,height=2,framerate=10/1");
        guint passed = push_frames(h, 2, NULL);
        guint64 errors = 0;
        g_object_get(f, "errors", &errors, NULL);
        if (passed != cases[i].passed || errors != cases[i].errors)
            g_printerr("output %s: %u passed, %" G_GUINT64_FORMAT " errors\n", cases[i].out, passed, errors);
        CHECK(passed == cases[i].passed && errors == cases[i].errors);
        gst_harness_teardown(h);
        gst_object_unref(f);
        g_string_free(config, TRUE);
    }
    g_free(location);
}

/* examples/zone.js: detections filtered by class, confidence and polygon; entering posts.
 * launch: the element, with the rule's location (zone.js or one of its twins) */
static void zone_rule(gchar *launch)
{
    GstHarness *h = harness(launch);
    GstBus *bus = bus_of(h);
    for (guint i = 0; i < 2; i++) {
        GstBuffer *b = frame(i);
        add_detection(b, 1, "person", 0.9, 280, 200); /* inside, confident: kept */
        add_detection(b, 2, "car", 0.3, 300, 220);    /* inside, not confident enough */
        add_detection(b, 3, "person", 0.9, 10, 10);   /* outside */
        add_detection(b, 4, "dog", 0.99, 300, 200);   /* not a wanted class */
        gst_harness_push(h, b);
        GstBuffer *out = gst_harness_pull(h);
        gint id = 0;
        gdouble confidence = 0;
        CHECK(count_rois(out, &id, &confidence) == 1);
        CHECK(id == 1 && confidence == 0.9); /* the kept region keeps its parameters */
        gst_buffer_unref(out);
    }
    /* one message: entering happens once */
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    CHECK(m != NULL);
    if (m) {
        const gchar *json = gst_structure_get_string(gst_message_get_structure(m), "json");
        CHECK(json && strstr(json, "\"event\":\"entered\"") && strstr(json, "\"id\":1,\"label\":\"person\""));
        gst_message_unref(m);
    }
    CHECK(gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT) == NULL);
    drop_bus(h, bus);
    gst_harness_teardown(h);
    g_free(launch);
}

static void t_zone_rule(void)
{
    zone_rule(g_strdup_printf("plugboxfilter location=%s/zone.js", g_getenv("EXAMPLES")));
}

/* the same rule as a plugin in Rust (examples/zone.rs) and in AssemblyScript (zone.ts) */
static void zone_plugin(const char *file)
{
    zone_rule(g_strdup_printf("plugboxfilter location=%s/%s function=process", g_getenv("PLUGINS"), file));
}
static void t_zone_rust(void) { zone_plugin("zone_rust.wasm"); }
static void t_zone_as(void) { zone_plugin("zone_as.wasm"); }

/* ids of the buffer's regions of interest, in order, as "1,2,3" */
static gchar *roi_ids(GstBuffer *b)
{
    GString *s = g_string_new(NULL);
    gpointer state = NULL;
    GstMeta *m;
    while ((m = gst_buffer_iterate_meta_filtered(b, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
        g_string_append_printf(s, "%s%d", s->len ? "," : "", ((GstVideoRegionOfInterestMeta *)m)->id);
    return g_string_free(s, FALSE);
}

/* "0,1,...,n-1" */
static gchar *roi_ids_upto(guint n)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < n; i++)
        g_string_append_printf(s, "%s%u", i ? "," : "", i);
    return g_string_free(s, FALSE);
}

static GstVideoRegionOfInterestMeta *roi_by_id(GstBuffer *b, gint id)
{
    gpointer state = NULL;
    GstMeta *m;
    while ((m = gst_buffer_iterate_meta_filtered(b, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
        if (((GstVideoRegionOfInterestMeta *)m)->id == id)
            return (GstVideoRegionOfInterestMeta *)m;
    return NULL;
}

/* Regions made by one element reach the next in the order of the array, and come out so. */
static void t_rois_order(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { return { rois: [3, 1, 2].map(function (i) "
                            "{ return { id: i, type: 'obj', x: i, y: 0, w: 1, h: 1 }; }) }; }\" ! "
                            "plugboxfilter script=\"function process(b) { return { meta: b.rois.map(function (r) "
                            "{ return r.id; }) }; }\"");
    gst_harness_push(h, frame(0));
    GstBuffer *out = gst_harness_pull(h);
    CHECK(!g_strcmp0(meta_json(out), "[3,1,2]"));
    gchar *ids = roi_ids(out);
    CHECK(!strcmp(ids, "3,1,2"));
    g_free(ids);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}

/* A filter (some regions left out, the rest unchanged) keeps the metas it keeps as they were,
 * with parameter types JSON does not carry (uint64, fraction); a changed or new region is
 * made anew from its object. */
static void t_rois_replace(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { var k = b.rois.filter(function (r) "
                            "{ return r.id !== 2; }); if (b.offset === 1) { k[0].x = 99; k.push({ id: 9, type: 'new', "
                            "x: 1.5, y: -4, w: 1e12, h: 2, params: { p: { i: 7, d: 0.25, s: 'é' + String.fromCharCode(0x263a, 10), t: true, "
                            "big: 4294967296, o: {} } } }); } if (b.offset === 2) k.push({ id: 8, type: 'late', x: 1, y: 2, w: 3, h: 4 }); "
                            "return { rois: k }; }\"");
    for (guint i = 0; i < 3; i++) {
        GstBuffer *b = frame(i);
        for (gint id = 1; id <= 3; id++) {
            GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta(b, "thing", id * 10, 20, 30, 40);
            roi->id = id;
            roi->parent_id = 5;
            gst_video_region_of_interest_meta_add_param(roi, gst_structure_new("extra", "serial", G_TYPE_UINT64,
                (guint64)42, "frac", GST_TYPE_FRACTION, 1, 2, NULL));
        }
        gst_harness_push(h, b);
        GstBuffer *out = gst_harness_pull(h);
        gchar *ids = roi_ids(out);
        if (i == 0) {
            /* unchanged: the kept metas are the very ones, their uint64 and fraction intact */
            CHECK(!strcmp(ids, "1,3"));
            GstVideoRegionOfInterestMeta *r = roi_by_id(out, 3);
            GstStructure *p = r ? gst_video_region_of_interest_meta_get_param(r, "extra") : NULL;
            guint64 serial = 0;
            gint n = 0, d = 0;
            CHECK(p && gst_structure_get_uint64(p, "serial", &serial) && serial == 42);
            CHECK(p && gst_structure_get_fraction(p, "frac", &n, &d) && n == 1 && d == 2);
            CHECK(r && r->parent_id == 5 && r->x == 30 && r->roi_type == g_quark_from_string("thing"));
        } else if (i == 1) {
            /* changed and new: made from the objects, in the array's order */
            CHECK(!strcmp(ids, "1,3,9"));
            GstVideoRegionOfInterestMeta *r1 = roi_by_id(out, 1), *r9 = roi_by_id(out, 9);
            CHECK(r1 && r1->x == 99 && r1->y == 20 && r1->parent_id == 5);
            GstStructure *e = r1 ? gst_video_region_of_interest_meta_get_param(r1, "extra") : NULL;
            gdouble frac = 0;
            gint serial = 0;
            CHECK(e && gst_structure_get_double(e, "frac", &frac) && frac == 0.5);
            CHECK(e && gst_structure_get_int(e, "serial", &serial) && serial == 42);
            CHECK(r9 && r9->x == 1 && r9->y == 0 && r9->w == G_MAXUINT && r9->h == 2);
            CHECK(r9 && r9->roi_type == g_quark_from_string("new"));
            GstStructure *p = r9 ? gst_video_region_of_interest_meta_get_param(r9, "p") : NULL;
            gint iv = 0;
            gint64 big = 0;
            gdouble dv = 0;
            gboolean t = FALSE;
            CHECK(p && gst_structure_get_int(p, "i", &iv) && iv == 7);
            CHECK(p && gst_structure_get_double(p, "d", &dv) && dv == 0.25);
            CHECK(p && gst_structure_get_int64(p, "big", &big) && big == 4294967296);
            CHECK(p && gst_structure_get_boolean(p, "t", &t) && t);
            CHECK(p && !g_strcmp0(gst_structure_get_string(p, "s"), "\xc3\xa9\xe2\x98\xba\n"));
            CHECK(p && !gst_structure_has_field(p, "o"));
        } else {
            /* the received ones unchanged, then a new one: all made from the objects */
            CHECK(!strcmp(ids, "1,3,8"));
            GstVideoRegionOfInterestMeta *r1 = roi_by_id(out, 1), *r8 = roi_by_id(out, 8);
            GstStructure *e = r1 ? gst_video_region_of_interest_meta_get_param(r1, "extra") : NULL;
            gint serial = 0;
            CHECK(r1 && r1->x == 10 && r1->parent_id == 5 && e && gst_structure_get_int(e, "serial", &serial) &&
                  serial == 42);
            CHECK(r8 && r8->roi_type == g_quark_from_string("late") && r8->x == 1 && r8->h == 4);
        }
        g_free(ids);
        gst_buffer_unref(out);
    }
    gst_harness_teardown(h);
}

/* ---- results that must change nothing ------------------------------------------------------ */

/* GLib and GStreamer criticals and warnings, counted (and printed) instead of aborting */
static gint criticals;

static void count_critical(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user)
{
    (void)level, (void)user;
    g_atomic_int_inc(&criticals);
    fprintf(stderr, "%s-CRITICAL or WARNING: %s\n", domain ? domain : "", message);
}

static void count_criticals(void)
{
    static const gchar *domains[] = {"GStreamer", "GStreamer-Video", "GLib", "GLib-GObject"};
    g_log_set_always_fatal(G_LOG_FATAL_MASK);
    for (gsize i = 0; i < G_N_ELEMENTS(domains); i++)
        g_log_set_handler(domains[i], G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING, count_critical, NULL);
    g_log_set_handler(NULL, G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING, count_critical, NULL);
}

/* What is on the bus: the last warning's message (NULL when none) and the element messages */
static gchar *drain_bus(GstBus *bus, guint *element_messages)
{
    gchar *warning = NULL;
    GstMessage *m;
    *element_messages = 0;
    while ((m = gst_bus_pop(bus))) {
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING) {
            GError *err = NULL;
            gst_message_parse_warning(m, &err, NULL);
            g_free(warning);
            warning = g_strdup(err ? err->message : "");
            g_clear_error(&err);
        } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT) {
            (*element_messages)++;
        }
        gst_message_unref(m);
    }
    return warning;
}

/* Pushes frame(i) carrying one region (id 1) and checks whether the script's result was
 * applied: all of it (its meta and message, and its regions: ids) or none of it (the region
 * and no meta, no message, a warning containing `error`). */
static void expect_result(GstHarness *h, GstBus *bus, guint i, const gchar *ids, const gchar *error)
{
    GstBuffer *b = frame(i);
    gst_buffer_add_video_region_of_interest_meta(b, "thing", 1, 2, 3, 4)->id = 1;
    CHECK_EQ_INT(gst_harness_push(h, b), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(h);
    guint messages;
    gchar *got = roi_ids(out), *warning = drain_bus(bus, &messages);
    if (error) {
        CHECK_STR(got, "1");
        CHECK(meta_json(out) == NULL);
        CHECK_EQ_INT(messages, 0);
        CHECK_HAS(warning, error);
    } else {
        CHECK_STR(got, ids);
        CHECK(meta_json(out) != NULL);
        CHECK_EQ_INT(messages, 1);
        CHECK_STR(warning ? warning : "(none)", "(none)");
    }
    g_free(got);
    g_free(warning);
    gst_buffer_unref(out);
}

/* Structure and field names GStreamer would refuse are the script's error, said precisely;
 * nothing of such a result is applied, and GStreamer never complains. */
static void t_bad_names(void)
{
    count_criticals();
    GstHarness *h = harness("plugboxfilter warning-interval=0 script=\"var bad = ["
                            "[{ id: 5, params: { '': { a: 1 } } }], "
                            "[{ id: 5 }, { id: 6, params: { '1x': {} } }], "
                            "[{ id: 5, params: { p: { 'a b': 1 } } }], "
                            "[{ id: 5, params: { p: { '': 1 } } }], "
                            "[{ id: 5, params: { p: { ['caf' + String.fromCharCode(0xe9)]: 1 } } }], "
                            "[{ id: 5, params: { q: {}, 'a;b': {} } }], "
                            "[{ id: 5, params: { 'a/b-c_d.e:f+g': { 'x.y:1+-/_': 1, '1st': 'ok' } } }, { id: 6 }]]; "
                            "function process(b) { return { rois: bad[b.offset], meta: 'applied', message: 'posted' }; }\"");
    GstBus *bus = bus_of(h);
    expect_result(h, bus, 0, NULL, "rois[0].params: \"\" is not a valid structure name");
    expect_result(h, bus, 1, NULL, "rois[1].params: \"1x\" is not a valid structure name");
    expect_result(h, bus, 2, NULL, "rois[0].params.p: \"a b\" is not a valid field name");
    expect_result(h, bus, 3, NULL, "rois[0].params.p: \"\" is not a valid field name");
    expect_result(h, bus, 4, NULL, "rois[0].params.p: \"caf\xc3\xa9\" is not a valid field name");
    expect_result(h, bus, 5, NULL, "rois[0].params: \"a;b\" is not a valid structure name");
    expect_result(h, bus, 6, "5,6", NULL); /* every character GStreamer allows */
    CHECK_EQ_INT(errors_of(h), 6);
    CHECK_EQ_INT(g_atomic_int_get(&criticals), 0);
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

/* Every new name a script makes is interned by GLib for good: new names have a budget per
 * process (256, of 256 bytes at most), names that exist already are free. */
static void t_name_budget(void)
{
    count_criticals();
    gchar *known = g_strnfill(65536, 'k');
    g_quark_from_string(known);
    g_quark_from_string("detection");
    GstHarness *h = harness("plugboxfilter warning-interval=0 script=\"function process(b) { var n = b.offset, r = []; "
                            "if (n <= 3) for (var i = 0; i < 100; i++) r.push({ id: i, type: 'budget' + n % 3 + '_' + i }); "
                            "if (n === 4) r.push({ id: 1, type: 'u'.repeat(65536) }); "
                            "if (n === 5) r.push({ id: 1, type: 'k'.repeat(65536) }); "
                            "if (n === 6) r.push({ id: 1, params: { detection: { newfield: 1 } } }); "
                            "return { rois: r, meta: n, message: n }; }\"");
    GstBus *bus = bus_of(h);
    gchar *hundred = roi_ids_upto(100);
    expect_result(h, bus, 0, hundred, NULL);                                        /* 100 new names */
    expect_result(h, bus, 1, hundred, NULL);                                        /* 200 */
    expect_result(h, bus, 2, NULL, "rois[56].type: \"budget2_56\" would be a new name"); /* 256 */
    CHECK(g_quark_try_string("budget2_55") != 0);
    CHECK(g_quark_try_string("budget2_56") == 0 && g_quark_try_string("budget2_99") == 0);
    expect_result(h, bus, 3, hundred, NULL); /* names that exist: free */
    expect_result(h, bus, 4, NULL, "rois[0].type: \"uuuu");
    gchar *long_name = g_strnfill(65536, 'u');
    CHECK(g_quark_try_string(long_name) == 0);
    expect_result(h, bus, 5, "1", NULL);
    expect_result(h, bus, 6, NULL, "rois[0].params.detection: \"newfield\" would be a new name");
    CHECK_EQ_INT(g_atomic_int_get(&criticals), 0);
    g_free(long_name);
    g_free(hundred);
    g_free(known);
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

/* A result makes at most 16384 regions, parameter structures and fields in all. */
static void t_rois_cap(void)
{
    count_criticals();
    GstHarness *h = harness("plugboxfilter warning-interval=0 stateful=false time-limit=0 script=\"function process(b) { var n = b.offset, r = []; "
                            "if (n === 0) for (var i = 0; i < 100000; i++) r.push({ id: i }); "
                            "if (n >= 1) for (var i = 0; i < 4096; i++) "
                            "r.push({ id: i, params: { detection: { label: 'x', confidence: 0.5 } } }); "
                            "if (n === 2) r.push({ id: 4096 }); "
                            "return { rois: r, meta: n, message: n }; }\"");
    GstBus *bus = bus_of(h);
    expect_result(h, bus, 0, NULL, "rois: more than 16384 regions, parameter structures and fields");
    gchar *all = roi_ids_upto(4096);
    expect_result(h, bus, 1, all, NULL); /* 4096 x (region, structure, 2 fields): the cap */
    expect_result(h, bus, 2, NULL, "rois: more than 16384 regions, parameter structures and fields");
    CHECK_EQ_INT(g_atomic_int_get(&criticals), 0);
    g_free(all);
    drop_bus(h, bus);
    gst_harness_teardown(h);
}

/* The JSON the element writes reads back to the same values; its reader takes only JSON. */
static void t_json(void)
{
    GString *s = g_string_new(NULL);
    /* doubles: decimals of few digits come out short, every one reads back exactly */
    static const gdouble fixed[] = {0.1, 0.75, -2.5, 29.97, 1e-7, 123456.789, 1e300, 5e-324, -0.0, 4503599627370497.0};
    for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++) {
        g_string_truncate(s, 0);
        gst_plugbox_json_put_double(s, fixed[i]);
        CHECK(g_ascii_strtod(s->str, NULL) == fixed[i]);
    }
    g_string_truncate(s, 0);
    gst_plugbox_json_put_double(s, 0.1);
    CHECK(!strcmp(s->str, "0.1"));
    g_string_truncate(s, 0);
    gst_plugbox_json_put_double(s, -29.97);
    CHECK(!strcmp(s->str, "-29.97"));
    g_string_truncate(s, 0);
    gst_plugbox_json_put_double(s, 1.0 / 0.0);
    CHECK(!strcmp(s->str, "null"));
    GRand *rand = g_rand_new_with_seed(7);
    for (int i = 0; i < 100000; i++) {
        union {
            guint64 u;
            gdouble d;
        } v = {.u = (guint64)g_rand_int(rand) << 32 | g_rand_int(rand)};
        if (i % 2)
            v.d = g_rand_int_range(rand, -100000, 100000) / (gdouble)(1 << g_rand_int_range(rand, 0, 12));
        if (!isfinite(v.d))
            continue;
        g_string_truncate(s, 0);
        gst_plugbox_json_put_double(s, v.d);
        GstPlugboxJsonReader r = {s->str, s->str + s->len};
        gdouble back = 0;
        gboolean integral;
        if (!gst_plugbox_json_number(&r, &back, &integral) || back != v.d || r.p != r.end) {
            CHECK(!"a double reads back");
            break;
        }
    }
    g_rand_free(rand);
    /* strings: escapes written, invalid UTF-8 replaced */
    g_string_truncate(s, 0);
    gst_plugbox_json_put_string(s, "a\"\\\n\x01\xff");
    CHECK(!strcmp(s->str, "\"a\\\"\\\\\\n\\u0001\xef\xbf\xbd\""));

    /* the reader: valid texts skip whole, broken ones fail without reading past the end */
    static const char *good[] = {"0", "-0.5e+3", "\"\\ud83d\\ude00\"", "[]", "{}", "[1,[2,{\"a\":[]}],null,true,false]",
                                 " { \"k\" : { \"x\" : [ 1 , 2 ] } } "};
    static const char *bad[] = {"", "01", "1.", "-", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}", "{,\"a\":1}", "[",
                                "{\"a\":", "\"\\x\"", "\"\\u12\"", "\"a", "[1]]", "tru", "{\"a\":1]", "[\"\x01\"]", "{1:2}"};
    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        GstPlugboxJsonReader r = {good[i], good[i] + strlen(good[i])};
        CHECK(gst_plugbox_json_skip(&r) && gst_plugbox_json_peek(&r) == GST_PLUGBOX_JSON_NONE && r.p == r.end);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        GstPlugboxJsonReader r = {bad[i], bad[i] + strlen(bad[i])};
        gboolean whole = gst_plugbox_json_skip(&r) && gst_plugbox_json_peek(&r) == GST_PLUGBOX_JSON_NONE && r.p == r.end;
        if (whole)
            g_printerr("accepted: %s\n", bad[i]);
        CHECK(!whole);
    }
    /* nesting takes no C stack */
    gsize deep = 1000000;
    gchar *text = g_malloc(2 * deep);
    memset(text, '[', deep);
    memset(text + deep, ']', deep);
    GstPlugboxJsonReader r = {text, text + 2 * deep};
    CHECK(gst_plugbox_json_skip(&r) && r.p == r.end);
    r = (GstPlugboxJsonReader){text, text + 2 * deep - 1};
    CHECK(!gst_plugbox_json_skip(&r));
    g_free(text);
    /* members and elements, unescaped */
    const char *obj = "{\"a\\u00e9\":\"x\\ud800y\",\"n\":[1,2.5]}";
    r = (GstPlugboxJsonReader){obj, obj + strlen(obj)};
    GString *key = g_string_new(NULL), *val = g_string_new(NULL);
    gboolean more = FALSE, integral = FALSE;
    gdouble v = 0;
    CHECK(gst_plugbox_json_enter_object(&r) && gst_plugbox_json_member(&r, key, &more) && more);
    CHECK(!strcmp(key->str, "a\xc3\xa9") && gst_plugbox_json_string(&r, val) && !strcmp(val->str, "x\xef\xbf\xbdy"));
    CHECK(gst_plugbox_json_member(&r, key, &more) && more && !strcmp(key->str, "n"));
    CHECK(gst_plugbox_json_enter_array(&r) && gst_plugbox_json_element(&r, &more) && more);
    CHECK(gst_plugbox_json_number(&r, &v, &integral) && v == 1 && integral);
    CHECK(gst_plugbox_json_element(&r, &more) && more && gst_plugbox_json_number(&r, &v, &integral) && v == 2.5 && !integral);
    CHECK(gst_plugbox_json_element(&r, &more) && !more);
    CHECK(gst_plugbox_json_member(&r, key, &more) && !more && r.p == r.end);
    g_string_free(key, TRUE);
    g_string_free(val, TRUE);
    g_string_free(s, TRUE);
}

/* data-access: the bytes as a Uint8Array; readwrite writes the script's changes into the buffer
 * (not into a buffer upstream still holds), read and none leave them alone */
static void t_bytes(void)
{
    static const char script[] = "function process(b, bytes) { if (!bytes) return { meta: 'none' }; var s = 0; "
                                 "for (var i = 0; i < bytes.length; i++) { s += bytes[i]; bytes[i] = 255 - bytes[i]; } "
                                 "return { meta: { sum: s, n: bytes.length, fail: b.offset === 1 }, drop: false }; }";
    static const char *modes[] = {"readwrite", "read", "none"};
    for (gsize m = 0; m < G_N_ELEMENTS(modes); m++) {
        gchar *launch = g_strdup_printf("plugboxfilter data-access=%s script=\"%s\"", modes[m], script);
        GstHarness *h = harness(launch);
        GstBuffer *in = frame(0);
        guint8 pixels[8] = {0, 1, 2, 3, 250, 251, 252, 253};
        gst_buffer_fill(in, 0, pixels, sizeof pixels);
        gst_buffer_ref(in); /* upstream keeps it: the element must not write into it */
        gst_harness_push(h, in);
        GstBuffer *out = gst_harness_pull(h);
        guint8 got[8] = {0}, kept[8] = {0};
        gst_buffer_extract(out, 0, got, sizeof got);
        gst_buffer_extract(in, 0, kept, sizeof kept);
        CHECK(!memcmp(kept, pixels, sizeof pixels));
        gboolean inverted = TRUE;
        for (gsize i = 0; i < sizeof got; i++)
            inverted &= got[i] == 255 - pixels[i];
        if (m == 0) {
            CHECK(inverted);
            CHECK(!g_strcmp0(meta_json(out), "{\"sum\":1012,\"n\":8,\"fail\":false}"));
        } else {
            CHECK(!memcmp(got, pixels, sizeof pixels));
            CHECK(!g_strcmp0(meta_json(out), m == 1 ? "{\"sum\":1012,\"n\":8,\"fail\":false}" : "\"none\""));
        }
        gst_buffer_unref(out);
        gst_buffer_unref(in);
        gst_harness_teardown(h);
        g_free(launch);
    }
    /* a call that fails after writing leaves the bytes as they were */
    GstHarness *h = harness("plugboxfilter data-access=readwrite script=\"function process(b, bytes) { bytes[0] = 9; "
                            "throw new Error('late'); }\"");
    GstBuffer *in = frame(0);
    gst_buffer_memset(in, 0, 5, 8);
    gst_harness_push(h, in);
    GstBuffer *out = gst_harness_pull(h);
    guint8 first = 0;
    gst_buffer_extract(out, 0, &first, 1);
    CHECK(first == 5);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}

static const test_case cases[] = {
    {"rois_in", t_rois_in},             {"zone_rule", t_zone_rule},
    {"pass_drop", t_pass_drop},         {"buffer_description", t_buffer_description},
    {"meta_downstream", t_meta_downstream}, {"bus_message", t_bus_message},
    {"on_error", t_on_error},           {"time_limit", t_time_limit},       {"live_limits", t_live_limits},
    {"stateful", t_stateful},           {"caps_change", t_caps_change},
    {"hot_swap", t_hot_swap},           {"rois_order", t_rois_order},
    {"rois_replace", t_rois_replace},   {"json", t_json},
    {"bytes", t_bytes},                 {"default_time_limit", t_default_time_limit},
    {"stop_interrupts", t_stop_interrupts}, {"stop_race", t_stop_race},
    {"flush_interrupts", t_flush_interrupts}, {"bad_names", t_bad_names},
    {"name_budget", t_name_budget},     {"rois_cap", t_rois_cap},
    {"config_hot", t_config_hot},       {"zone_config", t_zone_config},
    {"events", t_events},               {"event_errors", t_event_errors},
    {"plugin", t_plugin},               {"plugin_results", t_plugin_results},
    {"zone_rust", t_zone_rust},         {"zone_as", t_zone_as},
};

int main(int argc, char **argv)
{
    gst_check_init(NULL, NULL);
    /* plugins compile into a cache of this process's own */
    gchar *cache = g_dir_make_tmp("plugbox-gst-XXXXXX", NULL);
    if (cache)
        g_setenv("XDG_CACHE_HOME", cache, TRUE);
    int rc = run_cases(argc, argv, cases, G_N_ELEMENTS(cases));
    if (cache) {
        gchar *rm = g_strdup_printf("rm -rf '%s'", cache);
        if (system(rm) != 0)
            rc = 1;
        g_free(rm);
        g_free(cache);
    }
    return rc;
}
