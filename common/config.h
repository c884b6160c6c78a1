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

struct tenant_config {
    char *domain;  /* e.g. "acme.eu.auth0.com" */
    char *api_url; /* base URL without trailing '/', e.g. "https://acme.eu.auth0.com" */
    char *client_id;
    char *client_secret; /* wiped on release */
};

/* Fills cfg from the environment. domain_override and api_url_override
 * (from --domain / --api-url) win over the environment when not NULL.
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
