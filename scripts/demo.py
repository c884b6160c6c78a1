"""The walkthrough behind `make demo`: every step is the command a user
would type, printed before it runs, against two local fake tenants."""

import json
import os
import secrets
import shlex
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from fakectl import FakeTenant  # noqa: E402
from e2elib import compare_tenants, divergent_staging  # noqa: E402

BIN = os.path.join(ROOT, "build")
EXPORT = os.path.join(BIN, "export", "a0snap-export")
IMPORT = os.path.join(BIN, "import", "a0snap-import")
WORK = os.path.join(ROOT, ".demo")


def step(title):
    print("\n\033[1m== %s\033[0m" % title, flush=True)


def sh(prog, args, env, check=True):
    shown = [os.path.basename(prog)] + args
    print("$ " + " ".join(shlex.quote(a) for a in shown), flush=True)
    r = subprocess.run([prog] + args, env=env, cwd=WORK)
    if check and r.returncode != 0:
        sys.exit("demo: '%s' exited with %d" % (shown[0], r.returncode))
    return r


def main():
    users = int(os.environ.get("DEMO_USERS", "2000"))
    os.makedirs(WORK, mode=0o700, exist_ok=True)
    for f in os.listdir(WORK):
        os.unlink(os.path.join(WORK, f))
    key_file = os.path.join(WORK, "pseudonym.key")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secrets.token_hex(32).encode())
    os.close(fd)

    step("Starting two local tenants: prod.example.test (%d users) and staging.example.test" % users)
    prod = FakeTenant("prod.example.test", seed=2026, users=users)
    staging = FakeTenant("staging.example.test")
    ps = prod.state()
    # staging has prod's configuration (synced by other tools) and users that
    # drifted: an old raw copy of some prod users, changed since, plus its own
    doc, _, _ = divergent_staging(ps)
    staging.load(doc)
    print("prod:    %s (API at %s)" % (prod.domain, prod.api_url))
    print("staging: %s (API at %s)" % (staging.domain, staging.api_url))

    base = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "A0SNAP_"))}
    penv = dict(base, **prod.env())
    senv = dict(base, **staging.env())
    senv.pop("AUTH0_DOMAIN", None)   # the import names its target explicitly
    senv["A0SNAP_PROTECTED_TENANTS"] = "prod.example.test"
    snap = "prod.ndjson.gz"

    step("1. Snapshot production (privacy policy on by default: keyed pseudonyms)")
    sh(EXPORT, ["-o", snap, "--pseudonym-key-file", key_file], penv)

    step("2. What is in it (no tenant needed)")
    sh(IMPORT, ["--list", snap], senv)
    sh(IMPORT, ["--verify", snap], senv)

    step("3. Production is protected: importing there is refused")
    r = sh(IMPORT, [snap, "--target", "prod.example.test"], dict(senv, **{"A0SNAP_API_URL": prod.api_url}), check=False)
    print("(exit code %d, nothing was sent)" % r.returncode)

    step("4. Plan the refresh of staging (writes nothing)")
    sh(IMPORT, [snap, "--target", staging.domain, "--plan", "--report", "plan.ndjson"], senv)

    step("5. Refresh staging")
    sh(IMPORT, [snap, "--target", staging.domain, "--report", "import.ndjson", "--json"], senv)

    step("6. Replay the same snapshot: nothing left to do")
    sh(IMPORT, [snap, "--target", staging.domain, "--report", "replay.ndjson"], senv)

    step("7. Check: every database user of the snapshot is in staging as it was")
    import gzip
    with gzip.open(os.path.join(WORK, snap), "rt") as f:
        lines = [json.loads(l) for l in f]
    snap_state = {"connections": ps["connections"], "users": []}
    for u in lines[1:-1]:
        u = dict(u)
        u["roles"] = [r["name"] for r in u.get("roles", [])]
        u["organizations"] = [{"name": o["name"], "roles": [r["name"] for r in o.get("roles", [])]}
                              for o in u.get("organizations", [])]
        snap_state["users"].append(u)
    st = staging.state()
    ids = {u["user_id"] for u in snap_state["users"]}
    st["users"] = [u for u in st["users"] if u["user_id"] in ids]
    diffs = compare_tenants(snap_state, st)
    print("differences between the snapshot and staging: %d" % len(diffs))
    for d in diffs[:10]:
        print("  " + d)
    print("\nReports and the snapshot are in %s" % WORK)
    prod.stop()
    staging.stop()
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
