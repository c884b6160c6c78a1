#!/usr/bin/env python3
"""Markdown tables of a `tests/bench/run` (for tests/bench/RESULTS.md).

    bench_report.py WORK/results

Reads local.json, api.json and limits.json (whichever exist) and prints the
tables RESULTS.md shows, so the figures there are copied, not retyped.
"""

import json
import os
import sys

KIND_ORDER = ["catalogue", "export_job", "job_poll", "import_job", "job_errors", "role_members_read",
              "org_members_read", "role_assign_batch", "role_assign_user", "org_members_add", "member_roles_add",
              "user_patch", "user_delete", "other"]


def load(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def mb(x):
    return "%.1f" % (x / 1e6)


def local_tables(loc):
    print("| users | export file gz / raw MB | snapshot MB | export processing | + privacy | zcat\\|gzip -6 (export) "
          "| zcat\\|wc -l (export) | export / gzip floor | import verify+chunk | zcat\\|gzip -6 (snapshot) "
          "| zcat\\|wc -l (snapshot) | import / gzip floor | privacy extra |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in sorted(loc["sizes"].items(), key=lambda kv: int(kv[0])):
        m, q = r["measured"], r["ratios"]

        def c(k):
            return "%.2f s / %.2f s CPU / %.1f MB" % (m[k]["wall"], m[k]["cpu"], m[k]["maxrss_mb"])

        def s(k):
            return "%.2f s" % m[k]["wall"]
        print("| %s | %s / %s | %s | %s | %s | %s | %s | **%.2f×** (CPU %.2f×) | %s | %s | %s | **%.2f×** (CPU %.2f×) "
              "| %+.0f%% |" % (
                  "{:,}".format(int(n)), mb(r["export_file_gz"]), mb(r["export_file_raw"]), mb(r["snapshot_gz"]),
                  c("export"), c("privacy"), s("floor_gzip_export"), s("floor_wc_export"), q["export_vs_gzip_wall"],
                  q["export_vs_gzip_cpu"], c("import"), s("floor_gzip_snapshot"), s("floor_wc_snapshot"),
                  q["import_vs_gzip_wall"], q["import_vs_gzip_cpu"], 100 * q["privacy_overhead_wall"]))
    print()
    print("Runs per figure (median): %s." % ", ".join("%s: %d" % ("{:,}".format(int(n)), r["measured"]["export"]["runs"])
                                                     for n, r in sorted(loc["sizes"].items(), key=lambda kv: int(kv[0]))))
    print()
    print("| users | export: ingest / grants / join+write (s) | users sort runs | import: verify / read+convert+chunk (s) "
          "| import bodies |")
    print("|---:|---|---:|---|---:|")
    for n, r in sorted(loc["sizes"].items(), key=lambda kv: int(kv[0])):
        e, i = r["tools"]["export"], r["tools"]["import"]
        print("| %s | %.2f / %.2f / %.2f | %d | %.2f / %.2f | %d |" % (
            "{:,}".format(int(n)), e["wall"]["ingest"], e["wall"]["grants"], e["wall"]["join"], e["sort_runs"],
            i["wall"]["verify"], i["wall"]["chunk"], i["bodies"]))
    print()


def api_tables(api):
    for n, r in sorted(api["sizes"].items(), key=lambda kv: int(kv[0])):
        users = int(n)
        cols = [("a0snap-export (source)", r["a0snap_export"]["requests"]),
                ("a0snap-import (target)", r["a0snap_import"]["requests"])]
        if "sdk" in r:
            cols += [("SDK (source)", r["sdk"]["source"]), ("SDK (target)", r["sdk"]["target"])]
        print("**%s users** (%s database users; a0snap-export %.1f s, a0snap-import %.1f s%s; "
              "no rate limit, fake job speed 20,000 users/s)" % (
                  "{:,}".format(users), "{:,}".format(r["workload"]["database_users"]), r["a0snap_export"]["wall"],
                  r["a0snap_import"]["wall"], (", SDK baseline %.1f s" % r["sdk"]["wall"]) if "sdk" in r else ""))
        print()
        print("| requests (per 1,000 users) | " + " | ".join(c[0] for c in cols) + " |")
        print("|---|" + "---:|" * len(cols))
        kinds = [k for k in KIND_ORDER if any(k in c[1]["by_kind"] for c in cols)]
        for k in kinds:
            print("| %s | %s |" % (k, " | ".join(
                ("%d (%.2f)" % (c[1]["by_kind"][k], 1000.0 * c[1]["by_kind"][k] / users)) if k in c[1]["by_kind"]
                else "–" for c in cols)))
        print("| **API requests** | %s |" % " | ".join("**%d (%.2f)**" % (c[1]["api"], 1000.0 * c[1]["api"] / users)
                                                     for c in cols))
        print("| token / download | %s |" % " | ".join("%d / %d" % (c[1]["token"], c[1]["download"]) for c in cols))
        print()
        if "grant_ratio" in r:
            g = r["grant_ratio"]
            print("Role and membership requests (reads + writes): a0snap %d, SDK %d: **%.1f×**; writes only %.1f×; "
                  "writes other than the per-member organization roles %.1f×." % (
                      g["a0snap"]["all"], g["sdk"]["all"], g["all"], g["writes"], g["writes_without_member_roles"]))
            print()


def limits_tables(lim):
    print("| limits | users | tool | wall | requests (429s) | lower bound | wall / bound | bound if batches ≤ 100 |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in lim["runs"]:
        plan = "%s (burst %d, %g/s)" % (r["plan"], r["limits"]["rate_burst"], r["limits"]["rate_per_sec"])
        e, i = r["export"], r["import"]
        print("| %s | %s | a0snap-export | %.1f s | %d (%d) | %.1f s (%d req., job %.1f s) | **%.2f** | |" % (
            plan, "{:,}".format(r["users"]), e["wall"], e["requests"], e["rate_limited"], e["bound"]["seconds"],
            e["bound"]["requests"], e["bound"]["t_jobs"], e["ratio"]))
        print("| | | a0snap-import | %.1f s | %d (%d) | %.1f s (%d req., jobs %.1f s) | **%.2f** | %.1f s → %.2f |" % (
            i["wall"], i["requests"], i["rate_limited"], i["bound"]["seconds"], i["bound"]["requests"],
            i["bound"]["t_jobs"], i["ratio"], i["bound_batch100"]["seconds"], i["ratio_batch100"]))
        s = r["sdk"]
        if s.get("measured"):
            print("| | | SDK baseline | %.1f s (source %.1f + target %.1f) | %d + %d (%d + %d) | | | |" % (
                s["wall"], s["source"], s["target"], s["requests"]["source"], s["requests"]["target"],
                s["rate_limited"]["source"], s["rate_limited"]["target"]))
        elif s.get("projected_lower_bound"):
            p = s["projected_lower_bound"]
            print("| | | SDK baseline (projected) | ≥ %.1f s (source %.1f + target %.1f) | %d + %d | | | |" % (
                p["total"], p["source"], p["target"], p["requests"]["source"], p["requests"]["target"]))
        if "speedup" in r:
            print("| | | SDK / a0snap | import side **%.1f×**, export+import %.1f× | | | | |" % (
                r["speedup"]["import"], r["speedup"]["total"]))
    print()
    print("| limits | users | import phase: requests sent / the limit allows (seconds) |")
    print("|---|---:|---|")
    for r in lim["runs"]:
        t = r["import"].get("timeline") or {}
        print("| %s | %s | %s |" % (r["plan"], "{:,}".format(r["users"]), "; ".join(
            "%s %d / %d (%.1f s)" % (k, t[k]["requests"], t[k]["rate_allows"], t[k]["seconds"])
            for k in ("setup", "jobs", "grants") if k in t)))
    print()
    print("| limits | users | import bound: catalogue + target export job + import jobs + role batches + member batches "
          "+ member roles = requests |")
    print("|---|---:|---|")
    for r in lim["runs"]:
        b = r["import"]["bound"]
        p = b["parts"]
        print("| %s | %s | %d + %d + %d (%d jobs) + %d + %d + %d = %d (batch ≤ %d) |" % (
            r["plan"], "{:,}".format(r["users"]), p["catalogue"], p["target_export_job"], p["import_jobs"],
            b["import_jobs"], p["role_batches"], p["member_batches"], p["member_roles"], b["requests"], b["batch"]))
    print()


def main(argv):
    if len(argv) != 1:
        sys.exit("usage: bench_report.py WORK/results")
    d = argv[0]
    loc, api, lim = load(d, "local.json"), load(d, "api.json"), load(d, "limits.json")
    if loc:
        print("### Local pipeline\n")
        local_tables(loc)
    if api:
        print("### API efficiency\n")
        api_tables(api)
    if lim:
        print("### Wall time under rate limits (jobs %g users/s)\n" % lim["job_rate"])
        limits_tables(lim)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
