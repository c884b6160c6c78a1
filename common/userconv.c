/*
 * userconv.c - see userconv.h.
 *
 * The import record is built by copying an allow-list of fields, never by
 * deleting a deny-list: the import schema rejects every unknown key, so a
 * field Auth0 adds to its user objects tomorrow must not leak into a
 * record. Metadata is deep-copied (json_deep_copy) so the caller's user is
 * never changed and the record can outlive it.
 *
 * Skips carry a reason made of field names only, never values: the
 * snapshot may hold personal data and the reason ends up in reports.
 */
#include "userconv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

/* clang-format off */
static const char *const reserved_app_keys[] = {
    "__tenant", "_id", "blocked", "clientID",
    "created_at", "email_verified", "email", "globalClientID",
    "global_client_id", "identities", "lastIP", "lastLogin",
    "loginsCount", "metadata", "multifactor_last_modified", "multifactor",
    "updated_at", "user_id",
};
/* clang-format on */

/* String fields copied as they are, in record order. */
static const char *const string_fields[] = {"username", "given_name", "family_name",
                                            "name",     "nickname",   "picture"};

/* Auth0's connection strategies (ConnectionStrategyEnum of the Management
 * API's OpenAPI document, plus the *-samlp names of self-service profiles)
 * sorted into social and enterprise; "auth0" is the database, "email" and
 * "sms" passwordless. */
/* clang-format off */
static const char *const social_strategies[] = {
    "amazon", "apple", "baidu", "bitbucket", "bitly", "box",
    "daccount", "dropbox", "dwolla", "evernote", "evernote-sandbox", "exact",
    "facebook", "fitbit", "github", "google-oauth2", "instagram", "line",
    "linkedin", "oauth1", "oauth2", "paypal", "paypal-sandbox", "planningcenter",
    "salesforce", "salesforce-community", "salesforce-sandbox", "shop", "shopify", "soundcloud",
    "thirtysevensignals", "twitter", "untappd", "vkontakte", "weibo", "windowslive",
    "wordpress", "yahoo", "yandex",
};
/* clang-format on */

/* clang-format off */
static const char *const enterprise_strategies[] = {
    "ad", "adfs", "auth0-adldap", "auth0-oidc", "auth0-samlp", "custom",
    "google-apps", "ip", "keycloak-samlp", "office365", "oidc", "okta",
    "okta-samlp", "pingfederate", "samlp", "sharepoint", "waad",
};
/* clang-format on */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *s, const char *const *list, size_t n)
{
    size_t i;

    if (!s)
        return false;
    for (i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

void userconv_opts_init(struct userconv_opts *o)
{
    o->convert_ids = false;
    o->password_hash = NULL;
}

bool userconv_reserved_app_metadata_key(const char *key)
{
    return in_list(key, reserved_app_keys, COUNT(reserved_app_keys));
}

/* JSON null counts as absent; so does "" for the optional string fields
 * (the import schema and PATCH both want at least one character). */
static const json_t *field(const json_t *user, const char *key)
{
    const json_t *v = json_object_get(user, key);

    if (!v || json_is_null(v))
        return NULL;
    return v;
}

/* 1 true, 0 false, -1 neither a bool nor "true"/"false". Absent is false. */
static int bool_value(const json_t *v, bool *coerced)
{
    const char *s;

    if (coerced)
        *coerced = false;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v))
        return json_is_true(v);
    s = json_string_value(v);
    if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
        if (coerced)
            *coerced = true;
        return s[0] == 't';
    }
    return -1;
}

static void skip(struct userconv_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void skip(struct userconv_info *info, const char *fmt, ...)
{
    va_list ap;

    info->skipped = true;
    va_start(ap, fmt);
    vsnprintf(info->reason, sizeof(info->reason), fmt, ap);
    va_end(ap);
}

static int set_copy(json_t *rec, const char *key, const json_t *v)
{
    return json_object_set_new(rec, key, json_deep_copy(v));
}

static int set_bool(json_t *rec, const char *key, int v)
{
    return json_object_set_new(rec, key, json_boolean(v));
}

/* The user_id the record carries, appended to id; 0 also when the user has
 * none (Auth0 then makes one). */
static int record_id(const json_t *user, const struct userconv_opts *o, struct buf *id,
                     struct userconv_info *info, struct err *e)
{
    const json_t *v = field(user, "user_id");
    const char *uid;
    size_t plen = strlen(USERCONV_DB_PREFIX);

    if (!v)
        return 0;
    uid = json_string_value(v);
    if (!uid) {
        skip(info, "%s is not a string", "user_id");
        return 0;
    }
    if (strncmp(uid, USERCONV_DB_PREFIX, plen) == 0) {
        if (!uid[plen]) {
            skip(info, "%s is empty after its provider prefix", "user_id");
            return 0;
        }
        return buf_appends(id, uid + plen, e);
    }
    if (!o->convert_ids)
        return err_set(e, ERR_USAGE,
                       "user '%s' is not a database user (convert it or leave it out)", uid);
    if (userconv_social_id(uid, id, e) < 0)
        return -1;
    info->id_converted = true;
    return 0;
}

/* Copies the app_metadata object without its reserved keys. */
static json_t *filtered_app_metadata(const json_t *am, bool *removed)
{
    json_t *copy = json_object();
    const char *k;
    json_t *v;

    *removed = false;
    if (!copy)
        return NULL;
    json_object_foreach((json_t *)am, k, v)
    {
        if (userconv_reserved_app_metadata_key(k)) {
            *removed = true;
            continue;
        }
        if (set_copy(copy, k, v) < 0) {
            json_decref(copy);
            return NULL;
        }
    }
    return copy;
}

/* Checks types; on a problem marks info skipped and returns false. */
static bool check_types(const json_t *user, struct userconv_info *info)
{
    static const char *const bools[] = {"email_verified", "blocked", "phone_verified"};
    static const char *const objs[] = {"app_metadata", "user_metadata"};
    const json_t *v;
    const char *email;
    size_t i;

    v = field(user, "email");
    email = json_string_value(v);
    if (!v || (email && !email[0])) {
        skip(info, "no email");
        return false;
    }
    if (!email) {
        skip(info, "%s is not a string", "email");
        return false;
    }
    if (!strchr(email, '@')) {
        skip(info, "%s is not an address", "email");
        return false;
    }
    for (i = 0; i < COUNT(string_fields); i++) {
        v = field(user, string_fields[i]);
        if (v && !json_is_string(v)) {
            skip(info, "%s is not a string", string_fields[i]);
            return false;
        }
    }
    v = field(user, "phone_number");
    if (v && !json_is_string(v)) {
        skip(info, "%s is not a string", "phone_number");
        return false;
    }
    for (i = 0; i < COUNT(bools); i++) {
        if (bool_value(field(user, bools[i]), NULL) < 0) {
            skip(info, "%s is not a boolean", bools[i]);
            return false;
        }
    }
    for (i = 0; i < COUNT(objs); i++) {
        v = field(user, objs[i]);
        if (v && !json_is_object(v)) {
            skip(info, "%s is not an object", objs[i]);
            return false;
        }
    }
    return true;
}

static bool nonempty_string(const json_t *v)
{
    const char *s = json_string_value(v);

    return s && s[0];
}

int userconv_to_import(const json_t *user, const struct userconv_opts *o, json_t **out,
                       struct userconv_info *info, struct err *e)
{
    struct userconv_opts defaults;
    struct buf id;
    json_t *rec = NULL, *am = NULL;
    const json_t *v;
    bool coerced = false, removed = false;
    size_t i;
    int rc = -1;

    *out = NULL;
    memset(info, 0, sizeof(*info));
    buf_init(&id, 1024);
    if (!o) {
        userconv_opts_init(&defaults);
        o = &defaults;
    }
    if (!json_is_object(user))
        return err_set(e, ERR_USAGE, "a snapshot user is not a JSON object");
    if (o->password_hash && !userconv_valid_password_hash(o->password_hash))
        return err_set(e, ERR_USAGE, "the password hash is not a bcrypt hash of 10 rounds");
    if (!check_types(user, info))
        return 0;
    if (record_id(user, o, &id, info, e) < 0)
        goto out;
    if (info->skipped) {
        rc = 0;
        goto out;
    }

    rec = json_object();
    if (!rec)
        goto oom;
    if (set_copy(rec, "email", field(user, "email")) < 0 ||
        set_bool(rec, "email_verified", bool_value(field(user, "email_verified"), &coerced)) < 0)
        goto oom;
    info->email_verified_coerced = coerced;
    if (id.len && json_object_set_new(rec, "user_id", json_stringn(id.data, id.len)) < 0)
        goto oom;
    for (i = 0; i < COUNT(string_fields); i++) {
        v = field(user, string_fields[i]);
        if (nonempty_string(v) && set_copy(rec, string_fields[i], v) < 0)
            goto oom;
    }
    v = field(user, "blocked");
    if (v && set_bool(rec, "blocked", bool_value(v, NULL)) < 0)
        goto oom;
    v = field(user, "phone_number");
    if (nonempty_string(v) && set_copy(rec, "phone_number", v) < 0)
        goto oom;
    v = field(user, "phone_verified");
    if (v && set_bool(rec, "phone_verified", bool_value(v, NULL)) < 0)
        goto oom;
    v = field(user, "app_metadata");
    if (v) {
        am = filtered_app_metadata(v, &removed);
        if (!am || json_object_set(rec, "app_metadata", am) < 0)
            goto oom;
        info->reserved_app_metadata = removed;
    }
    v = field(user, "user_metadata");
    if (v && set_copy(rec, "user_metadata", v) < 0)
        goto oom;
    if (o->password_hash &&
        json_object_set_new(rec, "password_hash", json_string(o->password_hash)) < 0)
        goto oom;

    info->bytes = json_dumpb(rec, NULL, 0, USERCONV_JSON_FLAGS);
    if (info->bytes == 0)
        goto oom;
    *out = rec;
    rec = NULL;
    rc = 0;
    goto out;
oom:
    err_oom(e);
out:
    json_decref(am);
    json_decref(rec);
    buf_release(&id);
    return rc;
}

int userconv_reserved_app_metadata(const json_t *user, json_t **out, struct err *e)
{
    json_t *am = json_object_get(user, "app_metadata"), *v;
    const char *k;

    *out = NULL;
    if (!json_is_object(am))
        return 0;
    json_object_foreach(am, k, v)
    {
        if (!userconv_reserved_app_metadata_key(k))
            continue;
        if (!*out)
            *out = json_object();
        if (!*out || set_copy(*out, k, v) < 0) {
            json_decref(*out);
            *out = NULL;
            return err_oom(e);
        }
    }
    return 0;
}

static bool id_char_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

int userconv_social_id(const char *user_id, struct buf *out, struct err *e)
{
    char mapped[USERCONV_SOCIAL_ID_MAX + 1], hex[SHA256_HEX_LEN + 1];
    size_t i, n, keep = USERCONV_SOCIAL_ID_MAX - 17;

    if (!user_id || !user_id[0])
        return err_set(e, ERR_USAGE, "empty user_id");
    n = strlen(user_id);
    /* Only the first USERCONV_SOCIAL_ID_MAX characters can be kept. */
    for (i = 0; i < n && i < USERCONV_SOCIAL_ID_MAX; i++) {
        unsigned char c = (unsigned char)user_id[i];
        mapped[i] = c == '|' ? '-' : id_char_ok(c) ? (char)c : '_';
    }
    if (n <= USERCONV_SOCIAL_ID_MAX)
        return buf_append(out, mapped, n, e);
    if (sha256_hex(user_id, n, hex, e) < 0)
        return -1;
    mapped[keep] = '-';
    memcpy(mapped + keep + 1, hex, 16);
    return buf_append(out, mapped, USERCONV_SOCIAL_ID_MAX, e);
}

bool userconv_strategy_is_database(const char *strategy)
{
    return strategy && strcmp(strategy, "auth0") == 0;
}

enum userconv_kind userconv_strategy_kind(const char *strategy)
{
    if (!strategy)
        return USERCONV_UNKNOWN;
    if (userconv_strategy_is_database(strategy))
        return USERCONV_DATABASE;
    if (strcmp(strategy, "email") == 0 || strcmp(strategy, "sms") == 0)
        return USERCONV_PASSWORDLESS;
    if (in_list(strategy, social_strategies, COUNT(social_strategies)))
        return USERCONV_SOCIAL;
    if (in_list(strategy, enterprise_strategies, COUNT(enterprise_strategies)))
        return USERCONV_ENTERPRISE;
    return USERCONV_UNKNOWN;
}

enum userconv_kind userconv_user_kind(const json_t *user)
{
    json_t *id0 = json_array_get(json_object_get(user, "identities"), 0);
    const char *provider = json_string_value(json_object_get(id0, "provider"));
    json_t *social = json_object_get(id0, "isSocial");
    const char *uid, *bar;
    char prefix[64];
    enum userconv_kind k;

    if (provider) {
        k = userconv_strategy_kind(provider);
        if (k != USERCONV_UNKNOWN || !json_is_boolean(social))
            return k;
        return json_is_true(social) ? USERCONV_SOCIAL : USERCONV_ENTERPRISE;
    }
    uid = json_string_value(json_object_get(user, "user_id"));
    bar = uid ? strchr(uid, '|') : NULL;
    if (!bar || (size_t)(bar - uid) >= sizeof(prefix))
        return USERCONV_UNKNOWN;
    memcpy(prefix, uid, (size_t)(bar - uid));
    prefix[bar - uid] = '\0';
    return userconv_strategy_kind(prefix);
}

const char *userconv_user_connection(const json_t *user)
{
    json_t *id0 = json_array_get(json_object_get(user, "identities"), 0);

    return json_string_value(json_object_get(id0, "connection"));
}

const char *userconv_kind_name(enum userconv_kind k)
{
    switch (k) {
    case USERCONV_DATABASE:
        return "database";
    case USERCONV_PASSWORDLESS:
        return "passwordless";
    case USERCONV_SOCIAL:
        return "social";
    case USERCONV_ENTERPRISE:
        return "enterprise";
    case USERCONV_UNKNOWN:
        break;
    }
    return "unknown";
}

bool userconv_valid_password_hash(const char *h)
{
    size_t i;

    if (!h || strlen(h) != 60)
        return false;
    if (strncmp(h, "$2a$10$", 7) != 0 && strncmp(h, "$2b$10$", 7) != 0)
        return false;
    for (i = 7; i < 60; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '/'))
            return false;
    }
    return true;
}

/* ---- the target view ---------------------------------------------------- */

static const char *item_name(const json_t *item)
{
    if (json_is_string(item))
        return json_string_value(item);
    return json_string_value(json_object_get(item, "name"));
}

static int by_string(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;

    return strcmp(*x, *y);
}

json_t *userconv_role_names(const json_t *arr)
{
    const char **names = NULL;
    json_t *res = json_array();
    size_t i, n = 0, size = json_array_size(arr);

    if (!res)
        return NULL;
    if (size) {
        names = malloc(size * sizeof(*names));
        if (!names)
            goto fail;
    }
    for (i = 0; i < size; i++) {
        const char *s = item_name(json_array_get(arr, i));
        if (s)
            names[n++] = s;
    }
    if (n)
        qsort(names, n, sizeof(*names), by_string);
    for (i = 0; i < n; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0)
            continue;
        if (json_array_append_new(res, json_string(names[i])) < 0)
            goto fail;
    }
    free(names);
    return res;
fail:
    free(names);
    json_decref(res);
    return NULL;
}

static int by_org_name(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;

    return strcmp(json_string_value(json_object_get(*x, "name")),
                  json_string_value(json_object_get(*y, "name")));
}

/* Sorted by name; an organization listed twice has its roles joined. */
json_t *userconv_org_names(const json_t *arr)
{
    json_t *byname = json_object(), *res = NULL, *o, *roles, *r;
    const char *name;
    size_t i;

    if (!byname)
        return NULL;
    json_array_foreach((json_t *)arr, i, o)
    {
        name = item_name(o);
        if (!name)
            continue;
        roles = json_object_get(byname, name);
        if (!roles) {
            roles = json_array();
            if (!roles || json_object_set_new(byname, name, roles) < 0)
                goto fail;
        }
        r = json_object_get(o, "roles");
        if (json_is_array(r) && json_array_extend(roles, r) < 0)
            goto fail;
    }
    res = json_array();
    if (!res)
        goto fail;
    json_object_foreach(byname, name, roles)
    {
        json_t *item = json_object();
        if (!item || json_array_append_new(res, item) < 0 ||
            json_object_set_new(item, "name", json_string(name)) < 0 ||
            json_object_set_new(item, "roles", userconv_role_names(roles)) < 0)
            goto fail;
    }
    if (json_array_size(res) > 1) {
        /* jansson arrays have no sort: sort the item pointers and rebuild. */
        size_t n = json_array_size(res);
        json_t **items = malloc(n * sizeof(*items)), *sorted = json_array();
        if (!items || !sorted) {
            free(items);
            json_decref(sorted);
            goto fail;
        }
        for (i = 0; i < n; i++)
            items[i] = json_array_get(res, i);
        qsort(items, n, sizeof(*items), by_org_name);
        for (i = 0; i < n; i++) {
            if (json_array_append(sorted, items[i]) < 0) {
                free(items);
                json_decref(sorted);
                goto fail;
            }
        }
        free(items);
        json_decref(res);
        res = sorted;
    }
    json_decref(byname);
    return res;
fail:
    json_decref(res);
    json_decref(byname);
    return NULL;
}

json_t *userconv_expected(const json_t *snapshot_user, const char *target_user_id)
{
    static const char *const strings[] = {"email",       "username", "phone_number", "given_name",
                                          "family_name", "name",     "nickname",     "picture"};
    static const char *const objs[] = {"user_metadata", "app_metadata"};
    json_t *x;
    const json_t *v;
    size_t i;

    if (!json_is_object(snapshot_user))
        return NULL;
    x = json_object();
    if (!x)
        return NULL;
    if (target_user_id) {
        if (json_object_set_new(x, "user_id", json_string(target_user_id)) < 0)
            goto fail;
    } else if ((v = field(snapshot_user, "user_id")) && set_copy(x, "user_id", v) < 0) {
        goto fail;
    }
    for (i = 0; i < COUNT(strings); i++) {
        v = field(snapshot_user, strings[i]);
        if (nonempty_string(v) && set_copy(x, strings[i], v) < 0)
            goto fail;
    }
    if (set_bool(x, "email_verified",
                 bool_value(field(snapshot_user, "email_verified"), NULL) > 0) < 0 ||
        set_bool(x, "blocked", bool_value(field(snapshot_user, "blocked"), NULL) > 0) < 0)
        goto fail;
    v = field(snapshot_user, "phone_verified");
    if (v && set_bool(x, "phone_verified", bool_value(v, NULL) > 0) < 0)
        goto fail;
    for (i = 0; i < COUNT(objs); i++) {
        v = field(snapshot_user, objs[i]);
        if (json_object_set_new(x, objs[i], json_is_object(v) ? json_deep_copy(v) : json_object()) <
            0)
            goto fail;
    }
    if (json_object_set_new(x, "roles",
                            userconv_role_names(json_object_get(snapshot_user, "roles"))) < 0 ||
        json_object_set_new(x, "organizations",
                            userconv_org_names(json_object_get(snapshot_user, "organizations"))) <
            0)
        goto fail;
    return x;
fail:
    json_decref(x);
    return NULL;
}

int userconv_to_create(const json_t *user, const char *connection, json_t **out, struct err *e)
{
    static const char *const strings[] = {"email", "phone_number", "given_name", "family_name",
                                          "name",  "nickname",     "picture",    NULL};
    static const char *const flags[] = {"email_verified", "phone_verified", "blocked", NULL};
    static const char *const objects[] = {"user_metadata", "app_metadata", NULL};
    const char *uid = json_string_value(json_object_get(user, "user_id"));
    const char *bar = uid ? strchr(uid, '|') : NULL;
    json_t *b, *v;

    *out = NULL;
    if (!bar || !bar[1])
        return err_set(e, ERR_SNAPSHOT, "user '%s' has no id of the form provider|id",
                       uid ? uid : "(none)");
    b = json_pack("{s:s,s:s}", "connection", connection, "user_id", bar + 1);
    if (!b)
        return err_oom(e);
    for (const char *const *k = strings; *k; k++) {
        v = json_object_get(user, *k);
        if (json_is_string(v) && json_string_length(v) > 0 && json_object_set(b, *k, v) < 0)
            goto oom;
    }
    for (const char *const *k = flags; *k; k++) {
        v = json_object_get(user, *k);
        if (json_is_boolean(v) && json_object_set(b, *k, v) < 0)
            goto oom;
    }
    for (const char *const *k = objects; *k; k++) {
        v = json_object_get(user, *k);
        if (json_is_object(v) && json_object_size(v) && json_object_set(b, *k, v) < 0)
            goto oom;
    }
    if (json_object_get(b, "email") && json_object_set_new(b, "verify_email", json_false()) < 0)
        goto oom;
    *out = b;
    return 0;
oom:
    json_decref(b);
    return err_oom(e);
}
