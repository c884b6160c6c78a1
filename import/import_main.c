/*
 * import_main.c - a0snap-import's command line: options into a struct, one
 * of import_run() / --plan / --list / --verify / --diff, and the result
 * mapped to a documented exit code by cli_main().
 */
#include "import.h"

#include "cli_main.h"
#include "keeprule.h"
#include "log.h"
#include "multipart.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs(
        "Usage: a0snap-import SNAPSHOT --target DOMAIN [OPTIONS]\n"
        "       a0snap-import SNAPSHOT --target DOMAIN --plan [OPTIONS]\n"
        "       a0snap-import --list SNAPSHOT | --verify SNAPSHOT | --diff OLD NEW\n"
        "Load a snapshot's users into a pre-production tenant, so that each of them equals the\n"
        "snapshot's user (profile, metadata, roles, organization memberships).\n"
        "\n"
        "Target (named explicitly, never guessed; credentials only from the environment):\n"
        "      --target DOMAIN        the tenant to write to (must match AUTH0_DOMAIN if that is "
        "set)\n"
        "      --api-url URL          where its /oauth/token and /api/v2 are reached\n"
        "                             (default: $A0SNAP_API_URL, else https://DOMAIN)\n"
        "      --allow-source-tenant  allow importing into the tenant the snapshot came from\n"
        "\n"
        "What to write:\n"
        "      --plan                 show what an import would do; write nothing to the target\n"
        "      --on-conflict=skip|replace  a target user holding a snapshot user's email or\n"
        "                             username under another id: skip (default) or delete and "
        "replace\n"
        "                             (one that is a snapshot user given another value is no\n"
        "                             conflict: the value moves)\n"
        "      --map-connection SRC=DST, --map-role SRC=DST, --map-org SRC=DST\n"
        "                             match by another name (default: same name)\n"
        "      --map-api SRC=DST      match a direct permission's API by another identifier\n"
        "      --create-missing-roles create roles the target lacks (default: skip their grants)\n"
        "      --social-users=skip|convert:CONNECTION  social/enterprise users: skip (default), "
        "or\n"
        "                             import them as users of that database connection\n"
        "      --test-password-env VAR  give every new user the password in $VAR (bcrypt hashed)\n"
        "      --only-users FILE      only the users listed (ids or emails, one per line)\n"
        "      --only-connection NAME only users of this connection (repeatable)\n"
        "      --backup FILE          keep the target's state before the import as a snapshot\n"
        "      --resume               after an interrupted run: wait for the import jobs it left\n"
        "                             running (from REPORT.journal), then finish the work\n"
        "      --max-request-bytes N  largest import request (default: 500000; Auth0 refuses more\n"
        "                             than 512000)\n"
        "      --sort-memory MB       memory for sorting (default: 32)\n"
        "      --prune                delete target users of the covered connections that the\n"
        "                             snapshot lacks (and always: stale roles and memberships)\n"
        "      --keep PATH=PATTERN    never delete users matching this (repeatable), e.g.\n"
        "                             email=*@staging.example.com or app_metadata.robot=true\n"
        "      --max-deletes N        stop before writing if --prune would delete more\n"
        "                             (default: 10% of the target's users in those connections)\n"
        "\n",
        f);
    fputs("Privacy:\n"
          "      --policy FILE          apply this privacy policy while importing\n"
          "      --pseudonym-key-file FILE  key file, mode 0600 (default: $A0SNAP_PSEUDONYM_KEY)\n"
          "      --force-policy         apply a policy with another key than the snapshot's\n"
          "      --no-anonymize         import a raw snapshot as it is (default: the default "
          "policy)\n"
          "\n"
          "Encrypted and signed snapshots:\n"
          "      --identity FILE        an age identity file (mode 0600) that opens an encrypted\n"
          "                             snapshot (default: $A0SNAP_IDENTITY_FILE)\n"
          "      A0SNAP_TRUSTED_KEYS=FILE  PEM public keys: refuse (exit 3) a snapshot that no\n"
          "                             one of them signed, before any request\n"
          "\n"
          "Output:\n"
          "      --report FILE          NDJSON report, one line per user (default: next to "
          "SNAPSHOT)\n"
          "      --json                 print the summary as JSON on stdout\n"
          "  -q, --quiet                no progress or information on stderr\n"
          "  -v, --verbose              trace every HTTP request (secrets redacted)\n"
          "  -h, --help                 show this help\n"
          "  -V, --version              show versions\n"
          "\n"
          "Environment: AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET (or AUTH0_CLIENT_SECRET_FILE, mode\n"
          "0600), AUTH0_DOMAIN (optional; must equal --target), A0SNAP_API_URL,\n"
          "A0SNAP_PROTECTED_TENANTS (comma-separated tenants never written to),\n"
          "A0SNAP_PSEUDONYM_KEY, A0SNAP_IDENTITY_FILE, A0SNAP_TRUSTED_KEYS,\n"
          "A0SNAP_STALL_TIMEOUT. Every option can also be set as\n"
          "A0SNAP_<OPTION> (e.g. A0SNAP_REPORT=FILE, A0SNAP_JSON=1, A0SNAP_KEEP=a,b); the\n"
          "command line wins.\n"
          "\n"
          "Exit codes: 0 every user applied, 8 some users failed (see the report), 2 usage,\n"
          "3 snapshot damaged or refused, 4 target refused (protected, source, key mismatch),\n"
          "5 API or network, 6 credentials or scopes, 7 local file or disk, 1 internal error.\n"
          "\n"
          "Examples:\n"
          "  a0snap-import prod.ndjson.gz --target staging.eu.auth0.com --plan\n"
          "  a0snap-import prod.ndjson.gz --target staging.eu.auth0.com --report import.ndjson\n"
          "  a0snap-import --diff monday.ndjson.gz tuesday.ndjson.gz --json\n",
          f);
}

static int add_map(struct import_map_opt *m, const char *arg, const char *what, struct err *e)
{
    char *eq = strchr(arg, '=');

    if (!eq || eq == arg || !eq[1])
        return err_set(e, ERR_USAGE, "--map-%s wants SRC=DST, not '%s'", what, arg);
    if (m->n >= IMPORT_MAX_LIST)
        return err_set(e, ERR_USAGE, "too many --map-%s options", what);
    *eq = '\0';
    m->from[m->n] = arg;
    m->to[m->n] = eq + 1;
    m->n++;
    return 0;
}

enum {
    OPT_TARGET = 256,
    OPT_REPORT,
    OPT_ALLOW_SOURCE,
    OPT_ON_CONFLICT,
    OPT_MAP_CONN,
    OPT_MAP_ROLE,
    OPT_MAP_ORG,
    OPT_CREATE_ROLES,
    OPT_SOCIAL,
    OPT_TEST_PW,
    OPT_FORCE_POLICY,
    OPT_RESUME,
    OPT_PLAN,
    OPT_PRUNE,
    OPT_KEEP,
    OPT_MAX_DELETES,
    OPT_ONLY_USERS,
    OPT_ONLY_CONN,
    OPT_LIST,
    OPT_VERIFY,
    OPT_DIFF,
    OPT_BACKUP,
    OPT_MAX_BODY,
    OPT_IDENTITY,
    OPT_MAP_API,
};

static const struct option longopts[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"report", required_argument, NULL, OPT_REPORT},
    {"allow-source-tenant", no_argument, NULL, OPT_ALLOW_SOURCE},
    {"on-conflict", required_argument, NULL, OPT_ON_CONFLICT},
    {"map-connection", required_argument, NULL, OPT_MAP_CONN},
    {"map-role", required_argument, NULL, OPT_MAP_ROLE},
    {"map-org", required_argument, NULL, OPT_MAP_ORG},
    {"create-missing-roles", no_argument, NULL, OPT_CREATE_ROLES},
    {"social-users", required_argument, NULL, OPT_SOCIAL},
    {"test-password-env", required_argument, NULL, OPT_TEST_PW},
    {"force-policy", no_argument, NULL, OPT_FORCE_POLICY},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"plan", no_argument, NULL, OPT_PLAN},
    {"prune", no_argument, NULL, OPT_PRUNE},
    {"keep", required_argument, NULL, OPT_KEEP},
    {"max-deletes", required_argument, NULL, OPT_MAX_DELETES},
    {"only-users", required_argument, NULL, OPT_ONLY_USERS},
    {"only-connection", required_argument, NULL, OPT_ONLY_CONN},
    {"list", no_argument, NULL, OPT_LIST},
    {"verify", no_argument, NULL, OPT_VERIFY},
    {"diff", no_argument, NULL, OPT_DIFF},
    {"backup", required_argument, NULL, OPT_BACKUP},
    {"max-request-bytes", required_argument, NULL, OPT_MAX_BODY},
    {"identity", required_argument, NULL, OPT_IDENTITY},
    {"map-api", required_argument, NULL, OPT_MAP_API},
    CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0},
};

/* The options and what parsing them needs besides. */
struct import_cli {
    struct import_opts o;
    int modes; /* --plan, --list, --verify, --diff given */
};

/* Options of the target and of the output. 1: not one of them. */
static int option_target(struct import_opts *o, int ch, char *arg)
{
    switch (ch) {
    case OPT_TARGET:
        o->target = arg;
        return 0;
    case OPT_ALLOW_SOURCE:
        o->allow_source = true;
        return 0;
    case OPT_REPORT:
        o->report = arg;
        return 0;
    default:
        return 1;
    }
}

/* Options of what the import writes and to whom. 1: not one of them. */
static int option_write(struct import_opts *o, int ch, char *arg, struct err *e)
{
    switch (ch) {
    case OPT_ON_CONFLICT:
        if (strcmp(arg, "skip") == 0)
            o->on_conflict = CONFLICT_SKIP;
        else if (strcmp(arg, "replace") == 0)
            o->on_conflict = CONFLICT_REPLACE;
        else
            return err_set(e, ERR_USAGE, "--on-conflict wants skip or replace, not '%s'", arg);
        return 0;
    case OPT_MAP_CONN:
        return add_map(&o->map_connection, arg, "connection", e);
    case OPT_MAP_ROLE:
        return add_map(&o->map_role, arg, "role", e);
    case OPT_MAP_ORG:
        return add_map(&o->map_org, arg, "org", e);
    case OPT_MAP_API:
        return add_map(&o->map_api, arg, "api", e);
    case OPT_CREATE_ROLES:
        o->create_missing_roles = true;
        return 0;
    case OPT_SOCIAL:
        if (strcmp(arg, "skip") == 0)
            o->convert_social_to = NULL;
        else if (strncmp(arg, "convert:", 8) == 0 && arg[8])
            o->convert_social_to = arg + 8;
        else
            return err_set(e, ERR_USAGE,
                           "--social-users wants skip or convert:CONNECTION, not '%s'", arg);
        return 0;
    case OPT_TEST_PW:
        o->test_password_env = arg;
        return 0;
    default:
        return 1;
    }
}

/* Options choosing which users, and how much may be deleted. 1: not one
 * of them. */
static int option_scope(struct import_opts *o, int ch, char *arg, struct err *e)
{
    long v;

    switch (ch) {
    case OPT_ONLY_USERS:
        o->only_users_file = arg;
        return 0;
    case OPT_ONLY_CONN:
        if (o->n_only_connection >= IMPORT_MAX_LIST)
            return err_set(e, ERR_USAGE, "too many --only-connection options");
        o->only_connection[o->n_only_connection++] = arg;
        return 0;
    case OPT_PRUNE:
        o->prune = true;
        return 0;
    case OPT_KEEP:
        if (o->n_keep >= IMPORT_MAX_LIST)
            return err_set(e, ERR_USAGE, "too many --keep options");
        o->keep[o->n_keep++] = arg;
        return 0;
    case OPT_MAX_DELETES:
        if (!cli_parse_long(arg, 0, LONG_MAX, &v))
            return err_set(e, ERR_USAGE, "--max-deletes wants a number, not '%s'", arg);
        o->max_deletes = v;
        return 0;
    default:
        return 1;
    }
}

/* Privacy options. 1: not one of them. */
static int option_privacy(struct import_opts *o, int ch, char *arg)
{
    switch (ch) {
    case OPT_IDENTITY:
        o->identity_file = arg;
        return 0;
    case OPT_FORCE_POLICY:
        o->force_policy = true;
        return 0;
    default:
        return 1;
    }
}

/* The modes, and the options of how the run goes (resume, backup, sizes).
 * 1: not one of them. */
static int option_run(struct import_cli *cli, int ch, char *arg, struct err *e)
{
    struct import_opts *o = &cli->o;
    long v;

    switch (ch) {
    case OPT_PLAN:
    case OPT_LIST:
    case OPT_VERIFY:
    case OPT_DIFF:
        o->mode = ch == OPT_PLAN     ? MODE_PLAN
                  : ch == OPT_LIST   ? MODE_LIST
                  : ch == OPT_VERIFY ? MODE_VERIFY
                                     : MODE_DIFF;
        cli->modes++;
        return 0;
    case OPT_RESUME:
        o->resume = true;
        return 0;
    case OPT_BACKUP:
        o->backup = arg;
        return 0;
    case OPT_MAX_BODY:
        if (!cli_parse_long(arg, 4096, IMPORT_BODY_LIMIT, &v))
            return err_set(e, ERR_USAGE,
                           "--max-request-bytes wants 4096-512000 (Auth0 refuses more), not '%s'",
                           arg);
        o->max_body = (size_t)v;
        return 0;
    default:
        return 1;
    }
}

/* One option of a0snap-import's own, by group. */
static int option(void *opts, int ch, char *arg, struct err *e)
{
    struct import_cli *cli = opts;
    struct import_opts *o = &cli->o;
    const struct cli_common common = {&o->json,     &o->api_url,      &o->policy_path,
                                      &o->key_file, &o->no_anonymize, &o->sort_mem};
    int r = cli_common_option(&common, ch, arg, e);

    if (r == 1)
        r = option_target(o, ch, arg);
    if (r == 1)
        r = option_write(&cli->o, ch, arg, e);
    if (r == 1)
        r = option_scope(&cli->o, ch, arg, e);
    if (r == 1)
        r = option_privacy(&cli->o, ch, arg);
    if (r == 1)
        r = option_run(cli, ch, arg, e);
    return r;
}

/* The options that exclude or need each other. */
static int check_combinations(const struct import_opts *o, struct err *e)
{
    if ((o->mode == MODE_IMPORT || o->mode == MODE_PLAN) && !o->target)
        return err_set(e, ERR_USAGE,
                       "no target: name the tenant to import into with --target DOMAIN (it is "
                       "never guessed)");
    if (o->prune && o->only_users_file)
        return err_set(e, ERR_USAGE,
                       "--prune deletes what the snapshot lacks; with --only-users that would be "
                       "almost everything: refusing the combination");
    for (size_t i = 0; i < o->n_keep; i++)
        if (keeprule_check(o->keep[i], e) < 0)
            return -1;
    if (o->n_keep && !o->prune)
        return err_set(e, ERR_USAGE, "--keep only makes sense with --prune");
    if (o->no_anonymize && o->policy_path)
        return err_set(e, ERR_USAGE, "--no-anonymize cannot be combined with --policy");
    return 0;
}

/* SNAPSHOT (and NEW for --diff) after the options, then the combinations. */
static int finish(void *opts, int n, char **args, struct err *e)
{
    struct import_cli *cli = opts;
    struct import_opts *o = &cli->o;
    int i = 0;

    if (cli->modes > 1)
        return err_set(e, ERR_USAGE, "--plan, --list, --verify and --diff exclude each other");
    if (i < n)
        o->snapshot = args[i++];
    if (o->mode == MODE_DIFF && i < n)
        o->snapshot2 = args[i++];
    if (i < n)
        return err_set(e, ERR_USAGE, "unexpected argument '%s' (see --help)", args[i]);
    if (!o->snapshot)
        return err_set(e, ERR_USAGE, "no snapshot given (see --help)");
    if (o->mode == MODE_DIFF && !o->snapshot2)
        return err_set(e, ERR_USAGE, "--diff wants two snapshots: OLD NEW");
    if (check_combinations(o, e) < 0)
        return -1;
    if (!o->max_body)
        o->max_body = IMPORT_BODY_DEFAULT;
    return 0;
}

static void print_summary(const struct import_opts *o, const struct import_counts *n)
{
    const char *verb = o->mode == MODE_PLAN ? "plan" : "import";

    log_info("%s: %zu created, %zu updated, %zu unchanged, %zu skipped, %zu failed; %zu deleted; "
             "roles +%zu -%zu, memberships +%zu -%zu; %zu jobs, %zu profile patches",
             verb, n->created, n->updated, n->unchanged, n->skipped, n->failed, n->deleted,
             n->roles_added, n->roles_removed, n->members_added, n->members_removed, n->jobs,
             n->patches);
    if (n->moves)
        log_info("%zu emails, usernames or phone numbers move from one user to another: each is "
                 "set aside first (a placeholder), then given to its new user; the report names "
                 "both",
                 n->moves);
    if (n->social_skipped)
        log_info("%zu social/enterprise users skipped: Auth0 cannot import them (they appear when "
                 "they log in; --social-users=convert:CONNECTION imports them as database users)",
                 n->social_skipped);
    if (n->links_not_copyable)
        log_info("%zu linked accounts not copied (%zu social, %zu enterprise): Auth0's API cannot "
                 "create those users; the report names them",
                 n->links_not_copyable, n->links_social, n->links_enterprise);
    if (n->permissions_missing)
        log_info("%zu direct permissions not copied: the target lacks their API or scope (see the "
                 "report; --map-api SRC=DST matches another API)",
                 n->permissions_missing);
    if (n->created)
        log_info("passwords are never copied (Auth0 does not export them): new users need a "
                 "password reset, or --test-password-env for test logins");
    if (o->json) {
        json_t *j = import_counts_json(n);
        if (j)
            json_object_set_new(j, "mode", json_string(verb));
        cli_print_json(j);
    }
}

/* The mode's work; an import or a plan says what it did. */
static int run_mode(const struct import_opts *o, struct err *e)
{
    struct import_counts n;
    int rc;

    switch (o->mode) {
    case MODE_LIST:
        return import_list(o, e);
    case MODE_VERIFY:
        return import_verify(o, e);
    case MODE_DIFF:
        return import_diff(o, e);
    default:
        memset(&n, 0, sizeof(n));
        rc = import_run(o, &n, e);
        if (rc == 0 || e->code == ERR_PARTIAL)
            print_summary(o, &n);
        return rc;
    }
}

/* The keys every mode may need, then the mode. */
static int run(void *opts, struct err *e)
{
    struct import_opts *o = &((struct import_cli *)opts)->o;
    struct import_keys keys;
    int rc = -1;

    if (import_keys_load(&keys, o->identity_file, e) == 0) {
        o->keys = &keys.sk;
        o->trusted = keys.trusted;
        rc = run_mode(o, e);
    }
    import_keys_release(&keys);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const env_skip[] = {"help", "version", "list", "verify",
                                           "diff", "resume",  NULL};
    static const char *const env_lists[] = {"map-connection",  "map-role", "map-org", "map-api",
                                            "only-connection", "keep",     NULL};
    static const struct cli_program program = {
        "a0snap-import", ":qvhV", longopts, env_skip, env_lists, usage, option, finish, run,
    };
    struct import_cli cli;

    memset(&cli, 0, sizeof(cli));
    cli.o.max_deletes = -1;
    return cli_main(&program, &cli, argc, argv);
}
