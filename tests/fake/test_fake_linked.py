"""Linked accounts: refusals, social and passwordless secondaries, linked
users in /__load and /__state, what a linked account still holds, exports."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, conn_id, eq, export_rows, import_body, run  # noqa: E402
from fakectl import FakeError, FakeTenant  # noqa: E402

T = FakeTenant("linked.example.com")
TOK = T.token()
DB = "Username-Password-Authentication"
CONNS = [{"name": DB, "strategy": "auth0"}, {"name": "legacy-db", "strategy": "auth0"},
         {"name": "google-oauth2", "strategy": "google-oauth2"}, {"name": "acme-saml", "strategy": "samlp"},
         {"name": "email", "strategy": "email"}, {"name": "sms", "strategy": "sms"}]

# a primary with three linked identities: database, passwordless, social
PRIMARY = {
    "user_id": "auth0|prim1", "email": "prim@example.com", "email_verified": True, "name": "Prim",
    "roles": [], "organizations": [],
    "identities": [
        {"connection": DB, "user_id": "prim1", "provider": "auth0", "isSocial": False},
        {"profileData": {"email": "prim@example.com", "email_verified": False, "username": "prim_l"},
         "connection": "legacy-db", "user_id": "sec1", "provider": "auth0", "isSocial": False},
        {"profileData": {"email": "prim@example.com", "email_verified": True},
         "connection": "email", "user_id": "sec2", "provider": "email", "isSocial": False},
        {"profileData": {"email": "prim@gmail.example", "email_verified": True, "name": "Prim G",
                         "picture": "https://lh3.googleusercontent.com/a/x"},
         "connection": "google-oauth2", "user_id": "104000000000000000001", "provider": "google-oauth2", "isSocial": True},
    ],
}


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def enc(uid):
    return urllib.parse.quote(uid, safe="")


def load_bad(doc):
    try:
        T.load(doc)
    except FakeError as e:
        check("400" in str(e), str(e))
        return str(e)
    raise AssertionError("accepted: %s" % json.dumps(doc)[:200])


def user(uid, conn, email=None, **kw):
    u = dict({"user_id": uid, "connection": conn}, **kw)
    if email:
        u["email"] = email
    return u


def test_load_and_state_linked_users():
    T.load({"connections": CONNS, "users": [PRIMARY, user("auth0|other", DB, "other@example.com")]})
    st = T.state()
    got = [u for u in st["users"] if u["user_id"] == "auth0|prim1"][0]
    eq(got["identities"], PRIMARY["identities"], "/__state shows every identity with its profileData")
    eq([u["user_id"] for u in st["users"]], ["auth0|other", "auth0|prim1"], "secondaries are no users")
    eq(api("GET", "/users/" + enc("auth0|sec1"))[0], 404, "GET of a secondary: 404")
    eq(api("GET", "/users/" + enc("auth0|prim1"))[2]["identities"], PRIMARY["identities"], "GET /users/{id}")
    T.load(st)
    eq(T.state(), st, "a state with linked users loads back unchanged")
    # isSocial may be left out: filled from the connection
    T.load({"connections": CONNS, "users": [dict(PRIMARY, identities=[
        PRIMARY["identities"][0], {k: v for k, v in PRIMARY["identities"][3].items() if k != "isSocial"}])]})
    eq(T.state()["users"][0]["identities"][1]["isSocial"], True, "isSocial filled in")


def test_load_refusals():
    base = {"connections": CONNS}
    prim = PRIMARY["identities"][0]
    load_bad(dict(base, users=[dict(PRIMARY, identities=[prim, {"connection": "nope", "user_id": "x", "provider": "auth0"}])]))
    load_bad(dict(base, users=[dict(PRIMARY, identities=[prim, {"connection": "email", "user_id": "x", "provider": "auth0"}])]))
    load_bad(dict(base, users=[dict(PRIMARY, identities=[prim, {"connection": "sms", "provider": "sms"}])]))
    load_bad(dict(base, users=[PRIMARY, user("auth0|sec1", "legacy-db", "x@example.com")]))  # also a user
    load_bad(dict(base, users=[PRIMARY, dict(PRIMARY, user_id="auth0|prim2", identities=[
        dict(prim, user_id="prim2"), PRIMARY["identities"][2]])]))  # linked twice
    T.load(dict(base, users=[PRIMARY]))
    load_bad({"merge": True, "users": [user("email|sec2", "email", "n@example.com")]})  # a linked identity


def test_link_refusals():
    T.load({"connections": CONNS, "users": [PRIMARY, user("auth0|p2", DB, "p2@example.com"),
                                            user("auth0|free", DB, "free@example.com")]})
    p2 = "/users/%s/identities" % enc("auth0|p2")
    st, _, b = api("POST", p2, {"provider": "auth0", "user_id": "auth0|ghost"})
    eq((st, b["message"]), (400, "Provided secondary account not found."), "no such account")
    st, _, b = api("POST", p2, {"provider": "auth0", "user_id": "auth0|sec1"})
    eq((st, b["message"]), (400, "Unable to link with the secondary account."), "linked to another primary")
    st, _, b = api("POST", p2, {"provider": "email", "user_id": "sec2"})
    eq((st, b["message"]), (400, "Unable to link with the secondary account."), "the same, passwordless, bare id")
    st, _, b = api("POST", "/users/%s/identities" % enc("auth0|prim1"), {"provider": "auth0", "user_id": "sec1"})
    eq((st, b["message"]), (409, "Specified identity already exists."), "already linked to this primary")
    st, _, b = api("POST", "/users/%s/identities" % enc("auth0|sec1"), {"provider": "auth0", "user_id": "auth0|free"})
    eq(st, 404, "a secondary is no primary")
    eq(api("POST", p2, {"provider": "auth0", "user_id": "auth0|free"})[0], 201, "a free account links")


def test_link_social_and_passwordless():
    T.load({"connections": CONNS, "users": [
        user("auth0|p", DB, "p@example.com"),
        user("google-oauth2|105000000000000000002", "google-oauth2", "g@gmail.example", given_name="Gee"),
        user("sms|s1", "sms", phone_number="+15550001111", phone_verified=True)]})
    path = "/users/%s/identities" % enc("auth0|p")
    gcon = conn_id(T, "google-oauth2", TOK)
    st, _, ids = api("POST", path, {"provider": "google-oauth2", "user_id": "105000000000000000002", "connection_id": gcon})
    eq((st, [i["provider"] for i in ids]), (201, ["auth0", "google-oauth2"]), "social secondary by provider + user_id")
    eq((ids[1]["isSocial"], ids[1]["profileData"]["given_name"]), (True, "Gee"), "isSocial, profileData")
    st, _, ids = api("POST", path, {"provider": "sms", "user_id": "sms|s1"})
    eq((st, ids[2]["provider"], ids[2]["profileData"]["phone_number"]), (201, "sms", "+15550001111"), "sms secondary")
    eq([u["user_id"] for u in T.state()["users"]], ["auth0|p"], "both secondaries left the user list")
    st, _, ids = api("DELETE", path + "/sms/s1")
    eq((st, len(ids)), (200, 2), "unlink")
    eq(api("GET", "/users/" + enc("sms|s1"))[2]["phone_number"], "+15550001111", "the sms user is back")


def test_linked_account_keeps_its_keys():
    T.load({"connections": CONNS, "users": [PRIMARY]})
    base = {"connection": "legacy-db", "password": "Secr3t!pass"}
    st, _, b = api("POST", "/users", dict(base, email="prim@example.com", username="new1"))
    eq((st, b["message"]), (409, "The user already exists."), "email of a linked legacy-db account")
    eq(api("POST", "/users", dict(base, email="n2@example.com", username="PRIM_L"))[0], 409, "its username")
    eq(api("POST", "/users", {"connection": DB, "email": "n3@example.com", "password": "Secr3t!pass",
                              "user_id": "sec1"})[0], 409, "its user_id (auth0|sec1)")
    eq(api("POST", "/users", {"connection": "email", "email": "prim@example.com"})[0], 409,
       "the linked email account's email")
    eq(api("POST", "/users", {"connection": DB, "email": "prim2@example.com", "password": "Secr3t!pass"})[0], 201,
       "other values are free")
    # bulk import: the same keys are taken
    cid = conn_id(T, "legacy-db", TOK)
    for upsert, want in ((False, "DUPLICATED_USER"), (True, "CONFLICT_EMAIL")):
        body, ctype = import_body(cid, [{"email": "prim@example.com", "username": "imp1"}], upsert=upsert)
        st, _, job = T.api("POST", "/jobs/users-imports", body, token=TOK, headers={"Content-Type": ctype})
        eq(st, 202, "import")
        for _ in range(300):
            T.clock(advance=1)
            j = api("GET", "/jobs/" + job["id"])[2]
            if j["status"] == "completed":
                break
        errs = api("GET", "/jobs/%s/errors" % job["id"])[2]
        eq([e["code"] for e in errs[0]["errors"]], [want], "import upsert=%s" % upsert)
    # unlinking gives the account back; deleting the primary frees its identities
    api("DELETE", "/users/%s/identities/auth0/sec1" % enc("auth0|prim1"))
    eq(api("GET", "/users/" + enc("auth0|sec1"))[2]["username"], "prim_l", "unlinked")
    eq(api("DELETE", "/users/" + enc("auth0|prim1"))[0], 204, "delete the primary")
    eq(api("POST", "/users", {"connection": "email", "email": "prim@example.com", "user_id": "sec2"})[0], 201,
       "its linked identities went with it")


def test_export_carries_identities():
    T.load({"connections": CONNS, "users": [PRIMARY, user("auth0|other", DB, "other@example.com")]})
    rows = export_rows(T, {"format": "json", "fields": [{"name": "user_id"}, {"name": "identities"}]}, TOK)
    eq({r["user_id"]: r["identities"] for r in rows},
       {"auth0|prim1": PRIMARY["identities"], "auth0|other": [
           {"connection": DB, "user_id": "other", "provider": "auth0", "isSocial": False}]},
       "every identity, with the secondaries' profileData")


run(globals())
