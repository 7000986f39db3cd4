/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the word-level merge of two OCR readings (src/media/ocr_merge.c) and of the
 * page's word list: which reading wins a group of overlapping words (higher mean confidence,
 * a margin on numeric groups), words only the second reading has (kept only when confident),
 * second-reading words assigned to the line they overlap, lines without words left alone, and
 * the line/page text rebuilt from the merged words. Fixtures built in memory; no tesseract run.
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

static const struct sb__ocr_merge_params P = {0.80f, 0.00f, 0.05f};

/* Adds a line of words "text@x:w:conf" separated by spaces, all at height y..y+20. */
static void add_line(struct sb_ocr_page *pg, int y, const char *spec)
{
    sb_ocr_page_add_line(pg, "", (struct sb_box){0, y, 1000, 20}, 0.9f);
    char *copy = sb_strdup(spec), *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *at = strchr(t, '@');
        assert_non_null(at);
        *at = 0;
        char *end = NULL;
        long x = strtol(at + 1, &end, 10);
        long w = strtol(end + 1, &end, 10);
        double c = strtod(end + 1, NULL);
        sb_ocr_page_add_word(pg, t, (struct sb_box){(int)x, y + 2, (int)w, 16}, (float)c);
    }
    free(copy);
    sb_ocr_line_join_words(&pg->lines[pg->n_lines - 1]);
}

static void test_words_on_page(void **state)
{
    (void)state;
    struct sb_ocr_page pg = {0};
    sb_ocr_page_add_word(&pg, "ignored", (struct sb_box){0, 0, 1, 1}, 0.5f); /* no line yet */
    assert_int_equal(pg.n_lines, 0);
    add_line(&pg, 0, "TOTAL@10:50:0.9 9.00@80:40:0.95");
    assert_string_equal(pg.lines[0].text, "TOTAL 9.00");
    assert_int_equal(pg.lines[0].n_words, 2);
    assert_int_equal(pg.lines[0].words[1].box.x, 80);
    sb_ocr_page_add_word(&pg, "x", (struct sb_box){0, 0, 1, 1}, 7.0f);
    assert_true(pg.lines[0].words[2].conf == 1.0f); /* clamped */
    sb_ocr_page_finish(&pg);
    sb_ocr_page_cleanup(&pg);
    sb_ocr_page_cleanup(NULL);
}

static void test_more_confident_wins(void **state)
{
    (void)state;
    struct sb_ocr_page a = {0}, b = {0};
    add_line(&a, 0, "QST@10:40:0.60 ID@60:20:0.95 OTY@100:40:0.50");
    add_line(&b, 1, "GST@11:38:0.90 1D@60:20:0.70 QTY@101:40:0.45");
    sb__ocr_merge_readings(&a, &b, &P);
    assert_string_equal(a.lines[0].text, "GST ID OTY");
    assert_string_equal(a.text, "GST ID OTY");
    assert_int_equal(a.lines[0].n_words, 3);
    assert_true(a.lines[0].words[0].conf > 0.89f);
    sb_ocr_page_cleanup(&a);
    sb_ocr_page_cleanup(&b);
}

static void test_numeric_margin(void **state)
{
    (void)state;
    struct sb_ocr_page a = {0}, b = {0};
    /* numeric group: the second reading needs more than 0.05 more; letters: any more */
    add_line(&a, 0, "$6.90@10:50:0.80 CASH@100:50:0.80");
    add_line(&b, 0, "8.90@10:50:0.84 GASH@100:50:0.84");
    sb__ocr_merge_readings(&a, &b, &P);
    assert_string_equal(a.lines[0].text, "$6.90 GASH");
    sb_ocr_page_cleanup(&a);
    sb_ocr_page_cleanup(&b);
}

static void test_groups_and_alone_words(void **state)
{
    (void)state;
    struct sb_ocr_page a = {0}, b = {0};
    /* one main word read as two by the second reading (one group); a word the main reading
     * missed (kept: 0.85 >= 0.80) and one that is doubtful (dropped: 0.5) */
    add_line(&a, 0, "JOHORBAHRU@10:100:0.50");
    add_line(&b, 0, "JOHOR@10:48:0.90 BAHRU@62:48:0.92 78G,@300:30:0.85 EE@400:20:0.50");
    sb__ocr_merge_readings(&a, &b, &P);
    assert_string_equal(a.lines[0].text, "JOHOR BAHRU 78G,");
    sb_ocr_page_cleanup(&a);
    sb_ocr_page_cleanup(&b);
}

static void test_line_assignment(void **state)
{
    (void)state;
    struct sb_ocr_page a = {0}, b = {0};
    add_line(&a, 0, "TOTAL@10:50:0.70");
    add_line(&a, 40, "CASH@10:50:0.70");
    sb_ocr_page_add_line(&a, "no words", (struct sb_box){0, 80, 1000, 20}, 0.5f);
    /* the second reading found both lines as one "line"; its words go to the line each
     * overlaps; a word far right of every line and one between lines are not assigned */
    sb_ocr_page_add_line(&b, "", (struct sb_box){0, 0, 1000, 60}, 0.9f);
    sb_ocr_page_add_word(&b, "T0TAL", (struct sb_box){10, 2, 50, 16}, 0.9f);
    sb_ocr_page_add_word(&b, "CASH.", (struct sb_box){10, 42, 50, 16}, 0.9f);
    sb_ocr_page_add_word(&b, "far", (struct sb_box){5000, 2, 50, 16}, 0.99f);
    sb_ocr_page_add_word(&b, "gap", (struct sb_box){200, 25, 20, 10}, 0.99f);
    sb__ocr_merge_readings(&a, &b, &P);
    assert_string_equal(a.lines[0].text, "T0TAL");
    assert_string_equal(a.lines[1].text, "CASH.");
    assert_string_equal(a.lines[2].text, "no words");
    assert_string_equal(a.text, "T0TAL\nCASH.\nno words");
    sb_ocr_page_cleanup(&a);
    sb_ocr_page_cleanup(&b);
}

static void test_empty_second_reading(void **state)
{
    (void)state;
    struct sb_ocr_page a = {0}, b = {0};
    add_line(&a, 0, "SDN@10:30:0.70 BHD@50:30:0.70");
    sb_ocr_page_finish(&a);
    sb__ocr_merge_readings(&a, &b, &P);
    assert_string_equal(a.text, "SDN BHD");
    struct sb_ocr_page c = {0};
    sb__ocr_merge_readings(&c, &a, &P); /* no main lines: nothing happens */
    assert_int_equal(c.n_lines, 0);
    sb_ocr_page_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_on_page),   cmocka_unit_test(test_more_confident_wins),
        cmocka_unit_test(test_numeric_margin),  cmocka_unit_test(test_groups_and_alone_words),
        cmocka_unit_test(test_line_assignment), cmocka_unit_test(test_empty_second_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
