/*
 * Unit tests for snapshots_target.c: who the person to erase is in a raw
 * and in a pseudonymised snapshot (through the policy and key fingerprint
 * its header records), the refusals (another key, a policy that hides
 * emails, a header edited by hand), and the erasure log's digest, checked
 * against HMAC-SHA256 computed with OpenSSL directly.
 */
#include "harness.h"
#include "privacy.h"
#include "pseudonym.h"
#include "snapshots_erase.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static const unsigned char key_bytes[32] = "snapshots-target-test-key-012345";

static struct pseudonym_key *key_of(const unsigned char *bytes)
{
    struct pseudonym_key *k = NULL;
    struct err e;

    CHECK_INT(pseudonym_key_from_bytes(&k, bytes, 32, &e), 0);
    return k;
}

/* A header as a0snap-export writes it: raw (policy NULL) or with the
 * policy's description under key k. */
static json_t *header(const char *policy_text, struct pseudonym_key *k)
{
    struct privacy_policy *p = NULL;
    json_t *h = json_object(), *desc = NULL;
    struct err e;

    if (!policy_text) {
        json_object_set_new(h, "privacy", json_pack("{s:b}", "applied", 0));
        return h;
    }
    CHECK_INT(*policy_text ? privacy_policy_parse(&p, policy_text, "t", &e)
                           : privacy_policy_default(&p, &e),
              0);
    CHECK_INT(privacy_policy_describe(p, k, &desc, &e), 0);
    json_object_set_new(h, "privacy", desc);
    privacy_policy_free(p);
    return h;
}

static void test_raw(void)
{
    struct pseudonym_key *k = key_of(key_bytes);
    json_t *h = header(NULL, NULL);
    struct erase_target t;
    struct err e;

    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, h, NULL, "Ann@Acme.example", k, &e), 0);
    CHECK(t.subj.user_id == NULL);
    CHECK_STR(t.subj.email, "Ann@Acme.example");
    CHECK_STR(t.subj.email_in_id, "Ann@Acme.example");
    CHECK_STR(t.needles[0], "Ann@Acme.example");
    erase_target_release(&t);

    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, h, "samlp|c|ann@acme.example", NULL, k, &e), 0);
    CHECK_STR(t.subj.user_id, "samlp|c|ann@acme.example");
    CHECK(t.subj.email == NULL && t.subj.email_in_id == NULL);
    /* the email inside the id names the person in the request too */
    CHECK(t.needles[2] && strcmp(t.needles[2], "ann@acme.example") == 0);
    erase_target_release(&t);
    json_decref(h);
    pseudonym_key_free(k);
}

static void test_pseudonymised(void)
{
    struct pseudonym_key *k = key_of(key_bytes);
    json_t *h = header("", k);
    struct buf want;
    struct erase_target t;
    struct err e;

    buf_init(&want, 1024);
    CHECK_INT(pseudonym_email(k, "ann@acme.example", "example.com", false, &want, &e), 0);
    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, h, NULL, "ANN@acme.example", k, &e), 0);
    CHECK_STR(t.subj.email, buf_str(&want));
    CHECK_STR(t.subj.email_in_id, buf_str(&want));
    CHECK(strstr(t.subj.email, "ann") == NULL);
    erase_target_release(&t);

    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, h, "samlp|c|ann@acme.example", NULL, k, &e), 0);
    CHECK(strncmp(t.subj.user_id, "samlp|c|", 8) == 0);
    CHECK_STR(t.subj.user_id + 8, buf_str(&want));
    erase_target_release(&t);

    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, h, "auth0|0123abc", NULL, k, &e), 0);
    CHECK_STR(t.subj.user_id, "auth0|0123abc");
    erase_target_release(&t);
    buf_release(&want);
    json_decref(h);
    pseudonym_key_free(k);
}

static void test_refusals(void)
{
    static const unsigned char other_bytes[32] = "another-key-for-the-target-test!";
    struct pseudonym_key *k = key_of(key_bytes), *other = key_of(other_bytes);
    json_t *h = header("", k),
           *masked = header("{\"version\":1,\"fields\":{\"email\":\"drop\"}}", k);
    struct erase_target t;
    struct err e;

    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, h, NULL, "ann@acme.example", other, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, pseudonym_key_fingerprint(other)) != NULL);
    CHECK(strstr(e.msg, "key given") != NULL);
    erase_target_release(&t);

    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, masked, NULL, "ann@acme.example", k, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "--user-id") != NULL);
    erase_target_release(&t);
    /* by id it is fine */
    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, masked, "auth0|1", NULL, k, &e), 0);
    erase_target_release(&t);

    /* an edited policy */
    json_object_set_new(json_object_get(json_object_get(h, "privacy"), "policy"), "email_domain",
                        json_string("elsewhere.example"));
    erase_target_init(&t);
    CHECK_INT(erase_target_for(&t, h, NULL, "ann@acme.example", k, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    erase_target_release(&t);
    json_decref(h);
    json_decref(masked);
    pseudonym_key_free(k);
    pseudonym_key_free(other);
}

static void digest_by_hand(const char *msg, size_t len, char out[65])
{
    unsigned char mac[32];
    unsigned int n = 0;

    HMAC(EVP_sha256(), key_bytes, 32, (const unsigned char *)msg, len, mac, &n);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void test_digest(void)
{
    static const char email_msg[] = "a0snap/v1/erasure\0email\0ann@acme.example";
    static const char id_msg[] = "a0snap/v1/erasure\0user_id\0auth0|ABC";
    struct pseudonym_key *k = key_of(key_bytes);
    char got[65], want[65];
    struct err e;

    CHECK_INT(erase_subject_digest(k, "email", " Ann@ACME.example ", got, &e), 0);
    digest_by_hand(email_msg, sizeof(email_msg) - 1, want);
    CHECK_STR(got, want);
    CHECK_INT(erase_subject_digest(k, "user_id", "auth0|ABC", got, &e), 0);
    digest_by_hand(id_msg, sizeof(id_msg) - 1, want);
    CHECK_STR(got, want);
    pseudonym_key_free(k);
}

int main(void)
{
    RUN(test_raw);
    RUN(test_pseudonymised);
    RUN(test_refusals);
    RUN(test_digest);
    return harness_done();
}
