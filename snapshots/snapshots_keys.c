/*
 * snapshots_keys.c - the keys a command may need, loaded before any file
 * of the folder is read, so that a key file open to others or a malformed
 * key stops the run before anything is looked at or written. Every secret
 * file goes through fsutil_read_private() (in the modules that parse it).
 */
#include "snapshots.h"

#include "age.h"
#include "edsig.h"
#include "pseudonym.h"

#include <stdlib.h>
#include <string.h>

int snapshots_add_recipients(struct age_recipients *r, const char *const *values, size_t n,
                             struct err *e)
{
    /* "age1..." is a key; anything else names a file of them (as export). */
    for (size_t i = 0; i < n; i++)
        if ((strncmp(values[i], "age1", 4) == 0 ? age_recipients_add(r, values[i], e)
                                                : age_recipients_add_file(r, values[i], e)) < 0)
            return err_prefix(e, "--encrypt-to");
    return 0;
}

static int load_erase_keys(struct snapshots_keys *k, const struct snapshots_opts *o, struct err *e)
{
    const char *env = getenv(PSEUDONYM_KEY_ENV);

    /* The log's digest is keyed: no key, no erasure. */
    if (!o->key_file && (!env || !*env))
        return err_set(e, ERR_USAGE,
                       "erase needs the pseudonym key (--pseudonym-key-file FILE or "
                       "A0SNAP_PSEUDONYM_KEY): it finds the person in pseudonymised snapshots "
                       "and keys the erasure log's digest");
    if (o->key_file ? pseudonym_key_from_file(&k->pseudonym, o->key_file, e) < 0
                    : pseudonym_key_from_env(&k->pseudonym, e) < 0)
        return -1;
    if (o->sign_key && edsig_key_load(&k->sign, o->sign_key, e) < 0)
        return err_prefix(e, "--sign-key");
    if (o->n_encrypt_to &&
        (age_recipients_new(&k->encrypt_to, e) < 0 ||
         snapshots_add_recipients(k->encrypt_to, o->encrypt_to, o->n_encrypt_to, e) < 0))
        return -1;
    return 0;
}

int snapshots_keys_load(struct snapshots_keys *k, const struct snapshots_opts *o, struct err *e)
{
    const char *identity = o->identity_file, *trusted = getenv("A0SNAP_TRUSTED_KEYS");

    memset(k, 0, sizeof(*k));
    if (!identity || !*identity)
        identity = getenv("A0SNAP_IDENTITY_FILE");
    if (identity && *identity) {
        if (age_identities_new(&k->identities, e) < 0 ||
            age_identities_add_file(k->identities, identity, e) < 0)
            return err_prefix(e, "--identity");
        k->sk.identities = k->identities;
    }
    if (trusted && *trusted && edsig_trusted_load(&k->trusted, trusted, e) < 0)
        return err_prefix(e, "A0SNAP_TRUSTED_KEYS");
    if (o->cmd == CMD_ERASE && load_erase_keys(k, o, e) < 0)
        return -1;
    return 0;
}

void snapshots_keys_release(struct snapshots_keys *k)
{
    age_identities_free(k->identities);
    edsig_trusted_free(k->trusted);
    pseudonym_key_free(k->pseudonym);
    edsig_key_free(k->sign);
    age_recipients_free(k->encrypt_to);
    memset(k, 0, sizeof(*k));
}
