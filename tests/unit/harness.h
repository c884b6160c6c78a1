/*
 * harness.h - the unit-test harness: a test is a void function that makes
 * CHECKs; main() RUNs each and ends with harness_done(), whose last line is
 * "N passed, N failed" (one count per test function). Failed checks print
 * file:line and the expression. A test that made no check at all fails:
 * it proved nothing (an early return, a loop over nothing).
 */
#ifndef A0SNAP_HARNESS_H
#define A0SNAP_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed, harness_cur_failed;
static long harness_cur_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        harness_cur_checks++;                                                                      \
        if (!(cond)) {                                                                             \
            harness_cur_failed++;                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        harness_cur_checks++;                                                                      \
        long long ha_ = (long long)(a), hb_ = (long long)(b);                                      \
        if (ha_ != hb_) {                                                                          \
            harness_cur_failed++;                                                                  \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, ha_,     \
                    hb_);                                                                          \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        harness_cur_checks++;                                                                      \
        const char *ha_ = (a), *hb_ = (b);                                                         \
        if (!ha_ || !hb_ || strcmp(ha_, hb_) != 0) {                                               \
            harness_cur_failed++;                                                                  \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,      \
                    ha_ ? ha_ : "(null)", hb_ ? hb_ : "(null)");                                   \
        }                                                                                          \
    } while (0)

#define RUN(test)                                                                                  \
    do {                                                                                           \
        harness_cur_failed = 0;                                                                    \
        harness_cur_checks = 0;                                                                    \
        test();                                                                                    \
        if (harness_cur_checks == 0) {                                                             \
            harness_cur_failed++;                                                                  \
            fprintf(stderr, "%s: made no check\n", #test);                                         \
        }                                                                                          \
        if (harness_cur_failed) {                                                                  \
            harness_failed++;                                                                      \
            fprintf(stderr, "FAIL %s\n", #test);                                                   \
        } else {                                                                                   \
            harness_passed++;                                                                      \
        }                                                                                          \
    } while (0)

/* A program that ran no test at all fails too. */
static inline int harness_done(void)
{
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed || harness_passed == 0 ? 1 : 0;
}

#endif
