/* guard.c - see guard.h. */
#include "guard.h"

#include "edsig.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static size_t trimmed_len(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n > 0 && s[n - 1] == '.')
        n--;
    return n;
}

static bool same_n(const char *a, size_t an, const char *b, size_t bn)
{
    an = trimmed_len(a, an);
    bn = trimmed_len(b, bn);
    return an == bn && an > 0 && strncasecmp(a, b, an) == 0;
}

bool guard_same_domain(const char *a, const char *b)
{
    return a && b && same_n(a, strlen(a), b, strlen(b));
}

bool guard_domain_listed(const char *domain, const char *csv)
{
    const char *p = csv;

    if (!domain || !csv)
        return false;
    while (*p) {
        size_t n;
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        n = strcspn(p, ",");
        if (n && same_n(p, n, domain, strlen(domain)))
            return true;
        p += n;
    }
    return false;
}

int guard_target(const char *target, const char *env_domain, const char *source_domain,
                 const char *protected_csv, bool allow_source, struct err *e)
{
    if (!target || !*target)
        return err_set(e, ERR_USAGE,
                       "no target: name the tenant to import into with --target DOMAIN (it is "
                       "never guessed)");
    if (guard_domain_listed(target, protected_csv))
        return err_set(e, ERR_REFUSED,
                       "'%s' is listed in A0SNAP_PROTECTED_TENANTS; refusing to import into it",
                       target);
    if (env_domain && *env_domain && !guard_same_domain(env_domain, target))
        return err_set(e, ERR_REFUSED,
                       "AUTH0_DOMAIN is '%s' but --target is '%s'; the credentials in the "
                       "environment may belong to another tenant: unset AUTH0_DOMAIN or make them "
                       "agree",
                       env_domain, target);
    if (source_domain && guard_same_domain(source_domain, target) && !allow_source)
        return err_set(e, ERR_REFUSED,
                       "'%s' is the tenant this snapshot was taken from; refusing to import into "
                       "it without --allow-source-tenant",
                       target);
    return 0;
}

int guard_signer(const char *path, const char *signer, const struct edsig_trusted *trusted,
                 struct err *e)
{
    size_t n = edsig_trusted_count(trusted);

    if (!trusted || n == 0)
        return 0;
    if (!signer || !*signer)
        return err_set(e, ERR_SNAPSHOT,
                       "snapshot '%s' is not signed, and A0SNAP_TRUSTED_KEYS asks for a signature "
                       "by %s",
                       path, n == 1 ? "the key it holds" : "one of the keys it holds");
    if (!edsig_trusted_has(trusted, signer))
        return err_set(
            e, ERR_SNAPSHOT,
            "snapshot '%s' is signed by key %.16s..., which A0SNAP_TRUSTED_KEYS does not "
            "hold",
            path, signer);
    return 0;
}
