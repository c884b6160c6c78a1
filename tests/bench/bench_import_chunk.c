/*
 * bench_import_chunk.c - the local half of a0snap-import's bulk jobs,
 * without a network: a snapshot read, its users converted to import
 * records and cut into multipart bodies.
 *
 *   bench_import_chunk --input SNAPSHOT.ndjson.gz [--verify] [--max-body N]
 *
 * As a0snap-import does (import_run.c, import_plan.c, import_jobs.c) with
 * the same functions: with --verify the whole snapshot is first checked
 * (snapshot_verify, the import's step 1); then it is streamed with
 * snapshot_reader (which checks it again as it goes), every database user
 * (the default --social-users=skip leaves the others out) becomes a record
 * (userconv_to_import, serialized with USERCONV_JSON_FLAGS) and goes to the
 * import's own chunking (import/import_chunks.h, as import_jobs.c calls
 * it), whose full bodies are counted where import_jobs.c would send them.
 * What the import does besides (reading the target, the plan's sorts and
 * diff) is not here.
 *
 * Prints the counts and phase times as plain lines, then one JSON line.
 * Peak memory is measured by the caller (tests/bench/bench_local.py).
 */
#include "bench_clock.h"
#include "import_chunks.h"
#include "multipart.h"
#include "snapshot.h"
#include "userconv.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct opts {
    const char *input;
    size_t max_body;
    bool verify;
};

/* What the bodies of one connection held. */
struct conn_chunks {
    size_t bodies, users;
    unsigned long long body_bytes;
    unsigned long long record_bytes; /* the records alone, without "[", "," and "]" */
    size_t max_body_seen;
    size_t framing;              /* bytes of a body that are not the JSON array */
    unsigned long long in_chunk; /* record bytes in the current chunk */
};

/* The callbacks' context. */
struct bench_chunks {
    json_t *header;                                   /* the snapshot's, borrowed */
    struct conn_chunks conns[IMPORT_MAX_CONNECTIONS]; /* by connection number */
};

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"max-body", required_argument, NULL, 'b'},
        {"verify", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    memset(o, 0, sizeof(*o));
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            o->input = optarg;
            break;
        case 'b': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > IMPORT_BODY_LIMIT)
                return -1;
            o->max_body = (size_t)n;
            break;
        }
        case 'v':
            o->verify = true;
            break;
        default:
            return -1;
        }
    }
    return o->input && optind == argc ? 0 : -1;
}

/* The connection's id from the snapshot's catalogue (the chunker only
 * needs some valid id; the target's would do the same). */
static const char *conn_id(void *ctx, const char *name)
{
    const struct bench_chunks *bc = ctx;
    json_t *conns = json_object_get(json_object_get(bc->header, "catalogue"), "connections"), *c;
    size_t i;

    json_array_foreach(conns, i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        const char *id = json_string_value(json_object_get(c, "id"));
        if (n && id && strcmp(n, name) == 0)
            return id;
    }
    return "con_bench0000000000";
}

/* A body as import_jobs.c would send it: counted. */
static int count_body(void *ctx, struct import_body *b, struct err *e)
{
    struct bench_chunks *bc = ctx;
    struct conn_chunks *cc = &bc->conns[b->conn];

    (void)e;
    /* body = framing + "[" + records joined by "," + "]" */
    cc->framing = b->len - (size_t)cc->in_chunk - (b->records - 1) - 2;
    cc->in_chunk = 0;
    cc->bodies++;
    cc->body_bytes += b->len;
    if (b->len > cc->max_body_seen)
        cc->max_body_seen = b->len;
    import_body_release(b);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct err e;
    struct snapshot_reader *r = NULL;
    struct import_chunks *chunks = NULL;
    struct bench_chunks bc;
    struct userconv_opts uo;
    struct clock_mark t0, t1, t2;
    size_t n_conns, users = 0, database = 0, other = 0, skipped = 0, too_big = 0;
    size_t bodies = 0;
    unsigned long long record_bytes = 0, body_bytes = 0;
    size_t max_seen = 0;
    json_t *user = NULL;
    int rc = 1, got;

    if (parse_args(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: bench_import_chunk --input SNAPSHOT.ndjson.gz [--verify] "
                        "[--max-body N]\n");
        return 2;
    }
    err_clear(&e);
    memset(&bc, 0, sizeof(bc));
    userconv_opts_init(&uo);

    t0 = mark();
    if (o.verify && snapshot_verify(o.input, NULL, &e) < 0)
        goto out;
    t1 = mark();
    if (snapshot_reader_open(&r, o.input, &e) < 0)
        goto out;
    bc.header = snapshot_reader_header(r);
    if (import_chunks_new(&chunks, "a0snap-bench", o.max_body, conn_id, count_body, &bc, &e) < 0)
        goto out;
    while ((got = snapshot_reader_next(r, &user, &e)) == 1) {
        struct userconv_info info;
        struct conn_chunks *cc;
        json_t *rec = NULL;
        char *text;
        size_t len, k;
        int added;

        users++;
        if (userconv_user_kind(user) != USERCONV_DATABASE) {
            other++;
            json_decref(user);
            user = NULL;
            continue;
        }
        database++;
        if (userconv_to_import(user, &uo, &rec, &info, &e) < 0)
            goto out;
        if (info.skipped) {
            skipped++;
            json_decref(user);
            user = NULL;
            continue;
        }
        text = json_dumps(rec, USERCONV_JSON_FLAGS);
        json_decref(rec);
        if (!text) {
            err_oom(&e);
            goto out;
        }
        len = strlen(text);
        record_bytes += len;
        added = import_chunks_add(
            chunks, userconv_user_connection(user) ? userconv_user_connection(user) : "", text, len,
            &k, &e);
        json_decref(user);
        user = NULL;
        free(text);
        if (added < 0)
            goto out;
        if (added == 1) {
            too_big++; /* the import reports such a user as failed */
            err_clear(&e);
            continue;
        }
        cc = &bc.conns[k];
        cc->users++;
        cc->record_bytes += len;
        cc->in_chunk += len;
    }
    if (got < 0)
        goto out;
    if (import_chunks_flush(chunks, &e) < 0)
        goto out;
    t2 = mark();
    n_conns = import_chunks_connections(chunks);

    for (size_t k = 0; k < n_conns; k++) {
        printf("connection '%s': %zu users in %zu bodies (%.0f users and %.0f bytes per body, "
               "largest %zu)\n",
               import_chunks_name(chunks, k), bc.conns[k].users, bc.conns[k].bodies,
               (double)bc.conns[k].users / (double)(bc.conns[k].bodies ? bc.conns[k].bodies : 1),
               (double)bc.conns[k].body_bytes /
                   (double)(bc.conns[k].bodies ? bc.conns[k].bodies : 1),
               bc.conns[k].max_body_seen);
        bodies += bc.conns[k].bodies;
        body_bytes += bc.conns[k].body_bytes;
        if (bc.conns[k].max_body_seen > max_seen)
            max_seen = bc.conns[k].max_body_seen;
    }
    printf("users %zu: database %zu, other (skipped as social/enterprise) %zu, not importable %zu, "
           "too big %zu\n",
           users, database, other, skipped, too_big);
    printf("bodies %zu, %.1f MB of records, %.1f MB of bodies\n", bodies,
           (double)record_bytes / 1e6, (double)body_bytes / 1e6);
    printf("phase verify: wall %.2f s, cpu %.2f s\n", t1.wall - t0.wall, t1.cpu - t0.cpu);
    printf("phase read+convert+chunk: wall %.2f s, cpu %.2f s\n", t2.wall - t1.wall,
           t2.cpu - t1.cpu);
    printf("{\"bench\":\"import_chunk\",\"users\":%zu,\"database_users\":%zu,\"other_users\":%zu,"
           "\"not_importable\":%zu,\"too_big\":%zu,\"bodies\":%zu,\"record_bytes\":%llu,"
           "\"body_bytes\":%llu,\"max_body\":%zu,\"connections\":{",
           users, database, other, skipped, too_big, bodies, record_bytes, body_bytes, max_seen);
    for (size_t k = 0; k < n_conns; k++)
        printf("%s\"%s\":{\"users\":%zu,\"bodies\":%zu,\"body_bytes\":%llu,\"record_bytes\":%llu,"
               "\"framing\":%zu}",
               k ? "," : "", import_chunks_name(chunks, k), bc.conns[k].users, bc.conns[k].bodies,
               bc.conns[k].body_bytes, bc.conns[k].record_bytes, bc.conns[k].framing);
    printf("},\"verify\":%s,\"wall\":{\"verify\":%.3f,\"chunk\":%.3f,\"total\":%.3f},"
           "\"cpu\":{\"verify\":%.3f,\"chunk\":%.3f,\"total\":%.3f}}\n",
           o.verify ? "true" : "false", t1.wall - t0.wall, t2.wall - t1.wall, t2.wall - t0.wall,
           t1.cpu - t0.cpu, t2.cpu - t1.cpu, t2.cpu - t0.cpu);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_import_chunk: %s\n", e.msg);
    json_decref(user);
    snapshot_reader_free(r);
    import_chunks_free(chunks);
    return rc;
}
