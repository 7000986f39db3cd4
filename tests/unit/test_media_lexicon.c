/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the receipt-lexicon correction (src/media/lexicon.c): document frequencies (a
 * token counted once per transcript, any case), corrections along OCR confusion pairs only, the
 * minimum document count, ties and short or letter-poor words left alone, number-like words
 * corrected by shape (',' and '.'), lines with and without words, and the page text rebuilt.
 * Fixtures in memory; milliseconds.
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

#include <cmocka.h>

static struct sb_ocr_lexicon *make_lexicon(void)
{
    struct sb_ocr_lexicon *lex = sb_ocr_lexicon_new();
    sb_ocr_lexicon_add_text(lex, "GST 6% QTY TOTAL\nGST SDN BHD JALAN");
    sb_ocr_lexicon_add_text(lex, "gst qty total sdn bhd\nTAMAN");
    sb_ocr_lexicon_add_text(lex, "GST TOTAL CASH JALAN");
    sb_ocr_lexicon_add_text(lex, "BIN BIM"); /* a tie for "BIH"? H/M/N: BIM and BIN */
    sb_ocr_lexicon_add_text(lex, "BIN BIM");
    return lex;
}

static void test_document_frequency(void **state)
{
    (void)state;
    struct sb_ocr_lexicon *lex = make_lexicon();
    assert_int_equal(sb_ocr_lexicon_df(lex, "GST"), 3); /* twice in the first: one document */
    assert_int_equal(sb_ocr_lexicon_df(lex, "qty"), 2);
    assert_int_equal(sb_ocr_lexicon_df(lex, "TAMAN"), 1);
    assert_int_equal(sb_ocr_lexicon_df(lex, "NOPE"), 0);
    assert_int_equal(sb_ocr_lexicon_df(NULL, "GST"), 0);
    /* many distinct tokens: the table grows */
    char buf[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(buf, sizeof buf, "W%d", i);
        sb_ocr_lexicon_add_text(lex, buf);
    }
    assert_int_equal(sb_ocr_lexicon_df(lex, "W2999"), 1);
    assert_int_equal(sb_ocr_lexicon_df(lex, "GST"), 3);
    sb_ocr_lexicon_free(lex);
    sb_ocr_lexicon_free(NULL);
}

static void test_correct_words(void **state)
{
    (void)state;
    struct sb_ocr_lexicon *lex = make_lexicon();
    struct sb_ocr_page pg = {0};
    sb_ocr_page_add_line(&pg, "", (struct sb_box){0, 0, 500, 20}, 0.9f);
    const char *w[] = {"QST", "OTY", "Tota1", "SON", "BHD", "GASH", "BIH", "6%", "Q5", "JALAM"};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++)
        sb_ocr_page_add_word(&pg, w[i], (struct sb_box){(int)i * 40, 0, 30, 20}, 0.5f);
    sb_ocr_line_join_words(&pg.lines[0]);
    sb_ocr_page_add_line(&pg, "T0TAL CASH", (struct sb_box){0, 30, 500, 20}, 0.9f); /* no words */
    sb_ocr_page_finish(&pg);
    size_t n = sb_ocr_lexicon_correct(lex, &pg, 2);
    /* QST→GST (G/Q), OTY→QTY (O/Q), Tota1→TOTAL (1/L), SON→SDN (O/D); GASH: CASH has df 1 < 2;
     * BIH: BIN and BIM tie; 6% and Q5 have < 2 letters; JALAM→JALAN (M/N) */
    assert_string_equal(pg.lines[0].text, "GST QTY TOTAL SDN BHD GASH BIH 6% Q5 JALAN");
    assert_string_equal(pg.lines[1].text, "TOTAL CASH");
    assert_string_equal(pg.text, "GST QTY TOTAL SDN BHD GASH BIH 6% Q5 JALAN\nTOTAL CASH");
    assert_int_equal(n, 6);
    /* with min_df 1 CASH is allowed */
    struct sb_ocr_page p2 = {0};
    sb_ocr_page_add_line(&p2, "GASH  X", (struct sb_box){0, 0, 10, 10}, 0.9f);
    sb_ocr_page_finish(&p2);
    assert_int_equal(sb_ocr_lexicon_correct(lex, &p2, 1), 1);
    assert_string_equal(p2.text, "CASH  X");
    /* nothing to change: texts untouched, 0 returned */
    assert_int_equal(sb_ocr_lexicon_correct(lex, &p2, 1), 0);
    assert_int_equal(sb_ocr_lexicon_correct(NULL, &p2, 1), 0);
    sb_ocr_page_cleanup(&p2);
    sb_ocr_page_cleanup(&pg);
    sb_ocr_lexicon_free(lex);
}

static void test_only_confusion_pairs(void **state)
{
    (void)state;
    struct sb_ocr_lexicon *lex = sb_ocr_lexicon_new();
    sb_ocr_lexicon_add_text(lex, "TAMAN");
    sb_ocr_lexicon_add_text(lex, "TAMAN");
    struct sb_ocr_page pg = {0};
    /* TAMAR (R/N is not a listed confusion) stays; TAHAN (H/M) is corrected */
    sb_ocr_page_add_line(&pg, "TAMAR TAHAN", (struct sb_box){0, 0, 10, 10}, 0.9f);
    sb_ocr_page_finish(&pg);
    sb_ocr_lexicon_correct(lex, &pg, 2);
    assert_string_equal(pg.text, "TAMAR TAMAN");
    sb_ocr_page_cleanup(&pg);
    sb_ocr_lexicon_free(lex);
}

static void test_number_shapes(void **state)
{
    (void)state;
    struct sb_ocr_lexicon *lex = sb_ocr_lexicon_new();
    sb_ocr_lexicon_add_text(lex, "TOTAL 9.00 CASH 10.00 RM 12.50 55,57");
    sb_ocr_lexicon_add_text(lex, "TOTAL 3.20 CHANGE 1.00 1,234.50");
    sb_ocr_lexicon_add_text(lex, "99.90 0.10 7,777.00");
    struct sb_ocr_page pg = {0};
    /* "60,31": shape 99,99 seen on 1 document, 99.99 on 3 → "60.31"; "1.234.50": 9,999.99 on
     * 2 → "1,234.50"; "8,5" has no frequent neighbour; "RM7,40" has two letters (word path);
     * "S5,00" one letter: number path → "S5.00"? shape S9.99 unseen: stays */
    sb_ocr_page_add_line(&pg, "60,31 1.234.50 8,5 RM7,40 S5,00", (struct sb_box){0, 0, 9, 9}, 0.9f);
    sb_ocr_page_finish(&pg);
    assert_int_equal(sb_ocr_lexicon_correct(lex, &pg, 2), 2);
    assert_string_equal(pg.text, "60.31 1,234.50 8,5 RM7,40 S5,00");
    sb_ocr_page_cleanup(&pg);
    sb_ocr_lexicon_free(lex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_frequency),
        cmocka_unit_test(test_correct_words),
        cmocka_unit_test(test_only_confusion_pairs),
        cmocka_unit_test(test_number_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
