#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<harness>/ (stdlib only).

The seeds are committed; this script is how they were made and how to make
them again after a format change: `python3 tests/fuzz/seeds.py`. It only
rewrites files whose name it owns (seed-*), so inputs added by hand or
merged from a fuzzing run stay. Bodies are the real ones quoted in
/work/shared/auth0/API-NOTES.md (job objects, error and 429 bodies, user
objects, pages) and the snapshot format of snapshots/README.md.
"""
import base64
import gzip
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
SEAL = "@SHA256@"  # fuzz_util.h: FUZZ_SHA256_MARK


def compact(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def gz(data, mtime=0):
    return gzip.compress(data, compresslevel=6, mtime=mtime)


def write(harness, name, data):
    folder = os.path.join(CORPUS, harness)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


# --- users, as Auth0 shapes them (API-NOTES §2, §8, §9) -----------------

SNAP_ID = "3f6c0d9be6a94c6f8d1b2a7e5c4d3b2a"
OTHER_ID = "0123456789abcdef0123456789abcdef"

USERS = [
    {
        "user_id": "auth0|63d16b5edf1ce171262c71b5",
        "email": "auzironian@example.com",
        "email_verified": True,
        "name": "auzironian@example.com",
        "nickname": "auzironian",
        "picture": "https://secure.gravatar.com/avatar/abc.png",
        "created_at": "2023-01-25T17:48:16.647Z",
        "updated_at": "2023-01-25T17:48:16.647Z",
        "identities": [{"provider": "auth0", "connection": "Username-Password-Authentication",
                        "isSocial": False, "user_id": "63d16b5edf1ce171262c71b5"}],
        "user_metadata": {"theme": "dark", "phone": "+33 1 42 68 53 00"},
        "app_metadata": {"plan": "gold", "tags": ["beta", "vip"], "email": "x@y.org"},
        "roles": [{"id": "rol_NHBmr6NkzbRcHob1", "name": "editor"}],
        "organizations": [{"id": "org_VvIJTfJhf3NwyCie", "name": "acme",
                           "roles": [{"id": "rol_2", "name": "member"}]}],
    },
    {
        "user_id": "google-oauth2|1098765",
        "email": "Jane.Doe@Gmail-Alias.net",
        "email_verified": "true",
        "given_name": "Jane",
        "family_name": "Doe",
        "identities": [{"provider": "google-oauth2", "connection": "google-oauth2",
                        "isSocial": True, "user_id": 1098765, "access_token": "ya29.x"}],
        "logins_count": 42,
        "last_ip": "203.0.113.77",
    },
    {
        "user_id": "samlp|acme-saml|bob@acme.example",
        "username": "bob",
        "phone_number": "+14155550142",
        "phone_verified": False,
        "blocked": True,
        "identities": [{"provider": "samlp", "connection": "acme-saml", "isSocial": False,
                        "user_id": "acme-saml|bob@acme.example"}],
        "user_metadata": {"address": {"street": "12 Rue Q", "zip": "75004"},
                          "contacts": [{"email": "a@b.org"}, {"mobile": "06 12"}]},
    },
    {"user_id": "sms|5f1", "phone_number": "+447700900123",
     "identities": [{"provider": "sms", "connection": "sms", "user_id": "5f1"}]},
]


def header(extra=None, snap_id=SNAP_ID):
    h = {
        "a0snap": "header",
        "catalogue": {
            "connections": [{"id": "con_ftSSLHb0O7rcUGmF", "name": "Username-Password-Authentication",
                             "strategy": "auth0"}],
            "organizations": [{"display_name": "Acme", "id": "org_VvIJTfJhf3NwyCie", "name": "acme"}],
            "roles": [{"description": "Edits", "id": "rol_NHBmr6NkzbRcHob1", "name": "editor"}],
        },
        "created_at": "2026-11-26T13:20:00Z",
        "format": "a0snap-snapshot",
        "format_version": 1,
        "snapshot_id": snap_id,
        "source": {"domain": "dev-tenant.eu.auth0.com"},
        "tool": {"name": "a0snap", "version": "0.1.0"},
    }
    h.update(extra or {})
    return h


def connections_of(users):
    counts = {}
    for u in users:
        ids = u.get("identities") or [{}]
        c = ids[0].get("connection", "") if isinstance(ids[0], dict) else ""
        counts[c] = counts.get(c, 0) + 1
    return counts


def snapshot_text(users, hdr=None, trailer=None, seal=True, real_hash=False):
    """NDJSON of a snapshot; the trailer's sha256 is the seal mark (the
    harness fills it in) or, for raw gzip seeds, the real hash."""
    users = sorted(users, key=lambda u: u["user_id"].encode())
    head = compact(hdr or header()) + "\n" + "".join(compact(u) + "\n" for u in users)
    t = {"a0snap": "trailer", "snapshot_id": (hdr or header())["snapshot_id"],
         "users": len(users), "connections": connections_of(users),
         "sha256": hashlib.sha256(head.encode()).hexdigest() if real_hash else SEAL}
    t.update(trailer or {})
    return head + compact(t) + "\n"


def snapshot_seeds():
    h = "snapshot"
    write(h, "valid.ndjson", snapshot_text(USERS))
    write(h, "empty.ndjson", snapshot_text([]))
    write(h, "one-user.ndjson", snapshot_text(USERS[:1]))
    write(h, "no-trailer.ndjson", snapshot_text(USERS).rsplit("\n", 2)[0] + "\n")
    write(h, "no-final-newline.ndjson", snapshot_text(USERS).rstrip("\n"))
    lines = snapshot_text(USERS).split("\n")
    write(h, "out-of-order.ndjson", "\n".join([lines[0], lines[2], lines[1]] + lines[3:]))
    write(h, "duplicate.ndjson", "\n".join([lines[0], lines[1], lines[1]] + lines[2:]))
    write(h, "blank-line.ndjson", "\n".join([lines[0], ""] + lines[1:]))
    write(h, "user-without-id.ndjson", snapshot_text([{"email": "a@b.org", "user_id": ""}]))
    write(h, "user-with-a0snap.ndjson",
          snapshot_text([{"user_id": "auth0|1", "a0snap": "trailer"}]))
    write(h, "wrong-count.ndjson", snapshot_text(USERS, trailer={"users": 7}))
    write(h, "wrong-connections.ndjson",
          snapshot_text(USERS, trailer={"connections": {"google-oauth2": 3}}))
    write(h, "stitched.ndjson", snapshot_text(USERS, trailer={"snapshot_id": OTHER_ID}))
    write(h, "bad-hash.ndjson", snapshot_text(USERS, trailer={"sha256": "0" * 64}))
    write(h, "version-3.ndjson", snapshot_text(USERS, hdr=header({"format_version": 3})))
    write(h, "unknown-format.ndjson", snapshot_text(USERS, hdr=header({"format": "csv"})))
    write(h, "bad-id.ndjson", snapshot_text(USERS, hdr=header({"snapshot_id": "XYZ"})))
    write(h, "auth0-export.ndjson", "".join(compact(u) + "\n" for u in USERS))
    write(h, "data-after-trailer.ndjson", snapshot_text(USERS) + "{}\n")
    deep = {"user_id": "auth0|deep", "user_metadata": {}}
    cur = deep["user_metadata"]
    for _ in range(70):
        cur["d"] = {}
        cur = cur["d"]
    write(h, "too-deep.ndjson", snapshot_text([deep]))
    write(h, "nul-and-unicode.ndjson",
          snapshot_text([{"user_id": "auth0|\u00e9\u4e2d\U0001f600", "name": "a\u0000b",
                          "user_metadata": {"k\u0000": [1.5, -0.0, 1e300, None, True]}}]))
    bad_utf8 = snapshot_text(USERS[:1]).encode().replace(b"auzironian", b"auz\xc3\x28ronian", 1)
    write(h, "invalid-utf8.ndjson", bad_utf8)
    write(h, "dup-keys.ndjson",
          snapshot_text(USERS[:1]).replace('"email":', '"email":"a","email":', 1))
    # Raw gzip files (first byte 0x1f): the real hash, then damage.
    good = snapshot_text(USERS, seal=False, real_hash=True).encode()
    raw = gz(good)
    write(h, "raw-valid.gz", raw)
    write(h, "raw-two-members.gz", gz(good[:300]) + gz(good[300:]))
    write(h, "raw-truncated.gz", raw[: len(raw) // 2])
    crc = bytearray(raw)
    crc[-6] ^= 0xFF
    write(h, "raw-bad-crc.gz", bytes(crc))
    write(h, "raw-concatenated.gz", raw + raw)
    write(h, "raw-garbage-after.gz", raw + b"garbage")
    write(h, "raw-empty-member.gz", gz(b""))
    write(h, "raw-magic-only.gz", b"\x1f")


# --- policies (the default of common/privacy_policy.c, docs) -------------

DEFAULT_POLICY = {
    "version": 1, "extends": "none", "email_domain": "example.com",
    "keep_email_domain": False, "phone_prefix": "+999", "username_length": 15,
    "url_prefix": "https://example.com/avatar/",
    "fields": {"email": "pseudonym:email", "name": "pseudonym:name",
               "given_name": "pseudonym:name", "family_name": "pseudonym:name",
               "nickname": "pseudonym:nickname", "username": "pseudonym:username",
               "phone_number": "pseudonym:phone", "picture": "pseudonym:url",
               "last_ip": "drop"},
    "identity_fields": {"access_token": "drop", "access_token_secret": "drop",
                        "refresh_token": "drop"},
    "metadata": [],
    "personal_key_action": "pseudonym",
    "personal_keys": ["*email*", "mail", "*phone*", "mobile", "username", "*name",
                      "avatar*", "picture",
                      {"action": "drop", "patterns": ["ip", "ipv4", "ip*addr*"]},
                      {"action": "drop", "patterns": ["*address*", "zip*"]},
                      {"action": "drop", "patterns": ["*birth*", "dob"]}],
    "unlisted_metadata": "keep",
    "select": {},
}


def policy_seeds():
    h = "policy"
    write(h, "default.json", json.dumps(DEFAULT_POLICY, indent=2))
    write(h, "minimal.json", '{"version":1}')
    write(h, "keep-plan.json", json.dumps({
        "version": 1,
        "metadata": [{"path": "app_metadata.plan", "action": "keep"},
                     {"path": "user_metadata.prefs", "action": "keep"},
                     {"path": "user_metadata.contacts[*].email", "action": "pseudonym:email"},
                     {"path": "app_metadata.notes.*", "action": "drop"},
                     {"path": "app_metadata.a\\.b", "action": "hash"}]}))
    write(h, "actions.json", json.dumps({
        "version": 1, "extends": "none",
        "fields": {"email": "hash", "name": "mask:1:0", "nickname": "mask:2:3",
                   "picture": {"action": "set", "value": "https://example.com/a.png"},
                   "username": "pseudonym", "phone_number": "keep", "blocked": "drop"},
        "identity_fields": {"profileData": "drop"},
        "personal_keys": [{"pattern": "secret*", "action": "set", "value": {"v": [1, 2]}}],
        "personal_key_action": "drop", "unlisted_metadata": "drop"}))
    write(h, "select.json", json.dumps({
        "version": 1,
        "select": {"include_connections": ["Username-Password-Authentication", "sms"],
                   "exclude_connections": ["google-oauth2"],
                   "email_domains": ["Example.COM"], "exclude_email_domains": ["corp.org"],
                   "match": [{"path": "app_metadata.test_account", "equals": True},
                             {"path": "blocked", "equals": False}]}}))
    write(h, "shapes.json", json.dumps({
        "version": 1, "email_domain": "test.invalid", "keep_email_domain": True,
        "phone_prefix": "+1555", "username_length": 52, "url_prefix": "https://cdn.test/x/"}))
    write(h, "unknown-key.json", '{"version":1,"fieldz":{}}')
    write(h, "bad-action.json",
          '{"version":1,"metadata":[{"path":"app_metadata.c","action":"pseudo"}]}')
    write(h, "no-version.json", '{"fields":{}}')
    write(h, "not-json.json", "{\"version\":1,")
    user = compact(USERS[0])
    write(h, "default-with-user.json", json.dumps(DEFAULT_POLICY) + "\n%%\n" + user)
    write(h, "minimal-with-user.json", '{"version":1}\n%%\n' + compact(USERS[2]))
    write(h, "select-with-user.json", json.dumps({
        "version": 1, "select": {"match": [{"path": "app_metadata.plan", "equals": "gold"}]}})
        + "\n%%\n" + user)


# --- API answers (API-NOTES §1-§8) --------------------------------------

ERRORS = [
    ("404 GET /api/v2/users/auth0%7C1",
     '{"statusCode":404,"error":"Not Found","message":"The user does not exist.",'
     '"errorCode":"inexistent_user"}'),
    ("429 GET /api/v2/users?q=email:%22a@b.org%22",
     '{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached",'
     '"errorCode":"too_many_requests"}'),
    ("429 POST /api/v2/jobs/users-imports",
     '{"statusCode":429,"error":"Too Many Requests","message":"There are 2 active import users '
     'jobs, please wait until some of them are finished and try again"}'),
    ("403 GET /api/v2/roles",
     '{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: '
     'read:roles","errorCode":"insufficient_scope"}'),
    ("401 GET /api/v2/users",
     '{"statusCode":401,"error":"Unauthorized","message":"Expired token received for JSON Web '
     'Token validation","attributes":{"error":"Expired token received for JSON Web Token '
     'validation"}}'),
    ("401 POST /oauth/token",
     '{"error":"access_denied","error_description":"Unauthorized"}'),
    ("400 POST /api/v2/jobs/users-imports",
     '{"statusCode":400,"error":"Bad Request","message":"Payload validation error: \'String does '
     'not match pattern ^con_[A-Za-z0-9]{16}$\' on property connection_id","errorCode":'
     '"invalid_body"}'),
    ("409 POST /api/v2/users",
     '{"statusCode":409,"error":"Conflict","message":"The user already exists.","errorCode":'
     '"auth0_idp_error"}'),
    ("413 POST /api/v2/jobs/users-imports",
     '{"statusCode":413,"error":"Payload Too Large","message":"Payload content length greater '
     'than maximum allowed: 512000."}'),
    ("502 GET /api/v2/jobs/job_x", "<html><body><h1>502 Bad Gateway</h1>\r\n\x1b[31m</body></html>"),
    ("503 GET /api/v2/users", ""),
    ("403 GET /api/v2/users", '{"message":null,"error":["x"],"errorCode":7}'),
]

HEADERS = [
    ("0", "x-ratelimit-limit: 50\nx-ratelimit-remaining: 49\nx-ratelimit-reset: 1700000001"),
    ("0", "X-RateLimit-Limit: 1000\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 1675452600\r"),
    ("5000", "Retry-After: 3\nx-ratelimit-remaining: 0"),
    ("0", "retry-after: Wed, 21 Oct 2015 07:28:00 GMT"),
    ("0", "Retry-After:  Tue, 14 Nov 2023 22:13:25 GMT  "),
    ("0", "x-ratelimit-reset: 9999999999999999\nretry-after: 99999999999999"),
    ("0", "x-ratelimit-limit:\nx-ratelimit-remaining: -1\nx-ratelimit-reset: 1e9\nretry-after: soon"),
    ("0", "content-type: application/json; charset=utf-8\nAuth0-RateLimit: x"),
]


def paced_answers(burst, per_s, step_ms, count, refuse_last=False):
    """A run of answers from a bucket (fake_http.py's TokenBucket) drained
    by a request every step_ms, separated by blank lines and "+ms" clock
    moves (fuzz_api.c), so that the refill estimate and the pacing by it
    are reached; the last one a 429 with Retry-After if refuse_last."""
    base, tokens, out = 1700000000000, float(burst), []
    for i in range(count):
        t = base + i * step_ms
        tokens = min(float(burst), tokens + step_ms / 1000.0 * per_s)
        refused = tokens < 1 or (refuse_last and i == count - 1)
        if not refused:
            tokens -= 1
        left = int(tokens)
        reset = t // 1000 if tokens >= burst else -(-(t + (1 - (tokens - left)) / per_s * 1000) // 1000)
        lines = ["+%d" % step_ms] if i else []
        lines += ["x-ratelimit-limit: %d" % burst, "x-ratelimit-remaining: %d" % left,
                  "x-ratelimit-reset: %d" % reset]
        if refused:
            lines.append("retry-after: 1")
        out.append("\n".join(lines))
    return "\n\n".join(out)


HEADERS += [
    ("0", paced_answers(2, 2.0, 450, 12)),  # the free plan, paced by its rate
    ("0", paced_answers(50, 16.0, 25, 120, refuse_last=True)),  # enterprise, drained, then a 429
]


def api_seeds():
    h = "api"
    for i, (args, body) in enumerate(ERRORS):
        write(h, "error-%02d" % i, "error %s\n%s" % (args, body))
    for i, (now, lines) in enumerate(HEADERS):
        write(h, "headers-%02d" % i, "headers %s\n%s" % (now, lines))
    for i, u in enumerate(USERS):
        write(h, "user-%02d" % i, "user\n" + compact(u))
    write(h, "user-types", "user\n" + compact({
        "user_id": "auth0|auth0|x", "email": "", "email_verified": "false", "blocked": "true",
        "user_metadata": [], "app_metadata": {"__tenant": "t", "user_id": 1, "plan": None},
        "roles": ["admin", {"name": "admin"}, {"id": "r"}, 3],
        "organizations": ["acme", {"name": "acme", "roles": ["x", {"name": "y"}]}, {"id": 1}]}))
    write(h, "user-not-object", "user\n[1,2,3]")
    write(h, "export-plain", "export\n" + "".join(compact(u) + "\n" for u in USERS))
    write(h, "export-privacy", "export privacy\n" + "".join(compact(u) + "\n" for u in USERS))
    write(h, "export-bad-lines", "export\n" + compact(USERS[0]) + "\n[]\n{\"email\":\"x\"}\n")
    write(h, "export-same-email", "export privacy\n" + compact(
        {"user_id": "auth0|1", "email": "a@b.org",
         "identities": [{"connection": "db"}]}) + "\n" + compact(
        {"user_id": "auth0|2", "email": "A@B.org", "identities": [{"connection": "db"}]}) + "\n")


# --- gzip lines -------------------------------------------------------------

def gunzip_seeds():
    h = "gunzip"
    ndjson = "".join(compact(u) + "\n" for u in USERS)
    # Control byte (see fuzz_gunzip.c): members in bits 0-1, level bit 2,
    # line limit bits 3-4, callback stop line bits 5-7.
    write(h, "one-member", b"\x18" + ndjson.encode())
    write(h, "four-members", b"\x1b" + ndjson.encode())
    write(h, "short-limit", b"\x00" + b"a\nbb\n\n  \t\r\n" + b"c" * 40 + b"\n")
    write(h, "crlf-blank", b"\x19" + b"{\"a\":1}\r\n\r\n \n{\"b\":2}")
    write(h, "stop-at-2", b"\x58" + ndjson.encode())
    write(h, "no-final-newline", b"\x10" + b"line one\nline two")
    raw = gz(ndjson.encode())
    write(h, "raw.gz", raw)
    write(h, "raw-two-members.gz", gz(b"abc\nde") + gz(b"f\nghi\n"))
    write(h, "raw-truncated.gz", raw[:-9])
    write(h, "raw-trailing-garbage.gz", raw + b"\x00\x00junk")
    write(h, "raw-not-gzip", b"\x1fnot gzip at all")


# --- a whole tenant (fuzz_tenant.c scripts) ---------------------------------

def jwt(payload):
    b64 = base64.urlsafe_b64encode(compact(payload).encode()).decode().rstrip("=")
    return "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + b64 + ".c2lnbmF0dXJl"


def entry(method, prefix, status=200, body="", headers=(), gzip_body=False):
    head = "=== %s %s %d%s\n" % (method, prefix, status, " gzip" if gzip_body else "")
    hdrs = "".join(h + "\n" for h in headers)
    if not any(h.lower().startswith("content-type") for h in headers):
        hdrs += "Content-Type: application/json; charset=utf-8\n"
    return head + hdrs + "\n" + body + "\n"


RL = ("x-ratelimit-limit: 50", "x-ratelimit-remaining: 49", "x-ratelimit-reset: 1700000001")
TOKEN = entry("POST", "/oauth/token", 200, compact({
    "access_token": jwt({"aud": "https://fuzz-tenant.example.com/api/v2/",
                         "iss": "https://fuzz-tenant.example.com/", "exp": 1700086400,
                         "scope": "read:users read:connections"}),
    "expires_in": 86400, "scope": "read:users read:connections read:roles read:role_members "
    "read:organizations read:organization_members read:organization_member_roles",
    "token_type": "Bearer"}))
CATALOGUE = (
    entry("GET", "/api/v2/connections", 200, compact({"connections": [
        {"id": "con_ftSSLHb0O7rcUGmF", "name": "Username-Password-Authentication",
         "strategy": "auth0"},
        {"id": "con_G00gle0000000001", "name": "google-oauth2", "strategy": "google-oauth2"}]}),
        RL)
    + entry("GET", "/api/v2/roles", 200, compact({"roles": [
        {"id": "rol_NHBmr6NkzbRcHob1", "name": "editor", "description": "Edits"}],
        "start": 0, "limit": 100, "total": 1}), RL)
    + entry("GET", "/api/v2/organizations", 200, compact({"organizations": [
        {"id": "org_VvIJTfJhf3NwyCie", "name": "acme", "display_name": "Acme"}]}), RL))
JOB = compact({"type": "users_export", "status": "pending", "format": "json",
               "connection": "Username-Password-Authentication",
               "created_at": "2023-01-25T17:48:15.325Z", "id": "job_iSjvljNtsTMmSpRW"})
JOB_RUNNING = compact({"type": "users_export", "status": "processing", "percentage_done": 40,
                       "time_left_seconds": 3, "id": "job_iSjvljNtsTMmSpRW"})
JOB_DONE = compact({"type": "users_export", "status": "completed",
                    "location": "{{BASE}}/exports/job_iSjvljNtsTMmSpRW/t.json.gz?Expires=1&"
                                "Signature=abc",
                    "id": "job_iSjvljNtsTMmSpRW"})
EXPORT = "".join(compact({k: v for k, v in u.items() if k not in ("roles", "organizations")})
                 + "\n" for u in USERS)
GRANTS = (
    entry("GET", "/api/v2/roles/rol_NHBmr6NkzbRcHob1/users", 200, compact({"users": [
        {"user_id": "auth0|63d16b5edf1ce171262c71b5", "email": "auzironian@example.com"},
        {"user_id": "auth0|gone"}], "next": "cp1"}))
    + entry("GET", "/api/v2/roles/rol_NHBmr6NkzbRcHob1/users", 200, compact({"users": []}))
    + entry("GET", "/api/v2/organizations/org_VvIJTfJhf3NwyCie/members", 200, compact({
        "members": [{"user_id": "auth0|63d16b5edf1ce171262c71b5",
                     "roles": [{"id": "rol_2", "name": "member"}]},
                    {"user_id": "google-oauth2|1098765"}]}))
    + entry("GET", "/api/v2/organizations/org_VvIJTfJhf3NwyCie/members/google-oauth2%7C1098765"
                   "/roles", 200, compact({"roles": [{"id": "rol_3", "name": "viewer"}],
                                           "start": 0, "limit": 100, "total": 1})))


def tenant_seeds():
    h = "tenant"
    job = (entry("POST", "/api/v2/jobs/users-exports", 200, JOB, RL)
           + entry("GET", "/api/v2/jobs/job_", 200, JOB_RUNNING, RL)
           + entry("GET", "/api/v2/jobs/job_", 200, JOB_DONE, RL)
           + entry("GET", "/exports/", 200, EXPORT, ("Content-Type: application/gzip",),
                   gzip_body=True))
    write(h, "whole-tenant", "dump\n" + TOKEN + CATALOGUE + job + GRANTS)
    write(h, "whole-tenant-privacy", "privacy\n" + TOKEN + CATALOGUE + job + GRANTS)
    write(h, "one-connection",
          "conn=Username-Password-Authentication\n" + TOKEN + CATALOGUE + job + GRANTS)
    # Retries: a 429 with the real body and reset, a 503, a cut download.
    retry = (entry("POST", "/api/v2/jobs/users-exports", 429,
                   '{"statusCode":429,"error":"Too Many Requests","message":"Global limit has '
                   'been reached","errorCode":"too_many_requests"}',
                   ("x-ratelimit-limit: 50", "x-ratelimit-remaining: 0",
                    "x-ratelimit-reset: 1700000002"))
             + entry("POST", "/api/v2/jobs/users-exports", 200, JOB, ("Retry-After: 1",))
             + entry("GET", "/api/v2/jobs/job_", 503, "<html>503</html>",
                     ("Content-Type: text/html",))
             + entry("GET", "/api/v2/jobs/job_", 200, JOB_DONE, RL)
             + entry("GET", "/exports/", 403, "<Error>AccessDenied: Request has expired</Error>",
                     ("Content-Type: application/xml",))
             + entry("GET", "/api/v2/jobs/job_", 200, JOB_DONE, RL)
             + entry("GET", "/exports/", 200, EXPORT, ("Content-Type: application/gzip",),
                     gzip_body=True))
    write(h, "retries", "dump\n" + TOKEN + CATALOGUE + retry + GRANTS)
    write(h, "job-failed", "dump\n" + TOKEN + CATALOGUE
          + entry("POST", "/api/v2/jobs/users-exports", 200, JOB)
          + entry("GET", "/api/v2/jobs/job_", 200, compact({
              "id": "job_iSjvljNtsTMmSpRW", "status": "failed",
              "status_details": "Internal error"})))
    write(h, "token-refused", "dump\n" + entry(
        "POST", "/oauth/token", 401,
        '{"error":"access_denied","error_description":"Unauthorized"}'))
    write(h, "token-other-audience", "dump\n" + entry("POST", "/oauth/token", 200, compact({
        "access_token": jwt({"aud": ["https://other.example.com/api/v2/",
                                     "https://other.example.com/userinfo"],
                             "scope": "read:users"}),
        "expires_in": 60, "token_type": "Bearer"})))
    write(h, "scope-403", "dump\n" + TOKEN + entry(
        "GET", "/api/v2/connections", 403,
        '{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: '
        'read:connections","errorCode":"insufficient_scope"}'))
    write(h, "expired-401", "dump\n" + TOKEN + entry(
        "GET", "/api/v2/connections", 401,
        '{"statusCode":401,"error":"Unauthorized","message":"Expired token received for JSON '
        'Web Token validation"}') + TOKEN + CATALOGUE + job + GRANTS)
    # Subsets: by id, by email, by query (offset pages of /users).
    subset_grants = (
        entry("GET", "/api/v2/users/auth0%7C63d16b5edf1ce171262c71b5/roles", 200, compact(
            {"roles": [{"id": "rol_NHBmr6NkzbRcHob1", "name": "editor"}], "start": 0,
             "limit": 100, "total": 1}))
        + entry("GET", "/api/v2/users/auth0%7C63d16b5edf1ce171262c71b5/organizations", 200,
                compact({"organizations": [{"id": "org_VvIJTfJhf3NwyCie", "name": "acme"}],
                         "start": 0, "limit": 100, "total": 1}))
        + entry("GET", "/api/v2/organizations/org_VvIJTfJhf3NwyCie/members/", 200,
                compact([{"id": "rol_2", "name": "member"}])))
    user0 = {k: v for k, v in USERS[0].items() if k not in ("roles", "organizations")}
    write(h, "subset-user", "user=auth0|63d16b5edf1ce171262c71b5\n" + TOKEN + CATALOGUE
          + entry("GET", "/api/v2/users/auth0%7C63d16b5edf1ce171262c71b5?", 200, compact(user0))
          + subset_grants)
    write(h, "subset-email", "email=AUZIRONIAN@example.com privacy\n" + TOKEN + CATALOGUE
          + entry("GET", "/api/v2/users-by-email?email=auzironian%40example.com", 200,
                  compact([user0]))
          + subset_grants)
    write(h, "subset-query", "query=email:*@example.com\n" + TOKEN + CATALOGUE
          + entry("GET", "/api/v2/users?q=", 200, compact(
              {"start": 0, "limit": 100, "length": 1, "total": 1, "users": [user0]}))
          + subset_grants)
    write(h, "user-404", "user=auth0|nobody\n" + TOKEN + CATALOGUE + entry(
        "GET", "/api/v2/users/auth0%7Cnobody", 404,
        '{"statusCode":404,"error":"Not Found","message":"The user does not exist.",'
        '"errorCode":"inexistent_user"}'))
    write(h, "bad-export-file", "dump\n" + TOKEN + CATALOGUE
          + entry("POST", "/api/v2/jobs/users-exports", 200, JOB)
          + entry("GET", "/api/v2/jobs/job_", 200, JOB_DONE)
          + entry("GET", "/exports/", 200, '{"user_id":"auth0|1"}\n[1]\n{"email":"x"}\n',
                  gzip_body=True))
    write(h, "not-json", "dump\n" + TOKEN + entry("GET", "/api/v2/connections", 200,
                                                   "<html>maintenance</html>",
                                                   ("Content-Type: text/html",)))


def main():
    snapshot_seeds()
    policy_seeds()
    api_seeds()
    gunzip_seeds()
    tenant_seeds()
    for h in sorted(os.listdir(CORPUS)):
        print("%s: %d seeds" % (h, len(os.listdir(os.path.join(CORPUS, h)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
