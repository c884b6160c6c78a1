/*
 * Unit tests for canonjson.c: every text is also given to jansson
 * (json_loadb, then json_dumps compact with sorted keys) and whenever the
 * fast path says it handled a text, its bytes must be jansson's. Each case
 * also says whether the fast path must handle it, so a canonicaliser that
 * always gave up would fail. Then a few thousand generated documents (fixed
 * seed) with random whitespace, escapes, UTF-8, numbers, duplicate keys and
 * single-byte damage go through the same comparison.
 */
#include "canonjson.h"
#include "harness.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* jansson's value of text when it is an object, else NULL. */
static json_t *jansson_load(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);

    if (json_is_object(j))
        return j;
    json_decref(j);
    return NULL;
}

static bool same(const char *what, const char *text, size_t len, const char *ref, const char *got,
                 size_t got_len)
{
    if (ref && strlen(ref) == got_len && memcmp(ref, got, got_len) == 0)
        return true;
    fprintf(stderr, "%s mismatch for '%.*s':\n  jansson %s\n  fast    %.*s\n", what, (int)len, text,
            ref ? ref : "(rejects)", (int)got_len, got);
    return false;
}

/*
 * -1: the fast paths and jansson disagree somewhere; else whether the
 * parse handled the text (0/1). Checked besides the canonical text: the
 * json_t canonjson_to_json builds (value, and members in key order), and
 * canonjson_dump of jansson's own value, whenever it says it handled it.
 */
static int compare(const char *text, size_t len)
{
    struct canonjson cj;
    struct buf out, dumped;
    struct err e;
    json_t *j = jansson_load(text, len), *mine;
    char *ref = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *a, *b;
    int r, rc, d;

    canonjson_init(&cj);
    buf_init(&out, 64u << 20);
    buf_init(&dumped, 64u << 20);
    r = canonjson_canon(&cj, text, len, &out, &e);
    rc = r;
    if (r == 1 && !same("canon", text, len, ref, out.data, out.len))
        rc = -1;
    if (r == 1 && j) {
        /* the same value, its members inserted in key order (so its own
         * order, dumped unsorted, is jansson's sorted dump) */
        mine = canonjson_to_json(&cj, CANONJSON_ROOT);
        a = json_dumps(mine, JSON_COMPACT);
        b = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        if (!mine || !json_equal(mine, j) || !a || !b || strcmp(a, b) != 0) {
            fprintf(stderr, "to_json mismatch for '%.*s': %s vs %s\n", (int)len, text, a ? a : "-",
                    b ? b : "-");
            rc = -1;
        }
        free(a);
        free(b);
        json_decref(mine);
    }
    if (j) {
        d = canonjson_dump(j, &dumped, &e);
        if (d < 0 || (d == 1 && !same("dump", text, len, ref, dumped.data, dumped.len)) ||
            (d == 0 && r == 1))
            rc = -1;
    }
    if (r < 0)
        rc = -1;
    json_decref(j);
    free(ref);
    buf_release(&out);
    buf_release(&dumped);
    canonjson_release(&cj);
    return rc;
}

#define HANDLED(s)     CHECK_INT(compare(s, sizeof(s) - 1), 1)
#define NOT_HANDLED(s) CHECK_INT(compare(s, sizeof(s) - 1), 0)

static void expect(const char *text, const char *want)
{
    struct canonjson cj;
    struct buf out;
    struct err e;

    canonjson_init(&cj);
    buf_init(&out, 1 << 20);
    CHECK_INT(canonjson_canon(&cj, text, strlen(text), &out, &e), 1);
    CHECK_STR(buf_str(&out), want);
    buf_release(&out);
    canonjson_release(&cj);
}

static void test_structure(void)
{
    HANDLED("{}");
    HANDLED(" \t\r\n{ \"b\" : 1 ,\n \"a\" : [ ] } \n");
    HANDLED("{\"z\":{\"b\":1,\"a\":2},\"a\":[{\"d\":null,\"c\":true},false,[],{}]}");
    HANDLED("{\"ab\":1,\"a\":2,\"b\":3,\"\":4}");
    HANDLED("{\"\xc3\xa9\":1,\"z\":2,\"Z\":3,\"~\":4}");
    expect(" { \"b\" : [1, 2 ,3] , \"a\":{ \"y\":\"x\" , \"x\":\"y\"} } ",
           "{\"a\":{\"x\":\"y\",\"y\":\"x\"},\"b\":[1,2,3]}");
    expect("{\"ab\":1,\"a\":2,\"\":3}", "{\"\":3,\"a\":2,\"ab\":1}");
    NOT_HANDLED("[1,2]");
    NOT_HANDLED("\"x\"");
    NOT_HANDLED("");
    NOT_HANDLED("{");
    NOT_HANDLED("{} x");
    NOT_HANDLED("{}{}");
    NOT_HANDLED("{\"a\" 1}");
    NOT_HANDLED("{\"a\":1,}");
    NOT_HANDLED("{,}");
    NOT_HANDLED("{\"a\":[1,]}");
    NOT_HANDLED("{\"a\":[1 2]}");
    NOT_HANDLED("{a:1}");
    NOT_HANDLED("{\"a\":1}\x0b");
    /* jansson keeps the last of duplicate keys: left to it */
    NOT_HANDLED("{\"a\":1,\"a\":2}");
    NOT_HANDLED("{\"x\":{\"b\":1,\"c\":2,\"b\":3}}");
    /* keys with escapes are left to jansson */
    NOT_HANDLED("{\"a\\n\":1}");
    NOT_HANDLED("{\"\\u0061\":1}");
}

static void test_many_keys(void)
{
    char text[8192];
    size_t n = 0;
    int i;

    /* more keys than the insertion sort takes: qsort path */
    n += (size_t)snprintf(text + n, sizeof(text) - n, "{");
    for (i = 0; i < 300; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"k%d\":%d", i ? "," : "",
                              (i * 7919) % 1000, i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "}");
    /* (i * 7919) % 1000 repeats for i and i + 1000 only: no duplicates */
    CHECK_INT(compare(text, n), 1);
    text[n - 1] = ',';
    n += (size_t)snprintf(text + n, sizeof(text) - n, "\"k0\":1}");
    CHECK_INT(compare(text, n), 0);
}

static void test_strings(void)
{
    HANDLED("{\"a\":\"\\/\\\"\\\\\\b\\f\\n\\r\\t\"}");
    HANDLED("{\"a\":\"\\u00e9\\u0041\\u001f\\u007f\\u2028\\ud83d\\ude00\\uFFFF\"}");
    HANDLED("{\"a\":\"\\u0022\\u005c\\u005C\\u002f\\u0008\\u000A\\u0001\"}");
    HANDLED("{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\x7f/\xe2\x80\xa8\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}");
    HANDLED("{\"a\":\"\\uDBFF\\uDFFF\",\"b\":\"x\\\\u0000\"}");
    expect("{\"a\":\"\\u00e9\\/\\u001f\\u0041\"}", "{\"a\":\"\xc3\xa9/\\u001F\x41\"}");
    NOT_HANDLED("{\"a\":\"\\u0000\"}");
    NOT_HANDLED("{\"a\":\"\\ud800\"}");
    NOT_HANDLED("{\"a\":\"\\udc00\"}");
    NOT_HANDLED("{\"a\":\"\\ud800\\u0041\"}");
    NOT_HANDLED("{\"a\":\"\\ud800\\n\"}");
    NOT_HANDLED("{\"a\":\"\\u12\"}");
    NOT_HANDLED("{\"a\":\"\\u12g4\"}");
    NOT_HANDLED("{\"a\":\"\\x\"}");
    NOT_HANDLED("{\"a\":\"\\\"}");
    NOT_HANDLED("{\"a\":\"\x01\"}");
    NOT_HANDLED("{\"a\":\"\n\"}");
    NOT_HANDLED("{\"a\":\"\xc0\x80\"}");
    NOT_HANDLED("{\"a\":\"\xc3\"}");
    NOT_HANDLED("{\"a\":\"\xc3\x28\"}");
    NOT_HANDLED("{\"a\":\"\xe0\x80\x80\"}");
    NOT_HANDLED("{\"a\":\"\xed\xa0\x80\"}");
    NOT_HANDLED("{\"a\":\"\xf4\x90\x80\x80\"}");
    NOT_HANDLED("{\"a\":\"\xf5\x80\x80\x80\"}");
    NOT_HANDLED("{\"a\":\"\x80\"}");
    NOT_HANDLED("{\"\xff\":1}");
    CHECK_INT(compare("{\"a\":\"x\0y\"}", 11), 0);
    CHECK_INT(compare("{\"a\":1}\0", 8), 0);
}

static void test_numbers(void)
{
    HANDLED("{\"a\":-0,\"b\":0,\"c\":9223372036854775807,\"d\":-9223372036854775808,\"e\":123}");
    expect("{\"a\":-0,\"b\":-12}", "{\"a\":0,\"b\":-12}");
    HANDLED("{\"a\":1.5,\"b\":1e5,\"c\":-0.0,\"d\":1E-7,\"e\":0.1,\"f\":1e-400,\"g\":1e22}");
    HANDLED("{\"a\":2.5e+300,\"b\":-1.25E-300,\"c\":123456789012345678901234567890.0}");
    HANDLED("{\"a\":[0e0,0.000001,1e-5,1e+0,9007199254740993.0,4.9e-324]}");
    expect("{\"a\":1e5,\"b\":-0.0,\"c\":1e22,\"d\":1E-7}",
           "{\"a\":100000.0,\"b\":-0.0,\"c\":1e22,\"d\":9.9999999999999995e-8}");
    NOT_HANDLED("{\"a\":9223372036854775808}");
    NOT_HANDLED("{\"a\":-9223372036854775809}");
    NOT_HANDLED("{\"a\":12345678901234567890123}");
    NOT_HANDLED("{\"a\":1e400}");
    NOT_HANDLED("{\"a\":-1e400}");
    NOT_HANDLED("{\"a\":01}");
    NOT_HANDLED("{\"a\":-01}");
    NOT_HANDLED("{\"a\":-}");
    NOT_HANDLED("{\"a\":+1}");
    NOT_HANDLED("{\"a\":1.}");
    NOT_HANDLED("{\"a\":.5}");
    NOT_HANDLED("{\"a\":1e}");
    NOT_HANDLED("{\"a\":1e+}");
    NOT_HANDLED("{\"a\":1.5.2}");
    NOT_HANDLED("{\"a\":1x}");
    NOT_HANDLED("{\"a\":0x10}");
}

static void test_literals(void)
{
    HANDLED("{\"a\":true,\"b\":false,\"c\":null,\"d\":[true,false,null]}");
    NOT_HANDLED("{\"a\":tru}");
    NOT_HANDLED("{\"a\":truex}");
    NOT_HANDLED("{\"a\":nullx}");
    NOT_HANDLED("{\"a\":True}");
    NOT_HANDLED("{\"a\":true1}");
}

static void test_depth(void)
{
    char text[2 * CANONJSON_MAX_DEPTH + 64];
    size_t n = 0;
    int i;

    /* the root object is depth 1; then arrays */
    text[n++] = '{';
    memcpy(text + n, "\"a\":", 4);
    n += 4;
    for (i = 1; i < CANONJSON_MAX_DEPTH; i++)
        text[n++] = '[';
    for (i = 1; i < CANONJSON_MAX_DEPTH; i++)
        text[n++] = ']';
    text[n++] = '}';
    CHECK_INT(compare(text, n), 1);
    {
        /* the parse says how deep it went (a snapshot reader refuses by it) */
        struct canonjson cj;
        struct err e;
        canonjson_init(&cj);
        CHECK_INT(canonjson_parse(&cj, text, n, &e), 1);
        CHECK_INT(cj.depth, CANONJSON_MAX_DEPTH);
        const char *three = "{\"a\":{\"b\":[]},\"c\":1}";
        CHECK_INT(canonjson_parse(&cj, three, strlen(three), &e), 1);
        CHECK_INT(cj.depth, 3);
        CHECK_INT(canonjson_parse(&cj, " {} ", 4, &e), 1);
        CHECK_INT(cj.depth, 1);
        canonjson_release(&cj);
    }
    n = 0;
    text[n++] = '{';
    memcpy(text + n, "\"a\":", 4);
    n += 4;
    for (i = 0; i < CANONJSON_MAX_DEPTH; i++)
        text[n++] = '[';
    for (i = 0; i < CANONJSON_MAX_DEPTH; i++)
        text[n++] = ']';
    text[n++] = '}';
    CHECK_INT(compare(text, n), 0);
}

static void test_reading(void)
{
    const char *text = "{\"user_id\":\"auth0|1\",\"b\":[10,{\"connection\":\"db\"}],\"a\":\"x\\n\","
                       "\"c\":{}}";
    struct canonjson cj;
    struct err e;
    const char *s, *k;
    size_t len, klen, b, x;

    canonjson_init(&cj);
    CHECK_INT(canonjson_parse(&cj, text, strlen(text), &e), 1);
    CHECK_INT(canonjson_type(&cj, CANONJSON_ROOT), CANONJSON_OBJECT);
    CHECK_INT(canonjson_count(&cj, CANONJSON_ROOT), 4);
    /* members in key order */
    x = canonjson_first(&cj, CANONJSON_ROOT);
    k = canonjson_key(&cj, x, &klen);
    CHECK(klen == 1 && *k == 'a');
    x = canonjson_next(&cj, x);
    k = canonjson_key(&cj, x, &klen);
    CHECK(klen == 1 && *k == 'b');
    x = canonjson_next(&cj, canonjson_next(&cj, x));
    k = canonjson_key(&cj, x, &klen);
    CHECK(klen == 7 && memcmp(k, "user_id", 7) == 0);
    CHECK(canonjson_next(&cj, x) == CANONJSON_NONE);
    CHECK(canonjson_string(&cj, x, &s, &len));
    CHECK(len == 7 && memcmp(s, "auth0|1", 7) == 0);
    /* a string with an escape is not handed out */
    CHECK(!canonjson_string(&cj, canonjson_get(&cj, CANONJSON_ROOT, "a", 1), &s, &len));
    b = canonjson_get(&cj, CANONJSON_ROOT, "b", 1);
    CHECK_INT(canonjson_type(&cj, b), CANONJSON_ARRAY);
    CHECK_INT(canonjson_type(&cj, canonjson_at(&cj, b, 0)), CANONJSON_INTEGER);
    CHECK(canonjson_at(&cj, b, 2) == CANONJSON_NONE);
    x = canonjson_get(&cj, canonjson_at(&cj, b, 1), "connection", 10);
    CHECK(canonjson_string(&cj, x, &s, &len) && len == 2 && memcmp(s, "db", 2) == 0);
    CHECK(canonjson_get(&cj, CANONJSON_ROOT, "zz", 2) == CANONJSON_NONE);
    CHECK(canonjson_get(&cj, b, "a", 1) == CANONJSON_NONE);
    CHECK(canonjson_first(&cj, canonjson_get(&cj, CANONJSON_ROOT, "c", 1)) == CANONJSON_NONE);
    /* one node written alone */
    {
        char out[64];
        size_t n = canonjson_write(&cj, b, out);
        CHECK(n == 24 && memcmp(out, "[10,{\"connection\":\"db\"}]", n) == 0);
    }
    canonjson_release(&cj);
}

static void test_dump_values(void)
{
    json_t *j = json_object(), *arr = json_array();
    struct buf out;
    struct err e;
    char *ref;
    int r;

    buf_init(&out, 1 << 20);
    /* what a privacy policy may leave: NULs, controls, reals, big keys */
    json_object_set_new(j, "z", json_stringn("a\0b\x01\x1f\"\\/\x7f\xc3\xa9", 12));
    json_object_set_new(j, "k\xc3\xa9y\n", json_real(1e300));
    json_object_set_new(j, "i", json_integer(-9223372036854775807LL - 1));
    json_array_append_new(arr, json_real(-0.0));
    json_array_append_new(arr, json_real(0.1));
    json_array_append_new(arr, json_real(5e-324));
    json_array_append_new(arr, json_real(123456789.0));
    json_array_append_new(arr, json_object());
    json_object_set_new(j, "a", arr);
    json_object_setn_new(j, "n\0ul", 4, json_true());
    ref = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    r = canonjson_dump(j, &out, &e);
    CHECK_INT(r, 1);
    CHECK_STR(buf_str(&out), ref);
    CHECK(out.len == strlen(ref));
    free(ref);
    /* one string alone, as jansson quotes it */
    buf_reset(&out);
    ref = json_dumps(json_object_get(j, "z"), JSON_ENCODE_ANY);
    CHECK_INT(canonjson_dump_string("a\0b\x01\x1f\"\\/\x7f\xc3\xa9", 12, &out, &e), 1);
    CHECK_STR(buf_str(&out), ref);
    free(ref);
    buf_reset(&out);
    CHECK_INT(canonjson_dump_string("x\xc3", 2, &out, &e), 0);
    CHECK(out.len == 0);
    /* bad UTF-8 (only a nocheck setter can make it): left to jansson */
    buf_reset(&out);
    json_object_set_new(j, "bad", json_stringn_nocheck("\xff", 1));
    CHECK_INT(canonjson_dump(j, &out, &e), 0);
    CHECK_INT(out.len, 0);
    /* a cycle: left to jansson, which refuses it */
    buf_reset(&out);
    json_object_del(j, "bad");
    {
        json_t *loop = json_array();
        json_array_append(arr, loop);
        json_array_append(loop, arr);
        CHECK_INT(canonjson_dump(j, &out, &e), 0);
        CHECK(json_dumps(j, 0) == NULL);
        json_array_clear(loop); /* break the cycle */
        json_array_remove(arr, json_array_size(arr) - 1);
        json_decref(loop);
    }
    /* not a container */
    CHECK_INT(canonjson_dump(json_array_get(arr, 0), &out, &e), 0);
    json_decref(j);
    buf_release(&out);
}

/* ---- generated documents ------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void put(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s), NULL);
}

static void gen_ws(struct buf *b)
{
    static const char *ws[] = {"", "", "", " ", "\n", "\t ", "\r\n"};
    put(b, ws[rnd(7)]);
}

static void gen_string(struct buf *b, bool key)
{
    static const char *parts[] = {
        "a",
        "b",
        "user",
        "\xc3\xa9",
        "\xf0\x9f\x98\x80",
        "\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\t",
        "\\u00e9",
        "\\u001f",
        "\\u0000",
        "\\ud83d\\ude00",
        "\\ud800",
        "\x7f",
        "/",
        "Z",
        "\\u0041",
        "\\b",
        "\xe2\x80\xa8",
        " ",
        "\xc3",
        "\\u12",
        "\\uDC01",
        "\x01",
    };
    unsigned n = rnd(4), i, lim = key ? 5 : 26;

    put(b, "\"");
    for (i = 0; i < n; i++)
        put(b, parts[rnd(key && rnd(8) ? lim : 26)]);
    put(b, "\"");
}

static void gen_value(struct buf *b, int depth)
{
    static const char *nums[] = {"0",
                                 "-0",
                                 "1",
                                 "-17",
                                 "9223372036854775807",
                                 "9223372036854775808",
                                 "-9223372036854775808",
                                 "1.5",
                                 "-0.0",
                                 "1e5",
                                 "2E-3",
                                 "1e400",
                                 "0.1",
                                 "01",
                                 "1.",
                                 "3.25e+2"};
    static const char *lits[] = {"true", "false", "null"};
    unsigned k = depth > 5 ? rnd(3) + 2 : rnd(6), n, i;

    switch (k) {
    case 0:
    case 1:
        n = rnd(5);
        put(b, k == 0 ? "{" : "[");
        for (i = 0; i < n; i++) {
            if (i)
                put(b, ",");
            gen_ws(b);
            if (k == 0) {
                gen_string(b, true);
                gen_ws(b);
                put(b, ":");
                gen_ws(b);
            }
            gen_value(b, depth + 1);
            gen_ws(b);
        }
        put(b, k == 0 ? "}" : "]");
        break;
    case 2:
        gen_string(b, false);
        break;
    case 3:
        put(b, nums[rnd(sizeof(nums) / sizeof(nums[0]))]);
        break;
    default:
        put(b, lits[rnd(3)]);
        break;
    }
}

static void test_generated(void)
{
    struct buf b;
    int i, handled = 0, failed = 0, r;

    buf_init(&b, 1 << 20);
    for (i = 0; i < 20000; i++) {
        buf_reset(&b);
        gen_ws(&b);
        put(&b, "{");
        gen_string(&b, true);
        put(&b, ":");
        gen_value(&b, 1);
        put(&b, ",\"k\":");
        gen_value(&b, 1);
        put(&b, "}");
        gen_ws(&b);
        if (i % 4 == 3 && b.len) /* damage one byte */
            b.data[rnd((unsigned)b.len)] = (char)rnd(256);
        r = compare(b.data, b.len);
        handled += r == 1;
        failed += r < 0;
    }
    CHECK_INT(failed, 0);
    /* the generator is meant to be handled often, and refused often */
    CHECK(handled > 2000);
    CHECK(handled < 18000);
    buf_release(&b);
}

int main(void)
{
    RUN(test_structure);
    RUN(test_many_keys);
    RUN(test_strings);
    RUN(test_numbers);
    RUN(test_literals);
    RUN(test_depth);
    RUN(test_reading);
    RUN(test_dump_values);
    RUN(test_generated);
    return harness_done();
}
