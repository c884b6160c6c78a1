/*
 * err.c - formatting for struct err. Messages are truncated, never
 * overflowed: a message longer than ERR_MSG_MAX keeps its beginning, which
 * names what failed.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = ERR_NONE;
    e->http_status = 0;
    e->msg[0] = '\0';
}

static void err_vset(struct err *e, enum err_code code, const char *fmt, va_list ap)
{
    e->code = code;
    e->http_status = 0;
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return -1;
    va_start(ap, fmt);
    err_vset(e, code, fmt, ap);
    va_end(ap);
    return -1;
}

int err_errno(struct err *e, enum err_code code, int errnum, const char *fmt, ...)
{
    char text[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return err_set(e, code, "%s: %s", text, strerror(errnum));
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    char head[ERR_MSG_MAX];
    size_t hlen, mlen;
    va_list ap;

    if (!e)
        return -1;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    /* Truncation keeps the context and as much of the cause as fits. */
    hlen = strlen(head);
    if (hlen > sizeof(e->msg) - 3)
        hlen = sizeof(e->msg) - 3;
    mlen = strlen(e->msg);
    if (mlen > sizeof(e->msg) - 3 - hlen)
        mlen = sizeof(e->msg) - 3 - hlen;
    memmove(e->msg + hlen + 2, e->msg, mlen);
    memcpy(e->msg, head, hlen);
    e->msg[hlen] = ':';
    e->msg[hlen + 1] = ' ';
    e->msg[hlen + 2 + mlen] = '\0';
    return -1;
}

int err_oom(struct err *e)
{
    return err_set(e, ERR_INTERNAL, "out of memory");
}

const char *err_code_name(enum err_code code)
{
    switch (code) {
    case ERR_NONE:
        return "none";
    case ERR_USAGE:
        return "usage";
    case ERR_IO:
        return "io";
    case ERR_NET:
        return "network";
    case ERR_API:
        return "api";
    case ERR_AUTH:
        return "auth";
    case ERR_SCOPE:
        return "scope";
    case ERR_SNAPSHOT:
        return "snapshot";
    case ERR_REFUSED:
        return "refused";
    case ERR_PARTIAL:
        return "partial";
    case ERR_INTERNAL:
        return "internal";
    }
    return "unknown";
}
