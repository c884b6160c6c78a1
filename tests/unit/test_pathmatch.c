/* Unit tests for pathmatch.c: tables of pattern, path -> match. */
#include "harness.h"
#include "pathmatch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct match_case {
    const char *pattern;
    const char *path; /* concrete text form: "*" is an array element */
    bool expect;
};

static const struct match_case match_cases[] = {
    /* one-segment wildcard */
    {"user_metadata.*.city", "user_metadata.home.city", true},
    {"user_metadata.*.city", "user_metadata.home.street", false},
    {"user_metadata.*.city", "user_metadata.city", false},
    {"user_metadata.*.city", "user_metadata.a.b.city", false},
    {"user_metadata.*.city", "app_metadata.home.city", false},
    /* arrays: "*" matches an element, a literal index does not */
    {"user_metadata.addresses.*.city", "user_metadata.addresses.*.city", true},
    {"user_metadata.addresses.0.city", "user_metadata.addresses.*.city", false},
    {"user_metadata.addresses.*", "user_metadata.addresses.*", true},
    {"user_metadata.addresses", "user_metadata.addresses.*", false},
    /* "*" prefixes */
    {"*.phone", "user_metadata.phone", true},
    {"*.phone", "app_metadata.phone", true},
    {"*.phone", "user_metadata.x.phone", false},
    {"*", "user_metadata", true},
    {"*", "user_metadata.a", false},
    /* "**": zero or more segments */
    {"**.email", "user_metadata.email", true},
    {"**.email", "app_metadata.a.b.*.email", true},
    {"**.email", "email", true},
    {"**.email", "user_metadata.emails", false},
    {"**.email", "user_metadata.email.primary", false},
    {"user_metadata.**", "user_metadata", true},
    {"user_metadata.**", "user_metadata.a.*.b", true},
    {"user_metadata.**", "app_metadata.a", false},
    {"user_metadata.**.city", "user_metadata.city", true},
    {"user_metadata.**.city", "user_metadata.a.*.city", true},
    {"a.**.b.**.c", "a.x.b.y.z.c", true},
    {"a.**.b.**.c", "a.b.c", true},
    {"a.**.b.**.c", "a.c.b", false},
    {"**", "anything.at.*.all", true},
    /* globs inside a segment name keys only */
    {"user_metadata.addr*", "user_metadata.address", true},
    {"user_metadata.addr*", "user_metadata.home_address", false},
    {"user_metadata.*addr*", "user_metadata.home_address", true},
    {"user_metadata.tags.*x", "user_metadata.tags.*", false},
    /* exact keys, case-sensitive */
    {"app_metadata.plan", "app_metadata.plan", true},
    {"app_metadata.plan", "app_metadata.Plan", false},
    {"app_metadata.plan", "app_metadata.plan.id", false},
    /* escapes */
    {"user_metadata.a\\.b", "user_metadata.a\\.b", true},
    {"user_metadata.a\\.b", "user_metadata.a.b", false},
    {"user_metadata.\\*", "user_metadata.\\*", true},
    {"user_metadata.\\*", "user_metadata.*", false},
    {"user_metadata.*", "user_metadata.\\*", true},
    {"user_metadata.a\\\\b", "user_metadata.a\\\\b", true},
};

static void test_match_table(void)
{
    size_t i;

    for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        const struct match_case *t = &match_cases[i];
        struct pathmatch *m = NULL;
        struct err e;
        bool got;

        err_clear(&e);
        CHECK_INT(pathmatch_compile(&m, t->pattern, &e), 0);
        if (!m)
            continue;
        got = pathmatch_match_text(m, t->path);
        if (got != t->expect)
            fprintf(stderr, "  pattern '%s' path '%s': got %d, expected %d\n", t->pattern, t->path,
                    got, t->expect);
        CHECK(got == t->expect);
        pathmatch_free(m);
    }
}

static void test_match_segments(void)
{
    /* The data side as the transform sees it: NULL for array elements. */
    const char *segs[] = {"user_metadata", "addresses", NULL, "city"};
    const char *dotted[] = {"user_metadata", "a.b"};
    struct pathmatch *m = NULL;
    struct err e;

    CHECK_INT(pathmatch_compile(&m, "user_metadata.addresses.*.city", &e), 0);
    CHECK(pathmatch_match(m, segs, 4));
    CHECK(!pathmatch_match(m, segs, 3));
    CHECK_STR(pathmatch_source(m), "user_metadata.addresses.*.city");
    CHECK_INT(pathmatch_nsegs(m), 4);
    CHECK(pathmatch_seg_accepts(m, 0, "user_metadata"));
    CHECK(!pathmatch_seg_accepts(m, 0, "app_metadata"));
    CHECK(pathmatch_seg_accepts(m, 2, "anything"));
    CHECK(!pathmatch_seg_accepts(m, 9, "x"));
    pathmatch_free(m);

    CHECK_INT(pathmatch_compile(&m, "user_metadata.a\\.b", &e), 0);
    CHECK(pathmatch_match(m, dotted, 2));
    pathmatch_free(m);
    pathmatch_free(NULL);
}

struct glob_case {
    const char *pattern, *s;
    bool expect;
};

static const struct glob_case glob_cases[] = {
    {"*email*", "workemail", true},
    {"*email*", "email", true},
    {"*email*", "mail", false},
    {"birth*", "birthday", true},
    {"birth*", "dateofbirth", false},
    {"*name", "firstname", true},
    {"*name", "names", false},
    {"ip", "ip", true},
    {"ip", "zip", false},
    {"a\\*b", "a*b", true},
    {"a\\*b", "axb", false},
    {"*", "", true},
    {"a*", "", false},
    {"**a", "a", true},
    {"*a*b", "xaxb", true},
    {"*a*b", "xabx", false},
    {"", "", true},
    {"", "x", false},
    {"ip*addr*", "ipv4address", true},
};

static void test_glob_table(void)
{
    size_t i;

    for (i = 0; i < sizeof(glob_cases) / sizeof(glob_cases[0]); i++) {
        bool got = pathmatch_glob(glob_cases[i].pattern, glob_cases[i].s);
        if (got != glob_cases[i].expect)
            fprintf(stderr, "  glob '%s' on '%s': got %d\n", glob_cases[i].pattern, glob_cases[i].s,
                    got);
        CHECK(got == glob_cases[i].expect);
    }
}

static void test_compile_errors(void)
{
    static const struct {
        const char *pattern, *msg;
    } cases[] = {
        {"", "empty path pattern"}, {"a..b", "empty segment"},        {".a", "empty segment"},
        {"a.", "empty segment"},    {"a\\", "ends with a backslash"},
    };
    char many[400] = "";
    struct pathmatch *m;
    struct err e;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        m = (struct pathmatch *)&e; /* must be reset to NULL on failure */
        err_clear(&e);
        CHECK_INT(pathmatch_compile(&m, cases[i].pattern, &e), -1);
        CHECK(m == NULL);
        CHECK_INT(e.code, ERR_USAGE);
        CHECK(strstr(e.msg, cases[i].msg) != NULL);
    }
    for (i = 0; i < PATHMATCH_MAX_SEGS + 1; i++)
        strcat(many, i ? ".a" : "a");
    CHECK_INT(pathmatch_compile(&m, many, &e), -1);
    CHECK(strstr(e.msg, "more than 64 segments") != NULL);
    many[strlen(many) - 2] = '\0'; /* exactly the maximum */
    CHECK_INT(pathmatch_compile(&m, many, &e), 0);
    pathmatch_free(m);
}

static void test_path_roundtrip(void)
{
    const char *keys[] = {"user_metadata", "a.b", "x*", "c\\d", NULL, "plain"};
    struct pathmatch_path p;
    struct buf b;
    struct err e;
    size_t i;

    buf_init(&b, 1024);
    for (i = 0; i < 6; i++)
        CHECK_INT(pathmatch_append_seg(&b, keys[i], &e), 0);
    CHECK_STR(buf_str(&b), "user_metadata.a\\.b.x\\*.c\\\\d.*.plain");
    pathmatch_path_init(&p);
    CHECK_INT(pathmatch_path_parse(&p, buf_str(&b), &e), 0);
    CHECK_INT(p.n, 6);
    for (i = 0; i < 6 && i < p.n; i++) {
        if (!keys[i])
            CHECK(p.segs[i] == NULL);
        else
            CHECK_STR(p.segs[i], keys[i]);
    }
    /* Reparsing reuses the struct without leaking. */
    CHECK_INT(pathmatch_path_parse(&p, "a.b", &e), 0);
    CHECK_INT(p.n, 2);
    CHECK_INT(pathmatch_path_parse(&p, "a..b", &e), -1);
    CHECK_INT(p.n, 0);
    pathmatch_path_release(&p);
    pathmatch_path_release(&p);
    buf_release(&b);
}

int main(void)
{
    RUN(test_match_table);
    RUN(test_match_segments);
    RUN(test_glob_table);
    RUN(test_compile_errors);
    RUN(test_path_roundtrip);
    return harness_done();
}
