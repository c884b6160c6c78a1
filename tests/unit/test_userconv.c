/* Unit tests for userconv.c: import records, social ids, kinds, the target view. */
#include "buf.h"
#include "canonjson.h"
#include "err.h"
#include "harness.h"
#include "harness_json.h"
#include "sha256.h"
#include "userconv.h"

#include <stdlib.h>
#include <string.h>

#define HASH_OK "$2b$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"

/* CHECKs that got equals the JSON text want, printing both when not. */
#define CHECK_JSON(got, want_text)                                                                 \
    do {                                                                                           \
        json_t *w_ = J(want_text);                                                                 \
        harness_cur_checks++;                                                                      \
        if (!(got) || !json_equal((got), w_)) {                                                    \
            char *g_ = (got) ? json_dumps((got), JSON_COMPACT | JSON_SORT_KEYS) : NULL;            \
            char *s_ = json_dumps(w_, JSON_COMPACT | JSON_SORT_KEYS);                              \
            harness_cur_failed++;                                                                  \
            fprintf(stderr, "%s:%d: got %s\n    expected %s\n", __FILE__, __LINE__,                \
                    g_ ? g_ : "(null)", s_);                                                       \
            free(g_);                                                                              \
            free(s_);                                                                              \
        }                                                                                          \
        json_decref(w_);                                                                           \
    } while (0)

/* ---- userconv_to_import -------------------------------------------------- */

struct import_case {
    const char *what;
    const char *user;
    bool convert;
    const char *hash;
    int rc;             /* expected return */
    enum err_code code; /* when rc is -1 */
    const char *record; /* expected record, NULL when none */
    const char *reason; /* expected skip reason, NULL when not skipped */
    bool reserved, coerced, converted;
};

static const struct import_case import_cases[] = {
    {"a full database user keeps only importable fields",
     "{\"user_id\":\"auth0|5f1a\",\"email\":\"a@x.example\",\"email_verified\":true,"
     "\"username\":\"alice\",\"given_name\":\"Alice\",\"family_name\":\"Liddell\","
     "\"name\":\"Alice Liddell\",\"nickname\":\"ali\",\"picture\":\"https://p.example/a.png\","
     "\"blocked\":true,\"phone_number\":\"+15550100\",\"phone_verified\":true,"
     "\"user_metadata\":{\"theme\":\"dark\",\"n\":{\"deep\":[1,2]}},"
     "\"app_metadata\":{\"plan\":\"gold\"},"
     "\"identities\":[{\"connection\":\"db\",\"user_id\":\"5f1a\",\"provider\":\"auth0\","
     "\"isSocial\":false}],\"created_at\":\"2020-01-01T00:00:00.000Z\","
     "\"updated_at\":\"2021-01-01T00:00:00.000Z\",\"last_login\":\"x\",\"last_ip\":\"10.0.0.1\","
     "\"logins_count\":7,\"multifactor\":[\"guardian\"],\"multifactor_last_modified\":\"x\","
     "\"last_password_reset\":\"x\",\"blocked_for\":[],\"guardian_authenticators\":[],"
     "\"roles\":[{\"id\":\"rol_1\",\"name\":\"admin\"}],"
     "\"organizations\":[{\"id\":\"org_1\",\"name\":\"acme\",\"roles\":[]}]}",
     false, NULL, 0, ERR_NONE,
     "{\"user_id\":\"5f1a\",\"email\":\"a@x.example\",\"email_verified\":true,"
     "\"username\":\"alice\",\"given_name\":\"Alice\",\"family_name\":\"Liddell\","
     "\"name\":\"Alice Liddell\",\"nickname\":\"ali\",\"picture\":\"https://p.example/a.png\","
     "\"blocked\":true,\"phone_number\":\"+15550100\",\"phone_verified\":true,"
     "\"user_metadata\":{\"theme\":\"dark\",\"n\":{\"deep\":[1,2]}},"
     "\"app_metadata\":{\"plan\":\"gold\"}}",
     NULL, false, false, false},
    {"email_verified absent is written false",
     "{\"user_id\":\"auth0|1\",\"email\":\"b@x.example\"}", false, NULL, 0, ERR_NONE,
     "{\"user_id\":\"1\",\"email\":\"b@x.example\",\"email_verified\":false}", NULL, false, false,
     false},
    {"email_verified false stays explicit",
     "{\"user_id\":\"auth0|1\",\"email\":\"b@x.example\",\"email_verified\":false}", false, NULL, 0,
     ERR_NONE, "{\"user_id\":\"1\",\"email\":\"b@x.example\",\"email_verified\":false}", NULL,
     false, false, false},
    {"email_verified \"true\" string is coerced",
     "{\"user_id\":\"auth0|1\",\"email\":\"b@x.example\",\"email_verified\":\"true\"}", false, NULL,
     0, ERR_NONE, "{\"user_id\":\"1\",\"email\":\"b@x.example\",\"email_verified\":true}", NULL,
     false, true, false},
    {"email_verified \"false\" string is coerced",
     "{\"user_id\":\"auth0|1\",\"email\":\"b@x.example\",\"email_verified\":\"false\"}", false,
     NULL, 0, ERR_NONE, "{\"user_id\":\"1\",\"email\":\"b@x.example\",\"email_verified\":false}",
     NULL, false, true, false},
    {"email_verified null is false",
     "{\"user_id\":\"auth0|1\",\"email\":\"b@x.example\",\"email_verified\":null}", false, NULL, 0,
     ERR_NONE, "{\"user_id\":\"1\",\"email\":\"b@x.example\",\"email_verified\":false}", NULL,
     false, false, false},
    {"email_verified \"yes\" is skipped",
     "{\"user_id\":\"auth0|1\",\"email\":\"b@x.example\",\"email_verified\":\"yes\"}", false, NULL,
     0, ERR_NONE, NULL, "email_verified is not a boolean", false, false, false},
    {"no email is skipped", "{\"user_id\":\"auth0|1\",\"username\":\"bob\"}", false, NULL, 0,
     ERR_NONE, NULL, "no email", false, false, false},
    {"null email is skipped", "{\"user_id\":\"auth0|1\",\"email\":null}", false, NULL, 0, ERR_NONE,
     NULL, "no email", false, false, false},
    {"empty email is skipped", "{\"user_id\":\"auth0|1\",\"email\":\"\"}", false, NULL, 0, ERR_NONE,
     NULL, "no email", false, false, false},
    {"numeric email is skipped", "{\"user_id\":\"auth0|1\",\"email\":42}", false, NULL, 0, ERR_NONE,
     NULL, "email is not a string", false, false, false},
    {"email without @ is skipped", "{\"user_id\":\"auth0|1\",\"email\":\"bob\"}", false, NULL, 0,
     ERR_NONE, NULL, "email is not an address", false, false, false},
    {"string user_metadata is skipped",
     "{\"user_id\":\"auth0|1\",\"email\":\"c@x.example\",\"user_metadata\":\"{}\"}", false, NULL, 0,
     ERR_NONE, NULL, "user_metadata is not an object", false, false, false},
    {"array app_metadata is skipped",
     "{\"user_id\":\"auth0|1\",\"email\":\"c@x.example\",\"app_metadata\":[]}", false, NULL, 0,
     ERR_NONE, NULL, "app_metadata is not an object", false, false, false},
    {"numeric given_name is skipped",
     "{\"user_id\":\"auth0|1\",\"email\":\"c@x.example\",\"given_name\":5}", false, NULL, 0,
     ERR_NONE, NULL, "given_name is not a string", false, false, false},
    {"numeric phone_number is skipped",
     "{\"user_id\":\"auth0|1\",\"email\":\"c@x.example\",\"phone_number\":15550100}", false, NULL,
     0, ERR_NONE, NULL, "phone_number is not a string", false, false, false},
    {"blocked 1 is skipped", "{\"user_id\":\"auth0|1\",\"email\":\"c@x.example\",\"blocked\":1}",
     false, NULL, 0, ERR_NONE, NULL, "blocked is not a boolean", false, false, false},
    {"numeric user_id is skipped", "{\"user_id\":12,\"email\":\"c@x.example\"}", false, NULL, 0,
     ERR_NONE, NULL, "user_id is not a string", false, false, false},
    {"bare auth0| user_id is skipped", "{\"user_id\":\"auth0|\",\"email\":\"c@x.example\"}", false,
     NULL, 0, ERR_NONE, NULL, "user_id is empty after its provider prefix", false, false, false},
    {"reserved app_metadata keys are removed and reported",
     "{\"user_id\":\"auth0|1\",\"email\":\"d@x.example\",\"app_metadata\":{\"plan\":\"p\","
     "\"email\":\"x\",\"blocked\":true,\"__tenant\":\"t\",\"_id\":1,\"clientID\":\"c\","
     "\"created_at\":1,\"email_verified\":1,\"globalClientID\":1,\"global_client_id\":1,"
     "\"identities\":1,\"lastIP\":1,\"lastLogin\":1,\"loginsCount\":1,\"metadata\":1,"
     "\"multifactor_last_modified\":1,\"multifactor\":1,\"updated_at\":1,\"user_id\":1,"
     "\"Email\":\"kept: keys are case-sensitive\"}}",
     false, NULL, 0, ERR_NONE,
     "{\"user_id\":\"1\",\"email\":\"d@x.example\",\"email_verified\":false,\"app_metadata\":{"
     "\"plan\":\"p\",\"Email\":\"kept: keys are case-sensitive\"}}",
     NULL, true, false, false},
    {"app_metadata of reserved keys only becomes {}",
     "{\"user_id\":\"auth0|1\",\"email\":\"d@x.example\",\"app_metadata\":{\"user_id\":\"u\"}}",
     false, NULL, 0, ERR_NONE,
     "{\"user_id\":\"1\",\"email\":\"d@x.example\",\"email_verified\":false,\"app_metadata\":{}}",
     NULL, true, false, false},
    {"a social user is an error without conversion",
     "{\"user_id\":\"google-oauth2|1234\",\"email\":\"e@x.example\"}", false, NULL, -1, ERR_USAGE,
     NULL, NULL, false, false, false},
    {"a social user is converted on request",
     "{\"user_id\":\"google-oauth2|1234\",\"email\":\"e@x.example\",\"email_verified\":true}", true,
     NULL, 0, ERR_NONE,
     "{\"user_id\":\"google-oauth2-1234\",\"email\":\"e@x.example\",\"email_verified\":true}", NULL,
     false, false, true},
    {"an enterprise user is converted on request",
     "{\"user_id\":\"samlp|acme-saml|bob@acme.example\",\"email\":\"bob@acme.example\"}", true,
     NULL, 0, ERR_NONE,
     "{\"user_id\":\"samlp-acme-saml-bob_acme.example\",\"email\":\"bob@acme.example\","
     "\"email_verified\":false}",
     NULL, false, false, true},
    {"conversion leaves database ids alone",
     "{\"user_id\":\"auth0|abc\",\"email\":\"e@x.example\"}", true, NULL, 0, ERR_NONE,
     "{\"user_id\":\"abc\",\"email\":\"e@x.example\",\"email_verified\":false}", NULL, false, false,
     false},
    {"no user_id: Auth0 makes one", "{\"email\":\"f@x.example\"}", false, NULL, 0, ERR_NONE,
     "{\"email\":\"f@x.example\",\"email_verified\":false}", NULL, false, false, false},
    {"a password hash is added",
     "{\"user_id\":\"auth0|1\",\"email\":\"g@x.example\",\"email_verified\":true}", false, HASH_OK,
     0, ERR_NONE,
     "{\"user_id\":\"1\",\"email\":\"g@x.example\",\"email_verified\":true,"
     "\"password_hash\":\"" HASH_OK "\"}",
     NULL, false, false, false},
    {"a bad password hash is an error", "{\"user_id\":\"auth0|1\",\"email\":\"g@x.example\"}",
     false, "$2b$12$short", -1, ERR_USAGE, NULL, NULL, false, false, false},
    {"null and empty fields are dropped",
     "{\"user_id\":\"auth0|1\",\"email\":\"h@x.example\",\"username\":null,\"given_name\":\"\","
     "\"family_name\":null,\"name\":\"\",\"nickname\":null,\"picture\":null,\"phone_number\":\"\","
     "\"phone_verified\":null,\"blocked\":null,\"user_metadata\":null,\"app_metadata\":null}",
     false, NULL, 0, ERR_NONE,
     "{\"user_id\":\"1\",\"email\":\"h@x.example\",\"email_verified\":false}", NULL, false, false,
     false},
    {"blocked and phone_verified strings are coerced, false kept",
     "{\"user_id\":\"auth0|1\",\"email\":\"i@x.example\",\"blocked\":\"true\","
     "\"phone_verified\":false,\"phone_number\":\"+15550101\"}",
     false, NULL, 0, ERR_NONE,
     "{\"user_id\":\"1\",\"email\":\"i@x.example\",\"email_verified\":false,\"blocked\":true,"
     "\"phone_number\":\"+15550101\",\"phone_verified\":false}",
     NULL, false, false, false},
    {"a user that is not an object is an error", "[1,2]", false, NULL, -1, ERR_USAGE, NULL, NULL,
     false, false, false},
};

static void test_to_import_table(void)
{
    size_t i;

    for (i = 0; i < sizeof(import_cases) / sizeof(import_cases[0]); i++) {
        const struct import_case *t = &import_cases[i];
        struct userconv_opts o;
        struct userconv_info info;
        struct err e;
        json_t *user = J(t->user), *before = json_deep_copy(user), *rec = (json_t *)1;
        int rc;

        err_clear(&e);
        userconv_opts_init(&o);
        o.convert_ids = t->convert;
        o.password_hash = t->hash;
        rc = userconv_to_import(user, &o, &rec, &info, &e);
        if (rc != t->rc || (rc < 0 && e.code != t->code))
            fprintf(stderr, "case '%s': rc %d code %d (%s)\n", t->what, rc, e.code, e.msg);
        CHECK_INT(rc, t->rc);
        if (rc < 0) {
            CHECK_INT(e.code, t->code);
            CHECK(e.msg[0] != '\0');
            CHECK(rec == NULL);
        } else if (t->reason) {
            CHECK(rec == NULL);
            CHECK(info.skipped);
            CHECK_STR(info.reason, t->reason);
        } else {
            json_t *w = J(t->record);
            if (!rec || !json_equal(rec, w))
                fprintf(stderr, "case '%s'\n", t->what);
            json_decref(w);
            CHECK_JSON(rec, t->record);
            CHECK(!info.skipped);
            CHECK_INT(info.reserved_app_metadata, t->reserved);
            CHECK_INT(info.email_verified_coerced, t->coerced);
            CHECK_INT(info.id_converted, t->converted);
            if (rec) {
                char *s = json_dumps(rec, USERCONV_JSON_FLAGS);
                CHECK(s != NULL);
                CHECK_INT(info.bytes, s ? strlen(s) : 0);
                free(s);
                CHECK(json_is_boolean(json_object_get(rec, "email_verified")));
            }
        }
        /* The snapshot user is never changed. */
        CHECK(json_equal(user, before));
        json_decref(rec == (json_t *)1 ? NULL : rec);
        json_decref(user);
        json_decref(before);
    }
}

/* ---- userconv_import_text: the same record from the canonical parse ------ */

/* One user both ways: userconv_import_text() on its parse must give the
 * bytes json_dumps() gives for userconv_to_import() of json_loadb() of the
 * same text (or the same skip or error), appending to what out held; or
 * decline with out unchanged. 1 done, 0 declined. */
static int both_ways(const char *text, bool convert, const char *hash)
{
    struct userconv_opts o;
    struct userconv_info i1, i2;
    struct canonjson cj;
    struct err e1, e2;
    struct buf out;
    json_t *user = J(text), *rec = NULL;
    char *want = NULL;
    int r1, r2;

    err_clear(&e1);
    err_clear(&e2);
    userconv_opts_init(&o);
    o.convert_ids = convert;
    o.password_hash = hash;
    canonjson_init(&cj);
    buf_init(&out, 1u << 20);
    buf_appends(&out, "pre", &e2);
    CHECK_INT(canonjson_parse(&cj, text, strlen(text), &e2), 1);
    r1 = userconv_to_import(user, &o, &rec, &i1, &e1);
    r2 = userconv_import_text(&cj, &o, &out, &i2, &e2);
    if (r2 == 0) {
        CHECK(out.len == 3 && strcmp(out.data, "pre") == 0);
    } else if (r1 < 0) {
        CHECK_INT(r2, -1);
        CHECK_INT(e2.code, e1.code);
        CHECK_STR(e2.msg, e1.msg);
        CHECK_INT(out.len, 3);
    } else {
        CHECK_INT(r2, 1);
        CHECK_INT(i2.skipped, i1.skipped);
        CHECK_STR(i2.reason, i1.reason);
        if (rec) {
            want = json_dumps(rec, USERCONV_JSON_FLAGS);
            CHECK(want && out.len == 3 + strlen(want) &&
                  memcmp(out.data + 3, want, out.len - 3) == 0);
            if (want && (out.len != 3 + strlen(want) || memcmp(out.data + 3, want, out.len - 3)))
                fprintf(stderr, "  jansson %s\n  text    %s\n", want, out.data + 3);
            CHECK_INT(i2.bytes, want ? strlen(want) : 0);
            CHECK_INT(i2.reserved_app_metadata, i1.reserved_app_metadata);
            CHECK_INT(i2.email_verified_coerced, i1.email_verified_coerced);
            CHECK_INT(i2.id_converted, i1.id_converted);
        } else {
            CHECK_INT(out.len, 3);
        }
    }
    free(want);
    json_decref(rec);
    json_decref(user);
    buf_release(&out);
    canonjson_release(&cj);
    return r2 != 0;
}

static void test_import_text_table(void)
{
    /* cases whose metadata keys are not in key order in the text */
    static const char *const unsorted[] = {"a full database user keeps only importable fields",
                                           "reserved app_metadata keys are removed and reported"};
    size_t i, k, done = 0;

    for (i = 0; i < sizeof(import_cases) / sizeof(import_cases[0]); i++) {
        const struct import_case *t = &import_cases[i];
        bool declines = strncmp(t->user, "{\"user_id\":\"auth0|", 18) != 0 &&
                        strstr(t->user, "\"user_id\":\"") != NULL; /* another provider */
        int r;

        if (t->user[0] != '{')
            continue; /* not an object: no parse to give */
        for (k = 0; k < sizeof(unsorted) / sizeof(unsorted[0]); k++)
            declines = declines || strcmp(t->what, unsorted[k]) == 0;
        r = both_ways(t->user, t->convert, t->hash);
        done += (size_t)r;
        if (r != !declines)
            fprintf(stderr, "case '%s': %s\n", t->what, r ? "done" : "declined");
        CHECK_INT(r, !declines);
    }
    CHECK(done > 20);
}

static void test_import_text_values(void)
{
    /* values copied as jansson writes them */
    CHECK_INT(both_ways("{\"user_id\":\"auth0|v1\",\"email\":\"v@x.example\",\"name\":"
                        "\"Zo\\u00eb \\\"Q\\\" \\\\ \\/ \\u2028 \\t \\u001f end\","
                        "\"user_metadata\":{\"a\":[1.0,-0,1e5,2.50,-12,9223372036854775807],"
                        "\"b\":{\"c\":null,\"d\":true,\"e\":\"\\ud83d\\ude00\"},\"f\":\"日本\"}}",
                        false, NULL),
              1);
    /* the record's order whatever the user's */
    CHECK_INT(both_ways("{\"user_metadata\":{},\"picture\":\"p\",\"email_verified\":true,"
                        "\"email\":\"o@x.example\",\"blocked\":false,\"user_id\":\"auth0|o\","
                        "\"app_metadata\":{\"z\":1,\"zz\":{\"y\":[]}}}",
                        false, HASH_OK),
              1);
    /* metadata keys out of order: jansson keeps them so, the parse sorts */
    CHECK_INT(both_ways("{\"user_id\":\"auth0|u\",\"email\":\"u@x.example\","
                        "\"user_metadata\":{\"b\":1,\"a\":2}}",
                        false, NULL),
              0);
    CHECK_INT(both_ways("{\"user_id\":\"auth0|u\",\"email\":\"u@x.example\","
                        "\"app_metadata\":{\"a\":[{\"y\":1,\"x\":2}]}}",
                        false, NULL),
              0);
    /* values the rules read, given with escapes */
    CHECK_INT(both_ways("{\"user_id\":\"auth0|e\",\"email\":\"e\\u0040x.example\"}", false, NULL),
              0);
    CHECK_INT(both_ways("{\"user_id\":\"auth0|e\\\"q\",\"email\":\"e@x.example\"}", false, NULL),
              0);
    CHECK_INT(both_ways("{\"user_id\":\"auth0|e\",\"email\":\"e@x.example\","
                        "\"blocked\":\"tru\\u0065\"}",
                        false, NULL),
              0);
    /* skips found before the escapes matter */
    CHECK_INT(both_ways("{\"user_id\":\"auth0|s\",\"email\":\"s@x.example\",\"nickname\":[]}",
                        false, NULL),
              1);
    CHECK_INT(both_ways("{\"user_id\":\"auth0|s\",\"email\":\"s@x.example\","
                        "\"phone_verified\":\"no\"}",
                        false, NULL),
              1);
}

/* A record that does not fit the buffer's ceiling: -1, the buffer as it was. */
static void test_import_text_ceiling(void)
{
    const char *text =
        "{\"user_id\":\"auth0|c\",\"email\":\"c@x.example\","
        "\"user_metadata\":{\"notes\":\"0123456789012345678901234567890123456789\"}}";
    struct userconv_info info;
    struct canonjson cj;
    struct buf out;
    struct err e;

    err_clear(&e);
    canonjson_init(&cj);
    buf_init(&out, 64);
    CHECK_INT(canonjson_parse(&cj, text, strlen(text), &e), 1);
    CHECK_INT(buf_appends(&out, "[", &e), 0);
    CHECK_INT(userconv_import_text(&cj, NULL, &out, &info, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(out.len == 1 && strcmp(out.data, "[") == 0);
    buf_release(&out);
    canonjson_release(&cj);
}

/* The record's metadata is a copy: changing the user afterwards leaves it. */
static void test_to_import_copies(void)
{
    json_t *user = J("{\"user_id\":\"auth0|1\",\"email\":\"a@x.example\","
                     "\"user_metadata\":{\"a\":{\"b\":1}}}"),
           *rec = NULL;
    struct userconv_info info;
    struct err e;

    CHECK_INT(userconv_to_import(user, NULL, &rec, &info, &e), 0);
    json_object_set_new(json_object_get(json_object_get(user, "user_metadata"), "a"), "b",
                        json_integer(2));
    json_decref(user);
    CHECK_JSON(rec, "{\"user_id\":\"1\",\"email\":\"a@x.example\",\"email_verified\":false,"
                    "\"user_metadata\":{\"a\":{\"b\":1}}}");
    json_decref(rec);
}

static void test_reserved_keys(void)
{
    static const struct {
        const char *key;
        bool reserved;
    } cases[] = {
        {"__tenant", true},
        {"_id", true},
        {"blocked", true},
        {"clientID", true},
        {"created_at", true},
        {"email_verified", true},
        {"email", true},
        {"globalClientID", true},
        {"global_client_id", true},
        {"identities", true},
        {"lastIP", true},
        {"lastLogin", true},
        {"loginsCount", true},
        {"metadata", true},
        {"multifactor_last_modified", true},
        {"multifactor", true},
        {"updated_at", true},
        {"user_id", true},
        {"plan", false},
        {"Email", false},
        {"emails", false},
        {"", false},
        {NULL, false},
    };
    json_t *user, *res = (json_t *)1;
    struct err e;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_INT(userconv_reserved_app_metadata_key(cases[i].key), cases[i].reserved);

    user = J("{\"app_metadata\":{\"plan\":\"p\",\"email\":\"x\",\"loginsCount\":{\"n\":3}}}");
    CHECK_INT(userconv_reserved_app_metadata(user, &res, &e), 0);
    CHECK_JSON(res, "{\"email\":\"x\",\"loginsCount\":{\"n\":3}}");
    json_decref(res);
    json_decref(user);

    user = J("{\"app_metadata\":{\"plan\":\"p\"}}");
    CHECK_INT(userconv_reserved_app_metadata(user, &res, &e), 0);
    CHECK(res == NULL);
    json_decref(user);

    user = J("{\"app_metadata\":\"no\"}");
    CHECK_INT(userconv_reserved_app_metadata(user, &res, &e), 0);
    CHECK(res == NULL);
    json_decref(user);
}

/* ---- userconv_social_id ------------------------------------------------ */

static bool id_chars_ok(const char *s)
{
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *s))
            return false;
    return true;
}

static void test_social_id_table(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"google-oauth2|1234", "google-oauth2-1234"},
        {"samlp|acme-saml|bob@acme.example", "samlp-acme-saml-bob_acme.example"},
        {"facebook|10157", "facebook-10157"},
        {"waad|tenant|o/id+x=y", "waad-tenant-o_id_x_y"},
        {"oidc|a b", "oidc-a_b"},
        {"twitter|\xc3\xa9", "twitter-__"}, /* each byte of a UTF-8 é */
        {"already-fine_.ID", "already-fine_.ID"},
        {"|", "-"},
    };
    struct buf b;
    struct err e;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_init(&b, 1024);
        CHECK_INT(userconv_social_id(cases[i].in, &b, &e), 0);
        CHECK_STR(buf_str(&b), cases[i].out);
        CHECK(id_chars_ok(buf_str(&b)));
        /* Stable: the same input gives the same output. */
        CHECK_INT(userconv_social_id(cases[i].in, &b, &e), 0);
        CHECK_INT(b.len, 2 * strlen(cases[i].out));
        buf_release(&b);
    }

    /* Appends: the caller can put the database prefix first. */
    buf_init(&b, 1024);
    buf_appends(&b, USERCONV_DB_PREFIX, &e);
    CHECK_INT(userconv_social_id("github|77", &b, &e), 0);
    CHECK_STR(buf_str(&b), "auth0|github-77");
    buf_release(&b);

    buf_init(&b, 1024);
    CHECK_INT(userconv_social_id("", &b, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK_INT(userconv_social_id(NULL, &b, &e), -1);
    CHECK_INT(b.len, 0);
    buf_release(&b);

    /* A full buffer fails and keeps what it had. */
    buf_init(&b, 10);
    buf_appends(&b, "x", &e);
    CHECK_INT(userconv_social_id("google-oauth2|1234", &b, &e), -1);
    CHECK_STR(buf_str(&b), "x");
    buf_release(&b);
}

static void test_social_id_long(void)
{
    char in128[129], in129[130], in300[301], in300b[301], hex[SHA256_HEX_LEN + 1], want[129];
    struct buf b, c;
    struct err e;

    memset(in128, 'a', 128);
    memcpy(in128, "apple|", 6);
    in128[128] = '\0';
    buf_init(&b, 1024);
    CHECK_INT(userconv_social_id(in128, &b, &e), 0);
    CHECK_INT(b.len, 128);
    CHECK(strncmp(buf_str(&b), "apple-aaa", 9) == 0);
    buf_release(&b);

    /* One over: cut to 111, then "-" and 16 hex digits of SHA-256(original). */
    memset(in129, 'b', 129);
    memcpy(in129, "okta|", 5);
    in129[129] = '\0';
    sha256_hex(in129, 129, hex, &e);
    memcpy(want, "okta-", 5);
    memset(want + 5, 'b', 111 - 5);
    want[111] = '-';
    memcpy(want + 112, hex, 16);
    want[128] = '\0';
    buf_init(&b, 1024);
    CHECK_INT(userconv_social_id(in129, &b, &e), 0);
    CHECK_INT(b.len, USERCONV_SOCIAL_ID_MAX);
    CHECK_STR(buf_str(&b), want);
    buf_release(&b);

    /* Two long ids that share their first 128 bytes still differ. */
    memset(in300, 'c', 300);
    memcpy(in300, "samlp|conn|", 11);
    in300[300] = '\0';
    memcpy(in300b, in300, sizeof(in300));
    in300b[299] = 'd';
    buf_init(&b, 1024);
    buf_init(&c, 1024);
    CHECK_INT(userconv_social_id(in300, &b, &e), 0);
    CHECK_INT(userconv_social_id(in300b, &c, &e), 0);
    CHECK_INT(b.len, 128);
    CHECK_INT(c.len, 128);
    CHECK(strcmp(buf_str(&b), buf_str(&c)) != 0);
    CHECK(strncmp(buf_str(&b), buf_str(&c), 111) == 0);
    CHECK(id_chars_ok(buf_str(&b)));
    buf_release(&b);
    buf_release(&c);
}

/* ---- kinds --------------------------------------------------------------- */

static void test_strategy_kinds(void)
{
    static const struct {
        const char *strategy;
        enum userconv_kind kind;
        bool database;
    } cases[] = {
        {"auth0", USERCONV_DATABASE, true},
        {"email", USERCONV_PASSWORDLESS, false},
        {"sms", USERCONV_PASSWORDLESS, false},
        {"google-oauth2", USERCONV_SOCIAL, false},
        {"facebook", USERCONV_SOCIAL, false},
        {"github", USERCONV_SOCIAL, false},
        {"apple", USERCONV_SOCIAL, false},
        {"oauth2", USERCONV_SOCIAL, false},
        {"windowslive", USERCONV_SOCIAL, false},
        {"samlp", USERCONV_ENTERPRISE, false},
        {"waad", USERCONV_ENTERPRISE, false},
        {"adfs", USERCONV_ENTERPRISE, false},
        {"ad", USERCONV_ENTERPRISE, false},
        {"oidc", USERCONV_ENTERPRISE, false},
        {"okta", USERCONV_ENTERPRISE, false},
        {"google-apps", USERCONV_ENTERPRISE, false},
        {"pingfederate", USERCONV_ENTERPRISE, false},
        {"auth0-adldap", USERCONV_ENTERPRISE, false},
        {"Auth0", USERCONV_UNKNOWN, false},
        {"no-such-strategy", USERCONV_UNKNOWN, false},
        {"", USERCONV_UNKNOWN, false},
        {NULL, USERCONV_UNKNOWN, false},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_INT(userconv_strategy_kind(cases[i].strategy), cases[i].kind);
        CHECK_INT(userconv_strategy_is_database(cases[i].strategy), cases[i].database);
    }
    CHECK_STR(userconv_kind_name(USERCONV_DATABASE), "database");
    CHECK_STR(userconv_kind_name(USERCONV_PASSWORDLESS), "passwordless");
    CHECK_STR(userconv_kind_name(USERCONV_SOCIAL), "social");
    CHECK_STR(userconv_kind_name(USERCONV_ENTERPRISE), "enterprise");
    CHECK_STR(userconv_kind_name(USERCONV_UNKNOWN), "unknown");
}

static void test_user_kinds(void)
{
    static const struct {
        const char *user;
        enum userconv_kind kind;
        const char *connection;
    } cases[] = {
        {"{\"user_id\":\"auth0|1\",\"identities\":[{\"provider\":\"auth0\",\"connection\":"
         "\"Username-Password-Authentication\",\"isSocial\":false}]}",
         USERCONV_DATABASE, "Username-Password-Authentication"},
        /* A linked account: the primary identity decides. */
        {"{\"user_id\":\"google-oauth2|9\",\"identities\":[{\"provider\":\"google-oauth2\","
         "\"connection\":\"google-oauth2\",\"isSocial\":true},{\"provider\":\"auth0\","
         "\"connection\":\"db\",\"isSocial\":false}]}",
         USERCONV_SOCIAL, "google-oauth2"},
        {"{\"user_id\":\"samlp|c|u\",\"identities\":[{\"provider\":\"samlp\",\"connection\":"
         "\"c\",\"isSocial\":false}]}",
         USERCONV_ENTERPRISE, "c"},
        {"{\"user_id\":\"x|1\",\"identities\":[{\"provider\":\"newsocial\",\"isSocial\":true}]}",
         USERCONV_SOCIAL, NULL},
        {"{\"user_id\":\"x|1\",\"identities\":[{\"provider\":\"newcorp\",\"isSocial\":false}]}",
         USERCONV_ENTERPRISE, NULL},
        {"{\"user_id\":\"x|1\",\"identities\":[{\"provider\":\"newthing\"}]}", USERCONV_UNKNOWN,
         NULL},
        {"{\"user_id\":\"sms|5f00\"}", USERCONV_PASSWORDLESS, NULL},
        {"{\"user_id\":\"email|5f00\"}", USERCONV_PASSWORDLESS, NULL},
        {"{\"user_id\":\"auth0|5f00\"}", USERCONV_DATABASE, NULL},
        {"{\"user_id\":\"nobar\"}", USERCONV_UNKNOWN, NULL},
        {"{}", USERCONV_UNKNOWN, NULL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *u = J(cases[i].user);
        CHECK_INT(userconv_user_kind(u), cases[i].kind);
        if (cases[i].connection)
            CHECK_STR(userconv_user_connection(u), cases[i].connection);
        else
            CHECK(userconv_user_connection(u) == NULL);
        json_decref(u);
    }
}

static void test_password_hash_shape(void)
{
    static const struct {
        const char *h;
        bool ok;
    } cases[] = {
        {HASH_OK, true},
        {"$2a$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0", true},
        {"$2a$10$./cdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0", true},
        {"$2y$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0", false},
        {"$2b$12$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0", false},
        {"$2b$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", false},
        {"$2b$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01", false},
        {"$2b$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!", false},
        {"", false},
        {NULL, false},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_INT(userconv_valid_password_hash(cases[i].h), cases[i].ok);
}

/* ---- the target view ------------------------------------------------------- */

static void test_expected(void)
{
    static const struct {
        const char *user, *target_id, *view;
    } cases[] = {
        {"{\"user_id\":\"auth0|1\",\"email\":\"a@x.example\",\"email_verified\":\"true\","
         "\"username\":\"al\",\"phone_number\":\"+1555\",\"phone_verified\":true,"
         "\"given_name\":\"A\",\"family_name\":\"L\",\"name\":\"A L\",\"nickname\":\"al\","
         "\"picture\":\"https://p/a\",\"blocked\":true,\"user_metadata\":{\"k\":1},"
         "\"app_metadata\":{\"email\":\"kept\"},\"identities\":[],\"logins_count\":3,"
         "\"roles\":[{\"id\":\"rol_2\",\"name\":\"viewer\"},{\"id\":\"rol_1\",\"name\":\"admin\"},"
         "{\"id\":\"rol_3\",\"name\":\"admin\"}],"
         "\"organizations\":[{\"id\":\"org_2\",\"name\":\"zeta\",\"roles\":[]},"
         "{\"id\":\"org_1\",\"name\":\"acme\",\"roles\":[{\"id\":\"r9\",\"name\":\"owner\"},"
         "{\"id\":\"r8\",\"name\":\"billing\"}]}]}",
         NULL,
         "{\"user_id\":\"auth0|1\",\"email\":\"a@x.example\",\"email_verified\":true,"
         "\"username\":\"al\",\"phone_number\":\"+1555\",\"phone_verified\":true,"
         "\"given_name\":\"A\",\"family_name\":\"L\",\"name\":\"A L\",\"nickname\":\"al\","
         "\"picture\":\"https://p/a\",\"blocked\":true,\"user_metadata\":{\"k\":1},"
         "\"app_metadata\":{\"email\":\"kept\"},\"roles\":[\"admin\",\"viewer\"],"
         "\"organizations\":[{\"name\":\"acme\",\"roles\":[\"billing\",\"owner\"]},"
         "{\"name\":\"zeta\",\"roles\":[]}]}"},
        {"{\"user_id\":\"google-oauth2|7\",\"email\":\"b@x.example\",\"username\":null,"
         "\"given_name\":\"\"}",
         "auth0|google-oauth2-7",
         "{\"user_id\":\"auth0|google-oauth2-7\",\"email\":\"b@x.example\","
         "\"email_verified\":false,\"blocked\":false,\"user_metadata\":{},\"app_metadata\":{},"
         "\"roles\":[],\"organizations\":[]}"},
        /* The same organization twice: its roles are joined. */
        {"{\"user_id\":\"auth0|3\",\"email\":\"c@x.example\",\"organizations\":["
         "{\"name\":\"acme\",\"roles\":[{\"name\":\"b\"}]},{\"name\":\"acme\",\"roles\":["
         "{\"name\":\"a\"},{\"name\":\"b\"}]},\"solo\"]}",
         NULL,
         "{\"user_id\":\"auth0|3\",\"email\":\"c@x.example\",\"email_verified\":false,"
         "\"blocked\":false,\"user_metadata\":{},\"app_metadata\":{},\"roles\":[],"
         "\"organizations\":[{\"name\":\"acme\",\"roles\":[\"a\",\"b\"]},"
         "{\"name\":\"solo\",\"roles\":[]}]}"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *u = J(cases[i].user), *v = userconv_expected(u, cases[i].target_id);
        CHECK_JSON(v, cases[i].view);
        json_decref(v);
        json_decref(u);
    }
    CHECK(userconv_expected(NULL, NULL) == NULL);
}

static void test_name_lists(void)
{
    json_t *in = J("[{\"id\":\"1\",\"name\":\"b\"},\"a\",{\"id\":\"2\"},{\"name\":\"b\"},7]");
    json_t *out = userconv_role_names(in);

    CHECK_JSON(out, "[\"a\",\"b\"]");
    json_decref(out);
    json_decref(in);
    out = userconv_role_names(NULL);
    CHECK_JSON(out, "[]");
    json_decref(out);
    out = userconv_org_names(NULL);
    CHECK_JSON(out, "[]");
    json_decref(out);
}

int main(void)
{
    RUN(test_to_import_table);
    RUN(test_to_import_copies);
    RUN(test_import_text_table);
    RUN(test_import_text_values);
    RUN(test_import_text_ceiling);
    RUN(test_reserved_keys);
    RUN(test_social_id_table);
    RUN(test_social_id_long);
    RUN(test_strategy_kinds);
    RUN(test_user_kinds);
    RUN(test_password_hash_shape);
    RUN(test_expected);
    RUN(test_name_lists);
    return harness_done();
}
