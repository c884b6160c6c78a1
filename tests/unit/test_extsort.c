/*
 * Unit tests for extsort.c: the output is compared with qsort over the same
 * records, with budgets that keep everything in memory, force thousands of
 * runs (and so several merge passes), or are smaller than one record.
 * Disk failures are simulated with RLIMIT_FSIZE.
 */
#include "err.h"
#include "extsort.h"
#include "harness.h"
#include "sortcursor.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char tmpdir[64];

struct rec {
    char *key, *val;
    size_t klen, vlen;
};

static int ref_cmp(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);

    if (c || x->klen != y->klen)
        return c ? c : (x->klen < y->klen ? -1 : 1);
    n = x->vlen < y->vlen ? x->vlen : y->vlen;
    c = memcmp(x->val, y->val, n);
    if (c || x->vlen != y->vlen)
        return c ? c : (x->vlen < y->vlen ? -1 : 1);
    return 0;
}

/* n records from a small alphabet, so keys repeat (ties) and some records
 * are identical; sizes from 0 to maxval. */
static struct rec *make_recs(size_t n, size_t maxkey, size_t maxval, unsigned seed)
{
    struct rec *r = calloc(n, sizeof(*r));
    size_t i, k;

    for (i = 0; i < n; i++) {
        r[i].klen = (size_t)rand_r(&seed) % (maxkey + 1);
        r[i].vlen = (size_t)rand_r(&seed) % (maxval + 1);
        r[i].key = malloc(r[i].klen + 1);
        r[i].val = malloc(r[i].vlen + 1);
        for (k = 0; k < r[i].klen; k++)
            r[i].key[k] = (char)("ab\0\xff"[rand_r(&seed) % 4]);
        for (k = 0; k < r[i].vlen; k++)
            r[i].val[k] = (char)('x' + rand_r(&seed) % 3);
    }
    return r;
}

static void free_recs(struct rec *r, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(r[i].key);
        free(r[i].val);
    }
    free(r);
}

static int count_entries(const char *dir)
{
    struct dirent *d;
    DIR *dh = opendir(dir);
    int n = 0;

    if (!dh)
        return -1;
    while ((d = readdir(dh)) != NULL)
        if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
            n++;
    closedir(dh);
    return n;
}

/* Sorts recs with extsort (added in the given order) and checks the output
 * against qsort. Returns the number of passes, or -1. */
static int sort_and_check(struct rec *recs, size_t n, size_t budget, size_t *runs_out)
{
    struct extsort *s = NULL;
    struct rec *ref = malloc((n ? n : 1) * sizeof(*ref));
    const char *k, *v;
    size_t kl, vl, i, nrec, runs, passes;
    struct err e;
    int rc, bad = 0;

    err_clear(&e);
    if (n)
        memcpy(ref, recs, n * sizeof(*ref));
    qsort(ref, n, sizeof(*ref), ref_cmp);
    CHECK_INT(extsort_new(&s, tmpdir, budget, &e), 0);
    for (i = 0; i < n; i++) {
        if (extsort_add(s, recs[i].key, recs[i].klen, recs[i].val, recs[i].vlen, &e) < 0) {
            fprintf(stderr, "add: %s\n", e.msg);
            bad = 1;
            break;
        }
    }
    CHECK_INT(count_entries(tmpdir), 0);
    if (!bad && extsort_finish(s, &e) < 0) {
        fprintf(stderr, "finish: %s\n", e.msg);
        bad = 1;
    }
    for (i = 0; !bad; i++) {
        rc = extsort_next(s, &k, &kl, &v, &vl, &e);
        if (rc <= 0) {
            CHECK_INT(rc, 0);
            CHECK_INT(i, n);
            break;
        }
        if (i >= n || kl != ref[i].klen || vl != ref[i].vlen || memcmp(k, ref[i].key, kl) ||
            memcmp(v, ref[i].val, vl)) {
            fprintf(stderr, "record %zu differs\n", i);
            bad = 1;
        }
    }
    CHECK(!bad);
    if (!bad)
        CHECK_INT(extsort_next(s, &k, &kl, &v, &vl, &e), 0);
    extsort_stats(s, &nrec, &runs, &passes);
    CHECK_INT(nrec, n);
    if (runs_out)
        *runs_out = runs;
    extsort_free(s);
    CHECK_INT(count_entries(tmpdir), 0);
    free(ref);
    return bad ? -1 : (int)passes;
}

static void test_empty(void)
{
    struct extsort *s = NULL;
    const char *k, *v;
    size_t kl, vl, runs = 9;
    struct err e;

    CHECK_INT(extsort_new(&s, tmpdir, 0, &e), 0);
    CHECK_INT(extsort_finish(s, &e), 0);
    CHECK_INT(extsort_next(s, &k, &kl, &v, &vl, &e), 0);
    CHECK(k == NULL && kl == 0);
    extsort_stats(s, NULL, &runs, NULL);
    CHECK_INT(runs, 0);
    extsort_free(s);
    extsort_free(NULL);
    CHECK_INT(sort_and_check(NULL, 0, 1, NULL), 0);
}

static void test_in_memory(void)
{
    struct rec *r = make_recs(5000, 12, 50, 1);
    size_t runs = 9;

    CHECK_INT(sort_and_check(r, 5000, 0, &runs), 0);
    CHECK_INT(runs, 0);
    free_recs(r, 5000);
}

static void test_spill_one_pass(void)
{
    struct rec *r = make_recs(5000, 12, 200, 2);
    size_t runs = 0;

    /* ~40 runs: one final merge, no extra pass. */
    CHECK_INT(sort_and_check(r, 5000, 16 * 1024, &runs), 0);
    CHECK(runs > 1 && runs <= EXTSORT_FANIN);
    free_recs(r, 5000);
}

static void test_many_runs_many_passes(void)
{
    struct rec *r = make_recs(20000, 6, 40, 3);
    size_t runs = 0;

    /* A budget of 200 bytes: a handful of records per run, thousands of
     * runs, so at least two merge passes before the final merge. */
    CHECK(sort_and_check(r, 20000, 200, &runs) >= 2);
    CHECK(runs > EXTSORT_FANIN * EXTSORT_FANIN / 2);
    free_recs(r, 20000);
}

static void test_records_bigger_than_budget(void)
{
    struct rec *r = make_recs(40, 4, 200 * 1024, 4);
    size_t runs = 0;

    /* Every record is its own run, and bigger than a read buffer. */
    CHECK_INT(sort_and_check(r, 40, 100, &runs), 0);
    CHECK_INT(runs, 40);
    free_recs(r, 40);
}

static void test_deterministic(void)
{
    struct rec *a = make_recs(3000, 3, 5, 5), *b = malloc(3000 * sizeof(*b));
    size_t i;

    /* The same records, reversed: the output matches the reference either
     * way (sort_and_check compares byte for byte). */
    for (i = 0; i < 3000; i++)
        b[i] = a[2999 - i];
    CHECK(sort_and_check(a, 3000, 300, NULL) >= 0);
    CHECK(sort_and_check(b, 3000, 300, NULL) >= 0);
    CHECK(sort_and_check(b, 3000, 0, NULL) >= 0);
    free(b);
    free_recs(a, 3000);
}

static void test_misuse_and_limits(void)
{
    struct extsort *s = NULL;
    const char *k, *v;
    size_t kl, vl;
    struct err e;

    CHECK_INT(extsort_new(&s, tmpdir, 0, &e), 0);
    CHECK_INT(extsort_next(s, &k, &kl, &v, &vl, &e), -1);
    CHECK_INT(extsort_add(s, "k", (size_t)EXTSORT_MAX_RECORD + 1, "", 0, &e), -1);
    CHECK(strstr(e.msg, "record too large") != NULL);
    CHECK_INT(extsort_add(s, "k", 1, "v", 1, &e), 0);
    CHECK_INT(extsort_finish(s, &e), 0);
    CHECK_INT(extsort_add(s, "k", 1, "v", 1, &e), -1);
    CHECK_INT(e.code, ERR_INTERNAL);
    CHECK_INT(extsort_finish(s, &e), -1);
    CHECK_INT(extsort_next(s, &k, &kl, &v, &vl, &e), 1);
    CHECK(kl == 1 && vl == 1 && k[0] == 'k' && v[0] == 'v');
    CHECK_INT(extsort_next(s, &k, &kl, &v, &vl, &e), 0);
    extsort_free(s);

    /* A temp folder that does not exist: fails at the first spill. */
    CHECK_INT(extsort_new(&s, "/nonexistent-a0snap", 10, &e), 0);
    CHECK_INT(extsort_add(s, "a", 1, "0123456789", 10, &e), 0);
    CHECK_INT(extsort_add(s, "b", 1, "0123456789", 10, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(strstr(e.msg, "cannot create a temporary file in '/nonexistent-a0snap'") != NULL);
    /* later calls repeat the failure (another thread of the dump may be
     * the one that reports it) */
    err_clear(&e);
    CHECK_INT(extsort_add(s, "c", 1, "0123456789", 10, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(strstr(e.msg, "cannot create a temporary file in '/nonexistent-a0snap'") != NULL);
    err_clear(&e);
    CHECK_INT(extsort_finish(s, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK_INT(extsort_next(s, &k, &kl, &v, &vl, &e), -1);
    CHECK(strstr(e.msg, "cannot create a temporary file") != NULL);
    extsort_free(s);
}

static void test_disk_full(void)
{
    struct rec *r = make_recs(4000, 8, 400, 6);
    struct extsort *s = NULL;
    struct rlimit saved, rl;
    struct err e;
    size_t i;
    int rc = 0;

    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &saved);
    rl = saved;
    rl.rlim_cur = 64 * 1024;
    setrlimit(RLIMIT_FSIZE, &rl);
    CHECK_INT(extsort_new(&s, tmpdir, 4096, &e), 0);
    for (i = 0; i < 4000 && rc == 0; i++)
        rc = extsort_add(s, r[i].key, r[i].klen, r[i].val, r[i].vlen, &e);
    if (rc == 0)
        rc = extsort_finish(s, &e);
    setrlimit(RLIMIT_FSIZE, &saved);
    CHECK_INT(rc, -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(strstr(e.msg, "cannot write a temporary sort file in '") != NULL);
    CHECK(strstr(e.msg, "File too large") != NULL);
    extsort_free(s);
    CHECK_INT(count_entries(tmpdir), 0);
    free_recs(r, 4000);
}

/* The cursor walks the sort's records in order and compares its key in
 * the sort's order: bytes first, then a shorter prefix first. */
static void test_cursor(void)
{
    struct extsort *s = NULL;
    struct sort_cursor c;
    struct err e;
    static const char *const keys[] = {"b", "ab", "a", "a\xff"};

    err_clear(&e);
    CHECK_INT(extsort_new(&s, tmpdir, 0, &e), 0);
    for (size_t i = 0; i < 4; i++)
        CHECK_INT(extsort_add(s, keys[i], strlen(keys[i]), "v", 1, &e), 0);
    CHECK_INT(extsort_finish(s, &e), 0);
    sort_cursor_init(&c, s);
    CHECK(!c.have);
    CHECK_INT(sort_cursor_next(&c, &e), 0);
    CHECK(c.have && c.klen == 1 && c.key[0] == 'a' && c.rlen == 1 && c.rec[0] == 'v');
    CHECK_INT(sort_cursor_cmp(&c, "a", 1), 0);
    CHECK(sort_cursor_cmp(&c, "a\xff", 2) < 0); /* a shorter prefix first */
    CHECK(sort_cursor_cmp(&c, "", 0) > 0);
    CHECK_INT(sort_cursor_next(&c, &e), 0);
    CHECK(c.have && sort_cursor_cmp(&c, "ab", 2) == 0);
    CHECK(sort_cursor_cmp(&c, "a\xff", 2) < 0); /* bytes unsigned: 'b' < 0xff */
    CHECK_INT(sort_cursor_next(&c, &e), 0);
    CHECK(c.have && sort_cursor_cmp(&c, "a\xff", 2) == 0);
    CHECK_INT(sort_cursor_next(&c, &e), 0);
    CHECK(c.have && sort_cursor_cmp(&c, "b", 1) == 0);
    CHECK_INT(sort_cursor_next(&c, &e), 0);
    CHECK(!c.have);
    extsort_free(s);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/a0snap-test-extsort-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_empty);
    RUN(test_in_memory);
    RUN(test_spill_one_pass);
    RUN(test_many_runs_many_passes);
    RUN(test_records_bigger_than_budget);
    RUN(test_deterministic);
    RUN(test_misuse_and_limits);
    RUN(test_disk_full);
    RUN(test_cursor);
    rmdir(tmpdir);
    return harness_done();
}
