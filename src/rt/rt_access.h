/* SPDX-License-Identifier: MIT */
/* rt_access.h - loads and stores of the generated engine through a base address held in a
 * local variable (guest/wasm2c.sh includes this after wasm2c's own helpers and rewrites every
 * access to use these).
 *
 * wasm2c's helpers take the memory (wasm_rt_memory_t *) and read its data pointer at every
 * access. A store writes bytes, which in C may alias anything, the data pointer included, so
 * after each store the compiler reloads it (and every other value it cannot keep in a
 * register) before the next access. The runtime never moves a memory's data (rt.c: one
 * reservation for its whole life; growing only changes protections), so each generated
 * function reads it once into `pb_base` and the accesses use that, as native code would use
 * a pointer. Stores mark their page in the dirty map (rt_layout.h), as before.
 *
 * A load whose value is unused must still trap when it is out of bounds (WebAssembly's
 * semantics), so wasm2c puts each loaded value through an empty asm that the compiler cannot
 * drop; it also keeps the value from being folded into the instruction that uses it. The
 * engine is built with PB_RT_LOADS_MAY_VANISH: it is QuickJS, where a dropped load changes
 * nothing a script can see, and the barrier cost it 2-3% of its instructions (callgrind, a
 * call on 1 KB and 100 KB of JSON). Plugins keep it.
 */
#ifndef PLUGBOX_RT_ACCESS_H
#define PLUGBOX_RT_ACCESS_H

#ifdef PB_RT_LOADS_MAY_VANISH
#define PB_LOAD_BARRIER(v) ((void)0)
#else
#define PB_LOAD_BARRIER(v) wasm_asm("" ::"r"(v))
#endif

#define PB_DEFINE_LOAD(name, t1, t2, t3)                        \
    static inline t3 pb_##name(u8 *base, u64 addr)              \
    {                                                           \
        t1 result;                                              \
        wasm_rt_memcpy(&result, base + addr, sizeof(t1));       \
        PB_LOAD_BARRIER(result);                                \
        return (t3)(t2)result;                                  \
    }

#define PB_DEFINE_STORE(name, t1, t2)                           \
    static inline void pb_##name(u8 *base, u64 addr, t2 value)  \
    {                                                           \
        t1 wrapped = (t1)value;                                 \
        PB_MARK_DIRTY_AT(base, addr);                           \
        wasm_rt_memcpy(base + addr, &wrapped, sizeof(t1));      \
    }

/* the same names and types as wasm2c's DEFINE_LOAD and DEFINE_STORE lines */
PB_DEFINE_LOAD(i32_load, u32, u32, u32)
PB_DEFINE_LOAD(i64_load, u64, u64, u64)
PB_DEFINE_LOAD(f32_load, f32, f32, f32)
PB_DEFINE_LOAD(f64_load, f64, f64, f64)
PB_DEFINE_LOAD(i32_load8_s, s8, s32, u32)
PB_DEFINE_LOAD(i64_load8_s, s8, s64, u64)
PB_DEFINE_LOAD(i32_load8_u, u8, u32, u32)
PB_DEFINE_LOAD(i64_load8_u, u8, u64, u64)
PB_DEFINE_LOAD(i32_load16_s, s16, s32, u32)
PB_DEFINE_LOAD(i64_load16_s, s16, s64, u64)
PB_DEFINE_LOAD(i32_load16_u, u16, u32, u32)
PB_DEFINE_LOAD(i64_load16_u, u16, u64, u64)
PB_DEFINE_LOAD(i64_load32_s, s32, s64, u64)
PB_DEFINE_LOAD(i64_load32_u, u32, u64, u64)
PB_DEFINE_STORE(i32_store, u32, u32)
PB_DEFINE_STORE(i64_store, u64, u64)
PB_DEFINE_STORE(f32_store, f32, f32)
PB_DEFINE_STORE(f64_store, f64, f64)
PB_DEFINE_STORE(i32_store8, u8, u32)
PB_DEFINE_STORE(i32_store16, u16, u32)
PB_DEFINE_STORE(i64_store8, u8, u64)
PB_DEFINE_STORE(i64_store16, u16, u64)
PB_DEFINE_STORE(i64_store32, u32, u64)

#endif
