/* SPDX-License-Identifier: MIT */
/*
 * Shared set-up of the store contract tests (test_store_*.c): open and migrate a store, either
 * the one SB_TEST_STORE names (when the test allows a shared store) or a fresh SQLite file in
 * its own temporary directory; close it and remove that directory; make tenants with slugs
 * unique across the process and its runs. Header-only (static inline), included by each test
 * after <cmocka.h> and "sb/store.h"; failures end the current test with fail_msg().
 */
#ifndef SB_TESTS_STORE_FIXTURE_H
#define SB_TESTS_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct store_paths {
    char dir[256];      /* the temporary directory; "" for a shared store */
    char path[512];     /* the SQLite file in dir; "" for a shared store */
    char location[600]; /* what sb_store_open was given */
};

/* Opens and migrates the test store: SB_TEST_STORE when shared_ok and it is set, otherwise
 * sqlite:/tmp/sb-test-<name>-XXXXXX/test.db (a new directory). Fills *p; returns the store,
 * which store_fixture_close releases. */
static inline struct sb_store *store_fixture_open(struct store_paths *p, const char *name,
                                                  int shared_ok)
{
    const char *shared = shared_ok ? getenv("SB_TEST_STORE") : NULL;
    if (shared && *shared) {
        snprintf(p->location, sizeof(p->location), "%s", shared);
    } else {
        snprintf(p->dir, sizeof(p->dir), "/tmp/sb-test-%s-XXXXXX", name);
        if (!mkdtemp(p->dir))
            fail_msg("mkdtemp failed");
        snprintf(p->path, sizeof(p->path), "%s/test.db", p->dir);
        snprintf(p->location, sizeof(p->location), "sqlite:%s", p->path);
    }
    struct sb_store *st = NULL;
    struct sb_error err = {0};
    if (sb_store_open(&st, p->location, &err) || sb_store_migrate(st, NULL, NULL, &err))
        fail_msg("open: %s", err.msg);
    return st;
}

/* Closes st (may be NULL if sb_store_close allows it) and removes the temporary directory. */
static inline void store_fixture_close(struct sb_store *st, const struct store_paths *p)
{
    sb_store_close(st);
    if (p->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", p->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", p->dir);
    }
}

/* Creates a tenant named "T" with the slug <prefix>-<pid>-<n>; returns its id. */
static inline sb_id store_fixture_tenant(struct sb_store *st, const char *prefix)
{
    static int counter;
    char slug[64];
    snprintf(slug, sizeof(slug), "%s-%d-%d", prefix, (int)getpid(), ++counter);
    sb_id id = 0;
    struct sb_error err = {0};
    if (sb_store_tenant_create(st, slug, "T", &id, &err))
        fail_msg("tenant: %s", err.msg);
    return id;
}

#endif
