/*
 * bench_export_process.c - the local half of a0snap-export, without a
 * network: what dump_tenant() does with a downloaded export file.
 *
 *   bench_export_process --input EXPORT.json.gz --output SNAPSHOT.ndjson.gz
 *                        [--grants GRANTS.tsv] [--catalogue CAT.json]
 *                        [--privacy] [--encrypt-to age1...]
 *                        [--sort-mem MB] [--tmpdir DIR]
 *
 * The same steps as common/dump_run.c, dump_job.c, dump_grants.c and
 * dump_join.c, through the same functions: the export file goes through
 * dump_ingest_file() as the download does (gunzip, and every line to
 * dump_ingest_line(): parse, privacy policy if --privacy, compact sorted
 * serialization, the users sort; with --privacy on two threads,
 * dump_pool.c); each grant of GRANTS.tsv ("<user_id>\t
 * <grant JSON>", from bench_gen.py) is parsed and serialized again as
 * dump_grants.c does with the API's answers, its user id mapped as the
 * privacy policy maps ids that embed an email, and goes to the grants sort;
 * with --privacy the collision check (dump_check_unique) runs; then
 * dump_join() writes the sealed snapshot. Only the HTTP side is missing.
 *
 * --privacy uses the built-in default policy and a fixed bench key, and
 * asks for the source digests the collision check compares, as
 * export/export_run.c does. --encrypt-to writes the snapshot in the age
 * format to that recipient, as a0snap-export --encrypt-to does (the
 * writer's gzip stream goes through common/util/age_encrypt.c).
 *
 * Prints the phases' wall and CPU times as plain lines, then one JSON line.
 * Peak memory is measured by the caller (tests/bench/bench_local.py).
 */
#include "dump_internal.h"
#include "age.h"
#include "bench_clock.h"
#include "buf.h"
#include "extsort.h"
#include "privacy.h"
#include "pseudonym.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define GRANT_MAX_LINE   (1u << 20)
#define CATALOGUE_MAX    (64u << 20)
#define DEFAULT_SORT_MEM ((size_t)32 << 20) /* as dump_run.c */

struct opts {
    const char *input, *output, *grants, *catalogue, *tmpdir, *encrypt_to;
    size_t sort_mem;
    bool privacy;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_export_process --input EXPORT.json.gz --output SNAPSHOT.ndjson.gz\n"
               "       [--grants GRANTS.tsv] [--catalogue CAT.json] [--privacy]\n"
               "       [--encrypt-to age1...] [--sort-mem MB] [--tmpdir DIR]\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    /* clang-format off */
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"grants", required_argument, NULL, 'g'},
        {"catalogue", required_argument, NULL, 'c'},
        {"tmpdir", required_argument, NULL, 't'},
        {"sort-mem", required_argument, NULL, 'm'},
        {"privacy", no_argument, NULL, 'p'},
        {"encrypt-to", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    int ch;

    memset(o, 0, sizeof(*o));
    o->sort_mem = DEFAULT_SORT_MEM;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            o->input = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'g':
            o->grants = optarg;
            break;
        case 'c':
            o->catalogue = optarg;
            break;
        case 't':
            o->tmpdir = optarg;
            break;
        case 'm': {
            char *end;
            long mb = strtol(optarg, &end, 10);
            if (*end || mb < 1 || mb > 4096)
                return -1;
            o->sort_mem = (size_t)mb << 20;
            break;
        }
        case 'p':
            o->privacy = true;
            break;
        case 'e':
            o->encrypt_to = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    return o->input && o->output && optind == argc ? 0 : -1;
}

/* dump_job.c's ingest of the downloaded file, on the export file. */
static int ingest_export(struct dump_ctx *c, const char *path, unsigned long long *gz_bytes,
                         unsigned long long *raw_bytes, struct err *e)
{
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(e, ERR_IO, errno, "cannot open '%s'", path);
    c->phase = "users";
    rc = dump_ingest_file(c, fd, gz_bytes, raw_bytes, e);
    close(fd);
    return rc;
}

/* Each grant as dump_grants.c add_grant() handles an API item: a JSON
 * value serialized (compact, sorted keys) into the grants sort under its
 * user id, mapped by the privacy policy when it embeds an email. */
static int ingest_grants(struct dump_ctx *c, const char *path, struct err *e)
{
    FILE *f = fopen(path, "r");
    struct buf mapped;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = -1;

    if (!f)
        return err_errno(e, ERR_IO, errno, "cannot open '%s'", path);
    buf_init(&mapped, 64 * 1024);
    c->phase = "roles";
    while ((n = getline(&line, &cap, f)) > 0) {
        char *tab = memchr(line, '\t', (size_t)n), *text;
        json_error_t jerr;
        json_t *g;
        int r;

        if ((size_t)n > GRANT_MAX_LINE || !tab) {
            err_set(e, ERR_USAGE, "'%s': bad grant line", path);
            goto out;
        }
        g = json_loadb(tab + 1, (size_t)n - (size_t)(tab + 1 - line), 0, &jerr);
        if (!g) {
            err_set(e, ERR_USAGE, "'%s': bad grant JSON: %s", path, jerr.text);
            goto out;
        }
        text = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(g);
        if (!text) {
            err_oom(e);
            goto out;
        }
        *tab = '\0';
        if (c->req->privacy && strchr(line, '@')) {
            buf_reset(&mapped);
            if (privacy_map_user_id(c->req->privacy, line, &mapped, e) < 0) {
                free(text);
                goto out;
            }
            r = extsort_add(c->grants, mapped.data, mapped.len, text, strlen(text), e);
        } else {
            r = extsort_add(c->grants, line, (size_t)(tab - line), text, strlen(text), e);
        }
        free(text);
        if (r < 0)
            goto out;
        c->grants_seen++;
    }
    if (ferror(f)) {
        err_errno(e, ERR_IO, errno, "cannot read '%s'", path);
        goto out;
    }
    rc = 0;
out:
    buf_release(&mapped);
    free(line);
    fclose(f);
    return rc;
}

static json_t *load_catalogue(const char *path, struct err *e)
{
    json_error_t jerr;
    json_t *cat;

    if (!path)
        return json_pack("{s:[],s:[],s:[]}", "connections", "roles", "organizations");
    cat = json_load_file(path, 0, &jerr);
    if (!json_is_object(cat)) {
        json_decref(cat);
        err_set(e, ERR_USAGE, "'%s': not a catalogue: %s", path, jerr.text);
        return NULL;
    }
    return cat;
}

/* What dump_run.c build_header() adds (source, catalogue, request), plus
 * the privacy description a0snap-export puts there. */
static json_t *bench_header(json_t *catalogue, const struct privacy_policy *policy,
                            const struct pseudonym_key *key, struct err *e)
{
    json_t *h = json_object(), *fields = json_array(), *priv = NULL;

    if (!h || !fields) {
        json_decref(h);
        json_decref(fields);
        err_oom(e);
        return NULL;
    }
    for (const char *const *f = dump_fields; *f; f++)
        json_array_append_new(fields, json_string(*f));
    json_object_set_new(h, "request",
                        json_pack("{s:o,s:[],s:[],s:[],s:n,s:b}", "fields", fields, "connections",
                                  "users", "emails", "query", "subset", 0));
    json_object_set_new(h, "source", json_pack("{s:s}", "domain", "bench.local"));
    json_object_set(h, "catalogue", catalogue);
    if (policy) {
        if (privacy_policy_describe(policy, key, &priv, e) < 0) {
            json_decref(h);
            return NULL;
        }
        json_object_set_new(h, "privacy", priv);
    }
    return h;
}

int main(int argc, char **argv)
{
    /* A fixed key: the bench measures work, it protects nothing. */
    static const unsigned char bench_key[32] = "a0snap-bench-key-not-a-secret!!";
    struct opts o;
    struct err e;
    struct dump_request req;
    struct dump_result res;
    struct dump_ctx c;
    struct privacy_policy *policy = NULL;
    struct pseudonym_key *key = NULL;
    struct privacy_ctx *pctx = NULL;
    struct age_recipients *rcpt = NULL;
    struct clock_mark t0, t1, t2, t3, t4;
    unsigned long long gz_bytes = 0, raw_bytes = 0;
    size_t urecs, uruns, upasses, grecs, gruns, gpasses;
    json_t *header = NULL;
    char tmpdir[4096];
    int rc = 1;

    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    err_clear(&e);
    memset(&req, 0, sizeof(req));
    memset(&c, 0, sizeof(c));
    dump_result_init(&res);
    if (o.tmpdir) {
        snprintf(tmpdir, sizeof(tmpdir), "%s", o.tmpdir);
    } else {
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", o.output);
        snprintf(tmpdir, sizeof(tmpdir), "%s", dirname(copy));
    }
    if (o.privacy) {
        if (privacy_policy_default(&policy, &e) < 0 ||
            pseudonym_key_from_bytes(&key, bench_key, sizeof(bench_key), &e) < 0 ||
            privacy_ctx_new(&pctx, policy, key, &e) < 0)
            goto out;
        privacy_ctx_want_src(pctx, true);
    }
    if (o.encrypt_to &&
        (age_recipients_new(&rcpt, &e) < 0 || age_recipients_add(rcpt, o.encrypt_to, &e) < 0))
        goto out;
    req.encrypt_to = rcpt;
    req.privacy = pctx;
    req.sort_mem = o.sort_mem;
    req.tmpdir = tmpdir;
    req.force = true;
    res.per_connection = json_object();
    res.catalogue = load_catalogue(o.catalogue, &e);
    if (!res.per_connection || !res.catalogue) {
        if (!res.per_connection)
            err_oom(&e);
        goto out;
    }
    c.req = &req;
    c.res = &res;
    c.catalogue = res.catalogue;
    snprintf(c.tmpdir, sizeof(c.tmpdir), "%s", tmpdir);
    /* The three sorts with dump_run.c's budgets. */
    if (extsort_new(&c.users, c.tmpdir, o.sort_mem, &e) < 0 ||
        extsort_new(&c.grants, c.tmpdir, o.sort_mem / 4 + 1, &e) < 0 ||
        extsort_new(&c.uniq, c.tmpdir, o.sort_mem / 4 + 1, &e) < 0)
        goto out;

    t0 = mark();
    if (ingest_export(&c, o.input, &gz_bytes, &raw_bytes, &e) < 0)
        goto out;
    t1 = mark();
    if (o.grants && ingest_grants(&c, o.grants, &e) < 0)
        goto out;
    t2 = mark();
    res.users_seen = c.users_seen;
    res.excluded_by_policy = c.users_excluded;
    if (pctx && dump_check_unique(&c, &e) < 0)
        goto out;
    t3 = mark();
    header = bench_header(res.catalogue, policy, key, &e);
    if (!header || dump_join(&c, header, o.output, true, &e) < 0)
        goto out;
    t4 = mark();

    extsort_stats(c.users, &urecs, &uruns, &upasses);
    extsort_stats(c.grants, &grecs, &gruns, &gpasses);
    printf("users %zu (seen %zu, excluded %zu), role grants %zu, memberships %zu, dropped %zu\n",
           res.users, res.users_seen, res.excluded_by_policy, res.role_grants, res.memberships,
           res.dropped_grants);
    printf("input %.1f MB gzip, %.1f MB raw; privacy %s\n", (double)gz_bytes / 1e6,
           (double)raw_bytes / 1e6, o.privacy ? "on (default policy, source digests)" : "off");
    printf("users sort: %zu records, %zu runs spilled, %zu extra merge passes\n", urecs, uruns,
           upasses);
    printf("fast paths: %zu lines parsed without jansson (%zu with it), %zu users joined by "
           "splicing (%zu through jansson)\n",
           c.lines_fast, c.lines_slow, c.joins_fast, c.joins_slow);
    printf("phase ingest (gunzip+parse+%sserialize+sort): wall %.2f s, cpu %.2f s\n",
           o.privacy ? "privacy+" : "", t1.wall - t0.wall, t1.cpu - t0.cpu);
    printf("phase grants: wall %.2f s, cpu %.2f s\n", t2.wall - t1.wall, t2.cpu - t1.cpu);
    printf("phase unique check: wall %.2f s, cpu %.2f s\n", t3.wall - t2.wall, t3.cpu - t2.cpu);
    printf("phase join+write (merge, gzip -6 thread, sha256, fsync): wall %.2f s, cpu %.2f s\n",
           t4.wall - t3.wall, t4.cpu - t3.cpu);
    printf(
        "{\"bench\":\"export_process\",\"users\":%zu,\"role_grants\":%zu,\"memberships\":%zu,"
        "\"privacy\":%s,\"encrypted\":%s,\"dropped_grants\":%zu,\"lines_fast\":%zu,"
        "\"lines_slow\":%zu,"
        "\"joins_fast\":%zu,\"joins_slow\":%zu,\"input_gz_bytes\":%llu,\"input_raw_bytes\":%llu,"
        "\"sort_runs\":%zu,\"grant_runs\":%zu,\"wall\":{\"ingest\":%.3f,\"grants\":%.3f,"
        "\"unique\":%.3f,\"join\":%.3f,\"total\":%.3f},\"cpu\":{\"ingest\":%.3f,"
        "\"grants\":%.3f,\"unique\":%.3f,\"join\":%.3f,\"total\":%.3f},\"snapshot_id\":\"%s\"}\n",
        res.users, res.role_grants, res.memberships, o.privacy ? "true" : "false",
        o.encrypt_to ? "true" : "false", res.dropped_grants, c.lines_fast, c.lines_slow,
        c.joins_fast, c.joins_slow, gz_bytes, raw_bytes, uruns, gruns, t1.wall - t0.wall,
        t2.wall - t1.wall, t3.wall - t2.wall, t4.wall - t3.wall, t4.wall - t0.wall, t1.cpu - t0.cpu,
        t2.cpu - t1.cpu, t3.cpu - t2.cpu, t4.cpu - t3.cpu, t4.cpu - t0.cpu, res.snapshot_id);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_export_process: %s\n", e.msg);
    json_decref(header);
    extsort_free(c.users);
    extsort_free(c.grants);
    extsort_free(c.uniq);
    dump_result_release(&res);
    privacy_ctx_free(pctx);
    privacy_policy_free(policy);
    pseudonym_key_free(key);
    age_recipients_free(rcpt);
    return rc;
}
