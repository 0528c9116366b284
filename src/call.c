/* SPDX-License-Identifier: MIT */
/* call.c - the frame every entry into guest code goes through. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A stop left the engine's interrupt word set: clear it before the next run. */
static void clear_interrupt_word(wasm_rt_memory_t *m, uint32_t addr)
{
    int32_t v;
    if (!pb_rt_in_bounds(m, addr, 4))
        return;
    memcpy(&v, m->data + addr, 4);
    if (v) {
        v = 0;
        pb_rt_write(m, addr, &v, 4);
    }
}

static void publish(pb_call *c, pb_rt_guard *g)
{
    if (!c->active)
        return;
    pthread_mutex_lock(c->active_lock);
    *c->active = g;
    pthread_mutex_unlock(c->active_lock);
}

int pb__call_run(pb_call *c)
{
    pb_rt_guard *g = &c->g;
    wasm_rt_memory_t *m = c->in->mem;
    volatile int rc = PLUGBOX_OK;
    clear_interrupt_word(m, c->interrupt_addr);
    if (pb_rt_enter(g, m) != 0) {
        c->trap = 0;
        c->g.host_error = errno ? errno : ENOMEM;
        return PLUGBOX_HOST;
    }
    pb_rt_set_soft_word(g, c->interrupt_addr);
    int trap = PB_RT_TRY(g);
    if (trap == 0) {
        if (c->time_limit_ms &&
            pb_rt_watch_arm(g, pb_rt_now_ns() + c->time_limit_ms * 1000000ull) != 0) {
            g->host_error = EAGAIN;
            rc = PLUGBOX_HOST;
        } else {
            publish(c, g);
            /* a cancel that came before the guard was published found nothing to stop */
            if (c->cancel && PB_RT_LOAD(*c->cancel) && pb_rt_watch_interrupt(g) != 0) {
                g->host_error = EAGAIN;
                rc = PLUGBOX_HOST;
            } else {
                rc = c->body(c, g);
            }
        }
    } else {
        rc = pb__status_of_trap(trap, g);
    }
    c->trap = trap;
    publish(c, NULL);
    pb_rt_watch_disarm(g);
    pb_rt_leave(g);
    return rc;
}

int pb__call_status(const pb_call *c, int rc, uint32_t result_addr, pb_outcome *o, int *have)
{
    *have = 0;
    if (rc == PLUGBOX_OK && c->trap == 0) {
        if (pb__outcome_read(c->in, result_addr, o) != 0) {
            rc = PLUGBOX_TRAP;
        } else {
            *have = 1;
            rc = pb__status_of_kind(o->kind, &c->g);
        }
    }
    /* the host refused memory the guest asked for: whatever the guest made of it, the call
     * failed for want of a host resource (a stop that came meanwhile is still a stop) */
    if (rc != PLUGBOX_OK && c->g.host_error && rc != PLUGBOX_TIMEOUT && rc != PLUGBOX_INTERRUPTED)
        rc = PLUGBOX_HOST;
    return rc;
}

/* Fills err for a call that ended with status rc; o is the guest's outcome when the guest
 * returned one. Limits get one fixed wording, so users and tools can match it. */
int pb__call_error(pb_error *err, int rc, const pb_call *c, const pb_outcome *o, uint64_t memory_limit)
{
    const char *msg = NULL, *stack = NULL;
    if (o && (pb__guest_text(c->in, o->out, o->out_len, &msg) != 0 ||
              pb__guest_text(c->in, o->stack, o->stack_len, &stack) != 0))
        return pb__error_setf(err, PLUGBOX_TRAP, "sandbox trap: malformed error record from the engine");
    size_t stack_len = stack ? o->stack_len : 0;
    switch (rc) {
    case PLUGBOX_TIMEOUT:
        return pb__error_setf(err, rc, "time limit exceeded (%llu ms)", (unsigned long long)c->time_limit_ms);
    case PLUGBOX_INTERRUPTED: return pb__error_setf(err, rc, "interrupted");
    case PLUGBOX_MEMORY:
        pb__error_setf(err, rc, "out of memory (limit %llu bytes)", (unsigned long long)memory_limit);
        break;
    case PLUGBOX_STACK: pb__error_setf(err, rc, "stack overflow"); break;
    case PLUGBOX_TRAP:
        return pb__error_setf(err, rc, "sandbox trap: %s",
                              c->trap ? wasm_rt_strerror((wasm_rt_trap_t)c->trap) : "malformed outcome");
    case PLUGBOX_HOST:
        return pb__error_setf(err, rc, "host resource exhausted: %s",
                              c->g.host_error ? strerror(c->g.host_error) : "out of host memory");
    case PLUGBOX_EXCEPTION:
    case PLUGBOX_SYNTAX:
    case PLUGBOX_INPUT:
        if (msg)
            return pb__error_set(err, rc, msg, o->out_len, stack, stack_len);
        return pb__error_setf(err, rc, "%s", plugbox_strerror(rc));
    default: return pb__error_setf(err, rc, "%s", plugbox_strerror(rc));
    }
    if (stack_len) { /* keep the JavaScript stack of a limit the engine reported */
        char *m = err->message;
        err->message = NULL;
        pb__error_set(err, rc, m ? m : "", m ? strlen(m) : 0, stack, stack_len);
        free(m);
    }
    return rc;
}
