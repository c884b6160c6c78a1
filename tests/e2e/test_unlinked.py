"""An account production unlinked, still linked in the target.

In production user S was unlinked from X and is a user of its own again;
the target still has S as a linked account inside X. The import must
unlink it before anything else (an import job cannot create a user whose
user_id the target holds as an identity) and then write S against what the
unlink leaves, so that one run ends with X and S both as the snapshot has
them. Whichever of the two comes first in user_id order. When X is a user
the snapshot lacks, S is a reported conflict, or X goes first with --prune.
"""

import copy
import json

from e2elib import (EXPORT, IMPORT, FakeTenant, catalogue_only, check, check_eq,
                    compare_tenants, database_users, main, run, test)

PROD = "prod.example.test"
STAGE = "staging.example.test"


def do_import(stage, *args):
    return run(IMPORT, ["prod.ndjson.gz", "--target", stage.domain, "--no-anonymize", "--json",
                        "--report", "rep.ndjson"] + list(args),
               tenant=stage, env_extra={"AUTH0_DOMAIN": None})


def report():
    with open("rep.ndjson") as f:
        lines = [json.loads(l) for l in f]
    return {l["user_id"]: l for l in lines[:-1]}, lines[-1]


def single(ps, connection):
    return sorted((u for u in database_users(ps).values()
                   if u["identities"][0]["connection"] == connection and len(u["identities"]) == 1),
                  key=lambda u: u["user_id"])


def linked_into(x, s):
    """x with s as its linked account, as the target holds it."""
    pd = {k: s[k] for k in ("email", "email_verified", "username", "nickname", "picture") if k in s}
    v = copy.deepcopy(x)
    v["identities"] = v["identities"] + [{
        "connection": s["identities"][0]["connection"], "user_id": s["user_id"].split("|", 1)[1],
        "provider": "auth0", "isSocial": False, "profileData": pd}]
    return v


def staging(ps, pairs, drop=()):
    """Every database user of prod; each (x, s) of pairs with s linked into
    x rather than a user; the users in drop left out."""
    doc = catalogue_only(ps)
    inside = {s["user_id"] for _, s in pairs}
    holders = {x["user_id"]: s for x, s in pairs}
    for u in sorted(database_users(ps).values(), key=lambda u: u["user_id"]):
        if u["user_id"] in inside or u["user_id"] in drop:
            continue
        doc["users"].append(linked_into(u, holders[u["user_id"]]) if u["user_id"] in holders
                            else copy.deepcopy(u))
    return doc


@test
def unlinked_in_production_is_unlinked_first_in_one_run():
    with FakeTenant(PROD, seed=51, users=120) as p:
        ps = p.state()
        users = single(ps, "Username-Password-Authentication")
        legacy = single(ps, "legacy-db")
        # one pair whose holder sorts before the account, one after
        pairs = []
        for s in legacy:
            before = [x for x in users if x["user_id"] < s["user_id"]]
            if before:
                pairs.append((before[0], s))
                break
        for s in legacy:
            after = [x for x in users if x["user_id"] > s["user_id"] and x is not pairs[0][0]]
            if s is not pairs[0][1] and after:
                pairs.append((after[-1], s))
                break
        check_eq(sorted(x["user_id"] < s["user_id"] for x, s in pairs), [False, True],
                 "a holder before and one after its account")
        run(EXPORT, ["-o", "prod.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
        with FakeTenant(STAGE) as st:
            st.load(staging(ps, pairs))
            r = do_import(st, "--plan")
            check_eq(r.returncode, 0, r.stderr)
            rep, tail = report()
            check_eq((tail["conflicts"], tail["created"], tail["links_removed"]), (0, 0, 2),
                     "no conflict; the accounts are no new users; two links removed")
            st.clear_log()
            r = do_import(st)
            check_eq(r.returncode, 0, r.stderr)
            rep, tail = report()
            check_eq((tail["failed"], tail["conflicts"]), (0, 0), "nothing failed")
            for x, s in pairs:
                check_eq(rep[s["user_id"]]["outcome"], "updated", s["user_id"])
                check(x["user_id"] in rep[s["user_id"]]["reason"], rep[s["user_id"]])
            check_eq(compare_tenants(ps, st.state()), [], "staging equals prod")
            # the unlinks went before the import jobs
            log = st.log()
            unlinks = [i for i, e in enumerate(log) if e["method"] == "DELETE" and "/identities/" in e["path"]]
            jobs = [i for i, e in enumerate(log) if e["path"] == "/api/v2/jobs/users-imports"]
            check(len(unlinks) == 2 and jobs and max(unlinks) < min(jobs), "unlinks before jobs")
            r = do_import(st)
            check_eq(r.returncode, 0, r.stderr)
            _, tail = report()
            check_eq((tail["created"], tail["updated"]), (0, 0), "a replay changes nothing")


@test
def holder_the_snapshot_lacks_is_a_conflict_or_pruned():
    with FakeTenant(PROD, seed=52, users=120) as p:
        ps = p.state()
        x = single(ps, "Username-Password-Authentication")[0]
        s = single(ps, "legacy-db")[0]
        # x is only in the target: prod deleted it after unlinking s
        p_doc = p.state()
        p_doc["users"] = [u for u in p_doc["users"] if u["user_id"] != x["user_id"]]
        with FakeTenant("prod2.example.test") as p2:
            p2.load(p_doc)
            run(EXPORT, ["-o", "prod.ndjson.gz", "--no-anonymize", "-q"], tenant=p2)
            with FakeTenant(STAGE) as st:
                st.load(staging(ps, [(x, s)]))
                r = do_import(st)
                check_eq(r.returncode, 0, r.stderr)
                rep, tail = report()
                check_eq(rep[s["user_id"]]["outcome"], "skipped", "s")
                check("linked account of a user the snapshot does not hold" in rep[s["user_id"]]["reason"],
                      rep[s["user_id"]])
                check_eq(tail["failed"], 0, "a conflict, not a failure")
                r = do_import(st, "--prune", "--max-deletes", "5")
                check_eq(r.returncode, 0, r.stderr)
                rep, tail = report()
                check_eq((rep[x["user_id"]]["outcome"], rep[s["user_id"]]["outcome"], tail["failed"]),
                         ("deleted", "created", 0), "x pruned, s created")
                check_eq(compare_tenants(p_doc, st.state()), [], "staging equals prod")


@test
def a_value_held_by_a_linked_account_is_a_conflict_not_a_failure():
    # production deleted X's linked account L and a new user S signed up
    # with L's email in L's connection; the target still has L inside X
    with FakeTenant(PROD, seed=53, users=120) as p:
        ps = p.state()
        x = single(ps, "Username-Password-Authentication")[0]
        s_user = single(ps, "legacy-db")[0]
        ghost = copy.deepcopy(s_user)
        ghost["user_id"] = "auth0|eeeeeeeeeeeeeeeeeeee0053"
        ghost["username"] = "ghost_53"
        run(EXPORT, ["-o", "prod.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
        with FakeTenant(STAGE) as st:
            st.load(staging(ps, [(x, ghost)], drop=(s_user["user_id"],)))
            r = do_import(st)
            check_eq(r.returncode, 0, r.stderr)
            rep, tail = report()
            check_eq((rep[s_user["user_id"]]["outcome"], tail["failed"]), ("skipped", 0),
                     "skipped, nothing failed")
            check("a linked account of another user" in rep[s_user["user_id"]]["reason"],
                  rep[s_user["user_id"]])
            # that run unlinked the ghost from x (prod has x without it); it
            # is a user of its own now, which replace deletes
            r = do_import(st, "--on-conflict=replace")
            check_eq(r.returncode, 0, r.stderr)
            rep, tail = report()
            check_eq((rep[s_user["user_id"]]["outcome"], tail["failed"]), ("created", 0), "created")
            check_eq(compare_tenants(ps, st.state()), [], "staging equals prod")


if __name__ == "__main__":
    main()
