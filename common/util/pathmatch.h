/*
 * pathmatch.h - dotted paths with wildcards, for privacy policy rules such
 * as "user_metadata.addresses.*.city" or "**.email".
 *
 * A path is a list of segments. In the text form segments are separated by
 * '.', and a backslash makes the next character literal ("a\.b" is one key
 * named "a.b", "\*" a key named "*"). In a *pattern*:
 *   - a segment "*" matches exactly one segment: any key or array element;
 *   - a segment "**" matches zero or more segments;
 *   - a segment with an unescaped '*' inside ("addr*") is a glob on a key
 *     name ('*' = any run of characters); it never matches an array element;
 *   - any other segment matches a key of exactly that name (case-sensitive).
 * In a *concrete* path (the data side) an array element is a NULL segment;
 * in its text form it is written "*" (so "user_metadata.tags.*" names every
 * element of the array tags), and a key literally named "*" is "\*".
 *
 * Compiled patterns are immutable and may be shared between threads.
 */
#ifndef A0SNAP_PATHMATCH_H
#define A0SNAP_PATHMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

#define PATHMATCH_MAX_SEGS 64   /* segments in a pattern or a concrete path */
#define PATHMATCH_MAX_LEN  4096 /* characters in a pattern or path text */

struct pathmatch;

/* Compiles pattern into *out (the caller pathmatch_free()s it). Fails with
 * ERR_USAGE and a message naming the problem for an empty pattern, an empty
 * segment ("a..b"), a trailing backslash, or too many segments. */
int pathmatch_compile(struct pathmatch **out, const char *pattern, struct err *e);

/* NULL is a no-op. */
void pathmatch_free(struct pathmatch *m);

/* The pattern text as given to pathmatch_compile (borrowed). */
const char *pathmatch_source(const struct pathmatch *m);

/* Number of segments in the pattern, and whether segment i (0-based) could
 * match a key named key (used to reject rules that can never apply). */
size_t pathmatch_nsegs(const struct pathmatch *m);
bool pathmatch_seg_accepts(const struct pathmatch *m, size_t i, const char *key);

/* True if the concrete path segs[0..n) matches. A NULL segment is an array
 * element. Never allocates. */
bool pathmatch_match(const struct pathmatch *m, const char *const *segs, size_t n);

/* A concrete path split from its text form: segs[i] point into text (a
 * private copy with escapes removed), NULL for array elements. A stack
 * struct: pathmatch_path_init() (or zero it) then pathmatch_path_release(). */
struct pathmatch_path {
    char *text;
    const char *segs[PATHMATCH_MAX_SEGS];
    size_t n;
};

/* Splits path (the concrete text form above). On failure (ERR_USAGE: empty
 * segment, trailing backslash, too many segments; ERR_INTERNAL: memory) p
 * is left empty but still needs pathmatch_path_release(). */
void pathmatch_path_init(struct pathmatch_path *p);
int pathmatch_path_parse(struct pathmatch_path *p, const char *path, struct err *e);
void pathmatch_path_release(struct pathmatch_path *p);

/* Convenience for tests and one-off checks: parses path, then matches. A
 * path that does not parse matches nothing. */
bool pathmatch_match_text(const struct pathmatch *m, const char *path);

/* Appends one segment in text form to b: a '.' first unless b is empty,
 * then key with '.', '*' and '\' escaped, or "*" for key == NULL (an array
 * element). The inverse of pathmatch_path_parse(). */
int pathmatch_append_seg(struct buf *b, const char *key, struct err *e);

/* The glob used inside segments, also used on key-name tokens: '*' matches
 * any run of characters (including none), a backslash makes the next pattern
 * character literal, everything else matches itself (case-sensitive). */
bool pathmatch_glob(const char *pattern, const char *s);

#endif
