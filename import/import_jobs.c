/*
 * import_jobs.c - the bulk import jobs: chunks under the size limit, two in
 * flight (Auth0's per-tenant limit), every job polled to its end, its
 * summary read and its errors mapped back to users.
 *
 * Records come from the plan's temp file; import_chunks.c cuts them into
 * bodies per target connection (a job imports into one connection). A job
 * that fails as a whole is retried once, split in two halves, so one
 * poisonous record can't sink a thousand others; what still fails is
 * reported per user. Users a job reports as failed go to the failures map
 * with Auth0's error code and message; they don't stop the run. When to
 * poll and what an end means are import_sched.c's decisions; this file
 * does the requests.
 */
#include "import.h"
#include "jsonutil.h"

#include "extsort.h"
#include "import_chunks.h"
#include "import_sched.h"
#include "log.h"
#include "multipart.h"
#include "tenant.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct chunk {
    char *conn_id;
    struct import_body req; /* the request, when built (its body freed once sent) */
    struct import_job_user *users;
    size_t n, cap;
    int generation; /* 0 = first try, 1 = a half of a failed job */
    char job_id[64];
    char external_id[128];
    struct import_job_clock clock;
};

struct job_engine {
    struct import_ctx *c;
    struct import_sched sched;
    struct chunk *active[IMPORT_MAX_IN_FLIGHT];
    size_t n_active;
    struct chunk *open[IMPORT_MAX_CONNECTIONS]; /* per connection, the chunk being filled */
    struct import_chunks *chunks;
    unsigned long seq;
    char prefix[64];
};

static void user_release(struct import_job_user *u)
{
    free(u->uid);
    free(u->email);
    free(u->grants);
    free(u->record);
}

static void chunk_free(struct chunk *ch)
{
    if (!ch)
        return;
    for (size_t i = 0; i < ch->n; i++)
        user_release(&ch->users[i]);
    free(ch->users);
    free(ch->conn_id);
    import_body_release(&ch->req);
    free(ch);
}

static struct chunk *chunk_new(const char *conn_id)
{
    struct chunk *ch = calloc(1, sizeof(*ch));

    if (ch && !(ch->conn_id = strdup(conn_id))) {
        free(ch);
        return NULL;
    }
    return ch;
}

static int chunk_push(struct chunk *ch, const char *uid, const char *email, const char *grants,
                      const char *rec, struct err *e)
{
    struct import_job_user *u;

    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 256;
        struct import_job_user *more = realloc(ch->users, cap * sizeof(*more));
        if (!more)
            return err_oom(e);
        ch->users = more;
        ch->cap = cap;
    }
    u = &ch->users[ch->n];
    u->uid = strdup(uid);
    u->email = strdup(email);
    u->grants = strdup(grants);
    u->record = strdup(rec);
    if (!u->uid || !u->email || !u->grants || !u->record) {
        user_release(u);
        return err_oom(e);
    }
    ch->n++;
    return 0;
}

static int fail_chunk(struct job_engine *je, struct chunk *ch, const char *reason, struct err *e)
{
    for (size_t i = 0; i < ch->n; i++)
        if (import_note_failure(je->c, ch->users[i].uid, reason, e) < 0)
            return -1;
    return 0;
}

/* The body of a half of a failed job, built now. */
static int build_body(struct job_engine *je, struct chunk *ch, struct err *e)
{
    struct import_chunker *mk = NULL;
    char prefix[96];
    int rc = -1;

    snprintf(prefix, sizeof(prefix), "%s-retry%lu", je->prefix, ++je->seq);
    if (import_chunker_new(&mk, ch->conn_id, prefix, je->c->opts->max_body, e) < 0)
        goto out;
    for (size_t i = 0; i < ch->n; i++)
        if (import_chunker_add(mk, ch->users[i].record, strlen(ch->users[i].record), e) != 0) {
            if (e->code == ERR_NONE)
                err_set(e, ERR_INTERNAL, "a half of a chunk does not fit in one request");
            goto out;
        }
    rc = import_chunker_take(mk, &ch->req.body, &ch->req.len, &ch->req.content_type,
                             &ch->req.external_id, e);
out:
    import_chunker_free(mk);
    return rc;
}

/* A submitted job's users and the journal learn its id. */
static int note_submitted(struct job_engine *je, struct chunk *ch, struct err *e)
{
    je->c->n.jobs++;
    for (size_t i = 0; i < ch->n; i++)
        if (extsort_add(je->c->jobof, ch->users[i].uid, strlen(ch->users[i].uid), ch->job_id,
                        strlen(ch->job_id), e) < 0)
            return -1;
    return import_journal_write(je->c,
                                json_pack("{s:s,s:s,s:s,s:I}", "event", "job", "job_id", ch->job_id,
                                          "external_id", ch->external_id, "users",
                                          (json_int_t)ch->n),
                                e);
}

/* Submits a chunk: its body as the chunker built it, or (for the halves
 * of a failed job) a body built now. */
static int submit(struct job_engine *je, struct chunk *ch, struct err *e)
{
    json_t *res = NULL;
    int rc = -1;

    if (!ch->req.body && build_body(je, ch, e) < 0)
        goto out;
    snprintf(ch->external_id, sizeof(ch->external_id), "%s", ch->req.external_id);
    if (tenant_call_raw(je->c->tenant, "POST", "/jobs/users-imports", ch->req.content_type,
                        ch->req.body, ch->req.len, &res, e) < 0) {
        err_prefix(e, "submitting import job '%s' (%zu users)", ch->external_id, ch->n);
        goto out;
    }
    if (!json_is_string(json_object_get(res, "id"))) {
        err_set(e, ERR_API, "the import job answer has no id");
        goto out;
    }
    snprintf(ch->job_id, sizeof(ch->job_id), "%s", json_string_value(json_object_get(res, "id")));
    import_sched_submitted(&je->sched, &ch->clock, tenant_now_ms(je->c->tenant));
    if (note_submitted(je, ch, e) < 0)
        goto out;
    tenant_notify(je->c->tenant, 1, "import job '%s' (%s) submitted: %zu users, %zu bytes",
                  ch->job_id, ch->external_id, ch->n, ch->req.len);
    /* The body is not needed any more; the records stay for a split retry. */
    free(ch->req.body);
    ch->req.body = NULL;
    rc = 0;
out:
    json_decref(res);
    return rc;
}

/* Maps /jobs/{id}/errors to users. Returns 1 if the answer said the job
 * failed as a whole (job-object shape or nothing), 0 otherwise. */
static int read_errors(struct job_engine *je, struct chunk *ch, struct err *e)
{
    char path[128];
    json_t *res = NULL, *item;
    size_t i;
    int rc = -1;

    snprintf(path, sizeof(path), "/jobs/%s/errors", ch->job_id);
    if (tenant_call(je->c->tenant, "GET", path, NULL, &res, e) < 0)
        return err_prefix(e, "reading the errors of import job '%s'", ch->job_id);
    if (import_job_errors_whole(res)) {
        rc = 1;
        goto out;
    }
    json_array_foreach(res, i, item)
    {
        char reason[600];
        long k = import_job_error_user(item, ch->users, ch->n);

        import_job_error_reason(item, ch->job_id, reason, sizeof(reason));
        if (k < 0) {
            tenant_notify(je->c->tenant, 0, "%s (for a user the job's errors don't identify)",
                          reason);
            continue;
        }
        if (import_note_failure(je->c, ch->users[k].uid, reason, e) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(res);
    return rc;
}

static int resubmit_halves(struct job_engine *je, struct chunk *ch, struct err *e);

/* The users of a job that ended now exist (but the ones it failed): their
 * role and membership changes can go. */
static int release_grants(struct job_engine *je, const struct chunk *ch, struct err *e)
{
    for (size_t i = 0; i < ch->n; i++) {
        const struct import_job_user *u = &ch->users[i];
        if (strcmp(u->grants, "[]") != 0 && !import_failed_already(je->c, u->uid) &&
            import_grants_add_text(je->c, u->uid, u->grants, e) < 0)
            return -1;
    }
    return 0;
}

static const char *status_details(json_t *job, const char *otherwise)
{
    const char *d = json_string_value(json_object_get(job, "status_details"));

    return d ? d : otherwise;
}

/* A job reached an end: account for its users. Takes ch. */
static int finish(struct job_engine *je, struct chunk *ch, json_t *job, struct err *e)
{
    const char *status = json_string_value(json_object_get(job, "status"));
    json_int_t failed =
        json_integer_value(json_object_get(json_object_get(job, "summary"), "failed"));
    enum import_job_verdict v = import_job_verdict(job, ch->generation, ch->n);
    char reason[400];
    int whole, rc = -1;

    if (import_journal_write(je->c,
                             json_pack("{s:s,s:s,s:s}", "event", "job_done", "job_id", ch->job_id,
                                       "status", status ? status : "?"),
                             e) < 0)
        goto out;
    if (v == IMPORT_JOB_DONE) {
        rc = release_grants(je, ch, e);
        goto out;
    }
    whole = read_errors(je, ch, e);
    if (whole < 0)
        goto out;
    switch (v) {
    case IMPORT_JOB_DONE:
    case IMPORT_JOB_SOME_FAILED:
        if (whole && failed > 0)
            tenant_notify(je->c->tenant, 0,
                          "import job '%s' reports %lld failed users but no details", ch->job_id,
                          (long long)failed);
        rc = release_grants(je, ch, e);
        break;
    case IMPORT_JOB_SPLIT:
        tenant_notify(je->c->tenant, 0,
                      "import job '%s' failed as a whole (%s); retrying its %zu users in two "
                      "halves",
                      ch->job_id, status_details(job, status), ch->n);
        je->c->n.jobs_retried++;
        rc = resubmit_halves(je, ch, e);
        ch = NULL;
        break;
    case IMPORT_JOB_FAILED:
        snprintf(reason, sizeof(reason), "import job '%s' %s: %s", ch->job_id, status,
                 status_details(job, "no details"));
        rc = fail_chunk(je, ch, reason, e);
        break;
    }
out:
    chunk_free(ch);
    return rc;
}

/* Polls active job i: 1 = it ended (and is accounted for), 0 = it runs. */
static int poll_job(struct job_engine *je, size_t i, struct err *e)
{
    struct chunk *ch = je->active[i];
    char path[128];
    json_t *job = NULL;
    int64_t now;
    int rc;

    snprintf(path, sizeof(path), "/jobs/%s", ch->job_id);
    if (tenant_call(je->c->tenant, "GET", path, NULL, &job, e) < 0)
        return err_prefix(e, "polling import job '%s'", ch->job_id);
    now = tenant_now_ms(je->c->tenant);
    if (!import_job_ended(json_string_value(json_object_get(job, "status")))) {
        import_sched_running(&je->sched, &ch->clock, now);
        json_decref(job);
        return 0;
    }
    import_sched_ended(&je->sched, &ch->clock, now);
    je->active[i] = je->active[--je->n_active];
    rc = finish(je, ch, job, e) < 0 ? -1 : 1;
    json_decref(job);
    return rc;
}

/* Polls the active jobs, each when it is due, until one (or, with all,
 * every one) has ended; the time between polls goes to grant work. */
static int wait_slot(struct job_engine *je, bool all, struct err *e)
{
    while (je->n_active > 0) {
        const struct import_job_clock *clocks[IMPORT_MAX_IN_FLIGHT];
        int64_t wait;
        size_t i;
        int r;

        for (size_t k = 0; k < je->n_active; k++)
            clocks[k] = &je->active[k]->clock;
        i = import_sched_pick(clocks, je->n_active, tenant_now_ms(je->c->tenant), &wait);
        if (wait > 0) {
            if (import_grants_idle(je->c, wait, e) < 0)
                return -1;
            continue;
        }
        r = poll_job(je, i, e);
        if (r < 0)
            return -1;
        if (r == 1 && !all)
            return 0;
    }
    return 0;
}

/* Submits ch when a slot is free. Takes ch. */
static int start(struct job_engine *je, struct chunk *ch, struct err *e)
{
    while (!import_sched_slot_free(je->n_active))
        if (wait_slot(je, false, e) < 0) {
            chunk_free(ch);
            return -1;
        }
    if (submit(je, ch, e) < 0) {
        chunk_free(ch);
        return -1;
    }
    je->active[je->n_active++] = ch;
    progress_update("import jobs: %zu submitted", je->c->n.jobs);
    return 0;
}

static int resubmit_halves(struct job_engine *je, struct chunk *ch, struct err *e)
{
    struct chunk *half[2] = {chunk_new(ch->conn_id), chunk_new(ch->conn_id)};
    int rc = -1;

    if (!half[0] || !half[1]) {
        err_oom(e);
        goto out;
    }
    for (size_t i = 0; i < ch->n; i++) {
        const struct import_job_user *u = &ch->users[i];
        if (chunk_push(half[import_job_half(i, ch->n)], u->uid, u->email, u->grants, u->record, e) <
            0)
            goto out;
    }
    half[0]->generation = half[1]->generation = 1;
    for (int k = 0; k < 2; k++) {
        struct chunk *h = half[k];
        half[k] = NULL;
        if (start(je, h, e) < 0)
            goto out;
    }
    rc = 0;
out:
    chunk_free(half[0]);
    chunk_free(half[1]);
    chunk_free(ch);
    return rc;
}

static const char *conn_id_of(void *ctx, const char *name)
{
    struct job_engine *je = ctx;

    return json_string_value(json_object_get(
        json_array_find(json_object_get(je->c->target_cat, "connections"), "name", name), "id"));
}

/* A full body of connection b->conn: the chunk filled with its users goes
 * as a job; the connection's next record starts a new chunk. */
static int on_body(void *ctx, struct import_body *b, struct err *e)
{
    struct job_engine *je = ctx;
    struct chunk *full = je->open[b->conn];

    assert(full && full->n == b->records);
    je->open[b->conn] = NULL;
    full->req = *b;
    return start(je, full, e);
}

/* One line of the records file: "<conn>\t<uid>\t<email>\t<grants>\t<record>". */
static int add_record(struct job_engine *je, char *line, struct err *e)
{
    char *conn = line, *uid, *email, *grants, *rec;
    size_t k;
    int r;

    uid = strchr(conn, '\t');
    email = uid ? strchr(uid + 1, '\t') : NULL;
    grants = email ? strchr(email + 1, '\t') : NULL;
    rec = grants ? strchr(grants + 1, '\t') : NULL;
    if (!rec)
        return err_set(e, ERR_INTERNAL, "bad import record line");
    *uid++ = '\0';
    *email++ = '\0';
    *grants++ = '\0';
    *rec++ = '\0';
    r = import_chunks_add(je->chunks, conn, rec, strlen(rec), &k, e);
    if (r < 0)
        return -1;
    if (r == 1) {
        char reason[ERR_MSG_MAX + 32];
        snprintf(reason, sizeof(reason), "cannot be imported: %s", e->msg);
        return import_note_failure(je->c, uid, reason, e);
    }
    if (!je->open[k] && !(je->open[k] = chunk_new(import_chunks_conn_id(je->chunks, k))))
        return err_oom(e);
    return chunk_push(je->open[k], uid, email, grants, rec, e);
}

/* The plan's records file, from its start. */
static int open_records(struct import_ctx *c, FILE **f, struct err *e)
{
    int fd = dup(c->records_fd);

    *f = NULL;
    if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0 || !(*f = fdopen(fd, "r"))) {
        err_errno(e, ERR_IO, errno, "cannot read the import records (temp file)");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return 0;
}

static int engine_init(struct job_engine *je, struct import_ctx *c, struct err *e)
{
    struct import_poll_config pc;
    const char *sid = json_string_value(json_object_get(c->header, "snapshot_id"));

    memset(je, 0, sizeof(*je));
    je->c = c;
    import_poll_config_default(&pc);
    /* A0SNAP_POLL_MS (config.h) sets the shortest wait between polls. */
    if (tenant_timing(c->tenant)->poll_ms > 0) {
        pc.first_ms = tenant_timing(c->tenant)->poll_ms;
        if (pc.max_ms < pc.first_ms)
            pc.max_ms = pc.first_ms;
    }
    import_sched_init(&je->sched, &pc);
    snprintf(je->prefix, sizeof(je->prefix), "a0snap-%.16s", sid ? sid : "snapshot");
    return import_chunks_new(&je->chunks, je->prefix, c->opts->max_body, conn_id_of, on_body, je,
                             e);
}

static void engine_release(struct job_engine *je)
{
    for (size_t k = 0; k < IMPORT_MAX_CONNECTIONS; k++)
        chunk_free(je->open[k]);
    for (size_t i = 0; i < je->n_active; i++)
        chunk_free(je->active[i]);
    import_chunks_free(je->chunks);
}

int import_run_jobs(struct import_ctx *c, struct err *e)
{
    struct job_engine je;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = -1;

    if (engine_init(&je, c, e) < 0 || open_records(c, &f, e) < 0)
        goto out;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (add_record(&je, line, e) < 0)
            goto out;
    }
    if (import_chunks_flush(je.chunks, e) < 0 || wait_slot(&je, true, e) < 0)
        goto out;
    rc = 0;
out:
    engine_release(&je);
    free(line);
    if (f)
        fclose(f);
    return rc;
}
