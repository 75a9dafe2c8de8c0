/*
 * tests/check.h: the tiny assertion kit every tern test program uses.
 *
 * A test program is one file with a main() that calls RUN(test_fn) for each
 * test. CHECK* macros record a failure (file:line and the expression) and let
 * the test go on; the program prints "N passed, N failed" and exits non-zero
 * when anything failed, so ctest reports it.
 */
#ifndef TERN_TESTS_CHECK_H
#define TERN_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct check_state {
    int failures; /* failed CHECKs in the current test */
    int tests_passed;
    int tests_failed;
};

/* One per test program; tests are single-threaded. */
static struct check_state check_st;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            check_st.failures++;                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__,         \
                    __LINE__, #a, #b, check_a_, check_b_);                                         \
            check_st.failures++;                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (strcmp(check_a_, check_b_) != 0) {                                                     \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__,    \
                    __LINE__, #a, #b, check_a_, check_b_);                                         \
            check_st.failures++;                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                         \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s (%zu bytes)\n", __FILE__, __LINE__, \
                    #a, #b, (size_t)(n));                                                          \
            check_st.failures++;                                                                   \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        check_st.failures = 0;                                                                     \
        fn();                                                                                      \
        if (check_st.failures) {                                                                   \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
            check_st.tests_failed++;                                                               \
        } else {                                                                                   \
            check_st.tests_passed++;                                                               \
        }                                                                                          \
    } while (0)

/* Prints the plain closing line and returns main's exit status. */
#define CHECK_DONE()                                                                               \
    (printf("%d passed, %d failed\n", check_st.tests_passed, check_st.tests_failed),               \
     check_st.tests_failed ? 1 : 0)

#endif
