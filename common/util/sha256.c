/*
 * sha256.c - see sha256.h. The EVP context is hidden so that only this file
 * includes OpenSSL headers; OpenSSL failures here are internal errors (they
 * only happen when the library is broken or memory is exhausted).
 */
#include "sha256.h"

#include <stdlib.h>

#include <openssl/evp.h>

struct sha256 {
    EVP_MD_CTX *ctx;
};

int sha256_new(struct sha256 **out, struct err *e)
{
    struct sha256 *h = NULL;

    *out = NULL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return err_oom(e);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx) {
        free(h);
        return err_oom(e);
    }
    if (sha256_reset(h, e) < 0) {
        sha256_free(h);
        return -1;
    }
    *out = h;
    return 0;
}

int sha256_reset(struct sha256 *h, struct err *e)
{
    if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        return err_set(e, ERR_INTERNAL, "cannot start a sha256 digest");
    return 0;
}

int sha256_update(struct sha256 *h, const void *data, size_t len, struct err *e)
{
    if (len && EVP_DigestUpdate(h->ctx, data, len) != 1)
        return err_set(e, ERR_INTERNAL, "sha256 digest failed");
    return 0;
}

int sha256_final_hex(struct sha256 *h, char hex[SHA256_HEX_LEN + 1], struct err *e)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n * 2 != SHA256_HEX_LEN)
        return err_set(e, ERR_INTERNAL, "sha256 digest failed");
    for (i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[SHA256_HEX_LEN] = '\0';
    return 0;
}

void sha256_free(struct sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1], struct err *e)
{
    struct sha256 *h = NULL;
    int rc = -1;

    if (sha256_new(&h, e) < 0)
        goto out;
    if (sha256_update(h, data, len, e) < 0 || sha256_final_hex(h, hex, e) < 0)
        goto out;
    rc = 0;
out:
    sha256_free(h);
    return rc;
}
