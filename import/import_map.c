/*
 * import_map.c - matching the snapshot's connections, roles and
 * organizations with the target's, by name (ids differ between tenants),
 * with --map-connection/--map-role/--map-org overrides.
 *
 * What can't be matched is known before any write: users of an unmatched
 * connection are skipped, and grants of an unmatched role or organization
 * are left out, each reported; --create-missing-roles creates roles by
 * name instead (not in --plan, which only says it would).
 */
#include "import.h"

#include "log.h"
#include "tenant.h"

#include <string.h>

static const char *mapped_name(const struct import_map_opt *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->from[i], name) == 0)
            return m->to[i];
    return name;
}

static json_t *find_by_name(json_t *list, const char *name)
{
    json_t *item;
    size_t i;

    json_array_foreach(list, i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n && strcmp(n, name) == 0)
            return item;
    }
    return NULL;
}

static int create_role(struct import_ctx *c, const char *name, const char *description,
                       json_t **role, struct err *e)
{
    json_t *body = json_pack("{s:s,s:s}", "name", name, "description",
                             description && *description ? description : name);
    int rc;

    if (!body)
        return err_oom(e);
    rc = tenant_call(c->tenant, "POST", "/roles", body, role, e);
    json_decref(body);
    if (rc < 0)
        return err_prefix(e, "creating role '%s'", name);
    if (!json_is_string(json_object_get(*role, "id")))
        return err_set(e, ERR_API, "creating role '%s': answer has no id", name);
    c->n.roles_created++;
    return 0;
}

/* name_map: source name -> target name; id_map: target name -> target id. */
static int map_list(struct import_ctx *c, json_t *src_list, json_t *dst_list,
                    const struct import_map_opt *m, const char *what, bool create, json_t *name_map,
                    json_t *id_map, struct err *e)
{
    json_t *item, *missing = json_array();
    size_t i;

    if (!missing)
        return err_oom(e);
    /* overrides must name things that exist on both sides */
    for (i = 0; i < m->n; i++) {
        if (!find_by_name(src_list, m->from[i]))
            log_warn("--map-%s '%s=%s': the snapshot has no %s named '%s'", what, m->from[i],
                     m->to[i], what, m->from[i]);
    }
    json_array_foreach(src_list, i, item)
    {
        const char *src = json_string_value(json_object_get(item, "name"));
        const char *dst;
        json_t *target;

        if (!src)
            continue;
        dst = mapped_name(m, src);
        target = find_by_name(dst_list, dst);
        if (!target && create) {
            json_t *role = NULL;
            if (c->opts->mode == MODE_PLAN) {
                log_info("would create role '%s'", dst);
                json_object_set_new(name_map, src, json_string(dst));
                json_object_set_new(id_map, dst, json_string("(to be created)"));
                continue;
            }
            if (create_role(c, dst, json_string_value(json_object_get(item, "description")), &role,
                            e) < 0) {
                json_decref(missing);
                return -1;
            }
            json_array_append_new(dst_list, role);
            target = role;
            log_info("created role '%s'", dst);
        }
        if (!target) {
            json_array_append_new(missing, json_string(src));
            continue;
        }
        json_object_set_new(name_map, src, json_string(dst));
        json_object_set(id_map, dst, json_object_get(target, "id"));
    }
    if (json_array_size(missing) > 0) {
        char list[400] = "";
        size_t used = 0;
        json_array_foreach(missing, i, item)
        {
            int k = snprintf(list + used, sizeof(list) - used, "%s'%s'", i ? ", " : "",
                             json_string_value(item));
            if (k < 0 || (size_t)k >= sizeof(list) - used)
                break;
            used += (size_t)k;
        }
        log_warn("the target has no %s named %s; those assignments will be skipped%s", what, list,
                 strcmp(what, "role") == 0 ? " (--create-missing-roles creates them)" : "");
    }
    json_object_set_new(c->unmapped, strcmp(what, "role") == 0 ? "roles" : "organizations",
                        missing);
    return 0;
}

int import_map_build(struct import_ctx *c, json_t *source_cat, json_t *target_cat, struct err *e)
{
    const struct import_opts *o = c->opts;
    json_t *item, *unmapped_conns = json_array();
    size_t i;

    c->conn_map = json_object();
    c->role_map = json_object();
    c->org_map = json_object();
    c->unmapped = json_object();
    c->covered = json_object();
    if (!c->conn_map || !c->role_map || !c->org_map || !c->unmapped || !c->covered ||
        !unmapped_conns) {
        json_decref(unmapped_conns);
        return err_oom(e);
    }
    /* role_map / org_map hold two objects: "names" (source -> target name)
     * and "ids" (target name -> id). */
    json_object_set_new(c->role_map, "names", json_object());
    json_object_set_new(c->role_map, "ids", json_object());
    json_object_set_new(c->org_map, "names", json_object());
    json_object_set_new(c->org_map, "ids", json_object());

    json_array_foreach(json_object_get(source_cat, "connections"), i, item)
    {
        const char *src = json_string_value(json_object_get(item, "name"));
        const char *strategy = json_string_value(json_object_get(item, "strategy"));
        const char *dst;
        json_t *target;

        if (!src)
            continue;
        dst = mapped_name(&o->map_connection, src);
        target = find_by_name(json_object_get(target_cat, "connections"), dst);
        if (!target) {
            /* Only a problem for database connections: others are skipped
             * (or converted) anyway. */
            if (strategy && strcmp(strategy, "auth0") == 0)
                json_array_append_new(unmapped_conns, json_string(src));
            continue;
        }
        json_object_set(c->conn_map, src, target);
    }
    if (o->convert_social_to) {
        json_t *t = find_by_name(json_object_get(target_cat, "connections"), o->convert_social_to);
        const char *strategy = json_string_value(json_object_get(t, "strategy"));
        if (!t)
            return err_set(e, ERR_USAGE,
                           "--social-users=convert:%s: the target has no such connection",
                           o->convert_social_to);
        if (!strategy || strcmp(strategy, "auth0") != 0)
            return err_set(e, ERR_USAGE,
                           "--social-users=convert:%s: that is not a database connection",
                           o->convert_social_to);
    }
    json_array_foreach(unmapped_conns, i, item)
    {
        log_warn("the target has no connection named '%s'; its users will be skipped "
                 "(--map-connection %s=OTHER maps it)",
                 json_string_value(item), json_string_value(item));
    }
    json_object_set_new(c->unmapped, "connections", unmapped_conns);

    if (map_list(c, json_object_get(source_cat, "roles"), json_object_get(target_cat, "roles"),
                 &o->map_role, "role", o->create_missing_roles,
                 json_object_get(c->role_map, "names"), json_object_get(c->role_map, "ids"), e) < 0)
        return -1;
    if (map_list(c, json_object_get(source_cat, "organizations"),
                 json_object_get(target_cat, "organizations"), &o->map_org, "organization", false,
                 json_object_get(c->org_map, "names"), json_object_get(c->org_map, "ids"), e) < 0)
        return -1;
    return 0;
}
