/*
 * import_plan.c - deciding, user by user, what an import must do.
 *
 * Three streaming passes with bounded memory:
 *   A. the snapshot: each user that can be imported (database connection,
 *      or a social user converted with --social-users=convert:...) is
 *      passed through the import policy, its roles and organizations are
 *      renamed to the target's names, and it goes to the "want" sort keyed
 *      by its user_id in the target; its email and username go to an index
 *      sort. Users that can't be imported are reported "skipped" here
 *      (import_plan_snapshot.c).
 *   B. the target dump: emails and usernames to a second index sort.
 *   C. the two index sorts merged: the same (connection, email) or
 *      (connection, username) under two different user_ids is a conflict,
 *      recorded by the snapshot user's id.
 * Then "want" is merged with the target dump (both sorted by user_id) and
 * each user gets an action from common/userdiff.h. The actions are
 * recorded (records for bulk jobs in a temp file, PATCH bodies and grant
 * changes in sorts) and applied afterwards, in an order that works:
 * deletions, values that move set aside (import_moves.h), jobs, PATCHes,
 * grants. --plan stops before applying.
 */
#include "import.h"
#include "import_links.h"
#include "jsonutil.h"

#include "canonjson.h"
#include "extsort.h"
#include "import_conflicts.h"
#include "import_decide.h"
#include "import_moves.h"
#include "keeprule.h"
#include "log.h"
#include "snapshot.h"
#include "sortcursor.h"
#include "sha256.h"
#include "userdiff.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *import_tconn_strategy(const struct import_ctx *c, const char *tconn)
{
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(c->target_cat, "connections"), i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        const char *st = json_string_value(json_object_get(item, "strategy"));
        if (n && strcmp(n, tconn) == 0)
            return st ? st : "";
    }
    return "";
}

bool import_written_directly(const struct import_ctx *c, const char *tconn)
{
    const char *st = import_tconn_strategy(c, tconn);

    return strcmp(st, "email") == 0 || strcmp(st, "sms") == 0;
}

/* A target user's organization roles named by key, as "want" names them
 * (the target's organization roles carry "type", as the snapshot's). */
static int key_target_roles(json_t *have, struct err *e)
{
    json_t *org, *role;
    char key[1100];
    size_t i, j;

    json_array_foreach(json_object_get(have, "organizations"), i, org)
    {
        const char *on = json_string_value(json_object_get(org, "name"));
        json_array_foreach(json_object_get(org, "roles"), j, role)
        {
            const char *k = import_role_entry_key(key, sizeof(key), role, on);
            if (k && json_object_set_new(role, "name", json_string(k)) < 0)
                return err_oom(e);
        }
    }
    return 0;
}

/* The target's linked accounts ("provider|user_id" -> connection): few,
 * kept in memory, so that pass A can tell which of them the snapshot
 * holds (an unlinked one the snapshot lacks is pruned with the rest). */
static int note_target_secondary(void *ctx, const char *key, json_t *identity, struct err *e)
{
    struct import_ctx *c = ctx;

    if (!c->target_secondaries && !(c->target_secondaries = json_object()))
        return err_oom(e);
    return json_object_set(c->target_secondaries, key, json_object_get(identity, "connection")) < 0
               ? err_oom(e)
               : 0;
}

static int note_target_secondaries(struct import_ctx *c, json_t *user, struct err *e)
{
    return import_each_secondary(user, note_target_secondary, c, e);
}

/* Pass B. */
static int pass_target_index(struct import_ctx *c, struct err *e)
{
    struct snapshot_reader *r = NULL;
    json_t *user = NULL;
    int got, rc = -1;

    if (snapshot_reader_open(&r, c->target_dump, e) < 0)
        return -1;
    while ((got = snapshot_reader_next(r, &user, e)) == 1) {
        const char *uid = json_string_value(json_object_get(user, "user_id"));
        const char *conn = snapshot_user_connection(user);
        if (json_object_get(c->covered, conn))
            c->target_users_in_scope++;
        if (note_target_secondaries(c, user, e) < 0)
            goto out;
        if (import_conflict_key_add(c->tidx, conn, "email",
                                    json_string_value(json_object_get(user, "email")), uid,
                                    e) < 0 ||
            import_conflict_key_add(c->tidx, conn, "username",
                                    json_string_value(json_object_get(user, "username")), uid,
                                    e) < 0 ||
            (strcmp(import_tconn_strategy(c, conn), "sms") == 0 &&
             import_conflict_key_add(c->tidx, conn, "phone_number",
                                     json_string_value(json_object_get(user, "phone_number")), uid,
                                     e) < 0))
            goto out;
        json_decref(user);
        user = NULL;
    }
    rc = got < 0 ? -1 : 0;
out:
    json_decref(user);
    snapshot_reader_free(r);
    return rc;
}

static int add_patch(struct import_ctx *c, const char *uid, int seq, json_t *body, struct err *e)
{
    char key[1100];
    char *b;
    int n, rc;

    if (!body)
        return 0;
    n = snprintf(key, sizeof(key), "%s\x1f%d", uid, seq);
    b = json_dumps(body, JSON_COMPACT);
    if (!b)
        return err_oom(e);
    rc = extsort_add(c->patches, key, (size_t)n, b, strlen(b), e);
    free(b);
    return rc;
}

static const char *id_of(json_t *map, const char *name)
{
    return json_string_value(json_object_get(json_object_get(map, "ids"), name));
}

static const char *target_id_by_name(json_t *list, const char *name)
{
    return json_string_value(json_object_get(json_array_find(list, "name", name), "id"));
}

/* A role or organization id in the target: through the map for names the
 * snapshot knows, else straight from the target's catalogue (grants to
 * remove can name roles the snapshot's tenant never had); roles by key. */
static const char *grant_id(struct import_ctx *c, json_t *map, const char *list, const char *name)
{
    const char *id = id_of(map, name);

    if (id)
        return id;
    if (strcmp(list, "roles") == 0)
        return json_string_value(json_object_get(import_target_role(c, name), "id"));
    return target_id_by_name(json_object_get(c->target_cat, list), name);
}

static json_t *ids_of(struct import_ctx *c, json_t *names)
{
    json_t *ids = json_array(), *n;
    size_t i;

    json_array_foreach(names, i, n)
    {
        const char *id = grant_id(c, c->role_map, "roles", json_string_value(n));
        if (id)
            json_array_append_new(ids, json_string(id));
    }
    return ids;
}

/* Member-role changes, one entry per organization: {org id: {"add":[ids],
 * "remove":[ids]}}. */
static void member_role_ops(struct import_ctx *c, json_t *list, bool add, json_t *ops)
{
    json_t *item;
    size_t i;

    json_array_foreach(list, i, item)
    {
        const char *org = grant_id(c, c->org_map, "organizations",
                                   json_string_value(json_object_get(item, "name")));
        json_t *ids, *entry;
        if (!org)
            continue;
        ids = ids_of(c, json_object_get(item, "roles"));
        entry = json_object_get(ops, org);
        if (!entry) {
            entry = json_pack("{s:[],s:[]}", "add", "remove");
            json_object_set_new(ops, org, entry);
        }
        if (add)
            c->n.member_roles_added += json_array_size(ids);
        else
            c->n.member_roles_removed += json_array_size(ids);
        json_array_extend(json_object_get(entry, add ? "add" : "remove"), ids);
        json_decref(ids);
    }
}

static int add_item(json_t *items, const char *kind, json_t *arg, json_t *extra, struct err *e)
{
    json_t *it = extra ? json_pack("[s,o,o]", kind, arg, extra) : json_pack("[s,o]", kind, arg);

    if (!it || json_array_append_new(items, it) < 0)
        return err_oom(e);
    return 0;
}

/* The user's role and membership changes as grant items (import.h). */
static int grant_items(struct import_ctx *c, const struct userdiff *d, json_t *items, struct err *e)
{
    json_t *rem, *ops = json_object(), *n, *v;
    const char *k;
    size_t i;
    int rc = -1;

    if (!ops)
        return err_oom(e);
    json_array_foreach(d->roles_add, i, n)
    {
        const char *id = grant_id(c, c->role_map, "roles", json_string_value(n));
        if (id && add_item(items, "R", json_string(id), NULL, e) < 0)
            goto out;
        c->n.roles_added++;
    }
    rem = ids_of(c, d->roles_remove);
    c->n.roles_removed += json_array_size(d->roles_remove);
    if (json_array_size(rem) == 0)
        json_decref(rem);
    else if (add_item(items, "r", rem, NULL, e) < 0)
        goto out;
    json_array_foreach(d->orgs_add, i, n)
    {
        const char *id = grant_id(c, c->org_map, "organizations", json_string_value(n));
        if (id && add_item(items, "O", json_string(id), NULL, e) < 0)
            goto out;
        c->n.members_added++;
    }
    json_array_foreach(d->orgs_remove, i, n)
    {
        const char *id = grant_id(c, c->org_map, "organizations", json_string_value(n));
        if (id && add_item(items, "o", json_string(id), NULL, e) < 0)
            goto out;
        c->n.members_removed++;
    }
    member_role_ops(c, d->org_roles_add, true, ops);
    member_role_ops(c, d->org_roles_remove, false, ops);
    json_object_foreach(ops, k, v)
    {
        if (add_item(items, "M", json_string(k), json_incref(v), e) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(ops);
    return rc;
}

/* Plans the deletion of a target user (once, whatever asks for it). */
static int plan_delete(struct import_ctx *c, const char *uid, const char *email, const char *reason,
                       bool prune, struct err *e)
{
    if (!c->planned_deletes && !(c->planned_deletes = json_object()))
        return err_oom(e);
    if (json_object_get(c->planned_deletes, uid))
        return 0;
    json_object_set_new(c->planned_deletes, uid, json_true());
    if (prune)
        c->prune_deletes++;
    if (extsort_add(c->deletes, uid, strlen(uid), prune ? "prune" : "replace", prune ? 5 : 7, e) <
        0)
        return -1;
    return import_note_outcome(c, uid, email, "deleted", reason, NULL, e);
}

/* A target user the snapshot does not hold. */
static int target_only(struct import_ctx *c, json_t *have, struct err *e)
{
    const char *uid = json_string_value(json_object_get(have, "user_id"));
    const char *email = json_string_value(json_object_get(have, "email"));

    if (!json_object_get(c->covered, snapshot_user_connection(have)))
        return 0; /* outside the connections the snapshot covers: never touched */
    c->prune_candidates++;
    if (!c->opts->prune)
        return 0;
    for (size_t i = 0; i < c->opts->n_keep; i++) {
        if (keeprule_match(c->opts->keep[i], have)) {
            char reason[300];
            snprintf(reason, sizeof(reason), "not in the snapshot, kept by --keep '%s'",
                     c->opts->keep[i]);
            return import_note_outcome(c, uid, email, "kept", reason, NULL, e);
        }
    }
    return plan_delete(c, uid, email, "not in the snapshot (--prune)", true, e);
}

/* One snapshot user, as plan_user() decides it. */
struct plan_in {
    const char *tconn, *uid;
    json_t *want;
    const struct canonjson *want_cj; /* want's canonical parse, or NULL */
    json_t *have;                    /* the target's user of that id, or NULL */
    const char *conflict;            /* "<holder>\x1f<kind>", or NULL */
    bool may_defer;                  /* false once the merge has ended */
    const char *note;                /* the report's reason when nothing else is said */
};

static int plan_user(struct import_ctx *c, const struct plan_in *in, enum import_action *taken,
                     struct err *e);

/* A conflict waits for the merge's end in the deferrals sort, on disk
 * (every user of a target filled under other ids may be one): "<conflict>
 * \0<tconn>\0<want>\0<have or null>". */
static int defer_conflict(struct import_ctx *c, const struct plan_in *in, struct err *e)
{
    char *w = json_dumps(in->want, JSON_COMPACT),
         *h = in->have ? json_dumps(in->have, JSON_COMPACT) : NULL;
    struct buf b;
    int rc = -1;

    buf_init(&b, (size_t)SNAPSHOT_MAX_LINE * 3);
    if (!w || (in->have && !h)) {
        err_oom(e);
        goto out;
    }
    if (buf_append(&b, in->conflict, strlen(in->conflict) + 1, e) < 0 ||
        buf_append(&b, in->tconn, strlen(in->tconn) + 1, e) < 0 ||
        buf_append(&b, w, strlen(w) + 1, e) < 0 ||
        buf_append(&b, h ? h : "null", h ? strlen(h) : 4, e) < 0)
        goto out;
    rc = extsort_add(c->deferrals, in->uid, strlen(in->uid), b.data, b.len, e);
out:
    free(w);
    free(h);
    buf_release(&b);
    return rc;
}

/* Where a mover's value waits while it moves (import_moves.h): unique per
 * user, never anyone's real address, name or number, and valid for Auth0
 * (a username of at most 15 characters, an E.164 number). */
static json_t *placeholder(struct import_ctx *c, const char *tconn, const char *uid,
                           const char *kind, const json_t *have, struct err *e)
{
    char hex[SHA256_HEX_LEN + 1], v[96];
    json_t *body;

    if (sha256_hex(uid, strlen(uid), hex, e) < 0)
        return NULL;
    if (strcmp(kind, "email") == 0) {
        json_t *verified = json_object_get(have, "email_verified");
        snprintf(v, sizeof(v), "moving-%.16s@a0snap.invalid", hex);
        /* an unverified email would send mail: verify_email false, and
         * email_verified kept as it is (sms users have none to set) */
        body = json_pack("{s:s,s:b}", "email", v, "verify_email", 0);
        if (body && json_is_boolean(verified) &&
            strcmp(import_tconn_strategy(c, tconn), "sms") != 0)
            json_object_set(body, "email_verified", verified);
    } else if (strcmp(kind, "username") == 0) {
        snprintf(v, sizeof(v), "a0mv%.11s", hex);
        body = json_pack("{s:s}", "username", v);
    } else {
        size_t n = (size_t)snprintf(v, sizeof(v), "+999");
        for (size_t i = 0; i < 11; i++)
            v[n++] = (char)('0' + (hex[i] % 10));
        v[n] = '\0';
        body = json_pack("{s:s}", "phone_number", v);
    }
    if (!body)
        err_oom(e);
    return body;
}

static const char *const move_kinds[] = {"email", "username", "phone_number"};

/* uid holds a snapshot user's value in the target: what the import does
 * with it, for import_moves_settle(). */
static int note_mover(struct import_ctx *c, const struct plan_in *in, enum import_action taken,
                      struct err *e)
{
    const char *state = taken == IMPORT_DEFER                                         ? "deferred"
                        : taken == IMPORT_WRITE && !import_failed_already(c, in->uid) ? "written"
                                                                                      : "kept";
    json_t *m = json_pack("{s:s,s:{},s:{}}", "state", state, "releases", "hold");

    if (!m || (!c->movers && !(c->movers = json_object())) ||
        json_object_set_new(c->movers, in->uid, m) < 0)
        return err_oom(e);
    for (size_t i = 0; i < sizeof(move_kinds) / sizeof(move_kinds[0]); i++) {
        const char *k = move_kinds[i];
        const char *now = json_string_value(json_object_get(in->have, k));
        const char *next = json_string_value(json_object_get(in->want, k));
        json_t *hold;
        if (!now || (next && strcasecmp(now, next) == 0))
            continue;
        hold = placeholder(c, in->tconn, in->uid, k, in->have, e);
        if (!hold || json_object_set_new(json_object_get(m, "releases"), k, json_string(now)) < 0 ||
            json_object_set_new(json_object_get(m, "hold"), k, hold) < 0)
            return hold ? err_oom(e) : -1;
    }
    if (taken == IMPORT_DEFER) {
        struct import_conflict ce;
        const char *p = in->conflict;
        json_t *list = json_array();
        if (!list || json_object_set_new(m, "conflicts", list) < 0)
            return err_oom(e);
        while (import_conflict_next(&p, &ce))
            if (json_array_append_new(list, json_pack("{s:s,s:s,s:O?}", "holder", ce.holder, "kind",
                                                      ce.kind, "key",
                                                      json_object_get(in->want, ce.kind))) < 0)
                return err_oom(e);
    }
    return 0;
}

/* Mover holder gives up the value of kind that the snapshot user waits
 * for: set aside before anything is written. */
static int add_release(struct import_ctx *c, const char *holder, const char *kind, struct err *e)
{
    json_t *hold =
        json_object_get(json_object_get(json_object_get(c->movers, holder), "hold"), kind);
    json_t *kinds = json_object_get(c->releases, holder);

    if ((!c->releases && !(c->releases = json_object())) ||
        (!kinds &&
         (!(kinds = json_object()) || json_object_set_new(c->releases, holder, kinds) < 0)) ||
        json_object_set(kinds, kind, hold) < 0)
        return err_oom(e);
    c->n.moves++;
    return 0;
}

/* A user that waited for its unlink to be planned (unlinked_first()):
 * true when it was, in->have then what the unlink leaves; with --prune,
 * true too (the holder the snapshot lacks goes first, and its accounts
 * with it). */
static bool settle_linked(struct import_ctx *c, struct plan_in *in, char *note, size_t notesz)
{
    json_t *v = json_object_get(c->unlink_first, in->uid);

    if (json_is_object(v)) {
        in->have = json_object_get(v, "user");
        snprintf(note, notesz, "was a linked account of target user '%s': unlinked first",
                 json_string_value(json_object_get(v, "from")));
        return true;
    }
    return c->opts->prune;
}

/* A deferred user, decided now that the merge has ended. Each of its
 * conflicts is gone (its holder deleted: --prune, or a replace), a move
 * (a mover gives the value up), or stays. None stays: written. Some stay:
 * skipped for the first, or with replace every holder deleted. */
static int settle_one(struct import_ctx *c, struct plan_in *in, struct err *e)
{
    struct import_conflict ce, stays;
    const char *p = in->conflict;
    char note[1200] = "", why[1200];
    size_t n_stay = 0;

    while (import_conflict_next(&p, &ce)) {
        const char *key = json_string_value(json_object_get(in->want, ce.kind));
        if (strcmp(ce.kind, "linked") == 0) {
            if (!settle_linked(c, in, note, sizeof(note)))
                return import_note_outcome(
                    c, in->uid, json_string_value(json_object_get(in->want, "email")), "skipped",
                    "conflict: the target has this user_id as a linked account of a user the "
                    "snapshot does not hold (--prune deletes that user first)",
                    NULL, e);
            continue;
        }
        if (c->planned_deletes && json_object_get(c->planned_deletes, ce.holder))
            continue;
        if (import_moves_frees(c->movers, ce.holder, ce.kind, key)) {
            if (add_release(c, ce.holder, ce.kind, e) < 0)
                return -1;
            if (!note[0])
                snprintf(note, sizeof(note),
                         "its %s moves from target user '%s', which the snapshot gives another one",
                         ce.kind, ce.holder);
            continue;
        }
        /* with replace, every holder but the first goes here; the first
         * through the decision, which names it */
        if (n_stay++ == 0)
            stays = ce;
        else if (c->opts->on_conflict == CONFLICT_REPLACE) {
            snprintf(why, sizeof(why), "held the %s of snapshot user '%s' (--on-conflict=replace)",
                     ce.kind, in->uid);
            if (plan_delete(c, ce.holder, NULL, why, false, e) < 0)
                return -1;
        }
    }
    in->may_defer = false;
    in->note = note[0] ? note : NULL;
    if (n_stay == 0) {
        c->n.conflicts--; /* counted when deferred */
        in->conflict = NULL;
        return plan_user(c, in, NULL, e);
    }
    snprintf(why, sizeof(why), "%s\x1f%s", stays.holder, stays.kind);
    in->conflict = why;
    return plan_user(c, in, NULL, e);
}

/* After the merge: the movers settled (import_moves.h), then every
 * deferred conflict decided. */
static int settle_deferred(struct import_ctx *c, struct err *e)
{
    const char *key, *rec;
    size_t klen, rlen;
    int r;

    if (c->movers)
        import_moves_settle(c->movers, c->planned_deletes,
                            c->opts->on_conflict == CONFLICT_REPLACE);
    if (extsort_finish(c->deferrals, e) < 0)
        return -1;
    while ((r = extsort_next(c->deferrals, &key, &klen, &rec, &rlen, e)) == 1) {
        char uid[1024];
        const char *parts[4];
        const char *p = rec;
        json_t *want, *have;
        struct plan_in in;
        int rc;

        for (size_t i = 0; i < 4; i++) {
            parts[i] = p;
            p += strnlen(p, rlen - (size_t)(p - rec)) + 1;
            if (i < 3 && p > rec + rlen)
                return err_set(e, ERR_INTERNAL, "bad record in the deferrals sort");
        }
        snprintf(uid, sizeof(uid), "%.*s", (int)klen, key);
        want = json_loads(parts[2], 0, NULL);
        have = json_loadb(parts[3], rlen - (size_t)(parts[3] - rec), JSON_DECODE_ANY, NULL);
        if (!want) {
            json_decref(have);
            return err_set(e, ERR_INTERNAL, "bad record in the deferrals sort");
        }
        in = (struct plan_in){parts[1], uid,   want, NULL, json_is_object(have) ? have : NULL,
                              parts[0], false, NULL};
        rc = settle_one(c, &in, e);
        json_decref(want);
        json_decref(have);
        if (rc < 0)
            return -1;
    }
    return r < 0 ? -1 : 0;
}

/* The records of a user a job carries; 1 when the user cannot be
 * bulk-imported after all (reported failed, its grants won't happen). */
static int plan_job(struct import_ctx *c, const struct import_record_user *u,
                    const struct import_counts *before, struct err *e)
{
    char skip[300];
    int w = import_records_add(c, u, skip, sizeof(skip), e);

    if (w != 1)
        return w;
    /* Meant to be imported but invalid: a failure, not a choice. */
    c->n.roles_added = before->roles_added;
    c->n.roles_removed = before->roles_removed;
    c->n.members_added = before->members_added;
    c->n.members_removed = before->members_removed;
    c->n.member_roles_added = before->member_roles_added;
    c->n.member_roles_removed = before->member_roles_removed;
    return import_note_outcome(c, u->uid, u->email, "failed", skip, NULL, e) < 0 ? -1 : 1;
}

/* Carries out a decision to write: the job record or the grants, the
 * PATCHes, the other calls (import_extras.c), the report line. */
static int plan_write(struct import_ctx *c, const struct plan_in *in, struct import_decision *d,
                      struct err *e)
{
    const char *tconn = in->tconn, *uid = in->uid;
    json_t *want = in->want, *have = in->have;
    const struct canonjson *want_cj = in->want_cj;
    const char *email = json_string_value(json_object_get(want, "email"));
    struct import_counts before;
    json_t *grants = json_array();
    char extra[700] = "";
    int rc = -1, w;

    if (!grants)
        return err_oom(e);
    if (grant_items(c, &d->diff, grants, e) < 0)
        goto out;
    before = c->n;
    if (d->plan.via_job) {
        /* The user's grants wait for its job (they need the user). */
        struct import_record_user u = {tconn, uid, email, want, want_cj, have == NULL, grants};
        w = plan_job(c, &u, &before, e);
        if (w != 0) {
            rc = w < 0 ? -1 : 0;
            goto out;
        }
    } else if (import_grants_add(c, uid, grants, e) < 0) {
        /* (a user created by POST /users exists before the grants run) */
        goto out;
    }
    if (add_patch(c, uid, 1, d->plan.patch, e) < 0 || add_patch(c, uid, 2, d->plan.patch2, e) < 0 ||
        import_plan_extras(c, uid, want, have, import_written_directly(c, tconn), d, extra,
                           sizeof(extra), e) < 0)
        goto out;
    rc = import_note_outcome(c, uid, email, d->outcome,
                             d->reason[0] ? d->reason
                             : in->note   ? in->note
                             : extra[0]   ? extra
                                          : NULL,
                             d->fields, e);
out:
    json_decref(grants);
    return rc;
}

static int plan_user(struct import_ctx *c, const struct plan_in *in, enum import_action *taken,
                     struct err *e)
{
    const char *email = json_string_value(json_object_get(in->want, "email"));
    struct import_decide_opts o = {c->opts->on_conflict,
                                   import_written_directly(c, in->tconn) ? in->tconn : NULL};
    struct import_decision d;
    int rc = -1;

    if (in->conflict && in->may_defer)
        c->n.conflicts++;
    if (import_decide(&o, in->uid, in->want, in->have, in->conflict, in->may_defer, &d, e) < 0)
        return -1;
    if (taken)
        *taken = d.action;
    switch (d.action) {
    case IMPORT_DEFER:
        rc = defer_conflict(c, in, e);
        break;
    case IMPORT_SKIP:
        rc = import_note_outcome(c, in->uid, email, d.outcome, d.reason, NULL, e);
        break;
    case IMPORT_WRITE:
        if (d.replaces[0] && plan_delete(c, d.replaces, NULL, d.replaces_why, false, e) < 0)
            break;
        rc = plan_write(c, in, &d, e);
        break;
    }
    import_decision_release(&d);
    return rc;
}

/* The merge of "want" (and its conflicts) with the target's users, all
 * sorted by user_id. */
struct merge {
    struct sort_cursor w, cf;
    struct sort_cursor hd; /* target users holding a snapshot user's value */
    struct snapshot_reader *tr;
    json_t *have; /* the target's current user, when got == 1 */
    int got;
    struct canonjson cj; /* the current "want" record, parsed */
};

static bool have_is(const struct merge *m, const char *uid)
{
    return m->got == 1 && strcmp(json_string_value(json_object_get(m->have, "user_id")), uid) == 0;
}

static int next_have(struct merge *m, struct err *e)
{
    json_decref(m->have);
    m->have = NULL;
    m->got = snapshot_reader_next(m->tr, &m->have, e);
    if (m->got == 1 && key_target_roles(m->have, e) < 0)
        return -1;
    return m->got < 0 ? -1 : 0;
}

/* Advances the target stream to the first user >= uid, handling every
 * user passed over as one the snapshot does not hold. */
static int skip_target_before(struct import_ctx *c, struct merge *m, const char *uid, struct err *e)
{
    while (m->got == 1 && strcmp(json_string_value(json_object_get(m->have, "user_id")), uid) < 0)
        if (target_only(c, m->have, e) < 0 || next_have(m, e) < 0)
            return -1;
    return 0;
}

/* uid's conflict records into out, joined by '\x1e' (import_conflicts.h):
 * 1 found, 0 none. Those that do not fit are left out (a user has one per
 * kind and holder; only twins inside a snapshot make many). */
static int find_conflict(struct merge *m, const char *uid, char *out, size_t len, struct err *e)
{
    size_t n = 0, ulen = strlen(uid);

    while (m->cf.have && sort_cursor_cmp(&m->cf, uid, ulen) < 0)
        if (sort_cursor_next(&m->cf, e) < 0)
            return -1;
    out[0] = '\0';
    while (m->cf.have && sort_cursor_cmp(&m->cf, uid, ulen) == 0) {
        if (n + m->cf.rlen + 2 <= len)
            n += (size_t)snprintf(out + n, len - n, "%s%.*s", n ? "\x1e" : "", (int)m->cf.rlen,
                                  m->cf.rec);
        if (sort_cursor_next(&m->cf, e) < 0)
            return -1;
    }
    return n > 0;
}

/* Whether the target's uid holds a snapshot user's email, username or
 * phone number (then it may be a mover, import_moves.h). */
static int holds_a_value(struct merge *m, const char *uid, struct err *e)
{
    size_t n = strlen(uid);

    while (m->hd.have && sort_cursor_cmp(&m->hd, uid, n) < 0)
        if (sort_cursor_next(&m->hd, e) < 0)
            return -1;
    return m->hd.have && sort_cursor_cmp(&m->hd, uid, n) == 0;
}

/* A held record the target has a user for: when it is a snapshot user's
 * linked account, the import will link that user rather than make it. */
static int note_linked_present(struct import_ctx *c, const struct merge *m, const char *uid,
                               struct err *e)
{
    if (m->w.rlen != sizeof(IMPORT_HELD_LINKED) ||
        memcmp(m->w.rec, IMPORT_HELD_LINKED, m->w.rlen) != 0)
        return 0;
    if (!c->linked_present && !(c->linked_present = json_object()))
        return err_oom(e);
    return json_object_set_new(c->linked_present, uid, json_true()) < 0 ? err_oom(e) : 0;
}

/* A snapshot user the target has as another user's linked account
 * (c->unlink_first): planned against what the unlink before the jobs
 * leaves, with a note saying so. false when that is known; true when the
 * unlink is not planned yet (its holder comes later in the merge, or is no
 * snapshot user): then a "\x1flinked" entry is added to the conflicts (out,
 * with in's) and the user waits for the merge's end. */
static bool unlinked_first(struct import_ctx *c, struct plan_in *in, char *note, size_t notesz,
                           char *conflicts, size_t confsz)
{
    json_t *v = c->unlink_first ? json_object_get(c->unlink_first, in->uid) : NULL;
    size_t n;

    if (!v)
        return false;
    if (json_is_object(v)) {
        in->have = json_object_get(v, "user");
        snprintf(note, notesz, "was a linked account of target user '%s': unlinked first",
                 json_string_value(json_object_get(v, "from")));
        in->note = note;
        return false;
    }
    n = in->conflict ? strlen(in->conflict) : 0;
    if (n + 8 >= confsz)
        return false;
    snprintf(conflicts + n, confsz - n, "%s\x1flinked", n ? "\x1e" : "");
    return true;
}

/* The current "want" record against the target's user of the same id. */
static int merge_one(struct import_ctx *c, struct merge *m, struct err *e)
{
    size_t clen = strnlen(m->w.rec, m->w.rlen);
    char uid[1024], conflict[4096];
    const char *text;
    json_error_t jerr;
    json_t *want;
    bool match;
    int r, fast;

    snprintf(uid, sizeof(uid), "%.*s", (int)m->w.klen, m->w.key);
    /* target users before this one are not in the snapshot */
    if (skip_target_before(c, m, uid, e) < 0)
        return -1;
    match = have_is(m, uid);
    if (clen == 0) /* held by the snapshot but not imported: only shields its twin */
        return match ? note_linked_present(c, m, uid, e) < 0 ? -1 : next_have(m, e) : 0;
    /* Canonical text (want_user): the fast parse builds the json_t, and the
     * job record is written from the parse. */
    text = m->w.rec + clen + 1;
    fast = canonjson_parse(&m->cj, text, m->w.rlen - clen - 1, e);
    if (fast < 0)
        return -1;
    want = fast ? canonjson_to_json(&m->cj, CANONJSON_ROOT)
                : json_loadb(text, m->w.rlen - clen - 1, 0, &jerr);
    if (!want)
        return fast ? err_oom(e)
                    : err_set(e, ERR_INTERNAL, "bad record in the plan sort: %s", jerr.text);
    r = find_conflict(m, uid, conflict, sizeof(conflict), e);
    if (r >= 0) {
        struct plan_in in = {m->w.rec,
                             uid,
                             want,
                             fast ? &m->cj : NULL,
                             match ? m->have : NULL,
                             r == 1 ? conflict : NULL,
                             true,
                             NULL};
        enum import_action taken;
        char note[1200];
        if (!match && unlinked_first(c, &in, note, sizeof(note), conflict, sizeof(conflict)))
            in.conflict = conflict; /* its unlink not planned yet: wait for the merge's end */
        r = plan_user(c, &in, &taken, e);
        if (r >= 0 && match && (r = holds_a_value(m, uid, e)) == 1)
            r = note_mover(c, &in, taken, e);
    }
    json_decref(want);
    if (r < 0)
        return -1;
    return match ? next_have(m, e) : 0;
}

int import_plan(struct import_ctx *c, struct err *e)
{
    struct merge m;
    int rc = -1;

    memset(&m, 0, sizeof(m));
    canonjson_init(&m.cj);
    sort_cursor_init(&m.w, c->want);
    sort_cursor_init(&m.cf, c->conf);
    sort_cursor_init(&m.hd, c->holders);
    log_verbose("planning: reading the snapshot");
    /* The target first: pass A needs to know the target's linked accounts. */
    if (pass_target_index(c, e) < 0 || import_plan_snapshot(c, e) < 0 ||
        import_find_conflicts(c->sidx, c->tidx, c->conf, c->holders, e) < 0)
        return -1;
    if (extsort_finish(c->want, e) < 0 || extsort_finish(c->conf, e) < 0 ||
        extsort_finish(c->holders, e) < 0)
        return -1;
    if (sort_cursor_next(&m.w, e) < 0 || sort_cursor_next(&m.cf, e) < 0 ||
        sort_cursor_next(&m.hd, e) < 0)
        return -1;
    if (snapshot_reader_open(&m.tr, c->target_dump, e) < 0)
        return -1;
    m.got = snapshot_reader_next(m.tr, &m.have, e);
    if (m.got < 0 || (m.got == 1 && key_target_roles(m.have, e) < 0))
        goto out;
    /* user_ids are unique: one "want" record per user */
    while (m.w.have)
        if (merge_one(c, &m, e) < 0 || sort_cursor_next(&m.w, e) < 0)
            goto out;
    while (m.got == 1)
        if (target_only(c, m.have, e) < 0 || next_have(&m, e) < 0)
            goto out;
    if (settle_deferred(c, e) < 0 || import_records_flush(c, e) < 0)
        goto out;
    rc = 0;
out:
    json_decref(m.have);
    snapshot_reader_free(m.tr);
    canonjson_release(&m.cj);
    return rc;
}
