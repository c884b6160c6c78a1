/* Unit tests for multipart.c: import bodies parsed back with a tiny multipart parser. */
#include "err.h"
#include "harness.h"
#include "multipart.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CONN "con_ABCDEFGHIJKLMNOP"

/* ---- a tiny multipart/form-data parser ----------------------------------- */

#define MAX_PARTS 8

struct part {
    char name[64];
    char filename[64];
    char ctype[64];
    const char *data;
    size_t len;
};

struct parsed {
    char boundary[128];
    struct part parts[MAX_PARTS];
    size_t n;
};

static const char *find(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle));
}

/* Copies the value of `key="..."` from a header line into out. */
static void header_param(const char *line, size_t n, const char *key, char *out, size_t outsz)
{
    char pat[64];
    const char *p, *q;

    out[0] = '\0';
    snprintf(pat, sizeof(pat), "; %s=\"", key);
    p = find(line, n, pat);
    if (!p)
        return;
    p += strlen(pat);
    q = memchr(p, '"', (size_t)(line + n - p));
    if (!q || (size_t)(q - p) >= outsz)
        return;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
}

/* Parses body strictly: every delimiter, header and CRLF where RFC 7578 puts
 * them, nothing before the first delimiter or after the closing one.
 * Returns false (printing why) on anything else. */
static bool parse_multipart(const char *body, size_t len, const char *content_type,
                            struct parsed *out)
{
    const char *ct_prefix = "multipart/form-data; boundary=";
    char delim[160];
    const char *p = body, *end = body + len;
    size_t dlen;

    memset(out, 0, sizeof(*out));
    if (strncmp(content_type, ct_prefix, strlen(ct_prefix)) != 0 ||
        strlen(content_type + strlen(ct_prefix)) >= sizeof(out->boundary)) {
        fprintf(stderr, "bad content type '%s'\n", content_type);
        return false;
    }
    strcpy(out->boundary, content_type + strlen(ct_prefix));
    snprintf(delim, sizeof(delim), "--%s", out->boundary);
    dlen = strlen(delim);
    if (len < dlen || memcmp(p, delim, dlen) != 0) {
        fprintf(stderr, "body does not start with the delimiter\n");
        return false;
    }
    p += dlen;
    for (;;) {
        const char *hdr_end, *next, *line;
        struct part *pt;
        char crlf_delim[170];

        if (end - p >= 4 && memcmp(p, "--\r\n", 4) == 0 && p + 4 == end)
            return true;
        if (end - p < 2 || memcmp(p, "\r\n", 2) != 0) {
            fprintf(stderr, "no CRLF after a delimiter\n");
            return false;
        }
        p += 2;
        if (out->n == MAX_PARTS) {
            fprintf(stderr, "too many parts\n");
            return false;
        }
        pt = &out->parts[out->n++];
        hdr_end = find(p, (size_t)(end - p), "\r\n\r\n");
        if (!hdr_end) {
            fprintf(stderr, "part without a header end\n");
            return false;
        }
        for (line = p; line < hdr_end;) {
            const char *eol = find(line, (size_t)(hdr_end + 2 - line), "\r\n");
            size_t n = (size_t)(eol - line);
            if (n >= 30 && strncmp(line, "Content-Disposition: form-data", 30) == 0) {
                header_param(line, n, "name", pt->name, sizeof(pt->name));
                header_param(line, n, "filename", pt->filename, sizeof(pt->filename));
            } else if (n > 14 && strncmp(line, "Content-Type: ", 14) == 0 &&
                       n - 14 < sizeof(pt->ctype)) {
                memcpy(pt->ctype, line + 14, n - 14);
                pt->ctype[n - 14] = '\0';
            } else {
                fprintf(stderr, "unexpected part header\n");
                return false;
            }
            line = eol + 2;
        }
        pt->data = hdr_end + 4;
        snprintf(crlf_delim, sizeof(crlf_delim), "\r\n%s", delim);
        next = find(pt->data, (size_t)(end - pt->data), crlf_delim);
        if (!next) {
            fprintf(stderr, "part without an end\n");
            return false;
        }
        pt->len = (size_t)(next - pt->data);
        p = next + strlen(crlf_delim);
    }
}

static bool part_is(const struct part *p, const char *name, const char *value)
{
    return strcmp(p->name, name) == 0 && p->len == strlen(value) &&
           memcmp(p->data, value, p->len) == 0 && !p->filename[0] && !p->ctype[0];
}

/* ---- helpers ------------------------------------------------------------- */

/* Record i: a JSON object whose size varies with i (pad bytes of padding). */
static char *make_record(size_t i, size_t pad)
{
    size_t n = pad + 64;
    char *s = malloc(n + 1);
    int k;

    if (!s)
        abort();
    k = snprintf(s, n + 1, "{\"email\":\"u%zu@x.example\",\"email_verified\":true,\"p\":\"", i);
    memset(s + k, 'a' + (char)(i % 26), pad);
    strcpy(s + k + pad, "\"}");
    return s;
}

/* Record i, exactly total bytes long (total >= 64). */
static char *make_sized(size_t i, size_t total)
{
    char *s = make_record(i, 0);
    size_t head = strlen(s) - 2;

    free(s);
    if (total < head + 2)
        abort();
    return make_record(i, total - head - 2);
}

struct taken {
    char *body, *ctype, *ext;
    size_t len;
};

static void taken_free(struct taken *t)
{
    free(t->body);
    free(t->ctype);
    free(t->ext);
}

/* Checks one body: framing, the four fields, and that its users part is a
 * JSON array whose items are, in order, records[*next...]. Advances *next. */
static void check_body(const struct taken *t, size_t max_body, const char *prefix, size_t number,
                       char **records, size_t nrec, size_t *next)
{
    struct parsed pm;
    char ext[256];
    json_error_t je;
    json_t *arr;
    size_t i;

    CHECK(t->len <= max_body);
    CHECK_INT(strlen(t->body), t->len);
    snprintf(ext, sizeof(ext), "%s-%zu", prefix, number);
    CHECK_STR(t->ext, ext);
    if (!parse_multipart(t->body, t->len, t->ctype, &pm)) {
        CHECK(!"body parses as multipart");
        return;
    }
    CHECK_INT(strlen(pm.boundary), IMPORT_BOUNDARY_LEN);
    CHECK_INT(pm.n, 5);
    if (pm.n != 5)
        return;
    CHECK(part_is(&pm.parts[0], "connection_id", CONN));
    CHECK(part_is(&pm.parts[1], "upsert", "true"));
    CHECK(part_is(&pm.parts[2], "external_id", ext));
    CHECK(part_is(&pm.parts[3], "send_completion_email", "false"));
    CHECK_STR(pm.parts[4].name, "users");
    CHECK_STR(pm.parts[4].filename, "users.json");
    CHECK_STR(pm.parts[4].ctype, "application/json");
    /* The boundary occurs nowhere but in the delimiters. */
    CHECK(find(pm.parts[4].data, pm.parts[4].len, pm.boundary) == NULL);
    arr = json_loadb(pm.parts[4].data, pm.parts[4].len, 0, &je);
    CHECK(json_is_array(arr));
    CHECK(json_array_size(arr) > 0);
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *want;
        CHECK(*next < nrec);
        if (*next >= nrec)
            break;
        want = json_loads(records[*next], 0, &je);
        CHECK(want && json_equal(json_array_get(arr, i), want));
        json_decref(want);
        (*next)++;
    }
    json_decref(arr);
}

/* ---- tests --------------------------------------------------------------- */

static void test_one_body(void)
{
    struct import_chunker *c = NULL;
    struct taken t = {0};
    struct err e;
    char *recs[3];
    size_t i, next = 0, expect_len;

    err_clear(&e);
    CHECK_INT(import_chunker_new(&c, CONN, "a0snap-run1", 0, &e), 0);
    if (!c)
        return;
    for (i = 0; i < 3; i++) {
        recs[i] = make_record(i, i * 10);
        CHECK_INT(import_chunker_add(c, recs[i], strlen(recs[i]), &e), 0);
    }
    CHECK_INT(import_chunker_count(c), 3);
    expect_len = import_chunker_body_size(c);
    CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), 0);
    CHECK_INT(t.len, expect_len);
    check_body(&t, IMPORT_BODY_DEFAULT, "a0snap-run1", 1, recs, 3, &next);
    CHECK_INT(next, 3);
    CHECK_INT(import_chunker_count(c), 0);
    CHECK_INT(import_chunker_taken(c), 1);
    /* The users part is exactly "[r0,r1,r2]". */
    {
        char want[1024];
        snprintf(want, sizeof(want), "[%s,%s,%s]\r\n", recs[0], recs[1], recs[2]);
        CHECK(find(t.body, t.len, want) != NULL);
    }
    /* An empty chunk cannot be taken. */
    taken_free(&t);
    CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(t.body == NULL && t.ctype == NULL && t.ext == NULL);
    for (i = 0; i < 3; i++)
        free(recs[i]);
    import_chunker_free(c);
    import_chunker_free(NULL);
}

/* Feeds nrec records of varying sizes through a chunker and checks every
 * body; returns the number of bodies. */
static size_t run_stream(size_t max_body, size_t max_records, size_t nrec, size_t pad_mod)
{
    struct import_chunker *c = NULL;
    struct err e;
    char **recs = calloc(nrec, sizeof(*recs));
    char *seen_ext[4096];
    size_t i, next = 0, bodies = 0, j;

    err_clear(&e);
    if (!recs || import_chunker_new(&c, CONN, "pfx", max_body, &e) < 0) {
        CHECK(!"chunker created");
        free(recs);
        return 0;
    }
    import_chunker_set_max_records(c, max_records);
    for (i = 0; i < nrec; i++)
        recs[i] = make_record(i, (i * 37) % pad_mod);
    for (i = 0; i <= nrec; i++) {
        int r = 1;
        if (i < nrec) {
            size_t before = import_chunker_body_size(c), count = import_chunker_count(c);
            size_t len = strlen(recs[i]);
            r = import_chunker_add(c, recs[i], len, &e);
            CHECK(r == 0 || r == 1);
            if (r == 1) {
                /* Refused only when really full, and nothing changed. */
                CHECK((max_records && count == max_records) || before + 1 + len > max_body);
                CHECK_INT(import_chunker_body_size(c), before);
                CHECK_INT(import_chunker_count(c), count);
            }
        }
        if (r == 1 && import_chunker_count(c) > 0) {
            struct taken t = {0};
            size_t count = import_chunker_count(c), first = next;
            CHECK(!max_records || count <= max_records);
            CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), 0);
            check_body(&t, max_body, "pfx", bodies + 1, recs, nrec, &next);
            CHECK_INT(next - first, count);
            if (bodies < sizeof(seen_ext) / sizeof(seen_ext[0])) {
                for (j = 0; j < bodies; j++)
                    CHECK(strcmp(seen_ext[j], t.ext) != 0);
                seen_ext[bodies] = t.ext;
                t.ext = NULL;
            }
            bodies++;
            taken_free(&t);
            if (i < nrec)
                CHECK_INT(import_chunker_add(c, recs[i], strlen(recs[i]), &e), 0);
        }
    }
    CHECK_INT(next, nrec);
    CHECK_INT(import_chunker_count(c), 0);
    for (j = 0; j < bodies && j < sizeof(seen_ext) / sizeof(seen_ext[0]); j++)
        free(seen_ext[j]);
    for (i = 0; i < nrec; i++)
        free(recs[i]);
    free(recs);
    import_chunker_free(c);
    return bodies;
}

static void test_many_chunks_by_size(void)
{
    /* 300 records of 51..1250 bytes (about 195 KB) in bodies of at most 6000 bytes. */
    size_t bodies = run_stream(6000, 0, 300, 1200);

    CHECK(bodies > 30);
}

static void test_many_chunks_by_count(void)
{
    CHECK_INT(run_stream(IMPORT_BODY_DEFAULT, 10, 95, 50), 10);
    /* One record per body: external ids run past one digit. */
    CHECK_INT(run_stream(IMPORT_BODY_DEFAULT, 1, 23, 10), 23);
}

static void test_record_too_big(void)
{
    struct import_chunker *c = NULL;
    struct taken t = {0};
    struct err e;
    size_t overhead, room;
    char *rec;

    CHECK_INT(import_chunker_new(&c, CONN, "big", 4000, &e), 0);
    if (!c)
        return;
    overhead = import_chunker_body_size(c); /* empty chunk: framing only */
    CHECK(overhead > 300 && overhead < 1000);
    room = 4000 - overhead;

    rec = make_sized(1, room + 1); /* one byte too many */
    CHECK_INT(strlen(rec), room + 1);
    err_clear(&e);
    CHECK_INT(import_chunker_add(c, rec, strlen(rec), &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "cannot fit") != NULL);
    CHECK_INT(import_chunker_count(c), 0);
    free(rec);

    /* Also refused with -1 (not 1) when the chunk already holds records. */
    rec = make_record(2, 10);
    CHECK_INT(import_chunker_add(c, rec, strlen(rec), &e), 0);
    free(rec);
    rec = make_sized(3, room + 1);
    CHECK_INT(import_chunker_add(c, rec, strlen(rec), &e), -1);
    CHECK_INT(import_chunker_count(c), 1);
    free(rec);
    CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), 0);
    taken_free(&t);

    /* A record that exactly fills a body is accepted and the body is exactly
     * max_body bytes (the external id "big-2" has as many digits as "big-1"). */
    rec = make_sized(4, room);
    CHECK_INT(strlen(rec), room);
    CHECK_INT(import_chunker_add(c, rec, strlen(rec), &e), 0);
    CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), 0);
    CHECK_INT(t.len, 4000);
    CHECK_STR(t.ext, "big-2");
    taken_free(&t);
    free(rec);

    CHECK_INT(import_chunker_add(c, "", 0, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    import_chunker_free(c);
}

/* The comma counts: a second record fits only if body + 1 + len <= max. */
static void test_exact_fit(void)
{
    struct import_chunker *c = NULL;
    struct taken t = {0};
    struct err e;
    size_t left;
    char *a, *b;

    CHECK_INT(import_chunker_new(&c, CONN, "fit", 3000, &e), 0);
    if (!c)
        return;
    a = make_sized(1, 700);
    CHECK_INT(import_chunker_add(c, a, strlen(a), &e), 0);
    left = 3000 - import_chunker_body_size(c); /* room for "," + the next record */
    b = make_sized(2, left);                   /* one byte too many with its comma */
    CHECK_INT(import_chunker_add(c, b, strlen(b), &e), 1);
    CHECK_INT(import_chunker_count(c), 1);
    free(b);
    b = make_sized(2, left - 1);
    CHECK_INT(import_chunker_add(c, b, strlen(b), &e), 0);
    CHECK_INT(import_chunker_body_size(c), 3000);
    CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), 0);
    CHECK_INT(t.len, 3000);
    taken_free(&t);
    free(a);
    free(b);
    import_chunker_free(c);
}

static void test_default_limit(void)
{
    struct import_chunker *c = NULL;
    struct err e;
    size_t room;
    char *rec;

    CHECK_INT(import_chunker_new(&c, CONN, "d", 0, &e), 0);
    if (!c)
        return;
    room = IMPORT_BODY_DEFAULT - import_chunker_body_size(c);
    rec = make_sized(0, room + 1);
    CHECK_INT(import_chunker_add(c, rec, strlen(rec), &e), -1);
    free(rec);
    rec = make_sized(0, room);
    CHECK_INT(import_chunker_add(c, rec, strlen(rec), &e), 0);
    CHECK_INT(import_chunker_body_size(c), IMPORT_BODY_DEFAULT);
    free(rec);
    import_chunker_free(c);
}

static void test_bad_arguments(void)
{
    static const struct {
        const char *conn, *prefix;
        size_t max;
    } cases[] = {
        {"", "p", 0},
        {NULL, "p", 0},
        {CONN, "", 0},
        {CONN, NULL, 0},
        {CONN, "p\r\nX-Evil: 1", 0},
        {"con_A\nB", "p", 0},
        {CONN, "p", IMPORT_BODY_LIMIT + 1},
        {CONN, "p", 200},
    };
    struct import_chunker *c;
    struct err e;
    size_t i;
    char longp[IMPORT_EXTERNAL_ID_PREFIX_MAX + 2];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = (struct import_chunker *)1;
        err_clear(&e);
        CHECK_INT(import_chunker_new(&c, cases[i].conn, cases[i].prefix, cases[i].max, &e), -1);
        CHECK_INT(e.code, ERR_USAGE);
        CHECK(c == NULL);
    }
    memset(longp, 'p', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    CHECK_INT(import_chunker_new(&c, CONN, longp, 0, &e), -1);
    longp[sizeof(longp) - 2] = '\0';
    CHECK_INT(import_chunker_new(&c, CONN, longp, 0, &e), 0);
    import_chunker_free(c);
    CHECK_INT(import_chunker_new(&c, CONN, "p", IMPORT_BODY_LIMIT, &e), 0);
    import_chunker_free(c);
}

/* A record holding the first candidate boundaries pushes the choice on. */
static void test_boundary_clash(void)
{
    char b0[IMPORT_BOUNDARY_LEN + 1], b1[IMPORT_BOUNDARY_LEN + 1], b2[IMPORT_BOUNDARY_LEN + 1];
    char b3[IMPORT_BOUNDARY_LEN + 1], rec[512], *recs[1] = {rec};
    struct import_chunker *c = NULL;
    struct taken t = {0};
    struct parsed pm;
    struct err e;
    size_t next = 0;

    import_chunker_boundary(42, 1, 0, b0);
    import_chunker_boundary(42, 1, 1, b1);
    import_chunker_boundary(42, 1, 2, b2);
    import_chunker_boundary(42, 1, 3, b3);
    CHECK_INT(strlen(b0), IMPORT_BOUNDARY_LEN);
    CHECK(strcmp(b0, b1) != 0 && strcmp(b1, b2) != 0 && strcmp(b2, b3) != 0);
    snprintf(rec, sizeof(rec),
             "{\"email\":\"a@x.example\",\"x\":\"%s\",\"y\":\"--%s\",\"z\":\"%s\"}", b0, b1, b2);
    CHECK_INT(import_chunker_new(&c, CONN, "clash", 0, &e), 0);
    if (!c)
        return;
    import_chunker_set_seed(c, 42);
    CHECK_INT(import_chunker_add(c, rec, strlen(rec), &e), 0);
    CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), 0);
    CHECK(parse_multipart(t.body, t.len, t.ctype, &pm));
    CHECK_STR(pm.boundary, b3);
    check_body(&t, IMPORT_BODY_DEFAULT, "clash", 1, recs, 1, &next);
    CHECK_INT(next, 1);
    taken_free(&t);

    /* Without a clash the first candidate is used; chunk 2 gets its own. */
    CHECK_INT(import_chunker_add(c, "{\"email\":\"b@x.example\"}", 23, &e), 0);
    CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), 0);
    CHECK(parse_multipart(t.body, t.len, t.ctype, &pm));
    import_chunker_boundary(42, 2, 0, b0);
    CHECK_STR(pm.boundary, b0);
    taken_free(&t);
    import_chunker_free(c);
}

/* The same input and seed give the same bytes; another seed another boundary. */
static void test_deterministic(void)
{
    struct taken t[3] = {{0}};
    struct err e;
    size_t k;

    for (k = 0; k < 3; k++) {
        struct import_chunker *c = NULL;
        CHECK_INT(import_chunker_new(&c, CONN, "det", 0, &e), 0);
        if (!c)
            return;
        if (k == 2)
            import_chunker_set_seed(c, 7);
        CHECK_INT(import_chunker_add(c, "{\"email\":\"a@x.example\"}", 23, &e), 0);
        CHECK_INT(import_chunker_take(c, &t[k].body, &t[k].len, &t[k].ctype, &t[k].ext, &e), 0);
        import_chunker_free(c);
    }
    CHECK(t[0].len == t[1].len && memcmp(t[0].body, t[1].body, t[0].len) == 0);
    CHECK_STR(t[0].ctype, t[1].ctype);
    CHECK(strcmp(t[0].ctype, t[2].ctype) != 0);
    for (k = 0; k < 3; k++)
        taken_free(&t[k]);
}

/* 100,000 records of about 1.5 KB: every byte accounted for, bodies full. */
static void test_volume(void)
{
    struct import_chunker *c = NULL;
    struct err e;
    size_t i, n = 100000, bodies = 0, total_recs = 0, min_len = (size_t)-1;
    char *rec = make_record(0, 1400);
    size_t len = strlen(rec);

    CHECK_INT(import_chunker_new(&c, CONN, "vol", 0, &e), 0);
    if (!c) {
        free(rec);
        return;
    }
    for (i = 0; i <= n; i++) {
        int r = i < n ? import_chunker_add(c, rec, len, &e) : 1;
        if (r == 1 && import_chunker_count(c)) {
            struct taken t = {0};
            size_t count = import_chunker_count(c);
            CHECK_INT(import_chunker_take(c, &t.body, &t.len, &t.ctype, &t.ext, &e), 0);
            CHECK(t.len <= IMPORT_BODY_DEFAULT);
            if (i < n && t.len < min_len)
                min_len = t.len;
            total_recs += count;
            bodies++;
            taken_free(&t);
            if (i < n)
                CHECK_INT(import_chunker_add(c, rec, len, &e), 0);
        } else {
            CHECK_INT(r, 0);
        }
    }
    CHECK_INT(total_recs, n);
    /* Every body but the last was filled to within one record of the limit. */
    CHECK(min_len + len + 1 > IMPORT_BODY_DEFAULT);
    CHECK(bodies >= n * len / IMPORT_BODY_DEFAULT);
    CHECK(bodies <= n * len / IMPORT_BODY_DEFAULT + 2);
    free(rec);
    import_chunker_free(c);
}

int main(void)
{
    RUN(test_one_body);
    RUN(test_many_chunks_by_size);
    RUN(test_many_chunks_by_count);
    RUN(test_record_too_big);
    RUN(test_exact_fit);
    RUN(test_default_limit);
    RUN(test_bad_arguments);
    RUN(test_boundary_clash);
    RUN(test_deterministic);
    RUN(test_volume);
    return harness_done();
}
