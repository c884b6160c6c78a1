/*
 * keeprule.h - --keep rules: which target users a --prune must never
 * delete (test robots, staging-only accounts).
 *
 * A rule is PATH=PATTERN: PATH a dotted path into the user ("email",
 * "user_id", "app_metadata.robot", "user_metadata.team.name"), PATTERN a
 * shell glob (fnmatch, case-insensitive) matched against the value as text:
 * strings as they are, true/false, numbers in decimal. Examples:
 *   email=*@staging.example.com     app_metadata.test_account=true
 * Pure: no I/O.
 */
#ifndef A0SNAP_KEEPRULE_H
#define A0SNAP_KEEPRULE_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

/* Checks a rule's syntax; fails with ERR_USAGE naming the rule. */
int keeprule_check(const char *rule, struct err *e);

/* True if the user matches the rule (a missing path never matches). */
bool keeprule_match(const char *rule, const json_t *user);

#endif
