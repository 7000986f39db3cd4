/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the image path we own in front of OCR: type sniffing, the header check with its
 * pixel limit, decoding through leptonica and conversion to grey, then pre-processing (the
 * character-height estimate and the upscaling it drives) on small decoded images.
 */
#include "../../src/media/media_internal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char mime[64];
    sb_media_sniff(data, size, mime, sizeof mime);
    struct sb_image img = {0};
    struct sb_error err = {0};
    int rc = sb_media_image_decode(data, size, 1u << 20, 1u << 20, &img, &err);
    if (rc == 0) {
        if (!img.px || img.width <= 0 || img.height <= 0 ||
            (uint64_t)img.width * (uint64_t)img.height > (1u << 20))
            abort(); /* the pixel limit must hold */
        if ((uint64_t)img.width * (uint64_t)img.height <= 65536) {
            int th = sb__media_text_height(&img);
            if (th < 0 || th > img.height)
                abort();
            struct sb_image out = {0};
            double scale = 0;
            if (sb__media_preprocess(&img, SB_OCR_PRE_UPSCALE, &out, &scale) == 0) {
                if (scale < 1.0 || scale > 3.01 || !out.px || out.width < img.width ||
                    out.height < img.height)
                    abort(); /* upscaling never shrinks, never goes past 3x */
                sb_image_cleanup(&out);
            }
        }
        sb_image_cleanup(&img);
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}
