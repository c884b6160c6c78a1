/*
 * bech32.h - Bech32 strings (BIP 173), as age spells its keys: "age1..."
 * for recipients, "AGE-SECRET-KEY-1..." for identities.
 *
 * Unlike BIP 173 there is no 90-character limit (age keys are longer), and
 * the checksum is the original Bech32 one, not Bech32m. A string is all
 * lowercase or all uppercase, never mixed; the human-readable part (HRP)
 * comes back in the case it was written in, so callers compare it exactly
 * ("age" recipients are lowercase, "AGE-SECRET-KEY-" identities uppercase).
 *
 * Errors: ERR_USAGE with a short reason ("invalid checksum", "mixed
 * case", ...); callers put the subject in front with err_prefix().
 */
#ifndef A0SNAP_BECH32_H
#define A0SNAP_BECH32_H

#include <stddef.h>

#include "err.h"

/* Characters bech32_encode() writes for hrp_len + data_len bytes, without
 * the NUL. */
#define BECH32_ENCODED_LEN(hrp_len, data_len) ((hrp_len) + 1 + ((data_len)*8 + 4) / 5 + 6)

/* Encodes data under hrp into out (out_cap bytes, NUL included). The
 * output is uppercase when hrp has no lowercase letter, else lowercase
 * (the checksum covers the lowercase form either way). hrp: 1 to 83
 * printable ASCII characters, no mixed case. */
int bech32_encode(char *out, size_t out_cap, const char *hrp, const void *data, size_t data_len,
                  struct err *e);

/* Decodes s: the HRP into hrp (hrp_cap bytes, NUL included) and the bytes
 * into data (data_cap bytes), their count into *data_len. Fails on mixed
 * case, a character outside the alphabet, a bad checksum, non-zero padding
 * bits, or output that does not fit. On failure the outputs are undefined
 * (but written only within their capacities). */
int bech32_decode(const char *s, char *hrp, size_t hrp_cap, void *data, size_t data_cap,
                  size_t *data_len, struct err *e);

#endif
