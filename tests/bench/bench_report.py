#!/usr/bin/env python3
"""Markdown tables of a `tests/bench/run` (for tests/bench/RESULTS.md).

    bench_report.py WORK/results

Reads local.json, api.json and limits.json (whichever exist) and prints the
tables RESULTS.md shows, so the figures there are copied, not retyped.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from benchapi import KIND_ORDER, WHOLE_USER_KINDS  # noqa: E402


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
    plans = [(n, r) for n, r in sorted(loc["sizes"].items(), key=lambda kv: int(kv[0])) if "plan" in r["measured"]]
    if plans:
        print("| users | `a0snap-import --plan` into an empty target (all its local work) | to create / skipped "
              "| zcat\\|gzip -6 (snapshot) | plan / gzip floor |")
        print("|---:|---:|---:|---:|---:|")
        for n, r in plans:
            m, q, d = r["measured"], r["ratios"], r["tools"]["plan"]
            print("| %s | %.2f s / %.2f s CPU / %.1f MB | %s / %s | %.2f s | **%.2f×** (CPU %.2f×) |" % (
                "{:,}".format(int(n)), m["plan"]["wall"], m["plan"]["cpu"], m["plan"]["maxrss_mb"],
                "{:,}".format(d["created"]), "{:,}".format(d["skipped"]), m["floor_gzip_snapshot"]["wall"],
                q["plan_vs_gzip_wall"], q["plan_vs_gzip_cpu"]))
        print()
    enc = [(n, r) for n, r in sorted(loc["sizes"].items(), key=lambda kv: int(kv[0]))
           if "encrypted_export" in r["measured"]]
    if enc:
        print("| users | snapshot / age file MB | export processing | + encryption (age) | encryption extra "
              "| import verify+chunk | of the age file | decryption extra |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, r in enc:
            m, q = r["measured"], r["ratios"]

            def c(k):
                return "%.2f s / %.2f s CPU / %.1f MB" % (m[k]["wall"], m[k]["cpu"], m[k]["maxrss_mb"])
            print("| %s | %s / %s | %s | %s | **%+.1f%%** (CPU %+.1f%%) | %s | %s | %+.1f%% |" % (
                "{:,}".format(int(n)), mb(r["snapshot_gz"]), mb(r["snapshot_age"]), c("export"),
                c("encrypted_export"), 100 * q["encryption_overhead_wall"], 100 * q["encryption_overhead_cpu"],
                c("import"), c("encrypted_import"), 100 * q["decryption_overhead_wall"]))
        print()


def gen_line(g):
    """The tenant's 2026 shares, from bench_gen.py's summary."""
    m = g.get("model_2026")
    if not m:
        return "the tenant before the 2026 model (bench_gen.py --no-model-2026)"
    n = g["users"]

    def pct(x):
        return "%.1f%%" % (100.0 * x / max(1, n))
    def c(x):
        return "{:,}".format(x)
    return ("passwordless %s (%s email, %s sms), linked accounts %s of users (%s database, %s social), "
            "direct permissions %s of users (%s grants), %d organization roles held by %s members "
            "(of %s memberships)" % (
                pct(m["email"] + m["sms"]), c(m["email"]), c(m["sms"]),
                pct(m["linked_database"] + m["linked_social"]), c(m["linked_database"]), c(m["linked_social"]),
                pct(m["users_with_permissions"]), c(m["permission_grants"]), m["org_roles"],
                c(m["members_with_org_roles"]), c(g["memberships"])))


def api_tables(api):
    for n, r in sorted(api["sizes"].items(), key=lambda kv: int(kv[0])):
        users = int(n)
        w = r["workload"]
        cols = [("a0snap-export (source)", r["a0snap_export"]["requests"])]
        if "a0snap_export_omitted" in r:
            cols.append(("a0snap-export, member lists without roles", r["a0snap_export_omitted"]["requests"]))
        cols.append(("a0snap-import (empty target)", r["a0snap_import"]["requests"]))
        if "a0snap_refresh" in r:
            cols.append(("a0snap-import (drifted target)", r["a0snap_refresh"]["requests"]))
        if "sdk" in r:
            cols += [("SDK (source)", r["sdk"]["source"]), ("SDK (target)", r["sdk"]["target"])]
        print("**%s users** (%s database and %s passwordless users%s; a0snap-export %.1f s, a0snap-import %.1f s%s%s; "
              "no rate limit, fake job speed 20,000 users/s)" % (
                  "{:,}".format(users), "{:,}".format(w["database_users"]), "{:,}".format(w["passwordless_users"]),
                  "; export with --with-permissions" if r.get("permissions") else "",
                  r["a0snap_export"]["wall"], r["a0snap_import"]["wall"],
                  (", refresh %.1f s" % r["a0snap_refresh"]["wall"]) if "a0snap_refresh" in r else "",
                  (", SDK baseline %.1f s" % r["sdk"]["wall"]) if "sdk" in r else ""))
        print()
        if "gen" in r:
            print("Tenant: %s." % gen_line(r["gen"]))
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
        if "whole_user_ratio" in r:
            x = r["whole_user_ratio"]
            print("Passwordless, linked-account, permission and organization-role requests (%s; export and "
                  "import): a0snap %d, SDK %d (SDK/a0snap %.2f×)." % (
                      ", ".join(k for k in KIND_ORDER if k in WHOLE_USER_KINDS), x["a0snap"], x["sdk"], x["ratio"]))
        if "a0snap_export_omitted" in r:
            o = r["a0snap_export_omitted"]
            c = o["costs"]
            print("Member lists without roles: a0snap completed the member roles with **%d requests** "
                  "(%d per-role list pages, %d per-member reads); asking every member would take **%d** "
                  "(%.1f× as many); the cheaper way per organization, counted from the tenant: %d." % (
                      o["member_role_requests"], o["requests"]["by_kind"].get("org_role_members_read", 0),
                      o["requests"]["by_kind"].get("member_roles_read", 0), c["per_member"],
                      c["per_member"] / max(1, o["member_role_requests"]), c["minimum"]))
        if "a0snap_refresh" in r:
            f = r["a0snap_refresh"]
            print("Refresh: the drift (%s) needs at least %d writes; a0snap-import made %d writes (%s)." % (
                ", ".join("%s %d" % kv for kv in sorted(f["drift"].items())),
                sum(f["min_writes"].values()) if isinstance(f["min_writes"], dict) else f["min_writes"],
                sum(v for k, v in f["requests"]["by_kind"].items() if k in WRITE_KINDS),
                ", ".join("%s %d" % (k, v) for k, v in sorted(f["requests"]["by_kind"].items()) if k in WRITE_KINDS)))
        print()


WRITE_KINDS = {"role_create", "user_create", "user_patch", "user_delete", "link", "unlink", "permissions_add",
               "permissions_remove", "role_assign_batch", "role_assign_user", "role_remove_user", "org_members_add",
               "org_members_remove", "member_roles_add", "member_roles_remove", "import_job"}


def limits_tables(lim):
    print("| limits | users | tool | wall | requests (429s) | lower bound | wall / bound | bound if batches ≤ 100 |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in lim["runs"]:
        plan = "%s (burst %d, %g/s)" % (r["plan"], r["limits"]["rate_burst"], r["limits"]["rate_per_sec"])
        users = "{:,}".format(r["users"]) + (" (perms)" if r.get("permissions") else
                                             " (export + import)" if r.get("core") else "")
        e, i = r["export"], r["import"]
        print("| %s | %s | a0snap-export%s | %.1f s | %d (%d) | %.1f s (%d req., job %.1f s) | **%.2f** | |" % (
            plan, users, " --with-permissions" if r.get("permissions") else "", e["wall"], e["requests"],
            e["rate_limited"], e["bound"]["seconds"], e["bound"]["requests"], e["bound"]["t_jobs"], e["ratio"]))
        if "export_omitted" in r:
            o = r["export_omitted"]
            print("| | | a0snap-export, member lists without roles | %.1f s | %d (%d) | %.1f s (%d req., job %.1f s) "
                  "| **%.2f** | |" % (o["wall"], o["requests"], o["rate_limited"], o["bound"]["seconds"],
                                      o["bound"]["requests"], o["bound"]["t_jobs"], o["ratio"]))
        print("| | | a0snap-import | %.1f s | %d (%d) | %.1f s (%d req., jobs %.1f s) | **%.2f** | %.1f s → %.2f |" % (
            i["wall"], i["requests"], i["rate_limited"], i["bound"]["seconds"], i["bound"]["requests"],
            i["bound"]["t_jobs"], i["ratio"], i["bound_batch100"]["seconds"], i["ratio_batch100"]))
        if "refresh" in r:
            f = r["refresh"]
            print("| | | a0snap-import, drifted target (refresh) | %.1f s | %d (%d) | %.1f s (%d req., job %.1f s) "
                  "| **%.2f** | |" % (f["wall"], f["requests"], f["rate_limited"], f["bound"]["seconds"],
                                      f["bound"]["requests"], f["bound"]["t_jobs"], f["ratio"]))
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

    def label(r):
        return "%s | %s" % (r["plan"], "{:,}".format(r["users"]) + (" (perms)" if r.get("permissions") else
                                                                    " (export + import)" if r.get("core") else ""))

    print("| limits | users | import phase: requests sent / the limit allows (seconds) |")
    print("|---|---:|---|")
    for r in lim["runs"]:
        t = r["import"].get("timeline") or {}
        print("| %s | %s |" % (label(r), "; ".join(
            "%s %d / %d (%.1f s)" % (k, t[k]["requests"], t[k]["rate_allows"], t[k]["seconds"])
            for k in ("setup", "creates", "jobs", "writes", "grants") if k in t)))
    print()
    print("| limits | users | export bound: catalogue + export job + role pages + organization pages + permission reads "
          "= requests | member lists without roles (no permissions): … + member-role reads = requests | made for "
          "member roles / asking every member |")
    print("|---|---:|---|---|---|")
    for r in lim["runs"]:
        p = r["export"]["bound"]["parts"]
        o = r.get("export_omitted")
        print("| %s | %d + %d + %d + %d + %d = %d | %s | %s |" % (
            label(r), p["catalogue"], p["export_job"], p["role_pages"], p["org_pages"], p["permission_reads"],
            r["export"]["bound"]["requests"],
            ("%d + %d = %d" % (o["bound"]["requests"] - o["bound"]["parts"]["member_role_reads"],
                               o["bound"]["parts"]["member_role_reads"], o["bound"]["requests"])) if o else "",
            ("%d / %d (%d fewer: %.0f s at %g/s)" % (
                o["member_role_requests"], o["costs"]["per_member"], o["costs"]["per_member"] - o["member_role_requests"],
                o["per_member_seconds_saved"], r["limits"]["rate_per_sec"])) if o else ""))
    print()
    print("| limits | users | import bound: catalogue + target export job + import jobs + passwordless creates + links "
          "+ organization roles created + role batches + member batches + member roles + permission writes = "
          "requests |")
    print("|---|---:|---|")
    for r in lim["runs"]:
        b = r["import"]["bound"]
        p = b["parts"]
        print("| %s | %d + %d + %d (%d jobs) + %d + %d + %d + %d + %d + %d + %d = %d (batch ≤ %d) |" % (
            label(r), p["catalogue"], p["target_export_job"], p["import_jobs"], b["import_jobs"],
            p.get("passwordless_creates", 0), p.get("links", 0), p.get("role_creates", 0), p["role_batches"],
            p["member_batches"], p["member_roles"], p.get("permission_writes", 0), b["requests"], b["batch"]))
    print()
    if any("refresh" in r for r in lim["runs"]):
        print("| limits | users | refresh bound: catalogue + target export job + role pages + organization pages + "
              "permission reads + writes = requests | job, then the writes that need its users | drift |")
        print("|---|---:|---|---|---|")
        for r in lim["runs"]:
            if "refresh" not in r:
                continue
            f = r["refresh"]
            p = f["bound"]["parts"]
            print("| %s | %d + %d + %d + %d + %d + %d = %d | %.1f s + %d writes = %.1f s | %s |" % (
                label(r), p["catalogue"], p["target_export_job"], p["role_pages"], p["org_pages"],
                p["permission_reads"], p["writes"], f["bound"]["requests"], f["bound"]["t_jobs"],
                p.get("writes_after_job", 0), f["bound"].get("t_sequence", 0),
                ", ".join("%s %d" % kv for kv in sorted(f["drift"].items()))))
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
