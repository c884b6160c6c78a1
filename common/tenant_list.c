/*
 * tenant_list.c - walking Auth0's paged lists, both kinds, with one loop.
 *
 * Checkpoint paging (from/take) ends at a page without `next` or with no
 * items: real tenants have answered both ways (a part-filled last page
 * without `next`, and a full page followed by an empty one). Offset paging
 * (page/per_page) ends at a short page; `total` is never trusted alone, as
 * a real tenant has answered `total: 0` beside a page of items.
 */
#include "tenant_internal.h"

#include "buf.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE 100

int tenant_page_step(json_t *page, const char *items_key, enum tenant_paging kind, size_t per_page,
                     struct tenant_page *out, struct err *e)
{
    json_t *items = json_is_array(page) ? page : json_object_get(page, items_key);
    const char *next;

    memset(out, 0, sizeof(*out));
    if (!json_is_array(items))
        return err_set(e, ERR_API, "the answer has no '%s' list", items_key);
    out->items = items;
    if (json_array_size(items) == 0)
        return 0;
    if (kind == TENANT_PAGING_OFFSET) {
        out->more = json_array_size(items) >= per_page;
        return 0;
    }
    next = json_string_value(json_object_get(page, "next"));
    if (next && *next) {
        out->more = true;
        out->next = next;
    }
    return 0;
}

static int each_item(json_t *items, tenant_item_fn fn, void *ctx, struct err *e)
{
    size_t i;
    json_t *item;

    json_array_foreach(items, i, item)
    {
        if (fn(ctx, item, e) < 0)
            return -1;
    }
    return 0;
}

/* The query of page number n (offset) or of the page after `from`
 * (checkpoint; NULL: the first). */
static int page_query(struct buf *p, const char *path, enum tenant_paging kind, long n,
                      const char *from, struct err *e)
{
    const char sep = strchr(path, '?') ? '&' : '?';
    char esc[1024];

    buf_reset(p);
    if (kind == TENANT_PAGING_OFFSET)
        return buf_appendf(p, e, "%s%cpage=%ld&per_page=%d&include_totals=true", path, sep, n,
                           PAGE_SIZE);
    if (buf_appendf(p, e, "%s%ctake=%d", path, sep, PAGE_SIZE) < 0)
        return -1;
    if (!from)
        return 0;
    if (url_escape(esc, sizeof(esc), from) < 0)
        return err_set(e, ERR_API, "checkpoint 'next' value too long");
    return buf_appendf(p, e, "&from=%s", esc);
}

int tenant_list(struct tenant *t, const char *path, const char *items_key, enum tenant_paging kind,
                tenant_item_fn fn, void *ctx, struct err *e)
{
    const int plen = (int)strcspn(path, "?");
    struct tenant_page step;
    json_t *page = NULL;
    char *from = NULL;
    struct buf p;
    int rc = -1;

    buf_init(&p, 16384);
    for (long n = 0;; n++) {
        if (page_query(&p, path, kind, n, from, e) < 0)
            goto out;
        json_decref(page);
        page = NULL;
        if (tenant_call(t, "GET", buf_str(&p), NULL, &page, e) < 0)
            goto out;
        if (tenant_page_step(page, items_key, kind, PAGE_SIZE, &step, e) < 0) {
            err_prefix(e, "GET %.*s", plen, path);
            goto out;
        }
        if (each_item(step.items, fn, ctx, e) < 0)
            goto out;
        if (!step.more)
            break;
        if (kind == TENANT_PAGING_OFFSET)
            continue;
        if (from && strcmp(from, step.next) == 0) {
            err_set(e, ERR_API, "GET %.*s: paging does not advance", plen, path);
            goto out;
        }
        free(from);
        from = strdup(step.next);
        if (!from) {
            err_oom(e);
            goto out;
        }
    }
    rc = 0;
out:
    free(from);
    json_decref(page);
    buf_release(&p);
    return rc;
}

int tenant_list_checkpoint(struct tenant *t, const char *path, const char *items_key,
                           tenant_item_fn fn, void *ctx, struct err *e)
{
    return tenant_list(t, path, items_key, TENANT_PAGING_CHECKPOINT, fn, ctx, e);
}

int tenant_list_offset(struct tenant *t, const char *path, const char *items_key, tenant_item_fn fn,
                       void *ctx, struct err *e)
{
    return tenant_list(t, path, items_key, TENANT_PAGING_OFFSET, fn, ctx, e);
}
