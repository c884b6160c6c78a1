/* Unit tests for the export job's polling (common/dump_job.c): when the
 * next poll goes out, with time as a parameter (no sleeping). */
#include "dump_internal.h"
#include "harness.h"

/* The job's own estimate, in whole seconds, brings the poll forward: to a
 * quarter second after the earliest moment the job can end. */
static void test_poll_after_time_left(void)
{
    CHECK_INT(dump_job_poll_ms(5000, -1), 5000); /* no estimate: the backoff */
    CHECK_INT(dump_job_poll_ms(750, -1), 750);
    CHECK_INT(dump_job_poll_ms(5000, 3000), 2250); /* ends in (2 s, 3 s] */
    CHECK_INT(dump_job_poll_ms(5000, 2000), 1250);
    CHECK_INT(dump_job_poll_ms(5000, 1000), 250); /* under a second: 4 times a second */
    CHECK_INT(dump_job_poll_ms(5000, 0), 250);
    CHECK_INT(dump_job_poll_ms(1000, 9000), 1000); /* the backoff when sooner */
    CHECK_INT(dump_job_poll_ms(100, 0), 100);
}

/* A job of 10.02 s polled from 2 s on (the backoff: 0.5 s, growing by half
 * up to 5 s), its time_left_seconds rounded up as the fake does: the poll
 * that finds it done comes at most a quarter second after, and with at
 * most five polls more than the backoff's own would take. */
static void test_poll_finds_the_end(void)
{
    const int64_t end = 10020;
    int64_t t = 2000, delay = 500, found = -1;
    int polls = 0;

    while (found < 0 && polls < 100) {
        polls++;
        if (t >= end) {
            found = t;
            break;
        }
        t += dump_job_poll_ms(delay, (end - t + 999) / 1000 * 1000);
        delay = delay * 3 / 2 > 5000 ? 5000 : delay * 3 / 2;
    }
    CHECK(found >= end && found <= end + 250);
    CHECK(polls <= 12);
}

int main(void)
{
    RUN(test_poll_after_time_left);
    RUN(test_poll_finds_the_end);
    return harness_done();
}
