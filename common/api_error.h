/*
 * api_error.h - turning an Auth0 error answer into one clear line.
 *
 * Management API errors look like {"statusCode","error","message",
 * "errorCode"}; Authentication API errors like {"error",
 * "error_description"}; proxies answer with HTML. All become
 *   "GET /users: HTTP 403 Forbidden: Insufficient scope, expected any of:
 *    read:users (insufficient_scope); grant the scope to the application ..."
 * Query strings are left out of messages: they can hold emails.
 * Pure: no I/O.
 */
#ifndef A0SNAP_API_ERROR_H
#define A0SNAP_API_ERROR_H

#include <stddef.h>

#include "err.h"

/* Fills e (code chosen from the status, e->http_status = status) and
 * returns -1. body may be NULL or not JSON. */
int api_error_set(struct err *e, const char *method, const char *path, long status,
                  const char *body, size_t len);

/* The reason phrase for a status ("Too Many Requests"), or "". */
const char *api_status_text(long status);

#endif
