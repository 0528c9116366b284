/* SPDX-License-Identifier: MIT */
/* w2c_rewrite.c - what plugbox changes in wasm2c's output for a plugin (the engine's twin is
 * guest/wasm2c.sh, which this follows step for step):
 *  - every store marks its page in the memory's dirty map, and so do memory.fill, memory.copy
 *    and memory.init, so that a restore copies back only the pages a call wrote;
 *  - loads and stores go through rt_access.h with the memory's base address read once per
 *    function (pb_base);
 *  - every function that calls another, on entry, and every loop, at its head, makes the
 *    check of rt_check.h, here against the memory's check word (PB_RT_CHECK_IN_MEMORY): the
 *    stack's floor and the watchdog's stop. Foreign code polls nothing, so these checks are
 *    what stops a runaway loop.
 * Anything in the output that does not have the shape this relies on (wabt 1.0.32) is an
 * error, never a silently unchecked module. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "w2c_rewrite.h"
#include "rt/rt.h"

static int fail(char *err, size_t err_len, const char *fmt, const char *arg)
{
    snprintf(err, err_len, fmt, arg);
    return -1;
}

/* ---- lines --------------------------------------------------------------------------------- */

typedef struct line {
    const char *s;
    size_t n;
} line;

static int line_is(line l, const char *s) { return l.n == strlen(s) && !memcmp(l.s, s, l.n); }
static int line_has(line l, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= l.n; i++)
        if (!memcmp(l.s + i, s, k))
            return 1;
    return 0;
}

static const char STORE_LINE[] = "    wasm_rt_memcpy(&mem->data[addr], &wrapped, sizeof(t1));            \\";
static const char FILL_LINE[] = "  memset(mem->data + d, val, n);";
static const char COPY_LINE[] = "  memmove(dest->data + dest_addr, src->data + src_addr, n);";
static const char INIT_LINE[] = "  LOAD_DATA((*dest), dest_addr, src + src_addr, n);";
static const char PROLOGUE_LINE[] = "#define FUNC_PROLOGUE";

static int is_ident(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* i32_load8_u and the like: [if](32|64)_(load|store)(8|16|32)?(_[su])? */
static int is_access_name(const char *s, size_t n)
{
    if (n < 8 || (s[0] != 'i' && s[0] != 'f') || !((s[1] == '3' && s[2] == '2') || (s[1] == '6' && s[2] == '4')) ||
        s[3] != '_')
        return 0;
    s += 4;
    n -= 4;
    size_t k = !strncmp(s, "load", 4) && n >= 4 ? 4 : !strncmp(s, "store", 5) && n >= 5 ? 5 : 0;
    if (!k)
        return 0;
    s += k;
    n -= k;
    if (n >= 2 && (!strncmp(s, "16", 2) || !strncmp(s, "32", 2))) {
        s += 2;
        n -= 2;
    } else if (n >= 1 && s[0] == '8') {
        s += 1;
        n -= 1;
    }
    if (n == 2 && s[0] == '_' && (s[1] == 's' || s[1] == 'u'))
        return 1;
    return n == 0;
}

/* One line of a function's body with its memory accesses through pb_base. Returns how many
 * it rewrote. */
static int put_accesses(pb_buf *b, line l, const char *mem_arg)
{
    size_t k = strlen(mem_arg);
    int count = 0;
    size_t from = 0;
    for (size_t i = 0; i + k <= l.n; i++) {
        if (l.s[i] != '(' || memcmp(l.s + i, mem_arg, k))
            continue;
        size_t j = i;
        while (j > from && is_ident(l.s[j - 1]))
            j--;
        if (!is_access_name(l.s + j, i - j))
            continue;
        pb__buf_put(b, l.s + from, j - from);
        pb__buf_puts(b, "pb_");
        pb__buf_put(b, l.s + j, i - j);
        pb__buf_puts(b, "(pb_base, ");
        from = i + k;
        i = from - 1;
        count++;
    }
    pb__buf_put(b, l.s + from, l.n - from);
    pb__buf_puts(b, "\n");
    return count;
}

/* ---- functions ------------------------------------------------------------------------------ */

typedef struct fn_state {
    line *head, *body;
    size_t nh, nb, cap_h, cap_b;
    int oom;
} fn_state;

static void push(line **v, size_t *n, size_t *cap, line l, int *oom)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        line *p = pb_rt_realloc(*v, c * sizeof *p);
        if (!p) {
            *oom = 1;
            return;
        }
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = l;
}

typedef struct counts {
    size_t bases, loops, leaves, accesses;
} counts;

/* The module's start function, which wasm2c calls at the end of instantiation: the runtime
 * instantiates outside any guard, so the call moves to pb_plugin_start(), which the host calls
 * under one (time limit, traps) as it calls the module's exports. Returns 1 if it took l. */
static int start_call(pb_buf *start, line l, int in_instantiate)
{
    if (!in_instantiate || l.n < 20 || memcmp(l.s, "  w2c_", 6) || memcmp(l.s + l.n - 11, "(instance);", 11))
        return 0;
    pb__buf_put(start, l.s, l.n);
    pb__buf_puts(start, "\n");
    return 1;
}

static void flush(pb_buf *b, fn_state *f, const char *mem_arg, const char *base_line, counts *c, pb_buf *start,
                  const char *inst_head)
{
    int in_instantiate = f->nh && f->head[0].n >= strlen(inst_head) && !memcmp(f->head[0].s, inst_head, strlen(inst_head));
    if (in_instantiate) {
        for (size_t i = 0; i < f->nh; i++) {
            pb__buf_put(b, f->head[i].s, f->head[i].n);
            pb__buf_puts(b, "\n");
        }
        for (size_t i = 0; i < f->nb; i++)
            if (!start_call(start, f->body[i], 1)) {
                pb__buf_put(b, f->body[i].s, f->body[i].n);
                pb__buf_puts(b, "\n");
            }
        f->nh = f->nb = 0;
        return;
    }
    int leaf = 1, loops = 0;
    for (size_t i = 0; i < f->nb && leaf; i++) {
        line l = f->body[i];
        if (line_has(l, "CALL_INDIRECT") || line_has(l, "(*Z_") || line_has(l, "wasm_rt_grow_memory"))
            leaf = 0;
        for (size_t j = 0; leaf && j + 6 <= l.n; j++)
            if (!memcmp(l.s + j, "w2c_f", 5) && (j == 0 || !is_ident(l.s[j - 1]))) {
                size_t k = j + 5;
                while (k < l.n && l.s[k] >= '0' && l.s[k] <= '9')
                    k++;
                if (k > j + 5 && k < l.n && l.s[k] == '(')
                    leaf = 0;
            }
    }
    for (size_t i = 0; i < f->nb; i++) {
        line l = f->body[i];
        size_t k = 0;
        while (k < l.n && l.s[k] == ' ')
            k++;
        if (l.n > k + 6 && !memcmp(l.s + k, "w2c_L", 5) && l.s[l.n - 1] == ' ' && l.s[l.n - 2] == ':')
            loops++;
    }
    for (size_t i = 0; i < f->nh; i++) {
        pb__buf_put(b, f->head[i].s, f->head[i].n);
        pb__buf_puts(b, "\n");
    }
    /* every function that checks reads the base: the check word lies below it */
    int checks = loops || !leaf;
    int uses = checks;
    for (size_t i = 0; i < f->nb && !uses; i++)
        uses = line_has(f->body[i], mem_arg);
    if (uses) {
        pb__buf_puts(b, base_line);
        c->bases++;
    }
    for (size_t i = 0; i < f->nb; i++) {
        line l = f->body[i];
        if (leaf && line_is(l, "  FUNC_PROLOGUE;")) {
            c->leaves++;
            continue;
        }
        size_t k = 0;
        while (k < l.n && l.s[k] == ' ')
            k++;
        if (l.n > k + 6 && !memcmp(l.s + k, "w2c_L", 5) && l.s[l.n - 1] == ' ' && l.s[l.n - 2] == ':') {
            pb__buf_put(b, l.s, l.n);
            pb__buf_puts(b, "PB_RT_CHECK();\n");
            c->loops++;
            continue;
        }
        c->accesses += (size_t)put_accesses(b, l, mem_arg);
    }
    f->nh = f->nb = 0;
}

int pb__w2c_rewrite(const char *src, size_t n, const char *module, const char *memory_field, const char *helpers,
                    char **out, size_t *out_len, char *err, size_t err_len)
{
    *out = NULL;
    *out_len = 0;
    char inst_sig[128], mem_arg[128], base_line[160], include_line[128], inst_head[128];
    if ((size_t)snprintf(inst_sig, sizeof inst_sig, "(Z_%s_instance_t* instance", module) >= sizeof inst_sig ||
        (size_t)snprintf(mem_arg, sizeof mem_arg, "(&instance->%s, ", memory_field) >= sizeof mem_arg ||
        (size_t)snprintf(base_line, sizeof base_line, "  u8* const pb_base = instance->%s.data;\n", memory_field) >=
            sizeof base_line ||
        (size_t)snprintf(include_line, sizeof include_line, "#include \"%s.h\"", module) >= sizeof include_line ||
        (size_t)snprintf(inst_head, sizeof inst_head, "void Z_%s_instantiate(", module) >= sizeof inst_head)
        return fail(err, err_len, "%s", "module or memory name too long");

    /* the lines that must be there exactly once, and wasm2c's helpers, equal to rt_access.h's */
    const char *once[] = {STORE_LINE, FILL_LINE, COPY_LINE, PROLOGUE_LINE, include_line};
    size_t seen[5] = {0}, last_helper = 0, nlines = 0;
    pb_buf found = {0}, mirrored = {0};
    for (const char *p = src; p < src + n;) {
        const char *e = memchr(p, '\n', (size_t)(src + n - p));
        line l = {p, e ? (size_t)(e - p) : (size_t)(src + n - p)};
        for (int i = 0; i < 5; i++)
            seen[i] += line_is(l, once[i]);
        if (l.n > 12 && (!memcmp(l.s, "DEFINE_LOAD(", 12) || !memcmp(l.s, "DEFINE_STORE(", 13))) {
            pb__buf_put(&found, l.s, l.n);
            pb__buf_puts(&found, "\n");
            last_helper = nlines;
        }
        nlines++;
        p = e ? e + 1 : src + n;
    }
    for (const char *p = helpers; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 15 && (!memcmp(p, "PB_DEFINE_LOAD(", 15) || !memcmp(p, "PB_DEFINE_STORE(", 16))) {
            pb__buf_put(&mirrored, p + 3, len - 3);
            pb__buf_puts(&mirrored, "\n");
        }
        p = e ? e + 1 : p + len;
    }
    int helpers_ok = !found.oom && !mirrored.oom && found.n && found.n == mirrored.n &&
                     !memcmp(found.p, mirrored.p, found.n);
    int oom = found.oom || mirrored.oom;
    free(found.p);
    free(mirrored.p);
    if (oom)
        return fail(err, err_len, "%s", "out of host memory");
    for (int i = 0; i < 5; i++)
        if (seen[i] != 1)
            return fail(err, err_len, "unexpected wasm2c output: no single line '%s'", once[i]);
    if (!helpers_ok)
        return fail(err, err_len, "%s", "unexpected wasm2c output: its load and store helpers differ from rt_access.h's");

    pb_buf b = {0}, start = {0};
    fn_state f = {0};
    counts c = {0};
    int state = 0; /* 0 outside functions, 1 in a head, 2 in a body */
    size_t at = 0, inits = 0;
    for (const char *p = src; p < src + n; at++) {
        const char *e = memchr(p, '\n', (size_t)(src + n - p));
        line l = {p, e ? (size_t)(e - p) : (size_t)(src + n - p)};
        p = e ? e + 1 : src + n;
        if (state == 2) {
            push(&f.body, &f.nb, &f.cap_b, l, &f.oom);
            if (line_is(l, "}")) {
                flush(&b, &f, mem_arg, base_line, &c, &start, inst_head);
                state = 0;
            }
            continue;
        }
        if (state == 1) {
            push(&f.head, &f.nh, &f.cap_h, l, &f.oom);
            if (l.n >= 2 && l.s[l.n - 1] == '{' && (l.s[l.n - 2] == ')' || (l.n >= 3 && l.s[l.n - 2] == ' ' && l.s[l.n - 3] == ')')))
                state = 2;
            continue;
        }
        if (l.n && l.s[0] != ' ' && l.s[0] != '#' && line_has(l, inst_sig) && l.s[l.n - 1] != ';') {
            push(&f.head, &f.nh, &f.cap_h, l, &f.oom);
            state = l.n >= 2 && l.s[l.n - 1] == '{' && (l.s[l.n - 2] == ')' || l.s[l.n - 2] == ' ') ? 2 : 1;
            continue;
        }
        if (line_is(l, STORE_LINE)) {
            pb__buf_puts(&b, "    PB_MARK_DIRTY(mem, addr);                                          \\\n");
        } else if (line_is(l, FILL_LINE)) {
            pb__buf_puts(&b, "  PB_MARK_DIRTY_RANGE(mem, d, n);\n");
        } else if (line_is(l, COPY_LINE)) {
            pb__buf_puts(&b, "  PB_MARK_DIRTY_RANGE(dest, dest_addr, n);\n");
        } else if (line_is(l, INIT_LINE)) {
            pb__buf_puts(&b, "  RANGE_CHECK(dest, dest_addr, n);\n  PB_MARK_DIRTY_RANGE(dest, dest_addr, n);\n");
            inits++;
        } else if (line_is(l, PROLOGUE_LINE)) {
            pb__buf_puts(&b, "#include \"rt_check.h\"\n#define FUNC_PROLOGUE PB_RT_CHECK()\n");
            continue;
        }
        pb__buf_put(&b, l.s, l.n);
        pb__buf_puts(&b, "\n");
        if (line_is(l, include_line))
            pb__buf_puts(&b, "#include \"rt_layout.h\"\n");
        if (at == last_helper)
            pb__buf_puts(&b, "#include \"rt_access.h\"\n");
    }
    free(f.head);
    free(f.body);
    char proto[160];
    snprintf(proto, sizeof proto, "\nvoid pb_plugin_start(Z_%s_instance_t* instance) {\n", module);
    pb__buf_puts(&b, proto);
    if (start.n)
        pb__buf_put(&b, start.p, start.n);
    else
        pb__buf_puts(&b, "  (void)instance;\n");
    pb__buf_puts(&b, "}\n");
    int start_oom = start.oom;
    free(start.p);
    if (b.oom || f.oom || start_oom) {
        free(b.p);
        return fail(err, err_len, "%s", "out of host memory");
    }
    if (state != 0 || inits > 1) {
        free(b.p);
        return fail(err, err_len, "%s", "unexpected wasm2c output: a function's end or memory.init's shape");
    }
    *out = b.p;
    *out_len = b.n;
    return 0;
}
