/*
 * import_chunks.c - see import_chunks.h.
 *
 * A record that does not fit is added again after its connection's body
 * went out: the chunker refuses without changing anything, so the second
 * try starts an empty body, and only a record too big for any body is
 * refused then.
 */
#include "import_chunks.h"

#include "multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conn_chunks {
    char *name;
    char *id;
    struct import_chunker *chunker;
};

struct import_chunks {
    char prefix[IMPORT_EXTERNAL_ID_PREFIX_MAX];
    size_t max_body;
    import_conn_id_fn conn_id;
    import_body_fn on_body;
    void *ctx;
    struct conn_chunks conns[IMPORT_MAX_CONNECTIONS];
    size_t n;
};

int import_chunks_new(struct import_chunks **out, const char *prefix, size_t max_body,
                      import_conn_id_fn conn_id, import_body_fn on_body, void *ctx, struct err *e)
{
    struct import_chunks *ch = calloc(1, sizeof(*ch));

    *out = NULL;
    if (!ch)
        return err_oom(e);
    snprintf(ch->prefix, sizeof(ch->prefix), "%s", prefix);
    ch->max_body = max_body;
    ch->conn_id = conn_id;
    ch->on_body = on_body;
    ch->ctx = ctx;
    *out = ch;
    return 0;
}

void import_body_release(struct import_body *b)
{
    free(b->body);
    free(b->content_type);
    free(b->external_id);
    memset(b, 0, sizeof(*b));
}

static void conn_release(struct conn_chunks *cc)
{
    free(cc->name);
    free(cc->id);
    import_chunker_free(cc->chunker);
    memset(cc, 0, sizeof(*cc));
}

void import_chunks_free(struct import_chunks *ch)
{
    if (!ch)
        return;
    for (size_t k = 0; k < ch->n; k++)
        conn_release(&ch->conns[k]);
    free(ch);
}

/* The number of connection name, a new one when it is the first record's. */
static int find_conn(struct import_chunks *ch, const char *name, size_t *k, struct err *e)
{
    struct conn_chunks *cc;
    const char *id;
    char prefix[IMPORT_EXTERNAL_ID_PREFIX_MAX + 32];

    for (*k = 0; *k < ch->n; (*k)++)
        if (strcmp(ch->conns[*k].name, name) == 0)
            return 0;
    id = ch->conn_id(ch->ctx, name);
    if (ch->n == IMPORT_MAX_CONNECTIONS)
        return err_set(e, ERR_USAGE, "more than %d target connections in one import",
                       IMPORT_MAX_CONNECTIONS);
    if (!id)
        return err_set(e, ERR_INTERNAL, "no id for target connection '%s'", name);
    cc = &ch->conns[ch->n];
    snprintf(prefix, sizeof(prefix), "%s-%zu", ch->prefix, ch->n + 1);
    cc->name = strdup(name);
    cc->id = strdup(id);
    if (!cc->name || !cc->id || import_chunker_new(&cc->chunker, id, prefix, ch->max_body, e) < 0) {
        if (!cc->name || !cc->id)
            err_oom(e);
        conn_release(cc);
        return -1;
    }
    *k = ch->n++;
    return 0;
}

/* Connection k's current body to on_body. */
static int hand_out(struct import_chunks *ch, size_t k, struct err *e)
{
    struct import_body b;

    memset(&b, 0, sizeof(b));
    b.conn = k;
    b.records = import_chunker_count(ch->conns[k].chunker);
    if (import_chunker_take(ch->conns[k].chunker, &b.body, &b.len, &b.content_type, &b.external_id,
                            e) < 0)
        return -1;
    return ch->on_body(ch->ctx, &b, e);
}

int import_chunks_add(struct import_chunks *ch, const char *conn, const char *rec, size_t len,
                      size_t *conn_no, struct err *e)
{
    size_t k;
    int r;

    if (find_conn(ch, conn, &k, e) < 0)
        return -1;
    r = import_chunker_add(ch->conns[k].chunker, rec, len, e);
    if (r == 1) {
        if (hand_out(ch, k, e) < 0)
            return -1;
        r = import_chunker_add(ch->conns[k].chunker, rec, len, e);
    }
    if (r < 0)
        return 1;
    *conn_no = k;
    return 0;
}

int import_chunks_flush(struct import_chunks *ch, struct err *e)
{
    for (size_t k = 0; k < ch->n; k++)
        if (import_chunker_count(ch->conns[k].chunker) > 0 && hand_out(ch, k, e) < 0)
            return -1;
    return 0;
}

size_t import_chunks_connections(const struct import_chunks *ch)
{
    return ch->n;
}

const char *import_chunks_name(const struct import_chunks *ch, size_t k)
{
    return k < ch->n ? ch->conns[k].name : NULL;
}

const char *import_chunks_conn_id(const struct import_chunks *ch, size_t k)
{
    return k < ch->n ? ch->conns[k].id : NULL;
}
