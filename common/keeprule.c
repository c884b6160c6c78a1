/* keeprule.c - see keeprule.h. */
#include "keeprule.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#define KEEPRULE_PATH_MAX 256

int keeprule_check(const char *rule, struct err *e)
{
    const char *eq = strchr(rule, '=');

    if (!eq || eq == rule || eq - rule >= KEEPRULE_PATH_MAX || !eq[1])
        return err_set(e, ERR_USAGE,
                       "--keep wants PATH=PATTERN (e.g. email=*@staging.example.com or "
                       "app_metadata.robot=true), not '%s'",
                       rule);
    if (rule[0] == '.' || eq[-1] == '.' || strstr(rule, ".."))
        return err_set(e, ERR_USAGE, "--keep '%s': bad path", rule);
    return 0;
}

bool keeprule_match(const char *rule, const json_t *user)
{
    const char *eq = strchr(rule, '='), *p = rule;
    const json_t *v = user;
    char seg[KEEPRULE_PATH_MAX], text[64];
    const char *s;

    if (!eq || eq == rule || eq - rule >= KEEPRULE_PATH_MAX)
        return false;
    while (p < eq) {
        size_t n = strcspn(p, ".=");
        if ((size_t)(eq - p) < n)
            n = (size_t)(eq - p);
        memcpy(seg, p, n);
        seg[n] = '\0';
        v = json_object_get(v, seg);
        if (!v)
            return false;
        p += n;
        if (*p == '.')
            p++;
    }
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_true(v)) {
        s = "true";
    } else if (json_is_false(v)) {
        s = "false";
    } else if (json_is_integer(v)) {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
        s = text;
    } else if (json_is_real(v)) {
        snprintf(text, sizeof(text), "%g", json_real_value(v));
        s = text;
    } else {
        return false;
    }
    return fnmatch(eq + 1, s, FNM_CASEFOLD) == 0;
}
