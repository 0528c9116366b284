/* SPDX-License-Identifier: MIT */
/* internal.h - what the library's files share; nothing here is public API. */
#ifndef PLUGBOX_INTERNAL_H
#define PLUGBOX_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "guest_abi.h"
#include "plugbox.h"
#include "rt/module.h"
#include "rt/rt.h"

#define PB_DEFAULT_MEMORY_LIMIT (256ull << 20)
#define PB_MAX_MEMORY_LIMIT (65535ull << 16)
#define PB_MAX_TIME_LIMIT_MS (1ull << 40) /* about 35 years */
#define PB_MAX_ERROR_TEXT (64u << 10) /* longer messages and stacks are cut */
#define PB_MAX_STACK_FRAMES 32
#define PB_GUEST_TEXT_PAD 8 /* zero bytes after text put in the guest (guest/json.h) */

/* Granted to scripts (grant.c): host functions, configuration values over the base text. */
typedef struct pb_function {
    char *name;
    plugbox_host_fn fn;
    void *user;
} pb_function;
typedef struct pb_functions {
    pb_function *v;
    size_t n;
} pb_functions;
typedef struct pb_config_value {
    char *key;
    char *json; /* len bytes and a NUL */
    size_t len;
} pb_config_value;
typedef struct pb_config_values {
    pb_config_value *v;
    size_t n;
} pb_config_values;
/* What the host function running in an instance returned, until the guest takes it. */
typedef struct pb_pending {
    int kind;
    char *text;
    size_t len;
} pb_pending;

struct plugbox_options {
    uint64_t memory_limit;
    uint64_t time_limit_ms;
    char *function;
    char *filename;
    char *module_dir;
    int stateful;
    int typescript; /* the script is TypeScript whatever its name */
    plugbox_console_fn console;
    void *console_user;
    pb_functions functions;
    char **argv;        /* a WASI command's arguments, or NULL */
    size_t argc;
    char *config;       /* base configuration text (config_len bytes and a NUL), or NULL */
    size_t config_len;
    char *sample;       /* a sample input (sample_len bytes and a NUL), or NULL */
    size_t sample_len;
    pb_config_values values;
};

/* What the imports of one instance reach. */
struct pb_host;
typedef struct pb_host {
    wasm_rt_memory_t *mem;
    plugbox_console_fn console;
    void *console_user;
    const char *module_dir; /* while a program is created: where its imports are read */
    const pb_functions *functions; /* the program's (host.NAME), or NULL */
    pb_pending pending;
    struct pb_extism *extism;      /* a plugin's Extism kernel, when it imports it */
    /* a WASI command's call (imports.c): standard input, standard output kept as the result
     * (up to out_limit bytes), its arguments, how it exited */
    int command;
    const uint8_t *stdin;
    size_t stdin_len, stdin_pos;
    char *out;
    size_t out_len, out_cap, out_limit;
    char *const *argv;
    size_t argc;
    int exited, exit_code;
    char message[512]; /* why an import failed the call (PB_RT_TRAP_IMPORT), when not the kernel */
    int message_kind;  /* its status */
} pb_host;

/* How a compiled plugin's imports are connected (plugin.c): for import i, the host function
 * fns[i] and what it gets first, kinds[i]. */
enum {
    PB_IMPORT_HOST = 0,   /* the instance's pb_host */
    PB_IMPORT_EXTISM = 1, /* the instance's Extism kernel (extism.h) */
    PB_IMPORT_USER = 2    /* a host function (extism:host/user): the instance's pb_user_ref */
};
typedef struct pb_import_plan {
    size_t n;
    void (**fns)(void);
    int *kinds;
    size_t *functions; /* PB_IMPORT_USER: the host function's index */
} pb_import_plan;
/* What a plugin's import of a host function reaches: the instance, the function. */
typedef struct pb_user_ref {
    struct pb_host *host;
    size_t index;
    const char *name;
} pb_user_ref;

/* One instance of a module with its import context. Heap-allocated: the generated code and
 * the imports keep pointers into it. */
struct pb_instance {
    const pb_rt_module *mod;
    void *w;                 /* the module's instance, mod->instance_size bytes */
    wasm_rt_memory_t *mem;   /* its memory, inside w */
    pb_host host;
    pb_host *imports;        /* &host: what the engine's import modules' contexts point to */
    pb_rt_imports table;     /* a plugin's: what its import modules' contexts point to */
    pb_user_ref *users;      /* a plugin's host functions, one per import */
};

/* A snapshot: linear memory bytes and the instance's state (rt/module.h). */
typedef struct pb_image {
    uint8_t *bytes;          /* the memory, size bytes; its zero pages never written (not resident) */
    int fd;                  /* the file bytes maps (shared: pb_rt_image_share), or -1 (a copy) */
    uint8_t *zero;           /* per page (PB_PAGE_SHIFT): 1 when all zeros */
    uint32_t size;
    uint8_t *state;          /* the instance's bytes when it was taken */
} pb_image;

/* An error: kind, message and JavaScript stack, both NUL-terminated ("" when empty). */
typedef struct pb_error {
    int kind;
    char *message;
    char *stack;
} pb_error;

struct plugbox_engine {
    pb_image base;           /* after the engine's own initialisation */
    pb_image ts_base;        /* base with the TypeScript transpiler loaded: made by the first
                                TypeScript program (under ts_lock), then read-only */
    int ts_ready;            /* atomic: ts_base is made */
    pthread_mutex_t ts_lock;
    uint32_t result_addr;    /* guest addresses of pb_result() and pb_interrupt_word() */
    uint32_t interrupt_addr;
    atomic_int refs;         /* the caller's plus one per live program */
};

struct plugbox_program {
    plugbox_engine *engine;
    const pb_rt_module *mod; /* the module its sandboxes instantiate */
    struct pb_plugin *plugin; /* a WebAssembly plugin's code (plugin.c), or NULL: a script */
    pb_import_plan imports;  /* the plugin's imports */
    char *artifact;          /* the plugin's compiled artifact (plugbox_program_save) */
    size_t artifact_len;
    char *function;          /* the plugin's function called by default, or NULL */
    const pb_rt_export *command; /* a WASI command's _start, or NULL */
    char **argv;             /* a WASI command's arguments */
    size_t argc;
    struct {                 /* the plugin's configuration, key by key (config_get) */
        struct pb_plugin_config {
            char *key, *text;
            size_t text_len;
        } *v;
        size_t n;
    } config;
    pb_image image;
    int function_style;
    pb_functions functions;  /* granted when it was made, fixed */
    pb_error error;
    atomic_int refs;         /* the caller's plus one per live sandbox */
};

/* The guest's outcome (guest/guest.c struct pb_result) as the host reads it. */
typedef struct pb_outcome {
    int32_t kind;
    uint32_t out, out_len, stack, stack_len;
} pb_outcome;

/* One guarded stretch of guest code (call.c): enters a trap guard, arms the time limit,
 * publishes the guard for interrupts, runs body, and undoes all of it on every path. */
typedef struct pb_call pb_call;
struct pb_call {
    pb_instance *in;
    uint64_t time_limit_ms;
    uint32_t interrupt_addr;
    pthread_mutex_t *active_lock;   /* with active: where interrupts find the guard */
    pb_rt_guard **active;
    int *cancel;                    /* set (PB_RT_STORE) before or during the call: stop it */
    int (*body)(pb_call *c, pb_rt_guard *g);
    void *arg;
    pb_rt_guard g;                  /* readable afterwards: stop, grow_refused */
    int trap;                       /* the trap code, 0 if the body returned */
};
int pb__call_run(pb_call *c);
/* The status of a call pb__call_run ran (rc: what it returned). When the guest returned, its
 * outcome is read from result_addr into *o and *have is 1. A host resource that failed during
 * the call makes it PLUGBOX_HOST. */
int pb__call_status(const pb_call *c, int rc, uint32_t result_addr, pb_outcome *o, int *have);
int pb__call_error(pb_error *err, int rc, const pb_call *c, const pb_outcome *o, uint64_t memory_limit);

/* instance.c */
/* image_follows: an image is loaded over the instance before it runs (pb__image_load in
 * full), so its data segments need not be written (pb_rt_instantiate). */
pb_instance *pb__instance_new(const pb_rt_module *mod, const pb_import_plan *plan, int image_follows);
void pb__instance_free(pb_instance *in);
int pb__image_take(pb_image *img, pb_instance *in, const pb_image *from);
void pb__image_free(pb_image *img);
int pb__image_load(pb_instance *in, const pb_image *img, int full);
int pb__image_state_equal(const pb_instance *in, const pb_image *img);
int pb__outcome_read(pb_instance *in, uint32_t addr, pb_outcome *o);
int pb__guest_text(pb_instance *in, uint32_t ptr, uint32_t len, const char **text);
int pb__guest_put(pb_instance *in, pb_rt_guard *g, const char *s, size_t n, uint32_t *addr);
int pb__status_of_trap(int trap, const pb_rt_guard *g);
int pb__status_of_kind(int32_t kind, const pb_rt_guard *g);

/* error.c */
void pb__error_clear(pb_error *e);
int pb__error_set(pb_error *e, int kind, const char *msg, size_t msg_len, const char *stack, size_t stack_len);
int pb__error_setf(pb_error *e, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pb__error_free(pb_error *e);
const char *pb__error_message(const pb_error *e);
const char *pb__error_stack(const pb_error *e);

/* utf8.c: the length of the longest prefix of s[0..n) that is valid UTF-8 without NUL; and
 * s[0..n) copied into d[0..room) as valid UTF-8 without NUL (each bad sequence and NUL a
 * U+FFFD), whole characters only: returns the bytes written, *used the bytes of s taken. */
size_t pb__utf8_valid(const char *s, size_t n);
size_t pb__utf8_copy(char *d, size_t room, const char *s, size_t n, size_t *used);

/* options.c */
void pb__strings_free(char **v, size_t n);
/* *text becomes a NUL-terminated copy of s[0..len) (len (size_t)-1: strlen), or NULL for a
 * NULL s, and *text_len its length; the old text is freed. PLUGBOX_HOST out of memory. */
int pb__options_text(char **text, size_t *text_len, const char *s, size_t len);
int pb__strings_copy(char ***dst, const char *const *src, size_t n);
extern const plugbox_options pb__default_options;
static inline const plugbox_options *pb__opts(const plugbox_options *o) { return o ? o : &pb__default_options; }

/* sandbox.c: a call that a pool can cancel whether it has started or not */
int pb__sandbox_call(plugbox_sandbox *sb, const char *json, size_t len, const char **out, size_t *out_len,
                     int *cancel);

/* imports.c: what a module may ask of the host (deny by default), reached from each module's
 * imports (engine_module.c); h is the instance's import context. */
uint32_t pb__wasi_fd_write(pb_host *h, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nwritten);
uint32_t pb__wasi_clock_time_get(pb_host *h, uint32_t clock_id, uint64_t precision, uint32_t out);
uint32_t pb__wasi_fd_close(pb_host *h, uint32_t fd);
uint32_t pb__wasi_fd_seek(pb_host *h, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out);
void pb__console(pb_host *h, uint32_t level, uint32_t text, uint32_t len);
uint32_t pb__wasi_fd_read(pb_host *h, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nread);
uint32_t pb__wasi_fd_fdstat_get(pb_host *h, uint32_t fd, uint32_t out);
uint32_t pb__wasi_fd_fdstat_set_flags(pb_host *h, uint32_t fd, uint32_t flags);
uint32_t pb__wasi_fd_filestat_get(pb_host *h, uint32_t fd, uint32_t out);
uint32_t pb__wasi_fd_prestat_get(pb_host *h, uint32_t fd, uint32_t out);
uint32_t pb__wasi_fd_prestat_dir_name(pb_host *h, uint32_t fd, uint32_t path, uint32_t len);
uint32_t pb__wasi_path_open(pb_host *h, uint32_t fd, uint32_t dirflags, uint32_t path, uint32_t path_len,
                            uint32_t oflags, uint64_t rights, uint64_t inheriting, uint32_t fdflags, uint32_t out);
uint32_t pb__wasi_environ_sizes_get(pb_host *h, uint32_t count, uint32_t size);
uint32_t pb__wasi_environ_get(pb_host *h, uint32_t environ, uint32_t buf);
uint32_t pb__wasi_args_sizes_get(pb_host *h, uint32_t count, uint32_t size);
uint32_t pb__wasi_args_get(pb_host *h, uint32_t argv, uint32_t buf);
void pb__wasi_proc_exit(pb_host *h, uint32_t code);
uint32_t pb__wasi_random_get(pb_host *h, uint32_t buf, uint32_t len);
uint32_t pb__wasi_clock_res_get(pb_host *h, uint32_t clock_id, uint32_t out);
uint32_t pb__wasi_sched_yield(pb_host *h);
uint32_t pb__wasi_poll_oneoff(pb_host *h, uint32_t in, uint32_t out, uint32_t nsubs, uint32_t nevents);
/* A command's standard output grows by s[0..n): 0, or -1 past out_limit or out of memory. */
int pb__host_out(pb_host *h, const uint8_t *s, size_t n);
uint32_t pb__read_module(pb_host *h, uint32_t name, uint32_t name_len, uint32_t dst, uint32_t cap);

/* grant.c. What a host function's call gave (guest/grant.c mirrors it). */
enum { HOST_UNDEFINED = 0, HOST_JSON = 1, HOST_THREW = 2, HOST_TOO_LARGE = 3, HOST_NO_MEMORY = 4, HOST_REFUSED = 5 };
/* Calls host function `index` of h's with args[0..len) (a JSON array, NUL-terminated) for a
 * plugin; its result or message in h->pending, up to limit bytes. Returns a HOST_* kind. */
int pb__host_invoke(pb_host *h, size_t index, const char *args, size_t len, uint64_t limit);
uint32_t pb__host_call(pb_host *h, uint32_t index, uint32_t args, uint32_t len, uint32_t out_len);
void pb__host_take(pb_host *h, uint32_t dst, uint32_t len);
int pb__functions_copy(pb_functions *dst, const pb_functions *src);
void pb__grants_free(pb_functions *f, pb_config_values *values);
/* text[0..len) is JSON: else PLUGBOX_INPUT, "WHAT is not valid JSON: ... at line L, column C"
 * in err (PLUGBOX_HOST out of memory). */
int pb__check_json_text(const char *what, const char *text, size_t len, pb_error *err);
/* The configuration's base text is JSON (else PLUGBOX_INPUT with line and column in err). */
int pb__grant_check(const plugbox_options *o, pb_error *err);
/* Hands the functions' names and o's configuration to the guest (guest/grant.c); *refused is
 * set when the guest could not install them (its outcome says why). */
int pb__grant_put(pb_instance *in, pb_rt_guard *g, const pb_functions *f, const plugbox_options *o, int *refused);
void pb__pending_free(pb_pending *p);

/* plugin.c */
void pb__import_plan_free(pb_import_plan *plan);
void pb__plugin_config_free(plugbox_program *p);
/* One call of a plugin's function (p's by default) in `in`, through c (limits and
 * cancellation set by the caller): the input, and where its output goes (the Extism
 * kernel's, valid until the next call); the error in err. */
typedef struct pb_plugin_args {
    const char *function;
    const char *input;
    size_t len;
    int stateful;
    const char **out;
    size_t *out_len;
    int *ran_command;  /* set to 1 when the call ran a WASI command */
} pb_plugin_args;
int pb__plugin_call(pb_instance *in, const plugbox_program *p, const pb_plugin_args *a, pb_call *c, pb_error *err,
                    uint64_t memory_limit);

/* engine.c */
plugbox_program *pb__program_alloc(plugbox_engine *engine);
void pb__engine_release(plugbox_engine *e);
void pb__program_release(plugbox_program *p);

#endif
