/*
 * import_settle.c - what waits for the end of import_plan.c's merge.
 *
 * A snapshot user in conflict (import_conflicts.h) cannot be decided when
 * the merge meets it: the holder may be a user --prune deletes further on,
 * or a snapshot user that the snapshot gives another value (a mover,
 * import_moves.h); and a user the target holds as another user's linked
 * account needs that user's unlink planned first. Such users wait in a
 * sort on disk and are decided here once the merge has seen everyone.
 */
#include "import.h"
#include "import_conflicts.h"
#include "import_moves.h"
#include "import_plan_internal.h"

#include "buf.h"
#include "extsort.h"
#include "sha256.h"
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A conflict waits for the merge's end in the deferrals sort, on disk
 * (every user of a target filled under other ids may be one): "<conflict>
 * \0<tconn>\0<want>\0<have or null>". */
int import_defer_conflict(struct import_ctx *c, const struct plan_in *in, struct err *e)
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
int import_note_mover(struct import_ctx *c, const struct plan_in *in, enum import_action taken,
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
    /* (a mover is in the target, so it never waits for an unlink of its
     * own: no "linked" entry, import_unlinked_first()) */
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
    struct import_conflict ce, stays, moves[8];
    const char *p = in->conflict;
    char note[1200] = "", why[1200];
    size_t n_stay = 0, n_moves = 0;

    /* a linked account of the target keeps its value: never replaced */
    while (import_conflict_next(&p, &ce))
        if (c->target_secondaries && json_object_get(c->target_secondaries, ce.holder)) {
            snprintf(why, sizeof(why),
                     "conflict: the target has this %s on '%.400s', a linked account of another "
                     "user; a linked account is not replaced",
                     ce.kind, ce.holder);
            return import_note_outcome(c, in->uid,
                                       json_string_value(json_object_get(in->want, "email")),
                                       "skipped", why, NULL, e);
        }
    p = in->conflict;
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
        if (import_moves_frees(c->movers, ce.holder, ce.kind, key) &&
            n_moves < sizeof(moves) / sizeof(moves[0])) {
            moves[n_moves++] = ce;
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
            if (import_plan_delete(c, ce.holder, NULL, why, false, e) < 0)
                return -1;
        }
    }
    /* values set aside only for a user that is written */
    if (n_stay == 0 || c->opts->on_conflict == CONFLICT_REPLACE)
        for (size_t i = 0; i < n_moves; i++)
            if (add_release(c, moves[i].holder, moves[i].kind, e) < 0)
                return -1;
    in->may_defer = false;
    in->note = note[0] ? note : NULL;
    if (n_stay == 0) {
        c->n.conflicts--; /* counted when deferred */
        in->conflict = NULL;
        return import_plan_user(c, in, NULL, e);
    }
    snprintf(why, sizeof(why), "%s\x1f%s", stays.holder, stays.kind);
    in->conflict = why;
    return import_plan_user(c, in, NULL, e);
}

/* After the merge: the movers settled (import_moves.h), then every
 * deferred conflict decided. */
int import_settle_deferred(struct import_ctx *c, struct err *e)
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

/* A snapshot user the target has as another user's linked account
 * (c->unlink_first): planned against what the unlink before the jobs
 * leaves, with a note saying so. false when that is known; true when the
 * unlink is not planned yet (its holder comes later in the merge, or is no
 * snapshot user): then a "\x1flinked" entry is added to the conflicts (out,
 * with in's) and the user waits for the merge's end. */
bool import_unlinked_first(struct import_ctx *c, struct plan_in *in, char *note, size_t notesz,
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
