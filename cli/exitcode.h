/*
 * exitcode.h - the documented exit codes of both programs, and the mapping
 * from an error class to one. README.md lists them; keep the two in step.
 */
#ifndef A0SNAP_EXITCODE_H
#define A0SNAP_EXITCODE_H

#include "err.h"

enum exit_code {
    EXIT_OK = 0,
    EXIT_FAILURE_GENERIC = 1, /* internal error */
    EXIT_USAGE = 2,           /* bad option or configuration */
    EXIT_SNAPSHOT = 3,        /* snapshot damaged, unknown version, or refused */
    EXIT_REFUSED = 4,         /* a safety rule refused (protected target, existing file...) */
    EXIT_API = 5,             /* the tenant or the network failed us */
    EXIT_AUTH = 6,            /* credentials refused or scopes missing */
    EXIT_IO = 7,              /* local file or disk */
    EXIT_PARTIAL = 8,         /* import finished but some users failed (see the report) */
};

static inline int exit_code_for(enum err_code code)
{
    switch (code) {
    case ERR_NONE:
        return EXIT_OK;
    case ERR_USAGE:
        return EXIT_USAGE;
    case ERR_SNAPSHOT:
        return EXIT_SNAPSHOT;
    case ERR_REFUSED:
        return EXIT_REFUSED;
    case ERR_NET:
    case ERR_API:
        return EXIT_API;
    case ERR_AUTH:
    case ERR_SCOPE:
        return EXIT_AUTH;
    case ERR_IO:
        return EXIT_IO;
    case ERR_PARTIAL:
        return EXIT_PARTIAL;
    case ERR_INTERNAL:
        return EXIT_FAILURE_GENERIC;
    }
    return EXIT_FAILURE_GENERIC;
}

#endif
