/*
 * import_grants.c - roles and organization memberships, sent in windows
 * that overlap the bulk import jobs (the model is in import.h).
 *
 * The executor is a small state machine so that it can be driven one
 * request at a time from the jobs' polling loop: the running window, the
 * kind of change being sent, the record read but not used yet, and the
 * batch being built. Users whose creation failed are left alone (their
 * failure is already in the report); a refused call marks its user failed
 * and the run goes on.
 */
#include "import.h"

#include "extsort.h"
#include "log.h"
#include "tenant.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 100

/* The order a window is sent in: a member's roles need the membership. */
enum gkind { G_RADD, G_RREM, G_OADD, G_MROLES, G_OREM, G_NKINDS };

struct gwin {
    struct extsort *s[G_NKINDS];
    size_t items;
    size_t fresh; /* items added by import_grants_add (not put back) */
};

struct import_grants {
    size_t mem; /* sort budget per kind and window */
    struct gwin *filling, *running;
    enum gkind kind; /* what the running window is sending */
    bool eof;        /* the kind's sort is exhausted */
    bool have;       /* a record read and not used yet */
    const char *key, *rec;
    size_t klen, rlen;
    char id[256]; /* the batch's role or organization id */
    json_t *uids; /* the batch */
    size_t windows, calls;
    bool final;      /* no more users to come: partial batches go now */
    json_t *waiting; /* "<org id>\x1f<uid>" of members put back: their roles wait too */
};

static void win_free(struct gwin *w)
{
    if (!w)
        return;
    for (int k = 0; k < G_NKINDS; k++)
        extsort_free(w->s[k]);
    free(w);
}

static int win_new(struct import_ctx *c, struct gwin **out, struct err *e)
{
    struct gwin *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (!w)
        return err_oom(e);
    for (int k = 0; k < G_NKINDS; k++)
        if (extsort_new(&w->s[k], c->tmpdir, c->grants->mem, e) < 0) {
            win_free(w);
            return -1;
        }
    *out = w;
    return 0;
}

int import_grants_new(struct import_ctx *c, size_t mem, struct err *e)
{
    struct import_grants *g = calloc(1, sizeof(*g));

    if (!g || !(g->uids = json_array()) || !(g->waiting = json_object())) {
        if (g)
            json_decref(g->uids);
        free(g);
        return err_oom(e);
    }
    g->mem = mem;
    c->grants = g;
    return win_new(c, &g->filling, e);
}

void import_grants_free(struct import_ctx *c)
{
    struct import_grants *g = c->grants;

    if (!g)
        return;
    win_free(g->filling);
    win_free(g->running);
    json_decref(g->uids);
    json_decref(g->waiting);
    free(g);
    c->grants = NULL;
}

static int put(struct import_ctx *c, enum gkind k, const char *key, size_t klen, const char *rec,
               size_t rlen, struct err *e)
{
    struct gwin *w = c->grants->filling;

    if (extsort_add(w->s[k], key, klen, rec, rlen, e) < 0)
        return -1;
    w->items++;
    return 0;
}

static int put_json(struct import_ctx *c, enum gkind k, const char *key, size_t klen,
                    const json_t *val, struct err *e)
{
    char *text = json_dumps(val, JSON_COMPACT);
    int rc;

    if (!text)
        return err_oom(e);
    rc = put(c, k, key, klen, text, strlen(text), e);
    free(text);
    return rc;
}

int import_grants_add(struct import_ctx *c, const char *uid, json_t *items, struct err *e)
{
    size_t ulen = strlen(uid), i;
    json_t *it;

    c->grants->filling->fresh += json_array_size(items);

    json_array_foreach(items, i, it)
    {
        const char *kind = json_string_value(json_array_get(it, 0));
        json_t *arg = json_array_get(it, 1);
        const char *id = json_string_value(arg);
        char key[1300];
        int n, rc;

        if (!kind || !arg)
            return err_set(e, ERR_INTERNAL, "bad grant item");
        switch (kind[0]) {
        case 'R':
        case 'O':
        case 'o':
            if (!id)
                return err_set(e, ERR_INTERNAL, "bad grant item");
            rc = put(c,
                     kind[0] == 'R'   ? G_RADD
                     : kind[0] == 'O' ? G_OADD
                                      : G_OREM,
                     id, strlen(id), uid, ulen, e);
            break;
        case 'r':
            rc = put_json(c, G_RREM, uid, ulen, arg, e);
            break;
        case 'M':
            n = snprintf(key, sizeof(key), "%s\x1f%s", id ? id : "", uid);
            if (!id || n < 0 || (size_t)n >= sizeof(key))
                return err_set(e, ERR_INTERNAL, "bad member-role item");
            rc = put_json(c, G_MROLES, key, (size_t)n, json_array_get(it, 2), e);
            break;
        default:
            return err_set(e, ERR_INTERNAL, "unknown grant item '%s'", kind);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int import_grants_add_text(struct import_ctx *c, const char *uid, const char *text, struct err *e)
{
    json_t *items = json_loads(text, 0, NULL);
    int rc;

    if (!json_is_array(items)) {
        json_decref(items);
        return err_set(e, ERR_INTERNAL, "bad grant items of '%s'", uid);
    }
    rc = import_grants_add(c, uid, items, e);
    json_decref(items);
    return rc;
}

/* --- sending ----------------------------------------------------------- */

/* A batch refused as a whole (one bad id): retry user by user so the
 * others still get the grant and the bad one is named. */
static int one_by_one(struct import_ctx *c, const char *method, const char *path, json_t *uids,
                      const char *member_key, const char *what, struct err *e)
{
    json_t *u;
    size_t i;

    json_array_foreach(uids, i, u)
    {
        json_t *body = json_pack("{s:[O]}", member_key, u);
        int rc;
        if (!body)
            return err_oom(e);
        rc = import_user_call(c, json_string_value(u), method, path, body, what, e);
        json_decref(body);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* One batch of the running kind, for role or organization id. */
static int send_batch(struct import_ctx *c, const char *id, json_t *uids, struct err *e)
{
    enum gkind k = c->grants->kind;
    const char *method = k == G_OREM ? "DELETE" : "POST";
    const char *member_key = k == G_RADD ? "users" : "members";
    const char *what = k == G_RADD   ? "assigning a role"
                       : k == G_OADD ? "adding an organization member"
                                     : "removing an organization member";
    char path[512];
    json_t *body;
    struct err be;
    int rc;

    snprintf(path, sizeof(path), "%s%s%s", k == G_RADD ? "/roles/" : "/organizations/", id,
             k == G_RADD ? "/users" : "/members");
    body = json_pack("{s:O}", member_key, uids);
    if (!body)
        return err_oom(e);
    err_clear(&be);
    rc = tenant_call(c->tenant, method, path, body, NULL, &be);
    json_decref(body);
    if (rc == 0)
        return 0;
    if (be.http_status == 400 || be.http_status == 404)
        return one_by_one(c, method, path, uids, member_key, what, e);
    *e = be;
    return err_prefix(e, "%s", what);
}

/* The batch built: sent (1) when full or when no more users can come; a
 * partial one is put back into the filling window while jobs still run,
 * so that it fills up with the next users (a window per finished job would
 * otherwise send a partial batch per role and organization each time).
 * Members put back keep their member roles waiting with them (2). */
static int flush_batch(struct import_ctx *c, struct err *e)
{
    struct import_grants *g = c->grants;
    enum gkind k = g->kind;
    json_t *u;
    size_t i;
    int rc = 0;

    if (json_array_size(g->uids) >= BATCH || g->final) {
        rc = send_batch(c, g->id, g->uids, e);
        json_array_clear(g->uids);
        return rc < 0 ? -1 : 1;
    }
    json_array_foreach(g->uids, i, u)
    {
        const char *uid = json_string_value(u);
        if (put(c, k, g->id, strlen(g->id), uid, strlen(uid), e) < 0)
            return -1;
        if (k == G_OADD) {
            char key[1300];
            snprintf(key, sizeof(key), "%s\x1f%s", g->id, uid);
            if (json_object_set_new(g->waiting, key, json_true()) < 0)
                return err_oom(e);
        }
    }
    json_array_clear(g->uids);
    return 2;
}

/* Reads the running kind's next record into the cursor. 1 = have one. */
static int cursor_fill(struct import_grants *g, struct err *e)
{
    int r;

    if (g->have)
        return 1;
    if (g->eof)
        return 0;
    r = extsort_next(g->running->s[g->kind], &g->key, &g->klen, &g->rec, &g->rlen, e);
    if (r < 0)
        return -1;
    g->have = r == 1;
    g->eof = r == 0;
    return r;
}

/* Batches per role or organization: collects the users of one id, up to
 * BATCH, and sends them. 1 = a request was sent, 2 = a batch was put back,
 * 0 = the kind is done. */
static int step_batches(struct import_ctx *c, struct err *e)
{
    struct import_grants *g = c->grants;

    for (;;) {
        int r = cursor_fill(g, e);
        bool same;
        char uid[1024];

        if (r < 0)
            return -1;
        if (r == 0)
            return json_array_size(g->uids) == 0 ? 0 : flush_batch(c, e);
        same = g->klen == strlen(g->id) && memcmp(g->key, g->id, g->klen) == 0;
        if (json_array_size(g->uids) > 0 && (!same || json_array_size(g->uids) >= BATCH))
            return flush_batch(c, e); /* the record stays for the next batch */
        if (g->klen >= sizeof(g->id) || g->rlen >= sizeof(uid))
            return err_set(e, ERR_INTERNAL, "grant record too long");
        snprintf(g->id, sizeof(g->id), "%.*s", (int)g->klen, g->key);
        snprintf(uid, sizeof(uid), "%.*s", (int)g->rlen, g->rec);
        if (!import_failed_already(c, uid) && json_array_append_new(g->uids, json_string(uid)) < 0)
            return err_oom(e);
        g->have = false;
    }
}

/* Roles removed from one user. */
static int send_role_removal(struct import_ctx *c, struct err *e)
{
    struct import_grants *g = c->grants;
    char uid[1024], esc[3100], path[3200];
    json_t *ids, *body;
    int rc;

    snprintf(uid, sizeof(uid), "%.*s", (int)g->klen, g->key);
    if (import_failed_already(c, uid))
        return 0;
    if (url_escape(esc, sizeof(esc), uid) < 0)
        return err_set(e, ERR_INTERNAL, "user id too long");
    snprintf(path, sizeof(path), "/users/%s/roles", esc);
    ids = json_loadb(g->rec, g->rlen, 0, NULL);
    body = ids ? json_pack("{s:o}", "roles", ids) : NULL;
    if (!body)
        return err_set(e, ERR_INTERNAL, "bad role-removal record");
    rc = import_user_call(c, uid, "DELETE", path, body, "removing a role", e);
    json_decref(body);
    return rc;
}

/* A member's organization roles: added, then removed. */
static int send_member_roles(struct import_ctx *c, struct err *e)
{
    struct import_grants *g = c->grants;
    const char *sep = memchr(g->key, '\x1f', g->klen);
    char org[256], uid[1024], path[1600], esc[1024];
    json_t *ops, *add, *del;
    int rc = 0;

    if (!sep || (size_t)(sep - g->key) >= sizeof(org))
        return err_set(e, ERR_INTERNAL, "bad member-role record");
    snprintf(org, sizeof(org), "%.*s", (int)(sep - g->key), g->key);
    snprintf(uid, sizeof(uid), "%.*s", (int)(g->klen - (size_t)(sep - g->key) - 1), sep + 1);
    if (import_failed_already(c, uid) || url_escape(esc, sizeof(esc), uid) < 0)
        return 0;
    ops = json_loadb(g->rec, g->rlen, 0, NULL);
    if (!ops)
        return err_set(e, ERR_INTERNAL, "bad member-role record");
    add = json_object_get(ops, "add");
    del = json_object_get(ops, "remove");
    snprintf(path, sizeof(path), "/organizations/%s/members/%s/roles", org, esc);
    if (json_array_size(add) > 0) {
        json_t *body = json_pack("{s:O}", "roles", add);
        rc = body ? import_user_call(c, uid, "POST", path, body, "assigning organization roles", e)
                  : err_oom(e);
        json_decref(body);
    }
    if (rc == 0 && json_array_size(del) > 0) {
        json_t *body = json_pack("{s:O}", "roles", del);
        rc = body ? import_user_call(c, uid, "DELETE", path, body, "removing organization roles", e)
                  : err_oom(e);
        json_decref(body);
    }
    json_decref(ops);
    return rc;
}

/* One record of a per-user kind. 1 = sent, 2 = put back, 0 = the kind is
 * done. */
static int step_single(struct import_ctx *c, struct err *e)
{
    struct import_grants *g = c->grants;
    int r = cursor_fill(g, e);

    if (r <= 0)
        return r;
    if (g->kind == G_MROLES && json_object_size(g->waiting) > 0) {
        /* the membership was put back: so are its roles */
        char key[1300];
        snprintf(key, sizeof(key), "%.*s", (int)g->klen, g->key);
        if (json_object_get(g->waiting, key)) {
            json_object_del(g->waiting, key);
            r = put(c, G_MROLES, g->key, g->klen, g->rec, g->rlen, e);
            g->have = false;
            return r < 0 ? -1 : 2;
        }
    }
    r = g->kind == G_RREM ? send_role_removal(c, e) : send_member_roles(c, e);
    g->have = false;
    return r < 0 ? -1 : 1;
}

/* Makes the filling window the running one, when it holds anything. */
static int next_window(struct import_ctx *c, struct err *e)
{
    struct import_grants *g = c->grants;

    if (g->filling->items == 0 || (g->filling->fresh == 0 && !g->final))
        return 0; /* only what was put back: it waits for more users */
    g->running = g->filling;
    g->filling = NULL;
    if (win_new(c, &g->filling, e) < 0)
        return -1;
    for (int k = 0; k < G_NKINDS; k++)
        if (extsort_finish(g->running->s[k], e) < 0)
            return -1;
    g->kind = G_RADD;
    g->eof = g->have = false;
    g->id[0] = '\0';
    json_array_clear(g->uids);
    g->windows++;
    tenant_notify(c->tenant, 1, "grants: window %zu, %zu changes", g->windows, g->running->items);
    return 1;
}

/* Sends one request's worth of ready work: 1 = did, 0 = nothing ready. */
static int step(struct import_ctx *c, struct err *e)
{
    struct import_grants *g = c->grants;

    for (;;) {
        int r;

        if (!g->running) {
            r = next_window(c, e);
            if (r <= 0)
                return r;
        }
        if (g->kind == G_NKINDS) {
            win_free(g->running);
            g->running = NULL;
            continue;
        }
        r = g->kind == G_RREM || g->kind == G_MROLES ? step_single(c, e) : step_batches(c, e);
        if (r < 0)
            return -1;
        if (r == 2)
            continue; /* put back, nothing sent */
        if (r == 1) {
            g->calls++;
            progress_update("import jobs: %zu submitted; role and membership changes: %zu",
                            c->n.jobs, g->calls);
            return 1;
        }
        g->kind++;
        g->eof = g->have = false;
        g->id[0] = '\0';
    }
}

int import_grants_idle(struct import_ctx *c, int64_t ms, struct err *e)
{
    int64_t end = tenant_now_ms(c->tenant) + ms;

    for (;;) {
        int64_t now = tenant_now_ms(c->tenant);
        int r;

        if (now >= end)
            return 0;
        r = step(c, e);
        if (r < 0)
            return -1;
        if (r == 0) {
            tenant_sleep_ms(c->tenant, end - now);
            return 0;
        }
    }
}

int import_grants_drain(struct import_ctx *c, struct err *e)
{
    int r;

    c->grants->final = true;

    while ((r = step(c, e)) == 1)
        ;
    return r;
}
