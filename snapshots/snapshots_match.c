/*
 * snapshots_match.c - see snapshots_match.h. A match looks at the few
 * places an Auth0 user holds an id or an email (top level, identities and
 * their profileData) rather than searching the whole line: metadata may
 * mention other people, and a line that merely mentions the person is not
 * theirs to remove.
 */
#include "snapshots_match.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *erase_id_tail(const char *id)
{
    const char *bar = strrchr(id, '|');

    return bar ? bar + 1 : id;
}

/* s without surrounding blanks: its start and length. */
static void trimmed(const char *s, const char **start, size_t *len)
{
    size_t n = strlen(s);

    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    *start = s;
    *len = n;
}

bool erase_same_email(const char *a, const char *b)
{
    const char *sa, *sb;
    size_t la, lb;

    if (!a || !b)
        return false;
    trimmed(a, &sa, &la);
    trimmed(b, &sb, &lb);
    return la == lb && la > 0 && strncasecmp(sa, sb, la) == 0;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* An identity's "provider|user_id" equals id. */
static bool identity_is(const json_t *ident, const char *id)
{
    const char *prov = str(ident, "provider"), *uid = str(ident, "user_id");
    size_t lp;

    if (!prov || !uid)
        return false;
    lp = strlen(prov);
    return strncmp(id, prov, lp) == 0 && id[lp] == '|' && strcmp(id + lp + 1, uid) == 0;
}

static bool id_embeds(const char *id, const char *email)
{
    return id && email && erase_same_email(erase_id_tail(id), email);
}

bool erase_match_user(const json_t *user, const struct erase_subject *s)
{
    const json_t *ids = json_object_get(user, "identities"), *ident;
    const char *uid = str(user, "user_id");
    size_t i;

    if (s->user_id && uid && strcmp(uid, s->user_id) == 0)
        return true;
    if (erase_same_email(str(user, "email"), s->email) || id_embeds(uid, s->email_in_id))
        return true;
    json_array_foreach(ids, i, ident)
    {
        if (s->user_id && identity_is(ident, s->user_id))
            return true;
        if (id_embeds(str(ident, "user_id"), s->email_in_id) ||
            erase_same_email(str(json_object_get(ident, "profileData"), "email"), s->email))
            return true;
    }
    return false;
}

static bool mentions(const char *text, const char *const *needles)
{
    for (; *needles; needles++)
        if (**needles && strcasestr(text, *needles))
            return true;
    return false;
}

/* Scrubs v (an object or array inside "request"); returns the count. */
static size_t scrub(json_t *v, const char *const *needles, int depth)
{
    size_t n = 0, i;
    const char *k;
    json_t *c;
    void *tmp;

    if (depth > 64)
        return 0;
    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v);) {
            c = json_array_get(v, i);
            if (json_is_string(c) && mentions(json_string_value(c), needles)) {
                json_array_remove(v, i);
                n++;
                continue;
            }
            n += scrub(c, needles, depth + 1);
            i++;
        }
    } else if (json_is_object(v)) {
        json_object_foreach_safe(v, tmp, k, c)
        {
            if (json_is_string(c) && mentions(json_string_value(c), needles)) {
                json_object_set_new(v, k, json_string("[erased]"));
                n++;
            } else {
                n += scrub(c, needles, depth + 1);
            }
        }
    }
    return n;
}

size_t erase_scrub_request(json_t *header, const char *const *needles)
{
    return scrub(json_object_get(header, "request"), needles, 0);
}
