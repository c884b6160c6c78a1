/* Unit tests of the unit-test harness itself: a test that checks nothing
 * must fail, or an early return would pass for a proof. */
#include "harness.h"

static void checks_nothing(void)
{
}

static void checks_once(void)
{
    CHECK(1 + 1 == 2);
}

/* Runs one test through RUN and says whether the harness failed it,
 * leaving the program's own counters as they were. */
static int harness_fails(void (*fn)(void))
{
    int passed = harness_passed, failed = harness_failed, cur = harness_cur_failed;
    long checks = harness_cur_checks;
    int verdict;

    RUN(fn);
    verdict = harness_failed - failed;
    harness_passed = passed;
    harness_failed = failed;
    harness_cur_failed = cur;
    harness_cur_checks = checks;
    return verdict;
}

static void test_a_test_without_checks_fails(void)
{
    CHECK_INT(harness_fails(checks_nothing), 1);
    CHECK_INT(harness_fails(checks_once), 0);
}

int main(void)
{
    RUN(test_a_test_without_checks_fails);
    return harness_done();
}
