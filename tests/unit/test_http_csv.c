/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CSV field writer of the conversation export (src/http/api_dashboard.c):
 * RFC 4180 quoting (fields with a comma, quote, CR or LF are quoted, quotes doubled), plain
 * fields left as they are, and spreadsheet formula injection neutralised (a field starting
 * with = + - @ TAB or CR is quoted and prefixed with '), and the buffer limit honoured.
 */
#include "../../src/http/api.h"
#include "sb/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void expect(const char *in, const char *out)
{
    struct sb_buf b;
    sb_buf_init(&b, 0);
    assert_int_equal(sb__csv_cell(&b, in), 0);
    assert_string_equal(b.data ? b.data : "", out);
    sb_buf_cleanup(&b);
}

static void test_plain_and_quoted(void **state)
{
    (void)state;
    expect("", "");
    expect("hello", "hello");
    expect("12.500", "12.500");
    expect("2026-11-23T10:00:00.000Z", "2026-11-23T10:00:00.000Z");
    expect("a,b", "\"a,b\"");
    expect("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect("line\nbreak", "\"line\nbreak\"");
    expect("cr\rhere", "\"cr\rhere\"");
    expect("\"", "\"\"\"\"");
    expect("李雷, 你好", "\"李雷, 你好\"");
}

static void test_formulas(void **state)
{
    (void)state;
    expect("=1+1", "\"'=1+1\"");
    expect("+33 6 12", "\"'+33 6 12\"");
    expect("-2", "\"'-2\"");
    expect("@SUM(A1)", "\"'@SUM(A1)\"");
    expect("\tx", "\"'\tx\"");
    expect("\r=x", "\"'\r=x\"");
    expect("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    expect("a=b", "a=b"); /* only at the start */
}

static void test_limit(void **state)
{
    (void)state;
    struct sb_buf b;
    sb_buf_init(&b, 8);
    assert_int_equal(sb__csv_cell(&b, "1234"), 0);
    assert_int_equal(sb__csv_cell(&b, "a,b,c,d"), SB_ETOOBIG);
    sb_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quoted),
        cmocka_unit_test(test_formulas),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
