/* SPDX-License-Identifier: MIT */
/* guest.c - the code compiled with QuickJS into the sandboxed engine (wasm32-wasi).
 *
 * Everything here runs inside the sandbox: pointers are offsets in the sandbox's linear
 * memory and the host treats every value read back from here as untrusted. The host drives
 * the guest through the exports below and receives console output through one import.
 *
 *   pb_init()                          create the QuickJS runtime and context, install console
 *   pb_alloc(n) / pb_free(p)           the host places source text and input bytes with these
 *   pb_learn(json, len)                decode a sample input and drop it: the decoder keeps its
 *                                      keys and shapes (guest/json.c), in the snapshot
 *   pb_compile(src, len, name, fn, ts) compile a script; fn != 0: run its top level and keep
 *                                      the function called fn (function style); fn == 0: keep
 *                                      the bytecode, run on every call (eval style); ts != 0 or
 *                                      a name ending in .ts, .mts or .cts: TypeScript, transpiled
 *                                      here first (see "TypeScript" below)
 *   pb_run(json, len, has_data, seed, arena_cap, bytes, bytes_len)
 *                                      one call: parse the input, run, encode the result;
 *                                      bytes != 0: the script also gets bytes[0..bytes_len)
 *                                      as a Uint8Array over that memory, detached at the end
 *   pb_ts_init()                       evaluate the TypeScript transpiler once, kept for every
 *                                      later pb_compile (the host keeps that state as a second
 *                                      base image, for TypeScript programs only)
 *   pb_result()                        where the last outcome is described (struct pb_result)
 *   pb_interrupt_word()                the word the host sets to stop a running script
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"
#include "json.h"
#include "pb_ts_bundle.h" /* generated: pb_ts_bundle[], pb_ts_bundle_LEN */
#include "prelude.h"
#include "grant.h"

/* From guest/quickjs/03-limits.patch and 05-json.patch, bound weakly (see json.c): plain data to JSON text, and
 * which limit, if any, the engine itself raised with an exception value. */
int JS_JSONStringifyFast(JSContext *ctx, JSValueConst val, char **pbuf, size_t *plen) __attribute__((weak));
int JS_LimitOfException(JSContext *ctx, JSValueConst exc) __attribute__((weak));
void JS_ResetLimits(JSContext *ctx) __attribute__((weak));
/* From guest/quickjs/06-errors.patch: errors that quote the script, and name where a BigInt sits */
void JS_SetKeepSources(JSRuntime *rt, int keep) __attribute__((weak));
int JS_FindBigIntPath(JSContext *ctx, JSValueConst val, char *buf, size_t size) __attribute__((weak));
enum { JS_LIMIT_NONE = 0, JS_LIMIT_MEMORY = 1, JS_LIMIT_STACK = 2 };

#if defined(__wasm__)
#define EXPORT(name) __attribute__((export_name(name), used))
#define IMPORT(name) __attribute__((import_module("plugbox"), import_name(name)))
#else /* built natively for the benchmark's comparison row: the same code, no sandbox */
#define EXPORT(name)
#define IMPORT(name)
#endif

/* Below the 1 MiB shadow stack that wasm-ld reserves (-z stack-size): deep JS recursion
 * becomes a catchable "stack overflow" error before the shadow stack runs out. */
#ifndef PB_STACK_LIMIT
#define PB_STACK_LIMIT (768 * 1024)
#endif

/* Outcome kinds, mirrored by the host (src/sandbox.c). */
enum {
    PB_OK = 0,
    PB_EXCEPTION = 1,
    PB_SYNTAX = 2,
    PB_INTERRUPTED = 3,
    PB_OUT_OF_MEMORY = 4,
    PB_STACK_OVERFLOW = 5,
    PB_BAD_INPUT = 6,
};

/* Read by the host after each export returns. Text pointers stay valid until the next
 * pb_compile or pb_run. out == 0 means an undefined result (no JSON text). For BAD_INPUT,
 * out is 0 and out_len the byte offset where the input stopped being JSON. */
struct pb_result {
    int32_t kind;
    uint32_t out, out_len;       /* result JSON text, or the error message */
    uint32_t stack, stack_len;   /* JavaScript stack of the error, if any */
};

IMPORT("console") void host_console(int32_t level, const char *text, uint32_t len);
/* A module's file (src/imports.c): its size, its bytes copied to dst when they fit in cap, or
 * a negative MODULE_* */
IMPORT("read_module") int32_t host_read_module(const char *name, uint32_t name_len, char *dst, uint32_t cap);
enum { MODULE_OFF = -1, MODULE_MISSING = -2, MODULE_OUTSIDE = -3, MODULE_TOO_LARGE = -4, MODULE_HOST = -5 };
static char *module_normalize(JSContext *c, const char *base, const char *name, void *opaque);
static JSModuleDef *module_load(JSContext *c, const char *name, void *opaque);
static int is_ts_name(const char *name);
static char *ts_transpile(JSContext *c, const char *src, size_t len, const char *name, size_t *out_len,
                          int *is_module);
static char *ts_rewrite_stack(const char *stack, size_t len, size_t *out_len);
static void ts_maps_free(void);

static JSRuntime *rt;
static JSContext *ctx;
static JSValue script;    /* eval style: compiled bytecode (set up by pb_init) */
static JSValue function;  /* function style: the function to call */
static JSValue module_ns; /* a module script's namespace, where pb_select looks first */
static JSValue selected;  /* pb_select's function: what the next pb_run calls */
static JSValue uint8_array; /* the Uint8Array constructor, as it was before any script ran */
static JSValue bytes_buffer; /* this call's ArrayBuffer over the host's bytes, or undefined */
static struct pb_result result;
static const char *out_text, *stack_text; /* owned by QuickJS, freed on the next outcome */
static char *stack_ts; /* the stack with TypeScript positions (malloc), freed on the next outcome */
static char *out_fast;                    /* result text of the fast encoder (pb_text_realloc) */
static const char *text_native;           /* result.out, for a native build's wider pointers */
static volatile int32_t interrupt_word;
static int interrupted; /* the interrupt handler stopped the script during this export */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

EXPORT("pb_alloc") void *pb_alloc(size_t n) { return malloc(n); }
EXPORT("pb_free") void pb_free(void *p) { free(p); }
EXPORT("pb_result") struct pb_result *pb_result(void) { return &result; }
EXPORT("pb_interrupt_word") volatile int32_t *pb_interrupt_word(void) { return &interrupt_word; }

#if !defined(__wasm__)
/* natively, pointers do not fit struct pb_result's 32-bit fields */
const char *pb_native_text(size_t *len);
const char *pb_native_text(size_t *len)
{
    *len = result.out_len;
    return result.kind == PB_OK ? text_native : NULL;
}
#endif

/* ---- allocation ----------------------------------------------------------------------------
 * A call that starts from the snapshot throws all its memory away when it ends, so during such
 * a call the engine allocates by bumping a pointer through arena chunks, and frees nothing.
 * Garbage is bounded: past arena_cap bytes the call goes back to the C allocator. Outside
 * those calls (engine set-up, compiling, stateful sandboxes) everything is malloc and free.
 *
 * The runtime's malloc_size, which sets off QuickJS's cycle collector, counts only the blocks
 * a collection could give back: not the arena's, which nothing reuses before the call ends.
 * Counting them made a call that builds a large input collect again and again, each time
 * scanning every object of the engine and of the input: 27% of a call on 100 KB of JSON. */
#define ARENA_MAX_CHUNKS 16
#define ARENA_BIG 8192 /* larger blocks go to malloc, where realloc can grow them in place */

typedef struct arena_head {
    uint32_t size; /* usable bytes */
    uint32_t pad;
} arena_head;

static struct {
    uint8_t *ptr, *end;           /* free space of the current chunk */
    uint8_t *lo[ARENA_MAX_CHUNKS], *hi[ARENA_MAX_CHUNKS];
    int chunks;
    size_t used, cap;             /* chunk bytes taken, and the most allowed this call */
    int on;
} arena;

/* The first chunk of every call, taken once in pb_init: a call then takes nothing from the C
 * allocator to begin with, whose bins (scattered through the heap that the prelude left) it
 * would write to, each write a page that the host restores after the call. */
#define ARENA_FIRST (16u << 10)
static uint8_t *arena_first;

static int in_arena(const void *p)
{
    for (int i = 0; i < arena.chunks; i++)
        if ((const uint8_t *)p >= arena.lo[i] && (const uint8_t *)p < arena.hi[i])
            return 1;
    return 0;
}

static void *arena_alloc(size_t n)
{
    size_t need = (n + sizeof(arena_head) + 7) & ~(size_t)7;
    if ((size_t)(arena.end - arena.ptr) < need) {
        size_t chunk = arena.chunks ? (size_t)(arena.hi[arena.chunks - 1] - arena.lo[arena.chunks - 1]) * 2 : ARENA_FIRST;
        if (chunk > (4u << 20))
            chunk = 4u << 20;
        if (arena.chunks == ARENA_MAX_CHUNKS || arena.used + chunk > arena.cap)
            return NULL;
        uint8_t *c = arena.chunks ? malloc(chunk) : arena_first;
        if (!c)
            return NULL;
        arena.lo[arena.chunks] = c;
        arena.hi[arena.chunks++] = c + chunk;
        arena.used += chunk;
        arena.ptr = c;
        arena.end = c + chunk;
    }
    arena_head *h = (arena_head *)arena.ptr;
    h->size = (uint32_t)(need - sizeof *h);
    arena.ptr += need;
    return h + 1;
}

static size_t block_size(const void *p)
{
    if (in_arena(p))
        return ((const arena_head *)p - 1)->size;
    return malloc_usable_size((void *)p);
}

/* QuickJS calls these directly (PB_GUEST_ALLOCATOR, guest/quickjs/02-allocator.patch) */
void *pb_js_malloc(JSMallocState *s, size_t n);
void pb_js_free(JSMallocState *s, void *p);
void *pb_js_realloc(JSMallocState *s, void *p, size_t n);
size_t pb_js_usable_size(const void *p);

static JSMallocState *malloc_state; /* the runtime's, as the C allocator's side last saw it */

/* Small blocks kept for reuse. Outside fresh calls (a stateful sandbox's calls above all:
 * every object of every input) the engine's blocks come from wasi-libc's dlmalloc, whose
 * malloc and free cost about a hundred instructions each; the objects of a frame's
 * description, made and freed at every buffer, took a fifth of a stateful call. A freed block
 * of up to SMALL_MAX usable bytes goes on a list by its size, up to SMALL_KEEP bytes in all,
 * and a request that fits takes it back (as glibc's tcache does). The blocks stay dlmalloc's:
 * realloc and malloc_usable_size work on them. dlmalloc gives 16k - 4 usable bytes (its chunks
 * are multiples of 16, less a 4-byte header): list k holds blocks of 16k - 4 usable bytes,
 * and a request of n bytes takes from list (n + 19) / 16, whose blocks hold n. */
#define SMALL_MAX 256
#define SMALL_LISTS ((SMALL_MAX + 4) / 16 + 1)
#define SMALL_KEEP (64u << 10)

static struct {
    void *list[SMALL_LISTS]; /* each block's first word links to the next */
    size_t kept;             /* usable bytes on the lists */
} small;

/* A kept block for n bytes, or NULL; *u: its usable bytes. */
static void *small_take(size_t n, size_t *u)
{
    size_t k = (n + 19) >> 4;
    void *p = k < SMALL_LISTS ? small.list[k] : NULL;
    if (p) {
        small.list[k] = *(void **)p;
        *u = 16 * k - 4;
        small.kept -= *u;
    }
    return p;
}

/* Whether the block (u usable bytes) was kept rather than given back to dlmalloc. Only sizes
 * of the form 16k - 4 are kept, so that a list's blocks are all of one size. */
static int small_keep(void *p, size_t u)
{
    if (u > SMALL_MAX || (u + 4) % 16 != 0 || small.kept + u > SMALL_KEEP)
        return 0;
    size_t k = (u + 4) >> 4;
    *(void **)p = small.list[k];
    small.list[k] = p;
    small.kept += u;
    return 1;
}

/* Every kept block back to dlmalloc: before a request it refused is tried again. */
static void small_drop(void)
{
    for (size_t k = 0; k < SMALL_LISTS; k++)
        while (small.list[k]) {
            void *p = small.list[k];
            small.list[k] = *(void **)p;
            free(p);
        }
    small.kept = 0;
}

void *pb_js_malloc(JSMallocState *s, size_t n)
{
    void *p = NULL;
    if (arena.on && n <= ARENA_BIG && (p = arena_alloc(n)) != NULL) {
        s->malloc_count++;
        return p;
    }
    size_t u;
    if (!(n <= SMALL_MAX && (p = small_take(n, &u)))) {
        if (!(p = malloc(n))) {
            if (!small.kept)
                return NULL;
            small_drop();
            if (!(p = malloc(n)))
                return NULL;
        }
        u = malloc_usable_size(p);
    }
    malloc_state = s;
    s->malloc_count++;
    s->malloc_size += u;
    return p;
}

void pb_js_free(JSMallocState *s, void *p)
{
    if (!p)
        return;
    s->malloc_count--;
    if (!in_arena(p)) {
        size_t u = malloc_usable_size(p);
        s->malloc_size -= u;
        if (!small_keep(p, u))
            free(p);
    }
}

void *pb_js_realloc(JSMallocState *s, void *p, size_t n)
{
    if (n > SIZE_MAX - 16) /* rounded up below: size_t is 32 bits here */
        return NULL;
    if (!p)
        return n ? pb_js_malloc(s, n) : NULL;
    if (!n) {
        pb_js_free(s, p);
        return NULL;
    }
    if (!in_arena(p)) {
        size_t old = malloc_usable_size(p);
        void *q = realloc(p, n);
        if (!q && small.kept) {
            small_drop();
            q = realloc(p, n);
        }
        if (q)
            s->malloc_size += malloc_usable_size(q) - old;
        return q;
    }
    size_t old = ((arena_head *)p - 1)->size;
    if (n <= old)
        return p;
    if ((uint8_t *)p + old == arena.ptr) {
        /* the last block of the chunk (an array or a string being filled) grows in place */
        size_t more = ((n + 7) & ~(size_t)7) - old;
        if ((size_t)(arena.end - arena.ptr) >= more) {
            arena.ptr += more;
            ((arena_head *)p - 1)->size = (uint32_t)(old + more);
            return p;
        }
    }
    void *q = pb_js_malloc(s, n);
    if (!q)
        return NULL;
    memcpy(q, p, old);
    pb_js_free(s, p);
    return q;
}

size_t pb_js_usable_size(const void *p) { return p ? block_size(p) : 0; }

/* The result's JSON text (guest/quickjs/05-json.patch): from the arena in a fresh call, where
 * it is thrown away with the rest of the call's memory; a text larger than ARENA_BIG, and every
 * text outside such calls, from the C allocator. Taking it from the C allocator's bins in a
 * fresh call would write to the bins' nodes, which lie all over the heap that the prelude left:
 * pages that the host restores after every call. */
void *pb_text_realloc(void *p, size_t n);
void pb_text_free(void *p);

void *pb_text_realloc(void *p, size_t n)
{
    if (!p && arena.on && n <= ARENA_BIG) {
        void *q = arena_alloc(n);
        return q ? q : malloc(n);
    }
    size_t u;
    if (!p && n <= SMALL_MAX && (p = small_take(n, &u)) != NULL)
        return p;
    if (!p || !in_arena(p))
        return realloc(p, n);
    size_t old = ((arena_head *)p - 1)->size;
    if (n <= old)
        return p;
    if ((uint8_t *)p + old == arena.ptr) { /* the last block grows in place */
        size_t more = ((n + 7) & ~(size_t)7) - old;
        if ((size_t)(arena.end - arena.ptr) >= more) {
            arena.ptr += more;
            ((arena_head *)p - 1)->size = (uint32_t)(old + more);
            return p;
        }
    }
    void *q = n <= ARENA_BIG ? arena_alloc(n) : NULL;
    if (!q && !(q = malloc(n)))
        return NULL;
    memcpy(q, p, old);
    return q;
}

void pb_text_free(void *p)
{
    if (p && !in_arena(p) && !small_keep(p, malloc_usable_size(p)))
        free(p);
}

static const JSMallocFunctions malloc_functions = {pb_js_malloc, pb_js_free, pb_js_realloc, pb_js_usable_size};

static int interrupt_handler(JSRuntime *r, void *opaque)
{
    (void)r;
    (void)opaque;
    if (!interrupt_word)
        return 0;
    interrupted = 1;
    return 1;
}

/* Before each export: no outcome yet, no limit seen. */
static void clear_result(void)
{
    interrupted = 0;
    if (JS_ResetLimits)
        JS_ResetLimits(ctx);
    if (out_text)
        JS_FreeCString(ctx, out_text);
    if (stack_text)
        JS_FreeCString(ctx, stack_text);
    pb_text_free(out_fast); /* one from a fresh call's arena went with the call's memory */
    free(stack_ts);
    out_text = stack_text = out_fast = stack_ts = NULL;
    text_native = NULL;
    memset(&result, 0, sizeof result);
}

static void set_text(const char *s, size_t n)
{
    result.out = (uint32_t)(uintptr_t)s;
    result.out_len = (uint32_t)n;
    text_native = s;
}

/* A static message for when QuickJS cannot even allocate the error's text. */
static int fail_static(int kind, const char *msg)
{
    result.kind = kind;
    set_text(msg, strlen(msg));
    return kind;
}

/* An error: of the engine's error class, or an object with Error.prototype among its
 * prototypes (DOMException, from the prelude's core-js: what structuredClone, atob and btoa
 * throw). Its text is its toString ("DataCloneError: ..."), not its JSON, and it has a stack.
 * The prototypes are walked as they are (no Symbol.hasInstance), at most 64 of them; a proxy's
 * trap that throws makes it no error. */
static JSValue error_proto; /* Error.prototype, as it was before any script ran */

static int error_like(JSValueConst v)
{
    if (JS_IsError(ctx, v))
        return 1;
    if (!JS_IsObject(v) || JS_IsFunction(ctx, v))
        return 0;
    JSValue p = JS_GetPrototype(ctx, v);
    int found = 0;
    for (int i = 0; i < 64 && JS_IsObject(p) && !found; i++) {
        found = JS_VALUE_GET_PTR(p) == JS_VALUE_GET_PTR(error_proto);
        JSValue up = found ? JS_UNDEFINED : JS_GetPrototype(ctx, p);
        JS_FreeValue(ctx, p);
        p = up;
    }
    if (JS_IsException(p))
        JS_FreeValue(ctx, JS_GetException(ctx));
    JS_FreeValue(ctx, p);
    return found;
}

/* The text of a thrown value for the error message. A value's own conversion runs script
 * code (toString, valueOf, a getter) that may throw, loop into the stack limit or run out of
 * memory: then a text that needs no code of the script stands in. */
static const char *describe(JSValueConst e, size_t *n)
{
    const char *s = NULL;
    if (JS_IsSymbol(e)) {
        static char buf[128];
        JSAtom a = JS_ValueToAtom(ctx, e);
        const char *d = a == JS_ATOM_NULL ? NULL : JS_AtomToCString(ctx, a);
        JS_FreeAtom(ctx, a);
        int len = snprintf(buf, sizeof buf, "Symbol(%s)", d ? d : "");
        JS_FreeCString(ctx, d);
        *n = len < 0 ? 0 : (size_t)len < sizeof buf ? (size_t)len : sizeof buf - 1;
        return buf;
    }
    if (JS_IsObject(e) && !JS_IsFunction(ctx, e) && !error_like(e)) {
        /* a thrown value that is not an Error reads as its JSON ({"code":42}), not as
           [object Object] */
        JSValue j = JS_JSONStringify(ctx, e, JS_UNDEFINED, JS_UNDEFINED);
        if (JS_IsString(j))
            s = JS_ToCStringLen(ctx, n, j);
        JS_FreeValue(ctx, j);
        if (s) {
            out_text = s;
            return s;
        }
        JS_FreeValue(ctx, JS_GetException(ctx));
    }
    s = JS_ToCStringLen(ctx, n, e);
    if (s) {
        out_text = s;
        return s;
    }
    JS_FreeValue(ctx, JS_GetException(ctx));
    s = error_like(e) ? "[object Error]" : "[object Object]";
    *n = strlen(s);
    return s;
}

/* JSON.stringify threw its BigInt TypeError on the result r: the same error, saying where the
 * BigInt is ("the result's .totals[3]"), when it sits in plain data. Any other exception
 * stays as it is. */
static void name_bigint(JSValueConst r)
{
    static const char bigint_msg[] = "Do not know how to serialize a BigInt";
    char path[200];
    if (!JS_FindBigIntPath)
        return;
    JSValue e = JS_GetException(ctx);
    JSValue m = JS_IsError(ctx, e) ? JS_GetPropertyStr(ctx, e, "message") : JS_UNDEFINED;
    const char *ms = JS_IsString(m) ? JS_ToCString(ctx, m) : NULL;
    int ours = ms && !strcmp(ms, bigint_msg);
    JS_FreeCString(ctx, ms);
    JS_FreeValue(ctx, m);
    if (ours && JS_FindBigIntPath(ctx, r, path, sizeof path) == 1) {
        JS_FreeValue(ctx, e);
        if (path[0])
            JS_ThrowTypeError(ctx, "%s: the result's %s is a BigInt (convert it with String() or Number())",
                              bigint_msg, path);
        else
            JS_ThrowTypeError(ctx, "%s: the result is a BigInt (convert it with String() or Number())",
                              bigint_msg);
        return;
    }
    JS_FreeValue(ctx, JS_GetException(ctx)); /* what reading the message may have thrown */
    JS_Throw(ctx, e);
}

/* Turns the pending exception into the outcome. default_kind is EXCEPTION or SYNTAX; a limit
 * is told by what happened (the interrupt handler fired, or the exception is the one the
 * engine raised for a limit), never by the exception's text, which a script can imitate. */
static int fail_exception(int default_kind)
{
    JSValue e = JS_GetException(ctx);
    int limit = JS_LimitOfException ? JS_LimitOfException(ctx, e) : JS_LIMIT_NONE;
    int kind = limit == JS_LIMIT_MEMORY ? PB_OUT_OF_MEMORY : limit == JS_LIMIT_STACK ? PB_STACK_OVERFLOW
               : default_kind;
    if (JS_IsNull(e) && limit == JS_LIMIT_MEMORY) /* not even the error could be made */
        return fail_static(PB_OUT_OF_MEMORY, "out of memory");
    size_t n = 0;
    const char *text = describe(e, &n);
    set_text(text, n);
    if (error_like(e)) {
        JSValue st = JS_GetPropertyStr(ctx, e, "stack");
        if (JS_IsString(st)) {
            size_t sn = 0;
            stack_text = JS_ToCStringLen(ctx, &sn, st);
            if (stack_text) {
                /* frames in TypeScript files: their columns in the file itself */
                stack_ts = ts_rewrite_stack(stack_text, sn, &sn);
                const char *st_text = stack_ts ? stack_ts : stack_text;
                result.stack = (uint32_t)(uintptr_t)st_text;
                result.stack_len = (uint32_t)sn;
            }
        }
        JS_FreeValue(ctx, st);
    }
    JS_FreeValue(ctx, JS_GetException(ctx)); /* what reading the stack may have thrown */
    JS_FreeValue(ctx, e);
    /* stopped, also when the description or the stack ran into the stop */
    result.kind = interrupted ? PB_INTERRUPTED : kind;
    return result.kind;
}

/* ---- console ---------------------------------------------------------------------------- */

struct text {
    char *p;
    size_t len, cap;
};

static int text_append(struct text *t, const char *s, size_t n)
{
    if (n > t->cap - t->len) {
        if (n > SIZE_MAX / 2 - 64 - t->len) { /* size_t is 32 bits here */
            JS_ThrowOutOfMemory(ctx);
            return -1;
        }
        size_t c = (t->len + n) * 2 + 64;
        char *p = realloc(t->p, c);
        if (!p) {
            JS_ThrowOutOfMemory(ctx);
            return -1;
        }
        t->p = p;
        t->cap = c;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    return 0;
}

/* Appends one console argument: strings as they are, objects as JSON when they have one. */
static int append_arg(struct text *t, JSValueConst v)
{
    JSValue s = JS_UNDEFINED;
    if (JS_IsObject(v) && !JS_IsFunction(ctx, v) && !error_like(v)) {
        s = JS_JSONStringify(ctx, v, JS_UNDEFINED, JS_UNDEFINED);
        if (JS_IsException(s)) {
            JS_FreeValue(ctx, JS_GetException(ctx));
            s = JS_UNDEFINED;
        }
    }
    if (JS_IsUndefined(s))
        s = JS_ToString(ctx, v);
    if (JS_IsException(s))
        return -1;
    size_t n;
    const char *p = JS_ToCStringLen(ctx, &n, s);
    JS_FreeValue(ctx, s);
    if (!p)
        return -1;
    int r = text_append(t, p, n);
    JS_FreeCString(ctx, p);
    return r;
}

/* console's text of its arguments, separated by spaces, in malloc'd memory (prelude.c's format()
 * too); NULL with an exception pending. */
char *pb_console_text(JSContext *c, int argc, JSValueConst *argv, size_t *len);
char *pb_console_text(JSContext *c, int argc, JSValueConst *argv, size_t *len)
{
    (void)c; /* text_append and append_arg use ctx, the only context */
    struct text t = {NULL, 0, 0};
    for (int i = 0; i < argc; i++) {
        if ((i > 0 && text_append(&t, " ", 1) < 0) || append_arg(&t, argv[i]) < 0) {
            free(t.p);
            return NULL;
        }
    }
    if (!t.p && !(t.p = malloc(1))) {
        JS_ThrowOutOfMemory(ctx);
        return NULL;
    }
    *len = t.len;
    return t.p;
}

/* console.group's indentation: two spaces a level, before every line */
static int console_indent;

/* p[0..*n) with console_indent spaces before every line: the new text replaces p (freed). */
static char *indent(char *p, size_t *n)
{
    struct text t = {NULL, 0, 0};
    size_t from = 0;
    for (size_t i = 0; i <= *n; i++) {
        if (i < *n && p[i] != '\n')
            continue;
        for (int k = 0; k < console_indent; k++)
            if (text_append(&t, " ", 1) < 0)
                goto fail;
        if (text_append(&t, p + from, i - from + (i < *n)) < 0)
            goto fail;
        from = i + 1;
    }
    free(p);
    *n = t.len;
    return t.p;
fail:
    free(t.p);
    free(p);
    return NULL;
}

static JSValue js_console(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv, int level)
{
    (void)this_val;
    size_t n;
    char *p = pb_console_text(c, argc, argv, &n);
    if (p && console_indent > 0)
        p = indent(p, &n);
    if (!p)
        return JS_EXCEPTION;
    host_console(level, p, (uint32_t)n);
    free(p);
    return JS_UNDEFINED;
}

/* console.group and groupCollapsed (magic 1): the label, if any, as console.log writes it;
 * console.groupEnd (magic -1) */
static JSValue js_console_group(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv, int magic)
{
    if (magic > 0 && argc > 0) {
        JSValue r = js_console(c, this_val, argc, argv, 0);
        if (JS_IsException(r))
            return r;
    }
    if (magic > 0 && console_indent < 1 << 20)
        console_indent += 2;
    else if (magic < 0 && console_indent >= 2)
        console_indent -= 2;
    return JS_UNDEFINED;
}

/* Math.random: xorshift64*, reseeded by the host on every call, so that calls restored from
 * one snapshot do not all draw the same numbers. */
static JSValue js_random(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    (void)argc;
    (void)argv;
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    uint64_t r = x * 0x2545f4914f6cdd1dull;
    return JS_NewFloat64(c, (double)(r >> 11) * 0x1.0p-53);
}

static int install_globals(void)
{
    static const char *const names[] = {"log", "info", "warn", "error", "debug"};
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue console = JS_NewObject(ctx);
    int rc = -1;
    for (int i = 0; i < 5; i++) {
        JSValue f = JS_NewCFunctionMagic(ctx, js_console, names[i], 1, JS_CFUNC_generic_magic, i);
        if (JS_SetPropertyStr(ctx, console, names[i], f) < 0)
            goto out;
    }
    static const char *const groups[] = {"group", "groupCollapsed", "groupEnd"};
    for (int i = 0; i < 3; i++) {
        JSValue f = JS_NewCFunctionMagic(ctx, js_console_group, groups[i], 0, JS_CFUNC_generic_magic, i < 2 ? 1 : -1);
        if (JS_SetPropertyStr(ctx, console, groups[i], f) < 0)
            goto out;
    }
    if (JS_SetPropertyStr(ctx, global, "console", JS_DupValue(ctx, console)) < 0)
        goto out;
    JSValue math = JS_GetPropertyStr(ctx, global, "Math");
    int r = JS_SetPropertyStr(ctx, math, "random", JS_NewCFunction(ctx, js_random, "random", 0));
    JS_FreeValue(ctx, math);
    if (r < 0)
        goto out;
    /* QuickJS's microsecond clock for its own benchmarks: scripts get Date's milliseconds */
    JSAtom clock = JS_NewAtom(ctx, "__date_clock");
    r = JS_DeleteProperty(ctx, global, clock, 0);
    JS_FreeAtom(ctx, clock);
    if (r < 0)
        goto out;
    rc = 0;
out:
    JS_FreeValue(ctx, console);
    JS_FreeValue(ctx, global);
    return rc;
}

/* Collects garbage, and sets the next collection where QuickJS sets it after one of its own:
 * when the heap has grown by half. Every call starts from the snapshot taken after this, and
 * a threshold below the heap (QuickJS's first is 256 KiB, which the prelude alone passes)
 * would make every call collect the whole heap at its first allocation. */
static size_t gc_threshold; /* the snapshot's */

static void collect(void)
{
    JSMemoryUsage u;
    JS_RunGC(rt);
    JS_ComputeMemoryUsage(rt, &u);
    gc_threshold = (size_t)u.malloc_size + (size_t)u.malloc_size / 2;
    JS_SetGCThreshold(rt, gc_threshold);
}

/* The input decoded: every value it makes is live until it returns, so no collection runs
 * during it (one could free nothing, and would scan the whole heap each time); the next comes
 * when the heap has grown by half again, as after a collection. */
static JSValue decode_input(const char *json, size_t len, pb_json_status *st)
{
    JS_SetGCThreshold(rt, (size_t)-1);
    JSValue v = pb_json_decode(ctx, json, len, st);
    size_t heap = malloc_state ? malloc_state->malloc_size : 0;
    size_t next = heap + heap / 2;
    JS_SetGCThreshold(rt, next > gc_threshold ? next : gc_threshold);
    return v;
}

/* ---- exports ---------------------------------------------------------------------------- */

static int run_jobs(void);

EXPORT("pb_init") int pb_init(void)
{
    script = function = module_ns = selected = JS_UNDEFINED;
    rt = JS_NewRuntime2(&malloc_functions, NULL);
    if (!rt)
        return -1;
    JS_SetMaxStackSize(rt, PB_STACK_LIMIT);
    JS_SetInterruptHandler(rt, interrupt_handler, NULL);
    JS_SetModuleLoaderFunc(rt, module_normalize, module_load, NULL);
    ctx = JS_NewContext(rt);
    if (!ctx || install_globals() < 0)
        return -1;
    /* the prelude (prelude.c): what QuickJS lacks of the language and of the web's basics */
    if (pb_prelude_install(ctx) < 0) {
        fail_exception(PB_EXCEPTION); /* what stopped it, for the host */
        return -1;
    }
    if (JS_SetKeepSources)
        JS_SetKeepSources(rt, 1); /* "obj.method is not a function" quotes the script (not the prelude) */
    collect();
    if (!(arena_first = malloc(ARENA_FIRST)))
        return -1;
    JSValue global = JS_GetGlobalObject(ctx);
    uint8_array = JS_GetPropertyStr(ctx, global, "Uint8Array");
    JSValue error = JS_GetPropertyStr(ctx, global, "Error");
    error_proto = JS_GetPropertyStr(ctx, error, "prototype");
    JS_FreeValue(ctx, error);
    JS_FreeValue(ctx, global);
    bytes_buffer = JS_UNDEFINED;
    return JS_IsFunction(ctx, uint8_array) && JS_IsObject(error_proto) ? 0 : -1;
}

/* ---- ES modules ------------------------------------------------------------------------- */

/* Modules are named by their path as the main script's filename names it: "rules/main.js"
 * imports "./geo.js" as "rules/geo.js". The host reads "geo.js", relative to the module
 * directory, which is the main script's. */
static char module_prefix[256]; /* the main script's directory in its filename, with its '/' */
static size_t module_prefix_len;

static const char *module_rel(const char *name)
{
    return strncmp(name, module_prefix, module_prefix_len) == 0 ? name + module_prefix_len : name;
}

/* Resolves `name`, imported by base, to a module name; only paths relative to the importing
 * module, and never above the main script's directory. */
static char *module_normalize(JSContext *c, const char *base, const char *name, void *opaque)
{
    (void)opaque;
    if (strncmp(name, "./", 2) != 0 && strncmp(name, "../", 3) != 0) {
        JS_ThrowTypeError(c, "Cannot import '%s': only relative paths ('./x.js') within the script's directory "
                          "can be imported", name);
        return NULL;
    }
    const char *rel = module_rel(base), *slash = strrchr(rel, '/');
    size_t dir = slash ? (size_t)(slash - rel + 1) : 0, n = strlen(name);
    char *path = js_malloc(c, module_prefix_len + dir + n + 1);
    if (!path)
        return NULL;
    /* components of dir + name, '.' dropped, '..' taking one back */
    char *out = path + module_prefix_len;
    size_t len = 0;
    memcpy(path, module_prefix, module_prefix_len);
    for (int part = 0; part < 2; part++) {
        const char *p = part ? name : rel, *end = part ? name + n : rel + dir;
        while (p < end) {
            const char *q = p;
            while (q < end && *q != '/')
                q++;
            size_t k = (size_t)(q - p);
            if (k == 2 && p[0] == '.' && p[1] == '.') {
                if (len == 0) {
                    js_free(c, path);
                    JS_ThrowTypeError(c, "Cannot import '%s' from '%s': it is outside the script's directory", name,
                                      base);
                    return NULL;
                }
                while (len > 0 && out[len - 1] != '/')
                    len--;
                if (len > 0)
                    len--; /* its '/' */
            } else if (k > 0 && !(k == 1 && p[0] == '.')) {
                if (len > 0)
                    out[len++] = '/';
                memcpy(out + len, p, k);
                len += k;
            }
            p = q + 1;
        }
    }
    out[len] = '\0';
    return path;
}

/* Reads and compiles a module; the host reads it only while the program is created. */
static JSModuleDef *module_load(JSContext *c, const char *name, void *opaque)
{
    (void)opaque;
    const char *rel = module_rel(name);
    uint32_t cap = 64u << 10;
    char *buf = NULL;
    int32_t n;
    for (int attempt = 0;; attempt++) {
        char *b = js_realloc(c, buf, (size_t)cap + 1);
        if (!b) {
            js_free(c, buf);
            return NULL;
        }
        buf = b;
        n = host_read_module(rel, (uint32_t)strlen(rel), buf, cap);
        if (n < 0 || (uint32_t)n <= cap || attempt == 1)
            break;
        cap = (uint32_t)n;
    }
    if (n < 0 || (uint32_t)n > cap) {
        js_free(c, buf);
        if (n == MODULE_OFF)
            JS_ThrowTypeError(c, "Cannot import '%s': modules are read only when the program is created, from the "
                              "directory its options give", name);
        else if (n == MODULE_MISSING)
            JS_ThrowReferenceError(c, "Cannot find module '%s'", name);
        else if (n == MODULE_OUTSIDE)
            JS_ThrowTypeError(c, "Cannot import '%s': it is outside the script's directory", name);
        else if (n == MODULE_TOO_LARGE)
            JS_ThrowRangeError(c, "Cannot import '%s': the file is larger than 1 GiB", name);
        else
            JS_ThrowOutOfMemory(c);
        return NULL;
    }
    buf[n] = '\0';
    size_t len = (size_t)n;
    if (is_ts_name(name)) {
        size_t js_len;
        int is_module;
        char *js = ts_transpile(c, buf, len, name, &js_len, &is_module);
        js_free(c, buf);
        if (!js)
            return NULL;
        buf = js;
        len = js_len;
    }
    JSValue f = JS_Eval(c, buf, len, name, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    js_free(c, buf);
    if (JS_IsException(f))
        return NULL;
    JSModuleDef *m = JS_VALUE_GET_PTR(f);
    JS_FreeValue(c, f);
    return m;
}

static JSValue await_result(JSValue r);

/* The pending exception is a SyntaxError (compiling a module also loads its imports, whose
 * failures are other errors) */
static int pending_is_syntax_error(void)
{
    JSValue e = JS_GetException(ctx), global = JS_GetGlobalObject(ctx);
    JSValue ctor = JS_GetPropertyStr(ctx, global, "SyntaxError");
    int r = JS_IsObject(e) && JS_IsInstanceOf(ctx, e, ctor) > 0;
    JS_FreeValue(ctx, ctor);
    JS_FreeValue(ctx, global);
    JS_Throw(ctx, e);
    return r;
}

/* The main script as a module: its top level runs now (awaited), and calls go to its export
 * fn, or to its default export. */
static int compile_module(const char *src, size_t len, const char *filename, const char *fn)
{
    JSValue compiled = JS_Eval(ctx, src, len, filename, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(compiled))
        return fail_exception(pending_is_syntax_error() ? PB_SYNTAX : PB_EXCEPTION); /* or an import */
    JSModuleDef *m = JS_VALUE_GET_PTR(compiled);
    JSValue top = await_result(JS_EvalFunction(ctx, compiled));
    if (JS_IsException(top))
        return fail_exception(PB_EXCEPTION);
    JS_FreeValue(ctx, top);
    JSValue ns = JS_GetModuleNamespace(ctx, m);
    if (JS_IsException(ns))
        return fail_exception(PB_EXCEPTION);
    function = JS_GetPropertyStr(ctx, ns, fn ? fn : "default");
    JS_FreeValue(ctx, module_ns);
    module_ns = ns; /* kept for pb_select */
    if (!JS_IsFunction(ctx, function)) {
        JS_FreeValue(ctx, function);
        function = JS_UNDEFINED;
        if (fn)
            JS_ThrowTypeError(ctx, "%s is not a function exported by %s", fn, filename);
        else
            JS_ThrowTypeError(ctx, "%s is a module: it needs an exported function to call (--call NAME) or an "
                              "export default function", filename);
        return fail_exception(PB_EXCEPTION);
    }
    return PB_OK;
}

/* ---- TypeScript ------------------------------------------------------------------------- */

/* A TypeScript file (the main script with a name ending in .ts, .mts or .cts, or flagged by the
 * host; any module imported by such a name) is turned into JavaScript here, inside the sandbox,
 * by sucrase (guest/ts/transpile.js, bundled into pb_ts_bundle by the build): its
 * "typescript" transform alone, so ES modules and the syntax QuickJS has stay as written. It
 * runs in a context of its own (a realm the script cannot reach, so that nothing of it is in
 * the script's globals): evaluated once by pb_ts_init, in the state the host keeps as the base
 * of TypeScript programs, or, for a .ts module imported by a JavaScript program, evaluated for
 * that file and freed after it. The runtime's limits (memory, time, stack, interrupt) hold for
 * it as for any script. Sucrase keeps every line where it was; the columns it moves are kept
 * per file, and errors' stacks are given with the file's own columns (ts_rewrite_stack). */

static int is_ts_name(const char *name)
{
    size_t n = strlen(name);
    return (n > 3 && !strcmp(name + n - 3, ".ts")) ||
           (n > 4 && (!strcmp(name + n - 4, ".mts") || !strcmp(name + n - 4, ".cts")));
}

/* The column map of one transpiled file: quadruples (line, column in the JavaScript, line,
 * column in the TypeScript), where the shift changes; between two, the shift of the first. */
struct ts_map {
    struct ts_map *next;
    int32_t *q;
    uint32_t n; /* quadruples */
    char name[];
};
static struct ts_map *ts_maps; /* of the program being compiled, then of its snapshot */

static void ts_maps_free(void)
{
    while (ts_maps) {
        struct ts_map *m = ts_maps;
        ts_maps = m->next;
        free(m->q);
        free(m);
    }
}

/* Throws, in c, a SyntaxError with message msg whose stack names name:line:col. */
static void ts_throw_syntax(JSContext *c, const char *msg, const char *name, int line, int col)
{
    char at[64];
    JSValue e = JS_NewError(c);
    JSValue global = JS_GetGlobalObject(c);
    JSValue ctor = JS_GetPropertyStr(c, global, "SyntaxError");
    JS_FreeValue(c, global);
    JSValue proto = JS_GetPropertyStr(c, ctor, "prototype");
    JS_FreeValue(c, ctor);
    if (!JS_IsException(e) && JS_IsObject(proto))
        JS_SetPrototype(c, e, proto);
    JS_FreeValue(c, proto);
    if (JS_IsException(e))
        return;
    snprintf(at, sizeof at, ":%d:%d\n", line, col);
    size_t nl = strlen(name), al = strlen(at);
    char *stack = malloc(7 + nl + al + 1);
    if (stack) {
        memcpy(stack, "    at ", 7);
        memcpy(stack + 7, name, nl);
        memcpy(stack + 7 + nl, at, al + 1);
    }
    JS_DefinePropertyValueStr(c, e, "message", JS_NewString(c, msg), JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    JS_DefinePropertyValueStr(c, e, "stack", stack ? JS_NewString(c, stack) : JS_NewString(c, ""),
                              JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    free(stack);
    JS_Throw(c, e);
}

/* Moves the pending exception of the transpiler's context tc into c: a SyntaxError of sucrase's
 * parser with its position in the file; a limit as the same limit; anything else as an Error
 * saying the file could not be transpiled. */
static void ts_move_exception(JSContext *c, JSContext *tc, const char *name)
{
    JSValue e = JS_GetException(tc);
    int limit = JS_LimitOfException ? JS_LimitOfException(tc, e) : JS_LIMIT_NONE;
    if (limit != JS_LIMIT_NONE || interrupted) {
        JS_Throw(c, e); /* the runtime's own: the limit stays what it is */
        return;
    }
    JSValue m = JS_IsError(tc, e) ? JS_GetPropertyStr(tc, e, "message") : JS_UNDEFINED;
    JSValue l = JS_GetPropertyStr(tc, e, "line"), col = JS_GetPropertyStr(tc, e, "column");
    const char *ms = JS_IsString(m) ? JS_ToCString(tc, m) : NULL;
    int32_t li = 0, ci = 0;
    if (JS_IsNumber(l) && JS_IsNumber(col) && JS_ToInt32(tc, &li, l) == 0 && JS_ToInt32(tc, &ci, col) == 0 && ms)
        ts_throw_syntax(c, ms, name, li, ci);
    else
        JS_ThrowInternalError(c, "%s could not be transpiled from TypeScript: %s", name, ms ? ms : "unknown error");
    JS_FreeCString(tc, ms);
    JS_FreeValue(tc, m);
    JS_FreeValue(tc, l);
    JS_FreeValue(tc, col);
    JS_FreeValue(tc, e);
}

/* The transpiler, evaluated by pb_ts_init in a context of its own (ts_ctx), which stays. */
static JSContext *ts_ctx;
static JSValue ts_fn;

/* Evaluates the transpiler in a new context: *tc and the function, or -1 with the exception
 * pending in *tc (or none, *tc NULL, when the context could not be made). */
static int ts_load(JSContext **tc, JSValue *fn)
{
    *fn = JS_UNDEFINED;
    if (!(*tc = JS_NewContext(rt)))
        return -1;
    JSValue v = JS_Eval(*tc, (const char *)pb_ts_bundle, pb_ts_bundle_LEN, "<typescript>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(v))
        return -1;
    JS_FreeValue(*tc, v);
    JSValue global = JS_GetGlobalObject(*tc);
    *fn = JS_GetPropertyStr(*tc, global, "__pb_ts");
    JS_FreeValue(*tc, global);
    return JS_IsException(*fn) ? -1 : 0;
}

EXPORT("pb_ts_init") int pb_ts_init(void)
{
    clear_result();
    if (ts_ctx)
        return PB_OK;
    JSContext *tc;
    JSValue fn;
    if (ts_load(&tc, &fn) < 0) {
        if (tc) {
            ts_move_exception(ctx, tc, "<typescript>");
            JS_FreeContext(tc);
        } else {
            JS_ThrowOutOfMemory(ctx);
        }
        return fail_exception(PB_EXCEPTION);
    }
    ts_ctx = tc;
    ts_fn = fn;
    JS_RunGC(rt);
    return PB_OK;
}

/* The JavaScript of the TypeScript src (len bytes, NUL-terminated) named name: a js_malloc'd,
 * NUL-terminated text of *out_len bytes, its column map kept, *is_module set when the file has
 * an import or export declaration (anywhere: QuickJS's own test looks at the first statement
 * only); or NULL with an exception pending in c. With no transpiler loaded (a program made from the plain base, whose
 * JavaScript imports a .ts module), one is evaluated for this file and dropped after it. */
static char *ts_transpile(JSContext *c, const char *src, size_t len, const char *name, size_t *out_len,
                          int *is_module)
{
    char *js = NULL;
    struct ts_map *map = NULL;
    JSContext *tc = ts_ctx;
    JSValue fn = JS_UNDEFINED;
    JSValue r = JS_UNDEFINED, code = JS_UNDEFINED, q = JS_UNDEFINED;
    *is_module = 0;
    if (tc) {
        fn = JS_DupValue(tc, ts_fn);
    } else if (ts_load(&tc, &fn) < 0) {
        JS_FreeValue(tc, fn);
        if (!tc) {
            JS_ThrowOutOfMemory(c);
            return NULL;
        }
        goto fail;
    }
    JSValue arg = JS_NewStringLen(tc, src, len);
    if (JS_IsException(arg)) {
        JS_FreeValue(tc, fn);
        goto fail;
    }
    r = JS_Call(tc, fn, JS_UNDEFINED, 1, (JSValueConst *)&arg);
    JS_FreeValue(tc, fn);
    JS_FreeValue(tc, arg);
    if (JS_IsException(r))
        goto fail;
    code = JS_GetPropertyStr(tc, r, "code");
    q = JS_GetPropertyStr(tc, r, "map");
    JSValue mod = JS_GetPropertyStr(tc, r, "module");
    *is_module = JS_ToBool(tc, mod) > 0;
    JS_FreeValue(tc, mod);
    size_t n, qbytes = 0;
    const char *s = JS_IsString(code) ? JS_ToCStringLen(tc, &n, code) : NULL;
    uint8_t *qp = NULL;
    if (JS_IsObject(q)) { /* an Int32Array: its bytes through its buffer */
        size_t off, blen, per;
        JSValue buf = JS_GetTypedArrayBuffer(tc, q, &off, &qbytes, &per);
        if (!JS_IsException(buf)) {
            uint8_t *b = JS_GetArrayBuffer(tc, &blen, buf);
            qp = b ? b + off : NULL;
        }
        JS_FreeValue(tc, buf);
    }
    if (!s || (!qp && qbytes)) {
        JS_FreeCString(tc, s);
        if (!JS_HasException(tc))
            JS_ThrowTypeError(tc, "the transpiler returned no code");
        goto fail;
    }
    size_t nl = strlen(name);
    js = js_malloc(c, n + 1);
    map = malloc(sizeof *map + nl + 1);
    int32_t *qcopy = qbytes ? malloc(qbytes) : NULL;
    if (!js || !map || (qbytes && !qcopy)) {
        JS_FreeCString(tc, s);
        js_free(c, js);
        free(map);
        free(qcopy);
        js = NULL;
        map = NULL;
        JS_ThrowOutOfMemory(c);
        goto out;
    }
    memcpy(js, s, n + 1);
    JS_FreeCString(tc, s);
    if (qbytes)
        memcpy(qcopy, qp, qbytes);
    map->q = qcopy;
    map->n = (uint32_t)(qbytes / (4 * sizeof(int32_t)));
    memcpy(map->name, name, nl + 1);
    map->next = ts_maps;
    ts_maps = map;
    *out_len = n;
    goto out;
fail:
    ts_move_exception(c, tc, name);
out:
    JS_FreeValue(tc, q);
    JS_FreeValue(tc, code);
    JS_FreeValue(tc, r);
    if (tc != ts_ctx) {
        JS_FreeContext(tc);
        JS_RunGC(rt); /* the transpiler's objects: none of them stays */
    }
    return js;
}

/* Line and column in the TypeScript of line:col in the JavaScript of map. */
static void ts_map_position(const struct ts_map *m, long *line, long *col)
{
    const int32_t *best = NULL;
    for (uint32_t i = 0; i < m->n; i++) {
        const int32_t *e = m->q + 4 * i;
        if (e[0] > *line)
            break;
        if (e[0] == *line && e[1] <= *col)
            best = e;
    }
    if (best) {
        *col = best[3] + (*col - best[1]);
        *line = best[2] + (*line - best[0]);
    }
}

static int ts_text_append(char **p, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (n > *cap - *len) {
        size_t c = (*len + n) * 2 + 64;
        char *q = realloc(*p, c);
        if (!q)
            return -1;
        *p = q;
        *cap = c;
    }
    memcpy(*p + *len, s, n);
    *len += n;
    return 0;
}

/* The stack with every "NAME:LINE:COL" of a transpiled file at the file's own position (malloc,
 * NUL-terminated, its length in *out_len), or NULL when nothing names one (or out of memory:
 * the stack stays as QuickJS wrote it). */
static char *ts_rewrite_stack(const char *stack, size_t len, size_t *out_len)
{
    if (!ts_maps)
        return NULL;
    char *out = NULL;
    size_t olen = 0, cap = 0, done = 0;
    int changed = 0;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && stack[i - 1] != '(' && stack[i - 1] != ' ')
            continue;
        for (const struct ts_map *m = ts_maps; m; m = m->next) {
            size_t nl = strlen(m->name);
            if (nl > len - i || memcmp(stack + i, m->name, nl) != 0 || i + nl >= len || stack[i + nl] != ':')
                continue;
            const char *p = stack + i + nl + 1, *end = stack + len;
            char *e1, *e2;
            if (p >= end || *p < '0' || *p > '9')
                continue;
            long line = strtol(p, &e1, 10);
            if (e1 >= end || *e1 != ':' || e1[1] < '0' || e1[1] > '9')
                continue;
            long col = strtol(e1 + 1, &e2, 10);
            if (line <= 0 || line > INT32_MAX || col <= 0 || col > INT32_MAX)
                continue;
            ts_map_position(m, &line, &col);
            char num[48];
            int k = snprintf(num, sizeof num, "%ld:%ld", line, col);
            if (ts_text_append(&out, &olen, &cap, stack + done, i + nl + 1 - done) < 0 ||
                ts_text_append(&out, &olen, &cap, num, (size_t)k) < 0) {
                free(out);
                return NULL;
            }
            done = (size_t)(e2 - stack);
            i = done - 1;
            changed = 1;
            break;
        }
    }
    if (!changed || ts_text_append(&out, &olen, &cap, stack + done, len - done) < 0 ||
        ts_text_append(&out, &olen, &cap, "", 1) < 0) {
        free(out);
        return NULL;
    }
    *out_len = olen - 1;
    return out;
}

static int compile(const char *src, size_t len, const char *filename, const char *fn, int is_module);

/* What the host grants the program (grant.c), before its script is compiled: the globals
 * `host` and `config`, in the snapshot. */
EXPORT("pb_grant") int pb_grant(const char *functions, size_t functions_len, uint32_t functions_count,
                                const char *config, size_t config_len, int has_config, const char *values,
                                size_t values_len, uint32_t values_count)
{
    clear_result();
    struct pb_grant g = {functions, functions_len, functions_count, config, config_len, has_config,
                         values,    values_len,    values_count};
    if (pb_grant_install(ctx, &g) < 0)
        return fail_exception(PB_EXCEPTION);
    return PB_OK;
}

EXPORT("pb_learn") int pb_learn(const char *json, size_t len)
{
    clear_result();
    pb_json_status st;
    JSValue v = pb_json_decode(ctx, json, len, &st);
    if (st.error == PB_JSON_NOMEM)
        return fail_static(PB_OUT_OF_MEMORY, "out of memory");
    if (st.error == PB_JSON_SYNTAX) /* the host checked it: not reached */
        return fail_static(PB_SYNTAX, "the sample is not JSON");
    if (st.error != PB_JSON_OK)
        return fail_exception(PB_EXCEPTION);
    JS_FreeValue(ctx, v);
    return PB_OK;
}

EXPORT("pb_compile") int pb_compile(const char *src, size_t len, const char *filename, const char *fn,
                                    int typescript)
{
    clear_result();
    JS_FreeValue(ctx, script);
    JS_FreeValue(ctx, function);
    script = function = JS_UNDEFINED;
    ts_maps_free();
    if (!typescript && !is_ts_name(filename))
        return compile(src, len, filename, fn, JS_DetectModule(src, len));
    size_t js_len;
    int is_module;
    char *js = ts_transpile(ctx, src, len, filename, &js_len, &is_module);
    if (!js)
        return fail_exception(pending_is_syntax_error() ? PB_SYNTAX : PB_EXCEPTION);
    int r = compile(js, js_len, filename, fn, is_module);
    js_free(ctx, js);
    return r;
}

static int compile(const char *src, size_t len, const char *filename, const char *fn, int is_module)
{
    const char *slash = strrchr(filename, '/');
    module_prefix_len = slash ? (size_t)(slash - filename + 1) : 0;
    if (module_prefix_len >= sizeof module_prefix)
        module_prefix_len = 0;
    memcpy(module_prefix, filename, module_prefix_len);
    module_prefix[module_prefix_len] = '\0';
    if (is_module) {
        int r = compile_module(src, len, filename, fn);
        if (r != PB_OK)
            return r;
    } else if (!fn) {
        script = JS_Eval(ctx, src, len, filename, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
        if (JS_IsException(script))
            return fail_exception(PB_SYNTAX);
        /* every call sets the global `data`: made here, into the snapshot, a call changes its
           value only, not the global object's shape (which, with the prelude's globals, takes
           pages that every call would write and the host restore) */
        JSValue global = JS_GetGlobalObject(ctx);
        int r = JS_SetPropertyStr(ctx, global, "data", JS_UNDEFINED);
        JS_FreeValue(ctx, global);
        if (r < 0)
            return fail_exception(PB_EXCEPTION);
    } else {
        JSValue compiled = JS_Eval(ctx, src, len, filename, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
        if (JS_IsException(compiled))
            return fail_exception(PB_SYNTAX);
        pb_prelude_call_start();
        JSValue top = JS_EvalFunction(ctx, compiled);
        if (JS_IsException(top))
            return fail_exception(PB_EXCEPTION);
        JS_FreeValue(ctx, top);
        /* what the top level queued (promise jobs, timers) runs now, once, as it would in
           node before anything else: the snapshot holds none of it */
        if (run_jobs() < 0)
            return fail_exception(PB_EXCEPTION);
        JSValue global = JS_GetGlobalObject(ctx);
        function = JS_GetPropertyStr(ctx, global, fn);
        JS_FreeValue(ctx, global);
        if (!JS_IsFunction(ctx, function)) {
            JS_FreeValue(ctx, function);
            function = JS_UNDEFINED;
            JS_ThrowTypeError(ctx, "%s is not a function", fn);
            return fail_exception(PB_EXCEPTION);
        }
    }
    collect(); /* the snapshot taken next should hold no garbage */
    return PB_OK;
}

/* Runs the jobs that promises queued and the timers that the script set, until none is left,
 * so that async work settles within the call (prelude.c). */
static int run_jobs(void)
{
    return pb_prelude_settle(ctx, &interrupt_word, &interrupted);
}

/* A promise result (an async function, a .then chain) is awaited: its value or rejection
 * becomes the call's outcome. */
static JSValue settled_value;
static int settled_state; /* 0 pending, 1 fulfilled, 2 rejected */

static JSValue on_settle(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv, int magic,
                         JSValue *data)
{
    (void)this_val;
    (void)data;
    JS_FreeValue(c, settled_value);
    settled_value = argc > 0 ? JS_DupValue(c, argv[0]) : JS_UNDEFINED;
    settled_state = magic;
    return JS_UNDEFINED;
}

static int is_promise(JSValueConst v)
{
    if (!JS_IsObject(v))
        return 0;
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue ctor = JS_GetPropertyStr(ctx, global, "Promise");
    int r = JS_IsInstanceOf(ctx, v, ctor);
    JS_FreeValue(ctx, ctor);
    JS_FreeValue(ctx, global);
    return r > 0;
}

/* Consumes r; returns the settled value, or JS_EXCEPTION with the rejection thrown. */
static JSValue await_result(JSValue r)
{
    if (!is_promise(r))
        return r;
    JSValue handlers[2] = {JS_NewCFunctionData(ctx, on_settle, 1, 1, 0, NULL),
                           JS_NewCFunctionData(ctx, on_settle, 1, 2, 0, NULL)};
    JSValue then = JS_GetPropertyStr(ctx, r, "then");
    settled_state = 0;
    settled_value = JS_UNDEFINED;
    JSValue chained = JS_Call(ctx, then, r, 2, (JSValueConst *)handlers);
    JS_FreeValue(ctx, then);
    JS_FreeValue(ctx, handlers[0]);
    JS_FreeValue(ctx, handlers[1]);
    JS_FreeValue(ctx, r);
    if (JS_IsException(chained))
        return JS_EXCEPTION;
    JS_FreeValue(ctx, chained);
    if (run_jobs() < 0)
        return JS_EXCEPTION;
    JSValue v = settled_value;
    settled_value = JS_UNDEFINED;
    if (settled_state == 1)
        return v;
    if (settled_state == 2)
        return JS_Throw(ctx, v);
    return JS_ThrowTypeError(ctx, "the result is a promise that never settled");
}

static int run(const char *json, size_t len, int has_data, uint32_t seed_lo, uint32_t seed_hi, uint8_t *bytes,
               size_t bytes_len);

/* A value the call is done with. A fresh call's memory is thrown away whole when it ends, so
 * there its input and result trees are left to that instead of being freed object by object. */
static void drop(JSValue v)
{
    if (!arena.on)
        JS_FreeValue(ctx, v);
}

/* arena_cap: bytes the call may allocate without freeing, 0 when its memory must be reused
 * (a stateful sandbox). The host restores the snapshot after such a call. */
/* The script's function `name` (an export of a module script, else a global), which the next
 * pb_run calls instead of the program's own: 1, or 0 when the script has no such function
 * (reading it may run a getter; what it throws counts as none). */
EXPORT("pb_select") int pb_select(const char *name, size_t len)
{
    JS_FreeValue(ctx, selected);
    selected = JS_UNDEFINED;
    JSAtom a = JS_NewAtomLen(ctx, name, len);
    if (a == JS_ATOM_NULL) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        return 0;
    }
    JSValue f = JS_IsObject(module_ns) ? JS_GetProperty(ctx, module_ns, a) : JS_UNDEFINED;
    if (!JS_IsFunction(ctx, f)) {
        JS_FreeValue(ctx, f);
        JSValue global = JS_GetGlobalObject(ctx);
        f = JS_GetProperty(ctx, global, a);
        JS_FreeValue(ctx, global);
    }
    JS_FreeAtom(ctx, a);
    if (JS_IsException(f))
        JS_FreeValue(ctx, JS_GetException(ctx));
    if (!JS_IsFunction(ctx, f)) {
        JS_FreeValue(ctx, f);
        return 0;
    }
    selected = f;
    return 1;
}

EXPORT("pb_run") int pb_run(const char *json, size_t len, int has_data, uint32_t seed_lo, uint32_t seed_hi,
                            uint32_t arena_cap, uint8_t *bytes, size_t bytes_len)
{
    memset(&arena, 0, sizeof arena);
    arena.cap = arena_cap;
    arena.on = arena_cap != 0;
    int r = run(json, len, has_data, seed_lo, seed_hi, bytes, bytes_len);
    JS_FreeValue(ctx, selected);
    selected = JS_UNDEFINED;
    if (r != PB_OK && !arena.on)
        pb_prelude_forget_timers(ctx); /* a stateful sandbox's next call starts with none */
    if (!JS_IsUndefined(bytes_buffer)) {
        /* the host takes its bytes back: arrays the script kept over them become empty */
        JS_DetachArrayBuffer(ctx, bytes_buffer);
        JS_FreeValue(ctx, bytes_buffer);
        bytes_buffer = JS_UNDEFINED;
    }
    arena.on = 0;
    return r;
}

static int run(const char *json, size_t len, int has_data, uint32_t seed_lo, uint32_t seed_hi, uint8_t *bytes,
               size_t bytes_len)
{
    clear_result();
    pb_prelude_call_start();
    rng_state = ((uint64_t)seed_hi << 32 | seed_lo) | 1;
    JSValue data = JS_UNDEFINED;
    if (has_data) {
        pb_json_status st;
        data = decode_input(json, len, &st);
        if (st.error == PB_JSON_SYNTAX) {
            /* the host words the message, with line and column, from the offset */
            result.kind = PB_BAD_INPUT;
            result.out_len = (uint32_t)st.offset;
            return PB_BAD_INPUT;
        }
        if (st.error == PB_JSON_NOMEM)
            return fail_static(PB_OUT_OF_MEMORY, "out of memory");
        if (st.error != PB_JSON_OK)
            return fail_exception(PB_EXCEPTION);
    }
    JSValue args[2] = {data, JS_UNDEFINED};
    if (bytes) {
        bytes_buffer = JS_NewArrayBuffer(ctx, bytes, bytes_len, NULL, NULL, 0);
        if (!JS_IsException(bytes_buffer))
            args[1] = JS_CallConstructor(ctx, uint8_array, 1, (JSValueConst *)&bytes_buffer);
        if (JS_IsException(bytes_buffer) || JS_IsException(args[1])) {
            if (JS_IsException(bytes_buffer))
                bytes_buffer = JS_UNDEFINED;
            JS_FreeValue(ctx, data);
            return fail_exception(PB_EXCEPTION);
        }
    }
    JSValue r, fn = JS_IsUndefined(selected) ? function : selected;
    if (JS_IsUndefined(fn)) {
        JSValue global = JS_GetGlobalObject(ctx);
        int set = JS_SetPropertyStr(ctx, global, "data", data);
        if (set >= 0 && bytes)
            set = JS_SetPropertyStr(ctx, global, "bytes", args[1]);
        else
            JS_FreeValue(ctx, args[1]);
        JS_FreeValue(ctx, global);
        if (set < 0)
            return fail_exception(PB_EXCEPTION);
        r = JS_EvalFunction(ctx, JS_DupValue(ctx, script));
    } else {
        r = JS_Call(ctx, fn, JS_UNDEFINED, bytes ? 2 : 1, (JSValueConst *)args);
        drop(args[0]);
        drop(args[1]);
    }
    if (JS_IsException(r))
        return fail_exception(PB_EXCEPTION);
    if (run_jobs() < 0) {
        JS_FreeValue(ctx, r);
        return fail_exception(PB_EXCEPTION);
    }
    r = await_result(r);
    if (JS_IsException(r))
        return fail_exception(PB_EXCEPTION);
    if (JS_JSONStringifyFast) {
        size_t n;
        int fast = JS_JSONStringifyFast(ctx, r, &out_fast, &n);
        if (fast != 0)
            drop(r);
        if (fast < 0)
            return fail_static(PB_OUT_OF_MEMORY, "out of memory");
        if (fast > 0) {
            if (out_fast)
                set_text(out_fast, n);
            return PB_OK;
        }
    }
    JSValue s = JS_JSONStringify(ctx, r, JS_UNDEFINED, JS_UNDEFINED);
    if (JS_IsException(s))
        name_bigint(r);
    drop(r);
    if (JS_IsException(s))
        return fail_exception(PB_EXCEPTION);
    if (JS_IsUndefined(s))
        return PB_OK; /* undefined, a function or a symbol: no JSON text */
    size_t n;
    out_text = JS_ToCStringLen(ctx, &n, s);
    JS_FreeValue(ctx, s);
    if (!out_text)
        return fail_exception(PB_EXCEPTION);
    set_text(out_text, n);
    return PB_OK;
}
