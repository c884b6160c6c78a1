/*
 * import_grant_queue.c - see import_grant_queue.h.
 *
 * A small state machine, so that the caller can drive it one request at a
 * time from the jobs' polling loop: the running window, the kind being
 * handed out, the record read but not used yet, and the batch being
 * built. Records: roles added and members added/removed are keyed by the
 * role or organization id with the user as payload (a sort groups a
 * batch); roles removed are keyed by user with the JSON role ids; member
 * roles by "<org id>\x1f<uid>" with the JSON operations.
 */
#include "import_grant_queue.h"

#include "extsort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gwin {
    struct extsort *s[GRANT_KINDS];
    size_t items;
    size_t fresh; /* items added by grant_queue_add (not put back) */
};

struct grant_queue {
    char tmpdir[4096];
    size_t mem; /* sort budget per kind and window */
    struct grant_queue_hooks hooks;
    struct gwin *filling, *running;
    enum grant_kind kind; /* what the running window is handing out */
    bool eof;             /* the kind's sort is exhausted */
    bool have;            /* a record read and not used yet */
    const char *key, *rec;
    size_t klen, rlen;
    char id[256];   /* the batch's role or organization id */
    json_t *uids;   /* the batch being built, or handed out */
    bool handed;    /* uids was handed out: emptied at the next call */
    char uid[1024]; /* the user of the per-user call last handed out */
    size_t windows;
    bool final;      /* no more users to come: partial batches go now */
    json_t *waiting; /* "<org id>\x1f<uid>" of members put back: their roles wait too */
};

static void win_free(struct gwin *w)
{
    if (!w)
        return;
    for (int k = 0; k < GRANT_KINDS; k++)
        extsort_free(w->s[k]);
    free(w);
}

static int win_new(struct grant_queue *q, struct gwin **out, struct err *e)
{
    struct gwin *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (!w)
        return err_oom(e);
    for (int k = 0; k < GRANT_KINDS; k++)
        if (extsort_new(&w->s[k], q->tmpdir, q->mem, e) < 0) {
            win_free(w);
            return -1;
        }
    *out = w;
    return 0;
}

void grant_queue_free(struct grant_queue *q)
{
    if (!q)
        return;
    win_free(q->filling);
    win_free(q->running);
    json_decref(q->uids);
    json_decref(q->waiting);
    free(q);
}

int grant_queue_new(struct grant_queue **out, const char *tmpdir, size_t mem,
                    const struct grant_queue_hooks *hooks, struct err *e)
{
    struct grant_queue *q = calloc(1, sizeof(*q));

    *out = NULL;
    if (!q)
        return err_oom(e);
    snprintf(q->tmpdir, sizeof(q->tmpdir), "%s", tmpdir);
    q->uids = json_array();
    q->waiting = json_object();
    if (!q->uids || !q->waiting) {
        grant_queue_free(q);
        return err_oom(e);
    }
    q->mem = mem;
    q->hooks = *hooks;
    if (win_new(q, &q->filling, e) < 0) {
        grant_queue_free(q);
        return -1;
    }
    *out = q;
    return 0;
}

void grant_queue_final(struct grant_queue *q)
{
    q->final = true;
}

static int put(struct grant_queue *q, enum grant_kind k, const char *key, size_t klen,
               const char *rec, size_t rlen, struct err *e)
{
    struct gwin *w = q->filling;

    if (extsort_add(w->s[k], key, klen, rec, rlen, e) < 0)
        return -1;
    w->items++;
    return 0;
}

static int put_json(struct grant_queue *q, enum grant_kind k, const char *key, size_t klen,
                    const json_t *val, struct err *e)
{
    char *text = json_dumps(val, JSON_COMPACT);
    int rc;

    if (!text)
        return err_oom(e);
    rc = put(q, k, key, klen, text, strlen(text), e);
    free(text);
    return rc;
}

/* One item ["R"|"O"|"o", id], ["r", [ids]] or ["M", org, ops] of uid. */
static int add_item(struct grant_queue *q, const char *uid, const json_t *it, struct err *e)
{
    const char *kind = json_string_value(json_array_get(it, 0));
    json_t *arg = json_array_get(it, 1);
    const char *id = json_string_value(arg);
    size_t ulen = strlen(uid);
    char key[1300];
    int n;

    if (!kind || !arg)
        return err_set(e, ERR_INTERNAL, "bad grant item");
    switch (kind[0]) {
    case 'R':
    case 'O':
    case 'o':
        if (!id)
            return err_set(e, ERR_INTERNAL, "bad grant item");
        return put(q,
                   kind[0] == 'R'   ? GRANT_ROLE_ADD
                   : kind[0] == 'O' ? GRANT_MEMBER_ADD
                                    : GRANT_MEMBER_REMOVE,
                   id, strlen(id), uid, ulen, e);
    case 'r':
        return put_json(q, GRANT_ROLE_REMOVE, uid, ulen, arg, e);
    case 'M':
        n = snprintf(key, sizeof(key), "%s\x1f%s", id ? id : "", uid);
        if (!id || n < 0 || (size_t)n >= sizeof(key))
            return err_set(e, ERR_INTERNAL, "bad member-role item");
        return put_json(q, GRANT_MEMBER_ROLES, key, (size_t)n, json_array_get(it, 2), e);
    default:
        return err_set(e, ERR_INTERNAL, "unknown grant item '%s'", kind);
    }
}

int grant_queue_add(struct grant_queue *q, const char *uid, const json_t *items, struct err *e)
{
    json_t *it;
    size_t i;

    q->filling->fresh += json_array_size(items);
    json_array_foreach(items, i, it)
    {
        if (add_item(q, uid, it, e) < 0)
            return -1;
    }
    return 0;
}

/* The batch built: handed out (1) when full or when no more users can
 * come; a partial one is put back into the filling window while jobs
 * still run, so that it fills up with the next users (a window per
 * finished job would otherwise send a partial batch per role and
 * organization each time). Members put back keep their member roles
 * waiting with them (2). */
static int flush_batch(struct grant_queue *q, struct grant_call *call, struct err *e)
{
    json_t *u;
    size_t i;

    if (json_array_size(q->uids) >= GRANT_BATCH || q->final) {
        call->kind = q->kind;
        call->id = q->id;
        call->uids = q->uids;
        q->handed = true;
        return 1;
    }
    json_array_foreach(q->uids, i, u)
    {
        const char *uid = json_string_value(u);
        if (put(q, q->kind, q->id, strlen(q->id), uid, strlen(uid), e) < 0)
            return -1;
        if (q->kind == GRANT_MEMBER_ADD) {
            char key[1300];
            snprintf(key, sizeof(key), "%s\x1f%s", q->id, uid);
            if (json_object_set_new(q->waiting, key, json_true()) < 0)
                return err_oom(e);
        }
    }
    json_array_clear(q->uids);
    return 2;
}

/* Reads the running kind's next record. 1 = have one. */
static int cursor_fill(struct grant_queue *q, struct err *e)
{
    int r;

    if (q->have)
        return 1;
    if (q->eof)
        return 0;
    r = extsort_next(q->running->s[q->kind], &q->key, &q->klen, &q->rec, &q->rlen, e);
    if (r < 0)
        return -1;
    q->have = r == 1;
    q->eof = r == 0;
    return r;
}

static bool failed(const struct grant_queue *q, const char *uid)
{
    return q->hooks.failed && q->hooks.failed(q->hooks.ctx, uid);
}

/* Batches per role or organization: collects the users of one id, up to
 * GRANT_BATCH. 1 = a batch in *call, 2 = a batch was put back, 0 = the
 * kind is done. */
static int step_batches(struct grant_queue *q, struct grant_call *call, struct err *e)
{
    for (;;) {
        int r = cursor_fill(q, e);
        bool same;
        char uid[1024];

        if (r < 0)
            return -1;
        if (r == 0)
            return json_array_size(q->uids) == 0 ? 0 : flush_batch(q, call, e);
        same = q->klen == strlen(q->id) && memcmp(q->key, q->id, q->klen) == 0;
        if (json_array_size(q->uids) > 0 && (!same || json_array_size(q->uids) >= GRANT_BATCH))
            return flush_batch(q, call, e); /* the record stays for the next batch */
        if (q->klen >= sizeof(q->id) || q->rlen >= sizeof(uid))
            return err_set(e, ERR_INTERNAL, "grant record too long");
        snprintf(q->id, sizeof(q->id), "%.*s", (int)q->klen, q->key);
        snprintf(uid, sizeof(uid), "%.*s", (int)q->rlen, q->rec);
        if (!failed(q, uid) && json_array_append_new(q->uids, json_string(uid)) < 0)
            return err_oom(e);
        q->have = false;
    }
}

/* The current record of a per-user kind as a call. */
static int single_call(struct grant_queue *q, struct grant_call *call, struct err *e)
{
    const char *uid = q->key, *sep;
    size_t ulen = q->klen;

    q->id[0] = '\0';
    if (q->kind == GRANT_MEMBER_ROLES) {
        sep = memchr(q->key, '\x1f', q->klen);
        if (!sep || (size_t)(sep - q->key) >= sizeof(q->id))
            return err_set(e, ERR_INTERNAL, "bad member-role record");
        snprintf(q->id, sizeof(q->id), "%.*s", (int)(sep - q->key), q->key);
        uid = sep + 1;
        ulen = q->klen - (size_t)(sep - q->key) - 1;
    }
    snprintf(q->uid, sizeof(q->uid), "%.*s", (int)ulen, uid);
    call->kind = q->kind;
    call->id = q->id;
    call->uid = q->uid;
    call->ops = q->rec;
    call->ops_len = q->rlen;
    call->left_out = failed(q, q->uid);
    return 1;
}

/* One record of a per-user kind. 1 = a call in *call, 2 = put back, 0 =
 * the kind is done. */
static int step_single(struct grant_queue *q, struct grant_call *call, struct err *e)
{
    int r = cursor_fill(q, e);

    if (r <= 0)
        return r;
    if (q->kind == GRANT_MEMBER_ROLES && json_object_size(q->waiting) > 0) {
        /* the membership was put back: so are its roles */
        char key[1300];
        snprintf(key, sizeof(key), "%.*s", (int)q->klen, q->key);
        if (json_object_get(q->waiting, key)) {
            json_object_del(q->waiting, key);
            r = put(q, GRANT_MEMBER_ROLES, q->key, q->klen, q->rec, q->rlen, e);
            q->have = false;
            return r < 0 ? -1 : 2;
        }
    }
    r = single_call(q, call, e);
    q->have = false;
    return r;
}

/* Makes the filling window the running one, when it holds anything new. */
static int next_window(struct grant_queue *q, struct err *e)
{
    if (q->filling->items == 0 || (q->filling->fresh == 0 && !q->final))
        return 0; /* only what was put back: it waits for more users */
    q->running = q->filling;
    q->filling = NULL;
    if (win_new(q, &q->filling, e) < 0)
        return -1;
    for (int k = 0; k < GRANT_KINDS; k++)
        if (extsort_finish(q->running->s[k], e) < 0)
            return -1;
    q->kind = GRANT_ROLE_ADD;
    q->eof = q->have = false;
    q->id[0] = '\0';
    json_array_clear(q->uids);
    q->windows++;
    if (q->hooks.window)
        q->hooks.window(q->hooks.ctx, q->windows, q->running->items);
    return 1;
}

int grant_queue_next(struct grant_queue *q, struct grant_call *call, struct err *e)
{
    memset(call, 0, sizeof(*call));
    if (q->handed)
        json_array_clear(q->uids);
    q->handed = false;
    for (;;) {
        int r;

        if (!q->running) {
            r = next_window(q, e);
            if (r <= 0)
                return r;
        }
        if (q->kind == GRANT_KINDS) {
            win_free(q->running);
            q->running = NULL;
            continue;
        }
        r = q->kind == GRANT_ROLE_REMOVE || q->kind == GRANT_MEMBER_ROLES
                ? step_single(q, call, e)
                : step_batches(q, call, e);
        if (r < 0)
            return -1;
        if (r == 1)
            return 1;
        if (r == 2)
            continue; /* put back, nothing to send */
        q->kind++;
        q->eof = q->have = false;
        q->id[0] = '\0';
    }
}
