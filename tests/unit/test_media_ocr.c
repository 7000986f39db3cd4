/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the OCR pre-processing and of the receipt-total rules added with it: the
 * character-height estimate and the upscaling it drives (synthetic images with drawn "glyphs"),
 * the repair of misread legal forms, and the total's checks against the receipt's own
 * arithmetic (cash − change, excl. + tax), against repeated readings and against tax-summary
 * tables, cash rounding, amounts split after the decimal point, and commas printed tight against
 * the next word. Small fixtures built in memory; no tesseract run, so the file takes milliseconds.
 */
#include "../../src/media/media_internal.h"
#include "sb/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A white image with rows of black "characters" `ch` pixels tall (and ch*0.6 wide). */
static void glyph_page(struct sb_image *img, int w, int h, int ch)
{
    img->width = w;
    img->height = h;
    img->stride = (size_t)w;
    img->px = sb_malloc((size_t)w * (size_t)h);
    memset(img->px, 235, (size_t)w * (size_t)h);
    int cw = ch * 6 / 10 > 2 ? ch * 6 / 10 : 2;
    for (int y0 = 10; y0 + ch < h - 10; y0 += ch * 2)
        for (int x0 = 10; x0 + cw < w - 10; x0 += cw + cw / 2 + 1)
            for (int y = y0; y < y0 + ch; y++)
                for (int x = x0; x < x0 + cw; x++)
                    img->px[(size_t)y * img->stride + (size_t)x] = 20;
}

static void test_text_height(void **state)
{
    (void)state;
    struct sb_image img = {0};
    glyph_page(&img, 300, 200, 10);
    assert_int_equal(sb__media_text_height(&img), 10);
    sb_image_cleanup(&img);

    glyph_page(&img, 300, 300, 24);
    assert_int_equal(sb__media_text_height(&img), 24);
    sb_image_cleanup(&img);

    /* a blank page has no characters */
    img.width = img.height = 50;
    img.stride = 50;
    img.px = sb_malloc(2500);
    memset(img.px, 255, 2500);
    assert_int_equal(sb__media_text_height(&img), 0);
    sb_image_cleanup(&img);
}

static void test_upscale(void **state)
{
    (void)state;
    struct sb_image img = {0}, out = {0};
    double scale = 0;
    /* 8 px characters are brought to SB__OCR_TEXT_HEIGHT (16): twice the size */
    glyph_page(&img, 200, 120, 8);
    assert_int_equal(sb__media_preprocess(&img, SB_OCR_PRE_UPSCALE, &out, &scale), 0);
    assert_true(scale > 1.9 && scale < 2.1);
    assert_int_equal(out.width, (int)(200 * scale + 0.5));
    assert_true(out.height >= 238 && out.height <= 242);
    sb_image_cleanup(&out);
    /* without the step nothing changes */
    assert_int_equal(sb__media_preprocess(&img, 0, &out, &scale), 0);
    assert_true(scale == 1.0);
    assert_int_equal(out.width, 200);
    assert_memory_equal(out.px, img.px, 200 * 120);
    sb_image_cleanup(&out);
    sb_image_cleanup(&img);

    /* print already large enough is left alone */
    glyph_page(&img, 200, 200, 18);
    assert_int_equal(sb__media_preprocess(&img, SB_OCR_PRE_UPSCALE, &out, &scale), 0);
    assert_true(scale == 1.0);
    assert_int_equal(out.width, 200);
    sb_image_cleanup(&out);
    sb_image_cleanup(&img);

    /* tiny print is enlarged at most three times */
    glyph_page(&img, 100, 60, 5);
    assert_int_equal(sb__media_preprocess(&img, SB_OCR_PRE_UPSCALE, &out, &scale), 0);
    assert_true(scale > 2.9 && scale <= 3.0);
    sb_image_cleanup(&out);
    sb_image_cleanup(&img);
}

static void add(struct sb_ocr_page *p, const char *t, int y)
{
    sb_ocr_page_add_line(p, t, (struct sb_box){40, y, 300, 16}, 0.9f);
}

static char *fields_total(struct sb_ocr_page *p, char **company)
{
    sb_ocr_page_finish(p);
    struct sb_receipt_fields f;
    sb_media_receipt_fields(p, &f);
    char *t = sb_strdup(f.total);
    if (company)
        *company = sb_strdup(f.company);
    sb_receipt_fields_cleanup(&f);
    sb_ocr_page_cleanup(p);
    return t;
}

static void test_total_rules(void **state)
{
    (void)state;
    struct sb_ocr_page p = {0};
    char *t, *company = NULL;

    /* "9.00" misread "9.60" on the labelled row; cash − change says 9.00; "SDN 8HD" repaired */
    add(&p, "BOOK TA K (TAMAN DAYA) SDN 8HD", 10);
    add(&p, "TOTAL : 9.00", 200);
    add(&p, "ROUNDED TOTAL (RM): 9.60", 220);
    add(&p, "CASH 10.00", 240);
    add(&p, "CHANGE 1.00", 260);
    t = fields_total(&p, &company);
    assert_string_equal(t, "9.00");
    assert_string_equal(company, "BOOK TA K (TAMAN DAYA) SDN BHD");
    free(t);
    free(company);

    /* "SON" alone is a word, not a misread "SDN" */
    add(&p, "LIM & SON TRADING", 10);
    add(&p, "TOTAL 5.00", 200);
    t = fields_total(&p, &company);
    assert_string_equal(company, "LIM & SON TRADING");
    free(t);
    free(company);

    /* a total label whose amount was not read: not the cash row below, but cash − change
     * (a change of 0.00 counts) */
    add(&p, "Net Total(MYR):", 200);
    add(&p, "Cash : 21.20", 222);
    add(&p, "Change 0.00", 240);
    t = fields_total(&p, NULL);
    assert_string_equal(t, "21.20");
    free(t);

    /* excl. + tax repairs a one-digit misreading when there is no cash line */
    add(&p, "Total Sales (Excluding GST) 51.42", 200);
    add(&p, "Total GST 3.08", 220);
    add(&p, "Total Sales (Inclusive of GST) 64.50", 240);
    t = fields_total(&p, NULL);
    assert_string_equal(t, "54.50");
    free(t);

    /* but a reading the arithmetic does not contradict stays */
    add(&p, "Total Sales (Excluding GST) 51.42", 200);
    add(&p, "Total GST 3.08", 220);
    add(&p, "Total Sales (Inclusive of GST) 78.00", 240);
    t = fields_total(&p, NULL);
    assert_string_equal(t, "78.00");
    free(t);

    /* the "Total" of a (misread) GST summary table is not the bill's */
    add(&p, "Total Sales Incl. 75.00", 200);
    add(&p, "GST Susmary Amount Tax", 240);
    add(&p, "SR 70.75 4.25", 260);
    add(&p, "Total 70.75 4.25", 280);
    t = fields_total(&p, NULL);
    assert_string_equal(t, "75.00");
    free(t);

    /* a reading printed once loses to a one-digit neighbour printed three times */
    add(&p, "ITEM 1 9.00", 150);
    add(&p, "TOTAL 9.00", 200);
    add(&p, "ROUNDED TOTAL 9.60", 220);
    add(&p, "9.00", 240);
    t = fields_total(&p, NULL);
    assert_string_equal(t, "9.00");
    free(t);

    /* a receipt with a rounding line is paid in multiples of five cents */
    add(&p, "TOTAL RM 60.31", 200);
    add(&p, "ROUNDING ADJ ........", 220);
    add(&p, "RH 66,30", 240);
    t = fields_total(&p, NULL);
    assert_string_equal(t, "60.30");
    free(t);
    /* without one, the amount read stands */
    add(&p, "TOTAL RM 60.33", 200);
    t = fields_total(&p, NULL);
    assert_string_equal(t, "60.33");
    free(t);
}

/* Words of an amount split after its decimal point are joined into one word. */
static void test_split_amounts(void **state)
{
    (void)state;
    struct sb_ocr_page p = {0};
    sb_ocr_page_add_line(&p, "", (struct sb_box){10, 10, 300, 16}, 0.9f);
    sb_ocr_page_add_word(&p, "CASH", (struct sb_box){10, 10, 40, 16}, 0.9f);
    sb_ocr_page_add_word(&p, "RM", (struct sb_box){60, 10, 20, 16}, 0.9f);
    sb_ocr_page_add_word(&p, "170.", (struct sb_box){90, 10, 30, 16}, 0.8f);
    sb_ocr_page_add_word(&p, "00", (struct sb_box){128, 11, 16, 16}, 0.7f);
    sb_ocr_page_add_word(&p, "1.", (struct sb_box){160, 10, 10, 16}, 0.9f);
    sb_ocr_page_add_word(&p, "250", (struct sb_box){175, 10, 20, 16}, 0.9f);
    sb_ocr_line_join_words(&p.lines[0]);
    sb_ocr_page_finish(&p);
    assert_string_equal(p.text, "CASH RM 170.00 1. 250");
    assert_int_equal(p.lines[0].n_words, 5);
    const struct sb_ocr_word *w = &p.lines[0].words[2];
    assert_string_equal(w->text, "170.00");
    assert_int_equal(w->box.x, 90);
    assert_int_equal(w->box.w, 54);
    assert_int_equal(w->box.h, 17);
    assert_true(w->conf < 0.75f);
    sb_ocr_page_cleanup(&p);
}

/* Fills box b of a white image with black (a stand-in for a glyph). */
static void ink(struct sb_image *img, struct sb_box b)
{
    for (int y = b.y; y < b.y + b.h; y++)
        memset(img->px + (size_t)y * img->stride + (size_t)b.x, 0, (size_t)b.w);
}

/* A comma printed tight against the next word joins it; one followed by a space does not. */
static void test_tight_commas(void **state)
{
    (void)state;
    struct sb_image img = {.width = 200, .height = 40, .stride = 200};
    img.px = sb_malloc(200 * 40);
    memset(img.px, 255, 200 * 40);
    /* "AB," 2 px from "CD" (text 16 px tall), then "EF," 9 px from "GH" */
    struct sb_box ab = {10, 10, 30, 16}, cd = {42, 10, 30, 16};
    struct sb_box ef = {90, 10, 30, 16}, gh = {129, 10, 30, 16};
    for (int k = 0; k < 2; k++) {
        ink(&img, (struct sb_box){ab.x + k * 12, 10, 10, 16});
        ink(&img, (struct sb_box){cd.x + k * 12, 10, 10, 16});
        ink(&img, (struct sb_box){ef.x + k * 12, 10, 10, 16});
        ink(&img, (struct sb_box){gh.x + k * 12, 10, 10, 16});
    }
    ink(&img, (struct sb_box){ab.x + 25, 22, 3, 6}); /* the commas */
    ink(&img, (struct sb_box){ef.x + 25, 22, 3, 6});
    struct sb_ocr_page p = {0};
    sb_ocr_page_add_line(&p, "", (struct sb_box){10, 10, 150, 16}, 0.9f);
    sb_ocr_page_add_word(&p, "AB,", ab, 0.9f);
    sb_ocr_page_add_word(&p, "CD", cd, 0.8f);
    sb_ocr_page_add_word(&p, "EF,", ef, 0.9f);
    sb_ocr_page_add_word(&p, "GH", gh, 0.9f);
    sb_ocr_line_join_words(&p.lines[0]);
    sb__ocr_join_tight_commas(&img, &p);
    assert_string_equal(p.lines[0].text, "AB,CD EF, GH");
    assert_int_equal(p.lines[0].n_words, 3);
    assert_int_equal(p.lines[0].words[0].box.w, 62);
    sb_ocr_page_cleanup(&p);
    sb_image_cleanup(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_height),
        cmocka_unit_test(test_upscale),
        cmocka_unit_test(test_total_rules),
        cmocka_unit_test(test_split_amounts),
        cmocka_unit_test(test_tight_commas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
