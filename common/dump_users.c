/*
 * dump_users.c - each user on its way into the snapshot: parsed, passed
 * through the privacy policy, serialized compactly with sorted keys (so the
 * same user always gives the same bytes) and handed to the users sort.
 *
 * With privacy on, the pseudonymised email and username of every user also
 * go to a third sort (keyed by connection and value, with the privacy
 * context's salted digest of the original) so that two different people who would end up with the
 * same pseudonym in one connection are caught before the snapshot is written: at import one of them
 * would otherwise be lost.
 *
 * Without privacy, a line goes to the sort without jansson when the fast
 * canonicaliser (canonjson.h) handles it: it gives the bytes json_dumps
 * would, from one pass over the text. Lines it leaves alone (unusual JSON,
 * a user_id or connection with escapes, errors) take the jansson path,
 * which then also words the error. With privacy the policy needs a json_t:
 * it is built from the same fast parse (canonjson_to_json, jansson's value
 * without jansson's lexer) and serialized by canonjson_dump, jansson's
 * bytes again; json_loadb and json_dumps remain for what those leave.
 */
#include "dump_internal.h"

#include "canonjson.h"
#include "extsort.h"
#include "privacy.h"
#include "tenant.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *user_connection(json_t *user)
{
    json_t *ids = json_object_get(user, "identities");
    const char *conn = json_string_value(json_object_get(json_array_get(ids, 0), "connection"));
    return conn ? conn : "";
}

/* An add to a sort the pool's other thread may be adding to as well:
 * held back in c->pending when there is one. */
static int dump_sort_add(struct dump_ctx *c, struct extsort *s, const char *key, size_t klen,
                         const char *rec, size_t rlen, struct err *e)
{
    uint32_t len[2] = {(uint32_t)klen, (uint32_t)rlen};
    char which = s == c->users ? 'u' : s == c->perm_ids ? 'p' : 'q';
    int rc;

    if (c->pending && klen + rlen < EXTSORT_MAX_RECORD) {
        if (buf_append(c->pending, &which, 1, e) < 0 ||
            buf_append(c->pending, len, sizeof(len), e) < 0 ||
            buf_append(c->pending, key, klen, e) < 0 || buf_append(c->pending, rec, rlen, e) < 0)
            return -1;
        return 0;
    }
    if (c->sort_lock)
        pthread_mutex_lock(c->sort_lock);
    rc = extsort_add(s, key, klen, rec, rlen, e);
    if (c->sort_lock)
        pthread_mutex_unlock(c->sort_lock);
    return rc;
}

int dump_sort_flush(struct dump_ctx *c, struct err *e)
{
    const char *p, *end;
    int rc = 0;

    if (!c->pending || c->pending->len == 0)
        return 0;
    p = c->pending->data;
    end = p + c->pending->len;
    if (c->sort_lock)
        pthread_mutex_lock(c->sort_lock);
    while (p < end && rc == 0) {
        uint32_t len[2];
        memcpy(len, p + 1, sizeof(len));
        rc = extsort_add(*p == 'u'   ? c->users
                         : *p == 'p' ? c->perm_ids
                                     : c->uniq,
                         p + 1 + sizeof(len), len[0], p + 1 + sizeof(len) + len[0], len[1], e);
        p += 1 + sizeof(len) + len[0] + len[1];
    }
    if (c->sort_lock)
        pthread_mutex_unlock(c->sort_lock);
    buf_reset(c->pending);
    return rc;
}

static void count_user(struct dump_ctx *c)
{
    c->users_seen++;
    if (c->users_seen % 1000 == 0)
        dump_progress(c, c->users_seen + c->users_seen_elsewhere);
}

static int note_unique(struct dump_ctx *c, const char *conn, const char *kind, const char *value,
                       const char *src, struct err *e)
{
    char key[1024];
    int n;

    if (!value || !src || !*src)
        return 0;
    n = snprintf(key, sizeof(key), "%s\n%s:%s", conn, kind, value);
    if (n < 0 || (size_t)n >= sizeof(key))
        return 0; /* absurdly long values are not pseudonyms */
    return dump_sort_add(c, c->uniq, key, (size_t)n, src, strlen(src), e);
}

/* Bytes reserved for a user's record before it is written. */
#define DUMP_LINE_GUESS 2048

int dump_ingest_user(struct dump_ctx *c, json_t *user, struct err *e)
{
    char *line = NULL, *rec = NULL, orig_id[1024];
    const struct privacy_user_src *src;
    const char *user_id, *conn;
    size_t conn_len, line_len;
    struct buf text;
    int kept, r, rc = -1;

    user_id = json_string_value(json_object_get(user, "user_id"));
    if (!user_id || !*user_id)
        return err_set(e, ERR_API, "a user in the export has no user_id");
    count_user(c);
    conn = user_connection(user);
    /* Read before the policy may rewrite it: the id the API knows. */
    snprintf(orig_id, sizeof(orig_id), "%s", user_id);

    if (c->req->privacy) {
        /* privacy_apply may change identities; keep the connection name. */
        char conn_copy[512];
        snprintf(conn_copy, sizeof(conn_copy), "%s", conn);
        kept = privacy_apply(c->req->privacy, user, e);
        if (kept < 0)
            return err_prefix(e, "user '%s'", user_id);
        if (kept == 0) {
            c->users_excluded++;
            return 0;
        }
        src = privacy_ctx_last_src(c->req->privacy);
        if (note_unique(c, conn_copy, "email", json_string_value(json_object_get(user, "email")),
                        src->email, e) < 0 ||
            note_unique(c, conn_copy, "username",
                        json_string_value(json_object_get(user, "username")), src->username,
                        e) < 0 ||
            note_unique(c, conn_copy, "phone",
                        json_string_value(json_object_get(user, "phone_number")), src->phone,
                        e) < 0)
            return -1;
        conn = user_connection(user);
        user_id = json_string_value(json_object_get(user, "user_id"));
        if (!user_id)
            return err_set(e, ERR_USAGE, "the privacy policy removed a user_id; it must keep it");
    }

    /* The record is "<connection>\0<line>". The fast dump gives jansson's
     * bytes, written after the connection in one buffer; whatever it leaves
     * (or a line past its ceiling, which the sort refuses anyway) goes to
     * jansson. */
    conn_len = strlen(conn);
    buf_init(&text, EXTSORT_MAX_RECORD);
    /* One allocation for most users (lines are ~1.4 KB, p99 ~10 KB). */
    if (buf_reserve(&text, conn_len + 1 + DUMP_LINE_GUESS, e) < 0 ||
        buf_append(&text, conn, conn_len + 1, e) < 0)
        goto out;
    r = canonjson_dump(user, &text, e);
    if (r == 1) {
        rc = dump_sort_add(c, c->users, user_id, strlen(user_id), text.data, text.len, e);
    } else {
        line = json_dumps(user, JSON_COMPACT | JSON_SORT_KEYS);
        if (!line) {
            err_oom(e);
            goto out;
        }
        line_len = strlen(line);
        rec = malloc(conn_len + 1 + line_len);
        if (!rec) {
            err_oom(e);
            goto out;
        }
        memcpy(rec, conn, conn_len + 1);
        memcpy(rec + conn_len + 1, line, line_len);
        rc = dump_sort_add(c, c->users, user_id, strlen(user_id), rec, conn_len + 1 + line_len, e);
    }
    if (rc == 0 && c->perm_ids)
        rc = dump_sort_add(c, c->perm_ids, orig_id, strlen(orig_id), user_id, strlen(user_id), e);
out:
    buf_release(&text);
    free(line);
    free(rec);
    return rc;
}

/* The record "<connection>\0<canonical line>" of a parsed user, into the
 * users sort. 1 done, 0 left to jansson, -1 failed. */
static int ingest_parsed(struct dump_ctx *c, const struct canonjson *cj, struct err *e)
{
    const char *uid, *conn = "";
    size_t ulen, conn_len = 0, x, n;
    char *rec;
    int rc;

    x = canonjson_get(cj, CANONJSON_ROOT, "user_id", 7);
    if (x == CANONJSON_NONE || !canonjson_string(cj, x, &uid, &ulen) || ulen == 0)
        return 0;
    /* identities[0].connection, "" when it is not a string (as user_connection) */
    x = canonjson_get(cj, CANONJSON_ROOT, "identities", 10);
    if (x != CANONJSON_NONE)
        x = canonjson_at(cj, x, 0);
    if (x != CANONJSON_NONE)
        x = canonjson_get(cj, x, "connection", 10);
    if (x != CANONJSON_NONE && canonjson_type(cj, x) == CANONJSON_STRING &&
        !canonjson_string(cj, x, &conn, &conn_len))
        return 0;
    count_user(c);
    rec = malloc(conn_len + 1 + canonjson_bound(cj));
    if (!rec)
        return err_oom(e);
    memcpy(rec, conn, conn_len);
    rec[conn_len] = '\0';
    n = canonjson_write(cj, CANONJSON_ROOT, rec + conn_len + 1);
    rc = dump_sort_add(c, c->users, uid, ulen, rec, conn_len + 1 + n, e);
    if (rc == 0 && c->perm_ids)
        rc = dump_sort_add(c, c->perm_ids, uid, ulen, uid, ulen, e);
    free(rec);
    return rc < 0 ? -1 : 1;
}

static int ingest_fast(struct dump_ctx *c, const char *line, size_t len, struct err *e)
{
    struct canonjson cj;
    int r;

    canonjson_init(&cj);
    r = canonjson_parse(&cj, line, len, e);
    if (r == 1)
        r = ingest_parsed(c, &cj, e);
    canonjson_release(&cj);
    return r;
}

int dump_ingest_line(struct dump_ctx *c, const char *line, size_t len, struct err *e)
{
    json_error_t jerr;
    json_t *user;
    int rc;

    if (!c->req->privacy) {
        rc = ingest_fast(c, line, len, e);
        if (rc != 0) {
            c->lines_fast += rc > 0;
            return rc < 0 ? -1 : 0;
        }
    } else {
        /* The policy works on a json_t: built from the fast parse when it
         * can be, which skips jansson's lexer. */
        struct canonjson cj;
        canonjson_init(&cj);
        rc = canonjson_parse(&cj, line, len, e);
        user = rc == 1 ? canonjson_to_json(&cj, CANONJSON_ROOT) : NULL;
        canonjson_release(&cj);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            if (!user)
                return err_oom(e);
            c->lines_fast++;
            rc = dump_ingest_user(c, user, e);
            json_decref(user);
            return rc;
        }
    }
    c->lines_slow++;
    user = json_loadb(line, len, 0, &jerr);
    if (!json_is_object(user)) {
        bool parsed = user != NULL;
        json_decref(user);
        return err_set(e, ERR_API, "line %zu of the export file is not a JSON object%s%s",
                       c->line_no ? c->line_no : c->users_seen + 1, parsed ? "" : ": ",
                       parsed ? "" : jerr.text);
    }
    rc = dump_ingest_user(c, user, e);
    json_decref(user);
    return rc;
}

int dump_check_unique(struct dump_ctx *c, struct err *e)
{
    char prev_key[1024] = "", prev_rec[PRIVACY_SRC_HEX + 1] = "";
    const char *key, *rec;
    size_t klen, rlen;
    int r;

    if (extsort_finish(c->uniq, e) < 0)
        return -1;
    while ((r = extsort_next(c->uniq, &key, &klen, &rec, &rlen, e)) == 1) {
        if (klen < sizeof(prev_key) && strlen(prev_key) == klen &&
            memcmp(prev_key, key, klen) == 0 && rlen == strlen(prev_rec) &&
            memcmp(prev_rec, rec, rlen) != 0) {
            /* key = "<connection>\n<kind>:<value>" */
            const char *nl = strchr(prev_key, '\n');
            const char *kind = nl ? nl + 1 : prev_key;
            size_t kindlen = strcspn(kind, ":");
            int connlen = (int)(nl ? nl - prev_key : 0);

            if (kindlen == 5 && memcmp(kind, "phone", 5) == 0) {
                /* Phone pseudonyms have about 40 bits (E.164 is short): a
                 * rare collision costs one user at import, not the run. */
                tenant_notify(c->tenant, 0,
                              "two users of connection '%.*s' get the same pseudonymous phone "
                              "number; an import will report one of them",
                              connlen, prev_key);
                c->res->phone_collisions++;
                continue;
            }
            return err_set(e, ERR_INTERNAL,
                           "pseudonym collision: two users of connection '%.*s' would get the same "
                           "%.*s; nothing was written (use another pseudonym key)",
                           connlen, prev_key, (int)kindlen, kind);
        }
        if (klen < sizeof(prev_key)) {
            memcpy(prev_key, key, klen);
            prev_key[klen] = '\0';
        }
        if (rlen < sizeof(prev_rec)) {
            memcpy(prev_rec, rec, rlen);
            prev_rec[rlen] = '\0';
        }
    }
    return r < 0 ? -1 : 0;
}
