/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the JPEG segment walk that drops APP1 (EXIF/XMP) segments from uploaded images
 * before they are stored (src/http/api_attachments.c). It reads only client bytes, so it must
 * never read or write out of bounds, must never grow the file, must keep the start-of-image
 * marker, and its output must itself be walkable with nothing left to drop.
 */
#include "../../src/http/api.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *out = malloc(size ? size : 1);
    if (!out)
        return 0;
    size_t n = sb__jpeg_strip_app1(data, size, out);
    if (n) {
        if (n > size || out[0] != 0xFF || out[1] != 0xD8)
            abort();
        unsigned char *again = malloc(n);
        if (!again)
            abort();
        size_t m = sb__jpeg_strip_app1(out, n, again);
        if (m != n || memcmp(again, out, n) != 0)
            abort(); /* idempotent: no APP1 is left */
        free(again);
    }
    free(out);
    return 0;
}
