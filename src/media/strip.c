/* SPDX-License-Identifier: MIT */
/*
 * Metadata stripping of uploaded JPEG, PNG and WebP images (contract: include/sb/media_strip.h).
 * Each format is walked segment by segment (JPEG markers before the scan), chunk by chunk (PNG,
 * RIFF) with every length checked against what is left; kept pieces are copied verbatim, so
 * pixels are never decoded or re-encoded. The output is never longer than the input.
 */
#include "sb/media_strip.h"

#include <stdint.h>
#include <string.h>

static void report_init(struct sb_strip_report *r)
{
    r->removed = 0;
    r->truncated = 0;
}

/* ---- JPEG ---- */

/* APP2 carrying an ICC profile (the rest of APP2 — MPF thumbnails, FlashPix — goes). */
static int jpeg_keep_app(unsigned m, const unsigned char *seg, size_t len)
{
    if (m == 0xE0 || m == 0xEE) /* JFIF/JFXX, Adobe */
        return 1;
    if (m == 0xE2 && len >= 2 + 12 && memcmp(seg + 4, "ICC_PROFILE\0", 12) == 0)
        return 1;
    return 0;
}

int sb_media_strip_jpeg(const unsigned char *in, size_t n, unsigned char *out, size_t *out_len,
                        struct sb_strip_report *report, struct sb_error *err)
{
    struct sb_strip_report dummy;
    struct sb_strip_report *rep = report ? report : &dummy;
    report_init(rep);
    if (n < 2 || in[0] != 0xFF || in[1] != 0xD8)
        return sb_error_set(err, SB_EPARSE, "not a JPEG file (no start-of-image marker)");
    size_t i = 2, o = 2;
    out[0] = 0xFF;
    out[1] = 0xD8;
    for (;;) {
        if (i + 2 > n || in[i] != 0xFF) {
            rep->truncated = 1;
            break;
        }
        unsigned m = in[i + 1];
        if (m == 0xFF) { /* fill byte before a marker */
            i++;
            continue;
        }
        if (m == 0xD9) { /* end of image without a scan: keep the marker */
            out[o++] = 0xFF;
            out[o++] = 0xD9;
            break;
        }
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) || i + 4 > n) {
            rep->truncated = 1; /* not expected before the scan */
            break;
        }
        size_t len = ((size_t)in[i + 2] << 8) | in[i + 3];
        if (len < 2 || len > n - i - 2) {
            rep->truncated = 1;
            break;
        }
        if (m == 0xDA) { /* start of scan: the entropy-coded rest is copied verbatim */
            memcpy(out + o, in + i, n - i);
            o += n - i;
            break;
        }
        int drop = m == 0xFE || ((m & 0xF0) == 0xE0 && !jpeg_keep_app(m, in + i, len));
        if (drop) {
            rep->removed++;
        } else {
            memcpy(out + o, in + i, 2 + len);
            o += 2 + len;
        }
        i += 2 + len;
    }
    *out_len = o;
    return 0;
}

/* ---- PNG ---- */

static uint32_t crc_table[256];
static int crc_ready;

unsigned long sb_media_crc32(unsigned long crc, const unsigned char *p, size_t n)
{
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE)) {
        /* computing the same table twice from two threads writes the same values */
        for (uint32_t k = 0; k < 256; k++) {
            uint32_t c = k;
            for (int j = 0; j < 8; j++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            __atomic_store_n(&crc_table[k], c, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
    }
    uint32_t c = (uint32_t)crc ^ 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int png_keep(const unsigned char *t)
{
    static const char *const keep[] = {"IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA",
                                       "cHRM", "sRGB", "iCCP", "cICP", "sBIT", "bKGD",
                                       "pHYs"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (memcmp(t, keep[i], 4) == 0)
            return 1;
    return 0;
}

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

int sb_media_strip_png(const unsigned char *in, size_t n, unsigned char *out, size_t *out_len,
                       struct sb_strip_report *report, struct sb_error *err)
{
    struct sb_strip_report dummy;
    struct sb_strip_report *rep = report ? report : &dummy;
    report_init(rep);
    if (n < 8 || memcmp(in, png_sig, 8) != 0)
        return sb_error_set(err, SB_EPARSE, "not a PNG file (no signature)");
    memcpy(out, in, 8);
    size_t i = 8, o = 8;
    for (;;) {
        if (n - i < 12) {
            rep->truncated = 1; /* no IEND came */
            break;
        }
        uint32_t len = be32(in + i);
        const unsigned char *type = in + i + 4;
        int letters = 1;
        for (int k = 0; k < 4; k++)
            letters &= (type[k] >= 'A' && type[k] <= 'Z') || (type[k] >= 'a' && type[k] <= 'z');
        if (len > 0x7FFFFFFFu || !letters || len > n - i - 12) {
            rep->truncated = 1;
            break;
        }
        uint32_t crc = be32(in + i + 8 + len);
        if (sb_media_crc32(0, type, 4 + (size_t)len) != crc) {
            rep->truncated = 1;
            break;
        }
        size_t whole = 12 + (size_t)len;
        if (png_keep(type)) {
            memcpy(out + o, in + i, whole);
            o += whole;
        } else {
            rep->removed++;
        }
        i += whole;
        if (memcmp(type, "IEND", 4) == 0) {
            if (i < n)
                rep->removed++; /* trailing bytes after IEND */
            break;
        }
    }
    *out_len = o;
    return 0;
}

/* ---- WebP ---- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static int webp_keep(const unsigned char *t)
{
    static const char *const keep[] = {"VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (memcmp(t, keep[i], 4) == 0)
            return 1;
    return 0;
}

int sb_media_strip_webp(const unsigned char *in, size_t n, unsigned char *out, size_t *out_len,
                        struct sb_strip_report *report, struct sb_error *err)
{
    struct sb_strip_report dummy;
    struct sb_strip_report *rep = report ? report : &dummy;
    report_init(rep);
    if (n < 12 || memcmp(in, "RIFF", 4) != 0 || memcmp(in + 8, "WEBP", 4) != 0)
        return sb_error_set(err, SB_EPARSE, "not a WebP file (no RIFF/WEBP header)");
    /* the RIFF size bounds the chunks; bytes after it are dropped */
    size_t riff_end = (size_t)le32(in + 4);
    riff_end = riff_end > n - 8 ? n : riff_end + 8;
    if (riff_end < n)
        rep->removed++;
    memcpy(out, in, 12);
    size_t i = 12, o = 12;
    while (i < riff_end) {
        if (riff_end - i < 8) {
            rep->truncated = 1;
            break;
        }
        size_t len = le32(in + i + 4);
        size_t whole = 8 + len + (len & 1);
        if (len > riff_end - i - 8 || (whole > riff_end - i && whole - 1 != riff_end - i)) {
            rep->truncated = 1;
            break;
        }
        if (whole > riff_end - i)
            whole = riff_end - i; /* a missing pad byte at the very end is tolerated */
        if (webp_keep(in + i)) {
            memcpy(out + o, in + i, whole);
            if (memcmp(in + i, "VP8X", 4) == 0 && len >= 1)
                out[o + 8] &= (unsigned char)~0x0Cu; /* no EXIF (0x08) or XMP (0x04) now */
            o += whole;
        } else {
            rep->removed++;
        }
        i += whole;
    }
    put_le32(out + 4, (uint32_t)(o - 8));
    *out_len = o;
    return 0;
}

int sb_media_strip(const char *mime, const unsigned char *in, size_t n, unsigned char *out,
                   size_t *out_len, struct sb_strip_report *report, struct sb_error *err)
{
    if (mime && strcmp(mime, "image/jpeg") == 0)
        return sb_media_strip_jpeg(in, n, out, out_len, report, err);
    if (mime && strcmp(mime, "image/png") == 0)
        return sb_media_strip_png(in, n, out, out_len, report, err);
    if (mime && strcmp(mime, "image/webp") == 0)
        return sb_media_strip_webp(in, n, out, out_len, report, err);
    return sb_error_set(err, SB_EUNSUPPORTED, "no metadata stripping for %s",
                        mime ? mime : "(none)");
}
