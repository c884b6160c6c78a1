/*
 * import_inspect.c - looking at snapshots without a tenant: --list,
 * --verify and --diff.
 *
 * Every mode verifies what it reads completely (the snapshot reader checks
 * as it streams and reports the end only for an intact file), and prints
 * its result only after that: a damaged file gives the reader's one-line
 * reason and ERR_SNAPSHOT (exit 3), never half a listing or half a diff.
 *
 * --list makes two passes: snapshot_verify() for the sizes and the seal
 * (the reader does not expose its byte counts), then one through the
 * reader for the table of contents; the second pass must find the same
 * sha256, so a file replaced in between is refused too.
 *
 * --diff is one streaming merge (common/snapdiff.h), so its memory does
 * not grow with the number of users: the human output keeps at most
 * DIFF_SHOW user ids per kind, and the --json user list is spooled to an
 * anonymous temp file and copied to stdout once both files proved intact.
 *
 * Results go to stdout; warnings go through log.h to stderr. Text taken
 * from a snapshot is passed through snapshot_printable() before it reaches
 * a terminal, so a hostile file cannot drive it with control bytes.
 */
#include "import.h"

#include "edsig.h"

#include "fsutil.h"
#include "log.h"
#include "snapdiff.h"
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIFF_SHOW     50  /* user ids listed per kind in the human --diff output */
#define LIST_SHOW     100 /* roles / organizations listed in the human --list output */
#define NAME_COL_MAX  40  /* widest name column in the --list tables */
#define FIELDS_SHOW   160 /* bytes of a changed user's field list in the human output */
#define PRINTABLE_LEN 96

/* --- small helpers ----------------------------------------------------- */

/* A printable copy of s (see snapshot_printable()), in one of a few
 * rotating static buffers: valid until the 8th next call. */
static const char *pr(const char *s)
{
    static char bufs[8][PRINTABLE_LEN];
    static int next;
    char *b = bufs[next++ % 8];

    snapshot_printable(b, PRINTABLE_LEN, s ? s : "", s ? strlen(s) : 0);
    return b;
}

static const char *pr_len(const char *s, size_t len)
{
    static char bufs[4][PRINTABLE_LEN];
    static int next;
    char *b = bufs[next++ % 4];

    snapshot_printable(b, PRINTABLE_LEN, s, len);
    return b;
}

/* header[k1][k2] (or header[k1] when k2 is NULL) as a string, else NULL. */
static const char *hstr(const json_t *h, const char *k1, const char *k2)
{
    const json_t *v = json_object_get(h, k1);

    if (k2)
        v = json_object_get(v, k2);
    return json_string_value(v);
}

/* A file name as a JSON string (a new reference, NULL when out of memory);
 * bytes of a name that is not UTF-8 become '?'. */
static json_t *path_json(const char *path)
{
    json_t *j = json_string(path);
    char *copy;

    if (j || !(copy = strdup(path)))
        return j;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static int flush_stdout(struct err *e)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return err_errno(e, ERR_IO, errno ? errno : EIO, "cannot write to standard output");
    return 0;
}

/* Adds 1 to obj[key] (an integer, created at 0). */
static int bump(json_t *obj, const char *key, struct err *e)
{
    json_t *n = json_object_get(obj, key);

    if (n ? json_integer_set(n, json_integer_value(n) + 1) < 0
          : json_object_set_new(obj, key, json_integer(1)) < 0)
        return err_oom(e);
    return 0;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted: *keys is the caller's (free() it; the strings
 * are borrowed from obj). */
static int sorted_keys(json_t *obj, const char ***keys, size_t *n, struct err *e)
{
    const char *k;
    json_t *v;
    size_t i = 0;

    *n = json_object_size(obj);
    *keys = calloc(*n ? *n : 1, sizeof(**keys));
    if (!*keys)
        return err_oom(e);
    json_object_foreach(obj, k, v)
    {
        (*keys)[i++] = k;
    }
    qsort(*keys, *n, sizeof(**keys), by_str);
    return 0;
}

static void human_size(char *out, size_t outsz, unsigned long long bytes)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, outsz, "%llu bytes", bytes);
    else
        snprintf(out, outsz, "%.1f %s", v, units[u]);
}

/* What a header says about privacy. */
struct privacy_facts {
    bool recorded; /* the header has a privacy object */
    bool applied;
    const char *policy_sha256; /* borrowed, may be NULL */
    const char *key_fingerprint;
};

static void privacy_facts(const json_t *h, struct privacy_facts *p)
{
    const json_t *pv = json_object_get(h, "privacy");

    p->recorded = json_is_object(pv);
    p->applied = json_is_true(json_object_get(pv, "applied"));
    p->policy_sha256 = json_string_value(json_object_get(pv, "policy_sha256"));
    p->key_fingerprint = json_string_value(json_object_get(pv, "key_fingerprint"));
}

/* Who signed and whether the file is encrypted, for --list and --verify:
 * {"signer": fingerprint or null, "trusted": bool or null (no
 * A0SNAP_TRUSTED_KEYS), "encrypted": bool}. */
static json_t *seal_json(const struct snapshot_summary *sum, const struct edsig_trusted *trusted)
{
    json_t *tr = !trusted ? json_null() : json_boolean(edsig_trusted_has(trusted, sum->signer));

    return json_pack("{s:s?,s:o,s:b}", "signer", sum->signer[0] ? sum->signer : NULL, "trusted", tr,
                     "encrypted", sum->encrypted);
}

/* The same in words: "signed by KEY (trusted)", "unsigned", "encrypted". */
static void seal_text(char *out, size_t outsz, const struct snapshot_summary *sum,
                      const struct edsig_trusted *trusted)
{
    const char *trust = !trusted                                  ? ""
                        : edsig_trusted_has(trusted, sum->signer) ? " (trusted)"
                                                                  : " (NOT among the trusted keys)";

    if (sum->signer[0])
        snprintf(out, outsz, "signed by key %s%s%s", sum->signer, trust,
                 sum->encrypted ? ", encrypted (age)" : "");
    else
        snprintf(out, outsz, "unsigned%s", sum->encrypted ? ", encrypted (age)" : "");
}

/* --- --verify ---------------------------------------------------------- */

int import_verify(const struct import_opts *o, struct err *e)
{
    struct snapshot_summary sum;
    json_t *j = NULL;
    int rc = -1;

    char seal[256];

    if (snapshot_verify_keys(o->snapshot, o->keys, &sum, e) < 0)
        return -1;
    /* With A0SNAP_TRUSTED_KEYS, "verifies" means "an import would take it". */
    if (import_check_signer(o, o->snapshot, sum.signer, e) < 0)
        goto out;
    if (o->json) {
        /* {"file","ok","snapshot_id","users","connections","sha256","bytes","gzip_bytes",
         *  "signer","trusted","encrypted"} */
        j = json_pack("{s:o,s:b,s:s,s:I,s:O,s:s,s:I,s:I}", "file", path_json(o->snapshot), "ok", 1,
                      "snapshot_id", sum.snapshot_id, "users", (json_int_t)sum.users, "connections",
                      sum.connections, "sha256", sum.sha256, "bytes", (json_int_t)sum.bytes,
                      "gzip_bytes", (json_int_t)sum.gzip_bytes);
        if (!j || json_object_update_new(j, seal_json(&sum, o->trusted)) < 0) {
            err_oom(e);
            goto out;
        }
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
    } else {
        seal_text(seal, sizeof(seal), &sum, o->trusted);
        printf("'%s': ok, %llu user%s, sha256 %s, %s\n", o->snapshot, sum.users,
               sum.users == 1 ? "" : "s", sum.sha256, seal);
    }
    rc = flush_stdout(e);
out:
    json_decref(j);
    snapshot_summary_release(&sum);
    return rc;
}

/* --- --list ------------------------------------------------------------ */

/* The table of contents, counted in one pass. */
struct toc {
    unsigned long long users, blocked, with_roles, with_members;
    json_t *conns; /* {"<connection>": {"users","blocked","with_roles","with_memberships"}} */
    json_t *roles; /* {"<role name>": users} */
    json_t *orgs;  /* {"<organization name>": members} */
};

static bool user_blocked(const json_t *u)
{
    const json_t *b = json_object_get(u, "blocked");

    /* Old profiles may hold the string. */
    return json_is_true(b) || (json_is_string(b) && strcmp(json_string_value(b), "true") == 0);
}

/* A grant's display name: its name, else its id. */
static const char *grant_name(const json_t *g)
{
    const char *s = json_string_value(json_object_get(g, "name"));

    if (!s)
        s = json_string_value(json_object_get(g, "id"));
    return s ? s : "(unnamed)";
}

/* Starts every catalogue role/organization at 0 so unused ones show. */
static int toc_seed(json_t *counts, const json_t *list, struct err *e)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(list, i), "name"));
        if (name && !json_object_get(counts, name) &&
            json_object_set_new(counts, name, json_integer(0)) < 0)
            return err_oom(e);
    }
    return 0;
}

static int toc_grants(json_t *counts, const json_t *list, struct err *e)
{
    for (size_t i = 0; i < json_array_size(list); i++)
        if (bump(counts, grant_name(json_array_get(list, i)), e) < 0)
            return -1;
    return 0;
}

static int toc_add(struct toc *t, const json_t *u, struct err *e)
{
    const char *conn = snapshot_user_connection(u);
    const json_t *roles = json_object_get(u, "roles"), *orgs = json_object_get(u, "organizations");
    json_t *c = json_object_get(t->conns, conn);
    bool blocked = user_blocked(u), has_roles = json_array_size(roles) > 0,
         has_orgs = json_array_size(orgs) > 0;

    if (!c) {
        c = json_pack("{s:i,s:i,s:i,s:i}", "users", 0, "blocked", 0, "with_roles", 0,
                      "with_memberships", 0);
        if (!c || json_object_set_new(t->conns, conn, c) < 0)
            return err_oom(e);
    }
    t->users++;
    if (bump(c, "users", e) < 0)
        return -1;
    if (blocked) {
        t->blocked++;
        if (bump(c, "blocked", e) < 0)
            return -1;
    }
    if (has_roles) {
        t->with_roles++;
        if (bump(c, "with_roles", e) < 0 || toc_grants(t->roles, roles, e) < 0)
            return -1;
    }
    if (has_orgs) {
        t->with_members++;
        if (bump(c, "with_memberships", e) < 0 || toc_grants(t->orgs, orgs, e) < 0)
            return -1;
    }
    return 0;
}

/* The second pass: counts everything the listing shows; the file must seal
 * to the sha256 the first pass found. */
static int toc_read(const char *path, const struct snapshot_keys *keys,
                    const struct snapshot_summary *sum, struct toc *t, struct err *e)
{
    struct snapshot_reader *r = NULL;
    const json_t *cat;
    json_t *u = NULL;
    const char *sha;
    int rc = -1, n;

    if (snapshot_reader_open_keys(&r, path, keys, e) < 0)
        return -1;
    cat = json_object_get(snapshot_reader_header(r), "catalogue");
    if (toc_seed(t->roles, json_object_get(cat, "roles"), e) < 0 ||
        toc_seed(t->orgs, json_object_get(cat, "organizations"), e) < 0)
        goto out;
    while ((n = snapshot_reader_next(r, &u, e)) == 1) {
        int fail = toc_add(t, u, e);
        json_decref(u);
        if (fail < 0)
            goto out;
    }
    if (n < 0)
        goto out;
    sha = json_string_value(json_object_get(snapshot_reader_trailer(r), "sha256"));
    if (!sha || strcmp(sha, sum->sha256) != 0 || strcmp(snapshot_reader_id(r), sum->snapshot_id)) {
        err_set(e, ERR_SNAPSHOT, "snapshot '%s' changed while it was being read", path);
        goto out;
    }
    rc = 0;
out:
    snapshot_reader_free(r);
    return rc;
}

/*
 * The --list --json object (keys are stable; absent facts are null):
 *   file, snapshot_id, created_at, format, format_version,
 *   tool {name, version}, source_domain,
 *   privacy {recorded, applied, policy_sha256, key_fingerprint},
 *   request (the header's request object, as recorded),
 *   users, blocked, with_roles, with_memberships,
 *   connections {"<name>": {users, blocked, with_roles, with_memberships}},
 *   roles {"<role name>": users}, organizations {"<org name>": members}
 *     (catalogue entries without users show 0),
 *   gzip_bytes (the file), bytes (decompressed), sha256 (verified seal).
 */
static int list_json(const char *path, const struct snapshot_summary *sum,
                     const struct privacy_facts *pf, const struct toc *t,
                     const struct edsig_trusted *trusted, struct err *e)
{
    const json_t *h = sum->header, *tool = json_object_get(h, "tool"),
                 *req = json_object_get(h, "request");
    json_t *j;

    j = json_pack(
        "{s:o,s:s,s:s?,s:s?,s:O?,s:O?,s:s?,s:{s:b,s:b,s:s?,s:s?},s:O?,s:I,s:I,s:I,s:I,s:O,s:O,s:O,"
        "s:I,s:I,s:s}",
        "file", path_json(path), "snapshot_id", sum->snapshot_id, "created_at",
        hstr(h, "created_at", NULL), "format", hstr(h, "format", NULL), "format_version",
        (json_t *)json_object_get(h, "format_version"), "tool",
        json_is_object(tool) ? (json_t *)tool : NULL, "source_domain", hstr(h, "source", "domain"),
        "privacy", "recorded", pf->recorded, "applied", pf->applied, "policy_sha256",
        pf->policy_sha256, "key_fingerprint", pf->key_fingerprint, "request",
        json_is_object(req) ? (json_t *)req : NULL, "users", (json_int_t)t->users, "blocked",
        (json_int_t)t->blocked, "with_roles", (json_int_t)t->with_roles, "with_memberships",
        (json_int_t)t->with_members, "connections", t->conns, "roles", t->roles, "organizations",
        t->orgs, "gzip_bytes", (json_int_t)sum->gzip_bytes, "bytes", (json_int_t)sum->bytes,
        "sha256", sum->sha256);
    if (!j || json_object_update_new(j, seal_json(sum, trusted)) < 0) {
        json_decref(j);
        return err_oom(e);
    }
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(j);
    return 0;
}

/* "a, b, c and 3 more" from an array of strings. */
static void join_names(char *out, size_t outsz, const json_t *arr)
{
    size_t n = json_array_size(arr), i, len;

    out[0] = '\0';
    for (i = 0; i < n && i < 8; i++) {
        len = strlen(out);
        snprintf(out + len, outsz - len, "%s%s", i ? ", " : "",
                 pr(json_string_value(json_array_get(arr, i))));
    }
    if (i < n) {
        len = strlen(out);
        snprintf(out + len, outsz - len, " and %zu more", n - i);
    }
}

static void list_request(const json_t *req)
{
    const json_t *conns = json_object_get(req, "connections");
    const json_t *emails_count = json_object_get(req, "emails_count");
    size_t users = json_array_size(json_object_get(req, "users"));
    size_t emails = json_is_integer(emails_count) ? (size_t)json_integer_value(emails_count)
                                                  : json_array_size(json_object_get(req, "emails"));
    bool query = json_is_string(json_object_get(req, "query"));
    char names[1024];

    if (!json_is_object(req)) {
        printf("request        (not recorded)\n");
        return;
    }
    if (json_array_size(conns)) {
        join_names(names, sizeof(names), conns);
        printf("request        connections: %s\n", names);
    } else {
        printf("request        connections: all\n");
    }
    if (json_is_true(json_object_get(req, "subset")) || users || emails || query)
        printf("               subset: %zu user id%s, %zu email%s%s\n", users,
               users == 1 ? "" : "s", emails, emails == 1 ? "" : "s", query ? ", a query" : "");
    else
        printf("               subset: none (every user of those connections)\n");
}

/* Terminal columns of a printable UTF-8 string (one per character; wide
 * characters are rare in names and only cost the alignment). */
static int display_len(const char *s)
{
    int n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* The name column's width: the widest printable name, at most
 * NAME_COL_MAX (longer names push their row to the right). */
static int name_width(const char *const *keys, size_t n, const char *heading)
{
    int w = display_len(heading), l;

    for (size_t i = 0; i < n; i++) {
        l = display_len(pr(keys[i]));
        if (l > w)
            w = l;
    }
    return w > NAME_COL_MAX ? NAME_COL_MAX : w;
}

/* Prints a printable name padded to w columns. */
static void put_name(const char *printable, int w)
{
    int pad = w - display_len(printable);

    fputs(printable, stdout);
    if (pad > 0)
        printf("%*s", pad, "");
}

/* A two-column table "name  count" of obj, sorted by name, at most
 * LIST_SHOW rows. */
static int list_counts(const char *title, const char *count_title, json_t *obj, struct err *e)
{
    const char **keys = NULL;
    size_t n, i;
    int w;

    if (sorted_keys(obj, &keys, &n, e) < 0)
        return -1;
    printf("\n");
    if (n == 0) {
        printf("%ss: none\n", title);
        free(keys);
        return 0;
    }
    w = name_width(keys, n < LIST_SHOW ? n : LIST_SHOW, title);
    printf("%-*s  %10s\n", w, title, count_title);
    for (i = 0; i < n && i < LIST_SHOW; i++) {
        put_name(pr(keys[i]), w);
        printf("  %10" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(obj, keys[i])));
    }
    if (i < n)
        printf("... and %zu more %ss (--json lists them all)\n", n - i, title);
    free(keys);
    return 0;
}

static int list_human(const char *path, const struct snapshot_summary *sum,
                      const struct privacy_facts *pf, const struct toc *t,
                      const struct edsig_trusted *trusted, struct err *e)
{
    char seal[256];
    const json_t *h = sum->header;
    const char *tool = hstr(h, "tool", "name"), *tver = hstr(h, "tool", "version");
    const char **keys = NULL;
    char gz[32], raw[32];
    size_t n;
    int w;

    printf("snapshot       '%s'\n", path);
    printf("id             %s\n", sum->snapshot_id);
    printf("source         %s\n",
           hstr(h, "source", "domain") ? pr(hstr(h, "source", "domain")) : "(not recorded)");
    printf("created at     %s\n", pr(hstr(h, "created_at", NULL)));
    printf("written by     %s%s%s\n", tool ? pr(tool) : "(not recorded)", tver ? " " : "",
           tver ? pr(tver) : "");
    printf("format         %s, version %" JSON_INTEGER_FORMAT "\n", pr(hstr(h, "format", NULL)),
           json_integer_value(json_object_get(h, "format_version")));
    if (pf->applied) {
        printf("privacy        applied: policy sha256 %s\n",
               pf->policy_sha256 ? pr(pf->policy_sha256) : "(not recorded)");
        printf("               pseudonym key fingerprint %s\n",
               pf->key_fingerprint ? pr(pf->key_fingerprint) : "none (no pseudonymised field)");
    } else {
        printf("privacy        *** RAW PERSONAL DATA: %s ***\n",
               pf->recorded ? "no privacy policy was applied"
                            : "the header does not record a privacy policy");
    }
    list_request(json_object_get(h, "request"));
    printf("users          %llu (%llu blocked, %llu with roles, %llu with memberships)\n", t->users,
           t->blocked, t->with_roles, t->with_members);
    human_size(gz, sizeof(gz), sum->gzip_bytes);
    human_size(raw, sizeof(raw), sum->bytes);
    printf("size           %s compressed, %s decompressed (%llu / %llu bytes)\n", gz, raw,
           sum->gzip_bytes, sum->bytes);
    printf("sha256         %s (verified)\n", sum->sha256);
    seal_text(seal, sizeof(seal), sum, trusted);
    printf("seal           %s\n", seal);

    if (sorted_keys(t->conns, &keys, &n, e) < 0)
        return -1;
    printf("\n");
    if (n == 0) {
        printf("connections: none (the snapshot holds no user)\n");
    } else {
        w = name_width(keys, n, "connection");
        printf("%-*s  %10s  %10s  %10s  %12s\n", w, "connection", "users", "blocked", "with roles",
               "memberships");
        for (size_t i = 0; i < n; i++) {
            const json_t *c = json_object_get(t->conns, keys[i]);
            put_name(keys[i][0] ? pr(keys[i]) : "(none)", w);
            printf("  %10" JSON_INTEGER_FORMAT "  %10" JSON_INTEGER_FORMAT
                   "  %10" JSON_INTEGER_FORMAT "  %12" JSON_INTEGER_FORMAT "\n",
                   json_integer_value(json_object_get(c, "users")),
                   json_integer_value(json_object_get(c, "blocked")),
                   json_integer_value(json_object_get(c, "with_roles")),
                   json_integer_value(json_object_get(c, "with_memberships")));
        }
    }
    free(keys);
    if (list_counts("role", "users", t->roles, e) < 0 ||
        list_counts("organization", "members", t->orgs, e) < 0)
        return -1;
    return 0;
}

int import_list(const struct import_opts *o, struct err *e)
{
    struct snapshot_summary sum;
    struct privacy_facts pf;
    struct toc t;
    int rc = -1;

    memset(&t, 0, sizeof(t));
    if (snapshot_verify_keys(o->snapshot, o->keys, &sum, e) < 0)
        return -1;
    t.conns = json_object();
    t.roles = json_object();
    t.orgs = json_object();
    if (!t.conns || !t.roles || !t.orgs) {
        err_oom(e);
        goto out;
    }
    if (toc_read(o->snapshot, o->keys, &sum, &t, e) < 0)
        goto out;
    privacy_facts(sum.header, &pf);
    if (!pf.applied)
        log_warn("snapshot '%s' holds RAW PERSONAL DATA (%s)", o->snapshot,
                 pf.recorded ? "no privacy policy was applied"
                             : "its header does not record a privacy policy");
    if ((o->json ? list_json(o->snapshot, &sum, &pf, &t, o->trusted, e)
                 : list_human(o->snapshot, &sum, &pf, &t, o->trusted, e)) < 0)
        goto out;
    rc = flush_stdout(e);
out:
    json_decref(t.conns);
    json_decref(t.roles);
    json_decref(t.orgs);
    snapshot_summary_release(&sum);
    return rc;
}

/* --- --diff ------------------------------------------------------------ */

/* The users of one kind the human output lists: at most DIFF_SHOW. */
struct shown {
    char *lines[DIFF_SHOW];
    size_t n;
};

struct diff_out {
    bool json;
    FILE *spool; /* --json: the "users" entries, one per line */
    unsigned long long spooled;
    struct shown shown[3]; /* by SNAPDIFF_ADDED, _REMOVED, _CHANGED */
};

static int spool_user(struct diff_out *d, const struct snapdiff_item *it, struct err *e)
{
    json_t *j = json_pack("{s:s%,s:s,s:O}", "user_id", it->user_id, it->user_id_len, "change",
                          snapdiff_kind_name(it->kind), "fields", (json_t *)it->fields);
    int rc = 0;

    if (!j)
        return err_oom(e);
    if ((d->spooled && fputs(",\n", d->spool) == EOF) || fputs("    ", d->spool) == EOF ||
        json_dumpf(j, d->spool, JSON_COMPACT) < 0)
        rc = err_errno(e, ERR_IO, errno ? errno : EIO, "cannot write a temp file");
    d->spooled++;
    json_decref(j);
    return rc;
}

static int show_user(struct shown *s, const struct snapdiff_item *it, struct err *e)
{
    char line[PRINTABLE_LEN + FIELDS_SHOW + 8];
    size_t len;

    if (s->n >= DIFF_SHOW)
        return 0;
    snprintf(line, sizeof(line), "%s", pr_len(it->user_id, it->user_id_len));
    for (size_t i = 0; i < json_array_size(it->fields); i++) {
        len = strlen(line);
        snprintf(line + len, sizeof(line) - len, "%s%s", i ? ", " : ": ",
                 pr(json_string_value(json_array_get(it->fields, i))));
    }
    s->lines[s->n] = strdup(line);
    if (!s->lines[s->n])
        return err_oom(e);
    s->n++;
    return 0;
}

static int on_difference(void *ctx, const struct snapdiff_item *it, struct err *e)
{
    struct diff_out *d = ctx;

    if (it->kind == SNAPDIFF_ACTIVITY)
        return 0; /* counted, not listed */
    if (d->json)
        return spool_user(d, it, e);
    return show_user(&d->shown[it->kind], it, e);
}

static void diff_out_release(struct diff_out *d)
{
    if (d->spool)
        fclose(d->spool);
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < d->shown[k].n; i++)
            free(d->shown[k].lines[i]);
    memset(d, 0, sizeof(*d));
}

/* Warnings about comparing snapshots that cannot compare cleanly. */
static void diff_warnings(const json_t *ho, const json_t *hn)
{
    const char *so = hstr(ho, "source", "domain"), *sn = hstr(hn, "source", "domain");
    struct privacy_facts po, pn;

    if (so && sn && strcmp(so, sn) != 0)
        log_warn("the snapshots come from different tenants ('%s' and '%s')", pr(so), pr(sn));
    privacy_facts(ho, &po);
    privacy_facts(hn, &pn);
    if (po.applied != pn.applied) {
        log_warn("one snapshot is anonymised and the other holds raw personal data: every "
                 "anonymised field will differ");
        return;
    }
    if (!po.applied)
        return;
    if ((po.key_fingerprint || pn.key_fingerprint) &&
        (!po.key_fingerprint || !pn.key_fingerprint ||
         strcmp(po.key_fingerprint, pn.key_fingerprint) != 0))
        log_warn("the snapshots used different pseudonym keys ('%s' and '%s'): every "
                 "pseudonymised field will differ",
                 po.key_fingerprint ? pr(po.key_fingerprint) : "none",
                 pn.key_fingerprint ? pr(pn.key_fingerprint) : "none");
    if (po.policy_sha256 && pn.policy_sha256 && strcmp(po.policy_sha256, pn.policy_sha256) != 0)
        log_warn("the snapshots used different privacy policies: fields the policies treat "
                 "differently will differ");
}

static json_t *side_json(const char *path, struct snapshot_reader *r, unsigned long long users)
{
    const json_t *h = snapshot_reader_header(r);

    return json_pack("{s:o,s:s,s:s?,s:s?,s:I}", "file", path_json(path), "id",
                     snapshot_reader_id(r), "created_at", hstr(h, "created_at", NULL), "source",
                     hstr(h, "source", "domain"), "users", (json_int_t)users);
}

static int copy_spool(FILE *spool, struct err *e)
{
    char chunk[65536];
    size_t n;

    if (fflush(spool) != 0 || ferror(spool))
        return err_errno(e, ERR_IO, errno ? errno : EIO, "cannot write a temp file");
    rewind(spool);
    while ((n = fread(chunk, 1, sizeof(chunk), spool)) > 0)
        if (fwrite(chunk, 1, n, stdout) != n)
            return err_errno(e, ERR_IO, errno ? errno : EIO, "cannot write to standard output");
    if (ferror(spool))
        return err_errno(e, ERR_IO, errno ? errno : EIO, "cannot read a temp file");
    return 0;
}

/* Prints `  "key": value,` with value in compact JSON (sorted keys). */
static int put_member(const char *key, const json_t *value, struct err *e)
{
    char *s = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

    if (!s)
        return err_oom(e);
    printf("  \"%s\": %s,\n", key, s);
    free(s);
    return 0;
}

/*
 * The --diff --json object, keys in this order:
 *   old, new: {file, id, created_at, source, users}
 *   added, removed, changed, activity_only, unchanged: user counts
 *   ignored_fields: the activity keys left out of the comparison
 *   fields: {"<top-level key>": changed users whose key differs}
 *   users: [{user_id, change: added|removed|changed, fields: [...]}], one
 *     per line, in user_id order (activity-only users are only counted)
 */
static int diff_json(struct diff_out *d, json_t *old_side, json_t *new_side,
                     const struct snapdiff_stats *st, struct err *e)
{
    json_t *ignored = json_array();
    json_t *counts[5];
    static const char *const names[5] = {"added", "removed", "changed", "activity_only",
                                         "unchanged"};
    const unsigned long long vals[5] = {st->added, st->removed, st->changed, st->activity_only,
                                        st->unchanged};
    int rc = -1, i;

    memset(counts, 0, sizeof(counts));
    for (const char *const *k = snapdiff_activity_keys; *k && ignored; k++)
        if (json_array_append_new(ignored, json_string(*k)) < 0) {
            json_decref(ignored);
            ignored = NULL;
        }
    for (i = 0; i < 5; i++)
        if (!(counts[i] = json_integer((json_int_t)vals[i])))
            break;
    if (!ignored || i < 5) {
        err_oom(e);
        goto out;
    }
    printf("{\n");
    if (put_member("old", old_side, e) < 0 || put_member("new", new_side, e) < 0)
        goto out;
    for (i = 0; i < 5; i++)
        if (put_member(names[i], counts[i], e) < 0)
            goto out;
    if (put_member("ignored_fields", ignored, e) < 0 || put_member("fields", st->fields, e) < 0)
        goto out;
    printf("  \"users\": [\n");
    if (copy_spool(d->spool, e) < 0)
        goto out;
    printf("%s  ]\n}\n", d->spooled ? "\n" : "");
    rc = 0;
out:
    for (i = 0; i < 5; i++)
        json_decref(counts[i]);
    json_decref(ignored);
    return rc;
}

static void diff_side_human(const char *label, const char *path, struct snapshot_reader *r,
                            unsigned long long users)
{
    const json_t *h = snapshot_reader_header(r);
    const char *src = hstr(h, "source", "domain");

    printf("%s  '%s': snapshot %s of %s, created %s, %llu user%s\n", label, path,
           snapshot_reader_id(r), src ? pr(src) : "(unknown tenant)",
           pr(hstr(h, "created_at", NULL)), users, users == 1 ? "" : "s");
}

static int diff_human(struct diff_out *d, const struct import_opts *o, struct snapshot_reader *ro,
                      struct snapshot_reader *rn, const struct snapdiff_stats *st, struct err *e)
{
    static const char *const kinds[3] = {"added", "removed", "changed"};
    const unsigned long long n[3] = {st->added, st->removed, st->changed};
    const char **keys = NULL;
    size_t nk, i;
    int w;

    diff_side_human("old", o->snapshot, ro, st->old_users);
    diff_side_human("new", o->snapshot2, rn, st->new_users);
    printf("\n");
    printf("added          %llu\n", st->added);
    printf("removed        %llu\n", st->removed);
    printf("changed        %llu\n", st->changed);
    printf("activity only  %llu (only ", st->activity_only);
    for (const char *const *k = snapdiff_activity_keys; *k; k++)
        printf("%s%s", *k, !k[1] ? "" : !k[2] ? " or " : ", ");
    printf(" differ: these change on every login and are not compared)\n");
    printf("unchanged      %llu\n", st->unchanged);
    if (sorted_keys(st->fields, &keys, &nk, e) < 0)
        return -1;
    if (nk) {
        w = name_width(keys, nk, "changed field");
        printf("\n%-*s  %10s\n", w, "changed field", "users");
        for (i = 0; i < nk; i++) {
            put_name(pr(keys[i]), w);
            printf("  %10" JSON_INTEGER_FORMAT "\n",
                   json_integer_value(json_object_get(st->fields, keys[i])));
        }
    }
    free(keys);
    for (int k = 0; k < 3; k++) {
        if (!n[k])
            continue;
        if (n[k] > DIFF_SHOW) {
            printf("\n%s (%llu): more than %d, not listed (--json lists every user)\n", kinds[k],
                   n[k], DIFF_SHOW);
            continue;
        }
        printf("\n%s (%llu):\n", kinds[k], n[k]);
        for (i = 0; i < d->shown[k].n; i++)
            printf("  %s\n", d->shown[k].lines[i]);
    }
    return 0;
}

int import_diff(const struct import_opts *o, struct err *e)
{
    struct snapshot_reader *ro = NULL, *rn = NULL;
    struct snapdiff_stats st;
    struct diff_out d;
    json_t *old_side = NULL, *new_side = NULL;
    const char *tmp = getenv("TMPDIR");
    int fd = -1, rc = -1;

    memset(&d, 0, sizeof(d));
    snapdiff_stats_init(&st);
    d.json = o->json;
    if (snapshot_reader_open_keys(&ro, o->snapshot, o->keys, e) < 0 ||
        snapshot_reader_open_keys(&rn, o->snapshot2, o->keys, e) < 0)
        goto out;
    diff_warnings(snapshot_reader_header(ro), snapshot_reader_header(rn));
    if (d.json) {
        if (fsutil_anon_tmpfile(&fd, tmp && *tmp ? tmp : "/tmp", e) < 0)
            goto out;
        d.spool = fdopen(fd, "w+");
        if (!d.spool) {
            err_errno(e, ERR_IO, errno, "cannot open a temp file");
            close(fd);
            goto out;
        }
    }
    if (snapdiff_readers(ro, rn, NULL, on_difference, &d, &st, e) < 0)
        goto out;
    if (d.json) {
        old_side = side_json(o->snapshot, ro, st.old_users);
        new_side = side_json(o->snapshot2, rn, st.new_users);
        if (!old_side || !new_side) {
            err_oom(e);
            goto out;
        }
        if (diff_json(&d, old_side, new_side, &st, e) < 0)
            goto out;
    } else if (diff_human(&d, o, ro, rn, &st, e) < 0) {
        goto out;
    }
    rc = flush_stdout(e);
out:
    json_decref(old_side);
    json_decref(new_side);
    diff_out_release(&d);
    snapdiff_stats_release(&st);
    snapshot_reader_free(ro);
    snapshot_reader_free(rn);
    return rc;
}
