/*
 * import_tally.c - what a plan's report says, counted while the report is
 * written (import_report.c hands over each line as it writes it), and
 * printed for people by --plan. Counting as the lines go by spares a
 * second pass over a report that holds one line per snapshot user.
 */
#include "import.h"

#include "canonjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TALLY_DELETES 50 /* deletions listed by name */

struct import_tally {
    json_t *counts;  /* outcome -> users */
    json_t *fields;  /* field -> users whose field changes */
    json_t *reasons; /* "<outcome>: <reason kind>" -> users */
    json_t *deletes; /* the first TALLY_DELETES deletions: [{"user_id","email"}] */
};

struct import_tally *import_tally_new(void)
{
    struct import_tally *t = calloc(1, sizeof(*t));

    if (t && (t->counts = json_object()) && (t->fields = json_object()) &&
        (t->reasons = json_object()) && (t->deletes = json_array()))
        return t;
    import_tally_free(t);
    return NULL;
}

void import_tally_free(struct import_tally *t)
{
    if (!t)
        return;
    json_decref(t->counts);
    json_decref(t->fields);
    json_decref(t->reasons);
    json_decref(t->deletes);
    free(t);
}

static int count_key(json_t *counts, const char *key, size_t klen, struct err *e)
{
    json_t *v = json_object_getn(counts, key, klen);

    if (v)
        return json_integer_set(v, json_integer_value(v) + 1) < 0 ? err_oom(e) : 0;
    return json_object_setn_new(counts, key, klen, json_integer(1)) < 0 ? err_oom(e) : 0;
}

/* Groups a reason for counting: the text up to the first quote, so
 * "conflict: target user 'x' already has..." counts with its kind. */
static size_t reason_kind(const char *reason)
{
    size_t n = strcspn(reason, "'(");

    while (n > 0 && (reason[n - 1] == ' ' || reason[n - 1] == ':'))
        n--;
    return n;
}

/* One line's outcome and reason (fields are counted by the caller). */
static int tally_outcome(struct import_tally *t, const char *outcome, const char *reason,
                         json_t *uid, json_t *email, struct err *e)
{
    if (count_key(t->counts, outcome, strlen(outcome), e) < 0)
        return -1;
    if (reason && (!strcmp(outcome, "skipped") || !strcmp(outcome, "failed"))) {
        char key[260];
        size_t kind = reason_kind(reason);
        int n =
            snprintf(key, sizeof(key), "%s: %.*s", outcome, (int)(kind < 199 ? kind : 199), reason);
        if (count_key(t->reasons, key, (size_t)n < sizeof(key) ? (size_t)n : sizeof(key) - 1, e) <
            0)
            return -1;
    }
    if (!strcmp(outcome, "deleted") && json_array_size(t->deletes) < TALLY_DELETES &&
        json_array_append_new(t->deletes, json_pack("{s:O,s:O?}", "user_id", uid, "email", email)) <
            0)
        return err_oom(e);
    return 0;
}

int import_tally_json(struct import_tally *t, const json_t *line, struct err *e)
{
    const char *outcome = json_string_value(json_object_get(line, "outcome"));
    json_t *v;
    size_t i;

    if (!outcome)
        return 0; /* the summary line */
    json_array_foreach(json_object_get(line, "fields"), i, v)
    {
        const char *f = json_string_value(v);
        if (f && count_key(t->fields, f, strlen(f), e) < 0)
            return -1;
    }
    return tally_outcome(t, outcome, json_string_value(json_object_get(line, "reason")),
                         json_object_get(line, "user_id"), json_object_get(line, "email"), e);
}

/* A member of the parsed line as a json_t (a new reference; NULL when
 * absent or out of memory). */
static json_t *member(const struct canonjson *cj, const char *key)
{
    size_t x = canonjson_get(cj, CANONJSON_ROOT, key, strlen(key));

    return x == CANONJSON_NONE ? NULL : canonjson_to_json(cj, x);
}

int import_tally_text(struct import_tally *t, const struct canonjson *cj, struct err *e)
{
    size_t fx = canonjson_get(cj, CANONJSON_ROOT, "fields", 6), x, len;
    json_t *outcome = NULL, *reason = NULL, *uid = NULL, *email = NULL;
    const char *s;
    int rc = -1;

    if (fx != CANONJSON_NONE && canonjson_type(cj, fx) == CANONJSON_ARRAY) {
        for (x = canonjson_first(cj, fx); x != CANONJSON_NONE; x = canonjson_next(cj, x)) {
            json_t *f = NULL;
            if (canonjson_string(cj, x, &s, &len)) {
                rc = count_key(t->fields, s, len, e);
            } else {
                f = canonjson_to_json(cj, x);
                rc = !f ? err_oom(e)
                     : json_is_string(f)
                         ? count_key(t->fields, json_string_value(f), json_string_length(f), e)
                         : 0;
            }
            json_decref(f);
            if (rc < 0)
                return -1;
        }
    }
    rc = -1;
    outcome = member(cj, "outcome");
    reason = member(cj, "reason");
    if (json_string_value(outcome) && !strcmp(json_string_value(outcome), "deleted")) {
        uid = member(cj, "user_id");
        email = member(cj, "email");
    }
    if (!json_string_value(outcome))
        rc = 0;
    else if (tally_outcome(t, json_string_value(outcome), json_string_value(reason), uid, email,
                           e) == 0)
        rc = 0;
    json_decref(outcome);
    json_decref(reason);
    json_decref(uid);
    json_decref(email);
    return rc;
}

/* A heading and one "  name  count" line per key of counts, if any. */
static void print_counts(FILE *out, const char *heading, json_t *counts, bool count_first)
{
    const char *k;
    json_t *v;

    if (!json_object_size(counts))
        return;
    fprintf(out, "%s\n", heading);
    json_object_foreach(counts, k, v)
    {
        if (count_first)
            fprintf(out, "  %8lld  %s\n", (long long)json_integer_value(v), k);
        else
            fprintf(out, "  %-16s %8lld\n", k, (long long)json_integer_value(v));
    }
}

static void print_grants(const struct import_counts *n, FILE *out)
{
    fprintf(out,
            "Roles: %zu to assign, %zu to remove; organizations: %zu memberships to add, %zu to "
            "remove; member roles: %zu to assign, %zu to remove\n",
            n->roles_added, n->roles_removed, n->members_added, n->members_removed,
            n->member_roles_added, n->member_roles_removed);
    if (n->links_added || n->links_removed || n->links_not_copyable)
        fprintf(out,
                "Linked accounts: %zu to link, %zu to unlink, %zu not copyable (%zu social, %zu "
                "enterprise)\n",
                n->links_added, n->links_removed, n->links_not_copyable, n->links_social,
                n->links_enterprise);
    if (n->permissions_added || n->permissions_removed || n->permissions_missing)
        fprintf(out,
                "Direct permissions: %zu to grant, %zu to revoke, %zu the target cannot take "
                "(API or scope missing)\n",
                n->permissions_added, n->permissions_removed, n->permissions_missing);
    if (n->passwordless)
        fprintf(out, "Passwordless users: %zu created or changed one request each\n",
                n->passwordless);
    if (n->moves)
        fprintf(out,
                "Moves: %zu emails, usernames or phone numbers go from one user to another "
                "(each set aside first)\n",
                n->moves);
}

void import_print_plan(const struct import_ctx *c, const struct import_tally *t, const char *report,
                       FILE *out)
{
    static const char *const order[] = {"created", "updated", "unchanged", "skipped",
                                        "failed",  "deleted", "kept",      NULL};
    static const char *const verbs[] = {"create", "update", "unchanged",     "skip",
                                        "fail",   "delete", "keep (--keep)", NULL};
    json_t *v;
    size_t i;

    fprintf(out, "Plan for '%s' (nothing was written):\n", c->opts->target);
    for (i = 0; order[i]; i++) {
        v = json_object_get(t->counts, order[i]);
        fprintf(out, "  %-16s %8lld\n", verbs[i], v ? (long long)json_integer_value(v) : 0LL);
    }
    print_counts(out, "Fields to change (users):", t->fields, false);
    print_counts(out, "Skipped or failing, by reason (users):", t->reasons, true);
    print_grants(&c->n, out);
    if (json_array_size(t->deletes)) {
        fprintf(out, "Deletions%s:\n",
                json_array_size(t->deletes) == TALLY_DELETES ? " (first 50)" : "");
        json_array_foreach(t->deletes, i, v)
        {
            const char *email = json_string_value(json_object_get(v, "email"));
            fprintf(out, "  %s  %s\n", json_string_value(json_object_get(v, "user_id")),
                    email ? email : "");
        }
    }
    fprintf(out, "Every user's line: '%s'\n", report);
}
