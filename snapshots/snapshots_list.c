/*
 * snapshots_list.c - `a0snap-snapshots list DIR`: one line per snapshot of
 * the folder, after a full verification of each, then the counts.
 *
 * The table is printed only once every file was read, so its columns can
 * be as wide as their widest value; text taken from a file goes through
 * snapshots_pr() first. A file that does not verify is a line of the
 * listing, not a failure of the command: list exits 0 whenever it could
 * read the folder (verify is the command whose exit code says whether
 * everything verifies).
 */
#include "snapshots.h"

#include "cli_main.h"
#include "edsig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "yes", "NO: <why>" or "not checked: ..." (the verified column). */
static void verified_text(const struct snap_entry *s, char *out, size_t outsz)
{
    if (s->locked)
        snprintf(out, outsz, "not checked: no identity");
    else if (!s->intact || !s->trusted)
        snprintf(out, outsz, "NO: %s", snapshots_reason(s));
    else
        snprintf(out, outsz, "yes");
}

static const char *or_unknown(const char *s)
{
    return s ? snapshots_pr(s) : "?";
}

/* The columns of one line. */
struct row {
    const char *cell[7];
    char users[24], signer[SNAPSHOTS_SIGNER_LEN + 4];
};

static void make_row(const struct snap_entry *s, struct row *r)
{
    if (s->intact)
        snprintf(r->users, sizeof(r->users), "%llu", s->users);
    else
        snprintf(r->users, sizeof(r->users), "?");
    if (s->intact)
        snprintf(r->signer, sizeof(r->signer), "%.*s", SNAPSHOTS_SIGNER_LEN,
                 s->signer[0] ? s->signer : "-");
    else
        snprintf(r->signer, sizeof(r->signer), "?");
    r->cell[0] = s->name;
    r->cell[1] = or_unknown(snap_source(s));
    r->cell[2] = or_unknown(snap_created(s));
    r->cell[3] = r->users;
    r->cell[4] = snap_privacy(s) ? snap_privacy(s) : "?";
    r->cell[5] = s->encrypted ? "yes" : "no";
    r->cell[6] = r->signer;
}

static void list_human(const struct snap_folder *f)
{
    static const char *const titles[7] = {"FILE",    "SOURCE",    "CREATED", "USERS",
                                          "PRIVACY", "ENCRYPTED", "SIGNER"};
    size_t w[7], i, c, ok = 0, bad = 0, locked = 0;
    char verified[ERR_MSG_MAX + 8];
    struct row r;

    for (c = 0; c < 7; c++)
        w[c] = strlen(titles[c]);
    for (i = 0; i < f->n; i++) {
        make_row(&f->v[i], &r);
        for (c = 0; c < 7; c++)
            if (strlen(r.cell[c]) > w[c])
                w[c] = strlen(r.cell[c]);
    }
    for (c = 0; c < 7; c++)
        printf("%-*s  ", (int)w[c], titles[c]);
    printf("VERIFIED\n");
    for (i = 0; i < f->n; i++) {
        const struct snap_entry *s = &f->v[i];
        make_row(s, &r);
        verified_text(s, verified, sizeof(verified));
        for (c = 0; c < 7; c++)
            printf("%-*s  ", (int)w[c], c == 0 ? snapshots_pr(r.cell[0]) : r.cell[c]);
        printf("%s\n", verified);
        if (s->locked)
            locked++;
        else if (s->intact && s->trusted)
            ok++;
        else
            bad++;
    }
    printf("\n%zu snapshot%s in '%s': %zu verified, %zu do%s not verify, %zu not checked "
           "(encrypted, no identity); %zu other file%s ignored\n",
           f->n, f->n == 1 ? "" : "s", f->dir, ok, bad, bad == 1 ? "es" : "", locked,
           f->other_files, f->other_files == 1 ? "" : "s");
}

/* The --json document: {folder, other_files (files not named like
 * snapshots: not looked at), counts {snapshots, verified, not_verified,
 * not_checked}, snapshots: [one per file, see snapshots_entry_json]}. */
static int list_json(const struct snap_folder *f, bool have_trusted, struct err *e)
{
    json_t *list = json_array(), *doc;
    size_t ok = 0, bad = 0, locked = 0;

    for (size_t i = 0; list && i < f->n; i++) {
        const struct snap_entry *s = &f->v[i];
        if (json_array_append_new(list, snapshots_entry_json(s, have_trusted)) < 0) {
            json_decref(list);
            list = NULL;
        }
        if (s->locked)
            locked++;
        else if (s->intact && s->trusted)
            ok++;
        else
            bad++;
    }
    doc = json_pack("{s:o,s:o,s:I,s:{s:I,s:I,s:I,s:I}}", "folder", snapshots_jstr(f->dir),
                    "snapshots", list, "other_files", (json_int_t)f->other_files, "counts",
                    "snapshots", (json_int_t)f->n, "verified", (json_int_t)ok, "not_verified",
                    (json_int_t)bad, "not_checked", (json_int_t)locked);
    if (!doc)
        return err_oom(e);
    cli_print_json(doc);
    return 0;
}

int snapshots_list(const struct snapshots_opts *o, const struct snapshots_keys *k, struct err *e)
{
    struct snap_folder f;
    int rc = -1;

    if (snapshots_scan(&f, o->args[0], &k->sk, k->trusted, NULL, e) < 0)
        goto out;
    if (o->json) {
        if (list_json(&f, k->trusted != NULL, e) < 0)
            goto out;
    } else {
        list_human(&f);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        err_errno(e, ERR_IO, errno ? errno : EIO, "cannot write to standard output");
        goto out;
    }
    rc = 0;
out:
    snap_folder_release(&f);
    return rc;
}
