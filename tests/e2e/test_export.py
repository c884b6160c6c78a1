"""a0snap-export end to end, against the fake tenant: a full round trip
compared field by field with /__state, subsets, and the faults the export
must ride out or refuse (expired link, dropped and truncated downloads,
failed jobs, a 429 storm, a query that matches too many, a full disk)."""

import json
import os
import resource
import signal
import threading
import time

from e2elib import (EXPORT, KEY, FakeTenant, check, check_eq, grants_of, main, read_snapshot,
                    run, state_grants, test)

# Fields the export asks for; everything of these in /__state must be in the snapshot.
FIELDS = ("user_id", "email", "email_verified", "username", "phone_number", "phone_verified",
          "given_name", "family_name", "name", "nickname", "picture", "blocked", "identities",
          "created_at", "updated_at", "last_login", "logins_count", "multifactor",
          "user_metadata", "app_metadata")

_prod = None


def prod():
    """A shared tenant of several thousand users over four connections (above
    the 1,000 /users cap)."""
    global _prod
    if _prod is None:
        _prod = FakeTenant("prod.example.test", seed=11, users=3000)
    return _prod


def export(tenant, *args, **kw):
    return run(EXPORT, list(args), tenant=tenant, **kw)


def compare_with_state(users, state):
    by_id = {u["user_id"]: u for u in state["users"]}
    check_eq(sorted(u["user_id"] for u in users), sorted(by_id), "user ids")
    for u in users:
        s = by_id[u["user_id"]]
        for f in FIELDS:
            check_eq(u.get(f), s.get(f), "%s %s" % (u["user_id"], f))
        check_eq(grants_of(u), state_grants(s), "%s grants" % u["user_id"])


@test
def full_round_trip():
    t = prod()
    r = export(t, "-o", "all.ndjson.gz", "--no-anonymize", "--json")
    check_eq(r.returncode, 0, r.stderr)
    check("RAW personal data" in r.stderr, "--no-anonymize must say so loudly")
    check_eq(os.stat("all.ndjson.gz").st_mode & 0o777, 0o600, "snapshot mode")
    header, users, trailer = read_snapshot("all.ndjson.gz")
    state = t.state()
    check_eq(len(users), 3000, "users")
    check(len({(u.get("identities") or [{}])[0].get("connection") for u in users}) == 4,
          "four connections")
    compare_with_state(users, state)
    check_eq([u["user_id"] for u in users], sorted(u["user_id"] for u in users), "sorted")
    check_eq(trailer["users"], 3000, "trailer count")
    check_eq(header["source"]["domain"], "prod.example.test", "source")
    check_eq(header["privacy"]["applied"], False, "privacy flag")
    check_eq(sorted(r["name"] for r in header["catalogue"]["roles"]),
             sorted(r["name"] for r in state["roles"]), "catalogue roles")
    check(any(u.get("roles") for u in users), "some users have roles")
    check(any(u.get("organizations") for u in users), "some users have memberships")
    # what was sent: export jobs, never /users paging; the download without a token
    log = t.log()
    check(not any(e["path"] == "/api/v2/users" for e in log), "no /users paging")
    downloads = [e for e in log if e["listener"] == "download"]
    check(downloads and not any(e["authorization"] for e in downloads), "download without token")
    # grants in calls growing with roles + orgs + members/100, not with users
    grant_calls = [e for e in log if "/roles/" in e["path"] or "/members" in e["path"]]
    check(len(grant_calls) < 100, "%d role/member calls for 3000 users" % len(grant_calls))
    # deterministic: the same state gives the same user records
    r = export(t, "-o", "again.ndjson.gz", "--no-anonymize", "-q")
    check_eq(r.returncode, 0, r.stderr)
    check_eq(read_snapshot("again.ndjson.gz")[1], users, "deterministic users")


@test
def refuses_to_overwrite_and_defaults_path():
    t = prod()
    t.clear_faults()
    open("taken.ndjson.gz", "w").write("keep me")
    r = export(t, "-o", "taken.ndjson.gz", "--connection", "legacy-db")
    check_eq(r.returncode, 4, r.stderr)
    check("already exists" in r.stderr and "--force" in r.stderr, r.stderr)
    check_eq(open("taken.ndjson.gz").read(), "keep me", "untouched")
    r = export(t, "--connection", "legacy-db", "-q")
    check_eq(r.returncode, 0, r.stderr)
    made = os.listdir("snapshots")
    check(len(made) == 1 and made[0].startswith("prod.example.test-") and
          made[0].endswith(".ndjson.gz"), str(made))
    header, users, _ = read_snapshot(os.path.join("snapshots", made[0]))
    check(users and all(u["identities"][0]["connection"] == "legacy-db" for u in users),
          "connection filter")
    check_eq(header["request"]["connections"], ["legacy-db"], "request recorded")


@test
def subset_by_email_and_query():
    t = prod()
    state = t.state()
    target = next(u for u in state["users"] if u.get("roles") and u.get("email"))
    r = export(t, "--email", target["email"].upper(), "-o", "one.ndjson.gz", "--no-anonymize")
    check_eq(r.returncode, 0, r.stderr)
    _, users, _ = read_snapshot("one.ndjson.gz")
    check_eq([u["user_id"] for u in users],
             sorted(u["user_id"] for u in state["users"] if u.get("email") == target["email"]),
             "users by email")
    compare_with_state(users, {"users": [s for s in state["users"]
                                         if s["user_id"] in {u["user_id"] for u in users}]})
    r = export(t, "--query", 'identities.connection:"legacy-db" AND blocked:true', "-o",
               "q.ndjson.gz", "--no-anonymize")
    check_eq(r.returncode, 0, r.stderr)
    _, users, _ = read_snapshot("q.ndjson.gz")
    want = sorted(u["user_id"] for u in state["users"]
                  if u["identities"][0]["connection"] == "legacy-db" and u.get("blocked"))
    check(want, "the seeded tenant has blocked legacy-db users")
    check_eq([u["user_id"] for u in users], want, "users by query")


@test
def query_matching_too_many_writes_nothing():
    t = prod()
    r = export(t, "--query", "email_verified:true OR email_verified:false", "-o", "big.ndjson.gz")
    check_eq(r.returncode, 2, r.stderr)
    check("more than" in r.stderr and "1000" in r.stderr.replace(",", ""), r.stderr)
    check(not os.path.exists("big.ndjson.gz"), "no file")
    check_eq([f for f in os.listdir(".")], [], "no temp file left")


@test
def expired_download_link_is_fetched_again():
    with FakeTenant("faults.example.test", seed=3, users=200, link_ttl=2) as t:
        t.fault(listener="download", method="GET", path=".*", kind="slow", ms=2500, count=1)
        r = export(t, "-o", "s.ndjson.gz", "--no-anonymize", "-v")
        check_eq(r.returncode, 0, r.stderr)
        downloads = [e["status"] for e in t.log() if e["listener"] == "download"]
        # Expired, then a fresh link. On a loaded machine a fresh link can
        # expire too before its download starts: each is fetched again.
        check(len(downloads) >= 2 and downloads[0] == 403 and downloads[-1] == 200 and
              set(downloads[1:-1]) <= {403}, "expired, then fresh link: %r" % downloads)
        check("fresh download link" in r.stderr, r.stderr[-2000:])
        check_eq(len(read_snapshot("s.ndjson.gz")[1]), 200, "users")


@test
def dropped_and_truncated_downloads_are_retried():
    with FakeTenant("faults2.example.test", seed=4, users=300) as t:
        t.fault(listener="download", method="GET", path=".*", kind="drop", count=1)
        t.fault(listener="download", method="GET", path=".*", kind="truncate", count=1)
        t.fault(listener="download", method="GET", path=".*", kind="stall", ms=30000, count=1)
        r = export(t, "-o", "s.ndjson.gz", "--no-anonymize")
        check_eq(r.returncode, 0, r.stderr)
        check_eq(len([e for e in t.log() if e["listener"] == "download"]), 4, "downloads")
        check_eq(len(read_snapshot("s.ndjson.gz")[1]), 300, "users")
        # Complete HTTP answers holding a damaged file: half a gzip stream,
        # then one that fails gzip's check. Each is fetched again from a
        # fresh link, said on stderr, and the snapshot is whole.
        t.clear_log()
        t.fault(listener="download", method="GET", path=".*", kind="short_body", count=1)
        t.fault(listener="download", method="GET", path=".*", kind="corrupt", count=1)
        r = export(t, "-o", "d.ndjson.gz", "--no-anonymize")
        check_eq(r.returncode, 0, r.stderr)
        log = t.log()
        downloads = [e for e in log if e["listener"] == "download"]
        check_eq([(e["status"], e.get("fault")) for e in downloads],
                 [(200, "short_body"), (200, "corrupt"), (200, None)], "downloads")
        check_eq(r.stderr.count("the downloaded file is damaged"), 2, r.stderr)
        check("fetching a fresh download link (3 attempts left)" in r.stderr, r.stderr)
        check_eq(read_snapshot("d.ndjson.gz")[1], read_snapshot("s.ndjson.gz")[1],
                 "the same users as from a clean download")
        # a fresh link was asked for before each new download
        polls = [e["seq"] for e in log if e["path"].startswith("/api/v2/jobs/")]
        check(all(any(p < d["seq"] for p in polls) for d in downloads), "polls before downloads")
        # always damaged: fails with exit 5 and leaves nothing
        t.fault(listener="download", method="GET", path=".*", kind="short_body", count=50)
        r = export(t, "-o", "u.ndjson.gz", "--no-anonymize")
        check_eq(r.returncode, 5, r.stderr)
        check("download failed 5 times" in r.stderr and "damaged" in r.stderr, r.stderr)
        check(not os.path.exists("u.ndjson.gz"), "no snapshot from a damaged file")
        t.clear_faults()
        # always broken: fails, and leaves no file behind
        t.fault(listener="download", method="GET", path=".*", kind="truncate", count=50)
        r = export(t, "-o", "t.ndjson.gz", "--no-anonymize")
        check_eq(r.returncode, 5, r.stderr)
        check("download failed" in r.stderr, r.stderr)
        check(not os.path.exists("t.ndjson.gz"), "no partial snapshot")
        check_eq(sorted(os.listdir(".")), ["d.ndjson.gz", "s.ndjson.gz"], "no temp files")


@test
def failed_export_job():
    with FakeTenant("faults3.example.test", seed=5, users=100) as t:
        t.fail_jobs("users_export", count=1)
        r = export(t, "-o", "s.ndjson.gz", "--no-anonymize")
        check_eq(r.returncode, 0, r.stderr)
        check("starting a new export job" in r.stderr, r.stderr)
        t.fail_jobs("users_export", count=2)
        r = export(t, "-o", "t.ndjson.gz", "--no-anonymize")
        check_eq(r.returncode, 5, r.stderr)
        check("failed" in r.stderr, r.stderr)
        check(not os.path.exists("t.ndjson.gz"), "no file")


@test
def rides_out_a_429_storm_and_paces():
    with FakeTenant("storm.example.test", seed=6, users=400, rate_burst=5, rate_per_sec=20) as t:
        t.fault(method="GET", path="/api/v2/roles/.*", kind="status", status=429, count=6)
        t.fault(method="GET", path="/api/v2/organizations/.*", kind="status", status=503, count=2)
        r = export(t, "-o", "s.ndjson.gz", "--no-anonymize")
        check_eq(r.returncode, 0, r.stderr)
        check("retrying in" in r.stderr and "retries left" in r.stderr, r.stderr)
        log = t.log()
        injected = [e for e in log if e.get("fault")]
        bucket_429 = [e for e in log if e["status"] == 429 and not e.get("fault")]
        check_eq(len(injected), 8, "injected faults served")
        check(len(bucket_429) <= 1, "%d 429s from the bucket: pacing failed" % len(bucket_429))
        compare_with_state(read_snapshot("s.ndjson.gz")[1], t.state())


@test
def full_disk_leaves_nothing():
    t = prod()
    r = export(t, "-o", "/dev/full", "--force", "--connection", "legacy-db")
    check_eq(r.returncode, 4, r.stderr)
    check("not a regular file" in r.stderr, r.stderr)

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))

    r = export(t, "-o", "s.ndjson.gz", "--no-anonymize", preexec_fn=small_disk)
    check_eq(r.returncode, 7, r.stderr)
    check("File too large" in r.stderr or "No space" in r.stderr, r.stderr)
    check_eq(os.listdir("."), [], "no partial snapshot or temp file")

    # The sorts' spill files fill the disk while the privacy policy runs on
    # two threads: the disk error is what is reported, whichever thread
    # meets it first, not a second thread's "used after a failure".
    def spill_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1200000, 1200000))

    r = export(t, "-o", "p.ndjson.gz", "--sort-mem", "1", preexec_fn=spill_disk,
               env_extra={"A0SNAP_PSEUDONYM_KEY": KEY})
    check_eq(r.returncode, 7, r.stderr)
    check("cannot write a temporary sort file" in r.stderr and "File too large" in r.stderr,
          r.stderr)
    check("after a failure" not in r.stderr, r.stderr)
    check_eq(os.listdir("."), [], "nothing left")


@test
def grants_of_users_the_export_job_does_not_hold_are_dropped():
    # The export job is a point-in-time copy taken when it is created; the
    # role and organization member lists are read afterwards. A user created
    # in between (here: while the first member-list call is held up) has
    # grants but no line: they are dropped and counted, never dangling.
    with FakeTenant("late.example.test", seed=61, users=120) as t:
        st = t.state()
        role, org = st["roles"][0], st["organizations"][0]
        t.fault(method="GET", path="/api/v2/roles/.*/users.*", kind="slow", ms=2500, count=1)
        late = {}

        def add_late_user():
            deadline = time.time() + 20
            while time.time() < deadline and not any(
                    e["path"] == "/api/v2/jobs/users-exports" for e in t.log()):
                time.sleep(0.05)
            st, _, u = t.api("POST", "/users", {"connection": "Username-Password-Authentication",
                                                "email": "late.user@example.org",
                                                "password": "Late-user-pw-123!"})
            late["created"] = st
            uid = u["user_id"]
            late["grants"] = (
                t.api("POST", "/roles/%s/users" % role["id"], {"users": [uid]})[0],
                t.api("POST", "/organizations/%s/members" % org["id"], {"members": [uid]})[0])
            late["id"] = uid

        th = threading.Thread(target=add_late_user)
        th.start()
        r = export(t, "-o", "late.ndjson.gz", "--no-anonymize", "--json")
        th.join()
        check_eq(r.returncode, 0, r.stderr)
        check("id" in late, "the late user was created during the export: %s" % late)
        check_eq((late["created"],) + late["grants"], (201, 200, 204), "late user and grants")
        summary = json.loads(r.stdout)
        check_eq(summary["dropped_grants"], 2, "the late user's role and membership dropped")
        check("2 role or organization grants of users not in the snapshot were left out"
              in r.stderr, r.stderr)
        header, users, trailer = read_snapshot("late.ndjson.gz")
        check(late["id"] not in {u["user_id"] for u in users}, "the late user is not in it")
        check_eq(len(users), 120, "the job's users")
        # the member lists are read while the job runs, before its file is fetched
        log = t.log()
        first_read = min(i for i, e in enumerate(log) if e["path"].startswith("/api/v2/roles/"))
        first_download = min(i for i, e in enumerate(log) if e["listener"] == "download")
        check(first_read < first_download, "grants read during the export job")
        # everyone else is exactly as the tenant holds them
        compare_with_state(users, {"users": [u for u in t.state()["users"]
                                             if u["user_id"] != late["id"]]})


@test
def missing_scope_is_named_before_work():
    with FakeTenant("scopes.example.test", seed=7, users=10,
                    scopes="read:users read:connections read:roles") as t:
        r = export(t, "-o", "s.ndjson.gz")
        check_eq(r.returncode, 6, r.stderr)
        check("read:organizations" in r.stderr and "read:role_members" in r.stderr, r.stderr)
        check(not any(e["path"].startswith("/api/v2/jobs") for e in t.log()), "no job started")


if __name__ == "__main__":
    main()
