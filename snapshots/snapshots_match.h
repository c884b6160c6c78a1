/*
 * snapshots_match.h - one person's user lines in a snapshot, and their
 * values in its header, for `a0snap-snapshots erase`. Pure: no file, no
 * print.
 *
 * The person is named by a user id or by an email, and looked for as each
 * snapshot writes them: a raw snapshot holds the values themselves, a
 * pseudonymised one their pseudonyms (privacy_subject.h computes those
 * from the policy the header records and the key). A user line is the
 * person's when
 *   - by id: its user_id is the id, or one of its identities is
 *     (identities[].provider + "|" + identities[].user_id: an account
 *     linked into another user);
 *   - by email: its email, or an identity's profileData.email, is the
 *     email; or its user_id or an identity's user_id embeds it (the part
 *     after the last '|', or the whole id: samlp|corp|ann@corp.org).
 * Emails compare without regard to ASCII case and surrounding blanks, as
 * the pseudonyms normalise them; ids compare exactly.
 */
#ifndef A0SNAP_SNAPSHOTS_MATCH_H
#define A0SNAP_SNAPSHOTS_MATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* One person as one snapshot writes them. Strings are borrowed. */
struct erase_subject {
    const char *user_id;     /* by id: the id as written; NULL when by email */
    const char *email;       /* by email: the email as written; NULL when by id or when the
                                snapshot's policy leaves no email to find */
    const char *email_in_id; /* by email: the email as ids embed it; NULL when by id */
};

/* True if user (a snapshot user object) is the person's. */
bool erase_match_user(const json_t *user, const struct erase_subject *s);

/* Removes the person's values from the header's "request" object (what
 * the export was asked for, e.g. --user ID or, in a raw snapshot,
 * --email ADDRESS): every string there that contains one of needles
 * (NULL-terminated; compared without ASCII case) goes - an array element
 * is removed, an object member becomes "[erased]". Returns how many. */
size_t erase_scrub_request(json_t *header, const char *const *needles);

/* The part of an id after its last '|' (the whole id when it has none). */
const char *erase_id_tail(const char *id);

/* a and b equal without regard to ASCII case and surrounding blanks. */
bool erase_same_email(const char *a, const char *b);

#endif
