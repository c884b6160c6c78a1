"""Passwordless (email / sms) connections and users, and the outbox of
verification emails."""

import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, conn_id, eq, export_rows, import_body, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

T = FakeTenant("passwordless.example.com")
TOK = T.token()
DB = "Username-Password-Authentication"
PASSWORDLESS = {"merge": True, "connections": [{"name": "email", "strategy": "email"},
                                               {"name": "sms", "strategy": "sms"}]}


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def enc(uid):
    return urllib.parse.quote(uid, safe="")


def fresh():
    """The default connections plus `email` and `sms`, no users, no mail."""
    T.load({})
    T.load(PASSWORDLESS)
    T.clear_outbox()
    T.reset_quirks()


def test_connections():
    fresh()
    st = T.state()
    eq([(c["name"], c["strategy"]) for c in st["connections"]][-2:], [("email", "email"), ("sms", "sms")],
       "/__load makes passwordless connections, /__state shows them")
    st, _, body = api("GET", "/connections?strategy=email&strategy=sms")
    eq([(c["name"], c["strategy"], c["realms"]) for c in body], [("email", "email", ["email"]), ("sms", "sms", ["sms"])],
       "listed by strategy; realms as recorded")
    with FakeTenant("pwl-opts.example.com", scopes="read:connections read:connections_options") as n:
        n.load(PASSWORDLESS)
        body = n.api("GET", "/connections?strategy=sms")[2]
        check("totp" in body[0]["options"] and "twilio_token" not in body[0]["options"], "sms options without secrets")


def test_create_email_user():
    fresh()
    st, _, u = api("POST", "/users", {"connection": "email", "email": "Pat@Example.com", "given_name": "Pat"})
    eq(st, 201, "created")
    raw = u["user_id"].split("|", 1)[1]
    check(u["user_id"].startswith("email|") and len(raw) == 24 and all(c in "0123456789abcdef" for c in raw),
          "email|<24 hex>: " + u["user_id"])
    eq(u["identities"], [{"connection": "email", "user_id": raw, "provider": "email", "isSocial": False}], "identity")
    eq((u["email"], u["email_verified"], u["name"], u["nickname"], u["given_name"]),
       ("pat@example.com", False, "pat@example.com", "pat", "Pat"), "profile")
    check("password" not in u and "username" not in u and "logins_count" not in u, "no password, username, logins")
    st, _, u2 = api("POST", "/users", {"connection": "email", "email": "given@example.com", "user_id": "mine-1"})
    eq((st, u2["user_id"], u2["identities"][0]["user_id"]), (201, "email|mine-1", "mine-1"),
       "a given user_id gets the email| prefix")
    eq(api("GET", "/users/" + enc(u2["user_id"]))[2], u2, "GET answers the created user")


def test_create_sms_user():
    fresh()
    st, _, u = api("POST", "/users", {"connection": "sms", "phone_number": "+15550001111", "phone_verified": True})
    eq(st, 201, "created")
    check(u["user_id"].startswith("sms|"), u["user_id"])
    eq(u["identities"][0]["provider"], "sms", "provider sms")
    eq((u["phone_number"], u["phone_verified"], u["name"], u["nickname"]),
       ("+15550001111", True, "+15550001111", "+15550001111"), "named by the phone number")
    check("email" not in u and "email_verified" not in u, "no email")
    st, _, u2 = api("POST", "/users", {"connection": "sms", "phone_number": "+15550002222", "email": "s@example.com",
                                       "user_id": "s2"})
    eq((st, u2["user_id"], u2["email"], u2["email_verified"], u2["phone_verified"]),
       (201, "sms|s2", "s@example.com", False, False), "email optional; phone_verified defaults to false")
    eq(T.outbox(), [], "neither an sms code nor a verification email is sent for sms users")


def test_create_refusals():
    fresh()
    cases = [
        ({"connection": "email", "email": "a@example.com", "password": "Secr3t!pass"}, 400,
         "Password is only valid for auth0 connection strategy."),
        ({"connection": "email", "email": "a@example.com", "username": "a"}, 400,
         "Cannot set username for connection without requires_username."),
        ({"connection": "sms", "phone_number": "+15550003333", "password": "Secr3t!pass"}, 400,
         "Password is only valid for auth0 connection strategy."),
        ({"connection": "sms", "phone_number": "+15550003333", "username": "a"}, 400,
         "Cannot set username for connection without requires_username."),
        ({"connection": "email", "phone_number": "+15550003333"}, 400,
         "Payload validation error: 'Missing required property: email'."),
        ({"connection": "sms", "email": "a@example.com"}, 400,
         "Payload validation error: 'Missing required property: phone_number'."),
    ]
    for body, status, msg in cases:
        st, _, b = api("POST", "/users", body)
        eq((st, b["message"]), (status, msg), "refused: %s" % sorted(body))
    eq(api("POST", "/users", {"connection": "sms", "phone_number": "5550003333"})[0], 400, "E.164 only")
    eq(api("POST", "/users", {"connection": "email", "email": "not-an-email"})[0], 400, "email format")
    eq(api("POST", "/users", {"connection": "email", "email": "a@example.com", "nope": 1})[0], 400, "unknown property")
    eq(T.state()["users"], [], "nothing was created")
    # duplicates per connection: 409 like database users
    eq(api("POST", "/users", {"connection": "email", "email": "dup@example.com"})[0], 201, "first")
    st, _, b = api("POST", "/users", {"connection": "email", "email": "DUP@example.com"})
    eq((st, b["errorCode"]), (409, "auth0_idp_error"), "same email, same connection")
    eq(api("POST", "/users", {"connection": DB, "email": "dup@example.com", "password": "Secr3t!pass"})[0], 201,
       "the same email in another connection is another user")
    eq(api("POST", "/users", {"connection": "sms", "phone_number": "+15550004444"})[0], 201, "sms first")
    eq(api("POST", "/users", {"connection": "sms", "phone_number": "+15550004444"})[0], 409, "same phone number")
    eq(api("POST", "/users", {"connection": "email", "email": "x@example.com", "user_id": "u1"})[0], 201, "id u1")
    eq(api("POST", "/users", {"connection": "email", "email": "y@example.com", "user_id": "u1"})[0], 409, "same id")


def test_verification_emails_on_create():
    fresh()
    cases = [  # (body extras, connection, sent?)
        ({}, DB, True),
        ({"email_verified": True}, DB, False),
        ({"verify_email": False}, DB, False),
        ({"email_verified": False, "verify_email": True}, DB, True),
        ({}, "email", True),
        ({"email_verified": True}, "email", False),
        ({"verify_email": False}, "email", False),
    ]
    want = []
    for i, (extra, conn, sent) in enumerate(cases):
        body = dict({"connection": conn, "email": "v%d@example.com" % i}, **extra)
        if conn == DB:
            body["password"] = "Secr3t!pass"
        st, _, u = api("POST", "/users", body)
        eq(st, 201, "create %d" % i)
        if sent:
            want.append((u["user_id"], "v%d@example.com" % i))
    box = T.outbox()
    eq([(m["kind"], m["user_id"], m["email"]) for m in box], [("verification_email",) + w for w in want], "outbox")
    check(all(abs(m["t"] - time.time()) < 60 for m in box), "t is the fake's clock (epoch seconds)")
    T.clear_outbox()
    eq(T.outbox(), [], "DELETE /__outbox clears")
    # a reported behaviour (node-auth0#225): verify_email false ignored for email users
    T.quirks(email_user_verify_email="ignored")
    st, _, u = api("POST", "/users", {"connection": "email", "email": "ign@example.com", "verify_email": False})
    eq([m["user_id"] for m in T.outbox()], [u["user_id"]], "quirk ignored: the email goes out")
    api("POST", "/users", {"connection": DB, "email": "ign2@example.com", "password": "Secr3t!pass", "verify_email": False})
    eq(len(T.outbox()), 1, "database users: verify_email false still honoured")
    T.reset_quirks()
    T.load({})
    eq(len(T.outbox()), 1, "/__load keeps the outbox")


def test_patch_passwordless():
    fresh()
    e = api("POST", "/users", {"connection": "email", "email": "pe@example.com", "verify_email": False})[2]
    s = api("POST", "/users", {"connection": "sms", "phone_number": "+15550005555"})[2]
    api("POST", "/users", {"connection": "email", "email": "other@example.com", "verify_email": False})
    api("POST", "/users", {"connection": "sms", "phone_number": "+15550006666"})
    ep, sp = "/users/" + enc(e["user_id"]), "/users/" + enc(s["user_id"])
    st, _, u = api("PATCH", ep, {"given_name": "Pe", "user_metadata": {"a": 1}, "app_metadata": {"b": 2},
                                 "blocked": True, "email_verified": True, "phone_number": "+15550007777",
                                 "phone_verified": True, "picture": "https://example.com/p.png"})
    eq((st, u["given_name"], u["user_metadata"], u["app_metadata"], u["blocked"], u["email_verified"], u["phone_verified"]),
       (200, "Pe", {"a": 1}, {"b": 2}, True, True, True), "profile, metadata, blocked, verified flags")
    st, _, u = api("PATCH", sp, {"family_name": "Sms", "phone_verified": True, "blocked": False})
    eq((st, u["family_name"], u["phone_verified"]), (200, "Sms", True), "sms profile")
    # the identifying attribute can change (unconfirmed), not be removed
    st, _, u = api("PATCH", ep, {"email": "PE2@example.com"})
    eq((st, u["email"], u["email_verified"]), (200, "pe2@example.com", False), "email user: new email, unverified")
    eq([(m["user_id"], m["email"]) for m in T.outbox()], [(e["user_id"], "pe2@example.com")], "verification email sent")
    T.clear_outbox()
    api("PATCH", ep, {"email": "pe3@example.com", "verify_email": False})
    api("PATCH", ep, {"email": "pe4@example.com", "email_verified": True})
    api("PATCH", ep, {"email": "pe4@example.com"})
    eq(T.outbox(), [], "verify_email false, email_verified true, or the same email: no email")
    eq(api("PATCH", ep, {"email": "other@example.com"})[0], 409, "email taken in the connection")
    st, _, u = api("PATCH", sp, {"phone_number": "+15550008888"})
    eq((st, u["phone_number"]), (200, "+15550008888"), "sms user: new phone number")
    eq(api("PATCH", sp, {"phone_number": "+15550006666"})[0], 409, "phone number taken in the connection")
    refusals = [
        (ep, {"password": "Secr3t!pass"}, "Cannot update password for non-database user."),
        (ep, {"username": "pe"}, "Cannot update username for non-database user."),
        (sp, {"password": "Secr3t!pass"}, "Cannot update password for non-database user."),
        (sp, {"username": "sp"}, "Cannot update username for non-database user."),
        (sp, {"email": "sp@example.com"}, "Cannot update email for non-database user."),
        (sp, {"email_verified": True}, "Email verification is not supported for sms users."),
        (ep, {"email": None}, "Cannot remove email: it identifies a passwordless user."),
        (sp, {"phone_number": None}, "Cannot remove phone_number: it identifies a passwordless user."),
    ]
    for path, body, msg in refusals:
        st, _, b = api("PATCH", path, body)
        eq((st, b["message"]), (400, msg), "PATCH %s refused" % sorted(body))
    eq(T.outbox(), [], "no mail from refused calls")


def test_patch_database_email_sends():
    fresh()
    u = api("POST", "/users", {"connection": DB, "email": "db@example.com", "password": "Secr3t!pass",
                               "email_verified": True})[2]
    eq(T.outbox(), [], "verified at creation: nothing")
    api("PATCH", "/users/" + enc(u["user_id"]), {"email": "db2@example.com"})
    eq([m["email"] for m in T.outbox()], ["db2@example.com"], "a changed email is verified by mail")
    st, _, b = api("PATCH", "/users/" + enc(u["user_id"]), {"email": "db3@example.com", "username": "x"})
    eq((st, [m["email"] for m in T.outbox()]), (400, ["db2@example.com"]), "a refused PATCH sends nothing")
    # enterprise users: OAS "Email verification is not supported for enterprise users."
    T.load({"merge": True, "users": [{"user_id": "samlp|acme-saml|e@acme.example", "connection": "acme-saml",
                                      "email": "e@acme.example"}]})
    st, _, b = api("PATCH", "/users/" + enc("samlp|acme-saml|e@acme.example"), {"email_verified": True})
    eq((st, b["message"]), (400, "Email verification is not supported for enterprise users."), "enterprise")


def test_listed_exported_not_imported():
    fresh()
    e = api("POST", "/users", {"connection": "email", "email": "le@example.com", "verify_email": False})[2]
    s = api("POST", "/users", {"connection": "sms", "phone_number": "+15550009999", "user_id": "ls"})[2]
    api("POST", "/users", {"connection": DB, "email": "ldb@example.com", "password": "Secr3t!pass"})
    st, _, body = api("GET", "/users?include_totals=true")
    eq(body["total"], 3, "GET /users lists passwordless users")
    q = urllib.parse.quote("identities.connection:sms")
    st, _, body = api("GET", "/users?search_engine=v3&q=" + q)
    eq([u["user_id"] for u in body], ["sms|ls"], "searchable by connection")
    rows = export_rows(T, {"format": "json", "fields": [
        {"name": "user_id"}, {"name": "email"}, {"name": "phone_number"}, {"name": "identities"}]}, TOK)
    rows = {r["user_id"]: r for r in rows}
    eq(rows[e["user_id"]]["identities"], e["identities"], "email user exported with its identity")
    eq(rows["sms|ls"], {"user_id": "sms|ls", "phone_number": "+15550009999", "identities": s["identities"]},
       "sms user exported")
    # bulk imports stay database-only
    body, ctype = import_body(conn_id(T, "email", TOK), [{"email": "imp@example.com"}])
    st, _, b = T.api("POST", "/jobs/users-imports", body, token=TOK, headers={"Content-Type": ctype})
    eq((st, b["message"]), (400, "Connection must be a database connection."), "no imports into email")


run(globals())
