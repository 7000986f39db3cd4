/* SPDX-License-Identifier: MIT */
/* Fuzz target: the spoken-digit model loader (SB_DIGITS_MODEL may name any file). */
#include "../../src/media/media_internal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sb__digits_model m = {0};
    struct sb_error err = {0};
    if (sb__digits_model_load(data, size, &m, &err) == 0) {
        if (m.n == 0 || m.k < 1)
            abort();
        sb__digits_model_free(&m);
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}
