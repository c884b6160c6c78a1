/*
 * fuzz_policy.c - the privacy policy parser (common/privacy_policy.c) and
 * the transforms a parsed policy drives (common/privacy_transform.c).
 *
 * Input: policy text, optionally followed by a line "%%" and a user object
 * (JSON) to apply it to; every policy is also applied to a few built-in
 * users. What must hold:
 *  - a refusal is ERR_USAGE (or ERR_INTERNAL) with a message naming the
 *    policy;
 *  - the canonical text of an accepted policy parses back to the same
 *    policy: same canonical text, hash and key need (privacy.h promises
 *    it, and a0snap-import relies on it to read a policy from a header);
 *  - privacy_policy_describe() works and never holds the key;
 *  - applying is a function: the policy and its canonical twin, each in a
 *    fresh context, turn the same user into the same result.
 */
#include "fuzz_util.h"

#include "privacy.h"
#include "pseudonym.h"

#define FUZZ_POLICY_MAX_INPUT (256u * 1024)
#define FUZZ_POLICY_SEP       "\n%%\n"

static const char *const builtin_users[] = {
    "{\"user_id\":\"auth0|63d16b5edf1ce171262c71b5\",\"email\":\"Jane.Doe@Corp-Mail.org\","
    "\"email_verified\":true,\"username\":\"janedoe77\",\"phone_number\":\"+14155550142\","
    "\"name\":\"Jane Quinta Doe\",\"given_name\":\"Jane\",\"family_name\":\"Doe\","
    "\"nickname\":\"janie\",\"picture\":\"https://s.gravatar.com/avatar/abc.png\","
    "\"last_ip\":\"203.0.113.77\",\"identities\":[{\"connection\":\"Username-Password-"
    "Authentication\",\"provider\":\"auth0\",\"user_id\":\"63d16b5edf1ce171262c71b5\","
    "\"isSocial\":false},{\"connection\":\"google-oauth2\",\"provider\":\"google-oauth2\","
    "\"user_id\":1098765,\"isSocial\":true,\"access_token\":\"ya29.x\",\"profileData\":"
    "{\"email\":\"jane@gmail.example\",\"name\":\"Janet\"}}],\"user_metadata\":{\"preferences\":"
    "{\"theme\":\"dark\"},\"address\":{\"street\":\"12 Rue Q\",\"zip\":\"75004\"},\"contacts\":"
    "[{\"email\":\"a@b.org\",\"phone\":\"+33 1 42\"},{\"mobile\":\"06 12\"}],\"dateOfBirth\":"
    "\"1984-07-19\",\"homePhone\":4155550199},\"app_metadata\":{\"plan\":\"gold\",\"tags\":"
    "[\"beta\",\"vip\"],\"ssn\":\"123-45-6789\",\"billing\":{\"IBAN\":\"FR76\",\"taxId\":\"FR4\"},"
    "\"ipAddress\":\"198.51.100.24\",\"geo\":{\"lat\":48.86},\"test_account\":true},"
    "\"roles\":[{\"id\":\"rol_1\",\"name\":\"editor\"}],\"organizations\":[{\"id\":\"org_1\","
    "\"name\":\"acme\"}]}",
    "{\"user_id\":\"sms|5f1\",\"phone_number\":\"+447700900123\",\"phone_verified\":true,"
    "\"identities\":[{\"connection\":\"sms\",\"provider\":\"sms\",\"user_id\":\"5f1\"}],"
    "\"app_metadata\":{\"a.b\":{\"x\":[1]},\"deep\":{\"er\":{\"est\":[[[\"x\"]]]}}}}",
    "{\"user_id\":\"samlp|acme|bob@acme.example\",\"email\":\" BOB@ACME.EXAMPLE \","
    "\"email_verified\":\"true\",\"blocked\":false,\"user_metadata\":{},\"app_metadata\":null}",
    NULL,
};

static struct pseudonym_key *key;

/* Applies p to a copy of user in a fresh context; a new reference to the
 * result (NULL when excluded), or aborts on a broken promise. */
static json_t *apply(const struct privacy_policy *p, const json_t *user, int *kept)
{
    struct privacy_ctx *c = NULL;
    const struct privacy_drift *drift;
    json_t *copy;
    struct err e;
    int rc;

    err_clear(&e);
    FUZZ_ASSERT(privacy_ctx_new(&c, p, key, &e) == 0);
    privacy_ctx_want_src(c, true);
    copy = json_deep_copy(user);
    FUZZ_ASSERT(copy != NULL);
    rc = privacy_apply(c, copy, &e);
    *kept = rc;
    if (rc < 0) {
        FUZZ_ASSERT(e.code == ERR_SNAPSHOT || e.code == ERR_INTERNAL);
        json_decref(copy);
        copy = NULL;
    } else if (rc == 0) {
        FUZZ_ASSERT(json_equal(copy, user)); /* an excluded user is untouched */
        json_decref(copy);
        copy = NULL;
    } else {
        const struct privacy_user_src *src = privacy_ctx_last_src(c);
        const char *digests[] = {src->email, src->username, src->phone};
        char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

        FUZZ_ASSERT(text != NULL);
        free(text);
        /* Source digests: "" or PRIVACY_SRC_HEX hex digits. */
        for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
            size_t n = strlen(digests[i]);
            FUZZ_ASSERT(n == 0 ||
                        (n == PRIVACY_SRC_HEX && strspn(digests[i], "0123456789abcdef") == n));
        }
    }
    FUZZ_ASSERT(privacy_ctx_stats(c)->users_seen == 1);
    for (size_t i = 0, n = privacy_ctx_drift(c, &drift); i < n; i++)
        FUZZ_ASSERT(drift[i].path != NULL && drift[i].users >= 1);
    privacy_ctx_free(c);
    return copy;
}

static void apply_both(const struct privacy_policy *p, const struct privacy_policy *twin,
                       const json_t *user)
{
    int k1, k2;
    json_t *a = apply(p, user, &k1), *b = apply(twin, user, &k2);

    FUZZ_ASSERT(k1 == k2);
    FUZZ_ASSERT((a == NULL) == (b == NULL));
    if (a && !json_equal(a, b)) {
        char *x = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
        char *y = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "policy: %s\ntwin:   %s\n", x ? x : "?", y ? y : "?");
        free(x);
        free(y);
        FUZZ_ASSERT(!"a policy and its canonical form transform a user alike");
    }
    json_decref(a);
    json_decref(b);
}

static void check_policy(const struct privacy_policy *p, const json_t *user)
{
    struct privacy_policy *twin = NULL;
    const char *const *warnings;
    json_t *desc = NULL;
    const char *canon;
    struct err e;
    char *text;

    canon = privacy_policy_canonical(p);
    FUZZ_ASSERT(canon != NULL && strlen(privacy_policy_sha256(p)) == 64);
    err_clear(&e);
    if (privacy_policy_parse(&twin, canon, "canonical", &e) < 0) {
        fprintf(stderr, "canonical: %s\nrefused: %s\n", canon, e.msg);
        FUZZ_ASSERT(!"the canonical text of a policy parses back");
    }
    if (strcmp(privacy_policy_canonical(twin), canon) != 0) {
        fprintf(stderr, "canonical: %s\nagain:     %s\n", canon, privacy_policy_canonical(twin));
        FUZZ_ASSERT(!"the canonical text parses back to the same policy");
    }
    FUZZ_ASSERT(strcmp(privacy_policy_sha256(twin), privacy_policy_sha256(p)) == 0);
    FUZZ_ASSERT(privacy_policy_needs_key(twin) == privacy_policy_needs_key(p));

    for (size_t i = 0, n = privacy_policy_warnings(p, &warnings); i < n; i++)
        FUZZ_ASSERT(warnings[i] != NULL);
    if (privacy_policy_describe(p, key, &desc, &e) < 0) {
        fprintf(stderr, "describe refused: %s\n", e.msg);
        FUZZ_ASSERT(!"privacy_policy_describe works on a parsed policy");
    }
    FUZZ_ASSERT(json_is_object(json_object_get(desc, "policy")));
    text = json_dumps(desc, JSON_COMPACT);
    FUZZ_ASSERT(text != NULL);
    free(text);
    json_decref(desc);

    for (const char *const *u = builtin_users; *u; u++) {
        json_t *bu = json_loads(*u, 0, NULL);
        FUZZ_ASSERT(bu != NULL);
        apply_both(p, twin, bu);
        json_decref(bu);
    }
    if (user)
        apply_both(p, twin, user);
    privacy_policy_free(twin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char key_bytes[32] = "a0snap fuzz key, not a secret!!";
    struct privacy_policy *p = NULL;
    const char *sep;
    json_t *user = NULL;
    size_t policy_len = size;
    struct err e;
    char *text;

    if (size > FUZZ_POLICY_MAX_INPUT)
        return 0;
    err_clear(&e);
    if (!key && pseudonym_key_from_bytes(&key, key_bytes, sizeof(key_bytes), &e) < 0)
        abort();
    sep = fuzz_memmem((const char *)data, size, FUZZ_POLICY_SEP, strlen(FUZZ_POLICY_SEP));
    if (sep) {
        const char *u = sep + strlen(FUZZ_POLICY_SEP);
        policy_len = (size_t)(sep - (const char *)data);
        user = json_loadb(u, size - (size_t)(u - (const char *)data),
                          JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    }
    text = fuzz_strndup(data, policy_len);
    if (privacy_policy_parse(&p, text, "fuzz.json", &e) < 0) {
        FUZZ_ASSERT(p == NULL);
        FUZZ_ASSERT(e.code == ERR_USAGE || e.code == ERR_INTERNAL);
        FUZZ_ASSERT(strncmp(e.msg, "policy 'fuzz.json'", 18) == 0);
    } else {
        check_policy(p, user);
    }
    privacy_policy_free(p);
    json_decref(user);
    free(text);
    return 0;
}
