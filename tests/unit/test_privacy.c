/*
 * Unit tests for privacy_policy.c and privacy_transform.c: the default
 * policy on a richly nested user (no original personal value may survive
 * anywhere in the output), every action, rule precedence, selection, the
 * drift guard, policy parsing and its errors, the canonical form.
 */
#include "harness.h"
#include "privacy.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct pseudonym_key *test_key(unsigned char first)
{
    unsigned char k[32];
    struct pseudonym_key *key = NULL;
    struct err e;
    int i;

    for (i = 0; i < 32; i++)
        k[i] = (unsigned char)(first + i);
    if (pseudonym_key_from_bytes(&key, k, sizeof(k), &e) < 0)
        fprintf(stderr, "test key: %s\n", e.msg);
    return key;
}

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);

    if (!j)
        fprintf(stderr, "bad test JSON: %s (line %d)\n", je.text, je.line);
    return j;
}

static struct privacy_policy *policy(const char *text)
{
    struct privacy_policy *p = NULL;
    struct err e;

    err_clear(&e);
    if (privacy_policy_parse(&p, text, "test.json", &e) < 0)
        fprintf(stderr, "policy: %s\n", e.msg);
    return p;
}

/* Applies p (with the test key) to the user in text; returns the result
 * as compact sorted JSON (caller frees), or NULL if excluded or failed. */
static char *apply_text(const struct privacy_policy *p, const char *text, int *kept)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_ctx *c = NULL;
    json_t *u = load(text);
    char *out = NULL;
    struct err e;
    int r = -1;

    err_clear(&e);
    if (u && p && privacy_ctx_new(&c, p, k, &e) == 0) {
        r = privacy_apply(c, u, &e);
        if (r < 0)
            fprintf(stderr, "apply: %s\n", e.msg);
        if (r == 1)
            out = json_dumps(u, JSON_COMPACT | JSON_SORT_KEYS);
    }
    if (kept)
        *kept = r;
    privacy_ctx_free(c);
    json_decref(u);
    pseudonym_key_free(k);
    return out;
}

static const char rich_user[] =
    "{"
    "\"user_id\":\"auth0|63d16b5edf1ce171262c71b5\","
    "\"email\":\"Jane.Doe@Corp-Mail.org\",\"email_verified\":true,"
    "\"username\":\"janedoe77\",\"phone_number\":\"+14155550142\",\"phone_verified\":false,"
    "\"name\":\"Jane Quinta Doe\",\"given_name\":\"Jane\",\"family_name\":\"Doe\","
    "\"nickname\":\"janie\",\"picture\":\"https://s.gravatar.com/avatar/abc123def.png\","
    "\"blocked\":false,\"last_ip\":\"203.0.113.77\",\"logins_count\":42,"
    "\"created_at\":\"2023-01-25T17:48:16.647Z\","
    "\"identities\":[{\"connection\":\"Username-Password-Authentication\",\"provider\":\"auth0\","
    "\"user_id\":\"63d16b5edf1ce171262c71b5\",\"isSocial\":false},"
    "{\"connection\":\"google-oauth2\",\"provider\":\"google-oauth2\",\"user_id\":\"1098765\","
    "\"isSocial\":true,\"access_token\":\"ya29.SECRETTOKEN\",\"refresh_token\":\"1//REFRESHME\","
    "\"profileData\":{\"email\":\"jane.doe@gmail-alias.net\",\"name\":\"Janet Doe-Smith\","
    "\"given_name\":\"Janet\",\"family_name\":\"Doe-Smith\",\"picture\":\"https://"
    "lh3.googleusercontent."
    "com/a/photo77\",\"email_verified\":true}}],"
    "\"user_metadata\":{\"preferences\":{\"theme\":\"dark\",\"language\":\"fr\"},"
    "\"address\":{\"street\":\"12 Rue Quincampoix\",\"city\":\"Paris\",\"zip\":\"75004\"},"
    "\"contacts\":[{\"email\":\"Jane.Doe@Corp-Mail.org\",\"phone\":\"+33 1 42 68 53 00\"},"
    "{\"email\":\"bob.builder@corp-mail.org\",\"mobile\":\"06 12 34 56 78\"}],"
    "\"dateOfBirth\":\"1984-07-19\",\"homePhone\":4155550199,\"emailVerifiedElsewhere\":true,"
    "\"emergency\":{\"contactName\":\"Maximilian Doe\",\"relationship\":\"brother\"}},"
    "\"app_metadata\":{\"plan\":\"gold\",\"tags\":[\"beta\",\"vip\"],\"ssn\":\"123-45-6789\","
    "\"billing\":{\"IBAN\":\"FR7630006000011234567890189\",\"cardNumber\":\"4111111111111111\","
    "\"taxId\":\"FR40303265045\",\"invoiceEmail\":\"billing@corp-mail.org\"},"
    "\"last_login_ip\":\"198.51.100.23\",\"ipAddress\":\"198.51.100.24\","
    "\"geo\":{\"lat\":48.86,\"lon\":2.35},\"test_account\":false},"
    "\"roles\":[{\"id\":\"rol_NHBmr6NkzbRcHob1\",\"name\":\"editor\"}],"
    "\"organizations\":[{\"id\":\"org_VvIJTfJhf3NwyCie\",\"name\":\"acme\"}]"
    "}";

/* Every personal value of rich_user, as it appears there (and lower-cased
 * where the pseudonym normalisation would otherwise hide a miss). */
static const char *const pii[] = {
    "Jane.Doe@Corp-Mail.org",
    "jane.doe@corp-mail.org",
    "janedoe77",
    "4155550142",
    "Jane Quinta Doe",
    "\"Jane\"",
    "\"Doe\"",
    "janie",
    "abc123def",
    "203.0.113.77",
    "jane.doe@gmail-alias.net",
    "Janet",
    "Doe-Smith",
    "photo77",
    "SECRETTOKEN",
    "REFRESHME",
    "Quincampoix",
    "75004",
    "Paris",
    "42 68 53 00",
    "bob.builder",
    "12 34 56 78",
    "1984-07-19",
    "4155550199",
    "Maximilian",
    "123-45-6789",
    "FR7630006000011234567890189",
    "4111111111111111",
    "FR40303265045",
    "billing@corp",
    "198.51.100.23",
    "198.51.100.24",
    "48.86",
    "2.35",
    "corp-mail",
    "Corp-Mail",
    "gmail-alias",
};

static const char *const kept_values[] = {
    "\"user_id\":\"auth0|63d16b5edf1ce171262c71b5\"",
    "\"connection\":\"Username-Password-Authentication\"",
    "\"connection\":\"google-oauth2\"",
    "\"user_id\":\"1098765\"",
    "\"email_verified\":true",
    "\"blocked\":false",
    "\"logins_count\":42",
    "\"created_at\":\"2023-01-25T17:48:16.647Z\"",
    "\"roles\":[{\"id\":\"rol_NHBmr6NkzbRcHob1\",\"name\":\"editor\"}]",
    "\"organizations\":[{\"id\":\"org_VvIJTfJhf3NwyCie\",\"name\":\"acme\"}]",
    "\"plan\":\"gold\"",
    "\"tags\":[\"beta\",\"vip\"]",
    "\"theme\":\"dark\"",
    "\"relationship\":\"brother\"",
    "\"emailVerifiedElsewhere\":true",
    "\"test_account\":false",
    "\"phone_verified\":false",
};

static void test_default_removes_all_pii(void)
{
    struct privacy_policy *p = NULL;
    struct err e;
    char *out;
    size_t i;
    int kept;

    CHECK_INT(privacy_policy_default(&p, &e), 0);
    CHECK(privacy_policy_needs_key(p));
    out = apply_text(p, rich_user, &kept);
    CHECK_INT(kept, 1);
    CHECK(out != NULL);
    if (!out) {
        privacy_policy_free(p);
        return;
    }
    for (i = 0; i < sizeof(pii) / sizeof(pii[0]); i++) {
        if (strstr(out, pii[i]))
            fprintf(stderr, "  leaked: %s\n", pii[i]);
        CHECK(strstr(out, pii[i]) == NULL);
    }
    for (i = 0; i < sizeof(kept_values) / sizeof(kept_values[0]); i++) {
        if (!strstr(out, kept_values[i]))
            fprintf(stderr, "  lost: %s\n", kept_values[i]);
        CHECK(strstr(out, kept_values[i]) != NULL);
    }
    CHECK(strstr(out, "last_ip") == NULL);
    CHECK(strstr(out, "access_token") == NULL);
    CHECK(strstr(out, "refresh_token") == NULL);
    free(out);
    privacy_policy_free(p);
}

static const char *str_at(json_t *root, const char *path)
{
    struct pathmatch_path pp;
    json_t *n = root;
    const char *s = NULL;
    size_t i;

    pathmatch_path_init(&pp);
    if (pathmatch_path_parse(&pp, path, NULL) == 0) {
        for (i = 0; n && i < pp.n; i++)
            n = pp.segs[i] ? json_object_get(n, pp.segs[i]) : NULL;
        s = json_string_value(n);
    }
    pathmatch_path_release(&pp);
    return s;
}

/* The shapes land where they should, and one email gives one pseudonym
 * wherever it appears (profile, metadata), so cross-references survive. */
static void test_default_shapes_and_cross_references(void)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_policy *p = NULL;
    struct privacy_ctx *c = NULL;
    json_t *u = load(rich_user), *contacts;
    const char *email, *s;
    struct buf b;
    struct err e;

    buf_init(&b, 1024);
    CHECK_INT(privacy_policy_default(&p, &e), 0);
    CHECK_INT(privacy_ctx_new(&c, p, k, &e), 0);
    privacy_ctx_want_src(c, true);
    CHECK_INT(privacy_apply(c, u, &e), 1);
    CHECK_INT(pseudonym_email(k, "jane.doe@corp-mail.org", "example.com", false, &b, &e), 0);
    email = json_string_value(json_object_get(u, "email"));
    CHECK_STR(email, buf_str(&b));
    contacts = json_object_get(json_object_get(u, "user_metadata"), "contacts");
    CHECK_STR(json_string_value(json_object_get(json_array_get(contacts, 0), "email")), email);
    /* nickname: the local part of the pseudonymous email */
    s = json_string_value(json_object_get(u, "nickname"));
    CHECK(s && email && strncmp(email, s, strlen(s)) == 0 && email[strlen(s)] == '@');
    s = json_string_value(json_object_get(u, "username"));
    CHECK(s && strlen(s) == 15 && s[0] == 'u');
    s = json_string_value(json_object_get(u, "phone_number"));
    CHECK(s && strlen(s) == 16 && strncmp(s, "+999", 4) == 0);
    s = json_string_value(json_object_get(u, "picture"));
    CHECK(s && strncmp(s, "https://example.com/avatar/", 27) == 0);
    s = json_string_value(json_object_get(u, "name"));
    CHECK(s && strchr(s, ' ') != NULL);
    /* metadata: a number under a phone key becomes a phone string */
    s = str_at(u, "user_metadata.homePhone");
    CHECK(s && strncmp(s, "+999", 4) == 0);
    s = json_string_value(json_object_get(json_array_get(contacts, 1), "mobile")); /* "06 12..." */
    CHECK(s && strncmp(s, "+999", 4) == 0);
    s = str_at(u, "user_metadata.emergency.contactName");
    CHECK(s && isupper((unsigned char)s[0]) && strchr(s, ' '));
    s = str_at(u, "app_metadata.billing.invoiceEmail");
    CHECK(s && strstr(s, "@example.com"));
    /* dropped by the heuristics */
    CHECK(json_object_get(json_object_get(u, "user_metadata"), "address") == NULL);
    CHECK(json_object_get(json_object_get(u, "user_metadata"), "dateOfBirth") == NULL);
    CHECK(json_object_get(json_object_get(u, "app_metadata"), "ssn") == NULL);
    CHECK(json_object_get(json_object_get(u, "app_metadata"), "geo") == NULL);
    /* billing keeps only its (pseudonymised) invoice email */
    CHECK(json_object_get(json_object_get(u, "app_metadata"), "billing") != NULL);
    CHECK_INT(json_object_size(json_object_get(json_object_get(u, "app_metadata"), "billing")), 1);
    /* profileData of a linked identity */
    s = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(u, "identities"), 1), "profileData"),
        "email"));
    CHECK(s && strstr(s, "@example.com") && strcmp(s, email) != 0);
    /* source digests for the caller's collision check */
    CHECK_INT(strlen(privacy_ctx_last_src(c)->email), 32);
    CHECK_INT(strlen(privacy_ctx_last_src(c)->username), 32);
    CHECK_INT(strlen(privacy_ctx_last_src(c)->phone), 32);
    buf_release(&b);
    json_decref(u);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

static void test_name_equal_to_email_stays_equal(void)
{
    struct privacy_policy *p = NULL;
    struct err e;
    json_t *u;
    char *out;

    CHECK_INT(privacy_policy_default(&p, &e), 0);
    out = apply_text(p,
                     "{\"user_id\":\"auth0|1\",\"email\":\"auzironian@example.org\","
                     "\"name\":\"auzironian@example.org\",\"nickname\":\"auzironian\"}",
                     NULL);
    u = out ? load(out) : NULL;
    CHECK(u != NULL);
    CHECK_STR(json_string_value(json_object_get(u, "name")),
              json_string_value(json_object_get(u, "email")));
    CHECK(out && !strstr(out, "auzironian"));
    json_decref(u);
    free(out);
    /* no email: the nickname is a lower-case word pair of its own */
    out = apply_text(p, "{\"user_id\":\"sms|1\",\"nickname\":\"Big Jim\"}", NULL);
    u = out ? load(out) : NULL;
    CHECK(
        u && json_string_value(json_object_get(u, "nickname")) &&
        strchr(json_string_value(json_object_get(u, "nickname")), '.') &&
        !strpbrk(json_string_value(json_object_get(u, "nickname")), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
    json_decref(u);
    free(out);
    privacy_policy_free(p);
}

/* A kept user_id that embeds an email is counted, so the program can warn. */
static void test_ids_with_at(void)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_policy *p = NULL;
    struct privacy_ctx *c = NULL;
    struct err e;
    json_t *u;

    CHECK_INT(privacy_policy_default(&p, &e), 0);
    CHECK_INT(privacy_ctx_new(&c, p, k, &e), 0);
    u = load("{\"user_id\":\"samlp|corp|ann@corp.org\",\"identities\":[{\"user_id\":"
             "\"ann@corp.org\",\"connection\":\"corp\"}]}");
    CHECK_INT(privacy_apply(c, u, &e), 1);
    CHECK_INT(privacy_ctx_stats(c)->ids_with_at, 1);
    json_decref(u);
    u = load("{\"user_id\":\"auth0|1\",\"identities\":[{\"user_id\":\"1\"}]}");
    CHECK_INT(privacy_apply(c, u, &e), 1);
    CHECK_INT(privacy_ctx_stats(c)->ids_with_at, 1);
    json_decref(u);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

/* An email inside a user id is personal data: replaced by the email's own
 * pseudonym, in user_id and identities, and the same way for callers that
 * map ids of role members (privacy_map_user_id). */
static void test_user_ids_with_email(void)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_policy *p = NULL;
    struct privacy_ctx *c = NULL;
    struct buf b;
    struct err e;
    json_t *u;
    char want[200];
    const char *email;

    buf_init(&b, 4096);
    CHECK_INT(privacy_policy_default(&p, &e), 0);
    CHECK_INT(privacy_ctx_new(&c, p, k, &e), 0);
    u = load("{\"user_id\":\"samlp|corp|Ann@corp.org\",\"email\":\"ann@corp.org\","
             "\"identities\":[{\"user_id\":\"corp|ann@corp.org\",\"connection\":\"corp\"},"
             "{\"user_id\":\"ann@corp.org\"},{\"user_id\":12345}]}");
    CHECK_INT(privacy_apply(c, u, &e), 1);
    email = json_string_value(json_object_get(u, "email"));
    CHECK(email && strstr(email, "corp.org") == NULL);
    snprintf(want, sizeof(want), "samlp|corp|%s", email ? email : "");
    CHECK_STR(json_string_value(json_object_get(u, "user_id")), want);
    snprintf(want, sizeof(want), "corp|%s", email ? email : "");
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(u, "identities"), 0), "user_id")),
              want);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(u, "identities"), 1), "user_id")),
              email);
    CHECK_INT(json_integer_value(
                  json_object_get(json_array_get(json_object_get(u, "identities"), 2), "user_id")),
              12345);
    CHECK_INT(privacy_map_user_id(c, "samlp|corp|Ann@corp.org", &b, &e), 0);
    CHECK_STR(buf_str(&b), json_string_value(json_object_get(u, "user_id")));
    CHECK_INT(privacy_map_user_id(c, "auth0|abc123", &b, &e), 0);
    CHECK_STR(buf_str(&b), "auth0|abc123");
    json_decref(u);
    buf_release(&b);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

struct action_case {
    const char *action; /* a field rule for "x" in user_metadata */
    const char *in;     /* the JSON value of x */
    const char *expect; /* the JSON text of the result, NULL: removed */
};

static const struct action_case action_cases[] = {
    {"\"keep\"", "\"a b\"", "\"a b\""},
    {"\"drop\"", "\"a b\"", NULL},
    {"\"drop\"", "{\"y\":1}", NULL},
    {"\"mask:0:4\"", "\"4111111111111111\"", "\"************1111\""},
    {"\"mask:2:2\"", "\"abc\"", "\"***\""},
    {"\"mask:1:1\"", "\"Zo\\u00eb Smith\"", "\"Z*******h\""},
    {"\"mask:0:0\"", "\"ab\"", "\"**\""},
    {"\"mask:2:0\"", "12345", "\"12***\""},
    {"\"mask:1:1\"", "\"\"", "\"\""},
    {"\"mask:1:0\"", "true", "true"},
    {"\"mask:1:0\"", "[\"abc\",{\"k\":\"xyz\"}]", "[\"a**\",{\"k\":\"x**\"}]"},
    {"{\"action\":\"set\",\"value\":{\"v\":[1,2]}}", "\"anything\"", "{\"v\":[1,2]}"},
    {"{\"action\":\"set\",\"value\":null}", "{\"deep\":{\"er\":1}}", "null"},
    {"\"hash\"", "\"123-45-6789\"",
     "\"9a1fa6b18f4eede8ced9e78582e52e478c428e43738b6d0b8dc78955bce0bba8\""},
    {"\"pseudonym:opaque\"", "\"123-45-6789\"", "\"fda4ab1a29b66fa7678e25d9051c1f57\""},
    {"\"pseudonym:email\"", "\"Jane.Doe@Corp.Example.org\"", "\"u-ct2umrg54rzrlk5d@example.com\""},
    {"\"pseudonym:name\"", "\"Jane Doe\"", "\"Niall Ives\""},
    {"\"pseudonym:username\"", "\"jdoe\"", "\"u2p37fhizkrcawb\""},
    {"\"pseudonym:phone\"", "\"+1 (415) 555-0100\"", "\"+999527657395522\""},
    /* a number is pseudonymised from its text, as that string would be */
    {"\"pseudonym:phone\"", "14155550100", "\"+999366836394849\""},
    {"\"pseudonym:phone\"", "\"14155550100\"", "\"+999366836394849\""},
    {"\"pseudonym:phone\"", "null", "null"},
    {"\"pseudonym:phone\"", "false", "false"},
    {"\"pseudonym:name\"", "\"\"", "\"\""},
    {"\"pseudonym:opaque\"", "[\"123-45-6789\",true]",
     "[\"fda4ab1a29b66fa7678e25d9051c1f57\",true]"},
};

/* Each action on a metadata value, through a one-rule policy. */
static void test_action_table(void)
{
    size_t i;

    for (i = 0; i < sizeof(action_cases) / sizeof(action_cases[0]); i++) {
        const struct action_case *t = &action_cases[i];
        json_t *act = json_loads(t->action, JSON_DECODE_ANY, NULL), *pj, *rule;
        char utext[512], *out, *ptext;
        struct privacy_policy *p;
        char want[512];
        json_t *u, *um;

        /* The same action as a field rule for "x" and a metadata rule for
         * user_metadata.x ({"path", "action", "value"} in object form). */
        rule = json_is_object(act) ? json_deep_copy(act) : json_pack("{sO}", "action", act);
        json_object_set_new(rule, "path", json_string("user_metadata.x"));
        pj = json_pack("{si ss s{sO} s[o]}", "version", 1, "extends", "none", "fields", "x", act,
                       "metadata", rule);
        ptext = json_dumps(pj, 0);
        json_decref(pj);
        json_decref(act);
        p = policy(ptext);
        free(ptext);
        CHECK(p != NULL);
        snprintf(utext, sizeof(utext),
                 "{\"user_id\":\"a|1\",\"x\":%s,\"user_metadata\":{\"x\":%s}}", t->in, t->in);
        out = apply_text(p, utext, NULL);
        u = out ? load(out) : NULL;
        CHECK(u != NULL);
        um = json_object_get(u, "user_metadata");
        if (!t->expect) {
            CHECK(json_object_get(u, "x") == NULL);
            CHECK(json_object_get(um, "x") == NULL);
        } else {
            char *got_top = json_dumps(json_object_get(u, "x"), JSON_ENCODE_ANY | JSON_COMPACT);
            char *got_md = json_dumps(json_object_get(um, "x"), JSON_ENCODE_ANY | JSON_COMPACT);
            json_t *w = json_loads(t->expect, JSON_DECODE_ANY, NULL);
            char *want_c = json_dumps(w, JSON_ENCODE_ANY | JSON_COMPACT);
            snprintf(want, sizeof(want), "%s", want_c ? want_c : "?");
            if (!got_top || strcmp(got_top, want) || !got_md || strcmp(got_md, want))
                fprintf(stderr, "  action %s on %s: got %s / %s, expected %s\n", t->action, t->in,
                        got_top ? got_top : "(none)", got_md ? got_md : "(none)", want);
            CHECK(got_top && strcmp(got_top, want) == 0);
            CHECK(got_md && strcmp(got_md, want) == 0);
            free(got_top);
            free(got_md);
            free(want_c);
            json_decref(w);
        }
        json_decref(u);
        free(out);
        privacy_policy_free(p);
    }
}

/* Rule precedence: explicit rule > personal pattern > inherited. */
static void test_precedence(void)
{
    struct privacy_policy *p;
    json_t *u;
    char *out;

    p = policy("{\"version\":1,\"metadata\":["
               "{\"path\":\"user_metadata.address.country\",\"action\":\"keep\"},"
               "{\"path\":\"user_metadata.display_name\",\"action\":\"keep\"},"
               "{\"path\":\"app_metadata.billing\",\"action\":\"keep\"},"
               "{\"path\":\"app_metadata.notes\",\"action\":\"drop\"},"
               "{\"path\":\"app_metadata.notes.public\",\"action\":\"keep\"}]}");
    CHECK(p != NULL);
    out = apply_text(p,
                     "{\"user_id\":\"a|1\",\"user_metadata\":{"
                     "\"address\":{\"street\":\"1 Main St\",\"country\":\"NZ\"},"
                     "\"display_name\":\"JD the Great\"},"
                     "\"app_metadata\":{\"billing\":{\"plan\":\"gold\",\"email\":\"pay@corp.org\"},"
                     "\"notes\":{\"private\":\"secret note\",\"public\":\"hello\"},"
                     "\"other\":{\"internal\":\"x\"}}}",
                     NULL);
    u = out ? load(out) : NULL;
    CHECK(u != NULL);
    /* drop address, but the more specific keep of country wins */
    CHECK_STR(str_at(u, "user_metadata.address.country"), "NZ");
    CHECK(str_at(u, "user_metadata.address.street") == NULL);
    /* an explicit keep beats the "*name" heuristic */
    CHECK_STR(str_at(u, "user_metadata.display_name"), "JD the Great");
    /* inside a kept container, a personal-looking key is still caught */
    CHECK_STR(str_at(u, "app_metadata.billing.plan"), "gold");
    CHECK(str_at(u, "app_metadata.billing.email") &&
          strstr(str_at(u, "app_metadata.billing.email"), "@example.com"));
    CHECK(str_at(u, "app_metadata.notes.private") == NULL);
    CHECK_STR(str_at(u, "app_metadata.notes.public"), "hello");
    CHECK_STR(str_at(u, "app_metadata.other.internal"), "x");
    json_decref(u);
    free(out);
    privacy_policy_free(p);
}

static void test_selection(void)
{
    static const struct {
        const char *select, *user;
        int expect;
    } cases[] = {
        {"{}", "{\"email\":\"a@x.org\"}", 1},
        {"{\"include_connections\":[\"db\"]}", "{\"identities\":[{\"connection\":\"db\"}]}", 1},
        {"{\"include_connections\":[\"db\"]}", "{\"identities\":[{\"connection\":\"google\"}]}", 0},
        {"{\"include_connections\":[\"db\"]}", "{}", 0},
        /* the primary identity decides */
        {"{\"include_connections\":[\"db\"]}",
         "{\"identities\":[{\"connection\":\"google\"},{\"connection\":\"db\"}]}", 0},
        {"{\"exclude_connections\":[\"db\"]}", "{\"identities\":[{\"connection\":\"db\"}]}", 0},
        {"{\"exclude_connections\":[\"db\"]}", "{\"identities\":[{\"connection\":\"x\"}]}", 1},
        {"{\"email_domains\":[\"Corp.ORG\"]}", "{\"email\":\"a@corp.org\"}", 1},
        {"{\"email_domains\":[\"corp.org\"]}", "{\"email\":\"a@CORP.org\"}", 1},
        {"{\"email_domains\":[\"corp.org\"]}", "{\"email\":\"a@sub.corp.org\"}", 0},
        {"{\"email_domains\":[\"corp.org\"]}", "{}", 0},
        {"{\"exclude_email_domains\":[\"corp.org\"]}", "{\"email\":\"a@corp.org\"}", 0},
        {"{\"exclude_email_domains\":[\"corp.org\"]}", "{}", 1},
        {"{\"match\":[{\"path\":\"app_metadata.test_account\",\"equals\":true}]}",
         "{\"app_metadata\":{\"test_account\":true}}", 1},
        {"{\"match\":[{\"path\":\"app_metadata.test_account\",\"equals\":true}]}",
         "{\"app_metadata\":{\"test_account\":\"true\"}}", 0},
        {"{\"match\":[{\"path\":\"app_metadata.test_account\",\"equals\":true}]}",
         "{\"app_metadata\":{}}", 0},
        {"{\"match\":[{\"path\":\"app_metadata.a\\\\.b\",\"equals\":{\"x\":[1]}},"
         "{\"path\":\"blocked\",\"equals\":false}]}",
         "{\"blocked\":false,\"app_metadata\":{\"a.b\":{\"x\":[1]}}}", 1},
        {"{\"match\":[{\"path\":\"app_metadata.a\\\\.b\",\"equals\":{\"x\":[1]}},"
         "{\"path\":\"blocked\",\"equals\":false}]}",
         "{\"blocked\":true,\"app_metadata\":{\"a.b\":{\"x\":[1]}}}", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ptext[512], *out;
        struct privacy_policy *p;
        int kept = -2;

        snprintf(ptext, sizeof(ptext), "{\"version\":1,\"select\":%s}", cases[i].select);
        p = policy(ptext);
        CHECK(p != NULL);
        out = apply_text(p, cases[i].user, &kept);
        if (kept != cases[i].expect)
            fprintf(stderr, "  select %s on %s: %d\n", cases[i].select, cases[i].user, kept);
        CHECK_INT(kept, cases[i].expect);
        free(out);
        privacy_policy_free(p);
    }
}

static void test_excluded_user_untouched(void)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_policy *p =
        policy("{\"version\":1,\"select\":{\"exclude_connections\":[\"google-oauth2\"]}}");
    struct privacy_ctx *c = NULL;
    json_t *u = load("{\"email\":\"a@b.org\",\"identities\":[{\"connection\":\"google-oauth2\"}]}");
    json_t *copy = json_deep_copy(u);
    struct err e;

    CHECK_INT(privacy_ctx_new(&c, p, k, &e), 0);
    CHECK_INT(privacy_apply(c, u, &e), 0);
    CHECK(json_equal(u, copy));
    CHECK_INT(privacy_ctx_stats(c)->users_excluded, 1);
    CHECK_INT(privacy_ctx_stats(c)->users_seen, 1);
    CHECK_INT(privacy_ctx_stats(c)->users_kept, 0);
    CHECK_STR(privacy_ctx_last_src(c)->email, "");
    json_decref(u);
    json_decref(copy);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

static void test_drift(void)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_policy *p =
        policy("{\"version\":1,\"metadata\":[{\"path\":\"app_metadata.plan\",\"action\":\"keep\"},"
               "{\"path\":\"user_metadata.prefs\",\"action\":\"keep\"}]}");
    struct privacy_ctx *c = NULL;
    const struct privacy_drift *d;
    json_t *u1 = load("{\"app_metadata\":{\"plan\":\"a\",\"tier\":3,\"tags\":[\"x\",\"y\"],"
                      "\"nested\":{\"k\":{\"deep\":1}},\"email\":\"a@b.org\",\"empty\":{}},"
                      "\"user_metadata\":{\"prefs\":{\"theme\":\"dark\"},\"lang\":\"fr\"}}");
    json_t *u2 = load("{\"app_metadata\":{\"tier\":4,\"tags\":[\"z\"]},\"user_metadata\":{}}");
    struct err e;
    size_t n;

    CHECK_INT(privacy_ctx_new(&c, p, k, &e), 0);
    CHECK_INT(privacy_apply(c, u1, &e), 1);
    CHECK_INT(privacy_apply(c, u2, &e), 1);
    n = privacy_ctx_drift(c, &d);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(d[0].path, "app_metadata.nested.k.deep");
        CHECK_INT(d[0].users, 1);
        CHECK_STR(d[1].path, "app_metadata.tags.*");
        CHECK_INT(d[1].users, 2); /* three elements, two users */
        CHECK_STR(d[2].path, "app_metadata.tier");
        CHECK_INT(d[2].users, 2);
        CHECK_STR(d[3].path, "user_metadata.lang");
    }
    CHECK_INT(privacy_ctx_stats(c)->unreviewed, 7);
    CHECK_INT(privacy_ctx_stats(c)->drift_paths, 4);
    CHECK_INT(privacy_ctx_stats(c)->drift_not_listed, 0);
    /* unreviewed values are kept by default */
    CHECK(json_integer_value(json_object_get(json_object_get(u1, "app_metadata"), "tier")) == 3);
    json_decref(u1);
    json_decref(u2);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

static void test_drift_cap_and_unlisted_drop(void)
{
    struct privacy_policy *p = policy("{\"version\":1,\"extends\":\"none\","
                                      "\"unlisted_metadata\":\"drop\"}");
    struct privacy_ctx *c = NULL;
    const struct privacy_drift *d;
    json_t *u = json_object(), *am = json_object();
    struct err e;
    char key[32];
    int i;

    for (i = 0; i < PRIVACY_DRIFT_MAX + 100; i++) {
        snprintf(key, sizeof(key), "k%04d", i);
        json_object_set_new(am, key, json_integer(i));
    }
    json_object_set_new(am, "nested", json_pack("{s:{s:i}}", "a", "b", 1));
    json_object_set_new(u, "app_metadata", am);
    CHECK(!privacy_policy_needs_key(p));
    CHECK_INT(privacy_ctx_new(&c, p, NULL, &e), 0);
    CHECK_INT(privacy_apply(c, u, &e), 1);
    CHECK_INT(privacy_ctx_drift(c, &d), PRIVACY_DRIFT_MAX);
    CHECK_INT(privacy_ctx_stats(c)->unreviewed, PRIVACY_DRIFT_MAX + 101);
    CHECK_INT(privacy_ctx_stats(c)->drift_not_listed, 101);
    /* everything was unreviewed and dropped; the metadata object stays */
    CHECK(json_is_object(json_object_get(u, "app_metadata")));
    CHECK_INT(json_object_size(json_object_get(u, "app_metadata")), 0);
    json_decref(u);
    privacy_ctx_free(c);
    privacy_policy_free(p);
}

static void test_heuristics_tables(void)
{
    static const struct {
        const char *key;
        bool personal;
    } keys[] = {
        {"dateOfBirth", true},   {"IPAddress", true},    {"zipCode", true},
        {"last_ip", true},       {"homePhone", true},    {"user_name", true},
        {"emailVerified", true}, {"first-name", true},   {"SSN", true},
        {"credit_card", true},   {"taxId", true},        {"iban", true},
        {"plan", false},         {"description", false}, {"membership", false},
        {"theme", false},        {"zip_enabled", true},  {"tier", false},
        {"pinned", false},       {"shipping", false},    {"ipv6", true},
    };
    static const struct {
        const char *key;
        enum pseudonym_shape shape;
    } shapes[] = {
        {"workEmail", PSEUDONYM_EMAIL},   {"mobile_number", PSEUDONYM_PHONE},
        {"firstName", PSEUDONYM_NAME},    {"user_name", PSEUDONYM_USERNAME},
        {"avatar_url", PSEUDONYM_URL},    {"ssn", PSEUDONYM_OPAQUE},
        {"nickname", PSEUDONYM_NICKNAME}, {"EmailAddress", PSEUDONYM_EMAIL},
    };
    struct privacy_policy *p = NULL;
    struct err e;
    size_t i;

    CHECK_INT(privacy_policy_default(&p, &e), 0);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        bool got = privacy_personal_match(p, keys[i].key) >= 0;
        if (got != keys[i].personal)
            fprintf(stderr, "  key '%s': personal %d\n", keys[i].key, got);
        CHECK(got == keys[i].personal);
    }
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        CHECK_INT(privacy_guess_shape(shapes[i].key), shapes[i].shape);
    privacy_policy_free(p);
}

static void test_needs_key(void)
{
    struct privacy_policy *p = NULL;
    struct privacy_ctx *c = NULL;
    struct err e;

    CHECK_INT(privacy_policy_default(&p, &e), 0);
    err_clear(&e);
    CHECK_INT(privacy_ctx_new(&c, p, NULL, &e), -1);
    CHECK(c == NULL);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "needs a pseudonym key") != NULL);
    CHECK(strstr(e.msg, PSEUDONYM_KEY_ENV) != NULL);
    privacy_policy_free(p);
    /* hash alone needs a key too; mask and set do not */
    p = policy("{\"version\":1,\"extends\":\"none\",\"fields\":{\"email\":\"hash\"}}");
    CHECK(p && privacy_policy_needs_key(p));
    privacy_policy_free(p);
    p = policy("{\"version\":1,\"extends\":\"none\",\"fields\":{\"email\":\"mask:1:0\","
               "\"name\":{\"action\":\"set\",\"value\":\"Tester\"}},"
               "\"personal_keys\":[{\"pattern\":\"*phone*\",\"action\":\"drop\"}]}");
    CHECK(p && !privacy_policy_needs_key(p));
    CHECK_INT(privacy_ctx_new(&c, p, NULL, &e), 0);
    privacy_ctx_free(c);
    privacy_policy_free(p);
}

static void test_deep_metadata_refused(void)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_policy *p = NULL;
    struct privacy_ctx *c = NULL;
    json_t *u = json_object(), *node = json_object();
    struct err e;
    int i;

    json_object_set_new(node, "leaf", json_string("x"));
    for (i = 0; i < PRIVACY_MAX_DEPTH + 5; i++) {
        json_t *up = json_object();
        json_object_set_new(up, "n", node);
        node = up;
    }
    json_object_set_new(u, "user_metadata", node);
    CHECK_INT(privacy_policy_default(&p, &e), 0);
    CHECK_INT(privacy_ctx_new(&c, p, k, &e), 0);
    CHECK_INT(privacy_apply(c, u, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "deeper than") != NULL);
    json_decref(u);
    u = json_string("x");
    CHECK_INT(privacy_apply(c, u, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    json_decref(u);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

/* Same key: same output in separate contexts; another key: another email. */
static void test_determinism_and_key_sensitivity(void)
{
    struct pseudonym_key *k0 = test_key(0), *k1 = test_key(1);
    struct privacy_policy *p = NULL;
    struct privacy_ctx *a = NULL, *b = NULL, *c = NULL;
    json_t *u1 = load(rich_user), *u2 = load(rich_user), *u3 = load(rich_user);
    char *s1, *s2, *s3;
    struct err e;

    CHECK_INT(privacy_policy_default(&p, &e), 0);
    CHECK_INT(privacy_ctx_new(&a, p, k0, &e), 0);
    CHECK_INT(privacy_ctx_new(&b, p, k0, &e), 0);
    privacy_ctx_want_src(a, true);
    privacy_ctx_want_src(b, true);
    CHECK_INT(privacy_ctx_new(&c, p, k1, &e), 0);
    pseudonym_key_free(k0); /* the contexts hold their own copies */
    CHECK_INT(privacy_apply(a, u1, &e), 1);
    CHECK_INT(privacy_apply(b, u2, &e), 1);
    CHECK_INT(privacy_apply(c, u3, &e), 1);
    s1 = json_dumps(u1, JSON_SORT_KEYS);
    s2 = json_dumps(u2, JSON_SORT_KEYS);
    s3 = json_dumps(u3, JSON_SORT_KEYS);
    CHECK_STR(s1, s2);
    CHECK(strcmp(s1, s3) != 0);
    CHECK(strcmp(json_string_value(json_object_get(u1, "email")),
                 json_string_value(json_object_get(u3, "email"))) != 0);
    CHECK(strcmp(json_string_value(json_object_get(u1, "username")),
                 json_string_value(json_object_get(u3, "username"))) != 0);
    /* source digests: equal for equal (normalised) originals, per policy */
    CHECK_STR(privacy_ctx_last_src(a)->email, privacy_ctx_last_src(b)->email);
    free(s1);
    free(s2);
    free(s3);
    json_decref(u1);
    json_decref(u2);
    json_decref(u3);
    privacy_ctx_free(a);
    privacy_ctx_free(b);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k1);
}

static void test_source_digests(void)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_policy *p = NULL;
    struct privacy_ctx *c = NULL;
    char first[PRIVACY_SRC_HEX + 1];
    json_t *u;
    struct err e;

    CHECK_INT(privacy_policy_default(&p, &e), 0);
    CHECK_INT(privacy_ctx_new(&c, p, k, &e), 0);
    u = load("{\"email\":\"A@B.org\"}");
    CHECK_INT(privacy_apply(c, u, &e), 1);
    CHECK_STR(privacy_ctx_last_src(c)->email, ""); /* not asked for */
    privacy_ctx_want_src(c, true);
    CHECK_INT(privacy_apply(c, u, &e), 1); /* u is pseudonymised now: that's fine */
    json_decref(u);
    u = load("{\"email\":\"A@B.org\"}");
    CHECK_INT(privacy_apply(c, u, &e), 1);
    snprintf(first, sizeof(first), "%s", privacy_ctx_last_src(c)->email);
    CHECK_INT(strlen(first), 32);
    CHECK_STR(privacy_ctx_last_src(c)->username, "");
    json_decref(u);
    u = load("{\"email\":\" a@b.ORG \"}");
    CHECK_INT(privacy_apply(c, u, &e), 1);
    CHECK_STR(privacy_ctx_last_src(c)->email, first);
    json_decref(u);
    u = load("{\"email\":\"a2@b.org\"}");
    CHECK_INT(privacy_apply(c, u, &e), 1);
    CHECK(strcmp(privacy_ctx_last_src(c)->email, first) != 0);
    json_decref(u);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"{\"version\":1,\"metadata\":[{\"path\":\"user_metadata.a\",\"action\":\"keep\"},"
         "{\"path\":\"user_metadata.b\",\"action\":\"keep\"},"
         "{\"path\":\"app_metadata.c\",\"action\":\"pseudo\"}]}",
         "policy 'test.json': unknown action 'pseudo' at metadata[2].action"},
        {"{\"version\":1,\"fieldz\":{}}", "unknown key 'fieldz' in the policy"},
        {"{\"fields\":{}}", "missing \"version\""},
        {"{\"version\":2}", "unsupported version"},
        {"{\"version\":\"1\"}", "unsupported version"},
        {"{\"version\":1,", "invalid JSON at line 1"},
        {"[1]", "a policy is a JSON object"},
        {"{\"version\":1,\"version\":1}", "duplicate"},
        {"{\"version\":1,\"extends\":\"other\"}", "extends must be"},
        {"{\"version\":1,\"fields\":{\"email\":\"pseudonym:ssn\"}}",
         "unknown pseudonym shape 'ssn' at fields.email"},
        {"{\"version\":1,\"fields\":{\"email\":\"mask:x\"}}", "bad mask 'mask:x' at fields.email"},
        {"{\"version\":1,\"fields\":{\"email\":\"mask:1:2:3\"}}", "bad mask"},
        {"{\"version\":1,\"fields\":{\"email\":\"set\"}}", "needs a \"value\""},
        {"{\"version\":1,\"fields\":{\"email\":{\"action\":\"keep\",\"value\":1}}}",
         "only for the action 'set'"},
        {"{\"version\":1,\"fields\":{\"email\":{\"action\":\"set\",\"val\":1}}}",
         "unknown key 'val' in fields.email"},
        {"{\"version\":1,\"fields\":{\"email\":7}}", "fields.email must be an action string"},
        {"{\"version\":1,\"fields\":[]}", "fields must be an object"},
        {"{\"version\":1,\"fields\":{\"user_metadata\":\"drop\"}}", "cannot name 'user_metadata'"},
        {"{\"version\":1,\"identity_fields\":{\"profileData\":\"drop\"}}",
         "cannot name 'profileData'"},
        {"{\"version\":1,\"metadata\":[{\"path\":\"profile.x\",\"action\":\"drop\"}]}",
         "path 'profile.x' at metadata[0] can never match"},
        {"{\"version\":1,\"metadata\":[{\"path\":\"user_metadata..x\",\"action\":\"drop\"}]}",
         "metadata[0]: path pattern 'user_metadata..x' has an empty segment"},
        {"{\"version\":1,\"metadata\":[{\"action\":\"drop\"}]}", "metadata[0] needs a \"path\""},
        {"{\"version\":1,\"metadata\":[{\"path\":\"*.x\",\"action\":\"drop\",\"why\":1}]}",
         "unknown key 'why' in metadata[0]"},
        {"{\"version\":1,\"metadata\":{}}", "metadata must be an array"},
        {"{\"version\":1,\"email_domain\":\"not a domain\"}", "email_domain must be"},
        {"{\"version\":1,\"email_domain\":\"localhost\"}", "email_domain must be"},
        {"{\"version\":1,\"keep_email_domain\":\"yes\"}", "keep_email_domain must be"},
        {"{\"version\":1,\"phone_prefix\":\"999\"}", "phone_prefix must be"},
        {"{\"version\":1,\"username_length\":5}", "username_length must be an integer from 12"},
        {"{\"version\":1,\"username_length\":\"15\"}", "username_length must be"},
        {"{\"version\":1,\"url_prefix\":\"javascript:alert(1)\"}", "url_prefix must"},
        {"{\"version\":1,\"unlisted_metadata\":\"maybe\"}", "unlisted_metadata must be"},
        {"{\"version\":1,\"personal_keys\":[\"first_name\"]}",
         "pattern 'first_name' at personal_keys[0] may only hold"},
        {"{\"version\":1,\"personal_keys\":[\"**\"]}", "would match every key"},
        {"{\"version\":1,\"personal_keys\":[{\"patterns\":\"x\",\"action\":\"drop\"}]}",
         "personal_keys[0] needs either"},
        {"{\"version\":1,\"personal_keys\":[{\"action\":\"drop\",\"patterns\":[\"ok\",\"\"]}]}",
         "personal_keys[0].patterns[1] must be a non-empty pattern"},
        {"{\"version\":1,\"personal_key_action\":\"nope\"}",
         "unknown action 'nope' at personal_key_action"},
        {"{\"version\":1,\"select\":{\"connections\":[]}}", "unknown key 'connections' in select"},
        {"{\"version\":1,\"select\":{\"include_connections\":\"db\"}}",
         "select.include_connections must be an array"},
        {"{\"version\":1,\"select\":{\"email_domains\":[1]}}", "select.email_domains[0] must be"},
        {"{\"version\":1,\"select\":{\"match\":[{\"path\":\"app_metadata.*\",\"equals\":1}]}}",
         "must name keys only"},
        {"{\"version\":1,\"select\":{\"match\":[{\"path\":\"app_metadata.x\"}]}}",
         "select.match[0] needs a \"path\" string and an \"equals\" value"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct privacy_policy *p = (struct privacy_policy *)&i;
        struct err e;

        err_clear(&e);
        CHECK_INT(privacy_policy_parse(&p, cases[i].text, "test.json", &e), -1);
        CHECK(p == NULL);
        CHECK_INT(e.code, ERR_USAGE);
        if (!strstr(e.msg, cases[i].msg) || strncmp(e.msg, "policy 'test.json': ", 20) != 0)
            fprintf(stderr, "  %s\n    got: %s\n    expected: %s\n", cases[i].text, e.msg,
                    cases[i].msg);
        CHECK(strstr(e.msg, cases[i].msg) != NULL);
        CHECK(strncmp(e.msg, "policy 'test.json': ", 20) == 0);
    }
}

static void test_extends(void)
{
    struct privacy_policy *p;
    const char *const *w;
    json_t *u;
    char *out;

    /* A file that only keeps one key still pseudonymises the profile. */
    p = policy("{\"version\":1,\"fields\":{\"email\":\"keep\"},"
               "\"metadata\":[{\"path\":\"app_metadata.plan\",\"action\":\"keep\"}]}");
    CHECK(p && privacy_policy_needs_key(p));
    out = apply_text(p,
                     "{\"email\":\"a@corp.org\",\"name\":\"Ann Lee\",\"app_metadata\":{"
                     "\"plan\":\"x\",\"email\":\"b@corp.org\"}}",
                     NULL);
    u = out ? load(out) : NULL;
    CHECK_STR(json_string_value(json_object_get(u, "email")), "a@corp.org");
    CHECK(json_string_value(json_object_get(u, "name")) &&
          strcmp(json_string_value(json_object_get(u, "name")), "Ann Lee") != 0);
    CHECK(out && !strstr(out, "b@corp.org"));
    json_decref(u);
    free(out);
    CHECK_INT(privacy_policy_warnings(p, &w), 0);
    privacy_policy_free(p);

    /* "none" starts from nothing. */
    p = policy("{\"version\":1,\"extends\":\"none\"}");
    CHECK(p && !privacy_policy_needs_key(p));
    out = apply_text(p, "{\"email\":\"a@corp.org\",\"user_metadata\":{\"phone\":\"1\"}}", NULL);
    CHECK(out && strstr(out, "a@corp.org") && strstr(out, "\"phone\":\"1\""));
    free(out);
    privacy_policy_free(p);

    /* personal_key_action applies to the default's plain patterns */
    p = policy("{\"version\":1,\"personal_key_action\":\"drop\"}");
    out = apply_text(p, "{\"user_metadata\":{\"phone\":\"1\",\"ssn\":\"2\",\"x\":3}}", NULL);
    CHECK(out && strstr(out, "\"user_metadata\":{\"x\":3}"));
    free(out);
    privacy_policy_free(p);
}

static void test_warnings(void)
{
    struct privacy_policy *p;
    const char *const *w;
    struct err e;

    CHECK_INT(privacy_policy_default(&p, &e), 0);
    CHECK_INT(privacy_policy_warnings(p, &w), 0);
    privacy_policy_free(p);
    p = policy("{\"version\":1,\"keep_email_domain\":true}");
    CHECK_INT(privacy_policy_warnings(p, &w), 1);
    CHECK(strstr(w[0], "keep_email_domain") != NULL);
    privacy_policy_free(p);
    p = policy("{\"version\":1,\"email_domain\":\"Corp.com\",\"phone_prefix\":\"+1\"}");
    CHECK_INT(privacy_policy_warnings(p, &w), 2);
    CHECK(strstr(w[0], "'corp.com'") != NULL);
    CHECK(strstr(w[1], "+1") != NULL);
    privacy_policy_free(p);
    p = policy("{\"version\":1,\"email_domain\":\"qa.example.net\"}");
    CHECK_INT(privacy_policy_warnings(p, &w), 0);
    privacy_policy_free(p);
    p = policy("{\"version\":1,\"email_domain\":\"staging.test\"}");
    CHECK_INT(privacy_policy_warnings(p, &w), 0);
    privacy_policy_free(p);
}

static void test_canonical_and_describe(void)
{
    struct pseudonym_key *k = test_key(0);
    struct privacy_policy *d = NULL, *r = NULL, *a, *b;
    json_t *desc = NULL, *pol;
    struct err e;
    char *text;

    CHECK_INT(privacy_policy_default(&d, &e), 0);
    CHECK_INT(strlen(privacy_policy_sha256(d)), 64);
    /* the canonical text parses back to the same policy */
    CHECK_INT(privacy_policy_parse(&r, privacy_policy_canonical(d), "header", &e), 0);
    CHECK_STR(privacy_policy_canonical(r), privacy_policy_canonical(d));
    CHECK_STR(privacy_policy_sha256(r), privacy_policy_sha256(d));
    /* the same meaning in other words: the same hash */
    a = policy("{\"version\":1,\"metadata\":[{\"path\":\"app_metadata.plan\",\"action\":\"keep\"}],"
               "\"email_domain\":\"EXAMPLE.com\"}");
    b = policy("{ \"metadata\" : [ { \"action\" : \"keep\", \"path\" : \"app_metadata.plan\" } ],"
               "\n \"version\" : 1, \"select\": {\"match\": []} }");
    CHECK(a && b);
    if (a && b) {
        CHECK_STR(privacy_policy_sha256(a), privacy_policy_sha256(b));
        CHECK(strcmp(privacy_policy_sha256(a), privacy_policy_sha256(d)) != 0);
    }
    CHECK_INT(privacy_policy_describe(d, k, &desc, &e), 0);
    CHECK(json_is_true(json_object_get(desc, "applied")));
    CHECK_STR(json_string_value(json_object_get(desc, "policy_sha256")), privacy_policy_sha256(d));
    CHECK_STR(json_string_value(json_object_get(desc, "key_fingerprint")),
              pseudonym_key_fingerprint(k));
    pol = json_object_get(desc, "policy");
    text = json_dumps(pol, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(text, privacy_policy_canonical(d));
    free(text);
    text = json_dumps(desc, 0);
    /* the key (bytes 00..1f) appears nowhere, in hex or otherwise */
    CHECK(text && !strstr(text, "000102030405"));
    free(text);
    json_decref(desc);
    CHECK_INT(privacy_policy_describe(d, NULL, &desc, &e), 0);
    CHECK(json_is_null(json_object_get(desc, "key_fingerprint")));
    json_decref(desc);
    CHECK_STR(privacy_policy_opts(d)->email_domain, "example.com");
    CHECK_INT(privacy_policy_opts(d)->username_length, 15);
    privacy_policy_free(a);
    privacy_policy_free(b);
    privacy_policy_free(d);
    privacy_policy_free(r);
    privacy_policy_free(NULL);
    pseudonym_key_free(k);
}

static void test_load_file(void)
{
    char path[] = "/tmp/test_privacy.XXXXXX";
    struct privacy_policy *p = NULL;
    const char text[] = "{\"version\": 1, \"email_domain\": \"qa.example.org\"}\n";
    struct err e;
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
    close(fd);
    CHECK_INT(privacy_policy_load(&p, path, &e), 0);
    CHECK_STR(p ? privacy_policy_opts(p)->email_domain : "", "qa.example.org");
    privacy_policy_free(p);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, "{\"version\":1,\"bogus\":1}", 23) == 23);
    close(fd);
    CHECK_INT(privacy_policy_load(&p, path, &e), -1);
    CHECK(strstr(e.msg, path) != NULL);
    CHECK(strstr(e.msg, "unknown key 'bogus'") != NULL);
    unlink(path);
    CHECK_INT(privacy_policy_load(&p, path, &e), -1);
    CHECK_INT(e.code, ERR_IO);
}

int main(void)
{
    RUN(test_default_removes_all_pii);
    RUN(test_default_shapes_and_cross_references);
    RUN(test_name_equal_to_email_stays_equal);
    RUN(test_ids_with_at);
    RUN(test_action_table);
    RUN(test_precedence);
    RUN(test_selection);
    RUN(test_excluded_user_untouched);
    RUN(test_drift);
    RUN(test_drift_cap_and_unlisted_drop);
    RUN(test_heuristics_tables);
    RUN(test_needs_key);
    RUN(test_deep_metadata_refused);
    RUN(test_determinism_and_key_sensitivity);
    RUN(test_source_digests);
    RUN(test_parse_errors);
    RUN(test_extends);
    RUN(test_warnings);
    RUN(test_user_ids_with_email);
    RUN(test_canonical_and_describe);
    RUN(test_load_file);
    return harness_done();
}
