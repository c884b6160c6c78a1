/*
 * harness_json.h - J(text): a test's JSON literal parsed, or the test
 * program aborted with the parser's message (a typo in a test is not a
 * failed check). For the unit tests that build users and records.
 */
#ifndef A0SNAP_HARNESS_JSON_H
#define A0SNAP_HARNESS_JSON_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static inline json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

    if (!v) {
        fprintf(stderr, "bad test JSON (%s): %s\n", je.text, text);
        abort();
    }
    return v;
}

#endif
