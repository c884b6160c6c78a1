/*
 * snapdiff.c - the streaming diff of two sorted snapshots (see snapdiff.h).
 *
 * Design: a classic sorted merge. Each side holds exactly one user (its
 * current one); the side with the smaller user_id is the one that moves,
 * and equal ids are compared key by key. The order is re-checked here even
 * though the snapshot reader already refuses a misordered file: the merge
 * is only correct on sorted input, and an iterator that is not a reader
 * gets no such guarantee. user_ids are compared with their lengths (a JSON
 * string may hold NUL bytes), exactly as the reader orders them.
 */
#include "snapdiff.h"

#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

const char *const snapdiff_activity_keys[] = {"last_login", "logins_count", "updated_at", NULL};

bool snapdiff_is_activity_key(const char *key)
{
    for (const char *const *k = snapdiff_activity_keys; *k; k++)
        if (strcmp(key, *k) == 0)
            return true;
    return false;
}

const char *snapdiff_kind_name(enum snapdiff_kind kind)
{
    switch (kind) {
    case SNAPDIFF_ADDED:
        return "added";
    case SNAPDIFF_REMOVED:
        return "removed";
    case SNAPDIFF_CHANGED:
        return "changed";
    case SNAPDIFF_ACTIVITY:
        return "activity_only";
    }
    return "unknown";
}

void snapdiff_stats_init(struct snapdiff_stats *s)
{
    memset(s, 0, sizeof(*s));
}

void snapdiff_stats_release(struct snapdiff_stats *s)
{
    if (!s)
        return;
    json_decref(s->fields);
    snapdiff_stats_init(s);
}

/* --- one user ---------------------------------------------------------- */

static bool is_grant_key(const char *key)
{
    return strcmp(key, "roles") == 0 || strcmp(key, "organizations") == 0 ||
           strcmp(key, "permissions") == 0;
}

/* A snapshot leaves "roles", "organizations" and "permissions" out for a
 * user without grants, and Auth0 may give [] for the same thing. */
static bool is_empty_grant(const json_t *v)
{
    return !v || (json_is_array(v) && json_array_size(v) == 0);
}

static bool key_equal(const char *key, const json_t *a, const json_t *b)
{
    if (is_grant_key(key) && is_empty_grant(a) && is_empty_grant(b))
        return true;
    if (!a || !b)
        return false;
    return json_equal(a, b) != 0;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int snapdiff_user(const json_t *old_user, const json_t *new_user, const struct snapdiff_opts *opts,
                  json_t **fields, json_t **activity, struct err *e)
{
    bool all = opts && opts->compare_activity;
    const char **keys = NULL, *key;
    size_t n = 0, cap;
    json_t *v, *f = NULL, *a = NULL;
    int rc = -1;

    *fields = *activity = NULL;
    cap = json_object_size(old_user) + json_object_size(new_user);
    if (cap && !(keys = malloc(cap * sizeof(*keys))))
        return err_oom(e);
    /* jansson's iteration API wants non-const objects; nothing is changed. */
    json_object_foreach((json_t *)old_user, key, v)
    {
        if (!key_equal(key, v, json_object_get(new_user, key)))
            keys[n++] = key;
    }
    json_object_foreach((json_t *)new_user, key, v)
    {
        if (!json_object_get(old_user, key) && !key_equal(key, NULL, v))
            keys[n++] = key;
    }
    if (n > 1)
        qsort(keys, n, sizeof(*keys), by_str);
    f = json_array();
    a = json_array();
    if (!f || !a) {
        err_oom(e);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *to = !all && snapdiff_is_activity_key(keys[i]) ? a : f;
        if (json_array_append_new(to, json_string(keys[i])) < 0) {
            err_oom(e);
            goto out;
        }
    }
    *fields = f;
    *activity = a;
    f = a = NULL;
    rc = 0;
out:
    json_decref(f);
    json_decref(a);
    free(keys);
    return rc;
}

/* --- the merge --------------------------------------------------------- */

struct side {
    const char *name; /* "old" / "new", for messages */
    snapdiff_next_fn next;
    void *ctx;
    json_t *cur; /* owned; NULL at the end */
    const char *id;
    size_t idlen;
    unsigned long long n;
};

static int id_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    return c ? c : (alen > blen) - (alen < blen);
}

/* Moves s to its next user (cur NULL at the end), checking the order. */
static int side_advance(struct side *s, struct err *e)
{
    json_t *u = NULL, *idv;
    const char *id;
    size_t idlen;
    char q[96], q2[96];
    int rc;

    rc = s->next(s->ctx, &u, e);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        json_decref(s->cur);
        s->cur = NULL;
        s->id = NULL;
        s->idlen = 0;
        return 0;
    }
    idv = json_object_get(u, "user_id");
    id = json_string_value(idv);
    idlen = json_string_length(idv);
    if (!id || !idlen) {
        json_decref(u);
        return err_set(e, ERR_SNAPSHOT, "%s snapshot: user %llu has no 'user_id' string", s->name,
                       s->n + 1);
    }
    if (s->cur && id_cmp(id, idlen, s->id, s->idlen) <= 0) {
        snapshot_printable(q, sizeof(q), id, idlen);
        snapshot_printable(q2, sizeof(q2), s->id, s->idlen);
        json_decref(u);
        return err_set(e, ERR_SNAPSHOT, "%s snapshot: user_id '%s' is out of order (after '%s')",
                       s->name, q, q2);
    }
    json_decref(s->cur);
    s->cur = u;
    s->id = id;
    s->idlen = idlen;
    s->n++;
    return 0;
}

static int count_field(json_t *counts, const char *key, struct err *e)
{
    json_t *n = json_object_get(counts, key);

    if (!n && json_object_size(counts) >= SNAPDIFF_MAX_FIELDS) {
        key = SNAPDIFF_OTHER_FIELDS;
        n = json_object_get(counts, key);
    }
    if (n ? json_integer_set(n, json_integer_value(n) + 1) < 0
          : json_object_set_new(counts, key, json_integer(1)) < 0)
        return err_oom(e);
    return 0;
}

/* Compares the two current users (same user_id) and reports the result. */
static int diff_pair(const struct side *o, const struct side *n, const struct snapdiff_opts *opts,
                     snapdiff_fn fn, void *ctx, struct snapdiff_stats *st, struct err *e)
{
    json_t *fields = NULL, *activity = NULL;
    struct snapdiff_item item;
    size_t i;
    int rc = -1;

    if (snapdiff_user(o->cur, n->cur, opts, &fields, &activity, e) < 0)
        return -1;
    memset(&item, 0, sizeof(item));
    item.user_id = n->id;
    item.user_id_len = n->idlen;
    item.old_user = o->cur;
    item.new_user = n->cur;
    if (json_array_size(fields)) {
        st->changed++;
        for (i = 0; i < json_array_size(fields); i++)
            if (count_field(st->fields, json_string_value(json_array_get(fields, i)), e) < 0)
                goto out;
        item.kind = SNAPDIFF_CHANGED;
        item.fields = fields;
    } else if (json_array_size(activity)) {
        st->activity_only++;
        item.kind = SNAPDIFF_ACTIVITY;
        item.fields = activity;
    } else {
        st->unchanged++;
        rc = 0;
        goto out;
    }
    rc = fn ? fn(ctx, &item, e) : 0;
out:
    json_decref(fields);
    json_decref(activity);
    return rc;
}

/* Reports the current user of s as added or removed. */
static int diff_single(const struct side *s, enum snapdiff_kind kind, const json_t *none,
                       snapdiff_fn fn, void *ctx, struct err *e)
{
    struct snapdiff_item item;

    if (!fn)
        return 0;
    memset(&item, 0, sizeof(item));
    item.kind = kind;
    item.user_id = s->id;
    item.user_id_len = s->idlen;
    item.old_user = kind == SNAPDIFF_REMOVED ? s->cur : NULL;
    item.new_user = kind == SNAPDIFF_ADDED ? s->cur : NULL;
    item.fields = none;
    return fn(ctx, &item, e);
}

int snapdiff_run(snapdiff_next_fn old_next, void *old_ctx, snapdiff_next_fn new_next, void *new_ctx,
                 const struct snapdiff_opts *opts, snapdiff_fn fn, void *ctx,
                 struct snapdiff_stats *st, struct err *e)
{
    struct side o = {"old", old_next, old_ctx, NULL, NULL, 0, 0};
    struct side n = {"new", new_next, new_ctx, NULL, NULL, 0, 0};
    json_t *none = json_array();
    int rc = -1, c;

    snapdiff_stats_init(st);
    st->fields = json_object();
    if (!none || !st->fields) {
        err_oom(e);
        goto out;
    }
    if (side_advance(&o, e) < 0 || side_advance(&n, e) < 0)
        goto out;
    while (o.cur || n.cur) {
        c = !n.cur ? -1 : !o.cur ? 1 : id_cmp(o.id, o.idlen, n.id, n.idlen);
        if (c < 0) {
            st->removed++;
            if (diff_single(&o, SNAPDIFF_REMOVED, none, fn, ctx, e) < 0 || side_advance(&o, e) < 0)
                goto out;
        } else if (c > 0) {
            st->added++;
            if (diff_single(&n, SNAPDIFF_ADDED, none, fn, ctx, e) < 0 || side_advance(&n, e) < 0)
                goto out;
        } else {
            if (diff_pair(&o, &n, opts, fn, ctx, st, e) < 0 || side_advance(&o, e) < 0 ||
                side_advance(&n, e) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    st->old_users = o.n;
    st->new_users = n.n;
    json_decref(o.cur);
    json_decref(n.cur);
    json_decref(none);
    return rc;
}

static int reader_next(void *ctx, json_t **user, struct err *e)
{
    return snapshot_reader_next(ctx, user, e);
}

int snapdiff_readers(struct snapshot_reader *old_r, struct snapshot_reader *new_r,
                     const struct snapdiff_opts *opts, snapdiff_fn fn, void *ctx,
                     struct snapdiff_stats *st, struct err *e)
{
    return snapdiff_run(reader_next, old_r, reader_next, new_r, opts, fn, ctx, st, e);
}
