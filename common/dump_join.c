/*
 * dump_join.c - the streaming merge that writes the snapshot.
 *
 * Users and grants are both sorted by user_id, so one pass attaches each
 * user's grants: "roles" ([{id,name}] by name) and "organizations"
 * ([{id,name,roles}] by name). Users with no grant are written as they
 * were serialized, without parsing them again. For the others the two
 * arrays are built as text (canonjson.h) and spliced into the canonical
 * line where sorted keys put them; anything unusual (ties in the order,
 * strings with escapes, a user that already has one of the keys, a
 * reserved key) takes the jansson path instead: parse, set the keys, dump.
 * Both give the same bytes. Grants whose user is not in the snapshot (the
 * user was deleted after the export job ran, or is outside the subset or
 * the policy's selection) are dropped and counted: a snapshot never holds
 * a dangling membership. Exact duplicate grants (a member listed twice by
 * eventually consistent paging) collapse into one.
 */
#include "dump_internal.h"

#include "jsonutil.h"

#include "canonjson.h"
#include "extsort.h"
#include "snapshot.h"
#include "sortcursor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Permissions by API, then name. */
static int by_permission(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    int d = strcmp(json_string_value(json_object_get(*x, "resource_server_identifier")),
                   json_string_value(json_object_get(*y, "resource_server_identifier")));

    return d ? d
             : strcmp(json_string_value(json_object_get(*x, "permission_name")),
                      json_string_value(json_object_get(*y, "permission_name")));
}

/* One user's grants, as the jansson path collects them. */
struct grant_lists {
    json_t *roles, *orgs, *perms;
    json_t *orgroles; /* {"id": org id, "role": ref}: see dump_member_roles.c */
};

/* Adds one grant (JSON text) to its list. */
static int add_grant(struct grant_lists *l, const char *rec, size_t len, struct err *e)
{
    json_t *roles = l->roles, *orgs = l->orgs, *perms = l->perms;
    json_error_t jerr;
    json_t *g = json_loadb(rec, len, 0, &jerr), *item;
    const char *kind = json_string_value(json_object_get(g, "kind"));
    bool is_role;
    int rc = 0;

    if (!g || !kind) {
        json_decref(g);
        return err_set(e, ERR_INTERNAL, "bad grant record in the sort");
    }
    if (strcmp(kind, "perm") == 0 || strcmp(kind, "orgrole") == 0) {
        /* {"permission_name","resource_server_identifier"}, or {"id","role"} */
        json_t *to = strcmp(kind, "perm") == 0 ? perms : l->orgroles;
        json_object_del(g, "kind");
        rc = json_array_append(to, g) == 0 ? 0 : err_oom(e);
        json_decref(g);
        return rc;
    }
    is_role = strcmp(kind, "role") == 0;
    json_object_del(g, "kind"); /* frees kind */
    if (is_role) {
        item = json_pack("{s:O,s:O?}", "id", json_object_get(g, "id"), "name",
                         json_object_get(g, "name"));
        rc = item && json_array_append_new(roles, item) == 0 ? 0 : err_oom(e);
    } else {
        rc = json_array_append(orgs, g) == 0 ? 0 : err_oom(e);
    }
    json_decref(g);
    return rc;
}

/* Each "orgrole" into its membership (once), then every membership's
 * roles sorted. A role whose membership is gone (the member left between
 * the two reads) is dropped and counted. */
static int place_org_roles(struct dump_ctx *c, struct grant_lists *l, struct err *e)
{
    json_t *g, *org;
    size_t i, j;

    json_array_foreach(l->orgroles, i, g)
    {
        const char *org_id = json_string_value(json_object_get(g, "id"));
        json_t *ref = json_object_get(g, "role");
        const char *rid = json_string_value(json_object_get(ref, "id"));
        bool placed = false;
        json_array_foreach(l->orgs, j, org)
        {
            const char *id = json_string_value(json_object_get(org, "id"));
            json_t *roles = json_object_get(org, "roles");
            if (!org_id || !rid || !id || strcmp(id, org_id) != 0 || !json_is_array(roles))
                continue;
            if (!json_array_find(roles, "id", rid) && json_array_append(roles, ref) < 0)
                return err_oom(e);
            placed = true;
            break;
        }
        if (!placed)
            c->res->dropped_grants++;
    }
    json_array_foreach(l->orgs, j, org)
    {
        json_t *r = json_object_get(org, "roles");
        if (json_is_array(r) && json_sort_by_name(r, e) < 0)
            return -1;
    }
    return 0;
}

/* ---- one user's grants ---------------------------------------------------- */

#define JOIN_GRANTS_MAX ((size_t)256 << 20) /* grant text held for one user */

/* The distinct grant records of one user, back to back: a 4-byte length,
 * then the record. */
struct grant_set {
    struct buf text;
    size_t count;
    size_t last; /* offset of the last record */
};

static int grants_add(struct grant_set *g, const char *rec, size_t len, struct err *e)
{
    uint32_t n = (uint32_t)len, m;

    if (g->count) {
        /* Exact duplicates are adjacent in the sort: compare with the last. */
        memcpy(&m, g->text.data + g->last, 4);
        if (m == len && memcmp(g->text.data + g->last + 4, rec, len) == 0)
            return 0;
    }
    g->last = g->text.len;
    if (buf_append(&g->text, &n, 4, e) < 0 || buf_append(&g->text, rec, len, e) < 0)
        return -1;
    g->count++;
    return 0;
}

/* Walks the records: *off starts at 0; false at the end. */
static bool grants_next(const struct grant_set *g, size_t *off, const char **rec, size_t *len)
{
    uint32_t n;

    if (*off >= g->text.len)
        return false;
    memcpy(&n, g->text.data + *off, 4);
    *rec = g->text.data + *off + 4;
    *len = n;
    *off += 4 + (size_t)n;
    return true;
}

/* The jansson path: the user parsed, the two arrays set, dumped by the writer. */
static int join_slow(struct dump_ctx *c, struct snapshot_writer *w, const struct grant_set *gs,
                     const char *line, size_t line_len, struct err *e)
{
    struct grant_lists l = {json_array(), json_array(), json_array(), json_array()};
    json_t *user = NULL;
    json_error_t jerr;
    const char *rec;
    size_t off = 0, len;
    int rc = -1;

    if (!l.roles || !l.orgs || !l.perms || !l.orgroles) {
        err_oom(e);
        goto out;
    }
    while (grants_next(gs, &off, &rec, &len))
        if (add_grant(&l, rec, len, e) < 0)
            goto out;
    user = json_loadb(line, line_len, 0, &jerr);
    if (!user) {
        err_set(e, ERR_INTERNAL, "bad user record in the sort: %s", jerr.text);
        goto out;
    }
    if (place_org_roles(c, &l, e) < 0 || json_sort_by_name(l.roles, e) < 0 ||
        json_sort_by_name(l.orgs, e) < 0 || json_array_sort(l.perms, by_permission, e) < 0)
        goto out;
    c->res->role_grants += json_array_size(l.roles);
    c->res->memberships += json_array_size(l.orgs);
    c->res->permission_grants += json_array_size(l.perms);
    if (json_object_set(user, "roles", l.roles) < 0 ||
        json_object_set(user, "organizations", l.orgs) < 0 ||
        (json_array_size(l.perms) && json_object_set(user, "permissions", l.perms) < 0)) {
        err_oom(e);
        goto out;
    }
    rc = snapshot_writer_append(w, user, e);
out:
    json_decref(user);
    json_decref(l.roles);
    json_decref(l.orgs);
    json_decref(l.perms);
    json_decref(l.orgroles);
    return rc;
}

/* ---- the fast path: the arrays as text, spliced into the line ------------- */

/* An element of "roles", "organizations" or an organization's "roles":
 * its text in items.text and its sort keys (borrowed from the grant text,
 * "" for a missing value or one that is not a string, as by_name()). */
struct item {
    size_t off, len;
    const char *name, *id;
    size_t nlen, idlen;
};

struct items {
    struct item *v;
    size_t n, cap;
};

struct join_fast {
    struct canonjson cj; /* a grant record, then the user line */
    struct buf text;     /* item texts */
    struct items roles, orgs, sub;
    struct buf line; /* the line being written */
    char *scratch;   /* one node's text */
    size_t scratch_cap;
};

static void join_fast_init(struct join_fast *f)
{
    memset(f, 0, sizeof(*f));
    canonjson_init(&f->cj);
    buf_init(&f->text, JOIN_GRANTS_MAX);
    buf_init(&f->line, JOIN_GRANTS_MAX);
}

static void join_fast_release(struct join_fast *f)
{
    canonjson_release(&f->cj);
    buf_release(&f->text);
    buf_release(&f->line);
    free(f->roles.v);
    free(f->orgs.v);
    free(f->sub.v);
    free(f->scratch);
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int d = memcmp(a, b, alen < blen ? alen : blen);

    if (d)
        return d;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* by_name() on texts: strcmp of name, then id (no NUL in either). */
static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int d = bytes_cmp(x->name, x->nlen, y->name, y->nlen);

    return d ? d : bytes_cmp(x->id, x->idlen, y->id, y->idlen);
}

/* Sorts; false on a tie, whose order only jansson's qsort may decide. */
static bool items_sort(struct items *it)
{
    size_t i;

    if (it->n < 2)
        return true;
    qsort(it->v, it->n, sizeof(*it->v), item_cmp);
    for (i = 1; i < it->n; i++)
        if (item_cmp(&it->v[i - 1], &it->v[i]) == 0)
            return false;
    return true;
}

static struct item *items_push(struct items *it, struct err *e)
{
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 16;
        struct item *v = realloc(it->v, cap * sizeof(*v));
        if (!v) {
            err_oom(e);
            return NULL;
        }
        it->v = v;
        it->cap = cap;
    }
    memset(&it->v[it->n], 0, sizeof(it->v[0]));
    return &it->v[it->n++];
}

/* A sort key of object node: false when it is a string with escapes. */
static bool sort_key(const struct canonjson *cj, size_t node, const char *key, const char **s,
                     size_t *len)
{
    size_t x = canonjson_get(cj, node, key, strlen(key));

    *s = "";
    *len = 0;
    if (x == CANONJSON_NONE || canonjson_type(cj, x) != CANONJSON_STRING)
        return true;
    return canonjson_string(cj, x, s, len);
}

/* Appends one node's canonical text to b. */
static int put_node(struct join_fast *f, struct buf *b, size_t node, struct err *e)
{
    size_t need = canonjson_bound(&f->cj), n;

    if (need > f->scratch_cap) {
        char *p = realloc(f->scratch, need);
        if (!p)
            return err_oom(e);
        f->scratch = p;
        f->scratch_cap = need;
    }
    n = canonjson_write(&f->cj, node, f->scratch);
    return buf_append(b, f->scratch, n, e);
}

static int put(struct buf *b, const char *s, size_t len, struct err *e)
{
    return buf_append(b, s, len, e);
}

/* An organization grant as the jansson path leaves it: without "kind",
 * its "roles" sorted. 1, 0 (not handled), -1. */
static int org_text(struct join_fast *f, struct err *e)
{
    const struct canonjson *cj = &f->cj;
    size_t x, y, klen, i;
    const char *key;
    bool first = true;

    if (put(&f->text, "{", 1, e) < 0)
        return -1;
    for (x = canonjson_first(cj, CANONJSON_ROOT); x != CANONJSON_NONE; x = canonjson_next(cj, x)) {
        key = canonjson_key(cj, x, &klen);
        if (bytes_cmp(key, klen, "kind", 4) == 0)
            continue;
        if ((!first && put(&f->text, ",", 1, e) < 0) || put(&f->text, "\"", 1, e) < 0 ||
            put(&f->text, key, klen, e) < 0 || put(&f->text, "\":", 2, e) < 0)
            return -1;
        first = false;
        if (bytes_cmp(key, klen, "roles", 5) != 0 || canonjson_type(cj, x) != CANONJSON_ARRAY) {
            if (put_node(f, &f->text, x, e) < 0)
                return -1;
            continue;
        }
        f->sub.n = 0;
        for (y = canonjson_first(cj, x); y != CANONJSON_NONE; y = canonjson_next(cj, y)) {
            struct item *it = items_push(&f->sub, e);
            if (!it)
                return -1;
            it->off = y; /* the node, written once sorted */
            if (!sort_key(cj, y, "name", &it->name, &it->nlen) ||
                !sort_key(cj, y, "id", &it->id, &it->idlen))
                return 0;
        }
        if (!items_sort(&f->sub))
            return 0;
        if (put(&f->text, "[", 1, e) < 0)
            return -1;
        for (i = 0; i < f->sub.n; i++)
            if ((i && put(&f->text, ",", 1, e) < 0) ||
                put_node(f, &f->text, f->sub.v[i].off, e) < 0)
                return -1;
        if (put(&f->text, "]", 1, e) < 0)
            return -1;
    }
    return put(&f->text, "}", 1, e) < 0 ? -1 : 1;
}

/* One grant record into f->roles or f->orgs, as add_grant() does. */
static int grant_item(struct join_fast *f, const char *rec, size_t len, struct err *e)
{
    const struct canonjson *cj = &f->cj;
    size_t kind, id, name;
    const char *k;
    size_t klen;
    struct item *it;
    int r;

    r = canonjson_parse(&f->cj, rec, len, e);
    if (r <= 0)
        return r;
    kind = canonjson_get(cj, CANONJSON_ROOT, "kind", 4);
    if (kind == CANONJSON_NONE || !canonjson_string(cj, kind, &k, &klen))
        return 0;
    if ((klen == 4 && memcmp(k, "perm", 4) == 0) || (klen == 7 && memcmp(k, "orgrole", 7) == 0))
        return 0; /* permissions, roles apart from their membership: the jansson path */
    it = items_push(klen == 4 && memcmp(k, "role", 4) == 0 ? &f->roles : &f->orgs, e);
    if (!it)
        return -1;
    if (!sort_key(cj, CANONJSON_ROOT, "name", &it->name, &it->nlen) ||
        !sort_key(cj, CANONJSON_ROOT, "id", &it->id, &it->idlen))
        return 0;
    it->off = f->text.len;
    if (klen == 4 && memcmp(k, "role", 4) == 0) {
        /* {"id": id, "name": name or null} */
        id = canonjson_get(cj, CANONJSON_ROOT, "id", 2);
        name = canonjson_get(cj, CANONJSON_ROOT, "name", 4);
        if (id == CANONJSON_NONE)
            return 0;
        if (put(&f->text, "{\"id\":", 6, e) < 0 || put_node(f, &f->text, id, e) < 0 ||
            put(&f->text, ",\"name\":", 8, e) < 0 ||
            (name == CANONJSON_NONE ? put(&f->text, "null", 4, e)
                                    : put_node(f, &f->text, name, e)) < 0 ||
            put(&f->text, "}", 1, e) < 0)
            return -1;
    } else if ((r = org_text(f, e)) <= 0) {
        return r;
    }
    it->len = f->text.len - it->off;
    return 1;
}

/* `"name":[items]` */
static int put_array(struct join_fast *f, const char *name, const struct items *it, struct err *e)
{
    size_t i;

    if (put(&f->line, "\"", 1, e) < 0 || put(&f->line, name, strlen(name), e) < 0 ||
        put(&f->line, "\":[", 3, e) < 0)
        return -1;
    for (i = 0; i < it->n; i++)
        if ((i && put(&f->line, ",", 1, e) < 0) ||
            put(&f->line, f->text.data + it->v[i].off, it->v[i].len, e) < 0)
            return -1;
    return put(&f->line, "]", 1, e);
}

/* The user with its grants, written without jansson: 1, 0 (not handled:
 * nothing was written or counted), -1. */
static int join_fast(struct join_fast *f, struct dump_ctx *c, struct snapshot_writer *w,
                     const struct grant_set *gs, const char *uid, const char *conn,
                     const char *line, size_t line_len, struct err *e)
{
    static const char *const keys[2] = {"organizations", "roles"};
    const struct items *arrays[2] = {&f->orgs, &f->roles};
    const char *rec, *key;
    size_t off = 0, len, x, klen;
    int r, next = 0, d = 1;
    bool first = true;

    buf_reset(&f->text);
    buf_reset(&f->line);
    f->roles.n = f->orgs.n = 0;
    while (grants_next(gs, &off, &rec, &len))
        if ((r = grant_item(f, rec, len, e)) <= 0)
            return r;
    if (!items_sort(&f->roles) || !items_sort(&f->orgs))
        return 0;
    r = canonjson_parse(&f->cj, line, line_len, e);
    if (r <= 0)
        return r;
    /* The writer refuses a user holding "a0snap"; the jansson path says so. */
    if (canonjson_get(&f->cj, CANONJSON_ROOT, "a0snap", 6) != CANONJSON_NONE)
        return 0;
    if (put(&f->line, "{", 1, e) < 0)
        return -1;
    for (x = canonjson_first(&f->cj, CANONJSON_ROOT);; x = canonjson_next(&f->cj, x)) {
        key = x == CANONJSON_NONE ? NULL : canonjson_key(&f->cj, x, &klen);
        while (next < 2 &&
               (!key || (d = bytes_cmp(keys[next], strlen(keys[next]), key, klen)) < 0)) {
            if ((!first && put(&f->line, ",", 1, e) < 0) ||
                put_array(f, keys[next], arrays[next], e) < 0)
                return -1;
            first = false;
            next++;
        }
        if (!key)
            break;
        if (next < 2 && d == 0)
            return 0; /* the user already has the key: jansson replaces it */
        if ((!first && put(&f->line, ",", 1, e) < 0) || put(&f->line, "\"", 1, e) < 0 ||
            put(&f->line, key, klen, e) < 0 || put(&f->line, "\":", 2, e) < 0 ||
            put_node(f, &f->line, x, e) < 0)
            return -1;
        first = false;
    }
    if (put(&f->line, "}", 1, e) < 0)
        return -1;
    /* Too large: the jansson path words the error as it always did. */
    if (f->line.len > SNAPSHOT_MAX_LINE)
        return 0;
    if (snapshot_writer_append_line(w, uid, conn, f->line.data, f->line.len, e) < 0)
        return -1;
    c->res->role_grants += f->roles.n;
    c->res->memberships += f->orgs.n;
    return 1;
}

int dump_join(struct dump_ctx *c, json_t *header, const char *path, bool force, struct err *e)
{
    struct snapshot_write_opts wo;
    struct snapshot_writer *w = NULL;
    struct sort_cursor users, grants;
    struct grant_set gs;
    struct join_fast *fast = NULL;
    char *prev_uid = NULL, *uid = NULL;
    int rc = -1, r;

    c->phase = "writing";
    sort_cursor_init(&users, c->users);
    sort_cursor_init(&grants, c->grants);
    memset(&gs, 0, sizeof(gs));
    buf_init(&gs.text, JOIN_GRANTS_MAX);
    if (extsort_finish(c->users, e) < 0 || extsort_finish(c->grants, e) < 0)
        goto out;
    fast = malloc(sizeof(*fast));
    if (!fast) {
        err_oom(e);
        goto out;
    }
    join_fast_init(fast);
    wo.force = force;
    wo.sign = c->req->sign;
    wo.encrypt_to = c->req->encrypt_to;
    if (snapshot_writer_open_with(&w, path, header, &wo, e) < 0)
        goto out;
    if (sort_cursor_next(&grants, e) < 0 || sort_cursor_next(&users, e) < 0)
        goto out;
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
            if (sort_cursor_next(&users, e) < 0)
                goto out;
            continue;
        }
        while (grants.have && sort_cursor_cmp(&grants, users.key, users.klen) < 0) {
            c->res->dropped_grants++;
            if (sort_cursor_next(&grants, e) < 0)
                goto out;
        }
        buf_reset(&gs.text);
        gs.count = 0;
        while (grants.have && sort_cursor_cmp(&grants, users.key, users.klen) == 0) {
            if (grants_add(&gs, grants.rec, grants.rlen, e) < 0 || sort_cursor_next(&grants, e) < 0)
                goto out;
        }
        if (gs.count == 0) {
            if (snapshot_writer_append_line(w, uid, conn, line, line_len, e) < 0)
                goto out;
        } else {
            r = join_fast(fast, c, w, &gs, uid, conn, line, line_len, e);
            if (r < 0 || (r == 0 && join_slow(c, w, &gs, line, line_len, e) < 0))
                goto out;
            c->joins_fast += r == 1;
            c->joins_slow += r == 0;
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
        if (sort_cursor_next(&users, e) < 0)
            goto out;
    }
    while (grants.have) {
        c->res->dropped_grants++;
        if (sort_cursor_next(&grants, e) < 0)
            goto out;
    }
    snprintf(c->res->snapshot_id, sizeof(c->res->snapshot_id), "%s", snapshot_writer_id(w));
    rc = snapshot_writer_commit(w, e);
    w = NULL;
out:
    snapshot_writer_abort(w);
    if (fast)
        join_fast_release(fast);
    free(fast);
    buf_release(&gs.text);
    free(uid);
    free(prev_uid);
    return rc;
}
