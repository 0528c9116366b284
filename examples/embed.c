/* SPDX-License-Identifier: MIT */
/* embed.c - plugbox in a C program: compile a rule once, run it over several inputs.
 * Build: see meson.build (target "embed"); run: ./embed */
#include <stdio.h>
#include <string.h>

#include "plugbox.h"

static void console(void *user, plugbox_console_level level, const char *text, size_t len)
{
    (void)user;
    fprintf(stderr, "[script:%d] %.*s\n", (int)level, (int)len, text);
}

int main(void)
{
    static const char rule[] =
        "function score(d) {\n"
        "  if (d.speed > 130) console.warn('fast:', d.id);\n"
        "  return { id: d.id, alert: d.speed > 130, points: Math.max(0, d.speed - 130) };\n"
        "}\n";
    static const char *inputs[] = {"{\"id\":1,\"speed\":90}", "{\"id\":2,\"speed\":151}", "{\"id\":3", NULL};

    plugbox_engine *engine;
    plugbox_program *prog = NULL;
    plugbox_sandbox *box = NULL;
    plugbox_options *opts = plugbox_options_new();
    if (plugbox_engine_new(&engine) != PLUGBOX_OK || !opts)
        return 1;
    plugbox_options_set_function(opts, "score");     /* call score(data) for every input */
    plugbox_options_set_filename(opts, "rule.js");
    plugbox_options_set_memory_limit(opts, 16u << 20); /* 16 MiB */
    plugbox_options_set_time_limit(opts, 50);         /* 50 ms a call */
    plugbox_options_set_console(opts, console, NULL);

    int rc = plugbox_program_new(engine, rule, strlen(rule), opts, &prog);
    if (rc == PLUGBOX_OK)
        rc = plugbox_sandbox_new(prog, opts, &box);
    for (int i = 0; rc == PLUGBOX_OK && inputs[i]; i++) {
        const char *out;
        size_t len;
        if (plugbox_sandbox_call(box, inputs[i], strlen(inputs[i]), &out, &len) == PLUGBOX_OK)
            printf("%s -> %.*s\n", inputs[i], (int)len, out);
        else
            printf("%s -> %s: %s\n", inputs[i], plugbox_err_name(plugbox_sandbox_error_kind(box)),
                   plugbox_sandbox_error_message(box));
    }
    if (rc != PLUGBOX_OK)
        fprintf(stderr, "%s\n", prog ? plugbox_program_error_message(prog) : plugbox_strerror(rc));
    plugbox_sandbox_free(box);
    plugbox_program_free(prog);
    plugbox_engine_free(engine);
    plugbox_options_free(opts);
    return rc == PLUGBOX_OK ? 0 : 1;
}
