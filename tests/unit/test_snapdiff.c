/*
 * Unit tests for the streaming snapshot diff (snapdiff.c).
 *
 * Most cases run on real snapshots written with the snapshot writer into a
 * temp folder and read back with the reader (so the diff sees exactly what
 * a0snap-import --diff sees); the ordering and user_id rules are also
 * driven through plain array iterators, which can produce input a reader
 * would refuse.
 */
#include "err.h"
#include "harness.h"
#include "snapdiff.h"
#include "snapshot.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];
static int path_seq;

static const char *tpath(const char *name)
{
    static char paths[8][256];
    char *p = paths[path_seq % 8];

    snprintf(p, 256, "%s/%d-%s", tmpdir, path_seq++, name);
    return p;
}

static void rm_tree(const char *dir)
{
    char p[512];
    struct dirent *d;
    DIR *dh = opendir(dir);

    if (!dh)
        return;
    while ((d = readdir(dh)) != NULL) {
        if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
        unlink(p);
    }
    closedir(dh);
    rmdir(dir);
}

/* Writes the users of arr (already sorted) as a snapshot at path. */
static int write_snapshot(const char *path, const json_t *arr)
{
    struct snapshot_writer *w = NULL;
    json_t *h = json_pack("{s:{s:s}}", "source", "domain", "dev.example.auth0.com");
    struct err e;
    size_t i;

    err_clear(&e);
    if (snapshot_writer_open(&w, path, h, false, &e) < 0)
        goto fail;
    for (i = 0; i < json_array_size(arr); i++)
        if (snapshot_writer_append(w, json_array_get(arr, i), &e) < 0) {
            snapshot_writer_abort(w);
            goto fail;
        }
    json_decref(h);
    if (snapshot_writer_commit(w, &e) < 0) {
        fprintf(stderr, "commit: %s\n", e.msg);
        return -1;
    }
    return 0;
fail:
    fprintf(stderr, "write: %s\n", e.msg);
    json_decref(h);
    return -1;
}

static json_t *user(const char *id, const char *email)
{
    return json_pack("{s:s,s:s,s:b,s:[{s:s,s:s}],s:s,s:i,s:s,s:{s:s}}", "user_id", id, "email",
                     email, "email_verified", 1, "identities", "connection",
                     "Username-Password-Authentication", "provider", "auth0", "last_login",
                     "2026-01-01T00:00:00Z", "logins_count", 3, "updated_at",
                     "2026-01-01T00:00:00Z", "user_metadata", "lang", "en");
}

/* What the callback saw, as "kind user_id field,field;" per item. */
struct seen {
    char text[4096];
    int calls;
    int fail_at; /* return -1 on this call (1-based); 0 = never */
};

static int record(void *ctx, const struct snapdiff_item *it, struct err *e)
{
    struct seen *s = ctx;
    size_t len = strlen(s->text);

    s->calls++;
    if (s->fail_at && s->calls == s->fail_at)
        return err_set(e, ERR_IO, "stop here");
    snprintf(s->text + len, sizeof(s->text) - len, "%s %.*s", snapdiff_kind_name(it->kind),
             (int)it->user_id_len, it->user_id);
    for (size_t i = 0; i < json_array_size(it->fields); i++) {
        len = strlen(s->text);
        snprintf(s->text + len, sizeof(s->text) - len, "%s%s", i ? "," : " ",
                 json_string_value(json_array_get(it->fields, i)));
    }
    len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, ";");
    /* The users handed over match the kind. */
    if ((it->kind == SNAPDIFF_ADDED) != (it->old_user == NULL) ||
        (it->kind == SNAPDIFF_REMOVED) != (it->new_user == NULL))
        return err_set(e, ERR_INTERNAL, "wrong users for '%s'", snapdiff_kind_name(it->kind));
    return 0;
}

/* Diffs two snapshot files. */
static int diff_files(const char *a, const char *b, const struct snapdiff_opts *opts,
                      struct seen *seen, struct snapdiff_stats *st, struct err *e)
{
    struct snapshot_reader *ra = NULL, *rb = NULL;
    int rc = -1;

    snapdiff_stats_init(st);
    if (snapshot_reader_open(&ra, a, e) < 0 || snapshot_reader_open(&rb, b, e) < 0)
        goto out;
    rc = snapdiff_readers(ra, rb, opts, seen ? record : NULL, seen, st, e);
out:
    snapshot_reader_free(ra);
    snapshot_reader_free(rb);
    return rc;
}

static long long field_count(const struct snapdiff_stats *st, const char *key)
{
    json_t *v = json_object_get(st->fields, key);
    return v ? (long long)json_integer_value(v) : 0;
}

static void test_identical(void)
{
    const char *a = tpath("a.ndjson.gz");
    json_t *arr = json_array();
    struct snapdiff_stats st;
    struct seen seen = {"", 0, 0};
    struct err e;
    char id[32];

    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "auth0|%04d", i);
        json_array_append_new(arr, user(id, "x@example.com"));
    }
    CHECK_INT(write_snapshot(a, arr), 0);
    err_clear(&e);
    CHECK_INT(diff_files(a, a, NULL, &seen, &st, &e), 0);
    CHECK_INT(st.old_users, 50);
    CHECK_INT(st.new_users, 50);
    CHECK_INT(st.unchanged, 50);
    CHECK_INT(st.added + st.removed + st.changed + st.activity_only, 0);
    CHECK_INT(json_object_size(st.fields), 0);
    CHECK_INT(seen.calls, 0);
    snapdiff_stats_release(&st);
    json_decref(arr);
}

/* old: a b c d e g; new: b c' d e'' f g'  (c: email + roles, e: activity,
 * g: a key added and one removed) */
static void test_kinds(void)
{
    const char *pa = tpath("old.ndjson.gz"), *pb = tpath("new.ndjson.gz");
    json_t *olds = json_array(), *news = json_array(), *u;
    struct snapdiff_stats st;
    struct seen seen = {"", 0, 0};
    struct err e;

    json_array_append_new(olds, user("a", "a@x.com"));
    json_array_append_new(olds, user("b", "b@x.com"));
    json_array_append_new(olds, user("c", "c@x.com"));
    json_array_append_new(olds, user("d", "d@x.com"));
    json_array_append_new(olds, user("e", "e@x.com"));
    u = user("g", "g@x.com");
    json_object_set_new(u, "nickname", json_string("gee"));
    json_array_append_new(olds, u);

    json_array_append_new(news, user("b", "b@x.com"));
    u = user("c", "c2@x.com");
    json_object_set_new(u, "roles", json_pack("[{s:s,s:s}]", "id", "rol_1", "name", "admin"));
    json_object_set_new(u, "logins_count", json_integer(4)); /* ignored next to real changes */
    json_array_append_new(news, u);
    json_array_append_new(news, user("d", "d@x.com"));
    u = user("e", "e@x.com");
    json_object_set_new(u, "logins_count", json_integer(9));
    json_object_set_new(u, "last_login", json_string("2026-02-02T00:00:00Z"));
    json_array_append_new(news, u);
    json_array_append_new(news, user("f", "f@x.com"));
    u = user("g", "g@x.com");
    json_object_set_new(u, "username", json_string("gee"));
    json_array_append_new(news, u);

    CHECK_INT(write_snapshot(pa, olds), 0);
    CHECK_INT(write_snapshot(pb, news), 0);
    err_clear(&e);
    CHECK_INT(diff_files(pa, pb, NULL, &seen, &st, &e), 0);
    CHECK_STR(seen.text, "removed a;changed c email,roles;activity_only e last_login,logins_count;"
                         "added f;changed g nickname,username;");
    CHECK_INT(st.old_users, 6);
    CHECK_INT(st.new_users, 6);
    CHECK_INT(st.added, 1);
    CHECK_INT(st.removed, 1);
    CHECK_INT(st.changed, 2);
    CHECK_INT(st.activity_only, 1);
    CHECK_INT(st.unchanged, 2);
    CHECK_INT(field_count(&st, "email"), 1);
    CHECK_INT(field_count(&st, "roles"), 1);
    CHECK_INT(field_count(&st, "nickname"), 1);
    CHECK_INT(field_count(&st, "username"), 1);
    CHECK_INT(field_count(&st, "logins_count"), 0);
    CHECK_INT(json_object_size(st.fields), 4);
    snapdiff_stats_release(&st);

    /* Reversed, added and removed swap. */
    memset(&seen, 0, sizeof(seen));
    CHECK_INT(diff_files(pb, pa, NULL, &seen, &st, &e), 0);
    CHECK_STR(seen.text, "added a;changed c email,roles;activity_only e last_login,logins_count;"
                         "removed f;changed g nickname,username;");
    snapdiff_stats_release(&st);

    /* With compare_activity, e is an ordinary change and c lists logins_count. */
    {
        struct snapdiff_opts opts = {true};
        memset(&seen, 0, sizeof(seen));
        CHECK_INT(diff_files(pa, pb, &opts, &seen, &st, &e), 0);
        CHECK_STR(seen.text, "removed a;changed c email,logins_count,roles;"
                             "changed e last_login,logins_count;added f;"
                             "changed g nickname,username;");
        CHECK_INT(st.changed, 3);
        CHECK_INT(st.activity_only, 0);
        CHECK_INT(field_count(&st, "logins_count"), 2);
        snapdiff_stats_release(&st);
    }
    json_decref(olds);
    json_decref(news);
}

/* Grants: absent = [], order of keys inside objects does not matter,
 * different membership = changed. */
static void test_values(void)
{
    json_t *a, *b, *f = NULL, *act = NULL;
    struct err e;

    err_clear(&e);
    a = json_pack("{s:s}", "user_id", "u");
    b = json_pack("{s:s,s:[],s:[]}", "user_id", "u", "roles", "organizations");
    CHECK_INT(snapdiff_user(a, b, NULL, &f, &act, &e), 0);
    CHECK_INT(json_array_size(f), 0);
    CHECK_INT(json_array_size(act), 0);
    json_decref(f);
    json_decref(act);
    json_decref(a);
    json_decref(b);

    a = json_pack("{s:s,s:[{s:s,s:s,s:[]}],s:{s:i,s:s}}", "user_id", "u", "organizations", "id",
                  "org_1", "name", "acme", "roles", "app_metadata", "n", 1, "s", "x");
    b = json_pack("{s:s,s:[{s:[],s:s,s:s}],s:{s:s,s:i}}", "user_id", "u", "organizations", "roles",
                  "name", "acme", "id", "org_1", "app_metadata", "s", "x", "n", 1);
    CHECK_INT(snapdiff_user(a, b, NULL, &f, &act, &e), 0);
    CHECK_INT(json_array_size(f), 0);
    json_decref(f);
    json_decref(act);
    json_decref(b);

    /* A member role added inside the membership; metadata 1 vs 1.0; null vs absent. */
    b = json_pack("{s:s,s:[{s:[s],s:s,s:s}],s:{s:s,s:f},s:n}", "user_id", "u", "organizations",
                  "roles", "viewer", "name", "acme", "id", "org_1", "app_metadata", "s", "x", "n",
                  1.0, "phone_number");
    CHECK_INT(snapdiff_user(a, b, NULL, &f, &act, &e), 0);
    CHECK_INT(json_array_size(f), 3);
    CHECK_STR(json_string_value(json_array_get(f, 0)), "app_metadata");
    CHECK_STR(json_string_value(json_array_get(f, 1)), "organizations");
    CHECK_STR(json_string_value(json_array_get(f, 2)), "phone_number");
    json_decref(f);
    json_decref(act);
    json_decref(a);
    json_decref(b);

    /* No direct permissions either way; and two organizations' "admin"
     * role is not the tenant's "admin" held in one of them. */
    a = json_pack("{s:s,s:[{s:s,s:s,s:[{s:s,s:s}]}]}", "user_id", "u", "organizations", "id",
                  "org_1", "name", "acme", "roles", "id", "rol_1", "name", "admin");
    b = json_pack("{s:s,s:[],s:[{s:s,s:s,s:[{s:s,s:s,s:s}]}]}", "user_id", "u", "permissions",
                  "organizations", "id", "org_1", "name", "acme", "roles", "id", "rol_1", "name",
                  "admin", "type", "organization");
    CHECK_INT(snapdiff_user(a, b, NULL, &f, &act, &e), 0);
    CHECK_INT(json_array_size(f), 1);
    CHECK_STR(json_string_value(json_array_get(f, 0)), "organizations");
    json_decref(f);
    json_decref(act);
    json_decref(a);
    json_decref(b);

    CHECK(snapdiff_is_activity_key("updated_at"));
    CHECK(snapdiff_is_activity_key("last_login"));
    CHECK(snapdiff_is_activity_key("logins_count"));
    CHECK(!snapdiff_is_activity_key("created_at"));
    CHECK(!snapdiff_is_activity_key("last_login "));
}

static void test_empty_sides(void)
{
    const char *pe = tpath("empty.ndjson.gz"), *pf = tpath("full.ndjson.gz");
    json_t *none = json_array(), *arr = json_array();
    struct snapdiff_stats st;
    struct seen seen = {"", 0, 0};
    struct err e;

    json_array_append_new(arr, user("auth0|1", "1@x.com"));
    json_array_append_new(arr, user("auth0|2", "2@x.com"));
    CHECK_INT(write_snapshot(pe, none), 0);
    CHECK_INT(write_snapshot(pf, arr), 0);
    err_clear(&e);
    CHECK_INT(diff_files(pe, pf, NULL, &seen, &st, &e), 0);
    CHECK_STR(seen.text, "added auth0|1;added auth0|2;");
    CHECK_INT(st.added, 2);
    CHECK_INT(st.old_users, 0);
    snapdiff_stats_release(&st);
    memset(&seen, 0, sizeof(seen));
    CHECK_INT(diff_files(pf, pe, NULL, &seen, &st, &e), 0);
    CHECK_STR(seen.text, "removed auth0|1;removed auth0|2;");
    CHECK_INT(st.removed, 2);
    snapdiff_stats_release(&st);
    memset(&seen, 0, sizeof(seen));
    CHECK_INT(diff_files(pe, pe, NULL, &seen, &st, &e), 0);
    CHECK_INT(seen.calls, 0);
    CHECK_INT(st.unchanged, 0);
    snapdiff_stats_release(&st);
    json_decref(none);
    json_decref(arr);
}

/* A damaged input fails the diff with the reader's message, even when the
 * damage sits after the last user the merge needed. */
static void test_damaged(void)
{
    const char *pa = tpath("ok.ndjson.gz"), *pb = tpath("cut.ndjson.gz");
    json_t *arr = json_array();
    struct snapdiff_stats st;
    struct seen seen = {"", 0, 0};
    struct stat sb;
    struct err e;
    char id[32];
    FILE *in, *out;
    char *data;
    long n;

    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "auth0|%04d", i);
        json_array_append_new(arr, user(id, "same@example.com"));
    }
    CHECK_INT(write_snapshot(pa, arr), 0);
    /* A copy without its last 12 bytes (the gzip CRC and size). */
    CHECK_INT(stat(pa, &sb), 0);
    n = (long)sb.st_size;
    data = malloc((size_t)n);
    in = fopen(pa, "rb");
    CHECK(in && fread(data, 1, (size_t)n, in) == (size_t)n);
    if (in)
        fclose(in);
    out = fopen(pb, "wb");
    CHECK(out && fwrite(data, 1, (size_t)n - 12, out) == (size_t)n - 12);
    if (out)
        fclose(out);
    free(data);

    err_clear(&e);
    CHECK_INT(diff_files(pa, pb, NULL, &seen, &st, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "cut.ndjson.gz") != NULL);
    snapdiff_stats_release(&st);
    err_clear(&e);
    memset(&seen, 0, sizeof(seen));
    CHECK_INT(diff_files(pb, pa, NULL, &seen, &st, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "cut.ndjson.gz") != NULL);
    snapdiff_stats_release(&st);
    json_decref(arr);
}

/* --- array iterators: input a reader would refuse ---------------------- */

struct arr_it {
    json_t *arr;
    size_t i;
};

static int arr_next(void *ctx, json_t **user, struct err *e)
{
    struct arr_it *it = ctx;

    (void)e;
    if (it->i >= json_array_size(it->arr)) {
        *user = NULL;
        return 0;
    }
    *user = json_incref(json_array_get(it->arr, it->i++));
    return 1;
}

static json_t *ids(int n, ...)
{
    json_t *arr = json_array();
    va_list ap;

    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *id = va_arg(ap, const char *);
        size_t len = va_arg(ap, size_t);
        json_array_append_new(arr, json_pack("{s:s%}", "user_id", id, len));
    }
    va_end(ap);
    return arr;
}

static int diff_arrays(json_t *a, json_t *b, struct seen *seen, struct snapdiff_stats *st,
                       struct err *e)
{
    struct arr_it ia = {a, 0}, ib = {b, 0};

    return snapdiff_run(arr_next, &ia, arr_next, &ib, NULL, seen ? record : NULL, seen, st, e);
}

static void test_order(void)
{
    json_t *a, *b;
    struct snapdiff_stats st;
    struct seen seen = {"", 0, 0};
    struct err e;

    /* Ids with NUL bytes order by length-aware comparison: "a" < "a\0b" < "ab". */
    a = ids(2, "a\0b", (size_t)3, "ab", (size_t)2);
    b = ids(3, "a", (size_t)1, "a\0b", (size_t)3, "ab", (size_t)2);
    err_clear(&e);
    CHECK_INT(diff_arrays(a, b, &seen, &st, &e), 0);
    CHECK_INT(st.added, 1);
    CHECK_INT(st.unchanged, 2);
    CHECK_STR(seen.text, "added a;");
    snapdiff_stats_release(&st);
    json_decref(a);
    json_decref(b);

    /* Bytes after a NUL still tell users apart. */
    a = ids(1, "a\0b", (size_t)3);
    b = ids(1, "a\0c", (size_t)3);
    err_clear(&e);
    memset(&seen, 0, sizeof(seen));
    CHECK_INT(diff_arrays(a, b, &seen, &st, &e), 0);
    CHECK_INT(st.added, 1);
    CHECK_INT(st.removed, 1);
    CHECK_INT(st.changed, 0);
    snapdiff_stats_release(&st);
    json_decref(a);
    json_decref(b);

    /* Out of order on the new side. */
    a = ids(1, "b", (size_t)1);
    b = ids(3, "a", (size_t)1, "c", (size_t)1, "b", (size_t)1);
    err_clear(&e);
    CHECK_INT(diff_arrays(a, b, NULL, &st, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK_STR(e.msg, "new snapshot: user_id 'b' is out of order (after 'c')");
    snapdiff_stats_release(&st);
    json_decref(b);

    /* Duplicate on the old side. */
    b = ids(2, "b", (size_t)1, "b", (size_t)1);
    err_clear(&e);
    CHECK_INT(diff_arrays(b, a, NULL, &st, &e), -1);
    CHECK_STR(e.msg, "old snapshot: user_id 'b' is out of order (after 'b')");
    snapdiff_stats_release(&st);
    json_decref(b);

    /* A user without a user_id. */
    b = json_pack("[{s:s},{s:i}]", "user_id", "a", "user_id", 7);
    err_clear(&e);
    CHECK_INT(diff_arrays(a, b, NULL, &st, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK_STR(e.msg, "new snapshot: user 2 has no 'user_id' string");
    snapdiff_stats_release(&st);
    json_decref(a);
    json_decref(b);
}

/* The callback's failure stops the diff with its error. */
static void test_callback_stops(void)
{
    json_t *a = ids(0), *b = ids(3, "a", (size_t)1, "b", (size_t)1, "c", (size_t)1);
    struct snapdiff_stats st;
    struct seen seen = {"", 0, 2};
    struct err e;

    err_clear(&e);
    CHECK_INT(diff_arrays(a, b, &seen, &st, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK_STR(e.msg, "stop here");
    CHECK_INT(seen.calls, 2);
    CHECK_STR(seen.text, "added a;");
    snapdiff_stats_release(&st);
    json_decref(a);
    json_decref(b);
}

/* More distinct changed keys than SNAPDIFF_MAX_FIELDS: the rest are counted
 * together. */
static void test_field_cap(void)
{
    json_t *a = json_array(), *b = json_array(), *ua, *ub;
    struct snapdiff_stats st;
    struct err e;
    char key[32];
    int extra = 76;

    ua = json_pack("{s:s}", "user_id", "u");
    ub = json_pack("{s:s}", "user_id", "u");
    for (int i = 0; i < SNAPDIFF_MAX_FIELDS + extra; i++) {
        snprintf(key, sizeof(key), "k%05d", i);
        json_object_set_new(ub, key, json_integer(i));
    }
    json_array_append_new(a, ua);
    json_array_append_new(b, ub);
    err_clear(&e);
    CHECK_INT(diff_arrays(a, b, NULL, &st, &e), 0);
    CHECK_INT(st.changed, 1);
    CHECK_INT(json_object_size(st.fields), SNAPDIFF_MAX_FIELDS + 1);
    CHECK_INT(field_count(&st, SNAPDIFF_OTHER_FIELDS), extra);
    CHECK_INT(field_count(&st, "k00000"), 1);
    snapdiff_stats_release(&st);
    json_decref(a);
    json_decref(b);
}

/* Many users through real files, against counts computed here. */
static void test_many(void)
{
    const char *pa = tpath("many-old.ndjson.gz"), *pb = tpath("many-new.ndjson.gz");
    json_t *olds = json_array(), *news = json_array(), *u;
    long long added = 0, removed = 0, changed = 0, activity = 0, same = 0, emails = 0;
    struct snapdiff_stats st;
    struct err e;
    char id[32], mail[64];

    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "auth0|%06d", i);
        snprintf(mail, sizeof(mail), "u%d@example.com", i);
        if (i % 11 != 0)
            json_array_append_new(olds, user(id, mail));
        if (i % 13 == 0)
            continue; /* removed (or in neither) */
        if (i % 7 == 0)
            snprintf(mail, sizeof(mail), "changed%d@example.com", i);
        u = user(id, mail);
        if (i % 5 == 0)
            json_object_set_new(u, "updated_at", json_string("2026-03-03T00:00:00Z"));
        json_array_append_new(news, u);
    }
    for (int i = 0; i < 3000; i++) {
        bool in_old = i % 11 != 0, in_new = i % 13 != 0;
        if (in_old && !in_new)
            removed++;
        else if (!in_old && in_new)
            added++;
        else if (in_old && in_new && i % 7 == 0)
            changed++, emails++;
        else if (in_old && in_new && i % 5 == 0)
            activity++;
        else if (in_old && in_new)
            same++;
    }
    CHECK_INT(write_snapshot(pa, olds), 0);
    CHECK_INT(write_snapshot(pb, news), 0);
    err_clear(&e);
    CHECK_INT(diff_files(pa, pb, NULL, NULL, &st, &e), 0);
    CHECK_INT(st.added, added);
    CHECK_INT(st.removed, removed);
    CHECK_INT(st.changed, changed);
    CHECK_INT(st.activity_only, activity);
    CHECK_INT(st.unchanged, same);
    CHECK_INT(field_count(&st, "email"), emails);
    CHECK_INT(st.old_users, json_array_size(olds));
    CHECK_INT(st.new_users, json_array_size(news));
    snapdiff_stats_release(&st);
    json_decref(olds);
    json_decref(news);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_snapdiff.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_identical);
    RUN(test_kinds);
    RUN(test_values);
    RUN(test_empty_sides);
    RUN(test_damaged);
    RUN(test_order);
    RUN(test_callback_stops);
    RUN(test_field_cap);
    RUN(test_many);
    rm_tree(tmpdir);
    return harness_done();
}
