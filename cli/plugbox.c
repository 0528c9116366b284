/* SPDX-License-Identifier: MIT */
/* plugbox - run untrusted JavaScript in a WebAssembly sandbox from the command line.
 *
 * Exit codes: 0 success; 1 uncaught exception or syntax error; 2 usage or input error;
 * 3 a limit (time, memory, stack); 4 the sandbox trapped or the host failed; 130 and 143
 * stopped by SIGINT or SIGTERM. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h" /* the library's validator, compiled in: map checks plugins' lines */
#include "plugbox.h"

#ifndef PB_QUICKJS_VERSION
#define PB_QUICKJS_VERSION "unknown"
#endif

enum { EXIT_EXCEPTION = 1, EXIT_USAGE = 2, EXIT_LIMIT = 3, EXIT_INTERNAL = 4 };

static const char main_usage[] =
    "Usage: plugbox <command> [options]\n"
    "\n"
    "Runs JavaScript that is not trusted inside a WebAssembly sandbox: no files, no network,\n"
    "no environment, bounded memory and time.\n"
    "\n"
    "Commands:\n"
    "  run        run a script or a WebAssembly plugin once over JSON data\n"
    "  map        run a script over every line of NDJSON, in parallel, results in order\n"
    "  compile    compile a WebAssembly plugin to native code ahead of time\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "  --version      show the version\n"
    "\n"
    "Run 'plugbox COMMAND --help' for the options of each.\n";

static const char compile_usage[] =
    "Usage: plugbox compile [OPTIONS] PLUGIN.wasm\n"
    "\n"
    "Compiles a WebAssembly plugin to native code (wasm2c, then the C compiler: $CC or cc) into\n"
    "an artifact that run, map, the C API and the GStreamer element load without a compiler.\n"
    "The module is checked first; compiling runs none of its code. An artifact is native code:\n"
    "load only artifacts you compiled yourself.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE      the artifact (default: PLUGIN.plugbox beside the module)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 success, 2 usage error, unreadable module or a module plugbox cannot run\n"
    "(the reason on stderr), 4 internal error.\n";

static const char map_usage[] =
    "Usage: plugbox map [OPTIONS] SCRIPT.js < in.ndjson > out.ndjson\n"
    "       plugbox map [OPTIONS] -e CODE < in.ndjson > out.ndjson\n"
    "\n"
    "Runs the script over every line of standard input (one JSON document each, the call's\n"
    "`data`) on all cores, and writes one line of JSON per input line, in input order\n"
    "(`null` for an undefined result). Each line starts from a fresh sandbox state.\n"
    "\n"
    "Options:\n"
    "  -e, --eval CODE        run CODE instead of a script file\n"
    "  --threads N            worker threads (default: the number of cores)\n"
    "  --call NAME            function style, as in run\n"
    "  --memory-limit N       per line, as in run (default 256M)\n"
    "  --time-limit MS        per line, as in run (default: none)\n"
    "  --config-file FILE     configuration, as in run\n"
    "  --config KEY=VALUE     as in run (repeatable)\n"
    "  --sample FILE          as in run; without it, the form of the first line is learned (the\n"
    "                         results are the same, lines of that form decode faster)\n"
    "  --max-line N           longest input line in bytes, with optional K, M or G suffix (default:\n"
    "                         the memory limit); a longer line is not read into memory: it is an\n"
    "                         input error for that line, and the next line runs\n"
    "  --on-error MODE        emit (default): the line's output is {\"error\":{\"kind\":...,\"message\":...}};\n"
    "                         skip: no output for that line; fail: stop, exit with the error's code\n"
    "  --keep-state           one stateful sandbox per thread instead of fresh state per line;\n"
    "                         after the last line, each thread's eos() (when the script defines\n"
    "                         it) writes its result as a line of its own: a summary\n"
    "  -h, --help             show this help\n"
    "\n"
    "A progress line goes to stderr when it is a terminal. Every output line is valid UTF-8 JSON.\n"
    "Exit status: 0 success (errors of lines included, unless --on-error fail: then the status\n"
    "run gives the first failing line), 1 the script's top level failed (an exception, a syntax\n"
    "error, --call naming no function), 2 usage error or unreadable input, 3 a limit the script\n"
    "cannot start within, 4 internal error. SIGINT (Ctrl-C) and SIGTERM stop the running lines\n"
    "at once: the output written is complete lines, in order, and the exit status is\n"
    "130 (SIGINT) or 143 (SIGTERM).\n";

static const char run_usage[] =
    "Usage: plugbox run [OPTIONS] SCRIPT.js\n"
    "       plugbox run [OPTIONS] -e CODE\n"
    "       plugbox run [OPTIONS] --call NAME PLUGIN.wasm\n"
    "       plugbox run [OPTIONS] COMMAND.wasm [-- ARGS...]\n"
    "\n"
    "Runs the script once in a fresh sandbox and prints its result as JSON.\n"
    "Eval style (default): the input is the global `data`, the result the script's completion\n"
    "value. Function style (--call NAME): the script's top level runs first, then NAME(data).\n"
    "A script with import or export statements is an ES module: it imports other modules by\n"
    "relative path from its directory, and each call runs its export NAME (--call NAME) or its\n"
    "default export.\n"
    "\n"
    "Options:\n"
    "  -e, --eval CODE        run CODE instead of a script file\n"
    "  --data FILE            JSON input, exposed as `data`; '-' reads standard input\n"
    "  --bytes FILE           any file, exposed as the Uint8Array `bytes` (function style: the\n"
    "                         second argument); '-' reads standard input\n"
    "  --call NAME            function style: evaluate the script, then call NAME(data)\n"
    "  --memory-limit N       sandbox memory in bytes, with optional K, M or G suffix (default 256M)\n"
    "  --time-limit MS        wall-clock limit in milliseconds (default: none)\n"
    "  --config-file FILE     JSON configuration: the script's deep-frozen global `config`\n"
    "  --config KEY=VALUE     sets config.KEY over the file; VALUE is JSON if it parses, else a\n"
    "                         string (repeatable: the last for a key wins)\n"
    "  --sample FILE          an input of the form the calls get (JSON): decoded once, into the\n"
    "                         snapshot, so that each call finds its keys and shapes made\n"
    "  -r, --raw              print a string result as raw text instead of JSON\n"
    "  -h, --help             show this help\n"
    "\n"
    "A script (or a module it imports) named *.ts, *.mts or *.cts is TypeScript: transpiled\n"
    "inside the sandbox first, types removed (not checked), errors at the file's own lines.\n"
    "A WebAssembly plugin (a module, or an artifact of 'plugbox compile') gets the data as its\n"
    "input and its output is printed as it is; a module is compiled on first use into the\n"
    "cache ($XDG_CACHE_HOME/plugbox). A WASI command (a module with _start, without --call)\n"
    "reads the data on its standard input and its standard output is the result; its standard\n"
    "error goes to stderr, a nonzero exit status is an error; ARGS after -- are its arguments.\n"
    "\n"
    "Output: the result as JSON and a newline on stdout, nothing when it is undefined;\n"
    "console output goes to stderr.\n"
    "Exit status: 0 success, 1 uncaught exception or syntax error, 2 usage or input error,\n"
    "3 time, memory or stack limit (data or bytes larger than the memory limit are refused\n"
    "before they are read whole), 4 sandbox trap or internal error, 130 stopped by SIGINT\n"
    "(Ctrl-C), 143 stopped by SIGTERM (the script is stopped at once; no result is printed).\n";

static const char prog_name[] = "plugbox";
static const char *usage_command = "run";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog_name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'plugbox %s --help' for more information.\n", usage_command);
    return EXIT_USAGE;
}

/* Reads a whole file ("-": standard input), at most limit bytes: a longer one is refused
 * without reading past that (a regular file's size is known before reading it). Returns NULL
 * with errno set on failure, EFBIG for a file over the limit. */
static char *read_file(const char *path, uint64_t limit, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return NULL;
    if (limit > SIZE_MAX / 2)
        limit = SIZE_MAX / 2;
    size_t cap = 1 << 16, n = 0;
    struct stat sb;
    int err = 0;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)) {
        if ((uint64_t)sb.st_size > limit)
            err = EFBIG;
        else
            cap = (size_t)sb.st_size + 1; /* one more byte shows that it did not grow */
    }
    char *buf = err ? NULL : malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n > limit) {
            err = EFBIG;
            break;
        }
        if (n < cap) {
            err = ferror(f) ? (errno ? errno : EIO) : 0;
            break;
        }
        size_t grown = cap * 2 < limit + 1 ? cap * 2 : limit + 1;
        char *nb = realloc(buf, grown + 1);
        if (!nb) {
            err = ENOMEM;
            break;
        }
        buf = nb;
        cap = grown;
    }
    if (!buf && !err)
        err = ENOMEM;
    if (f != stdin)
        fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Reads the file the command was given as `what` ("script", "data", "bytes") into *buf.
 * Returns -1, or the exit code once the error is printed. */
static int read_input(const char *what, const char *path, uint64_t limit, char **buf, size_t *len)
{
    if ((*buf = read_file(path, limit, len)))
        return -1;
    if (errno == EFBIG) {
        fprintf(stderr, "%s: out of memory: %s '%s' is larger than --memory-limit (%llu bytes)\n", prog_name, what,
                path, (unsigned long long)limit);
        return EXIT_LIMIT;
    }
    fprintf(stderr, "%s: cannot read %s '%s': %s\n", prog_name, what, path, strerror(errno));
    return EXIT_USAGE;
}

/* "64M" -> 67108864. Returns -1 when s is not a size. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    }
    if (shift && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_ms(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > (1ull << 40))
        return -1;
    *out = v;
    return 0;
}

static void console_to_stderr(void *user, plugbox_console_level level, const char *text, size_t len)
{
    (void)user;
    (void)level;
    fwrite(text, 1, len, stderr);
    fputc('\n', stderr);
}

static void put_utf8(FILE *f, uint32_t c)
{
    if (c < 0x80) {
        fputc((int)c, f);
    } else if (c < 0x800) {
        fputc((int)(0xc0 | c >> 6), f);
        fputc((int)(0x80 | (c & 0x3f)), f);
    } else if (c < 0x10000) {
        fputc((int)(0xe0 | c >> 12), f);
        fputc((int)(0x80 | ((c >> 6) & 0x3f)), f);
        fputc((int)(0x80 | (c & 0x3f)), f);
    } else {
        fputc((int)(0xf0 | c >> 18), f);
        fputc((int)(0x80 | ((c >> 12) & 0x3f)), f);
        fputc((int)(0x80 | ((c >> 6) & 0x3f)), f);
        fputc((int)(0x80 | (c & 0x3f)), f);
    }
}

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* --raw: a JSON string result printed as its text. The engine produced the JSON, so it is
 * well-formed; a lone surrogate is printed as U+FFFD. */
static void print_raw_string(FILE *f, const char *s, size_t n)
{
    const char *end = s + n - 1;
    for (const char *p = s + 1; p < end; p++) {
        if (*p != '\\') {
            fputc(*p, f);
            continue;
        }
        switch (*++p) {
        case 'b': fputc('\b', f); break;
        case 'f': fputc('\f', f); break;
        case 'n': fputc('\n', f); break;
        case 'r': fputc('\r', f); break;
        case 't': fputc('\t', f); break;
        case 'u': {
            uint32_t c = hex4(p + 1);
            p += 4;
            if (c >= 0xd800 && c < 0xdc00 && p + 6 < end && p[1] == '\\' && p[2] == 'u') {
                uint32_t lo = hex4(p + 3);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
            }
            put_utf8(f, c >= 0xd800 && c < 0xe000 ? 0xfffd : c);
            break;
        }
        default: fputc(*p, f); break;
        }
    }
}

static int exit_code_of(int status)
{
    switch (status) {
    case PLUGBOX_OK: return 0;
    case PLUGBOX_EXCEPTION:
    case PLUGBOX_SYNTAX: return EXIT_EXCEPTION;
    case PLUGBOX_INPUT:
    case PLUGBOX_ARGUMENT: return EXIT_USAGE;
    case PLUGBOX_TIMEOUT:
    case PLUGBOX_MEMORY:
    case PLUGBOX_STACK: return EXIT_LIMIT;
    default: return EXIT_INTERNAL;
    }
}

static int running_plugin; /* the program is a WebAssembly plugin's: its errors are not exceptions */

static int report(int status, const char *message, const char *stack, const char *data_name)
{
    if (status == PLUGBOX_EXCEPTION && running_plugin) {
        fprintf(stderr, "%s: the plugin failed: %s\n", prog_name, message);
    } else if (status == PLUGBOX_EXCEPTION || status == PLUGBOX_SYNTAX) {
        fprintf(stderr, "Uncaught %s\n%s", message, stack);
        if (*stack && stack[strlen(stack) - 1] != '\n')
            fputc('\n', stderr);
    } else if (status == PLUGBOX_INPUT && data_name) {
        fprintf(stderr, "%s: %s: %s\n", prog_name, data_name, message);
    } else {
        fprintf(stderr, "%s: %s\n", prog_name, message);
        if (*stack)
            fprintf(stderr, "%s%s", stack, stack[strlen(stack) - 1] == '\n' ? "" : "\n");
    }
    return exit_code_of(status);
}

/* A host resource ran out where the library has no handle to carry the message: errno says
 * which. Out of memory is most often the address space under a limit (ulimit -v). */
static int report_host(const char *what, int rc)
{
    int err = errno;
    fprintf(stderr, "%s: %s: %s: %s%s\n", prog_name, what, plugbox_strerror(rc), err ? strerror(err) : "?",
            err == ENOMEM ? " (each sandbox reserves 8 GiB of address space: is it limited, as by ulimit -v?)" : "");
    return exit_code_of(rc);
}

#define MAX_CONFIG_VALUES 256

struct run_opts {
    const char *script_path, *code, *data_path, *bytes_path, *function;
    const char *config_file;
    const char *sample_file;
    const char *config[MAX_CONFIG_VALUES]; /* KEY=VALUE, in order: the last for a key wins */
    int nconfig;
    uint64_t memory_limit, time_limit;
    int raw;
    /* map */
    int map, keep_state;
    unsigned threads;
    uint64_t max_line; /* 0: the memory limit */
    const char *on_error;
    char **args; /* after SCRIPT --: a WASI command's arguments */
    int nargs;
};

static int parse_run(int argc, char **argv, struct run_opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        char name[32];
        if (eq) {
            size_t n = (size_t)(eq - a);
            if (n >= sizeof name)
                return usage_error("unknown option '%s'", a);
            memcpy(name, a, n);
            name[n] = 0;
            val = eq + 1;
            a = name;
        }
        int takes = !strcmp(a, "-e") || !strcmp(a, "--eval") ||
                    (!o->map && (!strcmp(a, "--data") || !strcmp(a, "--bytes"))) ||
                    !strcmp(a, "--call") || !strcmp(a, "--memory-limit") || !strcmp(a, "--time-limit") ||
                    !strcmp(a, "--config") || !strcmp(a, "--config-file") || !strcmp(a, "--sample") ||
                    (o->map && (!strcmp(a, "--threads") || !strcmp(a, "--on-error") || !strcmp(a, "--max-line")));
        if (takes && !val) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", a);
            val = argv[++i];
        } else if (!takes && val) {
            return usage_error("option '%s' takes no value", a);
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(o->map ? map_usage : run_usage, stdout);
            return -1;
        } else if (o->map && !strcmp(a, "--threads")) {
            uint64_t n;
            if (parse_ms(val, &n) != 0 || n == 0 || n > 1024)
                return usage_error("--threads: invalid value '%s' (1 to 1024)", val);
            o->threads = (unsigned)n;
        } else if (o->map && !strcmp(a, "--on-error")) {
            if (strcmp(val, "emit") && strcmp(val, "skip") && strcmp(val, "fail"))
                return usage_error("--on-error: invalid mode '%s' (emit, skip or fail)", val);
            o->on_error = val;
        } else if (o->map && !strcmp(a, "--max-line")) {
            if (parse_size(val, &o->max_line) != 0)
                return usage_error("--max-line: invalid size '%s' (bytes, with an optional K, M or G suffix)", val);
        } else if (o->map && !strcmp(a, "--keep-state")) {
            o->keep_state = 1;
        } else if (!strcmp(a, "-e") || !strcmp(a, "--eval")) {
            o->code = val;
        } else if (!strcmp(a, "--data") && !o->map) {
            o->data_path = val;
        } else if (!strcmp(a, "--bytes") && !o->map) {
            o->bytes_path = val;
        } else if (!strcmp(a, "--call")) {
            if (!*val)
                return usage_error("--call needs a function name%s", "");
            o->function = val;
        } else if (!strcmp(a, "--config-file")) {
            o->config_file = val;
        } else if (!strcmp(a, "--sample")) {
            o->sample_file = val;
        } else if (!strcmp(a, "--config")) {
            const char *e = strchr(val, '=');
            if (!e || e == val)
                return usage_error("--config: expected KEY=VALUE, not '%s'", val);
            if (o->nconfig == MAX_CONFIG_VALUES)
                return usage_error("--config: at most %s values", "256");
            o->config[o->nconfig++] = val;
        } else if (!strcmp(a, "--memory-limit")) {
            if (parse_size(val, &o->memory_limit) != 0)
                return usage_error("--memory-limit: invalid size '%s' (bytes, with an optional K, M or G suffix)", val);
        } else if (!strcmp(a, "--time-limit")) {
            if (parse_ms(val, &o->time_limit) != 0)
                return usage_error("--time-limit: invalid value '%s' (milliseconds)", val);
        } else if (!o->map && (!strcmp(a, "-r") || !strcmp(a, "--raw"))) {
            o->raw = 1;
        } else if (!strcmp(a, "--")) {
            if (i + 1 < argc && !o->script_path)
                o->script_path = argv[++i];
            o->args = argv + i + 1; /* the rest: a command's arguments (checked once the script is read) */
            o->nargs = argc - i - 1;
            break;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (!o->script_path) {
            o->script_path = a;
        } else {
            return usage_error("unexpected argument '%s'", a);
        }
    }
    if (o->code && o->script_path)
        return usage_error("give either SCRIPT or -e CODE, not both%s", "");
    if (!o->code && !o->script_path)
        return usage_error("no script given%s", "");
    int from_stdin = (o->script_path && !strcmp(o->script_path, "-")) + (o->data_path && !strcmp(o->data_path, "-")) +
                     (o->bytes_path && !strcmp(o->bytes_path, "-"));
    from_stdin += o->config_file && !strcmp(o->config_file, "-");
    from_stdin += o->sample_file && !strcmp(o->sample_file, "-");
    if (o->map && from_stdin)
        return usage_error("map reads its lines from standard input: the script cannot come from there%s", "");
    if (from_stdin > 1)
        return usage_error("only one of the script, the data and the bytes can come from standard input%s", "");
    return 0;
}

/* What run and map share: the script read, an engine, the options, the compiled program. */
struct setup {
    plugbox_engine *engine;
    plugbox_options *opts;
    plugbox_program *program;
    char *script;
    int plugin; /* the script is a WebAssembly plugin */
};

/* A WebAssembly module, or an artifact of plugbox compile (its header's magic). */
static int is_plugin(const char *b, size_t n)
{
    return (n >= 4 && !memcmp(b, "\0asm", 4)) || (n >= 8 && !memcmp(b, "PLUGBOXA", 8));
}

static void setup_free(struct setup *st)
{
    plugbox_program_free(st->program);
    plugbox_engine_free(st->engine);
    plugbox_options_free(st->opts);
    free(st->script);
}

/* A module imports from its own directory: the script file's, or the current one for -e and
 * standard input. */
static int set_module_dir(plugbox_options *opts, const char *script_path)
{
    const char *slash = script_path && strcmp(script_path, "-") ? strrchr(script_path, '/') : NULL;
    if (!slash)
        return plugbox_options_set_module_dir(opts, ".");
    if (slash == script_path)
        return plugbox_options_set_module_dir(opts, "/");
    char *dir = strndup(script_path, (size_t)(slash - script_path));
    int rc = dir ? plugbox_options_set_module_dir(opts, dir) : PLUGBOX_HOST;
    free(dir);
    return rc;
}

/* s[0..n) as a JSON string, or NULL when out of memory. Control characters escaped; other
 * bytes as they are (the library checks that the result is UTF-8). */
static char *json_string(const char *s, size_t n, size_t *len)
{
    char *d = malloc(n * 6 + 3), *p = d;
    if (!d)
        return NULL;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *len = (size_t)(p - d);
    return d;
}

/* A file's text into the options with set (plugbox_options_set_config or _sample). Returns -1,
 * or the exit code (the error printed). */
static int set_file_text(const char *what, const char *path, uint64_t limit, plugbox_options *opts,
                         int (*set)(plugbox_options *, const char *, size_t))
{
    char *text;
    size_t len;
    int rc = read_input(what, path, limit, &text, &len);
    if (rc >= 0)
        return rc;
    rc = set(opts, text, len);
    free(text);
    if (rc == PLUGBOX_OK)
        return -1;
    char why[64];
    snprintf(why, sizeof why, "cannot keep the %s", what);
    return report_host(why, rc);
}

/* --sample FILE into the options. Returns -1, or the exit code (the error printed). */
static int set_sample(const struct run_opts *o, plugbox_options *opts)
{
    return o->sample_file ? set_file_text("sample", o->sample_file, o->memory_limit, opts, plugbox_options_set_sample)
                          : -1;
}

/* --config-file and --config KEY=VALUE into the options: VALUE is JSON if it parses, else a
 * string. Returns -1, or the exit code (the error printed). */
static int set_config(const struct run_opts *o, plugbox_options *opts)
{
    int file_rc;
    if (o->config_file &&
        (file_rc = set_file_text("config file", o->config_file, o->memory_limit, opts, plugbox_options_set_config)) >= 0)
        return file_rc;
    for (int i = 0; i < o->nconfig; i++) {
        const char *kv = o->config[i], *eq = strchr(kv, '=');
        char *key = strndup(kv, (size_t)(eq - kv));
        if (!key)
            return report_host("cannot keep the configuration", PLUGBOX_HOST);
        int rc = plugbox_options_set_config_value(opts, key, eq + 1, strlen(eq + 1));
        if (rc == PLUGBOX_INPUT) {
            size_t len;
            char *s = json_string(eq + 1, strlen(eq + 1), &len);
            rc = s ? plugbox_options_set_config_value(opts, key, s, len) : PLUGBOX_HOST;
            free(s);
            if (rc == PLUGBOX_INPUT) {
                free(key);
                return usage_error("--config: the value of '%s' is not valid UTF-8", kv);
            }
        }
        free(key);
        if (rc != PLUGBOX_OK)
            return report_host("cannot keep the configuration", rc);
    }
    return -1;
}

/* Returns -1 when everything is ready, else the exit code (the error printed). */
static int setup(const struct run_opts *o, struct setup *st)
{
    size_t script_len = 0;
    const char *script_name = o->script_path ? o->script_path : "<eval>";
    memset(st, 0, sizeof *st);
    int rc = o->script_path ? read_input("script", o->script_path, o->memory_limit, &st->script, &script_len) : -1;
    if (rc >= 0)
        return rc;
    st->opts = plugbox_options_new();
    if (!st->opts || plugbox_options_set_memory_limit(st->opts, o->memory_limit) ||
        plugbox_options_set_time_limit(st->opts, o->time_limit) || plugbox_options_set_function(st->opts, o->function) ||
        plugbox_options_set_filename(st->opts, script_name) || plugbox_options_set_stateful(st->opts, o->keep_state) ||
        plugbox_options_set_console(st->opts, console_to_stderr, NULL) || set_module_dir(st->opts, o->script_path)) {
        fprintf(stderr, "%s: out of memory\n", prog_name);
        return EXIT_INTERNAL;
    }
    if ((rc = set_config(o, st->opts)) >= 0 || (rc = set_sample(o, st->opts)) >= 0)
        return rc;
    rc = plugbox_engine_new(&st->engine);
    if (rc != PLUGBOX_OK)
        return report_host("cannot start the engine", rc);
    st->plugin = running_plugin = !o->code && is_plugin(st->script, script_len);
    if (o->nargs && !st->plugin)
        return usage_error("unexpected argument '%s' (arguments after -- are a WebAssembly command's)", o->args[0]);
    if (o->nargs) {
        const char **v = malloc(sizeof *v * (size_t)(o->nargs + 1));
        if (!v) {
            fprintf(stderr, "%s: out of memory\n", prog_name);
            return EXIT_INTERNAL;
        }
        const char *base = strrchr(o->script_path, '/');
        v[0] = base ? base + 1 : o->script_path;
        for (int i = 0; i < o->nargs; i++)
            v[i + 1] = o->args[i];
        rc = plugbox_options_set_arguments(st->opts, (size_t)o->nargs + 1, v);
        free(v);
        if (rc != PLUGBOX_OK)
            return report_host("cannot keep the arguments", rc);
    }
    if (st->plugin)
        rc = plugbox_program_new_plugin(st->engine, st->script, script_len, st->opts, &st->program);
    else
        rc = plugbox_program_new(st->engine, o->code ? o->code : st->script, o->code ? strlen(o->code) : script_len,
                                 st->opts, &st->program);
    if (rc != PLUGBOX_OK && !st->program)
        return report_host("cannot compile the script", rc);
    if (rc != PLUGBOX_OK) {
        /* an input error of the program is its configuration's or its sample's: named by file */
        const char *msg = plugbox_program_error_message(st->program);
        int of_sample = !strncmp(msg, "sample ", 7);
        const char *file = of_sample ? o->sample_file : o->config_file;
        const char *flag = of_sample ? "--sample" : "--config-file";
        return report(rc, msg, plugbox_program_error_stack(st->program), file && strcmp(file, "-") ? file : flag);
    }
    return -1;
}

/* Reports why a sandbox (or a pool's) could not be made. */
static int report_sandbox_error(int rc, const struct setup *st)
{
    if (rc == PLUGBOX_MEMORY) {
        fprintf(stderr, "%s: out of memory: --memory-limit is below the %zu bytes the engine and script need\n",
                prog_name, plugbox_program_footprint(st->program));
        return EXIT_LIMIT;
    }
    if (rc == PLUGBOX_HOST)
        return report_host("cannot make the sandbox", rc);
    return report(rc, plugbox_strerror(rc), "", NULL);
}

/* ---- signals ------------------------------------------------------------------------------- */

/* SIGINT and SIGTERM are blocked in every thread and taken by one thread of their own, which
 * stops the work in progress through the library (plugbox_sandbox_interrupt,
 * plugbox_pool_cancel: both are made for other threads). The command then writes only whole
 * results and ends with 128 + the signal. Before there is work to stop (reading the input,
 * compiling the script) nothing has been written, and a signal ends the process at once;
 * so does a second signal. */
static struct {
    pthread_mutex_t lock;
    sigset_t set;
    int signo;            /* the first signal taken, 0 if none */
    void (*stop)(void *); /* stops the work in progress; NULL before it starts */
    void *arg;
    int done;             /* the work is over: a signal is only noted */
} sig = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int signal_exit_code(int signo)
{
    fprintf(stderr, "%s: stopped by %s\n", prog_name, signo == SIGINT ? "SIGINT" : "SIGTERM");
    return 128 + signo;
}

static void *signal_thread(void *unused)
{
    (void)unused;
    /* a stop can come just before a call starts, when there is nothing yet to stop: it is
     * made again every 100 ms until the work is over */
    const struct timespec again = {0, 100 * 1000 * 1000};
    for (;;) {
        pthread_mutex_lock(&sig.lock);
        int stopping = sig.signo && sig.stop && !sig.done;
        pthread_mutex_unlock(&sig.lock);
        int s = sigtimedwait(&sig.set, NULL, stopping ? &again : NULL);
        pthread_mutex_lock(&sig.lock);
        if (s > 0 && (sig.signo || (!sig.stop && !sig.done)))
            _exit(signal_exit_code(s));
        if (s > 0)
            sig.signo = s;
        if (sig.signo && sig.stop && !sig.done)
            sig.stop(sig.arg);
        pthread_mutex_unlock(&sig.lock);
    }
    return NULL;
}

/* Before any other thread starts, so that every thread inherits the mask. A signal that the
 * parent left ignored stays ignored (shells do so with SIGINT for background jobs). */
static void signals_start(void)
{
    static const int taken[] = {SIGINT, SIGTERM};
    pthread_t t;
    sigemptyset(&sig.set);
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) {
        struct sigaction sa;
        if (sigaction(taken[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
            sigaddset(&sig.set, taken[i]);
    }
    pthread_sigmask(SIG_BLOCK, &sig.set, NULL);
    if (pthread_create(&t, NULL, signal_thread, NULL) == 0)
        pthread_detach(t);
    else
        pthread_sigmask(SIG_UNBLOCK, &sig.set, NULL); /* then they end the process as usual */
}

/* The work starts: a signal from now on calls stop(arg), from the signal thread. */
static void signals_stop_with(void (*stop)(void *), void *arg)
{
    pthread_mutex_lock(&sig.lock);
    sig.stop = stop;
    sig.arg = arg;
    pthread_mutex_unlock(&sig.lock);
}

/* The work is over (what stop needs may be freed): a signal from now on is only noted (the
 * output is whole; a second signal still ends the process at once). Returns the signal taken
 * during the work, 0 if none. */
static int signals_work_done(void)
{
    pthread_mutex_lock(&sig.lock);
    sig.done = 1;
    int s = sig.signo;
    pthread_mutex_unlock(&sig.lock);
    return s;
}

static void interrupt_sandbox(void *box) { plugbox_sandbox_interrupt(box); }

static int cmd_run(int argc, char **argv)
{
    struct run_opts o = {.memory_limit = 256u << 20};
    int rc = parse_run(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;

    char *data = NULL, *bytes = NULL;
    size_t data_len = 0, bytes_len = 0;
    const char *data_name = o.data_path ? (strcmp(o.data_path, "-") ? o.data_path : "<stdin>") : NULL;
    struct setup st = {0};
    plugbox_sandbox *box = NULL;
    int exit_code = o.data_path ? read_input("data", o.data_path, o.memory_limit, &data, &data_len) : -1;
    if (exit_code < 0 && o.bytes_path)
        exit_code = read_input("bytes", o.bytes_path, o.memory_limit, &bytes, &bytes_len);
    if (exit_code < 0)
        exit_code = setup(&o, &st);
    if (exit_code >= 0)
        goto out;
    rc = plugbox_sandbox_new(st.program, st.opts, &box);
    if (rc != PLUGBOX_OK) {
        exit_code = report_sandbox_error(rc, &st);
        goto out;
    }
    const char *out;
    size_t out_len;
    signals_stop_with(interrupt_sandbox, box);
    if (o.bytes_path)
        rc = plugbox_sandbox_call_bytes(box, data, data_len, bytes, bytes_len, PLUGBOX_BYTES_READ, &out, &out_len);
    else
        rc = plugbox_sandbox_call(box, data, data_len, &out, &out_len);
    int signo = signals_work_done();
    if (signo) { /* nothing is printed: the result may be the stopped call's error */
        exit_code = signal_exit_code(signo);
        goto out;
    }
    if (rc != PLUGBOX_OK) {
        exit_code = report(rc, plugbox_sandbox_error_message(box), plugbox_sandbox_error_stack(box), data_name);
        goto out;
    }
    if (out && st.plugin) {
        fwrite(out, 1, out_len, stdout); /* the plugin's bytes as they are */
    } else if (out) {
        if (o.raw && out[0] == '"')
            print_raw_string(stdout, out, out_len);
        else
            fwrite(out, 1, out_len, stdout);
        fputc('\n', stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write the result: %s\n", prog_name, strerror(errno));
        exit_code = EXIT_USAGE;
        goto out;
    }
    exit_code = 0;
out:
    plugbox_sandbox_free(box);
    setup_free(&st);
    free(data);
    free(bytes);
    return exit_code;
}

/* ---- map's input: lines of standard input, none buffered past --max-line ------------------- */

enum { LINE_OK, LINE_TOO_LONG, LINE_END, LINE_ERROR, LINE_STOPPED };

struct reader {
    int fd, wake_fd;        /* wake_fd turns readable when the reader must stop */
    char *buf;
    size_t cap, start, end; /* buf[start, end): read and not yet returned */
    size_t scanned;         /* buf[start, scanned) holds no newline */
    size_t max_line;
    int eof;
};

/* Waits for input or a wake-up, and reads what came into buf[end, cap). Returns LINE_OK,
 * LINE_END at the end of the input, LINE_ERROR (errno set) or LINE_STOPPED. */
static int reader_fill(struct reader *r)
{
    struct pollfd p[2] = {{.fd = r->fd, .events = POLLIN}, {.fd = r->wake_fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0)
        return errno == EINTR ? LINE_OK : LINE_ERROR;
    if (p[1].revents)
        return LINE_STOPPED;
    ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? LINE_OK : LINE_ERROR;
    if (n == 0) {
        r->eof = 1;
        return LINE_END;
    }
    r->end += (size_t)n;
    return LINE_OK;
}

/* Makes room after the unread bytes: moves them to the front, or grows the buffer up to
 * max_line + 1 bytes (64 KiB at least). Returns -1 when out of memory. */
static int reader_room(struct reader *r)
{
    if (r->start) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->scanned -= r->start;
        r->start = 0;
    }
    if (r->end < r->cap)
        return 0;
    size_t most = r->max_line < (1u << 16) ? (1u << 16) : r->max_line + 1;
    size_t cap = r->cap < most / 2 ? r->cap * 2 : most;
    char *b = cap > r->cap ? realloc(r->buf, cap) : NULL;
    if (!b)
        return -1;
    r->buf = b;
    r->cap = cap;
    return 0;
}

/* Reads past the end of a line that is too long, keeping none of it; *consumed grows by its
 * bytes. Returns LINE_TOO_LONG, LINE_ERROR or LINE_STOPPED. */
static int reader_skip(struct reader *r, uint64_t *consumed)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl) {
            *consumed += (uint64_t)(nl + 1 - (r->buf + r->start));
            r->start = r->scanned = (size_t)(nl + 1 - r->buf);
            return LINE_TOO_LONG;
        }
        *consumed += r->end - r->start;
        r->start = r->end = r->scanned = 0;
        int rc = reader_fill(r);
        if (rc == LINE_END)
            return LINE_TOO_LONG; /* the last line; the next call finds the end */
        if (rc != LINE_OK)
            return rc;
    }
}

/* The next line, without its newline and carriage return, in *line and *len (valid until the
 * next call); *consumed is its size in the input. Returns LINE_OK, LINE_TOO_LONG (a line over
 * max_line bytes, skipped), LINE_END, LINE_ERROR (errno set) or LINE_STOPPED. */
static int reader_next(struct reader *r, const char **line, size_t *len, uint64_t *consumed)
{
    *consumed = 0;
    for (;;) {
        char *nl = memchr(r->buf + r->scanned, '\n', r->end - r->scanned);
        size_t n = (nl ? (size_t)(nl - r->buf) : r->end) - r->start;
        if (n > r->max_line)
            return reader_skip(r, consumed);
        if (nl || (r->eof && n)) {
            *line = r->buf + r->start;
            *consumed = n + (nl != NULL);
            *len = n && (*line)[n - 1] == '\r' ? n - 1 : n;
            r->start = r->scanned = r->start + *consumed;
            return LINE_OK;
        }
        if (r->eof)
            return LINE_END;
        r->scanned = r->end;
        if (reader_room(r) != 0) {
            errno = ENOMEM;
            return LINE_ERROR;
        }
        int rc = reader_fill(r);
        if (rc != LINE_OK && rc != LINE_END)
            return rc;
    }
}

/* ---- map ------------------------------------------------------------------------------------ */

struct line_info {         /* what the reader knows of a line in flight */
    uint64_t bytes;        /* its size in the input, for the percentage */
    int too_long;          /* over --max-line: not run, its result is an input error */
};

struct map_state {
    plugbox_pool *pool;       /* made once the first line is read (map_start) */
    atomic_int pool_ready;    /* pool is set: map_stop may cancel it */
    struct setup *st;
    unsigned threads;
    int learn;                /* the program may learn the input's form from the first line */
    int start_code;           /* the exit code when the pool could not be made, else -1 */
    int mode;                 /* 'e'mit, 's'kip, 'f'ail */
    int failed_code;          /* exit code of the first error in fail mode, 0 if none */
    int stop_output;          /* after a failure or a stop nothing more is written */
    int write_error;
    atomic_int stopping;      /* map_stop was called: the reader reads no more */
    int wake[2];              /* a pipe: map_stop wakes the reader through it */
    uint64_t max_line;
    uint64_t lines, errors;
    off_t total_bytes;        /* of a regular file on stdin, else 0 */
    uint64_t bytes_done;
    struct line_info *info;   /* ring of the lines in flight, by index */
    size_t ring;
    int progress;             /* stderr is a terminal */
    double start, last_draw;
};

/* Stops everything: running lines end interrupted, queued ones do not run, and the reader
 * wakes up and reads no more. From any thread (the signal thread, a result callback). */
static void map_stop(void *arg)
{
    struct map_state *m = arg;
    atomic_store(&m->stopping, 1);
    if (atomic_load(&m->pool_ready))
        plugbox_pool_cancel(m->pool);
    ssize_t n = write(m->wake[1], "", 1); /* when the pipe is full, the reader is awake already */
    (void)n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* s is valid UTF-8 (the library's messages are); every control character is escaped. */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void draw_progress(struct map_state *m, int final)
{
    double t = now_s(), el = t - m->start;
    if (!final && t - m->last_draw < 0.1)
        return;
    m->last_draw = t;
    double rate = el > 0 ? m->lines / el : 0;
    if (final) {
        fprintf(stderr, "\r\033[K%llu lines, %llu errors, %.1f s (%.0f lines/s)\n", (unsigned long long)m->lines,
                (unsigned long long)m->errors, el, rate);
    } else if (m->total_bytes > 0) {
        double frac = (double)m->bytes_done / (double)m->total_bytes;
        double eta = frac > 0 ? el / frac - el : 0;
        fprintf(stderr, "\r\033[K%5.1f%%  %llu lines  %.0f lines/s  %.1f s  ETA %.0f s", frac * 100,
                (unsigned long long)m->lines, rate, el, eta);
    } else {
        fprintf(stderr, "\r\033[K%llu lines  %.0f lines/s  %.1f s", (unsigned long long)m->lines, rate, el);
    }
}

/* Writes the outcome of line index + 1 as --on-error says. */
static void put_outcome(struct map_state *m, uint64_t index, int status, const char *json, size_t len,
                        const char *message)
{
    m->lines++;
    if (status == PLUGBOX_OK) {
        if (json)
            fwrite(json, 1, len, stdout);
        else
            fputs("null", stdout);
        fputc('\n', stdout);
        return;
    }
    m->errors++;
    if (m->mode == 'e') {
        char kind[32];
        snprintf(kind, sizeof kind, "%s", plugbox_err_name(status));
        for (char *k = kind; *k; k++)
            *k = (char)(*k | 0x20);
        fputs("{\"error\":{\"kind\":", stdout);
        put_json_string(stdout, kind);
        fputs(",\"message\":", stdout);
        put_json_string(stdout, message);
        fputs("}}\n", stdout);
    } else if (m->mode == 'f') {
        fprintf(stderr, "%s: line %llu: %s\n", prog_name, (unsigned long long)index + 1, message);
        m->failed_code = exit_code_of(status);
        m->stop_output = 1;
        map_stop(m);
    }
}

/* map writes a line per input line: a plugin's output must be one line of UTF-8 JSON */
static int plugin_line_ok(const char *out, size_t len)
{
    pb__json_error e;
    return out && len && !memchr(out, '\n', len) && !memchr(out, '\r', len) && pb__json_check(out, len, &e) == PB__JSON_OK;
}

static void on_result(void *user, uint64_t index, const plugbox_result *r)
{
    struct map_state *m = user;
    const struct line_info *li = &m->info[index % m->ring];
    m->bytes_done += li->bytes;
    if (m->stop_output)
        return;
    if (r->status == PLUGBOX_INTERRUPTED && atomic_load(&m->stopping)) {
        m->stop_output = 1; /* stopped: what was written stays, complete and in order */
        return;
    }
    if (li->too_long) {
        char message[128];
        snprintf(message, sizeof message, "line %llu is longer than --max-line (%llu bytes)",
                 (unsigned long long)index + 1, (unsigned long long)m->max_line);
        put_outcome(m, index, PLUGBOX_INPUT, NULL, 0, message);
    } else if (r->status == PLUGBOX_OK && running_plugin && !plugin_line_ok(r->json, r->len)) {
        put_outcome(m, index, PLUGBOX_EXCEPTION, NULL, 0, "the plugin's output is not one line of JSON");
    } else {
        put_outcome(m, index, r->status, r->json, r->len, *r->message ? r->message : plugbox_strerror(r->status));
    }
    if (ferror(stdout) && !m->write_error) {
        m->write_error = 1;
        m->stop_output = 1;
        map_stop(m);
    }
    if (m->progress)
        draw_progress(m, 0);
}

/* --keep-state: after the last line, each thread's eos() when the script defines it, its
 * result written as a line of its own (none for undefined), errors as a line's are */
static void map_eos(struct map_state *m, unsigned threads)
{
    plugbox_result *r = calloc(threads, sizeof *r);
    unsigned n = 0;
    if (!r || plugbox_pool_call_function(m->pool, "eos", NULL, 0, r, threads, &n) != PLUGBOX_OK) {
        free(r);
        fprintf(stderr, "%s: cannot call eos(): out of memory\n", prog_name);
        m->failed_code = EXIT_INTERNAL;
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        if (r[i].status != PLUGBOX_ARGUMENT && (r[i].status != PLUGBOX_OK || r[i].json) && !m->stop_output)
            put_outcome(m, m->lines, r[i].status, r[i].json, r[i].len,
                        *r[i].message ? r[i].message : plugbox_strerror(r[i].status));
        plugbox_result_clear(&r[i]);
    }
    free(r);
}

/* Lines up to this long teach the program their form; a longer first line is not decoded
 * twice (the form is what a call saves, and a long line's decoding costs more than that). */
#define LEARN_MAX (64u << 10)

/* Makes the pool, once the first line (NULL: none) is known. Fresh calls start from the
 * program's snapshot, which knows no input: when the first line is JSON, the program learns
 * its keys and its objects' shapes from it (plugbox_program_learn), so that every line of the
 * same form finds them made (a 1 KB GeoJSON line: ~20% of its call's time). No script sees
 * it; where learning fails, the program stays as it was. Returns 0, or -1 with m->start_code
 * set (the error printed). */
static int map_start(struct map_state *m, const char *first, size_t len)
{
    plugbox_program *learned = NULL;
    if (m->learn && first && len <= LEARN_MAX &&
        plugbox_program_learn(m->st->program, first, len, m->st->opts, &learned) == PLUGBOX_OK) {
        plugbox_program_free(m->st->program);
        m->st->program = learned;
    } else {
        plugbox_program_free(learned);
    }
    int rc = plugbox_pool_new(m->st->program, m->st->opts, m->threads, m->ring, on_result, m, &m->pool);
    if (rc != PLUGBOX_OK) {
        m->start_code = report_sandbox_error(rc, m->st);
        return -1;
    }
    atomic_store(&m->pool_ready, 1);
    if (atomic_load(&m->stopping)) /* a stop that came before there was a pool to cancel */
        plugbox_pool_cancel(m->pool);
    return 0;
}

/* Submits every line of standard input to the pool, until its end or a stop. Returns 0, or
 * errno when the input could not be read. */
static int map_lines(struct map_state *m)
{
    struct reader r = {.fd = 0, .wake_fd = m->wake[0], .cap = 1 << 16, .max_line = m->max_line};
    if (r.max_line > SIZE_MAX / 2)
        r.max_line = SIZE_MAX / 2;
    if (!(r.buf = malloc(r.cap)))
        return ENOMEM;
    int err = 0;
    for (uint64_t index = 0; !atomic_load(&m->stopping); index++) {
        const char *line;
        size_t len;
        uint64_t consumed;
        int got = reader_next(&r, &line, &len, &consumed);
        if (got == LINE_ERROR)
            err = errno;
        if (got != LINE_OK && got != LINE_TOO_LONG)
            break;
        if (!m->pool && map_start(m, got == LINE_OK ? line : NULL, got == LINE_OK ? len : 0) != 0)
            break;
        struct line_info *li = &m->info[index % m->ring]; /* the window keeps it for this line */
        li->bytes = consumed;
        li->too_long = got == LINE_TOO_LONG;
        /* a line too long is not run: an empty input stands in for it (it fails the input
         * check at once) and on_result writes the line's own error in its place */
        if (plugbox_pool_submit(m->pool, li->too_long ? "" : line, li->too_long ? 0 : len) != PLUGBOX_OK) {
            err = ENOMEM;
            break;
        }
    }
    if (atomic_load(&m->stopping)) /* a line submitted while the stop was under way */
        plugbox_pool_cancel(m->pool);
    free(r.buf);
    return err;
}

static int cmd_map(int argc, char **argv)
{
    struct run_opts o = {.memory_limit = 256u << 20, .map = 1, .on_error = "emit"};
    usage_command = "map";
    int rc = parse_run(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct setup st;
    int exit_code = setup(&o, &st);
    if (exit_code >= 0) {
        setup_free(&st);
        return exit_code;
    }

    struct map_state m = {.mode = o.on_error[0], .max_line = o.max_line ? o.max_line : o.memory_limit,
                          .progress = isatty(2), .start = now_s(), .st = &st, .start_code = -1,
                          .learn = !st.plugin && !o.sample_file && !o.keep_state};
    struct stat sb;
    if (fstat(0, &sb) == 0 && S_ISREG(sb.st_mode))
        m.total_bytes = sb.st_size;
    unsigned threads = o.threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    m.threads = threads;
    m.ring = 64 * (size_t)threads;
    m.info = calloc(m.ring, sizeof *m.info);
    if (!m.info || pipe2(m.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        m.wake[0] = m.wake[1] = -1;
        exit_code = report_sandbox_error(PLUGBOX_HOST, &st);
        goto out;
    }

    signals_stop_with(map_stop, &m);
    int read_error = map_lines(&m);
    if (!m.pool && m.start_code < 0)
        map_start(&m, NULL, 0); /* no line came: the pool all the same, for eos and the totals */
    if (m.start_code >= 0) {
        signals_work_done();
        exit_code = m.start_code;
        goto out;
    }
    plugbox_pool_wait(m.pool);
    if (o.keep_state && !atomic_load(&m.stopping) && !m.stop_output)
        map_eos(&m, threads);
    int signo = signals_work_done();
    plugbox_pool_free(m.pool);

    exit_code = m.failed_code;
    if (fflush(stdout) != 0 || ferror(stdout) || m.write_error) {
        fprintf(stderr, "%s: cannot write the output: %s\n", prog_name, strerror(errno ? errno : EIO));
        exit_code = EXIT_USAGE;
    } else if (read_error && !signo) {
        fprintf(stderr, "%s: cannot read the input: %s\n", prog_name, strerror(read_error));
        exit_code = EXIT_USAGE;
    }
    if (m.progress)
        draw_progress(&m, 1);
    if (signo)
        exit_code = signal_exit_code(signo);
out:
    if (m.wake[0] >= 0) {
        close(m.wake[0]);
        close(m.wake[1]);
    }
    free(m.info);
    setup_free(&st);
    return exit_code;
}

/* ---- compile ---------------------------------------------------------------------------------- */

static int cmd_compile(int argc, char **argv)
{
    usage_command = "compile";
    const char *in = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(compile_usage, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", a);
            out = argv[++i];
        } else if (!strncmp(a, "--output=", 9)) {
            out = a + 9;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else {
            return usage_error("unexpected argument '%s'", a);
        }
    }
    if (!in)
        return usage_error("no module given%s", "");
    char *def = NULL;
    if (!out) {
        size_t n = strlen(in);
        if (n > 5 && !strcmp(in + n - 5, ".wasm"))
            n -= 5;
        if (!(def = malloc(n + 9))) {
            fprintf(stderr, "%s: out of memory\n", prog_name);
            return EXIT_INTERNAL;
        }
        memcpy(def, in, n);
        strcpy(def + n, ".plugbox");
        out = def;
    }
    char *wasm = NULL;
    size_t len = 0;
    plugbox_engine *engine = NULL;
    plugbox_program *prog = NULL;
    int code = read_input("module", in, (uint64_t)1 << 32, &wasm, &len);
    if (code >= 0)
        goto done;
    if (len < 4 || memcmp(wasm, "\0asm", 4)) {
        fprintf(stderr, "%s: %s: not a WebAssembly module (no \\0asm at its start)\n", prog_name, in);
        code = EXIT_USAGE;
        goto done;
    }
    int rc = plugbox_engine_new(&engine);
    if (rc != PLUGBOX_OK) {
        code = report_host("cannot start the engine", rc);
        goto done;
    }
    rc = plugbox_program_new_plugin(engine, wasm, len, NULL, &prog);
    if (rc != PLUGBOX_OK && !prog) {
        code = report_host("cannot compile the module", rc);
        goto done;
    }
    if (rc != PLUGBOX_OK && rc != PLUGBOX_HOST && !plugbox_program_save(prog, out)) {
        /* compiled, but it cannot run as it is here (host functions it imports are not granted,
         * its initialisation failed under the default limits): the artifact stands */
        fprintf(stderr, "%s: warning: %s\n", prog_name, plugbox_program_error_message(prog));
        rc = PLUGBOX_OK;
    } else if (rc != PLUGBOX_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog_name, in, plugbox_program_error_message(prog));
        code = rc == PLUGBOX_HOST ? EXIT_INTERNAL : EXIT_USAGE;
        goto done;
    } else if (plugbox_program_save(prog, out) != PLUGBOX_OK) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog_name, out, strerror(errno));
        code = EXIT_USAGE;
        goto done;
    }
    code = 0;
done:
    plugbox_program_free(prog);
    plugbox_engine_free(engine);
    free(wasm);
    free(def);
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        /* the command's version, and the library's when another one runs under it */
        if (plugbox_version() == PLUGBOX_VERSION_NUMBER)
            printf("plugbox %s (QuickJS %s in WebAssembly, via wasm2c)\n", PLUGBOX_VERSION, PB_QUICKJS_VERSION);
        else
            printf("plugbox %s with libplugbox %s (QuickJS %s in WebAssembly, via wasm2c)\n", PLUGBOX_VERSION,
                   plugbox_version_string(), PB_QUICKJS_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run") || !strcmp(cmd, "map"))
        signals_start();
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "map"))
        return cmd_map(argc - 2, argv + 2);
    if (!strcmp(cmd, "compile"))
        return cmd_compile(argc - 2, argv + 2);
    fprintf(stderr, "plugbox: unknown command '%s'\nTry 'plugbox --help' for more information.\n", cmd);
    return EXIT_USAGE;
}
