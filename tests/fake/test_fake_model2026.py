"""The generator's 2026 model (--model-2026 / FakeTenant(model_2026=True)),
and the base generator's output staying as it was."""

import collections
import hashlib
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_gen import generate  # noqa: E402
from fake_state import Tenant  # noqa: E402
from fake_testlib import check, eq, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

A = FakeTenant("prod.example.com", seed=1, users=1000, model_2026=True)
STATE = A.state()
USERS = STATE["users"]
DBS = ("Username-Password-Authentication", "legacy-db")


def test_base_generator_unchanged():
    # sha256 of /__state for these seeds before the 2026 model existed:
    # tests elsewhere depend on the base tenants staying byte for byte
    for dom, seed, n, want in (
        ("prod.example.com", 1, 1000, "3d5559160d0ae8e54282d4ead3e3f291729f27a2791940890d810df5eb604638"),
        ("conformance.example.test", 7, 300, "b20a7554fb325d47b417575edac1910346060a22c1e3386d5c3e82d317d727a9"),
    ):
        t = Tenant(dom, "cid")
        generate(t, seed, n)
        eq(hashlib.sha256(t.state_bytes()).hexdigest(), want, "%s seed %d" % (dom, seed))


def test_deterministic():
    t = Tenant("prod.example.com", "cid")
    generate(t, 1, 1000, model_2026=True)
    eq(t.state(), STATE, "same (domain, seed, users): the same 2026 tenant")
    t2 = Tenant("prod.example.com", "cid")
    generate(t2, 2, 1000, model_2026=True)
    check(t2.state()["users"] != USERS, "another seed differs")


def test_counts_seed_1():
    conns = collections.Counter(u["identities"][0]["connection"] for u in USERS)
    eq(len(USERS), 1000, "--users is still the number of users")
    eq([(c["name"], c["strategy"]) for c in STATE["connections"]][-2:], [("email", "email"), ("sms", "sms")], "connections")
    eq(dict(conns), {"Username-Password-Authentication": 474, "legacy-db": 228, "google-oauth2": 116,
                     "acme-saml": 86, "email": 49, "sms": 47}, "users per connection (seed 1)")
    linked = [u for u in USERS if len(u["identities"]) > 1]
    eq(len(linked), 35, "linked accounts")
    eq(sum(1 for u in USERS if u.get("permissions")), 96, "users with direct permissions")
    eq(len(STATE["resource_servers"]), 2, "two APIs")
    eq(sorted((r["name"], r["type"]) for r in STATE["roles"]),
       [("admin", "organization"), ("admin", "organization"), ("admin", "tenant"), ("approver", "organization"),
        ("approver", "organization"), ("auditor", "tenant"), ("billing", "tenant"), ("editor", "tenant"),
        ("support", "tenant"), ("viewer", "tenant")], "roles")


def test_shapes():
    for u in USERS:
        ident = u["identities"][0]
        if ident["connection"] == "email":
            check(re.match(r"^email\|[0-9a-f]{24}$", u["user_id"]) and ident["provider"] == "email", u["user_id"])
            check("email" in u and "username" not in u and "multifactor" not in u, u["user_id"])
        elif ident["connection"] == "sms":
            check(re.match(r"^sms\|[0-9a-f]{24}$", u["user_id"]) and ident["provider"] == "sms", u["user_id"])
            check(re.match(r"^\+[1-9]\d{1,14}$", u["phone_number"]) and "username" not in u, u["user_id"])
        for sec in u["identities"][1:]:
            check(ident["connection"] in DBS, "only database users have linked accounts")
            check(sec["connection"] in DBS + ("google-oauth2",) and sec["connection"] != ident["connection"], sec)
            check(sec["profileData"]["email"] and (sec["provider"] == "auth0") == (sec["connection"] in DBS), sec)
            if sec["connection"] == "legacy-db":
                check(sec["profileData"].get("username"), "legacy-db secondaries have usernames")
    check(any(u["identities"][0]["provider"] == "sms" and "email" in u for u in USERS), "some sms users have an email")
    kinds = {s["connection"] for u in USERS for s in u["identities"][1:]}
    eq(kinds, {"Username-Password-Authentication", "legacy-db", "google-oauth2"}, "database and social secondaries")
    emails = [u["email"] for u in USERS if "email" in u]
    eq(len(set(emails)), len(emails), "emails still unique")


def test_permissions_and_sources():
    tok = A.token()
    roles = {r["name"]: r for r in STATE["roles"] if r["type"] == "tenant"}
    check(roles["admin"]["permissions"] and roles["auditor"]["permissions"], "tenant roles carry permissions")
    check(all("permissions" not in r for r in STATE["roles"] if r["type"] == "organization"), "org roles carry none")
    mixed = direct_only = role_only = 0
    for u in USERS[:400]:
        body = A.api("GET", "/users/%s/permissions" % urllib.parse.quote(u["user_id"], safe=""), token=tok)[2]
        types = [sorted({s["source_type"] for s in p["sources"]}) for p in body]
        direct = sorted((p["resource_server_identifier"], p["permission_name"]) for p in body
                        if any(s["source_type"] == "DIRECT" for s in p["sources"]))
        eq(direct, sorted((p["resource_server_identifier"], p["permission_name"]) for p in u.get("permissions", [])),
           "DIRECT sources are /__state's permissions")
        mixed += ["DIRECT", "ROLE"] in types
        direct_only += bool(types) and all(t == ["DIRECT"] for t in types)
        role_only += bool(types) and all(t == ["ROLE"] for t in types)
    check(mixed > 0 and direct_only > 0 and role_only > 0, "sources differ (%d %d %d)" % (mixed, direct_only, role_only))


def test_organization_roles():
    orgs = {o["name"]: o for o in STATE["organizations"]}
    owners = {r["owner_id"]: [] for r in STATE["roles"] if r["type"] == "organization"}
    for r in STATE["roles"]:
        if r["type"] == "organization":
            owners[r["owner_id"]].append(r["name"])
    eq({o["name"]: sorted(owners.get(o["id"], [])) for o in orgs.values()},
       {"acme-corp": ["admin", "approver"], "globex": ["admin", "approver"], "initech": [], "umbrella": []},
       "acme-corp and globex each own admin and approver")
    for name in ("acme-corp", "globex"):
        held = [x for m in orgs[name]["members"] for x in m.get("role_refs", []) if x["type"] == "organization"]
        check(len(held) > 5 and all(x["owner"] == name for x in held), "%s's members hold its own roles" % name)
    both = [m for o in ("acme-corp", "globex") for m in orgs[o]["members"]
            if sorted((x["name"], x["type"]) for x in m.get("role_refs", []) if x["name"] == "admin") ==
            [("admin", "organization"), ("admin", "tenant")]]
    check(both, "some members hold both the tenant admin and their organization's admin")


def test_round_trip_and_cli():
    with FakeTenant("prod.example.com") as b:
        b.load(STATE)
        eq(b.state(), STATE, "a 2026 tenant loads into another fake unchanged")
    with FakeTenant("cli.example.com", users=50, model_2026=True) as c:
        st = c.state()
        eq([x["name"] for x in st["connections"]][-2:], ["email", "sms"], "--users alone (seed 0) with --model-2026")


run(globals())
