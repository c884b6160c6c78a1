/*
 * dump_job.c - one bulk user export job, from creation to the last line.
 *
 * The job is polled with a growing delay; the file at its `location` (a
 * presigned URL on another host, valid 60 s) is downloaded WITHOUT the
 * bearer token into an anonymous temp file, so a failed or expired
 * download can start over from a fresh link without any user having been
 * processed twice. What arrives is decoded on the way (the output thrown
 * away), so a file that is corrupt or ends early, even in a complete HTTP
 * answer, is fetched again like a broken transfer. Only a whole file is
 * then decompressed and fed, line by line, to dump_ingest_line().
 */
#include "dump_internal.h"

#include "buf.h"
#include "fsutil.h"
#include "gunzip.h"
#include "tenant.h"
#include "url.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_FIRST_MS     500 /* unless A0SNAP_POLL_MS says (tenant_timing) */
#define POLL_MAX_MS       5000
#define POLL_AFTER_ETA_MS 250                 /* after the job's own time_left_seconds */
#define TIME_LEFT_STEP_MS 1000                /* time_left_seconds is whole seconds */
#define JOB_MAX_WAIT_MS   (9LL * 3600 * 1000) /* Auth0 gives up on a job after 8 h */
#define DOWNLOAD_ATTEMPTS 5
#define EXPORT_MAX_LINE   (4u << 20)
#define READ_CHUNK        (256u << 10)

const char *const dump_fields[] = {
    "user_id",      "email",          "email_verified", "username",
    "phone_number", "phone_verified", "given_name",     "family_name",
    "name",         "nickname",       "picture",        "blocked",
    "identities",   "created_at",     "updated_at",     "last_login",
    "logins_count", "multifactor",    "user_metadata",  "app_metadata",
    NULL,
};

static int create_job(struct dump_ctx *c, const char *connection_id, char **job_id, struct err *e)
{
    json_t *body = json_object(), *fields = json_array(), *res = NULL;
    const char *id;
    int rc = -1;

    *job_id = NULL;
    if (!body || !fields) {
        json_decref(body);
        json_decref(fields);
        return err_oom(e);
    }
    for (const char *const *f = dump_fields; *f; f++)
        json_array_append_new(fields, json_pack("{s:s}", "name", *f));
    json_object_set_new(body, "format", json_string("json"));
    json_object_set_new(body, "fields", fields);
    if (connection_id)
        json_object_set_new(body, "connection_id", json_string(connection_id));
    if (tenant_call(c->tenant, "POST", "/jobs/users-exports", body, &res, e) < 0) {
        err_prefix(e, "cannot start the export job");
        goto out;
    }
    id = json_string_value(json_object_get(res, "id"));
    if (!id) {
        err_set(e, ERR_API, "the export job answer has no id");
        goto out;
    }
    *job_id = strdup(id);
    if (!*job_id) {
        err_oom(e);
        goto out;
    }
    rc = 0;
out:
    json_decref(body);
    json_decref(res);
    return rc;
}

int dump_job_read(const json_t *job, struct dump_job_view *v, struct err *e)
{
    json_t *pct = json_object_get(job, "percentage_done");
    json_t *left = json_object_get(job, "time_left_seconds");

    memset(v, 0, sizeof(*v));
    v->id = json_string_value(json_object_get(job, "id"));
    v->status = json_string_value(json_object_get(job, "status"));
    v->details = json_string_value(json_object_get(job, "status_details"));
    v->percent = json_is_integer(pct) ? json_integer_value(pct) : -1;
    v->time_left_ms = json_is_integer(left) && json_integer_value(left) >= 0 &&
                              json_integer_value(left) < INT64_MAX / 1000
                          ? json_integer_value(left) * 1000
                          : -1;
    if (!v->status)
        return err_set(e, ERR_API, "the answer has no status");
    if (strcmp(v->status, "completed") == 0) {
        v->location = json_string_value(json_object_get(job, "location"));
        if (v->location && !*v->location)
            v->location = NULL;
        v->state = DUMP_JOB_COMPLETED;
    } else if (strcmp(v->status, "failed") == 0 || strcmp(v->status, "expired") == 0 ||
               strcmp(v->status, "cancelled") == 0) {
        v->state = DUMP_JOB_FAILED;
    } else {
        v->state = DUMP_JOB_RUNNING;
    }
    return 0;
}

/* time_left_seconds is whole seconds (the fake rounds it up; Auth0
 * documents an integer), so a job may end up to a second sooner than it
 * says: waiting the whole of it overshot the end by 0.25-1.25 s, which at
 * 10k users is a tenth of the run. The job is polled just after the
 * earliest it can end, then every POLL_AFTER_ETA_MS while it has under a
 * second left: at most four polls more, each job. */
int64_t dump_job_poll_ms(int64_t backoff_ms, long long time_left_ms)
{
    int64_t eta;

    if (time_left_ms < 0)
        return backoff_ms;
    eta = (time_left_ms > TIME_LEFT_STEP_MS ? time_left_ms - TIME_LEFT_STEP_MS : 0) +
          POLL_AFTER_ETA_MS;
    return eta < backoff_ms ? eta : backoff_ms;
}

/* Polls until the job completes and returns a fresh download location. */
static int wait_for_job(struct dump_ctx *c, const char *job_id, char **location, struct err *e)
{
    const long configured = tenant_timing(c->tenant)->poll_ms;
    const int64_t first = configured > 0 ? configured : POLL_FIRST_MS;
    const int64_t most = first > POLL_MAX_MS ? first : POLL_MAX_MS;
    char path[128];
    int64_t delay = first, waited = 0;
    json_t *job = NULL;
    int rc = -1;

    *location = NULL;
    snprintf(path, sizeof(path), "/jobs/%s", job_id);
    for (;;) {
        struct dump_job_view v;
        int64_t next;

        json_decref(job);
        job = NULL;
        if (tenant_call(c->tenant, "GET", path, NULL, &job, e) < 0) {
            err_prefix(e, "polling export job '%s'", job_id);
            goto out;
        }
        if (dump_job_read(job, &v, e) < 0) {
            err_prefix(e, "export job '%s'", job_id);
            goto out;
        }
        if (v.state == DUMP_JOB_COMPLETED) {
            if (!v.location) {
                err_set(e, ERR_API, "export job '%s' completed without a download location",
                        job_id);
                goto out;
            }
            *location = strdup(v.location);
            rc = *location ? 0 : err_oom(e);
            goto out;
        }
        if (v.state == DUMP_JOB_FAILED) {
            err_set(e, ERR_API, "export job '%s' %s%s%s", job_id, v.status, v.details ? ": " : "",
                    v.details ? v.details : "");
            goto out;
        }
        dump_progress(c, v.percent > 0 ? (size_t)v.percent : 0);
        if (waited > JOB_MAX_WAIT_MS) {
            err_set(e, ERR_API, "export job '%s' still %s after %lld minutes; giving up", job_id,
                    v.status, (long long)(waited / 60000));
            goto out;
        }
        /* A job that says when it will be done is polled then, if that is
         * sooner than the backoff would (time_left_seconds is documented
         * for processing jobs; absent, the backoff rules). */
        next = dump_job_poll_ms(delay, v.time_left_ms);
        tenant_sleep_ms(c->tenant, next);
        waited += next;
        delay = delay * 3 / 2 > most ? most : delay * 3 / 2;
    }
out:
    json_decref(job);
    return rc;
}

struct file_sink {
    struct dump_ctx *c;
    int fd;
    long long bytes;
    struct gunzip *check; /* decodes what arrives, to find a damaged file before it is used */
    bool damaged;         /* check failed while the file arrived, ... */
    struct err why;       /* ... and said this */
};

static int skip_line(void *ctx, const char *line, size_t len, struct err *e)
{
    (void)ctx;
    (void)line;
    (void)len;
    (void)e;
    return 0;
}

static int to_file(void *ctx, const void *data, size_t len, struct err *e)
{
    struct file_sink *s = ctx;

    if (fsutil_write_all(s->fd, data, len, "export download (temp file)", e) < 0)
        return -1;
    s->bytes += (long long)len;
    dump_progress(s->c, (size_t)s->bytes);
    /* A corrupt stream is found here; one that ends early, at the end. */
    if (gunzip_feed(s->check, data, len, e) < 0) {
        s->damaged = true;
        s->why = *e;
        return -1;
    }
    return 0;
}

/* One download of location into fd, which must then hold a whole gzip
 * stream: a transfer that breaks, an answer that is not 2xx, or a file
 * that is corrupt or ends early (even in a complete HTTP answer) fails
 * with ERR_NET or ERR_API; a local write failure with ERR_IO. */
static int download_once(struct dump_ctx *c, const char *location, int fd, struct err *e)
{
    struct file_sink sink = {.c = c, .fd = fd};
    int rc = -1;

    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return err_errno(e, ERR_IO, errno, "cannot reset the download temp file");
    if (gunzip_new(&sink.check, EXPORT_MAX_LINE, skip_line, NULL, e) < 0)
        return -1;
    if (tenant_download(c->tenant, location, to_file, &sink, e) < 0) {
        if (sink.damaged) { /* said like a file found short at its end */
            *e = sink.why;
            err_prefix(e, "the downloaded file is damaged (after %lld bytes)", sink.bytes);
            e->code = ERR_NET;
        }
        goto out;
    }
    if (gunzip_finish(sink.check, e) < 0) {
        err_prefix(e, "the downloaded file is damaged (%lld bytes)", sink.bytes);
        e->code = ERR_NET;
        goto out;
    }
    rc = 0;
out:
    gunzip_free(sink.check);
    return rc;
}

/* Downloads the job's file into fd, fetching a fresh link when one expires
 * or a transfer breaks or brings a damaged file. */
static int download(struct dump_ctx *c, const char *job_id, char **location, int fd, struct err *e)
{
    for (int attempt = 1;; attempt++) {
        struct err de;

        err_clear(&de);
        if (download_once(c, *location, fd, &de) == 0)
            return 0;
        if (de.code == ERR_IO || de.code == ERR_INTERNAL || attempt >= DOWNLOAD_ATTEMPTS) {
            *e = de;
            if (de.code != ERR_IO && de.code != ERR_INTERNAL)
                err_prefix(e, "export job '%s': download failed %d times", job_id, attempt);
            return -1;
        }
        tenant_notify(c->tenant, 0, "%s; fetching a fresh download link (%d attempts left)", de.msg,
                      DOWNLOAD_ATTEMPTS - attempt);
        free(*location);
        *location = NULL;
        /* Re-polling a completed job yields a new presigned link. */
        if (wait_for_job(c, job_id, location, e) < 0)
            return -1;
    }
}

struct line_sink {
    struct dump_ctx *c;
    struct dump_pool *pool; /* NULL: one thread */
};

static int on_line(void *ctx, const char *line, size_t len, struct err *e)
{
    struct line_sink *s = ctx;

    return s->pool ? dump_pool_line(s->pool, line, len, e) : dump_ingest_line(s->c, line, len, e);
}

int dump_ingest_file(struct dump_ctx *c, int fd, unsigned long long *gz_bytes,
                     unsigned long long *raw_bytes, struct err *e)
{
    struct line_sink sink = {c, NULL};
    struct gunzip *g = NULL;
    char *chunk = NULL;
    ssize_t n;
    int rc = -1;

    if (lseek(fd, 0, SEEK_SET) < 0)
        return err_errno(e, ERR_IO, errno, "cannot rewind the export file");
    chunk = malloc(READ_CHUNK);
    if (!chunk)
        return err_oom(e);
    /* The privacy policy's per-user work is worth a second core. */
    if (c->req->privacy && dump_pool_new(&sink.pool, c, e) < 0)
        goto out;
    if (gunzip_new(&g, EXPORT_MAX_LINE, on_line, &sink, e) < 0)
        goto out;
    while ((n = read(fd, chunk, READ_CHUNK)) > 0) {
        if (gunzip_feed(g, chunk, (size_t)n, e) < 0)
            goto out;
    }
    if (n < 0) {
        err_errno(e, ERR_IO, errno, "cannot read the export file");
        goto out;
    }
    if (gunzip_finish(g, e) < 0 || (sink.pool && dump_pool_finish(sink.pool, e) < 0))
        goto out;
    if (gz_bytes)
        *gz_bytes = gunzip_bytes_in(g);
    if (raw_bytes)
        *raw_bytes = gunzip_bytes_out(g);
    rc = 0;
out:
    dump_pool_free(sink.pool);
    gunzip_free(g);
    free(chunk);
    return rc;
}

static int process_file(struct dump_ctx *c, int fd, const char *job_id, struct err *e)
{
    if (dump_ingest_file(c, fd, NULL, NULL, e) == 0)
        return 0;
    if (e->code != ERR_INTERNAL && e->code != ERR_IO && e->code != ERR_REFUSED &&
        e->code != ERR_SCOPE && e->code != ERR_USAGE)
        err_prefix(e, "export job '%s' file", job_id);
    return -1;
}

int dump_job_run(struct dump_ctx *c, const char *connection_id, struct err *e)
{
    char *job_id = NULL, *location = NULL;
    int fd = -1, rc = -1;

    for (int attempt = 1;; attempt++) {
        c->phase = "export job";
        if (create_job(c, connection_id, &job_id, e) < 0)
            goto out;
        tenant_notify(c->tenant, 1, "export job '%s' started%s%s", job_id,
                      connection_id ? " for " : "", connection_id ? connection_id : "");
        /* The member lists take as long as they take; the job's wait is
         * the time to spend on them. Grants of users the job's copy
         * lacks are dropped by the join either way. */
        if (c->grants_during_job && !c->grants_read) {
            if (dump_grants_bulk(c, e) < 0)
                goto out;
            c->grants_read = true;
            c->phase = "export job";
        }
        if (wait_for_job(c, job_id, &location, e) == 0)
            break;
        if (e->code != ERR_API || attempt >= 2)
            goto out;
        /* A job that fails as a whole is worth one new job. */
        tenant_notify(c->tenant, 0, "%s; starting a new export job", e->msg);
        free(job_id);
        job_id = NULL;
    }
    if (fsutil_anon_tmpfile(&fd, c->tmpdir, e) < 0)
        goto out;
    c->phase = "download";
    if (download(c, job_id, &location, fd, e) < 0)
        goto out;
    c->phase = "users";
    if (process_file(c, fd, job_id, e) < 0)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(job_id);
    free(location);
    return rc;
}
