/* jsonutil.c - see jsonutil.h. */
#include "jsonutil.h"

#include <stdlib.h>
#include <string.h>

static int by_name_then_id(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    const char *p = json_string_value(json_object_get(*x, "name"));
    const char *q = json_string_value(json_object_get(*y, "name"));
    int d = strcmp(p ? p : "", q ? q : "");

    if (d)
        return d;
    p = json_string_value(json_object_get(*x, "id"));
    q = json_string_value(json_object_get(*y, "id"));
    return strcmp(p ? p : "", q ? q : "");
}

int json_array_sort(json_t *arr, int (*cmp)(const void *, const void *), struct err *e)
{
    size_t n = json_array_size(arr);
    json_t **items;

    if (n < 2)
        return 0;
    items = malloc(n * sizeof(*items));
    if (!items)
        return err_oom(e);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(arr, i));
    qsort(items, n, sizeof(*items), cmp);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, items[i]);
    free(items);
    return 0;
}

int json_sort_by_name(json_t *arr, struct err *e)
{
    return json_array_sort(arr, by_name_then_id, e);
}

json_t *json_array_find(const json_t *arr, const char *key, const char *value)
{
    json_t *item;
    size_t i;

    json_array_foreach(arr, i, item)
    {
        const char *v = json_string_value(json_object_get(item, key));
        if (v && strcmp(v, value) == 0)
            return item;
    }
    return NULL;
}
