/*
 * dump_run.c - dump_tenant(): the stages of dump.h in order.
 */
#include "dump_internal.h"

#include "extsort.h"
#include "tenant.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SORT_MEM ((size_t)32 << 20)

void dump_result_init(struct dump_result *r)
{
    memset(r, 0, sizeof(*r));
}

void dump_result_release(struct dump_result *r)
{
    json_decref(r->per_connection);
    json_decref(r->catalogue);
    r->per_connection = NULL;
    r->catalogue = NULL;
}

static json_t *string_array(const char *const *items, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

/* The caller's header plus what the dump knows: source, catalogue and the
 * request. A caller may already have set "request" (export redacts
 * emails and queries); its keys win. */
static json_t *build_header(struct dump_ctx *c)
{
    const struct dump_request *r = c->req;
    json_t *h = r->header ? json_deep_copy(r->header) : json_object();
    json_t *req = json_object(), *fields = json_array(), *given;

    if (!h || !req || !fields) {
        json_decref(h);
        json_decref(req);
        json_decref(fields);
        return NULL;
    }
    for (const char *const *f = dump_fields; *f; f++)
        json_array_append_new(fields, json_string(*f));
    json_object_set_new(req, "fields", fields);
    json_object_set_new(req, "connections", string_array(r->connections, r->n_connections));
    json_object_set_new(req, "users", string_array(r->users, r->n_users));
    json_object_set_new(req, "emails", string_array(r->emails, r->n_emails));
    json_object_set_new(req, "query", r->query ? json_string(r->query) : json_null());
    json_object_set_new(req, "subset", json_boolean(r->n_users || r->n_emails || r->query));
    /* Whether users' direct permissions were read: an import leaves the
     * target's alone when they were not. */
    json_object_set_new(req, "permissions", json_boolean(r->with_permissions));
    given = json_object_get(h, "request");
    if (json_is_object(given))
        json_object_update(req, given);
    json_object_set_new(h, "request", req);
    json_object_set_new(h, "source", json_pack("{s:s}", "domain", tenant_domain(c->tenant)));
    json_object_set(h, "catalogue", c->catalogue);
    return h;
}

int dump_tenant(struct tenant *t, const struct dump_request *req, const char *path,
                struct dump_result *res, struct err *e)
{
    struct dump_ctx c;
    size_t mem = req->sort_mem ? req->sort_mem : DEFAULT_SORT_MEM;
    json_t *header = NULL;
    int rc = -1;

    memset(&c, 0, sizeof(c));
    c.req = req;
    c.res = res;
    c.tenant = t;
    res->per_connection = json_object();
    if (!res->per_connection)
        return err_oom(e);
    if (req->tmpdir) {
        snprintf(c.tmpdir, sizeof(c.tmpdir), "%s", req->tmpdir);
    } else {
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", path);
        snprintf(c.tmpdir, sizeof(c.tmpdir), "%s", dirname(copy));
    }

    if (dump_catalogue(&c, e) < 0)
        goto out;
    for (size_t i = 0; i < req->n_connections; i++) {
        if (!dump_catalogue_find(&c, "connections", "name", req->connections[i])) {
            err_set(e, ERR_USAGE, "no connection named '%s' in tenant '%s'", req->connections[i],
                    tenant_domain(t));
            goto out;
        }
    }
    if (extsort_new(&c.users, c.tmpdir, mem, e) < 0 ||
        extsort_new(&c.grants, c.tmpdir, mem / 4 + 1, e) < 0 ||
        extsort_new(&c.uniq, c.tmpdir, mem / 4 + 1, e) < 0)
        goto out;
    /* A subset reads each user's permissions with its grants; a whole
     * tenant after the users, from the ids it kept. */
    if (req->with_permissions && !(req->n_users || req->n_emails || req->query) &&
        extsort_new(&c.perm_ids, c.tmpdir, mem / 8 + 1, e) < 0)
        goto out;

    if (req->n_users || req->n_emails || req->query) {
        if (dump_subset(&c, e) < 0)
            goto out;
    } else {
        c.grants_during_job = true;
        if (req->n_connections == 0 && dump_job_run(&c, NULL, e) < 0)
            goto out;
        for (size_t i = 0; i < req->n_connections; i++) {
            json_t *conn = dump_catalogue_find(&c, "connections", "name", req->connections[i]);
            if (dump_job_run(&c, json_string_value(json_object_get(conn, "id")), e) < 0)
                goto out;
        }
        if (!c.grants_read && dump_grants_bulk(&c, e) < 0)
            goto out;
        if (c.perm_ids && dump_permissions_bulk(&c, e) < 0)
            goto out;
    }
    res->users_seen = c.users_seen;
    res->excluded_by_policy = c.users_excluded;
    if (req->privacy && dump_check_unique(&c, e) < 0)
        goto out;
    if (req->before_write && req->before_write(req->ctx, e) < 0)
        goto out;
    header = build_header(&c);
    if (!header) {
        err_oom(e);
        goto out;
    }
    if (dump_join(&c, header, path, req->force, e) < 0)
        goto out;
    rc = 0;
out:
    json_decref(header);
    extsort_free(c.users);
    extsort_free(c.grants);
    extsort_free(c.uniq);
    extsort_free(c.perm_ids);
    return rc;
}
