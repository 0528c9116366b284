/* plugbox - run untrusted JavaScript in a WebAssembly sandbox from the command line.
 *
 * Exit codes: 0 success; 1 uncaught exception or syntax error; 2 usage or input error;
 * 3 a limit (time, memory, stack); 4 the sandbox trapped or the host failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "  run        run a script once over JSON data\n"
    "  map        run a script over every line of NDJSON, in parallel, results in order\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "  --version      show the version\n"
    "\n"
    "Run 'plugbox run --help' or 'plugbox map --help' for the options of each.\n";

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
    "  --on-error MODE        emit (default): the line's output is {\"error\":{\"kind\":...,\"message\":...}};\n"
    "                         skip: no output for that line; fail: stop, exit with the error's code\n"
    "  --keep-state           one stateful sandbox per thread instead of fresh state per line\n"
    "  -h, --help             show this help\n"
    "\n"
    "A progress line goes to stderr when it is a terminal. Ctrl-C stops cleanly: the output\n"
    "written so far is complete and in order, and the exit status is 130.\n";

static const char run_usage[] =
    "Usage: plugbox run [OPTIONS] SCRIPT.js\n"
    "       plugbox run [OPTIONS] -e CODE\n"
    "\n"
    "Runs the script once in a fresh sandbox and prints its result as JSON.\n"
    "Eval style (default): the input is the global `data`, the result the script's completion\n"
    "value. Function style (--call NAME): the script's top level runs first, then NAME(data).\n"
    "\n"
    "Options:\n"
    "  -e, --eval CODE        run CODE instead of a script file\n"
    "  --data FILE            JSON input, exposed as `data`; '-' reads standard input\n"
    "  --bytes FILE           any file, exposed as the Uint8Array `bytes` (function style: the\n"
    "                         second argument); '-' reads standard input\n"
    "  --call NAME            function style: evaluate the script, then call NAME(data)\n"
    "  --memory-limit N       sandbox memory in bytes, with optional K, M or G suffix (default 256M)\n"
    "  --time-limit MS        wall-clock limit in milliseconds (default: none)\n"
    "  -r, --raw              print a string result as raw text instead of JSON\n"
    "  -h, --help             show this help\n"
    "\n"
    "Output: the result as JSON and a newline on stdout, nothing when it is undefined;\n"
    "console output goes to stderr.\n"
    "Exit status: 0 success, 1 uncaught exception or syntax error, 2 usage or input error,\n"
    "3 time, memory or stack limit (data or bytes larger than the memory limit are refused\n"
    "before they are read whole), 4 sandbox trap or internal error.\n";

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

static int report(int status, const char *message, const char *stack, const char *data_name)
{
    if (status == PLUGBOX_EXCEPTION || status == PLUGBOX_SYNTAX) {
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

struct run_opts {
    const char *script_path, *code, *data_path, *bytes_path, *function;
    uint64_t memory_limit, time_limit;
    int raw;
    /* map */
    int map, keep_state;
    unsigned threads;
    const char *on_error;
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
                    (o->map && (!strcmp(a, "--threads") || !strcmp(a, "--on-error")));
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
        } else if (!strcmp(a, "--memory-limit")) {
            if (parse_size(val, &o->memory_limit) != 0)
                return usage_error("--memory-limit: invalid size '%s' (bytes, with an optional K, M or G suffix)", val);
        } else if (!strcmp(a, "--time-limit")) {
            if (parse_ms(val, &o->time_limit) != 0)
                return usage_error("--time-limit: invalid value '%s' (milliseconds)", val);
        } else if (!strcmp(a, "-r") || !strcmp(a, "--raw")) {
            o->raw = 1;
        } else if (!strcmp(a, "--")) {
            if (i + 1 < argc && !o->script_path)
                o->script_path = argv[++i];
            if (i + 1 < argc)
                return usage_error("unexpected argument '%s'", argv[i + 1]);
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
};

static void setup_free(struct setup *st)
{
    plugbox_program_free(st->program);
    plugbox_engine_free(st->engine);
    plugbox_options_free(st->opts);
    free(st->script);
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
        plugbox_options_set_console(st->opts, console_to_stderr, NULL)) {
        fprintf(stderr, "%s: out of memory\n", prog_name);
        return EXIT_INTERNAL;
    }
    rc = plugbox_engine_new(&st->engine);
    if (rc != PLUGBOX_OK) {
        fprintf(stderr, "%s: cannot start the engine: %s\n", prog_name, plugbox_strerror(rc));
        return EXIT_INTERNAL;
    }
    rc = plugbox_program_new(st->engine, o->code ? o->code : st->script, o->code ? strlen(o->code) : script_len,
                             st->opts, &st->program);
    if (rc != PLUGBOX_OK)
        return st->program ? report(rc, plugbox_program_error_message(st->program),
                                    plugbox_program_error_stack(st->program), NULL)
                           : report(rc, plugbox_strerror(rc), "", NULL);
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
    return report(rc, plugbox_strerror(rc), "", NULL);
}

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
    if (o.bytes_path)
        rc = plugbox_sandbox_call_bytes(box, data, data_len, bytes, bytes_len, PLUGBOX_BYTES_READ, &out, &out_len);
    else
        rc = plugbox_sandbox_call(box, data, data_len, &out, &out_len);
    if (rc != PLUGBOX_OK) {
        exit_code = report(rc, plugbox_sandbox_error_message(box), plugbox_sandbox_error_stack(box), data_name);
        goto out;
    }
    if (out) {
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

/* ---- map ------------------------------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct map_state {
    plugbox_pool *pool;
    int mode;                 /* 'e'mit, 's'kip, 'f'ail */
    int failed_code;          /* exit code of the first error in fail mode, 0 if none */
    int stop_output;          /* after a failure or an interruption nothing more is written */
    int write_error;
    uint64_t lines, errors;
    off_t total_bytes;        /* of a regular file on stdin, else 0 */
    uint64_t bytes_done;
    uint64_t *line_bytes;     /* ring of each in-flight line's size, for the percentage */
    size_t ring;
    int progress;             /* stderr is a terminal */
    double start, last_draw;
};

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

static void on_result(void *user, uint64_t index, const plugbox_result *r)
{
    struct map_state *m = user;
    m->bytes_done += m->line_bytes[index % m->ring];
    if (m->stop_output)
        return;
    if (r->status == PLUGBOX_INTERRUPTED && interrupted) {
        m->stop_output = 1; /* Ctrl-C: what was written stays, complete and in order */
        return;
    }
    m->lines++;
    if (r->status == PLUGBOX_OK) {
        if (r->json)
            fwrite(r->json, 1, r->len, stdout);
        else
            fputs("null", stdout);
        fputc('\n', stdout);
    } else {
        m->errors++;
        if (m->mode == 'e') {
            char kind[32];
            snprintf(kind, sizeof kind, "%s", plugbox_err_name(r->status));
            for (char *k = kind; *k; k++)
                *k = (char)(*k | 0x20);
            fputs("{\"error\":{\"kind\":", stdout);
            put_json_string(stdout, kind);
            fputs(",\"message\":", stdout);
            put_json_string(stdout, *r->message ? r->message : plugbox_strerror(r->status));
            fputs("}}\n", stdout);
        } else if (m->mode == 'f') {
            fprintf(stderr, "%s: line %llu: %s\n", prog_name, (unsigned long long)index + 1,
                    *r->message ? r->message : plugbox_strerror(r->status));
            m->failed_code = exit_code_of(r->status);
            m->stop_output = 1;
            plugbox_pool_cancel(m->pool);
        }
    }
    if (ferror(stdout) && !m->write_error) {
        m->write_error = 1;
        m->stop_output = 1;
        plugbox_pool_cancel(m->pool);
    }
    if (m->progress)
        draw_progress(m, 0);
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

    struct map_state m = {.mode = o.on_error[0], .progress = isatty(2), .start = now_s()};
    struct stat sb;
    if (fstat(0, &sb) == 0 && S_ISREG(sb.st_mode))
        m.total_bytes = sb.st_size;
    unsigned threads = o.threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    m.ring = 64 * (size_t)threads;
    m.line_bytes = calloc(m.ring, sizeof *m.line_bytes);
    rc = m.line_bytes ? plugbox_pool_new(st.program, st.opts, threads, m.ring, on_result, &m, &m.pool) : PLUGBOX_HOST;
    if (rc != PLUGBOX_OK) {
        exit_code = report_sandbox_error(rc, &st);
        free(m.line_bytes);
        setup_free(&st);
        return exit_code;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: a blocked read returns */

    char *line = NULL;
    size_t cap = 0;
    uint64_t index = 0;
    int read_error = 0;
    for (;;) {
        if (interrupted || m.stop_output)
            break;
        errno = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) {
            if (errno == EINTR && !interrupted)
                continue;
            read_error = errno && errno != EINTR;
            break;
        }
        m.line_bytes[index % m.ring] = (uint64_t)n; /* the window keeps this slot for this line */
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        if (plugbox_pool_submit(m.pool, line, len) != PLUGBOX_OK) {
            fprintf(stderr, "%s: out of memory\n", prog_name);
            read_error = 1;
            break;
        }
        index++;
    }
    if (interrupted)
        plugbox_pool_cancel(m.pool);
    plugbox_pool_wait(m.pool);
    plugbox_pool_free(m.pool);
    free(line);
    free(m.line_bytes);
    setup_free(&st);

    if (fflush(stdout) != 0 || ferror(stdout) || m.write_error) {
        fprintf(stderr, "%s: cannot write the output: %s\n", prog_name, strerror(errno ? errno : EIO));
        return EXIT_USAGE;
    }
    if (m.progress)
        draw_progress(&m, 1);
    if (interrupted)
        return 130;
    if (read_error) {
        fprintf(stderr, "%s: cannot read the input: %s\n", prog_name, strerror(errno ? errno : EIO));
        return EXIT_USAGE;
    }
    return m.failed_code;
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
        printf("plugbox %s (QuickJS %s in WebAssembly, via wasm2c)\n", PLUGBOX_VERSION, PB_QUICKJS_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "map"))
        return cmd_map(argc - 2, argv + 2);
    fprintf(stderr, "plugbox: unknown command '%s'\nTry 'plugbox --help' for more information.\n", cmd);
    return EXIT_USAGE;
}
