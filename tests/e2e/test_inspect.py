#!/usr/bin/env python3
"""End-to-end tests of a0snap-import --list, --verify and --diff.

No tenant is needed: the snapshots are crafted here with gzip + json +
hashlib, following the documented format (snapshots/README.md):

    line 1     {"a0snap":"header","format":"a0snap-snapshot","format_version":1,
                "snapshot_id":"<32 hex>","created_at":...,...}
    lines 2..  one user per line, compact JSON with sorted keys, strictly
               increasing byte-wise user_id
    last line  {"a0snap":"trailer","snapshot_id":...,"users":N,
                "connections":{"<identities[0].connection>":N},
                "sha256":"<hex of every byte before the trailer>"}

Each damaged variant must make --verify and --list exit 3 with a message
naming the problem and print nothing on stdout; --diff against it too.

Runs the real binary $A0SNAP_BIN_DIR/import/a0snap-import. Stdlib only.
The last line is "N passed, N failed"; the exit status is non-zero on
failure.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

BIN_DIR = os.environ.get("A0SNAP_BIN_DIR")
if not BIN_DIR:
    sys.exit("test_inspect.py: set A0SNAP_BIN_DIR to the build folder")
IMPORT = os.path.join(BIN_DIR, "import", "a0snap-import")

TMP = tempfile.mkdtemp(prefix="a0snap-inspect-")
UPA = "Username-Password-Authentication"
POLICY_SHA = "ab" * 32
KEY_FP = "fp-1234abcd"


# --- crafting snapshots ------------------------------------------------------

def dumps(obj):
    """The snapshot serialization: compact, sorted keys, UTF-8 as is."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def connection_of(user):
    ids = user.get("identities") or []
    if ids and isinstance(ids[0], dict):
        return ids[0].get("connection", "")
    return ""


def make_header(snapshot_id, domain="prod.example.auth0.com", privacy="applied",
                key_fp=KEY_FP, **extra):
    h = {
        "a0snap": "header",
        "format": "a0snap-snapshot",
        "format_version": 1,
        "snapshot_id": snapshot_id,
        "created_at": "2026-11-24T09:00:00Z",
        "tool": {"name": "a0snap-export", "version": "0.1.0"},
        "source": {"domain": domain},
        "request": {"connections": [], "users": [], "emails": [], "emails_count": 0,
                    "query": None, "subset": False, "fields": ["user_id", "email"]},
        "catalogue": {
            "connections": [{"id": "con_1", "name": UPA, "strategy": "auth0"}],
            "roles": [{"id": "rol_a", "name": "admin"}, {"id": "rol_e", "name": "editor"},
                      {"id": "rol_u", "name": "unused-role"}],
            "organizations": [{"id": "org_1", "name": "acme"},
                              {"id": "org_2", "name": "globex"}],
        },
    }
    if privacy == "applied":
        h["privacy"] = {"applied": True, "policy_sha256": POLICY_SHA, "key_fingerprint": key_fp,
                        "policy": {"version": 1}}
    elif privacy == "raw":
        h["privacy"] = {"applied": False,
                        "warning": "RAW PERSONAL DATA: exported with --no-anonymize"}
    h.update(extra)
    return h


def snapshot_text(header, users, trailer_edit=None):
    """The decompressed bytes of a snapshot: (bytes, sha256 hex, trailer)."""
    users = sorted(users, key=lambda u: u["user_id"].encode())
    parts = [(dumps(header) + "\n").encode()]
    counts = {}
    for u in users:
        parts.append((dumps(u) + "\n").encode())
        c = connection_of(u)
        counts[c] = counts.get(c, 0) + 1
    body = b"".join(parts)
    sha = hashlib.sha256(body).hexdigest()
    trailer = {"a0snap": "trailer", "snapshot_id": header["snapshot_id"], "users": len(users),
               "connections": counts, "sha256": sha}
    if trailer_edit:
        trailer_edit(trailer)
    return body + (dumps(trailer) + "\n").encode(), sha, trailer


def write_gz(path, data):
    with open(path, "wb") as f:
        f.write(gzip.compress(data, 6))
    return path


def write_snapshot(name, header, users, **kw):
    data, sha, _ = snapshot_text(header, users, **kw)
    path = write_gz(os.path.join(TMP, name), data)
    return path, data, sha


def user(uid, email, conn=UPA, **extra):
    u = {"user_id": uid, "email": email, "email_verified": True,
         "created_at": "2025-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
         "last_login": "2026-01-01T00:00:00Z", "logins_count": 3,
         "user_metadata": {"lang": "en"}, "app_metadata": {}}
    if conn is not None:
        u["identities"] = [{"connection": conn, "provider": "auth0" if conn == UPA else conn,
                            "user_id": uid.split("|", 1)[-1], "isSocial": conn != UPA}]
    u.update(extra)
    return u


def role(name):
    return {"id": "rol_" + name[0], "name": name}


def org(name, *roles):
    return {"id": "org_" + name, "name": name, "roles": [role(r) for r in roles]}


def sample_users():
    """12 users: 9 database (2 blocked, 3 with roles, 2 with memberships),
    2 google (1 blocked, 1 with roles and a membership), 1 without identities."""
    us = []
    for i in range(9):
        extra = {}
        if i in (1, 5):
            extra["blocked"] = True
        if i in (0, 3, 6):
            extra["roles"] = [role("admin")] if i == 0 else [role("admin"), role("editor")]
        if i in (2, 3):
            extra["organizations"] = [org("acme", "viewer")]
        us.append(user("auth0|%04d" % i, "u%d@example.com" % i, name="Zoë %d" % i, **extra))
    us.append(user("google-oauth2|1", "g1@example.com", conn="google-oauth2", blocked=True))
    us.append(user("google-oauth2|2", "g2@example.com", conn="google-oauth2",
                   roles=[role("editor")], organizations=[org("acme"), org("globex", "admin")]))
    us.append(user("auth0|zz-no-identity", "nobody@example.com", conn=None))
    return us


def sid(n):
    return "%032x" % n


# --- running the binary ------------------------------------------------------

def run(*args):
    p = subprocess.run([IMPORT, *args], capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def check_eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, expected %r" % (what, got, want))


# --- tests -------------------------------------------------------------------

def test_verify_valid():
    path, data, sha = write_snapshot("good.ndjson.gz", make_header(sid(1)), sample_users())
    rc, out, err = run("--verify", path)
    check_eq(rc, 0, "exit code (stderr: %s)" % err)
    check_eq(out, "'%s': ok, 12 users, sha256 %s, unsigned\n" % (path, sha), "--verify line")
    rc, out, err = run("--verify", path, "--json")
    check_eq(rc, 0, "exit code --json")
    j = json.loads(out)
    check_eq(j["ok"], True, "ok")
    check_eq(j["users"], 12, "users")
    check_eq(j["sha256"], sha, "sha256")
    check_eq(j["snapshot_id"], sid(1), "snapshot_id")
    check_eq(j["connections"], {UPA: 9, "google-oauth2": 2, "": 1}, "connections")
    check_eq(j["bytes"], len(data), "bytes")
    check_eq(j["gzip_bytes"], os.path.getsize(path), "gzip_bytes")


def test_list_json():
    h = make_header(sid(2))
    path, data, sha = write_snapshot("list.ndjson.gz", h, sample_users())
    rc, out, err = run("--list", path, "--json")
    check_eq(rc, 0, "exit code (stderr: %s)" % err)
    check("RAW" not in err, "no raw-data warning for an anonymised snapshot")
    j = json.loads(out)
    check_eq(j["file"], path, "file")
    check_eq(j["snapshot_id"], sid(2), "snapshot_id")
    check_eq(j["created_at"], "2026-11-24T09:00:00Z", "created_at")
    check_eq(j["format"], "a0snap-snapshot", "format")
    check_eq(j["format_version"], 1, "format_version")
    check_eq(j["tool"], {"name": "a0snap-export", "version": "0.1.0"}, "tool")
    check_eq(j["source_domain"], "prod.example.auth0.com", "source_domain")
    check_eq(j["privacy"], {"recorded": True, "applied": True, "policy_sha256": POLICY_SHA,
                            "key_fingerprint": KEY_FP}, "privacy")
    check_eq(j["request"], h["request"], "request")
    check_eq(j["users"], 12, "users")
    check_eq(j["blocked"], 3, "blocked")
    check_eq(j["with_roles"], 4, "with_roles")
    check_eq(j["with_memberships"], 3, "with_memberships")
    check_eq(j["connections"], {
        UPA: {"users": 9, "blocked": 2, "with_roles": 3, "with_memberships": 2},
        "google-oauth2": {"users": 2, "blocked": 1, "with_roles": 1, "with_memberships": 1},
        "": {"users": 1, "blocked": 0, "with_roles": 0, "with_memberships": 0},
    }, "connections")
    check_eq(j["roles"], {"admin": 3, "editor": 3, "unused-role": 0}, "roles")
    check_eq(j["organizations"], {"acme": 3, "globex": 1}, "organizations")
    check_eq(j["gzip_bytes"], os.path.getsize(path), "gzip_bytes")
    check_eq(j["bytes"], len(data), "bytes")
    check_eq(j["sha256"], sha, "sha256")


def test_list_text():
    path, data, sha = write_snapshot("text.ndjson.gz", make_header(sid(3)), sample_users())
    rc, out, err = run("--list", path)
    check_eq(rc, 0, "exit code (stderr: %s)" % err)
    lines = out.splitlines()

    def line_starting(prefix):
        hits = [l for l in lines if l.startswith(prefix)]
        check(hits, "a line starting with %r in:\n%s" % (prefix, out))
        return hits[0]

    check_eq(line_starting("id ").split(), ["id", sid(3)], "id line")
    check("prod.example.auth0.com" in line_starting("source "), "source line")
    check("2026-11-24T09:00:00Z" in line_starting("created at"), "created line")
    check("a0snap-export 0.1.0" in line_starting("written by"), "tool line")
    check("version 1" in line_starting("format "), "format line")
    check("applied" in line_starting("privacy ") and POLICY_SHA in out, "privacy line")
    check(KEY_FP in out, "key fingerprint shown")
    check("connections: all" in line_starting("request "), "request line")
    check_eq(line_starting("users ").split()[1], "12", "users")
    check("3 blocked, 4 with roles, 3 with memberships" in line_starting("users "), "users line")
    check("(%d / %d bytes)" % (os.path.getsize(path), len(data)) in line_starting("size "),
          "size line")
    check(sha in line_starting("sha256 "), "sha256 line")
    check_eq(line_starting(UPA).split()[1:], ["9", "2", "3", "2"], "database connection row")
    check_eq(line_starting("google-oauth2").split()[1:], ["2", "1", "1", "1"],
             "google connection row")
    check_eq(line_starting("(none)").split()[1:], ["1", "0", "0", "0"], "no-connection row")
    check_eq(line_starting("admin ").split(), ["admin", "3"], "admin row")
    check_eq(line_starting("unused-role").split(), ["unused-role", "0"], "unused role row")
    check_eq(line_starting("globex").split(), ["globex", "1"], "globex row")
    check("RAW" not in out, "not raw")


def test_list_raw():
    h = make_header(sid(4), privacy="raw")
    path, _, _ = write_snapshot("raw.ndjson.gz", h, sample_users()[:2])
    rc, out, err = run("--list", path)
    check_eq(rc, 0, "exit code (stderr: %s)" % err)
    check("RAW PERSONAL DATA" in out, "stdout says RAW loudly:\n" + out)
    check("RAW PERSONAL DATA" in err, "stderr warns about raw data: " + err)
    rc, out, err = run("--list", path, "--json")
    check_eq(rc, 0, "exit code --json")
    j = json.loads(out)
    check_eq(j["privacy"]["applied"], False, "applied")
    check_eq(j["privacy"]["recorded"], True, "recorded")
    check("RAW PERSONAL DATA" in err, "stderr warns with --json too")
    # No privacy record at all: treated as raw.
    h = make_header(sid(5), privacy=None)
    path, _, _ = write_snapshot("noprivacy.ndjson.gz", h, [])
    rc, out, err = run("--list", path, "--json")
    check_eq(rc, 0, "exit code, no privacy record")
    j = json.loads(out)
    check_eq(j["privacy"], {"recorded": False, "applied": False, "policy_sha256": None,
                            "key_fingerprint": None}, "privacy without a record")
    check_eq(j["users"], 0, "empty snapshot users")
    check_eq(j["connections"], {}, "empty snapshot connections")


def damaged_variants():
    """(name, bytes written to the file, substring the message must hold)."""
    h = make_header(sid(10))
    users = sample_users()
    good, _, _ = snapshot_text(h, users)
    lines = good.split(b"\n")  # last element is b"" (after the final \n)
    v = []

    # A flipped byte inside a user line: still valid JSON, the seal breaks.
    i = lines[3].index(b"@example.com")
    flipped = lines[:]
    flipped[3] = lines[3][:i] + b"@exbmple.com" + lines[3][i + 12:]
    v.append(("flipped-byte", gzip.compress(b"\n".join(flipped)), "sha256 mismatch"))
    # The compressed file cut short.
    gz = gzip.compress(good)
    v.append(("truncated-gzip", gz[:len(gz) * 2 // 3], "truncated"))
    v.append(("truncated-crc", gz[:-6], "truncated"))
    # A user line dropped.
    v.append(("dropped-line", gzip.compress(b"\n".join(lines[:4] + lines[5:])),
              "lines lost or added"))
    # The trailer lies about the count (the seal is right).
    lie, _, _ = snapshot_text(h, users, trailer_edit=lambda t: t.update(users=13))
    v.append(("trailer-count-lie", gzip.compress(lie), "the trailer counts 13 users"))
    lie, _, _ = snapshot_text(h, users, trailer_edit=lambda t: t["connections"].update(
        {"google-oauth2": 5}))
    v.append(("connection-count-lie", gzip.compress(lie), "connection counts disagree"))
    # Two snapshots concatenated (cat a b > c).
    other, _, _ = snapshot_text(make_header(sid(11)), users[:3])
    v.append(("concatenated", gzip.compress(good) + gzip.compress(other),
              "two snapshots concatenated"))
    # A newer format.
    h2 = dict(h, format_version=3)
    newer, _, _ = snapshot_text(h2, users)
    v.append(("format-version-3", gzip.compress(newer), "format version 3 is newer"))
    # Invalid UTF-8 in a user line (the seal is recomputed: the reader must still refuse).
    bad = [dumps(h).encode()] + [(dumps(u)).encode() for u in
                                 sorted(users, key=lambda u: u["user_id"].encode())]
    bad[2] = bad[2].replace("Zoë".encode(), b"Zo\xff")
    body = b"".join(l + b"\n" for l in bad)
    tr = {"a0snap": "trailer", "snapshot_id": sid(10), "users": len(users),
          "connections": {UPA: 9, "google-oauth2": 2, "": 1},
          "sha256": hashlib.sha256(body).hexdigest()}
    v.append(("invalid-utf8", gzip.compress(body + (dumps(tr) + "\n").encode()),
              "invalid UTF-8"))
    # A duplicate user_id (sealed correctly).
    dup_users = users + [dict(users[0], email="other@example.com")]
    dup = [dumps(h).encode()] + [dumps(u).encode() for u in
                                 sorted(dup_users, key=lambda u: u["user_id"].encode())]
    body = b"".join(l + b"\n" for l in dup)
    tr = dict(tr, users=len(dup_users), connections={UPA: 10, "google-oauth2": 2, "": 1},
              sha256=hashlib.sha256(body).hexdigest())
    v.append(("duplicate-user", gzip.compress(body + (dumps(tr) + "\n").encode()),
              "duplicate user_id 'auth0|0000'"))
    # An enormous line (over the 4 MiB line limit) and a deeply nested one,
    # both sealed correctly: refused for what they are, not for the seal.
    def sealed(extra_users, conn_counts):
        rows = [dumps(h).encode()] + [dumps(u).encode() for u in
                                      sorted(extra_users, key=lambda u: u["user_id"].encode())]
        text = b"".join(l + b"\n" for l in rows)
        t = {"a0snap": "trailer", "snapshot_id": sid(10), "users": len(extra_users),
             "connections": conn_counts, "sha256": hashlib.sha256(text).hexdigest()}
        return gzip.compress(text + (dumps(t) + "\n").encode())
    huge = dict(users[0], user_metadata={"blob": "x" * (5 << 20)})
    v.append(("enormous-line", sealed([huge] + users[1:], {UPA: 9, "google-oauth2": 2, "": 1}),
              "longer than"))
    nested = {}
    for _ in range(200):
        nested = {"n": nested}
    deep = dict(users[0], user_metadata=nested)
    v.append(("deep-nesting", sealed([deep] + users[1:], {UPA: 9, "google-oauth2": 2, "": 1}),
              "nest"))
    # Users out of order.
    swapped = lines[:]
    swapped[2], swapped[3] = lines[3], lines[2]
    v.append(("out-of-order", gzip.compress(b"\n".join(swapped)), "out of order"))
    # No trailer.
    v.append(("no-trailer", gzip.compress(b"\n".join(lines[:-2]) + b"\n"), "missing trailer"))
    # Not compressed at all.
    v.append(("uncompressed", good, "not gzip-compressed"))
    # The header of one snapshot with the trailer of another.
    stitched, _, _ = snapshot_text(h, users,
                                   trailer_edit=lambda t: t.update(snapshot_id=sid(99)))
    v.append(("stitched", gzip.compress(stitched), "stitched from two snapshots"))
    return v


def test_damaged():
    good, _, _ = write_snapshot("damaged-base.ndjson.gz", make_header(sid(12)), sample_users())
    problems = []
    for name, data, want in damaged_variants():
        path = write_gz(os.path.join(TMP, "damaged-%s.ndjson.gz" % name), b"")
        with open(path, "wb") as f:
            f.write(data)
        for args in (["--verify", path], ["--verify", "--json", path], ["--list", path],
                     ["--list", "--json", path], ["--diff", good, path],
                     ["--diff", "--json", path, good]):
            rc, out, err = run(*args)
            if rc != 3:
                problems.append("%s %s: exit %d, expected 3 (stderr: %s)" % (name, args[0], rc,
                                                                             err.strip()))
            elif out:
                problems.append("%s %s: printed a result on stdout: %r" % (name, args, out[:200]))
            elif want not in err or path not in err:
                problems.append("%s %s: message %r does not name %r and the file" %
                                (name, args[0], err.strip(), want))
            elif len(err.strip().splitlines()) != 1:
                problems.append("%s %s: more than one line on stderr: %r" % (name, args, err))
    check(not problems, "\n  ".join([""] + problems))


def diff_pair():
    """OLD and NEW with known differences. Returns (old, new, expected users list)."""
    olds = [user("auth0|a-removed", "a@x.com"),
            user("auth0|b-same", "b@x.com"),
            user("auth0|c-email", "c@x.com"),
            user("auth0|d-activity", "d@x.com"),
            user("auth0|e-roles", "e@x.com", roles=[role("admin")]),
            user("auth0|f-removed", "f@x.com"),
            user("auth0|g-meta-blocked", "g@x.com", user_metadata={"lang": "en"}),
            user("auth0|h-orgs", "h@x.com", organizations=[org("acme", "viewer")]),
            user("auth0|i-grants-empty", "i@x.com")]
    news = [user("auth0|b-same", "b@x.com"),
            user("auth0|c-email", "c2@x.com", logins_count=10),
            user("auth0|d-activity", "d@x.com", logins_count=4,
                 last_login="2026-11-25T10:00:00Z", updated_at="2026-11-25T10:00:00Z"),
            user("auth0|e-roles", "e@x.com", roles=[role("admin"), role("editor")]),
            user("auth0|g-meta-blocked", "g@x.com", user_metadata={"lang": "fr"},
                 blocked=True),
            user("auth0|h-orgs", "h@x.com", organizations=[org("acme", "viewer", "admin")]),
            user("auth0|i-grants-empty", "i@x.com", roles=[], organizations=[]),
            user("auth0|j-added", "j@x.com"),
            user("google-oauth2|k-added", "k@x.com", conn="google-oauth2")]
    expected = [
        {"user_id": "auth0|a-removed", "change": "removed", "fields": []},
        {"user_id": "auth0|c-email", "change": "changed", "fields": ["email"]},
        {"user_id": "auth0|e-roles", "change": "changed", "fields": ["roles"]},
        {"user_id": "auth0|f-removed", "change": "removed", "fields": []},
        {"user_id": "auth0|g-meta-blocked", "change": "changed",
         "fields": ["blocked", "user_metadata"]},
        {"user_id": "auth0|h-orgs", "change": "changed", "fields": ["organizations"]},
        {"user_id": "auth0|j-added", "change": "added", "fields": []},
        {"user_id": "google-oauth2|k-added", "change": "added", "fields": []},
    ]
    return olds, news, expected


def test_diff_json():
    olds, news, expected = diff_pair()
    po, _, _ = write_snapshot("diff-old.ndjson.gz", make_header(sid(20)), olds)
    hn = make_header(sid(21), created_at="2026-11-25T09:00:00Z")
    pn, _, _ = write_snapshot("diff-new.ndjson.gz", hn, news)
    rc, out, err = run("--diff", po, pn, "--json")
    check_eq(rc, 0, "exit code (stderr: %s)" % err)
    check_eq(err, "", "no warnings for two snapshots of one tenant with one key")
    j = json.loads(out)
    check_eq(j["old"], {"file": po, "id": sid(20), "created_at": "2026-11-24T09:00:00Z",
                        "source": "prod.example.auth0.com", "users": 9}, "old")
    check_eq(j["new"], {"file": pn, "id": sid(21), "created_at": "2026-11-25T09:00:00Z",
                        "source": "prod.example.auth0.com", "users": 9}, "new")
    check_eq([j["added"], j["removed"], j["changed"], j["activity_only"], j["unchanged"]],
             [2, 2, 4, 1, 2], "added, removed, changed, activity_only, unchanged")
    check_eq(j["fields"], {"email": 1, "roles": 1, "blocked": 1, "user_metadata": 1,
                           "organizations": 1}, "fields")
    check_eq(j["ignored_fields"], ["last_login", "logins_count", "updated_at"], "ignored")
    check_eq(j["users"], expected, "users")
    # The same file against itself: nothing differs.
    rc, out, err = run("--diff", "--json", po, po)
    check_eq(rc, 0, "exit code, self diff")
    j = json.loads(out)
    check_eq([j["added"], j["removed"], j["changed"], j["activity_only"], j["unchanged"]],
             [0, 0, 0, 0, 9], "self diff counts")
    check_eq(j["users"], [], "self diff users")
    check_eq(j["fields"], {}, "self diff fields")


def test_diff_text():
    olds, news, _ = diff_pair()
    po, _, _ = write_snapshot("difft-old.ndjson.gz", make_header(sid(30)), olds)
    pn, _, _ = write_snapshot("difft-new.ndjson.gz", make_header(sid(31)), news)
    rc, out, err = run("--diff", po, pn)
    check_eq(rc, 0, "exit code (stderr: %s)" % err)
    lines = out.splitlines()
    for label, n in (("added", 2), ("removed", 2), ("changed", 4), ("activity only", 1),
                     ("unchanged", 2)):
        hits = [l for l in lines if l.startswith(label + " ") and l[len(label):].strip()[:1]
                .isdigit()]
        check(hits, "a %r count line in:\n%s" % (label, out))
        check_eq(hits[0][len(label):].split()[0], str(n), label)
    check("last_login, logins_count or updated_at" in out, "says which fields are ignored")
    check("  auth0|g-meta-blocked: blocked, user_metadata" in lines, "changed user listed")
    check("  auth0|a-removed" in lines and "  google-oauth2|k-added" in lines, "ids listed")
    fields = [l.split() for l in lines if l.startswith(("email ", "user_metadata "))]
    check_eq(sorted(fields), [["email", "1"], ["user_metadata", "1"]], "field counts")

    # More than 50 added: counted, not listed.
    many = [user("auth0|m%03d" % i, "m%d@x.com" % i) for i in range(60)]
    pm, _, _ = write_snapshot("difft-many.ndjson.gz", make_header(sid(32)), olds + many)
    rc, out, err = run("--diff", po, pm)
    check_eq(rc, 0, "exit code, many")
    check("added (60): more than 50, not listed" in out, "many added not listed:\n" + out)
    check("auth0|m001" not in out, "ids not listed beyond 50")
    rc, out, err = run("--diff", "--json", po, pm)
    check_eq(len(json.loads(out)["users"]), 60, "--json lists them all")


def test_diff_warnings():
    olds, news, _ = diff_pair()
    po, _, _ = write_snapshot("w-old.ndjson.gz", make_header(sid(40)), olds)
    pn, _, _ = write_snapshot("w-new.ndjson.gz",
                              make_header(sid(41), domain="staging.example.auth0.com",
                                          key_fp="fp-other"), news)
    rc, out, err = run("--diff", "--json", po, pn)
    check_eq(rc, 0, "exit code (stderr: %s)" % err)
    check("different tenants" in err and "staging.example.auth0.com" in err,
          "warns about tenants: " + err)
    check("different pseudonym keys" in err and "every pseudonymised field will differ" in err,
          "warns about keys: " + err)
    check_eq(json.loads(out)["changed"], 4, "still diffs")
    pr, _, _ = write_snapshot("w-raw.ndjson.gz", make_header(sid(42), privacy="raw"), news)
    rc, out, err = run("--diff", po, pr)
    check_eq(rc, 0, "exit code raw")
    check("raw personal data" in err, "warns about raw vs anonymised: " + err)


def test_usage():
    rc, out, err = run("--diff", os.path.join(TMP, "x.ndjson.gz"))
    check_eq(rc, 2, "--diff with one file")
    rc, out, err = run("--verify", os.path.join(TMP, "does-not-exist.ndjson.gz"))
    check_eq(rc, 7, "a missing file is a local file error")
    check("cannot open" in err, "names the problem: " + err)


TESTS = [test_verify_valid, test_list_json, test_list_text, test_list_raw, test_damaged,
         test_diff_json, test_diff_text, test_diff_warnings, test_usage]


def main():
    passed = failed = 0
    try:
        for t in TESTS:
            try:
                t()
                passed += 1
            except Failure as f:
                failed += 1
                print("FAIL %s: %s" % (t.__name__, f), file=sys.stderr)
            except Exception:
                failed += 1
                print("FAIL %s:\n%s" % (t.__name__, traceback.format_exc()), file=sys.stderr)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
