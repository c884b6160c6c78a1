"""Privacy by default, end to end: the default policy leaves no original
email, name, phone number or address in a snapshot; pseudonyms are keyed
and repeatable; --strict, --pseudonym-of and the key rules work as a user
runs them."""

import gzip
import json
import os

from e2elib import EXPORT, KEY, FakeTenant, check, check_eq, main, read_snapshot, run, test

_t = None


def tenant():
    global _t
    if _t is None:
        _t = FakeTenant("pii.example.test", seed=21, users=600)
    return _t


def personal_values(state):
    """Every email, name, phone number and address-like string of the tenant,
    in profiles and (nested) metadata."""
    out = set()

    def walk(v, key=""):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, k.lower())
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and len(v) >= 6:
            if any(p in key for p in ("email", "phone", "name", "address", "street", "city",
                                      "birth", "dob", "postal", "zip", "iban", "card", "ssn")):
                out.add(v)

    for u in state["users"]:
        for f in ("email", "name", "given_name", "family_name", "nickname", "phone_number",
                  "username"):
            if isinstance(u.get(f), str) and len(u[f]) >= 4:
                out.add(u[f])
        walk(u.get("user_metadata") or {})
        walk(u.get("app_metadata") or {})
    return out


@test
def default_policy_leaves_no_personal_data():
    t = tenant()
    r = run(EXPORT, ["-o", "p.ndjson.gz", "--json"], tenant=t)
    check_eq(r.returncode, 0, r.stderr)
    text = gzip.open("p.ndjson.gz", "rt", encoding="utf-8").read()
    values = personal_values(t.state())
    check(len(values) > 1000, "the seeded tenant carries personal data (%d values)" % len(values))
    leaked = sorted(v for v in values if v in text)
    check_eq(leaked[:10], [], "%d personal values leaked" % len(leaked))
    check(KEY not in text, "the key is never written")
    header, users, _ = read_snapshot("p.ndjson.gz")
    check_eq(header["privacy"]["applied"], True, "policy recorded")
    check(header["privacy"].get("key_fingerprint"), "key fingerprint recorded")
    check(header["privacy"].get("policy_sha256"), "policy hash recorded")
    check(all("@" in u["email"] for u in users if "email" in u), "emails keep their shape")
    # user_id, connections, roles and blocked state are kept
    by_id = {u["user_id"]: u for u in t.state()["users"]}
    # user ids are kept, but an email embedded in one (samlp|conn|ann@corp) is pseudonymised
    kept = sorted(u for u in by_id if "@" not in u.rpartition("|")[2])
    check_eq(sorted(u["user_id"] for u in users if "@" not in u["user_id"].rpartition("|")[2]),
             kept, "user ids kept")
    embedded = [u["user_id"] for u in users if "@" in u["user_id"].rpartition("|")[2]]
    check(embedded and all(u.rpartition("|")[2].endswith("@example.com") for u in embedded),
          "embedded emails pseudonymised")
    check_eq(len(users), len(by_id), "every user")
    check_eq(sum(1 for u in users if u.get("roles") or u.get("organizations")),
             sum(1 for s in by_id.values() if s.get("roles") or s.get("organizations")),
             "grants follow the mapped ids")
    for u in users:
        s = by_id.get(u["user_id"])
        if s is None:
            continue  # an id with an embedded email, checked above
        check_eq(u.get("blocked"), s.get("blocked"), "blocked kept")
        check_eq(u.get("email_verified"), s.get("email_verified"), "email_verified kept")
        check_eq(u["identities"][0]["connection"], s["identities"][0]["connection"], "conn")


@test
def linked_accounts_and_passwordless_users_leak_nothing():
    """The 2026 model: linked accounts carry their own profile (profileData)
    and passwordless users live by their email or phone number."""
    with FakeTenant("pii2026.example.test", seed=22, users=300, model_2026=True) as t:
        state = t.state()
        values = personal_values(state)
        linked = set()
        for u in state["users"]:
            for ident in u.get("identities", [])[1:]:
                for k, v in (ident.get("profileData") or {}).items():
                    if isinstance(v, str) and len(v) >= 4 and k != "email_verified":
                        linked.add(v)
        check(len(linked) > 10, "the tenant has linked accounts with profiles (%d)" % len(linked))
        check(any(u["user_id"].startswith("sms|") and u.get("phone_number")
                  for u in state["users"]), "the tenant has SMS users")
        r = run(EXPORT, ["-o", "p26.ndjson.gz", "--with-permissions"], tenant=t)
        check_eq(r.returncode, 0, r.stderr)
        text = gzip.open("p26.ndjson.gz", "rt", encoding="utf-8").read()
        leaked = sorted(v for v in values | linked if v in text)
        check_eq(leaked[:10], [], "%d personal values leaked" % len(leaked))
        _, users, _ = read_snapshot("p26.ndjson.gz")
        sms = [u for u in users if u["user_id"].startswith("sms|")]
        check(sms and all(u.get("phone_number", "+").startswith("+") for u in sms),
              "phone numbers keep their shape")


@test
def pseudonyms_are_keyed_and_repeatable():
    t = tenant()
    for name in ("a", "b"):
        r = run(EXPORT, ["-o", name + ".ndjson.gz", "-q"], tenant=t)
        check_eq(r.returncode, 0, r.stderr)
    r = run(EXPORT, ["-o", "c.ndjson.gz", "-q"], tenant=t,
            env_extra={"A0SNAP_PSEUDONYM_KEY": "another-key-0123456789abcdef0123456789"})
    check_eq(r.returncode, 0, r.stderr)
    a, b, c = (read_snapshot(n + ".ndjson.gz")[1] for n in "abc")
    check_eq(a, b, "same key, same pseudonyms")
    # (ids that embed an email differ between keys: compare the others)
    emails_a = {u["user_id"]: u.get("email") for u in a if "@" not in u["user_id"]}
    emails_c = {u["user_id"]: u.get("email") for u in c if "@" not in u["user_id"]}
    same = [k for k in emails_a if emails_a[k] and emails_a[k] == emails_c[k]]
    check_eq(same, [], "another key gives other pseudonyms")
    # --pseudonym-of finds the twin of a production user
    s = next(u for u in t.state()["users"] if u.get("email") and "@" not in u["user_id"])
    r = run(EXPORT, ["--pseudonym-of", s["email"]], tenant=t)
    check_eq(r.returncode, 0, r.stderr)
    twin = json.loads(r.stdout)
    check_eq(twin["email"], emails_a[s["user_id"]], "--pseudonym-of by email")
    r = run(EXPORT, ["--pseudonym-of", s["user_id"]], tenant=t)
    check_eq(r.returncode, 0, r.stderr)
    check_eq(json.loads(r.stdout)["email"], emails_a[s["user_id"]], "--pseudonym-of by id")


@test
def no_key_no_pseudonyms():
    t = tenant()
    r = run(EXPORT, ["-o", "k.ndjson.gz"], tenant=t, env_extra={"A0SNAP_PSEUDONYM_KEY": None})
    check(r.returncode != 0, "refused")
    check("A0SNAP_PSEUDONYM_KEY" in r.stderr, r.stderr)
    check(not os.path.exists("k.ndjson.gz"), "nothing written")
    with open("key", "w") as f:
        f.write(KEY)
    os.chmod("key", 0o644)
    r = run(EXPORT, ["-o", "k.ndjson.gz", "--pseudonym-key-file", "key"], tenant=t,
            env_extra={"A0SNAP_PSEUDONYM_KEY": None})
    check(r.returncode != 0 and "key" in r.stderr, r.stderr)
    os.chmod("key", 0o600)
    r = run(EXPORT, ["-o", "k.ndjson.gz", "--pseudonym-key-file", "key", "-q"], tenant=t,
            env_extra={"A0SNAP_PSEUDONYM_KEY": None})
    check_eq(r.returncode, 0, r.stderr)


@test
def strict_drift_guard():
    t = tenant()
    r = run(EXPORT, ["-o", "s.ndjson.gz", "--strict"], tenant=t)
    check_eq(r.returncode, 4, r.stderr)
    check("--strict" in r.stderr and "app_metadata." in r.stderr, r.stderr)
    check(not os.path.exists("s.ndjson.gz"), "nothing written")
    # a policy that reviews every key passes --strict
    policy = {"version": 1, "unlisted_metadata": "drop"}
    with open("policy.json", "w") as f:
        json.dump(policy, f)
    r = run(EXPORT, ["-o", "s.ndjson.gz", "--strict", "--policy", "policy.json"], tenant=t)
    check(r.returncode in (0, 4), r.stderr)
    if r.returncode == 0:
        check("unreviewed" not in r.stderr, r.stderr)


@test
def colliding_pseudonyms_stop_the_run():
    t = tenant()
    # a policy that sends every email to one address: two users of a connection collide
    with open("collide.json", "w") as f:
        json.dump({"version": 1, "fields": {"email": {"action": "set", "value": "same@example.com"}}}, f)
    r = run(EXPORT, ["-o", "c.ndjson.gz", "--policy", "collide.json"], tenant=t)
    check(r.returncode != 0, "a collision must stop the run: %s" % r.stderr[-300:])
    check("collision" in r.stderr, r.stderr[-500:])
    check(not os.path.exists("c.ndjson.gz"), "nothing written")


if __name__ == "__main__":
    main()
