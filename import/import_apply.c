/*
 * import_apply.c - what the bulk jobs can't do, through the API:
 * deletions (conflicts replaced with --on-conflict=replace, and --prune),
 * PATCHes (blocked, username, phone, email changes, reserved app_metadata
 * keys), and grants: roles added in batches per role, members added and
 * removed in batches per organization, member roles per member, roles
 * removed per user.
 *
 * Users whose creation failed are left alone here (their failure is
 * already in the report); a refused call marks its user failed and the run
 * goes on.
 */
#include "import.h"

#include "extsort.h"
#include "log.h"
#include "tenant.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 100

static bool failed_already(struct import_ctx *c, const char *uid)
{
    return c->failures && json_object_get(c->failures, uid);
}

/* "/users/<escaped uid><suffix>" */
static int user_path(char *out, size_t outlen, const char *uid, const char *suffix, struct err *e)
{
    char esc[1024];

    if (url_escape(esc, sizeof(esc), uid) < 0)
        return err_set(e, ERR_INTERNAL, "user id too long");
    snprintf(out, outlen, "/users/%s%s", esc, suffix);
    return 0;
}

/* A call on behalf of one user: failure marks the user failed unless it is
 * one the run can't go on after (auth, scope, network). */
static int user_call(struct import_ctx *c, const char *uid, const char *method, const char *path,
                     json_t *body, const char *what, struct err *e)
{
    struct err ue;
    char reason[ERR_MSG_MAX + 64];

    err_clear(&ue);
    if (tenant_call(c->tenant, method, path, body, NULL, &ue) == 0)
        return 0;
    if (ue.code == ERR_AUTH || ue.code == ERR_SCOPE || ue.code == ERR_NET || ue.code == ERR_IO ||
        ue.code == ERR_INTERNAL || ue.http_status == 429 || ue.http_status >= 500) {
        *e = ue;
        return -1;
    }
    snprintf(reason, sizeof(reason), "%s: %s", what, ue.msg);
    return import_note_failure(c, uid, reason, e);
}

int import_apply_deletes(struct import_ctx *c, struct err *e)
{
    const char *key, *rec;
    size_t klen, rlen;
    char prev[1024] = "", uid[1024], path[1200];
    size_t deleted = 0;
    int r;

    if (extsort_finish(c->deletes, e) < 0)
        return -1;
    while ((r = extsort_next(c->deletes, &key, &klen, &rec, &rlen, e)) == 1) {
        struct err de;
        snprintf(uid, sizeof(uid), "%.*s", (int)klen, key);
        if (strcmp(uid, prev) == 0)
            continue;
        snprintf(prev, sizeof(prev), "%s", uid);
        if (user_path(path, sizeof(path), uid, "", e) < 0)
            return -1;
        err_clear(&de);
        if (tenant_call(c->tenant, "DELETE", path, NULL, NULL, &de) < 0 && de.http_status != 404) {
            if (de.code == ERR_API && de.http_status >= 400 && de.http_status < 500 &&
                de.http_status != 429) {
                char reason[ERR_MSG_MAX + 32];
                snprintf(reason, sizeof(reason), "deleting: %s", de.msg);
                if (import_note_failure(c, uid, reason, e) < 0)
                    return -1;
                continue;
            }
            *e = de;
            return err_prefix(e, "deleting target user '%s'", uid);
        }
        deleted++;
        progress_update("deleting: %zu", deleted);
    }
    return r < 0 ? -1 : 0;
}

int import_apply_patches(struct import_ctx *c, struct err *e)
{
    const char *key, *rec;
    size_t klen, rlen;
    char uid[1024], path[1200];
    int r;

    if (extsort_finish(c->patches, e) < 0)
        return -1;
    while ((r = extsort_next(c->patches, &key, &klen, &rec, &rlen, e)) == 1) {
        const char *sep = memchr(key, '\x1f', klen);
        json_t *body;
        int rc;

        snprintf(uid, sizeof(uid), "%.*s", (int)(sep ? sep - key : (long)klen), key);
        if (failed_already(c, uid))
            continue;
        body = json_loadb(rec, rlen, 0, NULL);
        if (!body)
            return err_set(e, ERR_INTERNAL, "bad PATCH record");
        if (user_path(path, sizeof(path), uid, "", e) < 0) {
            json_decref(body);
            return -1;
        }
        rc = user_call(c, uid, "PATCH", path, body, "updating the profile", e);
        json_decref(body);
        if (rc < 0)
            return -1;
        c->n.patches++;
        progress_update("updates: %zu", c->n.patches);
    }
    return r < 0 ? -1 : 0;
}

/* Streams a sort keyed by a role or organization id, calling flush with
 * up to BATCH user ids of one key at a time. */
typedef int (*batch_fn)(struct import_ctx *c, const char *id, json_t *uids, struct err *e);

static int batches(struct import_ctx *c, struct extsort *s, batch_fn flush, struct err *e)
{
    const char *key, *rec;
    size_t klen, rlen;
    char id[256] = "";
    json_t *uids = json_array();
    int r, rc = -1;

    if (!uids)
        return err_oom(e);
    if (extsort_finish(s, e) < 0)
        goto out;
    while ((r = extsort_next(s, &key, &klen, &rec, &rlen, e)) == 1) {
        char uid[1024];
        snprintf(uid, sizeof(uid), "%.*s", (int)rlen, rec);
        if ((klen != strlen(id) || memcmp(key, id, klen) != 0 || json_array_size(uids) >= BATCH) &&
            json_array_size(uids) > 0) {
            if (flush(c, id, uids, e) < 0)
                goto out;
            json_array_clear(uids);
        }
        snprintf(id, sizeof(id), "%.*s", (int)klen, key);
        if (!failed_already(c, uid))
            json_array_append_new(uids, json_string(uid));
    }
    if (r < 0)
        goto out;
    if (json_array_size(uids) > 0 && flush(c, id, uids, e) < 0)
        goto out;
    rc = 0;
out:
    json_decref(uids);
    return rc;
}

/* A batch refused as a whole (one bad id): retry user by user so the
 * others still get the grant and the bad one is named. */
static int one_by_one(struct import_ctx *c, const char *method, const char *base, const char *id,
                      const char *suffix, json_t *uids, const char *member_key, const char *what,
                      struct err *e)
{
    json_t *u;
    size_t i;
    char path[1200];

    json_array_foreach(uids, i, u)
    {
        json_t *body = json_pack("{s:[O]}", member_key, u);
        int rc;
        snprintf(path, sizeof(path), "%s%s%s", base, id, suffix);
        rc = user_call(c, json_string_value(u), method, path, body, what, e);
        json_decref(body);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int batch_call(struct import_ctx *c, const char *method, const char *base, const char *id,
                      const char *suffix, json_t *uids, const char *member_key, const char *what,
                      struct err *e)
{
    char path[512];
    json_t *body = json_pack("{s:O}", member_key, uids);
    struct err be;
    int rc;

    if (!body)
        return err_oom(e);
    snprintf(path, sizeof(path), "%s%s%s", base, id, suffix);
    err_clear(&be);
    rc = tenant_call(c->tenant, method, path, body, NULL, &be);
    json_decref(body);
    if (rc == 0)
        return 0;
    if (be.http_status == 400 || be.http_status == 404)
        return one_by_one(c, method, base, id, suffix, uids, member_key, what, e);
    *e = be;
    return err_prefix(e, "%s", what);
}

static int add_role_members(struct import_ctx *c, const char *id, json_t *uids, struct err *e)
{
    progress_update("roles: assigning");
    return batch_call(c, "POST", "/roles/", id, "/users", uids, "users", "assigning a role", e);
}

static int add_org_members(struct import_ctx *c, const char *id, json_t *uids, struct err *e)
{
    progress_update("organizations: adding members");
    return batch_call(c, "POST", "/organizations/", id, "/members", uids, "members",
                      "adding an organization member", e);
}

static int remove_org_members(struct import_ctx *c, const char *id, json_t *uids, struct err *e)
{
    return batch_call(c, "DELETE", "/organizations/", id, "/members", uids, "members",
                      "removing an organization member", e);
}

static int remove_roles(struct import_ctx *c, struct err *e)
{
    const char *key, *rec;
    size_t klen, rlen;
    char uid[1024], path[1200];
    int r;

    if (extsort_finish(c->rrem, e) < 0)
        return -1;
    while ((r = extsort_next(c->rrem, &key, &klen, &rec, &rlen, e)) == 1) {
        json_t *ids = json_loadb(rec, rlen, 0, NULL), *body;
        int rc;
        snprintf(uid, sizeof(uid), "%.*s", (int)klen, key);
        body = json_pack("{s:o}", "roles", ids);
        if (!body)
            return err_oom(e);
        if (user_path(path, sizeof(path), uid, "/roles", e) < 0) {
            json_decref(body);
            return -1;
        }
        rc = user_call(c, uid, "DELETE", path, body, "removing a role", e);
        json_decref(body);
        if (rc < 0)
            return -1;
    }
    return r < 0 ? -1 : 0;
}

static int member_roles(struct import_ctx *c, struct err *e)
{
    const char *key, *rec;
    size_t klen, rlen;
    int r;

    if (extsort_finish(c->mroles, e) < 0)
        return -1;
    while ((r = extsort_next(c->mroles, &key, &klen, &rec, &rlen, e)) == 1) {
        const char *sep = memchr(key, '\x1f', klen);
        char org[256], uid[1024], path[1600], esc[1024];
        json_t *ops = json_loadb(rec, rlen, 0, NULL);
        json_t *add = json_object_get(ops, "add"), *del = json_object_get(ops, "remove");
        int rc = 0;

        if (!sep || !ops) {
            json_decref(ops);
            return err_set(e, ERR_INTERNAL, "bad member-role record");
        }
        snprintf(org, sizeof(org), "%.*s", (int)(sep - key), key);
        snprintf(uid, sizeof(uid), "%.*s", (int)(klen - (size_t)(sep - key) - 1), sep + 1);
        if (failed_already(c, uid) || url_escape(esc, sizeof(esc), uid) < 0) {
            json_decref(ops);
            continue;
        }
        snprintf(path, sizeof(path), "/organizations/%s/members/%s/roles", org, esc);
        if (json_array_size(add) > 0) {
            json_t *body = json_pack("{s:O}", "roles", add);
            rc = user_call(c, uid, "POST", path, body, "assigning organization roles", e);
            json_decref(body);
        }
        if (rc == 0 && json_array_size(del) > 0) {
            json_t *body = json_pack("{s:O}", "roles", del);
            rc = user_call(c, uid, "DELETE", path, body, "removing organization roles", e);
            json_decref(body);
        }
        json_decref(ops);
        if (rc < 0)
            return -1;
    }
    return r < 0 ? -1 : 0;
}

int import_apply_grants(struct import_ctx *c, struct err *e)
{
    if (batches(c, c->radd, add_role_members, e) < 0 || remove_roles(c, e) < 0 ||
        batches(c, c->oadd, add_org_members, e) < 0 || member_roles(c, e) < 0 ||
        batches(c, c->orem, remove_org_members, e) < 0)
        return -1;
    return 0;
}
