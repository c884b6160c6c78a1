/*
 * export_run.c - a0snap-export from credentials to a sealed snapshot:
 * configuration, privacy set-up, the dump (common/dump.h), the drift
 * check, the summary. Nothing is written at the output path until every
 * API call has succeeded, every check has passed and the snapshot is
 * complete; a failure leaves no file behind.
 */
#include "export.h"

#include "config.h"
#include "dump.h"
#include "fsutil.h"
#include "log.h"
#include "privacy.h"
#include "tenant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const export_scopes[] = {
    "read:users",
    "read:connections",
    "read:roles",
    "read:role_members",
    "read:organizations",
    "read:organization_members",
    "read:organization_member_roles",
    NULL,
};

struct export_run_ctx {
    const struct export_opts *o;
    struct export_summary *sum;
    struct privacy_ctx *privacy;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads the policy and the key (when the policy needs one). */
int export_privacy_setup(const struct export_opts *o, struct privacy_policy **policy,
                         struct pseudonym_key **key, struct err *e);

int export_privacy_setup(const struct export_opts *o, struct privacy_policy **policy,
                         struct pseudonym_key **key, struct err *e)
{
    *policy = NULL;
    *key = NULL;
    if (o->policy_path ? privacy_policy_load(policy, o->policy_path, e) < 0
                       : privacy_policy_default(policy, e) < 0)
        return -1;
    if (privacy_policy_needs_key(*policy)) {
        if (o->key_file ? pseudonym_key_from_file(key, o->key_file, e) < 0
                        : pseudonym_key_from_env(key, e) < 0)
            return -1;
    }
    return 0;
}

/* The progress line: phase, count, rate and, where the total is known
 * (the export job's percentage), an ETA. */
static void on_progress(void *ctx, const char *phase, size_t done)
{
    static const char *last_phase;
    static double started;
    double now = now_s(), secs;

    (void)ctx;
    if (phase != last_phase) {
        last_phase = phase;
        started = now;
    }
    secs = now - started;
    if (strcmp(phase, "download") == 0) {
        progress_update("downloading the export: %.1f MB (%.1f MB/s)", (double)done / 1e6,
                        secs > 0.5 ? (double)done / 1e6 / secs : 0.0);
    } else if (strcmp(phase, "export job") == 0) {
        if (done > 0 && done < 100 && secs > 1)
            progress_update("export job: %zu%% done, about %.0f s left", done,
                            secs * (double)(100 - done) / (double)done);
        else
            progress_update("export job: %zu%% done", done);
    } else {
        progress_update("%s: %zu (%.0f/s)", phase, done, secs > 0.5 ? (double)done / secs : 0.0);
    }
}

/* Before anything is written: metadata keys the policy does not mention
 * fail the run with --strict, and are listed as a warning without it. */
static int check_drift(void *ctx, struct err *e)
{
    struct export_run_ctx *r = ctx;
    const struct privacy_drift *paths = NULL;
    char list[600];
    size_t n, used = 0;

    if (!r->privacy)
        return 0;
    n = privacy_ctx_drift(r->privacy, &paths);
    r->sum->drift_keys = n;
    if (n == 0)
        return 0;
    list[0] = '\0';
    /* A warning names a few; --strict's refusal names as many as fit. */
    for (size_t i = 0; i < n && used + 4 < sizeof(list) && (r->o->strict || i < 6); i++) {
        int k = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", paths[i].path);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (r->o->strict)
        return err_set(e, ERR_REFUSED,
                       "--strict: %zu metadata key%s the policy does not mention: %s; review them "
                       "in the policy file (nothing was written)",
                       n, n == 1 ? "" : "s", list);
    log_warn("%zu metadata key%s not reviewed by the policy (kept as they are): %s%s", n,
             n == 1 ? "" : "s", list,
             n > 6 ? ", ... (--strict lists them and stops; review them in a policy file)" : "");
    return 0;
}

static json_t *header_extra(const struct export_opts *o, const struct privacy_policy *policy,
                            const struct pseudonym_key *key)
{
    json_t *h = json_object(), *req = json_object();
    struct err ignored;

    if (!h || !req) {
        json_decref(h);
        json_decref(req);
        return NULL;
    }
    json_object_set_new(h, "tool",
                        json_pack("{s:s,s:s}", "name", "a0snap-export", "version", A0SNAP_VERSION));
    if (policy) {
        json_t *desc = NULL;
        if (privacy_policy_describe(policy, key, &desc, &ignored) < 0) {
            json_decref(h);
            json_decref(req);
            return NULL;
        }
        json_object_set_new(h, "privacy", desc);
        /* Emails and queries name people: keep only how many there were. */
        json_object_set_new(req, "emails", json_array());
        json_object_set_new(req, "emails_count", json_integer((json_int_t)o->n_emails));
        json_object_set_new(req, "query", o->query ? json_string("[redacted]") : json_null());
    } else {
        json_object_set_new(h, "privacy",
                            json_pack("{s:b,s:s}", "applied", 0, "warning",
                                      "RAW PERSONAL DATA: exported with --no-anonymize"));
    }
    json_object_set_new(h, "request", req);
    return h;
}

int export_run(const struct export_opts *o, struct export_summary *sum, struct err *e)
{
    struct export_run_ctx rctx = {o, sum, NULL};
    struct tenant_config cfg;
    struct tenant_options topt;
    struct dump_request req;
    struct dump_result res;
    struct privacy_policy *policy = NULL;
    struct pseudonym_key *key = NULL;
    struct tenant *t = NULL;
    struct export_seal seal = {0};
    char path[4096];
    double t0 = now_s();
    int rc = -1;

    memset(&cfg, 0, sizeof(cfg));
    memset(&req, 0, sizeof(req));
    dump_result_init(&res);
    if (tenant_config_from_env(&cfg, o->domain, o->api_url, e) < 0)
        goto out;
    if (!o->no_anonymize) {
        if (export_privacy_setup(o, &policy, &key, e) < 0 ||
            privacy_ctx_new(&rctx.privacy, policy, key, e) < 0)
            goto out;
        /* salted digests of the originals, for the collision check */
        privacy_ctx_want_src(rctx.privacy, true);
    }
    if (export_seal_load(o, &seal, e) < 0 ||
        export_output_path(o, cfg.domain, seal.recipients != NULL, path, sizeof(path), e) < 0)
        goto out;
    snprintf(sum->path, sizeof(sum->path), "%s", path);
    sum->anonymized = rctx.privacy != NULL;

    memset(&topt, 0, sizeof(topt));
    topt.notify = log_notify;
    if (tenant_new(&t, &cfg, &topt, e) < 0)
        goto out;
    if (tenant_authenticate(t, e) < 0 || tenant_require_scopes(t, export_scopes, e) < 0)
        goto out;

    req.connections = o->connections;
    req.n_connections = o->n_connections;
    req.users = o->users;
    req.n_users = o->n_users;
    req.emails = o->emails;
    req.n_emails = o->n_emails;
    req.query = o->query;
    req.privacy = rctx.privacy;
    req.header = header_extra(o, policy, key);
    req.sort_mem = o->sort_mem;
    req.force = o->force;
    /* A subset is for reproducing one user's bug: the whole user, direct
     * permissions included; a whole tenant pays one request per user for
     * them, so only when asked. */
    req.with_permissions = o->with_permissions || o->n_users || o->n_emails || o->query;
    req.sign = seal.sign;
    req.encrypt_to = seal.recipients;
    req.progress = on_progress;
    req.before_write = check_drift;
    req.ctx = &rctx;
    if (!req.header) {
        err_oom(e);
        goto out;
    }
    if (export_seal_header(&seal, req.header, e) < 0)
        goto out;
    if (dump_tenant(t, &req, path, &res, e) < 0)
        goto out;
    sum->users = res.users;
    sum->role_grants = res.role_grants;
    sum->memberships = res.memberships;
    sum->dropped_grants = res.dropped_grants;
    sum->member_role_requests = res.member_role_requests;
    sum->permission_grants = res.permission_grants;
    sum->permission_requests = res.permission_requests;
    sum->excluded_by_policy = res.excluded_by_policy;
    sum->connections = json_array_size(json_object_get(res.catalogue, "connections"));
    sum->roles = json_array_size(json_object_get(res.catalogue, "roles"));
    sum->organizations = json_array_size(json_object_get(res.catalogue, "organizations"));
    sum->per_connection = json_incref(res.per_connection);
    snprintf(sum->snapshot_id, sizeof(sum->snapshot_id), "%s", res.snapshot_id);
    rc = 0;
out:
    progress_done();
    sum->seconds = now_s() - t0;
    if (t) {
        const struct tenant_stats *st = tenant_stats(t);
        log_verbose("%ld API requests, %ld retries, %ld rate-limited, %.1f s waiting", st->requests,
                    st->retries, st->rate_limited, st->waited_s);
        sum->api_requests = st->requests;
        sum->retries = st->retries;
    }
    json_decref(req.header);
    dump_result_release(&res);
    privacy_ctx_free(rctx.privacy);
    privacy_policy_free(policy);
    pseudonym_key_free(key);
    tenant_free(t);
    tenant_config_release(&cfg);
    export_seal_release(&seal);
    return rc;
}

void export_summary_release(struct export_summary *s)
{
    json_decref(s->per_connection);
    s->per_connection = NULL;
}
