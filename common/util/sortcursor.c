/* sortcursor.c - see sortcursor.h. */
#include "sortcursor.h"

#include "extsort.h"

#include <string.h>

void sort_cursor_init(struct sort_cursor *c, struct extsort *s)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
}

int sort_cursor_next(struct sort_cursor *c, struct err *e)
{
    int r = extsort_next(c->s, &c->key, &c->klen, &c->rec, &c->rlen, e);

    if (r < 0)
        return -1;
    c->have = r == 1;
    return 0;
}

int sort_cursor_cmp(const struct sort_cursor *c, const char *key, size_t klen)
{
    size_t n = c->klen < klen ? c->klen : klen;
    int d = memcmp(c->key, key, n);

    if (d)
        return d;
    return c->klen < klen ? -1 : c->klen > klen ? 1 : 0;
}
