/* import_links.c - see import_links.h. */
#include "import_links.h"

#include "userconv.h"

#include <stdio.h>
#include <string.h>

/* "provider|user_id" of an identity, into out; false when it has none. */
static bool identity_key(const json_t *id, char *out, size_t outsz)
{
    const char *provider = json_string_value(json_object_get(id, "provider"));
    json_t *uid = json_object_get(id, "user_id");
    int n;

    if (!provider)
        return false;
    if (json_is_string(uid))
        n = snprintf(out, outsz, "%s|%s", provider, json_string_value(uid));
    else if (json_is_integer(uid)) /* some providers' ids are numbers */
        n = snprintf(out, outsz, "%s|%" JSON_INTEGER_FORMAT, provider, json_integer_value(uid));
    else
        return false;
    return n > 0 && (size_t)n < outsz;
}

int import_each_secondary(const json_t *user, import_secondary_fn fn, void *ctx, struct err *e)
{
    json_t *ids = json_object_get(user, "identities"), *id;
    char key[1100];

    for (size_t i = 1; i < json_array_size(ids); i++) {
        id = json_array_get(ids, i);
        if (identity_key(id, key, sizeof(key)) && fn(ctx, key, id, e) < 0)
            return -1;
    }
    return 0;
}

static int keep_secondary(void *ctx, const char *key, json_t *id, struct err *e)
{
    return json_object_set(ctx, key, id) < 0 ? err_oom(e) : 0;
}

/* {"provider|user_id": identity} of a user's secondaries; NULL when out
 * of memory. */
static json_t *secondaries(const json_t *user)
{
    json_t *out = json_object();
    struct err e;

    if (out && import_each_secondary(user, keep_secondary, out, &e) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

void import_links_release(struct import_links *p)
{
    json_decref(p->link);
    json_decref(p->unlink);
    json_decref(p->not_copyable);
    memset(p, 0, sizeof(*p));
}

int import_links_compare(const json_t *want, const json_t *have, struct import_links *p,
                         struct err *e)
{
    json_t *w = secondaries(want), *h = have ? secondaries(have) : json_object(), *id;
    const char *key;
    int rc = -1;

    memset(p, 0, sizeof(*p));
    p->link = json_array();
    p->unlink = json_array();
    p->not_copyable = json_array();
    if (!w || !h || !p->link || !p->unlink || !p->not_copyable) {
        err_oom(e);
        goto out;
    }
    json_object_foreach(w, key, id)
    {
        const char *provider = json_string_value(json_object_get(id, "provider"));
        enum userconv_kind kind = userconv_strategy_kind(provider);
        if (json_object_get(h, key))
            continue; /* linked already */
        if (kind == USERCONV_DATABASE || kind == USERCONV_PASSWORDLESS) {
            if (json_array_append(p->link, id) < 0)
                goto oom;
        } else if (json_array_append_new(p->not_copyable,
                                         json_pack("{s:s,s:O?,s:s}", "provider", provider,
                                                   "connection", json_object_get(id, "connection"),
                                                   "kind", userconv_kind_name(kind))) < 0) {
            goto oom;
        }
    }
    json_object_foreach(h, key, id)
    {
        if (json_object_get(w, key))
            continue;
        if (json_array_append_new(p->unlink, json_pack("{s:O,s:O,s:O?}", "provider",
                                                       json_object_get(id, "provider"), "user_id",
                                                       json_object_get(id, "user_id"), "connection",
                                                       json_object_get(id, "connection"))) < 0)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    err_oom(e);
out:
    json_decref(w);
    json_decref(h);
    if (rc < 0)
        import_links_release(p);
    return rc;
}

/* ---- permissions ---------------------------------------------------------- */

static const char *perm_api(const json_t *p)
{
    return json_string_value(json_object_get(p, "resource_server_identifier"));
}

static const char *perm_name(const json_t *p)
{
    return json_string_value(json_object_get(p, "permission_name"));
}

static bool perm_in(const json_t *list, const char *api, const char *name)
{
    const json_t *p;
    size_t i;

    json_array_foreach(list, i, p)
    {
        if (perm_api(p) && perm_name(p) && strcmp(perm_api(p), api) == 0 &&
            strcmp(perm_name(p), name) == 0)
            return true;
    }
    return false;
}

static bool scope_in(const json_t *scopes, const char *name)
{
    const json_t *s;
    size_t i;

    json_array_foreach(scopes, i, s)
    {
        if (json_is_string(s) && strcmp(json_string_value(s), name) == 0)
            return true;
    }
    return false;
}

void import_perms_release(struct import_perms *p)
{
    json_decref(p->add);
    json_decref(p->remove);
    json_decref(p->missing);
    memset(p, 0, sizeof(*p));
}

int import_perms_compare(const json_t *want, const json_t *have, const json_t *apis,
                         const json_t *api_map, struct import_perms *p, struct err *e)
{
    json_t *mapped = json_array(), *perm;
    size_t i;
    int rc = -1;

    memset(p, 0, sizeof(*p));
    p->add = json_array();
    p->remove = json_array();
    p->missing = json_array();
    if (!mapped || !p->add || !p->remove || !p->missing)
        goto oom;
    json_array_foreach(want, i, perm)
    {
        const char *api = perm_api(perm), *name = perm_name(perm), *to;
        if (!api || !name)
            continue;
        to = json_string_value(json_object_get(api_map, api));
        if (to)
            api = to;
        if (!scope_in(json_object_get(apis, api), name)) {
            if (json_array_append_new(p->missing,
                                      json_pack("{s:s,s:s}", "resource_server_identifier", api,
                                                "permission_name", name)) < 0)
                goto oom;
            continue;
        }
        if (json_array_append_new(mapped, json_pack("{s:s,s:s}", "resource_server_identifier", api,
                                                    "permission_name", name)) < 0)
            goto oom;
    }
    json_array_foreach(mapped, i, perm)
    {
        if (!perm_in(have, perm_api(perm), perm_name(perm)) && json_array_append(p->add, perm) < 0)
            goto oom;
    }
    json_array_foreach(have, i, perm)
    {
        if (perm_api(perm) && perm_name(perm) && !perm_in(mapped, perm_api(perm), perm_name(perm)))
            if (json_array_append_new(
                    p->remove, json_pack("{s:s,s:s}", "resource_server_identifier", perm_api(perm),
                                         "permission_name", perm_name(perm))) < 0)
                goto oom;
    }
    rc = 0;
    goto out;
oom:
    err_oom(e);
out:
    json_decref(mapped);
    if (rc < 0)
        import_perms_release(p);
    return rc;
}
