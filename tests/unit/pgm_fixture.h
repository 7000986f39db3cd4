/* SPDX-License-Identifier: MIT */
/*
 * Reads the binary PGM fixtures (P5, maxval 255) that the nn and OCR tests share, such as
 * tests/fixtures/nn/line.pgm. Header-only (static inline). NULL when the file is missing or not
 * such a PGM; the caller frees the pixels.
 */
#ifndef SB_TESTS_PGM_FIXTURE_H
#define SB_TESTS_PGM_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

static inline unsigned char *pgm_fixture_read(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    int maxv;
    if (fscanf(f, "P5 %d %d %d", w, h, &maxv) != 3 || *w <= 0 || *h <= 0 || maxv != 255 ||
        fgetc(f) == EOF) {
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)*w * (size_t)*h;
    unsigned char *p = malloc(n);
    if (p && fread(p, 1, n, f) != n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

#endif
