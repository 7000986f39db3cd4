/* SPDX-License-Identifier: MIT */
/*
 * Shared set-up of the KB tests that need the demo shop's knowledge base: opens a KB (in `dir`,
 * or in memory for NULL) and imports every file of demo/kb into tenant 1. Header-only (static
 * inline), included after <cmocka.h>; a failure ends the current test.
 */
#ifndef SB_TESTS_KB_FIXTURE_H
#define SB_TESTS_KB_FIXTURE_H

#include "sb/kb.h"
#include "sb/mem.h"

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

#endif
