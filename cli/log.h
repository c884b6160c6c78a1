/*
 * log.h - the one place the programs print messages (part of the a0snap_cli
 * library, which only the programs link; the a0snap_common library never
 * prints).
 *
 * Every line is prefixed with the program name, as git and curl do:
 *   a0snap-import: cannot open 'x.ndjson.gz': No such file or directory
 * All of it goes to stderr; stdout is kept for --json output.
 *
 * The progress line is drawn only when stderr is a terminal, redrawn in
 * place, and erased before any other message is printed.
 */
#ifndef A0SNAP_LOG_H
#define A0SNAP_LOG_H

#include <stdbool.h>

#include "err.h"

enum log_level { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_VERBOSE = 2 };

void log_init(const char *progname);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
const char *log_progname(void);

/* One line "PROG: KIND<message>" on stderr when the level set allows
 * lines of level min (LOG_QUIET: always). The four below are the ones to
 * use. */
void log_line(enum log_level min, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Always shown. */
#define log_error(...) log_line(LOG_QUIET, "", __VA_ARGS__)
/* Shown unless --quiet, as "warning: ...". */
#define log_warn(...) log_line(LOG_NORMAL, "warning: ", __VA_ARGS__)
/* Shown unless --quiet. */
#define log_info(...) log_line(LOG_NORMAL, "", __VA_ARGS__)
/* Shown only with --verbose. */
#define log_verbose(...) log_line(LOG_VERBOSE, "", __VA_ARGS__)

/* Prints e->msg as an error line. */
void log_err(const struct err *e);

/* A callback with the shape common/ uses to report retries and traces
 * (see tenant.h): ctx is ignored, level 0 = info, 1 = verbose. */
void log_notify(void *ctx, int level, const char *msg);

/* Progress: drawn on a terminal only, at most a few times a second. */
void progress_enable(bool on);
void progress_update(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_done(void);

#endif
