/* SPDX-License-Identifier: MIT */
/*
 * Metadata stripping of customer images before they are stored: EXIF (with GPS location), XMP,
 * IPTC, comments, text chunks and time stamps are removed from JPEG, PNG and WebP files; what a
 * viewer needs to show the image as intended (colour profile, gamma, transparency, pixel
 * aspect) is kept. The walk never trusts a length it has not checked against the buffer; what
 * cannot be walked is not copied: a file broken half way is stored up to the last whole
 * segment/chunk (a truncated image the recognisers report as corrupt), never with an unparsed
 * tail that could still hold metadata. Chosen chunk and segment sets: docs/media.md.
 */
#ifndef SB_MEDIA_STRIP_H
#define SB_MEDIA_STRIP_H

#include "sb/error.h"

#include <stddef.h>

/* What a strip call did. */
struct sb_strip_report {
    size_t removed;  /* segments / chunks dropped */
    int truncated;   /* 1: the structure broke at some point and the rest was not copied */
};

/*
 * JPEG: keeps SOI, APP0 (JFIF), APP2 ICC_PROFILE, APP14 (Adobe colour transform), the tables
 * and frame headers, and everything from the start of scan on; drops every other APPn (APP1
 * EXIF/XMP, APP13 IPTC/Photoshop, APP2 MPF thumbnails…) and COM. `out` must hold `n` bytes;
 * the result is never longer than the input. Returns 0 and *out_len; SB_EPARSE when the file
 * does not start like a JPEG (nothing written). A broken segment list stops the copy there
 * (report->truncated).
 */
int sb_media_strip_jpeg(const unsigned char *in, size_t n, unsigned char *out, size_t *out_len,
                        struct sb_strip_report *report, struct sb_error *err);

/*
 * PNG: keeps the critical chunks IHDR, PLTE, IDAT, IEND and the ancillary chunks needed to
 * display the image as meant — tRNS, gAMA, cHRM, sRGB, iCCP, cICP, sBIT, bKGD, pHYs; drops
 * all others (eXIf, tEXt, zTXt, iTXt, tIME, sPLT, hIST, oFFs, pCAL, sCAL, APNG frames, private
 * and unknown chunks) and anything after IEND. Every chunk's CRC is checked: a chunk with a
 * wrong CRC, a bad type or a length past the end stops the copy (report->truncated). Same
 * buffer rules as the JPEG call; SB_EPARSE without the PNG signature.
 */
int sb_media_strip_png(const unsigned char *in, size_t n, unsigned char *out, size_t *out_len,
                       struct sb_strip_report *report, struct sb_error *err);

/*
 * WebP (RIFF): keeps VP8, VP8L, VP8X, ALPH, ANIM, ANMF and ICCP chunks; drops EXIF, "XMP "
 * and unknown chunks, clears the EXIF and XMP flags of VP8X and rewrites the RIFF size. Same
 * buffer rules; SB_EPARSE without a RIFF/WEBP header.
 */
int sb_media_strip_webp(const unsigned char *in, size_t n, unsigned char *out, size_t *out_len,
                        struct sb_strip_report *report, struct sb_error *err);

/*
 * Dispatches on a sniffed MIME type: image/jpeg, image/png, image/webp. Other types are
 * SB_EUNSUPPORTED (nothing written). `report` may be NULL.
 */
int sb_media_strip(const char *mime, const unsigned char *in, size_t n, unsigned char *out,
                   size_t *out_len, struct sb_strip_report *report, struct sb_error *err);

/* CRC-32 (ISO 3309, as in PNG) of `n` bytes, continuing from `crc` (start with 0). */
unsigned long sb_media_crc32(unsigned long crc, const unsigned char *p, size_t n);

#endif
