/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the sentence encoder's tokenizer and forward pass (src/embed) on arbitrary
 * bytes as text. Tokenising must succeed for valid UTF-8 with ids inside the vocabulary, or fail
 * with SB_EINVAL / SB_ETOOBIG and a message; short texts are also embedded, and the vector must
 * be finite and of unit length. Does nothing when the model is not installed. */
#include "sb/embed.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sb_embed_model *model;
static int tried;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tried) {
        tried = 1;
        struct sb_error err = {0};
        if (sb_embed_load(NULL, &model, &err) < 0 && err.code != SB_ENOTFOUND)
            abort(); /* installed but unreadable */
    }
    if (!model || size > (1u << 16))
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static int32_t ids[1u << 16];
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_embed_tokenize(model, text, ids, sizeof ids / sizeof ids[0], &n, &err);
    if (rc == 0) {
        for (size_t i = 0; i < n && i < sizeof ids / sizeof ids[0]; i++)
            if (ids[i] < 0 || ids[i] >= 8002)
                abort();
        if (size <= 256) {
            float e[SB_EMBED_DIM];
            if (sb_embed_text(model, text, e, &err) != 0)
                abort();
            float s = 0;
            for (int i = 0; i < SB_EMBED_DIM; i++) {
                if (!isfinite(e[i]))
                    abort();
                s += e[i] * e[i];
            }
            if (fabsf(s - 1.0f) > 1e-3f)
                abort();
        }
    } else if ((rc != SB_EINVAL && rc != SB_ETOOBIG) || !err.msg[0]) {
        abort();
    }
    free(text);
    return 0;
}
