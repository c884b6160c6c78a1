/*
 * tenant.c - see tenant.h: the client's lifecycle, its one retry loop
 * (tenant_exchange, for the token request and every API call alike), API
 * calls and downloads. The token lives in tenant_token.c, paging in
 * tenant_list.c.
 *
 * A 401 gets one token refresh: Auth0's body for an expired token is not
 * documented officially, so any 401 is treated as possibly expired, once.
 */
#include "tenant_internal.h"

#include "api_error.h"
#include "buf.h"
#include "url.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_RESP ((size_t)64 << 20)

/* ---- clock, sleep, randomness ---- */

int64_t tenant_now_ms(struct tenant *t)
{
    struct timespec ts;

    if (t->opt.now_ms)
        return t->opt.now_ms(t->opt.clock_ctx);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tenant_sleep_ms(struct tenant *t, int64_t ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    t->stats.waited_s += (double)ms / 1000.0;
    if (t->opt.sleep_ms) {
        t->opt.sleep_ms(t->opt.clock_ctx, ms);
        return;
    }
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static double tenant_random(struct tenant *t)
{
    /* xorshift64*: jitter only, no security role. */
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    return (double)((t->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

void tenant_notify(struct tenant *t, int level, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    if (!t->opt.notify)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    t->opt.notify(t->opt.notify_ctx, level, msg);
}

/* The path for traces: values of query parameters that can hold personal
 * data (email, q) are replaced by "...". */
static void trace_path(char *out, size_t outlen, const char *path)
{
    size_t j = 0;
    const char *p = path;
    bool in_query = false, redact = false;

    while (*p && j + 4 < outlen) {
        if (!in_query && *p == '?') {
            in_query = true;
            out[j++] = *p++;
            redact = strncmp(p, "email=", 6) == 0 || strncmp(p, "q=", 2) == 0;
            continue;
        }
        if (in_query && *p == '&') {
            out[j++] = *p++;
            redact = strncmp(p, "email=", 6) == 0 || strncmp(p, "q=", 2) == 0;
            continue;
        }
        if (in_query && redact && p > path && p[-1] == '=') {
            memcpy(out + j, "...", 3);
            j += 3;
            while (*p && *p != '&')
                p++;
            continue;
        }
        out[j++] = *p++;
    }
    out[j] = '\0';
}

/* Attempts allowed for an answer: rate limits get the whole budget (they
 * clear by themselves); server errors and, above all, a tenant that can't
 * be reached at all get fewer, so a wrong URL fails in seconds. */
static int attempt_limit(const struct tenant *t, long status)
{
    int limit = status == 429 ? t->opt.max_attempts : status == 0 ? 4 : 6;

    return limit < t->opt.max_attempts ? limit : t->opt.max_attempts;
}

/* ---- lifecycle ---- */

static int dup_str(char **dst, const char *src, struct err *e)
{
    *dst = src ? strdup(src) : NULL;
    return (src && !*dst) ? err_oom(e) : 0;
}

int tenant_new(struct tenant **out, const struct tenant_config *cfg,
               const struct tenant_options *opts, struct err *e)
{
    struct tenant *t;

    *out = NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return err_oom(e);
    if (opts)
        t->opt = *opts;
    if (t->opt.max_attempts <= 0)
        t->opt.max_attempts = 10;
    if (t->opt.call_timeout_s <= 0)
        t->opt.call_timeout_s = 300;
    if (t->opt.max_response == 0)
        t->opt.max_response = DEFAULT_MAX_RESP;
    t->cfg.timing = cfg->timing;
    if (t->opt.stall_timeout_s <= 0)
        t->opt.stall_timeout_s =
            cfg->timing.stall_timeout_s > 0 ? cfg->timing.stall_timeout_s : TIMING_STALL_TIMEOUT_S;
    t->backoff.base_ms =
        cfg->timing.retry_base_ms > 0 ? cfg->timing.retry_base_ms : TIMING_RETRY_BASE_MS;
    t->backoff.cap_ms =
        cfg->timing.retry_max_ms > 0 ? cfg->timing.retry_max_ms : TIMING_RETRY_MAX_MS;
    rl_state_init(&t->rl);
    t->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    if (dup_str(&t->cfg.domain, cfg->domain, e) < 0 ||
        dup_str(&t->cfg.api_url, cfg->api_url, e) < 0 ||
        dup_str(&t->cfg.client_id, cfg->client_id, e) < 0 ||
        dup_str(&t->cfg.client_secret, cfg->client_secret, e) < 0)
        goto fail;
    if (url_check_transport(t->cfg.api_url, "API URL", e) < 0)
        goto fail;
    if (http_client_new(&t->api, e) < 0 || http_client_new(&t->dl, e) < 0)
        goto fail;
    *out = t;
    return 0;
fail:
    tenant_free(t);
    return -1;
}

void tenant_free(struct tenant *t)
{
    if (!t)
        return;
    http_client_free(t->api);
    http_client_free(t->dl);
    tenant_token_release(t);
    tenant_config_release(&t->cfg);
    free(t);
}

const char *tenant_domain(const struct tenant *t)
{
    return t->cfg.domain;
}

const struct tenant_stats *tenant_stats(const struct tenant *t)
{
    return &t->stats;
}

double tenant_rate_estimate(const struct tenant *t)
{
    return ratelimit_refill_per_s(&t->rl);
}

const struct tenant_timing *tenant_timing(const struct tenant *t)
{
    return &t->cfg.timing;
}

/* ---- the retry loop ---- */

/* The cause of a failed attempt, for the retry line. */
static void attempt_cause(char *out, size_t n, long status, const struct err *te)
{
    const char *text = api_status_text(status);

    if (status == 0)
        snprintf(out, n, "%s", te->msg);
    else
        snprintf(out, n, "%ld %s", status, *text ? text : "server error");
}

/* The Authorization header of an API call, with a token that is fresh. */
static int bearer_header(struct tenant *t, struct buf *auth, struct err *e)
{
    if (tenant_ensure_token(t, e) < 0)
        return -1;
    buf_reset(auth);
    return buf_appendf(auth, e, "Authorization: Bearer %s", t->token);
}

/* Sends one attempt of x (auth: the Authorization header or NULL), paced
 * when it is an API call. Returns http_perform()'s result. */
static int send_attempt(struct tenant *t, const struct exchange *x, const char *auth,
                        struct http_response *resp, struct err *te)
{
    const char *headers[8];
    struct http_request req;
    size_t n = 0;
    int64_t pace;

    if (auth)
        headers[n++] = auth;
    for (const char *const *h = x->headers; h && *h && n + 1 < sizeof(headers) / sizeof(*headers);)
        headers[n++] = *h++;
    headers[n] = NULL;
    if (x->bearer) {
        pace = ratelimit_pace_ms(&t->rl, tenant_now_ms(t));
        if (pace > 0) {
            tenant_notify(t, 1, "rate limit: bucket empty, pausing %.3f s", (double)pace / 1000.0);
            tenant_sleep_ms(t, pace);
        }
        t->stats.requests++;
        ratelimit_note_sent(&t->rl);
    } else {
        t->stats.token_fetches++;
    }
    memset(&req, 0, sizeof(req));
    req.method = x->method;
    req.url = x->url;
    req.headers = headers;
    req.body = x->body;
    req.body_len = x->len;
    req.max_response = x->max_response;
    req.timeout_s = x->timeout_s;
    req.stall_timeout_s = t->opt.stall_timeout_s;
    err_clear(te);
    tenant_notify(t, 1, "> %s %s%s", x->method, x->url_shown,
                  auth ? " (Authorization: Bearer [redacted])"
                       : " (client credentials; secret not shown)");
    return http_perform(t->api, &req, resp, te);
}

int tenant_exchange(struct tenant *t, const struct exchange *x, struct http_response *resp,
                    struct err *e)
{
    char cause[ERR_MSG_MAX + 32];
    struct buf auth;
    bool reauthed = false;
    int attempt, limit, rc = -1;

    buf_init(&auth, 16384);
    for (attempt = 1;; attempt++) {
        struct err te;
        enum rl_verdict v;
        int64_t delay;

        if (x->bearer && bearer_header(t, &auth, e) < 0)
            goto out;
        if (send_attempt(t, x, x->bearer ? buf_str(&auth) : NULL, resp, &te) < 0 &&
            te.code != ERR_NET) {
            *e = te; /* the request could not be made, or a sink refused the answer */
            goto out;
        }
        if (x->bearer) {
            if (resp->status == 429)
                ratelimit_note_refused(&t->rl);
            rl_state_update(&t->rl, &resp->rl, tenant_now_ms(t));
        }
        if (resp->status)
            tenant_notify(t, 1, "< %ld %s in %.0f ms, %lld bytes (rate limit: %lld of %lld left)",
                          resp->status, api_status_text(resp->status), resp->seconds * 1000,
                          resp->bytes, resp->rl.remaining, resp->rl.limit);
        else
            tenant_notify(t, 1, "< no answer: %s", te.msg);
        if (resp->status == 429)
            t->stats.rate_limited++;
        v = ratelimit_classify(resp->status);
        if (v == RL_OK) {
            rc = 0;
            goto out;
        }
        if (v == RL_REAUTH && x->bearer && !reauthed) {
            /* Possibly an expired token: get a new one, once. */
            tenant_notify(t, 0, "%s %s: 401 Unauthorized; getting a new token and retrying",
                          x->method, x->path);
            reauthed = true;
            t->token_expires_ms = 0;
            attempt--;
            continue;
        }
        limit = attempt_limit(t, resp->status);
        if (v != RL_RETRY || attempt >= limit) {
            if (resp->status == 0) {
                *e = te;
                err_prefix(e, "%s %s", x->method, x->path);
            } else {
                api_error_set(e, x->method, x->path, resp->status, resp->body.data, resp->body.len);
            }
            if (v == RL_RETRY)
                err_prefix(e, "giving up after %d attempts", attempt);
            goto out;
        }
        delay = ratelimit_retry_delay_ms(resp->status, &resp->rl, attempt, tenant_now_ms(t),
                                         tenant_random(t), &t->backoff);
        attempt_cause(cause, sizeof(cause), resp->status, &te);
        tenant_notify(t, 0, "%s %s: %s; retrying in %.1f s (%d retr%s left)", x->method, x->path,
                      cause, (double)delay / 1000.0, limit - attempt,
                      limit - attempt == 1 ? "y" : "ies");
        t->stats.retries++;
        tenant_sleep_ms(t, delay);
    }
out:
    if (auth.data)
        explicit_bzero(auth.data, auth.len);
    buf_release(&auth);
    return rc;
}

/* ---- calls ---- */

/* "GET /users/{id}" without the query, for messages: queries can hold
 * emails. Truncated to fit. */
static void message_path(char *out, size_t n, const char *path)
{
    snprintf(out, n, "%.*s", (int)strcspn(path, "?"), path);
}

static int call(struct tenant *t, const char *method, const char *path, const char *content_type,
                const void *body, size_t len, json_t **out, struct err *e)
{
    struct http_response resp;
    struct exchange x;
    struct buf url;
    char ctype[160], mpath[512], tpath[512], shown[1024];
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    int rc = -1;

    if (out)
        *out = NULL;
    buf_init(&url, 16384);
    http_response_init(&resp);
    message_path(mpath, sizeof(mpath), path);
    trace_path(tpath, sizeof(tpath), path);
    snprintf(shown, sizeof(shown), "%s/api/v2%s", t->cfg.api_url, tpath);
    if (buf_appendf(&url, e, "%s/api/v2%s", t->cfg.api_url, path) < 0)
        goto out;
    if (body) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        headers[1] = ctype;
    }
    memset(&x, 0, sizeof(x));
    x.method = method;
    x.path = mpath;
    x.url = buf_str(&url);
    x.url_shown = shown;
    x.headers = headers;
    x.body = body;
    x.len = len;
    x.max_response = t->opt.max_response;
    x.timeout_s = t->opt.call_timeout_s;
    x.bearer = true;
    if (tenant_exchange(t, &x, &resp, e) < 0)
        goto out;
    if (out && resp.body.len > 0) {
        *out = json_loadb(resp.body.data, resp.body.len, 0, NULL);
        if (!*out) {
            char snippet[64];
            size_t n = resp.body.len < 40 ? resp.body.len : 40;
            for (size_t i = 0; i < n; i++)
                snippet[i] =
                    (resp.body.data[i] >= 32 && resp.body.data[i] < 127) ? resp.body.data[i] : ' ';
            snippet[n] = '\0';
            err_set(e, ERR_API, "%s %s: HTTP %ld answer is not JSON ('%s')", method, mpath,
                    resp.status, snippet);
            goto out;
        }
    }
    rc = 0;
out:
    buf_release(&url);
    http_response_release(&resp);
    return rc;
}

int tenant_call(struct tenant *t, const char *method, const char *path, json_t *body, json_t **out,
                struct err *e)
{
    char *text = NULL;
    int rc;

    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            return err_oom(e);
    }
    rc = call(t, method, path, NULL, text, text ? strlen(text) : 0, out, e);
    free(text);
    return rc;
}

int tenant_call_raw(struct tenant *t, const char *method, const char *path,
                    const char *content_type, const void *body, size_t len, json_t **out,
                    struct err *e)
{
    return call(t, method, path, content_type, body, len, out, e);
}

int tenant_download(struct tenant *t, const char *url, http_sink_fn sink, void *ctx, struct err *e)
{
    struct http_response resp;
    struct http_request req;
    char shown[160];
    int rc = -1;

    if (url_check_transport(url, "download URL", e) < 0)
        return -1;
    /* The query of a presigned URL is a credential: never shown. */
    snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(url, "?"), url);
    http_response_init(&resp);
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.headers = NULL; /* never the bearer token */
    req.max_response = 64 * 1024;
    req.timeout_s = 0;
    req.stall_timeout_s = t->opt.stall_timeout_s;
    req.sink = sink;
    req.sink_ctx = ctx;
    t->stats.downloads++;
    tenant_notify(t, 1, "> GET %s (download, no Authorization header)", shown);
    if (http_perform(t->dl, &req, &resp, e) < 0) {
        err_prefix(e, "downloading '%s'", shown);
        goto out;
    }
    tenant_notify(t, 1, "< %ld, %lld bytes in %.1f s", resp.status, resp.bytes, resp.seconds);
    if (resp.status < 200 || resp.status >= 300) {
        err_set(e, ERR_API, "downloading '%s': HTTP %ld %s", shown, resp.status,
                api_status_text(resp.status));
        e->http_status = (int)resp.status;
        goto out;
    }
    rc = 0;
out:
    http_response_release(&resp);
    return rc;
}
