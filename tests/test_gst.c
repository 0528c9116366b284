/* test_gst.c - the plugboxfilter element through gst_harness. One case per process:
 * test_gst CASE (with GST_PLUGIN_PATH pointing at the build). */
#include <string.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/gstvideometa.h>

#include "check.h"

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
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    CHECK(push_frames(h, 3, NULL) == 3);
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    CHECK(m != NULL);
    if (m) {
        const GstStructure *st = gst_message_get_structure(m);
        CHECK(gst_structure_has_name(st, "plugbox"));
        CHECK(!g_strcmp0(gst_structure_get_string(st, "json"), "{\"entered\":\"zone\",\"frame\":1}"));
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    gst_harness_teardown(h);
}

static void t_on_error(void)
{
    static const char script[] = "function process(b) { if (b.offset === 1) throw new Error('bad frame'); }";
    gchar *launch;
    /* pass: the failing buffer goes on, a warning is posted */
    launch = g_strdup_printf("plugboxfilter on-error=pass script=\"%s\"", script);
    GstHarness *h = harness(launch);
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
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
    gst_object_unref(bus);
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
    GstHarness *h = harness("plugboxfilter time-limit=50 script=\"function process(b) { if (b.offset === 1) for (;;) {} "
                            "return { meta: { ok: b.offset } }; }\"");
    gint64 t0 = g_get_monotonic_time();
    gchar *meta = NULL;
    CHECK(push_frames(h, 4, &meta) == 4); /* on-error=pass: the pipeline goes on */
    CHECK(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    CHECK(meta && !strcmp(meta, "{\"ok\":3}"));
    guint64 errors = 0;
    gdouble max_us = 0;
    GstElement *f = filter_of(h);
    g_object_get(f, "errors", &errors, "max-time", &max_us, NULL);
    gst_object_unref(f);
    CHECK(errors == 1);
    CHECK(max_us >= 40000);
    g_free(meta);
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

struct swapper {
    GstElement *element;
    volatile gint stop;
    gint swaps;
};

static gpointer swap_scripts(gpointer arg)
{
    struct swapper *s = arg;
    for (gint v = 2; !g_atomic_int_get(&s->stop); v++) {
        gchar *script = g_strdup_printf("function process(b) { return { meta: %d }; }", v);
        g_object_set(s->element, "script", script, NULL);
        g_free(script);
        s->swaps++;
        g_usleep(2000);
    }
    return NULL;
}

static void t_hot_swap(void)
{
    GstHarness *h = harness("plugboxfilter script=\"function process(b) { return { meta: 1 }; }\"");
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    GstElement *f = filter_of(h);
    struct swapper s = {f, 0, 0};
    GThread *t = g_thread_new("swap", swap_scripts, &s);
    guint in = 2000, out = 0, last = 0, backwards = 0;
    for (guint i = 0; i < in; i++) {
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
    CHECK(out == in);
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
    gst_object_unref(bus);
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
    CHECK(!g_strcmp0(meta_json(out), "[{\"id\":7,\"type\":\"person\",\"x\":10,\"y\":20,\"w\":40,\"h\":60,"
                                     "\"params\":{\"detection\":{\"label\":\"person\",\"confidence\":0.75}}}]"));
    gst_buffer_unref(out);
    gst_harness_teardown(h);
}

/* examples/zone.js: detections filtered by class, confidence and polygon; entering posts */
static void t_zone_rule(void)
{
    gchar *launch = g_strdup_printf("plugboxfilter location=%s/zone.js time-limit=50", g_getenv("EXAMPLES"));
    GstHarness *h = harness(launch);
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
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
    gst_object_unref(bus);
    gst_harness_teardown(h);
    g_free(launch);
}

static const test_case cases[] = {
    {"rois_in", t_rois_in},             {"zone_rule", t_zone_rule},
    {"pass_drop", t_pass_drop},         {"buffer_description", t_buffer_description},
    {"meta_downstream", t_meta_downstream}, {"bus_message", t_bus_message},
    {"on_error", t_on_error},           {"time_limit", t_time_limit},
    {"stateful", t_stateful},           {"caps_change", t_caps_change},
    {"hot_swap", t_hot_swap},
};

int main(int argc, char **argv)
{
    gst_check_init(NULL, NULL);
    return run_cases(argc, argv, cases, G_N_ELEMENTS(cases));
}
