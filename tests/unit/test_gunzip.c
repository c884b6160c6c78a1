/*
 * Unit tests for gunzip.c: the same compressed bytes are fed in chunks of
 * every size from 1 byte up, and the lines that come out are compared with
 * the text that went in (blank lines removed).
 */
#include "err.h"
#include "gunzip.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

/* Collects delivered lines joined by \n; can fail at a chosen line. */
struct sink {
    char *data;
    size_t len, cap;
    unsigned long lines;
    unsigned long fail_at; /* 0: never */
    unsigned long last_line_no;
    struct gunzip *g;
};

static int on_line(void *ctx, const char *line, size_t len, struct err *e)
{
    struct sink *s = ctx;

    s->lines++;
    if (s->g)
        s->last_line_no = gunzip_line_number(s->g);
    if (s->fail_at && s->lines == s->fail_at)
        return err_set(e, ERR_USAGE, "callback refuses line %lu", s->lines);
    if (memchr(line, '\n', len))
        return err_set(e, ERR_INTERNAL, "a line with a newline in it");
    while (s->len + len + 2 > s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->data = realloc(s->data, s->cap);
    }
    memcpy(s->data + s->len, line, len);
    s->len += len;
    s->data[s->len++] = '\n';
    s->data[s->len] = '\0';
    return 0;
}

static unsigned char *gz(const char *data, size_t len, size_t *outlen)
{
    z_stream zs;
    size_t cap = len + len / 100 + 64;
    unsigned char *out = malloc(cap);

    memset(&zs, 0, sizeof(zs));
    deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (const unsigned char *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    *outlen = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* Decodes z in chunks of `chunk` bytes; returns the rc of the first failing
 * call (or of finish) and leaves the lines in *s. */
static int decode(const unsigned char *z, size_t zlen, size_t chunk, size_t max_line,
                  struct sink *s, struct err *e)
{
    struct gunzip *g = NULL;
    size_t off, n;
    int rc = 0;

    memset(s, 0, sizeof(*s));
    err_clear(e);
    if (gunzip_new(&g, max_line, on_line, s, e) < 0)
        return -1;
    s->g = g;
    for (off = 0; off < zlen && rc == 0; off += n) {
        n = zlen - off < chunk ? zlen - off : chunk;
        rc = gunzip_feed(g, z + off, n, e);
    }
    if (rc == 0)
        rc = gunzip_finish(g, e);
    if (rc == 0)
        CHECK_INT(gunzip_bytes_in(g), zlen);
    gunzip_free(g);
    return rc;
}

/* The text as the callback should see it: lines without blank ones. */
static char *expected_lines(const char *text)
{
    char *out = malloc(strlen(text) + 2), *o = out;
    const char *p = text, *nl;
    size_t len, i;
    int blank;

    while (*p) {
        nl = strchr(p, '\n');
        len = nl ? (size_t)(nl - p) : strlen(p);
        for (blank = 1, i = 0; i < len; i++)
            if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
                blank = 0;
        if (!blank) {
            memcpy(o, p, len);
            o += len;
            *o++ = '\n';
        }
        p += len + (nl ? 1 : 0);
    }
    *o = '\0';
    return out;
}

static char *make_text(size_t nlines, unsigned seed, int trailing_newline)
{
    size_t cap = nlines * 400 + 16, len = 0, i, k, n;
    char *t = malloc(cap);

    for (i = 0; i < nlines; i++) {
        switch (rand_r(&seed) % 6) {
        case 0:
            break; /* empty line */
        case 1:
            len += (size_t)sprintf(t + len, " \t\r");
            break;
        default:
            n = (size_t)rand_r(&seed) % 300;
            len += (size_t)sprintf(t + len, "{\"n\":%zu,\"s\":\"", i);
            for (k = 0; k < n; k++)
                t[len++] = (char)('a' + rand_r(&seed) % 26);
            len += (size_t)sprintf(t + len, "\"}");
        }
        if (i + 1 < nlines || trailing_newline)
            t[len++] = '\n';
    }
    t[len] = '\0';
    return t;
}

static void test_chunk_sizes(void)
{
    size_t chunks[] = {1, 2, 3, 5, 7, 13, 64, 1000, 4096, 65536, 1 << 30};
    char *text = make_text(3000, 1, 1), *want = expected_lines(text);
    size_t zlen, i;
    unsigned char *z = gz(text, strlen(text), &zlen);
    struct sink s;
    struct err e;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        CHECK_INT(decode(z, zlen, chunks[i], 1000, &s, &e), 0);
        CHECK_STR(s.data, want);
        CHECK_INT(s.last_line_no > 2000, 1);
        free(s.data);
    }
    free(z);
    free(text);
    free(want);

    /* No final newline: the last line still comes out, at finish. */
    text = make_text(50, 2, 0);
    strcat(text, "{\"last\":1}");
    want = expected_lines(text);
    z = gz(text, strlen(text), &zlen);
    for (i = 1; i < 40; i++) {
        CHECK_INT(decode(z, zlen, i, 1000, &s, &e), 0);
        CHECK_STR(s.data, want);
        free(s.data);
    }
    free(z);
    free(text);
    free(want);
}

static void test_line_numbers_and_blank_lines(void)
{
    const char *text = "a\n\n  \nb\r\n\t\nc";
    size_t zlen;
    unsigned char *z = gz(text, strlen(text), &zlen);
    struct sink s;
    struct err e;

    CHECK_INT(decode(z, zlen, 3, 10, &s, &e), 0);
    CHECK_STR(s.data, "a\nb\r\nc\n");
    CHECK_INT(s.lines, 3);
    CHECK_INT(s.last_line_no, 6);
    free(s.data);
    free(z);
}

static void test_concatenated_members(void)
{
    const char *a = "one\ntwo\nthr", *b = "ee\nfour\n";
    size_t la, lb, i;
    unsigned char *za = gz(a, strlen(a), &la), *zb = gz(b, strlen(b), &lb), *zz;
    struct sink s;
    struct err e;

    zz = malloc(la + lb + la);
    memcpy(zz, za, la);
    memcpy(zz + la, zb, lb);
    /* A line split across members joins up, as with zcat. */
    for (i = 1; i <= la + lb; i++) {
        CHECK_INT(decode(zz, la + lb, i, 100, &s, &e), 0);
        CHECK_STR(s.data, "one\ntwo\nthree\nfour\n");
        free(s.data);
    }
    /* A member cut short after a complete one: truncated. */
    memcpy(zz + la + lb, za, la);
    CHECK_INT(decode(zz, la + lb + 10, 4, 100, &s, &e), -1);
    CHECK(strstr(e.msg, "truncated") != NULL);
    free(s.data);
    /* Garbage after a complete member. */
    memcpy(zz + la, "garbage!", 8);
    CHECK_INT(decode(zz, la + 8, 4, 100, &s, &e), -1);
    CHECK_INT(e.code, ERR_NET);
    CHECK(strstr(e.msg, "corrupt gzip data") != NULL);
    free(s.data);
    free(za);
    free(zb);
    free(zz);
}

static void test_truncated_and_corrupt(void)
{
    char *text = make_text(500, 3, 1);
    size_t zlen, cut, i;
    unsigned char *z = gz(text, strlen(text), &zlen);
    struct sink s;
    struct err e;

    for (cut = 1; cut <= 20; cut++) {
        CHECK_INT(decode(z, zlen - cut, 100, 1000, &s, &e), -1);
        CHECK_INT(e.code, ERR_NET);
        CHECK_STR(e.msg, "truncated gzip data (the stream ends early)");
        free(s.data);
    }
    CHECK_INT(decode(z, zlen / 2, 100, 1000, &s, &e), -1);
    CHECK_STR(e.msg, "truncated gzip data (the stream ends early)");
    free(s.data);
    CHECK_INT(decode(z, 5, 1, 1000, &s, &e), -1);
    CHECK_STR(e.msg, "truncated gzip data (the stream ends early)");
    free(s.data);

    /* CRC and length of the gzip trailer. */
    z[zlen - 8] ^= 1;
    for (i = 1; i < 5000; i *= 7) {
        CHECK_INT(decode(z, zlen, i, 1000, &s, &e), -1);
        CHECK_STR(e.msg, "corrupt gzip data (incorrect data check)");
        free(s.data);
    }
    z[zlen - 8] ^= 1;
    z[zlen - 3] ^= 1;
    CHECK_INT(decode(z, zlen, 512, 1000, &s, &e), -1);
    CHECK_STR(e.msg, "corrupt gzip data (incorrect length check)");
    free(s.data);
    z[zlen - 3] ^= 1;
    CHECK_INT(decode(z, zlen, 512, 1000, &s, &e), 0);
    free(s.data);

    /* Not gzip at all; no input at all; an empty member is fine. */
    CHECK_INT(decode((const unsigned char *)"{\"a\":1}\n", 8, 8, 1000, &s, &e), -1);
    CHECK_INT(e.code, ERR_NET);
    CHECK(strncmp(e.msg, "not gzip data (", 15) == 0);
    free(s.data);
    CHECK_INT(decode(z, 0, 8, 1000, &s, &e), -1);
    CHECK_STR(e.msg, "no gzip data (the input is empty)");
    free(s.data);
    free(z);
    z = gz("", 0, &zlen);
    CHECK_INT(decode(z, zlen, 1, 1000, &s, &e), 0);
    CHECK_INT(s.lines, 0);
    free(s.data);
    free(z);
    free(text);
}

static void test_long_lines(void)
{
    size_t zlen, chunks[] = {1, 333, 1 << 20}, i;
    char *text = malloc(700 * 1024);
    unsigned char *z;
    struct sink s;
    struct err e;

    /* Exactly max_line passes, one more byte fails (in place and split). */
    memset(text, 'x', 300);
    memcpy(text, "ok\n", 3);
    text[103] = '\n'; /* line 2: 100 bytes */
    text[205] = '\n'; /* line 3: 101 bytes */
    z = gz(text, 206, &zlen);
    for (i = 0; i < 3; i++) {
        CHECK_INT(decode(z, zlen, chunks[i], 100, &s, &e), -1);
        CHECK_INT(e.code, ERR_API);
        CHECK_STR(e.msg, "line 3 is longer than 100 bytes");
        CHECK_INT(s.lines, 2);
        free(s.data);
    }
    free(z);
    /* Without a newline, the over-long tail fails too. */
    z = gz(text + 104, 101, &zlen);
    CHECK_INT(decode(z, zlen, 7, 100, &s, &e), -1);
    CHECK_STR(e.msg, "line 1 is longer than 100 bytes");
    free(s.data);
    free(z);

    /* A line longer than the decoder's output buffer, within max_line. */
    memset(text, 'y', 700 * 1024);
    text[600 * 1024] = '\n';
    z = gz(text, 600 * 1024 + 1, &zlen);
    for (i = 0; i < 3; i++) {
        CHECK_INT(decode(z, zlen, chunks[i], 1 << 20, &s, &e), 0);
        CHECK_INT(s.lines, 1);
        CHECK_INT(s.len, 600 * 1024 + 1);
        free(s.data);
    }
    free(z);
    free(text);
}

static void test_callback_error_and_reuse(void)
{
    const char *text = "1\n2\n3\n4\n5\n6\n";
    size_t zlen;
    unsigned char *z = gz(text, strlen(text), &zlen);
    struct gunzip *g = NULL;
    struct sink s;
    struct err e;

    memset(&s, 0, sizeof(s));
    s.fail_at = 4;
    CHECK_INT(gunzip_new(&g, 10, on_line, &s, &e), 0);
    CHECK_INT(gunzip_feed(g, z, zlen, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK_STR(e.msg, "callback refuses line 4");
    CHECK_INT(gunzip_feed(g, z, 1, &e), -1);
    CHECK_INT(gunzip_finish(g, &e), -1);
    gunzip_free(g);
    gunzip_free(NULL);
    free(s.data);

    /* Nothing may be fed after finish. */
    memset(&s, 0, sizeof(s));
    CHECK_INT(gunzip_new(&g, 10, on_line, &s, &e), 0);
    CHECK_INT(gunzip_feed(g, z, zlen, &e), 0);
    CHECK_INT(gunzip_finish(g, &e), 0);
    CHECK_INT(gunzip_bytes_out(g), strlen(text));
    CHECK_INT(gunzip_feed(g, z, zlen, &e), -1);
    gunzip_free(g);
    CHECK_STR(s.data, text);
    free(s.data);
    free(z);
}

int main(void)
{
    RUN(test_chunk_sizes);
    RUN(test_line_numbers_and_blank_lines);
    RUN(test_concatenated_members);
    RUN(test_truncated_and_corrupt);
    RUN(test_long_lines);
    RUN(test_callback_error_and_reuse);
    return harness_done();
}
