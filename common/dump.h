/*
 * dump.h - reading a whole tenant (or a subset) into a sealed snapshot.
 *
 * Both programs use it: a0snap-export to write the snapshot the user asked
 * for, a0snap-import to read the target tenant's current state (into a
 * private temp snapshot) before comparing it with the snapshot to import.
 *
 * The stages:
 *   catalogue (dump_catalogue.c): connections, roles, organizations;
 *   users (dump_job.c + dump_users.c): bulk export job(s), the gzip
 *     NDJSON downloaded without the bearer token to an anonymous temp
 *     file, each user parsed, passed through the privacy context (if any)
 *     and fed to an external sort by user_id; or, for users/emails/query,
 *     the same from /users (dump_subset.c);
 *   grants (dump_grants.c): role members and organization members (with
 *     their member roles), also sorted by user_id; read while the export
 *     job runs (the job's wait would be idle time otherwise);
 *   join (dump_join.c): a streaming merge of the two sorted streams into
 *     the snapshot writer; grants of users that are not in the snapshot
 *     (deleted meanwhile, or outside the subset) are dropped and counted.
 * Memory stays bounded by the sort budget whatever the tenant size, and
 * nothing appears at the output path unless the snapshot is complete.
 *
 * Nothing here prints: retries and warnings go to the tenant's notify
 * callback, progress to the request's progress callback.
 */
#ifndef A0SNAP_DUMP_H
#define A0SNAP_DUMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct tenant;
struct privacy_ctx;
struct edsig_key;
struct age_recipients;

typedef void (*dump_progress_fn)(void *ctx, const char *phase, size_t done);
/* Called after every user was read and before the snapshot is written; a
 * failure stops the run with nothing written (e.g. the --strict check). */
typedef int (*dump_check_fn)(void *ctx, struct err *e);

struct dump_request {
    const char *const *connections; /* names; none = every connection */
    size_t n_connections;
    const char *const *users; /* subset by user_id */
    size_t n_users;
    const char *const *emails; /* subset by email */
    size_t n_emails;
    const char *query;           /* subset by Lucene query */
    struct privacy_ctx *privacy; /* borrowed; NULL = raw */
    json_t *header;              /* borrowed; copied into the snapshot header */
    size_t sort_mem;             /* bytes for the users sort (0 = 32 MiB) */
    const char *tmpdir;          /* spill files; NULL = the output's folder */
    bool force;                  /* replace an existing output file */
    /* Read each user's directly assigned permissions (one request a user):
     * the caller decides (export: on for subsets, --with-permissions for a
     * whole tenant). */
    bool with_permissions;
    const struct edsig_key *sign;            /* sign the snapshot (borrowed), or NULL */
    const struct age_recipients *encrypt_to; /* encrypt it to these (borrowed), or NULL */
    dump_progress_fn progress;
    dump_check_fn before_write;
    void *ctx;
};

struct dump_result {
    size_t users;
    size_t users_seen;
    size_t excluded_by_policy;
    size_t role_grants;
    size_t memberships;
    size_t dropped_grants;
    size_t phone_collisions; /* pseudonymous phones shared by two users (warned) */
    /* Requests made for organization member roles one member at a time,
     * because a member list came without the `roles` it was asked for
     * (real Auth0 has not been seen to include them under checkpoint
     * paging). */
    size_t member_role_requests;
    size_t permission_grants;   /* direct permissions in the snapshot */
    size_t permission_requests; /* requests made to read them */
    json_t *per_connection;     /* {"name": users}, owned */
    json_t *catalogue;          /* {"connections","roles","organizations"}, owned */
    char snapshot_id[33];
};

void dump_result_init(struct dump_result *r);
void dump_result_release(struct dump_result *r);

/* The explicit field list sent to export jobs and /users (NULL-terminated). */
extern const char *const dump_fields[];

/* Reads the tenant as the request says and writes the snapshot to path.
 * The header gets "source" {domain}, "catalogue" and "request" (subset and
 * fields) besides what req->header holds. */
int dump_tenant(struct tenant *t, const struct dump_request *req, const char *path,
                struct dump_result *res, struct err *e);

#endif
