/*
 * dump_permissions.c - the permissions assigned to each user directly.
 *
 * GET /users/{id}/permissions answers a user's effective permissions, each
 * with its `sources`: DIRECT for one assigned to the user, ROLE for one
 * that comes with a role (recorded: {"source_id":"","source_name":"",
 * "source_type":"DIRECT"}). Only the DIRECT ones are the user's own: the
 * others follow the roles, which the snapshot holds already. There is no
 * bulk endpoint: one request (or more, past 100) per user, which is why
 * the caller asks for it (--with-permissions) and is told the cost first.
 */
#include "dump_internal.h"

#include "extsort.h"
#include "sortcursor.h"
#include "tenant.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct perm_walk {
    struct dump_ctx *c;
    const char *snapshot_id;
};

/* Whether one of a permission's sources is DIRECT. */
static bool is_direct(json_t *perm)
{
    json_t *sources = json_object_get(perm, "sources"), *src;
    size_t i;

    json_array_foreach(sources, i, src)
    {
        const char *t = json_string_value(json_object_get(src, "source_type"));
        if (t && strcmp(t, "DIRECT") == 0)
            return true;
    }
    return false;
}

static int on_permission(void *ctx, json_t *perm, struct err *e)
{
    struct perm_walk *w = ctx;
    json_t *api = json_object_get(perm, "resource_server_identifier");
    json_t *name = json_object_get(perm, "permission_name");
    json_t *g;
    char *text;
    int rc;

    if (!is_direct(perm) || !json_is_string(api) || !json_is_string(name))
        return 0;
    g = json_pack("{s:s,s:O,s:O}", "kind", "perm", "resource_server_identifier", api,
                  "permission_name", name);
    text = g ? json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(g);
    if (!text)
        return err_oom(e);
    rc = extsort_add(w->c->grants, w->snapshot_id, strlen(w->snapshot_id), text, strlen(text), e);
    free(text);
    return rc;
}

int dump_permissions_of(struct dump_ctx *c, const char *api_id, const char *snapshot_id,
                        struct err *e)
{
    struct perm_walk w = {c, snapshot_id};
    char uid[1024], path[1400];
    long before = tenant_stats(c->tenant)->requests;
    int rc;

    if (url_escape(uid, sizeof(uid), api_id) < 0)
        return err_set(e, ERR_API, "user id too long");
    snprintf(path, sizeof(path), "/users/%s/permissions", uid);
    rc = tenant_list_offset(c->tenant, path, "permissions", on_permission, &w, e);
    c->res->permission_requests += (size_t)(tenant_stats(c->tenant)->requests - before);
    if (rc < 0)
        return err_prefix(e, "reading the permissions of '%s'", api_id);
    return 0;
}

int dump_permissions_bulk(struct dump_ctx *c, struct err *e)
{
    struct sort_cursor cur;
    size_t n = c->users_seen - c->users_excluded, done = 0;
    double rate = tenant_rate_estimate(c->tenant);

    if (rate > 0)
        tenant_notify(c->tenant, 0,
                      "reading direct permissions: %zu requests (one per user), about %.0f s at "
                      "the %.1f requests/s the tenant has allowed so far",
                      n, (double)n / rate, rate);
    else /* the headers have not shown the rate yet: Auth0's published limits */
        tenant_notify(c->tenant, 0,
                      "reading direct permissions: %zu requests (one per user), about %.0f s at "
                      "16 requests/s (an enterprise production tenant) to %.0f s at 2/s (free "
                      "and non-production tenants)",
                      n, (double)n / 16, (double)n / 2);
    c->phase = "permissions";
    sort_cursor_init(&cur, c->perm_ids);
    if (extsort_finish(c->perm_ids, e) < 0)
        return -1;
    for (;;) {
        char api_id[1024], snapshot_id[1024];
        if (sort_cursor_next(&cur, e) < 0)
            return -1;
        if (!cur.have)
            return 0;
        snprintf(api_id, sizeof(api_id), "%.*s", (int)cur.klen, cur.key);
        snprintf(snapshot_id, sizeof(snapshot_id), "%.*s", (int)cur.rlen, cur.rec);
        if (dump_permissions_of(c, api_id, snapshot_id, e) < 0)
            return -1;
        if (++done % 100 == 0)
            dump_progress(c, done);
    }
}
