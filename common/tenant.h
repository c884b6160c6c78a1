/*
 * tenant.h - a Management API client for one tenant: token, pacing,
 * retries, errors, paging.
 *
 * A struct tenant owns a config copy, two HTTP clients (one for the API,
 * one for downloads, which never carries the token), the cached token, and
 * the rate-limit picture. Every call:
 *   1. gets a token if there is none or it expires within the leeway;
 *   2. waits as ratelimit_pace_ms() says;
 *   3. sends the request with "Authorization: Bearer";
 *   4. on 429/408/5xx/transport failure waits ratelimit_retry_delay_ms()
 *      and retries, up to max_attempts in all, reporting each retry (cause,
 *      delay, retries left) through the notify callback;
 *   5. on 401 refreshes the token once and retries;
 *   6. turns a final error answer into one line (api_error.h).
 * 409 and other 4xx are never retried.
 *
 * Nothing here prints; messages go to opts.notify (level 0 = worth telling
 * the user, e.g. retries; level 1 = verbose trace). The trace never shows
 * the token, the secret, or query values that can hold personal data.
 *
 * Time and sleeping go through hooks so tests can run without waiting.
 */
#ifndef A0SNAP_TENANT_H
#define A0SNAP_TENANT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "http.h"

typedef void (*tenant_notify_fn)(void *ctx, int level, const char *msg);

struct tenant_options {
    int max_attempts;        /* per call, first try included; 0 = 10 */
    long stall_timeout_s;    /* 0 = the config's timing (A0SNAP_STALL_TIMEOUT), else 60 */
    long call_timeout_s;     /* 0 = 300 */
    size_t max_response;     /* 0 = 64 MiB */
    tenant_notify_fn notify; /* may be NULL */
    void *notify_ctx;
    /* Hooks for tests; NULL = the real clock / nanosleep. */
    int64_t (*now_ms)(void *ctx);
    void (*sleep_ms)(void *ctx, int64_t ms);
    void *clock_ctx;
};

struct tenant_stats {
    long requests; /* API requests sent, retries included */
    long retries;
    long rate_limited; /* 429 answers */
    long token_fetches;
    long downloads;
    double waited_s; /* time spent pacing and backing off */
};

struct tenant;

/* Copies cfg. Does no network I/O. */
int tenant_new(struct tenant **out, const struct tenant_config *cfg,
               const struct tenant_options *opts, struct err *e);
void tenant_free(struct tenant *t);

const char *tenant_domain(const struct tenant *t);
const struct tenant_stats *tenant_stats(const struct tenant *t);
/* The timing the client was made with (config.h), defaults filled in but
 * poll_ms, which stays 0 unless set: each job engine has its own. */
const struct tenant_timing *tenant_timing(const struct tenant *t);
/* The requests per second the tenant's rate-limit headers imply so far
 * (ratelimit_refill_per_s), 0 when not known yet. */
double tenant_rate_estimate(const struct tenant *t);

/* Gets a token now (the programs call this first so credential problems and
 * missing scopes show before any long work). Also checks that the token is
 * for this tenant when it can tell (the JWT's audience). */
int tenant_authenticate(struct tenant *t, struct err *e);

/* Whether the token said which scopes it carries (the token answer's
 * "scope", or the JWT's "scope" claim). */
bool tenant_scopes_known(const struct tenant *t);
bool tenant_has_scope(const struct tenant *t, const char *scope);
/* Fails with ERR_SCOPE naming every missing scope of the NULL-terminated
 * list; succeeds when the scopes are unknown. */
int tenant_require_scopes(const struct tenant *t, const char *const *scopes, struct err *e);

/* One API call. path is relative to /api/v2 and already escaped, query
 * included ("/users/auth0%7C123?fields=email"). body (borrowed) is sent as
 * JSON when not NULL. On success *out (if out is not NULL) gets a new
 * reference to the parsed answer, or NULL for an empty answer (204).
 * A non-2xx final answer fails with e->http_status set. */
int tenant_call(struct tenant *t, const char *method, const char *path, json_t *body, json_t **out,
                struct err *e);

/* Same with a raw body and content type (multipart uploads). */
int tenant_call_raw(struct tenant *t, const char *method, const char *path,
                    const char *content_type, const void *body, size_t len, json_t **out,
                    struct err *e);

/* Streams url (a download location on another host) to sink: one attempt,
 * no Authorization header, no redirects; https unless loopback. The caller
 * decides about retries (a download link may have to be fetched anew).
 * A non-2xx answer fails with e->http_status set. */
int tenant_download(struct tenant *t, const char *url, http_sink_fn sink, void *ctx, struct err *e);

/* Receives each item of a list; the item is borrowed. */
typedef int (*tenant_item_fn)(void *ctx, json_t *item, struct err *e);

enum tenant_paging {
    TENANT_PAGING_CHECKPOINT, /* from/take: {ITEMS, next} */
    TENANT_PAGING_OFFSET,     /* page/per_page/include_totals: {ITEMS, start, limit, total} */
};

/* Walks a paged list to its end, 100 items a page: path may carry other
 * query parameters; items_key names the array in each page ("users",
 * "members", "organizations", "connections"); a bare array is accepted
 * too. A checkpoint list ends at a page without `next` or without items,
 * an offset list at a short page (never on `total` alone). */
int tenant_list(struct tenant *t, const char *path, const char *items_key, enum tenant_paging kind,
                tenant_item_fn fn, void *ctx, struct err *e);
/* The same with the kind in the name. */
int tenant_list_checkpoint(struct tenant *t, const char *path, const char *items_key,
                           tenant_item_fn fn, void *ctx, struct err *e);
int tenant_list_offset(struct tenant *t, const char *path, const char *items_key, tenant_item_fn fn,
                       void *ctx, struct err *e);

/* What one page answer says, pure (tenant_list's reading of a page, for
 * tests against recorded answers): items is borrowed from page; more says
 * whether another page may follow, next (borrowed) is the checkpoint to ask
 * from. Fails with ERR_API when the page has no items array. */
struct tenant_page {
    json_t *items;
    bool more;
    const char *next;
};
int tenant_page_step(json_t *page, const char *items_key, enum tenant_paging kind, size_t per_page,
                     struct tenant_page *out, struct err *e);

/* Passes a message to the options' notify callback (level 0 = tell the
 * user, 1 = verbose trace). */
void tenant_notify(struct tenant *t, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sleeps through the options' hook (for callers that poll jobs). */
void tenant_sleep_ms(struct tenant *t, int64_t ms);
int64_t tenant_now_ms(struct tenant *t);

#endif
