"""Mapping between tenants: connections, roles and organizations are
matched by name, --map-* overrides, --create-missing-roles creates roles,
and what can't be mapped is reported before any write and skipped."""

import json

from e2elib import (EXPORT, IMPORT, FakeTenant, catalogue_only, check, check_eq,
                    database_users, main, run, test)


def renamed_staging(ps):
    """Staging where 'legacy-db' is called 'old-db', role 'editor' is
    'writer', organization 'globex' is 'globex-inc', and role 'auditor' is
    missing."""
    doc = catalogue_only(ps)
    for c in doc["connections"]:
        if c["name"] == "legacy-db":
            c["name"] = "old-db"
    doc["roles"] = [dict(r, name="writer") if r["name"] == "editor" else r
                    for r in doc["roles"] if r["name"] != "auditor"]
    for o in doc["organizations"]:
        if o["name"] == "globex":
            o["name"] = "globex-inc"
    return doc


@test
def maps_by_name_with_overrides():
    with FakeTenant("prod.example.test", seed=95, users=300) as p, \
            FakeTenant("staging.example.test") as s:
        ps = p.state()
        s.load(renamed_staging(ps))
        r = run(EXPORT, ["-o", "p.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        base = ["p.ndjson.gz", "--target", s.domain, "--no-anonymize", "--json"]
        env = {"AUTH0_DOMAIN": None}
        # without overrides: the unmapped connection, role and org are named up front
        r = run(IMPORT, base + ["--plan"], tenant=s, env_extra=env)
        check_eq(r.returncode, 0, r.stderr)
        for name in ("legacy-db", "editor", "auditor", "globex"):
            check("'%s'" % name in r.stderr, "%s not reported: %s" % (name, r.stderr))
        # with overrides and role creation
        r = run(IMPORT, base + ["--map-connection", "legacy-db=old-db", "--map-role",
                                "editor=writer", "--map-org", "globex=globex-inc",
                                "--create-missing-roles"], tenant=s, env_extra=env)
        check_eq(r.returncode, 0, r.stderr)
        check("created role 'auditor'" in r.stderr, r.stderr)
        ss = s.state()
        got = {u["user_id"]: u for u in ss["users"]}
        rename_role = {"editor": "writer"}
        rename_org = {"globex": "globex-inc"}
        for uid, u in database_users(ps).items():
            t = got.get(uid)
            check(t is not None, "missing %s" % uid)
            want_conn = {"legacy-db": "old-db"}.get(u["identities"][0]["connection"],
                                                    u["identities"][0]["connection"])
            check_eq(t["identities"][0]["connection"], want_conn, "connection of %s" % uid)
            check_eq(sorted(t.get("roles") or []),
                     sorted(rename_role.get(r, r) for r in u.get("roles") or []), "roles")
            check_eq(sorted(o["name"] for o in t.get("organizations") or []),
                     sorted(rename_org.get(o["name"], o["name"])
                            for o in u.get("organizations") or []), "organizations")
        check("auditor" in {r["name"] for r in ss["roles"]}, "role created")


IMPORT_SCOPES = ("read:users create:users update:users read:connections read:roles "
                 "read:role_members create:role_members read:organizations "
                 "read:organization_members create:organization_members "
                 "read:organization_member_roles create:organization_member_roles")


@test
def creating_roles_without_the_scope_is_refused_before_any_write():
    with FakeTenant("prod.example.test", seed=95, users=40) as p, \
            FakeTenant("staging.example.test", scopes=IMPORT_SCOPES) as s:
        s.load(renamed_staging(p.state()))
        r = run(EXPORT, ["-o", "p.ndjson.gz", "--no-anonymize", "-q"], tenant=p)
        check_eq(r.returncode, 0, r.stderr)
        s.clear_log()
        r = run(IMPORT, ["p.ndjson.gz", "--target", s.domain, "--no-anonymize",
                         "--create-missing-roles"], tenant=s, env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 6, r.stderr)
        check("create:roles" in r.stderr and "--create-missing-roles" in r.stderr, r.stderr)
        writes = [e for e in s.log() if e["method"] in ("POST", "PATCH", "DELETE")
                  and e["path"] != "/oauth/token"]
        check_eq(writes, [], "nothing written")
        # --plan only says what it would create: it needs no such scope
        r = run(IMPORT, ["p.ndjson.gz", "--target", s.domain, "--no-anonymize", "--plan",
                         "--create-missing-roles"], tenant=s, env_extra={"AUTH0_DOMAIN": None})
        check_eq(r.returncode, 0, r.stderr)
        check("would create role 'auditor'" in r.stderr, r.stderr)


if __name__ == "__main__":
    main()
