/* Unit tests for userdiff.c: comparison, grant deltas and the write plan. */
#include "err.h"
#include "harness.h"
#include "harness_json.h"
#include "userconv.h"
#include "userdiff.h"

#include <stdlib.h>
#include <string.h>

/* True if got equals the JSON text want (NULL want: got must be NULL);
 * prints both otherwise. */
static bool json_is(const char *what, const json_t *got, const char *want_text)
{
    json_t *w = want_text ? J(want_text) : NULL;
    bool ok = (!got && !w) || (got && w && json_equal((json_t *)got, w));

    if (!ok) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char *s = w ? json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        fprintf(stderr, "%s: got %s\n    expected %s\n", what, g ? g : "NULL", s ? s : "NULL");
        free(g);
        free(s);
    }
    json_decref(w);
    return ok;
}

#define ID   "\"user_id\":\"auth0|1\""
#define A_EV "\"email\":\"a@x.example\",\"email_verified\":true"

/* ---- the plan table ------------------------------------------------------ */

struct plan_case {
    const char *what;
    const char *want;
    const char *have; /* NULL: not in the target */
    unsigned fields;
    enum userdiff_action action;
    bool via_job;
    const char *patch, *patch2; /* NULL: none */
};

static const struct plan_case plan_cases[] = {
    {"identical users: nothing to do",
     "{" ID "," A_EV ",\"username\":\"al\",\"given_name\":\"A\",\"family_name\":\"L\","
     "\"name\":\"A L\",\"nickname\":\"al\",\"picture\":\"https://p/a\",\"blocked\":true,"
     "\"phone_number\":\"+1555\",\"phone_verified\":true,\"user_metadata\":{\"k\":[1]},"
     "\"app_metadata\":{\"plan\":\"gold\"}}",
     "{" ID "," A_EV ",\"username\":\"al\",\"given_name\":\"A\",\"family_name\":\"L\","
     "\"name\":\"A L\",\"nickname\":\"al\",\"picture\":\"https://p/a\",\"blocked\":true,"
     "\"phone_number\":\"+1555\",\"phone_verified\":true,\"user_metadata\":{\"k\":[1]},"
     "\"app_metadata\":{\"plan\":\"gold\"},\"logins_count\":4,\"identities\":[],"
     "\"created_at\":\"2024-01-01T00:00:00.000Z\"}",
     0, UD_UNCHANGED, false, NULL, NULL},
    {"email differing only in case is the same email", "{" ID ",\"email\":\"A@X.Example\"}",
     "{" ID ",\"email\":\"a@x.example\"}", 0, UD_UNCHANGED, false, NULL, NULL},
    {"email_verified changed: upsert", "{" ID "," A_EV "}",
     "{" ID ",\"email\":\"a@x.example\",\"email_verified\":false}", UD_EMAIL_VERIFIED, UD_UPDATE,
     true, NULL, NULL},
    {"email_verified absent equals false", "{" ID ",\"email\":\"a@x.example\"}",
     "{" ID ",\"email\":\"a@x.example\",\"email_verified\":false}", 0, UD_UNCHANGED, false, NULL,
     NULL},
    {"email_verified \"true\" equals true",
     "{" ID ",\"email\":\"a@x.example\",\"email_verified\":\"true\"}", "{" ID "," A_EV "}", 0,
     UD_UNCHANGED, false, NULL, NULL},
    {"given_name changed: upsert", "{" ID "," A_EV ",\"given_name\":\"B\"}",
     "{" ID "," A_EV ",\"given_name\":\"A\"}", UD_GIVEN_NAME, UD_UPDATE, true, NULL, NULL},
    {"given_name added: upsert", "{" ID "," A_EV ",\"given_name\":\"B\"}", "{" ID "," A_EV "}",
     UD_GIVEN_NAME, UD_UPDATE, true, NULL, NULL},
    {"given_name removed: PATCH null", "{" ID "," A_EV "}",
     "{" ID "," A_EV ",\"given_name\":\"A\"}", UD_GIVEN_NAME, UD_UPDATE, false,
     "{\"given_name\":null}", NULL},
    {"family_name removed (empty string in want): PATCH null",
     "{" ID "," A_EV ",\"family_name\":\"\"}", "{" ID "," A_EV ",\"family_name\":\"L\"}",
     UD_FAMILY_NAME, UD_UPDATE, false, "{\"family_name\":null}", NULL},
    {"family_name changed: upsert", "{" ID "," A_EV ",\"family_name\":\"M\"}",
     "{" ID "," A_EV ",\"family_name\":\"L\"}", UD_FAMILY_NAME, UD_UPDATE, true, NULL, NULL},
    {"name, nickname, picture absent in want: not compared", "{" ID "," A_EV ",\"name\":null}",
     "{" ID "," A_EV ",\"name\":\"a@x.example\",\"nickname\":\"a\",\"picture\":\"https://g/a\"}", 0,
     UD_UNCHANGED, false, NULL, NULL},
    {"name changed: upsert", "{" ID "," A_EV ",\"name\":\"New\"}",
     "{" ID "," A_EV ",\"name\":\"Old\"}", UD_NAME, UD_UPDATE, true, NULL, NULL},
    {"nickname changed: upsert", "{" ID "," A_EV ",\"nickname\":\"n2\"}",
     "{" ID "," A_EV ",\"nickname\":\"n1\"}", UD_NICKNAME, UD_UPDATE, true, NULL, NULL},
    {"picture changed: upsert", "{" ID "," A_EV ",\"picture\":\"https://p/2\"}",
     "{" ID "," A_EV ",\"picture\":\"https://p/1\"}", UD_PICTURE, UD_UPDATE, true, NULL, NULL},
    {"blocked only: PATCH only", "{" ID "," A_EV ",\"blocked\":true}", "{" ID "," A_EV "}",
     UD_BLOCKED, UD_UPDATE, false, "{\"blocked\":true}", NULL},
    {"unblocked: PATCH false", "{" ID "," A_EV "}", "{" ID "," A_EV ",\"blocked\":true}",
     UD_BLOCKED, UD_UPDATE, false, "{\"blocked\":false}", NULL},
    {"blocked false equals absent", "{" ID "," A_EV ",\"blocked\":false}", "{" ID "," A_EV "}", 0,
     UD_UNCHANGED, false, NULL, NULL},
    {"username changed: PATCH", "{" ID "," A_EV ",\"username\":\"new\"}",
     "{" ID "," A_EV ",\"username\":\"old\"}", UD_USERNAME, UD_UPDATE, false,
     "{\"username\":\"new\"}", NULL},
    {"username removed: PATCH null", "{" ID "," A_EV "}", "{" ID "," A_EV ",\"username\":\"old\"}",
     UD_USERNAME, UD_UPDATE, false, "{\"username\":null}", NULL},
    {"username null equals absent", "{" ID "," A_EV ",\"username\":null}", "{" ID "," A_EV "}", 0,
     UD_UNCHANGED, false, NULL, NULL},
    {"username differing in case differs", "{" ID "," A_EV ",\"username\":\"Al\"}",
     "{" ID "," A_EV ",\"username\":\"al\"}", UD_USERNAME, UD_UPDATE, false,
     "{\"username\":\"Al\"}", NULL},
    {"phone number and phone_verified: one PATCH",
     "{" ID "," A_EV ",\"phone_number\":\"+1555\",\"phone_verified\":true}",
     "{" ID "," A_EV ",\"phone_number\":\"+1666\"}", UD_PHONE_NUMBER | UD_PHONE_VERIFIED, UD_UPDATE,
     false, "{\"phone_number\":\"+1555\",\"phone_verified\":true}", NULL},
    {"phone removed: PATCH null and false", "{" ID "," A_EV "}",
     "{" ID "," A_EV ",\"phone_number\":\"+1666\",\"phone_verified\":true}",
     UD_PHONE_NUMBER | UD_PHONE_VERIFIED, UD_UPDATE, false,
     "{\"phone_number\":null,\"phone_verified\":false}", NULL},
    {"blocked, username and phone: one PATCH with all three (username is compatible)",
     "{" ID "," A_EV ",\"blocked\":true,\"username\":\"u2\",\"phone_number\":\"+1\"}",
     "{" ID "," A_EV ",\"username\":\"u1\"}", UD_BLOCKED | UD_USERNAME | UD_PHONE_NUMBER, UD_UPDATE,
     false, "{\"blocked\":true,\"username\":\"u2\",\"phone_number\":\"+1\"}", NULL},
    {"blocked and given_name: upsert and PATCH",
     "{" ID "," A_EV ",\"blocked\":true,\"given_name\":\"B\"}",
     "{" ID "," A_EV ",\"given_name\":\"A\"}", UD_BLOCKED | UD_GIVEN_NAME, UD_UPDATE, true,
     "{\"blocked\":true}", NULL},
    {"user_metadata changed: upsert replaces it whole",
     "{" ID "," A_EV ",\"user_metadata\":{\"a\":1}}",
     "{" ID "," A_EV ",\"user_metadata\":{\"a\":2,\"b\":3}}", UD_USER_METADATA, UD_UPDATE, true,
     NULL, NULL},
    {"user_metadata nested change differs", "{" ID "," A_EV ",\"user_metadata\":{\"a\":{\"x\":1}}}",
     "{" ID "," A_EV ",\"user_metadata\":{\"a\":{\"x\":1,\"y\":2}}}", UD_USER_METADATA, UD_UPDATE,
     true, NULL, NULL},
    {"user_metadata absent equals {}", "{" ID "," A_EV "}",
     "{" ID "," A_EV ",\"user_metadata\":{}}", 0, UD_UNCHANGED, false, NULL, NULL},
    {"user_metadata null equals {}", "{" ID "," A_EV ",\"user_metadata\":null}",
     "{" ID "," A_EV ",\"user_metadata\":{}}", 0, UD_UNCHANGED, false, NULL, NULL},
    {"user_metadata emptied: PATCH nulls every key", "{" ID "," A_EV ",\"user_metadata\":{}}",
     "{" ID "," A_EV ",\"user_metadata\":{\"a\":1,\"b\":{\"c\":2}}}", UD_USER_METADATA, UD_UPDATE,
     false, "{\"user_metadata\":{\"a\":null,\"b\":null}}", NULL},
    {"user_metadata absent in want: PATCH nulls every key", "{" ID "," A_EV "}",
     "{" ID "," A_EV ",\"user_metadata\":{\"a\":1}}", UD_USER_METADATA, UD_UPDATE, false,
     "{\"user_metadata\":{\"a\":null}}", NULL},
    {"app_metadata changed: upsert", "{" ID "," A_EV ",\"app_metadata\":{\"plan\":\"gold\"}}",
     "{" ID "," A_EV ",\"app_metadata\":{\"plan\":\"silver\",\"old\":1}}", UD_APP_METADATA,
     UD_UPDATE, true, NULL, NULL},
    {"app_metadata with a reserved key: upsert, then PATCH the key back",
     "{" ID "," A_EV ",\"app_metadata\":{\"plan\":\"gold\",\"email\":\"legacy\"}}",
     "{" ID "," A_EV ",\"app_metadata\":{\"plan\":\"silver\"}}", UD_APP_METADATA, UD_UPDATE, true,
     "{\"app_metadata\":{\"email\":\"legacy\"}}", NULL},
    {"app_metadata of reserved keys only: PATCH it whole, no job",
     "{" ID "," A_EV ",\"app_metadata\":{\"email\":\"legacy\"}}",
     "{" ID "," A_EV ",\"app_metadata\":{\"email\":\"legacy\",\"old\":1}}", UD_APP_METADATA,
     UD_UPDATE, false, "{\"app_metadata\":{\"email\":\"legacy\",\"old\":null}}", NULL},
    {"reserved key unchanged but the upsert runs: PATCH it back",
     "{" ID "," A_EV ",\"given_name\":\"B\",\"app_metadata\":{\"p\":1,\"loginsCount\":3}}",
     "{" ID "," A_EV ",\"given_name\":\"A\",\"app_metadata\":{\"p\":1,\"loginsCount\":3}}",
     UD_GIVEN_NAME, UD_UPDATE, true, "{\"app_metadata\":{\"loginsCount\":3}}", NULL},
    {"reserved key and nothing changed: nothing",
     "{" ID "," A_EV ",\"app_metadata\":{\"p\":1,\"loginsCount\":3}}",
     "{" ID "," A_EV ",\"app_metadata\":{\"p\":1,\"loginsCount\":3}}", 0, UD_UNCHANGED, false, NULL,
     NULL},
    {"email changed: everything by PATCH, username in a second one",
     "{" ID ",\"email\":\"b@x.example\",\"email_verified\":true,\"given_name\":\"B\","
     "\"username\":\"new\",\"blocked\":true,\"name\":\"N\",\"user_metadata\":{\"a\":1},"
     "\"app_metadata\":{\"plan\":\"gold\",\"email\":\"legacy\"}}",
     "{" ID ",\"email\":\"a@x.example\",\"email_verified\":true,\"given_name\":\"A\","
     "\"username\":\"old\",\"name\":\"N\",\"user_metadata\":{\"a\":1,\"b\":2},"
     "\"app_metadata\":{\"plan\":\"gold\",\"old\":true}}",
     UD_EMAIL | UD_GIVEN_NAME | UD_USERNAME | UD_BLOCKED | UD_USER_METADATA | UD_APP_METADATA,
     UD_UPDATE, false,
     "{\"email\":\"b@x.example\",\"email_verified\":true,\"verify_email\":false,"
     "\"given_name\":\"B\",\"blocked\":true,\"user_metadata\":{\"a\":1,\"b\":null},"
     "\"app_metadata\":{\"plan\":\"gold\",\"email\":\"legacy\",\"old\":null}}",
     "{\"username\":\"new\"}"},
    {"email changed only: email, email_verified, verify_email",
     "{" ID ",\"email\":\"b@x.example\",\"email_verified\":true}", "{" ID "," A_EV "}", UD_EMAIL,
     UD_UPDATE, false, "{\"email\":\"b@x.example\",\"email_verified\":true,\"verify_email\":false}",
     NULL},
    {"email changed, unverified in the snapshot", "{" ID ",\"email\":\"b@x.example\"}",
     "{" ID "," A_EV "}", UD_EMAIL | UD_EMAIL_VERIFIED, UD_UPDATE, false,
     "{\"email\":\"b@x.example\",\"email_verified\":false,\"verify_email\":false}", NULL},
    {"email changed and username removed",
     "{" ID ",\"email\":\"b@x.example\",\"email_verified\":true}",
     "{" ID "," A_EV ",\"username\":\"old\",\"phone_number\":\"+1\"}",
     UD_EMAIL | UD_USERNAME | UD_PHONE_NUMBER, UD_UPDATE, false,
     "{\"email\":\"b@x.example\",\"email_verified\":true,\"verify_email\":false,"
     "\"phone_number\":null}",
     "{\"username\":null}"},
    {"not in the target: create through the job", "{" ID "," A_EV ",\"blocked\":true}", NULL,
     UD_EMAIL | UD_EMAIL_VERIFIED | UD_BLOCKED, UD_CREATE, true, NULL, NULL},
    {"not in the target, reserved app_metadata: create, then PATCH the keys",
     "{" ID "," A_EV ",\"username\":\"u\",\"app_metadata\":{\"p\":1,\"_id\":\"x\"}}", NULL,
     UD_EMAIL | UD_EMAIL_VERIFIED | UD_USERNAME | UD_APP_METADATA, UD_CREATE, true,
     "{\"app_metadata\":{\"_id\":\"x\"}}", NULL},
    {"only roles differ: profile unchanged",
     "{" ID "," A_EV ",\"roles\":[{\"id\":\"rol_9\",\"name\":\"admin\"}]}", "{" ID "," A_EV "}", 0,
     UD_UNCHANGED, false, NULL, NULL},
};

/* ---- a model of Auth0's writes, to check that a plan reaches want ---------- */

static const char *const upsertable[] = {"email_verified", "given_name",  "family_name",
                                         "name",           "nickname",    "picture",
                                         "user_metadata",  "app_metadata"};

/* The bulk job on have (NULL: insert) with want's import record. */
static json_t *model_job(const json_t *want, const json_t *have)
{
    struct userconv_info info;
    struct err e;
    json_t *rec = NULL, *res;
    const char *k;
    json_t *v;
    size_t i;

    if (userconv_to_import(want, NULL, &rec, &info, &e) < 0 || !rec)
        return NULL;
    if (!have) {
        res = json_deep_copy(rec);
        if (json_object_get(rec, "user_id"))
            json_object_set_new(
                res, "user_id",
                json_sprintf("auth0|%s", json_string_value(json_object_get(rec, "user_id"))));
    } else {
        res = json_deep_copy(have);
        for (i = 0; i < sizeof(upsertable) / sizeof(upsertable[0]); i++) {
            v = json_object_get(rec, upsertable[i]);
            if (v)
                json_object_set(res, upsertable[i], v);
        }
    }
    /* Nothing else may be in a record. */
    json_object_foreach(rec, k, v)
    {
        static const char *const ok[] = {
            "email",        "email_verified", "user_id",      "username",     "given_name",
            "family_name",  "name",           "nickname",     "picture",      "blocked",
            "phone_number", "phone_verified", "app_metadata", "user_metadata"};
        bool found = false;
        for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
            found = found || strcmp(k, ok[i]) == 0;
        CHECK(found);
    }
    json_decref(rec);
    return res;
}

/* PATCH /users/{id} on u, with Auth0's rules: null unsets, metadata merges at
 * the first level, username not with email or email_verified. */
static void model_patch(json_t *u, const json_t *patch)
{
    const char *k, *mk;
    json_t *v, *mv;

    CHECK(!(json_object_get(patch, "username") &&
            (json_object_get(patch, "email") || json_object_get(patch, "email_verified"))));
    json_object_foreach((json_t *)patch, k, v)
    {
        if (strcmp(k, "verify_email") == 0)
            continue;
        if (strcmp(k, "user_metadata") == 0 || strcmp(k, "app_metadata") == 0) {
            json_t *cur = json_object_get(u, k);
            /* {} alone would mean "clear" to some and "no-op" to others. */
            CHECK(json_is_object(v) && json_object_size(v) > 0);
            if (!json_is_object(cur)) {
                cur = json_object();
                json_object_set_new(u, k, cur);
            }
            json_object_foreach(v, mk, mv)
            {
                if (json_is_null(mv))
                    json_object_del(cur, mk);
                else
                    json_object_set(cur, mk, mv);
            }
            continue;
        }
        if (json_is_null(v))
            json_object_del(u, k);
        else
            json_object_set(u, k, v);
    }
}

static void test_plan_table(void)
{
    size_t i;

    for (i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
        const struct plan_case *t = &plan_cases[i];
        json_t *want = J(t->want), *have = t->have ? J(t->have) : NULL, *after;
        json_t *want0 = json_deep_copy(want), *have0 = json_deep_copy(have);
        struct userdiff d;
        struct userdiff_plan p;
        struct err e;
        int ok = 1;

        err_clear(&e);
        CHECK_INT(userdiff_compare(want, have, &d, &e), 0);
        if (d.fields != t->fields) {
            fprintf(stderr, "case '%s': fields 0x%x, expected 0x%x\n", t->what, d.fields,
                    t->fields);
            ok = 0;
        }
        CHECK_INT(userdiff_plan(want, have, &d, &p, &e), 0);
        if (p.action != t->action || p.via_job != t->via_job) {
            fprintf(stderr, "case '%s': action %d via_job %d\n", t->what, p.action, p.via_job);
            ok = 0;
        }
        if (!json_is(t->what, p.patch, t->patch) || !json_is(t->what, p.patch2, t->patch2))
            ok = 0;
        CHECK(ok);

        /* Carried out on a model of Auth0, the plan gives want's profile. */
        after = p.via_job ? model_job(want, have) : json_deep_copy(have);
        CHECK(after != NULL);
        if (after) {
            struct userdiff d2;
            if (p.patch)
                model_patch(after, p.patch);
            if (p.patch2)
                model_patch(after, p.patch2);
            CHECK_INT(userdiff_compare(want, after, &d2, &e), 0);
            if (d2.fields)
                fprintf(stderr, "case '%s': after the plan fields 0x%x still differ\n", t->what,
                        d2.fields);
            CHECK_INT(d2.fields, 0);
            userdiff_release(&d2);
        }
        /* The inputs are never changed. */
        CHECK(json_equal(want, want0));
        CHECK((!have && !have0) || json_equal(have, have0));
        json_decref(after);
        json_decref(want0);
        json_decref(have0);
        userdiff_plan_release(&p);
        userdiff_plan_release(&p);
        userdiff_release(&d);
        userdiff_release(&d);
        json_decref(want);
        json_decref(have);
    }
}

/* ---- grants -------------------------------------------------------------- */

struct grant_case {
    const char *what;
    const char *want, *have; /* the roles/organizations part of a user */
    const char *roles_add, *roles_remove, *orgs_add, *orgs_remove, *org_roles_add,
        *org_roles_remove;
    bool changed;
};

static const struct grant_case grant_cases[] = {
    {"no grants", "{}", "{}", "[]", "[]", "[]", "[]", "[]", "[]", false},
    {"roles compare by name, not id", "{\"roles\":[{\"id\":\"rol_A\",\"name\":\"admin\"}]}",
     "{\"roles\":[{\"id\":\"rol_B\",\"name\":\"admin\",\"description\":\"d\"}]}", "[]", "[]", "[]",
     "[]", "[]", "[]", false},
    {"role added and removed",
     "{\"roles\":[{\"id\":\"1\",\"name\":\"viewer\"},{\"id\":\"2\",\"name\":\"admin\"}]}",
     "{\"roles\":[{\"id\":\"3\",\"name\":\"viewer\"},{\"id\":\"4\",\"name\":\"editor\"}]}",
     "[\"admin\"]", "[\"editor\"]", "[]", "[]", "[]", "[]", true},
    {"all roles removed", "{\"roles\":[]}", "{\"roles\":[{\"name\":\"b\"},{\"name\":\"a\"}]}", "[]",
     "[\"a\",\"b\"]", "[]", "[]", "[]", "[]", true},
    {"duplicate role names collapse", "{\"roles\":[{\"name\":\"x\"},{\"name\":\"x\"},\"y\"]}",
     "{\"roles\":[{\"name\":\"y\"}]}", "[\"x\"]", "[]", "[]", "[]", "[]", "[]", true},
    {"organization joined with member roles",
     "{\"organizations\":[{\"id\":\"org_1\",\"name\":\"acme\",\"roles\":[{\"id\":\"r2\","
     "\"name\":\"owner\"},{\"id\":\"r1\",\"name\":\"billing\"}]}]}",
     "{\"organizations\":[]}", "[]", "[]", "[\"acme\"]", "[]",
     "[{\"name\":\"acme\",\"roles\":[\"billing\",\"owner\"]}]", "[]", true},
    {"organization joined without member roles",
     "{\"organizations\":[{\"id\":\"org_1\",\"name\":\"acme\",\"roles\":[]}]}", "{}", "[]", "[]",
     "[\"acme\"]", "[]", "[]", "[]", true},
    {"organization left: no separate member-role removal", "{}",
     "{\"organizations\":[{\"id\":\"org_2\",\"name\":\"gone\",\"roles\":[{\"name\":\"r\"}]}]}",
     "[]", "[]", "[]", "[\"gone\"]", "[]", "[]", true},
    {"member roles changed in a kept organization",
     "{\"organizations\":[{\"id\":\"o1\",\"name\":\"acme\",\"roles\":[{\"name\":\"a\"},"
     "{\"name\":\"b\"}]},{\"id\":\"o3\",\"name\":\"beta\",\"roles\":[]}]}",
     "{\"organizations\":[{\"id\":\"o9\",\"name\":\"acme\",\"roles\":[{\"name\":\"b\"},"
     "{\"name\":\"c\"}]},{\"id\":\"o4\",\"name\":\"beta\",\"roles\":[{\"name\":\"x\"}]},"
     "{\"id\":\"o5\",\"name\":\"gamma\",\"roles\":[]}]}",
     "[]", "[]", "[]", "[\"gamma\"]", "[{\"name\":\"acme\",\"roles\":[\"a\"]}]",
     "[{\"name\":\"acme\",\"roles\":[\"c\"]},{\"name\":\"beta\",\"roles\":[\"x\"]}]", true},
    {"organizations compare by name, member roles without a roles key",
     "{\"organizations\":[{\"id\":\"o1\",\"name\":\"acme\"}]}",
     "{\"organizations\":[{\"id\":\"o2\",\"name\":\"acme\",\"roles\":[]}]}", "[]", "[]", "[]", "[]",
     "[]", "[]", false},
    {"the target view's shape against Auth0's",
     "{\"roles\":[\"admin\"],\"organizations\":[{\"name\":\"acme\",\"roles\":[\"owner\"]}]}",
     "{\"roles\":[{\"id\":\"r\",\"name\":\"admin\"}],\"organizations\":[{\"id\":\"o\","
     "\"name\":\"acme\",\"roles\":[{\"id\":\"x\",\"name\":\"owner\"}]}]}",
     "[]", "[]", "[]", "[]", "[]", "[]", false},
};

static json_t *with_profile(const char *grants)
{
    json_t *u = J(grants);

    json_object_set_new(u, "user_id", json_string("auth0|1"));
    json_object_set_new(u, "email", json_string("a@x.example"));
    return u;
}

static void test_grant_table(void)
{
    size_t i;

    for (i = 0; i < sizeof(grant_cases) / sizeof(grant_cases[0]); i++) {
        const struct grant_case *t = &grant_cases[i];
        json_t *want = with_profile(t->want), *have = with_profile(t->have);
        struct userdiff d;
        struct err e;

        CHECK_INT(userdiff_compare(want, have, &d, &e), 0);
        CHECK_INT(d.fields, 0);
        CHECK(json_is(t->what, d.roles_add, t->roles_add));
        CHECK(json_is(t->what, d.roles_remove, t->roles_remove));
        CHECK(json_is(t->what, d.orgs_add, t->orgs_add));
        CHECK(json_is(t->what, d.orgs_remove, t->orgs_remove));
        CHECK(json_is(t->what, d.org_roles_add, t->org_roles_add));
        CHECK(json_is(t->what, d.org_roles_remove, t->org_roles_remove));
        CHECK_INT(userdiff_grants_changed(&d), t->changed);
        userdiff_release(&d);
        json_decref(want);
        json_decref(have);
    }
}

/* Not in the target: every grant of want is added. */
static void test_grants_new_user(void)
{
    json_t *want = J("{\"user_id\":\"auth0|1\",\"email\":\"a@x.example\",\"roles\":[{\"id\":\"r\","
                     "\"name\":\"admin\"}],\"organizations\":[{\"id\":\"o\",\"name\":\"acme\","
                     "\"roles\":[{\"id\":\"x\",\"name\":\"owner\"}]}]}");
    struct userdiff d;
    struct err e;

    CHECK_INT(userdiff_compare(want, NULL, &d, &e), 0);
    CHECK(json_is("new user", d.roles_add, "[\"admin\"]"));
    CHECK(json_is("new user", d.roles_remove, "[]"));
    CHECK(json_is("new user", d.orgs_add, "[\"acme\"]"));
    CHECK(json_is("new user", d.org_roles_add, "[{\"name\":\"acme\",\"roles\":[\"owner\"]}]"));
    CHECK(userdiff_grants_changed(&d));
    userdiff_release(&d);
    json_decref(want);
}

/* The target view of a snapshot user compares equal to the user itself. */
static void test_expected_roundtrip(void)
{
    json_t *snap = J("{\"user_id\":\"auth0|1\",\"email\":\"a@x.example\","
                     "\"email_verified\":\"true\",\"given_name\":\"A\",\"blocked\":false,"
                     "\"app_metadata\":{\"p\":1},\"identities\":[{\"provider\":\"auth0\"}],"
                     "\"roles\":[{\"id\":\"r\",\"name\":\"admin\"}],\"organizations\":[{\"id\":"
                     "\"o\",\"name\":\"acme\",\"roles\":[{\"id\":\"x\",\"name\":\"owner\"}]}]}");
    json_t *view = userconv_expected(snap, NULL);
    struct userdiff d;
    struct err e;

    CHECK_INT(userdiff_compare(view, snap, &d, &e), 0);
    CHECK_INT(d.fields, 0);
    CHECK(!userdiff_grants_changed(&d));
    userdiff_release(&d);
    CHECK_INT(userdiff_compare(snap, view, &d, &e), 0);
    CHECK_INT(d.fields, 0);
    CHECK(!userdiff_grants_changed(&d));
    userdiff_release(&d);
    json_decref(view);
    json_decref(snap);
}

/* A passwordless (email) user's new email: one PATCH with the email, the
 * email_verified it must keep (a new email resets it) and no mail; a
 * change that leaves the email alone carries no email_verified. */
static void test_plan_direct_email(void)
{
    json_t *have = J("{\"user_id\":\"email|1\",\"email\":\"old@x.example\","
                     "\"email_verified\":true,\"name\":\"A\"}");
    json_t *want = J("{\"user_id\":\"email|1\",\"email\":\"new@x.example\","
                     "\"email_verified\":true,\"name\":\"A\"}");
    json_t *renamed = J("{\"user_id\":\"email|1\",\"email\":\"old@x.example\","
                        "\"email_verified\":true,\"name\":\"B\"}");
    struct userdiff d;
    struct userdiff_plan p;
    struct err e;
    char *body;

    err_clear(&e);
    CHECK_INT(userdiff_compare(want, have, &d, &e), 0);
    CHECK_INT(userdiff_plan_direct(want, have, &d, "email", &p, &e), 0);
    CHECK(!p.via_job && p.patch2 == NULL);
    body = json_dumps(p.patch, JSON_SORT_KEYS | JSON_COMPACT);
    CHECK_STR(body, "{\"email\":\"new@x.example\",\"email_verified\":true,\"verify_email\":false}");
    free(body);
    userdiff_plan_release(&p);
    userdiff_release(&d);

    CHECK_INT(userdiff_compare(renamed, have, &d, &e), 0);
    CHECK_INT(userdiff_plan_direct(renamed, have, &d, "email", &p, &e), 0);
    body = json_dumps(p.patch, JSON_SORT_KEYS | JSON_COMPACT);
    CHECK_STR(body, "{\"name\":\"B\"}");
    free(body);
    userdiff_plan_release(&p);
    userdiff_release(&d);
    json_decref(have);
    json_decref(want);
    json_decref(renamed);
}

/* ---- errors and names ---------------------------------------------------- */

static void test_bad_types(void)
{
    static const struct {
        const char *want, *have;
    } cases[] = {
        {"{\"user_id\":\"auth0|1\",\"email_verified\":\"yes\"}", "{}"},
        {"{\"user_id\":\"auth0|1\"}", "{\"blocked\":1}"},
        {"{\"user_id\":\"auth0|1\",\"user_metadata\":\"x\"}", "{}"},
        {"{\"user_id\":\"auth0|1\"}", "{\"app_metadata\":[1]}"},
        {"[]", "{}"},
        {"{}", "7"},
    };
    struct userdiff d;
    struct userdiff_plan p;
    struct err e;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *want = J(cases[i].want), *have = J(cases[i].have);
        err_clear(&e);
        CHECK_INT(userdiff_compare(want, have, &d, &e), -1);
        CHECK_INT(e.code, ERR_SNAPSHOT);
        CHECK(d.roles_add == NULL && d.fields == 0);
        json_decref(want);
        json_decref(have);
    }
    /* The message names the user, not its data. */
    {
        json_t *want = J("{\"user_id\":\"auth0|77\",\"user_metadata\":\"secret\"}");
        json_t *arr = J("[]");
        CHECK_INT(userdiff_compare(want, NULL, &d, &e), -1);
        CHECK(strstr(e.msg, "auth0|77") != NULL);
        CHECK(strstr(e.msg, "user_metadata") != NULL);
        CHECK(strstr(e.msg, "secret") == NULL);
        userdiff_init(&d);
        d.fields = UD_BLOCKED;
        CHECK_INT(userdiff_plan(arr, NULL, &d, &p, &e), -1);
        CHECK(p.patch == NULL && p.patch2 == NULL);
        json_decref(arr);
        json_decref(want);
    }
}

static void test_field_names(void)
{
    static const struct {
        unsigned bit;
        const char *name;
    } cases[] = {
        {UD_EMAIL, "email"},
        {UD_EMAIL_VERIFIED, "email_verified"},
        {UD_USERNAME, "username"},
        {UD_PHONE_NUMBER, "phone_number"},
        {UD_PHONE_VERIFIED, "phone_verified"},
        {UD_GIVEN_NAME, "given_name"},
        {UD_FAMILY_NAME, "family_name"},
        {UD_NAME, "name"},
        {UD_NICKNAME, "nickname"},
        {UD_PICTURE, "picture"},
        {UD_BLOCKED, "blocked"},
        {UD_USER_METADATA, "user_metadata"},
        {UD_APP_METADATA, "app_metadata"},
    };
    struct userdiff d;
    unsigned all = 0;
    json_t *names;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_STR(userdiff_field_name(cases[i].bit), cases[i].name);
        CHECK((all & cases[i].bit) == 0); /* distinct single bits */
        CHECK((cases[i].bit & (cases[i].bit - 1)) == 0);
        all |= cases[i].bit;
    }
    CHECK_INT(all, UD_ALL_FIELDS);
    CHECK_INT(UD_UPSERTABLE & UD_PATCH_ONLY, 0);
    CHECK_INT(UD_UPSERTABLE | UD_PATCH_ONLY | UD_EMAIL, UD_ALL_FIELDS);
    CHECK(userdiff_field_name(0) == NULL);
    CHECK(userdiff_field_name(UD_EMAIL | UD_BLOCKED) == NULL);
    CHECK(userdiff_field_name(1u << 13) == NULL);

    userdiff_init(&d);
    d.fields = UD_APP_METADATA | UD_EMAIL | UD_BLOCKED;
    names = userdiff_fields_json(&d);
    CHECK(json_is("names", names, "[\"email\",\"blocked\",\"app_metadata\"]"));
    json_decref(names);
    d.fields = 0;
    names = userdiff_fields_json(&d);
    CHECK(json_is("no names", names, "[]"));
    json_decref(names);
    userdiff_release(&d);
}

int main(void)
{
    RUN(test_plan_table);
    RUN(test_grant_table);
    RUN(test_grants_new_user);
    RUN(test_expected_roundtrip);
    RUN(test_plan_direct_email);
    RUN(test_bad_types);
    RUN(test_field_names);
    return harness_done();
}
