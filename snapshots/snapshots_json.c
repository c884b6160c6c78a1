/*
 * snapshots_json.c - the JSON that list and verify print for a snapshot
 * (the keys are documented at snapshots_entry_json and in
 * a0snap-snapshots(1)).
 */
#include "snapshots.h"

#include <stdlib.h>
#include <string.h>

/* A JSON string of text from a file or the command line: bytes that are
 * not UTF-8 become '?' so the document stays valid. */
json_t *snapshots_jstr(const char *s)
{
    json_t *j;
    char *copy;

    if (!s)
        return json_null();
    if ((j = json_string(s)) || !(copy = strdup(s)))
        return j;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/*
 * One snapshot (keys sorted; new keys may be added; unknown values null):
 *   file, path, snapshot_id, source, created_at, users,
 *   privacy ("pseudonymised" or "raw"), key_fingerprint (the pseudonym
 *   key's, as the header records it), encrypted, signer (the full
 *   fingerprint), trusted (null without A0SNAP_TRUSTED_KEYS), verified
 *   (true, false, or null when not checked: encrypted and no identity),
 *   problem (why not verified, else null), sha256 (of the content before
 *   the trailer), erasures (how many the header records).
 */
json_t *snapshots_entry_json(const struct snap_entry *s, bool have_trusted)
{
    const json_t *pv = json_object_get(s->header, "privacy");
    const char *problem = s->intact ? (s->trusted ? NULL : s->trust_why.msg) : s->why.msg;

    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:I}", "file",
        snapshots_jstr(s->name), "path", snapshots_jstr(s->path), "snapshot_id",
        snapshots_jstr(s->header_read ? s->snapshot_id : NULL), "source",
        snapshots_jstr(snap_source(s)), "created_at", snapshots_jstr(snap_created(s)), "users",
        s->intact ? json_integer((json_int_t)s->users) : json_null(), "privacy",
        snapshots_jstr(snap_privacy(s)), "key_fingerprint",
        snapshots_jstr(json_string_value(json_object_get(pv, "key_fingerprint"))), "encrypted",
        s->encrypted, "signer", snapshots_jstr(s->intact && s->signer[0] ? s->signer : NULL),
        "trusted", s->intact && have_trusted ? json_boolean(s->trusted) : json_null(), "verified",
        s->locked ? json_null() : json_boolean(s->intact && s->trusted), "problem",
        snapshots_jstr(problem), "sha256", snapshots_jstr(s->intact ? s->sha256 : NULL), "erasures",
        (json_int_t)json_array_size(json_object_get(s->header, "erasures")));
}
