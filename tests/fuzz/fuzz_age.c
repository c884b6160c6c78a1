/*
 * fuzz_age.c - the age decryptor (common/util/age.h), which will read
 * encrypted snapshot files: whatever is on the disk or came over a copy.
 *
 * Input: an age file, decrypted with a fixed X25519 identity (the seeds in
 * corpus/age/ are encrypted to it, so mutations reach the payload) and the
 * passphrase "fuzz" (the scrypt ceiling is 4, so a file asking more is
 * refused at once instead of costing time).
 *
 * Each input is decrypted three times: in one piece, byte by byte, and in
 * pseudo-random feeds. The outcome must not depend on the feeding: same
 * result, same failure kind and code, the same plaintext released (its
 * length and hash). A failure has a kind and one of the documented codes;
 * after it every call fails. Success releases at most the input's size.
 */
#include "fuzz_util.h"

#include "age.h"
#include "sha256.h"

#define FUZZ_AGE_MAX_INPUT (512u * 1024)

static const char IDENTITY[] =
    "AGE-SECRET-KEY-1DW7V26YHUFF7C2WHL5ZYWEL3JMGUKERFXDSPR48L9J5XSSFSH7LQCP79ZP";

struct plain {
    struct sha256 *h;
    size_t len;
};

static int on_plain(void *ctx, const void *data, size_t len, struct err *e)
{
    struct plain *p = ctx;

    FUZZ_ASSERT(len > 0 && len <= AGE_CHUNK_SIZE);
    p->len += len;
    return sha256_update(p->h, data, len, e);
}

struct outcome {
    int rc;
    enum age_failure kind;
    enum err_code code;
    size_t released;
    char hash[SHA256_HEX_LEN + 1];
};

static void decrypt(const struct age_identities *ids, const unsigned char *data, size_t len,
                    size_t step, unsigned seed, struct outcome *o)
{
    struct age_decrypt *d = NULL;
    struct plain p = {0};
    size_t off = 0;
    struct err e;
    int rc = 0;

    err_clear(&e);
    FUZZ_ASSERT(sha256_new(&p.h, &e) == 0);
    FUZZ_ASSERT(age_decrypt_new(&d, ids, on_plain, &p, &e) == 0);
    while (off < len && rc == 0) {
        size_t n = len - off;
        if (step == 1) {
            n = 1;
        } else if (step > 1) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 8) % step;
            if (n > len - off)
                n = len - off;
        }
        rc = age_decrypt_feed(d, data + off, n, &e);
        off += n;
    }
    if (rc == 0)
        rc = age_decrypt_finish(d, &e);
    o->rc = rc;
    o->kind = age_decrypt_failure(d);
    o->code = rc ? e.code : ERR_NONE;
    o->released = p.len;
    FUZZ_ASSERT(sha256_final_hex(p.h, o->hash, &e) == 0);
    if (rc < 0) {
        struct err again;
        FUZZ_ASSERT(o->kind != AGE_FAIL_NONE && o->kind != AGE_FAIL_OTHER);
        FUZZ_ASSERT(e.code == ERR_SNAPSHOT || e.code == ERR_USAGE || e.code == ERR_REFUSED);
        FUZZ_ASSERT(e.msg[0] != '\0');
        err_clear(&again);
        FUZZ_ASSERT(age_decrypt_feed(d, "x", 1, &again) == -1);
        FUZZ_ASSERT(age_decrypt_finish(d, &again) == -1);
    } else {
        FUZZ_ASSERT(o->kind == AGE_FAIL_NONE);
        FUZZ_ASSERT(p.len < len);
    }
    age_decrypt_free(d);
    sha256_free(p.h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct age_identities *ids;
    struct outcome a, b, c;
    struct err e;

    if (size > FUZZ_AGE_MAX_INPUT)
        return 0;
    if (!ids) { /* once per process: parsing the key is not under test */
        FUZZ_ASSERT(age_identities_new(&ids, &e) == 0);
        FUZZ_ASSERT(age_identities_add(ids, IDENTITY, &e) == 0);
        FUZZ_ASSERT(age_identities_add_passphrase(ids, "fuzz", &e) == 0);
        age_identities_set_max_work_factor(ids, 4);
    }
    decrypt(ids, data, size, 0, 0, &a);
    decrypt(ids, data, size, 1, 0, &b);
    decrypt(ids, data, size, 70001, (unsigned)size, &c);
    FUZZ_ASSERT(a.rc == b.rc && a.rc == c.rc);
    FUZZ_ASSERT(a.kind == b.kind && a.kind == c.kind);
    FUZZ_ASSERT(a.code == b.code && a.code == c.code);
    FUZZ_ASSERT(a.released == b.released && a.released == c.released);
    FUZZ_ASSERT(strcmp(a.hash, b.hash) == 0 && strcmp(a.hash, c.hash) == 0);
    return 0;
}
