"""Shared helpers for the end-to-end tests: run the real binaries against
fake tenants (tests/fake/fakectl.py) and compare what they did.

A test file defines functions decorated with @test and calls main(); each
test runs in its own temp folder; the last line printed is
"N passed, N failed" and the exit code is non-zero on any failure.
"""

import copy
import gzip
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

SRC = os.environ.get("A0SNAP_SRC_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("A0SNAP_BIN_DIR") or os.path.join(SRC, "build")
sys.path.insert(0, os.path.join(SRC, "tests", "fake"))

from fakectl import FakeTenant  # noqa: E402

EXPORT = os.path.join(BIN, "export", "a0snap-export")
IMPORT = os.path.join(BIN, "import", "a0snap-import")
KEY = "e2e-test-key-0123456789abcdef0123456789"

# The programs' waits made short by their documented settings (README,
# "Configuration"): the fake answers at once, so backoff and polling at
# production pace would only make the suite slow. A test that is about
# the waits themselves sets its own.
FAST_TIMING = {"A0SNAP_STALL_TIMEOUT": "3", "A0SNAP_RETRY_BASE_MS": "20",
               "A0SNAP_RETRY_MAX_MS": "200", "A0SNAP_POLL_MS": "50"}

_tests = []


def test(fn):
    _tests.append(fn)
    return fn


class Failure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise Failure(msg)


def check_eq(a, b, msg=""):
    if a != b:
        raise Failure("%s: %r != %r" % (msg or "values differ", a, b))


def run(prog, args, tenant=None, env_extra=None, timeout=600, cwd=None, preexec_fn=None):
    """Runs a binary with the tenant's credentials; returns CompletedProcess
    with text stdout/stderr."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AUTH0_") and not k.startswith("A0SNAP_")}
    env.update(FAST_TIMING)
    env["A0SNAP_PSEUDONYM_KEY"] = KEY
    if tenant is not None:
        env.update(tenant.env())
    if env_extra:
        for k, v in env_extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    # `make memcheck` runs every program under valgrind through this.
    wrapper = shlex.split(os.environ.get("A0SNAP_TEST_WRAPPER", ""))
    if wrapper:
        timeout *= 10
    return subprocess.run(wrapper + [prog] + list(args), env=env, cwd=cwd, timeout=timeout,
                          capture_output=True, text=True, preexec_fn=preexec_fn)


def read_snapshot(path):
    """(header, users, trailer) of a snapshot file."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    return lines[0], lines[1:-1], lines[-1]


def grants_of(user):
    """A snapshot user's roles and memberships by name, as /__state shows them."""
    roles = sorted(r["name"] for r in user.get("roles") or [])
    orgs = sorted((o["name"], sorted(r["name"] for r in o.get("roles") or []))
                  for o in user.get("organizations") or [])
    return roles, orgs


def state_grants(user):
    return sorted(user.get("roles") or []), sorted((o["name"], sorted(o.get("roles") or []))
                                                   for o in user.get("organizations") or [])


# Fields an import can set; what the target must hold after an import.
IMPORTED_FIELDS = ("email", "email_verified", "username", "phone_number", "given_name",
                   "family_name", "name", "nickname", "picture", "blocked", "user_metadata",
                   "app_metadata")


def org_role_refs(u):
    """(organization, role, owner) of every member role in /__state, owner
    "" for a tenant role: two organizations' "admin" are not the tenant's
    "admin"."""
    out = []
    for o in u.get("organizations") or []:
        if "role_refs" in o:  # one entry per role held, even two of one name
            for r in o["role_refs"]:
                out.append((o["name"], r["name"], r.get("owner") if r.get("type") == "organization"
                            else ""))
        else:
            out += [(o["name"], name, "") for name in o.get("roles") or []]
    return sorted(out)


def user_view(u):
    v = {k: u.get(k) for k in IMPORTED_FIELDS}
    for k in ("user_metadata", "app_metadata"):
        if v[k] is None:
            v[k] = {}
    if v["blocked"] is None:
        v["blocked"] = False
    v["roles"], v["organizations"] = state_grants(u)
    v["org_roles"] = org_role_refs(u)
    return v


def database_users(state, connections=None):
    db = {c["name"] for c in state["connections"] if c.get("strategy") == "auth0"}
    if connections is not None:
        db &= set(connections)
    out = {}
    for u in state["users"]:
        conn = (u.get("identities") or [{}])[0].get("connection")
        if conn in db:
            out[u["user_id"]] = u
    return out


def compare_tenants(src_state, dst_state, connections=None):
    """Differences between the database users of two tenants, as a list of
    strings (empty = equal)."""
    a = database_users(src_state, connections)
    b = database_users(dst_state, connections)
    diffs = []
    for uid in sorted(set(a) | set(b)):
        if uid not in b:
            diffs.append("missing in target: %s" % uid)
        elif uid not in a:
            diffs.append("extra in target: %s" % uid)
        else:
            va, vb = user_view(a[uid]), user_view(b[uid])
            for k in va:
                if va[k] != vb[k]:
                    diffs.append("%s: %s: %r != %r" % (uid, k, str(va[k])[:80], str(vb[k])[:80]))
    return diffs


def catalogue_only(state):
    """A tenant document with prod's connections, roles and organizations
    but no users: config is synced by other tools, users are not."""
    return {"connections": state["connections"],
            "roles": [{"name": r["name"], "description": r.get("description", "")}
                      for r in state["roles"]],
            "organizations": [{"name": o["name"], "display_name": o.get("display_name"),
                               "members": []} for o in state["organizations"]],
            "users": []}


def divergent_staging(prod_state):
    """Staging holding some of prod's users, several of them changed, a
    staging-only user and a user that holds a prod user's email under
    another id."""
    doc = catalogue_only(prod_state)
    db = list(database_users(prod_state).values())
    db.sort(key=lambda u: u["user_id"])
    changed = {}
    for i, u in enumerate(db[:200]):
        s = copy.deepcopy(u)
        kind = i % 8
        if kind == 1:
            s["user_metadata"] = {"stale": True}
        elif kind == 2:
            s["blocked"] = not s.get("blocked", False)
        elif kind == 3:
            s["email"] = "old-" + s["email"]          # email changed in prod since
        elif kind == 4:
            s["roles"] = sorted(set(s.get("roles") or []) | {"auditor"})  # a stale grant
        elif kind == 5:
            s["organizations"] = []
        elif kind == 6:
            s["app_metadata"] = dict(s.get("app_metadata") or {}, extra_key=1)
        changed[s["user_id"]] = kind
        doc["users"].append(s)
    only = copy.deepcopy(db[0])
    only.update(user_id="auth0|5a1b2c3d4e5f60718293a4b5", email="robot@staging.example",
                username=None, roles=[], organizations=[])
    doc["users"].append(only)
    victim = db[250]
    squatter = copy.deepcopy(victim)
    squatter.update(user_id="auth0|ffffffffffffffffffff0001", roles=[], organizations=[])
    doc["users"].append(squatter)
    return doc, victim, squatter


def main():
    """Runs every test of the file, or those named on the command line
    (CTest runs each test function as its own entry, in parallel)."""
    passed = failed = 0
    only = sys.argv[1:]
    unknown = sorted(set(only) - {fn.__name__ for fn in _tests})
    if unknown:
        print("no such test: %s" % ", ".join(unknown))
        print("0 passed, 1 failed")
        sys.exit(1)
    for fn in _tests:
        if only and fn.__name__ not in only:
            continue
        tmp = tempfile.mkdtemp(prefix="a0snap-e2e-")
        cwd = os.getcwd()
        os.chdir(tmp)
        started = time.monotonic()
        try:
            fn()
            passed += 1
            print("ok   %s (%.1f s)" % (fn.__name__, time.monotonic() - started), flush=True)
        except Exception:  # a failed check or a crash: both fail the test
            failed += 1
            print("FAIL %s (%.1f s)" % (fn.__name__, time.monotonic() - started), flush=True)
            traceback.print_exc()
        finally:
            os.chdir(cwd)
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
