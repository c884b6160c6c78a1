/*
 * age_impl.h - what the age_*.c files share; not for callers (they include
 * age.h). Layout of the module:
 *   age_crypto.c   HKDF, HMAC, ChaCha20-Poly1305, X25519 and scrypt over
 *                  OpenSSL 3 (the only file that includes OpenSSL's EVP);
 *   age_header.c   strict base64, stanzas, the header's text both ways;
 *   age_stanza.c   wrapping and unwrapping the file key: X25519, scrypt;
 *   age_keys.c     recipient and identity sets, key strings, key files,
 *                  key generation, format detection;
 *   age_encrypt.c  the encrypting stream;
 *   age_decrypt.c  the decrypting stream.
 */
#ifndef A0SNAP_AGE_IMPL_H
#define A0SNAP_AGE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "age.h"
#include "buf.h"
#include "err.h"

#define AGE_VERSION_LINE "age-encryption.org/v1"
#define AGE_FILE_KEY_LEN 16
#define AGE_KEY_LEN      32 /* X25519 keys, wrap keys, payload key, MAC */
#define AGE_TAG_LEN      16
#define AGE_NONCE_LEN    16 /* the payload nonce after the header */
#define AGE_SALT_LEN     16 /* scrypt salt */
#define AGE_HEADER_MAX   (1024 * 1024)
#define AGE_STANZA_ARGS  8 /* more arguments than this: malformed */
#define AGE_KEY_FILE_MAX (1024 * 1024)

/* ---- the key sets behind age.h's opaque types ---- */

enum age_key_type { AGE_KEY_X25519, AGE_KEY_SCRYPT };

struct age_key {
    enum age_key_type type;
    unsigned char secret[AGE_KEY_LEN]; /* X25519 identity only */
    unsigned char pub[AGE_KEY_LEN];    /* X25519 */
    char *passphrase;                  /* scrypt, owned, wiped when freed */
    int work_factor;                   /* scrypt recipient */
};

struct age_keyset {
    struct age_key *v;
    size_t n, cap;
};

struct age_recipients {
    struct age_keyset set;
};

struct age_identities {
    struct age_keyset set;
    int max_work_factor;
};

/* ---- age_crypto.c ---- */

int age_random(void *out, size_t len, struct err *e);
/* HKDF-SHA-256; salt may be NULL with salt_len 0 (the RFC's zero salt). */
int age_hkdf(unsigned char *out, size_t out_len, const void *ikm, size_t ikm_len, const void *salt,
             size_t salt_len, const char *info, struct err *e);
int age_hmac(unsigned char out[AGE_KEY_LEN], const unsigned char key[AGE_KEY_LEN], const void *data,
             size_t len, struct err *e);
/* X25519(scalar, point). Fails with ERR_SNAPSHOT when the result is all
 * zeros (a low-order point), ERR_INTERNAL for other OpenSSL failures. */
int age_x25519(unsigned char out[AGE_KEY_LEN], const unsigned char scalar[AGE_KEY_LEN],
               const unsigned char point[AGE_KEY_LEN], struct err *e);
/* The public key of an X25519 secret. */
int age_x25519_base(unsigned char out[AGE_KEY_LEN], const unsigned char scalar[AGE_KEY_LEN],
                    struct err *e);
int age_scrypt(unsigned char out[AGE_KEY_LEN], const char *passphrase, const unsigned char *salt,
               size_t salt_len, int log_n, struct err *e);

/* A reusable ChaCha20-Poly1305 context (one per stream). */
struct age_aead;
int age_aead_new(struct age_aead **out, struct err *e);
void age_aead_free(struct age_aead *a);
/* Seals len bytes of in into out (len + AGE_TAG_LEN bytes). */
int age_aead_seal(struct age_aead *a, const unsigned char key[AGE_KEY_LEN],
                  const unsigned char nonce[12], const void *in, size_t len, unsigned char *out,
                  struct err *e);
/* Opens len bytes (tag included, len >= AGE_TAG_LEN) into out (len -
 * AGE_TAG_LEN bytes). 1: authentic; 0: not (out is wiped); -1: failure
 * with e filled. */
int age_aead_open(struct age_aead *a, const unsigned char key[AGE_KEY_LEN],
                  const unsigned char nonce[12], const void *in, size_t len, unsigned char *out,
                  struct err *e);

/* Moves what fits of the caller's bytes (*p, *len of them) into buf, which
 * holds *have of its cap bytes; advances *p, *len and *have. The streams
 * collect nonces and chunks this way. */
static inline void age_fill(unsigned char *buf, size_t *have, size_t cap, const unsigned char **p,
                            size_t *len)
{
    size_t take = cap - *have < *len ? cap - *have : *len;

    memcpy(buf + *have, *p, take);
    *have += take;
    *p += take;
    *len -= take;
}

/* ---- age_header.c ---- */

/* Unpadded standard base64 (RFC 4648 section 4 without '='). */
size_t age_b64_len(size_t n);
void age_b64_encode(char *out, const void *in, size_t n); /* writes age_b64_len(n) chars, no NUL */
/* Strict decode: only the alphabet, no padding, zero leftover bits (so
 * each byte string has exactly one encoding). Returns the byte count in
 * *out_len; fails (-1, no message) if invalid or over out_cap. */
int age_b64_decode(const char *in, size_t n, unsigned char *out, size_t out_cap, size_t *out_len);

struct age_stanza {
    char *args[AGE_STANZA_ARGS]; /* args[0] is the type; NUL-terminated, owned */
    size_t nargs;
    unsigned char *body; /* owned; may be NULL when body_len is 0 */
    size_t body_len;
};

/* Frees what s owns (wiping the body) and zeroes it. */
void age_stanza_release(struct age_stanza *s);

struct age_header {
    struct age_stanza *stanzas; /* owned */
    size_t n;
    size_t mac_covers;              /* bytes from the start through "---" */
    unsigned char mac[AGE_KEY_LEN]; /* as read */
};

/* Parses a header: text is everything from "age-encryption.org/v1" through
 * the MAC line's \n. ERR_SNAPSHOT on any deviation from the spec's
 * grammar. On failure h is left released. */
int age_header_parse(struct age_header *h, const char *text, size_t len, struct err *e);
void age_header_release(struct age_header *h);

/* Appends the encoding of a stanza ("-> args\nbody lines\n"). */
int age_header_append_stanza(struct buf *b, const struct age_stanza *s, struct err *e);

/* ---- age_stanza.c ---- */

/* The stanza that wraps file_key to an X25519 or scrypt recipient. s is
 * filled (release it). */
int age_stanza_wrap(struct age_stanza *s, const struct age_key *recipient,
                    const unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e);
/* Tries one identity on one stanza: 1 with file_key filled when it opens,
 * 0 when the stanza is not for this identity (another type, another key,
 * wrong passphrase), -1 when the stanza is malformed or asks too much
 * (e filled; decryption must stop). */
int age_stanza_unwrap(const struct age_stanza *s, const struct age_key *identity,
                      int max_work_factor, unsigned char file_key[AGE_FILE_KEY_LEN], struct err *e);

/* ---- age_keys.c ---- */

void age_keyset_release(struct age_keyset *set);

#endif
