/*
 * gunzip.c - see gunzip.h.
 *
 * inflate is driven until it has consumed the chunk AND has no pending
 * output (a full output buffer means there may be more). Lines that lie
 * wholly inside one output buffer go to the callback in place; only a line
 * split across buffers (or chunks) is assembled in `part`, whose ceiling
 * is max_line. A member's end is only "clean" once inflate returned
 * Z_STREAM_END, which is after the member's CRC-32 and length were checked.
 */
#include "gunzip.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#include "buf.h"

#define GZ_OUT_SIZE (256u * 1024)

struct gunzip {
    z_stream zs;
    bool zs_ready;
    bool started;    /* some input was fed */
    bool member_end; /* the last member ended cleanly */
    bool failed;
    size_t max_line;
    gunzip_line_fn fn;
    void *ctx;
    unsigned char *out;
    struct buf part; /* a line split across output buffers */
    unsigned long line_no;
    unsigned long long in_bytes, out_bytes, members;
};

int gunzip_new(struct gunzip **out, size_t max_line, gunzip_line_fn fn, void *ctx, struct err *e)
{
    struct gunzip *g;

    *out = NULL;
    g = calloc(1, sizeof(*g));
    if (!g)
        return err_oom(e);
    g->max_line = max_line;
    g->fn = fn;
    g->ctx = ctx;
    buf_init(&g->part, max_line);
    g->out = malloc(GZ_OUT_SIZE);
    if (!g->out) {
        gunzip_free(g);
        return err_oom(e);
    }
    /* 15 + 16: gzip wrapper only. */
    if (inflateInit2(&g->zs, 15 + 16) != Z_OK) {
        gunzip_free(g);
        return err_oom(e);
    }
    g->zs_ready = true;
    *out = g;
    return 0;
}

static bool is_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static int deliver(struct gunzip *g, const char *line, size_t len, struct err *e)
{
    g->line_no++;
    if (is_blank(line, len))
        return 0;
    return g->fn(g->ctx, line, len, e) < 0 ? -1 : 0;
}

static int too_long(struct gunzip *g, struct err *e)
{
    return err_set(e, ERR_API, "line %lu is longer than %zu bytes", g->line_no + 1, g->max_line);
}

/* Splits n decompressed bytes into lines. */
static int split_lines(struct gunzip *g, const char *p, size_t n, struct err *e)
{
    const char *end = p + n, *nl;
    size_t seg;

    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        seg = (size_t)((nl ? nl : end) - p);
        if (seg > g->max_line - g->part.len)
            return too_long(g, e);
        if (!nl)
            return buf_append(&g->part, p, seg, e);
        if (g->part.len) {
            if (buf_append(&g->part, p, seg, e) < 0 || deliver(g, g->part.data, g->part.len, e) < 0)
                return -1;
            buf_reset(&g->part);
        } else if (deliver(g, p, seg, e) < 0) {
            return -1;
        }
        p = nl + 1;
    }
    return 0;
}

#define GZ_SLICE (1u << 30) /* zlib counts input in uInt */

/* Decodes one slice of at most GZ_SLICE bytes. */
static int feed_slice(struct gunzip *g, const void *data, size_t len, struct err *e)
{
    size_t got;
    int ret;

    g->zs.next_in = data;
    g->zs.avail_in = (uInt)len;
    for (;;) {
        if (g->member_end) {
            if (!g->zs.avail_in)
                return 0;
            /* Another member follows: decode it too, as gzip -d does. */
            if (inflateReset(&g->zs) != Z_OK) {
                g->failed = true;
                return err_set(e, ERR_INTERNAL, "cannot restart gzip decoding");
            }
            g->member_end = false;
        }
        g->zs.next_out = g->out;
        g->zs.avail_out = GZ_OUT_SIZE;
        ret = inflate(&g->zs, Z_NO_FLUSH);
        got = GZ_OUT_SIZE - g->zs.avail_out;
        g->out_bytes += got;
        if (ret == Z_STREAM_END) {
            g->member_end = true;
            g->members++;
        } else if (ret == Z_MEM_ERROR) {
            g->failed = true;
            return err_oom(e);
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            g->failed = true;
            if (!g->members && !g->out_bytes)
                return err_set(e, ERR_NET, "not gzip data (%s)",
                               g->zs.msg ? g->zs.msg : "bad header");
            return err_set(e, ERR_NET, "corrupt gzip data (%s)",
                           g->zs.msg ? g->zs.msg : "unknown error");
        }
        if (got && split_lines(g, (const char *)g->out, got, e) < 0) {
            g->failed = true;
            return -1;
        }
        if (!g->member_end && !g->zs.avail_in && g->zs.avail_out)
            return 0; /* all input used, no output pending */
    }
}

int gunzip_feed(struct gunzip *g, const void *data, size_t len, struct err *e)
{
    const char *p = data;
    size_t n;

    if (g->failed)
        return err_set(e, ERR_INTERNAL, "gzip decoder used after a failure");
    while (len) {
        n = len < GZ_SLICE ? len : GZ_SLICE;
        g->started = true;
        g->in_bytes += n;
        if (feed_slice(g, p, n, e) < 0)
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

int gunzip_finish(struct gunzip *g, struct err *e)
{
    if (g->failed)
        return err_set(e, ERR_INTERNAL, "gzip decoder used after a failure");
    g->failed = true; /* nothing may be fed after the end */
    if (!g->started)
        return err_set(e, ERR_NET, "no gzip data (the input is empty)");
    if (!g->member_end)
        return err_set(e, ERR_NET, "truncated gzip data (the stream ends early)");
    if (g->part.len && deliver(g, g->part.data, g->part.len, e) < 0)
        return -1;
    buf_reset(&g->part);
    return 0;
}

unsigned long gunzip_line_number(const struct gunzip *g)
{
    return g->line_no;
}

unsigned long long gunzip_bytes_in(const struct gunzip *g)
{
    return g->in_bytes;
}

unsigned long long gunzip_bytes_out(const struct gunzip *g)
{
    return g->out_bytes;
}

void gunzip_free(struct gunzip *g)
{
    if (!g)
        return;
    if (g->zs_ready)
        inflateEnd(&g->zs);
    free(g->out);
    buf_release(&g->part);
    free(g);
}
