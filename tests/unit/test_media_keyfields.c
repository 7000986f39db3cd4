/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the company/address layout rules of the receipt key fields: a trade descriptor
 * under the name ("BISTRO & CAFE") is neither the name nor an address line; the name is the line
 * above the address block, not a line below it; trailing specks are dropped from the name;
 * "Company No" does not start an address; an unlabelled phone number or a "Guest Check" line
 * ends it; zeros among letters are read as O's and a doubled comma is one. Small pages built in
 * memory; no OCR run.
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

static void add(struct sb_ocr_page *p, const char *t, int y)
{
    sb_ocr_page_add_line(p, t, (struct sb_box){40, y, 300, 16}, 0.9f);
}

/* Runs the key fields over `p` (then emptied); the caller frees both strings. */
static void fields(struct sb_ocr_page *p, char **company, char **address)
{
    sb_ocr_page_finish(p);
    struct sb_receipt_fields f;
    sb_media_receipt_fields(p, &f);
    *company = sb_strdup(f.company);
    *address = sb_strdup(f.address);
    sb_receipt_fields_cleanup(&f);
    sb_ocr_page_cleanup(p);
}

static void test_descriptor_line(void **state)
{
    (void)state;
    struct sb_ocr_page p = {0};
    char *c, *a;
    add(&p, "THREE STOOGES", 10);
    add(&p, "BISTRO & CAFE", 30);
    add(&p, "109, SS21/1A,", 50);
    add(&p, "DAMANSARA UTAMA", 70);
    add(&p, "GST ID 001661886464", 90);
    add(&p, "TOTAL 12.00", 200);
    fields(&p, &c, &a);
    assert_string_equal(c, "THREE STOOGES");
    assert_string_equal(a, "109, SS21/1A, DAMANSARA UTAMA");
    free(c);
    free(a);
}

static void test_name_above_address(void **state)
{
    (void)state;
    struct sb_ocr_page p = {0};
    char *c, *a;
    add(&p, "SHOPPING WITH US", 10);
    add(&p, "PAGOH REST AND SERVICE AREA", 30);
    add(&p, "LOT R1, KWS REHAT PAGOH,", 50);
    add(&p, "LEBUHRAYA UTARA SELATAN,", 70);
    add(&p, ": 1800 88 1231", 90);
    add(&p, "RETAIL FKA BISON STORES", 110);
    add(&p, "TOTAL 10.00", 200);
    fields(&p, &c, &a);
    assert_string_equal(c, "PAGOH REST AND SERVICE AREA");
    assert_string_equal(a, "LOT R1, KWS REHAT PAGOH, LEBUHRAYA UTARA SELATAN,");
    free(c);
    free(a);
}

static void test_specks_and_stops(void **state)
{
    (void)state;
    struct sb_ocr_page p = {0};
    char *c, *a;
    add(&p, "UNIHAKKA INTERNATIONAL SDN BHD i", 10);
    add(&p, "Company No", 30);
    add(&p, "Lot 50, Floor T2, Sky Avenue", 50);
    add(&p, "69000 Pahang Malaysia", 70);
    add(&p, "Guest Check 1", 90);
    add(&p, "TOTAL 10.00", 200);
    fields(&p, &c, &a);
    assert_string_equal(c, "UNIHAKKA INTERNATIONAL SDN BHD");
    assert_string_equal(a, "Lot 50, Floor T2, Sky Avenue 69000 Pahang Malaysia");
    free(c);
    free(a);

    /* a house number after "NO" starts the address; "2 :" after a name is a speck */
    add(&p, "PERNIAGAAN ZHENG HUI 2 :", 10);
    add(&p, "NO.59 PERMAS 9/5", 30);
    add(&p, "81750 JOHOR BAHRU", 50);
    add(&p, "TEL: 07-386 7524", 70);
    fields(&p, &c, &a);
    assert_string_equal(c, "PERNIAGAAN ZHENG HUI");
    assert_string_equal(a, "NO.59 PERMAS 9/5 81750 JOHOR BAHRU");
    free(c);
    free(a);
}

/* Zeros among letters are O's; a speck read as a second comma goes. */
static void test_misread_marks(void **state)
{
    (void)state;
    struct sb_ocr_page p = {0};
    char *c, *a;
    add(&p, "AEON C0. (M) BHD", 10);
    add(&p, "3RD FLR, AE0N TAMAN MALURI,", 30);
    add(&p, "KAWASAN BALAK0NG, , CHERAS", 50);
    add(&p, "55100 KUALA LUMPUR", 70);
    add(&p, "TOTAL 10.00", 200);
    fields(&p, &c, &a);
    assert_string_equal(c, "AEON CO. (M) BHD");
    assert_string_equal(a, "3RD FLR, AEON TAMAN MALURI, KAWASAN BALAKONG, CHERAS 55100 KUALA LUMPUR");
    free(c);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_line),
        cmocka_unit_test(test_name_above_address),
        cmocka_unit_test(test_specks_and_stops),
        cmocka_unit_test(test_misread_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
