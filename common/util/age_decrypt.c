/*
 * age_decrypt.c - the decrypting stream. See age.h.
 *
 * Three stages, each complete before the next releases anything:
 *   1. header: bytes are collected (at most AGE_HEADER_MAX) line by line
 *      until the MAC line; it is parsed strictly, an scrypt stanza must be
 *      alone, each stanza is tried with each identity until one yields the
 *      file key (unknown stanza types are skipped), then the MAC over the
 *      header is checked in constant time;
 *   2. nonce: 16 bytes, which with the file key give the payload key;
 *   3. payload: STREAM chunks of 64 KiB + 16. A chunk is only opened once
 *      it is known to be complete: a full chunk when one more byte
 *      arrives (then it should be a middle chunk; if it only opens as the
 *      final one, the byte after it is trailing data) or at _finish();
 *      a short chunk only at _finish(), as the final one. Plaintext goes
 *      out only after its tag verified; the chunk that fails is wiped.
 * Errors follow the C2SP test vectors' kinds (enum age_failure): the
 * payload nonce being short is a header failure, as there.
 */
#include "age_impl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define SEALED_CHUNK (AGE_CHUNK_SIZE + AGE_TAG_LEN)

enum stage { STAGE_HEADER, STAGE_NONCE, STAGE_PAYLOAD, STAGE_DONE };

struct age_decrypt {
    const struct age_identities *ids;
    age_output_fn out;
    void *ctx;
    enum stage stage;
    enum age_failure failure;
    bool failed;
    struct buf hdr;    /* the header collected so far */
    size_t line_start; /* where its unfinished line starts */
    size_t lines;      /* complete lines in hdr */
    unsigned char file_key[AGE_FILE_KEY_LEN];
    unsigned char nonce[AGE_NONCE_LEN];
    size_t nonce_len;
    unsigned char key[AGE_KEY_LEN]; /* payload key */
    struct age_aead *aead;
    unsigned char *sealed; /* SEALED_CHUNK: the chunk being collected */
    size_t sealed_len;
    unsigned char *plain; /* AGE_CHUNK_SIZE */
    uint64_t counter;
};

int age_decrypt_new(struct age_decrypt **out, const struct age_identities *ids, age_output_fn fn,
                    void *ctx, struct err *e)
{
    struct age_decrypt *d;

    *out = NULL;
    if (ids->set.n == 0)
        return err_set(e, ERR_USAGE, "no identity to decrypt with");
    d = calloc(1, sizeof(*d));
    if (!d)
        return err_oom(e);
    d->ids = ids;
    d->out = fn;
    d->ctx = ctx;
    buf_init(&d->hdr, AGE_HEADER_MAX);
    d->sealed = malloc(SEALED_CHUNK);
    d->plain = malloc(AGE_CHUNK_SIZE);
    if (!d->sealed || !d->plain) {
        age_decrypt_free(d);
        return err_oom(e);
    }
    if (age_aead_new(&d->aead, e) < 0) {
        age_decrypt_free(d);
        return -1;
    }
    *out = d;
    return 0;
}

/* Marks d failed at stage f; e is already filled. Returns -1. */
static int fail(struct age_decrypt *d, enum age_failure f)
{
    d->failed = true;
    d->failure = f;
    OPENSSL_cleanse(d->file_key, sizeof(d->file_key));
    OPENSSL_cleanse(d->key, sizeof(d->key));
    return -1;
}

/* ---- stage 1: the header ---- */

/* Could these first bytes still begin an age file, binary or armored?
 * Lets garbage (a gzip file, say) fail at once instead of after 1 MiB. */
static bool could_be_age(const char *p, size_t n)
{
    static const char bin[] = "age-encryption.org/", armor[] = "-----BEGIN AGE";
    size_t i = 0;

    if (memcmp(p, bin, n < sizeof(bin) - 1 ? n : sizeof(bin) - 1) == 0)
        return true;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    n -= i;
    return memcmp(p + i, armor, n < sizeof(armor) - 1 ? n : sizeof(armor) - 1) == 0;
}

static int not_age(struct age_decrypt *d, struct err *e)
{
    switch (age_detect(d->hdr.data, d->hdr.len)) {
    case AGE_FORMAT_ARMORED:
        err_set(e, ERR_SNAPSHOT,
                "ASCII-armored age files are not supported: convert with 'age -d' first");
        break;
    case AGE_FORMAT_BINARY:
        err_set(e, ERR_SNAPSHOT, "unsupported age format version (only v1 is supported)");
        break;
    default:
        err_set(e, ERR_SNAPSHOT, "not an age-encrypted file");
        break;
    }
    return fail(d, AGE_FAIL_HEADER);
}

static bool is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

/* A new complete line of the header: the version line first; blank lines
 * before it (armor may start so) wait for the first non-blank one. */
static int check_first_line(struct age_decrypt *d, const char *line, size_t len, struct err *e)
{
    if (d->lines == 0 && len == strlen(AGE_VERSION_LINE) &&
        memcmp(line, AGE_VERSION_LINE, len) == 0)
        return 0;
    if (is_blank(line, len) && d->hdr.len < AGE_DETECT_LEN)
        return 0;
    return not_age(d, e);
}

/* Finds the file key: the first stanza that one of the identities opens. */
static int unwrap_file_key(struct age_decrypt *d, const struct age_header *h, struct err *e)
{
    const struct age_keyset *ids = &d->ids->set;

    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->stanzas[i].args[0], "scrypt") == 0 && h->n > 1) {
            err_set(e, ERR_SNAPSHOT, "malformed header: an scrypt stanza must be the only one");
            return fail(d, AGE_FAIL_HEADER);
        }
    }
    for (size_t i = 0; i < h->n; i++) {
        for (size_t j = 0; j < ids->n; j++) {
            int r = age_stanza_unwrap(&h->stanzas[i], &ids->v[j], d->ids->max_work_factor,
                                      d->file_key, e);
            if (r < 0) {
                if (e && e->code == ERR_SNAPSHOT)
                    err_prefix(e, "malformed header");
                return fail(d, AGE_FAIL_HEADER);
            }
            if (r == 1)
                return 0;
        }
    }
    err_set(e, ERR_USAGE, "no identity matches any recipient of the encrypted file");
    return fail(d, AGE_FAIL_NO_MATCH);
}

static int header_done(struct age_decrypt *d, struct err *e)
{
    struct age_header h;
    unsigned char mac_key[AGE_KEY_LEN], mac[AGE_KEY_LEN];
    int rc = -1;

    if (age_header_parse(&h, d->hdr.data, d->hdr.len, e) < 0) {
        err_prefix(e, "malformed header");
        return fail(d, AGE_FAIL_HEADER);
    }
    if (unwrap_file_key(d, &h, e) < 0)
        goto out;
    if (age_hkdf(mac_key, sizeof(mac_key), d->file_key, sizeof(d->file_key), NULL, 0, "header", e) <
            0 ||
        age_hmac(mac, mac_key, d->hdr.data, h.mac_covers, e) < 0) {
        fail(d, AGE_FAIL_OTHER);
        goto out;
    }
    if (CRYPTO_memcmp(mac, h.mac, sizeof(mac)) != 0) {
        err_set(e, ERR_SNAPSHOT, "header MAC mismatch: the header was damaged or tampered with");
        fail(d, AGE_FAIL_HMAC);
        goto out;
    }
    buf_release(&d->hdr);
    d->stage = STAGE_NONCE;
    rc = 0;
out:
    OPENSSL_cleanse(mac_key, sizeof(mac_key));
    age_header_release(&h);
    return rc;
}

/* Takes header bytes up to the end of the MAC line; *used says how many. */
static int feed_header(struct age_decrypt *d, const char *p, size_t len, size_t *used,
                       struct err *e)
{
    *used = 0;
    while (*used < len && d->stage == STAGE_HEADER) {
        const char *start = p + *used, *nl = memchr(start, '\n', len - *used);
        size_t take = nl ? (size_t)(nl - start) + 1 : len - *used;
        const char *line;
        size_t line_len;

        if (d->hdr.len + take > AGE_HEADER_MAX) {
            err_set(e, ERR_SNAPSHOT, "age header over %d KiB", AGE_HEADER_MAX / 1024);
            return fail(d, AGE_FAIL_HEADER);
        }
        if (buf_append(&d->hdr, start, take, e) < 0)
            return fail(d, AGE_FAIL_OTHER);
        *used += take;
        if (!could_be_age(d->hdr.data, d->hdr.len))
            return not_age(d, e);
        if (!nl)
            break;
        line = d->hdr.data + d->line_start;
        line_len = d->hdr.len - d->line_start - 1;
        d->line_start = d->hdr.len;
        if (d->lines == 0 && check_first_line(d, line, line_len, e) < 0)
            return -1;
        if (!(d->lines == 0 && is_blank(line, line_len)))
            d->lines++;
        if (d->lines > 1 && line_len >= 3 && memcmp(line, "---", 3) == 0 && header_done(d, e) < 0)
            return -1;
    }
    return 0;
}

/* ---- stages 2 and 3: nonce and payload ---- */

static void chunk_nonce(unsigned char nonce[12], uint64_t counter, bool last)
{
    memset(nonce, 0, 12);
    for (int i = 0; i < 8; i++)
        nonce[10 - i] = (unsigned char)(counter >> (8 * i));
    nonce[11] = last ? 1 : 0;
}

static int nonce_done(struct age_decrypt *d, struct err *e)
{
    int rc = age_hkdf(d->key, sizeof(d->key), d->file_key, sizeof(d->file_key), d->nonce,
                      sizeof(d->nonce), "payload", e);

    OPENSSL_cleanse(d->file_key, sizeof(d->file_key));
    if (rc < 0)
        return fail(d, AGE_FAIL_OTHER);
    d->stage = STAGE_PAYLOAD;
    return 0;
}

/* Opens the collected chunk as a middle or the last one: 1 and the
 * plaintext released if it authenticates, 0 if not. */
static int open_chunk(struct age_decrypt *d, bool last, struct err *e)
{
    unsigned char nonce[12];
    size_t plain_len = d->sealed_len - AGE_TAG_LEN;
    int r;

    chunk_nonce(nonce, d->counter, last);
    r = age_aead_open(d->aead, d->key, nonce, d->sealed, d->sealed_len, d->plain, e);
    if (r < 0)
        return fail(d, AGE_FAIL_OTHER);
    if (r == 0)
        return 0;
    d->counter++;
    d->sealed_len = 0;
    if (last)
        d->stage = STAGE_DONE;
    if (plain_len > 0 && d->out(d->ctx, d->plain, plain_len, e) < 0)
        return fail(d, AGE_FAIL_OTHER);
    OPENSSL_cleanse(d->plain, plain_len);
    return 1;
}

static int damaged(struct age_decrypt *d, struct err *e)
{
    err_set(e, ERR_SNAPSHOT,
            "encrypted data damaged or tampered with (chunk %llu does not authenticate)",
            (unsigned long long)d->counter + 1);
    return fail(d, AGE_FAIL_PAYLOAD);
}

/* A full chunk with more bytes after it. */
static int open_full_chunk(struct age_decrypt *d, struct err *e)
{
    int r = open_chunk(d, false, e);

    if (r == 0)
        r = open_chunk(d, true, e); /* then what follows is trailing data */
    if (r == 0)
        return damaged(d, e);
    return r < 0 ? -1 : 0;
}

int age_decrypt_feed(struct age_decrypt *d, const void *data, size_t len, struct err *e)
{
    const unsigned char *p = data;
    size_t used;

    if (d->failed)
        return err_set(e, ERR_INTERNAL, "age decryption already failed");
    if (d->stage == STAGE_HEADER) {
        if (feed_header(d, data, len, &used, e) < 0)
            return -1;
        p += used;
        len -= used;
    }
    if (d->stage == STAGE_NONCE && len > 0) {
        age_fill(d->nonce, &d->nonce_len, AGE_NONCE_LEN, &p, &len);
        if (d->nonce_len == AGE_NONCE_LEN && nonce_done(d, e) < 0)
            return -1;
    }
    while (len > 0) {
        if (d->stage == STAGE_DONE) {
            err_set(e, ERR_SNAPSHOT, "encrypted file has data after its final chunk");
            return fail(d, AGE_FAIL_PAYLOAD);
        }
        if (d->sealed_len == SEALED_CHUNK && open_full_chunk(d, e) < 0)
            return -1;
        if (d->stage == STAGE_DONE)
            continue;
        age_fill(d->sealed, &d->sealed_len, SEALED_CHUNK, &p, &len);
    }
    return 0;
}

int age_decrypt_finish(struct age_decrypt *d, struct err *e)
{
    int r;

    if (d->failed)
        return err_set(e, ERR_INTERNAL, "age decryption already failed");
    switch (d->stage) {
    case STAGE_HEADER:
        if (d->hdr.len == 0)
            err_set(e, ERR_SNAPSHOT, "empty file: not age-encrypted");
        else if (!could_be_age(d->hdr.data, d->hdr.len) ||
                 age_detect(d->hdr.data, d->hdr.len) == AGE_FORMAT_ARMORED)
            return not_age(d, e);
        else
            err_set(e, ERR_SNAPSHOT, "encrypted file is truncated inside its header");
        return fail(d, AGE_FAIL_HEADER);
    case STAGE_NONCE:
        err_set(e, ERR_SNAPSHOT, "encrypted file is truncated before its payload nonce");
        return fail(d, AGE_FAIL_HEADER);
    case STAGE_DONE:
        return 0;
    case STAGE_PAYLOAD:
        break;
    }
    if (d->sealed_len == 0) {
        err_set(e, ERR_SNAPSHOT, "encrypted file is truncated: %s",
                d->counter == 0 ? "it has no payload" : "its final chunk is missing");
        return fail(d, AGE_FAIL_PAYLOAD);
    }
    if (d->sealed_len < AGE_TAG_LEN) {
        err_set(e, ERR_SNAPSHOT, "encrypted file is truncated inside chunk %llu",
                (unsigned long long)d->counter + 1);
        return fail(d, AGE_FAIL_PAYLOAD);
    }
    if (d->sealed_len == AGE_TAG_LEN && d->counter > 0) {
        err_set(e, ERR_SNAPSHOT, "encrypted file ends with an empty chunk, which age never writes");
        return fail(d, AGE_FAIL_PAYLOAD);
    }
    r = open_chunk(d, true, e);
    if (r < 0)
        return -1;
    if (r == 1)
        return 0;
    /* A full middle chunk at the end: the final one was cut off. */
    if (d->sealed_len == SEALED_CHUNK) {
        r = open_chunk(d, false, e);
        if (r < 0)
            return -1;
        if (r == 1) {
            err_set(e, ERR_SNAPSHOT, "encrypted file is truncated: its final chunk is missing");
            return fail(d, AGE_FAIL_PAYLOAD);
        }
    }
    return damaged(d, e);
}

enum age_failure age_decrypt_failure(const struct age_decrypt *d)
{
    return d->failure;
}

void age_decrypt_free(struct age_decrypt *d)
{
    if (!d)
        return;
    buf_release(&d->hdr);
    if (d->plain) {
        OPENSSL_cleanse(d->plain, AGE_CHUNK_SIZE);
        free(d->plain);
    }
    free(d->sealed);
    age_aead_free(d->aead);
    OPENSSL_cleanse(d->file_key, sizeof(d->file_key));
    OPENSSL_cleanse(d->key, sizeof(d->key));
    free(d);
}
