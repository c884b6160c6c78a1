/*
 * export_pseudonym.c - --pseudonym-of EMAIL_OR_ID: what a production user
 * becomes under the current key and policy, so support staff can find the
 * twin in staging.
 *
 * An email is transformed locally (its pseudonym depends on nothing else).
 * A user id is looked up in the tenant, so every pseudonymised field of
 * that user can be shown.
 */
#include "export.h"

#include "config.h"
#include "log.h"
#include "privacy.h"
#include "tenant.h"
#include "url.h"

#include <stdio.h>
#include <string.h>

int export_privacy_setup(const struct export_opts *o, struct privacy_policy **policy,
                         struct pseudonym_key **key, struct err *e);

static int fetch_user(const struct export_opts *o, const char *id, json_t **user, struct err *e)
{
    struct tenant_config cfg;
    struct tenant_options topt;
    struct tenant *t = NULL;
    char esc[1024], path[1200];
    int rc = -1;

    memset(&topt, 0, sizeof(topt));
    topt.notify = log_notify;
    if (tenant_config_from_env(&cfg, o->domain, o->api_url, e) < 0)
        return err_prefix(e, "looking up user '%s' needs the tenant", id);
    if (url_escape(esc, sizeof(esc), id) < 0) {
        err_set(e, ERR_USAGE, "user id too long");
        goto out;
    }
    snprintf(path, sizeof(path), "/users/%s", esc);
    if (tenant_new(&t, &cfg, &topt, e) < 0)
        goto out;
    if (tenant_call(t, "GET", path, NULL, user, e) < 0) {
        if (e->http_status == 404)
            err_set(e, ERR_USAGE, "no user with id '%s' in tenant '%s'", id, cfg.domain);
        goto out;
    }
    rc = 0;
out:
    tenant_free(t);
    tenant_config_release(&cfg);
    return rc;
}

int export_pseudonym_of(const struct export_opts *o, struct err *e)
{
    static const char *const shown[] = {"user_id",    "email",       "username", "name",
                                        "given_name", "family_name", "nickname", "phone_number",
                                        "picture",    NULL};
    struct privacy_policy *policy = NULL;
    struct pseudonym_key *key = NULL;
    struct privacy_ctx *ctx = NULL;
    json_t *user = NULL, *out = NULL;
    const char *who = o->pseudonym_of;
    int rc = -1, kept;

    if (o->no_anonymize)
        return err_set(e, ERR_USAGE, "--pseudonym-of needs the privacy policy, not --no-anonymize");
    if (export_privacy_setup(o, &policy, &key, e) < 0 || privacy_ctx_new(&ctx, policy, key, e) < 0)
        goto out;
    if (strchr(who, '@')) {
        user = json_pack("{s:s,s:s}", "user_id", "auth0|pseudonym-of", "email", who);
        if (!user) {
            err_oom(e);
            goto out;
        }
    } else if (fetch_user(o, who, &user, e) < 0) {
        goto out;
    }
    kept = privacy_apply(ctx, user, e);
    if (kept < 0)
        goto out;
    out = json_object();
    json_object_set_new(out, "input", json_string(who));
    json_object_set_new(out, "selected", json_boolean(kept == 1));
    if (key)
        json_object_set_new(out, "key_fingerprint", json_string(pseudonym_key_fingerprint(key)));
    for (const char *const *f = shown; *f; f++) {
        json_t *v = json_object_get(user, *f);
        if (v && !(strchr(who, '@') && strcmp(*f, "user_id") == 0))
            json_object_set(out, *f, v);
    }
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    rc = 0;
out:
    json_decref(user);
    json_decref(out);
    privacy_ctx_free(ctx);
    privacy_policy_free(policy);
    pseudonym_key_free(key);
    return rc;
}
