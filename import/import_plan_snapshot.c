/*
 * import_plan_snapshot.c - pass A of the plan (import_plan.c): the
 * snapshot read again, each user the import covers passed through the
 * import policy, its grants named as in the target (import_want.c), into
 * the "want" sort by its user_id in the target and into the snapshot's
 * conflict index; the users it does not import are reported "skipped"
 * here and held (a marker that keeps --prune away from their twins).
 *
 * The reader verifies the file again as it streams, and the pass ends
 * only on the digest step 1 verified (import_run.c).
 */
#include "import.h"
#include "import_links.h"
#include "jsonutil.h"

#include "canonjson.h"
#include "extsort.h"
#include "import_conflicts.h"
#include "privacy.h"
#include "snapshot.h"
#include "userconv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The strategy of a source connection in the snapshot's catalogue, or NULL. */
static const char *conn_strategy(json_t *source_cat, const char *name)
{
    return json_string_value(json_object_get(
        json_array_find(json_object_get(source_cat, "connections"), "name", name), "strategy"));
}

/* Pass A saw id (a user's, or a linked account's) in the snapshot: when
 * the target has it linked, the snapshot holds it. */
static int note_snapshot_id(struct import_ctx *c, const char *id, struct err *e)
{
    if (!c->target_secondaries || !json_object_get(c->target_secondaries, id))
        return 0;
    if (!c->snapshot_holds && !(c->snapshot_holds = json_object()))
        return err_oom(e);
    return json_object_set_new(c->snapshot_holds, id, json_true()) < 0 ? err_oom(e) : 0;
}

/* --only-users: ids or emails, one per line. */
static int load_only_users(const char *path, json_t **set, struct err *e)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    *set = NULL;
    if (!f)
        return err_errno(e, ERR_USAGE, errno, "cannot open '%s'", path);
    *set = json_object();
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && isspace((unsigned char)line[n - 1]))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        for (char *p = line; strchr(line, '@') && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        json_object_set_new(*set, line, json_true());
    }
    free(line);
    fclose(f);
    return 0;
}

/* --only-connection and --only-users: whether the user (uid and email
 * may be NULL) is one the run covers. */
static bool selected(const struct import_ctx *c, json_t *only, const char *uid, const char *email,
                     const char *conn)
{
    const struct import_opts *o = c->opts;

    if (o->n_only_connection) {
        bool found = false;
        for (size_t i = 0; i < o->n_only_connection; i++)
            if (strcmp(o->only_connection[i], conn) == 0)
                found = true;
        if (!found)
            return false;
    }
    if (only) {
        char lower[512];
        size_t i = 0;
        if (uid && json_object_get(only, uid))
            return true;
        for (; email && email[i] && i + 1 < sizeof(lower); i++)
            lower[i] = (char)tolower((unsigned char)email[i]);
        lower[i] = '\0';
        return email && json_object_get(only, lower);
    }
    return true;
}

/* A snapshot user that will not be imported still belongs to the snapshot:
 * a marker in the want sort (empty connection, no JSON) keeps --prune away
 * from its twin in the target. */
static int hold_as(struct import_ctx *c, const char *uid, const char *marker, size_t len,
                   struct err *e)
{
    if (uid && note_snapshot_id(c, uid, e) < 0)
        return -1;
    return uid ? extsort_add(c->want, uid, strlen(uid), marker, len, e) : 0;
}

static int hold(struct import_ctx *c, const char *uid, struct err *e)
{
    return hold_as(c, uid, "", 1, e);
}

/* A linked account's marker says so (IMPORT_HELD_LINKED), so that the
 * merge notes which of them the target has as users. */
static int hold_linked(struct import_ctx *c, const char *key, struct err *e)
{
    return hold_as(c, key, IMPORT_HELD_LINKED, sizeof(IMPORT_HELD_LINKED), e);
}

/* A linked account "provider|id" held (hold_secondaries). */
static int hold_account(struct import_ctx *c, const char *provider, size_t plen, const char *sid,
                        size_t slen, struct err *e)
{
    char key[1100];

    if ((size_t)snprintf(key, sizeof(key), "%.*s|%.*s", (int)plen, provider, (int)slen, sid) >=
        sizeof(key))
        return 0;
    return hold_linked(c, key, e);
}

/* A user's linked accounts are in the snapshot too, inside it: their
 * twins in the target (unlinked users) are not "not in the snapshot". */
static int hold_secondary(void *ctx, const char *key, json_t *identity, struct err *e)
{
    (void)identity;
    return hold_linked(ctx, key, e);
}

static int hold_secondaries(struct import_ctx *c, json_t *user, struct err *e)
{
    return import_each_secondary(user, hold_secondary, c, e);
}

/* A snapshot user not imported: reported "skipped" and held. */
static int skip_user(struct import_ctx *c, const char *uid, const char *email, const char *reason,
                     struct err *e)
{
    if (import_note_outcome(c, uid, email, "skipped", reason, NULL, e) < 0)
        return -1;
    return hold(c, uid, e);
}

/* The user's connection strategy: the catalogue's, else its first
 * identity's provider (NULL when it has none). */
static const char *user_strategy(struct import_ctx *c, const char *conn, const char *provider)
{
    const char *strategy = conn_strategy(json_object_get(c->header, "catalogue"), conn);

    return strategy ? strategy : provider ? provider : "";
}

/* Where a snapshot user goes in the target. */
enum route {
    ROUTE_KEEP,    /* its own id, in the mapped connection (*tconn) */
    ROUTE_CONVERT, /* --social-users=convert:...: a database user of that connection */
    ROUTE_NO_CONN, /* skipped: the target has no such connection */
    ROUTE_SOCIAL,  /* skipped: a social or enterprise user */
};

static enum route route_of(struct import_ctx *c, const char *strategy, const char *conn,
                           const char **tconn)
{
    /* Database users through bulk jobs, passwordless ones through POST
     * and PATCH /users: both keep their ids in the mapped connection. */
    if (strcmp(strategy, "auth0") == 0 || strcmp(strategy, "email") == 0 ||
        strcmp(strategy, "sms") == 0) {
        *tconn = json_string_value(json_object_get(json_object_get(c->conn_map, conn), "name"));
        return *tconn ? ROUTE_KEEP : ROUTE_NO_CONN;
    }
    if (c->opts->convert_social_to) {
        *tconn = c->opts->convert_social_to;
        return ROUTE_CONVERT;
    }
    return ROUTE_SOCIAL;
}

/* A user route_of() leaves out, reported and held. */
static int route_skip(struct import_ctx *c, enum route rt, const char *strategy, const char *uid,
                      const char *conn, const char *email, struct err *e)
{
    char reason[600];

    if (rt == ROUTE_NO_CONN) {
        snprintf(reason, sizeof(reason),
                 "the target has no connection '%s' (map it with --map-connection)", conn);
    } else {
        snprintf(reason, sizeof(reason),
                 "user of %s connection '%s': Auth0 cannot import these users through its API "
                 "(they appear when they log in; --social-users=convert:CONNECTION imports them "
                 "as database users)",
                 userconv_kind_name(userconv_strategy_kind(strategy)), conn);
        c->n.social_skipped++;
    }
    return skip_user(c, uid, email, reason, e);
}

/* Where a snapshot user goes in the target: *tconn and tuid (len bytes);
 * a social user converted gets its new user_id. 1 = it goes, 0 = skipped
 * (reported and held). */
static int route_user(struct import_ctx *c, json_t *user, const char *uid, const char *conn,
                      struct buf *conv, char *tuid, size_t len, const char **tconn, struct err *e)
{
    const char *strategy =
        user_strategy(c, conn,
                      json_string_value(json_object_get(
                          json_array_get(json_object_get(user, "identities"), 0), "provider")));
    enum route rt = route_of(c, strategy, conn, tconn);

    switch (rt) {
    case ROUTE_KEEP:
        snprintf(tuid, len, "%s", uid);
        return 1;
    case ROUTE_CONVERT:
        buf_reset(conv);
        if (userconv_social_id(uid, conv, e) < 0)
            return -1;
        snprintf(tuid, len, "auth0|%s", buf_str(conv));
        json_object_set_new(user, "user_id", json_string(tuid));
        c->n.social_converted++;
        return 1;
    default:
        return route_skip(c, rt, strategy, uid, conn,
                          json_string_value(json_object_get(user, "email")), e) < 0
                   ? -1
                   : 0;
    }
}

/* rec ("<tconn>\0<json>") into the want sort by target user_id, and the
 * user's email, username (and an sms user's phone number) into the
 * snapshot's conflict index. */
static int want_add(struct import_ctx *c, const char *tuid, const char *tconn,
                    const struct buf *rec, const char *email, const char *username,
                    const char *phone, struct err *e)
{
    /* a user of its own here, a linked account of another user there: that
     * link goes first (import_extras.c), and the user is planned against
     * what the unlink leaves */
    if (c->target_secondaries && json_object_get(c->target_secondaries, tuid) &&
        ((!c->unlink_first && !(c->unlink_first = json_object())) ||
         json_object_set_new(c->unlink_first, tuid, json_null()) < 0))
        return err_oom(e);
    if (note_snapshot_id(c, tuid, e) < 0 ||
        extsort_add(c->want, tuid, strlen(tuid), rec->data, rec->len, e) < 0 ||
        import_conflict_key_add(c->sidx, tconn, "email", email, tuid, e) < 0 ||
        import_conflict_key_add(c->sidx, tconn, "username", username, tuid, e) < 0)
        return -1;
    /* A phone number names an sms user as an email names the others. */
    if (strcmp(import_tconn_strategy(c, tconn), "sms") == 0 &&
        import_conflict_key_add(c->sidx, tconn, "phone_number", phone, tuid, e) < 0)
        return -1;
    return 0;
}

/* The user's want record: "<tconn>\0" and its canonical text. */
static int want_json(const char *tconn, const json_t *user, struct buf *rec, struct err *e)
{
    int r;

    buf_reset(rec);
    if (buf_append(rec, tconn, strlen(tconn) + 1, e) < 0)
        return -1;
    /* json_dumps(COMPACT | SORT_KEYS)'s bytes, faster; jansson for the rest */
    r = canonjson_dump(user, rec, e);
    if (r == 0) {
        char *line = json_dumps(user, JSON_COMPACT | JSON_SORT_KEYS);
        r = line ? buf_appends(rec, line, e) : err_oom(e);
        free(line);
    }
    return r < 0 ? -1 : 0;
}

/* Scratch buffers of pass A. */
struct pass_bufs {
    struct buf conv; /* a converted social user's id */
    struct buf rec;  /* a record of the want sort */
};

/* One user of pass A, as a json_t it may change (the policy, a converted
 * id, the renamed grants). */
static int snapshot_user(struct import_ctx *c, json_t *only, json_t *user, struct pass_bufs *b,
                         struct err *e)
{
    const char *conn = snapshot_user_connection(user), *tconn = NULL, *email;
    const char *id = json_string_value(json_object_get(user, "user_id"));
    char uid[1024], tuid[1024];
    int r;

    if (!id) /* a verified snapshot has none such */
        return err_set(e, ERR_SNAPSHOT, "a snapshot user has no user_id");
    /* a copy: converting a social user replaces its "user_id" */
    snprintf(uid, sizeof(uid), "%s", id);
    if (!selected(c, only, uid, json_string_value(json_object_get(user, "email")), conn))
        return hold(c, uid, e);
    r = route_user(c, user, uid, conn, &b->conv, tuid, sizeof(tuid), &tconn, e);
    if (r <= 0)
        return r;
    if (c->privacy) {
        int kept = privacy_apply(c->privacy, user, e);
        if (kept < 0)
            return -1;
        if (kept == 0)
            return skip_user(c, uid, NULL, "left out by the import policy's selection", e);
    }
    email = json_string_value(json_object_get(user, "email"));
    if ((!email || !*email) && !import_written_directly(c, tconn)) {
        c->n.no_email++;
        return skip_user(c, tuid, NULL, "no email: Auth0's bulk import needs one", e);
    }
    if (hold_secondaries(c, user, e) < 0)
        return -1;
    import_want_rename(user, json_object_get(c->role_map, "names"),
                       json_object_get(c->org_map, "names"));
    if (want_json(tconn, user, &b->rec, e) < 0)
        return -1;
    return want_add(c, tuid, tconn, &b->rec, email,
                    json_string_value(json_object_get(user, "username")),
                    json_string_value(json_object_get(user, "phone_number")), e);
}

/* ---- the same from the line's canonical parse ---------------------------- */

#define VIEW_MAX 1024 /* as snapshot_user's copies */

/* What pass A reads of a user, from its parse: json_string_value()'s
 * answers (NULL when absent or not a string) as NUL-terminated copies. */
struct view {
    const char *uid, *conn, *provider, *email, *username, *phone;
    char uid_s[VIEW_MAX], conn_s[VIEW_MAX], provider_s[VIEW_MAX], email_s[VIEW_MAX],
        username_s[VIEW_MAX], phone_s[VIEW_MAX];
};

/* The string member key of object node (CANONJSON_NONE: none) into buf;
 * false when it holds escapes or is too long (the json_t path decides). */
static bool view_string(const struct canonjson *cj, size_t node, const char *key, char *buf,
                        const char **out)
{
    size_t x = node == CANONJSON_NONE ? node : canonjson_get(cj, node, key, strlen(key)), n;
    const char *s;

    *out = NULL;
    if (x == CANONJSON_NONE || canonjson_type(cj, x) != CANONJSON_STRING)
        return true;
    if (!canonjson_string(cj, x, &s, &n) || n >= VIEW_MAX)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = buf;
    return true;
}

/* Whether every linked account's provider and user_id read from the text. */
static bool view_accounts(const struct canonjson *cj, size_t ids)
{
    size_t x, k, n;
    const char *s;

    if (ids == CANONJSON_NONE || canonjson_type(cj, ids) != CANONJSON_ARRAY)
        return true;
    for (x = canonjson_first(cj, ids), k = 0; x != CANONJSON_NONE; x = canonjson_next(cj, x), k++) {
        size_t p = canonjson_get(cj, x, "provider", 8), u = canonjson_get(cj, x, "user_id", 7);
        if (k > 0 && ((p != CANONJSON_NONE && canonjson_type(cj, p) == CANONJSON_STRING &&
                       !canonjson_string(cj, p, &s, &n)) ||
                      (u != CANONJSON_NONE && canonjson_type(cj, u) == CANONJSON_STRING &&
                       !canonjson_string(cj, u, &s, &n))))
            return false;
    }
    return true;
}

static bool view_of(const struct canonjson *cj, struct view *v)
{
    size_t ids = canonjson_get(cj, CANONJSON_ROOT, "identities", 10);
    size_t id0 = ids == CANONJSON_NONE ? ids : canonjson_at(cj, ids, 0);

    if (!view_string(cj, CANONJSON_ROOT, "user_id", v->uid_s, &v->uid) || !v->uid ||
        !view_string(cj, id0, "connection", v->conn_s, &v->conn) ||
        !view_string(cj, id0, "provider", v->provider_s, &v->provider) ||
        !view_string(cj, CANONJSON_ROOT, "email", v->email_s, &v->email) ||
        !view_string(cj, CANONJSON_ROOT, "username", v->username_s, &v->username) ||
        !view_string(cj, CANONJSON_ROOT, "phone_number", v->phone_s, &v->phone))
        return false;
    if (!v->conn)
        v->conn = ""; /* snapshot_user_connection() */
    return view_accounts(cj, ids);
}

/* hold_secondaries() from the parse (view_accounts() said it can). */
static int hold_secondaries_text(struct import_ctx *c, const struct canonjson *cj, struct err *e)
{
    size_t ids = canonjson_get(cj, CANONJSON_ROOT, "identities", 10), x, k, plen, slen;
    const char *p, *s;

    if (ids == CANONJSON_NONE || canonjson_type(cj, ids) != CANONJSON_ARRAY)
        return 0;
    for (x = canonjson_first(cj, ids), k = 0; x != CANONJSON_NONE; x = canonjson_next(cj, x), k++) {
        size_t px = canonjson_get(cj, x, "provider", 8), ux = canonjson_get(cj, x, "user_id", 7);
        if (k == 0 || px == CANONJSON_NONE || ux == CANONJSON_NONE ||
            !canonjson_string(cj, px, &p, &plen) || !canonjson_string(cj, ux, &s, &slen))
            continue;
        if (hold_account(c, p, plen, s, slen, e) < 0)
            return -1;
    }
    return 0;
}

/* snapshot_user() without building the user, for a run without an import
 * policy: 1 done, 0 not handled (nothing done: snapshot_user() decides),
 * -1 failed. Everything that can decline does so before anything is
 * recorded. */
static int snapshot_user_text(struct import_ctx *c, json_t *only, const struct canonjson *cj,
                              struct pass_bufs *b, struct view *v, struct err *e)
{
    const char *strategy, *tconn = NULL;
    enum route rt;
    int r;

    if (!view_of(cj, v))
        return 0;
    if (!selected(c, only, v->uid, v->email, v->conn))
        return hold(c, v->uid, e) < 0 ? -1 : 1;
    strategy = user_strategy(c, v->conn, v->provider);
    rt = route_of(c, strategy, v->conn, &tconn);
    if (rt == ROUTE_CONVERT)
        return 0; /* a new user_id: the json_t path */
    if (rt != ROUTE_KEEP)
        return route_skip(c, rt, strategy, v->uid, v->conn, v->email, e) < 0 ? -1 : 1;
    if ((!v->email || !*v->email) && !import_written_directly(c, tconn)) {
        c->n.no_email++;
        return skip_user(c, v->uid, NULL, "no email: Auth0's bulk import needs one", e) < 0 ? -1
                                                                                            : 1;
    }
    buf_reset(&b->rec);
    if (buf_append(&b->rec, tconn, strlen(tconn) + 1, e) < 0)
        return -1;
    r = import_want_text(cj, json_object_get(c->role_map, "names"),
                         json_object_get(c->org_map, "names"), &b->rec, e);
    if (r <= 0)
        return r;
    if (hold_secondaries_text(c, cj, e) < 0 ||
        want_add(c, v->uid, tconn, &b->rec, v->email, v->username, v->phone, e) < 0)
        return -1;
    return 1;
}

/* The user the reader handed out last: from its parse when the run has no
 * import policy, else (and for what that declines) as a json_t of its
 * own. */
static int one_user(struct import_ctx *c, struct snapshot_reader *r, json_t *only,
                    struct pass_bufs *b, struct view *v, struct err *e)
{
    const struct canonjson *cj = snapshot_reader_parsed(r);
    json_t *user;
    int u = cj && !c->privacy ? snapshot_user_text(c, only, cj, b, v, e) : 0;

    if (u != 0)
        return u < 0 ? -1 : 0;
    /* the pass changes the user: a json_t of its own */
    user = cj ? canonjson_to_json(cj, CANONJSON_ROOT) : json_deep_copy(snapshot_reader_current(r));
    if (!user)
        return err_oom(e);
    u = snapshot_user(c, only, user, b, e);
    json_decref(user);
    return u;
}

int import_plan_snapshot(struct import_ctx *c, struct err *e)
{
    struct snapshot_reader *r = NULL;
    json_t *only = NULL;
    struct pass_bufs b;
    struct view *v = NULL;
    const char *line;
    size_t len;
    int rc = -1, got;

    buf_init(&b.conv, 4096);
    buf_init(&b.rec, EXTSORT_MAX_RECORD);
    v = malloc(sizeof(*v));
    if (!v) {
        err_oom(e);
        goto out;
    }
    if (c->opts->only_users_file && load_only_users(c->opts->only_users_file, &only, e) < 0)
        goto out;
    if (snapshot_reader_open_keys(&r, c->opts->snapshot, c->opts->keys, e) < 0)
        goto out;
    while ((got = snapshot_reader_next_line(r, &line, &len, e)) == 1)
        if (one_user(c, r, only, &b, v, e) < 0)
            goto out;
    if (got < 0)
        goto out;
    /* This pass verified the file again; it must be the file step 1
     * verified (and checked the signer of), not one put in its place. */
    if (strcmp(snapshot_reader_sha256(r), c->snapshot_sha256) != 0) {
        err_set(e, ERR_SNAPSHOT,
                "snapshot '%s' changed while it was read: it is not the file that was verified",
                c->opts->snapshot);
        goto out;
    }
    rc = 0;
out:
    free(v);
    json_decref(only);
    snapshot_reader_free(r);
    buf_release(&b.conv);
    buf_release(&b.rec);
    return rc;
}
