"""Behaviours real Auth0 showed in recorded traffic, switchable per test.

Each quirk has a default, the newest behaviour the recordings show (the
wire suite, tests/wire, names the recordings), and the other values Auth0
answered with at other times.  Set them with `--quirks '{"key": value}'`,
`POST /__quirks` (merge), `DELETE /__quirks` (back to the defaults) or
FakeTenant.quirks(**kv); `GET /__quirks` shows the current set.
"""

from fake_util import ApiError

# key -> (default, allowed values)
QUIRKS = {
    # End of checkpoint paging (every from/take list).  "short_page": `next`
    # only on a full page, so a part-filled page ends the list and a full
    # last page is followed by an empty page without `next` (2026-08, and
    # 2023 for role users and organizations).  "empty_page": `next` on every
    # non-empty page, the list ends with an empty page (organization members
    # 2023 and 2026-04).
    "checkpoint_end": ("short_page", ("short_page", "empty_page")),
    # GET /users/{id}/organizations?include_totals=true: "zero" answers
    # total 0 whatever the page holds (2026-08); "count" the true count (2023).
    "user_orgs_total": ("zero", ("zero", "count")),
    # POST /roles without a description: the answer has no description key
    # ("absent", 2026-08) or "description": null ("null", 2026-04).  A later
    # GET answers "" either way.
    "role_create_description": ("absent", ("absent", "null")),
    # Roles carry "type" ("tenant" | "organization") and, for organization
    # roles, "owner_id" (2026-08).  false: no type/owner_id keys (before the
    # 2026 rollout); POST /roles and GET /roles still accept them.
    "role_type_field": (True, (True, False)),
    # GET /roles without a type filter: "all" roles, or only "tenant" roles.
    # Not recorded either way.
    "roles_list_untyped": ("all", ("all", "tenant")),
    # A failed job carries status_details (true) or not (false, the only
    # recorded failed job, 2023).
    "failed_job_status_details": (False, (True, False)),
    # 404 for an unknown organization: "recorded" = "No organization found by
    # that id or name" without errorCode (2023, 2026-04); "with_error_code"
    # adds errorCode "inexistent_organization".
    "org_not_found": ("recorded", ("recorded", "with_error_code")),
    # GET /organizations/{id}/members?fields=...,roles under checkpoint
    # paging (from/take): "include" the roles, or "omit" them.  Not recorded
    # (see tests/wire/README.md); "omit" lets a client's fallback be tested.
    "members_checkpoint_roles": ("include", ("include", "omit")),
    # POST/PATCH /users with `username` on a connection without
    # requires_username: accepted and stored (false, 2026-04) or refused with
    # 400 "Cannot set username for connection without requires_username"
    # (true, what the OpenAPI document lists).
    "username_needs_requires_username": (False, (True, False)),
    # POST /users on an `email` (passwordless) connection with
    # "verify_email": false: "honoured" (no verification email, what the
    # OpenAPI document says) or "ignored" (the email goes out anyway, as
    # reported in auth0/node-auth0#225, 2017; not recorded).
    "email_user_verify_email": ("honoured", ("honoured", "ignored")),
}


def defaults():
    return {k: v[0] for k, v in QUIRKS.items()}


def apply(cur, kv):
    """Validate kv and merge it into cur (in place); returns cur."""
    if not isinstance(kv, dict):
        raise ApiError(400, "quirks must be an object")
    for k, v in kv.items():
        if k not in QUIRKS:
            raise ApiError(400, "unknown quirk '%s' (known: %s)" % (k, ", ".join(sorted(QUIRKS))))
        allowed = QUIRKS[k][1]
        if v not in allowed or type(v) is not type(QUIRKS[k][0]):
            raise ApiError(400, "quirk '%s' must be one of %s" % (k, ", ".join(repr(a) for a in allowed)))
    cur.update(kv)
    return cur
