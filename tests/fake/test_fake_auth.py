"""Token endpoint, bearer checks, scopes, rate limiting, log hygiene."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, eq, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

DOMAIN = "auth.example.com"
AUD = "https://%s/api/v2/" % DOMAIN
T = FakeTenant(DOMAIN, seed=3, users=30)


def _token_req(body, ctype):
    data = body if isinstance(body, bytes) else body.encode()
    return T._http("POST", T.api_url + "/oauth/token", data, {"Content-Type": ctype})


def test_token_form():
    import urllib.parse

    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": T.client_id,
                                   "client_secret": T.client_secret, "audience": AUD})
    st, h, raw = _token_req(form, "application/x-www-form-urlencoded")
    eq(st, 200, "status")
    body = json.loads(raw)
    eq(body["token_type"], "Bearer", "token_type")
    eq(body["expires_in"], 86400, "expires_in")
    check("read:users" in body["scope"].split(), "scope lists read:users")
    eq(body["access_token"].count("."), 2, "JWT-shaped token")
    eq(h.get("Content-Type"), "application/json; charset=utf-8", "content type")


def test_token_json():
    st, _, raw = _token_req(json.dumps({"grant_type": "client_credentials", "client_id": T.client_id,
                                        "client_secret": T.client_secret, "audience": AUD}), "application/json")
    eq(st, 200, "status")
    st, _, body = T.api("GET", "/users?per_page=1", token=json.loads(raw)["access_token"])
    eq(st, 200, "token works")


def test_token_bad_audience():
    for aud in ("https://%s/api/v2" % DOMAIN, "https://other.example.com/api/v2/", None):
        d = {"grant_type": "client_credentials", "client_id": T.client_id, "client_secret": T.client_secret}
        if aud:
            d["audience"] = aud
        st, _, raw = _token_req(json.dumps(d), "application/json")
        eq(st, 403, "audience %r" % aud)
        eq(json.loads(raw)["error"], "access_denied", "error")


def test_token_bad_secret_and_client():
    for cid, sec in ((T.client_id, "nope"), ("someone-else", T.client_secret), (T.client_id, "")):
        st, _, raw = _token_req(json.dumps({"grant_type": "client_credentials", "client_id": cid,
                                            "client_secret": sec, "audience": AUD}), "application/json")
        eq(st, 401, "status")
        eq(json.loads(raw)["error"], "invalid_client", "error")


def test_token_grant_type():
    st, _, raw = _token_req(json.dumps({"client_id": T.client_id, "client_secret": T.client_secret,
                                        "audience": AUD}), "application/json")
    eq((st, json.loads(raw)["error"]), (400, "invalid_request"), "missing grant_type")
    st, _, raw = _token_req(json.dumps({"grant_type": "password", "client_id": T.client_id,
                                        "client_secret": T.client_secret, "audience": AUD}), "application/json")
    eq((st, json.loads(raw)["error"]), (400, "unsupported_grant_type"), "password grant")
    st, _, raw = _token_req("x", "text/plain")
    eq(st, 400, "text/plain body")


def test_missing_and_bad_bearer():
    st, h, body = T.api("GET", "/users", token="")
    eq(st, 401, "no header")
    eq(body, {"statusCode": 401, "error": "Unauthorized", "message": "Missing authentication"}, "body")
    check("x-ratelimit-limit" in h, "rate-limit headers on 401")
    st, _, body = T.api("GET", "/users", token="", headers={"Authorization": "Basic abc"})
    eq((st, body["message"]), (401, "Bad HTTP authentication header format"), "basic")
    st, _, body = T.api("GET", "/users", token="not.a.jwt")
    eq(st, 401, "garbage token")
    good = T.token()
    head, payload, sig = good.split(".")
    st, _, body = T.api("GET", "/users", token=head + "." + payload + "." + sig[:-4] + "AAAA")
    eq((st, body["message"]), (401, "Invalid signature received for JSON Web Token validation"), "tampered")


def test_expire_tokens():
    tok = T.token()
    eq(T.api("GET", "/users?per_page=1", token=tok)[0], 200, "before")
    T.expire_tokens()
    st, _, body = T.api("GET", "/users?per_page=1", token=tok)
    eq(st, 401, "after expire")
    eq(body, {"statusCode": 401, "error": "Unauthorized", "message": "Expired token received for JSON Web Token validation",
              "attributes": {"error": "Expired token received for JSON Web Token validation"}}, "expired body")
    eq(T.api("GET", "/users?per_page=1")[0], 200, "a new token works")


def test_token_ttl_via_clock():
    T.config(token_ttl=30)
    try:
        import urllib.parse

        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": T.client_id,
                                       "client_secret": T.client_secret, "audience": AUD})
        st, _, raw = _token_req(form, "application/x-www-form-urlencoded")
        body = json.loads(raw)
        eq(body["expires_in"], 30, "expires_in follows token_ttl")
        eq(T.api("GET", "/roles", token=body["access_token"])[0], 200, "fresh")
        T.clock(advance=31)
        eq(T.api("GET", "/roles", token=body["access_token"])[0], 401, "expired by time")
    finally:
        T.config(token_ttl=86400)


def test_scopes_403():
    with FakeTenant("narrow.example.com", scopes="read:users") as n:
        st, _, body = n.api("GET", "/roles")
        eq(st, 403, "roles without read:roles")
        eq(body["errorCode"], "insufficient_scope", "errorCode")
        check(body["message"].startswith("Insufficient scope, expected any of: read:roles"), body["message"])
        st, _, body = n.api("GET", "/users?per_page=1")
        eq(st, 200, "read:users suffices for /users")
        st, _, body = n.api("GET", "/users/auth0%7Cx/roles")
        eq(st, 403, "user roles needs all three")
        check("expected all of" in body["message"], body["message"])
        st, _, body = n.api("POST", "/jobs/users-exports", {"format": "json"})
        eq(st, 200, "export needs read:users only")
        st, _, body = n.api("POST", "/users", {"connection": "x"})
        eq(st, 403, "create needs create:users")
        st, _, body = n.api("GET", "/connections")
        eq(st, 403, "connections need read:connections")


def test_app_metadata_only_scope():
    with FakeTenant("meta.example.com", scopes="read:users update:users_app_metadata create:users") as n:
        st, _, u = n.api("POST", "/users", {"connection": "Username-Password-Authentication", "email": "a@x.example",
                                             "password": "Passw0rd!x"})
        eq(st, 201, "create")
        uid = u["user_id"].replace("|", "%7C")
        eq(n.api("PATCH", "/users/" + uid, {"app_metadata": {"a": 1}})[0], 200, "app_metadata only")
        eq(n.api("PATCH", "/users/" + uid, {"name": "x"})[0], 403, "name needs update:users")


def test_options_need_scope():
    st, _, body = T.api("GET", "/connections")
    check(all("options" not in c for c in body), "no options without read:connections_options")
    check(all("enabled_clients" in c for c in body), "list items carry enabled_clients (recorded 2023, 2026)")
    with FakeTenant("opts.example.com", scopes="read:connections read:connections_options") as n:
        st, _, body = n.api("GET", "/connections?name=legacy-db")
        eq(body[0]["options"]["requires_username"], True, "legacy-db requires usernames")


def test_rate_limit_headers_and_429():
    st, h, _ = T.api("GET", "/users?per_page=1")
    for k in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        check(k in h, "header %s" % k)
    eq(h["x-ratelimit-limit"], "1000", "limit = burst")
    st, h, _ = T.api("GET", "/nope")
    eq(st, 404, "unknown path")
    check("x-ratelimit-reset" in h, "headers on 404")
    tok = T.token()
    T.config(rate_burst=3, rate_per_sec=0.001)
    try:
        T.clear_log()
        seen = []
        for _ in range(5):
            st, h, body = T.api("GET", "/roles", token=tok)
            seen.append((st, h["x-ratelimit-remaining"]))
        eq([s for s, _ in seen], [200, 200, 200, 429, 429], "statuses")
        eq([r for _, r in seen[:3]], ["2", "1", "0"], "remaining counts down")
        eq(body, {"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached",
                  "errorCode": "too_many_requests"}, "429 body")
        import time

        check(int(h["x-ratelimit-reset"]) > time.time(), "reset is in the future")
        log = T.log()
        eq(sum(1 for e in log if e.get("rate_limited")), 2, "429s recorded in the log")
        eq(T.token().count("."), 2, "the token endpoint has its own bucket")
    finally:
        T.config(rate_burst=1000, rate_per_sec=1000)


def test_log_has_no_secrets():
    T.clear_log()
    tok = T.token()
    T.api("GET", "/users?per_page=1", token=tok)
    raw = json.dumps(T.log())
    check(tok not in raw and T.client_secret not in raw, "no token or secret in the log")
    entry = [e for e in T.log() if e["path"] == "/api/v2/users"][0]
    for k in ("seq", "t", "listener", "method", "path", "query", "status", "authorization", "content_type", "body_bytes"):
        check(k in entry, "log key %s" % k)
    eq((entry["listener"], entry["authorization"], entry["status"], entry["query"]), ("api", True, 200, "per_page=1"), "entry")


def test_control_not_logged():
    T.clear_log()
    T.state()
    T.faults()
    eq(T.log(), [], "control endpoints are not logged")


run(globals())
