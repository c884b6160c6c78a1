/*
 * url.h - the little URL knowledge the client needs: split an http(s) URL
 * into scheme/host/port, decide whether a host is loopback, and refuse
 * plain http anywhere else (TLS is mandatory off this machine).
 *
 * Pure string logic; no I/O.
 */
#ifndef A0SNAP_URL_H
#define A0SNAP_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct url_parts {
    bool https;
    char host[256]; /* without brackets for IPv6 literals */
    int port;       /* explicit port or the scheme's default */
};

/* Parses "http[s]://host[:port][/...]". Userinfo ("user@") is refused: it
 * would put credentials in logs. */
int url_parse(struct url_parts *out, const char *url, struct err *e);

/* 127.0.0.0/8, ::1 and "localhost". */
bool url_host_is_loopback(const char *host);

/* Fails unless url is https, or http to a loopback host. what names the URL
 * in the message ("API URL", "download URL"). */
int url_check_transport(const char *url, const char *what, struct err *e);

/* Appends s to out percent-encoded for use as one path segment or query
 * value (everything but unreserved characters is encoded, '|' and '/'
 * included, as go-auth0 does). Returns 0, or -1 if out is too small. */
int url_escape(char *out, size_t outlen, const char *s);

#endif
