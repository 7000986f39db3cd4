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
    m->table.slots = sb_calloc(cap, sizeof(struct sb__nlu_slot));
    m->table.mask = cap - 1;
    for (uint32_t i = 0; i < m->nfeat; i++) {
        size_t s = slot_of(m->hashes[i], m->table.mask);
        while (m->table.slots[s].key)
            s = (s + 1) & m->table.mask;
        m->table.slots[s].key = m->hashes[i];
        m->table.slots[s].val = i;
    }
    /* fused records: idf, the scales, the rows; the stride a multiple of 4 */
    size_t off = 4 + 4 * (size_t)m->nmembers;
    for (uint32_t j = 0; j < m->nmembers; j++) {
        m->member[j].off = (uint32_t)off;
        off += m->member[j].width;
    }
    m->stride = (off + 3) & ~(size_t)3;
    size_t F = m->nfeat;
    m->rec = sb_calloc(F ? F : 1, m->stride);
    for (size_t f = 0; f < F; f++) {
        unsigned char *r = m->rec + f * m->stride;
        memcpy(r, &m->idf[f], 4);
        for (uint32_t j = 0; j < m->nmembers; j++) {
            struct sb__nlu_member *mb = &m->member[j];
            memcpy(r + 4 + 4 * j, &mb->wscale[f], 4);
            memcpy(r + mb->off, mb->wq + f * mb->width, mb->width);
        }
    }
    for (uint32_t j = 0; j < m->nmembers; j++) {
        free(m->member[j].wq);
        free(m->member[j].wscale);
        m->member[j].wq = NULL;
        m->member[j].wscale = NULL;
    }
}

int64_t sb__nlu_model_find(const struct sb_nlu_model *m, uint64_t h)
{
    size_t s = slot_of(h, m->table.mask);
    for (;;) {
        const struct sb__nlu_slot *e = &m->table.slots[s];
        if (e->key == h)
            return e->val;
        if (!e->key)
            return -1;
        s = (s + 1) & m->table.mask;
    }
}

/* Counts repeats of the hashes in f in place: f->h keeps the distinct ones in first-seen
 * order, cnt[i] the count of f->h[i] (cnt holds f->n entries). Returns the distinct count. */
static size_t dedupe(struct sb__nlu_hvec *f, uint32_t *cnt)
{
    uint32_t stack_slot[2048];
    size_t tcap = 64;
    while (tcap < f->n * 2)
        tcap <<= 1;
    uint32_t *slot = tcap <= 2048 ? stack_slot : sb_malloc(tcap * sizeof(uint32_t));
    memset(slot, 0, tcap * sizeof(uint32_t));
    size_t nu = 0;
    for (size_t i = 0; i < f->n; i++) {
        uint64_t h = f->h[i];
        size_t s = (size_t)(h ^ (h >> 31)) & (tcap - 1);
        for (;;) {
            uint32_t o = slot[s];
            if (!o) {
                slot[s] = (uint32_t)nu + 1;
                f->h[nu] = h; /* nu <= i: compaction never overwrites an unread hash */
                cnt[nu++] = 1;
                break;
            }
            if (f->h[o - 1] == h) {
                cnt[o - 1]++;
                break;
            }
            s = (s + 1) & (tcap - 1);
        }
    }
    if (slot != stack_slot)
        free(slot);
    f->n = nu;
    return nu;
}

size_t sb__nlu_vectorize(struct sb__nlu_hvec *f, const struct sb__nlu_feat_cfg *cfg,
                         const float *idf, sb__nlu_lookup_fn lookup, const void *ctx, uint32_t *idx,
                         float *val, float *bin, size_t cap)
{
    uint32_t stack_cnt[1024];
    uint32_t *cnt = f->n <= 1024 ? stack_cnt : sb_malloc((f->n ? f->n : 1) * sizeof(uint32_t));
    size_t nu = dedupe(f, cnt);
    size_t n = 0, nb[2] = {0, 0};
    double norm[2] = {0, 0};
    for (size_t i = 0; i < nu && n < cap; i++) {
        int64_t k = lookup(ctx, f->h[i]);
        if (k < 0)
            continue;
        double v = (1.0 + log((double)cnt[i])) * idf[k];
        int blk = (f->h[i] & SB__NLU_CHAR_BIT) ? 1 : 0;
        idx[n] = (uint32_t)k | ((uint32_t)blk << 31);
        val[n] = (float)v;
        norm[blk] += v * v;
        nb[blk]++;
        n++;
    }
    if (cnt != stack_cnt)
        free(cnt);
    /* the high bit of idx marked the character block during the first pass */
    double sw = norm[0] > 0 ? cfg->word_weight / sqrt(norm[0]) : 0;
    double sc = norm[1] > 0 ? cfg->char_weight / sqrt(norm[1]) : 0;
    double bw = nb[0] ? cfg->word_weight / sqrt((double)nb[0]) : 0;
    double bc = nb[1] ? cfg->char_weight / sqrt((double)nb[1]) : 0;
    for (size_t i = 0; i < n; i++) {
        int blk = (idx[i] >> 31) & 1;
        idx[i] &= 0x7fffffffu;
        val[i] = (float)(val[i] * (blk ? sc : sw));
        if (bin)
            bin[i] = (float)(blk ? bc : bw);
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

void sb__nlu_member_cleanup(struct sb__nlu_member *mb)
{
    free(mb->wq);
    free(mb->wscale);
    free(mb->bias);
    free(mb->w2);
    free(mb->b2);
    memset(mb, 0, sizeof(*mb));
}

/* a += v * row, the hot loop of scoring (restrict: int8 rows may alias anything otherwise) */
static void axpy_i8(float *restrict a, const int8_t *restrict row, float v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        a[k] += v * (float)row[k];
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
    for (uint32_t i = 0; i < m->nmembers; i++)
        sb__nlu_member_cleanup(&m->member[i]);
    free(m->table.slots);
    free(m->rec);
    sb__nlu_lex_free(m->lex);
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
    uint64_t hstack[1024];
    f.h = hstack; /* grows onto the heap only for long texts */
    f.cap = sizeof(hstack) / sizeof(hstack[0]);
    f.borrowed = 1;
    sb__nlu_features(text ? text : "", len, &m->cfg, &f);
    uint32_t cstack[1024];
    uint32_t *cnt = f.n <= 1024 ? cstack : sb_malloc(f.n * sizeof(uint32_t));
    size_t nu = dedupe(&f, cnt);

    /* look the distinct features up; TF-IDF and binary values, per-block norms */
    uint32_t idx[MAX_ACTIVE];
    float val[MAX_ACTIVE];
    uint8_t blk[MAX_ACTIVE];
    size_t n = 0, nb[2] = {0, 0};
    double norm[2] = {0, 0};
    for (size_t i = 0; i < nu && n < MAX_ACTIVE; i++) {
        int64_t k = sb__nlu_model_find(m, f.h[i]);
        if (k < 0)
            continue;
        /* start fetching the record now: the next lookups overlap with it */
        __builtin_prefetch(m->rec + (size_t)k * m->stride);
        idx[n] = (uint32_t)k;
        val[n] = (float)cnt[i];
        blk[n] = (f.h[i] & SB__NLU_CHAR_BIT) ? 1 : 0;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        double v = (1.0 + log((double)val[i])) * sb__nlu_rec_idf(m, idx[i]);
        val[i] = (float)v;
        norm[blk[i]] += v * v;
        nb[blk[i]]++;
    }
    if (cnt != cstack)
        free(cnt);
    sb__nlu_hvec_cleanup(&f);
    float sv[2] = {norm[0] > 0 ? (float)(m->cfg.word_weight / sqrt(norm[0])) : 0,
                   norm[1] > 0 ? (float)(m->cfg.char_weight / sqrt(norm[1])) : 0};
    float sb[2] = {nb[0] ? (float)(m->cfg.word_weight / sqrt((double)nb[0])) : 0,
                   nb[1] ? (float)(m->cfg.char_weight / sqrt((double)nb[1])) : 0};

    /* every member's first layer in one pass over the fused records */
    size_t K = m->nlabels, J = m->nmembers;
    size_t width = 0;
    for (size_t j = 0; j < J; j++)
        width += m->member[j].width;
    float astack[1024];
    float *acc = width <= 1024 ? astack : sb_malloc(width * sizeof(float));
    float *aj[SB__NLU_MAX_MEMBERS];
    for (size_t j = 0, o = 0; j < J; j++) {
        aj[j] = acc + o;
        memcpy(aj[j], m->member[j].bias, m->member[j].width * sizeof(float));
        o += m->member[j].width;
    }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *r = m->rec + (size_t)idx[i] * m->stride;
        float tv = val[i] * sv[blk[i]], bv = sb[blk[i]];
        for (size_t j = 0; j < J; j++) {
            const struct sb__nlu_member *mb = &m->member[j];
            float sc;
            memcpy(&sc, r + 4 + 4 * j, 4);
            axpy_i8(aj[j], (const int8_t *)(r + mb->off), (mb->type == SB__NLU_M_NB ? bv : tv) * sc,
                    mb->width);
        }
    }
    double stack[256];
    double *s = K <= 256 ? stack : sb_malloc(K * sizeof(double));
    for (size_t k = 0; k < K; k++)
        s[k] = 0;
    for (size_t j = 0; j < J; j++) {
        const struct sb__nlu_member *mb = &m->member[j];
        float *a = aj[j];
        if (mb->type != SB__NLU_M_MLP) {
            for (size_t k = 0; k < K; k++)
                s[k] += mb->weight * a[k];
            continue;
        }
        size_t W = mb->width;
        for (size_t h = 0; h < W; h++)
            if (a[h] < 0)
                a[h] = 0;
        for (size_t k = 0; k < K; k++) {
            const float *w = mb->w2 + k * W;
            float d = mb->b2[k];
            for (size_t h = 0; h < W; h++)
                d += w[h] * a[h];
            s[k] += mb->weight * d;
        }
    }
    if (acc != astack)
        free(acc);
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
    return 0;
}
