/*
 * fuzz_snapshot.c - the snapshot reader (common/snapshot_reader.c) against
 * hostile files, and the writer against what the reader accepts.
 *
 * Input: a byte that is 0x1f starts a raw file (gzip bytes as they are, for
 * damaged streams, extra members, garbage after the end). Anything else is
 * the decompressed NDJSON text: the harness seals it (fuzz_seal: a
 * "@SHA256@" in the last line becomes the real hash) and gzips it, so the
 * fuzzer works on lines and JSON instead of fighting CRCs.
 *
 * The file is read three ways: users as JSON, users as lines, and
 * snapshot_verify(). They must agree (same outcome, same count, same
 * message on a refusal), a refusal must be ERR_SNAPSHOT (or ERR_IO for
 * reading), and after the end or a failure the reader must keep saying so.
 * A file the reader accepts is rewritten with the writer and the copy must
 * verify: what we read we can write, and what we write we can read.
 */
#include "fuzz_util.h"

#include "snapshot.h"

#include <fcntl.h>

#define FUZZ_SNAPSHOT_MAX_INPUT (1u << 20)

struct pass {
    int rc; /* 0 verified end, -1 refused */
    unsigned long long users;
    struct err e;
};

/* Reads every user as JSON (lines = false) or as a line. */
static void read_all(const char *path, bool lines, struct pass *out)
{
    struct snapshot_reader *r = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    err_clear(&out->e);
    if (snapshot_reader_open(&r, path, &out->e) < 0) {
        FUZZ_ASSERT(r == NULL);
        out->rc = -1;
        return;
    }
    FUZZ_ASSERT(snapshot_id_valid(snapshot_reader_id(r)));
    FUZZ_ASSERT(json_is_object(snapshot_reader_header(r)));
    for (;;) {
        if (lines) {
            const char *line;
            size_t len;
            json_t *j;

            rc = snapshot_reader_next_line(r, &line, &len, &out->e);
            if (rc != 1)
                break;
            FUZZ_ASSERT(len > 0 && memchr(line, '\n', len) == NULL);
            j = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
            FUZZ_ASSERT(json_is_object(j));
            json_decref(j);
        } else {
            json_t *user;

            rc = snapshot_reader_next(r, &user, &out->e);
            if (rc != 1) {
                FUZZ_ASSERT(user == NULL);
                break;
            }
            FUZZ_ASSERT(json_is_object(user));
            FUZZ_ASSERT(json_string_length(json_object_get(user, "user_id")) > 0);
            FUZZ_ASSERT(json_object_get(user, "a0snap") == NULL);
            json_decref(user);
        }
        out->users++;
        FUZZ_ASSERT(snapshot_reader_trailer(r) == NULL);
    }
    out->rc = rc;
    if (rc == 0) {
        struct err again;
        json_t *user;

        FUZZ_ASSERT(json_is_object(snapshot_reader_trailer(r)));
        FUZZ_ASSERT(snapshot_reader_next(r, &user, &again) == 0 && user == NULL);
    } else {
        struct err again;
        json_t *user;

        FUZZ_ASSERT(rc == -1);
        FUZZ_ASSERT(snapshot_reader_next(r, &user, &again) == -1 && user == NULL);
        FUZZ_ASSERT(strcmp(again.msg, out->e.msg) == 0);
    }
    snapshot_reader_free(r);
}

/* Writes the users of an accepted file again; the copy must verify. */
static void rewrite(const char *path, const struct snapshot_summary *sum)
{
    struct snapshot_reader *r = NULL;
    struct snapshot_writer *w = NULL;
    struct snapshot_summary copy;
    char out_path[512];
    json_t *user = NULL;
    struct err e;
    int rc;

    snprintf(out_path, sizeof(out_path), "%s/rewrite.ndjson.gz", fuzz_tmpdir());
    err_clear(&e);
    FUZZ_ASSERT(snapshot_reader_open(&r, path, &e) == 0);
    if (snapshot_writer_open(&w, out_path, snapshot_reader_header(r), true, &e) < 0) {
        /* A header the writer will not take (e.g. over its limits). */
        FUZZ_ASSERT(e.code == ERR_SNAPSHOT || e.code == ERR_USAGE);
        goto out;
    }
    FUZZ_ASSERT(strcmp(snapshot_writer_id(w), snapshot_reader_id(r)) == 0);
    while ((rc = snapshot_reader_next(r, &user, &e)) == 1) {
        if (snapshot_writer_append(w, user, &e) < 0) {
            /* Refusing a user is allowed (e.g. an id with a NUL that
             * strcmp cannot order); failing to write is not. */
            FUZZ_ASSERT(e.code == ERR_SNAPSHOT);
            snapshot_writer_abort(w);
            w = NULL;
            goto out;
        }
        json_decref(user);
        user = NULL;
    }
    FUZZ_ASSERT(rc == 0);
    FUZZ_ASSERT(snapshot_writer_users(w) == sum->users);
    rc = snapshot_writer_commit(w, &e);
    w = NULL;
    if (rc < 0) {
        fprintf(stderr, "fuzz_snapshot: commit failed: %s\n", e.msg);
        FUZZ_ASSERT(rc == 0);
    }
    snapshot_summary_init(&copy);
    if (snapshot_verify(out_path, &copy, &e) < 0) {
        fprintf(stderr, "fuzz_snapshot: the rewritten snapshot does not verify: %s\n", e.msg);
        FUZZ_ASSERT(!"a snapshot written from an accepted one verifies");
    }
    FUZZ_ASSERT(copy.users == sum->users);
    FUZZ_ASSERT(strcmp(copy.snapshot_id, sum->snapshot_id) == 0);
    FUZZ_ASSERT(json_equal(copy.connections, sum->connections));
    snapshot_summary_release(&copy);
out:
    json_decref(user);
    snapshot_writer_abort(w);
    snapshot_reader_free(r);
    unlink(out_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pass as_json, as_lines;
    struct snapshot_summary sum;
    unsigned char *file = NULL;
    size_t file_len = 0;
    char path[64];
    struct err e;
    int fd, rc;

    if (size > FUZZ_SNAPSHOT_MAX_INPUT)
        return 0;
    if (size > 0 && data[0] == 0x1f) {
        file = malloc(size);
        if (!file)
            abort();
        memcpy(file, data, size);
        file_len = size;
    } else {
        size_t text_len;
        char *text = fuzz_seal((const char *)data, size, &text_len);
        fuzz_gzip_append(&file, &file_len, text, text_len, 1);
        free(text);
    }
    fd = fuzz_memfd(file, file_len, path, sizeof(path));
    free(file);

    read_all(path, false, &as_json);
    read_all(path, true, &as_lines);
    FUZZ_ASSERT(as_json.rc == as_lines.rc);
    FUZZ_ASSERT(as_json.users == as_lines.users);
    FUZZ_ASSERT(strcmp(as_json.e.msg, as_lines.e.msg) == 0);
    if (as_json.rc < 0) {
        FUZZ_ASSERT(as_json.e.code == ERR_SNAPSHOT || as_json.e.code == ERR_IO);
        FUZZ_ASSERT(as_json.e.msg[0] != '\0');
        /* Quoted bytes are made printable: a file cannot drive a terminal. */
        for (const char *p = as_json.e.msg; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                fprintf(stderr,
                        "fuzz_snapshot: control byte 0x%02x in the message: ", (unsigned char)*p);
                for (const char *q = as_json.e.msg; *q; q++)
                    fprintf(stderr, (unsigned char)*q < 0x20 || *q == 0x7f ? "\\x%02x" : "%c",
                            (unsigned char)*q);
                fprintf(stderr, "\n");
                FUZZ_ASSERT(!"a refusal shows no control bytes from the file");
            }
        }
    }

    err_clear(&e);
    rc = snapshot_verify(path, &sum, &e);
    FUZZ_ASSERT(rc == as_json.rc);
    if (rc == 0) {
        FUZZ_ASSERT(sum.users == as_json.users);
        FUZZ_ASSERT(snapshot_id_valid(sum.snapshot_id));
        FUZZ_ASSERT(json_is_object(sum.header) && json_is_object(sum.connections));
        rewrite(path, &sum);
    } else {
        FUZZ_ASSERT(strcmp(e.msg, as_json.e.msg) == 0);
    }
    snapshot_summary_release(&sum);
    close(fd);
    return 0;
}
