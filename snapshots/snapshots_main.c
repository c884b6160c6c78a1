/*
 * snapshots_main.c - a0snap-snapshots' command line: a command and its
 * arguments, options into a struct, the keys loaded, one command run, and
 * its result mapped to a documented exit code by cli_main().
 *
 * Options a command does not use are ignored rather than refused, so one
 * environment (A0SNAP_<OPTION>, shared with a0snap-export and
 * a0snap-import) serves every command. The options that would do harm if
 * they came from a forgotten variable - who to erase, --unsign,
 * --encrypt-to, --include-damaged - are never taken from the environment.
 */
#include "snapshots.h"

#include "cli_main.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fputs("Usage: a0snap-snapshots list DIR [--json]\n"
          "       a0snap-snapshots verify DIR|FILE... [--json]\n"
          "       a0snap-snapshots diff OLD NEW [--json]\n"
          "       a0snap-snapshots prune DIR [--keep-last N] [--keep-within DAYS] [--dry-run]\n"
          "       a0snap-snapshots erase DIR --user-id ID | --email ADDRESS [--dry-run]\n"
          "Manage a folder of snapshots (a0snap-export -o DIR/ names them\n"
          "<domain>-<UTC time>.ndjson.gz[.age]): list, verify, compare, prune, and erase one\n"
          "person from all of them.\n"
          "\n"
          "Commands:\n"
          "  list DIR                   one line per snapshot: tenant, time, users, privacy,\n"
          "                             encryption, signer, and whether it verifies\n"
          "  verify DIR|FILE...         verify every snapshot; exit 3 naming each that does not\n"
          "  diff OLD NEW               what changed between two snapshots (a0snap-import's "
          "diff)\n"
          "  prune DIR                  delete old snapshots, per source tenant (from the header)\n"
          "  erase DIR                  remove one person from every snapshot of the folder, seal\n"
          "                             each again, and log it in DIR/erasure-log.ndjson\n"
          "\n"
          "Prune:\n"
          "      --keep-last N          keep the newest N snapshots of each tenant\n"
          "      --keep-within DAYS     keep every snapshot younger than DAYS days (at least one\n"
          "                             of the two; with both, what either keeps is kept)\n"
          "      --include-damaged      also delete snapshots that do not verify (default: keep\n"
          "                             and name them)\n"
          "      --dry-run              say what would be deleted; delete nothing\n"
          "\n",
          f);
    fputs("Erase:\n"
          "      --user-id ID           the person's user id (also as a linked identity)\n"
          "      --email ADDRESS        the person's email (also inside ids: samlp|c|ADDRESS)\n"
          "      --pseudonym-key-file FILE  the pseudonym key, mode 0600 (default:\n"
          "                             $A0SNAP_PSEUDONYM_KEY): finds the person in "
          "pseudonymised\n"
          "                             snapshots and keys the log's digest; required\n"
          "      --sign-key FILE        sign again the snapshots that were signed (Ed25519, PEM,\n"
          "                             0600); a signed snapshot is refused without it\n"
          "      --unsign               write the snapshots that were signed without a signature\n"
          "      --encrypt-to RECIPIENT encrypt the encrypted snapshots to this age1... key or\n"
          "                             file of keys (repeatable; default: the recipients each\n"
          "                             header records)\n"
          "      --dry-run              say what would change; write nothing\n"
          "\n"
          "Every command:\n"
          "      --identity FILE        an age identity file (mode 0600) that opens encrypted\n"
          "                             snapshots (default: $A0SNAP_IDENTITY_FILE)\n"
          "      --json                 print one JSON document on stdout\n"
          "  -q, --quiet                no information on stderr\n"
          "  -v, --verbose              more information on stderr\n"
          "  -h, --help                 show this help\n"
          "  -V, --version              show versions\n"
          "\n"
          "Environment: A0SNAP_IDENTITY_FILE, A0SNAP_PSEUDONYM_KEY, A0SNAP_TRUSTED_KEYS (PEM\n"
          "public keys: verify and list then also require a signature by one of them).\n"
          "Options can also be set as A0SNAP_<OPTION> (e.g. A0SNAP_KEEP_LAST=7); the command\n"
          "line wins; --user-id, --email, --unsign, --encrypt-to and --include-damaged never\n"
          "come from the environment.\n"
          "\n"
          "Exit codes: 0 ok, 2 usage or an encrypted snapshot no identity opens, 3 a snapshot\n"
          "damaged or refused, 4 refused by a safety rule (key file open to others, another\n"
          "pseudonym key, a signed snapshot without --sign-key), 7 local file or disk,\n"
          "1 internal error.\n"
          "\n"
          "Examples:\n"
          "  a0snap-snapshots list archive/\n"
          "  a0snap-snapshots prune archive/ --keep-last 7 --keep-within 30 --dry-run\n"
          "  a0snap-snapshots erase archive/ --email ann@example.com --sign-key signing.pem\n",
          f);
}

enum {
    OPT_JSON = 256,
    OPT_IDENTITY,
    OPT_DRY_RUN,
    OPT_KEEP_LAST,
    OPT_KEEP_WITHIN,
    OPT_INCLUDE_DAMAGED,
    OPT_USER_ID,
    OPT_EMAIL,
    OPT_KEY_FILE,
    OPT_SIGN_KEY,
    OPT_UNSIGN,
    OPT_ENCRYPT_TO,
};

static const struct option longopts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"identity", required_argument, NULL, OPT_IDENTITY},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"keep-last", required_argument, NULL, OPT_KEEP_LAST},
    {"keep-within", required_argument, NULL, OPT_KEEP_WITHIN},
    {"include-damaged", no_argument, NULL, OPT_INCLUDE_DAMAGED},
    {"user-id", required_argument, NULL, OPT_USER_ID},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"pseudonym-key-file", required_argument, NULL, OPT_KEY_FILE},
    {"sign-key", required_argument, NULL, OPT_SIGN_KEY},
    {"unsign", no_argument, NULL, OPT_UNSIGN},
    {"encrypt-to", required_argument, NULL, OPT_ENCRYPT_TO},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Prune's options. 1: not one of them. */
static int option_prune(struct snapshots_opts *o, int ch, char *arg, struct err *e)
{
    switch (ch) {
    case OPT_KEEP_LAST:
        if (!cli_parse_long(arg, 1, 1000000, &o->keep_last))
            return err_set(e, ERR_USAGE,
                           "--keep-last wants a number of snapshots (1 or more), "
                           "not '%s'",
                           arg);
        return 0;
    case OPT_KEEP_WITHIN:
        if (!cli_parse_long(arg, 1, 36500, &o->keep_within_days))
            return err_set(e, ERR_USAGE,
                           "--keep-within wants a number of days (1 or more), not "
                           "'%s'",
                           arg);
        return 0;
    case OPT_INCLUDE_DAMAGED:
        o->include_damaged = true;
        return 0;
    default:
        return 1;
    }
}

/* Erase's options. 1: not one of them. */
static int option_erase(struct snapshots_opts *o, int ch, char *arg, struct err *e)
{
    switch (ch) {
    case OPT_USER_ID:
        o->user_id = arg;
        return 0;
    case OPT_EMAIL:
        o->email = arg;
        return 0;
    case OPT_KEY_FILE:
        o->key_file = arg;
        return 0;
    case OPT_SIGN_KEY:
        o->sign_key = arg;
        return 0;
    case OPT_UNSIGN:
        o->unsign = true;
        return 0;
    case OPT_ENCRYPT_TO:
        if (o->n_encrypt_to >= SNAPSHOTS_MAX_LIST)
            return err_set(e, ERR_USAGE, "too many --encrypt-to options");
        o->encrypt_to[o->n_encrypt_to++] = arg;
        return 0;
    default:
        return 1;
    }
}

static int option(void *opts, int ch, char *arg, struct err *e)
{
    struct snapshots_opts *o = opts;
    int r;

    switch (ch) {
    case OPT_JSON:
        o->json = true;
        return 0;
    case OPT_IDENTITY:
        o->identity_file = arg;
        return 0;
    case OPT_DRY_RUN:
        o->dry_run = true;
        return 0;
    default:
        break;
    }
    r = option_prune(o, ch, arg, e);
    if (r == 1)
        r = option_erase(o, ch, arg, e);
    return r;
}

static const struct {
    const char *name;
    enum snapshots_cmd cmd;
    size_t min_args, max_args; /* after the command's name */
    const char *args;
} commands[] = {
    {"list", CMD_LIST, 1, 1, "DIR"},     {"verify", CMD_VERIFY, 1, SIZE_MAX, "DIR|FILE..."},
    {"diff", CMD_DIFF, 2, 2, "OLD NEW"}, {"prune", CMD_PRUNE, 1, 1, "DIR"},
    {"erase", CMD_ERASE, 1, 1, "DIR"},
};

/* What erase needs besides its folder. */
static int check_erase(const struct snapshots_opts *o, struct err *e)
{
    const char *v = o->user_id ? o->user_id : o->email;

    if (!o->user_id == !o->email)
        return err_set(e, ERR_USAGE, "erase wants exactly one of --user-id ID and --email ADDRESS");
    if (!v[strspn(v, " \t")])
        return err_set(e, ERR_USAGE, "erase: the %s is empty", o->user_id ? "user id" : "email");
    if (o->email && !strchr(o->email, '@'))
        return err_set(e, ERR_USAGE, "--email wants an email address, not '%s'", o->email);
    if (o->sign_key && o->unsign)
        return err_set(e, ERR_USAGE, "--sign-key and --unsign exclude each other");
    return 0;
}

/* The command and its arguments, then what the command needs. */
static int finish(void *opts, int n, char **args, struct err *e)
{
    struct snapshots_opts *o = opts;
    size_t i, got;

    if (n < 1)
        return err_set(e, ERR_USAGE, "no command: list, verify, diff, prune or erase (see --help)");
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(args[0], commands[i].name) == 0)
            break;
    if (i == sizeof(commands) / sizeof(commands[0]))
        return err_set(e, ERR_USAGE,
                       "unknown command '%s': list, verify, diff, prune or erase (see --help)",
                       args[0]);
    o->cmd = commands[i].cmd;
    o->args = args + 1;
    o->n_args = got = (size_t)n - 1;
    if (got < commands[i].min_args || got > commands[i].max_args)
        return err_set(e, ERR_USAGE, "%s wants %s (see --help)", commands[i].name,
                       commands[i].args);
    if (o->cmd == CMD_PRUNE && !o->keep_last && !o->keep_within_days)
        return err_set(e, ERR_USAGE, "prune needs --keep-last N, --keep-within DAYS, or both");
    if (o->cmd == CMD_ERASE)
        return check_erase(o, e);
    return 0;
}

static int run(void *opts, struct err *e)
{
    struct snapshots_opts *o = opts;
    struct snapshots_keys k;
    int64_t now = (int64_t)time(NULL);
    int rc = -1;

    if (snapshots_keys_load(&k, o, e) < 0)
        goto out;
    switch (o->cmd) {
    case CMD_LIST:
        rc = snapshots_list(o, &k, e);
        break;
    case CMD_VERIFY:
        rc = snapshots_verify(o, &k, e);
        break;
    case CMD_DIFF:
        rc = snapshots_diff(o, &k, e);
        break;
    case CMD_PRUNE:
        rc = snapshots_prune(o, &k, now, e);
        break;
    case CMD_ERASE:
        rc = snapshots_erase(o, &k, now, e);
        break;
    case CMD_NONE:
        rc = err_set(e, ERR_INTERNAL, "no command");
        break;
    }
out:
    snapshots_keys_release(&k);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const env_skip[] = {"help",   "version",    "user-id",         "email",
                                           "unsign", "encrypt-to", "include-damaged", NULL};
    static const char *const env_lists[] = {NULL};
    static const struct cli_program program = {
        "a0snap-snapshots", ":qvhV", longopts, env_skip, env_lists, usage, option, finish, run,
    };
    struct snapshots_opts o;

    memset(&o, 0, sizeof(o));
    return cli_main(&program, &o, argc, argv);
}
