"""Secrets never leak: every command of the suite run with --verbose, and
all output, report files, journals and snapshots searched for the client
secret, access tokens and the pseudonym key. Also: files holding personal
data or secrets are 0600, secret files open to others are refused."""

import glob
import gzip
import os
import re
import stat

from e2elib import (EXPORT, IMPORT, KEY, FakeTenant, catalogue_only, check, check_eq, main,
                    run, test)

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
BEARER = re.compile(r"Bearer (?!\[redacted\])\S+")


def scan(label, text, secrets):
    for name, value in secrets.items():
        check(value not in text, "%s leaks the %s" % (label, name))
    check(not JWT.search(text), "%s holds something shaped like a token: %s" %
          (label, JWT.search(text) and JWT.search(text).group(0)[:20]))
    check(not BEARER.search(text), "%s shows a bearer credential" % label)


@test
def verbose_runs_leak_nothing():
    with FakeTenant("prod.example.test", seed=61, users=200) as p, \
            FakeTenant("staging.example.test") as s:
        s.load(catalogue_only(p.state()))
        secrets = {"prod client secret": p.client_secret,
                   "staging client secret": s.client_secret, "pseudonym key": KEY}
        outputs = []

        def go(prog, args, tenant, **extra):
            r = run(prog, args + ["--verbose"], tenant=tenant, env_extra=extra or None)
            outputs.append(("%s %s" % (os.path.basename(prog), " ".join(args)),
                            r.stdout + r.stderr, r.returncode))
            return r

        go(EXPORT, ["-o", "p.ndjson.gz", "--json"], p)
        go(EXPORT, ["-o", "raw.ndjson.gz", "--no-anonymize"], p)
        go(EXPORT, ["--pseudonym-of", p.state()["users"][0]["user_id"]], p)
        go(EXPORT, ["-o", "x.ndjson.gz", "--api-url", "http://example.com"], p)   # refused
        stage = {"AUTH0_DOMAIN": None}
        go(IMPORT, ["p.ndjson.gz", "--target", s.domain, "--plan", "--report", "plan.ndjson"],
           s, **stage)
        go(IMPORT, ["p.ndjson.gz", "--target", s.domain, "--report", "imp.ndjson", "--json"],
           s, **stage)
        go(IMPORT, ["raw.ndjson.gz", "--target", s.domain, "--report", "raw.ndjson"], s, **stage)
        go(IMPORT, ["--list", "p.ndjson.gz", "--json"], None)
        go(IMPORT, ["--verify", "p.ndjson.gz"], None)
        go(IMPORT, ["--diff", "p.ndjson.gz", "raw.ndjson.gz", "--json"], None)
        s.expire_tokens()
        go(IMPORT, ["p.ndjson.gz", "--target", s.domain, "--report", "again.ndjson"], s, **stage)
        # a wrong secret: the error must not echo it
        go(EXPORT, ["-o", "bad.ndjson.gz"], p, AUTH0_CLIENT_SECRET="wrong-secret-value-1234")
        check(any("Authorization: Bearer [redacted]" in o for _, o, _ in outputs),
              "verbose traces show the redaction")
        for label, text, _ in outputs:
            scan(label, text, dict(secrets, **{"wrong secret": "wrong-secret-value-1234"}))
        for path in glob.glob("*.ndjson") + glob.glob("*.journal"):
            scan(path, open(path).read(), secrets)
            check_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "%s mode" % path)
        for path in glob.glob("*.ndjson.gz"):
            scan(path, gzip.open(path, "rt").read(), secrets)
            check_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "%s mode" % path)
        # the download never carried the token
        check(all(not e["authorization"] for e in p.log() + s.log()
                  if e["listener"] == "download"), "download without token")


@test
def secret_files_must_be_private():
    with FakeTenant("prod.example.test", seed=62, users=20) as p:
        with open("secret", "w") as f:
            f.write(p.client_secret + "\n")
        os.chmod("secret", 0o644)
        extra = {"AUTH0_CLIENT_SECRET": None, "AUTH0_CLIENT_SECRET_FILE": "secret"}
        r = run(EXPORT, ["-o", "s.ndjson.gz"], tenant=p, env_extra=extra)
        check_eq(r.returncode, 4, r.stderr)
        check("chmod 600" in r.stderr, r.stderr)
        os.chmod("secret", 0o600)
        r = run(EXPORT, ["-o", "s.ndjson.gz", "-q"], tenant=p, env_extra=extra)
        check_eq(r.returncode, 0, r.stderr)


@test
def plain_http_only_to_loopback():
    with FakeTenant("prod.example.test", seed=63, users=5) as p:
        for url in ("http://example.com", "http://10.1.2.3:8080", "http://127.0.0.1.nip.io"):
            r = run(EXPORT, ["-o", "s.ndjson.gz", "--api-url", url], tenant=p)
            check_eq(r.returncode, 4, "%s: %s" % (url, r.stderr))
            check("TLS is required" in r.stderr, r.stderr)
        r = run(EXPORT, ["--help"])
        check("insecure" not in r.stdout.lower() and "--no-verify" not in r.stdout,
              "no option to switch TLS verification off")


if __name__ == "__main__":
    main()
