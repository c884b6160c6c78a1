/*
 * age_stanza.c - wrapping the file key for one recipient, and unwrapping
 * it with one identity: the X25519 and scrypt recipient types of C2SP
 * age.md. See age_impl.h.
 *
 * Unwrapping tells "not for me" (another type, another key, a wrong
 * passphrase: the AEAD tag does not verify) from "malformed" (wrong
 * argument count, a share or salt that is not exactly 32 or 16 bytes in
 * canonical base64, a body that is not a 16-byte key plus tag, a
 * low-order share, a work factor that is not a plain decimal 1..cap):
 * the first lets the caller try the next stanza, the second stops
 * decryption, as the spec and the test vectors require. The work factor
 * is checked against the ceiling before any scrypt work is done.
 */
#include "age_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define X25519_LABEL "age-encryption.org/v1/X25519"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"
#define WRAPPED_LEN  (AGE_FILE_KEY_LEN + AGE_TAG_LEN)

static const unsigned char ZERO_NONCE[12];

/* Seals file_key under wrap_key into s->body. */
static int seal_body(struct age_stanza *s, const unsigned char wrap_key[AGE_KEY_LEN],
                     const unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e)
{
    struct age_aead *a = NULL;
    int rc = -1;

    s->body = malloc(WRAPPED_LEN);
    if (!s->body) {
        err_oom(e);
        goto out;
    }
    s->body_len = WRAPPED_LEN;
    if (age_aead_new(&a, e) < 0 ||
        age_aead_seal(a, wrap_key, ZERO_NONCE, file_key, AGE_FILE_KEY_LEN, s->body, e) < 0)
        goto out;
    rc = 0;
out:
    age_aead_free(a);
    return rc;
}

/* 1 and file_key filled if body opens under wrap_key, 0 if not. */
static int open_body(const struct age_stanza *s, const unsigned char wrap_key[AGE_KEY_LEN],
                     unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e)
{
    struct age_aead *a = NULL;
    int rc = -1;

    if (age_aead_new(&a, e) < 0)
        goto out;
    rc = age_aead_open(a, wrap_key, ZERO_NONCE, s->body, s->body_len, file_key, e);
out:
    age_aead_free(a);
    return rc;
}

static int add_arg(struct age_stanza *s, const char *text, size_t len, struct err *e)
{
    s->args[s->nargs] = strndup(text, len);
    if (!s->args[s->nargs])
        return err_oom(e);
    s->nargs++;
    return 0;
}

static int add_b64_arg(struct age_stanza *s, const unsigned char *data, size_t len, struct err *e)
{
    char enc[64];

    age_b64_encode(enc, data, len);
    return add_arg(s, enc, age_b64_len(len), e);
}

static int wrap_x25519(struct age_stanza *s, const struct age_key *r,
                       const unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e)
{
    unsigned char eph[AGE_KEY_LEN], share[AGE_KEY_LEN], shared[AGE_KEY_LEN], key[AGE_KEY_LEN];
    unsigned char salt[2 * AGE_KEY_LEN];
    int rc = -1;

    if (age_random(eph, sizeof(eph), e) < 0 || age_x25519_base(share, eph, e) < 0)
        goto out;
    if (age_x25519(shared, eph, r->pub, e) < 0) {
        err_set(e, ERR_USAGE, "recipient is not a usable X25519 key (low-order point)");
        goto out;
    }
    memcpy(salt, share, AGE_KEY_LEN);
    memcpy(salt + AGE_KEY_LEN, r->pub, AGE_KEY_LEN);
    if (age_hkdf(key, sizeof(key), shared, sizeof(shared), salt, sizeof(salt), X25519_LABEL, e) <
            0 ||
        add_arg(s, "X25519", 6, e) < 0 || add_b64_arg(s, share, sizeof(share), e) < 0 ||
        seal_body(s, key, file_key, e) < 0)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(eph, sizeof(eph));
    OPENSSL_cleanse(shared, sizeof(shared));
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

static int wrap_scrypt(struct age_stanza *s, const struct age_key *r,
                       const unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e)
{
    unsigned char salt[sizeof(SCRYPT_LABEL) - 1 + AGE_SALT_LEN], key[AGE_KEY_LEN];
    unsigned char *rand_salt = salt + sizeof(SCRYPT_LABEL) - 1;
    char wf[16];
    int rc = -1;

    memcpy(salt, SCRYPT_LABEL, sizeof(SCRYPT_LABEL) - 1);
    snprintf(wf, sizeof(wf), "%d", r->work_factor);
    if (age_random(rand_salt, AGE_SALT_LEN, e) < 0 ||
        age_scrypt(key, r->passphrase, salt, sizeof(salt), r->work_factor, e) < 0 ||
        add_arg(s, "scrypt", 6, e) < 0 || add_b64_arg(s, rand_salt, AGE_SALT_LEN, e) < 0 ||
        add_arg(s, wf, strlen(wf), e) < 0 || seal_body(s, key, file_key, e) < 0)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int age_stanza_wrap(struct age_stanza *s, const struct age_key *recipient,
                    const unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e)
{
    int rc;

    memset(s, 0, sizeof(*s));
    if (recipient->type == AGE_KEY_X25519)
        rc = wrap_x25519(s, recipient, file_key, e);
    else
        rc = wrap_scrypt(s, recipient, file_key, e);
    if (rc < 0)
        age_stanza_release(s);
    return rc;
}

/* Decodes a base64 argument that must hold exactly len bytes. */
static bool arg_bytes(const char *arg, unsigned char *out, size_t len)
{
    size_t n;

    return age_b64_decode(arg, strlen(arg), out, len, &n) == 0 && n == len;
}

static int unwrap_x25519(const struct age_stanza *s, const struct age_key *id,
                         unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e)
{
    unsigned char share[AGE_KEY_LEN], shared[AGE_KEY_LEN], key[AGE_KEY_LEN];
    unsigned char salt[2 * AGE_KEY_LEN];
    int rc = -1;

    if (s->nargs != 2 || !arg_bytes(s->args[1], share, sizeof(share))) {
        err_set(e, ERR_SNAPSHOT, "malformed X25519 stanza");
        goto out;
    }
    if (s->body_len != WRAPPED_LEN) {
        err_set(e, ERR_SNAPSHOT, "X25519 stanza does not wrap a 16-byte file key");
        goto out;
    }
    if (age_x25519(shared, id->secret, share, e) < 0)
        goto out;
    memcpy(salt, share, AGE_KEY_LEN);
    memcpy(salt + AGE_KEY_LEN, id->pub, AGE_KEY_LEN);
    if (age_hkdf(key, sizeof(key), shared, sizeof(shared), salt, sizeof(salt), X25519_LABEL, e) < 0)
        goto out;
    rc = open_body(s, key, file_key, e);
out:
    OPENSSL_cleanse(shared, sizeof(shared));
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* age writes the work factor as a plain decimal: no sign, no leading
 * zero, no other base. */
static int parse_work_factor(const char *arg, int *out)
{
    size_t len = strlen(arg);
    int v = 0;

    if (len == 0 || len > 2 || arg[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (arg[i] < '0' || arg[i] > '9')
            return -1;
        v = v * 10 + (arg[i] - '0');
    }
    *out = v;
    return 0;
}

static int unwrap_scrypt(const struct age_stanza *s, const struct age_key *id, int max_wf,
                         unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e)
{
    unsigned char salt[sizeof(SCRYPT_LABEL) - 1 + AGE_SALT_LEN], key[AGE_KEY_LEN];
    int wf, rc = -1;

    memcpy(salt, SCRYPT_LABEL, sizeof(SCRYPT_LABEL) - 1);
    if (s->nargs != 3 || !arg_bytes(s->args[1], salt + sizeof(SCRYPT_LABEL) - 1, AGE_SALT_LEN) ||
        parse_work_factor(s->args[2], &wf) < 0) {
        err_set(e, ERR_SNAPSHOT, "malformed scrypt stanza");
        goto out;
    }
    if (s->body_len != WRAPPED_LEN) {
        err_set(e, ERR_SNAPSHOT, "scrypt stanza does not wrap a 16-byte file key");
        goto out;
    }
    if (wf > max_wf) {
        err_set(e, ERR_REFUSED,
                "passphrase work factor %d is above the limit %d (scrypt would need %llu MiB)", wf,
                max_wf, (1ULL << wf) * 1024 / (1024 * 1024));
        goto out;
    }
    if (age_scrypt(key, id->passphrase, salt, sizeof(salt), wf, e) < 0)
        goto out;
    rc = open_body(s, key, file_key, e);
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int age_stanza_unwrap(const struct age_stanza *s, const struct age_key *identity,
                      int max_work_factor, unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e)
{
    if (identity->type == AGE_KEY_X25519 && strcmp(s->args[0], "X25519") == 0)
        return unwrap_x25519(s, identity, file_key, e);
    if (identity->type == AGE_KEY_SCRYPT && strcmp(s->args[0], "scrypt") == 0)
        return unwrap_scrypt(s, identity, max_work_factor, file_key, e);
    return 0;
}
