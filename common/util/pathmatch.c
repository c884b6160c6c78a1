/*
 * pathmatch.c - see pathmatch.h.
 *
 * A compiled pattern is an array of segment matchers. Matching is the
 * classic wildcard walk with one backtrack point: "**" plays the role of
 * '*' in a file glob and every other matcher consumes exactly one segment,
 * so remembering only the last "**" is enough (no exponential backtracking)
 * and a match never allocates - it runs for every metadata key of every
 * user on a cache miss, so it has to be cheap.
 */
#include "pathmatch.h"

#include <stdlib.h>
#include <string.h>

enum seg_kind {
    SEG_LITERAL, /* a key of exactly this name */
    SEG_GLOB,    /* a key whose name matches this glob (text kept escaped) */
    SEG_ANY,     /* "*": one key or array element */
    SEG_DEEP,    /* "**": zero or more segments */
};

struct seg {
    enum seg_kind kind;
    char *text;
};

struct pathmatch {
    char *source;
    struct seg segs[PATHMATCH_MAX_SEGS];
    size_t n;
};

bool pathmatch_glob(const char *p, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;

    while (*s) {
        if (*p == '*') {
            star_p = ++p;
            star_s = s;
            continue;
        }
        if (*p) {
            const char *lit = p;
            if (*p == '\\' && p[1])
                lit = p + 1;
            if (*lit == *s) {
                p = lit + 1;
                s++;
                continue;
            }
        }
        if (!star_p)
            return false;
        p = star_p;
        s = ++star_s;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/*
 * Walks text and calls back once per segment with the segment's raw
 * (escaped) bounds. Shared by patterns and concrete paths so both read the
 * same syntax.
 */
struct span {
    const char *start;
    size_t len;
};

static int split_raw(const char *text, struct span *out, size_t *n, const char *what, struct err *e)
{
    const char *p = text, *start = text;
    size_t count = 0;

    if (!*text)
        return err_set(e, ERR_USAGE, "empty %s", what);
    if (strlen(text) > PATHMATCH_MAX_LEN)
        return err_set(e, ERR_USAGE, "%s longer than %d characters", what, PATHMATCH_MAX_LEN);
    for (;; p++) {
        if (*p == '\\') {
            if (!p[1])
                return err_set(e, ERR_USAGE, "%s '%s' ends with a backslash", what, text);
            p++;
            continue;
        }
        if (*p != '.' && *p != '\0')
            continue;
        if (p == start)
            return err_set(e, ERR_USAGE, "%s '%s' has an empty segment", what, text);
        if (count == PATHMATCH_MAX_SEGS)
            return err_set(e, ERR_USAGE, "%s '%s' has more than %d segments", what, text,
                           PATHMATCH_MAX_SEGS);
        out[count].start = start;
        out[count].len = (size_t)(p - start);
        count++;
        if (!*p)
            break;
        start = p + 1;
    }
    *n = count;
    return 0;
}

/* Copies a raw segment into dst without its escapes; returns whether it
 * held an unescaped '*'. dst has room for len + 1 bytes. */
static bool unescape(char *dst, const struct span *sp)
{
    bool star = false;
    size_t i;

    for (i = 0; i < sp->len; i++) {
        char ch = sp->start[i];
        if (ch == '\\') {
            *dst++ = sp->start[++i];
            continue;
        }
        if (ch == '*')
            star = true;
        *dst++ = ch;
    }
    *dst = '\0';
    return star;
}

void pathmatch_free(struct pathmatch *m)
{
    size_t i;

    if (!m)
        return;
    for (i = 0; i < m->n; i++)
        free(m->segs[i].text);
    free(m->source);
    free(m);
}

int pathmatch_compile(struct pathmatch **out, const char *pattern, struct err *e)
{
    struct span spans[PATHMATCH_MAX_SEGS];
    struct pathmatch *m = NULL;
    size_t n, i;
    int rc = -1;

    *out = NULL;
    if (split_raw(pattern, spans, &n, "path pattern", e) < 0)
        return -1;
    m = calloc(1, sizeof(*m));
    if (!m || !(m->source = strdup(pattern))) {
        err_oom(e);
        goto out;
    }
    for (i = 0; i < n; i++) {
        struct seg *s = &m->segs[i];
        char *t = malloc(spans[i].len + 1);
        bool star;

        if (!t) {
            err_oom(e);
            goto out;
        }
        m->n = i + 1;
        s->text = t;
        star = unescape(t, &spans[i]);
        if (spans[i].len == 1 && spans[i].start[0] == '*') {
            s->kind = SEG_ANY;
        } else if (spans[i].len == 2 && memcmp(spans[i].start, "**", 2) == 0) {
            s->kind = SEG_DEEP;
        } else if (star) {
            /* The glob reads escapes itself, so keep the raw text. */
            memcpy(t, spans[i].start, spans[i].len);
            t[spans[i].len] = '\0';
            s->kind = SEG_GLOB;
        } else {
            s->kind = SEG_LITERAL;
        }
    }
    *out = m;
    m = NULL;
    rc = 0;
out:
    pathmatch_free(m);
    return rc;
}

const char *pathmatch_source(const struct pathmatch *m)
{
    return m->source;
}

size_t pathmatch_nsegs(const struct pathmatch *m)
{
    return m->n;
}

static bool seg_match(const struct seg *s, const char *key)
{
    switch (s->kind) {
    case SEG_ANY:
    case SEG_DEEP:
        return true;
    case SEG_LITERAL:
        return key && strcmp(s->text, key) == 0;
    case SEG_GLOB:
        return key && pathmatch_glob(s->text, key);
    }
    return false;
}

bool pathmatch_seg_accepts(const struct pathmatch *m, size_t i, const char *key)
{
    return i < m->n && seg_match(&m->segs[i], key);
}

bool pathmatch_match(const struct pathmatch *m, const char *const *segs, size_t n)
{
    size_t pi = 0, si = 0, star_p = 0, star_s = 0;
    bool have_star = false;

    while (si < n) {
        if (pi < m->n && m->segs[pi].kind == SEG_DEEP) {
            have_star = true;
            star_p = pi++;
            star_s = si;
            continue;
        }
        if (pi < m->n && seg_match(&m->segs[pi], segs[si])) {
            pi++;
            si++;
            continue;
        }
        if (!have_star)
            return false;
        pi = star_p + 1;
        si = ++star_s;
    }
    while (pi < m->n && m->segs[pi].kind == SEG_DEEP)
        pi++;
    return pi == m->n;
}

void pathmatch_path_init(struct pathmatch_path *p)
{
    p->text = NULL;
    p->n = 0;
}

int pathmatch_path_parse(struct pathmatch_path *p, const char *path, struct err *e)
{
    struct span spans[PATHMATCH_MAX_SEGS];
    size_t n, i, total = 0;
    char *w;

    pathmatch_path_release(p);
    if (split_raw(path, spans, &n, "path", e) < 0)
        return -1;
    for (i = 0; i < n; i++)
        total += spans[i].len + 1;
    p->text = malloc(total);
    if (!p->text)
        return err_oom(e);
    w = p->text;
    for (i = 0; i < n; i++) {
        if (spans[i].len == 1 && spans[i].start[0] == '*') {
            p->segs[i] = NULL;
            continue;
        }
        unescape(w, &spans[i]);
        p->segs[i] = w;
        w += strlen(w) + 1;
    }
    p->n = n;
    return 0;
}

void pathmatch_path_release(struct pathmatch_path *p)
{
    if (!p)
        return;
    free(p->text);
    p->text = NULL;
    p->n = 0;
}

bool pathmatch_match_text(const struct pathmatch *m, const char *path)
{
    struct pathmatch_path p;
    bool r = false;

    pathmatch_path_init(&p);
    if (pathmatch_path_parse(&p, path, NULL) == 0)
        r = pathmatch_match(m, p.segs, p.n);
    pathmatch_path_release(&p);
    return r;
}

int pathmatch_append_seg(struct buf *b, const char *key, struct err *e)
{
    const char *run;

    if (b->len && buf_append(b, ".", 1, e) < 0)
        return -1;
    if (!key)
        return buf_append(b, "*", 1, e);
    if (!strpbrk(key, ".*\\"))
        return buf_appends(b, key, e);
    for (run = key; *key; key++) {
        if (*key != '.' && *key != '*' && *key != '\\')
            continue;
        if (buf_append(b, run, (size_t)(key - run), e) < 0 || buf_append(b, "\\", 1, e) < 0)
            return -1;
        run = key;
    }
    return buf_append(b, run, (size_t)(key - run), e);
}
