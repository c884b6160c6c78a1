/*
 * import.h - a0snap-import's parts and what they share.
 *
 * An import (import_run.c) goes:
 *   1. verify the snapshot completely (nothing is sent before it proves
 *      intact) and apply the target-safety rules (common/guard.h);
 *   2. authenticate against the target, check scopes, map connections,
 *      roles and organizations by name (import_map.c);
 *   3. read the target's current state through an export job into a
 *      private temp snapshot (common/dump.h), sorted by user_id;
 *   4. plan (import_plan.c): stream the snapshot users (after the import
 *      policy and id conversion) into a sort by target user_id, find
 *      email/username conflicts with sorted merges (import_conflicts.c),
 *      then merge "want" with "have" and decide per user
 *      (import_decide.c): create, update, unchanged, skip, replace; grant
 *      changes go to per-role/per-organization sorts;
 *   5. apply (import_jobs.c, import_apply.c, import_grants.c): deletions
 *      for replaced conflicts, bulk import jobs (bodies cut per connection
 *      by import_chunks.c, two in flight and polled as import_sched.c
 *      decides), PATCHes for what upsert can't do, role and membership
 *      batches (import_grant_queue.c);
 *   6. report (import_report.c): one NDJSON line per user with its final
 *      outcome, then a summary line.
 * The pure decisions (import_chunks, import_sched, import_grant_queue,
 * import_conflicts, import_decide) have headers of their own and unit
 * tests (tests/unit/test_import_*.c) that need no network. All of this is
 * the a0snap_import library; import_main.c alone is the program.
 * Memory is bounded by the sort budget whatever the snapshot size.
 */
#ifndef A0SNAP_IMPORT_H
#define A0SNAP_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "err.h"
#include "snapshot.h"

struct tenant;
struct edsig_trusted;
struct extsort;
struct privacy_ctx;
struct privacy_policy;
struct pseudonym_key;
struct import_grants;

#define IMPORT_MAX_LIST 256

enum import_mode { MODE_IMPORT, MODE_PLAN, MODE_LIST, MODE_VERIFY, MODE_DIFF };
enum conflict_policy { CONFLICT_SKIP, CONFLICT_REPLACE };

struct import_map_opt {
    const char *from[IMPORT_MAX_LIST];
    const char *to[IMPORT_MAX_LIST];
    size_t n;
};

struct import_opts {
    enum import_mode mode;
    const char *snapshot;
    const char *snapshot2; /* --diff NEW */
    const char *target;
    const char *api_url;
    const char *report;
    bool json;
    bool allow_source;
    enum conflict_policy on_conflict;
    struct import_map_opt map_connection, map_role, map_org, map_api;
    bool create_missing_roles;
    const char *convert_social_to; /* --social-users=convert:CONNECTION */
    const char *test_password_env;
    const char *policy_path;
    const char *key_file;
    bool no_anonymize;
    bool force_policy;
    bool resume;
    bool prune;
    const char *keep[IMPORT_MAX_LIST];
    size_t n_keep;
    long max_deletes; /* -1 = default (10%) */
    const char *only_users_file;
    const char *only_connection[IMPORT_MAX_LIST];
    size_t n_only_connection;
    const char *backup;
    size_t max_body; /* bytes per import request, default 500000 */
    size_t sort_mem;
    const char *identity_file; /* --identity, else A0SNAP_IDENTITY_FILE */
    /* Loaded by import_keys_load() before a mode runs (borrowed): what
     * opens an encrypted snapshot, and the signers A0SNAP_TRUSTED_KEYS
     * trusts (NULL: any snapshot, signed or not). */
    const struct snapshot_keys *keys;
    const struct edsig_trusted *trusted;
};

/* import_keys.c: the identity (--identity or A0SNAP_IDENTITY_FILE, a file
 * only its owner may read) and the trusted signing keys
 * (A0SNAP_TRUSTED_KEYS, public keys in PEM). */
struct age_identities;
struct import_keys {
    struct age_identities *identities;
    struct edsig_trusted *trusted;
    struct snapshot_keys sk;
};
int import_keys_load(struct import_keys *k, const char *identity_file, struct err *e);
void import_keys_release(struct import_keys *k);
/* The trust rule for a verified snapshot (guard_signer). */
int import_check_signer(const struct import_opts *o, const char *path, const char *signer,
                        struct err *e);

/* Outcome counters (the summary line and --json). */
struct import_counts {
    size_t created, updated, unchanged, skipped, failed, deleted;
    size_t conflicts, social_skipped, social_converted, no_email;
    size_t roles_added, roles_removed, members_added, members_removed;
    size_t member_roles_added, member_roles_removed;
    size_t jobs, jobs_retried, patches;
    size_t roles_created;
    size_t member_role_requests;       /* reading the target: member roles one member at a time */
    size_t passwordless;               /* created or updated through POST/PATCH /users */
    size_t links_added, links_removed; /* linked accounts */
    size_t links_not_copyable;         /* social/enterprise linked accounts the target lacks */
    size_t links_social, links_enterprise; /* ... of which social, enterprise */
    size_t permissions_added, permissions_removed;
    size_t permissions_missing; /* their API or scope is not in the target */
    size_t moves;               /* values moved between users (import_moves.h) */
};

/* The want sort's record of a snapshot user's linked account: a held
 * marker (empty connection) followed by this, so the merge can tell it from
 * a user held but not imported. */
#define IMPORT_HELD_LINKED "\0linked"

struct import_ctx {
    const struct import_opts *opts;
    struct tenant *tenant;
    json_t *header; /* the snapshot's, owned */
    /* Which snapshot this is, for the report: its SHA-256 (before the
     * trailer), its signer's key fingerprint ("" unsigned), encrypted. */
    char snapshot_sha256[65];
    char snapshot_signer[65];
    bool snapshot_encrypted;
    json_t *target_cat; /* target catalogue, owned */
    json_t *conn_map;   /* source connection name -> {"id","name","strategy"} in target, owned */
    json_t *role_map;   /* role name -> target role id, owned */
    json_t *org_map;    /* org name -> target org id, owned */
    json_t *covered;    /* target connection names the snapshot covers: {name:true}, owned */
    struct privacy_ctx *privacy;
    struct privacy_policy *policy; /* what privacy applies, owned */
    struct pseudonym_key *key;     /* its key, owned */
    char *password_hash;           /* bcrypt, for --test-password-env */
    char tmpdir[4096];
    char target_dump[4096]; /* temp snapshot of the target */
    /* sorts */
    struct extsort *want;         /* target uid -> "<tconn>\0<json>" */
    struct extsort *sidx;         /* "<tconn>\x1f<kind>:<value>" -> target uid (snapshot side) */
    struct extsort *tidx;         /* same keys -> uid (target side) */
    struct extsort *conf;         /* snapshot target uid -> "<other uid>\x1f<kind>" */
    struct extsort *outcomes;     /* uid -> report line JSON */
    struct extsort *failed;       /* uid -> reason */
    struct extsort *patches;      /* uid -> PATCH body JSON (sequence kept by a prefix) */
    struct import_grants *grants; /* role and membership changes (import_grants.c) */
    struct extsort *deletes;      /* uid -> reason (replace conflicts, prune) */
    struct extsort *jobof;        /* uid -> id of the import job that carried the user */
    struct extsort *creates;      /* "<uid>\x1f<step>" -> POST /users (before the jobs) */
    struct extsort *calls;        /* "<uid>\x1f<step>" -> links, permissions (after them) */
    struct extsort *deferrals;    /* snapshot uid -> a conflict waiting for the merge's end */
    struct extsort *holders;      /* target uid -> snapshot uid whose value it holds */
    bool with_permissions;        /* the snapshot recorded direct permissions */
    json_t *apis;                 /* target APIs: {identifier: [scope names]}, owned */
    json_t *api_map;              /* --map-api: {source identifier: target identifier}, owned */
    json_t *target_secondaries;   /* the target's linked accounts: {"provider|id": connection} */
    json_t *snapshot_holds;       /* those of them the snapshot holds: {"provider|id": true} */
    json_t *linked_present;       /* snapshot linked accounts the target has as users: {id: true} */
    json_t *unlink_first;         /* target linked accounts the snapshot imports as users: {id:
                                   * null, or the user the unlink leaves (import_extras.c)} */
    json_t *failures;             /* uid -> reason, owned */
    struct import_counts n;
    size_t target_users_in_scope;
    size_t prune_candidates; /* target users of covered connections the snapshot lacks */
    size_t prune_deletes;    /* of those, planned for deletion (not kept) */
    json_t *planned_deletes; /* uid -> true, owned */
    json_t *movers;          /* import_moves.h: target users that give a value up, owned */
    json_t *releases;        /* mover uid -> {kind: PATCH body setting it aside}, owned */
    int journal_fd;          /* -1 in --plan */
    char journal_path[4200];
    size_t resumed_jobs;
    json_t *unmapped; /* {"roles":[...],"organizations":[...],"connections":[...]} */
    /* job records "<conn>\t<uid>\t<email>\t<grants>\t<record>\n" (grants: the
     * user's grant items, see import_grants_add), anonymous temp */
    int records_fd;
    struct buf records_buf; /* records not written to records_fd yet (import_records.c) */
};

/* import_map.c */
int import_map_build(struct import_ctx *c, json_t *source_cat, json_t *target_cat, struct err *e);
/* A role's key where names are compared: the name of a tenant role;
 * "\x1f<owner>\x1f<name>" for an organization role, which the
 * organization called owner owns (a tenant role and organization roles of
 * one name stay apart). -1 when out does not hold it. */
int import_role_key(char *out, size_t outsz, const char *owner, const char *name);
/* The parts of an organization role's key (false for a tenant role's). */
bool import_role_key_split(const char *key, char *owner, size_t ownersz, const char **name);
/* The target catalogue's role for a key, or NULL. Borrowed. */
json_t *import_target_role(const struct import_ctx *c, const char *key);

/* import_plan.c */
int import_plan(struct import_ctx *c, struct err *e);
/* The strategy of a target connection (by name), or "". */
const char *import_tconn_strategy(const struct import_ctx *c, const char *tconn);
/* Users a bulk job cannot write: those of passwordless connections. */
bool import_written_directly(const struct import_ctx *c, const char *tconn);

/* import_plan_snapshot.c: the plan's pass A, the snapshot into the want
 * sort and the snapshot's conflict index (c->want, c->sidx). */
int import_plan_snapshot(struct import_ctx *c, struct err *e);

/* import_want.c: a snapshot user as the plan wants it, its grants named
 * as in the target. */
/* The key (import_role_key) of a role entry of a user: an organization
 * role ("type": "organization") is named with org, the organization of
 * the membership that holds it. NULL when out is too small. */
const char *import_role_entry_key(char *out, size_t outsz, const json_t *role, const char *org);
/* Renames user's "roles" and "organizations" (when arrays) to the target's
 * names: [{"name"}] and [{"name","roles":[{"name"}]}], roles by key
 * through role_names, organizations through org_names; those the target
 * lacks are dropped. */
void import_want_rename(json_t *user, const json_t *role_names, const json_t *org_names);
/* The same user as the want sort holds it, from its canonical parse
 * alone: appends json_dumps(COMPACT | SORT_KEYS) of what
 * import_want_rename() makes of canonjson_to_json(cj). 1 done; 0 not
 * handled (a role's name or type, or an organization's name, with
 * escapes), out unchanged; -1 failed (out's error), out unchanged. */
struct canonjson;
int import_want_text(const struct canonjson *cj, const json_t *role_names, const json_t *org_names,
                     struct buf *out, struct err *e);

/* import_records.c: the job records of the users bulk jobs carry. */
struct import_record_user {
    const char *tconn, *uid, *email; /* email may be NULL */
    const json_t *want;              /* the user as the plan wants it (import_decide.h) */
    /* want's canonical parse when the plan has one (NULL: jansson writes
     * the record); it must be of want's text exactly. */
    const struct canonjson *want_cj;
    bool is_new;          /* gets the --test-password-env hash */
    const json_t *grants; /* the grant items that wait for the job */
};
/* Adds u's line (import.h: records_fd); 1 and skip_reason filled when u
 * cannot be bulk-imported (nothing added). Lines are written to the file
 * in large pieces: import_records_flush() writes the rest, and must have
 * run before the file is read. */
int import_records_add(struct import_ctx *c, const struct import_record_user *u, char *skip_reason,
                       size_t skip_len, struct err *e);
int import_records_flush(struct import_ctx *c, struct err *e);

/* import_extras.c: the calls a written user needs besides its job, PATCH
 * and grants: POST /users for a new user bulk jobs cannot write (direct),
 * its linked accounts, its direct permissions (when the snapshot has
 * them). Adds "identities"/"permissions" to d's fields and makes an
 * unchanged user "updated" when those change; reason gets what could not
 * be copied (a social linked account, a permission the target can't
 * take). */
struct import_decision;
int import_plan_extras(struct import_ctx *c, const char *uid, json_t *want, json_t *have,
                       bool direct, struct import_decision *d, char *reason, size_t reasonsz,
                       struct err *e);

/* import_jobs.c: runs every bulk import job of the plan. */
int import_run_jobs(struct import_ctx *c, struct err *e);

/* import_calls.c: recorded per-user calls (see the file). call (a new
 * reference, taken) is {"k":kind,"m":method,"p":path,"b":body,"w":what}
 * ("k":"ensure" with "id" and "b": make that user unless it exists). */
int import_call_add(struct extsort *s, const char *uid, int step, json_t *call, struct err *e);
int import_apply_calls(struct import_ctx *c, struct extsort *s, const char *progress,
                       struct err *e);
/* "/users/<escaped uid><suffix>" */
int import_user_path(char *out, size_t outlen, const char *uid, const char *suffix, struct err *e);

/* import_apply.c */
int import_apply_deletes(struct import_ctx *c, struct err *e);
/* Sets aside the values that movers give up (import_moves.h): one PATCH
 * per value, before anything is created or changed. */
int import_apply_releases(struct import_ctx *c, struct err *e);
int import_apply_patches(struct import_ctx *c, struct err *e);
/* A call on behalf of user uid failed with ue: a refusal marks the user
 * failed ("what: message"; the run goes on, 0); auth, scope, network, 429
 * and 5xx failures stop the run (-1, e = ue). */
int import_user_failed(struct import_ctx *c, const char *uid, const char *what,
                       const struct err *ue, struct err *e);
/* One call on behalf of user uid, failures as import_user_failed(). */
int import_user_call(struct import_ctx *c, const char *uid, const char *method, const char *path,
                     json_t *body, const char *what, struct err *e);
bool import_failed_already(const struct import_ctx *c, const char *uid);

/* import_grants.c: role and organization changes, applied in windows that
 * overlap the bulk import jobs.
 *
 * A user's grant items are only sent once the user exists: the plan hands
 * the items of users no job carries straight to import_grants_add(); the
 * items of the users a job carries travel with the job's records and are
 * added when the job ends (import_jobs.c). Items collect in the "filling"
 * window; when the executor runs out of work, the filling window closes
 * and its sorted items are sent: roles added in batches per role, roles
 * removed per user, members added in batches per organization, member
 * roles per member, members removed in batches. While jobs run,
 * import_grants_idle() spends the time between polls on that work, so the
 * rate limit the jobs leave unused is not lost; windows grow by themselves
 * (each holds what finished while the previous one was being sent), which
 * keeps the partial batches few. */
int import_grants_new(struct import_ctx *c, size_t mem, struct err *e);
void import_grants_free(struct import_ctx *c);
/* Grant items of one user: a JSON array of ["R",role id] (add a role),
 * ["r",[role ids]] (remove roles), ["O",org id] (add a member), ["o",org id]
 * (remove a member), ["M",org id,{"add":[role ids],"remove":[role ids]}]
 * (member roles). */
int import_grants_add(struct import_ctx *c, const char *uid, json_t *items, struct err *e);
/* The same, from the items' JSON text (a job record's field). */
int import_grants_add_text(struct import_ctx *c, const char *uid, const char *text, struct err *e);
/* Sends ready grant work for about ms milliseconds, sleeping when there is
 * none. */
int import_grants_idle(struct import_ctx *c, int64_t ms, struct err *e);
/* Sends everything left. */
int import_grants_drain(struct import_ctx *c, struct err *e);

/* import_report.c */
/* Every counter of n under its --json/report key (README); NULL when out
 * of memory. */
json_t *import_counts_json(const struct import_counts *n);
int import_note_outcome(struct import_ctx *c, const char *uid, const char *email,
                        const char *outcome, const char *reason, json_t *fields, struct err *e);
int import_note_failure(struct import_ctx *c, const char *uid, const char *reason, struct err *e);
struct import_tally;
/* Writes the report (path NULL: only counts). tally, when not NULL,
 * counts each line as it is written (import_tally.c). */
int import_write_report(struct import_ctx *c, const char *path, json_t *summary,
                        struct import_tally *tally, struct err *e);

/* import_tally.c: --plan's account of the report, for people. */
struct import_tally *import_tally_new(void); /* NULL when out of memory */
void import_tally_free(struct import_tally *t);
/* One report line, parsed by canonjson or as a json_t. */
int import_tally_text(struct import_tally *t, const struct canonjson *cj, struct err *e);
int import_tally_json(struct import_tally *t, const json_t *line, struct err *e);
/* What the lines say, grouped (stdout). */
void import_print_plan(const struct import_ctx *c, const struct import_tally *t, const char *report,
                       FILE *out);

/* import_journal.c */
int import_journal_open(struct import_ctx *c, const char *path, struct err *e);
/* Appends one event (a new reference, taken) and syncs it. */
int import_journal_write(struct import_ctx *c, json_t *event, struct err *e);
/* Closes the journal; removes it when the run completed. */
void import_journal_finish(struct import_ctx *c, bool completed);
/* --resume: waits for the jobs an interrupted run left in flight. */
int import_journal_resume(struct import_ctx *c, const char *path, struct err *e);

/* import_inspect.c: --list, --verify, --diff. */
int import_list(const struct import_opts *o, struct err *e);
int import_verify(const struct import_opts *o, struct err *e);
int import_diff(const struct import_opts *o, struct err *e);

int import_run(const struct import_opts *o, struct import_counts *out, struct err *e);

#endif
