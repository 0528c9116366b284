/* SPDX-License-Identifier: MIT */
/* limits.c - a plugin in C (clang --target=wasm32, no C library) whose exports provoke each
 * limit of the sandbox, for tests/test_plugin.c. Each returns 0 on success, as Extism's
 * exports do; a nonzero return is the call's error. */
#define EXPORT(name) __attribute__((export_name(name)))

static int counter;
volatile int one = 1;

EXPORT("ok") int ok(void) { return 0; }

/* 1 on every call of a fresh sandbox; 1, 2, 3... in a stateful one */
EXPORT("count") int count(void) { return ++counter; }

EXPORT("spin") int spin(void)
{
    for (volatile unsigned i = 0;; i++)
        ;
}

/* native recursion (no frame in linear memory): each level reads a volatile, so that the
 * compiler can neither fold it into a loop nor drop it */
__attribute__((noinline)) static int deep(int n) { return n ? deep(n - 1) + one : 0; }
EXPORT("recurse") int recurse(void) { return deep(1 << 30) == 0 ? 1 : 2; }

/* grows memory until refused: returns 7 then */
EXPORT("grow") int grow(void)
{
    for (;;)
        if (__builtin_wasm_memory_grow(0, 16) == (unsigned long)-1)
            return 7;
}

EXPORT("trap") int trap(void) { __builtin_trap(); }

/* writes far into memory it grew, for a fresh sandbox to find zeros there again */
EXPORT("scribble") int scribble(void)
{
    unsigned long pages = __builtin_wasm_memory_size(0);
    volatile unsigned char *p = (unsigned char *)(pages * 65536 - 4096);
    int was = p[0];
    p[0] = 42;
    return was;
}

/* grows memory by `pages`, then writes 42 to the last page it grew and returns what was there:
 * 0, from every call of every sandbox (memory a call grew reads as zeros in the next one,
 * whether the restore kept it or gave it back) */
static int grow_and_mark(unsigned long pages)
{
    unsigned long old = __builtin_wasm_memory_grow(0, pages);
    if (old == (unsigned long)-1)
        return -1;
    volatile unsigned char *p = (unsigned char *)((old + pages) * 65536 - 4096);
    int was = p[0];
    p[0] = 42;
    p[-65536 * (long)(pages / 2)] = 42; /* and one in the middle */
    return was;
}
EXPORT("grow_small") int grow_small(void) { return grow_and_mark(64); }   /* 4 MiB: kept */
EXPORT("grow_large") int grow_large(void) { return grow_and_mark(1280); } /* 80 MiB: given back */
