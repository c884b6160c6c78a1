/*
 * fsutil.h - writing files so that a crash, a full disk or a second run
 * never leaves a half-written file under the final name.
 *
 * The pattern (STYLE.md "Every write is checked, the last one too"):
 *   1. fsutil_tmpfile_open(): a 0600 temp file in the folder of the final
 *      path (same file system, so the final step is atomic). Where the
 *      kernel and file system allow it, the file has no name at all
 *      (O_TMPFILE), so a process killed mid-write leaves nothing behind;
 *      otherwise it is named ".<name>.tmp-XXXXXX";
 *   2. write through t.fd (fsutil_write_all() checks every write);
 *   3. fsutil_tmpfile_commit(): fsync, then link (unnamed file) or rename
 *      it into place, refusing to replace an existing file unless forced,
 *      fsync the folder; or fsutil_tmpfile_abort(): close and remove it.
 *
 * Also: anonymous temp files for spill data (gone when closed, even after
 * kill -9), and the permission check for files that hold secrets.
 *
 * Errors: ERR_IO for file-system failures, ERR_REFUSED when an existing
 * file would be replaced without force or a secret file is open to others.
 */
#ifndef A0SNAP_FSUTIL_H
#define A0SNAP_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* A stack struct: fsutil_tmpfile_init() (or a successful _open()), then
 * exactly one of _commit() / _abort(); both leave it released, and _abort()
 * on a released or init'ed struct is a no-op. */
struct fsutil_tmpfile {
    int fd;           /* the temp file, open for writing; -1 when released */
    char *path;       /* the temp file's path (owned); NULL when it has no name */
    char *final_path; /* owned copy of the destination */
    bool force;       /* may replace an existing final_path */
};

void fsutil_tmpfile_init(struct fsutil_tmpfile *t);

/* Tests set this to exercise the named temp file path where O_TMPFILE
 * works. */
extern bool fsutil_tmpfile_named_only;

/* Creates the temp file for final_path. Unless force, fails with
 * ERR_REFUSED if final_path already exists (it is checked again, atomically,
 * at commit). On failure t is left released and nothing is created. */
int fsutil_tmpfile_open(struct fsutil_tmpfile *t, const char *final_path, bool force,
                        struct err *e);

/* fsync + close the temp file, rename it to final_path (without replacing
 * an existing file unless force), fsync the folder. Always releases t. On
 * failure the temp file is removed and nothing new is left at final_path
 * (a file that was already there is untouched, unless force replaced it). */
int fsutil_tmpfile_commit(struct fsutil_tmpfile *t, struct err *e);

/* Closes and removes the temp file; releases t. */
void fsutil_tmpfile_abort(struct fsutil_tmpfile *t);

/* Writes all len bytes to fd, retrying short writes and EINTR. what names
 * the file in the message ("cannot write 'what': No space left on device"). */
int fsutil_write_all(int fd, const void *data, size_t len, const char *what, struct err *e);

/* rename(2), or with !overwrite a rename that fails with ERR_REFUSED if
 * `to` exists (renameat2 RENAME_NOREPLACE, else link+unlink). */
int fsutil_rename(const char *from, const char *to, bool overwrite, struct err *e);

/* fsyncs the folder that holds path (so a rename in it is durable). */
int fsutil_fsync_parent(const char *path, struct err *e);

/* The whole pattern for a small file: write data to path atomically. */
int fsutil_write_file(const char *path, const void *data, size_t len, bool force, struct err *e);

/* Opens an anonymous temp file in folder dir, read-write, mode 0600, that
 * has no name (O_TMPFILE, or mkstemp + unlink), so it disappears when
 * closed or when the process dies. *fd gets the descriptor (caller closes). */
int fsutil_anon_tmpfile(int *fd, const char *dir, struct err *e);

/* For files that hold secrets (client secret, pseudonym key): fails with
 * ERR_REFUSED if path is not a regular file or grants any permission to
 * group or others, ERR_IO if it cannot be examined. */
int fsutil_check_private(const char *path, struct err *e);

/* Reads a small file that holds a secret (client secret, pseudonym key,
 * identity, signing key), named what in messages ("pseudonym key file"):
 * refuses (ERR_REFUSED) anything but a regular file, and a file that
 * grants any permission to group or others; a file it cannot open is
 * ERR_USAGE (the user named it), one over max bytes ERR_USAGE, a read
 * failure ERR_IO. Checks the open file itself (no race with a rename) and
 * never blocks on a FIFO. *data (NUL-terminated, *len bytes) is the
 * caller's: wipe it (explicit_bzero) and free it. */
int fsutil_read_private(const char *path, const char *what, size_t max, char **data, size_t *len,
                        struct err *e);

/* True if something (even a dangling symlink) exists at path. */
bool fsutil_exists(const char *path);

#endif
