/*
 * import_extras.c - what a user needs besides its profile and grants:
 * created by POST /users when bulk jobs cannot write it (passwordless),
 * its linked accounts and its direct permissions (import_links.h decides,
 * this records the calls, import_calls.c makes them).
 */
#include "import.h"

#include "import_decide.h"
#include "import_links.h"
#include "log.h"
#include "url.h"
#include "userconv.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Steps of a user's calls (import_calls.c), in the order they run. */
#define STEP_CREATE  1  /* in c->creates */
#define STEP_ENSURE  10 /* + i: a linked account's user */
#define STEP_LINK    30 /* + i */
#define STEP_UNLINK  50 /* + i */
#define STEP_PERMS   70
#define STEP_UNPERMS 71
#define MAX_LINKS    20

static json_t *call(const char *kind, const char *method, const char *path, json_t *body,
                    const char *what)
{
    return json_pack("{s:s,s:s,s:s,s:o*,s:s}", "k", kind, "m", method, "p", path, "b", body, "w",
                     what);
}

/* A password for a database linked account's user: the --test-password-env
 * one, else random (passwords are never copied; nobody knows this one). */
static int secondary_password(const struct import_ctx *c, char *out, size_t outsz, struct err *e)
{
    const char *test = c->opts->test_password_env ? getenv(c->opts->test_password_env) : NULL;
    unsigned char raw[18];

    if (test && *test) {
        snprintf(out, outsz, "%s", test);
        return 0;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return err_set(e, ERR_INTERNAL, "no random bytes for a password");
    for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < outsz; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    strncat(out, "aA1!", outsz - strlen(out) - 1);
    explicit_bzero(raw, sizeof(raw));
    return 0;
}

/* The POST /users body of a linked account's user: its profileData as a
 * user of the mapped connection. */
static int secondary_body(const struct import_ctx *c, json_t *id, const char *tconn, bool database,
                          json_t **out, struct err *e)
{
    json_t *u = json_deep_copy(json_object_get(id, "profileData"));
    char full[1100], pw[64] = "";
    int rc = -1;

    *out = NULL;
    if (!u && !(u = json_object()))
        return err_oom(e);
    snprintf(full, sizeof(full), "%s|%s", json_string_value(json_object_get(id, "provider")),
             json_string_value(json_object_get(id, "user_id")));
    if (json_object_set_new(u, "user_id", json_string(full)) < 0 ||
        userconv_to_create(u, tconn, out, e) < 0)
        goto out;
    if (database) {
        json_t *un = json_object_get(u, "username");
        if (secondary_password(c, pw, sizeof(pw), e) < 0 ||
            json_object_set_new(*out, "password", json_string(pw)) < 0 ||
            (json_is_string(un) && json_object_set(*out, "username", un) < 0))
            goto out;
    }
    rc = 0;
out:
    explicit_bzero(pw, sizeof(pw));
    json_decref(u);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* A database linked account's user as a bulk job record: its profileData
 * as a user of the mapped connection, with no password (passwords are
 * never copied; the account logs in through its primary). 1 added, 0 a
 * job cannot carry it (no email...). */
static int secondary_record(struct import_ctx *c, json_t *id, const char *tconn, const char *full,
                            struct err *e)
{
    json_t *u = json_deep_copy(json_object_get(id, "profileData")), *none = json_array();
    struct import_record_user r = {tconn, full, NULL, NULL, NULL, false, none};
    char skip[300];
    int w = -1;

    if (!u)
        u = json_object();
    if (u && none && json_object_set_new(u, "user_id", json_string(full)) == 0) {
        r.want = u;
        r.email = json_string_value(json_object_get(u, "email"));
        w = import_records_add(c, &r, skip, sizeof(skip), e);
    } else {
        err_oom(e);
    }
    json_decref(u);
    json_decref(none);
    return w < 0 ? -1 : w == 0;
}

/* The target connection ({"id","name","strategy"}) a source connection maps to. */
static json_t *target_conn(const struct import_ctx *c, const char *source_name)
{
    return source_name ? json_object_get(c->conn_map, source_name) : NULL;
}

/* An account unlinked from uid is a user of its own again: with --prune
 * it goes like every user the snapshot lacks, right after the unlink. */
static int prune_unlinked(struct import_ctx *c, const char *uid, json_t *id, const char *sid,
                          int step, struct err *e)
{
    char full[1100], path[1200], reason[1300];
    const char *conn = json_string_value(json_object_get(id, "connection"));

    snprintf(full, sizeof(full), "%s|%s", json_string_value(json_object_get(id, "provider")), sid);
    if (!c->opts->prune || !conn || !json_object_get(c->covered, conn) ||
        (c->snapshot_holds && json_object_get(c->snapshot_holds, full)))
        return 0;
    snprintf(reason, sizeof(reason), "unlinked from '%s' and not in the snapshot (--prune)", uid);
    c->prune_deletes++;
    if (import_user_path(path, sizeof(path), full, "", e) < 0 ||
        import_call_add(c->calls, uid, step,
                        call("delete", "DELETE", path, NULL, "deleting an unlinked account"),
                        e) < 0)
        return -1;
    return import_note_outcome(c, full, NULL, "deleted", reason, NULL, e);
}

/* What unlinking account full (identity id of have) leaves behind: a user
 * of its own with its profileData (D-LINK), as Auth0 makes it (name and
 * nickname from the email when profileData has none). */
static json_t *left_by_unlink(const json_t *have, const json_t *id, const char *full)
{
    static const char *const keys[] = {
        "email", "email_verified", "username", "phone_number", "phone_verified",
        "name",  "nickname",       "picture",  "given_name",   "family_name"};
    json_t *ident, *u = json_object(), *bare = json_object();
    const json_t *pd = NULL;
    const char *email;
    size_t i;

    json_array_foreach(json_object_get(have, "identities"), i, ident)
    {
        if (i > 0 &&
            json_equal(json_object_get(ident, "provider"), json_object_get(id, "provider")) &&
            json_equal(json_object_get(ident, "user_id"), json_object_get(id, "user_id")))
            pd = json_object_get(ident, "profileData");
    }
    for (i = 0; u && pd && i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(pd, keys[i]))
            json_object_set(u, keys[i], json_object_get(pd, keys[i]));
    email = json_string_value(json_object_get(u, "email"));
    if (u && email && !json_object_get(u, "name"))
        json_object_set_new(u, "name", json_string(email));
    if (u && email && !json_object_get(u, "nickname"))
        json_object_set_new(u, "nickname", json_stringn(email, strcspn(email, "@")));
    if (!u || !bare || json_object_update(bare, (json_t *)id) < 0 ||
        json_object_set_new(u, "user_id", json_string(full)) < 0 ||
        json_object_set_new(u, "identities", json_pack("[O]", bare)) < 0) {
        json_decref(u);
        u = NULL;
    }
    json_decref(bare);
    return u;
}

/* An account the snapshot imports as a user of its own: unlinked before
 * the jobs, and what that leaves noted for its plan (import_plan.c). */
static int unlink_first(struct import_ctx *c, const char *uid, const json_t *have, const json_t *id,
                        const char *full, struct err *e)
{
    json_t *left = left_by_unlink(have, id, full);

    if (!left || json_object_set_new(c->unlink_first, full,
                                     json_pack("{s:s,s:o}", "from", uid, "user", left)) < 0)
        return err_oom(e);
    return 0;
}

static int plan_links(struct import_ctx *c, const char *uid, json_t *want, json_t *have,
                      bool *changed, char *reason, size_t reasonsz, struct err *e)
{
    struct import_links l;
    char path[1400], esc[1024];
    json_t *id;
    size_t i;
    int rc = -1;

    if (import_links_compare(want, have, &l, e) < 0)
        return -1;
    json_array_foreach(l.link, i, id)
    {
        json_t *tc = target_conn(c, json_string_value(json_object_get(id, "connection")));
        const char *tname = json_string_value(json_object_get(tc, "name"));
        const char *strategy = json_string_value(json_object_get(tc, "strategy"));
        char full[1100];
        json_t *body;
        bool database;
        int in_job = 0;
        if (!tname || i >= MAX_LINKS) {
            c->n.links_not_copyable++;
            continue;
        }
        snprintf(full, sizeof(full), "%s|%s", json_string_value(json_object_get(id, "provider")),
                 json_string_value(json_object_get(id, "user_id")));
        database = strategy && strcmp(strategy, "auth0") == 0;
        /* A database account's user rides in a bulk job (free, and an
         * upsert if the target has it); a passwordless one, or one a job
         * cannot carry, is made by the call before the link. */
        if (database && (in_job = secondary_record(c, id, tname, full, e)) < 0)
            goto out;
        if ((!database || !in_job) &&
            (secondary_body(c, id, tname, database, &body, e) < 0 ||
             import_call_add(c->calls, uid, STEP_ENSURE + (int)i,
                             json_pack("{s:s,s:s,s:o}", "k", "ensure", "id", full, "b", body),
                             e) < 0))
            goto out;
        if (import_user_path(path, sizeof(path), uid, "/identities", e) < 0 ||
            import_call_add(
                c->calls, uid, STEP_LINK + (int)i,
                call("link", "POST", path,
                     json_pack("{s:O,s:s,s:O}", "provider", json_object_get(id, "provider"),
                               "user_id", full, "connection_id", json_object_get(tc, "id")),
                     "linking an account"),
                e) < 0)
            goto out;
        c->n.links_added++;
        *changed = true;
    }
    json_array_foreach(l.unlink, i, id)
    {
        char suffix[1200], sid[1024], full[1100];
        json_t *v = json_object_get(id, "user_id");
        bool first;
        if (json_is_integer(v))
            snprintf(sid, sizeof(sid), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
            snprintf(sid, sizeof(sid), "%s", json_string_value(v) ? json_string_value(v) : "");
        if (i >= MAX_LINKS || url_escape(esc, sizeof(esc), sid) < 0)
            continue;
        snprintf(suffix, sizeof(suffix), "/identities/%s/%s",
                 json_string_value(json_object_get(id, "provider")), esc);
        snprintf(full, sizeof(full), "%s|%s", json_string_value(json_object_get(id, "provider")),
                 sid);
        first = c->unlink_first && json_object_get(c->unlink_first, full);
        if ((first && unlink_first(c, uid, have, id, full, e) < 0) ||
            import_user_path(path, sizeof(path), uid, suffix, e) < 0 ||
            import_call_add(first ? c->creates : c->calls, uid, STEP_UNLINK + (int)i,
                            call("unlink", "DELETE", path, NULL, "unlinking an account"), e) < 0 ||
            prune_unlinked(c, uid, id, sid, STEP_UNLINK + MAX_LINKS + (int)i, e) < 0)
            goto out;
        c->n.links_removed++;
        *changed = true;
    }
    json_array_foreach(l.not_copyable, i, id)
    {
        const char *kind = json_string_value(json_object_get(id, "kind"));
        c->n.links_not_copyable++;
        if (kind && strcmp(kind, "social") == 0)
            c->n.links_social++;
        else
            c->n.links_enterprise++;
        snprintf(reason, reasonsz,
                 "linked %s account '%s' not copied: Auth0's API cannot create "
                 "%s users",
                 kind ? kind : "", json_string_value(json_object_get(id, "connection")),
                 kind ? kind : "such");
    }
    rc = 0;
out:
    import_links_release(&l);
    return rc;
}

/* POST (grant) or DELETE (revoke) of a user's direct permissions, when
 * there are any. */
static int perm_call(struct import_ctx *c, const char *uid, int step, const char *method,
                     const char *path, json_t *perms, struct err *e)
{
    bool grant = strcmp(method, "POST") == 0;

    if (!json_array_size(perms))
        return 0;
    return import_call_add(c->calls, uid, step,
                           call(grant ? "perms" : "unperms", method, path,
                                json_pack("{s:O}", "permissions", perms),
                                grant ? "granting permissions" : "taking permissions away"),
                           e);
}

static int plan_perms(struct import_ctx *c, const char *uid, json_t *want, json_t *have,
                      bool *changed, char *reason, size_t reasonsz, struct err *e)
{
    struct import_perms p;
    char path[1200];
    int rc = -1;

    if (import_perms_compare(json_object_get(want, "permissions"),
                             have ? json_object_get(have, "permissions") : NULL, c->apis,
                             c->api_map, &p, e) < 0)
        return -1;
    if (import_user_path(path, sizeof(path), uid, "/permissions", e) < 0)
        goto out;
    if (perm_call(c, uid, STEP_PERMS, "POST", path, p.add, e) < 0 ||
        perm_call(c, uid, STEP_UNPERMS, "DELETE", path, p.remove, e) < 0)
        goto out;
    c->n.permissions_added += json_array_size(p.add);
    c->n.permissions_removed += json_array_size(p.remove);
    c->n.permissions_missing += json_array_size(p.missing);
    if (json_array_size(p.add) || json_array_size(p.remove))
        *changed = true;
    if (json_array_size(p.missing)) {
        json_t *m = json_array_get(p.missing, 0);
        snprintf(reason, reasonsz,
                 "%zu permission%s not copied: the target lacks the API or scope (first: '%s' of "
                 "'%s'; --map-api SRC=DST matches another API)",
                 json_array_size(p.missing), json_array_size(p.missing) == 1 ? "" : "s",
                 json_string_value(json_object_get(m, "permission_name")),
                 json_string_value(json_object_get(m, "resource_server_identifier")));
    }
    rc = 0;
out:
    import_perms_release(&p);
    return rc;
}

/* Adds a field name to the decision's changed fields. */
static int note_field(struct import_decision *d, const char *name, struct err *e)
{
    if (!d->fields && !(d->fields = json_array()))
        return err_oom(e);
    return json_array_append_new(d->fields, json_string(name)) < 0 ? err_oom(e) : 0;
}

int import_plan_extras(struct import_ctx *c, const char *uid, json_t *want, json_t *have,
                       bool direct, struct import_decision *d, char *reason, size_t reasonsz,
                       struct err *e)
{
    bool linked = false, permitted = false;

    if (d->plan.create) {
        if (import_call_add(
                c->creates, uid, STEP_CREATE,
                call("create", "POST", "/users", json_incref(d->plan.create), "creating the user"),
                e) < 0)
            return -1;
        c->n.passwordless++;
    } else if (d->plan.patch && direct) {
        c->n.passwordless++;
    }
    if (plan_links(c, uid, want, have, &linked, reason, reasonsz, e) < 0 ||
        (c->with_permissions &&
         plan_perms(c, uid, want, have, &permitted, reason, reasonsz, e) < 0))
        return -1;
    if (have && ((linked && note_field(d, "identities", e) < 0) ||
                 (permitted && note_field(d, "permissions", e) < 0)))
        return -1;
    if ((linked || permitted) && strcmp(d->outcome, "unchanged") == 0)
        d->outcome = "updated";
    return 0;
}
