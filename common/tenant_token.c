/*
 * tenant_token.c - the client-credentials token: requested, cached, checked.
 *
 * The token is requested with a form-encoded client-credentials grant
 * (what Auth0's SDKs send) through the client's one retry loop
 * (tenant_exchange) and cached until TOKEN_LEEWAY_MS before it expires.
 * When the token is a JWT, its audience must be this tenant's API and its
 * scope claim says what the token may do, if the answer itself does not.
 */
#include "tenant_internal.h"

#include "api_error.h"
#include "buf.h"
#include "url.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_LEEWAY_MS    60000
#define TOKEN_MAX_RESPONSE (64 * 1024)

static int form_append(struct buf *b, const char *key, const char *value, struct err *e)
{
    size_t n = strlen(value) * 3 + 1;
    char *esc = malloc(n);
    int rc;

    if (!esc)
        return err_oom(e);
    url_escape(esc, n, value);
    rc = buf_appendf(b, e, "%s%s=%s", b->len ? "&" : "", key, esc);
    explicit_bzero(esc, n);
    free(esc);
    return rc;
}

/* Decodes the payload of a JWT, or returns NULL if it is not one. */
static json_t *jwt_payload(const char *token)
{
    const char *dot1 = strchr(token, '.'), *dot2;
    unsigned char *raw = NULL;
    char *b64 = NULL;
    json_t *j = NULL;
    size_t n, padded;
    int len;

    if (!dot1 || !(dot2 = strchr(dot1 + 1, '.')))
        return NULL;
    n = (size_t)(dot2 - dot1 - 1);
    padded = (n + 3) / 4 * 4;
    b64 = malloc(padded + 1);
    raw = malloc(padded + 1);
    if (!b64 || !raw)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char c = dot1[1 + i];
        b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    for (size_t i = n; i < padded; i++)
        b64[i] = '=';
    b64[padded] = '\0';
    len = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)padded);
    if (len < 0)
        goto out;
    while (len > 0 && raw[len - 1] == '\0')
        len--; /* EVP_DecodeBlock counts padding as zero bytes */
    j = json_loadb((const char *)raw, (size_t)len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
out:
    free(b64);
    free(raw);
    return j;
}

static int set_scopes(struct tenant *t, const char *scopes, struct err *e)
{
    size_t n = strlen(scopes) + 3;

    free(t->scopes);
    t->scopes = malloc(n);
    if (!t->scopes)
        return err_oom(e);
    snprintf(t->scopes, n, " %s ", scopes);
    return 0;
}

/* Checks what the token says about itself, when it says it: a JWT whose
 * audience is another tenant's API means the credentials belong elsewhere. */
static int check_token_claims(struct tenant *t, json_t *claims, struct err *e)
{
    char want[300];
    json_t *aud = json_object_get(claims, "aud");
    bool match = false;
    size_t i;
    json_t *v;

    if (!aud)
        return 0;
    snprintf(want, sizeof(want), "https://%s/api/v2/", t->cfg.domain);
    if (json_is_string(aud)) {
        match = strcmp(json_string_value(aud), want) == 0;
    } else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
                match = true;
        }
    } else {
        return 0;
    }
    if (!match)
        return err_set(e, ERR_REFUSED,
                       "the token obtained for '%s' is for another audience; the credentials do "
                       "not belong to this tenant",
                       t->cfg.domain);
    return 0;
}

static void forget_token(struct tenant *t)
{
    if (t->token) {
        explicit_bzero(t->token, strlen(t->token));
        free(t->token);
        t->token = NULL;
    }
}

/* Keeps tok as the token, valid for expires_in seconds from now. */
static int keep_token(struct tenant *t, const char *tok, json_int_t expires_in, struct err *e)
{
    int64_t life, leeway;

    forget_token(t);
    t->token = strdup(tok);
    if (!t->token)
        return err_oom(e);
    if (expires_in <= 0)
        expires_in = 86400;
    /* Refresh a minute early, or at 90% of a short lifetime. */
    life = (int64_t)expires_in * 1000;
    leeway = life > 10 * TOKEN_LEEWAY_MS ? TOKEN_LEEWAY_MS : life / 10;
    t->token_expires_ms = tenant_now_ms(t) + life - leeway;
    return 0;
}

static int fetch_token(struct tenant *t, struct err *e)
{
    struct http_response resp;
    struct exchange x;
    struct buf form, url;
    char audience[300];
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", NULL};
    json_t *root = NULL, *claims = NULL;
    const char *tok, *scope;
    int rc = -1;

    buf_init(&form, 8192);
    buf_init(&url, 2048);
    http_response_init(&resp);
    snprintf(audience, sizeof(audience), "https://%s/api/v2/", t->cfg.domain);
    if (form_append(&form, "grant_type", "client_credentials", e) < 0 ||
        form_append(&form, "client_id", t->cfg.client_id, e) < 0 ||
        form_append(&form, "client_secret", t->cfg.client_secret, e) < 0 ||
        form_append(&form, "audience", audience, e) < 0 ||
        buf_appendf(&url, e, "%s/oauth/token", t->cfg.api_url) < 0)
        goto out;

    memset(&x, 0, sizeof(x));
    x.method = "POST";
    x.path = "/oauth/token";
    x.url = buf_str(&url);
    x.url_shown = x.url;
    x.headers = headers;
    x.body = form.data;
    x.len = form.len;
    x.max_response = TOKEN_MAX_RESPONSE;
    x.timeout_s = 60;
    if (tenant_exchange(t, &x, &resp, e) < 0) {
        err_prefix(e, "cannot get a token for '%s'", t->cfg.domain);
        /* The credentials were refused (401, 403): not a tenant failure. */
        if (e->code == ERR_API && e->http_status >= 400 && e->http_status < 500)
            e->code = ERR_AUTH;
        goto out;
    }

    root = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
    tok = json_string_value(json_object_get(root, "access_token"));
    if (!tok || !*tok) {
        err_set(e, ERR_AUTH, "cannot get a token for '%s': the answer has no access_token",
                t->cfg.domain);
        goto out;
    }
    if (keep_token(t, tok, json_integer_value(json_object_get(root, "expires_in")), e) < 0)
        goto out;
    claims = jwt_payload(tok);
    if (claims && check_token_claims(t, claims, e) < 0)
        goto out;
    scope = json_string_value(json_object_get(root, "scope"));
    if (!scope && claims)
        scope = json_string_value(json_object_get(claims, "scope"));
    if (scope && set_scopes(t, scope, e) < 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    json_decref(claims);
    if (form.data)
        explicit_bzero(form.data, form.len);
    buf_release(&form);
    buf_release(&url);
    http_response_release(&resp);
    return rc;
}

int tenant_ensure_token(struct tenant *t, struct err *e)
{
    if (t->token && tenant_now_ms(t) < t->token_expires_ms)
        return 0;
    return fetch_token(t, e);
}

int tenant_authenticate(struct tenant *t, struct err *e)
{
    return tenant_ensure_token(t, e);
}

void tenant_token_release(struct tenant *t)
{
    forget_token(t);
    free(t->scopes);
    t->scopes = NULL;
}

bool tenant_scopes_known(const struct tenant *t)
{
    return t->scopes != NULL;
}

bool tenant_has_scope(const struct tenant *t, const char *scope)
{
    char needle[128];

    if (!t->scopes)
        return false;
    snprintf(needle, sizeof(needle), " %s ", scope);
    return strstr(t->scopes, needle) != NULL;
}

int tenant_require_scopes(const struct tenant *t, const char *const *scopes, struct err *e)
{
    char missing[700];
    size_t n = 0;
    int count = 0;

    if (!t->scopes)
        return 0;
    missing[0] = '\0';
    for (const char *const *s = scopes; *s; s++) {
        if (tenant_has_scope(t, *s))
            continue;
        n += (size_t)snprintf(missing + n, n < sizeof(missing) ? sizeof(missing) - n : 0, "%s%s",
                              count ? " " : "", *s);
        if (n >= sizeof(missing))
            n = sizeof(missing) - 1;
        count++;
    }
    if (count == 0)
        return 0;
    return err_set(e, ERR_SCOPE,
                   "the token for '%s' lacks %d scope%s this needs: %s; grant %s to the "
                   "application (Auth0 dashboard: Applications > APIs > Auth0 Management API > "
                   "Machine to Machine Applications)",
                   t->cfg.domain, count, count == 1 ? "" : "s", missing,
                   count == 1 ? "it" : "them");
}
