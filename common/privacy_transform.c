/*
 * privacy_transform.c - applying a policy to users, one at a time, in place.
 *
 * Profile fields: each "fields" rule is looked up by name on the user and
 * on every identities[].profileData; "identity_fields" on every identity.
 *
 * Metadata: user_metadata and app_metadata are walked top-down. At each key
 * (or array element) the action is, in this order of precedence:
 *   1. the first "metadata" rule whose path matches this node;
 *   2. the first personal-key pattern matching this key's name;
 *   3. the action inherited from the nearest ancestor that had 1 or 2.
 * So a rule on a container covers what is inside it, a more specific rule
 * inside still wins, and a personal-looking key is caught even inside a
 * container someone chose to keep. "set" replaces a whole subtree; the
 * other actions reach the leaves (strings and numbers; true, false and null
 * carry nothing worth hiding and are left alone by pseudonym/hash/mask).
 * A container emptied by "drop" is removed too. A leaf that nothing covers
 * is unreviewed: it is counted and its path listed (the drift guard), and
 * "unlisted_metadata" decides whether it is kept or dropped.
 *
 * Speed: users repeat the same metadata paths, so the decision for a path
 * (which rule, which pattern) is cached by the path's text; a million users
 * pay for pattern matching once per distinct path, not once per key.
 */
#include "privacy.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define CACHE_MAX   65536 /* distinct metadata paths whose decision is cached */
#define SCRATCH_MAX (PSEUDONYM_INPUT_MAX + 4096)
#define KEY_STACK   256

/* ---- a small string map (open addressing), for the cache and drift ---- */

struct smap_entry {
    char *key; /* NULL: empty slot */
    uint64_t hash;
    int rule, personal; /* cache: decision */
    int shape;          /* cache: the auto shape for this key, -1 for array elements */
    size_t users, last; /* drift: users seen, sequence number of the last one */
};

struct smap {
    struct smap_entry *slots;
    size_t cap, n;
};

#define FNV_OFFSET 1469598103934665603ULL

/* FNV-1a, continued from h (FNV_OFFSET to start): a path's hash is its
 * parent's hash continued over the new segment. */
static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void smap_release(struct smap *m)
{
    size_t i;

    for (i = 0; m->slots && i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

static struct smap_entry *smap_find(const struct smap *m, const char *key, size_t len, uint64_t h)
{
    size_t i;

    if (!m->cap)
        return NULL;
    for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct smap_entry *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == h && strncmp(s->key, key, len) == 0 && s->key[len] == '\0')
            return s;
    }
}

static struct smap_entry *slot_for(struct smap_entry *slots, size_t cap, uint64_t h)
{
    size_t i;

    for (i = h & (cap - 1); slots[i].key; i = (i + 1) & (cap - 1))
        ;
    return &slots[i];
}

/* Inserts a key known to be absent; NULL when out of memory. */
static struct smap_entry *smap_add(struct smap *m, const char *key, size_t len, uint64_t h)
{
    struct smap_entry *s;

    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64, i;
        struct smap_entry *slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return NULL;
        for (i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                *slot_for(slots, cap, m->slots[i].hash) = m->slots[i];
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    s = slot_for(m->slots, m->cap, h);
    s->key = malloc(len + 1);
    if (!s->key)
        return NULL;
    memcpy(s->key, key, len);
    s->key[len] = '\0';
    s->hash = h;
    m->n++;
    return s;
}

/* ---- key names --------------------------------------------------------- */

/*
 * Splits a key into its lower-cased alphanumeric tokens (at non-alphanumeric
 * characters and camelCase boundaries: "IPAddress" is "ip", "address") and
 * calls match() on the whole key (separators removed) and on each token.
 */
static bool key_matches(const char *key, bool (*match)(const char *s, const void *arg),
                        const void *arg)
{
    char stack[2 * KEY_STACK], *mem = NULL, *whole, *toks;
    size_t n = strlen(key), i, w = 0, t = 0, tok_start = 0;
    bool hit = false;

    /* whole key (n + 1) and its tokens: every character may start a token
     * (camelCase) and each token ends with a NUL, so up to 2n + 1 more. */
    if (3 * n + 2 <= sizeof(stack)) {
        whole = stack;
    } else {
        mem = malloc(3 * n + 2);
        if (!mem)
            return true; /* out of memory: treat as personal, the safe side */
        whole = mem;
    }
    toks = whole + n + 1;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (!isalnum(ch)) {
            if (t > tok_start)
                toks[t++] = '\0';
            tok_start = t;
            continue;
        }
        if (isupper(ch) && i > 0 && t > tok_start &&
            (islower((unsigned char)key[i - 1]) || isdigit((unsigned char)key[i - 1]) ||
             (isupper((unsigned char)key[i - 1]) && i + 1 < n &&
              islower((unsigned char)key[i + 1])))) {
            toks[t++] = '\0';
            tok_start = t;
        }
        whole[w++] = (char)tolower(ch);
        toks[t++] = (char)tolower(ch);
    }
    whole[w] = '\0';
    if (t > tok_start)
        toks[t++] = '\0';
    if (w)
        hit = match(whole, arg);
    for (i = 0; !hit && i < t; i += strlen(toks + i) + 1)
        hit = match(toks + i, arg);
    free(mem);
    return hit;
}

static bool glob_arg(const char *s, const void *pattern)
{
    return pathmatch_glob(pattern, s);
}

int privacy_personal_match(const struct privacy_policy *p, const char *key)
{
    size_t i;

    for (i = 0; i < p->n_personal; i++)
        if (key_matches(key, glob_arg, p->personal[i].pattern))
            return (int)i;
    return -1;
}

enum pseudonym_shape privacy_guess_shape(const char *key)
{
    static const struct {
        const char *pattern;
        enum pseudonym_shape shape;
    } table[] = {
        {"*email*", PSEUDONYM_EMAIL},     {"mail", PSEUDONYM_EMAIL},
        {"*phone*", PSEUDONYM_PHONE},     {"mobile", PSEUDONYM_PHONE},
        {"cell", PSEUDONYM_PHONE},        {"tel", PSEUDONYM_PHONE},
        {"telephone", PSEUDONYM_PHONE},   {"fax", PSEUDONYM_PHONE},
        {"msisdn", PSEUDONYM_PHONE},      {"whatsapp", PSEUDONYM_PHONE},
        {"username", PSEUDONYM_USERNAME}, {"nickname", PSEUDONYM_NICKNAME},
        {"*name", PSEUDONYM_NAME},        {"avatar*", PSEUDONYM_URL},
        {"picture", PSEUDONYM_URL},       {"photo*", PSEUDONYM_URL},
        {"image*", PSEUDONYM_URL},        {"*url", PSEUDONYM_URL},
    };
    size_t i;

    if (!key)
        return PSEUDONYM_OPAQUE;
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (key_matches(key, glob_arg, table[i].pattern))
            return table[i].shape;
    return PSEUDONYM_OPAQUE;
}

/* ---- the context ------------------------------------------------------- */

struct privacy_ctx {
    const struct privacy_policy *pol;
    struct pseudonym_key *key; /* own copy, NULL without a key */
    EVP_MD_CTX *salted;        /* SHA-256 after the policy's salt */
    EVP_MD_CTX *work;
    struct buf out;             /* a pseudonym or masked value */
    struct buf num;             /* a number's text */
    struct buf norm;            /* a normalised original, for source digests */
    struct buf path;            /* the metadata path being walked, in text form */
    struct buf email, pd_email; /* originals of user.email, profileData.email */
    const char *segs[PRIVACY_MAX_DEPTH];
    uint64_t hash[PRIVACY_MAX_DEPTH + 1]; /* hash[d]: of the path text at depth d */
    size_t depth;
    struct smap cache, drift;
    struct privacy_stats st;
    size_t seq; /* users applied so far: tells drift counts which user is new */
    bool want_src;
    struct privacy_drift *list;
    struct privacy_user_src src;
};

/* What a node inherits from its ancestors. */
struct inherit {
    const struct privacy_action *act; /* NULL: nothing covers it yet */
    int shape; /* for auto shapes: from the nearest key name, -1 if none yet */
};

void privacy_ctx_free(struct privacy_ctx *c)
{
    if (!c)
        return;
    pseudonym_key_free(c->key);
    EVP_MD_CTX_free(c->salted);
    EVP_MD_CTX_free(c->work);
    buf_release(&c->out);
    buf_release(&c->num);
    if (c->norm.data)
        OPENSSL_cleanse(c->norm.data, c->norm.cap);
    buf_release(&c->norm);
    buf_release(&c->path);
    buf_release(&c->email);
    buf_release(&c->pd_email);
    smap_release(&c->cache);
    smap_release(&c->drift);
    free(c->list);
    free(c);
}

int privacy_ctx_new(struct privacy_ctx **out, const struct privacy_policy *p,
                    const struct pseudonym_key *k, struct err *e)
{
    struct privacy_ctx *c;

    *out = NULL;
    if (p->needs_key && !k)
        return err_set(e, ERR_USAGE,
                       "the privacy policy pseudonymises or hashes values and needs a pseudonym "
                       "key: set " PSEUDONYM_KEY_ENV " or give a key file");
    c = calloc(1, sizeof(*c));
    if (!c)
        return err_oom(e);
    c->pol = p;
    buf_init(&c->out, SCRATCH_MAX);
    buf_init(&c->num, 1024);
    buf_init(&c->norm, SCRATCH_MAX);
    buf_init(&c->path, SCRATCH_MAX);
    buf_init(&c->email, SCRATCH_MAX);
    buf_init(&c->pd_email, SCRATCH_MAX);
    if (k && pseudonym_key_dup(&c->key, k, e) < 0)
        goto fail;
    c->salted = EVP_MD_CTX_new();
    c->work = EVP_MD_CTX_new();
    if (!c->salted || !c->work) {
        err_oom(e);
        goto fail;
    }
    if (!EVP_DigestInit_ex(c->salted, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(c->salted, p->salt, sizeof(p->salt))) {
        err_set(e, ERR_INTERNAL, "SHA-256 failed");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    privacy_ctx_free(c);
    return -1;
}

int privacy_ctx_clone(struct privacy_ctx **out, const struct privacy_ctx *c, struct err *e)
{
    if (privacy_ctx_new(out, c->pol, c->key, e) < 0)
        return -1;
    (*out)->want_src = c->want_src;
    return 0;
}

int privacy_ctx_merge(struct privacy_ctx *into, const struct privacy_ctx *from, struct err *e)
{
    struct privacy_stats *a = &into->st;
    const struct privacy_stats *b = &from->st;

    a->users_seen += b->users_seen;
    a->users_kept += b->users_kept;
    a->users_excluded += b->users_excluded;
    a->pseudonymised += b->pseudonymised;
    a->hashed += b->hashed;
    a->masked += b->masked;
    a->set += b->set;
    a->dropped += b->dropped;
    a->ids_with_at += b->ids_with_at;
    a->unreviewed += b->unreviewed;
    a->drift_not_listed += b->drift_not_listed;
    for (size_t i = 0; i < from->drift.cap; i++) {
        const struct smap_entry *f = &from->drift.slots[i];
        struct smap_entry *s;
        size_t len;

        if (!f->key)
            continue;
        len = strlen(f->key);
        s = smap_find(&into->drift, f->key, len, f->hash);
        if (!s && into->drift.n < PRIVACY_DRIFT_MAX) {
            s = smap_add(&into->drift, f->key, len, f->hash);
            if (!s)
                return err_oom(e);
            s->users = 0;
            s->last = SIZE_MAX; /* never a user's sequence number */
        }
        if (s)
            s->users += f->users;
        else
            a->drift_not_listed += f->users;
    }
    a->drift_paths = into->drift.n;
    return 0;
}

const struct privacy_stats *privacy_ctx_stats(const struct privacy_ctx *c)
{
    return &c->st;
}

void privacy_ctx_want_src(struct privacy_ctx *c, bool on)
{
    c->want_src = on;
}

const struct privacy_user_src *privacy_ctx_last_src(const struct privacy_ctx *c)
{
    return &c->src;
}

static int cmp_drift(const void *a, const void *b)
{
    return strcmp(((const struct privacy_drift *)a)->path, ((const struct privacy_drift *)b)->path);
}

size_t privacy_ctx_drift(struct privacy_ctx *c, const struct privacy_drift **out)
{
    size_t i, n = 0;

    free(c->list);
    c->list = NULL;
    *out = NULL;
    if (!c->drift.n)
        return 0;
    c->list = malloc(c->drift.n * sizeof(*c->list));
    if (!c->list)
        return 0;
    for (i = 0; i < c->drift.cap; i++) {
        if (!c->drift.slots[i].key)
            continue;
        c->list[n].path = c->drift.slots[i].key;
        c->list[n].users = c->drift.slots[i].users;
        n++;
    }
    qsort(c->list, n, sizeof(*c->list), cmp_drift);
    *out = c->list;
    return n;
}

/* ---- values ------------------------------------------------------------ */

/* 32 hex digits of SHA-256(salt || shape || normalised in). */
static int source_digest(struct privacy_ctx *c, enum pseudonym_shape s, const char *in, size_t len,
                         char hex[PRIVACY_SRC_HEX + 1], struct err *e)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE], tag = (unsigned char)s;
    unsigned int n;
    int i;

    buf_reset(&c->norm);
    if (pseudonym_normalize(s, in, len, &c->norm, e) < 0)
        return -1;
    if (!EVP_MD_CTX_copy_ex(c->work, c->salted) || !EVP_DigestUpdate(c->work, &tag, 1) ||
        !EVP_DigestUpdate(c->work, buf_str(&c->norm), c->norm.len) ||
        !EVP_DigestFinal_ex(c->work, d, &n))
        return err_set(e, ERR_INTERNAL, "SHA-256 failed");
    for (i = 0; i < PRIVACY_SRC_HEX / 2; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[PRIVACY_SRC_HEX] = '\0';
    return 0;
}

/* Keeps the first and last code points of a UTF-8 string, '*' for each one
 * between; a string too short to hide anything is starred entirely. */
static int mask_text(struct buf *out, const char *s, size_t len, unsigned first, unsigned last,
                     struct err *e)
{
    size_t cps = 0, i, head = 0, tail = len, k;

    for (i = 0; i < len; i++)
        cps += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (cps <= (size_t)first + last) {
        for (k = 0; k < cps; k++)
            if (buf_append(out, "*", 1, e) < 0)
                return -1;
        return 0;
    }
    /* head: byte offset after `first` code points; tail: where the last
     * `last` code points start. */
    for (k = 0; k < first; k++) {
        head++;
        while (head < len && ((unsigned char)s[head] & 0xC0) == 0x80)
            head++;
    }
    for (k = 0; k < last; k++) {
        tail--;
        while (tail > 0 && ((unsigned char)s[tail] & 0xC0) == 0x80)
            tail--;
    }
    if (buf_append(out, s, head, e) < 0)
        return -1;
    for (k = 0; k < cps - first - last; k++)
        if (buf_append(out, "*", 1, e) < 0)
            return -1;
    return buf_append(out, s + tail, len - tail, e);
}

/*
 * The new value of one leaf (a string, number, true, false or null) under
 * action a. *repl gets a new reference, or stays NULL to keep the value;
 * *drop is set to remove it. An auto shape is shape_hint, or if that is -1
 * guessed from key; ctx_email feeds the nickname shape.
 */
static int leaf(struct privacy_ctx *c, const struct privacy_action *a, const char *key,
                int shape_hint, json_t *v, const char *ctx_email, json_t **repl, bool *drop,
                struct err *e)
{
    const char *text;
    size_t len;
    enum pseudonym_shape shape;
    char *num;

    *repl = NULL;
    *drop = false;
    switch (a->kind) {
    case PRIVACY_KEEP:
        return 0;
    case PRIVACY_DROP:
        *drop = true;
        c->st.dropped++;
        return 0;
    case PRIVACY_SET:
        *repl = json_deep_copy(a->value);
        if (!*repl)
            return err_oom(e);
        c->st.set++;
        return 0;
    case PRIVACY_PSEUDONYM:
    case PRIVACY_HASH:
    case PRIVACY_MASK:
        break;
    }
    if (json_is_string(v)) {
        text = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_number(v)) {
        num = json_dumps(v, JSON_ENCODE_ANY);
        buf_reset(&c->num);
        if (!num || buf_appends(&c->num, num, e) < 0) {
            free(num);
            return num ? -1 : err_oom(e);
        }
        free(num);
        text = buf_str(&c->num);
        len = c->num.len;
    } else {
        return 0; /* true, false, null */
    }
    buf_reset(&c->out);
    switch (a->kind) {
    case PRIVACY_PSEUDONYM:
        shape = a->shape;
        if (a->auto_shape)
            shape = shape_hint >= 0 ? (enum pseudonym_shape)shape_hint : privacy_guess_shape(key);
        if (shape == PSEUDONYM_NICKNAME && ctx_email && *ctx_email) {
            /* Auth0's nickname is the email's local part: keep it so. */
            text = ctx_email;
            len = strlen(ctx_email);
        }
        if (pseudonym_make(c->key, shape, text, len, &c->pol->opts, &c->out, e) < 0)
            return -1;
        if (c->out.len == 0 && json_is_string(v))
            return 0; /* an empty string hides nothing */
        c->st.pseudonymised++;
        break;
    case PRIVACY_HASH:
        if (pseudonym_hash(c->key, text, len, &c->out, e) < 0)
            return -1;
        c->st.hashed++;
        break;
    case PRIVACY_MASK:
        if (mask_text(&c->out, text, len, a->mask_first, a->mask_last, e) < 0)
            return -1;
        c->st.masked++;
        break;
    default:
        return 0;
    }
    /* A string is changed in place: no new node, no hash table update. */
    if (json_is_string(v))
        return json_string_setn(v, buf_str(&c->out), c->out.len) == 0 ? 0 : err_oom(e);
    *repl = json_stringn(buf_str(&c->out), c->out.len);
    return *repl ? 0 : err_oom(e);
}

static int too_deep(struct err *e, const char *where)
{
    return err_set(e, ERR_SNAPSHOT, "'%s' is nested deeper than %d levels", where,
                   PRIVACY_MAX_DEPTH);
}

/* One action over a whole value (profile fields): containers pass it to
 * every leaf, except drop and set, which take the container whole. */
static int apply_tree(struct privacy_ctx *c, const struct privacy_action *a, const char *key,
                      json_t *v, const char *ctx_email, size_t depth, json_t **repl, bool *drop,
                      struct err *e)
{
    json_t *child, *r;
    const char *k;
    bool d;
    size_t i;
    void *it, *next;

    *repl = NULL;
    *drop = false;
    if (a->kind == PRIVACY_KEEP || a->kind == PRIVACY_DROP || a->kind == PRIVACY_SET ||
        !(json_is_object(v) || json_is_array(v)))
        return leaf(c, a, key, -1, v, ctx_email, repl, drop, e);
    if (depth >= PRIVACY_MAX_DEPTH)
        return too_deep(e, key ? key : "?");
    if (json_is_object(v)) {
        for (it = json_object_iter(v); it; it = next) {
            next = json_object_iter_next(v, it);
            k = json_object_iter_key(it);
            child = json_object_iter_value(it);
            if (apply_tree(c, a, k, child, ctx_email, depth + 1, &r, &d, e) < 0)
                return -1;
            if (r && json_object_iter_set_new(v, it, r) < 0)
                return err_oom(e);
        }
        return 0;
    }
    json_array_foreach(v, i, child)
    {
        if (apply_tree(c, a, key, child, ctx_email, depth + 1, &r, &d, e) < 0)
            return -1;
        if (r && json_array_set_new(v, i, r) < 0)
            return err_oom(e);
    }
    return 0;
}

static int copy_string(struct buf *b, json_t *v, struct err *e)
{
    buf_reset(b);
    if (!json_is_string(v))
        return 0;
    return buf_append(b, json_string_value(v), json_string_length(v), e);
}

/* The "fields" (or "identity_fields") rules on one object. src, when not
 * NULL, receives the source digests of email, username and phone_number. */
static int apply_fields(struct privacy_ctx *c, json_t *obj, const struct privacy_field_rule *rules,
                        size_t n, const char *ctx_email, struct privacy_user_src *src,
                        struct err *e)
{
    json_t *v, *r;
    bool drop;
    size_t i;

    for (i = 0; i < n; i++) {
        const struct privacy_field_rule *rule = &rules[i];
        v = json_object_get(obj, rule->name);
        if (!v)
            continue;
        if (src && json_is_string(v) && rule->act.kind != PRIVACY_KEEP &&
            rule->act.kind != PRIVACY_DROP) {
            char *dst = NULL;
            enum pseudonym_shape s = PSEUDONYM_OPAQUE;
            if (strcmp(rule->name, "email") == 0) {
                dst = src->email;
                s = PSEUDONYM_EMAIL;
            } else if (strcmp(rule->name, "username") == 0) {
                dst = src->username;
                s = PSEUDONYM_USERNAME;
            } else if (strcmp(rule->name, "phone_number") == 0) {
                dst = src->phone;
                s = PSEUDONYM_PHONE;
            }
            if (dst && source_digest(c, s, json_string_value(v), json_string_length(v), dst, e) < 0)
                return -1;
        }
        if (apply_tree(c, &rule->act, rule->name, v, ctx_email, 1, &r, &drop, e) < 0)
            return err_prefix(e, "field '%s'", rule->name);
        if (drop)
            json_object_del(obj, rule->name);
        else if (r && json_object_set_new(obj, rule->name, r) < 0)
            return err_oom(e);
    }
    return 0;
}

/* ---- metadata ---------------------------------------------------------- */

static void decide(struct privacy_ctx *c, const char *key, int *rule, int *personal, int *shape)
{
    const struct privacy_policy *p = c->pol;
    const struct privacy_action *a = NULL;
    size_t i;

    *rule = -1;
    *personal = -1;
    *shape = -1;
    for (i = 0; i < p->n_metadata; i++) {
        if (pathmatch_match(p->metadata[i].path, c->segs, c->depth)) {
            *rule = (int)i;
            break;
        }
    }
    /* The heuristics look at key names below the roots, not at array
     * elements and not at "user_metadata" itself. */
    if (key && c->depth > 1 && *rule < 0)
        *personal = privacy_personal_match(p, key);
    if (*rule >= 0)
        a = &p->metadata[*rule].act;
    else if (*personal >= 0)
        a = &p->personal[*personal].act;
    if (key && a && a->auto_shape)
        *shape = (int)privacy_guess_shape(key);
}

static void decide_cached(struct privacy_ctx *c, const char *key, int *rule, int *personal,
                          int *shape)
{
    uint64_t h = c->hash[c->depth];
    struct smap_entry *s = smap_find(&c->cache, buf_str(&c->path), c->path.len, h);

    if (s) {
        *rule = s->rule;
        *personal = s->personal;
        *shape = s->shape;
        return;
    }
    decide(c, key, rule, personal, shape);
    if (c->cache.n < CACHE_MAX && (s = smap_add(&c->cache, buf_str(&c->path), c->path.len, h))) {
        s->rule = *rule;
        s->personal = *personal;
        s->shape = *shape;
    }
}

static void note_drift(struct privacy_ctx *c)
{
    uint64_t h = c->hash[c->depth];
    struct smap_entry *s = smap_find(&c->drift, buf_str(&c->path), c->path.len, h);

    c->st.unreviewed++;
    if (!s && c->drift.n < PRIVACY_DRIFT_MAX)
        s = smap_add(&c->drift, buf_str(&c->path), c->path.len, h);
    if (!s) {
        c->st.drift_not_listed++;
        return;
    }
    if (s->last != c->seq) {
        s->last = c->seq;
        s->users++;
    }
    c->st.drift_paths = c->drift.n;
}

static int walk_node(struct privacy_ctx *c, const char *key, json_t *v, const struct inherit *in,
                     json_t **repl, bool *drop, struct err *e);

static int walk_children(struct privacy_ctx *c, json_t *v, const struct inherit *in, struct err *e)
{
    json_t *child, *r;
    void *it, *next;
    bool d;
    size_t i;

    if (json_is_object(v)) {
        for (it = json_object_iter(v); it; it = next) {
            const char *k = json_object_iter_key(it);
            next = json_object_iter_next(v, it);
            if (walk_node(c, k, json_object_iter_value(it), in, &r, &d, e) < 0)
                return -1;
            if (d)
                json_object_del(v, k);
            else if (r && json_object_iter_set_new(v, it, r) < 0)
                return err_oom(e);
        }
        return 0;
    }
    for (i = 0; i < json_array_size(v);) {
        child = json_array_get(v, i);
        if (walk_node(c, NULL, child, in, &r, &d, e) < 0)
            return -1;
        if (d) {
            json_array_remove(v, i);
            continue;
        }
        if (r && json_array_set_new(v, i, r) < 0)
            return err_oom(e);
        i++;
    }
    return 0;
}

static size_t container_size(json_t *v)
{
    return json_is_object(v) ? json_object_size(v) : json_array_size(v);
}

/* One metadata node: key is its name, NULL for an array element. */
static int walk_node(struct privacy_ctx *c, const char *key, json_t *v, const struct inherit *in,
                     json_t **repl, bool *drop, struct err *e)
{
    const struct privacy_policy *p = c->pol;
    struct inherit here = *in;
    size_t saved = c->path.len;
    int rule, personal, shape, rc = -1;
    bool container = json_is_object(v) || json_is_array(v);

    *repl = NULL;
    *drop = false;
    if (c->depth >= PRIVACY_MAX_DEPTH)
        return too_deep(e, buf_str(&c->path));
    if (pathmatch_append_seg(&c->path, key, e) < 0)
        return -1;
    c->segs[c->depth++] = key;
    c->hash[c->depth] = fnv1a(c->hash[c->depth - 1], c->path.data + saved, c->path.len - saved);
    decide_cached(c, key, &rule, &personal, &shape);
    if (rule >= 0 || personal >= 0) {
        here.act = rule >= 0 ? &p->metadata[rule].act : &p->personal[personal].act;
        if (key)
            here.shape = shape;
        else if (here.act->auto_shape && c->depth >= 2 && c->segs[c->depth - 2])
            /* An element with a rule of its own follows its array's name. */
            here.shape = (int)privacy_guess_shape(c->segs[c->depth - 2]);
    }
    if (container && container_size(v) > 0 && !(here.act && here.act->kind == PRIVACY_SET)) {
        if (walk_children(c, v, &here, e) < 0)
            goto out;
        /* Everything inside was dropped: the container goes too. */
        if (container_size(v) == 0) {
            *drop = true;
            c->st.dropped++;
        }
        rc = 0;
        goto out;
    }
    if (!here.act) {
        if (!container)
            note_drift(c);
        if (p->unlisted == PRIVACY_DROP && !container) {
            *drop = true;
            c->st.dropped++;
        }
        rc = 0;
        goto out;
    }
    rc = leaf(c, here.act, NULL, here.shape, v, buf_str(&c->email), repl, drop, e);
out:
    c->depth--;
    c->path.len = saved;
    if (c->path.data)
        c->path.data[saved] = '\0';
    return rc;
}

static int apply_metadata(struct privacy_ctx *c, json_t *user, const char *root, struct err *e)
{
    struct inherit none = {NULL, -1};
    json_t *v = json_object_get(user, root), *r;
    bool drop;

    if (!v)
        return 0;
    buf_reset(&c->path);
    c->depth = 0;
    c->hash[0] = FNV_OFFSET;
    if (walk_node(c, root, v, &none, &r, &drop, e) < 0)
        return -1;
    /* An emptied metadata object stays an (empty) object: Auth0 expects one. */
    if (r && json_object_set_new(user, root, r) < 0)
        return err_oom(e);
    if (drop && !json_is_object(v))
        json_object_del(user, root);
    return 0;
}

/* ---- selection --------------------------------------------------------- */

static bool in_list(char **v, size_t n, const char *s)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static bool selected(const struct privacy_policy *p, json_t *user)
{
    const struct privacy_select *s = &p->select;
    json_t *id0 = json_array_get(json_object_get(user, "identities"), 0);
    const char *conn = json_string_value(json_object_get(id0, "connection"));
    const char *email = json_string_value(json_object_get(user, "email"));
    const char *at = email ? strrchr(email, '@') : NULL;
    char domain[256] = "";
    size_t i, j;

    if (!conn)
        conn = "";
    if (s->n_include_connections &&
        !in_list(s->include_connections, s->n_include_connections, conn))
        return false;
    if (in_list(s->exclude_connections, s->n_exclude_connections, conn))
        return false;
    if (at) {
        for (i = 0; at[1 + i] && i + 1 < sizeof(domain); i++)
            domain[i] = (char)tolower((unsigned char)at[1 + i]);
        domain[i] = '\0';
    }
    if (s->n_email_domains && !in_list(s->email_domains, s->n_email_domains, domain))
        return false;
    if (*domain && in_list(s->exclude_email_domains, s->n_exclude_email_domains, domain))
        return false;
    for (i = 0; i < s->n_match; i++) {
        json_t *node = user;
        for (j = 0; node && j < s->match[i].path.n; j++)
            node = json_object_get(node, s->match[i].path.segs[j]);
        if (!node || !json_equal(node, s->match[i].equals))
            return false;
    }
    return true;
}

/* ---- a user ------------------------------------------------------------ */

int privacy_map_user_id(struct privacy_ctx *c, const char *uid, struct buf *out, struct err *e)
{
    const char *bar = strrchr(uid, '|');
    const char *seg = bar ? bar + 1 : uid;
    size_t seglen = strlen(seg);

    buf_reset(out);
    if (!c->key || !pseudonym_looks_like_email(seg, seglen))
        return buf_appends(out, uid, e);
    /* The same pseudonym the email field gets, so the id stays unique and
     * repeatable and still names its provider and connection. */
    buf_reset(&c->out);
    if (pseudonym_make(c->key, PSEUDONYM_EMAIL, seg, seglen, &c->pol->opts, &c->out, e) < 0)
        return -1;
    if (buf_append(out, uid, (size_t)(seg - uid), e) < 0)
        return -1;
    return buf_appends(out, buf_str(&c->out), e);
}

/* An email embedded in a user id (samlp|corp|ann@corp.org) is personal
 * data like any email: replaced in place by its pseudonym. */
static int map_id_member(struct privacy_ctx *c, json_t *obj, struct buf *tmp, struct err *e)
{
    json_t *v = json_object_get(obj, "user_id");

    if (!json_is_string(v) || !strchr(json_string_value(v), '@'))
        return 0;
    if (privacy_map_user_id(c, json_string_value(v), tmp, e) < 0)
        return -1;
    return json_object_set_new(obj, "user_id", json_string(buf_str(tmp))) < 0 ? err_oom(e) : 0;
}

int privacy_apply(struct privacy_ctx *c, json_t *user, struct err *e)
{
    const struct privacy_policy *p = c->pol;
    json_t *ids, *id, *pd;
    const char *ctx;
    bool at_in_id;
    size_t i;

    c->st.users_seen++;
    memset(&c->src, 0, sizeof(c->src));
    if (!json_is_object(user))
        return err_set(e, ERR_SNAPSHOT, "a user is not a JSON object");
    if (!selected(p, user)) {
        c->st.users_excluded++;
        return 0;
    }
    c->seq++;
    /* Rules may replace the email before the nickname is derived from it. */
    if (copy_string(&c->email, json_object_get(user, "email"), e) < 0)
        return -1;
    if (apply_fields(c, user, p->fields, p->n_fields, buf_str(&c->email),
                     c->want_src ? &c->src : NULL, e) < 0)
        return -1;
    ids = json_object_get(user, "identities");
    at_in_id = json_is_string(json_object_get(user, "user_id")) &&
               strchr(json_string_value(json_object_get(user, "user_id")), '@');
    json_array_foreach(ids, i, id)
    {
        if (!json_is_object(id))
            continue;
        at_in_id |= json_is_string(json_object_get(id, "user_id")) &&
                    strchr(json_string_value(json_object_get(id, "user_id")), '@');
        if (apply_fields(c, id, p->identity_fields, p->n_identity_fields, NULL, NULL, e) < 0)
            return err_prefix(e, "identities[%zu]", i);
        pd = json_object_get(id, "profileData");
        if (!json_is_object(pd))
            continue;
        if (copy_string(&c->pd_email, json_object_get(pd, "email"), e) < 0)
            return -1;
        ctx = c->pd_email.len ? buf_str(&c->pd_email) : buf_str(&c->email);
        if (apply_fields(c, pd, p->fields, p->n_fields, ctx, NULL, e) < 0)
            return err_prefix(e, "identities[%zu].profileData", i);
    }
    if (apply_metadata(c, user, "user_metadata", e) < 0 ||
        apply_metadata(c, user, "app_metadata", e) < 0)
        return -1;
    if (at_in_id && c->key) {
        struct buf tmp;
        int rc;
        buf_init(&tmp, 64 * 1024);
        rc = map_id_member(c, user, &tmp, e);
        json_array_foreach(ids, i, id)
        {
            if (rc == 0 && json_is_object(id))
                rc = map_id_member(c, id, &tmp, e);
        }
        buf_release(&tmp);
        if (rc < 0)
            return -1;
    }
    c->st.users_kept++;
    c->st.ids_with_at += at_in_id;
    return 1;
}
