/*
 * Unit tests for the batching of role and membership changes
 * (import/import_grant_queue.c): what calls come out, in what order and
 * batches, for the grant items put in; no network (the calls are only
 * looked at), sorts in a temp folder.
 */
#include "harness.h"
#include "import_grant_queue.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

struct hooks_seen {
    json_t *failed; /* uid -> true */
    size_t windows, last_items;
};

static bool failed(void *ctx, const char *uid)
{
    struct hooks_seen *h = ctx;

    return json_object_get(h->failed, uid) != NULL;
}

static void window(void *ctx, size_t n, size_t items)
{
    struct hooks_seen *h = ctx;

    h->windows = n;
    h->last_items = items;
}

static struct grant_queue *queue(struct hooks_seen *h)
{
    struct grant_queue_hooks hooks = {failed, window, h};
    struct grant_queue *q = NULL;
    struct err e;

    memset(h, 0, sizeof(*h));
    h->failed = json_object();
    err_clear(&e);
    CHECK_INT(grant_queue_new(&q, tmpdir, 1 << 20, &hooks, &e), 0);
    return q;
}

static void done(struct grant_queue *q, struct hooks_seen *h)
{
    grant_queue_free(q);
    json_decref(h->failed);
}

/* Adds the items (JSON text) of uid. */
static void add(struct grant_queue *q, const char *uid, const char *items)
{
    json_t *j = json_loads(items, 0, NULL);
    struct err e;

    err_clear(&e);
    CHECK(j != NULL);
    CHECK_INT(grant_queue_add(q, uid, j, &e), 0);
    json_decref(j);
}

/* The next call as text: "KIND id [uids]" for batches, "KIND id uid ops"
 * (plus " left out") for per-user calls, "" when nothing is ready. */
static const char *next(struct grant_queue *q, char *out, size_t len)
{
    static const char *const kinds[] = {"role+", "role-", "member+", "member-roles", "member-"};
    struct grant_call call;
    struct err e;
    int r;

    err_clear(&e);
    r = grant_queue_next(q, &call, &e);
    CHECK(r >= 0);
    if (r <= 0) {
        out[0] = '\0';
        return out;
    }
    if (call.uids) {
        char *u = json_dumps(call.uids, JSON_COMPACT);
        snprintf(out, len, "%s %s %s", kinds[call.kind], call.id, u);
        free(u);
    } else {
        snprintf(out, len, "%s %s %s %.*s%s", kinds[call.kind], call.id, call.uid,
                 (int)call.ops_len, call.ops, call.left_out ? " left out" : "");
    }
    return out;
}

/* A uid of four digits, so that sorted order is numeric order. */
static const char *uid_n(char *buf, int i)
{
    snprintf(buf, 32, "auth0|u%04d", i);
    return buf;
}

/* Roles added go in batches per role, at most GRANT_BATCH users each. */
static void test_roles_added_in_batches(void)
{
    struct hooks_seen h;
    struct grant_queue *q = queue(&h);
    char out[8192], uid[32];
    json_t *batch;

    for (int i = 0; i < 250; i++)
        add(q, uid_n(uid, i), "[[\"R\",\"rol_A\"]]");
    add(q, "auth0|x", "[[\"R\",\"rol_B\"],[\"R\",\"rol_A\"]]");
    grant_queue_final(q);
    for (int b = 0; b < 3; b++) {
        struct grant_call call;
        struct err e;
        err_clear(&e);
        CHECK_INT(grant_queue_next(q, &call, &e), 1);
        CHECK_INT(call.kind, GRANT_ROLE_ADD);
        CHECK_STR(call.id, "rol_A");
        batch = call.uids;
        CHECK_INT(json_array_size(batch), b < 2 ? 100 : 51);
        if (b == 0)
            CHECK_STR(json_string_value(json_array_get(batch, 0)), "auth0|u0000");
        if (b == 2)
            CHECK_STR(json_string_value(json_array_get(batch, 50)), "auth0|x");
    }
    CHECK_STR(next(q, out, sizeof(out)), "role+ rol_B [\"auth0|x\"]");
    CHECK_STR(next(q, out, sizeof(out)), "");
    CHECK_INT(h.windows, 1);
    CHECK_INT(h.last_items, 252);
    done(q, &h);
}

/* Every kind, in the order that works: a member's roles after its
 * membership, removals per user, member removals batched per
 * organization. */
static void test_kinds_in_order(void)
{
    struct hooks_seen h;
    struct grant_queue *q = queue(&h);
    char out[2048];

    add(q, "auth0|a",
        "[[\"o\",\"org_Z\"],[\"M\",\"org_Y\",{\"add\":[\"rol_M\"],\"remove\":[]}],"
        "[\"O\",\"org_Y\"],[\"r\",[\"rol_C\",\"rol_D\"]],[\"R\",\"rol_A\"]]");
    add(q, "auth0|b", "[[\"O\",\"org_Y\"],[\"O\",\"org_X\"],[\"o\",\"org_Z\"]]");
    grant_queue_final(q);
    CHECK_STR(next(q, out, sizeof(out)), "role+ rol_A [\"auth0|a\"]");
    CHECK_STR(next(q, out, sizeof(out)), "role-  auth0|a [\"rol_C\",\"rol_D\"]");
    CHECK_STR(next(q, out, sizeof(out)), "member+ org_X [\"auth0|b\"]");
    CHECK_STR(next(q, out, sizeof(out)), "member+ org_Y [\"auth0|a\",\"auth0|b\"]");
    CHECK_STR(next(q, out, sizeof(out)),
              "member-roles org_Y auth0|a {\"add\":[\"rol_M\"],\"remove\":[]}");
    CHECK_STR(next(q, out, sizeof(out)), "member- org_Z [\"auth0|a\",\"auth0|b\"]");
    CHECK_STR(next(q, out, sizeof(out)), "");
    done(q, &h);
}

/* Users whose creation failed get nothing: out of the batches, and their
 * per-user calls marked left out. */
static void test_failed_users_left_out(void)
{
    struct hooks_seen h;
    struct grant_queue *q = queue(&h);
    char out[2048];

    add(q, "auth0|ok", "[[\"R\",\"rol_A\"],[\"O\",\"org_Y\"]]");
    add(q, "auth0|bad",
        "[[\"R\",\"rol_A\"],[\"O\",\"org_Y\"],[\"r\",[\"rol_C\"]],"
        "[\"M\",\"org_Y\",{\"add\":[\"rol_M\"],\"remove\":[]}]]");
    add(q, "auth0|bad2", "[[\"O\",\"org_W\"]]");
    json_object_set_new(h.failed, "auth0|bad", json_true());
    json_object_set_new(h.failed, "auth0|bad2", json_true());
    grant_queue_final(q);
    CHECK_STR(next(q, out, sizeof(out)), "role+ rol_A [\"auth0|ok\"]");
    CHECK_STR(next(q, out, sizeof(out)), "role-  auth0|bad [\"rol_C\"] left out");
    CHECK_STR(next(q, out, sizeof(out)), "member+ org_Y [\"auth0|ok\"]");
    CHECK_STR(next(q, out, sizeof(out)),
              "member-roles org_Y auth0|bad {\"add\":[\"rol_M\"],\"remove\":[]} left out");
    CHECK_STR(next(q, out, sizeof(out)), ""); /* org_W: nobody left */
    done(q, &h);
}

/* While jobs run, partial batches wait for more users (and a member's
 * roles wait with the membership); full ones go; at the end everything
 * goes. */
static void test_partial_batches_held(void)
{
    struct hooks_seen h;
    struct grant_queue *q = queue(&h);
    char out[8192], uid[32];
    struct grant_call call;
    struct err e;

    for (int i = 0; i < 3; i++)
        add(q, uid_n(uid, i), "[[\"R\",\"rol_A\"]]");
    add(q, "auth0|m", "[[\"O\",\"org_Y\"],[\"M\",\"org_Y\",{\"add\":[\"rol_M\"],\"remove\":[]}]]");
    CHECK_STR(next(q, out, sizeof(out)), ""); /* all put back */
    CHECK_INT(h.windows, 1);
    CHECK_STR(next(q, out, sizeof(out)), ""); /* nothing new: no new window */
    CHECK_INT(h.windows, 1);
    for (int i = 3; i < 103; i++)
        add(q, uid_n(uid, i), "[[\"R\",\"rol_A\"]]");
    err_clear(&e);
    CHECK_INT(grant_queue_next(q, &call, &e), 1);
    CHECK_INT(h.windows, 2);
    CHECK_INT(call.kind, GRANT_ROLE_ADD);
    CHECK_INT(json_array_size(call.uids), 100);
    CHECK_STR(json_string_value(json_array_get(call.uids, 0)), "auth0|u0000");
    CHECK_STR(next(q, out, sizeof(out)), ""); /* the other 3, and the member, put back */
    grant_queue_final(q);
    CHECK_STR(next(q, out, sizeof(out)),
              "role+ rol_A [\"auth0|u0100\",\"auth0|u0101\",\"auth0|u0102\"]");
    CHECK_STR(next(q, out, sizeof(out)), "member+ org_Y [\"auth0|m\"]");
    CHECK_STR(next(q, out, sizeof(out)),
              "member-roles org_Y auth0|m {\"add\":[\"rol_M\"],\"remove\":[]}");
    CHECK_STR(next(q, out, sizeof(out)), "");
    CHECK_INT(h.windows, 3);
    done(q, &h);
}

static void test_bad_items(void)
{
    struct hooks_seen h;
    struct grant_queue *q = queue(&h);
    json_t *items = json_loads("[[\"X\",\"what\"]]", 0, NULL);
    json_t *no_id = json_loads("[[\"R\",5]]", 0, NULL);
    struct err e;

    err_clear(&e);
    CHECK_INT(grant_queue_add(q, "auth0|a", items, &e), -1);
    CHECK_STR(e.msg, "unknown grant item 'X'");
    err_clear(&e);
    CHECK_INT(grant_queue_add(q, "auth0|a", no_id, &e), -1);
    CHECK_STR(e.msg, "bad grant item");
    json_decref(items);
    json_decref(no_id);
    done(q, &h);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/a0snap-test-grants-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_roles_added_in_batches);
    RUN(test_kinds_in_order);
    RUN(test_failed_users_left_out);
    RUN(test_partial_batches_held);
    RUN(test_bad_items);
    rmdir(tmpdir);
    return harness_done();
}
