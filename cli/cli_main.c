/*
 * cli_main.c - see cli_main.h. The order is the programs' contract: the
 * environment's options go before argv's (so the command line wins), the
 * log level is set only once every option is read, and nothing touches the
 * network before the options are known to be right.
 */
#include "cli_main.h"

#include "cli_env.h"
#include "exitcode.h"
#include "http.h"
#include "log.h"

#include <openssl/opensslv.h>
#include <stdlib.h>
#include <zlib.h>

/* What getopt's loop ended on. */
enum parsed { PARSED_OK, PARSED_FAILED, PARSED_DONE /* --help, --version */ };

static void version(const char *name)
{
    printf("%s %s\n", name, A0SNAP_VERSION);
    printf("libcurl: %s\njansson: %s\nzlib: %s\nOpenSSL: %s\n", http_curl_version(),
           jansson_version_str(), zlibVersion(), OPENSSL_VERSION_TEXT);
}

static enum parsed parse(const struct cli_program *p, void *opts, int argc, char **argv,
                         int *verbosity, struct err *e)
{
    int ch, r;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, p->shortopts, p->longopts, NULL)) != -1) {
        switch (ch) {
        case 'q':
            *verbosity = LOG_QUIET;
            break;
        case 'v':
            *verbosity = LOG_VERBOSE;
            break;
        case 'h':
            p->usage(stdout);
            return PARSED_DONE;
        case 'V':
            version(p->name);
            return PARSED_DONE;
        case ':':
            err_set(e, ERR_USAGE, "option '%s' needs a value", argv[optind - 1]);
            return PARSED_FAILED;
        default:
            r = ch == '?' ? 1 : p->option(opts, ch, optarg, e);
            if (r == 1)
                err_set(e, ERR_USAGE, "unknown option '%s' (see --help)", argv[optind - 1]);
            if (r != 0)
                return PARSED_FAILED;
            break;
        }
    }
    return p->finish(opts, argc - optind, argv + optind, e) < 0 ? PARSED_FAILED : PARSED_OK;
}

int cli_main(const struct cli_program *p, void *opts, int argc, char **argv)
{
    struct err e;
    char **eargv = NULL;
    int eargc = 0, verbosity = LOG_NORMAL, code = EXIT_USAGE, rc;
    enum parsed parsed;

    err_clear(&e);
    log_init(p->name);
    if (cli_env_args(p->longopts, p->env_skip, p->env_lists, argc, argv, &eargc, &eargv, &e) < 0) {
        log_err(&e);
        return EXIT_USAGE;
    }
    /* the options point into eargv until the end */
    parsed = parse(p, opts, eargc, eargv, &verbosity, &e);
    if (parsed != PARSED_OK) {
        if (parsed == PARSED_FAILED)
            log_err(&e);
        code = parsed == PARSED_DONE ? EXIT_OK : EXIT_USAGE;
        goto out;
    }
    log_set_level((enum log_level)verbosity);
    if (http_global_init(&e) < 0) {
        log_err(&e);
        code = EXIT_FAILURE_GENERIC;
        goto out;
    }
    rc = p->run(opts, &e);
    code = rc < 0 ? exit_code_for(e.code) : EXIT_OK;
    if (rc < 0)
        log_err(&e);
    http_global_cleanup();
out:
    cli_env_free(eargc, eargv);
    return code;
}

bool cli_parse_long(const char *arg, long min, long max, long *out)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (*end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int cli_common_option(const struct cli_common *c, int ch, const char *arg, struct err *e)
{
    long mb;

    switch (ch) {
    case CLI_OPT_JSON:
        *c->json = true;
        return 0;
    case CLI_OPT_API_URL:
        *c->api_url = arg;
        return 0;
    case CLI_OPT_POLICY:
        *c->policy_path = arg;
        return 0;
    case CLI_OPT_KEY_FILE:
        *c->key_file = arg;
        return 0;
    case CLI_OPT_NO_ANON:
        *c->no_anonymize = true;
        return 0;
    case CLI_OPT_SORT_MEM:
        if (!cli_parse_long(arg, 1, 65536, &mb))
            return err_set(e, ERR_USAGE, "--sort-memory wants megabytes (1-65536), not '%s'", arg);
        *c->sort_mem = (size_t)mb << 20;
        return 0;
    default:
        return 1;
    }
}

void cli_print_json(json_t *j)
{
    if (!j)
        return;
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(j);
}
