"""Users: listing, paging, the 1000 cap, search, create / patch / delete."""

import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, eq, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

T = FakeTenant("users.example.com", seed=7, users=1200)
TOK = T.token()
DB = "Username-Password-Authentication"


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def enc(uid):
    return urllib.parse.quote(uid, safe="")


def test_list_shapes():
    st, _, body = api("GET", "/users")
    eq(st, 200, "status")
    check(isinstance(body, list), "bare array by default")
    eq(len(body), 50, "default per_page 50")
    st, _, env = api("GET", "/users?page=1&per_page=10&include_totals=true")
    eq(sorted(env), ["length", "limit", "start", "total", "users"], "envelope keys")
    eq((env["start"], env["limit"], env["length"], env["total"]), (10, 10, 10, 1200), "envelope values")
    ids = [u["user_id"] for u in env["users"]]
    eq(ids, sorted(ids), "deterministic order")


def test_per_page_and_cap():
    eq(api("GET", "/users?per_page=101")[0], 400, "per_page > 100")
    eq(api("GET", "/users?per_page=100&page=9")[0], 200, "the 1000th record is reachable")
    st, _, body = api("GET", "/users?per_page=100&page=10")
    eq(st, 400, "past 1000")
    check(body["message"].startswith("You can only page through the first 1000 records"), body["message"])
    eq(api("GET", "/users?per_page=50&page=20")[0], 400, "page 20 x 50")
    eq(api("GET", "/users?page=-1")[0], 400, "negative page")
    eq(api("GET", "/users?include_totals=yes")[0], 400, "bad boolean")
    eq(api("GET", "/users?bogus=1")[0], 400, "unknown query parameter")


def test_fields():
    st, _, body = api("GET", "/users?per_page=3&fields=user_id,email&include_fields=true")
    eq([sorted(u) for u in body], [["email", "user_id"]] * 3, "include")
    st, _, body = api("GET", "/users?per_page=3&fields=identities,app_metadata,user_metadata&include_fields=false")
    check(all("identities" not in u and "user_metadata" not in u and "user_id" in u for u in body), "exclude")


def test_sort():
    st, _, body = api("GET", "/users?per_page=20&sort=created_at:-1&fields=created_at,user_id")
    got = [u["created_at"] for u in body]
    eq(got, sorted(got, reverse=True), "created_at descending")
    st, _, body = api("GET", "/users?per_page=20&sort=email:1&fields=email")
    got = [u["email"] for u in body]
    eq(got, sorted(got), "email ascending")
    eq(api("GET", "/users?sort=user_metadata.x:1")[0], 400, "metadata sort refused")
    eq(api("GET", "/users?sort=created_at")[0], 400, "sort needs a direction")


def test_search_engine_rules():
    eq(api("GET", "/users?q=email:x")[0], 400, "q without search_engine")
    eq(api("GET", "/users?q=email:x&search_engine=v2")[0], 400, "v2 refused")
    eq(api("GET", "/users?q=email:x&search_engine=v1")[0], 400, "v1 refused")
    eq(api("GET", "/users?q=" + urllib.parse.quote('email:"unterminated') + "&search_engine=v3")[0], 400, "syntax error")
    eq(api("GET", "/users?q=" + urllib.parse.quote("(a OR b") + "&search_engine=v3")[0], 400, "missing paren")


def q(text, extra=""):
    st, _, body = api("GET", "/users?search_engine=v3&per_page=100&include_totals=true&q=" + urllib.parse.quote(text) + extra)
    eq(st, 200, "query %r" % text)
    return body


def test_lucene_queries():
    st, _, some = api("GET", "/users?per_page=100&page=3")
    target = [u for u in some if u["user_id"].startswith("auth0|")][0]
    body = q('email:"%s"' % target["email"].upper())
    eq([u["user_id"] for u in body["users"]], [target["user_id"]], "email, quoted, case-insensitive")
    body = q("user_id:%s" % target["user_id"].replace("|", "\\|"))
    eq(body["total"], 1, "user_id unquoted with escaped pipe")
    body = q('user_id:"%s"' % target["user_id"])
    eq([u["user_id"] for u in body["users"]], [target["user_id"]], "user_id quoted (index path)")
    eq(q('user_id:"auth0|nobody"')["total"], 0, "unknown user_id")
    body = q('identities.connection:"legacy-db"')
    check(body["total"] > 100 and all(u["identities"][0]["connection"] == "legacy-db" for u in body["users"]), "connection")
    body = q('identities.connection:"legacy-db" AND blocked:true')
    check(all(u.get("blocked") is True for u in body["users"]), "AND blocked")
    n_all = q("identities.connection:legacy-db")["total"]
    n_blocked = body["total"]
    n_not = q("identities.connection:legacy-db AND NOT blocked:true")["total"]
    eq(n_blocked + n_not, n_all, "NOT splits the set")
    body = q("email:james*")
    check(body["total"] > 0 and all(u["email"].startswith("james") for u in body["users"]), "wildcard")
    n1 = q("app_metadata.plan:enterprise")["total"]
    n2 = q("app_metadata.plan:pro")["total"]
    n3 = q("(app_metadata.plan:enterprise OR app_metadata.plan:pro)")["total"]
    check(n1 > 0 and n2 > 0, "plans present")
    eq(n3, n1 + n2, "OR with parentheses")
    body = q("user_metadata.preferences.theme:dark AND email_verified:false")
    check(all(u["user_metadata"]["preferences"]["theme"] == "dark" and u["email_verified"] is False for u in body["users"]), "nested")
    body = q("logins_count:[100 TO 200]")
    check(body["total"] > 0 and all(100 <= u["logins_count"] <= 200 for u in body["users"]), "range")
    body = q("_exists_:username")
    check(all("username" in u for u in body["users"]), "_exists_")
    body = q('name:"%s"' % target["name"])
    check(target["user_id"] in [u["user_id"] for u in body["users"]], "name match")


def test_get_user_and_404():
    st, _, some = api("GET", "/users?per_page=5")
    uid = some[0]["user_id"]
    st, _, u = api("GET", "/users/" + enc(uid))
    eq((st, u["user_id"]), (200, uid), "percent-encoded id")
    st, _, body = api("GET", "/users/" + enc("auth0|doesnotexist"))
    eq(st, 404, "missing")
    eq(body, {"statusCode": 404, "error": "Not Found", "message": "The user does not exist.", "errorCode": "inexistent_user"}, "body")


def test_users_by_email():
    st, _, u = api("POST", "/users", {"connection": DB, "email": "Mixed.Case@Example.com", "password": "Secr3t!pass"})
    eq(st, 201, "create")
    eq(u["email"], "mixed.case@example.com", "stored lower-case")
    st, _, body = api("GET", "/users-by-email?email=" + urllib.parse.quote("MIXED.case@example.com"))
    eq((st, [x["user_id"] for x in body]), (200, [u["user_id"]]), "bare array, case-insensitive")
    st, _, body = api("GET", "/users-by-email?email=nobody@example.com")
    eq(body, [], "no match")
    eq(api("GET", "/users-by-email")[0], 400, "email required")


def test_create_defaults_and_prefix():
    st, h, u = api("POST", "/users", {"connection": DB, "email": "new.person@example.com", "password": "Secr3t!pass",
                                       "user_id": "custom123", "user_metadata": {"a": {"b": 1}}})
    eq(st, 201, "201")
    eq(u["user_id"], "auth0|custom123", "auth0| prepended")
    eq(u["identities"], [{"connection": DB, "user_id": "custom123", "provider": "auth0", "isSocial": False}], "identities")
    eq((u["name"], u["nickname"], u["email_verified"]), ("new.person@example.com", "new.person", False), "defaults")
    check("logins_count" not in u and "last_login" not in u, "never logged in: no logins_count (recorded)")
    check(u["picture"].startswith("https://"), "picture")
    check(u["created_at"].endswith("Z") and u["updated_at"] == u["created_at"], "timestamps")
    check("password" not in u, "no password echoed")
    eq(api("GET", "/users/" + enc("auth0|custom123"))[2], u, "GET returns the same user")


def test_create_errors():
    base = {"connection": DB, "email": "dup@example.com", "password": "Secr3t!pass"}
    eq(api("POST", "/users", base)[0], 201, "first")
    st, _, body = api("POST", "/users", dict(base, email="DUP@example.com"))
    eq((st, body), (409, {"statusCode": 409, "error": "Conflict", "message": "The user already exists.",
                          "errorCode": "auth0_idp_error"}), "dup email")
    eq(api("POST", "/users", dict(base, email="dup2@example.com", user_id=None))[0], 400, "null user_id")
    eq(api("POST", "/users", dict(base, email="dup3@example.com", user_id="same-id"))[0], 201, "custom id")
    eq(api("POST", "/users", dict(base, email="dup4@example.com", user_id="same-id"))[0], 409, "duplicate user_id")
    st, _, body = api("POST", "/users", dict(base, email="x1@example.com", favourite="x"))
    eq((st, body["errorCode"]), (400, "invalid_body"), "additional property")
    check("favourite" in body["message"], "names the property")
    st, _, body = api("POST", "/users", {"connection": DB, "email": "x2@example.com"})
    eq(st, 400, "missing password")
    check("password" in body["message"], body["message"])
    eq(api("POST", "/users", {"email": "x3@example.com", "password": "p"})[0], 400, "missing connection")
    st, _, body = api("POST", "/users", {"connection": "nope", "email": "x4@example.com", "password": "p"})
    eq(st, 400, "unknown connection")
    st, _, body = api("POST", "/users", {"connection": "google-oauth2", "email": "x5@example.com", "password": "p"})
    eq(st, 400, "social connection")
    check("database or passwordless" in body["message"], body["message"])
    st, _, u6 = api("POST", "/users", dict(base, email="x6@example.com", username="abc"))
    eq((st, u6.get("username")), (201, "abc"), "username without requires_username: stored (recorded 2026-04)")
    T.quirks(username_needs_requires_username=True)
    try:
        eq(api("POST", "/users", dict(base, email="x6b@example.com", username="abd"))[0], 400,
           "quirk username_needs_requires_username: refused")
    finally:
        T.reset_quirks()
    eq(api("POST", "/users", {"connection": "legacy-db", "email": "x7@example.com", "password": "p"})[0], 400, "legacy-db needs a username")
    eq(api("POST", "/users", {"connection": "legacy-db", "email": "x7@example.com", "password": "p", "username": "x7"})[0], 201, "with username")
    eq(api("POST", "/users", {"connection": "legacy-db", "email": "x8@example.com", "password": "p", "username": "X7"})[0], 409, "dup username")
    eq(api("POST", "/users", dict(base, email="not-an-email"))[0], 400, "email format")
    eq(api("POST", "/users", dict(base, email="x9@example.com", phone_number="0123"))[0], 400, "phone pattern")
    eq(api("POST", "/users", dict(base, email="x10@example.com", blocked="yes"))[0], 400, "type")
    st, _, body = T.api("POST", "/users", b"{not json", token=TOK, headers={"Content-Type": "application/json"})
    eq(st, 400, "invalid JSON")


def test_patch_merge():
    st, _, u = api("POST", "/users", {"connection": DB, "email": "patch@example.com", "password": "Secr3t!pass",
                                       "given_name": "Pat", "user_metadata": {"a": 1, "b": {"x": 1}, "c": 3},
                                       "app_metadata": {"plan": "free"}})
    uid = enc(u["user_id"])
    st, _, p = api("PATCH", "/users/" + uid, {"user_metadata": {"b": {"y": 2}, "c": None, "d": [1]},
                                               "app_metadata": {"flags": {"beta": True}}, "given_name": None,
                                               "family_name": "Smith"})
    eq(st, 200, "status")
    eq(p["user_metadata"], {"a": 1, "b": {"y": 2}, "d": [1]}, "first-level merge, null unsets")
    eq(p["app_metadata"], {"plan": "free", "flags": {"beta": True}}, "app_metadata merge")
    check("given_name" not in p and p["family_name"] == "Smith", "null unsets a field, others replaced")
    check(p["updated_at"] >= u["updated_at"], "updated_at")
    st, _, p = api("PATCH", "/users/" + uid, {"user_metadata": {}})
    check("user_metadata" not in p, "an empty object clears the metadata")
    st, _, p = api("PATCH", "/users/" + uid, {"password": "An0ther!pass"})
    check("last_password_reset" in p and "password" not in p, "password sets last_password_reset")


def test_patch_rules():
    st, _, a = api("POST", "/users", {"connection": DB, "email": "pa@example.com", "password": "Secr3t!pass", "email_verified": True})
    st, _, b = api("POST", "/users", {"connection": DB, "email": "pb@example.com", "password": "Secr3t!pass"})
    ua = enc(a["user_id"])
    eq(api("PATCH", "/users/" + ua, {"email": "pb@example.com"})[0], 409, "email taken")
    eq(api("PATCH", "/users/" + ua, {"email": "x@example.com", "password": "x"})[0], 400, "password+email")
    eq(api("PATCH", "/users/" + ua, {"email_verified": True, "password": "x"})[0], 400, "password+email_verified")
    eq(api("PATCH", "/users/" + ua, {"bogus": 1})[0], 400, "unknown property")
    eq(api("PATCH", "/users/" + ua, {"user_id": "auth0|x"})[0], 400, "user_id is not patchable")
    st, _, p = api("PATCH", "/users/" + ua, {"email": "PA2@example.com"})
    eq((st, p["email"], p["email_verified"]), (200, "pa2@example.com", False), "email change resets email_verified")
    eq(api("PATCH", "/users/" + enc("auth0|nobody"), {"name": "x"})[0], 404, "404")
    st, _, l1 = api("POST", "/users", {"connection": "legacy-db", "email": "l1@example.com", "password": "p", "username": "l1user"})
    st, _, l2 = api("POST", "/users", {"connection": "legacy-db", "email": "l2@example.com", "password": "p", "username": "l2user"})
    eq(api("PATCH", "/users/" + enc(l2["user_id"]), {"username": "L1USER"})[0], 409, "username taken")
    st, _, p = api("PATCH", "/users/" + enc(l2["user_id"]), {"username": "l2new"})
    eq((st, p["username"]), (200, "l2new"), "username change")
    eq(api("PATCH", "/users/" + ua, {"username": "nope"})[0], 200, "username on a connection without requires_username")
    T.quirks(username_needs_requires_username=True)
    try:
        eq(api("PATCH", "/users/" + ua, {"username": "nope2"})[0], 400, "refused with the quirk")
    finally:
        T.reset_quirks()
    st, _, soc = api("GET", "/users?search_engine=v3&q=identities.connection:google-oauth2&per_page=1")
    eq(api("PATCH", "/users/" + enc(soc[0]["user_id"]), {"email": "s@example.com"})[0], 400, "email of a social user")


def test_delete_drops_memberships():
    st, _, roles = api("GET", "/roles")
    st, _, u = api("POST", "/users", {"connection": DB, "email": "del@example.com", "password": "Secr3t!pass"})
    uid = enc(u["user_id"])
    eq(api("POST", "/users/%s/roles" % uid, {"roles": [roles[0]["id"]]})[0], 204, "assign role")
    st, _, orgs = api("GET", "/organizations")
    eq(api("POST", "/organizations/%s/members" % orgs[0]["id"], {"members": [u["user_id"]]})[0], 204, "join org")
    eq(api("DELETE", "/users/" + uid)[0], 204, "delete")
    eq(api("GET", "/users/" + uid)[0], 404, "gone")
    eq(api("DELETE", "/users/" + uid)[0], 204, "delete again is still 204")
    state = T.state()
    check(all(m["user_id"] != u["user_id"] for o in state["organizations"] for m in o["members"]), "org membership dropped")
    st, _, ru = api("GET", "/roles/%s/users?per_page=100" % roles[0]["id"])
    check(u["user_id"] not in [x["user_id"] for x in ru], "role membership dropped")


run(globals())
