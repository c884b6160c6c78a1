/*
 * Unit tests for the snapshot writer and reader (snapshot_writer.c,
 * snapshot_reader.c), fsutil.c and sha256.c.
 *
 * Every refusal the reader promises is provoked with a crafted file: the
 * test decompresses a good snapshot, edits the text, recompresses it (or
 * edits the gzip bytes themselves) and checks the message. Disk failures
 * are simulated with RLIMIT_FSIZE (writes past the limit fail with EFBIG),
 * which works even as root, where a read-only folder would not.
 */
#include "canonjson.h"
#include "err.h"
#include "fsutil.h"
#include "harness.h"
#include "sha256.h"
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

static char tmpdir[64];
static int path_seq;

/* A fresh path in the test folder. */
static const char *tpath(const char *name)
{
    static char paths[8][256];
    char *p = paths[path_seq % 8];

    snprintf(p, 256, "%s/%d-%s", tmpdir, path_seq++, name);
    return p;
}

static void rm_tree(const char *dir)
{
    char p[512];
    struct dirent *d;
    DIR *dh = opendir(dir);

    if (!dh)
        return;
    while ((d = readdir(dh)) != NULL) {
        if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
        unlink(p);
    }
    closedir(dh);
    rmdir(dir);
}

/* Number of entries in a folder (to spot stray temp files). */
static int count_entries(const char *dir)
{
    struct dirent *d;
    DIR *dh = opendir(dir);
    int n = 0;

    if (!dh)
        return -1;
    while ((d = readdir(dh)) != NULL)
        if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
            n++;
    closedir(dh);
    return n;
}

static const char *conns[] = {"Username-Password-Authentication", "google-oauth2", "corp-ad"};

/* User i: nested metadata, escapes, non-ASCII, numbers; every 7th has no
 * identities (counted under ""). */
static json_t *make_user(int i)
{
    char id[64], email[64];
    json_t *u;

    snprintf(id, sizeof(id), "auth0|%08d", i);
    snprintf(email, sizeof(email), "user%d@example.com", i);
    u = json_pack("{s:s, s:s, s:s, s:b, s:i, s:f, s:{s:{s:[i, i, {s:s}]}}, s:{s:[s, s]}, s:[s]}",
                  "user_id", id, "email", email, "name", "Zoë \"Q\" \\ / \u2028 日本 \t end",
                  "email_verified", i % 2, "logins_count", i, "score", i / 8.0, "user_metadata",
                  "nested", "list", i, -i, "k", "vàlue", "app_metadata", "plan", "gold", "x",
                  "roles", "admin");
    if (i % 7)
        json_object_set_new(u, "identities",
                            json_pack("[{s:s, s:s, s:s, s:b}]", "connection", conns[i % 3],
                                      "provider", "auth0", "user_id", id + 6, "isSocial", 0));
    return u;
}

static json_t *make_header(void)
{
    return json_pack("{s:{s:s, s:s}, s:{s:s}}", "tool", "name", "a0snap", "version", "0.1.0",
                     "source", "domain", "dev.example.auth0.com");
}

/* Writes n users (via append for even, append_line for odd indexes). */
static int write_snapshot(const char *path, int n, const json_t *header, char id[33])
{
    struct snapshot_writer *w = NULL;
    json_t *u, *h = header ? NULL : make_header();
    struct err e;
    char *line;
    int i, rc;

    err_clear(&e);
    if (snapshot_writer_open(&w, path, header ? header : h, false, &e) < 0) {
        fprintf(stderr, "open: %s\n", e.msg);
        json_decref(h);
        return -1;
    }
    json_decref(h);
    if (id)
        memcpy(id, snapshot_writer_id(w), 33);
    for (i = 0; i < n; i++) {
        u = make_user(i);
        if (i % 2) {
            line = json_dumps(u, JSON_COMPACT | JSON_SORT_KEYS);
            rc = snapshot_writer_append_line(w, json_string_value(json_object_get(u, "user_id")),
                                             snapshot_user_connection(u), line, strlen(line), &e);
            free(line);
        } else {
            rc = snapshot_writer_append(w, u, &e);
        }
        json_decref(u);
        if (rc < 0) {
            fprintf(stderr, "append: %s\n", e.msg);
            snapshot_writer_abort(w);
            return -1;
        }
    }
    if (snapshot_writer_commit(w, &e) < 0) {
        fprintf(stderr, "commit: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* The decompressed bytes of a (possibly multi-member) gzip file. */
static char *gunzip_file(const char *path, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    gzFile f = gzopen(path, "rb");
    int k;

    while (f && (k = gzread(f, p + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)k;
        if (n == cap)
            p = realloc(p, cap *= 2);
    }
    if (f)
        gzclose(f);
    p[n] = '\0';
    *len = n;
    return p;
}

static void write_gz(const char *path, const char *data, size_t len)
{
    gzFile f;

    if (!data) {
        /* A replace_once() that found nothing: the test itself is wrong. */
        harness_cur_failed++;
        fprintf(stderr, "write_gz: no data for '%s'\n", path);
        return;
    }
    f = gzopen(path, "wb6");

    gzwrite(f, data, (unsigned)len);
    gzclose(f);
}

static void write_raw(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    fwrite(data, 1, len, f);
    fclose(f);
}

static char *read_raw(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

/* Checks that verify refuses path with ERR_SNAPSHOT and a message holding
 * want. */
static void expect_refused(const char *path, const char *want, int line)
{
    struct snapshot_summary s;
    struct err e;
    int rc;

    err_clear(&e);
    rc = snapshot_verify(path, &s, &e);
    if (rc != -1 || e.code != ERR_SNAPSHOT || !strstr(e.msg, want)) {
        harness_cur_failed++;
        fprintf(stderr, "test_snapshot.c:%d: verify rc %d code %d msg \"%s\", wanted \"%s\"\n",
                line, rc, e.code, e.msg, want);
    }
    if (getenv("A0SNAP_TEST_VERBOSE"))
        fprintf(stderr, "refused: %s\n", e.msg);
    CHECK(s.header == NULL && s.users == 0);
    snapshot_summary_release(&s);
}
#define EXPECT_REFUSED(path, want) expect_refused(path, want, __LINE__)

/* Line k (0-based) of text: start and length (without \n). */
static const char *nth_line(const char *text, int k, size_t *len)
{
    const char *p = text, *nl;

    while (k-- > 0)
        p = strchr(p, '\n') + 1;
    nl = strchr(p, '\n');
    *len = nl ? (size_t)(nl - p) : strlen(p);
    return p;
}

/* text with line k replaced by repl (NULL: removed). */
static char *replace_line(const char *text, int k, const char *repl, size_t *outlen)
{
    size_t len, tlen = strlen(text), rlen = repl ? strlen(repl) : 0;
    const char *p = nth_line(text, k, &len);
    size_t head = (size_t)(p - text), tail = tlen - head - len - 1;
    char *out = malloc(tlen + rlen + 2);

    memcpy(out, text, head);
    *outlen = head;
    if (repl) {
        memcpy(out + *outlen, repl, rlen);
        *outlen += rlen;
        out[(*outlen)++] = '\n';
    }
    memcpy(out + *outlen, p + len + 1, tail);
    *outlen += tail;
    out[*outlen] = '\0';
    return out;
}

/* A user whose "d" holds `arrays` nested arrays (depth arrays + 1). */
static char *deep_user(int arrays)
{
    char *s = malloc(64 + 2 * (size_t)arrays);
    int i, k;

    k = sprintf(s, "{\"user_id\":\"auth0|00000002x\",\"d\":");
    for (i = 0; i < arrays; i++)
        s[k++] = '[';
    for (i = 0; i < arrays; i++)
        s[k++] = ']';
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

/* text with the first `from` replaced by `to`. */
static char *replace_once(const char *text, const char *from, const char *to, size_t *outlen)
{
    const char *p = strstr(text, from);
    size_t tl = strlen(text), fl = strlen(from), nl = strlen(to), head;
    char *out;

    if (!p)
        return NULL;
    head = (size_t)(p - text);
    out = malloc(tl - fl + nl + 1);
    memcpy(out, text, head);
    memcpy(out + head, to, nl);
    memcpy(out + head + nl, p + fl, tl - head - fl + 1);
    *outlen = tl - fl + nl;
    return out;
}

/* ------------------------------------------------------------------------ */

static void test_sha256(void)
{
    char hex[65];
    struct sha256 *h = NULL;
    struct err e;

    CHECK_INT(sha256_hex("abc", 3, hex, &e), 0);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_INT(sha256_new(&h, &e), 0);
    CHECK_INT(sha256_update(h, "a", 1, &e), 0);
    CHECK_INT(sha256_update(h, "bc", 2, &e), 0);
    CHECK_INT(sha256_final_hex(h, hex, &e), 0);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_INT(sha256_reset(h, &e), 0);
    CHECK_INT(sha256_final_hex(h, hex, &e), 0);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_free(h);
    sha256_free(NULL);
}

static void test_round_trip(void)
{
    const char *path = tpath("round.ndjson.gz");
    struct snapshot_reader *r = NULL;
    struct snapshot_summary s;
    json_t *u = NULL, *want, *h;
    char id[33], hex[65], *text, *line;
    const char *l;
    size_t len, ll, off;
    struct stat st;
    struct err e;
    int i, rc, n = 3000, counts[4] = {0};

    err_clear(&e);
    umask(022);
    CHECK_INT(write_snapshot(path, n, NULL, id), 0);
    CHECK(snapshot_id_valid(id));
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(count_entries(tmpdir), 1);

    /* Read back: identical users, in order, then a verified end. */
    CHECK_INT(snapshot_reader_open(&r, path, &e), 0);
    if (!r) {
        fprintf(stderr, "%s\n", e.msg);
        return;
    }
    h = snapshot_reader_header(r);
    CHECK_STR(json_string_value(json_object_get(h, "a0snap")), "header");
    CHECK_STR(json_string_value(json_object_get(h, "format")), "a0snap-snapshot");
    CHECK_INT(json_integer_value(json_object_get(h, "format_version")), 2);
    CHECK_STR(json_string_value(json_object_get(h, "snapshot_id")), id);
    CHECK_STR(snapshot_reader_id(r), id);
    CHECK_STR(json_string_value(json_object_get(json_object_get(h, "source"), "domain")),
              "dev.example.auth0.com");
    CHECK_INT(strlen(json_string_value(json_object_get(h, "created_at"))), 20);
    CHECK(snapshot_reader_trailer(r) == NULL);
    for (i = 0; i < n; i++) {
        rc = snapshot_reader_next(r, &u, &e);
        CHECK_INT(rc, 1);
        if (rc != 1) {
            fprintf(stderr, "%s\n", e.msg);
            break;
        }
        want = make_user(i);
        CHECK(json_equal(u, want));
        json_decref(want);
        json_decref(u);
        counts[i % 7 ? i % 3 : 3]++;
    }
    CHECK_INT(snapshot_reader_next(r, &u, &e), 0);
    CHECK(u == NULL);
    CHECK_INT(snapshot_reader_next(r, &u, &e), 0);
    CHECK_INT(json_integer_value(json_object_get(snapshot_reader_trailer(r), "users")), n);
    CHECK_INT(snapshot_reader_line_number(r), n + 2);
    snapshot_reader_free(r);
    snapshot_reader_free(NULL);

    /* The bytes: sorted-key compact lines, and the trailer's sha256 is that
     * of every byte before the trailer line. */
    text = gunzip_file(path, &len);
    for (i = 0; i < n; i++) {
        l = nth_line(text, i + 1, &ll);
        want = make_user(i);
        line = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK(ll == strlen(line) && memcmp(l, line, ll) == 0);
        free(line);
        json_decref(want);
    }
    l = nth_line(text, n + 1, &ll);
    off = (size_t)(l - text);
    CHECK_INT(sha256_hex(text, off, hex, &e), 0);
    CHECK(strstr(l, hex) != NULL);
    CHECK(strncmp(l, "{\"a0snap\":\"trailer\",\"connections\":{", 35) == 0);
    CHECK(text[len - 1] == '\n' && off + ll + 1 == len);
    CHECK(strncmp(text, "{\"a0snap\":\"header\",", 19) == 0);

    /* verify: the summary. */
    CHECK_INT(snapshot_verify(path, &s, &e), 0);
    CHECK_INT(s.users, n);
    CHECK_STR(s.snapshot_id, id);
    CHECK_STR(s.sha256, hex);
    CHECK_INT(s.bytes, len);
    CHECK_INT(s.gzip_bytes, st.st_size);
    CHECK_INT(json_integer_value(json_object_get(s.connections, conns[0])), counts[0]);
    CHECK_INT(json_integer_value(json_object_get(s.connections, conns[1])), counts[1]);
    CHECK_INT(json_integer_value(json_object_get(s.connections, conns[2])), counts[2]);
    CHECK_INT(json_integer_value(json_object_get(s.connections, "")), counts[3]);
    CHECK_INT(json_object_size(s.connections), 4);
    CHECK_STR(json_string_value(json_object_get(s.header, "snapshot_id")), id);
    snapshot_summary_release(&s);
    snapshot_summary_release(&s);
    CHECK_INT(snapshot_verify(path, NULL, &e), 0);

    /* _next_line() with snapshot_reader_current(): the stored line and the
     * same user parsed, from one read. */
    CHECK_INT(snapshot_reader_open(&r, path, &e), 0);
    if (r) {
        CHECK(snapshot_reader_current(r) == NULL);
        for (i = 0; i < n; i++) {
            CHECK_INT(snapshot_reader_next_line(r, &l, &ll, &e), 1);
            want = make_user(i);
            line = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
            CHECK(ll == strlen(line) && memcmp(l, line, ll) == 0);
            CHECK(json_equal(snapshot_reader_current(r), want));
            free(line);
            json_decref(want);
        }
        CHECK_INT(snapshot_reader_next_line(r, &l, &ll, &e), 0);
        CHECK(snapshot_reader_current(r) == NULL);
        snapshot_reader_free(r);
    }
    free(text);
}

/* The reader checks most lines with the canonical parser and hands that
 * parse out; lines it does not handle go through jansson, and both give
 * the same users, counts and verdict. */
static void test_fast_and_jansson_lines(void)
{
    static const char *const lines[] = {
        /* plain: the fast parse */
        "{\"email\":\"a@x.io\",\"identities\":[{\"connection\":\"db\"}],\"user_id\":\"auth0|1\"}",
        /* an escaped user_id: jansson */
        "{\"identities\":[{\"connection\":\"db\"}],\"user_id\":\"auth0|2\\\"q\"}",
        /* an escaped connection name: jansson, counted under its value */
        "{\"identities\":[{\"connection\":\"tab\\tdb\"}],\"user_id\":\"auth0|3\"}",
        /* an escaped key: jansson */
        "{\"k\\u0065y\":1,\"user_id\":\"auth0|4\"}",
        /* a connection that is not a string: counted under "" */
        "{\"identities\":[{\"connection\":7}],\"user_id\":\"auth0|5\"}",
        /* keys out of order: the fast parse still (the reader does not insist) */
        "{\"user_id\":\"auth0|6\",\"b\":{\"z\":1,\"a\":[2.50,-0]}}",
    };
    static const bool fast[] = {true, false, false, false, true, true};
    const char *path = tpath("fast.ndjson.gz"), *line;
    struct snapshot_writer *w = NULL;
    struct snapshot_reader *r = NULL;
    struct snapshot_summary s;
    json_t *h = make_header(), *u, *want;
    size_t i, n = sizeof(lines) / sizeof(lines[0]), len;
    char digest[65];
    struct err e;

    err_clear(&e);
    CHECK_INT(snapshot_writer_open(&w, path, h, false, &e), 0);
    for (i = 0; w && i < n; i++) {
        want = json_loads(lines[i], 0, NULL);
        CHECK_INT(snapshot_writer_append_line(
                      w, json_string_value(json_object_get(want, "user_id")),
                      snapshot_user_connection(want), lines[i], strlen(lines[i]), &e),
                  0);
        json_decref(want);
    }
    CHECK_INT(snapshot_writer_commit(w, &e), 0);
    json_decref(h);

    CHECK_INT(snapshot_verify(path, &s, &e), 0);
    memcpy(digest, s.sha256, sizeof(digest));
    CHECK_INT(s.users, n);
    CHECK_INT(json_integer_value(json_object_get(s.connections, "db")), 2);
    CHECK_INT(json_integer_value(json_object_get(s.connections, "tab\tdb")), 1);
    CHECK_INT(json_integer_value(json_object_get(s.connections, "")), 3);
    snapshot_summary_release(&s);

    CHECK_INT(snapshot_reader_open(&r, path, &e), 0);
    for (i = 0; r && i < n; i++) {
        CHECK_INT(snapshot_reader_next_line(r, &line, &len, &e), 1);
        CHECK(len == strlen(lines[i]) && memcmp(line, lines[i], len) == 0);
        CHECK((snapshot_reader_parsed(r) != NULL) == fast[i]);
        if (snapshot_reader_parsed(r))
            CHECK_INT(canonjson_type(snapshot_reader_parsed(r), CANONJSON_ROOT), CANONJSON_OBJECT);
        want = json_loads(lines[i], JSON_DECODE_ANY, NULL);
        CHECK(json_equal(snapshot_reader_current(r), want));
        json_decref(want);
    }
    CHECK(snapshot_reader_sha256(r) == NULL); /* not before the verified end */
    CHECK_INT(snapshot_reader_next_line(r, &line, &len, &e), 0);
    CHECK(snapshot_reader_parsed(r) == NULL && snapshot_reader_current(r) == NULL);
    CHECK_STR(snapshot_reader_sha256(r), digest);
    snapshot_reader_free(r);

    /* _next() builds the same users from the fast parse as from jansson */
    CHECK_INT(snapshot_reader_open(&r, path, &e), 0);
    for (i = 0; r && i < n; i++) {
        CHECK_INT(snapshot_reader_next(r, &u, &e), 1);
        want = json_loads(lines[i], 0, NULL);
        CHECK(json_equal(u, want));
        json_decref(want);
        json_decref(u);
    }
    CHECK_INT(snapshot_reader_next(r, &u, &e), 0);
    CHECK(u == NULL);
    snapshot_reader_free(r);
}

static void test_empty_snapshot_and_caller_header(void)
{
    const char *path = tpath("empty.ndjson.gz");
    const char *fixed = "0123456789abcdef0123456789abcdef";
    struct snapshot_summary s;
    json_t *h = json_pack("{s:s, s:s, s:s, s:i}", "snapshot_id", fixed, "created_at",
                          "2026-11-26T13:20:00Z", "a0snap", "bogus", "format_version", 9);
    struct err e;

    CHECK_INT(write_snapshot(path, 0, h, NULL), 0);
    CHECK_INT(snapshot_verify(path, &s, &e), 0);
    CHECK_INT(s.users, 0);
    CHECK_STR(s.snapshot_id, fixed);
    CHECK_STR(json_string_value(json_object_get(s.header, "created_at")), "2026-11-26T13:20:00Z");
    CHECK_STR(json_string_value(json_object_get(s.header, "a0snap")), "header");
    CHECK_INT(json_integer_value(json_object_get(s.header, "format_version")), 2);
    CHECK_INT(json_object_size(s.connections), 0);
    snapshot_summary_release(&s);
    json_decref(h);

    /* A caller's snapshot_id must be well-formed. */
    {
        struct snapshot_writer *w = (struct snapshot_writer *)1;
        json_t *bad = json_pack("{s:s}", "snapshot_id", "ABC");

        CHECK_INT(snapshot_writer_open(&w, tpath("bad-id.gz"), bad, false, &e), -1);
        CHECK(w == NULL);
        CHECK(strstr(e.msg, "snapshot_id") != NULL);
        json_decref(bad);
    }
}

/* A header bigger than a user line may be (a large catalogue). */
static void test_big_header(void)
{
    const char *path = tpath("bighdr.ndjson.gz");
    struct snapshot_summary s;
    json_t *h, *orgs = json_array();
    char name[64];
    struct err e;
    int i;

    for (i = 0; i < 100000; i++) {
        snprintf(name, sizeof(name), "organization-number-%d", i);
        json_array_append_new(orgs,
                              json_pack("{s:s, s:s}", "id", "org_0123456789abcdef", "name", name));
    }
    h = json_pack("{s:{s:o}}", "catalogue", "organizations", orgs);
    CHECK_INT(write_snapshot(path, 3, h, NULL), 0);
    CHECK_INT(snapshot_verify(path, &s, &e), 0);
    CHECK(s.bytes > SNAPSHOT_MAX_LINE);
    CHECK_INT(
        json_array_size(json_object_get(json_object_get(s.header, "catalogue"), "organizations")),
        100000);
    snapshot_summary_release(&s);
    json_decref(h);
}

static void test_writer_refuses_bad_users(void)
{
    const char *path = tpath("order.ndjson.gz");
    struct snapshot_writer *w = NULL;
    struct snapshot_summary s;
    json_t *u;
    struct err e;
    char *big;

    err_clear(&e);
    CHECK_INT(snapshot_writer_open(&w, path, NULL, false, &e), 0);
    if (!w)
        return;
    u = make_user(5);
    CHECK_INT(snapshot_writer_append(w, u, &e), 0);
    /* Duplicate, then out of order: refused, the writer stays usable. */
    CHECK_INT(snapshot_writer_append(w, u, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "duplicate user_id 'auth0|00000005'") != NULL);
    json_decref(u);
    u = make_user(4);
    CHECK_INT(snapshot_writer_append(w, u, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "'auth0|00000004' is out of order (after 'auth0|00000005')") != NULL);
    CHECK_INT(snapshot_writer_append_line(w, "auth0|00000004", "", "{}", 2, &e), -1);
    CHECK(strstr(e.msg, "out of order") != NULL);
    json_decref(u);
    /* No user_id, a reserved key, a newline, not an object. */
    u = json_pack("{s:s}", "email", "x@example.com");
    CHECK_INT(snapshot_writer_append(w, u, &e), -1);
    CHECK(strstr(e.msg, "no 'user_id'") != NULL);
    json_decref(u);
    u = json_pack("{s:s, s:s}", "user_id", "z", "a0snap", "trailer");
    CHECK_INT(snapshot_writer_append(w, u, &e), -1);
    CHECK(strstr(e.msg, "reserved key 'a0snap'") != NULL);
    json_decref(u);
    CHECK_INT(snapshot_writer_append_line(w, "z", NULL, "{\n}", 3, &e), -1);
    CHECK(strstr(e.msg, "newline") != NULL);
    u = json_array();
    CHECK_INT(snapshot_writer_append(w, u, &e), -1);
    CHECK(strstr(e.msg, "not a JSON object") != NULL);
    json_decref(u);
    /* Too large: over SNAPSHOT_MAX_LINE once serialized. */
    big = malloc(SNAPSHOT_MAX_LINE + 1);
    memset(big, 'a', SNAPSHOT_MAX_LINE);
    big[SNAPSHOT_MAX_LINE] = '\0';
    u = json_pack("{s:s, s:s}", "user_id", "z", "blob", big);
    CHECK_INT(snapshot_writer_append(w, u, &e), -1);
    CHECK_INT(e.code, ERR_SNAPSHOT);
    CHECK(strstr(e.msg, "too large") != NULL);
    json_decref(u);
    free(big);
    /* Too deep: the user object and 64 more levels. */
    {
        json_t *deep = json_object(), *cur = deep, *child;
        int i;

        json_object_set_new(deep, "user_id", json_string("z"));
        for (i = 0; i < SNAPSHOT_MAX_DEPTH; i++) {
            child = json_object();
            json_object_set_new(cur, "d", child);
            cur = child;
        }
        CHECK_INT(snapshot_writer_append(w, deep, &e), -1);
        CHECK_INT(e.code, ERR_SNAPSHOT);
        CHECK(strstr(e.msg, "nested more than 64 levels") != NULL);
        json_decref(deep);
    }
    CHECK_INT(snapshot_writer_users(w), 1);
    CHECK_INT(snapshot_writer_commit(w, &e), 0);
    CHECK_INT(snapshot_verify(path, &s, &e), 0);
    CHECK_INT(s.users, 1);
    snapshot_summary_release(&s);
}

/* Whether fsutil can write this folder's temp files without a name. */
static bool unnamed_tmpfiles(void)
{
    int fd;

    if (fsutil_tmpfile_named_only || access("/proc/self/fd", X_OK) != 0)
        return false;
    fd = open(tmpdir, O_TMPFILE | O_WRONLY, 0600);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static void no_overwrite_abort_and_race(void)
{
    const char *path = tpath("exists.ndjson.gz");
    struct snapshot_writer *w = NULL;
    struct snapshot_summary s;
    struct err e;
    size_t len;
    char *p;
    int before;

    /* abort: nothing at final_path, no temp left. While writing, the temp
     * file is only visible when it can't be unnamed. */
    before = count_entries(tmpdir);
    CHECK_INT(snapshot_writer_open(&w, path, NULL, false, &e), 0);
    CHECK_INT(count_entries(tmpdir), before + (unnamed_tmpfiles() ? 0 : 1));
    snapshot_writer_abort(w);
    snapshot_writer_abort(NULL);
    CHECK(!fsutil_exists(path));
    CHECK_INT(count_entries(tmpdir), before);

    /* An existing file is not replaced without force. */
    write_raw(path, "precious", 8);
    w = (struct snapshot_writer *)1;
    CHECK_INT(snapshot_writer_open(&w, path, NULL, false, &e), -1);
    CHECK(w == NULL);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "already exists") != NULL);
    CHECK_INT(count_entries(tmpdir), before + 1);

    /* With force it is. */
    CHECK_INT(snapshot_writer_open(&w, path, NULL, true, &e), 0);
    CHECK_INT(snapshot_writer_commit(w, &e), 0);
    CHECK_INT(snapshot_verify(path, &s, &e), 0);
    snapshot_summary_release(&s);
    CHECK_INT(count_entries(tmpdir), before + 1);

    /* A file that appears between open and commit is not replaced either:
     * the commit fails, the temp file goes, the newcomer is intact. */
    unlink(path);
    CHECK_INT(snapshot_writer_open(&w, path, NULL, false, &e), 0);
    write_raw(path, "newcomer", 8);
    CHECK_INT(snapshot_writer_commit(w, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    p = read_raw(path, &len);
    CHECK(len == 8 && memcmp(p, "newcomer", 8) == 0);
    free(p);
    CHECK_INT(count_entries(tmpdir), before + 1);
    unlink(path);

    /* A folder that does not exist. */
    CHECK_INT(snapshot_writer_open(&w, "/nonexistent-a0snap/x.gz", NULL, false, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(strstr(e.msg, "cannot create a temporary file in '/nonexistent-a0snap'") != NULL);
}

static void test_no_overwrite_abort_and_race(void)
{
    no_overwrite_abort_and_race(); /* unnamed temp files where possible */
    fsutil_tmpfile_named_only = true;
    no_overwrite_abort_and_race(); /* named ones */
    fsutil_tmpfile_named_only = false;
}

/* Writes fail past `limit` bytes in any file (EFBIG instead of SIGXFSZ). */
static void limit_file_size(rlim_t limit, struct rlimit *saved)
{
    struct rlimit rl;

    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, saved);
    rl = *saved;
    rl.rlim_cur = limit;
    setrlimit(RLIMIT_FSIZE, &rl);
}

/* An incompressible user, so the output grows as fast as the input. */
static json_t *noisy_user(int i, unsigned *seed)
{
    char id[32], noise[4001];
    int k;

    for (k = 0; k < 4000; k++)
        noise[k] = (char)('!' + rand_r(seed) % 90);
    noise[4000] = '\0';
    for (k = 0; k < 4000; k++)
        if (noise[k] == '\\' || noise[k] == '"')
            noise[k] = 'x';
    snprintf(id, sizeof(id), "auth0|%08d", i);
    return json_pack("{s:s, s:s}", "user_id", id, "noise", noise);
}

static void test_disk_full(void)
{
    const char *path = tpath("full.ndjson.gz");
    struct snapshot_writer *w = NULL;
    struct rlimit saved;
    unsigned seed = 42;
    int i, rc = 0, before = count_entries(tmpdir);
    json_t *u;
    struct err e;

    /* While appending. */
    CHECK_INT(snapshot_writer_open(&w, path, NULL, false, &e), 0);
    limit_file_size(100 * 1024, &saved);
    for (i = 0; i < 1000 && rc == 0; i++) {
        u = noisy_user(i, &seed);
        rc = snapshot_writer_append(w, u, &e);
        json_decref(u);
    }
    setrlimit(RLIMIT_FSIZE, &saved);
    CHECK_INT(rc, -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(strstr(e.msg, "cannot write '") != NULL && strstr(e.msg, "File too large") != NULL);
    u = make_user(5000);
    CHECK_INT(snapshot_writer_append(w, u, &e), -1);
    json_decref(u);
    CHECK_INT(snapshot_writer_commit(w, &e), -1);
    CHECK(!fsutil_exists(path));
    CHECK_INT(count_entries(tmpdir), before);

    /* At commit (the last buffered bytes and the trailer). */
    CHECK_INT(snapshot_writer_open(&w, path, NULL, false, &e), 0);
    for (i = 0; i < 20; i++) {
        u = noisy_user(i, &seed);
        CHECK_INT(snapshot_writer_append(w, u, &e), 0);
        json_decref(u);
    }
    limit_file_size(1, &saved);
    rc = snapshot_writer_commit(w, &e);
    setrlimit(RLIMIT_FSIZE, &saved);
    CHECK_INT(rc, -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(!fsutil_exists(path));
    CHECK_INT(count_entries(tmpdir), before);
}

/* A good snapshot's text, for crafting bad ones. */
static char *good_text(int n, size_t *len, char id[33])
{
    const char *path = tpath("good.ndjson.gz");
    char *t;

    if (write_snapshot(path, n, NULL, id) < 0)
        return NULL;
    t = gunzip_file(path, len);
    unlink(path);
    return t;
}

static void test_refusals_gzip_level(void)
{
    const char *good = tpath("g.ndjson.gz"), *bad = tpath("bad.gz");
    char *raw, *twice;
    size_t len;

    CHECK_INT(write_snapshot(good, 10, NULL, NULL), 0);
    raw = read_raw(good, &len);

    write_raw(bad, "", 0);
    EXPECT_REFUSED(bad, "empty file");
    write_raw(bad, "{\"a0snap\":\"header\"}\n", 20);
    EXPECT_REFUSED(bad, "not gzip-compressed (an uncompressed NDJSON file?)");
    write_raw(bad, "hello", 5);
    EXPECT_REFUSED(bad, "not gzip-compressed");
    /* Truncated: in the middle, and just before the gzip trailer. */
    write_raw(bad, raw, len / 2);
    EXPECT_REFUSED(bad, "truncated");
    CHECK_INT(snapshot_verify(bad, NULL, NULL), -1); /* no struct err: still safe */
    CHECK_INT(snapshot_verify(tmpdir, NULL, NULL), -1);
    write_raw(bad, raw, len - 4);
    EXPECT_REFUSED(bad, "truncated");
    write_raw(bad, raw, 1);
    EXPECT_REFUSED(bad, "truncated");
    /* Bad CRC-32 (the gzip trailer's first 4 bytes), bad length. */
    raw[len - 8] ^= 0x55;
    write_raw(bad, raw, len);
    EXPECT_REFUSED(bad, "corrupt gzip data (incorrect data check)");
    raw[len - 8] ^= 0x55;
    raw[len - 2] ^= 0x01;
    write_raw(bad, raw, len);
    EXPECT_REFUSED(bad, "corrupt gzip data (incorrect length check)");
    raw[len - 2] ^= 0x01;
    /* Damaged deflate data in the middle. */
    raw[len / 2] ^= 0xff;
    raw[len / 2 + 1] ^= 0xff;
    write_raw(bad, raw, len);
    EXPECT_REFUSED(bad, "");
    raw[len / 2] ^= 0xff;
    raw[len / 2 + 1] ^= 0xff;
    /* Two snapshots concatenated (cat a b > c): gzread would join them. */
    twice = malloc(2 * len);
    memcpy(twice, raw, len);
    memcpy(twice + len, raw, len);
    write_raw(bad, twice, 2 * len);
    EXPECT_REFUSED(bad, "data after the trailer (two snapshots concatenated?)");
    /* Garbage bytes after the gzip stream. */
    memcpy(twice + len, "junk", 4);
    write_raw(bad, twice, len + 4);
    EXPECT_REFUSED(bad, "data after the trailer (garbage after the gzip stream)");
    /* Unchanged, it still verifies. */
    write_raw(bad, raw, len);
    CHECK_INT(snapshot_verify(bad, NULL, NULL), 0);
    free(twice);
    free(raw);
}

static void test_refusals_content(void)
{
    const char *bad = tpath("bad.ndjson.gz"), *other = tpath("other.ndjson.gz");
    char id[33], msg[256], *text, *t, *p, *big;
    const char *l;
    size_t len, n, ll;

    text = good_text(10, &len, id);
    CHECK(text != NULL);
    if (!text)
        return;

    /* Line-level damage, each on user line k (file line k + 1). */
    t = replace_line(text, 3, "[1,2,3]", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: not a JSON object");
    free(t);
    t = replace_line(text, 3, "{\"email\":\"x\"}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: user has no 'user_id' string");
    free(t);
    t = replace_line(text, 3, "{\"user_id\":42}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: user has no 'user_id' string");
    free(t);
    t = replace_line(text, 3, "{\"user_id\":\"auth0|x\",", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: invalid JSON");
    free(t);
    t = replace_line(text, 3, "{\"user_id\":\"auth0|00000002\",\"name\":\"caf\xff\"}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: invalid UTF-8");
    free(t);
    t = replace_line(text, 3, "{\"user_id\":\"auth0|00000001\"}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: duplicate user_id 'auth0|00000001'");
    free(t);
    t = replace_line(text, 3, "{\"user_id\":\"auth0|00000000x\"}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad,
                   "line 4: user_id 'auth0|00000000x' is out of order (after 'auth0|00000001')");
    free(t);
    t = replace_line(text, 3, "{\"user_id\":\"a\",\"user_id\":\"b\"}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: invalid JSON (duplicate object key");
    free(t);
    t = replace_line(text, 3, "", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: empty line");
    free(t);
    t = replace_line(text, 3, "{\"a0snap\":\"header\",\"user_id\":\"auth0|00000003\"}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 4: unexpected record");
    free(t);
    /* Control bytes in a quoted user_id are neutralized. */
    t = replace_line(text, 3, "{\"user_id\":\"auth0|\\u001b[31m\"}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "user_id 'auth0|?[31m' is out of order");
    free(t);

    /* Nesting: 64 levels pass the depth check (the line is then refused
     * later, for its connection), 65 do not. */
    t = deep_user(63);
    p = replace_line(text, 3, t, &n);
    write_gz(bad, p, n);
    EXPECT_REFUSED(bad, "connection counts disagree");
    free(p);
    free(t);
    t = deep_user(64);
    p = replace_line(text, 3, t, &n);
    write_gz(bad, p, n);
    EXPECT_REFUSED(bad, "line 4: JSON nested more than 64 levels deep");
    free(p);
    free(t);

    /* An enormous line. */
    big = malloc(SNAPSHOT_MAX_LINE + 100);
    memset(big, ' ', SNAPSHOT_MAX_LINE + 99);
    memcpy(big, "{\"user_id\":\"auth0|00000002z\"}", 29);
    big[SNAPSHOT_MAX_LINE + 99] = '\0';
    t = replace_line(text, 3, big, &n);
    write_gz(bad, t, n);
    snprintf(msg, sizeof(msg), "line 4: line is longer than %u bytes", SNAPSHOT_MAX_LINE);
    EXPECT_REFUSED(bad, msg);
    free(t);
    free(big);

    /* A lost line: the counts disagree. */
    t = replace_line(text, 5, NULL, &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "the trailer counts 10 users but the file holds 9");
    free(t);
    /* Missing trailer; a truncated last line. */
    t = replace_line(text, 11, NULL, &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "missing trailer");
    write_gz(bad, t, n - 10);
    EXPECT_REFUSED(bad, "line 11: invalid JSON");
    free(t);
    /* Header only. */
    l = nth_line(text, 0, &ll);
    write_gz(bad, l, ll);
    EXPECT_REFUSED(bad, "missing trailer");
    write_gz(bad, l, ll + 1);
    EXPECT_REFUSED(bad, "missing trailer");

    /* A byte changed inside a user line (still valid JSON): sha256. */
    t = replace_once(text, "user3@", "user4@", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "sha256 mismatch (the content before the trailer was altered)");
    free(t);
    /* The trailer's counts edited: a changed count, an extra connection,
     * a missing one. */
    t = replace_once(text, "\"google-oauth2\":2", "\"google-oauth2\":3", &n);
    CHECK(t != NULL);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "connection counts disagree for 'google-oauth2': the trailer says 3, "
                        "the file holds 2");
    free(t);
    t = replace_once(text, "\"connections\":{", "\"connections\":{\"zz\":0,", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "connection counts disagree for 'zz'");
    free(t);
    t = replace_once(text, ",\"google-oauth2\":2", "", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "connection counts disagree for 'google-oauth2': the trailer says 0");
    free(t);
    t = replace_once(text, "\"users\":10", "\"users\":11", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "the trailer counts 11 users but the file holds 10");
    free(t);
    /* Data after the trailer, inside the same gzip member. */
    t = malloc(len + 20);
    memcpy(t, text, len);
    memcpy(t + len, "{\"user_id\":\"zz\"}\n", 17);
    write_gz(bad, t, len + 17);
    EXPECT_REFUSED(bad, "line 13: data after the trailer");
    memcpy(t + len, "\n", 1);
    write_gz(bad, t, len + 1);
    EXPECT_REFUSED(bad, "data after the trailer");
    free(t);

    /* Stitched: the header of one snapshot, the rest of another. */
    {
        char id2[33], *text2;
        size_t len2, hl;

        text2 = good_text(10, &len2, id2);
        l = nth_line(text2, 0, &hl);
        nth_line(text, 0, &ll);
        t = malloc(len + hl);
        memcpy(t, l, hl);
        memcpy(t + hl, text + ll, len - ll);
        write_gz(bad, t, hl + len - ll);
        snprintf(msg, sizeof(msg),
                 "the trailer belongs to snapshot '%s' but the header to '%s' (stitched from "
                 "two snapshots?)",
                 id, id2);
        EXPECT_REFUSED(bad, msg);
        free(t);
        free(text2);
    }

    /* Header problems. */
    t = replace_line(text, 0, "{\"user_id\":\"auth0|1\"}", &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "line 1: not an a0snap snapshot (the first line is not a snapshot header)");
    free(t);
    write_gz(bad, "hello world\n", 12);
    EXPECT_REFUSED(bad, "line 1: not an a0snap snapshot (the first line: invalid JSON");
    write_gz(bad, "", 0);
    EXPECT_REFUSED(bad, "empty file (no snapshot header)");
    snprintf(msg, sizeof(msg),
             "{\"a0snap\":\"header\",\"format\":\"a0snap-snapshot\",\"format_version\":3,"
             "\"snapshot_id\":\"%s\"}",
             id);
    t = replace_line(text, 0, msg, &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "snapshot format version 3 is newer than this a0snap understands (2)");
    free(t);
    snprintf(msg, sizeof(msg),
             "{\"a0snap\":\"header\",\"format\":\"other\",\"format_version\":1,"
             "\"snapshot_id\":\"%s\"}",
             id);
    t = replace_line(text, 0, msg, &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "unknown format 'other'");
    free(t);
    t = replace_line(text, 0,
                     "{\"a0snap\":\"header\",\"format\":\"a0snap-snapshot\",\"format_version\":1,"
                     "\"snapshot_id\":\"xyz\"}",
                     &n);
    write_gz(bad, t, n);
    EXPECT_REFUSED(bad, "no valid 'snapshot_id'");
    free(t);

    /* The reader reports the failure again on the next call. */
    {
        struct snapshot_reader *r = NULL;
        const char *line;
        struct err e;

        t = replace_line(text, 3, "[1]", &n);
        write_gz(other, t, n);
        free(t);
        CHECK_INT(snapshot_reader_open(&r, other, &e), 0);
        CHECK_INT(snapshot_reader_next_line(r, &line, &ll, &e), 1);
        CHECK_INT(ll, nth_line(text, 1, &n) ? n : 0);
        CHECK_INT(snapshot_reader_next_line(r, &line, &ll, &e), 1);
        CHECK_INT(snapshot_reader_next_line(r, &line, &ll, &e), -1);
        CHECK(strstr(e.msg, "line 4: not a JSON object") != NULL);
        err_clear(&e);
        CHECK_INT(snapshot_reader_next_line(r, &line, &ll, &e), -1);
        CHECK(strstr(e.msg, "line 4: not a JSON object") != NULL);
        CHECK(line == NULL);
        snapshot_reader_free(r);
    }
    free(text);
}

/* Lines around the window and staging sizes, and exactly SNAPSHOT_MAX_LINE. */
static void test_big_lines(void)
{
    const char *path = tpath("big.ndjson.gz");
    struct snapshot_writer *w = NULL;
    struct snapshot_reader *r = NULL;
    size_t sizes[] = {100, 255 * 1024, 256 * 1024, 300 * 1024, 1024 * 1024, 0};
    json_t *u, *got;
    struct err e;
    char *s, id[32], *line;
    size_t i, k, base;

    CHECK_INT(snapshot_writer_open(&w, path, NULL, false, &e), 0);
    if (!w)
        return;
    /* Find the string size that makes the line exactly SNAPSHOT_MAX_LINE. */
    u = json_pack("{s:s, s:s}", "user_id", "auth0|9", "blob", "");
    line = json_dumps(u, JSON_COMPACT | JSON_SORT_KEYS);
    base = strlen(line);
    free(line);
    json_decref(u);
    sizes[5] = SNAPSHOT_MAX_LINE - base;
    for (i = 0; i < 6; i++) {
        s = malloc(sizes[i] + 1);
        for (k = 0; k < sizes[i]; k++)
            s[k] = (char)('a' + (k * 7 + i) % 26);
        s[sizes[i]] = '\0';
        snprintf(id, sizeof(id), "auth0|%zu", i + 1);
        u = json_pack("{s:s, s:s}", "user_id", id, "blob", s);
        CHECK_INT(snapshot_writer_append(w, u, &e), 0);
        json_decref(u);
        free(s);
    }
    CHECK_INT(snapshot_writer_commit(w, &e), 0);
    CHECK_INT(snapshot_reader_open(&r, path, &e), 0);
    for (i = 0; r && i < 6; i++) {
        CHECK_INT(snapshot_reader_next(r, &got, &e), 1);
        CHECK_INT(json_string_length(json_object_get(got, "blob")), sizes[i]);
        json_decref(got);
    }
    if (r) {
        CHECK_INT(snapshot_reader_next(r, &got, &e), 0);
        snapshot_reader_free(r);
    }
}

static void test_fsutil(void)
{
    const char *key = tpath("key"), *f = tpath("file.txt");
    struct fsutil_tmpfile t;
    struct stat st;
    struct err e;
    size_t len;
    char *p;
    int fd = -1, before;

    write_raw(key, "secret", 6);
    chmod(key, 0644);
    CHECK_INT(fsutil_check_private(key, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "mode 0644") != NULL);
    chmod(key, 0620);
    CHECK_INT(fsutil_check_private(key, &e), -1);
    chmod(key, 0600);
    CHECK_INT(fsutil_check_private(key, &e), 0);
    chmod(key, 0400);
    CHECK_INT(fsutil_check_private(key, &e), 0);
    CHECK_INT(fsutil_check_private(tmpdir, &e), -1);
    CHECK(strstr(e.msg, "not a regular file") != NULL);
    CHECK_INT(fsutil_check_private(tpath("missing"), &e), -1);
    CHECK_INT(e.code, ERR_IO);

    CHECK_INT(fsutil_write_file(f, "one", 3, false, &e), 0);
    CHECK_INT(stat(f, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(fsutil_write_file(f, "two", 3, false, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    before = count_entries(tmpdir);
    CHECK_INT(fsutil_write_file(f, "three", 5, true, &e), 0);
    p = read_raw(f, &len);
    CHECK(len == 5 && memcmp(p, "three", 5) == 0);
    free(p);
    CHECK_INT(count_entries(tmpdir), before); /* the forced write's temp name is gone */
    CHECK_INT(stat(f, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);

    /* init'ed and released structs may be aborted. */
    fsutil_tmpfile_init(&t);
    fsutil_tmpfile_abort(&t);
    CHECK_INT(fsutil_tmpfile_open(&t, f, false, &e), -1);
    CHECK(t.fd == -1 && t.path == NULL);
    fsutil_tmpfile_abort(&t);
    CHECK_INT(fsutil_tmpfile_open(&t, "dir/", true, &e), -1);

    /* Relative names: the temp file goes in ".". */
    CHECK_INT(chdir(tmpdir), 0);
    CHECK_INT(fsutil_write_file("relative.txt", "r", 1, false, &e), 0);
    CHECK(fsutil_exists("relative.txt"));
    CHECK_INT(chdir("/"), 0);

    /* Anonymous temp files leave nothing behind. */
    before = count_entries(tmpdir);
    CHECK_INT(fsutil_anon_tmpfile(&fd, tmpdir, &e), 0);
    CHECK(fd >= 0);
    CHECK_INT(fstat(fd, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(count_entries(tmpdir), before);
    if (fd >= 0)
        close(fd);
    CHECK_INT(fsutil_anon_tmpfile(&fd, "/nonexistent-a0snap", &e), -1);
    CHECK_INT(e.code, ERR_IO);
}

static void test_helpers(void)
{
    char out[96], longs[200];

    CHECK_INT(snapshot_json_depth("{}", 2, 64), 1);
    {
        const char *j = "{\"a\":[[1]],\"b\":\"[[[[\\\"[[\"}";

        CHECK_INT(snapshot_json_depth(j, strlen(j), 64), 3);
    }
    CHECK_INT(snapshot_json_depth("[[[[", 4, 2), 3);
    CHECK_INT(snapshot_json_depth("\"\\", 2, 2), 0);
    {
        char *d64 = deep_user(63), *d65 = deep_user(64), flat[1000];
        int i, k = 0;

        CHECK(!snapshot_json_too_deep(d64, strlen(d64)));
        CHECK(snapshot_json_too_deep(d65, strlen(d65)));
        /* 200 brackets, but never more than 2 deep; and 100 in a string. */
        k += sprintf(flat + k, "{\"a\":[");
        for (i = 0; i < 100; i++)
            k += sprintf(flat + k, "%s{}", i ? "," : "");
        k += sprintf(flat + k, "],\"s\":\"");
        for (i = 0; i < 100; i++)
            flat[k++] = '[';
        k += sprintf(flat + k, "\"}");
        CHECK(!snapshot_json_too_deep(flat, (size_t)k));
        CHECK_INT(snapshot_json_depth(flat, (size_t)k, 64), 3);
        free(d64);
        free(d65);
    }
    CHECK(snapshot_id_valid("0123456789abcdef0123456789abcdef"));
    CHECK(!snapshot_id_valid("0123456789abcdef0123456789abcde"));
    CHECK(!snapshot_id_valid("0123456789abcdef0123456789abcdefa"));
    CHECK(!snapshot_id_valid("0123456789ABCDEF0123456789abcdef"));
    CHECK(!snapshot_id_valid(NULL));
    snapshot_printable(out, sizeof(out), "a\nb\x7f", 4);
    CHECK_STR(out, "a?b?");
    memset(longs, 'x', sizeof(longs));
    snapshot_printable(out, sizeof(out), longs, sizeof(longs));
    CHECK_INT(strlen(out), 83);
    CHECK(strcmp(out + 80, "...") == 0);
    snapshot_printable(out, 10, longs, sizeof(longs));
    CHECK_INT(strlen(out), 9);
    {
        json_t *u = json_pack("{s:[{s:s}]}", "identities", "connection", "c1");

        CHECK_STR(snapshot_user_connection(u), "c1");
        json_decref(u);
        u = json_pack("{s:[]}", "identities");
        CHECK_STR(snapshot_user_connection(u), "");
        json_decref(u);
        CHECK_STR(snapshot_user_connection(NULL), "");
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/a0snap-test-snapshot-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_sha256);
    RUN(test_helpers);
    RUN(test_round_trip);
    RUN(test_fast_and_jansson_lines);
    RUN(test_empty_snapshot_and_caller_header);
    RUN(test_big_header);
    RUN(test_writer_refuses_bad_users);
    RUN(test_no_overwrite_abort_and_race);
    RUN(test_disk_full);
    RUN(test_refusals_gzip_level);
    RUN(test_refusals_content);
    RUN(test_big_lines);
    RUN(test_fsutil);
    rm_tree(tmpdir);
    return harness_done();
}
