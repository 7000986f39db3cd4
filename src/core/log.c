/* SPDX-License-Identifier: MIT */
/* Text or JSON log lines on stderr, one write(2) per record so lines never interleave. */
#include "sb/log.h"

#include "sb/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int sb_log_min_level = SB_LOG_INFO;
static int log_json;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void sb_log_configure(enum sb_log_level level, int json)
{
    sb_log_min_level = (int)level;
    log_json = json;
}

int sb_log_level_parse(const char *name)
{
    for (int i = 0; i <= SB_LOG_OFF; i++)
        if (name && strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static void append_json_string(struct sb_buf *b, const char *s)
{
    sb_buf_appends(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_buf_appendf(b, "\\%c", c);
        else if (c < 0x20)
            sb_buf_appendf(b, "\\u%04x", c);
        else
            sb_buf_append(b, s, 1);
    }
    sb_buf_appends(b, "\"");
}

void sb_log_write(enum sb_log_level level, const char *component, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    struct sb_buf b;
    sb_buf_init(&b, 0);
    if (log_json) {
        sb_buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", when,
                       level_names[level]);
        append_json_string(&b, component);
        sb_buf_appends(&b, ",\"msg\":");
        append_json_string(&b, msg);
        sb_buf_appends(&b, "}\n");
    } else {
        sb_buf_appendf(&b, "%s %-5s [%s] %s\n", when, level_names[level], component, msg);
    }
    ssize_t w = write(STDERR_FILENO, b.data, b.len);
    (void)w;
    sb_buf_cleanup(&b);
}
