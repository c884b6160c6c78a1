/*
 * extsort.h - external merge sort of byte-string records, with bounded memory.
 *
 * Records (a key and a payload, both arbitrary bytes) are collected in
 * memory up to a budget; beyond it each sorted batch is spilled as a "run"
 * to an anonymous temp file (0600, no name, so nothing is left behind even
 * after kill -9), and the runs are merged with a heap, in several passes
 * of at most EXTSORT_FANIN runs when there are many. Input that fits the
 * budget never touches the disk.
 *
 * Order: by key (byte-wise, a shorter prefix first), ties by payload bytes,
 * so the output is the same whatever order the records came in.
 *
 * Memory: about the budget while adding; while merging, EXTSORT_FANIN read
 * buffers of EXTSORT_READ_BUF bytes plus one record per run.
 */
#ifndef A0SNAP_EXTSORT_H
#define A0SNAP_EXTSORT_H

#include <stddef.h>

#include "err.h"

#define EXTSORT_DEFAULT_BUDGET (16u * 1024 * 1024)
#define EXTSORT_MAX_RECORD     (64u * 1024 * 1024) /* key + payload */
#define EXTSORT_FANIN          64                  /* runs merged at once */
#define EXTSORT_READ_BUF       (64u * 1024)        /* per run while merging */

struct extsort;

/* A sorter that spills to temp files in folder tmpdir (copied) once
 * mem_budget bytes (0: EXTSORT_DEFAULT_BUDGET) are in use. *out is the
 * caller's (extsort_free()). */
int extsort_new(struct extsort **out, const char *tmpdir, size_t mem_budget, struct err *e);

/* Copies one record in. A record bigger than the budget is allowed (it
 * becomes a run of its own) up to EXTSORT_MAX_RECORD. Disk failures while
 * spilling are ERR_IO ("cannot write a temporary sort file in 'dir': No
 * space left on device"). */
int extsort_add(struct extsort *s, const void *key, size_t keylen, const void *rec, size_t reclen,
                struct err *e);

/* No more adds: sorts, spills and merges down to one final pass. */
int extsort_finish(struct extsort *s, struct err *e);

/* After finish: 1 = the next record (pointers borrowed until the next call
 * or extsort_free()), 0 = end, -1 = error. */
int extsort_next(struct extsort *s, const char **key, size_t *keylen, const char **rec,
                 size_t *reclen, struct err *e);

/* Records added; runs spilled; merge passes done before the final merge. */
void extsort_stats(const struct extsort *s, size_t *records, size_t *runs, size_t *passes);

/* Closes the temp files (which vanishes them) and frees. NULL is a no-op. */
void extsort_free(struct extsort *s);

#endif
