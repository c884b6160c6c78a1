/*
 * Unit tests for snapshots_rewrite.c: a snapshot written again without one
 * person keeps every other user line byte for byte and gets the header the
 * caller makes; an encrypted one stays encrypted (and opens with the same
 * identity); a file that changed after it was checked is left as it was,
 * with no temporary file beside it.
 */
#include "age.h"
#include "harness.h"
#include "snapshots.h"
#include "snapshots_match.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char dir[64];

static const char *tpath(const char *name)
{
    static char p[4][256];
    static int n;
    char *s = p[n++ % 4];

    snprintf(s, 256, "%s/%s", dir, name);
    return s;
}

static int count_files(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

/* Three users, the middle one the person's. */
static void write_three(const char *path, const struct age_recipients *to)
{
    struct snapshot_write_opts opts = {.force = true, .encrypt_to = to};
    struct snapshot_writer *w = NULL;
    json_t *h = json_pack("{s:{s:s}}", "source", "domain", "prod.example.com");
    static const char *const users[] = {
        "{\"email\":\"a@x.example\",\"user_id\":\"auth0|a\",\"z\":[1,2.5,\"\\u00e9\"]}",
        "{\"email\":\"Ann@X.example\",\"user_id\":\"auth0|b\"}",
        "{\"email\":\"c@x.example\",\"identities\":[{\"connection\":\"db\"}],\"user_id\":"
        "\"auth0|c\"}",
    };
    struct err e;

    CHECK_INT(snapshot_writer_open_with(&w, path, h, &opts, &e), 0);
    for (int i = 0; w && i < 3; i++) {
        json_t *u = json_loads(users[i], 0, NULL);
        CHECK_INT(snapshot_writer_append(w, u, &e), 0);
        json_decref(u);
    }
    if (w)
        CHECK_INT(snapshot_writer_commit(w, &e), 0);
    json_decref(h);
}

/* The decompressed bytes of a plain snapshot. */
static char *plain(const char *path, size_t *len)
{
    gzFile g = gzopen(path, "rb");
    char *buf = calloc(1, 1 << 16);
    int n = g ? gzread(g, buf, (1 << 16) - 1) : -1;

    if (g)
        gzclose(g);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

static const char *line_at(const char *text, int n, size_t *len)
{
    for (int i = 0; i < n; i++)
        text = strchr(text, '\n') + 1;
    *len = (size_t)(strchr(text, '\n') - text);
    return text;
}

static int mark_header(void *ctx, const json_t *old, json_t **out, struct err *e)
{
    (void)ctx;
    *out = json_deep_copy(old);
    json_object_del(*out, "snapshot_id");
    json_object_set_new(*out, "erased", json_true());
    return *out ? 0 : err_oom(e);
}

static void test_plain(void)
{
    const char *path = tpath("p.ndjson.gz");
    struct rewrite_header make = {mark_header, NULL};
    struct snapshot_write_opts wo = {.force = true};
    struct erase_subject who = {NULL, "ann@x.example", "ann@x.example"};
    struct snapshot_summary before, after;
    struct rewrite_result res;
    char *old_text, *new_text;
    const char *a, *b;
    size_t la, lb, n;
    struct err e;

    write_three(path, NULL);
    CHECK_INT(snapshot_verify(path, &before, &e), 0);
    old_text = plain(path, &n);
    CHECK_INT(snapshots_rewrite(path, NULL, &make, &wo, &who, before.sha256, &res, &e), 0);
    CHECK_INT(res.removed, 1);
    CHECK_INT(res.kept, 2);
    CHECK_INT(snapshot_verify(path, &after, &e), 0);
    CHECK_STR(after.snapshot_id, res.snapshot_id);
    CHECK(strcmp(after.snapshot_id, before.snapshot_id) != 0);
    CHECK_INT(after.users, 2);
    CHECK(json_is_true(json_object_get(after.header, "erased")));
    new_text = plain(path, &n);
    /* users 1 and 3 of the old file are users 1 and 2 of the new, byte for byte */
    a = line_at(old_text, 1, &la);
    b = line_at(new_text, 1, &lb);
    CHECK(la == lb && memcmp(a, b, la) == 0);
    a = line_at(old_text, 3, &la);
    b = line_at(new_text, 2, &lb);
    CHECK(la == lb && memcmp(a, b, la) == 0);
    CHECK(strstr(new_text, "Ann@") == NULL);
    CHECK_INT(count_files(), 1);
    free(old_text);
    free(new_text);
    snapshot_summary_release(&before);
    snapshot_summary_release(&after);
    unlink(path);
}

static void test_changed_after_check(void)
{
    const char *path = tpath("c.ndjson.gz");
    struct rewrite_header make = {mark_header, NULL};
    struct snapshot_write_opts wo = {.force = true};
    struct erase_subject who = {"auth0|b", NULL, NULL};
    struct snapshot_summary before, again;
    struct rewrite_result res;
    struct err e;

    write_three(path, NULL);
    CHECK_INT(snapshot_verify(path, &before, &e), 0);
    err_clear(&e);
    CHECK_INT(snapshots_rewrite(path, NULL, &make, &wo, &who, "0123", &res, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "changed after it was checked") != NULL);
    CHECK_INT(snapshot_verify(path, &again, &e), 0);
    CHECK_STR(again.sha256, before.sha256);
    CHECK_INT(count_files(), 1);
    snapshot_summary_release(&before);
    snapshot_summary_release(&again);
    unlink(path);
}

static void test_encrypted(void)
{
    const char *path = tpath("e.ndjson.gz.age");
    char secret[AGE_SECRET_KEY_LEN + 1], rcp[AGE_RECIPIENT_LEN + 1];
    struct age_recipients *to = NULL;
    struct age_identities *ids = NULL;
    struct snapshot_keys keys = {NULL};
    struct rewrite_header make = {mark_header, NULL};
    struct erase_subject who = {"auth0|a", NULL, NULL};
    struct snapshot_summary before, after;
    struct rewrite_result res;
    unsigned char head[4];
    FILE *f;
    struct err e;

    CHECK_INT(age_keygen(secret, rcp, &e), 0);
    CHECK_INT(age_recipients_new(&to, &e), 0);
    CHECK_INT(age_recipients_add(to, rcp, &e), 0);
    CHECK_INT(age_identities_new(&ids, &e), 0);
    CHECK_INT(age_identities_add(ids, secret, &e), 0);
    keys.identities = ids;
    write_three(path, to);
    CHECK_INT(snapshot_verify_keys(path, &keys, &before, &e), 0);
    {
        struct snapshot_write_opts wo = {.force = true, .encrypt_to = to};
        CHECK_INT(snapshots_rewrite(path, &keys, &make, &wo, &who, before.sha256, &res, &e), 0);
    }
    CHECK_INT(res.removed, 1);
    f = fopen(path, "rb");
    CHECK(f && fread(head, 1, 4, f) == 4 && memcmp(head, "age-", 4) == 0);
    if (f)
        fclose(f);
    CHECK_INT(snapshot_verify_keys(path, &keys, &after, &e), 0);
    CHECK(after.encrypted);
    CHECK_INT(after.users, 2);
    CHECK_INT(count_files(), 1);
    snapshot_summary_release(&before);
    snapshot_summary_release(&after);
    age_recipients_free(to);
    age_identities_free(ids);
    explicit_bzero(secret, sizeof(secret));
    unlink(path);
}

int main(void)
{
    int rc;

    snprintf(dir, sizeof(dir), "/tmp/a0snap-rewrite-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_plain);
    RUN(test_changed_after_check);
    RUN(test_encrypted);
    rc = harness_done();
    rmdir(dir);
    return rc;
}
