/*
 * err.h - the error that flows up from every function that can fail.
 *
 * The lowest layer that sees a failure writes the message (lowercase, no
 * full stop, the subject in single quotes, as git does); upper layers pass
 * the struct on unchanged or add context with err_prefix(). The code
 * classifies the failure so a program's main() can map it to an exit code
 * without parsing text.
 *
 * Nothing here prints: the programs print err.msg once, through log.h.
 */
#ifndef A0SNAP_ERR_H
#define A0SNAP_ERR_H

#include <stdbool.h>

enum err_code {
    ERR_NONE = 0,
    ERR_USAGE,    /* bad option, bad configuration, missing credential */
    ERR_IO,       /* local file or disk */
    ERR_NET,      /* transport: DNS, connect, TLS, reset, timeout */
    ERR_API,      /* the tenant answered with an error we can't ride out */
    ERR_AUTH,     /* token request refused, or 401 that a refresh did not fix */
    ERR_SCOPE,    /* the token lacks scopes the work needs */
    ERR_SNAPSHOT, /* snapshot damaged, unknown version, or inconsistent */
    ERR_REFUSED,  /* a safety rule refused the operation (protected target...) */
    ERR_PARTIAL,  /* the run finished but some items failed (see report) */
    ERR_INTERNAL, /* out of memory, or a bug */
};

#define ERR_MSG_MAX 1024

struct err {
    enum err_code code;
    int http_status; /* when the error came from an HTTP answer, else 0 */
    char msg[ERR_MSG_MAX];
};

/* Resets e to "no error". */
void err_clear(struct err *e);

/* Fills e with a printf-formatted message; always returns -1 so callers can
 * write `return err_set(e, ERR_IO, "cannot open '%s'", path);`. A NULL e is
 * allowed and ignored. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like err_set() with ": strerror(errnum)" appended. */
int err_errno(struct err *e, enum err_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Puts "context: " in front of the current message; the code is kept.
 * Returns -1. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Out of memory: the one failure with a fixed message. Returns -1. */
int err_oom(struct err *e);

/* A short name for a code ("usage", "io", ...), for JSON summaries. */
const char *err_code_name(enum err_code code);

#endif
