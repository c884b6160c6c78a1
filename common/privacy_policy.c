/*
 * privacy_policy.c - policy files: parsing, the built-in default, and the
 * canonical form recorded in snapshot headers.
 *
 * The default policy is itself policy text (DEFAULT_POLICY below), parsed
 * by the same code as a user's file, so docs/privacy.md can show it as is
 * and there is one source of truth. A file "extends" the default unless it
 * says "extends": "none": a custom policy written only to keep one metadata
 * key must not silently stop pseudonymising emails. Extending is done on
 * the JSON before compiling: the file's fields override the default's, its
 * metadata rules are tried before the default's, every other key replaces
 * the default's value.
 *
 * The canonical form is built back from the compiled policy (every setting
 * explicit, "extends": "none", keys sorted, compact), so two files that mean
 * the same thing have the same hash, and the canonical text parses back to
 * the same policy - which is how a0snap-import reads it from a header.
 */
#include "privacy.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

static const char DEFAULT_POLICY[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"extends\": \"none\",\n"
    "  \"email_domain\": \"example.com\",\n"
    "  \"keep_email_domain\": false,\n"
    "  \"phone_prefix\": \"+999\",\n"
    "  \"username_length\": 15,\n"
    "  \"url_prefix\": \"https://example.com/avatar/\",\n"
    "  \"fields\": {\n"
    "    \"email\": \"pseudonym:email\",\n"
    "    \"name\": \"pseudonym:name\",\n"
    "    \"given_name\": \"pseudonym:name\",\n"
    "    \"family_name\": \"pseudonym:name\",\n"
    "    \"nickname\": \"pseudonym:nickname\",\n"
    "    \"username\": \"pseudonym:username\",\n"
    "    \"phone_number\": \"pseudonym:phone\",\n"
    "    \"picture\": \"pseudonym:url\",\n"
    "    \"last_ip\": \"drop\"\n"
    "  },\n"
    "  \"identity_fields\": {\n"
    "    \"access_token\": \"drop\",\n"
    "    \"access_token_secret\": \"drop\",\n"
    "    \"refresh_token\": \"drop\"\n"
    "  },\n"
    "  \"metadata\": [],\n"
    "  \"personal_key_action\": \"pseudonym\",\n"
    "  \"personal_keys\": [\n"
    "    \"*email*\", \"mail\",\n"
    "    \"*phone*\", \"mobile\", \"cell\", \"tel\", \"telephone\", \"fax\", \"msisdn\", "
    "\"whatsapp\",\n"
    "    \"username\", \"nickname\", \"*name\",\n"
    "    \"avatar*\", \"picture\", \"photo*\",\n"
    "    {\"action\": \"drop\", \"patterns\": [\"ip\", \"ipv4\", \"ipv6\", \"ip*addr*\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"*address*\", \"addr\", \"street*\", \"zip*\", "
    "\"postcode\", \"postal*\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"*birth*\", \"dob\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"ssn\", \"social*security*\", \"national*\", "
    "\"passport*\", \"driver*licen*\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"tax*\", \"tin\", \"vat*\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"*iban*\", \"bic\", \"swift\", \"bank*\", "
    "\"account*number*\", \"routing*\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"*card*\", \"cvv\", \"cvc\", \"pan\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"geo*\", \"location\", \"latitude\", "
    "\"longitude\", \"lat\", \"lng\", \"lon\", \"coordinates\", \"gps\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"password*\", \"passwd\", \"*secret*\", "
    "\"pin\"]},\n"
    "    {\"action\": \"drop\", \"patterns\": [\"gender\", \"sex\", \"ethnic*\", \"religio*\", "
    "\"health*\", \"medical*\"]}\n"
    "  ],\n"
    "  \"unlisted_metadata\": \"keep\",\n"
    "  \"select\": {}\n"
    "}\n";

/* Every error names the policy and the place in it. */
static int perr(struct err *e, const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct err *e, const char *origin, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(e, ERR_USAGE, "policy '%s': %s", origin, msg);
}

static void action_release(struct privacy_action *a)
{
    json_decref(a->value);
    a->value = NULL;
}

static void free_strv(char **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void field_rules_free(struct privacy_field_rule *r, size_t n)
{
    size_t i;

    for (i = 0; r && i < n; i++) {
        free(r[i].name);
        action_release(&r[i].act);
    }
    free(r);
}

void privacy_policy_free(struct privacy_policy *p)
{
    size_t i;

    if (!p)
        return;
    free(p->email_domain);
    free(p->phone_prefix);
    free(p->url_prefix);
    field_rules_free(p->fields, p->n_fields);
    field_rules_free(p->identity_fields, p->n_identity_fields);
    for (i = 0; p->metadata && i < p->n_metadata; i++) {
        pathmatch_free(p->metadata[i].path);
        action_release(&p->metadata[i].act);
    }
    free(p->metadata);
    for (i = 0; p->personal && i < p->n_personal; i++) {
        free(p->personal[i].pattern);
        action_release(&p->personal[i].act);
    }
    free(p->personal);
    free_strv(p->select.include_connections, p->select.n_include_connections);
    free_strv(p->select.exclude_connections, p->select.n_exclude_connections);
    free_strv(p->select.email_domains, p->select.n_email_domains);
    free_strv(p->select.exclude_email_domains, p->select.n_exclude_email_domains);
    for (i = 0; p->select.match && i < p->select.n_match; i++) {
        pathmatch_path_release(&p->select.match[i].path);
        free(p->select.match[i].text);
        json_decref(p->select.match[i].equals);
    }
    free(p->select.match);
    free(p->canonical);
    free_strv(p->warnings, p->n_warnings);
    free(p);
}

static int add_warning(struct privacy_policy *p, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add_warning(struct privacy_policy *p, struct err *e, const char *fmt, ...)
{
    char msg[512], **v, *s;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s = strdup(msg);
    v = s ? realloc(p->warnings, (p->n_warnings + 1) * sizeof(*v)) : NULL;
    if (!v) {
        free(s);
        return err_oom(e);
    }
    v[p->n_warnings++] = s;
    p->warnings = v;
    return 0;
}

static void lower_in_place(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Reads an unsigned decimal in [0, max] from *s, advancing it. */
static bool parse_uint(const char **s, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    const char *p = *s;

    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (unsigned long)(*p++ - '0');
        if (v > max)
            return false;
    }
    *s = p;
    *out = (unsigned)v;
    return true;
}

/*
 * An action: "keep", "drop", "hash", "pseudonym", "pseudonym:<shape>",
 * "mask:<first>:<last>", or "set" with value (which must be non-NULL
 * exactly for "set").
 */
static int parse_action(const char *origin, const char *where, json_t *spec, json_t *value,
                        struct privacy_action *a, struct err *e)
{
    const char *s = json_string_value(spec), *p;

    memset(a, 0, sizeof(*a));
    if (!s)
        return perr(e, origin, "%s must be an action string", where);
    if (strcmp(s, "keep") == 0) {
        a->kind = PRIVACY_KEEP;
    } else if (strcmp(s, "drop") == 0) {
        a->kind = PRIVACY_DROP;
    } else if (strcmp(s, "hash") == 0) {
        a->kind = PRIVACY_HASH;
    } else if (strcmp(s, "pseudonym") == 0) {
        a->kind = PRIVACY_PSEUDONYM;
        a->auto_shape = true;
    } else if (strncmp(s, "pseudonym:", 10) == 0) {
        a->kind = PRIVACY_PSEUDONYM;
        if (!pseudonym_shape_from_name(s + 10, &a->shape))
            return perr(e, origin,
                        "unknown pseudonym shape '%s' at %s (use email, name, username, "
                        "nickname, phone, url or opaque)",
                        s + 10, where);
    } else if (strncmp(s, "mask:", 5) == 0) {
        a->kind = PRIVACY_MASK;
        p = s + 5;
        if (!parse_uint(&p, 1000, &a->mask_first) || *p++ != ':' ||
            !parse_uint(&p, 1000, &a->mask_last) || *p)
            return perr(e, origin, "bad mask '%s' at %s (use mask:<first>:<last>, e.g. mask:0:4)",
                        s, where);
    } else if (strcmp(s, "set") == 0) {
        a->kind = PRIVACY_SET;
        if (!value)
            return perr(e, origin, "action 'set' at %s needs a \"value\"", where);
        a->value = json_deep_copy(value);
        if (!a->value)
            return err_oom(e);
        return 0;
    } else {
        return perr(e, origin, "unknown action '%s' at %s", s, where);
    }
    if (value)
        return perr(e, origin, "\"value\" at %s is only for the action 'set'", where);
    return 0;
}

/* Checks that obj has only the listed keys (NULL-terminated). */
static int only_keys(const char *origin, const char *where, json_t *obj, const char *const *allowed,
                     struct err *e)
{
    const char *key;
    json_t *v;
    size_t i;

    json_object_foreach(obj, key, v)
    {
        for (i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                break;
        if (!allowed[i])
            return perr(e, origin, "unknown key '%s' in %s", key, where);
    }
    return 0;
}

static int parse_field_map(const char *origin, const char *what, json_t *obj,
                           const char *const *forbidden, struct privacy_field_rule **out, size_t *n,
                           struct err *e)
{
    static const char *const action_keys[] = {"action", "value", NULL};
    struct privacy_field_rule *r;
    const char *key;
    char where[512];
    json_t *v;
    size_t i;

    if (!json_is_object(obj))
        return perr(e, origin, "%s must be an object of field name to action", what);
    r = calloc(json_object_size(obj) + 1, sizeof(*r));
    if (!r)
        return err_oom(e);
    *out = r;
    json_object_foreach(obj, key, v)
    {
        snprintf(where, sizeof(where), "%s.%s", what, key);
        if (!*key)
            return perr(e, origin, "empty field name in %s", what);
        for (i = 0; forbidden[i]; i++)
            if (strcmp(key, forbidden[i]) == 0)
                return perr(e, origin, "%s cannot name '%s' (%s)", what, key,
                            strcmp(key, "profileData") == 0
                                ? "profileData follows \"fields\""
                                : "metadata follows \"metadata\" and \"personal_keys\"");
        r[*n].name = strdup(key);
        if (!r[*n].name)
            return err_oom(e);
        (*n)++;
        if (json_is_object(v)) {
            if (only_keys(origin, where, v, action_keys, e) < 0)
                return -1;
            if (parse_action(origin, where, json_object_get(v, "action"),
                             json_object_get(v, "value"), &r[*n - 1].act, e) < 0)
                return -1;
        } else if (parse_action(origin, where, v, NULL, &r[*n - 1].act, e) < 0) {
            return -1;
        }
    }
    return 0;
}

static int parse_metadata(struct privacy_policy *pol, const char *origin, json_t *arr,
                          struct err *e)
{
    static const char *const keys[] = {"path", "action", "value", NULL};
    struct privacy_path_rule *r;
    char where[64], awhere[80];
    size_t i;
    json_t *v;

    if (!json_is_array(arr))
        return perr(e, origin, "metadata must be an array of {\"path\", \"action\"} rules");
    r = calloc(json_array_size(arr) + 1, sizeof(*r));
    if (!r)
        return err_oom(e);
    pol->metadata = r;
    json_array_foreach(arr, i, v)
    {
        const char *path;
        struct err pe;

        snprintf(where, sizeof(where), "metadata[%zu]", i);
        snprintf(awhere, sizeof(awhere), "%s.action", where);
        if (!json_is_object(v))
            return perr(e, origin, "%s must be an object {\"path\", \"action\"}", where);
        if (only_keys(origin, where, v, keys, e) < 0)
            return -1;
        path = json_string_value(json_object_get(v, "path"));
        if (!path)
            return perr(e, origin, "%s needs a \"path\" string", where);
        err_clear(&pe);
        if (pathmatch_compile(&r[i].path, path, &pe) < 0) {
            if (pe.code == ERR_INTERNAL)
                return err_oom(e);
            return perr(e, origin, "%s: %s", where, pe.msg);
        }
        pol->n_metadata = i + 1;
        if (!pathmatch_seg_accepts(r[i].path, 0, "user_metadata") &&
            !pathmatch_seg_accepts(r[i].path, 0, "app_metadata"))
            return perr(e, origin,
                        "path '%s' at %s can never match: metadata paths start with "
                        "'user_metadata', 'app_metadata', '*' or '**'",
                        path, where);
        if (parse_action(origin, awhere, json_object_get(v, "action"), json_object_get(v, "value"),
                         &r[i].act, e) < 0)
            return -1;
    }
    return 0;
}

static int add_personal(struct privacy_policy *pol, const char *origin, const char *where,
                        json_t *pat, const struct privacy_action *act, struct err *e)
{
    struct privacy_key_rule *r;
    const char *s = json_string_value(pat), *c;
    bool literal = false;

    if (!s || !*s)
        return perr(e, origin, "%s must be a non-empty pattern string", where);
    for (c = s; *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '*')
            return perr(e, origin,
                        "pattern '%s' at %s may only hold letters, digits and '*' (key names are "
                        "compared without separators)",
                        s, where);
        literal |= *c != '*';
    }
    if (!literal)
        return perr(e, origin, "pattern '%s' at %s would match every key", s, where);
    r = realloc(pol->personal, (pol->n_personal + 1) * sizeof(*r));
    if (!r)
        return err_oom(e);
    pol->personal = r;
    r += pol->n_personal;
    memset(r, 0, sizeof(*r));
    r->pattern = strdup(s);
    r->act = *act;
    if (act->value)
        r->act.value = json_deep_copy(act->value);
    if (!r->pattern || (act->value && !r->act.value)) {
        free(r->pattern);
        json_decref(r->act.value);
        return err_oom(e);
    }
    lower_in_place(r->pattern);
    pol->n_personal++;
    return 0;
}

static int parse_personal(struct privacy_policy *pol, const char *origin, json_t *arr,
                          json_t *default_action, struct err *e)
{
    static const char *const keys[] = {"pattern", "patterns", "action", "value", NULL};
    struct privacy_action def, act;
    char where[64], awhere[160];
    size_t i, j;
    json_t *v, *pv;
    int rc = -1;

    memset(&act, 0, sizeof(act));
    memset(&def, 0, sizeof(def));
    def.kind = PRIVACY_PSEUDONYM;
    def.auto_shape = true;
    if (default_action &&
        parse_action(origin, "personal_key_action", default_action, NULL, &def, e) < 0)
        return -1;
    if (!json_is_array(arr)) {
        perr(e, origin, "personal_keys must be an array of patterns");
        goto out;
    }
    json_array_foreach(arr, i, v)
    {
        snprintf(where, sizeof(where), "personal_keys[%zu]", i);
        if (json_is_string(v)) {
            if (add_personal(pol, origin, where, v, &def, e) < 0)
                goto out;
            continue;
        }
        if (!json_is_object(v)) {
            perr(e, origin, "%s must be a pattern string or {\"pattern\", \"action\"}", where);
            goto out;
        }
        if (only_keys(origin, where, v, keys, e) < 0)
            goto out;
        snprintf(awhere, sizeof(awhere), "%s.action", where);
        action_release(&act);
        if (parse_action(origin, awhere, json_object_get(v, "action"), json_object_get(v, "value"),
                         &act, e) < 0)
            goto out;
        if (json_object_get(v, "pattern") && !json_object_get(v, "patterns")) {
            if (add_personal(pol, origin, where, json_object_get(v, "pattern"), &act, e) < 0)
                goto out;
            continue;
        }
        if (json_object_get(v, "pattern") || !json_is_array(json_object_get(v, "patterns"))) {
            perr(e, origin, "%s needs either \"pattern\" (a string) or \"patterns\" (an array)",
                 where);
            goto out;
        }
        json_array_foreach(json_object_get(v, "patterns"), j, pv)
        {
            snprintf(awhere, sizeof(awhere), "%s.patterns[%zu]", where, j);
            if (add_personal(pol, origin, awhere, pv, &act, e) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    action_release(&def);
    action_release(&act);
    return rc;
}

static int parse_strv(const char *origin, const char *where, json_t *arr, bool lower, char ***out,
                      size_t *n, struct err *e)
{
    size_t i;
    json_t *v;

    if (!json_is_array(arr))
        return perr(e, origin, "%s must be an array of strings", where);
    *out = calloc(json_array_size(arr) + 1, sizeof(char *));
    if (!*out)
        return err_oom(e);
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return perr(e, origin, "%s[%zu] must be a string", where, i);
        (*out)[i] = strdup(json_string_value(v));
        if (!(*out)[i])
            return err_oom(e);
        *n = i + 1;
        if (lower)
            lower_in_place((*out)[i]);
    }
    return 0;
}

static int parse_select(struct privacy_policy *pol, const char *origin, json_t *obj, struct err *e)
{
    static const char *const keys[] = {"include_connections",
                                       "exclude_connections",
                                       "email_domains",
                                       "exclude_email_domains",
                                       "match",
                                       NULL};
    static const char *const mkeys[] = {"path", "equals", NULL};
    struct privacy_select *s = &pol->select;
    json_t *v, *m;
    char where[64];
    size_t i, j;

    if (!json_is_object(obj))
        return perr(e, origin, "select must be an object");
    if (only_keys(origin, "select", obj, keys, e) < 0)
        return -1;
    if ((v = json_object_get(obj, "include_connections")) &&
        parse_strv(origin, "select.include_connections", v, false, &s->include_connections,
                   &s->n_include_connections, e) < 0)
        return -1;
    if ((v = json_object_get(obj, "exclude_connections")) &&
        parse_strv(origin, "select.exclude_connections", v, false, &s->exclude_connections,
                   &s->n_exclude_connections, e) < 0)
        return -1;
    if ((v = json_object_get(obj, "email_domains")) &&
        parse_strv(origin, "select.email_domains", v, true, &s->email_domains, &s->n_email_domains,
                   e) < 0)
        return -1;
    if ((v = json_object_get(obj, "exclude_email_domains")) &&
        parse_strv(origin, "select.exclude_email_domains", v, true, &s->exclude_email_domains,
                   &s->n_exclude_email_domains, e) < 0)
        return -1;
    v = json_object_get(obj, "match");
    if (!v)
        return 0;
    if (!json_is_array(v))
        return perr(e, origin, "select.match must be an array of {\"path\", \"equals\"}");
    s->match = calloc(json_array_size(v) + 1, sizeof(*s->match));
    if (!s->match)
        return err_oom(e);
    json_array_foreach(v, i, m)
    {
        struct privacy_match *pm = &s->match[i];
        const char *path;
        struct err pe;

        snprintf(where, sizeof(where), "select.match[%zu]", i);
        if (!json_is_object(m))
            return perr(e, origin, "%s must be an object {\"path\", \"equals\"}", where);
        if (only_keys(origin, where, m, mkeys, e) < 0)
            return -1;
        path = json_string_value(json_object_get(m, "path"));
        if (!path || !json_object_get(m, "equals"))
            return perr(e, origin, "%s needs a \"path\" string and an \"equals\" value", where);
        pathmatch_path_init(&pm->path);
        s->n_match = i + 1;
        err_clear(&pe);
        if (pathmatch_path_parse(&pm->path, path, &pe) < 0)
            return pe.code == ERR_INTERNAL ? err_oom(e) : perr(e, origin, "%s: %s", where, pe.msg);
        for (j = 0; j < pm->path.n; j++)
            if (!pm->path.segs[j])
                return perr(e, origin, "%s: path '%s' must name keys only (no '*')", where, path);
        pm->text = strdup(path);
        pm->equals = json_deep_copy(json_object_get(m, "equals"));
        if (!pm->text || !pm->equals)
            return err_oom(e);
    }
    return 0;
}

static bool reserved_domain(const char *d)
{
    static const char *const sld[] = {"example.com", "example.net", "example.org"};
    static const char *const tld[] = {"test", "example", "invalid", "localhost"};
    size_t n = strlen(d), i, l;
    const char *last = strrchr(d, '.');

    for (i = 0; i < sizeof(sld) / sizeof(sld[0]); i++) {
        l = strlen(sld[i]);
        if (n >= l && strcmp(d + n - l, sld[i]) == 0 && (n == l || d[n - l - 1] == '.'))
            return true;
    }
    for (i = 0; last && i < sizeof(tld) / sizeof(tld[0]); i++)
        if (strcmp(last + 1, tld[i]) == 0)
            return true;
    return false;
}

/* Setting key of obj, when present, into *field: a string that valid()
 * accepts, else the policy is refused with the complaint. */
static int string_setting(json_t *obj, const char *key, bool (*valid)(const char *),
                          const char *complaint, const char *origin, char **field, struct err *e)
{
    json_t *v = json_object_get(obj, key);

    if (!v)
        return 0;
    if (!json_is_string(v) || !valid(json_string_value(v)))
        return perr(e, origin, "%s must be %s", key, complaint);
    free(*field);
    *field = strdup(json_string_value(v));
    return *field ? 0 : err_oom(e);
}

static int parse_settings(struct privacy_policy *pol, const char *origin, json_t *obj,
                          struct err *e)
{
    json_t *v;

    pseudonym_opts_init(&pol->opts);
    pol->email_domain = strdup(pol->opts.email_domain);
    pol->phone_prefix = strdup(pol->opts.phone_prefix);
    pol->url_prefix = strdup(pol->opts.url_prefix);
    if (!pol->email_domain || !pol->phone_prefix || !pol->url_prefix)
        return err_oom(e);
    if (string_setting(obj, "email_domain", pseudonym_valid_domain,
                       "a host name such as \"example.com\" (letters, digits and hyphens, at "
                       "least two labels)",
                       origin, &pol->email_domain, e) < 0 ||
        string_setting(obj, "phone_prefix", pseudonym_valid_phone_prefix,
                       "'+' and 1 to 6 digits, not starting with 0 (e.g. \"+999\")", origin,
                       &pol->phone_prefix, e) < 0 ||
        string_setting(obj, "url_prefix", pseudonym_valid_url_prefix,
                       "a URL starting with https:// or http:// that holds no spaces, quotes or "
                       "angle brackets (at most 200 characters)",
                       origin, &pol->url_prefix, e) < 0)
        return -1;
    lower_in_place(pol->email_domain);
    if ((v = json_object_get(obj, "keep_email_domain"))) {
        if (!json_is_boolean(v))
            return perr(e, origin, "keep_email_domain must be true or false");
        pol->opts.keep_email_domain = json_is_true(v);
    }
    if ((v = json_object_get(obj, "username_length"))) {
        json_int_t n = json_integer_value(v);
        if (!json_is_integer(v) || n < PSEUDONYM_USERNAME_MIN_LEN || n > PSEUDONYM_USERNAME_MAX_LEN)
            return perr(e, origin, "username_length must be an integer from %d to %d",
                        PSEUDONYM_USERNAME_MIN_LEN, PSEUDONYM_USERNAME_MAX_LEN);
        pol->opts.username_length = (unsigned)n;
    }
    if ((v = json_object_get(obj, "unlisted_metadata"))) {
        const char *s = json_string_value(v);
        if (s && strcmp(s, "keep") == 0)
            pol->unlisted = PRIVACY_KEEP;
        else if (s && strcmp(s, "drop") == 0)
            pol->unlisted = PRIVACY_DROP;
        else
            return perr(e, origin, "unlisted_metadata must be \"keep\" or \"drop\"");
    }
    pol->opts.email_domain = pol->email_domain;
    pol->opts.phone_prefix = pol->phone_prefix;
    pol->opts.url_prefix = pol->url_prefix;
    if (!reserved_domain(pol->email_domain) &&
        add_warning(pol, e,
                    "email_domain '%s' is not a reserved domain (RFC 2606/6761); mail sent to "
                    "pseudonymous addresses may be delivered",
                    pol->email_domain) < 0)
        return -1;
    if (pol->opts.keep_email_domain &&
        add_warning(pol, e,
                    "keep_email_domain is on: pseudonymous addresses keep the real domain, so "
                    "mail sent to them may be delivered and the domain stays visible") < 0)
        return -1;
    if (strncmp(pol->phone_prefix, "+999", 4) != 0 &&
        add_warning(pol, e,
                    "phone_prefix '%s' is not the reserved code +999; pseudonymous numbers may "
                    "belong to real subscribers",
                    pol->phone_prefix) < 0)
        return -1;
    return 0;
}

static bool action_needs_key(const struct privacy_action *a)
{
    return a->kind == PRIVACY_PSEUDONYM || a->kind == PRIVACY_HASH;
}

static const char *action_text(const struct privacy_action *a, char *tmp, size_t n)
{
    switch (a->kind) {
    case PRIVACY_KEEP:
        return "keep";
    case PRIVACY_DROP:
        return "drop";
    case PRIVACY_HASH:
        return "hash";
    case PRIVACY_SET:
        return "set";
    case PRIVACY_PSEUDONYM:
        if (a->auto_shape)
            return "pseudonym";
        snprintf(tmp, n, "pseudonym:%s", pseudonym_shape_name(a->shape));
        return tmp;
    case PRIVACY_MASK:
        snprintf(tmp, n, "mask:%u:%u", a->mask_first, a->mask_last);
        return tmp;
    }
    return "?";
}

/* Adds "action" (and "value" for set) to obj. */
static int put_action(json_t *obj, const struct privacy_action *a)
{
    char tmp[64];

    if (json_object_set_new(obj, "action", json_string(action_text(a, tmp, sizeof(tmp)))) < 0)
        return -1;
    if (a->kind == PRIVACY_SET && json_object_set(obj, "value", a->value) < 0)
        return -1;
    return 0;
}

static json_t *field_map_json(const struct privacy_field_rule *r, size_t n)
{
    json_t *obj = json_object(), *v;
    char tmp[64];
    size_t i;

    for (i = 0; obj && i < n; i++) {
        if (r[i].act.kind == PRIVACY_SET) {
            v = json_object();
            if (!v || put_action(v, &r[i].act) < 0) {
                json_decref(v);
                v = NULL;
            }
        } else {
            v = json_string(action_text(&r[i].act, tmp, sizeof(tmp)));
        }
        if (!v || json_object_set_new(obj, r[i].name, v) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static json_t *strv_json(char **v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *canonical_json(const struct privacy_policy *p)
{
    json_t *o = json_object(), *a, *r, *sel;
    bool ok = o != NULL;
    size_t i;

    ok = ok && json_object_set_new(o, "version", json_integer(1)) == 0;
    ok = ok && json_object_set_new(o, "extends", json_string("none")) == 0;
    ok = ok && json_object_set_new(o, "email_domain", json_string(p->email_domain)) == 0;
    ok = ok &&
         json_object_set_new(o, "keep_email_domain", json_boolean(p->opts.keep_email_domain)) == 0;
    ok = ok && json_object_set_new(o, "phone_prefix", json_string(p->phone_prefix)) == 0;
    ok =
        ok && json_object_set_new(o, "username_length", json_integer(p->opts.username_length)) == 0;
    ok = ok && json_object_set_new(o, "url_prefix", json_string(p->url_prefix)) == 0;
    ok = ok && json_object_set_new(o, "unlisted_metadata",
                                   json_string(p->unlisted == PRIVACY_DROP ? "drop" : "keep")) == 0;
    ok = ok && json_object_set_new(o, "fields", field_map_json(p->fields, p->n_fields)) == 0;
    ok = ok && json_object_set_new(o, "identity_fields",
                                   field_map_json(p->identity_fields, p->n_identity_fields)) == 0;
    a = ok ? json_array() : NULL;
    ok = ok && json_object_set_new(o, "metadata", a) == 0;
    for (i = 0; ok && i < p->n_metadata; i++) {
        r = json_object();
        ok = json_array_append_new(a, r) == 0 &&
             json_object_set_new(r, "path", json_string(pathmatch_source(p->metadata[i].path))) ==
                 0 &&
             put_action(r, &p->metadata[i].act) == 0;
    }
    a = ok ? json_array() : NULL;
    ok = ok && json_object_set_new(o, "personal_keys", a) == 0;
    for (i = 0; ok && i < p->n_personal; i++) {
        r = json_object();
        ok = json_array_append_new(a, r) == 0 &&
             json_object_set_new(r, "pattern", json_string(p->personal[i].pattern)) == 0 &&
             put_action(r, &p->personal[i].act) == 0;
    }
    sel = ok ? json_object() : NULL;
    ok = ok && json_object_set_new(o, "select", sel) == 0;
    ok = ok && json_object_set_new(
                   sel, "include_connections",
                   strv_json(p->select.include_connections, p->select.n_include_connections)) == 0;
    ok = ok && json_object_set_new(
                   sel, "exclude_connections",
                   strv_json(p->select.exclude_connections, p->select.n_exclude_connections)) == 0;
    ok = ok &&
         json_object_set_new(sel, "email_domains",
                             strv_json(p->select.email_domains, p->select.n_email_domains)) == 0;
    ok = ok && json_object_set_new(sel, "exclude_email_domains",
                                   strv_json(p->select.exclude_email_domains,
                                             p->select.n_exclude_email_domains)) == 0;
    a = ok ? json_array() : NULL;
    ok = ok && json_object_set_new(sel, "match", a) == 0;
    for (i = 0; ok && i < p->select.n_match; i++) {
        r = json_object();
        ok = json_array_append_new(a, r) == 0 &&
             json_object_set_new(r, "path", json_string(p->select.match[i].text)) == 0 &&
             json_object_set(r, "equals", p->select.match[i].equals) == 0;
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int finish(struct privacy_policy *p, struct err *e)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n, i;
    json_t *c;
    size_t k;

    for (k = 0; k < p->n_fields; k++)
        p->needs_key |= action_needs_key(&p->fields[k].act);
    for (k = 0; k < p->n_identity_fields; k++)
        p->needs_key |= action_needs_key(&p->identity_fields[k].act);
    for (k = 0; k < p->n_metadata; k++)
        p->needs_key |= action_needs_key(&p->metadata[k].act);
    for (k = 0; k < p->n_personal; k++)
        p->needs_key |= action_needs_key(&p->personal[k].act);
    c = canonical_json(p);
    p->canonical = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(c);
    if (!p->canonical)
        return err_oom(e);
    if (!EVP_Digest(p->canonical, strlen(p->canonical), d, &n, EVP_sha256(), NULL))
        return err_set(e, ERR_INTERNAL, "SHA-256 failed");
    for (i = 0; i < n && i < 32; i++)
        snprintf(p->sha256 + 2 * i, 3, "%02x", d[i]);
    if (RAND_bytes(p->salt, sizeof(p->salt)) != 1)
        return err_set(e, ERR_INTERNAL, "cannot get random bytes for the collision salt");
    return 0;
}

static int compile(struct privacy_policy **out, json_t *obj, const char *origin, struct err *e)
{
    static const char *const keys[] = {"version",           "extends",       "email_domain",
                                       "keep_email_domain", "phone_prefix",  "username_length",
                                       "url_prefix",        "fields",        "identity_fields",
                                       "metadata",          "personal_keys", "personal_key_action",
                                       "unlisted_metadata", "select",        NULL};
    static const char *const no_fields[] = {"user_metadata", "app_metadata", "identities", NULL};
    static const char *const no_identity[] = {"profileData", NULL};
    struct privacy_policy *p;
    json_t *v;
    int rc = -1;

    p = calloc(1, sizeof(*p));
    if (!p)
        return err_oom(e);
    p->unlisted = PRIVACY_KEEP;
    if (only_keys(origin, "the policy", obj, keys, e) < 0 || parse_settings(p, origin, obj, e) < 0)
        goto out;
    v = json_object_get(obj, "fields");
    if (v && parse_field_map(origin, "fields", v, no_fields, &p->fields, &p->n_fields, e) < 0)
        goto out;
    v = json_object_get(obj, "identity_fields");
    if (v && parse_field_map(origin, "identity_fields", v, no_identity, &p->identity_fields,
                             &p->n_identity_fields, e) < 0)
        goto out;
    v = json_object_get(obj, "metadata");
    if (v && parse_metadata(p, origin, v, e) < 0)
        goto out;
    v = json_object_get(obj, "personal_keys");
    if (v && parse_personal(p, origin, v, json_object_get(obj, "personal_key_action"), e) < 0)
        goto out;
    if (!v && json_object_get(obj, "personal_key_action")) {
        struct privacy_action a;
        if (parse_action(origin, "personal_key_action", json_object_get(obj, "personal_key_action"),
                         NULL, &a, e) < 0)
            goto out;
        action_release(&a);
    }
    v = json_object_get(obj, "select");
    if (v && parse_select(p, origin, v, e) < 0)
        goto out;
    if (finish(p, e) < 0)
        goto out;
    *out = p;
    p = NULL;
    rc = 0;
out:
    privacy_policy_free(p);
    return rc;
}

/* The file's settings on top of base (both objects; base is changed). */
static int merge(json_t *base, json_t *file, struct err *e)
{
    const char *key;
    json_t *v, *b;

    json_object_foreach(file, key, v)
    {
        if (strcmp(key, "extends") == 0)
            continue;
        b = json_object_get(base, key);
        if ((strcmp(key, "fields") == 0 || strcmp(key, "identity_fields") == 0) &&
            json_is_object(b) && json_is_object(v)) {
            if (json_object_update(b, v) < 0)
                return err_oom(e);
            continue;
        }
        if (strcmp(key, "metadata") == 0 && json_is_array(b) && json_is_array(v)) {
            /* The file's rules first: the first rule that matches wins. */
            json_t *all = json_copy(v);
            if (!all || json_array_extend(all, b) < 0 || json_object_set_new(base, key, all) < 0) {
                json_decref(all);
                return err_oom(e);
            }
            continue;
        }
        if (json_object_set(base, key, v) < 0)
            return err_oom(e);
    }
    return 0;
}

int privacy_policy_parse(struct privacy_policy **out, const char *json_text, const char *origin,
                         struct err *e)
{
    json_t *obj = NULL, *base = NULL, *v;
    json_error_t jerr;
    const char *ext = "default";
    int rc = -1;

    *out = NULL;
    obj = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        return perr(e, origin, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                    jerr.text);
    if (!json_is_object(obj)) {
        perr(e, origin, "a policy is a JSON object");
        goto out;
    }
    v = json_object_get(obj, "version");
    if (!v) {
        perr(e, origin, "missing \"version\" (this program reads version 1)");
        goto out;
    }
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        perr(e, origin, "unsupported version (this program reads version 1)");
        goto out;
    }
    v = json_object_get(obj, "extends");
    if (v) {
        ext = json_string_value(v);
        if (!ext || (strcmp(ext, "default") != 0 && strcmp(ext, "none") != 0)) {
            perr(e, origin, "extends must be \"default\" or \"none\"");
            goto out;
        }
    }
    if (strcmp(ext, "default") == 0) {
        base = json_loads(DEFAULT_POLICY, 0, &jerr);
        if (!base) {
            err_set(e, ERR_INTERNAL, "the built-in policy does not parse: %s", jerr.text);
            goto out;
        }
        if (merge(base, obj, e) < 0)
            goto out;
        rc = compile(out, base, origin, e);
    } else {
        rc = compile(out, obj, origin, e);
    }
out:
    json_decref(base);
    json_decref(obj);
    return rc;
}

int privacy_policy_default(struct privacy_policy **out, struct err *e)
{
    return privacy_policy_parse(out, DEFAULT_POLICY, "(built-in default)", e);
}

int privacy_policy_load(struct privacy_policy **out, const char *path, struct err *e)
{
    struct buf b;
    char chunk[8192];
    FILE *f;
    size_t n;
    int rc = -1;

    *out = NULL;
    buf_init(&b, PRIVACY_POLICY_MAX);
    f = fopen(path, "rb");
    if (!f)
        return err_errno(e, ERR_IO, errno, "cannot open policy file '%s'", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n, e) < 0) {
            err_set(e, ERR_IO, "policy file '%s' is larger than %d bytes", path,
                    PRIVACY_POLICY_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        err_errno(e, ERR_IO, errno, "cannot read policy file '%s'", path);
        goto out;
    }
    if (memchr(buf_str(&b), '\0', b.len)) {
        err_set(e, ERR_USAGE, "policy '%s': not a text file", path);
        goto out;
    }
    rc = privacy_policy_parse(out, buf_str(&b), path, e);
out:
    fclose(f);
    buf_release(&b);
    return rc;
}

bool privacy_policy_needs_key(const struct privacy_policy *p)
{
    return p->needs_key;
}

const char *privacy_policy_canonical(const struct privacy_policy *p)
{
    return p->canonical;
}

const char *privacy_policy_sha256(const struct privacy_policy *p)
{
    return p->sha256;
}

const struct pseudonym_opts *privacy_policy_opts(const struct privacy_policy *p)
{
    return &p->opts;
}

size_t privacy_policy_warnings(const struct privacy_policy *p, const char *const **out)
{
    *out = (const char *const *)p->warnings;
    return p->n_warnings;
}

int privacy_policy_describe(const struct privacy_policy *p, const struct pseudonym_key *k,
                            json_t **out, struct err *e)
{
    json_t *o, *pol;
    json_error_t jerr;

    *out = NULL;
    pol = json_loads(p->canonical, 0, &jerr);
    o = json_object();
    if (!o || !pol) {
        json_decref(pol);
        json_decref(o);
        return err_oom(e);
    }
    /* "policy" first: set_new consumes pol whether it succeeds or not. */
    if (json_object_set_new(o, "policy", pol) < 0 ||
        json_object_set_new(o, "applied", json_true()) < 0 ||
        json_object_set_new(o, "policy_sha256", json_string(p->sha256)) < 0 ||
        json_object_set_new(o, "key_fingerprint",
                            k ? json_string(pseudonym_key_fingerprint(k)) : json_null()) < 0) {
        json_decref(o);
        return err_oom(e);
    }
    *out = o;
    return 0;
}
