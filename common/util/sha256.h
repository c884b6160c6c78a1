/*
 * sha256.h - streaming SHA-256 (a thin wrapper over OpenSSL's EVP), used to
 * seal snapshots: the trailer carries the digest of every byte before it.
 *
 * struct sha256 is a heap object: sha256_new() / sha256_free(). Feed bytes
 * with sha256_update() as they pass by, then sha256_final_hex() once; after
 * that the object must be freed or sha256_reset().
 */
#ifndef A0SNAP_SHA256_H
#define A0SNAP_SHA256_H

#include <stddef.h>

#include "err.h"

#define SHA256_HEX_LEN 64 /* lowercase hex digits, without the NUL */

struct sha256;

/* A fresh digest in *out (the caller sha256_free()s it). */
int sha256_new(struct sha256 **out, struct err *e);
/* Starts over, as if just created. */
int sha256_reset(struct sha256 *h, struct err *e);
int sha256_update(struct sha256 *h, const void *data, size_t len, struct err *e);
/* Writes the digest as 64 lowercase hex digits and a NUL into hex. */
int sha256_final_hex(struct sha256 *h, char hex[SHA256_HEX_LEN + 1], struct err *e);
/* NULL is a no-op. */
void sha256_free(struct sha256 *h);

/* One shot: the hex digest of data. */
int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1], struct err *e);

#endif
