"""Export jobs: validation, lifecycle, signed download links, file contents."""

import gzip
import http.client
import os
import sys
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, conn_id, eq, ndjson_gz, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

T = FakeTenant("exports.example.com", seed=5, users=600)
TOK = T.token()
FIELDS = [{"name": "user_id"}, {"name": "email"}, {"name": "username"}, {"name": "app_metadata"},
          {"name": "identities"}, {"name": "phone_number"}]


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def fetch(url, headers=None):
    """GET a download URL with http.client (no redirects, raw bytes)."""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        c.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def finish(job_id):
    """Advance the (frozen) clock until the job is done; return the job.

    Bounded by real time, not by a number of steps, so a slow machine
    (the worker thread starved for a while) cannot fail it."""
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        st, _, j = api("GET", "/jobs/" + job_id)
        eq(st, 200, "poll")
        if j["status"] in ("completed", "failed"):
            return j
        T.clock(advance=1)
        time.sleep(0.01)
    raise AssertionError("job never finished")


def test_validation():
    db = conn_id(T, "legacy-db", TOK)
    eq(api("POST", "/jobs/users-exports", {"connection_id": "con_bad"})[0], 400, "pattern")
    st, _, body = api("POST", "/jobs/users-exports", {"connection_id": "con_AAAAAAAAAAAAAAAA"})
    eq((st, body["message"]), (400, "The connection does not exist."), "unknown connection")
    st, _, body = api("POST", "/jobs/users-exports", {"connection_id": db, "extra": 1})
    eq(st, 400, "additionalProperties false")
    check("extra" in body["message"], body["message"])
    eq(api("POST", "/jobs/users-exports", {"format": "xml"})[0], 400, "format enum")
    eq(api("POST", "/jobs/users-exports", {"limit": 0})[0], 400, "limit minimum")
    eq(api("POST", "/jobs/users-exports", {"fields": [{"export_as": "x"}]})[0], 400, "field name required")
    eq(api("POST", "/jobs/users-exports", {"fields": [{"name": "x" * 101}]})[0], 400, "field name maxLength")
    eq(api("GET", "/jobs/job_AAAAAAAAAAAAAAAA")[0], 404, "unknown job")


def test_lifecycle_and_download():
    db = conn_id(T, "legacy-db", TOK)
    T.clock(freeze=True)
    try:
        st, _, job = api("POST", "/jobs/users-exports", {"connection_id": db, "format": "json", "fields": FIELDS})
        eq(st, 200, "created (OAS: 200)")
        eq((job["type"], job["status"], job["connection_id"], job["connection"], job["format"]),
           ("users_export", "pending", db, "legacy-db", "json"), "created body")
        check(job["id"].startswith("job_") and len(job["id"]) == 20, "job id")
        eq(api("GET", "/jobs/" + job["id"])[2]["status"], "pending", "still pending while the clock stands")
        T.clock(advance=0.15)
        st, _, j = api("GET", "/jobs/" + job["id"])
        eq(j["status"], "processing", "processing")
        check(0 <= j["percentage_done"] < 100 and j["time_left_seconds"] >= 0, "progress fields")
        check("location" not in j, "no location yet")
        j = finish(job["id"])
        eq(j["status"], "completed", "completed")
        loc = j["location"]
        check(loc.startswith(T.download_url + "/" + job["id"] + "/") and ".json.gz?" in loc, loc)
        check("Expires=" in loc and "Signature=" in loc, "signed")
        st, h, data = fetch(loc)
        eq(st, 200, "download")
        eq(int(h["content-length"]), len(data), "Content-Length")
        check("content-encoding" not in h, "served as a gzip file, not content-encoded")
        rows = ndjson_gz(data)
        state = T.state()
        want = [u for u in state["users"] if u["identities"][0]["connection"] == "legacy-db"]
        eq(len(rows), len(want), "only the job's connection")
        names = {f["name"] for f in FIELDS}
        check(all(set(r) <= names for r in rows), "exactly the requested fields")
        by_id = {u["user_id"]: u for u in want}
        for r in rows:
            src = by_id[r["user_id"]]
            eq(r, {k: src[k] for k in names if k in src}, "row matches the user")
        check(any("phone_number" not in r for r in rows), "a missing value is omitted")
        # a token on the download host is refused, and logged as such
        T.clear_log()
        st, h, body = fetch(loc, {"Authorization": "Bearer " + TOK})
        eq(st, 403, "Authorization header refused")
        check(body.startswith(b"<?xml") and b"<Error>" in body, "S3-style XML")
        dl = [e for e in T.log() if e["listener"] == "download"]
        eq((dl[-1]["authorization"], dl[-1]["status"], dl[-1]["job_id"]), (True, 403, job["id"]), "logged")
        # tampered signature
        eq(fetch(loc[:-3] + "abc")[0], 403, "bad signature")
        eq(fetch(loc.split("?")[0])[0], 403, "unsigned")
        # expiry (link_ttl 60 s by default), then a fresh link from a new GET
        T.clock(advance=61)
        st, _, body = fetch(loc)
        eq(st, 403, "expired link")
        check(b"expired" in body, "says expired")
        st, _, j2 = api("GET", "/jobs/" + job["id"])
        check(j2["location"] != loc, "a fresh link on each GET")
        st, _, data2 = fetch(j2["location"])
        eq((st, data2), (200, data), "fresh link works, same file")
    finally:
        T.clock(freeze=False)


def test_point_in_time_and_limit():
    T.clock(freeze=True)
    try:
        st, _, job = api("POST", "/jobs/users-exports", {"format": "json", "fields": [{"name": "user_id"}, {"name": "email"}]})
        check("connection" not in job and "connection_id" not in job, "no connection fields without connection_id")
        before = {u["user_id"] for u in T.state()["users"]}
        st, _, u = api("POST", "/users", {"connection": "Username-Password-Authentication", "email": "late@example.com",
                                           "password": "Secr3t!pass"})
        victim = sorted(before)[0]
        eq(api("DELETE", "/users/" + urllib.parse.quote(victim, safe=""))[0], 204, "delete during the job")
        j = finish(job["id"])
        rows = ndjson_gz(fetch(j["location"])[2])
        eq({r["user_id"] for r in rows}, before, "the file is a copy taken at creation")
        st, _, job = api("POST", "/jobs/users-exports", {"limit": 7, "fields": [{"name": "email"}]})
        eq(job["limit"], 7, "limit echoed")
        rows = ndjson_gz(fetch(finish(job["id"])["location"])[2])
        eq(len(rows), 7, "limit honoured")
        check(all(list(r) == ["email"] for r in rows), "only email")
    finally:
        T.clock(freeze=False)


def test_csv_and_range():
    T.clock(freeze=True)
    try:
        st, _, job = api("POST", "/jobs/users-exports", {"format": "csv", "limit": 3, "fields": [
            {"name": "user_id", "export_as": "id"}, {"name": "created_at"}, {"name": "logins_count"}]})
        j = finish(job["id"])
        check(".csv.gz?" in j["location"], "csv name")
        st, h, data = fetch(j["location"])
        lines = gzip.decompress(data).decode().splitlines()
        eq(lines[0], "id,created_at,logins_count", "header uses export_as")
        check(lines[1].startswith("\"'"), "strings OWASP-escaped: %s" % lines[1])
        check(lines[1].split(",")[1].endswith("Z"), "dates not escaped")
        st, h, part = fetch(j["location"], {"Range": "bytes=5-"})
        eq((st, part), (206, data[5:]), "range request")
        eq(h["content-range"], "bytes 5-%d/%d" % (len(data) - 1, len(data)), "content-range")
    finally:
        T.clock(freeze=False)


def test_download_faults():
    T.clock(freeze=True)
    try:
        st, _, job = api("POST", "/jobs/users-exports", {"fields": [{"name": "user_id"}, {"name": "user_metadata"}]})
        loc = finish(job["id"])["location"]
        full = fetch(loc)[2]
        T.fault(kind="truncate", path=r"^/job_", listener="download")
        try:
            fetch(loc)
            raise AssertionError("truncated download should fail")
        except http.client.IncompleteRead as e:
            check(len(e.partial) < len(full), "only part of the body")
        T.fault(kind="drop", path=r"\.json\.gz$")
        try:
            fetch(loc)
            raise AssertionError("dropped download should fail")
        except (http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionError):
            pass
        T.fault(kind="short_body", path=r"\.json\.gz$", listener="download")
        st, h, part = fetch(loc)
        eq((st, part), (200, full[: len(full) // 2]), "a complete answer with half the file")
        eq(int(h["content-length"]), len(full) // 2, "its Content-Length is honoured")
        T.fault(kind="corrupt", path=r"\.json\.gz$", listener="download")
        st, _, bad = fetch(loc)
        eq((st, len(bad)), (200, len(full)), "a corrupt file arrives whole")
        check(bad != full and bad[: len(full) // 2] == full[: len(full) // 2], "its middle byte differs")
        try:
            gzip.decompress(bad)
            raise AssertionError("the corrupt file should not decompress")
        except (OSError, EOFError, zlib.error):
            pass
        T.fault(kind="stall", path=r"\.json\.gz$", ms=300)
        eq(fetch(loc)[2], full, "a stall still delivers the whole file")
        eq(fetch(loc)[2], full, "faults are consumed")
        st, _, _ = api("GET", "/jobs/" + job["id"])
        eq(st, 200, "a download-path fault does not touch the API")
    finally:
        T.clock(freeze=False)
        T.clear_faults()


def test_failed_jobs():
    T.clock(freeze=True)
    try:
        for shape, want in (("job", 200), ("204", 204), ("array", 200)):
            T.fail_jobs("users_export", 1, shape)
            st, _, job = api("POST", "/jobs/users-exports", {"fields": [{"name": "user_id"}]})
            j = finish(job["id"])
            eq(j["status"], "failed", "failed")
            check("location" not in j, "no location on failure")
            st, h, body = api("GET", "/jobs/%s/errors" % job["id"])
            eq(st, want, "errors shape %s" % shape)
            if shape == "job":
                eq((body["id"], body["status"], body["type"]), (job["id"], "failed", "users_export"), "job object")
            if shape == "array":
                check(isinstance(body, list) and body[0]["errors"], "array")
        st, _, job = api("POST", "/jobs/users-exports", {"fields": [{"name": "user_id"}]})
        eq(finish(job["id"])["status"], "completed", "the next job succeeds")
        eq(api("GET", "/jobs/%s/errors" % job["id"])[0], 204, "no errors -> 204")
    finally:
        T.clock(freeze=False)


def test_small_link_ttl_real_time():
    import time

    with FakeTenant("ttl.example.com", seed=1, users=10, link_ttl=1) as t:
        tok = t.token()
        st, _, job = t.api("POST", "/jobs/users-exports", {"fields": [{"name": "user_id"}]}, token=tok)
        deadline = time.monotonic() + 30
        while True:
            st, _, j = t.api("GET", "/jobs/" + job["id"], token=tok)
            if j["status"] == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        eq(j["status"], "completed", "completed")
        time.sleep(2.2)  # only the lower bound matters: the link is at least this old
        st, _, body = fetch(j["location"])
        eq(st, 403, "a 1 s link is dead after 2 s")
        t.config(link_ttl=-1)
        st, _, j = t.api("GET", "/jobs/" + job["id"], token=tok)
        eq(fetch(j["location"])[0], 403, "negative link_ttl gives links that are already expired")


def test_real_time_completion():
    # without a frozen clock the job completes by itself within ~0.3 s
    st, _, job = api("POST", "/jobs/users-exports", {"limit": 5, "fields": [{"name": "user_id"}]})
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        st, _, j = api("GET", "/jobs/" + job["id"])
        if j["status"] == "completed":
            eq(len(ndjson_gz(fetch(j["location"])[2])), 5, "five rows")
            return
        time.sleep(0.05)
    raise AssertionError("job did not complete in real time")


run(globals())
