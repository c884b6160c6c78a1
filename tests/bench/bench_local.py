#!/usr/bin/env python3
"""Local pipeline benchmark: a0snap's processing of a tenant, no network.

    bench_local.py --bin BUILD_DIR [--work DIR] [--sizes 10000,100000,1000000]
                   [--seed 1] [--repeat N]

For each size, on the tenant bench_gen.py makes (cached in WORK/data):
  export    bench_export_process: the downloaded export file -> a sealed
            snapshot, as a0snap-export does it (gunzip, parse, serialize,
            external sort, join with the grants, gzip -6, sha256, fsync);
  privacy   the same with the default privacy policy (and the source
            digests of the collision check), as a0snap-export does it;
  import    bench_import_chunk --verify on the raw snapshot: verify, read,
            convert every database user, cut into import bodies;
  plan      a0snap-import --plan of the raw snapshot into an empty fake
            target (benchapi.start_target): the program's whole local work
            before its first write (the check, the target's export, the
            reading pass into the plan's sorts, the merge and decision of
            every user, the job records, the report and its printout);
  encrypted export and import with the snapshot encrypted (age, one
            X25519 recipient, a key made by Debian's age-keygen): export
            --encrypt-to, and the import's read of that file with
            --identity (decrypted in the stream);
and, in the same run on the same bytes, the floors:
  zcat | gzip -6 -c > /dev/null   (decompress + recompress at the level the
                                   snapshot is written with)
  zcat | wc -l                    (decompress and find the lines)
of the export file and of the snapshot. Each figure is wall time, CPU time
(user + sys of the process tree) and peak RSS, the median of --repeat runs
(peak RSS: the largest). Ratios are a0snap / floor.

Prints plain lines, then one JSON summary line.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchapi  # noqa: E402
from benchlib import dataset, last_json, log, machine, measure, median  # noqa: E402

GOAL_RATIO = 1.5
GOAL_RSS_MB = 64
GOAL_PRIVACY = 0.25
GOAL_ENCRYPTION = 0.15
PLAN_GOAL_USERS = 1000000  # issue 19: import's local verify+plan+chunk of 1M users


def summarize(runs):
    """Median wall/cpu, max RSS of several measure() results."""
    return {"wall": round(median([r["wall"] for r in runs]), 3),
            "cpu": round(median([r["cpu"] for r in runs]), 3),
            "maxrss_mb": round(max(r["maxrss_kb"] for r in runs) / 1024.0, 1),
            "runs": len(runs)}


def fmt(m):
    return "wall %7.2f s  cpu %7.2f s  peak %6.1f MB" % (m["wall"], m["cpu"], m["maxrss_mb"])


def age_key(out):
    """(identity file, recipient) of a bench key made with age-keygen."""
    key = os.path.join(out, "bench-age.key")
    if not os.path.exists(key):
        subprocess.run(["age-keygen", "-o", key], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    rcpt = subprocess.run(["age-keygen", "-y", key], check=True, capture_output=True, text=True).stdout.strip()
    return key, rcpt


def measure_plan(args, data, snapshot, out):
    """a0snap-import --plan of snapshot into a fresh empty target."""
    with open(data["catalogue"]) as f:
        cat = json.load(f)
    with open(data["apis"]) as f:
        apis = json.load(f)
    dst = benchapi.start_target(cat, apis)
    try:
        env = benchapi.clean_env()
        env.update(dst.env())
        env.pop("AUTH0_DOMAIN")
        report = os.path.join(out, "plan-report.ndjson")
        m = measure([os.path.join(args.bin, "import", "a0snap-import"), snapshot, "--target", dst.domain,
                     "--no-anonymize", "--create-missing-roles", "--plan", "--report", report], env=env)
        with open(report) as f:
            for line in f:
                pass
        m["summary"] = json.loads(line)
        os.unlink(report)
        return m
    finally:
        dst.stop()


def bench_size(args, n):
    data = dataset(args.work, n, args.seed)
    out = os.path.join(args.work, "out")
    tmp = os.path.join(args.work, "tmp")
    os.makedirs(out, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    exp_tool = os.path.join(args.bin, "tests", "bench_export_process")
    imp_tool = os.path.join(args.bin, "tests", "bench_import_chunk")
    raw = os.path.join(out, "n%d.raw.ndjson.gz" % n)
    priv = os.path.join(out, "n%d.privacy.ndjson.gz" % n)
    enc = os.path.join(out, "n%d.raw.ndjson.gz.age" % n)
    key, rcpt = age_key(out)
    base = [exp_tool, "--input", data["export"], "--grants", data["grants"], "--catalogue", data["catalogue"],
            "--tmpdir", tmp]
    repeat = args.repeat if args.repeat else (3 if n <= 100000 else 1)
    q_exp = shlex.quote(data["export"])
    q_raw = shlex.quote(raw)
    runs = {k: [] for k in ("export", "privacy", "encrypted_export", "import", "encrypted_import", "plan",
                            "floor_gzip_export", "floor_wc_export", "floor_gzip_snapshot", "floor_wc_snapshot")}
    details = {}
    for i in range(repeat):
        m = measure(base + ["--output", raw])
        runs["export"].append(m)
        details["export"] = last_json(m["out"])
        m = measure(base + ["--output", priv, "--privacy"])
        runs["privacy"].append(m)
        details["privacy"] = last_json(m["out"])
        m = measure(base + ["--output", enc, "--encrypt-to", rcpt])
        runs["encrypted_export"].append(m)
        details["encrypted_export"] = last_json(m["out"])
        m = measure([imp_tool, "--input", raw, "--verify"])
        runs["import"].append(m)
        details["import"] = last_json(m["out"])
        m = measure([imp_tool, "--input", enc, "--verify", "--identity", key])
        runs["encrypted_import"].append(m)
        details["encrypted_import"] = last_json(m["out"])
        m = measure_plan(args, data, raw, out)
        runs["plan"].append(m)
        details["plan"] = m["summary"]
        runs["floor_gzip_export"].append(measure("zcat %s | gzip -6 -c > /dev/null" % q_exp))
        m = measure("zcat %s | wc -l" % q_exp)
        runs["floor_wc_export"].append(m)
        lines_export = int(m["out"].split()[0])
        runs["floor_gzip_snapshot"].append(measure("zcat %s | gzip -6 -c > /dev/null" % q_raw))
        m = measure("zcat %s | wc -l" % q_raw)
        runs["floor_wc_snapshot"].append(m)
        lines_snapshot = int(m["out"].split()[0])
    s = {k: summarize(v) for k, v in runs.items()}
    if lines_export != n or lines_snapshot != n + 2:
        raise SystemExit("bench_local: line counts %d / %d do not match %d users" % (lines_export, lines_snapshot, n))
    if any(details[k]["users"] != n for k in ("export", "encrypted_export", "import", "encrypted_import")):
        raise SystemExit("bench_local: a tool saw the wrong number of users")
    planned = sum(details["plan"][k] for k in ("created", "skipped"))
    if planned != n or details["plan"]["created"] == 0:
        raise SystemExit("bench_local: the plan did not account for every user: %r" % details["plan"])
    if details["encrypted_import"]["bodies"] != details["import"]["bodies"]:
        raise SystemExit("bench_local: the encrypted snapshot is not read as the plain one is")
    ratios = {
        "export_vs_gzip_wall": round(s["export"]["wall"] / s["floor_gzip_export"]["wall"], 2),
        "export_vs_gzip_cpu": round(s["export"]["cpu"] / s["floor_gzip_export"]["cpu"], 2),
        "export_vs_wc_wall": round(s["export"]["wall"] / s["floor_wc_export"]["wall"], 2),
        "privacy_vs_gzip_wall": round(s["privacy"]["wall"] / s["floor_gzip_export"]["wall"], 2),
        "privacy_overhead_wall": round(s["privacy"]["wall"] / s["export"]["wall"] - 1, 3),
        "privacy_overhead_cpu": round(s["privacy"]["cpu"] / s["export"]["cpu"] - 1, 3),
        "import_vs_gzip_wall": round(s["import"]["wall"] / s["floor_gzip_snapshot"]["wall"], 2),
        "import_vs_gzip_cpu": round(s["import"]["cpu"] / s["floor_gzip_snapshot"]["cpu"], 2),
        "import_vs_wc_wall": round(s["import"]["wall"] / s["floor_wc_snapshot"]["wall"], 2),
        "plan_vs_gzip_wall": round(s["plan"]["wall"] / s["floor_gzip_snapshot"]["wall"], 2),
        "plan_vs_gzip_cpu": round(s["plan"]["cpu"] / s["floor_gzip_snapshot"]["cpu"], 2),
        "encryption_overhead_wall": round(s["encrypted_export"]["wall"] / s["export"]["wall"] - 1, 3),
        "encryption_overhead_cpu": round(s["encrypted_export"]["cpu"] / s["export"]["cpu"] - 1, 3),
        "decryption_overhead_wall": round(s["encrypted_import"]["wall"] / s["import"]["wall"] - 1, 3),
    }
    gen = data["gen"]
    log("size %d: export file %.1f MB gzip / %.1f MB raw; snapshot %.1f MB gzip; %d import bodies; "
        "%d runs each" % (n, gen["export_bytes_gz"] / 1e6, gen["export_bytes_raw"] / 1e6,
                          os.path.getsize(raw) / 1e6, details["import"]["bodies"], repeat))
    log("  export processing         %s" % fmt(s["export"]))
    log("  export processing+privacy %s  (+%.0f%% wall, +%.0f%% cpu)" % (
        fmt(s["privacy"]), 100 * ratios["privacy_overhead_wall"], 100 * ratios["privacy_overhead_cpu"]))
    log("  export processing+encrypt %s  (+%.1f%% wall, +%.1f%% cpu)" % (
        fmt(s["encrypted_export"]), 100 * ratios["encryption_overhead_wall"],
        100 * ratios["encryption_overhead_cpu"]))
    log("  floor zcat|gzip -6 export %s" % fmt(s["floor_gzip_export"]))
    log("  floor zcat|wc -l   export %s" % fmt(s["floor_wc_export"]))
    log("  import verify+chunk       %s" % fmt(s["import"]))
    log("  import of the encrypted   %s  (+%.1f%% wall)" % (
        fmt(s["encrypted_import"]), 100 * ratios["decryption_overhead_wall"]))
    log("  import --plan (all local) %s  (%d to create, %d skipped)" % (
        fmt(s["plan"]), details["plan"]["created"], details["plan"]["skipped"]))
    log("  floor zcat|gzip -6 snap   %s" % fmt(s["floor_gzip_snapshot"]))
    log("  floor zcat|wc -l   snap   %s" % fmt(s["floor_wc_snapshot"]))
    log("  ratios: export/gzip %.2f wall %.2f cpu; privacy/gzip %.2f wall; import/gzip %.2f wall %.2f cpu; "
        "plan/gzip %.2f wall %.2f cpu; export/wc %.2f; import/wc %.2f" % (
            ratios["export_vs_gzip_wall"], ratios["export_vs_gzip_cpu"], ratios["privacy_vs_gzip_wall"],
            ratios["import_vs_gzip_wall"], ratios["import_vs_gzip_cpu"], ratios["plan_vs_gzip_wall"],
            ratios["plan_vs_gzip_cpu"], ratios["export_vs_wc_wall"], ratios["import_vs_wc_wall"]))
    for d in ("export", "privacy"):
        w = details[d]["wall"]
        log("  %s phases (wall s): ingest %.2f, grants %.2f, unique %.2f, join+write %.2f; sort runs %d" % (
            d, w["ingest"], w["grants"], w["unique"], w["join"], details[d]["sort_runs"]))
    w = details["import"]["wall"]
    log("  import phases (wall s): verify %.2f, read+convert+chunk %.2f" % (w["verify"], w["chunk"]))
    return {"users": n, "measured": s, "ratios": ratios, "export_file_gz": gen["export_bytes_gz"],
            "export_file_raw": gen["export_bytes_raw"], "snapshot_gz": os.path.getsize(raw),
            "snapshot_age": os.path.getsize(enc),
            "import_bodies": details["import"]["bodies"], "tools": details}


def main(argv):
    p = argparse.ArgumentParser(description="a0snap local pipeline benchmark")
    p.add_argument("--bin", required=True, help="build folder")
    p.add_argument("--work", default=None, help="data and output folder (default BIN/bench)")
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=0, help="runs per figure (default 3 up to 100k, else 1)")
    a = p.parse_args(argv)
    a.work = a.work or os.path.join(a.bin, "bench")
    sizes = [int(x) for x in a.sizes.split(",") if x]
    results = {}
    for n in sizes:
        results[str(n)] = bench_size(a, n)
    big = str(max(sizes))
    worst_rss = max(max(r["measured"][k]["maxrss_mb"]
                        for k in ("export", "privacy", "encrypted_export", "import", "encrypted_import", "plan"))
                    for r in results.values())
    goals = {
        "export_within_1_5x_gzip_at_largest": results[big]["ratios"]["export_vs_gzip_wall"] <= GOAL_RATIO,
        "import_within_1_5x_gzip_at_largest": results[big]["ratios"]["import_vs_gzip_wall"] <= GOAL_RATIO,
        "peak_rss_under_64mb": worst_rss < GOAL_RSS_MB,
        "privacy_overhead_under_25pct_at_largest": results[big]["ratios"]["privacy_overhead_wall"] < GOAL_PRIVACY,
        "encryption_overhead_under_15pct_at_largest":
            results[big]["ratios"]["encryption_overhead_wall"] < GOAL_ENCRYPTION,
    }
    # The plan's goal is issue 19's, at 1M users: below that its wall time
    # is dominated by the wait for the target's export job (~0.5 s).
    plan_at = str(PLAN_GOAL_USERS) if str(PLAN_GOAL_USERS) in results else None
    if plan_at:
        goals["plan_within_1_5x_gzip_at_1m"] = results[plan_at]["ratios"]["plan_vs_gzip_wall"] <= GOAL_RATIO
    log("goals (at %s users): export/gzip %.2f (<= %.1f: %s), import/gzip %.2f (%s), import --plan/gzip %s, "
        "worst peak RSS %.1f MB (< %d: %s), privacy +%.0f%% (< %d%%: %s)" % (
            big, results[big]["ratios"]["export_vs_gzip_wall"], GOAL_RATIO,
            "met" if goals["export_within_1_5x_gzip_at_largest"] else "MISSED",
            results[big]["ratios"]["import_vs_gzip_wall"],
            "met" if goals["import_within_1_5x_gzip_at_largest"] else "MISSED",
            ("%.2f at 1M (%s)" % (results[plan_at]["ratios"]["plan_vs_gzip_wall"],
                                  "met" if goals["plan_within_1_5x_gzip_at_1m"] else "MISSED")) if plan_at
            else "%.2f (the goal is at 1M users, not run)" % results[big]["ratios"]["plan_vs_gzip_wall"],
            worst_rss, GOAL_RSS_MB,
            "met" if goals["peak_rss_under_64mb"] else "MISSED",
            100 * results[big]["ratios"]["privacy_overhead_wall"], int(GOAL_PRIVACY * 100),
            "met" if goals["privacy_overhead_under_25pct_at_largest"] else "MISSED"))
    log("goal (at %s users): encryption +%.1f%% on export processing (< %d%%: %s)" % (
        big, 100 * results[big]["ratios"]["encryption_overhead_wall"], int(GOAL_ENCRYPTION * 100),
        "met" if goals["encryption_overhead_under_15pct_at_largest"] else "MISSED"))
    print(json.dumps({"bench": "local", "machine": machine(), "seed": a.seed, "sizes": results,
                      "worst_peak_rss_mb": worst_rss, "goals": goals}, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
