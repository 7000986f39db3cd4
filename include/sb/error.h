/* SPDX-License-Identifier: MIT */
/*
 * Error codes shared by every module. 0 is success and every failure is a negative
 * SB_E* code. The codes, their stable names (for API clients) and their messages are
 * generated from one X-macro so they cannot drift. Functions whose failures need an
 * explanation (parsers, storage, config, models) also take a `struct sb_error *` that
 * receives the code and a message naming the field or line at fault.
 */
#ifndef SB_ERROR_H
#define SB_ERROR_H

#include <stdarg.h>

/* XX(name, value, http status, message) */
#define SB_ERR_MAP(XX)                                                        \
    XX(EINVAL, -1, 400, "invalid argument")                                   \
    XX(ENOMEM, -2, 500, "out of memory")                                      \
    XX(ENOTFOUND, -3, 404, "not found")                                       \
    XX(EEXIST, -4, 409, "already exists")                                     \
    XX(ETOOBIG, -5, 413, "too large")                                         \
    XX(EIO, -6, 500, "input/output error")                                    \
    XX(ESTORE, -7, 500, "storage error")                                      \
    XX(EPARSE, -8, 400, "parse error")                                        \
    XX(EAUTH, -9, 401, "authentication required")                             \
    XX(EFORBIDDEN, -10, 403, "forbidden")                                     \
    XX(ERATE, -11, 429, "rate limited")                                       \
    XX(EBUSY, -12, 503, "busy")                                               \
    XX(ETIMEDOUT, -13, 504, "timed out")                                      \
    XX(ECONFIG, -14, 500, "configuration error")                              \
    XX(EUNSUPPORTED, -15, 501, "not supported")                               \
    XX(ESTATE, -16, 409, "invalid state")                                     \
    XX(EINTERNAL, -17, 500, "internal error")                                 \
    XX(EMETHOD, -18, 405, "method not allowed")

enum sb_err {
    SB_OK = 0,
#define XX(name, value, status, msg) SB_##name = (value),
    SB_ERR_MAP(XX)
#undef XX
};

#define SB_ERROR_MSG_MAX 256

/* A failure with its explanation. Zero-initialise before use; `code` 0 means no error. */
struct sb_error {
    int code;
    char msg[SB_ERROR_MSG_MAX];
};

/* The message of `code` ("invalid argument"); "unknown error" for a code not in the map. */
const char *sb_strerror(int code);

/* The stable name of `code` for API clients ("EINVAL"), or "EUNKNOWN". */
const char *sb_err_name(int code);

/* The HTTP status that answers a failure with `code` (500 for unknown codes). */
int sb_err_http_status(int code);

/*
 * Records `code` and a printf-style message in `err` (which may be NULL) and returns `code`,
 * so that a failing function can `return sb_error_set(err, SB_EPARSE, "line %d: ...", n);`.
 */
int sb_error_set(struct sb_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets `err` (may be NULL) to "no error". */
void sb_error_clear(struct sb_error *err);

#endif
