/*
 * pseudonym.h - keyed, repeatable pseudonyms of the right shape.
 *
 * Every pseudonym is derived from HMAC-SHA256(key, tag || 0x00 || input)
 * where tag names the shape ("a0snap/v1/email", ...) so that one input
 * gives unrelated outputs in different shapes, and input is normalised
 * first (trimmed; emails and usernames lower-cased; see docs/privacy.md).
 * The same key and input always give the same pseudonym, in any process;
 * without the key a pseudonym can be neither reversed nor recomputed.
 *
 * The key: at least PSEUDONYM_KEY_MIN_CHARS characters of text, from the
 * environment (PSEUDONYM_KEY_ENV) or from a file that only its owner may
 * access. Text made only of hex digits, of even length, is hex-decoded
 * (so `openssl rand -hex 32` gives a 32-byte key); any other text is used
 * as raw bytes. There is no built-in default key. The key bytes are fed to
 * the HMAC once and wiped (OPENSSL_cleanse); only the keyed HMAC state is
 * kept, and it is wiped when the key is freed. Nothing here prints, and no
 * message ever contains key material.
 *
 * A struct pseudonym_key is not safe to use from two threads at once (it
 * carries a scratch digest context): give each thread pseudonym_key_dup().
 */
#ifndef A0SNAP_PSEUDONYM_H
#define A0SNAP_PSEUDONYM_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

#define PSEUDONYM_KEY_ENV          "A0SNAP_PSEUDONYM_KEY"
#define PSEUDONYM_KEY_MIN_CHARS    32 /* of key text; hex text of 32 digits = 16 bytes */
#define PSEUDONYM_KEY_MIN_BYTES    16 /* for pseudonym_key_from_bytes() */
#define PSEUDONYM_KEY_FILE_MAX     4096
#define PSEUDONYM_FINGERPRINT_LEN  16            /* hex digits, without the NUL */
#define PSEUDONYM_INPUT_MAX        (1024 * 1024) /* longest value that is pseudonymised */
#define PSEUDONYM_USERNAME_MIN_LEN 12
#define PSEUDONYM_USERNAME_MAX_LEN 52 /* 'u' + 51 base32 digits = 255 bits of the HMAC */

struct pseudonym_key;

/* Loads the key from the environment variable PSEUDONYM_KEY_ENV. Fails with
 * ERR_USAGE if it is unset, empty or too short. */
int pseudonym_key_from_env(struct pseudonym_key **out, struct err *e);

/* Loads the key from a file (its text, trailing whitespace ignored). Fails
 * with ERR_REFUSED if the file is not a regular file or grants any
 * permission to group or others (checked on the opened file, so a swap
 * between check and read is not possible), ERR_IO if it cannot be read or
 * is larger than PSEUDONYM_KEY_FILE_MAX, ERR_USAGE if the key is too short. */
int pseudonym_key_from_file(struct pseudonym_key **out, const char *path, struct err *e);

/* Key text as described at the top (leading and trailing whitespace
 * ignored); origin names where it came from in messages. */
int pseudonym_key_from_text(struct pseudonym_key **out, const char *text, size_t len,
                            const char *origin, struct err *e);

/* Raw key bytes, at least PSEUDONYM_KEY_MIN_BYTES (for tests). */
int pseudonym_key_from_bytes(struct pseudonym_key **out, const void *key, size_t len,
                             struct err *e);

/* An independent copy of k (for another thread). */
int pseudonym_key_dup(struct pseudonym_key **out, const struct pseudonym_key *k, struct err *e);

/* PSEUDONYM_FINGERPRINT_LEN lowercase hex digits naming the key without
 * revealing it: the start of SHA-256("a0snap-key-fingerprint-v1" ||
 * HMAC(key, "a0snap/v1/fingerprint")). Borrowed, lives as long as k. */
const char *pseudonym_key_fingerprint(const struct pseudonym_key *k);

/* Wipes and frees. NULL is a no-op. */
void pseudonym_key_free(struct pseudonym_key *k);

/* HMAC-SHA256(key, msg), the primitive under every shape (exposed so tests
 * can check it against RFC 4231). */
int pseudonym_hmac(struct pseudonym_key *k, const void *msg, size_t len, unsigned char out[32],
                   struct err *e);

enum pseudonym_shape {
    PSEUDONYM_EMAIL,    /* u-<16 base32 = 80 bits>@<email_domain> */
    PSEUDONYM_NAME,     /* one to three words from a built-in list ("Alma Finch") */
    PSEUDONYM_USERNAME, /* 'u' + base32, username_length characters in all */
    PSEUDONYM_NICKNAME, /* an email: the local part of its email pseudonym; else a
                           lower-case name pseudonym joined with '.' */
    PSEUDONYM_PHONE,    /* phone_prefix + digits, 15 digits in all (E.164 maximum) */
    PSEUDONYM_URL,      /* url_prefix + 32 hex + ".png" */
    PSEUDONYM_OPAQUE,   /* 32 hex digits (128 bits) */
};

/* The shape's name in policy files ("email", "name", ...). */
const char *pseudonym_shape_name(enum pseudonym_shape s);
/* Looks a name up; false if unknown. */
bool pseudonym_shape_from_name(const char *name, enum pseudonym_shape *out);

/* What the shapes depend on besides the key. The strings are borrowed. */
struct pseudonym_opts {
    const char *email_domain; /* "example.com" */
    bool keep_email_domain;   /* pseudonymise the local part only */
    const char *phone_prefix; /* "+999": a code ITU reserves, never a subscriber */
    unsigned username_length; /* 15: the default username limit of a connection */
    const char *url_prefix;   /* "https://example.com/avatar/" */
};

/* Fills o with the defaults above. */
void pseudonym_opts_init(struct pseudonym_opts *o);

/* Checks used by policy parsing: a host name of at least two labels
 * (letters, digits, inner hyphens, each 1-63 characters, 253 in all); a
 * phone prefix "+" followed by 1-6 digits, the first not 0; a URL prefix
 * starting "https://" or "http://" of printable characters without spaces,
 * quotes or angle brackets, at most 200 characters. */
bool pseudonym_valid_domain(const char *d);
bool pseudonym_valid_phone_prefix(const char *p);
bool pseudonym_valid_url_prefix(const char *u);

/* Appends the pseudonym of in[0..len) in shape s to out. An empty (or
 * all-whitespace) input gives an empty output: there is nothing to hide.
 * Fails with ERR_USAGE if the input is longer than PSEUDONYM_INPUT_MAX, or
 * with out's own error if out is full; out is then left as it was. */
int pseudonym_make(struct pseudonym_key *k, enum pseudonym_shape s, const char *in, size_t len,
                   const struct pseudonym_opts *o, struct buf *out, struct err *e);

/* The common case, for `--pseudonym-of`: the email pseudonym of in. */
int pseudonym_email(struct pseudonym_key *k, const char *in, const char *domain, bool keep_domain,
                    struct buf *out, struct err *e);

/* Appends the 64 hex digits of HMAC(key, "a0snap/v1/hash" || 0 || in) (the
 * input exactly as given, not normalised) to out. */
int pseudonym_hash(struct pseudonym_key *k, const char *in, size_t len, struct buf *out,
                   struct err *e);

/* The normalised form of in for shape s, as hashed (for callers that need to
 * compare originals the way the pseudonyms do). Appends to out. */
int pseudonym_normalize(enum pseudonym_shape s, const char *in, size_t len, struct buf *out,
                        struct err *e);

/* True if s looks like an email address: one '@', something before it, and
 * a dot inside the part after it. */
bool pseudonym_looks_like_email(const char *s, size_t len);

#endif
