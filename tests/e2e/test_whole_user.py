"""The whole user as Auth0 models it in 2026: a production tenant holding
passwordless users of both kinds (email, sms), linked accounts (database and
social secondaries), users with direct permissions, and organization roles
with the same name in two organizations, exported with --with-permissions
and imported into a drifted staging, ends with every database and
passwordless user equal to production's: profile, metadata, roles,
organization roles (owner included), direct permissions, linked accounts. A
replay writes nothing; what cannot be copied is counted by reason; nobody is
sent a verification email."""

import copy
import json
import re

from e2elib import (EXPORT, IMPORT, FakeTenant, check, check_eq, main, run, test, user_view)

PASSWORDLESS = ("email", "sms")


def copyable(state):
    """user_id -> user, for the users an import writes (database and
    passwordless connections)."""
    kinds = {c["name"]: c["strategy"] for c in state["connections"]}
    out = {}
    for u in state["users"]:
        conn = (u.get("identities") or [{}])[0].get("connection")
        if kinds.get(conn) in ("auth0",) + PASSWORDLESS:
            out[u["user_id"]] = u
    return out


def secondaries(u, kinds):
    """Linked accounts an import can make: database and passwordless ones."""
    out = []
    for ident in (u.get("identities") or [])[1:]:
        if kinds.get(ident.get("connection")) in ("auth0",) + PASSWORDLESS:
            out.append((ident["provider"], str(ident["user_id"]), ident["connection"],
                        json.dumps(ident.get("profileData"), sort_keys=True)))
    return sorted(out)


def whole_view(u, kinds):
    v = user_view(u)
    v["phone_verified"] = bool(u.get("phone_verified"))
    v["permissions"] = sorted((p["resource_server_identifier"], p["permission_name"])
                              for p in u.get("permissions") or [])
    v["linked"] = secondaries(u, kinds)
    return v


def differences(prod, stage):
    kinds = {c["name"]: c["strategy"] for c in prod["connections"]}
    a, b = copyable(prod), copyable(stage)
    diffs = []
    for uid in sorted(set(a) | set(b)):
        if uid not in b:
            diffs.append("missing in staging: %s" % uid)
        elif uid not in a:
            diffs.append("extra in staging: %s" % uid)
        else:
            va, vb = whole_view(a[uid], kinds), whole_view(b[uid], kinds)
            for k in va:
                if va[k] != vb[k]:
                    diffs.append("%s: %s: %r != %r" % (uid, k, str(va[k])[:120], str(vb[k])[:120]))
    return diffs


def staging_doc(prod):
    """Config synced by other tools (connections, APIs, tenant roles with
    their permissions, organizations: no organization roles), and users that
    drifted: stale direct permissions, a stale organization role, a linked
    account production no longer has, a passwordless user with old data."""
    doc = {"connections": [{"name": c["name"], "strategy": c["strategy"]}
                           for c in prod["connections"]],
           "resource_servers": [{k: r[k] for k in ("identifier", "name", "scopes")}
                                for r in prod["resource_servers"]],
           "roles": [{k: r[k] for k in ("name", "description", "permissions") if k in r}
                     for r in prod["roles"] if r.get("type") != "organization"],
           "organizations": [{"name": o["name"], "display_name": o.get("display_name"),
                              "members": []} for o in prod["organizations"]],
           "users": []}
    users = sorted(copyable(prod).values(), key=lambda u: u["user_id"])
    db = [u for u in users if u["user_id"].startswith("auth0|") and len(u["identities"]) == 1]
    sms = [u for u in users if u["user_id"].startswith("sms|")]
    email = [u for u in users if u["user_id"].startswith("email|")]
    drifted = []
    for i, u in enumerate(db[:40]):
        s = copy.deepcopy(u)
        s.pop("permissions", None)
        if i % 4 == 0:  # a direct permission production does not have
            s["permissions"] = [{"resource_server_identifier": "https://api.acme.example/",
                                 "permission_name": "admin:orders"}]
        s.pop("organizations", None)
        drifted.append(s)
    # a linked account production's user does not have
    stale_link = copy.deepcopy(db[41])
    extra = copy.deepcopy(db[42])
    stale_link["identities"].append({
        "connection": "legacy-db", "provider": "auth0", "user_id": "5a1b2c3d4e5f60718293a4b5",
        "profileData": {"email": "old-link@staging.example"}})
    drifted += [stale_link]
    for s in (copy.deepcopy(sms[0]), copy.deepcopy(email[0])):
        s["user_metadata"] = {"stale": True}
        s["blocked"] = not s.get("blocked", False)
        s.pop("organizations", None)
        s.pop("permissions", None)
        drifted.append(s)
    for s in drifted:
        for o in s.get("organizations") or []:
            o.pop("role_refs", None)
    doc["users"] = drifted
    del extra
    return doc


@test
def whole_users_copied_and_a_replay_writes_nothing():
    with FakeTenant("prod.example.test", seed=5, users=400, model_2026=True) as p, \
            FakeTenant("staging.example.test") as s:
        ps = p.state()
        r = run(EXPORT, ["-o", "prod.ndjson.gz", "--no-anonymize", "--with-permissions", "--json"],
                tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        summary = json.loads(r.stdout)
        check(summary["permission_grants"] > 0, summary)
        # the cost is said before the first request
        said = re.search(r"reading direct permissions: (\d+) requests \(one per user\), about "
                         r"\d+ s", r.stderr)
        check(said and int(said.group(1)) == summary["users"], r.stderr)
        check_eq(summary["permission_requests"], summary["users"], "one request per user")
        s.load(staging_doc(ps))
        s.clear_outbox()
        args = ["prod.ndjson.gz", "--target", s.domain, "--no-anonymize", "--json",
                "--create-missing-roles", "--prune", "--report", "rep.ndjson"]
        # the plan says what the run then does, and writes nothing
        r = run(IMPORT, [a for a in args if a != "--json"] + ["--plan"], tenant=s,
                env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 0, r.stderr)
        plan = r.stdout
        s.clear_log()
        r = run(IMPORT, args, tenant=s, env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 0, r.stderr)
        counts = json.loads(r.stdout)
        # database linked accounts' users ride in the bulk jobs: POST /users
        # only for passwordless users and accounts
        kinds = {c["name"]: c["strategy"] for c in ps["connections"]}
        linked = [i for u in copyable(ps).values() for i in u["identities"][1:]]
        db_linked = sum(1 for i in linked if kinds.get(i["connection"]) == "auth0")
        pl_linked = sum(1 for i in linked if kinds.get(i["connection"]) in PASSWORDLESS)
        posts = sum(1 for e in s.log() if e["method"] == "POST" and e["path"] == "/api/v2/users")
        check(db_linked > 2, "the tenant has database linked accounts (%d)" % db_linked)
        check(posts <= counts["passwordless"] + pl_linked, "POST /users: %d" % posts)
        check("Linked accounts: %d to link, %d to unlink, %d not copyable"
              % (counts["links_added"], counts["links_removed"], counts["links_not_copyable"])
              in plan, plan)
        check("Direct permissions: %d to grant, %d to revoke"
              % (counts["permissions_added"], counts["permissions_removed"]) in plan, plan)
        check("Passwordless users: %d created or changed" % counts["passwordless"] in plan, plan)
        ss = s.state()
        check_eq(differences(ps, ss)[:10], [], "staging equals production")
        # organization roles were made as organization roles of their owner
        made = sorted((r["name"], r.get("owner_id")) for r in ss["roles"]
                      if r.get("type") == "organization")
        want = sorted((r["name"], r.get("owner_id")) for r in ps["roles"]
                      if r.get("type") == "organization")
        check_eq(len(made), len(want), "organization roles created")
        by_id = {o["id"]: o["name"] for o in ss["organizations"]}
        by_pid = {o["id"]: o["name"] for o in ps["organizations"]}
        check_eq(sorted((n, by_id[o]) for n, o in made), sorted((n, by_pid[o]) for n, o in want),
                 "owned by the same organizations")
        check_eq(s.outbox(), [], "no verification email was sent")
        lines = [json.loads(l) for l in open("rep.ndjson")]
        report = lines[-1]
        check(report["social_skipped"] > 0, report)
        check(counts["links_not_copyable"] > 0 and counts["links_added"] > 0, counts)
        check(counts["links_removed"] >= 1, counts)
        check(counts["permissions_added"] > 0 and counts["permissions_removed"] > 0, counts)
        check(counts["passwordless"] > 0, counts)
        reasons = [l.get("reason", "") for l in lines[:-1]]
        check(any("linked social account" in x for x in reasons), "not copyable, said per user")
        # A replay writes nothing.
        s.clear_log()
        r = run(IMPORT, args[:-1] + ["rep2.ndjson"], tenant=s, env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 0, r.stderr)
        writes = [e for e in s.log() if e["method"] in ("POST", "PATCH", "DELETE")
                  and e["listener"] == "api" and e["path"] not in
                  ("/oauth/token", "/api/v2/jobs/users-exports")]
        check_eq(writes, [], "the replay wrote")
        again = json.loads(r.stdout)
        check_eq((again["created"], again["updated"], again["deleted"]), (0, 0, 0), "replay")


@test
def failed_calls_are_reported_per_user_and_a_rerun_finishes():
    """A link, a passwordless creation refused by the tenant (400), a
    permission grant answered 500 once (retried): the run ends with exit 8,
    each refused user says why in the report, nothing is reported done that
    is not; running again finishes the work."""
    with FakeTenant("prod.example.test", seed=6, users=300, model_2026=True) as p, \
            FakeTenant("staging.example.test") as s:
        ps = p.state()
        r = run(EXPORT, ["-o", "prod.ndjson.gz", "--no-anonymize", "--with-permissions", "-q"],
                tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        doc = staging_doc(ps)
        doc["users"] = []
        s.load(doc)
        s.fault(kind="status", status=400, method="POST", count=1,
                path=r"^/api/v2/users/[^/]+/identities$")
        s.fault(kind="status", status=400, method="POST", count=1, path=r"^/api/v2/users$")
        s.fault(kind="status", status=500, method="POST", count=1,
                path=r"^/api/v2/users/[^/]+/permissions$")
        args = ["prod.ndjson.gz", "--target", s.domain, "--no-anonymize", "--json",
                "--create-missing-roles", "--report", "rep.ndjson"]
        r = run(IMPORT, args, tenant=s, env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 8, r.stderr[-600:])
        summary = json.loads(r.stdout)
        check_eq(summary["failed"], 2, "the user whose link and the user whose creation failed")
        lines = [json.loads(l) for l in open("rep.ndjson")][:-1]
        failed = [l for l in lines if l["outcome"] == "failed"]
        check_eq(len(failed), 2, failed)
        check(any(l["reason"].startswith("linking an account: ") for l in failed), failed)
        check(any(l["reason"].startswith("creating the user: ") for l in failed), failed)
        # only the failed users differ (and a linked account whose link
        # failed stands as a user of its own until the rerun links it)
        allowed = {l["user_id"] for l in failed}
        for u in ps["users"]:
            if u["user_id"] in allowed:
                allowed |= {"%s|%s" % (i["provider"], i["user_id"])
                            for i in u.get("identities", [])[1:]}
        left = differences(ps, s.state())
        check(left and all(any(a in d for a in allowed) for d in left), left[:5])
        s.clear_log()
        r = run(IMPORT, args[:-1] + ["rep2.ndjson"], tenant=s, env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 0, r.stderr[-600:])
        check_eq(differences(ps, s.state())[:5], [], "staging equals production after a rerun")
        # the account left unlinked is linked, not made again: the plan saw it
        # among the target's users (no look-up per account, no 409)
        log = s.log()
        check_eq([e["path"] for e in log if e["method"] == "GET"
                  and re.match(r"^/api/v2/users/[^/]+$", e["path"])], [], "no look-ups")
        check_eq([e["path"] for e in log if e["method"] == "POST" and e["status"] == 409], [],
                 "nothing made twice")
        check(any(e["method"] == "POST" and e["path"].endswith("/identities") for e in log),
              "the link was made")


if __name__ == "__main__":
    main()
