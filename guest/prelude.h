/* SPDX-License-Identifier: MIT */
/* prelude.h - the prelude (core-js and prelude/web.js, bundled and compiled at build time)
 * and its native helpers: see prelude.c. */
#ifndef PB_PRELUDE_H
#define PB_PRELUDE_H

#include "quickjs.h"

/* Installs Error.isError, queueMicrotask and the helpers, then runs the prelude: 0, or -1
 * with an exception pending. Once, in pb_init. */
int pb_prelude_install(JSContext *ctx);
/* A call (or a program's top level) starts: performance.now() counts from here. */
void pb_prelude_call_start(void);
/* Runs promise jobs and timers until neither is left: 0, or -1 with the exception pending
 * (one a callback threw, or the interrupt). */
int pb_prelude_settle(JSContext *ctx, volatile int32_t *interrupt_word, int *interrupted);
/* Forgets pending timers (a stateful sandbox's call that failed). */
void pb_prelude_forget_timers(JSContext *ctx);

#endif
