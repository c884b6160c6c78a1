/*
 * cli_main.h - what both programs' main() do around their own options and
 * work: options from the environment and then argv (cli_env.h), -q/-v,
 * --help and --version, the log level, the HTTP library's global setup,
 * one run, its error printed once and mapped to a documented exit code
 * (exitcode.h).
 *
 * A program describes itself in a struct cli_program: its getopt tables,
 * what may not come from the environment, its usage text, and callbacks
 * for its own options, for what follows them, and for the run. The
 * options struct is the program's; cli_main() passes it to each callback.
 *
 * Part of the a0snap_cli library (only the programs use it).
 */
#ifndef A0SNAP_CLI_MAIN_H
#define A0SNAP_CLI_MAIN_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "err.h"

struct cli_program {
    const char *name;              /* "a0snap-import": the log prefix and --version's */
    const char *shortopts;         /* getopt's, starting with ':'; q, v, h, V handled here */
    const struct option *longopts; /* "quiet", "verbose", "help", "version" among them */
    const char *const *env_skip;   /* options never taken from the environment */
    const char *const *env_lists;  /* options whose variable is a comma-separated list */
    void (*usage)(FILE *f);
    /* One of the program's own options (ch as getopt_long returns it):
     * 0 taken, 1 not an option of the program's, -1 refused (e says why). */
    int (*option)(void *opts, int ch, char *arg, struct err *e);
    /* The n arguments left after the options, and the combinations. */
    int (*finish)(void *opts, int n, char **args, struct err *e);
    /* The work. Its failure is printed and mapped to an exit code here. */
    int (*run)(void *opts, struct err *e);
};

/*
 * Does it all and returns the exit code: EXIT_USAGE for bad options
 * (printed), EXIT_OK after --help or --version (the first one met stops
 * the parsing), EXIT_FAILURE_GENERIC when the HTTP library cannot start,
 * else the run's result through exit_code_for().
 */
int cli_main(const struct cli_program *p, void *opts, int argc, char **argv);

/* ---- the options both programs take, with one meaning ------------------
 * Their getopt codes (above any program's own), their table entries (one
 * CLI_COMMON_LONGOPTS in each program's longopts) and their parsing. */
enum {
    CLI_OPT_JSON = 0x1000,
    CLI_OPT_API_URL,
    CLI_OPT_POLICY,
    CLI_OPT_KEY_FILE,
    CLI_OPT_NO_ANON,
    CLI_OPT_SORT_MEM,
};

/* clang-format off */
#define CLI_COMMON_LONGOPTS                                                   \
    {"json", no_argument, NULL, CLI_OPT_JSON},                                \
    {"quiet", no_argument, NULL, 'q'},                                        \
    {"verbose", no_argument, NULL, 'v'},                                      \
    {"api-url", required_argument, NULL, CLI_OPT_API_URL},                    \
    {"policy", required_argument, NULL, CLI_OPT_POLICY},                      \
    {"pseudonym-key-file", required_argument, NULL, CLI_OPT_KEY_FILE},        \
    {"no-anonymize", no_argument, NULL, CLI_OPT_NO_ANON},                     \
    {"sort-memory", required_argument, NULL, CLI_OPT_SORT_MEM},               \
    {"help", no_argument, NULL, 'h'},                                         \
    {"version", no_argument, NULL, 'V'}
/* clang-format on */

/* Where a program keeps the common options' values (in its own options
 * struct): --json, --api-url, --policy, --pseudonym-key-file,
 * --no-anonymize, --sort-memory (megabytes, kept in bytes). */
struct cli_common {
    bool *json;
    const char **api_url;
    const char **policy_path;
    const char **key_file;
    bool *no_anonymize;
    size_t *sort_mem;
};

/* One option, if it is a common one: 0 taken, 1 not a common option, -1
 * refused (e says why). A program's option callback calls it first. */
int cli_common_option(const struct cli_common *c, int ch, const char *arg, struct err *e);

/* Parses a decimal integer from min to max into *out: false for anything
 * else (the caller says what it wanted). */
bool cli_parse_long(const char *arg, long min, long max, long *out);

/* Prints j on stdout for --json (indented, keys sorted, a newline) and
 * releases it; NULL (out of memory) prints nothing. */
void cli_print_json(json_t *j);

#endif
