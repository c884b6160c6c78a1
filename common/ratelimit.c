/*
 * ratelimit.c - see ratelimit.h. Nothing here sleeps or reads a clock.
 *
 * Why pace by the refill rate rather than the reset: Auth0's bucket
 * refills continuously, but x-ratelimit-reset is in whole seconds, so
 * waiting for it waits up to a second past the next token. With a small
 * bucket (the free plan's holds 2 and refills 2 a second) the tokens that
 * land meanwhile overflow and are lost: waiting for the reset ran at ~80%
 * of the rate. Spacing requests at 1/rate after the answer that found the
 * bucket empty lands each one just after its token; the answer's time is
 * later than the server's count, so the spacing errs long, and what it
 * saves stays in the bucket, shows in `remaining` and is spent at once.
 * The reset still bounds the wait (an estimate too low never waits longer
 * than the old rule did; like that rule, it trusts our clock to be in step
 * with the server's), and until the rate is known it is the rule.
 *
 * A bucket shared with other clients shows as a lower refill (their
 * requests lower `remaining`, and only ours are counted): we pace at what
 * is left for us. Their requests still take tokens we counted on now and
 * then; those 429s are retried after Retry-After or the reset, as before.
 */
#include "ratelimit.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void rl_headers_init(struct rl_headers *h)
{
    h->limit = -1;
    h->remaining = -1;
    h->reset_epoch_s = -1;
    h->retry_after_ms = -1;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen)
{
    size_t n = strlen(name);

    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    line += n + 1;
    len -= n + 1;
    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    *value = line;
    *vlen = len;
    return true;
}

static long long parse_ll(const char *v, size_t n)
{
    char tmp[32];
    char *end;
    long long x;

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    errno = 0;
    x = strtoll(tmp, &end, 10);
    /* Values are multiplied by 1000 (seconds to ms): refuse what would
     * overflow rather than wrap (a hostile or broken header). */
    if (*end != '\0' || x < 0 || errno == ERANGE || x > INT64_MAX / 1000)
        return -1;
    return x;
}

int64_t rl_parse_http_date_ms(const char *s)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0')
        return -1;
    return (int64_t)timegm(&tm) * 1000;
}

bool rl_headers_parse_line(struct rl_headers *h, const char *line, size_t len, int64_t now_epoch_ms)
{
    const char *v;
    size_t vlen;

    if (header_is(line, len, "x-ratelimit-limit", &v, &vlen)) {
        h->limit = parse_ll(v, vlen);
        return true;
    }
    if (header_is(line, len, "x-ratelimit-remaining", &v, &vlen)) {
        h->remaining = parse_ll(v, vlen);
        return true;
    }
    if (header_is(line, len, "x-ratelimit-reset", &v, &vlen)) {
        h->reset_epoch_s = parse_ll(v, vlen);
        return true;
    }
    if (header_is(line, len, "retry-after", &v, &vlen)) {
        long long secs = parse_ll(v, vlen);
        if (secs >= 0) {
            h->retry_after_ms = secs * 1000;
        } else if (vlen < 64) {
            char tmp[64];
            int64_t when;
            memcpy(tmp, v, vlen);
            tmp[vlen] = '\0';
            when = rl_parse_http_date_ms(tmp);
            if (when >= 0)
                h->retry_after_ms = when > now_epoch_ms ? when - now_epoch_ms : 0;
        }
        return true;
    }
    return false;
}

void rl_state_init(struct rl_state *s)
{
    memset(s, 0, sizeof(*s));
    s->known = false;
    s->limit = -1;
    s->remaining = -1;
    s->reset_epoch_s = -1;
    s->seen_remaining = -1;
}

/* Closes the refill window at an answer saying `remaining`, and opens the
 * next one there. */
static void refill_window(struct rl_state *s, long long remaining, int64_t now_ms)
{
    int64_t dt = now_ms - s->window_ms;
    long long added;

    if (s->window_ms && dt < RL_REFILL_WINDOW_MS)
        return; /* too short to tell; keep counting */
    if (s->window_ms && s->limit > 0 && s->window_remaining < s->limit && remaining < s->limit) {
        added = remaining - s->window_remaining + s->window_sent;
        if (added >= 0) {
            /* Older windows weigh less: a tenant's limit can change. */
            s->refilled = s->refilled * 0.75 + (double)added;
            s->refill_seconds = s->refill_seconds * 0.75 + (double)dt / 1000.0;
        }
    }
    s->window_ms = now_ms;
    s->window_remaining = remaining;
    s->window_sent = 0;
}

void rl_state_update(struct rl_state *s, const struct rl_headers *h, int64_t now_epoch_ms)
{
    if (h->remaining < 0 && h->reset_epoch_s < 0)
        return;
    s->known = true;
    s->limit = h->limit;
    s->remaining = h->remaining;
    s->reset_epoch_s = h->reset_epoch_s;
    s->seen_remaining = h->remaining;
    s->seen_ms = now_epoch_ms;
    s->sent_since = 0;
    if (h->remaining >= 0)
        refill_window(s, h->remaining, now_epoch_ms);
}

double ratelimit_refill_per_s(const struct rl_state *s)
{
    if (s->refill_seconds < RL_REFILL_MIN_S * 0.75 || s->refilled <= 0)
        return 0;
    return s->refilled / s->refill_seconds;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* v clamped to [0, RL_WAIT_CAP_MS], in double: a hostile count of tokens
 * must not overflow on the way. */
static int64_t wait_ms(double v)
{
    return v <= 0 ? 0 : v >= (double)RL_WAIT_CAP_MS ? RL_WAIT_CAP_MS : (int64_t)v;
}

int64_t ratelimit_pace_ms(const struct rl_state *s, int64_t now_epoch_ms)
{
    double rate = ratelimit_refill_per_s(s) * RL_PACE_SHARE;
    long long need; /* tokens that must land after the answer */
    int64_t by_reset, by_rate;

    if (!s->known || s->seen_remaining < 0)
        return 0;
    need = s->sent_since - s->seen_remaining + 1;
    if (need <= 0)
        return 0;
    if (s->reset_epoch_s < 0)
        by_reset = RL_MIN_WAIT_MS;
    else
        by_reset = clamp(s->reset_epoch_s * 1000 - now_epoch_ms, RL_MIN_WAIT_MS, RL_WAIT_CAP_MS);
    if (rate <= 0)
        return by_reset;
    if (rate > RL_PACE_MAX_PER_S)
        rate = RL_PACE_MAX_PER_S;
    /* The reset is when the first token lands; later ones follow at the rate. */
    if (need > 1)
        by_reset = wait_ms((double)by_reset + (double)(need - 1) * 1000.0 / rate);
    /* +1: a wait that rounds down would come a little before the token. */
    by_rate = wait_ms((double)(s->seen_ms - now_epoch_ms) + (double)need * 1000.0 / rate + 1);
    return by_rate < by_reset ? by_rate : by_reset;
}

void ratelimit_note_sent(struct rl_state *s)
{
    if (s->known && s->remaining > 0)
        s->remaining--;
    s->window_sent++;
    s->sent_since++;
}

void ratelimit_note_refused(struct rl_state *s)
{
    /* A 429 took no token: counting it would read as refill that never was. */
    if (s->window_sent > 0)
        s->window_sent--;
    if (s->sent_since > 0)
        s->sent_since--;
}

enum rl_verdict ratelimit_classify(long status)
{
    if (status >= 200 && status < 300)
        return RL_OK;
    if (status == 0 || status == 429 || status == 408 || status >= 500)
        return RL_RETRY;
    if (status == 401)
        return RL_REAUTH;
    return RL_FAIL;
}

int64_t ratelimit_retry_delay_ms(long status, const struct rl_headers *h, int attempt,
                                 int64_t now_epoch_ms, double rnd, const struct rl_backoff *b)
{
    int64_t base = b && b->base_ms > 0 ? b->base_ms : RL_BACKOFF_BASE_MS;
    int64_t cap = b && b->cap_ms > 0 ? b->cap_ms : RL_BACKOFF_CAP_MS;
    int64_t backoff;
    int shift;

    if (h && h->retry_after_ms >= 0)
        return clamp(h->retry_after_ms, 0, RL_WAIT_CAP_MS);
    if (status == 429 && h && h->reset_epoch_s >= 0) {
        int64_t until = h->reset_epoch_s * 1000 - now_epoch_ms;
        /* A little jitter so parallel clients don't stampede at the reset. */
        until += (int64_t)(rnd * 250.0);
        return clamp(until, RL_MIN_WAIT_MS, RL_WAIT_CAP_MS);
    }
    /* Full jitter: uniform in [cap/2, cap] keeps a floor so a burst of 5xx
     * is not hammered, and spreads clients out. */
    shift = attempt < 1 ? 0 : attempt - 1;
    if (shift > 16)
        shift = 16;
    if (base > RL_WAIT_CAP_MS)
        base = RL_WAIT_CAP_MS; /* with the shift cap, no overflow */
    backoff = base << shift;
    if (backoff > cap)
        backoff = cap;
    return backoff / 2 + (int64_t)(rnd * (double)(backoff / 2));
}
