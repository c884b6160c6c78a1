/*
 * import_keys.c - what reading a snapshot may need besides the file: the
 * identity that opens an encrypted one, and the signing keys an import
 * trusts. Both come from files the user names; nothing is guessed.
 */
#include "import.h"

#include "age.h"
#include "edsig.h"
#include "guard.h"

#include <stdlib.h>
#include <string.h>

int import_keys_load(struct import_keys *k, const char *identity_file, struct err *e)
{
    const char *trusted = getenv("A0SNAP_TRUSTED_KEYS");

    memset(k, 0, sizeof(*k));
    if (!identity_file || !*identity_file)
        identity_file = getenv("A0SNAP_IDENTITY_FILE");
    if (identity_file && *identity_file) {
        if (age_identities_new(&k->identities, e) < 0 ||
            age_identities_add_file(k->identities, identity_file, e) < 0)
            return -1;
        k->sk.identities = k->identities;
    }
    if (trusted && *trusted && edsig_trusted_load(&k->trusted, trusted, e) < 0)
        return err_prefix(e, "A0SNAP_TRUSTED_KEYS");
    return 0;
}

void import_keys_release(struct import_keys *k)
{
    age_identities_free(k->identities);
    edsig_trusted_free(k->trusted);
    memset(k, 0, sizeof(*k));
}

int import_check_signer(const struct import_opts *o, const char *path, const char *signer,
                        struct err *e)
{
    return guard_signer(path, signer, o->trusted, e);
}
