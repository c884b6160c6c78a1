/*
 * snapshots_verify.c - `a0snap-snapshots verify DIR|FILE...`: every
 * snapshot of the folders (and every file named) read completely; with
 * A0SNAP_TRUSTED_KEYS the signer rule of a0snap-import applies too
 * (guard_signer), so "verifies" means "an import would take it".
 *
 * One line per snapshot on stdout, then the counts; the command fails
 * (exit code of the worst failure, see snapshots_worse) when any snapshot
 * does not verify, and its message counts them. An encrypted snapshot
 * that no identity was given for is "not checked": a usage problem (exit
 * 2) unless something worse was found.
 */
#include "snapshots.h"

#include "cli_main.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct tally {
    size_t ok, failed, locked;
    enum err_code worst;
    json_t *list; /* --json */
};

static void seal_text(const struct snap_entry *s, bool have_trusted, char *out, size_t outsz)
{
    if (s->signer[0])
        snprintf(out, outsz, "signed by key %.*s%s", SNAPSHOTS_SIGNER_LEN, s->signer,
                 have_trusted ? " (trusted)" : "");
    else
        snprintf(out, outsz, "unsigned");
}

static int one(const struct snap_entry *s, bool json, bool have_trusted, struct tally *t,
               struct err *e)
{
    char seal[128];

    if (s->locked) {
        t->locked++;
        t->worst = snapshots_worse(t->worst, ERR_USAGE);
    } else if (!s->intact || !s->trusted) {
        t->failed++;
        t->worst = snapshots_worse(t->worst, s->intact ? s->trust_why.code : s->why.code);
    } else {
        t->ok++;
    }
    if (json)
        return json_array_append_new(t->list, snapshots_entry_json(s, have_trusted)) < 0
                   ? err_oom(e)
                   : 0;
    if (s->locked) {
        printf("not checked  '%s': encrypted, and no identity was given\n", snapshots_pr(s->path));
    } else if (!s->intact || !s->trusted) {
        printf("FAILED       '%s': %s\n", snapshots_pr(s->path), snapshots_reason(s));
    } else {
        seal_text(s, have_trusted, seal, sizeof(seal));
        printf("ok           '%s': %llu user%s, %s%s\n", snapshots_pr(s->path), s->users,
               s->users == 1 ? "" : "s", seal, s->encrypted ? ", encrypted" : "");
    }
    return 0;
}

/* A folder's snapshots, or one file. */
static int one_arg(const char *arg, const struct snapshots_opts *o, const struct snapshots_keys *k,
                   struct tally *t, size_t *other, struct err *e)
{
    struct snap_folder f;
    struct snap_entry s;
    struct stat st;
    int rc = -1;

    if (stat(arg, &st) < 0)
        return err_errno(e, ERR_IO, errno, "cannot open '%s'", arg);
    if (!S_ISDIR(st.st_mode)) {
        if (snapshots_probe(&s, arg, arg, &k->sk, k->trusted, NULL, e) == 0)
            rc = one(&s, o->json, k->trusted != NULL, t, e);
        snap_entry_release(&s);
        return rc;
    }
    if (snapshots_scan(&f, arg, &k->sk, k->trusted, NULL, e) < 0)
        goto out;
    *other += f.other_files;
    if (f.n == 0 && !o->json)
        printf("no snapshots in '%s'\n", snapshots_pr(arg));
    for (size_t i = 0; i < f.n; i++)
        if (one(&f.v[i], o->json, k->trusted != NULL, t, e) < 0)
            goto out;
    rc = 0;
out:
    snap_folder_release(&f);
    return rc;
}

int snapshots_verify(const struct snapshots_opts *o, const struct snapshots_keys *k, struct err *e)
{
    struct tally t;
    size_t other = 0, total;
    json_t *doc;
    int rc = -1;

    memset(&t, 0, sizeof(t));
    if (o->json && !(t.list = json_array()))
        return err_oom(e);
    for (size_t i = 0; i < o->n_args; i++)
        if (one_arg(o->args[i], o, k, &t, &other, e) < 0)
            goto out;
    total = t.ok + t.failed + t.locked;
    if (o->json) {
        /* {snapshots: [see snapshots_entry_json], counts {snapshots,
         *  verified, not_verified, not_checked}, other_files} */
        doc = json_pack("{s:O,s:{s:I,s:I,s:I,s:I},s:I}", "snapshots", t.list, "counts", "snapshots",
                        (json_int_t)total, "verified", (json_int_t)t.ok, "not_verified",
                        (json_int_t)t.failed, "not_checked", (json_int_t)t.locked, "other_files",
                        (json_int_t)other);
        if (!doc) {
            err_oom(e);
            goto out;
        }
        cli_print_json(doc);
    } else {
        printf("%zu verified, %zu failed, %zu not checked\n", t.ok, t.failed, t.locked);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        err_errno(e, ERR_IO, errno ? errno : EIO, "cannot write to standard output");
        goto out;
    }
    if (t.failed || t.locked) {
        err_set(e, t.worst, "%zu of %zu snapshot%s did not verify%s", t.failed + t.locked, total,
                total == 1 ? "" : "s",
                t.locked ? " (those not checked are encrypted: give --identity)" : "");
        goto out;
    }
    rc = 0;
out:
    json_decref(t.list);
    return rc;
}
