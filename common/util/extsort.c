/*
 * extsort.c - see extsort.h.
 *
 * A record is stored the same way in memory and on disk: a 4-byte key
 * length, a 4-byte payload length (host order; the files never outlive the
 * process), the key, the payload. In memory, records sit back to back in
 * one arena and an index of offsets is sorted with qsort (offsets become
 * pointers just before sorting, as the arena no longer moves then).
 *
 * All runs of one generation live in ONE anonymous file, each at its own
 * offset, read with pread: thousands of runs cost two descriptors, not
 * thousands. A merge pass merges groups of EXTSORT_FANIN runs from the old
 * file into runs of a new file and closes the old one.
 */
#include "extsort.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"

#define ES_HDR  8
#define ES_WBUF (256u * 1024)

struct es_run {
    off_t off, len;
};

/* One run being merged: a window of its bytes and its current record. */
struct es_reader {
    off_t pos, end; /* what is left of the run in the file */
    unsigned char *buf;
    size_t blen, bpos;
    struct buf cur; /* header + key + payload */
};

union es_ent {
    size_t off;
    const unsigned char *p;
};

enum es_phase { ES_ADDING, ES_MEMORY, ES_MERGING, ES_FAILED };

struct extsort {
    char *tmpdir;
    size_t budget;
    enum es_phase phase;
    unsigned char *arena;
    size_t arena_len, arena_cap;
    union es_ent *ents;
    size_t nents, ents_cap, mem_i;
    int fd; /* this generation's runs; -1 before the first spill */
    off_t fd_size;
    struct es_run *runs;
    size_t nruns, runs_cap;
    unsigned char *wbuf; /* buffered writes to the output file */
    size_t wlen;
    struct es_reader *rd; /* final merge: one per run */
    size_t *heap, nheap;
    bool advance_top; /* the top was handed out; move it on next time */
    size_t records, total_runs, passes;
    struct err failure; /* what put it in ES_FAILED, repeated to later callers */
};

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static int rec_cmp(const unsigned char *a, const unsigned char *b)
{
    uint32_t ak = get32(a), bk = get32(b), ar = get32(a + 4), br = get32(b + 4);
    int c;

    c = memcmp(a + ES_HDR, b + ES_HDR, ak < bk ? ak : bk);
    if (c || ak != bk)
        return c ? c : (ak < bk ? -1 : 1);
    c = memcmp(a + ES_HDR + ak, b + ES_HDR + bk, ar < br ? ar : br);
    if (c || ar != br)
        return c ? c : (ar < br ? -1 : 1);
    return 0;
}

static int ent_cmp(const void *a, const void *b)
{
    return rec_cmp(((const union es_ent *)a)->p, ((const union es_ent *)b)->p);
}

static size_t rec_size(const unsigned char *p)
{
    return ES_HDR + (size_t)get32(p) + get32(p + 4);
}

int extsort_new(struct extsort **out, const char *tmpdir, size_t mem_budget, struct err *e)
{
    struct extsort *s;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return err_oom(e);
    s->fd = -1;
    s->budget = mem_budget ? mem_budget : EXTSORT_DEFAULT_BUDGET;
    s->tmpdir = strdup(tmpdir);
    if (!s->tmpdir) {
        free(s);
        return err_oom(e);
    }
    *out = s;
    return 0;
}

/* --- writing runs ------------------------------------------------------ */

static int es_write(struct extsort *s, int fd, const void *data, size_t len, struct err *e)
{
    const char *p = data;
    ssize_t n;

    while (len) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_errno(e, ERR_IO, n < 0 ? errno : ENOSPC,
                             "cannot write a temporary sort file in '%s'", s->tmpdir);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int es_flush(struct extsort *s, int fd, struct err *e)
{
    if (s->wlen && es_write(s, fd, s->wbuf, s->wlen, e) < 0)
        return -1;
    s->wlen = 0;
    return 0;
}

/* Appends one encoded record to the output file fd (at *size). */
static int es_put(struct extsort *s, int fd, off_t *size, const unsigned char *rec, struct err *e)
{
    size_t n = rec_size(rec);

    if (n > ES_WBUF - s->wlen && es_flush(s, fd, e) < 0)
        return -1;
    if (n > ES_WBUF) {
        if (es_write(s, fd, rec, n, e) < 0)
            return -1;
    } else {
        memcpy(s->wbuf + s->wlen, rec, n);
        s->wlen += n;
    }
    *size += (off_t)n;
    return 0;
}

static int es_add_run(struct extsort *s, off_t off, off_t len, struct err *e)
{
    struct es_run *p;
    size_t cap;

    if (s->nruns == s->runs_cap) {
        cap = s->runs_cap ? s->runs_cap * 2 : 16;
        p = realloc(s->runs, cap * sizeof(*p));
        if (!p)
            return err_oom(e);
        s->runs = p;
        s->runs_cap = cap;
    }
    s->runs[s->nruns].off = off;
    s->runs[s->nruns].len = len;
    s->nruns++;
    return 0;
}

static void es_sort_memory(struct extsort *s)
{
    size_t i;

    if (!s->nents)
        return;
    for (i = 0; i < s->nents; i++)
        s->ents[i].p = s->arena + s->ents[i].off;
    qsort(s->ents, s->nents, sizeof(*s->ents), ent_cmp);
}

/* Sorts what is in memory and writes it as one run. */
static int es_spill(struct extsort *s, struct err *e)
{
    off_t start;
    size_t i;

    if (!s->nents)
        return 0;
    if (s->fd < 0 && fsutil_anon_tmpfile(&s->fd, s->tmpdir, e) < 0)
        return -1;
    if (!s->wbuf && !(s->wbuf = malloc(ES_WBUF)))
        return err_oom(e);
    es_sort_memory(s);
    start = s->fd_size;
    for (i = 0; i < s->nents; i++)
        if (es_put(s, s->fd, &s->fd_size, s->ents[i].p, e) < 0)
            return -1;
    if (es_flush(s, s->fd, e) < 0 || es_add_run(s, start, s->fd_size - start, e) < 0)
        return -1;
    s->total_runs++;
    s->nents = 0;
    s->arena_len = 0;
    return 0;
}

/* The sort can't go on: later calls get the same error. */
static int es_fail(struct extsort *s, struct err *e)
{
    s->phase = ES_FAILED;
    s->failure = *e;
    return -1;
}

/* A call on a failed sort: the failure again (a disk that filled up, not
 * "used after a failure", is what the user needs to read), or what. */
static int es_failed(const struct extsort *s, const char *what, struct err *e)
{
    if (s->failure.code != ERR_NONE) {
        *e = s->failure;
        return -1;
    }
    return err_set(e, ERR_INTERNAL, "%s after a failure", what);
}

int extsort_add(struct extsort *s, const void *key, size_t keylen, const void *rec, size_t reclen,
                struct err *e)
{
    size_t need, cap;
    uint32_t k32, r32;
    void *p;

    if (s->phase == ES_FAILED)
        return es_failed(s, "extsort_add", e);
    if (s->phase != ES_ADDING)
        return err_set(e, ERR_INTERNAL, "extsort_add after extsort_finish");
    if (keylen > EXTSORT_MAX_RECORD || reclen > EXTSORT_MAX_RECORD - keylen)
        return err_set(e, ERR_INTERNAL, "record too large to sort (%zu bytes, at most %u)",
                       keylen + reclen, EXTSORT_MAX_RECORD);
    need = ES_HDR + keylen + reclen;
    if (s->nents && s->arena_len + need + (s->nents + 1) * sizeof(union es_ent) > s->budget &&
        es_spill(s, e) < 0)
        return es_fail(s, e);
    if (s->arena_len + need > s->arena_cap) {
        cap = s->arena_cap ? s->arena_cap : 64 * 1024;
        while (cap < s->arena_len + need)
            cap *= 2;
        if (cap > s->budget && s->arena_len + need <= s->budget)
            cap = s->budget;
        p = realloc(s->arena, cap);
        if (!p)
            return err_oom(e);
        s->arena = p;
        s->arena_cap = cap;
    }
    if (s->nents == s->ents_cap) {
        cap = s->ents_cap ? s->ents_cap * 2 : 1024;
        p = realloc(s->ents, cap * sizeof(*s->ents));
        if (!p)
            return err_oom(e);
        s->ents = p;
        s->ents_cap = cap;
    }
    k32 = (uint32_t)keylen;
    r32 = (uint32_t)reclen;
    s->ents[s->nents++].off = s->arena_len;
    memcpy(s->arena + s->arena_len, &k32, 4);
    memcpy(s->arena + s->arena_len + 4, &r32, 4);
    if (keylen)
        memcpy(s->arena + s->arena_len + ES_HDR, key, keylen);
    if (reclen)
        memcpy(s->arena + s->arena_len + ES_HDR + keylen, rec, reclen);
    s->arena_len += need;
    s->records++;
    return 0;
}

/* --- reading runs ------------------------------------------------------ */

static int es_read_fail(struct extsort *s, int errnum, struct err *e)
{
    if (errnum)
        return err_errno(e, ERR_IO, errnum, "cannot read a temporary sort file in '%s'", s->tmpdir);
    return err_set(e, ERR_IO, "temporary sort file in '%s' ends early", s->tmpdir);
}

/* Copies n bytes of the run into r->cur. */
static int rd_take(struct extsort *s, int fd, struct es_reader *r, size_t n, struct err *e)
{
    size_t k, want;
    ssize_t got;

    while (n) {
        if (r->bpos == r->blen) {
            want = EXTSORT_READ_BUF;
            if ((off_t)want > r->end - r->pos)
                want = (size_t)(r->end - r->pos);
            if (!want)
                return es_read_fail(s, 0, e);
            do
                got = pread(fd, r->buf, want, r->pos);
            while (got < 0 && errno == EINTR);
            if (got <= 0)
                return es_read_fail(s, got < 0 ? errno : 0, e);
            r->pos += got;
            r->blen = (size_t)got;
            r->bpos = 0;
        }
        k = r->blen - r->bpos < n ? r->blen - r->bpos : n;
        if (buf_append(&r->cur, r->buf + r->bpos, k, e) < 0)
            return -1;
        r->bpos += k;
        n -= k;
    }
    return 0;
}

/* Loads the run's next record into r->cur. 1 = loaded, 0 = run done. */
static int rd_next(struct extsort *s, int fd, struct es_reader *r, struct err *e)
{
    const unsigned char *h;

    buf_reset(&r->cur);
    if (r->pos == r->end && r->bpos == r->blen)
        return 0;
    if (rd_take(s, fd, r, ES_HDR, e) < 0)
        return -1;
    h = (const unsigned char *)r->cur.data;
    if ((size_t)get32(h) + get32(h + 4) > EXTSORT_MAX_RECORD)
        return err_set(e, ERR_IO, "temporary sort file in '%s' is damaged", s->tmpdir);
    if (rd_take(s, fd, r, (size_t)get32(h) + get32(h + 4), e) < 0)
        return -1;
    return 1;
}

static const unsigned char *rd_rec(const struct es_reader *r)
{
    return (const unsigned char *)r->cur.data;
}

static void readers_free(struct es_reader *rd, size_t n)
{
    size_t i;

    if (!rd)
        return;
    for (i = 0; i < n; i++) {
        free(rd[i].buf);
        buf_release(&rd[i].cur);
    }
    free(rd);
}

/* Readers for runs[first .. first+n), each loaded with its first record. */
static int readers_open(struct extsort *s, size_t first, size_t n, struct es_reader **out,
                        struct err *e)
{
    struct es_reader *rd;
    size_t i;

    *out = NULL;
    rd = calloc(n, sizeof(*rd));
    if (!rd)
        return err_oom(e);
    for (i = 0; i < n; i++) {
        rd[i].pos = s->runs[first + i].off;
        rd[i].end = s->runs[first + i].off + s->runs[first + i].len;
        buf_init(&rd[i].cur, ES_HDR + (size_t)EXTSORT_MAX_RECORD);
        rd[i].buf = malloc(EXTSORT_READ_BUF);
        if (!rd[i].buf) {
            readers_free(rd, n);
            return err_oom(e);
        }
    }
    for (i = 0; i < n; i++) {
        if (rd_next(s, s->fd, &rd[i], e) < 0) {
            readers_free(rd, n);
            return -1;
        }
    }
    *out = rd;
    return 0;
}

/* --- the heap of readers (min by current record, ties by run index) ---- */

static bool heap_less(const struct es_reader *rd, size_t a, size_t b)
{
    int c = rec_cmp(rd_rec(&rd[a]), rd_rec(&rd[b]));

    return c < 0 || (c == 0 && a < b);
}

static void heap_down(const struct es_reader *rd, size_t *heap, size_t n, size_t i)
{
    size_t l, m, t;

    for (;;) {
        l = 2 * i + 1;
        m = i;
        if (l < n && heap_less(rd, heap[l], heap[m]))
            m = l;
        if (l + 1 < n && heap_less(rd, heap[l + 1], heap[m]))
            m = l + 1;
        if (m == i)
            return;
        t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

/* Heap of the readers that have a record. */
static size_t heap_build(const struct es_reader *rd, size_t n, size_t *heap)
{
    size_t i, h = 0;

    for (i = 0; i < n; i++)
        if (rd[i].cur.len)
            heap[h++] = i;
    for (i = h / 2; i-- > 0;)
        heap_down(rd, heap, h, i);
    return h;
}

/* Moves the top reader on and restores the heap. */
static int heap_advance(struct extsort *s, struct es_reader *rd, size_t *heap, size_t *n,
                        struct err *e)
{
    int rc = rd_next(s, s->fd, &rd[heap[0]], e);

    if (rc < 0)
        return -1;
    if (rc == 0)
        heap[0] = heap[--*n];
    if (*n)
        heap_down(rd, heap, *n, 0);
    return 0;
}

/* --- merging ----------------------------------------------------------- */

/* Merges runs[first .. first+n) into one run appended to out_fd. */
static int es_merge_group(struct extsort *s, size_t first, size_t n, int out_fd, off_t *out_size,
                          struct es_run *made, struct err *e)
{
    struct es_reader *rd = NULL;
    size_t *heap = NULL, nheap;
    int rc = -1;

    made->off = *out_size;
    heap = malloc(n * sizeof(*heap));
    if (!heap) {
        err_oom(e);
        goto out;
    }
    if (readers_open(s, first, n, &rd, e) < 0)
        goto out;
    nheap = heap_build(rd, n, heap);
    while (nheap) {
        if (es_put(s, out_fd, out_size, rd_rec(&rd[heap[0]]), e) < 0 ||
            heap_advance(s, rd, heap, &nheap, e) < 0)
            goto out;
    }
    if (es_flush(s, out_fd, e) < 0)
        goto out;
    made->len = *out_size - made->off;
    rc = 0;
out:
    readers_free(rd, n);
    free(heap);
    return rc;
}

/* One pass: groups of EXTSORT_FANIN runs become one run each, in a new file. */
static int es_merge_pass(struct extsort *s, struct err *e)
{
    struct es_run *made = NULL;
    size_t nmade = 0, first, n;
    off_t size = 0;
    int fd = -1, rc = -1;

    made = malloc(((s->nruns + EXTSORT_FANIN - 1) / EXTSORT_FANIN) * sizeof(*made));
    if (!made) {
        err_oom(e);
        goto out;
    }
    if (fsutil_anon_tmpfile(&fd, s->tmpdir, e) < 0)
        goto out;
    for (first = 0; first < s->nruns; first += n) {
        n = s->nruns - first < EXTSORT_FANIN ? s->nruns - first : EXTSORT_FANIN;
        if (es_merge_group(s, first, n, fd, &size, &made[nmade], e) < 0)
            goto out;
        nmade++;
    }
    close(s->fd);
    s->fd = fd;
    fd = -1;
    s->fd_size = size;
    free(s->runs);
    s->runs = made;
    s->runs_cap = s->nruns = nmade;
    made = NULL;
    s->passes++;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(made);
    return rc;
}

int extsort_finish(struct extsort *s, struct err *e)
{
    if (s->phase == ES_FAILED)
        return es_failed(s, "extsort_finish", e);
    if (s->phase != ES_ADDING)
        return err_set(e, ERR_INTERNAL, "extsort_finish called twice");
    s->phase = ES_FAILED;
    if (!s->nruns) {
        es_sort_memory(s);
        s->mem_i = 0;
        s->phase = ES_MEMORY;
        return 0;
    }
    if (es_spill(s, e) < 0)
        return es_fail(s, e);
    /* The arena is not needed any more: give the memory back for merging. */
    free(s->arena);
    free(s->ents);
    s->arena = NULL;
    s->ents = NULL;
    s->arena_cap = s->arena_len = s->ents_cap = s->nents = 0;
    while (s->nruns > EXTSORT_FANIN)
        if (es_merge_pass(s, e) < 0)
            return es_fail(s, e);
    free(s->wbuf);
    s->wbuf = NULL;
    s->heap = malloc(s->nruns * sizeof(*s->heap));
    if (!s->heap) {
        err_oom(e);
        return es_fail(s, e);
    }
    if (readers_open(s, 0, s->nruns, &s->rd, e) < 0)
        return es_fail(s, e);
    s->nheap = heap_build(s->rd, s->nruns, s->heap);
    s->advance_top = false;
    s->phase = ES_MERGING;
    return 0;
}

static void rec_out(const unsigned char *p, const char **key, size_t *keylen, const char **rec,
                    size_t *reclen)
{
    *keylen = get32(p);
    *reclen = get32(p + 4);
    *key = (const char *)p + ES_HDR;
    *rec = (const char *)p + ES_HDR + *keylen;
}

int extsort_next(struct extsort *s, const char **key, size_t *keylen, const char **rec,
                 size_t *reclen, struct err *e)
{
    *key = *rec = NULL;
    *keylen = *reclen = 0;
    switch (s->phase) {
    case ES_MEMORY:
        if (s->mem_i == s->nents)
            return 0;
        rec_out(s->ents[s->mem_i++].p, key, keylen, rec, reclen);
        return 1;
    case ES_MERGING:
        if (s->advance_top && s->nheap && heap_advance(s, s->rd, s->heap, &s->nheap, e) < 0)
            return es_fail(s, e);
        s->advance_top = false;
        if (!s->nheap)
            return 0;
        rec_out(rd_rec(&s->rd[s->heap[0]]), key, keylen, rec, reclen);
        s->advance_top = true;
        return 1;
    case ES_ADDING:
        return err_set(e, ERR_INTERNAL, "extsort_next before extsort_finish");
    case ES_FAILED:
        break;
    }
    return es_failed(s, "extsort_next", e);
}

void extsort_stats(const struct extsort *s, size_t *records, size_t *runs, size_t *passes)
{
    if (records)
        *records = s->records;
    if (runs)
        *runs = s->total_runs;
    if (passes)
        *passes = s->passes;
}

void extsort_free(struct extsort *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    readers_free(s->rd, s->nruns);
    free(s->heap);
    free(s->runs);
    free(s->wbuf);
    free(s->arena);
    free(s->ents);
    free(s->tmpdir);
    free(s);
}
