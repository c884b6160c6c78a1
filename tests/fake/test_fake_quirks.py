"""Quirks: recorded Auth0 behaviours, their defaults and their switches."""

import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_testlib import check, eq, run  # noqa: E402
from fakectl import FakeError, FakeTenant  # noqa: E402

T = FakeTenant("quirks.example.com")
TOK = T.token()
DB = "Username-Password-Authentication"


def api(method, path, body=None):
    return T.api(method, path, body, token=TOK)


def enc(uid):
    return urllib.parse.quote(uid, safe="")


def tenant(users=5, members=None):
    """Load users u0..u(n-1), role r1, organization o1 with `members` of them."""
    uids = ["auth0|u%02d" % i for i in range(users)]
    members = uids if members is None else uids[:members]
    T.load({
        "roles": [{"name": "r1", "description": "R1"}],
        "organizations": [{"name": "o1", "members": [{"user_id": u, "roles": ["r1"]} for u in members]}],
        "users": [{"user_id": u, "connection": DB, "email": "%s@example.com" % u[6:], "roles": ["r1"]} for u in uids],
    })
    st = T.state()
    return uids, st["roles"][0]["id"], st["organizations"][0]["id"]


def pages(path, take):
    out, frm = [], None
    for _ in range(100):
        sep = "&" if "?" in path else "?"
        st, _, body = api("GET", path + sep + "take=%d" % take + ("&from=" + urllib.parse.quote(frm) if frm else ""))
        eq(st, 200, path)
        out.append(body)
        frm = body.get("next")
        if not frm:
            return out
    raise AssertionError("no end")


def sizes(ps, key):
    return [(len(p[key]), "next" in p) for p in ps]


def test_control_endpoint():
    T.reset_quirks()
    q = T.quirks()
    eq((q["checkpoint_end"], q["user_orgs_total"], q["role_create_description"], q["role_type_field"],
        q["failed_job_status_details"], q["org_not_found"], q["members_checkpoint_roles"],
        q["roles_list_untyped"], q["username_needs_requires_username"]),
       ("short_page", "zero", "absent", True, False, "recorded", "include", "all", False), "defaults")
    eq(T.quirks(checkpoint_end="empty_page")["checkpoint_end"], "empty_page", "merge")
    eq(T.quirks()["user_orgs_total"], "zero", "other keys untouched")
    for bad in ({"nope": 1}, {"checkpoint_end": "sometimes"}, {"role_type_field": "yes"}):
        try:
            T.quirks(**bad)
        except FakeError as e:
            check("400" in str(e), str(e))
        else:
            raise AssertionError("accepted %r" % bad)
    eq(T.reset_quirks()["checkpoint_end"], "short_page", "DELETE resets")


def test_command_line_option():
    with FakeTenant("quirks2.example.com", quirks={"org_not_found": "with_error_code"}) as n:
        eq(n.quirks()["org_not_found"], "with_error_code", "--quirks")
        st, _, body = n.api("GET", "/organizations/org_0000000000000000")
        eq((st, body.get("errorCode")), (404, "inexistent_organization"), "applied")


def test_checkpoint_end():
    T.reset_quirks()
    uids, rid, oid = tenant(5)
    for path, key in (("/roles/%s/users" % rid, "users"), ("/organizations/%s/members" % oid, "members")):
        eq(sizes(pages(path, 2), key), [(2, True), (2, True), (1, False)], "short_page, part-filled end: " + path)
        eq(sizes(pages(path, 5), key), [(5, True), (0, False)], "short_page, full end: " + path)
        T.quirks(checkpoint_end="empty_page")
        eq(sizes(pages(path, 2), key), [(2, True), (2, True), (1, True), (0, False)], "empty_page: " + path)
        T.reset_quirks()
    eq(sizes(pages("/connections", 3), "connections"), [(3, True), (1, False)], "connections")
    eq(sizes(pages("/organizations", 1), "organizations"), [(1, True), (0, False)], "organizations")
    T.quirks(checkpoint_end="empty_page")
    eq(sizes(pages("/connections", 3), "connections"), [(3, True), (1, True), (0, False)], "connections, empty_page")
    T.reset_quirks()
    st, _, body = api("GET", "/organizations/%s/members?take=2" % oid)
    eq(sorted(body), ["members", "next"], "no totals under checkpoint paging")


def test_user_orgs_total():
    T.reset_quirks()
    uids, rid, oid = tenant(2)
    st, _, body = api("GET", "/users/%s/organizations?include_totals=true" % enc(uids[0]))
    eq((len(body["organizations"]), body["total"]), (1, 0), "default zero (recorded 2026-08)")
    T.quirks(user_orgs_total="count")
    st, _, body = api("GET", "/users/%s/organizations?include_totals=true" % enc(uids[0]))
    eq(body["total"], 1, "count (2023)")
    T.reset_quirks()


def test_role_description_on_create():
    T.reset_quirks()
    tenant(1)
    st, _, r = api("POST", "/roles", {"name": "nodesc"})
    eq((st, "description" in r), (200, False), "absent (2026-08)")
    eq(api("GET", "/roles/" + r["id"])[2]["description"], "", "GET answers empty")
    T.quirks(role_create_description="null")
    st, _, r = api("POST", "/roles", {"name": "nodesc2"})
    eq(r["description"], None, "null (2026-04)")
    eq(api("GET", "/roles/" + r["id"])[2]["description"], "", "GET answers empty")
    st, _, r = api("POST", "/roles", {"name": "withdesc", "description": "D"})
    eq(r["description"], "D", "given: echoed")
    T.reset_quirks()


def test_role_type_field():
    T.reset_quirks()
    uids, rid, oid = tenant(1)
    st, _, r = api("POST", "/roles", {"name": "org-role", "type": "organization", "owner_id": oid})
    eq((r["type"], r["owner_id"]), ("organization", oid), "type and owner_id")
    T.quirks(role_type_field=False)
    for path in ("/roles/" + r["id"], "/roles/" + rid):
        body = api("GET", path)[2]
        eq(sorted(body), ["description", "id", "name"], "no type/owner_id: " + path)
    body = api("GET", "/users/%s/roles" % enc(uids[0]))[2]
    eq(sorted(body[0]), ["description", "id", "name"], "user roles")
    body = api("GET", "/organizations/%s/members/%s/roles" % (oid, enc(uids[0])))[2]
    eq(sorted(body[0]), ["description", "id", "name"], "member roles")
    body = api("GET", "/roles?type=organization")[2]
    eq([x["id"] for x in body], [r["id"]], "filters still work")
    T.reset_quirks()


def test_roles_list_untyped():
    T.reset_quirks()
    uids, rid, oid = tenant(1)
    st, _, r = api("POST", "/roles", {"name": "org-role", "type": "organization", "owner_id": oid})
    eq(sorted(x["name"] for x in api("GET", "/roles")[2]), ["org-role", "r1"], "default: all roles")
    T.quirks(roles_list_untyped="tenant")
    eq([x["name"] for x in api("GET", "/roles")[2]], ["r1"], "tenant roles only")
    eq([x["name"] for x in api("GET", "/roles?type=organization")[2]], ["org-role"], "explicit type still works")
    T.reset_quirks()


def test_failed_job_status_details():
    T.reset_quirks()
    tenant(1)
    cid = T.state()["connections"][0]["id"]
    T.fail_jobs("users_export", 1)
    st, _, job = api("POST", "/jobs/users-exports", {"connection_id": cid, "format": "json"})
    T.clock(advance=5)
    for _ in range(200):
        j = api("GET", "/jobs/" + job["id"])[2]
        if j["status"] == "failed":
            break
    eq(j["status"], "failed", "failed")
    eq(sorted(j), ["connection", "connection_id", "created_at", "format", "id", "status", "type"],
       "default: no status_details (recorded 2023)")
    T.quirks(failed_job_status_details=True)
    check("status_details" in api("GET", "/jobs/" + job["id"])[2], "switched on")
    T.reset_quirks()


def test_org_not_found():
    T.reset_quirks()
    for path in ("/organizations/org_0000000000000000", "/organizations/name/nope",
                 "/organizations/org_0000000000000000/members"):
        st, _, body = api("GET", path)
        eq((st, body), (404, {"statusCode": 404, "error": "Not Found",
                              "message": "No organization found by that id or name"}), "recorded: " + path)
    T.quirks(org_not_found="with_error_code")
    st, _, body = api("GET", "/organizations/org_0000000000000000")
    eq(body.get("errorCode"), "inexistent_organization", "with_error_code")
    T.reset_quirks()


def test_members_checkpoint_roles():
    T.reset_quirks()
    uids, rid, oid = tenant(3)
    path = "/organizations/%s/members?fields=user_id%%2Croles&include_fields=true" % oid
    body = api("GET", path + "&take=10")[2]
    check(all(m["roles"] == [{"id": rid, "name": "r1"}] for m in body["members"]), "default: roles included")
    T.quirks(members_checkpoint_roles="omit")
    body = api("GET", path + "&take=10")[2]
    eq([sorted(m) for m in body["members"]], [["user_id"]] * 3, "omit: no roles under checkpoint paging")
    body = api("GET", path + "&per_page=10")[2]
    check(all("roles" in m for m in body), "offset paging still carries roles")
    T.reset_quirks()


run(globals())
