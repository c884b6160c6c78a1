"""Encrypted (age) and signed (Ed25519) snapshots end to end: an encrypted
and signed export of a fake production tenant imports field-exact; `age -d`
of it gives a snapshot that verifies; a file made by `age -r` imports;
tampered, unsigned and wrongly signed snapshots are refused before any
request with the target untouched; a wrong identity, a cut encrypted file
and key files others can read are each one clear line and a documented
exit code."""

import gzip
import json
import os
import shutil
import subprocess

from e2elib import (EXPORT, IMPORT, FakeTenant, catalogue_only, check, check_eq,
                    compare_tenants, main, run, test)

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")


def need_age():
    check(AGE and AGE_KEYGEN, "'age' is not installed: run scripts/install-deps (Debian package age)")


def keygen(path):
    """An age identity file (0600) and its recipient."""
    subprocess.run([AGE_KEYGEN, "-o", path], check=True, capture_output=True)
    os.chmod(path, 0o600)
    return subprocess.run([AGE_KEYGEN, "-y", path], check=True, capture_output=True,
                          text=True).stdout.strip()


def signing_key(path):
    """An Ed25519 private key (0600) and its public key file."""
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", path], check=True,
                   capture_output=True)
    os.chmod(path, 0o600)
    pub = path + ".pub"
    subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return pub


def do_import(stage, snapshot, *args, env_extra=None):
    extra = {"AUTH0_DOMAIN": None}
    extra.update(env_extra or {})
    return run(IMPORT, [snapshot, "--target", stage.domain, "--no-anonymize", "--json",
                        "--report", "rep.ndjson"] + list(args), tenant=stage, env_extra=extra)


def api_writes(fake):
    return [e for e in fake.log() if e["listener"] == "api" and e["path"] != "/oauth/token"]


@test
def encrypted_and_signed_round_trip():
    need_age()
    rcpt = keygen("id.txt")
    other = keygen("other.txt")
    pub = signing_key("sign.pem")
    with FakeTenant("prod.example.test", seed=61, users=150) as p, \
            FakeTenant("staging.example.test") as s:
        ps = p.state()
        s.load(catalogue_only(ps))
        # The export writes an archive it cannot read back: no identity given.
        r = run(EXPORT, ["-o", "arch/", "--no-anonymize", "--encrypt-to", rcpt,
                         "--encrypt-to", other, "--sign-key", "sign.pem", "--json"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        path = json.loads(r.stdout)["path"]
        check(path.startswith("arch/prod.example.test-") and path.endswith(".ndjson.gz.age"), path)
        check_eq(oct(os.stat(path).st_mode & 0o777), "0o600", "mode")
        with open(path, "rb") as f:
            check(f.read(22) == b"age-encryption.org/v1\n", "an age file")
        # Verify and list need the identity; they say who signed.
        r = run(IMPORT, ["--verify", path], env_extra={"A0SNAP_IDENTITY_FILE": "id.txt"})
        check_eq(r.returncode, 0, r.stderr)
        check("signed by key" in r.stdout and "encrypted (age)" in r.stdout, r.stdout)
        r = run(IMPORT, ["--list", path, "--json", "--identity", "other.txt"])
        check_eq(r.returncode, 0, r.stderr)
        listing = json.loads(r.stdout)
        check(listing["encrypted"] and len(listing["signer"]) == 64, listing)
        # Imported field-exact, trusting the signer; the report names the archive.
        with open("trusted.pem", "w") as f:
            f.write(open(pub).read())
        r = do_import(s, path, env_extra={"A0SNAP_IDENTITY_FILE": "id.txt",
                                          "A0SNAP_TRUSTED_KEYS": "trusted.pem"})
        check_eq(r.returncode, 0, r.stderr)
        check_eq(compare_tenants(ps, s.state()), [], "staging equals prod")
        summary = [json.loads(l) for l in open("rep.ndjson")][-1]
        check_eq(summary["snapshot"]["signer"], listing["signer"], "report names the signer")
        check_eq(summary["snapshot"]["sha256"], listing["sha256"], "report names the content")
        check(summary["snapshot"]["encrypted"] and
              summary["snapshot"]["file"] == os.path.basename(path), summary["snapshot"])
        # `age -d` gives the plain snapshot, which verifies on its own.
        subprocess.run([AGE, "-d", "-i", "id.txt", "-o", "plain.ndjson.gz", path], check=True)
        r = run(IMPORT, ["--verify", "plain.ndjson.gz"])
        check_eq(r.returncode, 0, r.stderr)
        check("signed by key %s" % listing["signer"] in r.stdout, r.stdout)


@test
def a_file_age_encrypted_imports():
    need_age()
    rcpt = keygen("id.txt")
    with FakeTenant("prod.example.test", seed=62, users=80) as p, \
            FakeTenant("staging.example.test") as s:
        ps = p.state()
        s.load(catalogue_only(ps))
        r = run(EXPORT, ["-o", "plain.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        subprocess.run([AGE, "-r", rcpt, "-o", "by-age.age", "plain.ndjson.gz"], check=True)
        r = do_import(s, "by-age.age", "--identity", "id.txt")
        check_eq(r.returncode, 0, r.stderr)
        check_eq(compare_tenants(ps, s.state()), [], "staging equals prod")


@test
def refusals_leave_the_target_untouched():
    need_age()
    rcpt = keygen("id.txt")
    keygen("wrong.txt")
    signing_key("sign.pem")
    other_pub = signing_key("other.pem")
    with FakeTenant("prod.example.test", seed=63, users=60) as p, \
            FakeTenant("staging.example.test", seed=64, users=20) as s:
        r = run(EXPORT, ["-o", "signed.ndjson.gz", "--no-anonymize", "-q", "--sign-key",
                         "sign.pem"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        r = run(EXPORT, ["-o", "plain.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        r = run(EXPORT, ["-o", "sealed.age", "--no-anonymize", "-q", "--encrypt-to", rcpt,
                         "--sign-key", "sign.pem"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        # A user changed and the SHA-256 re-sealed: only the key could re-sign.
        with gzip.open("signed.ndjson.gz", "rt") as f:
            lines = f.read().splitlines()
        users = [json.loads(l) for l in lines[1:-1]]
        users[3]["email"] = "attacker@evil.example"
        body = lines[0] + "\n" + "".join(json.dumps(u, sort_keys=True, separators=(",", ":"),
                                                    ensure_ascii=False) + "\n" for u in users)
        import hashlib
        trailer = json.loads(lines[-1])
        trailer["sha256"] = hashlib.sha256(body.encode()).hexdigest()
        with gzip.open("tampered.ndjson.gz", "wt") as f:
            f.write(body + json.dumps(trailer, sort_keys=True, separators=(",", ":")) + "\n")
        with open("trusted.pem", "w") as f:
            f.write(open(other_pub).read())
        raw = open("sealed.age", "rb").read()
        with open("cut.age", "wb") as f:
            f.write(raw[:-40])
        os.chmod("id.txt", 0o644)
        shutil.copy("id.txt", "open-id.txt")
        os.chmod("open-id.txt", 0o644)
        os.chmod("id.txt", 0o600)
        cases = [
            ("tampered", "tampered.ndjson.gz", {}, [], 3, "signature does not match"),
            ("unsigned", "plain.ndjson.gz", {"A0SNAP_TRUSTED_KEYS": "trusted.pem"}, [], 3,
             "is not signed"),
            ("another signer", "signed.ndjson.gz", {"A0SNAP_TRUSTED_KEYS": "trusted.pem"}, [], 3,
             "which A0SNAP_TRUSTED_KEYS does not hold"),
            ("no identity", "sealed.age", {}, [], 2, "is encrypted (age)"),
            ("wrong identity", "sealed.age", {}, ["--identity", "wrong.txt"], 2, "no identity"),
            ("cut encrypted file", "cut.age", {}, ["--identity", "id.txt"], 3, ""),
            ("identity readable by others", "sealed.age", {}, ["--identity", "open-id.txt"], 4,
             "chmod 600"),
        ]
        before = json.dumps(s.state(), sort_keys=True)
        for name, path, env, args, code, want in cases:
            s.clear_log()
            r = do_import(s, path, *args, env_extra=env)
            check_eq(r.returncode, code, "%s: %s" % (name, r.stderr))
            check(want in r.stderr, "%s: %r" % (name, r.stderr))
            check_eq(len(r.stderr.strip().splitlines()), 1, "%s: one line: %r" % (name, r.stderr))
            check_eq(api_writes(s), [], "%s: requests were sent" % name)
            check(not os.path.exists("rep.ndjson"), "%s: a report was written" % name)
        check_eq(json.dumps(s.state(), sort_keys=True), before, "target untouched")


if __name__ == "__main__":
    main()
