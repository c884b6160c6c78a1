/*
 * snapshots_diff.c - `a0snap-snapshots diff OLD NEW`: exactly
 * `a0snap-import --diff OLD NEW` (import_diff() in the a0snap_import
 * library, same output, same --json document), with the identity this
 * program was given for encrypted snapshots.
 */
#include "snapshots.h"

#include "import.h"

#include <string.h>

int snapshots_diff(const struct snapshots_opts *o, const struct snapshots_keys *k, struct err *e)
{
    struct import_opts io;

    memset(&io, 0, sizeof(io));
    io.mode = MODE_DIFF;
    io.snapshot = o->args[0];
    io.snapshot2 = o->args[1];
    io.json = o->json;
    io.keys = &k->sk;
    io.trusted = k->trusted;
    return import_diff(&io, e);
}
