/*
 * sortcursor.h - a finished extsort read one record at a time, for merge
 * walks over two or more sorted streams (a join of users with their
 * grants, a search for keys two sides share): the current record stays
 * readable while the other streams catch up, until the cursor advances.
 *
 * Nothing here allocates: a cursor borrows its sort and the sort's record.
 */
#ifndef A0SNAP_SORTCURSOR_H
#define A0SNAP_SORTCURSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct extsort;

struct sort_cursor {
    struct extsort *s;     /* borrowed; extsort_finish()ed before the first advance */
    bool have;             /* there is a current record */
    const char *key, *rec; /* the current record, borrowed from s until the next advance */
    size_t klen, rlen;
};

/* A cursor on s with no current record yet (sort_cursor_next() reads the
 * first). */
void sort_cursor_init(struct sort_cursor *c, struct extsort *s);

/* Reads the next record: 0 with c->have telling whether there was one, or
 * -1 with the sort's error in e. */
int sort_cursor_next(struct sort_cursor *c, struct err *e);

/* The current key against key (klen bytes) in the sort's order (byte-wise,
 * a shorter prefix first): <0, 0 or >0. Needs c->have. */
int sort_cursor_cmp(const struct sort_cursor *c, const char *key, size_t klen);

#endif
