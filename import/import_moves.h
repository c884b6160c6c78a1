/*
 * import_moves.h - conflicts that are only moves.
 *
 * A conflict (import_conflicts.h) says that target user T holds snapshot
 * user S's email, username or phone number under another user_id. When T
 * is itself a snapshot user whom the snapshot gives another value, nothing
 * is in the way once T has changed: production moved the value from one
 * user to another (an address handed on, two users' emails swapped), and
 * the import must move it too, not skip S nor delete T. T is then a
 * "mover": the import first sets T's value aside (a placeholder, one PATCH,
 * import_apply.c), then writes as usual: T gets its own new value, S the
 * one T held, whatever the order, chains and cycles alike.
 *
 * Whether T gets written can itself hang on a conflict of T's (a chain:
 * T's new value is held by U), so the decision is a fixpoint over the
 * movers: every mover that was waiting on a conflict of its own is first
 * taken as written; then one with a conflict neither resolved (its
 * holder pruned, or a mover that frees the value) nor replaced
 * (--on-conflict=replace) is kept as it is, and what waited on it is
 * decided again, until nothing changes.
 *
 * Movers are a JSON object, user_id -> {
 *   "state": "written" | "kept" | "deferred",
 *   "releases": {kind: the value it holds now, when its new one differs},
 *   "conflicts": [{"holder": uid, "kind": kind, "key": the value it wants}]
 *                (only for "deferred": a mover with conflicts of its own)
 * }; kinds are "email", "username" and "phone_number", values compared
 * without regard to ASCII case, as the conflict index compares them.
 *
 * Pure: no I/O, no printing.
 */
#ifndef A0SNAP_IMPORT_MOVES_H
#define A0SNAP_IMPORT_MOVES_H

#include <jansson.h>
#include <stdbool.h>

/* Settles every "deferred" mover to "written" or "kept", as above.
 * pruned: {uid: true} of the target users the import deletes (may be
 * NULL). replace: --on-conflict=replace (a blocked mover is written after
 * its holder is deleted). A settled mover also gets "waited": true. */
void import_moves_settle(json_t *movers, const json_t *pruned, bool replace);

/* True when holder is a mover that is written and gives up key (its value
 * of kind now): the conflict over key is then a move. */
bool import_moves_frees(const json_t *movers, const char *holder, const char *kind,
                        const char *key);

#endif
