/*
 * age_tool.c - a small command line over common/util/age.h, for the
 * interop test with the real age (tests/e2e/test_age_interop.py). Built
 * with the tree, never installed.
 *
 *   age_tool keygen                         an identity file, as age-keygen
 *   age_tool pubkey -i FILE                 each identity's recipient
 *   age_tool encrypt [-r RECIPIENT]... [-R FILE]... [-p] [-w LOG2N] [-s N]
 *   age_tool decrypt [-i FILE]... [-p] [-m LOG2N] [-s N]
 *   age_tool detect                         none, binary or armored
 *
 * encrypt and decrypt read stdin and write stdout, in writes or feeds of
 * -s bytes (default 65536). -p takes the passphrase from the environment
 * variable AGE_TOOL_PASSPHRASE (a test tool: never do this for real).
 * Exit status: 0 done, 1 failed (one line on stderr), 2 bad usage.
 */
#include "age.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_KEYS 16

static int write_fd(void *ctx, const void *data, size_t len, struct err *e)
{
    const char *p = data;
    int fd = *(int *)ctx;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_errno(e, ERR_IO, errno, "cannot write output");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads stdin in pieces of `step` bytes and hands each to fn. */
static int pump(size_t step, int (*fn)(void *obj, const void *data, size_t len, struct err *e),
                void *obj, struct err *e)
{
    char *buf = malloc(step);
    int rc = -1;

    if (!buf)
        return err_oom(e);
    for (;;) {
        size_t have = 0;
        while (have < step) {
            ssize_t n = read(0, buf + have, step - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                err_errno(e, ERR_IO, errno, "cannot read input");
                goto out;
            }
            if (n == 0)
                break;
            have += (size_t)n;
        }
        if (have == 0)
            break;
        if (fn(obj, buf, have, e) < 0)
            goto out;
        if (have < step)
            break;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

static int enc_write(void *obj, const void *data, size_t len, struct err *e)
{
    return age_encrypt_write(obj, data, len, e);
}

static int dec_feed(void *obj, const void *data, size_t len, struct err *e)
{
    return age_decrypt_feed(obj, data, len, e);
}

static const char *passphrase(struct err *e)
{
    const char *p = getenv("AGE_TOOL_PASSPHRASE");

    if (!p || !*p)
        err_set(e, ERR_USAGE, "-p needs AGE_TOOL_PASSPHRASE");
    return p && *p ? p : NULL;
}

static int cmd_keygen(struct err *e)
{
    char sk[AGE_SECRET_KEY_LEN + 1], pk[AGE_RECIPIENT_LEN + 1], when[32];
    time_t now = time(NULL);
    struct tm tm;

    if (age_keygen(sk, pk, e) < 0)
        return -1;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("# created: %s\n# public key: %s\n%s\n", when, pk, sk);
    memset(sk, 0, sizeof(sk));
    return fflush(stdout) == 0 ? 0 : err_set(e, ERR_IO, "cannot write output");
}

struct opts {
    const char *recipients[MAX_KEYS], *recipient_files[MAX_KEYS], *identity_files[MAX_KEYS];
    size_t n_r, n_rf, n_if;
    int use_passphrase, work_factor, max_work_factor;
    size_t step;
};

static int cmd_pubkey(const struct opts *o, struct err *e)
{
    struct age_identities *ids = NULL;
    char pk[AGE_RECIPIENT_LEN + 1];
    int rc = -1;

    if (age_identities_new(&ids, e) < 0)
        goto out;
    for (size_t i = 0; i < o->n_if; i++)
        if (age_identities_add_file(ids, o->identity_files[i], e) < 0)
            goto out;
    for (size_t i = 0; i < age_identities_count(ids); i++) {
        if (age_identities_recipient(ids, i, pk, e) < 0)
            goto out;
        printf("%s\n", pk);
    }
    rc = 0;
out:
    age_identities_free(ids);
    return rc;
}

static int cmd_encrypt(const struct opts *o, struct err *e)
{
    struct age_recipients *r = NULL;
    struct age_encrypt *enc = NULL;
    int out_fd = 1, rc = -1;

    if (age_recipients_new(&r, e) < 0)
        goto out;
    for (size_t i = 0; i < o->n_r; i++)
        if (age_recipients_add(r, o->recipients[i], e) < 0)
            goto out;
    for (size_t i = 0; i < o->n_rf; i++)
        if (age_recipients_add_file(r, o->recipient_files[i], e) < 0)
            goto out;
    if (o->use_passphrase) {
        const char *p = passphrase(e);
        if (!p || age_recipients_add_passphrase(r, p, o->work_factor, e) < 0)
            goto out;
    }
    if (age_encrypt_new(&enc, r, write_fd, &out_fd, e) < 0 ||
        pump(o->step, enc_write, enc, e) < 0 || age_encrypt_finish(enc, e) < 0)
        goto out;
    rc = 0;
out:
    age_encrypt_free(enc);
    age_recipients_free(r);
    return rc;
}

static int cmd_decrypt(const struct opts *o, struct err *e)
{
    struct age_identities *ids = NULL;
    struct age_decrypt *dec = NULL;
    int out_fd = 1, rc = -1;

    if (age_identities_new(&ids, e) < 0)
        goto out;
    if (o->max_work_factor)
        age_identities_set_max_work_factor(ids, o->max_work_factor);
    for (size_t i = 0; i < o->n_if; i++)
        if (age_identities_add_file(ids, o->identity_files[i], e) < 0)
            goto out;
    if (o->use_passphrase) {
        const char *p = passphrase(e);
        if (!p || age_identities_add_passphrase(ids, p, e) < 0)
            goto out;
    }
    if (age_decrypt_new(&dec, ids, write_fd, &out_fd, e) < 0 ||
        pump(o->step, dec_feed, dec, e) < 0 || age_decrypt_finish(dec, e) < 0)
        goto out;
    rc = 0;
out:
    age_decrypt_free(dec);
    age_identities_free(ids);
    return rc;
}

static int cmd_detect(void)
{
    static const char *names[] = {"none", "binary", "armored"};
    char head[AGE_DETECT_LEN];
    size_t n = fread(head, 1, sizeof(head), stdin);

    printf("%s\n", names[age_detect(head, n)]);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: age_tool keygen | pubkey -i FILE | encrypt [-r R]... [-R FILE]... "
                    "[-p] [-w N] [-s N] | decrypt [-i FILE]... [-p] [-m N] [-s N] | detect\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct opts o = {.step = 65536};
    struct err e;
    const char *cmd;
    int c, rc;

    if (argc < 2)
        return usage();
    cmd = argv[1];
    optind = 2;
    while ((c = getopt(argc, argv, "r:R:i:pw:m:s:")) != -1) {
        switch (c) {
        case 'r':
            if (o.n_r < MAX_KEYS)
                o.recipients[o.n_r++] = optarg;
            break;
        case 'R':
            if (o.n_rf < MAX_KEYS)
                o.recipient_files[o.n_rf++] = optarg;
            break;
        case 'i':
            if (o.n_if < MAX_KEYS)
                o.identity_files[o.n_if++] = optarg;
            break;
        case 'p':
            o.use_passphrase = 1;
            break;
        case 'w':
            o.work_factor = atoi(optarg);
            break;
        case 'm':
            o.max_work_factor = atoi(optarg);
            break;
        case 's':
            o.step = (size_t)strtoul(optarg, NULL, 10);
            break;
        default:
            return usage();
        }
    }
    if (optind != argc || o.step == 0)
        return usage();
    err_clear(&e);
    if (strcmp(cmd, "keygen") == 0)
        rc = cmd_keygen(&e);
    else if (strcmp(cmd, "pubkey") == 0)
        rc = cmd_pubkey(&o, &e);
    else if (strcmp(cmd, "encrypt") == 0)
        rc = cmd_encrypt(&o, &e);
    else if (strcmp(cmd, "decrypt") == 0)
        rc = cmd_decrypt(&o, &e);
    else if (strcmp(cmd, "detect") == 0)
        rc = cmd_detect();
    else
        return usage();
    if (rc < 0) {
        fprintf(stderr, "age_tool: %s (%s)\n", e.msg, err_code_name(e.code));
        return 1;
    }
    return 0;
}
