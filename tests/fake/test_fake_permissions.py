"""Resource servers, role permissions, and a user's permissions by source
(DIRECT or ROLE)."""

import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, eq, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

T = FakeTenant("perms.example.com")
TOK = T.token()
DB = "Username-Password-Authentication"
API = "https://api.example.com/"
REP = "https://reports.example.com/"
SYS = "https://perms.example.com/api/v2/"

DOC = {
    "resource_servers": [
        {"id": "rs1", "identifier": API, "name": "Test API",
         "scopes": [{"value": "read:x", "description": "Read X"}, {"value": "write:x", "description": "Write X"}]},
        {"id": "rs2", "identifier": REP, "name": "Reports", "scopes": [{"value": "read:r", "description": "Read R"}]},
        {"id": "rs3", "identifier": "https://empty.example.com/", "name": "Empty"},
    ],
    "organizations": [{"name": "acme"}],
    "roles": [
        {"name": "writer", "permissions": [{"resource_server_identifier": API, "permission_name": "write:x"},
                                           {"resource_server_identifier": API, "permission_name": "read:x"}]},
        {"name": "reader", "permissions": [{"resource_server_identifier": API, "permission_name": "read:x"}]},
        {"name": "plain"},
        {"name": "org-writer", "type": "organization", "owner_id": None,
         "permissions": [{"resource_server_identifier": REP, "permission_name": "read:r"}]},
    ],
    "users": [
        {"user_id": "auth0|both", "connection": DB, "email": "both@example.com", "roles": ["writer", "reader"],
         "permissions": [{"resource_server_identifier": API, "permission_name": "read:x"}]},
        {"user_id": "auth0|direct", "connection": DB, "email": "direct@example.com",
         "permissions": [{"resource_server_identifier": REP, "permission_name": "read:r"}]},
        {"user_id": "auth0|role", "connection": DB, "email": "role@example.com", "roles": ["reader", "plain"],
         "organizations": [{"name": "acme", "roles": ["org-writer"]}]},
    ],
}


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def enc(uid):
    return urllib.parse.quote(uid, safe="")


def load():
    T.load({"organizations": [{"id": "org_AAAAAAAAAAAAAAAA", "name": "acme"}]})
    doc = dict(DOC, merge=True, organizations=[])
    doc["roles"] = [dict(r, owner_id="org_AAAAAAAAAAAAAAAA") if r.get("type") else r for r in DOC["roles"]]
    T.load(doc)


def perms(uid):
    st, _, body = api("GET", "/users/%s/permissions" % enc(uid))
    eq(st, 200, "GET permissions")
    return [(p["resource_server_identifier"], p["permission_name"],
             [(s["source_type"], s["source_name"]) for s in p["sources"]]) for p in body]


def test_resource_servers_list():
    load()
    st, _, body = api("GET", "/resource-servers")
    eq([r["identifier"] for r in body], [SYS, API, REP, "https://empty.example.com/"],
       "the system API first, then the loaded ones")
    eq(body[0]["is_system"], True, "the Management API is a system API")
    eq(sorted(body[1]), ["allow_offline_access", "id", "identifier", "name", "scopes", "signing_alg",
                         "skip_consent_for_verifiable_first_party_clients", "token_lifetime", "token_lifetime_for_web"],
       "recorded item keys")
    eq(body[1]["scopes"], DOC["resource_servers"][0]["scopes"], "scopes")
    check("scopes" not in body[3] and "is_system" not in body[1], "no scopes key without scopes (recorded)")
    st, _, env = api("GET", "/resource-servers?include_totals=true&per_page=2&page=1")
    eq((sorted(env), env["start"], env["limit"], env["total"], [r["id"] for r in env["resource_servers"]]),
       (["limit", "resource_servers", "start", "total"], 2, 2, 4, ["rs2", "rs3"]), "offset paging envelope")
    # recorded (go-auth0 TestResourceServer_List): fields + identifiers
    q = "fields=id%2Cidentifier&identifiers=" + urllib.parse.quote(API, safe="") + "&include_fields=true&include_totals=true&per_page=50"
    st, _, env = api("GET", "/resource-servers?" + q)
    eq(env, {"resource_servers": [{"id": "rs1", "identifier": API}], "start": 0, "limit": 50, "total": 1}, "recorded query")
    st, _, body = api("GET", "/resource-servers?identifiers=%s&identifiers=%s" % (enc(API), enc(REP)))
    eq([r["id"] for r in body], ["rs1", "rs2"], "repeated identifiers")
    eq(api("GET", "/resource-servers?per_page=101")[0], 400, "per_page max")
    eq(api("GET", "/resource-servers?name=x")[0], 400, "unknown parameter")
    eq(api("GET", "/resource-servers?" + "&".join("identifiers=i%d" % i for i in range(11)))[0], 400, "max 10 identifiers")
    st, _, r = api("GET", "/resource-servers/rs2")
    eq((st, r["name"]), (200, "Reports"), "by id")
    st, _, r = api("GET", "/resource-servers/" + enc(REP))
    eq((st, r["id"]), (200, "rs2"), "by identifier")
    st, _, b = api("GET", "/resource-servers/nope")
    eq((st, b["message"], b["errorCode"]), (404, "The resource server does not exist", "inexistent_resource_server"),
       "recorded 404")
    with FakeTenant("perms2.example.com", scopes="read:users") as n:
        st, _, b = n.api("GET", "/resource-servers")
        eq((st, b["message"]), (403, "Insufficient scope, expected any of: read:resource_servers"), "scope")


def test_user_permissions_by_source():
    load()
    eq(perms("auth0|both"), [
        (API, "read:x", [("DIRECT", ""), ("ROLE", "reader"), ("ROLE", "writer")]),
        (API, "write:x", [("ROLE", "writer")])], "direct and through roles, each permission once")
    eq(perms("auth0|direct"), [(REP, "read:r", [("DIRECT", "")])], "direct only")
    eq(perms("auth0|role"), [(API, "read:x", [("ROLE", "reader")])], "role only; organization roles grant nothing here")
    body = api("GET", "/users/%s/permissions" % enc("auth0|both"))[2]
    st = T.state()
    rid = {r["name"]: r["id"] for r in st["roles"]}
    eq(body[0]["sources"][1], {"source_id": rid["reader"], "source_name": "reader", "source_type": "ROLE"}, "ROLE source")
    users = {u["user_id"]: u for u in st["users"]}
    eq(users["auth0|both"]["permissions"], [{"resource_server_identifier": API, "permission_name": "read:x"}],
       "/__state users: direct permissions only")
    check("permissions" not in users["auth0|role"], "no direct permissions, no key")
    eq({r["name"]: r.get("permissions") for r in st["roles"]}["writer"],
       [{"resource_server_identifier": API, "permission_name": "read:x"},
        {"resource_server_identifier": API, "permission_name": "write:x"}], "/__state roles carry permissions")
    T.load(st)
    eq(T.state(), st, "round trip")
    # removing the direct grant leaves the role grants
    api("DELETE", "/users/%s/permissions" % enc("auth0|both"),
        {"permissions": [{"resource_server_identifier": API, "permission_name": "read:x"}]})
    eq(perms("auth0|both")[0], (API, "read:x", [("ROLE", "reader"), ("ROLE", "writer")]), "DIRECT gone")
    api("DELETE", "/users/%s/roles" % enc("auth0|both"), {"roles": [rid["reader"], rid["writer"]]})
    eq(perms("auth0|both"), [], "roles gone")


def test_role_permissions_api():
    load()
    rid = {r["name"]: r["id"] for r in T.state()["roles"]}
    path = "/roles/%s/permissions" % rid["plain"]
    body = {"permissions": [{"resource_server_identifier": REP, "permission_name": "read:r"}]}
    st, _, b = api("POST", path, body)
    eq((st, b), (201, {}), "POST 201 {} (recorded)")
    st, _, env = api("GET", path + "?include_totals=true&per_page=50")
    eq(env, {"permissions": [{"permission_name": "read:r", "description": "Read R", "resource_server_name": "Reports",
                              "resource_server_identifier": REP}], "start": 0, "limit": 50, "total": 1},
       "recorded shape: no sources")
    eq(perms("auth0|role")[-1], (REP, "read:r", [("ROLE", "plain")]), "the user sees it through the role")
    st, _, b = api("DELETE", path, body)
    eq((st, b), (204, None), "DELETE 204 (recorded)")
    eq(api("GET", path)[2], [], "removed")
    eq(api("POST", path, {"permissions": [{"resource_server_identifier": REP, "permission_name": "nope"}]})[0], 400,
       "undefined permission")
    eq(api("POST", "/roles/rol_nope/permissions", body)[0], 404, "unknown role")
    # a scope dropped from its API takes role permissions along
    T.load({"merge": True, "resource_servers": [{"id": "rs1", "identifier": API, "name": "Test API",
                                                 "scopes": [{"value": "read:x", "description": "Read X"}]}]})
    eq(api("GET", "/roles/%s/permissions" % rid["writer"])[2][0]["permission_name"], "read:x", "write:x dropped")
    eq(len(api("GET", "/roles/%s/permissions" % rid["writer"])[2]), 1, "only read:x left")
    T.load({"merge": True, "remove": {"resource_servers": [API]}})
    eq(api("GET", "/roles/%s/permissions" % rid["writer"])[2], [], "API removed")
    with FakeTenant("perms3.example.com", scopes="read:users") as n:
        eq(n.api("GET", "/roles/rol_x/permissions")[0], 403, "GET needs read:roles")
        eq(n.api("POST", "/roles/rol_x/permissions", body)[0], 403, "POST needs update:roles")


def test_load_refuses_unknown_role_permission():
    r = T._http("POST", T.api_url + "/__load", b'{"roles":[{"name":"r","permissions":[{"resource_server_identifier":"https://x/","permission_name":"a"}]}]}')
    eq(r[0], 400, "unknown API in a role's permissions")


run(globals())
