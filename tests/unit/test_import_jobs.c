/*
 * Unit tests for the bulk import jobs' decisions (import/import_sched.c)
 * and the cutting of records into bodies per connection
 * (import/import_chunks.c): no network, no clock, no sleeping; every time
 * is a number passed in.
 */
#include "harness.h"
#include "import_chunks.h"
#include "import_sched.h"
#include "multipart.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static struct import_sched sched_with(int64_t first, int64_t max, int64_t est)
{
    struct import_poll_config pc = {first, max};
    struct import_sched s;

    import_sched_init(&s, &pc);
    s.est_job_ms = est;
    return s;
}

static void test_two_in_flight(void)
{
    CHECK(import_sched_slot_free(0));
    CHECK(import_sched_slot_free(1));
    CHECK(!import_sched_slot_free(2));
    CHECK(!import_sched_slot_free(3));
}

static void test_default_poll_config(void)
{
    struct import_poll_config pc;

    import_poll_config_default(&pc);
    CHECK_INT(pc.first_ms, 300);
    CHECK_INT(pc.max_ms, 5000);
}

/* Nothing learned yet: the first poll after the first interval. */
static void test_first_poll_unknown_duration(void)
{
    struct import_sched s = sched_with(300, 5000, 0);
    struct import_sched quick = sched_with(50, 200, 0);
    struct import_job_clock j;

    import_sched_submitted(&s, &j, 10000);
    CHECK_INT(j.submitted_ms, 10000);
    CHECK_INT(j.seen_running_ms, 10000);
    CHECK_INT(j.polls, 0);
    CHECK_INT(j.due_ms, 10300);
    import_sched_submitted(&quick, &j, 10000);
    CHECK_INT(j.due_ms, 10050);
}

/* A learned duration: the first poll when the job should have ended (+5%). */
static void test_first_poll_learned_duration(void)
{
    struct import_sched s = sched_with(300, 5000, 2000);
    struct import_job_clock j;

    import_sched_submitted(&s, &j, 1000);
    CHECK_INT(j.due_ms, 1000 + 2100);
}

/* Later polls: from the first interval (or a quarter of the duration),
 * growing by half each time, capped at the longest interval. */
static void test_polls_grow_and_cap(void)
{
    struct import_sched s = sched_with(300, 5000, 0);
    struct import_sched slow = sched_with(300, 5000, 8000);
    struct import_sched capped = sched_with(100, 400, 0);
    static const int64_t steps[] = {300, 450, 675, 1012, 1518, 2277, 3415, 5000, 5000};
    struct import_job_clock j;
    int64_t now = 0;

    import_sched_submitted(&s, &j, now);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        now = j.due_ms;
        import_sched_running(&s, &j, now);
        CHECK_INT(j.polls, (int)i + 1);
        CHECK_INT(j.seen_running_ms, now);
        CHECK_INT(j.due_ms - now, steps[i]);
    }
    import_sched_submitted(&slow, &j, 0);
    CHECK_INT(j.due_ms, 8400);
    import_sched_running(&slow, &j, 8400);
    CHECK_INT(j.due_ms, 8400 + 2000);
    import_sched_running(&slow, &j, 10400);
    CHECK_INT(j.due_ms, 10400 + 3000);
    import_sched_running(&slow, &j, 13400);
    CHECK_INT(j.due_ms, 13400 + 4500);
    import_sched_running(&slow, &j, 17900);
    CHECK_INT(j.due_ms, 17900 + 5000);
    import_sched_submitted(&capped, &j, 0);
    CHECK_INT(j.due_ms, 100);
    for (int i = 0; i < 6; i++)
        import_sched_running(&capped, &j, 1000);
    CHECK_INT(j.due_ms, 1400);
}

/* The estimate: the middle of the last running poll and the poll that saw
 * the end, then a running average (3/4 old, 1/4 new). */
static void test_learned_duration(void)
{
    struct import_sched s = sched_with(300, 5000, 0);
    struct import_job_clock j;

    import_sched_submitted(&s, &j, 0);
    import_sched_running(&s, &j, 1000);
    import_sched_ended(&s, &j, 2000);
    CHECK_INT(s.est_job_ms, 1500);
    import_sched_submitted(&s, &j, 5000);
    import_sched_ended(&s, &j, 6000); /* never seen running: (5000 + 6000) / 2 */
    CHECK_INT(s.est_job_ms, (1500 * 3 + 500) / 4);
    s.est_job_ms = 0;
    import_sched_submitted(&s, &j, 100);
    import_sched_ended(&s, &j, 100);
    CHECK_INT(s.est_job_ms, 1); /* never 0: 0 means unknown */
}

static void test_pick_first_due(void)
{
    struct import_job_clock a = {0, 0, 500, 0}, b = {0, 0, 300, 0}, c = {0, 0, 300, 0};
    const struct import_job_clock *two[] = {&a, &b}, *tie[] = {&b, &c}, *one[] = {&a};
    int64_t wait = -1;

    CHECK_INT(import_sched_pick(two, 2, 100, &wait), 1);
    CHECK_INT(wait, 200);
    CHECK_INT(import_sched_pick(two, 2, 400, &wait), 1);
    CHECK_INT(wait, 0);
    CHECK_INT(import_sched_pick(tie, 2, 0, &wait), 0);
    CHECK_INT(import_sched_pick(one, 1, 700, &wait), 0);
    CHECK_INT(wait, 0);
}

static void test_job_ended(void)
{
    CHECK(import_job_ended("completed"));
    CHECK(import_job_ended("failed"));
    CHECK(import_job_ended("expired"));
    CHECK(!import_job_ended("pending"));
    CHECK(!import_job_ended("processing"));
    CHECK(!import_job_ended(NULL));
}

static enum import_job_verdict verdict(const char *job, int generation, size_t users)
{
    json_t *j = json_loads(job, 0, NULL);
    enum import_job_verdict v = import_job_verdict(j, generation, users);

    json_decref(j);
    return v;
}

/* A job failed as a whole is split once; its halves are not split again. */
static void test_verdicts(void)
{
    CHECK_INT(verdict("{\"status\":\"completed\",\"summary\":{\"failed\":0}}", 0, 10),
              IMPORT_JOB_DONE);
    CHECK_INT(verdict("{\"status\":\"completed\"}", 1, 10), IMPORT_JOB_DONE);
    CHECK_INT(verdict("{\"status\":\"completed\",\"summary\":{\"failed\":2}}", 0, 10),
              IMPORT_JOB_SOME_FAILED);
    CHECK_INT(verdict("{\"status\":\"failed\"}", 0, 10), IMPORT_JOB_SPLIT);
    CHECK_INT(verdict("{\"status\":\"expired\"}", 0, 2), IMPORT_JOB_SPLIT);
    CHECK_INT(verdict("{\"status\":\"failed\"}", 1, 10), IMPORT_JOB_FAILED);
    CHECK_INT(verdict("{\"status\":\"failed\"}", 0, 1), IMPORT_JOB_FAILED);
}

static void test_halves(void)
{
    int n0 = 0, n1 = 0;

    for (size_t i = 0; i < 5; i++)
        *(import_job_half(i, 5) == 0 ? &n0 : &n1) += 1;
    CHECK_INT(n0, 2);
    CHECK_INT(n1, 3);
    CHECK_INT(import_job_half(0, 2), 0);
    CHECK_INT(import_job_half(1, 2), 1);
    CHECK_INT(import_job_half(1, 5), 0);
    CHECK_INT(import_job_half(2, 5), 1);
}

/* The three shapes of GET /jobs/{id}/errors. */
static void test_error_shapes(void)
{
    json_t *array = json_loads("[{\"user\":{\"email\":\"a@x\"},\"errors\":[]}]", 0, NULL);
    json_t *job = json_loads("{\"status\":\"failed\",\"id\":\"job_1\"}", 0, NULL);

    CHECK(!import_job_errors_whole(array));
    CHECK(import_job_errors_whole(job));
    CHECK(import_job_errors_whole(NULL)); /* 204: no body */
    json_decref(array);
    json_decref(job);
}

static long user_of(const char *item, const struct import_job_user *users, size_t n)
{
    json_t *j = json_loads(item, 0, NULL);
    long k = import_job_error_user(j, users, n);

    json_decref(j);
    return k;
}

static void test_errors_to_users(void)
{
    char u0[] = "auth0|abc", e0[] = "a@example.com", u1[] = "auth0|def", e1[] = "b@example.com";
    struct import_job_user users[] = {{u0, e0, NULL, NULL}, {u1, e1, NULL, NULL}};
    json_t *item;
    char reason[600];

    CHECK_INT(user_of("{\"user\":{\"user_id\":\"auth0|def\"}}", users, 2), 1);
    CHECK_INT(user_of("{\"user\":{\"user_id\":\"abc\"}}", users, 2), 0); /* without "auth0|" */
    CHECK_INT(user_of("{\"user\":{\"email\":\"B@Example.COM\"}}", users, 2), 1);
    CHECK_INT(user_of("{\"user\":{\"user_id\":\"zzz\",\"email\":\"a@example.com\"}}", users, 2), 0);
    CHECK_INT(user_of("{\"user\":{\"user_id\":\"zzz\",\"email\":\"c@example.com\"}}", users, 2),
              -1);
    CHECK_INT(user_of("{\"errors\":[]}", users, 2), -1);

    item = json_loads("{\"user\":{},\"errors\":[{\"code\":\"DUPLICATED_USER\",\"message\":\"The "
                      "user already exists.\"},{\"code\":\"OTHER\"}]}",
                      0, NULL);
    import_job_error_reason(item, "job_9", reason, sizeof(reason));
    CHECK_STR(reason, "import job 'job_9': DUPLICATED_USER: The user already exists.");
    json_decref(item);
    item = json_loads("{\"user\":{}}", 0, NULL);
    import_job_error_reason(item, "job_9", reason, sizeof(reason));
    CHECK_STR(reason, "import job 'job_9': ERROR: no message");
    json_decref(item);
}

/* --- import_chunks ------------------------------------------------------ */

struct seen {
    char ext[16][64];
    size_t conn[16], records[16], len[16];
    size_t n;
    size_t max_body;
    bool fail; /* the body callback fails */
};

static const char *conn_id(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "db") == 0)
        return "con_db0000000000";
    if (strcmp(name, "nowhere") == 0)
        return NULL;
    return "con_other0000000";
}

static int on_body(void *ctx, struct import_body *b, struct err *e)
{
    struct seen *s = ctx;

    if (s->n < 16) {
        snprintf(s->ext[s->n], sizeof(s->ext[0]), "%s", b->external_id);
        s->conn[s->n] = b->conn;
        s->records[s->n] = b->records;
        s->len[s->n] = b->len;
        s->n++;
    }
    CHECK(b->len == strlen(b->body));
    CHECK(strstr(b->content_type, "multipart/form-data; boundary=") == b->content_type);
    import_body_release(b);
    return s->fail ? err_set(e, ERR_API, "the job was refused") : 0;
}

static char *record(size_t len)
{
    char *r = malloc(len + 1);

    memset(r, 'x', len);
    memcpy(r, "{\"a\":\"", 6);
    memcpy(r + len - 2, "\"}", 2);
    r[len] = '\0';
    return r;
}

/* Records of two connections go to bodies of their own, each body under
 * the maximum; a full body goes out before the record that did not fit. */
static void test_chunks_per_connection(void)
{
    struct import_chunks *ch = NULL;
    struct seen s;
    struct err e;
    char *r = record(1500);
    size_t k = 99;

    memset(&s, 0, sizeof(s));
    err_clear(&e);
    CHECK_INT(import_chunks_new(&ch, "a0snap-t", 4096, conn_id, on_body, &s, &e), 0);
    CHECK_INT(import_chunks_add(ch, "db", r, strlen(r), &k, &e), 0);
    CHECK_INT(k, 0);
    CHECK_INT(import_chunks_add(ch, "other", r, strlen(r), &k, &e), 0);
    CHECK_INT(k, 1);
    CHECK_INT(import_chunks_add(ch, "db", r, strlen(r), &k, &e), 0);
    CHECK_INT(s.n, 0);
    /* a third record of db does not fit: db's body goes first */
    CHECK_INT(import_chunks_add(ch, "db", r, strlen(r), &k, &e), 0);
    CHECK_INT(k, 0);
    CHECK_INT(s.n, 1);
    CHECK_STR(s.ext[0], "a0snap-t-1-1");
    CHECK_INT(s.conn[0], 0);
    CHECK_INT(s.records[0], 2);
    CHECK(s.len[0] <= 4096);
    CHECK_INT(import_chunks_connections(ch), 2);
    CHECK_STR(import_chunks_name(ch, 1), "other");
    CHECK_STR(import_chunks_conn_id(ch, 0), "con_db0000000000");
    CHECK(import_chunks_name(ch, 2) == NULL);
    CHECK_INT(import_chunks_flush(ch, &e), 0);
    CHECK_INT(s.n, 3);
    CHECK_STR(s.ext[1], "a0snap-t-1-2"); /* db's second body */
    CHECK_INT(s.records[1], 1);
    CHECK_STR(s.ext[2], "a0snap-t-2-1");
    CHECK_INT(s.conn[2], 1);
    CHECK_INT(import_chunks_flush(ch, &e), 0); /* nothing left */
    CHECK_INT(s.n, 3);
    import_chunks_free(ch);
    free(r);
}

/* A record too big for any body is refused, and nothing else changes. */
static void test_chunks_refuse_too_big(void)
{
    struct import_chunks *ch = NULL;
    struct seen s;
    struct err e;
    char *big = record(5000), *small = record(100);
    size_t k = 99;

    memset(&s, 0, sizeof(s));
    err_clear(&e);
    CHECK_INT(import_chunks_new(&ch, "p", 4096, conn_id, on_body, &s, &e), 0);
    CHECK_INT(import_chunks_add(ch, "db", small, strlen(small), &k, &e), 0);
    CHECK_INT(import_chunks_add(ch, "db", big, strlen(big), &k, &e), 1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "cannot fit in an import body of at most 4096 bytes") != NULL);
    CHECK_INT(s.n, 0);
    err_clear(&e);
    CHECK_INT(import_chunks_flush(ch, &e), 0);
    CHECK_INT(s.n, 1);
    CHECK_INT(s.records[0], 1);
    import_chunks_free(ch);
    free(big);
    free(small);
}

static void test_chunks_failures(void)
{
    struct import_chunks *ch = NULL;
    struct seen s;
    struct err e;
    char *r = record(3000), name[32];
    size_t k;

    memset(&s, 0, sizeof(s));
    err_clear(&e);
    CHECK_INT(import_chunks_new(&ch, "p", 4096, conn_id, on_body, &s, &e), 0);
    CHECK_INT(import_chunks_add(ch, "nowhere", r, strlen(r), &k, &e), -1);
    CHECK_INT(e.code, ERR_INTERNAL);
    CHECK_STR(e.msg, "no id for target connection 'nowhere'");
    for (int i = 0; i < IMPORT_MAX_CONNECTIONS; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        CHECK_INT(import_chunks_add(ch, name, r, strlen(r), &k, &e), 0);
    }
    err_clear(&e);
    CHECK_INT(import_chunks_add(ch, "one-too-many", r, strlen(r), &k, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK_STR(e.msg, "more than 16 target connections in one import");
    /* the body callback's failure stops the add that handed the body out */
    s.fail = true;
    err_clear(&e);
    CHECK_INT(import_chunks_add(ch, "c0", r, strlen(r), &k, &e), -1);
    CHECK_STR(e.msg, "the job was refused");
    import_chunks_free(ch);
    free(r);
}

int main(void)
{
    RUN(test_two_in_flight);
    RUN(test_default_poll_config);
    RUN(test_first_poll_unknown_duration);
    RUN(test_first_poll_learned_duration);
    RUN(test_polls_grow_and_cap);
    RUN(test_learned_duration);
    RUN(test_pick_first_due);
    RUN(test_job_ended);
    RUN(test_verdicts);
    RUN(test_halves);
    RUN(test_error_shapes);
    RUN(test_errors_to_users);
    RUN(test_chunks_per_connection);
    RUN(test_chunks_refuse_too_big);
    RUN(test_chunks_failures);
    return harness_done();
}
