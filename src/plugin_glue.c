/* SPDX-License-Identifier: MIT */
/* plugin_glue.c - the C compiled with a plugin's wasm2c output: its description for the
 * runtime (rt/module.h), its imports connected to the host through a table the loader fills,
 * and wasm2c's runtime functions routed to the library's (a plugin is loaded at run time and
 * cannot link against the library, which exports nothing but its API).
 *
 * Everything is read from the header wasm2c wrote: the instance struct (which fields are the
 * live instance, which its state), the imports and exports with their C types. A line of a
 * shape this does not know is an error, never a guess. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_glue.h"
#include "rt/rt.h"

typedef struct text {
    char *p;
    size_t n, cap;
    int oom;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->p ? t->p + t->n : NULL, t->p ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            t->oom = 1;
            return;
        }
        if (t->p && t->n + (size_t)k < t->cap) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap <= t->n + (size_t)k)
            cap *= 2;
        char *p = pb_rt_realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

static int fail(char *err, size_t err_len, const char *what, const char *s, size_t n)
{
    snprintf(err, err_len, "unexpected wasm2c output: %s: %.*s", what, (int)(n > 200 ? 200 : n), s);
    return -1;
}

/* C type of wasm2c to a value type character (rt/module.h), 0 if none */
static char type_char(const char *s, size_t n)
{
    if (n == 3 && !memcmp(s, "u32", 3))
        return 'i';
    if (n == 3 && !memcmp(s, "u64", 3))
        return 'I';
    if (n == 3 && !memcmp(s, "f32", 3))
        return 'f';
    if (n == 3 && !memcmp(s, "f64", 3))
        return 'F';
    if (n == 16 && !memcmp(s, "wasm_rt_funcref_t", 16))
        return 'r';
    if (n == 19 && !memcmp(s, "wasm_rt_externref_t", 19))
        return 'x';
    return 0;
}
static const char *c_type(char t)
{
    switch (t) {
    case 'i': return "u32";
    case 'I': return "u64";
    case 'f': return "f32";
    case 'F': return "f64";
    case 'r': return "wasm_rt_funcref_t";
    case 'x': return "wasm_rt_externref_t";
    default: return "void";
    }
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* "RET NAME(ARG, ARG, ...);" -> its type string into type[] (params:results) and its name;
 * the first argument (the instance or import context) is skipped. 0 or -1. */
static int parse_proto(const char *s, size_t n, char *type, size_t type_cap, char *name, size_t name_cap)
{
    const char *open = memchr(s, '(', n);
    if (!open || n < 3 || s[n - 1] != ';' || s[n - 2] != ')')
        return -1;
    const char *sp = open;
    while (sp > s && sp[-1] != ' ')
        sp--;
    if (sp == s || (size_t)(open - sp) >= name_cap)
        return -1;
    memcpy(name, sp, (size_t)(open - sp));
    name[open - sp] = 0;
    const char *rt = s;
    size_t rn = (size_t)(sp - s);
    trim(&rt, &rn);
    char ret = rn == 4 && !memcmp(rt, "void", 4) ? 0 : type_char(rt, rn);
    if (!ret && !(rn == 4 && !memcmp(rt, "void", 4)))
        return -1; /* multiple results (a struct) or a pointer: not a callable function here */
    size_t k = 0;
    const char *a = open + 1, *end = s + n - 2;
    int first = 1;
    while (a < end) {
        const char *c = memchr(a, ',', (size_t)(end - a));
        if (!c)
            c = end;
        const char *t = a;
        size_t tn = (size_t)(c - a);
        trim(&t, &tn);
        if (!first) {
            char ch = type_char(t, tn);
            if (!ch || k + 3 >= type_cap)
                return -1;
            type[k++] = ch;
        }
        first = 0;
        a = c + 1;
    }
    if (first || k + 3 >= type_cap)
        return -1;
    type[k++] = ':';
    if (ret)
        type[k++] = ret;
    type[k] = 0;
    return 0;
}

typedef struct line {
    const char *s;
    size_t n;
} line;

static int starts(line l, const char *p) { return l.n >= strlen(p) && !memcmp(l.s, p, strlen(p)); }

int pb__plugin_glue(const char *h, size_t hn, const char *module, pb_glue *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    text t = {0};
    char struct_open[128], struct_close[128], inst_type[128];
    snprintf(struct_open, sizeof struct_open, "typedef struct Z_%s_instance_t {", module);
    snprintf(struct_close, sizeof struct_close, "} Z_%s_instance_t;", module);
    snprintf(inst_type, sizeof inst_type, "Z_%s_instance_t", module);

    add(&t, "/* generated by plugbox compile: the description of the module, its imports and the runtime's\n"
            " * entry points (src/plugin_glue.c) */\n"
            "#include <stdarg.h>\n#include <stddef.h>\n#include \"%s.h\"\n#include \"module.h\"\n\n"
            "static const pb_rt_host *rt;\n\n"
            "void wasm_rt_trap(wasm_rt_trap_t code) { rt->trap(code); __builtin_unreachable(); }\n"
            "bool wasm_rt_is_initialized(void) { return true; }\n"
            "void pb_rt_check_failed(void) { rt->check_failed(); }\n"
            "void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint32_t i, uint32_t x) { rt->allocate_memory(m, i, x); }\n"
            "uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t d) { return rt->grow_memory(m, d); }\n"
            "void wasm_rt_free_memory(wasm_rt_memory_t *m) { rt->free_memory(m); }\n"
            "void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *t, uint32_t n, uint32_t x) { rt->allocate_funcref_table(t, n, x); }\n"
            "void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *t) { rt->free_funcref_table(t); }\n"
            "uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *t, uint32_t d, wasm_rt_funcref_t v) { return rt->grow_funcref_table(t, d, v); }\n"
            "void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t *t, uint32_t n, uint32_t x) { rt->allocate_externref_table(t, n, x); }\n"
            "void wasm_rt_free_externref_table(wasm_rt_externref_table_t *t) { rt->free_externref_table(t); }\n"
            "uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t *t, uint32_t d, wasm_rt_externref_t v) { return rt->grow_externref_table(t, d, v); }\n"
            "uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)\n{\n"
            "    wasm_rt_type_t types[64];\n"
            "    if (params + results > 64)\n        return rt->register_func_type(params, results, NULL);\n"
            "    va_list ap;\n    va_start(ap, results);\n"
            "    for (uint32_t i = 0; i < params + results; i++)\n        types[i] = (wasm_rt_type_t)va_arg(ap, int);\n"
            "    va_end(ap);\n    return rt->register_func_type(params, results, types);\n}\n\n",
        module);

    /* the instance struct */
    text live = {0}, imports = {0}, exports = {0}, ctxs = {0}, args = {0}, tramp = {0};
    int in_struct = 0, done_struct = 0, memories = 0;
    size_t n_imports = 0, n_exports = 0;
    int rc = -1;
    const char *pending = NULL; /* the comment before a prototype */
    size_t pending_n = 0;
    for (const char *p = h; p < h + hn;) {
        const char *e = memchr(p, '\n', (size_t)(h + hn - p));
        line l = {p, e ? (size_t)(e - p) : (size_t)(h + hn - p)};
        p = e ? e + 1 : h + hn;
        if (!in_struct && l.n == strlen(struct_open) && starts(l, struct_open)) {
            in_struct = 1;
            continue;
        }
        if (in_struct) {
            if (l.n == strlen(struct_close) && starts(l, struct_close)) {
                in_struct = 0;
                done_struct = 1;
                continue;
            }
            /* "  TYPE NAME;" */
            const char *s = l.s;
            size_t n = l.n;
            trim(&s, &n);
            const char *sp = n ? memrchr(s, ' ', n) : NULL;
            if (!sp || s[n - 1] != ';') {
                fail(err, err_len, "instance field", l.s, l.n);
                goto out;
            }
            size_t tn = (size_t)(sp - s);
            const char *name = sp + 1;
            size_t nn = (size_t)(s + n - 1 - name);
            if (starts((line){s, n}, "struct Z_") && tn > 1 && s[tn - 1] == '*') {
                add(&live, "    FIELD(%.*s),\n", (int)nn, name);
                add(&ctxs, "%.*s {\n    void **hosts;\n    void (**fns)(void);\n};\n", (int)(tn - 1), s);
            } else if (tn == 16 && !memcmp(s, "wasm_rt_memory_t", 16)) {
                add(&live, "    FIELD(%.*s),\n", (int)nn, name);
                if (nn >= sizeof out->memory_field) {
                    fail(err, err_len, "memory name", name, nn);
                    goto out;
                }
                memcpy(out->memory_field, name, nn);
                out->memory_field[nn] = 0;
                memories++;
            } else if ((tn == 23 && !memcmp(s, "wasm_rt_funcref_table_t", 23)) ||
                       (tn == 25 && !memcmp(s, "wasm_rt_externref_table_t", 25))) {
                add(&live, "    FIELD(%.*s),\n", (int)nn, name);
            } else if (tn == 3 && !memcmp(s, "u32", 3) && !out->stack_pointer[0] &&
                       ((nn == 6 && !memcmp(name, "w2c_g0", 6)) ||
                        (nn == 19 && !memcmp(name, "w2c___stack_pointer", 19)))) {
                memcpy(out->stack_pointer, name, nn); /* state, and the stack pointer */
                out->stack_pointer[nn] = 0;
            } else if (type_char(s, tn) || (tn == 4 && !memcmp(s, "bool", 4)) ||
                       (n == 18 && !memcmp(s, "char dummy_member;", 18))) {
                /* a global, or a dropped segment's flag: state */
            } else {
                snprintf(err, err_len, "unsupported: the module imports a memory, table or global (%.*s)",
                         (int)(n > 100 ? 100 : n), s);
                goto out;
            }
            continue;
        }
        if (starts(l, "/* import: '") || starts(l, "/* export: '")) {
            pending = l.s;
            pending_n = l.n;
            continue;
        }
        if (pending && starts((line){pending, pending_n}, "/* import: '")) {
            /* '/x2a import: 'MODULE' 'NAME' x2a/' then the prototype */
            const char *m = pending + 12, *end = pending + pending_n;
            const char *q = m;
            while (q + 3 < end && memcmp(q, "' '", 3))
                q++;
            if (q + 3 >= end || end - pending < 16 || memcmp(end - 4, "' */", 4)) {
                fail(err, err_len, "import", pending, pending_n);
                goto out;
            }
            const char *nm = q + 3;
            size_t mn = (size_t)(q - m), nmn = (size_t)(end - 4 - nm);
            char type[80], cname[256];
            if (parse_proto(l.s, l.n, type, sizeof type, cname, sizeof cname) != 0) {
                fail(err, err_len, "import's prototype", l.s, l.n);
                goto out;
            }
            /* the context's struct is the first argument's type */
            const char *open = memchr(l.s, '(', l.n);
            const char *comma = memchr(open, ',', (size_t)(l.s + l.n - open));
            const char *close = comma ? comma : l.s + l.n - 2;
            add(&imports, "    {\"%.*s\", \"%.*s\", \"%s\"},\n", (int)mn, m, (int)nmn, nm, type);
            const char *colon = strchr(type, ':');
            char ret = colon[1];
            add(&tramp, "%s %s(%.*s c", c_type(ret), cname, (int)(close - open - 1), open + 1);
            for (const char *a = type; *a != ':'; a++)
                add(&tramp, ", %s a%d", c_type(*a), (int)(a - type));
            add(&tramp, ")\n{\n    %s((%s(*)(void *", ret ? "return " : "", c_type(ret));
            for (const char *a = type; *a != ':'; a++)
                add(&tramp, ", %s", c_type(*a));
            add(&tramp, "))c->fns[%zu])(c->hosts[%zu]", n_imports, n_imports);
            for (const char *a = type; *a != ':'; a++)
                add(&tramp, ", a%d", (int)(a - type));
            add(&tramp, ");\n}\n");
            n_imports++;
            pending = NULL;
            continue;
        }
        if (pending && starts((line){pending, pending_n}, "/* export: '")) {
            const char *nm = pending + 12, *end = pending + pending_n;
            if (end - nm < 4 || memcmp(end - 4, "' */", 4)) {
                fail(err, err_len, "export", pending, pending_n);
                goto out;
            }
            size_t nmn = (size_t)(end - 4 - nm);
            char type[80], cname[256];
            /* memories, tables and globals are exported as pointers: not functions */
            if (parse_proto(l.s, l.n, type, sizeof type, cname, sizeof cname) == 0) {
                add(&exports, "    {\"%.*s\", \"%s\", (void (*)(void))%s},\n", (int)nmn, nm, type, cname);
                n_exports++;
            }
            pending = NULL;
            continue;
        }
        char inst_proto[160];
        snprintf(inst_proto, sizeof inst_proto, "void Z_%s_instantiate(%s*", module, inst_type);
        if (starts(l, inst_proto)) {
            /* one context argument per import module, all the same table */
            for (const char *a = l.s; a < l.s + l.n; a++)
                if (*a == ',')
                    add(&args, ", ctx");
        }
    }
    if (!done_struct || memories != 1) {
        snprintf(err, err_len, "%s", !done_struct ? "unexpected wasm2c output: no instance struct"
                                                  : memories ? "unsupported: more than one memory"
                                                             : "unsupported: the module has no memory of its own");
        goto out;
    }
    add(&t, "%s\n%s\n#define FIELD(f) {offsetof(%s, f), sizeof(((%s *)0)->f)}\n"
            "static const pb_rt_range live[] = {\n%s};\n",
        ctxs.p ? ctxs.p : "", tramp.p ? tramp.p : "", inst_type, inst_type, live.p ? live.p : "");
    char sp[256] = "";
    if (out->stack_pointer[0])
        snprintf(sp, sizeof sp, " .has_stack_pointer = 1, .stack_pointer_offset = offsetof(%s, %s),", inst_type,
                 out->stack_pointer);
    add(&t, "static const pb_rt_import imports[] = {\n%s    {0, 0, 0}\n};\n", imports.p ? imports.p : "");
    add(&t, "static const pb_rt_export exports[] = {\n%s    {0, 0, 0}\n};\n", exports.p ? exports.p : "");
    add(&t,
        "static void instantiate(void *instance, void *ctx) { (void)ctx; Z_%s_instantiate(instance%s); }\n"
        "static void free_instance(void *instance) { Z_%s_free(instance); }\n"
        "void pb_plugin_start(%s *instance);\n"
        "static void start(void *instance) { pb_plugin_start(instance); }\n"
        "static const pb_rt_module module = {\n"
        "    .abi = PB_RT_ABI, .name = \"%s\", .instance_size = sizeof(%s),\n"
        "    .memory_offset = offsetof(%s, %s), .live = live, .n_live = sizeof live / sizeof live[0],\n"
        "    .init_module = Z_%s_init_module, .instantiate = instantiate, .free = free_instance,\n"
        "    .exports = exports, .n_exports = %zu, .imports = imports, .n_imports = %zu,\n"
        "    .start = start,%s%s%s\n"
        "};\n\n"
        "__attribute__((visibility(\"default\"))) const pb_rt_module *plugbox_module_v1(const pb_rt_host *host)\n{\n"
        "    if (!host || host->abi != PB_RT_ABI)\n        return NULL;\n"
        "    rt = host;\n    return &module;\n}\n",
        module, args.p ? args.p : "", module, inst_type, module, inst_type, inst_type, out->memory_field, module, n_exports,
        n_imports, sp, "", "");
    if (t.oom || live.oom || imports.oom || exports.oom || ctxs.oom || args.oom || tramp.oom) {
        snprintf(err, err_len, "out of host memory");
        goto out;
    }
    out->c = t.p;
    out->c_len = t.n;
    t.p = NULL;
    rc = 0;
out:
    free(t.p);
    free(live.p);
    free(imports.p);
    free(exports.p);
    free(ctxs.p);
    free(args.p);
    free(tramp.p);
    return rc;
}
