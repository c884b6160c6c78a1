"""Bulk export and import jobs, their download links and files.

A job's life is driven by the clock: pending for a moment, then
processing (with percentage_done and time_left_seconds) until
created + max(MIN_JOB_SECONDS, users / job_rate), then completed (or
failed).  A worker thread per job does the real work: an export writes its
gzip file from the point-in-time copy taken at creation; an import is
applied to the tenant when it completes, so the tenant never shows half an
import.

Download links point at the second listener, signed with an HMAC over
path and expiry:  /<job id>/<tenant>.json.gz?Expires=<epoch>&Signature=<hex>.
"""

import gzip
import hashlib
import hmac
import io
import json
import math
import os
import re
import threading
import urllib.parse

from fake_util import E164, ApiError, bad_body, bad_query, dumps, gravatar, iso, new_id, rand_hex, validate

MIN_JOB_SECONDS = 0.3
PENDING_SECONDS = 0.1
MAX_IMPORT_BODY = 512000
ACTIVE_IMPORTS_MAX = 2

CON_ID_PATTERN = r"^con_[A-Za-z0-9]{16}$"

EXPORT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "connection_id": {"type": "string", "pattern": CON_ID_PATTERN},
        "format": {"type": "string", "enum": ["json", "csv"]},
        "limit": {"type": "integer", "minimum": 1},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {"name": {"type": "string", "maxLength": 100}, "export_as": {"type": "string", "maxLength": 100}},
            },
        },
    },
}

DEFAULT_EXPORT_FIELDS = [
    "user_id", "email", "email_verified", "username", "phone_number", "phone_verified", "name", "given_name",
    "family_name", "nickname", "picture", "created_at", "updated_at", "last_login", "logins_count", "blocked",
]

RESERVED_APP_METADATA = [
    "__tenant", "_id", "blocked", "clientID", "created_at", "email_verified", "email", "globalClientID",
    "global_client_id", "identities", "lastIP", "lastLogin", "loginsCount", "metadata",
    "multifactor_last_modified", "multifactor", "updated_at", "user_id",
]

_HASH_OBJ = {
    "type": "object",
    "additionalProperties": False,
    "required": ["value"],
    "properties": {
        "value": {"type": "string"},
        "encoding": {"type": "string", "enum": ["base64", "hex", "utf8"]},
        "digest": {"type": "string"},
        "key": {"type": "object"},
    },
}

IMPORT_USER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["email"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "email_verified": {"type": "boolean"},
        "user_id": {"type": "string", "minLength": 1, "maxLength": 255},
        "username": {"type": "string", "minLength": 1, "maxLength": 128},
        "given_name": {"type": "string", "minLength": 1, "maxLength": 150},
        "family_name": {"type": "string", "minLength": 1, "maxLength": 150},
        "name": {"type": "string", "minLength": 1, "maxLength": 300},
        "nickname": {"type": "string", "minLength": 1, "maxLength": 300},
        "picture": {"type": "string", "format": "uri"},
        "blocked": {"type": "boolean"},
        "app_metadata": {"type": "object", "forbidden_keys": RESERVED_APP_METADATA},
        "user_metadata": {"type": "object"},
        "phone_number": {"type": "string", "pattern": E164},
        "phone_verified": {"type": "boolean"},
        "password_hash": {"type": "string", "pattern": r"^\$2[ab]\$10\$[./A-Za-z0-9]{53}$"},
        "custom_password_hash": {
            "type": "object",
            "additionalProperties": False,
            "required": ["algorithm", "hash"],
            "properties": {
                "algorithm": {"type": "string", "enum": ["argon2", "bcrypt", "hmac", "ldap", "md4", "md5", "sha1",
                                                         "sha256", "sha512", "pbkdf2", "scrypt"]},
                "hash": _HASH_OBJ,
                "salt": {"type": "object", "required": ["value"], "properties": {
                    "value": {"type": "string"}, "encoding": {"type": "string", "enum": ["base64", "hex", "utf8"]},
                    "position": {"type": "string", "enum": ["prefix", "suffix"]}}},
                "password": {"type": "object", "properties": {"encoding": {"type": "string"}}},
                "keylen": {"type": "integer", "minimum": 1},
                "cost": {"type": "integer", "minimum": 1},
                "blockSize": {"type": "integer", "minimum": 1},
                "parallelization": {"type": "integer", "minimum": 1},
            },
        },
        "mfa_factors": {
            "type": "array",
            "minItems": 1,
            "maxItems": 10,
            "items": {"oneOf": [
                {"type": "object", "additionalProperties": False, "required": ["totp"], "properties": {
                    "totp": {"type": "object", "required": ["secret"], "additionalProperties": False,
                             "properties": {"secret": {"type": "string", "pattern": "^[A-Z2-7]+$"}}}}},
                {"type": "object", "additionalProperties": False, "required": ["phone"], "properties": {
                    "phone": {"type": "object", "required": ["value"], "additionalProperties": False,
                              "properties": {"value": {"type": "string", "pattern": E164}}}}},
                {"type": "object", "additionalProperties": False, "required": ["email"], "properties": {
                    "email": {"type": "object", "required": ["value"], "additionalProperties": False,
                              "properties": {"value": {"type": "string", "format": "email"}}}}},
            ]},
        },
    },
}

UPSERTABLE = ("given_name", "family_name", "name", "nickname", "picture")


class Job:
    def __init__(self, jid, jtype, created):
        self.id = jid
        self.type = jtype
        self.created = created
        self.final = None  # "completed" | "failed"
        self.due = created + MIN_JOB_SECONDS
        self.pending_end = created + PENDING_SECONDS
        self.work_done = False
        self.progress = 0.0
        self.conn = None
        self.format = "json"
        self.limit = None
        self.fields = None
        self.file_path = None
        self.file_name = None
        self.forced_fail = None  # errors shape for /__jobs/fail
        self.status_details = None
        self.summary = None
        self.errors = []
        self.upsert = False
        self.external_id = None
        self.send_completion_email = True
        self.users_raw = None
        self.total = 0


def _parse_multipart(body, ctype):
    """Strict multipart/form-data parser -> dict name -> (filename, bytes)."""
    invalid = bad_body("Invalid multipart payload format")
    m = re.match(r'^multipart/form-data\s*;(.*)$', ctype, re.I | re.S)
    if not m:
        raise invalid
    bm = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', m.group(1), re.I)
    if not bm:
        raise invalid
    boundary = (bm.group(1) or bm.group(2)).encode("latin-1")
    delim = b"--" + boundary
    if not body.startswith(delim + b"\r\n"):
        # RFC 2046 allows a preamble; accept one ending in CRLF
        i = body.find(b"\r\n" + delim + b"\r\n")
        if i < 0:
            raise invalid
        body = body[i + 2 :]
    pieces = body.split(b"\r\n" + delim)
    first = pieces[0][len(delim) + 2 :]
    parts_raw = [first] + pieces[1:]
    last = parts_raw[-1]
    if not last.startswith(b"--"):
        raise invalid
    if last[2:].strip(b"\r\n") != b"":
        pass  # epilogue is allowed
    parts = {}
    for raw in parts_raw[:-1]:
        if raw.startswith(b"\r\n"):
            raw = raw[2:]
        hdr_end = raw.find(b"\r\n\r\n")
        if hdr_end < 0:
            raise invalid
        headers = {}
        for line in raw[:hdr_end].split(b"\r\n"):
            if b":" not in line:
                raise invalid
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode("latin-1")] = v.strip().decode("utf-8", "replace")
        cd = headers.get("content-disposition", "")
        if not cd.lower().startswith("form-data"):
            raise invalid
        nm = re.search(r'(?:^|;)\s*name="([^"]*)"', cd)
        if not nm:
            raise invalid
        fn = re.search(r'(?:^|;)\s*filename="([^"]*)"', cd)
        parts[nm.group(1)] = (fn.group(1) if fn else None, raw[hdr_end + 4 :], headers.get("content-type"))
    return parts


def _redact(user):
    if not isinstance(user, dict):
        return user
    u = json.loads(json.dumps(user))
    if "password_hash" in u:
        u["password_hash"] = "*****"
    cph = u.get("custom_password_hash")
    if isinstance(cph, dict):
        for k in ("hash", "salt"):
            if isinstance(cph.get(k), dict) and "value" in cph[k]:
                cph[k]["value"] = "*****"
    for f in u.get("mfa_factors") or []:
        if isinstance(f, dict) and isinstance(f.get("totp"), dict) and "secret" in f["totp"]:
            f["totp"]["secret"] = "*****"
    return u


def _zpath(path):
    return "#/" + path.replace(".", "/").replace("[", "/").replace("]", "") if path else "#/"


def _get_path(obj, path):
    """Resolve 'identities[0].connection' / 'app_metadata.plan' in obj."""
    cur = obj
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(cur, list) or i >= len(cur):
                return None, False
            cur = cur[i]
        else:
            if not isinstance(cur, dict) or part not in cur:
                return None, False
            cur = cur[part]
    return cur, True


ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _csv_cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (dict, list)):
        v = dumps(v)
    if ISO_RE.match(v):
        return v
    return '"\'' + v.replace('"', '""') + '"'


class JobManager:
    def __init__(self, srv):
        self.srv = srv
        self.jobs = {}
        self.lock = threading.Lock()
        self.fail_next = {"users_export": [], "users_import": []}

    # --- creation ------------------------------------------------------------
    def _new_job(self, jtype):
        now = self.srv.clock.now()
        j = Job(new_id("job_"), jtype, now)
        with self.lock:
            if self.fail_next[jtype]:
                j.forced_fail = self.fail_next[jtype].pop(0)
            self.jobs[j.id] = j
        return j

    def _schedule(self, j, n):
        rate = max(float(self.srv.cfg["job_rate"]), 1e-6)
        j.total = n
        j.due = j.created + max(MIN_JOB_SECONDS, n / rate)
        j.pending_end = j.created + min(PENDING_SECONDS, (j.due - j.created) / 3)

    def create_export(self, req):
        body = req.json()
        if req.ctype == "application/x-www-form-urlencoded" and isinstance(body, dict) and "limit" in body:
            if re.match(r"^\d+$", body["limit"]):
                body["limit"] = int(body["limit"])
        if not isinstance(body, dict):
            raise bad_body("Expected type object but found type %s" % type(body).__name__)
        errs = validate(body, EXPORT_SCHEMA)
        if errs:
            code, msg, path = errs[0]
            raise bad_body(msg, path or None)
        t = self.srv.tenant
        with t.lock:
            conn = None
            if "connection_id" in body:
                conn = t.conn_by_id.get(body["connection_id"])
                if conn is None:
                    raise ApiError(400, "The connection does not exist.", "inexistent_connection")
            if conn is None:
                recs = [t.users[uid].blob for uid in t.sorted_ids]
            else:
                cname = conn["name"]
                recs = [t.users[uid].blob for uid in t.sorted_ids if t.users[uid].conn == cname]
        if "limit" in body:
            recs = recs[: body["limit"]]
        j = self._new_job("users_export")
        j.conn = conn
        j.format = body.get("format", "json")
        j.limit = body.get("limit")
        j.fields = body.get("fields")
        j.file_name = "%s.%s.gz" % (t.domain.split(".")[0].split(":")[0] or "tenant", j.format)
        self._schedule(j, len(recs))
        req.job_id = j.id
        threading.Thread(target=self._run_export, args=(j, recs), daemon=True).start()
        return 200, self.render(j, created=True)

    def create_import(self, req):
        parts = _parse_multipart(req.body, req.raw_ctype)
        if "users" not in parts or parts["users"][0] is None:
            raise ApiError(400, "Must provide 'users' file as multipart part.", "invalid_body")
        if "connection_id" not in parts:
            raise ApiError(400, "Must provide 'connection_id' as multipart part.", "invalid_body")
        fields = {}
        for name in ("connection_id", "upsert", "external_id", "send_completion_email"):
            if name in parts:
                try:
                    fields[name] = parts[name][1].decode("utf-8")
                except UnicodeDecodeError:
                    raise bad_body("Invalid multipart payload format")
        if not re.match(CON_ID_PATTERN, fields["connection_id"]):
            raise bad_body("String does not match pattern %s" % CON_ID_PATTERN, "connection_id")
        for b in ("upsert", "send_completion_email"):
            if b in fields and fields[b] not in ("true", "false"):
                raise bad_body("Expected type boolean but found type string", b)
        users_raw = parts["users"][1]
        if not users_raw.strip():
            raise ApiError(400, "Users file must not be empty.", "invalid_body")
        t = self.srv.tenant
        with t.lock:
            conn = t.conn_by_id.get(fields["connection_id"])
            if conn is None:
                raise ApiError(400, "The connection does not exist.", "inexistent_connection")
            if not t.is_database(conn):
                raise ApiError(400, "Connection must be a database connection.", "invalid_body")
        with self.lock:
            active = sum(1 for x in self.jobs.values() if x.type == "users_import" and x.final is None)
            if active >= ACTIVE_IMPORTS_MAX:
                raise ApiError(429, "There are %d active import users jobs, please wait until some of them are finished and try again" % active)
        j = self._new_job("users_import")
        j.conn = conn
        j.upsert = fields.get("upsert") == "true"
        j.external_id = fields.get("external_id") or None
        j.send_completion_email = fields.get("send_completion_email", "true") == "true"
        j.users_raw = users_raw
        n = max(1, users_raw.count(b'"email"'))
        self._schedule(j, n)
        req.job_id = j.id
        threading.Thread(target=self._run_import, args=(j,), daemon=True).start()
        return 202, self.render(j, created=True)

    # --- workers ---------------------------------------------------------------
    def _wait_due(self, j):
        clock = self.srv.clock
        while True:
            left = j.due - clock.now()
            if left <= 0:
                return
            clock.wait(min(left, 0.5))

    def _finish(self, j, status):
        with self.lock:
            j.final = status

    def _run_export(self, j, recs):
        try:
            if j.forced_fail is None:
                path = os.path.join(self.srv.tmpdir, j.id + "." + j.format + ".gz")
                level = 6 if len(recs) <= 200000 else 1
                names = [f["name"] for f in j.fields] if j.fields else DEFAULT_EXPORT_FIELDS
                with open(path, "wb") as raw:
                    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=0) as gz:
                        w = io.BufferedWriter(gz, 1 << 20)
                        if j.format == "csv":
                            heads = [f.get("export_as", f["name"]) for f in j.fields] if j.fields else names
                            w.write((",".join(heads) + "\n").encode("utf-8"))
                        for i, blob in enumerate(recs):
                            obj = json.loads(blob)
                            if j.format == "csv":
                                row = []
                                for n in names:
                                    v, ok = _get_path(obj, n)
                                    row.append(_csv_cell(v if ok else None))
                                w.write((",".join(row) + "\n").encode("utf-8"))
                            else:
                                out = {}
                                for n in names:
                                    v, ok = _get_path(obj, n)
                                    if ok:
                                        out[n] = v
                                w.write(dumps(out).encode("utf-8") + b"\n")
                            if i % 1000 == 0:
                                j.progress = i / max(1, len(recs))
                        w.flush()
                j.file_path = path
            j.work_done = True
            self._wait_due(j)
            if j.forced_fail is not None:
                j.status_details = "Internal error while exporting users"
                self._finish(j, "failed")
            else:
                self._finish(j, "completed")
        except Exception as e:  # a bug in the fake: fail the job visibly
            j.status_details = "fake export crashed: %s" % e
            self._finish(j, "failed")

    def _run_import(self, j):
        try:
            self._wait_due(j)
            if j.forced_fail is not None:
                users = []
                try:
                    users = json.loads(j.users_raw)
                except ValueError:
                    pass
                n = len(users) if isinstance(users, list) else 0
                j.summary = {"failed": n, "updated": 0, "inserted": 0, "total": n}
                j.errors = [{"user": _redact(u), "errors": [{"code": "INTERNAL_ERROR", "message": "Internal error", "path": "#/"}]}
                            for u in (users if isinstance(users, list) else [])] or [
                    {"user": {}, "errors": [{"code": "INTERNAL_ERROR", "message": "Internal error", "path": "#/"}]}]
                j.status_details = "Internal error while importing users"
                j.work_done = True
                self._finish(j, "failed")
                return
            try:
                users = json.loads(j.users_raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                users = None
            if not isinstance(users, list):
                j.status_details = "Failed to parse users file JSON when importing users. Make sure it is valid JSON."
                j.work_done = True
                self._finish(j, "failed")
                return
            self._apply_import(j, users)
            j.work_done = True
            self._finish(j, "completed")
        except Exception as e:
            j.status_details = "fake import crashed: %s" % e
            self._finish(j, "failed")

    def _apply_import(self, j, users):
        t = self.srv.tenant
        cname = j.conn["name"]
        now = iso(self.srv.clock.now())
        inserted = updated = 0
        errors = []
        seen = {"email": set(), "user_id": set(), "username": set()}

        def fail(u, code, message, path=None):
            e = {"code": code, "message": message}
            if path is not None:
                e["path"] = path
            errors.append({"user": _redact(u), "errors": [e]})

        with t.lock:
            for u in users:
                errs = validate(u, IMPORT_USER_SCHEMA)
                if errs:
                    errors.append({"user": _redact(u), "errors": [{"code": c, "message": m, "path": _zpath(p)} for c, m, p in errs]})
                    continue
                email = u["email"].lower()
                uid = "auth0|" + u["user_id"] if "user_id" in u else None
                uname = u.get("username")
                keys = {"email": email, "user_id": uid, "username": uname.lower() if uname else None}
                if any(v is not None and v in seen[k] for k, v in keys.items()):
                    fail(u, "DUPLICATED_USER", "The user is duplicated in the users file")
                    continue
                for k, v in keys.items():
                    if v is not None:
                        seen[k].add(v)
                by_email = t.find("email", email, cname)
                by_uid = [uid] if uid and uid in t.users else []
                by_uname = t.find("username", uname, cname) if uname else []
                by_phone = t.find("phone", u["phone_number"], cname) if u.get("phone_number") else []
                # a linked (secondary) account still holds its id, email and
                # username in its connection (D-LINK: unlinking restores it)
                linked = (uid is not None and uid in t.idx_ident) or t.find_linked("email", email, cname) or (
                    uname and t.find_linked("username", uname, cname))
                if not j.upsert:
                    if by_email or by_uid or by_uname or by_phone or linked:
                        fail(u, "DUPLICATED_USER", "The user already exist and upsert parameter is false")
                        continue
                else:
                    target = by_email[0] if by_email else None
                    if by_uid and by_uid[0] != target or (uid is not None and uid in t.idx_ident):
                        fail(u, "CONFLICT", "A user with the same user_id already exists", "#/user_id")
                        continue
                    if [x for x in by_uname if x != target] or (uname and t.find_linked("username", uname, cname)):
                        fail(u, "CONFLICT_USERNAME", "A user with the same username already exists", "#/username")
                        continue
                    if target is None and t.find_linked("email", email, cname):
                        fail(u, "CONFLICT_EMAIL", "A user with the same email already exists", "#/email")
                        continue
                    if target is not None:
                        cur = t.users[target].obj()
                        cur["email_verified"] = u.get("email_verified") is True
                        for k in UPSERTABLE:
                            if k in u:
                                cur[k] = u[k]
                        for k in ("app_metadata", "user_metadata"):
                            if k in u:
                                cur[k] = u[k]
                        cur["updated_at"] = now
                        t.replace_user(cur)
                        updated += 1
                        continue
                    if by_phone:
                        fail(u, "DUPLICATED_USER", "A user with the same phone_number already exists", "#/phone_number")
                        continue
                raw = u.get("user_id") or rand_hex(24)
                new = {
                    "created_at": now,
                    "email": email,
                    "email_verified": u.get("email_verified") is True,
                    "identities": [{"connection": cname, "user_id": raw, "provider": "auth0", "isSocial": False}],
                    "name": u.get("name", email),
                    "nickname": u.get("nickname", email.split("@")[0]),
                    "picture": u.get("picture", gravatar(email)),
                    "updated_at": now,
                    "user_id": "auth0|" + raw,
                }
                for k in ("given_name", "family_name", "username", "phone_number", "phone_verified", "blocked",
                          "user_metadata", "app_metadata"):
                    if k in u:
                        new[k] = u[k]
                t.add_user(new)
                if "password_hash" in u:
                    t.passwords[new["user_id"]] = u["password_hash"]
                inserted += 1
        j.errors = errors
        j.summary = {"failed": len(errors), "updated": updated, "inserted": inserted, "total": len(users)}

    # --- reading ---------------------------------------------------------------
    def status(self, j):
        if j.final:
            return j.final, None, None
        now = self.srv.clock.now()
        if now < j.pending_end:
            return "pending", None, None
        span = max(j.due - j.pending_end, 1e-6)
        pct = int(100 * min(1.0, (now - j.pending_end) / span))
        if j.type == "users_export" and not j.work_done:
            pct = min(pct, int(100 * j.progress))
        return "processing", min(pct, 99), max(0, int(math.ceil(j.due - now)))

    def location(self, j):
        srv = self.srv
        exp = int(srv.clock.now() + float(srv.cfg["link_ttl"]))
        path = "/%s/%s" % (j.id, j.file_name)
        return "%s%s?Expires=%d&Signature=%s" % (srv.download_url, path, exp, self.sign(path, exp))

    def sign(self, path, exp):
        return hmac.new(self.srv.sign_key, ("%s\n%d" % (path, exp)).encode(), hashlib.sha256).hexdigest()

    def render(self, j, created=False):
        st, pct, left = ("pending", None, None) if created else self.status(j)
        out = {"type": j.type, "status": st}
        if j.type == "users_export":
            if j.conn:
                out["connection_id"] = j.conn["id"]
            out["format"] = j.format
            if j.limit is not None:
                out["limit"] = j.limit
            if j.fields is not None:
                out["fields"] = j.fields
            if j.conn:
                out["connection"] = j.conn["name"]
            if st == "completed":
                out["location"] = self.location(j)
        else:
            out["connection_id"] = j.conn["id"]
            if j.external_id:
                out["external_id"] = j.external_id
            if st in ("completed", "failed") and j.summary is not None:
                out["summary"] = dict(j.summary)
            out["connection"] = j.conn["name"]
        if st == "processing":
            out["percentage_done"] = pct
            out["time_left_seconds"] = left
        if st == "failed" and j.status_details and self.srv.quirks["failed_job_status_details"]:
            # the only recorded failed job (2023) has no status_details
            out["status_details"] = j.status_details
        out["created_at"] = iso(j.created)
        out["id"] = j.id
        return out

    def _job_or_404(self, req):
        jid = req.args[0]
        req.job_id = jid
        j = self.jobs.get(jid)
        if j is None:
            raise ApiError(404, "The job does not exist.", "inexistent_job")
        return j

    def get_job(self, req):
        if req.params:
            raise bad_query("Additional properties not allowed: %s" % ",".join(req.params))
        return 200, self.render(self._job_or_404(req))

    def get_errors(self, req):
        j = self._job_or_404(req)
        st = self.status(j)[0]
        generic = {k: v for k, v in self.render(j).items() if k in ("id", "type", "status", "created_at", "connection_id", "status_details")}
        if st not in ("completed", "failed"):
            return 200, generic
        if st == "failed":
            shape = j.forced_fail or "job"
            if shape == "204":
                return 204, None
            if shape == "array":
                return 200, j.errors or [{"user": {}, "errors": [{"code": "INTERNAL_ERROR", "message": "Internal error", "path": "#/"}]}]
            return 200, generic
        if j.errors:
            return 200, j.errors
        return 204, None

    # --- control ---------------------------------------------------------------
    def fail(self, jtype, count, shape):
        if jtype not in self.fail_next or shape not in ("array", "204", "job"):
            raise ApiError(400, "type must be users_export|users_import, errors array|204|job")
        with self.lock:
            self.fail_next[jtype].extend([shape] * int(count))

    def describe(self):
        with self.lock:
            jobs = list(self.jobs.values())
        out = []
        for j in jobs:
            d = self.render(j)
            d["send_completion_email"] = j.send_completion_email if j.type == "users_import" else None
            d["upsert"] = j.upsert if j.type == "users_import" else None
            d["users_bytes"] = len(j.users_raw) if j.users_raw is not None else None
            d["total"] = j.total
            d.pop("location", None)
            out.append(d)
        return out

    # --- downloads -------------------------------------------------------------
    def resolve_download(self, path, params):
        """Return (job, None) or (None, (status, code, message))."""
        m = re.match(r"^/(job_[A-Za-z0-9]{16})/([^/]+)$", path)
        exp = params.get("Expires", [None])[-1]
        sig = params.get("Signature", [None])[-1]
        if not exp or not sig or not re.match(r"^\d+$", exp):
            return None, (403, "AccessDenied", "Query-string authentication requires the Signature and Expires parameters")
        if not hmac.compare_digest(self.sign(urllib.parse.unquote(path), int(exp)), sig):
            return None, (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        if self.srv.clock.now() > int(exp):
            return None, (403, "AccessDenied", "Request has expired")
        j = self.jobs.get(m.group(1)) if m else None
        if j is None or j.file_path is None or not os.path.exists(j.file_path):
            return None, (404, "NoSuchKey", "The specified key does not exist.")
        return j, None
