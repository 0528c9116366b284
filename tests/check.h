/* SPDX-License-Identifier: MIT */
/* check.h - the checks and the case runner the C test programs share.
 *
 * A program lists its cases in `cases[]` and calls run_cases(argc, argv, cases, n): with a
 * name it runs that case, without one all of them, and it ends with the line
 * "N passed, M failed" and exit status 1 on any failure or unknown name. */
#ifndef PLUGBOX_TESTS_CHECK_H
#define PLUGBOX_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>
#include <time.h>

static int failures, checks;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        checks++;                                                                   \
        if (!(cond)) {                                                              \
            failures++;                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        checks++;                                                                                  \
        if (a_ != b_) {                                                                            \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_); \
        }                                                                                          \
    } while (0)

#define CHECK_STR(got, want)                                                                   \
    do {                                                                                       \
        const char *g_ = (got), *w_ = (want);                                                  \
        checks++;                                                                              \
        if (!g_ || strcmp(g_, w_) != 0) {                                                      \
            failures++;                                                                        \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #got, \
                    g_ ? g_ : "(null)", w_);                                                    \
        }                                                                                      \
    } while (0)

#define CHECK_HAS(got, part)                                                                           \
    do {                                                                                               \
        const char *g_ = (got), *p_ = (part);                                                          \
        checks++;                                                                                      \
        if (!g_ || !strstr(g_, p_)) {                                                                  \
            failures++;                                                                                \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected it to contain \"%s\"\n", __FILE__, __LINE__, \
                    #got, g_ ? g_ : "(null)", p_);                                                     \
        }                                                                                              \
    } while (0)

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A "kB" field of /proc/self/status (VmRSS, VmSize), -1 if missing. */
static inline long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && sscanf(line + n, ": %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

static inline int run_cases(int argc, char **argv, const test_case *cases, size_t n)
{
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < n; i++)
            puts(cases[i].name);
        return 0;
    }
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name))
            continue;
        cases[i].fn();
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "no case named %s\n", argc > 1 ? argv[1] : "");
        return 1;
    }
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}

#endif
