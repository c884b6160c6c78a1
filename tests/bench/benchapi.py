"""Running a0snap and the SDK baseline against fake tenants, and reading
what they asked for (shared by bench_api.py and bench_limits.py).

Source tenant: the fake loaded (POST /__load) with bench_gen.py's tenant
(the 2026 model: passwordless users, linked accounts, direct permissions,
organization roles).
Target tenant: the fake with what a staging tenant's configuration tools
keep in sync (connections, including the passwordless ones; the APIs;
the tenant roles; the organizations, by name: its ids differ) and no
users and no organization roles: an import creates those
(--create-missing-roles), as tests/e2e/test_whole_user.py does.
Drifted target: that target after an import, changed the way a staging
tenant drifts (apply_drift), for a refresh.
"""

import collections
import gzip
import json
import math
import os
import random
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
DATABASE = ("auth0",)
PASSWORDLESS = ("email", "sms")
OMITTED_ROLES = {"members_checkpoint_roles": "omit"}  # tests/fake/fake_quirks.py

# Request kinds, in report order: (name, method, path template). A path
# template with "?" also matches on the query (GET /roles?type=organization).
KINDS = [
    ("catalogue", "GET", "/connections"),
    ("catalogue", "GET", "/roles"),
    ("catalogue", "GET", "/organizations"),
    ("org_roles_list", "GET", "/roles?type=organization"),
    ("apis_read", "GET", "/resource-servers"),
    ("export_job", "POST", "/jobs/users-exports"),
    ("import_job", "POST", "/jobs/users-imports"),
    ("job_poll", "GET", "/jobs/{job}"),
    ("job_errors", "GET", "/jobs/{job}/errors"),
    ("role_members_read", "GET", "/roles/{role}/users"),
    ("org_members_read", "GET", "/organizations/{org}/members"),
    ("org_role_members_read", "GET", "/organizations/{org}/roles/{role}/members"),
    ("member_roles_read", "GET", "/organizations/{org}/members/{user}/roles"),
    ("user_roles_read", "GET", "/users/{user}/roles"),
    ("user_orgs_read", "GET", "/users/{user}/organizations"),
    ("permissions_read", "GET", "/users/{user}/permissions"),
    ("user_read", "GET", "/users/{user}"),
    ("role_create", "POST", "/roles"),
    ("user_create", "POST", "/users"),
    ("user_patch", "PATCH", "/users/{user}"),
    ("user_delete", "DELETE", "/users/{user}"),
    ("link", "POST", "/users/{user}/identities"),
    ("unlink", "DELETE", "/users/{user}/identities/{provider}/{id}"),
    ("permissions_add", "POST", "/users/{user}/permissions"),
    ("permissions_remove", "DELETE", "/users/{user}/permissions"),
    ("role_assign_batch", "POST", "/roles/{role}/users"),
    ("role_assign_user", "POST", "/users/{user}/roles"),
    ("role_remove_user", "DELETE", "/users/{user}/roles"),
    ("org_members_add", "POST", "/organizations/{org}/members"),
    ("org_members_remove", "DELETE", "/organizations/{org}/members"),
    ("member_roles_add", "POST", "/organizations/{org}/members/{user}/roles"),
    ("member_roles_remove", "DELETE", "/organizations/{org}/members/{user}/roles"),
]
KIND_ORDER = list(dict.fromkeys(k for k, _, _ in KINDS)) + ["other"]
GRANT_READ_KINDS = {"role_members_read", "org_members_read", "org_role_members_read", "member_roles_read",
                    "user_roles_read", "user_orgs_read"}
GRANT_WRITE_KINDS = {"role_assign_batch", "role_assign_user", "role_remove_user", "org_members_add",
                     "org_members_remove", "member_roles_add", "member_roles_remove"}
GRANT_KINDS = GRANT_READ_KINDS | GRANT_WRITE_KINDS
# what a copy of the whole user adds (2026): passwordless users, linked
# accounts, direct permissions, organization roles
WHOLE_USER_KINDS = {"org_roles_list", "apis_read", "permissions_read", "role_create", "user_create", "user_read",
                    "link", "unlink", "permissions_add", "permissions_remove"}
# per-user writes after the jobs (the import timeline's last phase)
LATE_WRITE_KINDS = GRANT_WRITE_KINDS | {"link", "unlink", "permissions_add", "permissions_remove"}


def template(path):
    p = path.split("?", 1)[0]
    if p.startswith("/api/v2"):
        p = p[len("/api/v2"):]
    subs = [
        (r"^/organizations/[^/]+/members/[^/]+/roles$", "/organizations/{org}/members/{user}/roles"),
        (r"^/organizations/[^/]+/roles/[^/]+/members$", "/organizations/{org}/roles/{role}/members"),
        (r"^/organizations/[^/]+/members$", "/organizations/{org}/members"),
        (r"^/roles/[^/]+/users$", "/roles/{role}/users"),
        (r"^/users/[^/]+/identities/[^/]+/[^/]+$", "/users/{user}/identities/{provider}/{id}"),
        (r"^/users/[^/]+/identities$", "/users/{user}/identities"),
        (r"^/users/[^/]+/permissions$", "/users/{user}/permissions"),
        (r"^/users/[^/]+/roles$", "/users/{user}/roles"),
        (r"^/users/[^/]+/organizations$", "/users/{user}/organizations"),
        (r"^/jobs/job_[^/]+/errors$", "/jobs/{job}/errors"),
        (r"^/jobs/job_[^/]+$", "/jobs/{job}"),
        (r"^/users/[^/]+$", "/users/{user}"),
    ]
    for pat, rep in subs:
        if re.match(pat, p):
            return rep
    return p


def kind_of(entry, table=None):
    """The request kind of a request-log entry."""
    table = table or _TABLE
    t = template(entry["path"])
    if entry["method"] == "GET" and t == "/roles" and "type=organization" in (entry.get("query") or ""):
        t = "/roles?type=organization"
    return table.get((entry["method"], t), "other")


_TABLE = {(m, t): k for k, m, t in KINDS}


def is_api(e):
    return e.get("listener") != "download" and not e["path"].startswith("/oauth/token")


def classify(log):
    """Counts of a fake's request log: token and download requests apart,
    API requests by kind and by endpoint; 429 answers counted too."""
    kinds = {}
    endpoints = collections.Counter()
    out = {"token": 0, "download": 0, "api": 0, "rate_limited": 0, "by_kind": kinds, "by_endpoint": endpoints}
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
        endpoints["%s %s" % (e["method"], template(e["path"]))] += 1
        k = kind_of(e)
        kinds[k] = kinds.get(k, 0) + 1
    out["by_endpoint"] = dict(endpoints)
    out["grant_requests"] = sum(v for k, v in kinds.items() if k in GRANT_KINDS)
    out["grant_writes"] = sum(v for k, v in kinds.items() if k in GRANT_WRITE_KINDS)
    out["whole_user_requests"] = sum(v for k, v in kinds.items() if k in WHOLE_USER_KINDS)
    return out


def import_timeline(log, t_start, t_end, rate):
    """Where an import's time went, from the target's request log: setup
    (until the first write), creates (POST /users of passwordless users,
    before the jobs), jobs (from the first import job until the first
    per-user write after it: grants, links, permissions), writes (until the
    last request), and the rest; for each, the API requests sent and how
    many the rate would have allowed."""
    api = [e for e in log if is_api(e)]
    kind = [kind_of(e) for e in api]
    t_job = next((e["t"] for e, k in zip(api, kind) if k == "import_job"), None)
    t_create = next((e["t"] for e, k in zip(api, kind) if k == "user_create" and (t_job is None or e["t"] < t_job)),
                    None)
    after = t_job if t_job is not None else (t_create or t_start)
    t_write = next((e["t"] for e, k in zip(api, kind) if k in LATE_WRITE_KINDS and e["t"] >= after), None)
    t_last = api[-1]["t"] if api else t_end
    first = t_create or t_job or t_write or t_last
    marks = [("setup", t_start, first), ("creates", t_create, t_job or t_write or t_last),
             ("jobs", t_job, t_write or t_last), ("writes", t_write, t_last), ("end", t_last, t_end)]
    out = {}
    for name, a, b in marks:
        if a is None or b is None:
            continue
        n = sum(1 for e in api if a <= e["t"] < b) if name != "end" else 0
        if name == "writes" or (name == "jobs" and t_write is None):
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


def start_target(catalogue, apis, limits=None, job_rate=None):
    """A staging tenant as its configuration tools leave it: the source's
    connections, APIs, tenant roles and organizations by name; no users,
    no organization roles."""
    opts = dict(limits or UNLIMITED)
    if job_rate:
        opts["job_rate"] = job_rate
    t = FakeTenant(TARGET_DOMAIN, **opts)
    t.load({"connections": [{"name": c["name"], "strategy": c["strategy"]} for c in catalogue["connections"]],
            "resource_servers": [{k: a[k] for k in ("identifier", "name", "scopes")} for a in apis],
            "roles": [{"name": r["name"], "description": r.get("description", "")} for r in catalogue["roles"]
                      if r.get("type") != "organization"],
            "organizations": [{"name": o["name"], "display_name": o["display_name"]}
                              for o in catalogue["organizations"]],
            "users": []})
    return t


def reset_bucket(t, limits):
    """A full bucket and an empty log before a measured run."""
    t.config(**limits)
    t.clear_log()


def run_export(bin_dir, src, out_path, permissions=False):
    env = clean_env()
    env.update(src.env())
    args = [os.path.join(bin_dir, "export", "a0snap-export"), "--no-anonymize", "-o", out_path, "--force", "--json",
            "-q"]
    if permissions:
        args.append("--with-permissions")
    t0 = time.monotonic()
    p = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise BenchError("a0snap-export failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    return wall, json.loads(p.stdout)


def run_import(bin_dir, dst, snapshot, report, extra=()):
    """a0snap-import into dst, with --create-missing-roles (the target has
    no organization roles) and the extra options."""
    env = clean_env()
    e = dst.env()
    e.pop("AUTH0_DOMAIN")  # import names its target explicitly
    env.update(e)
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(bin_dir, "import", "a0snap-import"), snapshot, "--target", dst.domain,
                        "--no-anonymize", "--create-missing-roles", "--json", "-q", "--report", report]
                       + list(extra), env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise BenchError("a0snap-import failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    return wall, json.loads(p.stdout)


def run_sdk(src, dst, poll_ms=1000, permissions=True):
    env = dict(os.environ)
    env["SDK_SRC"] = json.dumps({"domain": src.domain, "api_url": src.api_url, "client_id": src.client_id,
                                 "client_secret": src.client_secret})
    env["SDK_DST"] = json.dumps({"domain": dst.domain, "api_url": dst.api_url, "client_id": dst.client_id,
                                 "client_secret": dst.client_secret})
    env["SDK_POLL_MS"] = str(poll_ms)
    env["SDK_PERMISSIONS"] = "1" if permissions else "0"
    t0 = time.monotonic()
    p = subprocess.run(["node", os.path.join(HERE, "sdk_baseline.mjs")], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise BenchError("sdk_baseline.mjs failed (%d): %s" % (p.returncode, (p.stdout + p.stderr)[-2000:]))
    return wall, last_json(p.stdout)


def target_counts(dst):
    """What the target holds: users, tenant-role grants, memberships, member
    roles, direct permissions, linked accounts, organization roles."""
    st = dst.state()
    users = st["users"]
    return {"users": len(users), "role_grants": sum(len(u.get("roles") or []) for u in users),
            "memberships": sum(len(u.get("organizations") or []) for u in users),
            "member_roles": sum(len(o.get("roles") or []) for u in users for o in u.get("organizations") or []),
            "permissions": sum(len(u.get("permissions") or []) for u in users),
            "linked_accounts": sum(len(u.get("identities") or []) - 1 for u in users),
            "org_roles": sum(1 for r in st["roles"] if r.get("type") == "organization")}


def snapshot_header(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.loads(f.readline())


def workload(snapshot, chunk_summary):
    """What a run has to move, from the raw snapshot a0snap exported and
    bench_import_chunk's account of it. "Copyable" users are those an
    import writes: database users (bulk jobs) and passwordless users
    (POST /users). Counted: users, database and passwordless users; per
    role and organization the members (all users: what an export reads)
    and the copyable ones; per organization and role the holders (the
    per-role member-role reads); members with organization roles; direct
    permissions; linked accounts by what an import can make of them; the
    organization roles; the import records' bytes per connection."""
    hdr = snapshot_header(snapshot)
    cat = hdr["catalogue"]
    strategy = {c["name"]: c["strategy"] for c in cat["connections"]}
    w = {"users": 0, "database_users": 0, "passwordless_users": 0, "role_members": collections.Counter(),
         "org_members": collections.Counter(), "copy_role_members": collections.Counter(),
         "copy_org_members": collections.Counter(), "org_role_holders": collections.Counter(),
         "copy_members_with_roles": 0, "copy_member_roles": 0, "copy_users_with_roles": 0, "users_with_permissions": 0,
         "copy_users_with_permissions": 0, "copy_permissions": 0, "linked_database": 0, "linked_passwordless": 0,
         "linked_not_copyable": 0, "max_uid_len": 0,
         "with_permissions": bool(hdr.get("request", {}).get("permissions")),
         "org_roles": sum(1 for r in cat["roles"] if r.get("type") == "organization")}
    with gzip.open(snapshot, "rt", encoding="utf-8") as f:
        for line in f:
            u = json.loads(line)
            if "a0snap" in u:
                continue
            w["users"] += 1
            ids = u.get("identities") or [{}]
            s = strategy.get(ids[0].get("connection"))
            db = s in DATABASE and u["user_id"].startswith("auth0|")
            pl = s in PASSWORDLESS
            copy = db or pl
            if db:
                w["database_users"] += 1
            if pl:
                w["passwordless_users"] += 1
            if copy:
                w["max_uid_len"] = max(w["max_uid_len"], len(u["user_id"]))
                for sec in ids[1:]:
                    ss = strategy.get(sec.get("connection"))
                    key = ("linked_database" if ss in DATABASE else "linked_passwordless" if ss in PASSWORDLESS
                           else "linked_not_copyable")
                    w[key] += 1
            if copy and u.get("roles"):
                w["copy_users_with_roles"] += 1
            for r in u.get("roles") or []:
                w["role_members"][r["name"]] += 1
                if copy:
                    w["copy_role_members"][r["name"]] += 1
            for o in u.get("organizations") or []:
                w["org_members"][o["name"]] += 1
                for r in o.get("roles") or []:
                    w["org_role_holders"][o["name"] + "\t" + r["id"]] += 1
                if copy:
                    w["copy_org_members"][o["name"]] += 1
                    if o.get("roles"):
                        w["copy_members_with_roles"] += 1
                        w["copy_member_roles"] += len(o["roles"])
            perms = u.get("permissions") or []
            if perms:
                w["users_with_permissions"] += 1
                if copy:
                    w["copy_users_with_permissions"] += 1
                    w["copy_permissions"] += len(perms)
    w["copy_users"] = w["database_users"] + w["passwordless_users"]
    w["records"] = {k: {"users": v["users"], "record_bytes": v["record_bytes"], "framing": v["framing"]}
                    for k, v in chunk_summary["connections"].items()}
    for k in ("role_members", "org_members", "copy_role_members", "copy_org_members", "org_role_holders"):
        w[k] = dict(w[k])
    return w


def expected_target(w):
    """What the target must hold after importing w into an empty tenant."""
    return {"users": w["copy_users"], "role_grants": sum(w["copy_role_members"].values()),
            "memberships": sum(w["copy_org_members"].values()), "member_roles": w["copy_member_roles"],
            "permissions": w["copy_permissions"] if w["with_permissions"] else 0,
            "linked_accounts": w["linked_database"] + w["linked_passwordless"], "org_roles": w["org_roles"]}


def pages(n):
    """Checkpoint pages of a list of n items (take 100): a part-filled page
    ends it, a full last page is followed by an empty one (the fake's
    default, checkpoint_end short_page, as recorded in 2026)."""
    return n // CHECKPOINT_TAKE + 1


def member_role_costs(w, catalogue):
    """Completing member roles when the organizations' member lists come
    without them: per organization, asking every member (one request each)
    against listing every role a member could hold there (the tenant roles
    and the organization's own: pages of its holders in that organization).
    -> {"per_member", "per_role", "minimum" (the cheaper per organization)}."""
    tenant = [r for r in catalogue["roles"] if r.get("type") != "organization"]
    out = {"per_member": 0, "per_role": 0, "minimum": 0}
    for o in catalogue["organizations"]:
        m = w["org_members"].get(o["name"], 0)
        cands = tenant + [r for r in catalogue["roles"] if r.get("owner") == o["name"]]
        by_role = sum(pages(w["org_role_holders"].get(o["name"] + "\t" + r["id"], 0)) for r in cands) if m else 0
        out["per_member"] += m
        out["per_role"] += by_role
        out["minimum"] += min(m, by_role)
    return out


def bound_export(w, catalogue, limits, job_rate, permissions=False, roles_omitted=False):
    """Lower bound of an export of the whole source (see RESULTS.md)."""
    tenant_roles = [r["name"] for r in catalogue["roles"] if r.get("type") != "organization"]
    r_cat = 4  # connections, organizations, roles, roles?type=organization
    r_job = 2  # create + at least one poll
    r_roles = sum(pages(w["role_members"].get(name, 0)) for name in tenant_roles)
    r_orgs = sum(pages(w["org_members"].get(o["name"], 0)) for o in catalogue["organizations"])
    r_perms = w["users"] if permissions else 0
    r_mroles = member_role_costs(w, catalogue)["minimum"] if roles_omitted else 0
    r = r_cat + r_job + r_roles + r_orgs + r_perms + r_mroles
    burst, rate = limits["rate_burst"], limits["rate_per_sec"]
    t_req = max(0.0, (r - burst) / rate)
    t_job = max(FAKE_MIN_JOB_S, w["users"] / job_rate)
    return {"requests": r, "parts": {"catalogue": r_cat, "export_job": r_job, "role_pages": r_roles,
                                     "org_pages": r_orgs, "permission_reads": r_perms, "member_role_reads": r_mroles},
            "t_requests": round(t_req, 2), "t_jobs": round(t_job, 2), "seconds": round(max(t_req, t_job), 2)}


def bound_import(w, limits, job_rate, batch=None):
    """Lower bound of an import into an empty target (see RESULTS.md).
    batch None: only the 1 MB payload limit caps a role/member batch."""
    if batch is None:
        batch = (PAYLOAD_MAX - 32) // (w["max_uid_len"] + 3)
    perms = w["with_permissions"]
    r_cat = 4 + (1 if perms else 0)  # + GET /resource-servers when the snapshot has permissions
    r_target = 2  # the target's export job: create + one poll
    jobs = 0
    job_secs = []
    for c in w["records"].values():
        cap = IMPORT_BODY_LIMIT - c["framing"] - 2
        j = math.ceil((c["record_bytes"] + max(0, c["users"] - 1)) / cap) if c["users"] else 0
        jobs += j
        job_secs.append(max(j * FAKE_MIN_JOB_S, c["users"] / job_rate))
    r_jobs = 2 * jobs  # submit + at least one poll each
    r_creates = w["passwordless_users"]  # POST /users: no bulk path for passwordless users
    # a database linked account's user could ride in a bulk job: its link
    # only; a passwordless one needs POST /users too
    r_links = w["linked_database"] + 2 * w["linked_passwordless"]
    r_role_create = w["org_roles"]  # POST /roles: the target has no organization roles
    r_roles = sum(math.ceil(m / batch) for m in w["copy_role_members"].values())
    r_members = sum(math.ceil(m / batch) for m in w["copy_org_members"].values())
    r_member_roles = w["copy_members_with_roles"]  # one call per member: no batch endpoint
    r_perms = w["copy_users_with_permissions"] if perms else 0  # POST /users/{id}/permissions, per user
    r = (r_cat + r_target + r_jobs + r_creates + r_links + r_role_create + r_roles + r_members + r_member_roles
         + r_perms)
    burst, rate = limits["rate_burst"], limits["rate_per_sec"]
    t_req = max(0.0, (r - burst) / rate)
    # two jobs at a time; the target's (empty) export job comes first
    t_jobs = FAKE_MIN_JOB_S + sum(job_secs) / 2.0
    return {"requests": r, "batch": batch,
            "parts": {"catalogue": r_cat, "target_export_job": r_target, "import_jobs": r_jobs,
                      "passwordless_creates": r_creates, "links": r_links, "role_creates": r_role_create,
                      "role_batches": r_roles, "member_batches": r_members, "member_roles": r_member_roles,
                      "permission_writes": r_perms},
            "import_jobs": jobs, "t_requests": round(t_req, 2), "t_jobs": round(t_jobs, 2),
            "seconds": round(max(t_req, t_jobs), 2)}


# --- a drifted staging -----------------------------------------------------

DRIFT_SHARE = 0.002  # of the source's users, per kind of drift


def _call(t, method, path, body=None, ok=(200, 201, 204)):
    st, _, out = t.api(method, path, body)
    if st not in ok:
        raise BenchError("drift: %s %s -> %d %r" % (method, path, st, out))
    return out


def _esc(uid):
    return uid.replace("|", "%7C")


def apply_drift(dst, snapshot, seed, permissions, share=DRIFT_SHARE):
    """Changes a target that holds the snapshot's users the way a staging
    tenant drifts, through the API (the caller lifts the rate limit
    first), k = share x users of each kind, chosen with a fixed seed:

      stale_links        a database user gets a linked account production's
                         user lacks (made in the other database connection)
      passwordless       a passwordless user's user_metadata changed
      stale_perms        a direct permission production's user lacks
      missing_perms      a user's direct permissions removed
      (the two permission kinds only when the snapshot holds permissions)
      missing_org_roles  a member's organization roles removed
      stale_org_roles    a member given an organization role it lacks

    -> ({kind: count}, {request kind: count}): the drift, and the writes
    a refresh needs at least to undo it (one each; a stale link two:
    unlink, then --prune deletes the account it leaves behind)."""
    st = dst.state()
    users = {u["user_id"]: u for u in st["users"]}
    strategy = {c["name"]: c["strategy"] for c in st["connections"]}
    conn_ids = {c["name"]: c["id"] for c in st["connections"]}
    org_roles = {}  # org name -> [role id] of its own roles
    org_id = {o["name"]: o["id"] for o in st["organizations"]}
    oid_name = {v: k for k, v in org_id.items()}
    for r in st["roles"]:
        if r.get("type") == "organization":
            org_roles.setdefault(oid_name[r["owner_id"]], []).append(r)
    rng = random.Random("a0snap-bench-drift/%d" % seed)
    ids = sorted(users)
    k = max(1, int(round(share * len(ids))))
    used = set()

    def pick(pred, n):
        cands = [uid for uid in ids if uid not in used and pred(users[uid])]
        got = rng.sample(cands, min(n, len(cands)))
        used.update(got)
        return got

    def conn(u):
        return (u.get("identities") or [{}])[0].get("connection")

    out = collections.Counter()
    for i, uid in enumerate(pick(lambda u: strategy.get(conn(u)) in DATABASE and len(u["identities"]) == 1, k)):
        other = "legacy-db" if conn(users[uid]) != "legacy-db" else "Username-Password-Authentication"
        body = {"connection": other, "email": "stale-link-%d@staging.bench.example" % i,
                "password": "Stale-link-%d!aA1" % i, "email_verified": True}
        if other == "legacy-db":
            body["username"] = "stale_%d" % i
        made = _call(dst, "POST", "/users", body)
        _call(dst, "POST", "/users/%s/identities" % _esc(uid),
              {"provider": "auth0", "user_id": made["user_id"], "connection_id": conn_ids[other]})
        out["stale_links"] += 1
    for uid in pick(lambda u: strategy.get(conn(u)) in PASSWORDLESS, k):
        _call(dst, "PATCH", "/users/%s" % _esc(uid), {"user_metadata": {"staging_note": "changed in staging"}})
        out["passwordless"] += 1
    if permissions:
        for uid in pick(lambda u: not u.get("permissions"), k):
            _call(dst, "POST", "/users/%s/permissions" % _esc(uid), {"permissions": [
                {"resource_server_identifier": "https://reports.example.com/", "permission_name": "export:reports"}]})
            out["stale_perms"] += 1
        for uid in pick(lambda u: u.get("permissions"), k):
            _call(dst, "DELETE", "/users/%s/permissions" % _esc(uid), {"permissions": [
                {k2: p[k2] for k2 in ("resource_server_identifier", "permission_name")}
                for p in users[uid]["permissions"]]})
            out["missing_perms"] += 1

    def org_role_ids(u, oname):
        """The ids of the organization's own roles u holds there (/__state
        gives role_refs whenever a membership holds one)."""
        o = next(x for x in u["organizations"] if x["name"] == oname)
        held = {ref["name"] for ref in o.get("role_refs") or [] if ref.get("type") == "organization"}
        return [r["id"] for r in org_roles.get(oname, []) if r["name"] in held]

    with_org_role = [(uid, o["name"]) for uid in ids for o in users[uid].get("organizations") or []
                     if o["name"] in org_roles and org_role_ids(users[uid], o["name"])]
    for uid, oname in rng.sample(with_org_role, min(k, len(with_org_role))):
        if uid in used:
            continue
        used.add(uid)
        _call(dst, "DELETE", "/organizations/%s/members/%s/roles" % (org_id[oname], _esc(uid)),
              {"roles": org_role_ids(users[uid], oname)})
        out["missing_org_roles"] += 1
    without = [(uid, o["name"]) for uid in ids for o in users[uid].get("organizations") or []
               if o["name"] in org_roles and not org_role_ids(users[uid], o["name"])]
    for uid, oname in rng.sample(without, min(k, len(without))):
        if uid in used:
            continue
        used.add(uid)
        _call(dst, "POST", "/organizations/%s/members/%s/roles" % (org_id[oname], _esc(uid)),
              {"roles": [org_roles[oname][0]["id"]]})
        out["stale_org_roles"] += 1
    out = dict(out)
    writes = {"unlink": out.get("stale_links", 0), "user_delete": out.get("stale_links", 0),
              "user_patch": out.get("passwordless", 0), "permissions_remove": out.get("stale_perms", 0),
              "permissions_add": out.get("missing_perms", 0), "member_roles_add": out.get("missing_org_roles", 0),
              "member_roles_remove": out.get("stale_org_roles", 0)}
    return out, {k: v for k, v in writes.items() if v}


def target_read_workload(dst, permissions):
    """What reading the target costs (bound_refresh): its users, and the
    members of each tenant role and organization."""
    st = dst.state()
    roles = collections.Counter()
    orgs = collections.Counter()
    for u in st["users"]:
        for r in u.get("roles") or []:
            roles[r] += 1
        for o in u.get("organizations") or []:
            orgs[o["name"]] += 1
    return {"users": len(st["users"]), "permissions": permissions,
            "tenant_roles": {r["name"]: roles.get(r["name"], 0) for r in st["roles"] if r.get("type") != "organization"},
            "organizations": {o["name"]: orgs.get(o["name"], 0) for o in st["organizations"]}}


def bound_refresh(tw, writes, limits, job_rate):
    """Lower bound of a refresh of a drifted target (see RESULTS.md): read
    it all (as an export reads a tenant; its permissions too when the
    snapshot has them), and make the writes that undo the drift. The
    writes that need the target's users (links, profiles, permissions,
    deletions) can only follow its export job, with at most a full bucket
    saved up; organization member roles need only its member lists."""
    w_all = sum(writes.values())
    w_users = w_all - writes.get("member_roles_add", 0) - writes.get("member_roles_remove", 0)
    r_cat = 4 + (1 if tw["permissions"] else 0)
    r_job = 2
    r_roles = sum(pages(n) for n in tw["tenant_roles"].values())
    r_orgs = sum(pages(n) for n in tw["organizations"].values())
    r_perms = tw["users"] if tw["permissions"] else 0
    r = r_cat + r_job + r_roles + r_orgs + r_perms + w_all
    burst, rate = limits["rate_burst"], limits["rate_per_sec"]
    t_req = max(0.0, (r - burst) / rate)
    t_job = max(FAKE_MIN_JOB_S, tw["users"] / job_rate)
    t_seq = t_job + max(0.0, (w_users - burst) / rate)
    return {"requests": r, "parts": {"catalogue": r_cat, "target_export_job": r_job, "role_pages": r_roles,
                                     "org_pages": r_orgs, "permission_reads": r_perms, "writes": w_all,
                                     "writes_after_job": w_users},
            "t_requests": round(t_req, 2), "t_jobs": round(t_job, 2), "t_sequence": round(t_seq, 2),
            "seconds": round(max(t_req, t_seq), 2)}


def sdk_requests(w, catalogue, permissions, max_file=500000):
    """The requests sdk_baseline.mjs makes for workload w, at least (one
    poll per job): the source's (catalogue, export job, member pages,
    direct permissions of the users it copies) and the target's
    (catalogue, organization roles, import files, then per user). Its
    import files are counted from a0snap's import records (the program's
    differ by a few bytes: an estimate)."""
    tenant_roles = [r["name"] for r in catalogue["roles"] if r.get("type") != "organization"]
    src = (3 + 2 + sum(pages(w["role_members"].get(name, 0)) for name in tenant_roles)
           + sum(pages(w["org_members"].get(o["name"], 0)) for o in catalogue["organizations"])
           + (w["copy_users"] if permissions else 0))
    files = sum(math.ceil((c["record_bytes"] + c["users"] + 1) / max_file) for c in w["records"].values()
                if c["users"])
    calls = (w["passwordless_users"] + 2 * (w["linked_database"] + w["linked_passwordless"])
             + w["copy_users_with_roles"] + sum(w["copy_org_members"].values()) + w["copy_members_with_roles"]
             + (w["copy_users_with_permissions"] if permissions else 0))
    return {"source": src, "files": files, "target_setup": 3 + w["org_roles"], "per_user": calls,
            "target": 3 + w["org_roles"] + 2 * files + calls}


def sdk_projection(w, catalogue, limits, job_rate, permissions):
    """A lower bound of the SDK program's time under limits: it is
    sequential (source, then one import job after another, then the
    per-user calls), so T >= max((R_src - B)/r, d(N)) + max(0.3 F, D/v)
    + max(0, (R_calls - B)/r) (see RESULTS.md)."""
    q = sdk_requests(w, catalogue, permissions)
    burst, rate = limits["rate_burst"], limits["rate_per_sec"]
    t_src = max(max(0.0, (q["source"] - burst) / rate), max(FAKE_MIN_JOB_S, w["users"] / job_rate))
    t_jobs = max(q["files"] * FAKE_MIN_JOB_S, w["database_users"] / job_rate)
    t_calls = max(0.0, (q["target_setup"] + q["per_user"] - burst) / rate)
    return {"source": round(t_src, 1), "import_jobs": round(t_jobs, 1), "grants": round(t_calls, 1),
            "target": round(t_jobs + t_calls, 1), "total": round(t_src + t_jobs + t_calls, 1),
            "requests": {"source": q["source"], "target": q["target"]}}
