/*
 * Unit tests for the age module (common/util/age.h) and Bech32: keys and
 * key files, round trips of every awkward size through odd-sized writes
 * and feeds, several recipients, passphrases, and every refusal of a
 * damaged, truncated, extended, reordered or foreign file. The official
 * vectors are run by test_age_vectors.c, interop with the real age by
 * tests/e2e/test_age_interop.py.
 */
#include "age.h"
#include "bech32.h"
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK  AGE_CHUNK_SIZE
#define SEALED (AGE_CHUNK_SIZE + 16)

/* A pair made by age-keygen 1.1.1 (a known answer for key parsing). */
static const char KNOWN_ID[] =
    "AGE-SECRET-KEY-1UZJWEFDT0E4HPUTETHMM85CGLWNS5065D4AXVVZ9EPTZVRVXLQVSFNHM4Z";
static const char KNOWN_PUB[] = "age1nu9f4kes96n0eypzg6urx7e72fyex73hx224m6qq4rfmgp4dqp4q3mnph5";

/* ---- helpers ---- */

struct bytes {
    unsigned char *p;
    size_t len, cap;
    size_t calls;
    int fail_at; /* fail the Nth call (1-based); 0 never */
};

static int collect(void *ctx, const void *data, size_t len, struct err *e)
{
    struct bytes *b = ctx;

    b->calls++;
    if (b->fail_at && (int)b->calls == b->fail_at)
        return err_set(e, ERR_IO, "sink refuses");
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 1024;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

static void bytes_free(struct bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static unsigned char *pattern(size_t len, uint32_t seed)
{
    unsigned char *p = malloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

/* Encrypts data to r in writes cycling through the sizes in steps. */
static int encrypt_buf(const struct age_recipients *r, const unsigned char *data, size_t len,
                       const size_t *steps, size_t n_steps, struct bytes *out, struct err *e)
{
    struct age_encrypt *enc = NULL;
    size_t off = 0, k = 0;
    int rc = -1;

    if (age_encrypt_new(&enc, r, collect, out, e) < 0)
        goto out;
    while (off < len) {
        size_t n = steps[k++ % n_steps];
        if (n > len - off)
            n = len - off;
        if (age_encrypt_write(enc, data + off, n, e) < 0)
            goto out;
        off += n;
    }
    rc = age_encrypt_finish(enc, e);
out:
    age_encrypt_free(enc);
    return rc;
}

/* Decrypts in feeds cycling through steps; the failure kind in *kind. */
static int decrypt_buf(const struct age_identities *ids, const unsigned char *data, size_t len,
                       const size_t *steps, size_t n_steps, struct bytes *out,
                       enum age_failure *kind, struct err *e)
{
    struct age_decrypt *d = NULL;
    size_t off = 0, k = 0;
    int rc = -1;

    *kind = AGE_FAIL_NONE;
    if (age_decrypt_new(&d, ids, collect, out, e) < 0)
        return -1;
    while (off < len) {
        size_t n = steps[k++ % n_steps];
        if (n > len - off)
            n = len - off;
        if (age_decrypt_feed(d, data + off, n, e) < 0)
            goto out;
        off += n;
    }
    rc = age_decrypt_finish(d, e);
out:
    *kind = age_decrypt_failure(d);
    age_decrypt_free(d);
    return rc;
}

static const size_t WHOLE[] = {SIZE_MAX};

/* A fresh key pair as sets. */
static void new_pair(struct age_recipients **r, struct age_identities **ids)
{
    char sk[AGE_SECRET_KEY_LEN + 1], pk[AGE_RECIPIENT_LEN + 1];
    struct err e;

    CHECK(age_keygen(sk, pk, &e) == 0);
    CHECK(age_recipients_new(r, &e) == 0 && age_recipients_add(*r, pk, &e) == 0);
    CHECK(age_identities_new(ids, &e) == 0 && age_identities_add(*ids, sk, &e) == 0);
}

/* The length of the header, nonce included: where the first chunk starts. */
static size_t payload_start(const struct bytes *ct)
{
    const unsigned char *mac = NULL;

    for (size_t i = 0; i + 4 < ct->len; i++)
        if (ct->p[i] == '\n' && memcmp(ct->p + i + 1, "--- ", 4) == 0) {
            mac = ct->p + i + 1;
            break;
        }
    if (!mac)
        return 0;
    return (size_t)(mac - ct->p) + 4 + 43 + 1 + 16;
}

/* ---- Bech32 ---- */

static void test_bech32_known_and_round_trip(void)
{
    unsigned char data[64], back[64];
    char s[200], hrp[90];
    size_t n;
    struct err e;

    /* BIP 173's valid strings. */
    CHECK(bech32_decode("A12UEL5L", hrp, sizeof(hrp), back, sizeof(back), &n, &e) == 0);
    CHECK_STR(hrp, "A");
    CHECK_INT(n, 0);
    CHECK(bech32_decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", hrp, sizeof(hrp), back,
                        sizeof(back), &n, &e) == 0);
    CHECK_STR(hrp, "abcdef");
    CHECK_INT(n, 20);
    CHECK_INT(back[0], 0x00);
    CHECK_INT(back[1], 0x44);

    for (size_t len = 0; len <= 40; len++) {
        unsigned char *p = pattern(len, (uint32_t)len);
        memcpy(data, p, len);
        free(p);
        CHECK(bech32_encode(s, sizeof(s), "age", data, len, &e) == 0);
        CHECK_INT(strlen(s), BECH32_ENCODED_LEN(3, len));
        CHECK(bech32_decode(s, hrp, sizeof(hrp), back, sizeof(back), &n, &e) == 0);
        CHECK_STR(hrp, "age");
        CHECK_INT(n, len);
        CHECK(memcmp(back, data, len) == 0);
        CHECK(bech32_encode(s, sizeof(s), "AGE-SECRET-KEY-", data, len, &e) == 0);
        CHECK(strncmp(s, "AGE-SECRET-KEY-1", 16) == 0);
        CHECK(bech32_decode(s, hrp, sizeof(hrp), back, sizeof(back), &n, &e) == 0);
        CHECK_STR(hrp, "AGE-SECRET-KEY-");
        CHECK(memcmp(back, data, len) == 0);
    }
}

static void test_bech32_refusals(void)
{
    char s[100], hrp[90];
    unsigned char back[64];
    size_t n;
    struct err e;

    /* Every single-character change of a key breaks the checksum. */
    for (size_t i = 4; i < strlen(KNOWN_PUB); i++) {
        snprintf(s, sizeof(s), "%s", KNOWN_PUB);
        s[i] = s[i] == 'q' ? 'p' : 'q';
        CHECK(bech32_decode(s, hrp, sizeof(hrp), back, sizeof(back), &n, &e) < 0);
    }
    snprintf(s, sizeof(s), "%s", KNOWN_PUB);
    s[10] = s[10] == 'q' ? 'p' : 'q';
    bech32_decode(s, hrp, sizeof(hrp), back, sizeof(back), &n, &e);
    CHECK_STR(e.msg, "invalid checksum");
    CHECK_INT(e.code, ERR_USAGE);
    snprintf(s, sizeof(s), "%s", KNOWN_PUB);
    s[5] = (char)(s[5] - 'a' + 'A'); /* mixed case */
    CHECK(bech32_decode(s, hrp, sizeof(hrp), back, sizeof(back), &n, &e) < 0);
    CHECK_STR(e.msg, "mixed case");
    CHECK(bech32_decode("age1b", hrp, sizeof(hrp), back, sizeof(back), &n, &e) < 0);
    CHECK(bech32_decode("ageqqqqqqqq", hrp, sizeof(hrp), back, sizeof(back), &n, &e) < 0);
    CHECK(bech32_decode("age1qqqqqqqqqbqq", hrp, sizeof(hrp), back, sizeof(back), &n, &e) < 0);
    /* Output that does not fit. */
    CHECK(bech32_decode(KNOWN_PUB, hrp, sizeof(hrp), back, 31, &n, &e) < 0);
}

/* ---- keys ---- */

static void test_keys(void)
{
    char sk[AGE_SECRET_KEY_LEN + 1], pk[AGE_RECIPIENT_LEN + 1], pk2[AGE_RECIPIENT_LEN + 1];
    char lower[AGE_SECRET_KEY_LEN + 1];
    struct age_identities *ids = NULL;
    struct age_recipients *r = NULL;
    struct err e;

    CHECK(age_recipient_of(KNOWN_ID, pk, &e) == 0);
    CHECK_STR(pk, KNOWN_PUB);
    CHECK(age_keygen(sk, pk, &e) == 0);
    CHECK_INT(strlen(sk), AGE_SECRET_KEY_LEN);
    CHECK_INT(strlen(pk), AGE_RECIPIENT_LEN);
    CHECK(strncmp(sk, "AGE-SECRET-KEY-1", 16) == 0);
    CHECK(strncmp(pk, "age1", 4) == 0);
    CHECK(age_recipient_of(sk, pk2, &e) == 0);
    CHECK_STR(pk2, pk);

    CHECK(age_identities_new(&ids, &e) == 0);
    CHECK(age_identities_add(ids, KNOWN_ID, &e) == 0);
    CHECK(age_identities_add_passphrase(ids, "correct horse", &e) == 0);
    CHECK_INT(age_identities_count(ids), 2);
    CHECK(age_identities_recipient(ids, 0, pk2, &e) == 0);
    CHECK_STR(pk2, KNOWN_PUB);
    CHECK(age_identities_recipient(ids, 1, pk2, &e) < 0);
    CHECK(age_identities_recipient(ids, 2, pk2, &e) < 0);
    /* age writes identities in uppercase and refuses them in lowercase. */
    for (size_t i = 0; i <= strlen(KNOWN_ID); i++)
        lower[i] =
            (char)(KNOWN_ID[i] >= 'A' && KNOWN_ID[i] <= 'Z' ? KNOWN_ID[i] + 32 : KNOWN_ID[i]);
    CHECK(age_identities_add(ids, lower, &e) < 0);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, lower) == NULL && strstr(e.msg, KNOWN_ID) == NULL);
    CHECK(age_identities_add(ids, KNOWN_PUB, &e) < 0); /* a recipient is not an identity */
    CHECK(age_identities_add(ids, "", &e) < 0);
    CHECK(age_identities_add_passphrase(ids, "", &e) < 0);
    CHECK_INT(age_identities_count(ids), 2);
    age_identities_free(ids);

    CHECK(age_recipients_new(&r, &e) == 0);
    CHECK(age_recipients_add(r, KNOWN_PUB, &e) == 0);
    CHECK(age_recipients_add(r, KNOWN_ID, &e) < 0); /* an identity is not a recipient */
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(age_recipients_add(r, "AGE1NU9F4KES96N0EYPZG6URX7E72FYEX73HX224M6QQ4RFMGP4DQP4Q3MNPH5",
                             &e) < 0);
    CHECK(age_recipients_add(r, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA", &e) < 0);
    CHECK(strstr(e.msg, "SSH") != NULL);
    CHECK(age_recipients_add(r, "age1qqqq", &e) < 0);
    CHECK(strstr(e.msg, "invalid recipient 'age1qqqq'") != NULL);
    CHECK(age_recipients_add_passphrase(r, "pw", 10, &e) < 0); /* not alone */
    CHECK_INT(age_recipients_count(r), 1);
    age_recipients_free(r);

    CHECK(age_recipients_new(&r, &e) == 0);
    CHECK(age_recipients_add_passphrase(r, "pw", 31, &e) < 0);
    CHECK(age_recipients_add_passphrase(r, "", 10, &e) < 0);
    CHECK(age_recipients_add_passphrase(r, "pw", 10, &e) == 0);
    CHECK(age_recipients_add(r, KNOWN_PUB, &e) < 0);
    CHECK(strstr(e.msg, "passphrase") != NULL);
    CHECK(age_recipients_add_passphrase(r, "pw2", 10, &e) < 0);
    CHECK_INT(age_recipients_count(r), 1);
    age_recipients_free(r);

    age_recipients_free(NULL);
    age_identities_free(NULL);
    age_encrypt_free(NULL);
    age_decrypt_free(NULL);
}

static char *write_temp(const char *text, mode_t mode)
{
    char *path = strdup("/tmp/a0snap-test-age-XXXXXX");
    int fd = mkstemp(path);

    if (fd < 0)
        return path;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        fprintf(stderr, "short write to %s\n", path);
    close(fd);
    chmod(path, mode);
    return path;
}

static void test_key_files(void)
{
    char sk[AGE_SECRET_KEY_LEN + 1], pk[AGE_RECIPIENT_LEN + 1], text[1024], out[80];
    struct age_identities *ids = NULL;
    struct age_recipients *r = NULL;
    struct err e;
    char *path;

    CHECK(age_keygen(sk, pk, &e) == 0);
    /* As age-keygen writes it, plus a second key, blank lines and CRLF. */
    snprintf(text, sizeof(text),
             "# created: 2026-01-01T00:00:00Z\n# public key: %s\n%s\n\n# another\r\n%s\r\n", pk, sk,
             KNOWN_ID);
    path = write_temp(text, 0600);
    CHECK(age_identities_new(&ids, &e) == 0);
    CHECK(age_identities_add_file(ids, path, &e) == 0);
    CHECK_INT(age_identities_count(ids), 2);
    CHECK(age_identities_recipient(ids, 0, out, &e) == 0);
    CHECK_STR(out, pk);
    CHECK(age_identities_recipient(ids, 1, out, &e) == 0);
    CHECK_STR(out, KNOWN_PUB);
    /* Open to the group or others: refused, with the fix. */
    chmod(path, 0640);
    CHECK(age_identities_add_file(ids, path, &e) < 0);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "chmod 600") != NULL);
    chmod(path, 0604);
    CHECK(age_identities_add_file(ids, path, &e) < 0);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK_INT(age_identities_count(ids), 2);
    unlink(path);
    free(path);
    CHECK(age_identities_add_file(ids, "/nonexistent/age-key", &e) < 0);
    CHECK_INT(e.code, ERR_USAGE);

    /* A bad line: the file and line are named, the key is not repeated,
     * and nothing of the file is added. */
    snprintf(text, sizeof(text), "%s\n# ok so far\n%.70sXXXX\n", sk, sk);
    path = write_temp(text, 0600);
    CHECK(age_identities_add_file(ids, path, &e) < 0);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "line 3") != NULL);
    CHECK(strstr(e.msg, sk + 16) == NULL && strstr(e.msg, "XXXX") == NULL);
    CHECK_INT(age_identities_count(ids), 2);
    unlink(path);
    free(path);
    path = write_temp("# only comments\n\n", 0600);
    CHECK(age_identities_add_file(ids, path, &e) < 0);
    CHECK(strstr(e.msg, "no identities") != NULL);
    unlink(path);
    free(path);
    CHECK(age_identities_add_text(ids, "AGE-PLUGIN-YUBIKEY-1QQQQQQ\n", 27, "t", &e) < 0);
    CHECK(age_identities_add_text(ids, "AGE-SECRET-KEY-PQ-1QQQQ\n", 24, "t", &e) < 0);
    age_identities_free(ids);

    /* Recipients files: one per line, comments, readable by anyone. */
    snprintf(text, sizeof(text), "# team\n%s\n\n%s\r\n", pk, KNOWN_PUB);
    path = write_temp(text, 0644);
    CHECK(age_recipients_new(&r, &e) == 0);
    CHECK(age_recipients_add_file(r, path, &e) == 0);
    CHECK_INT(age_recipients_count(r), 2);
    unlink(path);
    free(path);
    CHECK(age_recipients_add_text(r, "# x\nage1zzz\n", 12, "recips", &e) < 0);
    CHECK(strstr(e.msg, "'recips' line 2") != NULL);
    CHECK(age_recipients_add_text(r, "# nobody\n", 9, "recips", &e) < 0);
    CHECK_INT(age_recipients_count(r), 2);
    age_recipients_free(r);
}

static void test_detect(void)
{
    CHECK_INT(age_detect("age-encryption.org/v1\n-> X25519", 31), AGE_FORMAT_BINARY);
    CHECK_INT(age_detect("age-encryption.org/v2\n", 22), AGE_FORMAT_BINARY);
    CHECK_INT(age_detect("age-encryption", 14), AGE_FORMAT_NONE);
    CHECK_INT(age_detect("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl", 39), AGE_FORMAT_ARMORED);
    CHECK_INT(age_detect("\n  \r\n-----BEGIN AGE ENCRYPTED FILE-----\n", 40), AGE_FORMAT_ARMORED);
    CHECK_INT(age_detect("-----BEGIN PGP MESSAGE-----\n", 28), AGE_FORMAT_NONE);
    CHECK_INT(age_detect("\x1f\x8b\x08\x00", 4), AGE_FORMAT_NONE);
    CHECK_INT(age_detect("", 0), AGE_FORMAT_NONE);
}

/* ---- round trips ---- */

static void round_trip(size_t len, const size_t *wsteps, size_t nw, const size_t *fsteps, size_t nf)
{
    struct age_recipients *r = NULL;
    struct age_identities *ids = NULL;
    struct bytes ct = {0}, pt = {0};
    unsigned char *data = pattern(len, (uint32_t)len);
    enum age_failure kind;
    size_t chunks = len == 0 ? 1 : (len + CHUNK - 1) / CHUNK;
    struct err e;

    new_pair(&r, &ids);
    CHECK(encrypt_buf(r, data, len, wsteps, nw, &ct, &e) == 0);
    /* Header and nonce, then each chunk with its 16-byte tag. */
    CHECK_INT(ct.len, payload_start(&ct) + len + 16 * chunks);
    CHECK(decrypt_buf(ids, ct.p, ct.len, fsteps, nf, &pt, &kind, &e) == 0);
    CHECK_INT(kind, AGE_FAIL_NONE);
    CHECK_INT(pt.len, len);
    CHECK(len == 0 || memcmp(pt.p, data, len) == 0);
    bytes_free(&ct);
    bytes_free(&pt);
    free(data);
    age_recipients_free(r);
    age_identities_free(ids);
}

static void test_round_trip_sizes(void)
{
    static const size_t sizes[] = {0, 1, 2, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1};
    static const size_t small[] = {1, 7, 4096, 65537};
    static const size_t feeds[] = {13, 65552, 1, 99991};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        round_trip(sizes[i], WHOLE, 1, WHOLE, 1);
        round_trip(sizes[i], small, 4, feeds, 4);
    }
}

static void test_round_trip_megabytes(void)
{
    static const size_t writes[] = {7, 1000, 65537, 100003, 3, 131072};
    static const size_t feeds[] = {65552, 1, 4093, 200000, 17};
    static const size_t one[] = {1};

    round_trip(5 * 1024 * 1024 + 12345, writes, 6, feeds, 5);
    round_trip(3 * CHUNK, writes, 6, feeds, 5);
    /* Byte by byte on both sides, across chunk boundaries. */
    round_trip(2 * CHUNK + 100, one, 1, one, 1);
}

static void test_output_is_streamed(void)
{
    struct age_recipients *r = NULL;
    struct age_identities *ids = NULL;
    struct age_encrypt *enc = NULL;
    struct bytes ct = {0};
    unsigned char *data = pattern(3 * CHUNK + 1, 3);
    size_t header;
    struct err e;

    new_pair(&r, &ids);
    CHECK(age_encrypt_new(&enc, r, collect, &ct, &e) == 0);
    header = ct.len; /* the header and nonce go out at once */
    CHECK(header > 100 && header == payload_start(&ct));
    CHECK(age_encrypt_write(enc, data, CHUNK, &e) == 0);
    CHECK_INT(ct.len, header); /* a full chunk might be the last: held */
    CHECK(age_encrypt_write(enc, data + CHUNK, 2 * CHUNK + 1, &e) == 0);
    CHECK_INT(ct.len, header + 3 * SEALED);
    CHECK(age_encrypt_finish(enc, &e) == 0);
    CHECK_INT(ct.len, header + 3 * SEALED + 1 + 16);
    CHECK(age_encrypt_finish(enc, &e) < 0);
    CHECK(age_encrypt_write(enc, "x", 1, &e) < 0);
    age_encrypt_free(enc);
    bytes_free(&ct);
    free(data);
    age_recipients_free(r);
    age_identities_free(ids);
}

static void test_several_recipients(void)
{
    char sk[3][AGE_SECRET_KEY_LEN + 1], pk[3][AGE_RECIPIENT_LEN + 1];
    char other_sk[AGE_SECRET_KEY_LEN + 1], other_pk[AGE_RECIPIENT_LEN + 1];
    struct age_recipients *r = NULL;
    struct bytes ct = {0};
    unsigned char *data = pattern(100000, 9);
    enum age_failure kind;
    struct err e;

    CHECK(age_recipients_new(&r, &e) == 0);
    for (int i = 0; i < 3; i++) {
        CHECK(age_keygen(sk[i], pk[i], &e) == 0);
        CHECK(age_recipients_add(r, pk[i], &e) == 0);
    }
    CHECK(age_keygen(other_sk, other_pk, &e) == 0);
    CHECK(encrypt_buf(r, data, 100000, WHOLE, 1, &ct, &e) == 0);
    for (int i = 0; i < 3; i++) {
        struct age_identities *ids = NULL;
        struct bytes pt = {0};
        CHECK(age_identities_new(&ids, &e) == 0);
        /* A key that matches nothing, tried first, does no harm. */
        CHECK(age_identities_add(ids, other_sk, &e) == 0);
        CHECK(age_identities_add(ids, sk[i], &e) == 0);
        CHECK(decrypt_buf(ids, ct.p, ct.len, WHOLE, 1, &pt, &kind, &e) == 0);
        CHECK(pt.len == 100000 && memcmp(pt.p, data, 100000) == 0);
        bytes_free(&pt);
        age_identities_free(ids);
    }
    bytes_free(&ct);
    free(data);
    age_recipients_free(r);
}

static void test_passphrase(void)
{
    struct age_recipients *r = NULL;
    struct age_identities *ids = NULL, *x = NULL, *wrong = NULL;
    struct bytes ct = {0}, pt = {0};
    unsigned char *data = pattern(70000, 5);
    enum age_failure kind;
    struct err e;

    CHECK(age_recipients_new(&r, &e) == 0);
    CHECK(age_recipients_add_passphrase(r, "correct horse battery staple", 10, &e) == 0);
    CHECK(encrypt_buf(r, data, 70000, WHOLE, 1, &ct, &e) == 0);
    CHECK(memmem(ct.p, ct.len, "\n-> scrypt ", 11) != NULL);
    CHECK(memmem(ct.p, ct.len, " 10\n", 4) != NULL);

    CHECK(age_identities_new(&ids, &e) == 0);
    CHECK(age_identities_add_passphrase(ids, "not it", &e) == 0);
    CHECK(age_identities_add_passphrase(ids, "correct horse battery staple", &e) == 0);
    CHECK(decrypt_buf(ids, ct.p, ct.len, WHOLE, 1, &pt, &kind, &e) == 0);
    CHECK(pt.len == 70000 && memcmp(pt.p, data, 70000) == 0);
    bytes_free(&pt);

    /* A wrong passphrase, or only a key: no match. */
    CHECK(age_identities_new(&wrong, &e) == 0);
    CHECK(age_identities_add_passphrase(wrong, "correct horse battery stapl", &e) == 0);
    CHECK(decrypt_buf(wrong, ct.p, ct.len, WHOLE, 1, &pt, &kind, &e) < 0);
    CHECK_INT(kind, AGE_FAIL_NO_MATCH);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK_INT(pt.len, 0);
    CHECK(age_identities_new(&x, &e) == 0);
    CHECK(age_identities_add(x, KNOWN_ID, &e) == 0);
    CHECK(decrypt_buf(x, ct.p, ct.len, WHOLE, 1, &pt, &kind, &e) < 0);
    CHECK_INT(kind, AGE_FAIL_NO_MATCH);

    /* A work factor above the ceiling is refused before any work. */
    age_identities_set_max_work_factor(ids, 9);
    CHECK(decrypt_buf(ids, ct.p, ct.len, WHOLE, 1, &pt, &kind, &e) < 0);
    CHECK_INT(kind, AGE_FAIL_HEADER);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "work factor 10 is above the limit 9") != NULL);
    CHECK_INT(pt.len, 0);

    bytes_free(&ct);
    free(data);
    age_recipients_free(r);
    age_identities_free(ids);
    age_identities_free(wrong);
    age_identities_free(x);
}

/* ---- refusals ---- */

/* A 3-chunk file (two full, one short) and its keys, for tampering. */
struct sample {
    struct age_recipients *r;
    struct age_identities *ids;
    struct bytes ct;
    unsigned char *data;
    size_t len, start; /* plaintext length; where chunk 1 starts */
};

static void sample_make(struct sample *s, size_t len)
{
    struct err e;

    memset(s, 0, sizeof(*s));
    new_pair(&s->r, &s->ids);
    s->len = len;
    s->data = pattern(len, 77);
    CHECK(encrypt_buf(s->r, s->data, len, WHOLE, 1, &s->ct, &e) == 0);
    s->start = payload_start(&s->ct);
}

static void sample_free(struct sample *s)
{
    bytes_free(&s->ct);
    free(s->data);
    age_recipients_free(s->r);
    age_identities_free(s->ids);
}

/* Decrypts a modified copy; returns the failure and how much came out. */
static enum age_failure try_file(const struct sample *s, const unsigned char *file, size_t len,
                                 size_t *released, struct err *e)
{
    static const size_t feeds[] = {SIZE_MAX, 1000};
    enum age_failure kind = AGE_FAIL_NONE, first = AGE_FAIL_NONE;
    struct bytes pt = {0};

    /* Fed whole and in pieces: the same outcome. */
    for (int i = 0; i < 2; i++) {
        pt.len = 0;
        if (decrypt_buf(s->ids, file, len, &feeds[i], 1, &pt, &kind, e) == 0)
            kind = AGE_FAIL_NONE;
        if (i == 0)
            first = kind;
        CHECK_INT(kind, first);
    }
    *released = pt.len;
    /* What was released is always a prefix of the plaintext. */
    CHECK(pt.len <= s->len && (pt.len == 0 || memcmp(pt.p, s->data, pt.len) == 0));
    bytes_free(&pt);
    return kind;
}

static void test_header_tampering(void)
{
    struct sample s;
    unsigned char *copy;
    size_t released, mac_line;
    struct err e;

    sample_make(&s, 2 * CHUNK + 5);
    copy = malloc(s.ct.len);
    /* Every bit of the header, flipped alone: refused before any output. */
    for (size_t i = 0; i < s.start - 16; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(copy, s.ct.p, s.ct.len);
            copy[i] ^= (unsigned char)(1u << bit);
            enum age_failure kind = try_file(&s, copy, s.ct.len, &released, &e);
            CHECK(kind == AGE_FAIL_HEADER || kind == AGE_FAIL_NO_MATCH || kind == AGE_FAIL_HMAC);
            CHECK_INT(released, 0);
        }
    }
    /* Another valid MAC character: a well-formed header whose MAC fails. */
    mac_line = s.start - 16 - 44;
    CHECK(memcmp(s.ct.p + mac_line - 4, "--- ", 4) == 0);
    memcpy(copy, s.ct.p, s.ct.len);
    copy[mac_line + 10] = copy[mac_line + 10] == 'A' ? 'B' : 'A';
    CHECK_INT(try_file(&s, copy, s.ct.len, &released, &e), AGE_FAIL_HMAC);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "header MAC mismatch") != NULL);
    /* The nonce: every chunk's key changes, the first one fails. */
    memcpy(copy, s.ct.p, s.ct.len);
    copy[s.start - 3] ^= 0x40;
    CHECK_INT(try_file(&s, copy, s.ct.len, &released, &e), AGE_FAIL_PAYLOAD);
    CHECK_INT(released, 0);
    free(copy);
    sample_free(&s);
}

static void test_payload_tampering(void)
{
    struct sample s;
    unsigned char *copy;
    size_t released, c1, c2, c3;
    struct err e;

    sample_make(&s, 2 * CHUNK + 5);
    c1 = s.start;
    c2 = c1 + SEALED;
    c3 = c2 + SEALED;
    CHECK_INT(s.ct.len, c3 + 5 + 16);
    copy = malloc(s.ct.len + SEALED);

    /* A bit in each chunk, and in a tag: the chunks before it come out. */
    size_t spots[][2] = {{c1 + 5, 0},
                         {c2 + 100, CHUNK},
                         {c3 + 2, 2 * CHUNK},
                         {c2 - 1, 0},
                         {s.ct.len - 1, 2 * CHUNK}};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        memcpy(copy, s.ct.p, s.ct.len);
        copy[spots[i][0]] ^= 0x01;
        CHECK_INT(try_file(&s, copy, s.ct.len, &released, &e), AGE_FAIL_PAYLOAD);
        CHECK_INT(released, spots[i][1]);
        CHECK_INT(e.code, ERR_SNAPSHOT);
    }
    /* Chunks 1 and 2 swapped. */
    memcpy(copy, s.ct.p, s.ct.len);
    memcpy(copy + c1, s.ct.p + c2, SEALED);
    memcpy(copy + c2, s.ct.p + c1, SEALED);
    CHECK_INT(try_file(&s, copy, s.ct.len, &released, &e), AGE_FAIL_PAYLOAD);
    CHECK_INT(released, 0);
    CHECK(strstr(e.msg, "chunk 1") != NULL);
    /* The final chunk moved up (chunk 2 dropped). */
    memcpy(copy, s.ct.p, c2);
    memcpy(copy + c2, s.ct.p + c3, s.ct.len - c3);
    CHECK_INT(try_file(&s, copy, s.ct.len - SEALED, &released, &e), AGE_FAIL_PAYLOAD);
    CHECK_INT(released, CHUNK);
    free(copy);
    sample_free(&s);
}

static void test_truncation_and_trailing_data(void)
{
    struct sample s, full;
    unsigned char *copy;
    size_t released, c2, c3;
    struct err e;

    sample_make(&s, 2 * CHUNK + 5);
    c2 = s.start + SEALED;
    c3 = c2 + SEALED;
    copy = malloc(s.ct.len + SEALED + 1);
    memcpy(copy, s.ct.p, s.ct.len);

    /* Cut at every boundary and inside chunks. */
    struct {
        size_t at, released;
        const char *msg;
    } cuts[] = {
        {0, 0, "empty file"},
        {10, 0, "truncated inside its header"},
        {s.start - 17, 0, "truncated inside its header"},
        {s.start - 16, 0, "before its payload nonce"},
        {s.start - 1, 0, "before its payload nonce"},
        {s.start, 0, "it has no payload"},
        {s.start + 10, 0, "truncated inside chunk 1"},
        {s.start + 1000, 0, "chunk 1 does not authenticate"},
        {c2 - 1, 0, "chunk 1 does not authenticate"},
        {c2, CHUNK, "final chunk is missing"},
        {c2 + 16, CHUNK, "empty chunk"},
        {c3, 2 * CHUNK, "final chunk is missing"},
        {s.ct.len - 1, 2 * CHUNK, "chunk 3 does not authenticate"},
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        enum age_failure kind = try_file(&s, copy, cuts[i].at, &released, &e);
        CHECK(kind == AGE_FAIL_PAYLOAD || kind == AGE_FAIL_HEADER);
        CHECK_INT(released, cuts[i].released);
        CHECK_INT(e.code, ERR_SNAPSHOT);
        if (!strstr(e.msg, cuts[i].msg))
            fprintf(stderr, "cut at %zu: '%s', expected '%s'\n", cuts[i].at, e.msg, cuts[i].msg);
        CHECK(strstr(e.msg, cuts[i].msg) != NULL);
    }

    /* Anything after a short final chunk becomes part of it, which then
     * fails to authenticate: one byte, or a copy of a chunk. */
    copy[s.ct.len] = 0;
    CHECK_INT(try_file(&s, copy, s.ct.len + 1, &released, &e), AGE_FAIL_PAYLOAD);
    CHECK(strstr(e.msg, "chunk 3 does not authenticate") != NULL);
    CHECK_INT(released, 2 * CHUNK);
    memcpy(copy + s.ct.len, s.ct.p + s.start, SEALED);
    CHECK_INT(try_file(&s, copy, s.ct.len + SEALED, &released, &e), AGE_FAIL_PAYLOAD);
    free(copy);

    /* A file whose final chunk is full: cut before it, and extended (the
     * extra bytes are then seen for what they are). */
    sample_make(&full, 2 * CHUNK);
    CHECK_INT(full.ct.len, full.start + 2 * SEALED);
    copy = malloc(full.ct.len + 1);
    memcpy(copy, full.ct.p, full.ct.len);
    CHECK_INT(try_file(&full, copy, full.ct.len, &released, &e), AGE_FAIL_NONE);
    CHECK_INT(released, 2 * CHUNK);
    CHECK_INT(try_file(&full, copy, full.start + SEALED, &released, &e), AGE_FAIL_PAYLOAD);
    CHECK(strstr(e.msg, "final chunk is missing") != NULL);
    copy[full.ct.len] = 'x';
    CHECK_INT(try_file(&full, copy, full.ct.len + 1, &released, &e), AGE_FAIL_PAYLOAD);
    CHECK(strstr(e.msg, "data after its final chunk") != NULL);
    CHECK_INT(released, 2 * CHUNK);
    free(copy);
    sample_free(&full);
    sample_free(&s);
}

static void test_wrong_identity_and_foreign_input(void)
{
    struct sample s;
    struct age_identities *other = NULL;
    struct age_recipients *r = NULL;
    struct age_decrypt *d = NULL;
    struct bytes pt = {0};
    enum age_failure kind;
    struct err e;
    static const char armored[] = "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24u\n";

    sample_make(&s, 1000);
    new_pair(&r, &other);
    CHECK(decrypt_buf(other, s.ct.p, s.ct.len, WHOLE, 1, &pt, &kind, &e) < 0);
    CHECK_INT(kind, AGE_FAIL_NO_MATCH);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK_STR(e.msg, "no identity matches any recipient of the encrypted file");
    CHECK_INT(pt.len, 0);

    /* No identity at all: refused up front. */
    age_identities_free(other);
    CHECK(age_identities_new(&other, &e) == 0);
    CHECK(age_decrypt_new(&d, other, collect, &pt, &e) < 0);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(d == NULL);

    /* Not age at all: fails at the first bytes, not after 1 MiB. */
    CHECK(age_decrypt_new(&d, s.ids, collect, &pt, &e) == 0);
    CHECK(age_decrypt_feed(d, "\x1f\x8b\x08\x00\x00\x00", 6, &e) < 0);
    CHECK_STR(e.msg, "not an age-encrypted file");
    CHECK_INT(age_decrypt_failure(d), AGE_FAIL_HEADER);
    CHECK(age_decrypt_feed(d, "x", 1, &e) < 0); /* and stays failed */
    CHECK(age_decrypt_finish(d, &e) < 0);
    age_decrypt_free(d);

    CHECK(decrypt_buf(s.ids, (const unsigned char *)armored, strlen(armored), WHOLE, 1, &pt, &kind,
                      &e) < 0);
    CHECK_INT(kind, AGE_FAIL_HEADER);
    CHECK(strstr(e.msg, "armored") != NULL && strstr(e.msg, "age -d") != NULL);
    CHECK(decrypt_buf(s.ids, (const unsigned char *)"age-encryption.org/v2\n-> x\n", 27, WHOLE, 1,
                      &pt, &kind, &e) < 0);
    CHECK(strstr(e.msg, "unsupported age format version") != NULL);
    CHECK(decrypt_buf(s.ids, (const unsigned char *)"age-encryption.org/v1\n--- x\n", 28, WHOLE, 1,
                      &pt, &kind, &e) < 0);
    CHECK_INT(kind, AGE_FAIL_HEADER);

    bytes_free(&pt);
    sample_free(&s);
    age_recipients_free(r);
    age_identities_free(other);
}

static void test_callback_errors_pass_through(void)
{
    struct sample s;
    struct bytes sink = {0};
    struct age_encrypt *enc = NULL;
    enum age_failure kind;
    struct err e;
    unsigned char *data = pattern(3 * CHUNK, 1);

    sample_make(&s, 3 * CHUNK);
    /* The plaintext sink refuses its second chunk. */
    sink.fail_at = 2;
    CHECK(decrypt_buf(s.ids, s.ct.p, s.ct.len, WHOLE, 1, &sink, &kind, &e) < 0);
    CHECK_INT(kind, AGE_FAIL_OTHER);
    CHECK_INT(e.code, ERR_IO);
    CHECK_STR(e.msg, "sink refuses");
    bytes_free(&sink);
    /* The file sink refuses the header, then a chunk. */
    sink.fail_at = 1;
    CHECK(age_encrypt_new(&enc, s.r, collect, &sink, &e) < 0);
    CHECK_STR(e.msg, "sink refuses");
    CHECK(enc == NULL);
    bytes_free(&sink);
    sink.fail_at = 2;
    CHECK(age_encrypt_new(&enc, s.r, collect, &sink, &e) == 0);
    CHECK(age_encrypt_write(enc, data, 3 * CHUNK, &e) < 0);
    CHECK_STR(e.msg, "sink refuses");
    CHECK(age_encrypt_finish(enc, &e) < 0);
    age_encrypt_free(enc);
    bytes_free(&sink);
    free(data);
    sample_free(&s);
}

int main(void)
{
    RUN(test_bech32_known_and_round_trip);
    RUN(test_bech32_refusals);
    RUN(test_keys);
    RUN(test_key_files);
    RUN(test_detect);
    RUN(test_round_trip_sizes);
    RUN(test_round_trip_megabytes);
    RUN(test_output_is_streamed);
    RUN(test_several_recipients);
    RUN(test_passphrase);
    RUN(test_header_tampering);
    RUN(test_payload_tampering);
    RUN(test_truncation_and_trailing_data);
    RUN(test_wrong_identity_and_foreign_input);
    RUN(test_callback_errors_pass_through);
    return harness_done();
}
