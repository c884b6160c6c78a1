"""Helpers shared by the benchmark scripts (stdlib only).

measure(cmd)      runs a command (argv list, or a shell pipeline string run
                  by bash with pipefail) under /usr/bin/time (Debian package
                  `time`, in scripts/install-deps) and returns wall, CPU
                  (user+sys of the whole process tree) and peak RSS. Not
                  wait4() from here: a child forked from this Python process
                  inherits its RSS high-water mark (~20 MB) across exec, so
                  small peaks would read too high.
dataset(...)      the generated tenant of a size (bench_gen.py, the 2026
                  model), cached in the work folder and rebuilt when a
                  generator file changes.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
GEN_FILES = [os.path.join(HERE, "bench_gen.py"), os.path.join(SRC, "tests", "fake", "fake_gen.py"),
             os.path.join(SRC, "tests", "fake", "fake_state.py"), os.path.join(SRC, "tests", "fake", "fake_util.py")]


TIME = "/usr/bin/time"


class BenchError(RuntimeError):
    pass


def log(msg):
    print(msg, flush=True)


def measure(cmd, stdout=None, env=None, cwd=None, check=True):
    """-> dict(wall, cpu, user, sys, maxrss_kb, rc, out). cmd is an argv
    list, or a string run as `bash -c 'set -o pipefail; ...'`."""
    argv = ["bash", "-c", "set -o pipefail; " + cmd] if isinstance(cmd, str) else list(cmd)
    with tempfile.NamedTemporaryFile("r", prefix="a0snap-bench-time-") as tf:
        t0 = time.monotonic()
        p = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", tf.name] + argv,
                           stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE,
                           env=env, cwd=cwd)
        wall = time.monotonic() - t0
        fields = tf.read().strip().splitlines()[-1].split()
    out = (p.stdout or b"").decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (cmd if isinstance(cmd, str) else " ".join(argv),
                                                      p.returncode, err[-2000:]))
    user, sys_ = float(fields[1]), float(fields[2])
    return {"wall": wall, "cpu": user + sys_, "user": user, "sys": sys_, "maxrss_kb": int(fields[3]),
            "rc": p.returncode, "out": out, "err": err}


def last_json(text):
    """The last line of text that parses as a JSON object."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise BenchError("no JSON summary line in output: %r" % text[-500:])


def gen_fingerprint():
    h = hashlib.sha256()
    for f in GEN_FILES:
        with open(f, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:16]


def dataset(work, users, seed, load_doc=False):
    """Generates (or reuses) the tenant of this size. -> dict of paths and
    the generator's summary."""
    d = os.path.join(work, "data", "n%d-s%d" % (users, seed))
    os.makedirs(d, exist_ok=True)
    paths = {"dir": d, "export": os.path.join(d, "export.json.gz"), "grants": os.path.join(d, "grants.tsv"),
             "catalogue": os.path.join(d, "catalogue.json"), "summary": os.path.join(d, "gen.json"),
             "load": os.path.join(d, "load.json"), "apis": os.path.join(d, "apis.json")}
    fp = gen_fingerprint()
    summary = None
    if os.path.exists(paths["summary"]):
        with open(paths["summary"]) as f:
            summary = json.load(f)
        if summary.get("fingerprint") != fp or (load_doc and not os.path.exists(paths["load"])):
            summary = None
        for k in ("export", "grants", "catalogue", "apis"):
            if summary is not None and not os.path.exists(paths[k]):
                summary = None
    if summary is None:
        log("generating %d users (seed %d) in %s" % (users, seed, d))
        cmd = [sys.executable, os.path.join(HERE, "bench_gen.py"), "--users", str(users), "--seed", str(seed),
               "--export", paths["export"], "--grants", paths["grants"], "--catalogue", paths["catalogue"],
               "--apis", paths["apis"]]
        if load_doc:
            cmd += ["--load-doc", paths["load"]]
        m = measure(cmd)
        for line in m["out"].strip().splitlines()[:-1]:
            log("  " + line)
        summary = last_json(m["out"])
        summary["fingerprint"] = fp
        with open(paths["summary"] + ".tmp", "w") as f:
            json.dump(summary, f, sort_keys=True)
        os.replace(paths["summary"] + ".tmp", paths["summary"])
    else:
        log("reusing the generated %d users in %s" % (users, d))
    paths["gen"] = summary
    return paths


def median(vals):
    s = sorted(vals)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def emit_summary(summary, out=None):
    """Prints the summary as the script's last JSON line and, with out,
    writes it there too (atomically: a killed run leaves the old file)."""
    text = json.dumps(summary, sort_keys=True)
    if out:
        with open(out + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(out + ".tmp", out)
    print(text, flush=True)


def machine():
    """nproc, CPU model, memory, load: for the results."""
    info = {"nproc": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
        info["loadavg"] = os.getloadavg()
    except OSError:
        pass
    return info
