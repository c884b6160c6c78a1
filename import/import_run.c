/*
 * import_run.c - a0snap-import from a snapshot to a target tenant that
 * holds its users. See import.h for the stages. Every refusal (damaged
 * snapshot, wrong or protected target, missing scopes, key mismatch)
 * happens before the first write.
 */
#include "import.h"

#include "config.h"
#include "dump.h"
#include "extsort.h"
#include "fsutil.h"
#include "guard.h"
#include "log.h"
#include "privacy.h"
#include "snapshot.h"
#include "tenant.h"

#include <crypt.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const import_scopes[] = {
    "read:users",
    "create:users",
    "update:users",
    "read:connections",
    "read:roles",
    "read:role_members",
    "create:role_members",
    "read:organizations",
    "read:organization_members",
    "create:organization_members",
    "read:organization_member_roles",
    "create:organization_member_roles",
    NULL,
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *ctx, const char *phase, size_t done)
{
    (void)ctx;
    if (strcmp(phase, "download") == 0)
        progress_update("reading the target: %.1f MB", (double)done / 1e6);
    else
        progress_update("reading the target (%s): %zu", phase, done);
}

/* The policy to apply at import. A snapshot already pseudonymised is not
 * pseudonymised again unless a policy is named; a raw snapshot gets the
 * default policy unless --no-anonymize. A policy on top of a pseudonymised
 * snapshot must use the same key (fingerprint), unless --force-policy. */
static int setup_privacy(struct import_ctx *c, struct err *e)
{
    const struct import_opts *o = c->opts;
    json_t *priv = json_object_get(c->header, "privacy");
    bool applied = json_is_true(json_object_get(priv, "applied"));
    const char *fp = json_string_value(json_object_get(priv, "key_fingerprint"));

    if (o->no_anonymize) {
        if (!applied)
            log_warn("--no-anonymize: importing RAW personal data from the snapshot");
        return 0;
    }
    if (applied && !o->policy_path)
        return 0;
    if (o->policy_path ? privacy_policy_load(&c->policy, o->policy_path, e) < 0
                       : privacy_policy_default(&c->policy, e) < 0)
        return -1;
    if (privacy_policy_needs_key(c->policy) &&
        (o->key_file ? pseudonym_key_from_file(&c->key, o->key_file, e) < 0
                     : pseudonym_key_from_env(&c->key, e) < 0))
        return err_prefix(e, applied ? "the import policy needs a pseudonym key"
                                     : "the snapshot holds raw personal data and the default "
                                       "policy needs a pseudonym key (or pass --no-anonymize)");
    if (applied && fp && c->key && strcmp(fp, pseudonym_key_fingerprint(c->key)) != 0 &&
        !o->force_policy)
        return err_set(e, ERR_REFUSED,
                       "the snapshot was pseudonymised with another key (fingerprint %s, yours is "
                       "%s); applying this policy would mix two keys' pseudonyms (--force-policy "
                       "to do it anyway)",
                       fp, pseudonym_key_fingerprint(c->key));
    if (!applied)
        log_info("applying the %s privacy policy to this raw snapshot",
                 o->policy_path ? "given" : "default");
    return privacy_ctx_new(&c->privacy, c->policy, c->key, e);
}

static void release_privacy(struct import_ctx *c)
{
    privacy_ctx_free(c->privacy);
    privacy_policy_free(c->policy);
    pseudonym_key_free(c->key);
}

/* --test-password-env VAR: one bcrypt hash for every new user. */
static int setup_password(struct import_ctx *c, struct err *e)
{
    const char *var = c->opts->test_password_env, *pw;
    char salt[64];
    struct crypt_data cd;
    const char *hash;

    if (!var)
        return 0;
    pw = getenv(var);
    if (!pw || !*pw)
        return err_set(e, ERR_USAGE, "--test-password-env: '%s' is not set or empty", var);
    if (!crypt_gensalt_rn("$2b$", 10, NULL, 0, salt, sizeof(salt)))
        return err_set(e, ERR_INTERNAL, "cannot make a bcrypt salt");
    memset(&cd, 0, sizeof(cd));
    hash = crypt_r(pw, salt, &cd);
    if (!hash || hash[0] != '$')
        return err_set(e, ERR_INTERNAL, "cannot compute a bcrypt hash");
    c->password_hash = strdup(hash);
    explicit_bzero(&cd, sizeof(cd));
    return c->password_hash ? 0 : err_oom(e);
}

/* The hash is wiped before it is freed. */
static void release_password(struct import_ctx *c)
{
    if (!c->password_hash)
        return;
    explicit_bzero(c->password_hash, strlen(c->password_hash));
    free(c->password_hash);
}

static int open_sorts(struct import_ctx *c, struct err *e)
{
    size_t mem = c->opts->sort_mem ? c->opts->sort_mem : (size_t)32 << 20;
    struct extsort **all[] = {&c->want,     &c->sidx,    &c->tidx,      &c->conf,
                              &c->outcomes, &c->patches, &c->deletes,   &c->jobof,
                              &c->creates,  &c->calls,   &c->deferrals, &c->holders};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (extsort_new(all[i], c->tmpdir, i == 0 ? mem : mem / 8 + 1, e) < 0)
            return -1;
    /* two grant windows of five sorts each */
    if (import_grants_new(c, mem / 16 + 1, e) < 0)
        return -1;
    return fsutil_anon_tmpfile(&c->records_fd, c->tmpdir, e);
}

static void close_sorts(struct import_ctx *c)
{
    struct extsort *all[] = {c->want,    c->sidx,  c->tidx,    c->conf,  c->outcomes,  c->patches,
                             c->deletes, c->jobof, c->creates, c->calls, c->deferrals, c->holders};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        extsort_free(all[i]);
    import_grants_free(c);
    if (c->records_fd >= 0)
        close(c->records_fd);
}

static void default_report(char *out, size_t outlen, const char *snapshot, const char *target,
                           bool plan)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    size_t n;

    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, outlen, "%s", snapshot);
    n = strlen(out);
    if (n > 10 && strcmp(out + n - 10, ".ndjson.gz") == 0)
        out[n - 10] = '\0';
    n = strlen(out);
    snprintf(out + n, outlen - n, ".%s-%s-%s.report.ndjson", plan ? "plan" : "import", target,
             stamp);
    for (char *p = out + n; *p; p++)
        if (*p == ':' || *p == '/')
            *p = '_';
}

/* Which snapshot was applied: "what was copied into which tenant, from
 * which archive" answered from the report alone. */
static json_t *snapshot_json(const struct import_ctx *c)
{
    const char *base = strrchr(c->opts->snapshot, '/');

    return json_pack("{s:s?,s:s,s:s,s:s?,s:b}", "id",
                     json_string_value(json_object_get(c->header, "snapshot_id")), "file",
                     base ? base + 1 : c->opts->snapshot, "sha256", c->snapshot_sha256, "signer",
                     c->snapshot_signer[0] ? c->snapshot_signer : NULL, "encrypted",
                     c->snapshot_encrypted);
}

static json_t *summary_json(struct import_ctx *c, const char *target, double seconds)
{
    const struct tenant_stats *st = c->tenant ? tenant_stats(c->tenant) : NULL;
    json_t *j = import_counts_json(&c->n);
    json_t *more = json_pack(
        "{s:s,s:s,s:s,s:s?,s:o,s:I,s:I,s:f,s:I,s:I}", "a0snap", "import-summary", "mode",
        c->opts->mode == MODE_PLAN ? "plan" : "import", "target", target, "snapshot_id",
        json_string_value(json_object_get(c->header, "snapshot_id")), "snapshot", snapshot_json(c),
        "passwords_not_copied", (json_int_t)0, "prune_candidates", (json_int_t)c->prune_candidates,
        "seconds", seconds, "api_requests", (json_int_t)(st ? st->requests : 0), "retries",
        (json_int_t)(st ? st->retries : 0));

    if (!j || !more || json_object_update_new(j, more) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* One event of the journal: {"event", "snapshot_id", "target"}. */
static int journal_event(struct import_ctx *c, const char *event, struct err *e)
{
    return import_journal_write(
        c,
        json_pack("{s:s,s:s?,s:s}", "event", event, "snapshot_id",
                  json_string_value(json_object_get(c->header, "snapshot_id")), "target",
                  c->opts->target),
        e);
}

/* 1. The snapshot must prove intact before anything else happens; then
 * the refusals that need nothing but the snapshot and the environment. */
static int check_snapshot(struct import_ctx *c, struct snapshot_summary *snap, struct err *e)
{
    const struct import_opts *o = c->opts;
    const char *source;

    log_verbose("verifying '%s'", o->snapshot);
    if (snapshot_verify_keys(o->snapshot, o->keys, snap, e) < 0 ||
        import_check_signer(o, o->snapshot, snap->signer, e) < 0)
        return -1;
    c->header = json_incref(snap->header);
    memcpy(c->snapshot_sha256, snap->sha256, sizeof(c->snapshot_sha256));
    memcpy(c->snapshot_signer, snap->signer, sizeof(c->snapshot_signer));
    c->snapshot_encrypted = snap->encrypted;
    if (o->prune && json_is_true(json_object_get(json_object_get(c->header, "request"), "subset")))
        return err_set(e, ERR_USAGE,
                       "--prune needs a snapshot of whole connections; this one holds a subset "
                       "(--user/--email/--query), so every other user would look deleted");
    source = json_string_value(json_object_get(json_object_get(c->header, "source"), "domain"));
    if (guard_target(o->target, getenv("AUTH0_DOMAIN"), source, getenv("A0SNAP_PROTECTED_TENANTS"),
                     o->allow_source, e) < 0)
        return -1;
    if (o->test_password_env && guard_domain_listed(o->target, getenv("A0SNAP_PROTECTED_TENANTS")))
        return err_set(e, ERR_REFUSED, "--test-password-env is never used on a protected tenant");
    return 0;
}

/* 2. The target: credentials, token, scopes. */
static int connect_target(struct import_ctx *c, struct tenant_config *cfg, struct err *e)
{
    const struct import_opts *o = c->opts;
    struct tenant_options topt;

    if (tenant_config_from_env(cfg, o->target, o->api_url, e) < 0)
        return -1;
    memset(&topt, 0, sizeof(topt));
    topt.notify = log_notify;
    if (tenant_new(&c->tenant, cfg, &topt, e) < 0)
        return -1;
    if (tenant_authenticate(c->tenant, e) < 0 ||
        tenant_require_scopes(c->tenant, import_scopes, e) < 0)
        return -1;
    if (o->on_conflict == CONFLICT_REPLACE || o->prune) {
        static const char *const del[] = {"delete:users", NULL};
        if (tenant_require_scopes(c->tenant, del, e) < 0)
            return -1;
    }
    if (o->create_missing_roles && o->mode != MODE_PLAN) {
        static const char *const mk[] = {"create:roles", NULL};
        if (tenant_require_scopes(c->tenant, mk, e) < 0)
            return err_prefix(e, "--create-missing-roles");
    }
    return 0;
}

/* The temp folder (the report's, else the snapshot's) and the report. */
static void choose_paths(struct import_ctx *c, char *report, size_t len)
{
    const struct import_opts *o = c->opts;
    char copy[4096];

    snprintf(copy, sizeof(copy), "%s", o->report ? o->report : o->snapshot);
    snprintf(c->tmpdir, sizeof(c->tmpdir), "%s", dirname(copy));
    if (o->report)
        snprintf(report, len, "%s", o->report);
    else
        default_report(report, len, o->snapshot, o->target, o->mode == MODE_PLAN);
}

/* An interrupted run's jobs finish before this one plans anything; then
 * this run's journal starts. */
static int start_journal(struct import_ctx *c, const char *report, struct err *e)
{
    char jpath[4200];

    snprintf(jpath, sizeof(jpath), "%s.journal", report);
    if (c->opts->resume) {
        if (import_journal_resume(c, jpath, e) < 0)
            return -1;
    } else if (fsutil_exists(jpath)) {
        log_warn("'%s' says an earlier run was interrupted; this run redoes what is still "
                 "needed (--resume would first wait for that run's jobs)",
                 jpath);
        unlink(jpath);
    }
    if (import_journal_open(c, jpath, e) < 0)
        return -1;
    return journal_event(c, "start", e);
}

/* Where the target's state goes: --backup, else a temp file. */
static int target_dump_path(struct import_ctx *c, struct err *e)
{
    int fd;

    if (c->opts->backup) {
        snprintf(c->target_dump, sizeof(c->target_dump), "%s", c->opts->backup);
        return 0;
    }
    if ((size_t)snprintf(c->target_dump, sizeof(c->target_dump), "%.4000s/.a0snap-target-XXXXXX",
                         c->tmpdir) >= sizeof(c->target_dump)) {
        c->target_dump[0] = '\0';
        return err_set(e, ERR_USAGE, "path too long");
    }
    fd = mkstemp(c->target_dump);
    if (fd < 0) {
        err_errno(e, ERR_IO, errno, "cannot create a temp file in '%s'", c->tmpdir);
        c->target_dump[0] = '\0';
        return -1;
    }
    close(fd);
    return 0;
}

/* Whether the run covers source connection name: chosen by
 * --only-connection (all without it) and held by the snapshot (a snapshot
 * of some connections covers only those). */
static bool covers(const struct import_ctx *c, const char *name)
{
    const struct import_opts *o = c->opts;
    json_t *req_conns = json_object_get(json_object_get(c->header, "request"), "connections");
    bool chosen = o->n_only_connection == 0;
    json_t *item;
    size_t i;

    for (i = 0; i < o->n_only_connection; i++)
        if (strcmp(o->only_connection[i], name) == 0)
            chosen = true;
    if (json_array_size(req_conns) > 0) {
        bool listed = false;
        json_array_foreach(req_conns, i, item)
        {
            if (json_is_string(item) && strcmp(json_string_value(item), name) == 0)
                listed = true;
        }
        chosen = chosen && listed;
    }
    return chosen;
}

/* The target connections the run covers (and so what --prune may touch):
 * the connections users are written to, database and passwordless. */
static void cover_connections(struct import_ctx *c)
{
    json_t *v;
    const char *k;

    json_object_foreach(c->conn_map, k, v)
    {
        const char *strategy = json_string_value(json_object_get(v, "strategy"));
        if (covers(c, k) && strategy &&
            (strcmp(strategy, "auth0") == 0 || strcmp(strategy, "email") == 0 ||
             strcmp(strategy, "sms") == 0))
            json_object_set_new(c->covered, json_string_value(json_object_get(v, "name")),
                                json_true());
    }
    if (c->opts->convert_social_to)
        json_object_set_new(c->covered, c->opts->convert_social_to, json_true());
}

static int collect_api(void *ctx, json_t *item, struct err *e)
{
    json_t *apis = ctx, *scopes = json_array(), *sc;
    const char *id = json_string_value(json_object_get(item, "identifier"));
    size_t i;

    if (!scopes)
        return err_oom(e);
    json_array_foreach(json_object_get(item, "scopes"), i, sc)
    {
        json_t *v = json_object_get(sc, "value");
        if (json_is_string(v))
            json_array_append(scopes, v);
    }
    if (!id) {
        json_decref(scopes);
        return 0;
    }
    return json_object_set_new(apis, id, scopes) < 0 ? err_oom(e) : 0;
}

/* The target's APIs and their scopes: a direct permission can only be
 * granted on an API and scope the target has. */
static int read_apis(struct import_ctx *c, struct err *e)
{
    static const char *const need[] = {"read:resource_servers", NULL};

    c->apis = json_object();
    if (!c->apis)
        return err_oom(e);
    if (tenant_require_scopes(c->tenant, need, e) < 0)
        return err_prefix(e, "the snapshot holds direct permissions");
    if (tenant_list_offset(c->tenant, "/resource-servers", "resource_servers", collect_api, c->apis,
                           e) < 0)
        return err_prefix(e, "listing the target's APIs");
    return 0;
}

/* 3. What the target holds now, and how the snapshot's names map to it. */
static int read_target(struct import_ctx *c, struct dump_result *dres, struct err *e)
{
    const struct import_opts *o = c->opts;
    struct dump_request dreq;

    if (target_dump_path(c, e) < 0)
        return -1;
    memset(&dreq, 0, sizeof(dreq));
    dreq.header = NULL;
    dreq.force = !o->backup;
    dreq.progress = on_progress;
    dreq.sort_mem = o->sort_mem;
    dreq.tmpdir = c->tmpdir;
    /* The target's direct permissions only matter when the snapshot has
     * its users': one request a user. */
    c->with_permissions =
        json_is_true(json_object_get(json_object_get(c->header, "request"), "permissions"));
    dreq.with_permissions = c->with_permissions;
    if (c->with_permissions && read_apis(c, e) < 0)
        return -1;
    log_info("reading the current users of '%s'", o->target);
    if (dump_tenant(c->tenant, &dreq, c->target_dump, dres, e) < 0)
        return err_prefix(e, "reading target '%s'", o->target);
    progress_done();
    c->target_cat = json_incref(dres->catalogue);
    c->n.member_role_requests = dres->member_role_requests;
    if (import_map_build(c, json_object_get(c->header, "catalogue"), c->target_cat, e) < 0)
        return -1;
    cover_connections(c);
    return 0;
}

/* The --prune guard, before anything is written: a plan only warns. */
static int check_prune(struct import_ctx *c, struct err *e)
{
    const struct import_opts *o = c->opts;
    size_t limit = o->max_deletes >= 0 ? (size_t)o->max_deletes : c->target_users_in_scope / 10;

    if (!o->prune || c->prune_deletes <= limit)
        return 0;
    if (o->mode == MODE_PLAN) {
        log_warn("--prune would delete %zu users, more than --max-deletes %zu%s: an "
                 "import with these options stops before writing anything",
                 c->prune_deletes, limit, o->max_deletes >= 0 ? "" : " (10% of the target)");
        return 0;
    }
    return err_set(e, ERR_REFUSED,
                   "--prune would delete %zu of the %zu target users in the covered "
                   "connections, more than --max-deletes %zu%s; nothing was written (--plan "
                   "lists them)",
                   c->prune_deletes, c->target_users_in_scope, limit,
                   o->max_deletes >= 0 ? "" : " (default: 10%)");
}

/* 5. Apply. Role and membership changes start while the jobs run (between
 * polls) and finish after the PATCHes. */
static int apply(struct import_ctx *c, struct err *e)
{
    /* Users created by POST /users exist before the jobs, when the grant
     * work starts; links and permissions need the jobs' users. */
    if (journal_event(c, "apply", e) < 0 || import_apply_deletes(c, e) < 0 ||
        import_apply_releases(c, e) < 0 ||
        import_apply_calls(c, c->creates, "users created", e) < 0 || import_run_jobs(c, e) < 0 ||
        import_apply_patches(c, e) < 0 ||
        import_apply_calls(c, c->calls, "links and permissions", e) < 0 ||
        import_grants_drain(c, e) < 0)
        return -1;
    progress_done();
    return 0;
}

/* 6. Report. Some users failed: ERR_PARTIAL once the report is written. */
static int report(struct import_ctx *c, const char *path, double seconds, struct err *e)
{
    const struct import_opts *o = c->opts;
    bool plan = o->mode == MODE_PLAN;
    json_t *summary = summary_json(c, o->target, seconds);
    struct import_tally *tally = NULL;
    int rc = -1;

    if (!summary)
        return err_oom(e);
    if (plan && !o->json && !(tally = import_tally_new())) {
        err_oom(e);
        goto out;
    }
    if (import_write_report(c, path, summary, tally, e) < 0)
        goto out;
    log_info("report: '%s'", path);
    if (tally)
        import_print_plan(c, tally, path, stdout);
    import_journal_finish(c, true);
    if (!plan && c->n.failed > 0) {
        err_set(e, ERR_PARTIAL, "%zu user%s failed (see '%s')", c->n.failed,
                c->n.failed == 1 ? "" : "s", path);
        goto out;
    }
    rc = 0;
out:
    import_tally_free(tally);
    json_decref(summary);
    return rc;
}

static void ctx_init(struct import_ctx *c, const struct import_opts *o)
{
    memset(c, 0, sizeof(*c));
    c->opts = o;
    c->records_fd = -1;
    buf_init(&c->records_buf, (size_t)SNAPSHOT_MAX_LINE * 2);
    c->journal_fd = -1;
    c->target_dump[0] = '\0';
}

static void ctx_release(struct import_ctx *c)
{
    json_t *owned[] = {
        c->apis,     c->api_map,     c->target_secondaries, c->snapshot_holds, c->linked_present,
        c->header,   c->target_cat,  c->conn_map,           c->role_map,       c->org_map,
        c->covered,  c->unmapped,    c->planned_deletes,    c->movers,         c->releases,
        c->failures, c->unlink_first};

    if (c->target_dump[0] && !c->opts->backup)
        unlink(c->target_dump);
    import_journal_finish(c, false);
    close_sorts(c);
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        json_decref(owned[i]);
    release_password(c);
    release_privacy(c);
    tenant_free(c->tenant);
    buf_release(&c->records_buf);
}

int import_run(const struct import_opts *o, struct import_counts *out, struct err *e)
{
    struct import_ctx c;
    struct snapshot_summary snap;
    struct tenant_config cfg;
    struct dump_result dres;
    char path[4096];
    double t0 = now_s();
    bool plan = o->mode == MODE_PLAN;
    int rc = -1;

    ctx_init(&c, o);
    memset(&cfg, 0, sizeof(cfg));
    snapshot_summary_init(&snap);
    dump_result_init(&dres);
    if (check_snapshot(&c, &snap, e) < 0 || setup_privacy(&c, e) < 0 || setup_password(&c, e) < 0 ||
        connect_target(&c, &cfg, e) < 0)
        goto out;
    choose_paths(&c, path, sizeof(path));
    if (!plan && start_journal(&c, path, e) < 0)
        goto out;
    if (read_target(&c, &dres, e) < 0)
        goto out;
    /* 4. Plan. */
    if (open_sorts(&c, e) < 0 || import_plan(&c, e) < 0 || check_prune(&c, e) < 0)
        goto out;
    if (!plan && apply(&c, e) < 0)
        goto out;
    if (report(&c, path, now_s() - t0, e) < 0)
        goto out;
    rc = 0;
out:
    progress_done();
    *out = c.n;
    ctx_release(&c);
    dump_result_release(&dres);
    snapshot_summary_release(&snap);
    tenant_config_release(&cfg);
    return rc;
}
