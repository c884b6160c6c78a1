/*
 * snapshots_erase_out.c - what an erase says: to people, one line per
 * snapshot and a summary; as --json; and to the erasure log.
 *
 * None of them holds the person's values: the person is named by the
 * option that was used ("email" or "user_id") and the keyed digest
 * (erase_subject_digest), and failures go to the log as their class only
 * (a reader's message may quote a user_id).
 */
#include "snapshots_erase.h"

#include "age.h"
#include "cli_main.h"
#include "edsig.h"
#include "pseudonym.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *action(const struct erase_run *r, const struct erase_file *f)
{
    if (!f->rewrite)
        return "unchanged";
    if (r->o->dry_run)
        return "would_rewrite";
    if (f->done)
        return "rewritten";
    return "failed";
}

static const char *new_signer(const struct erase_file *f)
{
    return f->sign ? edsig_key_fingerprint(f->sign) : NULL;
}

static json_t *subject_json(const struct erase_run *r)
{
    return json_pack("{s:s,s:s,s:s}", "by", r->by, "hmac_sha256", r->digest, "key_fingerprint",
                     pseudonym_key_fingerprint(r->k->pseudonym));
}

/* One snapshot: {file, action, users_removed, request_values_removed,
 * previous_snapshot_id, snapshot_id, sha256, signed_by,
 * signature_removed, encrypted, recipients}. */
static json_t *file_json(const struct erase_run *r, const struct erase_file *f, bool for_log)
{
    const struct snap_entry *s = f->s;
    json_t *j;

    j = json_pack("{s:o,s:s,s:I,s:I,s:s,s:o,s:o,s:o,s:b,s:b,s:I}", "file", snapshots_jstr(s->name),
                  "action", action(r, f), "users_removed",
                  (json_int_t)(f->done ? f->res.removed : f->matches), "request_values_removed",
                  (json_int_t)f->request_values, "previous_snapshot_id", s->snapshot_id,
                  "snapshot_id", snapshots_jstr(f->done ? f->res.snapshot_id : NULL), "sha256",
                  snapshots_jstr(f->sha256[0] ? f->sha256 : NULL), "signed_by",
                  snapshots_jstr(f->rewrite     ? new_signer(f)
                                 : s->signer[0] ? s->signer
                                                : NULL),
                  "signature_removed", f->unsigned_now, "encrypted", s->encrypted, "recipients",
                  (json_int_t)f->n_to);
    if (j && f->failure.code != ERR_NONE)
        json_object_set_new(
            j, for_log ? "error_class" : "error",
            snapshots_jstr(for_log ? err_code_name(f->failure.code) : f->failure.msg));
    return j;
}

json_t *erase_log_record(const struct erase_run *r)
{
    json_t *files = json_array(), *rec;

    for (size_t i = 0; files && i < r->n_files; i++) {
        const struct erase_file *f = &r->files[i];
        if (f->rewrite && json_array_append_new(files, file_json(r, f, true)) < 0) {
            json_decref(files);
            files = NULL;
        }
    }
    rec = json_pack("{s:s,s:s,s:{s:s,s:s},s:o,s:I,s:I,s:I,s:b,s:o}", "a0snap", "erasure", "at",
                    r->at, "tool", "name", "a0snap-snapshots", "version", A0SNAP_VERSION, "subject",
                    subject_json(r), "snapshots_checked", (json_int_t)r->n_files,
                    "snapshots_changed", (json_int_t)r->n_done, "users_removed",
                    (json_int_t)r->users_removed, "complete", r->n_failed == 0, "files", files);
    return rec;
}

/* "; signed again by key X; encrypted again to 2 recipients" */
static void seal_text(const struct erase_file *f, bool dry, char *out, size_t outsz)
{
    size_t n = 0;

    out[0] = '\0';
    if (f->sign && strcmp(edsig_key_fingerprint(f->sign), f->s->signer) == 0)
        n += (size_t)snprintf(out + n, outsz - n, "; %ssigned again by key %.16s",
                              dry ? "would be " : "", edsig_key_fingerprint(f->sign));
    else if (f->sign)
        n += (size_t)snprintf(out + n, outsz - n,
                              "; %ssigned again by key %.16s (it was signed by key %.16s)",
                              dry ? "would be " : "", edsig_key_fingerprint(f->sign), f->s->signer);
    else if (f->unsigned_now)
        n += (size_t)snprintf(out + n, outsz - n,
                              "; %swritten UNSIGNED (--unsign; was signed by "
                              "key %.16s)",
                              dry ? "would be " : "", f->s->signer);
    if (f->to && n < outsz)
        snprintf(out + n, outsz - n, "; %sencrypted again to %zu recipient%s",
                 dry ? "would be " : "", f->n_to, f->n_to == 1 ? "" : "s");
}

static void print_human(const struct erase_run *r, const char *log_path)
{
    bool dry = r->o->dry_run;
    unsigned long long users = 0;
    size_t changed = 0;
    char seal[256];

    for (size_t i = 0; i < r->n_files; i++) {
        const struct erase_file *f = &r->files[i];
        const char *name = snapshots_pr(f->s->name);
        unsigned long long n = f->done ? f->res.removed : f->matches;
        if (!f->rewrite) {
            printf("unchanged     '%s': nothing of this person\n", name);
            continue;
        }
        seal_text(f, dry, seal, sizeof(seal));
        if (!dry && !f->done) {
            printf("FAILED        '%s': left as it was (%s)\n", name, f->failure.msg);
            continue;
        }
        printf("%s '%s': %llu user%s%s%s\n", dry ? "would erase  " : "erased       ", name, n,
               n == 1 ? "" : "s",
               f->request_values ? ", and the person's values in the header's request" : "", seal);
        if (!dry)
            printf("              snapshot id %s -> %s\n", f->s->snapshot_id, f->res.snapshot_id);
        users += n;
        changed++;
    }
    if (!r->n_files)
        printf("no snapshots in '%s': nothing to erase\n", snapshots_pr(r->o->args[0]));
    else if (dry)
        printf("dry run, nothing written: would erase %llu user%s from %zu of %zu snapshot%s\n",
               users, users == 1 ? "" : "s", changed, r->n_files, r->n_files == 1 ? "" : "s");
    else
        printf("erased %llu user%s from %zu of %zu snapshot%s; logged in '%s'\n", users,
               users == 1 ? "" : "s", changed, r->n_files, r->n_files == 1 ? "" : "s",
               log_path ? snapshots_pr(log_path) : "?");
    if (r->f.other_files)
        printf("%zu other file%s of the folder not looked at (not named *.ndjson.gz[.age])\n",
               r->f.other_files, r->f.other_files == 1 ? "" : "s");
    printf("person (%s): erasure digest %s, key %s\n", r->by, r->digest,
           pseudonym_key_fingerprint(r->k->pseudonym));
}

/* {dry_run, at, subject {by, hmac_sha256, key_fingerprint}, snapshots:
 *  [file_json], snapshots_checked, snapshots_changed, users_removed,
 *  other_files, log (null in a dry run)} */
static int print_json(const struct erase_run *r, const char *log_path, struct err *e)
{
    json_t *list = json_array(), *doc;
    unsigned long long users = 0;
    size_t changed = 0;

    for (size_t i = 0; list && i < r->n_files; i++) {
        const struct erase_file *f = &r->files[i];
        if (f->rewrite && (r->o->dry_run || f->done)) {
            changed++;
            users += f->done ? f->res.removed : f->matches;
        }
        if (json_array_append_new(list, file_json(r, f, false)) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    doc = json_pack("{s:b,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:o}", "dry_run", r->o->dry_run, "at", r->at,
                    "subject", subject_json(r), "snapshots", list, "snapshots_checked",
                    (json_int_t)r->n_files, "snapshots_changed", (json_int_t)changed,
                    "users_removed", (json_int_t)users, "other_files", (json_int_t)r->f.other_files,
                    "log", snapshots_jstr(log_path));
    if (!doc)
        return err_oom(e);
    cli_print_json(doc);
    return 0;
}

int erase_print(const struct erase_run *r, const char *log_path, struct err *e)
{
    if (r->o->json) {
        if (print_json(r, log_path, e) < 0)
            return -1;
    } else {
        print_human(r, log_path);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return err_errno(e, ERR_IO, errno ? errno : EIO, "cannot write to standard output");
    return 0;
}
