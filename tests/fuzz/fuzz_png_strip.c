/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: metadata stripping of uploaded images (src/media/strip.c), which walks client
 * bytes. The first input byte picks the format (PNG, JPEG, WebP); the rest is the file, given
 * the format's signature when it lacks one so that the walk is reached. Checks: no
 * out-of-bounds access, the output never grows, is idempotent (nothing is left to drop), and
 * for PNG is a chain of chunks with valid CRCs of only the kept types.
 */
#include "sb/media_strip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const mimes[] = {"image/png", "image/jpeg", "image/webp"};

static void check_png(const unsigned char *b, size_t n)
{
    size_t i = 8;
    while (i < n) {
        if (n - i < 12)
            abort();
        uint32_t len = (uint32_t)b[i] << 24 | (uint32_t)b[i + 1] << 16 | (uint32_t)b[i + 2] << 8 |
                       b[i + 3];
        if (len > n - i - 12)
            abort();
        const unsigned char *c = b + i + 8 + len;
        uint32_t crc = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
        if (sb_media_crc32(0, b + i + 4, 4 + len) != crc)
            abort();
        if (!memcmp(b + i + 4, "tEXt", 4) || !memcmp(b + i + 4, "eXIf", 4) ||
            !memcmp(b + i + 4, "iTXt", 4) || !memcmp(b + i + 4, "zTXt", 4) ||
            !memcmp(b + i + 4, "tIME", 4))
            abort();
        i += 12 + len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int fmt = data[0] % 3;
    static const unsigned char sig_png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    size_t n = size - 1;
    unsigned char *in = malloc(n + 12);
    memcpy(in, data + 1, n);
    if (fmt == 0 && (n < 8 || memcmp(in, sig_png, 8))) {
        memmove(in + 8, in, n);
        memcpy(in, sig_png, 8);
        n += 8;
    } else if (fmt == 1 && (n < 2 || in[0] != 0xFF || in[1] != 0xD8)) {
        memmove(in + 2, in, n);
        in[0] = 0xFF;
        in[1] = 0xD8;
        n += 2;
    } else if (fmt == 2 && (n < 12 || memcmp(in, "RIFF", 4) || memcmp(in + 8, "WEBP", 4))) {
        memmove(in + 12, in, n);
        memcpy(in, "RIFF", 4);
        in[4] = (unsigned char)n;
        in[5] = (unsigned char)(n >> 8);
        in[6] = in[7] = 0;
        memcpy(in + 8, "WEBP", 4);
        n += 12;
    }
    unsigned char *out = malloc(n), *again = malloc(n);
    size_t m = 0, m2 = 0;
    struct sb_strip_report rep;
    if (sb_media_strip(mimes[fmt], in, n, out, &m, &rep, NULL) == 0) {
        if (m > n)
            abort();
        if (fmt == 0)
            check_png(out, m);
        if (sb_media_strip(mimes[fmt], out, m, again, &m2, &rep, NULL) != 0 || m2 != m ||
            memcmp(again, out, m) != 0 || rep.removed != 0)
            abort();
    }
    free(again);
    free(out);
    free(in);
    return 0;
}
