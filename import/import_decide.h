/*
 * import_decide.h - what the import does with one snapshot user, given the
 * target's user with the same user_id ("have", or none) and the conflict
 * the index merge found for it (import_conflicts.h), if any.
 *
 *  - a conflict (another target user holds its email or username, or an
 *    earlier snapshot user does) first waits (DEFER) for the merge's end:
 *    the holder may turn out to be a user --prune deletes, or a snapshot
 *    user that gives the value up (import_moves.h). Decided then (no
 *    longer may_defer): skipped by default, with the reason; with
 *    --on-conflict=replace the holder is deleted first and the user
 *    written as below. A conflict with itself (the same user_id) is
 *    always skipped at once.
 *  - otherwise common/userdiff.h decides: created through a bulk job when
 *    the target lacks it; else updated, the upsertable fields (names,
 *    picture, email_verified, metadata replaced whole) through the job,
 *    blocked, username, phone_number and unsetting fields through a PATCH;
 *    a changed email keeps the user_id, no job, the email by PATCH; or
 *    unchanged.
 *
 * Pure: no I/O, nothing counted; import_plan.c carries the decision out.
 */
#ifndef A0SNAP_IMPORT_DECIDE_H
#define A0SNAP_IMPORT_DECIDE_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"
#include "import.h"
#include "userdiff.h"

struct import_decide_opts {
    enum conflict_policy on_conflict;
    /* The target connection of a user bulk jobs cannot write (passwordless):
     * created by POST /users, every change by one PATCH
     * (userdiff_plan_direct). NULL for database users. */
    const char *direct;
};

enum import_action {
    IMPORT_SKIP,  /* a conflict that stays: reported "skipped" with reason */
    IMPORT_DEFER, /* a conflict to decide after the merge (pruned holder, a move) */
    IMPORT_WRITE, /* created, updated or unchanged: see diff and plan */
};

struct import_decision {
    enum import_action action;
    const char *outcome;       /* "skipped", "created", "updated" or "unchanged" (static) */
    char reason[700];          /* the report's reason, "" when none */
    char replaces[1024];       /* --on-conflict=replace: the target user to delete first, "" */
    char replaces_why[1200];   /* the reason reported for that deletion */
    struct userdiff diff;      /* IMPORT_WRITE: the differences (grants included) */
    struct userdiff_plan plan; /* IMPORT_WRITE: via_job, patch, patch2 */
    json_t *fields;            /* IMPORT_WRITE: the changed fields' names, owned */
};

/* Zeroes d, so that import_decision_release() is safe. */
void import_decision_init(struct import_decision *d);
/* Frees what d owns and zeroes it. */
void import_decision_release(struct import_decision *d);

/*
 * Decides for snapshot user uid (want, after the import policy, grants
 * named as in the target) against have (NULL when the target lacks uid).
 * conflict: NULL, or its conflicts ("<other user_id>\x1f<kind>", several
 * joined by '\x1e': import_conflicts.h); once no longer may_defer, the
 * one that stays (the others are import_plan.c's). may_defer: false when
 * the decision is the one taken after the merge (a deferred conflict is
 * then skipped or replaced). d is initialized here. -1 (userdiff's errors) leaves d
 * released.
 */
int import_decide(const struct import_decide_opts *o, const char *uid, const json_t *want,
                  const json_t *have, const char *conflict, bool may_defer,
                  struct import_decision *d, struct err *e);

#endif
