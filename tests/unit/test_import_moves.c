/*
 * Unit tests for import/import_moves.c: which conflicts are only moves of
 * a value between snapshot users, and which movers get written when their
 * own conflicts chain or cycle. No I/O.
 */
#include "harness.h"
#include "harness_json.h"
#include "import_moves.h"

#include <stdlib.h>

static const char *state(const json_t *movers, const char *uid)
{
    return json_string_value(json_object_get(json_object_get(movers, uid), "state"));
}

/* A written mover frees the value it holds now (any case), and nothing
 * else; a kept one frees nothing. */
static void test_frees(void)
{
    json_t *m = J("{\"t\":{\"state\":\"written\",\"releases\":{\"email\":\"x@example.com\"}},"
                  "\"k\":{\"state\":\"kept\",\"releases\":{\"email\":\"y@example.com\"}}}");

    CHECK(import_moves_frees(m, "t", "email", "X@Example.com"));
    CHECK(!import_moves_frees(m, "t", "email", "z@example.com"));
    CHECK(!import_moves_frees(m, "t", "username", "x@example.com"));
    CHECK(!import_moves_frees(m, "k", "email", "y@example.com"));
    CHECK(!import_moves_frees(m, "nobody", "email", "x@example.com"));
    CHECK(!import_moves_frees(m, "t", "email", NULL));
    json_decref(m);
}

/* Two users that swapped emails both wait on each other: both written. */
static void test_swap_is_written(void)
{
    json_t *m = J("{\"a\":{\"state\":\"deferred\",\"releases\":{\"email\":\"y\"},"
                  "\"conflicts\":[{\"holder\":\"b\",\"kind\":\"email\",\"key\":\"x\"}]},"
                  "\"b\":{\"state\":\"deferred\",\"releases\":{\"email\":\"x\"},"
                  "\"conflicts\":[{\"holder\":\"a\",\"kind\":\"email\",\"key\":\"y\"}]}}");

    import_moves_settle(m, NULL, false);
    CHECK_STR(state(m, "a"), "written");
    CHECK_STR(state(m, "b"), "written");
    CHECK(import_moves_frees(m, "a", "email", "y"));
    json_decref(m);
}

/* A chain c -> b -> a where a waits on a squatter s that is no mover:
 * skipped, a keeps its value, so do b and c; with replace all are
 * written; with the squatter pruned too. A mover that was written from
 * the start (no conflict of its own) is left as it is. */
static void test_chain_blocked_by_a_squatter(void)
{
    static const char text[] =
        "{\"a\":{\"state\":\"deferred\",\"releases\":{\"email\":\"b-wants\"},"
        "\"conflicts\":[{\"holder\":\"s\",\"kind\":\"email\",\"key\":\"a-wants\"}]},"
        "\"b\":{\"state\":\"deferred\",\"releases\":{\"email\":\"c-wants\"},"
        "\"conflicts\":[{\"holder\":\"a\",\"kind\":\"email\",\"key\":\"b-wants\"}]},"
        "\"c\":{\"state\":\"deferred\",\"releases\":{},"
        "\"conflicts\":[{\"holder\":\"b\",\"kind\":\"email\",\"key\":\"c-wants\"}]},"
        "\"w\":{\"state\":\"written\",\"releases\":{\"email\":\"q\"}}}";
    json_t *m = J(text), *pruned = J("{\"s\":true}");

    import_moves_settle(m, NULL, false);
    CHECK_STR(state(m, "a"), "kept");
    CHECK_STR(state(m, "b"), "kept");
    CHECK_STR(state(m, "c"), "kept");
    CHECK_STR(state(m, "w"), "written");
    json_decref(m);

    m = J(text);
    import_moves_settle(m, NULL, true);
    CHECK_STR(state(m, "a"), "written");
    CHECK_STR(state(m, "b"), "written");
    CHECK_STR(state(m, "c"), "written");
    json_decref(m);

    m = J(text);
    import_moves_settle(m, pruned, false);
    CHECK_STR(state(m, "c"), "written");
    json_decref(m);
    json_decref(pruned);
}

/* A holder that keeps the value (its snapshot has it too, in another case)
 * is no move: the one waiting on it is kept. */
static void test_holder_that_keeps_the_value(void)
{
    json_t *m = J("{\"a\":{\"state\":\"deferred\",\"releases\":{},"
                  "\"conflicts\":[{\"holder\":\"b\",\"kind\":\"email\",\"key\":\"x\"}]},"
                  "\"b\":{\"state\":\"written\",\"releases\":{\"username\":\"x\"}}}");

    import_moves_settle(m, NULL, false);
    CHECK_STR(state(m, "a"), "kept");
    json_decref(m);
}

/* A mover with two conflicts: one a move, the other a squatter that is no
 * mover: kept (skip), unless the squatter is pruned. */
static void test_every_conflict_counts(void)
{
    static const char text[] = "{\"a\":{\"state\":\"deferred\",\"releases\":{},\"conflicts\":["
                               "{\"holder\":\"b\",\"kind\":\"email\",\"key\":\"x\"},"
                               "{\"holder\":\"s\",\"kind\":\"username\",\"key\":\"u\"}]},"
                               "\"b\":{\"state\":\"written\",\"releases\":{\"email\":\"x\"}}}";
    json_t *m = J(text), *pruned = J("{\"s\":true}");

    import_moves_settle(m, NULL, false);
    CHECK_STR(state(m, "a"), "kept");
    json_decref(m);
    m = J(text);
    import_moves_settle(m, pruned, false);
    CHECK_STR(state(m, "a"), "written");
    json_decref(m);
    json_decref(pruned);
}

int main(void)
{
    RUN(test_frees);
    RUN(test_swap_is_written);
    RUN(test_chain_blocked_by_a_squatter);
    RUN(test_holder_that_keeps_the_value);
    RUN(test_every_conflict_counts);
    return harness_done();
}
