/*
 * privacy_subject.c - see privacy_subject.h.
 *
 * This file repeats, for one value, what privacy_transform.c does to a
 * whole user: the "email" field's action (leaf() there) and the mapping of
 * ids (privacy_map_user_id()). It reads the policy's rules directly
 * instead of running privacy_apply() on a made-up user, because a made-up
 * user may fall outside the policy's "select" and would then come back
 * untouched. tests/unit/test_privacy_subject.c checks that both give the
 * same bytes as privacy_apply() for the default policy and for others.
 */
#include "privacy_subject.h"

#include <stdlib.h>
#include <string.h>

int privacy_policy_recorded(struct privacy_policy **out, const json_t *privacy, struct err *e)
{
    const json_t *pol = json_object_get(privacy, "policy");
    const char *sha = json_string_value(json_object_get(privacy, "policy_sha256"));
    struct privacy_policy *p = NULL;
    char *text = NULL;
    int rc = -1;

    *out = NULL;
    if (!json_is_object(pol) || !sha)
        return err_set(e, ERR_SNAPSHOT, "the header does not record the privacy policy it applied");
    text = json_dumps(pol, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return err_oom(e);
    if (privacy_policy_parse(&p, text, "the recorded policy", e) < 0) {
        e->code = ERR_SNAPSHOT;
        goto out;
    }
    if (strcmp(privacy_policy_sha256(p), sha) != 0) {
        err_set(e, ERR_SNAPSHOT,
                "the header's privacy policy does not hash to its 'policy_sha256' (edited?)");
        goto out;
    }
    *out = p;
    p = NULL;
    rc = 0;
out:
    free(text);
    privacy_policy_free(p);
    return rc;
}

/* The rule for a top-level field, or NULL (the field is kept). */
static const struct privacy_action *field_action(const struct privacy_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_fields; i++)
        if (strcmp(p->fields[i].name, name) == 0)
            return &p->fields[i].act;
    return NULL;
}

static int need_key(struct pseudonym_key *k, struct err *e)
{
    if (!k)
        return err_set(e, ERR_USAGE,
                       "the snapshot's privacy policy pseudonymises emails: its pseudonym key is "
                       "needed to find them");
    return 0;
}

int privacy_subject_email(const struct privacy_policy *p, struct pseudonym_key *k,
                          const char *email, struct buf *out, bool *findable, struct err *e)
{
    const struct privacy_action *a = field_action(p, "email");
    enum pseudonym_shape shape;

    *findable = true;
    if (!a || a->kind == PRIVACY_KEEP)
        return buf_appends(out, email, e);
    switch (a->kind) {
    case PRIVACY_PSEUDONYM:
        if (need_key(k, e) < 0)
            return -1;
        /* A nickname shape is fed the email itself, as leaf() does for
         * the email field; every other shape takes the value. */
        shape = a->auto_shape ? privacy_guess_shape("email") : a->shape;
        return pseudonym_make(k, shape, email, strlen(email), &p->opts, out, e);
    case PRIVACY_HASH:
        if (need_key(k, e) < 0)
            return -1;
        return pseudonym_hash(k, email, strlen(email), out, e);
    default: /* drop, mask, set */
        *findable = false;
        return 0;
    }
}

int privacy_subject_user_id(const struct privacy_policy *p, struct pseudonym_key *k,
                            const char *uid, struct buf *out, struct err *e)
{
    const char *bar = strrchr(uid, '|');
    const char *seg = bar ? bar + 1 : uid;

    if (!k || !pseudonym_looks_like_email(seg, strlen(seg)))
        return buf_appends(out, uid, e);
    if (buf_append(out, uid, (size_t)(seg - uid), e) < 0)
        return -1;
    return pseudonym_make(k, PSEUDONYM_EMAIL, seg, strlen(seg), &p->opts, out, e);
}
