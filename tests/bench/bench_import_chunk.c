/*
 * bench_import_chunk.c - the local half of a0snap-import's bulk jobs,
 * without a network: a snapshot read and verified, its users converted to
 * import records and cut into multipart bodies.
 *
 *   bench_import_chunk --input SNAPSHOT.ndjson.gz [--verify] [--verify-first]
 *                      [--max-body N] [--identity FILE]
 *
 * As a0snap-import does (import_run.c, import_plan.c, import_records.c,
 * import_jobs.c) with the same functions, in one pass: the snapshot is
 * streamed with snapshot_reader, which verifies it as it goes (--verify,
 * always on, names that); every database user (the default
 * --social-users=skip leaves the others out) becomes a record written
 * from the reader's canonical parse (userconv_import_text; jansson's
 * userconv_to_import for what that declines) and goes to the import's own
 * chunking (import/import_chunks.h, as import_jobs.c calls it), whose
 * full bodies are counted where import_jobs.c would send them. Nothing is
 * sent here; a0snap-import sends nothing before its reading pass reached
 * the verified end. --verify-first adds a0snap-import's separate check
 * before its first request (snapshot_verify: it must refuse a damaged
 * file before asking the target anything, and planning needs the target),
 * timed as its own phase. What the import does besides (reading the
 * target, the plan's sorts and diff) is not here.
 *
 * --identity reads an encrypted (age) snapshot with the secret key in FILE,
 * as a0snap-import --identity does: decrypted in the stream, no plaintext
 * on disk.
 *
 * Prints the counts and phase times as plain lines, then one JSON line.
 * Peak memory is measured by the caller (tests/bench/bench_local.py).
 */
#include "age.h"
#include "bench_clock.h"
#include "canonjson.h"
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
    const char *input, *identity;
    size_t max_body;
    bool verify_first;
    struct age_identities *ids; /* from --identity, owned */
    struct snapshot_keys keys;  /* borrows ids */
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
    json_t *header;                                   /* the snapshot's, owned */
    struct conn_chunks conns[IMPORT_MAX_CONNECTIONS]; /* by connection number */
};

static int parse_args(int argc, char **argv, struct opts *o)
{
    /* clang-format off */
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"max-body", required_argument, NULL, 'b'},
        {"verify", no_argument, NULL, 'v'},
        {"verify-first", no_argument, NULL, 'f'},
        {"identity", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
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
            break; /* the reader always verifies */
        case 'f':
            o->verify_first = true;
            break;
        case 'k':
            o->identity = optarg;
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

/* What the pass counted. */
struct tally {
    size_t users, database, other, skipped, too_big;
    size_t fast, slow; /* records written from the parse, by jansson */
    unsigned long long record_bytes;
};

/* A user's kind and connection from the reader's parse (the names must be
 * plain strings: no escapes); false when the json_t must tell. */
static bool parsed_kind(const struct canonjson *cj, enum userconv_kind *kind, const char **conn,
                        size_t *clen)
{
    size_t id0 = canonjson_get(cj, CANONJSON_ROOT, "identities", 10), x;
    const char *prov;
    char name[64];
    size_t plen;

    id0 = id0 == CANONJSON_NONE ? id0 : canonjson_at(cj, id0, 0);
    x = id0 == CANONJSON_NONE ? id0 : canonjson_get(cj, id0, "provider", 8);
    if (x == CANONJSON_NONE || !canonjson_string(cj, x, &prov, &plen) || plen >= sizeof(name))
        return false;
    memcpy(name, prov, plen);
    name[plen] = '\0';
    *kind = userconv_strategy_kind(name);
    if (*kind == USERCONV_UNKNOWN)
        return false; /* isSocial decides: the json_t path */
    x = canonjson_get(cj, id0, "connection", 10);
    *conn = "";
    *clen = 0;
    return x == CANONJSON_NONE || canonjson_type(cj, x) != CANONJSON_STRING ||
           canonjson_string(cj, x, conn, clen);
}

/* A record as the import serializes it (USERCONV_JSON_FLAGS), appended. */
static int dump_record(const json_t *rec, struct buf *out, struct err *e)
{
    size_t n = json_dumpb(rec, NULL, 0, USERCONV_JSON_FLAGS);

    if (n == 0)
        return err_oom(e);
    if (buf_reserve(out, n + 1, e) < 0)
        return -1;
    json_dumpb(rec, out->data + out->len, n, USERCONV_JSON_FLAGS);
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}

/* The record of the user the reader handed out last, appended to rec;
 * *kind and conn (NUL-terminated, into cbuf) told. 1 = a record, 0 =
 * none (not a database user, or skipped), -1 = failed. */
static int one_record(struct snapshot_reader *r, const struct userconv_opts *uo, struct buf *rec,
                      char *cbuf, size_t cbufsz, struct tally *t, struct err *e)
{
    const struct canonjson *cj = snapshot_reader_parsed(r);
    const json_t *user = NULL;
    struct userconv_info info;
    enum userconv_kind kind;
    const char *conn;
    size_t clen;
    json_t *out = NULL;
    int done = 0;

    if (!cj || !parsed_kind(cj, &kind, &conn, &clen)) {
        user = snapshot_reader_current(r);
        if (!user)
            return err_oom(e);
        kind = userconv_user_kind(user);
        conn = userconv_user_connection(user) ? userconv_user_connection(user) : "";
        clen = strlen(conn);
    }
    snprintf(cbuf, cbufsz, "%.*s", (int)clen, conn);
    if (kind != USERCONV_DATABASE) {
        t->other++;
        return 0;
    }
    t->database++;
    buf_reset(rec);
    if (cj && (done = userconv_import_text(cj, uo, rec, &info, e)) < 0)
        return -1;
    if (done)
        t->fast++;
    if (!done) {
        t->slow++;
        if (!user && !(user = snapshot_reader_current(r)))
            return err_oom(e);
        if (userconv_to_import(user, uo, &out, &info, e) < 0)
            return -1;
        if (out && dump_record(out, rec, e) < 0) {
            json_decref(out);
            return -1;
        }
        json_decref(out);
    }
    if (info.skipped) {
        t->skipped++;
        return 0;
    }
    return 1;
}

/* The one pass: read (verifying), convert, chunk. */
static int run_pass(const struct opts *o, struct bench_chunks *bc, struct import_chunks **chunks,
                    struct tally *t, struct err *e)
{
    struct snapshot_reader *r = NULL;
    struct userconv_opts uo;
    struct buf rec;
    char conn[1024];
    const char *line;
    size_t len, k;
    int got, added, rc = -1;

    userconv_opts_init(&uo);
    buf_init(&rec, SNAPSHOT_MAX_LINE + 4096);
    if (snapshot_reader_open_keys(&r, o->input, &o->keys, e) < 0)
        goto out;
    bc->header = json_incref(snapshot_reader_header(r));
    if (import_chunks_new(chunks, "a0snap-bench", o->max_body, conn_id, count_body, bc, e) < 0)
        goto out;
    while ((got = snapshot_reader_next_line(r, &line, &len, e)) == 1) {
        t->users++;
        got = one_record(r, &uo, &rec, conn, sizeof(conn), t, e);
        if (got < 0)
            goto out;
        if (got == 0)
            continue;
        t->record_bytes += rec.len;
        added = import_chunks_add(*chunks, conn, rec.data, rec.len, &k, e);
        if (added < 0)
            goto out;
        if (added == 1) {
            t->too_big++; /* the import reports such a user as failed */
            err_clear(e);
            continue;
        }
        bc->conns[k].users++;
        bc->conns[k].record_bytes += rec.len;
        bc->conns[k].in_chunk += rec.len;
    }
    if (got < 0 || import_chunks_flush(*chunks, e) < 0)
        goto out;
    rc = 0;
out:
    snapshot_reader_free(r);
    buf_release(&rec);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct err e;
    struct import_chunks *chunks = NULL;
    struct bench_chunks bc;
    struct tally t;
    struct clock_mark t0, t1, t2;
    size_t n_conns, bodies = 0;
    unsigned long long body_bytes = 0;
    size_t max_seen = 0;
    int rc = 1;

    if (parse_args(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: bench_import_chunk --input SNAPSHOT.ndjson.gz [--verify] "
                        "[--verify-first] [--max-body N] [--identity FILE]\n");
        return 2;
    }
    err_clear(&e);
    memset(&bc, 0, sizeof(bc));
    memset(&t, 0, sizeof(t));

    if (o.identity) {
        if (age_identities_new(&o.ids, &e) < 0 ||
            age_identities_add_file(o.ids, o.identity, &e) < 0)
            goto out;
        o.keys.identities = o.ids;
    }
    t0 = mark();
    if (o.verify_first && snapshot_verify_keys(o.input, &o.keys, NULL, &e) < 0)
        goto out;
    t1 = mark();
    if (run_pass(&o, &bc, &chunks, &t, &e) < 0)
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
           t.users, t.database, t.other, t.skipped, t.too_big);
    printf("records from the parse %zu, through jansson %zu\n", t.fast, t.slow);
    printf("bodies %zu, %.1f MB of records, %.1f MB of bodies\n", bodies,
           (double)t.record_bytes / 1e6, (double)body_bytes / 1e6);
    printf("phase verify (separate pass): wall %.2f s, cpu %.2f s\n", t1.wall - t0.wall,
           t1.cpu - t0.cpu);
    printf("phase read+verify+convert+chunk: wall %.2f s, cpu %.2f s\n", t2.wall - t1.wall,
           t2.cpu - t1.cpu);
    printf("{\"bench\":\"import_chunk\",\"users\":%zu,\"database_users\":%zu,\"other_users\":%zu,"
           "\"not_importable\":%zu,\"too_big\":%zu,\"fast_records\":%zu,\"jansson_records\":%zu,"
           "\"bodies\":%zu,\"record_bytes\":%llu,\"body_bytes\":%llu,\"max_body\":%zu,"
           "\"connections\":{",
           t.users, t.database, t.other, t.skipped, t.too_big, t.fast, t.slow, bodies,
           t.record_bytes, body_bytes, max_seen);
    for (size_t k = 0; k < n_conns; k++)
        printf("%s\"%s\":{\"users\":%zu,\"bodies\":%zu,\"body_bytes\":%llu,\"record_bytes\":%llu,"
               "\"framing\":%zu}",
               k ? "," : "", import_chunks_name(chunks, k), bc.conns[k].users, bc.conns[k].bodies,
               bc.conns[k].body_bytes, bc.conns[k].record_bytes, bc.conns[k].framing);
    printf("},\"verify\":true,\"verify_first\":%s,\"wall\":{\"verify\":%.3f,\"chunk\":%.3f,"
           "\"total\":%.3f},\"cpu\":{\"verify\":%.3f,\"chunk\":%.3f,\"total\":%.3f}}\n",
           o.verify_first ? "true" : "false", t1.wall - t0.wall, t2.wall - t1.wall,
           t2.wall - t0.wall, t1.cpu - t0.cpu, t2.cpu - t1.cpu, t2.cpu - t0.cpu);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_import_chunk: %s\n", e.msg);
    json_decref(bc.header);
    import_chunks_free(chunks);
    age_identities_free(o.ids);
    return rc;
}
