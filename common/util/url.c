/* url.c - see url.h. */
#include "url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int url_parse(struct url_parts *out, const char *url, struct err *e)
{
    const char *p, *host, *host_end, *port_s = NULL;
    size_t hlen;

    memset(out, 0, sizeof(*out));
    if (strncasecmp(url, "https://", 8) == 0) {
        out->https = true;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        return err_set(e, ERR_USAGE, "unsupported URL '%s' (expected http:// or https://)", url);
    }
    host = p;
    host_end = p + strcspn(p, "/?#");
    if (memchr(host, '@', (size_t)(host_end - host)))
        return err_set(e, ERR_USAGE, "URL must not carry credentials");
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(host_end - host));
        if (!close)
            return err_set(e, ERR_USAGE, "bad IPv6 address in URL '%s'", url);
        hlen = (size_t)(close - host - 1);
        host++;
        if (close[1] == ':')
            port_s = close + 2;
    } else {
        const char *colon = memchr(host, ':', (size_t)(host_end - host));
        hlen = (size_t)((colon ? colon : host_end) - host);
        if (colon)
            port_s = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof(out->host))
        return err_set(e, ERR_USAGE, "bad host in URL '%s'", url);
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->port = out->https ? 443 : 80;
    if (port_s && port_s < host_end) {
        char *end;
        long port = strtol(port_s, &end, 10);
        if (end != host_end || port <= 0 || port > 65535)
            return err_set(e, ERR_USAGE, "bad port in URL '%s'", url);
        out->port = (int)port;
    }
    return 0;
}

bool url_host_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    if (strncmp(host, "127.", 4) == 0) {
        /* all four parts numeric */
        int dots = 0;
        for (const char *p = host; *p; p++) {
            if (*p == '.')
                dots++;
            else if (!isdigit((unsigned char)*p))
                return false;
        }
        return dots == 3;
    }
    return false;
}

int url_check_transport(const char *url, const char *what, struct err *e)
{
    struct url_parts u;

    if (url_parse(&u, url, e) < 0)
        return -1;
    if (!u.https && !url_host_is_loopback(u.host))
        return err_set(e, ERR_REFUSED,
                       "refusing plain http %s for '%s': TLS is required except on loopback", what,
                       u.host);
    return 0;
}

int url_escape(char *out, size_t outlen, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            if (n + 1 >= outlen)
                return -1;
            out[n++] = (char)c;
        } else {
            if (n + 3 >= outlen)
                return -1;
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (n >= outlen)
        return -1;
    out[n] = '\0';
    return 0;
}
