/* SPDX-License-Identifier: MIT */
/*
 * The daemon's configuration: one typed table of settings with defaults, bounds and help.
 * Values come, in rising precedence, from the defaults, a config file (`name = value` lines,
 * `#` comments), SB_<NAME> environment variables (upper case) and command-line flags
 * (`--name value` or `--name=value`, dashes or underscores). conf/switchboard.conf.sample is
 * generated from the table (sb_config_write_sample) and a test checks it has not drifted.
 */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include "sb/error.h"

#include <stdint.h>
#include <stdio.h>

enum sb_config_type { SB_CONF_INT, SB_CONF_BOOL, SB_CONF_STRING };

struct sb_config_entry {
    const char *name;
    enum sb_config_type type;
    const char *def; /* default, as text */
    int64_t min, max; /* bounds for SB_CONF_INT */
    int reloadable;   /* 1: may change without restart */
    const char *help;
};

/* The settings; sb_config_get_* take these names. */
extern const struct sb_config_entry sb_config_table[];
extern const int sb_config_table_len;

struct sb_config; /* opaque: one value per table entry */

/* A configuration holding the defaults. Free with sb_config_free(). */
struct sb_config *sb_config_new(void);
void sb_config_free(struct sb_config *c);

/* Sets `name` from text, checking type and bounds; `origin` ("file:3", "env", "flag") is
 * used in the error message. Unknown name → SB_ECONFIG naming it. */
int sb_config_set(struct sb_config *c, const char *name, const char *value, const char *origin,
                  struct sb_error *err);
/* Reads a config file; errors name the file and line. */
int sb_config_load_file(struct sb_config *c, const char *path, struct sb_error *err);
/* The same from an open stream; `path` names it in errors. */
int sb_config_load_stream(struct sb_config *c, FILE *f, const char *path, struct sb_error *err);
/* Applies SB_<NAME> variables from the environment. */
int sb_config_load_env(struct sb_config *c, struct sb_error *err);
/*
 * Applies `--name value` flags from argv (argv[0] is skipped). A `--config FILE` flag is
 * looked for first and loaded before the environment, so that precedence holds:
 * defaults < file < environment < flags. `--help` is not handled here.
 */
int sb_config_load_all(struct sb_config *c, int argc, char **argv, struct sb_error *err);

/* Values. The name must be in the table (abort otherwise: a programming error). Strings are
 * borrowed; valid until the value is set again or the config is freed. */
int64_t sb_config_int(const struct sb_config *c, const char *name);
int sb_config_bool(const struct sb_config *c, const char *name);
const char *sb_config_str(const struct sb_config *c, const char *name);

/* Writes the sample config file (every setting, its default and help) to `out`. */
void sb_config_write_sample(FILE *out);
/* Writes flag help for `switchboard serve --help`. */
void sb_config_write_help(FILE *out);

#endif
