/*
 * fuzz_api.c - the pure parsers of what a tenant sends back: error bodies
 * (common/api_error.c), rate-limit headers and the arithmetic fed by them
 * (common/ratelimit.c), user objects (common/userconv.c, userdiff.c) and
 * the lines of an export job's file (common/dump_users.c). The same
 * answers arriving over HTTP, with job objects, tokens and paging, are
 * fuzz_tenant.c's.
 *
 * Input: a first line naming the mode, then its data:
 *   error STATUS METHOD PATH\n<body>      api_error_set()
 *   headers NOW_MS\n<header lines>        rl_headers_parse_line() and the
 *                                         pacing (answers: blank-line
 *                                         separated, "+MS" moves the clock)
 *   user\n<JSON>                          userconv_*, userdiff_*
 *   export [privacy]\n<NDJSON>            dump_ingest_line() and the sorts
 * Other first lines pick a mode from the first byte, so every input does
 * something. What must hold is what the headers promise (ranges of delays,
 * error codes, the import record's allow-list, a user equal to itself...).
 */
#include "fuzz_util.h"

#include "api_error.h"
#include "dump_internal.h"
#include "extsort.h"
#include "privacy.h"
#include "pseudonym.h"
#include "ratelimit.h"
#include "userconv.h"
#include "userdiff.h"

#include <inttypes.h>
#include <limits.h>

#define FUZZ_API_MAX_INPUT (512u * 1024)

/* A realistic clock: 2023-11-14 plus up to ~30 years, in ms. The clock is
 * ours; only the headers come from the server. */
#define FUZZ_NOW_BASE_MS 1700000000000LL
#define FUZZ_NOW_SPAN_MS 1000000000000LL

/* ---- error bodies ------------------------------------------------------ */

static void fuzz_error(const char *args, const char *body, size_t len)
{
    char method[16] = "GET", path[512] = "/users";
    long status = 0;
    struct err e;
    int rc;

    if (sscanf(args, "%ld %15s %511s", &status, method, path) < 1)
        status = 500;
    err_clear(&e);
    rc = api_error_set(&e, method, path, status, len ? body : NULL, len);
    FUZZ_ASSERT(rc == -1);
    FUZZ_ASSERT(e.http_status == (int)status);
    FUZZ_ASSERT(memchr(e.msg, '\0', sizeof(e.msg)) != NULL && e.msg[0] != '\0');
    if (status == 401)
        FUZZ_ASSERT(e.code == ERR_AUTH);
    else if (status == 403)
        FUZZ_ASSERT(e.code == ERR_SCOPE || e.code == ERR_AUTH);
    else
        FUZZ_ASSERT(e.code == ERR_API);
    /* "METHOD PATH: HTTP ...", the path without its query (which can hold
     * emails) and cut at 200 bytes. */
    {
        char where[300];
        size_t plen = strcspn(path, "?");
        snprintf(where, sizeof(where), "%s %.*s: HTTP ", method, (int)(plen > 200 ? 200 : plen),
                 path);
        FUZZ_ASSERT(strncmp(e.msg, where, strlen(where)) == 0);
    }
    FUZZ_ASSERT(api_status_text(status) != NULL);
}

/* ---- rate-limit headers ------------------------------------------------ */

static void check_delays(const struct rl_headers *h, int64_t now)
{
    static const long statuses[] = {0, 408, 429, 500, 503};
    static const int attempts[] = {0, 1, 2, 7, 40, INT_MAX};
    static const double rnds[] = {0.0, 0.5, 0.9999999};

    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
        for (size_t a = 0; a < sizeof(attempts) / sizeof(attempts[0]); a++) {
            for (size_t r = 0; r < sizeof(rnds) / sizeof(rnds[0]); r++) {
                int64_t d =
                    ratelimit_retry_delay_ms(statuses[s], h, attempts[a], now, rnds[r], NULL);
                if (d < 0 || d > RL_WAIT_CAP_MS) {
                    fprintf(stderr, "retry delay %" PRId64 " ms (status %ld attempt %d)\n", d,
                            statuses[s], attempts[a]);
                    FUZZ_ASSERT(!"a retry delay lies in [0, RL_WAIT_CAP_MS]");
                }
            }
        }
    }
}

/* What pacing must keep, whatever the answers said: a wait in [0, cap];
 * none while the answer's tokens cover what was sent since; some after an
 * answer that found the bucket empty (the reset's minimum while no rate is
 * known); never longer for waiting, never shorter for having sent more
 * (tried on a copy: the state then counts the one request the next answer
 * answers). */
static void check_pacing(struct rl_state *s, const struct rl_headers *h, int64_t now)
{
    int64_t pace = ratelimit_pace_ms(s, now), later, more;
    struct rl_state ahead = *s;

    if (pace < 0 || pace > RL_WAIT_CAP_MS) {
        fprintf(stderr, "pace %" PRId64 " ms\n", pace);
        FUZZ_ASSERT(!"a pacing wait lies in [0, RL_WAIT_CAP_MS]");
    }
    if (s->known && h->remaining > 0)
        FUZZ_ASSERT(pace == 0);
    if (s->known && h->remaining == 0) {
        FUZZ_ASSERT(pace > 0);
        if (ratelimit_refill_per_s(s) == 0)
            FUZZ_ASSERT(pace >= RL_MIN_WAIT_MS);
    }
    later = ratelimit_pace_ms(s, now + 250);
    FUZZ_ASSERT(later <= pace);
    more = pace;
    for (int i = 0; i < 3; i++) {
        int64_t next;
        ratelimit_note_sent(&ahead);
        next = ratelimit_pace_ms(&ahead, now);
        FUZZ_ASSERT(next >= more && next <= RL_WAIT_CAP_MS);
        more = next;
    }
    ratelimit_note_sent(s);
}

/* Answers are separated by blank lines; a line "+N" moves the clock on by
 * N ms (at most a minute), so the refill estimate gets windows to read.
 * An answer with Retry-After stands for a 429: the request took no token.
 * After each, the client waits as paced (the clock moves on) and sends
 * the request the next answer answers. */
static void fuzz_headers(const char *args, const char *text, size_t len)
{
    unsigned long long off = strtoull(args, NULL, 10);
    int64_t now = FUZZ_NOW_BASE_MS + (int64_t)(off % FUZZ_NOW_SPAN_MS);
    struct rl_headers h;
    struct rl_state s;
    bool pending = false;

    rl_headers_init(&h);
    rl_state_init(&s);
    for (;;) {
        const char *nl = len > 0 ? memchr(text, '\n', len) : NULL;
        size_t n = nl ? (size_t)(nl - text) : len;
        char tmp[200]; /* the line with a NUL: the input has none */

        if (n < sizeof(tmp)) {
            memcpy(tmp, text, n);
            tmp[n] = '\0';
        } else {
            tmp[0] = '\0';
        }
        /* http.c strips the line end before parsing; a \r inside stays. */
        if (len > 0 && rl_headers_parse_line(&h, text, n, now)) {
            FUZZ_ASSERT(h.limit >= -1 && h.remaining >= -1 && h.reset_epoch_s >= -1);
            FUZZ_ASSERT(h.retry_after_ms >= -1);
            pending = true;
        } else if (tmp[0] == '+') {
            now += (int64_t)(strtoull(tmp + 1, NULL, 10) % 60001);
        }
        if (n < sizeof(tmp))
            (void)rl_parse_http_date_ms(tmp);
        if (pending && (n == 0 || len == 0)) {
            int64_t wait;
            if (h.retry_after_ms >= 0)
                ratelimit_note_refused(&s);
            rl_state_update(&s, &h, now);
            wait = ratelimit_pace_ms(&s, now);
            check_pacing(&s, &h, now);
            check_delays(&h, now);
            now += wait;
            rl_headers_init(&h);
            pending = false;
        }
        if (len == 0)
            break;
        text += n + (nl ? 1 : 0);
        len -= n + (nl ? 1 : 0);
    }
    check_delays(NULL, now);
}

/* ---- user objects ------------------------------------------------------ */

static const char *const record_keys[] = {
    "email",        "email_verified", "user_id",       "username", "given_name",   "family_name",
    "name",         "nickname",       "picture",       "blocked",  "phone_number", "phone_verified",
    "app_metadata", "user_metadata",  "password_hash", NULL,
};

static bool allowed_record_key(const char *k)
{
    for (const char *const *r = record_keys; *r; r++)
        if (strcmp(*r, k) == 0)
            return true;
    return false;
}

/* Returns whether the user makes an import record. */
static bool check_record(const json_t *user, bool convert)
{
    static const char hash[] = "$2b$10$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ";
    struct userconv_opts o;
    struct userconv_info info;
    json_t *rec = NULL, *v, *reserved = NULL;
    const char *k;
    struct err e;
    char *text;
    int rc;

    userconv_opts_init(&o);
    o.convert_ids = convert;
    o.password_hash = convert ? hash : NULL;
    FUZZ_ASSERT(!convert || userconv_valid_password_hash(hash));
    err_clear(&e);
    rc = userconv_to_import(user, &o, &rec, &info, &e);
    if (rc < 0) {
        FUZZ_ASSERT(rec == NULL);
        FUZZ_ASSERT(e.code == ERR_USAGE || e.code == ERR_INTERNAL);
        return false;
    }
    if (!rec) {
        FUZZ_ASSERT(info.skipped && info.reason[0] != '\0');
        return false;
    }
    FUZZ_ASSERT(!info.skipped);
    json_object_foreach(rec, k, v)
    {
        FUZZ_ASSERT(allowed_record_key(k));
    }
    FUZZ_ASSERT(json_is_string(json_object_get(rec, "email")));
    FUZZ_ASSERT(json_is_boolean(json_object_get(rec, "email_verified")));
    v = json_object_get(rec, "app_metadata");
    if (v) {
        FUZZ_ASSERT(json_is_object(v));
        json_object_foreach(v, k, reserved)
        {
            FUZZ_ASSERT(!userconv_reserved_app_metadata_key(k));
        }
    }
    text = json_dumps(rec, USERCONV_JSON_FLAGS);
    FUZZ_ASSERT(text != NULL && strlen(text) == info.bytes);
    free(text);
    json_decref(rec);
    reserved = NULL;
    FUZZ_ASSERT(userconv_reserved_app_metadata(user, &reserved, &e) == 0);
    FUZZ_ASSERT(reserved == NULL || json_object_size(reserved) > 0);
    json_decref(reserved);
    return true;
}

static void check_social_id(const json_t *user)
{
    const char *uid = json_string_value(json_object_get(user, "user_id"));
    struct buf b;
    struct err e;

    if (!uid)
        return;
    buf_init(&b, 4096);
    err_clear(&e);
    if (userconv_social_id(uid, &b, &e) == 0) {
        FUZZ_ASSERT(b.len > 0 && b.len <= USERCONV_SOCIAL_ID_MAX);
        for (size_t i = 0; i < b.len; i++) {
            char c = b.data[i];
            FUZZ_ASSERT((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
        }
    } else {
        FUZZ_ASSERT(!*uid && e.code == ERR_USAGE);
    }
    buf_release(&b);
}

static void check_diff(const json_t *want, const json_t *have, bool same)
{
    struct userdiff d;
    struct userdiff_plan p;
    struct err e;
    json_t *names;

    err_clear(&e);
    if (userdiff_compare(want, have, &d, &e) < 0) {
        FUZZ_ASSERT(e.code == ERR_SNAPSHOT || e.code == ERR_INTERNAL);
        FUZZ_ASSERT(d.roles_add == NULL && d.fields == 0);
        return;
    }
    FUZZ_ASSERT((d.fields & ~UD_ALL_FIELDS) == 0);
    if (same && (d.fields || userdiff_grants_changed(&d))) {
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        char *h = json_dumps(have, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "want %s\nhave %s\nfields %#x\n", w ? w : "?", h ? h : "?", d.fields);
        free(w);
        free(h);
        FUZZ_ASSERT(!"a user does not differ from itself or from its target view");
    }
    names = userdiff_fields_json(&d);
    FUZZ_ASSERT(names != NULL);
    json_decref(names);
    if (userdiff_plan(want, have, &d, &p, &e) == 0) {
        if (!have)
            FUZZ_ASSERT(p.action == UD_CREATE && p.via_job);
        else
            FUZZ_ASSERT((p.action == UD_UPDATE) == (d.fields != 0));
        FUZZ_ASSERT(p.patch2 == NULL || p.patch != NULL);
        FUZZ_ASSERT(p.patch == NULL || json_is_object(p.patch));
        userdiff_plan_release(&p);
    } else {
        FUZZ_ASSERT(e.code == ERR_SNAPSHOT || e.code == ERR_INTERNAL);
    }
    userdiff_release(&d);
}

static void fuzz_user(const char *text, size_t len)
{
    json_t *user = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_t *view, *roles, *orgs;

    bool importable;

    if (!user)
        return;
    check_record(user, false);
    importable = check_record(user, true);
    check_social_id(user);
    FUZZ_ASSERT(userconv_kind_name(userconv_user_kind(user)) != NULL);
    view = userconv_expected(user, NULL);
    FUZZ_ASSERT((view != NULL) == json_is_object(user));
    roles = userconv_role_names(json_object_get(user, "roles"));
    orgs = userconv_org_names(json_object_get(user, "organizations"));
    FUZZ_ASSERT(json_is_array(roles) && json_is_array(orgs));
    for (size_t i = 1; i < json_array_size(roles); i++)
        FUZZ_ASSERT(strcmp(json_string_value(json_array_get(roles, i - 1)),
                           json_string_value(json_array_get(roles, i))) < 0);
    check_diff(user, NULL, false);
    check_diff(user, user, true);
    if (view) {
        /* A user that makes an import record is what its target view
         * says (one that does not is skipped at import, so moot). */
        check_diff(user, view, importable);
        check_diff(view, user, false);
    }
    json_decref(roles);
    json_decref(orgs);
    json_decref(view);
    json_decref(user);
}

/* ---- export job lines -------------------------------------------------- */

static struct pseudonym_key *key;
static struct privacy_policy *policy;

static void fuzz_export(const char *args, const char *text, size_t len)
{
    struct dump_request req;
    struct dump_result res;
    struct dump_ctx c;
    const char *k, *r;
    size_t klen, rlen, prev_len = 0;
    char *prev = NULL;
    struct err e;
    int rc = 0, more;

    memset(&req, 0, sizeof(req));
    memset(&c, 0, sizeof(c));
    dump_result_init(&res);
    err_clear(&e);
    c.req = &req;
    c.res = &res;
    c.phase = "users";
    snprintf(c.tmpdir, sizeof(c.tmpdir), "%s", fuzz_tmpdir());
    if (strstr(args, "privacy")) {
        static const unsigned char kb[32] = "a0snap fuzz key, not a secret!!";
        if (!key && pseudonym_key_from_bytes(&key, kb, sizeof(kb), &e) < 0)
            abort();
        if (!policy && privacy_policy_default(&policy, &e) < 0)
            abort();
        FUZZ_ASSERT(privacy_ctx_new(&req.privacy, policy, key, &e) == 0);
        privacy_ctx_want_src(req.privacy, true); /* as a0snap-export does */
    }
    FUZZ_ASSERT(extsort_new(&c.users, c.tmpdir, 1 << 20, &e) == 0);
    FUZZ_ASSERT(extsort_new(&c.uniq, c.tmpdir, 1 << 20, &e) == 0);
    while (len > 0 && rc == 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;

        if (n > 0) {
            rc = dump_ingest_line(&c, text, n, &e);
            if (rc < 0)
                FUZZ_ASSERT(e.code == ERR_API || e.code == ERR_SNAPSHOT || e.code == ERR_USAGE ||
                            e.code == ERR_INTERNAL);
        }
        text += n + (nl ? 1 : 0);
        len -= n + (nl ? 1 : 0);
    }
    if (rc == 0) {
        FUZZ_ASSERT(extsort_finish(c.users, &e) == 0);
        while ((more = extsort_next(c.users, &k, &klen, &r, &rlen, &e)) == 1) {
            const char *nul = memchr(r, '\0', rlen);
            json_t *u;

            /* key order, and rec = "<connection>\0<the user, compact>" */
            FUZZ_ASSERT(!prev || memcmp(prev, k, klen < prev_len ? klen : prev_len) <= 0);
            FUZZ_ASSERT(nul != NULL);
            u = json_loadb(nul + 1, rlen - (size_t)(nul + 1 - r), JSON_ALLOW_NUL, NULL);
            FUZZ_ASSERT(json_is_object(u));
            FUZZ_ASSERT(json_string_length(json_object_get(u, "user_id")) == klen);
            json_decref(u);
            free(prev);
            prev = fuzz_strndup(k, klen);
            prev_len = klen;
        }
        FUZZ_ASSERT(more == 0);
        if (req.privacy) {
            rc = dump_check_unique(&c, &e);
            FUZZ_ASSERT(rc == 0 || e.code == ERR_INTERNAL);
        }
    }
    free(prev);
    extsort_free(c.users);
    extsort_free(c.uniq);
    privacy_ctx_free(req.privacy);
    dump_result_release(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *nl;
    size_t first, rest_len;
    char *line;

    if (size == 0 || size > FUZZ_API_MAX_INPUT)
        return 0;
    nl = memchr(text, '\n', size);
    first = nl ? (size_t)(nl - text) : size;
    rest_len = nl ? size - first - 1 : 0;
    line = fuzz_strndup(text, first < 200 ? first : 200);
    if (strncmp(line, "error", 5) == 0)
        fuzz_error(line + 5, nl ? nl + 1 : "", rest_len);
    else if (strncmp(line, "headers", 7) == 0)
        fuzz_headers(line + 7, nl ? nl + 1 : "", rest_len);
    else if (strncmp(line, "user", 4) == 0)
        fuzz_user(nl ? nl + 1 : "", rest_len);
    else if (strncmp(line, "export", 6) == 0)
        fuzz_export(line + 6, nl ? nl + 1 : "", rest_len);
    else {
        /* No mode line: the whole input goes to a mode the first byte picks. */
        switch (data[0] % 4) {
        case 0:
            fuzz_error("429 GET /api/v2/users?q=x", text, size);
            break;
        case 1:
            fuzz_headers("0", text, size);
            break;
        case 2:
            fuzz_user(text, size);
            break;
        default:
            fuzz_export("", text, size);
            break;
        }
    }
    free(line);
    return 0;
}
