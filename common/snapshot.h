/*
 * snapshot.h - the a0snap snapshot file: one tenant's users, sealed.
 *
 * A snapshot is gzip-compressed NDJSON (snapshots/README.md has the full
 * format): a header line, one line per user in strictly increasing
 * byte-wise user_id order (compact JSON, sorted keys), and a trailer line
 * with the user count, per-connection counts and the SHA-256 of every byte
 * before it. `zcat FILE | jq` reads it.
 *
 * The writer builds the file under a temp name in the target folder and
 * renames it into place only when the trailer is written and synced, so a
 * final name never holds a partial snapshot. The reader verifies as it
 * streams and reports the end (0) only once the whole file proved intact;
 * every refusal is ERR_SNAPSHOT with a one-line message naming the file,
 * the line and what is wrong.
 *
 * Memory is bounded and does not grow with the number of users: one line
 * (at most SNAPSHOT_MAX_LINE bytes; the header, which carries the tenant's
 * catalogue of connections, roles and organizations, may reach
 * SNAPSHOT_MAX_HEADER) plus fixed buffers.
 */
#ifndef A0SNAP_SNAPSHOT_H
#define A0SNAP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "err.h"

#define SNAPSHOT_FORMAT         "a0snap-snapshot"
#define SNAPSHOT_FORMAT_VERSION 2                   /* written; 1 and 2 are read */
#define SNAPSHOT_MAX_LINE       (4u * 1024 * 1024)  /* bytes per line, without the \n */
#define SNAPSHOT_MAX_HEADER     (64u * 1024 * 1024) /* the header line (it holds catalogues) */
#define SNAPSHOT_MAX_DEPTH      64                  /* JSON nesting; the user object is 1 */
#define SNAPSHOT_ID_LEN         32                  /* lowercase hex digits */
#define SNAPSHOT_GZIP_LEVEL     6

/* --- writing ----------------------------------------------------------- */

struct snapshot_writer;
struct edsig_key;
struct age_recipients;
struct age_identities;

/* What a snapshot is written with, beyond its header. */
struct snapshot_write_opts {
    bool force;                   /* replace an existing file */
    const struct edsig_key *sign; /* sign the snapshot (header "signature", trailer "signature") */
    /* Encrypt the file (the gzip stream) in the age format to these
     * recipients; borrowed for the writer's life. `age -d` gives back the
     * plain snapshot. */
    const struct age_recipients *encrypt_to;
};

/* What reading a snapshot may need: identities that open an encrypted one
 * (borrowed). A reader without them refuses an encrypted file and says
 * how to give them. */
struct snapshot_keys {
    const struct age_identities *identities;
};

/* The message a signature covers: the snapshot's id and the SHA-256 of
 * everything before the trailer (header and users), so the header's
 * source, time, tool, request, privacy and key fingerprint are signed with
 * the content. snapshots/README.md shows how to check it with openssl. */
#define SNAPSHOT_SIGNED_PREFIX "a0snap-snapshot-signature-v1\n"
/* Writes the message for id and sha256_hex into out (at least
 * SNAPSHOT_SIGNED_MAX bytes); returns its length. */
#define SNAPSHOT_SIGNED_MAX 160
size_t snapshot_signed_message(char *out, const char *id, const char *sha256_hex);

/* Starts a snapshot that will appear at final_path on commit: creates a
 * 0600 temp file in the same folder and writes the header line.
 *
 * header (borrowed, may be NULL for {}) is copied; the writer sets
 * "a0snap":"header", "format", "format_version", and "snapshot_id" and
 * "created_at" unless the caller set them (a caller's snapshot_id must be
 * 32 lowercase hex digits). Unless force, fails with ERR_REFUSED if
 * final_path exists (checked again, atomically, at commit). On failure
 * nothing is created and *out is NULL. */
int snapshot_writer_open(struct snapshot_writer **out, const char *final_path, const json_t *header,
                         bool force, struct err *e);
/* The same with options: with opts->sign the header gets "signature"
 * {"alg":"ed25519","fingerprint","public_key"} (replacing any the caller
 * gave) and the trailer the signature of snapshot_signed_message(). */
int snapshot_writer_open_with(struct snapshot_writer **out, const char *final_path,
                              const json_t *header, const struct snapshot_write_opts *opts,
                              struct err *e);

/* Appends one user (borrowed; not modified). Needs a non-empty string
 * "user_id" greater (strcmp) than the previous user's, no top-level
 * "a0snap" key, nesting <= SNAPSHOT_MAX_DEPTH and a serialized size <=
 * SNAPSHOT_MAX_LINE. The user is counted under identities[0].connection
 * ("" when absent). A refused user (ERR_SNAPSHOT) leaves the writer usable;
 * after a write failure (ERR_IO) only _abort() is left. Compression and
 * writing run in a background thread, a buffer behind, so a write failure
 * surfaces on a later append or at commit. w is not thread-safe: one
 * caller thread at a time. */
int snapshot_writer_append(struct snapshot_writer *w, const json_t *user, struct err *e);

/* Appends a user that is already serialized: line (len bytes, no \n) must
 * be what json_dumps(user, JSON_COMPACT | JSON_SORT_KEYS) gives, and
 * user_id / conn_name (NULL for "") must be that user's user_id and
 * identities[0].connection. The order, size, depth and "no newline" rules
 * are checked; the rest is trusted (the reader re-checks everything, so a
 * lying caller makes a snapshot that will not verify). */
int snapshot_writer_append_line(struct snapshot_writer *w, const char *user_id,
                                const char *conn_name, const char *line, size_t len, struct err *e);

/* Writes the trailer, finishes the gzip stream, fsyncs, renames the temp
 * file to final_path (refusing to replace a file that appeared meanwhile
 * unless force) and fsyncs the folder. Frees w either way; on failure the
 * temp file is removed and nothing is left at final_path. */
int snapshot_writer_commit(struct snapshot_writer *w, struct err *e);

/* Removes the temp file and frees w. NULL is a no-op. */
void snapshot_writer_abort(struct snapshot_writer *w);

/* The snapshot's id (32 hex digits), borrowed for w's lifetime. */
const char *snapshot_writer_id(const struct snapshot_writer *w);
/* Users appended so far. */
unsigned long long snapshot_writer_users(const struct snapshot_writer *w);

/* --- reading ----------------------------------------------------------- */

struct snapshot_reader;

/* Opens path and reads and checks the header line. *out is the caller's
 * (snapshot_reader_free()); NULL on failure. An encrypted (age) snapshot
 * is decrypted as it is read, with keys (may be NULL); nothing of it
 * reaches the disk. A file no identity opens fails with ERR_USAGE; one
 * that is damaged, tampered with or cut short with ERR_SNAPSHOT, at the
 * latest when the end is reached. */
int snapshot_reader_open(struct snapshot_reader **out, const char *path, struct err *e);
int snapshot_reader_open_keys(struct snapshot_reader **out, const char *path,
                              const struct snapshot_keys *keys, struct err *e);
/* Whether the file is encrypted (age). */
bool snapshot_reader_encrypted(const struct snapshot_reader *r);

/* The header object, borrowed for r's lifetime. */
json_t *snapshot_reader_header(const struct snapshot_reader *r);
/* The header's snapshot_id, borrowed for r's lifetime. */
const char *snapshot_reader_id(const struct snapshot_reader *r);

/* The next user: returns 1 and a NEW reference in *user (json_decref it);
 * 0 at the end, with *user NULL, once the trailer was read and verified
 * (id, counts, sha256, nothing after it); -1 on a refusal or read error.
 * After 0, further calls return 0; after -1 they fail again. The object's
 * members are in key order (as a snapshot's lines hold them; jansson's
 * loader would keep the line's order). */
int snapshot_reader_next(struct snapshot_reader *r, json_t **user, struct err *e);

/* Like snapshot_reader_next() but gives the user's line as stored (no \n):
 * *line is borrowed until the next call on r. It is checked exactly as
 * _next() checks it (it is parsed too, but no json_t is built: a pass that
 * only verifies, or reads the fields through snapshot_reader_parsed(),
 * allocates nothing per line). */
int snapshot_reader_next_line(struct snapshot_reader *r, const char **line, size_t *len,
                              struct err *e);

/* The user the last _next() or _next_line() call handed out, parsed:
 * borrowed until the next call on r; NULL when the last call did not
 * return 1 (or when out of memory: after _next_line() the json_t is built
 * here, once). A caller that copies lines as stored
 * (snapshot_writer_append_line) and needs their fields too reads both
 * without parsing a line twice. */
const json_t *snapshot_reader_current(struct snapshot_reader *r);

/* The canonical JSON parse (canonjson.h) of the user the last call handed
 * out, its nodes pointing into the line: borrowed until the next call on
 * r. NULL when the last call did not return 1, or when that line needed
 * jansson (a duplicate or escaped key, an escaped user_id, \u0000, ...):
 * the caller then reads snapshot_reader_current(). */
struct canonjson;
const struct canonjson *snapshot_reader_parsed(const struct snapshot_reader *r);

/* The trailer object, borrowed; NULL until _next() returned 0. */
json_t *snapshot_reader_trailer(const struct snapshot_reader *r);
/* The fingerprint of the key that signed the snapshot (edsig.h), borrowed;
 * NULL for an unsigned snapshot, and until _next() returned 0: a
 * signature is checked against the content with the trailer, and a
 * snapshot whose signature does not match is refused there. */
const char *snapshot_reader_signer(const struct snapshot_reader *r);
/* The SHA-256 (lowercase hex) of everything before the trailer, as
 * verified against it; NULL until _next() returned 0. A program that reads
 * a snapshot twice compares the two to know it read the same file. */
const char *snapshot_reader_sha256(const struct snapshot_reader *r);
/* The 1-based number of the last line read (the header is line 1). */
unsigned long snapshot_reader_line_number(const struct snapshot_reader *r);

/* NULL is a no-op. */
void snapshot_reader_free(struct snapshot_reader *r);

/* --- verifying --------------------------------------------------------- */

/* What a full pass over a snapshot found (a stack struct). */
struct snapshot_summary {
    char snapshot_id[SNAPSHOT_ID_LEN + 1];
    char sha256[65]; /* of everything before the trailer */
    unsigned long long users;
    unsigned long long bytes;      /* decompressed, trailer included */
    unsigned long long gzip_bytes; /* the file's size */
    json_t *header;                /* owned reference */
    json_t *connections;           /* owned: {"<connection>": users, ...} */
    char signer[65];               /* the signing key's fingerprint, "" if unsigned */
    bool encrypted;                /* the file is age-encrypted */
};

void snapshot_summary_init(struct snapshot_summary *s);
void snapshot_summary_release(struct snapshot_summary *s);

/* Reads the whole snapshot and checks everything the reader checks. On
 * success fills *out (init'ed first; release it); on failure *out is left
 * init'ed (empty). out may be NULL to only verify. */
int snapshot_verify(const char *path, struct snapshot_summary *out, struct err *e);
int snapshot_verify_keys(const char *path, const struct snapshot_keys *keys,
                         struct snapshot_summary *out, struct err *e);

/* --- helpers shared with export/import --------------------------------- */

/* identities[0].connection of a user, "" when missing; borrowed. */
const char *snapshot_user_connection(const json_t *user);

/* The deepest nesting of '{' / '[' in a JSON text (strings skipped), or
 * limit + 1 as soon as it exceeds limit. */
int snapshot_json_depth(const char *text, size_t len, int limit);

/* True if the JSON text nests deeper than SNAPSHOT_MAX_DEPTH. Fast for
 * the usual case: it counts brackets first and scans exactly only when
 * there are more than SNAPSHOT_MAX_DEPTH of them. */
bool snapshot_json_too_deep(const char *text, size_t len);

/* True if s is SNAPSHOT_ID_LEN lowercase hex digits. */
bool snapshot_id_valid(const char *s);

/* Copies at most ~80 bytes of s (len bytes) into out (size outsz >= 8) for
 * quoting in a message: control bytes become '?', a cut adds "...". A
 * hostile file must not be able to drive the terminal through an error. */
void snapshot_printable(char *out, size_t outsz, const char *s, size_t len);

#endif
