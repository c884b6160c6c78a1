/*
 * import_records.c - the plan's job records: one line per user a bulk job
 * will carry, "<conn>\t<uid>\t<email>\t<grants>\t<record>\n" (import.h),
 * into the anonymous temp file import_jobs.c reads back.
 *
 * The record is what the import schema accepts (userconv.h). The plan
 * hands the user's canonical parse along when it has one (the "want" sort
 * holds canonical text), and the record is written from it
 * (userconv_import_text) without building a json_t; otherwise, and for
 * whatever that declines, userconv_to_import() and jansson write it. Both
 * give the same bytes (tests/unit/test_userconv.c). Lines collect in a
 * buffer written out in large pieces: one write per user was a system
 * call per user.
 */
#include "import.h"

#include "fsutil.h"
#include "userconv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORDS_FLUSH (256u * 1024) /* bytes collected before a write */

/* json_dump_callback's writer into a buf. */
struct dump_to {
    struct buf *b;
    struct err *e;
};

static int dump_chunk(const char *data, size_t len, void *ctx)
{
    struct dump_to *d = ctx;

    return buf_append(d->b, data, len, d->e);
}

/* Appends j as json_dumps(j, JSON_COMPACT) writes it. */
static int append_json(struct buf *b, const json_t *j, struct err *e)
{
    struct dump_to d = {b, e};

    if (json_dump_callback(j, dump_chunk, &d, JSON_COMPACT) == 0)
        return 0;
    return e->code == ERR_NONE ? err_oom(e) : -1;
}

/* The record of want appended to line; info says whether it was skipped
 * (then nothing was appended). */
static int append_record(struct buf *line, const json_t *want, const struct canonjson *want_cj,
                         const struct userconv_opts *uo, struct userconv_info *info, struct err *e)
{
    json_t *rec = NULL;
    int r = want_cj ? userconv_import_text(want_cj, uo, line, info, e) : 0;

    if (r != 0)
        return r < 0 ? -1 : 0;
    if (userconv_to_import(want, uo, &rec, info, e) < 0)
        return -1;
    r = rec ? append_json(line, rec, e) : 0;
    json_decref(rec);
    return r;
}

int import_records_add(struct import_ctx *c, const struct import_record_user *u, char *skip_reason,
                       size_t skip_len, struct err *e)
{
    struct buf *line = &c->records_buf;
    size_t start = line->len;
    struct userconv_opts uo;
    struct userconv_info info;

    userconv_opts_init(&uo);
    uo.password_hash = u->is_new ? c->password_hash : NULL;
    memset(&info, 0, sizeof(info));
    if (buf_appendf(line, e, "%s\t%s\t%s\t", u->tconn, u->uid, u->email ? u->email : "") < 0 ||
        append_json(line, u->grants, e) < 0 || buf_append(line, "\t", 1, e) < 0 ||
        append_record(line, u->want, u->want_cj, &uo, &info, e) < 0)
        goto fail;
    if (info.skipped) {
        line->len = start;
        line->data[start] = '\0';
        snprintf(skip_reason, skip_len, "cannot be bulk-imported: %s", info.reason);
        return 1;
    }
    if (buf_append(line, "\n", 1, e) < 0)
        goto fail;
    return line->len >= RECORDS_FLUSH ? import_records_flush(c, e) : 0;
fail:
    line->len = start;
    if (line->data)
        line->data[start] = '\0';
    return -1;
}

int import_records_flush(struct import_ctx *c, struct err *e)
{
    struct buf *line = &c->records_buf;

    if (line->len == 0)
        return 0;
    if (fsutil_write_all(c->records_fd, line->data, line->len, "import records (temp file)", e) < 0)
        return -1;
    buf_reset(line);
    return 0;
}
