/*
 * dump_internal.h - what the dump_*.c files share. See dump.h.
 */
#ifndef A0SNAP_DUMP_INTERNAL_H
#define A0SNAP_DUMP_INTERNAL_H

#include "dump.h"

struct extsort;

struct dump_ctx {
    const struct dump_request *req;
    struct dump_result *res;
    struct tenant *tenant;
    json_t *catalogue;      /* borrowed from res */
    struct extsort *users;  /* key user_id, rec "<connection>\0<json line>" */
    struct extsort *grants; /* key user_id, rec a JSON grant */
    struct extsort *uniq;   /* key "<connection>\n<kind>:<value>" for collisions */
    char tmpdir[4096];
    size_t users_seen;
    size_t users_excluded;
    size_t grants_seen;
    const char *phase;
    /* How often the fast paths (canonjson.h) were taken and left: lines
     * parsed without jansson's lexer, users joined by splicing text. */
    size_t lines_fast, lines_slow;
    size_t joins_fast, joins_slow;
};

void dump_progress(struct dump_ctx *c, size_t done);

/* dump_catalogue.c */
int dump_catalogue(struct dump_ctx *c, struct err *e);
json_t *dump_find_connection(const struct dump_ctx *c, const char *name);

/* dump_job.c: runs one export job (connection_id NULL = all) and feeds
 * every user of its file to dump_ingest_line(). */
int dump_job_run(struct dump_ctx *c, const char *connection_id, struct err *e);

/* dump_users.c */
int dump_ingest_line(struct dump_ctx *c, const char *line, size_t len, struct err *e);
int dump_ingest_user(struct dump_ctx *c, json_t *user, struct err *e);
int dump_check_unique(struct dump_ctx *c, struct err *e);

/* dump_subset.c */
int dump_subset(struct dump_ctx *c, struct err *e);

/* dump_grants.c */
int dump_grants_bulk(struct dump_ctx *c, struct err *e);
int dump_grants_for_user(struct dump_ctx *c, const char *user_id, struct err *e);

/* dump_join.c */
int dump_join(struct dump_ctx *c, json_t *header, const char *path, bool force, struct err *e);

#endif
