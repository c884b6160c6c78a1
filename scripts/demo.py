"""The walkthrough behind `make demo`: every step is the command a user
would type, printed before it runs, against two local fake tenants."""

import gzip
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
SNAPSHOTS = os.path.join(BIN, "snapshots", "a0snap-snapshots")
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


def private_file(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.close(fd)


def keys():
    """An age identity (the archive's reader) and an Ed25519 signing key
    (the exporting job's), as a user makes them."""
    ident = os.path.join(WORK, "archive.agekey")
    subprocess.run(["age-keygen", "-o", ident], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", ident], check=True, capture_output=True,
                               text=True).stdout.strip()
    sign = os.path.join(WORK, "export-signing.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", sign], check=True)
    os.chmod(sign, 0o600)
    trusted = os.path.join(WORK, "trusted.pem")
    subprocess.run(["openssl", "pkey", "-in", sign, "-pubout", "-out", trusted], check=True)
    return ident, recipient, sign, trusted


def main():
    users = int(os.environ.get("DEMO_USERS", "2000"))
    os.makedirs(WORK, mode=0o700, exist_ok=True)
    for root, dirs, files in os.walk(WORK, topdown=False):
        for f in files:
            os.unlink(os.path.join(root, f))
        for d in dirs:
            os.rmdir(os.path.join(root, d))
    key_file = os.path.join(WORK, "pseudonym.key")
    private_file(key_file, secrets.token_hex(32).encode())
    ident, recipient, sign_key, trusted = keys()
    os.makedirs(os.path.join(WORK, "archive"), mode=0o700)

    step("Starting two local tenants: prod.example.test (%d users) and staging.example.test" % users)
    # prod as Auth0 models users in 2026: database, passwordless, social and
    # enterprise users, linked accounts, direct permissions, organization roles
    prod = FakeTenant("prod.example.test", seed=2026, users=users, model_2026=True)
    staging = FakeTenant("staging.example.test")
    ps = prod.state()
    # staging has prod's configuration (synced by other tools: its APIs,
    # tenant roles and organizations, not yet the organization roles) and
    # users that drifted: an old raw copy of some prod users, changed since,
    # plus its own
    doc, _, _ = divergent_staging(ps)
    doc["roles"] = [r for r, p in zip(doc["roles"], ps["roles"]) if p.get("type") != "organization"]
    for u in doc["users"]:
        for o in u.get("organizations") or []:
            refs = [r for r in o.get("role_refs") or [] if r.get("type") != "organization"]
            o["roles"] = [r["name"] for r in refs] if "role_refs" in o else o.get("roles", [])
            o["role_refs"] = refs
    doc["resource_servers"] = [{k: r[k] for k in ("identifier", "name", "scopes")}
                               for r in ps.get("resource_servers", [])]
    staging.load(doc)
    print("prod:    %s (API at %s)" % (prod.domain, prod.api_url))
    print("staging: %s (API at %s)" % (staging.domain, staging.api_url))

    base = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "A0SNAP_"))}
    penv = dict(base, **prod.env())
    senv = dict(base, **staging.env())
    senv.pop("AUTH0_DOMAIN", None)   # the import names its target explicitly
    senv["A0SNAP_PROTECTED_TENANTS"] = "prod.example.test"
    senv["A0SNAP_IDENTITY_FILE"] = ident
    senv["A0SNAP_TRUSTED_KEYS"] = trusted

    step("1. Snapshot production into the archive: privacy policy on by default (keyed\n"
         "   pseudonyms), direct permissions read, encrypted to the archive's key, signed")
    sh(EXPORT, ["-o", "archive/", "--pseudonym-key-file", key_file, "--with-permissions",
                "--encrypt-to", recipient, "--sign-key", sign_key], penv)
    snap = os.path.join("archive", sorted(os.listdir(os.path.join(WORK, "archive")))[0])

    step("2. What is in the archive (no tenant needed)")
    sh(SNAPSHOTS, ["list", "archive"], senv)
    sh(IMPORT, ["--verify", snap], senv)

    step("3. Production is protected: importing there is refused")
    r = sh(IMPORT, [snap, "--target", "prod.example.test"], dict(senv, **{"A0SNAP_API_URL": prod.api_url}), check=False)
    print("(exit code %d, nothing was sent)" % r.returncode)

    step("4. Plan the refresh of staging (writes nothing)")
    sh(IMPORT, [snap, "--target", staging.domain, "--plan", "--report", "plan.ndjson"], senv)

    step("5. Refresh staging (organization roles it lacks are created in their organization)")
    sh(IMPORT, [snap, "--target", staging.domain, "--report", "import.ndjson", "--json",
                "--create-missing-roles"], senv)

    step("6. Replay the same snapshot: nothing left to do")
    sh(IMPORT, [snap, "--target", staging.domain, "--report", "replay.ndjson",
                "--create-missing-roles"], senv)

    step("7. Check: every database user of the snapshot is in staging as it was")
    r = subprocess.run(["age", "-d", "-i", ident, os.path.join(WORK, snap)], check=True,
                       capture_output=True)
    lines = [json.loads(l) for l in gzip.decompress(r.stdout).decode().splitlines()]
    snap_state = {"connections": ps["connections"], "users": []}
    for u in lines[1:-1]:
        u = dict(u)
        u["roles"] = [r["name"] for r in u.get("roles", [])]
        u["organizations"] = [
            {"name": o["name"], "roles": [r["name"] for r in o.get("roles", [])],
             # an organization role is held in the organization that owns it
             "role_refs": [dict(r, owner=o["name"]) if r.get("type") == "organization" else r
                           for r in o.get("roles", [])]}
            for o in u.get("organizations", [])]
        snap_state["users"].append(u)
    st = staging.state()
    ids = {u["user_id"] for u in snap_state["users"]}
    st["users"] = [u for u in st["users"] if u["user_id"] in ids]
    diffs = compare_tenants(snap_state, st)
    print("differences between the snapshot and staging: %d" % len(diffs))
    for d in diffs[:10]:
        print("  " + d)

    step("8. Someone asks to be forgotten: erase them from every archived snapshot")
    victim = next(u for u in ps["users"] if u["user_id"].startswith("auth0|") and u.get("email"))
    sh(SNAPSHOTS, ["erase", "archive", "--email", victim["email"], "--pseudonym-key-file",
                   key_file, "--sign-key", sign_key], senv)
    sh(SNAPSHOTS, ["verify", "archive"], senv)
    print("\nReports and the snapshot are in %s" % WORK)
    prod.stop()
    staging.stop()
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
