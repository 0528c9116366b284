/* SPDX-License-Identifier: MIT */
/* gstplugboxresult.c - what the script returns, read whole and checked, then applied to the
 * buffer: dropped or passed, its regions of interest kept or replaced, JSON metadata attached
 * for elements downstream, a message posted on the bus. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdarg.h>
#include <string.h>

#include "gstplugboxelement.h"

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

static void clear_new_roi(gpointer data)
{
    NewRoi *roi = data;
    if (roi->params)
        g_ptr_array_unref(roi->params);
}

void gst_plugbox_plan_clear(Plan *p)
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

/* Reads the array while it holds regions the script received, in their order, unchanged (a
 * filter), marking those kept: *subset is TRUE when the whole array is such a filter (r is
 * then after it); FALSE at its first other element (r is then left inside the array, which
 * is read again as new regions). */
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
        while (!found && next < in->len) {
            InputRoi *ir = &g_array_index(in, InputRoi, next++);
            found = ir->end - ir->start == n && !memcmp(text + ir->start, start, n);
            ir->kept = found;
        }
        if (!found) {
            *subset = FALSE;
            return TRUE;
        }
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
    *r = again;
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
gboolean gst_plugbox_plan_result(GstPlugboxFilter *self, Plan *p, const char *json, size_t len)
{
    if (!json || (len == 4 && !memcmp(json, "true", 4)))
        return TRUE;
    if (len == 5 && !memcmp(json, "false", 5)) {
        p->drop = TRUE;
        return TRUE;
    }
    GstPlugboxJsonReader r = {json, json + len};
    if (gst_plugbox_json_peek(&r) != GST_PLUGBOX_JSON_OBJECT) {
        /* anything else passes, if it is JSON */
        if (!gst_plugbox_json_skip(&r) || gst_plugbox_json_peek(&r) != GST_PLUGBOX_JSON_NONE || r.p != r.end)
            return plan_fail(p, NOT_JSON);
        return TRUE;
    }
    /* An object is checked as it is read, in one pass: every member is either read by what
     * takes it (each reader checks its grammar) or skipped, which checks it too. */
    gboolean more = TRUE;
    gst_plugbox_json_enter_object(&r);
    while (gst_plugbox_json_member(&r, self->key, &more) && more) {
        const gchar *k = self->key->str;
        GstPlugboxJsonType t = gst_plugbox_json_peek(&r);
        if (!strcmp(k, "drop")) {
            p->drop = t == GST_PLUGBOX_JSON_TRUE;
            if (!gst_plugbox_json_skip(&r))
                return plan_fail(p, NOT_JSON);
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
    if (more || gst_plugbox_json_peek(&r) != GST_PLUGBOX_JSON_NONE || r.p != r.end)
        return plan_fail(p, NOT_JSON); /* cut short, or something after the object */
    return TRUE;
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
gboolean gst_plugbox_apply_plan(GstPlugboxFilter *self, GstBuffer *buf, Plan *p)
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

