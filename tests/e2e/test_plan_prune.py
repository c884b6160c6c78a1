"""--plan and --prune end to end: a plan writes nothing and its counts
equal the run's; --prune deletes what production no longer has, within the
covered connections, spares --keep matches, and stops before writing when
--max-deletes would be exceeded."""

import copy
import json

from e2elib import (EXPORT, IMPORT, FakeTenant, catalogue_only, check, check_eq,
                    compare_tenants, database_users, divergent_staging, main, run, test)

PROD = "prod.example.test"
STAGE = "staging.example.test"
COUNTS = ("created", "updated", "unchanged", "skipped", "failed", "deleted")


def export(prod, path="prod.ndjson.gz"):
    r = run(EXPORT, ["-o", path, "--no-anonymize", "-q"], tenant=prod)
    check_eq(r.returncode, 0, r.stderr)
    return path


def imp(stage, snapshot, *args):
    return run(IMPORT, [snapshot, "--target", stage.domain, "--no-anonymize", "--json"] +
               list(args), tenant=stage, env_extra={"AUTH0_DOMAIN": None})


def summary_line(path):
    with open(path) as f:
        return json.loads(f.readlines()[-1])


def with_robots(doc, n):
    """Staging-only users: n robots (app_metadata.robot) and n leftovers."""
    base = copy.deepcopy(next(u for u in doc["users"]))
    for i in range(n):
        for kind in ("robot", "left"):
            u = copy.deepcopy(base)
            u.update(user_id="auth0|%s%020d" % ("aaaa" if kind == "robot" else "bbbb", i),
                     email="%s%d@staging.example" % (kind, i), username=None, roles=[],
                     organizations=[], app_metadata={"robot": kind == "robot"})
            doc["users"].append(u)
    return doc


@test
def plan_writes_nothing_and_matches_the_run():
    with FakeTenant(PROD, seed=41, users=500) as p, FakeTenant(STAGE) as s:
        ps = p.state()
        doc, _, _ = divergent_staging(ps)
        s.load(with_robots(doc, 5))
        snap = export(p)
        before = json.dumps(s.state(), sort_keys=True)
        s.clear_log()
        r = imp(s, snap, "--plan", "--prune", "--keep", "app_metadata.robot=true",
                "--max-deletes", "50", "--report", "plan.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        check_eq(json.dumps(s.state(), sort_keys=True), before, "plan changed the target")
        writes = [e for e in s.log() if e["method"] != "GET" and e["path"] not in
                  ("/oauth/token", "/api/v2/jobs/users-exports")]
        check_eq(writes, [], "plan sent writes")
        plan = json.loads(r.stdout)
        lines = [json.loads(l) for l in open("plan.ndjson")][:-1]
        deleted = [l for l in lines if l["outcome"] == "deleted"]
        check(len(deleted) >= 5, "leftovers and the squatter planned for deletion")
        check(all(not l["user_id"].startswith("auth0|aaaa") for l in deleted), "robots kept")
        check(any(l["outcome"] == "kept" for l in lines), "kept users listed")
        r = imp(s, snap, "--prune", "--keep", "app_metadata.robot=true", "--max-deletes", "50",
                "--report", "run.ndjson")
        check_eq(r.returncode, 0, r.stderr)
        done = json.loads(r.stdout)
        for k in COUNTS:
            check_eq(done[k], plan[k], "plan and run disagree on %s" % k)
        check_eq({k: summary_line("run.ndjson")[k] for k in COUNTS},
                 {k: summary_line("plan.ndjson")[k] for k in COUNTS}, "report summaries")
        # after --prune the target equals the source, robots aside
        ss = s.state()
        robots = {u["user_id"] for u in ss["users"] if u["user_id"].startswith("auth0|aaaa")}
        check_eq(len(robots), 5, "robots survive")
        diffs = [d for d in compare_tenants(ps, ss)
                 if not any(r in d for r in robots)]
        check_eq(diffs, [], "target equals source in the covered connections")


def tally_report(lines):
    """What --plan's printout must say, counted from its report's lines."""
    counts, fields, reasons, deletes = {}, {}, {}, []
    for l in lines:
        o = l["outcome"]
        counts[o] = counts.get(o, 0) + 1
        for f in l.get("fields", []):
            fields[f] = fields.get(f, 0) + 1
        if "reason" in l and o in ("skipped", "failed"):
            kind = l["reason"][:min(len(l["reason"].split("'")[0]), len(l["reason"].split("(")[0]))]
            key = "%s: %s" % (o, kind.rstrip(" :"))
            reasons[key] = reasons.get(key, 0) + 1
        if o == "deleted" and len(deletes) < 50:
            deletes.append("%s  %s" % (l["user_id"], l.get("email") or ""))
    return counts, fields, reasons, deletes


def parse_printout(text):
    """--plan's printout back into (counts by verb, fields, reasons, deletions)."""
    verbs, fields, reasons, deletes, part = {}, {}, {}, [], "counts"
    for line in text.splitlines()[1:]:
        if not line.startswith("  "):
            part = ("fields" if line.startswith("Fields") else "reasons" if line.startswith("Skipped")
                    else "deletes" if line.startswith("Deletions") else "other")
            continue
        body = line[2:]
        if part == "counts":
            name, n = body.rsplit(None, 1)
            verbs[name.strip()] = int(n)
        elif part == "fields":
            name, n = body.rsplit(None, 1)
            fields[name.strip()] = int(n)
        elif part == "reasons":
            n, kind = body.strip().split("  ", 1)
            reasons[kind] = int(n)
        elif part == "deletes":
            deletes.append(body)
    return verbs, fields, reasons, deletes


@test
def plan_printout_matches_its_report():
    """The printout counts what the report holds, line by line: outcomes,
    changed fields, reasons by kind, the deletions by name."""
    with FakeTenant(PROD, seed=44, users=400) as p, FakeTenant(STAGE) as s:
        doc, _, _ = divergent_staging(p.state())
        s.load(with_robots(doc, 60))
        snap = export(p)
        r = run(IMPORT, [snap, "--target", s.domain, "--no-anonymize", "--plan", "--prune",
                         "--keep", "app_metadata.robot=true", "--max-deletes", "100",
                         "--report", "plan.ndjson"], tenant=s, env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 0, r.stderr)
        lines = [json.loads(l) for l in open("plan.ndjson")][:-1]
        counts, fields, reasons, deletes = tally_report(lines)
        verbs, pfields, preasons, pdeletes = parse_printout(r.stdout)
        names = {"create": "created", "update": "updated", "unchanged": "unchanged",
                 "skip": "skipped", "fail": "failed", "delete": "deleted", "keep (--keep)": "kept"}
        check_eq({names[v]: n for v, n in verbs.items()},
                 {o: counts.get(o, 0) for o in names.values()}, "outcome counts")
        check(counts.get("updated", 0) > 0 and counts.get("deleted", 0) > 50, counts)
        check_eq(pfields, fields, "fields to change")
        check(len(fields) >= 3, fields)
        check_eq(preasons, reasons, "reasons by kind")
        check(len(reasons) >= 2, reasons)
        check_eq(pdeletes, deletes, "deletions listed (the first 50)")
        check("Deletions (first 50):" in r.stdout, r.stdout)


@test
def max_deletes_stops_before_writing():
    with FakeTenant(PROD, seed=42, users=300) as p, FakeTenant(STAGE) as s:
        ps = p.state()
        doc = catalogue_only(ps)
        doc["users"] = copy.deepcopy(list(database_users(ps).values()))
        with_robots(doc, 40)
        s.load(doc)
        snap = export(p)
        before = json.dumps(s.state(), sort_keys=True)
        r = imp(s, snap, "--prune")   # 40 leftovers + 40 robots > 10% of ~330
        check_eq(r.returncode, 4, r.stderr)
        check("--max-deletes" in r.stderr and "nothing was written" in r.stderr, r.stderr)
        check_eq(json.dumps(s.state(), sort_keys=True), before, "target untouched")
        r = imp(s, snap, "--prune", "--keep", "email=robot*@staging.example",
                "--max-deletes", "40")
        check_eq(r.returncode, 0, r.stderr)
        ids = {u["user_id"] for u in s.state()["users"]}
        check(not any(i.startswith("auth0|bbbb") for i in ids), "leftovers deleted")
        check_eq(sum(1 for i in ids if i.startswith("auth0|aaaa")), 40, "robots kept")


@test
def prune_never_touches_uncovered_connections():
    with FakeTenant(PROD, seed=43, users=300) as p, FakeTenant(STAGE) as s:
        ps = p.state()
        doc = catalogue_only(ps)
        extra = copy.deepcopy(list(database_users(ps, ["legacy-db"]).values())[:3])
        for i, u in enumerate(extra):
            u.update(user_id="auth0|cccc%020d" % i, email="x%d@legacy.example" % i,
                     username="legacyx%d" % i, roles=[], organizations=[])
        doc["users"] = extra
        s.load(doc)
        r = run(EXPORT, ["-o", "upa.ndjson.gz", "--no-anonymize", "-q", "--connection",
                         "Username-Password-Authentication"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        r = imp(s, "upa.ndjson.gz", "--prune", "--max-deletes", "0")
        check_eq(r.returncode, 0, r.stderr)
        ids = {u["user_id"] for u in s.state()["users"]}
        check(all(u["user_id"] in ids for u in extra), "legacy-db users untouched")


@test
def selective_import_only_users_and_connection():
    with FakeTenant(PROD, seed=44, users=300) as p, FakeTenant(STAGE) as s:
        ps = p.state()
        s.load(catalogue_only(ps))
        snap = export(p)
        db = sorted(database_users(ps).values(), key=lambda u: u["user_id"])
        chosen = [db[0]["user_id"], db[5]["email"].upper(), db[9]["user_id"]]
        with open("only.txt", "w") as f:
            f.write("# users for the bug\n" + "\n".join(chosen) + "\n\n")
        r = imp(s, snap, "--only-users", "only.txt")
        check_eq(r.returncode, 0, r.stderr)
        got = sorted(u["user_id"] for u in s.state()["users"])
        check_eq(got, sorted([db[0]["user_id"], db[5]["user_id"], db[9]["user_id"]]),
                 "only the listed users")
        r = imp(s, snap, "--only-connection", "legacy-db")
        check_eq(r.returncode, 0, r.stderr)
        conns = {u["identities"][0]["connection"] for u in s.state()["users"]
                 if u["user_id"] not in got}
        check_eq(conns, {"legacy-db"}, "only that connection")
        r = imp(s, snap, "--only-users", "only.txt", "--prune")
        check_eq(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    main()
