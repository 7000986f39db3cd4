/* SPDX-License-Identifier: MIT */
/*
 * Shared set-up of the KB tests that need the demo shop's knowledge base: opens a KB (in `dir`,
 * or in memory for NULL) and imports every file of demo/kb into tenant 1. Header-only (static
 * inline), included after <cmocka.h>; a failure ends the current test.
 */
#ifndef SB_TESTS_KB_FIXTURE_H
#define SB_TESTS_KB_FIXTURE_H

#include "../../src/kb/kb_internal.h"
#include "sb/kb.h"
#include "sb/mem.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

static inline struct sb_kb *kb_fixture_demo(const char *dir)
{
    static const char *const files[] = {"catalogue.csv", "faq.jsonl", "payment.html",
                                        "returns.md",    "shipping.md", "warranty.md"};
    enum { N = sizeof(files) / sizeof(files[0]) };
    char *paths[N];
    for (int i = 0; i < N; i++)
        paths[i] = sb_strdupf("%s/demo/kb/%s", SB_SOURCE_DIR, files[i]);
    struct sb_kb *kb = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_kb_open(dir, &kb, &err), 0);
    assert_int_equal(sb_kb_import_files(kb, 1, (const char *const *)paths, N, NULL, &err), 0);
    for (int i = 0; i < N; i++)
        free(paths[i]);
    return kb;
}

/* A KB (in `dir`, or in memory) with the sentence encoder, or NULL (said) when the encoder is
 * not installed (scripts/deps.sh installs it): the caller skips. */
static inline struct sb_kb *kb_fixture_open_encoded(const char *dir)
{
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    if (!sb__kb_encoder(kb)) {
        sb_kb_close(kb);
        print_message("sentence encoder not installed (scripts/deps.sh): skipped\n");
        return NULL;
    }
    return kb;
}

/* Runs `sql` on dir/kb.db (a KB closed meanwhile): simulates older files and edits. */
static inline void kb_fixture_sql(const char *dir, const char *sql)
{
    char path[512];
    snprintf(path, sizeof path, "%s/kb.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

#endif
