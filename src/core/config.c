/* SPDX-License-Identifier: MIT */
/*
 * Loading and reading configuration values against sb_config_table (see sb/config.h).
 * Values are kept as text plus a parsed integer; the table decides how each is checked.
 */
#include "sb/config.h"

#include "sb/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 4096

struct value {
    char *text;
    int64_t num;
};

struct sb_config {
    struct value v[64];
};

static int find(const char *name)
{
    for (int i = 0; i < sb_config_table_len; i++)
        if (strcmp(sb_config_table[i].name, name) == 0)
            return i;
    return -1;
}

/* Accepts "max-body-bytes" and "max_body_bytes" alike. */
static void canonical_name(const char *in, size_t n, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++)
        out[j++] = in[i] == '-' ? '_' : (char)tolower((unsigned char)in[i]);
    out[j] = '\0';
}

static int parse_bool(const char *s, int64_t *out)
{
    if (!strcasecmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
        !strcasecmp(s, "on"))
        *out = 1;
    else if (!strcasecmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") ||
             !strcasecmp(s, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

int sb_config_set(struct sb_config *c, const char *name, const char *value, const char *origin,
                  struct sb_error *err)
{
    int i = find(name);
    if (i < 0)
        return sb_error_set(err, SB_ECONFIG, "%s: unknown setting '%s'", origin, name);
    const struct sb_config_entry *e = &sb_config_table[i];
    int64_t num = 0;
    if (e->type == SB_CONF_INT) {
        char *end;
        errno = 0;
        long long x = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            return sb_error_set(err, SB_ECONFIG, "%s: %s must be an integer, got '%s'", origin,
                                name, value);
        if (x < e->min || x > e->max)
            return sb_error_set(err, SB_ECONFIG, "%s: %s must be between %lld and %lld, got %lld",
                                origin, name, (long long)e->min, (long long)e->max, x);
        num = x;
    } else if (e->type == SB_CONF_BOOL) {
        if (parse_bool(value, &num))
            return sb_error_set(err, SB_ECONFIG, "%s: %s must be true or false, got '%s'",
                                origin, name, value);
    }
    free(c->v[i].text);
    c->v[i].text = sb_strdup(value);
    c->v[i].num = num;
    return 0;
}

struct sb_config *sb_config_new(void)
{
    struct sb_config *c = sb_calloc(1, sizeof(*c));
    if (sb_config_table_len > (int)(sizeof(c->v) / sizeof(c->v[0])))
        abort();
    for (int i = 0; i < sb_config_table_len; i++)
        if (sb_config_set(c, sb_config_table[i].name, sb_config_table[i].def, "default", NULL))
            abort(); /* a default outside its own bounds is a programming error */
    return c;
}

void sb_config_free(struct sb_config *c)
{
    if (!c)
        return;
    for (int i = 0; i < sb_config_table_len; i++)
        free(c->v[i].text);
    free(c);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int sb_config_load_file(struct sb_config *c, const char *path, struct sb_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sb_error_set(err, SB_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
    int rc = sb_config_load_stream(c, f, path, err);
    fclose(f);
    return rc;
}

int sb_config_load_stream(struct sb_config *c, FILE *f, const char *path, struct sb_error *err)
{
    char line[LINE_MAX_BYTES];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            rc = sb_error_set(err, SB_ECONFIG, "%s:%d: line longer than %d bytes", path, lineno,
                              LINE_MAX_BYTES - 2);
            goto out;
        }
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = sb_error_set(err, SB_ECONFIG, "%s:%d: expected 'name = value'", path, lineno);
            goto out;
        }
        *eq = '\0';
        char name[64], origin[300];
        char *key = trim(s);
        canonical_name(key, strlen(key), name, sizeof(name));
        snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
        rc = sb_config_set(c, name, trim(eq + 1), origin, err);
        if (rc)
            goto out;
    }
out:
    return rc;
}

int sb_config_load_env(struct sb_config *c, struct sb_error *err)
{
    for (int i = 0; i < sb_config_table_len; i++) {
        char var[80];
        size_t j = 0;
        const char *n = sb_config_table[i].name;
        j = (size_t)snprintf(var, sizeof(var), "SB_");
        for (; *n && j + 1 < sizeof(var); n++)
            var[j++] = (char)toupper((unsigned char)*n);
        var[j] = '\0';
        const char *v = getenv(var);
        if (v) {
            char origin[96];
            snprintf(origin, sizeof(origin), "environment %s", var);
            int rc = sb_config_set(c, sb_config_table[i].name, v, origin, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Calls fn(name, value) for each --flag in argv; a flag without '=' takes the next arg. */
static int each_flag(struct sb_config *c, int argc, char **argv, int only_config,
                     struct sb_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return sb_error_set(err, SB_ECONFIG, "unexpected argument '%s'", a);
        a += 2;
        const char *eq = strchr(a, '=');
        char name[64];
        canonical_name(a, eq ? (size_t)(eq - a) : strlen(a), name, sizeof(name));
        const char *value;
        if (eq) {
            value = eq + 1;
        } else {
            int is_bool = find(name) >= 0 && sb_config_table[find(name)].type == SB_CONF_BOOL;
            if (is_bool && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
                value = "true";
            } else {
                if (i + 1 >= argc)
                    return sb_error_set(err, SB_ECONFIG, "flag --%s needs a value", name);
                value = argv[++i];
            }
        }
        int is_config = strcmp(name, "config") == 0;
        if (is_config != only_config)
            continue;
        int rc = is_config ? sb_config_load_file(c, value, err)
                           : sb_config_set(c, name, value, "command line", err);
        if (rc)
            return rc;
    }
    return 0;
}

int sb_config_load_all(struct sb_config *c, int argc, char **argv, struct sb_error *err)
{
    int rc = each_flag(c, argc, argv, 1, err);
    if (!rc)
        rc = sb_config_load_env(c, err);
    if (!rc)
        rc = each_flag(c, argc, argv, 0, err);
    return rc;
}

static int must_find(const char *name)
{
    int i = find(name);
    if (i < 0) {
        fprintf(stderr, "switchboard: internal error: no setting '%s'\n", name);
        abort();
    }
    return i;
}

int64_t sb_config_int(const struct sb_config *c, const char *name)
{
    return c->v[must_find(name)].num;
}

int sb_config_bool(const struct sb_config *c, const char *name)
{
    return c->v[must_find(name)].num != 0;
}

const char *sb_config_str(const struct sb_config *c, const char *name)
{
    return c->v[must_find(name)].text;
}

void sb_config_write_sample(FILE *out)
{
    fprintf(out, "# Switchboard configuration (generated from the settings table; every line\n"
                 "# shows the default). Precedence: defaults < this file < SB_* environment\n"
                 "# variables < command-line flags.\n");
    for (int i = 0; i < sb_config_table_len; i++) {
        const struct sb_config_entry *e = &sb_config_table[i];
        fprintf(out, "\n# %s", e->help);
        if (e->type == SB_CONF_INT)
            fprintf(out, " [%lld..%lld]", (long long)e->min, (long long)e->max);
        fprintf(out, "%s\n# %s = %s\n", e->reloadable ? "" : " (restart to change)", e->name,
                e->def);
    }
}

void sb_config_write_help(FILE *out)
{
    for (int i = 0; i < sb_config_table_len; i++) {
        const struct sb_config_entry *e = &sb_config_table[i];
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s", e->name);
        for (char *p = flag; *p; p++)
            if (*p == '_')
                *p = '-';
        fprintf(out, "  %-24s %s (default: %s)\n", flag, e->help, *e->def ? e->def : "none");
    }
    fprintf(out, "  %-24s read settings from FILE (name = value lines)\n", "--config FILE");
}
