"""a0snap-import end to end: export from a seeded "prod", import into a
"staging" that already holds overlapping and divergent users, and compare
both /__state documents field by field; replays, conflicts, validation
failures, many jobs, failed jobs, 429 storms, expiring tokens, corrupt
snapshots and the target-safety rules."""

import copy
import gzip
import json
import os
import threading
import time

from e2elib import (EXPORT, IMPORT, FakeTenant, catalogue_only, check, check_eq,
                    compare_tenants, database_users, divergent_staging, main, run, test)

PROD = "prod.example.test"
STAGE = "staging.example.test"


def export(prod, path="prod.ndjson.gz"):
    r = run(EXPORT, ["-o", path, "--no-anonymize", "-q"], tenant=prod)
    check_eq(r.returncode, 0, r.stderr)
    return path


def do_import(stage, snapshot, *args, env_extra=None):
    extra = {"AUTH0_DOMAIN": None}
    extra.update(env_extra or {})
    return run(IMPORT, [snapshot, "--target", stage.domain, "--no-anonymize", "--json"] +
               list(args), tenant=stage, env_extra=extra)


def report_lines(path):
    with open(path) as f:
        lines = [json.loads(l) for l in f]
    return lines[:-1], lines[-1]


def writes(log):
    return [e for e in log if e["method"] in ("POST", "PATCH", "DELETE", "PUT")
            and e["listener"] == "api"
            and e["path"] not in ("/oauth/token", "/api/v2/jobs/users-exports")]


_prod = None


def prod():
    global _prod
    if _prod is None:
        _prod = FakeTenant(PROD, seed=31, users=700)
    return _prod


@test
def import_makes_staging_equal_prod_and_replay_writes_nothing():
    p = prod()
    ps = p.state()
    with FakeTenant(STAGE) as s:
        doc, victim, squatter = divergent_staging(ps)
        s.load(doc)
        snap = export(p)
        r = do_import(s, snap, "--report", "rep.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        summary = json.loads(r.stdout)
        ss = s.state()
        diffs = compare_tenants(ps, ss)
        # the only differences: the staging-only robot, and the conflict skipped
        allowed = {"extra in target: auth0|5a1b2c3d4e5f60718293a4b5",
                   "extra in target: " + squatter["user_id"],
                   "missing in target: " + victim["user_id"]}
        check_eq(sorted(set(diffs) - allowed), [], "target differs from prod")
        check_eq(summary["conflicts"], 1, "one conflict")
        lines, tail = report_lines("rep.ndjson")
        byid = {l["user_id"]: l for l in lines}
        check_eq(byid[victim["user_id"]]["outcome"], "skipped", "conflict skipped")
        check(squatter["user_id"] in byid[victim["user_id"]]["reason"], "conflict named")
        check(all(l["outcome"] in ("created", "updated", "unchanged", "skipped") for l in lines),
              "outcomes")
        check_eq(tail["a0snap"], "import-summary", "summary line")
        check_eq(os.stat("rep.ndjson").st_mode & 0o777, 0o600, "report mode")
        # the email change kept the user id (a PATCH, not a new user)
        log = s.log()
        check(any(e["method"] == "PATCH" for e in log), "PATCHes for what upsert can't do")
        check(not any(e["status"] == 413 for e in log), "no 413")
        # replay: nothing changes, nothing is written
        s.clear_log()
        r = do_import(s, snap, "--report", "rep2.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        again = json.loads(r.stdout)
        check_eq((again["created"], again["updated"]), (0, 0), "replay changes nothing")
        check_eq(writes(s.log()), [], "replay writes nothing")
        lines, _ = report_lines("rep2.ndjson")
        check(all(l["outcome"] in ("unchanged", "skipped") for l in lines), "all unchanged")
        # replace the conflict
        r = do_import(s, snap, "--on-conflict=replace", "--report", "rep3.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        ss = s.state()
        ids = {u["user_id"] for u in ss["users"]}
        check(victim["user_id"] in ids and squatter["user_id"] not in ids, "replaced")
        check_eq(sorted(set(compare_tenants(ps, ss)) - allowed), [], "equal after replace")


@test
def validation_failures_are_reported_and_the_rest_imported():
    p = prod()
    ps = p.state()
    bad_state = copy.deepcopy(ps)
    db = sorted(database_users(bad_state).values(), key=lambda u: u["user_id"])
    broken = db[10]
    broken["email"] = "not-an-email"        # refused before any job
    bad_phone = db[20]
    bad_phone["phone_number"] = "12345"     # refused by the import job
    with FakeTenant("badprod.example.test") as bp, FakeTenant(STAGE) as s:
        bp.load(bad_state)
        s.load(catalogue_only(ps))
        snap = export(bp, "bad.ndjson.gz")
        r = do_import(s, snap, "--report", "rep.ndjson", env_extra={})
        check_eq(r.returncode, 8, r.stderr)
        lines, tail = report_lines("rep.ndjson")
        failed = {l["user_id"]: l for l in lines if l["outcome"] == "failed"}
        check_eq(sorted(failed), sorted([broken["user_id"], bad_phone["user_id"]]),
                 "the bad users failed")
        check("email" in failed[broken["user_id"]]["reason"], failed[broken["user_id"]])
        job_fail = failed[bad_phone["user_id"]]
        check(job_fail.get("job_id") and "import job" in job_fail["reason"], job_fail)
        check_eq(tail["failed"], 2, "summary counts them")
        diffs = compare_tenants(bad_state, s.state())
        check_eq(sorted(diffs), sorted(["missing in target: " + broken["user_id"],
                                        "missing in target: " + bad_phone["user_id"]]),
                 "the rest imported")


@test
def many_jobs_two_in_flight_and_a_failed_job():
    p = prod()
    ps = p.state()
    with FakeTenant(STAGE, job_rate=400) as s:
        s.load(catalogue_only(ps))
        snap = export(p)
        s.fail_jobs("users_import", count=1, errors="job")
        r = do_import(s, snap, "--max-request-bytes", "40000", "--report", "rep.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        summary = json.loads(r.stdout)
        check(summary["jobs"] >= 8, "several jobs: %d" % summary["jobs"])
        check_eq(summary["jobs_retried"], 1, "the failed job was split and retried")
        log = s.log()
        posts = [e for e in log if e["path"] == "/api/v2/jobs/users-imports"]
        check(all(e["status"] == 202 for e in posts), "no 413/429 on submissions: %s" %
              sorted({e["status"] for e in posts}))
        check(all(e["body_bytes"] <= 40000 for e in posts), "bodies under the limit")
        check_eq(compare_tenants(ps, s.state()), [], "equal")


@test
def grants_overlap_the_jobs_and_never_precede_their_users():
    # Slow jobs, many of them: role and membership calls for the users of
    # finished jobs go out while later jobs run (the rate limit is shared),
    # and never for a user whose job has not ended (the fake answers 400
    # for users that do not exist). Batches go out full while jobs run, so
    # every database user gets one role here to fill them early.
    with FakeTenant("overlap-prod.example.test", seed=71, users=1500) as p, \
            FakeTenant(STAGE, job_rate=150) as s:
        ps = p.state()
        role = ps["roles"][0]
        db = sorted(database_users(ps))
        for i in range(0, len(db), 100):
            st, _, _ = p.api("POST", "/roles/%s/users" % role["id"], {"users": db[i:i + 100]})
            check_eq(st, 200, "role assigned in the source")
        ps = p.state()
        s.load(catalogue_only(ps))
        snap = export(p, "overlap.ndjson.gz")
        r = do_import(s, snap, "--max-request-bytes", "30000", "--report", "rep.ndjson", "-v")
        check_eq(r.returncode, 0, r.stderr)
        summary = json.loads(r.stdout)
        check(summary["jobs"] >= 10, "several jobs: %d" % summary["jobs"])
        log = [e for e in s.log() if e["listener"] == "api"]
        grant = [i for i, e in enumerate(log) if e["method"] == "POST" and
                 (e["path"].startswith("/api/v2/roles/") or "/members" in e["path"])]
        submits = [i for i, e in enumerate(log) if e["path"] == "/api/v2/jobs/users-imports"]
        check(grant and grant[0] < submits[-1],
              "grant calls start before the last job is submitted (first grant %s, last "
              "submission %s)" % (grant[:1], submits[-1:]))
        bad = [(log[i]["path"], log[i]["status"]) for i in grant if log[i]["status"] >= 300]
        check_eq(bad, [], "every grant call accepted")
        # role batches are full but for one per role: partial ones wait for more users
        role_posts = [log[i] for i in grant if log[i]["path"].startswith("/api/v2/roles/")]
        per_role = {}
        for u in database_users(ps).values():
            for rname in u.get("roles") or []:
                per_role[rname] = per_role.get(rname, 0) + 1
        check_eq(len(role_posts), sum((n + 99) // 100 for n in per_role.values()),
                 "the fewest role batches")
        lines, tail = report_lines("rep.ndjson")
        check_eq(tail["failed"], 0, "nothing failed")
        check_eq(compare_tenants(ps, s.state()), [], "equal")
        check("grants: window" in r.stderr, "windows are traced with -v")


@test
def rides_out_429s_and_an_expiring_token():
    p = prod()
    ps = p.state()
    with FakeTenant(STAGE, rate_burst=10, rate_per_sec=40) as s:
        s.load(catalogue_only(ps))
        snap = export(p)
        s.fault(method="POST", path="/api/v2/roles/.*", kind="status", status=429, count=3)
        s.fault(method="GET", path="/api/v2/jobs/.*", kind="status", status=503, count=2)
        timer = threading.Timer(1.5, s.expire_tokens)
        timer.start()
        r = do_import(s, snap)
        timer.join()
        check_eq(r.returncode, 0, r.stderr)
        check_eq(compare_tenants(ps, s.state()), [], "equal")
        check("retrying in" in r.stderr, r.stderr)


@test
def damaged_downloads_of_the_target_are_fetched_again():
    """The target's users are read through an export job too: a download
    that arrives damaged (short inside a complete answer, failing gzip's
    check, cut off) is fetched again, never planned from."""
    p = prod()
    ps = p.state()
    with FakeTenant(STAGE) as s:
        doc, _, _ = divergent_staging(ps)
        s.load(doc)
        snap = export(p)
        for kind in ("short_body", "corrupt", "truncate"):
            s.fault(listener="download", method="GET", path=".*", kind=kind, count=1)
        r = do_import(s, snap, "--on-conflict=replace", "--prune")
        check_eq(r.returncode, 0, r.stderr)
        check_eq(r.stderr.count("the downloaded file is damaged"), 2, r.stderr)
        check_eq(r.stderr.count("fetching a fresh download link"), 3, r.stderr)
        check_eq(compare_tenants(ps, s.state()), [], "equal")
        # a target that cannot be read whole: nothing is written
        before = s.state()
        s.clear_log()
        s.fault(listener="download", method="GET", path=".*", kind="corrupt", count=50)
        r = do_import(s, snap)
        check_eq(r.returncode, 5, r.stderr)
        check("download failed 5 times" in r.stderr, r.stderr)
        check_eq(writes(s.log()), [], "no writes")
        check_eq(s.state(), before, "target untouched")


@test
def corrupt_snapshot_leaves_target_untouched():
    p = prod()
    with FakeTenant(STAGE) as s:
        s.load(catalogue_only(p.state()))
        snap = export(p)
        raw = gzip.open(snap).read()
        raw = raw.replace(b'"email_verified":true', b'"email_verified":fals', 1)
        with gzip.open("corrupt.ndjson.gz", "wb") as f:
            f.write(raw)
        before = s.state()
        s.clear_log()
        r = do_import(s, "corrupt.ndjson.gz")
        check_eq(r.returncode, 3, r.stderr)
        check_eq(s.log(), [], "not a single request")
        check_eq(s.state(), before, "target untouched")


@test
def safety_rules_refuse_before_any_request():
    p = prod()
    snap = export(p)
    with FakeTenant(PROD) as same, FakeTenant(STAGE) as s:
        r = do_import(same, snap)
        check_eq(r.returncode, 4, r.stderr)
        check("--allow-source-tenant" in r.stderr, r.stderr)
        r = do_import(s, snap, env_extra={"A0SNAP_PROTECTED_TENANTS": "x.example, " + STAGE})
        check_eq(r.returncode, 4, r.stderr)
        check("A0SNAP_PROTECTED_TENANTS" in r.stderr, r.stderr)
        r = do_import(s, snap, env_extra={"AUTH0_DOMAIN": PROD})
        check_eq(r.returncode, 4, r.stderr)
        r = run(IMPORT, [snap], tenant=s)
        check_eq(r.returncode, 2, r.stderr)
        check("--target" in r.stderr, r.stderr)
        check_eq(s.log(), [], "no request for a refused target")
        check_eq(same.log(), [], "no request to the source")
        # credentials of one tenant cannot obtain a token for another
        r = run(IMPORT, [snap, "--target", "other.example.test", "--no-anonymize"], tenant=s,
                env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 6, r.stderr)
        check("other.example.test" in r.stderr, r.stderr)
        check_eq([e["path"] for e in s.log()], ["/oauth/token"], "only the refused token request")


@test
def social_users_skipped_then_converted():
    p = prod()
    ps = p.state()
    social = [u for u in ps["users"] if u["identities"][0].get("isSocial") or
              u["identities"][0]["provider"] not in ("auth0",)]
    check(social, "the seeded tenant has social and enterprise users")
    with FakeTenant(STAGE) as s:
        s.load(catalogue_only(ps))
        snap = export(p)
        r = do_import(s, snap, "--report", "rep.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        summary = json.loads(r.stdout)
        check_eq(summary["social_skipped"], len(social), "counted")
        check("cannot import" in r.stderr, r.stderr)
        r = do_import(s, snap, "--social-users=convert:Username-Password-Authentication",
                      "--report", "rep2.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        ss = s.state()
        conv = {u["user_id"]: u for u in ss["users"]}
        for u in social:
            want = "auth0|" + u["user_id"].replace("|", "-").replace("@", "_")
            check(want in conv, "converted id %s" % want)
            check_eq(conv[want].get("user_metadata") or {}, u.get("user_metadata") or {},
                     "metadata kept")


@test
def a_user_in_another_connection_is_a_conflict_until_replaced():
    # the target has a prod user's user_id in another database connection:
    # Auth0 cannot move a user between connections, so it is not "unchanged"
    p = prod()
    ps = p.state()
    a = sorted((u for u in database_users(ps).values()
                if u["identities"][0]["connection"] == "Username-Password-Authentication"
                and len(u["identities"]) == 1), key=lambda u: u["user_id"])[0]
    doc = catalogue_only(ps)
    for u in database_users(ps).values():
        v = copy.deepcopy(u)
        if u["user_id"] == a["user_id"]:
            v["identities"][0]["connection"] = "legacy-db"
            v["username"] = "in_legacy"
        doc["users"].append(v)
    with FakeTenant(STAGE) as s:
        s.load(doc)
        snap = export(p)
        r = do_import(s, snap, "--report", "rep.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        lines, tail = report_lines("rep.ndjson")
        mine = [l for l in lines if l["user_id"] == a["user_id"]]
        check_eq([l["outcome"] for l in mine], ["skipped"], "skipped")
        check("connection 'legacy-db'" in mine[0]["reason"], mine[0])
        check_eq(tail["conflicts"], 1, "a conflict")
        r = do_import(s, snap, "--on-conflict=replace", "--report", "rep2.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        lines, tail = report_lines("rep2.ndjson")
        check_eq(sorted(l["outcome"] for l in lines if l["user_id"] == a["user_id"]),
                 ["created", "deleted"], "deleted and created")
        got = {u["user_id"]: u for u in s.state()["users"]}[a["user_id"]]
        check_eq(got["identities"][0]["connection"], "Username-Password-Authentication", "moved")
        check_eq(compare_tenants(ps, s.state()), [], "staging equals prod")


@test
def two_snapshot_users_with_one_email_never_replace_each_other():
    # two source connections mapped onto one target connection, a user in
    # each with the same email: the first in user_id order keeps it, the
    # other is skipped, and --on-conflict=replace deletes neither
    p = prod()
    ps = copy.deepcopy(p.state())
    ups = sorted((u for u in database_users(ps).values()
                  if u["identities"][0]["connection"] == "Username-Password-Authentication"
                  and len(u["identities"]) == 1), key=lambda u: u["user_id"])
    leg = sorted((u for u in database_users(ps).values()
                  if u["identities"][0]["connection"] == "legacy-db"
                  and len(u["identities"]) == 1), key=lambda u: u["user_id"])
    a, b = ups[0], leg[0]
    b["email"] = a["email"]
    first, second = sorted((a, b), key=lambda u: u["user_id"])
    with FakeTenant("twins.example.test") as src, FakeTenant(STAGE) as s:
        src.load(ps)
        snap = export(src, "twins.ndjson.gz")
        doc = catalogue_only(ps)
        doc["users"] = [copy.deepcopy(first)]
        doc["users"][0]["identities"][0]["connection"] = "Username-Password-Authentication"
        doc["users"][0].pop("username", None)
        s.load(doc)
        for policy in ([], ["--on-conflict=replace"]):
            with open("ids.txt", "w") as f:
                f.write("%s\n%s\n" % (a["user_id"], b["user_id"]))
            r = do_import(s, snap, "--only-users", "ids.txt", "--map-connection",
                          "legacy-db=Username-Password-Authentication", "--report", "rep.ndjson",
                          *policy)
            check_eq(r.returncode, 0, r.stderr)
            lines, tail = report_lines("rep.ndjson")
            byid = {l["user_id"]: l for l in lines}
            check_eq(byid[second["user_id"]]["outcome"], "skipped", "%s: the second" % policy)
            check("snapshot user '%s'" % first["user_id"] in byid[second["user_id"]]["reason"],
                  byid[second["user_id"]])
            check_eq(tail["deleted"], 0, "%s: nothing deleted" % policy)
            ids = {u["user_id"] for u in s.state()["users"]}
            check(first["user_id"] in ids and second["user_id"] not in ids, "%s: the first stays" % policy)


if __name__ == "__main__":
    main()
