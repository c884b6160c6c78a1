/*
 * canonjson.h - a fast path to the canonical text of a JSON object.
 *
 * "Canonical" is what the snapshot holds: the bytes of
 *   json_dumps(json_loadb(text, 0), JSON_COMPACT | JSON_SORT_KEYS)
 * with jansson 2.14. canonjson parses the text once into a small table of
 * nodes (spans into the text, object members already sorted by key) and
 * writes those bytes without building a json_t: about an order of
 * magnitude faster, which is what the export's local pipeline needs.
 *
 * It covers the common subset only and says "not handled" (0) for the
 * rest, so that the caller takes the jansson path for that text and the
 * result stays jansson's by construction. Not handled: anything jansson
 * rejects (bad syntax or UTF-8, control characters, \u0000, lone
 * surrogates, integers out of range), duplicate keys (jansson keeps the
 * last), keys with escapes, nesting deeper than CANONJSON_MAX_DEPTH, reals
 * in a locale whose decimal point is not '.', a top level that is not an
 * object, texts of 4 GiB or more. What it accepts it reproduces exactly:
 * escapes as jansson writes them (\" \\ \b \f \n \r \t, \u00XX in upper
 * case for other controls, everything else as raw UTF-8, '/' unescaped),
 * "-0" as 0, reals as "%.17g" with jansson's touches, keys sorted bytewise.
 * tests/unit/test_canonjson.c and tests/fuzz/fuzz_canonjson.c compare it
 * with jansson.
 *
 * Pure: no I/O, no global state. A struct canonjson is a stack struct
 * (canonjson_init / canonjson_release) reused from one text to the next;
 * it holds a few KB inline and grows on the heap only for big documents.
 * Nodes and strings it hands out point into the last parsed text, which
 * must outlive their use.
 */
#ifndef A0SNAP_CANONJSON_H
#define A0SNAP_CANONJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

#define CANONJSON_MAX_DEPTH 128 /* nesting the fast path handles (jansson: 2048) */
#define CANONJSON_INLINE    256 /* nodes held without a heap allocation */
#define CANONJSON_NONE      ((size_t)-1)
#define CANONJSON_ROOT      ((size_t)0)

enum canonjson_type {
    CANONJSON_OBJECT,
    CANONJSON_ARRAY,
    CANONJSON_STRING,
    CANONJSON_INTEGER,
    CANONJSON_REAL,
    CANONJSON_TRUE,
    CANONJSON_FALSE,
    CANONJSON_NULL,
};

struct canonjson_node {
    uint32_t start, len; /* the value's bytes in the text (strings with their quotes) */
    uint32_t key, klen;  /* an object member's key (inside the quotes) */
    uint32_t next;       /* next sibling, 0 for none (the root is nobody's sibling) */
    uint32_t first;      /* containers: first child; reals: offset of their text */
    uint32_t count;      /* containers: children; reals: length of their text */
    uint8_t type;        /* enum canonjson_type */
    uint8_t esc;         /* strings: holds a backslash escape */
};

struct canonjson_member; /* sort scratch, private */

struct canonjson {
    const char *text;
    size_t len;
    struct canonjson_node *nodes;
    size_t n, cap;
    size_t bound; /* bytes canonjson_write needs at most */
    int depth;    /* after a parse that returned 1: its deepest nesting, the root object 1 */
    char *reals;  /* formatted reals, back to back */
    size_t reals_len, reals_cap;
    struct canonjson_member *sort;
    size_t sort_cap;
    struct canonjson_node inline_nodes[CANONJSON_INLINE];
};

void canonjson_init(struct canonjson *cj);
/* Frees what init and parse allocated; the struct may be init'ed again. */
void canonjson_release(struct canonjson *cj);

/* Parses text, which must be one JSON object (surrounding whitespace
 * allowed). Returns 1 when the fast path handles it (the nodes below are
 * valid until the next parse), 0 when it does not (use jansson), -1 when
 * out of memory (e filled). */
int canonjson_parse(struct canonjson *cj, const char *text, size_t len, struct err *e);

/* After a parse that returned 1: the most bytes canonjson_write() of any
 * node can write, and the write itself, which returns the bytes written
 * into dst (no NUL). node is CANONJSON_ROOT or one from the getters. */
size_t canonjson_bound(const struct canonjson *cj);
size_t canonjson_write(const struct canonjson *cj, size_t node, char *dst);

/* Parse + write the root, appended to out: 1, 0 (out unchanged: not
 * handled) or -1 (out of memory, or out's ceiling; e filled). */
int canonjson_canon(struct canonjson *cj, const char *text, size_t len, struct buf *out,
                    struct err *e);

/* ---- reading the parsed document ---------------------------------------
 * Children of an object come in canonical (sorted) order. */
enum canonjson_type canonjson_type(const struct canonjson *cj, size_t node);
size_t canonjson_count(const struct canonjson *cj, size_t node);
size_t canonjson_first(const struct canonjson *cj, size_t node); /* CANONJSON_NONE if empty */
size_t canonjson_next(const struct canonjson *cj, size_t node);  /* CANONJSON_NONE at the end */
/* The member of object node named key, or CANONJSON_NONE. */
size_t canonjson_get(const struct canonjson *cj, size_t node, const char *key, size_t klen);
/* An array's i-th element, or CANONJSON_NONE. */
size_t canonjson_at(const struct canonjson *cj, size_t node, size_t i);
/* A member's key (borrowed, not NUL-terminated; keys never hold escapes). */
const char *canonjson_key(const struct canonjson *cj, size_t node, size_t *klen);
/* A string's value without escapes: true and *s (borrowed from the text,
 * not NUL-terminated) when node is a string holding no escape; false for
 * anything else (callers then take the jansson path). */
bool canonjson_string(const struct canonjson *cj, size_t node, const char **s, size_t *len);

/* ---- jansson values ------------------------------------------------------ */

/* The json_t jansson's json_loadb would have built for node, without its
 * lexer, but with each object's members inserted in key order (jansson's
 * would be in the text's), so that canonjson_dump() finds them sorted: a
 * new reference, or NULL when out of memory. */
json_t *canonjson_to_json(const struct canonjson *cj, size_t node);

/* Appends json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) of an object or
 * array to out, faster. 1 done, 0 not handled (out unchanged: a string
 * that is not UTF-8, nesting deeper than CANONJSON_MAX_DEPTH, a real in
 * a locale without '.'; jansson must do it), -1 out of memory or out's
 * ceiling (e filled). */
int canonjson_dump(const json_t *j, struct buf *out, struct err *e);
/* The same for one string of len bytes, quoted: 1, 0 (not UTF-8; out
 * unchanged), -1. */
int canonjson_dump_string(const char *s, size_t len, struct buf *out, struct err *e);

#endif
