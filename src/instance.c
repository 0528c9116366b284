/* SPDX-License-Identifier: MIT */
/* instance.c - instances of a module, snapshots, and reading what the guest wrote. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "extism.h"
#include "internal.h"
#include "testing.h"

static void instantiate(void *arg)
{
    pb_instance *in = arg;
    in->mod->instantiate(in->w, in->mod->n_imports ? (void *)&in->table : (void *)&in->imports);
}

pb_instance *pb__instance_new(const pb_rt_module *mod, const pb_import_plan *plan, int image_follows)
{
    pb_instance *in = pb_rt_calloc(1, sizeof *in);
    if (!in)
        return NULL;
    size_t n = plan ? plan->n : 0;
    if (!(in->w = pb_rt_calloc(1, mod->instance_size)) || (n && !(in->table.hosts = pb_rt_calloc(n, sizeof(void *))))) {
        free(in->w);
        free(in);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((plan->kinds[i] == PB_IMPORT_EXTISM && !in->host.extism &&
             !(in->host.extism = pb__extism_new(PB_DEFAULT_MEMORY_LIMIT))) ||
            (plan->kinds[i] == PB_IMPORT_USER && !in->users && !(in->users = pb_rt_calloc(n, sizeof *in->users)))) {
            pb__extism_free(in->host.extism);
            free(in->users);
            free(in->table.hosts);
            free(in->w);
            free(in);
            return NULL;
        }
        if (plan->kinds[i] == PB_IMPORT_USER) {
            in->users[i] = (pb_user_ref){&in->host, plan->functions[i], mod->imports[i].name};
            in->table.hosts[i] = &in->users[i];
        } else {
            in->table.hosts[i] = plan->kinds[i] == PB_IMPORT_EXTISM ? (void *)in->host.extism : (void *)&in->host;
        }
    }
    in->table.fns = n ? plan->fns : NULL;
    in->mod = mod;
    in->imports = &in->host;
    in->mem = (wasm_rt_memory_t *)((char *)in->w + mod->memory_offset);
    if (pb_rt_instantiate(instantiate, in, !image_follows) != 0) {
        int err = errno;
        mod->free(in->w); /* what was made before the failure */
        free(in->w);
        free(in->table.hosts);
        free(in->users);
        pb__extism_free(in->host.extism);
        free(in);
        errno = err;
        return NULL;
    }
    in->host.mem = in->mem;
    return in;
}

void pb__instance_free(pb_instance *in)
{
    if (!in)
        return;
    in->mod->free(in->w);
    free(in->w);
    free(in->table.hosts);
    free(in->users);
    pb__extism_free(in->host.extism);
    free(in->host.out);
    pb__pending_free(&in->host.pending);
    free(in);
}

static int page_is_zero(const uint8_t *p)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < ((size_t)1 << PB_PAGE_SHIFT); i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    return acc == 0;
}

/* Images are shared (pb_rt_image_share) unless a test turned it off (testing.h). */
static int g_unshared;

void pb__images_shared(int on) { __atomic_store_n(&g_unshared, !on, __ATOMIC_RELAXED); }

/* The snapshot keeps free heap (see engine.c): its zero pages are only flagged, so they take
 * no host memory (holes in the image's file, or a large calloc's lazily mapped zeros) and
 * restores zero them without reading the image. With `from`, the image the instance was
 * loaded from, pages the dirty map shows untouched since are known without reading them. */
int pb__image_take(pb_image *img, pb_instance *in, const pb_image *from)
{
    wasm_rt_memory_t *m = in->mem;
    size_t pages = (size_t)m->size >> PB_PAGE_SHIFT;
    img->bytes = NULL;
    img->fd = -1;
    img->zero = pb_rt_calloc(pages ? pages : 1, 1);
    img->state = pb_rt_malloc(in->mod->instance_size);
    if (!img->zero || !img->state) {
        pb__image_free(img);
        return PLUGBOX_HOST;
    }
    const uint8_t *map = pb_rt_dirty_map(m);
    size_t from_pages = from ? (size_t)from->size >> PB_PAGE_SHIFT : 0;
    for (size_t i = 0; i < pages; i++) {
        if (from && !map[i] && (i >= from_pages || from->zero[i]))
            img->zero[i] = 1; /* zero then, untouched since */
        else
            img->zero[i] = page_is_zero(m->data + (i << PB_PAGE_SHIFT));
    }
    const uint8_t *shared;
    if (!__atomic_load_n(&g_unshared, __ATOMIC_RELAXED) &&
        pb_rt_image_share(m->data, img->zero, m->size, &img->fd, &shared) == 0) {
        img->bytes = (uint8_t *)shared;
    } else {
        /* no memory file here (or none left): a private copy, which every sandbox copies */
        if (!(img->bytes = pb_rt_calloc(m->size ? m->size : 1, 1))) {
            pb__image_free(img);
            return PLUGBOX_HOST;
        }
        for (size_t i = 0; i < pages; i++)
            if (!img->zero[i])
                memcpy(img->bytes + (i << PB_PAGE_SHIFT), m->data + (i << PB_PAGE_SHIFT), (size_t)1 << PB_PAGE_SHIFT);
    }
    img->size = m->size;
    memcpy(img->state, in->w, in->mod->instance_size);
    /* the memory now equals the image: nothing is dirty with respect to it */
    memset(pb_rt_dirty_map(m), 0, (size_t)m->size >> PB_PAGE_SHIFT);
    return PLUGBOX_OK;
}

void pb__image_free(pb_image *img)
{
    if (img->bytes && img->fd >= 0)
        pb_rt_image_unshare(img->fd, img->bytes, img->size);
    else
        free(img->bytes);
    free(img->zero);
    free(img->state);
    img->bytes = img->zero = img->state = NULL;
    img->fd = -1;
}

/* Makes the instance equal to the image: memory (only dirty pages unless full) and state.
 * A fresh instance is smaller than the image: it grows first and is loaded in full. Returns
 * PLUGBOX_HOST (errno set) when the host refused: the instance must then be loaded again,
 * in full, before it runs. */
int pb__image_load(pb_instance *in, const pb_image *img, int full)
{
    wasm_rt_memory_t *m = in->mem;
    int fresh = 0;
    if (m->size < img->size) {
        /* a new instance (the idle sandbox's memory is then only the image's data); a shared
         * image is mapped over it, which makes it accessible */
        uint32_t delta = img->size / 65536 - m->pages;
        if (img->fd < 0 && pb_rt_mprotect(m->data + m->size, (size_t)delta * 65536, PROT_READ | PROT_WRITE) != 0)
            return PLUGBOX_HOST;
        m->pages += delta;
        m->size = img->size;
        fresh = 1;
    }
    if (pb_rt_restore(m, img->bytes, img->zero, img->fd, img->size, full, fresh) != 0)
        return PLUGBOX_HOST;
    /* the state is every byte of the instance outside its live ranges */
    const pb_rt_module *mod = in->mod;
    size_t at = 0;
    for (size_t i = 0; i <= mod->n_live; i++) {
        size_t end = i < mod->n_live ? mod->live[i].offset : mod->instance_size;
        memcpy((char *)in->w + at, img->state + at, end - at);
        if (i < mod->n_live)
            at = end + mod->live[i].size;
    }
    return PLUGBOX_OK;
}

/* 1 when the instance's state is the image's. */
int pb__image_state_equal(const pb_instance *in, const pb_image *img)
{
    const pb_rt_module *mod = in->mod;
    size_t at = 0;
    for (size_t i = 0; i <= mod->n_live; i++) {
        size_t end = i < mod->n_live ? mod->live[i].offset : mod->instance_size;
        if (memcmp((const char *)in->w + at, img->state + at, end - at) != 0)
            return 0;
        if (i < mod->n_live)
            at = end + mod->live[i].size;
    }
    return 1;
}

int pb__outcome_read(pb_instance *in, uint32_t addr, pb_outcome *o)
{
    wasm_rt_memory_t *m = in->mem;
    uint32_t f[5];
    if (!pb_rt_in_bounds(m, addr, sizeof f))
        return -1;
    memcpy(f, m->data + addr, sizeof f);
    o->kind = (int32_t)f[0];
    o->out = f[1];
    o->out_len = f[2];
    o->stack = f[3];
    o->stack_len = f[4];
    return 0;
}

/* Host address of guest text [ptr, ptr+len), checked; NULL for ptr 0. */
int pb__guest_text(pb_instance *in, uint32_t ptr, uint32_t len, const char **text)
{
    wasm_rt_memory_t *m = in->mem;
    *text = NULL;
    if (!ptr)
        return len ? -1 : 0;
    if (!pb_rt_in_bounds(m, ptr, (uint64_t)len + 1))
        return -1;
    *text = (const char *)m->data + ptr;
    return 0;
}

/* Copies s[0..n) and eight NULs into memory the guest allocates: the text is terminated
 * for QuickJS, and the guest's JSON decoder may read whole words at its end. Call inside
 * the guard g, from host code (not between pb_rt_guest_begin and pb_rt_guest_end). */
int pb__guest_put(pb_instance *in, pb_rt_guard *g, const char *s, size_t n, uint32_t *addr)
{
    static const char pad[PB_GUEST_TEXT_PAD];
    if (n >= UINT32_MAX - PB_GUEST_TEXT_PAD)
        return PLUGBOX_MEMORY;
    pb_rt_guest_begin(g);
    uint32_t p = pb__js_alloc(in, (uint32_t)n + PB_GUEST_TEXT_PAD);
    pb_rt_guest_end(g);
    wasm_rt_memory_t *m = in->mem;
    if (!p)
        return PLUGBOX_MEMORY;
    if (!pb_rt_in_bounds(m, p, (uint64_t)n + PB_GUEST_TEXT_PAD))
        return PLUGBOX_TRAP;
    pb_rt_write(m, p, s, n);
    pb_rt_write(m, p + n, pad, sizeof pad);
    *addr = p;
    return PLUGBOX_OK;
}

int pb__status_of_trap(int trap, const pb_rt_guard *g)
{
    switch (trap) {
    case PB_RT_TRAP_DEADLINE: return PLUGBOX_TIMEOUT;
    case PB_RT_TRAP_INTERRUPT: return PLUGBOX_INTERRUPTED;
    case WASM_RT_TRAP_EXHAUSTION: return PLUGBOX_STACK;
    case WASM_RT_TRAP_UNREACHABLE:
        /* the guest aborts when an allocation fails where it cannot throw */
        return g->grow_refused ? PLUGBOX_MEMORY : PLUGBOX_TRAP;
    default: return PLUGBOX_TRAP;
    }
}

/* Guest outcome kinds (guest/guest.c) to status codes. */
int pb__status_of_kind(int32_t kind, const pb_rt_guard *g)
{
    switch (kind) {
    case 0: return PLUGBOX_OK;
    case 1: return PB_RT_LOAD(g->stop) == PB_RT_STOP_INTERRUPT ? PLUGBOX_INTERRUPTED
                   : PB_RT_LOAD(g->stop) ? PLUGBOX_TIMEOUT : PLUGBOX_EXCEPTION;
    case 2: return PLUGBOX_SYNTAX;
    case 3: return PB_RT_LOAD(g->stop) == PB_RT_STOP_INTERRUPT ? PLUGBOX_INTERRUPTED : PLUGBOX_TIMEOUT;
    case 4: return PLUGBOX_MEMORY;
    case 5: return PLUGBOX_STACK;
    case 6: return PLUGBOX_INPUT;
    default: return PLUGBOX_TRAP;
    }
}
