/*
 * Unit tests for snapshots_match.c: which user lines are the person's (by
 * id: the account and the accounts it links; by email: the email, a
 * linked identity's profile email, and ids that embed it, without regard
 * to case), that a line merely mentioning the person is not theirs, and
 * that the person's values leave the header's request.
 */
#include "harness.h"
#include "snapshots_match.h"

#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);

    CHECK(j != NULL);
    return j;
}

static bool matches(const char *user_json, const struct erase_subject *s)
{
    json_t *u = parse(user_json);
    bool m = u && erase_match_user(u, s);

    json_decref(u);
    return m;
}

static void test_by_user_id(void)
{
    struct erase_subject s = {"auth0|abc123", NULL, NULL};

    CHECK(matches("{\"user_id\":\"auth0|abc123\",\"email\":\"x@y.example\"}", &s));
    CHECK(!matches("{\"user_id\":\"AUTH0|ABC123\"}", &s)); /* ids are exact */
    CHECK(!matches("{\"user_id\":\"auth0|abc1234\"}", &s));
    /* the account linked into another user */
    CHECK(matches("{\"user_id\":\"google-oauth2|9\",\"identities\":[{\"provider\":"
                  "\"google-oauth2\",\"user_id\":\"9\"},{\"provider\":\"auth0\",\"user_id\":"
                  "\"abc123\"}]}",
                  &s));
    CHECK(!matches("{\"user_id\":\"google-oauth2|9\",\"identities\":[{\"provider\":\"auth0x\","
                   "\"user_id\":\"abc123\"}]}",
                   &s));
    /* mentioned in metadata: not theirs */
    CHECK(!matches("{\"user_id\":\"auth0|other\",\"app_metadata\":{\"manager\":\"auth0|abc123\"}}",
                   &s));
}

static void test_by_email(void)
{
    struct erase_subject s = {NULL, "ann.lee@acme.example", "ann.lee@acme.example"};

    CHECK(matches("{\"user_id\":\"auth0|1\",\"email\":\"Ann.Lee@ACME.example\"}", &s));
    CHECK(matches("{\"user_id\":\"auth0|1\",\"email\":\"  ann.lee@acme.example \"}", &s));
    CHECK(!matches("{\"user_id\":\"auth0|1\",\"email\":\"xann.lee@acme.example\"}", &s));
    /* an id that embeds the email, at the top and in an identity */
    CHECK(matches("{\"user_id\":\"samlp|acme|Ann.Lee@acme.example\"}", &s));
    CHECK(matches("{\"user_id\":\"ann.lee@acme.example\"}", &s));
    CHECK(matches("{\"user_id\":\"auth0|2\",\"identities\":[{\"provider\":\"samlp\",\"user_id\":"
                  "\"acme|ann.lee@acme.example\"}]}",
                  &s));
    /* a linked identity's profile */
    CHECK(matches("{\"user_id\":\"auth0|3\",\"email\":\"other@x.example\",\"identities\":[{},{"
                  "\"provider\":\"google-oauth2\",\"user_id\":\"5\",\"profileData\":{\"email\":"
                  "\"ann.lee@acme.example\"}}]}",
                  &s));
    /* mentioned elsewhere: not theirs */
    CHECK(!matches("{\"user_id\":\"auth0|4\",\"email\":\"bob@x.example\",\"user_metadata\":{"
                   "\"email\":\"ann.lee@acme.example\"}}",
                   &s));
    CHECK(!matches("{\"user_id\":\"auth0|ann.lee\"}", &s));
}

static void test_email_hidden_by_policy(void)
{
    /* a policy that dropped emails: only ids that embed it can match */
    struct erase_subject s = {NULL, NULL, "u-abcdefgh@example.com"};

    CHECK(!matches("{\"user_id\":\"auth0|1\",\"email\":\"u-abcdefgh@example.com\"}", &s));
    CHECK(matches("{\"user_id\":\"samlp|c|u-abcdefgh@example.com\"}", &s));
}

static void test_helpers(void)
{
    CHECK_STR(erase_id_tail("samlp|c|a@b.c"), "a@b.c");
    CHECK_STR(erase_id_tail("a@b.c"), "a@b.c");
    CHECK_STR(erase_id_tail("x|"), "");
    CHECK(erase_same_email(" A@B.c", "a@b.C "));
    CHECK(!erase_same_email("", ""));
    CHECK(!erase_same_email(NULL, "a@b.c"));
    CHECK(!erase_same_email("a@b.c", "a@b.cc"));
}

static void test_scrub_request(void)
{
    json_t *h = parse("{\"source\":{\"domain\":\"ann.lee@acme.example\"},\"request\":{\"users\":"
                      "[\"auth0|abc123\",\"auth0|keep\"],\"emails\":[\"Ann.Lee@Acme.example\"],"
                      "\"query\":\"email:\\\"ann.lee@acme.example\\\"\",\"connections\":[\"db\"],"
                      "\"subset\":true,\"nested\":{\"list\":[[\"auth0|abc123\"]]}}}");
    const char *needles[] = {"auth0|abc123", "ann.lee@acme.example", NULL};
    const char *none[] = {NULL};
    json_t *req = json_object_get(h, "request");
    char *text;

    CHECK_INT(erase_scrub_request(h, needles), 4);
    text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(text, "{\"connections\":[\"db\"],\"emails\":[],\"nested\":{\"list\":[[]]},\"query\":"
                    "\"[erased]\",\"subset\":true,\"users\":[\"auth0|keep\"]}");
    free(text);
    /* only the request is scrubbed */
    CHECK_STR(json_string_value(json_object_get(json_object_get(h, "source"), "domain")),
              "ann.lee@acme.example");
    CHECK_INT(erase_scrub_request(h, needles), 0);
    CHECK_INT(erase_scrub_request(h, none), 0);
    json_object_del(h, "request");
    CHECK_INT(erase_scrub_request(h, needles), 0);
    json_decref(h);
}

int main(void)
{
    RUN(test_by_user_id);
    RUN(test_by_email);
    RUN(test_email_hidden_by_policy);
    RUN(test_helpers);
    RUN(test_scrub_request);
    return harness_done();
}
