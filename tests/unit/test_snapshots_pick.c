/*
 * Unit tests for snapshots_pick.c: which snapshots prune deletes, with the
 * time as a parameter (no clock, no files): per tenant, the newest N and
 * the younger than DAYS are kept; what does not verify, cannot be dated
 * or cannot be read is never deleted, except damaged files with
 * include_damaged; the created_at parser refuses what is not a real time.
 */
#include "harness.h"
#include "snapshots_pick.h"

#include <string.h>

#define DAY 86400
#define NOW ((int64_t)1796608800) /* 2026-12-07T02:00:00Z */

static struct pick_item item(const char *name, const char *group, int64_t age_s,
                             enum pick_state state)
{
    struct pick_item it;

    memset(&it, 0, sizeof(it));
    it.name = name;
    it.group = group;
    it.dated = true;
    it.created = NOW - age_s;
    it.state = state;
    it.verdict = PICK_KEEP_UNDATED; /* overwritten */
    return it;
}

static int pick(struct pick_item *v, size_t n, long last, long days, bool damaged)
{
    struct pick_rule rule = {last, days, damaged};
    struct err e;

    err_clear(&e);
    return snapshots_pick(v, n, &rule, NOW, &e);
}

static void test_rule_needs_a_bound(void)
{
    struct pick_item v[1] = {item("a", "t", DAY, PICK_INTACT)};
    struct pick_rule rule = {0, 0, false};
    struct err e;

    CHECK_INT(snapshots_pick(v, 1, &rule, NOW, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    rule.keep_last = -1;
    CHECK_INT(snapshots_pick(v, 1, &rule, NOW, &e), -1);
    CHECK_INT(pick(v, 0, 1, 0, false), 0); /* an empty folder is fine */
}

static void test_keep_last_per_tenant(void)
{
    /* given out of order, as a directory listing would */
    struct pick_item v[] = {
        item("a-2", "a.example", 2 * DAY, PICK_INTACT),
        item("b-1", "b.example", 90 * DAY, PICK_INTACT),
        item("a-4", "a.example", 4 * DAY, PICK_INTACT),
        item("a-1", "a.example", 1 * DAY, PICK_INTACT),
        item("a-3", "a.example", 3 * DAY, PICK_INTACT),
    };

    CHECK_INT(pick(v, 5, 2, 0, false), 0);
    CHECK_INT(v[3].verdict, PICK_KEEP_NEWEST); /* a-1 */
    CHECK_INT(v[0].verdict, PICK_KEEP_NEWEST); /* a-2 */
    CHECK_INT(v[4].verdict, PICK_DELETE);      /* a-3 */
    CHECK_INT(v[2].verdict, PICK_DELETE);      /* a-4 */
    CHECK_INT(v[1].verdict, PICK_KEEP_NEWEST); /* b's only one, however old */
    CHECK_STR(snapshots_pick_name(v[2].verdict), "old");
    CHECK(snapshots_pick_deletes(PICK_DELETE) && snapshots_pick_deletes(PICK_DELETE_DAMAGED));
    CHECK(!snapshots_pick_deletes(PICK_KEEP_DAMAGED));
}

static void test_keep_within_days(void)
{
    struct pick_item v[] = {
        item("future", "t", -3600, PICK_INTACT), /* a clock ahead: younger */
        item("6d", "t", 6 * DAY, PICK_INTACT),   item("7d-1s", "t", 7 * DAY - 1, PICK_INTACT),
        item("7d", "t", 7 * DAY, PICK_INTACT),   item("30d", "t", 30 * DAY, PICK_INTACT),
    };

    CHECK_INT(pick(v, 5, 0, 7, false), 0);
    CHECK_INT(v[0].verdict, PICK_KEEP_RECENT);
    CHECK_INT(v[1].verdict, PICK_KEEP_RECENT);
    CHECK_INT(v[2].verdict, PICK_KEEP_RECENT);
    CHECK_INT(v[3].verdict, PICK_DELETE); /* exactly DAYS old is not younger */
    CHECK_INT(v[4].verdict, PICK_DELETE);
}

static void test_both_bounds(void)
{
    struct pick_item v[] = {
        item("1", "t", 40 * DAY, PICK_INTACT), item("2", "t", 50 * DAY, PICK_INTACT),
        item("3", "t", 60 * DAY, PICK_INTACT), item("4", "u", 1 * DAY, PICK_INTACT),
        item("5", "u", 2 * DAY, PICK_INTACT),  item("6", "u", 3 * DAY, PICK_INTACT),
    };

    CHECK_INT(pick(v, 6, 1, 30, false), 0);
    CHECK_INT(v[0].verdict, PICK_KEEP_NEWEST); /* t's newest, though old */
    CHECK_INT(v[1].verdict, PICK_DELETE);
    CHECK_INT(v[2].verdict, PICK_DELETE);
    CHECK_INT(v[3].verdict, PICK_KEEP_NEWEST);
    CHECK_INT(v[4].verdict, PICK_KEEP_RECENT);
    CHECK_INT(v[5].verdict, PICK_KEEP_RECENT);
}

static void test_equal_times_by_name(void)
{
    struct pick_item v[] = {
        item("t-a", "t", DAY, PICK_INTACT),
        item("t-c", "t", DAY, PICK_INTACT),
        item("t-b", "t", DAY, PICK_INTACT),
    };

    CHECK_INT(pick(v, 3, 1, 0, false), 0);
    CHECK_INT(v[1].verdict, PICK_KEEP_NEWEST); /* the last name wins a tie */
    CHECK_INT(v[0].verdict, PICK_DELETE);
    CHECK_INT(v[2].verdict, PICK_DELETE);
}

static void test_what_is_never_deleted(void)
{
    struct pick_item v[] = {
        item("ok-new", "t", 1 * DAY, PICK_INTACT),
        item("damaged", "t", 300 * DAY, PICK_DAMAGED),
        item("locked", "", 300 * DAY, PICK_LOCKED),
        item("unreadable", "", 300 * DAY, PICK_UNREADABLE),
        item("undated", "t", 0, PICK_INTACT),
        item("ok-old", "t", 200 * DAY, PICK_INTACT),
    };

    v[4].dated = false;
    CHECK_INT(pick(v, 6, 1, 0, false), 0);
    CHECK_INT(v[0].verdict, PICK_KEEP_NEWEST);
    CHECK_INT(v[1].verdict, PICK_KEEP_DAMAGED);
    CHECK_INT(v[2].verdict, PICK_KEEP_LOCKED);
    CHECK_INT(v[3].verdict, PICK_KEEP_UNIDENTIFIED);
    CHECK_INT(v[4].verdict, PICK_KEEP_UNDATED);
    /* the undated one does not count among the newest 1 */
    CHECK_INT(v[5].verdict, PICK_DELETE);

    /* include_damaged deletes the damaged one only, whatever its age */
    v[1].created = NOW;
    CHECK_INT(pick(v, 6, 1, 0, true), 0);
    CHECK_INT(v[1].verdict, PICK_DELETE_DAMAGED);
    CHECK_STR(snapshots_pick_name(v[1].verdict), "damaged_deleted");
    CHECK_INT(v[2].verdict, PICK_KEEP_LOCKED);
    CHECK_INT(v[3].verdict, PICK_KEEP_UNIDENTIFIED);
    CHECK_INT(v[4].verdict, PICK_KEEP_UNDATED);
    CHECK_INT(v[0].verdict, PICK_KEEP_NEWEST);
}

static void test_parse_time(void)
{
    int64_t t = -1;
    char out[32];

    CHECK(snapshots_parse_time("1970-01-01T00:00:00Z", &t));
    CHECK_INT(t, 0);
    CHECK(snapshots_parse_time("2000-01-01T00:00:00Z", &t));
    CHECK_INT(t, 946684800);
    CHECK(snapshots_parse_time("2026-12-07T02:00:00Z", &t));
    CHECK_INT(t, NOW);
    CHECK(snapshots_parse_time("2024-02-29T23:59:59Z", &t));
    CHECK(!snapshots_parse_time("2025-02-29T00:00:00Z", &t));
    CHECK(!snapshots_parse_time("2026-13-01T00:00:00Z", &t));
    CHECK(!snapshots_parse_time("2026-04-31T00:00:00Z", &t));
    CHECK(!snapshots_parse_time("2026-12-07T24:00:00Z", &t));
    CHECK(!snapshots_parse_time("2026-12-07 02:00:00Z", &t));
    CHECK(!snapshots_parse_time("2026-12-07T02:00:00", &t));
    CHECK(!snapshots_parse_time("2026-12-07T02:00:00+01:00", &t));
    CHECK(!snapshots_parse_time("+026-12-07T02:00:00Z", &t));
    CHECK(!snapshots_parse_time("", &t));
    CHECK(!snapshots_parse_time(NULL, &t));
    snapshots_format_time(NOW, out, sizeof(out));
    CHECK_STR(out, "2026-12-07T02:00:00Z");
}

int main(void)
{
    RUN(test_rule_needs_a_bound);
    RUN(test_keep_last_per_tenant);
    RUN(test_keep_within_days);
    RUN(test_both_bounds);
    RUN(test_equal_times_by_name);
    RUN(test_what_is_never_deleted);
    RUN(test_parse_time);
    return harness_done();
}
