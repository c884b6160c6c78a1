/*
 * dump_catalogue.c - the tenant's connections, roles and organizations,
 * recorded in the snapshot header so an import can map them by name.
 * Lists are sorted by name (then id) so the header is deterministic.
 *
 * Roles are of two types (2026): tenant roles, and organization roles that
 * one organization owns (`type: "organization"`, `owner_id`). Two
 * organizations may each own a role of the same name, and a tenant role
 * may share it too: an organization role's entry records its type and its
 * owner by name ("owner"), so an import maps it to the role of the same
 * name owned by the mapped organization, never to a tenant role.
 */
#include "dump_internal.h"

#include "jsonutil.h"

#include "tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct collect {
    json_t *list;
    const char *const *keep; /* NULL-terminated member names to copy */
};

static int collect_item(void *ctx, json_t *item, struct err *e)
{
    struct collect *c = ctx;
    json_t *o = json_object();

    if (!o)
        return err_oom(e);
    for (const char *const *k = c->keep; *k; k++) {
        json_t *v = json_object_get(item, *k);
        if (v && json_object_set(o, *k, v) < 0) {
            json_decref(o);
            return err_oom(e);
        }
    }
    if (!json_is_string(json_object_get(o, "id")) || !json_is_string(json_object_get(o, "name"))) {
        json_decref(o);
        return err_set(e, ERR_API, "catalogue item without an id or a name");
    }
    if (json_array_append_new(c->list, o) < 0)
        return err_oom(e);
    return 0;
}

/* Organization roles: "owner" (the owning organization's name) instead of
 * owner_id, which names the organization in this tenant only. A tenant
 * role's entry has neither type nor owner (as before roles had types). */
static int name_owners(struct dump_ctx *c, json_t *roles, struct err *e)
{
    json_t *role, *org;
    size_t i;

    json_array_foreach(roles, i, role)
    {
        const char *type = json_string_value(json_object_get(role, "type"));
        const char *owner = json_string_value(json_object_get(role, "owner_id"));

        if (!type || strcmp(type, "organization") != 0) {
            json_object_del(role, "type");
            json_object_del(role, "owner_id");
            continue;
        }
        org = owner ? dump_catalogue_find(c, "organizations", "id", owner) : NULL;
        if (!org)
            return err_set(e, ERR_API,
                           "organization role '%s' is owned by '%s', which the organization list "
                           "does not hold",
                           json_string_value(json_object_get(role, "name")),
                           owner ? owner : "(no owner_id)");
        if (json_object_set(role, "owner", json_object_get(org, "name")) < 0)
            return err_oom(e);
        json_object_del(role, "owner_id");
    }
    return 0;
}

bool dump_role_is_organization(const json_t *role)
{
    const char *type = json_string_value(json_object_get(role, "type"));

    return type && strcmp(type, "organization") == 0;
}

static const char *const role_keys[] = {"id", "name", "description", "type", "owner_id", NULL};

/* Organization roles. Whether GET /roles without a type lists them is not
 * recorded either way, so they are asked for by type too, and each role is
 * kept once. If the tenant refuses the filter alone (the recording has it
 * with owner_id), each organization's are asked for. */
static int add_org_roles(struct dump_ctx *c, struct err *e)
{
    json_t *roles = json_object_get(c->catalogue, "roles");
    json_t *orgs = json_object_get(c->catalogue, "organizations"), *more = json_array(), *r;
    struct collect col = {more, role_keys};
    char path[512];
    size_t i;
    int rc;

    if (!more)
        return err_oom(e);
    rc = tenant_list_offset(c->tenant, "/roles?type=organization", "roles", collect_item, &col, e);
    if (rc < 0 && dump_refused(e)) {
        err_clear(e);
        json_array_clear(more);
        rc = 0;
        json_array_foreach(orgs, i, r)
        {
            snprintf(path, sizeof(path), "/roles?type=organization&owner_id=%s",
                     json_string_value(json_object_get(r, "id")));
            if ((rc = tenant_list_offset(c->tenant, path, "roles", collect_item, &col, e)) < 0)
                break;
        }
    }
    json_array_foreach(more, i, r)
    {
        if (rc == 0 &&
            !dump_catalogue_find(c, "roles", "id", json_string_value(json_object_get(r, "id"))) &&
            json_array_append(roles, r) < 0)
            rc = err_oom(e);
    }
    json_decref(more);
    return rc < 0 ? err_prefix(e, "listing organization roles") : 0;
}

int dump_catalogue(struct dump_ctx *c, struct err *e)
{
    static const char *const conn_keys[] = {"id", "name", "strategy", NULL};
    static const char *const org_keys[] = {"id", "name", "display_name", NULL};
    json_t *cat = json_object();
    struct collect col;

    if (!cat)
        return err_oom(e);
    c->catalogue = cat;
    c->res->catalogue = cat; /* owned by the result from here on */
    c->phase = "catalogue";
    if (json_object_set_new(cat, "connections", json_array()) < 0 ||
        json_object_set_new(cat, "roles", json_array()) < 0 ||
        json_object_set_new(cat, "organizations", json_array()) < 0)
        return err_oom(e);

    col.list = json_object_get(cat, "connections");
    col.keep = conn_keys;
    if (tenant_list_checkpoint(c->tenant,
                               "/connections?fields=id%2Cname%2Cstrategy&include_fields=true",
                               "connections", collect_item, &col, e) < 0)
        return err_prefix(e, "listing connections");
    col.list = json_object_get(cat, "organizations");
    col.keep = org_keys;
    if (tenant_list_checkpoint(c->tenant, "/organizations", "organizations", collect_item, &col,
                               e) < 0)
        return err_prefix(e, "listing organizations");
    col.list = json_object_get(cat, "roles");
    col.keep = role_keys;
    if (tenant_list_offset(c->tenant, "/roles", "roles", collect_item, &col, e) < 0)
        return err_prefix(e, "listing roles");
    if (add_org_roles(c, e) < 0 || name_owners(c, json_object_get(cat, "roles"), e) < 0)
        return -1;
    if (json_sort_by_name(json_object_get(cat, "connections"), e) < 0 ||
        json_sort_by_name(json_object_get(cat, "roles"), e) < 0 ||
        json_sort_by_name(json_object_get(cat, "organizations"), e) < 0)
        return -1;
    return 0;
}

json_t *dump_catalogue_find(const struct dump_ctx *c, const char *list, const char *key,
                            const char *value)
{
    return json_array_find(json_object_get(c->catalogue, list), key, value);
}
