/* SPDX-License-Identifier: MIT */
/* prelude.h - the prelude (core-js, bundled and compiled at build time): see prelude.c. */
#ifndef PB_PRELUDE_H
#define PB_PRELUDE_H

#include "quickjs.h"

/* Installs Error.isError, then runs the prelude: 0, or -1 with an exception pending. Once, in
 * pb_init. */
int pb_prelude_install(JSContext *ctx);

#endif
