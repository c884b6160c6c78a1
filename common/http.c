/*
 * http.c - libcurl behind http.h.
 *
 * The body goes either to a bounded buffer or to the caller's sink; headers
 * are parsed as they arrive for the rate-limit fields, the content type and
 * length. CURLOPT_VERBOSE is never set: curl's own trace would print the
 * Authorization header. tenant.c writes a redacted trace instead.
 */
#include "http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct http_client {
    CURL *curl;
};

struct xfer {
    const struct http_request *req;
    struct http_response *resp;
    struct err *e;
    bool sink_failed;
    bool too_large;
};

static int64_t now_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int http_global_init(struct err *e)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(e, ERR_INTERNAL, "cannot initialise libcurl");
    return 0;
}

void http_global_cleanup(void)
{
    curl_global_cleanup();
}

int http_client_new(struct http_client **out, struct err *e)
{
    struct http_client *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (!c)
        return err_oom(e);
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return err_set(e, ERR_INTERNAL, "cannot create a curl handle");
    }
    *out = c;
    return 0;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void http_response_init(struct http_response *r)
{
    r->status = 0;
    buf_init(&r->body, 0);
    rl_headers_init(&r->rl);
    r->content_type[0] = '\0';
    r->content_length = -1;
    r->bytes = 0;
    r->seconds = 0;
}

void http_response_release(struct http_response *r)
{
    if (r)
        buf_release(&r->body);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;

    x->resp->bytes += (long long)n;
    if (x->req->sink) {
        if (x->req->sink(x->req->sink_ctx, data, n, x->e) < 0) {
            x->sink_failed = true;
            return 0;
        }
        return n;
    }
    if (buf_append(&x->resp->body, data, n, x->e) < 0) {
        x->too_large = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb, len = n;

    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    /* A new status line (e.g. after "100 Continue") starts a new header set. */
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        rl_headers_init(&x->resp->rl);
        x->resp->content_type[0] = '\0';
        x->resp->content_length = -1;
        return n;
    }
    if (rl_headers_parse_line(&x->resp->rl, data, len, now_epoch_ms()))
        return n;
    if (len > 13 && strncasecmp(data, "content-type:", 13) == 0) {
        const char *v = data + 13;
        size_t vlen = len - 13;
        while (vlen > 0 && *v == ' ') {
            v++;
            vlen--;
        }
        if (vlen >= sizeof(x->resp->content_type))
            vlen = sizeof(x->resp->content_type) - 1;
        memcpy(x->resp->content_type, v, vlen);
        x->resp->content_type[vlen] = '\0';
    } else if (len > 15 && strncasecmp(data, "content-length:", 15) == 0) {
        char tmp[32];
        size_t vlen = len - 15 < sizeof(tmp) - 1 ? len - 15 : sizeof(tmp) - 1;
        memcpy(tmp, data + 15, vlen);
        tmp[vlen] = '\0';
        x->resp->content_length = strtoll(tmp, NULL, 10);
    }
    return n;
}

/* Length of "scheme://host[:port]" at the start of url. */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");

    if (!p)
        return strcspn(url, "/?#");
    return (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
}

static const char *method_or_get(const struct http_request *req)
{
    return req->method ? req->method : "GET";
}

int http_perform(struct http_client *c, const struct http_request *req, struct http_response *resp,
                 struct err *e)
{
    struct curl_slist *hdrs = NULL, *tmp;
    struct xfer x = {req, resp, e, false, false};
    const char *method = method_or_get(req);
    CURL *h = c->curl;
    CURLcode rc;
    int ret = -1;

    curl_easy_reset(h);
    buf_release(&resp->body);
    buf_init(&resp->body, req->max_response ? req->max_response : 1 << 20);
    resp->status = 0;
    resp->bytes = 0;
    rl_headers_init(&resp->rl);

    for (const char *const *p = req->headers; p && *p; p++) {
        tmp = curl_slist_append(hdrs, *p);
        if (!tmp) {
            err_oom(e);
            goto out;
        }
        hdrs = tmp;
    }
    /* curl would otherwise add "Expect: 100-continue" to big POSTs. */
    tmp = curl_slist_append(hdrs, "Expect:");
    if (!tmp) {
        err_oom(e);
        goto out;
    }
    hdrs = tmp;

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req->stall_timeout_s ? req->stall_timeout_s : 60L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "a0snap/" A0SNAP_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
    }

    rc = curl_easy_perform(h);
    {
        double secs = 0;
        curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
        resp->seconds = secs;
    }
    if (x.sink_failed)
        goto out; /* the sink wrote e */
    if (x.too_large) {
        err_set(e, ERR_API, "%s response larger than %zu bytes", method, resp->body.max);
        goto out;
    }
    if (rc != CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        /* A body cut short after a status arrived is still a transport
         * failure: the caller must not trust a partial answer. */
        resp->status = 0;
        /* Name the host, not the path or query (a presigned URL's query is
         * a credential). */
        err_set(e, ERR_NET, "%s '%.*s': %s", method, (int)origin_len(req->url), req->url,
                curl_easy_strerror(rc));
        (void)status;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (resp->content_length >= 0 && resp->bytes != resp->content_length) {
        resp->status = 0;
        err_set(e, ERR_NET, "%s: answer cut short (%lld of %lld bytes)", method, resp->bytes,
                resp->content_length);
        goto out;
    }
    ret = 0;
out:
    curl_slist_free_all(hdrs);
    return ret;
}

const char *http_curl_version(void)
{
    return curl_version();
}
