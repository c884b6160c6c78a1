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
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(source_cat, "connections"), i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n && strcmp(n, name) == 0)
            return json_string_value(json_object_get(item, "strategy"));
    }
    return NULL;
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

static bool selected(const struct import_ctx *c, json_t *only, json_t *user, const char *conn)
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
        const char *uid = json_string_value(json_object_get(user, "user_id"));
        const char *email = json_string_value(json_object_get(user, "email"));
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
static int hold(struct import_ctx *c, const char *uid, struct err *e)
{
    if (uid && note_snapshot_id(c, uid, e) < 0)
        return -1;
    return uid ? extsort_add(c->want, uid, strlen(uid), "", 1, e) : 0;
}

/* A user's linked accounts are in the snapshot too, inside it: their
 * twins in the target (unlinked users) are not "not in the snapshot". */
static int hold_secondaries(struct import_ctx *c, json_t *user, struct err *e)
{
    json_t *ids = json_object_get(user, "identities"), *id;
    char key[1100];

    for (size_t i = 1; i < json_array_size(ids); i++) {
        const char *provider, *sid;
        id = json_array_get(ids, i);
        provider = json_string_value(json_object_get(id, "provider"));
        sid = json_string_value(json_object_get(id, "user_id"));
        if (!provider || !sid ||
            (size_t)snprintf(key, sizeof(key), "%s|%s", provider, sid) >= sizeof(key))
            continue;
        if (hold(c, key, e) < 0)
            return -1;
    }
    return 0;
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
 * identity's provider. */
static const char *user_strategy(struct import_ctx *c, json_t *user, const char *conn)
{
    const char *strategy = conn_strategy(json_object_get(c->header, "catalogue"), conn);
    const char *provider = json_string_value(
        json_object_get(json_array_get(json_object_get(user, "identities"), 0), "provider"));

    return strategy ? strategy : provider ? provider : "";
}

/* Where a snapshot user goes in the target: *tconn and tuid (len bytes).
 * A database user keeps its id in the mapped connection; a social user
 * with --social-users=convert:... becomes a database user. 1 = it goes, 0
 * = skipped (reported and held). */
static int route_user(struct import_ctx *c, json_t *user, const char *uid, const char *conn,
                      struct buf *conv, char *tuid, size_t len, const char **tconn, struct err *e)
{
    const char *strategy = user_strategy(c, user, conn);
    const char *email = json_string_value(json_object_get(user, "email"));
    char reason[600];

    /* Database users through bulk jobs, passwordless ones through POST
     * and PATCH /users: both keep their ids in the mapped connection. */
    if (strcmp(strategy, "auth0") == 0 || strcmp(strategy, "email") == 0 ||
        strcmp(strategy, "sms") == 0) {
        *tconn = json_string_value(json_object_get(json_object_get(c->conn_map, conn), "name"));
        if (*tconn) {
            snprintf(tuid, len, "%s", uid);
            return 1;
        }
        snprintf(reason, sizeof(reason),
                 "the target has no connection '%s' (map it with --map-connection)", conn);
        return skip_user(c, uid, email, reason, e) < 0 ? -1 : 0;
    }
    if (c->opts->convert_social_to && strcmp(strategy, "email") != 0 &&
        strcmp(strategy, "sms") != 0) {
        buf_reset(conv);
        if (userconv_social_id(uid, conv, e) < 0)
            return -1;
        snprintf(tuid, len, "auth0|%s", buf_str(conv));
        *tconn = c->opts->convert_social_to;
        json_object_set_new(user, "user_id", json_string(tuid));
        c->n.social_converted++;
        return 1;
    }
    snprintf(reason, sizeof(reason),
             "user of %s connection '%s': Auth0 cannot import these users through its API "
             "(they appear when they log in; --social-users=convert:CONNECTION imports them "
             "as database users)",
             userconv_kind_name(userconv_strategy_kind(strategy)), conn);
    c->n.social_skipped++;
    return skip_user(c, uid, email, reason, e) < 0 ? -1 : 0;
}

/* Into the want sort ("<tconn>\0<json>" by target user_id) and the
 * snapshot's conflict index. */
static int want_user(struct import_ctx *c, const char *tuid, const char *tconn, json_t *user,
                     struct buf *rec, struct err *e)
{
    int r;

    if (note_snapshot_id(c, tuid, e) < 0)
        return -1;
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
    if (r < 0 || extsort_add(c->want, tuid, strlen(tuid), rec->data, rec->len, e) < 0 ||
        import_conflict_key_add(c->sidx, tconn, "email",
                                json_string_value(json_object_get(user, "email")), tuid, e) < 0 ||
        import_conflict_key_add(c->sidx, tconn, "username",
                                json_string_value(json_object_get(user, "username")), tuid, e) < 0)
        return -1;
    /* A phone number names an sms user as an email names the others. */
    if (strcmp(import_tconn_strategy(c, tconn), "sms") == 0 &&
        import_conflict_key_add(c->sidx, tconn, "phone_number",
                                json_string_value(json_object_get(user, "phone_number")), tuid,
                                e) < 0)
        return -1;
    return 0;
}

/* Scratch buffers of pass A. */
struct pass_bufs {
    struct buf conv; /* a converted social user's id */
    struct buf rec;  /* a record of the want sort */
};

/* One user of pass A. */
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
    if (!selected(c, only, user, conn))
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
    return want_user(c, tuid, tconn, user, &b->rec, e);
}

int import_plan_snapshot(struct import_ctx *c, struct err *e)
{
    struct snapshot_reader *r = NULL;
    json_t *user = NULL, *only = NULL;
    struct pass_bufs b;
    int rc = -1, got;

    buf_init(&b.conv, 4096);
    buf_init(&b.rec, EXTSORT_MAX_RECORD);
    if (c->opts->only_users_file && load_only_users(c->opts->only_users_file, &only, e) < 0)
        goto out;
    if (snapshot_reader_open_keys(&r, c->opts->snapshot, c->opts->keys, e) < 0)
        goto out;
    while ((got = snapshot_reader_next(r, &user, e)) == 1) {
        int u = snapshot_user(c, only, user, &b, e);
        json_decref(user);
        user = NULL;
        if (u < 0)
            goto out;
    }
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
    json_decref(only);
    snapshot_reader_free(r);
    buf_release(&b.conv);
    buf_release(&b.rec);
    return rc;
}
