/* import_conflicts.c - see import_conflicts.h. */
#include "import_conflicts.h"

#include "extsort.h"
#include "sortcursor.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int import_conflict_key_add(struct extsort *s, const char *conn, const char *kind,
                            const char *value, const char *uid, struct err *e)
{
    char key[1200];
    size_t n = 0;
    int k;

    if (!value || !*value)
        return 0;
    k = snprintf(key, sizeof(key), "%s\x1f%s:", conn, kind);
    if (k < 0 || (size_t)k >= sizeof(key))
        return 0;
    n = (size_t)k;
    for (const char *p = value; *p && n + 1 < sizeof(key); p++)
        key[n++] = (char)tolower((unsigned char)*p);
    return extsort_add(s, key, n, uid, strlen(uid), e);
}

static int add_conflict(struct extsort *conf, const char *s_uid, size_t slen, const char *other,
                        size_t olen, const char *key, size_t klen, bool twin, struct err *e)
{
    char rec[1400];
    const char *kind = memchr(key, '\x1f', klen);
    size_t kindlen = kind ? strcspn(kind + 1, ":") : 0;
    int n = snprintf(rec, sizeof(rec), "%.*s\x1f%.*s%s", (int)olen, other, (int)kindlen,
                     kind ? kind + 1 : "", twin ? "\x1ftwin" : "");

    if (n < 0 || (size_t)n >= sizeof(rec))
        return err_set(e, ERR_INTERNAL, "conflict record too long");
    return extsort_add(conf, s_uid, slen, rec, (size_t)n, e);
}

/* The holders of key after the snapshot's first one (first_s): later
 * snapshot holders and target holders under another id conflict with it.
 * Both cursors end past the key. */
static int holders_of(struct sort_cursor *s, struct sort_cursor *t, const char *key, size_t klen,
                      const char *first_s, struct extsort *conf, struct extsort *holders,
                      struct err *e)
{
    size_t flen = strlen(first_s);

    while (s->have && sort_cursor_cmp(s, key, klen) == 0) {
        if (add_conflict(conf, s->rec, s->rlen, first_s, flen, key, klen, true, e) < 0 ||
            sort_cursor_next(s, e) < 0)
            return -1;
    }
    while (t->have && sort_cursor_cmp(t, key, klen) == 0) {
        if ((t->rlen != flen || memcmp(t->rec, first_s, t->rlen) != 0) &&
            (add_conflict(conf, first_s, flen, t->rec, t->rlen, key, klen, false, e) < 0 ||
             (holders && extsort_add(holders, t->rec, t->rlen, first_s, flen, e) < 0)))
            return -1;
        if (sort_cursor_next(t, e) < 0)
            return -1;
    }
    return 0;
}

int import_find_conflicts(struct extsort *sidx, struct extsort *tidx, struct extsort *conf,
                          struct extsort *holders, struct err *e)
{
    struct sort_cursor s, t;
    char key[1200], first_s[1024];
    size_t klen;

    sort_cursor_init(&s, sidx);
    sort_cursor_init(&t, tidx);
    if (extsort_finish(sidx, e) < 0 || extsort_finish(tidx, e) < 0)
        return -1;
    if (sort_cursor_next(&s, e) < 0 || sort_cursor_next(&t, e) < 0)
        return -1;
    while (s.have) {
        if (s.klen >= sizeof(key))
            return err_set(e, ERR_INTERNAL, "index key too long");
        memcpy(key, s.key, s.klen);
        klen = s.klen;
        while (t.have && sort_cursor_cmp(&t, key, klen) < 0)
            if (sort_cursor_next(&t, e) < 0)
                return -1;
        /* The snapshot side: the first holder of the key is the one that
         * can have it; later ones are duplicates inside the snapshot. */
        snprintf(first_s, sizeof(first_s), "%.*s", (int)s.rlen, s.rec);
        if (sort_cursor_next(&s, e) < 0 ||
            holders_of(&s, &t, key, klen, first_s, conf, holders, e) < 0)
            return -1;
    }
    return 0;
}

bool import_conflict_next(const char **p, struct import_conflict *out)
{
    const char *s = *p, *end;
    size_t hlen;

    if (!s || !*s)
        return false;
    end = s + strcspn(s, "\x1e");
    hlen = strcspn(s, "\x1f\x1e");
    snprintf(out->holder, sizeof(out->holder), "%.*s", (int)hlen, s);
    out->twin = false;
    if (s[hlen] == '\x1f') {
        const char *k = s + hlen + 1;
        size_t klen = strcspn(k, "\x1f\x1e");
        snprintf(out->kind, sizeof(out->kind), "%.*s", (int)klen, k);
        out->twin = k[klen] == '\x1f' && (size_t)(end - (k + klen + 1)) == 4 &&
                    memcmp(k + klen + 1, "twin", 4) == 0;
    } else {
        snprintf(out->kind, sizeof(out->kind), "email");
    }
    *p = *end ? end + 1 : end;
    return true;
}
