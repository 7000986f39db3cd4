/* SPDX-License-Identifier: MIT */
/* libFuzzer target: entity extraction, redaction, tokenisation and language id on arbitrary
 * bytes. Spans must be ordered, non-overlapping and inside the input. */
#include "sb/nlu.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    const char *pats[] = {"SO-#{6,8}", "A{2}*{4,10}"};
    struct sb_nlu_entity_opts o = {.order_patterns = pats, .n_order_patterns = 2,
                                   .now_ms = 1700000000000LL};
    struct sb_nlu_span *sp = NULL;
    size_t n = 0;
    if (sb_nlu_entities(t, size, &o, &sp, &n) == 0) {
        size_t last = 0;
        for (size_t i = 0; i < n; i++) {
            if (sp[i].start < last || sp[i].end <= sp[i].start || sp[i].end > size)
                abort();
            last = sp[i].end;
        }
        free(sp);
    }
    char *masked = NULL;
    if (sb_nlu_redact(t, size, &o, SB_NLU_PII_MASK, &masked, NULL, NULL) == 0)
        free(masked);
    size_t nt;
    free(sb_nlu_tokens(t, size, &nt));
    (void)sb_nlu_langid(t, size);
    return 0;
}
