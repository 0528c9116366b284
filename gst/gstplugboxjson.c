/* SPDX-License-Identifier: MIT */
/* gstplugboxjson.c - see gstplugboxjson.h. */
#include <math.h>
#include <string.h>

#include "gstplugboxjson.h"

/* ---- writing ------------------------------------------------------------------------------- */

void gst_plugbox_json_put_uint(GString *s, guint64 v)
{
    gchar buf[24], *e = buf + sizeof buf, *p = e;
    do
        *--p = (gchar)('0' + v % 10);
    while ((v /= 10) != 0);
    gst_plugbox_json_put_len(s, p, (gsize)(e - p));
}

void gst_plugbox_json_put_int(GString *s, gint64 v)
{
    if (v < 0) {
        g_string_append_c(s, '-');
        gst_plugbox_json_put_uint(s, 0 - (guint64)v);
    } else {
        gst_plugbox_json_put_uint(s, (guint64)v);
    }
}

static const gdouble pow10_exact[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

/* Values with few decimals (0.75, 12.5, 29.97) are written as the digits m of v * 10^k with
 * the point k places in: m and 10^k are exact doubles and m / 10^k, correctly rounded, is v,
 * so the text reads back to v. The rest get 17 significant digits, always enough. */
void gst_plugbox_json_put_double(GString *s, gdouble v)
{
    if (!isfinite(v)) {
        gst_plugbox_json_put_lit(s, "null");
        return;
    }
    if (v == 0) {
        g_string_append_c(s, '0');
        return;
    }
    if (fabs(v) < 9007199254740992.0 && v == (gdouble)(gint64)v) {
        gst_plugbox_json_put_int(s, (gint64)v);
        return;
    }
    for (guint k = 1; k < G_N_ELEMENTS(pow10_exact); k++) {
        gdouble scaled = v * pow10_exact[k];
        if (fabs(scaled) >= 9007199254740992.0)
            break;
        gdouble m = nearbyint(scaled);
        if (m / pow10_exact[k] != v)
            continue;
        guint64 digits = (guint64)fabs(m), unit = 1;
        for (guint i = 0; i < k; i++)
            unit *= 10;
        while (k > 0 && digits % 10 == 0) { /* 0.50 -> 0.5: the same number */
            digits /= 10;
            unit /= 10;
            k--;
        }
        if (v < 0)
            g_string_append_c(s, '-');
        gst_plugbox_json_put_uint(s, digits / unit);
        g_string_append_c(s, '.');
        gchar frac[24];
        guint64 f = digits % unit;
        for (guint i = k; i > 0; i--, f /= 10)
            frac[i - 1] = (gchar)('0' + f % 10);
        gst_plugbox_json_put_len(s, frac, k);
        return;
    }
    gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.17g", v));
}

static void put_escaped(GString *s, const gchar *text, gsize len)
{
    static const gchar hex[] = "0123456789abcdef";
    const gchar *run = text, *end = text + len;
    for (const gchar *p = text; p < end; p++) {
        guchar c = (guchar)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        gst_plugbox_json_put_len(s, run, (gsize)(p - run));
        run = p + 1;
        switch (c) {
        case '"': gst_plugbox_json_put_lit(s, "\\\""); break;
        case '\\': gst_plugbox_json_put_lit(s, "\\\\"); break;
        case '\b': gst_plugbox_json_put_lit(s, "\\b"); break;
        case '\f': gst_plugbox_json_put_lit(s, "\\f"); break;
        case '\n': gst_plugbox_json_put_lit(s, "\\n"); break;
        case '\r': gst_plugbox_json_put_lit(s, "\\r"); break;
        case '\t': gst_plugbox_json_put_lit(s, "\\t"); break;
        default: {
            gchar u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            gst_plugbox_json_put_len(s, u, 6);
        }
        }
    }
    gst_plugbox_json_put_len(s, run, (gsize)(end - run));
}

void gst_plugbox_json_put_string(GString *s, const gchar *text)
{
    g_string_append_c(s, '"');
    if (text) {
        /* printable ASCII with nothing to escape (a region's type, a label, a key): whole */
        const gchar *p = text;
        while ((guchar)*p >= 0x20 && (guchar)*p < 0x80 && *p != '"' && *p != '\\')
            p++;
        gsize len = (gsize)(p - text) + strlen(p);
        if (!*p) {
            gst_plugbox_json_put_len(s, text, len);
        } else if (g_utf8_validate_len(text, len, NULL)) {
            put_escaped(s, text, len);
        } else {
            gchar *valid = g_utf8_make_valid(text, (gssize)len);
            put_escaped(s, valid, strlen(valid));
            g_free(valid);
        }
    }
    g_string_append_c(s, '"');
}

/* ---- reading ------------------------------------------------------------------------------- */

static inline void ws(GstPlugboxJsonReader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* the last character before p that is not white space (there is one: the opening bracket) */
static gchar before(const GstPlugboxJsonReader *r)
{
    const gchar *q = r->p - 1;
    while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')
        q--;
    return *q;
}

static gboolean literal(GstPlugboxJsonReader *r, const gchar *word, gsize n)
{
    if ((gsize)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return FALSE;
    r->p += n;
    return TRUE;
}

static gboolean is_digit(gchar c) { return c >= '0' && c <= '9'; }

/* the number's text, grammar checked: [*start, r->p) */
static gboolean scan_number(GstPlugboxJsonReader *r, const gchar **start, gboolean *integral)
{
    const gchar *p = r->p, *end = r->end;
    *start = p;
    *integral = TRUE;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && is_digit(*p))
            p++;
    } else {
        return FALSE;
    }
    if (p < end && *p == '.') {
        *integral = FALSE;
        if (++p >= end || !is_digit(*p))
            return FALSE;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *integral = FALSE;
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return FALSE;
        while (p < end && is_digit(*p))
            p++;
    }
    r->p = p;
    return TRUE;
}

static gint hex4(const gchar *p)
{
    gint v = 0;
    for (int i = 0; i < 4; i++) {
        gchar c = p[i];
        gint d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* A string at r->p: checked, and unescaped into out when out is not NULL. */
static gboolean scan_string(GstPlugboxJsonReader *r, GString *out)
{
    const gchar *p = r->p, *end = r->end;
    if (p >= end || *p != '"')
        return FALSE;
    p++;
    const gchar *run = p;
    guchar high = 0; /* 0x80: a byte above ASCII or a \\u escape, and the text is checked */
    for (;;) {
        if (p >= end)
            return FALSE;
        guchar c = (guchar)*p;
        if (c == '"')
            break;
        if (c < 0x20)
            return FALSE;
        high |= c;
        if (c != '\\') {
            p++;
            continue;
        }
        if (out)
            gst_plugbox_json_put_len(out, run, (gsize)(p - run));
        if (++p >= end)
            return FALSE;
        gunichar u;
        switch (*p++) {
        case '"': u = '"'; break;
        case '\\': u = '\\'; break;
        case '/': u = '/'; break;
        case 'b': u = '\b'; break;
        case 'f': u = '\f'; break;
        case 'n': u = '\n'; break;
        case 'r': u = '\r'; break;
        case 't': u = '\t'; break;
        case 'u': {
            gint h = end - p >= 4 ? hex4(p) : -1;
            if (h < 0)
                return FALSE;
            p += 4;
            u = (gunichar)h;
            if (u >= 0xd800 && u < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                gint lo = hex4(p + 2);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    u = 0x10000 + ((u - 0xd800) << 10) + ((gunichar)lo - 0xdc00);
                    p += 6;
                }
            }
            if (u >= 0xd800 && u < 0xe000)
                u = 0xfffd; /* a lone surrogate */
            high = 0x80; /* \u0000 is checked too: the text is read as a C string */
            break;
        }
        default: return FALSE;
        }
        if (out)
            g_string_append_unichar(out, u);
        run = p;
    }
    if (out) {
        gst_plugbox_json_put_len(out, run, (gsize)(p - run));
        /* the other escapes write ASCII: only raw bytes above it, or a \u escape, need the check */
        if ((high & 0x80) && !g_utf8_validate_len(out->str, out->len, NULL)) {
            gchar *valid = g_utf8_make_valid(out->str, (gssize)out->len);
            g_string_assign(out, valid);
            g_free(valid);
        }
    }
    r->p = p + 1;
    return TRUE;
}

GstPlugboxJsonType gst_plugbox_json_peek(GstPlugboxJsonReader *r)
{
    ws(r);
    if (r->p >= r->end)
        return GST_PLUGBOX_JSON_NONE;
    switch (*r->p) {
    case '{': return GST_PLUGBOX_JSON_OBJECT;
    case '[': return GST_PLUGBOX_JSON_ARRAY;
    case '"': return GST_PLUGBOX_JSON_STRING;
    case 't': return GST_PLUGBOX_JSON_TRUE;
    case 'f': return GST_PLUGBOX_JSON_FALSE;
    case 'n': return GST_PLUGBOX_JSON_NULL;
    default: return *r->p == '-' || is_digit(*r->p) ? GST_PLUGBOX_JSON_NUMBER : GST_PLUGBOX_JSON_NONE;
    }
}

/* one scalar value */
static gboolean scalar(GstPlugboxJsonReader *r)
{
    const gchar *start;
    gboolean integral;
    switch (gst_plugbox_json_peek(r)) {
    case GST_PLUGBOX_JSON_STRING: return scan_string(r, NULL);
    case GST_PLUGBOX_JSON_NUMBER: return scan_number(r, &start, &integral);
    case GST_PLUGBOX_JSON_TRUE: return literal(r, "true", 4);
    case GST_PLUGBOX_JSON_FALSE: return literal(r, "false", 5);
    case GST_PLUGBOX_JSON_NULL: return literal(r, "null", 4);
    default: return FALSE;
    }
}

/* A member's key and its colon; the key unescaped into key unless NULL. */
static gboolean key_colon(GstPlugboxJsonReader *r, GString *key)
{
    ws(r);
    if (!scan_string(r, key))
        return FALSE;
    ws(r);
    if (r->p >= r->end || *r->p != ':')
        return FALSE;
    r->p++;
    return TRUE;
}

/* Containers nest through an explicit stack of their closing brackets. */
gboolean gst_plugbox_json_skip(GstPlugboxJsonReader *r)
{
    gchar small[64], *stack = small;
    gsize depth = 0, cap = sizeof small;
    gboolean ok = FALSE, want_key = FALSE;
    for (;;) {
        if (want_key) {
            if (!key_colon(r, NULL))
                goto out;
            want_key = FALSE;
        }
        GstPlugboxJsonType t = gst_plugbox_json_peek(r);
        if (t == GST_PLUGBOX_JSON_OBJECT || t == GST_PLUGBOX_JSON_ARRAY) {
            if (depth == cap) {
                gchar *bigger = g_malloc(cap * 2);
                memcpy(bigger, stack, depth);
                if (stack != small)
                    g_free(stack);
                stack = bigger;
                cap *= 2;
            }
            stack[depth++] = t == GST_PLUGBOX_JSON_OBJECT ? '}' : ']';
            r->p++;
            ws(r);
            if (r->p < r->end && *r->p == stack[depth - 1]) {
                r->p++;
                depth--;
            } else {
                want_key = t == GST_PLUGBOX_JSON_OBJECT;
                continue;
            }
        } else if (!scalar(r)) {
            goto out;
        }
        /* after a value: a comma, or closing brackets */
        for (;;) {
            if (depth == 0) {
                ok = TRUE;
                goto out;
            }
            ws(r);
            if (r->p >= r->end)
                goto out;
            if (*r->p == ',') {
                r->p++;
                want_key = stack[depth - 1] == '}';
                break;
            }
            if (*r->p != stack[depth - 1])
                goto out;
            r->p++;
            depth--;
        }
    }
out:
    if (stack != small)
        g_free(stack);
    return ok;
}

static gboolean enter(GstPlugboxJsonReader *r, gchar open)
{
    ws(r);
    if (r->p >= r->end || *r->p != open)
        return FALSE;
    r->p++;
    return TRUE;
}

gboolean gst_plugbox_json_enter_object(GstPlugboxJsonReader *r) { return enter(r, '{'); }
gboolean gst_plugbox_json_enter_array(GstPlugboxJsonReader *r) { return enter(r, '['); }

/* At the next item of a container: after its opening bracket, or a comma after an item. */
static gboolean next_item(GstPlugboxJsonReader *r, gchar open, gchar close, gboolean *more)
{
    ws(r);
    if (r->p >= r->end)
        return FALSE;
    gboolean first = before(r) == open;
    if (*r->p == close) {
        r->p++;
        *more = FALSE;
        return TRUE;
    }
    if (!first) {
        if (*r->p != ',')
            return FALSE;
        r->p++;
        ws(r);
    }
    *more = TRUE;
    return TRUE;
}

gboolean gst_plugbox_json_member(GstPlugboxJsonReader *r, GString *key, gboolean *more)
{
    if (!next_item(r, '{', '}', more))
        return FALSE;
    if (!*more)
        return TRUE;
    g_string_truncate(key, 0);
    return key_colon(r, key);
}

gboolean gst_plugbox_json_element(GstPlugboxJsonReader *r, gboolean *more)
{
    return next_item(r, '[', ']', more);
}

gboolean gst_plugbox_json_string(GstPlugboxJsonReader *r, GString *out)
{
    ws(r);
    g_string_truncate(out, 0);
    return scan_string(r, out);
}

gboolean gst_plugbox_json_number(GstPlugboxJsonReader *r, gdouble *v, gboolean *integral)
{
    ws(r);
    const gchar *start;
    if (!scan_number(r, &start, integral))
        return FALSE;
    gsize n = (gsize)(r->p - start);
    const gchar *p = start + (*start == '-');
    if (r->p - p <= 16) {
        /* no exponent, at most 16 characters: when the digits m are below 2^53, m and 10^k
         * are exact, and m / 10^k, one correctly rounded division, is the number (0.75) */
        gint64 m = 0;
        gint k = -1;
        for (; p < r->p && k < 16; p++) {
            if (*p == '.') {
                k = 0;
            } else if (is_digit(*p)) {
                m = m * 10 + (*p - '0');
                k += k >= 0; /* digits after the point */
            } else {
                k = 16; /* an exponent: the general way */
            }
        }
        if (k < 16 && m < ((gint64)1 << 53)) {
            gdouble d = k > 0 ? (gdouble)m / pow10_exact[k] : (gdouble)m;
            *v = *start == '-' ? -d : d;
            return TRUE;
        }
    }
    gchar small[64];
    gchar *text = n < sizeof small ? small : g_malloc(n + 1);
    memcpy(text, start, n);
    text[n] = 0;
    *v = g_ascii_strtod(text, NULL);
    if (text != small)
        g_free(text);
    return TRUE;
}
