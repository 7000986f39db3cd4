/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the model-file loader (versions 1 and 2, every ensemble member kind) must
 * never crash, leak or over-read on a damaged file. The input's last 4 bytes are replaced by
 * its CRC-32 first, so that mutations reach the parser behind the checksum; a model that loads
 * must classify a text without fault. */
#include "sb/nlu.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (size >= 8) {
        uint32_t c = crc32_of(buf, size - 4);
        for (int i = 0; i < 4; i++)
            buf[size - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
    }
    char path[] = "/tmp/sb_fuzz_nlu_modelXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        free(buf);
        return 0;
    }
    FILE *f = fdopen(fd, "wb");
    if (f) {
        fwrite(buf, 1, size, f);
        fclose(f);
    } else {
        close(fd);
    }
    free(buf);
    struct sb_nlu_model *m = NULL;
    struct sb_error err = {0};
    if (sb_nlu_model_load(path, 0, &m, &err) == 0) {
        struct sb_nlu_result r;
        if (sb_nlu_classify(m, "where is my parcel 我的快递", 31, -1, &r) != 0 || !r.label)
            abort();
        sb_nlu_model_free(m);
    } else if (m || err.code == 0 || !err.msg[0]) {
        abort();
    }
    unlink(path);
    return 0;
}
