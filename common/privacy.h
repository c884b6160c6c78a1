/*
 * privacy.h - privacy policies and applying them to users.
 *
 * A policy (JSON, see docs/privacy.md) says what happens to each profile
 * field and metadata key of a user - keep, drop, pseudonym (of a shape),
 * hash, mask or set - and which users are selected at all. The built-in
 * default policy pseudonymises the profile (email, names, username, phone,
 * picture), drops last_ip and IdP tokens, and pseudonymises or drops the
 * metadata keys whose names look personal.
 *
 *   struct privacy_policy  parsed, immutable, shareable between threads;
 *                          privacy_policy_default/_load/_parse, _free.
 *   struct privacy_ctx     applies one policy, user after user; keeps the
 *                          statistics and the drift list (metadata keys no
 *                          rule covers). One per thread.
 *
 * Nothing here prints: warnings and drift are returned for the program to
 * report.
 */
#ifndef A0SNAP_PRIVACY_H
#define A0SNAP_PRIVACY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "pathmatch.h"
#include "pseudonym.h"

#define PRIVACY_POLICY_MAX (1024 * 1024) /* bytes of a policy file */
#define PRIVACY_DRIFT_MAX  1000          /* distinct unreviewed paths listed */
#define PRIVACY_MAX_DEPTH  PATHMATCH_MAX_SEGS
#define PRIVACY_SRC_HEX    32 /* hex digits of a source digest */

struct privacy_policy;
struct privacy_ctx;

/* ---- policies ---------------------------------------------------------- */

/* The built-in default policy (docs/privacy.md lists it). */
int privacy_policy_default(struct privacy_policy **out, struct err *e);

/* Reads and parses a policy file (at most PRIVACY_POLICY_MAX bytes). */
int privacy_policy_load(struct privacy_policy **out, const char *path, struct err *e);

/* Parses policy text; origin names it in messages ("policy 'p.json': unknown
 * action 'pseudo' at metadata[2].action"). Every error is ERR_USAGE (ERR_IO
 * or ERR_INTERNAL for reading and memory) and names the place. Unknown keys
 * are rejected. The canonical text of a policy (privacy_policy_canonical)
 * parses back to the same policy. */
int privacy_policy_parse(struct privacy_policy **out, const char *json_text, const char *origin,
                         struct err *e);

/* NULL is a no-op. */
void privacy_policy_free(struct privacy_policy *p);

/* True if some rule pseudonymises or hashes, so a key is required. */
bool privacy_policy_needs_key(const struct privacy_policy *p);

/* The effective policy as compact JSON with sorted keys (after "extends"
 * is resolved and every default made explicit), and its SHA-256 in hex.
 * Both borrowed, live as long as p. */
const char *privacy_policy_canonical(const struct privacy_policy *p);
const char *privacy_policy_sha256(const struct privacy_policy *p);

/* The shape options (email domain, phone prefix...) the policy sets. */
const struct pseudonym_opts *privacy_policy_opts(const struct privacy_policy *p);

/* Things the program should warn about (e.g. "keep_email_domain is on: ...").
 * *out gets a borrowed array of n messages. */
size_t privacy_policy_warnings(const struct privacy_policy *p, const char *const **out);

/* For the snapshot header: a new object {"applied":true, "policy":<the
 * canonical policy>, "policy_sha256":"...", "key_fingerprint":"..." or null
 * when k is NULL}. Never contains the key. *out is owned by the caller. */
int privacy_policy_describe(const struct privacy_policy *p, const struct pseudonym_key *k,
                            json_t **out, struct err *e);

/* ---- applying a policy ------------------------------------------------- */

struct privacy_stats {
    size_t users_seen;     /* given to privacy_apply */
    size_t users_kept;     /* selected and transformed */
    size_t users_excluded; /* left out by the policy's "select" */
    size_t pseudonymised;  /* values replaced by a pseudonym */
    size_t hashed;
    size_t masked;
    size_t set;
    size_t dropped;          /* keys or array elements removed */
    size_t ids_with_at;      /* kept users whose user_id (or an identity's) holds an '@':
                                some enterprise connections put the email in the id */
    size_t unreviewed;       /* metadata leaves no rule covers (occurrences) */
    size_t drift_paths;      /* distinct unreviewed paths listed (<= PRIVACY_DRIFT_MAX) */
    size_t drift_not_listed; /* unreviewed occurrences whose path did not fit the list */
};

/* One unreviewed metadata path ("app_metadata.plan", array elements as
 * "*") and the number of users that had it. */
struct privacy_drift {
    const char *path;
    size_t users;
};

/* Digests of the originals of the last kept user's email, username and
 * phone_number, when privacy_apply replaced them (else ""): 32 hex digits
 * of SHA-256 over a random salt made when the policy was loaded and the
 * value normalised as the pseudonym normalises it. Two users whose
 * pseudonyms are equal but whose digests differ are a collision. The salt
 * is shared by every ctx of one policy object and is never written out, so
 * the digests can go to temporary files without becoming a dictionary. */
struct privacy_user_src {
    char email[PRIVACY_SRC_HEX + 1];
    char username[PRIVACY_SRC_HEX + 1];
    char phone[PRIVACY_SRC_HEX + 1];
};

/* A context applying p (borrowed: p must outlive the ctx). k may be NULL
 * when the policy needs no key; otherwise the ctx keeps its own copy of the
 * keyed state, so k may be freed afterwards. Fails with ERR_USAGE when the
 * policy needs a key and k is NULL. */
int privacy_ctx_new(struct privacy_ctx **out, const struct privacy_policy *p,
                    const struct pseudonym_key *k, struct err *e);

/* NULL is a no-op. */
void privacy_ctx_free(struct privacy_ctx *c);

/* A second context for c's policy and key, for another thread: the same
 * pseudonyms, want_src as c, no stats or drift yet. */
int privacy_ctx_clone(struct privacy_ctx **out, const struct privacy_ctx *c, struct err *e);

/* Adds from's stats and drift (users per unreviewed path) to into's, as if
 * into had applied from's users too. */
int privacy_ctx_merge(struct privacy_ctx *into, const struct privacy_ctx *from, struct err *e);

/* Transforms user (an Auth0 user object) in place. Returns 1 if the user is
 * kept, 0 if the policy's selection excludes it (it is then untouched),
 * -1 on error (ERR_SNAPSHOT for a user that is not an object or nests
 * metadata deeper than PRIVACY_MAX_DEPTH; the user is then partly
 * transformed and must be discarded). Strings are rewritten in place, so a
 * json_t shared with another tree changes there too. */
int privacy_apply(struct privacy_ctx *c, json_t *user, struct err *e);

/* Source digests cost a SHA-256 each, so they are computed only after
 * privacy_ctx_want_src(c, true). privacy_ctx_last_src() gives those of the
 * last user privacy_apply() returned 1 for (all "" without want_src). */
void privacy_ctx_want_src(struct privacy_ctx *c, bool on);

/* What a user id becomes: ids are kept, except that an email after the
 * last '|' (enterprise ids such as samlp|corp|ann@corp.org), or an id that
 * is an email, is replaced by that email's pseudonym. privacy_apply() does this to user_id and
 * identities[].user_id; callers holding other references to users (role
 * and organization members) map them the same way. out gets the result. */
int privacy_map_user_id(struct privacy_ctx *c, const char *uid, struct buf *out, struct err *e);
const struct privacy_user_src *privacy_ctx_last_src(const struct privacy_ctx *c);

const struct privacy_stats *privacy_ctx_stats(const struct privacy_ctx *c);

/* The unreviewed paths seen so far, sorted by path. *out gets a borrowed
 * array, valid until the next privacy_apply, privacy_ctx_drift or
 * privacy_ctx_free on c. Returns the count (0 also on out of memory, which
 * only loses the listing). */
size_t privacy_ctx_drift(struct privacy_ctx *c, const struct privacy_drift **out);

/* ---- internals shared by privacy_policy.c and privacy_transform.c ------
 * Other code must use the functions above. */

enum privacy_action_kind {
    PRIVACY_KEEP,
    PRIVACY_DROP,
    PRIVACY_PSEUDONYM,
    PRIVACY_HASH,
    PRIVACY_MASK,
    PRIVACY_SET,
};

struct privacy_action {
    enum privacy_action_kind kind;
    bool auto_shape; /* "pseudonym" without a shape: chosen from the key's name */
    enum pseudonym_shape shape;
    unsigned mask_first, mask_last;
    json_t *value; /* PRIVACY_SET: owned */
};

struct privacy_field_rule {
    char *name;
    struct privacy_action act;
};

struct privacy_path_rule {
    struct pathmatch *path;
    struct privacy_action act;
};

struct privacy_key_rule {
    char *pattern; /* lower case, [a-z0-9*] */
    struct privacy_action act;
};

struct privacy_match {
    struct pathmatch_path path; /* exact keys, no wildcards */
    char *text;
    json_t *equals; /* owned */
};

struct privacy_select {
    char **include_connections, **exclude_connections;
    size_t n_include_connections, n_exclude_connections;
    char **email_domains, **exclude_email_domains;
    size_t n_email_domains, n_exclude_email_domains;
    struct privacy_match *match;
    size_t n_match;
};

struct privacy_policy {
    struct pseudonym_opts opts; /* strings point at the members below */
    char *email_domain, *phone_prefix, *url_prefix;
    struct privacy_field_rule *fields, *identity_fields;
    size_t n_fields, n_identity_fields;
    struct privacy_path_rule *metadata;
    size_t n_metadata;
    struct privacy_key_rule *personal;
    size_t n_personal;
    enum privacy_action_kind unlisted; /* PRIVACY_KEEP or PRIVACY_DROP */
    struct privacy_select select;
    bool needs_key;
    char *canonical;
    char sha256[65];
    char **warnings;
    size_t n_warnings;
    unsigned char salt[32]; /* for struct privacy_user_src */
};

/* Index of the first personal-key rule whose pattern matches key, or -1. A
 * key is compared whole (lower-cased, separators removed) and token by
 * token (split at separators and camelCase): "dateOfBirth" is "dateofbirth"
 * and "date", "of", "birth". */
int privacy_personal_match(const struct privacy_policy *p, const char *key);

/* The shape "pseudonym" without a shape takes for a key of this name. */
enum pseudonym_shape privacy_guess_shape(const char *key);

#endif
