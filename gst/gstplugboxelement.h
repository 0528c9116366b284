/* SPDX-License-Identifier: MIT */
/* gstplugboxelement.h - what the files of the plugboxfilter element share; nothing here leaves
 * the plugin. By job:
 *   gstplugboxfilter.c    the element: properties, states, the stream's buffers and events;
 *   gstplugboxscript.c    the script's sandbox: built, swapped in, called, its errors;
 *   gstplugboxdescribe.c  what the script sees of a buffer;
 *   gstplugboxresult.c    what the script returns, applied to the buffer (and its metadata).
 */
#ifndef GST_PLUGBOX_ELEMENT_H
#define GST_PLUGBOX_ELEMENT_H

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>

#include "gstplugboxfilter.h"
#include "gstplugboxjson.h"
#include "plugbox.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN(gst_plugbox_filter_debug);
#define GST_CAT_DEFAULT gst_plugbox_filter_debug

struct _GstPlugboxFilter {
    GstBaseTransform parent;

    /* properties, under the object lock */
    gchar *script, *location, *function;
    gchar *config; /* JSON text, the script's global `config`; NULL: none */
    guint64 memory_limit;
    guint time_limit;
    GstPlugboxOnError on_error;
    gboolean stateful;
    GstPlugboxDataAccess data_access;
    guint warning_interval; /* ms between two warnings of script errors; 0: every one */

    /* the sandbox the streaming thread calls, and the one a property change prepared for it
     * (swapped in between two buffers, under the object lock) */
    plugbox_sandbox *box, *next_box;
    gchar *caps_json;

    /* stopping (from PAUSED->READY to READY->PAUSED) and flushing (from FLUSH_START to
     * FLUSH_STOP) refuse new calls; in_call is the sandbox the streaming thread is calling, NULL
     * when none, and call_done is signalled when that call returns. Under the object lock. */
    gboolean stopping, flushing;
    plugbox_sandbox *in_call;
    GCond call_done;
    guint call_waiters; /* threads waiting for call_done: signalled only then (a futex call) */

    /* the streaming thread's: the input of the current call, its regions of interest, and
     * scratch strings for reading the result */
    GString *input, *key, *text, *name;
    GArray *rois; /* InputRoi */

    /* statistics, under the object lock */
    guint64 calls, errors;
    gdouble total_us, max_us;

    /* warnings of script errors, rate-limited (the streaming thread's): when the last was
     * posted, and how many were not since */
    gint64 warned_us;
    guint64 unwarned;
};


/* ---- what the script sees (gstplugboxdescribe.c) ---- */

typedef struct {
    GstVideoRegionOfInterestMeta *meta;
    gsize start, end; /* its JSON text in the input */
    gboolean kept;
} InputRoi;

/* The buffer's description for the script, into self->input (its regions into self->rois). */
void gst_plugbox_describe_buffer(GstPlugboxFilter *self, GstBuffer *buf);
/* A made-up buffer's description, for the program's sample input; g_free it. */
gchar *gst_plugbox_describe_sample(const gchar *caps_json);
/* The caps as a JSON object (g_free). */
gchar *gst_plugbox_caps_to_json(GstCaps *caps);

/* ---- what the script returns (gstplugboxresult.c) ---- */

#define NOT_JSON "the result is not valid JSON"

typedef enum {
    ROIS_AS_THEY_ARE,
    ROIS_KEEP_SOME, /* the input's regions marked kept stay, the others go */
    ROIS_NEW,       /* the input's regions go, new_rois come */
} RoisChange;

typedef struct {
    GQuark type;
    gint id, parent_id;
    guint x, y, w, h;
    GPtrArray *params; /* GstStructure; NULL when none */
} NewRoi;

typedef struct {
    gboolean drop;
    RoisChange rois;
    GArray *new_rois; /* NewRoi */
    guint items;      /* regions, parameter structures and fields in new_rois */
    gchar *meta, *message;
    gchar *error; /* what is wrong with the result; NULL when nothing is */
} Plan;

/* Reads a result whole into p, checking it; FALSE (p->error set) when any of it is wrong. */
gboolean gst_plugbox_plan_result(GstPlugboxFilter *self, Plan *p, const char *json, size_t len);
/* Applies a plan read without error; FALSE to drop the buffer. */
gboolean gst_plugbox_apply_plan(GstPlugboxFilter *self, GstBuffer *buf, Plan *p);
void gst_plugbox_plan_clear(Plan *p);

/* ---- the script's sandbox (gstplugboxscript.c) ---- */

/* The process's engine, made on first use; NULL with *rc set when it cannot be made. */
plugbox_engine *gst_plugbox_shared_engine(int *rc);
/* Compiles the current script (or location) with the current configuration into a sandbox,
 * on the caller's thread; NULL with *err set when there is none or it fails. */
plugbox_sandbox *gst_plugbox_build_sandbox(GstPlugboxFilter *self, plugbox_engine *engine, GError **err);
/* A new script or configuration while running: built here, swapped in by the streaming thread. */
void gst_plugbox_reload(GstPlugboxFilter *self);
/* The sandbox to call from now on (a new one swapped in between two buffers). */
plugbox_sandbox *gst_plugbox_current_box(GstPlugboxFilter *self);
/* Around a call on the streaming thread: begin is FALSE when stopping or flushing; end is TRUE
 * when the call was ended for that. interrupt_call (object lock held, stopping or flushing
 * set) ends the running call and waits until the streaming thread is out of it. */
gboolean gst_plugbox_begin_call(GstPlugboxFilter *self, plugbox_sandbox *box);
gboolean gst_plugbox_end_call(GstPlugboxFilter *self);
/* The same for a buffer's call, each under one lock. enter: the sandbox (a new one swapped in;
 * NULL when there is none: let the buffer pass) and the settings the call follows, and the
 * call begun; GST_FLOW_FLUSHING when stopping or flushing, with no call begun. leave: the
 * call ended, and counted (us: its time) unless a stop or a flush interrupted it (rc); TRUE
 * when the element is stopping or flushing. */
GstFlowReturn gst_plugbox_enter_buffer(GstPlugboxFilter *self, plugbox_sandbox **box, GstPlugboxOnError *on_error,
                                       GstPlugboxDataAccess *access);
gboolean gst_plugbox_leave_buffer(GstPlugboxFilter *self, int rc, gdouble us);
void gst_plugbox_interrupt_call(GstPlugboxFilter *self);
/* A script error: a warning (rate-limited), or an error with on-error=fail. */
GstFlowReturn gst_plugbox_script_error(GstPlugboxFilter *self, GstPlugboxOnError on_error, const char *msg,
                                       const char *stack);
/* The script's stream event `name` (start, eos, flush, stop), when it defines it: its result's
 * JSON to *result (g_free); FALSE when its error must fail the stream. */
gboolean gst_plugbox_call_event(GstPlugboxFilter *self, plugbox_sandbox *box, const char *name, const char *json,
                                gboolean guarded, gchar **result);
/* flush()'s result says {keep: true} */
gboolean gst_plugbox_says_keep(const gchar *json);
/* eos()'s result, posted as the element message "plugbox" */
void gst_plugbox_post_summary(GstPlugboxFilter *self, const gchar *json);

G_END_DECLS

#endif
