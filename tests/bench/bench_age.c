/*
 * bench_age.c - throughput of the age streams (common/util/age.h): N MB
 * (default 200) of incompressible bytes, as gzip output is, encrypted to
 * one X25519 recipient in 128 KiB writes into memory, then decrypted in
 * 64 KiB feeds (the size a file reader would use) and compared.
 *
 *   bench_age [--mb N]
 *
 * Prints a line per phase (MB/s of plaintext, wall and CPU seconds), then
 * one JSON line. Not run by ctest.
 */
#include "age.h"
#include "bench_clock.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_SIZE (128 * 1024)
#define FEED_SIZE  (64 * 1024)

struct mem {
    unsigned char *p;
    size_t len, cap;
};

static int to_mem(void *ctx, const void *data, size_t len, struct err *e)
{
    struct mem *m = ctx;

    if (m->len + len > m->cap)
        return err_set(e, ERR_INTERNAL, "bench buffer too small");
    memcpy(m->p + m->len, data, len);
    m->len += len;
    return 0;
}

/* Compares the plaintext as it comes out with the pattern it came from. */
struct check {
    const unsigned char *pattern;
    size_t pattern_len, off;
    int bad;
};

static int compare(void *ctx, const void *data, size_t len, struct err *e)
{
    struct check *c = ctx;
    const unsigned char *p = data;

    (void)e;
    for (size_t i = 0; i < len; i += 4093) /* a sample: this is a benchmark */
        if (p[i] != c->pattern[(c->off + i) % c->pattern_len])
            c->bad = 1;
    c->off += len;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"mb", required_argument, NULL, 'm'},
                                             {NULL, 0, NULL, 0}};
    char sk[AGE_SECRET_KEY_LEN + 1], pk[AGE_RECIPIENT_LEN + 1];
    struct age_recipients *r = NULL;
    struct age_identities *ids = NULL;
    struct age_encrypt *enc = NULL;
    struct age_decrypt *dec = NULL;
    struct mem ct = {0};
    struct check chk = {0};
    unsigned char *pattern = NULL;
    size_t total, pattern_len = 1u << 20;
    struct clock_mark t0, t1, t2;
    double enc_s, dec_s, enc_cpu, dec_cpu, mb;
    unsigned long mbytes = 200;
    struct err e;
    int c, rc = 1;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c != 'm') {
            fprintf(stderr, "usage: bench_age [--mb N]\n");
            return 2;
        }
        mbytes = strtoul(optarg, NULL, 10);
    }
    total = (size_t)mbytes * 1000 * 1000;
    mb = (double)total / 1e6;
    pattern = malloc(pattern_len);
    ct.cap = total + total / 1000 + 4096; /* + 16 bytes per 64 KiB, header */
    ct.p = malloc(ct.cap);
    if (!pattern || !ct.p || age_keygen(sk, pk, &e) < 0)
        goto out;
    for (size_t i = 0, x = 88172645463325252ULL; i < pattern_len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pattern[i] = (unsigned char)(x >> 32);
    }
    if (age_recipients_new(&r, &e) < 0 || age_recipients_add(r, pk, &e) < 0 ||
        age_identities_new(&ids, &e) < 0 || age_identities_add(ids, sk, &e) < 0)
        goto out;
    /* Touch the output buffer first so page faults are not timed. */
    memset(ct.p, 0, ct.cap);

    t0 = mark();
    if (age_encrypt_new(&enc, r, to_mem, &ct, &e) < 0)
        goto out;
    /* The pattern is a whole number of writes long, so none wraps. */
    for (size_t off = 0; off < total; off += WRITE_SIZE) {
        size_t n = total - off < WRITE_SIZE ? total - off : WRITE_SIZE;
        if (age_encrypt_write(enc, pattern + off % pattern_len, n, &e) < 0)
            goto out;
    }
    if (age_encrypt_finish(enc, &e) < 0)
        goto out;
    t1 = mark();

    chk.pattern = pattern;
    chk.pattern_len = pattern_len;
    if (age_decrypt_new(&dec, ids, compare, &chk, &e) < 0)
        goto out;
    for (size_t off = 0; off < ct.len; off += FEED_SIZE) {
        size_t n = ct.len - off < FEED_SIZE ? ct.len - off : FEED_SIZE;
        if (age_decrypt_feed(dec, ct.p + off, n, &e) < 0)
            goto out;
    }
    if (age_decrypt_finish(dec, &e) < 0)
        goto out;
    t2 = mark();
    if (chk.bad || chk.off != total) {
        err_set(&e, ERR_INTERNAL, "decrypted data differs from what was encrypted");
        goto out;
    }

    enc_s = t1.wall - t0.wall;
    dec_s = t2.wall - t1.wall;
    enc_cpu = t1.cpu - t0.cpu;
    dec_cpu = t2.cpu - t1.cpu;
    printf("encrypt: %.0f MB in %.3f s (cpu %.3f s): %.0f MB/s\n", mb, enc_s, enc_cpu, mb / enc_s);
    printf("decrypt: %.0f MB in %.3f s (cpu %.3f s): %.0f MB/s\n", mb, dec_s, dec_cpu, mb / dec_s);
    printf("overhead: %zu bytes of ciphertext for %zu of plaintext (+%.3f%%)\n", ct.len, total,
           100.0 * (double)(ct.len - total) / (double)total);
    printf("{\"bench\":\"age\",\"mb\":%.0f,\"encrypt_mb_s\":%.1f,\"decrypt_mb_s\":%.1f,"
           "\"encrypt_cpu_s\":%.3f,\"decrypt_cpu_s\":%.3f}\n",
           mb, mb / enc_s, mb / dec_s, enc_cpu, dec_cpu);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_age: %s\n", e.msg);
    memset(sk, 0, sizeof(sk));
    age_encrypt_free(enc);
    age_decrypt_free(dec);
    age_recipients_free(r);
    age_identities_free(ids);
    free(ct.p);
    free(pattern);
    return rc;
}
