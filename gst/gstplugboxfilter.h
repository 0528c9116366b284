/* SPDX-License-Identifier: MIT */
/* gstplugboxfilter.h - the plugboxfilter element (see gstplugboxfilter.c). */
#ifndef GST_PLUGBOX_FILTER_H
#define GST_PLUGBOX_FILTER_H

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

typedef enum {
    GST_PLUGBOX_ON_ERROR_PASS,
    GST_PLUGBOX_ON_ERROR_DROP,
    GST_PLUGBOX_ON_ERROR_FAIL,
} GstPlugboxOnError;

GType gst_plugbox_on_error_get_type(void);
#define GST_TYPE_PLUGBOX_ON_ERROR (gst_plugbox_on_error_get_type())

typedef enum {
    GST_PLUGBOX_DATA_ACCESS_NONE,
    GST_PLUGBOX_DATA_ACCESS_READ,
    GST_PLUGBOX_DATA_ACCESS_READWRITE,
} GstPlugboxDataAccess;

GType gst_plugbox_data_access_get_type(void);
#define GST_TYPE_PLUGBOX_DATA_ACCESS (gst_plugbox_data_access_get_type())

#define GST_TYPE_PLUGBOX_FILTER (gst_plugbox_filter_get_type())
G_DECLARE_FINAL_TYPE(GstPlugboxFilter, gst_plugbox_filter, GST, PLUGBOX_FILTER, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(plugboxfilter);

/* The JSON metadata a plugboxfilter attaches to buffers (a GstCustomMeta "GstPlugboxMeta"
 * whose structure holds the text in its "json" field), for applications and tests. */
const GstMetaInfo *gst_plugbox_meta_get_info(void);
const gchar *gst_plugbox_meta_get_json(GstBuffer *buf);

G_END_DECLS

#endif
