/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the multipart/form-data parser and the base64 decoder of the attachment upload
 * (src/http/multipart.c), which read only client bytes. The first line of the input is the
 * Content-Type header, the rest the body. Checks: no out-of-bounds access (ASan), every part
 * lies inside the body, in order and without overlap, within its size limit; names are
 * NUL-terminated and non-empty; base64 output never exceeds its bound and decoding the
 * re-encoded output gives it back.
 */
#include "../../src/http/multipart.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_base64(const char *in, size_t n)
{
    unsigned char *out = NULL;
    size_t len = 0;
    if (sb__base64_decode(in, n, 4096, &out, &len, NULL) != 0)
        return;
    if (len > 4096 || len > n / 4 * 3 + 3)
        abort();
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *enc = malloc(len / 3 * 4 + 8);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)out[i] << 16 | (i + 1 < len ? (uint32_t)out[i + 1] << 8 : 0) |
                     (i + 2 < len ? out[i + 2] : 0);
        enc[o++] = tab[v >> 18 & 63];
        enc[o++] = tab[v >> 12 & 63];
        enc[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        enc[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    unsigned char *back = NULL;
    size_t blen = 0;
    if (sb__base64_decode(enc, o, 4096, &back, &blen, NULL) != 0 || blen != len ||
        memcmp(back, out, len) != 0)
        abort();
    free(back);
    free(enc);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t hl = nl ? (size_t)(nl - s) : size;
    char ct[256];
    if (hl >= sizeof(ct))
        hl = sizeof(ct) - 1;
    memcpy(ct, s, hl);
    ct[hl] = '\0';
    const char *body = nl ? nl + 1 : s + size;
    size_t n = size - (size_t)(body - s);
    check_base64(body, n);
    char boundary[SB_MP_MAX_BOUNDARY + 1];
    if (sb__mp_boundary(ct, boundary, sizeof(boundary), NULL) != 0)
        return 0;
    struct sb_mp_part parts[8];
    size_t np = 0;
    struct sb_mp_limits lim = {.max_parts = 8, .max_file_bytes = 1000, .max_field_bytes = 100};
    /* the body in its own allocation, so that ASan sees a read past its end */
    char *copy = malloc(n ? n : 1);
    memcpy(copy, body, n);
    if (sb__mp_parse(copy, n, boundary, &lim, parts, 8, &np, NULL) == 0) {
        const char *prev_end = copy;
        if (np == 0 || np > 8)
            abort();
        for (size_t i = 0; i < np; i++) {
            const struct sb_mp_part *p = &parts[i];
            if (p->data < prev_end || p->data + p->len > copy + n)
                abort();
            if (p->len > (p->has_filename ? 1000u : 100u))
                abort();
            if (!p->name[0] || strlen(p->name) > SB_MP_NAME_MAX ||
                strlen(p->filename) > SB_MP_FILENAME_MAX)
                abort();
            prev_end = p->data + p->len;
        }
    }
    free(copy);
    return 0;
}
