/* SPDX-License-Identifier: MIT */
/*
 * The linear model at inference time: the feature index (open-addressing hash table), TF-IDF
 * vectorisation shared with the trainer, scoring with int8 weight rows, calibrated
 * probabilities and the out-of-scope decision. A model is immutable once built, so any number
 * of threads may classify with it; references are counted atomically.
 */
#include "nlu_internal.h"
#include "sb/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *sb_nlu_kind_name(enum sb_nlu_kind kind)
{
    return kind == SB_NLU_INTENT ? "intent" : kind == SB_NLU_SENTIMENT ? "sentiment" : "unknown";
}

enum sb_nlu_kind sb_nlu_kind_parse(const char *name)
{
    if (name && strcmp(name, "intent") == 0)
        return SB_NLU_INTENT;
    if (name && strcmp(name, "sentiment") == 0)
        return SB_NLU_SENTIMENT;
    return (enum sb_nlu_kind)0;
}

static size_t slot_of(uint64_t h, size_t mask)
{
    return (size_t)(h ^ (h >> 29)) & mask;
}

void sb__nlu_model_index(struct sb_nlu_model *m)
{
    size_t cap = 16;
    while (cap < (size_t)m->nfeat * 2)
        cap <<= 1;
    m->table.keys = sb_calloc(cap, sizeof(uint64_t));
    m->table.vals = sb_calloc(cap, sizeof(uint32_t));
    m->table.mask = cap - 1;
    for (uint32_t i = 0; i < m->nfeat; i++) {
        size_t s = slot_of(m->hashes[i], m->table.mask);
        while (m->table.keys[s])
            s = (s + 1) & m->table.mask;
        m->table.keys[s] = m->hashes[i];
        m->table.vals[s] = i;
    }
}

int64_t sb__nlu_model_find(const struct sb_nlu_model *m, uint64_t h)
{
    size_t s = slot_of(h, m->table.mask);
    for (;;) {
        uint64_t k = m->table.keys[s];
        if (k == h)
            return m->table.vals[s];
        if (!k)
            return -1;
        s = (s + 1) & m->table.mask;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t sb__nlu_vectorize(struct sb__nlu_hvec *f, const struct sb__nlu_feat_cfg *cfg,
                         const float *idf, sb__nlu_lookup_fn lookup, const void *ctx,
                         uint32_t *idx, float *val, size_t cap)
{
    qsort(f->h, f->n, sizeof(uint64_t), cmp_u64);
    size_t n = 0;
    double norm[2] = {0, 0};
    for (size_t i = 0; i < f->n && n < cap;) {
        size_t j = i + 1;
        while (j < f->n && f->h[j] == f->h[i])
            j++;
        int64_t k = lookup(ctx, f->h[i]);
        if (k >= 0) {
            double v = (1.0 + log((double)(j - i))) * idf[k];
            int blk = (f->h[i] & SB__NLU_CHAR_BIT) ? 1 : 0;
            idx[n] = (uint32_t)k | ((uint32_t)blk << 31);
            val[n] = (float)v;
            norm[blk] += v * v;
            n++;
        }
        i = j;
    }
    /* the high bit of idx marked the character block during the first pass */
    double sw = norm[0] > 0 ? cfg->word_weight / sqrt(norm[0]) : 0;
    double sc = norm[1] > 0 ? cfg->char_weight / sqrt(norm[1]) : 0;
    for (size_t i = 0; i < n; i++) {
        int blk = (idx[i] >> 31) & 1;
        idx[i] &= 0x7fffffffu;
        val[i] = (float)(val[i] * (blk ? sc : sw));
    }
    return n;
}

void sb__nlu_softmax(double *s, size_t n, double t)
{
    double mx = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] * t > mx)
            mx = s[i] * t;
    for (size_t i = 0; i < n; i++) {
        s[i] = exp(s[i] * t - mx);
        sum += s[i];
    }
    for (size_t i = 0; i < n; i++)
        s[i] /= sum;
}

static int64_t model_lookup(const void *ctx, uint64_t h)
{
    return sb__nlu_model_find(ctx, h);
}

struct sb_nlu_model *sb_nlu_model_ref(struct sb_nlu_model *m)
{
    if (m)
        atomic_fetch_add(&m->refs, 1);
    return m;
}

void sb_nlu_model_free(struct sb_nlu_model *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) > 1)
        return;
    for (uint32_t i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->labels);
    free(m->hashes);
    free(m->idf);
    free(m->wq);
    free(m->wscale);
    free(m->bias);
    free(m->table.keys);
    free(m->table.vals);
    free(m);
}

enum sb_nlu_kind sb_nlu_model_kind(const struct sb_nlu_model *m)
{
    return m->kind;
}

size_t sb_nlu_model_nlabels(const struct sb_nlu_model *m)
{
    return m->nlabels;
}

const char *sb_nlu_model_label(const struct sb_nlu_model *m, size_t i)
{
    return i < m->nlabels ? m->labels[i] : NULL;
}

double sb_nlu_model_oos_threshold(const struct sb_nlu_model *m)
{
    return m->oos_threshold;
}

#define MAX_ACTIVE 8192

int sb_nlu_classify(const struct sb_nlu_model *m, const char *text, size_t len,
                    double oos_threshold, struct sb_nlu_result *res)
{
    if (!m || !res || (!text && len))
        return SB_EINVAL;
    struct sb__nlu_hvec f = {0};
    uint32_t idx[MAX_ACTIVE];
    float val[MAX_ACTIVE];
    sb__nlu_features(text ? text : "", len, &m->cfg, &f);
    size_t n = sb__nlu_vectorize(&f, &m->cfg, m->idf, model_lookup, m, idx, val, MAX_ACTIVE);
    sb__nlu_hvec_cleanup(&f);

    size_t K = m->nlabels;
    double stack[256];
    double *s = K <= 256 ? stack : sb_malloc(K * sizeof(double));
    float acc[256];
    float *a = K <= 256 ? acc : sb_malloc(K * sizeof(float));
    for (size_t k = 0; k < K; k++)
        a[k] = m->bias[k];
    for (size_t i = 0; i < n; i++) {
        const int8_t *row = m->wq + (size_t)idx[i] * K;
        float x = val[i] * m->wscale[idx[i]];
        for (size_t k = 0; k < K; k++)
            a[k] += x * (float)row[k];
    }
    for (size_t k = 0; k < K; k++)
        s[k] = a[k];
    sb__nlu_softmax(s, K, m->temperature);

    memset(res, 0, sizeof(*res));
    for (int t = 0; t < SB_NLU_TOPK && (size_t)t < K; t++) {
        int best = -1;
        for (size_t k = 0; k < K; k++) {
            int taken = 0;
            for (int u = 0; u < t; u++)
                if (res->top[u].label == m->labels[k])
                    taken = 1;
            if (!taken && (best < 0 || s[k] > s[best]))
                best = (int)k;
        }
        res->top[t].label = m->labels[best];
        res->top[t].p = s[best];
        if (t == 0)
            res->index = best;
        res->ntop = t + 1;
    }
    res->label = res->top[0].label;
    res->confidence = res->top[0].p;
    if (m->kind == SB_NLU_INTENT) {
        double thr = oos_threshold < 0 ? m->oos_threshold : oos_threshold;
        if (res->index == m->oos_index || (thr > 0 && (res->confidence < thr || thr >= 1))) {
            res->is_oos = 1;
            res->label = SB_NLU_OOS_LABEL;
        }
    }
    if (s != stack)
        free(s);
    if (a != acc)
        free(a);
    return 0;
}
