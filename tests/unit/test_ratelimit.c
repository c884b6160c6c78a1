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

/* A state whose answers so far imply `per_s` tokens a second. */
static void state_with_rate(struct rl_state *s, double per_s)
{
    rl_state_init(s);
    s->refilled = per_s * 10;
    s->refill_seconds = 10;
}

static void answer(struct rl_state *s, long long limit, long long remaining, long long reset_s,
                   int64_t now_ms)
{
    struct rl_headers h;

    rl_headers_init(&h);
    h.limit = limit;
    h.remaining = remaining;
    h.reset_epoch_s = reset_s;
    rl_state_update(s, &h, now_ms);
}

/* With the refill rate known, an empty bucket is paced at 1/rate from the
 * answer that found it empty, not to the reset's whole second. */
static void test_pacing_by_rate(void)
{
    const int64_t one = (int64_t)(1000.0 / (2.0 * RL_PACE_SHARE)) + 1;
    const int64_t two = (int64_t)(2000.0 / (2.0 * RL_PACE_SHARE)) + 1;
    struct rl_state s;

    state_with_rate(&s, 2.0);
    CHECK(ratelimit_refill_per_s(&s) == 2.0);
    CHECK(one > 500 && one < 560); /* 1/rate, a little longer */
    /* tokens left: go */
    answer(&s, 2, 1, NOW_MS / 1000 + 1, NOW_MS);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), 0);
    ratelimit_note_sent(&s);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), one); /* sent it: now empty */
    /* empty, with a reset far away: the rate, not the reset */
    answer(&s, 2, 0, NOW_MS / 1000 + 30, NOW_MS);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), one);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS + 200), one - 200);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS + one), 0);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS + 5000), 0);
    /* a second request before any answer needs the token after that one */
    ratelimit_note_sent(&s);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), two);
    /* a reset sooner than the rate says: the reset (it is when the next
     * token lands, so the estimate was low) */
    state_with_rate(&s, 0.2);
    answer(&s, 2, 0, NOW_MS / 1000 + 1, NOW_MS + 700);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS + 700), 300);
    /* ... and for a second token, the reset and then one refill */
    ratelimit_note_sent(&s);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS + 700), 300 + (int64_t)(1000.0 / (0.2 * RL_PACE_SHARE)));
    /* a reset already past: the minimum wait, as without a rate */
    answer(&s, 2, 0, NOW_MS / 1000, NOW_MS + 700);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS + 700), RL_MIN_WAIT_MS);
    /* no reset at all: the rate, or the minimum wait if sooner */
    state_with_rate(&s, 2.0);
    answer(&s, 2, 0, -1, NOW_MS);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), RL_MIN_WAIT_MS);
    state_with_rate(&s, 16.0);
    answer(&s, 50, 0, -1, NOW_MS);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), (int64_t)(1000.0 / (16.0 * RL_PACE_SHARE)) + 1);
    /* an absurd rate is held to RL_PACE_MAX_PER_S: never a busy loop */
    state_with_rate(&s, 1e15);
    answer(&s, 2, 0, NOW_MS / 1000 + 1, NOW_MS);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), (int64_t)(1000.0 / RL_PACE_MAX_PER_S) + 1);
    /* an absurd backlog is capped */
    state_with_rate(&s, 2.0);
    answer(&s, 2, 0, NOW_MS / 1000 + 1, NOW_MS);
    s.sent_since = 1LL << 62;
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), RL_WAIT_CAP_MS);
    /* an answer without `remaining` tells nothing to pace by */
    answer(&s, 2, -1, NOW_MS / 1000 + 1, NOW_MS);
    CHECK_INT(ratelimit_pace_ms(&s, NOW_MS), 0);
}

/* A 429 took no token: taken back, the refill estimate does not count it. */
static void test_refused_takes_no_token(void)
{
    struct rl_state s;
    double tokens = 2, t = 0;
    int refused = 0;

    rl_state_init(&s);
    ratelimit_note_sent(&s);
    CHECK_INT(s.window_sent, 1);
    CHECK_INT(s.sent_since, 1);
    ratelimit_note_refused(&s);
    CHECK_INT(s.window_sent, 0);
    CHECK_INT(s.sent_since, 0);
    ratelimit_note_refused(&s); /* never below zero */
    CHECK_INT(s.window_sent, 0);
    /* A client that ignores the pacing and sends 5 a second into a bucket
     * of 2 refilling 2 a second: over half are refused, and the estimate
     * still reads the refill, not the sending. */
    while (t < 30) {
        bool ok;
        t += 0.2;
        tokens = tokens + 0.4 > 2 ? 2 : tokens + 0.4;
        ratelimit_note_sent(&s);
        ok = tokens >= 1;
        if (ok)
            tokens -= 1;
        else
            ratelimit_note_refused(&s);
        refused += !ok;
        answer(&s, 2, (long long)tokens, 0, NOW_MS + (int64_t)(t * 1000));
    }
    CHECK(refused > 60);
    CHECK(ratelimit_refill_per_s(&s) > 1.8 && ratelimit_refill_per_s(&s) < 2.2);
}

/* The fake tenant's bucket (tests/fake/fake_http.py TokenBucket), in
 * virtual time, against a client that sends `n` requests one after
 * another, pausing as ratelimit_pace_ms() says; latency_ms each way
 * (varying +-50%), think_ms of local work between requests, and every
 * idle_every requests a pause of idle_ms (a job running). Returns the
 * seconds it took; *refused counts the 429s. */
struct sim {
    double burst, rate;
    int n;
    double latency_ms, think_ms;
    int idle_every;
    double idle_ms;
};

static double simulate_client(const struct sim *c, int *refused)
{
    const double t0 = (double)NOW_MS / 1000;
    double t = t0, tokens = c->burst, last = t0;
    unsigned long long rng = 88172645463325252ULL;
    struct rl_state s;
    int done = 0;

    *refused = 0;
    rl_state_init(&s);
    while (done < c->n) {
        struct rl_headers h;
        double ts, frac;
        bool ok;

        t += (double)ratelimit_pace_ms(&s, (int64_t)(t * 1000)) / 1000;
        ratelimit_note_sent(&s);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        ts = t + c->latency_ms / 1000 * (0.5 + (double)(rng % 1000) / 1000);
        tokens += (ts - last) * c->rate;
        if (tokens > c->burst)
            tokens = c->burst;
        last = ts;
        ok = tokens >= 1;
        if (ok)
            tokens -= 1;
        rl_headers_init(&h);
        h.limit = (long long)c->burst;
        h.remaining = (long long)tokens;
        frac = tokens - (double)h.remaining;
        h.reset_epoch_s =
            tokens >= c->burst ? (long long)ts : (long long)(ts + (1 - frac) / c->rate) + 1;
        t = ts + 0.002 + c->latency_ms / 1000 * (0.5 + (double)(rng % 997) / 997);
        if (!ok) {
            ++*refused;
            ratelimit_note_refused(&s);
        }
        rl_state_update(&s, &h, (int64_t)(t * 1000));
        if (!ok) {
            t +=
                (double)ratelimit_retry_delay_ms(429, &h, 1, (int64_t)(t * 1000), 0.5, NULL) / 1000;
            continue;
        }
        done++;
        t += c->think_ms / 1000 * (double)(rng % 1001) / 1000;
        if (c->idle_every && done % c->idle_every == 0)
            t += c->idle_ms / 1000;
    }
    return t - t0;
}

/* What issue 19 measured: paced to the reset's whole second, a bucket of 2
 * refilling 2 a second was used at ~80%. Paced by the rate, every plan's
 * bucket is used at close to its rate, with no 429. */
static void test_pacing_keeps_up(void)
{
    static const struct sim runs[] = {
        {2, 2, 1000, 5, 0, 0, 0},       /* free plan, a fast network */
        {2, 2, 1000, 40, 20, 0, 0},     /* free plan, far away, some local work */
        {2, 2, 1000, 5, 100, 50, 3000}, /* free plan, jobs now and then */
        {10, 2, 1000, 10, 10, 0, 0},    /* enterprise non-production */
        {50, 16, 5000, 5, 0, 0, 0},     /* enterprise production */
        {50, 16, 5000, 5, 10, 200, 5000},
    };

    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        const struct sim *c = &runs[i];
        double bound = ((double)c->n - c->burst) / c->rate;
        double idle = c->idle_every ? (double)(c->n / c->idle_every) * c->idle_ms / 1000 : 0;
        int refused;
        double took = simulate_client(c, &refused);

        CHECK_INT(refused, 0);
        /* The idle pauses refill the bucket too: the bound only holds
         * without them; with them, the time must not exceed it by more
         * than the pauses themselves. */
        CHECK(took < bound * 1.03 + idle);
        if (refused || took >= bound * 1.03 + idle)
            fprintf(stderr, "run %zu: %.1f s, bound %.1f s + idle %.1f s, %d refused\n", i, took,
                    bound, idle, refused);
    }
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
    RUN(test_pacing_by_rate);
    RUN(test_refused_takes_no_token);
    RUN(test_pacing_keeps_up);
    RUN(test_http_date);
    return harness_done();
}
