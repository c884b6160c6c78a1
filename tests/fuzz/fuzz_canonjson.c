/*
 * fuzz_canonjson.c - the fast canonicaliser (common/canonjson.c) against
 * jansson, which it must agree with byte for byte.
 *
 * Input: the JSON text itself (a user line, usually).
 *
 * Promises checked: whenever canonjson_parse() accepts a text, jansson
 * loads it as an object too, and canonjson_write() of the root gives
 * exactly json_dumps(JSON_COMPACT | JSON_SORT_KEYS); so does writing any
 * top-level member alone (dump_join splices members one by one), compared
 * with json_dumps(JSON_ENCODE_ANY | ...) of the same member. Members come in
 * sorted key order, every key and every string handed out is what jansson
 * decoded, and the write stays within canonjson_bound(). Parsing never
 * fails for want of memory (-1) on inputs of this size. canonjson_to_json()
 * builds the value jansson builds, members inserted in key order.
 *
 * And for every text jansson loads as an object (handled by the parse or
 * not: escaped keys, duplicates, deep nesting...), canonjson_dump() of
 * jansson's value, when it says it handled it, is json_dumps' text.
 *
 * The import record written from the parse (userconv_import_text, the
 * import's bulk path) is, unless it declines, the bytes jansson writes for
 * userconv_to_import() of jansson's value, with the same skip or error.
 */
#include "fuzz_util.h"

#include <jansson.h>

#include "canonjson.h"
#include "userconv.h"

#define FUZZ_CANON_MAX_INPUT (1u << 20)
#define FLAGS                (JSON_COMPACT | JSON_SORT_KEYS)

static void check_member(const struct canonjson *cj, size_t x, json_t *value, char *scratch)
{
    char *ref = json_dumps(value, FLAGS | JSON_ENCODE_ANY);
    size_t n = canonjson_write(cj, x, scratch);
    const char *s;
    size_t len;

    FUZZ_ASSERT(ref != NULL);
    FUZZ_ASSERT(n == strlen(ref) && memcmp(ref, scratch, n) == 0);
    free(ref);
    FUZZ_ASSERT(canonjson_type(cj, x) != CANONJSON_OBJECT || json_is_object(value));
    FUZZ_ASSERT(canonjson_type(cj, x) != CANONJSON_ARRAY ||
                canonjson_count(cj, x) == json_array_size(value));
    if (canonjson_string(cj, x, &s, &len)) {
        FUZZ_ASSERT(json_is_string(value));
        FUZZ_ASSERT(len == json_string_length(value));
        FUZZ_ASSERT(memcmp(s, json_string_value(value), len) == 0);
    }
}

static void check_import_text(const struct canonjson *cj, const json_t *user)
{
    struct userconv_info i1, i2;
    struct err e1, e2;
    json_t *rec = NULL;
    struct buf b;
    char *t;
    int r1, r2;

    err_clear(&e1);
    err_clear(&e2);
    buf_init(&b, 64u << 20);
    r1 = userconv_to_import(user, NULL, &rec, &i1, &e1);
    r2 = userconv_import_text(cj, NULL, &b, &i2, &e2);
    FUZZ_ASSERT(r2 == 0 || r2 == 1);
    FUZZ_ASSERT(r2 == 1 || b.len == 0);
    if (r2 == 1) {
        FUZZ_ASSERT(r1 == 0);
        FUZZ_ASSERT(i1.skipped == i2.skipped && strcmp(i1.reason, i2.reason) == 0);
        FUZZ_ASSERT(i1.reserved_app_metadata == i2.reserved_app_metadata);
        FUZZ_ASSERT(i1.email_verified_coerced == i2.email_verified_coerced);
        t = rec ? json_dumps(rec, USERCONV_JSON_FLAGS) : NULL;
        FUZZ_ASSERT(!rec || (t && strlen(t) == b.len && memcmp(t, b.data, b.len) == 0));
        FUZZ_ASSERT(rec || b.len == 0);
        FUZZ_ASSERT(i1.bytes == i2.bytes);
        free(t);
    }
    json_decref(rec);
    buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct canonjson cj;
    struct err e;
    json_error_t jerr;
    json_t *j = NULL;
    char *out = NULL, *ref = NULL;
    const char *text = (const char *)data, *key, *prev = NULL;
    size_t n, x, klen, prev_len = 0, count = 0;
    int r;

    if (size > FUZZ_CANON_MAX_INPUT)
        return 0;
    canonjson_init(&cj);
    r = canonjson_parse(&cj, text, size, &e);
    FUZZ_ASSERT(r == 0 || r == 1);
    if (r == 1) {
        j = json_loadb(text, size, 0, &jerr);
        FUZZ_ASSERT(json_is_object(j));
        ref = json_dumps(j, FLAGS);
        FUZZ_ASSERT(ref != NULL);
        out = malloc(canonjson_bound(&cj) + 1);
        FUZZ_ASSERT(out != NULL);
        n = canonjson_write(&cj, CANONJSON_ROOT, out);
        FUZZ_ASSERT(n <= canonjson_bound(&cj));
        FUZZ_ASSERT(n == strlen(ref) && memcmp(ref, out, n) == 0);
        for (x = canonjson_first(&cj, CANONJSON_ROOT); x != CANONJSON_NONE;
             x = canonjson_next(&cj, x)) {
            json_t *v;
            key = canonjson_key(&cj, x, &klen);
            v = json_object_getn(j, key, klen);
            FUZZ_ASSERT(v != NULL);
            FUZZ_ASSERT(canonjson_get(&cj, CANONJSON_ROOT, key, klen) == x);
            if (prev) {
                size_t m = prev_len < klen ? prev_len : klen;
                int d = memcmp(prev, key, m);
                FUZZ_ASSERT(d < 0 || (d == 0 && prev_len < klen));
            }
            prev = key;
            prev_len = klen;
            check_member(&cj, x, v, out);
            if (json_is_array(v) && json_array_size(v) > 0)
                check_member(&cj, canonjson_at(&cj, x, json_array_size(v) - 1),
                             json_array_get(v, json_array_size(v) - 1), out);
            count++;
        }
        FUZZ_ASSERT(count == json_object_size(j));
        FUZZ_ASSERT(count == canonjson_count(&cj, CANONJSON_ROOT));
        check_import_text(&cj, j);
        {
            json_t *mine = canonjson_to_json(&cj, CANONJSON_ROOT);
            char *a, *b;
            FUZZ_ASSERT(mine != NULL);
            FUZZ_ASSERT(json_equal(mine, j));
            /* members inserted in key order: its unsorted dump is the sorted one */
            a = json_dumps(mine, JSON_COMPACT);
            b = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
            FUZZ_ASSERT(a && b && strcmp(a, b) == 0);
            free(a);
            free(b);
            json_decref(mine);
        }
    } else {
        j = json_loadb(text, size, 0, &jerr);
        if (json_is_object(j))
            ref = json_dumps(j, FLAGS);
    }
    if (ref) {
        struct buf d;
        buf_init(&d, 64u << 20);
        r = canonjson_dump(j, &d, &e);
        FUZZ_ASSERT(r == 0 || r == 1);
        FUZZ_ASSERT(r == 0 || (d.len == strlen(ref) && memcmp(d.data, ref, d.len) == 0));
        /* a text the parse handled has nothing the dump would leave */
        FUZZ_ASSERT(r == 1 || !out);
        buf_release(&d);
    }
    json_decref(j);
    free(ref);
    free(out);
    canonjson_release(&cj);
    return 0;
}
