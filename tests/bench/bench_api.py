#!/usr/bin/env python3
"""API efficiency: the requests a0snap and the SDK baseline make, by endpoint.

    bench_api.py --bin BUILD_DIR [--work DIR] [--sizes 10000,100000] [--seed 1]
                 [--no-sdk] [--no-permissions] [--out FILE]

For each size, with the fakes' rate limits out of the way (so the counts
are what the tools ask for, not retries) and the fake's default job speed,
on bench_gen.py's tenant (the 2026 model) loaded into a fake:
  a0snap-export --with-permissions of the whole source tenant;
  a0snap-export again with the fake's quirk members_checkpoint_roles=omit
  (organization member lists without their roles: the member roles are
  completed per role or per member), without --with-permissions, to count
  the member-role requests against what asking every member would cost;
  a0snap-import --create-missing-roles of the first snapshot into an empty
  target that has the same connections, APIs, tenant roles and
  organizations (no organization roles);
  a refresh: that target drifted (benchapi.apply_drift: stale and missing
  links, permissions, organization roles; changed passwordless users),
  then a0snap-import --create-missing-roles --prune of the same snapshot;
  the SDK baseline (sdk_baseline.mjs) copying the same tenant into another
  empty target (no refresh: it only creates).
The requests come from the fakes' request logs: API requests by kind and
endpoint (the token and the download host counted apart), per tool, per
tenant, and per 1,000 users. The targets are then checked: users, role
grants, memberships, member roles, direct permissions, linked accounts
and organization roles must be exactly what the source holds for its
database and passwordless users, or the figures are not reported. The
export without roles in the member lists must hold the same users and
grants as the first one (permissions aside). And the local benchmark's
tool (bench_export_process, fed bench_gen.py's export file and grants)
must write byte for byte the user lines a0snap-export wrote.

--no-permissions exports without --with-permissions (and the SDK program
copies no permissions).

Prints plain lines, then one JSON summary line (also written to --out).
"""

import argparse
import gzip
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchapi as ba  # noqa: E402
from benchlib import BenchError, dataset, emit_summary, last_json, log, machine, measure  # noqa: E402


def per_k(n, users):
    return round(1000.0 * n / users, 2)


def show(label, c, users):
    log("    %-28s %6d API requests (%7.2f per 1k users), %d token, %d download, %d rate-limited" % (
        label, c["api"], per_k(c["api"], users), c["token"], c["download"], c["rate_limited"]))
    seen = set()
    for k in ba.KIND_ORDER:
        if k in seen or k not in c["by_kind"]:
            continue
        seen.add(k)
        log("      %-24s %6d  (%7.2f per 1k users)" % (k, c["by_kind"][k], per_k(c["by_kind"][k], users)))


def user_lines_digest(path):
    """SHA-256 of a snapshot's user lines (header and trailer left out)."""
    h = hashlib.sha256()
    n = 0
    with gzip.open(path, "rb") as f:
        prev = None
        for line in f:
            if n >= 2:  # prev is a user line (line 0 is the header)
                h.update(prev)
            prev = line
            n += 1
    return h.hexdigest(), n - 2  # the last line is the trailer


def check_local_tool(a, data, snap, outdir, n):
    """bench_export_process must write exactly the users a0snap-export
    wrote through the fake, or the local figures measure something else."""
    local = os.path.join(outdir, "n%d.local.ndjson.gz" % n)
    measure([os.path.join(a.bin, "tests", "bench_export_process"), "--input", data["export"], "--grants",
             data["grants"], "--catalogue", data["catalogue"], "--output", local, "--tmpdir", outdir])
    d_api, n_api = user_lines_digest(snap)
    d_local, n_local = user_lines_digest(local)
    os.unlink(local)
    if (d_api, n_api) != (d_local, n_local):
        raise BenchError("bench_export_process and a0snap-export disagree on the users of %d (%d vs %d lines)"
                         % (n, n_local, n_api))
    return d_api


def check_target(dst, w, who):
    got = ba.target_counts(dst)
    want = ba.expected_target(w)
    if got != want:
        raise BenchError("%s: the target holds %s, expected %s" % (who, got, want))
    return got


def users_without_permissions(path):
    """{user_id: user line without "permissions"} of a snapshot (and without
    empty "roles" and "organizations", which the join writes for a user
    whose only grants are permissions)."""
    out = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            u = json.loads(line)
            if "a0snap" not in u:
                u.pop("permissions", None)
                for k in ("roles", "organizations"):
                    if u.get(k) == []:
                        del u[k]
                out[u["user_id"]] = u
    return out


def bench_size(a, n):
    data = dataset(a.work, n, a.seed, load_doc=True)
    with open(data["catalogue"]) as f:
        catalogue = json.load(f)
    with open(data["apis"]) as f:
        apis = json.load(f)
    perms = not a.no_permissions
    outdir = os.path.join(a.work, "api")
    os.makedirs(outdir, exist_ok=True)
    snap = os.path.join(outdir, "n%d.snapshot.ndjson.gz" % n)
    snap_omit = os.path.join(outdir, "n%d.omitted.ndjson.gz" % n)
    res = {"users": n, "permissions": perms, "gen": data["gen"]}
    src = ba.start_source(data["load"])
    try:
        src.clear_log()
        wall, summary = ba.run_export(a.bin, src, snap, permissions=perms)
        exp = ba.classify(src.log())
        res["a0snap_export"] = {"wall": round(wall, 2), "requests": exp, "summary_api_requests": summary["api_requests"],
                                "permission_requests": summary.get("permission_requests", 0)}
        if perms:  # bench_gen's grants hold the permissions: the local tool joins them
            res["local_tool_matches"] = check_local_tool(a, data, snap, outdir, n)
        chunk = last_json(measure([os.path.join(a.bin, "tests", "bench_import_chunk"), "--input", snap])["out"])
        w = ba.workload(snap, chunk)
        res["workload"] = w

        # member lists without roles
        src.quirks(**ba.OMITTED_ROLES)
        src.clear_log()
        wall, osum = ba.run_export(a.bin, src, snap_omit)
        src.reset_quirks()
        oexp = ba.classify(src.log())
        costs = ba.member_role_costs(w, ba.snapshot_header(snap)["catalogue"])
        if users_without_permissions(snap_omit) != users_without_permissions(snap):
            raise BenchError("the export without roles in the member lists differs from the first one")
        res["a0snap_export_omitted"] = {"wall": round(wall, 2), "requests": oexp,
                                        "member_role_requests": osum["member_role_requests"], "costs": costs}

        dst = ba.start_target(catalogue, apis)
        try:
            dst.clear_log()
            wall, isum = ba.run_import(a.bin, dst, snap, os.path.join(outdir, "n%d.report.ndjson" % n))
            imp = ba.classify(dst.log())
            res["a0snap_import"] = {"wall": round(wall, 2), "requests": imp, "summary": isum,
                                    "target": check_target(dst, w, "a0snap-import")}
            drift, writes = ba.apply_drift(dst, snap, a.seed, perms)
            tw = ba.target_read_workload(dst, perms)
            dst.clear_log()
            wall, rsum = ba.run_import(a.bin, dst, snap, os.path.join(outdir, "n%d.refresh.ndjson" % n),
                                       extra=["--prune"])
            ref = ba.classify(dst.log())
            res["a0snap_refresh"] = {"wall": round(wall, 2), "requests": ref, "summary": rsum, "drift": drift,
                                     "min_writes": writes, "target_read": tw,
                                     "target": check_target(dst, w, "a0snap-import (refresh)")}
        finally:
            dst.stop()
        if not a.no_sdk:
            dst = ba.start_target(catalogue, apis)
            try:
                src.clear_log()
                dst.clear_log()
                wall, ssum = ba.run_sdk(src, dst, permissions=perms)
                res["sdk"] = {"wall": round(wall, 2), "source": ba.classify(src.log()),
                              "target": ba.classify(dst.log()), "summary": ssum,
                              "target_state": check_target(dst, w, "sdk_baseline")}
            finally:
                dst.stop()
    finally:
        src.stop()

    log("size %d (%d database users, %d passwordless; %d import jobs):" % (
        n, w["database_users"], w["passwordless_users"], res["a0snap_import"]["summary"]["jobs"]))
    log("  a0snap-export %.1f s, without member roles in the lists %.1f s, a0snap-import %.1f s, refresh %.1f s" % (
        res["a0snap_export"]["wall"], res["a0snap_export_omitted"]["wall"], res["a0snap_import"]["wall"],
        res["a0snap_refresh"]["wall"]))
    show("a0snap-export (source)", exp, n)
    show("a0snap-export, member lists without roles", oexp, n)
    log("    member roles completed with %d requests; asking every member: %d; per role everywhere: %d; the "
        "cheaper per organization: %d" % (osum["member_role_requests"], costs["per_member"], costs["per_role"],
                                          costs["minimum"]))
    show("a0snap-import (empty target)", imp, n)
    show("a0snap-import (drifted target)", ref, n)
    log("    drift: %s; at least %d writes undo it (%s)" % (
        json.dumps(drift, sort_keys=True), sum(writes.values()), json.dumps(writes, sort_keys=True)))
    if "sdk" in res:
        sec = res["sdk"]["summary"]["seconds"]
        log("  SDK baseline %.1f s (source %.1f s, import jobs %.1f s, creates and links %.1f s, grants %.1f s)" % (
            res["sdk"]["wall"], sec["source"], sec["import_jobs"], sec["creates"], sec["grants"]))
        show("SDK baseline (source)", res["sdk"]["source"], n)
        show("SDK baseline (target)", res["sdk"]["target"], n)
        a_g = exp["grant_requests"] + imp["grant_requests"]
        s_g = res["sdk"]["source"]["grant_requests"] + res["sdk"]["target"]["grant_requests"]
        a_w = imp["grant_writes"]
        s_w = res["sdk"]["target"]["grant_writes"]
        a_nm = a_w - imp["by_kind"].get("member_roles_add", 0)
        s_nm = s_w - res["sdk"]["target"]["by_kind"].get("member_roles_add", 0)
        a_x = exp["whole_user_requests"] + imp["whole_user_requests"]
        s_x = res["sdk"]["source"]["whole_user_requests"] + res["sdk"]["target"]["whole_user_requests"]
        res["grant_ratio"] = {"all": round(s_g / max(1, a_g), 2), "writes": round(s_w / max(1, a_w), 2),
                              "writes_without_member_roles": round(s_nm / max(1, a_nm), 2),
                              "a0snap": {"all": a_g, "writes": a_w}, "sdk": {"all": s_g, "writes": s_w}}
        res["whole_user_ratio"] = {"a0snap": a_x, "sdk": s_x, "ratio": round(s_x / max(1, a_x), 2)}
        log("  role/membership requests: a0snap %d (writes %d), SDK %d (writes %d): SDK/a0snap %.1fx "
            "(writes %.1fx; writes without per-member org roles %.1fx)" % (
                a_g, a_w, s_g, s_w, res["grant_ratio"]["all"], res["grant_ratio"]["writes"],
                res["grant_ratio"]["writes_without_member_roles"]))
        log("  passwordless, link, permission and organization-role requests: a0snap %d, SDK %d (%.2fx)" % (
            a_x, s_x, res["whole_user_ratio"]["ratio"]))
    log("  targets checked: %s" % json.dumps(res["a0snap_import"]["target"], sort_keys=True))
    if "local_tool_matches" in res:
        log("  bench_export_process wrote the same %d user lines as a0snap-export (sha256 %s...)" % (
            n, res["local_tool_matches"][:16]))
    return res


def main(argv):
    p = argparse.ArgumentParser(description="a0snap API efficiency benchmark")
    p.add_argument("--bin", required=True)
    p.add_argument("--work", default=None)
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-sdk", action="store_true")
    p.add_argument("--no-permissions", action="store_true")
    p.add_argument("--out", default=None, help="also write the JSON summary here")
    a = p.parse_args(argv)
    a.work = a.work or os.path.join(a.bin, "bench")
    results = {}
    for n in [int(x) for x in a.sizes.split(",") if x]:
        results[str(n)] = bench_size(a, n)
    summary = {"bench": "api", "machine": machine(), "seed": a.seed, "sizes": results}
    emit_summary(summary, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
