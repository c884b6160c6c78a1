/*
 * edsig.c - see edsig.h. Ed25519 is a "one-shot" signature in OpenSSL 3:
 * EVP_DigestSign/Verify with no digest, the whole message at once, which
 * is why the messages signed here are short (an id and a digest).
 */
#include "edsig.h"

#include "fsutil.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define KEY_FILE_MAX (16 * 1024)
#define TRUSTED_MAX  256
#define SIG_LEN      64

struct edsig_key {
    EVP_PKEY *pkey;
    char fingerprint[EDSIG_FINGERPRINT_LEN + 1];
    char public_b64[EDSIG_PUBLIC_B64_MAX + 1];
};

struct edsig_trusted {
    size_t n;
    char fingerprints[TRUSTED_MAX][EDSIG_FINGERPRINT_LEN + 1];
};

/* The fingerprint and base64 DER of pkey's public half. */
static int describe_public(EVP_PKEY *pkey, char fp[EDSIG_FINGERPRINT_LEN + 1],
                           char b64[EDSIG_PUBLIC_B64_MAX + 1], struct err *e)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int len = i2d_PUBKEY(pkey, &der);
    int rc = -1;

    if (len <= 0 || (len + 2) / 3 * 4 > EDSIG_PUBLIC_B64_MAX) {
        err_set(e, ERR_INTERNAL, "cannot encode an Ed25519 public key");
        goto out;
    }
    if (!EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        err_set(e, ERR_INTERNAL, "cannot hash an Ed25519 public key");
        goto out;
    }
    for (unsigned i = 0; i < mdlen; i++) {
        fp[2 * i] = hex[md[i] >> 4];
        fp[2 * i + 1] = hex[md[i] & 15];
    }
    fp[EDSIG_FINGERPRINT_LEN] = '\0';
    if (b64)
        EVP_EncodeBlock((unsigned char *)b64, der, len);
    rc = 0;
out:
    OPENSSL_free(der);
    return rc;
}

/* Decodes base64 (no line breaks) into out (outsz bytes); the decoded
 * length, or -1. */
static int b64_decode(const char *in, unsigned char *out, size_t outsz)
{
    size_t n = strlen(in);
    int len, pad = 0;

    if (n == 0 || n % 4 != 0 || n / 4 * 3 > outsz)
        return -1;
    len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -1;
    if (in[n - 1] == '=')
        pad++;
    if (in[n - 2] == '=')
        pad++;
    return len - pad; /* EVP_DecodeBlock counts padding as zero bytes */
}

/* The public key of public_b64, or NULL. */
static EVP_PKEY *public_from_b64(const char *public_b64)
{
    unsigned char der[EDSIG_PUBLIC_B64_MAX];
    const unsigned char *p = der;
    int len = b64_decode(public_b64, der, sizeof(der));
    EVP_PKEY *pkey;

    if (len <= 0)
        return NULL;
    pkey = d2i_PUBKEY(NULL, &p, len);
    if (pkey && (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519 || p != der + len)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

int edsig_key_load(struct edsig_key **out, const char *path, struct err *e)
{
    struct edsig_key *k = NULL;
    char *text = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    int rc = -1;

    *out = NULL;
    if (fsutil_read_private(path, "signing key file", KEY_FILE_MAX, &text, &len, e) < 0)
        return -1;
    k = calloc(1, sizeof(*k));
    bio = BIO_new_mem_buf(text, (int)len);
    if (!k || !bio) {
        err_oom(e);
        goto out;
    }
    k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    ERR_clear_error();
    if (!k->pkey || EVP_PKEY_get_id(k->pkey) != EVP_PKEY_ED25519) {
        err_set(e, ERR_USAGE,
                "signing key file '%s' holds no Ed25519 private key in PEM (make one with: "
                "openssl genpkey -algorithm ed25519 -out '%s')",
                path, path);
        goto out;
    }
    if (describe_public(k->pkey, k->fingerprint, k->public_b64, e) < 0)
        goto out;
    *out = k;
    k = NULL;
    rc = 0;
out:
    BIO_free(bio);
    if (text) {
        explicit_bzero(text, len);
        free(text);
    }
    edsig_key_free(k);
    return rc;
}

void edsig_key_free(struct edsig_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey); /* OpenSSL clears key material when it frees it */
    free(k);
}

const char *edsig_key_fingerprint(const struct edsig_key *k)
{
    return k->fingerprint;
}

const char *edsig_key_public(const struct edsig_key *k)
{
    return k->public_b64;
}

int edsig_sign(const struct edsig_key *k, const void *msg, size_t len,
               char out[EDSIG_SIG_B64_LEN + 1], struct err *e)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[SIG_LEN];
    size_t siglen = sizeof(sig);
    int rc = -1;

    if (!ctx)
        return err_oom(e);
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != SIG_LEN) {
        ERR_clear_error();
        err_set(e, ERR_INTERNAL, "Ed25519 signing failed");
        goto out;
    }
    EVP_EncodeBlock((unsigned char *)out, sig, SIG_LEN);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int edsig_verify(const char *public_b64, const void *msg, size_t len, const char *sig_b64,
                 char *fingerprint_out, struct err *e)
{
    EVP_PKEY *pkey = public_from_b64(public_b64);
    EVP_MD_CTX *ctx = NULL;
    unsigned char sig[SIG_LEN + 3];
    char fp[EDSIG_FINGERPRINT_LEN + 1];
    int siglen, rc = -1;

    if (!pkey)
        return err_set(e, ERR_SNAPSHOT, "the signer's public key is not an Ed25519 key");
    if (describe_public(pkey, fp, NULL, e) < 0)
        goto out;
    if (fingerprint_out)
        memcpy(fingerprint_out, fp, sizeof(fp));
    siglen = b64_decode(sig_b64, sig, sizeof(sig));
    if (siglen != SIG_LEN) {
        err_set(e, ERR_SNAPSHOT, "the signature is not 64 bytes of base64");
        goto out;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx) {
        err_oom(e);
        goto out;
    }
    if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
        EVP_DigestVerify(ctx, sig, SIG_LEN, msg, len) != 1) {
        ERR_clear_error();
        err_set(e, ERR_SNAPSHOT, "the signature does not match (key %.16s...)", fp);
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

int edsig_public_fingerprint(const char *public_b64, char out[EDSIG_FINGERPRINT_LEN + 1],
                             struct err *e)
{
    EVP_PKEY *pkey = public_from_b64(public_b64);
    int rc;

    if (!pkey)
        return err_set(e, ERR_SNAPSHOT, "the signer's public key is not an Ed25519 key");
    rc = describe_public(pkey, out, NULL, e);
    EVP_PKEY_free(pkey);
    return rc;
}

int edsig_trusted_load(struct edsig_trusted **out, const char *path, struct err *e)
{
    struct edsig_trusted *t = NULL;
    BIO *bio = NULL;
    EVP_PKEY *pkey;
    int rc = -1;

    *out = NULL;
    bio = BIO_new_file(path, "r");
    if (!bio) {
        ERR_clear_error();
        return err_set(e, ERR_USAGE, "cannot open trusted keys file '%s'", path);
    }
    t = calloc(1, sizeof(*t));
    if (!t) {
        err_oom(e);
        goto out;
    }
    while ((pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL) {
        int ok = EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519 && t->n < TRUSTED_MAX &&
                 describe_public(pkey, t->fingerprints[t->n], NULL, e) == 0;
        EVP_PKEY_free(pkey);
        if (!ok) {
            err_set(e, ERR_USAGE,
                    "trusted keys file '%s': key %zu is not an Ed25519 public key (or more "
                    "than %d keys)",
                    path, t->n + 1, TRUSTED_MAX);
            goto out;
        }
        t->n++;
    }
    ERR_clear_error();
    if (t->n == 0) {
        err_set(e, ERR_USAGE,
                "trusted keys file '%s' holds no PEM public key (make one with: openssl pkey "
                "-in KEY.pem -pubout)",
                path);
        goto out;
    }
    *out = t;
    t = NULL;
    rc = 0;
out:
    BIO_free(bio);
    edsig_trusted_free(t);
    return rc;
}

void edsig_trusted_free(struct edsig_trusted *t)
{
    free(t);
}

bool edsig_trusted_has(const struct edsig_trusted *t, const char *fingerprint)
{
    for (size_t i = 0; t && fingerprint && i < t->n; i++)
        if (strcmp(t->fingerprints[i], fingerprint) == 0)
            return true;
    return false;
}

size_t edsig_trusted_count(const struct edsig_trusted *t)
{
    return t ? t->n : 0;
}
