/*
 * http.h - one HTTP exchange over libcurl, and nothing more. This is the
 * only file in the tree that includes <curl/curl.h>.
 *
 * A struct http_client owns one curl easy handle, so consecutive requests
 * to the same host reuse the connection (keep-alive). It knows nothing of
 * tokens or retries: tenant.c adds those. TLS verification is always on and
 * there is no switch to turn it off; only http and https are allowed, and
 * redirects are never followed (a presigned download URL does not
 * redirect, and following one could carry headers to another host).
 *
 * Response bodies are bounded (max_response) unless a sink streams them.
 */
#ifndef A0SNAP_HTTP_H
#define A0SNAP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "ratelimit.h"

struct http_client;

/* Receives body bytes as they arrive; return 0 to go on, -1 to abort (put
 * the reason in e). */
typedef int (*http_sink_fn)(void *ctx, const void *data, size_t len, struct err *e);

struct http_request {
    const char *method;         /* "GET", "POST", ... */
    const char *url;            /* full URL */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
    const void *body;           /* request body or NULL */
    size_t body_len;
    size_t max_response;  /* ceiling for a buffered body */
    long timeout_s;       /* whole exchange; 0 = none (downloads) */
    long stall_timeout_s; /* abort when nothing arrives for this long; 0 = 60 */
    http_sink_fn sink;    /* stream the body here instead of buffering it */
    void *sink_ctx;
};

struct http_response {
    long status;          /* 0 when no answer arrived */
    struct buf body;      /* bounded; empty when a sink was used */
    struct rl_headers rl; /* rate-limit headers of this answer */
    char content_type[128];
    long long content_length; /* -1 if not announced */
    long long bytes;          /* body bytes received */
    double seconds;
};

int http_global_init(struct err *e);
void http_global_cleanup(void);

int http_client_new(struct http_client **out, struct err *e);
void http_client_free(struct http_client *c);

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);

/* Sends req and fills resp (which must be initialised). Returns 0 when an
 * HTTP answer arrived, whatever its status; -1 with ERR_NET when the
 * transport failed (resp->status is then 0), or with the sink's error. */
int http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp,
                 struct err *e);

/* Versions of the linked libraries, for --version. */
const char *http_curl_version(void);

#endif
