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
#include "import_plan_internal.h"
#include "jsonutil.h"

#include "canonjson.h"
#include "extsort.h"
#include "import_conflicts.h"
#include "import_decide.h"
#include "keeprule.h"
#include "log.h"
#include "snapshot.h"
#include "sortcursor.h"
#include "userdiff.h"

#include <stdlib.h>
#include <string.h>

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
    const char *conn = json_string_value(json_object_get(identity, "connection"));
    const json_t *pd = json_object_get(identity, "profileData");

    if (!c->target_secondaries && !(c->target_secondaries = json_object()))
        return err_oom(e);
    if (json_object_set(c->target_secondaries, key, json_object_get(identity, "connection")) < 0)
        return err_oom(e);
    /* A linked account keeps its email, username (and an sms account its
     * number) in its connection: a conflict's holder like any user (one
     * that is never replaced, import_settle.c). */
    if (!conn)
        return 0;
    if (import_conflict_key_add(c->tidx, conn, "email",
                                json_string_value(json_object_get(pd, "email")), key, e) < 0 ||
        import_conflict_key_add(c->tidx, conn, "username",
                                json_string_value(json_object_get(pd, "username")), key, e) < 0)
        return -1;
    if (strcmp(import_tconn_strategy(c, conn), "sms") == 0 &&
        import_conflict_key_add(c->tidx, conn, "phone_number",
                                json_string_value(json_object_get(pd, "phone_number")), key, e) < 0)
        return -1;
    return 0;
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
int import_plan_delete(struct import_ctx *c, const char *uid, const char *email, const char *reason,
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
    return import_plan_delete(c, uid, email, "not in the snapshot (--prune)", true, e);
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

int import_plan_user(struct import_ctx *c, const struct plan_in *in, enum import_action *taken,
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
        rc = import_defer_conflict(c, in, e);
        break;
    case IMPORT_SKIP:
        rc = import_note_outcome(c, in->uid, email, d.outcome, d.reason, NULL, e);
        break;
    case IMPORT_WRITE:
        if (d.replaces[0] && import_plan_delete(c, d.replaces, NULL, d.replaces_why, false, e) < 0)
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

/* The target has uid in another connection than the snapshot's (tconn),
 * and Auth0 cannot move a user between connections: a conflict, skipped
 * (1: decided), or with --on-conflict=replace deleted first and created
 * anew (0: plan it as a new user, *note says why). */
static int other_connection(struct import_ctx *c, const char *uid, const char *tconn,
                            const json_t *have, json_t *want, char *note, size_t notesz,
                            struct err *e)
{
    const char *was = snapshot_user_connection(have);
    char why[700];

    snprintf(why, sizeof(why),
             "the target has this user_id in connection '%.200s', the snapshot in '%.200s': Auth0 "
             "cannot move a user between connections",
             was, tconn);
    if (c->opts->on_conflict == CONFLICT_SKIP) {
        c->n.conflicts++;
        snprintf(note, notesz, "conflict: %s (--on-conflict=replace deletes it and creates it)",
                 why);
        return import_note_outcome(c, uid, json_string_value(json_object_get(want, "email")),
                                   "skipped", note, NULL, e) < 0
                   ? -1
                   : 1;
    }
    snprintf(note, notesz, "recreated: %s (--on-conflict=replace)", why);
    return import_plan_delete(c, uid, NULL, note, false, e);
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
        int decided = 0;
        if (!match && import_unlinked_first(c, &in, note, sizeof(note), conflict, sizeof(conflict)))
            in.conflict = conflict; /* its unlink not planned yet: wait for the merge's end */
        if (match && strcmp(snapshot_user_connection(m->have), m->w.rec) != 0) {
            decided = other_connection(c, uid, m->w.rec, m->have, want, note, sizeof(note), e);
            in.have = NULL; /* recreated (0), or skipped (1) */
            in.note = note;
        }
        r = decided < 0 ? -1 : decided ? 0 : import_plan_user(c, &in, &taken, e);
        /* (a user the target has only as a linked account is no mover: its
         * value cannot be set aside before its unlink) */
        if (r >= 0 && match && in.have && (r = holds_a_value(m, uid, e)) == 1)
            r = import_note_mover(c, &in, taken, e);
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
    if (import_settle_deferred(c, e) < 0 || import_records_flush(c, e) < 0)
        goto out;
    rc = 0;
out:
    json_decref(m.have);
    snapshot_reader_free(m.tr);
    canonjson_release(&m.cj);
    return rc;
}
