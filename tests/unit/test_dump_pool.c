/*
 * test_dump_pool.c - the export ingest on two threads (common/dump_pool.c)
 * against the same lines ingested on one: the users and uniq sorts must
 * hold the same records, the counters and the privacy stats and drift
 * must add up to the same figures, and a bad line fails the run naming
 * its line number, whichever thread meets it.
 */
#include "dump_internal.h"
#include "err.h"
#include "extsort.h"
#include "harness.h"
#include "privacy.h"
#include "pseudonym.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];
/* One policy for every ctx: its salt makes the source digests. */
static struct privacy_policy *pol;
static struct pseudonym_key *key;

struct setup {
    struct dump_ctx c;
    struct dump_request req;
    struct dump_result res;
};

static void setup_init(struct setup *s, bool privacy)
{
    struct err e;

    memset(s, 0, sizeof(*s));
    dump_result_init(&s->res);
    s->c.req = &s->req;
    s->c.res = &s->res;
    snprintf(s->c.tmpdir, sizeof(s->c.tmpdir), "%s", tmpdir);
    /* small budgets, so both sorts spill while the threads add */
    CHECK_INT(extsort_new(&s->c.users, tmpdir, 64 << 10, &e), 0);
    CHECK_INT(extsort_new(&s->c.uniq, tmpdir, 16 << 10, &e), 0);
    if (privacy) {
        CHECK_INT(privacy_ctx_new(&s->req.privacy, pol, key, &e), 0);
        privacy_ctx_want_src(s->req.privacy, true);
    }
}

static void setup_release(struct setup *s)
{
    extsort_free(s->c.users);
    extsort_free(s->c.uniq);
    privacy_ctx_free(s->req.privacy);
    dump_result_release(&s->res);
}

/* A user line; every 7th has a metadata key no rule covers (drift). */
static int user_line(char *out, size_t n, int i)
{
    return snprintf(out, n,
                    "{\"user_id\":\"auth0|%08d\",\"email\":\"person%d@example.org\","
                    "\"username\":\"user%d\",\"name\":\"Person %d\",\"nickname\":\"p%d\","
                    "\"identities\":[{\"connection\":\"db%d\",\"provider\":\"auth0\","
                    "\"user_id\":\"%08d\",\"isSocial\":false}],"
                    "\"user_metadata\":{\"city\":\"Town %d\",\"%s\":%d},"
                    "\"app_metadata\":{\"plan\":\"p%d\"}}",
                    i, i, i, i, i, i % 3, i, i, i % 7 == 0 ? "unlisted_key" : "lang", i, i % 5);
}

/* Every record of a sort, as text, in order (a NUL shown as '|'). */
static char *drain(struct extsort *s)
{
    struct err e;
    const char *k, *r;
    size_t kl, rl, len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    int got;

    CHECK_INT(extsort_finish(s, &e), 0);
    while ((got = extsort_next(s, &k, &kl, &r, &rl, &e)) == 1) {
        while (len + kl + rl + 2 >= cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, k, kl);
        len += kl;
        out[len++] = '\t';
        memcpy(out + len, r, rl);
        len += rl;
        out[len++] = '\n';
    }
    CHECK_INT(got, 0);
    for (size_t i = 0; i < len; i++)
        if (out[i] == '\0')
            out[i] = '|';
    out[len] = '\0';
    return out;
}

/* Ingests n users, on one thread or through the pool; bad > 0 makes that
 * line broken. Returns the ingest's result. */
static int ingest(struct setup *s, int n, bool pool, int bad, struct err *e)
{
    struct dump_pool *p = NULL;
    char line[1024];
    int rc = 0;

    if (pool && dump_pool_new(&p, &s->c, e) < 0)
        return -1;
    for (int i = 1; i <= n && rc == 0; i++) {
        int len = user_line(line, sizeof(line), i);
        if (i == bad)
            len = snprintf(line, sizeof(line), "{\"user_id\":\"auth0|broken\",");
        rc = pool ? dump_pool_line(p, line, (size_t)len, e)
                  : dump_ingest_line(&s->c, line, (size_t)len, e);
    }
    if (rc == 0 && pool)
        rc = dump_pool_finish(p, e);
    dump_pool_free(p);
    return rc;
}

static void same_as_one_thread(bool privacy, int n)
{
    struct setup one, two;
    struct err e;
    char *u1, *u2, *q1, *q2;

    setup_init(&one, privacy);
    setup_init(&two, privacy);
    CHECK_INT(ingest(&one, n, false, 0, &e), 0);
    CHECK_INT(ingest(&two, n, true, 0, &e), 0);
    CHECK_INT(two.c.users_seen, n);
    CHECK_INT(two.c.users_seen, one.c.users_seen);
    CHECK_INT(two.c.lines_fast + two.c.lines_slow, n);
    CHECK(two.c.sort_lock == NULL);
    u1 = drain(one.c.users);
    u2 = drain(two.c.users);
    CHECK(strlen(u1) > (size_t)n * 100);
    CHECK_STR(u2, u1);
    q1 = drain(one.c.uniq);
    q2 = drain(two.c.uniq);
    CHECK_STR(q2, q1);
    if (privacy) {
        const struct privacy_stats *a = privacy_ctx_stats(one.req.privacy);
        const struct privacy_stats *b = privacy_ctx_stats(two.req.privacy);
        const struct privacy_drift *da, *db;
        size_t na, nb;

        CHECK(strlen(q1) > 0);
        CHECK_INT(b->users_seen, n);
        CHECK_INT(b->users_kept, a->users_kept);
        CHECK_INT(b->pseudonymised, a->pseudonymised);
        CHECK(a->pseudonymised >= (size_t)n);
        CHECK_INT(b->unreviewed, a->unreviewed);
        CHECK_INT(b->drift_paths, a->drift_paths);
        na = privacy_ctx_drift(one.req.privacy, &da);
        nb = privacy_ctx_drift(two.req.privacy, &db);
        CHECK_INT(nb, na);
        CHECK(na >= 1);
        for (size_t i = 0; i < na && i < nb; i++) {
            CHECK_STR(db[i].path, da[i].path);
            CHECK_INT(db[i].users, da[i].users);
        }
    }
    free(u1);
    free(u2);
    free(q1);
    free(q2);
    setup_release(&one);
    setup_release(&two);
}

static void test_same_records_and_counts(void)
{
    same_as_one_thread(true, 5000);
    same_as_one_thread(false, 3000);
    same_as_one_thread(true, 3); /* less than a batch: the caller does it all */
}

static void test_bad_line_is_named(void)
{
    /* Early (the caller's first batch) and late (any thread's). */
    int bads[] = {2, 4500};

    for (size_t k = 0; k < sizeof(bads) / sizeof(bads[0]); k++) {
        struct setup s;
        struct err e;
        char want[64];

        setup_init(&s, true);
        err_clear(&e);
        CHECK_INT(ingest(&s, 6000, true, bads[k], &e), -1);
        CHECK_INT(e.code, ERR_API);
        snprintf(want, sizeof(want), "line %d of the export file", bads[k]);
        CHECK(strstr(e.msg, want) != NULL);
        CHECK(s.c.sort_lock == NULL);
        setup_release(&s);
    }
}

int main(void)
{
    static const char secret[] = "test-pool-key-0123456789abcdef";
    struct err e;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/a0snap-test-pool-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    if (privacy_policy_default(&pol, &e) < 0 ||
        pseudonym_key_from_bytes(&key, secret, sizeof(secret) - 1, &e) < 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return 1;
    }
    RUN(test_same_records_and_counts);
    RUN(test_bad_line_is_named);
    rmdir(tmpdir);
    privacy_policy_free(pol);
    pseudonym_key_free(key);
    return harness_done();
}
