/* SPDX-License-Identifier: MIT */
/* Unit tests of src/core: error map, bounded buffers, constant-time compare, log levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/error.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

static void test_error_map(void **state)
{
    (void)state;
    assert_string_equal(sb_strerror(SB_ENOTFOUND), "not found");
    assert_string_equal(sb_err_name(SB_ETOOBIG), "ETOOBIG");
    assert_int_equal(sb_err_http_status(SB_ETOOBIG), 413);
    assert_int_equal(sb_err_http_status(SB_ERATE), 429);
    assert_int_equal(sb_err_http_status(-9999), 500);
    assert_string_equal(sb_strerror(-9999), "unknown error");

    struct sb_error err = {0};
    assert_int_equal(sb_error_set(&err, SB_EPARSE, "line %d: bad field '%s'", 7, "text"),
                     SB_EPARSE);
    assert_int_equal(err.code, SB_EPARSE);
    assert_string_equal(err.msg, "line 7: bad field 'text'");
    assert_int_equal(sb_error_set(NULL, SB_EIO, "ignored"), SB_EIO);
    sb_error_clear(&err);
    assert_int_equal(err.code, 0);
}

static void test_buf_limits(void **state)
{
    (void)state;
    struct sb_buf b;
    sb_buf_init(&b, 10);
    assert_int_equal(sb_buf_appends(&b, "hello"), 0);
    assert_int_equal(sb_buf_appendf(&b, "%d", 12345), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "hello12345");
    /* one byte over the cap fails and leaves the buffer unchanged */
    assert_int_equal(sb_buf_appends(&b, "x"), SB_ETOOBIG);
    assert_int_equal(sb_buf_appendf(&b, "%s", "y"), SB_ETOOBIG);
    assert_string_equal(b.data, "hello12345");
    size_t len;
    char *s = sb_buf_steal(&b, &len);
    assert_int_equal(len, 10);
    assert_string_equal(s, "hello12345");
    assert_null(b.data);
    free(s);

    sb_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(sb_buf_append(&b, "ab", 2), 0);
    assert_int_equal(b.len, 20000);
    sb_buf_cleanup(&b);
}

static void test_strings(void **state)
{
    (void)state;
    char *s = sb_strdupf("%s-%03d", "id", 7);
    assert_string_equal(s, "id-007");
    free(s);
    s = sb_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
    assert_null(sb_strdup(NULL));
    assert_true(sb_memeq_consttime("abc", "abc", 3));
    assert_false(sb_memeq_consttime("abc", "abd", 3));
}

static void test_log_levels(void **state)
{
    (void)state;
    assert_int_equal(sb_log_level_parse("debug"), SB_LOG_DEBUG);
    assert_int_equal(sb_log_level_parse("WARN"), SB_LOG_WARN);
    assert_int_equal(sb_log_level_parse("loud"), -1);
    assert_int_equal(sb_log_level_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_map),
        cmocka_unit_test(test_buf_limits),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
