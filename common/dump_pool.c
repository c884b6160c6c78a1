/*
 * dump_pool.c - an export file's users on two threads (see dump_internal.h).
 *
 * With a privacy policy, most of the ingest is per-user work that shares
 * nothing but the sorts: building the user's json_t, applying the policy,
 * writing the canonical text. The export's second core is idle then (the
 * snapshot's gzip thread only runs later, in the join), so a worker thread
 * takes every other batch of lines. It has its own dump_ctx (a copy of the
 * caller's with its own counters), its own request (its own privacy
 * context, no progress callback) and adds to the same sorts under one
 * lock. Its counters, privacy stats and drift are added to the caller's at
 * the end. A failure on either side stops the run; the first one is
 * reported.
 */
#include "dump_internal.h"

#include "privacy.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_BYTES (256u << 10)
#define BATCH_LINES 1024
#define PENDING_MAX ((size_t)1 << 30) /* a batch's records; a few MB in practice */

struct batch {
    char *data; /* lines back to back */
    size_t len;
    size_t off[BATCH_LINES + 1]; /* line i is data[off[i] .. off[i+1]) */
    size_t n;
    size_t first_line; /* the export file's line number of line 0 */
};

struct dump_pool {
    struct dump_ctx *c; /* the caller's, borrowed */
    struct dump_ctx wc; /* the worker's */
    struct dump_request wreq;
    struct privacy_ctx *wpriv;
    pthread_mutex_t sort_lock;
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    pthread_t thread;
    bool started, quit, failed;
    struct err werr;     /* the worker's failure */
    size_t worker_users; /* users of the worker's finished batches */
    /* Three batches: the caller fills one, one may wait for the worker
     * (so that it never waits for the caller), the worker does one. */
    struct batch *fill, *queued, *work;
    struct batch *spare[3];
    size_t n_spare;
    struct buf pend[2]; /* records waiting for the sorts: the caller's, the worker's */
    size_t lines;       /* lines seen so far */
};

static struct batch *batch_new(void)
{
    struct batch *b = calloc(1, sizeof(*b));

    if (b && !(b->data = malloc(BATCH_BYTES))) {
        free(b);
        return NULL;
    }
    return b;
}

static void batch_free(struct batch *b)
{
    if (!b)
        return;
    free(b->data);
    free(b);
}

/* Ingests a batch on ctx c; its records go to the sorts at the end, in
 * one go. */
static int run_batch(struct dump_ctx *c, const struct batch *b, struct buf *pending, struct err *e)
{
    int rc = 0;

    c->pending = pending;
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        c->line_no = b->first_line + i;
        rc = dump_ingest_line(c, b->data + b->off[i], b->off[i + 1] - b->off[i], e);
    }
    c->line_no = 0;
    if (rc == 0)
        rc = dump_sort_flush(c, e);
    buf_reset(pending);
    c->pending = NULL;
    return rc;
}

static void *worker(void *arg)
{
    struct dump_pool *p = arg;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct err e;
        size_t before;
        int rc;

        while (!p->queued && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->queued)
            break; /* told to stop, and nothing left */
        p->work = p->queued;
        p->queued = NULL;
        pthread_mutex_unlock(&p->mu);
        err_clear(&e);
        before = p->wc.users_seen;
        rc = run_batch(&p->wc, p->work, &p->pend[1], &e);
        pthread_mutex_lock(&p->mu);
        if (rc < 0 && !p->failed) {
            p->failed = true;
            p->werr = e;
        }
        p->worker_users += p->wc.users_seen - before;
        p->spare[p->n_spare++] = p->work;
        p->work = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int dump_pool_new(struct dump_pool **out, struct dump_ctx *c, struct err *e)
{
    struct dump_pool *p = calloc(1, sizeof(*p));

    *out = NULL;
    if (!p)
        return err_oom(e);
    buf_init(&p->pend[0], PENDING_MAX);
    buf_init(&p->pend[1], PENDING_MAX);
    pthread_mutex_init(&p->sort_lock, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->c = c;
    p->fill = batch_new();
    for (p->n_spare = 0; p->n_spare < 2; p->n_spare++)
        p->spare[p->n_spare] = batch_new();
    if (!p->fill || !p->spare[0] || !p->spare[1]) {
        dump_pool_free(p);
        return err_oom(e);
    }
    p->wreq = *c->req;
    p->wreq.progress = NULL;
    if (c->req->privacy && privacy_ctx_clone(&p->wpriv, c->req->privacy, e) < 0) {
        dump_pool_free(p);
        return -1;
    }
    p->wreq.privacy = p->wpriv;
    p->wc = *c;
    p->wc.req = &p->wreq;
    p->wc.users_seen = p->wc.users_excluded = 0;
    p->wc.lines_fast = p->wc.lines_slow = 0;
    p->wc.users_seen_elsewhere = 0;
    p->wc.sort_lock = &p->sort_lock;
    if (pthread_create(&p->thread, NULL, worker, p) != 0) {
        dump_pool_free(p);
        return err_set(e, ERR_INTERNAL, "cannot start a thread");
    }
    p->started = true;
    c->sort_lock = &p->sort_lock;
    *out = p;
    return 0;
}

/* The worker's failure, if any, as the caller's. */
static int worker_failed(struct dump_pool *p, struct err *e)
{
    bool failed;

    pthread_mutex_lock(&p->mu);
    failed = p->failed;
    if (failed)
        *e = p->werr;
    p->c->users_seen_elsewhere = p->worker_users;
    pthread_mutex_unlock(&p->mu);
    return failed ? -1 : 0;
}

/* The full batch waits for the worker if nothing else does, else the
 * caller does it itself. */
static int flush(struct dump_pool *p, struct err *e)
{
    struct batch *b = p->fill;
    bool handed = false;

    if (b->n == 0)
        return 0;
    pthread_mutex_lock(&p->mu);
    if (!p->queued && !p->failed && p->n_spare > 0) {
        p->queued = b;
        p->fill = p->spare[--p->n_spare];
        handed = true;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (!handed && run_batch(p->c, b, &p->pend[0], e) < 0)
        return -1;
    p->fill->n = p->fill->len = 0;
    p->fill->off[0] = 0;
    p->fill->first_line = p->lines + 1;
    return worker_failed(p, e);
}

int dump_pool_line(struct dump_pool *p, const char *line, size_t len, struct err *e)
{
    struct batch *b = p->fill;

    if (b->n > 0 && (b->n == BATCH_LINES || b->len + len > BATCH_BYTES)) {
        if (flush(p, e) < 0)
            return -1;
        b = p->fill;
    }
    if (len > BATCH_BYTES) {
        /* a line bigger than a batch: done here, alone */
        int rc;

        p->c->line_no = ++p->lines;
        rc = dump_ingest_line(p->c, line, len, e);
        p->c->line_no = 0;
        return rc;
    }
    if (b->n == 0)
        b->first_line = p->lines + 1;
    memcpy(b->data + b->len, line, len);
    b->len += len;
    b->off[++b->n] = b->len;
    p->lines++;
    return 0;
}

static void stop(struct dump_pool *p)
{
    if (!p->started)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->started = false;
}

int dump_pool_finish(struct dump_pool *p, struct err *e)
{
    struct dump_ctx *c = p->c;
    int rc;

    rc = run_batch(c, p->fill, &p->pend[0], e);
    p->fill->n = p->fill->len = 0;
    stop(p); /* the worker ends its batch first */
    if (rc < 0)
        return -1;
    if (p->failed) {
        *e = p->werr;
        return -1;
    }
    c->users_seen += p->wc.users_seen;
    c->users_excluded += p->wc.users_excluded;
    c->lines_fast += p->wc.lines_fast;
    c->lines_slow += p->wc.lines_slow;
    c->users_seen_elsewhere = 0;
    if (p->wpriv && privacy_ctx_merge(c->req->privacy, p->wpriv, e) < 0)
        return -1;
    return 0;
}

void dump_pool_free(struct dump_pool *p)
{
    if (!p)
        return;
    stop(p);
    if (p->c && p->c->sort_lock == &p->sort_lock) {
        p->c->sort_lock = NULL;
        p->c->users_seen_elsewhere = 0;
    }
    privacy_ctx_free(p->wpriv);
    batch_free(p->fill);
    batch_free(p->queued);
    batch_free(p->work);
    for (size_t i = 0; i < p->n_spare; i++)
        batch_free(p->spare[i]);
    buf_release(&p->pend[0]);
    buf_release(&p->pend[1]);
    pthread_mutex_destroy(&p->sort_lock);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
