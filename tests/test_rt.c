/* SPDX-License-Identifier: MIT */
/* test_rt.c - the runtime's linear memories and snapshot images, alone (src/rt/rt.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "rt/rt.h"

#define WASM_PAGE 65536u
#define IMAGE_PAGES 64u /* 4 MiB */
#define PAGE ((size_t)1 << PB_PAGE_SHIFT)

struct alloc {
    wasm_rt_memory_t *m;
    uint32_t pages;
};

static void allocate(void *arg)
{
    struct alloc *a = arg;
    wasm_rt_allocate_memory(a->m, a->pages, 65535);
}

/* A memory of `pages` wasm pages, or exit: the reservations are the runtime's, recycled. */
static void memory_new(wasm_rt_memory_t *m, uint32_t pages)
{
    struct alloc a = {m, pages};
    if (pb_rt_instantiate(allocate, &a, 1) != 0) {
        perror("allocating a memory");
        exit(1);
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* An image with a pattern in some pages and zeros in the others, flagged as restores need. */
static void make_image(uint8_t *bytes, uint8_t *zero)
{
    size_t pages = (size_t)IMAGE_PAGES * WASM_PAGE / PAGE;
    for (size_t i = 0; i < pages; i++) {
        zero[i] = i % 7 == 3 || (i > 1000 && i < 2000); /* single zero pages and a long run */
        for (size_t b = 0; b < PAGE; b++)
            bytes[i * PAGE + b] = zero[i] ? 0 : (uint8_t)(i * 31 + b * 7 + 1);
    }
}

/* A memory restored from a shared image maps it privately: it reads the image, its writes
 * reach neither the image nor another memory, a restore undoes them (the dirty pages copied,
 * or the whole file mapped again), and the reservation goes back to the pool as zeros and no
 * access, whatever was mapped in it: the next memory made there reads zeros wherever it grows. */
static void test_shared_image(void)
{
    size_t size = (size_t)IMAGE_PAGES * WASM_PAGE, pages = size / PAGE;
    uint8_t *want = malloc(size), *zero = malloc(pages);
    CHECK(want && zero);
    make_image(want, zero);
    int fd = -1;
    const uint8_t *bytes = NULL;
    int probe = memfd_create("plugbox-probe", MFD_CLOEXEC);
    if (probe < 0) { /* a seccomp filter may refuse memory files: then sharing says so */
        fprintf(stderr, "no memory files here (%s): only the refusal is checked\n", strerror(errno));
        CHECK(pb_rt_image_share(want, zero, (uint32_t)size, &fd, &bytes) != 0 && fd < 0 && !bytes);
        free(want);
        free(zero);
        return;
    }
    close(probe);
    CHECK_EQ_INT(pb_rt_image_share(want, zero, (uint32_t)size, &fd, &bytes), 0);
    CHECK(fd >= 0 && bytes && memcmp(bytes, want, size) == 0);
    /* sealed: the file cannot be written, grown or shrunk */
    CHECK(pwrite(fd, "x", 1, 0) < 0 && errno == EPERM);
    CHECK(ftruncate(fd, (off_t)size * 2) < 0);
    CHECK(mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);

    wasm_rt_memory_t a, b;
    memory_new(&a, 0);
    memory_new(&b, 0);
    /* loaded the way a new instance is (instance.c): sized, then restored in full, fresh */
    a.pages = b.pages = IMAGE_PAGES;
    a.size = b.size = (uint32_t)size;
    CHECK_EQ_INT(pb_rt_restore(&a, bytes, zero, fd, (uint32_t)size, 1, 1), 0);
    CHECK_EQ_INT(pb_rt_restore(&b, bytes, zero, fd, (uint32_t)size, 1, 1), 0);
    CHECK(memcmp(a.data, want, size) == 0 && memcmp(b.data, want, size) == 0);

    /* writes: marked as guest stores mark them, in image and zero pages, one grown page */
    CHECK(wasm_rt_grow_memory(&a, 1) == IMAGE_PAGES);
    for (size_t off = 0; off < a.size; off += 4093) {
        a.data[off] ^= 0x5a;
        PB_MARK_DIRTY(&a, off);
    }
    CHECK(memcmp(b.data, want, size) == 0); /* not in the other memory */
    CHECK(memcmp(bytes, want, size) == 0);  /* nor in the image */
    CHECK_EQ_INT(pb_rt_restore(&a, bytes, zero, fd, (uint32_t)size, 0, 0), 0);
    CHECK(a.size == size && memcmp(a.data, want, size) == 0);
    CHECK(all_zero(pb_rt_dirty_map(&a), pages));

    /* after a trap: a restore in full maps the image again */
    memset(a.data + 5 * PAGE, 0xee, 3 * PAGE);
    memset(a.data + 1500 * PAGE, 0xee, PAGE);
    CHECK_EQ_INT(pb_rt_restore(&a, bytes, zero, fd, (uint32_t)size, 1, 0), 0);
    CHECK(memcmp(a.data, want, size) == 0);

    /* the image's memories freed; a new memory in a recycled reservation, grown past the
     * image, is zeros throughout, and so is one made with its pages at once */
    wasm_rt_free_memory(&a);
    wasm_rt_free_memory(&b);
    wasm_rt_memory_t c, d;
    memory_new(&c, 0);
    memory_new(&d, IMAGE_PAGES + 2);
    CHECK(wasm_rt_grow_memory(&c, IMAGE_PAGES + 2) == 0);
    CHECK(all_zero(c.data, c.size) && all_zero(d.data, d.size));
    CHECK(all_zero(pb_rt_dirty_map(&c), c.size / PAGE) && all_zero(pb_rt_dirty_map(&d), d.size / PAGE));
    wasm_rt_free_memory(&c);
    wasm_rt_free_memory(&d);

    CHECK(memcmp(bytes, want, size) == 0);
    pb_rt_image_unshare(fd, bytes, (uint32_t)size);
    free(want);
    free(zero);
}

/* The same restores from a private copy (no file): what a system without memory files does. */
static void test_private_image(void)
{
    size_t size = (size_t)IMAGE_PAGES * WASM_PAGE, pages = size / PAGE;
    uint8_t *want = malloc(size), *zero = malloc(pages);
    CHECK(want && zero);
    make_image(want, zero);
    wasm_rt_memory_t a;
    memory_new(&a, 1);
    memset(a.data, 0x11, 100); /* what a module's data segments write before the load */
    CHECK(wasm_rt_grow_memory(&a, IMAGE_PAGES - 1) == 1);
    CHECK_EQ_INT(pb_rt_restore(&a, want, zero, -1, (uint32_t)size, 1, 1), 0);
    CHECK(memcmp(a.data, want, size) == 0);
    for (size_t off = 0; off < size; off += 5003) {
        a.data[off] ^= 0x5a;
        PB_MARK_DIRTY(&a, off);
    }
    CHECK_EQ_INT(pb_rt_restore(&a, want, zero, -1, (uint32_t)size, 0, 0), 0);
    CHECK(memcmp(a.data, want, size) == 0);
    wasm_rt_free_memory(&a);
    free(want);
    free(zero);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"shared_image", test_shared_image},
        {"private_image", test_private_image},
    };
    if (pb_rt_setup() != 0)
        return 1;
    return run_cases(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
