#!/usr/bin/env python3
"""API efficiency: the requests a0snap and the SDK baseline make, by endpoint.

    bench_api.py --bin BUILD_DIR [--work DIR] [--sizes 10000,100000] [--seed 1]
                 [--no-sdk] [--out FILE]

For each size, with the fakes' rate limits out of the way (so the counts
are what the tools ask for, not retries) and the fake's default job speed:
  a0snap-export of the whole source tenant (bench_gen.py's tenant, loaded
  into the fake), then a0snap-import of that snapshot into an empty target
  that has the same connections, roles and organizations;
  the SDK baseline (sdk_baseline.mjs) doing the same copy into another
  empty target.
The requests come from the fakes' request logs: API requests by kind and
endpoint (the token and the download host counted apart), per tool, per
tenant, and per 1,000 users. The targets are then checked: users, role
grants, memberships and member roles must be exactly what the source holds
for its database users, or the figures are not reported. And the local
benchmark's tool (bench_export_process, fed bench_gen.py's export file and
grants) must write byte for byte the user lines a0snap-export wrote.

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
    for k, _, _ in ba.KINDS + [("other", "", "")]:
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


def bench_size(a, n):
    data = dataset(a.work, n, a.seed, load_doc=True)
    with open(data["catalogue"]) as f:
        catalogue = json.load(f)
    outdir = os.path.join(a.work, "api")
    os.makedirs(outdir, exist_ok=True)
    snap = os.path.join(outdir, "n%d.snapshot.ndjson.gz" % n)
    res = {"users": n}
    src = ba.start_source(data["load"])
    try:
        src.clear_log()
        wall, summary = ba.run_export(a.bin, src, snap)
        exp = ba.classify(src.log())
        res["a0snap_export"] = {"wall": round(wall, 2), "requests": exp, "summary_api_requests": summary["api_requests"]}
        res["local_tool_matches"] = check_local_tool(a, data, snap, outdir, n)
        chunk = last_json(measure([os.path.join(a.bin, "tests", "bench_import_chunk"), "--input", snap])["out"])
        w = ba.workload(snap, chunk)
        res["workload"] = w
        dst = ba.start_target(catalogue)
        try:
            dst.clear_log()
            wall, isum = ba.run_import(a.bin, dst, snap, os.path.join(outdir, "n%d.report.ndjson" % n))
            imp = ba.classify(dst.log())
            res["a0snap_import"] = {"wall": round(wall, 2), "requests": imp, "jobs": isum["jobs"],
                                    "target": check_target(dst, w, "a0snap-import")}
        finally:
            dst.stop()
        if not a.no_sdk:
            dst = ba.start_target(catalogue)
            try:
                src.clear_log()
                dst.clear_log()
                wall, ssum = ba.run_sdk(src, dst)
                res["sdk"] = {"wall": round(wall, 2), "source": ba.classify(src.log()),
                              "target": ba.classify(dst.log()), "summary": ssum,
                              "target_state": check_target(dst, w, "sdk_baseline")}
            finally:
                dst.stop()
    finally:
        src.stop()

    log("size %d (%d database users, %d import jobs):" % (n, w["database_users"], res["a0snap_import"]["jobs"]))
    log("  a0snap-export %.1f s, a0snap-import %.1f s" % (res["a0snap_export"]["wall"], res["a0snap_import"]["wall"]))
    show("a0snap-export (source)", exp, n)
    show("a0snap-import (target)", imp, n)
    if "sdk" in res:
        log("  SDK baseline %.1f s (source %.1f s, import jobs %.1f s, grants %.1f s)" % (
            res["sdk"]["wall"], res["sdk"]["summary"]["seconds"]["source"],
            res["sdk"]["summary"]["seconds"]["import_jobs"], res["sdk"]["summary"]["seconds"]["grants"]))
        show("SDK baseline (source)", res["sdk"]["source"], n)
        show("SDK baseline (target)", res["sdk"]["target"], n)
        a_g = exp["grant_requests"] + imp["grant_requests"]
        s_g = res["sdk"]["source"]["grant_requests"] + res["sdk"]["target"]["grant_requests"]
        a_w = imp["grant_writes"]
        s_w = res["sdk"]["target"]["grant_writes"]
        a_nm = a_w - imp["by_kind"].get("member_roles_add", 0)
        s_nm = s_w - res["sdk"]["target"]["by_kind"].get("member_roles_add", 0)
        res["grant_ratio"] = {"all": round(s_g / max(1, a_g), 2), "writes": round(s_w / max(1, a_w), 2),
                              "writes_without_member_roles": round(s_nm / max(1, a_nm), 2),
                              "a0snap": {"all": a_g, "writes": a_w}, "sdk": {"all": s_g, "writes": s_w}}
        log("  role/membership requests: a0snap %d (writes %d), SDK %d (writes %d): SDK/a0snap %.1fx "
            "(writes %.1fx; writes without per-member org roles %.1fx)" % (
                a_g, a_w, s_g, s_w, res["grant_ratio"]["all"], res["grant_ratio"]["writes"],
                res["grant_ratio"]["writes_without_member_roles"]))
    log("  target checked: %s" % json.dumps(res["a0snap_import"]["target"], sort_keys=True))
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
