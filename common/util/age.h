/*
 * age.h - encryption at rest in the age v1 format (C2SP age.md), so that
 * `age -d` opens what we write and we open what `age -r` / `age -p` write.
 *
 * Keys. Recipients are X25519 public keys ("age1..." strings, one per line
 * in a recipients file) or one passphrase; identities are X25519 secret
 * keys ("AGE-SECRET-KEY-1..." lines in an identity file, as age-keygen
 * writes it) and/or passphrases. SSH keys, plugins and the post-quantum
 * hybrid keys of newer age versions are not supported.
 *
 * Streams. Encryption and decryption are push streams with flat memory
 * (two 64 KiB buffers): bytes go in through _write() / _feed(), bytes come
 * out through a callback, so they sit between the gzip writer or reader
 * and the file. The decryptor releases nothing before the header's MAC
 * has been checked, and each 64 KiB chunk only once its tag has been; a
 * truncated stream, data after the final chunk and every other damage
 * fail at _feed() or _finish() (plaintext already released stays
 * released: a caller writing a file writes it to a temp file and commits
 * only after _finish() succeeded).
 *
 * The ASCII-armored form (-----BEGIN AGE ENCRYPTED FILE-----) is
 * recognised by age_detect() but not decrypted: the decryptor refuses it
 * with a message that names `age -d`.
 *
 * Errors (struct err, nothing prints):
 *   ERR_USAGE    a malformed recipient or identity string or file, an
 *                empty passphrase, a passphrase mixed with other
 *                recipients, and "no identity matches" (wrong key or
 *                passphrase: the file itself may be fine);
 *   ERR_REFUSED  an identity file that group or others may access, and an
 *                scrypt work factor above the identities' limit;
 *   ERR_SNAPSHOT the encrypted stream is not age, is damaged, tampered
 *                with or truncated (header, MAC or payload);
 *   ERR_IO       a file could not be read; ERR_INTERNAL out of memory or
 *                a failure inside OpenSSL;
 *   and whatever the output callback returned, passed on unchanged.
 * age_decrypt_failure() tells which stage of decryption failed.
 *
 * Secrets (file keys, payload keys, secret keys, passphrases) are wiped
 * with OPENSSL_cleanse() when freed; messages never contain them.
 */
#ifndef A0SNAP_AGE_H
#define A0SNAP_AGE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define AGE_RECIPIENT_LEN          62    /* "age1" + 58 characters */
#define AGE_SECRET_KEY_LEN         74    /* "AGE-SECRET-KEY-1" + 58 characters */
#define AGE_CHUNK_SIZE             65536 /* plaintext bytes per STREAM chunk */
#define AGE_SCRYPT_WORK_FACTOR     18    /* log2(N) for new passphrase files, as age -p */
#define AGE_SCRYPT_MAX_WORK_FACTOR 22    /* default ceiling on log2(N) when decrypting */
#define AGE_SCRYPT_WORK_FACTOR_CAP 30    /* no ceiling is ever set above this */
#define AGE_DETECT_LEN             64    /* bytes age_detect() wants to see */

/* ---- detection ---- */

enum age_format {
    AGE_FORMAT_NONE,    /* not age (or too few bytes to tell) */
    AGE_FORMAT_BINARY,  /* starts with "age-encryption.org/" (v1 or another version) */
    AGE_FORMAT_ARMORED, /* "-----BEGIN AGE ENCRYPTED FILE-----", after optional whitespace */
};

/* Looks at the first len bytes of a file (give AGE_DETECT_LEN, or the whole
 * file when it is shorter). Reads nothing else, never fails. */
enum age_format age_detect(const void *head, size_t len);

/* ---- recipients: who a new file is encrypted to ---- */

struct age_recipients;

/* An empty set in *out (the caller age_recipients_free()s it). */
int age_recipients_new(struct age_recipients **out, struct err *e);
/* Adds one "age1..." X25519 recipient. ERR_USAGE if it is malformed. */
int age_recipients_add(struct age_recipients *r, const char *recipient, struct err *e);
/* Adds every recipient of a recipients text (age -R): one per line; empty
 * lines and lines starting with '#' are skipped. name is used in messages
 * ("'name' line 3: ..."). On failure nothing of the text was added. */
int age_recipients_add_text(struct age_recipients *r, const char *text, size_t len,
                            const char *name, struct err *e);
/* The same from a file (at most 1 MiB). */
int age_recipients_add_file(struct age_recipients *r, const char *path, struct err *e);
/* Makes the file a passphrase file (age -p): an scrypt stanza, which must
 * be the only recipient, so this fails on a set that is not empty and
 * every later add fails. work_factor: log2(N), 1..AGE_SCRYPT_WORK_FACTOR_CAP,
 * or 0 for AGE_SCRYPT_WORK_FACTOR. The passphrase is copied. */
int age_recipients_add_passphrase(struct age_recipients *r, const char *passphrase, int work_factor,
                                  struct err *e);
size_t age_recipients_count(const struct age_recipients *r);
/* The "age1..." string of recipient i (0-based, in the order added); fails
 * with ERR_USAGE when recipient i is a passphrase. */
int age_recipients_get(const struct age_recipients *r, size_t i, char out[AGE_RECIPIENT_LEN + 1],
                       struct err *e);
/* Wipes and frees; NULL is a no-op. */
void age_recipients_free(struct age_recipients *r);

/* ---- identities: what may open a file ---- */

struct age_identities;

/* An empty set in *out, with the scrypt ceiling AGE_SCRYPT_MAX_WORK_FACTOR
 * (the caller age_identities_free()s it). */
int age_identities_new(struct age_identities **out, struct err *e);
/* Adds one "AGE-SECRET-KEY-1..." identity (uppercase, as age writes it).
 * ERR_USAGE if malformed; the message does not repeat the key. */
int age_identities_add(struct age_identities *ids, const char *secret_key, struct err *e);
/* Adds every identity of an identity text as age-keygen writes it: one
 * key per line; empty lines and lines starting with '#' are skipped; a
 * line ending in CRLF is accepted. At least one identity must be there.
 * On failure nothing of the text was added. */
int age_identities_add_text(struct age_identities *ids, const char *text, size_t len,
                            const char *name, struct err *e);
/* The same from a file (at most 1 MiB), read by fsutil_read_private():
 * a regular file that neither group nor others may access (ERR_REFUSED
 * otherwise, with the chmod to run), like every secret file of a0snap. */
int age_identities_add_file(struct age_identities *ids, const char *path, struct err *e);
/* Adds a passphrase (tried on scrypt stanzas only). Copied. */
int age_identities_add_passphrase(struct age_identities *ids, const char *passphrase,
                                  struct err *e);
/* The highest scrypt log2(N) that decryption will compute (a file asking
 * more fails with ERR_REFUSED before any work); 1..AGE_SCRYPT_WORK_FACTOR_CAP,
 * values outside are clamped. */
void age_identities_set_max_work_factor(struct age_identities *ids, int work_factor);
size_t age_identities_count(const struct age_identities *ids);
/* The "age1..." recipient of identity i (0-based, in the order added), as
 * age-keygen -y prints it. ERR_USAGE if identity i is a passphrase. */
int age_identities_recipient(const struct age_identities *ids, size_t i,
                             char out[AGE_RECIPIENT_LEN + 1], struct err *e);
/* Wipes and frees; NULL is a no-op. */
void age_identities_free(struct age_identities *ids);

/* ---- keys ---- */

/* A new X25519 key pair from the CSPRNG: the identity string and its
 * recipient. The caller wipes secret_key when done. */
int age_keygen(char secret_key[AGE_SECRET_KEY_LEN + 1], char recipient[AGE_RECIPIENT_LEN + 1],
               struct err *e);
/* The recipient of one identity string. */
int age_recipient_of(const char *secret_key, char recipient[AGE_RECIPIENT_LEN + 1], struct err *e);

/* ---- streams ---- */

/* Where output goes: the encrypted file (encryption) or the plaintext
 * (decryption). data is borrowed for the call. Returns 0, or -1 with e
 * filled to stop the stream (the error is passed on unchanged). */
typedef int (*age_output_fn)(void *ctx, const void *data, size_t len, struct err *e);

struct age_encrypt;

/* Starts a file to every recipient of r (at least one): draws the file key
 * and payload nonce, and writes the header and nonce through out before
 * returning. r is only read during the call. *enc is the caller's. */
int age_encrypt_new(struct age_encrypt **enc, const struct age_recipients *r, age_output_fn out,
                    void *ctx, struct err *e);
/* Encrypts len bytes; full 64 KiB chunks go out as they fill (the last
 * chunk is held back until more data or _finish() says whether it is the
 * final one). After a failure every further call fails. */
int age_encrypt_write(struct age_encrypt *enc, const void *data, size_t len, struct err *e);
/* Writes the final chunk (an empty one only when no data was written).
 * Once only; the stream is complete when it returns 0. */
int age_encrypt_finish(struct age_encrypt *enc, struct err *e);
/* Wipes the keys and frees; NULL is a no-op. Freeing without _finish()
 * leaves a truncated file, which every decryptor refuses. */
void age_encrypt_free(struct age_encrypt *enc);

/* Which stage a failed decryption failed at (the kinds of the C2SP age
 * test vectors). */
enum age_failure {
    AGE_FAIL_NONE,     /* no failure (yet) */
    AGE_FAIL_HEADER,   /* not age, unsupported, malformed header or nonce */
    AGE_FAIL_NO_MATCH, /* well formed, but no identity opens any stanza */
    AGE_FAIL_HMAC,     /* a file key was found but the header MAC is wrong */
    AGE_FAIL_PAYLOAD,  /* a chunk is damaged, missing, out of place, or extra */
    AGE_FAIL_OTHER,    /* the output callback failed, or out of memory */
};

struct age_decrypt;

/* A decryptor that opens the file with any of ids and sends the plaintext
 * to out. ids (at least one identity) is borrowed and must outlive the
 * decryptor. *dec is the caller's. */
int age_decrypt_new(struct age_decrypt **dec, const struct age_identities *ids, age_output_fn out,
                    void *ctx, struct err *e);
/* Takes the next len bytes of the file, as they come (any split). Calls
 * out for every chunk that they complete and that authenticates. After a
 * failure every further call fails. */
int age_decrypt_feed(struct age_decrypt *dec, const void *data, size_t len, struct err *e);
/* The file is over: authenticates and releases the final chunk, and fails
 * if the file ended early (no header, no final chunk). The plaintext is
 * complete and authentic only when this returns 0. */
int age_decrypt_finish(struct age_decrypt *dec, struct err *e);
enum age_failure age_decrypt_failure(const struct age_decrypt *dec);
/* Wipes the keys and frees; NULL is a no-op. */
void age_decrypt_free(struct age_decrypt *dec);

#endif
