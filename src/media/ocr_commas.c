/* SPDX-License-Identifier: MIT */
/*
 * Commas set tight against the next word. Receipt printers write "TAMPOI,81200" and
 * "BAHRU,JOHOR" without a space, and tesseract often ends a word at the comma anyway and puts a
 * space after it. Its word boxes do not tell the two cases apart (on the training receipts the
 * gap between the boxes is 0.42–0.47 text heights both with and without a printed space), but
 * the ink does: between the middle of the word with the comma and the middle of the next word,
 * the widest run of blank columns was at most 0.33 text heights where the transcript has no
 * space and at least 0.45 where it has one, but for 3 transcripts that disagree with their own
 * receipt (docs/media.md, seventh round). A comma whose widest blank run is under
 * SB__OCR_TIGHT_COMMA heights is joined to the next word.
 */
#include "media_internal.h"

#include <ctype.h>
#include <string.h>

#define MIN_CONTRAST 48 /* grey levels between paper and ink for the run to be measured */

/* The widest run of blank columns between the middles of boxes a and b (rows of both), with
 * ink as darker than midway between the region's darkest and lightest grey; -1 when the region
 * is empty or has no contrast. */
static int widest_blank_run(const struct sb_image *img, struct sb_box a, struct sb_box b)
{
    int x0 = a.x + a.w * 2 / 3, x1 = b.x + b.w / 3;
    int y0 = a.y < b.y ? a.y : b.y;
    int y1 = a.y + a.h > b.y + b.h ? a.y + a.h : b.y + b.h;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > img->width ? img->width : x1;
    y1 = y1 > img->height ? img->height : y1;
    if (x1 <= x0 || y1 <= y0)
        return -1;
    int lo = 255, hi = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            int v = img->px[(size_t)y * img->stride + (size_t)x];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    if (hi - lo < MIN_CONTRAST)
        return -1;
    int thr = (lo + hi) / 2, run = 0, best = 0;
    for (int x = x0; x < x1; x++) {
        int ink = 0;
        for (int y = y0; y < y1 && !ink; y++)
            ink = img->px[(size_t)y * img->stride + (size_t)x] < thr;
        run = ink ? 0 : run + 1;
        best = run > best ? run : best;
    }
    return best;
}

void sb__ocr_join_tight_commas(const struct sb_image *img, struct sb_ocr_page *page)
{
    for (size_t i = 0; i < page->n_lines; i++) {
        struct sb_ocr_line *l = &page->lines[i];
        if (l->n_words < 2)
            continue;
        int h, joined = 0;
        sb__ocr_text_band(l, 0, l->n_words, &h, NULL);
        for (size_t j = 0; j + 1 < l->n_words;) {
            const struct sb_ocr_word *a = &l->words[j], *b = &l->words[j + 1];
            size_t n = strlen(a->text);
            int run = n && a->text[n - 1] == ',' && isalnum((unsigned char)b->text[0])
                          ? widest_blank_run(img, a->box, b->box)
                          : -1;
            if (run >= 0 && run < SB__OCR_TIGHT_COMMA * h) {
                sb__ocr_merge_next_word(l, j);
                joined = 1;
            } else {
                j++;
            }
        }
        if (joined)
            sb_ocr_line_join_words(l);
    }
}
