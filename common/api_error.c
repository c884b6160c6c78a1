/* api_error.c - see api_error.h. */
#include "api_error.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *api_status_text(long status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

static const char *str_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Copies at most n printable characters of s into out. */
static void printable(char *out, size_t outlen, const char *s, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; i < n && j + 1 < outlen; i++)
        out[j++] = isprint((unsigned char)s[i]) ? s[i] : ' ';
    out[j] = '\0';
}

int api_error_set(struct err *e, const char *method, const char *path, long status,
                  const char *body, size_t len)
{
    char where[256], detail[600], snippet[96];
    const char *message = NULL, *code = NULL, *hint = "";
    enum err_code ec = ERR_API;
    json_t *root = NULL;
    size_t plen = strcspn(path, "?");

    if (plen > 200)
        plen = 200;
    snprintf(where, sizeof(where), "%s %.*s", method, (int)plen, path);
    if (body && len > 0)
        root = json_loadb(body, len, 0, NULL);
    if (json_is_object(root)) {
        message = str_member(root, "message");
        if (!message)
            message = str_member(root, "error_description");
        code = str_member(root, "errorCode");
        if (!code && str_member(root, "error_description"))
            code = str_member(root, "error");
        if (!message)
            message = str_member(root, "error");
    }
    if (message) {
        /* The answer's text reaches a terminal: no control characters. */
        char msg[400], cd[80];
        printable(msg, sizeof(msg), message, strlen(message));
        printable(cd, sizeof(cd), code ? code : "", code ? strlen(code) : 0);
        snprintf(detail, sizeof(detail), "%s%s%s%s", msg, code ? " (" : "", code ? cd : "",
                 code ? ")" : "");
    } else if (body && len > 0) {
        printable(snippet, sizeof(snippet), body, len < 80 ? len : 80);
        snprintf(detail, sizeof(detail), "answer is not JSON: '%s'", snippet);
    } else {
        snprintf(detail, sizeof(detail), "empty answer");
    }

    if (status == 401) {
        ec = ERR_AUTH;
        hint = "; check AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET and that the application is authorized "
               "for the Management API";
    } else if (status == 403) {
        if (message && strcasestr(message, "scope")) {
            ec = ERR_SCOPE;
            hint = "; grant the scope to the application (Auth0 dashboard: Applications > APIs > "
                   "Auth0 Management API > Machine to Machine Applications)";
        } else {
            ec = ERR_AUTH;
        }
    } else if (status == 429) {
        hint = "; the rate limit did not clear in time, try again later";
    }
    err_set(e, ec, "%s: HTTP %ld%s%s: %s%s", where, status, *api_status_text(status) ? " " : "",
            api_status_text(status), detail, hint);
    e->http_status = (int)status;
    json_decref(root);
    return -1;
}
