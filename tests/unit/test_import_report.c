/*
 * Unit tests for the report's outcome records (import/import_report.c):
 * each is written as text without a json_t, and must be byte for byte what
 * json_dumps(COMPACT | SORT_KEYS) writes for the same line, including the
 * strings jansson escapes and those the text path leaves to jansson. And
 * the plan's tally (import/import_tally.c) reads such a record, parsed,
 * as it reads the same line as a json_t. No network; the sort stays in
 * memory.
 */
#include "canonjson.h"
#include "extsort.h"
#include "harness.h"
#include "import.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

/* What the report line must be: jansson's dump of the same object. */
static char *reference(const char *uid, const char *email, const char *outcome, const char *reason,
                       json_t *fields)
{
    json_t *line = json_object();
    char *s;

    json_object_set_new(line, "user_id", json_string(uid));
    json_object_set_new(line, "email", email ? json_string(email) : json_null());
    json_object_set_new(line, "outcome", json_string(outcome));
    if (reason)
        json_object_set_new(line, "reason", json_string(reason));
    if (json_array_size(fields))
        json_object_set(line, "fields", fields);
    s = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(line);
    return s;
}

/* Notes one outcome and reads back the one record it makes. */
static char *noted(const char *uid, const char *email, const char *outcome, const char *reason,
                   json_t *fields)
{
    struct import_ctx c;
    struct err e;
    const char *key, *rec;
    size_t klen, rlen;
    char *out = NULL;

    memset(&c, 0, sizeof(c));
    CHECK_INT(extsort_new(&c.outcomes, tmpdir, 1 << 20, &e), 0);
    CHECK_INT(import_note_outcome(&c, uid, email, outcome, reason, fields, &e), 0);
    CHECK_INT(extsort_finish(c.outcomes, &e), 0);
    if (extsort_next(c.outcomes, &key, &klen, &rec, &rlen, &e) == 1) {
        CHECK(klen == strlen(uid) && memcmp(key, uid, klen) == 0);
        out = strndup(rec, rlen);
    }
    extsort_free(c.outcomes);
    return out;
}

static void same_as_jansson(const char *uid, const char *email, const char *outcome,
                            const char *reason, const char *fields_text)
{
    json_t *fields = fields_text ? json_loads(fields_text, 0, NULL) : NULL;
    char *want = reference(uid, email, outcome, reason, fields);
    char *got = noted(uid, email, outcome, reason, fields);

    CHECK(got != NULL);
    if (got)
        CHECK_STR(got, want);
    free(got);
    free(want);
    json_decref(fields);
}

static void test_records_as_jansson_writes_them(void)
{
    same_as_jansson("auth0|1", "a@example.com", "created", NULL,
                    "[\"email\",\"name\",\"user_metadata\"]");
    same_as_jansson("auth0|2", NULL, "deleted", "not in the snapshot (--prune)", NULL);
    same_as_jansson("auth0|3", "b@example.com", "unchanged", NULL, "[]");
    /* what jansson escapes: quotes, backslashes, controls; '/' and UTF-8 not */
    same_as_jansson("auth0|\"q\\", "t\tab/\x01\x7f@ex\xc3\xa9mple.com", "skipped",
                    "conflict: target user 'x\ny' already has this email", NULL);
    same_as_jansson("", "\xe6\x9d\xb1\xe4\xba\xac@example.jp", "updated", "r",
                    "[\"blocked\",\"phone_number\"]");
}

static void test_records_jansson_declines(void)
{
    /* Not UTF-8: the text path declines, the jansson path then writes what
     * jansson writes (json_string refuses the value, so the key is left
     * out, as the record always did). */
    same_as_jansson("auth0|4", "bad\xff@example.com", "created", NULL, NULL);
    same_as_jansson("auth0|5", "c@example.com", "failed", "bad \xc3 byte", NULL);
}

/* The printout holds a line made with fmt. */
static void expect_line(const char *printout, const char *fmt, ...)
{
    char line[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!strstr(printout, line))
        fprintf(stderr, "no line '%s' in:\n%s", line, printout);
    CHECK(strstr(printout, line) != NULL);
}

/* The tally reads a record, parsed by canonjson, as it reads it as a
 * json_t: both tallies print the same plan. */
static void test_tally_text_and_json_agree(void)
{
    static const char *const lines[] = {
        "{\"email\":\"a@x\",\"fields\":[\"email\",\"name\"],\"outcome\":\"created\",\"user_id\":"
        "\"u1\"}",
        "{\"email\":null,\"outcome\":\"deleted\",\"reason\":\"not in the snapshot (--prune)\","
        "\"user_id\":\"u2\"}",
        "{\"email\":\"c@x\",\"outcome\":\"skipped\",\"reason\":\"conflict: target user 'u9' "
        "already has this email (--on-conflict=replace deletes it)\",\"user_id\":\"u3\"}",
        "{\"email\":\"d@x\",\"fields\":[\"name\",\"n\\u0001x\"],\"outcome\":\"updated\","
        "\"user_id\":\"u4\"}",
        "{\"a0snap\":\"import-summary\",\"created\":1}",
    };
    struct import_tally *by_text = import_tally_new(), *by_json = import_tally_new();
    struct import_opts o;
    struct import_ctx c;
    struct canonjson cj;
    struct err e;
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    FILE *fa, *fb;

    canonjson_init(&cj);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        CHECK_INT(canonjson_parse(&cj, lines[i], strlen(lines[i]), &e), 1);
        CHECK_INT(import_tally_text(by_text, &cj, &e), 0);
        CHECK_INT(import_tally_json(by_json, j, &e), 0);
        json_decref(j);
    }
    canonjson_release(&cj);
    memset(&o, 0, sizeof(o));
    memset(&c, 0, sizeof(c));
    o.target = "staging.example.com";
    c.opts = &o;
    fa = open_memstream(&a, &alen);
    fb = open_memstream(&b, &blen);
    import_print_plan(&c, by_text, "r.ndjson", fa);
    import_print_plan(&c, by_json, "r.ndjson", fb);
    fclose(fa);
    fclose(fb);
    CHECK_STR(a, b);
    expect_line(a, "  %-16s %8d\n", "create", 1);
    expect_line(a, "  %-16s %8d\n", "name", 2);
    expect_line(a, "  %-16s %8d\n", "n\x01x", 1);
    expect_line(a, "  %8d  %s\n", 1, "skipped: conflict: target user");
    CHECK(strstr(a, "Deletions:\n  u2  \n") != NULL);
    free(a);
    free(b);
    import_tally_free(by_text);
    import_tally_free(by_json);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/a0snap-test-report-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_records_as_jansson_writes_them);
    RUN(test_records_jansson_declines);
    RUN(test_tally_text_and_json_agree);
    rmdir(tmpdir);
    return harness_done();
}
