/* Unit tests against recorded real Auth0 traffic: the client's own parsing
 * code is fed every recorded answer of the wire suite (tests/wire/fixtures,
 * see its README) and must accept it and read from it what Auth0 meant:
 *
 *   - every list page (checkpoint or offset): tenant_page_step() finds the
 *     items the page holds and says whether (and from where) to go on, the
 *     way the page's own `next` and size say, never stopping on `total`;
 *   - every error answer: api_error_set() keeps the status, Auth0's message
 *     and errorCode, and classifies it (auth, scope, API);
 *   - every job answer: dump_job_read() reads its id and status, a failed
 *     job with or without status_details, a completed one's location;
 *   - every user answer: the connection and the kind (database,
 *     passwordless, social, enterprise) of its primary identity.
 *
 * A fixture that no check reads, or a list answer no rule knows, fails the
 * test: new recordings must be looked at, not passed over. */
#include "api_error.h"
#include "dump_internal.h"
#include "harness.h"
#include "tenant.h"
#include "userconv.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef A0SNAP_WIRE_FIXTURES
#error "A0SNAP_WIRE_FIXTURES must name tests/wire/fixtures (tests/CMakeLists.txt)"
#endif

struct counts {
    int files, pages, errors, jobs, users;
};

static struct counts seen;

/* The value of query parameter key, or NULL. */
static const char *query_value(json_t *x, const char *key)
{
    json_t *q = json_object_get(x, "query"), *pair;
    size_t i;

    json_array_foreach(q, i, pair)
    {
        if (strcmp(json_string_value(json_array_get(pair, 0)), key) == 0)
            return json_string_value(json_array_get(pair, 1));
    }
    return NULL;
}

/* Path segment n (0-based, after the leading '/'), copied into out. */
static const char *segment(const char *path, int n, char *out, size_t outlen)
{
    const char *p = path + 1, *end;

    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '/');
        p = p ? p + 1 : NULL;
    }
    if (!p) {
        out[0] = '\0';
        return out;
    }
    end = strchr(p, '/');
    snprintf(out, outlen, "%.*s", (int)(end ? (size_t)(end - p) : strlen(p)), p);
    return out;
}

static int count_segments(const char *path)
{
    int n = 0;

    for (const char *p = path; *p; p++)
        n += *p == '/';
    return n;
}

/* The array key of a list answer of path, as the client names it, or NULL
 * when the path is not a list. */
static const char *list_key(const char *method, const char *path)
{
    char s0[64], s2[64], s4[64];
    int n = count_segments(path);

    if (strcmp(method, "GET") != 0)
        return NULL;
    segment(path, 0, s0, sizeof(s0));
    segment(path, 2, s2, sizeof(s2));
    segment(path, 4, s4, sizeof(s4));
    if (n == 1) {
        static const char *const lists[] = {"users", "roles", "organizations", "connections"};
        for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++)
            if (!strcmp(s0, lists[i]))
                return lists[i]; /* a literal: s0 lives on this stack */
    }
    if (n == 1 && !strcmp(s0, "users-by-email"))
        return "users"; /* a bare array */
    if (n == 3 && !strcmp(s0, "users"))
        return !strcmp(s2, "roles") || !strcmp(s2, "organizations") || !strcmp(s2, "permissions")
                   ? s2[0] == 'r'   ? "roles"
                     : s2[0] == 'o' ? "organizations"
                                    : "permissions"
                   : NULL;
    if (n == 3 && !strcmp(s0, "roles") && !strcmp(s2, "users"))
        return "users";
    if (n == 3 && !strcmp(s0, "organizations") && !strcmp(s2, "members"))
        return "members";
    if (n == 5 && !strcmp(s0, "organizations") && !strcmp(s2, "members") && !strcmp(s4, "roles"))
        return "roles";
    if (n == 5 && !strcmp(s0, "organizations") && !strcmp(s2, "roles") && !strcmp(s4, "members"))
        return "members";
    return NULL;
}

static void check_page(const char *where, json_t *x, const char *key)
{
    int failed_before = harness_cur_failed;
    json_t *body = json_object_get(x, "response_body");
    json_t *items = json_is_array(body) ? body : json_object_get(body, key);
    const char *take = query_value(x, "take"), *per_page = query_value(x, "per_page");
    const char *next = json_string_value(json_object_get(body, "next"));
    enum tenant_paging kind = take ? TENANT_PAGING_CHECKPOINT : TENANT_PAGING_OFFSET;
    size_t size = (size_t)atol(take ? take : per_page ? per_page : "50");
    struct tenant_page step;
    struct err e;

    err_clear(&e);
    seen.pages++;
    if (tenant_page_step(body, key, kind, size, &step, &e) < 0) {
        fprintf(stderr, "%s: page refused: %s\n", where, e.msg);
        CHECK(!"a recorded page is accepted");
        return;
    }
    CHECK(step.items == items);
    CHECK_INT(json_array_size(step.items), json_array_size(items));
    if (kind == TENANT_PAGING_CHECKPOINT) {
        /* On while the page names a next checkpoint and holds items. */
        CHECK_INT(step.more, next && *next && json_array_size(items) > 0);
        if (step.more)
            CHECK_STR(step.next, next);
    } else {
        /* On after a full page only, whatever `total` says. */
        CHECK_INT(step.more, json_array_size(items) >= size);
    }
    if (harness_cur_failed > failed_before)
        fprintf(stderr, "  in %s\n", where);
}

static void check_error(const char *where, json_t *x, long status)
{
    int failed_before = harness_cur_failed;
    json_t *body = json_object_get(x, "response_body");
    const char *message = json_string_value(json_object_get(body, "message"));
    const char *code = json_string_value(json_object_get(body, "errorCode"));
    char *text = json_dumps(body, JSON_COMPACT);
    char head[64];
    struct err e;

    err_clear(&e);
    seen.errors++;
    CHECK_INT(api_error_set(&e, json_string_value(json_object_get(x, "method")),
                            json_string_value(json_object_get(x, "path")), status, text,
                            text ? strlen(text) : 0),
              -1);
    CHECK_INT(e.http_status, status);
    /* Auth0's words reach the user (their start: long ones may be cut). */
    snprintf(head, sizeof(head), "%.40s", message ? message : "");
    CHECK(message && strstr(e.msg, head));
    if (code)
        CHECK(strstr(e.msg, code) != NULL);
    CHECK_INT(e.code, status == 401                                                  ? ERR_AUTH
                      : status == 403 && code && !strcmp(code, "insufficient_scope") ? ERR_SCOPE
                                                                                     : ERR_API);
    if (harness_cur_failed > failed_before)
        fprintf(stderr, "  in %s: %s\n", where, e.msg);
    free(text);
}

static void check_job(const char *where, json_t *x)
{
    int failed_before = harness_cur_failed;
    json_t *body = json_object_get(x, "response_body");
    const char *status = json_string_value(json_object_get(body, "status"));
    struct dump_job_view v;
    struct err e;

    err_clear(&e);
    seen.jobs++;
    CHECK_INT(dump_job_read(body, &v, &e), 0);
    CHECK_STR(v.id, json_string_value(json_object_get(body, "id")));
    CHECK_STR(v.status, status);
    CHECK_INT(v.state, !strcmp(status, "completed") ? DUMP_JOB_COMPLETED
                       : !strcmp(status, "failed")  ? DUMP_JOB_FAILED
                                                    : DUMP_JOB_RUNNING);
    CHECK((v.details != NULL) == json_is_string(json_object_get(body, "status_details")));
    /* A completed export job says where its file is. */
    if (v.state == DUMP_JOB_COMPLETED &&
        !strcmp(json_string_value(json_object_get(body, "type")), "users_export"))
        CHECK(v.location != NULL);
    if (harness_cur_failed > failed_before)
        fprintf(stderr, "  in %s\n", where);
}

static void check_user(const char *where, json_t *user)
{
    int failed_before = harness_cur_failed;
    json_t *primary = json_array_get(json_object_get(user, "identities"), 0);
    const char *conn = json_string_value(json_object_get(primary, "connection"));
    const char *provider = json_string_value(json_object_get(primary, "provider"));
    enum userconv_kind kind = userconv_user_kind(user);

    seen.users++;
    CHECK_STR(userconv_user_connection(user), conn);
    if (!strcmp(provider, "auth0"))
        CHECK_INT(kind, USERCONV_DATABASE);
    else if (!strcmp(provider, "email") || !strcmp(provider, "sms"))
        CHECK_INT(kind, USERCONV_PASSWORDLESS);
    else
        CHECK(kind == USERCONV_SOCIAL || kind == USERCONV_ENTERPRISE);
    if (harness_cur_failed > failed_before)
        fprintf(stderr, "  in %s (%s)\n", where, conn ? conn : "no connection");
}

static bool is_user(json_t *v)
{
    return json_is_object(v) && json_is_string(json_object_get(v, "user_id")) &&
           json_is_array(json_object_get(v, "identities"));
}

static void check_exchange(const char *file, json_t *x)
{
    const char *method = json_string_value(json_object_get(x, "method"));
    const char *path = json_string_value(json_object_get(x, "path"));
    long status = (long)json_integer_value(json_object_get(x, "status"));
    json_t *body = json_object_get(x, "response_body"), *item;
    const char *key = list_key(method, path);
    char where[512];
    size_t i;

    snprintf(where, sizeof(where), "%s #%lld %s %s", file,
             json_integer_value(json_object_get(x, "interaction")), method, path);
    if (status >= 400) {
        check_error(where, x, status);
        return;
    }
    if (strncmp(path, "/jobs/", 6) == 0 && json_is_object(body) &&
        json_object_get(body, "status")) {
        check_job(where, x);
        return;
    }
    if (key && (json_is_array(body) || json_is_object(body))) {
        check_page(where, x, key);
        json_t *items = json_is_array(body) ? body : json_object_get(body, key);
        json_array_foreach(items, i, item)
        {
            if (is_user(item))
                check_user(where, item);
        }
        return;
    }
    if (is_user(body))
        check_user(where, body);
}

static void check_fixture(const char *dir, const char *name)
{
    char path[1024];
    json_error_t jerr;
    json_t *doc, *x;
    size_t i;
    int checked = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    doc = json_load_file(path, 0, &jerr);
    CHECK(doc != NULL);
    if (!doc) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return;
    }
    seen.files++;
    json_array_foreach(json_object_get(doc, "exchanges"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "use")), "check") != 0)
            continue;
        check_exchange(name, x);
        checked++;
    }
    if (checked == 0)
        fprintf(stderr, "%s: no exchange to check\n", name);
    CHECK(checked > 0);
    json_decref(doc);
}

static void test_recorded_answers(void)
{
    DIR *d = opendir(A0SNAP_WIRE_FIXTURES);
    struct dirent *de;

    CHECK(d != NULL);
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
            check_fixture(A0SNAP_WIRE_FIXTURES, de->d_name);
    }
    closedir(d);
    printf("recorded answers read: %d files, %d pages, %d errors, %d jobs, %d users\n", seen.files,
           seen.pages, seen.errors, seen.jobs, seen.users);
    /* The suite holds all of these kinds; a parser that saw none of one
     * kind was not tested. */
    CHECK(seen.files >= 30);
    CHECK(seen.pages >= 100);
    CHECK(seen.errors >= 3);
    CHECK(seen.jobs >= 4);
    CHECK(seen.users >= 50);
}

/* The recorded quirks, pinned on their own so a regression names them. */
static void test_recorded_quirks(void)
{
    struct tenant_page step;
    struct err e;
    /* 2026: total 0 beside a full page of organizations (offset). */
    json_t *zero = json_loads("{\"organizations\":[{\"id\":\"org_1\"},{\"id\":\"org_2\"}],"
                              "\"start\":0,\"limit\":2,\"total\":0}",
                              0, NULL);
    /* 2026: a part-filled last checkpoint page without next. */
    json_t *last = json_loads("{\"members\":[{\"user_id\":\"auth0|1\"}]}", 0, NULL);
    /* older: a full page with next, then an empty page without it. */
    json_t *full =
        json_loads("{\"members\":[{\"user_id\":\"auth0|1\"}],\"next\":\"MjA=\"}", 0, NULL);
    json_t *empty = json_loads("{\"members\":[]}", 0, NULL);
    json_t *failed =
        json_loads("{\"type\":\"users_export\",\"status\":\"failed\",\"id\":\"job_1\"}", 0, NULL);
    const char *not_found = "{\"statusCode\":404,\"error\":\"Not Found\",\"message\":\"No "
                            "organization found by that id or name\"}";
    struct dump_job_view v;

    err_clear(&e);
    CHECK_INT(tenant_page_step(zero, "organizations", TENANT_PAGING_OFFSET, 2, &step, &e), 0);
    CHECK(step.more); /* a full page: ask for the next one, total or not */
    CHECK_INT(tenant_page_step(last, "members", TENANT_PAGING_CHECKPOINT, 50, &step, &e), 0);
    CHECK(!step.more);
    CHECK_INT(tenant_page_step(full, "members", TENANT_PAGING_CHECKPOINT, 1, &step, &e), 0);
    CHECK(step.more);
    CHECK_STR(step.next, "MjA=");
    CHECK_INT(tenant_page_step(empty, "members", TENANT_PAGING_CHECKPOINT, 1, &step, &e), 0);
    CHECK(!step.more);
    CHECK_INT(dump_job_read(failed, &v, &e), 0);
    CHECK_INT(v.state, DUMP_JOB_FAILED);
    CHECK(v.details == NULL);
    /* "No organization found by that id or name" without errorCode */
    CHECK_INT(api_error_set(&e, "GET", "/organizations/org_x", 404, not_found, strlen(not_found)),
              -1);
    CHECK_INT(e.http_status, 404);
    CHECK(strstr(e.msg, "No organization found by that id or name") != NULL);
    json_decref(zero);
    json_decref(last);
    json_decref(full);
    json_decref(empty);
    json_decref(failed);
}

int main(void)
{
    RUN(test_recorded_answers);
    RUN(test_recorded_quirks);
    return harness_done();
}
