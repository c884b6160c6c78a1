/*
 * snapshots_pick.c - see snapshots_pick.h. Pointers to the snapshots that
 * verified and are dated are sorted by (tenant, newest first, name), then
 * each tenant's run is walked once; every other item is decided by its
 * state alone.
 */
#include "snapshots_pick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECONDS_PER_DAY 86400

static int by_group_newest(const void *a, const void *b)
{
    const struct pick_item *x = *(const struct pick_item *const *)a;
    const struct pick_item *y = *(const struct pick_item *const *)b;
    int c = strcmp(x->group, y->group);

    if (c)
        return c;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return -strcmp(x->name, y->name);
}

static void decide_by_state(struct pick_item *it, const struct pick_rule *rule)
{
    switch (it->state) {
    case PICK_DAMAGED:
        it->verdict = rule->include_damaged ? PICK_DELETE_DAMAGED : PICK_KEEP_DAMAGED;
        break;
    case PICK_LOCKED:
        it->verdict = PICK_KEEP_LOCKED;
        break;
    case PICK_UNREADABLE:
        it->verdict = PICK_KEEP_UNIDENTIFIED;
        break;
    case PICK_INTACT:
        it->verdict = PICK_KEEP_UNDATED;
        break;
    }
}

int snapshots_pick(struct pick_item *items, size_t n, const struct pick_rule *rule, int64_t now,
                   struct err *e)
{
    struct pick_item **dated;
    size_t m = 0, i, rank = 0;
    const char *group = NULL;

    if (rule->keep_last < 0 || rule->keep_within_days < 0)
        return err_set(e, ERR_USAGE, "--keep-last and --keep-within cannot be negative");
    if (!rule->keep_last && !rule->keep_within_days)
        return err_set(e, ERR_USAGE, "prune needs --keep-last N, --keep-within DAYS, or both");
    dated = malloc((n ? n : 1) * sizeof(*dated));
    if (!dated)
        return err_oom(e);
    for (i = 0; i < n; i++) {
        if (items[i].state == PICK_INTACT && items[i].dated)
            dated[m++] = &items[i];
        else
            decide_by_state(&items[i], rule);
    }
    qsort(dated, m, sizeof(*dated), by_group_newest);
    for (i = 0; i < m; i++) {
        struct pick_item *it = dated[i];
        if (!group || strcmp(group, it->group) != 0) {
            group = it->group;
            rank = 0;
        }
        if (rule->keep_last && rank < (size_t)rule->keep_last)
            it->verdict = PICK_KEEP_NEWEST;
        else if (rule->keep_within_days &&
                 now - it->created < (int64_t)rule->keep_within_days * SECONDS_PER_DAY)
            it->verdict = PICK_KEEP_RECENT;
        else
            it->verdict = PICK_DELETE;
        rank++;
    }
    free(dated);
    return 0;
}

bool snapshots_pick_deletes(enum pick_verdict v)
{
    return v == PICK_DELETE || v == PICK_DELETE_DAMAGED;
}

const char *snapshots_pick_name(enum pick_verdict v)
{
    switch (v) {
    case PICK_KEEP_NEWEST:
        return "newest";
    case PICK_KEEP_RECENT:
        return "recent";
    case PICK_KEEP_UNDATED:
        return "undated";
    case PICK_KEEP_DAMAGED:
        return "damaged";
    case PICK_KEEP_LOCKED:
        return "locked";
    case PICK_KEEP_UNIDENTIFIED:
        return "unidentified";
    case PICK_DELETE:
        return "old";
    case PICK_DELETE_DAMAGED:
        return "damaged_deleted";
    }
    return "?";
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool snapshots_parse_time(const char *s, int64_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, used = 0;
    struct tm tm;

    if (!s || strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
        used != 20)
        return false;
    for (int i = 0; i < 20; i++) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        if ((i == 4 || i == 7)     ? s[i] != '-'
            : i == 10              ? s[i] != 'T'
            : (i == 13 || i == 16) ? s[i] != ':'
            : i == 19              ? s[i] != 'Z'
                                   : !digit)
            return false;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
        return false;
    if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return false;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm);
    return true;
}

void snapshots_format_time(int64_t t, char *out, size_t outsz)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, outsz, "?");
}
