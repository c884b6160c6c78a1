/*
 * import_journal.c - what an interrupted import leaves behind, so the next
 * run can finish its work safely.
 *
 * The journal (REPORT.journal, 0600, NDJSON, each line fsync'd) records
 * the run's start (snapshot id, target) and every bulk import job from
 * submission to its end. A run killed at any point leaves at most two jobs
 * that Auth0 may still be processing. `--resume` reads the journal, waits
 * for those jobs to finish (so the new run neither races them nor trips
 * the two-jobs limit), and then runs as usual: the target is read again
 * and only what is still missing or different is sent, so the users the
 * interrupted run already imported are not sent again. A plain rerun is
 * correct too (every step is idempotent), only it may meet the old jobs'
 * 429s. The journal is removed when a run completes.
 */
#include "import.h"

#include "fsutil.h"
#include "log.h"
#include "tenant.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOURNAL_MAX_LINE 4096

int import_journal_open(struct import_ctx *c, const char *path, struct err *e)
{
    int fd;

    snprintf(c->journal_path, sizeof(c->journal_path), "%s", path);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_errno(e, ERR_IO, errno, "cannot open journal '%s'", path);
    c->journal_fd = fd;
    return 0;
}

int import_journal_write(struct import_ctx *c, json_t *event, struct err *e)
{
    char *text;
    int rc;

    if (c->journal_fd < 0) {
        json_decref(event);
        return 0;
    }
    if (!event)
        return err_oom(e);
    text = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(event);
    if (!text)
        return err_oom(e);
    rc = fsutil_write_all(c->journal_fd, text, strlen(text), c->journal_path, e);
    if (rc == 0)
        rc = fsutil_write_all(c->journal_fd, "\n", 1, c->journal_path, e);
    free(text);
    if (rc == 0 && fsync(c->journal_fd) < 0)
        rc = err_errno(e, ERR_IO, errno, "cannot sync journal '%s'", c->journal_path);
    return rc;
}

void import_journal_finish(struct import_ctx *c, bool completed)
{
    if (c->journal_fd >= 0) {
        close(c->journal_fd);
        c->journal_fd = -1;
    }
    if (completed && c->journal_path[0])
        unlink(c->journal_path);
}

/* Polls one job of an interrupted run until it ends. */
static int wait_job(struct import_ctx *c, const char *job_id, struct err *e)
{
    char path[160];
    int64_t delay = 500;

    snprintf(path, sizeof(path), "/jobs/%s", job_id);
    for (;;) {
        json_t *job = NULL;
        struct err je;
        const char *status;

        err_clear(&je);
        if (tenant_call(c->tenant, "GET", path, NULL, &job, &je) < 0) {
            if (je.http_status == 404)
                return 0; /* expired from Auth0's records: nothing to wait for */
            *e = je;
            return -1;
        }
        status = json_string_value(json_object_get(job, "status"));
        if (!status || (strcmp(status, "pending") != 0 && strcmp(status, "processing") != 0)) {
            json_decref(job);
            return 0;
        }
        json_decref(job);
        tenant_sleep_ms(c->tenant, delay);
        delay = delay * 3 / 2 > 5000 ? 5000 : delay * 3 / 2;
    }
}

int import_journal_resume(struct import_ctx *c, const char *path, struct err *e)
{
    FILE *f = fopen(path, "r");
    json_t *open_jobs = NULL, *ev = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    const char *sid = json_string_value(json_object_get(c->header, "snapshot_id"));
    int rc = -1;

    if (!f) {
        if (errno == ENOENT) {
            log_info("--resume: no journal '%s'; nothing was interrupted, running normally", path);
            return 0;
        }
        return err_errno(e, ERR_IO, errno, "cannot read journal '%s'", path);
    }
    open_jobs = json_object();
    if (!open_jobs) {
        err_oom(e);
        goto out;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        const char *kind, *job;
        if (n > JOURNAL_MAX_LINE)
            continue;
        json_decref(ev);
        ev = json_loadb(line, (size_t)n, 0, NULL);
        if (!ev)
            continue; /* a line cut by the kill */
        kind = json_string_value(json_object_get(ev, "event"));
        job = json_string_value(json_object_get(ev, "job_id"));
        if (!kind)
            continue;
        if (strcmp(kind, "start") == 0) {
            const char *jsid = json_string_value(json_object_get(ev, "snapshot_id"));
            const char *jt = json_string_value(json_object_get(ev, "target"));
            if (!jsid || !sid || strcmp(jsid, sid) != 0 || !jt ||
                strcmp(jt, c->opts->target) != 0) {
                err_set(e, ERR_REFUSED,
                        "--resume: journal '%s' belongs to another snapshot or target; remove it "
                        "or run without --resume",
                        path);
                goto out;
            }
        } else if (strcmp(kind, "job") == 0 && job) {
            json_object_set_new(open_jobs, job, json_true());
        } else if (strcmp(kind, "job_done") == 0 && job) {
            json_object_del(open_jobs, job);
        }
    }
    {
        const char *job;
        json_t *v;
        size_t waited = 0;
        json_object_foreach(open_jobs, job, v)
        {
            log_info("--resume: waiting for import job '%s' of the interrupted run", job);
            if (wait_job(c, job, e) < 0)
                goto out;
            waited++;
        }
        c->resumed_jobs = waited;
    }
    fclose(f);
    f = NULL;
    unlink(path); /* this run starts its own */
    rc = 0;
out:
    json_decref(ev);
    json_decref(open_jobs);
    free(line);
    if (f)
        fclose(f);
    return rc;
}
