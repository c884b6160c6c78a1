/* import_moves.c - see import_moves.h. */
#include "import_moves.h"

#include <string.h>
#include <strings.h>

static bool state_is(const json_t *mover, const char *state)
{
    const char *s = json_string_value(json_object_get(mover, "state"));

    return s && strcmp(s, state) == 0;
}

bool import_moves_frees(const json_t *movers, const char *holder, const char *kind, const char *key)
{
    const json_t *m = json_object_get(movers, holder);
    const char *held = json_string_value(json_object_get(json_object_get(m, "releases"), kind));

    return m && key && held && state_is(m, "written") && strcasecmp(held, key) == 0;
}

/* Whether mover m, waiting on its own conflicts, can be written: each
 * one's holder pruned, or a mover that frees the value (or replace). */
static bool unblocked(const json_t *movers, const json_t *m, const json_t *pruned, bool replace)
{
    const json_t *cf;
    size_t i;

    if (replace)
        return true;
    json_array_foreach(json_object_get(m, "conflicts"), i, cf)
    {
        const char *holder = json_string_value(json_object_get(cf, "holder"));
        if (!holder || (pruned && json_object_get(pruned, holder)))
            continue;
        if (!import_moves_frees(movers, holder, json_string_value(json_object_get(cf, "kind")),
                                json_string_value(json_object_get(cf, "key"))))
            return false;
    }
    return true;
}

void import_moves_settle(json_t *movers, const json_t *pruned, bool replace)
{
    const char *uid;
    json_t *m;
    bool changed;

    /* Optimistic start: every waiting mover written (a cycle of moves
     * frees itself); only ever turned to "kept" below, so this ends. */
    json_object_foreach(movers, uid, m)
    {
        if (state_is(m, "deferred")) {
            json_object_set_new(m, "state", json_string("written"));
            json_object_set_new(m, "waited", json_true());
        }
    }
    do {
        changed = false;
        json_object_foreach(movers, uid, m)
        {
            if (json_is_true(json_object_get(m, "waited")) && state_is(m, "written") &&
                !unblocked(movers, m, pruned, replace)) {
                json_object_set_new(m, "state", json_string("kept"));
                changed = true;
            }
        }
    } while (changed);
}
