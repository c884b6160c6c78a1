/*
 * edsig.h - Ed25519 signatures with OpenSSL's libcrypto: signing keys from
 * PEM files (as `openssl genpkey -algorithm ed25519` writes them), sets of
 * trusted public keys, signing and verifying short messages.
 *
 * A key is named by its fingerprint: the lowercase hex SHA-256 of its
 * public key in DER SubjectPublicKeyInfo form, which openssl alone gives:
 *     openssl pkey -pubin -in key.pub -outform DER | sha256sum
 * (or `openssl pkey -in key.pem -pubout -outform DER | sha256sum` from the
 * private key). Public keys travel as base64 of that DER, signatures as
 * base64 of the 64 signature bytes.
 *
 * Nothing here prints; secrets are wiped when freed.
 */
#ifndef A0SNAP_EDSIG_H
#define A0SNAP_EDSIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define EDSIG_FINGERPRINT_LEN 64  /* hex digits */
#define EDSIG_PUBLIC_B64_MAX  128 /* base64 of the DER public key, with room */
#define EDSIG_SIG_B64_LEN     88  /* base64 of 64 bytes */

struct edsig_key;     /* a private key (signs) */
struct edsig_trusted; /* a set of public keys */

/* Reads an Ed25519 private key in PEM from path, a file only its owner may
 * read (ERR_REFUSED otherwise, see fsutil_read_private). A file that holds
 * no Ed25519 private key is ERR_USAGE. */
int edsig_key_load(struct edsig_key **out, const char *path, struct err *e);
void edsig_key_free(struct edsig_key *k);

/* The key's fingerprint and its public key (base64 DER), borrowed. */
const char *edsig_key_fingerprint(const struct edsig_key *k);
const char *edsig_key_public(const struct edsig_key *k);

/* Signs msg; out gets the signature in base64 (EDSIG_SIG_B64_LEN + 1
 * bytes, NUL-terminated). */
int edsig_sign(const struct edsig_key *k, const void *msg, size_t len,
               char out[EDSIG_SIG_B64_LEN + 1], struct err *e);

/* Checks sig_b64 over msg with the public key public_b64 (base64 DER).
 * Fails with ERR_SNAPSHOT when the key or the signature cannot be read or
 * the signature does not match; fingerprint_out (may be NULL) gets the
 * key's fingerprint (EDSIG_FINGERPRINT_LEN + 1 bytes). */
int edsig_verify(const char *public_b64, const void *msg, size_t len, const char *sig_b64,
                 char *fingerprint_out, struct err *e);

/* The fingerprint of a public key given in base64 DER; -1 (ERR_SNAPSHOT)
 * if it is not an Ed25519 public key. */
int edsig_public_fingerprint(const char *public_b64, char out[EDSIG_FINGERPRINT_LEN + 1],
                             struct err *e);

/* Reads every PEM public key ("BEGIN PUBLIC KEY") of path; at least one,
 * all Ed25519 (ERR_USAGE otherwise). The file is public data: any mode. */
int edsig_trusted_load(struct edsig_trusted **out, const char *path, struct err *e);
void edsig_trusted_free(struct edsig_trusted *t);
bool edsig_trusted_has(const struct edsig_trusted *t, const char *fingerprint);
size_t edsig_trusted_count(const struct edsig_trusted *t);

#endif
