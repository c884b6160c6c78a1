"""The fault matrix: for each fault injected into the fake during an
export and during an import, the run either completes with the target equal
to the source, or stops with a clear message and a documented exit code,
and never reports success for work it did not do."""

import json

from e2elib import (EXPORT, IMPORT, FakeTenant, catalogue_only, check, check_eq,
                    compare_tenants, main, read_snapshot, run, test)

EXPORT_FAULTS = [
    # (name, fault specs, expected exit code)
    ("429 storm", [dict(method="GET", path="/api/v2/.*", kind="status", status=429, count=5)], 0),
    ("5xx burst", [dict(method="*", path="/api/v2/.*", kind="status", status=503, count=3)], 0),
    ("connection reset", [dict(method="GET", path="/api/v2/roles.*", kind="reset", count=2)], 0),
    ("answer not JSON", [dict(method="GET", path="/api/v2/organizations.*", kind="not_json",
                              count=1)], 0),
    ("truncated download", [dict(listener="download", method="GET", path=".*", kind="truncate",
                                 count=2)], 0),
    ("broken for good", [dict(method="GET", path="/api/v2/jobs/.*", kind="status", status=500,
                              count=100)], 5),
]

IMPORT_FAULTS = [
    ("429 storm", [dict(method="*", path="/api/v2/(jobs|roles|organizations)/.*", kind="status",
                        status=429, count=6)], None, 0),
    ("5xx on submission", [dict(method="POST", path="/api/v2/jobs/users-imports", kind="status",
                                status=502, count=2)], None, 0),
    ("job created, answer lost", [dict(method="POST", path="/api/v2/jobs/users-imports",
                                       kind="reset", after=True, count=1)], None, 0),
    ("answer not JSON", [dict(method="GET", path="/api/v2/jobs/.*", kind="not_json",
                              count=1)], None, 0),
    ("failed job, errors 204", [], ("users_import", 1, "204"), 0),
    ("failed job, errors as job object", [], ("users_import", 1, "job"), 0),
    ("every job fails", [], ("users_import", 50, "job"), 8),
    ("target export job fails twice", [], ("users_export", 2, "job"), 5),
]

_prod = None


def prod():
    global _prod
    if _prod is None:
        _prod = FakeTenant("prod.example.test", seed=71, users=300)
    return _prod


@test
def export_fault_matrix():
    p = prod()
    state = p.state()
    for name, faults, code in EXPORT_FAULTS:
        p.clear_faults()
        for f in faults:
            p.fault(**f)
        out = "e-%s.ndjson.gz" % name.replace(" ", "-")
        r = run(EXPORT, ["-o", out, "--no-anonymize"], tenant=p)
        check_eq(r.returncode, code, "%s: %s" % (name, r.stderr[-800:]))
        if code == 0:
            users = read_snapshot(out)[1]
            check_eq(sorted(u["user_id"] for u in users),
                     sorted(u["user_id"] for u in state["users"]), name)
        else:
            check(r.stderr.strip().count("\n") < 40 and "a0snap-export: " in r.stderr,
                  "%s: a clear error" % name)
            check(not r.stdout, "%s: no summary for a failed run" % name)
    p.clear_faults()


@test
def import_fault_matrix():
    p = prod()
    ps = p.state()
    r = run(EXPORT, ["-o", "prod.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
    check_eq(r.returncode, 0, r.stderr)
    for name, faults, jobfail, code in IMPORT_FAULTS:
        with FakeTenant("staging.example.test") as s:
            s.load(catalogue_only(ps))
            for f in faults:
                s.fault(**f)
            if jobfail:
                s.fail_jobs(jobfail[0], count=jobfail[1], errors=jobfail[2])
            r = run(IMPORT, ["prod.ndjson.gz", "--target", s.domain, "--no-anonymize", "--json",
                             "--report", "rep.ndjson", "--max-request-bytes", "60000"],
                    tenant=s, env_extra={"AUTH0_DOMAIN": None})
            check_eq(r.returncode, code, "%s: %s" % (name, r.stderr[-800:]))
            if code == 0:
                check_eq(compare_tenants(ps, s.state())[:5], [], name)
                check_eq(json.loads(r.stdout)["failed"], 0, name)
            elif code == 8:
                summary = json.loads(r.stdout)
                check(summary["failed"] > 0, "%s: failures counted" % name)
                lines = [json.loads(l) for l in open("rep.ndjson")][:-1]
                failed = {l["user_id"] for l in lines if l["outcome"] == "failed"}
                present = {u["user_id"] for u in s.state()["users"]}
                check_eq(sorted(failed & present), [], "%s: reported failed but present" % name)
                # nothing reported created that is not there
                created = {l["user_id"] for l in lines if l["outcome"] == "created"}
                check_eq(sorted(created - present), [], "%s: reported but absent" % name)
            else:
                check("a0snap-import: " in r.stderr and not r.stdout, "%s: clear error" % name)


if __name__ == "__main__":
    main()
