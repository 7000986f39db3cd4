/* SPDX-License-Identifier: MIT */
/*
 * `switchboard migrate`: creates the store's schema or brings it up to date, then says which
 * version it was at and which it is at now. It reads the same configuration as `serve`
 * (defaults < --config file < SB_* environment < flags), of which only `data` (the data
 * directory, created with mode 0700 when missing) and `store` (a location; empty = SQLite in
 * the data directory) matter here.
 */
#include "sb/cli.h"
#include "sb/config.h"
#include "sb/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: switchboard migrate [--data DIR] [--store LOCATION] [--config FILE]\n"
            "\n"
            "Creates or upgrades the store schema and prints \"schema at version N (was M)\".\n"
            "  --data DIR         data directory (default ./data, created if missing)\n"
            "  --store LOCATION   sqlite:PATH, a database file, or a directory holding\n"
            "                     switchboard.db (default: the data directory)\n");
}

int sb_cmd_migrate(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    struct sb_error err = {0};
    struct sb_config *cfg = sb_config_new();
    struct sb_store *st = NULL;
    int status = 1;
    if (sb_config_load_all(cfg, argc, argv, &err)) {
        fprintf(stderr, "switchboard migrate: %s\n\n", err.msg);
        usage(stderr);
        status = 2;
        goto out;
    }
    const char *data = sb_config_str(cfg, "data");
    const char *loc = sb_config_str(cfg, "store");
    if (!*loc && mkdir(data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "switchboard migrate: cannot create data directory %s: %s\n", data,
                strerror(errno));
        goto out;
    }
    if (sb_store_open(&st, *loc ? loc : data, &err)) {
        fprintf(stderr, "switchboard migrate: %s\n", err.msg);
        goto out;
    }
    int from = 0, to = 0;
    if (sb_store_migrate(st, &from, &to, &err)) {
        fprintf(stderr, "switchboard migrate: %s\n", err.msg);
        goto out;
    }
    printf("schema at version %d (was %d)\n", to, from);
    status = 0;
out:
    sb_store_close(st);
    sb_config_free(cfg);
    return status;
}
