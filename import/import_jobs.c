/*
 * import_jobs.c - the bulk import jobs: chunks under the size limit, two in
 * flight (Auth0's per-tenant limit), every job polled to its end, its
 * summary read and its errors mapped back to users.
 *
 * Records come from the plan's temp file, grouped by target connection
 * (a job imports into one connection). A job that fails as a whole is
 * retried once, split in two halves, so one poisonous record can't sink a
 * thousand others; what still fails is reported per user. Users a job
 * reports as failed go to the failures map with Auth0's error code and
 * message; they don't stop the run.
 */
#include "import.h"

#include "extsort.h"
#include "log.h"
#include "multipart.h"
#include "tenant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_IN_FLIGHT 2
#define POLL_FIRST_MS 300
#define POLL_MAX_MS   5000
#define MAX_CONNS     16

struct chunk {
    char *conn_id;
    char *body, *ctype, *ext; /* the request, when already built by the chunker */
    size_t body_len;
    char **uids, **emails, **grants, **records; /* grants: each user's items (import.h) */
    size_t n, cap;
    int generation; /* 0 = first try, 1 = a half of a failed job */
    char job_id[64];
    char external_id[128];
    int64_t submitted_ms;
    int64_t seen_running_ms; /* the last poll that saw it running */
    int64_t due_ms;          /* the next poll */
    int polls;
};

struct job_engine {
    struct import_ctx *c;
    struct chunk *active[MAX_IN_FLIGHT];
    size_t n_active;
    unsigned long seq;
    char prefix[64];
    int64_t est_job_ms; /* how long a job takes (running average); 0 = unknown */
};

static int64_t next_poll(const struct job_engine *je, const struct chunk *ch, int64_t now);

static void chunk_free(struct chunk *ch)
{
    if (!ch)
        return;
    for (size_t i = 0; i < ch->n; i++) {
        free(ch->uids[i]);
        free(ch->emails[i]);
        free(ch->grants[i]);
        free(ch->records[i]);
    }
    free(ch->uids);
    free(ch->emails);
    free(ch->grants);
    free(ch->records);
    free(ch->conn_id);
    free(ch->body);
    free(ch->ctype);
    free(ch->ext);
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
    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 256;
        char **u = realloc(ch->uids, cap * sizeof(*u));
        if (!u)
            return err_oom(e);
        ch->uids = u;
        u = realloc(ch->emails, cap * sizeof(*u));
        if (!u)
            return err_oom(e);
        ch->emails = u;
        u = realloc(ch->grants, cap * sizeof(*u));
        if (!u)
            return err_oom(e);
        ch->grants = u;
        u = realloc(ch->records, cap * sizeof(*u));
        if (!u)
            return err_oom(e);
        ch->records = u;
        ch->cap = cap;
    }
    ch->uids[ch->n] = strdup(uid);
    ch->emails[ch->n] = strdup(email);
    ch->grants[ch->n] = strdup(grants);
    ch->records[ch->n] = strdup(rec);
    if (!ch->uids[ch->n] || !ch->emails[ch->n] || !ch->grants[ch->n] || !ch->records[ch->n]) {
        free(ch->uids[ch->n]);
        free(ch->emails[ch->n]);
        free(ch->grants[ch->n]);
        free(ch->records[ch->n]);
        return err_oom(e);
    }
    ch->n++;
    return 0;
}

static int fail_chunk(struct job_engine *je, struct chunk *ch, const char *reason, struct err *e)
{
    for (size_t i = 0; i < ch->n; i++)
        if (import_note_failure(je->c, ch->uids[i], reason, e) < 0)
            return -1;
    return 0;
}

/* Submits a chunk: its body as the chunker built it, or (for the halves
 * of a failed job) a body built now. */
static int submit(struct job_engine *je, struct chunk *ch, struct err *e)
{
    struct import_chunker *mk = NULL;
    json_t *res = NULL;
    int rc = -1;

    if (!ch->body) {
        char prefix[96];
        snprintf(prefix, sizeof(prefix), "%s-retry%lu", je->prefix, ++je->seq);
        if (import_chunker_new(&mk, ch->conn_id, prefix, je->c->opts->max_body, e) < 0)
            goto out;
        for (size_t i = 0; i < ch->n; i++)
            if (import_chunker_add(mk, ch->records[i], strlen(ch->records[i]), e) != 0) {
                if (e->code == ERR_NONE)
                    err_set(e, ERR_INTERNAL, "a half of a chunk does not fit in one request");
                goto out;
            }
        if (import_chunker_take(mk, &ch->body, &ch->body_len, &ch->ctype, &ch->ext, e) < 0)
            goto out;
    }
    snprintf(ch->external_id, sizeof(ch->external_id), "%s", ch->ext);
    if (tenant_call_raw(je->c->tenant, "POST", "/jobs/users-imports", ch->ctype, ch->body,
                        ch->body_len, &res, e) < 0) {
        err_prefix(e, "submitting import job '%s' (%zu users)", ch->external_id, ch->n);
        goto out;
    }
    if (!json_is_string(json_object_get(res, "id"))) {
        err_set(e, ERR_API, "the import job answer has no id");
        goto out;
    }
    snprintf(ch->job_id, sizeof(ch->job_id), "%s", json_string_value(json_object_get(res, "id")));
    ch->submitted_ms = ch->seen_running_ms = tenant_now_ms(je->c->tenant);
    ch->polls = 0;
    ch->due_ms = next_poll(je, ch, ch->submitted_ms);
    je->c->n.jobs++;
    for (size_t i = 0; i < ch->n; i++)
        if (extsort_add(je->c->jobof, ch->uids[i], strlen(ch->uids[i]), ch->job_id,
                        strlen(ch->job_id), e) < 0)
            goto out;
    if (import_journal_write(je->c,
                             json_pack("{s:s,s:s,s:s,s:I}", "event", "job", "job_id", ch->job_id,
                                       "external_id", ch->external_id, "users", (json_int_t)ch->n),
                             e) < 0)
        goto out;
    tenant_notify(je->c->tenant, 1, "import job '%s' (%s) submitted: %zu users, %zu bytes",
                  ch->job_id, ch->external_id, ch->n, ch->body_len);
    /* The body is not needed any more; the records stay for a split retry. */
    free(ch->body);
    ch->body = NULL;
    rc = 0;
out:
    import_chunker_free(mk);
    json_decref(res);
    return rc;
}

static int find_user(const struct chunk *ch, json_t *user)
{
    const char *id = json_string_value(json_object_get(user, "user_id"));
    const char *email = json_string_value(json_object_get(user, "email"));

    for (size_t i = 0; i < ch->n; i++) {
        const char *u = ch->uids[i];
        const char *bare = strchr(u, '|') ? strchr(u, '|') + 1 : u;
        if (id && (strcmp(id, u) == 0 || strcmp(id, bare) == 0))
            return (int)i;
    }
    for (size_t i = 0; email && i < ch->n; i++)
        if (strcasecmp(ch->emails[i], email) == 0)
            return (int)i;
    return -1;
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
    if (!json_is_array(res)) {
        rc = 1; /* 204, or the job-object shape: the job failed as a whole */
        goto out;
    }
    json_array_foreach(res, i, item)
    {
        json_t *user = json_object_get(item, "user"), *errs = json_object_get(item, "errors");
        json_t *first = json_array_get(errs, 0);
        char reason[600];
        int k = find_user(ch, user);
        snprintf(reason, sizeof(reason), "import job '%s': %s: %s", ch->job_id,
                 json_string_value(json_object_get(first, "code"))
                     ? json_string_value(json_object_get(first, "code"))
                     : "ERROR",
                 json_string_value(json_object_get(first, "message"))
                     ? json_string_value(json_object_get(first, "message"))
                     : "no message");
        if (k < 0) {
            tenant_notify(je->c->tenant, 0, "%s (for a user the job's errors don't identify)",
                          reason);
            continue;
        }
        if (import_note_failure(je->c, ch->uids[k], reason, e) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(res);
    return rc;
}

static int resubmit_halves(struct job_engine *je, struct chunk *ch, struct err *e);
static int wait_slot(struct job_engine *je, bool all, struct err *e);

/* The users of a job that ended now exist (but the ones it failed): their
 * role and membership changes can go. */
static int release_grants(struct job_engine *je, const struct chunk *ch, struct err *e)
{
    for (size_t i = 0; i < ch->n; i++)
        if (strcmp(ch->grants[i], "[]") != 0 && !import_failed_already(je->c, ch->uids[i]) &&
            import_grants_add_text(je->c, ch->uids[i], ch->grants[i], e) < 0)
            return -1;
    return 0;
}

/* A job reached an end: account for its users. Takes ch. */
static int finish(struct job_engine *je, struct chunk *ch, json_t *job, struct err *e)
{
    const char *status = json_string_value(json_object_get(job, "status"));
    json_t *summary = json_object_get(job, "summary");
    json_int_t failed = json_integer_value(json_object_get(summary, "failed"));
    int whole, rc = -1;

    if (import_journal_write(je->c,
                             json_pack("{s:s,s:s,s:s}", "event", "job_done", "job_id", ch->job_id,
                                       "status", status ? status : "?"),
                             e) < 0)
        goto out;

    if (strcmp(status, "completed") == 0 && failed == 0) {
        rc = release_grants(je, ch, e);
        goto out;
    }
    whole = read_errors(je, ch, e);
    if (whole < 0)
        goto out;
    if (strcmp(status, "completed") == 0) {
        if (whole && failed > 0)
            tenant_notify(je->c->tenant, 0,
                          "import job '%s' reports %lld failed users but no details", ch->job_id,
                          (long long)failed);
        rc = release_grants(je, ch, e);
        goto out;
    }
    /* The job failed as a whole. */
    if (ch->generation == 0 && ch->n > 1) {
        tenant_notify(je->c->tenant, 0,
                      "import job '%s' failed as a whole (%s); retrying its %zu users in two "
                      "halves",
                      ch->job_id,
                      json_string_value(json_object_get(job, "status_details"))
                          ? json_string_value(json_object_get(job, "status_details"))
                          : status,
                      ch->n);
        je->c->n.jobs_retried++;
        rc = resubmit_halves(je, ch, e);
        ch = NULL;
        goto out;
    }
    {
        char reason[400];
        snprintf(reason, sizeof(reason), "import job '%s' %s: %s", ch->job_id, status,
                 json_string_value(json_object_get(job, "status_details"))
                     ? json_string_value(json_object_get(job, "status_details"))
                     : "no details");
        rc = fail_chunk(je, ch, reason, e);
    }
out:
    chunk_free(ch);
    return rc;
}

/* When to poll a job next. Every poll is a request against the rate
 * limit the grants are using too: the first one goes when the job is
 * expected to end (once a job's duration is known), later ones at a
 * growing interval. */
static int64_t next_poll(const struct job_engine *je, const struct chunk *ch, int64_t now)
{
    int64_t step;

    if (ch->polls == 0)
        return ch->submitted_ms + (je->est_job_ms ? je->est_job_ms * 21 / 20 : POLL_FIRST_MS);
    step = je->est_job_ms / 4 > POLL_FIRST_MS ? je->est_job_ms / 4 : POLL_FIRST_MS;
    for (int i = 1; i < ch->polls && step < POLL_MAX_MS; i++)
        step = step * 3 / 2;
    return now + (step < POLL_MAX_MS ? step : POLL_MAX_MS);
}

/* A job seen ended: it ended between the last poll that saw it running and
 * now; the middle of that is the sample. */
static void learn(struct job_engine *je, const struct chunk *ch, int64_t now)
{
    int64_t took = (ch->seen_running_ms + now) / 2 - ch->submitted_ms;

    if (took < 1)
        took = 1;
    je->est_job_ms = je->est_job_ms ? (je->est_job_ms * 3 + took) / 4 : took;
}

/* Polls the active jobs, each when it is due, until one (or, with all,
 * every one) has ended; the time between polls goes to grant work. */
static int wait_slot(struct job_engine *je, bool all, struct err *e)
{
    while (je->n_active > 0) {
        size_t i = 0;
        struct chunk *ch;
        char path[128];
        json_t *job = NULL;
        const char *status;
        int64_t now;

        for (size_t k = 1; k < je->n_active; k++)
            if (je->active[k]->due_ms < je->active[i]->due_ms)
                i = k;
        ch = je->active[i];
        now = tenant_now_ms(je->c->tenant);
        if (ch->due_ms > now) {
            if (import_grants_idle(je->c, ch->due_ms - now, e) < 0)
                return -1;
            continue;
        }
        snprintf(path, sizeof(path), "/jobs/%s", ch->job_id);
        if (tenant_call(je->c->tenant, "GET", path, NULL, &job, e) < 0)
            return err_prefix(e, "polling import job '%s'", ch->job_id);
        now = tenant_now_ms(je->c->tenant);
        status = json_string_value(json_object_get(job, "status"));
        if (status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                       strcmp(status, "expired") == 0)) {
            learn(je, ch, now);
            je->active[i] = je->active[--je->n_active];
            if (finish(je, ch, job, e) < 0) {
                json_decref(job);
                return -1;
            }
            json_decref(job);
            if (!all)
                return 0;
            continue;
        }
        json_decref(job);
        ch->seen_running_ms = now;
        ch->polls++;
        ch->due_ms = next_poll(je, ch, now);
    }
    return 0;
}

/* Submits ch when a slot is free. Takes ch. */
static int start(struct job_engine *je, struct chunk *ch, struct err *e)
{
    while (je->n_active >= MAX_IN_FLIGHT)
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
    for (size_t i = 0; i < ch->n; i++)
        if (chunk_push(half[i < ch->n / 2 ? 0 : 1], ch->uids[i], ch->emails[i], ch->grants[i],
                       ch->records[i], e) < 0)
            goto out;
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

static const char *conn_id_of(struct import_ctx *c, const char *name)
{
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(c->target_cat, "connections"), i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n && strcmp(n, name) == 0)
            return json_string_value(json_object_get(item, "id"));
    }
    return NULL;
}

int import_run_jobs(struct import_ctx *c, struct err *e)
{
    struct job_engine je;
    struct import_chunker *sizers[MAX_CONNS] = {NULL};
    struct chunk *open[MAX_CONNS] = {NULL};
    char *names[MAX_CONNS] = {NULL};
    size_t n_conns = 0;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int fd = -1, rc = -1;

    memset(&je, 0, sizeof(je));
    je.c = c;
    snprintf(je.prefix, sizeof(je.prefix), "a0snap-%.16s",
             json_string_value(json_object_get(c->header, "snapshot_id"))
                 ? json_string_value(json_object_get(c->header, "snapshot_id"))
                 : "snapshot");
    fd = dup(c->records_fd);
    if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0) {
        err_errno(e, ERR_IO, errno, "cannot read the import records (temp file)");
        goto out;
    }
    f = fdopen(fd, "r");
    if (!f) {
        err_errno(e, ERR_IO, errno, "cannot read the import records (temp file)");
        goto out;
    }
    fd = -1;
    while ((n = getline(&line, &cap, f)) > 0) {
        char *conn = line, *uid, *email, *grants, *rec;
        size_t k;
        int r;

        if (line[n - 1] == '\n')
            line[--n] = '\0';
        uid = strchr(conn, '\t');
        email = uid ? strchr(uid + 1, '\t') : NULL;
        grants = email ? strchr(email + 1, '\t') : NULL;
        rec = grants ? strchr(grants + 1, '\t') : NULL;
        if (!rec) {
            err_set(e, ERR_INTERNAL, "bad import record line");
            goto out;
        }
        *uid++ = '\0';
        *email++ = '\0';
        *grants++ = '\0';
        *rec++ = '\0';
        for (k = 0; k < n_conns && strcmp(names[k], conn) != 0; k++)
            ;
        if (k == n_conns) {
            const char *id = conn_id_of(c, conn);
            char prefix[96];
            snprintf(prefix, sizeof(prefix), "%s-%zu", je.prefix, k + 1);
            if (n_conns == MAX_CONNS) {
                err_set(e, ERR_USAGE, "more than %d target connections in one import", MAX_CONNS);
                goto out;
            }
            if (!id) {
                err_set(e, ERR_INTERNAL, "no id for target connection '%s'", conn);
                goto out;
            }
            names[k] = strdup(conn);
            open[k] = chunk_new(id);
            if (!names[k] || !open[k] ||
                import_chunker_new(&sizers[k], id, prefix, c->opts->max_body, e) < 0) {
                if (!names[k] || !open[k])
                    err_oom(e);
                goto out;
            }
            n_conns++;
        }
        r = import_chunker_add(sizers[k], rec, strlen(rec), e);
        if (r == 1) {
            /* The chunk is full: send it, start the next one with this record. */
            struct chunk *full = open[k];
            if (import_chunker_take(sizers[k], &full->body, &full->body_len, &full->ctype,
                                    &full->ext, e) < 0)
                goto out;
            open[k] = chunk_new(full->conn_id);
            if (!open[k]) {
                chunk_free(full);
                err_oom(e);
                goto out;
            }
            if (start(&je, full, e) < 0)
                goto out;
            r = import_chunker_add(sizers[k], rec, strlen(rec), e);
        }
        if (r < 0) {
            char reason[ERR_MSG_MAX + 32];
            snprintf(reason, sizeof(reason), "cannot be imported: %s", e->msg);
            if (import_note_failure(c, uid, reason, e) < 0)
                goto out;
            continue;
        }
        if (chunk_push(open[k], uid, email, grants, rec, e) < 0)
            goto out;
    }
    for (size_t k = 0; k < n_conns; k++) {
        struct chunk *last = open[k];
        if (last->n == 0)
            continue;
        if (import_chunker_take(sizers[k], &last->body, &last->body_len, &last->ctype, &last->ext,
                                e) < 0)
            goto out;
        open[k] = NULL;
        if (start(&je, last, e) < 0)
            goto out;
    }
    if (wait_slot(&je, true, e) < 0)
        goto out;
    rc = 0;
out:
    for (size_t k = 0; k < MAX_CONNS; k++) {
        chunk_free(open[k]);
        import_chunker_free(sizers[k]);
        free(names[k]);
    }
    for (size_t i = 0; i < je.n_active; i++)
        chunk_free(je.active[i]);
    free(line);
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    return rc;
}
