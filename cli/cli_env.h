/*
 * cli_env.h - every long option can also come from the environment, for CI
 * pipelines: --report FILE is A0SNAP_REPORT=FILE, --on-conflict=replace is
 * A0SNAP_ON_CONFLICT=replace, a flag such as --json is A0SNAP_JSON=1
 * (1/true/yes; 0/false/no/empty leave it off). Options that may be repeated
 * take a comma-separated list (A0SNAP_CONNECTION=a,b). The command line
 * wins: environment values are placed before the real arguments.
 *
 * Part of the a0snap_cli library (only the programs use it).
 */
#ifndef A0SNAP_CLI_ENV_H
#define A0SNAP_CLI_ENV_H

#include <getopt.h>
#include <stddef.h>

#include "err.h"

/* The environment variable for a long option: "A0SNAP_" + upper case, '-'
 * becomes '_'. out must hold 96 bytes. */
void cli_env_name(char *out, size_t outlen, const char *option);

/* Builds a new argv: argv[0], the options found in the environment, then
 * argv[1..]. Options in `skip` are never read from the environment (help,
 * version, modes); those in `lists` are split on commas. *out_argv and its
 * strings are malloc'd: free with cli_env_free(). */
int cli_env_args(const struct option *longopts, const char *const *skip, const char *const *lists,
                 int argc, char **argv, int *out_argc, char ***out_argv, struct err *e);
void cli_env_free(int argc, char **argv);

#endif
