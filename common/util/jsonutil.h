/*
 * jsonutil.h - small jansson and text helpers the layers above share.
 */
#ifndef A0SNAP_JSONUTIL_H
#define A0SNAP_JSONUTIL_H

#include <jansson.h>

#include "err.h"

/* Sorts an array of objects in place by their "name", then their "id"
 * (missing ones sort as ""), so the order is the same in every run. */
int json_sort_by_name(json_t *arr, struct err *e);
/* The first object of arr whose member key is the string value (borrowed),
 * or NULL. */
json_t *json_array_find(const json_t *arr, const char *key, const char *value);

/* Sorts an array in place with cmp, which qsort() calls with two
 * (json_t *const *). */
int json_array_sort(json_t *arr, int (*cmp)(const void *, const void *), struct err *e);

/* The value of a hex digit (either case), or -1. */
static inline int hex_digit_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
