/*
 * snapdiff.h - what changed between two snapshots of a tenant.
 *
 * Both inputs yield users in strictly increasing byte-wise user_id order
 * (the snapshot format guarantees it), so one merge pass finds every
 * difference while holding one user of each side: memory does not grow
 * with the number of users.
 *
 * A user is
 *  - added:   its user_id is only in NEW;
 *  - removed: its user_id is only in OLD;
 *  - changed: in both, and some top-level key's value differs (values are
 *    compared as JSON with json_equal(), so key order and formatting never
 *    matter; a key present on one side only differs). "roles" and
 *    "organizations" are compared as values too, absent being the same as
 *    an empty array (a snapshot leaves both out for a user without grants);
 *  - activity only: in both, and only activity keys differ ("updated_at",
 *    "last_login", "logins_count": Auth0 changes them on every login).
 *    These keys are ignored unless compare_activity is set, and never
 *    appear in a changed user's field list while ignored;
 *  - unchanged otherwise (only counted).
 *
 * The work is pure: users come from two iterators (snapdiff_readers() wires
 * two snapshot readers, which verify as they stream), differences go to
 * one callback, and nothing here prints.
 */
#ifndef A0SNAP_SNAPDIFF_H
#define A0SNAP_SNAPDIFF_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

struct snapshot_reader;

/* Distinct field names counted in snapdiff_stats.fields; the names of
 * further ones are counted under SNAPDIFF_OTHER_FIELDS (a hostile file must
 * not make the counts grow without bound). */
#define SNAPDIFF_MAX_FIELDS   1024
#define SNAPDIFF_OTHER_FIELDS "(other fields)"

enum snapdiff_kind {
    SNAPDIFF_ADDED,
    SNAPDIFF_REMOVED,
    SNAPDIFF_CHANGED,
    SNAPDIFF_ACTIVITY, /* only activity keys differ */
};

/* One difference, handed to the callback. Everything is borrowed for the
 * duration of the call. */
struct snapdiff_item {
    enum snapdiff_kind kind;
    const char *user_id; /* may hold NUL bytes: see user_id_len */
    size_t user_id_len;
    const json_t *old_user; /* NULL when added */
    const json_t *new_user; /* NULL when removed */
    /* The differing top-level keys, sorted byte-wise: for CHANGED the
     * compared keys, for ACTIVITY the activity keys; empty for ADDED and
     * REMOVED. */
    const json_t *fields;
};

/* Called once per difference, in user_id order. Returning -1 (with e
 * filled) stops the diff, which then fails with that error. */
typedef int (*snapdiff_fn)(void *ctx, const struct snapdiff_item *item, struct err *e);

/* One side's users: returns 1 with a NEW reference in *user (the diff
 * json_decref()s it), 0 at the end, -1 with e filled on failure. */
typedef int (*snapdiff_next_fn)(void *ctx, json_t **user, struct err *e);

struct snapdiff_opts {
    bool compare_activity; /* treat activity keys as ordinary fields */
};

/* Counts (a stack struct: snapdiff_stats_init() / _release()). */
struct snapdiff_stats {
    unsigned long long old_users, new_users;
    unsigned long long added, removed, changed, activity_only, unchanged;
    json_t *fields; /* owned: {"<key>": changed users whose key differs} */
};

void snapdiff_stats_init(struct snapdiff_stats *s);
/* Frees the fields and zeroes s; safe on an init'ed or released s. */
void snapdiff_stats_release(struct snapdiff_stats *s);

/*
 * Merges the two sides. st is init'ed here (any previous content is NOT
 * released). opts may be NULL for the defaults; fn may be NULL to only
 * count. Fails with ERR_SNAPSHOT when a user has no string user_id or a
 * side is not in strictly increasing order, with the iterators' or the
 * callback's error as they gave it, or ERR_INTERNAL when out of memory. On
 * failure st holds the counts so far (release it all the same).
 */
int snapdiff_run(snapdiff_next_fn old_next, void *old_ctx, snapdiff_next_fn new_next, void *new_ctx,
                 const struct snapdiff_opts *opts, snapdiff_fn fn, void *ctx,
                 struct snapdiff_stats *st, struct err *e);

/* snapdiff_run() over two open snapshot readers (borrowed), read to their
 * verified end: a damaged file fails the diff with the reader's message. */
int snapdiff_readers(struct snapshot_reader *old_r, struct snapshot_reader *new_r,
                     const struct snapdiff_opts *opts, snapdiff_fn fn, void *ctx,
                     struct snapdiff_stats *st, struct err *e);

/* Compares two users (objects) the way the diff does. *fields gets a new
 * array of the differing compared keys (sorted), *activity one of the
 * differing activity keys (empty when opts->compare_activity). Pure;
 * ERR_INTERNAL when out of memory (both left NULL). */
int snapdiff_user(const json_t *old_user, const json_t *new_user, const struct snapdiff_opts *opts,
                  json_t **fields, json_t **activity, struct err *e);

/* The activity keys, sorted, NULL-terminated. */
extern const char *const snapdiff_activity_keys[];

/* True if key is one of the activity keys. */
bool snapdiff_is_activity_key(const char *key);

/* The kind's name in reports: "added", "removed", "changed",
 * "activity_only". */
const char *snapdiff_kind_name(enum snapdiff_kind kind);

#endif
