/*
 * fuzz_gunzip.c - the streaming gzip line decoder (common/gunzip.c) that
 * reads export job downloads.
 *
 * Input: a first byte 0x1f starts raw gzip bytes. Otherwise the first byte
 * is a control byte and the rest is text that the harness compresses into
 * 1 to 4 gzip members (concatenated members are legal). The control byte
 * also picks the line limit and the line at which the callback stops the
 * decode.
 *
 * The stream is decoded three times: in one piece, one byte at a time, and
 * in pseudo-random chunks. The outcome must not depend on the chunking:
 * same result, and unless the stream is corrupt, same lines and error. Every line must be free of
 * \n, within the limit and not blank; a callback's error must come back
 * unchanged; after a failure every call must fail.
 */
#include "fuzz_util.h"

#include "buf.h"
#include "gunzip.h"

#define FUZZ_GUNZIP_MAX_INPUT (256u * 1024)

struct lines {
    struct buf all; /* each line as "<len>:<bytes>" */
    size_t count;
    size_t max_line;
    size_t stop_at; /* the callback fails on this line (1-based), 0 = never */
};

static int on_line(void *ctx, const char *line, size_t len, struct err *e)
{
    struct lines *l = ctx;
    size_t i;
    bool blank = true;

    FUZZ_ASSERT(len <= l->max_line);
    FUZZ_ASSERT(memchr(line, '\n', len) == NULL);
    for (i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            blank = false;
    FUZZ_ASSERT(!blank);
    l->count++;
    if (l->stop_at && l->count == l->stop_at)
        return err_set(e, ERR_USAGE, "stopped at line %zu", l->count);
    if (buf_appendf(&l->all, e, "%zu:", len) < 0 || buf_append(&l->all, line, len, e) < 0)
        abort();
    return 0;
}

struct outcome {
    int rc;
    enum err_code code;
    char msg[ERR_MSG_MAX];
};

/* Decodes data in chunks: step 0 = one piece, 1 = byte by byte, else
 * pseudo-random sizes from seed. */
static void decode(const unsigned char *data, size_t len, size_t step, unsigned seed,
                   struct lines *l, struct outcome *o)
{
    struct gunzip *g = NULL;
    size_t off = 0;
    struct err e;
    int rc = 0;

    err_clear(&e);
    buf_init(&l->all, 64u << 20);
    l->count = 0;
    FUZZ_ASSERT(gunzip_new(&g, l->max_line, on_line, l, &e) == 0);
    while (off < len && rc == 0) {
        size_t n = len - off;
        if (step == 1) {
            n = 1;
        } else if (step > 1) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 8) % step;
            if (n > len - off)
                n = len - off;
        }
        rc = gunzip_feed(g, data + off, n, &e);
        off += n;
    }
    if (rc == 0)
        rc = gunzip_finish(g, &e);
    o->rc = rc;
    o->code = rc ? e.code : ERR_NONE;
    snprintf(o->msg, sizeof(o->msg), "%s", rc ? e.msg : "");
    if (rc < 0) {
        struct err again;
        FUZZ_ASSERT(e.code == ERR_NET || e.code == ERR_API || e.code == ERR_USAGE);
        if (e.code == ERR_USAGE)
            FUZZ_ASSERT(strncmp(e.msg, "stopped at line", 15) == 0);
        err_clear(&again);
        FUZZ_ASSERT(gunzip_feed(g, "x", 1, &again) == -1);
        FUZZ_ASSERT(gunzip_finish(g, &again) == -1);
    } else {
        FUZZ_ASSERT(gunzip_bytes_in(g) == len);
    }
    gunzip_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {16, 100, 4096, 1u << 20};
    unsigned char *gz = NULL;
    size_t gz_len = 0;
    struct lines a, b, c;
    struct outcome oa, ob, oc;
    unsigned char ctl;

    if (size == 0 || size > FUZZ_GUNZIP_MAX_INPUT)
        return 0;
    ctl = data[0];
    if (ctl == 0x1f) {
        gz = malloc(size);
        if (!gz)
            abort();
        memcpy(gz, data, size);
        gz_len = size;
        ctl = (unsigned char)size;
    } else {
        size_t members = (size_t)(ctl & 3) + 1, text_len = size - 1, at = 0;
        for (size_t m = 0; m < members; m++) {
            size_t n = m + 1 == members ? text_len - at : text_len / members;
            fuzz_gzip_append(&gz, &gz_len, data + 1 + at, n, (ctl >> 2) & 1 ? 9 : 1);
            at += n;
        }
    }
    memset(&a, 0, sizeof(a));
    a.max_line = limits[(ctl >> 3) & 3];
    a.stop_at = (ctl >> 5) & 7; /* 0..7 */
    b = a;
    c = a;

    decode(gz, gz_len, 0, 0, &a, &oa);
    decode(gz, gz_len, 1, 0, &b, &ob);
    decode(gz, gz_len, 97, ctl, &c, &oc);
    FUZZ_ASSERT(oa.rc == ob.rc && oa.rc == oc.rc);
    /* Bytes inflated in the call that finds corruption are not delivered,
     * so with a corrupt stream a small chunking may hand out a few more
     * lines (and meet a line or callback error first). Anything else must
     * give the very same lines and the very same outcome. */
    if (oa.code != ERR_NET && ob.code != ERR_NET && oc.code != ERR_NET) {
        FUZZ_ASSERT(oa.code == ob.code && oa.code == oc.code);
        FUZZ_ASSERT(a.count == b.count && a.count == c.count);
        FUZZ_ASSERT(a.all.len == b.all.len && a.all.len == c.all.len);
        FUZZ_ASSERT(a.all.len == 0 || (memcmp(a.all.data, b.all.data, a.all.len) == 0 &&
                                       memcmp(a.all.data, c.all.data, a.all.len) == 0));
        FUZZ_ASSERT(strcmp(oa.msg, ob.msg) == 0 && strcmp(oa.msg, oc.msg) == 0);
    }
    buf_release(&a.all);
    buf_release(&b.all);
    buf_release(&c.all);
    free(gz);
    return 0;
}
