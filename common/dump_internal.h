/*
 * dump_internal.h - what the dump_*.c files share. See dump.h.
 */
#ifndef A0SNAP_DUMP_INTERNAL_H
#define A0SNAP_DUMP_INTERNAL_H

#include "buf.h"
#include "dump.h"

#include <pthread.h>

struct extsort;

struct dump_ctx {
    const struct dump_request *req;
    struct dump_result *res;
    struct tenant *tenant;
    json_t *catalogue;      /* borrowed from res */
    struct extsort *users;  /* key user_id, rec "<connection>\0<json line>" */
    struct extsort *grants; /* key user_id, rec a JSON grant */
    struct extsort *uniq;   /* key "<connection>\n<kind>:<value>" for collisions */
    /* With req->with_permissions on a whole tenant: key the id the API
     * knows, rec the id the snapshot holds (the privacy policy may rewrite
     * an id that embeds an email). NULL otherwise. */
    struct extsort *perm_ids;
    char tmpdir[4096];
    size_t users_seen;
    size_t users_excluded;
    size_t grants_seen;
    const char *phase;
    char phase_text[160]; /* a phase with a count in it, when phase points here */
    /* How often the fast paths (canonjson.h) were taken and left: lines
     * parsed without jansson's lexer, users joined by splicing text. */
    size_t lines_fast, lines_slow;
    size_t joins_fast, joins_slow;
    /* While dump_pool.c runs a second thread: the lock every add to the
     * users and uniq sorts takes (NULL otherwise), the users the other
     * thread has done (for progress) and the export file's line number of
     * the line being ingested (0: users_seen + 1). */
    pthread_mutex_t *sort_lock;
    size_t users_seen_elsewhere;
    size_t line_no;
    /* With a sort_lock: a batch's records wait here ("<sort><klen><rlen>
     * <key><rec>", lengths as uint32_t) and go in under one lock
     * (dump_sort_flush), so two threads rarely wait for each other. */
    struct buf *pending;
    /* Read the role and organization members while the (first) export
     * job runs, rather than after: set for whole-tenant dumps. */
    bool grants_during_job, grants_read;
};

/* Tells the caller's progress callback (if any) how far the current phase
 * is. Inline, so the stages below dump_run.c never call back up into it. */
static inline void dump_progress(struct dump_ctx *c, size_t done)
{
    if (c->req->progress)
        c->req->progress(c->req->ctx, c->phase, done);
}

/* The tenant refused a request outright (a 4xx other than 429): an
 * endpoint or a filter it does not have, for the code paths that can do
 * without it. */
static inline bool dump_refused(const struct err *e)
{
    return e->code == ERR_API && e->http_status >= 400 && e->http_status < 500 &&
           e->http_status != 429;
}

/* dump_catalogue.c */
int dump_catalogue(struct dump_ctx *c, struct err *e);
/* True for a catalogue role entry of type "organization" (it has an
 * "owner", the owning organization's name). */
bool dump_role_is_organization(const json_t *role);
/* The entry of catalogue list ("connections", "roles", "organizations")
 * whose key ("name", "id") is value; borrowed, or NULL. */
json_t *dump_catalogue_find(const struct dump_ctx *c, const char *list, const char *key,
                            const char *value);

/* What one answer about an export job says (POST /jobs/users-exports or
 * GET /jobs/{id}); pure, every string borrowed from the answer. */
enum dump_job_status {
    DUMP_JOB_RUNNING,   /* pending, processing, or a status not known to us */
    DUMP_JOB_COMPLETED, /* an export job's location should be set */
    DUMP_JOB_FAILED,    /* failed, expired or cancelled; details may be NULL */
};
struct dump_job_view {
    const char *id;     /* NULL when the answer has none */
    const char *status; /* as the answer says it */
    enum dump_job_status state;
    const char *location;   /* the download link of a completed job */
    const char *details;    /* status_details, when present */
    long long percent;      /* percentage_done, -1 when absent */
    long long time_left_ms; /* time_left_seconds * 1000, -1 when absent */
};
/* Fails with ERR_API for an answer without a status. */
int dump_job_read(const json_t *job, struct dump_job_view *v, struct err *e);
/* The wait before polling a running job again: backoff_ms, or less when
 * the job's time_left_ms (-1: not said) says it ends sooner. Pure. */
int64_t dump_job_poll_ms(int64_t backoff_ms, long long time_left_ms);

/* dump_job.c: runs one export job (connection_id NULL = all) and feeds
 * every user of its file to dump_ingest_line(). */
int dump_job_run(struct dump_ctx *c, const char *connection_id, struct err *e);
/* Feeds every line of the gzipped export file open at fd (from its start)
 * to dump_ingest_line(), through dump_pool.c when privacy is on. gz_bytes
 * and raw_bytes (may be NULL) get the compressed and raw sizes. */
int dump_ingest_file(struct dump_ctx *c, int fd, unsigned long long *gz_bytes,
                     unsigned long long *raw_bytes, struct err *e);

/* dump_pool.c: the per-user work of an export file (parse, privacy policy,
 * canonical text) on two threads, the caller's and one worker, each with
 * its own privacy context; the sorts take the records under
 * c->sort_lock. The order records reach the sorts in does not matter (a
 * sort orders by key, then bytes), so the snapshot is the same bytes as
 * with one thread. Lines are copied in batches; one batch can wait for
 * the worker, and when one already waits the caller does the next itself. */
struct dump_pool;
int dump_pool_new(struct dump_pool **out, struct dump_ctx *c, struct err *e);
int dump_pool_line(struct dump_pool *p, const char *line, size_t len, struct err *e);
/* Does what is left, stops the worker and adds its counters, privacy stats
 * and drift to c's. */
int dump_pool_finish(struct dump_pool *p, struct err *e);
/* Stops the worker if running (after a failure) and frees. NULL: no-op. */
void dump_pool_free(struct dump_pool *p);

/* dump_users.c */
int dump_ingest_line(struct dump_ctx *c, const char *line, size_t len, struct err *e);
int dump_ingest_user(struct dump_ctx *c, json_t *user, struct err *e);
int dump_check_unique(struct dump_ctx *c, struct err *e);
/* Adds c->pending's records to their sorts, under c->sort_lock. */
int dump_sort_flush(struct dump_ctx *c, struct err *e);

/* dump_subset.c */
int dump_subset(struct dump_ctx *c, struct err *e);

/* dump_permissions.c: the permissions assigned to a user directly (not
 * through a role), as grants {"kind":"perm","resource_server_identifier",
 * "permission_name"} of the user the snapshot holds (snapshot_id). */
int dump_permissions_of(struct dump_ctx *c, const char *api_id, const char *snapshot_id,
                        struct err *e);
/* The same for every user of c->perm_ids, after saying how many requests
 * that is and how long they should take at the tenant's rate. */
int dump_permissions_bulk(struct dump_ctx *c, struct err *e);

/* dump_grants.c */
int dump_grants_bulk(struct dump_ctx *c, struct err *e);
int dump_grants_for_user(struct dump_ctx *c, const char *user_id, struct err *e);
/* Sends one grant of user_id to the grants sort. Takes grant (a new
 * reference, or NULL when building it ran out of memory). */
int dump_grant_add(struct dump_ctx *c, const char *user_id, json_t *grant, struct err *e);
/* {"id","name"} of a role (an API role entry or a catalogue one), with
 * "type":"organization" when the catalogue says it is one; new, or NULL. */
json_t *dump_role_ref(const struct dump_ctx *c, json_t *role);
/* A member's roles in an organization, as role refs (*out new). */
int dump_org_roles_of(struct dump_ctx *c, const char *org_id, const char *user_id, json_t **out,
                      struct err *e);

/* dump_member_roles.c: an organization's member roles when its member
 * lists come without them; per member or per role, whichever costs fewer
 * requests. One per organization, while its member list is read. */
struct dump_member_roles {
    struct dump_ctx *c;
    json_t *org;     /* catalogue entry, borrowed */
    size_t max;      /* roles a member can hold there */
    size_t without;  /* members listed without roles */
    json_t *kept;    /* their ids, while they are at most max */
    size_t requests; /* spent completing them */
    bool refused;    /* the per-role endpoint refused: asked per member */
};
void dump_member_roles_init(struct dump_member_roles *m, struct dump_ctx *c, json_t *org);
/* A member whose entry came without roles. */
int dump_member_roles_note(struct dump_member_roles *m, const char *user_id, struct err *e);
/* Reads the roles of the members noted, as "orgrole" grants. */
int dump_member_roles_complete(struct dump_member_roles *m, struct err *e);
void dump_member_roles_release(struct dump_member_roles *m);
/* Pure: the roles a member of org (a catalogue entry) can hold there (the
 * tenant roles and the organization's own), and whether reading roles per
 * role is cheaper than per member. */
size_t dump_member_roles_candidates(const struct dump_ctx *c, const json_t *org);
bool dump_member_roles_by_role(size_t members_without_roles, size_t candidate_roles);

/* dump_join.c */
int dump_join(struct dump_ctx *c, json_t *header, const char *path, bool force, struct err *e);

#endif
