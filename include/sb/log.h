/* SPDX-License-Identifier: MIT */
/*
 * Structured logging: one line per record, as text or as JSON, to stderr. SB_LOG checks
 * the level before any argument is formatted, so disabled DEBUG records cost a compare.
 * Customer message text and PII are logged only at DEBUG. Thread-safe.
 */
#ifndef SB_LOG_H
#define SB_LOG_H

enum sb_log_level { SB_LOG_DEBUG = 0, SB_LOG_INFO, SB_LOG_WARN, SB_LOG_ERROR, SB_LOG_OFF };

extern int sb_log_min_level;

/* Sets the threshold and the format (`json` non-zero for JSON lines). */
void sb_log_configure(enum sb_log_level level, int json);

/* Parses "debug", "info", "warn", "error" or "off"; returns -1 for anything else. */
int sb_log_level_parse(const char *name);

void sb_log_write(enum sb_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SB_LOG(level, component, ...)                     \
    do {                                                  \
        if ((int)(level) >= sb_log_min_level)             \
            sb_log_write((level), (component), __VA_ARGS__); \
    } while (0)

#endif
