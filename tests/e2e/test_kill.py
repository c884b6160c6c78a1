"""Kill -9 at seeded random points of an export and of an import: an
interrupted export leaves nothing that passes --verify, and an interrupted
import, resumed with --resume or simply run again, ends with the target
equal to the source."""

import json
import os
import random
import signal
import subprocess
import time

from e2elib import (EXPORT, FAST_TIMING, IMPORT, KEY, FakeTenant, catalogue_only, check,
                    check_eq, compare_tenants, main, run, test)

SEED = int(os.environ.get("A0SNAP_KILL_SEED", "20261126"))


def env_for(tenant, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AUTH0_") and not k.startswith("A0SNAP_")}
    env.update(FAST_TIMING)
    env.update(tenant.env(), A0SNAP_PSEUDONYM_KEY=KEY)
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run_and_kill(args, env, after):
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        p.wait(timeout=after)
        return False  # finished before the kill point
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return True


@test
def killed_exports_leave_nothing_that_verifies():
    rnd = random.Random(SEED)
    with FakeTenant("killexp.example.test", seed=51, users=600, job_rate=300) as t:
        env = env_for(t)
        killed = 0
        for i in range(10):
            out = "k%d.ndjson.gz" % i
            if not run_and_kill([EXPORT, "-o", out, "--no-anonymize", "-q"], env,
                                rnd.uniform(0.05, 2.5)):
                check(os.path.exists(out), "a finished export wrote its file")
                continue
            killed += 1
            check(not os.path.exists(out), "kill point %d left '%s'" % (i, out))
            for f in os.listdir("."):
                if f.startswith(".") or f == out:
                    r = run(IMPORT, ["--verify", f])
                    check(r.returncode != 0, "a leftover of kill %d verifies: %s" % (i, f))
            if unnamed_tmpfiles():
                # the snapshot is written to a file with no name until it is complete
                check_eq([f for f in os.listdir(".") if f.startswith(".")], [],
                         "kill point %d left temp files" % i)
        check(killed >= 5, "only %d of 10 exports were interrupted" % killed)


def unnamed_tmpfiles():
    """Whether this file system gives O_TMPFILE files (fsutil uses them when it can)."""
    try:
        fd = os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o600)
    except (OSError, AttributeError):
        return False
    os.close(fd)
    return os.path.isdir("/proc/self/fd")


def kill_import_then(finish_args, label):
    rnd = random.Random(SEED + len(label))
    with FakeTenant("prod.example.test", seed=52, users=400) as p, \
            FakeTenant("staging.example.test", job_rate=150) as s:
        ps = p.state()
        s.load(catalogue_only(ps))
        r = run(EXPORT, ["-o", "prod.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        env = env_for(s, AUTH0_DOMAIN=None)
        base = [IMPORT, "prod.ndjson.gz", "--target", s.domain, "--no-anonymize", "-q",
                "--report", "rep.ndjson", "--max-request-bytes", "60000"]
        interrupted = 0
        for i in range(6):
            if run_and_kill(base, env, rnd.uniform(0.3, 4.0)):
                interrupted += 1
            r = subprocess.run(base + finish_args, env=env, capture_output=True, text=True,
                               timeout=600)
            check_eq(r.returncode, 0, "%s after kill %d: %s" % (label, i, r.stderr))
            diffs = compare_tenants(ps, s.state())
            check_eq(diffs[:5], [], "%s after kill %d" % (label, i))
            # start the next round from a partly different target
            if i % 2 == 0:
                s.load(catalogue_only(ps))
        check(interrupted >= 3, "only %d of 6 imports were interrupted" % interrupted)
        check(not os.path.exists("rep.ndjson.journal"), "journal removed after completion")


@test
def killed_imports_resumed():
    kill_import_then(["--resume"], "resume")


@test
def killed_imports_rerun():
    kill_import_then([], "rerun")


if __name__ == "__main__":
    main()
