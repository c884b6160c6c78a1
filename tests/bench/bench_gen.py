#!/usr/bin/env python3
"""Realistic tenants for the benchmarks, written straight to files.

    bench_gen.py --users N [--seed S] [--domain D] --export FILE.json.gz
                 --grants FILE.tsv [--catalogue FILE.json] [--apis FILE.json]
                 [--load-doc FILE.json] [--no-model-2026] [--SHARE-share F ...]

The base users are exactly those the fake tenant generates for the same
(domain, seed, users) (tests/fake/fake_gen.py: the same make_user(), the
same random sequence, the same role and organization ids), reshaped into
the 2026 model below, and streamed to disk instead of being held in a
fake (1M users would take the fake ~1.7 GB and ~100 s). The 2026 part is
drawn as the users stream by, so it is not what a fake started with
--model-2026 draws (that one reshapes a finished tenant in user_id
order); its shapes are the same.

  --export     what an export job of a0snap-export would download: gzip
               NDJSON, one user per line holding the fields a0snap asks for
               (common/dump_job.c dump_fields), in that order, as the fake's
               export job writes them (compact JSON, UTF-8).
  --grants     one line per grant, "<user_id>\\t<grant JSON>", the JSON being
               exactly what common/dump_grants.c puts in its sort (compact,
               sorted keys): {"id","kind":"role","name"},
               {"id","kind":"org","name","roles":[{"id","name","type"?}]}
               ("type":"organization" for an organization's own role), or
               {"kind":"perm","permission_name","resource_server_identifier"}
               (common/dump_permissions.c: what `--with-permissions` reads).
  --catalogue  {"connections","roles","organizations"} as a snapshot header
               carries them (organization roles with "type" and "owner").
  --apis       the resource servers (APIs) with their scopes, as /__load
               takes them (a target tenant needs them for direct
               permissions).
  --load-doc   the same tenant as a /__load document for the fake
               (tests/fake/README.md), so the API benchmarks run on exactly
               these users (held in memory: meant for <= 100k users).

fake_gen makes a phone number from the user's index modulo 10,000, so
from ~10k users on, database users share phone numbers, and an import
refuses the later ones (DUPLICATED_USER: Auth0 matches on phone too). Here
the last four digits become seven from the index: every number stays
E.164 (at most 15 digits) and is unique.

The 2026 model (unless --no-model-2026): the users as Auth0 models them
in 2026, in the shares below (each a flag), drawn from a random sequence
of its own ("a0snap-bench-2026/DOMAIN/SEED") so that the base tenant
stays exactly fake_gen's, and shaped by fake_gen's own add_model_2026
helpers (the same connections, identities, APIs, role permissions and
organization roles as `--model-2026` fakes):

  passwordless  --email-share 0.025 of all users become `email` users and
                --sms-share 0.015 `sms` users (as they are generated,
                keeping their roles and memberships);
  linked        --linked-share 0.04 of the other database users get one
                linked identity with profileData: 60% a database account
                in the other database connection, 40% a Google account;
  permissions   two APIs (6 scopes); the tenant roles admin, billing,
                support and auditor carry permissions; --perm-share 0.05
                of all users hold 1-2 direct permissions (half of those
                with a role also one of its permissions, so sources are
                DIRECT, ROLE or both);
  org roles     acme-corp and globex each own an "admin" (named like the
                tenant role) and an "approver"; --org-role-share 0.35 of
                their members hold one.

fake_gen's profiles are bimodal: ~98.5% of export lines are 0.5-2 KB and
~1.5% are 8-11 KB (the 8-10 KB metadata tail), with nothing in between.
Real tenants have a middle too, so unless --mid-share 0 a further share of
users (default 8%) gets a "notes" list in user_metadata of 1.5-7.5 KB
(log-uniform), drawn from a separate random sequence so that everything
else stays as fake_gen makes it.

It prints what it made (counts, the spread of profile sizes) as plain lines
and, last, one JSON line.
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fake"))

import fake_gen  # noqa: E402
from fake_state import Tenant  # noqa: E402
from fake_util import rand_hex  # noqa: E402

# common/dump_job.c dump_fields, in order.
DUMP_FIELDS = ["user_id", "email", "email_verified", "username", "phone_number", "phone_verified",
               "given_name", "family_name", "name", "nickname", "picture", "blocked", "identities",
               "created_at", "updated_at", "last_login", "logins_count", "multifactor",
               "user_metadata", "app_metadata"]

SIZE_BUCKETS = [(0, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 8000), (8000, 10000),
                (10000, 1 << 30)]


def compact(obj, sort=False):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=sort)


class _LightUser:
    """Stands in for fake_state.User: keeps the object, no copy as bytes."""

    __slots__ = ("uid", "obj")

    def __init__(self, obj):
        self.uid = obj["user_id"]
        self.obj = obj


NOTE_TEXT = ("Call notes: asked about SSO setup for the finance team; sent the admin guide. "
             "Follow-up: renewal quote requested, procurement contact changes next quarter. ")


def add_mid_tail(rng, obj, share):
    """With probability share, 1.5-7.5 KB of notes in user_metadata."""
    if rng.random() >= share:
        return False
    target = int(math.exp(rng.uniform(math.log(1500), math.log(7500))))
    um = obj.get("user_metadata")
    if not isinstance(um, dict) or "history" in um:
        return False  # no metadata to grow, or already in the 8-10 KB tail
    notes, size = [], 0
    while size < target:
        n = NOTE_TEXT[: rng.randint(40, len(NOTE_TEXT))]
        notes.append({"at": obj["created_at"], "by": "support", "text": n})
        size += len(n) + 50
    um["notes"] = notes
    return True


MODEL_2026_SHARES = {"email": 0.025, "sms": 0.015, "linked": 0.04, "perm": 0.05, "org_role": 0.35}


class Model2026:
    """The 2026 reshaping, streamed: reshape() turns a user into a
    passwordless one or gives it a linked identity as it is generated;
    finish() then adds the APIs, the role permissions, the organization
    roles, and draws direct permissions and organization roles per user.
    Its own random sequence; fake_gen's helpers make the shapes."""

    def __init__(self, domain, seed, shares):
        self.rng = random.Random("a0snap-bench-2026/%s/%d" % (domain, seed))
        self.shares = shares
        self.counts = {"email": 0, "sms": 0, "sms_with_email": 0, "linked_database": 0, "linked_social": 0,
                       "users_with_permissions": 0, "permission_grants": 0, "org_roles": 0,
                       "members_with_org_roles": 0}

    def reshape(self, obj):
        """obj, or the user that replaces it (another user_id)."""
        s, rng = self.shares, self.rng
        r = rng.random()
        if r < s["email"]:
            self.counts["email"] += 1
            return fake_gen._to_email_user(rng, obj)
        if r < s["email"] + s["sms"]:
            self.counts["sms"] += 1
            new = fake_gen._to_sms_user(rng, obj, self.counts["sms"])
            self.counts["sms_with_email"] += "email" in new
            return new
        if obj["identities"][0]["connection"] in fake_gen.DATABASES and rng.random() < s["linked"]:
            n = self.counts["linked_database"] + self.counts["linked_social"] + 1
            sec = fake_gen._secondary_2026(rng, obj, n)
            obj["identities"].append(sec)
            self.counts["linked_social" if sec["isSocial"] else "linked_database"] += 1
        return obj

    def finish(self, t, uids):
        """APIs, role permissions and organization roles into t, then per
        user (in generation order) direct permissions and organization
        roles."""
        rng, s = self.rng, self.shares
        for ident, name, scopes in fake_gen.RESOURCE_SERVERS_2026:
            t.put_resource_server({"id": rand_hex(24, rng), "identifier": ident, "name": name,
                                   "scopes": [{"value": v, "description": d} for v, d in scopes]})
        by_name = {r["name"]: r for r in t.roles.values() if r["type"] == "tenant"}
        for rname, perms in fake_gen.ROLE_PERMISSIONS_2026.items():
            if rname in by_name:
                t.add_permissions(by_name[rname]["id"], perms, t.role_perms)
        org_roles = {}
        for oname, rname, desc in fake_gen.ORG_ROLES_2026:
            o = t.org_by_name(oname)
            if o is not None:
                r = t.add_role(rname, desc, rng=rng, rtype="organization", owner_id=o["id"])
                org_roles.setdefault(o["id"], []).append(r["id"])
                self.counts["org_roles"] += 1
        all_perms = [(ident, v) for ident, _, scopes in fake_gen.RESOURCE_SERVERS_2026 for v, _ in scopes]
        for uid in uids:
            if rng.random() < s["perm"]:
                own = [p for rid in t.user_roles.get(uid, []) for p in t.role_perms.get(rid, [])]
                picks = rng.sample(all_perms, 1 + (rng.random() < 0.4))
                if own and rng.random() < 0.5:  # also held through a role: two sources
                    picks.append(rng.choice(own))
                picks = list(dict.fromkeys(picks))
                t.add_permissions(uid, picks)
                self.counts["users_with_permissions"] += 1
                self.counts["permission_grants"] += len(picks)
            for oid in t.user_orgs.get(uid, []):
                if oid in org_roles and rng.random() < s["org_role"]:
                    t.org_members[oid][uid].append(rng.choice(org_roles[oid]))
                    self.counts["members_with_org_roles"] += 1


class StreamTenant(Tenant):
    """A fake_state.Tenant whose users go to a file as they are made."""

    def __init__(self, domain, out, mid_rng, mid_share, keep_objs, model=None):
        super().__init__(domain)
        self.users = set()  # fake_gen only asks "uid in users"
        self.out = out
        self.sizes = []
        self.per_conn = {}
        self.n = 0
        self.mid_rng = mid_rng
        self.mid_share = mid_share
        self.mid_users = 0
        self.objs = [] if keep_objs else None
        self.model = model
        self.uids = [] if model else None
        if model:
            self.add_connection("email", "email")
            self.add_connection("sms", "sms")

    def add_record(self, u):
        obj = u.obj
        if isinstance(obj.get("phone_number"), str):
            obj["phone_number"] = obj["phone_number"][:-4] + "%07d" % self.n
        if self.mid_share > 0 and add_mid_tail(self.mid_rng, obj, self.mid_share):
            self.mid_users += 1
        if self.model:
            # fake_gen grants roles and memberships to u.uid after this
            obj = u.obj = self.model.reshape(obj)
            u.uid = obj["user_id"]
            self.uids.append(u.uid)
        if self.objs is not None:
            self.objs.append(obj)
        line = {k: obj[k] for k in DUMP_FIELDS if k in obj}
        data = (compact(line) + "\n").encode("utf-8")
        self.out.write(data)
        self.users.add(u.uid)
        self.sizes.append(len(data) - 1)
        conn = obj["identities"][0]["connection"]
        self.per_conn[conn] = self.per_conn.get(conn, 0) + 1
        self.n += 1

    def finish_bulk(self):
        pass


def percentile(sorted_vals, p):
    if not sorted_vals:
        return 0
    k = min(len(sorted_vals) - 1, int(round(p / 100.0 * (len(sorted_vals) - 1))))
    return sorted_vals[k]


def role_ref(r):
    """A role as a member's role list names it (dump_grants.c dump_role_ref)."""
    ref = {"id": r["id"], "name": r["name"]}
    if r.get("type") == "organization":
        ref["type"] = "organization"
    return ref


def write_grants(t, path):
    """Every grant, as dump_grants.c (and dump_permissions.c) would put it
    in its sort. -> (role grants, memberships, memberships with roles,
    permission grants)."""
    roles = t.roles
    orgs = t.orgs
    n_roles = n_orgs = n_org_roles = n_perms = 0
    with open(path, "w", encoding="utf-8") as f:
        for rid, uids in roles_items(t):
            r = roles[rid]
            g = compact({"kind": "role", "id": rid, "name": r["name"]}, sort=True)
            for uid in sorted(uids):
                f.write("%s\t%s\n" % (uid, g))
                n_roles += 1
        for oid, members in t.org_members.items():
            o = orgs[oid]
            for uid in sorted(members):
                refs = [role_ref(roles[x]) for x in members[uid]]
                n_org_roles += 1 if refs else 0
                g = compact({"kind": "org", "id": oid, "name": o["name"], "roles": refs}, sort=True)
                f.write("%s\t%s\n" % (uid, g))
                n_orgs += 1
        for uid in sorted(t.user_perms):
            for ident, name in t.user_perms[uid]:
                g = compact({"kind": "perm", "resource_server_identifier": ident, "permission_name": name},
                            sort=True)
                f.write("%s\t%s\n" % (uid, g))
                n_perms += 1
    return n_roles, n_orgs, n_org_roles, n_perms


def roles_items(t):
    """The tenant roles and their users (organization roles are held in
    their organization only)."""
    return [(rid, t.role_users[rid]) for rid in t.roles if t.roles[rid].get("type") != "organization"]


def catalogue(t):
    """As a snapshot header holds it (common/dump_catalogue.c): an
    organization role names its owner ("owner": the organization's name)."""
    conns = [{"id": c["id"], "name": c["name"], "strategy": c["strategy"]} for c in t.connections]
    roles = []
    for r in t.roles.values():
        item = {"id": r["id"], "name": r["name"], "description": r.get("description", "")}
        if r.get("type") == "organization":
            item["type"] = "organization"
            item["owner"] = t.orgs[r["owner_id"]]["name"]
        roles.append(item)
    roles.sort(key=lambda r: (r["name"], r["id"]))
    orgs = sorted(({"id": o["id"], "name": o["name"], "display_name": o["display_name"]}
                   for o in t.orgs.values()), key=lambda o: o["name"])
    return {"connections": conns, "roles": roles, "organizations": orgs}


def apis(t):
    """The resource servers as /__load takes them."""
    return [{"id": rs["id"], "identifier": rs["identifier"], "name": rs["name"], "scopes": rs["scopes"]}
            for rs in t.resource_servers.values()]


def write_load_doc(t, path):
    """The tenant as POST /__load takes it (ids kept; a user's tenant roles
    by name, member roles by id: "admin" names a tenant role and two
    organizations' own roles)."""
    cat = catalogue(t)
    roles = t.roles
    doc_roles = []
    for r in cat["roles"]:
        item = {"id": r["id"], "name": r["name"], "description": r["description"]}
        full = roles[r["id"]]
        if full.get("type") == "organization":
            item["type"] = "organization"
            item["owner_id"] = full["owner_id"]
        perms = t.role_perms.get(r["id"])
        if perms:
            item["permissions"] = [{"resource_server_identifier": i, "permission_name": n} for i, n in perms]
        doc_roles.append(item)
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"connections":%s,"resource_servers":%s,"roles":%s,"organizations":%s,"users":[' % (
            compact([{"name": c["name"], "strategy": c["strategy"]} for c in cat["connections"]]),
            compact(apis(t)), compact(doc_roles),
            compact([dict({"id": o["id"], "name": o["name"], "display_name": o["display_name"]},
                          **{k: v for k, v in t.orgs[o["id"]].items() if k in ("branding", "metadata")})
                     for o in cat["organizations"]])))
        for i, obj in enumerate(t.objs):
            uid = obj["user_id"]
            u = dict(obj)
            u["roles"] = [roles[r]["name"] for r in t.user_roles.get(uid, [])]
            u["organizations"] = [{"name": t.orgs[o]["name"], "roles": list(t.org_members[o][uid])}
                                  for o in t.user_orgs.get(uid, [])]
            perms = t.user_perms.get(uid)
            if perms:
                u["permissions"] = [{"resource_server_identifier": i, "permission_name": n} for i, n in perms]
            f.write(("," if i else "") + compact(u))
        f.write("]}")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--domain", default="prod.bench.example")
    p.add_argument("--export", required=True)
    p.add_argument("--grants", required=True)
    p.add_argument("--catalogue")
    p.add_argument("--load-doc")
    p.add_argument("--mid-share", type=float, default=0.08)
    p.add_argument("--level", type=int, default=6, help="gzip level of the export file")
    p.add_argument("--apis")
    p.add_argument("--no-model-2026", action="store_true", help="fake_gen's tenant as before 2026")
    for k, v in MODEL_2026_SHARES.items():
        p.add_argument("--%s-share" % k.replace("_", "-"), type=float, default=v, dest="share_" + k)
    a = p.parse_args(argv)
    model = None if a.no_model_2026 else Model2026(
        a.domain, a.seed, {k: getattr(a, "share_" + k) for k in MODEL_2026_SHARES})

    t0 = time.monotonic()
    tmp_export = a.export + ".tmp"
    with open(tmp_export, "wb") as raw:
        # gzip runs beside the generator (the other core), not in Python.
        gz = subprocess.Popen(["gzip", "-%d" % a.level, "-n", "-c"], stdin=subprocess.PIPE, stdout=raw,
                              bufsize=1 << 20)
        mid_rng = random.Random("a0snap-bench-mid/%s/%d" % (a.domain, a.seed))
        t = StreamTenant(a.domain, gz.stdin, mid_rng, a.mid_share, a.load_doc is not None, model)
        saved = fake_gen.User
        fake_gen.User = _LightUser
        try:
            fake_gen.generate(t, a.seed, a.users)
        finally:
            fake_gen.User = saved
        gz.stdin.close()
        if gz.wait() != 0:
            sys.exit("bench_gen: gzip failed")
    os.replace(tmp_export, a.export)
    if model:
        model.finish(t, t.uids)
    n_roles, n_orgs, n_org_roles, n_perms = write_grants(t, a.grants + ".tmp")
    os.replace(a.grants + ".tmp", a.grants)
    if a.catalogue:
        with open(a.catalogue + ".tmp", "w", encoding="utf-8") as f:
            json.dump(catalogue(t), f, ensure_ascii=False)
        os.replace(a.catalogue + ".tmp", a.catalogue)
    if a.apis:
        with open(a.apis + ".tmp", "w", encoding="utf-8") as f:
            json.dump(apis(t), f, ensure_ascii=False)
        os.replace(a.apis + ".tmp", a.apis)
    if a.load_doc:
        write_load_doc(t, a.load_doc + ".tmp")
        os.replace(a.load_doc + ".tmp", a.load_doc)
    secs = time.monotonic() - t0

    sizes = sorted(t.sizes)
    total = sum(sizes)
    buckets = {}
    for lo, hi in SIZE_BUCKETS:
        label = "%d-%d" % (lo, hi) if hi < (1 << 30) else ">=%d" % lo
        buckets[label] = sum(1 for s in sizes if lo <= s < hi)
    users_with_roles = sum(1 for uid in t.user_roles if t.user_roles[uid])
    m26 = dict(model.counts, shares=model.shares) if model else None
    summary = {
        "bench": "gen",
        "users": t.n,
        "seed": a.seed,
        "domain": a.domain,
        "per_connection": t.per_conn,
        "export_bytes_raw": total + t.n,
        "export_bytes_gz": os.path.getsize(a.export),
        "profile_bytes": {"mean": round(total / max(1, t.n), 1), "p10": percentile(sizes, 10),
                          "p50": percentile(sizes, 50), "p90": percentile(sizes, 90),
                          "p99": percentile(sizes, 99), "max": sizes[-1] if sizes else 0,
                          "buckets": buckets,
                          "share_8k_plus": round(sum(1 for s in sizes if s >= 8000) / max(1, t.n), 4)},
        "mid_share": a.mid_share,
        "mid_users": t.mid_users,
        "roles": len(t.roles),
        "organizations": len(t.orgs),
        "users_with_roles": users_with_roles,
        "role_grants": n_roles,
        "memberships": n_orgs,
        "members_with_org_roles": n_org_roles,
        "permission_grants": n_perms,
        "model_2026": m26,
        "seconds": round(secs, 2),
    }
    print("users %d (%s)" % (t.n, ", ".join("%s %d" % kv for kv in sorted(t.per_conn.items()))))
    pb = summary["profile_bytes"]
    print("profile bytes (export line): mean %.0f, p10 %d, p50 %d, p90 %d, p99 %d, max %d; >= 8 KB: %.2f%%"
          % (pb["mean"], pb["p10"], pb["p50"], pb["p90"], pb["p99"], pb["max"], 100 * pb["share_8k_plus"]))
    print("middle tier: %d users got 1.5-7.5 KB of notes (share %.2f)" % (t.mid_users, a.mid_share))
    print("profile size buckets: %s" % ", ".join("%s: %d" % kv for kv in buckets.items()))
    print("roles %d, organizations %d; users with roles %d, role grants %d, memberships %d "
          "(with roles there %d)" % (len(t.roles), len(t.orgs), users_with_roles, n_roles, n_orgs, n_org_roles))
    if m26:
        print("2026 model: passwordless %d email + %d sms (%d of them with an email); linked accounts %d "
              "(database %d, social %d); direct permissions: %d users, %d grants; organization roles %d, "
              "held by %d members" % (
                  m26["email"], m26["sms"], m26["sms_with_email"], m26["linked_database"] + m26["linked_social"],
                  m26["linked_database"], m26["linked_social"], m26["users_with_permissions"],
                  m26["permission_grants"], m26["org_roles"], m26["members_with_org_roles"]))
    print("export file %.1f MB raw, %.1f MB gzip; %.1f s"
          % (summary["export_bytes_raw"] / 1e6, summary["export_bytes_gz"] / 1e6, secs))
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
