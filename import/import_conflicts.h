/*
 * import_conflicts.h - finding snapshot users whose email or username a
 * different user already holds (pass C of import_plan.c).
 *
 * Both sides put their users' emails and usernames into an index sort
 * (import_conflict_key_add): the key is "<target connection>\x1f<kind>:
 * <value lower-cased>", the record the user_id. Merging the two sorted
 * indexes finds every key held under two user_ids: a target user holding
 * a snapshot user's email or username, or a second snapshot user with the
 * same value as a first one. Each conflict becomes a record of the
 * conflict sort: key the snapshot user's id, record "<other user_id>\x1f
 * <kind>" (kind "email", "username" or "phone_number"), followed by
 * "\x1ftwin" when the other is a snapshot user too (two source connections
 * mapped onto one, or a snapshot made by hand). What is done about a
 * conflict is import_decide.h's.
 *
 * No network: the sorts are extsorts (common/util), in memory up to their
 * budget.
 */
#ifndef A0SNAP_IMPORT_CONFLICTS_H
#define A0SNAP_IMPORT_CONFLICTS_H

#include "err.h"

#include <stdbool.h>

struct extsort;

/* Adds uid's value of kind ("email", "username") in connection conn to
 * index s. Nothing for a NULL or empty value; a key longer than 1199 bytes
 * is cut (values that long never match anything real). */
int import_conflict_key_add(struct extsort *s, const char *conn, const char *kind,
                            const char *value, const char *uid, struct err *e);

/* Finishes the snapshot's index sidx and the target's tidx and merges
 * them into conf (not finished). For each key, the snapshot's first holder
 * (in user_id order) may have it: later snapshot holders conflict with it,
 * and so does every target holder under another user_id. Each such target
 * holder also goes into holders (when not NULL; not finished): key its
 * user_id, record the snapshot user's (import_moves.h: is it a mover?). */
int import_find_conflicts(struct extsort *sidx, struct extsort *tidx, struct extsort *conf,
                          struct extsort *holders, struct err *e);

/* A user's conflicts as the planner passes them on: its conflict
 * records joined by '\x1e', "<holder>\x1f<kind>[\x1e<holder>\x1f<kind>...]". */
struct import_conflict {
    char holder[1024];
    char kind[32]; /* "email" when the record names none */
    bool twin;     /* the holder is an earlier snapshot user with the same value */
};

/* The entry at *p into out, and *p moved past it: true while there was
 * one. A holder or kind too long for out is cut. */
bool import_conflict_next(const char **p, struct import_conflict *out);

#endif
