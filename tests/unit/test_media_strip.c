/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of metadata stripping (src/media/strip.c): a PNG built here with EXIF, text and
 * time chunks loses exactly those (and trailing bytes), keeps its display chunks, still decodes
 * and has valid CRCs; broken CRCs and lengths stop the copy; JPEG APP1/APP13/COM go while JFIF,
 * ICC and Adobe stay; WebP EXIF/XMP chunks go and the VP8X flags and RIFF size follow; every
 * result is idempotent.
 */
#include "sb/media.h"
#include "sb/media_strip.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct bytes {
    unsigned char b[4096];
    size_t n;
};

static void add(struct bytes *x, const void *p, size_t n)
{
    assert_true(x->n + n <= sizeof(x->b));
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static void add_be32(struct bytes *x, uint32_t v)
{
    unsigned char p[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    add(x, p, 4);
}

static void png_chunk(struct bytes *x, const char *type, const void *data, size_t n)
{
    add_be32(x, (uint32_t)n);
    size_t at = x->n;
    add(x, type, 4);
    add(x, data, n);
    add_be32(x, (uint32_t)sb_media_crc32(0, x->b + at, 4 + n));
}

/* A 2x2 8-bit grey PNG (stored deflate block) with metadata chunks around it. */
static void make_png(struct bytes *x, int with_meta)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    x->n = 0;
    add(x, sig, 8);
    unsigned char ihdr[13] = {0, 0, 0, 2, 0, 0, 0, 2, 8, 0, 0, 0, 0};
    png_chunk(x, "IHDR", ihdr, 13);
    if (with_meta) {
        png_chunk(x, "tEXt", "Comment\0GPS-SECRET-TEXT", 23);
        png_chunk(x, "eXIf", "MM\0*GPS-SECRET-EXIF", 19);
        png_chunk(x, "tIME", "\x07\xe8\x01\x02\x03\x04\x05", 7);
    }
    png_chunk(x, "gAMA", "\0\0\xb1\x8f", 4);
    png_chunk(x, "pHYs", "\0\0\x0b\x13\0\0\x0b\x13\x01", 9);
    /* zlib: header, one stored block of the 6 raw bytes (filter 0 + 2 pixels, twice), adler */
    unsigned char raw[6] = {0, 0x10, 0xF0, 0, 0xF0, 0x10};
    unsigned char z[2 + 5 + 6 + 4] = {0x78, 0x01, 0x01, 6, 0, (unsigned char)~6, 0xFF};
    memcpy(z + 7, raw, 6);
    uint32_t a = 1, b = 0;
    for (int i = 0; i < 6; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    uint32_t adler = b << 16 | a;
    z[13] = (unsigned char)(adler >> 24);
    z[14] = (unsigned char)(adler >> 16);
    z[15] = (unsigned char)(adler >> 8);
    z[16] = (unsigned char)adler;
    png_chunk(x, "IDAT", z, sizeof(z));
    if (with_meta)
        png_chunk(x, "zTXt", "Author\0\0xx", 10);
    png_chunk(x, "IEND", "", 0);
    if (with_meta)
        add(x, "TRAILING-GPS-SECRET", 19);
}

static int contains(const unsigned char *b, size_t n, const char *s)
{
    return memmem(b, n, s, strlen(s)) != NULL;
}

/* Walks a PNG checking each chunk's CRC; returns the number of chunks, -1 when broken. */
static int png_valid_chunks(const unsigned char *b, size_t n)
{
    size_t i = 8;
    int count = 0;
    while (i + 12 <= n) {
        uint32_t len = (uint32_t)b[i] << 24 | (uint32_t)b[i + 1] << 16 | (uint32_t)b[i + 2] << 8 |
                       b[i + 3];
        if (len > n - i - 12)
            return -1;
        const unsigned char *c = b + i + 8 + len;
        uint32_t crc = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
        if (sb_media_crc32(0, b + i + 4, 4 + len) != crc)
            return -1;
        count++;
        i += 12 + len;
    }
    return i == n ? count : -1;
}

static void test_png(void **state)
{
    (void)state;
    struct bytes in, clean;
    make_png(&in, 1);
    make_png(&clean, 0);
    assert_true(contains(in.b, in.n, "GPS-SECRET"));
    unsigned char out[4096], again[4096];
    size_t n = 0, m = 0;
    struct sb_strip_report rep;
    struct sb_error err = {0};
    assert_int_equal(sb_media_strip_png(in.b, in.n, out, &n, &rep, &err), 0);
    assert_int_equal(rep.truncated, 0);
    assert_int_equal(rep.removed, 5); /* tEXt, eXIf, tIME, zTXt, the trailing bytes */
    assert_false(contains(out, n, "GPS-SECRET"));
    assert_false(contains(out, n, "tIME"));
    assert_int_equal(n, clean.n); /* exactly the image without its metadata */
    assert_memory_equal(out, clean.b, n);
    assert_int_equal(png_valid_chunks(out, n), 5);
    /* still the same picture */
    struct sb_image img = {0};
    assert_int_equal(sb_media_image_decode(out, n, 0, 0, &img, &err), 0);
    assert_int_equal(img.width, 2);
    assert_int_equal(img.height, 2);
    sb_image_cleanup(&img);
    /* idempotent */
    assert_int_equal(sb_media_strip_png(out, n, again, &m, &rep, &err), 0);
    assert_int_equal(m, n);
    assert_memory_equal(again, out, n);
    assert_int_equal(rep.removed, 0);
    /* a wrong CRC stops the copy before that chunk */
    struct bytes bad = in;
    bad.b[8 + 25 + 12 + 5] ^= 0x01; /* inside the tEXt chunk's data */
    assert_int_equal(sb_media_strip_png(bad.b, bad.n, out, &n, &rep, &err), 0);
    assert_int_equal(rep.truncated, 1);
    assert_int_equal(n, 8 + 25); /* signature + IHDR */
    /* a length past the end */
    bad = clean;
    bad.b[8 + 25 + 3] = 0xF0;
    assert_int_equal(sb_media_strip_png(bad.b, bad.n, out, &n, &rep, &err), 0);
    assert_int_equal(rep.truncated, 1);
    /* not a PNG */
    assert_int_equal(sb_media_strip_png((const unsigned char *)"GIF89a..", 8, out, &n, &rep,
                                        &err),
                     SB_EPARSE);
    assert_int_equal(sb_media_strip("image/gif", in.b, in.n, out, &n, NULL, &err),
                     SB_EUNSUPPORTED);
}

static void jpeg_seg(struct bytes *x, unsigned marker, const char *data, size_t n)
{
    unsigned char h[4] = {0xFF, (unsigned char)marker, (unsigned char)((n + 2) >> 8),
                          (unsigned char)(n + 2)};
    add(x, h, 4);
    add(x, data, n);
}

static void test_jpeg(void **state)
{
    (void)state;
    struct bytes x = {.n = 0};
    add(&x, "\xFF\xD8", 2);
    jpeg_seg(&x, 0xE0, "JFIF\0\x01\x01\0\0\x01\0\x01\0\0", 14);
    jpeg_seg(&x, 0xE1, "Exif\0\0GPS-SECRET-EXIF", 21);
    jpeg_seg(&x, 0xE1, "http://ns.adobe.com/xap/1.0/\0GPS-SECRET-XMP", 43);
    jpeg_seg(&x, 0xE2, "ICC_PROFILE\0\x01\x01profile", 21);
    jpeg_seg(&x, 0xE2, "MPF\0GPS-SECRET-MPF", 18);
    jpeg_seg(&x, 0xED, "Photoshop 3.0\0GPS-SECRET-IPTC", 29);
    jpeg_seg(&x, 0xFE, "GPS-SECRET-COMMENT", 18);
    jpeg_seg(&x, 0xEE, "Adobe\0\x64\0\0\0\0\x01", 12);
    jpeg_seg(&x, 0xDB, "\0qtable", 7);
    add(&x, "\xFF\xDA\0\x02scan-data\xFF\xD9", 15);
    unsigned char out[4096], again[4096];
    size_t n = 0, m = 0;
    struct sb_strip_report rep;
    struct sb_error err = {0};
    assert_int_equal(sb_media_strip("image/jpeg", x.b, x.n, out, &n, &rep, &err), 0);
    assert_int_equal(rep.removed, 5);
    assert_int_equal(rep.truncated, 0);
    assert_false(contains(out, n, "GPS-SECRET"));
    assert_true(contains(out, n, "JFIF"));
    assert_true(contains(out, n, "ICC_PROFILE"));
    assert_true(contains(out, n, "Adobe"));
    assert_true(contains(out, n, "qtable"));
    assert_true(contains(out, n, "scan-data\xFF\xD9"));
    assert_int_equal(sb_media_strip_jpeg(out, n, again, &m, &rep, &err), 0);
    assert_int_equal(m, n);
    assert_memory_equal(again, out, n);
    /* a segment length past the end: the rest is not copied */
    struct bytes bad = {.n = 0};
    add(&bad, "\xFF\xD8", 2);
    jpeg_seg(&bad, 0xE0, "JFIF\0", 5);
    add(&bad, "\xFF\xE1\x40\x00GPS-SECRET", 14);
    assert_int_equal(sb_media_strip_jpeg(bad.b, bad.n, out, &n, &rep, &err), 0);
    assert_int_equal(rep.truncated, 1);
    assert_int_equal(n, 2 + 9);
    assert_int_equal(sb_media_strip_jpeg((const unsigned char *)"\x89PNG", 4, out, &n, &rep,
                                         &err),
                     SB_EPARSE);
}

static void riff_chunk(struct bytes *x, const char *fourcc, const char *data, size_t n)
{
    unsigned char h[8];
    memcpy(h, fourcc, 4);
    h[4] = (unsigned char)n;
    h[5] = (unsigned char)(n >> 8);
    h[6] = h[7] = 0;
    add(x, h, 8);
    add(x, data, n);
    if (n & 1)
        add(x, "", 1);
}

static void test_webp(void **state)
{
    (void)state;
    struct bytes x = {.n = 0};
    add(&x, "RIFF\0\0\0\0WEBP", 12);
    riff_chunk(&x, "VP8X", "\x2C\0\0\0\x01\0\0\x01\0\0", 10); /* ICC | EXIF | XMP */
    riff_chunk(&x, "ICCP", "icc", 3);
    riff_chunk(&x, "VP8L", "\x2f\x01\0\0\0", 5);
    riff_chunk(&x, "EXIF", "GPS-SECRET-EXIF", 15);
    riff_chunk(&x, "XMP ", "GPS-SECRET-XMP", 14);
    uint32_t sz = (uint32_t)x.n - 8;
    x.b[4] = (unsigned char)sz;
    x.b[5] = (unsigned char)(sz >> 8);
    add(&x, "TRAILER-GPS-SECRET", 18);
    unsigned char out[4096], again[4096];
    size_t n = 0, m = 0;
    struct sb_strip_report rep;
    struct sb_error err = {0};
    assert_int_equal(sb_media_strip("image/webp", x.b, x.n, out, &n, &rep, &err), 0);
    assert_false(contains(out, n, "GPS-SECRET"));
    assert_int_equal(rep.removed, 3);
    assert_int_equal(out[12 + 8], 0x20); /* only the ICC flag is left */
    assert_true(contains(out, n, "ICCP"));
    assert_true(contains(out, n, "VP8L"));
    uint32_t riff = out[4] | (uint32_t)out[5] << 8 | (uint32_t)out[6] << 16 |
                    (uint32_t)out[7] << 24;
    assert_int_equal(riff, n - 8);
    assert_int_equal(sb_media_strip_webp(out, n, again, &m, &rep, &err), 0);
    assert_int_equal(m, n);
    assert_memory_equal(again, out, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_jpeg),
        cmocka_unit_test(test_webp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
