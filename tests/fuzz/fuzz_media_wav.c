/* SPDX-License-Identifier: MIT */
/* Fuzz target: our WAV parser (voice notes from customers) and the resampler behind it. */
#include "sb/media.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sb_audio a = {0}, r = {0};
    struct sb_error err = {0};
    int rc = sb_media_wav_parse(data, size, 1u << 20, 5, &a, &err);
    if (rc == 0) {
        if (!a.samples || a.n == 0 || a.rate < 4000 || a.rate > 96000)
            abort(); /* success means usable audio */
        /* keep the resampling work bounded: the parser already limits the length */
        if (sb_media_resample(&a, 16000, &r) != 0 || !r.samples)
            abort();
        sb_audio_cleanup(&r);
        sb_audio_cleanup(&a);
    } else if (!err.msg[0] || err.code != rc) {
        abort(); /* every failure explains itself */
    }
    return 0;
}
