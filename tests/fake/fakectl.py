"""Start and drive a fake Auth0 tenant from Python tests.

    sys.path.insert(0, "<repo>/tests/fake")
    from fakectl import FakeTenant

    with FakeTenant("prod.example.com", seed=1, users=500) as t:
        env = dict(os.environ, **t.env())     # AUTH0_DOMAIN, AUTH0_CLIENT_ID,
        ...                                   # AUTH0_CLIENT_SECRET, A0SNAP_API_URL
        doc = t.state()                       # the whole tenant (/__state)

FakeTenant(domain, seed=None, users=0, scopes=None, **opts) starts
tests/fake/fake_tenant.py; opts map to its flags (rate_burst=5 ->
--rate-burst 5; True -> a bare flag).  scopes is a string or a list.
The process is killed by stop(), by the with-block, at interpreter exit
(atexit), and by itself when this process dies (its stdin is a pipe).

Methods (all raise FakeError on an unexpected control answer):
  state() -> dict            load(doc)                 log() -> list
  clear_log()                fault(**spec)             faults() -> list
  clear_faults()             fail_jobs(type, count=1, errors="job")
  expire_tokens()            config(**kv) -> dict      jobs() -> list
  quirks(**kv) -> dict       reset_quirks() -> dict
  clock(freeze=None, advance=None)                     stop()
  outbox() -> list           clear_outbox()
  token() -> str (a fresh access token)
  api(method, path, body=None, token=None, headers=None, raw=False)
      -> (status, headers, parsed JSON | bytes | None)
"""

import atexit
import json
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_tenant.py")


class FakeError(RuntimeError):
    pass


class FakeTenant:
    def __init__(self, domain, seed=None, users=0, scopes=None, ready_timeout=900, **opts):
        self.domain = domain
        args = [sys.executable, FAKE, "--domain", domain, "--exit-on-stdin-eof"]
        if seed is not None:
            args += ["--seed", str(seed)]
        if users:
            args += ["--users", str(users)]
        if scopes is not None:
            args += ["--scopes", scopes if isinstance(scopes, str) else " ".join(scopes)]
        for k, v in opts.items():
            flag = "--" + k.replace("_", "-")
            if isinstance(v, dict):
                args += [flag, json.dumps(v)]
            elif v is True:
                args.append(flag)
            elif v is False or v is None:
                continue
            else:
                args += [flag, str(v)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        atexit.register(self.stop)
        line = b""
        deadline = time.monotonic() + ready_timeout
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise FakeError("fake tenant '%s' did not become ready (exit %s)" % (domain, self.proc.poll()))
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if r:
                ch = os.read(self.proc.stdout.fileno(), 4096)
                if not ch:
                    continue
                line += ch
        info = json.loads(line.decode("utf-8"))
        self.info = info
        self.api_url = info["api_url"]
        self.download_url = info["download_url"]
        self.client_id = info["client_id"]
        self.client_secret = info["client_secret"]
        self.pid = info["pid"]

    # --- lifecycle -------------------------------------------------------
    def stop(self):
        p = getattr(self, "proc", None)
        if p is None or p.poll() is not None:
            return
        try:
            p.terminate()
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        finally:
            for f in (p.stdin, p.stdout):
                try:
                    f.close()
                except Exception:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def env(self):
        return {
            "AUTH0_DOMAIN": self.domain,
            "AUTH0_CLIENT_ID": self.client_id,
            "AUTH0_CLIENT_SECRET": self.client_secret,
            "A0SNAP_API_URL": self.api_url,
        }

    # --- plumbing ----------------------------------------------------------
    def _http(self, method, url, body=None, headers=None, timeout=120):
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            else:
                data = json.dumps(body).encode("utf-8")
                hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def _control(self, method, path, body=None):
        status, _, raw = self._http(method, self.api_url + path, body)
        if status not in (200, 204):
            raise FakeError("%s %s -> %d %s" % (method, path, status, raw[:300]))
        return json.loads(raw) if raw else None

    # --- control endpoints ---------------------------------------------------
    def state(self):
        return self._control("GET", "/__state")

    def load(self, doc):
        return self._control("POST", "/__load", doc)

    def log(self):
        return self._control("GET", "/__log")

    def clear_log(self):
        self._control("DELETE", "/__log")

    def outbox(self):
        """Messages the tenant sent: [{kind:"verification_email", user_id, email, t}]."""
        return self._control("GET", "/__outbox")

    def clear_outbox(self):
        self._control("DELETE", "/__outbox")

    def fault(self, **spec):
        return self._control("POST", "/__faults", spec)

    def faults(self):
        return self._control("GET", "/__faults")

    def clear_faults(self):
        self._control("DELETE", "/__faults")

    def fail_jobs(self, type, count=1, errors="job"):
        return self._control("POST", "/__jobs/fail", {"type": type, "count": count, "errors": errors})

    def jobs(self):
        return self._control("GET", "/__jobs")

    def expire_tokens(self):
        return self._control("POST", "/__token/expire")

    def config(self, **kv):
        return self._control("POST", "/__config", kv)

    def quirks(self, **kv):
        """Merge quirk settings (README "Quirks"); returns the full set.
        quirks() alone only reads them."""
        if not kv:
            return self._control("GET", "/__quirks")
        return self._control("POST", "/__quirks", kv)

    def reset_quirks(self):
        return self._control("DELETE", "/__quirks")

    def login(self, user_id, password):
        """True if the user was imported with a password_hash matching password."""
        return self._control("POST", "/__login", {"user_id": user_id, "password": password})["ok"]

    def clock(self, freeze=None, advance=None):
        body = {}
        if freeze is not None:
            body["freeze"] = freeze
        if advance is not None:
            body["advance"] = advance
        return self._control("POST", "/__clock", body)

    # --- API helpers (for tests of the fake and quick checks) ----------------
    def token(self, audience=None):
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "audience": audience or "https://%s/api/v2/" % self.domain,
        }).encode()
        # The token endpoint has its own rate limit (as Auth0's does): a
        # 429 waits for the bucket, a few times, like a real client would.
        for attempt in range(6):
            status, h, raw = self._http("POST", self.api_url + "/oauth/token", form,
                                        {"Content-Type": "application/x-www-form-urlencoded"})
            if status != 429:
                break
            time.sleep(0.2 * (attempt + 1))
        if status != 200:
            raise FakeError("token request -> %d %s" % (status, raw[:200]))
        return json.loads(raw)["access_token"]

    def _session_token(self, fresh=False):
        """One token reused across api() calls, as a client keeps its token
        until it expires (asking for one per call drains the token bucket)."""
        if fresh or not getattr(self, "_token", None):
            self._token = self.token()
        return self._token

    def api(self, method, path, body=None, token=None, headers=None, raw=False):
        """Call /api/v2 + path (path may include a query string)."""
        hdrs = dict(headers or {})
        session = token is None
        if session:
            token = self._session_token()
        if token:
            hdrs["Authorization"] = "Bearer " + token
        status, h, data = self._http(method, self.api_url + "/api/v2" + path, body, hdrs)
        if session and status == 401:  # expired (the fake's clock moved) or revoked
            hdrs["Authorization"] = "Bearer " + self._session_token(fresh=True)
            status, h, data = self._http(method, self.api_url + "/api/v2" + path, body, hdrs)
        h = {k.lower(): v for k, v in h.items()}
        if raw:
            return status, h, data
        if not data:
            return status, h, None
        try:
            return status, h, json.loads(data)
        except ValueError:
            return status, h, data
