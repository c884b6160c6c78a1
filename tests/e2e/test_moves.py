"""Values that moved between snapshot users (import/import_moves.h).

Production handed an email or username from one user to another (two
users swapped emails, an address passed on to a new user): the target
still has the old holders. Such a holder is not a conflict but a snapshot
user that gives the value up: the import sets it aside, then writes every
user as the snapshot has it, without deleting anyone and with either
--on-conflict policy. A chain that ends at a real squatter stays a conflict
(skipped by default, the squatter replaced with --on-conflict=replace), and
a user whose email and username two squatters hold has both replaced.
"""

import copy
import json

from e2elib import (EXPORT, IMPORT, FakeTenant, catalogue_only, check, check_eq,
                    compare_tenants, database_users, main, run, test)

PROD = "prod.example.test"
STAGE = "staging.example.test"


def export(prod):
    r = run(EXPORT, ["-o", "prod.ndjson.gz", "--no-anonymize", "-q"], tenant=prod)
    check_eq(r.returncode, 0, r.stderr)
    return "prod.ndjson.gz"


def do_import(stage, *args):
    return run(IMPORT, ["prod.ndjson.gz", "--target", stage.domain, "--no-anonymize", "--json",
                        "--report", "rep.ndjson"] + list(args),
               tenant=stage, env_extra={"AUTH0_DOMAIN": None})


def report():
    with open("rep.ndjson") as f:
        lines = [json.loads(l) for l in f]
    return {l["user_id"]: l for l in lines[:-1]}, lines[-1]


def writes(log):
    return [(e["method"], e["path"]) for e in log if e["method"] in ("POST", "PATCH", "DELETE")
            and e["listener"] == "api" and e["path"] not in ("/oauth/token", "/api/v2/jobs/users-exports")]


def staging_with(ps, changes, extra=()):
    """Staging holding prod's database users, with changes {user_id: {field:
    value}} applied, and the extra users."""
    doc = catalogue_only(ps)
    for u in sorted(database_users(ps).values(), key=lambda u: u["user_id"]):
        s = copy.deepcopy(u)
        s.update(changes.get(u["user_id"], {}))
        doc["users"].append(s)
    doc["users"].extend(extra)
    return doc


def db_users(ps, connection="Username-Password-Authentication"):
    return sorted((u for u in database_users(ps).values()
                   if u["identities"][0]["connection"] == connection), key=lambda u: u["user_id"])


@test
def swapped_emails_are_moved_under_either_policy():
    with FakeTenant(PROD, seed=41, users=80) as p:
        ps = p.state()
        a, b = db_users(ps)[3:5]
        swap = {a["user_id"]: {"email": b["email"]}, b["user_id"]: {"email": a["email"]}}
        export(p)
        for policy in ([], ["--on-conflict=replace"]):
            with FakeTenant(STAGE) as s:
                s.load(staging_with(ps, swap))
                # the plan says so, and writes nothing
                s.clear_log()
                r = do_import(s, "--plan")
                check_eq(r.returncode, 0, r.stderr)
                check_eq(writes(s.log()), [], "--plan writes nothing")
                r = run(IMPORT, ["prod.ndjson.gz", "--target", s.domain, "--no-anonymize", "--plan"],
                        tenant=s, env_extra={"AUTH0_DOMAIN": None})
                check("Moves: 2 emails, usernames or phone numbers go from one user to another"
                      in r.stdout, r.stdout)
                rep, tail = report()
                check_eq((tail["conflicts"], tail["moves"]), (0, 2), "two moves, no conflict")
                check_eq(rep[a["user_id"]]["outcome"], "updated", "a")
                check(b["user_id"] in rep[a["user_id"]]["reason"], rep[a["user_id"]])
                check(a["user_id"] in rep[b["user_id"]]["reason"], rep[b["user_id"]])
                # the import: no deletion, one PATCH setting a value aside and
                # one setting the right one, per user; no mail sent
                s.clear_log()
                s.clear_outbox()
                r = do_import(s, *policy)
                check_eq(r.returncode, 0, r.stderr)
                summary = json.loads(r.stdout)
                check_eq((summary["conflicts"], summary["deleted"], summary["failed"]), (0, 0, 0),
                         "%s: no conflict, deletion nor failure" % policy)
                w = writes(s.log())
                check(not any(m == "DELETE" for m, _ in w), "nothing deleted: %r" % w)
                check_eq(sorted(m for m, _ in w), ["PATCH"] * 4, "four PATCHes")
                check_eq(s.outbox(), [], "no verification email was sent")
                check_eq(compare_tenants(ps, s.state(), ["Username-Password-Authentication"]), [],
                         "%s: staging equals prod" % policy)
                ids = {u["user_id"] for u in s.state()["users"]}
                check(a["user_id"] in ids and b["user_id"] in ids, "the same user_ids")
                # a replay writes nothing
                s.clear_log()
                r = do_import(s, *policy)
                check_eq(r.returncode, 0, r.stderr)
                check_eq(writes(s.log()), [], "replay writes nothing")


@test
def a_cycle_of_three_and_a_value_handed_to_a_new_user():
    with FakeTenant(PROD, seed=42, users=80) as p:
        ps = p.state()
        a, b, c, d = db_users(ps)[2:6]
        new = db_users(ps)[10]
        # a -> b -> c -> a in staging (each holds the next one's email), and
        # the user new (absent from staging) gets the email d had: d held
        # it under its old address there
        changes = {a["user_id"]: {"email": b["email"]}, b["user_id"]: {"email": c["email"]},
                   c["user_id"]: {"email": a["email"]}, d["user_id"]: {"email": new["email"]}}
        doc = staging_with(ps, changes)
        doc["users"] = [u for u in doc["users"] if u["user_id"] != new["user_id"]]
        export(p)
        with FakeTenant(STAGE) as s:
            s.load(doc)
            r = do_import(s)
            check_eq(r.returncode, 0, r.stderr)
            summary = json.loads(r.stdout)
            check_eq((summary["conflicts"], summary["deleted"], summary["failed"], summary["created"],
                      summary["moves"]), (0, 0, 0, 1, 4), "no conflict, deletion nor failure; one created")
            check("4 emails, usernames or phone numbers move" in r.stderr, r.stderr)
            check_eq(compare_tenants(ps, s.state(), ["Username-Password-Authentication"]), [],
                     "staging equals prod")
            rep, _ = report()
            check_eq(rep[new["user_id"]]["outcome"], "created", "the new user")
            check(d["user_id"] in rep[new["user_id"]]["reason"], rep[new["user_id"]])


@test
def a_chain_ending_at_a_squatter_is_a_conflict_until_replaced():
    with FakeTenant(PROD, seed=43, users=80) as p:
        ps = p.state()
        a, b = db_users(ps)[4:6]
        # staging: a squatter prod does not have holds a's email, a holds
        # b's, and b still has an old address
        squatter = copy.deepcopy(a)
        squatter.update(user_id="auth0|ffffffffffffffffffff0042", roles=[], organizations=[])
        changes = {a["user_id"]: {"email": b["email"]}, b["user_id"]: {"email": "old-" + b["email"]}}
        with FakeTenant(STAGE) as s:
            s.load(staging_with(ps, changes, [squatter]))
            export(p)
            # default: a waits on the squatter, b on a (a keeps b's email)
            r = do_import(s)
            check_eq(r.returncode, 0, r.stderr)
            rep, tail = report()
            check_eq(tail["conflicts"], 2, "two conflicts")
            check_eq(rep[a["user_id"]]["outcome"], "skipped", "a")
            check(squatter["user_id"] in rep[a["user_id"]]["reason"], rep[a["user_id"]])
            check_eq(rep[b["user_id"]]["outcome"], "skipped", "b")
            check(a["user_id"] in rep[b["user_id"]]["reason"], rep[b["user_id"]])
            st = {u["user_id"]: u for u in s.state()["users"]}
            check_eq(st[a["user_id"]]["email"], b["email"], "a untouched")
            check_eq(st[b["user_id"]]["email"], "old-" + b["email"], "b untouched")
            # replace: the squatter goes, a and b move
            r = do_import(s, "--on-conflict=replace")
            check_eq(r.returncode, 0, r.stderr)
            summary = json.loads(r.stdout)
            check_eq((summary["deleted"], summary["failed"]), (1, 0), "the squatter deleted")
            check_eq(compare_tenants(ps, s.state(), ["Username-Password-Authentication"]), [],
                     "staging equals prod")


@test
def usernames_move_too():
    with FakeTenant(PROD, seed=44, users=120) as p:
        ps = p.state()
        legacy = [u for u in db_users(ps, "legacy-db") if u.get("username")]
        check(len(legacy) >= 2, "legacy-db users with usernames")
        a, b = legacy[:2]
        swap = {a["user_id"]: {"username": b["username"]}, b["user_id"]: {"username": a["username"]}}
        export(p)
        with FakeTenant(STAGE) as s:
            s.load(staging_with(ps, swap))
            r = do_import(s)
            check_eq(r.returncode, 0, r.stderr)
            summary = json.loads(r.stdout)
            check_eq((summary["conflicts"], summary["deleted"], summary["failed"]), (0, 0, 0),
                     "no conflict, deletion nor failure")
            check_eq(compare_tenants(ps, s.state(), ["legacy-db"]), [], "staging equals prod")


@test
def passwordless_emails_and_phone_numbers_move_too():
    with FakeTenant(PROD, seed=45, users=300, model_2026=True) as p:
        ps = p.state()
        by_conn = {}
        for u in sorted(ps["users"], key=lambda u: u["user_id"]):
            by_conn.setdefault(u["identities"][0]["connection"], []).append(u)
        ea, eb = by_conn["email"][:2]
        sa, sb = by_conn["sms"][:2]
        swap = {ea["user_id"]: {"email": eb["email"]}, eb["user_id"]: {"email": ea["email"]},
                sa["user_id"]: {"phone_number": sb["phone_number"]},
                sb["user_id"]: {"phone_number": sa["phone_number"]}}
        # staging: the passwordless users only, and no organization roles
        # (the import creates them: --create-missing-roles)
        doc = {"connections": [{"name": c["name"], "strategy": c["strategy"]} for c in ps["connections"]],
               "roles": [{"name": r["name"]} for r in ps["roles"] if r.get("type") != "organization"],
               "organizations": [{"name": o["name"], "members": []} for o in ps["organizations"]],
               "users": []}
        for u in by_conn["email"] + by_conn["sms"]:
            s2 = copy.deepcopy(u)
            s2.update(swap.get(u["user_id"], {}))
            s2.pop("organizations", None)
            s2.pop("permissions", None)
            doc["users"].append(s2)
        export(p)
        with FakeTenant(STAGE) as s:
            s.load(doc)
            s.clear_outbox()
            r = do_import(s, "--create-missing-roles")
            check_eq(r.returncode, 0, r.stderr)
            summary = json.loads(r.stdout)
            check_eq((summary["conflicts"], summary["deleted"], summary["failed"]), (0, 0, 0),
                     "no conflict, deletion nor failure")
            check_eq(s.outbox(), [], "no verification email was sent")
            got = {u["user_id"]: u for u in s.state()["users"]}
            for u in (ea, eb, sa, sb):
                for k in ("email", "email_verified", "phone_number", "phone_verified"):
                    check_eq(got[u["user_id"]].get(k), u.get(k), "%s %s" % (u["user_id"], k))


@test
def two_squatters_of_one_user_are_both_replaced():
    # one target user holds a snapshot user's email, another its username
    with FakeTenant(PROD, seed=46, users=120) as p:
        ps = p.state()
        a = [u for u in db_users(ps, "legacy-db") if u.get("username")][0]
        x = copy.deepcopy(a)
        x.update(user_id="auth0|ffffffffffffffffffff0046", username="someone_else", roles=[],
                 organizations=[])
        y = copy.deepcopy(a)
        y.update(user_id="auth0|ffffffffffffffffffff0047", email="other@example.org", roles=[],
                 organizations=[])
        doc = staging_with(ps, {})
        doc["users"] = [u for u in doc["users"] if u["user_id"] != a["user_id"]] + [x, y]
        export(p)
        with FakeTenant(STAGE) as s:
            s.load(doc)
            r = do_import(s)
            check_eq(r.returncode, 0, r.stderr)
            rep, tail = report()
            check_eq(tail["conflicts"], 1, "one user in conflict")
            check_eq(rep[a["user_id"]]["outcome"], "skipped", "skipped by default")
            r = do_import(s, "--on-conflict=replace")
            check_eq(r.returncode, 0, r.stderr)
            rep, tail = report()
            check_eq((tail["deleted"], tail["failed"], tail["created"]), (2, 0, 1),
                     "both holders deleted, the user created")
            check_eq(rep[a["user_id"]]["outcome"], "created", "a")
            for holder, kind in ((x, "email"), (y, "username")):
                check_eq(rep[holder["user_id"]]["outcome"], "deleted", holder["user_id"])
                check(kind in rep[holder["user_id"]]["reason"], rep[holder["user_id"]])
            check_eq(compare_tenants(ps, s.state(), ["legacy-db"]), [], "staging equals prod")


@test
def a_move_to_a_user_that_stays_in_conflict_sets_nothing_aside():
    # s's email is held by t (a mover), its username by a squatter: under
    # skip s stays out, so t's email is not set aside for it (t still gets
    # its own new email)
    with FakeTenant(PROD, seed=47, users=120) as p:
        ps = p.state()
        s_, t = [u for u in db_users(ps, "legacy-db") if u.get("username")][:2]
        y = copy.deepcopy(s_)
        y.update(user_id="auth0|ffffffffffffffffffff0048", email="other@example.org", roles=[],
                 organizations=[])
        changes = {t["user_id"]: {"email": s_["email"]}}
        doc = staging_with(ps, changes, [y])
        doc["users"] = [u for u in doc["users"] if u["user_id"] != s_["user_id"]]
        export(p)
        with FakeTenant(STAGE) as st:
            st.load(doc)
            st.clear_log()
            r = do_import(st)
            check_eq(r.returncode, 0, r.stderr)
            rep, tail = report()
            check_eq((tail["moves"], tail["conflicts"]), (0, 1), "no move, one conflict")
            check_eq(rep[s_["user_id"]]["outcome"], "skipped", "s")
            check(y["user_id"] in rep[s_["user_id"]]["reason"], rep[s_["user_id"]])
            t_patches = [e for e in st.log() if e["method"] == "PATCH" and t["user_id"].split("|")[1] in e["path"]]
            check_eq(len(t_patches), 1, "t: its own PATCH only")
            got = {u["user_id"]: u for u in st.state()["users"]}
            check_eq(got[t["user_id"]]["email"], t["email"], "t has its new email")


def _drift(rng, db):
    """A staging built from prod's database users by random drift: emails
    permuted among 2-4 users of each database connection and usernames
    among legacy-db's (cycles), an account linked into another user (prod
    unlinked it), a user in the other connection, users absent or with an
    old address, and squatters the snapshot lacks on free prod emails.
    None when the result would hold a value twice in a connection. An
    unlinked account whose own username moved is left out: the value is
    held by a linked identity, which is never set aside, so the user
    waiting for it is skipped and the next run finishes."""
    ups = [u for u in db if u["identities"][0]["connection"] == "Username-Password-Authentication"
           and len(u["identities"]) == 1]
    leg = [u for u in db if u["identities"][0]["connection"] == "legacy-db"
           and len(u["identities"]) == 1 and u.get("username")]
    users = {u["user_id"]: copy.deepcopy(u) for u in db}
    permuted = set()
    for pool, field in ((ups, "email"), (leg, "email"), (leg, "username")):
        if rng.random() < 0.7:
            grp = rng.sample(pool, rng.randint(2, 4))
            perm = grp[:]
            rng.shuffle(perm)
            for u, v in zip(grp, perm):
                users[u["user_id"]][field] = v[field]
            permuted |= {u["user_id"] for u in grp}
    if rng.random() < 0.5:
        x, sec = rng.choice(ups), rng.choice(leg)
        if sec["user_id"] not in permuted:
            sec = users.pop(sec["user_id"])
            pd = {k: sec[k] for k in ("email", "email_verified", "username", "nickname", "picture")
                  if k in sec}
            users[x["user_id"]]["identities"].append({
                "connection": "legacy-db", "user_id": sec["user_id"].split("|", 1)[1],
                "provider": "auth0", "isSocial": False, "profileData": pd})
    if rng.random() < 0.3:
        u = users.get(rng.choice(ups)["user_id"])
        if u and len(u["identities"]) == 1:
            u["identities"][0]["connection"] = "legacy-db"
            u["username"] = "oc_" + u["user_id"][-6:]
    for u in rng.sample(ups + leg, 4):
        if u["user_id"] in users:
            if rng.random() < 0.5:
                users.pop(u["user_id"])
            else:
                users[u["user_id"]]["email"] = "old-" + u["email"]
    extra = []
    for pool in (ups, leg):
        held = {(x["identities"][0]["connection"], x.get("email")) for x in users.values()}
        free = [u for u in pool if (u["identities"][0]["connection"], u["email"]) not in held]
        if free and rng.random() < 0.6:
            sq = copy.deepcopy(rng.choice(free))
            raw = "ffffffffffffffffffff%04d" % rng.randint(0, 9999)
            sq.update(user_id="auth0|" + raw, roles=[], organizations=[])
            if sq.get("username"):
                sq["username"] = "sq_" + raw[-6:]
            sq["identities"] = [dict(sq["identities"][0], user_id=raw)]
            extra.append(sq)
    out, keys = list(users.values()) + extra, []
    for u in out:
        for ident in u["identities"]:
            data = u if ident is u["identities"][0] else ident.get("profileData", {})
            keys += [(ident["connection"], k, data[k].lower()) for k in ("email", "username")
                     if data.get(k)]
    return out if len(keys) == len(set(keys)) else None


@test
def random_drift_converges_in_one_run():
    # for each seed and policy: exit 0, nothing failed, every snapshot user
    # not skipped equals prod, replace deletes no snapshot user, and a
    # replay writes nothing
    import random

    with FakeTenant(PROD, seed=62, users=120) as p:
        ps = p.state()
        export(p)
        db = sorted(database_users(ps).values(), key=lambda u: u["user_id"])
        ran = 0
        for seed in (31, 44, 67):
            users = _drift(random.Random(seed), db)
            if users is None:
                continue
            for policy in ([], ["--on-conflict=replace"]):
                what = "seed %d %s" % (seed, policy)
                with FakeTenant(STAGE) as s:
                    doc = catalogue_only(ps)
                    doc["users"] = copy.deepcopy(users)
                    s.load(doc)
                    r = do_import(s, *policy)
                    check_eq(r.returncode, 0, "%s: %s" % (what, r.stderr))
                    rep, tail = report()
                    check_eq(tail["failed"], 0, what)
                    skipped = {u for u, l in rep.items() if l["outcome"] == "skipped"}
                    st = s.state()
                    diffs = [d for d in compare_tenants(ps, st)
                             if not any(u in d for u in skipped) and not d.startswith("extra in target")]
                    check_eq(diffs, [], what)
                    if policy:
                        ids = {u["user_id"] for u in st["users"]}
                        check_eq([u["user_id"] for u in db if u["user_id"] not in ids], [], what)
                    s.clear_log()
                    r = do_import(s, *policy)
                    check_eq(r.returncode, 0, what)
                    check_eq(writes(s.log()), [], "%s: a replay writes nothing" % what)
                    ran += 1
        check(ran >= 4, "scenarios run: %d" % ran)

if __name__ == "__main__":
    main()
