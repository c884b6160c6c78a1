/*
 * snapshots_pick.h - which snapshots of a folder `a0snap-snapshots prune`
 * deletes. Pure: the caller says what it found in each file and what time
 * it is; nothing is read, deleted or printed here.
 *
 * The rule, per source tenant (the header's source.domain, never the file
 * name): a snapshot that verified is kept when it is one of the newest
 * keep_last of its tenant, or younger than keep_within_days; every other
 * one that verified is deleted. Either bound may be 0 (not given), not
 * both. Newest means the latest created_at; equal times are ordered by
 * file name, so the choice never depends on the order of a directory
 * listing.
 *
 * Never deleted: a snapshot without a readable created_at (it cannot be
 * dated); an encrypted one that could not be opened for lack of an
 * identity; one whose header could not be read at all (nothing proves it
 * is a snapshot). A snapshot whose header was read but that does not
 * verify is kept too, unless include_damaged: then it is deleted whatever
 * its age. Those that are kept do not count among the newest N.
 */
#ifndef A0SNAP_SNAPSHOTS_PICK_H
#define A0SNAP_SNAPSHOTS_PICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum pick_state {
    PICK_INTACT,     /* verified completely */
    PICK_DAMAGED,    /* the header was read; the rest does not verify */
    PICK_UNREADABLE, /* not even the header could be read */
    PICK_LOCKED,     /* encrypted, and no identity was given */
};

enum pick_verdict {
    PICK_KEEP_NEWEST,       /* one of the newest keep_last of its tenant */
    PICK_KEEP_RECENT,       /* younger than keep_within_days */
    PICK_KEEP_UNDATED,      /* verified, but its created_at cannot be read */
    PICK_KEEP_DAMAGED,      /* does not verify (include_damaged not given) */
    PICK_KEEP_LOCKED,       /* encrypted, no identity */
    PICK_KEEP_UNIDENTIFIED, /* its header could not be read */
    PICK_DELETE,            /* verified, and older than the rule keeps */
    PICK_DELETE_DAMAGED,    /* does not verify, and include_damaged */
};

struct pick_item {
    /* given */
    const char *name;  /* the file's name: orders equal times */
    const char *group; /* source tenant; "" when the header names none */
    bool dated;        /* created is known */
    int64_t created;   /* seconds since the epoch, UTC */
    enum pick_state state;
    /* decided */
    enum pick_verdict verdict;
};

struct pick_rule {
    long keep_last;        /* 0: not given */
    long keep_within_days; /* 0: not given */
    bool include_damaged;
};

/* Decides every item's verdict. ERR_USAGE when neither bound is given or
 * one is negative; ERR_INTERNAL when out of memory (verdicts then
 * undecided: the caller must not delete anything). */
int snapshots_pick(struct pick_item *items, size_t n, const struct pick_rule *rule, int64_t now,
                   struct err *e);

bool snapshots_pick_deletes(enum pick_verdict v);

/* A short name for the verdict, for --json: "newest", "recent",
 * "undated", "damaged", "locked", "unidentified", "old",
 * "damaged_deleted". */
const char *snapshots_pick_name(enum pick_verdict v);

/* Reads "YYYY-MM-DDTHH:MM:SSZ" (the header's created_at). False for
 * anything else, including impossible dates. */
bool snapshots_parse_time(const char *s, int64_t *out);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" (out: at least 21 bytes). */
void snapshots_format_time(int64_t t, char *out, size_t outsz);

#endif
