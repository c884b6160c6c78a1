/*
 * dump_grants.c - who holds which role and belongs to which organization.
 *
 * For a whole tenant, the cheapest way the API offers is to list each
 * role's members (/roles/{id}/users) and each organization's members with
 * their organization roles (/organizations/{id}/members?fields=...roles),
 * both with checkpoint paging: calls grow with roles + organizations +
 * members/100, never with users. For a handful of users (--user, --email)
 * three small calls per user are cheaper, so dump_grants_for_user() asks
 * about that user alone.
 *
 * Every grant goes to the grants sort keyed by user_id; dump_join.c
 * attaches them to users.
 */
#include "dump_internal.h"

#include "buf.h"
#include "extsort.h"
#include "privacy.h"
#include "tenant.h"
#include "url.h"

#include <stdio.h>
#include <string.h>

struct grant_walk {
    struct dump_ctx *c;
    json_t *role_or_org; /* catalogue entry, borrowed */
};

/* The id the snapshot holds for user_id: the privacy policy rewrites an id
 * that embeds an email, and grants must follow their users. *out points
 * into mapped or at user_id. */
static int snapshot_uid(struct dump_ctx *c, const char *user_id, struct buf *mapped,
                        const char **out, struct err *e)
{
    *out = user_id;
    if (!c->req->privacy || !strchr(user_id, '@'))
        return 0;
    if (privacy_map_user_id(c->req->privacy, user_id, mapped, e) < 0)
        return -1;
    *out = buf_str(mapped);
    return 0;
}

int dump_grant_add(struct dump_ctx *c, const char *user_id, json_t *grant, struct err *e)
{
    char *text = grant ? json_dumps(grant, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct buf mapped;
    int rc = -1;

    json_decref(grant);
    if (!text)
        return err_oom(e);
    buf_init(&mapped, 64 * 1024);
    if (snapshot_uid(c, user_id, &mapped, &user_id, e) == 0)
        rc = extsort_add(c->grants, user_id, strlen(user_id), text, strlen(text), e);
    buf_release(&mapped);
    free(text);
    c->grants_seen++;
    if (c->grants_seen % 1000 == 0)
        dump_progress(c, c->grants_seen);
    return rc;
}

json_t *dump_role_ref(const struct dump_ctx *c, json_t *role)
{
    json_t *id = json_object_get(role, "id");
    json_t *ref = json_pack("{s:O,s:O?}", "id", id, "name", json_object_get(role, "name"));

    if (ref &&
        dump_role_is_organization(dump_catalogue_find(c, "roles", "id", json_string_value(id))) &&
        json_object_set_new(ref, "type", json_string("organization")) < 0) {
        json_decref(ref);
        return NULL;
    }
    return ref;
}

/* {"id","name"} pairs from an API role list (dump_role_ref), sorted later
 * by the join. */
static json_t *role_refs(const struct dump_ctx *c, json_t *roles)
{
    json_t *out = json_array(), *r;
    size_t i;

    if (!out)
        return NULL;
    json_array_foreach(roles, i, r)
    {
        if (!json_is_string(json_object_get(r, "id")))
            continue;
        if (json_array_append_new(out, dump_role_ref(c, r)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static int on_role_member(void *ctx, json_t *item, struct err *e)
{
    struct grant_walk *w = ctx;
    const char *uid = json_string_value(json_object_get(item, "user_id"));

    if (!uid)
        return 0;
    return dump_grant_add(w->c, uid,
                          json_pack("{s:s,s:O,s:O}", "kind", "role", "id",
                                    json_object_get(w->role_or_org, "id"), "name",
                                    json_object_get(w->role_or_org, "name")),
                          e);
}

struct org_walk {
    struct dump_ctx *c;
    json_t *org; /* catalogue entry, borrowed */
    struct dump_member_roles roles;
};

static int on_org_member(void *ctx, json_t *item, struct err *e)
{
    struct org_walk *w = ctx;
    const char *uid = json_string_value(json_object_get(item, "user_id"));
    json_t *roles = json_object_get(item, "roles");
    json_t *refs = json_is_array(roles) ? role_refs(w->c, roles) : json_array();

    if (!uid) {
        json_decref(refs);
        return 0;
    }
    if (!refs)
        return err_oom(e);
    /* Without roles: the membership now, its roles once the list is read
     * (dump_member_roles.c). */
    if (!json_is_array(roles) && dump_member_roles_note(&w->roles, uid, e) < 0) {
        json_decref(refs);
        return -1;
    }
    return dump_grant_add(w->c, uid,
                          json_pack("{s:s,s:O,s:O,s:o}", "kind", "org", "id",
                                    json_object_get(w->org, "id"), "name",
                                    json_object_get(w->org, "name"), "roles", refs),
                          e);
}

static int collect_roles(void *ctx, json_t *item, struct err *e)
{
    json_t *list = ctx;

    return json_array_append(list, item) < 0 ? err_oom(e) : 0;
}

int dump_org_roles_of(struct dump_ctx *c, const char *org_id, const char *user_id, json_t **out,
                      struct err *e)
{
    char uid[1024], path[1400];
    json_t *list = json_array();

    *out = NULL;
    if (!list)
        return err_oom(e);
    if (url_escape(uid, sizeof(uid), user_id) < 0) {
        json_decref(list);
        return err_set(e, ERR_API, "user id too long");
    }
    snprintf(path, sizeof(path), "/organizations/%s/members/%s/roles", org_id, uid);
    if (tenant_list_offset(c->tenant, path, "roles", collect_roles, list, e) < 0) {
        json_decref(list);
        return -1;
    }
    *out = role_refs(c, list);
    json_decref(list);
    return *out ? 0 : err_oom(e);
}

int dump_grants_bulk(struct dump_ctx *c, struct err *e)
{
    json_t *roles = json_object_get(c->catalogue, "roles");
    json_t *orgs = json_object_get(c->catalogue, "organizations"), *item;
    char path[512];
    size_t i;

    c->phase = "roles";
    json_array_foreach(roles, i, item)
    {
        struct grant_walk w = {c, item};
        /* An organization role is held only within its organization: the
         * member lists below carry it. */
        if (dump_role_is_organization(item))
            continue;
        snprintf(path, sizeof(path), "/roles/%s/users",
                 json_string_value(json_object_get(item, "id")));
        if (tenant_list_checkpoint(c->tenant, path, "users", on_role_member, &w, e) < 0)
            return err_prefix(e, "listing members of role '%s'",
                              json_string_value(json_object_get(item, "name")));
    }
    c->phase = "organizations";
    json_array_foreach(orgs, i, item)
    {
        struct org_walk w = {c, item, {0}};
        int rc;
        snprintf(path, sizeof(path),
                 "/organizations/%s/members?fields=user_id%%2Croles&include_fields=true",
                 json_string_value(json_object_get(item, "id")));
        dump_member_roles_init(&w.roles, c, item);
        rc = tenant_list_checkpoint(c->tenant, path, "members", on_org_member, &w, e) < 0
                 ? err_prefix(e, "listing members of organization '%s'",
                              json_string_value(json_object_get(item, "name")))
                 : dump_member_roles_complete(&w.roles, e);
        c->res->member_role_requests += w.roles.requests;
        dump_member_roles_release(&w.roles);
        if (rc < 0)
            return -1;
        if (c->res->member_role_requests) {
            /* Say so in the progress line and the summary. */
            snprintf(c->phase_text, sizeof(c->phase_text),
                     "organizations (the member lists hold no roles: %zu requests for them)",
                     c->res->member_role_requests);
            c->phase = c->phase_text;
        }
    }
    return 0;
}

int dump_grants_for_user(struct dump_ctx *c, const char *user_id, struct err *e)
{
    char uid[1024], path[1400];
    json_t *roles = json_array(), *orgs = json_array(), *item;
    size_t i;
    int rc = -1;

    if (!roles || !orgs) {
        err_oom(e);
        goto out;
    }
    if (url_escape(uid, sizeof(uid), user_id) < 0) {
        err_set(e, ERR_API, "user id too long");
        goto out;
    }
    snprintf(path, sizeof(path), "/users/%s/roles", uid);
    if (tenant_list_offset(c->tenant, path, "roles", collect_roles, roles, e) < 0)
        goto out;
    json_array_foreach(roles, i, item)
    {
        if (!json_is_string(json_object_get(item, "id")))
            continue; /* not a role we could name or assign */
        if (dump_grant_add(c, user_id,
                           json_pack("{s:s,s:O,s:O?}", "kind", "role", "id",
                                     json_object_get(item, "id"), "name",
                                     json_object_get(item, "name")),
                           e) < 0)
            goto out;
    }
    snprintf(path, sizeof(path), "/users/%s/organizations", uid);
    if (tenant_list_offset(c->tenant, path, "organizations", collect_roles, orgs, e) < 0)
        goto out;
    json_array_foreach(orgs, i, item)
    {
        const char *org_id = json_string_value(json_object_get(item, "id"));
        json_t *cat = org_id ? dump_catalogue_find(c, "organizations", "id", org_id) : NULL;
        json_t *refs = NULL;
        if (!cat)
            continue; /* created after the catalogue was read */
        if (dump_org_roles_of(c, org_id, user_id, &refs, e) < 0 ||
            dump_grant_add(c, user_id,
                           json_pack("{s:s,s:s,s:O,s:o}", "kind", "org", "id", org_id, "name",
                                     json_object_get(cat, "name"), "roles", refs),
                           e) < 0)
            goto out;
    }
    if (c->req->with_permissions) {
        struct buf mapped;
        const char *sid;
        int r;
        buf_init(&mapped, 64 * 1024);
        r = snapshot_uid(c, user_id, &mapped, &sid, e) < 0
                ? -1
                : dump_permissions_of(c, user_id, sid, e);
        buf_release(&mapped);
        if (r < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(roles);
    json_decref(orgs);
    return rc;
}
