/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the knowledge-base jsonl importer (sb_kb_parse). Whatever the bytes, parsing
 * must not crash or leak; what parses is indexed in a memory-only KB and searched with a slice
 * of the same bytes, so the analyser and the index see the parsed text too.
 */
#include "sb/kb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run("fuzz.jsonl", data, size);
    return 0;
}
