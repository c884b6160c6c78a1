/*
 * fsutil.c - see fsutil.h.
 *
 * Why link()+unlink() as a fallback: renameat2(RENAME_NOREPLACE) is the
 * one call that moves a file into place only if nothing is there, but some
 * file systems (and old kernels) refuse the flag; link() fails with EEXIST
 * just as atomically. Only on file systems without hard links do we fall
 * back to check-then-rename, which has a (tiny) race.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder part of path ("." if none) and the name part, both malloc'd. */
static int split_path(const char *path, char **dir, char **base, struct err *e)
{
    const char *slash = strrchr(path, '/');
    size_t dlen;

    *dir = NULL;
    *base = NULL;
    if (!*path || (slash && !slash[1]))
        return err_set(e, ERR_IO, "'%s' is not a file name", path);
    if (!slash) {
        *dir = strdup(".");
        *base = strdup(path);
    } else {
        dlen = slash == path ? 1 : (size_t)(slash - path);
        *dir = strndup(path, dlen);
        *base = strdup(slash + 1);
    }
    if (!*dir || !*base) {
        free(*dir);
        free(*base);
        *dir = NULL;
        *base = NULL;
        return err_oom(e);
    }
    return 0;
}

bool fsutil_tmpfile_named_only = false;

bool fsutil_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

void fsutil_tmpfile_init(struct fsutil_tmpfile *t)
{
    t->fd = -1;
    t->path = NULL;
    t->final_path = NULL;
    t->force = false;
}

int fsutil_tmpfile_open(struct fsutil_tmpfile *t, const char *final_path, bool force, struct err *e)
{
    char *dir = NULL, *base = NULL;
    int rc = -1;
    size_t n;

    fsutil_tmpfile_init(t);
    if (split_path(final_path, &dir, &base, e) < 0)
        goto out;
    if (!force && fsutil_exists(final_path)) {
        err_set(e, ERR_REFUSED, "'%s' already exists", final_path);
        goto out;
    }
    t->final_path = strdup(final_path);
    n = strlen(dir) + strlen(base) + sizeof("/..tmp-XXXXXX");
    t->path = malloc(n);
    if (!t->final_path || !t->path) {
        err_oom(e);
        goto out;
    }
    snprintf(t->path, n, "%s/.%s.tmp-XXXXXX", dir, base);
    t->force = force;
    /* An unnamed file needs /proc to be given a name at commit. */
    if (!fsutil_tmpfile_named_only && access("/proc/self/fd", X_OK) == 0) {
        t->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (t->fd >= 0) {
            free(t->path);
            t->path = NULL;
            rc = 0;
            goto out;
        }
    }
    /* mkostemp creates the file 0600 (less any umask bits). */
    t->fd = mkostemp(t->path, O_CLOEXEC);
    if (t->fd < 0) {
        err_errno(e, ERR_IO, errno, "cannot create a temporary file in '%s'", dir);
        goto out;
    }
    rc = 0;
out:
    if (rc < 0) {
        free(t->path);
        free(t->final_path);
        fsutil_tmpfile_init(t);
    }
    free(dir);
    free(base);
    return rc;
}

static void tmpfile_release(struct fsutil_tmpfile *t)
{
    free(t->path);
    free(t->final_path);
    fsutil_tmpfile_init(t);
}

void fsutil_tmpfile_abort(struct fsutil_tmpfile *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    if (t->path)
        unlink(t->path);
    tmpfile_release(t);
}

/* Gives the unnamed file behind fd the name `to`; EEXIST if taken. */
static int link_fd(int fd, const char *to)
{
    char proc[64];

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, to, AT_SYMLINK_FOLLOW);
}

/* Links the unnamed file behind fd under a fresh hidden name beside
 * path, returned in *tmp (the caller's to unlink and free). */
static int link_beside(int fd, const char *path, char **tmp, struct err *e)
{
    char *dir = NULL, *base = NULL;
    int rc = -1;

    *tmp = NULL;
    if (split_path(path, &dir, &base, e) < 0)
        return -1;
    *tmp = malloc(strlen(dir) + strlen(base) + 64);
    if (!*tmp) {
        free(dir);
        free(base);
        return err_oom(e);
    }
    for (unsigned i = 0; i <= 100 && rc < 0; i++) {
        sprintf(*tmp, "%s/.%s.tmp-%ld-%u", dir, base, (long)getpid(), i);
        if (link_fd(fd, *tmp) == 0)
            rc = 0;
        else if (errno != EEXIST)
            break;
    }
    if (rc < 0) {
        err_errno(e, ERR_IO, errno, "cannot create a temporary file in '%s'", dir);
        free(*tmp);
        *tmp = NULL;
    }
    free(dir);
    free(base);
    return rc;
}

/* An unnamed temp file into place: a link fails if the name is taken,
 * which is the no-overwrite rule for free; forced, it is linked under a
 * fresh temp name and renamed over the old file. */
static int commit_unnamed(struct fsutil_tmpfile *t, int fd, struct err *e)
{
    char *tmp;
    int rc = 0;

    if (!t->force) {
        if (link_fd(fd, t->final_path) == 0)
            return 0;
        if (errno == EEXIST)
            return err_set(e, ERR_REFUSED, "'%s' already exists", t->final_path);
        return err_errno(e, ERR_IO, errno, "cannot create '%s'", t->final_path);
    }
    if (link_beside(fd, t->final_path, &tmp, e) < 0)
        return -1;
    if (rename(tmp, t->final_path) < 0) {
        rc = err_errno(e, ERR_IO, errno, "cannot rename '%s' to '%s'", tmp, t->final_path);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int fsutil_tmpfile_commit(struct fsutil_tmpfile *t, struct err *e)
{
    int fd = t->fd;
    int rc = -1;

    t->fd = -1;
    if (fd < 0 || !t->final_path) {
        err_set(e, ERR_INTERNAL, "commit of a temporary file that is not open");
        goto out;
    }
    if (!t->path) {
        /* unnamed: it needs its descriptor open to be linked */
        if (fsync(fd) < 0) {
            err_errno(e, ERR_IO, errno, "cannot write '%s'", t->final_path);
            close(fd);
            goto out;
        }
        rc = commit_unnamed(t, fd, e);
        if (close(fd) < 0 && rc == 0) {
            err_errno(e, ERR_IO, errno, "cannot write '%s'", t->final_path);
            unlink(t->final_path);
            rc = -1;
        }
        if (rc < 0)
            goto out;
        rc = -1;
        if (fsutil_fsync_parent(t->final_path, e) < 0) {
            unlink(t->final_path);
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (fsync(fd) < 0) {
        err_errno(e, ERR_IO, errno, "cannot write '%s'", t->final_path);
        close(fd);
        goto out;
    }
    if (close(fd) < 0) {
        err_errno(e, ERR_IO, errno, "cannot write '%s'", t->final_path);
        goto out;
    }
    if (fsutil_rename(t->path, t->final_path, t->force, e) < 0)
        goto out;
    /* From here the temp name is gone; on failure remove the new file so
     * that a failed commit never leaves something that looks finished. */
    free(t->path);
    t->path = NULL;
    if (fsutil_fsync_parent(t->final_path, e) < 0) {
        unlink(t->final_path);
        goto out;
    }
    rc = 0;
out:
    if (t->path)
        unlink(t->path);
    tmpfile_release(t);
    return rc;
}

int fsutil_write_all(int fd, const void *data, size_t len, const char *what, struct err *e)
{
    const char *p = data;
    ssize_t n;

    while (len) {
        n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err_errno(e, ERR_IO, errno, "cannot write '%s'", what);
        }
        if (n == 0)
            return err_set(e, ERR_IO, "cannot write '%s': no progress", what);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fsutil_rename(const char *from, const char *to, bool overwrite, struct err *e)
{
    if (overwrite) {
        if (rename(from, to) < 0)
            return err_errno(e, ERR_IO, errno, "cannot rename '%s' to '%s'", from, to);
        return 0;
    }
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return err_set(e, ERR_REFUSED, "'%s' already exists", to);
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return err_errno(e, ERR_IO, errno, "cannot rename '%s' to '%s'", from, to);
    if (link(from, to) == 0) {
        /* The data is in place under both names; a failure to drop the
         * temp name leaves a stray file, not a wrong one. */
        unlink(from);
        return 0;
    }
    if (errno == EEXIST)
        return err_set(e, ERR_REFUSED, "'%s' already exists", to);
    if (errno != EPERM && errno != ENOTSUP && errno != ENOSYS)
        return err_errno(e, ERR_IO, errno, "cannot rename '%s' to '%s'", from, to);
    if (fsutil_exists(to))
        return err_set(e, ERR_REFUSED, "'%s' already exists", to);
    if (rename(from, to) < 0)
        return err_errno(e, ERR_IO, errno, "cannot rename '%s' to '%s'", from, to);
    return 0;
}

int fsutil_fsync_parent(const char *path, struct err *e)
{
    char *dir = NULL, *base = NULL;
    int fd = -1, rc = -1;

    if (split_path(path, &dir, &base, e) < 0)
        goto out;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        err_errno(e, ERR_IO, errno, "cannot open folder '%s'", dir);
        goto out;
    }
    /* Some file systems cannot fsync a folder (EINVAL); nothing to do then. */
    if (fsync(fd) < 0 && errno != EINVAL) {
        err_errno(e, ERR_IO, errno, "cannot sync folder '%s'", dir);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(dir);
    free(base);
    return rc;
}

int fsutil_write_file(const char *path, const void *data, size_t len, bool force, struct err *e)
{
    struct fsutil_tmpfile t;

    if (fsutil_tmpfile_open(&t, path, force, e) < 0)
        return -1;
    if (fsutil_write_all(t.fd, data, len, path, e) < 0) {
        fsutil_tmpfile_abort(&t);
        return -1;
    }
    return fsutil_tmpfile_commit(&t, e);
}

int fsutil_anon_tmpfile(int *fd, const char *dir, struct err *e)
{
    char *tmpl = NULL;
    size_t n;
    int rc = -1;

    *fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (*fd >= 0)
        return 0;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return err_errno(e, ERR_IO, errno, "cannot create a temporary file in '%s'", dir);
    /* No O_TMPFILE here: a named file, unlinked at once. */
    n = strlen(dir) + sizeof("/.a0snap-tmp-XXXXXX");
    tmpl = malloc(n);
    if (!tmpl)
        return err_oom(e);
    snprintf(tmpl, n, "%s/.a0snap-tmp-XXXXXX", dir);
    *fd = mkostemp(tmpl, O_CLOEXEC);
    if (*fd < 0) {
        err_errno(e, ERR_IO, errno, "cannot create a temporary file in '%s'", dir);
        goto out;
    }
    if (unlink(tmpl) < 0) {
        err_errno(e, ERR_IO, errno, "cannot remove temporary file '%s'", tmpl);
        close(*fd);
        *fd = -1;
        goto out;
    }
    rc = 0;
out:
    free(tmpl);
    return rc;
}

int fsutil_read_private(const char *path, const char *what, size_t max, char **data, size_t *len,
                        struct err *e)
{
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    int fd, rc = -1;

    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO planted at path must not hang the open. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return err_errno(e, ERR_USAGE, errno, "cannot open %s '%s'", what, path);
    if (fstat(fd, &st) < 0) {
        err_errno(e, ERR_IO, errno, "cannot examine %s '%s'", what, path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(e, ERR_REFUSED, "%s '%s' is not a regular file", what, path);
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        err_set(e, ERR_REFUSED,
                "%s '%s' is accessible by group or others (mode %04o); make it private with "
                "'chmod 600 %s'",
                what, path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    buf = malloc(max + 1);
    if (!buf) {
        err_oom(e);
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf + n, max + 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err_errno(e, ERR_IO, errno, "cannot read %s '%s'", what, path);
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > max) {
            err_set(e, ERR_USAGE, "%s '%s' is larger than %zu bytes", what, path, max);
            goto out;
        }
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    if (buf) {
        explicit_bzero(buf, max + 1);
        free(buf);
    }
    close(fd);
    return rc;
}

int fsutil_check_private(const char *path, struct err *e)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return err_errno(e, ERR_IO, errno, "cannot open '%s'", path);
    if (!S_ISREG(st.st_mode))
        return err_set(e, ERR_REFUSED, "'%s' is not a regular file", path);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return err_set(e, ERR_REFUSED,
                       "'%s' is accessible by other users (mode %04o); make it private "
                       "with 'chmod 600 %s'",
                       path, (unsigned)(st.st_mode & 07777), path);
    return 0;
}
