/*
 * age_header.c - the header's text: strict base64, stanzas, and the
 * parser of a whole header. See age_impl.h.
 *
 * The parser follows the grammar of C2SP age.md to the letter and refuses
 * everything else, because the MAC is computed over the bytes as read: a
 * lenient parser would let two different byte strings mean the same
 * header. So: lines end in LF alone; a stanza line is "-> " and arguments
 * of printable ASCII separated by single spaces; its body is canonical
 * unpadded base64 in lines of exactly 64 columns ended by one shorter
 * (possibly empty) line; the MAC line is "--- " and 43 base64 characters.
 */
#include "age_impl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define AGE_COLUMNS 64

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t age_b64_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

void age_b64_encode(char *out, const void *in, size_t n)
{
    const unsigned char *p = in;
    size_t i = 0, o = 0;

    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];
        out[o++] = B64[v & 63];
    }
    if (n - i == 1) {
        out[o++] = B64[p[i] >> 2];
        out[o++] = B64[(p[i] & 3) << 4];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 8 | p[i + 1];
        out[o++] = B64[v >> 10];
        out[o++] = B64[(v >> 4) & 63];
        out[o++] = B64[(v & 15) << 2];
    }
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int age_b64_decode(const char *in, size_t n, unsigned char *out, size_t out_cap, size_t *out_len)
{
    size_t o = 0;
    unsigned acc = 0, bits = 0;

    *out_len = 0;
    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > out_cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* Canonical: the bits left over after the last whole byte are zero. */
    if ((acc & ((1u << bits) - 1)) != 0)
        return -1;
    *out_len = o;
    return 0;
}

void age_stanza_release(struct age_stanza *s)
{
    for (size_t i = 0; i < s->nargs; i++)
        free(s->args[i]);
    if (s->body) {
        OPENSSL_cleanse(s->body, s->body_len);
        free(s->body);
    }
    memset(s, 0, sizeof(*s));
}

int age_header_append_stanza(struct buf *b, const struct age_stanza *s, struct err *e)
{
    size_t enc_len = age_b64_len(s->body_len);
    char *enc = NULL;
    int rc = -1;

    if (buf_appends(b, "->", e) < 0)
        goto out;
    for (size_t i = 0; i < s->nargs; i++)
        if (buf_appends(b, " ", e) < 0 || buf_appends(b, s->args[i], e) < 0)
            goto out;
    if (buf_appends(b, "\n", e) < 0)
        goto out;
    enc = malloc(enc_len + 1);
    if (!enc) {
        err_oom(e);
        goto out;
    }
    age_b64_encode(enc, s->body, s->body_len);
    /* Full lines of 64 columns, then one shorter line, empty if need be. */
    for (size_t off = 0;; off += AGE_COLUMNS) {
        size_t n = enc_len - off < AGE_COLUMNS ? enc_len - off : AGE_COLUMNS;
        if (buf_append(b, enc + off, n, e) < 0 || buf_appends(b, "\n", e) < 0)
            goto out;
        if (n < AGE_COLUMNS)
            break;
    }
    rc = 0;
out:
    free(enc);
    return rc;
}

/* The next line of text from *pos, without its \n; NULL at the end of the
 * text or when the rest has no \n. */
static const char *next_line(const char *text, size_t len, size_t *pos, size_t *line_len)
{
    const char *start = text + *pos, *nl;

    if (*pos >= len)
        return NULL;
    nl = memchr(start, '\n', len - *pos);
    if (!nl)
        return NULL;
    *line_len = (size_t)(nl - start);
    *pos += *line_len + 1;
    return start;
}

static bool starts_with(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

static int parse_args(struct age_stanza *s, const char *p, size_t len, struct err *e)
{
    size_t i = 0;

    /* p is what follows "-> ": args separated by single spaces. */
    for (;;) {
        size_t start = i;
        while (i < len && p[i] != ' ') {
            if (p[i] < 33 || p[i] > 126)
                return err_set(e, ERR_SNAPSHOT, "stanza argument with an invalid character");
            i++;
        }
        if (i == start)
            return err_set(e, ERR_SNAPSHOT, "empty stanza argument");
        if (s->nargs == AGE_STANZA_ARGS)
            return err_set(e, ERR_SNAPSHOT, "stanza with too many arguments");
        s->args[s->nargs] = strndup(p + start, i - start);
        if (!s->args[s->nargs])
            return err_oom(e);
        s->nargs++;
        if (i == len)
            return 0;
        i++; /* the space */
    }
}

/* Reads the body lines that follow a stanza line, through the short one. */
static int parse_body(struct age_stanza *s, const char *text, size_t len, size_t *pos,
                      struct err *e)
{
    struct buf enc;
    const char *line;
    size_t line_len, cap;
    int rc = -1;

    buf_init(&enc, AGE_HEADER_MAX);
    for (;;) {
        line = next_line(text, len, pos, &line_len);
        if (!line || starts_with(line, line_len, "-")) {
            err_set(e, ERR_SNAPSHOT, "stanza without a final short body line");
            goto out;
        }
        if (line_len > AGE_COLUMNS) {
            err_set(e, ERR_SNAPSHOT, "stanza body line longer than 64 columns");
            goto out;
        }
        if (buf_append(&enc, line, line_len, e) < 0)
            goto out;
        if (line_len < AGE_COLUMNS)
            break;
    }
    cap = enc.len / 4 * 3 + 3;
    s->body = malloc(cap);
    if (!s->body) {
        err_oom(e);
        goto out;
    }
    if (age_b64_decode(buf_str(&enc), enc.len, s->body, cap, &s->body_len) < 0) {
        err_set(e, ERR_SNAPSHOT, "stanza body is not canonical base64");
        goto out;
    }
    rc = 0;
out:
    buf_release(&enc);
    return rc;
}

static int add_stanza(struct age_header *h, size_t *cap, struct age_stanza **slot, struct err *e)
{
    if (h->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct age_stanza *v = realloc(h->stanzas, ncap * sizeof(*v));
        if (!v)
            return err_oom(e);
        h->stanzas = v;
        *cap = ncap;
    }
    *slot = &h->stanzas[h->n++];
    memset(*slot, 0, sizeof(**slot));
    return 0;
}

static int parse_mac(struct age_header *h, const char *text, const char *line, size_t line_len,
                     struct err *e)
{
    size_t n;

    if (line_len != 4 + 43 || line[3] != ' ' ||
        age_b64_decode(line + 4, 43, h->mac, sizeof(h->mac), &n) < 0 || n != AGE_KEY_LEN)
        return err_set(e, ERR_SNAPSHOT, "malformed header MAC line");
    h->mac_covers = (size_t)(line - text) + 3;
    return 0;
}

int age_header_parse(struct age_header *h, const char *text, size_t len, struct err *e)
{
    const char *line;
    size_t pos = 0, line_len, cap = 0;
    int rc = -1;

    memset(h, 0, sizeof(*h));
    line = next_line(text, len, &pos, &line_len);
    if (!line || line_len != strlen(AGE_VERSION_LINE) ||
        memcmp(line, AGE_VERSION_LINE, line_len) != 0) {
        err_set(e, ERR_SNAPSHOT, "bad age version line");
        goto out;
    }
    for (;;) {
        struct age_stanza *s = NULL;

        line = next_line(text, len, &pos, &line_len);
        if (!line) {
            err_set(e, ERR_SNAPSHOT, "header without a MAC line");
            goto out;
        }
        if (starts_with(line, line_len, "---")) {
            if (parse_mac(h, text, line, line_len, e) < 0)
                goto out;
            break;
        }
        if (!starts_with(line, line_len, "-> ")) {
            err_set(e, ERR_SNAPSHOT, "malformed header line");
            goto out;
        }
        if (add_stanza(h, &cap, &s, e) < 0 || parse_args(s, line + 3, line_len - 3, e) < 0 ||
            parse_body(s, text, len, &pos, e) < 0)
            goto out;
    }
    if (pos != len) {
        err_set(e, ERR_INTERNAL, "header text goes on after its MAC line");
        goto out;
    }
    if (h->n == 0) {
        err_set(e, ERR_SNAPSHOT, "header without recipient stanzas");
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        age_header_release(h);
    return rc;
}

void age_header_release(struct age_header *h)
{
    for (size_t i = 0; i < h->n; i++)
        age_stanza_release(&h->stanzas[i]);
    free(h->stanzas);
    memset(h, 0, sizeof(*h));
}
