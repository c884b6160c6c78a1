"""Organization roles (type "organization", owner_id): where they can be
granted, members of a role, and how /__state and /__load name them."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, eq, run  # noqa: E402
from fakectl import FakeError, FakeTenant  # noqa: E402

T = FakeTenant("orgroles.example.com")
TOK = T.token()
DB = "Username-Password-Authentication"
ACME, GLOBEX = "org_AcmeAcmeAcmeAcme", "org_GlobexGlobexGlob"


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def enc(uid):
    return urllib.parse.quote(uid, safe="")


def load(users=(), members_acme=()):
    T.load({
        "organizations": [{"id": ACME, "name": "acme-corp", "members": list(members_acme)},
                          {"id": GLOBEX, "name": "globex"}],
        "roles": [{"name": "admin", "id": "rol_TenantAdmin00000"},
                  {"name": "admin", "id": "rol_AcmeAdmin0000000", "type": "organization", "owner_id": ACME},
                  {"name": "approver", "id": "rol_AcmeApprover0000", "type": "organization", "owner_id": ACME},
                  {"name": "approver", "id": "rol_GlobexApprover00", "type": "organization", "owner_id": GLOBEX}],
        "users": [{"user_id": "auth0|u%d" % i, "connection": DB, "email": "u%d@example.com" % i} for i in range(1, 6)]
        + list(users),
    })


def test_grant_rules():
    load()
    for o in (ACME, GLOBEX):
        eq(api("POST", "/organizations/%s/members" % o, {"members": ["auth0|u1"]})[0], 204, "member of " + o)
    path = "/organizations/%s/members/%s/roles" % (ACME, enc("auth0|u1"))
    eq(api("POST", path, {"roles": ["rol_AcmeAdmin0000000", "rol_AcmeApprover0000"]})[0], 204, "its own roles")
    eq(api("POST", path, {"roles": ["rol_TenantAdmin00000"]})[0], 204, "a tenant role")
    st, _, b = api("POST", path, {"roles": ["rol_GlobexApprover00"]})
    eq((st, b["message"], b["errorCode"]),
       (400, "The role rol_GlobexApprover00 belongs to another organization.", "invalid_body"),
       "another organization's role")
    st, _, b = api("POST", "/organizations/%s/members/%s/roles" % (GLOBEX, enc("auth0|u1")), {"roles": ["rol_AcmeAdmin0000000"]})
    eq(st, 400, "acme's role in globex")
    st, _, roles = api("GET", path)
    eq(sorted((r["name"], r["type"]) for r in roles),
       [("admin", "organization"), ("admin", "tenant"), ("approver", "organization")], "granted")
    # organization roles are not tenant roles
    st, _, b = api("POST", "/users/%s/roles" % enc("auth0|u2"), {"roles": ["rol_AcmeAdmin0000000"]})
    eq((st, b["message"]), (400, "Organization roles cannot be assigned as tenant roles."), "POST /users/{id}/roles")
    st, _, b = api("POST", "/roles/rol_AcmeAdmin0000000/users", {"users": ["auth0|u2"]})
    eq((st, b["message"]), (400, "Organization roles cannot be assigned as tenant roles."), "POST /roles/{id}/users")
    eq(api("POST", "/users/%s/roles" % enc("auth0|u2"), {"roles": ["rol_TenantAdmin00000"]})[0], 204, "tenant role")
    eq(api("GET", "/users/%s/roles" % enc("auth0|u1"))[2], [], "member roles are no tenant roles")


def test_role_members():
    load(members_acme=[{"user_id": "auth0|u%d" % i, "roles": ["admin"]} for i in range(1, 6)])
    api("POST", "/organizations/%s/members/%s/roles" % (ACME, enc("auth0|u3")), {"roles": ["rol_TenantAdmin00000"]})
    path = "/organizations/%s/roles/rol_AcmeAdmin0000000/members" % ACME
    st, _, p1 = api("GET", path + "?take=2")
    eq((st, [m["user_id"] for m in p1["members"]], "next" in p1), (200, ["auth0|u1", "auth0|u2"], True), "first page")
    check(set(p1["members"][0]) <= {"user_id", "email", "picture", "name"}, "member item keys")
    seen = [m["user_id"] for m in p1["members"]]
    frm = p1["next"]
    while frm:
        body = api("GET", path + "?take=2&from=" + urllib.parse.quote(frm))[2]
        seen += [m["user_id"] for m in body["members"]]
        frm = body.get("next")
    eq(seen, ["auth0|u%d" % i for i in range(1, 6)], "every holder of acme's admin, once")
    body = api("GET", "/organizations/%s/roles/rol_TenantAdmin00000/members?take=50" % ACME)[2]
    eq([m["user_id"] for m in body["members"]], ["auth0|u3"], "the tenant admin granted in acme: only u3")
    eq(api("GET", path + "?page=0")[0], 400, "checkpoint only")


def test_state_and_load_role_refs():
    load(members_acme=[{"user_id": "auth0|u1", "roles": ["admin"]},  # the organization's own admin first
                       {"user_id": "auth0|u2", "roles": ["rol_TenantAdmin00000"]},  # by id: the tenant admin
                       {"user_id": "auth0|u3", "role_refs": [{"name": "admin", "type": "tenant"},
                                                             {"name": "admin", "type": "organization"},
                                                             {"name": "approver", "type": "organization", "owner": "acme-corp"}]}])
    st = T.state()
    acme = [o for o in st["organizations"] if o["name"] == "acme-corp"][0]
    m = {x["user_id"]: x for x in acme["members"]}
    eq(m["auth0|u1"], {"user_id": "auth0|u1", "roles": ["admin"],
                       "role_refs": [{"name": "admin", "type": "organization", "owner": "acme-corp"}]}, "organization admin")
    eq(m["auth0|u2"], {"user_id": "auth0|u2", "roles": ["admin"],
                       "role_refs": [{"name": "admin", "type": "tenant", "owner": None}]},
       "the tenant admin, named like acme's own admin: role_refs too")
    eq(m["auth0|u3"]["roles"], ["admin", "admin", "approver"], "names, parallel to role_refs")
    eq(m["auth0|u3"]["role_refs"], [{"name": "admin", "type": "organization", "owner": "acme-corp"},
                                    {"name": "admin", "type": "tenant", "owner": None},
                                    {"name": "approver", "type": "organization", "owner": "acme-corp"}], "role_refs")
    users = {u["user_id"]: u for u in st["users"]}
    eq(users["auth0|u3"]["organizations"], [{"name": "acme-corp", "roles": m["auth0|u3"]["roles"],
                                             "role_refs": m["auth0|u3"]["role_refs"]}], "the user's view")
    T.load(st)
    eq(T.state(), st, "role_refs load back exactly")
    # a tenant role no organization role shadows needs no role_refs
    T.load({"merge": True, "roles": [{"name": "viewer"}], "organizations": [],
            "users": [{"user_id": "auth0|v1", "connection": DB, "email": "v1@example.com",
                       "organizations": [{"name": "globex", "roles": ["viewer"]}]}]})
    eq([u for u in T.state()["users"] if u["user_id"] == "auth0|v1"][0]["organizations"],
       [{"name": "globex", "roles": ["viewer"]}], "no role_refs when the names are plain")
    # refusals
    for bad in (
        {"user_id": "auth0|u4", "roles": ["rol_GlobexApprover00"]},  # another organization's role, by id
        {"user_id": "auth0|u4", "role_refs": [{"name": "approver", "type": "organization", "owner": "globex"}]},
        {"user_id": "auth0|u4", "role_refs": [{"name": "nope", "type": "tenant"}]},
        {"user_id": "auth0|u4", "role_refs": [{"name": "admin", "type": "other"}]},
    ):
        try:
            load(members_acme=[bad])
        except FakeError as e:
            check("400" in str(e), str(e))
        else:
            raise AssertionError("accepted " + json.dumps(bad))
    try:
        load(users=[{"user_id": "auth0|u9", "connection": DB, "email": "u9@example.com", "roles": ["rol_AcmeAdmin0000000"]}])
    except FakeError as e:
        check("400" in str(e), str(e))
    else:
        raise AssertionError("an organization role as a tenant role accepted")


run(globals())
