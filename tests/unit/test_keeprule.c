/* Unit tests for keeprule.c: --keep rules. */
#include "harness.h"
#include "keeprule.h"

static void test_syntax(void)
{
    struct err e;

    CHECK_INT(keeprule_check("email=*@x.com", &e), 0);
    CHECK_INT(keeprule_check("app_metadata.robot=true", &e), 0);
    CHECK_INT(keeprule_check("email", &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK_INT(keeprule_check("=x", &e), -1);
    CHECK_INT(keeprule_check("email=", &e), -1);
    CHECK_INT(keeprule_check("a..b=x", &e), -1);
    CHECK_INT(keeprule_check(".a=x", &e), -1);
}

static void test_match(void)
{
    json_t *u =
        json_loads("{\"email\":\"Robot-1@Staging.example.com\",\"user_id\":\"auth0|1\","
                   "\"app_metadata\":{\"robot\":true,\"tier\":3,\"team\":{\"name\":\"qa\"}},"
                   "\"blocked\":false}",
                   0, NULL);

    CHECK(u != NULL);
    CHECK(keeprule_match("email=*@staging.example.com", u));
    CHECK(!keeprule_match("email=*@prod.example.com", u));
    CHECK(keeprule_match("app_metadata.robot=true", u));
    CHECK(!keeprule_match("app_metadata.robot=false", u));
    CHECK(keeprule_match("app_metadata.tier=3", u));
    CHECK(keeprule_match("app_metadata.team.name=q?", u));
    CHECK(!keeprule_match("app_metadata.missing=*", u));
    CHECK(!keeprule_match("app_metadata.team=*", u)); /* objects never match */
    CHECK(keeprule_match("blocked=false", u));
    CHECK(keeprule_match("user_id=auth0|*", u));
    json_decref(u);
}

int main(void)
{
    RUN(test_syntax);
    RUN(test_match);
    return harness_done();
}
