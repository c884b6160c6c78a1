"""Tiny helpers shared by the fake's self-tests (tests/fake/test_*.py).

run(globals()) runs every test_* function of the calling module in
definition order, prints one line per test, then "N passed, N failed",
and exits non-zero on any failure.
"""

import gzip
import json
import os
import sys
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def run(ns):
    tests = [(n, f) for n, f in ns.items() if n.startswith("test_") and callable(f)]
    only = os.environ.get("FAKE_TEST_ONLY")
    passed = failed = 0
    for name, fn in tests:
        if only and only not in name:
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Exception:
            failed += 1
            print("FAIL %s (%.2fs)" % (name, time.monotonic() - t0))
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what or "value", got, want))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def multipart(parts, boundary=None):
    """parts: list of (name, value(bytes|str), filename|None, content_type|None)."""
    b = boundary or uuid.uuid4().hex
    out = []
    for name, value, filename, ctype in parts:
        if isinstance(value, str):
            value = value.encode("utf-8")
        cd = 'form-data; name="%s"' % name
        if filename is not None:
            cd += '; filename="%s"' % filename
        out.append(b"--" + b.encode() + b"\r\n")
        out.append(("Content-Disposition: %s\r\n" % cd).encode())
        if ctype:
            out.append(("Content-Type: %s\r\n" % ctype).encode())
        out.append(b"\r\n" + value + b"\r\n")
    out.append(b"--" + b.encode() + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + b


def import_body(connection_id, users, upsert=None, send_completion_email=False, external_id=None):
    parts = [("connection_id", connection_id, None, None)]
    if upsert is not None:
        parts.append(("upsert", "true" if upsert else "false", None, None))
    if external_id is not None:
        parts.append(("external_id", external_id, None, None))
    if send_completion_email is not None:
        parts.append(("send_completion_email", "true" if send_completion_email else "false", None, None))
    users_bytes = users if isinstance(users, (bytes, str)) else json.dumps(users)
    parts.append(("users", users_bytes, "users.json", "application/json"))
    return multipart(parts)


def ndjson_gz(data):
    return [json.loads(line) for line in gzip.decompress(data).decode("utf-8").splitlines() if line.strip()]


def conn_id(t, name, token=None):
    st, _, body = t.api("GET", "/connections?name=" + name, token=token)
    eq(st, 200, "list connections")
    return body[0]["id"]


def fetch(url, headers=None):
    """GET a download URL with http.client (no redirects, raw bytes)."""
    import http.client
    import urllib.parse

    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        c.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def export_rows(t, body, token=None):
    """Run an export job on fake t (advancing its clock until the job is
    done, bounded by real time) and return the NDJSON rows of its file."""
    st, _, job = t.api("POST", "/jobs/users-exports", body, token=token)
    eq(st, 200, "export created")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        st, _, j = t.api("GET", "/jobs/" + job["id"], token=token)
        eq(st, 200, "poll")
        if j["status"] == "completed":
            st, _, data = fetch(j["location"])
            eq(st, 200, "download")
            return ndjson_gz(data)
        check(j["status"] != "failed", "export failed")
        t.clock(advance=1)
        time.sleep(0.01)
    raise AssertionError("export never finished")
