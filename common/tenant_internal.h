/*
 * tenant_internal.h - what tenant.c, tenant_token.c and tenant_list.c
 * share. See tenant.h for the API.
 */
#ifndef A0SNAP_TENANT_INTERNAL_H
#define A0SNAP_TENANT_INTERNAL_H

#include "ratelimit.h"
#include "tenant.h"

struct tenant {
    struct tenant_config cfg;
    struct tenant_options opt;
    struct rl_backoff backoff;
    struct http_client *api;
    struct http_client *dl;
    char *token;
    int64_t token_expires_ms;
    char *scopes; /* " a b c " with surrounding spaces for easy search */
    struct rl_state rl;
    struct tenant_stats stats;
    uint64_t rng;
};

/* One request to the tenant, sent as often as it takes (tenant_exchange). */
struct exchange {
    const char *method;
    const char *path; /* for messages: "/users/..." or "/oauth/token"; the query is never shown */
    const char *url;
    const char *url_shown;      /* url for the trace: no query values that name people */
    const char *const *headers; /* NULL-terminated, without Authorization */
    const void *body;
    size_t len;
    size_t max_response;
    long timeout_s;
    /* An API call: carries the bearer token, is paced by the rate-limit
     * picture, and a 401 gets one new token. Without it (the token request
     * itself) none of these. */
    bool bearer;
};

/* Sends x until its answer is final, the one retry loop of the client:
 * 429, 408, 5xx and transport failures are retried (ratelimit.h says how
 * long to wait, attempt_limit() how often), each retry reported at level 0
 * with its cause, delay and retries left. Returns 0 with resp holding a 2xx
 * answer. Returns -1 with e filled for a transport failure or an error
 * answer that outlasted its retries (e->http_status set, "giving up after N
 * attempts: " in front when it was retried), any other error answer (never
 * retried: 409 above all), or a failure to get a token. resp must be
 * initialised; it holds the last answer either way. */
int tenant_exchange(struct tenant *t, const struct exchange *x, struct http_response *resp,
                    struct err *e);

/* tenant_token.c: a token now, or the cached one while it is fresh. */
int tenant_ensure_token(struct tenant *t, struct err *e);
/* Wipes and frees the token and the scopes. */
void tenant_token_release(struct tenant *t);

#endif
