/*
 * Unit tests for the import's per-user decisions: the search for conflicts
 * (import/import_conflicts.c: emails and usernames held under another
 * user_id) and what is done with each snapshot user against the target's
 * (import/import_decide.c: skip, defer, replace, create, update by job or
 * by PATCH, unchanged). No network; the index sorts stay in memory.
 */
#include "extsort.h"
#include "harness.h"
#include "harness_json.h"
#include "import_conflicts.h"
#include "import_decide.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

/* got equals the JSON text want (NULL: got must be NULL). */
static bool json_is(const json_t *got, const char *want)
{
    json_t *w = want ? J(want) : NULL;
    bool ok = (!got && !w) || (got && w && json_equal((json_t *)got, w));

    if (!ok) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        fprintf(stderr, "got %s, expected %s\n", g ? g : "NULL", want ? want : "NULL");
        free(g);
    }
    json_decref(w);
    return ok;
}

/* --- conflicts ---------------------------------------------------------- */

static struct extsort *sort_new(void)
{
    struct extsort *s = NULL;
    struct err e;

    err_clear(&e);
    CHECK_INT(extsort_new(&s, tmpdir, 1 << 20, &e), 0);
    return s;
}

static void key_add(struct extsort *s, const char *conn, const char *email, const char *username,
                    const char *uid)
{
    struct err e;

    err_clear(&e);
    CHECK_INT(import_conflict_key_add(s, conn, "email", email, uid, &e), 0);
    CHECK_INT(import_conflict_key_add(s, conn, "username", username, uid, &e), 0);
}

static char holders_seen[4096];

/* The conflicts found, one "<snapshot uid> <other uid> <kind>" per line;
 * the target holders into holders_seen, "<holder> <snapshot uid>" each. */
static char *conflicts(struct extsort *sidx, struct extsort *tidx)
{
    struct extsort *conf = sort_new(), *holders = sort_new();
    static char out[4096];
    const char *k, *r;
    size_t klen, rlen, n = 0;
    struct err e;

    err_clear(&e);
    CHECK_INT(import_find_conflicts(sidx, tidx, conf, holders, &e), 0);
    CHECK_INT(extsort_finish(conf, &e), 0);
    out[0] = '\0';
    while (extsort_next(conf, &k, &klen, &r, &rlen, &e) == 1) {
        const char *sep = memchr(r, '\x1f', rlen);
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s %.*s %.*s\n", (int)klen, k,
                              (int)(sep - r), r, (int)(rlen - (size_t)(sep - r) - 1), sep + 1);
    }
    CHECK_INT(extsort_finish(holders, &e), 0);
    holders_seen[0] = '\0';
    n = 0;
    while (extsort_next(holders, &k, &klen, &r, &rlen, &e) == 1)
        n += (size_t)snprintf(holders_seen + n, sizeof(holders_seen) - n, "%.*s %.*s\n", (int)klen,
                              k, (int)rlen, r);
    extsort_free(holders);
    extsort_free(conf);
    extsort_free(sidx);
    extsort_free(tidx);
    return out;
}

/* A target user holding a snapshot user's email (in any case) or username
 * under another user_id conflicts; the same user on both sides does not;
 * the same email in another connection does not. */
static void test_conflicts_found(void)
{
    struct extsort *s = sort_new(), *t = sort_new();

    key_add(s, "db", "alice@example.com", NULL, "auth0|a");
    key_add(s, "db", "bob@example.com", "bobby", "auth0|b");
    key_add(s, "db", "carol@example.com", NULL, "auth0|c");
    key_add(s, "db", "dan@example.com", NULL, "auth0|d");
    key_add(t, "db", "Alice@Example.com", NULL, "auth0|squatter");
    key_add(t, "db", "robert@example.com", "BOBBY", "auth0|other");
    key_add(t, "db", "carol@example.com", NULL, "auth0|c");
    key_add(t, "legacy", "dan@example.com", NULL, "auth0|elsewhere");
    CHECK_STR(conflicts(s, t), "auth0|a auth0|squatter email\n"
                               "auth0|b auth0|other username\n");
    CHECK_STR(holders_seen, "auth0|other auth0|b\n"
                            "auth0|squatter auth0|a\n");
}

/* Two snapshot users with the same email: the first (in user_id order)
 * may have it, the second conflicts with it. */
static void test_conflicts_inside_snapshot(void)
{
    struct extsort *s = sort_new(), *t = sort_new();

    key_add(s, "db", "twin@example.com", NULL, "auth0|2");
    key_add(s, "db", "twin@example.com", NULL, "auth0|1");
    key_add(s, "db", "", "", "auth0|3"); /* empty values are no keys */
    key_add(t, "db", "", NULL, "auth0|4");
    CHECK_STR(conflicts(s, t), "auth0|2 auth0|1 email\x1ftwin\n");
    CHECK_STR(holders_seen, ""); /* a snapshot twin is no target holder */
}

/* Two snapshot users whose emails production swapped: each holds the
 * other's in the target, and each is a holder (import_moves.h). */
static void test_conflicts_of_a_swap(void)
{
    struct extsort *s = sort_new(), *t = sort_new();

    key_add(s, "db", "x@example.com", NULL, "auth0|a");
    key_add(s, "db", "y@example.com", NULL, "auth0|b");
    key_add(t, "db", "y@example.com", NULL, "auth0|a");
    key_add(t, "db", "x@example.com", NULL, "auth0|b");
    CHECK_STR(conflicts(s, t), "auth0|a auth0|b email\n"
                               "auth0|b auth0|a email\n");
    CHECK_STR(holders_seen, "auth0|a auth0|b\n"
                            "auth0|b auth0|a\n");
}

/* --- decisions ---------------------------------------------------------- */

static const struct import_decide_opts skip = {CONFLICT_SKIP, NULL};
static const struct import_decide_opts replace = {CONFLICT_REPLACE, NULL};

#define WANT                                                                                       \
    "{\"user_id\":\"auth0|a\",\"email\":\"alice@example.com\",\"email_verified\":true,"            \
    "\"name\":\"Alice\",\"given_name\":\"Alice\",\"user_metadata\":{\"lang\":\"fr\"}"

static int decide(const struct import_decide_opts *o, const char *want, const char *have,
                  const char *conflict, bool may_defer, struct import_decision *d)
{
    json_t *w = J(want), *h = have ? J(have) : NULL;
    struct err e;
    int rc;

    err_clear(&e);
    rc = import_decide(o, "auth0|a", w, h, conflict, may_defer, d, &e);
    json_decref(w);
    json_decref(h);
    return rc;
}

static void test_conflict_skipped_by_default(void)
{
    struct import_decision d;

    CHECK_INT(decide(&skip, WANT "}", NULL,
                     "auth0|squatter\x1f"
                     "email",
                     false, &d),
              0);
    CHECK_INT(d.action, IMPORT_SKIP);
    CHECK_STR(d.outcome, "skipped");
    CHECK_STR(d.reason, "conflict: target user 'auth0|squatter' already has this email "
                        "(--on-conflict=replace deletes it and creates this user)");
    CHECK_STR(d.replaces, "");
    import_decision_release(&d);
}

/* --on-conflict=replace: the holder goes, the snapshot user is created. */
static void test_conflict_replaced(void)
{
    struct import_decision d;

    CHECK_INT(decide(&replace, WANT "}", NULL, "auth0|squatter\x1fusername", false, &d), 0);
    CHECK_INT(d.action, IMPORT_WRITE);
    CHECK_STR(d.replaces, "auth0|squatter");
    CHECK_STR(d.replaces_why,
              "held the username of snapshot user 'auth0|a' (--on-conflict=replace)");
    CHECK_STR(d.reason, "replaces target user 'auth0|squatter' that had this username");
    CHECK_STR(d.outcome, "created");
    CHECK(d.plan.via_job);
    import_decision_release(&d);
}

/* The action for a new user with the given conflict ("<uid>\x1f<kind>"). */
static enum import_action action_of(const struct import_decide_opts *o, const char *conflict,
                                    bool may_defer)
{
    struct import_decision d;
    enum import_action a;

    CHECK_INT(decide(o, WANT "}", NULL, conflict, may_defer, &d), 0);
    a = d.action;
    if (a != IMPORT_WRITE)
        CHECK_STR(d.replaces, "");
    import_decision_release(&d);
    return a;
}

/* Every conflict waits for the merge's end (its holder may be pruned, or
 * a snapshot user that gives the value up); decided again then, it is
 * skipped or replaced. A conflict with the user itself is never deferred
 * nor replaced. */
static void test_conflict_deferred(void)
{
    static const char squatter[] = "auth0|squatter\x1f"
                                   "email";
    static const char self[] = "auth0|a\x1f"
                               "email";

    CHECK_INT(action_of(&skip, squatter, true), IMPORT_DEFER);
    CHECK_INT(action_of(&replace, squatter, true), IMPORT_DEFER);
    CHECK_INT(action_of(&skip, squatter, false), IMPORT_SKIP);
    CHECK_INT(action_of(&replace, squatter, false), IMPORT_WRITE);
    CHECK_INT(action_of(&replace, self, true), IMPORT_SKIP);
    CHECK_INT(action_of(&skip, self, true), IMPORT_SKIP);
}

/* A user's conflicts as the planner joins them, read back one by one. */
static void test_conflict_list(void)
{
    const char *p = "auth0|x\x1f"
                    "email\x1e"
                    "auth0|y\x1f"
                    "username\x1f"
                    "twin\x1e"
                    "auth0|z";
    struct import_conflict ce;

    CHECK(import_conflict_next(&p, &ce));
    CHECK_STR(ce.holder, "auth0|x");
    CHECK_STR(ce.kind, "email");
    CHECK(!ce.twin);
    CHECK(import_conflict_next(&p, &ce));
    CHECK_STR(ce.holder, "auth0|y");
    CHECK_STR(ce.kind, "username");
    CHECK(ce.twin);
    CHECK(import_conflict_next(&p, &ce));
    CHECK_STR(ce.holder, "auth0|z");
    CHECK_STR(ce.kind, "email"); /* a record without a kind: email */
    CHECK(!import_conflict_next(&p, &ce));
    p = NULL;
    CHECK(!import_conflict_next(&p, &ce));
}

/* With several conflicts, one with the user itself decides at once. */
static void test_conflict_with_itself_among_others(void)
{
    struct import_decision d;

    CHECK_INT(decide(&skip, WANT "}", NULL,
                     "auth0|squatter\x1f"
                     "email\x1e"
                     "auth0|a\x1f"
                     "username",
                     true, &d),
              0);
    CHECK_INT(d.action, IMPORT_SKIP);
    CHECK_STR(d.reason, "conflict: target user 'auth0|a' already has this username "
                        "(--on-conflict=replace deletes it and creates this user)");
    import_decision_release(&d);
}

/* A snapshot twin keeps its value under either policy: the later user is
 * skipped at once, never deferred, and nothing is deleted. */
static void test_conflict_with_a_twin(void)
{
    struct import_decision d;
    static const char twin[] = "auth0|first\x1f"
                               "email\x1f"
                               "twin";

    CHECK_INT(decide(&replace, WANT "}", NULL, twin, true, &d), 0);
    CHECK_INT(d.action, IMPORT_SKIP);
    CHECK_STR(d.replaces, "");
    CHECK_STR(d.reason, "conflict: snapshot user 'auth0|first' has this email too, and keeps it "
                        "(the first in user_id order)");
    import_decision_release(&d);
}

static void test_new_user_created_by_job(void)
{
    struct import_decision d;

    CHECK_INT(decide(&skip, WANT ",\"blocked\":true,\"username\":\"alice\"}", NULL, NULL, true, &d),
              0);
    CHECK_INT(d.action, IMPORT_WRITE);
    CHECK_STR(d.outcome, "created");
    CHECK(d.plan.via_job);
    CHECK(d.plan.patch == NULL); /* an insert sets blocked and username too */
    CHECK(d.plan.patch2 == NULL);
    import_decision_release(&d);
}

static void test_unchanged(void)
{
    struct import_decision d;

    CHECK_INT(decide(&skip, WANT "}", WANT ",\"logins_count\":3}", NULL, true, &d), 0);
    CHECK_STR(d.outcome, "unchanged");
    CHECK(!d.plan.via_job);
    CHECK(d.plan.patch == NULL);
    CHECK(json_is(d.fields, "[]"));
    import_decision_release(&d);
}

/* What a bulk upsert writes: names, picture, email_verified and metadata
 * (replaced whole) go by the job, nothing by PATCH. */
static void test_upsertable_changes_by_job(void)
{
    struct import_decision d;

    CHECK_INT(decide(&skip,
                     WANT ",\"family_name\":\"Martin\",\"nickname\":\"al\",\"picture\":"
                          "\"https://example.com/a.png\",\"app_metadata\":{\"plan\":\"gold\"}}",
                     "{\"user_id\":\"auth0|a\",\"email\":\"alice@example.com\",\"email_verified\":"
                     "false,\"name\":\"Old\",\"given_name\":\"Old\",\"family_name\":\"Old\","
                     "\"nickname\":\"old\",\"picture\":\"https://example.com/old.png\","
                     "\"user_metadata\":{\"lang\":\"en\",\"theme\":\"dark\"},\"app_metadata\":{"
                     "\"plan\":\"free\"}}",
                     NULL, true, &d),
              0);
    CHECK_STR(d.outcome, "updated");
    CHECK(d.plan.via_job);
    CHECK(d.plan.patch == NULL);
    CHECK(json_is(d.fields, "[\"email_verified\",\"given_name\",\"family_name\",\"name\","
                            "\"nickname\",\"picture\",\"user_metadata\",\"app_metadata\"]"));
    import_decision_release(&d);
}

/* What upsert cannot change: blocked, username, phone_number by PATCH
 * (the job still carries the user). */
static void test_patch_only_fields(void)
{
    struct import_decision d;

    CHECK_INT(decide(&skip,
                     WANT ",\"blocked\":true,\"username\":\"alice2\",\"phone_number\":"
                          "\"+15550001\"}",
                     WANT ",\"username\":\"alice\",\"phone_number\":\"+15550000\"}", NULL, true,
                     &d),
              0);
    CHECK_STR(d.outcome, "updated");
    CHECK(json_is(d.plan.patch,
                  "{\"blocked\":true,\"username\":\"alice2\",\"phone_number\":\"+15550001\"}"));
    CHECK(d.plan.patch2 == NULL);
    CHECK(json_is(d.fields, "[\"username\",\"phone_number\",\"blocked\"]"));
    import_decision_release(&d);
}

/* A changed email keeps the user_id: no job (an upsert matches on email
 * and would make a second user), the email and the rest by PATCH, the
 * username in a second PATCH. */
static void test_email_changed_by_patch(void)
{
    struct import_decision d;

    CHECK_INT(decide(&skip,
                     "{\"user_id\":\"auth0|a\",\"email\":\"alice@new.example.com\","
                     "\"email_verified\":true,\"name\":\"Alice\",\"username\":\"alice2\"}",
                     "{\"user_id\":\"auth0|a\",\"email\":\"alice@example.com\",\"email_verified\":"
                     "true,\"name\":\"Alice\",\"username\":\"alice\"}",
                     NULL, true, &d),
              0);
    CHECK_INT(d.action, IMPORT_WRITE);
    CHECK_STR(d.outcome, "updated");
    CHECK_STR(d.replaces, "");
    CHECK(!d.plan.via_job);
    CHECK(json_is(d.plan.patch, "{\"email\":\"alice@new.example.com\",\"email_verified\":true,"
                                "\"verify_email\":false}"));
    CHECK(json_is(d.plan.patch2, "{\"username\":\"alice2\"}"));
    import_decision_release(&d);
}

/* Metadata emptied in the snapshot: the job's record leaves it out, so a
 * PATCH unsets every key the target has (null); a field gone from the
 * snapshot is unset with null too. The job still writes the name. */
static void test_metadata_keys_unset(void)
{
    struct import_decision d;

    CHECK_INT(decide(&skip,
                     "{\"user_id\":\"auth0|a\",\"email\":\"alice@example.com\",\"email_verified\":"
                     "true,\"name\":\"Alice B.\",\"user_metadata\":{}}",
                     WANT
                     ",\"family_name\":\"Martin\",\"user_metadata\":{\"lang\":\"fr\",\"a\":1}}",
                     NULL, true, &d),
              0);
    CHECK_STR(d.outcome, "updated");
    CHECK(d.plan.via_job);
    CHECK(json_is(d.plan.patch, "{\"given_name\":null,\"family_name\":null,"
                                "\"user_metadata\":{\"lang\":null,\"a\":null}}"));
    import_decision_release(&d);
}

static void test_bad_types(void)
{
    struct import_decision d;
    json_t *w = J("{\"user_id\":\"auth0|a\",\"email\":\"a@example.com\",\"user_metadata\":[]}");
    struct err e;

    err_clear(&e);
    CHECK_INT(import_decide(&skip, "auth0|a", w, NULL, NULL, true, &d, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(d.fields == NULL && d.plan.patch == NULL);
    json_decref(w);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/a0snap-test-plan-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_conflicts_found);
    RUN(test_conflicts_inside_snapshot);
    RUN(test_conflicts_of_a_swap);
    RUN(test_conflict_skipped_by_default);
    RUN(test_conflict_replaced);
    RUN(test_conflict_deferred);
    RUN(test_conflict_list);
    RUN(test_conflict_with_itself_among_others);
    RUN(test_conflict_with_a_twin);
    RUN(test_new_user_created_by_job);
    RUN(test_unchanged);
    RUN(test_upsertable_changes_by_job);
    RUN(test_patch_only_fields);
    RUN(test_email_changed_by_patch);
    RUN(test_metadata_keys_unset);
    RUN(test_bad_types);
    rmdir(tmpdir);
    return harness_done();
}
