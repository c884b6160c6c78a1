"""Management API routes: users, connections, roles, organizations, jobs.

Each handler takes a Req and returns (status, body) where body is a JSON
value, raw bytes, or None (empty body); errors are raised as ApiError.
Scope requirements live in the ROUTES table next to each path.
"""

import base64
import json
import re
import urllib.parse

from fake_lucene import LuceneError, compile_query, values_at
from fake_state import ENTERPRISE_STRATEGIES, identity_key
from fake_util import (
    ApiError,
    bad_body,
    bad_query,
    check_body,
    gravatar,
    iso,
    rand_hex,
)

PAGING_CAP_MSG = (
    "You can only page through the first 1000 records. "
    "See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation."
)
OFFSET_CAP_MSG = "You can only page through the first 1000 records. Use checkpoint pagination (from/take) instead."

# Passwordless users (unrecorded; messages chosen, see README "Passwordless").
PASSWORDLESS_PASSWORD_MSG = "Password is only valid for auth0 connection strategy."  # the OAS's words for `password`
PASSWORDLESS_USERNAME_MSG = "Cannot set username for connection without requires_username."  # an OAS 400 text
# no gravatar without an email: the picture of a user created without one
DEFAULT_PICTURE = "https://cdn.auth0.com/avatars/default.png"


class Req:
    def __init__(self, method, path, params, body, ctype, scopes, headers):
        self.method = method
        self.path = path
        self.params = params  # name -> list of str (array keys normalized)
        self.body = body
        self.ctype = (ctype or "").split(";")[0].strip().lower()
        self.raw_ctype = ctype or ""
        self.scopes = scopes
        self.headers = headers
        self.args = ()
        self.job_id = None

    def json(self, allow_form=True):
        if self.ctype == "application/x-www-form-urlencoded" and allow_form:
            out = {}
            for k, v in urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True):
                out[k] = v
            return out
        if self.ctype not in ("application/json", "") and not self.ctype.endswith("+json"):
            raise ApiError(415, "Unsupported Media Type")
        if not self.body.strip():
            raise ApiError(400, "Invalid request payload JSON format", "invalid_body")
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "Invalid request payload JSON format", "invalid_body")


# --- query parameter parsing ----------------------------------------------


def query(req, spec):
    """Parse req.params against spec {name: (type, opts)}; unknown -> 400."""
    out = {}
    for name, vals in req.params.items():
        if name not in spec:
            raise bad_query("Additional properties not allowed: %s" % name)
    for name, (typ, opts) in spec.items():
        vals = req.params.get(name)
        if vals is None:
            if "default" in opts:
                out[name] = opts["default"]
            continue
        if typ == "array":
            out[name] = [v for v in vals]
            enum = opts.get("enum")
            for v in vals:
                if enum and v not in enum:
                    raise bad_query("No enum match for: \"%s\"" % v, name)
            continue
        v = vals[-1]
        if typ == "int":
            if not re.match(r"^-?\d+$", v):
                raise bad_query("Expected type integer but found type string", name)
            n = int(v)
            if "min" in opts and n < opts["min"]:
                raise bad_query("Value %d is less than minimum %d" % (n, opts["min"]), name)
            if "max" in opts and n > opts["max"]:
                raise bad_query("Value %d is greater than maximum %d" % (n, opts["max"]), name)
            out[name] = n
        elif typ == "bool":
            if v not in ("true", "false"):
                raise bad_query("Expected type boolean but found type string", name)
            out[name] = v == "true"
        else:
            if "enum" in opts and v not in opts["enum"]:
                raise bad_query("No enum match for: \"%s\"" % v, name)
            if "maxLength" in opts and len(v) > opts["maxLength"]:
                raise bad_query("String is too long (%d chars), maximum %d" % (len(v), opts["maxLength"]), name)
            out[name] = v
    return out


def project(obj, fields, include):
    if not fields:
        return obj
    names = [f.strip() for f in fields.split(",") if f.strip()]
    if include:
        return {k: obj[k] for k in names if k in obj}
    return {k: v for k, v in obj.items() if k not in names}


def enc_cursor(s):
    return base64.urlsafe_b64encode(s.encode("utf-8")).decode("ascii").rstrip("=")


def dec_cursor(c, name="from"):
    try:
        pad = "=" * (-len(c) % 4)
        return base64.urlsafe_b64decode(c + pad).decode("utf-8")
    except Exception:
        raise ApiError(400, "Invalid value for the '%s' parameter." % name, "invalid_query_string")


def offset_page(items, q, key, cap=False, envelope_extra=None):
    """Offset pagination over items; array or {key, start, limit, total}."""
    page = q.get("page", 0)
    per_page = q.get("per_page", 50)
    if cap and (page + 1) * per_page > 1000:
        raise ApiError(400, OFFSET_CAP_MSG, "invalid_paging")
    start = page * per_page
    chunk = items[start : start + per_page]
    if q.get("include_totals"):
        body = {key: chunk, "start": start, "limit": per_page, "total": len(items)}
        return body
    return chunk


def checkpoint_page(ids, q, key, render, next_mode="full"):
    """Checkpoint pagination over sorted ids.

    next_mode "more": next only when items remain after this page;
    "full": next whenever the page is full (a last full page is followed
    by an empty page without next; quirk checkpoint_end "short_page");
    "nonempty": next whenever the page has items (checkpoint_end
    "empty_page").
    """
    import bisect

    take = q.get("take", 50)
    start = 0
    if q.get("from"):
        last = dec_cursor(q["from"])
        start = bisect.bisect_right(ids, last)
    chunk = ids[start : start + take]
    body = {key: [render(x) for x in chunk]}
    more = start + take < len(ids)
    if chunk and ((next_mode == "more" and more) or (next_mode == "full" and len(chunk) == take) or next_mode == "nonempty"):
        body["next"] = enc_cursor(chunk[-1])
    return body


# --- the API ----------------------------------------------------------------

USER_CREATE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "phone_number": {"type": "string", "pattern": r"^\+[0-9]{1,15}$"},
        "user_metadata": {"type": "object"},
        "blocked": {"type": "boolean"},
        "email_verified": {"type": "boolean"},
        "phone_verified": {"type": "boolean"},
        "app_metadata": {"type": "object"},
        "given_name": {"type": "string", "minLength": 1, "maxLength": 150},
        "family_name": {"type": "string", "minLength": 1, "maxLength": 150},
        "name": {"type": "string", "minLength": 1, "maxLength": 300},
        "nickname": {"type": "string", "minLength": 1, "maxLength": 300},
        "picture": {"type": "string", "format": "uri"},
        "user_id": {"type": "string", "minLength": 0, "maxLength": 255, "pattern": r"^\S*$"},
        "connection": {"type": "string", "minLength": 1},
        "password": {"type": "string", "minLength": 1},
        "verify_email": {"type": "boolean"},
        "username": {"type": "string", "minLength": 1, "maxLength": 128},
    },
}

USER_PATCH_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "blocked": {"type": "boolean"},
        "email_verified": {"type": "boolean"},
        "email": {"type": ["string", "null"], "format": "email"},
        "phone_number": {"type": ["string", "null"], "pattern": r"^\+[0-9]{1,15}$"},
        "phone_verified": {"type": "boolean"},
        "user_metadata": {"type": "object"},
        "app_metadata": {"type": "object"},
        "given_name": {"type": ["string", "null"], "minLength": 1, "maxLength": 150},
        "family_name": {"type": ["string", "null"], "minLength": 1, "maxLength": 150},
        "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 300},
        "nickname": {"type": ["string", "null"], "minLength": 1, "maxLength": 300},
        "picture": {"type": ["string", "null"], "format": "uri"},
        "verify_email": {"type": "boolean"},
        "verify_phone_number": {"type": "boolean"},
        "password": {"type": ["string", "null"], "minLength": 1},
        "connection": {"type": "string", "minLength": 1},
        "client_id": {"type": "string", "minLength": 1},
        "username": {"type": ["string", "null"], "minLength": 1, "maxLength": 128},
    },
}

def ID_LIST(key):
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [key],
        "properties": {key: {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}},
    }

USER_FIELDS_ORDER = (
    "created_at", "email", "email_verified", "family_name", "given_name", "identities", "name", "nickname",
    "phone_number", "phone_verified", "picture", "updated_at", "user_id", "user_metadata", "username",
    "app_metadata", "blocked", "last_password_reset", "logins_count",
)


def _ordered(u):
    out = {k: u[k] for k in USER_FIELDS_ORDER if k in u}
    for k, v in u.items():
        if k not in out:
            out[k] = v
    return out


class UserDoc:
    """Lucene doc over a stored user; parses the profile only if needed."""

    __slots__ = ("u", "_obj")

    def __init__(self, u):
        self.u = u
        self._obj = None

    def values(self, path):
        u = self.u
        if path == "user_id":
            return [u.uid]
        if path == "email":
            return [u.email] if u.email is not None else []
        if path == "identities.connection":
            return [u.conn]
        if self._obj is None:
            self._obj = u.obj()
        return values_at(self._obj, path)


class Api:
    def __init__(self, srv):
        self.srv = srv
        self.t = srv.tenant
        self.routes = []
        R = self._route
        R("GET", r"/users", self.list_users, "any", ["read:users"])
        R("POST", r"/users", self.create_user, "any", ["create:users"])
        R("GET", r"/users-by-email", self.users_by_email, "any", ["read:users"])
        R("GET", r"/users/([^/]+)", self.get_user, "any", ["read:users"])
        R("PATCH", r"/users/([^/]+)", self.patch_user, "any", ["update:users", "update:users_app_metadata"])
        R("DELETE", r"/users/([^/]+)", self.delete_user, "any", ["delete:users"])
        R("GET", r"/users/([^/]+)/roles", self.get_user_roles, "all", ["read:users", "read:roles", "read:role_members"])
        R("POST", r"/users/([^/]+)/roles", self.post_user_roles, "any", ["update:users", "create:role_members"])
        R("DELETE", r"/users/([^/]+)/roles", self.delete_user_roles, "any", ["update:users", "delete:role_members"])
        R("GET", r"/users/([^/]+)/organizations", self.get_user_orgs, "any", ["read:organizations"])
        R("GET", r"/users/([^/]+)/permissions", self.get_user_perms, "any", ["read:users"])
        R("POST", r"/users/([^/]+)/permissions", self.post_user_perms, "any", ["update:users"])
        R("DELETE", r"/users/([^/]+)/permissions", self.delete_user_perms, "any", ["update:users"])
        R("GET", r"/roles/([^/]+)/permissions", self.get_role_perms, "any", ["read:roles"])
        R("POST", r"/roles/([^/]+)/permissions", self.post_role_perms, "any", ["update:roles"])
        R("DELETE", r"/roles/([^/]+)/permissions", self.delete_role_perms, "any", ["update:roles"])
        R("GET", r"/resource-servers", self.list_resource_servers, "any", ["read:resource_servers"])
        R("GET", r"/resource-servers/([^/]+)", self.get_resource_server, "any", ["read:resource_servers"])
        R("POST", r"/users/([^/]+)/identities", self.link_identity, "any", ["update:users", "update:current_user_identities"])
        R("DELETE", r"/users/([^/]+)/identities/([^/]+)/([^/]+)", self.unlink_identity, "any",
          ["update:users", "update:current_user_identities"])
        R("GET", r"/connections", self.list_connections, "any", ["read:connections"])
        R("GET", r"/connections/([^/]+)", self.get_connection, "any", ["read:connections"])
        R("GET", r"/roles", self.list_roles, "any", ["read:roles"])
        R("POST", r"/roles", self.create_role, "any", ["create:roles"])
        R("GET", r"/roles/([^/]+)", self.get_role, "any", ["read:roles"])
        R("PATCH", r"/roles/([^/]+)", self.patch_role, "any", ["update:roles"])
        R("GET", r"/roles/([^/]+)/users", self.get_role_users, "all", ["read:users", "read:roles"])
        R("POST", r"/roles/([^/]+)/users", self.post_role_users, "any", ["update:roles", "create:role_members"])
        R("GET", r"/organizations", self.list_orgs, "any", ["read:organizations"])
        R("GET", r"/organizations/name/([^/]+)", self.get_org_by_name, "any", ["read:organizations"])
        R("GET", r"/organizations/([^/]+)", self.get_org, "any", ["read:organizations"])
        R("GET", r"/organizations/([^/]+)/members", self.get_members, "any", ["read:organization_members"])
        R("POST", r"/organizations/([^/]+)/members", self.post_members, "any", ["create:organization_members"])
        R("DELETE", r"/organizations/([^/]+)/members", self.delete_members, "any", ["delete:organization_members"])
        R("GET", r"/organizations/([^/]+)/members/([^/]+)/roles", self.get_member_roles, "any", ["read:organization_member_roles"])
        R("POST", r"/organizations/([^/]+)/members/([^/]+)/roles", self.post_member_roles, "any", ["create:organization_member_roles"])
        R("DELETE", r"/organizations/([^/]+)/members/([^/]+)/roles", self.delete_member_roles, "any", ["delete:organization_member_roles"])
        R("GET", r"/organizations/([^/]+)/roles/([^/]+)/members", self.get_org_role_members, "any",
          ["read:organization_member_roles"])
        jobs = srv.jobs
        R("POST", r"/jobs/users-exports", jobs.create_export, "any", ["read:users"])
        R("POST", r"/jobs/users-imports", jobs.create_import, "any", ["create:users"])
        R("GET", r"/jobs/([^/]+)", jobs.get_job, "any", ["create:users", "read:users"])
        R("GET", r"/jobs/([^/]+)/errors", jobs.get_errors, "any", ["create:users", "read:users"])

    def _route(self, method, pattern, fn, mode, scopes):
        self.routes.append((method, re.compile("^" + pattern + "$"), fn, mode, scopes))

    def match(self, method, raw_path):
        """Find the route for raw_path (still percent-encoded, without
        /api/v2).  Returns (fn, mode, scopes, args) or None."""
        for m, rx, fn, mode, scopes in self.routes:
            if m != method:
                continue
            mm = rx.match(raw_path)
            if mm:
                return fn, mode, scopes, tuple(urllib.parse.unquote(g) for g in mm.groups())
        return None

    @staticmethod
    def check_scopes(have, mode, need):
        if mode == "all":
            if not all(s in have for s in need):
                raise ApiError(403, "Insufficient scope, expected all of: %s" % ", ".join(need), "insufficient_scope")
        elif not any(s in have for s in need):
            raise ApiError(403, "Insufficient scope, expected any of: %s" % ",".join(need), "insufficient_scope")

    # --- helpers -----------------------------------------------------------
    def _user_or_404(self, uid):
        u = self.t.get(uid)
        if u is None:
            raise ApiError(404, "The user does not exist.", "inexistent_user")
        return u

    def _role_or_404(self, rid):
        r = self.t.roles.get(rid)
        if r is None:
            raise ApiError(404, "The role does not exist.")
        return r

    def _org_not_found(self):
        # recorded (2023, 2026-04): this message and no errorCode
        if self.srv.quirks["org_not_found"] == "with_error_code":
            return ApiError(404, "No organization found by that id or name", "inexistent_organization")
        return ApiError(404, "No organization found by that id or name")

    def _org_or_404(self, oid):
        o = self.t.orgs.get(oid)
        if o is None:
            raise self._org_not_found()
        return o

    def _role_view(self, r):
        out = {"id": r["id"], "name": r["name"], "description": r["description"]}
        if self.srv.quirks["role_type_field"]:
            out["type"] = r["type"]
            if "owner_id" in r:
                out["owner_id"] = r["owner_id"]
        return out

    def _checkpoint(self, ids, q, key, render):
        mode = "nonempty" if self.srv.quirks["checkpoint_end"] == "empty_page" else "full"
        return checkpoint_page(ids, q, key, render, next_mode=mode)

    # --- users -----------------------------------------------------------
    def list_users(self, req):
        q = query(req, {
            "page": ("int", {"min": 0, "default": 0}),
            "per_page": ("int", {"min": 0, "max": 100, "default": 50}),
            "include_totals": ("bool", {"default": False}),
            "sort": ("str", {}),
            "connection": ("str", {}),
            "fields": ("str", {}),
            "include_fields": ("bool", {"default": True}),
            "q": ("str", {}),
            "search_engine": ("str", {"enum": ["v1", "v2", "v3"]}),
            "primary_order": ("bool", {"default": True}),
        })
        se = q.get("search_engine")
        if se == "v2":
            raise ApiError(400, "You are not allowed to use search_engine=v2. Use search_engine=v3 instead.", "operation_not_supported")
        if se == "v1":
            raise ApiError(400, "You are not allowed to use search_engine=v1. Use search_engine=v3 instead.", "operation_not_supported")
        if "q" in q and se != "v3":
            raise ApiError(400, "The 'q' parameter is available only if you specify 'search_engine=v2|v3'", "invalid_query_string")
        page, per_page = q["page"], q["per_page"]
        if (page + 1) * per_page > 1000:
            raise ApiError(400, PAGING_CAP_MSG, "invalid_paging")
        pred = None
        if q.get("q"):
            try:
                pred = compile_query(q["q"])
            except LuceneError as e:
                raise ApiError(400, "Invalid query: %s" % e, "invalid_query_string")
        sort_field, sort_dir = None, 1
        if q.get("sort"):
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_.]*):(1|-1)$", q["sort"])
            if not m:
                raise ApiError(400, "Invalid sort parameter. Use field:1 or field:-1", "invalid_query_string")
            sort_field, sort_dir = m.group(1), int(m.group(2))
            if sort_field.startswith(("app_metadata", "user_metadata")):
                raise ApiError(400, "Sorting by app_metadata or user_metadata is not supported.", "invalid_query_string")
        t = self.t
        fast = re.match(r'^\s*(email|user_id):(?:"([^"\\*?]+)"|([^\s"\\*?():]+))\s*$', q.get("q") or "")
        with t.lock:
            ids = t.sorted_ids
            if fast:  # a single exact email / user_id term: use the index
                val = fast.group(2) or fast.group(3)
                if fast.group(1) == "email":
                    ids = sorted(t.find("email", val))
                else:
                    ids = [val] if val in t.users else []
            elif pred is not None:
                users = t.users
                ids = [uid for uid in ids if pred(UserDoc(users[uid]))]
            if sort_field and sort_field != "user_id":
                present, missing = [], []
                for uid in ids:
                    u = t.users[uid]
                    v = u.email if sort_field == "email" else u.obj().get(sort_field)
                    (missing if v is None else present).append((v, uid))
                desc = sort_dir == -1
                try:
                    present.sort(reverse=desc)
                except TypeError:  # mixed value types: compare as text
                    present.sort(key=lambda k: (str(k[0]), k[1]), reverse=desc)
                ids = [uid for _, uid in present] + [uid for _, uid in missing]
            elif sort_field == "user_id" and sort_dir == -1:
                ids = ids[::-1]
            total = len(ids)
            start = page * per_page
            chunk = [project(t.users[uid].obj(), q.get("fields"), q["include_fields"]) for uid in ids[start : start + per_page]]
        if q["include_totals"]:
            return 200, {"start": start, "limit": per_page, "length": len(chunk), "users": chunk, "total": total}
        return 200, chunk

    def users_by_email(self, req):
        q = query(req, {
            "email": ("str", {}),
            "fields": ("str", {}),
            "include_fields": ("bool", {"default": True}),
        })
        if "email" not in q:
            raise bad_query("Missing required property: email")
        t = self.t
        with t.lock:
            uids = sorted(t.find("email", q["email"]))
            out = [project(t.users[x].obj(), q.get("fields"), q["include_fields"]) for x in uids]
        return 200, out

    def get_user(self, req):
        q = query(req, {"fields": ("str", {}), "include_fields": ("bool", {"default": True})})
        with self.t.lock:
            u = self._user_or_404(req.args[0])
            return 200, project(u.obj(), q.get("fields"), q["include_fields"])

    def create_user(self, req):
        body = req.json()
        check_body(body, USER_CREATE_SCHEMA)
        t = self.t
        now = iso(self.srv.clock.now())
        with t.lock:
            conn = t.conn_by_name.get(body["connection"])
            if conn is None:
                raise ApiError(400, "The connection does not exist.", "inexistent_connection")
            strategy = conn["strategy"]
            if not t.is_database(conn) and not t.is_passwordless(conn):
                raise ApiError(
                    400,
                    "Connection does not support user creation through the API. It must either be a database or passwordless connection.",
                    "operation_not_supported",
                )
            if strategy == "auth0":
                for req_prop in ("email", "password"):
                    if req_prop not in body:
                        raise bad_body("Missing required property: %s" % req_prop)
                if t.requires_username(conn):
                    if "username" not in body:
                        raise bad_body("Missing required property: username")
                elif "username" in body and self.srv.quirks["username_needs_requires_username"]:
                    raise ApiError(400, "Cannot set username for connection without requires_username", "invalid_body")
            else:
                # passwordless: email needs email, sms needs phone_number; no
                # password (OAS: "Only valid for auth0 connection strategy"), no username
                key = "email" if strategy == "email" else "phone_number"
                if key not in body:
                    raise bad_body("Missing required property: %s" % key)
                if "password" in body:
                    raise ApiError(400, PASSWORDLESS_PASSWORD_MSG, "invalid_body")
                if "username" in body:
                    raise ApiError(400, PASSWORDLESS_USERNAME_MSG, "invalid_body")
            provider = "auth0" if strategy == "auth0" else strategy
            raw = body.get("user_id") or rand_hex(24)
            uid = identity_key(provider, raw)
            email = body["email"].lower() if "email" in body else None
            cname = conn["name"]
            taken = uid in t.users or uid in t.idx_ident
            if email is not None and (t.find("email", email, cname) or t.find_linked("email", email, cname)):
                taken = True
            if "username" in body and (t.find("username", body["username"], cname)
                                       or t.find_linked("username", body["username"], cname)):
                taken = True
            if strategy == "sms" and (t.find("phone", body["phone_number"], cname)
                                      or t.find_linked("phone", body["phone_number"], cname)):
                taken = True
            if taken:
                raise ApiError(409, "The user already exists.", "auth0_idp_error")
            u = {"created_at": now}
            if email is not None:
                u["email"] = email
                u["email_verified"] = body.get("email_verified", False)
            u["identities"] = [{"connection": cname, "user_id": raw, "provider": provider, "isSocial": False}]
            if email is not None:
                u["name"] = body.get("name", email)
                u["nickname"] = body.get("nickname", email.split("@")[0])
                u["picture"] = body.get("picture", gravatar(email))
            else:  # an sms user without email: named by its phone number
                u["name"] = body.get("name", body["phone_number"])
                u["nickname"] = body.get("nickname", body["phone_number"])
                u["picture"] = body.get("picture", DEFAULT_PICTURE)
            if strategy == "sms":
                u["phone_verified"] = body.get("phone_verified", False)
            u["updated_at"] = now
            u["user_id"] = uid
            for k in ("given_name", "family_name", "username", "phone_number", "phone_verified", "blocked", "user_metadata", "app_metadata"):
                if k in body:
                    u[k] = body[k]
            u = _ordered(u)
            t.add_user(u)
            # A verification email goes to database and email-connection
            # users unless the email is verified or verify_email is false
            # (OAS); a passwordless code is never sent by the Management API.
            if email is not None and strategy in ("auth0", "email") and body.get("email_verified") is not True:
                honour = strategy == "auth0" or self.srv.quirks["email_user_verify_email"] == "honoured"
                if not (body.get("verify_email") is False and honour):
                    self.srv.send_verification_email(uid, email)
        return 201, u

    def patch_user(self, req):
        body = req.json()
        check_body(body, USER_PATCH_SCHEMA)
        if "update:users" not in req.scopes and set(body) - {"app_metadata"}:
            raise ApiError(403, "Insufficient scope, expected any of: update:users", "insufficient_scope")
        for a, b in (("password", "email"), ("password", "email_verified"), ("username", "email"),
                     ("username", "email_verified"), ("username", "password")):
            if a in body and b in body:
                raise ApiError(400, "Cannot update %s and %s simultaneously" % (a, b), "invalid_body")
        t = self.t
        now = iso(self.srv.clock.now())
        with t.lock:
            rec = self._user_or_404(req.args[0])
            u = rec.obj()
            conn = t.conn_by_name.get(rec.conn)
            strategy = conn["strategy"] if conn else None
            is_db = t.is_database(conn)
            # OAS: "Updating email_verified is not supported for enterprise and
            # passwordless sms connections."
            if "email_verified" in body and strategy == "sms":
                raise ApiError(400, "Email verification is not supported for sms users.", "operation_not_supported")
            if "email_verified" in body and strategy in ENTERPRISE_STRATEGIES:
                raise ApiError(400, "Email verification is not supported for enterprise users.", "operation_not_supported")
            if not is_db:
                for k in ("email", "password", "username"):
                    # an email user's email can change (unconfirmed, README "Passwordless")
                    if k in body and not (k == "email" and strategy == "email"):
                        raise ApiError(400, "Cannot update %s for non-database user." % k, "operation_not_supported")
            verify_to = None
            key = {"email": "email", "sms": "phone_number"}.get(strategy)
            if key is not None and key in body and body[key] is None:
                raise ApiError(400, "Cannot remove %s: it identifies a passwordless user." % key, "invalid_body")
            if strategy == "sms" and body.get("phone_number") not in (None, u.get("phone_number")):
                if t.find("phone", body["phone_number"], rec.conn) or t.find_linked("phone", body["phone_number"], rec.conn):
                    raise ApiError(409, "The specified new phone_number already exists", "phone_conflict")
            if body.get("email") is not None:
                email = body["email"].lower()
                if email != u.get("email") and (t.find("email", email, rec.conn) or t.find_linked("email", email, rec.conn)):
                    raise ApiError(409, "The specified new email already exists", "email_conflict")
                if email != u.get("email"):
                    u["email"] = email
                    u["email_verified"] = body.get("email_verified", False)
                    # a new, unverified email gets a verification email unless
                    # verify_email is false (OAS)
                    if body.get("email_verified") is not True and body.get("verify_email") is not False:
                        verify_to = email
            if "username" in body:
                if (body["username"] is not None and not t.requires_username(conn)
                        and self.srv.quirks["username_needs_requires_username"]):
                    raise ApiError(400, "Cannot update username for connection without requires_username", "invalid_body")
                if body["username"] is not None:
                    others = [x for x in t.find("username", body["username"], rec.conn) + t.find_linked("username", body["username"], rec.conn)
                              if x != rec.uid]
                    if others:
                        raise ApiError(409, "The specified new username already exists", "username_conflict")
            for k, v in body.items():
                if k in ("verify_email", "verify_phone_number", "connection", "client_id", "email"):
                    continue
                if k == "password":
                    if v is not None:
                        u["last_password_reset"] = now
                    continue
                if k in ("user_metadata", "app_metadata"):
                    if v == {}:
                        u.pop(k, None)
                        continue
                    cur = dict(u.get(k) or {})
                    for mk, mv in v.items():
                        if mv is None:
                            cur.pop(mk, None)
                        else:
                            cur[mk] = mv
                    u[k] = cur
                    continue
                if v is None:
                    u.pop(k, None)
                else:
                    u[k] = v
            if body.get("email") is None and "email" in body:
                u.pop("email", None)
            u["updated_at"] = now
            u = _ordered(u)
            t.replace_user(u)
            if verify_to is not None:
                self.srv.send_verification_email(rec.uid, verify_to)
        return 200, u

    def delete_user(self, req):
        with self.t.lock:
            self.t.delete_user(req.args[0])
        return 204, None

    def get_user_roles(self, req):
        q = query(req, {
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "page": ("int", {"min": 0, "default": 0}),
            "include_totals": ("bool", {"default": False}),
        })
        t = self.t
        with t.lock:
            self._user_or_404(req.args[0])
            roles = sorted((self._role_view(t.roles[r]) for r in t.user_roles.get(req.args[0], [])), key=lambda r: (r["name"], r["id"]))
        return 200, offset_page(roles, q, "roles")

    def _role_ids_body(self, req):
        body = req.json()
        check_body(body, ID_LIST("roles"))
        return body["roles"]

    def post_user_roles(self, req):
        rids = self._role_ids_body(req)
        t = self.t
        with t.lock:
            self._user_or_404(req.args[0])
            for rid in rids:
                self._tenant_role_or_400(self._role_or_404(rid))
            t.assign_roles(req.args[0], rids)
        return 204, None

    @staticmethod
    def _tenant_role_or_400(r):
        """Organization roles are granted to organization members only
        (unrecorded: status and message chosen, README "Organization roles")."""
        if r.get("type") == "organization":
            raise ApiError(400, "Organization roles cannot be assigned as tenant roles.", "invalid_body")
        return r

    def delete_user_roles(self, req):
        rids = self._role_ids_body(req)
        t = self.t
        with t.lock:
            self._user_or_404(req.args[0])
            t.remove_roles(req.args[0], rids)
        return 204, None

    def get_user_orgs(self, req):
        q = query(req, {
            "page": ("int", {"min": 0, "max": 1000, "default": 0}),
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "include_totals": ("bool", {"default": False}),
        })
        t = self.t
        with t.lock:
            self._user_or_404(req.args[0])
            orgs = sorted((dict(t.orgs[o]) for o in t.user_orgs.get(req.args[0], [])), key=lambda o: o["name"])
        body = offset_page(orgs, q, "organizations")
        if isinstance(body, dict) and self.srv.quirks["user_orgs_total"] == "zero":
            body["total"] = 0  # recorded 2026-08: total 0 with the organization in the page
        return 200, body

    # --- direct permissions (recorded 2023, 2024) ------------------------
    PERMS_BODY = {
        "type": "object", "additionalProperties": False, "required": ["permissions"],
        "properties": {"permissions": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["resource_server_identifier", "permission_name"],
            "properties": {"resource_server_identifier": {"type": "string", "minLength": 1},
                           "permission_name": {"type": "string", "minLength": 1}}}}},
    }

    def get_user_perms(self, req):
        q = query(req, {
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "page": ("int", {"min": 0, "default": 0}),
            "include_totals": ("bool", {"default": False}),
        })
        t = self.t
        with t.lock:
            self._user_or_404(req.args[0])
            # direct grants and those of the user's tenant roles, each
            # permission once with every source (DIRECT as recorded; ROLE
            # unrecorded, README "Direct permissions")
            eff = t.effective_permissions(req.args[0])
            out = [dict(self._perm_view(p), sources=eff[p]) for p in sorted(eff)]
        return 200, offset_page(out, q, "permissions")

    def _perm_view(self, p):
        ident, name = p
        rs = self.t.resource_servers[ident]
        desc = next((x["description"] for x in rs["scopes"] if x["value"] == name), "")
        return {"permission_name": name, "description": desc, "resource_server_name": rs["name"],
                "resource_server_identifier": ident}

    def _perms_body(self, req):
        body = req.json()
        check_body(body, self.PERMS_BODY)
        out = []
        for p in body["permissions"]:
            rs = self.t.resource_servers.get(p["resource_server_identifier"])
            if rs is None:
                raise ApiError(404, "Resource server %s does not exist" % p["resource_server_identifier"],
                               "inexistent_resource_server")
            if p["permission_name"] not in {x["value"] for x in rs["scopes"]}:
                raise bad_body("Permission %s is not defined on resource server %s"
                               % (p["permission_name"], p["resource_server_identifier"]))
            out.append((rs["identifier"], p["permission_name"]))
        return out

    def post_user_perms(self, req):
        with self.t.lock:
            perms = self._perms_body(req)
            self._user_or_404(req.args[0])
            self.t.add_permissions(req.args[0], perms)
        return 201, {}

    def delete_user_perms(self, req):
        with self.t.lock:
            perms = self._perms_body(req)
            self._user_or_404(req.args[0])
            self.t.remove_permissions(req.args[0], perms)
        return 204, None

    # --- role permissions (recorded: go-auth0 TestRoleManager_Permissions) --
    def get_role_perms(self, req):
        q = query(req, {
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "page": ("int", {"min": 0, "default": 0}),
            "include_totals": ("bool", {"default": False}),
        })
        t = self.t
        with t.lock:
            self._role_or_404(req.args[0])
            out = [self._perm_view(p) for p in sorted(t.role_perms.get(req.args[0], []))]
        return 200, offset_page(out, q, "permissions")

    def post_role_perms(self, req):
        with self.t.lock:
            perms = self._perms_body(req)
            self._role_or_404(req.args[0])
            self.t.add_permissions(req.args[0], perms, self.t.role_perms)
        return 201, {}

    def delete_role_perms(self, req):
        with self.t.lock:
            perms = self._perms_body(req)
            self._role_or_404(req.args[0])
            self.t.remove_permissions(req.args[0], perms, self.t.role_perms)
        return 204, None  # recorded 204 (the OAS says 200)

    # --- resource servers (read only; write them with /__load) ------------
    def _system_api(self):
        """The tenant's Auth0 Management API, listed as real tenants list it
        (recorded: terraform TestAccResourceServerAuth0APIManagementImport)."""
        import hashlib
        return {
            "id": hashlib.sha256(("system-api/" + self.t.domain).encode()).hexdigest()[:24],
            "name": "Auth0 Management API",
            "identifier": "https://%s/api/v2/" % self.t.domain,
            "allow_offline_access": False,
            "skip_consent_for_verifiable_first_party_clients": False,
            "token_lifetime": 86400,
            "token_lifetime_for_web": 7200,
            "signing_alg": "RS256",
            "scopes": [{"description": d, "value": v} for v, d in (
                ("read:users", "Read Users"), ("update:users", "Update Users"), ("delete:users", "Delete Users"),
                ("create:users", "Create Users"), ("read:roles", "Read Roles"), ("create:roles", "Create Roles"),
                ("read:resource_servers", "Read Resource Servers"), ("read:organizations", "Read Organizations"))],
            "is_system": True,
        }

    def _rs_view(self, rs):
        # recorded keys (go-auth0 TestResourceServer_Create 2024; terraform
        # TestAccDataSourceResourceServer); no `scopes` key when it has none
        out = {"id": rs["id"], "name": rs["name"], "identifier": rs["identifier"], "allow_offline_access": False,
               "skip_consent_for_verifiable_first_party_clients": False, "token_lifetime": 86400,
               "token_lifetime_for_web": 7200, "signing_alg": "RS256"}
        if rs["scopes"]:
            out["scopes"] = [dict(x) for x in rs["scopes"]]
        return out

    def list_resource_servers(self, req):
        q = query(req, {
            "identifiers": ("array", {}),
            "page": ("int", {"min": 0, "default": 0}),
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "include_totals": ("bool", {"default": False}),
            # not in the OAS, recorded (go-auth0 TestResourceServer_List, 2025-08)
            "fields": ("str", {}),
            "include_fields": ("bool", {"default": True}),
        })
        ids = q.get("identifiers")
        if ids is not None and len(ids) > 10:
            raise bad_query("Array is too long (%d), maximum 10" % len(ids), "identifiers")
        with self.t.lock:
            items = [self._system_api()] + [self._rs_view(rs) for rs in self.t.resource_servers.values()]
        if ids is not None:
            items = [x for x in items if x["identifier"] in ids]
        if q.get("fields"):
            items = [project(x, q["fields"], q["include_fields"]) for x in items]
        return 200, offset_page(items, q, "resource_servers")

    def get_resource_server(self, req):
        q = query(req, {"fields": ("str", {}), "include_fields": ("bool", {"default": True})})
        key = req.args[0]
        with self.t.lock:
            sysapi = self._system_api()
            if key in (sysapi["id"], sysapi["identifier"]):
                out = sysapi
            else:
                rs = self.t.resource_server(key)
                if rs is None:
                    # recorded (terraform TestAccDataSourceResourceServer)
                    raise ApiError(404, "The resource server does not exist", "inexistent_resource_server")
                out = self._rs_view(rs)
        return 200, project(out, q.get("fields"), q["include_fields"]) if q.get("fields") else out

    # --- linked accounts (recorded 2023) ---------------------------------
    PROFILE_KEYS = ("email", "email_verified", "name", "username", "given_name", "family_name", "nickname",
                    "picture", "phone_number", "phone_verified")

    def _profile_data(self, u):
        """What an identity's profileData holds: the profile attributes.
        `name` only when it is not the email-derived default (recorded: a
        user created without a name has no profileData.name)."""
        out = {}
        for k in self.PROFILE_KEYS:
            if k in u and not (k == "name" and u[k] == u.get("email")):
                out[k] = u[k]
        return out

    def _identities_answer(self, u):
        """The link/unlink answer: every identity with profileData (the
        primary's computed from the profile, recorded)."""
        out = []
        for i, ident in enumerate(u.get("identities") or []):
            d = dict(ident)
            if i == 0:
                d = dict({"profileData": self._profile_data(u)}, **d)
            out.append(d)
        return out

    def link_identity(self, req):
        body = req.json()
        check_body(body, {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "properties": {"provider": {"type": "string", "minLength": 1},
                           "connection_id": {"type": "string", "pattern": r"^con_[A-Za-z0-9]{16}$"},
                           "user_id": {"type": ["string", "integer"]},
                           "link_with": {"type": "string"}},
        })
        if "link_with" in body:
            raise ApiError(400, "link_with needs the primary account's token, not a Management API token",
                           "operation_not_supported")
        if "provider" not in body or "user_id" not in body:
            raise bad_body("Missing required property: %s" % ("provider" if "provider" not in body else "user_id"))
        t = self.t
        now = iso(self.srv.clock.now())
        with t.lock:
            prec = self._user_or_404(req.args[0])
            sid = str(body["user_id"])
            # recorded: user_id given whole ("auth0|63d1..."); the bare id works too
            if not sid.startswith(body["provider"] + "|"):
                sid = body["provider"] + "|" + sid
            # an identity linked already: to this primary (409, the OAS's
            # "Specified identity already exists.") or to another one (400, an
            # OAS text); both unrecorded
            owner = t.idx_ident.get(sid)
            if owner == prec.uid:
                raise ApiError(409, "Specified identity already exists.", "identity_conflict")
            if owner is not None:
                raise ApiError(400, "Unable to link with the secondary account.", "invalid_body")
            srec = t.get(sid)
            if srec is None:
                raise ApiError(400, "Provided secondary account not found.", "invalid_body")
            if srec.uid == prec.uid:
                raise ApiError(400, "Main identity and the new one are the same.", "invalid_body")
            if "connection_id" in body:
                c = t.conn_by_id.get(body["connection_id"])
                if c is None or c["name"] != srec.conn:
                    raise ApiError(400, "The connection does not exist.", "inexistent_connection")
            sec = srec.obj()
            prim = prec.obj()
            added = []
            for i, ident in enumerate(sec.get("identities") or []):
                d = dict(ident)
                if i == 0:
                    d = dict({"profileData": self._profile_data(sec)}, **d)
                added.append(d)
            # the secondary stops being a user (D-LINK); its metadata is dropped
            t.delete_user(sec["user_id"])
            prim["identities"] = list(prim.get("identities") or []) + added
            prim["updated_at"] = now
            t.replace_user(_ordered(prim))
            return 201, self._identities_answer(prim)

    def unlink_identity(self, req):
        uid, provider, sec_id = req.args
        t = self.t
        now = iso(self.srv.clock.now())
        with t.lock:
            prec = self._user_or_404(uid)
            prim = prec.obj()
            ids = list(prim.get("identities") or [])
            if sec_id.startswith(provider + "|"):
                sec_id = sec_id[len(provider) + 1:]
            hit = [i for i, x in enumerate(ids) if i > 0 and x.get("provider") == provider and str(x.get("user_id")) == sec_id]
            if not hit:
                if ids and ids[0].get("provider") == provider and str(ids[0].get("user_id")) == sec_id:
                    raise ApiError(400, "Main identity cannot be removed", "invalid_body")
                raise ApiError(404, "The identity does not exist.", "inexistent_identity")
            ident = ids.pop(hit[0])
            prim["identities"] = ids
            prim["updated_at"] = now
            t.replace_user(_ordered(prim))
            # the secondary becomes a user again, without metadata (D-LINK)
            new_uid = "%s|%s" % (provider, sec_id)
            if new_uid not in t.users:
                pd = ident.get("profileData") or {}
                u = {k: pd[k] for k in self.PROFILE_KEYS if k in pd}
                u.update({"created_at": now, "updated_at": now, "user_id": new_uid,
                          "identities": [{k: v for k, v in ident.items() if k != "profileData"}]})
                if "email" in u:
                    u.setdefault("name", u["email"])
                    u.setdefault("nickname", u["email"].split("@")[0])
                    u.setdefault("picture", gravatar(u["email"]))
                t.add_user(_ordered(u))
            return 200, self._identities_answer(prim)

    # --- connections -----------------------------------------------------
    # Always in a connection answer, whatever `fields` asks for (recorded:
    # fields=id gave id and is_domain_connection (2024); fields=strategy,name
    # gave those plus id, is_domain_connection, authentication and
    # connected_accounts (2026)).
    CONN_ALWAYS = ("id", "is_domain_connection", "authentication", "connected_accounts")

    def _conn_view(self, c, req, fields=None, include=True):
        out = {"id": c["id"]}
        if "read:connections_options" in req.scopes:
            out["options"] = c["options"]
        for k in ("strategy", "name", "display_name", "is_domain_connection", "authentication", "connected_accounts", "realms"):
            if k in c:
                out[k] = c[k]
        # recorded in list items and single answers (2023, 2026)
        out["enabled_clients"] = [self.srv.client_id]
        if fields:
            names = [f.strip() for f in fields.split(",") if f.strip()]
            if include:
                out = {k: v for k, v in out.items() if k in names or k in self.CONN_ALWAYS}
            else:
                out = {k: v for k, v in out.items() if k not in names}
        return out

    def list_connections(self, req):
        q = query(req, {
            "per_page": ("int", {"min": 1, "max": 100, "default": 100}),
            "page": ("int", {"min": 0, "default": 0}),
            "include_totals": ("bool", {"default": False}),
            "from": ("str", {}),
            "take": ("int", {"min": 1, "max": 100, "default": 50}),
            "strategy": ("array", {}),
            "name": ("str", {}),
            "fields": ("str", {}),
            "include_fields": ("bool", {"default": True}),
        })
        t = self.t
        with t.lock:
            conns = sorted(t.connections, key=lambda c: c["name"])
            if q.get("strategy"):
                conns = [c for c in conns if c["strategy"] in q["strategy"]]
            if "name" in q:
                conns = [c for c in conns if c["name"] == q["name"]]
            views = {c["name"]: self._conn_view(c, req, q.get("fields"), q["include_fields"]) for c in conns}
        names = [c["name"] for c in conns]
        if "from" in req.params or "take" in req.params:
            return 200, self._checkpoint(names, q, "connections", lambda n: views[n])
        return 200, offset_page([views[n] for n in names], q, "connections", cap=True)

    def get_connection(self, req):
        q = query(req, {"fields": ("str", {}), "include_fields": ("bool", {"default": True})})
        with self.t.lock:
            c = self.t.conn_by_id.get(req.args[0])
            if c is None:
                raise ApiError(404, "The connection does not exist", "inexistent_connection")
            return 200, self._conn_view(c, req, q.get("fields"), q["include_fields"])

    # --- roles -----------------------------------------------------------
    def list_roles(self, req):
        q = query(req, {
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "page": ("int", {"min": 0, "default": 0}),
            "include_totals": ("bool", {"default": False}),
            "name_filter": ("str", {}),
            # recorded 2026-08: type=organization&owner_id=org_...
            "type": ("str", {"enum": ["tenant", "organization"]}),
            "owner_id": ("str", {}),
        })
        with self.t.lock:
            roles = sorted(self.t.roles.values(), key=lambda r: (r["name"].lower(), r["id"]))
            rtype = q.get("type")
            if rtype is None and self.srv.quirks["roles_list_untyped"] == "tenant":
                rtype = "tenant"
            if rtype is not None:
                roles = [r for r in roles if r["type"] == rtype]
            if "owner_id" in q:
                roles = [r for r in roles if r.get("owner_id") == q["owner_id"]]
            if q.get("name_filter"):
                nf = q["name_filter"].lower()
                roles = [r for r in roles if nf in r["name"].lower()]
            roles = [self._role_view(r) for r in roles]
        return 200, offset_page(roles, q, "roles")

    def create_role(self, req):
        body = req.json()
        check_body(body, {
            "type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1},
                           "description": {"type": "string"},
                           # create-only (2026-08, recorded)
                           "type": {"type": "string", "enum": ["tenant", "organization"]},
                           "owner_id": {"type": "string", "minLength": 1}},
        })
        rtype = body.get("type", "tenant")
        owner = body.get("owner_id")
        if rtype == "organization" and owner is None:
            raise bad_body("owner_id is required when type is organization")
        if rtype == "tenant" and owner is not None:
            raise bad_body("owner_id can only be set when type is organization")
        with self.t.lock:
            if owner is not None:
                self._org_or_404(owner)
            if self.t.role_by_name(body["name"], owner):
                raise ApiError(409, "The role already exists.", "role_conflict")
            r = self.t.add_role(body["name"], body.get("description"), rtype=rtype, owner_id=owner)
            out = self._role_view(r)
        if "description" not in body:
            # recorded: no key (2026-08) or null (2026-04); GET answers ""
            if self.srv.quirks["role_create_description"] == "null":
                out["description"] = None
            else:
                del out["description"]
        return 200, out

    def get_role(self, req):
        query(req, {})
        with self.t.lock:
            return 200, self._role_view(self._role_or_404(req.args[0]))

    def patch_role(self, req):
        body = req.json()
        # type and owner_id are create-only: go-auth0 strips them from
        # updates and the provider replaces the role to change them
        check_body(body, {
            "type": "object", "additionalProperties": False,
            "properties": {"name": {"type": "string", "minLength": 1}, "description": {"type": "string"}},
        })
        with self.t.lock:
            r = self._role_or_404(req.args[0])
            if "name" in body and body["name"] != r["name"]:
                if self.t.role_by_name(body["name"], r.get("owner_id")):
                    raise ApiError(409, "The role already exists.", "role_conflict")
                r["name"] = body["name"]
            if "description" in body:
                r["description"] = body["description"]
            return 200, self._role_view(r)

    def _role_user_view(self, uid):
        u = self.t.users.get(uid)
        o = u.obj() if u else {}
        return {k: o[k] for k in ("user_id", "email", "picture", "name") if k in o}

    def get_role_users(self, req):
        q = query(req, {
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "page": ("int", {"min": 0, "default": 0}),
            "include_totals": ("bool", {"default": False}),
            "from": ("str", {}),
            "take": ("int", {"min": 1, "max": 100, "default": 50}),
        })
        t = self.t
        with t.lock:
            rid = req.args[0]
            self._role_or_404(rid)
            ids = t.role_user_ids(rid)
            if "from" in req.params or "take" in req.params:
                return 200, self._checkpoint(ids, q, "users", self._role_user_view)
            page, per_page = q["page"], q["per_page"]
            if (page + 1) * per_page > 1000:
                raise ApiError(400, OFFSET_CAP_MSG, "invalid_paging")
            chunk = [self._role_user_view(x) for x in ids[page * per_page : (page + 1) * per_page]]
            if q["include_totals"]:
                return 200, {"users": chunk, "start": page * per_page, "limit": per_page, "total": len(ids)}
            return 200, chunk

    def post_role_users(self, req):
        body = req.json()
        check_body(body, {
            "type": "object", "additionalProperties": False, "required": ["users"],
            "properties": {"users": {"type": "array", "items": {"type": "string", "minLength": 1}}},
        })
        t = self.t
        with t.lock:
            rid = req.args[0]
            self._tenant_role_or_400(self._role_or_404(rid))
            for uid in body["users"]:
                if uid not in t.users:
                    raise ApiError(400, "The user %s does not exist." % uid, "invalid_body")
            for uid in body["users"]:
                t.assign_roles(uid, [rid])
        return 200, {}

    # --- organizations ---------------------------------------------------
    def list_orgs(self, req):
        q = query(req, {
            "page": ("int", {"min": 0, "max": 1000, "default": 0}),
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "include_totals": ("bool", {"default": False}),
            "from": ("str", {}),
            "take": ("int", {"min": 1, "max": 100, "default": 50}),
            "sort": ("str", {"maxLength": 15}),
        })
        with self.t.lock:
            orgs = {o["id"]: dict(o) for o in self.t.orgs.values()}
        if "from" in req.params or "take" in req.params:
            return 200, self._checkpoint(sorted(orgs), q, "organizations", lambda oid: orgs[oid])
        key, rev = "name", False
        if q.get("sort"):
            m = re.match(r"^(name|display_name|created_at):(1|-1)$", q["sort"])
            if not m:
                raise ApiError(400, "Invalid sort field. Supported: name, display_name, created_at", "invalid_query_string")
            key, rev = m.group(1), m.group(2) == "-1"
        items = sorted(orgs.values(), key=lambda o: (str(o.get(key, "")), o["id"]), reverse=rev)
        return 200, offset_page(items, q, "organizations", cap=True)

    def get_org(self, req):
        query(req, {})
        with self.t.lock:
            return 200, dict(self._org_or_404(req.args[0]))

    def get_org_by_name(self, req):
        query(req, {})
        with self.t.lock:
            o = self.t.org_by_name(req.args[0])
            if o is None:
                raise self._org_not_found()
            return 200, dict(o)

    def get_members(self, req):
        q = query(req, {
            "page": ("int", {"min": 0, "max": 1000, "default": 0}),
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "include_totals": ("bool", {"default": False}),
            "from": ("str", {}),
            "take": ("int", {"min": 1, "max": 100, "default": 50}),
            "fields": ("str", {}),
            "include_fields": ("bool", {"default": True}),
        })
        names = [f.strip() for f in q.get("fields", "").split(",") if f.strip()]
        want_roles = q["include_fields"] and "roles" in names
        checkpoint = "from" in req.params or "take" in req.params
        if want_roles and "read:organization_member_roles" not in req.scopes:
            raise ApiError(403, "Insufficient scope, expected any of: read:organization_member_roles", "insufficient_scope")
        t = self.t
        with t.lock:
            oid = req.args[0]
            self._org_or_404(oid)
            members = t.org_members[oid]

            def render(uid):
                u = t.users.get(uid)
                o = u.obj() if u else {}
                m = {k: o[k] for k in ("user_id", "email", "picture", "name") if k in o}
                if want_roles and not (checkpoint and self.srv.quirks["members_checkpoint_roles"] == "omit"):
                    m["roles"] = [{"id": r, "name": t.roles[r]["name"]} for r in members.get(uid, [])]
                if names:
                    m = project(m, q["fields"], q["include_fields"])
                return m

            ids = t.org_member_ids(oid)
            if checkpoint:
                return 200, self._checkpoint(ids, q, "members", render)
            page, per_page = q["page"], q["per_page"]
            if (page + 1) * per_page > 1000:
                raise ApiError(400, OFFSET_CAP_MSG, "invalid_paging")
            chunk = [render(x) for x in ids[page * per_page : (page + 1) * per_page]]
            if q["include_totals"]:
                return 200, {"members": chunk, "start": page * per_page, "limit": per_page, "total": len(ids)}
            return 200, chunk

    def get_org_role_members(self, req):
        """Members of an organization that hold a role there (recorded
        2026-08, an empty list only: the item shape is the members list's)."""
        q = query(req, {
            "from": ("str", {}),
            "take": ("int", {"min": 1, "max": 100, "default": 50}),
            "fields": ("str", {}),
            "include_fields": ("bool", {"default": True}),
        })
        t = self.t
        with t.lock:
            oid, rid = req.args
            self._org_or_404(oid)
            self._role_or_404(rid)
            ids = [uid for uid in t.org_member_ids(oid) if rid in t.org_members[oid][uid]]

            def render(uid):
                o = t.users[uid].obj()
                m = {k: o[k] for k in ("user_id", "email", "picture", "name") if k in o}
                return project(m, q.get("fields"), q["include_fields"]) if q.get("fields") else m

            return 200, self._checkpoint(ids, q, "members", render)

    def _members_body(self, req):
        body = req.json()
        check_body(body, {
            "type": "object", "required": ["members"],
            "properties": {"members": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}},
        })
        return body["members"]

    def post_members(self, req):
        uids = self._members_body(req)
        t = self.t
        with t.lock:
            oid = req.args[0]
            self._org_or_404(oid)
            for uid in uids:
                if uid not in t.users:
                    raise ApiError(400, "One or more of the users do not exist.", "invalid_body")
            t.add_members(oid, uids)
        return 204, None

    def delete_members(self, req):
        uids = self._members_body(req)
        t = self.t
        with t.lock:
            oid = req.args[0]
            self._org_or_404(oid)
            t.remove_members(oid, uids)
        return 204, None

    def _member_or_404(self, oid, uid):
        self._org_or_404(oid)
        m = self.t.org_members[oid]
        if uid not in m:
            raise ApiError(404, "The user is not a member of the organization.", "inexistent_member")
        return m[uid]

    def get_member_roles(self, req):
        q = query(req, {
            "page": ("int", {"min": 0, "max": 1000, "default": 0}),
            "per_page": ("int", {"min": 1, "max": 100, "default": 50}),
            "include_totals": ("bool", {"default": False}),
        })
        t = self.t
        with t.lock:
            rids = self._member_or_404(*req.args)
            roles = sorted((self._role_view(t.roles[r]) for r in rids), key=lambda r: (r["name"], r["id"]))
        return 200, offset_page(roles, q, "roles")

    def post_member_roles(self, req):
        rids = self._role_ids_body(req)
        t = self.t
        with t.lock:
            cur = self._member_or_404(*req.args)
            for rid in rids:
                r = self._role_or_404(rid)
                if t.org_role_owned_elsewhere(r, req.args[0]):
                    # unrecorded: status and message chosen (README "Organization roles")
                    raise ApiError(400, "The role %s belongs to another organization." % rid, "invalid_body")
            if len(set(cur) | set(rids)) > 50:
                raise ApiError(409, "No more roles can be assigned to this organization member.")
            for rid in rids:
                if rid not in cur:
                    cur.append(rid)
        return 204, None

    def delete_member_roles(self, req):
        rids = self._role_ids_body(req)
        t = self.t
        with t.lock:
            cur = self._member_or_404(*req.args)
            for rid in rids:
                if rid in cur:
                    cur.remove(rid)
        return 204, None

