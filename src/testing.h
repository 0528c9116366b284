/* SPDX-License-Identifier: MIT */
/* testing.h - hooks for the project's own tests; not public API. */
#ifndef PLUGBOX_TESTING_H
#define PLUGBOX_TESTING_H

#include <stdint.h>

#include "plugbox.h"

/* Runs a call whose input pointer is the raw guest address ptr, unchecked: the way to make
 * the engine fault (an out-of-bounds read traps) and see the sandbox recover. */
int pb__sandbox_call_raw(plugbox_sandbox *sb, uint32_t ptr, uint32_t len);
/* Applies the reset the next call would do, then returns 1 when the sandbox's memory and
 * globals equal its program's snapshot byte for byte, and its dirty map is clear. */
int pb__sandbox_pristine(plugbox_sandbox *sb);
/* Whether the images of programs made from now on are shared memory files (the default) or
 * private copies, the way a system without memory files makes them (src/instance.c). */
void pb__images_shared(int on);
/* 1 when the program's snapshot is a shared memory file. */
int pb__program_image_shared(const plugbox_program *p);
/* 1 when the two programs' snapshots hold the same memory, byte for byte. */
int pb__program_images_equal(const plugbox_program *a, const plugbox_program *b);
/* From now on the nth host resource the library takes (an allocation, a mapping, a thread;
 * 0: the next one) fails, and every later one succeeds; n < 0 disarms. Returns how many were
 * taken since the previous call. (src/rt/rt.h) */
long pb_rt_fail_after(long n);

#endif
