/*
 * Unit tests for privacy_subject.c: what an email and a user id become in
 * a snapshot must be exactly what privacy_apply() wrote there, for the
 * default policy and for policies that hash, keep or hide emails; the
 * policy recorded in a header reads back, and an edited one is refused.
 */
#include "harness.h"
#include "privacy.h"
#include "privacy_subject.h"
#include "pseudonym.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char key_bytes[32] = "privacy-subject-test-key-0123456";

static struct pseudonym_key *test_key(void)
{
    struct pseudonym_key *k = NULL;
    struct err e;

    CHECK_INT(pseudonym_key_from_bytes(&k, key_bytes, sizeof(key_bytes), &e), 0);
    return k;
}

static struct privacy_policy *policy(const char *text)
{
    struct privacy_policy *p = NULL;
    struct err e;

    if (!text)
        CHECK_INT(privacy_policy_default(&p, &e), 0);
    else
        CHECK_INT(privacy_policy_parse(&p, text, "test", &e), 0);
    return p;
}

/* A SAML user whose id embeds the email, in mixed case, with a linked
 * identity carrying the same email in its profile. */
static json_t *saml_user(void)
{
    return json_pack("{s:s,s:s,s:[{s:s,s:s,s:s},{s:s,s:s,s:s,s:{s:s}}]}", "user_id",
                     "samlp|acme-saml|Ann.Lee7@Acme.example", "email", "Ann.Lee7@Acme.example",
                     "identities", "provider", "samlp", "user_id",
                     "acme-saml|Ann.Lee7@Acme.example", "connection", "acme-saml", "provider",
                     "google-oauth2", "user_id", "1234567", "connection", "google-oauth2",
                     "profileData", "email", "ann.lee7@acme.example");
}

static const char *str_at(json_t *u, const char *path1, size_t idx, const char *key)
{
    json_t *v = json_object_get(u, path1);

    if (key)
        v = json_object_get(json_array_get(v, idx), key);
    return json_string_value(v);
}

/* The subject's forms equal what privacy_apply() wrote, field by field. */
static void same_as_apply(const char *policy_text, bool kept)
{
    struct pseudonym_key *k = test_key();
    struct privacy_policy *p = policy(policy_text);
    struct privacy_ctx *c = NULL;
    json_t *u = saml_user();
    struct buf b;
    bool findable = false;
    struct err e;

    buf_init(&b, 4096);
    CHECK_INT(privacy_ctx_new(&c, p, k, &e), 0);
    CHECK_INT(privacy_apply(c, u, &e), 1);

    CHECK_INT(privacy_subject_email(p, k, "Ann.Lee7@Acme.example", &b, &findable, &e), 0);
    CHECK(findable);
    CHECK_STR(buf_str(&b), json_string_value(json_object_get(u, "email")));
    CHECK((strcmp(buf_str(&b), "Ann.Lee7@Acme.example") == 0) == kept);
    /* the linked identity's profile email went through the same rule */
    buf_reset(&b);
    CHECK_INT(privacy_subject_email(p, k, "ann.lee7@acme.example", &b, &findable, &e), 0);
    CHECK_STR(buf_str(&b), json_string_value(json_object_get(
                               json_object_get(json_array_get(json_object_get(u, "identities"), 1),
                                               "profileData"),
                               "email")));

    buf_reset(&b);
    CHECK_INT(privacy_subject_user_id(p, k, "samlp|acme-saml|Ann.Lee7@Acme.example", &b, &e), 0);
    CHECK_STR(buf_str(&b), str_at(u, "user_id", 0, NULL));
    CHECK(strncmp(buf_str(&b), "samlp|acme-saml|", 16) == 0);
    CHECK(strstr(buf_str(&b), "Ann") == NULL);
    buf_reset(&b);
    CHECK_INT(privacy_subject_user_id(p, k, "acme-saml|Ann.Lee7@Acme.example", &b, &e), 0);
    CHECK_STR(buf_str(&b), str_at(u, "identities", 0, "user_id"));
    buf_reset(&b);
    CHECK_INT(privacy_subject_user_id(p, k, "google-oauth2|1234567", &b, &e), 0);
    CHECK_STR(buf_str(&b), "google-oauth2|1234567");

    buf_release(&b);
    json_decref(u);
    privacy_ctx_free(c);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

static void test_default_policy(void)
{
    same_as_apply(NULL, false);
}

static void test_other_policies(void)
{
    same_as_apply("{\"version\":1,\"fields\":{\"email\":\"hash\"}}", false);
    same_as_apply("{\"version\":1,\"keep_email_domain\":true}", false);
    same_as_apply("{\"version\":1,\"email_domain\":\"test.invalid\"}", false);
    same_as_apply("{\"version\":1,\"fields\":{\"email\":\"pseudonym\"}}", false);
    same_as_apply("{\"version\":1,\"fields\":{\"email\":\"keep\"}}", true);
}

static void test_hidden_emails_and_no_key(void)
{
    static const char *const hiding[] = {
        "{\"version\":1,\"fields\":{\"email\":\"drop\"}}",
        "{\"version\":1,\"fields\":{\"email\":\"mask:1:0\"}}",
        "{\"version\":1,\"fields\":{\"email\":{\"action\":\"set\",\"value\":\"x@y.z\"}}}",
    };
    struct pseudonym_key *k = test_key();
    struct privacy_policy *p;
    struct buf b;
    bool findable = true;
    struct err e;

    buf_init(&b, 4096);
    for (size_t i = 0; i < sizeof(hiding) / sizeof(hiding[0]); i++) {
        p = policy(hiding[i]);
        findable = true;
        CHECK_INT(privacy_subject_email(p, k, "ann@acme.example", &b, &findable, &e), 0);
        CHECK(!findable);
        CHECK_INT(b.len, 0);
        privacy_policy_free(p);
    }
    /* pseudonyms need the key; without one ids are kept */
    p = policy(NULL);
    err_clear(&e);
    CHECK_INT(privacy_subject_email(p, NULL, "ann@acme.example", &b, &findable, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK_INT(privacy_subject_user_id(p, NULL, "samlp|c|ann@acme.example", &b, &e), 0);
    CHECK_STR(buf_str(&b), "samlp|c|ann@acme.example");
    privacy_policy_free(p);
    buf_release(&b);
    pseudonym_key_free(k);
}

static void test_recorded_policy(void)
{
    struct pseudonym_key *k = test_key();
    struct privacy_policy *p = policy("{\"version\":1,\"email_domain\":\"test.invalid\"}"), *back;
    json_t *desc = NULL, *pol;
    struct err e;

    CHECK_INT(privacy_policy_describe(p, k, &desc, &e), 0);
    CHECK_INT(privacy_policy_recorded(&back, desc, &e), 0);
    if (back) {
        CHECK_STR(privacy_policy_sha256(back), privacy_policy_sha256(p));
        CHECK_STR(privacy_policy_opts(back)->email_domain, "test.invalid");
        privacy_policy_free(back);
    }
    /* an edited policy no longer hashes to what the header says */
    pol = json_object_get(desc, "policy");
    json_object_set_new(pol, "email_domain", json_string("evil.example"));
    CHECK_INT(privacy_policy_recorded(&back, desc, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(back == NULL);
    /* none recorded */
    json_object_del(desc, "policy");
    CHECK_INT(privacy_policy_recorded(&back, desc, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK_INT(privacy_policy_recorded(&back, NULL, &e), -1);
    json_decref(desc);
    privacy_policy_free(p);
    pseudonym_key_free(k);
}

int main(void)
{
    RUN(test_default_policy);
    RUN(test_other_policies);
    RUN(test_hidden_emails_and_no_key);
    RUN(test_recorded_policy);
    return harness_done();
}
