/*
 * dump_member_roles.c - an organization's member roles when its member
 * lists came without them.
 *
 * /organizations/{id}/members?fields=user_id,roles is asked for the roles,
 * but a checkpoint page may come without them (tests/wire: recorded only
 * with page/per_page paging). Two ways to complete them:
 *
 *  - per member: /organizations/{id}/members/{user}/roles, one request for
 *    each member whose entry had no roles;
 *  - per role: /organizations/{id}/roles/{role}/members (recorded 2026),
 *    one paging walk for each role a member of the organization can hold
 *    there (the tenant's roles, and the organization's own).
 *
 * The cheaper is chosen per organization: per role as soon as the members
 * without roles outnumber the roles that could be held (a walk costs at
 * least one request), else per member. While the member list is read, the
 * members without roles are kept until they outnumber the roles, so memory
 * never exceeds one entry per role. If the per-role endpoint refuses (it is
 * recorded with an organization role only; whether it answers for a tenant
 * role held in an organization is not known), the members are listed again
 * and asked one at a time.
 *
 * Either way the roles go to the grants sort as {"kind":"orgrole","id":
 * org id, "role": {id, name, type?}}; dump_join.c puts each into its
 * membership.
 */
#include "dump_internal.h"

#include "tenant.h"
#include "url.h"

#include <stdio.h>
#include <string.h>

/* Whether a member of org (a catalogue entry) can hold role there: a
 * tenant role, or one the organization owns (the catalogue names owners). */
static bool can_hold(const json_t *org, const json_t *role)
{
    const char *owner = json_string_value(json_object_get(role, "owner"));
    const char *name = json_string_value(json_object_get(org, "name"));

    return !dump_role_is_organization(role) || (owner && name && strcmp(owner, name) == 0);
}

size_t dump_member_roles_candidates(const struct dump_ctx *c, const json_t *org)
{
    json_t *roles = json_object_get(c->catalogue, "roles"), *r;
    size_t i, n = 0;

    json_array_foreach(roles, i, r)
    {
        if (can_hold(org, r))
            n++;
    }
    return n;
}

bool dump_member_roles_by_role(size_t members_without_roles, size_t candidate_roles)
{
    return members_without_roles > candidate_roles;
}

void dump_member_roles_init(struct dump_member_roles *m, struct dump_ctx *c, json_t *org)
{
    memset(m, 0, sizeof(*m));
    m->c = c;
    m->org = org;
    m->max = dump_member_roles_candidates(c, org);
}

void dump_member_roles_release(struct dump_member_roles *m)
{
    json_decref(m->kept);
    m->kept = NULL;
}

int dump_member_roles_note(struct dump_member_roles *m, const char *user_id, struct err *e)
{
    m->without++;
    if (!dump_member_roles_by_role(m->without, m->max)) {
        if (!m->kept && !(m->kept = json_array()))
            return err_oom(e);
        return json_array_append_new(m->kept, json_string(user_id)) < 0 ? err_oom(e) : 0;
    }
    dump_member_roles_release(m); /* per role from here: the ids are not needed */
    return 0;
}

static int add_role_grants(struct dump_member_roles *m, const char *user_id, json_t *refs,
                           struct err *e)
{
    json_t *ref;
    size_t i;

    json_array_foreach(refs, i, ref)
    {
        if (dump_grant_add(m->c, user_id,
                           json_pack("{s:s,s:O,s:O}", "kind", "orgrole", "id",
                                     json_object_get(m->org, "id"), "role", ref),
                           e) < 0)
            return -1;
    }
    return 0;
}

static int per_member(struct dump_member_roles *m, const char *user_id, struct err *e)
{
    const char *org_id = json_string_value(json_object_get(m->org, "id"));
    json_t *refs = NULL;
    int rc;

    if (dump_org_roles_of(m->c, org_id, user_id, &refs, e) < 0)
        return -1;
    rc = add_role_grants(m, user_id, refs, e);
    json_decref(refs);
    return rc;
}

static int on_member_again(void *ctx, json_t *item, struct err *e)
{
    const char *uid = json_string_value(json_object_get(item, "user_id"));

    return uid ? per_member(ctx, uid, e) : 0;
}

struct holder_walk {
    struct dump_member_roles *m;
    json_t *ref; /* the role, as a member's role list names it */
};

static int on_holder(void *ctx, json_t *item, struct err *e)
{
    struct holder_walk *h = ctx;
    const char *uid = json_string_value(json_object_get(item, "user_id"));
    json_t *one = uid ? json_pack("[O]", h->ref) : NULL;
    int rc;

    if (!uid)
        return 0;
    if (!one)
        return err_oom(e);
    rc = add_role_grants(h->m, uid, one, e);
    json_decref(one);
    return rc;
}

/* Every candidate role's holders in the organization. 1 done, 0 the
 * endpoint refused (a 4xx other than 429: e is cleared), -1 failed. */
static int per_role(struct dump_member_roles *m, struct err *e)
{
    const char *org_id = json_string_value(json_object_get(m->org, "id"));
    json_t *roles = json_object_get(m->c->catalogue, "roles"), *r;
    char path[600];
    size_t i;

    json_array_foreach(roles, i, r)
    {
        struct holder_walk h = {m, NULL};
        int rc;
        if (!can_hold(m->org, r))
            continue;
        h.ref = dump_role_ref(m->c, r);
        if (!h.ref)
            return err_oom(e);
        snprintf(path, sizeof(path), "/organizations/%s/roles/%s/members?include_fields=true",
                 org_id, json_string_value(json_object_get(r, "id")));
        rc = tenant_list_checkpoint(m->c->tenant, path, "members", on_holder, &h, e);
        json_decref(h.ref);
        if (rc < 0 && dump_refused(e)) {
            err_clear(e);
            return 0;
        }
        if (rc < 0)
            return err_prefix(e, "listing holders of role '%s' in organization '%s'",
                              json_string_value(json_object_get(r, "name")),
                              json_string_value(json_object_get(m->org, "name")));
    }
    return 1;
}

int dump_member_roles_complete(struct dump_member_roles *m, struct err *e)
{
    long before = tenant_stats(m->c->tenant)->requests;
    const char *org_id = json_string_value(json_object_get(m->org, "id"));
    char path[512];
    size_t i;
    int rc = 0;

    if (!m->without)
        return 0;
    if (!dump_member_roles_by_role(m->without, m->max)) {
        for (i = 0; rc == 0 && i < json_array_size(m->kept); i++)
            rc = per_member(m, json_string_value(json_array_get(m->kept, i)), e);
    } else if ((rc = per_role(m, e)) == 0) {
        /* Refused: every member again, one at a time. Grants the walk
         * already sent are sent again; the join keeps one of each. */
        m->refused = true;
        snprintf(path, sizeof(path), "/organizations/%s/members?fields=user_id&include_fields=true",
                 org_id);
        rc = tenant_list_checkpoint(m->c->tenant, path, "members", on_member_again, m, e);
    } else if (rc > 0) {
        rc = 0;
    }
    m->requests = (size_t)(tenant_stats(m->c->tenant)->requests - before);
    return rc;
}
