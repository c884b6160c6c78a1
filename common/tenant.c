/*
 * tenant.c - see tenant.h.
 *
 * The token is requested with a form-encoded client-credentials grant
 * (what Auth0's SDKs send) and cached until TOKEN_LEEWAY_MS before it
 * expires. A 401 gets one token refresh: Auth0's body for an expired token
 * is not documented officially, so any 401 is treated as possibly expired,
 * once.
 */
#include "tenant.h"

#include "api_error.h"
#include "buf.h"
#include "ratelimit.h"
#include "url.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_LEEWAY_MS    60000
#define TOKEN_MAX_RESPONSE (64 * 1024)
#define DEFAULT_MAX_RESP   ((size_t)64 << 20)

struct tenant {
    struct tenant_config cfg;
    struct tenant_options opt;
    struct http_client *api;
    struct http_client *dl;
    char *token;
    int64_t token_expires_ms;
    char *scopes; /* " a b c " with surrounding spaces for easy search */
    struct rl_state rl;
    struct tenant_stats stats;
    uint64_t rng;
};

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
    const char *env;

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
    if (t->opt.stall_timeout_s <= 0) {
        env = getenv("A0SNAP_STALL_TIMEOUT");
        t->opt.stall_timeout_s = env && atol(env) > 0 ? atol(env) : 60;
    }
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
    if (t->token) {
        explicit_bzero(t->token, strlen(t->token));
        free(t->token);
    }
    free(t->scopes);
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

/* ---- token ---- */

static int form_append(struct buf *b, const char *key, const char *value, struct err *e)
{
    size_t n = strlen(value) * 3 + 1;
    char *esc = malloc(n);
    int rc;

    if (!esc)
        return err_oom(e);
    url_escape(esc, n, value);
    rc = buf_appendf(b, e, "%s%s=%s", b->len ? "&" : "", key, esc);
    explicit_bzero(esc, n);
    free(esc);
    return rc;
}

/* Decodes the payload of a JWT, or returns NULL if it is not one. */
static json_t *jwt_payload(const char *token)
{
    const char *dot1 = strchr(token, '.'), *dot2;
    unsigned char *raw = NULL;
    char *b64 = NULL;
    json_t *j = NULL;
    size_t n, padded;
    int len;

    if (!dot1 || !(dot2 = strchr(dot1 + 1, '.')))
        return NULL;
    n = (size_t)(dot2 - dot1 - 1);
    padded = (n + 3) / 4 * 4;
    b64 = malloc(padded + 1);
    raw = malloc(padded + 1);
    if (!b64 || !raw)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char c = dot1[1 + i];
        b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    for (size_t i = n; i < padded; i++)
        b64[i] = '=';
    b64[padded] = '\0';
    len = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)padded);
    if (len < 0)
        goto out;
    while (len > 0 && raw[len - 1] == '\0')
        len--; /* EVP_DecodeBlock counts padding as zero bytes */
    j = json_loadb((const char *)raw, (size_t)len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
out:
    free(b64);
    free(raw);
    return j;
}

static int set_scopes(struct tenant *t, const char *scopes, struct err *e)
{
    size_t n = strlen(scopes) + 3;

    free(t->scopes);
    t->scopes = malloc(n);
    if (!t->scopes)
        return err_oom(e);
    snprintf(t->scopes, n, " %s ", scopes);
    return 0;
}

/* Checks what the token says about itself, when it says it: a JWT whose
 * audience is another tenant's API means the credentials belong elsewhere. */
static int check_token_claims(struct tenant *t, json_t *claims, struct err *e)
{
    char want[300];
    json_t *aud = json_object_get(claims, "aud");
    bool match = false;
    size_t i;
    json_t *v;

    if (!aud)
        return 0;
    snprintf(want, sizeof(want), "https://%s/api/v2/", t->cfg.domain);
    if (json_is_string(aud)) {
        match = strcmp(json_string_value(aud), want) == 0;
    } else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
                match = true;
        }
    } else {
        return 0;
    }
    if (!match)
        return err_set(e, ERR_REFUSED,
                       "the token obtained for '%s' is for another audience; the credentials do "
                       "not belong to this tenant",
                       t->cfg.domain);
    return 0;
}

static int fetch_token(struct tenant *t, struct err *e)
{
    struct http_response resp;
    struct http_request req;
    struct buf form, url;
    char audience[300];
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", NULL};
    json_t *root = NULL, *claims = NULL;
    const char *tok, *scope;
    json_int_t expires_in;
    int attempt, rc = -1;

    buf_init(&form, 8192);
    buf_init(&url, 2048);
    http_response_init(&resp);
    snprintf(audience, sizeof(audience), "https://%s/api/v2/", t->cfg.domain);
    if (form_append(&form, "grant_type", "client_credentials", e) < 0 ||
        form_append(&form, "client_id", t->cfg.client_id, e) < 0 ||
        form_append(&form, "client_secret", t->cfg.client_secret, e) < 0 ||
        form_append(&form, "audience", audience, e) < 0 ||
        buf_appendf(&url, e, "%s/oauth/token", t->cfg.api_url) < 0)
        goto out;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = buf_str(&url);
    req.headers = headers;
    req.body = form.data;
    req.body_len = form.len;
    req.max_response = TOKEN_MAX_RESPONSE;
    req.timeout_s = 60;
    req.stall_timeout_s = t->opt.stall_timeout_s;

    for (attempt = 1;; attempt++) {
        struct err te;
        enum rl_verdict v;
        int64_t delay;

        err_clear(&te);
        tenant_notify(t, 1, "> POST %s/oauth/token (client credentials; secret not shown)",
                      t->cfg.api_url);
        t->stats.token_fetches++;
        if (http_perform(t->api, &req, &resp, &te) < 0 && resp.status == 0 && te.code != ERR_NET) {
            *e = te;
            goto out;
        }
        tenant_notify(t, 1, "< %ld from /oauth/token in %.0f ms", resp.status, resp.seconds * 1000);
        v = ratelimit_classify(resp.status);
        if (v == RL_OK)
            break;
        if (v != RL_RETRY || attempt >= attempt_limit(t, resp.status)) {
            if (resp.status == 0)
                *e = te;
            else
                api_error_set(e, "POST", "/oauth/token", resp.status, resp.body.data,
                              resp.body.len);
            err_prefix(e, "cannot get a token for '%s'", t->cfg.domain);
            if (e->code == ERR_API && resp.status >= 400 && resp.status < 500)
                e->code = ERR_AUTH;
            goto out;
        }
        delay = ratelimit_retry_delay_ms(resp.status, &resp.rl, attempt, tenant_now_ms(t),
                                         tenant_random(t));
        tenant_notify(t, 0, "token request: %s; retrying in %.1f s (%d retries left)",
                      resp.status ? api_status_text(resp.status) : te.msg, (double)delay / 1000.0,
                      attempt_limit(t, resp.status) - attempt);
        t->stats.retries++;
        tenant_sleep_ms(t, delay);
    }

    root = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
    tok = json_string_value(json_object_get(root, "access_token"));
    if (!tok || !*tok) {
        err_set(e, ERR_AUTH, "cannot get a token for '%s': the answer has no access_token",
                t->cfg.domain);
        goto out;
    }
    expires_in = json_integer_value(json_object_get(root, "expires_in"));
    if (expires_in <= 0)
        expires_in = 86400;
    if (t->token) {
        explicit_bzero(t->token, strlen(t->token));
        free(t->token);
    }
    t->token = strdup(tok);
    if (!t->token) {
        err_oom(e);
        goto out;
    }
    {
        /* Refresh a minute early, or at 90% of a short lifetime. */
        int64_t life = (int64_t)expires_in * 1000;
        int64_t leeway = life > 10 * TOKEN_LEEWAY_MS ? TOKEN_LEEWAY_MS : life / 10;
        t->token_expires_ms = tenant_now_ms(t) + life - leeway;
    }
    claims = jwt_payload(tok);
    if (claims && check_token_claims(t, claims, e) < 0)
        goto out;
    scope = json_string_value(json_object_get(root, "scope"));
    if (!scope && claims)
        scope = json_string_value(json_object_get(claims, "scope"));
    if (scope && set_scopes(t, scope, e) < 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    json_decref(claims);
    if (form.data)
        explicit_bzero(form.data, form.len);
    buf_release(&form);
    buf_release(&url);
    http_response_release(&resp);
    return rc;
}

static int ensure_token(struct tenant *t, struct err *e)
{
    if (t->token && tenant_now_ms(t) < t->token_expires_ms)
        return 0;
    return fetch_token(t, e);
}

int tenant_authenticate(struct tenant *t, struct err *e)
{
    return ensure_token(t, e);
}

bool tenant_scopes_known(const struct tenant *t)
{
    return t->scopes != NULL;
}

bool tenant_has_scope(const struct tenant *t, const char *scope)
{
    char needle[128];

    if (!t->scopes)
        return false;
    snprintf(needle, sizeof(needle), " %s ", scope);
    return strstr(t->scopes, needle) != NULL;
}

int tenant_require_scopes(const struct tenant *t, const char *const *scopes, struct err *e)
{
    char missing[700];
    size_t n = 0;
    int count = 0;

    if (!t->scopes)
        return 0;
    missing[0] = '\0';
    for (const char *const *s = scopes; *s; s++) {
        if (tenant_has_scope(t, *s))
            continue;
        n += (size_t)snprintf(missing + n, n < sizeof(missing) ? sizeof(missing) - n : 0, "%s%s",
                              count ? " " : "", *s);
        if (n >= sizeof(missing))
            n = sizeof(missing) - 1;
        count++;
    }
    if (count == 0)
        return 0;
    return err_set(e, ERR_SCOPE,
                   "the token for '%s' lacks %d scope%s this needs: %s; grant %s to the "
                   "application (Auth0 dashboard: Applications > APIs > Auth0 Management API > "
                   "Machine to Machine Applications)",
                   t->cfg.domain, count, count == 1 ? "" : "s", missing,
                   count == 1 ? "it" : "them");
}

/* ---- calls ---- */

static int call(struct tenant *t, const char *method, const char *path, const char *content_type,
                const void *body, size_t len, json_t **out, struct err *e)
{
    struct http_response resp;
    struct http_request req;
    struct buf url, auth;
    char ctype[160], tpath[512];
    const char *headers[4];
    bool reauthed = false;
    int attempt, rc = -1;

    if (out)
        *out = NULL;
    buf_init(&url, 16384);
    buf_init(&auth, 16384);
    http_response_init(&resp);
    trace_path(tpath, sizeof(tpath), path);
    if (buf_appendf(&url, e, "%s/api/v2%s", t->cfg.api_url, path) < 0)
        goto out;
    snprintf(ctype, sizeof(ctype), "Content-Type: %s",
             content_type ? content_type : "application/json");

    for (attempt = 1;; attempt++) {
        struct err te;
        enum rl_verdict v;
        int64_t delay, pace;
        const char *cause;

        if (ensure_token(t, e) < 0)
            goto out;
        buf_reset(&auth);
        if (buf_appendf(&auth, e, "Authorization: Bearer %s", t->token) < 0)
            goto out;
        headers[0] = buf_str(&auth);
        headers[1] = "Accept: application/json";
        headers[2] = body ? ctype : NULL;
        headers[3] = NULL;

        pace = ratelimit_pace_ms(&t->rl, tenant_now_ms(t));
        if (pace > 0) {
            tenant_notify(t, 1, "rate limit: bucket empty, pausing %.1f s", (double)pace / 1000.0);
            tenant_sleep_ms(t, pace);
        }
        memset(&req, 0, sizeof(req));
        req.method = method;
        req.url = buf_str(&url);
        req.headers = headers;
        req.body = body;
        req.body_len = len;
        req.max_response = t->opt.max_response;
        req.timeout_s = t->opt.call_timeout_s;
        req.stall_timeout_s = t->opt.stall_timeout_s;
        err_clear(&te);
        tenant_notify(t, 1, "> %s %s%s (Authorization: Bearer [redacted])", method, t->cfg.api_url,
                      tpath);
        t->stats.requests++;
        ratelimit_note_sent(&t->rl);
        if (http_perform(t->api, &req, &resp, &te) < 0 && te.code != ERR_NET) {
            *e = te;
            goto out;
        }
        rl_state_update(&t->rl, &resp.rl);
        if (resp.status)
            tenant_notify(t, 1, "< %ld %s in %.0f ms, %lld bytes (rate limit: %lld of %lld left)",
                          resp.status, api_status_text(resp.status), resp.seconds * 1000,
                          resp.bytes, resp.rl.remaining, resp.rl.limit);
        else
            tenant_notify(t, 1, "< no answer: %s", te.msg);
        if (resp.status == 429)
            t->stats.rate_limited++;
        v = ratelimit_classify(resp.status);
        if (v == RL_OK)
            break;
        if (v == RL_REAUTH && !reauthed) {
            /* Possibly an expired token: get a new one, once. */
            tenant_notify(t, 0, "%s %.*s: 401 Unauthorized; getting a new token and retrying",
                          method, (int)strcspn(path, "?"), path);
            reauthed = true;
            t->token_expires_ms = 0;
            attempt--;
            continue;
        }
        if (v != RL_RETRY || attempt >= attempt_limit(t, resp.status)) {
            if (resp.status == 0) {
                *e = te;
                err_prefix(e, "%s %.*s", method, (int)strcspn(path, "?"), path);
            } else {
                api_error_set(e, method, path, resp.status, resp.body.data, resp.body.len);
            }
            if (v == RL_RETRY)
                err_prefix(e, "giving up after %d attempts", attempt);
            goto out;
        }
        delay = ratelimit_retry_delay_ms(resp.status, &resp.rl, attempt, tenant_now_ms(t),
                                         tenant_random(t));
        cause = resp.status ? api_status_text(resp.status) : te.msg;
        if (resp.status && !*cause)
            cause = "server error";
        tenant_notify(t, 0, "%s %.*s: %ld %s; retrying in %.1f s (%d retr%s left)", method,
                      (int)strcspn(path, "?"), path, resp.status, cause, (double)delay / 1000.0,
                      attempt_limit(t, resp.status) - attempt,
                      attempt_limit(t, resp.status) - attempt == 1 ? "y" : "ies");
        t->stats.retries++;
        tenant_sleep_ms(t, delay);
    }

    if (out && resp.body.len > 0) {
        json_error_t jerr;
        *out = json_loadb(resp.body.data, resp.body.len, 0, &jerr);
        if (!*out) {
            char snippet[64];
            size_t n = resp.body.len < 40 ? resp.body.len : 40;
            for (size_t i = 0; i < n; i++)
                snippet[i] =
                    (resp.body.data[i] >= 32 && resp.body.data[i] < 127) ? resp.body.data[i] : ' ';
            snippet[n] = '\0';
            err_set(e, ERR_API, "%s %.*s: HTTP %ld answer is not JSON ('%s')", method,
                    (int)strcspn(path, "?"), path, resp.status, snippet);
            goto out;
        }
    }
    rc = 0;
out:
    if (auth.data)
        explicit_bzero(auth.data, auth.len);
    buf_release(&auth);
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

/* ---- paging ---- */

static int each_item(json_t *items, tenant_item_fn fn, void *ctx, struct err *e)
{
    size_t i;
    json_t *item;

    json_array_foreach(items, i, item)
    {
        if (fn(ctx, item, e) < 0)
            return -1;
    }
    return 0;
}

int tenant_list_checkpoint(struct tenant *t, const char *path, const char *items_key,
                           tenant_item_fn fn, void *ctx, struct err *e)
{
    struct buf p;
    char *from = NULL;
    json_t *page = NULL;
    int rc = -1;
    const char sep = strchr(path, '?') ? '&' : '?';

    buf_init(&p, 16384);
    for (;;) {
        json_t *items;
        const char *next;
        char esc[1024];

        buf_reset(&p);
        if (buf_appendf(&p, e, "%s%ctake=100", path, sep) < 0)
            goto out;
        if (from) {
            if (url_escape(esc, sizeof(esc), from) < 0) {
                err_set(e, ERR_API, "checkpoint 'next' value too long");
                goto out;
            }
            if (buf_appendf(&p, e, "&from=%s", esc) < 0)
                goto out;
        }
        json_decref(page);
        page = NULL;
        if (tenant_call(t, "GET", buf_str(&p), NULL, &page, e) < 0)
            goto out;
        items = json_is_array(page) ? page : json_object_get(page, items_key);
        if (!json_is_array(items)) {
            err_set(e, ERR_API, "GET %.*s: answer has no '%s' list", (int)strcspn(path, "?"), path,
                    items_key);
            goto out;
        }
        if (each_item(items, fn, ctx, e) < 0)
            goto out;
        next = json_string_value(json_object_get(page, "next"));
        if (!next || !*next || json_array_size(items) == 0)
            break;
        if (from && strcmp(from, next) == 0) {
            err_set(e, ERR_API, "GET %.*s: paging does not advance", (int)strcspn(path, "?"), path);
            goto out;
        }
        free(from);
        from = strdup(next);
        if (!from) {
            err_oom(e);
            goto out;
        }
    }
    rc = 0;
out:
    free(from);
    json_decref(page);
    buf_release(&p);
    return rc;
}

int tenant_list_offset(struct tenant *t, const char *path, const char *items_key, tenant_item_fn fn,
                       void *ctx, struct err *e)
{
    const char sep = strchr(path, '?') ? '&' : '?';
    json_t *page = NULL;
    struct buf p;
    int rc = -1;

    buf_init(&p, 16384);
    for (long n = 0;; n++) {
        json_t *items;
        size_t count;

        buf_reset(&p);
        if (buf_appendf(&p, e, "%s%cpage=%ld&per_page=100&include_totals=true", path, sep, n) < 0)
            goto out;
        json_decref(page);
        page = NULL;
        if (tenant_call(t, "GET", buf_str(&p), NULL, &page, e) < 0)
            goto out;
        items = json_is_array(page) ? page : json_object_get(page, items_key);
        if (!json_is_array(items)) {
            err_set(e, ERR_API, "GET %.*s: answer has no '%s' list", (int)strcspn(path, "?"), path,
                    items_key);
            goto out;
        }
        if (each_item(items, fn, ctx, e) < 0)
            goto out;
        count = json_array_size(items);
        if (count < 100)
            break;
        if (json_is_object(page)) {
            json_t *total = json_object_get(page, "total");
            if (json_is_integer(total) && (n + 1) * 100 >= json_integer_value(total))
                break;
        }
    }
    rc = 0;
out:
    json_decref(page);
    buf_release(&p);
    return rc;
}
