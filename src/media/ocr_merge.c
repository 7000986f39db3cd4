/* SPDX-License-Identifier: MIT */
/*
 * Word-level merge of two OCR readings of the same image (docs/media.md, fifth round): the main
 * reading (tesseract `eng`) keeps its lines, layout and line confidences; the words of a second
 * reading (tesseract `Latin`, a model trained on many more fonts) are assigned to the main line
 * they overlap vertically, and within each line the words of both readings are grouped by
 * horizontal overlap. For each group the reading with the higher mean word confidence wins
 * (the second one needs a small margin on numeric groups, where it is weaker: it reads "$" as
 * "8"); a group only the second reading has is added when it is confident. The two models err
 * on different words, so per word the more confident one is right more often than either alone.
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

struct merge_item {
    const struct sb_ocr_word *w;
    int side;   /* 0 main, 1 second */
    size_t idx; /* input order, for a stable sort */
};

static int cmp_item(const void *a, const void *b)
{
    const struct merge_item *x = a, *y = b;
    if (x->w->box.x != y->w->box.x)
        return x->w->box.x < y->w->box.x ? -1 : 1;
    if (x->side != y->side)
        return x->side - y->side;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int v_overlap(const struct sb_box *a, const struct sb_box *b)
{
    int top = a->y > b->y ? a->y : b->y;
    int bot = a->y + a->h < b->y + b->h ? a->y + a->h : b->y + b->h;
    return bot - top;
}

/* The main line a second-reading word belongs to, or -1: the largest vertical overlap of at
 * least half the word's height, horizontally within one line height of the line. */
static long assign_line(const struct sb_ocr_page *page, const struct sb_box *wb)
{
    long best = -1;
    int bv = 0;
    for (size_t k = 0; k < page->n_lines; k++) {
        const struct sb_box *lb = &page->lines[k].box;
        int v = v_overlap(wb, lb);
        if (v > bv && 2 * v >= wb->h && wb->x < lb->x + lb->w + lb->h &&
            wb->x + wb->w > lb->x - lb->h) {
            best = (long)k;
            bv = v;
        }
    }
    return best;
}

/* More digits than letters (ASCII) in the words of one side of a group. */
static int numeric(struct merge_item *it, size_t n, int side)
{
    int d = 0, a = 0;
    for (size_t i = 0; i < n; i++) {
        if (it[i].side != side)
            continue;
        for (const char *c = it[i].w->text; *c; c++) {
            d += *c >= '0' && *c <= '9';
            a += (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');
        }
    }
    return d > a;
}

/* Decides one group items[0..n) and appends the winning words to `out`. */
static void decide(struct merge_item *it, size_t n, const struct sb__ocr_merge_params *p,
                   struct sb_ocr_word *out, size_t *n_out)
{
    double sum[2] = {0, 0}, minc[2] = {2, 2};
    size_t cnt[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        int s = it[i].side;
        sum[s] += it[i].w->conf;
        cnt[s]++;
        if (it[i].w->conf < minc[s])
            minc[s] = it[i].w->conf;
    }
    int take;
    if (cnt[0] && cnt[1]) {
        double m = numeric(it, n, 0) ? p->margin_num : p->margin_alpha;
        take = sum[1] / (double)cnt[1] > sum[0] / (double)cnt[0] + m ? 1 : 0;
    } else if (cnt[0]) {
        take = 0;
    } else {
        if (minc[1] < p->alone_min_conf)
            return;
        take = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (it[i].side != take)
            continue;
        struct sb_ocr_word *w = &out[(*n_out)++];
        w->text = sb_strdup(it[i].w->text);
        w->box = it[i].w->box;
        w->conf = it[i].w->conf;
    }
}

void sb__ocr_merge_readings(struct sb_ocr_page *page, const struct sb_ocr_page *second,
                            const struct sb__ocr_merge_params *p)
{
    size_t n2 = 0;
    for (size_t k = 0; k < second->n_lines; k++)
        n2 += second->lines[k].n_words;
    if (!n2 || !page->n_lines)
        return;
    /* second-reading words, each tagged with its main line */
    const struct sb_ocr_word **sw = sb_malloc(n2 * sizeof(*sw));
    long *sl = sb_malloc(n2 * sizeof(*sl));
    size_t m = 0;
    for (size_t k = 0; k < second->n_lines; k++)
        for (size_t j = 0; j < second->lines[k].n_words; j++) {
            sw[m] = &second->lines[k].words[j];
            sl[m] = assign_line(page, &sw[m]->box);
            m++;
        }
    for (size_t k = 0; k < page->n_lines; k++) {
        struct sb_ocr_line *l = &page->lines[k];
        if (!l->n_words)
            continue; /* an engine without words: nothing to align */
        size_t n = l->n_words;
        for (size_t i = 0; i < n2; i++)
            n += sl[i] == (long)k;
        struct merge_item *it = sb_malloc(n * sizeof(*it));
        size_t c = 0;
        for (size_t j = 0; j < l->n_words; j++)
            it[c++] = (struct merge_item){&l->words[j], 0, j};
        for (size_t i = 0; i < n2; i++)
            if (sl[i] == (long)k)
                it[c++] = (struct merge_item){sw[i], 1, i};
        qsort(it, n, sizeof(*it), cmp_item);
        struct sb_ocr_word *out = sb_malloc(n * sizeof(*out));
        size_t n_out = 0, g0 = 0;
        int gx1 = it[0].w->box.x + it[0].w->box.w, gw = it[0].w->box.w;
        for (size_t i = 1; i <= n; i++) {
            if (i < n) {
                int x0 = it[i].w->box.x, x1 = x0 + it[i].w->box.w;
                int ov = (x1 < gx1 ? x1 : gx1) - x0;
                int mw = x1 - x0 < gw ? x1 - x0 : gw;
                if (10 * ov > 3 * (mw > 1 ? mw : 1)) { /* overlap > 30 % of the narrower */
                    if (x1 > gx1) {
                        gx1 = x1;
                        gw = gx1 - it[g0].w->box.x;
                    }
                    continue;
                }
            }
            decide(it + g0, i - g0, p, out, &n_out);
            if (i < n) {
                g0 = i;
                gx1 = it[i].w->box.x + it[i].w->box.w;
                gw = it[i].w->box.w;
            }
        }
        for (size_t j = 0; j < l->n_words; j++)
            free(l->words[j].text);
        free(l->words);
        l->words = out;
        l->n_words = n_out;
        if (n_out)
            sb_ocr_line_join_words(l);
        else {
            free(l->text);
            l->text = sb_strdup("");
        }
        free(it);
    }
    free(sw);
    free(sl);
    sb_ocr_page_finish(page);
}
