/*
 * log.c - program-side messages and the progress line. See log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *g_prog = "a0snap";
static enum log_level g_level = LOG_NORMAL;
static bool g_progress_on;
static bool g_progress_shown;
static struct timespec g_progress_last;

void log_init(const char *progname)
{
    g_prog = progname;
    g_progress_on = isatty(STDERR_FILENO) == 1;
}

void log_set_level(enum log_level level)
{
    g_level = level;
    if (level == LOG_QUIET)
        g_progress_on = false;
}

enum log_level log_get_level(void)
{
    return g_level;
}

const char *log_progname(void)
{
    return g_prog;
}

static void progress_clear(void)
{
    if (g_progress_shown) {
        fputs("\r\033[K", stderr);
        g_progress_shown = false;
    }
}

void log_line(enum log_level min, const char *kind, const char *fmt, ...)
{
    va_list ap;

    if (g_level < min)
        return;
    progress_clear();
    fprintf(stderr, "%s: %s", g_prog, kind);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void log_err(const struct err *e)
{
    log_error("%s", e->msg[0] ? e->msg : "unknown error");
}

void log_notify(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level == 0)
        log_info("%s", msg);
    else
        log_verbose("%s", msg);
}

void progress_enable(bool on)
{
    g_progress_on = on && isatty(STDERR_FILENO) == 1 && g_level != LOG_QUIET;
}

void progress_update(const char *fmt, ...)
{
    struct timespec now;
    va_list ap;
    long ms;

    if (!g_progress_on)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (now.tv_sec - g_progress_last.tv_sec) * 1000 +
         (now.tv_nsec - g_progress_last.tv_nsec) / 1000000;
    if (g_progress_shown && ms < 200)
        return;
    g_progress_last = now;
    fputs("\r\033[K", stderr);
    fprintf(stderr, "%s: ", g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
    g_progress_shown = true;
}

void progress_done(void)
{
    progress_clear();
}
