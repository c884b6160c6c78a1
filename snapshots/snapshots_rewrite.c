/*
 * snapshots_rewrite.c - one snapshot written again without one person's
 * users: the stream goes from the reader straight into the writer, line by
 * line, so memory stays flat and every other user line is copied as it
 * was stored (snapshot_writer_append_line), byte for byte; only the
 * header (which records the erasure) and the trailer (new counts, digest
 * and signature) are new.
 *
 * The writer builds the new file in an unnamed temporary file in the same
 * folder and replaces the old one only at commit, after the reader reached
 * the old file's verified end and found it still sealed to the digest the
 * check pass saw. An encrypted snapshot is decrypted in memory and
 * encrypted again on its way to the temporary file.
 */
#include "snapshots.h"

#include "snapshots_match.h"

#include <stdio.h>
#include <string.h>

int snapshots_rewrite(const char *path, const struct snapshot_keys *keys,
                      const struct rewrite_header *make, const struct snapshot_write_opts *wo,
                      const struct erase_subject *s, const char *expect_sha256,
                      struct rewrite_result *res, struct err *e)
{
    struct snapshot_reader *r = NULL;
    struct snapshot_writer *w = NULL;
    json_t *header = NULL;
    const json_t *user;
    const char *line, *sha;
    size_t len;
    int n, rc = -1;

    memset(res, 0, sizeof(*res));
    if (snapshot_reader_open_keys(&r, path, keys, e) < 0 ||
        make->fn(make->ctx, snapshot_reader_header(r), &header, e) < 0 ||
        snapshot_writer_open_with(&w, path, header, wo, e) < 0)
        goto out;
    while ((n = snapshot_reader_next_line(r, &line, &len, e)) == 1) {
        user = snapshot_reader_current(r);
        if (erase_match_user(user, s)) {
            res->removed++;
            continue;
        }
        if (snapshot_writer_append_line(w, json_string_value(json_object_get(user, "user_id")),
                                        snapshot_user_connection(user), line, len, e) < 0)
            goto out;
        res->kept++;
    }
    if (n < 0)
        goto out;
    sha = json_string_value(json_object_get(snapshot_reader_trailer(r), "sha256"));
    if (!sha || strcmp(sha, expect_sha256) != 0) {
        err_set(e, ERR_SNAPSHOT, "snapshot '%s' changed after it was checked: left as it is", path);
        goto out;
    }
    snprintf(res->snapshot_id, sizeof(res->snapshot_id), "%s", snapshot_writer_id(w));
    rc = snapshot_writer_commit(w, e);
    w = NULL;
out:
    json_decref(header);
    snapshot_writer_abort(w);
    snapshot_reader_free(r);
    return rc;
}
