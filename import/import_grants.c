/*
 * import_grants.c - roles and organization memberships, sent in windows
 * that overlap the bulk import jobs (the model is in import.h).
 *
 * What to send and when is import_grant_queue.c's; this file sends it,
 * one request per step, so that the jobs' polling loop can spend the time
 * between polls on it. Users whose creation failed are left alone (their
 * failure is already in the report); a refused call marks its user failed
 * and the run goes on.
 */
#include "import.h"

#include "import_grant_queue.h"
#include "log.h"
#include "tenant.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct import_grants {
    struct grant_queue *q;
    size_t calls; /* steps of work done, for the progress line */
};

static bool user_failed(void *ctx, const char *uid)
{
    return import_failed_already(ctx, uid);
}

static void window_started(void *ctx, size_t n, size_t items)
{
    struct import_ctx *c = ctx;

    tenant_notify(c->tenant, 1, "grants: window %zu, %zu changes", n, items);
}

int import_grants_new(struct import_ctx *c, size_t mem, struct err *e)
{
    struct grant_queue_hooks hooks = {user_failed, window_started, c};
    struct import_grants *g = calloc(1, sizeof(*g));

    if (!g)
        return err_oom(e);
    c->grants = g;
    return grant_queue_new(&g->q, c->tmpdir, mem, &hooks, e);
}

void import_grants_free(struct import_ctx *c)
{
    if (!c->grants)
        return;
    grant_queue_free(c->grants->q);
    free(c->grants);
    c->grants = NULL;
}

int import_grants_add(struct import_ctx *c, const char *uid, json_t *items, struct err *e)
{
    return grant_queue_add(c->grants->q, uid, items, e);
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

/* One batch: role or organization members added, or members removed. */
static int send_batch(struct import_ctx *c, const struct grant_call *call, struct err *e)
{
    enum grant_kind k = call->kind;
    const char *method = k == GRANT_MEMBER_REMOVE ? "DELETE" : "POST";
    const char *member_key = k == GRANT_ROLE_ADD ? "users" : "members";
    const char *what = k == GRANT_ROLE_ADD     ? "assigning a role"
                       : k == GRANT_MEMBER_ADD ? "adding an organization member"
                                               : "removing an organization member";
    char path[512];
    json_t *body;
    struct err be;
    int rc;

    snprintf(path, sizeof(path), "%s%s%s", k == GRANT_ROLE_ADD ? "/roles/" : "/organizations/",
             call->id, k == GRANT_ROLE_ADD ? "/users" : "/members");
    body = json_pack("{s:O}", member_key, call->uids);
    if (!body)
        return err_oom(e);
    err_clear(&be);
    rc = tenant_call(c->tenant, method, path, body, NULL, &be);
    json_decref(body);
    if (rc == 0)
        return 0;
    if (be.http_status == 400 || be.http_status == 404)
        return one_by_one(c, method, path, call->uids, member_key, what, e);
    *e = be;
    return err_prefix(e, "%s", what);
}

/* Roles removed from one user. */
static int send_role_removal(struct import_ctx *c, const struct grant_call *call, struct err *e)
{
    char esc[3100], path[3200];
    json_t *ids, *body;
    int rc;

    if (call->left_out)
        return 0;
    if (url_escape(esc, sizeof(esc), call->uid) < 0)
        return err_set(e, ERR_INTERNAL, "user id too long");
    snprintf(path, sizeof(path), "/users/%s/roles", esc);
    ids = json_loadb(call->ops, call->ops_len, 0, NULL);
    body = ids ? json_pack("{s:o}", "roles", ids) : NULL;
    if (!body)
        return err_set(e, ERR_INTERNAL, "bad role-removal record");
    rc = import_user_call(c, call->uid, "DELETE", path, body, "removing a role", e);
    json_decref(body);
    return rc;
}

/* The roles of a member taken from ops' list (the key "add" or "remove"). */
static int send_member_role_list(struct import_ctx *c, const struct grant_call *call,
                                 const char *path, json_t *ops, bool add, struct err *e)
{
    json_t *list = json_object_get(ops, add ? "add" : "remove"), *body;
    int rc;

    if (json_array_size(list) == 0)
        return 0;
    body = json_pack("{s:O}", "roles", list);
    if (!body)
        return err_oom(e);
    rc = import_user_call(c, call->uid, add ? "POST" : "DELETE", path, body,
                          add ? "assigning organization roles" : "removing organization roles", e);
    json_decref(body);
    return rc;
}

/* A member's organization roles: added, then removed. */
static int send_member_roles(struct import_ctx *c, const struct grant_call *call, struct err *e)
{
    char path[1600], esc[1024];
    json_t *ops;
    int rc;

    if (call->left_out || url_escape(esc, sizeof(esc), call->uid) < 0)
        return 0;
    ops = json_loadb(call->ops, call->ops_len, 0, NULL);
    if (!ops)
        return err_set(e, ERR_INTERNAL, "bad member-role record");
    snprintf(path, sizeof(path), "/organizations/%s/members/%s/roles", call->id, esc);
    rc = send_member_role_list(c, call, path, ops, true, e);
    if (rc == 0)
        rc = send_member_role_list(c, call, path, ops, false, e);
    json_decref(ops);
    return rc;
}

/* Sends one request's worth of ready work: 1 = did, 0 = nothing ready. */
static int step(struct import_ctx *c, struct err *e)
{
    struct grant_call call;
    int r = grant_queue_next(c->grants->q, &call, e);

    if (r <= 0)
        return r;
    switch (call.kind) {
    case GRANT_ROLE_REMOVE:
        r = send_role_removal(c, &call, e);
        break;
    case GRANT_MEMBER_ROLES:
        r = send_member_roles(c, &call, e);
        break;
    default:
        r = send_batch(c, &call, e);
        break;
    }
    if (r < 0)
        return -1;
    c->grants->calls++;
    progress_update("import jobs: %zu submitted; role and membership changes: %zu", c->n.jobs,
                    c->grants->calls);
    return 1;
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

    grant_queue_final(c->grants->q);
    while ((r = step(c, e)) == 1)
        ;
    return r;
}
