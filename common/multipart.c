/*
 * multipart.c - see multipart.h.
 *
 * The current chunk is kept as the inside of the users array: records
 * joined by ",". Its body size is known exactly at every step (framing +
 * "[" + records + "]"), because the framing depends only on the boundary
 * length (fixed), the connection id and the external id (fixed for the
 * chunk). So add() can refuse a record before copying it, and take() builds
 * the body in one allocation of the exact size.
 */
#include "multipart.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define DEFAULT_SEED    0x6130736e61702d31ull /* "a0snap-1" */
#define BOUNDARY_TRIES  64
#define SMALLEST_RECORD 64 /* a body must have room for at least this */
#define BOUNDARY_PREFIX "a0snap-"

struct import_chunker {
    char *connection_id;
    char *prefix;
    size_t max_body;
    size_t max_records; /* 0 = no limit */
    uint64_t seed;
    size_t taken;    /* bodies produced so far */
    size_t count;    /* records in the current chunk */
    size_t overhead; /* framing bytes of the current chunk's body, brackets included */
    char ext[IMPORT_EXTERNAL_ID_PREFIX_MAX + 32]; /* the current chunk's external_id */
    struct buf recs;                              /* "rec,rec,..." */
};

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void import_chunker_boundary(uint64_t seed, size_t chunk, unsigned attempt,
                             char out[IMPORT_BOUNDARY_LEN + 1])
{
    uint64_t state = seed ^ ((uint64_t)chunk * 0xd1342543de82ef95ull);
    uint64_t a, b;
    unsigned i;

    for (i = 0; i < 2 * attempt; i++) /* each attempt draws two fresh numbers */
        splitmix64(&state);
    a = splitmix64(&state);
    b = splitmix64(&state);
    snprintf(out, IMPORT_BOUNDARY_LEN + 1, BOUNDARY_PREFIX "%016llx%016llx", (unsigned long long)a,
             (unsigned long long)b);
}

/* Everything before the records: the four fields, then the users part's
 * headers and "[". */
static int write_head(struct buf *b, const char *bd, const char *conn, const char *ext,
                      struct err *e)
{
    return buf_appendf(b, e,
                       "--%s\r\n"
                       "Content-Disposition: form-data; name=\"connection_id\"\r\n\r\n%s\r\n"
                       "--%s\r\n"
                       "Content-Disposition: form-data; name=\"upsert\"\r\n\r\ntrue\r\n"
                       "--%s\r\n"
                       "Content-Disposition: form-data; name=\"external_id\"\r\n\r\n%s\r\n"
                       "--%s\r\n"
                       "Content-Disposition: form-data; name=\"send_completion_email\"\r\n\r\n"
                       "false\r\n"
                       "--%s\r\n"
                       "Content-Disposition: form-data; name=\"users\"; "
                       "filename=\"users.json\"\r\n"
                       "Content-Type: application/json\r\n\r\n[",
                       bd, conn, bd, bd, ext, bd, bd);
}

static int write_tail(struct buf *b, const char *bd, struct err *e)
{
    return buf_appendf(b, e, "]\r\n--%s--\r\n", bd);
}

/* Makes chunk number n (from 1) current and empty: its external id and
 * framing size. c is unchanged on failure. */
static int start_chunk(struct import_chunker *c, size_t n, struct err *e)
{
    char bd[IMPORT_BOUNDARY_LEN + 1], ext[sizeof(c->ext)];
    struct buf b;
    int rc = -1;

    snprintf(ext, sizeof(ext), "%s-%zu", c->prefix, n);
    memset(bd, 'x', IMPORT_BOUNDARY_LEN);
    bd[IMPORT_BOUNDARY_LEN] = '\0';
    buf_init(&b, IMPORT_BODY_LIMIT);
    if (write_head(&b, bd, c->connection_id, ext, e) < 0 || write_tail(&b, bd, e) < 0)
        goto out;
    memcpy(c->ext, ext, sizeof(ext));
    c->overhead = b.len;
    c->count = 0;
    buf_reset(&c->recs);
    rc = 0;
out:
    buf_release(&b);
    return rc;
}

static bool plain_text(const char *s)
{
    return s && s[0] && !strpbrk(s, "\r\n");
}

int import_chunker_new(struct import_chunker **out, const char *connection_id,
                       const char *external_id_prefix, size_t max_body, struct err *e)
{
    struct import_chunker *c = NULL;

    *out = NULL;
    if (!plain_text(connection_id))
        return err_set(e, ERR_USAGE, "bad connection id for an import job");
    if (!plain_text(external_id_prefix) ||
        strlen(external_id_prefix) > IMPORT_EXTERNAL_ID_PREFIX_MAX)
        return err_set(e, ERR_USAGE, "bad external id prefix for an import job");
    if (max_body == 0)
        max_body = IMPORT_BODY_DEFAULT;
    if (max_body > IMPORT_BODY_LIMIT)
        return err_set(e, ERR_USAGE, "import body size %zu is above Auth0's limit of %d bytes",
                       max_body, IMPORT_BODY_LIMIT);
    c = calloc(1, sizeof(*c));
    if (!c)
        return err_oom(e);
    c->connection_id = strdup(connection_id);
    c->prefix = strdup(external_id_prefix);
    if (!c->connection_id || !c->prefix) {
        import_chunker_free(c);
        return err_oom(e);
    }
    c->max_body = max_body;
    c->seed = DEFAULT_SEED;
    buf_init(&c->recs, max_body);
    if (start_chunk(c, 1, e) < 0) {
        import_chunker_free(c);
        return -1;
    }
    if (c->overhead + SMALLEST_RECORD > max_body) {
        err_set(e, ERR_USAGE, "import body size %zu is too small (the framing alone takes %zu)",
                max_body, c->overhead);
        import_chunker_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void import_chunker_set_max_records(struct import_chunker *c, size_t max)
{
    c->max_records = max;
}

void import_chunker_set_seed(struct import_chunker *c, uint64_t seed)
{
    c->seed = seed;
}

size_t import_chunker_count(const struct import_chunker *c)
{
    return c->count;
}

size_t import_chunker_body_size(const struct import_chunker *c)
{
    return c->overhead + c->recs.len;
}

size_t import_chunker_taken(const struct import_chunker *c)
{
    return c->taken;
}

int import_chunker_add(struct import_chunker *c, const char *record_json, size_t len, struct err *e)
{
    size_t room = c->overhead < c->max_body ? c->max_body - c->overhead : 0;

    if (len == 0)
        return err_set(e, ERR_USAGE, "empty user record");
    if (len > room)
        return err_set(e, ERR_USAGE,
                       "user record of %zu bytes cannot fit in an import body of at most %zu bytes",
                       len, c->max_body);
    if (c->count) {
        if ((c->max_records && c->count >= c->max_records) || len + 1 > room - c->recs.len)
            return 1;
        if (buf_append(&c->recs, ",", 1, e) < 0)
            return -1;
    }
    if (buf_append(&c->recs, record_json, len, e) < 0) {
        /* Only out of memory can get here: undo the comma. */
        if (c->count)
            c->recs.len--;
        return -1;
    }
    c->count++;
    return 0;
}

static bool occurs(const char *hay, size_t n, const char *needle)
{
    return n && memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* A boundary for the current chunk found nowhere in its data. */
static int pick_boundary(const struct import_chunker *c, char bd[IMPORT_BOUNDARY_LEN + 1],
                         struct err *e)
{
    unsigned attempt;

    for (attempt = 0; attempt < BOUNDARY_TRIES; attempt++) {
        import_chunker_boundary(c->seed, c->taken + 1, attempt, bd);
        if (!occurs(c->recs.data, c->recs.len, bd) && !strstr(c->connection_id, bd) &&
            !strstr(c->ext, bd))
            return 0;
    }
    return err_set(e, ERR_INTERNAL, "no multipart boundary found that is absent from the data");
}

int import_chunker_take(struct import_chunker *c, char **body, size_t *len, char **content_type,
                        char **external_id, struct err *e)
{
    char bd[IMPORT_BOUNDARY_LEN + 1];
    struct buf b, ct;
    char *ext = NULL;
    int rc = -1;

    *body = NULL;
    *len = 0;
    *content_type = NULL;
    *external_id = NULL;
    buf_init(&b, c->max_body);
    buf_init(&ct, 256);
    if (c->count == 0)
        return err_set(e, ERR_USAGE, "no user records to send in an import job");
    if (pick_boundary(c, bd, e) < 0)
        goto out;
    if (write_head(&b, bd, c->connection_id, c->ext, e) < 0 ||
        buf_append(&b, c->recs.data, c->recs.len, e) < 0 || write_tail(&b, bd, e) < 0 ||
        buf_appendf(&ct, e, "multipart/form-data; boundary=%s", bd) < 0)
        goto out;
    if (b.len != import_chunker_body_size(c)) {
        err_set(e, ERR_INTERNAL, "import body is %zu bytes, expected %zu", b.len,
                import_chunker_body_size(c));
        goto out;
    }
    ext = strdup(c->ext);
    if (!ext) {
        err_oom(e);
        goto out;
    }
    if (start_chunk(c, c->taken + 2, e) < 0)
        goto out;
    c->taken++;
    *body = buf_detach(&b, len);
    *content_type = buf_detach(&ct, NULL);
    *external_id = ext;
    ext = NULL;
    rc = 0;
out:
    free(ext);
    buf_release(&b);
    buf_release(&ct);
    return rc;
}

void import_chunker_free(struct import_chunker *c)
{
    if (!c)
        return;
    free(c->connection_id);
    free(c->prefix);
    buf_release(&c->recs);
    free(c);
}
