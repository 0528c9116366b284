/* SPDX-License-Identifier: MIT */
/* compile.c - a build tool, run on the build machine: compiles the bundled prelude into
 * QuickJS bytecode, which the guest reads in pb_init (guest/prelude.c).
 *   prelude-compile PRELUDE.js OUT.bc
 * Parsing the prelude's ~100 KB takes the engine some 20 ms; reading its bytecode, about one.
 * Parsing also leaves the heap strewn with its temporary buffers, which every call would then
 * pay for in the pages the C allocator touches. Built from the same patched QuickJS as the
 * guest; the bytecode holds no pointers, so the 64-bit tool's output is the 32-bit guest's
 * input. No line tables or source are kept (JS_STRIP_DEBUG): the prelude is minified. */
#include <stdio.h>
#include <stdlib.h>

#include "quickjs.h"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long size;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (p = malloc((size_t)size + 1)) && fread(p, 1, (size_t)size, f) == (size_t)size) {
        p[size] = 0;
        *n = (size_t)size;
    } else {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    size_t n, len;
    char *src;
    if (argc != 3) {
        fprintf(stderr, "usage: prelude-compile PRELUDE.js OUT.bc\n");
        return 2;
    }
    if (!(src = slurp(argv[1], &n))) {
        perror(argv[1]);
        return 1;
    }
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
    if (!ctx) {
        fprintf(stderr, "prelude-compile: no memory\n");
        return 1;
    }
    JS_SetStripInfo(rt, JS_STRIP_DEBUG);
    JSValue fn = JS_Eval(ctx, src, n, "<prelude>", JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(fn)) {
        JSValue e = JS_GetException(ctx);
        const char *s = JS_ToCString(ctx, e);
        fprintf(stderr, "prelude-compile: %s: %s\n", argv[1], s ? s : "error");
        return 1;
    }
    uint8_t *bc = JS_WriteObject(ctx, &len, fn, JS_WRITE_OBJ_BYTECODE);
    FILE *out = bc ? fopen(argv[2], "wb") : NULL;
    if (!out || fwrite(bc, 1, len, out) != len || fclose(out) != 0) {
        perror(argv[2]);
        return 1;
    }
    return 0;
}
