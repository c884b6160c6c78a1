/*
 * import_calls.c - the per-user calls besides jobs and PATCHes, recorded
 * while planning and made while applying, in the order a user needs them:
 *
 *   creates (before the jobs): POST /users of users bulk jobs cannot write
 *     (passwordless), so their grants, queued at plan time, find them;
 *   calls (after the jobs and the PATCHes, which create and update the
 *     primary users): per user, in this order, a linked account's user
 *     made unless the plan saw it among the target's users ("ensure": a
 *     POST, a 409 taken as there), the link itself, unlinks, then direct
 *     permissions granted and taken away.
 *
 * Records sit in sorts keyed "<user_id>\x1f<two-digit step>", so a user's
 * calls run in step order, and a user whose earlier write failed is left
 * alone (its failure is in the report already).
 */
#include "import.h"

#include "extsort.h"
#include "log.h"
#include "tenant.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int import_call_add(struct extsort *s, const char *uid, int step, json_t *call, struct err *e)
{
    char key[1100], *text;
    int n, rc;

    if (!call)
        return err_oom(e);
    n = snprintf(key, sizeof(key), "%s\x1f%02d", uid, step);
    text = json_dumps(call, JSON_COMPACT);
    json_decref(call);
    if (!text)
        return err_oom(e);
    rc = n < 0 || (size_t)n >= sizeof(key) ? err_set(e, ERR_INTERNAL, "user id too long")
                                           : extsort_add(s, key, (size_t)n, text, strlen(text), e);
    free(text);
    return rc;
}

int import_user_path(char *out, size_t outlen, const char *uid, const char *suffix, struct err *e)
{
    char esc[1024];

    if (url_escape(esc, sizeof(esc), uid) < 0)
        return err_set(e, ERR_INTERNAL, "user id too long");
    snprintf(out, outlen, "/users/%s%s", esc, suffix);
    return 0;
}

/* A linked account's user: made unless the plan saw it among the
 * target's users (unlinked). One that appeared since (409) is there. */
static int ensure_user(struct import_ctx *c, const char *uid, json_t *call, struct err *e)
{
    const char *id = json_string_value(json_object_get(call, "id"));
    struct err pe;

    if (!id)
        return err_set(e, ERR_INTERNAL, "bad linked-account record");
    if (c->linked_present && json_object_get(c->linked_present, id))
        return 0;
    err_clear(&pe);
    if (tenant_call(c->tenant, "POST", "/users", json_object_get(call, "b"), NULL, &pe) == 0 ||
        pe.http_status == 409)
        return 0;
    return import_user_failed(c, uid, "creating a linked account's user", &pe, e);
}

/* One recorded call on behalf of uid. */
static int run_call(struct import_ctx *c, const char *uid, json_t *call, struct err *e)
{
    const char *kind = json_string_value(json_object_get(call, "k"));
    const char *method = json_string_value(json_object_get(call, "m"));
    const char *path = json_string_value(json_object_get(call, "p"));
    const char *what = json_string_value(json_object_get(call, "w"));

    if (kind && strcmp(kind, "ensure") == 0)
        return ensure_user(c, uid, call, e);
    if (!method || !path || !what)
        return err_set(e, ERR_INTERNAL, "bad call record");
    return import_user_call(c, uid, method, path, json_object_get(call, "b"), what, e);
}

int import_apply_calls(struct import_ctx *c, struct extsort *s, const char *progress, struct err *e)
{
    const char *key, *rec;
    size_t klen, rlen, done = 0;
    char uid[1024];
    int r;

    if (extsort_finish(s, e) < 0)
        return -1;
    while ((r = extsort_next(s, &key, &klen, &rec, &rlen, e)) == 1) {
        const char *sep = memchr(key, '\x1f', klen);
        json_t *call;
        int rc;

        snprintf(uid, sizeof(uid), "%.*s", (int)(sep ? sep - key : (long)klen), key);
        if (import_failed_already(c, uid))
            continue;
        call = json_loadb(rec, rlen, 0, NULL);
        if (!call)
            return err_set(e, ERR_INTERNAL, "bad call record");
        rc = run_call(c, uid, call, e);
        json_decref(call);
        if (rc < 0)
            return -1;
        progress_update("%s: %zu", progress, ++done);
    }
    return r < 0 ? -1 : 0;
}
