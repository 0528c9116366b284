/* SPDX-License-Identifier: MIT */
/* rt_layout.h - the layout of a linear memory reservation, shared by the runtime and the
 * generated code of every module (guest/wasm2c.sh makes every store mark its page in the
 * dirty map).
 *
 *   [ header ][ dirty map: 1 byte per 1 KiB page of the 8 GiB span ][ linear memory, 8 GiB span ]
 *                                                                   ^ wasm_rt_memory_t.data
 * The header holds the memory's check word: what the checks of compiled plugins compare the
 * stack pointer with (rt_check.h says why and how; the engine's checks read the thread's). No
 * store of guest code can reach it.
 * A store at address a (u32 pointer + u32 offset, so a < 2^33) marks map[a >> 10]; the index
 * is masked, so even the address of a store that is about to fault stays inside the map.
 *
 * The dirty page is 1 KiB, a quarter of the system's: a call's writes are scattered (reference
 * counts, the runtime's counters, a few objects), and a restore copies back every dirty page
 * whole. Measured on a trivial call, which writes ~15 places: 4 KiB pages 2.7-3.2 s a million
 * calls, 2 KiB 1.9-2.3, 1 KiB 1.7-1.9, 512 B 2.1-3.3 and 256 B 3.5-4.3 (there the map's scan
 * costs more than the copies it saves); the track workload reads the same with 4 and 1 KiB.
 */
#ifndef PLUGBOX_RT_LAYOUT_H
#define PLUGBOX_RT_LAYOUT_H

#define PB_PAGE_SHIFT 10
#define PB_WASM_SPAN (1ull << 33)
#define PB_DIRTY_MAP_BYTES (PB_WASM_SPAN >> PB_PAGE_SHIFT)
#define PB_DIRTY_INDEX_MASK (PB_DIRTY_MAP_BYTES - 1)
#define PB_HEADER_BYTES 65536ull /* the largest system page Linux has */

/* the memory's check word, data: wasm_rt_memory_t.data */
#define PB_CHECK_WORD_AT(data) \
    (*(uintptr_t *)((data) - (long long)PB_DIRTY_MAP_BYTES - (long long)sizeof(uintptr_t)))

/* base: wasm_rt_memory_t.data, which never moves while the memory exists (the generated code
 * keeps it in a local for a whole function: rt_access.h) */
#define PB_MARK_DIRTY_AT(base, addr) \
    ((base)[(long long)(((addr) >> PB_PAGE_SHIFT) & PB_DIRTY_INDEX_MASK) - (long long)PB_DIRTY_MAP_BYTES] = 1)
#define PB_MARK_DIRTY(mem, addr) PB_MARK_DIRTY_AT((mem)->data, addr)

/* memory.fill and memory.copy: every page of [addr, addr + n), after their bounds check */
#define PB_MARK_DIRTY_RANGE(mem, addr, n)                                                          \
    do {                                                                                           \
        unsigned long long pb_first_ = (unsigned long long)(addr) >> PB_PAGE_SHIFT;                \
        unsigned long long pb_last_ = ((unsigned long long)(addr) + (n) - 1) >> PB_PAGE_SHIFT;     \
        for (unsigned long long pb_i_ = pb_first_; (n) && pb_i_ <= pb_last_; pb_i_++)               \
            (mem)->data[(long long)(pb_i_ & PB_DIRTY_INDEX_MASK) - (long long)PB_DIRTY_MAP_BYTES] = 1; \
    } while (0)

#endif
