/* SPDX-License-Identifier: MIT */
/*
 * The sentence encoder adapted to one KB: a linear map M (SB_EMBED_DIM × SB_EMBED_DIM) fitted
 * on the KB's own entries so that a question's embedding lands near the answers it asks for.
 * The general-purpose encoder (USE-lite) places "how do I stop autoplay" close to whatever
 * shares its surface; the KB itself says which questions go with which answers (a FAQ's
 * question and its answer, an article's title and its sections). The map is fitted on those
 * (title, body) pairs with an in-batch contrastive loss (each title must pick its own body out
 * of the batch's), starting from the identity and pulled back to it by weight decay. No
 * customer question is used: this is unsupervised adaptation to the KB's text, as idf is.
 * StackFAQ (docs/kb.md, session 8): the encoder alone MRR@10 0.69 -> 0.79, fused CV 0.875 ->
 * 0.889. Both vectors of a cosine go through the same map, so cosines stay symmetric.
 */
#include "kb_internal.h"

#include "sb/mem.h"
#include "sb/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define D SB_EMBED_DIM
#define BATCH 64
#define STEPS 400
#define TAU 0.1f   /* softmax temperature over cosines */
#define LR 1e-3f   /* Adam step */
#define DECAY 0.01f /* pull towards the identity */

/* splitmix64: the fit is deterministic for the same pairs */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void transpose(const float *a, size_t rows, size_t cols, float *t)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            t[j * rows + i] = a[i * cols + j];
}

/* rows of z (n × D) scaled to unit length; their lengths into len */
static void normalise_rows(float *z, size_t n, float *len)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < D; j++)
            s += (double)z[i * D + j] * z[i * D + j];
        float l = s > 1e-24 ? (float)sqrt(s) : 1e-12f;
        if (len)
            len[i] = l;
        for (size_t j = 0; j < D; j++)
            z[i * D + j] /= l;
    }
}

void sb__kb_adapt_map(const float *m, const float *in, size_t n, float *out)
{
    memset(out, 0, n * D * sizeof(float));
    sb_nn_matmul(n, D, D, in, D, m, D, out, D);
    normalise_rows(out, n, NULL);
}

/* Gradient of the loss at the unit rows u (length len) given the gradient du with respect to
 * them: the component along u is dropped (normalisation), the rest scaled by 1/len; in place. */
static void through_norm(float *du, const float *u, const float *len, size_t b)
{
    for (size_t i = 0; i < b; i++) {
        double p = 0;
        for (size_t j = 0; j < D; j++)
            p += (double)du[i * D + j] * u[i * D + j];
        for (size_t j = 0; j < D; j++)
            du[i * D + j] = (du[i * D + j] - (float)p * u[i * D + j]) / len[i];
    }
}

/* Pairs by group (a counting sort on the group ids, which are index groups: small): pairs
 * start[g] .. start[g + 1] - 1 of order are those of the g-th non-empty group; returns how many
 * groups. A batch takes one pair per group: pairs of one group (answers to one question,
 * sections of one article) must not be each other's negatives. */
static size_t by_group(const uint32_t *group, size_t n, uint32_t *order, uint32_t *start)
{
    uint32_t gmax = 0;
    for (size_t i = 0; i < n; i++)
        gmax = group[i] > gmax ? group[i] : gmax;
    uint32_t *end = sb_calloc((size_t)gmax + 2, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++)
        end[group[i] + 1]++;
    for (uint32_t g = 0; g <= gmax; g++)
        end[g + 1] += end[g];
    for (size_t i = 0; i < n; i++)
        order[end[group[i]]++] = (uint32_t)i;
    /* end[g] is now where group g ends */
    size_t ng = 0;
    uint32_t prev = 0;
    for (uint32_t g = 0; g <= gmax; g++) {
        if (end[g] > prev)
            start[ng++] = prev;
        prev = end[g];
    }
    start[ng] = (uint32_t)n;
    free(end);
    return ng;
}

int sb__kb_adapt_fit(const float *anchor, const float *positive, const uint32_t *group, size_t n,
                     float *m)
{
    uint32_t *order = sb_malloc((n ? n : 1) * sizeof(uint32_t));
    uint32_t *start = sb_malloc((n + 1) * sizeof(uint32_t));
    size_t ng = by_group(group, n, order, start);
    if (ng < SB__KB_ADAPT_MIN_GROUPS) {
        free(order);
        free(start);
        return SB_EINVAL;
    }
    size_t b = ng < BATCH ? ng : BATCH;
    uint32_t *gperm = sb_malloc(ng * sizeof(uint32_t));
    for (size_t g = 0; g < ng; g++)
        gperm[g] = (uint32_t)g;

    size_t dd = (size_t)D * D;
    float *adam_m = sb_calloc(dd, sizeof(float)), *adam_v = sb_calloc(dd, sizeof(float));
    float *grad = sb_malloc(dd * sizeof(float));
    float *xa = sb_malloc(b * D * sizeof(float)), *xp = sb_malloc(b * D * sizeof(float));
    float *ua = sb_malloc(b * D * sizeof(float)), *up = sb_malloc(b * D * sizeof(float));
    float *dua = sb_malloc(b * D * sizeof(float)), *dup_ = sb_malloc(b * D * sizeof(float));
    float *t = sb_malloc(b * D * sizeof(float)); /* transposes */
    float *s = sb_malloc(b * b * sizeof(float)), *st = sb_malloc(b * b * sizeof(float));
    float *la = sb_malloc(b * sizeof(float)), *lp = sb_malloc(b * sizeof(float));
    memset(m, 0, dd * sizeof(float));
    for (size_t i = 0; i < D; i++)
        m[i * D + i] = 1;
    uint64_t rng = 42;
    double b1t = 1, b2t = 1;
    for (int step = 0; step < STEPS; step++) {
        /* b distinct groups (partial shuffle), one random pair of each */
        for (size_t i = 0; i < b; i++) {
            size_t j = i + (size_t)(next_rand(&rng) % (ng - i));
            uint32_t g = gperm[j];
            gperm[j] = gperm[i];
            gperm[i] = g;
            uint32_t k = order[start[g] + next_rand(&rng) % (start[g + 1] - start[g])];
            memcpy(xa + i * D, anchor + (size_t)k * D, D * sizeof(float));
            memcpy(xp + i * D, positive + (size_t)k * D, D * sizeof(float));
        }
        /* forward: u = normalise(x M); s = ua up^T / tau; softmax per row */
        memset(ua, 0, b * D * sizeof(float));
        memset(up, 0, b * D * sizeof(float));
        sb_nn_matmul(b, D, D, xa, D, m, D, ua, D);
        sb_nn_matmul(b, D, D, xp, D, m, D, up, D);
        normalise_rows(ua, b, la);
        normalise_rows(up, b, lp);
        transpose(up, b, D, t);
        memset(s, 0, b * b * sizeof(float));
        sb_nn_matmul(b, b, D, ua, D, t, b, s, b);
        for (size_t i = 0; i < b; i++) {
            float mx = -1e30f, sum = 0;
            for (size_t j = 0; j < b; j++) {
                s[i * b + j] /= TAU;
                mx = s[i * b + j] > mx ? s[i * b + j] : mx;
            }
            for (size_t j = 0; j < b; j++) {
                s[i * b + j] = expf(s[i * b + j] - mx);
                sum += s[i * b + j];
            }
            /* d loss / d s = (softmax - identity) / (b tau) */
            for (size_t j = 0; j < b; j++)
                s[i * b + j] = (s[i * b + j] / sum - (i == j ? 1.0f : 0.0f)) / ((float)b * TAU);
        }
        /* dua = G up, dup = G^T ua */
        memset(dua, 0, b * D * sizeof(float));
        memset(dup_, 0, b * D * sizeof(float));
        sb_nn_matmul(b, D, b, s, b, up, D, dua, D);
        transpose(s, b, b, st);
        sb_nn_matmul(b, D, b, st, b, ua, D, dup_, D);
        through_norm(dua, ua, la, b);
        through_norm(dup_, up, lp, b);
        /* grad = xa^T dua + xp^T dup + decay (M - I) */
        for (size_t i = 0; i < dd; i++)
            grad[i] = DECAY * m[i];
        for (size_t i = 0; i < D; i++)
            grad[i * D + i] -= DECAY;
        transpose(xa, b, D, t);
        sb_nn_matmul(D, D, b, t, b, dua, D, grad, D);
        transpose(xp, b, D, t);
        sb_nn_matmul(D, D, b, t, b, dup_, D, grad, D);
        /* Adam */
        b1t *= 0.9;
        b2t *= 0.999;
        float c1 = (float)(1 - b1t), c2 = (float)(1 - b2t);
        for (size_t i = 0; i < dd; i++) {
            adam_m[i] = 0.9f * adam_m[i] + 0.1f * grad[i];
            adam_v[i] = 0.999f * adam_v[i] + 0.001f * grad[i] * grad[i];
            m[i] -= LR * (adam_m[i] / c1) / (sqrtf(adam_v[i] / c2) + 1e-8f);
        }
    }
    free(order);
    free(start);
    free(gperm);
    free(adam_m);
    free(adam_v);
    free(grad);
    free(xa);
    free(xp);
    free(ua);
    free(up);
    free(dua);
    free(dup_);
    free(t);
    free(s);
    free(st);
    free(la);
    free(lp);
    return 0;
}

/* The text a map is fitted to pair with a body: a FAQ's question, an article's title and the
 * section's heading, a product's name. NULL when the entry has no body or is not English. */
static char *anchor_text(const struct sb_kb_doc *d)
{
    if (!d->body[0] || !d->title[0])
        return NULL;
    char *t = d->kind == SB_KB_SECTION && d->heading[0] && strcmp(d->heading, d->title)
                  ? sb_strdupf("%s %s", d->title, d->heading)
                  : sb_strdup(d->title);
    if (!sb__kb_dense_applies(t, d->lang) || !sb__kb_dense_applies(d->body, d->lang)) {
        free(t);
        return NULL;
    }
    return t;
}

size_t sb__kb_adapt_texts(const struct sb__kb_index *ix, size_t max, char **anchor,
                          char **positive, uint32_t *group, size_t *ngroups)
{
    size_t ns = sb__kb_index_nslots(ix), n = 0, eligible = 0;
    /* eligible entries, then every k-th of them when there are more than max */
    for (uint32_t s = 0; s < ns; s++) {
        const struct sb_kb_doc *d = sb__kb_index_doc(ix, s);
        eligible += d && sb__kb_index_vec(ix, s) && d->body[0] && d->title[0];
    }
    size_t seen = 0;
    unsigned char *gseen = NULL;
    size_t gcap = 0;
    *ngroups = 0;
    for (uint32_t s = 0; s < ns && n < max; s++) {
        const struct sb_kb_doc *d = sb__kb_index_doc(ix, s);
        if (!d || !sb__kb_index_vec(ix, s) || !d->body[0] || !d->title[0])
            continue;
        size_t i = seen++;
        if (eligible > max && (i * max) / eligible == ((i + 1) * max) / eligible)
            continue; /* not one of the max evenly spaced ones */
        char *a = anchor_text(d);
        if (!a)
            continue;
        uint32_t g = sb__kb_index_group(ix, s);
        if (g >= gcap) {
            size_t nc = (size_t)g * 2 + 64;
            gseen = sb_realloc(gseen, nc);
            memset(gseen + gcap, 0, nc - gcap);
            gcap = nc;
        }
        *ngroups += !gseen[g];
        gseen[g] = 1;
        anchor[n] = a;
        positive[n] = sb_strdup(d->body);
        group[n++] = g;
    }
    free(gseen);
    return n;
}

int sb__kb_adapt_build(const struct sb_embed_model *enc, char *const *anchor,
                       char *const *positive, const uint32_t *group, size_t n, float *m)
{
    float *va = sb_malloc((n ? n : 1) * D * sizeof(float));
    float *vp = sb_malloc((n ? n : 1) * D * sizeof(float));
    unsigned char *oka = sb_malloc(n ? n : 1), *okp = sb_malloc(n ? n : 1);
    uint32_t *g = sb_malloc((n ? n : 1) * sizeof(uint32_t));
    sb__kb_dense_texts(enc, anchor, n, va, oka);
    sb__kb_dense_texts(enc, positive, n, vp, okp);
    size_t k = 0; /* the pairs both of whose texts have an embedding, packed */
    for (size_t i = 0; i < n; i++) {
        if (!oka[i] || !okp[i])
            continue;
        memmove(va + k * D, va + i * D, D * sizeof(float));
        memmove(vp + k * D, vp + i * D, D * sizeof(float));
        g[k++] = group[i];
    }
    int rc = sb__kb_adapt_fit(va, vp, g, k, m);
    free(va);
    free(vp);
    free(oka);
    free(okp);
    free(g);
    return rc;
}
