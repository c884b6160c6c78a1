/*
 * age_keys.c - recipient and identity sets: key strings (Bech32), key
 * files, key generation, and format detection. See age.h.
 *
 * A text (file) is parsed into a scratch set first and moved into the
 * caller's set only when every line was good, so a failure adds nothing.
 * Messages name the file and line but never repeat a secret key; a
 * recipient (public) is quoted, cut at 80 characters. Identity files are
 * read by fsutil_read_private(), like every secret file of a0snap.
 */
#include "age_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bech32.h"
#include "fsutil.h"

#define RECIPIENT_HRP "age"
#define IDENTITY_HRP  "AGE-SECRET-KEY-"
#define ARMOR_BEGIN   "-----BEGIN AGE ENCRYPTED FILE-----"
#define BINARY_PREFIX "age-encryption.org/"

/* ---- key sets ---- */

static void key_wipe(struct age_key *k)
{
    if (k->passphrase) {
        OPENSSL_cleanse(k->passphrase, strlen(k->passphrase));
        free(k->passphrase);
    }
    OPENSSL_cleanse(k, sizeof(*k));
}

void age_keyset_release(struct age_keyset *set)
{
    for (size_t i = 0; i < set->n; i++)
        key_wipe(&set->v[i]);
    free(set->v);
    memset(set, 0, sizeof(*set));
}

/* Makes room for want keys in all. */
static int keyset_reserve(struct age_keyset *set, size_t want, struct err *e)
{
    size_t ncap = set->cap ? set->cap : 4;
    struct age_key *v;

    if (want <= set->cap)
        return 0;
    while (ncap < want)
        ncap *= 2;
    /* Not realloc: the old array holds secrets and must be wiped. */
    v = calloc(ncap, sizeof(*v));
    if (!v)
        return err_oom(e);
    if (set->n) {
        memcpy(v, set->v, set->n * sizeof(*v));
        OPENSSL_cleanse(set->v, set->n * sizeof(*v));
    }
    free(set->v);
    set->v = v;
    set->cap = ncap;
    return 0;
}

/* Appends a copy of k; the set takes over k->passphrase. */
static int keyset_push(struct age_keyset *set, const struct age_key *k, struct err *e)
{
    if (keyset_reserve(set, set->n + 1, e) < 0)
        return -1;
    set->v[set->n++] = *k;
    return 0;
}

/* Moves every key of from to the end of to, all or none; from is left
 * empty on success. */
static int keyset_move(struct age_keyset *to, struct age_keyset *from, struct err *e)
{
    if (keyset_reserve(to, to->n + from->n, e) < 0)
        return -1;
    memcpy(to->v + to->n, from->v, from->n * sizeof(*from->v));
    to->n += from->n;
    OPENSSL_cleanse(from->v, from->n * sizeof(*from->v));
    free(from->v);
    memset(from, 0, sizeof(*from));
    return 0;
}

static bool keyset_has_scrypt(const struct age_keyset *set)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].type == AGE_KEY_SCRYPT)
            return true;
    return false;
}

/* ---- key strings ---- */

static int parse_recipient(struct age_key *k, const char *s, struct err *e)
{
    char hrp[84];
    size_t n;

    memset(k, 0, sizeof(*k));
    k->type = AGE_KEY_X25519;
    if (strncmp(s, "ssh-", 4) == 0)
        return err_set(e, ERR_USAGE, "SSH recipients are not supported: '%.80s'", s);
    if (bech32_decode(s, hrp, sizeof(hrp), k->pub, sizeof(k->pub), &n, e) < 0)
        return err_prefix(e, "invalid recipient '%.80s'", s);
    if (strcmp(hrp, RECIPIENT_HRP) != 0)
        return err_set(e, ERR_USAGE,
                       "unsupported recipient '%.80s': only X25519 'age1...' keys are supported",
                       s);
    if (n != AGE_KEY_LEN)
        return err_set(e, ERR_USAGE, "invalid recipient '%.80s': not a 32-byte key", s);
    return 0;
}

static int parse_identity(struct age_key *k, const char *s, struct err *e)
{
    char hrp[84];
    size_t n;
    int rc = -1;

    memset(k, 0, sizeof(*k));
    k->type = AGE_KEY_X25519;
    if (bech32_decode(s, hrp, sizeof(hrp), k->secret, sizeof(k->secret), &n, e) < 0) {
        err_prefix(e, "malformed age identity");
        goto out;
    }
    if (strcmp(hrp, IDENTITY_HRP) != 0) {
        err_set(e, ERR_USAGE,
                "unsupported identity: only X25519 'AGE-SECRET-KEY-1...' keys are supported");
        goto out;
    }
    if (n != AGE_KEY_LEN) {
        err_set(e, ERR_USAGE, "malformed age identity: not a 32-byte key");
        goto out;
    }
    if (age_x25519_base(k->pub, k->secret, e) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        key_wipe(k);
    return rc;
}

int age_keygen(char secret_key[AGE_SECRET_KEY_LEN + 1], char recipient[AGE_RECIPIENT_LEN + 1],
               struct err *e)
{
    unsigned char secret[AGE_KEY_LEN], pub[AGE_KEY_LEN];
    int rc = -1;

    if (age_random(secret, sizeof(secret), e) < 0 || age_x25519_base(pub, secret, e) < 0 ||
        bech32_encode(secret_key, AGE_SECRET_KEY_LEN + 1, IDENTITY_HRP, secret, sizeof(secret), e) <
            0 ||
        bech32_encode(recipient, AGE_RECIPIENT_LEN + 1, RECIPIENT_HRP, pub, sizeof(pub), e) < 0)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

int age_recipient_of(const char *secret_key, char recipient[AGE_RECIPIENT_LEN + 1], struct err *e)
{
    struct age_key k;
    int rc;

    if (parse_identity(&k, secret_key, e) < 0)
        return -1;
    rc = bech32_encode(recipient, AGE_RECIPIENT_LEN + 1, RECIPIENT_HRP, k.pub, sizeof(k.pub), e);
    key_wipe(&k);
    return rc;
}

/* ---- key texts and files ---- */

typedef int (*parse_fn)(struct age_key *k, const char *s, struct err *e);

/* Parses each key line of text into set: '\n'-separated lines, a final
 * '\r' dropped, empty lines and '#' comments skipped. */
static int parse_lines(struct age_keyset *set, const char *text, size_t len, const char *name,
                       parse_fn parse, struct err *e)
{
    char *line = NULL;
    size_t pos = 0, cap = 0;
    unsigned long line_no = 0;
    int rc = -1;

    while (pos < len) {
        const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        struct age_key k;

        pos += n + (nl ? 1 : 0);
        line_no++;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (n == 0 || start[0] == '#')
            continue;
        if (memchr(start, '\0', n)) {
            err_set(e, ERR_USAGE, "'%s' line %lu: NUL byte", name, line_no);
            goto out;
        }
        if (n + 1 > cap) {
            char *grown = malloc(n + 1);
            if (!grown) {
                err_oom(e);
                goto out;
            }
            if (line) {
                OPENSSL_cleanse(line, cap);
                free(line);
            }
            line = grown;
            cap = n + 1;
        }
        memcpy(line, start, n);
        line[n] = '\0';
        if (parse(&k, line, e) < 0) {
            err_prefix(e, "'%s' line %lu", name, line_no);
            goto out;
        }
        if (keyset_push(set, &k, e) < 0) {
            key_wipe(&k);
            goto out;
        }
    }
    rc = 0;
out:
    if (line) {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
    return rc;
}

/* Reads a whole recipients file (public keys: no permission check) into
 * *out, NUL-terminated; the caller frees it. Identity files go through
 * fsutil_read_private() instead. */
static int read_public_file(const char *path, char **out, size_t *out_len, struct err *e)
{
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    ssize_t n;
    int fd, rc = -1;

    *out = NULL;
    *out_len = 0;
    /* O_NONBLOCK: a FIFO at path must not hang the open. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return err_errno(e, ERR_USAGE, errno, "cannot open recipients file '%s'", path);
    if (fstat(fd, &st) < 0) {
        err_errno(e, ERR_IO, errno, "cannot examine recipients file '%s'", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(e, ERR_USAGE, "recipients file '%s' is not a regular file", path);
        goto out;
    }
    data = malloc(AGE_KEY_FILE_MAX + 1);
    if (!data) {
        err_oom(e);
        goto out;
    }
    while (len <= AGE_KEY_FILE_MAX) {
        n = read(fd, data + len, AGE_KEY_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_errno(e, ERR_IO, errno, "cannot read recipients file '%s'", path);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > AGE_KEY_FILE_MAX) {
        err_set(e, ERR_USAGE, "recipients file '%s' is larger than %d bytes", path,
                AGE_KEY_FILE_MAX);
        goto out;
    }
    data[len] = '\0';
    *out = data;
    *out_len = len;
    data = NULL;
    rc = 0;
out:
    free(data);
    close(fd);
    return rc;
}

static void wipe_text(char *text, size_t len)
{
    if (text) {
        OPENSSL_cleanse(text, len);
        free(text);
    }
}

/* ---- recipients ---- */

int age_recipients_new(struct age_recipients **out, struct err *e)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : err_oom(e);
}

static int check_no_passphrase(const struct age_recipients *r, struct err *e)
{
    if (keyset_has_scrypt(&r->set))
        return err_set(e, ERR_USAGE, "a passphrase cannot be combined with other recipients");
    return 0;
}

int age_recipients_add(struct age_recipients *r, const char *recipient, struct err *e)
{
    struct age_key k;

    if (check_no_passphrase(r, e) < 0 || parse_recipient(&k, recipient, e) < 0)
        return -1;
    return keyset_push(&r->set, &k, e);
}

int age_recipients_add_text(struct age_recipients *r, const char *text, size_t len,
                            const char *name, struct err *e)
{
    struct age_keyset tmp = {0};
    int rc = -1;

    if (check_no_passphrase(r, e) < 0 || parse_lines(&tmp, text, len, name, parse_recipient, e) < 0)
        goto out;
    if (tmp.n == 0) {
        err_set(e, ERR_USAGE, "no recipients in '%s'", name);
        goto out;
    }
    rc = keyset_move(&r->set, &tmp, e);
out:
    age_keyset_release(&tmp);
    return rc;
}

int age_recipients_add_file(struct age_recipients *r, const char *path, struct err *e)
{
    char *text = NULL;
    size_t len = 0;
    int rc = -1;

    if (read_public_file(path, &text, &len, e) < 0)
        goto out;
    rc = age_recipients_add_text(r, text, len, path, e);
out:
    free(text);
    return rc;
}

static int copy_passphrase(struct age_key *k, const char *passphrase, struct err *e)
{
    memset(k, 0, sizeof(*k));
    k->type = AGE_KEY_SCRYPT;
    if (!passphrase || !*passphrase)
        return err_set(e, ERR_USAGE, "empty passphrase");
    k->passphrase = strdup(passphrase);
    return k->passphrase ? 0 : err_oom(e);
}

int age_recipients_add_passphrase(struct age_recipients *r, const char *passphrase, int work_factor,
                                  struct err *e)
{
    struct age_key k;

    if (r->set.n > 0)
        return err_set(e, ERR_USAGE, "a passphrase cannot be combined with other recipients");
    if (work_factor == 0)
        work_factor = AGE_SCRYPT_WORK_FACTOR;
    if (work_factor < 1 || work_factor > AGE_SCRYPT_WORK_FACTOR_CAP)
        return err_set(e, ERR_USAGE, "passphrase work factor %d is not within 1..%d", work_factor,
                       AGE_SCRYPT_WORK_FACTOR_CAP);
    if (copy_passphrase(&k, passphrase, e) < 0)
        return -1;
    k.work_factor = work_factor;
    if (keyset_push(&r->set, &k, e) < 0) {
        key_wipe(&k);
        return -1;
    }
    return 0;
}

size_t age_recipients_count(const struct age_recipients *r)
{
    return r->set.n;
}

void age_recipients_free(struct age_recipients *r)
{
    if (!r)
        return;
    age_keyset_release(&r->set);
    free(r);
}

/* ---- identities ---- */

int age_identities_new(struct age_identities **out, struct err *e)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return err_oom(e);
    (*out)->max_work_factor = AGE_SCRYPT_MAX_WORK_FACTOR;
    return 0;
}

int age_identities_add(struct age_identities *ids, const char *secret_key, struct err *e)
{
    struct age_key k;

    if (parse_identity(&k, secret_key, e) < 0)
        return -1;
    if (keyset_push(&ids->set, &k, e) < 0) {
        key_wipe(&k);
        return -1;
    }
    return 0;
}

int age_identities_add_text(struct age_identities *ids, const char *text, size_t len,
                            const char *name, struct err *e)
{
    struct age_keyset tmp = {0};
    int rc = -1;

    if (parse_lines(&tmp, text, len, name, parse_identity, e) < 0)
        goto out;
    if (tmp.n == 0) {
        err_set(e, ERR_USAGE, "no identities in '%s'", name);
        goto out;
    }
    rc = keyset_move(&ids->set, &tmp, e);
out:
    age_keyset_release(&tmp);
    return rc;
}

int age_identities_add_file(struct age_identities *ids, const char *path, struct err *e)
{
    char *text = NULL;
    size_t len = 0;
    int rc = -1;

    if (fsutil_read_private(path, "identity file", AGE_KEY_FILE_MAX, &text, &len, e) < 0)
        goto out;
    rc = age_identities_add_text(ids, text, len, path, e);
out:
    wipe_text(text, len);
    return rc;
}

int age_identities_add_passphrase(struct age_identities *ids, const char *passphrase, struct err *e)
{
    struct age_key k;

    if (copy_passphrase(&k, passphrase, e) < 0)
        return -1;
    if (keyset_push(&ids->set, &k, e) < 0) {
        key_wipe(&k);
        return -1;
    }
    return 0;
}

void age_identities_set_max_work_factor(struct age_identities *ids, int work_factor)
{
    if (work_factor < 1)
        work_factor = 1;
    if (work_factor > AGE_SCRYPT_WORK_FACTOR_CAP)
        work_factor = AGE_SCRYPT_WORK_FACTOR_CAP;
    ids->max_work_factor = work_factor;
}

size_t age_identities_count(const struct age_identities *ids)
{
    return ids->set.n;
}

/* The recipient string of key i of set (what = "identity", "recipient"). */
static int keyset_recipient(const struct age_keyset *set, size_t i, const char *what,
                            char out[AGE_RECIPIENT_LEN + 1], struct err *e)
{
    const struct age_key *k;

    if (i >= set->n)
        return err_set(e, ERR_USAGE, "no %s %zu", what, i);
    k = &set->v[i];
    if (k->type != AGE_KEY_X25519)
        return err_set(e, ERR_USAGE, "%s %zu is a passphrase, it has no recipient", what, i);
    return bech32_encode(out, AGE_RECIPIENT_LEN + 1, RECIPIENT_HRP, k->pub, sizeof(k->pub), e);
}

int age_identities_recipient(const struct age_identities *ids, size_t i,
                             char out[AGE_RECIPIENT_LEN + 1], struct err *e)
{
    return keyset_recipient(&ids->set, i, "identity", out, e);
}

int age_recipients_get(const struct age_recipients *r, size_t i, char out[AGE_RECIPIENT_LEN + 1],
                       struct err *e)
{
    return keyset_recipient(&r->set, i, "recipient", out, e);
}

void age_identities_free(struct age_identities *ids)
{
    if (!ids)
        return;
    age_keyset_release(&ids->set);
    free(ids);
}

/* ---- detection ---- */

enum age_format age_detect(const void *head, size_t len)
{
    const char *p = head;
    size_t i = 0;

    if (len >= strlen(BINARY_PREFIX) && memcmp(p, BINARY_PREFIX, strlen(BINARY_PREFIX)) == 0)
        return AGE_FORMAT_BINARY;
    /* age -d accepts whitespace around the armor. */
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (len - i >= strlen(ARMOR_BEGIN) && memcmp(p + i, ARMOR_BEGIN, strlen(ARMOR_BEGIN)) == 0)
        return AGE_FORMAT_ARMORED;
    return AGE_FORMAT_NONE;
}
