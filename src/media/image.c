/* SPDX-License-Identifier: MIT */
/*
 * Images from outside: type sniffing with libmagic, bounded decoding through leptonica (the
 * header is read and the pixel count checked before any pixel is decoded), conversion to 8-bit
 * grey, and the pre-processing steps OCR may use (upscaling, deskewing, background
 * normalisation, adaptive binarisation). Leptonica's own error printing is switched off: a
 * corrupt upload is an error code for the caller (libjpeg may still print one warning line).
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <leptonica/allheaders.h>
#include <magic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t lept_once = PTHREAD_ONCE_INIT;
static pthread_key_t magic_key;

static void magic_free(void *p)
{
    magic_close(p);
}

static void media_init_once(void)
{
    setMsgSeverity(L_SEVERITY_NONE);
    pthread_key_create(&magic_key, magic_free);
}

void sb__media_init(void)
{
    pthread_once(&lept_once, media_init_once);
}

void sb_image_cleanup(struct sb_image *img)
{
    if (!img)
        return;
    free(img->px);
    memset(img, 0, sizeof(*img));
}

enum sb_media_kind sb_media_sniff(const void *data, size_t n, char *mime, size_t mime_size)
{
    sb__media_init();
    const char *type = NULL;
    magic_t m = pthread_getspecific(magic_key);
    if (!m) {
        m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_TAR |
                       MAGIC_NO_CHECK_ELF);
        if (m && magic_load(m, NULL) != 0) {
            magic_close(m);
            m = NULL;
        }
        if (m)
            pthread_setspecific(magic_key, m);
    }
    if (m && data && n)
        type = magic_buffer(m, data, n);
    if (!type)
        type = "application/octet-stream";
    if (mime && mime_size) {
        size_t l = strlen(type);
        if (l >= mime_size)
            l = mime_size - 1;
        memcpy(mime, type, l);
        mime[l] = 0;
    }
    static const char *const images[] = {"image/jpeg", "image/png",  "image/gif",
                                         "image/bmp",  "image/x-ms-bmp", "image/tiff",
                                         "image/webp"};
    for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
        if (strcmp(type, images[i]) == 0)
            return SB_MEDIA_IMAGE;
    if (strcmp(type, "audio/x-wav") == 0 || strcmp(type, "audio/wav") == 0 ||
        strcmp(type, "audio/vnd.wave") == 0)
        return SB_MEDIA_AUDIO;
    return SB_MEDIA_UNKNOWN;
}

/* Copies an 8-bpp PIX into a new sb_image. */
static void image_from_pix(PIX *p, struct sb_image *out)
{
    int w = pixGetWidth(p), h = pixGetHeight(p);
    out->width = w;
    out->height = h;
    out->stride = (size_t)w;
    out->px = sb_malloc((size_t)w * (size_t)h + 1);
    l_uint32 *data = pixGetData(p);
    int wpl = pixGetWpl(p);
    for (int y = 0; y < h; y++) {
        l_uint32 *line = data + (size_t)y * (size_t)wpl;
        for (int x = 0; x < w; x++)
            out->px[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)GET_DATA_BYTE(line, x);
    }
}

static PIX *pix_from_image(const struct sb_image *img)
{
    PIX *p = pixCreate(img->width, img->height, 8);
    if (!p)
        return NULL;
    l_uint32 *data = pixGetData(p);
    int wpl = pixGetWpl(p);
    for (int y = 0; y < img->height; y++) {
        l_uint32 *line = data + (size_t)y * (size_t)wpl;
        const uint8_t *row = img->px + (size_t)y * img->stride;
        for (int x = 0; x < img->width; x++)
            SET_DATA_BYTE(line, x, row[x]);
    }
    return p;
}

int sb_media_image_decode(const void *data, size_t n, size_t max_bytes, uint64_t max_pixels,
                          struct sb_image *out, struct sb_error *err)
{
    sb__media_init();
    if (!max_bytes)
        max_bytes = SB_MEDIA_IMAGE_MAX_BYTES;
    if (!max_pixels)
        max_pixels = SB_MEDIA_IMAGE_MAX_PIXELS;
    if (!data || n == 0)
        return sb_error_set(err, SB_EPARSE, "image: empty");
    if (n > max_bytes)
        return sb_error_set(err, SB_ETOOBIG, "image: %zu bytes, limit %zu", n, max_bytes);
    l_int32 fmt = 0, w = 0, h = 0, bps = 0, spp = 0, cmap = 0;
    if (pixReadHeaderMem(data, n, &fmt, &w, &h, &bps, &spp, &cmap) != 0 || w <= 0 || h <= 0)
        return sb_error_set(err, SB_EPARSE, "image: unreadable header");
    if ((uint64_t)w * (uint64_t)h > max_pixels || w > 30000 || h > 30000)
        return sb_error_set(err, SB_ETOOBIG, "image: %dx%d pixels, limit %llu", w, h,
                            (unsigned long long)max_pixels);
    PIX *p = pixReadMem(data, n);
    if (!p)
        return sb_error_set(err, SB_EPARSE, "image: corrupt %dx%d image", w, h);
    /* the header may have lied: check what was actually decoded */
    if ((uint64_t)pixGetWidth(p) * (uint64_t)pixGetHeight(p) > max_pixels) {
        pixDestroy(&p);
        return sb_error_set(err, SB_ETOOBIG, "image: decoded size over the limit");
    }
    PIX *g = pixConvertTo8(p, 0);
    pixDestroy(&p);
    if (!g)
        return sb_error_set(err, SB_EPARSE, "image: unsupported pixel format");
    image_from_pix(g, out);
    pixDestroy(&g);
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Median height of the dark connected components that could be characters, 0 when none. */
static int text_height(PIX *grey)
{
    PIX *b = NULL;
    /* one tile over the whole page: a global Otsu threshold, so faint or coloured print counts
     * too (a fixed threshold loses light-blue thermal print) */
    if (pixOtsuAdaptiveThreshold(grey, 1 << 15, 1 << 15, 0, 0, 0.0f, NULL, &b) != 0 || !b)
        return 0;
    BOXA *boxa = pixConnCompBB(b, 8);
    pixDestroy(&b);
    if (!boxa)
        return 0;
    int n = boxaGetCount(boxa), k = 0;
    int *h = sb_malloc(((size_t)n + 1) * sizeof(int));
    for (int i = 0; i < n; i++) {
        l_int32 x, y, w, hh;
        if (boxaGetBoxGeometry(boxa, i, &x, &y, &w, &hh) != 0)
            continue;
        /* specks, rules, logos and merged blobs are not characters */
        if (hh >= 5 && hh <= 120 && w >= 2 && w <= 3 * hh)
            h[k++] = hh;
    }
    boxaDestroy(&boxa);
    int med = 0;
    if (k) {
        qsort(h, (size_t)k, sizeof(int), cmp_int);
        med = h[k / 2];
    }
    free(h);
    return med;
}

int sb__media_text_height(const struct sb_image *img)
{
    sb__media_init();
    PIX *p = pix_from_image(img);
    if (!p)
        return 0;
    int h = text_height(p);
    pixDestroy(&p);
    return h;
}

/* Upscaling: characters are brought to SB__OCR_TEXT_HEIGHT pixels; factors under MIN_SCALE are
 * not worth the time, and past MAX_SCALE the "characters" are more likely noise. */
#define UPSCALE_MIN 1.2
#define UPSCALE_MAX 3.0

int sb__media_preprocess(const struct sb_image *in, unsigned steps, struct sb_image *out,
                         double *scale)
{
    *scale = 1.0;
    PIX *p = pix_from_image(in);
    if (!p)
        return SB_ENOMEM;
    if (steps & SB_OCR_PRE_UPSCALE) {
        int th = text_height(p);
        double s = th > 0 ? (double)SB__OCR_TEXT_HEIGHT / th : 1;
        if (s > UPSCALE_MAX)
            s = UPSCALE_MAX;
        /* the scaled image must stay within the decoder's pixel limit */
        while (s >= UPSCALE_MIN &&
               (double)in->width * in->height * s * s > (double)SB_MEDIA_IMAGE_MAX_PIXELS)
            s -= 0.1;
        if (s >= UPSCALE_MIN) {
            PIX *q = pixScaleGrayLI(p, (l_float32)s, (l_float32)s);
            if (q) {
                pixDestroy(&p);
                p = q;
                *scale = (double)pixGetWidth(q) / in->width;
            }
        }
    }
    if (steps & SB_OCR_PRE_NORMALIZE) {
        PIX *q = pixBackgroundNormSimple(p, NULL, NULL);
        if (q) {
            pixDestroy(&p);
            p = q;
        }
    }
    if (steps & SB_OCR_PRE_DESKEW) {
        PIX *q = pixDeskew(p, 0);
        if (q) {
            pixDestroy(&p);
            p = q;
        }
    }
    if (steps & SB_OCR_PRE_BINARIZE) {
        PIX *b = NULL;
        if (pixSauvolaBinarizeTiled(p, 25, 0.30f, 1, 1, NULL, &b) == 0 && b) {
            PIX *q = pixConvert1To8(NULL, b, 255, 0);
            pixDestroy(&b);
            if (q) {
                pixDestroy(&p);
                p = q;
            }
        }
    }
    image_from_pix(p, out);
    pixDestroy(&p);
    return 0;
}
