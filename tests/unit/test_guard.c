/* Unit tests for guard.c: the target-safety rules. */
#include "guard.h"
#include "harness.h"

#include <string.h>

static void test_domain_compare(void)
{
    CHECK(guard_same_domain("Acme.Auth0.com", "acme.auth0.com."));
    CHECK(!guard_same_domain("acme.auth0.com", "acme.auth0.co"));
    CHECK(!guard_same_domain("", ""));
    CHECK(!guard_same_domain(NULL, "x"));
    CHECK(guard_domain_listed("prod.auth0.com", "a.com, PROD.auth0.com ,b.com"));
    CHECK(guard_domain_listed("prod.auth0.com", "prod.auth0.com"));
    CHECK(!guard_domain_listed("prod.auth0.com", "prod.auth0.com.evil,xprod.auth0.com"));
    CHECK(!guard_domain_listed("prod.auth0.com", ""));
    CHECK(!guard_domain_listed("prod.auth0.com", NULL));
}

static void test_rules(void)
{
    struct err e;

    CHECK_INT(guard_target(NULL, NULL, NULL, NULL, false, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK_INT(guard_target("stage.auth0.com", NULL, "prod.auth0.com", NULL, false, &e), 0);
    /* protected: refused even with allow_source */
    CHECK_INT(guard_target("prod.auth0.com", NULL, "x", "prod.auth0.com", true, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "A0SNAP_PROTECTED_TENANTS") != NULL);
    /* source tenant: refused unless allowed */
    CHECK_INT(guard_target("prod.auth0.com", NULL, "PROD.auth0.com", NULL, false, &e), -1);
    CHECK(strstr(e.msg, "--allow-source-tenant") != NULL);
    CHECK_INT(guard_target("prod.auth0.com", NULL, "prod.auth0.com", NULL, true, &e), 0);
    /* environment naming another tenant */
    CHECK_INT(guard_target("stage.auth0.com", "prod.auth0.com", NULL, NULL, false, &e), -1);
    CHECK(strstr(e.msg, "AUTH0_DOMAIN") != NULL);
    CHECK_INT(guard_target("stage.auth0.com", "stage.auth0.com", NULL, NULL, false, &e), 0);
}

int main(void)
{
    RUN(test_domain_compare);
    RUN(test_rules);
    return harness_done();
}
