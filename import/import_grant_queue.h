/*
 * import_grant_queue.h - which role and membership requests to send, and
 * when: the batching of import_grants.c without the requests.
 *
 * Grant items (import.h) collect in the "filling" window. When asked for
 * the next call and no window is being sent, the filling window becomes
 * the running one (if it holds anything new) and its sorted items are
 * handed out kind by kind, in an order that works (a member's roles need
 * the membership): roles added in batches per role, roles removed per
 * user, members added in batches per organization, member roles per
 * member, members removed in batches per organization. A batch holds at
 * most GRANT_BATCH users (Auth0's limit per request). Items of users whose
 * creation failed are left out.
 *
 * While more users can come (until grant_queue_final()), a partial batch
 * is not sent: it is put back into the filling window to fill up with the
 * next users, and members put back keep their member roles waiting with
 * them. A window holding only what was put back waits for new items.
 *
 * No network and no printing: the caller sends each call and is told about
 * windows through a hook. Items are kept in extsorts (common/util) in the
 * given folder.
 */
#ifndef A0SNAP_IMPORT_GRANT_QUEUE_H
#define A0SNAP_IMPORT_GRANT_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define GRANT_BATCH 100

/* In the order a window is sent. */
enum grant_kind {
    GRANT_ROLE_ADD,      /* POST /roles/{id}/users {"users": uids} */
    GRANT_ROLE_REMOVE,   /* DELETE /users/{uid}/roles {"roles": ids} */
    GRANT_MEMBER_ADD,    /* POST /organizations/{id}/members {"members": uids} */
    GRANT_MEMBER_ROLES,  /* POST, then DELETE /organizations/{id}/members/{uid}/roles */
    GRANT_MEMBER_REMOVE, /* DELETE /organizations/{id}/members {"members": uids} */
    GRANT_KINDS,
};

/* One request's worth of work; everything borrowed until the next
 * grant_queue_next() or grant_queue_free(). */
struct grant_call {
    enum grant_kind kind;
    const char *id;  /* the role (ROLE_ADD) or the organization (MEMBER_*) */
    json_t *uids;    /* ROLE_ADD, MEMBER_ADD, MEMBER_REMOVE: the batch, 1 to GRANT_BATCH users */
    const char *uid; /* ROLE_REMOVE, MEMBER_ROLES: the user */
    const char *ops; /* ROLE_REMOVE: JSON [role ids]; MEMBER_ROLES: JSON {"add":[],"remove":[]} */
    size_t ops_len;
    bool left_out; /* ROLE_REMOVE, MEMBER_ROLES: the user failed; nothing to send */
};

struct grant_queue_hooks {
    /* Whether the user's creation failed (its items are left out). */
    bool (*failed)(void *ctx, const char *uid);
    /* Window number n (from 1), holding items changes, starts being sent. */
    void (*window)(void *ctx, size_t n, size_t items);
    void *ctx;
};

struct grant_queue;

/* A new queue in *out (grant_queue_free): sorts in folder tmpdir with mem
 * bytes each (five per window, two windows); hooks copied. */
int grant_queue_new(struct grant_queue **out, const char *tmpdir, size_t mem,
                    const struct grant_queue_hooks *hooks, struct err *e);

/* NULL is a no-op. */
void grant_queue_free(struct grant_queue *q);

/* The grant items of user uid (a JSON array, import.h), into the filling
 * window. ERR_INTERNAL for an item of an unknown shape. */
int grant_queue_add(struct grant_queue *q, const char *uid, const json_t *items, struct err *e);

/* No more users will come: partial batches go from now on. */
void grant_queue_final(struct grant_queue *q);

/* The next call: 1 = *call filled, 0 = nothing ready now, -1 = failed
 * (a sort's error, a damaged record). */
int grant_queue_next(struct grant_queue *q, struct grant_call *call, struct err *e);

#endif
