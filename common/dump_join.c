/*
 * dump_join.c - the streaming merge that writes the snapshot.
 *
 * Users and grants are both sorted by user_id, so one pass attaches each
 * user's grants: "roles" ([{id,name}] by name) and "organizations"
 * ([{id,name,roles}] by name). Users with no grant are written as they
 * were serialized, without parsing them again; the others are parsed once
 * more to add the two keys. Grants whose user is not in the snapshot (the
 * user was deleted after the export job ran, or is outside the subset or
 * the policy's selection) are dropped and counted: a snapshot never holds
 * a dangling membership. Exact duplicate grants (a member listed twice by
 * eventually consistent paging) collapse into one.
 */
#include "dump_internal.h"

#include "extsort.h"
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
    struct extsort *s;
    bool have;
    const char *key, *rec;
    size_t klen, rlen;
};

static int cursor_next(struct cursor *c, struct err *e)
{
    int r = extsort_next(c->s, &c->key, &c->klen, &c->rec, &c->rlen, e);

    if (r < 0)
        return -1;
    c->have = r == 1;
    return 0;
}

/* Compares the cursor's key with a user_id of ulen bytes. */
static int key_cmp(const struct cursor *c, const char *uid, size_t ulen)
{
    size_t n = c->klen < ulen ? c->klen : ulen;
    int d = memcmp(c->key, uid, n);

    if (d)
        return d;
    return c->klen < ulen ? -1 : c->klen > ulen ? 1 : 0;
}

static int by_name(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    const char *p = json_string_value(json_object_get(*x, "name"));
    const char *q = json_string_value(json_object_get(*y, "name"));
    int d = strcmp(p ? p : "", q ? q : "");

    if (d)
        return d;
    p = json_string_value(json_object_get(*x, "id"));
    q = json_string_value(json_object_get(*y, "id"));
    return strcmp(p ? p : "", q ? q : "");
}

/* Sorts an array of objects by name (then id), in place. */
static int sort_array(json_t *arr, struct err *e)
{
    size_t n = json_array_size(arr);
    json_t **items;

    if (n < 2)
        return 0;
    items = malloc(n * sizeof(*items));
    if (!items)
        return err_oom(e);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(arr, i));
    qsort(items, n, sizeof(*items), by_name);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, items[i]);
    free(items);
    return 0;
}

/* Adds one grant (JSON text) to the roles/orgs arrays. */
static int add_grant(json_t *roles, json_t *orgs, const char *rec, size_t len, struct err *e)
{
    json_error_t jerr;
    json_t *g = json_loadb(rec, len, 0, &jerr), *item;
    const char *kind = json_string_value(json_object_get(g, "kind"));
    bool is_role;
    int rc = 0;

    if (!g || !kind) {
        json_decref(g);
        return err_set(e, ERR_INTERNAL, "bad grant record in the sort");
    }
    is_role = strcmp(kind, "role") == 0;
    json_object_del(g, "kind"); /* frees kind */
    if (is_role) {
        item = json_pack("{s:O,s:O?}", "id", json_object_get(g, "id"), "name",
                         json_object_get(g, "name"));
        rc = item && json_array_append_new(roles, item) == 0 ? 0 : err_oom(e);
    } else {
        json_t *r = json_object_get(g, "roles");
        if (json_is_array(r) && sort_array(r, e) < 0) {
            json_decref(g);
            return -1;
        }
        rc = json_array_append(orgs, g) == 0 ? 0 : err_oom(e);
    }
    json_decref(g);
    return rc;
}

int dump_join(struct dump_ctx *c, json_t *header, const char *path, bool force, struct err *e)
{
    struct snapshot_writer *w = NULL;
    struct cursor users = {c->users, false, NULL, NULL, 0, 0};
    struct cursor grants = {c->grants, false, NULL, NULL, 0, 0};
    char *prev_uid = NULL, *uid = NULL;
    char *prev_grant = NULL;
    size_t prev_grant_len = 0;
    json_t *roles = NULL, *orgs = NULL, *user = NULL;
    int rc = -1;

    c->phase = "writing";
    if (extsort_finish(c->users, e) < 0 || extsort_finish(c->grants, e) < 0)
        return -1;
    if (snapshot_writer_open(&w, path, header, force, e) < 0)
        return -1;
    if (cursor_next(&grants, e) < 0 || cursor_next(&users, e) < 0)
        goto out;
    roles = json_array();
    orgs = json_array();
    if (!roles || !orgs) {
        err_oom(e);
        goto out;
    }
    while (users.have) {
        const char *conn = users.rec, *line;
        size_t conn_len = strnlen(users.rec, users.rlen), line_len;

        free(uid);
        uid = strndup(users.key, users.klen);
        if (!uid || conn_len >= users.rlen) {
            err_set(e, ERR_INTERNAL, uid ? "bad user record in the sort" : "out of memory");
            goto out;
        }
        line = users.rec + conn_len + 1;
        line_len = users.rlen - conn_len - 1;
        if (prev_uid && strcmp(prev_uid, uid) == 0) {
            /* The same user twice (two overlapping jobs): keep the first. */
            if (cursor_next(&users, e) < 0)
                goto out;
            continue;
        }
        while (grants.have && key_cmp(&grants, users.key, users.klen) < 0) {
            c->res->dropped_grants++;
            if (cursor_next(&grants, e) < 0)
                goto out;
        }
        json_array_clear(roles);
        json_array_clear(orgs);
        free(prev_grant);
        prev_grant = NULL;
        while (grants.have && key_cmp(&grants, users.key, users.klen) == 0) {
            if (!(prev_grant && prev_grant_len == grants.rlen &&
                  memcmp(prev_grant, grants.rec, grants.rlen) == 0)) {
                if (add_grant(roles, orgs, grants.rec, grants.rlen, e) < 0)
                    goto out;
                free(prev_grant);
                prev_grant = malloc(grants.rlen ? grants.rlen : 1);
                if (!prev_grant) {
                    err_oom(e);
                    goto out;
                }
                memcpy(prev_grant, grants.rec, grants.rlen);
                prev_grant_len = grants.rlen;
            }
            if (cursor_next(&grants, e) < 0)
                goto out;
        }
        if (json_array_size(roles) == 0 && json_array_size(orgs) == 0) {
            if (snapshot_writer_append_line(w, uid, conn, line, line_len, e) < 0)
                goto out;
        } else {
            json_error_t jerr;
            user = json_loadb(line, line_len, 0, &jerr);
            if (!user) {
                err_set(e, ERR_INTERNAL, "bad user record in the sort: %s", jerr.text);
                goto out;
            }
            if (sort_array(roles, e) < 0 || sort_array(orgs, e) < 0)
                goto out;
            c->res->role_grants += json_array_size(roles);
            c->res->memberships += json_array_size(orgs);
            if (json_object_set(user, "roles", roles) < 0 ||
                json_object_set(user, "organizations", orgs) < 0) {
                err_oom(e);
                goto out;
            }
            if (snapshot_writer_append(w, user, e) < 0)
                goto out;
            json_decref(user);
            user = NULL;
            /* the arrays now belong to the written user's copy too */
            json_decref(roles);
            json_decref(orgs);
            roles = json_array();
            orgs = json_array();
            if (!roles || !orgs) {
                err_oom(e);
                goto out;
            }
        }
        if (c->res->per_connection) {
            json_t *n = json_object_get(c->res->per_connection, conn);
            json_object_set_new(c->res->per_connection, conn,
                                json_integer(n ? json_integer_value(n) + 1 : 1));
        }
        c->res->users++;
        if (c->res->users % 1000 == 0)
            dump_progress(c, c->res->users);
        free(prev_uid);
        prev_uid = uid;
        uid = NULL;
        if (cursor_next(&users, e) < 0)
            goto out;
    }
    while (grants.have) {
        c->res->dropped_grants++;
        if (cursor_next(&grants, e) < 0)
            goto out;
    }
    snprintf(c->res->snapshot_id, sizeof(c->res->snapshot_id), "%s", snapshot_writer_id(w));
    rc = snapshot_writer_commit(w, e);
    w = NULL;
out:
    snapshot_writer_abort(w);
    json_decref(user);
    json_decref(roles);
    json_decref(orgs);
    free(uid);
    free(prev_uid);
    free(prev_grant);
    return rc;
}
