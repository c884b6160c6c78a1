/*
 * guard.h - the rules that keep an import away from the wrong tenant.
 * Pure: the caller passes what it read from the environment and the
 * snapshot.
 *
 *  - the target is named explicitly; if AUTH0_DOMAIN is set too it must
 *    name the same tenant (a leftover production AUTH0_DOMAIN next to a
 *    --target is exactly the mix-up this refuses);
 *  - a tenant listed in A0SNAP_PROTECTED_TENANTS (comma-separated) is
 *    refused outright, whatever the options;
 *  - the snapshot's own source tenant is refused unless allow_source
 *    (restoring a backup is legitimate, doing it by accident is not).
 * Domains compare case-insensitively, ignoring a trailing dot.
 */
#ifndef A0SNAP_GUARD_H
#define A0SNAP_GUARD_H

#include <stdbool.h>

#include "err.h"

/* Fails with ERR_REFUSED (or ERR_USAGE for a missing target) naming the
 * rule. env_domain, source_domain and protected_csv may be NULL. */
int guard_target(const char *target, const char *env_domain, const char *source_domain,
                 const char *protected_csv, bool allow_source, struct err *e);

/* True if domain appears in the comma-separated list (spaces ignored). */
bool guard_domain_listed(const char *domain, const char *csv);

/* Case-insensitive comparison ignoring one trailing dot. */
bool guard_same_domain(const char *a, const char *b);

struct edsig_trusted;

/* The signature rule: with a set of trusted keys (A0SNAP_TRUSTED_KEYS),
 * a snapshot must be signed (signer: the fingerprint its verified
 * signature names, NULL or "" when unsigned) by one of them. Fails with
 * ERR_SNAPSHOT naming the file and what is wrong; trusted NULL accepts
 * everything. */
int guard_signer(const char *path, const char *signer, const struct edsig_trusted *trusted,
                 struct err *e);

#endif
