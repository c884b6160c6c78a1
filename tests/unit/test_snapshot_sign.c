/* Unit tests for sealed snapshots: signed ones (snapshot_writer_open_with's
 * sign, the reader's check) verify and name their signer, and one whose
 * content, signature, signer or digest was changed is refused, also when
 * the attacker re-seals the SHA-256 (which needs no key); encrypted ones
 * (age) read back with the identity and are refused without it, with
 * another one, cut short or damaged. */
#include "age.h"
#include "edsig.h"
#include "harness.h"
#include "sha256.h"
#include "snapshot.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[64];

static const char *tpath(const char *name)
{
    static char p[4][256];
    static int n;
    char *s = p[n++ % 4];

    snprintf(s, 256, "%s/%s", dir, name);
    return s;
}

static struct edsig_key *new_key(const char *name)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    struct edsig_key *key = NULL;
    struct err e;
    FILE *f = fopen(tpath(name), "w");

    if (f && k)
        PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    if (f)
        fclose(f);
    EVP_PKEY_free(k);
    chmod(tpath(name), 0600);
    CHECK_INT(edsig_key_load(&key, tpath(name), &e), 0);
    return key;
}

/* A snapshot of three users at path, signed with key (or not), encrypted
 * to to (or not). */
static int write_sealed(const char *path, const struct edsig_key *key,
                        const struct age_recipients *to)
{
    struct snapshot_write_opts opts = {.force = true, .sign = key, .encrypt_to = to};
    struct snapshot_writer *w = NULL;
    json_t *h = json_pack("{s:{s:s}}", "source", "domain", "prod.example.com");
    struct err e;
    int rc = -1;

    if (snapshot_writer_open_with(&w, path, h, &opts, &e) < 0)
        goto out;
    for (int i = 0; i < 3; i++) {
        json_t *u = json_pack("{s:s,s:s}", "user_id",
                              i == 0   ? "auth0|a"
                              : i == 1 ? "auth0|b"
                                       : "auth0|c",
                              "email",
                              i == 0   ? "a@x.test"
                              : i == 1 ? "b@x.test"
                                       : "c@x.test");
        int r = snapshot_writer_append(w, u, &e);
        json_decref(u);
        if (r < 0)
            goto out;
    }
    w = (rc = snapshot_writer_commit(w, &e)) == 0 ? NULL : NULL;
out:
    if (rc < 0)
        fprintf(stderr, "write_signed: %s\n", e.msg);
    snapshot_writer_abort(w);
    json_decref(h);
    return rc;
}

static int write_signed(const char *path, const struct edsig_key *key)
{
    return write_sealed(path, key, NULL);
}

/* The decompressed text of a gzip file (NUL-terminated), or NULL. */
static char *gunzip_all(const char *path)
{
    gzFile f = gzopen(path, "rb");
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap);
    int n;

    while (f && p && (n = gzread(f, p + len, (unsigned)(cap - len - 1))) > 0) {
        len += (size_t)n;
        if (cap - len < 1024)
            p = realloc(p, cap *= 2);
    }
    if (f)
        gzclose(f);
    if (p)
        p[len] = '\0';
    return p;
}

static void gzip_all(const char *path, const char *text)
{
    gzFile f = gzopen(path, "wb6");

    gzwrite(f, text, (unsigned)strlen(text));
    gzclose(f);
}

/* text with every occurrence of from replaced by to (a new string). */
static char *replace(const char *text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    const char *p;
    char *out, *o;

    for (p = text; (p = strstr(p, from)); p += fl)
        n++;
    out = malloc(strlen(text) + n * (tl + 1) + 1);
    for (o = out, p = text;;) {
        const char *q = strstr(p, from);
        if (!q) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    return out;
}

/* Recomputes the trailer's sha256 over the text before it, as anyone can
 * without a key. */
static char *reseal(const char *text)
{
    const char *last = text + strlen(text) - 1, *t = last;
    char hex[SHA256_HEX_LEN + 1], *body, *out;
    struct sha256 *h = NULL;
    struct err e;
    const char *s;

    while (t > text && t[-1] != '\n')
        t--;
    sha256_new(&h, &e);
    sha256_update(h, text, (size_t)(t - text), &e);
    sha256_final_hex(h, hex, &e);
    sha256_free(h);
    s = strstr(t, "\"sha256\":\"");
    body = strndup(text, (size_t)(s + 10 - text));
    out = malloc(strlen(text) + 1);
    sprintf(out, "%s%s%s", body, hex, s + 10 + SHA256_HEX_LEN);
    free(body);
    return out;
}

static void expect_refused(const char *path, const char *want, const struct snapshot_keys *keys)
{
    struct snapshot_summary s;
    struct err e;

    err_clear(&e);
    CHECK_INT(snapshot_verify_keys(path, keys, &s, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    if (!strstr(e.msg, want))
        fprintf(stderr, "refused with \"%s\", wanted \"%s\"\n", e.msg, want);
    CHECK(strstr(e.msg, want) != NULL);
    snapshot_summary_release(&s);
}

static void test_signed_round_trip(void)
{
    struct edsig_key *k = new_key("k.pem");
    struct snapshot_summary s;
    struct snapshot_reader *r = NULL;
    json_t *u = NULL;
    struct err e;

    if (!k)
        return;
    CHECK_INT(write_signed(tpath("s.gz"), k), 0);
    CHECK_INT(snapshot_verify(tpath("s.gz"), &s, &e), 0);
    CHECK_STR(s.signer, edsig_key_fingerprint(k));
    CHECK_STR(
        json_string_value(json_object_get(json_object_get(s.header, "signature"), "fingerprint")),
        edsig_key_fingerprint(k));
    snapshot_summary_release(&s);
    /* The reader names the signer only once the end proved the signature. */
    CHECK_INT(snapshot_reader_open(&r, tpath("s.gz"), &e), 0);
    CHECK(r && snapshot_reader_signer(r) == NULL);
    while (r && snapshot_reader_next(r, &u, &e) == 1)
        json_decref(u);
    CHECK_STR(r ? snapshot_reader_signer(r) : NULL, edsig_key_fingerprint(k));
    snapshot_reader_free(r);
    /* Unsigned: no signer. */
    CHECK_INT(write_signed(tpath("u.gz"), NULL), 0);
    CHECK_INT(snapshot_verify(tpath("u.gz"), &s, &e), 0);
    CHECK_STR(s.signer, "");
    CHECK(json_object_get(s.header, "signature") == NULL);
    snapshot_summary_release(&s);
    edsig_key_free(k);
}

static void test_tampering_refused(void)
{
    struct edsig_key *k = new_key("k2.pem"), *other = new_key("o.pem");
    char *text, *t1, *t2;
    const char *sig;

    if (!k || !other)
        return;
    CHECK_INT(write_signed(tpath("s.gz"), k), 0);
    text = gunzip_all(tpath("s.gz"));
    CHECK(text && (sig = strstr(text, "\"signature\":\"")) != NULL);
    /* A changed user, re-sealed: the digest is right, the signature not. */
    t1 = replace(text, "b@x.test", "evil@x.test");
    t2 = reseal(t1);
    gzip_all(tpath("bad.gz"), t2);
    expect_refused(tpath("bad.gz"), "signature does not match", NULL);
    free(t1);
    free(t2);
    /* Another signer's key in the header, re-sealed: its fingerprint no
     * longer matches; with the fingerprint changed too, the signature. */
    t1 = replace(text, edsig_key_public(k), edsig_key_public(other));
    t2 = reseal(t1);
    gzip_all(tpath("bad.gz"), t2);
    expect_refused(tpath("bad.gz"), "fingerprint does not match its public key", NULL);
    free(t2);
    t2 = replace(t1, edsig_key_fingerprint(k), edsig_key_fingerprint(other));
    free(t1);
    t1 = reseal(t2);
    gzip_all(tpath("bad.gz"), t1);
    expect_refused(tpath("bad.gz"), "signature does not match", NULL);
    free(t1);
    free(t2);
    /* Only the header's fingerprint changed, re-sealed. */
    t1 = replace(text, edsig_key_fingerprint(k), edsig_key_fingerprint(other));
    t2 = reseal(t1);
    gzip_all(tpath("bad.gz"), t2);
    expect_refused(tpath("bad.gz"), "fingerprint does not match its public key", NULL);
    free(t1);
    free(t2);
    /* The signature removed from the trailer. */
    t1 = replace(text, ",\"signature\":\"", ",\"x\":\"");
    gzip_all(tpath("bad.gz"), t1);
    expect_refused(tpath("bad.gz"), "trailer holds no signature", NULL);
    free(t1);
    /* The signer removed from the header (re-sealed): the signature is orphaned. */
    {
        char *h = strstr(text, ",\"signature\":{");
        char *end = h ? strchr(h, '}') : NULL;
        if (h && end) {
            char *cut = malloc(strlen(text) + 1);
            memcpy(cut, text, (size_t)(h - text));
            strcpy(cut + (h - text), end + 1);
            t2 = reseal(cut);
            gzip_all(tpath("bad.gz"), t2);
            expect_refused(tpath("bad.gz"), "names no signer", NULL);
            free(t2);
            free(cut);
        }
        CHECK(h && end);
    }
    free(text);
    edsig_key_free(k);
    edsig_key_free(other);
}

/* The signed message is what snapshots/README.md says to check. */
static void test_signed_message(void)
{
    char msg[SNAPSHOT_SIGNED_MAX];
    size_t n =
        snapshot_signed_message(msg, "0123456789abcdef0123456789abcdef",
                                "9b1f00000000000000000000000000000000000000000000000000000000"
                                "0000");

    CHECK_STR(msg, "a0snap-snapshot-signature-v1\n0123456789abcdef0123456789abcdef\n"
                   "9b1f000000000000000000000000000000000000000000000000000000000000\n");
    CHECK_INT(n, strlen(msg));
}

static void raw_copy(const char *from, const char *to, long cut, long flip)
{
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    long n = 0;
    int c;

    while (f && g && (c = fgetc(f)) != EOF) {
        if (cut >= 0 && n >= cut)
            break;
        fputc(n == flip ? c ^ 0x40 : c, g);
        n++;
    }
    if (f)
        fclose(f);
    if (g)
        fclose(g);
}

static long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_encrypted(void)
{
    char sk[AGE_SECRET_KEY_LEN + 1], rcpt[AGE_RECIPIENT_LEN + 1];
    char sk2[AGE_SECRET_KEY_LEN + 1], rcpt2[AGE_RECIPIENT_LEN + 1];
    struct age_recipients *to = NULL;
    struct age_identities *ids = NULL, *wrong = NULL;
    struct snapshot_keys keys = {0}, wrong_keys = {0};
    struct edsig_key *k = new_key("k3.pem");
    struct snapshot_summary s;
    struct err e;
    unsigned char head[4] = {0};
    FILE *f;
    long size;

    err_clear(&e);
    CHECK_INT(age_keygen(sk, rcpt, &e), 0);
    CHECK_INT(age_keygen(sk2, rcpt2, &e), 0);
    CHECK_INT(age_recipients_new(&to, &e), 0);
    CHECK_INT(age_recipients_add(to, rcpt, &e), 0);
    CHECK_INT(age_identities_new(&ids, &e), 0);
    CHECK_INT(age_identities_add(ids, sk, &e), 0);
    CHECK_INT(age_identities_new(&wrong, &e), 0);
    CHECK_INT(age_identities_add(wrong, sk2, &e), 0);
    keys.identities = ids;
    wrong_keys.identities = wrong;
    /* Encrypted and signed: no gzip bytes on disk, the same snapshot inside. */
    CHECK_INT(write_sealed(tpath("e.age"), k, to), 0);
    f = fopen(tpath("e.age"), "rb");
    CHECK(f && fread(head, 1, 3, f) == 3);
    if (f)
        fclose(f);
    CHECK(memcmp(head, "age", 3) == 0);
    CHECK_INT(snapshot_verify_keys(tpath("e.age"), &keys, &s, &e), 0);
    CHECK_INT(s.users, 3);
    CHECK(s.encrypted);
    CHECK_STR(s.signer, k ? edsig_key_fingerprint(k) : "");
    snapshot_summary_release(&s);
    /* Without an identity, or with another one: said so, one line. */
    CHECK_INT(snapshot_verify(tpath("e.age"), NULL, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "is encrypted (age)") && strstr(e.msg, "--identity"));
    CHECK_INT(snapshot_verify_keys(tpath("e.age"), &wrong_keys, NULL, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strchr(e.msg, '\n') == NULL);
    /* Cut short (inside the last chunk, and before it) and damaged. */
    size = file_size(tpath("e.age"));
    raw_copy(tpath("e.age"), tpath("cut.age"), size - 10, -1);
    expect_refused(tpath("cut.age"), "", &keys);
    raw_copy(tpath("e.age"), tpath("cut.age"), size / 2, -1);
    expect_refused(tpath("cut.age"), "", &keys);
    raw_copy(tpath("e.age"), tpath("bad.age"), -1, size - 20);
    expect_refused(tpath("bad.age"), "", &keys);
    /* A plain snapshot still reads with keys given. */
    CHECK_INT(write_sealed(tpath("p.gz"), NULL, NULL), 0);
    CHECK_INT(snapshot_verify_keys(tpath("p.gz"), &keys, &s, &e), 0);
    CHECK(!s.encrypted);
    snapshot_summary_release(&s);
    age_recipients_free(to);
    age_identities_free(ids);
    age_identities_free(wrong);
    edsig_key_free(k);
}

int main(void)
{
    char cmd[128];

    snprintf(dir, sizeof(dir), "/tmp/a0snap-sign-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_signed_round_trip);
    RUN(test_tampering_refused);
    RUN(test_signed_message);
    RUN(test_encrypted);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return harness_done();
}
