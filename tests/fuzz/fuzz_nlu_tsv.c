/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the `text<TAB>label` TSV parser must never crash, leak or accept rows that
 * break its own invariants (non-empty text and label without TABs, bounded lengths). */
#include "sb/nlu.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sb_nlu_dataset *ds = NULL;
    struct sb_error err = {0};
    if (sb_nlu_tsv_parse((const char *)data, size, "fuzz.tsv", &ds, &err) == 0) {
        for (size_t i = 0; i < ds->n; i++) {
            size_t tl = strlen(ds->text[i]), ll = strlen(ds->label[i]);
            if (!tl || !ll || ll > SB_NLU_LABEL_MAX || tl > SB_NLU_TEXT_MAX ||
                strchr(ds->text[i], '\t') || strchr(ds->label[i], '\t') || ds->line[i] < 2)
                abort();
        }
        sb_nlu_dataset_free(ds);
    } else if (ds || err.code == 0 || !err.msg[0]) {
        abort();
    }
    return 0;
}
