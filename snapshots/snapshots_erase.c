/*
 * snapshots_erase.c - `a0snap-snapshots erase DIR --user-id ID | --email
 * ADDRESS`: one person removed from every snapshot of the folder.
 *
 * Check first, write after (snapshots_erase.h): the check pass reads every
 * snapshot to its verified end while it counts the person's lines, and
 * plans how each snapshot that holds them is sealed again. Any snapshot
 * that cannot be opened, does not verify, or cannot be sealed again as it
 * was stops the run before the first write, each named on its own line:
 * an archive cannot be called clean of a person while one of its files
 * could not even be looked at.
 *
 * Sealing again: a new snapshot_id (the old id and digest stay in the
 * header's "erasures" record, and in the log), the same created_at (the
 * data is as old as it was); a signed snapshot is signed again with
 * --sign-key, or written unsigned with --unsign, never silently dropped;
 * an encrypted one is encrypted again to the recipients its header records
 * (--encrypt-to replaces them). Plain snapshots stay plain, unsigned ones
 * unsigned.
 *
 * Then the run is logged (snapshots_log.c) with the person named only by
 * a keyed digest, even when some rewrite failed: the log must say what was
 * done.
 */
#include "snapshots_erase.h"

#include "age.h"
#include "edsig.h"
#include "log.h"
#include "pseudonym.h"
#include "snapshots_pick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the check pass (snapshots_scan's visit) ----------------------------- */

static int on_begin(void *ctx, size_t n, struct err *e)
{
    struct erase_run *r = ctx;

    r->files = calloc(n ? n : 1, sizeof(*r->files));
    if (!r->files)
        return err_oom(e);
    r->n_files = n;
    for (size_t i = 0; i < n; i++)
        erase_target_init(&r->files[i].t);
    return 0;
}

/* How many strings of the header's "request" name the person. */
static int count_request_values(struct erase_file *f, const json_t *h, struct err *e)
{
    json_t *copy = json_object(), *req = json_deep_copy(json_object_get(h, "request"));

    if (!copy || (req && json_object_set_new(copy, "request", req) < 0)) {
        json_decref(copy);
        return err_oom(e);
    }
    f->request_values = erase_scrub_request(copy, f->t.needles);
    json_decref(copy);
    return 0;
}

static int on_header(void *ctx, size_t i, struct snap_entry *s, struct err *e)
{
    struct erase_run *r = ctx;
    struct erase_file *f = &r->files[i];
    struct err why;

    err_clear(&why);
    f->s = s;
    r->cur = NULL;
    if (erase_target_for(&f->t, s->header, r->o->user_id, r->o->email, r->k->pseudonym, &why) < 0) {
        if (why.code == ERR_INTERNAL) {
            *e = why;
            return -1;
        }
        err_set(&f->problem, why.code, "snapshot '%s': %s", s->path, why.msg);
        return 0;
    }
    if (count_request_values(f, s->header, e) < 0)
        return -1;
    r->cur = f;
    return 1;
}

static int on_user(void *ctx, const json_t *user, struct err *e)
{
    struct erase_run *r = ctx;

    (void)e;
    if (r->cur && erase_match_user(user, &r->cur->t.subj))
        r->cur->matches++;
    return 0;
}

/* --- planning ---------------------------------------------------------- */

static int plan_signature(struct erase_run *r, struct erase_file *f)
{
    const struct snap_entry *s = f->s;
    const struct snapshots_keys *k = r->k;
    const char *fp;

    if (!s->signer[0])
        return 0;
    if (r->o->unsign) {
        f->unsigned_now = true;
        return 0;
    }
    if (!k->sign)
        return err_set(&f->problem, ERR_REFUSED,
                       "snapshot '%s' is signed (key %.16s) and erasing changes its content: give "
                       "--sign-key FILE to sign it again, or --unsign to write it unsigned",
                       s->path, s->signer);
    fp = edsig_key_fingerprint(k->sign);
    if (k->trusted && !edsig_trusted_has(k->trusted, fp))
        return err_set(&f->problem, ERR_REFUSED,
                       "snapshot '%s': the --sign-key (key %.16s) is not among "
                       "A0SNAP_TRUSTED_KEYS, so the snapshot signed again with it would be refused",
                       s->path, fp);
    if (k->trusted && !s->trusted && strcmp(s->signer, fp) != 0)
        return err_set(&f->problem, ERR_REFUSED,
                       "snapshot '%s' is signed by key %.16s, which A0SNAP_TRUSTED_KEYS does not "
                       "hold: signing it again with a trusted key would vouch for it",
                       s->path, s->signer);
    f->sign = k->sign;
    return 0;
}

static int plan_encryption(struct erase_run *r, struct erase_file *f)
{
    const struct snap_entry *s = f->s;
    const json_t *list = json_object_get(json_object_get(s->header, "encryption"), "recipients");
    struct err why;
    size_t i;

    if (!s->encrypted)
        return 0;
    if (r->k->encrypt_to) {
        f->to = r->k->encrypt_to;
        f->n_to = age_recipients_count(f->to);
        return 0;
    }
    if (!json_array_size(list))
        return err_set(&f->problem, ERR_REFUSED,
                       "snapshot '%s' is encrypted, but its header records no recipient to "
                       "encrypt it to again (a passphrase, or an older a0snap): give --encrypt-to",
                       s->path);
    err_clear(&why);
    if (age_recipients_new(&f->own_to, &why) < 0)
        return err_set(&f->problem, why.code, "%s", why.msg);
    for (i = 0; i < json_array_size(list); i++) {
        const char *rcp = json_string_value(json_array_get(list, i));
        if (age_recipients_add(f->own_to, rcp ? rcp : "", &why) < 0)
            return err_set(&f->problem, ERR_SNAPSHOT,
                           "snapshot '%s': its header's encryption recipient %zu cannot be used "
                           "(%s)",
                           s->path, i + 1, why.msg);
    }
    f->to = f->own_to;
    f->n_to = i;
    return 0;
}

static void plan(struct erase_run *r, struct erase_file *f)
{
    if (!f->s->intact) {
        f->problem = f->s->why; /* it names the file */
        return;
    }
    if (f->problem.code != ERR_NONE)
        return;
    f->rewrite = f->matches > 0 || f->request_values > 0;
    if (!f->rewrite)
        return;
    if (plan_signature(r, f) < 0 || plan_encryption(r, f) < 0)
        return;
    r->n_rewrite++;
}

/* Every problem on its own line; the run stops with the worst. */
static int refuse(struct erase_run *r, struct err *e)
{
    enum err_code worst = ERR_NONE;
    size_t n = 0;

    for (size_t i = 0; i < r->n_files; i++) {
        const struct err *p = &r->files[i].problem;
        if (p->code == ERR_NONE)
            continue;
        log_error("%s", p->msg);
        worst = snapshots_worse(worst, p->code);
        n++;
    }
    if (!n)
        return 0;
    return err_set(e, worst,
                   "nothing was erased or written: %zu of %zu snapshot%s cannot be erased from "
                   "(above); fix what is said, or move the file out of the folder, then run erase "
                   "again",
                   n, r->n_files, r->n_files == 1 ? "" : "s");
}

/* --- writing ----------------------------------------------------------- */

static json_t *recipients_json(const struct age_recipients *to)
{
    json_t *list = json_array();
    char rcp[AGE_RECIPIENT_LEN + 1];

    for (size_t i = 0; list && i < age_recipients_count(to); i++)
        if (age_recipients_get(to, i, rcp, NULL) == 0 &&
            json_array_append_new(list, json_string(rcp)) < 0) {
            json_decref(list);
            list = NULL;
        }
    return list;
}

/* The header the rewritten snapshot gets, from the one its file holds
 * (old, with its catalogue). */
static int new_header(void *ctx, const json_t *old, json_t **out, struct err *e)
{
    const struct erase_file *f = ctx;
    const struct erase_run *r = f->run;
    const struct snap_entry *s = f->s;
    json_t *h = json_deep_copy(old), *list, *rec;

    *out = NULL;
    if (!h)
        return err_oom(e);
    json_object_del(h, "snapshot_id"); /* the writer draws a new one */
    json_object_del(h, "signature");   /* and signs, or not */
    erase_scrub_request(h, f->t.needles);
    if (s->encrypted && r->k->encrypt_to &&
        json_object_set_new(
            h, "encryption",
            json_pack("{s:s,s:o}", "format", "age", "recipients", recipients_json(f->to))) < 0)
        goto fail;
    list = json_object_get(h, "erasures");
    if (!json_is_array(list)) {
        list = json_array();
        if (json_object_set_new(h, "erasures", list) < 0)
            goto fail;
    }
    rec =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:s?,s:s,s:{s:s,s:s}}", "at", r->at, "previous_snapshot_id",
                  s->snapshot_id, "previous_sha256", s->sha256, "users_removed",
                  (json_int_t)f->matches, "request_values_removed", (json_int_t)f->request_values,
                  "signer_before", s->signer[0] ? s->signer : NULL, "signature",
                  f->sign           ? "renewed"
                  : f->unsigned_now ? "removed"
                                    : "none",
                  "tool", "name", "a0snap-snapshots", "version", A0SNAP_VERSION);
    if (json_array_append_new(list, rec) < 0)
        goto fail;
    *out = h;
    return 0;
fail:
    json_decref(h);
    return err_oom(e);
}

/* The new file, read back: it must verify, hold the users that were
 * kept, and carry the signature planned. An encrypted one whose new
 * recipients the identity given is not among cannot be read back; that
 * is said, not failed. */
static void read_back(struct erase_run *r, struct erase_file *f)
{
    struct snap_entry back;
    struct err e;

    err_clear(&e);
    if (snapshots_probe(&back, f->s->path, f->s->name, &r->k->sk, NULL, NULL, &e) < 0) {
        f->failure = e;
    } else if (back.intact) {
        snprintf(f->sha256, sizeof(f->sha256), "%s", back.sha256);
        if (back.users != f->res.kept ||
            strcmp(back.signer, f->sign ? edsig_key_fingerprint(f->sign) : "") != 0)
            err_set(&f->failure, ERR_INTERNAL,
                    "snapshot '%s' does not hold what was written to it (read back: %llu users)",
                    f->s->path, back.users);
    } else if (back.why.code == ERR_SNAPSHOT) {
        err_set(&f->failure, ERR_INTERNAL, "the rewritten snapshot does not verify: %s",
                back.why.msg);
    } else {
        log_warn("'%s' was not read back: the identity given does not open it any more (its new "
                 "recipients)",
                 f->s->path);
    }
    snap_entry_release(&back);
}

static void apply(struct erase_run *r, struct erase_file *f)
{
    struct snapshot_write_opts wo = {.force = true, .sign = f->sign, .encrypt_to = f->to};
    struct rewrite_header make = {new_header, f};

    err_clear(&f->failure);
    f->run = r;
    if (snapshots_rewrite(f->s->path, &r->k->sk, &make, &wo, &f->t.subj, f->s->sha256, &f->res,
                          &f->failure) == 0) {
        f->done = true;
        r->n_done++;
        r->users_removed += f->res.removed;
        read_back(r, f);
    }
    if (f->failure.code != ERR_NONE)
        r->n_failed++;
}

/* --- the command ------------------------------------------------------- */

static void run_release(struct erase_run *r)
{
    for (size_t i = 0; i < r->n_files; i++) {
        erase_target_release(&r->files[i].t);
        age_recipients_free(r->files[i].own_to);
    }
    free(r->files);
    snap_folder_release(&r->f);
}

static int write_all(struct erase_run *r, char **log_path, struct err *e)
{
    const struct snapshots_opts *o = r->o;
    enum err_code worst = ERR_NONE;
    const struct err *first = NULL;

    for (size_t i = 0; i < r->n_files; i++) {
        struct erase_file *f = &r->files[i];
        if (!f->rewrite)
            continue;
        apply(r, f);
        if (f->failure.code != ERR_NONE) {
            log_error("%s", f->failure.msg);
            worst = snapshots_worse(worst, f->failure.code);
            first = first ? first : &f->failure;
        }
    }
    if (asprintf(log_path, "%s%s%s", o->args[0],
                 o->args[0][strlen(o->args[0]) - 1] == '/' ? "" : "/", SNAPSHOTS_LOG_NAME) < 0) {
        *log_path = NULL;
        return err_oom(e);
    }
    if (snapshots_log_append(o->args[0], erase_log_record(r), e) < 0)
        return err_prefix(e,
                          "%zu snapshot%s erased from, but the erasure log could not be "
                          "written",
                          r->n_done, r->n_done == 1 ? "" : "s");
    if (first)
        return err_set(e, worst,
                       "%zu of %zu snapshots to erase from could not be rewritten (the "
                       "log says which): %s",
                       r->n_failed, r->n_rewrite, first->msg);
    return 0;
}

int snapshots_erase(const struct snapshots_opts *o, const struct snapshots_keys *k, int64_t now,
                    struct err *e)
{
    struct snap_visit visit = {on_begin, on_header, on_user, NULL};
    struct erase_run r;
    char *log_path = NULL;
    int lock = -1, rc = -1, wrote = 0;
    struct err failed;

    memset(&r, 0, sizeof(r));
    err_clear(&failed);
    r.o = o;
    r.k = k;
    r.by = o->user_id ? "user_id" : "email";
    r.value = o->user_id ? o->user_id : o->email;
    visit.ctx = &r;
    snapshots_format_time(now, r.at, sizeof(r.at));
    if (erase_subject_digest(k->pseudonym, r.by, r.value, r.digest, e) < 0 ||
        (!o->dry_run && snapshots_lock(o->args[0], &lock, e) < 0) ||
        snapshots_scan(&r.f, o->args[0], &k->sk, k->trusted, &visit, e) < 0)
        goto out;
    r.cur = NULL;
    for (size_t i = 0; i < r.n_files; i++) {
        r.files[i].s = &r.f.v[i];
        plan(&r, &r.files[i]);
    }
    if (refuse(&r, e) < 0)
        goto out;
    /* An empty folder is not logged: nothing was looked at. */
    if (r.n_files && !o->dry_run)
        wrote = write_all(&r, &log_path, &failed);
    if (erase_print(&r, log_path, e) < 0)
        goto out;
    if (wrote < 0) {
        *e = failed;
        goto out;
    }
    rc = 0;
out:
    free(log_path);
    run_release(&r);
    snapshots_unlock(lock);
    return rc;
}
