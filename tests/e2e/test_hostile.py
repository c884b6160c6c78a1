"""Snapshots crafted to hurt (enormous lines, deep nesting, invalid UTF-8,
duplicate ids, lying trailers, two snapshots concatenated, a newer format,
...): a0snap-import refuses each with exit 3 and one clear line, and sends
not a single request to the target."""

import json
import os
import shutil

from e2elib import IMPORT, FakeTenant, check, check_eq, main, run, test

import test_inspect  # the crafted variants (shared with the --verify tests)


@test
def hostile_snapshots_never_reach_the_target():
    variants = test_inspect.damaged_variants()
    check(len(variants) >= 14, "variants: %d" % len(variants))
    with FakeTenant("staging.example.test", seed=91, users=20) as s:
        before = json.dumps(s.state(), sort_keys=True)
        for name, data, want in variants:
            path = "hostile-%s.ndjson.gz" % name
            with open(path, "wb") as f:
                f.write(data)
            s.clear_log()
            r = run(IMPORT, [path, "--target", s.domain, "--no-anonymize"], tenant=s,
                    env_extra={"AUTH0_DOMAIN": None})
            check_eq(r.returncode, 3, "%s: %s" % (name, r.stderr))
            check(want in r.stderr, "%s: %r does not say %r" % (name, r.stderr, want))
            check_eq(len(r.stderr.strip().splitlines()), 1, "%s: one line" % name)
            check_eq(s.log(), [], "%s: requests were sent" % name)
        check_eq(json.dumps(s.state(), sort_keys=True), before, "target untouched")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(test_inspect.TMP, ignore_errors=True)
