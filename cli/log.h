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

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Shown unless --quiet. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Shown only with --verbose. */
void log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
