/*
 * multipart.h - request bodies for POST /jobs/users-imports.
 *
 * A body is multipart/form-data with the parts, in this order (as Auth0's
 * own SDKs send them): connection_id, upsert ("true"), external_id,
 * send_completion_email ("false"), then users as a file part
 * (Content-Disposition: form-data; name="users"; filename="users.json",
 * Content-Type: application/json) holding a JSON array of import records.
 * Lines end in CRLF.
 *
 * struct import_chunker takes serialized records one at a time and cuts
 * them into bodies that stay within a maximum size (Auth0 answers 413 above
 * 512000 bytes for the whole body; the default keeps a margin) and,
 * optionally, a maximum number of records. Records are copied once into the
 * current chunk and once into its body: no quadratic copying, memory
 * bounded by the maximum body size.
 *
 * Boundaries look random but are deterministic: derived from a seed, the
 * chunk number and an attempt counter, and checked not to occur anywhere in
 * the body's data (a clash moves to the next attempt).
 *
 * Nothing here does I/O.
 */
#ifndef A0SNAP_MULTIPART_H
#define A0SNAP_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IMPORT_BODY_LIMIT             512000 /* Auth0's 413 threshold: a body may not exceed it */
#define IMPORT_BODY_DEFAULT           500000 /* default maximum body size */
#define IMPORT_BOUNDARY_LEN           39     /* "a0snap-" + 32 hex digits */
#define IMPORT_EXTERNAL_ID_PREFIX_MAX 200

struct import_chunker;

/*
 * A new chunker in *out (free with import_chunker_free). connection_id and
 * external_id_prefix are copied; both must be non-empty text without CR or
 * LF, the prefix at most IMPORT_EXTERNAL_ID_PREFIX_MAX bytes. max_body is
 * the largest body to produce, in bytes (a body is never longer); 0 means
 * IMPORT_BODY_DEFAULT. It may not exceed IMPORT_BODY_LIMIT, nor be too
 * small for the multipart framing plus a small record. ERR_USAGE for bad
 * arguments, ERR_INTERNAL when out of memory.
 */
int import_chunker_new(struct import_chunker **out, const char *connection_id,
                       const char *external_id_prefix, size_t max_body, struct err *e);

/* At most max records per chunk from now on; 0 (the default) for no limit. */
void import_chunker_set_max_records(struct import_chunker *c, size_t max);

/* The boundary seed (default: a fixed constant). */
void import_chunker_set_seed(struct import_chunker *c, uint64_t seed);

/*
 * Adds one serialized record (a JSON object, e.g. userconv_to_import's
 * output dumped with USERCONV_JSON_FLAGS; not checked) to the current chunk.
 * Returns 0 when added; 1 when it does not fit in the current chunk (by size
 * or by the record limit): call import_chunker_take(), then add it again;
 * -1 with ERR_USAGE when the record alone cannot fit in a body (the caller
 * reports that user as failed) or is empty. Nothing changes unless 0.
 */
int import_chunker_add(struct import_chunker *c, const char *record_json, size_t len,
                       struct err *e);

/* Records in the current chunk. */
size_t import_chunker_count(const struct import_chunker *c);

/* The length import_chunker_take() would give the current chunk's body. */
size_t import_chunker_body_size(const struct import_chunker *c);

/* Bodies taken so far (the current chunk's number is this + 1). */
size_t import_chunker_taken(const struct import_chunker *c);

/*
 * Finishes the current chunk into a body. *body (len bytes, NUL-terminated
 * for convenience), *content_type ("multipart/form-data; boundary=...") and
 * *external_id (the prefix, "-" and the chunk number from 1) are new
 * strings the caller free()s. Then the next chunk starts empty. Fails with
 * ERR_USAGE on an empty chunk (Auth0 refuses an empty users file),
 * ERR_INTERNAL when out of memory; the outputs are then NULL and the chunk
 * is kept as it was.
 */
int import_chunker_take(struct import_chunker *c, char **body, size_t *len, char **content_type,
                        char **external_id, struct err *e);

/* NULL is a no-op. */
void import_chunker_free(struct import_chunker *c);

/* The boundary for a seed, chunk number and attempt (exposed for tests):
 * IMPORT_BOUNDARY_LEN characters and a NUL. */
void import_chunker_boundary(uint64_t seed, size_t chunk, unsigned attempt,
                             char out[IMPORT_BOUNDARY_LEN + 1]);

#endif
