/*
 * snapshot_writer.c - writes a snapshot (see snapshot.h and
 * snapshots/README.md for the format).
 *
 * Design: lines are copied into a staging buffer (a memcpy per line, no
 * malloc). A full stage is handed to a compressor thread, which hashes it,
 * deflates it and writes the result while the caller fills the other
 * stage: on two cores the caller's own work (parsing, merging, sorting)
 * runs alongside gzip -6 instead of before it. If the thread cannot be
 * started, the same work is done inline. The z_stream, the hash and the
 * descriptor belong to the thread while it runs; the caller touches them
 * again only after joining it (commit, abort).
 *
 * deflate (not gzwrite) is used so that every write() is ours: its errno
 * reaches the message, and fsync/rename happen on a descriptor we still
 * hold (fsutil). A write failure in the thread is reported by the next
 * append that hands over a stage, or by commit. Only the trailer bypasses
 * the hash, since the digest covers everything before it.
 *
 * Nothing here grows with the number of users: the staging and output
 * buffers, one serialized line, the previous user_id and the
 * per-connection counts (one entry per connection name).
 */
#include "snapshot.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define ZLIB_CONST
#include <zlib.h>

#include "age.h"
#include "buf.h"
#include "edsig.h"
#include "fsutil.h"
#include "sha256.h"

#define W_STAGE_SIZE (512u * 1024)
#define W_ZOUT_SIZE  (256u * 1024)
#define W_FLAGS      (JSON_COMPACT | JSON_SORT_KEYS)

/* The compressor thread and its hand-off (guarded by mu). */
struct w_pipe {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_ready; /* mu and cv exist */
    bool running;    /* the thread exists (else the work is done inline) */
    int job;         /* the stage being compressed, -1 when idle */
    bool stop;
    bool failed;
    struct err err; /* why it failed */
};

struct snapshot_writer {
    struct fsutil_tmpfile tmp;
    z_stream zs;
    bool zs_ready;
    bool broken; /* a write failed: only abort is left */
    unsigned char *stage[2];
    size_t stage_len[2];
    int cur; /* the stage being filled */
    unsigned char *zout;
    struct w_pipe pipe;
    struct buf line;    /* a serialized user, header or trailer */
    struct buf prev_id; /* the last user_id appended */
    json_t *counts;     /* {"<connection>": users} */
    struct sha256 *hash;
    unsigned long long users;
    char id[SNAPSHOT_ID_LEN + 1];
    const struct edsig_key *sign; /* borrowed; NULL: unsigned */
    struct age_encrypt *enc;      /* NULL: the gzip stream goes to the file as it is */
};

/* --- helpers shared with the reader ------------------------------------ */

const char *snapshot_user_connection(const json_t *user)
{
    json_t *ids = json_object_get(user, "identities");
    const char *conn = json_string_value(json_object_get(json_array_get(ids, 0), "connection"));

    return conn ? conn : "";
}

int snapshot_json_depth(const char *text, size_t len, int limit)
{
    const unsigned char *p = (const unsigned char *)text;
    int depth = 0, max = 0;
    size_t i = 0;

    while (i < len) {
        switch (p[i++]) {
        case '"':
            /* Skip the string; a backslash escapes the next byte. */
            while (i < len && p[i] != '"')
                i += p[i] == '\\' ? 2 : 1;
            i++;
            break;
        case '{':
        case '[':
            if (++depth > max) {
                max = depth;
                if (max > limit)
                    return limit + 1;
            }
            break;
        case '}':
        case ']':
            depth--;
            break;
        default:
            break;
        }
    }
    return max;
}

bool snapshot_json_too_deep(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i, opens = 0;

    /* No early exit: this loop is meant to be vectorized. */
    for (i = 0; i < len; i++)
        opens += (p[i] == '{') | (p[i] == '[');
    if (opens <= SNAPSHOT_MAX_DEPTH)
        return false;
    return snapshot_json_depth(text, len, SNAPSHOT_MAX_DEPTH) > SNAPSHOT_MAX_DEPTH;
}

bool snapshot_id_valid(const char *s)
{
    size_t i;

    if (!s)
        return false;
    for (i = 0; i < SNAPSHOT_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[SNAPSHOT_ID_LEN] == '\0';
}

void snapshot_printable(char *out, size_t outsz, const char *s, size_t len)
{
    size_t cut = len, i;
    bool dots = false;

    if (cut > 80 || cut > outsz - 4) {
        cut = 80 < outsz - 4 ? 80 : outsz - 4;
        /* Don't split a UTF-8 sequence. */
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        dots = true;
    }
    for (i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (dots) {
        memcpy(out + cut, "...", 3);
        cut += 3;
    }
    out[cut] = '\0';
}

/* --- writing ----------------------------------------------------------- */

/* Writes compressed bytes to the file (the age encryptor's output too). */
static int w_write_file(void *ctx, const void *data, size_t len, struct err *e)
{
    struct snapshot_writer *w = ctx;

    return fsutil_write_all(w->tmp.fd, data, len, w->tmp.final_path, e);
}

/* Compressed bytes on their way to the file: through the encryptor when
 * there is one. */
static int w_out(struct snapshot_writer *w, const void *data, size_t len, struct err *e)
{
    if (len == 0)
        return 0;
    return w->enc ? age_encrypt_write(w->enc, data, len, e) : w_write_file(w, data, len, e);
}

static int w_deflate(struct snapshot_writer *w, const void *data, size_t len, int flush,
                     struct err *e)
{
    int ret;

    w->zs.next_in = data;
    w->zs.avail_in = (uInt)len;
    do {
        w->zs.next_out = w->zout;
        w->zs.avail_out = W_ZOUT_SIZE;
        ret = deflate(&w->zs, flush);
        if (ret == Z_STREAM_ERROR)
            return err_set(e, ERR_INTERNAL, "gzip compression failed");
        if (w_out(w, w->zout, W_ZOUT_SIZE - w->zs.avail_out, e) < 0)
            return -1;
    } while (w->zs.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
    return 0;
}

/* Hashes and compresses one full stage (in the thread, or inline). */
static int w_compress(struct snapshot_writer *w, const unsigned char *data, size_t len,
                      struct err *e)
{
    if (sha256_update(w->hash, data, len, e) < 0)
        return -1;
    return w_deflate(w, data, len, Z_NO_FLUSH, e);
}

static void *w_thread(void *arg)
{
    struct snapshot_writer *w = arg;
    struct w_pipe *p = &w->pipe;
    struct err e;
    int job, rc;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->job < 0 && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->job < 0)
            break;
        job = p->job;
        rc = 0;
        if (!p->failed) {
            pthread_mutex_unlock(&p->mu);
            err_clear(&e);
            rc = w_compress(w, w->stage[job], w->stage_len[job], &e);
            pthread_mutex_lock(&p->mu);
        }
        if (rc < 0) {
            p->failed = true;
            p->err = e;
        }
        p->job = -1;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Waits until the thread is idle; fails with its error if it failed. */
static int w_wait_idle(struct snapshot_writer *w, struct err *e)
{
    struct w_pipe *p = &w->pipe;
    bool failed;

    if (!p->running)
        return 0;
    pthread_mutex_lock(&p->mu);
    while (p->job >= 0)
        pthread_cond_wait(&p->cv, &p->mu);
    failed = p->failed;
    if (failed && e)
        *e = p->err;
    pthread_mutex_unlock(&p->mu);
    if (failed) {
        w->broken = true;
        return -1;
    }
    return 0;
}

/* Lets the thread finish its job and end. */
static void w_stop_thread(struct snapshot_writer *w)
{
    struct w_pipe *p = &w->pipe;

    if (!p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->running = false;
}

/* Hands the current stage over and starts filling the other one. */
static int w_handoff(struct snapshot_writer *w, struct err *e)
{
    struct w_pipe *p = &w->pipe;

    if (!w->stage_len[w->cur])
        return 0;
    if (!p->running) {
        if (w_compress(w, w->stage[w->cur], w->stage_len[w->cur], e) < 0) {
            w->broken = true;
            return -1;
        }
        w->stage_len[w->cur] = 0;
        return 0;
    }
    if (w_wait_idle(w, e) < 0)
        return -1;
    pthread_mutex_lock(&p->mu);
    p->job = w->cur;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    w->cur ^= 1;
    w->stage_len[w->cur] = 0;
    return 0;
}

/* Adds bytes to the hashed content. */
static int w_put(struct snapshot_writer *w, const char *data, size_t len, struct err *e)
{
    size_t room, n;

    while (len) {
        room = W_STAGE_SIZE - w->stage_len[w->cur];
        if (!room) {
            if (w_handoff(w, e) < 0)
                return -1;
            continue;
        }
        n = len < room ? len : room;
        memcpy(w->stage[w->cur] + w->stage_len[w->cur], data, n);
        w->stage_len[w->cur] += n;
        data += n;
        len -= n;
    }
    return 0;
}

static int w_put_line(struct snapshot_writer *w, const char *line, size_t len, struct err *e)
{
    return w_put(w, line, len, e) < 0 || w_put(w, "\n", 1, e) < 0 ? -1 : 0;
}

struct dump_ctx {
    struct buf *b;
    size_t limit;
    bool too_big;
};

static int dump_to_buf(const char *data, size_t size, void *ctx)
{
    struct dump_ctx *d = ctx;

    if (size > d->limit - d->b->len) {
        d->too_big = true;
        return -1;
    }
    return buf_append(d->b, data, size, NULL);
}

/* Serializes j (compact, sorted keys) into w->line; at most limit bytes. */
static int w_dump(struct snapshot_writer *w, const json_t *j, const char *what, size_t limit,
                  struct err *e)
{
    struct dump_ctx d = {&w->line, limit, false};

    buf_reset(&w->line);
    if (json_dump_callback(j, dump_to_buf, &d, W_FLAGS) != 0) {
        if (d.too_big)
            return err_set(e, ERR_SNAPSHOT, "%s is too large for a snapshot (more than %zu bytes)",
                           what, limit);
        return err_oom(e);
    }
    return 0;
}

static int random_id(char out[SNAPSHOT_ID_LEN + 1], struct err *e)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[SNAPSHOT_ID_LEN / 2];
    size_t got = 0, i;
    ssize_t n;

    while (got < sizeof(raw)) {
        n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err_errno(e, ERR_INTERNAL, errno, "cannot get random bytes");
        }
        got += (size_t)n;
    }
    for (i = 0; i < sizeof(raw); i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[SNAPSHOT_ID_LEN] = '\0';
    return 0;
}

size_t snapshot_signed_message(char *out, const char *id, const char *sha256_hex)
{
    int n = snprintf(out, SNAPSHOT_SIGNED_MAX, SNAPSHOT_SIGNED_PREFIX "%s\n%s\n", id, sha256_hex);

    return n < 0 ? 0 : (size_t)n < SNAPSHOT_SIGNED_MAX ? (size_t)n : SNAPSHOT_SIGNED_MAX - 1;
}

/* The header the file gets: the caller's keys plus ours. */
static int w_make_header(struct snapshot_writer *w, const json_t *header, json_t **out,
                         struct err *e)
{
    json_t *h = NULL, *v;
    char stamp[32];
    struct tm tm;
    time_t now;
    int rc = -1;

    *out = NULL;
    h = header ? json_deep_copy(header) : json_object();
    if (!h) {
        err_oom(e);
        goto out;
    }
    if (!json_is_object(h)) {
        err_set(e, ERR_INTERNAL, "snapshot header must be a JSON object");
        goto out;
    }
    v = json_object_get(h, "snapshot_id");
    if (v) {
        if (!snapshot_id_valid(json_string_value(v))) {
            err_set(e, ERR_INTERNAL, "snapshot_id must be %d lowercase hex digits",
                    SNAPSHOT_ID_LEN);
            goto out;
        }
        memcpy(w->id, json_string_value(v), SNAPSHOT_ID_LEN + 1);
    } else if (random_id(w->id, e) < 0) {
        goto out;
    }
    v = json_object_get(h, "created_at");
    if (v && !json_is_string(v)) {
        err_set(e, ERR_INTERNAL, "snapshot header 'created_at' must be a string");
        goto out;
    }
    if (!v) {
        now = time(NULL);
        if (!gmtime_r(&now, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
            err_set(e, ERR_INTERNAL, "cannot format the current time");
            goto out;
        }
        if (json_object_set_new(h, "created_at", json_string(stamp)) < 0) {
            err_oom(e);
            goto out;
        }
    }
    json_object_del(h, "signature");
    if (w->sign && json_object_set_new(h, "signature",
                                       json_pack("{s:s,s:s,s:s}", "alg", "ed25519", "fingerprint",
                                                 edsig_key_fingerprint(w->sign), "public_key",
                                                 edsig_key_public(w->sign))) < 0) {
        err_oom(e);
        goto out;
    }
    if (json_object_set_new(h, "a0snap", json_string("header")) < 0 ||
        json_object_set_new(h, "format", json_string(SNAPSHOT_FORMAT)) < 0 ||
        json_object_set_new(h, "format_version", json_integer(SNAPSHOT_FORMAT_VERSION)) < 0 ||
        json_object_set_new(h, "snapshot_id", json_string(w->id)) < 0) {
        err_oom(e);
        goto out;
    }
    *out = h;
    h = NULL;
    rc = 0;
out:
    json_decref(h);
    return rc;
}

static void w_free(struct snapshot_writer *w)
{
    w_stop_thread(w);
    if (w->pipe.sync_ready) {
        pthread_mutex_destroy(&w->pipe.mu);
        pthread_cond_destroy(&w->pipe.cv);
    }
    if (w->zs_ready)
        deflateEnd(&w->zs);
    free(w->stage[0]);
    free(w->stage[1]);
    free(w->zout);
    buf_release(&w->line);
    buf_release(&w->prev_id);
    json_decref(w->counts);
    sha256_free(w->hash);
    age_encrypt_free(w->enc);
    free(w);
}

int snapshot_writer_open(struct snapshot_writer **out, const char *final_path, const json_t *header,
                         bool force, struct err *e)
{
    struct snapshot_write_opts opts = {.force = force};

    return snapshot_writer_open_with(out, final_path, header, &opts, e);
}

int snapshot_writer_open_with(struct snapshot_writer **out, const char *final_path,
                              const json_t *header, const struct snapshot_write_opts *opts,
                              struct err *e)
{
    struct snapshot_writer *w = NULL;
    json_t *h = NULL;
    int rc = -1;

    *out = NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return err_oom(e);
    w->sign = opts->sign;
    fsutil_tmpfile_init(&w->tmp);
    buf_init(&w->line, SNAPSHOT_MAX_HEADER);
    buf_init(&w->prev_id, SNAPSHOT_MAX_LINE);
    w->pipe.job = -1;
    w->stage[0] = malloc(W_STAGE_SIZE);
    w->stage[1] = malloc(W_STAGE_SIZE);
    w->zout = malloc(W_ZOUT_SIZE);
    w->counts = json_object();
    if (!w->stage[0] || !w->stage[1] || !w->zout || !w->counts) {
        err_oom(e);
        goto out;
    }
    if (sha256_new(&w->hash, e) < 0 || w_make_header(w, header, &h, e) < 0 ||
        w_dump(w, h, "the snapshot header", SNAPSHOT_MAX_HEADER, e) < 0)
        goto out;
    if (snapshot_json_too_deep(w->line.data, w->line.len)) {
        err_set(e, ERR_INTERNAL, "snapshot header is nested too deeply");
        goto out;
    }
    /* windowBits 15 + 16: a gzip wrapper, as gzip(1) writes it. */
    if (deflateInit2(&w->zs, SNAPSHOT_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        err_oom(e);
        goto out;
    }
    w->zs_ready = true;
    if (fsutil_tmpfile_open(&w->tmp, final_path, opts->force, e) < 0)
        goto out;
    if (opts->encrypt_to && age_encrypt_new(&w->enc, opts->encrypt_to, w_write_file, w, e) < 0)
        goto out;
    if (w_put_line(w, w->line.data, w->line.len, e) < 0)
        goto out;
    if (pthread_mutex_init(&w->pipe.mu, NULL) != 0) {
        err_oom(e);
        goto out;
    }
    if (pthread_cond_init(&w->pipe.cv, NULL) != 0) {
        pthread_mutex_destroy(&w->pipe.mu);
        err_oom(e);
        goto out;
    }
    w->pipe.sync_ready = true;
    /* Without a thread the work is done inline: slower, not wrong. */
    w->pipe.running = pthread_create(&w->pipe.thread, NULL, w_thread, w) == 0;
    *out = w;
    w = NULL;
    rc = 0;
out:
    json_decref(h);
    snapshot_writer_abort(w);
    return rc;
}

static int w_count(struct snapshot_writer *w, const char *conn, struct err *e)
{
    json_t *n = json_object_get(w->counts, conn);
    char q[96];

    if (n)
        return json_integer_set(n, json_integer_value(n) + 1) < 0 ? err_oom(e) : 0;
    if (json_object_set_new(w->counts, conn, json_integer(1)) < 0) {
        snapshot_printable(q, sizeof(q), conn, strlen(conn));
        /* jansson refuses keys that are not UTF-8, or ran out of memory. */
        return err_set(e, ERR_SNAPSHOT, "cannot count connection '%s'", q);
    }
    return 0;
}

/* Whether a user line has a top-level "a0snap" key (the header's and the
 * trailer's mark): only lines that hold the string at all are parsed. */
static bool has_reserved_key(const char *line, size_t len)
{
    json_t *j;
    bool found;

    if (!memmem(line, len, "\"a0snap\"", 8))
        return false;
    j = json_loadb(line, len, 0, NULL);
    found = !j || json_object_get(j, "a0snap") != NULL; /* unparsable: refuse too */
    json_decref(j);
    return found;
}

int snapshot_writer_append_line(struct snapshot_writer *w, const char *user_id,
                                const char *conn_name, const char *line, size_t len, struct err *e)
{
    char q[96], q2[96];
    size_t idlen;
    int c;

    if (w->broken)
        return err_set(e, ERR_INTERNAL, "snapshot writer used after a write failure");
    if (!user_id || !*user_id)
        return err_set(e, ERR_SNAPSHOT, "user %llu has no 'user_id'", w->users + 1);
    idlen = strlen(user_id);
    snapshot_printable(q, sizeof(q), user_id, idlen);
    if (w->users) {
        c = strcmp(user_id, w->prev_id.data);
        if (c == 0)
            return err_set(e, ERR_SNAPSHOT, "duplicate user_id '%s'", q);
        if (c < 0) {
            snapshot_printable(q2, sizeof(q2), w->prev_id.data, w->prev_id.len);
            return err_set(e, ERR_SNAPSHOT, "user_id '%s' is out of order (after '%s')", q, q2);
        }
    }
    if (len > SNAPSHOT_MAX_LINE)
        return err_set(e, ERR_SNAPSHOT,
                       "user '%s' is too large for a snapshot (%zu bytes, at most %u)", q, len,
                       SNAPSHOT_MAX_LINE);
    if (memchr(line, '\n', len))
        return err_set(e, ERR_SNAPSHOT, "user '%s': the serialized line contains a newline", q);
    if (snapshot_json_too_deep(line, len))
        return err_set(e, ERR_SNAPSHOT, "user '%s' is nested more than %d levels deep", q,
                       SNAPSHOT_MAX_DEPTH);
    if (has_reserved_key(line, len))
        return err_set(e, ERR_SNAPSHOT, "user '%s' has the reserved key 'a0snap'", q);
    if (w_count(w, conn_name ? conn_name : "", e) < 0 || w_put_line(w, line, len, e) < 0)
        return -1;
    buf_reset(&w->prev_id);
    if (buf_append(&w->prev_id, user_id, idlen, e) < 0) {
        /* The line is out; the state that checks the next one is not. */
        w->broken = true;
        return -1;
    }
    w->users++;
    return 0;
}

int snapshot_writer_append(struct snapshot_writer *w, const json_t *user, struct err *e)
{
    const char *id;
    char q[96];

    if (w->broken)
        return err_set(e, ERR_INTERNAL, "snapshot writer used after a write failure");
    if (!json_is_object(user))
        return err_set(e, ERR_SNAPSHOT, "user %llu is not a JSON object", w->users + 1);
    id = json_string_value(json_object_get(user, "user_id"));
    if (!id || !*id)
        return err_set(e, ERR_SNAPSHOT, "user %llu has no 'user_id'", w->users + 1);
    snapshot_printable(q, sizeof(q), id, strlen(id));
    if (json_object_get(user, "a0snap"))
        return err_set(e, ERR_SNAPSHOT, "user '%s' has the reserved key 'a0snap'", q);
    if (w_dump(w, user, "a user", SNAPSHOT_MAX_LINE, e) < 0)
        return err_prefix(e, "user '%s'", q);
    return snapshot_writer_append_line(w, id, snapshot_user_connection(user), w->line.data,
                                       w->line.len, e);
}

int snapshot_writer_commit(struct snapshot_writer *w, struct err *e)
{
    char hex[SHA256_HEX_LEN + 1];
    json_t *t = NULL;
    int rc = -1;

    if (w->broken) {
        err_set(e, ERR_INTERNAL, "snapshot writer used after a write failure");
        goto out;
    }
    /* Hand over the last stage, then take the stream back from the thread. */
    if (w_handoff(w, e) < 0 || w_wait_idle(w, e) < 0)
        goto out;
    w_stop_thread(w);
    if (sha256_final_hex(w->hash, hex, e) < 0)
        goto out;
    t = json_pack("{s:s, s:s, s:I, s:O, s:s}", "a0snap", "trailer", "snapshot_id", w->id, "users",
                  (json_int_t)w->users, "connections", w->counts, "sha256", hex);
    if (!t) {
        err_oom(e);
        goto out;
    }
    if (w->sign) {
        char msg[SNAPSHOT_SIGNED_MAX], sig[EDSIG_SIG_B64_LEN + 1];
        size_t n = snapshot_signed_message(msg, w->id, hex);
        if (edsig_sign(w->sign, msg, n, sig, e) < 0)
            goto out;
        if (json_object_set_new(t, "signature", json_string(sig)) < 0) {
            err_oom(e);
            goto out;
        }
    }
    if (w_dump(w, t, "the trailer", SNAPSHOT_MAX_LINE, e) < 0 ||
        buf_append(&w->line, "\n", 1, e) < 0)
        goto out;
    if (w_deflate(w, w->line.data, w->line.len, Z_NO_FLUSH, e) < 0 ||
        w_deflate(w, NULL, 0, Z_FINISH, e) < 0)
        goto out;
    w->zs_ready = false;
    if (deflateEnd(&w->zs) != Z_OK) {
        err_set(e, ERR_INTERNAL, "gzip compression failed");
        goto out;
    }
    if (w->enc && age_encrypt_finish(w->enc, e) < 0)
        goto out;
    rc = fsutil_tmpfile_commit(&w->tmp, e);
out:
    json_decref(t);
    snapshot_writer_abort(w);
    return rc;
}

void snapshot_writer_abort(struct snapshot_writer *w)
{
    if (!w)
        return;
    fsutil_tmpfile_abort(&w->tmp);
    w_free(w);
}

const char *snapshot_writer_id(const struct snapshot_writer *w)
{
    return w->id;
}

unsigned long long snapshot_writer_users(const struct snapshot_writer *w)
{
    return w->users;
}
