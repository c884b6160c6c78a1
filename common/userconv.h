/*
 * userconv.h - a snapshot user as a bulk-import record, and as the target
 * should hold it.
 *
 * Snapshot users are Auth0 user objects (as GET /users/{id} shapes them)
 * plus "roles" ([{id,name}]) and "organizations" ([{id,name,roles}]).
 *
 *   userconv_import_text() the same record, written from the user's
 *                          canonical parse without building a json_t
 *                          (the import's bulk path; userconv_text.c).
 *   userconv_to_import()   the object the import schema accepts (its
 *                          additionalProperties is false): only the
 *                          importable fields, user_id without "auth0|",
 *                          email_verified always explicit, reserved
 *                          app_metadata keys removed. A user that cannot be
 *                          bulk-imported (no email, metadata that is not an
 *                          object...) is a skip with a reason, not a failure.
 *   userconv_expected()    the "target view": what the target must hold
 *                          after an import (profile, metadata, role names,
 *                          organization and member-role names), for diffing.
 *   userconv_social_id()   the stable database user_id a social/enterprise
 *                          user gets under --social-users=convert:CONNECTION.
 *   userconv_*_kind()      database / passwordless / social / enterprise, for
 *                          choosing what to do with a user and for reports.
 *
 * Pure functions: no I/O, nothing printed.
 */
#ifndef A0SNAP_USERCONV_H
#define A0SNAP_USERCONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Serialize import records with these flags: info->bytes counts them. */
#define USERCONV_JSON_FLAGS JSON_COMPACT
/* userconv_social_id() results are at most this long (without "auth0|"). */
#define USERCONV_SOCIAL_ID_MAX 128
/* The database provider's prefix, added by Auth0 to imported user_ids. */
#define USERCONV_DB_PREFIX  "auth0|"
#define USERCONV_REASON_MAX 160

struct userconv_opts {
    /* Users whose user_id is not "auth0|..." get userconv_social_id() of it
     * as their user_id; when false they are an error (ERR_USAGE). */
    bool convert_ids;
    /* A bcrypt hash ($2a$/$2b$, 10 rounds; see userconv_valid_password_hash)
     * given to every imported user as password_hash, or NULL for none.
     * Borrowed. Auth0 only applies it on a user's first import. */
    const char *password_hash;
};

/* Zeroes o: no conversion, no password hash. */
void userconv_opts_init(struct userconv_opts *o);

struct userconv_info {
    bool skipped;                     /* *out is NULL; reason says why */
    char reason[USERCONV_REASON_MAX]; /* "no email", "user_metadata is not an object"... */
    bool reserved_app_metadata;       /* reserved keys were removed from app_metadata */
    bool email_verified_coerced;      /* a "true"/"false" string became a bool */
    bool id_converted;                /* user_id came from userconv_social_id() */
    size_t bytes;                     /* length of *out serialized with USERCONV_JSON_FLAGS */
};

/*
 * Builds the bulk-import record of one snapshot user into *out (a new
 * object the caller json_decref()s) and fills info (always reset first).
 *
 * The record holds only: email, email_verified (always; absent = false),
 * user_id (USERCONV_DB_PREFIX stripped; converted when o->convert_ids),
 * username, given_name, family_name, name, nickname, picture, blocked,
 * phone_number, phone_verified, app_metadata (reserved keys removed; see
 * userconv_reserved_app_metadata_key), user_metadata, and password_hash if
 * o sets one. Every other field is dropped. JSON null and empty strings
 * count as absent. Booleans given as the strings "true"/"false" (old
 * profiles) are coerced.
 *
 * Returns 0 with *out set, or 0 with *out NULL and info->skipped when the
 * user cannot be bulk-imported: no email, a field of the wrong type, or
 * metadata that is not an object. Returns -1 (ERR_USAGE) for a user_id of
 * another provider when o->convert_ids is false, for a user that is not
 * an object, or for an invalid o->password_hash; ERR_INTERNAL when out of
 * memory. *out is NULL on every failure and skip. o may be NULL (defaults).
 */
int userconv_to_import(const json_t *user, const struct userconv_opts *o, json_t **out,
                       struct userconv_info *info, struct err *e);

/*
 * The fast path of userconv_to_import(): cj is the canonical parse of a
 * user's JSON text (canonjson.h, e.g. snapshot_reader_parsed()). Appends
 * to out exactly the bytes json_dumps(rec, USERCONV_JSON_FLAGS) gives for
 * the record userconv_to_import() makes of json_loadb() of the same text,
 * and fills info as it would; builds no json_t and copies nothing twice.
 *
 * Returns 1 when done: the record appended (info->bytes its length), or
 * info->skipped with out unchanged. Returns 0, out and info unchanged,
 * when the user needs userconv_to_import() (which then decides): a user_id
 * of another provider (conversion, or the refusal), an email, user_id or
 * boolean field given as a string with escapes, metadata whose keys are
 * not in key order in the text. Returns -1 as userconv_to_import() fails
 * (ERR_USAGE: an invalid o->password_hash) or when out cannot hold the
 * record (out's error; out unchanged). o may be NULL (defaults).
 */
struct canonjson;
int userconv_import_text(const struct canonjson *cj, const struct userconv_opts *o, struct buf *out,
                         struct userconv_info *info, struct err *e);

/* True if key may not appear in an imported user's app_metadata (the
 * schema's list: __tenant, _id, blocked, clientID, created_at, ...). */
bool userconv_reserved_app_metadata_key(const char *key);

/*
 * The POST /users body that creates a snapshot user of a connection bulk
 * jobs cannot write (passwordless: email or sms): connection, user_id (the
 * part after "email|" / "sms|", which Auth0 puts back), email,
 * phone_number, email_verified, phone_verified, the names, picture,
 * blocked and both metadata, as the snapshot has them; verify_email false
 * whenever there is an email, so nobody is sent a verification email (and
 * no SMS code: POST /users never sends one). *out is new (caller decrefs).
 * ERR_SNAPSHOT for a user without an id of the form "provider|id".
 */
int userconv_to_create(const json_t *user, const char *connection, json_t **out, struct err *e);

/* The reserved keys of the user's app_metadata with their values: *out is
 * a new object (the caller decrefs), or NULL when there are none or
 * app_metadata is not an object. The caller sets them with a PATCH after
 * the import. Fails only when out of memory. */
int userconv_reserved_app_metadata(const json_t *user, json_t **out, struct err *e);

/*
 * Appends to out the database id of a social/enterprise user_id: every '|'
 * becomes '-', every byte outside [A-Za-z0-9_.-] becomes '_', so
 * "google-oauth2|1234" -> "google-oauth2-1234" and
 * "samlp|acme-saml|bob@acme.example" -> "samlp-acme-saml-bob_acme.example".
 * A result longer than USERCONV_SOCIAL_ID_MAX is cut to its first
 * USERCONV_SOCIAL_ID_MAX - 17 characters, then "-" and the first 16 hex
 * digits of SHA-256(user_id) are added, which keeps it unique. The target
 * user_id is USERCONV_DB_PREFIX + the result. The mapping is stable but not
 * injective ("a|b" and "a-b" meet): the import's conflict checks catch the
 * rare collision. Fails with ERR_USAGE for an empty user_id, with out's
 * error if out is full (out is then left as it was).
 */
int userconv_social_id(const char *user_id, struct buf *out, struct err *e);

enum userconv_kind {
    USERCONV_UNKNOWN = 0,
    USERCONV_DATABASE,     /* strategy "auth0" (Auth0's store or a custom database) */
    USERCONV_PASSWORDLESS, /* "email", "sms" */
    USERCONV_SOCIAL,       /* google-oauth2, facebook, github, apple, oauth2... */
    USERCONV_ENTERPRISE,   /* samlp, waad, adfs, ad, oidc, okta, google-apps... */
};

/* True if a connection of this strategy holds database users (the only
 * ones a bulk import can write). */
bool userconv_strategy_is_database(const char *strategy);

/* The kind of a connection strategy (or identity provider, which is the
 * same name); USERCONV_UNKNOWN for NULL or a name not in Auth0's list. */
enum userconv_kind userconv_strategy_kind(const char *strategy);

/* The kind of a user from its primary identity (identities[0].provider,
 * falling back to isSocial for an unlisted provider), else from the
 * user_id's prefix. */
enum userconv_kind userconv_user_kind(const json_t *user);

/* The connection name of the user's primary identity, or NULL. Borrowed. */
const char *userconv_user_connection(const json_t *user);

/* "database", "passwordless", "social", "enterprise", "unknown". */
const char *userconv_kind_name(enum userconv_kind k);

/* True if h has the shape the import schema requires of password_hash:
 * "$2a$10$" or "$2b$10$" and 53 characters of [./A-Za-z0-9]. */
bool userconv_valid_password_hash(const char *h);

/*
 * The target view of a snapshot user: a new object (caller decrefs; NULL
 * when out of memory or user is not an object) holding what the target
 * must hold after an import:
 *   user_id          target_user_id, or the snapshot's when that is NULL
 *   email, username, phone_number, given_name, family_name, name,
 *   nickname, picture               as in the snapshot, when present
 *   email_verified, blocked         always, as booleans (absent = false)
 *   phone_verified                  as a boolean, when present
 *   user_metadata, app_metadata     always, objects (absent = {})
 *   roles            sorted, distinct role names: ["admin", ...]
 *   organizations    sorted by name: [{"name":..., "roles":[names]}]
 * userdiff_compare() accepts this shape as well as Auth0's.
 */
json_t *userconv_expected(const json_t *snapshot_user, const char *target_user_id);

/* The sorted, distinct names of an array of roles ({"name":...} objects or
 * plain strings; items without a name are ignored): ["admin", "viewer"].
 * A new array (empty for NULL or a non-array); NULL when out of memory. */
json_t *userconv_role_names(const json_t *roles);

/* An array of organizations ({"name", "roles":[roles]} objects, or plain
 * name strings) as [{"name":..., "roles":[sorted names]}] sorted by name;
 * an organization listed twice has its roles joined. A new array (empty
 * for NULL or a non-array); NULL when out of memory. */
json_t *userconv_org_names(const json_t *orgs);

#endif
