/*
 * import_report.c - the audit trail: one NDJSON line per snapshot user with
 * what happened to it (created, updated, unchanged, skipped, failed), why,
 * which fields changed and which import job carried it, then a summary
 * line. Outcomes are planned first and sorted by user_id; failures found
 * while applying (job errors, refused PATCHes) override them at the end.
 * The file is written 0600 and atomically, like a snapshot.
 */
#include "import.h"

#include "buf.h"
#include "canonjson.h"
#include "extsort.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_FLUSH (256u * 1024) /* bytes of lines collected before a write */

/* A key and a string value, quoted as jansson writes them: 1, 0 (not
 * UTF-8), -1. */
static int put_member(struct buf *b, const char *key, const char *value, struct err *e)
{
    if (buf_appends(b, key, e) < 0)
        return -1;
    return value                             ? canonjson_dump_string(value, strlen(value), b, e)
           : buf_append(b, "null", 4, e) < 0 ? -1
                                             : 1;
}

/* The outcome record as json_dumps(COMPACT | SORT_KEYS) writes it, its
 * keys in that order: 1, 0 (a value jansson must write), -1. */
static int outcome_text(struct buf *b, const char *uid, const char *email, const char *outcome,
                        const char *reason, json_t *fields, struct err *e)
{
    int r = put_member(b, "{\"email\":", email, e);

    if (r == 1 && json_array_size(fields)) {
        r = buf_appends(b, ",\"fields\":", e) < 0 ? -1 : canonjson_dump(fields, b, e);
    }
    if (r == 1)
        r = put_member(b, ",\"outcome\":", outcome, e);
    if (r == 1 && reason)
        r = put_member(b, ",\"reason\":", reason, e);
    if (r == 1)
        r = put_member(b, ",\"user_id\":", uid ? uid : "", e);
    if (r == 1)
        r = buf_append(b, "}", 1, e) < 0 ? -1 : 1;
    return r;
}

/* The same through jansson. */
static int outcome_json(struct buf *b, const char *uid, const char *email, const char *outcome,
                        const char *reason, json_t *fields, struct err *e)
{
    json_t *line = json_object();
    char *s;
    int rc;

    if (!line)
        return err_oom(e);
    json_object_set_new(line, "user_id", json_string(uid ? uid : ""));
    json_object_set_new(line, "email", email ? json_string(email) : json_null());
    json_object_set_new(line, "outcome", json_string(outcome));
    if (reason)
        json_object_set_new(line, "reason", json_string(reason));
    if (fields && json_array_size(fields))
        json_object_set(line, "fields", fields);
    s = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    rc = s ? buf_appends(b, s, e) : err_oom(e);
    free(s);
    json_decref(line);
    return rc;
}

int import_note_outcome(struct import_ctx *c, const char *uid, const char *email,
                        const char *outcome, const char *reason, json_t *fields, struct err *e)
{
    struct buf text;
    int rc;

    buf_init(&text, SNAPSHOT_MAX_LINE);
    rc = outcome_text(&text, uid, email, outcome, reason, fields, e);
    if (rc == 0) {
        buf_reset(&text);
        rc = outcome_json(&text, uid, email, outcome, reason, fields, e);
    }
    if (rc >= 0)
        rc =
            extsort_add(c->outcomes, uid ? uid : "", uid ? strlen(uid) : 0, text.data, text.len, e);
    buf_release(&text);
    return rc;
}

int import_note_failure(struct import_ctx *c, const char *uid, const char *reason, struct err *e)
{
    if (!c->failures && !(c->failures = json_object()))
        return err_oom(e);
    if (json_object_get(c->failures, uid))
        return 0; /* the first reason is the one that matters */
    if (json_object_set_new(c->failures, uid, json_string(reason)) < 0)
        return err_oom(e);
    return 0;
}

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int d = memcmp(a, b, n);

    return d ? d : alen < blen ? -1 : alen > blen ? 1 : 0;
}

static void count(struct import_counts *n, const char *outcome)
{
    if (strcmp(outcome, "created") == 0)
        n->created++;
    else if (strcmp(outcome, "updated") == 0)
        n->updated++;
    else if (strcmp(outcome, "unchanged") == 0)
        n->unchanged++;
    else if (strcmp(outcome, "skipped") == 0)
        n->skipped++;
    else if (strcmp(outcome, "failed") == 0)
        n->failed++;
    else if (strcmp(outcome, "deleted") == 0)
        n->deleted++;
}

/* A report line as jansson writes it, with "job_id" (when job) and the
 * failure found while applying (when failure), appended to out; *outcome
 * gets its outcome (out of outcome_sz bytes). */
static int line_json(const char *rec, size_t rlen, const char *job, size_t jlen,
                     const json_t *failure, struct import_tally *tally, struct buf *out,
                     char *outcome, size_t outcome_sz, struct err *e)
{
    json_t *line = json_loadb(rec, rlen, 0, NULL);
    char *text = NULL;
    int rc = -1;

    if (!line)
        return err_set(e, ERR_INTERNAL, "bad outcome record");
    if (job)
        json_object_set_new(line, "job_id", json_stringn(job, jlen));
    if (failure && strcmp(json_string_value(json_object_get(line, "outcome")), "skipped")) {
        json_object_set_new(line, "planned", json_incref(json_object_get(line, "outcome")));
        json_object_set_new(line, "outcome", json_string("failed"));
        json_object_set(line, "reason", (json_t *)failure);
    }
    snprintf(outcome, outcome_sz, "%s", json_string_value(json_object_get(line, "outcome")));
    if (tally && import_tally_json(tally, line, e) < 0)
        goto out;
    text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        err_oom(e);
    else if (buf_appends(out, text, e) == 0)
        rc = 0;
out:
    free(text);
    json_decref(line);
    return rc;
}

/* Whether s (n bytes) is text jansson writes as it is: printable ASCII
 * without '"' and '\\'. */
static bool plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
            return false;
    return true;
}

/* The same without building a json_t, for the usual line: the planned
 * outcome stands (no failure overrides it), the record is canonical text
 * (import_note_outcome), and "job_id" goes in as text where its key sorts.
 * 1 done, 0 not handled (out unchanged), -1 failed. */
static int line_text(struct canonjson *cj, const char *rec, size_t rlen, const char *job,
                     size_t jlen, bool failed, struct buf *out, char *outcome, size_t outcome_sz,
                     struct err *e)
{
    size_t x, klen, olen, at = rlen - 1; /* before the final '}' */
    const char *key, *o;
    int r = canonjson_parse(cj, rec, rlen, e);

    if (r <= 0)
        return r;
    x = canonjson_get(cj, CANONJSON_ROOT, "outcome", 7);
    if (x == CANONJSON_NONE || !canonjson_string(cj, x, &o, &olen) || olen >= outcome_sz ||
        (failed && !(olen == 7 && memcmp(o, "skipped", 7) == 0)) || (job && !plain(job, jlen)))
        return 0;
    memcpy(outcome, o, olen);
    outcome[olen] = '\0';
    if (!job)
        return buf_append(out, rec, rlen, e) < 0 ? -1 : 1;
    for (x = canonjson_first(cj, CANONJSON_ROOT); x != CANONJSON_NONE; x = canonjson_next(cj, x)) {
        key = canonjson_key(cj, x, &klen);
        if (key_cmp(key, klen, "job_id", 6) > 0) {
            at = (size_t)(key - 1 - rec); /* its opening quote */
            break;
        }
    }
    if (buf_append(out, rec, at, e) < 0 ||
        (x == CANONJSON_NONE && buf_append(out, ",", 1, e) < 0) ||
        buf_append(out, "\"job_id\":\"", 10, e) < 0 || buf_append(out, job, jlen, e) < 0 ||
        buf_append(out, x == CANONJSON_NONE ? "\"" : "\",", x == CANONJSON_NONE ? 1 : 2, e) < 0 ||
        buf_append(out, rec + at, rlen - at, e) < 0)
        return -1;
    return 1;
}

/* The report's lines: the planned outcomes, with each user's job and the
 * failures found while applying, counted, written in large pieces. */
static int write_lines(struct import_ctx *c, const struct fsutil_tmpfile *tf, const char *path,
                       struct import_tally *tally, struct buf *out, struct err *e)
{
    const char *key, *rec, *jkey = NULL, *jrec = NULL;
    size_t klen, rlen, jklen = 0, jrlen = 0, start;
    struct canonjson cj;
    bool jhave, job;
    char uid[1024], outcome[32];
    const json_t *failure;
    int r, rc = -1;

    canonjson_init(&cj);
    if ((r = extsort_next(c->jobof, &jkey, &jklen, &jrec, &jrlen, e)) < 0)
        goto out;
    jhave = r == 1;
    while ((r = extsort_next(c->outcomes, &key, &klen, &rec, &rlen, e)) == 1) {
        snprintf(uid, sizeof(uid), "%.*s", (int)klen, key);
        while (jhave && key_cmp(jkey, jklen, key, klen) < 0) {
            if ((r = extsort_next(c->jobof, &jkey, &jklen, &jrec, &jrlen, e)) < 0)
                goto out;
            jhave = r == 1;
        }
        job = jhave && jklen == klen && memcmp(jkey, key, klen) == 0;
        failure = c->failures ? json_object_get(c->failures, uid) : NULL;
        start = out->len;
        r = line_text(&cj, rec, rlen, job ? jrec : NULL, jrlen, failure != NULL, out, outcome,
                      sizeof(outcome), e);
        if (r == 1 && tally)
            r = import_tally_text(tally, &cj, e) < 0 ? -1 : 1;
        else if (r == 0)
            r = line_json(rec, rlen, job ? jrec : NULL, jrlen, failure, tally, out, outcome,
                          sizeof(outcome), e);
        if (r < 0)
            goto out;
        count(&c->n, outcome);
        if (!path) {
            out->len = start;
            continue;
        }
        if (buf_append(out, "\n", 1, e) < 0 ||
            (out->len >= REPORT_FLUSH &&
             fsutil_write_all(tf->fd, out->data, out->len, path, e) < 0))
            goto out;
        if (out->len >= REPORT_FLUSH)
            buf_reset(out);
    }
    if (r < 0 || (path && fsutil_write_all(tf->fd, out->data, out->len, path, e) < 0))
        goto out;
    buf_reset(out);
    rc = 0;
out:
    canonjson_release(&cj);
    return rc;
}

int import_write_report(struct import_ctx *c, const char *path, json_t *summary,
                        struct import_tally *tally, struct err *e)
{
    struct fsutil_tmpfile tf;
    struct buf out;
    int r, rc = -1;

    fsutil_tmpfile_init(&tf);
    buf_init(&out, 64u << 20);
    c->n.created = c->n.updated = c->n.unchanged = c->n.skipped = c->n.failed = 0;
    c->n.deleted = 0;
    if (extsort_finish(c->outcomes, e) < 0 || extsort_finish(c->jobof, e) < 0)
        goto out;
    if (path && fsutil_tmpfile_open(&tf, path, true, e) < 0)
        goto out;
    if (write_lines(c, &tf, path, tally, &out, e) < 0)
        goto out;
    if (path) {
        char *text;
        json_object_set_new(summary, "created", json_integer((json_int_t)c->n.created));
        json_object_set_new(summary, "updated", json_integer((json_int_t)c->n.updated));
        json_object_set_new(summary, "unchanged", json_integer((json_int_t)c->n.unchanged));
        json_object_set_new(summary, "skipped", json_integer((json_int_t)c->n.skipped));
        json_object_set_new(summary, "failed", json_integer((json_int_t)c->n.failed));
        json_object_set_new(summary, "deleted", json_integer((json_int_t)c->n.deleted));
        text = json_dumps(summary, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text) {
            err_oom(e);
            goto out;
        }
        buf_reset(&out);
        r = buf_appends(&out, text, e) < 0 || buf_append(&out, "\n", 1, e) < 0 ||
            fsutil_write_all(tf.fd, out.data, out.len, path, e) < 0;
        free(text);
        if (r)
            goto out;
        if (fsutil_tmpfile_commit(&tf, e) < 0)
            goto out;
    }
    rc = 0;
out:
    fsutil_tmpfile_abort(&tf);
    buf_release(&out);
    return rc;
}

json_t *import_counts_json(const struct import_counts *n)
{
    json_t *j = json_object();
    const struct {
        const char *key;
        size_t value;
    } counts[] = {
        {"created", n->created},
        {"updated", n->updated},
        {"unchanged", n->unchanged},
        {"skipped", n->skipped},
        {"failed", n->failed},
        {"deleted", n->deleted},
        {"conflicts", n->conflicts},
        {"social_skipped", n->social_skipped},
        {"social_converted", n->social_converted},
        {"no_email", n->no_email},
        {"roles_added", n->roles_added},
        {"roles_removed", n->roles_removed},
        {"members_added", n->members_added},
        {"members_removed", n->members_removed},
        {"member_roles_added", n->member_roles_added},
        {"member_roles_removed", n->member_roles_removed},
        {"jobs", n->jobs},
        {"jobs_retried", n->jobs_retried},
        {"patches", n->patches},
        {"roles_created", n->roles_created},
        {"member_role_requests", n->member_role_requests},
        {"passwordless", n->passwordless},
        {"links_added", n->links_added},
        {"links_removed", n->links_removed},
        {"links_not_copyable", n->links_not_copyable},
        {"links_not_copyable_social", n->links_social},
        {"links_not_copyable_enterprise", n->links_enterprise},
        {"permissions_added", n->permissions_added},
        {"permissions_removed", n->permissions_removed},
        {"permissions_missing", n->permissions_missing},
        {"moves", n->moves},
    };

    for (size_t i = 0; j && i < sizeof(counts) / sizeof(counts[0]); i++) {
        if (json_object_set_new(j, counts[i].key, json_integer((json_int_t)counts[i].value)) < 0) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}
