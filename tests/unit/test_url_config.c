/* Unit tests for url.c, config.c and api_error.c. */
#include "api_error.h"
#include "config.h"
#include "harness.h"
#include "url.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_url_parse(void)
{
    struct url_parts u;
    struct err e;

    CHECK_INT(url_parse(&u, "https://acme.auth0.com/api/v2", &e), 0);
    CHECK(u.https);
    CHECK_STR(u.host, "acme.auth0.com");
    CHECK_INT(u.port, 443);
    CHECK_INT(url_parse(&u, "http://127.0.0.1:8123", &e), 0);
    CHECK(!u.https);
    CHECK_STR(u.host, "127.0.0.1");
    CHECK_INT(u.port, 8123);
    CHECK_INT(url_parse(&u, "http://[::1]:80/x", &e), 0);
    CHECK_STR(u.host, "::1");
    CHECK_INT(url_parse(&u, "ftp://x", &e), -1);
    CHECK_INT(url_parse(&u, "https://user:pw@x.com/", &e), -1);
    CHECK_INT(url_parse(&u, "http://x:99999", &e), -1);
}

static void test_transport_rule(void)
{
    struct err e;

    CHECK_INT(url_check_transport("https://acme.auth0.com", "API URL", &e), 0);
    CHECK_INT(url_check_transport("http://127.0.0.1:9", "API URL", &e), 0);
    CHECK_INT(url_check_transport("http://localhost:9", "API URL", &e), 0);
    CHECK_INT(url_check_transport("http://[::1]:9", "API URL", &e), 0);
    CHECK_INT(url_check_transport("http://acme.auth0.com", "API URL", &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "TLS is required") != NULL);
    CHECK_INT(url_check_transport("http://127.0.0.1.evil.com", "API URL", &e), -1);
    CHECK_INT(url_check_transport("http://10.0.0.1", "download URL", &e), -1);
}

static void test_escape(void)
{
    char out[64];

    CHECK_INT(url_escape(out, sizeof(out), "auth0|abc/def"), 0);
    CHECK_STR(out, "auth0%7Cabc%2Fdef");
    CHECK_INT(url_escape(out, 4, "abcd"), -1);
}

static void test_config_env(void)
{
    struct tenant_config c;
    struct err e;

    unsetenv("AUTH0_DOMAIN");
    unsetenv("AUTH0_CLIENT_SECRET");
    unsetenv("AUTH0_CLIENT_SECRET_FILE");
    unsetenv("A0SNAP_API_URL");
    setenv("AUTH0_CLIENT_ID", "cid", 1);
    CHECK_INT(tenant_config_from_env(&c, NULL, NULL, &e), -1);
    CHECK(strstr(e.msg, "AUTH0_DOMAIN") != NULL);
    setenv("AUTH0_DOMAIN", "acme.auth0.com", 1);
    CHECK_INT(tenant_config_from_env(&c, NULL, NULL, &e), -1);
    CHECK(strstr(e.msg, "never taken from the command line") != NULL);
    setenv("AUTH0_CLIENT_SECRET", "s3cret", 1);
    CHECK_INT(tenant_config_from_env(&c, NULL, NULL, &e), 0);
    CHECK_STR(c.api_url, "https://acme.auth0.com");
    CHECK_STR(c.client_secret, "s3cret");
    tenant_config_release(&c);
    CHECK_INT(tenant_config_from_env(&c, "other.auth0.com", "http://127.0.0.1:8/", &e), 0);
    CHECK_STR(c.domain, "other.auth0.com");
    CHECK_STR(c.api_url, "http://127.0.0.1:8");
    tenant_config_release(&c);
    CHECK_INT(tenant_config_from_env(&c, NULL, "http://example.com", &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK_INT(tenant_config_from_env(&c, "https://acme.auth0.com", NULL, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
}

/* Timing settings: defaults, values, and refusals that name the variable. */
static void test_timing_env(void)
{
    static const char *const names[] = {"A0SNAP_STALL_TIMEOUT", "A0SNAP_RETRY_BASE_MS",
                                        "A0SNAP_RETRY_MAX_MS", "A0SNAP_POLL_MS"};
    struct tenant_timing t;
    struct err e;

    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        unsetenv(names[i]);
    err_clear(&e);
    CHECK_INT(tenant_timing_from_env(&t, &e), 0);
    CHECK_INT(t.stall_timeout_s, 60);
    CHECK_INT(t.retry_base_ms, 500);
    CHECK_INT(t.retry_max_ms, 30000);
    CHECK_INT(t.poll_ms, 0);
    setenv("A0SNAP_STALL_TIMEOUT", "3", 1);
    setenv("A0SNAP_RETRY_BASE_MS", "20", 1);
    setenv("A0SNAP_RETRY_MAX_MS", "10", 1); /* below the base: the base wins */
    setenv("A0SNAP_POLL_MS", "50", 1);
    CHECK_INT(tenant_timing_from_env(&t, &e), 0);
    CHECK_INT(t.stall_timeout_s, 3);
    CHECK_INT(t.retry_base_ms, 20);
    CHECK_INT(t.retry_max_ms, 20);
    CHECK_INT(t.poll_ms, 50);
    setenv("A0SNAP_POLL_MS", "fast", 1);
    CHECK_INT(tenant_timing_from_env(&t, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "A0SNAP_POLL_MS") && strstr(e.msg, "'fast'"));
    setenv("A0SNAP_POLL_MS", "50", 1);
    setenv("A0SNAP_RETRY_BASE_MS", "0", 1);
    CHECK_INT(tenant_timing_from_env(&t, &e), -1);
    CHECK(strstr(e.msg, "A0SNAP_RETRY_BASE_MS") != NULL);
    setenv("A0SNAP_RETRY_BASE_MS", "99999999999999999999", 1);
    CHECK_INT(tenant_timing_from_env(&t, &e), -1);
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        unsetenv(names[i]);
}

static void test_secret_file(void)
{
    char path[] = "/tmp/a0snap-secret-XXXXXX";
    struct tenant_config c;
    struct err e;
    char *s = NULL;
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    CHECK_INT(write(fd, "filesecret\n", 11), 11);
    close(fd);
    chmod(path, 0600);
    CHECK_INT(config_read_secret_file(path, &s, &e), 0);
    CHECK_STR(s, "filesecret");
    free(s);
    chmod(path, 0644);
    CHECK_INT(config_read_secret_file(path, &s, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "chmod 600") != NULL);
    unsetenv("AUTH0_CLIENT_SECRET");
    setenv("AUTH0_CLIENT_SECRET_FILE", path, 1);
    CHECK_INT(tenant_config_from_env(&c, "a.auth0.com", NULL, &e), -1);
    chmod(path, 0400);
    CHECK_INT(tenant_config_from_env(&c, "a.auth0.com", NULL, &e), 0);
    CHECK_STR(c.client_secret, "filesecret");
    tenant_config_release(&c);
    unsetenv("AUTH0_CLIENT_SECRET_FILE");
    unlink(path);
}

static void test_api_error(void)
{
    struct err e;
    const char *b403 = "{\"statusCode\":403,\"error\":\"Forbidden\",\"message\":\"Insufficient "
                       "scope, expected any of: read:users\",\"errorCode\":\"insufficient_scope\"}";
    const char *b400 =
        "{\"error\":\"access_denied\",\"error_description\":\"Service not enabled\"}";

    api_error_set(&e, "GET", "/users-by-email?email=alice@example.com", 403, b403, strlen(b403));
    CHECK_INT(e.code, ERR_SCOPE);
    CHECK_INT(e.http_status, 403);
    CHECK(strstr(e.msg, "GET /users-by-email: HTTP 403 Forbidden: Insufficient scope") == e.msg);
    CHECK(strstr(e.msg, "read:users (insufficient_scope)") != NULL);
    CHECK(strstr(e.msg, "alice") == NULL); /* no query (personal data) in messages */
    api_error_set(&e, "POST", "/oauth/token", 400, b400, strlen(b400));
    CHECK(strstr(e.msg, "Service not enabled (access_denied)") != NULL);
    api_error_set(&e, "GET", "/jobs/x", 502, "<html>bad\ngateway</html>",
                  strlen("<html>bad\ngateway</html>"));
    CHECK(strstr(e.msg, "HTTP 502 Bad Gateway: answer is not JSON: '<html>bad gateway</html>'") !=
          NULL);
    {
        const char *hostile = "{\"message\":\"bad\\u001b[2Jthing\",\"errorCode\":\"x\\u0007\"}";
        api_error_set(&e, "GET", "/x", 400, hostile, strlen(hostile));
        CHECK(strchr(e.msg, 0x1b) == NULL && strchr(e.msg, 0x07) == NULL);
        CHECK(strstr(e.msg, "bad [2Jthing (x )") != NULL);
    }
    api_error_set(&e, "DELETE", "/users/x", 404, NULL, 0);
    CHECK(strstr(e.msg, "empty answer") != NULL);
    CHECK_INT(e.code, ERR_API);
    api_error_set(&e, "GET", "/users", 401, "{}", 2);
    CHECK_INT(e.code, ERR_AUTH);
}

int main(void)
{
    RUN(test_url_parse);
    RUN(test_transport_rule);
    RUN(test_escape);
    RUN(test_config_env);
    RUN(test_timing_env);
    RUN(test_secret_file);
    RUN(test_api_error);
    return harness_done();
}
