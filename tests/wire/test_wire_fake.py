#!/usr/bin/env python3
"""The wire suite: does the fake answer like real Auth0 did?

Replays every fixture in tests/wire/fixtures (requests and answers taken
from recorded real Auth0 traffic, see README.md) against a fresh fake
tenant and checks each answer against the recorded one: same status, same
JSON shape (key sets, value types, paging envelope), the same values where
they carry meaning (paging numbers, error texts, job and role types), and
an empty body where the recording has one.

Recorded ids are mapped to the fake's ids as the answers reveal them;
state changes outside a0snap's scope (creating organizations, connections,
resource servers, deleting roles) are made with the fake's /__load.

Prints one line per exchange and ends with "N passed, N failed".
WIRE_ONLY=<substring of a fixture name> runs a subset.
"""

import glob
import json
import os
import re
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fake"))

from fake_tenant import default_scopes  # noqa: E402
from fakectl import FakeTenant  # noqa: E402

# The recording clients were tenant admin apps: they also saw connection
# options.
SCOPES = default_scopes() + ["read:connections_options"]

FIXTURES = os.path.join(HERE, "fixtures")

# Free-form objects: their content is tenant data, not API shape.
OPAQUE = {"options", "user_metadata", "app_metadata", "branding", "metadata", "client_metadata"}

# Values compared, not only typed, wherever the recording has a scalar.
VALUE_KEYS = {"start", "limit", "total", "length", "statusCode", "error", "message", "errorCode",
              "status", "type", "source_type", "provider", "isSocial", "code", "summary"}

# Documented exceptions (README "Differences between the fake and the
# recordings", status "kept").  (method, path regex, rule) where rule is
# "loose_list:<key>" (items compared by shape only, any count) or
# "no_values" (no value checks for this answer).
EXCEPTIONS = [
    # The recorded tenants held other connections (made by other tests);
    # the replayed tenant holds only the ones its recording made.
    ("GET", r"/connections", "loose_list:connections"),
    ("GET", r"/connections", "no_values"),
]

def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


class Replay:
    def __init__(self, name, doc):
        self.name = name
        self.doc = doc
        self.map = {}  # recorded id / cursor -> the fake's

    # --- id mapping --------------------------------------------------------
    def learn(self, rec, got, key=None):
        """Walk a recorded and a fake answer side by side and remember which
        fake id stands for which recorded one (never overwriting)."""
        if isinstance(rec, dict) and isinstance(got, dict):
            for k in rec:
                if k in got and k not in OPAQUE:
                    self.learn(rec[k], got[k], k)
        elif isinstance(rec, list) and isinstance(got, list):
            if key in ("users", "members", "roles", "organizations", "connections", "permissions"):
                return  # list order may differ: ids are learned where they are made
            for a, b in zip(rec, got):
                self.learn(a, b, key)
        elif isinstance(rec, str) and isinstance(got, str) and rec != got:
            if key == "next" or (key in ("id", "user_id") and rec not in self.map):
                if rec not in self.map:
                    self.map[rec] = got
                    if "|" in rec and "|" in got:  # auth0|abc -> also abc
                        self.map.setdefault(rec.split("|", 1)[1], got.split("|", 1)[1])

    def m(self, v):
        if isinstance(v, str):
            return self.map.get(v, v)
        if isinstance(v, list):
            return [self.m(x) for x in v]
        if isinstance(v, dict):
            return {k: self.m(x) for k, x in v.items()}
        return v

    def path(self, raw):
        segs = []
        for seg in raw.split("/"):
            dec = urllib.parse.unquote(seg)
            segs.append(urllib.parse.quote(self.m(dec), safe="") if dec in self.map else seg)
        return "/".join(segs)

    def url(self, ex):
        p = self.path(ex["path"])
        q = ex.get("query")
        if q:
            p += "?" + urllib.parse.urlencode([(k, self.m(v)) for k, v in q])
        return p

    def raw_body(self, text):
        for rec in sorted(self.map, key=len, reverse=True):
            text = text.replace(rec, self.map[rec])
        return text.encode("utf-8")


# --- comparison ---------------------------------------------------------------
def exception_rules(method, path):
    return {rule for m, rx, rule in EXCEPTIONS if m == method and re.fullmatch(rx, path)}


def compare(rec, got, where, errs, rules, values=True, allow=()):
    tr, tg = jtype(rec), jtype(got)
    if tr != tg:
        errs.append("%s: %s recorded, %s from the fake" % (where or "body", tr, tg))
        return
    if tr == "object":
        rk, gk = set(rec), set(got)
        if rk - gk:
            errs.append("%s: missing %s" % (where or "body", ",".join(sorted(rk - gk))))
        if gk - rk - set(allow):
            errs.append("%s: extra %s" % (where or "body", ",".join(sorted(gk - rk - set(allow)))))
        for k in sorted(rk & gk):
            sub = "%s.%s" % (where, k) if where else k
            if k in OPAQUE:
                if jtype(rec[k]) != jtype(got[k]):
                    errs.append("%s: %s recorded, %s from the fake" % (sub, jtype(rec[k]), jtype(got[k])))
                continue
            if values and k in VALUE_KEYS and jtype(rec[k]) in ("number", "string", "boolean") and rec[k] != got[k]:
                errs.append("%s: %r recorded, %r from the fake" % (sub, rec[k], got[k]))
            compare(rec[k], got[k], sub, errs, rules, values, allow)
    elif tr == "array":
        objs = any(isinstance(x, (dict, list)) for x in rec + got)
        if not objs:
            rt = {jtype(x) for x in rec}
            gt = {jtype(x) for x in got}
            if rec and got and not gt <= rt:
                errs.append("%s: items %s recorded, %s from the fake" % (where, sorted(rt), sorted(gt)))
            return
        key = where.rsplit(".", 1)[-1]
        if "loose_list:" + key in rules:
            for x in got:
                same = [r for r in rec if isinstance(r, dict) and isinstance(x, dict) and r.get("name") == x.get("name")]
                compare(same[0] if same else rec[0], x, where + "[*]", errs, rules, False, allow)
            return
        if len(rec) != len(got):
            errs.append("%s: %d items recorded, %d from the fake" % (where or "body", len(rec), len(got)))
        for i, (a, b) in enumerate(zip(rec, got)):
            compare(a, b, "%s[%d]" % (where, i), errs, rules, values, allow)


# --- setup: state changes outside a0snap's scope --------------------------------
def setup(t, rp, ex):
    """Make with /__load the change the recorded call made."""
    method, path = ex["method"], ex["path"]
    body = ex.get("request_body") or {}
    rec = ex.get("response_body") or {}
    segs = [urllib.parse.unquote(s) for s in path.split("/")[1:]]
    doc = {"merge": True}
    if method == "POST" and segs == ["organizations"]:
        org = {"id": rec["id"], "name": body["name"]}
        for k, v in rec.items():
            if k not in ("id", "name"):
                org[k] = v
        doc["organizations"] = [org]
    elif method == "DELETE" and segs[0] == "organizations":
        doc["remove"] = {"organizations": [rp.m(segs[1])]}
    elif method == "POST" and segs == ["connections"]:
        c = {"id": rec["id"], "name": body["name"], "strategy": body["strategy"]}
        if "options" in rec:
            c["options"] = rec["options"]
        doc["connections"] = [c]
    elif method == "DELETE" and segs[0] == "connections":
        doc["remove"] = {"connections": [rp.m(segs[1])]}
    elif method in ("POST", "PATCH") and segs[0] == "resource-servers":
        doc["resource_servers"] = [{"id": rec["id"], "identifier": rec["identifier"], "name": rec["name"],
                                    "scopes": rec.get("scopes", [])}]
    elif method == "DELETE" and segs[0] == "resource-servers":
        doc["remove"] = {"resource_servers": [segs[1]]}
    elif method == "DELETE" and segs[0] == "roles":
        doc["remove"] = {"roles": [rp.m(segs[1])]}
    else:
        raise AssertionError("no setup translation for %s %s" % (method, path))
    t.load(doc)


def settle_jobs(t):
    """Let every job finish (the recording polled a finished job)."""
    t.clock(advance=3600)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(j["status"] not in ("pending", "processing") for j in t.jobs()):
            return
        time.sleep(0.02)
    raise AssertionError("jobs did not finish")


def norm_ct(v):
    return ";".join(p.strip().lower() for p in (v or "").split(";"))


def show_path(ex):
    p = ex["path"]
    if ex.get("query"):
        p += "?" + "&".join(k for k, _ in ex["query"])
    return "%s %s" % (ex["method"], p)


def run_fixture(fname, doc, counts):
    name = os.path.basename(fname)[:-5]
    with FakeTenant("wire.example.test", scopes=SCOPES) as t:
        tok = t.token()
        t.load(doc["tenant"])
        t.quirks(**doc.get("quirks", {}))
        t.clock(freeze=True)
        rp = Replay(name, doc)
        for ex in doc["exchanges"]:
            label = "%s #%d %s" % (name, ex["interaction"], show_path(ex))
            if ex["use"] == "skip":
                print("skip %s (%s)" % (label, ex.get("why", "")))
                continue
            if ex["use"] == "setup":
                try:
                    setup(t, rp, ex)
                    print("set  %s" % label)
                except Exception as e:  # a setup that fails is a failure
                    counts["failed"] += 1
                    print("FAIL %s: setup: %s" % (label, e))
                continue
            if ex.get("before") == "settle_jobs":
                settle_jobs(t)
            url = rp.url(ex)
            headers = {}
            if "request_body_raw" in ex:
                body = rp.raw_body(ex["request_body_raw"])
                headers["Content-Type"] = ex["request_content_type"]
            elif "request_body" in ex:
                body = rp.m(ex["request_body"])
            else:
                body = None
            status, hdrs, got = t.api(ex["method"], url, body, token=tok, headers=headers)
            errs = []
            if status != ex["status"]:
                errs.append("status %d recorded, %d from the fake" % (ex["status"], status))
            want_ct = ex.get("response_content_type")
            if want_ct and norm_ct(hdrs.get("content-type")) != norm_ct(want_ct):
                errs.append("content type %r recorded, %r from the fake" % (want_ct, hdrs.get("content-type")))
            rules = exception_rules(ex["method"], ex["path"].split("?")[0])
            if "response_text" in ex:
                if not isinstance(got, (bytes, str)):
                    errs.append("recorded a non-JSON body, the fake answered JSON")
            elif ex.get("response_body") is None:
                if got not in (None, b""):
                    errs.append("recorded an empty body, the fake answered %s" % json.dumps(got)[:120])
            else:
                if isinstance(got, bytes):
                    errs.append("the fake's answer is not JSON: %r" % got[:80])
                else:
                    compare(ex["response_body"], got, "", errs, rules, "no_values" not in rules,
                            doc.get("allow_extra_keys", {}).get("keys", ()))
                    rp.learn(ex["response_body"], got)
            if errs:
                counts["failed"] += 1
                print("FAIL %s -> %d: %s" % (label, status, "; ".join(errs[:6])))
            else:
                counts["passed"] += 1
                print("ok   %s -> %d" % (label, status))
            sys.stdout.flush()


def main():
    only = os.environ.get("WIRE_ONLY")
    counts = {"passed": 0, "failed": 0}
    files = sorted(glob.glob(os.path.join(FIXTURES, "*.json")))
    if not files:
        print("no fixtures in %s" % FIXTURES)
        print("0 passed, 1 failed")
        return 1
    for fname in files:
        if only and only not in os.path.basename(fname):
            continue
        with open(fname, encoding="utf-8") as f:
            doc = json.load(f)
        try:
            run_fixture(fname, doc, counts)
        except Exception as e:
            counts["failed"] += 1
            print("FAIL %s: %s: %s" % (os.path.basename(fname), type(e).__name__, e))
    print("%d passed, %d failed" % (counts["passed"], counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
