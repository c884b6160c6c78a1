/*
 * Unit tests for dump_join.c: the streaming merge of the users and grants
 * sorts into the snapshot, and above all its fast path, which builds
 * "roles" and "organizations" as text and splices them into the user's
 * canonical line.
 *
 * Each test sets up a struct dump_ctx as dump_run.c does (no tenant, no
 * privacy), feeds users through dump_ingest_line() / dump_ingest_user()
 * and grants in the record format of dump_grants.c (whose add_grant() and
 * role_refs() are static, so put_grant() below rebuilds the record exactly
 * as they do: json_pack of the same shape, json_dumps compact with sorted
 * keys, extsort_add under the user id), runs dump_join() into a temp file
 * and reads it back with the snapshot reader. Every user line must equal,
 * byte for byte, an oracle computed here from the test's own model of the
 * input with jansson: the user as given, "roles" [{id,name}] and
 * "organizations" [{id,name,roles}] built and sorted by name then id (the
 * format of snapshots/README.md) by a stable sort of its own, dumped with
 * JSON_COMPACT | JSON_SORT_KEYS. The oracle also predicts which path the
 * join must take (ties in the order, sort keys that need escapes, a user
 * that already has "roles"/"organizations", a key with escapes), and the
 * counters joins_fast / joins_slow must say exactly that, so a join that
 * always fell back would fail. Where the order of two different items is
 * genuinely undecided (a tie on name and id), the lines are compared with
 * those ties put in one order on both sides.
 *
 * The last test does the same for a few thousand generated users and
 * grants (fixed seed), with a small sort budget so both sorts spill.
 */
#include "dump_internal.h"
#include "err.h"
#include "extsort.h"
#include "harness.h"
#include "snapshot.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];
static int path_seq;

/* ---- the fixture: a dump context as dump_run.c builds it ---------------- */

struct fixture {
    struct dump_request req;
    struct dump_result res;
    struct dump_ctx c;
    json_t *users;  /* model: {"user_id": the user as given}, first one wins */
    json_t *grants; /* model: {"user_id": [grant objects as added]} */
    json_t *lines;  /* after the run: {"user_id": line as read back} */
    char path[256];
    size_t undecided; /* users whose lines were compared with ties normalized */
    bool ok;          /* set up without error */
};

static void fixture_open(struct fixture *f, size_t sort_mem)
{
    struct err e;

    memset(f, 0, sizeof(*f));
    err_clear(&e);
    dump_result_init(&f->res);
    f->res.per_connection = json_object();
    f->res.catalogue = json_pack("{s:[],s:[],s:[]}", "connections", "roles", "organizations");
    f->c.req = &f->req;
    f->c.res = &f->res;
    f->c.catalogue = f->res.catalogue;
    snprintf(f->c.tmpdir, sizeof(f->c.tmpdir), "%s", tmpdir);
    snprintf(f->path, sizeof(f->path), "%s/%d-snap.ndjson.gz", tmpdir, path_seq++);
    f->users = json_object();
    f->grants = json_object();
    f->lines = json_object();
    if (!sort_mem)
        sort_mem = (size_t)32 << 20; /* dump_run.c's default */
    f->ok = f->res.per_connection && f->res.catalogue && f->users && f->grants && f->lines &&
            extsort_new(&f->c.users, f->c.tmpdir, sort_mem, &e) == 0 &&
            extsort_new(&f->c.grants, f->c.tmpdir, sort_mem / 4 + 1, &e) == 0 &&
            extsort_new(&f->c.uniq, f->c.tmpdir, sort_mem / 4 + 1, &e) == 0;
    if (!f->ok)
        fprintf(stderr, "fixture: %s\n", e.msg);
    CHECK(f->ok);
}

static void fixture_release(struct fixture *f)
{
    extsort_free(f->c.users);
    extsort_free(f->c.grants);
    extsort_free(f->c.uniq);
    dump_result_release(&f->res);
    json_decref(f->users);
    json_decref(f->grants);
    json_decref(f->lines);
    unlink(f->path);
}

static void model_user(struct fixture *f, json_t *user)
{
    const char *uid = json_string_value(json_object_get(user, "user_id"));

    CHECK(uid != NULL);
    if (uid && !json_object_get(f->users, uid))
        json_object_set_new(f->users, uid, json_deep_copy(user));
}

/* A user as a line of the export file (dump_job.c's way in). */
static void user_line(struct fixture *f, const char *text)
{
    struct err e;
    json_error_t jerr;
    json_t *u = json_loads(text, 0, &jerr);

    err_clear(&e);
    CHECK(json_is_object(u));
    if (dump_ingest_line(&f->c, text, strlen(text), &e) < 0) {
        fprintf(stderr, "dump_ingest_line: %s\n", e.msg);
        CHECK(!"dump_ingest_line failed");
    }
    if (u)
        model_user(f, u);
    json_decref(u);
}

/* A user as a json_t (dump_subset.c's way in); borrowed. */
static void user_obj(struct fixture *f, json_t *u)
{
    struct err e;

    err_clear(&e);
    if (dump_ingest_user(&f->c, u, &e) < 0) {
        fprintf(stderr, "dump_ingest_user: %s\n", e.msg);
        CHECK(!"dump_ingest_user failed");
    }
    model_user(f, u);
}

/* dump_grants.c add_grant() without privacy: the grant (stolen) serialized
 * compact with sorted keys into the grants sort under the user id. */
static void put_grant(struct fixture *f, const char *uid, json_t *g)
{
    struct err e;
    char *text = g ? json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_t *list;

    err_clear(&e);
    CHECK(text != NULL);
    if (!text) {
        json_decref(g);
        return;
    }
    if (extsort_add(f->c.grants, uid, strlen(uid), text, strlen(text), &e) < 0) {
        fprintf(stderr, "extsort_add: %s\n", e.msg);
        CHECK(!"extsort_add failed");
    }
    f->c.grants_seen++;
    free(text);
    list = json_object_get(f->grants, uid);
    if (!list) {
        list = json_array();
        json_object_set_new(f->grants, uid, list);
    }
    json_array_append_new(list, g);
}

/* A role grant as dump_grants_for_user() packs it: {kind, id, name or
 * null} (on_role_member's differs only in never having a null name). */
static void role(struct fixture *f, const char *uid, const char *id, const char *name)
{
    json_t *jid = json_string(id), *jname = name ? json_string(name) : NULL;

    CHECK(jid && (jname || !name));
    put_grant(f, uid, json_pack("{s:s,s:O,s:O?}", "kind", "role", "id", jid, "name", jname));
    json_decref(jid);
    json_decref(jname);
}

/* An organization grant as on_org_member() packs it, its member roles as
 * role_refs() does: refs is {id, name, id, name, ..., NULL} (a NULL name
 * as role_refs() gives for a role without one). */
static void org(struct fixture *f, const char *uid, const char *id, const char *name,
                const char *const *refs)
{
    json_t *list = json_array(), *jname = json_string(name);

    for (size_t i = 0; refs && refs[i]; i += 2) {
        json_t *rid = json_string(refs[i]), *rname = refs[i + 1] ? json_string(refs[i + 1]) : NULL;
        CHECK(rid && (rname || !refs[i + 1]));
        json_array_append_new(list, json_pack("{s:O,s:O?}", "id", rid, "name", rname));
        json_decref(rid);
        json_decref(rname);
    }
    CHECK(list && jname);
    put_grant(
        f, uid,
        json_pack("{s:s,s:s,s:O,s:o}", "kind", "org", "id", id, "name", jname, "roles", list));
    json_decref(jname);
}

/* ---- the oracle --------------------------------------------------------- */

/* The sort keys of the format: a string "name" / "id", else "". */
static const char *skey(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

static int by_name_id(const json_t *a, const json_t *b)
{
    int d = strcmp(skey(a, "name"), skey(b, "name"));

    return d ? d : strcmp(skey(a, "id"), skey(b, "id"));
}

/* by_name_id, ties broken by the item's canonical text. */
static int by_name_id_text(const json_t *a, const json_t *b)
{
    int d = by_name_id(a, b);
    char *x, *y;

    if (d)
        return d;
    x = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    y = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    d = strcmp(x ? x : "", y ? y : "");
    free(x);
    free(y);
    return d;
}

/* A stable insertion sort of an array of objects; *tie when two items
 * compare equal, *undecided when two such items differ. */
static void sort_items(json_t *arr, int (*cmp)(const json_t *, const json_t *), bool *tie,
                       bool *undecided)
{
    size_t n = json_array_size(arr), i, j;
    json_t **v = calloc(n ? n : 1, sizeof(*v));

    CHECK(v != NULL);
    if (!v)
        return;
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    for (i = 1; i < n; i++) {
        json_t *x = v[i];
        for (j = i; j > 0 && cmp(v[j - 1], x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    for (i = 1; i < n; i++) {
        if (by_name_id(v[i - 1], v[i]) == 0) {
            *tie = true;
            if (!json_equal(v[i - 1], v[i]))
                *undecided = true;
        }
    }
    json_array_clear(arr);
    for (i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

/* What jansson escapes in a string: the fast path leaves those to it. */
static bool needs_escape(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return true;
    return false;
}

static bool keys_escaped(const json_t *item)
{
    const char *n = json_string_value(json_object_get(item, "name"));
    const char *i = json_string_value(json_object_get(item, "id"));

    return (n && needs_escape(n)) || (i && needs_escape(i));
}

enum path { PATH_NONE, PATH_FAST, PATH_SLOW };

struct expect {
    char *line;     /* the oracle's line */
    bool undecided; /* ties between different items: compare normalized */
    enum path path; /* what the join must do */
    size_t roles, orgs;
};

/* The oracle for one user of the model. */
static void oracle(const json_t *user, const json_t *grants, struct expect *x)
{
    json_t *u = json_deep_copy(user), *roles = json_array(), *orgs = json_array(), *seen;
    json_t *g, *v;
    const char *key;
    size_t i;
    bool tie = false, slow = false;

    memset(x, 0, sizeof(*x));
    seen = json_object();
    CHECK(u && roles && orgs && seen);
    /* Exact duplicates collapse: the same grant text twice is one grant. */
    json_array_foreach(grants, i, g)
    {
        char *text = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
        bool dup = text && json_object_get(seen, text);

        if (text)
            json_object_set_new(seen, text, json_true());
        free(text);
        if (dup)
            continue;
        if (strcmp(skey(g, "kind"), "role") == 0) {
            json_t *name = json_object_get(g, "name");
            json_array_append_new(roles, json_pack("{s:O,s:O}", "id", json_object_get(g, "id"),
                                                   "name", name ? name : json_null()));
            slow |= keys_escaped(g);
        } else {
            json_t *o = json_deep_copy(g), *sub = json_object_get(o, "roles"), *r;
            size_t k;
            json_object_del(o, "kind");
            slow |= keys_escaped(o);
            json_array_foreach(sub, k, r)
            {
                slow |= keys_escaped(r);
            }
            sort_items(sub, by_name_id, &tie, &x->undecided);
            json_array_append_new(orgs, o);
        }
    }
    if (json_array_size(roles) + json_array_size(orgs) == 0) {
        x->path = PATH_NONE;
    } else {
        sort_items(roles, by_name_id, &tie, &x->undecided);
        sort_items(orgs, by_name_id, &tie, &x->undecided);
        json_object_foreach(u, key, v)
        {
            (void)v;
            if (needs_escape(key) || strcmp(key, "roles") == 0 ||
                strcmp(key, "organizations") == 0 || strcmp(key, "a0snap") == 0)
                slow = true;
        }
        x->path = slow || tie ? PATH_SLOW : PATH_FAST;
        x->roles = json_array_size(roles);
        x->orgs = json_array_size(orgs);
        json_object_set(u, "roles", roles);
        json_object_set(u, "organizations", orgs);
    }
    x->line = json_dumps(u, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK(x->line != NULL);
    /* Too large for a snapshot: the jansson path words the refusal. */
    if (x->path == PATH_FAST && x->line && strlen(x->line) > SNAPSHOT_MAX_LINE)
        x->path = PATH_SLOW;
    json_decref(u);
    json_decref(roles);
    json_decref(orgs);
    json_decref(seen);
}

/* Puts the undecided ties of a user's arrays in one order. */
static void normalize(json_t *u)
{
    json_t *orgs = json_object_get(u, "organizations"), *o;
    bool tie = false, undecided = false;
    size_t i;

    sort_items(json_object_get(u, "roles"), by_name_id_text, &tie, &undecided);
    sort_items(orgs, by_name_id_text, &tie, &undecided);
    json_array_foreach(orgs, i, o)
        sort_items(json_object_get(o, "roles"), by_name_id_text, &tie, &undecided);
}

/* Every array of the line is in name, id order (for undecided users). */
static bool arrays_sorted(const json_t *u)
{
    const char *names[2] = {"roles", "organizations"};
    json_t *o;
    size_t i, k;

    for (k = 0; k < 2; k++) {
        json_t *a = json_object_get(u, names[k]);
        for (i = 1; i < json_array_size(a); i++)
            if (by_name_id(json_array_get(a, i - 1), json_array_get(a, i)) > 0)
                return false;
    }
    json_array_foreach(json_object_get(u, "organizations"), k, o)
    {
        json_t *a = json_object_get(o, "roles");
        for (i = 1; i < json_array_size(a); i++)
            if (by_name_id(json_array_get(a, i - 1), json_array_get(a, i)) > 0)
                return false;
    }
    return true;
}

static bool same_line(const char *uid, const struct expect *x, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *got, *want;
    char *a = NULL, *b = NULL;
    bool ok;

    if (!x->undecided)
        ok = strlen(x->line) == len && memcmp(x->line, line, len) == 0;
    else {
        got = json_loadb(line, len, 0, &jerr);
        want = json_loads(x->line, 0, &jerr);
        ok = got && want && arrays_sorted(got);
        if (ok) {
            normalize(got);
            normalize(want);
            a = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
            b = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
            ok = a && b && strcmp(a, b) == 0;
        }
        free(a);
        free(b);
        json_decref(got);
        json_decref(want);
    }
    if (!ok)
        fprintf(stderr, "user '%s'%s:\n  oracle %.3000s\n  got    %.*s\n", uid,
                x->undecided ? " (ties normalized)" : "", x->line, len > 3000 ? 3000 : (int)len,
                line);
    return ok;
}

/* The join must fail with this error. */
struct want_error {
    enum err_code code;
    const char *msg_part;
};

/*
 * Runs the join and compares everything with the oracle: the lines, the
 * result's counts and the counters of the two paths. want_fast / want_slow
 * (-1: take the oracle's prediction) pin the paths by hand, which also
 * checks the prediction. With fail set, the join must fail that way and
 * leave no file.
 */
static void run_and_compare(struct fixture *f, long want_fast, long want_slow,
                            const struct want_error *fail)
{
    struct snapshot_reader *r = NULL;
    struct err e;
    size_t n = json_object_size(f->users), k = 0;
    struct expect *xs = calloc(n ? n : 1, sizeof(*xs));
    json_t *index = json_object(), *u, *gl;
    const char *uid, *line;
    size_t len, lines = 0, mismatches = 0, fast = 0, slow = 0, nroles = 0, norgs = 0, dropped = 0;
    int rc;

    err_clear(&e);
    if (!f->ok || !xs || !index) {
        CHECK(!"fixture");
        goto out;
    }
    /* The oracle, user by user; grants of users not in the model drop. */
    json_object_foreach(f->users, uid, u)
    {
        oracle(u, json_object_get(f->grants, uid), &xs[k]);
        fast += xs[k].path == PATH_FAST;
        slow += xs[k].path == PATH_SLOW;
        nroles += xs[k].roles;
        norgs += xs[k].orgs;
        f->undecided += xs[k].undecided;
        json_object_set_new(index, uid, json_integer((json_int_t)k));
        k++;
    }
    json_object_foreach(f->grants, uid, gl)
    {
        if (!json_object_get(f->users, uid))
            dropped += json_array_size(gl);
    }
    if (want_fast >= 0)
        CHECK_INT(fast, want_fast);
    if (want_slow >= 0)
        CHECK_INT(slow, want_slow);

    rc = dump_join(&f->c, NULL, f->path, false, &e);
    if (fail) {
        CHECK_INT(rc, -1);
        CHECK_INT(e.code, fail->code);
        if (!strstr(e.msg, fail->msg_part))
            fprintf(stderr, "error '%s', expected it to say '%s'\n", e.msg, fail->msg_part);
        CHECK(strstr(e.msg, fail->msg_part) != NULL);
        CHECK(access(f->path, F_OK) != 0);
        goto out;
    }
    if (rc < 0)
        fprintf(stderr, "dump_join: %s\n", e.msg);
    CHECK_INT(rc, 0);
    if (rc < 0)
        goto out;
    CHECK_INT(f->c.joins_fast, fast);
    CHECK_INT(f->c.joins_slow, slow);
    CHECK_INT(f->res.users, n);
    CHECK_INT(f->res.role_grants, nroles);
    CHECK_INT(f->res.memberships, norgs);
    CHECK_INT(f->res.dropped_grants, dropped);

    if (snapshot_reader_open(&r, f->path, &e) < 0) {
        fprintf(stderr, "snapshot_reader_open: %s\n", e.msg);
        CHECK(!"snapshot_reader_open");
        goto out;
    }
    while ((rc = snapshot_reader_next_line(r, &line, &len, &e)) == 1) {
        json_error_t jerr;
        json_t *got = json_loadb(line, len, 0, &jerr), *slot;
        const char *id = json_string_value(json_object_get(got, "user_id"));

        lines++;
        slot = id ? json_object_get(index, id) : NULL;
        if (!slot) {
            fprintf(stderr, "unexpected line %.200s\n", line);
            CHECK(!"a line the oracle does not know");
        } else {
            json_object_set_new(f->lines, id, json_stringn(line, len));
            if (!same_line(id, &xs[json_integer_value(slot)], line, len))
                mismatches++;
        }
        json_decref(got);
        if (mismatches > 5)
            break;
    }
    if (rc < 0)
        fprintf(stderr, "snapshot_reader_next_line: %s\n", e.msg);
    CHECK_INT(mismatches, 0);
    if (!mismatches) {
        CHECK_INT(rc, 0); /* the trailer verified */
        CHECK_INT(lines, n);
    }
out:
    snapshot_reader_free(r);
    for (size_t i = 0; xs && i < k; i++)
        free(xs[i].line);
    free(xs);
    json_decref(index);
}

/* The line read back for uid (after run_and_compare). */
static const char *line_of(const struct fixture *f, const char *uid)
{
    return json_string_value(json_object_get(f->lines, uid));
}

/* ---- cases -------------------------------------------------------------- */

static void test_no_grants(void)
{
    struct fixture f;
    json_t *u;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\",\"email\":\"a@example.com\",\"identities\":"
                  "[{\"connection\":\"db\",\"provider\":\"auth0\"}]}");
    user_line(&f, "{ \"name\" : \"Zo\\u00e9 \\/ x\", \"user_id\" : \"auth0|2\" }");
    u = json_pack("{s:s,s:{s:[i,b,n]}}", "user_id", "auth0|0", "app_metadata", "x", 1, 1);
    user_obj(&f, u);
    json_decref(u);
    run_and_compare(&f, 0, 0, NULL);
    CHECK_STR(line_of(&f, "auth0|2"), "{\"name\":\"Zoé / x\",\"user_id\":\"auth0|2\"}");
    fixture_release(&f);
}

static void test_only_roles(void)
{
    struct fixture f;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\",\"email\":\"a@x\"}");
    role(&f, "auth0|1", "rol_2", "Editor");
    role(&f, "auth0|1", "rol_1", "Admin");
    run_and_compare(&f, 1, 0, NULL);
    /* The oracle itself, pinned: both keys, "organizations" empty. */
    CHECK_STR(line_of(&f, "auth0|1"),
              "{\"email\":\"a@x\",\"organizations\":[],\"roles\":[{\"id\":\"rol_1\",\"name\":"
              "\"Admin\"},{\"id\":\"rol_2\",\"name\":\"Editor\"}],\"user_id\":\"auth0|1\"}");
    fixture_release(&f);
}

static void test_only_organizations(void)
{
    static const char *const refs[] = {"rol_b", "Viewer", "rol_a", "Billing", NULL};
    struct fixture f;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\"}");
    org(&f, "auth0|1", "org_2", "Acme", refs);
    org(&f, "auth0|1", "org_1", "Zeta", NULL);
    run_and_compare(&f, 1, 0, NULL);
    CHECK_STR(line_of(&f, "auth0|1"),
              "{\"organizations\":[{\"id\":\"org_2\",\"name\":\"Acme\",\"roles\":[{\"id\":"
              "\"rol_a\",\"name\":\"Billing\"},{\"id\":\"rol_b\",\"name\":\"Viewer\"}]},{\"id\":"
              "\"org_1\",\"name\":\"Zeta\",\"roles\":[]}],\"roles\":[],\"user_id\":\"auth0|1\"}");
    fixture_release(&f);
}

static void test_both(void)
{
    static const char *const refs[] = {"rol_1", "Admin", NULL};
    struct fixture f;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\",\"app_metadata\":{\"plan\":\"pro\"},"
                  "\"user_metadata\":{\"lang\":\"fr\"},\"logins_count\":7}");
    user_line(&f, "{\"user_id\":\"auth0|2\",\"blocked\":false}");
    role(&f, "auth0|1", "rol_1", "Admin");
    org(&f, "auth0|1", "org_1", "Acme", refs);
    role(&f, "auth0|2", "rol_9", NULL); /* a role without a name: null */
    org(&f, "auth0|2", "org_1", "Acme", NULL);
    run_and_compare(&f, 2, 0, NULL);
    CHECK_STR(line_of(&f, "auth0|2"),
              "{\"blocked\":false,\"organizations\":[{\"id\":\"org_1\",\"name\":\"Acme\",\"roles\":"
              "[]}],\"roles\":[{\"id\":\"rol_9\",\"name\":null}],\"user_id\":\"auth0|2\"}");
    fixture_release(&f);
}

/* Names in the opposite order of ids, and many of them. */
static void test_many_roles_name_order(void)
{
    struct fixture f;
    char id[32], name[32];

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|many\"}");
    for (int i = 0; i < 60; i++) {
        snprintf(id, sizeof(id), "rol_%02d", i);
        snprintf(name, sizeof(name), "%c-role %d", 'z' - i % 26, 100 - i);
        role(&f, "auth0|many", id, name);
    }
    /* And in an organization's member roles. */
    {
        static const char *const refs[] = {"rol_01", "Zed",    "rol_02", "Yak", "rol_03",
                                           "Xen",    "rol_04", "Wit",    NULL};
        org(&f, "auth0|many", "org_a", "Second", refs);
        org(&f, "auth0|many", "org_b", "First", refs);
    }
    run_and_compare(&f, 1, 0, NULL);
    fixture_release(&f);
}

/* Equal names: the id decides, by bytes. */
static void test_equal_names(void)
{
    static const char *const refs[] = {"rol_c", "Member", "rol_a", "Member",
                                       "rol_B", "Member", NULL};
    struct fixture f;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\"}");
    role(&f, "auth0|1", "rol_c", "Admin");
    role(&f, "auth0|1", "rol_a", "Admin");
    role(&f, "auth0|1", "rol_b", "Admin");
    role(&f, "auth0|1", "rol_A", "Admin");
    role(&f, "auth0|1", "rol_0", "Admin ");
    role(&f, "auth0|1", "rol_1", "Admin2");
    role(&f, "auth0|1", "rol_2", "admin");
    org(&f, "auth0|1", "org_z", "Acme", refs);
    org(&f, "auth0|1", "org_y", "Acme", NULL);
    run_and_compare(&f, 1, 0, NULL);
    CHECK(line_of(&f, "auth0|1") &&
          strstr(line_of(&f, "auth0|1"),
                 "\"roles\":[{\"id\":\"rol_A\",\"name\":\"Admin\"},{\"id\":\"rol_a\",\"name\":"
                 "\"Admin\"},{\"id\":\"rol_b\",\"name\":\"Admin\"},{\"id\":\"rol_c\",\"name\":"
                 "\"Admin\"},{\"id\":\"rol_0\",\"name\":\"Admin \"}") != NULL);
    fixture_release(&f);
}

/* Non-ASCII and "/" stay on the fast path; what jansson escapes (quote,
 * backslash, control characters) in any sort key takes the slow one. */
static void test_utf8_and_escapes(void)
{
    static const char *const utf8_refs[] = {"rol_1", "Ωmega", "rol_2", "Zulu", "rol_3", "é", NULL};
    static const char *const esc_refs[] = {"rol_1", "a\"b", NULL};
    static const char *const esc_id_refs[] = {"rol\\1", "Admin", NULL};
    struct fixture f;

    fixture_open(&f, 0);
    for (int i = 0; i < 10; i++) {
        char t[64];
        snprintf(t, sizeof(t), "{\"user_id\":\"auth0|%d\",\"a\":\"\\u00e9\"}", i);
        user_line(&f, t);
    }
    /* fast: UTF-8 (2-, 3- and 4-byte, sorting after ASCII), '/', DEL */
    role(&f, "auth0|0", "rol_1", "éditeur");
    role(&f, "auth0|0", "rol_2", "editor");
    role(&f, "auth0|0", "rol_3", "日本語");
    role(&f, "auth0|0", "rol_4", "😀");
    role(&f, "auth0|0", "rol_5", "a/b");
    role(&f, "auth0|0", "rol_6", "/");
    role(&f, "auth0|0", "rol_7", "del\x7f");
    role(&f, "auth0|0", "rol_8", "");
    org(&f, "auth0|0", "org_ü", "Ünited/Org", utf8_refs);
    /* slow: one unusual sort key each */
    role(&f, "auth0|1", "rol_1", "say \"hi\"");
    role(&f, "auth0|2", "rol_1", "back\\slash");
    role(&f, "auth0|3", "rol_1", "new\nline");
    role(&f, "auth0|4", "rol_1", "ctl\x01");
    role(&f, "auth0|5", "rol\"x", "Admin");
    org(&f, "auth0|6", "org_1", "tab\there", NULL);
    org(&f, "auth0|7", "org_1", "Acme", esc_refs);
    org(&f, "auth0|8", "org_1", "Acme", esc_id_refs);
    /* fast again: an escape in the user's own values is no sort key */
    user_line(&f, "{\"user_id\":\"auth0|9x\",\"name\":\"q\\\"\\\\\\n\\u0001\\t\"}");
    role(&f, "auth0|9x", "rol_1", "Admin");
    run_and_compare(&f, 2, 8, NULL);
    fixture_release(&f);
}

static void test_org_member_roles(void)
{
    static const char *const none[] = {NULL};
    static const char *const one[] = {"rol_1", "Admin", NULL};
    static const char *const unnamed[] = {"rol_2", NULL, "rol_1", "", "rol_0", "Admin", NULL};
    static const char *const twice[] = {"rol_1", "Admin", "rol_1", "Admin", NULL};
    struct fixture f;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\"}");
    user_line(&f, "{\"user_id\":\"auth0|2\"}");
    org(&f, "auth0|1", "org_1", "A", none);
    org(&f, "auth0|1", "org_2", "B", one);
    org(&f, "auth0|1", "org_3", "C", unnamed); /* null and "" names sort first */
    /* The same member role twice in one answer: a tie, left to jansson. */
    org(&f, "auth0|2", "org_1", "A", twice);
    run_and_compare(&f, 1, 1, NULL);
    fixture_release(&f);
}

/* A member's organization roles read apart from the membership
 * (dump_member_roles.c: "orgrole" grants) go into it, once each, sorted;
 * one whose membership is gone drops and is counted. */
static void test_org_roles_apart(void)
{
    static const char *const none[] = {NULL};
    static const char *const admin[] = {"rol_1", "Admin", NULL};
    struct snapshot_reader *r = NULL;
    struct fixture f;
    struct err e;
    const char *line;
    size_t len;
    json_t *lines = json_array();

    err_clear(&e);
    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\"}");
    user_line(&f, "{\"user_id\":\"auth0|2\"}");
    org(&f, "auth0|1", "org_1", "A", none);
    put_grant(&f, "auth0|1",
              json_pack("{s:s,s:s,s:{s:s,s:s}}", "kind", "orgrole", "id", "org_1", "role", "id",
                        "rol_2", "name", "Zeta"));
    put_grant(&f, "auth0|1",
              json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "kind", "orgrole", "id", "org_1", "role", "id",
                        "rol_1", "name", "Admin", "type", "organization"));
    put_grant(&f, "auth0|1",
              json_pack("{s:s,s:s,s:{s:s,s:s}}", "kind", "orgrole", "id", "org_9", "role", "id",
                        "rol_2", "name", "Zeta"));
    /* already in the membership (pages with and without roles) */
    org(&f, "auth0|2", "org_1", "A", admin);
    put_grant(&f, "auth0|2",
              json_pack("{s:s,s:s,s:{s:s,s:s}}", "kind", "orgrole", "id", "org_1", "role", "id",
                        "rol_1", "name", "Admin"));
    CHECK_INT(dump_join(&f.c, NULL, f.path, false, &e), 0);
    CHECK_INT(f.res.dropped_grants, 1);
    CHECK_INT(f.res.memberships, 2);
    CHECK_INT(f.c.joins_slow, 2);
    CHECK_INT(snapshot_reader_open(&r, f.path, &e), 0);
    while (r && snapshot_reader_next_line(r, &line, &len, &e) == 1)
        json_array_append_new(lines, json_stringn(line, len));
    CHECK_INT(json_array_size(lines), 2);
    CHECK_STR(
        json_string_value(json_array_get(lines, 0)),
        "{\"organizations\":[{\"id\":\"org_1\",\"name\":\"A\",\"roles\":[{\"id\":\"rol_1\","
        "\"name\":\"Admin\",\"type\":\"organization\"},{\"id\":\"rol_2\",\"name\":\"Zeta\"}]}],"
        "\"roles\":[],\"user_id\":\"auth0|1\"}");
    CHECK_STR(json_string_value(json_array_get(lines, 1)),
              "{\"organizations\":[{\"id\":\"org_1\",\"name\":\"A\",\"roles\":[{\"id\":\"rol_1\","
              "\"name\":\"Admin\"}]}],\"roles\":[],\"user_id\":\"auth0|2\"}");
    snapshot_reader_free(r);
    json_decref(lines);
    fixture_release(&f);
}

/* User keys next to where "organizations" and "roles" go. */
static void test_key_neighbours(void)
{
    static const char *const users[] = {
        "{\"user_id\":\"u|01\",\"organization\":1,\"organizationz\":2,\"role\":3,"
        "\"rolesx\":4,\"picture\":\"p\",\"username\":\"n\"}",
        "{\"user_id\":\"u|02\",\"organizations0\":[],\"organizationr\":{},\"roles0\":null,"
        "\"rolf\":true,\"roler\":\"x\"}",
        "{\"user_id\":\"u|03\",\"a\":1,\"b\":2}",                /* all before */
        "{\"user_id\":\"u|04\"}",                                /* only after */
        "{\"user_id\":\"u|05\",\"orgs\":1,\"p\":2,\"rol\":3}",   /* between */
        "{\"user_id\":\"u|06\",\"\":0,\"é\":1,\"Ω\":2,\"~\":3}", /* empty and high bytes */
        "{\"user_id\":\"u|07\",\"organizations \":1,\"roles \":2,\"ROLES\":3}",
        "{\"user_id\":\"u|08\",\"Organizations\":{\"roles\":[1]},\"organizations_\":5}",
    };
    struct fixture f;
    char uid[8];

    fixture_open(&f, 0);
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        user_line(&f, users[i]);
        snprintf(uid, sizeof(uid), "u|%02zu", i + 1);
        role(&f, uid, "rol_1", "Admin");
        if (i % 2)
            org(&f, uid, "org_1", "Acme", NULL);
    }
    run_and_compare(&f, 8, 0, NULL);
    CHECK_STR(line_of(&f, "u|01"),
              "{\"organization\":1,\"organizations\":[],\"organizationz\":2,\"picture\":\"p\","
              "\"role\":3,\"roles\":[{\"id\":\"rol_1\",\"name\":\"Admin\"}],\"rolesx\":4,"
              "\"user_id\":\"u|01\",\"username\":\"n\"}");
    fixture_release(&f);
}

/* Grants of users that are not in the snapshot drop and are counted. */
static void test_dropped_grants(void)
{
    struct fixture f;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|00010\"}");
    user_line(&f, "{\"user_id\":\"auth0|00020\"}");
    user_line(&f, "{\"user_id\":\"auth0|00030\"}");
    role(&f, "auth0|00010", "rol_1", "Admin");
    role(&f, "aaa|first", "rol_1", "Admin");    /* before every user */
    role(&f, "auth0|0001", "rol_1", "Admin");   /* a prefix of a user id */
    role(&f, "auth0|00010x", "rol_1", "Admin"); /* a user id is its prefix */
    org(&f, "auth0|00015", "org_1", "Acme", NULL);
    role(&f, "auth0|00015", "rol_1", "Admin");
    role(&f, "auth0|00015", "rol_1", "Admin"); /* duplicates of a dropped grant count */
    role(&f, "auth0|00030", "rol_2", "Editor");
    role(&f, "zzz|last", "rol_1", "Admin"); /* after every user */
    role(&f, "zzz|last2", "rol_1", "Admin");
    run_and_compare(&f, 2, 0, NULL);
    CHECK_INT(f.res.dropped_grants, 8);
    CHECK_STR(line_of(&f, "auth0|00020"), "{\"user_id\":\"auth0|00020\"}");
    fixture_release(&f);

    /* No users at all: every grant drops. */
    fixture_open(&f, 0);
    role(&f, "auth0|1", "rol_1", "Admin");
    org(&f, "auth0|1", "org_1", "Acme", NULL);
    run_and_compare(&f, 0, 0, NULL);
    CHECK_INT(f.res.dropped_grants, 2);
    CHECK_INT(f.res.users, 0);
    fixture_release(&f);
}

/* Exact duplicates (a member listed twice by paging) collapse. */
static void test_duplicate_grants(void)
{
    static const char *const refs[] = {"rol_2", "Editor", "rol_1", "Admin", NULL};
    struct fixture f;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\"}");
    for (int i = 0; i < 3; i++) {
        role(&f, "auth0|1", "rol_1", "Admin");
        org(&f, "auth0|1", "org_1", "Acme", refs);
    }
    role(&f, "auth0|1", "rol_2", "Editor");
    role(&f, "auth0|1", "rol_2", "Editor");
    run_and_compare(&f, 1, 0, NULL);
    CHECK_INT(f.res.role_grants, 2);
    CHECK_INT(f.res.memberships, 1);
    fixture_release(&f);
}

/* Records that differ but tie on name and id: jansson's order decides; the
 * line must still be sorted and hold each of them. */
static void test_ties(void)
{
    static const char *const r1[] = {"rol_1", "Admin", NULL};
    static const char *const r2[] = {"rol_2", "Editor", NULL};
    struct fixture f;

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\"}");
    user_line(&f, "{\"user_id\":\"auth0|2\"}");
    role(&f, "auth0|1", "rol_1", NULL); /* null and "" both sort as "" */
    role(&f, "auth0|1", "rol_1", "");
    org(&f, "auth0|2", "org_1", "Acme", r1); /* the member's roles changed while paging */
    org(&f, "auth0|2", "org_1", "Acme", r2);
    run_and_compare(&f, 0, 2, NULL);
    CHECK_INT(f.undecided, 2);
    fixture_release(&f);
}

/* A user that already has one of the keys: jansson replaces it. */
static void test_existing_keys(void)
{
    struct fixture f;
    struct want_error reserved = {ERR_SNAPSHOT, "reserved key 'a0snap'"};

    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\",\"roles\":[\"legacy\"]}");
    user_line(&f, "{\"user_id\":\"auth0|2\",\"organizations\":{\"x\":1}}");
    user_line(&f, "{\"user_id\":\"auth0|3\",\"roles\":[],\"organizations\":[]}");
    user_line(&f, "{\"user_id\":\"auth0|4\",\"roles\":\"kept\"}"); /* no grants: untouched */
    user_line(&f, "{\"user_id\":\"auth0|5\",\"we\\\"ird\":1}");    /* a key with an escape */
    role(&f, "auth0|1", "rol_1", "Admin");
    org(&f, "auth0|2", "org_1", "Acme", NULL);
    role(&f, "auth0|3", "rol_1", "Admin");
    role(&f, "auth0|5", "rol_1", "Admin");
    run_and_compare(&f, 0, 4, NULL);
    CHECK_STR(line_of(&f, "auth0|1"), "{\"organizations\":[],\"roles\":[{\"id\":\"rol_1\","
                                      "\"name\":\"Admin\"}],\"user_id\":\"auth0|1\"}");
    CHECK_STR(line_of(&f, "auth0|4"), "{\"roles\":\"kept\",\"user_id\":\"auth0|4\"}");
    fixture_release(&f);

    /* The reserved key: the jansson path refuses the user, nothing written. */
    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\",\"a0snap\":\"trailer\"}");
    role(&f, "auth0|1", "rol_1", "Admin");
    run_and_compare(&f, 0, 1, &reserved);
    CHECK_INT(f.c.joins_fast, 0);
    fixture_release(&f);

    /* ... and without grants too (the line goes straight to the writer). */
    fixture_open(&f, 0);
    user_line(&f, "{\"user_id\":\"auth0|1\",\"a0snap\":\"trailer\"}");
    run_and_compare(&f, 0, 0, &reserved);
    fixture_release(&f);
}

/* A user of pad bytes of padding with one role: its line's length. */
static size_t big_user(struct fixture *f, size_t pad, bool feed)
{
    json_t *u = json_object(), *g = json_array();
    char *s = malloc(pad + 1), *text;
    size_t n;

    CHECK(u && g && s);
    memset(s, 'x', pad);
    s[pad] = '\0';
    json_object_set_new(u, "user_id", json_string("auth0|big"));
    json_object_set_new(u, "pad", json_string(s));
    json_object_set_new(u, "roles", g);
    json_array_append_new(g, json_pack("{s:s,s:s}", "id", "rol_1", "name", "Admin"));
    json_object_set_new(u, "organizations", json_array());
    text = json_dumps(u, JSON_COMPACT | JSON_SORT_KEYS);
    n = text ? strlen(text) : 0;
    if (feed) {
        json_object_del(u, "roles");
        json_object_del(u, "organizations");
        user_obj(f, u);
        role(f, "auth0|big", "rol_1", "Admin");
    }
    free(text);
    free(s);
    json_decref(u);
    return n;
}

/* The line limit counts the spliced line: exactly at it the fast path
 * writes it; one byte more and the jansson path refuses the user. */
static void test_size_limit(void)
{
    struct fixture f;
    /* jansson's wording (the fast path's would say "at most") */
    struct want_error too_large = {ERR_SNAPSHOT, "too large for a snapshot (more than"};
    size_t base = big_user(NULL, 0, false), pad = SNAPSHOT_MAX_LINE - base;

    CHECK_INT(big_user(NULL, pad, false), SNAPSHOT_MAX_LINE);
    fixture_open(&f, 0);
    big_user(&f, pad, true);
    run_and_compare(&f, 1, 0, NULL);
    CHECK(line_of(&f, "auth0|big") && strlen(line_of(&f, "auth0|big")) == SNAPSHOT_MAX_LINE);
    fixture_release(&f);

    fixture_open(&f, 0);
    big_user(&f, pad + 1, true);
    run_and_compare(&f, 0, 1, &too_large);
    CHECK_INT(f.c.joins_fast, 0);
    fixture_release(&f);
}

/* ---- generated users and grants ----------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

#define PICK(a) ((a)[rnd(sizeof(a) / sizeof((a)[0]))])

static const char *const plain_names[] = {
    "Admin",     "admin", "Admin ", "Admin2",  "Éditeur",  "editor",  "Editor",
    "Zebra",     "zebra", "日本語", "😀 party", "a/b",      "/",       "",
    "Ωmega",     "Ａ",    "x",      "Support", "Billing",  "del\x7f", "Read-Only",
    "read only", "Ü",     "U",      "~tilde",  " leading",
};
static const char *const escaped_names[] = {
    "quote\"d", "back\\slash", "new\nline", "tab\there", "ctl\x01", "ctl\x1f", "\"",
};

struct cat_item {
    char id[24];
    const char *name; /* NULL: a role without a name */
};

static struct cat_item cat_roles[48], cat_orgs[16];

static void make_catalogue(void)
{
    static const char letters[] = "ABCXYZabcxyz";

    size_t i;

    for (i = 0; i < sizeof(cat_roles) / sizeof(cat_roles[0]); i++) {
        /* ids whose order has nothing to do with the names' */
        snprintf(cat_roles[i].id, sizeof(cat_roles[i].id), "rol_%c%04u", letters[rnd(12)],
                 rnd(10000));
        cat_roles[i].name = i < 3 ? PICK(escaped_names) : i == 3 ? NULL : PICK(plain_names);
    }
    snprintf(cat_roles[4].id, sizeof(cat_roles[4].id), "rol\\%u", rnd(100)); /* escaped id */
    for (i = 0; i < sizeof(cat_orgs) / sizeof(cat_orgs[0]); i++) {
        snprintf(cat_orgs[i].id, sizeof(cat_orgs[i].id), "org_%c%03u", 'a' + (int)rnd(26),
                 rnd(1000));
        cat_orgs[i].name = i == 0 ? PICK(escaped_names) : PICK(plain_names);
    }
    cat_orgs[2].name = cat_orgs[1].name; /* two organizations with one name */
}

static const char *const value_strings[] = {
    "plain", "",     "é", "with \"quote\"", "back\\slash", "line\nbreak", "ctl\x02",
    "a/b",   "日本", "😀", "\x7f",           "</script>",
};

static const char *const user_keys[] = {
    "email",
    "email_verified",
    "name",
    "nickname",
    "picture",
    "username",
    "given_name",
    "organization",
    "organizationz",
    "organizations0",
    "organizationr",
    "role",
    "rolesx",
    "roles0",
    "rolf",
    "orgs",
    "a",
    "zzz",
    "é",
    "Ω",
    "app_metadata",
    "user_metadata",
    "created_at",
    "logins_count",
    "last_ip",
    "blocked",
    "phone_number",
    "",
    "~",
};

static json_t *random_value(int depth)
{
    switch (rnd(depth > 2 ? 6 : 8)) {
    case 0:
        return json_string(PICK(value_strings));
    case 1:
        return json_integer((json_int_t)rnd(100000) - 50000);
    case 2:
        return json_boolean(rnd(2));
    case 3:
        return json_null();
    case 4:
        return json_real((double)rnd(1000) / 8.0 - 60.0);
    case 5:
        return json_string(PICK(plain_names));
    case 6: {
        json_t *o = json_object();
        for (uint32_t i = rnd(4); i > 0; i--)
            json_object_set_new(o, PICK(user_keys), random_value(depth + 1));
        return o;
    }
    default: {
        json_t *a = json_array();
        for (uint32_t i = rnd(4); i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

static void random_user(struct fixture *f, const char *uid)
{
    static const char *const conns[] = {"Username-Password-Authentication", "google-oauth2",
                                        "corp-ad", "Ünicode"};
    json_t *u = json_object();
    char *text;
    size_t flags;
    uint32_t p = rnd(1000);

    /* keys in random order, so the input is not sorted */
    for (uint32_t i = rnd(8); i > 0; i--)
        json_object_set_new(u, PICK(user_keys), random_value(0));
    json_object_set_new(u, "user_id", json_string(uid));
    if (rnd(8))
        json_object_set_new(
            u, "identities",
            json_pack("[{s:s,s:s}]", "connection", PICK(conns), "provider", "auth0"));
    if (p < 8)
        json_object_set_new(u, "roles", random_value(2));
    else if (p < 16)
        json_object_set_new(u, "organizations", random_value(2));
    else if (p < 20)
        json_object_set_new(u, PICK(escaped_names), json_true());
    if (rnd(5) == 0) {
        user_obj(f, u);
    } else {
        /* other spellings of the same user: indented, \u escapes, "\/" */
        flags = JSON_PRESERVE_ORDER;
        if (rnd(3) == 0)
            flags |= JSON_INDENT(rnd(3));
        if (rnd(3) == 0)
            flags |= JSON_ENSURE_ASCII;
        if (rnd(3) == 0)
            flags |= JSON_ESCAPE_SLASH;
        text = json_dumps(u, flags);
        CHECK(text != NULL);
        if (text)
            user_line(f, text);
        free(text);
    }
    json_decref(u);
}

struct pending {
    char uid[40];
    int kind; /* 0 role, 1 org */
    size_t item;
    size_t refs[4];
    size_t nrefs;
};

static void emit(struct fixture *f, const struct pending *p)
{
    const char *refs[9];
    size_t i;

    if (p->kind == 0) {
        role(f, p->uid, cat_roles[p->item].id, cat_roles[p->item].name);
        return;
    }
    for (i = 0; i < p->nrefs; i++) {
        refs[2 * i] = cat_roles[p->refs[i]].id;
        refs[2 * i + 1] = cat_roles[p->refs[i]].name;
    }
    refs[2 * i] = NULL;
    /* role_refs() keeps a role without a name (null); org() takes it so */
    org(f, p->uid, cat_orgs[p->item].id, cat_orgs[p->item].name, refs);
}

static void test_random(void)
{
    enum { USERS = 3000, MAX_GRANTS = 16 * USERS };
    struct fixture f;
    struct pending *g = calloc(MAX_GRANTS, sizeof(*g));
    size_t ng = 0, i, j;
    char uid[40];

    CHECK(g != NULL);
    if (!g)
        return;
    rng_state = 0x9e3779b97f4a7c15ULL;
    make_catalogue();
    fixture_open(&f, 48 * 1024); /* small: both sorts spill and merge */
    for (i = 0; i < USERS; i++) {
        uint32_t k = rnd(100);
        /* user ids: mostly auth0|NNNNN (every 7th missing, for dropped
         * grants), some with non-ASCII or an escape (the jansson ingest) */
        if (k < 3)
            snprintf(uid, sizeof(uid), "email|ü%05zu", i);
        else if (k < 5)
            snprintf(uid, sizeof(uid), "auth0|q\"%05zu", i);
        else
            snprintf(uid, sizeof(uid), "auth0|%05zu", i);
        if (i % 7 != 3)
            random_user(&f, uid);
        /* grants: none for about a third */
        if (rnd(3) == 0)
            continue;
        for (j = rnd(5); j > 0 && ng < MAX_GRANTS - 2; j--) {
            struct pending *p = &g[ng++];
            snprintf(p->uid, sizeof(p->uid), "%s", uid);
            p->kind = 0;
            p->item = 5 + rnd(43); /* mostly plain names */
            if (rnd(40) == 0)
                p->item = rnd(5); /* escaped name or id, or no name */
        }
        for (j = rnd(3); j > 0 && ng < MAX_GRANTS - 2; j--) {
            struct pending *p = &g[ng++];
            snprintf(p->uid, sizeof(p->uid), "%s", uid);
            p->kind = 1;
            p->item = 1 + rnd(15);
            if (rnd(40) == 0)
                p->item = 0;
            p->nrefs = rnd(4);
            for (size_t r = 0; r < p->nrefs; r++)
                p->refs[r] = 5 + rnd(43);
            if (p->nrefs && rnd(30) == 0)
                p->refs[0] = rnd(5);
            if (rnd(25) == 0) { /* the same membership, roles changed: a tie */
                g[ng] = *p;
                g[ng].nrefs = p->nrefs ? p->nrefs - 1 : 1;
                g[ng].refs[0] = 5 + rnd(43);
                ng++;
            }
        }
        if (ng && rnd(10) == 0 && ng < MAX_GRANTS) { /* an exact duplicate */
            g[ng] = g[ng - 1];
            ng++;
        }
    }
    /* grants of users the snapshot does not hold */
    for (i = 0; i < 200 && ng < MAX_GRANTS; i++) {
        struct pending *p = &g[ng++];
        static const char *const odd[] = {"aaa|first", "zzz|last", "auth0|0001", "auth0|00010x",
                                          "auth0|99999"};
        if (i < 100)
            snprintf(p->uid, sizeof(p->uid), "%s", PICK(odd));
        else
            snprintf(p->uid, sizeof(p->uid), "auth0|%05u", 7 * rnd(USERS / 7) + 3);
        p->kind = (int)rnd(2);
        p->item = p->kind ? 1 + rnd(15) : 5 + rnd(43);
        p->nrefs = 0;
    }
    /* in random order, as the role and organization walks interleave */
    for (i = ng; i > 1; i--) {
        struct pending t;
        j = rnd((uint32_t)i);
        t = g[i - 1];
        g[i - 1] = g[j];
        g[j] = t;
    }
    for (i = 0; i < ng; i++)
        emit(&f, &g[i]);
    run_and_compare(&f, -1, -1, NULL);
    /* the fast path must carry most of it, the slow one some of it */
    fprintf(stderr,
            "random: %zu users, %zu grants, %zu fast, %zu slow (%zu with ties), %zu dropped\n",
            f.res.users, ng, f.c.joins_fast, f.c.joins_slow, f.undecided, f.res.dropped_grants);
    CHECK(f.undecided > 0);
    CHECK(f.c.joins_fast > 1000);
    CHECK(f.c.joins_slow > 50);
    CHECK(f.res.dropped_grants > 200);
    fixture_release(&f);
    free(g);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/a0snap-test-dump-join-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_no_grants);
    RUN(test_only_roles);
    RUN(test_only_organizations);
    RUN(test_both);
    RUN(test_many_roles_name_order);
    RUN(test_equal_names);
    RUN(test_utf8_and_escapes);
    RUN(test_org_roles_apart);
    RUN(test_org_member_roles);
    RUN(test_key_neighbours);
    RUN(test_dropped_grants);
    RUN(test_duplicate_grants);
    RUN(test_ties);
    RUN(test_existing_keys);
    RUN(test_size_limit);
    RUN(test_random);
    rmdir(tmpdir);
    return harness_done();
}
