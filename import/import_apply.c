/*
 * import_apply.c - what the bulk jobs can't do, through the API:
 * deletions (conflicts replaced with --on-conflict=replace, and --prune),
 * the values movers set aside (import_moves.h) and PATCHes (blocked, username, phone, email
 * changes, reserved app_metadata keys). Roles and memberships are import_grants.c's.
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

bool import_failed_already(const struct import_ctx *c, const char *uid)
{
    return c->failures && json_object_get(c->failures, uid);
}

int import_user_failed(struct import_ctx *c, const char *uid, const char *what,
                       const struct err *ue, struct err *e)
{
    char reason[ERR_MSG_MAX + 128];

    if (ue->code == ERR_AUTH || ue->code == ERR_SCOPE || ue->code == ERR_NET ||
        ue->code == ERR_IO || ue->code == ERR_INTERNAL || ue->http_status == 429 ||
        ue->http_status >= 500) {
        *e = *ue;
        return -1;
    }
    snprintf(reason, sizeof(reason), "%.100s: %s", what, ue->msg);
    return import_note_failure(c, uid, reason, e);
}

int import_user_call(struct import_ctx *c, const char *uid, const char *method, const char *path,
                     json_t *body, const char *what, struct err *e)
{
    struct err ue;

    err_clear(&ue);
    if (tenant_call(c->tenant, method, path, body, NULL, &ue) == 0)
        return 0;
    return import_user_failed(c, uid, what, &ue, e);
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
        if (import_user_path(path, sizeof(path), uid, "", e) < 0)
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

int import_apply_releases(struct import_ctx *c, struct err *e)
{
    const char *uid, *kind;
    json_t *kinds, *body;
    char path[1200], what[80];

    json_object_foreach(c->releases, uid, kinds)
    {
        json_object_foreach(kinds, kind, body)
        {
            if (import_failed_already(c, uid))
                break;
            if (import_user_path(path, sizeof(path), uid, "", e) < 0)
                return -1;
            snprintf(what, sizeof(what), "setting its %s aside for the user it moves to", kind);
            if (import_user_call(c, uid, "PATCH", path, body, what, e) < 0)
                return -1;
            c->n.patches++;
            progress_update("updates: %zu", c->n.patches);
        }
    }
    return 0;
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
        if (import_failed_already(c, uid))
            continue;
        body = json_loadb(rec, rlen, 0, NULL);
        if (!body)
            return err_set(e, ERR_INTERNAL, "bad PATCH record");
        if (import_user_path(path, sizeof(path), uid, "", e) < 0) {
            json_decref(body);
            return -1;
        }
        rc = import_user_call(c, uid, "PATCH", path, body, "updating the profile", e);
        json_decref(body);
        if (rc < 0)
            return -1;
        c->n.patches++;
        progress_update("updates: %zu", c->n.patches);
    }
    return r < 0 ? -1 : 0;
}
