/*
 * export.h - a0snap-export's options and its one entry point. The work is
 * common/dump.h's; this program adds the command line, the privacy set-up,
 * the --strict drift check and the summary.
 */
#ifndef A0SNAP_EXPORT_H
#define A0SNAP_EXPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define EXPORT_MAX_LIST 256

struct export_opts {
    const char *output; /* NULL: snapshots/<domain>-<UTC timestamp>.ndjson.gz */
    bool force;
    const char *domain;  /* --domain, else AUTH0_DOMAIN */
    const char *api_url; /* --api-url, else A0SNAP_API_URL */
    const char *users[EXPORT_MAX_LIST];
    size_t n_users;
    const char *emails[EXPORT_MAX_LIST];
    size_t n_emails;
    const char *query;
    const char *connections[EXPORT_MAX_LIST];
    size_t n_connections;
    const char *policy_path;
    bool no_anonymize;
    bool strict;
    const char *key_file;
    const char *pseudonym_of;
    bool json;
    size_t sort_mem;                         /* bytes for the external sort */
    const char *encrypt_to[EXPORT_MAX_LIST]; /* "age1..." keys, or files of them */
    size_t n_encrypt_to;
    const char *sign_key;  /* Ed25519 private key, PEM */
    bool with_permissions; /* --with-permissions (always for a subset) */
};

struct age_recipients;
struct edsig_key;

/* export_seal.c: the recipients and the signing key the options name. */
struct export_seal {
    struct age_recipients *recipients; /* NULL: not encrypted */
    struct edsig_key *sign;            /* NULL: not signed */
};
int export_seal_load(const struct export_opts *o, struct export_seal *s, struct err *e);
void export_seal_release(struct export_seal *s);
/* Records in the header what the snapshot is encrypted to (the recipients'
 * public keys, so an erasure can encrypt it again to the same ones). */
int export_seal_header(const struct export_seal *s, json_t *header, struct err *e);
/* Where the snapshot goes: --output FILE, or a name made of the domain and
 * the time in --output FOLDER (one that exists, or ends with '/'), or in
 * snapshots/ by default; ".age" is added to made names of encrypted files.
 * Refuses (ERR_REFUSED) an existing file without --force, and anything but
 * a regular file. */
int export_output_path(const struct export_opts *o, const char *domain, bool encrypted, char *out,
                       size_t outlen, struct err *e);

struct export_summary {
    char path[4096];
    char snapshot_id[33];
    size_t users;
    size_t connections;
    size_t roles;
    size_t organizations;
    size_t role_grants;
    size_t memberships;
    size_t dropped_grants; /* grants of users not in the snapshot */
    size_t excluded_by_policy;
    size_t drift_keys;
    size_t member_role_requests; /* organization member roles read one member at a time */
    size_t permission_grants;    /* direct permissions in the snapshot */
    size_t permission_requests;  /* requests made to read them */
    double seconds;
    long api_requests;
    long retries;
    json_t *per_connection; /* {"name": count}, owned */
    bool anonymized;
};

int export_run(const struct export_opts *o, struct export_summary *sum, struct err *e);
void export_summary_release(struct export_summary *s);

/* --pseudonym-of: prints what one user becomes under the key and policy. */
int export_pseudonym_of(const struct export_opts *o, struct err *e);

#endif
