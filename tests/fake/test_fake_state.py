"""Generator, /__state, /__load, the command line and fakectl itself."""

import collections
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import HERE, check, eq, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

A = FakeTenant("gen.example.com", seed=42, users=3000)
STATE = A.state()


def test_deterministic():
    with FakeTenant("gen.example.com", seed=42, users=3000) as b:
        eq(b._http("GET", b.api_url + "/__state")[2], A._http("GET", A.api_url + "/__state")[2], "same seed, same bytes")
    with FakeTenant("gen.example.com", seed=43, users=3000) as c:
        check(c.state()["users"] != STATE["users"], "another seed differs")


def test_state_shape():
    eq(sorted(STATE), ["connections", "domain", "organizations", "roles", "users"], "top keys")
    eq(STATE["domain"], "gen.example.com", "domain")
    check(all(sorted(c) == ["id", "name", "strategy"] for c in STATE["connections"]), "connection keys")
    ids = [u["user_id"] for u in STATE["users"]]
    eq(ids, sorted(ids), "users sorted by user_id")
    for o in STATE["organizations"]:
        eq(sorted(o), ["display_name", "id", "members", "name"], "org keys")
        m = [x["user_id"] for x in o["members"]]
        eq(m, sorted(m), "members sorted")
    u = STATE["users"][0]
    check("roles" in u and "organizations" in u, "users carry roles and organizations")
    raw = A._http("GET", A.api_url + "/__state")[2]
    eq(raw, json.dumps(json.loads(raw), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(), "sorted keys")


def test_generated_tenant_is_realistic():
    users = STATE["users"]
    eq(len(users), 3000, "count")
    conns = collections.Counter(u["identities"][0]["connection"] for u in users)
    check(conns["Username-Password-Authentication"] + conns["legacy-db"] > 0.7 * 3000, "mostly database users: %s" % conns)
    check(conns["google-oauth2"] > 100 and conns["acme-saml"] > 50, "social and enterprise users: %s" % conns)
    emails = [u["email"] for u in users]
    eq(len(set(emails)), len(emails), "unique emails")
    check(all(e == e.lower() for e in emails), "lower-case emails")
    for u in users:
        c = u["identities"][0]["connection"]
        if c in ("Username-Password-Authentication", "legacy-db"):
            check(re.match(r"^auth0\|[0-9a-f]{24}$", u["user_id"]), u["user_id"])
        elif c == "google-oauth2":
            check(u["user_id"].startswith("google-oauth2|") and u["identities"][0]["isSocial"] is True, u["user_id"])
        else:
            check(u["user_id"].startswith("samlp|acme-saml|") and u["email"].endswith("@acme.example"), u["user_id"])
        check(("username" in u) == (c == "legacy-db"), "usernames only in legacy-db")
        if "phone_number" in u:
            check(re.match(r"^\+[1-9]\d{1,14}$", u["phone_number"]), u["phone_number"])
    names = "".join(u.get("name", "") for u in users)
    check(re.search("[\u4e00-\u9fff]", names) and re.search("[\u0590-\u06ff]", names) and re.search("[éöøł]", names),
          "CJK, RTL and accented names")
    blocked = sum(1 for u in users if u.get("blocked") is True)
    check(30 <= blocked <= 180, "about 3%% blocked (%d)" % blocked)
    big = [u for u in users if len(json.dumps(u.get("user_metadata", {}))) > 8000]
    check(10 <= len(big) <= 120, "a tail of large profiles (%d)" % len(big))
    check(all(len(json.dumps(u["user_metadata"])) < 12000 for u in big), "8-10 KB, not more")
    check(any(u.get("multifactor") for u in users), "some MFA")
    check(any(u.get("email_verified") is False for u in users), "email_verified mixed")
    with_roles = sum(1 for u in users if u["roles"])
    check(0.33 * 3000 < with_roles < 0.47 * 3000, "about 40%% have roles (%d)" % with_roles)
    eq(len(STATE["roles"]), 6, "six roles")
    eq(len(STATE["organizations"]), 4, "four organizations")
    check(any(m["roles"] for o in STATE["organizations"] for m in o["members"]), "member roles")
    check(any("address" in u.get("user_metadata", {}) for u in users), "PII-looking metadata")


def test_load_round_trip():
    with FakeTenant("copy.example.com") as b:
        b.load(STATE)
        got = b.state()
        eq(got["users"], STATE["users"], "users round-trip")
        eq(got["organizations"], STATE["organizations"], "orgs round-trip")
        eq(got["roles"], STATE["roles"], "roles round-trip")


def test_load_by_names():
    doc = {
        "roles": [{"name": "admin", "description": "Admins"}, {"name": "viewer"}],
        "organizations": [{"name": "acme", "display_name": "Acme", "members": [{"user_id": "auth0|a1", "roles": ["admin"]}]}],
        "users": [
            {"user_id": "auth0|a1", "email": "a1@example.com", "connection": "Username-Password-Authentication", "roles": ["viewer"]},
            {"user_id": "auth0|a2", "email": "a2@example.com", "connection": "legacy-db", "username": "a2",
             "organizations": [{"name": "acme", "roles": []}]},
        ],
    }
    with FakeTenant("load.example.com") as b:
        b.load(doc)
        st = b.state()
        eq([c["name"] for c in st["connections"]], ["Username-Password-Authentication", "legacy-db", "google-oauth2", "acme-saml"],
           "default connections kept")
        check(all(r["id"].startswith("rol_") for r in st["roles"]), "ids generated")
        eq(st["users"][0]["roles"], ["viewer"], "roles by name")
        eq(st["users"][0]["organizations"], [{"name": "acme", "roles": ["admin"]}], "org membership from the org list")
        eq(st["users"][1]["organizations"], [{"name": "acme", "roles": []}], "org membership from the user")
        eq(st["users"][1]["identities"][0]["connection"], "legacy-db", "identities derived from connection")
        st2, _, u = b.api("GET", "/users/auth0%7Ca1/roles")
        eq([r["name"] for r in u], ["viewer"], "visible through the API")
        bad = b._http("POST", b.api_url + "/__load", json.dumps({"users": [{"user_id": "x", "roles": ["nope"],
                                                                           "connection": "legacy-db"}]}).encode())
        eq(bad[0], 400, "unknown role name refused")


def test_cli_flags():
    d = tempfile.mkdtemp()
    ready = os.path.join(d, "ready.json")
    logf = os.path.join(d, "log.ndjson")
    env = dict(os.environ, MY_SECRET="s3cr3t-value")
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_tenant.py"), "--domain", "cli.example.com",
                          "--client-id", "my-client", "--client-secret-env", "MY_SECRET", "--ready-file", ready,
                          "--log-file", logf, "--token-ttl", "120", "--link-ttl", "5", "--job-rate", "100",
                          "--rate-burst", "7", "--rate-per-sec", "2"],
                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    try:
        line = json.loads(p.stdout.readline())
        eq(sorted(line), ["api_url", "client_id", "client_secret", "domain", "download_url", "pid"], "ready keys")
        eq((line["client_id"], line["client_secret"], line["pid"]), ("my-client", "s3cr3t-value", p.pid), "values")
        eq(json.load(open(ready)), line, "ready file has the same JSON")
        import urllib.parse
        import urllib.request

        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": "my-client",
                                       "client_secret": "s3cr3t-value", "audience": "https://cli.example.com/api/v2/"}).encode()
        tok = json.loads(urllib.request.urlopen(line["api_url"] + "/oauth/token", form).read())
        eq(tok["expires_in"], 120, "token ttl")
        r = urllib.request.urlopen(urllib.request.Request(line["api_url"] + "/api/v2/roles",
                                                          headers={"Authorization": "Bearer " + tok["access_token"]}))
        eq(r.headers["x-ratelimit-limit"], "7", "rate burst")
        entries = [json.loads(x) for x in open(logf)]
        eq([e["path"] for e in entries], ["/oauth/token", "/api/v2/roles"], "log file")
    finally:
        p.terminate()
        p.wait(10)


def test_fakectl_env_and_stop():
    t = FakeTenant("ctl.example.com", rate_burst=9)
    env = t.env()
    eq(sorted(env), ["A0SNAP_API_URL", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_DOMAIN"], "env keys")
    eq(env["A0SNAP_API_URL"], t.api_url, "api url")
    eq(t.config()["rate_burst"], 9, "opts map to flags")
    t.stop()
    check(t.proc.poll() is not None, "stopped")
    t.stop()  # idempotent


def test_orphan_exits_when_parent_dies():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from fakectl import FakeTenant\n"
            "t = FakeTenant('orphan.example.com')\n"
            "print(t.pid, flush=True)\n"
            "import os; os._exit(0)\n" % HERE)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    pid = int(out.stdout.split()[0])
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return  # exited; only waiting to be reaped
        except (ProcessLookupError, FileNotFoundError):
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    raise AssertionError("the fake outlived its parent")


run(globals())
