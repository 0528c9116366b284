/* SPDX-License-Identifier: MIT */
/* alloc_wrap.h - the C allocator wrapped, for the module reader's tests and its fuzz target:
 * the wrappers count the blocks handed out, record the largest request, and fail the nth
 * request when armed. The program links with -Wl,--wrap=malloc,--wrap=calloc,--wrap=free and
 * includes this in one of its files. */
#ifndef PLUGBOX_TEST_ALLOC_WRAP_H
#define PLUGBOX_TEST_ALLOC_WRAP_H

#include <stdint.h>
#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void __wrap_free(void *p);

static long alloc_live;      /* blocks handed out and not freed */
static long alloc_calls;     /* requests since the last alloc_arm() */
static long alloc_fail_at = -1;
static size_t alloc_largest; /* largest request since the last alloc_arm() */

void *__wrap_malloc(size_t n)
{
    if (alloc_calls++ == alloc_fail_at)
        return NULL;
    if (n > alloc_largest)
        alloc_largest = n;
    void *p = __real_malloc(n);
    if (p)
        alloc_live++;
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (alloc_calls++ == alloc_fail_at)
        return NULL;
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (n * size > alloc_largest)
        alloc_largest = n * size;
    void *p = __real_calloc(n, size);
    if (p)
        alloc_live++;
    return p;
}

void __wrap_free(void *p)
{
    if (p)
        alloc_live--;
    __real_free(p);
}

/* From now on the nth request (0: the next) fails; n < 0: none does. */
static void alloc_arm(long n)
{
    alloc_calls = 0;
    alloc_fail_at = n;
    alloc_largest = 0;
}

#endif
