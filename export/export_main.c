/*
 * export_main.c - a0snap-export's command line: options into a struct,
 * export_run() (or --pseudonym-of), and the result mapped to a documented
 * exit code by cli_main().
 */
#include "export.h"

#include "cli_main.h"
#include "log.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs(
        "Usage: a0snap-export [OPTIONS]\n"
        "Write a point-in-time snapshot of an Auth0 tenant's users (profile, metadata, roles,\n"
        "organization memberships) to one gzipped NDJSON file.\n"
        "\n"
        "Output:\n"
        "  -o, --output FILE|DIR    snapshot path, or a folder (existing, or ending in '/') to\n"
        "                           name it in (default: snapshots/<domain>-<UTC time>.ndjson.gz)\n"
        "      --force              replace an existing file (default: refuse)\n"
        "      --encrypt-to RECIPIENT  encrypt the file (age) to an age1... public key, or to\n"
        "                           every key of a file (repeatable); '.age' ends made names\n"
        "      --sign-key FILE      sign the snapshot with this Ed25519 private key (PEM, 0600)\n"
        "      --json               print a JSON summary on stdout\n"
        "  -q, --quiet              no progress or information on stderr\n"
        "  -v, --verbose            trace every HTTP request (secrets redacted)\n"
        "\n"
        "Tenant (credentials only from the environment, never from arguments):\n"
        "      --domain DOMAIN      tenant domain (default: $AUTH0_DOMAIN)\n"
        "      --api-url URL        where /oauth/token and /api/v2 are reached\n"
        "                           (default: $A0SNAP_API_URL, else https://DOMAIN)\n"
        "\n"
        "What to export (default: every user of every connection, through export jobs):\n"
        "      --connection NAME    only users of this connection (repeatable)\n"
        "      --user ID            only this user (repeatable)\n"
        "      --email ADDRESS      only the users with this email (repeatable)\n"
        "      --query LUCENE       only users matching this search (at most 1,000)\n"
        "      --with-permissions   also read each user's directly assigned permissions (one\n"
        "                           request per user; always done for --user/--email/--query)\n"
        "\n"
        "Privacy (on by default: keyed, repeatable pseudonyms):\n"
        "      --policy FILE        privacy policy (default: the built-in policy)\n"
        "      --pseudonym-key-file FILE  key file, mode 0600 (default: $A0SNAP_PSEUDONYM_KEY)\n"
        "      --strict             fail if metadata holds keys the policy does not mention\n"
        "      --no-anonymize       write RAW personal data (said loudly, recorded in the header)\n"
        "      --pseudonym-of EMAIL_OR_ID  print what this user becomes under the key and policy\n"
        "\n"
        "      --sort-memory MB     memory for sorting (default: 32)\n"
        "  -h, --help               show this help\n"
        "  -V, --version            show versions\n"
        "\n"
        "Environment: AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET (or\n"
        "AUTH0_CLIENT_SECRET_FILE, mode 0600), A0SNAP_API_URL, A0SNAP_PSEUDONYM_KEY,\n"
        "A0SNAP_STALL_TIMEOUT (seconds without data before a transfer is abandoned).\n"
        "Every option can also be set as A0SNAP_<OPTION> (e.g. A0SNAP_OUTPUT=FILE,\n"
        "A0SNAP_JSON=1, A0SNAP_CONNECTION=a,b); the command line wins.\n"
        "\n"
        "Exit codes: 0 ok, 2 usage, 4 refused (existing file, --strict), 5 API or network,\n"
        "6 credentials or scopes, 7 local file or disk, 1 internal error.\n"
        "\n"
        "Examples:\n"
        "  a0snap-export -o prod.ndjson.gz\n"
        "  a0snap-export --email alice@example.com -o bug-1234.ndjson.gz\n"
        "  a0snap-export --connection Username-Password-Authentication --json\n"
        "  a0snap-export -o archive/ --encrypt-to recipients.txt --sign-key signing.pem\n",
        f);
}

static int add_list(const char **list, size_t *n, const char *v, const char *what, struct err *e)
{
    if (*n >= EXPORT_MAX_LIST)
        return err_set(e, ERR_USAGE, "too many %s options (at most %d)", what, EXPORT_MAX_LIST);
    list[(*n)++] = v;
    return 0;
}

enum {
    OPT_FORCE = 256,
    OPT_DOMAIN,
    OPT_CONNECTION,
    OPT_USER,
    OPT_EMAIL,
    OPT_QUERY,
    OPT_STRICT,
    OPT_PSEUDONYM_OF,
    OPT_ENCRYPT_TO,
    OPT_SIGN_KEY,
    OPT_WITH_PERMS,
};

static const struct option longopts[] = {
    {"output", required_argument, NULL, 'o'},
    {"force", no_argument, NULL, OPT_FORCE},
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"connection", required_argument, NULL, OPT_CONNECTION},
    {"user", required_argument, NULL, OPT_USER},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"query", required_argument, NULL, OPT_QUERY},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"pseudonym-of", required_argument, NULL, OPT_PSEUDONYM_OF},
    {"encrypt-to", required_argument, NULL, OPT_ENCRYPT_TO},
    {"sign-key", required_argument, NULL, OPT_SIGN_KEY},
    {"with-permissions", no_argument, NULL, OPT_WITH_PERMS},
    CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0},
};

/* One option of a0snap-export's own. */
static int option(void *opts, int ch, char *arg, struct err *e)
{
    struct export_opts *o = opts;
    const struct cli_common common = {&o->json,     &o->api_url,      &o->policy_path,
                                      &o->key_file, &o->no_anonymize, &o->sort_mem};
    int r = cli_common_option(&common, ch, arg, e);

    if (r != 1)
        return r;
    switch (ch) {
    case 'o':
        o->output = arg;
        return 0;
    case OPT_FORCE:
        o->force = true;
        return 0;
    case OPT_DOMAIN:
        o->domain = arg;
        return 0;
    case OPT_CONNECTION:
        return add_list(o->connections, &o->n_connections, arg, "--connection", e);
    case OPT_USER:
        return add_list(o->users, &o->n_users, arg, "--user", e);
    case OPT_EMAIL:
        return add_list(o->emails, &o->n_emails, arg, "--email", e);
    case OPT_QUERY:
        o->query = arg;
        return 0;
    case OPT_STRICT:
        o->strict = true;
        return 0;
    case OPT_PSEUDONYM_OF:
        o->pseudonym_of = arg;
        return 0;
    case OPT_ENCRYPT_TO:
        return add_list(o->encrypt_to, &o->n_encrypt_to, arg, "--encrypt-to", e);
    case OPT_SIGN_KEY:
        o->sign_key = arg;
        return 0;
    case OPT_WITH_PERMS:
        o->with_permissions = true;
        return 0;
    default:
        return 1;
    }
}

/* No argument may follow the options; some options exclude others. */
static int finish(void *opts, int n, char **args, struct err *e)
{
    struct export_opts *o = opts;

    if (n > 0)
        return err_set(e, ERR_USAGE, "unexpected argument '%s' (see --help)", args[0]);
    if (o->no_anonymize && (o->policy_path || o->strict))
        return err_set(e, ERR_USAGE, "--no-anonymize cannot be combined with --policy or --strict");
    if (o->connections[0] && (o->n_users || o->n_emails || o->query))
        return err_set(e, ERR_USAGE,
                       "--connection limits a full export; it cannot be combined with --user, "
                       "--email or --query");
    return 0;
}

static void print_json(const struct export_summary *s)
{
    json_t *j = json_pack(
        "{s:s,s:I,s:O,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:f,s:I,s:I,s:I,s:I,s:I}", "path",
        s->path, "users", (json_int_t)s->users, "per_connection", s->per_connection, "connections",
        (json_int_t)s->connections, "roles", (json_int_t)s->roles, "organizations",
        (json_int_t)s->organizations, "role_grants", (json_int_t)s->role_grants, "memberships",
        (json_int_t)s->memberships, "dropped_grants", (json_int_t)s->dropped_grants,
        "excluded_by_policy", (json_int_t)s->excluded_by_policy, "unreviewed_metadata_keys",
        (json_int_t)s->drift_keys, "anonymized", s->anonymized, "seconds", s->seconds,
        "api_requests", (json_int_t)s->api_requests, "retries", (json_int_t)s->retries,
        "member_role_requests", (json_int_t)s->member_role_requests, "permission_grants",
        (json_int_t)s->permission_grants, "permission_requests",
        (json_int_t)s->permission_requests);

    cli_print_json(j);
}

/* ", N direct permissions" when they were read. */
static const char *permissions_text(const struct export_summary *s)
{
    static char text[64];

    if (!s->permission_requests)
        return "";
    snprintf(text, sizeof(text), ", %zu direct permissions", s->permission_grants);
    return text;
}

/* The export, or --pseudonym-of; what it wrote is said on stderr. */
static int run(void *opts, struct err *e)
{
    const struct export_opts *o = opts;
    struct export_summary sum;
    int rc;

    if (o->pseudonym_of)
        return export_pseudonym_of(o, e);
    if (o->no_anonymize)
        log_warn("--no-anonymize: this snapshot will hold RAW personal data; keep it out of "
                 "test environments and delete it when done");
    memset(&sum, 0, sizeof(sum));
    rc = export_run(o, &sum, e);
    if (rc == 0) {
        log_info("wrote '%s': %zu users, %zu role grants, %zu memberships%s in %.1f s "
                 "(%ld API requests, %ld retries)%s",
                 sum.path, sum.users, sum.role_grants, sum.memberships, permissions_text(&sum),
                 sum.seconds, sum.api_requests, sum.retries,
                 sum.anonymized ? "" : " - RAW personal data");
        if (sum.dropped_grants)
            log_info("%zu role or organization grants of users not in the snapshot were left out",
                     sum.dropped_grants);
        if (sum.excluded_by_policy)
            log_info("%zu users left out by the privacy policy's selection",
                     sum.excluded_by_policy);
        if (sum.member_role_requests)
            log_info("the organization member lists held no roles: %zu requests read them one "
                     "member at a time",
                     sum.member_role_requests);
        if (o->json)
            print_json(&sum);
    }
    export_summary_release(&sum);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const env_skip[] = {"help", "version", "pseudonym-of", "domain", NULL};
    static const char *const env_lists[] = {"connection", "user", "email", "encrypt-to", NULL};
    static const struct cli_program program = {
        "a0snap-export", ":o:qvhV", longopts, env_skip, env_lists, usage, option, finish, run,
    };
    struct export_opts o;

    memset(&o, 0, sizeof(o));
    o.sort_mem = (size_t)32 << 20;
    return cli_main(&program, &o, argc, argv);
}
