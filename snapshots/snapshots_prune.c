/*
 * snapshots_prune.c - `a0snap-snapshots prune DIR --keep-last N
 * --keep-within DAYS`: read every snapshot of the folder completely, let
 * snapshots_pick() decide (per source tenant, from the headers), then
 * delete what it chose - or, with --dry-run, only say so.
 *
 * Only files the scan read are deleted, and only if they are still the
 * same files (device, inode, size and modification time) when their turn
 * comes: a snapshot replaced meanwhile (an erase, a copy) is left alone.
 * The folder is fsync'ed after the deletions so they survive a crash.
 *
 * Every file gets a line (keep or delete, and why). The command fails when
 * a snapshot that does not verify was kept (exit 3), a file could not be
 * identified or opened, or a deletion failed; the deletions it could make
 * are made all the same, since each is decided on its own.
 */
#include "snapshots.h"

#include "cli_main.h"
#include "fsutil.h"
#include "snapshots_pick.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct prune_run {
    const struct snapshots_opts *o;
    struct snap_folder f;
    struct pick_item *items;
    bool *deleted;
    size_t n_deleted, n_damaged_deleted, n_kept, n_failed;
    enum err_code worst;
    struct err first; /* the first failure, for the message */
};

static enum pick_state state_of(const struct snap_entry *s)
{
    if (s->locked)
        return PICK_LOCKED;
    if (!s->header_read)
        return PICK_UNREADABLE;
    if (s->intact)
        return PICK_INTACT; /* A0SNAP_TRUSTED_KEYS has no say: not signed is not damaged */
    return s->why.code == ERR_SNAPSHOT ? PICK_DAMAGED : PICK_UNREADABLE;
}

static int make_items(struct prune_run *p, struct err *e)
{
    p->items = calloc(p->f.n ? p->f.n : 1, sizeof(*p->items));
    p->deleted = calloc(p->f.n ? p->f.n : 1, sizeof(*p->deleted));
    if (!p->items || !p->deleted)
        return err_oom(e);
    for (size_t i = 0; i < p->f.n; i++) {
        const struct snap_entry *s = &p->f.v[i];
        struct pick_item *it = &p->items[i];
        it->name = s->name;
        it->group = snap_source(s) ? snap_source(s) : "";
        it->dated = snapshots_parse_time(snap_created(s), &it->created);
        it->state = state_of(s);
    }
    return 0;
}

static void note_failure(struct prune_run *p, const struct err *why)
{
    p->n_failed++;
    p->worst = snapshots_worse(p->worst, why->code);
    if (p->first.code == ERR_NONE)
        p->first = *why;
}

/* The file is still the one that was read. */
static int same_file(const struct snap_entry *s, struct err *e)
{
    struct stat st;

    if (lstat(s->path, &st) < 0)
        return err_errno(e, ERR_IO, errno, "cannot examine '%s'", s->path);
    if (st.st_dev != s->dev || st.st_ino != s->ino || st.st_size != s->size ||
        (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != s->mtime_ns)
        return err_set(e, ERR_REFUSED, "'%s' changed after it was read: not deleted", s->path);
    return 0;
}

static int delete_one(struct prune_run *p, size_t i)
{
    const struct snap_entry *s = &p->f.v[i];
    struct err e;

    err_clear(&e);
    if (same_file(s, &e) < 0 ||
        (unlink(s->path) < 0 && err_errno(&e, ERR_IO, errno, "cannot delete '%s'", s->path) < 0)) {
        note_failure(p, &e);
        return -1;
    }
    p->deleted[i] = true;
    return 0;
}

/* Why a snapshot that verified is deleted, in words. */
static void old_text(const struct snapshots_opts *o, char *out, size_t outsz)
{
    if (o->keep_last && o->keep_within_days)
        snprintf(out, outsz, "older than %ld day%s and not among the newest %ld of its tenant",
                 o->keep_within_days, o->keep_within_days == 1 ? "" : "s", o->keep_last);
    else if (o->keep_last)
        snprintf(out, outsz, "not among the newest %ld of its tenant", o->keep_last);
    else
        snprintf(out, outsz, "older than %ld day%s", o->keep_within_days,
                 o->keep_within_days == 1 ? "" : "s");
}

static void reason_text(const struct prune_run *p, size_t i, char *out, size_t outsz)
{
    const struct snap_entry *s = &p->f.v[i];
    const struct snapshots_opts *o = p->o;

    switch (p->items[i].verdict) {
    case PICK_KEEP_NEWEST:
        snprintf(out, outsz, "one of the newest %ld of its tenant", o->keep_last);
        break;
    case PICK_KEEP_RECENT:
        snprintf(out, outsz, "younger than %ld day%s", o->keep_within_days,
                 o->keep_within_days == 1 ? "" : "s");
        break;
    case PICK_KEEP_UNDATED:
        snprintf(out, outsz, "its header has no readable created_at: it cannot be dated");
        break;
    case PICK_KEEP_DAMAGED:
        snprintf(out, outsz, "it does NOT verify (%s); kept: --include-damaged deletes it",
                 snapshots_reason(s));
        break;
    case PICK_KEEP_LOCKED:
        snprintf(out, outsz,
                 "encrypted, and no identity was given: its tenant and time cannot be read "
                 "(--identity)");
        break;
    case PICK_KEEP_UNIDENTIFIED:
        snprintf(out, outsz,
                 "its header cannot be read (%s): nothing shows it is a snapshot; delete it by "
                 "hand if it is not needed",
                 snapshots_reason(s));
        break;
    case PICK_DELETE:
        old_text(o, out, outsz);
        break;
    case PICK_DELETE_DAMAGED:
        snprintf(out, outsz, "it does NOT verify (%s); deleted as --include-damaged asks",
                 snapshots_reason(s));
        break;
    }
}

static void line_human(const struct prune_run *p, size_t i)
{
    const struct snap_entry *s = &p->f.v[i];
    bool del = snapshots_pick_deletes(p->items[i].verdict);
    const char *verb = !del ? "keep        " : p->o->dry_run ? "would delete" : "delete      ";
    char why[ERR_MSG_MAX + 256];

    reason_text(p, i, why, sizeof(why));
    printf("%s '%s' (%s, %s): %s\n", verb, snapshots_pr(s->name),
           snap_source(s) ? snapshots_pr(snap_source(s)) : "tenant unknown",
           snap_created(s) ? snapshots_pr(snap_created(s)) : "time unknown", why);
}

/* {dry_run, now, rule {keep_last, keep_within_days (null: not given),
 *  include_damaged}, snapshots: [{file, source, created_at, action
 *  ("keep"|"delete"), reason (snapshots_pick_name), problem, deleted}],
 *  deleted, kept, other_files} */
static int prune_json(const struct prune_run *p, int64_t now, struct err *e)
{
    const struct snapshots_opts *o = p->o;
    json_t *list = json_array(), *doc;
    char stamp[32];

    for (size_t i = 0; list && i < p->f.n; i++) {
        const struct snap_entry *s = &p->f.v[i];
        const char *problem = s->intact ? NULL : s->why.msg;
        json_t *j =
            json_pack("{s:o,s:o,s:o,s:s,s:s,s:o,s:b}", "file", snapshots_jstr(s->name), "source",
                      snapshots_jstr(snap_source(s)), "created_at", snapshots_jstr(snap_created(s)),
                      "action", snapshots_pick_deletes(p->items[i].verdict) ? "delete" : "keep",
                      "reason", snapshots_pick_name(p->items[i].verdict), "problem",
                      snapshots_jstr(problem), "deleted", p->deleted[i]);
        if (json_array_append_new(list, j) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    snapshots_format_time(now, stamp, sizeof(stamp));
    doc = json_pack(
        "{s:b,s:s,s:{s:o,s:o,s:b},s:o,s:I,s:I,s:I}", "dry_run", o->dry_run, "now", stamp, "rule",
        "keep_last", o->keep_last ? json_integer(o->keep_last) : json_null(), "keep_within_days",
        o->keep_within_days ? json_integer(o->keep_within_days) : json_null(), "include_damaged",
        o->include_damaged, "snapshots", list, "deleted", (json_int_t)p->n_deleted, "kept",
        (json_int_t)p->n_kept, "other_files", (json_int_t)p->f.other_files);
    if (!doc)
        return err_oom(e);
    cli_print_json(doc);
    return 0;
}

/* Deletes (or counts, in a dry run) what was chosen; notes what was kept
 * for a reason that needs attention. */
static void act(struct prune_run *p)
{
    for (size_t i = 0; i < p->f.n; i++) {
        const struct snap_entry *s = &p->f.v[i];
        enum pick_verdict v = p->items[i].verdict;
        if (!snapshots_pick_deletes(v)) {
            p->n_kept++;
            if (v == PICK_KEEP_DAMAGED || v == PICK_KEEP_UNIDENTIFIED)
                note_failure(p, &s->why);
            continue;
        }
        if (!p->o->dry_run && delete_one(p, i) < 0)
            continue;
        p->n_deleted++;
        p->n_damaged_deleted += v == PICK_DELETE_DAMAGED;
    }
}

static void prune_release(struct prune_run *p)
{
    snap_folder_release(&p->f);
    free(p->items);
    free(p->deleted);
}

int snapshots_prune(const struct snapshots_opts *o, const struct snapshots_keys *k, int64_t now,
                    struct err *e)
{
    struct pick_rule rule = {o->keep_last, o->keep_within_days, o->include_damaged};
    struct prune_run p;
    int lock = -1, rc = -1;

    memset(&p, 0, sizeof(p));
    p.o = o;
    err_clear(&p.first);
    if ((!o->dry_run && snapshots_lock(o->args[0], &lock, e) < 0) ||
        snapshots_scan(&p.f, o->args[0], &k->sk, NULL, NULL, e) < 0 || make_items(&p, e) < 0 ||
        snapshots_pick(p.items, p.f.n, &rule, now, e) < 0)
        goto out;
    act(&p);
    if (p.n_deleted && !o->dry_run && fsutil_fsync_parent(p.f.v[0].path, e) < 0)
        goto out;
    if (o->json) {
        if (prune_json(&p, now, e) < 0)
            goto out;
    } else {
        for (size_t i = 0; i < p.f.n; i++)
            line_human(&p, i);
        printf("%s%zu deleted (%zu of them not verifying), %zu kept; %zu other file%s not "
               "looked at\n",
               o->dry_run ? "dry run, nothing deleted: would have " : "", p.n_deleted,
               p.n_damaged_deleted, p.n_kept, p.f.other_files, p.f.other_files == 1 ? "" : "s");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        err_errno(e, ERR_IO, errno ? errno : EIO, "cannot write to standard output");
        goto out;
    }
    if (p.n_failed) {
        err_set(e, p.worst, "%zu file%s kept or not deleted for a problem (see above), e.g. %s",
                p.n_failed, p.n_failed == 1 ? "" : "s", p.first.msg);
        goto out;
    }
    rc = 0;
out:
    prune_release(&p);
    snapshots_unlock(lock);
    return rc;
}
