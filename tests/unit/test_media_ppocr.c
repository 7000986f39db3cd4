/* SPDX-License-Identifier: MIT */
/*
 * The PP-OCR re-reading step (src/media/ocr_ppocr.c) on a rendered text line
 * (tests/fixtures/nn/line.pgm, "TOTAL 12.50"): doubtful words that tesseract misread are replaced
 * by the network's reading, a sure word is left alone even where the network disagrees, a
 * speck word is dropped, and a line the network cannot see is handled without it. Skipped when
 * the model is not installed (scripts/deps.sh installs it). The choice between two readings of
 * a word (sb__ocr_pick_reading) is tested on its own, with a small word list of the test's.
 */
#include "../../src/media/media_internal.h"
#include "sb/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pgm_fixture.h"

/* The fixture line as a grey image (pixels owned by the caller). */
static int read_line_image(struct sb_image *img)
{
    int w, h;
    uint8_t *px = pgm_fixture_read(SB_SOURCE_DIR "/tests/fixtures/nn/line.pgm", &w, &h);
    if (!px)
        return -1;
    *img = (struct sb_image){.width = w, .height = h, .stride = (size_t)w, .px = px};
    return 0;
}

/* The ink's horizontal extent split at the widest blank gap: the two words' boxes. */
static void word_boxes(const struct sb_image *img, struct sb_box *a, struct sb_box *b)
{
    int first = -1, last = -1, gap0 = 0, gap = 0, run0 = -1;
    for (int x = 0; x < img->width; x++) {
        int ink = 0;
        for (int y = 0; y < img->height && !ink; y++)
            ink = img->px[(size_t)y * img->stride + (size_t)x] < 128;
        if (ink) {
            if (first < 0)
                first = x;
            if (run0 >= 0 && last >= 0 && x - run0 > gap) {
                gap = x - run0;
                gap0 = run0;
            }
            run0 = -1;
            last = x;
        } else if (run0 < 0) {
            run0 = x;
        }
    }
    *a = (struct sb_box){first, 8, gap0 - first, img->height - 16};
    *b = (struct sb_box){gap0 + gap, 8, last + 1 - (gap0 + gap), img->height - 16};
}

static void test_reread_line(void **state)
{
    (void)state;
    const char *why = NULL;
    if (!sb__ocr_ppocr_available(&why)) {
        printf("skipped: PP-OCR model not installed (%s)\n", why);
        skip();
    }
    struct sb_image img = {0};
    assert_int_equal(read_line_image(&img), 0);
    struct sb_box a, b;
    word_boxes(&img, &a, &b);
    assert_true(a.w > 20 && b.w > 20);

    /* tesseract-like reading: both words doubtful and wrong, plus a speck to the right */
    struct sb_ocr_page page = {0};
    struct sb_box line = {a.x, a.y, b.x + b.w - a.x, a.h};
    sb_ocr_page_add_line(&page, "", line, 0.5f);
    sb_ocr_page_add_word(&page, "TOTAI", a, 0.55f);
    sb_ocr_page_add_word(&page, "12.5O", b, 0.50f);
    sb_ocr_page_add_word(&page, "~", (struct sb_box){img.width - 3, 20, 2, 2}, 0.10f);
    struct sb_error err = {0};
    assert_int_equal(sb__ocr_ppocr_reread(&img, &page, 0, &err), 0);
    assert_string_equal(page.lines[0].text, "TOTAL 12.50");
    assert_int_equal(page.lines[0].n_words, 2);
    assert_true(page.lines[0].words[0].conf >= SB__PPOCR_REPLACE);
    assert_string_equal(page.text, "TOTAL 12.50");
    sb_ocr_page_cleanup(&page);

    /* a word tesseract is sure of stays as it is, even where the network reads otherwise */
    sb_ocr_page_add_line(&page, "", line, 0.9f);
    sb_ocr_page_add_word(&page, "TOTAL", a, 0.99f);
    sb_ocr_page_add_word(&page, "12.58", b, 0.97f);
    assert_int_equal(sb__ocr_ppocr_reread(&img, &page, 0, &err), 0);
    assert_string_equal(page.lines[0].text, "TOTAL 12.58");
    sb_ocr_page_cleanup(&page);

    /* a line of specks only (every word under the keep threshold) is emptied, not read */
    sb_ocr_page_add_line(&page, "", line, 0.1f);
    sb_ocr_page_add_word(&page, "EE", a, 0.20f);
    assert_int_equal(sb__ocr_ppocr_reread(&img, &page, 0, &err), 0);
    assert_string_equal(page.lines[0].text, "");
    assert_int_equal(page.lines[0].n_words, 0);
    sb_ocr_page_cleanup(&page);
    free(img.px);
}

/* A deadline already past stops the step with SB_ETIMEDOUT before the network runs. */
static void test_reread_deadline(void **state)
{
    (void)state;
    if (!sb__ocr_ppocr_available(NULL))
        skip();
    struct sb_image img = {0};
    assert_int_equal(read_line_image(&img), 0);
    struct sb_box a, b;
    word_boxes(&img, &a, &b);
    struct sb_ocr_page page = {0};
    sb_ocr_page_add_line(&page, "", a, 0.5f);
    sb_ocr_page_add_word(&page, "TOTAI", a, 0.55f);
    struct sb_error err = {0};
    assert_int_equal(sb__ocr_ppocr_reread(&img, &page, 1, &err), SB_ETIMEDOUT);
    sb_ocr_page_cleanup(&page);
    free(img.px);
}

/* Tesseract's reading or the network's: confidences, known words, inner marks. */
static void test_pick_reading(void **state)
{
    (void)state;
    const char *t, *n;
    /* a sure word stays; a doubtful one goes to a confident network, else stays */
    t = "12.58", n = "12.50";
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.95f, n, 0.99f), t);
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.60f, n, 0.80f), n);
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.60f, n, 0.50f), t);
    /* a word tesseract would drop is kept only when the network reads it confidently */
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.20f, n, 0.65f), n);
    assert_null(sb__ocr_pick_reading(t, 0.20f, n, 0.50f));
    assert_null(sb__ocr_pick_reading(t, 0.20f, "", 1.0f));
    /* where only one reading is a known word, that one, whatever the confidences */
    t = "Owner", n = "Dwner";
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.60f, n, 0.99f), t);
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.10f, n, 0.99f), t);
    t = "RETURNABTE", n = "RETURNABLE.";
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.80f, n, 0.30f), n);
    /* words shorter than four letters are not looked up: "Gs" is not settled by "GS" */
    assert_ptr_equal(sb__ocr_pick_reading("GK", 0.60f, "OR", 0.50f), (const char *)"GK");
    /* the network's reading without a mark between characters is not taken */
    t = "80.91", n = "8091";
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.60f, n, 0.99f), t);
    t = "7/4,Kawasan", n = "7/4Kawasan";
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.30f, n, 0.99f), t);
    /* but an outer mark it leaves out is its reading ("BHD:" -> "BHD") */
    t = "BHD:", n = "BHD";
    assert_ptr_equal(sb__ocr_pick_reading(t, 0.60f, n, 0.99f), n);
}

int main(void)
{
    /* the word list sb__ocr_known_word reads, once per process: before any test runs */
    char path[] = "/tmp/sb_test_words_XXXXXX";
    int fd = mkstemp(path);
    static const char words[] = "owner\nreturnable\nor\n";
    if (fd < 0 || write(fd, words, sizeof words - 1) != (ssize_t)(sizeof words - 1))
        return 1;
    close(fd);
    setenv("SB_OCR_WORDLIST", path, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_reading),
        cmocka_unit_test(test_reread_line),
        cmocka_unit_test(test_reread_deadline),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(path);
    return rc;
}
