/* SPDX-License-Identifier: MIT */
/* plugbox.h - run untrusted JavaScript inside a WebAssembly sandbox, from C.
 *
 * A script runs in QuickJS compiled to WebAssembly and then to C: it can touch nothing but
 * the sandbox's own linear memory, cannot reach files, the network, the environment or any
 * host function, and every call is bounded in memory and, on request, in time.
 *
 *     plugbox_engine *engine;
 *     plugbox_program *prog;
 *     plugbox_sandbox *box;
 *     const char *out;
 *     size_t out_len;
 *
 *     plugbox_engine_new(&engine);
 *     if (plugbox_program_new(engine, "data.a + data.b", (size_t)-1, NULL, &prog) != PLUGBOX_OK)
 *         fprintf(stderr, "%s\n", plugbox_program_error_message(prog));
 *     plugbox_sandbox_new(prog, NULL, &box);
 *     if (plugbox_sandbox_call(box, "{\"a\":1,\"b\":2}", 13, &out, &out_len) == PLUGBOX_OK)
 *         printf("%.*s\n", (int)out_len, out);               // prints 3
 *     plugbox_sandbox_free(box);
 *     plugbox_program_free(prog);
 *     plugbox_engine_free(engine);
 *
 * Objects
 *   engine   the compiled engine and its initialised state; one per process is enough.
 *   program  a script compiled once, with a snapshot of the sandbox after the engine's set-up
 *            and (function style) the script's top level. Immutable once created.
 *   sandbox  a live instance of a program. Every call starts from the program's snapshot and
 *            sees nothing an earlier call left, unless the sandbox was made stateful. The
 *            sandboxes of a program share its snapshot's memory, copy-on-write: a sandbox
 *            holds only the pages its calls wrote.
 *   options  limits and settings, read when a program or sandbox is created (copied: the
 *            options object may be changed or freed afterwards).
 *
 * Threads
 *   Nothing here is thread-safe except where stated. An engine and a program may be used by
 *   any number of threads at once (creating programs and sandboxes from them). A sandbox is
 *   used by one thread at a time; different sandboxes run in parallel, on any threads.
 *   plugbox_sandbox_interrupt() is the one call that may target a sandbox in use elsewhere.
 *
 * Errors
 *   Functions that can fail return an int status: PLUGBOX_OK (0) or a negative one
 *   (PLUGBOX_EXCEPTION to PLUGBOX_HOST, below). The status is the error's kind, and it comes
 *   from what happened, never from a message a script could imitate. The message (and, for
 *   JavaScript errors, the stack) of the last failed call on a program or sandbox stays
 *   readable on that handle until the next call on it. plugbox_strerror() and
 *   plugbox_err_name() describe any status. Error messages and stacks are valid UTF-8 and
 *   contain no NUL: a lone surrogate, an embedded NUL or any ill-formed sequence in a
 *   script's error text is replaced by U+FFFD, and a text longer than 64 KiB is cut at a
 *   character boundary and ends with "... (cut)".
 *   PLUGBOX_HOST is a host resource that failed (memory, address space, a thread): the call
 *   fails, nothing is leaked, other sandboxes are unharmed, and the next attempt may work;
 *   where no handle carries the message (the _new functions), errno tells the cause (ENOMEM:
 *   memory or address space; EAGAIN: a thread).
 *
 * What the host can rely on
 *   No script can crash, abort or hang the process, or make it take memory outside the
 *   sandbox's limit. The library itself aborts only on a broken internal invariant.
 *   Address space: each sandbox reserves 8 GiB (mapped without access, not memory: any 32-bit
 *   address a guest forms lands in it); so do an engine and a program while they are made.
 *   Under an address-space limit (RLIMIT_AS, ulimit -v) the _new functions fail with
 *   PLUGBOX_HOST and errno ENOMEM once it is used up.
 *   Stack: a call runs on the calling thread's stack. The engine checks the stack it uses,
 *   at every function and loop, and keeps 32 KiB of the thread's stack free for host code the
 *   script calls (the console callback); a script that recurses too deep gets a catchable
 *   "stack overflow" error, and one that goes on ends the call with PLUGBOX_STACK. Calls work
 *   on thread stacks of 80 KiB and more; on smaller ones they fail with PLUGBOX_STACK.
 *   Signals: limits and interrupts use no signal, so they hold whatever the thread's signal
 *   mask. The library installs handlers for SIGSEGV and SIGBUS that claim only faults of
 *   guest code inside a sandbox's memory (every other fault goes to the handler installed
 *   before, or kills the process as usual). Each thread that runs a call gets, on its first
 *   call, an alternate signal stack if it has none, and SIGSEGV and SIGBUS unblocked (a fault
 *   while they are blocked would kill the process whatever its handler): a thread must not
 *   block them again while it runs calls.
 *   Threads: the library starts one watchdog thread, on the first call with a time limit or
 *   an interrupt; the pool starts its workers; plugbox_engine_new runs the engine's set-up on
 *   a thread of its own (1 MiB of stack, whatever the caller's), which ends before it returns.
 *   fork: a child process can keep using the engines, programs and sandboxes it inherited,
 *   with their limits (the watchdog starts again in the child when a limit needs it).
 */
#ifndef PLUGBOX_H
#define PLUGBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------------------------ */

/* The version of this header. A program linked against the shared library may run with a
 * later one of the same soname (libplugbox.so.0): plugbox_version() tells which version is
 * running. Within a soname, a later version only adds. */
#define PLUGBOX_VERSION_MAJOR 0
#define PLUGBOX_VERSION_MINOR 7
#define PLUGBOX_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH: 300 for 0.3.0; compare with plugbox_version(). */
#define PLUGBOX_VERSION_NUMBER (PLUGBOX_VERSION_MAJOR * 10000 + PLUGBOX_VERSION_MINOR * 100 + PLUGBOX_VERSION_PATCH)
#define PLUGBOX_VERSION "0.7.0"

/* Every function of the API is exported from the shared library; nothing else is. */
#if defined(__GNUC__) || defined(__clang__)
#define PLUGBOX_API __attribute__((visibility("default")))
#else
#define PLUGBOX_API
#endif

/* The version of the library running, as PLUGBOX_VERSION_NUMBER; thread-safe. */
PLUGBOX_API unsigned plugbox_version(void);
/* The same as a static string, "0.3.0"; thread-safe. */
PLUGBOX_API const char *plugbox_version_string(void);

/* Status codes and error kinds: X(NAME, value, message). */
#define PLUGBOX_ERRNO_MAP(X)                                                                   \
    X(OK, 0, "success")                                                                        \
    X(EXCEPTION, -1, "uncaught exception")                                                     \
    X(SYNTAX, -2, "syntax error")                                                              \
    X(TIMEOUT, -3, "time limit exceeded")                                                      \
    X(MEMORY, -4, "out of memory")                                                             \
    X(STACK, -5, "stack overflow")                                                             \
    X(TRAP, -6, "sandbox trap")                                                                \
    X(INPUT, -7, "invalid input")                                                              \
    X(INTERRUPTED, -8, "interrupted")                                                          \
    X(ARGUMENT, -9, "invalid argument")                                                        \
    X(HOST, -10, "host resource exhausted")

typedef enum plugbox_status {
#define PLUGBOX_ENUM_(name, value, msg) PLUGBOX_##name = value,
    PLUGBOX_ERRNO_MAP(PLUGBOX_ENUM_)
#undef PLUGBOX_ENUM_
} plugbox_status;

/* "time limit exceeded" for PLUGBOX_TIMEOUT; "unknown error" for other values. Static. */
PLUGBOX_API const char *plugbox_strerror(int status);
/* "TIMEOUT" for PLUGBOX_TIMEOUT; "UNKNOWN" for other values. Static. */
PLUGBOX_API const char *plugbox_err_name(int status);

/* ---- options ------------------------------------------------------------------------------ */

typedef struct plugbox_options plugbox_options;

/* Console output of scripts (console.log and friends). text is not NUL-terminated and is
 * valid during the call only; it is valid UTF-8 without NUL (a lone surrogate, an ill-formed
 * sequence or a NUL of the script's text is U+FFFD). Called on the thread that runs the script, from inside the
 * call: it must not call back into the same sandbox. */
typedef enum plugbox_console_level {
    PLUGBOX_CONSOLE_LOG = 0,
    PLUGBOX_CONSOLE_INFO = 1,
    PLUGBOX_CONSOLE_WARN = 2,
    PLUGBOX_CONSOLE_ERROR = 3,
    PLUGBOX_CONSOLE_DEBUG = 4
} plugbox_console_level;
typedef void (*plugbox_console_fn)(void *user, plugbox_console_level level, const char *text, size_t len);

/* A new options object with the defaults: 256 MiB memory, no time limit, eval style, script
 * name "<script>", fresh state per call, console output discarded. NULL if out of memory.
 * Wherever a function takes options, NULL means these defaults. */
PLUGBOX_API plugbox_options *plugbox_options_new(void);
/* Frees; NULL is fine. */
PLUGBOX_API void plugbox_options_free(plugbox_options *opts);

/* The most linear memory a sandbox may use, in bytes (rounded down to 64 KiB pages; at most
 * 4 GiB - 64 KiB). It covers the engine's own state, the script and its data; a limit below
 * what the program's snapshot already takes makes plugbox_sandbox_new fail with
 * PLUGBOX_MEMORY. Exceeding it during a call ends the call with PLUGBOX_MEMORY.
 * Returns PLUGBOX_ARGUMENT for 0. */
PLUGBOX_API int plugbox_options_set_memory_limit(plugbox_options *opts, uint64_t bytes);
/* Wall-clock limit of one call (and of a program's top level), in milliseconds; 0: none.
 * A call over it ends with PLUGBOX_TIMEOUT, whatever the script runs, native engine code
 * included, within about 10 ms. Host code the script calls (the console callback) is not
 * stopped: a call whose deadline passed during it ends as soon as it returns. Values above
 * 2^40 (about 35 years) count as 2^40. */
PLUGBOX_API int plugbox_options_set_time_limit(plugbox_options *opts, uint64_t ms);
/* Function style: the program runs the script's top level once, into its snapshot, and each
 * call invokes the global function `name` with the input as its argument. NULL: eval style,
 * where each call runs the whole script with the input in the global `data` and the result
 * is the script's completion value. The name is copied. */
PLUGBOX_API int plugbox_options_set_function(plugbox_options *opts, const char *name);
/* The script's name in stack traces (copied). */
PLUGBOX_API int plugbox_options_set_filename(plugbox_options *opts, const char *name);
/* The arguments of a WASI command (a plugin exporting _start): argv[0..argc), copied, the
 * first the program's name. Default: one, the filename (else "plugin"). Scripts and Extism
 * plugins have none. Returns PLUGBOX_OK, PLUGBOX_ARGUMENT (argc and no argv), PLUGBOX_HOST. */
PLUGBOX_API int plugbox_options_set_arguments(plugbox_options *opts, size_t argc, const char *const *argv);
/* ES modules. A script with import or export statements is an ES module: its top level runs
 * once, into the program's snapshot (top-level await included), and each call invokes its
 * exported function `name` (plugbox_options_set_function), or its default export when no
 * name is set. It imports other modules by relative path ("./geo.js", "../lib/util.js"),
 * resolved from the script's filename's directory, and read by the host from under `dir`
 * when the program is created, never later: not above `dir` (no "..", no absolute path, no
 * symbolic link out of it), regular files only; the sandbox itself reaches no file. NULL
 * (the default): importing a module is refused. The path is copied; only program creation
 * reads it. */
PLUGBOX_API int plugbox_options_set_module_dir(plugbox_options *opts, const char *dir);
/* TypeScript. A script whose filename (plugbox_options_set_filename) ends in ".ts", ".mts" or
 * ".cts" is TypeScript; typescript != 0 makes the script TypeScript whatever its name (0, the
 * default: by its name). Modules it imports are TypeScript by the same rule, by their own
 * names ("./geo.ts"), whatever this option says. TypeScript is transpiled to JavaScript when
 * the program is created, inside the sandbox (sucrase's TypeScript transform, embedded in the
 * engine; types are removed, not checked; enums, `satisfies`, `const` type parameters,
 * parameter properties work; a namespace that holds values and decorators are syntax errors:
 * see README), under the options' memory and time limits. The first TypeScript program of an
 * engine also loads the transpiler into a second base state of the engine (about 50 ms, once;
 * JavaScript programs never load it). A file that is not valid TypeScript fails with
 * PLUGBOX_SYNTAX and a stack naming the file's line and column; lines stay as they are, and
 * errors' stacks give positions in the TypeScript file itself. Returns PLUGBOX_OK, or
 * PLUGBOX_ARGUMENT for a NULL opts. */
PLUGBOX_API int plugbox_options_set_typescript(plugbox_options *opts, int typescript);
/* Stateful sandboxes keep the script's state (globals, heap) from call to call, for scripts
 * that count or track. A call that ends in a trap, a forced stop or a lost memory still
 * resets the sandbox to its snapshot. In eval style the whole script runs on every call, so
 * top-level `let`, `const` and `class` would be declared twice: use `var` or globalThis. */
PLUGBOX_API int plugbox_options_set_stateful(plugbox_options *opts, int stateful);
/* Where console output goes; fn NULL discards it. */
PLUGBOX_API int plugbox_options_set_console(plugbox_options *opts, plugbox_console_fn fn, void *user);

/* ---- what the host grants: functions and configuration ------------------------------------ */

/* Host functions, in the style of sqlite3_create_function. A script calls `host.NAME(...)`:
 *
 *     static void add(plugbox_host_call *call, void *user, const char *args, size_t len)
 *     {
 *         double a, b;            // args is the JSON array of the arguments: "[1,2]"
 *         if (sscanf(args, "[%lf,%lf]", &a, &b) != 2) {
 *             plugbox_host_throw(call, "add takes two numbers");
 *             return;
 *         }
 *         char out[64];
 *         plugbox_host_return(call, out, (size_t)snprintf(out, sizeof out, "%.17g", a + b));
 *     }
 *     plugbox_options_add_function(opts, "add", add, NULL);   // host.add(1, 2) === 3
 *
 * args: the arguments as one JSON array (as JSON.stringify writes it: undefined and functions
 * are null), NUL-terminated, valid during the callback only. What the callback gives to
 * plugbox_host_return is parsed into the script's value; nothing given, the value is
 * undefined; plugbox_host_throw raises an Error with that message in the script (the last of
 * the two the callback used wins). Text that is not JSON, or a result the sandbox's memory
 * limit cannot hold, is an error the script sees (it can catch it), never more.
 *
 * Threads and limits: the callback runs on the thread that runs the call, inside the call. It
 * must not call into the sandbox that called it (plugbox_sandbox_call then returns
 * PLUGBOX_ARGUMENT) nor free it, nor the pool running it; it may use other sandboxes. The time
 * limit keeps running while it runs, but host code cannot be stopped: a call whose deadline
 * passed during a host function ends with PLUGBOX_TIMEOUT as soon as the function returns. The
 * arguments and the result are made in the sandbox's memory and count against its limit.
 * A host function completes before it returns: there are no asynchronous ones. */
typedef struct plugbox_host_call plugbox_host_call;
typedef void (*plugbox_host_fn)(plugbox_host_call *call, void *user, const char *args_json, size_t args_len);
/* Grants host.NAME to the programs made with these options: a program's functions are those
 * of its options when it is made, in the snapshot, and fixed from then on (sandboxes and
 * pools made from it use them whatever their own options say). The global `host` is a frozen
 * object that exists only when at least one function is granted. name: an identifier
 * ([A-Za-z_$][A-Za-z0-9_$]*, at most 64 bytes), copied; unique per options object.
 * Returns PLUGBOX_ARGUMENT for a bad or taken name or a NULL fn, PLUGBOX_HOST out of memory. */
PLUGBOX_API int plugbox_options_add_function(plugbox_options *opts, const char *name, plugbox_host_fn fn,
                                             void *user);
/* The callback's result, JSON text of len bytes (copied; NULL with len 0: undefined). */
PLUGBOX_API void plugbox_host_return(plugbox_host_call *call, const char *json, size_t len);
/* Raises `new Error(message)` in the script when the callback returns (message copied,
 * NUL-terminated, cut at 64 KiB; NULL: "host function failed"). */
PLUGBOX_API void plugbox_host_throw(plugbox_host_call *call, const char *message);

/* Configuration: the script sees a deep-frozen global `config`, decoded from this JSON text
 * once, when the program is made, into its snapshot (a call pays nothing for it). The text is
 * copied and checked when the program is made: text that is not JSON makes
 * plugbox_program_new fail with PLUGBOX_INPUT, naming line and column. NULL: no base text. */
PLUGBOX_API int plugbox_options_set_config(plugbox_options *opts, const char *json, size_t len);
/* Sets config[key] to the JSON value json[0..len) over the base text (which must then be an
 * object, or absent: {}); the last value set for a key wins. Returns PLUGBOX_INPUT when the
 * value is not JSON, PLUGBOX_ARGUMENT for an empty key, PLUGBOX_HOST out of memory. */
PLUGBOX_API int plugbox_options_set_config_value(plugbox_options *opts, const char *key, const char *json,
                                                 size_t len);

/* A sample input: JSON text of the form the calls' inputs will have (a frame's description, a
 * record). It is decoded once, when the program is made, and dropped; the program's snapshot
 * keeps what decoding it made: its keys and the shapes of its objects. A fresh call whose
 * input has that form then finds them made instead of making them anew (a 1 KB GeoJSON input:
 * a fifth of the call's instructions). Inputs of another form decode about as fast as
 * without a sample (where a place's keys differ, its first object is made twice). The script
 * cannot read the sample, but one timing how fast it makes objects could tell which keys it
 * had: it is no place for secrets. Stateful sandboxes learn the same from their own calls.
 * The text is copied, and checked when the program is made: text that is not JSON makes
 * plugbox_program_new fail with PLUGBOX_INPUT, naming line and column; decoding it counts
 * against the memory limit. Scripts only: WebAssembly plugins ignore it. NULL: no sample.
 * Returns PLUGBOX_ARGUMENT for a NULL opts, PLUGBOX_HOST out of memory. */
PLUGBOX_API int plugbox_options_set_sample(plugbox_options *opts, const char *json, size_t len);

/* ---- engine ------------------------------------------------------------------------------- */

typedef struct plugbox_engine plugbox_engine;

/* Creates an engine: instantiates the compiled QuickJS module, initialises the JavaScript
 * runtime once, with the prelude (the built-ins QuickJS lacks, see README), and keeps that
 * state as the base every program starts from (a few milliseconds).
 * Returns PLUGBOX_OK and sets *out, or PLUGBOX_HOST (no memory, no address space, no thread,
 * or the process's fault handlers could not be installed; errno tells which) with *out set
 * to NULL.
 * Thread-safe; the engine is shared by any number of threads. */
PLUGBOX_API int plugbox_engine_new(plugbox_engine **out);
/* Frees the engine once every program made from it is freed. NULL is fine. */
PLUGBOX_API void plugbox_engine_free(plugbox_engine *engine);

/* ---- program ------------------------------------------------------------------------------ */

typedef struct plugbox_program plugbox_program;

/* Compiles `source` (len bytes, or up to its NUL if len is (size_t)-1) with opts (NULL:
 * defaults) and takes the program's snapshot. In function style, runs the top level under
 * the options' limits and checks that the function exists.
 * Returns PLUGBOX_OK; or an error kind (PLUGBOX_SYNTAX, PLUGBOX_EXCEPTION, PLUGBOX_TIMEOUT,
 * PLUGBOX_MEMORY, ...), and then *out is still a program, in a failed state, that carries the
 * message (plugbox_program_error_message) and must be freed; or PLUGBOX_HOST with *out NULL
 * (errno set).
 * Thread-safe with respect to the engine. */
PLUGBOX_API int plugbox_program_new(plugbox_engine *engine, const char *source, size_t len, const plugbox_options *opts,
                        plugbox_program **out);
/* Makes a program from a WebAssembly plugin: bytes[0..len) is a module (.wasm) or an artifact
 * that `plugbox compile` or plugbox_program_save wrote. A module is compiled to native code
 * once (wasm2c and the C compiler, $CC or cc, must be installed; about a second for a small
 * plugin) and kept in the cache, $XDG_CACHE_HOME/plugbox (else ~/.cache/plugbox), by its
 * SHA-256 and this version: the next program of the same module loads it. An artifact is
 * native code: load only artifacts you compiled yourself. The plugin's state after its start
 * function and initialisers (_initialize, wizer.initialize), run under opts's limits, is the
 * program's snapshot. opts's function (plugbox_options_set_function) names the export its
 * calls run, () -> i32 in Extism's ABI; plugbox_sandbox_call_function may name another.
 * The imports the plugin may have are documented in the README; any other fails here,
 * naming it. Returns as plugbox_program_new (the error on the program: PLUGBOX_ARGUMENT for
 * a module plugbox cannot run or compile, with the reason, or the limit its initialisation
 * hit). Thread-safe with respect to the engine. */
PLUGBOX_API int plugbox_program_new_plugin(plugbox_engine *engine, const void *bytes, size_t len,
                                           const plugbox_options *opts, plugbox_program **out);
/* A plugin's calls: the input given to plugbox_sandbox_call is the plugin's input, any bytes,
 * passed unchecked; the result is its output, byte for byte (NUL-terminated, as a script's);
 * plugbox_sandbox_call_bytes gives it the input, a NUL byte, then the bytes (which it cannot
 * write back: PLUGBOX_BYTES_WRITE is PLUGBOX_ARGUMENT). An Extism export's nonzero return or
 * error_set, a WASI command's nonzero exit status, is PLUGBOX_EXCEPTION with the message. */
/* Writes a plugin program's compiled artifact to path (replacing it at once: a reader sees
 * the old file or the whole new one). Returns PLUGBOX_OK; PLUGBOX_ARGUMENT when the program
 * is not a plugin's; PLUGBOX_HOST when the file cannot be written (errno set).
 * Thread-safe. */
PLUGBOX_API int plugbox_program_save(const plugbox_program *prog, const char *path);
/* Makes a program like prog (a script's, made without error) whose snapshot also holds what
 * decoding json[0..len) made: its keys and the shapes of its objects, as a sample input does
 * (plugbox_options_set_sample), learned after the program was made. A host that cannot know
 * its inputs' form beforehand learns it from its first input: `plugbox map` does so from its
 * first line. prog is not changed, and its sandboxes are not affected; the new program's
 * sandboxes run the same script with the same functions and configuration, and no call can
 * read the input learned (one timing how fast it makes objects could tell which keys it had).
 * No script runs: decoding counts against opts's memory and time limits (NULL: defaults).
 * Costs about as much as taking a program's snapshot (a millisecond for a small script).
 * Returns PLUGBOX_OK; PLUGBOX_ARGUMENT for a NULL argument, a plugin's program or a failed
 * one (*out NULL); PLUGBOX_INPUT when json is not JSON (the message names line and column),
 * PLUGBOX_MEMORY or PLUGBOX_TIMEOUT when decoding hit a limit, and then *out is a failed
 * program that carries the message and must be freed; PLUGBOX_HOST when the host refused a
 * resource (errno set), with *out NULL or such a failed program.
 * Thread-safe with respect to prog, which may be in use meanwhile. */
PLUGBOX_API int plugbox_program_learn(const plugbox_program *prog, const char *json, size_t len,
                                      const plugbox_options *opts, plugbox_program **out);
/* Drops the caller's reference; the program lives on while sandboxes made from it do.
 * NULL is fine. */
PLUGBOX_API void plugbox_program_free(plugbox_program *prog);
/* The error of a failed plugbox_program_new: kind (a negative status, PLUGBOX_OK if none),
 * message such as "SyntaxError: unexpected token in expression: ')'", and the JavaScript
 * stack ("    at script.js:3\n"), "" if none. Strings live as long as the program. */
PLUGBOX_API int plugbox_program_error_kind(const plugbox_program *prog);
PLUGBOX_API const char *plugbox_program_error_message(const plugbox_program *prog);
PLUGBOX_API const char *plugbox_program_error_stack(const plugbox_program *prog);
/* Bytes of sandbox memory the program's snapshot takes (the floor for a memory limit of its
 * sandboxes). It includes free heap kept for calls: up to 4 MiB, at most half of what the
 * program's memory limit leaves above the script's own state. On Linux the snapshot is a
 * sealed memory file (memfd) that every sandbox of the program maps privately: the program
 * holds one file descriptor (close-on-exec) while it lives; where no memory file can be made,
 * it keeps a private copy that each sandbox copies. */
PLUGBOX_API size_t plugbox_program_footprint(const plugbox_program *prog);

/* ---- sandbox ------------------------------------------------------------------------------ */

typedef struct plugbox_sandbox plugbox_sandbox;

/* Creates a sandbox of a program that compiled (takes a reference on it), with the limits,
 * state mode and console of opts (NULL: defaults). Returns PLUGBOX_OK; PLUGBOX_ARGUMENT for a
 * failed program; PLUGBOX_MEMORY when the memory limit is below the program's footprint;
 * PLUGBOX_HOST when out of host memory or address space (errno set). *out is NULL on failure.
 * Thread-safe with respect to the program. */
PLUGBOX_API int plugbox_sandbox_new(plugbox_program *prog, const plugbox_options *opts, plugbox_sandbox **out);
/* Frees the sandbox. Not while a call runs on it. NULL is fine. */
PLUGBOX_API void plugbox_sandbox_free(plugbox_sandbox *box);

/* One call. json/len: the input, a JSON text (UTF-8), or json NULL for no input (`data` is
 * undefined). An input longer than the memory limit fails with PLUGBOX_MEMORY before it is
 * read. The input is checked first: invalid JSON or invalid UTF-8 fails with
 * PLUGBOX_INPUT and a message with line and column. On PLUGBOX_OK, *out and *out_len are the
 * result as JSON text (NUL-terminated; *out NULL and *out_len 0 when the result is undefined,
 * a function or a symbol), owned by the sandbox and valid until its next call or free.
 * Errors: PLUGBOX_EXCEPTION (uncaught; message "Error: boom" and stack), PLUGBOX_TIMEOUT,
 * PLUGBOX_MEMORY, PLUGBOX_STACK, PLUGBOX_INTERRUPTED, PLUGBOX_TRAP (the sandbox caught a fault
 * of guest code; it is reset and stays usable), PLUGBOX_INPUT, PLUGBOX_HOST, PLUGBOX_ARGUMENT
 * (from a host function or console callback of a call running on the same sandbox, which it
 * leaves undisturbed). After any error
 * the sandbox stays usable; PLUGBOX_HOST when it could not be restored to its snapshot, which
 * the next call tries again. */
PLUGBOX_API int plugbox_sandbox_call(plugbox_sandbox *box, const char *json, size_t len, const char **out, size_t *out_len);

/* Flags of plugbox_sandbox_call_bytes. */
enum {
    PLUGBOX_BYTES_READ = 0,  /* the script reads the bytes (its changes stay in the sandbox) */
    PLUGBOX_BYTES_WRITE = 1, /* what the script leaves in them is copied back into bytes */
};

/* One call with bytes beside the JSON input (a video frame, a packet): the script receives
 * them as a Uint8Array, the second argument of the function (function style) or the global
 * `bytes` (eval style), over a copy inside the sandbox (it counts against the memory limit).
 * bytes may be NULL when bytes_len is 0 (an empty array). With PLUGBOX_BYTES_WRITE, after a
 * call that returns PLUGBOX_OK the array's contents are copied back into bytes[0..bytes_len);
 * after any error bytes is unchanged. When the call ends the array is detached: a script that
 * kept it (stateful sandbox) finds it empty later. Everything else as plugbox_sandbox_call;
 * more errors: PLUGBOX_ARGUMENT for unknown flags or NULL bytes with a length, PLUGBOX_MEMORY
 * when the bytes do not fit the memory limit. The caller keeps ownership of bytes. */
PLUGBOX_API int plugbox_sandbox_call_bytes(plugbox_sandbox *box, const char *json, size_t len, void *bytes, size_t bytes_len,
                               unsigned flags, const char **out, size_t *out_len);
/* Calls the script's function `name` instead of the program's own, for what a host sends
 * besides its data (a stream's start or end): an export of a module script, else a global
 * function (in eval style, one the script defined: so with a stateful sandbox, once a call
 * ran the script). json, out and everything else as plugbox_sandbox_call (json NULL: the
 * function gets undefined). Returns PLUGBOX_ARGUMENT when the script has no function `name`:
 * nothing ran, and a stateful sandbox keeps its state. */
PLUGBOX_API int plugbox_sandbox_call_function(plugbox_sandbox *box, const char *name, const char *json, size_t len,
                                              const char **out, size_t *out_len);
/* Brings box back to its program's snapshot now, as a fresh sandbox starts every call (a
 * stateful sandbox forgets its state: after a seek, say). Not while a call runs on box.
 * Returns PLUGBOX_OK, PLUGBOX_ARGUMENT (NULL, or from the sandbox's own call), or
 * PLUGBOX_HOST when memory could not be restored (the next call tries again). */
PLUGBOX_API int plugbox_sandbox_reset(plugbox_sandbox *box);
/* Error of the last call: kind, message, stack ("" if none); strings valid until the next
 * call or free. */
PLUGBOX_API int plugbox_sandbox_error_kind(const plugbox_sandbox *box);
PLUGBOX_API const char *plugbox_sandbox_error_message(const plugbox_sandbox *box);
PLUGBOX_API const char *plugbox_sandbox_error_stack(const plugbox_sandbox *box);
/* Stops the call running on box now, from any thread: it ends with PLUGBOX_INTERRUPTED.
 * Does nothing when no call runs. Thread-safe. Returns PLUGBOX_OK or PLUGBOX_HOST. */
PLUGBOX_API int plugbox_sandbox_interrupt(plugbox_sandbox *box);

/* Limits of a live sandbox, in the spirit of sqlite3_limit. */
typedef enum plugbox_limit {
    PLUGBOX_LIMIT_MEMORY = 0, /* bytes, as plugbox_options_set_memory_limit */
    PLUGBOX_LIMIT_TIME = 1    /* milliseconds, 0 none, as plugbox_options_set_time_limit */
} plugbox_limit;
/* Changes a limit of box from the next call on: a call running meanwhile keeps the limits it
 * started with. A memory limit below what the sandbox uses takes effect when it is next reset
 * to its snapshot (a fresh sandbox: its next call; a stateful one keeps its state until a
 * failure resets it, and a call that then needs more fails with PLUGBOX_MEMORY). Thread-safe:
 * any thread may call it while box runs a call elsewhere. Returns PLUGBOX_OK; PLUGBOX_MEMORY
 * for a memory limit below the program's snapshot (nothing changes); PLUGBOX_ARGUMENT for an
 * unknown limit, a memory limit of 0 or a NULL box. */
PLUGBOX_API int plugbox_sandbox_set_limit(plugbox_sandbox *box, plugbox_limit which, uint64_t value);

/* ---- pool ---------------------------------------------------------------------------------- */

typedef struct plugbox_pool plugbox_pool;

/* The outcome of one input run by a pool. json (NUL-terminated, NULL when the result is
 * undefined), message and stack ("" when none) are owned by whoever holds the result: the
 * pool during a callback, the caller after plugbox_pool_run (release with
 * plugbox_result_clear). */
typedef struct plugbox_result {
    int status;          /* PLUGBOX_OK or the error's kind */
    const char *json;
    size_t len;
    const char *message;
    const char *stack;
} plugbox_result;

/* Called once per submitted input, in submission order (index counts from 0 over the pool's
 * life), one call at a time, from one of the pool's threads or from inside
 * plugbox_pool_submit/plugbox_pool_wait. result is valid during the call only. It must not
 * call plugbox_pool_free; it may call plugbox_pool_cancel. */
typedef void (*plugbox_result_fn)(void *user, uint64_t index, const plugbox_result *result);

/* A pool of `threads` worker threads (0: one per online core), each with its own sandbox of
 * prog made with opts (limits per input, stateful or fresh, console), delivering results to
 * fn (may be NULL when only plugbox_pool_run is used). At most `window` inputs are in flight
 * (0: 64 per thread): plugbox_pool_submit blocks beyond that, so memory stays bounded on
 * endless input. Takes a reference on prog. Returns PLUGBOX_OK, PLUGBOX_ARGUMENT (a failed
 * program), PLUGBOX_MEMORY (limit below the program's footprint) or PLUGBOX_HOST (errno set:
 * ENOMEM for memory or address space, each worker's sandbox reserving 8 GiB; EAGAIN when a
 * thread could not be started). */
PLUGBOX_API int plugbox_pool_new(plugbox_program *prog, const plugbox_options *opts, unsigned threads, size_t window,
                     plugbox_result_fn fn, void *user, plugbox_pool **out);
/* Waits for what was submitted, stops the threads, frees. NULL is fine. */
PLUGBOX_API void plugbox_pool_free(plugbox_pool *pool);

/* Queues one input (copied; json NULL: no input; one longer than the memory limit is not
 * copied, and its result is PLUGBOX_MEMORY) and returns. When the window is full it
 * blocks until half of it is free. The pool keeps the buffers of delivered inputs (up to
 * 16 MiB) for later copies until it is freed. Returns PLUGBOX_OK or PLUGBOX_HOST. Thread-safe. */
PLUGBOX_API int plugbox_pool_submit(plugbox_pool *pool, const char *json, size_t len);
/* Blocks until every input submitted so far has been delivered. Thread-safe. */
PLUGBOX_API void plugbox_pool_wait(plugbox_pool *pool);
/* The end of a stateful pool's input: waits as plugbox_pool_wait, then calls the script's
 * function `name` (as plugbox_sandbox_call_function) on each worker's sandbox in turn, on the
 * calling thread, each with the state its worker built. results[i] gets worker i's outcome
 * (owned by the caller: plugbox_result_clear), PLUGBOX_ARGUMENT when the script has no such
 * function; *n the number of workers, at most cap of them called. Not concurrently with
 * plugbox_pool_submit; plugbox_pool_cancel does not stop these calls (their time limit does).
 * Returns PLUGBOX_OK, or PLUGBOX_ARGUMENT for a NULL pool, name, results or n. */
PLUGBOX_API int plugbox_pool_call_function(plugbox_pool *pool, const char *name, const char *json, size_t len,
                                           plugbox_result *results, unsigned cap, unsigned *n);
/* Runs n inputs and fills results[i] for inputs[i] (lens[i] bytes; lens NULL: NUL-terminated),
 * waiting for all of them. Results go to the array, not to the pool's callback. Returns
 * PLUGBOX_OK (each result has its own status) or PLUGBOX_HOST (an input could not be queued:
 * it and those after it have the status PLUGBOX_HOST). Every result is to be released with
 * plugbox_result_clear, whatever the return. One batch at a time. */
PLUGBOX_API int plugbox_pool_run(plugbox_pool *pool, const char *const *inputs, const size_t *lens, size_t n,
                     plugbox_result *results);
/* Frees what a result from plugbox_pool_run holds; NULL is fine. */
PLUGBOX_API void plugbox_result_clear(plugbox_result *result);
/* From any thread: inputs submitted before this call and not yet finished end with
 * PLUGBOX_INTERRUPTED (queued ones without running, running ones stopped). The pool stays
 * usable: inputs submitted afterwards run normally. Returns PLUGBOX_OK. */
PLUGBOX_API int plugbox_pool_cancel(plugbox_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
