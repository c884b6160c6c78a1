/*
 * userdiff.h - what an import must do for one user.
 *
 * userdiff_compare() says which profile fields of the target's user differ
 * from the snapshot's and which grants (roles, organizations, member roles,
 * all by NAME: ids differ between tenants) must be added or removed.
 * userdiff_plan() turns that into the writes Auth0 needs: a bulk job
 * (insert, or upsert of the upsertable fields) and zero, one or two
 * PATCH /users/{id} bodies.
 *
 * Both take Auth0 user objects ("want" = the snapshot's user after the
 * privacy transforms, "have" = the target's user with the same user_id),
 * each with optional "roles" and "organizations" arrays (absent = none);
 * userconv_expected()'s shape works too. Pure functions: no I/O.
 *
 * How fields compare:
 *  - JSON null and "" are absent.
 *  - email: case-insensitively (Auth0 stores it lower-cased).
 *  - email_verified, phone_verified, blocked: booleans, absent = false; the
 *    strings "true"/"false" of old profiles count as booleans.
 *  - user_metadata, app_metadata: as JSON values (json_equal), absent = {}.
 *  - name, nickname, picture: not compared when absent from want (Auth0
 *    fills defaults); every other string field absent from want but present
 *    in have differs (a PATCH then unsets it with null).
 */
#ifndef A0SNAP_USERDIFF_H
#define A0SNAP_USERDIFF_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

/* The profile fields an import compares, once: X(NAME, "auth0_key", KIND)
 * for each, in bit order. KIND says how userdiff.c compares them. */
#define USERDIFF_FIELDS(X)                                                                         \
    X(EMAIL, "email", K_EMAIL)                                                                     \
    X(EMAIL_VERIFIED, "email_verified", K_BOOL)                                                    \
    X(USERNAME, "username", K_STRING)                                                              \
    X(PHONE_NUMBER, "phone_number", K_STRING)                                                      \
    X(PHONE_VERIFIED, "phone_verified", K_BOOL)                                                    \
    X(GIVEN_NAME, "given_name", K_STRING)                                                          \
    X(FAMILY_NAME, "family_name", K_STRING)                                                        \
    X(NAME, "name", K_DEFAULTED)                                                                   \
    X(NICKNAME, "nickname", K_DEFAULTED)                                                           \
    X(PICTURE, "picture", K_DEFAULTED)                                                             \
    X(BLOCKED, "blocked", K_BOOL)                                                                  \
    X(USER_METADATA, "user_metadata", K_META)                                                      \
    X(APP_METADATA, "app_metadata", K_META)

#define USERDIFF_INDEX(name, key, kind) UDI_##name,
enum userdiff_field_index { USERDIFF_FIELDS(USERDIFF_INDEX) UDI_COUNT };
#define USERDIFF_BIT(name, key, kind) UD_##name = 1u << UDI_##name,
/* One bit per field, for the masks below and struct userdiff.changed. */
enum userdiff_field { USERDIFF_FIELDS(USERDIFF_BIT) };

#define UD_ALL_FIELDS ((1u << UDI_COUNT) - 1)
/* What a bulk upsert writes on an existing user (matched by email). */
#define UD_UPSERTABLE                                                                              \
    (UD_EMAIL_VERIFIED | UD_GIVEN_NAME | UD_FAMILY_NAME | UD_NAME | UD_NICKNAME | UD_PICTURE |     \
     UD_USER_METADATA | UD_APP_METADATA)
/* What only a PATCH changes on an existing user. */
#define UD_PATCH_ONLY (UD_BLOCKED | UD_USERNAME | UD_PHONE_NUMBER | UD_PHONE_VERIFIED)

/*
 * The differences of one user. Name lists are sorted and distinct. The
 * member-role lists are [{"name": org name, "roles": [role names]}] sorted
 * by organization; org_roles_add also covers organizations in orgs_add
 * (their member roles are granted after the membership), while
 * org_roles_remove only covers organizations kept (leaving an organization
 * drops its member roles). Every list is a new array (possibly empty) owned
 * by the struct after userdiff_compare(); userdiff_release() frees them.
 */
struct userdiff {
    unsigned fields;          /* UD_* bits of the differing profile fields */
    json_t *roles_add;        /* role names to assign */
    json_t *roles_remove;     /* role names to take away */
    json_t *orgs_add;         /* organization names to join */
    json_t *orgs_remove;      /* organization names to leave */
    json_t *org_roles_add;    /* member roles to assign */
    json_t *org_roles_remove; /* member roles to take away */
};

/* Zeroes d (all lists NULL), so userdiff_release() is safe. */
void userdiff_init(struct userdiff *d);
/* Frees the lists and zeroes d. Safe on an initialized or released d. */
void userdiff_release(struct userdiff *d);

/*
 * Compares want with have (NULL = not in the target: every field of want
 * differs and every grant of want is to be added). d is initialized here
 * (any previous content is NOT released: release it first). Returns 0, or
 * -1 with ERR_SNAPSHOT when a field has the wrong type (metadata not an
 * object, a boolean that is not one) or a user is not an object,
 * ERR_INTERNAL when out of memory; d is then released.
 */
int userdiff_compare(const json_t *want, const json_t *have, struct userdiff *d, struct err *e);

/* True if some grant list is non-empty. */
bool userdiff_grants_changed(const struct userdiff *d);

/* The report name of one UD_* bit ("email", "user_metadata"...), or NULL
 * for anything that is not exactly one known bit. */
const char *userdiff_field_name(unsigned bit);

/* The names of d->fields in bit order: ["email","blocked",...]. A new
 * array, NULL when out of memory. */
json_t *userdiff_fields_json(const struct userdiff *d);

enum userdiff_action {
    UD_UNCHANGED, /* the profile is right (grants may still differ: see d) */
    UD_CREATE,    /* not in the target: insert through a bulk job */
    UD_UPDATE,    /* in the target with a different profile */
};

/*
 * The writes for one user. via_job: the user's userconv_to_import() record
 * goes into a bulk job (insert, or upsert=true). patch and patch2: bodies
 * of PATCH /users/{id}, to send in that order after the job (if any) has
 * completed; NULL when not needed.
 *
 *  - not in the target: CREATE via the job (an insert sets every field,
 *    blocked, username and phone included). patch only when want's
 *    app_metadata holds reserved keys the record had to leave out:
 *    {"app_metadata": {those keys}}.
 *  - in the target, same email: the upsertable fields go via the job
 *    (metadata replaced whole; the record carries every upsertable field so
 *    the result equals want). patch holds exactly the differing blocked,
 *    username, phone_number and phone_verified, plus what upsert cannot do:
 *    given_name/family_name absent from want (null), metadata that is
 *    empty in the record (want's object plus null for each key of have's it
 *    lacks: PATCH merges metadata at the first level), and reserved
 *    app_metadata keys lost by the job's replacement. None of these is
 *    incompatible with username, so one PATCH always suffices here.
 *  - in the target, email changed: no job (upsert matches on email and
 *    would insert a duplicate). patch: email, email_verified, verify_email
 *    false and every other differing field but username, metadata as
 *    above; patch2: {"username": ...} when it differs (Auth0 refuses
 *    username together with email or email_verified).
 *  - action is UD_UPDATE whenever d->fields is non-zero.
 * d must come from userdiff_compare(want, have). p is initialized here.
 * Returns 0, or -1 (ERR_INTERNAL: out of memory; ERR_SNAPSHOT: bad types)
 * with p released.
 */
struct userdiff_plan {
    enum userdiff_action action;
    bool via_job;
    json_t *create; /* userdiff_plan_direct: the POST /users body of a new user */
    json_t *patch;
    json_t *patch2;
};

int userdiff_plan(const json_t *want, const json_t *have, const struct userdiff *d,
                  struct userdiff_plan *p, struct err *e);

/*
 * The writes for a user of a connection bulk jobs cannot write (a
 * passwordless one, strategy "email" or "sms"): not in the target, create
 * holds the POST /users body (userconv_to_create(want, connection)); in
 * the target with differences, one PATCH of every differing field (an
 * email with verify_email false, so no verification email goes out, and
 * with want's email_verified, which a new email would reset). Never
 * via_job, never patch2.
 */
int userdiff_plan_direct(const json_t *want, const json_t *have, const struct userdiff *d,
                         const char *connection, struct userdiff_plan *p, struct err *e);

/* Frees the PATCH bodies and zeroes p. Safe on a released p. */
void userdiff_plan_release(struct userdiff_plan *p);

#endif
