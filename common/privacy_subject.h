/*
 * privacy_subject.h - what one person's email and user id became in a
 * snapshot written under a privacy policy, so that the person can be found
 * in it again (a0snap-snapshots erase) without undoing any pseudonym.
 *
 * A snapshot header's "privacy" object records the canonical policy that
 * was applied and the fingerprint of the key it used (docs/privacy.md, "The
 * snapshot header"). With that policy and the same key:
 *  - an email is written as the policy's "email" field rule writes it: a
 *    pseudonym of its shape, a keyed hash, or the email itself (no rule, or
 *    "keep"); "drop", "mask" and "set" leave nothing to find it by;
 *  - a user id is written as privacy_apply() writes ids when a key was
 *    used: an email after the last '|' (samlp|corp|ann@corp.org), or an id
 *    that is an email, becomes that email's pseudonym; other ids are kept.
 * The same rules apply to identities[].profileData.email and
 * identities[].user_id, which go through the same code at export.
 *
 * Pure computation (no file, no print); ERR_USAGE when the policy needs a
 * key and none is given, ERR_SNAPSHOT for a header that does not record a
 * policy it can be read back from.
 */
#ifndef A0SNAP_PRIVACY_SUBJECT_H
#define A0SNAP_PRIVACY_SUBJECT_H

#include <jansson.h>
#include <stdbool.h>

#include "buf.h"
#include "err.h"
#include "privacy.h"
#include "pseudonym.h"

/* The policy a header's "privacy" object (borrowed) records, parsed back
 * from its canonical "policy" and checked against "policy_sha256". *out is
 * the caller's (privacy_policy_free); NULL on failure, which is
 * ERR_SNAPSHOT when the header records no policy or one that does not hash
 * to what it says. */
int privacy_policy_recorded(struct privacy_policy **out, const json_t *privacy, struct err *e);

/* Appends to out what the policy p writes for the email value email (k:
 * the key the snapshot was made with, NULL when it records none). *findable
 * is false, and out left as it was, when the policy drops, masks or sets
 * emails: then no email in the snapshot can be traced back to this one. */
int privacy_subject_email(const struct privacy_policy *p, struct pseudonym_key *k,
                          const char *email, struct buf *out, bool *findable, struct err *e);

/* Appends to out what a user id uid became in a snapshot made under p with
 * key k (NULL: ids were kept as they are). */
int privacy_subject_user_id(const struct privacy_policy *p, struct pseudonym_key *k,
                            const char *uid, struct buf *out, struct err *e);

#endif
