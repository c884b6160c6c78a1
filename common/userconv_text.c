/*
 * userconv_text.c - a snapshot user's bulk-import record written straight
 * from its canonical JSON parse (see userconv_import_text in userconv.h).
 *
 * userconv_to_import() builds a json_t record, deep-copying the metadata,
 * and the import then serializes it: for a million users that is most of
 * the import's local work. Here the same rules run on the parse's nodes
 * and the record's bytes are written once, the copied values as the
 * canonical writer gives them (canonjson_write: jansson's escapes, reals
 * and integers). The fields come in userconv_to_import()'s order; an
 * object's members in the text's order, which is what jansson keeps.
 *
 * Whatever this file does not decide exactly as userconv.c does, it
 * declines (0) and the caller takes the jansson path: a value the rules
 * must read that holds escapes (email, user_id, "true"/"false"), a
 * user_id of another provider (conversion), metadata whose keys are not
 * in key order in the text (canonjson keeps them sorted, jansson as
 * written). tests/unit/test_userconv.c compares both paths byte for byte.
 */
#include "userconv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "canonjson.h"

/* Room for the record's own keys and punctuation (about 190 bytes). */
#define TEXT_FRAME 512

/* The keys userconv.c removes from app_metadata (userconv_reserved_app_metadata_key). */
static bool reserved_key(const char *k, size_t klen)
{
    char name[32];

    if (klen >= sizeof(name))
        return false;
    memcpy(name, k, klen);
    name[klen] = '\0';
    return userconv_reserved_app_metadata_key(name);
}

/* A skip with its reason, as userconv.c words it. */
__attribute__((format(printf, 2, 3))) static void skip(struct userconv_info *info, const char *fmt,
                                                       ...)
{
    va_list ap;

    info->skipped = true;
    va_start(ap, fmt);
    vsnprintf(info->reason, sizeof(info->reason), fmt, ap);
    va_end(ap);
}

/* A member as userconv.c's field() sees it: absent and null are NONE. */
static size_t field(const struct canonjson *cj, const char *key)
{
    size_t x = canonjson_get(cj, CANONJSON_ROOT, key, strlen(key));

    if (x != CANONJSON_NONE && canonjson_type(cj, x) == CANONJSON_NULL)
        return CANONJSON_NONE;
    return x;
}

static bool is_type(const struct canonjson *cj, size_t x, enum canonjson_type t)
{
    return x != CANONJSON_NONE && canonjson_type(cj, x) == t;
}

/* A string with at least one character. One with escapes has some:
 * canonjson refuses \u0000, the only escape that could decode to an
 * empty C string. */
static bool nonempty_string(const struct canonjson *cj, size_t x)
{
    const char *s;
    size_t n;

    if (!is_type(cj, x, CANONJSON_STRING))
        return false;
    return !canonjson_string(cj, x, &s, &n) || n > 0;
}

/* userconv.c's bool_value: 1, 0, -1 (neither), -2 (an escaped string:
 * declined). */
static int bool_value(const struct canonjson *cj, size_t x, bool *coerced)
{
    const char *s;
    size_t n;

    *coerced = false;
    if (x == CANONJSON_NONE)
        return 0;
    switch (canonjson_type(cj, x)) {
    case CANONJSON_TRUE:
        return 1;
    case CANONJSON_FALSE:
        return 0;
    case CANONJSON_STRING:
        if (!canonjson_string(cj, x, &s, &n))
            return -2;
        if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
            *coerced = true;
            return s[0] == 't';
        }
        return -1;
    default:
        return -1;
    }
}

/* Whether every object under node has its members in key order in the
 * text: nodes are numbered in text order, so the sorted chain must
 * number upwards. */
static bool in_text_order(const struct canonjson *cj, size_t node)
{
    enum canonjson_type t = canonjson_type(cj, node);
    size_t x, prev = 0;

    if (t != CANONJSON_OBJECT && t != CANONJSON_ARRAY)
        return true;
    for (x = canonjson_first(cj, node); x != CANONJSON_NONE; x = canonjson_next(cj, x)) {
        if (t == CANONJSON_OBJECT && x < prev)
            return false;
        prev = x;
        if (!in_text_order(cj, x))
            return false;
    }
    return true;
}

/* The record's fields that userconv.c reads before it writes anything. */
struct fields {
    size_t email, user_id, app, user;
    const char *id; /* the record's user_id (after "auth0|"), or NULL */
    size_t idlen;
};

/* check_types() of userconv.c: 1 fine, 0 skipped (info says why), -2
 * declined. */
static int check_types(const struct canonjson *cj, struct fields *f, struct userconv_info *info)
{
    static const char *const strings[] = {"username", "given_name", "family_name", "name",
                                          "nickname", "picture",    "phone_number"};
    static const char *const bools[] = {"email_verified", "blocked", "phone_verified"};
    static const char *const objs[] = {"app_metadata", "user_metadata"};
    const char *email;
    size_t i, n, x;
    bool coerced;
    int b;

    f->email = field(cj, "email");
    if (f->email == CANONJSON_NONE) {
        skip(info, "no email");
        return 0;
    }
    if (canonjson_type(cj, f->email) != CANONJSON_STRING) {
        skip(info, "%s is not a string", "email");
        return 0;
    }
    if (!canonjson_string(cj, f->email, &email, &n))
        return -2;
    if (n == 0) {
        skip(info, "no email");
        return 0;
    }
    if (!memchr(email, '@', n)) {
        skip(info, "%s is not an address", "email");
        return 0;
    }
    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        x = field(cj, strings[i]);
        if (x != CANONJSON_NONE && canonjson_type(cj, x) != CANONJSON_STRING) {
            skip(info, "%s is not a string", strings[i]);
            return 0;
        }
    }
    for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        b = bool_value(cj, field(cj, bools[i]), &coerced);
        if (b == -2)
            return -2;
        if (b < 0) {
            skip(info, "%s is not a boolean", bools[i]);
            return 0;
        }
    }
    for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        x = field(cj, objs[i]);
        if (x != CANONJSON_NONE && canonjson_type(cj, x) != CANONJSON_OBJECT) {
            skip(info, "%s is not an object", objs[i]);
            return 0;
        }
    }
    return 1;
}

/* record_id() of userconv.c for database ids: 1 fine (f->id, or NULL for
 * none), 0 skipped, -2 declined (escapes, another provider). */
static int record_id(const struct canonjson *cj, struct fields *f, struct userconv_info *info)
{
    size_t plen = strlen(USERCONV_DB_PREFIX), n;
    const char *uid;

    f->id = NULL;
    f->idlen = 0;
    f->user_id = field(cj, "user_id");
    if (f->user_id == CANONJSON_NONE)
        return 1;
    if (canonjson_type(cj, f->user_id) != CANONJSON_STRING) {
        skip(info, "%s is not a string", "user_id");
        return 0;
    }
    if (!canonjson_string(cj, f->user_id, &uid, &n))
        return -2;
    if (n < plen || memcmp(uid, USERCONV_DB_PREFIX, plen) != 0)
        return -2;
    if (n == plen) {
        skip(info, "%s is empty after its provider prefix", "user_id");
        return 0;
    }
    f->id = uid + plen;
    f->idlen = n - plen;
    return 1;
}

/* The writer: bytes go to out->data + out->len, room reserved up front. */
struct w {
    struct buf *out;
    const struct canonjson *cj;
};

static void put(struct w *w, const char *s, size_t n)
{
    memcpy(w->out->data + w->out->len, s, n);
    w->out->len += n;
}

static void put_str(struct w *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_node(struct w *w, size_t x)
{
    w->out->len += canonjson_write(w->cj, x, w->out->data + w->out->len);
}

/* ,"key":value */
static void put_member(struct w *w, const char *key, size_t x)
{
    put(w, ",\"", 2);
    put_str(w, key);
    put(w, "\":", 2);
    put_node(w, x);
}

static void put_bool(struct w *w, const char *key, bool v)
{
    put(w, ",\"", 2);
    put_str(w, key);
    put_str(w, v ? "\":true" : "\":false");
}

/* app_metadata without its reserved keys; *removed when there were some. */
static void put_app_metadata(struct w *w, size_t app, bool *removed)
{
    const struct canonjson *cj = w->cj;
    bool first = true;
    const char *k;
    size_t x, klen;

    *removed = false;
    put_str(w, ",\"app_metadata\":{");
    for (x = canonjson_first(cj, app); x != CANONJSON_NONE; x = canonjson_next(cj, x)) {
        k = canonjson_key(cj, x, &klen);
        if (reserved_key(k, klen)) {
            *removed = true;
            continue;
        }
        if (!first)
            put(w, ",", 1);
        first = false;
        put(w, "\"", 1);
        put(w, k, klen);
        put(w, "\":", 2);
        put_node(w, x);
    }
    put(w, "}", 1);
}

/* The record, in userconv_to_import()'s order. Room was reserved. */
static void write_record(struct w *w, const struct fields *f, const struct userconv_opts *o,
                         struct userconv_info *info)
{
    static const char *const strings[] = {"username", "given_name", "family_name",
                                          "name",     "nickname",   "picture"};
    const struct canonjson *cj = w->cj;
    bool coerced;
    size_t i, x;

    put_str(w, "{\"email\":");
    put_node(w, f->email);
    put_bool(w, "email_verified", bool_value(cj, field(cj, "email_verified"), &coerced) == 1);
    info->email_verified_coerced = coerced;
    if (f->id) {
        /* no escapes in it, so its bytes are what jansson writes */
        put_str(w, ",\"user_id\":\"");
        put(w, f->id, f->idlen);
        put(w, "\"", 1);
    }
    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        x = field(cj, strings[i]);
        if (nonempty_string(cj, x))
            put_member(w, strings[i], x);
    }
    x = field(cj, "blocked");
    if (x != CANONJSON_NONE)
        put_bool(w, "blocked", bool_value(cj, x, &coerced) == 1);
    x = field(cj, "phone_number");
    if (nonempty_string(cj, x))
        put_member(w, "phone_number", x);
    x = field(cj, "phone_verified");
    if (x != CANONJSON_NONE)
        put_bool(w, "phone_verified", bool_value(cj, x, &coerced) == 1);
    if (f->app != CANONJSON_NONE)
        put_app_metadata(w, f->app, &info->reserved_app_metadata);
    if (f->user != CANONJSON_NONE)
        put_member(w, "user_metadata", f->user);
    if (o->password_hash) {
        /* a valid hash holds nothing jansson would escape */
        put_str(w, ",\"password_hash\":\"");
        put_str(w, o->password_hash);
        put(w, "\"", 1);
    }
    put(w, "}", 1);
}

int userconv_import_text(const struct canonjson *cj, const struct userconv_opts *o, struct buf *out,
                         struct userconv_info *info, struct err *e)
{
    struct userconv_opts defaults;
    struct userconv_info got;
    struct fields f;
    struct w w = {out, cj};
    size_t start = out->len, room;
    int r;

    if (!o) {
        userconv_opts_init(&defaults);
        o = &defaults;
    }
    if (o->password_hash && !userconv_valid_password_hash(o->password_hash))
        return err_set(e, ERR_USAGE, "the password hash is not a bcrypt hash of 10 rounds");
    memset(&got, 0, sizeof(got));
    r = check_types(cj, &f, &got);
    if (r == 1)
        r = record_id(cj, &f, &got);
    if (r == -2)
        return 0;
    if (r == 0) {
        *info = got;
        return 1;
    }
    f.app = field(cj, "app_metadata");
    f.user = field(cj, "user_metadata");
    if ((f.app != CANONJSON_NONE && !in_text_order(cj, f.app)) ||
        (f.user != CANONJSON_NONE && !in_text_order(cj, f.user)))
        return 0;
    /* Every value copied is a node of the parse, written at most once:
     * together no longer than the bound. */
    room = canonjson_bound(cj) + TEXT_FRAME + (o->password_hash ? strlen(o->password_hash) : 0);
    if (buf_reserve(out, room, e) < 0)
        return -1;
    write_record(&w, &f, o, &got);
    out->data[out->len] = '\0';
    got.bytes = out->len - start;
    *info = got;
    return 1;
}
