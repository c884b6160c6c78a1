/*
 * config.h - where a program's tenant credentials come from.
 *
 * The names are those of Auth0's Deploy CLI: AUTH0_DOMAIN, AUTH0_CLIENT_ID,
 * AUTH0_CLIENT_SECRET. The secret is never taken from argv; it comes from
 * the environment or from a file named by AUTH0_CLIENT_SECRET_FILE that
 * only its owner can read. A0SNAP_API_URL (or --api-url) says where the
 * tenant's /oauth/token and /api/v2 are reached when that is not
 * https://DOMAIN (a local tenant, a proxy); the domain stays the tenant's
 * identity and the token audience.
 */
#ifndef A0SNAP_CONFIG_H
#define A0SNAP_CONFIG_H

#include "err.h"

/* How long the client waits, and how patiently. Each value comes from the
 * environment so a slow proxy, a CI job or a test suite can change it
 * without a special build; 0 = the default (written beside each). */
struct tenant_timing {
    long stall_timeout_s; /* A0SNAP_STALL_TIMEOUT: seconds without data before a
                           * transfer is abandoned and retried; 60 */
    long retry_base_ms;   /* A0SNAP_RETRY_BASE_MS: the first retry's backoff (it
                           * doubles with each retry); 500 */
    long retry_max_ms;    /* A0SNAP_RETRY_MAX_MS: the longest backoff; 30000 */
    long poll_ms;         /* A0SNAP_POLL_MS: the shortest wait between two
                           * polls of a job; 0 = each job engine's own (export
                           * 500, import 300) */
};

#define TIMING_STALL_TIMEOUT_S 60
#define TIMING_RETRY_BASE_MS   500
#define TIMING_RETRY_MAX_MS    30000

struct tenant_config {
    char *domain;  /* e.g. "acme.eu.auth0.com" */
    char *api_url; /* base URL without trailing '/', e.g. "https://acme.eu.auth0.com" */
    char *client_id;
    char *client_secret; /* wiped on release */
    struct tenant_timing timing;
};

/* Fills t from the environment (defaults for what is unset). A value that
 * is not a whole number in its range fails with ERR_USAGE naming the
 * variable, rather than being ignored. */
int tenant_timing_from_env(struct tenant_timing *t, struct err *e);

/* Fills cfg from the environment, timing included. domain_override and
 * api_url_override (from --domain / --api-url) win over the environment
 * when not NULL.
 * Fails with ERR_USAGE naming what is missing, ERR_REFUSED for plain http
 * to a non-loopback host or a secret file others can read. */
int tenant_config_from_env(struct tenant_config *cfg, const char *domain_override,
                           const char *api_url_override, struct err *e);

/* Frees the strings and wipes the secret. Safe on a zeroed struct. */
void tenant_config_release(struct tenant_config *cfg);

/* Reads a whole small secret file (key, client secret), refusing one that
 * group or others can read. Trailing newlines are stripped. *out is
 * malloc'd; the caller wipes and frees it. */
int config_read_secret_file(const char *path, char **out, struct err *e);

/* "acme.auth0.com" -> true; refuses schemes, paths, spaces. */
int config_check_domain(const char *domain, struct err *e);

#endif
