#!/usr/bin/env python3
"""Wall time under Auth0's published rate limits, against a lower bound.

    bench_limits.py --bin BUILD_DIR [--work DIR] [--runs enterprise:10000,...]
                    [--sdk-runs enterprise:10000] [--job-rate 1000]
                    [--api-results FILE] [--seed 1] [--out FILE]

Each run (plan:users) configures both fakes with a plan's Management API
limits (free: burst 2, 2/s; enterprise production: burst 50, 16/s) and a
fixed job speed (--job-rate users/s, for export and import jobs), then
times a0snap-export of the source and a0snap-import of that snapshot into
an empty target, and compares each with the lower bound the limits impose
on that workload (the formulas: benchapi.bound_export / bound_import and
tests/bench/RESULTS.md). For the runs in --sdk-runs the SDK baseline copies
the same tenant under the same limits; for the others its time is
projected from its request counts in --api-results (bench_api.py's
output) as a lower bound for that program (it can only be slower).

Prints plain lines, then one JSON summary line (also written to --out).
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchapi as ba  # noqa: E402
from benchlib import BenchError, dataset, emit_summary, last_json, log, machine, measure  # noqa: E402

GOAL_IMPORT_RATIO = 1.15
GOAL_SDK_SPEEDUP = 2.0


def parse_runs(text):
    out = []
    for item in [x for x in text.split(",") if x]:
        plan, _, n = item.partition(":")
        if plan not in ba.PLANS or not n.isdigit():
            raise SystemExit("bench_limits: bad run '%s' (plan:users, plan one of %s)" % (item, ", ".join(ba.PLANS)))
        out.append((plan, int(n)))
    return out


def sdk_projection(api, n, limits, job_rate):
    """A lower bound of the SDK program's time under limits, from the
    requests it made in bench_api.py's run of the same tenant. The program
    is sequential: source phase, then one import job after another, then
    the per-user grant calls."""
    res = (api or {}).get("sizes", {}).get(str(n), {})
    sdk = res.get("sdk")
    if not sdk:
        return None
    burst, rate = limits["rate_burst"], limits["rate_per_sec"]
    r_src = sdk["source"]["api"]
    w = res["workload"]
    t_src = max(max(0.0, (r_src - burst) / rate), max(ba.FAKE_MIN_JOB_S, w["users"] / job_rate))
    s = sdk["summary"]
    files = s["files"]
    t_jobs = max(files * ba.FAKE_MIN_JOB_S, s["database_users"] / job_rate)
    r_grants = s["role_calls"] + s["member_calls"] + s["member_role_calls"]
    t_grants = max(0.0, (r_grants - burst) / rate)
    return {"source": round(t_src, 1), "import_jobs": round(t_jobs, 1), "grants": round(t_grants, 1),
            "target": round(t_jobs + t_grants, 1), "total": round(t_src + t_jobs + t_grants, 1),
            "requests": {"source": r_src, "target": sdk["target"]["api"]}}


def one_run(a, plan, n, with_sdk, api):
    limits = ba.PLANS[plan]
    data = dataset(a.work, n, a.seed, load_doc=True)
    with open(data["catalogue"]) as f:
        catalogue = json.load(f)
    outdir = os.path.join(a.work, "limits")
    os.makedirs(outdir, exist_ok=True)
    snap = os.path.join(outdir, "%s-n%d.snapshot.ndjson.gz" % (plan, n))
    res = {"plan": plan, "users": n, "limits": limits, "job_rate": a.job_rate}
    src = ba.start_source(data["load"], limits, a.job_rate)
    try:
        ba.reset_bucket(src, limits)
        wall_e, _ = ba.run_export(a.bin, src, snap)
        exp = ba.classify(src.log())
        chunk = last_json(measure([os.path.join(a.bin, "tests", "bench_import_chunk"), "--input", snap])["out"])
        w = ba.workload(snap, chunk)
        lb_e = ba.bound_export(w, [r["name"] for r in catalogue["roles"]],
                               [o["name"] for o in catalogue["organizations"]], limits, a.job_rate)
        res["export"] = {"wall": round(wall_e, 2), "requests": exp["api"], "rate_limited": exp["rate_limited"],
                         "bound": lb_e, "ratio": round(wall_e / lb_e["seconds"], 3)}
        log("%s limits (burst %d, %g/s), %d users, jobs %g users/s:" % (
            plan, limits["rate_burst"], limits["rate_per_sec"], n, a.job_rate))
        log("  a0snap-export  %7.1f s  %5d requests (%d answered 429)  bound %7.1f s (%d requests; jobs %.1f s)  "
            "ratio %.2f" % (wall_e, exp["api"], exp["rate_limited"], lb_e["seconds"], lb_e["requests"],
                            lb_e["t_jobs"], res["export"]["ratio"]))

        dst = ba.start_target(catalogue, limits, a.job_rate)
        try:
            ba.reset_bucket(dst, limits)
            t_start = time.time()
            wall_i, isum = ba.run_import(a.bin, dst, snap, os.path.join(outdir, "%s-n%d.report.ndjson" % (plan, n)))
            t_end = time.time()
            dlog = dst.log()
            imp = ba.classify(dlog)
            timeline = ba.import_timeline(dlog, t_start, t_end, limits["rate_per_sec"])
            got, want = ba.target_counts(dst), ba.expected_target(w)
            if got != want:
                raise BenchError("a0snap-import under %s limits: target holds %s, expected %s" % (plan, got, want))
        finally:
            dst.stop()
        lb_i = ba.bound_import(w, limits, a.job_rate)
        lb_i100 = ba.bound_import(w, limits, a.job_rate, batch=ba.BATCH)
        res["import"] = {"wall": round(wall_i, 2), "requests": imp["api"], "rate_limited": imp["rate_limited"],
                         "by_kind": imp["by_kind"], "jobs": isum["jobs"], "bound": lb_i, "bound_batch100": lb_i100,
                         "ratio": round(wall_i / lb_i["seconds"], 3),
                         "ratio_batch100": round(wall_i / lb_i100["seconds"], 3), "timeline": timeline}
        log("  a0snap-import  %7.1f s  %5d requests (%d answered 429)  bound %7.1f s (%d requests; jobs %.1f s)  "
            "ratio %.2f  [bound with batches of %d: %.1f s, %d requests, ratio %.2f]" % (
                wall_i, imp["api"], imp["rate_limited"], lb_i["seconds"], lb_i["requests"], lb_i["t_jobs"],
                res["import"]["ratio"], ba.BATCH, lb_i100["seconds"], lb_i100["requests"],
                res["import"]["ratio_batch100"]))
        log("    import timeline: %s" % "; ".join(
            "%s %.1f s (%d requests, the limit allows %d)" % (k, v["seconds"], v["requests"], v["rate_allows"])
            for k, v in timeline.items()))
        # The issue asks for at most 1 + users/900 submissions: that holds
        # for records of up to ~555 bytes (Auth0's docs: ~1,000 users "with
        # fewer than 10 metadata fields" per 500 KB file). Report it against
        # the minimum these records' bytes allow under the body limit.
        rec_bytes = sum(c["record_bytes"] for c in w["records"].values())
        subs = {"made": imp["by_kind"].get("import_job", 0), "minimum_for_bytes": lb_i["import_jobs"],
                "issue_cap": 1 + w["database_users"] // 900,
                "avg_record_bytes": round(rec_bytes / max(1, w["database_users"]), 1)}
        res["import"]["submissions"] = subs
        log("    import job submissions: %d; the fewest these records allow under the body limit: %d; "
            "1 + users/900 = %d (records average %.0f bytes; that cap needs <= ~555)" % (
                subs["made"], subs["minimum_for_bytes"], subs["issue_cap"], subs["avg_record_bytes"]))
        extra = {k: imp["by_kind"].get(k, 0) for k in ("job_poll", "role_members_read", "org_members_read")}
        log("    import requests above the bound's: %d (job polls %d, target grant reads %d)" % (
            imp["api"] - lb_i100["requests"], extra["job_poll"], extra["role_members_read"] + extra["org_members_read"]))

        if with_sdk:
            dst = ba.start_target(catalogue, limits, a.job_rate)
            try:
                ba.reset_bucket(src, limits)
                ba.reset_bucket(dst, limits)
                wall_s, ssum = ba.run_sdk(src, dst)
                s_src, s_dst = ba.classify(src.log()), ba.classify(dst.log())
                got = ba.target_counts(dst)
                if got != ba.expected_target(w):
                    raise BenchError("sdk_baseline under %s limits: target holds %s" % (plan, got))
            finally:
                dst.stop()
            sec = ssum["seconds"]
            res["sdk"] = {"measured": True, "wall": round(wall_s, 2), "source": round(sec["source"], 2),
                          "target": round(sec["target"], 2), "import_jobs": round(sec["import_jobs"], 2),
                          "grants": round(sec["grants"], 2), "requests": {"source": s_src["api"], "target": s_dst["api"]},
                          "rate_limited": {"source": s_src["rate_limited"], "target": s_dst["rate_limited"]}}
            log("  SDK baseline   %7.1f s  (source %.1f s, target %.1f s: jobs %.1f s + grants %.1f s); "
                "%d + %d requests (%d + %d answered 429)" % (
                    wall_s, sec["source"], sec["target"], sec["import_jobs"], sec["grants"], s_src["api"],
                    s_dst["api"], s_src["rate_limited"], s_dst["rate_limited"]))
            sdk_target = sec["target"]
            sdk_total = wall_s
        else:
            proj = sdk_projection(api, n, limits, a.job_rate)
            res["sdk"] = {"measured": False, "projected_lower_bound": proj}
            if proj:
                log("  SDK baseline   not run under limits; at least %.1f s (source %.1f s, target %.1f s: jobs "
                    "%.1f s + grants %.1f s), projected from its %d + %d requests" % (
                        proj["total"], proj["source"], proj["target"], proj["import_jobs"], proj["grants"],
                        proj["requests"]["source"], proj["requests"]["target"]))
                sdk_target, sdk_total = proj["target"], proj["total"]
            else:
                log("  SDK baseline   not run under limits, and no bench_api.py figures for %d users to project "
                    "from" % n)
                sdk_target = sdk_total = None
        if sdk_target:
            res["speedup"] = {"import": round(sdk_target / wall_i, 2), "total": round(sdk_total / (wall_e + wall_i), 2)}
            log("  SDK / a0snap: import side %.1fx, export+import %.1fx%s" % (
                res["speedup"]["import"], res["speedup"]["total"],
                "" if with_sdk else " (SDK side a lower bound)"))
    finally:
        src.stop()
    return res


def main(argv):
    p = argparse.ArgumentParser(description="a0snap wall time under rate limits")
    p.add_argument("--bin", required=True)
    p.add_argument("--work", default=None)
    p.add_argument("--runs", default="enterprise:10000,enterprise:100000,free:5000")
    p.add_argument("--sdk-runs", default="")
    p.add_argument("--job-rate", type=float, default=1000.0)
    p.add_argument("--api-results", default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    a.work = a.work or os.path.join(a.bin, "bench")
    api = None
    if a.api_results and os.path.exists(a.api_results):
        with open(a.api_results) as f:
            api = json.load(f)
    sdk_runs = set(parse_runs(a.sdk_runs))
    results = []
    for plan, n in parse_runs(a.runs):
        results.append(one_run(a, plan, n, (plan, n) in sdk_runs, api))
    goals = {}
    ent = [r for r in results if r["plan"] == "enterprise"]
    if ent:
        big = max(ent, key=lambda r: r["users"])
        goals["import_ratio_users"] = big["users"]
        goals["import_within_1_15x_bound"] = big["import"]["ratio"] <= GOAL_IMPORT_RATIO
        goals["import_within_1_15x_bound_batch100"] = big["import"]["ratio_batch100"] <= GOAL_IMPORT_RATIO
        if "speedup" in big:
            goals["import_2x_faster_than_sdk"] = big["speedup"]["import"] >= GOAL_SDK_SPEEDUP
        log("goals (enterprise, %d users): import/bound %.2f (<= %.2f: %s; with batches of %d: %.2f, %s)%s" % (
            big["users"], big["import"]["ratio"], GOAL_IMPORT_RATIO,
            "met" if goals["import_within_1_15x_bound"] else "MISSED", ba.BATCH, big["import"]["ratio_batch100"],
            "met" if goals["import_within_1_15x_bound_batch100"] else "MISSED",
            "; SDK/a0snap import %.1fx (>= 2: %s)" % (big["speedup"]["import"],
                                                      "met" if goals["import_2x_faster_than_sdk"] else "MISSED")
            if "speedup" in big else ""))
    summary = {"bench": "limits", "machine": machine(), "job_rate": a.job_rate, "runs": results, "goals": goals}
    emit_summary(summary, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
