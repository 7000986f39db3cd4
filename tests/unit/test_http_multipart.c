/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the attachment upload's body parsers (src/http/multipart.c): the boundary of a
 * multipart/form-data Content-Type, parts with fields and a file (preamble, epilogue, quoting,
 * empty parts), every malformed-input error and limit with the part/header it names, and the
 * bounded base64 decoder.
 */
#include "../../src/http/multipart.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_boundary(void **state)
{
    (void)state;
    char b[SB_MP_MAX_BOUNDARY + 1];
    struct sb_error err = {0};
    assert_int_equal(sb__mp_boundary("multipart/form-data; boundary=abc123", b, sizeof(b), &err),
                     0);
    assert_string_equal(b, "abc123");
    assert_int_equal(
        sb__mp_boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\"", b, sizeof(b),
                        &err),
        0);
    assert_string_equal(b, "a b:c");
    assert_int_equal(sb__mp_boundary("----WebKitFormBoundary", b, sizeof(b), &err), SB_EINVAL);
    assert_int_equal(sb__mp_boundary("application/json", b, sizeof(b), &err), SB_EINVAL);
    assert_int_equal(sb__mp_boundary("multipart/form-data", b, sizeof(b), &err), SB_EPARSE);
    assert_non_null(strstr(err.msg, "without a boundary"));
    assert_int_equal(sb__mp_boundary("multipart/form-data; boundary=", b, sizeof(b), &err),
                     SB_EPARSE);
    assert_int_equal(sb__mp_boundary("multipart/form-data; boundary=\"x", b, sizeof(b), &err),
                     SB_EPARSE);
    char longb[200] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71);
    assert_int_equal(sb__mp_boundary(longb, b, sizeof(b), &err), SB_EPARSE);
    assert_non_null(strstr(err.msg, "1 to 70"));
    assert_int_equal(sb__mp_boundary("multipart/form-data; boundary=\"a\x01\"", b, sizeof(b),
                                     &err),
                     SB_EPARSE);
    assert_int_equal(sb__mp_boundary("multipart/form-data; boundary=\"ends \"", b, sizeof(b),
                                     &err),
                     SB_EPARSE);
}

static int parse(const char *body, struct sb_mp_part *parts, size_t cap, size_t *n,
                 const struct sb_mp_limits *lim, struct sb_error *err)
{
    return sb__mp_parse(body, strlen(body), "XyZ", lim, parts, cap, n, err);
}

static void test_parts(void **state)
{
    (void)state;
    static const char body[] = "preamble to ignore\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"text\"\r\n"
                       "\r\n"
                       "I want my money back\r\n"
                       "--XyZ\r\n"
                       "content-disposition: form-data; name=file; filename=\"C:\\\\tmp\\\\r.png\"\r\n"
                       "Content-Type: image/png\r\n"
                       "X-Other: ignored\r\n"
                       "\r\n"
                       "\x89PNG\r\n--XyY\r\nbinary\0bytes"
                       "\r\n--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"empty\"\r\n"
                       "\r\n"
                       "\r\n--XyZ--  \r\nepilogue";
    size_t len = sizeof(body) - 1;
    struct sb_mp_part parts[4];
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb__mp_parse(body, len, "XyZ", NULL, parts, 4, &n, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 3);
    assert_string_equal(parts[0].name, "text");
    assert_int_equal(parts[0].has_filename, 0);
    assert_int_equal(parts[0].len, strlen("I want my money back"));
    assert_memory_equal(parts[0].data, "I want my money back", parts[0].len);
    assert_string_equal(parts[1].name, "file");
    assert_int_equal(parts[1].has_filename, 1);
    assert_string_equal(parts[1].filename, "C:\\tmp\\r.png");
    assert_string_equal(parts[1].content_type, "image/png");
    const char want[] = "\x89PNG\r\n--XyY\r\nbinary\0bytes";
    assert_int_equal(parts[1].len, sizeof(want) - 1);
    assert_memory_equal(parts[1].data, want, sizeof(want) - 1);
    assert_string_equal(parts[2].name, "empty");
    assert_int_equal(parts[2].len, 0);
    assert_ptr_equal(sb__mp_find(parts, n, "file"), &parts[1]);
    assert_null(sb__mp_find(parts, n, "nope"));
}

static void expect_error(const char *body, int code, const char *words,
                         const struct sb_mp_limits *lim)
{
    struct sb_mp_part parts[4];
    size_t n = 0;
    struct sb_error err = {0};
    int rc = parse(body, parts, 4, &n, lim, &err);
    if (rc != code || !strstr(err.msg, words))
        fail_msg("body %.60s…: got %d '%s', want %d '%s'", body, rc, err.msg, code, words);
}

#define CD "Content-Disposition: form-data; name=\"a\"\r\n"

static void test_errors(void **state)
{
    (void)state;
    expect_error("no delimiter at all", SB_EPARSE, "no '--XyZ' delimiter", NULL);
    expect_error("--XyZ\r\n" CD "\r\nvalue without an end", SB_EPARSE,
                 "part 1 ('a'): not ended", NULL);
    expect_error("--XyZ\r\n" CD "no empty line", SB_EPARSE, "part 1: headers not ended", NULL);
    expect_error("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", SB_EPARSE,
                 "part 1: missing Content-Disposition", NULL);
    expect_error("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--",
                 SB_EPARSE, "part 1: Content-Disposition must be form-data", NULL);
    expect_error("--XyZ\r\nContent-Disposition: form-data; filename=x\r\n\r\nx\r\n--XyZ--",
                 SB_EPARSE, "part 1: Content-Disposition without a name", NULL);
    expect_error("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--",
                 SB_EPARSE, "malformed value of 'name'", NULL);
    expect_error("--XyZ\r\n" CD "\r\nx\r\n--XyZ\r\n" CD CD "\r\ny\r\n--XyZ--", SB_EPARSE,
                 "part 2: Content-Disposition given twice", NULL);
    expect_error("--XyZ\r\n" CD "Broken header\r\n\r\nx\r\n--XyZ--", SB_EPARSE,
                 "part 1: header line without a name", NULL);
    expect_error("--XyZ\r\n" CD "\r\nx\r\n--XyZjunk\r\n", SB_EPARSE,
                 "part 2: delimiter line not followed", NULL);
    expect_error("--XyZ--\r\n", SB_EPARSE, "without any part", NULL);
    /* limits */
    struct sb_mp_limits one = {.max_parts = 1};
    expect_error("--XyZ\r\n" CD "\r\nx\r\n--XyZ\r\n" CD "\r\ny\r\n--XyZ--", SB_ETOOBIG,
                 "more than 1 parts", &one);
    struct sb_mp_limits small = {.max_field_bytes = 3, .max_file_bytes = 5};
    expect_error("--XyZ\r\n" CD "\r\nabcd\r\n--XyZ--", SB_ETOOBIG, "part 1 ('a'): larger than 3",
                 &small);
    expect_error("--XyZ\r\nContent-Disposition: form-data; name=f; filename=x\r\n\r\n123456"
                 "\r\n--XyZ--",
                 SB_ETOOBIG, "larger than 5", &small);
    struct sb_mp_limits total = {.max_total_bytes = 10};
    expect_error("--XyZ\r\n" CD "\r\nabcd\r\n--XyZ--", SB_ETOOBIG, "body larger than 10",
                 &total);
    struct sb_mp_limits hdr = {.max_header_bytes = 20};
    expect_error("--XyZ\r\n" CD "\r\nabcd\r\n--XyZ--", SB_ETOOBIG,
                 "part 1: a header line is longer than 20", &hdr);
    char many[2048];
    size_t o = (size_t)snprintf(many, sizeof(many), "--XyZ\r\n" CD);
    for (int i = 0; i < 17; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, "X-H: 1\r\n");
    snprintf(many + o, sizeof(many) - o, "\r\nv\r\n--XyZ--");
    expect_error(many, SB_ETOOBIG, "more than 16 headers", NULL);
    char longname[400];
    snprintf(longname, sizeof(longname),
             "--XyZ\r\nContent-Disposition: form-data; name=\"%080d\"\r\n\r\nv\r\n--XyZ--", 0);
    expect_error(longname, SB_ETOOBIG, "name longer than 64", NULL);
}

static void test_base64(void **state)
{
    (void)state;
    unsigned char *out = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    assert_int_equal(sb__base64_decode("aGVsbG8gd29ybGQ=", 16, 100, &out, &n, &err), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "hello world", 11);
    free(out);
    /* no padding, wrapped lines */
    assert_int_equal(sb__base64_decode("aGVs\r\nbG8gd29y bGQ", 18, 100, &out, &n, &err), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "hello world", 11);
    free(out);
    assert_int_equal(sb__base64_decode("", 0, 100, &out, &n, &err), 0);
    assert_int_equal(n, 0);
    free(out);
    /* all 256 byte values */
    const char *all = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1"
                      "Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWpr"
                      "bG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch"
                      "oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX"
                      "2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";
    assert_int_equal(sb__base64_decode(all, strlen(all), 256, &out, &n, &err), 0);
    assert_int_equal(n, 256);
    for (int i = 0; i < 256; i++)
        assert_int_equal(out[i], i);
    free(out);
    /* errors name what is wrong */
    out = NULL;
    assert_int_equal(sb__base64_decode("aGV!bG8=", 8, 100, &out, &n, &err), SB_EPARSE);
    assert_non_null(strstr(err.msg, "offset 3"));
    assert_null(out);
    assert_int_equal(sb__base64_decode("aGVsb", 5, 100, &out, &n, &err), SB_EPARSE);
    assert_int_equal(sb__base64_decode("aG=s", 4, 100, &out, &n, &err), SB_EPARSE);
    assert_int_equal(sb__base64_decode("a===", 4, 100, &out, &n, &err), SB_EPARSE);
    assert_int_equal(sb__base64_decode("aGVsbG8=aGVs", 12, 100, &out, &n, &err), SB_EPARSE);
    assert_int_equal(sb__base64_decode("aGVsbA", 6, 100, &out, &n, &err), 0); /* "hell" */
    assert_int_equal(n, 4);
    free(out);
    out = NULL;
    assert_int_equal(sb__base64_decode("aGVsbG8gd29ybGQ=", 16, 10, &out, &n, &err), SB_ETOOBIG);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
