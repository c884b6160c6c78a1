"""Import jobs: multipart rules, limits, concurrency, upsert semantics, errors."""

import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, conn_id, eq, import_body, multipart, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

T = FakeTenant("imports.example.com")
TOK = T.token()
DB = "Username-Password-Authentication"
CID = conn_id(T, DB, TOK)


def api(method, path, body=None, headers=None):
    return T.api(method, path, body, token=TOK, headers=headers)


def post_import(body_ctype):
    body, ctype = body_ctype
    return api("POST", "/jobs/users-imports", body, {"Content-Type": ctype})


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


def run_import(users, **kw):
    st, _, job = post_import(import_body(kw.pop("connection_id", CID), users, **kw))
    eq(st, 202, "import accepted: %s" % (job,))
    return finish(job["id"])


def user(email):
    st, _, body = api("GET", "/users-by-email?email=" + urllib.parse.quote(email))
    return body[0] if body else None


def setup():
    T.clock(freeze=True)


def test_accepted_body_and_record():
    st, h, job = post_import(import_body(CID, [{"email": "a1@example.com"}], upsert=False, send_completion_email=None,
                                         external_id="ext-1"))
    eq(st, 202, "202")
    eq((job["type"], job["status"], job["connection_id"], job["connection"], job["external_id"]),
       ("users_import", "pending", CID, DB, "ext-1"), "body")
    check("created_at" in job and job["id"].startswith("job_"), "created_at and id")
    rec = [j for j in T.jobs() if j["id"] == job["id"]][0]
    eq(rec["send_completion_email"], True, "send_completion_email defaults to true when the part is absent")
    st, _, job2 = post_import(import_body(CID, [{"email": "a2@example.com"}], send_completion_email=False))
    rec = [j for j in T.jobs() if j["id"] == job2["id"]][0]
    eq(rec["send_completion_email"], False, "explicit false recorded")
    finish(job["id"])
    finish(job2["id"])


def test_request_errors():
    def err(parts_or_body, ctype=None):
        if ctype is None:
            body, ctype = multipart(parts_or_body)
        else:
            body = parts_or_body
        st, _, b = api("POST", "/jobs/users-imports", body, {"Content-Type": ctype})
        return st, b.get("message") if isinstance(b, dict) else b

    users = ("users", "[]", "users.json", "application/json")
    eq(err([("connection_id", CID, None, None)]), (400, "Must provide 'users' file as multipart part."), "no users")
    eq(err([("connection_id", CID, None, None), ("users", '[{"email":"x@y.example"}]', None, None)])[0], 400,
       "users must be a file part")
    eq(err([users]), (400, "Must provide 'connection_id' as multipart part."), "no connection_id")
    st, msg = err([("connection_id", "con_123", None, None), users])
    eq(st, 400, "pattern")
    check("String does not match pattern ^con_[A-Za-z0-9]{16}$" in msg, msg)
    eq(err([("connection_id", "con_AAAAAAAAAAAAAAAA", None, None), users]), (400, "The connection does not exist."), "unknown")
    gid = conn_id(T, "google-oauth2", TOK)
    eq(err([("connection_id", gid, None, None), users]), (400, "Connection must be a database connection."), "social")
    eq(err([("connection_id", CID, None, None), ("users", "", "users.json", "application/json")]),
       (400, "Users file must not be empty."), "empty file")
    eq(err([("connection_id", CID, None, None), ("upsert", "yes", None, None), users])[0], 400, "upsert must be true/false")
    eq(err(b'{"users": []}', "application/json")[0], 400, "not multipart")
    body, ctype = multipart([("connection_id", CID, None, None), users])
    eq(err(body[:-4], ctype)[0], 400, "no closing boundary")


def test_413():
    big = [{"email": "u%d@example.com" % i, "user_metadata": {"pad": "x" * 200}} for i in range(2400)]
    body, ctype = import_body(CID, big)
    check(len(body) > 512000, "body is over the limit")
    st, _, b = api("POST", "/jobs/users-imports", body, {"Content-Type": ctype})
    eq((st, b["message"]), (413, "Payload content length greater than maximum allowed: 512000."), "413")
    small = big[:1000]
    body, ctype = import_body(CID, small)
    check(len(body) < 512000, "under the limit")
    st, _, job = api("POST", "/jobs/users-imports", body, {"Content-Type": ctype})
    eq(st, 202, "just under is fine")
    j = finish(job["id"])
    eq(j["summary"], {"failed": 0, "updated": 0, "inserted": 1000, "total": 1000}, "summary")


def test_third_concurrent_job_429():
    a = post_import(import_body(CID, [{"email": "c1@example.com"}]))
    b = post_import(import_body(CID, [{"email": "c2@example.com"}]))
    eq((a[0], b[0]), (202, 202), "two active jobs")
    st, h, body = post_import(import_body(CID, [{"email": "c3@example.com"}]))
    eq(st, 429, "third")
    eq(body, {"statusCode": 429, "error": "Too Many Requests",
              "message": "There are 2 active import users jobs, please wait until some of them are finished and try again"}, "body")
    check("x-ratelimit-limit" in h, "rate headers")
    finish(a[2]["id"])
    eq(post_import(import_body(CID, [{"email": "c3@example.com"}]))[0], 202, "accepted once one finished")
    finish(b[2]["id"])


def test_prefix_and_email_verified():
    j = run_import([{"email": "p1@example.com", "user_id": "abc123"},
                    {"email": "p2@example.com", "user_id": "auth0|def456", "email_verified": True},
                    {"email": "P3@Example.com"}])
    eq(j["summary"], {"failed": 0, "updated": 0, "inserted": 3, "total": 3}, "summary")
    eq(user("p1@example.com")["user_id"], "auth0|abc123", "auth0| prepended")
    eq(user("p2@example.com")["user_id"], "auth0|auth0|def456", "a forgotten prefix doubles")
    eq(user("p1@example.com")["email_verified"], False, "email_verified false unless the file says true")
    eq(user("p2@example.com")["email_verified"], True, "true kept")
    u3 = user("p3@example.com")
    check(u3 is not None and u3["email"] == "p3@example.com", "email lower-cased")
    eq(api("GET", "/jobs/%s/errors" % j["id"])[0], 204, "no errors -> 204")


def test_duplicates_without_upsert():
    run_import([{"email": "d1@example.com", "user_id": "d1"}])
    j = run_import([{"email": "d1@example.com", "email_verified": True}, {"email": "d2@example.com", "user_id": "d1"},
                    {"email": "d3@example.com"}, {"email": "d3@example.com"}])
    eq(j["summary"], {"failed": 3, "updated": 0, "inserted": 1, "total": 4}, "summary")
    st, h, errs = api("GET", "/jobs/%s/errors" % j["id"])
    eq(st, 200, "errors array")
    eq(len(errs), 3, "three failures")
    eq(errs[0], {"user": {"email": "d1@example.com", "email_verified": True},
                 "errors": [{"code": "DUPLICATED_USER", "message": "The user already exist and upsert parameter is false"}]},
       "recorded shape")
    eq([e["errors"][0]["code"] for e in errs], ["DUPLICATED_USER"] * 3, "codes (including the duplicate in the file)")


def test_upsert_semantics():
    run_import([{"email": "up@example.com", "user_id": "up1", "given_name": "Old", "blocked": True,
                 "user_metadata": {"a": 1, "b": 2}, "app_metadata": {"plan": "free", "x": 1}, "email_verified": True,
                 "phone_number": "+14155550101"}])
    j = run_import([{"email": "up@example.com", "given_name": "New", "blocked": False, "user_metadata": {"c": 3},
                     "app_metadata": {"plan": "pro"}, "user_id": "up-other", "phone_number": "+14155550199"}], upsert=True)
    eq(j["summary"], {"failed": 0, "updated": 1, "inserted": 0, "total": 1}, "updated")
    u = user("up@example.com")
    eq(u["given_name"], "New", "upsertable replaced")
    eq(u["user_metadata"], {"c": 3}, "user_metadata replaced whole, not merged")
    eq(u["app_metadata"], {"plan": "pro"}, "app_metadata replaced whole")
    eq(u["blocked"], True, "blocked untouched")
    eq(u["user_id"], "auth0|up1", "user_id untouched")
    eq(u["phone_number"], "+14155550101", "phone untouched")
    eq(u["email_verified"], False, "email_verified reset on upsert")
    run_import([{"email": "other@example.com", "user_id": "taken"}])
    j = run_import([{"email": "up@example.com", "user_id": "taken"}], upsert=True)
    st, _, errs = api("GET", "/jobs/%s/errors" % j["id"])
    eq(errs[0]["errors"][0]["code"], "CONFLICT", "user_id of another user")
    run_import([{"email": "un1@example.com", "username": "alpha"}, {"email": "un2@example.com", "username": "beta"}])
    j = run_import([{"email": "un2@example.com", "username": "alpha"}], upsert=True)
    st, _, errs = api("GET", "/jobs/%s/errors" % j["id"])
    eq(errs[0]["errors"][0]["code"], "CONFLICT_USERNAME", "username of another user")
    j = run_import([{"email": "brand-new@example.com"}], upsert=True)
    eq(j["summary"]["inserted"], 1, "upsert inserts new users")


def test_schema_errors():
    users = [
        {"email": "s1@example.com", "identities": []},
        {"email": "s2@example.com", "app_metadata": {"email": "x"}},
        {"email": "s3@example.com", "phone_number": "555-1234"},
        {"user_id": "s4"},
        {"email": "not-an-email"},
        {"email": "s6@example.com", "email_verified": "true"},
        {"email": "s7@example.com", "password_hash": "plain"},
        {"email": "s8@example.com", "created_at": "2020-01-01T00:00:00.000Z"},
    ]
    j = run_import(users)
    eq(j["summary"], {"failed": 8, "updated": 0, "inserted": 0, "total": 8}, "all fail")
    st, _, errs = api("GET", "/jobs/%s/errors" % j["id"])
    codes = [e["errors"][0]["code"] for e in errs]
    eq(codes, ["OBJECT_ADDITIONAL_PROPERTIES", "NOT_PASSED", "PATTERN", "OBJECT_REQUIRED", "FORMAT", "INVALID_TYPE",
               "PATTERN", "OBJECT_ADDITIONAL_PROPERTIES"], "codes")
    eq(errs[6]["user"]["password_hash"], "*****", "secrets redacted")
    check(all("path" in e["errors"][0] for e in errs), "paths")


def test_bad_file_fails_job():
    st, _, job = post_import(import_body(CID, b'{"email": "not an array"}'))
    j = finish(job["id"])
    eq(j["status"], "failed", "not an array fails the job")
    check("status_details" not in j, "default: no status_details (the recorded failed job had none)")
    T.quirks(failed_job_status_details=True)
    try:
        j = api("GET", "/jobs/" + job["id"])[2]
        check("JSON" in j.get("status_details", ""), "quirk failed_job_status_details: the reason")
    finally:
        T.reset_quirks()
    st, _, body = api("GET", "/jobs/%s/errors" % job["id"])
    eq((st, body["status"], body["id"]), (200, "failed", job["id"]), "job-object shape")


def test_forced_failures():
    for shape, want in (("array", 200), ("204", 204), ("job", 200)):
        T.fail_jobs("users_import", 1, shape)
        j = run_import([{"email": "ff-%s@example.com" % shape}])
        eq(j["status"], "failed", "failed")
        eq(user("ff-%s@example.com" % shape), None, "nothing imported")
        st, _, body = api("GET", "/jobs/%s/errors" % j["id"])
        eq(st, want, shape)
        if shape == "array":
            eq(body[0]["user"], {"email": "ff-array@example.com"}, "array names the user")


def test_tenant_unchanged_until_completed():
    st, _, job = post_import(import_body(CID, [{"email": "later@example.com"}]))
    eq(user("later@example.com"), None, "not visible while pending")
    T.clock(advance=0.15)
    eq(api("GET", "/jobs/" + job["id"])[2]["status"], "processing", "processing")
    eq(user("later@example.com"), None, "not visible while processing")
    finish(job["id"])
    check(user("later@example.com") is not None, "visible once completed")


setup()
run(globals())
