/*
 * buf.h - a growable byte buffer with a ceiling (after curl's dynbuf).
 *
 * Every buffer fed by the network or a file has a maximum size; appending
 * past it fails with ERR_IO/"too large" instead of growing without bound.
 * The data is always NUL-terminated so text can be used in place.
 *
 * struct buf is a stack struct: buf_init() / buf_release(). buf_release()
 * on a zeroed or released buffer is a no-op.
 */
#ifndef A0SNAP_BUF_H
#define A0SNAP_BUF_H

#include <stddef.h>

#include "err.h"

struct buf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* ceiling on len */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len, struct err *e);
/* Makes room for more bytes after len (within the ceiling), so that a
 * writer can fill b->data + b->len directly and then add to len (keeping
 * the NUL after it). Contents unchanged; fails as buf_append() does. */
int buf_reserve(struct buf *b, size_t more, struct err *e);
int buf_appends(struct buf *b, const char *s, struct err *e);
int buf_appendf(struct buf *b, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The contents as a string; "" for an empty buffer (never NULL). */
const char *buf_str(const struct buf *b);
/* Hands the memory to the caller (free() it) and resets the buffer. */
char *buf_detach(struct buf *b, size_t *len);

#endif
