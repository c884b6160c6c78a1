"""a0snap-snapshots end to end: a fake production tenant exported several
times into one folder (raw, pseudonymised, encrypted with age-keygen keys,
signed with openssl ed25519 keys), then list, verify, diff, prune (dry run
and real) and erase (by email and by user id, raw and pseudonymised).

After an erasure, every snapshot of the folder is opened the way a person
would (`age -d` for the encrypted ones, zcat's bytes for all): no value
that belonged only to the erased person is left in any form, every other
user line is byte for byte what it was, every snapshot verifies, the
signatures check with openssl alone, and the erasure log holds the keyed
digest and nothing of the person. Bad input (a wrong identity, a damaged
or cut encrypted file, a signature over other content, a key file others
can read, another pseudonym key) is one line, a documented exit code, and
nothing written to the folder.

Needs age, age-keygen and openssl (scripts/install-deps): without them the
tests fail rather than skip.
"""

import gzip
import hashlib
import hmac
import json
import os
import shutil
import subprocess

from e2elib import (BIN, EXPORT, IMPORT, KEY, Failure, FakeTenant, check, check_eq, main, run,
                    test)

SNAPS = os.path.join(BIN, "snapshots", "a0snap-snapshots")
DOMAIN = "prod.example.test"


# --- keys and tools -----------------------------------------------------------

def sh(argv, stdin=None, ok=True):
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=300)
    if ok and p.returncode != 0:
        raise Failure("%s exited %d: %s" % (" ".join(argv), p.returncode,
                                            p.stderr.decode(errors="replace")))
    return p


def need_tools():
    for prog in ("age", "age-keygen", "openssl"):
        if not shutil.which(prog):
            raise Failure("'%s' is not installed: run scripts/install-deps" % prog)


def age_identity(path):
    """A new age identity file (0600); returns its recipient."""
    sh(["age-keygen", "-o", path])
    os.chmod(path, 0o600)
    return sh(["age-keygen", "-y", path]).stdout.decode().strip()


def ed25519(path):
    """A new Ed25519 private key (0600) and its public key beside it."""
    sh(["openssl", "genpkey", "-algorithm", "ed25519", "-out", path])
    os.chmod(path, 0o600)
    sh(["openssl", "pkey", "-in", path, "-pubout", "-out", path + ".pub"])
    der = sh(["openssl", "pkey", "-pubin", "-in", path + ".pub", "-outform", "DER"]).stdout
    return hashlib.sha256(der).hexdigest()


class Keys:
    def __init__(self):
        need_tools()
        self.rcp = age_identity("id.txt")
        self.rcp2 = age_identity("id2.txt")
        self.fp = ed25519("sign.pem")
        self.fp2 = ed25519("other.pem")


def snaps(*args, env=None):
    return run(SNAPS, list(args), env_extra=env)


def export(t, *args, env=None):
    r = run(EXPORT, ["-q"] + list(args), tenant=t, env_extra=env)
    check_eq(r.returncode, 0, "export %s: %s" % (args, r.stderr))
    return r


# --- reading files as a person would ------------------------------------------

def plain_bytes(path):
    """The decompressed snapshot: `age -d` first for an encrypted one."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".age"):
        data = sh(["age", "-d", "-i", "id.txt", path]).stdout
    return gzip.decompress(data)


def lines_of(path):
    text = plain_bytes(path)
    check(text.endswith(b"\n"), "%s ends with a newline" % path)
    return text[:-1].split(b"\n")


def folder_state(d):
    """Every file of the folder: name -> (bytes, mode, mtime_ns)."""
    out = {}
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        st = os.stat(p)
        with open(p, "rb") as f:
            out[name] = (f.read(), st.st_mode, st.st_mtime_ns)
    return out


def same_folder(a, b, what, mtimes=True):
    """Two folder_state()s are the same (names, bytes, modes and, unless
    told otherwise, modification times); says which files differ."""
    strip = (lambda v: v) if mtimes else (lambda v: v[:2])
    differ = sorted(n for n in set(a) | set(b) if strip(a.get(n, ())) != strip(b.get(n, ())))
    check(not differ, "%s: these files differ: %s" % (what, differ))


def reseal(lines, header_edit=None, keep_signature=True):
    """A snapshot's text with its header edited and the trailer's digest
    made right again (what someone without the signing key can do)."""
    header = json.loads(lines[0])
    if header_edit:
        header_edit(header)
    trailer = json.loads(lines[-1])
    if not keep_signature:
        header.pop("signature", None)
        trailer.pop("signature", None)
    body = [json.dumps(header, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False).encode()] + lines[1:-1]
    content = b"".join(l + b"\n" for l in body)
    trailer["sha256"] = hashlib.sha256(content).hexdigest()
    return content + json.dumps(trailer, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def write_gz(path, text):
    with open(path, "wb") as f:
        f.write(gzip.compress(text))
    os.chmod(path, 0o600)


def signature_checks(path, pub):
    """The openssl-only check snapshots/README.md documents."""
    lines = lines_of(path)
    header, trailer = json.loads(lines[0]), json.loads(lines[-1])
    digest = hashlib.sha256(b"".join(l + b"\n" for l in lines[:-1])).hexdigest()
    with open("msg", "w") as f:
        f.write("a0snap-snapshot-signature-v1\n%s\n%s\n" % (header["snapshot_id"], digest))
    sh(["sh", "-c", "printf %s '" + trailer["signature"] + "' | base64 -d > sig"])
    r = sh(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", "msg",
            "-sigfile", "sig"], ok=False)
    der = sh(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"]).stdout
    return (r.returncode == 0 and
            header["signature"]["fingerprint"] == hashlib.sha256(der).hexdigest())


# --- the archive ---------------------------------------------------------------

def tenant():
    return FakeTenant(DOMAIN, seed=21, users=150)


def archive(t, k):
    """Five snapshots of prod in arch/: raw; pseudonymised; pseudonymised and
    encrypted; pseudonymised and signed; raw, encrypted and signed. The
    first is named by the export (a folder given), the others by hand in
    the same pattern (two exports in one second would take one name)."""
    os.mkdir("arch", 0o700)
    export(t, "-o", "arch/", "--no-anonymize")
    made = os.listdir("arch")
    check(len(made) == 1 and made[0].startswith(DOMAIN + "-") and
          made[0].endswith("Z.ndjson.gz"), "the export names its file in a folder: %r" % made)
    names = {"raw": made[0]}
    for kind, stamp, args in (
            ("pseudo", "20260102T000000Z", []),
            ("pseudo_enc", "20260103T000000Z", ["--encrypt-to", k.rcp]),
            ("pseudo_signed", "20260104T000000Z", ["--sign-key", "sign.pem"]),
            ("raw_enc_signed", "20260105T000000Z",
             ["--no-anonymize", "--encrypt-to", k.rcp, "--sign-key", "sign.pem"])):
        name = "%s-%s.ndjson.gz%s" % (DOMAIN, stamp, ".age" if "enc" in kind else "")
        export(t, "-o", "arch/" + name, *args)
        names[kind] = name
    return names


def person(state, prefix):
    return next(u for u in sorted(state["users"], key=lambda u: u["user_id"])
                if u["user_id"].startswith(prefix) and u.get("name"))


def string_leaves(v, out):
    if isinstance(v, dict):
        for x in v.values():
            string_leaves(x, out)
    elif isinstance(v, list):
        for x in v:
            string_leaves(x, out)
    elif isinstance(v, str):
        out.add(v)
    return out


def own_values(lines, theirs):
    """The strings of the person's lines (theirs: indexes) that no other
    line of the snapshot holds: what must be gone after the erasure."""
    mine = set()
    for i in theirs:
        string_leaves(json.loads(lines[i]), mine)
    others = b"\n".join(l for i, l in enumerate(lines) if i not in theirs)
    return {v for v in mine if len(v) >= 6 and v.encode() not in others}


def person_lines(lines, person_values):
    """Indexes of the user lines holding one of the person's raw values or
    their pseudonyms as whole JSON strings."""
    needles = [json.dumps(v, ensure_ascii=False).encode() for v in person_values]
    return [i for i in range(1, len(lines) - 1) if any(n in lines[i] for n in needles)]


def pseudonym_forms(t, email):
    r = run(EXPORT, ["--pseudonym-of", email], tenant=t)
    check_eq(r.returncode, 0, r.stderr)
    return json.loads(r.stdout)


# --- list, verify, diff ----------------------------------------------------------

@test
def list_verify_and_diff_the_archive():
    k = Keys()
    with tenant() as t:
        names = archive(t, k)
    with open("arch/notes.txt", "w") as f:
        f.write("not a snapshot\n")
    cut = lines_of("arch/" + names["pseudo"])
    write_gz("arch/%s-20260106T000000Z.ndjson.gz" % DOMAIN,
             b"".join(l + b"\n" for l in cut[: len(cut) // 2]))
    damaged = "%s-20260106T000000Z.ndjson.gz" % DOMAIN

    # without an identity: the encrypted ones are not checked, the cut one is NO
    r = snaps("list", "arch")
    check_eq(r.returncode, 0, r.stderr)
    rows = {l.split()[0]: l for l in r.stdout.splitlines()[1:] if l.strip()}
    check("not checked: no identity" in rows[names["pseudo_enc"]], r.stdout)
    check("NO:" in rows[damaged] and "missing trailer" in rows[damaged], r.stdout)
    check(" yes" in rows[names["raw"]] and " raw " in rows[names["raw"]], r.stdout)
    check(" pseudonymised " in rows[names["pseudo"]], r.stdout)
    check(k.fp[:16] in rows[names["pseudo_signed"]], r.stdout)
    check("1 other file ignored" in r.stdout, r.stdout)

    r = snaps("list", "arch", "--identity", "id.txt", "--json")
    check_eq(r.returncode, 0, r.stderr)
    doc = json.loads(r.stdout)
    by = {s["file"]: s for s in doc["snapshots"]}
    check_eq(doc["other_files"], 1, "other files")
    check_eq(doc["counts"], {"snapshots": 6, "verified": 5, "not_verified": 1, "not_checked": 0},
             "counts")
    check_eq(by[names["raw_enc_signed"]]["signer"], k.fp, "signer fingerprint = openssl's")
    check_eq(by[names["raw_enc_signed"]]["encrypted"], True, "encrypted")
    check_eq(by[names["raw_enc_signed"]]["privacy"], "raw", "privacy")
    check_eq(by[names["pseudo_enc"]]["users"], 150, "users")
    check_eq(by[names["pseudo_enc"]]["source"], DOMAIN, "source")
    check_eq(by[names["pseudo"]]["key_fingerprint"] is not None, True, "key fingerprint")
    check_eq(by[damaged]["verified"], False, "damaged")
    check(by[damaged]["problem"], "a problem is named")

    # verify: each failure named, exit 3; without the cut file, 0
    r = snaps("verify", "arch", "--identity", "id.txt")
    check_eq(r.returncode, 3, r.stdout + r.stderr)
    check("FAILED" in r.stdout and damaged in r.stdout, r.stdout)
    check("1 of 6 snapshots did not verify" in r.stderr, r.stderr)
    os.unlink("arch/" + damaged)
    r = snaps("verify", "arch", "--identity", "id.txt")
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    check("5 verified, 0 failed, 0 not checked" in r.stdout, r.stdout)
    r = snaps("verify", "arch")
    check_eq(r.returncode, 2, "encrypted without an identity: " + r.stdout + r.stderr)
    # the signer rule of a0snap-import
    trust = {"A0SNAP_TRUSTED_KEYS": "sign.pem.pub", "A0SNAP_IDENTITY_FILE": "id.txt"}
    r = snaps("verify", "arch", env=trust)
    check_eq(r.returncode, 3, r.stdout + r.stderr)
    check(r.stdout.count("FAILED") == 3 and "is not signed" in r.stdout, r.stdout)
    r = snaps("verify", "arch/" + names["pseudo_signed"], "arch/" + names["raw_enc_signed"],
              "--json", env=trust)
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    check(all(s["trusted"] for s in json.loads(r.stdout)["snapshots"]), r.stdout)
    r = snaps("verify", "arch/" + names["pseudo_signed"],
              env={"A0SNAP_TRUSTED_KEYS": "other.pem.pub"})
    check_eq(r.returncode, 3, r.stdout + r.stderr)

    # diff is a0snap-import --diff
    old, new = "arch/" + names["raw"], "arch/" + names["raw_enc_signed"]
    a = snaps("diff", old, new, "--json", "--identity", "id.txt")
    b = run(IMPORT, ["--diff", old, new, "--json", "--identity", "id.txt"])
    check_eq((a.returncode, b.returncode), (0, 0), a.stderr + b.stderr)
    check_eq(json.loads(a.stdout), json.loads(b.stdout), "diff = a0snap-import --diff")
    check_eq(json.loads(a.stdout)["unchanged"], 150, "same tenant, same users")


# --- prune --------------------------------------------------------------------

@test
def prune_per_tenant_dry_run_then_real():
    k = Keys()
    with tenant() as t:
        export(t, "-o", "base.ndjson.gz")
        export(t, "-o", "enc.ndjson.gz.age", "--encrypt-to", k.rcp)
    base = lines_of("base.ndjson.gz")
    os.mkdir("arch", 0o700)

    def made(name, domain, created):
        def edit(h):
            h["source"]["domain"] = domain
            h["created_at"] = created
        write_gz("arch/" + name, reseal(base, edit))

    # The names lie about the tenant on purpose: prune goes by the header.
    made("a-1.ndjson.gz", "a.example", "2026-01-01T00:00:00Z")
    made("a-2.ndjson.gz", "a.example", "2026-02-01T00:00:00Z")
    made("a-3.ndjson.gz", "b.example", "2026-03-01T00:00:00Z")
    made("a-4.ndjson.gz", "a.example", "2099-01-01T00:00:00Z")   # young whatever now is
    made("b-1.ndjson.gz", "b.example", "2026-01-15T00:00:00Z")
    made("b-2.ndjson.gz", "a.example", "2026-03-15T00:00:00Z")
    bad = reseal(base, lambda h: h.update(created_at="2020-01-01T00:00:00Z"))
    write_gz("arch/damaged.ndjson.gz", bad.replace(b'"user_id":"', b'"user_id":"x', 1))
    shutil.copy("enc.ndjson.gz.age", "arch/locked.ndjson.gz.age")
    with open("arch/keep-me.gz", "wb") as f:
        f.write(b"\x1f\x8bnot ours")
    before = folder_state("arch")

    r = snaps("prune", "arch")
    check_eq(r.returncode, 2, "no bound: " + r.stderr)

    # a: a-4, b-2 newest two; a-2 and a-1 go. b: a-3, b-1 stay (two).
    r = snaps("prune", "arch", "--keep-last", "2", "--dry-run")
    check_eq(r.returncode, 3, "damaged kept: " + r.stdout + r.stderr)
    same_folder(folder_state("arch"), before, "a dry run deletes nothing")
    would = sorted(l.split("'")[1] for l in r.stdout.splitlines() if l.startswith("would delete"))
    check_eq(would, ["a-1.ndjson.gz", "a-2.ndjson.gz"], "would delete")
    check("'damaged.ndjson.gz'" in r.stdout and "does NOT verify" in r.stdout, r.stdout)
    check("'locked.ndjson.gz.age'" in r.stdout and "no identity" in r.stdout, r.stdout)
    check("1 other file not looked at" in r.stdout, r.stdout)

    r = snaps("prune", "arch", "--keep-last", "1", "--keep-within", "36500", "--json")
    check_eq(r.returncode, 3, r.stdout + r.stderr)
    doc = json.loads(r.stdout)
    check_eq(doc["deleted"], 0, "everything is younger than 100 years")
    check_eq({s["file"]: s["reason"] for s in doc["snapshots"]}["a-4.ndjson.gz"], "newest",
             "reasons")

    r = snaps("prune", "arch", "--keep-last", "2")
    check_eq(r.returncode, 3, r.stdout + r.stderr)
    left = sorted(os.listdir("arch"))
    check_eq(left, ["a-3.ndjson.gz", "a-4.ndjson.gz", "b-1.ndjson.gz", "b-2.ndjson.gz",
                    "damaged.ndjson.gz", "keep-me.gz", "locked.ndjson.gz.age"], "left")
    now = folder_state("arch")
    same_folder(now, {n: before[n] for n in now}, "what is left is untouched")

    # with the identity the encrypted one is dated (2026-12, now-ish) and counted;
    # --include-damaged deletes the damaged one, on a line that says so
    r = snaps("prune", "arch", "--keep-last", "1", "--include-damaged", "--identity", "id.txt")
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    check(any(l.startswith("delete") and "damaged.ndjson.gz" in l and "does NOT verify" in l
              for l in r.stdout.splitlines()), r.stdout)
    check_eq(sorted(os.listdir("arch")), ["a-3.ndjson.gz", "a-4.ndjson.gz", "keep-me.gz",
                                          "locked.ndjson.gz.age"], "left")


# --- erase ----------------------------------------------------------------------

def check_erased(names, before, person_values, k, removed_min=1):
    """After an erasure: what belonged only to the person is gone from every
    file, every other line is byte for byte what it was, and every snapshot
    verifies (openssl checks the signatures, age opens the encrypted)."""
    for kind, name in names.items():
        path = "arch/" + name
        old, new = before[name], lines_of(path)
        theirs = person_lines(old, person_values)
        check(len(theirs) >= removed_min, "%s held the person" % kind)
        gone = own_values(old, theirs) | {v for v in person_values if len(v) >= 6}
        check(len(own_values(old, theirs)) >= 4, "%s: the person's own values are found" % kind)
        text = b"\n".join(new)
        for v in gone:
            check(v.encode() not in text, "%s still holds %r" % (kind, v))
        kept = [l for i, l in enumerate(old[1:-1], 1) if i not in theirs]
        check_eq(new[1:-1], kept, "%s: the other user lines, byte for byte" % kind)
        h_old, h_new = json.loads(old[0]), json.loads(new[0])
        check(h_new["snapshot_id"] != h_old["snapshot_id"], "%s: a new snapshot_id" % kind)
        check_eq(h_new["created_at"], h_old["created_at"], "%s: created_at kept" % kind)
        rec = h_new["erasures"][-1]
        check_eq(rec["previous_snapshot_id"], h_old["snapshot_id"], "%s: the erasure record" % kind)
        check_eq(rec["users_removed"], len(theirs), "%s: users removed" % kind)
        check_eq(json.loads(new[-1])["users"], len(kept), "%s: trailer count" % kind)
        if "signed" in kind:
            check(signature_checks(path, "sign.pem.pub"), "%s: openssl checks the signature" % kind)
        if name.endswith(".age"):
            check_eq(h_new["encryption"]["recipients"], [k.rcp], "%s: recipients" % kind)
    r = snaps("verify", "arch", "--identity", "id.txt")
    check_eq(r.returncode, 0, r.stdout + r.stderr)


def check_log(person_values, forms, by, value, changed):
    path = "arch/erasure-log.ndjson"
    check_eq(os.stat(path).st_mode & 0o777, 0o600, "log mode")
    with open(path, "rb") as f:
        raw = f.read()
    for v in list(person_values) + list(forms):
        if len(v) >= 4:
            check(v.encode() not in raw and v.lower().encode() not in raw.lower(),
                  "the log holds %r" % v)
    rec = json.loads(raw.splitlines()[-1])
    norm = value.strip().lower() if by == "email" else value
    want = hmac.new(KEY.encode(), b"a0snap/v1/erasure\0" + by.encode() + b"\0" + norm.encode(),
                    hashlib.sha256).hexdigest()
    check_eq(rec["subject"]["hmac_sha256"], want, "the log's digest")
    check_eq(rec["subject"]["by"], by, "by")
    check_eq(sorted(f["file"] for f in rec["files"]), sorted(changed), "files in the log")
    check(rec["complete"] and all(f["users_removed"] >= 1 for f in rec["files"]), raw)
    return rec


@test
def erase_by_email_from_every_kind_of_snapshot():
    k = Keys()
    with tenant() as t:
        names = archive(t, k)
        state = t.state()
        p = person(state, "samlp|")   # the email is inside its id too
        forms = pseudonym_forms(t, p["email"])
    before = {n: lines_of("arch/" + n) for n in names.values()}
    raw_values = {p["email"], p["user_id"], p["user_id"].split("|")[-1]}
    # the person as the pseudonymised snapshots write them
    person_values = raw_values | {forms["email"]}
    start = folder_state("arch")

    # a dry run, and the refusals: nothing written
    r = snaps("erase", "arch", "--email", p["email"].upper(), "--dry-run",
              "--identity", "id.txt", "--sign-key", "sign.pem")
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    check_eq(sum(l.startswith("would erase") for l in r.stdout.splitlines()), 5, r.stdout)
    same_folder(folder_state("arch"), start, "a dry run writes nothing")
    r = snaps("erase", "arch", "--email", p["email"], "--identity", "id.txt")
    check_eq(r.returncode, 4, "signed without --sign-key: " + r.stderr)
    check(r.stderr.count("is signed") == 2 and "--unsign" in r.stderr, r.stderr)
    r = snaps("erase", "arch", "--email", p["email"], "--sign-key", "sign.pem")
    check_eq(r.returncode, 2, "encrypted without an identity: " + r.stderr)
    same_folder(folder_state("arch"), start, "refusals write nothing")

    r = snaps("erase", "arch", "--email", p["email"].upper(), "--identity", "id.txt",
              "--sign-key", "sign.pem")
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    check("erased 5 users from 5 of 5 snapshots" in r.stdout, r.stdout)
    check_erased(names, before, person_values, k)
    rec = check_log(person_values, [forms["email"]], "email", p["email"], names.values())
    check_eq(rec["users_removed"], 5, "users removed")

    # again: nothing left to erase, nothing rewritten, logged all the same
    after = folder_state("arch")
    r = snaps("erase", "arch", "--email", p["email"], "--identity", "id.txt", "--sign-key",
              "sign.pem", "--json")
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    check_eq(json.loads(r.stdout)["users_removed"], 0, "nothing left")
    now = folder_state("arch")
    same_folder({n: now[n] for n in names.values()}, {n: after[n] for n in names.values()},
                "untouched the second time")
    with open("arch/erasure-log.ndjson") as f:
        check_eq(len(f.read().splitlines()), 2, "two runs logged")


@test
def erase_by_user_id_also_from_the_request():
    k = Keys()
    with tenant() as t:
        names = archive(t, k)
        state = t.state()
        p = person(state, "auth0|")
        other = person(state, "google-oauth2|")
        # a subset export records the ids it was asked for in its header
        export(t, "-o", "arch/%s-20260107T000000Z.ndjson.gz" % DOMAIN, "--user", p["user_id"],
               "--user", other["user_id"])
        names["subset"] = "%s-20260107T000000Z.ndjson.gz" % DOMAIN
        forms = pseudonym_forms(t, p["email"])
    before = {n: lines_of("arch/" + n) for n in names.values()}
    check(p["user_id"].encode() in before[names["subset"]][0], "the request names the person")

    r = snaps("erase", "arch", "--user-id", p["user_id"], "--identity", "id.txt",
              "--unsign", "--json")
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    doc = json.loads(r.stdout)
    check_eq(doc["snapshots_changed"], 6, r.stdout)
    check(all(s["signed_by"] is None for s in doc["snapshots"]), "--unsign: unsigned")
    check_eq(sorted(s["file"] for s in doc["snapshots"] if s["signature_removed"]),
             sorted([names["pseudo_signed"], names["raw_enc_signed"]]), "signatures removed")
    # the person's own values (raw, and pseudonymised in those snapshots)
    person_values = {p["user_id"], p["email"], forms["email"], p["user_id"].split("|")[-1]}
    unsigned = {kind: n for kind, n in names.items() if "signed" not in kind}
    check_erased(unsigned, before, person_values, k)
    for kind in ("pseudo_signed", "raw_enc_signed"):
        h = json.loads(lines_of("arch/" + names[kind])[0])
        check("signature" not in h and h["erasures"][-1]["signature"] == "removed",
              "%s: written unsigned, and said" % kind)
        check(p["user_id"].encode() not in plain_bytes("arch/" + names[kind]), kind)
    h = json.loads(lines_of("arch/" + names["subset"])[0])
    check_eq(h["request"]["users"], [other["user_id"]], "the person left the request")
    check_eq(h["erasures"][-1]["request_values_removed"], 1, "and the record says so")
    check_log(person_values, [forms["email"]], "user_id", p["user_id"], names.values())


@test
def erase_encrypts_to_new_recipients_when_told():
    k = Keys()
    with tenant() as t:
        export(t, "-o", "x.ndjson.gz")
        os.mkdir("arch", 0o700)
        export(t, "-o", "arch/s.ndjson.gz.age", "--encrypt-to", k.rcp)
        p = person(t.state(), "auth0|")
    # an encrypted snapshot whose header records no recipient (as `age -r` makes one)
    text = reseal(lines_of("x.ndjson.gz"), lambda h: h.pop("encryption", None))
    with open("t.ndjson.gz", "wb") as f:
        f.write(gzip.compress(text))
    sh(["age", "-r", k.rcp, "-o", "arch/t.ndjson.gz.age", "t.ndjson.gz"])
    start = folder_state("arch")
    r = snaps("erase", "arch", "--user-id", p["user_id"], "--identity", "id.txt")
    check_eq(r.returncode, 4, r.stderr)
    check("t.ndjson.gz.age" in r.stderr and "--encrypt-to" in r.stderr, r.stderr)
    same_folder(folder_state("arch"), start, "nothing written")

    r = snaps("erase", "arch", "--user-id", p["user_id"], "--identity", "id.txt",
              "--encrypt-to", k.rcp2)
    check_eq(r.returncode, 0, r.stdout + r.stderr)
    for name in ("s.ndjson.gz.age", "t.ndjson.gz.age"):
        path = "arch/" + name
        check(sh(["age", "-d", "-i", "id.txt", path], ok=False).returncode != 0,
              "%s: the old identity no longer opens it" % name)
        data = gzip.decompress(sh(["age", "-d", "-i", "id2.txt", path]).stdout)
        check(p["user_id"].encode() not in data, "%s: erased" % name)
        check_eq(json.loads(data.split(b"\n")[0])["encryption"]["recipients"], [k.rcp2],
                 "%s: the header records the new recipient" % name)
    r = snaps("verify", "arch", "--identity", "id2.txt")
    check_eq(r.returncode, 0, r.stdout + r.stderr)


@test
def erase_refuses_bad_input_and_writes_nothing():
    k = Keys()
    with tenant() as t:
        names = archive(t, k)
        p = person(t.state(), "auth0|")
        export(t, "-o", "otherkey.ndjson.gz", env={"A0SNAP_PSEUDONYM_KEY": "another-key-" + "9" * 30})
    args = ["erase", "arch", "--email", p["email"], "--sign-key", "sign.pem"]
    good = folder_state("arch")

    def refused(code, what, extra=(), env=None, text=None, files=1):
        start = folder_state("arch")
        r = snaps(*(args + list(extra)), env=env)
        check_eq(r.returncode, code, "%s: %s" % (what, r.stderr))
        same_folder(folder_state("arch"), start, "%s: nothing written" % what)
        check(not os.path.exists("arch/erasure-log.ndjson"), "%s: no log" % what)
        check(text is None or text in r.stderr, "%s: %s" % (what, r.stderr))
        check(p["email"] not in r.stderr, "%s: the message repeats the email" % what)
        # one line per file refused, then one that says nothing was written (a
        # key file is refused before any snapshot is read: one line)
        lines = r.stderr.strip().splitlines()
        check(1 <= len(lines) <= files + 1, "%s: %s" % (what, r.stderr))
        return r

    refused(2, "a wrong identity", ["--identity", "id2.txt"], text="no identity", files=2)
    refused(2, "no pseudonym key", ["--identity", "id.txt"], env={"A0SNAP_PSEUDONYM_KEY": None})

    # key files others can read
    for opt, f in (("--identity", "id.txt"), ("--sign-key", "sign.pem"),
                   ("--pseudonym-key-file", "key.txt")):
        if f == "key.txt":
            with open(f, "w") as fh:
                fh.write(KEY + "\n")
        os.chmod(f, 0o644)
        extra = ["--identity", "id.txt"] if opt != "--identity" else []
        refused(4, "%s 0644" % f, extra + [opt, f])
        os.chmod(f, 0o600)

    # a snapshot pseudonymised with another key
    shutil.copy("otherkey.ndjson.gz", "arch/%s-20260108T000000Z.ndjson.gz" % DOMAIN)
    refused(4, "another pseudonym key", ["--identity", "id.txt"], text="key given")
    os.unlink("arch/%s-20260108T000000Z.ndjson.gz" % DOMAIN)

    # a damaged, then a cut encrypted file
    enc = "arch/" + names["pseudo_enc"]
    with open(enc, "rb") as f:
        sealed = f.read()
    with open(enc, "wb") as f:
        f.write(sealed[:-300] + bytes(b ^ 0x55 for b in sealed[-300:-200]) + sealed[-200:])
    refused(3, "a damaged encrypted file", ["--identity", "id.txt"], text=names["pseudo_enc"])
    with open(enc, "wb") as f:
        f.write(sealed[: len(sealed) // 2])
    refused(3, "a cut encrypted file", ["--identity", "id.txt"], text=names["pseudo_enc"])
    with open(enc, "wb") as f:
        f.write(sealed)

    # a signature over other content: a user edited, the digest made right again
    signed = "arch/" + names["pseudo_signed"]
    lines = lines_of(signed)
    with open(signed, "rb") as f:
        original = f.read()
    lines[2] = lines[2].replace(b"{", b'{"aa_edited":true,', 1)
    write_gz(signed, reseal(lines))
    refused(3, "a signature over other content", ["--identity", "id.txt"], text="signature")
    with open(signed, "wb") as f:
        f.write(original)

    same_folder(folder_state("arch"), good, "the archive as it was", mtimes=False)
    r = snaps(*(args + ["--identity", "id.txt"]))
    check_eq(r.returncode, 0, "and with good input it works: " + r.stdout + r.stderr)


if __name__ == "__main__":
    main()
