"""Privacy at import and test logins: a raw snapshot gets the default
policy unless --no-anonymize; a pseudonymised snapshot is never
pseudonymised again with another key unless forced; --test-password-env
lets tests log in as new users and is refused for protected tenants."""

import gzip
import json
import os

from e2elib import (EXPORT, IMPORT, KEY, FakeTenant, catalogue_only, check, check_eq,
                    database_users, main, run, test)

_prod = None


def prod():
    global _prod
    if _prod is None:
        _prod = FakeTenant("prod.example.test", seed=81, users=200)
    return _prod


def staging(ps):
    s = FakeTenant("staging.example.test")
    s.load(catalogue_only(ps))
    return s


def imp(s, snap, *args, **env):
    extra = {"AUTH0_DOMAIN": None}
    extra.update(env)
    return run(IMPORT, [snap, "--target", s.domain, "--json"] + list(args), tenant=s,
               env_extra=extra)


@test
def raw_snapshot_gets_the_default_policy():
    p = prod()
    ps = p.state()
    r = run(EXPORT, ["-o", "raw.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
    check_eq(r.returncode, 0, r.stderr)
    with staging(ps) as s:
        r = imp(s, "raw.ndjson.gz")
        check_eq(r.returncode, 0, r.stderr)
        check("default privacy policy" in r.stderr, r.stderr)
        emails = {u["email"] for u in database_users(ps).values()}
        got = {u.get("email") for u in s.state()["users"]}
        check_eq(sorted(emails & got), [], "real emails reached staging")
        check(len(got) > 100, "users imported")
    with staging(ps) as s:
        r = imp(s, "raw.ndjson.gz", "--no-anonymize")
        check_eq(r.returncode, 0, r.stderr)
        check("RAW personal data" in r.stderr, r.stderr)


@test
def another_key_is_refused_unless_forced():
    p = prod()
    ps = p.state()
    r = run(EXPORT, ["-o", "p.ndjson.gz", "-q"], tenant=p)
    check_eq(r.returncode, 0, r.stderr)
    with open("policy.json", "w") as f:
        json.dump({"version": 1}, f)
    other = "another-key-0123456789abcdef0123456789"
    with staging(ps) as s:
        r = imp(s, "p.ndjson.gz", "--policy", "policy.json", A0SNAP_PSEUDONYM_KEY=other)
        check_eq(r.returncode, 4, r.stderr)
        check("another key" in r.stderr and "--force-policy" in r.stderr, r.stderr)
        check_eq([e for e in s.log() if e["method"] != "GET" and "token" not in e["path"]], [],
                 "nothing written")
        r = imp(s, "p.ndjson.gz", "--policy", "policy.json", "--force-policy",
                A0SNAP_PSEUDONYM_KEY=other)
        check_eq(r.returncode, 0, r.stderr)
        # the same key: the policy applies on top, no refusal
    with staging(ps) as s:
        r = imp(s, "p.ndjson.gz", "--policy", "policy.json")
        check_eq(r.returncode, 0, r.stderr)
        # the snapshot's pseudonyms are imported as they are without --policy
    with staging(ps) as s:
        r = imp(s, "p.ndjson.gz", A0SNAP_PSEUDONYM_KEY=None)
        check_eq(r.returncode, 0, r.stderr)
        snap = [json.loads(l) for l in gzip.open("p.ndjson.gz", "rt")][1:-1]
        want = {u["user_id"]: u["email"] for u in snap if u.get("email")}
        got = {u["user_id"]: u.get("email") for u in s.state()["users"]}
        check(all(got[k] == v for k, v in want.items() if k in got), "pseudonyms kept as they are")


@test
def test_password_for_new_users():
    p = prod()
    ps = p.state()
    r = run(EXPORT, ["-o", "p.ndjson.gz", "-q"], tenant=p)
    check_eq(r.returncode, 0, r.stderr)
    with staging(ps) as s:
        r = imp(s, "p.ndjson.gz", "--test-password-env", "QA_PASSWORD",
                QA_PASSWORD="correct horse battery staple")
        check_eq(r.returncode, 0, r.stderr)
        check("correct horse" not in r.stdout + r.stderr, "the password is never printed")
        users = [u["user_id"] for u in s.state()["users"]]
        check(len(users) > 100, "imported")
        check(all(s.login(u, "correct horse battery staple") for u in users[:20]),
              "test logins work")
        check(not s.login(users[0], "wrong"), "a wrong password fails")
        r = imp(s, "p.ndjson.gz", "--test-password-env", "QA_PASSWORD", QA_PASSWORD="x",
                A0SNAP_PROTECTED_TENANTS=s.domain)
        check_eq(r.returncode, 4, r.stderr)
        r = imp(s, "p.ndjson.gz", "--test-password-env", "NOT_SET")
        check_eq(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    main()
