/*
 * import_plan_internal.h - what import_plan.c (the merge) and
 * import_settle.c (what waits for the merge's end) share. Not for other
 * files: import.h is the engine's interface.
 */
#ifndef A0SNAP_IMPORT_PLAN_INTERNAL_H
#define A0SNAP_IMPORT_PLAN_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "import.h"
#include "import_decide.h"

struct canonjson;

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

/* import_plan.c */
/* Decides for one snapshot user and carries the decision out (records,
 * PATCHes, grants, the report line); taken (may be NULL) gets the action. */
int import_plan_user(struct import_ctx *c, const struct plan_in *in, enum import_action *taken,
                     struct err *e);
/* Plans the deletion of a target user (once, whatever asks for it). */
int import_plan_delete(struct import_ctx *c, const char *uid, const char *email, const char *reason,
                       bool prune, struct err *e);

/* import_settle.c */
/* A conflict waits for the merge's end in the deferrals sort, on disk. */
int import_defer_conflict(struct import_ctx *c, const struct plan_in *in, struct err *e);
/* in->uid holds a snapshot user's value in the target: a mover
 * (import_moves.h), noted with what the import does with it. */
int import_note_mover(struct import_ctx *c, const struct plan_in *in, enum import_action taken,
                      struct err *e);
/* After the merge: the movers settled, then every deferred user decided. */
int import_settle_deferred(struct import_ctx *c, struct err *e);
/* A snapshot user the target holds as another user's linked account: see
 * import_settle.c. */
bool import_unlinked_first(struct import_ctx *c, struct plan_in *in, char *note, size_t notesz,
                           char *conflicts, size_t confsz);

#endif
