"""Direct permissions, linked accounts, and /__load with merge/remove."""

import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, eq, run  # noqa: E402
from fakectl import FakeError, FakeTenant  # noqa: E402

T = FakeTenant("links.example.com")
TOK = T.token()
DB = "Username-Password-Authentication"
API = "https://api.example.com/"


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def enc(uid):
    return urllib.parse.quote(uid, safe="")


def new_user(email, **kw):
    st, _, u = api("POST", "/users", dict({"connection": DB, "email": email, "password": "Secr3t!pass"}, **kw))
    eq(st, 201, "create " + email)
    return u


def test_merge_load_and_remove():
    T.load({"users": [{"user_id": "auth0|m1", "connection": DB, "email": "m1@example.com"}]})
    T.load({"merge": True,
            "organizations": [{"id": "org_AAAAAAAAAAAAAAAA", "name": "acme", "display_name": "Acme",
                               "branding": {"logo_url": "https://x.example/l.png"}, "third_party_client_access": "block"}],
            "roles": [{"name": "r1"}, {"name": "op", "type": "organization", "owner_id": "org_AAAAAAAAAAAAAAAA"}],
            "resource_servers": [{"id": "rs1", "identifier": API, "name": "API",
                                  "scopes": [{"value": "read:x", "description": "Read X"}]}],
            "users": [{"user_id": "auth0|m2", "connection": DB, "email": "m2@example.com", "roles": ["r1"],
                       "organizations": [{"name": "acme", "roles": ["op"]}],
                       "permissions": [{"resource_server_identifier": API, "permission_name": "read:x"}]}]})
    st = T.state()
    eq([u["user_id"] for u in st["users"]], ["auth0|m1", "auth0|m2"], "merge keeps what was there")
    eq(len(st["connections"]), 4, "default connections kept")
    eq(st["resource_servers"], [{"id": "rs1", "identifier": API, "name": "API",
                                 "scopes": [{"value": "read:x", "description": "Read X"}]}], "resource servers")
    eq(st["users"][1]["permissions"], [{"resource_server_identifier": API, "permission_name": "read:x"}], "permissions")
    eq(st["users"][1]["organizations"],
       [{"name": "acme", "roles": ["op"], "role_refs": [{"name": "op", "type": "organization", "owner": "acme"}]}],
       "the organization's own role (role_refs tell it from a tenant role)")
    check("permissions" not in st["users"][0], "no permissions key without permissions")
    st2, _, o = api("GET", "/organizations/org_AAAAAAAAAAAAAAAA")
    eq(o, {"id": "org_AAAAAAAAAAAAAAAA", "name": "acme", "display_name": "Acme",
           "branding": {"logo_url": "https://x.example/l.png"}, "third_party_client_access": "block"},
       "extra organization properties are answered as loaded")
    # a state document loads back to the same state
    T.load(st)
    eq(T.state(), st, "state round trip")
    try:
        T.load({"merge": True, "roles": [{"name": "r1"}]})
    except FakeError as e:
        check("400" in str(e), "duplicate role")
    else:
        raise AssertionError("duplicate role accepted")
    T.load({"merge": True, "remove": {"organizations": ["org_AAAAAAAAAAAAAAAA"], "resource_servers": [API]}})
    st = T.state()
    eq((st["organizations"], [r["name"] for r in st["roles"]]), ([], ["r1"]), "organization and its roles removed")
    check("resource_servers" not in st and "permissions" not in st["users"][1], "resource server and permissions removed")
    rid = st["roles"][0]["id"]
    T.load({"merge": True, "remove": {"roles": [rid], "users": ["auth0|m1"]}})
    st = T.state()
    eq((st["roles"], [u["user_id"] for u in st["users"]], st["users"][0]["roles"]), ([], ["auth0|m2"], []),
       "role and user removed")
    try:
        T.load({"remove": {"roles": [rid]}})
    except FakeError as e:
        check("400" in str(e), "remove needs merge")
    else:
        raise AssertionError("remove without merge accepted")


def test_permissions():
    T.load({"resource_servers": [{"id": "rs1", "identifier": API, "name": "Test API",
                                  "scopes": [{"value": "read:x", "description": "Read X"},
                                             {"value": "create:x", "description": "Create X"}]}]})
    u = new_user("perm@example.com")
    path = "/users/%s/permissions" % enc(u["user_id"])
    body = {"permissions": [{"resource_server_identifier": API, "permission_name": "read:x"}]}
    st, _, b = api("POST", path, body)
    eq((st, b), (201, {}), "POST answers 201 {} (recorded)")
    st, _, b = api("POST", path, {"permissions": [{"resource_server_identifier": API, "permission_name": "create:x"}]})
    eq(st, 201, "second")
    st, _, env = api("GET", path + "?include_totals=true&per_page=50")
    eq(env, {"permissions": [
        {"permission_name": "create:x", "description": "Create X", "resource_server_name": "Test API",
         "resource_server_identifier": API, "sources": [{"source_id": "", "source_name": "", "source_type": "DIRECT"}]},
        {"permission_name": "read:x", "description": "Read X", "resource_server_name": "Test API",
         "resource_server_identifier": API, "sources": [{"source_id": "", "source_name": "", "source_type": "DIRECT"}]}],
        "start": 0, "limit": 50, "total": 2}, "recorded item shape, sorted")
    st, _, b = api("DELETE", path, body)
    eq((st, b), (204, None), "DELETE answers 204")
    eq([p["permission_name"] for p in api("GET", path)[2]], ["create:x"], "removed")
    eq(api("POST", path, {"permissions": []})[0], 400, "minItems 1")
    eq(api("POST", path, {"permissions": [{"resource_server_identifier": API}]})[0], 400, "permission_name required")
    eq(api("POST", path, {"permissions": [{"resource_server_identifier": API, "permission_name": "nope"}]})[0], 400,
       "unknown permission")
    eq(api("POST", path, {"permissions": [{"resource_server_identifier": "https://nope/", "permission_name": "x"}]})[0],
       404, "unknown resource server")
    eq(api("GET", "/users/%s/permissions" % enc("auth0|ghost"))[0], 404, "unknown user")
    T.load({"merge": True, "resource_servers": [{"id": "rs1", "identifier": API, "name": "Test API",
                                                 "scopes": [{"value": "read:x", "description": "Read X"}]}]})
    eq(api("GET", path)[2], [], "a scope removed from the API takes its permissions along")
    with FakeTenant("links2.example.com", scopes="read:users create:users") as n:
        eq(n.api("POST", path, body)[0], 403, "POST needs update:users")


def test_link_and_unlink():
    T.load({})
    p = new_user("primary@example.com", given_name="Pri")
    s = new_user("second@example.com", nickname="Sec", user_metadata={"lost": True})
    conn = [c for c in T.state()["connections"] if c["name"] == DB][0]["id"]
    path = "/users/%s/identities" % enc(p["user_id"])
    # recorded (go-auth0 TestUserManager_Link #3): user_id given whole
    st, _, ids = api("POST", path, {"connection_id": conn, "user_id": s["user_id"], "provider": "auth0"})
    eq(st, 201, "201")
    eq([sorted(i) for i in ids], [["connection", "isSocial", "profileData", "provider", "user_id"]] * 2,
       "every identity with profileData")
    eq(ids[0]["profileData"], {"email": "primary@example.com", "email_verified": False, "given_name": "Pri",
                               "nickname": "primary", "picture": p["picture"]}, "primary profileData (no default name)")
    eq(ids[1]["profileData"]["nickname"], "Sec", "secondary profileData")
    eq(api("GET", "/users/" + enc(s["user_id"]))[0], 404, "the secondary is no user any more")
    got = api("GET", "/users/" + enc(p["user_id"]))[2]
    eq(len(got["identities"]), 2, "the primary holds both identities")
    check("profileData" not in got["identities"][0] and "profileData" in got["identities"][1],
          "GET shows profileData on secondary identities only")
    eq(api("POST", path, {"user_id": "auth0|ghost", "provider": "auth0"})[0], 400, "unknown secondary")
    eq(api("POST", path, {"user_id": p["user_id"], "provider": "auth0"})[0], 400, "linking to itself")
    eq(api("POST", path, {"nope": 1})[0], 400, "unknown property")
    # unlink (recorded #4: 200 with the remaining identities)
    sid = s["user_id"].split("|", 1)[1]
    st, _, ids = api("DELETE", "%s/auth0/%s" % (path, sid))
    eq((st, len(ids), "profileData" in ids[0]), (200, 1, True), "200 with the primary identity left")
    st, _, back = api("GET", "/users/" + enc(s["user_id"]))
    eq((st, back["email"], back["nickname"]), (200, "second@example.com", "Sec"), "the secondary is a user again")
    check("user_metadata" not in back, "without its metadata (D-LINK)")
    eq(api("DELETE", "%s/auth0/%s" % (path, sid))[0], 404, "already unlinked")
    eq(api("DELETE", "%s/auth0/%s" % (path, p["user_id"].split("|", 1)[1]))[0], 400, "the main identity stays")
    # the bare id works too
    st, _, ids = api("POST", path, {"user_id": sid, "provider": "auth0"})
    eq((st, len(ids)), (201, 2), "bare secondary id")


run(globals())
