/*
 * import_want.c - a snapshot user as the plan wants it in the target: its
 * roles and organizations named as the target names them (import.h,
 * import_want_rename), the rest as the snapshot has it.
 *
 * Two ways to the same bytes. import_want_rename() edits the user's json_t
 * (the plan's path when the import policy rewrites the user anyway);
 * import_want_text() writes the record's canonical text straight from the
 * line's canonical parse: every member copied as canonjson_write gives it,
 * "roles" and "organizations" rebuilt (small arrays, built as json_t and
 * dumped) where they stand in key order. What the text path cannot read
 * exactly as the json_t path does (a role's name or type, an
 * organization's name, given with escapes) it declines.
 * tests/unit/test_import_want.c compares both.
 */
#include "import.h"

#include "canonjson.h"

#include <string.h>

#define KEY_MAX 1100 /* a role's key: owner, name and two separators */

const char *import_role_entry_key(char *out, size_t outsz, const json_t *role, const char *org)
{
    const char *name = json_string_value(json_object_get(role, "name"));
    const char *type = json_string_value(json_object_get(role, "type"));
    bool org_role = type && strcmp(type, "organization") == 0;

    if (!name || import_role_key(out, outsz, org_role ? org : NULL, name) < 0)
        return NULL;
    return out;
}

/* [{"name": <target name>}] of the roles array roles; org names the
 * membership for organization roles (NULL for tenant roles). */
static json_t *renamed_roles(const json_t *roles, const json_t *names, const char *org)
{
    json_t *out = json_array(), *item;
    char key[KEY_MAX];
    size_t i;

    json_array_foreach(roles, i, item)
    {
        const char *k = import_role_entry_key(key, sizeof(key), item, org);
        json_t *to = k ? json_object_get(names, k) : NULL;
        if (to)
            json_array_append_new(out, json_pack("{s:O}", "name", to));
    }
    return out;
}

void import_want_rename(json_t *user, const json_t *role_names, const json_t *org_names)
{
    json_t *roles = json_object_get(user, "roles"), *orgs = json_object_get(user, "organizations");
    json_t *out, *item;
    size_t i;

    if (json_is_array(roles))
        json_object_set_new(user, "roles", renamed_roles(roles, role_names, NULL));
    if (json_is_array(orgs)) {
        out = json_array();
        json_array_foreach(orgs, i, item)
        {
            const char *on = json_string_value(json_object_get(item, "name"));
            json_t *to = json_object_get(org_names, on ? on : "");
            if (to)
                json_array_append_new(
                    out, json_pack("{s:O,s:o}", "name", to, "roles",
                                   renamed_roles(json_object_get(item, "roles"), role_names, on)));
        }
        json_object_set_new(user, "organizations", out);
    }
}

/* ---- the text path ------------------------------------------------------- */

/* A string member of object node as json_string_value() gives it: *s NULL
 * when absent or not a string, a copy in buf (NUL-terminated) otherwise.
 * false when that cannot be told from the text (escapes, too long). */
static bool member_string(const struct canonjson *cj, size_t node, const char *key, char *buf,
                          size_t bufsz, const char **s)
{
    size_t x = canonjson_get(cj, node, key, strlen(key)), n;
    const char *v;

    *s = NULL;
    if (x == CANONJSON_NONE || canonjson_type(cj, x) != CANONJSON_STRING)
        return true;
    if (!canonjson_string(cj, x, &v, &n) || n >= bufsz)
        return false;
    memcpy(buf, v, n);
    buf[n] = '\0';
    *s = buf;
    return true;
}

/* Whether role node x is an organization role ("type": "organization");
 * false when its type is a string with escapes (not told from the text). */
static bool org_type(const struct canonjson *cj, size_t x, bool *org)
{
    size_t t = canonjson_get(cj, x, "type", 4), n;
    const char *v;

    *org = false;
    if (t == CANONJSON_NONE || canonjson_type(cj, t) != CANONJSON_STRING)
        return true;
    if (!canonjson_string(cj, t, &v, &n))
        return false;
    *org = n == 12 && memcmp(v, "organization", 12) == 0;
    return true;
}

/* renamed_roles() of the array node roles (CANONJSON_NONE: none) into
 * out; false when a name or type cannot be read from the text. */
static bool roles_of(const struct canonjson *cj, size_t roles, const json_t *names, const char *org,
                     json_t *out)
{
    char name[KEY_MAX], key[KEY_MAX];
    const char *n;
    bool is_org;
    json_t *to;
    size_t x;

    if (roles == CANONJSON_NONE || canonjson_type(cj, roles) != CANONJSON_ARRAY)
        return true;
    for (x = canonjson_first(cj, roles); x != CANONJSON_NONE; x = canonjson_next(cj, x)) {
        if (!member_string(cj, x, "name", name, sizeof(name), &n) || !org_type(cj, x, &is_org))
            return false;
        if (!n || import_role_key(key, sizeof(key), is_org ? org : NULL, n) < 0)
            continue;
        to = json_object_get(names, key);
        if (to)
            json_array_append_new(out, json_pack("{s:O}", "name", to));
    }
    return true;
}

/* import_want_rename()'s "organizations" of the array node orgs, into
 * out; false when not handled. */
static bool orgs_of(const struct canonjson *cj, size_t orgs, const json_t *role_names,
                    const json_t *org_names, json_t *out)
{
    char name[KEY_MAX];
    const char *on;
    json_t *to, *mr;
    size_t x;

    for (x = canonjson_first(cj, orgs); x != CANONJSON_NONE; x = canonjson_next(cj, x)) {
        if (!member_string(cj, x, "name", name, sizeof(name), &on))
            return false;
        to = json_object_get(org_names, on ? on : "");
        if (!to)
            continue;
        mr = json_array();
        if (!roles_of(cj, canonjson_get(cj, x, "roles", 5), role_names, on, mr)) {
            json_decref(mr);
            return false;
        }
        json_array_append_new(out, json_pack("{s:O,s:o}", "name", to, "roles", mr));
    }
    return true;
}

/* The renamed array of member x ("roles" or "organizations") appended to
 * out. 1, 0 not handled, -1 failed. */
static int put_renamed(const struct canonjson *cj, size_t x, bool orgs, const json_t *role_names,
                       const json_t *org_names, struct buf *out, struct err *e)
{
    json_t *arr = json_array();
    bool ok;
    int r;

    if (!arr)
        return err_oom(e);
    ok = orgs ? orgs_of(cj, x, role_names, org_names, arr) : roles_of(cj, x, role_names, NULL, arr);
    r = ok ? canonjson_dump(arr, out, e) : 0;
    json_decref(arr);
    return r;
}

int import_want_text(const struct canonjson *cj, const json_t *role_names, const json_t *org_names,
                     struct buf *out, struct err *e)
{
    size_t start = out->len, x, klen, n;
    const char *key;
    int r = 1;

    if (buf_append(out, "{", 1, e) < 0)
        return -1;
    for (x = canonjson_first(cj, CANONJSON_ROOT); x != CANONJSON_NONE && r == 1;
         x = canonjson_next(cj, x)) {
        bool roles, orgs;
        key = canonjson_key(cj, x, &klen);
        roles = klen == 5 && memcmp(key, "roles", 5) == 0;
        orgs = klen == 13 && memcmp(key, "organizations", 13) == 0;
        if ((out->len > start + 1 && buf_append(out, ",", 1, e) < 0) ||
            buf_append(out, "\"", 1, e) < 0 || buf_append(out, key, klen, e) < 0 ||
            buf_append(out, "\":", 2, e) < 0) {
            r = -1;
            break;
        }
        if ((roles || orgs) && canonjson_type(cj, x) == CANONJSON_ARRAY) {
            r = put_renamed(cj, x, orgs, role_names, org_names, out, e);
            continue;
        }
        if (buf_reserve(out, canonjson_bound(cj), e) < 0) {
            r = -1;
            break;
        }
        n = canonjson_write(cj, x, out->data + out->len);
        out->len += n;
        out->data[out->len] = '\0';
    }
    if (r == 1 && buf_append(out, "}", 1, e) < 0)
        r = -1;
    if (r != 1) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return r;
}
