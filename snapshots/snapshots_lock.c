/*
 * snapshots_lock.c - one prune or erase at a time per folder: both read
 * every snapshot and then change some, and two of them interleaved could
 * each act on what the other is replacing. The lock is flock(2) on the
 * folder itself, so it needs no lock file and goes away with the process.
 */
#include "snapshots.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

int snapshots_lock(const char *dir, int *fd, struct err *e)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return err_errno(e, ERR_IO, errno, "cannot open folder '%s'", dir);
    if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        close(*fd);
        *fd = -1;
        if (saved == EWOULDBLOCK)
            return err_set(e, ERR_REFUSED,
                           "another a0snap-snapshots is pruning or erasing in '%s': try again "
                           "when it is done",
                           dir);
        return err_errno(e, ERR_IO, saved, "cannot lock folder '%s'", dir);
    }
    return 0;
}

void snapshots_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
