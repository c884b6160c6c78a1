/*
 * snapshots.h - a0snap-snapshots: a folder of snapshots (a catalogue, the
 * files `a0snap-export -o DIR/` names <domain>-<time>.ndjson.gz[.age])
 * listed, verified, compared, pruned and erased from.
 *
 *   snapshots_scan.c    which files of a folder are snapshots, and what one
 *                       full pass over each found (reads; never prints)
 *   snapshots_list.c    `list`
 *   snapshots_verify.c  `verify`
 *   snapshots_diff.c    `diff`: a0snap-import --diff's own code (import_diff)
 *   snapshots_prune.c   `prune`; the choice is snapshots_pick.c (pure)
 *   snapshots_erase.c   `erase`: check every snapshot, then rewrite those
 *                       that hold the person (snapshots_rewrite.c), then
 *                       the erasure log (snapshots_log.c); who the person
 *                       is in each file is snapshots_match.c (pure)
 *   snapshots_keys.c    the keys the options and the environment name
 *   snapshots_main.c    the program: options, one command, an exit code
 *
 * All of this but snapshots_main.c is the a0snap_snapshots library, which
 * the unit tests link. The commands print their results on stdout and
 * their warnings through log.h; errors flow up in a struct err.
 */
#ifndef A0SNAP_SNAPSHOTS_H
#define A0SNAP_SNAPSHOTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "snapshot.h"

#define SNAPSHOTS_MAX_LIST   256
#define SNAPSHOTS_LOG_NAME   "erasure-log.ndjson"
#define SNAPSHOTS_SIGNER_LEN 16 /* hex digits of a signer's fingerprint shown */

struct age_identities;
struct age_recipients;
struct edsig_key;
struct edsig_trusted;
struct pseudonym_key;

enum snapshots_cmd { CMD_NONE, CMD_LIST, CMD_VERIFY, CMD_DIFF, CMD_PRUNE, CMD_ERASE };

struct snapshots_opts {
    enum snapshots_cmd cmd;
    char **args; /* the command's arguments (folders, files), borrowed from argv */
    size_t n_args;
    bool json;
    bool dry_run;
    long keep_last;        /* prune; 0: not given */
    long keep_within_days; /* prune; 0: not given */
    bool include_damaged;  /* prune */
    const char *user_id;   /* erase */
    const char *email;     /* erase */
    const char *identity_file;
    const char *key_file; /* --pseudonym-key-file, else A0SNAP_PSEUDONYM_KEY */
    const char *sign_key;
    bool unsign;
    const char *encrypt_to[SNAPSHOTS_MAX_LIST];
    size_t n_encrypt_to;
};

/* --- keys (snapshots_keys.c) ------------------------------------------- */

/* What the options and the environment name, loaded once: the identity
 * (--identity or A0SNAP_IDENTITY_FILE, owner-only), the trusted signers
 * (A0SNAP_TRUSTED_KEYS), and for erase the pseudonym key, the signing key
 * and the --encrypt-to recipients. A key file that group or others may
 * read is refused (ERR_REFUSED). A stack struct: _release() it. */
struct snapshots_keys {
    struct age_identities *identities;
    struct edsig_trusted *trusted;
    struct snapshot_keys sk; /* points at identities */
    struct pseudonym_key *pseudonym;
    struct edsig_key *sign;
    struct age_recipients *encrypt_to;
};

int snapshots_keys_load(struct snapshots_keys *k, const struct snapshots_opts *o, struct err *e);
void snapshots_keys_release(struct snapshots_keys *k);
/* Adds --encrypt-to values ("age1..." keys, or files of them) to r. */
int snapshots_add_recipients(struct age_recipients *r, const char *const *values, size_t n,
                             struct err *e);

/* --- the files of a folder (snapshots_scan.c) --------------------------- */

/* One file that is, or claims by its name to be, a snapshot, and what a
 * full pass over it found. */
struct snap_entry {
    char *name; /* in its folder (the path as given for a file argument) */
    char *path;
    dev_t dev; /* what was read, so a later deletion can check it is the same file */
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    bool encrypted;   /* starts like an age file */
    bool locked;      /* encrypted, and no identity was given: not read */
    bool header_read; /* the first line was an a0snap header */
    bool intact;      /* read to its verified end */
    struct err why;   /* when !intact: the reader's refusal (its code tells the kind) */
    bool trusted;     /* intact and the signer rule (A0SNAP_TRUSTED_KEYS) holds */
    struct err trust_why;
    /* owned; NULL unless header_read. Without its "catalogue", which may be
     * megabytes (a tenant's organizations): a folder's worth of them would
     * not fit in memory, and no command needs them from here. */
    json_t *header;
    char snapshot_id[SNAPSHOT_ID_LEN + 1];
    char sha256[65]; /* when intact */
    char signer[65]; /* when intact and signed */
    unsigned long long users;
};

/* For erase's matching pass, when not NULL: begin() is called once the
 * folder's candidates are known (n of them); header() once a file's
 * header was read (s->header is set; i is its index in the folder), and
 * returns 1 to have its users visited, 0 not to; user() is then called
 * with each user (borrowed for the call). Any of them returning -1 (e
 * filled) stops everything. */
struct snap_visit {
    int (*begin)(void *ctx, size_t n, struct err *e);
    int (*header)(void *ctx, size_t i, struct snap_entry *s, struct err *e);
    int (*user)(void *ctx, const json_t *user, struct err *e);
    void *ctx;
};

struct snap_folder {
    char *dir;
    struct snap_entry *v; /* sorted by name */
    size_t n;
    size_t other_files; /* not snapshots by their name (or not regular files): not looked at */
};

/* True if a file of this name is taken for a snapshot: it ends in
 * ".ndjson.gz" or ".ndjson.gz.age" and does not start with '.' (the
 * export's temporary files do). */
bool snapshots_is_candidate(const char *name);

/* Reads every candidate of dir completely (keys may hold no identity:
 * encrypted files are then marked locked; trusted may be NULL). A file
 * that fails to verify is an entry with why filled, not a failure; the
 * call fails only when the folder cannot be read (ERR_IO), out of memory,
 * or when visit says so. f is init'ed here; release it either way. */
int snapshots_scan(struct snap_folder *f, const char *dir, const struct snapshot_keys *keys,
                   const struct edsig_trusted *trusted, const struct snap_visit *visit,
                   struct err *e);
/* One file, named by the caller (any name): the same pass (visit's
 * header() gets index 0, begin() is not called). */
int snapshots_probe(struct snap_entry *s, const char *path, const char *name,
                    const struct snapshot_keys *keys, const struct edsig_trusted *trusted,
                    const struct snap_visit *visit, struct err *e);
void snap_entry_release(struct snap_entry *s);
void snap_folder_release(struct snap_folder *f);

/* Facts of a header (NULL for unknown): source.domain, created_at, and
 * whether a privacy policy was applied (NULL: not recorded). */
const char *snap_source(const struct snap_entry *s);
const char *snap_created(const struct snap_entry *s);
/* "pseudonymised", "raw", or NULL when the header was not read. */
const char *snap_privacy(const struct snap_entry *s);

/* Why s did not verify (or is not trusted), without the "snapshot 'PATH'"
 * the reader puts in front: for lines that name the file already.
 * Borrowed from s. */
const char *snapshots_reason(const struct snap_entry *s);

/* The exit code class of the worst of several failures: a damaged
 * snapshot over a refusal over a usage problem over a file error. */
enum err_code snapshots_worse(enum err_code a, enum err_code b);

/* A printable copy of text taken from a file (snapshot_printable), in one
 * of a few rotating buffers: valid until the 8th next call. */
const char *snapshots_pr(const char *s);

/* A JSON string of text from a file or the command line (bytes that are
 * not UTF-8 become '?'); null for NULL. A new reference. */
json_t *snapshots_jstr(const char *s);
/* What list and verify say of one snapshot in --json (snapshots_json.c);
 * have_trusted: A0SNAP_TRUSTED_KEYS is set. A new reference. */
json_t *snapshots_entry_json(const struct snap_entry *s, bool have_trusted);

/* Takes the folder's lock (snapshots_lock.c) for a prune or an erase:
 * ERR_REFUSED when another one holds it. *fd is the caller's: give it to
 * _unlock(), which accepts -1. */
int snapshots_lock(const char *dir, int *fd, struct err *e);
void snapshots_unlock(int fd);

/* --- the commands ------------------------------------------------------- */

int snapshots_list(const struct snapshots_opts *o, const struct snapshots_keys *k, struct err *e);
int snapshots_verify(const struct snapshots_opts *o, const struct snapshots_keys *k, struct err *e);
int snapshots_diff(const struct snapshots_opts *o, const struct snapshots_keys *k, struct err *e);
int snapshots_prune(const struct snapshots_opts *o, const struct snapshots_keys *k, int64_t now,
                    struct err *e);
int snapshots_erase(const struct snapshots_opts *o, const struct snapshots_keys *k, int64_t now,
                    struct err *e);

/* --- erase's parts ------------------------------------------------------ */

struct erase_subject;

/* What snapshots_rewrite() did. */
struct rewrite_result {
    unsigned long long removed; /* user lines left out */
    unsigned long long kept;
    char snapshot_id[SNAPSHOT_ID_LEN + 1]; /* the new file's */
};

/* Makes the new header from the old one (borrowed): *out a new reference. */
struct rewrite_header {
    int (*fn)(void *ctx, const json_t *old, json_t **out, struct err *e);
    void *ctx;
};

/* Writes the snapshot at path again, in place and atomically: the header
 * make gives (from the one read; the writer gives it a new snapshot_id
 * unless it has one), then every user line byte for byte except the
 * subject's, then a new trailer, with wo's signing key and recipients (an
 * encrypted file is encrypted as it is written: its plaintext never
 * reaches the disk). The old file must still seal to expect_sha256
 * (checked before the new one replaces it), or the rewrite fails with
 * ERR_SNAPSHOT and the old file stays. On failure the old file is
 * untouched and no temporary file is left. */
int snapshots_rewrite(const char *path, const struct snapshot_keys *keys,
                      const struct rewrite_header *make, const struct snapshot_write_opts *wo,
                      const struct erase_subject *s, const char *expect_sha256,
                      struct rewrite_result *res, struct err *e);

/* Appends one record (a new reference, taken) as a line to the erasure log
 * DIR/SNAPSHOTS_LOG_NAME: created 0600 if missing (an existing log open to
 * group or others is made 0600), written with O_APPEND and fsync'ed, and
 * the folder fsync'ed when the log is new. */
int snapshots_log_append(const char *dir, json_t *record, struct err *e);

#endif
