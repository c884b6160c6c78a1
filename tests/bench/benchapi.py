"""Running a0snap and the SDK baseline against fake tenants, and reading
what they asked for (shared by bench_api.py and bench_limits.py).

Source tenant: the fake loaded (POST /__load) with bench_gen.py's tenant.
Target tenant: the fake with the same connections, roles and organizations
(by name; its ids differ) and no users, as a fresh staging tenant is.
"""

import collections
import gzip
import json
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "fake"))

from fakectl import FakeTenant  # noqa: E402

from benchlib import BenchError, last_json  # noqa: E402

SOURCE_DOMAIN = "prod.bench.example"
TARGET_DOMAIN = "staging.bench.example"
UNLIMITED = {"rate_burst": 1000000, "rate_per_sec": 1000000}
PLANS = {  # Auth0's published Management API limits (shared/auth0/API-NOTES.md section 6)
    "free": {"rate_burst": 2, "rate_per_sec": 2.0},
    "enterprise": {"rate_burst": 50, "rate_per_sec": 16.0},
}
FAKE_MIN_JOB_S = 0.3  # tests/fake/README.md: a job takes max(0.3 s, users / job_rate)
BATCH = 100  # users per role/member batch (a0snap's, and the paging maximum)
PAYLOAD_MAX = 1000000  # "All endpoints accept a maximum payload size of 1 megabyte"
IMPORT_BODY_LIMIT = 512000  # 413 above this
CHECKPOINT_TAKE = 100

# Request kinds, in report order: (name, method, path template)
KINDS = [
    ("catalogue", "GET", "/connections"),
    ("catalogue", "GET", "/roles"),
    ("catalogue", "GET", "/organizations"),
    ("export_job", "POST", "/jobs/users-exports"),
    ("import_job", "POST", "/jobs/users-imports"),
    ("job_poll", "GET", "/jobs/{job}"),
    ("job_errors", "GET", "/jobs/{job}/errors"),
    ("role_members_read", "GET", "/roles/{role}/users"),
    ("org_members_read", "GET", "/organizations/{org}/members"),
    ("user_roles_read", "GET", "/users/{user}/roles"),
    ("user_orgs_read", "GET", "/users/{user}/organizations"),
    ("member_roles_read", "GET", "/organizations/{org}/members/{user}/roles"),
    ("role_assign_batch", "POST", "/roles/{role}/users"),
    ("role_assign_user", "POST", "/users/{user}/roles"),
    ("org_members_add", "POST", "/organizations/{org}/members"),
    ("member_roles_add", "POST", "/organizations/{org}/members/{user}/roles"),
    ("user_patch", "PATCH", "/users/{user}"),
    ("user_delete", "DELETE", "/users/{user}"),
]
GRANT_KINDS = {"role_members_read", "org_members_read", "user_roles_read", "user_orgs_read", "member_roles_read",
               "role_assign_batch", "role_assign_user", "org_members_add", "member_roles_add"}
GRANT_WRITE_KINDS = {"role_assign_batch", "role_assign_user", "org_members_add", "member_roles_add"}


def template(path):
    p = path.split("?", 1)[0]
    if p.startswith("/api/v2"):
        p = p[len("/api/v2"):]
    p = re.sub(r"^/organizations/[^/]+/members/[^/]+/roles$", "/organizations/{org}/members/{user}/roles", p)
    p = re.sub(r"^/organizations/[^/]+/members$", "/organizations/{org}/members", p)
    p = re.sub(r"^/roles/[^/]+/users$", "/roles/{role}/users", p)
    p = re.sub(r"^/users/[^/]+/roles$", "/users/{user}/roles", p)
    p = re.sub(r"^/users/[^/]+/organizations$", "/users/{user}/organizations", p)
    p = re.sub(r"^/jobs/job_[^/]+/errors$", "/jobs/{job}/errors", p)
    p = re.sub(r"^/jobs/job_[^/]+$", "/jobs/{job}", p)
    p = re.sub(r"^/users/[^/]+$", "/users/{user}", p)
    return p


def classify(log):
    """Counts of a fake's request log: token and download requests apart,
    API requests by kind and by endpoint; 429 answers counted too."""
    kinds = {}
    endpoints = collections.Counter()
    out = {"token": 0, "download": 0, "api": 0, "rate_limited": 0, "by_kind": kinds, "by_endpoint": endpoints}
    table = {(m, t): k for k, m, t in KINDS}
    for e in log:
        if e.get("listener") == "download":
            out["download"] += 1
            continue
        if e["path"].startswith("/oauth/token"):
            out["token"] += 1
            continue
        out["api"] += 1
        if e.get("rate_limited") or e.get("status") == 429:
            out["rate_limited"] += 1
        t = template(e["path"])
        endpoints["%s %s" % (e["method"], t)] += 1
        k = table.get((e["method"], t), "other")
        kinds[k] = kinds.get(k, 0) + 1
    out["by_endpoint"] = dict(endpoints)
    out["grant_requests"] = sum(v for k, v in kinds.items() if k in GRANT_KINDS)
    out["grant_writes"] = sum(v for k, v in kinds.items() if k in GRANT_WRITE_KINDS)
    return out


def import_timeline(log, t_start, t_end, rate):
    """Where an import's time went, from the target's request log: setup
    (until the first import job), jobs (until the first grant write),
    grants (until the last request), and the rest; for each, the API
    requests sent and how many the rate would have allowed."""
    api = [e for e in log if e.get("listener") != "download" and not e["path"].startswith("/oauth/token")]
    table = {(m, t): k for k, m, t in KINDS}
    kind = [table.get((e["method"], template(e["path"])), "other") for e in api]
    t_job = next((e["t"] for e, k in zip(api, kind) if k == "import_job"), None)
    t_grant = next((e["t"] for e, k in zip(api, kind) if k in GRANT_WRITE_KINDS), None)
    t_last = api[-1]["t"] if api else t_end
    marks = [("setup", t_start, t_job or t_grant or t_last), ("jobs", t_job, t_grant or t_last),
             ("grants", t_grant, t_last), ("end", t_last, t_end)]
    out = {}
    for name, a, b in marks:
        if a is None or b is None:
            continue
        n = sum(1 for e in api if a <= e["t"] < b) if name != "end" else 0
        if name == "grants":
            n += 1  # the last request itself
        out[name] = {"seconds": round(b - a, 2), "requests": n, "rate_allows": int((b - a) * rate)}
    return out


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("AUTH0_") and not k.startswith("A0SNAP_")}


def start_source(load_path, limits=None, job_rate=None):
    opts = dict(limits or UNLIMITED)
    if job_rate:
        opts["job_rate"] = job_rate
    t = FakeTenant(SOURCE_DOMAIN, **opts)
    with open(load_path, "rb") as f:
        status, _, raw = t._http("POST", t.api_url + "/__load", f.read(), {"Content-Type": "application/json"},
                                 timeout=900)
    if status != 200:
        t.stop()
        raise BenchError("loading the source tenant: %d %s" % (status, raw[:200]))
    return t


def start_target(catalogue, limits=None, job_rate=None):
    opts = dict(limits or UNLIMITED)
    if job_rate:
        opts["job_rate"] = job_rate
    t = FakeTenant(TARGET_DOMAIN, **opts)
    t.load({"roles": [{"name": r["name"], "description": r.get("description", "")} for r in catalogue["roles"]],
            "organizations": [{"name": o["name"], "display_name": o["display_name"]}
                              for o in catalogue["organizations"]],
            "users": []})
    return t


def reset_bucket(t, limits):
    """A full bucket and an empty log before a measured run."""
    t.config(**limits)
    t.clear_log()


def run_export(bin_dir, src, out_path):
    env = clean_env()
    env.update(src.env())
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(bin_dir, "export", "a0snap-export"), "--no-anonymize", "-o", out_path, "--force",
                        "--json", "-q"], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise BenchError("a0snap-export failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    return wall, json.loads(p.stdout)


def run_import(bin_dir, dst, snapshot, report):
    env = clean_env()
    e = dst.env()
    e.pop("AUTH0_DOMAIN")  # import names its target explicitly
    env.update(e)
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(bin_dir, "import", "a0snap-import"), snapshot, "--target", dst.domain,
                        "--no-anonymize", "--json", "-q", "--report", report], env=env, capture_output=True,
                       text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise BenchError("a0snap-import failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    return wall, json.loads(p.stdout)


def run_sdk(src, dst, poll_ms=1000):
    env = dict(os.environ)
    env["SDK_SRC"] = json.dumps({"domain": src.domain, "api_url": src.api_url, "client_id": src.client_id,
                                 "client_secret": src.client_secret})
    env["SDK_DST"] = json.dumps({"domain": dst.domain, "api_url": dst.api_url, "client_id": dst.client_id,
                                 "client_secret": dst.client_secret})
    env["SDK_POLL_MS"] = str(poll_ms)
    t0 = time.monotonic()
    p = subprocess.run(["node", os.path.join(HERE, "sdk_baseline.mjs")], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise BenchError("sdk_baseline.mjs failed (%d): %s" % (p.returncode, (p.stdout + p.stderr)[-2000:]))
    return wall, last_json(p.stdout)


def target_counts(dst):
    """Users, role grants, memberships and member roles the target holds."""
    st = dst.state()
    users = st["users"]
    return {"users": len(users), "role_grants": sum(len(u.get("roles") or []) for u in users),
            "memberships": sum(len(u.get("organizations") or []) for u in users),
            "member_roles": sum(len(o.get("roles") or []) for u in users for o in u.get("organizations") or [])}


def workload(snapshot, chunk_summary):
    """What a run has to move, from the raw snapshot a0snap exported and
    bench_import_chunk's account of it: users, database users, grants per
    role and organization (all users, and database users only), members
    with organization roles, and the import records' bytes per connection."""
    w = {"users": 0, "database_users": 0, "role_members": collections.Counter(),
         "org_members": collections.Counter(), "db_role_members": collections.Counter(),
         "db_org_members": collections.Counter(), "db_members_with_org_roles": 0, "db_member_roles": 0,
         "max_uid_len": 0}
    db_conns = set(chunk_summary["connections"])
    with gzip.open(snapshot, "rt", encoding="utf-8") as f:
        for line in f:
            u = json.loads(line)
            if "a0snap" in u:
                continue
            w["users"] += 1
            conn = ((u.get("identities") or [{}])[0]).get("connection")
            db = conn in db_conns and u["user_id"].startswith("auth0|")
            if db:
                w["database_users"] += 1
                w["max_uid_len"] = max(w["max_uid_len"], len(u["user_id"]))
            for r in u.get("roles") or []:
                w["role_members"][r["name"]] += 1
                if db:
                    w["db_role_members"][r["name"]] += 1
            for o in u.get("organizations") or []:
                w["org_members"][o["name"]] += 1
                if db:
                    w["db_org_members"][o["name"]] += 1
                    if o.get("roles"):
                        w["db_members_with_org_roles"] += 1
                        w["db_member_roles"] += len(o["roles"])
    w["records"] = {k: {"users": v["users"], "record_bytes": v["record_bytes"], "framing": v["framing"]}
                    for k, v in chunk_summary["connections"].items()}
    for k in ("role_members", "org_members", "db_role_members", "db_org_members"):
        w[k] = dict(w[k])
    return w


def expected_target(w):
    """What the target must hold after importing w into an empty tenant."""
    return {"users": w["database_users"], "role_grants": sum(w["db_role_members"].values()),
            "memberships": sum(w["db_org_members"].values()), "member_roles": w["db_member_roles"]}


def bound_export(w, roles, orgs, limits, job_rate):
    """Lower bound of an export of the whole source (see RESULTS.md)."""
    r_cat = 3
    r_job = 2  # create + at least one poll
    r_roles = sum(w["role_members"].get(name, 0) // CHECKPOINT_TAKE + 1 for name in roles)
    r_orgs = sum(math.ceil(w["org_members"].get(name, 0) / CHECKPOINT_TAKE) + 1 for name in orgs)
    r = r_cat + r_job + r_roles + r_orgs
    burst, rate = limits["rate_burst"], limits["rate_per_sec"]
    t_req = max(0.0, (r - burst) / rate)
    t_job = max(FAKE_MIN_JOB_S, w["users"] / job_rate)
    return {"requests": r, "parts": {"catalogue": r_cat, "export_job": r_job, "role_pages": r_roles,
                                     "org_pages": r_orgs},
            "t_requests": round(t_req, 2), "t_jobs": round(t_job, 2), "seconds": round(max(t_req, t_job), 2)}


def bound_import(w, limits, job_rate, batch=None):
    """Lower bound of an import into an empty target (see RESULTS.md).
    batch None: only the 1 MB payload limit caps a role/member batch."""
    if batch is None:
        batch = (PAYLOAD_MAX - 32) // (w["max_uid_len"] + 3)
    r_cat = 3
    r_target = 2  # the target's export job: create + one poll
    jobs = 0
    job_secs = []
    for c in w["records"].values():
        cap = IMPORT_BODY_LIMIT - c["framing"] - 2
        j = math.ceil((c["record_bytes"] + max(0, c["users"] - 1)) / cap) if c["users"] else 0
        jobs += j
        job_secs.append(max(j * FAKE_MIN_JOB_S, c["users"] / job_rate))
    r_jobs = 2 * jobs  # submit + at least one poll each
    r_roles = sum(math.ceil(m / batch) for m in w["db_role_members"].values())
    r_members = sum(math.ceil(m / batch) for m in w["db_org_members"].values())
    r_member_roles = w["db_members_with_org_roles"]  # one call per member: no batch endpoint
    r = r_cat + r_target + r_jobs + r_roles + r_members + r_member_roles
    burst, rate = limits["rate_burst"], limits["rate_per_sec"]
    t_req = max(0.0, (r - burst) / rate)
    # two jobs at a time; the target's (empty) export job comes first
    t_jobs = FAKE_MIN_JOB_S + sum(job_secs) / 2.0
    return {"requests": r, "batch": batch,
            "parts": {"catalogue": r_cat, "target_export_job": r_target, "import_jobs": r_jobs,
                      "role_batches": r_roles, "member_batches": r_members, "member_roles": r_member_roles},
            "import_jobs": jobs, "t_requests": round(t_req, 2), "t_jobs": round(t_jobs, 2),
            "seconds": round(max(t_req, t_jobs), 2)}
