/* SPDX-License-Identifier: MIT */
/* Error code names, messages and HTTP statuses, all generated from SB_ERR_MAP. */
#include "sb/error.h"

#include <stdio.h>
#include <string.h>

const char *sb_strerror(int code)
{
    switch (code) {
    case SB_OK:
        return "success";
#define XX(name, value, status, msg) \
    case SB_##name:                  \
        return msg;
        SB_ERR_MAP(XX)
#undef XX
    }
    return "unknown error";
}

const char *sb_err_name(int code)
{
    switch (code) {
    case SB_OK:
        return "ok";
#define XX(name, value, status, msg) \
    case SB_##name:                  \
        return #name;
        SB_ERR_MAP(XX)
#undef XX
    }
    return "EUNKNOWN";
}

int sb_err_http_status(int code)
{
    switch (code) {
    case SB_OK:
        return 200;
#define XX(name, value, status, msg) \
    case SB_##name:                  \
        return status;
        SB_ERR_MAP(XX)
#undef XX
    }
    return 500;
}

int sb_error_set(struct sb_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void sb_error_clear(struct sb_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
