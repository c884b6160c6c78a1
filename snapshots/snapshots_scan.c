/*
 * snapshots_scan.c - the files of a catalogue folder and what each holds.
 *
 * A file is taken for a snapshot by its name alone (snapshots_is_candidate),
 * never by guessing from its bytes: prune and erase only ever touch files
 * named as the export names them, and a stray backup.gz beside them is
 * counted, not opened. Each candidate gets one full pass through the
 * snapshot reader (which verifies as it streams); the pass records whether
 * the header could be read at all, because a file whose header is an a0snap
 * header is a snapshot even when the rest is damaged, and one whose header
 * cannot be read may be anything.
 *
 * An encrypted file with no identity to open it is not read (locked): the
 * reader would only refuse it. Nothing here prints.
 */
#include "snapshots.h"

#include "age.h"
#include "guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRINTABLE_LEN 96

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);

    return ls > lx && strcmp(s + ls - lx, suffix) == 0;
}

bool snapshots_is_candidate(const char *name)
{
    return name[0] != '.' && (ends_with(name, ".ndjson.gz") || ends_with(name, ".ndjson.gz.age"));
}

const char *snapshots_pr(const char *s)
{
    static char bufs[8][PRINTABLE_LEN];
    static int next;
    char *b = bufs[next++ % 8];

    snapshot_printable(b, PRINTABLE_LEN, s ? s : "", s ? strlen(s) : 0);
    return b;
}

static int rank(enum err_code c)
{
    switch (c) {
    case ERR_SNAPSHOT:
        return 5;
    case ERR_REFUSED:
        return 4;
    case ERR_USAGE:
        return 3;
    case ERR_IO:
        return 2;
    case ERR_NONE:
        return 0;
    default:
        return 1;
    }
}

enum err_code snapshots_worse(enum err_code a, enum err_code b)
{
    return rank(b) > rank(a) ? b : a;
}

const char *snapshots_reason(const struct snap_entry *s)
{
    const char *msg = s->intact ? s->trust_why.msg : s->why.msg;
    size_t lp = strlen(s->path);

    /* "snapshot 'PATH': why" or "snapshot 'PATH', line N: why" */
    if (strncmp(msg, "snapshot '", 10) == 0 && strncmp(msg + 10, s->path, lp) == 0 &&
        msg[10 + lp] == '\'') {
        msg += 11 + lp;
        if ((msg[0] == ':' || msg[0] == ',') && msg[1] == ' ')
            msg += 2;
        else if (msg[0] == ' ')
            msg++;
    }
    return msg;
}

const char *snap_source(const struct snap_entry *s)
{
    return json_string_value(json_object_get(json_object_get(s->header, "source"), "domain"));
}

const char *snap_created(const struct snap_entry *s)
{
    return json_string_value(json_object_get(s->header, "created_at"));
}

const char *snap_privacy(const struct snap_entry *s)
{
    if (!s->header)
        return NULL;
    return json_is_true(json_object_get(json_object_get(s->header, "privacy"), "applied"))
               ? "pseudonymised"
               : "raw";
}

/* Whether the file starts like an age file. */
static int detect_age(struct snap_entry *s, struct err *e)
{
    unsigned char head[AGE_DETECT_LEN];
    ssize_t n;
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return err_errno(e, ERR_IO, errno, "cannot open '%s'", s->path);
    do
        n = pread(fd, head, sizeof(head), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        err_errno(e, ERR_IO, errno, "cannot read '%s'", s->path);
        close(fd);
        return -1;
    }
    close(fd);
    s->encrypted = age_detect(head, (size_t)n) != AGE_FORMAT_NONE;
    return 0;
}

/* The reader's refusal stays with the entry; only running out of memory
 * (or a bug) stops the scan. */
static int entry_failed(struct snap_entry *s, struct err *e)
{
    if (s->why.code != ERR_INTERNAL)
        return 0;
    *e = s->why;
    return -1;
}

/* The full pass: the header, every user (to visit), the verified end. */
static int read_through(struct snap_entry *s, size_t idx, const struct snapshot_keys *keys,
                        const struct snap_visit *visit, struct err *e)
{
    struct snapshot_reader *r = NULL;
    const char *line, *signer;
    const json_t *trailer;
    bool users = visit && visit->user;
    size_t len;
    int rc = -1, n;

    if (snapshot_reader_open_keys(&r, s->path, keys, &s->why) < 0)
        return entry_failed(s, e);
    s->header_read = true;
    s->header = json_copy(snapshot_reader_header(r)); /* shallow: shares the values */
    if (!s->header) {
        err_oom(e);
        goto out;
    }
    json_object_del(s->header, "catalogue");
    snprintf(s->snapshot_id, sizeof(s->snapshot_id), "%s", snapshot_reader_id(r));
    if (users && visit->header) {
        n = visit->header(visit->ctx, idx, s, e);
        if (n < 0)
            goto out;
        users = n == 1;
    }
    while ((n = snapshot_reader_next_line(r, &line, &len, &s->why)) == 1)
        if (users && visit->user(visit->ctx, snapshot_reader_current(r), e) < 0)
            goto out;
    if (n < 0) {
        rc = entry_failed(s, e);
        goto out;
    }
    s->intact = true;
    err_clear(&s->why);
    trailer = snapshot_reader_trailer(r);
    snprintf(s->sha256, sizeof(s->sha256), "%s",
             json_string_value(json_object_get(trailer, "sha256")));
    signer = snapshot_reader_signer(r);
    snprintf(s->signer, sizeof(s->signer), "%s", signer ? signer : "");
    s->users = (unsigned long long)json_integer_value(json_object_get(trailer, "users"));
    rc = 0;
out:
    snapshot_reader_free(r);
    return rc;
}

static int probe(struct snap_entry *s, size_t idx, const char *path, const char *name,
                 const struct snapshot_keys *keys, const struct edsig_trusted *trusted,
                 const struct snap_visit *visit, struct err *e)
{
    struct stat st;

    memset(s, 0, sizeof(*s));
    s->name = strdup(name);
    s->path = strdup(path);
    if (!s->name || !s->path)
        return err_oom(e);
    if (lstat(path, &st) < 0) {
        err_errno(&s->why, ERR_IO, errno, "cannot examine '%s'", path);
        return 0;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->size = st.st_size;
    s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (detect_age(s, &s->why) < 0)
        return 0;
    if (s->encrypted && (!keys || !keys->identities)) {
        s->locked = true;
        err_set(&s->why, ERR_USAGE,
                "snapshot '%s' is encrypted (age) and no identity was given (--identity FILE or "
                "A0SNAP_IDENTITY_FILE)",
                path);
        return 0;
    }
    if (read_through(s, idx, keys, visit, e) < 0)
        return -1;
    if (s->intact)
        s->trusted = guard_signer(path, s->signer, trusted, &s->trust_why) == 0;
    return 0;
}

int snapshots_probe(struct snap_entry *s, const char *path, const char *name,
                    const struct snapshot_keys *keys, const struct edsig_trusted *trusted,
                    const struct snap_visit *visit, struct err *e)
{
    return probe(s, 0, path, name, keys, trusted, visit, e);
}

void snap_entry_release(struct snap_entry *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->path);
    json_decref(s->header);
    memset(s, 0, sizeof(*s));
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The candidate names of dir, sorted; *names is the caller's. */
static int candidates(struct snap_folder *f, char ***names, size_t *n, struct err *e)
{
    DIR *d = opendir(f->dir);
    struct dirent *de;
    struct stat st;
    size_t cap = 0;
    char **grown;
    int rc = -1;

    *names = NULL;
    *n = 0;
    if (!d)
        return err_errno(e, ERR_IO, errno, "cannot open folder '%s'", f->dir);
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, SNAPSHOTS_LOG_NAME) == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            !snapshots_is_candidate(de->d_name)) {
            f->other_files++;
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            grown = realloc(*names, cap * sizeof(**names));
            if (!grown) {
                err_oom(e);
                goto out;
            }
            *names = grown;
        }
        if (!((*names)[*n] = strdup(de->d_name))) {
            err_oom(e);
            goto out;
        }
        (*n)++;
    }
    if (errno) {
        err_errno(e, ERR_IO, errno, "cannot read folder '%s'", f->dir);
        goto out;
    }
    qsort(*names, *n, sizeof(**names), by_name);
    rc = 0;
out:
    closedir(d);
    return rc;
}

int snapshots_scan(struct snap_folder *f, const char *dir, const struct snapshot_keys *keys,
                   const struct edsig_trusted *trusted, const struct snap_visit *visit,
                   struct err *e)
{
    char **names = NULL, *path = NULL;
    size_t n = 0, i;
    int rc = -1;

    memset(f, 0, sizeof(*f));
    f->dir = strdup(dir);
    if (!f->dir)
        return err_oom(e);
    if (candidates(f, &names, &n, e) < 0)
        goto out;
    f->v = calloc(n ? n : 1, sizeof(*f->v));
    if (!f->v) {
        err_oom(e);
        goto out;
    }
    if (visit && visit->begin && visit->begin(visit->ctx, n, e) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        free(path);
        if (asprintf(&path, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/",
                     names[i]) < 0) {
            path = NULL;
            err_oom(e);
            goto out;
        }
        f->n++;
        if (probe(&f->v[i], i, path, names[i], keys, trusted, visit, e) < 0)
            goto out;
    }
    rc = 0;
out:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(path);
    return rc;
}

void snap_folder_release(struct snap_folder *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        snap_entry_release(&f->v[i]);
    free(f->v);
    free(f->dir);
    memset(f, 0, sizeof(*f));
}
