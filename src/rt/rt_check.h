/* SPDX-License-Identifier: MIT */
/* rt_check.h - the check that generated code makes at the entry of every function and the
 * head of every loop (guest/wasm2c.sh puts it there; rt.h says why).
 *
 * The thread's check word is the lowest stack address guest code may use. A check compares
 * the stack pointer with it: one load and a branch that is never taken until the stack runs
 * low or a stop raises the word, and then pb_rt_check_failed() traps (stack exhausted) or
 * leaves the call (stopped). The engine's own stack check (QuickJS's, which raises a catchable
 * error) asks how much is left too, through pb_rt_native_left. Reading the stack pointer does not make the function keep a
 * frame pointer, which __builtin_frame_address would. */
#ifndef PLUGBOX_RT_CHECK_H
#define PLUGBOX_RT_CHECK_H

#include <stdint.h>

void pb_rt_check_failed(void) __attribute__((cold, noinline));

#if defined(__x86_64__)
#define PB_RT_SP(sp) __asm__("movq %%rsp, %0" : "=r"(sp))
#elif defined(__aarch64__)
#define PB_RT_SP(sp) __asm__("mov %0, sp" : "=r"(sp))
#else
#define PB_RT_SP(sp) ((sp) = (uintptr_t)__builtin_frame_address(0))
#endif

#ifdef PB_RT_CHECK_IN_MEMORY
/* Compiled plugins, which are loaded into the process and cannot reach the library's thread
 * word, read the same value from their memory's header (rt_layout.h), below the base address
 * every checking function holds (pb_base, src/w2c_rewrite.c): one load, as the thread's. */
#include "rt_layout.h"
#define PB_RT_CHECK()                                                                              \
    do {                                                                                           \
        uintptr_t pb_sp_;                                                                          \
        PB_RT_SP(pb_sp_);                                                                          \
        if (__builtin_expect(pb_sp_ < __atomic_load_n(&PB_CHECK_WORD_AT(pb_base), __ATOMIC_RELAXED), 0)) \
            pb_rt_check_failed();                                                                  \
    } while (0)
#else
/* initial-exec: one load relative to the thread pointer, no call */
extern __thread uintptr_t pb_rt_check_word __attribute__((tls_model("initial-exec")));

/* Bytes of stack left above the check word, for the engine's own stack check (its import
 * plugbox.stack_left, which guest/wasm2c.sh turns into this); all of it while a stop is
 * pending, which the next check takes. */
static inline uint32_t pb_rt_native_left(void)
{
    uintptr_t sp, w = __atomic_load_n(&pb_rt_check_word, __ATOMIC_RELAXED);
    PB_RT_SP(sp);
    if (sp <= w)
        return w == UINTPTR_MAX ? UINT32_MAX : 0;
    return sp - w > UINT32_MAX ? UINT32_MAX : (uint32_t)(sp - w);
}

#define PB_RT_CHECK()                                                                              \
    do {                                                                                           \
        uintptr_t pb_sp_;                                                                          \
        PB_RT_SP(pb_sp_);                                                                          \
        if (__builtin_expect(pb_sp_ < __atomic_load_n(&pb_rt_check_word, __ATOMIC_RELAXED), 0))  \
            pb_rt_check_failed();                                                                  \
    } while (0)

/* Whether the instantiation under way writes the module's data segments (pb_rt_instantiate):
 * guest/wasm2c.sh makes the engine's ask before each. */
int pb_rt_load_data(void);
#endif

#endif
