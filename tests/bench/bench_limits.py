#!/usr/bin/env python3
"""Wall time under Auth0's published rate limits, against a lower bound.

    bench_limits.py --bin BUILD_DIR [--work DIR]
                    [--runs enterprise:10000,enterprise:2000:perms,...]
                    [--sdk-runs enterprise:10000] [--job-rate 1000]
                    [--api-results FILE] [--seed 1] [--out FILE]

Each run (plan:users, plan:users:perms, or plan:users:core) configures both fakes with a
plan's Management API limits (free: burst 2, 2/s; enterprise production:
burst 50, 16/s) and a fixed job speed (--job-rate users/s, for export and
import jobs), on bench_gen.py's tenant (the 2026 model), then times:

  export     a0snap-export of the source (with --with-permissions in a
             :perms run: one request per user, so those runs are small);
  export, member lists without roles
             a0snap-export again with the fake's quirk
             members_checkpoint_roles=omit (never --with-permissions): the
             member roles completed per role or per member; its requests
             for them against what asking every member would cost;
  import     a0snap-import --create-missing-roles of the first snapshot
             into an empty target (connections, APIs, tenant roles and
             organizations; no organization roles);
  refresh    that target drifted (benchapi.apply_drift, applied without
             limits), then a0snap-import --create-missing-roles --prune of
             the same snapshot;

(a :core run times the export and the import only: for the free plan at
100k users, whose import alone takes more than two hours) and compares each with the lower bound the limits impose on that workload
(the formulas: benchapi.bound_export / bound_import / bound_refresh and
tests/bench/RESULTS.md). For the runs in --sdk-runs the SDK baseline copies
the same tenant under the same limits; for the others its time is
projected from the requests it makes for this workload
(benchapi.sdk_projection), as a lower bound for that program (it can only
be slower); with --api-results (bench_api.py's output) of the same size,
the projection's request counts are set beside the measured ones.

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
    """plan:users[:perms|:core] items -> [(plan, users, perms, core)]."""
    out = []
    for item in [x for x in text.split(",") if x]:
        parts = item.split(":")
        plan = parts[0]
        ok = len(parts) in (2, 3) and plan in ba.PLANS and parts[1].isdigit() and (
            len(parts) == 2 or parts[2] in ("perms", "core"))
        if not ok:
            raise SystemExit("bench_limits: bad run '%s' (plan:users, plan:users:perms or plan:users:core, plan "
                             "one of %s)" % (item, ", ".join(ba.PLANS)))
        out.append((plan, int(parts[1]), parts[2:] == ["perms"], parts[2:] == ["core"]))
    return out


def member_lists_without_roles(a, src, snap_omit, w, cat, limits, res):
    """The export again with member lists that come without roles."""
    src.quirks(**ba.OMITTED_ROLES)
    ba.reset_bucket(src, limits)
    wall_o, osum = ba.run_export(a.bin, src, snap_omit)
    src.reset_quirks()
    oexp = ba.classify(src.log())
    lb_o = ba.bound_export(w, cat, limits, a.job_rate, roles_omitted=True)
    costs = ba.member_role_costs(w, cat)
    made = osum["member_role_requests"]
    res["export_omitted"] = {
        "wall": round(wall_o, 2), "requests": oexp["api"], "rate_limited": oexp["rate_limited"],
        "by_kind": oexp["by_kind"], "bound": lb_o, "ratio": round(wall_o / lb_o["seconds"], 3),
        "member_role_requests": made, "costs": costs,
        "per_member_seconds_saved": round((costs["per_member"] - made) / limits["rate_per_sec"], 1)}
    log("  a0snap-export, member lists without roles  %7.1f s  %5d requests (%d answered 429)  bound %7.1f s "
        "(%d requests)  ratio %.2f" % (wall_o, oexp["api"], oexp["rate_limited"], lb_o["seconds"],
                                       lb_o["requests"], res["export_omitted"]["ratio"]))
    log("    member roles: %d requests (per role: %d, per member: %d); asking every member would take %d: "
        "%d fewer, %.0f s at %g/s" % (made, oexp["by_kind"].get("org_role_members_read", 0),
                                      oexp["by_kind"].get("member_roles_read", 0), costs["per_member"],
                                      costs["per_member"] - made, res["export_omitted"]["per_member_seconds_saved"],
                                      limits["rate_per_sec"]))


def refresh(a, dst, snap, perms, limits, report):
    """The import's target drifted (without limits), then the refresh of it
    under limits: (wall, its requests classified, drift, writes, the
    target's read workload)."""
    dst.config(**ba.UNLIMITED)
    drift, writes = ba.apply_drift(dst, snap, a.seed, perms)
    tw = ba.target_read_workload(dst, perms)
    ba.reset_bucket(dst, limits)
    wall_r, _ = ba.run_import(a.bin, dst, snap, report, extra=["--prune"])
    return wall_r, ba.classify(dst.log()), drift, writes, tw


def one_run(a, plan, n, perms, core, with_sdk, api):
    limits = ba.PLANS[plan]
    data = dataset(a.work, n, a.seed, load_doc=True)
    with open(data["catalogue"]) as f:
        catalogue = json.load(f)
    with open(data["apis"]) as f:
        apis = json.load(f)
    outdir = os.path.join(a.work, "limits")
    os.makedirs(outdir, exist_ok=True)
    tag = "%s-n%d%s" % (plan, n, "-perms" if perms else "")
    snap = os.path.join(outdir, "%s.snapshot.ndjson.gz" % tag)
    snap_omit = os.path.join(outdir, "%s.omitted.ndjson.gz" % tag)
    res = {"plan": plan, "users": n, "permissions": perms, "core": core, "limits": limits, "job_rate": a.job_rate}
    src = ba.start_source(data["load"], limits, a.job_rate)
    try:
        log("%s limits (burst %d, %g/s), %d users%s, jobs %g users/s:" % (
            plan, limits["rate_burst"], limits["rate_per_sec"], n, ", --with-permissions" if perms else "",
            a.job_rate))
        ba.reset_bucket(src, limits)
        wall_e, _ = ba.run_export(a.bin, src, snap, permissions=perms)
        exp = ba.classify(src.log())
        chunk = last_json(measure([os.path.join(a.bin, "tests", "bench_import_chunk"), "--input", snap])["out"])
        w = ba.workload(snap, chunk)
        cat = ba.snapshot_header(snap)["catalogue"]
        lb_e = ba.bound_export(w, cat, limits, a.job_rate, permissions=perms)
        res["export"] = {"wall": round(wall_e, 2), "requests": exp["api"], "rate_limited": exp["rate_limited"],
                         "by_kind": exp["by_kind"], "bound": lb_e, "ratio": round(wall_e / lb_e["seconds"], 3)}
        log("  a0snap-export  %7.1f s  %5d requests (%d answered 429)  bound %7.1f s (%d requests; jobs %.1f s)  "
            "ratio %.2f" % (wall_e, exp["api"], exp["rate_limited"], lb_e["seconds"], lb_e["requests"],
                            lb_e["t_jobs"], res["export"]["ratio"]))

        if not core:
            member_lists_without_roles(a, src, snap_omit, w, cat, limits, res)
        dst = ba.start_target(catalogue, apis, limits, a.job_rate)
        try:
            ba.reset_bucket(dst, limits)
            t_start = time.time()
            wall_i, isum = ba.run_import(a.bin, dst, snap, os.path.join(outdir, "%s.report.ndjson" % tag))
            t_end = time.time()
            dlog = dst.log()
            imp = ba.classify(dlog)
            timeline = ba.import_timeline(dlog, t_start, t_end, limits["rate_per_sec"])
            got, want = ba.target_counts(dst), ba.expected_target(w)
            if got != want:
                raise BenchError("a0snap-import under %s limits: target holds %s, expected %s" % (plan, got, want))

            if not core:
                refreshed = refresh(a, dst, snap, perms, limits, os.path.join(outdir, "%s.refresh.ndjson" % tag))
                if ba.target_counts(dst) != want:
                    raise BenchError("the refresh under %s limits: target holds %s, expected %s" % (
                        plan, ba.target_counts(dst), want))
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
        extra = {k: imp["by_kind"].get(k, 0) for k in ("job_poll", "role_members_read", "org_members_read",
                                                        "user_read")}
        res["import"]["above_bound"] = dict(extra, total=imp["api"] - lb_i100["requests"])
        log("    import requests above the batch-100 bound's: %d (job polls %d, target grant reads %d, linked "
            "accounts looked up %d; database linked accounts made by POST /users, not in a job: %d)" % (
                imp["api"] - lb_i100["requests"], extra["job_poll"],
                extra["role_members_read"] + extra["org_members_read"], extra["user_read"],
                max(0, imp["by_kind"].get("user_create", 0) - w["passwordless_users"] - w["linked_passwordless"])))

        if not core:
            wall_r, ref, drift, writes, tw = refreshed
            lb_r = ba.bound_refresh(tw, writes, limits, a.job_rate)
            res["refresh"] = {"wall": round(wall_r, 2), "requests": ref["api"], "rate_limited": ref["rate_limited"],
                              "by_kind": ref["by_kind"], "drift": drift, "bound": lb_r,
                              "ratio": round(wall_r / lb_r["seconds"], 3)}
            log("  refresh        %7.1f s  %5d requests (%d answered 429)  bound %7.1f s (%d requests: %d writes, %d "
                "of them after the job; job %.1f s)  ratio %.2f; drift %s" % (
                    wall_r, ref["api"], ref["rate_limited"], lb_r["seconds"], lb_r["requests"],
                    lb_r["parts"]["writes"], lb_r["parts"]["writes_after_job"], lb_r["t_jobs"],
                    res["refresh"]["ratio"], json.dumps(drift, sort_keys=True)))

        if with_sdk:
            dst = ba.start_target(catalogue, apis, limits, a.job_rate)
            try:
                ba.reset_bucket(src, limits)
                ba.reset_bucket(dst, limits)
                wall_s, ssum = ba.run_sdk(src, dst, permissions=perms)
                s_src, s_dst = ba.classify(src.log()), ba.classify(dst.log())
                got = ba.target_counts(dst)
                if got != ba.expected_target(w):
                    raise BenchError("sdk_baseline under %s limits: target holds %s" % (plan, got))
            finally:
                dst.stop()
            sec = ssum["seconds"]
            res["sdk"] = {"measured": True, "wall": round(wall_s, 2), "source": round(sec["source"], 2),
                          "target": round(sec["target"], 2), "import_jobs": round(sec["import_jobs"], 2),
                          "grants": round(sec["creates"] + sec["grants"], 2),
                          "requests": {"source": s_src["api"], "target": s_dst["api"]},
                          "rate_limited": {"source": s_src["rate_limited"], "target": s_dst["rate_limited"]}}
            log("  SDK baseline   %7.1f s  (source %.1f s, target %.1f s: jobs %.1f s + per-user calls %.1f s); "
                "%d + %d requests (%d + %d answered 429)" % (
                    wall_s, sec["source"], sec["target"], sec["import_jobs"], sec["creates"] + sec["grants"],
                    s_src["api"], s_dst["api"], s_src["rate_limited"], s_dst["rate_limited"]))
            sdk_target = sec["target"]
            sdk_total = wall_s
        else:
            proj = ba.sdk_projection(w, cat, limits, a.job_rate, perms)
            res["sdk"] = {"measured": False, "projected_lower_bound": proj}
            measured = (api or {}).get("sizes", {}).get(str(n), {}).get("sdk")
            if measured and bool(measured["summary"].get("permissions")) == perms:
                proj["measured_requests"] = {"source": measured["source"]["api"],
                                             "target": measured["target"]["api"]}
            log("  SDK baseline   not run under limits; at least %.1f s (source %.1f s, target %.1f s: jobs "
                "%.1f s + per-user calls %.1f s), projected from the %d + %d requests it makes for this "
                "workload%s" % (
                    proj["total"], proj["source"], proj["target"], proj["import_jobs"], proj["grants"],
                    proj["requests"]["source"], proj["requests"]["target"],
                    (" (bench_api.py measured %d + %d)" % (proj["measured_requests"]["source"],
                                                           proj["measured_requests"]["target"]))
                    if "measured_requests" in proj else ""))
            sdk_target, sdk_total = proj["target"], proj["total"]
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
    p.add_argument("--runs", default="enterprise:10000,enterprise:100000,free:2000,enterprise:2000:perms")
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
    for plan, n, perms, core in parse_runs(a.runs):
        results.append(one_run(a, plan, n, perms, core, (plan, n, perms, core) in sdk_runs, api))
    goals = {}
    ent = [r for r in results if r["plan"] == "enterprise" and not r["permissions"]] or \
        [r for r in results if r["plan"] == "enterprise"]
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
