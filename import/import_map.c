/*
 * import_map.c - matching the snapshot's connections, roles and
 * organizations with the target's, by name (ids differ between tenants),
 * with --map-connection/--map-role/--map-org overrides.
 *
 * What can't be matched is known before any write: users of an unmatched
 * connection are skipped, and grants of an unmatched role or organization
 * are left out, each reported; --create-missing-roles creates roles by
 * name instead (not in --plan, which only says it would).
 *
 * Organization roles (owned by one organization) are not matched by name
 * alone: two organizations may each own an "admin", and a tenant role may
 * be called so too. They are named by a key, IMPORT_ROLE_KEY(owner, name),
 * that the plan uses wherever role names are compared; an organization
 * role maps to the target role of the same name owned by the mapped
 * organization, and is created there, as an organization role, by
 * --create-missing-roles. Organizations are mapped first for that.
 */
#include "import.h"

#include "jsonutil.h"

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

int import_role_key(char *out, size_t outsz, const char *owner, const char *name)
{
    int n = owner ? snprintf(out, outsz, "\x1f%s\x1f%s", owner, name)
                  : snprintf(out, outsz, "%s", name);

    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

bool import_role_key_split(const char *key, char *owner, size_t ownersz, const char **name)
{
    const char *sep;

    if (key[0] != '\x1f' || !(sep = strchr(key + 1, '\x1f')))
        return false;
    snprintf(owner, ownersz, "%.*s", (int)(sep - key - 1), key + 1);
    *name = sep + 1;
    return true;
}

/* The catalogue role (a target's or a snapshot's) of name owned by owner
 * (NULL: a tenant role). */
static json_t *find_role(json_t *roles, const char *name, const char *owner)
{
    json_t *item;
    size_t i;

    json_array_foreach(roles, i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        const char *o = json_string_value(json_object_get(item, "owner"));
        if (n && strcmp(n, name) == 0 && (owner ? o && strcmp(o, owner) == 0 : !o))
            return item;
    }
    return NULL;
}

json_t *import_target_role(const struct import_ctx *c, const char *key)
{
    char owner[512];
    const char *name;

    if (import_role_key_split(key, owner, sizeof(owner), &name))
        return find_role(json_object_get(c->target_cat, "roles"), name, owner);
    return find_role(json_object_get(c->target_cat, "roles"), key, NULL);
}

static int create_role(struct import_ctx *c, const char *name, const char *description,
                       const char *owner_id, json_t **role, struct err *e)
{
    json_t *body = json_pack("{s:s,s:s}", "name", name, "description",
                             description && *description ? description : name);
    int rc;

    if (!body)
        return err_oom(e);
    /* An organization role is created as one, owned by its organization:
     * never a tenant role every organization would see. */
    if (owner_id && (json_object_set_new(body, "type", json_string("organization")) < 0 ||
                     json_object_set_new(body, "owner_id", json_string(owner_id)) < 0)) {
        json_decref(body);
        return err_oom(e);
    }
    rc = tenant_call(c->tenant, "POST", "/roles", body, role, e);
    json_decref(body);
    if (rc < 0)
        return err_prefix(e, "creating role '%s'", name);
    if (!json_is_string(json_object_get(*role, "id")))
        return err_set(e, ERR_API, "creating role '%s': answer has no id", name);
    c->n.roles_created++;
    return 0;
}

/* Reports what could not be matched: "the target has no WHAT named
 * 'a', 'b'; ..." */
static void warn_missing(json_t *missing, const char *what, const char *hint)
{
    char list[400] = "";
    size_t used = 0, i;
    json_t *item;

    if (json_array_size(missing) == 0)
        return;
    json_array_foreach(missing, i, item)
    {
        int k = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                         json_string_value(item));
        if (k < 0 || (size_t)k >= sizeof(list) - used)
            break;
        used += (size_t)k;
    }
    log_warn("the target has no %s %s; those assignments will be skipped%s", what, list, hint);
}

/* Organizations by name. name_map: source name -> target name; id_map:
 * target name -> target id. */
static int map_orgs(struct import_ctx *c, json_t *src_list, json_t *dst_list, struct err *e)
{
    const struct import_map_opt *m = &c->opts->map_org;
    json_t *name_map = json_object_get(c->org_map, "names");
    json_t *id_map = json_object_get(c->org_map, "ids");
    json_t *item, *missing = json_array();
    char shown[600];
    size_t i;

    if (!missing)
        return err_oom(e);
    /* overrides must name things that exist on both sides */
    for (i = 0; i < m->n; i++) {
        if (!json_array_find(src_list, "name", m->from[i]))
            log_warn("--map-org '%s=%s': the snapshot has no organization named '%s'", m->from[i],
                     m->to[i], m->from[i]);
    }
    json_array_foreach(src_list, i, item)
    {
        const char *src = json_string_value(json_object_get(item, "name"));
        const char *dst;
        json_t *target;

        if (!src)
            continue;
        dst = mapped_name(m, src);
        target = json_array_find(dst_list, "name", dst);
        if (!target) {
            snprintf(shown, sizeof(shown), "'%s'", src);
            json_array_append_new(missing, json_string(shown));
            continue;
        }
        json_object_set_new(name_map, src, json_string(dst));
        json_object_set(id_map, dst, json_object_get(target, "id"));
    }
    warn_missing(missing, "organization named", "");
    json_object_set_new(c->unmapped, "organizations", missing);
    return 0;
}

/* One catalogue role of the snapshot: its target twin, or created with
 * --create-missing-roles (said in --plan). *target NULL: neither. */
static int role_target(struct import_ctx *c, json_t *src, const char *name, const char *owner,
                       json_t **target, struct err *e)
{
    json_t *dst_roles = json_object_get(c->target_cat, "roles"), *role = NULL;
    const char *owner_id =
        owner ? json_string_value(json_object_get(json_object_get(c->org_map, "ids"), owner))
              : NULL;

    *target = find_role(dst_roles, name, owner);
    if (*target || !c->opts->create_missing_roles)
        return 0;
    if (c->opts->mode == MODE_PLAN) {
        log_info("would create %srole '%s'%s%s%s", owner ? "organization " : "", name,
                 owner ? " owned by '" : "", owner ? owner : "", owner ? "'" : "");
        *target =
            json_pack("{s:s,s:s,s:s?}", "id", "(to be created)", "name", name, "owner", owner);
        return *target && json_array_append_new(dst_roles, *target) == 0 ? 0 : err_oom(e);
    }
    if (create_role(c, name, json_string_value(json_object_get(src, "description")), owner_id,
                    &role, e) < 0)
        return -1;
    /* The target catalogue names owners as the snapshot's does. */
    if (owner && json_object_set_new(role, "owner", json_string(owner)) < 0) {
        json_decref(role);
        return err_oom(e);
    }
    json_array_append_new(dst_roles, role);
    *target = role;
    log_info("created %srole '%s'%s%s%s", owner ? "organization " : "", name,
             owner ? " owned by '" : "", owner ? owner : "", owner ? "'" : "");
    return 0;
}

/* Roles by key (IMPORT_ROLE_KEY): a tenant role by name, an organization
 * role by name within the mapped organization. name_map: source key ->
 * target key; id_map: target key -> target id. */
static int map_roles(struct import_ctx *c, json_t *src_list, struct err *e)
{
    const struct import_map_opt *m = &c->opts->map_role;
    json_t *name_map = json_object_get(c->role_map, "names");
    json_t *id_map = json_object_get(c->role_map, "ids");
    json_t *org_names = json_object_get(c->org_map, "names");
    json_t *item, *target, *missing = json_array();
    char src_key[1100], dst_key[1100], shown[1200];
    size_t i;

    if (!missing)
        return err_oom(e);
    for (i = 0; i < m->n; i++) {
        if (!json_array_find(src_list, "name", m->from[i]))
            log_warn("--map-role '%s=%s': the snapshot has no role named '%s'", m->from[i],
                     m->to[i], m->from[i]);
    }
    json_array_foreach(src_list, i, item)
    {
        const char *src = json_string_value(json_object_get(item, "name"));
        const char *owner = json_string_value(json_object_get(item, "owner"));
        const char *dst_owner = owner ? json_string_value(json_object_get(org_names, owner)) : NULL;
        const char *dst;

        if (!src || import_role_key(src_key, sizeof(src_key), owner, src) < 0)
            continue;
        dst = mapped_name(m, src);
        if (owner)
            snprintf(shown, sizeof(shown), "'%s' (owned by '%s')", src, owner);
        else
            snprintf(shown, sizeof(shown), "'%s'", src);
        if (owner && !dst_owner) { /* its organization is missing: so is the role */
            json_array_append_new(missing, json_string(shown));
            continue;
        }
        if (role_target(c, item, dst, dst_owner, &target, e) < 0) {
            json_decref(missing);
            return -1;
        }
        if (!target || import_role_key(dst_key, sizeof(dst_key), dst_owner, dst) < 0) {
            json_array_append_new(missing, json_string(shown));
            continue;
        }
        json_object_set_new(name_map, src_key, json_string(dst_key));
        json_object_set(id_map, dst_key, json_object_get(target, "id"));
    }
    warn_missing(missing, "role named", " (--create-missing-roles creates them)");
    json_object_set_new(c->unmapped, "roles", missing);
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
        target = json_array_find(json_object_get(target_cat, "connections"), "name", dst);
        if (!target) {
            /* Only a problem for database connections: others are skipped
             * (or converted) anyway. */
            if (strategy && (strcmp(strategy, "auth0") == 0 || strcmp(strategy, "email") == 0 ||
                             strcmp(strategy, "sms") == 0))
                json_array_append_new(unmapped_conns, json_string(src));
            continue;
        }
        json_object_set(c->conn_map, src, target);
    }
    if (o->convert_social_to) {
        json_t *t = json_array_find(json_object_get(target_cat, "connections"), "name",
                                    o->convert_social_to);
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

    /* APIs of direct permissions: by identifier, --map-api overriding. */
    c->api_map = json_object();
    if (!c->api_map)
        return err_oom(e);
    for (i = 0; i < o->map_api.n; i++)
        if (json_object_set_new(c->api_map, o->map_api.from[i], json_string(o->map_api.to[i])) < 0)
            return err_oom(e);
    /* Organizations first: an organization role maps within its owner. */
    if (map_orgs(c, json_object_get(source_cat, "organizations"),
                 json_object_get(target_cat, "organizations"), e) < 0 ||
        map_roles(c, json_object_get(source_cat, "roles"), e) < 0)
        return -1;
    return 0;
}
