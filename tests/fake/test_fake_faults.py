"""Injected faults, keep-alive, Expect: 100-continue, percent-decoding."""

import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, eq, run  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

T = FakeTenant("faults.example.com", seed=2, users=20)
TOK = T.token()
HOST, PORT = urllib.parse.urlsplit(T.api_url).hostname, urllib.parse.urlsplit(T.api_url).port


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def test_status_faults_fire_in_order_and_once():
    T.clear_faults()
    T.fault(method="GET", path=r"^/api/v2/roles$", kind="status", status=503, count=2)
    T.fault(method="*", path=r"^/api/v2/roles$", kind="status", status=429)
    eq(len(T.faults()), 2, "queued")
    st, h, body = api("GET", "/roles")
    eq((st, body["statusCode"], body["error"]), (503, 503, "Service Unavailable"), "first 503")
    eq(api("GET", "/roles")[0], 503, "second 503")
    st, h, body = api("GET", "/roles")
    eq(st, 429, "then the 429")
    eq(body["message"], "Global limit has been reached", "429 body")
    eq(h["x-ratelimit-remaining"], "0", "429 has rate headers")
    check(int(h["x-ratelimit-reset"]) >= int(time.time()), "reset")
    eq(api("GET", "/roles")[0], 200, "then normal")
    eq(T.faults(), [], "all consumed")
    eq(api("GET", "/users?per_page=1")[0], 200, "other paths untouched")


def test_method_filter_and_408_500():
    T.fault(method="POST", path="/roles", kind="status", status=500)
    eq(api("GET", "/roles")[0], 200, "GET does not match a POST fault")
    eq(api("POST", "/roles", {"name": "faulty"})[0], 500, "POST gets it")
    eq(api("GET", "/roles?name_filter=faulty")[2], [], "the faulted request had no effect")
    T.fault(path="/roles", kind="status", status=408)
    eq(api("GET", "/roles")[0], 408, "408")


def test_reset():
    T.fault(path=r"^/api/v2/users$", kind="reset")
    try:
        api("GET", "/users")
        raise AssertionError("expected a connection error")
    except (ConnectionError, http.client.RemoteDisconnected, OSError):
        pass
    eq(api("GET", "/users?per_page=1")[0], 200, "next request fine")
    log = T.log()
    check(any(e.get("fault") == "reset" and e["status"] == 0 for e in log), "reset logged")


def test_reset_after_applies_then_drops():
    T.fault(method="POST", path=r"^/api/v2/roles$", kind="reset", after=True)
    try:
        api("POST", "/roles", {"name": "applied-then-reset"})
        raise AssertionError("expected a connection error")
    except (ConnectionError, http.client.RemoteDisconnected, OSError):
        pass
    eq(len(api("GET", "/roles?name_filter=applied-then-reset")[2]), 1, "the request took effect")
    eq(api("POST", "/roles", {"name": "applied-then-reset"})[0], 409, "a blind retry conflicts")


def test_not_json_and_slow():
    T.fault(path="/connections", kind="not_json")
    st, h, body = T.api("GET", "/connections", token=TOK, raw=True)
    eq(st, 502, "default 502")
    check(body.startswith(b"<html>") and h["content-type"].startswith("text/html"), "HTML")
    T.fault(path="/connections", kind="not_json", status=200)
    st, h, body = T.api("GET", "/connections", token=TOK, raw=True)
    eq(st, 200, "200 with HTML")
    T.fault(path="/connections", kind="slow", ms=300)
    t0 = time.monotonic()
    eq(api("GET", "/connections")[0], 200, "slow still answers")
    check(time.monotonic() - t0 >= 0.3, "waited")


def test_truncate_api_response():
    T.fault(path=r"^/api/v2/users$", kind="truncate")
    try:
        api("GET", "/users")
        raise AssertionError("expected a short body")
    except http.client.IncompleteRead:
        pass


def test_fault_validation():
    eq(T._http("POST", T.api_url + "/__faults", json.dumps({"kind": "explode"}).encode(),
               {"Content-Type": "application/json"})[0], 400, "unknown kind")
    eq(T._http("POST", T.api_url + "/__faults", json.dumps({"kind": "status", "status": 200}).encode(),
               {"Content-Type": "application/json"})[0], 400, "status fault needs an error status")
    T.fault(kind="slow", ms=1, path="nothing-matches-this", count=3)
    eq(T.faults()[0]["count"], 3, "listed")
    T.clear_faults()
    eq(T.faults(), [], "cleared")


def _raw(sock, data):
    sock.sendall(data)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    n = int(m[0].split(b":")[1]) if m else 0
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_keep_alive():
    s = socket.create_connection((HOST, PORT), timeout=10)
    try:
        for i in range(3):
            resp = _raw(s, ("GET /api/v2/roles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % TOK).encode())
            check(resp.startswith(b"HTTP/1.1 200"), "response %d on one connection" % i)
            check(b"Content-Length:" in resp, "content-length")
            check(b"application/json; charset=utf-8" in resp, "json content type")
    finally:
        s.close()


def test_expect_100_continue_413():
    s = socket.create_connection((HOST, PORT), timeout=10)
    try:
        req = ("POST /api/v2/jobs/users-imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 600000\r\n"
               "Expect: 100-continue\r\n\r\n" % TOK).encode()
        resp = _raw(s, req)
        check(resp.startswith(b"HTTP/1.1 413"), "413 before the body is sent: %r" % resp[:40])
        check(b"512000" in resp, "message")
    finally:
        s.close()
    s = socket.create_connection((HOST, PORT), timeout=10)
    try:
        body = b'{"name":"via-100-continue"}'
        s.sendall(("POST /api/v2/roles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (TOK, len(body))).encode())
        first = s.recv(100)
        check(first.startswith(b"HTTP/1.1 100"), "100 Continue for a small body")
        resp = _raw(s, body)
        check(b"HTTP/1.1 200" in resp, "then 200")
    finally:
        s.close()


def test_chunked_request_body():
    s = socket.create_connection((HOST, PORT), timeout=10)
    try:
        body = b'{"name":"chunked-role"}'
        req = ("POST /api/v2/roles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" % TOK).encode()
        req += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        resp = _raw(s, req)
        check(resp.startswith(b"HTTP/1.1 200"), "chunked body accepted: %r" % resp[:60])
    finally:
        s.close()


def test_encoded_slash_in_user_id():
    st, _, u = api("POST", "/users", {"connection": "Username-Password-Authentication", "email": "slash@example.com",
                                       "password": "Secr3t!pass", "user_id": "a/b"})
    eq((st, u["user_id"]), (201, "auth0|a/b"), "created")
    st, _, got = api("GET", "/users/" + urllib.parse.quote("auth0|a/b", safe=""))
    eq((st, got["user_id"]), (200, "auth0|a/b"), "%2F stays inside the segment")


run(globals())
