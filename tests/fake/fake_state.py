"""The tenant: connections, users, roles, organizations and memberships.

Memory matters (a benchmark holds 1M users): each user is a small slotted
record holding its full profile as compact JSON bytes (what GET /users/{id}
returns) plus the few keys the indexes need.  A profile is parsed only when
a request needs it; an update swaps the bytes, so a job that copied the list
of records keeps a point-in-time view for free.

All access goes through Tenant.lock (an RLock); callers take it around any
sequence of calls that must be consistent.
"""

import bisect
import json
import random
import threading

from fake_util import ApiError, dumps, dumps_sorted, new_id, rand_hex

DEFAULT_CONNECTIONS = [
    ("Username-Password-Authentication", "auth0"),
    ("legacy-db", "auth0"),
    ("google-oauth2", "google-oauth2"),
    ("acme-saml", "samlp"),
]

DATABASE_STRATEGIES = ("auth0",)
PASSWORDLESS_STRATEGIES = ("email", "sms")
SOCIAL_STRATEGIES = ("google-oauth2", "facebook", "github", "twitter", "apple", "windowslive", "linkedin")
ENTERPRISE_STRATEGIES = ("samlp", "waad", "adfs", "ad", "oidc", "okta", "pingfederate", "google-apps")


def provider_of(strategy):
    """The identity provider of a connection's users: "auth0" for database
    connections, else the strategy ("email", "sms", "google-oauth2", "samlp")."""
    return "auth0" if strategy in DATABASE_STRATEGIES else strategy


def default_options(name, strategy):
    if strategy == "auth0":
        return {
            "mfa": {"active": True, "return_enroll_settings": True},
            "validation": {"username": {"max": 15, "min": 1}},
            "import_mode": False,
            "passwordPolicy": "good",
            "strategy_version": 2,
            "requires_username": name == "legacy-db",
            "brute_force_protection": True,
            "password_complexity_options": {"min_length": 8},
            "enabledDatabaseCustomization": False,
        }
    if strategy == "google-oauth2":
        return {"email": True, "scope": ["email", "profile"], "profile": True}
    if strategy == "samlp":
        return {
            "signInEndpoint": "https://idp.acme.example/saml/sso",
            "tenant_domain": "acme.example",
            "domain_aliases": ["acme.example"],
            "signatureAlgorithm": "rsa-sha256",
        }
    # passwordless: the option keys of recorded email / sms connections
    # (go-auth0 TestConnectionManager_Read, 2025-05), without credentials
    if strategy == "email":
        return {
            "name": name,
            "email": {"syntax": "liquid", "from": "{{ application.name }} <root@auth0.com>",
                      "subject": "Welcome to {{ application.name }}",
                      "body": "<html><body>Your code is {{ code }}</body></html>"},
            "totp": {"time_step": 180, "length": 6},
            "disable_signup": False,
            "brute_force_protection": True,
        }
    if strategy == "sms":
        return {
            "name": name,
            "from": "+15550100000",
            "syntax": "md_with_macros",
            "template": "Your verification code is: @@password@@",
            "totp": {"time_step": 180, "length": 6},
            "messaging_service_sid": None,
            "disable_signup": False,
            "brute_force_protection": True,
        }
    return {}


def identity_key(provider, user_id):
    """How an identity is named across the tenant: "provider|user_id"."""
    return "%s|%s" % (provider, user_id)


def _secondary(ident):
    """(key, connection, email, username, phone) of a linked identity, from
    its profileData (email and username lower-case)."""
    pd = ident.get("profileData") or {}
    e, u, p = pd.get("email"), pd.get("username"), pd.get("phone_number")
    return (identity_key(ident.get("provider"), ident.get("user_id")), ident.get("connection"),
            e.lower() if isinstance(e, str) else None, u.lower() if isinstance(u, str) else None,
            p if isinstance(p, str) else None)


class User:
    """One user: the profile as JSON bytes plus index keys.  secs holds the
    linked (secondary) identities' index keys, None for most users."""

    __slots__ = ("uid", "conn", "email", "username", "phone", "blob", "secs")

    def __init__(self, obj):
        self.set(obj)

    def set(self, obj):
        self.uid = obj["user_id"]
        ids = obj.get("identities") or [{}]
        self.conn = ids[0].get("connection")
        e = obj.get("email")
        self.email = e.lower() if isinstance(e, str) else None
        u = obj.get("username")
        self.username = u.lower() if isinstance(u, str) else None
        p = obj.get("phone_number")
        self.phone = p if isinstance(p, str) else None
        self.secs = tuple(_secondary(i) for i in ids[1:]) if len(ids) > 1 else None
        self.blob = dumps(obj).encode("utf-8")

    def obj(self):
        return json.loads(self.blob)


def _idx_add(d, key, uid):
    if key is None:
        return
    cur = d.get(key)
    if cur is None:
        d[key] = uid
    elif isinstance(cur, str):
        d[key] = [cur, uid]
    else:
        cur.append(uid)


def _idx_del(d, key, uid):
    if key is None:
        return
    cur = d.get(key)
    if cur is None:
        return
    if isinstance(cur, str):
        if cur == uid:
            del d[key]
    else:
        if uid in cur:
            cur.remove(uid)
        if len(cur) == 1:
            d[key] = cur[0]
        elif not cur:
            del d[key]


def _idx_get(d, key):
    cur = d.get(key)
    if cur is None:
        return []
    if isinstance(cur, str):
        return [cur]
    return list(cur)


class Tenant:
    def __init__(self, domain, client_id=""):
        self.lock = threading.RLock()
        self.domain = domain
        self.client_id = client_id
        self.reset()
        for name, strategy in DEFAULT_CONNECTIONS:
            self.add_connection(name, strategy)

    def reset(self):
        self.connections = []  # list of dicts, creation order
        self.conn_by_name = {}
        self.conn_by_id = {}
        self.users = {}
        self.passwords = {}  # uid -> bcrypt hash given by a bulk import (never in /__state)
        self.sorted_ids = []
        self.idx_email = {}
        self.idx_username = {}
        self.idx_phone = {}
        self.idx_ident = {}  # "provider|user_id" of a linked identity -> its primary's uid
        self.idx_linked = {}  # (connection, "email"|"username"|"phone", value) -> primary uid(s)
        self.roles = {}  # id -> {id,name,description,type[,owner_id]}
        self.role_perms = {}  # role id -> list((resource server identifier, permission name))
        self.role_users = {}  # role id -> set(uid)
        self.user_roles = {}  # uid -> list(role id)
        self.orgs = {}  # id -> org object
        self.org_members = {}  # org id -> {uid: list(role id)}
        self.user_orgs = {}  # uid -> list(org id)
        self.resource_servers = {}  # identifier -> {id,identifier,name,scopes:[{value,description}]}
        self.user_perms = {}  # uid -> list((resource server identifier, permission name))
        self._sorted_cache = {}  # ("role"|"org", id) -> sorted uid list

    # --- connections -----------------------------------------------------
    def add_connection(self, name, strategy, cid=None, options=None, display_name=None):
        if cid is None:
            cid = new_id("con_", random.Random("%s/%s" % (self.domain, name)))
        if cid in self.conn_by_id or name in self.conn_by_name:
            raise ApiError(400, "duplicate connection '%s'" % name)
        if options is None:
            options = default_options(name, strategy)
        c = {
            "id": cid,
            "name": name,
            "strategy": strategy,
            "options": options,
            # recorded: database, SAML and passwordless connections list themselves
            "realms": [name] if strategy in ("auth0", "samlp", "email", "sms") else [],
            "is_domain_connection": False,
            # recorded on every connection since 2026
            "authentication": {"active": True},
            "connected_accounts": {"active": False},
        }
        if display_name is not None:
            c["display_name"] = display_name
        self.connections.append(c)
        self.conn_by_name[name] = c
        self.conn_by_id[cid] = c
        return c

    def remove_connection(self, cid):
        c = self.conn_by_id.pop(cid, None)
        if c is None:
            raise ApiError(400, "unknown connection '%s'" % cid)
        self.connections.remove(c)
        del self.conn_by_name[c["name"]]

    def is_database(self, conn):
        return conn is not None and conn["strategy"] in DATABASE_STRATEGIES

    def is_passwordless(self, conn):
        return conn is not None and conn["strategy"] in PASSWORDLESS_STRATEGIES

    def requires_username(self, conn):
        return bool(conn and conn.get("options", {}).get("requires_username"))

    # --- users -----------------------------------------------------------
    def get(self, uid):
        return self.users.get(uid)

    def get_obj(self, uid):
        u = self.users.get(uid)
        return u.obj() if u else None

    def add_user(self, obj):
        u = User(obj)
        if u.uid in self.users:
            raise ValueError("duplicate user_id %s" % u.uid)
        self.users[u.uid] = u
        bisect.insort(self.sorted_ids, u.uid)
        self._index(u)
        return u

    def bulk_add(self, objs):
        """Add many users at once (generator / load): one sort at the end."""
        for obj in objs:
            u = User(obj)
            if u.uid in self.users:
                raise ValueError("duplicate user_id %s" % u.uid)
            self.users[u.uid] = u
            self._index(u)
        self.sorted_ids = sorted(self.users)

    def add_record(self, u):
        """Add a prebuilt User (generator fast path, no sort)."""
        self.users[u.uid] = u
        self._index(u)

    def finish_bulk(self):
        self.sorted_ids = sorted(self.users)

    def _index(self, u):
        _idx_add(self.idx_email, u.email, u.uid)
        _idx_add(self.idx_username, u.username, u.uid)
        _idx_add(self.idx_phone, u.phone, u.uid)
        for key, conn, email, uname, phone in u.secs or ():
            self.idx_ident[key] = u.uid
            for kind, v in (("email", email), ("username", uname), ("phone", phone)):
                if v is not None:
                    _idx_add(self.idx_linked, (conn, kind, v), u.uid)

    def _unindex(self, u):
        _idx_del(self.idx_email, u.email, u.uid)
        _idx_del(self.idx_username, u.username, u.uid)
        _idx_del(self.idx_phone, u.phone, u.uid)
        for key, conn, email, uname, phone in u.secs or ():
            if self.idx_ident.get(key) == u.uid:
                del self.idx_ident[key]
            for kind, v in (("email", email), ("username", uname), ("phone", phone)):
                if v is not None:
                    _idx_del(self.idx_linked, (conn, kind, v), u.uid)

    def replace_user(self, obj):
        u = self.users[obj["user_id"]]
        self._unindex(u)
        u.set(obj)
        self._index(u)

    def delete_user(self, uid):
        u = self.users.pop(uid, None)
        if u is None:
            return False
        self._unindex(u)
        i = bisect.bisect_left(self.sorted_ids, uid)
        if i < len(self.sorted_ids) and self.sorted_ids[i] == uid:
            del self.sorted_ids[i]
        for rid in self.user_roles.pop(uid, []):
            self.role_users.get(rid, set()).discard(uid)
            self._sorted_cache.pop(("role", rid), None)
        for oid in self.user_orgs.pop(uid, []):
            self.org_members.get(oid, {}).pop(uid, None)
            self._sorted_cache.pop(("org", oid), None)
        self.user_perms.pop(uid, None)
        return True

    def find(self, kind, value, conn=None):
        """uids whose email/username/phone equals value (case-insensitive
        for email and username), optionally only in connection conn."""
        if value is None:
            return []
        if kind == "email":
            uids = _idx_get(self.idx_email, value.lower())
        elif kind == "username":
            uids = _idx_get(self.idx_username, value.lower())
        else:
            uids = _idx_get(self.idx_phone, value)
        if conn is not None:
            uids = [x for x in uids if self.users[x].conn == conn]
        return uids

    def find_linked(self, kind, value, conn):
        """Primary uids holding a linked identity of connection conn whose
        email/username/phone (from its profileData) equals value: a linked
        database account still exists in its connection, so its email and
        username stay taken there (unlinking brings it back, D-LINK)."""
        if value is None:
            return []
        if kind in ("email", "username"):
            value = value.lower()
        return _idx_get(self.idx_linked, (conn, kind, value))

    def identity_owner(self, key):
        """The uid holding identity "provider|user_id": the user itself, or
        the primary it is linked to; None if no one holds it."""
        if key in self.users:
            return key
        return self.idx_ident.get(key)

    # --- roles -----------------------------------------------------------
    def add_role(self, name, description=None, rid=None, rng=None, rtype="tenant", owner_id=None):
        """A role: tenant-wide, or owned by organization owner_id.  A role
        created without a description holds "" (what GET answers, recorded)."""
        if rid is None:
            rid = new_id("rol_", rng)
        if rid in self.roles:
            raise ApiError(400, "duplicate role id '%s'" % rid)
        r = {"id": rid, "name": name, "description": description if description is not None else "", "type": rtype}
        if rtype == "organization":
            r["owner_id"] = owner_id
        self.roles[rid] = r
        self.role_users[rid] = set()
        return r

    def org_role_owned_elsewhere(self, r, oid):
        """True if r is an organization role owned by another organization
        than oid (it cannot be granted in oid)."""
        return r.get("type") == "organization" and r.get("owner_id") != oid

    def role_by_name(self, name, owner_id=None):
        """The tenant role named name, or with owner_id the role of that
        organization named name (names are unique per owner)."""
        for r in self.roles.values():
            if r["name"] == name and r.get("owner_id") == owner_id:
                return r
        return None

    def remove_role(self, rid):
        if rid not in self.roles:
            raise ApiError(400, "unknown role '%s'" % rid)
        del self.roles[rid]
        self.role_perms.pop(rid, None)
        for uid in self.role_users.pop(rid, set()):
            cur = self.user_roles.get(uid, [])
            if rid in cur:
                cur.remove(rid)
            if not cur:
                self.user_roles.pop(uid, None)
        for members in self.org_members.values():
            for rids in members.values():
                if rid in rids:
                    rids.remove(rid)
        self._sorted_cache.pop(("role", rid), None)

    def assign_roles(self, uid, rids):
        cur = self.user_roles.setdefault(uid, [])
        for rid in rids:
            if rid not in cur:
                cur.append(rid)
                self.role_users[rid].add(uid)
                self._sorted_cache.pop(("role", rid), None)

    def remove_roles(self, uid, rids):
        cur = self.user_roles.get(uid, [])
        for rid in rids:
            if rid in cur:
                cur.remove(rid)
                self.role_users[rid].discard(uid)
                self._sorted_cache.pop(("role", rid), None)
        if not cur:
            self.user_roles.pop(uid, None)

    def role_user_ids(self, rid):
        key = ("role", rid)
        s = self._sorted_cache.get(key)
        if s is None:
            s = sorted(self.role_users.get(rid, ()))
            self._sorted_cache[key] = s
        return s

    # --- organizations ---------------------------------------------------
    def add_org(self, name, display_name=None, oid=None, rng=None, extra=None):
        if oid is None:
            oid = new_id("org_", rng)
        o = {"id": oid, "name": name, "display_name": display_name or name}
        if extra:
            o.update(extra)
        self.orgs[oid] = o
        self.org_members[oid] = {}
        return o

    def org_by_name(self, name):
        for o in self.orgs.values():
            if o["name"] == name:
                return o
        return None

    def add_members(self, oid, uids):
        members = self.org_members[oid]
        for uid in uids:
            if uid not in members:
                members[uid] = []
                self.user_orgs.setdefault(uid, []).append(oid)
        self._sorted_cache.pop(("org", oid), None)

    def remove_members(self, oid, uids):
        members = self.org_members[oid]
        for uid in uids:
            if members.pop(uid, None) is not None:
                lst = self.user_orgs.get(uid, [])
                if oid in lst:
                    lst.remove(oid)
                if not lst:
                    self.user_orgs.pop(uid, None)
        self._sorted_cache.pop(("org", oid), None)

    def remove_org(self, oid):
        if oid not in self.orgs:
            raise ApiError(400, "unknown organization '%s'" % oid)
        self.remove_members(oid, list(self.org_members[oid]))
        del self.orgs[oid]
        del self.org_members[oid]
        for rid in [r["id"] for r in self.roles.values() if r.get("owner_id") == oid]:
            self.remove_role(rid)

    # --- resource servers and direct permissions ------------------------
    def put_resource_server(self, rs):
        """Add or replace a resource server {identifier, name, id?, scopes?};
        permissions of scopes it no longer has are dropped."""
        if not isinstance(rs, dict) or not rs.get("identifier"):
            raise ApiError(400, "resource server needs an identifier")
        old = self.resource_server(rs.get("id")) or self.resource_servers.get(rs["identifier"])
        doc = {
            "id": rs.get("id") or (old or {}).get("id") or rand_hex(24),
            "identifier": rs["identifier"],
            "name": rs.get("name", rs["identifier"]),
            "scopes": [{"value": x["value"], "description": x.get("description", "")} for x in rs.get("scopes", [])],
        }
        if old is not None:
            del self.resource_servers[old["identifier"]]
        self.resource_servers[doc["identifier"]] = doc
        values = {x["value"] for x in doc["scopes"]}
        was = old["identifier"] if old is not None else doc["identifier"]
        for holders in (self.user_perms, self.role_perms):
            for key in list(holders):
                keep = []
                for ident, name in holders[key]:
                    if ident == was:
                        if name not in values:
                            continue
                        ident = doc["identifier"]
                    keep.append((ident, name))
                if keep:
                    holders[key] = keep
                else:
                    del holders[key]
        return doc

    def resource_server(self, key):
        """By id or identifier."""
        if key is None:
            return None
        if key in self.resource_servers:
            return self.resource_servers[key]
        for rs in self.resource_servers.values():
            if rs["id"] == key:
                return rs
        return None

    def remove_resource_server(self, key):
        rs = self.resource_server(key)
        if rs is None:
            raise ApiError(400, "unknown resource server '%s'" % key)
        del self.resource_servers[rs["identifier"]]
        for holders in (self.user_perms, self.role_perms):
            for key in list(holders):
                holders[key] = [p for p in holders[key] if p[0] != rs["identifier"]]
                if not holders[key]:
                    del holders[key]

    def add_permissions(self, uid, perms, holders=None):
        """Direct permissions of user uid (or, with holders=role_perms, the
        permissions of role uid)."""
        holders = self.user_perms if holders is None else holders
        cur = holders.setdefault(uid, [])
        for p in perms:
            if p not in cur:
                cur.append(p)

    def remove_permissions(self, uid, perms, holders=None):
        holders = self.user_perms if holders is None else holders
        cur = [p for p in holders.get(uid, []) if p not in perms]
        if cur:
            holders[uid] = cur
        else:
            holders.pop(uid, None)

    def effective_permissions(self, uid):
        """Every permission user uid holds: {(api, name): [sources]}, the
        direct grant first, then each tenant role that carries it (by role
        name).  Organization roles never grant tenant permissions."""
        out = {}
        for p in self.user_perms.get(uid, []):
            out.setdefault(p, []).append({"source_id": "", "source_name": "", "source_type": "DIRECT"})
        roles = sorted((self.roles[r] for r in self.user_roles.get(uid, [])), key=lambda r: (r["name"], r["id"]))
        for r in roles:
            for p in self.role_perms.get(r["id"], []):
                out.setdefault(p, []).append({"source_id": r["id"], "source_name": r["name"], "source_type": "ROLE"})
        return out

    def org_member_ids(self, oid):
        key = ("org", oid)
        s = self._sorted_cache.get(key)
        if s is None:
            s = sorted(self.org_members.get(oid, {}))
            self._sorted_cache[key] = s
        return s

    # --- whole-tenant views ----------------------------------------------
    def state(self):
        """The /__state document (a dict; dump it with sorted keys)."""
        rname = {rid: r["name"] for rid, r in self.roles.items()}
        roles = []
        for r in self.roles.values():
            r = dict(r)
            if self.role_perms.get(r["id"]):
                r["permissions"] = [{"resource_server_identifier": a, "permission_name": b}
                                    for a, b in sorted(self.role_perms[r["id"]])]
            roles.append(r)
        doc = {
            "domain": self.domain,
            "connections": [{"id": c["id"], "name": c["name"], "strategy": c["strategy"]} for c in self.connections],
            "roles": sorted(roles, key=lambda r: (r["name"], r["id"])),
        }
        if self.resource_servers:
            doc["resource_servers"] = sorted((json.loads(dumps(rs)) for rs in self.resource_servers.values()),
                                             key=lambda rs: rs["identifier"])
        own = {}  # organization id -> names of the roles it owns
        for r in self.roles.values():
            if r.get("owner_id"):
                own.setdefault(r["owner_id"], set()).add(r["name"])
        orgs = []
        for oid, o in self.orgs.items():
            members = [self._member_state({"user_id": uid}, rids, own.get(oid, ()))
                       for uid, rids in sorted(self.org_members[oid].items())]
            orgs.append({"id": oid, "name": o["name"], "display_name": o.get("display_name", o["name"]), "members": members})
        doc["organizations"] = sorted(orgs, key=lambda o: (o["name"], o["id"]))
        users = []
        for uid in self.sorted_ids:
            obj = self.users[uid].obj()
            obj["roles"] = sorted(rname[r] for r in self.user_roles.get(uid, []))
            uo = []
            for oid in self.user_orgs.get(uid, []):
                o = self.orgs[oid]
                uo.append(self._member_state({"name": o["name"]}, self.org_members[oid].get(uid, []), own.get(oid, ())))
            obj["organizations"] = sorted(uo, key=lambda x: x["name"])
            if uid in self.user_perms:
                obj["permissions"] = [{"resource_server_identifier": a, "permission_name": b}
                                      for a, b in sorted(self.user_perms[uid])]
            users.append(obj)
        doc["users"] = users
        return doc

    def _member_state(self, out, rids, own_names=()):
        """A membership in /__state: roles as names and, when one of them is
        an organization role or a tenant role named like one of the
        organization's own roles (own_names), role_refs [{name, type, owner}]
        in the same order (owner: the owning organization's name, null for
        tenant roles), so an organization's "admin" and the tenant's "admin"
        differ, and /__load reads the names back as they were."""
        refs = sorted(({"name": self.roles[r]["name"], "type": self.roles[r]["type"],
                        "owner": self.orgs[self.roles[r]["owner_id"]]["name"] if self.roles[r].get("owner_id") else None}
                       for r in rids), key=lambda x: (x["name"], x["type"], x["owner"] or ""))
        out["roles"] = [x["name"] for x in refs]
        if any(x["type"] == "organization" or x["name"] in own_names for x in refs):
            out["role_refs"] = refs
        return out

    def state_bytes(self):
        return dumps_sorted(self.state()).encode("utf-8")

    def load(self, doc):
        """Replace the tenant with a /__state-shaped document; with
        "merge": true add to it instead (after "remove": {organizations,
        roles, connections, resource_servers, users: [ids]})."""
        if not isinstance(doc, dict):
            raise ApiError(400, "state document must be an object")
        merge = bool(doc.get("merge"))
        if merge:
            rm = doc.get("remove") or {}
            for uid in rm.get("users", []):
                self.delete_user(uid)
            for oid in rm.get("organizations", []):
                self.remove_org(oid)
            for rid in rm.get("roles", []):
                self.remove_role(rid)
            for cid in rm.get("connections", []):
                self.remove_connection(cid)
            for key in rm.get("resource_servers", []):
                self.remove_resource_server(key)
        else:
            if "remove" in doc:
                raise ApiError(400, "remove needs merge")
            self.reset()
        conns = doc.get("connections")
        if conns is None:
            if not merge:
                for name, strategy in DEFAULT_CONNECTIONS:
                    self.add_connection(name, strategy)
        else:
            for c in conns:
                if "name" not in c or "strategy" not in c:
                    raise ApiError(400, "connection needs name and strategy")
                opts = c.get("options")
                if opts is None:
                    opts = default_options(c["name"], c["strategy"])
                self.add_connection(c["name"], c["strategy"], c.get("id"), opts, c.get("display_name"))
        for rs in doc.get("resource_servers", []):
            self.put_resource_server(rs)
        for o in doc.get("organizations", []):
            if self.org_by_name(o["name"]):
                raise ApiError(400, "duplicate organization name '%s'" % o["name"])
            if o.get("id") in self.orgs:
                raise ApiError(400, "duplicate organization id '%s'" % o["id"])
            extra = {k: v for k, v in o.items() if k not in ("id", "name", "display_name", "members")}
            self.add_org(o["name"], o.get("display_name"), o.get("id"), extra=extra)
        for r in doc.get("roles", []):
            rtype = r.get("type", "tenant")
            owner = r.get("owner_id")
            if rtype not in ("tenant", "organization") or (rtype == "organization") != (owner is not None):
                raise ApiError(400, "role '%s': type organization needs owner_id, tenant none" % r.get("name"))
            if owner is not None and owner not in self.orgs:
                raise ApiError(400, "role '%s': unknown owner organization '%s'" % (r.get("name"), owner))
            if self.role_by_name(r["name"], owner):
                raise ApiError(400, "duplicate role name '%s'" % r["name"])
            role = self.add_role(r["name"], r.get("description"), r.get("id"), rtype=rtype, owner_id=owner)
            perms = [self._load_perm(p, "role '%s'" % r["name"]) for p in r.get("permissions", [])]
            if perms:
                self.add_permissions(role["id"], perms, self.role_perms)
        objs = []
        memberships = []  # (uid, roles, orgs, permissions)
        seen_idents = set()  # linked identities of this document
        for u in doc.get("users", []):
            u = dict(u)
            roles = u.pop("roles", [])
            uorgs = u.pop("organizations", [])
            perms = u.pop("permissions", [])
            conn_name = u.pop("connection", None)
            if "user_id" not in u:
                raise ApiError(400, "user without user_id")
            if not u.get("identities"):
                if conn_name is None:
                    raise ApiError(400, "user '%s' needs identities or connection" % u["user_id"])
                c = self.conn_by_name.get(conn_name)
                if c is None:
                    raise ApiError(400, "unknown connection '%s'" % conn_name)
                provider, _, rest = u["user_id"].partition("|")
                u["identities"] = [{"connection": conn_name, "user_id": rest, "provider": provider, "isSocial": c["strategy"] in SOCIAL_STRATEGIES}]
            else:
                u["identities"] = self._load_secondaries(u["user_id"], u["identities"], seen_idents)
            objs.append(u)
            memberships.append((u["user_id"], roles, uorgs, perms))
        for obj in objs:
            uid = obj["user_id"]
            if uid in seen_idents or uid in self.idx_ident:
                raise ApiError(400, "user '%s' is also a linked identity" % uid)
        for key in seen_idents:
            if key in self.users or key in self.idx_ident:
                raise ApiError(400, "linked identity '%s' is already a user or linked" % key)
        try:
            if merge:
                for obj in objs:
                    self.add_user(obj)
            else:
                self.bulk_add(objs)
        except ValueError as e:
            raise ApiError(400, str(e))
        for uid, roles, uorgs, perms in memberships:
            rids = []
            for name in roles:
                r = self._role_ref(name)
                if r is None:
                    raise ApiError(400, "user '%s' has unknown role '%s'" % (uid, name))
                if r["type"] == "organization":
                    raise ApiError(400, "user '%s': organization role '%s' is no tenant role" % (uid, name))
                rids.append(r["id"])
            if rids:
                self.assign_roles(uid, rids)
            for uo in uorgs:
                self._load_member(uo["name"], uid, uo.get("roles", []), uo.get("role_refs"))
            for p in perms:
                self.add_permissions(uid, [self._load_perm(p, "user '%s'" % uid)])
        for o in doc.get("organizations", []):
            for m in o.get("members", []):
                self._load_member(o["name"], m["user_id"], m.get("roles", []), m.get("role_refs"))

    def _load_perm(self, p, who):
        rs = self.resource_servers.get(p.get("resource_server_identifier")) if isinstance(p, dict) else None
        if rs is None or p.get("permission_name") not in {x["value"] for x in rs["scopes"]}:
            raise ApiError(400, "%s has unknown permission %s" % (who, dumps(p)))
        return (rs["identifier"], p["permission_name"])

    def _load_secondaries(self, uid, idents, seen):
        """Check a loaded user's identities: every linked (secondary) one
        names a known connection, its provider ("auth0" for databases, else
        the strategy) and a user_id, and is held by no one else; isSocial is
        filled in when missing.  profileData is kept as given."""
        if not isinstance(idents, list) or not all(isinstance(i, dict) for i in idents):
            raise ApiError(400, "user '%s': identities must be an array of objects" % uid)
        out = [idents[0]]
        for ident in idents[1:]:
            c = self.conn_by_name.get(ident.get("connection"))
            if c is None:
                raise ApiError(400, "user '%s': linked identity in unknown connection '%s'" % (uid, ident.get("connection")))
            if ident.get("provider") != provider_of(c["strategy"]) or ident.get("user_id") in (None, ""):
                raise ApiError(400, "user '%s': linked identity %s needs provider '%s' and a user_id"
                               % (uid, dumps(ident), provider_of(c["strategy"])))
            pd = ident.get("profileData")
            if pd is not None and not isinstance(pd, dict):
                raise ApiError(400, "user '%s': profileData must be an object" % uid)
            key = identity_key(ident["provider"], ident["user_id"])
            if key in seen:
                raise ApiError(400, "linked identity '%s' appears twice" % key)
            seen.add(key)
            ident = dict(ident)
            ident.setdefault("isSocial", c["strategy"] in SOCIAL_STRATEGIES)
            out.append(ident)
        return out

    def _role_ref(self, ref, owner_id=None):
        """A role named ref (the organization's own role first, then the
        tenant role), or with id ref."""
        if ref in self.roles:
            return self.roles[ref]
        return (owner_id and self.role_by_name(ref, owner_id)) or self.role_by_name(ref)

    def _load_member(self, org_name, uid, role_names, role_refs=None):
        """A membership with its roles: role_refs [{name, type, owner?}]
        (as /__state shows them) when given, else role_names (names looked
        up among the organization's own roles first, or role ids)."""
        o = self.org_by_name(org_name)
        if o is None:
            raise ApiError(400, "unknown organization '%s'" % org_name)
        if uid not in self.users:
            raise ApiError(400, "organization member '%s' is not a user" % uid)
        self.add_members(o["id"], [uid])
        cur = self.org_members[o["id"]][uid]
        found = []
        if role_refs is not None:
            for ref in role_refs:
                if not isinstance(ref, dict) or ref.get("type", "tenant") not in ("tenant", "organization"):
                    raise ApiError(400, "member '%s': bad role_refs item %s" % (uid, dumps(ref)))
                if ref.get("type", "tenant") == "tenant":
                    r = self.role_by_name(ref.get("name"))
                else:
                    owner = self.org_by_name(ref.get("owner") or org_name)
                    r = owner and self.role_by_name(ref.get("name"), owner["id"])
                if not r:
                    raise ApiError(400, "member '%s' has unknown role %s" % (uid, dumps(ref)))
                found.append(r)
        else:
            for name in role_names:
                r = self._role_ref(name, o["id"])
                if r is None:
                    raise ApiError(400, "member '%s' has unknown role '%s'" % (uid, name))
                found.append(r)
        for r in found:
            if self.org_role_owned_elsewhere(r, o["id"]):
                raise ApiError(400, "member '%s' of '%s': role '%s' belongs to another organization" % (uid, org_name, r["name"]))
            if r["id"] not in cur:
                cur.append(r["id"])
