/* import_decide.c - see import_decide.h. */
#include "import_decide.h"
#include "import_conflicts.h"

#include <stdio.h>
#include <string.h>

void import_decision_init(struct import_decision *d)
{
    memset(d, 0, sizeof(*d));
    userdiff_init(&d->diff);
}

void import_decision_release(struct import_decision *d)
{
    userdiff_release(&d->diff);
    userdiff_plan_release(&d->plan);
    json_decref(d->fields);
    import_decision_init(d);
}

/* A conflict: 1 when it decides (skip or defer), 0 when the user is to be
 * written after its holder is deleted. Any conflict but one with the user
 * itself waits for the merge's end first: its holder may be pruned, or be
 * a snapshot user that gives the value up (import_moves.h). Decided then,
 * conflict holds the one conflict that stays (import_plan.c sorts them). */
static int decide_conflict(const struct import_decide_opts *o, const char *uid,
                           const char *conflict, bool may_defer, struct import_decision *d)
{
    struct import_conflict first, ce;
    const char *p = conflict;
    bool self = false;

    if (!import_conflict_next(&p, &first))
        return 0;
    for (p = conflict; !self && import_conflict_next(&p, &ce);)
        if (strcmp(ce.holder, uid) == 0 || ce.twin) {
            self = true;
            first = ce;
        }
    if (first.twin) {
        /* another snapshot user keeps the value: never replaced */
        d->action = IMPORT_SKIP;
        d->outcome = "skipped";
        snprintf(d->reason, sizeof(d->reason),
                 "conflict: snapshot user '%.512s' has this %s too, and keeps it (the first in "
                 "user_id order)",
                 first.holder, first.kind);
        return 1;
    }
    if (may_defer && !self) {
        d->action = IMPORT_DEFER;
        return 1;
    }
    if (o->on_conflict == CONFLICT_SKIP || self) {
        d->action = IMPORT_SKIP;
        d->outcome = "skipped";
        snprintf(d->reason, sizeof(d->reason),
                 "conflict: target user '%.512s' already has this %s (--on-conflict=replace "
                 "deletes it and creates this user)",
                 first.holder, first.kind);
        return 1;
    }
    snprintf(d->replaces, sizeof(d->replaces), "%s", first.holder);
    snprintf(d->replaces_why, sizeof(d->replaces_why),
             "held the %s of snapshot user '%.512s' (--on-conflict=replace)", first.kind, uid);
    snprintf(d->reason, sizeof(d->reason), "replaces target user '%.512s' that had this %s",
             first.holder, first.kind);
    return 0;
}

int import_decide(const struct import_decide_opts *o, const char *uid, const json_t *want,
                  const json_t *have, const char *conflict, bool may_defer,
                  struct import_decision *d, struct err *e)
{
    import_decision_init(d);
    if (conflict && decide_conflict(o, uid, conflict, may_defer, d) == 1)
        return 0;
    d->action = IMPORT_WRITE;
    if (userdiff_compare(want, have, &d->diff, e) < 0 ||
        (o->direct ? userdiff_plan_direct(want, have, &d->diff, o->direct, &d->plan, e)
                   : userdiff_plan(want, have, &d->diff, &d->plan, e)) < 0) {
        import_decision_release(d);
        return -1;
    }
    d->fields = userdiff_fields_json(&d->diff);
    if (d->plan.action == UD_CREATE)
        d->outcome = "created";
    else if (d->plan.action == UD_UPDATE || json_array_size(d->fields) > 0)
        d->outcome = "updated";
    else
        d->outcome = "unchanged";
    return 0;
}
