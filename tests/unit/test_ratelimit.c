/* Unit tests for ratelimit.c: header parsing, pacing and retry delays,
 * with time as a parameter (no sleeping). */
#include "harness.h"
#include "ratelimit.h"

#include <string.h>

#define NOW_MS 1700000000000LL /* 2023-11-14T22:13:20Z */

static void parse(struct rl_headers *h, const char *line)
{
    rl_headers_parse_line(h, line, strlen(line), NOW_MS);
}

static void test_parse_headers(void)
{
    struct rl_headers h;

    rl_headers_init(&h);
    CHECK(!rl_headers_parse_line(&h, "Content-Type: x", 15, NOW_MS));
    parse(&h, "X-RateLimit-Limit: 50");
    parse(&h, "x-ratelimit-remaining:  0 ");
    parse(&h, "x-ratelimit-reset: 1700000002");
    CHECK_INT(h.limit, 50);
    CHECK_INT(h.remaining, 0);
    CHECK_INT(h.reset_epoch_s, 1700000002);
    CHECK_INT(h.retry_after_ms, -1);
    parse(&h, "Retry-After: 3");
    CHECK_INT(h.retry_after_ms, 3000);
    parse(&h, "Retry-After: Tue, 14 Nov 2023 22:13:25 GMT");
    CHECK_INT(h.retry_after_ms, 5000);
    rl_headers_init(&h);
    parse(&h, "x-ratelimit-remaining: lots");
    CHECK_INT(h.remaining, -1);
}

static void test_pacing(void)
{
    struct rl_state s;
    struct rl_headers h;

    rl_state_init(&s);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), 0); /* nothing known yet: go */
    rl_headers_init(&h);
    h.limit = 2;
    h.remaining = 1;
    h.reset_epoch_s = 1700000001;
    rl_state_update(&s, &h, NOW_MS);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), 0);
    ratelimit_note_sent(&s);
    /* bucket now empty: wait until the reset, 1500 ms away */
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS - 500), 1500);
    /* a reset in the past still waits the minimum, never a busy 429 loop */
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS + 5000), RL_MIN_WAIT_MS);
    /* an absurd reset is capped */
    s.reset_epoch_s = 1700009999;
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), RL_WAIT_CAP_MS);
    /* a response without rate-limit headers does not erase what we know */
    rl_headers_init(&h);
    rl_state_update(&s, &h, NOW_MS);
    CHECK(s.known);
}

static void test_classify(void)
{
    CHECK_INT(ratelimit_classify(200), RL_OK);
    CHECK_INT(ratelimit_classify(204), RL_OK);
    CHECK_INT(ratelimit_classify(429), RL_RETRY);
    CHECK_INT(ratelimit_classify(408), RL_RETRY);
    CHECK_INT(ratelimit_classify(500), RL_RETRY);
    CHECK_INT(ratelimit_classify(503), RL_RETRY);
    CHECK_INT(ratelimit_classify(0), RL_RETRY);
    CHECK_INT(ratelimit_classify(409), RL_FAIL);
    CHECK_INT(ratelimit_classify(400), RL_FAIL);
    CHECK_INT(ratelimit_classify(404), RL_FAIL);
    CHECK_INT(ratelimit_classify(413), RL_FAIL);
    CHECK_INT(ratelimit_classify(401), RL_REAUTH);
}

static void test_retry_delay(void)
{
    struct rl_headers h;

    rl_headers_init(&h);
    /* Retry-After wins over everything */
    h.retry_after_ms = 1500;
    h.reset_epoch_s = 1700000009;
    CHECK_INT(ratelimit_retry_delay_ms(429, &h, 1, NOW_MS, 0.5, NULL), 1500);
    /* 429 without Retry-After: until the reset (+ jitter up to 250 ms) */
    h.retry_after_ms = -1;
    h.reset_epoch_s = 1700000002;
    CHECK_INT(ratelimit_retry_delay_ms(429, &h, 1, NOW_MS, 0.0, NULL), 2000);
    CHECK_INT(ratelimit_retry_delay_ms(429, &h, 1, NOW_MS, 0.5, NULL), 2125);
    /* a reset already past waits the minimum */
    CHECK_INT(ratelimit_retry_delay_ms(429, &h, 1, NOW_MS + 9000, 0.0, NULL), RL_MIN_WAIT_MS);
    /* 5xx: exponential with jitter in [cap/2, cap] */
    rl_headers_init(&h);
    CHECK_INT(ratelimit_retry_delay_ms(503, &h, 1, NOW_MS, 0.0, NULL), 250);
    CHECK_INT(ratelimit_retry_delay_ms(503, &h, 1, NOW_MS, 0.999, NULL), 499);
    CHECK_INT(ratelimit_retry_delay_ms(503, &h, 3, NOW_MS, 0.0, NULL), 1000);
    CHECK_INT(ratelimit_retry_delay_ms(0, &h, 4, NOW_MS, 0.0, NULL), 2000);
    /* capped */
    CHECK_INT(ratelimit_retry_delay_ms(500, &h, 40, NOW_MS, 0.0, NULL), RL_BACKOFF_CAP_MS / 2);
    CHECK(ratelimit_retry_delay_ms(500, &h, 40, NOW_MS, 0.999, NULL) <= RL_BACKOFF_CAP_MS);
    /* 429 without any header falls back to backoff */
    CHECK_INT(ratelimit_retry_delay_ms(429, &h, 2, NOW_MS, 0.0, NULL), 500);
    /* a huge Retry-After is capped */
    h.retry_after_ms = 3600 * 1000;
    CHECK_INT(ratelimit_retry_delay_ms(503, &h, 1, NOW_MS, 0.0, NULL), RL_WAIT_CAP_MS);
}

/* A configured backoff (A0SNAP_RETRY_BASE_MS / _MAX_MS): the same shape,
 * other numbers; Retry-After and the reset are not the backoff's to
 * change. */
static void test_retry_delay_configured(void)
{
    const struct rl_backoff fast = {20, 100};
    struct rl_headers h;

    rl_headers_init(&h);
    CHECK_INT(ratelimit_retry_delay_ms(503, &h, 1, NOW_MS, 0.0, &fast), 10);
    CHECK_INT(ratelimit_retry_delay_ms(503, &h, 2, NOW_MS, 0.0, &fast), 20);
    CHECK_INT(ratelimit_retry_delay_ms(0, &h, 3, NOW_MS, 0.999, &fast), 79);
    CHECK_INT(ratelimit_retry_delay_ms(503, &h, 4, NOW_MS, 0.0, &fast), 50); /* capped at 100 */
    CHECK_INT(ratelimit_retry_delay_ms(503, &h, 30, NOW_MS, 0.0, &fast), 50);
    h.retry_after_ms = 3000;
    CHECK_INT(ratelimit_retry_delay_ms(429, &h, 1, NOW_MS, 0.0, &fast), 3000);
    h.retry_after_ms = -1;
    h.reset_epoch_s = 1700000002;
    CHECK_INT(ratelimit_retry_delay_ms(429, &h, 1, NOW_MS, 0.0, &fast), 2000);
    /* an absurd base does not overflow the shift */
    {
        const struct rl_backoff huge = {INT64_MAX / 2, INT64_MAX};
        rl_headers_init(&h);
        CHECK(ratelimit_retry_delay_ms(503, &h, 17, NOW_MS, 0.5, &huge) > 0);
    }
}

/* A bucket of 10 that refills 4 tokens a second, drained by a client that
 * sends `per_s` requests a second: answers every 250 ms report what is
 * left. The estimate reads the refill rate off the headers alone. */
static double simulate_refill(double per_s, double refill, int seconds, long long limit)
{
    struct rl_state s;
    struct rl_headers h;
    double tokens = (double)limit, t = 0, next_send = 0;

    rl_state_init(&s);
    while (t < seconds) {
        t += 0.25;
        tokens += refill * 0.25;
        if (tokens > (double)limit)
            tokens = (double)limit;
        while (next_send <= t) {
            if (tokens >= 1) {
                tokens -= 1;
                ratelimit_note_sent(&s);
            }
            next_send += 1.0 / per_s;
        }
        rl_headers_init(&h);
        h.limit = limit;
        h.remaining = (long long)tokens;
        h.reset_epoch_s = (NOW_MS + (int64_t)(t * 1000)) / 1000 + 1;
        rl_state_update(&s, &h, NOW_MS + (int64_t)(t * 1000));
    }
    return ratelimit_refill_per_s(&s);
}

static void test_refill_estimate(void)
{
    struct rl_state s;
    double r;

    rl_state_init(&s);
    CHECK(ratelimit_refill_per_s(&s) == 0); /* nothing seen */
    /* A client sending faster than the refill finds it: about 4/s. */
    r = simulate_refill(10, 4, 20, 10);
    CHECK(r > 3.5 && r < 4.5);
    r = simulate_refill(40, 16, 20, 50);
    CHECK(r > 14.5 && r < 17.5);
    /* One that never drains the bucket learns nothing (0, not a guess). */
    CHECK(simulate_refill(1, 4, 20, 10) == 0);
    /* Too short a look gives nothing either. */
    CHECK(simulate_refill(10, 4, 1, 10) == 0);
}

static void test_http_date(void)
{
    CHECK_INT(rl_parse_http_date_ms("Tue, 14 Nov 2023 22:13:20 GMT"), NOW_MS);
    CHECK_INT(rl_parse_http_date_ms("yesterday"), -1);
    CHECK_INT(rl_parse_http_date_ms("Tue, 14 Nov 2023 22:13:20 GMT trailing"), -1);
}

int main(void)
{
    RUN(test_parse_headers);
    RUN(test_pacing);
    RUN(test_classify);
    RUN(test_retry_delay);
    RUN(test_retry_delay_configured);
    RUN(test_refill_estimate);
    RUN(test_http_date);
    return harness_done();
}
