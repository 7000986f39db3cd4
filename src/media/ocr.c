/* SPDX-License-Identifier: MIT */
/*
 * OCR: the page/line result type, the engine registration check, the tesseract engine (through
 * its C API, one handle per thread and language, cancelled through tesseract's progress monitor
 * when the job's time limit passes) and sb_media_ocr_image(), the entry point the pipeline calls
 * from worker threads: sniff → bounded decode → pre-process → engine → key fields.
 */
#include "media_internal.h"
#include "sb/clock.h"
#include "sb/mem.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tesseract/capi.h>

int64_t sb__media_deadline(uint32_t time_limit_ms)
{
    return time_limit_ms ? sb_mono_ns() + (int64_t)time_limit_ms * 1000000 : 0;
}

int sb__media_past(int64_t deadline_ns)
{
    return deadline_ns && sb_mono_ns() > deadline_ns;
}

void sb_ocr_page_cleanup(struct sb_ocr_page *page)
{
    if (!page)
        return;
    for (size_t i = 0; i < page->n_lines; i++) {
        for (size_t j = 0; j < page->lines[i].n_words; j++)
            free(page->lines[i].words[j].text);
        free(page->lines[i].words);
        free(page->lines[i].text);
    }
    free(page->lines);
    free(page->text);
    memset(page, 0, sizeof(*page));
}

void sb_ocr_page_add_line(struct sb_ocr_page *page, const char *text, struct sb_box box,
                          float conf)
{
    if ((page->n_lines & (page->n_lines - 1)) == 0) {
        size_t cap = page->n_lines ? page->n_lines * 2 : 16;
        page->lines = sb_realloc(page->lines, cap * sizeof(*page->lines));
    }
    struct sb_ocr_line *l = &page->lines[page->n_lines++];
    l->text = sb_strdup(text ? text : "");
    l->box = box;
    l->conf = conf < 0 ? 0 : conf > 1 ? 1 : conf;
    l->words = NULL;
    l->n_words = 0;
}

void sb_ocr_page_add_word(struct sb_ocr_page *page, const char *text, struct sb_box box,
                          float conf)
{
    if (!page->n_lines)
        return;
    struct sb_ocr_line *l = &page->lines[page->n_lines - 1];
    if ((l->n_words & (l->n_words - 1)) == 0) {
        size_t cap = l->n_words ? l->n_words * 2 : 8;
        l->words = sb_realloc(l->words, cap * sizeof(*l->words));
    }
    struct sb_ocr_word *w = &l->words[l->n_words++];
    w->text = sb_strdup(text ? text : "");
    w->box = box;
    w->conf = conf < 0 ? 0 : conf > 1 ? 1 : conf;
}

void sb_ocr_line_join_words(struct sb_ocr_line *line)
{
    if (!line->n_words)
        return;
    struct sb_buf b;
    sb_buf_init(&b, 0);
    for (size_t j = 0; j < line->n_words; j++) {
        if (!line->words[j].text[0])
            continue;
        if (b.len)
            sb_buf_append(&b, " ", 1);
        sb_buf_appends(&b, line->words[j].text);
    }
    sb_buf_append(&b, "", 1);
    free(line->text);
    line->text = sb_buf_steal(&b, NULL);
    sb_buf_cleanup(&b);
}

/* "170." then "00": an amount split after its decimal point (OCR reads the point's gap as a
 * space). True when word a ends in a digit and a point and word b is two digits, alone or
 * before a non-digit. */
static int split_amount(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n >= 2 && a[n - 1] == '.' && isdigit((unsigned char)a[n - 2]) &&
           isdigit((unsigned char)b[0]) && isdigit((unsigned char)b[1]) &&
           !isdigit((unsigned char)b[2]);
}

static struct sb_box box_union(struct sb_box a, struct sb_box b)
{
    int x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
    int x1 = a.x + a.w > b.x + b.w ? a.x + a.w : b.x + b.w;
    int y1 = a.y + a.h > b.y + b.h ? a.y + a.h : b.y + b.h;
    return (struct sb_box){x0, y0, x1 - x0, y1 - y0};
}

struct weighted {
    double v, w;
};

static int cmp_weighted(const void *a, const void *b)
{
    const struct weighted *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

/* The median of v[0..n) weighted by w (sorts v). */
static double weighted_median(struct weighted *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_weighted);
    double total = 0, acc = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].w;
    for (size_t i = 0; i < n; i++) {
        acc += v[i].w;
        if (2 * acc >= total)
            return v[i].v;
    }
    return v[n - 1].v;
}

void sb__ocr_text_band(const struct sb_ocr_line *l, size_t a, size_t b, int *h, double *yc)
{
    struct weighted *v = sb_malloc((b - a) * sizeof(*v));
    for (size_t j = a; j < b; j++)
        v[j - a] = (struct weighted){l->words[j].box.h, l->words[j].box.w};
    *h = (int)weighted_median(v, b - a);
    *h = *h > 0 ? *h : 1;
    if (yc) {
        for (size_t j = a; j < b; j++)
            v[j - a] = (struct weighted){l->words[j].box.y + l->words[j].box.h / 2.0,
                                         l->words[j].box.w};
        *yc = weighted_median(v, b - a);
    }
    free(v);
}

void sb__ocr_merge_next_word(struct sb_ocr_line *l, size_t j)
{
    struct sb_ocr_word *p = &l->words[j], *w = &l->words[j + 1];
    char *t = sb_strdupf("%s%s", p->text, w->text);
    free(p->text);
    free(w->text);
    p->text = t;
    p->box = box_union(p->box, w->box);
    p->conf = p->conf < w->conf ? p->conf : w->conf;
    memmove(w, w + 1, (l->n_words - j - 2) * sizeof(*w));
    l->n_words--;
}

/* Joins the line's split amounts into one word each; true when it joined any. */
static int join_split_amounts(struct sb_ocr_line *l)
{
    int joined = 0;
    for (size_t j = 0; j + 1 < l->n_words;) {
        if (split_amount(l->words[j].text, l->words[j + 1].text)) {
            sb__ocr_merge_next_word(l, j);
            joined = 1;
        } else {
            j++;
        }
    }
    return joined;
}

void sb_ocr_page_finish(struct sb_ocr_page *page)
{
    struct sb_buf b;
    sb_buf_init(&b, 0);
    double wsum = 0, csum = 0;
    for (size_t i = 0; i < page->n_lines; i++) {
        if (join_split_amounts(&page->lines[i]))
            sb_ocr_line_join_words(&page->lines[i]);
        size_t l = strlen(page->lines[i].text);
        if (i)
            sb_buf_append(&b, "\n", 1);
        sb_buf_append(&b, page->lines[i].text, l);
        wsum += (double)l;
        csum += (double)l * page->lines[i].conf;
    }
    free(page->text);
    page->text = b.data ? sb_buf_steal(&b, NULL) : sb_strdup("");
    sb_buf_cleanup(&b);
    page->conf = wsum > 0 ? (float)(csum / wsum) : 0;
}

int sb_ocr_engine_check(const struct sb_ocr_ops *ops, struct sb_error *err)
{
    if (!ops)
        return sb_error_set(err, SB_EINVAL, "ocr engine: NULL");
    if (ops->api_version != SB_OCR_API_VERSION)
        return sb_error_set(err, SB_EINVAL, "ocr engine %s: api version %d, expected %d",
                            ops->name ? ops->name : "?", ops->api_version, SB_OCR_API_VERSION);
    if (!ops->name || !ops->name[0])
        return sb_error_set(err, SB_EINVAL, "ocr engine: no name");
    if (!ops->recognize)
        return sb_error_set(err, SB_EINVAL, "ocr engine %s: no recognize method", ops->name);
    return 0;
}

/* ---- tesseract ----------------------------------------------------------------------------- */

/* Per thread: slot 0 the main reading's handle, slot 1 the second reading's (SB_OCR_PRE_MERGE).
 * `missing` remembers a second-reading language whose data is not installed. */
struct tess_thread {
    TessBaseAPI *api[2];
    char lang[2][64];
    char missing[64];
};

static pthread_key_t tess_key;
static pthread_once_t tess_once = PTHREAD_ONCE_INIT;

static void tess_thread_free(void *p)
{
    struct tess_thread *t = p;
    if (!t)
        return;
    for (int i = 0; i < 2; i++)
        if (t->api[i]) {
            TessBaseAPIEnd(t->api[i]);
            TessBaseAPIDelete(t->api[i]);
        }
    free(t);
}

static void tess_key_init(void)
{
    pthread_key_create(&tess_key, tess_thread_free);
}

static void tess_thread_cleanup(void)
{
    pthread_once(&tess_once, tess_key_init);
    struct tess_thread *t = pthread_getspecific(tess_key);
    pthread_setspecific(tess_key, NULL);
    tess_thread_free(t);
}

/* Never read on a Latin-script receipt (none in the training labels) but often "read" from
 * specks, table rules and logos: _ — ~ | ‘ ’ ; “ ” { } ° § \ [ ] » « © ™ (currency signs and
 * accented letters stay allowed). */
#define OCR_BLACKLIST "_\u2014~|\u2018\u2019;\u201c\u201d{}\u00b0\u00a7\\[]\u00bb\u00ab\u00a9\u2122"

/* The calling thread's handle for `lang` in `slot` (0 main, 1 second reading), created (or
 * re-initialised) on demand. */
static TessBaseAPI *tess_handle(const char *lang, int slot, struct sb_error *err)
{
    pthread_once(&tess_once, tess_key_init);
    struct tess_thread *t = pthread_getspecific(tess_key);
    if (t && t->api[slot] && strcmp(t->lang[slot], lang) == 0)
        return t->api[slot];
    if (strlen(lang) >= sizeof(t->lang[slot])) {
        sb_error_set(err, SB_EINVAL, "ocr: language '%.32s…' too long", lang);
        return NULL;
    }
    if (!t) {
        t = sb_calloc(1, sizeof(*t));
        pthread_setspecific(tess_key, t);
    }
    if (slot == 1 && strcmp(t->missing, lang) == 0) {
        sb_error_set(err, SB_ECONFIG, "ocr: tesseract language data '%s' not installed", lang);
        return NULL;
    }
    if (!t->api[slot])
        t->api[slot] = TessBaseAPICreate();
    else
        TessBaseAPIEnd(t->api[slot]);
    TessBaseAPI *api = t->api[slot];
    t->lang[slot][0] = 0;
    if (TessBaseAPIInit3(api, NULL, lang) != 0) {
        if (slot == 1)
            memcpy(t->missing, lang, strlen(lang) + 1);
        sb_error_set(err, SB_ECONFIG, "ocr: tesseract language data '%s' not installed", lang);
        return NULL;
    }
    /* the pages are scans and photos without DPI metadata; 300 is what tesseract assumes */
    TessBaseAPISetVariable(api, "user_defined_dpi", "300");
    TessBaseAPISetVariable(api, "debug_file", "/dev/null");
    /* receipt print is small: the default minimum x-height (10 px) drops lines of it */
    TessBaseAPISetVariable(api, "textord_min_xheight", "6");
    /* tesseract 5 re-reads doubtful lines inverted (white on black); receipts have none of
     * that and it costs time (measured: same text, ~25 % faster without) */
    TessBaseAPISetVariable(api, "tessedit_do_invert", "0");
    /* typographic marks never printed on the training receipts but often "read" from specks,
     * rules and logos; only for Latin-script languages (Chinese uses some of them) */
    if (strcmp(lang, "eng") == 0 || strcmp(lang, SB__OCR_SECOND_LANG) == 0)
        TessBaseAPISetVariable(api, "tessedit_char_blacklist", OCR_BLACKLIST);
    memcpy(t->lang[slot], lang, strlen(lang) + 1);
    return api;
}

static bool tess_cancel(void *cancel_this, int words)
{
    (void)words;
    return sb__media_past(*(const int64_t *)cancel_this);
}

/* The words of the line being collected (collect_lines). */
struct pending_line {
    struct sb_box box;
    float conf;
    size_t n;
    char *text[SB__OCR_LINE_MAX_WORDS];
    struct sb_box wbox[SB__OCR_LINE_MAX_WORDS];
    float wconf[SB__OCR_LINE_MAX_WORDS];
};

static void flush_line(struct sb_ocr_page *out, struct pending_line *pl)
{
    if (pl->n) {
        sb_ocr_page_add_line(out, "", pl->box, pl->conf);
        for (size_t i = 0; i < pl->n; i++) {
            sb_ocr_page_add_word(out, pl->text[i], pl->wbox[i], pl->wconf[i]);
            free(pl->text[i]);
        }
        sb_ocr_line_join_words(&out->lines[out->n_lines - 1]);
    }
    pl->n = 0;
}

/*
 * Reads the recognised page word by word: words tesseract is less sure of than `min_conf`
 * (0..100) are dropped (specks, logo strokes and table rules read as letters), the rest kept
 * with their boxes and confidences and joined with single spaces into lines with the line's box
 * and confidence.
 */
static void collect_lines(TessBaseAPI *api, struct sb_ocr_page *out, double min_conf)
{
    TessResultIterator *it = TessBaseAPIGetIterator(api);
    if (!it)
        return;
    const TessPageIterator *pi = TessResultIteratorGetPageIteratorConst(it);
    struct pending_line *pl = sb_calloc(1, sizeof(*pl));
    do {
        if (TessPageIteratorIsAtBeginningOf(pi, RIL_TEXTLINE)) {
            flush_line(out, pl);
            int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
            TessPageIteratorBoundingBox(pi, RIL_TEXTLINE, &x0, &y0, &x1, &y1);
            pl->box = (struct sb_box){x0, y0, x1 - x0, y1 - y0};
            pl->conf = TessResultIteratorConfidence(it, RIL_TEXTLINE) / 100.0f;
        }
        char *w = TessResultIteratorGetUTF8Text(it, RIL_WORD);
        float c = TessResultIteratorConfidence(it, RIL_WORD);
        if (w && w[0] && c >= min_conf && pl->n < SB__OCR_LINE_MAX_WORDS) {
            int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
            TessPageIteratorBoundingBox(pi, RIL_WORD, &x0, &y0, &x1, &y1);
            pl->text[pl->n] = sb_strdup(w);
            pl->wbox[pl->n] = (struct sb_box){x0, y0, x1 - x0, y1 - y0};
            pl->wconf[pl->n] = c / 100.0f;
            pl->n++;
        }
        TessDeleteText(w);
    } while (TessResultIteratorNext(it, RIL_WORD));
    flush_line(out, pl);
    free(pl);
    TessResultIteratorDelete(it);
}

/* Bilinear enlargement of a crop of `img` by `f` into a new buffer. */
static uint8_t *crop_scaled(const struct sb_image *img, int x0, int y0, int w, int h, double f,
                            int *Wo, int *Ho)
{
    int W = (int)(w * f), H = (int)(h * f);
    *Wo = W;
    *Ho = H;
    uint8_t *o = sb_malloc((size_t)W * (size_t)H);
    for (int y = 0; y < H; y++) {
        double sy = (y + 0.5) / f - 0.5;
        int iy = (int)sy;
        double fy = sy - iy;
        if (sy < 0) {
            iy = 0;
            fy = 0;
        }
        int iy1 = iy + 1 < h ? iy + 1 : h - 1;
        const uint8_t *r0 = img->px + (size_t)(y0 + iy) * img->stride + x0;
        const uint8_t *r1 = img->px + (size_t)(y0 + iy1) * img->stride + x0;
        for (int x = 0; x < W; x++) {
            double sx = (x + 0.5) / f - 0.5;
            int ix = (int)sx;
            double fx = sx - ix;
            if (sx < 0) {
                ix = 0;
                fx = 0;
            }
            int ix1 = ix + 1 < w ? ix + 1 : w - 1;
            double v = (1 - fy) * ((1 - fx) * r0[ix] + fx * r0[ix1]) +
                       fy * ((1 - fx) * r1[ix] + fx * r1[ix1]);
            o[(size_t)y * (size_t)W + (size_t)x] = (uint8_t)(v + 0.5);
        }
    }
    return o;
}

/*
 * Second look at doubtful lines: each line whose confidence is under SB__OCR_REREAD_CONF is cut
 * out with a margin, enlarged SB__OCR_REREAD_SCALE times and read again as a single line; the new
 * reading replaces the old one when tesseract is more confident of it. Small receipt print is
 * where tesseract errs most, and a line alone at twice the size is read better.
 */
static int reread_lines(TessBaseAPI *api, const struct sb_image *img, struct sb_ocr_page *page,
                        int64_t deadline, const struct sb_ocr_opts *opts, struct sb_error *err)
{
    const double thr = SB__OCR_REREAD_CONF;
    TessBaseAPISetPageSegMode(api, PSM_SINGLE_LINE);
    for (size_t i = 0; i < page->n_lines; i++) {
        struct sb_ocr_line *l = &page->lines[i];
        if (l->conf >= thr || l->box.h < 4 || l->box.w < 4 || l->box.h > img->height / 4)
            continue;
        if (sb__media_past(deadline)) {
            TessBaseAPIClear(api);
            return sb_error_set(err, SB_ETIMEDOUT, "ocr: time limit of %u ms passed",
                                opts->time_limit_ms);
        }
        int mx = l->box.h / 2 + 2, my = l->box.h / 4 + 2;
        int x0 = l->box.x - mx < 0 ? 0 : l->box.x - mx;
        int y0 = l->box.y - my < 0 ? 0 : l->box.y - my;
        int x1 = l->box.x + l->box.w + mx > img->width ? img->width : l->box.x + l->box.w + mx;
        int y1 = l->box.y + l->box.h + my > img->height ? img->height : l->box.y + l->box.h + my;
        int w = x1 - x0, h = y1 - y0;
        if (w < 2 || h < 2)
            continue;
        double f = SB__OCR_REREAD_SCALE;
        int W, H;
        uint8_t *buf = crop_scaled(img, x0, y0, w, h, f, &W, &H);
        TessBaseAPISetImage(api, buf, W, H, 1, W);
        TessBaseAPISetSourceResolution(api, (int)(300 * f));
        struct sb_ocr_page tmp = {0};
        if (TessBaseAPIRecognize(api, NULL) == 0)
            collect_lines(api, &tmp, SB__OCR_WORD_MIN_CONF);
        float conf = (float)TessBaseAPIMeanTextConf(api) / 100.0f;
        struct sb_buf t;
        sb_buf_init(&t, 0);
        for (size_t j = 0; j < tmp.n_lines; j++) {
            if (t.len)
                sb_buf_append(&t, " ", 1);
            sb_buf_appends(&t, tmp.lines[j].text);
        }
        if (t.len && conf > l->conf) {
            sb_buf_append(&t, "", 1);
            free(l->text);
            l->text = sb_strdup(t.data);
            l->conf = conf;
            for (size_t j = 0; j < l->n_words; j++) /* the words were of the first reading */
                free(l->words[j].text);
            free(l->words);
            l->words = NULL;
            l->n_words = 0;
        }
        sb_buf_cleanup(&t);
        sb_ocr_page_cleanup(&tmp);
        TessBaseAPIClear(api);
        free(buf);
    }
    return 0;
}

/*
 * SB_OCR_PRE_MERGE: reads the image again with the second model and merges the two readings
 * word by word into `out`. Without that model's data the page is left as it is (one reading).
 */
static int second_reading(const struct sb_image *img, int psm, int64_t deadline,
                          const struct sb_ocr_opts *opts, struct sb_ocr_page *out,
                          struct sb_error *err)
{
    TessBaseAPI *api = tess_handle(SB__OCR_SECOND_LANG, 1, NULL);
    if (!api)
        return 0;
    TessBaseAPISetPageSegMode(api, (TessPageSegMode)psm);
    /* lines the main reading is sure of (every word >= SB__OCR_MERGE_MASK_CONF) are blanked
     * out for the second reading: it would not change them, and it saves its time there */
    uint8_t *masked = sb_malloc(img->stride * (size_t)img->height);
    memcpy(masked, img->px, img->stride * (size_t)img->height);
    for (size_t i = 0; i < out->n_lines; i++) {
        const struct sb_ocr_line *l = &out->lines[i];
        float mn = 1;
        for (size_t j = 0; j < l->n_words; j++)
            mn = l->words[j].conf < mn ? l->words[j].conf : mn;
        if (!l->n_words || mn < SB__OCR_MERGE_MASK_CONF)
            continue;
        int x0 = l->box.x < 0 ? 0 : l->box.x, y0 = l->box.y < 0 ? 0 : l->box.y;
        int x1 = l->box.x + l->box.w > img->width ? img->width : l->box.x + l->box.w;
        int y1 = l->box.y + l->box.h > img->height ? img->height : l->box.y + l->box.h;
        for (int y = y0; y < y1 && x1 > x0; y++)
            memset(masked + (size_t)y * img->stride + (size_t)x0, 255, (size_t)(x1 - x0));
    }
    TessBaseAPISetImage(api, masked, img->width, img->height, 1, (int)img->stride);
    TessBaseAPISetSourceResolution(api, 300);
    ETEXT_DESC *mon = TessMonitorCreate();
    TessMonitorSetCancelFunc(mon, tess_cancel);
    TessMonitorSetCancelThis(mon, &deadline);
    int rc = TessBaseAPIRecognize(api, mon);
    TessMonitorDelete(mon);
    if (sb__media_past(deadline)) {
        TessBaseAPIClear(api);
        free(masked);
        return sb_error_set(err, SB_ETIMEDOUT, "ocr: time limit of %u ms passed",
                            opts->time_limit_ms);
    }
    if (rc == 0) {
        struct sb_ocr_page second = {0};
        collect_lines(api, &second, SB__OCR_WORD_MIN_CONF);
        static const struct sb__ocr_merge_params p = {SB__OCR_MERGE_ALONE,
                                                      SB__OCR_MERGE_MARGIN_ALPHA,
                                                      SB__OCR_MERGE_MARGIN_NUM};
        sb__ocr_merge_readings(out, &second, &p);
        sb_ocr_page_cleanup(&second);
    }
    TessBaseAPIClear(api);
    free(masked); /* after Clear: tesseract is done with the image */
    return 0;
}

static int tess_recognize(const struct sb_image *img, const struct sb_ocr_opts *opts,
                          struct sb_ocr_page *out, struct sb_error *err)
{
    const char *lang = opts && opts->lang && opts->lang[0] ? opts->lang : "eng";
    for (const char *c = lang; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' || *c == '+'))
            return sb_error_set(err, SB_EINVAL, "ocr: bad language name");
    TessBaseAPI *api = tess_handle(lang, 0, err);
    if (!api)
        return err && err->code ? err->code : SB_ECONFIG;
    int psm = opts && opts->psm > 0 ? opts->psm : SB__OCR_DEFAULT_PSM;
    if (psm > 13)
        return sb_error_set(err, SB_EINVAL, "ocr: page segmentation mode %d", psm);
    TessBaseAPISetPageSegMode(api, (TessPageSegMode)psm);
    TessBaseAPISetImage(api, img->px, img->width, img->height, 1, (int)img->stride);
    TessBaseAPISetSourceResolution(api, 300);

    int64_t deadline = sb__media_deadline(opts ? opts->time_limit_ms : 0);
    ETEXT_DESC *mon = TessMonitorCreate();
    TessMonitorSetCancelFunc(mon, tess_cancel);
    TessMonitorSetCancelThis(mon, &deadline);
    int rc = TessBaseAPIRecognize(api, mon);
    TessMonitorDelete(mon);
    if (sb__media_past(deadline)) {
        TessBaseAPIClear(api);
        return sb_error_set(err, SB_ETIMEDOUT, "ocr: time limit of %u ms passed",
                            opts->time_limit_ms);
    }
    if (rc != 0) {
        TessBaseAPIClear(api);
        return sb_error_set(err, SB_EINTERNAL, "ocr: tesseract failed to recognise the image");
    }
    unsigned steps = !opts || opts->preprocess == SB_OCR_PRE_DEFAULT ? SB__OCR_DEFAULT_PRE
                                                                     : opts->preprocess;
    /* the network decides itself which doubtful words to keep; without its model the Latin
       merge (when asked for too) is the next best second reading */
    int network = (steps & SB_OCR_PRE_PPOCR) && sb__ocr_ppocr_available(NULL);
    collect_lines(api, out, network ? 0 : SB__OCR_WORD_MIN_CONF);
    TessBaseAPIClear(api);
    if (network) {
        int rc2 = sb__ocr_ppocr_reread(img, out, deadline, err);
        if (rc2)
            return rc2;
    } else if ((steps & SB_OCR_PRE_MERGE) && strcmp(lang, "eng") == 0) {
        int rc2 = second_reading(img, psm, deadline, opts, out, err);
        if (rc2)
            return rc2;
    }
    if (steps & SB_OCR_PRE_REREAD) {
        int rc2 = reread_lines(api, img, out, deadline, opts, err);
        if (rc2)
            return rc2;
    }
    sb__ocr_join_tight_commas(img, out);
    out->width = img->width;
    out->height = img->height;
    sb_ocr_page_finish(out);
    return 0;
}

const struct sb_ocr_ops sb_ocr_tesseract = {
    .api_version = SB_OCR_API_VERSION,
    .name = "tesseract",
    .recognize = tess_recognize,
    .thread_cleanup = tess_thread_cleanup,
};

int sb_media_single_thread_reexec(const char *command, int argc, char **argv)
{
    static const char *const vars[] = {"OMP_THREAD_LIMIT", "OPENBLAS_NUM_THREADS"};
    int set = 0;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0])
            continue;
        if (setenv(vars[i], "1", 1) != 0)
            return SB_EINTERNAL;
        set++;
    }
    if (!set)
        return 0;
    char **args = sb_calloc((size_t)argc + 3, sizeof(char *));
    args[0] = (char *)"switchboard";
    args[1] = (char *)command;
    for (int i = 0; i < argc; i++)
        args[i + 2] = argv[i];
    execv("/proc/self/exe", args);
    free(args); /* exec failed: go on with the default thread count */
    return SB_EINTERNAL;
}

/* ---- the pipeline entry point --------------------------------------------------------------- */

void sb_media_ocr_result_cleanup(struct sb_ocr_result *r)
{
    if (!r)
        return;
    sb_ocr_page_cleanup(&r->page);
    sb_receipt_fields_cleanup(&r->fields);
    memset(r, 0, sizeof(*r));
}

int sb_media_ocr_image(const void *data, size_t n, const struct sb_ocr_opts *opts,
                       const struct sb_ocr_ops *engine, struct sb_ocr_result *out,
                       struct sb_error *err)
{
    static const struct sb_ocr_opts defaults = {.preprocess = SB_OCR_PRE_DEFAULT};
    if (!opts)
        opts = &defaults;
    if (!engine)
        engine = &sb_ocr_tesseract;
    int rc = sb_ocr_engine_check(engine, err);
    if (rc)
        return rc;
    int64_t t0 = sb_mono_ns();
    struct sb_ocr_result r = {0};
    struct sb_image img = {0}, pre = {0};
    size_t max = opts->max_bytes ? opts->max_bytes : SB_MEDIA_IMAGE_MAX_BYTES;
    if (n > max) {
        rc = sb_error_set(err, SB_ETOOBIG, "image: %zu bytes, limit %zu", n, max);
        goto out;
    }
    if (sb_media_sniff(data, n, r.mime, sizeof r.mime) != SB_MEDIA_IMAGE) {
        rc = sb_error_set(err, SB_EUNSUPPORTED, "image: type %s is not an image we read",
                          r.mime);
        goto out;
    }
    rc = sb_media_image_decode(data, n, max, opts->max_pixels, &img, err);
    if (rc)
        goto out;
    unsigned steps = opts->preprocess == SB_OCR_PRE_DEFAULT ? SB__OCR_DEFAULT_PRE
                                                            : opts->preprocess;
    double scale = 1;
    rc = sb__media_preprocess(&img, steps, &pre, &scale);
    if (rc) {
        sb_error_set(err, rc, "image: pre-processing failed");
        goto out;
    }
    rc = engine->recognize(&pre, opts, &r.page, err);
    if (rc)
        goto out;
    /* boxes back to original-image pixels */
    for (size_t i = 0; i < r.page.n_lines && scale != 1; i++) {
        struct sb_ocr_line *l = &r.page.lines[i];
        for (size_t j = 0; j <= l->n_words; j++) {
            struct sb_box *b = j < l->n_words ? &l->words[j].box : &l->box;
            b->x = (int)(b->x / scale);
            b->y = (int)(b->y / scale);
            b->w = (int)(b->w / scale);
            b->h = (int)(b->h / scale);
        }
    }
    r.page.width = img.width;
    r.page.height = img.height;
    if (opts->lexicon)
        sb_ocr_lexicon_correct(opts->lexicon, &r.page, SB__OCR_LEXICON_MIN_DF);
    if (opts->key_fields)
        sb_media_receipt_fields(&r.page, &r.fields);
    r.seconds = (double)(sb_mono_ns() - t0) / 1e9;
    *out = r;
    memset(&r, 0, sizeof r);
out:
    sb_media_ocr_result_cleanup(&r);
    sb_image_cleanup(&img);
    sb_image_cleanup(&pre);
    return rc;
}
