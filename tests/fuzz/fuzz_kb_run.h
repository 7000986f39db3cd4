/* SPDX-License-Identifier: MIT */
/*
 * Shared by the knowledge-base importer fuzz targets: parse the bytes as file `name`; whatever
 * parses is indexed in a memory-only KB and answered with a slice of the same bytes, so that
 * the analyser and the index see the parsed text too. Must never crash or leak.
 */
#ifndef SB_FUZZ_KB_RUN_H
#define SB_FUZZ_KB_RUN_H

#include "sb/kb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void run(const char *name, const uint8_t *data, size_t size)
{
    struct sb_kb_doc *docs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    if (sb_kb_parse(name, (const char *)data, size, &docs, &n, &err) == 0 && n) {
        struct sb_kb *kb = NULL;
        if (sb_kb_open(NULL, &kb, NULL) == 0) {
            if (sb_kb_put(kb, 1, docs, n, NULL) == 0) {
                char q[64];
                size_t m = size < sizeof(q) - 1 ? size : sizeof(q) - 1;
                memcpy(q, data, m);
                q[m] = '\0';
                struct sb_kb_answer *a = NULL;
                if (sb_kb_answer(kb, 1, q, NULL, &a, NULL) == 0)
                    sb_kb_answer_free(a);
                sb_kb_delete(kb, 1, docs[0].id, NULL);
            }
            sb_kb_close(kb);
        }
    }
    sb_kb_doc_list_free(docs, n);
}

#endif
