/*
 * age_encrypt.c - the encrypting stream. See age.h.
 *
 * The file key (16 bytes from the CSPRNG) lives only inside
 * age_encrypt_new(): it is wrapped once per recipient, keys the header
 * MAC (HKDF info "header") and, with a fresh 16-byte nonce as salt, the
 * payload key (info "payload"); then it is wiped. The payload is STREAM:
 * 64 KiB plaintext chunks sealed with ChaCha20-Poly1305 under the nonce
 * counter || last-flag. A full chunk is held back until more data shows
 * it is not the last, because the final chunk must carry the flag and may
 * be full; so _finish() always has a chunk to seal (empty only if the
 * whole payload is).
 */
#include "age_impl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct age_encrypt {
    age_output_fn out;
    void *ctx;
    struct age_aead *aead;
    unsigned char key[AGE_KEY_LEN]; /* payload key */
    uint64_t counter;
    unsigned char *plain; /* AGE_CHUNK_SIZE: the chunk being filled */
    size_t plain_len;
    unsigned char *sealed; /* AGE_CHUNK_SIZE + AGE_TAG_LEN */
    bool failed, finished;
};

/* The STREAM nonce: an 11-byte big-endian counter, then the last flag. */
static void chunk_nonce(unsigned char nonce[12], uint64_t counter, bool last)
{
    memset(nonce, 0, 12);
    for (int i = 0; i < 8; i++)
        nonce[10 - i] = (unsigned char)(counter >> (8 * i));
    nonce[11] = last ? 1 : 0;
}

/* Builds the header (stanzas, MAC) and the payload nonce into hdr, and
 * derives the payload key. */
static int start_file(struct age_encrypt *enc, const struct age_recipients *r, struct buf *hdr,
                      struct err *e)
{
    unsigned char file_key[AGE_FILE_KEY_LEN], mac_key[AGE_KEY_LEN], mac[AGE_KEY_LEN];
    unsigned char nonce[AGE_NONCE_LEN];
    char mac_b64[44];
    struct age_stanza s = {0};
    int rc = -1;

    if (age_random(file_key, sizeof(file_key), e) < 0 ||
        buf_appends(hdr, AGE_VERSION_LINE "\n", e) < 0)
        goto out;
    for (size_t i = 0; i < r->set.n; i++) {
        if (age_stanza_wrap(&s, &r->set.v[i], file_key, e) < 0 ||
            age_header_append_stanza(hdr, &s, e) < 0)
            goto out;
        age_stanza_release(&s);
    }
    if (buf_appends(hdr, "---", e) < 0 ||
        age_hkdf(mac_key, sizeof(mac_key), file_key, sizeof(file_key), NULL, 0, "header", e) < 0 ||
        age_hmac(mac, mac_key, hdr->data, hdr->len, e) < 0)
        goto out;
    age_b64_encode(mac_b64, mac, sizeof(mac));
    mac_b64[43] = '\0';
    if (buf_appendf(hdr, e, " %s\n", mac_b64) < 0 || age_random(nonce, sizeof(nonce), e) < 0 ||
        buf_append(hdr, nonce, sizeof(nonce), e) < 0 ||
        age_hkdf(enc->key, sizeof(enc->key), file_key, sizeof(file_key), nonce, sizeof(nonce),
                 "payload", e) < 0)
        goto out;
    rc = 0;
out:
    age_stanza_release(&s);
    OPENSSL_cleanse(file_key, sizeof(file_key));
    OPENSSL_cleanse(mac_key, sizeof(mac_key));
    return rc;
}

int age_encrypt_new(struct age_encrypt **out, const struct age_recipients *r, age_output_fn fn,
                    void *ctx, struct err *e)
{
    struct age_encrypt *enc = NULL;
    struct buf hdr;
    int rc = -1;

    *out = NULL;
    buf_init(&hdr, AGE_HEADER_MAX);
    if (r->set.n == 0) {
        err_set(e, ERR_USAGE, "no recipients to encrypt to");
        goto out;
    }
    enc = calloc(1, sizeof(*enc));
    if (!enc) {
        err_oom(e);
        goto out;
    }
    enc->out = fn;
    enc->ctx = ctx;
    enc->plain = malloc(AGE_CHUNK_SIZE);
    enc->sealed = malloc(AGE_CHUNK_SIZE + AGE_TAG_LEN);
    if (!enc->plain || !enc->sealed) {
        err_oom(e);
        goto out;
    }
    if (age_aead_new(&enc->aead, e) < 0 || start_file(enc, r, &hdr, e) < 0 ||
        fn(ctx, hdr.data, hdr.len, e) < 0)
        goto out;
    *out = enc;
    enc = NULL;
    rc = 0;
out:
    buf_release(&hdr);
    age_encrypt_free(enc);
    return rc;
}

static int seal_chunk(struct age_encrypt *enc, const void *data, size_t len, bool last,
                      struct err *e)
{
    unsigned char nonce[12];

    chunk_nonce(nonce, enc->counter, last);
    if (age_aead_seal(enc->aead, enc->key, nonce, data, len, enc->sealed, e) < 0 ||
        enc->out(enc->ctx, enc->sealed, len + AGE_TAG_LEN, e) < 0) {
        enc->failed = true;
        return -1;
    }
    enc->counter++;
    return 0;
}

static int check_usable(const struct age_encrypt *enc, struct err *e)
{
    if (enc->failed)
        return err_set(e, ERR_INTERNAL, "age encryption already failed");
    if (enc->finished)
        return err_set(e, ERR_INTERNAL, "age encryption already finished");
    return 0;
}

int age_encrypt_write(struct age_encrypt *enc, const void *data, size_t len, struct err *e)
{
    const unsigned char *p = data;

    if (check_usable(enc, e) < 0)
        return -1;
    while (len > 0) {
        if (enc->plain_len == AGE_CHUNK_SIZE) {
            if (seal_chunk(enc, enc->plain, AGE_CHUNK_SIZE, false, e) < 0)
                return -1;
            enc->plain_len = 0;
        }
        /* Whole chunks with more data behind them go straight from the
         * caller's buffer. */
        if (enc->plain_len == 0 && len > AGE_CHUNK_SIZE) {
            if (seal_chunk(enc, p, AGE_CHUNK_SIZE, false, e) < 0)
                return -1;
            p += AGE_CHUNK_SIZE;
            len -= AGE_CHUNK_SIZE;
            continue;
        }
        age_fill(enc->plain, &enc->plain_len, AGE_CHUNK_SIZE, &p, &len);
    }
    return 0;
}

int age_encrypt_finish(struct age_encrypt *enc, struct err *e)
{
    if (check_usable(enc, e) < 0 || seal_chunk(enc, enc->plain, enc->plain_len, true, e) < 0)
        return -1;
    OPENSSL_cleanse(enc->plain, enc->plain_len);
    enc->plain_len = 0;
    enc->finished = true;
    return 0;
}

void age_encrypt_free(struct age_encrypt *enc)
{
    if (!enc)
        return;
    if (enc->plain) {
        OPENSSL_cleanse(enc->plain, AGE_CHUNK_SIZE);
        free(enc->plain);
    }
    free(enc->sealed);
    age_aead_free(enc->aead);
    OPENSSL_cleanse(enc->key, sizeof(enc->key));
    free(enc);
}
