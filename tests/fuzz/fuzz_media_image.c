/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the image path we own in front of OCR: type sniffing, the header check with its
 * pixel limit, decoding through leptonica and conversion to grey, then pre-processing.
 */
#include "sb/media.h"

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
        sb_image_cleanup(&img);
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}
