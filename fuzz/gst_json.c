/* SPDX-License-Identifier: MIT */
/* gst_json.c - fuzz target: the reader plugboxfilter uses on results that come out of the
 * sandbox (gst/gstplugboxjson.c), against the host's validator (src/jsoncheck.c).
 *
 * For every input: a whole-text skip accepts every valid JSON text and rejects every one with a
 * syntax error (invalid UTF-8 is the caller's to check, so those inputs only have to be read
 * safely); a valid text walks through the structured calls (objects, members, arrays, strings,
 * numbers) to its end; a number reads back as strtod reads it; and nothing reads outside the
 * input (AddressSanitizer). Any other outcome aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gstplugboxjson.h"
#include "jsoncheck.h"

static void fail(const char *what, const uint8_t *data, size_t n)
{
    fprintf(stderr, "gst_json: %s on %zu bytes: %.*s\n", what, n, (int)(n > 200 ? 200 : n), (const char *)data);
    abort();
}

/* Reads one value with the structured calls; deeper than 64 levels, skips it. */
static gboolean walk(GstPlugboxJsonReader *r, GString *key, GString *text, int depth)
{
    gboolean more = TRUE, integral;
    gdouble v;
    if (depth > 64)
        return gst_plugbox_json_skip(r);
    switch (gst_plugbox_json_peek(r)) {
    case GST_PLUGBOX_JSON_OBJECT:
        if (!gst_plugbox_json_enter_object(r))
            return FALSE;
        while (gst_plugbox_json_member(r, key, &more) && more)
            if (!walk(r, key, text, depth + 1))
                return FALSE;
        return !more;
    case GST_PLUGBOX_JSON_ARRAY:
        if (!gst_plugbox_json_enter_array(r))
            return FALSE;
        while (gst_plugbox_json_element(r, &more) && more)
            if (!walk(r, key, text, depth + 1))
                return FALSE;
        return !more;
    case GST_PLUGBOX_JSON_STRING:
        if (!gst_plugbox_json_string(r, text))
            return FALSE;
        return g_utf8_validate_len(text->str, text->len, NULL);
    case GST_PLUGBOX_JSON_NUMBER: {
        const gchar *start = r->p;
        if (!gst_plugbox_json_number(r, &v, &integral))
            return FALSE;
        gchar *copy = g_strndup(start, (gsize)(r->p - start));
        gboolean same = g_ascii_strtod(copy, NULL) == v;
        g_free(copy);
        return same;
    }
    case GST_PLUGBOX_JSON_TRUE:
    case GST_PLUGBOX_JSON_FALSE:
    case GST_PLUGBOX_JSON_NULL:
        return gst_plugbox_json_skip(r);
    default:
        return FALSE;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    /* a copy of exactly n bytes, so that any read past the end is caught */
    gchar *text = g_malloc(n ? n : 1);
    memcpy(text, data, n);
    GstPlugboxJsonReader r = {text, text + n};
    gboolean whole = gst_plugbox_json_skip(&r) && gst_plugbox_json_peek(&r) == GST_PLUGBOX_JSON_NONE && r.p == r.end;
    int check = pb__json_check(text, n, NULL);
    if (check == PB__JSON_OK && !whole)
        fail("a valid text rejected", data, n);
    if (check == PB__JSON_ESYNTAX && whole)
        fail("an invalid text accepted", data, n);
    if (check == PB__JSON_OK) {
        GString *key = g_string_new(NULL), *str = g_string_new(NULL);
        r = (GstPlugboxJsonReader){text, text + n};
        if (!walk(&r, key, str, 0) || gst_plugbox_json_peek(&r) != GST_PLUGBOX_JSON_NONE || r.p != r.end)
            fail("a valid text not walked to its end", data, n);
        g_string_free(key, TRUE);
        g_string_free(str, TRUE);
    }
    g_free(text);
    return 0;
}
