/*
 * dump_subset.c - --user, --email and --query: the users to reproduce a
 * bug with, read through /users rather than an export job.
 *
 * /users pages stop at 1,000 results; a query that matches more stops the
 * run with an error instead of writing a snapshot that silently lacks
 * users. For up to SUBSET_PER_USER_MAX users, roles and memberships are
 * asked per user; above that, the bulk member lists are cheaper.
 */
#include "dump_internal.h"

#include "buf.h"
#include "tenant.h"
#include "url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SUBSET_PER_USER_MAX 50
#define SEARCH_CAP          1000

struct subset {
    struct dump_ctx *c;
    char **ids;
    size_t n, cap;
};

static int remember(struct subset *s, const char *id, struct err *e)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **p = realloc(s->ids, cap * sizeof(*p));
        if (!p)
            return err_oom(e);
        s->ids = p;
        s->cap = cap;
    }
    s->ids[s->n] = strdup(id);
    if (!s->ids[s->n])
        return err_oom(e);
    s->n++;
    return 0;
}

/* Takes one user found through /users into the run, once. */
static int take_user(struct subset *s, json_t *user, struct err *e)
{
    const char *id = json_string_value(json_object_get(user, "user_id"));
    size_t before = s->n;
    json_t *copy;
    int rc;

    if (!id)
        return err_set(e, ERR_API, "a user in the answer has no user_id");
    if (remember(s, id, e) < 0)
        return -1;
    if (s->n == before)
        return 0; /* named twice (by id and by email, say) */
    /* Privacy rewrites the object in place; keep the answer intact. */
    copy = json_deep_copy(user);
    if (!copy)
        return err_oom(e);
    rc = dump_ingest_user(s->c, copy, e);
    json_decref(copy);
    return rc;
}

static int fields_param(struct buf *b, struct err *e)
{
    if (buf_appends(b, "fields=", e) < 0)
        return -1;
    for (const char *const *f = dump_fields; *f; f++)
        if (buf_appendf(b, e, "%s%s", f == dump_fields ? "" : "%2C", *f) < 0)
            return -1;
    return buf_appends(b, "&include_fields=true", e);
}

static int by_id(struct subset *s, const char *id, const char *fields, struct err *e)
{
    char esc[1024], path[4096];
    json_t *user = NULL;
    int rc;

    if (url_escape(esc, sizeof(esc), id) < 0)
        return err_set(e, ERR_USAGE, "user id '%.64s...' is too long", id);
    snprintf(path, sizeof(path), "/users/%s?%s", esc, fields);
    if (tenant_call(s->c->tenant, "GET", path, NULL, &user, e) < 0) {
        if (e->http_status == 404)
            return err_set(e, ERR_USAGE, "no user with id '%s' in the tenant", id);
        return -1;
    }
    rc = take_user(s, user, e);
    json_decref(user);
    return rc;
}

static int by_email(struct subset *s, const char *email, const char *fields, struct err *e)
{
    char lower[512], esc[1600], path[4096];
    json_t *users = NULL, *u;
    size_t i, n = strlen(email);
    int rc = 0;

    if (n >= sizeof(lower))
        return err_set(e, ERR_USAGE, "email address too long");
    /* Auth0 stores database emails lower-cased and matches case-sensitively. */
    for (i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)email[i]);
    url_escape(esc, sizeof(esc), lower);
    snprintf(path, sizeof(path), "/users-by-email?email=%s&%s", esc, fields);
    if (tenant_call(s->c->tenant, "GET", path, NULL, &users, e) < 0)
        return -1;
    if (!json_is_array(users)) {
        json_decref(users);
        return err_set(e, ERR_API, "GET /users-by-email: answer is not a list");
    }
    if (json_array_size(users) == 0)
        rc = err_set(e, ERR_USAGE, "no user with email '%s' in the tenant", email);
    json_array_foreach(users, i, u)
    {
        if (rc == 0 && take_user(s, u, e) < 0)
            rc = -1;
    }
    json_decref(users);
    return rc;
}

static int by_query(struct subset *s, const char *q, const char *fields, struct err *e)
{
    struct buf path;
    char *esc = NULL;
    json_t *page = NULL;
    size_t qlen = strlen(q), seen = 0;
    int rc = -1;

    buf_init(&path, 64 * 1024);
    esc = malloc(qlen * 3 + 1);
    if (!esc) {
        err_oom(e);
        goto out;
    }
    url_escape(esc, qlen * 3 + 1, q);
    for (int n = 0;; n++) {
        json_t *users, *u, *total;
        size_t i;

        buf_reset(&path);
        if (buf_appendf(&path, e,
                        "/users?q=%s&search_engine=v3&page=%d&per_page=100&include_totals=true&%s",
                        esc, n, fields) < 0)
            goto out;
        json_decref(page);
        page = NULL;
        if (tenant_call(s->c->tenant, "GET", buf_str(&path), NULL, &page, e) < 0) {
            if (e->http_status == 400 && n * 100 >= SEARCH_CAP)
                err_set(e, ERR_USAGE,
                        "the query matches more than the %d users the API can page through; "
                        "narrow it, or export the whole tenant (nothing was written)",
                        SEARCH_CAP);
            else
                err_prefix(e, "searching users");
            goto out;
        }
        total = json_object_get(page, "total");
        if (json_is_integer(total) && json_integer_value(total) > SEARCH_CAP) {
            err_set(e, ERR_USAGE,
                    "the query matches %lld users, more than the %d the API can page through; "
                    "narrow it, or export the whole tenant (nothing was written)",
                    (long long)json_integer_value(total), SEARCH_CAP);
            goto out;
        }
        users = json_is_array(page) ? page : json_object_get(page, "users");
        if (!json_is_array(users)) {
            err_set(e, ERR_API, "GET /users: answer has no 'users' list");
            goto out;
        }
        json_array_foreach(users, i, u)
        {
            if (take_user(s, u, e) < 0)
                goto out;
        }
        seen += json_array_size(users);
        /* A short page ends the list; so does a total that has been
         * reached exactly, which saves asking for a page past the API's
         * 1,000-user window. A total below what was seen is wrong (real
         * tenants have answered 0 beside a page of users): ignored. */
        if (json_array_size(users) < 100 ||
            (json_is_integer(total) && (json_int_t)seen == json_integer_value(total)))
            break;
        if (seen >= SEARCH_CAP) {
            err_set(e, ERR_USAGE,
                    "the query matches at least %d users, as many as the API can page through; "
                    "narrow it, or export the whole tenant (nothing was written)",
                    SEARCH_CAP);
            goto out;
        }
    }
    rc = 0;
out:
    free(esc);
    json_decref(page);
    buf_release(&path);
    return rc;
}

int dump_subset(struct dump_ctx *c, struct err *e)
{
    const struct dump_request *o = c->req;
    struct subset s = {c, NULL, 0, 0};
    struct buf fields;
    int rc = -1;

    buf_init(&fields, 4096);
    if (fields_param(&fields, e) < 0)
        goto out;
    c->phase = "users";
    for (size_t i = 0; i < o->n_users; i++)
        if (by_id(&s, o->users[i], buf_str(&fields), e) < 0)
            goto out;
    for (size_t i = 0; i < o->n_emails; i++)
        if (by_email(&s, o->emails[i], buf_str(&fields), e) < 0)
            goto out;
    if (o->query && by_query(&s, o->query, buf_str(&fields), e) < 0)
        goto out;
    tenant_notify(c->tenant, 1, "subset: %zu users", s.n);
    if (s.n <= SUBSET_PER_USER_MAX) {
        c->phase = "roles and memberships";
        for (size_t i = 0; i < s.n; i++)
            if (dump_grants_for_user(c, s.ids[i], e) < 0)
                goto out;
    } else if (dump_grants_bulk(c, e) < 0) {
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < s.n; i++)
        free(s.ids[i]);
    free(s.ids);
    buf_release(&fields);
    return rc;
}
