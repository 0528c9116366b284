/* SPDX-License-Identifier: MIT */
/* prelude.c - the prelude: what the sandbox's JavaScript has beyond QuickJS's own built-ins.
 *
 * prelude/prelude.js (the core-js modules QuickJS needs) is bundled by esbuild and compiled to
 * QuickJS bytecode (prelude/compile.c) at build time, into prelude_bc.h; pb_init runs it once,
 * so that it lives in the engine's snapshot and costs a call nothing. Also here: Error.isError,
 * which the engine does better than core-js (see below). */
#include "prelude.h"
#include "prelude_bc.h" /* generated: pb_prelude_bc[], pb_prelude_bc_LEN */

/* ---- Error.isError -------------------------------------------------------------------------
 * The engine knows an error by its internal class, as the proposal asks; core-js's can only
 * read Symbol.toStringTag, which any object may fake. */
static JSValue js_is_error(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    return JS_NewBool(ctx, argc > 0 && JS_IsError(ctx, argv[0]));
}

/* ---- set-up -------------------------------------------------------------------------------- */

int pb_prelude_install(JSContext *ctx)
{
    JSValue global = JS_GetGlobalObject(ctx);
    int rc = -1;
    JSValue error = JS_GetPropertyStr(ctx, global, "Error");
    int e = JS_DefinePropertyValueStr(ctx, error, "isError", JS_NewCFunction(ctx, js_is_error, "isError", 1),
                                      JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    JS_FreeValue(ctx, error);
    if (e < 0)
        goto out;
    /* bytecode, compiled at build time (prelude/compile.c) */
    JSValue fn = JS_ReadObject(ctx, pb_prelude_bc, pb_prelude_bc_LEN, JS_READ_OBJ_BYTECODE);
    if (JS_IsException(fn))
        goto out;
    JSValue r = JS_EvalFunction(ctx, fn);
    if (JS_IsException(r))
        goto out;
    JS_FreeValue(ctx, r);
    /* core-js's shared store stays reachable from its own functions: the name is not needed */
    JSAtom shared = JS_NewAtom(ctx, "__core-js_shared__");
    int d = JS_DeleteProperty(ctx, global, shared, 0);
    JS_FreeAtom(ctx, shared);
    if (d < 0)
        goto out;
    rc = 0;
out:
    JS_FreeValue(ctx, global);
    return rc;
}
