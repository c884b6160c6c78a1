/*
 * export_seal.c - where a snapshot goes and how it is sealed: the output
 * path (a file, or a folder the snapshot is named into), the recipients it
 * is encrypted to (--encrypt-to) and the key that signs it (--sign-key).
 */
#include "export.h"

#include "age.h"
#include "edsig.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int export_seal_load(const struct export_opts *o, struct export_seal *s, struct err *e)
{
    memset(s, 0, sizeof(*s));
    if (o->n_encrypt_to) {
        if (age_recipients_new(&s->recipients, e) < 0)
            return -1;
        /* "age1..." is a key; anything else names a file of them. */
        for (size_t i = 0; i < o->n_encrypt_to; i++) {
            const char *r = o->encrypt_to[i];
            if ((strncmp(r, "age1", 4) == 0 ? age_recipients_add(s->recipients, r, e)
                                            : age_recipients_add_file(s->recipients, r, e)) < 0)
                return err_prefix(e, "--encrypt-to");
        }
    }
    if (o->sign_key && edsig_key_load(&s->sign, o->sign_key, e) < 0)
        return err_prefix(e, "--sign-key");
    return 0;
}

int export_seal_header(const struct export_seal *s, json_t *header, struct err *e)
{
    json_t *list, *enc;
    char r[AGE_RECIPIENT_LEN + 1];

    if (!s->recipients)
        return 0;
    list = json_array();
    enc = json_pack("{s:s,s:o}", "format", "age", "recipients", list);
    if (!list || !enc) {
        json_decref(enc);
        return err_oom(e);
    }
    /* Public keys, no secret: what an erasure re-encrypts to. A
     * passphrase recipient has no key to record. */
    for (size_t i = 0; i < age_recipients_count(s->recipients); i++)
        if (age_recipients_get(s->recipients, i, r, NULL) == 0 &&
            json_array_append_new(list, json_string(r)) < 0) {
            json_decref(enc);
            return err_oom(e);
        }
    return json_object_set_new(header, "encryption", enc) < 0 ? err_oom(e) : 0;
}

void export_seal_release(struct export_seal *s)
{
    age_recipients_free(s->recipients);
    edsig_key_free(s->sign);
    memset(s, 0, sizeof(*s));
}

/* "<folder>/<domain>-<UTC time>.ndjson.gz[.age]"; a port's ':' becomes '_'. */
static int name_in(char *out, size_t outlen, const char *folder, const char *domain, bool encrypted,
                   struct err *e)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    const char *slash;
    size_t start;

    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    slash = folder[0] && folder[strlen(folder) - 1] == '/' ? "" : "/";
    start = strlen(folder) + strlen(slash);
    if ((size_t)snprintf(out, outlen, "%s%s%s-%s.ndjson.gz%s", folder, slash, domain, stamp,
                         encrypted ? ".age" : "") >= outlen)
        return err_set(e, ERR_USAGE, "output path too long");
    for (char *p = out + start; *p; p++)
        if (*p == ':')
            *p = '_';
    return 0;
}

int export_output_path(const struct export_opts *o, const char *domain, bool encrypted, char *out,
                       size_t outlen, struct err *e)
{
    struct stat st;

    if (!o->output) {
        if (mkdir("snapshots", 0700) < 0 && errno != EEXIST)
            return err_errno(e, ERR_IO, errno, "cannot create folder 'snapshots'");
        return name_in(out, outlen, "snapshots", domain, encrypted, e);
    }
    /* A folder (existing, or named with a trailing '/'): a catalogue of
     * snapshots, each named by its source and time. */
    if (stat(o->output, &st) == 0 && S_ISDIR(st.st_mode))
        return name_in(out, outlen, o->output, domain, encrypted, e);
    if (o->output[0] && o->output[strlen(o->output) - 1] == '/') {
        if (mkdir(o->output, 0700) < 0 && errno != EEXIST)
            return err_errno(e, ERR_IO, errno, "cannot create folder '%s'", o->output);
        return name_in(out, outlen, o->output, domain, encrypted, e);
    }
    if ((size_t)snprintf(out, outlen, "%s", o->output) >= outlen)
        return err_set(e, ERR_USAGE, "output path too long");
    if (stat(out, &st) == 0 && !S_ISREG(st.st_mode))
        return err_set(e, ERR_REFUSED,
                       "'%s' exists and is not a regular file; refusing to write there", out);
    if (!o->force && fsutil_exists(out))
        return err_set(e, ERR_REFUSED, "'%s' already exists; use --force to replace it", out);
    return 0;
}
