/* SPDX-License-Identifier: MIT */
/* gstplugboxjson.h - the JSON plugboxfilter writes for the script and reads back from it.
 *
 * Writing: numbers in a form that reads back to the same double, strings always valid UTF-8.
 * Reading: a strict pull reader over a result text. The text comes out of the sandbox, so it is
 * untrusted: every function checks bounds and grammar and reports failure with FALSE (the
 * reader is then in an unspecified position and should be dropped). Nesting takes no C stack.
 */
#ifndef GST_PLUGBOX_JSON_H
#define GST_PLUGBOX_JSON_H

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

/* Appends n bytes to s. GLib before 2.76 has no inline append: each g_string_append is a call
 * into g_string_insert_len, and a description of ten regions makes hundreds of them. */
static inline void gst_plugbox_json_put_len(GString *s, const gchar *p, gsize n)
{
    if (G_LIKELY(s->len + n < s->allocated_len)) { /* room for the bytes and the NUL */
        memcpy(s->str + s->len, p, n);
        s->len += n;
        s->str[s->len] = 0;
    } else {
        g_string_append_len(s, p, n);
    }
}
/* a string literal's bytes */
#define gst_plugbox_json_put_lit(s, lit) gst_plugbox_json_put_len((s), "" lit, sizeof(lit) - 1)

void gst_plugbox_json_put_int(GString *s, gint64 v);
void gst_plugbox_json_put_uint(GString *s, guint64 v);
/* the shortest decimal of few digits that reads back to v when there is one, else 17
 * significant digits; null for NaN and the infinities, which JSON lacks */
void gst_plugbox_json_put_double(GString *s, gdouble v);
/* a quoted string; invalid UTF-8 becomes U+FFFD */
void gst_plugbox_json_put_string(GString *s, const gchar *text);

typedef struct {
    const gchar *p, *end;
} GstPlugboxJsonReader;

typedef enum {
    GST_PLUGBOX_JSON_NONE, /* malformed, or the end */
    GST_PLUGBOX_JSON_OBJECT,
    GST_PLUGBOX_JSON_ARRAY,
    GST_PLUGBOX_JSON_STRING,
    GST_PLUGBOX_JSON_NUMBER,
    GST_PLUGBOX_JSON_TRUE,
    GST_PLUGBOX_JSON_FALSE,
    GST_PLUGBOX_JSON_NULL,
} GstPlugboxJsonType;

/* The type of the next value (after white space), without consuming it. */
GstPlugboxJsonType gst_plugbox_json_peek(GstPlugboxJsonReader *r);
/* Skips one whole value, checking its grammar. */
gboolean gst_plugbox_json_skip(GstPlugboxJsonReader *r);
/* Enters an object; then each call to _member gives the next key (unescaped into key, which
 * is cleared first) and leaves the reader at its value, which the caller reads or skips.
 * *more is FALSE after the closing brace. */
gboolean gst_plugbox_json_enter_object(GstPlugboxJsonReader *r);
gboolean gst_plugbox_json_member(GstPlugboxJsonReader *r, GString *key, gboolean *more);
/* Enters an array; then each call to _element leaves the reader at the next value, or sets
 * *more to FALSE after the closing bracket. */
gboolean gst_plugbox_json_enter_array(GstPlugboxJsonReader *r);
gboolean gst_plugbox_json_element(GstPlugboxJsonReader *r, gboolean *more);
/* Reads a string value, unescaped, into out (cleared first); lone surrogates and invalid
 * UTF-8 become U+FFFD. */
gboolean gst_plugbox_json_string(GstPlugboxJsonReader *r, GString *out);
/* Reads a number value. *integral is TRUE when its text has no fraction nor exponent. */
gboolean gst_plugbox_json_number(GstPlugboxJsonReader *r, gdouble *v, gboolean *integral);

G_END_DECLS

#endif
