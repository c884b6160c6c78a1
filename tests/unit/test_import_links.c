/*
 * Unit tests for the comparison of linked accounts and direct permissions
 * (import/import_links.c): which secondaries are linked, unlinked or
 * reported, and which permissions are granted, revoked or missing.
 */
#include "harness.h"
#include "import_links.h"

#include <jansson.h>
#include <string.h>

static json_t *user(const char *identities_json)
{
    json_error_t je;
    json_t *ids = json_loads(identities_json, 0, &je);

    return json_pack("{s:s,s:o}", "user_id", "auth0|p1", "identities", ids ? ids : json_array());
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void database_and_passwordless_secondaries_are_linked(void)
{
    json_t *want = user("[{\"provider\":\"auth0\",\"user_id\":\"p1\",\"connection\":\"db\"},"
                        "{\"provider\":\"auth0\",\"user_id\":\"s1\",\"connection\":\"legacy\"},"
                        "{\"provider\":\"email\",\"user_id\":\"e1\",\"connection\":\"email\"},"
                        "{\"provider\":\"sms\",\"user_id\":\"t1\",\"connection\":\"sms\"}]");
    struct import_links l;
    struct err e = {0};

    CHECK_INT(import_links_compare(want, NULL, &l, &e), 0);
    CHECK_INT(json_array_size(l.link), 3);
    CHECK_INT(json_array_size(l.unlink), 0);
    CHECK_INT(json_array_size(l.not_copyable), 0);
    /* the primary identity is the user itself, never linked */
    for (size_t i = 0; i < json_array_size(l.link); i++)
        CHECK(strcmp(str(json_array_get(l.link, i), "user_id"), "p1") != 0);
    import_links_release(&l);
    json_decref(want);
}

static void social_and_enterprise_secondaries_are_reported_by_kind(void)
{
    json_t *want = user(
        "[{\"provider\":\"auth0\",\"user_id\":\"p1\",\"connection\":\"db\"},"
        "{\"provider\":\"google-oauth2\",\"user_id\":\"1077\",\"connection\":\"google-oauth2\"},"
        "{\"provider\":\"samlp\",\"user_id\":\"x@corp\",\"connection\":\"corp-saml\"}]");
    struct import_links l;
    struct err e = {0};

    CHECK_INT(import_links_compare(want, NULL, &l, &e), 0);
    CHECK_INT(json_array_size(l.link), 0);
    CHECK_INT(json_array_size(l.not_copyable), 2);
    CHECK_STR(str(json_array_get(l.not_copyable, 0), "kind"), "social");
    CHECK_STR(str(json_array_get(l.not_copyable, 0), "connection"), "google-oauth2");
    CHECK_STR(str(json_array_get(l.not_copyable, 1), "kind"), "enterprise");
    import_links_release(&l);
    json_decref(want);
}

static void linked_already_is_left_and_stale_links_are_unlinked_with_their_connection(void)
{
    json_t *want = user("[{\"provider\":\"auth0\",\"user_id\":\"p1\",\"connection\":\"db\"},"
                        "{\"provider\":\"auth0\",\"user_id\":\"s1\",\"connection\":\"legacy\"}]");
    /* the target's numeric id (some providers) still names the account */
    json_t *have = user("[{\"provider\":\"auth0\",\"user_id\":\"p1\",\"connection\":\"db\"},"
                        "{\"provider\":\"auth0\",\"user_id\":\"s1\",\"connection\":\"legacy\"},"
                        "{\"provider\":\"auth0\",\"user_id\":\"s9\",\"connection\":\"legacy\"},"
                        "{\"provider\":\"github\",\"user_id\":4242,\"connection\":\"github\"}]");
    struct import_links l;
    struct err e = {0};

    CHECK_INT(import_links_compare(want, have, &l, &e), 0);
    CHECK_INT(json_array_size(l.link), 0);
    CHECK_INT(json_array_size(l.unlink), 2);
    CHECK_STR(str(json_array_get(l.unlink, 0), "user_id"), "s9");
    /* --prune deletes an unlinked account of a covered connection: it needs
     * the connection to decide */
    CHECK_STR(str(json_array_get(l.unlink, 0), "connection"), "legacy");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(l.unlink, 1), "user_id")), 4242);
    import_links_release(&l);
    json_decref(want);
    json_decref(have);
}

static json_t *perms(const char *j)
{
    json_error_t je;

    return json_loads(j, 0, &je);
}

static void permissions_added_removed_and_missing(void)
{
    json_t *want = perms("[{\"resource_server_identifier\":\"https://a/\",\"permission_name\":"
                         "\"read\"},{\"resource_server_identifier\":\"https://a/\","
                         "\"permission_name\":\"write\"},{\"resource_server_identifier\":"
                         "\"https://gone/\",\"permission_name\":\"x\"},"
                         "{\"resource_server_identifier\":\"https://a/\",\"permission_name\":"
                         "\"nope\"}]");
    json_t *have = perms("[{\"resource_server_identifier\":\"https://a/\",\"permission_name\":"
                         "\"read\"},{\"resource_server_identifier\":\"https://a/\","
                         "\"permission_name\":\"admin\"}]");
    json_t *apis = perms("{\"https://a/\":[\"read\",\"write\",\"admin\"]}");
    struct import_perms p;
    struct err e = {0};

    CHECK_INT(import_perms_compare(want, have, apis, NULL, &p, &e), 0);
    CHECK_INT(json_array_size(p.add), 1);
    CHECK_STR(str(json_array_get(p.add, 0), "permission_name"), "write");
    CHECK_INT(json_array_size(p.remove), 1);
    CHECK_STR(str(json_array_get(p.remove, 0), "permission_name"), "admin");
    /* an API the target lacks, and a scope its API lacks */
    CHECK_INT(json_array_size(p.missing), 2);
    import_perms_release(&p);
    json_decref(want);
    json_decref(have);
    json_decref(apis);
}

static void a_mapped_api_is_granted_under_its_target_identifier(void)
{
    json_t *want = perms("[{\"resource_server_identifier\":\"https://api.prod/\","
                         "\"permission_name\":\"read\"}]");
    json_t *have = perms("[{\"resource_server_identifier\":\"https://api.staging/\","
                         "\"permission_name\":\"read\"}]");
    json_t *apis = perms("{\"https://api.staging/\":[\"read\"]}");
    json_t *map = perms("{\"https://api.prod/\":\"https://api.staging/\"}");
    struct import_perms p;
    struct err e = {0};

    CHECK_INT(import_perms_compare(want, have, apis, map, &p, &e), 0);
    CHECK_INT(json_array_size(p.add), 0);
    CHECK_INT(json_array_size(p.remove), 0);
    CHECK_INT(json_array_size(p.missing), 0);
    import_perms_release(&p);
    CHECK_INT(import_perms_compare(want, NULL, apis, NULL, &p, &e), 0);
    CHECK_INT(json_array_size(p.missing), 1); /* unmapped: the target has no such API */
    import_perms_release(&p);
    json_decref(want);
    json_decref(have);
    json_decref(apis);
    json_decref(map);
}

int main(void)
{
    RUN(database_and_passwordless_secondaries_are_linked);
    RUN(social_and_enterprise_secondaries_are_reported_by_kind);
    RUN(linked_already_is_left_and_stale_links_are_unlinked_with_their_connection);
    RUN(permissions_added_removed_and_missing);
    RUN(a_mapped_api_is_granted_under_its_target_identifier);
    return harness_done();
}
