/* Unit tests for edsig.c: Ed25519 keys from PEM files, fingerprints as
 * openssl computes them, signatures that verify and ones that must not,
 * trusted key sets. */
#include "edsig.h"
#include "harness.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static const char *tpath(const char *name)
{
    static char p[4][256];
    static int n;
    char *s = p[n++ % 4];

    snprintf(s, 256, "%s/%s", dir, name);
    return s;
}

/* Writes a new key of type ("ED25519", "EC"...) as private PEM at priv
 * (mode) and, when pub is not NULL, its public PEM appended to pub. */
static void make_key(const char *type, const char *priv, mode_t mode, const char *pub)
{
    EVP_PKEY *k = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                          : EVP_PKEY_Q_keygen(NULL, NULL, type);
    FILE *f;

    CHECK(k != NULL);
    f = fopen(priv, "w");
    CHECK(f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    chmod(priv, mode);
    if (pub) {
        f = fopen(pub, "a");
        CHECK(f && PEM_write_PUBKEY(f, k) == 1);
        fclose(f);
    }
    EVP_PKEY_free(k);
}

static void test_sign_and_verify(void)
{
    const char *msg = "a0snap-snapshot-signature-v1\nabc\n";
    char sig[EDSIG_SIG_B64_LEN + 1], fp[EDSIG_FINGERPRINT_LEN + 1];
    struct edsig_key *k = NULL, *other = NULL;
    struct err e;

    err_clear(&e);
    make_key("ED25519", tpath("a.pem"), 0600, NULL);
    make_key("ED25519", tpath("b.pem"), 0600, NULL);
    CHECK_INT(edsig_key_load(&k, tpath("a.pem"), &e), 0);
    CHECK_INT(edsig_key_load(&other, tpath("b.pem"), &e), 0);
    if (!k || !other)
        return;
    CHECK_INT(strlen(edsig_key_fingerprint(k)), EDSIG_FINGERPRINT_LEN);
    CHECK(strcmp(edsig_key_fingerprint(k), edsig_key_fingerprint(other)) != 0);
    CHECK_INT(edsig_sign(k, msg, strlen(msg), sig, &e), 0);
    CHECK_INT(strlen(sig), EDSIG_SIG_B64_LEN);
    CHECK_INT(edsig_verify(edsig_key_public(k), msg, strlen(msg), sig, fp, &e), 0);
    CHECK_STR(fp, edsig_key_fingerprint(k));
    CHECK_INT(edsig_public_fingerprint(edsig_key_public(k), fp, &e), 0);
    CHECK_STR(fp, edsig_key_fingerprint(k));
    /* another message, another key, a damaged signature, a damaged key */
    CHECK_INT(edsig_verify(edsig_key_public(k), msg, strlen(msg) - 1, sig, NULL, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "does not match") != NULL);
    CHECK_INT(edsig_verify(edsig_key_public(other), msg, strlen(msg), sig, NULL, &e), -1);
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    CHECK_INT(edsig_verify(edsig_key_public(k), msg, strlen(msg), sig, NULL, &e), -1);
    CHECK_INT(edsig_verify(edsig_key_public(k), msg, strlen(msg), "c2hvcnQ=", NULL, &e), -1);
    CHECK(strstr(e.msg, "64 bytes") != NULL);
    CHECK_INT(edsig_verify("bm90IGEga2V5", msg, strlen(msg), sig, NULL, &e), -1);
    CHECK_INT(edsig_verify("", msg, strlen(msg), sig, NULL, &e), -1);
    edsig_key_free(k);
    edsig_key_free(other);
}

/* The fingerprint is the SHA-256 of the DER public key, as
 * `openssl pkey -pubout -outform DER | sha256sum` gives it. */
static void test_fingerprint_is_openssls(void)
{
    struct edsig_key *k = NULL;
    char cmd[600], line[128] = "";
    struct err e;
    FILE *p;

    make_key("ED25519", tpath("c.pem"), 0600, NULL);
    CHECK_INT(edsig_key_load(&k, tpath("c.pem"), &e), 0);
    snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s' -pubout -outform DER | sha256sum",
             tpath("c.pem"));
    p = popen(cmd, "r");
    CHECK(p != NULL);
    if (p) {
        CHECK(fgets(line, sizeof(line), p) != NULL);
        pclose(p);
    }
    line[EDSIG_FINGERPRINT_LEN] = '\0';
    CHECK_STR(k ? edsig_key_fingerprint(k) : "", line);
    edsig_key_free(k);
}

static void test_key_files_refused(void)
{
    struct edsig_key *k = NULL;
    struct err e;

    make_key("ED25519", tpath("open.pem"), 0644, NULL);
    CHECK_INT(edsig_key_load(&k, tpath("open.pem"), &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "chmod 600") != NULL);
    make_key("EC", tpath("ec.pem"), 0600, NULL);
    CHECK_INT(edsig_key_load(&k, tpath("ec.pem"), &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "no Ed25519 private key") != NULL);
    CHECK_INT(edsig_key_load(&k, tpath("missing.pem"), &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(k == NULL);
}

static void test_trusted_sets(void)
{
    struct edsig_trusted *t = NULL;
    struct edsig_key *a = NULL, *b = NULL, *c = NULL;
    struct err e;
    FILE *f;

    unlink(tpath("trusted.pem"));
    make_key("ED25519", tpath("ta.pem"), 0600, tpath("trusted.pem"));
    make_key("ED25519", tpath("tb.pem"), 0600, tpath("trusted.pem"));
    make_key("ED25519", tpath("tc.pem"), 0600, NULL);
    CHECK_INT(edsig_key_load(&a, tpath("ta.pem"), &e), 0);
    CHECK_INT(edsig_key_load(&b, tpath("tb.pem"), &e), 0);
    CHECK_INT(edsig_key_load(&c, tpath("tc.pem"), &e), 0);
    chmod(tpath("trusted.pem"), 0644); /* public data */
    CHECK_INT(edsig_trusted_load(&t, tpath("trusted.pem"), &e), 0);
    CHECK_INT(edsig_trusted_count(t), 2);
    CHECK(a && edsig_trusted_has(t, edsig_key_fingerprint(a)));
    CHECK(b && edsig_trusted_has(t, edsig_key_fingerprint(b)));
    CHECK(c && !edsig_trusted_has(t, edsig_key_fingerprint(c)));
    CHECK(!edsig_trusted_has(t, NULL));
    edsig_trusted_free(t);
    /* no key at all, and a key of another kind */
    f = fopen(tpath("empty.pem"), "w");
    fputs("# nothing here\n", f);
    fclose(f);
    CHECK_INT(edsig_trusted_load(&t, tpath("empty.pem"), &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    make_key("EC", tpath("tec.pem"), 0600, tpath("trusted.pem"));
    CHECK_INT(edsig_trusted_load(&t, tpath("trusted.pem"), &e), -1);
    CHECK(strstr(e.msg, "key 3 is not an Ed25519") != NULL);
    CHECK_INT(edsig_trusted_load(&t, tpath("nope.pem"), &e), -1);
    edsig_key_free(a);
    edsig_key_free(b);
    edsig_key_free(c);
}

int main(void)
{
    char cmd[128];

    snprintf(dir, sizeof(dir), "/tmp/a0snap-edsig-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_sign_and_verify);
    RUN(test_fingerprint_is_openssls);
    RUN(test_key_files_refused);
    RUN(test_trusted_sets);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return harness_done();
}
