/*
 * snapshots_erase.h - what the parts of `a0snap-snapshots erase` share
 * (snapshots_erase.c runs it, snapshots_target.c says who the person is
 * in each snapshot, snapshots_erase_out.c prints and logs the outcome).
 *
 * An erase runs in two passes over the folder:
 *  1. check: every snapshot is read completely (verified, signatures
 *     checked), the person's lines are counted, and each snapshot that
 *     holds them is planned: signed again or not, encrypted to whom. A
 *     snapshot that cannot be opened, does not verify, was pseudonymised
 *     with another key, or cannot be sealed again as it was is a problem;
 *     any problem stops the run here, before anything is written.
 *  2. write: each planned snapshot is rewritten in place
 *     (snapshots_rewrite), read back, and the run is logged.
 */
#ifndef A0SNAP_SNAPSHOTS_ERASE_H
#define A0SNAP_SNAPSHOTS_ERASE_H

#include "buf.h"
#include "snapshots.h"
#include "snapshots_match.h"

struct age_recipients;
struct edsig_key;
struct pseudonym_key;

/* --- who the person is in one snapshot (snapshots_target.c) ------------- */

struct erase_target {
    struct erase_subject subj; /* points into the buffers below */
    struct buf uid, email, in_id;
    /* what may name the person in the header's "request": the values
     * given and their written forms; NULL-terminated */
    const char *needles[7];
};

void erase_target_init(struct erase_target *t);
void erase_target_release(struct erase_target *t);

/* Fills t for the snapshot whose header is h, the person given by
 * user_id or by email (the other NULL). A pseudonymised snapshot is
 * matched through key (the one given, which must be the snapshot's:
 * ERR_REFUSED otherwise, naming both fingerprints); ERR_REFUSED too when
 * its policy leaves no email to find a person by, ERR_SNAPSHOT when its
 * header's privacy record cannot be read back. */
int erase_target_for(struct erase_target *t, const json_t *h, const char *user_id,
                     const char *email, struct pseudonym_key *key, struct err *e);

/* The erasure log's name for the person: the hex HMAC-SHA256 under the
 * pseudonym key of "a0snap/v1/erasure" 0x00 by 0x00 value, where by is
 * "email" or "user_id" and value the email lower-cased without
 * surrounding blanks, or the user id as given. out: 65 bytes. */
int erase_subject_digest(struct pseudonym_key *key, const char *by, const char *value, char *out,
                         struct err *e);

/* --- one snapshot's part in the run ------------------------------------- */

struct erase_run;

struct erase_file {
    struct snap_entry *s;        /* in the folder */
    const struct erase_run *run; /* the run it is part of */
    struct erase_target t;
    struct err problem; /* why this snapshot stops the run; ERR_NONE: none */
    unsigned long long matches;
    size_t request_values; /* strings of the header's "request" that name the person */
    /* the plan, when the snapshot holds something of the person */
    bool rewrite;
    const struct edsig_key *sign;    /* sign again with this; NULL: unsigned */
    bool unsigned_now;               /* it was signed and --unsign drops the signature */
    const struct age_recipients *to; /* encrypt again to these; NULL: plain */
    struct age_recipients *own_to;   /* the recipients its header records (owned) */
    size_t n_to;
    /* the outcome */
    bool done;
    struct rewrite_result res;
    char sha256[65]; /* of the new file, when it was read back */
    struct err failure;
};

struct erase_run {
    const struct snapshots_opts *o;
    const struct snapshots_keys *k;
    struct snap_folder f;
    struct erase_file *files; /* one per f.v[] */
    size_t n_files;
    struct erase_file *cur; /* the file the check pass is reading */
    const char *by;         /* "user_id" or "email" */
    const char *value;      /* the option's value */
    char digest[65];
    char at[32]; /* the run's time, UTC */
    size_t n_rewrite, n_done, n_failed;
    unsigned long long users_removed;
};

/* --- output (snapshots_erase_out.c) ------------------------------------- */

/* The plan or the outcome, for people or as --json, on stdout. */
int erase_print(const struct erase_run *r, const char *log_path, struct err *e);
/* The erasure log's record of the run (a new reference). */
json_t *erase_log_record(const struct erase_run *r);

#endif
