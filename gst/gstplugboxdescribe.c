/* SPDX-License-Identifier: MIT */
/* gstplugboxdescribe.c - what the script sees of a buffer: its timestamps, offset, flags, caps,
 * regions of interest and the metadata an upstream plugboxfilter attached, as JSON. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <string.h>

#include "gstplugboxelement.h"

/* ---- what the script sees ------------------------------------------------------------------ */

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
        if (g_value_get_boolean(value))
            gst_plugbox_json_put_lit(s, "true");
        else
            gst_plugbox_json_put_lit(s, "false");
    } else if (t == G_TYPE_STRING) {
        gst_plugbox_json_put_string(s, g_value_get_string(value) ? g_value_get_string(value) : "");
    } else if (t == GST_TYPE_FRACTION) {
        gint n = gst_value_get_fraction_numerator(value), d = gst_value_get_fraction_denominator(value);
        if (d)
            gst_plugbox_json_put_double(s, (gdouble)n / d);
        else
            gst_plugbox_json_put_lit(s, "null");
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
gchar *gst_plugbox_caps_to_json(GstCaps *caps)
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
    gst_plugbox_json_put_len(s, key, strlen(key));
    if (GST_CLOCK_TIME_IS_VALID(t))
        gst_plugbox_json_put_uint(s, t);
    else
        gst_plugbox_json_put_lit(s, "null");
}

static void put_roi(GString *s, const GstVideoRegionOfInterestMeta *roi)
{
    gst_plugbox_json_put_lit(s, "{\"id\":");
    gst_plugbox_json_put_int(s, roi->id);
    gst_plugbox_json_put_lit(s, ",\"parent_id\":");
    gst_plugbox_json_put_int(s, roi->parent_id);
    gst_plugbox_json_put_lit(s, ",\"type\":");
    gst_plugbox_json_put_string(s, roi->roi_type ? g_quark_to_string(roi->roi_type) : "");
    gst_plugbox_json_put_lit(s, ",\"x\":");
    gst_plugbox_json_put_uint(s, roi->x);
    gst_plugbox_json_put_lit(s, ",\"y\":");
    gst_plugbox_json_put_uint(s, roi->y);
    gst_plugbox_json_put_lit(s, ",\"w\":");
    gst_plugbox_json_put_uint(s, roi->w);
    gst_plugbox_json_put_lit(s, ",\"h\":");
    gst_plugbox_json_put_uint(s, roi->h);
    gst_plugbox_json_put_lit(s, ",\"params\":{");
    for (GList *l = roi->params; l; l = l->next) {
        GstStructure *p = l->data;
        if (l != roi->params)
            g_string_append_c(s, ',');
        gst_plugbox_json_put_string(s, gst_structure_get_name(p));
        gst_plugbox_json_put_lit(s, ":{");
        FieldWriter w = {s, TRUE};
        gst_structure_foreach(p, put_field, &w);
        g_string_append_c(s, '}');
    }
    gst_plugbox_json_put_lit(s, "}}");
}

/* The buffer's description, into s; its regions of interest, into rois (InputRoi). */
static void describe(GString *s, GArray *rois, const gchar *caps_json, GstBuffer *buf)
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
    g_string_truncate(s, 0);
    put_time(s, "{\"pts\":", GST_BUFFER_PTS(buf));
    put_time(s, ",\"dts\":", GST_BUFFER_DTS(buf));
    put_time(s, ",\"duration\":", GST_BUFFER_DURATION(buf));
    gst_plugbox_json_put_lit(s, ",\"offset\":");
    if (GST_BUFFER_OFFSET_IS_VALID(buf))
        gst_plugbox_json_put_uint(s, GST_BUFFER_OFFSET(buf));
    else
        gst_plugbox_json_put_lit(s, "null");
    gst_plugbox_json_put_lit(s, ",\"flags\":[");
    gboolean first = TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
        if (GST_BUFFER_FLAG_IS_SET(buf, flags[i].flag)) {
            if (!first)
                g_string_append_c(s, ',');
            gst_plugbox_json_put_string(s, flags[i].name);
            first = FALSE;
        }
    }
    gst_plugbox_json_put_lit(s, "],\"size\":");
    gst_plugbox_json_put_uint(s, gst_buffer_get_size(buf));
    gst_plugbox_json_put_lit(s, ",\"caps\":");
    g_string_append(s, caps_json ? caps_json : "null");

    g_array_set_size(rois, 0);
    gpointer state = NULL;
    GstMeta *m;
    while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
        InputRoi r = {(GstVideoRegionOfInterestMeta *)m, 0, 0, FALSE};
        g_array_append_val(rois, r);
    }
    gst_plugbox_json_put_lit(s, ",\"rois\":[");
    for (guint i = 0; i < rois->len; i++) {
        InputRoi *r = &g_array_index(rois, InputRoi, i);
        if (i > 0)
            g_string_append_c(s, ',');
        r->start = s->len;
        put_roi(s, r->meta);
        r->end = s->len;
    }
    const gchar *meta = gst_plugbox_meta_get_json(buf);
    gst_plugbox_json_put_lit(s, "],\"meta\":");
    g_string_append(s, meta ? meta : "null");
    g_string_append_c(s, '}');
}

void gst_plugbox_describe_buffer(GstPlugboxFilter *self, GstBuffer *buf)
{
    describe(self->input, self->rois, self->caps_json, buf);
}

/* The description of a made-up buffer with one region of interest, for the program's sample
 * input (plugbox_options_set_sample): the snapshot then holds the keys and the shapes of every
 * buffer's description, and a fresh call does not make them again. */
gchar *gst_plugbox_describe_sample(const gchar *caps_json)
{
    GstBuffer *buf = gst_buffer_new();
    GST_BUFFER_PTS(buf) = GST_BUFFER_DTS(buf) = 0;
    GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
    GST_BUFFER_OFFSET(buf) = 0;
    gst_buffer_add_video_region_of_interest_meta(buf, "object", 0, 0, 1, 1);
    GString *s = g_string_new(NULL);
    GArray *rois = g_array_new(FALSE, FALSE, sizeof(InputRoi));
    describe(s, rois, caps_json, buf);
    g_array_unref(rois);
    gst_buffer_unref(buf);
    return g_string_free(s, FALSE);
}

