/*
 * import_links.h - linked accounts and direct permissions of one user,
 * compared between the snapshot ("want") and the target ("have"). Pure: no
 * I/O; import_plan.c turns the result into calls (import_calls.c).
 *
 * Linked accounts. A user's identities after the first are its linked
 * (secondary) accounts, named by provider and user_id. A database or
 * passwordless secondary the target's user lacks is recreated (when the
 * target has no such user) and linked; one the target's user has and the
 * snapshot's has not is unlinked; a social or enterprise secondary the
 * target lacks cannot be recreated through Auth0's API and is reported,
 * by kind. Nothing already linked is linked twice.
 *
 * Direct permissions. {"resource_server_identifier", "permission_name"}
 * pairs; an API is matched by identifier (api_map: source identifier ->
 * target identifier, for --map-api); a permission whose API or scope the
 * target lacks is reported, not sent.
 */
#ifndef A0SNAP_IMPORT_LINKS_H
#define A0SNAP_IMPORT_LINKS_H

#include <jansson.h>

#include "err.h"

/* Calls fn for each linked account of user (its identities after the
 * first), with its key "provider|user_id" (a numeric user_id written in
 * decimal); stops at the first fn that fails. */
typedef int (*import_secondary_fn)(void *ctx, const char *key, json_t *identity, struct err *e);
int import_each_secondary(const json_t *user, import_secondary_fn fn, void *ctx, struct err *e);

struct import_links {
    json_t *link;         /* secondaries to recreate and link: identity objects as want has them */
    json_t *unlink;       /* to unlink: {"provider","user_id","connection"?} */
    json_t *not_copyable; /* {"provider","connection","kind"} the target lacks and API can't make */
};

/* Compares want's and have's secondaries (have NULL: a new user). p is
 * initialized here; each list is new (possibly empty). */
int import_links_compare(const json_t *want, const json_t *have, struct import_links *p,
                         struct err *e);
void import_links_release(struct import_links *p);

struct import_perms {
    json_t *add;     /* permissions to grant: [{resource_server_identifier, permission_name}] */
    json_t *remove;  /* direct permissions the target's user holds and want has not */
    json_t *missing; /* want's permissions the target cannot take (API or scope missing) */
};

/* want and have: arrays of permissions (NULL: none). apis: {target
 * identifier: [scope names]}; api_map: {source identifier: target
 * identifier} (may be NULL). p is initialized here; each list is new. */
int import_perms_compare(const json_t *want, const json_t *have, const json_t *apis,
                         const json_t *api_map, struct import_perms *p, struct err *e);
void import_perms_release(struct import_perms *p);

#endif
