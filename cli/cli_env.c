/* cli_env.c - see cli_env.h. */
#include "cli_env.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cli_env_name(char *out, size_t outlen, const char *option)
{
    size_t n = (size_t)snprintf(out, outlen, "A0SNAP_");

    for (const char *p = option; *p && n + 1 < outlen; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n < outlen ? n : outlen - 1] = '\0';
}

static bool listed(const char *const *list, const char *name)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static int push(char ***v, int *n, int *cap, char *s, struct err *e)
{
    if (!s)
        return err_oom(e);
    if (*n + 1 >= *cap) {
        int c = *cap ? *cap * 2 : 16;
        char **p = realloc(*v, (size_t)c * sizeof(*p));
        if (!p) {
            free(s);
            return err_oom(e);
        }
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
    return 0;
}

static char *option_arg(const char *name, const char *value, size_t len)
{
    size_t n = strlen(name) + len + 4;
    char *s = malloc(n);

    if (s)
        snprintf(s, n, "--%s=%.*s", name, (int)len, value);
    return s;
}

int cli_env_args(const struct option *longopts, const char *const *skip, const char *const *lists,
                 int argc, char **argv, int *out_argc, char ***out_argv, struct err *e)
{
    char **v = NULL, env[96];
    int n = 0, cap = 0;

    *out_argv = NULL;
    *out_argc = 0;
    if (push(&v, &n, &cap, strdup(argv[0]), e) < 0)
        goto fail;
    for (const struct option *o = longopts; o->name; o++) {
        const char *val;

        if (listed(skip, o->name))
            continue;
        cli_env_name(env, sizeof(env), o->name);
        val = getenv(env);
        if (!val)
            continue;
        if (o->has_arg == no_argument) {
            if (!strcasecmp(val, "1") || !strcasecmp(val, "true") || !strcasecmp(val, "yes")) {
                if (push(&v, &n, &cap, option_arg(o->name, "", 0), e) < 0)
                    goto fail;
                v[n - 1][strlen(v[n - 1]) - 1] = '\0'; /* "--name=" -> "--name" */
            } else if (*val && strcasecmp(val, "0") && strcasecmp(val, "false") &&
                       strcasecmp(val, "no")) {
                err_set(e, ERR_USAGE, "%s wants 1/true/yes or 0/false/no, not '%s'", env, val);
                goto fail;
            }
        } else if (listed(lists, o->name)) {
            for (const char *p = val; *p;) {
                size_t len = strcspn(p, ",");
                if (len && push(&v, &n, &cap, option_arg(o->name, p, len), e) < 0)
                    goto fail;
                p += len;
                if (*p == ',')
                    p++;
            }
        } else if (*val) {
            if (push(&v, &n, &cap, option_arg(o->name, val, strlen(val)), e) < 0)
                goto fail;
        }
    }
    for (int i = 1; i < argc; i++)
        if (push(&v, &n, &cap, strdup(argv[i]), e) < 0)
            goto fail;
    *out_argv = v;
    *out_argc = n;
    return 0;
fail:
    cli_env_free(n, v);
    return -1;
}

void cli_env_free(int argc, char **argv)
{
    if (!argv)
        return;
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}
