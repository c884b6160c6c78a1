/*
 * age_crypto.c - the primitives age is built from, over OpenSSL 3's
 * libcrypto: HKDF-SHA-256, HMAC-SHA-256, ChaCha20-Poly1305, X25519 and
 * scrypt (r = 8, p = 1). See age_impl.h.
 *
 * Each function is a thin, checked call of one EVP interface; secrets
 * that pass through local buffers are wiped before returning. A failed
 * authentication is not an error here (age_aead_open() returns 0): the
 * caller decides whether it means "not my stanza" or "damaged chunk".
 */
#include "age_impl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static int ossl_fail(struct err *e, const char *what)
{
    return err_set(e, ERR_INTERNAL, "%s failed inside OpenSSL", what);
}

int age_random(void *out, size_t len, struct err *e)
{
    if (len > INT_MAX || RAND_bytes(out, (int)len) != 1)
        return ossl_fail(e, "drawing random bytes");
    return 0;
}

static int kdf_derive(const char *name, unsigned char *out, size_t out_len, OSSL_PARAM *params,
                      struct err *e)
{
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    int rc = -1;

    kdf = EVP_KDF_fetch(NULL, name, NULL);
    if (!kdf) {
        ossl_fail(e, name);
        goto out;
    }
    ctx = EVP_KDF_CTX_new(kdf);
    if (!ctx || EVP_KDF_derive(ctx, out, out_len, params) != 1) {
        ossl_fail(e, name);
        goto out;
    }
    rc = 0;
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

int age_hkdf(unsigned char *out, size_t out_len, const void *ikm, size_t ikm_len, const void *salt,
             size_t salt_len, const char *info, struct err *e)
{
    OSSL_PARAM params[5], *p = params;

    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    /* No salt parameter is HKDF's zero salt (HMAC pads a short key with
     * zeros), which is what age means by an empty salt. */
    if (salt_len > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    *p = OSSL_PARAM_construct_end();
    return kdf_derive("HKDF", out, out_len, params, e);
}

int age_hmac(unsigned char out[AGE_KEY_LEN], const unsigned char key[AGE_KEY_LEN], const void *data,
             size_t len, struct err *e)
{
    size_t out_len = 0;

    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, AGE_KEY_LEN, data, len, out,
                   AGE_KEY_LEN, &out_len) ||
        out_len != AGE_KEY_LEN)
        return ossl_fail(e, "HMAC-SHA-256");
    return 0;
}

/* A derive context for scalar with the peer point set, or NULL. The
 * context holds its own references to both keys. */
static EVP_PKEY_CTX *x25519_ctx(const unsigned char scalar[AGE_KEY_LEN],
                                const unsigned char point[AGE_KEY_LEN])
{
    EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, AGE_KEY_LEN);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, point, AGE_KEY_LEN);
    EVP_PKEY_CTX *ctx = priv && peer ? EVP_PKEY_CTX_new(priv, NULL) : NULL;

    if (ctx && (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1)) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    EVP_PKEY_free(peer);
    EVP_PKEY_free(priv);
    return ctx;
}

int age_x25519(unsigned char out[AGE_KEY_LEN], const unsigned char scalar[AGE_KEY_LEN],
               const unsigned char point[AGE_KEY_LEN], struct err *e)
{
    static const unsigned char zero[AGE_KEY_LEN];
    EVP_PKEY_CTX *ctx = x25519_ctx(scalar, point);
    size_t len = AGE_KEY_LEN;
    int rc = 0;

    if (!ctx)
        return ossl_fail(e, "X25519 key setup");
    /* OpenSSL refuses to return the all-zero result of a low-order point;
     * the check after it is for any version that would not. */
    if (EVP_PKEY_derive(ctx, out, &len) != 1 || len != AGE_KEY_LEN ||
        CRYPTO_memcmp(out, zero, AGE_KEY_LEN) == 0) {
        OPENSSL_cleanse(out, AGE_KEY_LEN);
        ERR_clear_error();
        rc = err_set(e, ERR_SNAPSHOT, "X25519 share is a low-order point");
    }
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int age_x25519_base(unsigned char out[AGE_KEY_LEN], const unsigned char scalar[AGE_KEY_LEN],
                    struct err *e)
{
    EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, AGE_KEY_LEN);
    size_t len = AGE_KEY_LEN;
    int rc = 0;

    if (!priv || EVP_PKEY_get_raw_public_key(priv, out, &len) != 1 || len != AGE_KEY_LEN)
        rc = ossl_fail(e, "X25519 public key");
    EVP_PKEY_free(priv);
    return rc;
}

int age_scrypt(unsigned char out[AGE_KEY_LEN], const char *passphrase, const unsigned char *salt,
               size_t salt_len, int log_n, struct err *e)
{
    OSSL_PARAM params[7], *p = params;
    uint64_t n = (uint64_t)1 << log_n;
    uint32_t r = 8, par = 1;
    /* scrypt's working set is about 128 * r * N bytes; allow that and a
     * margin (OpenSSL's own default ceiling is 32 MiB, below age's N). */
    uint64_t maxmem = 2 * 128 * (uint64_t)r * n + (1u << 20);

    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)passphrase,
                                             strlen(passphrase));
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    *p++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    *p++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par);
    *p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    *p = OSSL_PARAM_construct_end();
    return kdf_derive("SCRYPT", out, AGE_KEY_LEN, params, e);
}

struct age_aead {
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *ctx;
};

int age_aead_new(struct age_aead **out, struct err *e)
{
    struct age_aead *a = calloc(1, sizeof(*a));

    *out = NULL;
    if (!a)
        return err_oom(e);
    /* Fetched once: EVP_chacha20_poly1305() would fetch at every chunk. */
    a->cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    a->ctx = EVP_CIPHER_CTX_new();
    if (!a->cipher || !a->ctx) {
        age_aead_free(a);
        return ossl_fail(e, "ChaCha20-Poly1305 setup");
    }
    *out = a;
    return 0;
}

void age_aead_free(struct age_aead *a)
{
    if (!a)
        return;
    EVP_CIPHER_CTX_free(a->ctx); /* wipes the key schedule */
    EVP_CIPHER_free(a->cipher);
    free(a);
}

int age_aead_seal(struct age_aead *a, const unsigned char key[AGE_KEY_LEN],
                  const unsigned char nonce[12], const void *in, size_t len, unsigned char *out,
                  struct err *e)
{
    int n = 0, fin = 0;

    if (len > INT_MAX)
        return err_set(e, ERR_INTERNAL, "ChaCha20-Poly1305 input too large");
    if (EVP_EncryptInit_ex2(a->ctx, a->cipher, key, nonce, NULL) != 1 ||
        EVP_EncryptUpdate(a->ctx, out, &n, in, (int)len) != 1 ||
        EVP_EncryptFinal_ex(a->ctx, out + n, &fin) != 1 || (size_t)(n + fin) != len ||
        EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, AGE_TAG_LEN, out + len) != 1)
        return ossl_fail(e, "ChaCha20-Poly1305 encryption");
    return 0;
}

int age_aead_open(struct age_aead *a, const unsigned char key[AGE_KEY_LEN],
                  const unsigned char nonce[12], const void *in, size_t len, unsigned char *out,
                  struct err *e)
{
    const unsigned char *c = in;
    size_t plain_len;
    int n = 0, fin = 0;

    if (len < AGE_TAG_LEN || len > INT_MAX)
        return err_set(e, ERR_INTERNAL, "ChaCha20-Poly1305 input of bad length");
    plain_len = len - AGE_TAG_LEN;
    if (EVP_DecryptInit_ex2(a->ctx, a->cipher, key, nonce, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, AGE_TAG_LEN, (void *)(c + plain_len)) !=
            1 ||
        EVP_DecryptUpdate(a->ctx, out, &n, c, (int)plain_len) != 1)
        return ossl_fail(e, "ChaCha20-Poly1305 decryption");
    if (EVP_DecryptFinal_ex(a->ctx, out + n, &fin) != 1) {
        OPENSSL_cleanse(out, plain_len);
        ERR_clear_error();
        return 0;
    }
    return 1;
}
