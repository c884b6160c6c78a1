/*
 * import_chunks.h - an import's records cut into request bodies, per
 * target connection.
 *
 * A bulk import job writes into one connection, so each connection has
 * its own chunker (common/multipart.h): records go into the current body
 * of their connection, and a body is handed out as soon as the next
 * record of its connection would not fit in it; import_chunks_flush()
 * hands out what is left, connection by connection. Connections are
 * numbered 0, 1, ... in the order their first record came; a body's
 * external_id is the prefix, "-", that number + 1, "-" and the body's
 * number in its connection (from 1).
 *
 * Nothing here does I/O: import_jobs.c submits each body as a job, the
 * benchmark (tests/bench/bench_import_chunk.c) counts them.
 */
#ifndef A0SNAP_IMPORT_CHUNKS_H
#define A0SNAP_IMPORT_CHUNKS_H

#include <stddef.h>

#include "err.h"

#define IMPORT_MAX_CONNECTIONS 16 /* target connections in one import */

/* One full body. The strings are new and go to whoever gets the body. */
struct import_body {
    size_t conn;    /* the connection's number */
    size_t records; /* records in it */
    char *body;     /* len bytes, NUL-terminated */
    size_t len;
    char *content_type; /* "multipart/form-data; boundary=..." */
    char *external_id;
};

/* Frees b's strings and zeroes it. */
void import_body_release(struct import_body *b);

/* Called with each body, which it takes (import_body_release). A
 * failure (-1, e filled) stops the import_chunks_add() or _flush() that
 * handed the body out. */
typedef int (*import_body_fn)(void *ctx, struct import_body *body, struct err *e);

/* The id of the connection named name, or NULL when there is none. */
typedef const char *(*import_conn_id_fn)(void *ctx, const char *name);

struct import_chunks;

/*
 * New chunks in *out (import_chunks_free). prefix starts every external_id
 * (copied; at most IMPORT_EXTERNAL_ID_PREFIX_MAX - 24 bytes); max_body as
 * import_chunker_new() takes it. conn_id names a new connection's id,
 * on_body gets the bodies; both are called with ctx.
 */
int import_chunks_new(struct import_chunks **out, const char *prefix, size_t max_body,
                      import_conn_id_fn conn_id, import_body_fn on_body, void *ctx, struct err *e);

/*
 * Adds one serialized record (len bytes) of the connection named conn;
 * when it does not fit in the connection's current body, that body goes
 * to on_body first. Returns 0 when added, with *conn_no set to its
 * connection's number; 1 when refused: the record cannot go in any body
 * (too big, empty, or no memory to copy it), e says why and nothing else
 * changed: the caller reports that user; -1 when failed: a connection
 * beyond IMPORT_MAX_CONNECTIONS (ERR_USAGE) or with no id (ERR_INTERNAL),
 * out of memory, or on_body's failure.
 */
int import_chunks_add(struct import_chunks *ch, const char *conn, const char *rec, size_t len,
                      size_t *conn_no, struct err *e);

/* Hands the current body of every connection that has one to on_body, in
 * the connections' order. */
int import_chunks_flush(struct import_chunks *ch, struct err *e);

/* Connections so far, and the name and id of number k (borrowed). */
size_t import_chunks_connections(const struct import_chunks *ch);
const char *import_chunks_name(const struct import_chunks *ch, size_t k);
const char *import_chunks_conn_id(const struct import_chunks *ch, size_t k);

/* NULL is a no-op. Records not flushed are dropped. */
void import_chunks_free(struct import_chunks *ch);

#endif
