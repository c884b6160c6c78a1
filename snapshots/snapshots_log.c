/*
 * snapshots_log.c - the erasure log: one JSON line per erase run, appended
 * to DIR/erasure-log.ndjson. The log is the folder's record that a person
 * was looked for and removed; it names them only by a keyed digest (see
 * snapshots_erase.c), so it holds nothing of theirs. O_APPEND keeps each
 * line whole even if two writers met (the folder lock keeps them apart
 * anyway); fsync makes the line durable before the command says it is
 * done.
 */
#include "snapshots.h"

#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int snapshots_log_append(const char *dir, json_t *record, struct err *e)
{
    char *path = NULL, *line = NULL;
    struct stat st;
    bool created;
    int fd = -1, rc = -1;

    if (asprintf(&path, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/",
                 SNAPSHOTS_LOG_NAME) < 0) {
        path = NULL;
        err_oom(e);
        goto out;
    }
    line = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);
    if (!line) {
        err_oom(e);
        goto out;
    }
    created = !fsutil_exists(path);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        err_errno(e, ERR_IO, errno, "cannot open the erasure log '%s'", path);
        goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        err_set(e, ERR_IO, "the erasure log '%s' is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
        err_errno(e, ERR_IO, errno, "cannot make the erasure log '%s' private", path);
        goto out;
    }
    if (fsutil_write_all(fd, line, strlen(line), path, e) < 0 ||
        fsutil_write_all(fd, "\n", 1, path, e) < 0)
        goto out;
    if (fsync(fd) < 0) {
        err_errno(e, ERR_IO, errno, "cannot write '%s'", path);
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        err_errno(e, ERR_IO, errno, "cannot write '%s'", path);
        goto out;
    }
    fd = -1;
    if (created && fsutil_fsync_parent(path, e) < 0)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(line);
    free(path);
    json_decref(record);
    return rc;
}
