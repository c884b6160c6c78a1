/*
 * ratelimit.h - the arithmetic of pacing and retrying, as pure functions.
 *
 * Auth0 answers every Management API call with x-ratelimit-limit (bucket
 * size), x-ratelimit-remaining and x-ratelimit-reset (epoch seconds when
 * requests are next added to the bucket). The client keeps the latest
 * values and, before each request, asks ratelimit_pace_ms() how long to
 * wait so it stays under the limit instead of bouncing off it with 429s:
 * with tokens left it goes at once; with the bucket empty it spaces its
 * requests by the refill rate the answers imply, or, before they imply
 * one, waits for the reset.
 *
 * After a failed attempt, ratelimit_classify() says whether the answer is
 * worth retrying (429, 408, 5xx, transport errors; never 409 or other 4xx)
 * and ratelimit_retry_delay_ms() how long to wait: Retry-After if present,
 * else the reset time for a 429, else capped exponential backoff with full
 * jitter. Time and randomness are parameters, so tests assert "waits
 * 1500 ms" without sleeping.
 */
#ifndef A0SNAP_RATELIMIT_H
#define A0SNAP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one response said about the limits; a field is -1 when absent. */
struct rl_headers {
    long long limit;
    long long remaining;
    long long reset_epoch_s;  /* x-ratelimit-reset */
    long long retry_after_ms; /* Retry-After converted to a delay, -1 if absent */
};

/* The client's picture of the bucket, updated from every response. */
struct rl_state {
    bool known;
    long long limit;
    long long remaining;
    long long reset_epoch_s;
    /* The refill rate the headers imply: between two answers, the tokens
     * added are the rise of `remaining` plus the requests sent meanwhile.
     * Windows of at least a second where the bucket was never full (a full
     * bucket drops what the refill brings) add to a decaying sum. */
    int64_t window_ms;          /* when the current window started (0: none) */
    long long window_remaining; /* remaining then */
    long long window_sent;      /* requests sent since */
    double refilled, refill_seconds;
    /* The last answer that said what was left, for pacing: when it came,
     * what it said, and the requests sent since. */
    int64_t seen_ms;
    long long seen_remaining; /* -1: no answer said yet */
    long long sent_since;
};

#define RL_BACKOFF_BASE_MS 500
#define RL_BACKOFF_CAP_MS  30000
#define RL_WAIT_CAP_MS     60000
#define RL_MIN_WAIT_MS     100

void rl_headers_init(struct rl_headers *h);

/* Parses one header line ("name: value") into h when it is one of ours;
 * now_epoch_ms converts an HTTP-date Retry-After into a delay. Returns true
 * if the line was a rate-limit header. Tolerates case and spaces. */
bool rl_headers_parse_line(struct rl_headers *h, const char *line, size_t len,
                           int64_t now_epoch_ms);

void rl_state_init(struct rl_state *s);
/* Takes in what an answer received at now_epoch_ms said. */
void rl_state_update(struct rl_state *s, const struct rl_headers *h, int64_t now_epoch_ms);

/* The refill rate (requests per second) the answers so far imply, or 0
 * when they do not tell yet (too little time observed, or a bucket that
 * never ran low). */
double ratelimit_refill_per_s(const struct rl_state *s);

/* How long to wait before sending the next request (0 = go now), at most
 * RL_WAIT_CAP_MS. While the last answer's remaining covers the requests
 * sent since, none. Else the next token is due `need` refills after that
 * answer (need = requests sent since - remaining + 1): with a refill rate
 * known, waits until then at RL_PACE_SHARE of that rate, or until the
 * reset if that comes sooner (the reset is when the next token lands, so
 * it bounds the wait from above: an estimate too low never waits longer
 * than the headers say); with no rate yet, waits until the reset, at least
 * RL_MIN_WAIT_MS (a reset that rounds down to "now" must not turn into a
 * 429 loop). Each request sent is counted by ratelimit_note_sent(); one
 * that was answered 429 took no token: ratelimit_note_refused() before
 * rl_state_update() takes that back. (A 429 for another cause, such as
 * too many import jobs, may have taken one: taking it back then errs
 * toward a lower estimate, the safe side.) */
int64_t ratelimit_pace_ms(const struct rl_state *s, int64_t now_epoch_ms);
void ratelimit_note_sent(struct rl_state *s);
void ratelimit_note_refused(struct rl_state *s);

#define RL_REFILL_WINDOW_MS 1000 /* shortest window the refill is measured over */
#define RL_REFILL_MIN_S     2.0  /* observed time before the estimate is given */
/* Pacing spaces requests at this share of the estimated rate: an estimate
 * read off whole-token counts can be a little high, and a wait a little
 * long costs nothing a bucket of two or more does not give back (the
 * tokens it saves show in `remaining`, which sends at once). */
#define RL_PACE_SHARE     0.95
#define RL_PACE_MAX_PER_S 1000.0 /* the fastest pace an estimate can ask for */

enum rl_verdict {
    RL_OK,     /* 2xx: done */
    RL_RETRY,  /* 429, 408, 5xx or a transport error: wait and retry */
    RL_FAIL,   /* any other answer: do not retry (409 above all) */
    RL_REAUTH, /* 401: refresh the token once, then retry */
};

/* status 0 means the request failed in transport (no answer). */
enum rl_verdict ratelimit_classify(long status);

/* The backoff of answers that say nothing about when to come back: the
 * first retry waits between base/2 and base, each further one twice as
 * long, never more than cap. */
struct rl_backoff {
    int64_t base_ms; /* RL_BACKOFF_BASE_MS by default */
    int64_t cap_ms;  /* RL_BACKOFF_CAP_MS by default */
};

/* Delay before retry number `attempt` (1 = first retry). rnd is uniform in
 * [0, 1). b NULL = the default backoff. */
int64_t ratelimit_retry_delay_ms(long status, const struct rl_headers *h, int attempt,
                                 int64_t now_epoch_ms, double rnd, const struct rl_backoff *b);

/* Seconds from an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT") as epoch ms,
 * or -1. */
int64_t rl_parse_http_date_ms(const char *s);

#endif
