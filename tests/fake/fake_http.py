"""HTTP side of the fake tenant: two listeners, auth, rate limits, faults, log.

Listener "api" serves /oauth/token, /api/v2/... and the judge-only control
endpoints under /__ (no token, not logged, not rate limited).  Listener
"download" serves the signed export files like a pre-signed object store.

Every response carries Content-Length (HTTP/1.1 keep-alive); API
responses carry x-ratelimit-limit / -remaining / -reset.
"""

import base64
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import socket
import struct
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_quirks
from fake_api import Api, Req
from fake_jobs import MAX_IMPORT_BODY, JobManager
from fake_util import REASONS, ApiError, Clock, dumps, error_body

MAX_JSON_BODY = 1 << 20  # "All endpoints accept a maximum payload size of 1 megabyte"
MAX_DRAIN = 32 << 20
JSON_CT = "application/json; charset=utf-8"

HTML_ERROR = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

FAULT_KINDS = ("status", "reset", "not_json", "slow", "truncate", "stall", "drop", "short_body", "corrupt")


def check_bcrypt(password, hashed):
    """True if password matches a bcrypt hash (the system's crypt(3))."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # deprecated in 3.11, still the stdlib's only bcrypt
    return crypt.crypt(password, hashed) == hashed


class TokenBucket:
    """Token bucket: burst = size, rate = tokens per second."""

    def __init__(self, burst, rate):
        self.lock = threading.Lock()
        self.configure(burst, rate)

    def configure(self, burst, rate):
        with self.lock:
            self.burst = max(1, int(burst))
            self.rate = max(float(rate), 1e-9)
            self.tokens = float(self.burst)
            self.last = time.monotonic()

    def _refill(self):
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
        self.last = now

    def _headers(self):
        if self.tokens >= self.burst:
            reset = int(time.time())
        else:
            frac = self.tokens - math.floor(self.tokens)
            reset = int(math.ceil(time.time() + (1.0 - frac) / self.rate))
        return {
            "x-ratelimit-limit": str(self.burst),
            "x-ratelimit-remaining": str(int(math.floor(self.tokens))),
            "x-ratelimit-reset": str(reset),
        }

    def take(self):
        """-> (allowed, headers)."""
        with self.lock:
            self._refill()
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True, self._headers()
            return False, self._headers()

    def peek(self):
        with self.lock:
            self._refill()
            return self._headers()


def _b64url(b):
    return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")


def _b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Fake:
    """Everything one fake tenant process holds."""

    def __init__(self, tenant, client_id, client_secret, scopes, cfg, tmpdir, log_file=None, quirks=None):
        self.tenant = tenant
        self.quirks = fake_quirks.apply(fake_quirks.defaults(), quirks or {})
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self.cfg = cfg  # rate_burst, rate_per_sec, job_rate, link_ttl, token_ttl
        self.tmpdir = tmpdir
        self.clock = Clock()
        self.sign_key = secrets.token_bytes(32)
        self.token_lock = threading.Lock()
        self.token_serial = 0
        self.expired_upto = 0
        self.bucket = TokenBucket(cfg["rate_burst"], cfg["rate_per_sec"])
        self.auth_bucket = TokenBucket(max(300, cfg["rate_burst"]), max(100.0, cfg["rate_per_sec"]))
        self.faults = []
        self.fault_lock = threading.Lock()
        self.log = []
        self.log_lock = threading.Lock()
        self.log_seq = 0
        self.log_file = open(log_file, "a", encoding="utf-8") if log_file else None
        # Messages the tenant would have sent to users (GET /__outbox): only
        # verification emails; the Management API never sends a passwordless
        # code.  Kept across /__load, like the request log.
        self.outbox = []
        self.outbox_lock = threading.Lock()
        self.api_url = None
        self.download_url = None
        self.jobs = JobManager(self)
        self.api = Api(self)

    def send_verification_email(self, uid, email):
        with self.outbox_lock:
            self.outbox.append({"kind": "verification_email", "user_id": uid, "email": email,
                                "t": round(self.clock.now(), 3)})

    # --- tokens ------------------------------------------------------------
    def issue_token(self):
        with self.token_lock:
            self.token_serial += 1
            serial = self.token_serial
        now = int(self.clock.now())
        ttl = int(self.cfg["token_ttl"])
        header = {"alg": "HS256", "typ": "JWT", "kid": "fake-" + self.tenant.domain}
        payload = {
            "iss": "https://%s/" % self.tenant.domain,
            "sub": "%s@clients" % self.client_id,
            "aud": "https://%s/api/v2/" % self.tenant.domain,
            "iat": now,
            "exp": now + ttl,
            "scope": " ".join(self.scopes),
            "gty": "client-credentials",
            "azp": self.client_id,
            "jti": "%d" % serial,
        }
        signing = _b64url(dumps(header).encode()) + "." + _b64url(dumps(payload).encode())
        sig = hmac.new(self.sign_key, signing.encode(), hashlib.sha256).digest()
        return signing + "." + _b64url(sig), ttl

    def check_token(self, auth):
        """Validate an Authorization header -> set of scopes, or ApiError."""
        if not auth:
            raise ApiError(401, "Missing authentication")
        m = re.match(r"^Bearer\s+(\S+)\s*$", auth)
        if not m:
            msg = "Bad HTTP authentication header format"
            raise ApiError(401, msg, extra={"attributes": {"error": msg}})
        parts = m.group(1).split(".")
        if len(parts) != 3:
            raise ApiError(401, "Invalid token", extra={"attributes": {"error": "Invalid token"}})
        try:
            sig = _b64url_dec(parts[2])
            payload = json.loads(_b64url_dec(parts[1]))
        except Exception:
            raise ApiError(401, "Invalid token", extra={"attributes": {"error": "Invalid token"}})
        want = hmac.new(self.sign_key, (parts[0] + "." + parts[1]).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(sig, want):
            msg = "Invalid signature received for JSON Web Token validation"
            raise ApiError(401, msg, extra={"attributes": {"error": msg}})
        serial = int(payload.get("jti", "0"))
        if serial <= self.expired_upto or self.clock.now() >= payload.get("exp", 0):
            msg = "Expired token received for JSON Web Token validation"
            raise ApiError(401, msg, extra={"attributes": {"error": msg}})
        return set(payload.get("scope", "").split())

    # --- faults ------------------------------------------------------------
    def add_faults(self, specs):
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list):
            raise ApiError(400, "fault spec must be an object or an array")
        clean = []
        for s in specs:
            if not isinstance(s, dict) or s.get("kind") not in FAULT_KINDS:
                raise ApiError(400, "fault kind must be one of %s" % ", ".join(FAULT_KINDS))
            f = dict(s)
            f.setdefault("method", "*")
            f.setdefault("path", ".*")
            f.setdefault("count", 1)
            try:
                f["_rx"] = re.compile(f["path"])
            except re.error as e:
                raise ApiError(400, "bad path regex: %s" % e)
            if f["kind"] == "status" and int(f.get("status", 0)) not in (400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504):
                raise ApiError(400, "status fault needs status 408|429|500|502|503 (or another 4xx/5xx)")
            if int(f["count"]) < 1:
                raise ApiError(400, "count must be >= 1")
            clean.append(f)
        with self.fault_lock:
            self.faults.extend(clean)

    def take_fault(self, method, path, listener):
        with self.fault_lock:
            for i, f in enumerate(self.faults):
                if f["method"] not in ("*", method):
                    continue
                if f.get("listener") not in (None, listener):
                    continue
                if not f["_rx"].search(path):
                    continue
                f["count"] = int(f["count"]) - 1
                if f["count"] <= 0:
                    del self.faults[i]
                return f
        return None

    def list_faults(self):
        with self.fault_lock:
            return [{k: v for k, v in f.items() if k != "_rx"} for f in self.faults]

    # --- log ---------------------------------------------------------------
    def record(self, entry):
        with self.log_lock:
            self.log_seq += 1
            entry["seq"] = self.log_seq
            self.log.append(entry)
            if self.log_file:
                self.log_file.write(dumps(entry) + "\n")
                self.log_file.flush()

    # --- config ------------------------------------------------------------
    def configure(self, kv):
        if not isinstance(kv, dict):
            raise ApiError(400, "config must be an object")
        for k in kv:
            if k not in ("rate_burst", "rate_per_sec", "job_rate", "link_ttl", "token_ttl"):
                raise ApiError(400, "unknown config key '%s'" % k)
        self.cfg.update(kv)
        if "rate_burst" in kv or "rate_per_sec" in kv:
            self.bucket.configure(self.cfg["rate_burst"], self.cfg["rate_per_sec"])
        return dict(self.cfg)


def _norm_params(qs):
    params = {}
    for k, v in urllib.parse.parse_qsl(qs, keep_blank_values=True):
        m = re.match(r"^(\w+)\[\d*\]$", k)
        if m:
            k = m.group(1)
        params.setdefault(k, []).append(v)
    return params


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-auth0"
    sys_version = ""
    timeout = 300
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stalls)
    fake = None  # set on the subclass
    listener = "api"

    def log_message(self, fmt, *args):  # silence the default stderr log
        pass

    def version_string(self):
        return self.server_version

    # --- body handling ------------------------------------------------------
    def _body_limit(self):
        path = urllib.parse.urlsplit(self.path).path
        if self.listener == "api" and path.startswith("/__"):
            return 1 << 31
        if path == "/api/v2/jobs/users-imports":
            return MAX_IMPORT_BODY
        return MAX_JSON_BODY

    def handle_expect_100(self):
        try:
            cl = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            cl = 0
        if cl > self._body_limit():
            self._expect_rejected = True
            return True  # answer 413 without asking for the body
        return super().handle_expect_100()

    def _read_body(self):
        """-> (bytes or None if too large, declared length)."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        limit = self._body_limit()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    self.close_connection = True
                    break
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = self.rfile.read(size)
                self.rfile.read(2)
                total += len(data)
                if total <= limit:
                    chunks.append(data)
            if total > limit:
                return None, total
            return b"".join(chunks), total
        try:
            cl = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            cl = 0
        if cl > limit:
            if getattr(self, "_expect_rejected", False) or cl > MAX_DRAIN:
                self.close_connection = True
            else:
                remaining = cl
                while remaining > 0:
                    got = self.rfile.read(min(remaining, 1 << 16))
                    if not got:
                        break
                    remaining -= len(got)
            return None, cl
        return (self.rfile.read(cl) if cl else b""), cl

    # --- sending -------------------------------------------------------------
    def _send(self, status, body, ctype=None, headers=None, mode=None):
        """Send a full response; mode applies a download-style fault."""
        body = body or b""
        if mode and mode["kind"] == "short_body":
            # A complete HTTP answer (its Content-Length honoured) whose body
            # is only the first half of what it should be.
            body = (body[0], body[1] // 2, body[2]) if isinstance(body, tuple) else body[: len(body) // 2]
            mode = None
        e = getattr(self, "_entry", None)
        if e is not None and e.get("status") is None:
            e["status"] = status
        self._log_now()
        self.send_response(status, REASONS.get(status))
        if ctype:
            self.send_header("Content-Type", ctype)
        length = len(body) if not isinstance(body, tuple) else body[1]
        self.send_header("Content-Length", str(length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if isinstance(body, tuple):  # (file path, length, offset)
            self._send_file(body, mode)
            return
        kind = mode["kind"] if mode else None
        if kind == "corrupt":
            body = _flip_middle_byte(body)
        if kind == "drop":
            self.wfile.flush()
            self._hard_close(rst=False)
            return
        if kind == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self._hard_close(rst=False)
            return
        if kind == "stall":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(float(mode.get("ms", 1000)) / 1000.0)
            self.wfile.write(body[len(body) // 2 :])
            return
        self.wfile.write(body)

    def _send_file(self, spec, mode):
        path, length, offset = spec
        kind = mode["kind"] if mode else None
        if kind == "drop":
            self.wfile.flush()
            self._hard_close(rst=False)
            return
        limit = length // 2 if kind in ("truncate", "stall") else length
        sent = 0
        with open(path, "rb") as f:
            f.seek(offset)
            while sent < limit:
                chunk = f.read(min(1 << 16, limit - sent))
                if not chunk:
                    break
                if kind == "corrupt" and sent <= length // 2 < sent + len(chunk):
                    i = length // 2 - sent
                    chunk = chunk[:i] + _flip_middle_byte(chunk[i:i + 1]) + chunk[i + 1:]
                self.wfile.write(chunk)
                sent += len(chunk)
            if kind == "truncate":
                self.wfile.flush()
                self._hard_close(rst=False)
                return
            if kind == "stall":
                self.wfile.flush()
                time.sleep(float(mode.get("ms", 1000)) / 1000.0)
                while sent < length:
                    chunk = f.read(min(1 << 16, length - sent))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)

    def _hard_close(self, rst):
        self._log_now()
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        except OSError:
            pass

    def _send_json(self, status, obj, headers=None, mode=None, ctype=JSON_CT):
        body = b"" if obj is None else dumps(obj).encode("utf-8")
        self._send(status, body, ctype, headers, mode)

    # --- dispatch ---------------------------------------------------------------
    def do_GET(self):
        self._dispatch()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        raw_path, qs = url.path, url.query
        if self.listener == "api" and raw_path.startswith("/__"):
            self._control(raw_path, qs)
            return
        entry = {
            "t": round(time.time(), 3),
            "listener": self.listener,
            "method": self.command,
            "path": raw_path,
            "query": qs,
            "status": None,
            "authorization": self.headers.get("Authorization") is not None,
            "content_type": self.headers.get("Content-Type"),
            "body_bytes": 0,
        }
        self._entry = entry
        try:
            self._handle(raw_path, qs, entry)
        finally:
            self._log_now()
            self._entry = None

    def _log_now(self):
        """Record the current request once, before its answer leaves, so
        a client that got the answer always finds it in /__log."""
        e = getattr(self, "_entry", None)
        if e is not None:
            self._entry = None
            self.fake.record(e)

    def _handle(self, raw_path, qs, entry):
        fake = self.fake
        body, declared = self._read_body()
        entry["body_bytes"] = declared
        fault = fake.take_fault(self.command, raw_path, self.listener)
        mode = None
        if fault is not None:
            entry["fault"] = fault["kind"]
            kind = fault["kind"]
            if kind == "slow":
                time.sleep(float(fault.get("ms", 1000)) / 1000.0)
            elif kind == "reset" and not fault.get("after"):
                entry["status"] = 0
                self._hard_close(rst=True)
                return
            elif kind == "status":
                st = int(fault["status"])
                entry["status"] = st
                hdrs = fake.bucket.peek() if self.listener == "api" else {}
                if st == 429:
                    hdrs["x-ratelimit-remaining"] = "0"
                    hdrs["x-ratelimit-reset"] = str(int(time.time()) + 1)
                    if fault.get("retry_after") is not None:
                        hdrs["Retry-After"] = str(fault["retry_after"])
                    eb = error_body(429, "Global limit has been reached", "too_many_requests")
                elif st >= 500:
                    eb = error_body(st, {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                                         504: "Gateway Timeout"}.get(st, "Server Error"))
                else:
                    eb = error_body(st, REASONS.get(st, "Error"))
                if self.listener == "download":
                    self._send(st, _s3_error("InternalError" if st >= 500 else "SlowDown", REASONS.get(st, "Error")),
                               "application/xml", hdrs)
                else:
                    self._send_json(st, eb, hdrs)
                return
            elif kind == "not_json":
                st = int(fault.get("status", 502))
                entry["status"] = st
                self._send(st, HTML_ERROR, "text/html", fake.bucket.peek() if self.listener == "api" else {})
                return
            elif kind in ("truncate", "stall", "drop", "short_body", "corrupt"):
                mode = fault
        if fault is not None and fault["kind"] == "reset" and fault.get("after"):
            mode = {"kind": "_reset_after"}
        if self.listener == "download":
            self._download(raw_path, qs, body, entry, mode)
        else:
            self._api(raw_path, qs, body, entry, mode)

    def _finish_send(self, entry, status, obj, headers, mode, ctype=JSON_CT):
        entry["status"] = status
        if mode and mode["kind"] == "_reset_after":
            entry["fault"] = "reset_after"
            self._hard_close(rst=True)
            return
        self._send_json(status, obj, headers, mode, ctype)

    def _api(self, raw_path, qs, body, entry, mode):
        fake = self.fake
        if raw_path == "/oauth/token":
            ok, hdrs = fake.auth_bucket.take()
            if not ok:
                entry["rate_limited"] = True
                self._finish_send(entry, 429, {"error": "too_many_requests", "error_description": "Rate limit exceeded"}, hdrs, mode)
                return
            hdrs.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
            if body is None:
                self._finish_send(entry, 413, {"error": "invalid_request", "error_description": "Payload too large"}, hdrs, mode)
                return
            status, obj = self._token(body)
            self._finish_send(entry, status, obj, hdrs, mode)
            return
        if not raw_path.startswith("/api/v2/"):
            self._finish_send(entry, 404, error_body(404, "Not Found"), {}, mode)
            return
        ok, hdrs = fake.bucket.take()
        if not ok:
            entry["rate_limited"] = True
            self._finish_send(entry, 429, error_body(429, "Global limit has been reached", "too_many_requests"), hdrs, mode)
            return
        if body is None:
            limit = MAX_IMPORT_BODY if raw_path == "/api/v2/jobs/users-imports" else MAX_JSON_BODY
            self._finish_send(entry, 413, error_body(413, "Payload content length greater than maximum allowed: %d." % limit), hdrs, mode)
            return
        if len(self.path) > 16384:
            self._finish_send(entry, 414, error_body(414, "Request-URI Too Large"), hdrs, mode)
            return
        sub = raw_path[len("/api/v2") :]
        ctype = JSON_CT
        try:
            scopes = fake.check_token(self.headers.get("Authorization"))
            route = fake.api.match(self.command, sub)
            if route is None:
                raise ApiError(404, "Not Found")
            fn, smode, need, args = route
            fake.api.check_scopes(scopes, smode, need)
            req = Req(self.command, sub, _norm_params(qs), body, self.headers.get("Content-Type"), scopes, self.headers)
            req.args = args
            try:
                status, obj = fn(req)
            finally:
                if req.job_id:
                    entry["job_id"] = req.job_id
            if fn.__name__ == "get_errors":
                ctype = "application/json"
        except ApiError as e:
            status, obj = e.status, e.body()
        except Exception:  # a bug in the fake: answer 500 and say why on stderr
            traceback.print_exc()
            status, obj = 500, error_body(500, "fake tenant internal error")
        self._finish_send(entry, status, obj, hdrs, mode, ctype)

    def _token(self, body):
        fake = self.fake
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if ct == "application/x-www-form-urlencoded":
                form = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            elif ct == "application/json":
                form = json.loads(body)
                if not isinstance(form, dict):
                    raise ValueError
            else:
                return 400, {"error": "invalid_request", "error_description": "Unsupported content type: %s" % (ct or "none")}
        except (ValueError, UnicodeDecodeError):
            return 400, {"error": "invalid_request", "error_description": "Invalid request body"}
        basic = self.headers.get("Authorization") or ""
        if basic.startswith("Basic "):
            try:
                cid, _, sec = base64.b64decode(basic[6:]).decode("utf-8").partition(":")
                form.setdefault("client_id", urllib.parse.unquote(cid))
                form.setdefault("client_secret", urllib.parse.unquote(sec))
            except Exception:
                return 400, {"error": "invalid_request", "error_description": "Bad Authorization header"}
        gt = form.get("grant_type")
        if not gt:
            return 400, {"error": "invalid_request", "error_description": "Missing required parameter: grant_type"}
        if gt != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type: %s" % gt}
        if not form.get("client_id"):
            return 401, {"error": "invalid_client", "error_description": "Missing required parameter: client_id"}
        if form.get("client_id") != fake.client_id or not hmac.compare_digest(
            str(form.get("client_secret", "")).encode(), fake.client_secret.encode()
        ):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        aud = form.get("audience")
        if aud != "https://%s/api/v2/" % fake.tenant.domain:
            return 403, {"error": "access_denied", "error_description": "Service not enabled within domain: %s" % aud}
        tok, ttl = fake.issue_token()
        return 200, {"access_token": tok, "scope": " ".join(fake.scopes), "expires_in": ttl, "token_type": "Bearer"}

    # --- download listener --------------------------------------------------------
    def _download(self, raw_path, qs, body, entry, mode):
        jobs = self.fake.jobs
        m = re.match(r"^/(job_[A-Za-z0-9]+)/", raw_path)
        if m:
            entry["job_id"] = m.group(1)
        if self.command not in ("GET", "HEAD"):
            self._xml(entry, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", mode)
            return
        if self.headers.get("Authorization") is not None:
            self._xml(entry, 403, "InvalidArgument",
                      "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                      "string parameter or the Authorization header should be specified", mode)
            return
        job, err = jobs.resolve_download(raw_path, urllib.parse.parse_qs(qs, keep_blank_values=True))
        if err:
            self._xml(entry, err[0], err[1], err[2], mode)
            return
        size = os.path.getsize(job.file_path)
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        hdrs = {"Accept-Ranges": "bytes", "ETag": '"%s"' % hashlib.md5(job.id.encode()).hexdigest(),
                "Last-Modified": self.date_time_string(int(job.created))}
        if rng:
            rm = re.match(r"^bytes=(\d*)-(\d*)$", rng.strip())
            if not rm or (rm.group(1) == "" and rm.group(2) == ""):
                self._xml(entry, 416, "InvalidRange", "The requested range is not satisfiable", mode)
                return
            if rm.group(1) == "":
                n = int(rm.group(2))
                start = max(0, size - n)
            else:
                start = int(rm.group(1))
                if rm.group(2):
                    end = min(size - 1, int(rm.group(2)))
            if start >= size or start > end:
                hdrs["Content-Range"] = "bytes */%d" % size
                self._xml(entry, 416, "InvalidRange", "The requested range is not satisfiable", mode, hdrs)
                return
            status = 206
            hdrs["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        entry["status"] = status
        if mode and mode["kind"] == "_reset_after":
            entry["fault"] = "reset_after"
            self._hard_close(rst=True)
            return
        self._send(status, (job.file_path, end - start + 1, start), "application/gzip", hdrs, mode)

    def _xml(self, entry, status, code, message, mode, headers=None):
        entry["status"] = status
        self._send(status, _s3_error(code, message), "application/xml", headers or {}, mode)

    # --- control endpoints ----------------------------------------------------------
    def _control(self, path, qs):
        fake = self.fake
        body, _ = self._read_body()
        try:
            data = None
            if body:
                try:
                    data = json.loads(body)
                except ValueError:
                    raise ApiError(400, "control body must be JSON")
            key = (self.command, path)
            if key == ("GET", "/__health"):
                out = {"ok": True}
            elif key == ("GET", "/__state"):
                with fake.tenant.lock:
                    raw = fake.tenant.state_bytes()
                self._send(200, raw, JSON_CT)
                return
            elif key == ("POST", "/__load"):
                with fake.tenant.lock:
                    fake.tenant.load(data)
                    out = {"users": len(fake.tenant.users)}
            elif key == ("GET", "/__log"):
                with fake.log_lock:
                    out = list(fake.log)
            elif key == ("DELETE", "/__log"):
                with fake.log_lock:
                    fake.log.clear()
                self._send(204, b"")
                return
            elif key == ("GET", "/__outbox"):
                with fake.outbox_lock:
                    out = list(fake.outbox)
            elif key == ("DELETE", "/__outbox"):
                with fake.outbox_lock:
                    fake.outbox.clear()
                self._send(204, b"")
                return
            elif key == ("GET", "/__faults"):
                out = fake.list_faults()
            elif key == ("POST", "/__faults"):
                fake.add_faults(data)
                out = fake.list_faults()
            elif key == ("DELETE", "/__faults"):
                with fake.fault_lock:
                    fake.faults.clear()
                self._send(204, b"")
                return
            elif key == ("POST", "/__jobs/fail"):
                d = data or {}
                fake.jobs.fail(d.get("type"), d.get("count", 1), str(d.get("errors", "job")))
                out = {"ok": True}
            elif key == ("GET", "/__jobs"):
                out = fake.jobs.describe()
            elif key == ("POST", "/__token/expire"):
                with fake.token_lock:
                    fake.expired_upto = fake.token_serial
                out = {"expired_upto": fake.expired_upto}
            elif key == ("GET", "/__quirks"):
                out = dict(fake.quirks)
            elif key == ("POST", "/__quirks"):
                with fake.tenant.lock:
                    out = dict(fake_quirks.apply(fake.quirks, data or {}))
            elif key == ("DELETE", "/__quirks"):
                with fake.tenant.lock:
                    fake.quirks.clear()
                    fake.quirks.update(fake_quirks.defaults())
                    out = dict(fake.quirks)
            elif key == ("POST", "/__config"):
                out = fake.configure(data or {})
            elif key == ("POST", "/__login"):
                # A password login (what Auth0's Resource Owner grant checks),
                # for tests of --test-password-env: {"user_id","password"}.
                d = data or {}
                with fake.tenant.lock:
                    h = fake.tenant.passwords.get(d.get("user_id"))
                out = {"ok": bool(h) and check_bcrypt(str(d.get("password", "")), h)}
            elif key == ("POST", "/__clock"):
                d = data or {}
                if d.get("freeze") is True:
                    fake.clock.freeze()
                elif d.get("freeze") is False:
                    fake.clock.unfreeze()
                if d.get("advance"):
                    fake.clock.advance(float(d["advance"]))
                out = {"now": fake.clock.now(), "frozen": fake.clock.frozen is not None}
            else:
                raise ApiError(404, "no such control endpoint")
            self._send_json(200, out)
        except ApiError as e:
            self._send_json(e.status, e.body())
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            self._send_json(400, error_body(400, "bad control request: %s" % e))


def _flip_middle_byte(data):
    """data with its middle byte inverted (a download that arrives whole but
    damaged: gzip's integrity check fails)."""
    if not data:
        return data
    m = len(data) // 2
    return data[:m] + bytes([data[m] ^ 0xFF]) + data[m + 1:]


def _s3_error(code, message):
    rid = secrets.token_hex(8).upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
        "<RequestId>%s</RequestId><HostId>%s</HostId></Error>" % (code, message, rid, _b64url(secrets.token_bytes(24)))
    ).encode("utf-8")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(fake, listener, port):
    handler = type("Handler_" + listener, (Handler,), {"fake": fake, "listener": listener})
    return Server(("127.0.0.1", port), handler)
