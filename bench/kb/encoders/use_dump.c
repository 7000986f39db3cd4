/* SPDX-License-Identifier: MIT */
/*
 * Bench only: the shipped encoder's vectors (src/embed, USE-lite; int8 by default,
 * SB_EMBED_PRECISION=float32 for the float path) for NUL-separated UTF-8 texts, written as
 * float32 rows of SB_EMBED_DIM, so that evaluate.js can score USE-lite the same way as any other
 * encoder (the reference row of README.md).
 *
 * build: gcc -O2 -std=c11 -Iinclude bench/kb/encoders/use_dump.c build-enc/libsb_embed.a \
 *          build-enc/libsb_nn.a build-enc/libsb_core.a -lutf8proc -ljansson -lsodium -lpthread -lm \
 *          -o /tmp/use_dump
 * usage: use_dump TEXTS.nul OUT.f32        (texts.js writes out/texts.nul)
 */
#include "sb/embed.h"
#include "sb/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_MAX (64L * 1024 * 1024)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: use_dump TEXTS.nul OUT.f32\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        perror(argv[1]);
        fclose(f);
        return 1;
    }
    long n = ftell(f);
    if (n < 0 || n > INPUT_MAX || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: unreadable or larger than %ld bytes\n", argv[1], INPUT_MAX);
        fclose(f);
        return 1;
    }
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: read failed\n", argv[1]);
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    buf[n] = '\0';

    struct sb_error err;
    memset(&err, 0, sizeof err);
    struct sb_embed_model *m = NULL;
    if (sb_embed_load(NULL, &m, &err) != 0) {
        fprintf(stderr, "sb_embed_load failed: %s\n", err.msg);
        free(buf);
        return 1;
    }
    FILE *o = fopen(argv[2], "wb");
    if (!o) {
        perror(argv[2]);
        sb_embed_free(m);
        free(buf);
        return 1;
    }
    float v[SB_EMBED_DIM];
    long count = 0;
    int rc = 0;
    for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
        if (sb_embed_text(m, p, v, &err) != 0) {
            fprintf(stderr, "text %ld: %s\n", count, err.msg);
            rc = 1;
            break;
        }
        if (fwrite(v, sizeof v, 1, o) != 1) {
            perror(argv[2]);
            rc = 1;
            break;
        }
        count++;
    }
    if (fclose(o) != 0)
        rc = 1;
    sb_embed_free(m);
    free(buf);
    fprintf(stderr, "%ld texts\n", count);
    return rc;
}
