/*
 * gunzip.h - a push decoder for gzip-compressed NDJSON arriving in chunks
 * (the export job's download): feed whatever bytes the network delivers,
 * receive complete lines through a callback.
 *
 * Concatenated gzip members are decoded one after the other, as gzip -d
 * does. Blank lines (empty, or only spaces, tabs and CRs) are skipped. A
 * line longer than max_line fails the decode instead of growing memory;
 * memory is bounded by max_line plus fixed buffers.
 *
 * Errors: ERR_NET for a stream that is corrupt or ends early (the usual
 * cause is a damaged download; callers decoding a local file may rewrite
 * e->code), ERR_API for a line over max_line, and whatever the callback
 * returned (its struct err is passed on unchanged).
 */
#ifndef A0SNAP_GUNZIP_H
#define A0SNAP_GUNZIP_H

#include <stddef.h>

#include "err.h"

/* Gets each line without its \n; line is borrowed for the call only and is
 * NOT NUL-terminated. Returns 0 to go on, -1 (with e filled) to stop. */
typedef int (*gunzip_line_fn)(void *ctx, const char *line, size_t len, struct err *e);

struct gunzip;

/* *out is the caller's (gunzip_free()). max_line > 0. */
int gunzip_new(struct gunzip **out, size_t max_line, gunzip_line_fn fn, void *ctx, struct err *e);

/* Decodes len bytes and calls fn for every line they complete. After a
 * failure every further call fails. */
int gunzip_feed(struct gunzip *g, const void *data, size_t len, struct err *e);

/* The input is over: delivers a last line that had no \n, and fails if
 * the gzip stream did not end cleanly (truncated) or there was no input. */
int gunzip_finish(struct gunzip *g, struct err *e);

/* The 1-based number of the line being (or last) delivered, blank lines
 * included; for messages from the callback. */
unsigned long gunzip_line_number(const struct gunzip *g);
/* Bytes fed so far, and bytes decompressed so far. */
unsigned long long gunzip_bytes_in(const struct gunzip *g);
unsigned long long gunzip_bytes_out(const struct gunzip *g);

/* NULL is a no-op. */
void gunzip_free(struct gunzip *g);

#endif
