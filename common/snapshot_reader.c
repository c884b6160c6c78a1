/*
 * snapshot_reader.c - reads and verifies a snapshot as it streams (see
 * snapshot.h and snapshots/README.md).
 *
 * Design: inflate (not gzread) so that member boundaries are visible:
 * gzread would silently join a second snapshot appended with `cat`, and
 * the one thing a reader must never do is report a clean end for a file
 * that holds more than it verified. Decompressed bytes land in one window
 * that lines are cut from in place (no copy, no per-line malloc); the
 * window only grows, up to the line limit + 1, when a single line does
 * not fit. Every line is hashed as it is handed out, so the trailer can be
 * checked without a second pass, and the end is reported only after the
 * gzip CRC of the last member was checked and nothing follows it.
 *
 * User lines are checked with the canonical JSON parser (canonjson.h): it
 * accepts only what jansson's loader accepts and builds no json_t, so a
 * pass that only verifies (or reads lines and their fields) allocates
 * nothing per line. jansson parses what canonjson does not handle (a
 * duplicate key, an escaped key, \u0000, ...), which also gives the
 * messages for broken lines; the json_t of a user is built only when a
 * caller asks for it (snapshot_reader_next, _current).
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZLIB_CONST
#include <zlib.h>

#include "age.h"
#include "buf.h"
#include "canonjson.h"
#include "edsig.h"
#include "sha256.h"

#define R_IN_SIZE    (256u * 1024)
#define R_RAW_SIZE   (64u * 1024) /* encrypted bytes read at a time: at most one age chunk */
#define R_OUT_MIN    (256u * 1024)
#define R_OUT_SLACK  (64u * 1024) /* compact the window when less is free */
#define R_JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

enum r_state { R_USERS, R_DONE, R_FAILED };

struct snapshot_reader {
    char *path;
    int fd;
    z_stream zs;
    bool zs_ready;
    bool member_end; /* inflate finished a gzip member (CRC checked) */
    bool file_eof;
    bool out_eof; /* no more decompressed bytes will come */
    unsigned char *in;
    size_t in_len;           /* encrypted files: plaintext the decryptor put in `in` */
    struct age_decrypt *dec; /* NULL: the file is the gzip stream itself */
    unsigned char *raw;      /* encrypted files: bytes read from the file */
    char *out;               /* the window: out[pos..len) is not handed out yet */
    size_t out_cap, out_pos, out_len, out_scan;
    const char *line; /* the last user line handed out */
    size_t line_len;
    unsigned long line_no;
    unsigned long long bytes, gzip_bytes;
    json_t *header, *trailer;
    /* The last user handed out: its fast parse (when fast) and its json_t
     * (built on demand from the parse; jansson's when not fast). */
    struct canonjson cj;
    bool fast, have_cur;
    json_t *cur;
    const char *id; /* in header */
    struct sha256 *hash;
    struct buf prev_id;
    json_t *counts;
    unsigned long long users;
    char sha256[SHA256_HEX_LEN + 1];
    char signer[EDSIG_FINGERPRINT_LEN + 1]; /* "" unless a signature verified */
    enum r_state state;
    struct err fail; /* repeated by calls after a failure */
};

/* Fills e with "snapshot 'path'[, line N]: <message>" (ERR_SNAPSHOT) and
 * marks the reader failed. line 0 leaves the line out. */
__attribute__((format(printf, 4, 5))) static int r_fail(struct snapshot_reader *r, struct err *e,
                                                        unsigned long line, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX], where[32] = "";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line)
        snprintf(where, sizeof(where), ", line %lu", line);
    err_set(&r->fail, ERR_SNAPSHOT, "snapshot '%s'%s: %s", r->path, where, msg);
    r->state = R_FAILED;
    if (e)
        *e = r->fail;
    return -1;
}

/* For failures that are not the file's fault (read errors, memory). */
static int r_fail_err(struct snapshot_reader *r, struct err *e)
{
    r->fail = *e;
    r->state = R_FAILED;
    return -1;
}

/* The decryptor's plaintext: appended to `in` (room is there: r_read
 * feeds it at most R_RAW_SIZE bytes while `in` is empty). */
static int r_plain(void *ctx, const void *data, size_t len, struct err *e)
{
    struct snapshot_reader *r = ctx;

    if (len > R_IN_SIZE - r->in_len)
        return err_set(e, ERR_INTERNAL, "snapshot reader: no room for decrypted bytes");
    memcpy(r->in + r->in_len, data, len);
    r->in_len += len;
    return 0;
}

/* An encrypted file's failure, said as the reader says the others. */
static int r_fail_decrypt(struct snapshot_reader *r, struct err *e)
{
    if (e->code == ERR_SNAPSHOT)
        return r_fail(r, e, 0, "%s", e->msg);
    err_prefix(e, "snapshot '%s'", r->path);
    return r_fail_err(r, e);
}

/* Reads the file into `in` (decrypting it when it is encrypted) for
 * inflate; at the end of the file, file_eof. */
static int r_read(struct snapshot_reader *r, struct err *e)
{
    ssize_t n;

    r->in_len = 0;
    do {
        do
            n = read(r->fd, r->dec ? r->raw : r->in, r->dec ? R_RAW_SIZE : R_IN_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            err_errno(e, ERR_IO, errno, "cannot read '%s'", r->path);
            return r_fail_err(r, e);
        }
        r->gzip_bytes += (unsigned long long)n;
        if (n == 0) {
            r->file_eof = true;
            /* The stream must end with its final chunk. */
            if (r->dec && age_decrypt_finish(r->dec, e) < 0)
                return r_fail_decrypt(r, e);
        } else if (r->dec) {
            if (age_decrypt_feed(r->dec, r->raw, (size_t)n, e) < 0)
                return r_fail_decrypt(r, e);
        } else {
            r->in_len = (size_t)n;
        }
    } while (r->dec && r->in_len == 0 && !r->file_eof);
    r->zs.next_in = r->in;
    r->zs.avail_in = (uInt)r->in_len;
    return 0;
}

/* Inflates more bytes into the window. 1 = got some, 0 = clean end of the
 * file (every member complete), -1 = error. */
static int r_fill(struct snapshot_reader *r, struct err *e)
{
    size_t room, got;
    int ret;

    for (;;) {
        if (r->member_end) {
            if (r->zs.avail_in == 0 && !r->file_eof && r_read(r, e) < 0)
                return -1;
            if (r->zs.avail_in == 0)
                return 0;
            if (r->trailer)
                return r_fail(r, e, 0, "data after the trailer (%s)",
                              r->zs.next_in[0] == 0x1f ? "two snapshots concatenated?"
                                                       : "garbage after the gzip stream");
            /* Another gzip member of the same snapshot: zcat joins them. */
            if (inflateReset(&r->zs) != Z_OK)
                return r_fail(r, e, 0, "cannot restart gzip decoding");
            r->member_end = false;
        }
        if (r->zs.avail_in == 0) {
            if (r_read(r, e) < 0)
                return -1;
            if (r->zs.avail_in == 0)
                return r_fail(r, e, 0, "truncated (the gzip stream ends early)");
        }
        room = r->out_cap - r->out_len;
        if (room == 0)
            return r_fail(r, e, 0, "internal error: no room to decompress into");
        r->zs.next_out = (unsigned char *)r->out + r->out_len;
        r->zs.avail_out = (uInt)room;
        ret = inflate(&r->zs, Z_NO_FLUSH);
        got = room - r->zs.avail_out;
        r->out_len += got;
        switch (ret) {
        case Z_STREAM_END:
            r->member_end = true;
            break;
        case Z_OK:
        case Z_BUF_ERROR:
            break;
        case Z_MEM_ERROR:
            err_oom(e);
            return r_fail_err(r, e);
        default: /* Z_DATA_ERROR, Z_NEED_DICT: damaged data or CRC */
            return r_fail(r, e, 0, "corrupt gzip data (%s)", r->zs.msg ? r->zs.msg : "unknown");
        }
        if (got)
            return 1;
    }
}

/* Cuts the next line (at most max bytes) from the window. 1 = a line in
 * *line, *len (no \n; *nl tells whether one followed), 0 = no more bytes,
 * -1 = error. */
static int r_line(struct snapshot_reader *r, size_t max, const char **line, size_t *len, bool *nl,
                  struct err *e)
{
    size_t cap;
    char *p;
    int rc;

    for (;;) {
        p = memchr(r->out + r->out_scan, '\n', r->out_len - r->out_scan);
        if (p || (r->out_eof && r->out_len > r->out_pos)) {
            *line = r->out + r->out_pos;
            *len = (p ? (size_t)(p - r->out) : r->out_len) - r->out_pos;
            *nl = p != NULL;
            r->out_pos = r->out_scan = r->out_pos + *len + (p ? 1 : 0);
            r->line_no++;
            r->bytes += *len + (p ? 1 : 0);
            if (*len > max)
                return r_fail(r, e, r->line_no, "line is longer than %zu bytes", max);
            return 1;
        }
        r->out_scan = r->out_len;
        if (r->out_len - r->out_pos > max)
            return r_fail(r, e, r->line_no + 1, "line is longer than %zu bytes", max);
        if (r->out_eof)
            return 0;
        if (r->out_pos && r->out_cap - r->out_len < R_OUT_SLACK) {
            memmove(r->out, r->out + r->out_pos, r->out_len - r->out_pos);
            r->out_len -= r->out_pos;
            r->out_scan -= r->out_pos;
            r->out_pos = 0;
        }
        if (r->out_cap - r->out_len < R_OUT_SLACK && r->out_cap < max + 1) {
            cap = r->out_cap * 2 < max + 1 ? r->out_cap * 2 : max + 1;
            p = realloc(r->out, cap);
            if (!p) {
                err_oom(e);
                return r_fail_err(r, e);
            }
            r->out = p;
            r->out_cap = cap;
        }
        rc = r_fill(r, e);
        if (rc < 0)
            return -1;
        if (rc == 0)
            r->out_eof = true;
    }
}

/* What any line must be: not empty, not nested deeper than the limit.
 * depth: the nesting a parse found, or 0 when unknown (the line is then
 * scanned for it before jansson sees it). On failure why says what is
 * wrong with it. */
static int r_check_line(const char *line, size_t len, int depth, char *why, size_t whysz)
{
    if (len == 0) {
        snprintf(why, whysz, "empty line");
        return -1;
    }
    if (depth > 0 ? depth > SNAPSHOT_MAX_DEPTH : snapshot_json_too_deep(line, len)) {
        snprintf(why, whysz, "JSON nested more than %d levels deep", SNAPSHOT_MAX_DEPTH);
        return -1;
    }
    return 0;
}

/* Parses one line into a JSON object (owned, in *out) with jansson. On
 * failure why says what is wrong with it. */
static int r_parse(const char *line, size_t len, json_t **out, char *why, size_t whysz)
{
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (r_check_line(line, len, 0, why, whysz) < 0)
        return -1;
    j = json_loadb(line, len, R_JSON_FLAGS, &jerr);
    if (!j) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            snprintf(why, whysz, "invalid UTF-8 (column %d)", jerr.column);
        else {
            /* jansson quotes the offending text: keep terminal controls out */
            char text[128];
            snapshot_printable(text, sizeof(text), jerr.text, strlen(jerr.text));
            snprintf(why, whysz, "invalid JSON (%s, column %d)", text, jerr.column);
        }
        return -1;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(why, whysz, "not a JSON object");
        return -1;
    }
    *out = j;
    return 0;
}

static int r_hash(struct snapshot_reader *r, const char *line, size_t len, struct err *e)
{
    /* The \n that ended the line is still in the window, right after it. */
    if (sha256_update(r->hash, line, len + 1, e) < 0)
        return r_fail_err(r, e);
    return 0;
}

static int r_header(struct snapshot_reader *r, struct err *e)
{
    char why[ERR_MSG_MAX / 2];
    const char *line, *format;
    json_t *h = NULL, *v;
    size_t len;
    bool nl;
    int rc;

    rc = r_line(r, SNAPSHOT_MAX_HEADER, &line, &len, &nl, e);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return r_fail(r, e, 0, "empty file (no snapshot header)");
    if (r_parse(line, len, &h, why, sizeof(why)) < 0)
        return r_fail(r, e, 1, "not an a0snap snapshot (the first line: %s)", why);
    r->header = h;
    if (!json_is_string(json_object_get(h, "a0snap")) ||
        strcmp(json_string_value(json_object_get(h, "a0snap")), "header") != 0)
        return r_fail(r, e, 1, "not an a0snap snapshot (the first line is not a snapshot header)");
    format = json_string_value(json_object_get(h, "format"));
    if (!format || strcmp(format, SNAPSHOT_FORMAT) != 0) {
        char shown[128];
        snapshot_printable(shown, sizeof(shown), format ? format : "", format ? strlen(format) : 0);
        return r_fail(r, e, 1, "unknown format '%s' (expected '%s')", shown, SNAPSHOT_FORMAT);
    }
    v = json_object_get(h, "format_version");
    if (!json_is_integer(v))
        return r_fail(r, e, 1, "the header has no numeric 'format_version'");
    if (json_integer_value(v) > SNAPSHOT_FORMAT_VERSION)
        return r_fail(r, e, 1,
                      "snapshot format version %" JSON_INTEGER_FORMAT
                      " is newer than this a0snap understands (%d)",
                      json_integer_value(v), SNAPSHOT_FORMAT_VERSION);
    if (json_integer_value(v) < 1)
        return r_fail(r, e, 1, "unknown snapshot format version %" JSON_INTEGER_FORMAT,
                      json_integer_value(v));
    r->id = json_string_value(json_object_get(h, "snapshot_id"));
    if (!snapshot_id_valid(r->id))
        return r_fail(r, e, 1, "the header has no valid 'snapshot_id'");
    if (!nl)
        return r_fail(r, e, 0, "missing trailer (the snapshot is incomplete)");
    return r_hash(r, line, len, e);
}

static int id_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    return c ? c : (alen > blen) - (alen < blen);
}

/* One more user of connection conn (clen bytes, no NUL inside). */
static int r_count(struct snapshot_reader *r, const char *conn, size_t clen, struct err *e)
{
    json_t *n = json_object_getn(r->counts, conn, clen);

    if (n ? json_integer_set(n, json_integer_value(n) + 1) < 0
          : json_object_setn_new(r->counts, conn, clen, json_integer(1)) < 0) {
        err_oom(e);
        return r_fail_err(r, e);
    }
    return 0;
}

/* A signed snapshot: the header names the key, the trailer holds the
 * signature of the id and the digest just verified. */
static int r_check_signature(struct snapshot_reader *r, struct err *e)
{
    json_t *sig = json_object_get(r->header, "signature");
    const char *value = json_string_value(json_object_get(r->trailer, "signature"));
    const char *alg = json_string_value(json_object_get(sig, "alg"));
    const char *pub = json_string_value(json_object_get(sig, "public_key"));
    const char *named = json_string_value(json_object_get(sig, "fingerprint"));
    char msg[SNAPSHOT_SIGNED_MAX];
    unsigned long ln = r->line_no;
    struct err se;
    size_t n;

    if (!sig && !value)
        return 0;
    if (!sig)
        return r_fail(r, e, ln, "the trailer holds a signature but the header names no signer");
    if (!json_is_object(sig) || !alg || strcmp(alg, "ed25519") != 0 || !pub || !named)
        return r_fail(r, e, 1, "the header's 'signature' is not an Ed25519 signer");
    if (!value)
        return r_fail(r, e, ln, "the header names a signer but the trailer holds no signature");
    err_clear(&se);
    if (edsig_public_fingerprint(pub, r->signer, &se) < 0)
        return r_fail(r, e, 1, "%s", se.msg);
    if (strcmp(r->signer, named) != 0) {
        r->signer[0] = '\0';
        return r_fail(r, e, 1, "the signer's fingerprint does not match its public key");
    }
    n = snapshot_signed_message(msg, r->id, r->sha256);
    if (edsig_verify(pub, msg, n, value, NULL, &se) < 0) {
        r->signer[0] = '\0';
        return r_fail(r, e, ln, "%s", se.msg);
    }
    return 0;
}

/* The trailer (owned by r->trailer by now) against what was read. */
static int r_check_trailer(struct snapshot_reader *r, struct err *e)
{
    json_t *t = r->trailer, *conns, *v, *mine;
    unsigned long ln = r->line_no;
    const char *tid, *sha, *key;
    char q[96];

    tid = json_string_value(json_object_get(t, "snapshot_id"));
    if (!tid || strcmp(tid, r->id) != 0) {
        snapshot_printable(q, sizeof(q), tid ? tid : "", tid ? strlen(tid) : 0);
        return r_fail(r, e, ln,
                      "the trailer belongs to snapshot '%s' but the header to '%s' "
                      "(stitched from two snapshots?)",
                      q, r->id);
    }
    v = json_object_get(t, "users");
    if (!json_is_integer(v))
        return r_fail(r, e, ln, "the trailer has no numeric 'users'");
    if (json_integer_value(v) < 0 || (unsigned long long)json_integer_value(v) != r->users)
        return r_fail(r, e, ln,
                      "the trailer counts %" JSON_INTEGER_FORMAT
                      " users but the file holds %llu (lines lost or added?)",
                      json_integer_value(v), r->users);
    conns = json_object_get(t, "connections");
    if (!json_is_object(conns))
        return r_fail(r, e, ln, "the trailer has no 'connections' object");
    json_object_foreach(conns, key, v)
    {
        mine = json_object_get(r->counts, key);
        if (!mine || !json_is_integer(v) || json_integer_value(v) != json_integer_value(mine)) {
            snapshot_printable(q, sizeof(q), key, strlen(key));
            return r_fail(
                r, e, ln,
                "connection counts disagree for '%s': the trailer says %" JSON_INTEGER_FORMAT
                ", the file holds %" JSON_INTEGER_FORMAT,
                q, json_integer_value(v), json_integer_value(mine));
        }
    }
    json_object_foreach(r->counts, key, v)
    {
        if (!json_object_get(conns, key)) {
            snapshot_printable(q, sizeof(q), key, strlen(key));
            return r_fail(r, e, ln,
                          "connection counts disagree for '%s': the trailer says 0, "
                          "the file holds %" JSON_INTEGER_FORMAT,
                          q, json_integer_value(v));
        }
    }
    if (sha256_final_hex(r->hash, r->sha256, e) < 0)
        return r_fail_err(r, e);
    sha = json_string_value(json_object_get(t, "sha256"));
    if (!sha || strcmp(sha, r->sha256) != 0)
        return r_fail(r, e, ln, "sha256 mismatch (the content before the trailer was altered)");
    return r_check_signature(r, e);
}

/* After the trailer: nothing else may follow, and every gzip member must
 * end cleanly (its CRC is only checked once inflate reaches its end). */
static int r_check_end(struct snapshot_reader *r, struct err *e)
{
    int rc;

    if (r->out_len > r->out_pos)
        return r_fail(r, e, r->line_no + 1, "data after the trailer");
    r->out_pos = r->out_len = r->out_scan = 0;
    rc = r_fill(r, e);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return r_fail(r, e, r->line_no + 1, "data after the trailer");
    r->out_eof = true;
    return 0;
}

/* Forgets the last user handed out. */
static void r_drop_current(struct snapshot_reader *r)
{
    json_decref(r->cur);
    r->cur = NULL;
    r->fast = r->have_cur = false;
}

/* The fields the reader checks, from a line the fast parse handled: false
 * when one of them needs jansson (an "a0snap" key, which a trailer has and
 * a user may not; a user_id that is not a string without escapes; an
 * escaped connection name). Borrowed from the line. */
static bool r_fast_fields(const struct canonjson *cj, const char **id, size_t *idlen,
                          const char **conn, size_t *clen)
{
    size_t x;

    if (canonjson_get(cj, CANONJSON_ROOT, "a0snap", 6) != CANONJSON_NONE)
        return false;
    x = canonjson_get(cj, CANONJSON_ROOT, "user_id", 7);
    if (x == CANONJSON_NONE || !canonjson_string(cj, x, id, idlen))
        return false;
    /* snapshot_user_connection(): "" unless identities[0].connection is a string */
    *conn = "";
    *clen = 0;
    x = canonjson_get(cj, CANONJSON_ROOT, "identities", 10);
    if (x != CANONJSON_NONE)
        x = canonjson_at(cj, x, 0);
    if (x != CANONJSON_NONE)
        x = canonjson_get(cj, x, "connection", 10);
    return x == CANONJSON_NONE || canonjson_type(cj, x) != CANONJSON_STRING ||
           canonjson_string(cj, x, conn, clen);
}

/* A line jansson parsed (owned by r->cur from here on): the trailer (0 once
 * verified), or a user whose fields go to *id, *conn (1). */
static int r_slow_fields(struct snapshot_reader *r, json_t *j, const char **id, size_t *idlen,
                         const char **conn, size_t *clen, struct err *e)
{
    json_t *a0 = json_object_get(j, "a0snap");

    if (a0) {
        if (!json_is_string(a0) || strcmp(json_string_value(a0), "trailer") != 0) {
            json_decref(j);
            return r_fail(r, e, r->line_no, "unexpected record (a user cannot have 'a0snap')");
        }
        r->trailer = j;
        if (r_check_trailer(r, e) < 0 || r_check_end(r, e) < 0)
            return -1;
        r->state = R_DONE;
        return 0;
    }
    r->cur = j;
    *id = json_string_value(json_object_get(j, "user_id"));
    if (!*id || !**id)
        return r_fail(r, e, r->line_no, "user has no 'user_id' string");
    *idlen = json_string_length(json_object_get(j, "user_id"));
    *conn = snapshot_user_connection(j);
    *clen = strlen(*conn);
    return 1;
}

/* The checks of one user line whatever parsed it: the order of user_ids,
 * the newline after it; then it is counted and hashed. */
static int r_user(struct snapshot_reader *r, const char *line, size_t len, bool nl, const char *id,
                  size_t idlen, const char *conn, size_t clen, struct err *e)
{
    char q[96], q2[96];
    int rc;

    if (idlen == 0)
        return r_fail(r, e, r->line_no, "user has no 'user_id' string");
    snapshot_printable(q, sizeof(q), id, idlen);
    if (r->users) {
        rc = id_cmp(id, idlen, r->prev_id.data, r->prev_id.len);
        if (rc == 0)
            return r_fail(r, e, r->line_no, "duplicate user_id '%s'", q);
        if (rc < 0) {
            snapshot_printable(q2, sizeof(q2), r->prev_id.data, r->prev_id.len);
            return r_fail(r, e, r->line_no, "user_id '%s' is out of order (after '%s')", q, q2);
        }
    }
    if (!nl)
        return r_fail(r, e, 0, "missing trailer (the snapshot is incomplete)");
    buf_reset(&r->prev_id);
    if (buf_append(&r->prev_id, id, idlen, e) < 0)
        return r_fail_err(r, e);
    if (r_count(r, conn, clen, e) < 0 || r_hash(r, line, len, e) < 0)
        return -1;
    r->users++;
    r->line = line;
    r->line_len = len;
    r->have_cur = true;
    return 1;
}

/* One step: 1 = a user (r->line, and r->cj when r->fast, else r->cur),
 * 0 = verified end, -1 = error. */
static int r_next(struct snapshot_reader *r, struct err *e)
{
    char why[ERR_MSG_MAX / 2];
    const char *line, *id = NULL, *conn = NULL;
    size_t len, idlen = 0, clen = 0;
    json_t *j;
    bool nl;
    int rc;

    r_drop_current(r);
    if (r->state == R_DONE)
        return 0;
    if (r->state == R_FAILED) {
        if (e)
            *e = r->fail;
        return -1;
    }
    rc = r_line(r, SNAPSHOT_MAX_LINE, &line, &len, &nl, e);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return r_fail(r, e, 0, "missing trailer (the snapshot is incomplete)");
    /* The fast parse bounds the nesting itself; what it declines is
     * scanned before jansson parses it (r_parse). */
    rc = canonjson_parse(&r->cj, line, len, e);
    if (rc < 0)
        return r_fail_err(r, e);
    if (rc == 1 && r_check_line(line, len, r->cj.depth, why, sizeof(why)) < 0)
        return r_fail(r, e, r->line_no, "%s", why);
    if (rc == 1 && r_fast_fields(&r->cj, &id, &idlen, &conn, &clen)) {
        r->fast = true;
    } else {
        if (r_parse(line, len, &j, why, sizeof(why)) < 0)
            return r_fail(r, e, r->line_no, "%s", why);
        rc = r_slow_fields(r, j, &id, &idlen, &conn, &clen, e);
        if (rc < 0)
            r_drop_current(r);
        if (rc <= 0)
            return rc;
    }
    rc = r_user(r, line, len, nl, id, idlen, conn, clen, e);
    if (rc < 0)
        r_drop_current(r);
    return rc;
}

/* The json_t of the user handed out last, built from its fast parse when
 * nobody asked for it yet; NULL when out of memory. */
static json_t *r_current(struct snapshot_reader *r)
{
    if (!r->have_cur)
        return NULL;
    if (!r->cur && r->fast)
        r->cur = canonjson_to_json(&r->cj, CANONJSON_ROOT);
    return r->cur;
}

/* Looks at the first bytes: gzip goes on as it is; age is decrypted with
 * the keys' identities from here on. */
static int r_detect(struct snapshot_reader *r, const struct snapshot_keys *keys, struct err *e)
{
    unsigned char head[AGE_DETECT_LEN];
    ssize_t n;

    do
        n = pread(r->fd, head, sizeof(head), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        err_errno(e, ERR_IO, errno, "cannot read '%s'", r->path);
        return r_fail_err(r, e);
    }
    switch (age_detect(head, (size_t)n)) {
    case AGE_FORMAT_NONE:
        return 0;
    case AGE_FORMAT_ARMORED:
        return r_fail(r, e, 0,
                      "an ASCII-armored age file, which a0snap does not read: decrypt it with "
                      "'age -d' or encrypt it again without -a");
    case AGE_FORMAT_BINARY:
        break;
    }
    if (!keys || !keys->identities)
        return err_set(e, ERR_USAGE,
                       "snapshot '%s' is encrypted (age): give the identity that opens it with "
                       "--identity FILE or A0SNAP_IDENTITY_FILE",
                       r->path);
    r->raw = malloc(R_RAW_SIZE);
    if (!r->raw)
        return err_oom(e);
    if (age_decrypt_new(&r->dec, keys->identities, r_plain, r, e) < 0) {
        err_prefix(e, "snapshot '%s'", r->path);
        return -1;
    }
    return 0;
}

int snapshot_reader_open(struct snapshot_reader **out, const char *path, struct err *e)
{
    return snapshot_reader_open_keys(out, path, NULL, e);
}

int snapshot_reader_open_keys(struct snapshot_reader **out, const char *path,
                              const struct snapshot_keys *keys, struct err *e)
{
    struct snapshot_reader *r = NULL;
    struct err scratch;
    int rc = -1;

    if (!e)
        e = &scratch; /* the reader keeps its own copy of every failure */

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return err_oom(e);
    r->fd = -1;
    canonjson_init(&r->cj);
    buf_init(&r->prev_id, SNAPSHOT_MAX_LINE);
    r->path = strdup(path);
    r->in = malloc(R_IN_SIZE);
    r->out = malloc(R_OUT_MIN);
    r->counts = json_object();
    if (!r->path || !r->in || !r->out || !r->counts) {
        err_oom(e);
        goto out;
    }
    r->out_cap = R_OUT_MIN;
    if (sha256_new(&r->hash, e) < 0)
        goto out;
    /* windowBits 15 + 16: gzip only (a zlib or raw stream is not ours). */
    if (inflateInit2(&r->zs, 15 + 16) != Z_OK) {
        err_oom(e);
        goto out;
    }
    r->zs_ready = true;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        err_errno(e, ERR_IO, errno, "cannot open '%s'", path);
        goto out;
    }
    if (r_detect(r, keys, e) < 0 || r_read(r, e) < 0)
        goto out;
    if (r->zs.avail_in == 0) {
        r_fail(r, e, 0, "empty file (not a snapshot)");
        goto out;
    }
    if (r->in[0] != 0x1f || (r->zs.avail_in > 1 && r->in[1] != 0x8b)) {
        r_fail(r, e, 0, "not gzip-compressed%s",
               r->in[0] == '{' ? " (an uncompressed NDJSON file?)" : " (not a snapshot)");
        goto out;
    }
    if (r_header(r, e) < 0)
        goto out;
    *out = r;
    r = NULL;
    rc = 0;
out:
    snapshot_reader_free(r);
    return rc;
}

bool snapshot_reader_encrypted(const struct snapshot_reader *r)
{
    return r->dec != NULL;
}

json_t *snapshot_reader_header(const struct snapshot_reader *r)
{
    return r->header;
}

const char *snapshot_reader_id(const struct snapshot_reader *r)
{
    return r->id;
}

int snapshot_reader_next(struct snapshot_reader *r, json_t **user, struct err *e)
{
    struct err scratch;
    int rc;

    if (!e)
        e = &scratch;
    *user = NULL;
    rc = r_next(r, e);
    if (rc != 1)
        return rc;
    if (!r_current(r)) {
        err_oom(e);
        r_drop_current(r);
        return r_fail_err(r, e);
    }
    *user = json_incref(r->cur);
    return 1;
}

int snapshot_reader_next_line(struct snapshot_reader *r, const char **line, size_t *len,
                              struct err *e)
{
    struct err scratch;
    int rc = r_next(r, e ? e : &scratch);

    *line = rc == 1 ? r->line : NULL;
    *len = rc == 1 ? r->line_len : 0;
    return rc;
}

const json_t *snapshot_reader_current(struct snapshot_reader *r)
{
    return r_current(r);
}

const struct canonjson *snapshot_reader_parsed(const struct snapshot_reader *r)
{
    return r->have_cur && r->fast ? &r->cj : NULL;
}

json_t *snapshot_reader_trailer(const struct snapshot_reader *r)
{
    return r->state == R_DONE ? r->trailer : NULL;
}

const char *snapshot_reader_signer(const struct snapshot_reader *r)
{
    return r->state == R_DONE && r->signer[0] ? r->signer : NULL;
}

const char *snapshot_reader_sha256(const struct snapshot_reader *r)
{
    return r->state == R_DONE ? r->sha256 : NULL;
}

unsigned long snapshot_reader_line_number(const struct snapshot_reader *r)
{
    return r->line_no;
}

void snapshot_reader_free(struct snapshot_reader *r)
{
    if (!r)
        return;
    if (r->zs_ready)
        inflateEnd(&r->zs);
    if (r->fd >= 0)
        close(r->fd);
    age_decrypt_free(r->dec);
    free(r->raw);
    free(r->path);
    if (r->in && r->dec)
        explicit_bzero(r->in, R_IN_SIZE); /* decrypted bytes */
    free(r->in);
    free(r->out);
    json_decref(r->header);
    json_decref(r->trailer);
    json_decref(r->cur);
    canonjson_release(&r->cj);
    sha256_free(r->hash);
    buf_release(&r->prev_id);
    json_decref(r->counts);
    free(r);
}

/* --- verifying --------------------------------------------------------- */

void snapshot_summary_init(struct snapshot_summary *s)
{
    memset(s, 0, sizeof(*s));
}

void snapshot_summary_release(struct snapshot_summary *s)
{
    if (!s)
        return;
    json_decref(s->header);
    json_decref(s->connections);
    snapshot_summary_init(s);
}

int snapshot_verify(const char *path, struct snapshot_summary *out, struct err *e)
{
    return snapshot_verify_keys(path, NULL, out, e);
}

int snapshot_verify_keys(const char *path, const struct snapshot_keys *keys,
                         struct snapshot_summary *out, struct err *e)
{
    struct snapshot_reader *r = NULL;
    const char *line;
    size_t len;
    int rc;

    if (out)
        snapshot_summary_init(out);
    if (snapshot_reader_open_keys(&r, path, keys, e) < 0)
        return -1;
    while ((rc = snapshot_reader_next_line(r, &line, &len, e)) == 1)
        ;
    if (rc == 0 && out) {
        memcpy(out->snapshot_id, r->id, SNAPSHOT_ID_LEN + 1);
        memcpy(out->sha256, r->sha256, sizeof(out->sha256));
        out->users = r->users;
        out->bytes = r->bytes;
        out->gzip_bytes = r->gzip_bytes;
        out->header = json_incref(r->header);
        out->connections = json_incref(r->counts);
        memcpy(out->signer, r->signer, sizeof(out->signer));
        out->encrypted = r->dec != NULL;
    }
    snapshot_reader_free(r);
    return rc;
}
