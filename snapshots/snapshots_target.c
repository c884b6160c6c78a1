/*
 * snapshots_target.c - who the person to erase is in one snapshot.
 *
 * A raw snapshot holds the person's values as they were; a pseudonymised
 * one holds what its privacy policy made of them under its key. The header
 * records both the policy (canonical, with its sha256) and the key's
 * fingerprint, so the forms are computed again (privacy_subject.h) with
 * the key the user gives, and only when it is the snapshot's own key:
 * with another key every pseudonym would differ and nothing would match,
 * which must not pass for "nothing to erase".
 */
#include "snapshots_erase.h"

#include "privacy.h"
#include "privacy_subject.h"
#include "pseudonym.h"

#include <stdio.h>
#include <string.h>

#define FORM_MAX 4096

void erase_target_init(struct erase_target *t)
{
    memset(t, 0, sizeof(*t));
    buf_init(&t->uid, FORM_MAX);
    buf_init(&t->email, FORM_MAX);
    buf_init(&t->in_id, FORM_MAX);
}

void erase_target_release(struct erase_target *t)
{
    buf_release(&t->uid);
    buf_release(&t->email);
    buf_release(&t->in_id);
    memset(t, 0, sizeof(*t));
}

/* The policy and key a pseudonymised snapshot was made with. */
static int recorded(const json_t *privacy, struct pseudonym_key *key, struct privacy_policy **pol,
                    struct pseudonym_key **used, struct err *e)
{
    const char *fp = json_string_value(json_object_get(privacy, "key_fingerprint"));

    *used = NULL;
    if (fp && strcmp(fp, pseudonym_key_fingerprint(key)) != 0)
        return err_set(e, ERR_REFUSED,
                       "pseudonymised with the key whose fingerprint is %.16s, but the key given "
                       "is %s: its users cannot be matched (give the key it was made with)",
                       fp, pseudonym_key_fingerprint(key));
    if (privacy_policy_recorded(pol, privacy, e) < 0)
        return -1;
    if (!fp && privacy_policy_needs_key(*pol))
        return err_set(e, ERR_SNAPSHOT,
                       "its header records a policy that needs a key but no key fingerprint");
    *used = fp ? key : NULL;
    return 0;
}

static int forms(struct erase_target *t, const json_t *h, const char *user_id, const char *email,
                 struct pseudonym_key *key, struct err *e)
{
    const json_t *privacy = json_object_get(h, "privacy");
    struct privacy_policy *pol = NULL;
    struct pseudonym_key *used;
    bool findable = true;
    int rc = -1;

    if (!json_is_true(json_object_get(privacy, "applied"))) {
        /* raw: the values as they are */
        if (user_id)
            return buf_appends(&t->uid, user_id, e);
        if (buf_appends(&t->email, email, e) < 0)
            return -1;
        return buf_appends(&t->in_id, email, e);
    }
    if (recorded(privacy, key, &pol, &used, e) < 0)
        goto out;
    if (user_id) {
        rc = privacy_subject_user_id(pol, used, user_id, &t->uid, e);
        goto out;
    }
    if (privacy_subject_email(pol, used, email, &t->email, &findable, e) < 0 ||
        privacy_subject_user_id(pol, used, email, &t->in_id, e) < 0)
        goto out;
    if (!findable) {
        err_set(e, ERR_REFUSED,
                "its privacy policy drops, masks or replaces emails, so the person cannot be "
                "found by email in it: erase by --user-id");
        goto out;
    }
    rc = 0;
out:
    privacy_policy_free(pol);
    return rc;
}

int erase_target_for(struct erase_target *t, const json_t *h, const char *user_id,
                     const char *email, struct pseudonym_key *key, struct err *e)
{
    size_t n = 0;

    if (forms(t, h, user_id, email, key, e) < 0)
        return -1;
    t->subj.user_id = user_id ? buf_str(&t->uid) : NULL;
    t->subj.email = email ? buf_str(&t->email) : NULL;
    t->subj.email_in_id = email ? buf_str(&t->in_id) : NULL;
    t->needles[n++] = user_id ? user_id : email;
    if (t->uid.len)
        t->needles[n++] = buf_str(&t->uid);
    if (t->email.len)
        t->needles[n++] = buf_str(&t->email);
    if (t->in_id.len)
        t->needles[n++] = buf_str(&t->in_id);
    /* an id that embeds an email names the person by that email too */
    if (user_id && strchr(erase_id_tail(user_id), '@'))
        t->needles[n++] = erase_id_tail(user_id);
    t->needles[n] = NULL;
    return 0;
}

int erase_subject_digest(struct pseudonym_key *key, const char *by, const char *value, char *out,
                         struct err *e)
{
    static const char tag[] = "a0snap/v1/erasure";
    unsigned char mac[32];
    struct buf msg;
    int rc = -1;

    buf_init(&msg, 2 * FORM_MAX);
    if (buf_append(&msg, tag, sizeof(tag), e) < 0 || buf_append(&msg, by, strlen(by) + 1, e) < 0)
        goto out;
    if (strcmp(by, "email") == 0
            ? pseudonym_normalize(PSEUDONYM_EMAIL, value, strlen(value), &msg, e) < 0
            : buf_appends(&msg, value, e) < 0)
        goto out;
    if (pseudonym_hmac(key, msg.data, msg.len, mac, e) < 0)
        goto out;
    for (size_t i = 0; i < sizeof(mac); i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    rc = 0;
out:
    explicit_bzero(msg.data, msg.cap);
    buf_release(&msg);
    return rc;
}
