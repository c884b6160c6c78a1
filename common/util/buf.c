/* buf.c - see buf.h. Growth doubles, clamped to max + 1 for the NUL. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_release(struct buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int buf_grow(struct buf *b, size_t need, struct err *e)
{
    size_t cap;
    char *p;

    if (need > b->max)
        return err_set(e, ERR_IO, "data too large (more than %zu bytes)", b->max);
    if (need + 1 <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->data, cap);
    if (!p)
        return err_oom(e);
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t len, struct err *e)
{
    if (len > b->max - b->len)
        return err_set(e, ERR_IO, "data too large (more than %zu bytes)", b->max);
    if (buf_grow(b, b->len + len, e) < 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_reserve(struct buf *b, size_t more, struct err *e)
{
    if (more > b->max - b->len)
        return err_set(e, ERR_IO, "data too large (more than %zu bytes)", b->max);
    return buf_grow(b, b->len + more, e);
}

int buf_appends(struct buf *b, const char *s, struct err *e)
{
    return buf_append(b, s, strlen(s), e);
}

int buf_appendf(struct buf *b, struct err *e, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err_set(e, ERR_INTERNAL, "bad format string");
    if ((size_t)n > b->max - b->len)
        return err_set(e, ERR_IO, "data too large (more than %zu bytes)", b->max);
    if (buf_grow(b, b->len + (size_t)n, e) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

const char *buf_str(const struct buf *b)
{
    return b->data ? b->data : "";
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data;

    if (len)
        *len = b->len;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
