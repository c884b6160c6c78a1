/*
 * userdiff.c - see userdiff.h.
 *
 * One table describes the profile fields: their bit, key and how they
 * compare. Comparison and planning both walk it, so a field cannot be
 * compared one way and written another.
 *
 * Why the plan looks the way it does (API-NOTES §4, §5):
 *  - upsert=true matches an existing user on email and then writes only
 *    the upsertable fields, metadata replaced whole; it never unsets a
 *    field the record leaves out. So a field to unset, or metadata to
 *    empty, goes by PATCH (null unsets; metadata merges at the first level,
 *    so replacing it whole means want's keys plus null for have's others).
 *  - a user whose email changed would not match: it gets no job, only
 *    PATCHes, and username cannot share a PATCH with email/email_verified.
 *  - the import record leaves reserved app_metadata keys out, and an
 *    upsert replaces app_metadata whole, so those keys come back by PATCH.
 *
 * Grants compare by name: sorted name lists, then one merge walk.
 */
#include "userdiff.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "userconv.h"

enum kind {
    K_EMAIL,     /* string, compared case-insensitively */
    K_STRING,    /* string; absent in want unsets it */
    K_DEFAULTED, /* string Auth0 fills when unset: not compared when absent in want */
    K_BOOL,      /* absent = false */
    K_META,      /* object, absent = {} */
};

struct field_desc {
    unsigned bit;
    const char *key;
    enum kind kind;
};

#define USERDIFF_ROW(name, key, kind) {UD_##name, key, kind},
static const struct field_desc field_table[] = {USERDIFF_FIELDS(USERDIFF_ROW)};

#define NFIELDS (sizeof(field_table) / sizeof(field_table[0]))

static const char *user_id_of(const json_t *u)
{
    const char *id = json_string_value(json_object_get(u, "user_id"));

    return id ? id : "(no user_id)";
}

/* The value of a string-like field; NULL for absent, null and "". */
static json_t *str_value(const json_t *u, const char *key)
{
    json_t *v = json_object_get(u, key);
    const char *s;

    if (!v || json_is_null(v))
        return NULL;
    s = json_string_value(v);
    if (s && !s[0])
        return NULL;
    return v;
}

static int bool_value(const json_t *u, const char *key, bool *out, struct err *e)
{
    json_t *v = json_object_get(u, key);
    const char *s = json_string_value(v);

    if (!v || json_is_null(v)) {
        *out = false;
        return 0;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
        *out = s[0] == 't';
        return 0;
    }
    return err_set(e, ERR_SNAPSHOT, "user '%s': '%s' is not a boolean", user_id_of(u), key);
}

/* The metadata object (borrowed), or NULL meaning {}. */
static int meta_value(const json_t *u, const char *key, json_t **out, struct err *e)
{
    json_t *v = json_object_get(u, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return err_set(e, ERR_SNAPSHOT, "user '%s': '%s' is not an object", user_id_of(u), key);
    if (json_object_size(v))
        *out = v;
    return 0;
}

static bool str_equal(const json_t *a, const json_t *b, bool nocase)
{
    const char *x = json_string_value(a), *y = json_string_value(b);

    if (!a || !b)
        return !a && !b;
    if (x && y)
        return nocase ? strcasecmp(x, y) == 0 : strcmp(x, y) == 0;
    return json_equal((json_t *)a, (json_t *)b);
}

/* Sets *differs for one field. */
static int compare_field(const struct field_desc *f, const json_t *want, const json_t *have,
                         bool *differs, struct err *e)
{
    json_t *a, *b;
    bool x, y;

    switch (f->kind) {
    case K_EMAIL:
    case K_STRING:
    case K_DEFAULTED:
        a = str_value(want, f->key);
        b = str_value(have, f->key);
        *differs = (f->kind != K_DEFAULTED || a) && !str_equal(a, b, f->kind == K_EMAIL);
        return 0;
    case K_BOOL:
        if (bool_value(want, f->key, &x, e) < 0 || bool_value(have, f->key, &y, e) < 0)
            return -1;
        *differs = x != y;
        return 0;
    case K_META:
        if (meta_value(want, f->key, &a, e) < 0 || meta_value(have, f->key, &b, e) < 0)
            return -1;
        *differs = (a || b) && !(a && b && json_equal(a, b));
        return 0;
    }
    return err_set(e, ERR_INTERNAL, "unknown field kind");
}

void userdiff_init(struct userdiff *d)
{
    memset(d, 0, sizeof(*d));
}

void userdiff_release(struct userdiff *d)
{
    if (!d)
        return;
    json_decref(d->roles_add);
    json_decref(d->roles_remove);
    json_decref(d->orgs_add);
    json_decref(d->orgs_remove);
    json_decref(d->org_roles_add);
    json_decref(d->org_roles_remove);
    userdiff_init(d);
}

/* a and b are sorted distinct string arrays: appends a - b to only_a and
 * b - a to only_b. */
static int diff_names(const json_t *a, const json_t *b, json_t *only_a, json_t *only_b)
{
    size_t i = 0, j = 0, na = json_array_size(a), nb = json_array_size(b);

    while (i < na || j < nb) {
        json_t *x = json_array_get(a, i), *y = json_array_get(b, j);
        int c = !x ? 1 : !y ? -1 : strcmp(json_string_value(x), json_string_value(y));
        if (c < 0) {
            if (json_array_append(only_a, x) < 0)
                return -1;
            i++;
        } else if (c > 0) {
            if (json_array_append(only_b, y) < 0)
                return -1;
            j++;
        } else {
            i++;
            j++;
        }
    }
    return 0;
}

static int add_org_roles(json_t *list, json_t *org_name, json_t *roles)
{
    json_t *item;

    if (!json_array_size(roles))
        return 0;
    item = json_object();
    if (!item || json_array_append_new(list, item) < 0 ||
        json_object_set(item, "name", org_name) < 0 || json_object_set(item, "roles", roles) < 0)
        return -1;
    return 0;
}

static int diff_orgs(const json_t *want_orgs, const json_t *have_orgs, struct userdiff *d)
{
    size_t i = 0, j = 0, na = json_array_size(want_orgs), nb = json_array_size(have_orgs);
    json_t *add = NULL, *rem = NULL;
    int rc = -1;

    while (i < na || j < nb) {
        json_t *x = json_array_get(want_orgs, i), *y = json_array_get(have_orgs, j);
        json_t *xn = json_object_get(x, "name"), *yn = json_object_get(y, "name");
        int c = !x ? 1 : !y ? -1 : strcmp(json_string_value(xn), json_string_value(yn));
        if (c < 0) {
            if (json_array_append(d->orgs_add, xn) < 0 ||
                add_org_roles(d->org_roles_add, xn, json_object_get(x, "roles")) < 0)
                goto out;
            i++;
        } else if (c > 0) {
            if (json_array_append(d->orgs_remove, yn) < 0)
                goto out;
            j++;
        } else {
            add = json_array();
            rem = json_array();
            if (!add || !rem ||
                diff_names(json_object_get(x, "roles"), json_object_get(y, "roles"), add, rem) <
                    0 ||
                add_org_roles(d->org_roles_add, xn, add) < 0 ||
                add_org_roles(d->org_roles_remove, xn, rem) < 0)
                goto out;
            json_decref(add);
            json_decref(rem);
            add = rem = NULL;
            i++;
            j++;
        }
    }
    rc = 0;
out:
    json_decref(add);
    json_decref(rem);
    return rc;
}

static int compare_grants(const json_t *want, const json_t *have, struct userdiff *d)
{
    json_t *wr = userconv_role_names(json_object_get(want, "roles"));
    json_t *hr = userconv_role_names(json_object_get(have, "roles"));
    json_t *wo = userconv_org_names(json_object_get(want, "organizations"));
    json_t *ho = userconv_org_names(json_object_get(have, "organizations"));
    int rc = -1;

    d->roles_add = json_array();
    d->roles_remove = json_array();
    d->orgs_add = json_array();
    d->orgs_remove = json_array();
    d->org_roles_add = json_array();
    d->org_roles_remove = json_array();
    if (!wr || !hr || !wo || !ho || !d->roles_add || !d->roles_remove || !d->orgs_add ||
        !d->orgs_remove || !d->org_roles_add || !d->org_roles_remove)
        goto out;
    if (diff_names(wr, hr, d->roles_add, d->roles_remove) < 0 || diff_orgs(wo, ho, d) < 0)
        goto out;
    rc = 0;
out:
    json_decref(wr);
    json_decref(hr);
    json_decref(wo);
    json_decref(ho);
    return rc;
}

int userdiff_compare(const json_t *want, const json_t *have, struct userdiff *d, struct err *e)
{
    json_t *empty = NULL;
    bool differs = false;
    size_t i;
    int rc = -1;

    userdiff_init(d);
    if (!json_is_object(want) || (have && !json_is_object(have)))
        return err_set(e, ERR_SNAPSHOT, "a user to compare is not a JSON object");
    if (!have) {
        empty = json_object();
        if (!empty)
            return err_oom(e);
        have = empty;
    }
    for (i = 0; i < NFIELDS; i++) {
        if (compare_field(&field_table[i], want, have, &differs, e) < 0)
            goto out;
        if (differs)
            d->fields |= field_table[i].bit;
    }
    if (compare_grants(want, have, d) < 0) {
        err_oom(e);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        userdiff_release(d);
    json_decref(empty);
    return rc;
}

bool userdiff_grants_changed(const struct userdiff *d)
{
    return json_array_size(d->roles_add) || json_array_size(d->roles_remove) ||
           json_array_size(d->orgs_add) || json_array_size(d->orgs_remove) ||
           json_array_size(d->org_roles_add) || json_array_size(d->org_roles_remove);
}

const char *userdiff_field_name(unsigned bit)
{
    size_t i;

    for (i = 0; i < NFIELDS; i++)
        if (field_table[i].bit == bit)
            return field_table[i].key;
    return NULL;
}

json_t *userdiff_fields_json(const struct userdiff *d)
{
    json_t *a = json_array();
    size_t i;

    if (!a)
        return NULL;
    for (i = 0; i < NFIELDS; i++) {
        if (!(d->fields & field_table[i].bit))
            continue;
        if (json_array_append_new(a, json_string(field_table[i].key)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* ---- planning ----------------------------------------------------------- */

void userdiff_plan_release(struct userdiff_plan *p)
{
    if (!p)
        return;
    json_decref(p->create);
    json_decref(p->patch);
    json_decref(p->patch2);
    memset(p, 0, sizeof(*p));
    p->action = UD_UNCHANGED;
}

/* PATCH value that makes metadata equal want's: want's object plus null
 * for every top-level key of have's that want lacks. */
static json_t *meta_patch(const json_t *want_m, const json_t *have_m)
{
    json_t *res = want_m ? json_deep_copy(want_m) : json_object(), *v;
    const char *k;

    if (!res)
        return NULL;
    json_object_foreach((json_t *)have_m, k, v)
    {
        if (json_object_get(want_m, k))
            continue;
        if (json_object_set_new(res, k, json_null()) < 0) {
            json_decref(res);
            return NULL;
        }
    }
    return res;
}

/* The PATCH value that sets field f as want has it. */
static int patch_value(const struct field_desc *f, const json_t *want, const json_t *have,
                       json_t **out, struct err *e)
{
    json_t *a, *b;
    bool x;

    *out = NULL;
    switch (f->kind) {
    case K_EMAIL:
    case K_STRING:
    case K_DEFAULTED:
        a = str_value(want, f->key);
        *out = a ? json_deep_copy(a) : json_null();
        break;
    case K_BOOL:
        if (bool_value(want, f->key, &x, e) < 0)
            return -1;
        *out = json_boolean(x);
        break;
    case K_META:
        if (meta_value(want, f->key, &a, e) < 0 || meta_value(have, f->key, &b, e) < 0)
            return -1;
        *out = meta_patch(a, b);
        break;
    }
    return *out ? 0 : err_oom(e);
}

static int patch_set(json_t *patch, const struct field_desc *f, const json_t *want,
                     const json_t *have, struct err *e)
{
    json_t *v;

    if (patch_value(f, want, have, &v, e) < 0)
        return -1;
    if (json_object_set_new(patch, f->key, v) < 0)
        return err_oom(e);
    return 0;
}

/* Adds want's reserved app_metadata keys to patch.app_metadata. */
static int patch_reserved(json_t *patch, const json_t *want, struct err *e)
{
    json_t *res, *am;

    if (userconv_reserved_app_metadata(want, &res, e) < 0)
        return -1;
    if (!res)
        return 0;
    am = json_object_get(patch, "app_metadata");
    if (am) {
        if (json_object_update(am, res) < 0) {
            json_decref(res);
            return err_oom(e);
        }
        json_decref(res);
        return 0;
    }
    if (json_object_set_new(patch, "app_metadata", res) < 0)
        return err_oom(e);
    return 0;
}

/* True if the import record's copy of metadata f would be non-empty (the
 * record leaves reserved app_metadata keys out). */
static bool record_meta_nonempty(const struct field_desc *f, const json_t *want)
{
    json_t *m = json_object_get(want, f->key), *v;
    const char *k;

    if (!json_is_object(m))
        return false;
    if (f->bit != UD_APP_METADATA)
        return json_object_size(m) > 0;
    json_object_foreach(m, k, v)
    {
        if (!userconv_reserved_app_metadata_key(k))
            return true;
    }
    return false;
}

/* Email unchanged: the job does the upsertable part, one PATCH the rest. */
static int plan_same_email(const json_t *want, const json_t *have, unsigned fields,
                           struct userdiff_plan *p, json_t *patch, struct err *e)
{
    size_t i;

    for (i = 0; i < NFIELDS; i++) {
        const struct field_desc *f = &field_table[i];
        bool by_job;
        if (!(fields & f->bit))
            continue;
        if (f->bit & UD_PATCH_ONLY)
            by_job = false;
        else if (f->kind == K_META)
            by_job = record_meta_nonempty(f, want);
        else if (f->kind == K_BOOL)
            by_job = true; /* email_verified: the record always carries it */
        else
            by_job = str_value(want, f->key) != NULL;
        if (by_job)
            p->via_job = true;
        else if (patch_set(patch, f, want, have, e) < 0)
            return -1;
    }
    if (p->via_job && patch_reserved(patch, want, e) < 0)
        return -1;
    return 0;
}

/* Email changed: everything by PATCH, username on its own. */
static int plan_new_email(const json_t *want, const json_t *have, unsigned fields,
                          struct userdiff_plan *p, json_t *patch, struct err *e)
{
    size_t i;

    for (i = 0; i < NFIELDS; i++) {
        const struct field_desc *f = &field_table[i];
        bool always = f->bit == UD_EMAIL || f->bit == UD_EMAIL_VERIFIED;
        if (f->bit == UD_USERNAME || (!always && !(fields & f->bit)))
            continue;
        if (patch_set(patch, f, want, have, e) < 0)
            return -1;
    }
    if (json_object_set_new(patch, "verify_email", json_false()) < 0)
        return err_oom(e);
    if (fields & UD_USERNAME) {
        p->patch2 = json_object();
        if (!p->patch2)
            return err_oom(e);
        for (i = 0; i < NFIELDS; i++)
            if (field_table[i].bit == UD_USERNAME &&
                patch_set(p->patch2, &field_table[i], want, have, e) < 0)
                return -1;
    }
    return 0;
}

int userdiff_plan_direct(const json_t *want, const json_t *have, const struct userdiff *d,
                         const char *connection, struct userdiff_plan *p, struct err *e)
{
    json_t *patch = NULL;
    size_t i;

    memset(p, 0, sizeof(*p));
    p->action = UD_UNCHANGED;
    if (!json_is_object(want) || (have && !json_is_object(have)))
        return err_set(e, ERR_SNAPSHOT, "a user to plan is not a JSON object");
    if (!have) {
        p->action = UD_CREATE;
        return userconv_to_create(want, connection, &p->create, e);
    }
    if (!d->fields)
        return 0;
    p->action = UD_UPDATE;
    patch = json_object();
    if (!patch)
        return err_oom(e);
    for (i = 0; i < NFIELDS; i++) {
        /* A new email resets email_verified unless the PATCH sets it: it
         * goes with the email whenever want has one (as in plan_new_email). */
        bool with_email = field_table[i].bit == UD_EMAIL_VERIFIED && (d->fields & UD_EMAIL) &&
                          json_is_boolean(json_object_get(want, "email_verified"));
        if (((d->fields & field_table[i].bit) || with_email) &&
            patch_set(patch, &field_table[i], want, have, e) < 0) {
            json_decref(patch);
            return -1;
        }
    }
    if ((d->fields & UD_EMAIL) && json_object_set_new(patch, "verify_email", json_false()) < 0) {
        json_decref(patch);
        return err_oom(e);
    }
    p->patch = patch;
    return 0;
}

int userdiff_plan(const json_t *want, const json_t *have, const struct userdiff *d,
                  struct userdiff_plan *p, struct err *e)
{
    json_t *patch = NULL;
    int rc = -1;

    memset(p, 0, sizeof(*p));
    p->action = UD_UNCHANGED;
    if (!json_is_object(want) || (have && !json_is_object(have)))
        return err_set(e, ERR_SNAPSHOT, "a user to plan is not a JSON object");
    patch = json_object();
    if (!patch)
        return err_oom(e);
    if (!have) {
        p->action = UD_CREATE;
        p->via_job = true;
        if (patch_reserved(patch, want, e) < 0)
            goto out;
    } else if (d->fields) {
        p->action = UD_UPDATE;
        if (d->fields & UD_EMAIL) {
            if (plan_new_email(want, have, d->fields, p, patch, e) < 0)
                goto out;
        } else if (plan_same_email(want, have, d->fields, p, patch, e) < 0) {
            goto out;
        }
    }
    if (json_object_size(patch)) {
        p->patch = patch;
        patch = NULL;
    }
    rc = 0;
out:
    json_decref(patch);
    if (rc < 0)
        userdiff_plan_release(p);
    return rc;
}
