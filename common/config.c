/*
 * config.c - credentials from the environment. See config.h.
 */
#include "config.h"

#include "fsutil.h"
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_FILE_MAX 4096

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int config_check_domain(const char *domain, struct err *e)
{
    size_t n = strlen(domain);

    if (n == 0 || n > 253)
        return err_set(e, ERR_USAGE, "bad tenant domain '%s'", domain);
    if (strstr(domain, "://"))
        return err_set(
            e, ERR_USAGE,
            "tenant domain '%s' must be a host name, not a URL (use --api-url for a URL)", domain);
    for (const char *p = domain; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_'))
            return err_set(e, ERR_USAGE, "bad character in tenant domain '%s'", domain);
    }
    return 0;
}

int config_read_secret_file(const char *path, char **out, struct err *e)
{
    size_t len;

    if (fsutil_read_private(path, "secret file", SECRET_FILE_MAX, out, &len, e) < 0)
        return -1;
    while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
        (*out)[--len] = '\0';
    if (len == 0) {
        free(*out);
        *out = NULL;
        return err_set(e, ERR_USAGE, "secret file '%s' is empty", path);
    }
    return 0;
}

/* One timing variable: unset or empty keeps *out; otherwise a whole
 * number from lo to hi. */
static int env_long(const char *name, long lo, long hi, const char *unit, long *out, struct err *e)
{
    const char *v = env_nonempty(name);
    char *end;
    long x;

    if (!v)
        return 0;
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return err_set(e, ERR_USAGE, "%s must be a whole number of %s from %ld to %ld, not '%s'",
                       name, unit, lo, hi, v);
    *out = x;
    return 0;
}

int tenant_timing_from_env(struct tenant_timing *t, struct err *e)
{
    t->stall_timeout_s = TIMING_STALL_TIMEOUT_S;
    t->retry_base_ms = TIMING_RETRY_BASE_MS;
    t->retry_max_ms = TIMING_RETRY_MAX_MS;
    t->poll_ms = 0;
    if (env_long("A0SNAP_STALL_TIMEOUT", 1, 3600, "seconds", &t->stall_timeout_s, e) < 0 ||
        env_long("A0SNAP_RETRY_BASE_MS", 1, 60000, "milliseconds", &t->retry_base_ms, e) < 0 ||
        env_long("A0SNAP_RETRY_MAX_MS", 1, 300000, "milliseconds", &t->retry_max_ms, e) < 0 ||
        env_long("A0SNAP_POLL_MS", 1, 60000, "milliseconds", &t->poll_ms, e) < 0)
        return -1;
    if (t->retry_max_ms < t->retry_base_ms)
        t->retry_max_ms = t->retry_base_ms;
    return 0;
}

static int dup_into(char **dst, const char *src, struct err *e)
{
    *dst = strdup(src);
    return *dst ? 0 : err_oom(e);
}

int tenant_config_from_env(struct tenant_config *cfg, const char *domain_override,
                           const char *api_url_override, struct err *e)
{
    const char *domain, *api_url, *id, *secret, *secret_file;
    size_t n;

    memset(cfg, 0, sizeof(*cfg));
    domain = domain_override ? domain_override : env_nonempty("AUTH0_DOMAIN");
    if (!domain)
        return err_set(e, ERR_USAGE, "no tenant domain: set AUTH0_DOMAIN or pass --domain");
    if (config_check_domain(domain, e) < 0)
        return -1;
    id = env_nonempty("AUTH0_CLIENT_ID");
    if (!id)
        return err_set(e, ERR_USAGE, "no client id: set AUTH0_CLIENT_ID");
    secret = env_nonempty("AUTH0_CLIENT_SECRET");
    secret_file = env_nonempty("AUTH0_CLIENT_SECRET_FILE");
    if (!secret && !secret_file)
        return err_set(e, ERR_USAGE,
                       "no client secret: set AUTH0_CLIENT_SECRET or AUTH0_CLIENT_SECRET_FILE "
                       "(a file only you can read); it is never taken from the command line");
    api_url = api_url_override ? api_url_override : env_nonempty("A0SNAP_API_URL");
    if (tenant_timing_from_env(&cfg->timing, e) < 0)
        return -1;

    if (dup_into(&cfg->domain, domain, e) < 0 || dup_into(&cfg->client_id, id, e) < 0)
        goto fail;
    if (api_url) {
        if (url_check_transport(api_url, "API URL", e) < 0)
            goto fail;
        if (dup_into(&cfg->api_url, api_url, e) < 0)
            goto fail;
    } else {
        size_t len = strlen(domain) + sizeof("https://");
        cfg->api_url = malloc(len);
        if (!cfg->api_url) {
            err_oom(e);
            goto fail;
        }
        snprintf(cfg->api_url, len, "https://%s", domain);
    }
    n = strlen(cfg->api_url);
    while (n > 0 && cfg->api_url[n - 1] == '/')
        cfg->api_url[--n] = '\0';
    if (secret) {
        if (dup_into(&cfg->client_secret, secret, e) < 0)
            goto fail;
    } else if (config_read_secret_file(secret_file, &cfg->client_secret, e) < 0) {
        goto fail;
    }
    return 0;
fail:
    tenant_config_release(cfg);
    return -1;
}

void tenant_config_release(struct tenant_config *cfg)
{
    if (!cfg)
        return;
    if (cfg->client_secret) {
        explicit_bzero(cfg->client_secret, strlen(cfg->client_secret));
        free(cfg->client_secret);
    }
    free(cfg->domain);
    free(cfg->api_url);
    free(cfg->client_id);
    memset(cfg, 0, sizeof(*cfg));
}
