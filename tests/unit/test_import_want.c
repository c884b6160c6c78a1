/*
 * Unit tests for import/import_want.c: a snapshot user's grants named as
 * in the target, by editing its json_t (import_want_rename) and as text
 * from its canonical parse (import_want_text), which must give the bytes
 * the json_t path dumps, or decline.
 */
#include "buf.h"
#include "canonjson.h"
#include "harness.h"
#include "harness_json.h"
#include "import.h"

#include <stdlib.h>
#include <string.h>

/* source role key -> target role name; source organization -> target */
static const char *const role_map =
    "{\"admin\":\"Admin\",\"viewer\":\"viewer\",\"sales\":\"Sales \\\"t\\\" \\u00e9\\n\","
    "\"\\u001facme\\u001fbilling\":\"billing\",\"\\u001facme\\u001fadmin\":\"acme-admin\"}";
static const char *const org_map = "{\"acme\":\"Acme\",\"globex\":\"globex\",\"\":\"no-name\"}";

/* text both ways: 1 (same bytes), 0 (declined, out unchanged). */
static int both_ways(const char *text)
{
    json_t *names = J(role_map), *onames = J(org_map), *user = J(text);
    struct canonjson cj;
    struct buf want, got;
    struct err e;
    int r;

    err_clear(&e);
    canonjson_init(&cj);
    buf_init(&want, 1u << 20);
    buf_init(&got, 1u << 20);
    import_want_rename(user, names, onames);
    CHECK_INT(canonjson_dump(user, &want, &e), 1);
    CHECK_INT(buf_append(&got, "x", 1, &e), 0);
    CHECK_INT(canonjson_parse(&cj, text, strlen(text), &e), 1);
    r = import_want_text(&cj, names, onames, &got, &e);
    if (r == 1) {
        CHECK(got.len == want.len + 1 && memcmp(got.data + 1, want.data, want.len) == 0);
        if (got.len != want.len + 1 || memcmp(got.data + 1, want.data, want.len) != 0)
            fprintf(stderr, "  json %s\n  text %s\n", want.data, got.data + 1);
    } else {
        CHECK_INT(r, 0);
        CHECK(got.len == 1 && strcmp(got.data, "x") == 0);
    }
    json_decref(names);
    json_decref(onames);
    json_decref(user);
    buf_release(&want);
    buf_release(&got);
    canonjson_release(&cj);
    return r;
}

static void test_rename(void)
{
    json_t *names = J(role_map), *onames = J(org_map);
    json_t *user = J("{\"user_id\":\"auth0|1\",\"roles\":[{\"id\":\"rol_1\",\"name\":\"admin\"},"
                     "{\"name\":\"gone\"},{\"name\":\"viewer\"}],"
                     "\"organizations\":[{\"id\":\"org_9\",\"name\":\"initech\",\"roles\":[]},"
                     "{\"id\":\"org_1\",\"name\":\"acme\",\"roles\":[{\"name\":\"billing\","
                     "\"type\":\"organization\"},{\"name\":\"admin\"},{\"name\":\"admin\","
                     "\"type\":\"organization\"}]}]}");
    json_t *want = J("{\"user_id\":\"auth0|1\",\"roles\":[{\"name\":\"Admin\"},{\"name\":"
                     "\"viewer\"}],\"organizations\":[{\"name\":\"Acme\",\"roles\":[{\"name\":"
                     "\"billing\"},{\"name\":\"Admin\"},{\"name\":\"acme-admin\"}]}]}");

    import_want_rename(user, names, onames);
    CHECK(json_equal(user, want));
    json_decref(user);
    json_decref(want);
    json_decref(names);
    json_decref(onames);
}

static void test_text_same_bytes(void)
{
    /* nothing to rename: the canonical line itself */
    CHECK_INT(both_ways("{\"user_id\":\"auth0|1\",\"email\":\"a@x.io\",\"user_metadata\":"
                        "{\"b\":[1.50,-0,1e3],\"a\":\"\\u00e9\\t\\\"\"}}"),
              1);
    /* tenant roles: known, unknown, without a name, not objects; an
     * organization role outside an organization is keyed as a tenant one */
    CHECK_INT(both_ways("{\"roles\":[{\"id\":\"r1\",\"name\":\"viewer\"},{\"name\":\"gone\"},"
                        "{\"id\":\"r2\"},7,{\"name\":\"admin\",\"type\":\"organization\"},"
                        "{\"name\":5}],\"user_id\":\"auth0|2\",\"zz\":true}"),
              1);
    /* organizations: known with both kinds of roles, unknown (dropped),
     * one without a name (looked up as ""), roles that are not an array */
    CHECK_INT(both_ways("{\"organizations\":[{\"id\":\"o1\",\"name\":\"acme\",\"roles\":["
                        "{\"name\":\"billing\",\"type\":\"organization\"},{\"name\":\"admin\"},"
                        "{\"name\":\"admin\",\"type\":\"organization\"},{\"name\":\"viewer\","
                        "\"type\":\"other\"}]},{\"name\":\"initech\",\"roles\":[]},"
                        "{\"id\":\"o3\",\"roles\":[{\"name\":\"viewer\"}]},{\"name\":\"globex\","
                        "\"roles\":\"none\"},[]],\"user_id\":\"auth0|3\"}"),
              1);
    /* "roles" and "organizations" that are not arrays stay as they are */
    CHECK_INT(both_ways("{\"organizations\":{\"name\":\"acme\"},\"roles\":\"admin\","
                        "\"user_id\":\"auth0|4\"}"),
              1);
    /* empty arrays; a target name that needs escapes */
    CHECK_INT(both_ways("{\"organizations\":[],\"roles\":[],\"user_id\":\"auth0|5\"}"), 1);
    CHECK_INT(both_ways("{\"roles\":[{\"name\":\"sales\"}],\"user_id\":\"auth0|5\"}"), 1);
}

static void test_text_declines(void)
{
    CHECK_INT(both_ways("{\"roles\":[{\"name\":\"adm\\u0069n\"}],\"user_id\":\"auth0|6\"}"), 0);
    CHECK_INT(both_ways("{\"roles\":[{\"name\":\"admin\",\"type\":\"organizatio\\u006e\"}],"
                        "\"user_id\":\"auth0|7\"}"),
              0);
    CHECK_INT(both_ways("{\"organizations\":[{\"name\":\"ac\\u006de\",\"roles\":[]}],"
                        "\"user_id\":\"auth0|8\"}"),
              0);
    /* escapes elsewhere are copied as they are */
    CHECK_INT(both_ways("{\"name\":\"a\\\\b\\u0001\",\"roles\":[{\"name\":\"admin\"}],"
                        "\"user_id\":\"auth0|9\"}"),
              1);
}

/* Out's ceiling: -1 and out as it was. */
static void test_text_ceiling(void)
{
    const char *text = "{\"roles\":[{\"name\":\"admin\"}],\"user_id\":\"auth0|123456789\"}";
    json_t *names = J(role_map), *onames = J(org_map);
    struct canonjson cj;
    struct buf out;
    struct err e;

    err_clear(&e);
    canonjson_init(&cj);
    buf_init(&out, 20);
    CHECK_INT(buf_append(&out, "[", 1, &e), 0);
    CHECK_INT(canonjson_parse(&cj, text, strlen(text), &e), 1);
    CHECK_INT(import_want_text(&cj, names, onames, &out, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(out.len == 1 && strcmp(out.data, "[") == 0);
    buf_release(&out);
    canonjson_release(&cj);
    json_decref(names);
    json_decref(onames);
}

int main(void)
{
    RUN(test_rename);
    RUN(test_text_same_bytes);
    RUN(test_text_declines);
    RUN(test_text_ceiling);
    return harness_done();
}
