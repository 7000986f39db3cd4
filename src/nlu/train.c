/* SPDX-License-Identifier: MIT */
/*
 * Training of intent and sentiment models: TF-IDF weighted hashed features, one-vs-rest
 * L2-regularised squared-hinge linear SVMs solved by dual coordinate descent (Hsieh et al.,
 * ICML 2008) with shrinking. The regularisation is chosen on validation data or by a seeded,
 * stratified 3-fold cross-validation; probabilities are calibrated by a softmax temperature
 * fitted on the held-out scores (minimum log-loss), and the out-of-scope threshold is tuned
 * there too; the final model is then fitted on every row (train + val). Rows are visited in a
 * seeded random order, so files sorted by label train as well as shuffled ones.
 */
#include "nlu_internal.h"
#include "sb/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_nlu_train_opts_init(struct sb_nlu_train_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = SB_NLU_INTENT;
    o->seed = 1;
    o->c = 0;
    o->oos_threshold = -1;
    o->features = NULL;
}

/* ---- small helpers -------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void shuffle(uint32_t *a, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(rng) % i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_features(const char *spec, struct sb__nlu_feat_cfg *c, int *mindf,
                          struct sb_error *err)
{
    sb__nlu_feat_cfg_default(c);
    if (!spec)
        return 0;
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ' ' && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        char tok[32];
        if (n >= sizeof(tok))
            return sb_error_set(err, SB_EINVAL, "features: item too long");
        memcpy(tok, p, n);
        tok[n] = '\0';
        long a = 0, b = 0;
        char *end;
        if (strcmp(tok, "stem") == 0) {
            c->stem = 1;
        } else if (strcmp(tok, "nb") == 0) {
            c->extra |= SB__NLU_F_NB;
        } else if (strcmp(tok, "edge") == 0) {
            c->extra |= SB__NLU_F_EDGE;
        } else if (strcmp(tok, "neg") == 0) {
            c->extra |= SB__NLU_F_NEG;
        } else if (tok[0] == 'p' && tok[1] >= '0' && tok[1] <= '9') {
            a = strtol(tok + 1, &end, 10);
            if (*end || a < 0 || a > 8)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            c->pair_window = (uint8_t)a;
        } else if (strcmp(tok, "skip") == 0) {
            c->extra |= SB__NLU_F_SKIP;
        } else if (strcmp(tok, "nostem") == 0) {
            c->stem = 0;
        } else if (strncmp(tok, "mindf=", 6) == 0) {
            a = strtol(tok + 6, &end, 10);
            if (*end || a < 1 || a > 1000)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            *mindf = (int)a;
        } else if (strncmp(tok, "ww=", 3) == 0 || strncmp(tok, "cw=", 3) == 0) {
            double w = strtod(tok + 3, &end);
            if (*end || w < 0 || w > 10)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            if (tok[0] == 'w')
                c->word_weight = (float)w;
            else
                c->char_weight = (float)w;
        } else if (tok[0] == 'w' || tok[0] == 'h') {
            a = strtol(tok + 1, &end, 10);
            if (*end || a < 0 || a > (tok[0] == 'w' ? 3 : 6) || (tok[0] == 'w' && a < 1))
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            if (tok[0] == 'w')
                c->word_ngrams = (uint8_t)a;
            else
                c->han_max = (uint8_t)a;
        } else if (tok[0] == 'c') {
            a = strtol(tok + 1, &end, 10);
            if (a == 0 && *end == '\0') {
                c->char_max = 0;
            } else {
                if (*end != '-')
                    return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
                b = strtol(end + 1, &end, 10);
                if (*end || a < 1 || b < a || b > 8)
                    return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
                c->char_min = (uint8_t)a;
                c->char_max = (uint8_t)b;
            }
        } else {
            return sb_error_set(err, SB_EINVAL, "features: unknown item '%s'", tok);
        }
        p = e;
    }
    return 0;
}

/* ---- vocabulary --------------------------------------------------------------------- */

struct counter { /* open addressing u64 -> u32 */
    uint64_t *k;
    uint32_t *v;
    size_t cap, n;
};

static void counter_grow(struct counter *c);

static uint32_t *counter_slot(struct counter *c, uint64_t h)
{
    if ((c->n + 1) * 2 > c->cap)
        counter_grow(c);
    size_t s = (size_t)(h ^ (h >> 29)) & (c->cap - 1);
    while (c->k[s] && c->k[s] != h)
        s = (s + 1) & (c->cap - 1);
    if (!c->k[s]) {
        c->k[s] = h;
        c->v[s] = 0;
        c->n++;
    }
    return &c->v[s];
}

static void counter_grow(struct counter *c)
{
    struct counter o = *c;
    c->cap = o.cap ? o.cap * 2 : 1 << 16;
    c->k = sb_calloc(c->cap, sizeof(uint64_t));
    c->v = sb_calloc(c->cap, sizeof(uint32_t));
    c->n = 0;
    for (size_t i = 0; i < o.cap; i++)
        if (o.k[i])
            *counter_slot(c, o.k[i]) = o.v[i];
    free(o.k);
    free(o.v);
}

static int64_t counter_lookup(const void *ctx, uint64_t h)
{
    const struct counter *c = ctx;
    size_t s = (size_t)(h ^ (h >> 29)) & (c->cap - 1);
    while (c->k[s]) {
        if (c->k[s] == h)
            return c->v[s];
        s = (s + 1) & (c->cap - 1);
    }
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Per-row unique feature hashes (sorted). */
struct rowfeat {
    uint64_t *h;
    uint32_t n;
};

struct vocab {
    uint32_t nfeat;
    uint64_t *hashes; /* sorted */
    float *idf;
    struct counter index; /* hash -> feature index */
};

static void vocab_build(struct vocab *v, const struct rowfeat *rows, const uint32_t *sel, size_t n,
                        int mindf)
{
    struct counter df = {0};
    counter_grow(&df);
    for (size_t i = 0; i < n; i++) {
        const struct rowfeat *r = &rows[sel[i]];
        for (uint32_t j = 0; j < r->n; j++)
            (*counter_slot(&df, r->h[j]))++;
    }
    size_t kept = 0;
    for (size_t i = 0; i < df.cap; i++)
        if (df.k[i] && df.v[i] >= (uint32_t)mindf)
            kept++;
    v->nfeat = (uint32_t)kept;
    v->hashes = sb_malloc((kept ? kept : 1) * sizeof(uint64_t));
    size_t o = 0;
    for (size_t i = 0; i < df.cap; i++)
        if (df.k[i] && df.v[i] >= (uint32_t)mindf)
            v->hashes[o++] = df.k[i];
    qsort(v->hashes, kept, sizeof(uint64_t), cmp_u64);
    v->idf = sb_malloc((kept ? kept : 1) * sizeof(float));
    memset(&v->index, 0, sizeof(v->index));
    counter_grow(&v->index);
    for (size_t i = 0; i < kept; i++) {
        uint32_t d = *counter_slot(&df, v->hashes[i]);
        v->idf[i] = (float)(log((1.0 + (double)n) / (1.0 + d)) + 1.0);
        *counter_slot(&v->index, v->hashes[i]) = (uint32_t)i;
    }
    free(df.k);
    free(df.v);
}

static void vocab_cleanup(struct vocab *v)
{
    free(v->hashes);
    free(v->idf);
    free(v->index.k);
    free(v->index.v);
}

/* ---- sparse matrix -------------------------------------------------------------------- */

struct csr {
    size_t n;
    size_t *ptr;
    uint32_t *idx;
    float *val;
    float *sq; /* squared norm of each row, with the bias feature */
};

#define MAX_ROW 16384
#define INNER_FOLDS 3 /* folds that choose C and calibrate when there is no validation file */

/* Rows `sel` of the raw texts, vectorised against `v`. */
static void csr_build(struct csr *x, char *const *texts, const uint32_t *sel, size_t n,
                      const struct sb__nlu_feat_cfg *cfg, const struct vocab *v)
{
    x->n = n;
    x->ptr = sb_malloc((n + 1) * sizeof(size_t));
    x->sq = sb_malloc((n ? n : 1) * sizeof(float));
    size_t cap = 1 << 16, used = 0;
    x->idx = sb_malloc(cap * sizeof(uint32_t));
    x->val = sb_malloc(cap * sizeof(float));
    struct sb__nlu_hvec f = {0};
    uint32_t *idx = sb_malloc(MAX_ROW * sizeof(uint32_t));
    float *val = sb_malloc(MAX_ROW * sizeof(float));
    x->ptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        f.n = 0;
        const char *t = texts[sel[i]];
        sb__nlu_features(t, strlen(t), cfg, &f);
        size_t m = sb__nlu_vectorize(&f, cfg, v->idf, counter_lookup, &v->index, idx, val,
                                     MAX_ROW);
        while (used + m > cap) {
            cap *= 2;
            x->idx = sb_realloc(x->idx, cap * sizeof(uint32_t));
            x->val = sb_realloc(x->val, cap * sizeof(float));
        }
        double sq = 1.0; /* bias feature, value 1 */
        for (size_t j = 0; j < m; j++) {
            x->idx[used + j] = idx[j];
            x->val[used + j] = val[j];
            sq += (double)val[j] * val[j];
        }
        used += m;
        x->ptr[i + 1] = used;
        x->sq[i] = (float)sq;
    }
    sb__nlu_hvec_cleanup(&f);
    free(idx);
    free(val);
}

static void csr_cleanup(struct csr *x)
{
    free(x->ptr);
    free(x->idx);
    free(x->val);
    free(x->sq);
}

/* ---- solver: one-vs-rest dual coordinate descent ---------------------------------------- */

/*
 * Weights of class k are w[k * (F + 1) .. ], the last one the bias. y[i] is the row's class.
 */
static void solve_ovr(const struct csr *x, const int *y, size_t K, size_t F, double C,
                      uint64_t seed, const float *r, float *w)
{
    float *qd = sb_malloc((x->n ? x->n : 1) * sizeof(float));
    size_t n = x->n;
    double *alpha = sb_malloc((n ? n : 1) * sizeof(double));
    uint32_t *index = sb_malloc((n ? n : 1) * sizeof(uint32_t));
    const double D = 0.5 / C, eps = 0.1;
    const int max_iter = 200;
    for (size_t k = 0; k < K; k++) {
        float *wk = w + k * (F + 1);
        const float *rk = r ? r + k * F : NULL;
        memset(wk, 0, (F + 1) * sizeof(float));
        memset(alpha, 0, n * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            if (!rk) {
                qd[i] = x->sq[i];
                continue;
            }
            double q = 1.0;
            for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++) {
                double v = (double)x->val[j] * rk[x->idx[j]];
                q += v * v;
            }
            qd[i] = (float)q;
        }
        for (size_t i = 0; i < n; i++)
            index[i] = (uint32_t)i;
        uint64_t rng = seed * 0x9e3779b97f4a7c15ull + k + 1;
        size_t active = n;
        double pgmax_old = INFINITY;
        for (int iter = 0; iter < max_iter; iter++) {
            double pgmax = -INFINITY, pgmin = INFINITY;
            shuffle(index, active, &rng);
            for (size_t s = 0; s < active; s++) {
                uint32_t i = index[s];
                double yi = y[i] == (int)k ? 1.0 : -1.0;
                double dot = wk[F];
                if (rk)
                    for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                        dot += (double)wk[x->idx[j]] * x->val[j] * rk[x->idx[j]];
                else
                    for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                        dot += (double)wk[x->idx[j]] * x->val[j];
                double G = yi * dot - 1.0 + D * alpha[i];
                double PG = 0;
                if (alpha[i] == 0) {
                    if (G > pgmax_old) {
                        active--;
                        uint32_t t = index[s];
                        index[s] = index[active];
                        index[active] = t;
                        s--;
                        continue;
                    }
                    if (G < 0)
                        PG = G;
                } else {
                    PG = G;
                }
                if (PG > pgmax)
                    pgmax = PG;
                if (PG < pgmin)
                    pgmin = PG;
                if (fabs(PG) > 1e-12) {
                    double old = alpha[i];
                    double na = old - G / (qd[i] + D);
                    if (na < 0)
                        na = 0;
                    alpha[i] = na;
                    double d = (na - old) * yi;
                    if (d != 0 && rk) {
                        for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                            wk[x->idx[j]] += (float)(d * x->val[j] * rk[x->idx[j]]);
                        wk[F] += (float)d;
                    } else if (d != 0) {
                        for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                            wk[x->idx[j]] += (float)(d * x->val[j]);
                        wk[F] += (float)d;
                    }
                }
            }
            if (pgmax - pgmin <= eps) {
                if (active == n)
                    break;
                active = n;
                pgmax_old = INFINITY;
                continue;
            }
            pgmax_old = pgmax > 0 ? pgmax : INFINITY;
        }
    }
    /* fold the per-class feature scaling into the weights: inference sees plain x */
    if (r)
        for (size_t k = 0; k < K; k++)
            for (size_t f = 0; f < F; f++)
                w[k * (F + 1) + f] *= r[k * F + f];
    free(qd);
    free(alpha);
    free(index);
}

/*
 * Naive-Bayes log-count ratios per class (Wang & Manning 2012), used to scale the features of
 * each one-vs-rest problem: r[k][f] = log((p_kf / |p_k|) / (q_kf / |q_k|)) with p the
 * (smoothed) number of rows of class k that have feature f and q the same for the other rows.
 */
static float *nb_ratios(const struct csr *x, const int *y, size_t K, size_t F)
{
    float *r = sb_calloc(K * (F ? F : 1), sizeof(float));
    float *tot = sb_calloc(F ? F : 1, sizeof(float));
    for (size_t i = 0; i < x->n; i++)
        for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++) {
            tot[x->idx[j]] += 1;
            if (y[i] >= 0)
                r[(size_t)y[i] * F + x->idx[j]] += 1;
        }
    const double a = 1.0;
    for (size_t k = 0; k < K; k++) {
        double sp = 0, sq = 0;
        for (size_t f = 0; f < F; f++) {
            sp += a + r[k * F + f];
            sq += a + tot[f] - r[k * F + f];
        }
        for (size_t f = 0; f < F; f++) {
            double p = (a + r[k * F + f]) / sp, q = (a + tot[f] - r[k * F + f]) / sq;
            r[k * F + f] = (float)fabs(log(p / q));
        }
    }
    free(tot);
    return r;
}

static void scores_of(const struct csr *x, size_t i, const float *w, size_t K, size_t F,
                      double *s)
{
    for (size_t k = 0; k < K; k++) {
        const float *wk = w + k * (F + 1);
        double d = wk[F];
        for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
            d += (double)wk[x->idx[j]] * x->val[j];
        s[k] = d;
    }
}

/* ---- calibration ------------------------------------------------------------------------ */

static double nll_at(const double *S, const int *y, size_t n, size_t K, double t, double *tmp)
{
    double nll = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == -1)
            continue;
        memcpy(tmp, S + i * K, K * sizeof(double));
        sb__nlu_softmax(tmp, K, t);
        if (y[i] >= 0) {
            nll -= log(tmp[y[i]] > 1e-300 ? tmp[y[i]] : 1e-300);
        } else { /* an out-of-scope example: its target is the uniform distribution */
            for (size_t k = 0; k < K; k++)
                nll -= log(tmp[k] > 1e-300 ? tmp[k] : 1e-300) / (double)K;
        }
    }
    return nll;
}

/* Temperature minimising the held-out log-loss (golden-section search on log t); rows of
 * out-of-scope examples (y -2) count with a uniform target, so that they pull it down. */
static double fit_temperature(const double *S, const int *y, size_t n, size_t K)
{
    double *tmp = sb_malloc(K * sizeof(double));
    double a = log(0.1), b = log(50.0);
    const double g = 0.6180339887498949;
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = nll_at(S, y, n, K, exp(c), tmp), fd = nll_at(S, y, n, K, exp(d), tmp);
    for (int it = 0; it < 40; it++) {
        if (fc < fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = nll_at(S, y, n, K, exp(c), tmp);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = nll_at(S, y, n, K, exp(d), tmp);
        }
    }
    free(tmp);
    return exp((a + b) / 2);
}

/*
 * Out-of-scope threshold on held-out data with out-of-scope examples: the threshold with the
 * best in-scope accuracy (a rejected in-scope row counts as wrong) among those that reject at
 * least OOS_RECALL_GOAL of the out-of-scope rows; when none does, the best mean of in-scope
 * accuracy and out-of-scope recall. Without out-of-scope examples nothing tells how unusual
 * input looks, and any threshold only rejects known phrasings: 0 (none); a tenant can set one.
 */
#define OOS_RECALL_GOAL 0.70

static double tune_threshold(const double *P, const int *y, size_t n, size_t K, int oos,
                             int verbose)
{
    size_t n_oos = 0, n_in = 0;
    for (size_t i = 0; i < n; i++) {
        if ((y[i] == oos && oos >= 0) || y[i] == -2)
            n_oos++;
        else if (y[i] >= 0)
            n_in++;
    }
    if (n_oos == 0 || n_in == 0)
        return 0;
    double best_t = 0, best = -1, best_mean = -1, mean_t = 0;
    for (int step = 0; step <= 198; step++) { /* 0 .. 0.99: 1 would reject everything */
        double t = step / 200.0;
        size_t in_ok = 0, oos_ok = 0;
        for (size_t i = 0; i < n; i++) {
            const double *p = P + i * K;
            size_t b = 0;
            for (size_t k = 1; k < K; k++)
                if (p[k] > p[b])
                    b = k;
            int is_oos = (oos >= 0 && (int)b == oos) || p[b] < t;
            if ((y[i] == oos && oos >= 0) || y[i] == -2)
                oos_ok += (size_t)is_oos;
            else if (y[i] >= 0)
                in_ok += (size_t)(!is_oos && (int)b == y[i]);
        }
        double in_acc = (double)in_ok / (double)n_in, rec = (double)oos_ok / (double)n_oos;
        if (verbose && step % 10 == 0)
            fprintf(stderr, "train: threshold %.2f: in-scope accuracy %.4f, oos recall %.4f\n", t,
                    in_acc, rec);
        if (rec >= OOS_RECALL_GOAL && in_acc > best + 1e-12) {
            best = in_acc;
            best_t = t;
        }
        if (0.5 * (in_acc + rec) > best_mean + 1e-12) {
            best_mean = 0.5 * (in_acc + rec);
            mean_t = t;
        }
    }
    return best >= 0 ? best_t : mean_t;
}

/* ---- the training driver ------------------------------------------------------------------ */

static int label_index(char **labels, size_t K, const char *l)
{
    char *const *p = bsearch(&l, labels, K, sizeof(char *), cmp_str);
    return p ? (int)(p - labels) : -1;
}

static void extract_rows(char *const *texts, size_t n, const struct sb__nlu_feat_cfg *cfg,
                         struct rowfeat *rows)
{
    struct sb__nlu_hvec f = {0};
    for (size_t i = 0; i < n; i++) {
        f.n = 0;
        sb__nlu_features(texts[i], strlen(texts[i]), cfg, &f);
        qsort(f.h, f.n, sizeof(uint64_t), cmp_u64);
        size_t u = 0;
        for (size_t j = 0; j < f.n; j++)
            if (u == 0 || f.h[j] != f.h[u - 1])
                f.h[u++] = f.h[j];
        rows[i].n = (uint32_t)u;
        rows[i].h = sb_malloc((u ? u : 1) * sizeof(uint64_t));
        memcpy(rows[i].h, f.h, u * sizeof(uint64_t));
    }
    sb__nlu_hvec_cleanup(&f);
}

int sb_nlu_train(const struct sb_nlu_dataset *train, const struct sb_nlu_dataset *val,
                 const struct sb_nlu_train_opts *opts, const char *name,
                 struct sb_nlu_model **out, struct sb_error *err)
{
    struct sb_nlu_train_opts defaults;
    if (!opts) {
        sb_nlu_train_opts_init(&defaults);
        opts = &defaults;
    }
    if (!name)
        name = "training data";
    if (!train || !out)
        return sb_error_set(err, SB_EINVAL, "sb_nlu_train: missing argument");
    if (opts->kind != SB_NLU_INTENT && opts->kind != SB_NLU_SENTIMENT)
        return sb_error_set(err, SB_EINVAL, "unknown model kind %d", (int)opts->kind);
    struct sb__nlu_feat_cfg cfg;
    int mindf = 1;
    int rc = parse_features(opts->features, &cfg, &mindf, err);
    if (rc)
        return rc;
    if (train->n == 0)
        return sb_error_set(err, SB_EINVAL, "%s: no rows", name);

    /* labels, sorted, so the model does not depend on row order */
    char **tmp = sb_malloc(train->n * sizeof(char *));
    memcpy(tmp, train->label, train->n * sizeof(char *));
    qsort(tmp, train->n, sizeof(char *), cmp_str);
    size_t K = 0;
    for (size_t i = 0; i < train->n; i++)
        if (K == 0 || strcmp(tmp[i], tmp[K - 1]) != 0)
            tmp[K++] = tmp[i];
    if (K < 2) {
        rc = sb_error_set(err, SB_EINVAL,
                          "%s: every row has the label '%s'; a classifier needs at least two "
                          "labels",
                          name, tmp[0]);
        free(tmp);
        return rc;
    }
    char **labels = sb_malloc(K * sizeof(char *));
    for (size_t k = 0; k < K; k++)
        labels[k] = sb_strdup(tmp[k]);
    free(tmp);
    int oos = opts->kind == SB_NLU_INTENT ? label_index(labels, K, SB_NLU_OOS_LABEL) : -1;

    uint64_t seed = opts->seed ? opts->seed : 1;
    uint64_t rng = seed * 0x2545F4914F6CDD1Dull + 7;

    /*
     * All rows: the training rows, then the validation rows. y is the label index; -2 marks an
     * out-of-scope example (a validation row labelled oos when training has no oos label: a
     * negative for every intent), -1 a validation row whose label training does not know.
     */
    size_t ntr = train->n, nval = val ? val->n : 0, N = ntr + nval;
    char **texts = sb_malloc(N * sizeof(char *));
    int *y = sb_malloc(N * sizeof(int));
    for (size_t i = 0; i < N; i++) {
        const char *l = i < ntr ? train->label[i] : val->label[i - ntr];
        texts[i] = i < ntr ? train->text[i] : val->text[i - ntr];
        y[i] = label_index(labels, K, l);
        if (y[i] < 0 && opts->kind == SB_NLU_INTENT && strcmp(l, SB_NLU_OOS_LABEL) == 0)
            y[i] = -2;
    }
    struct rowfeat *rows = sb_calloc(N, sizeof(*rows));
    extract_rows(texts, N, &cfg, rows);

    /*
     * Held-out folds: the validation file is the one fold; without one, a seeded stratified
     * split of the training rows into INNER_FOLDS folds. fold[i] is the fold a row is held out
     * in (-1: never held out).
     */
    int nfolds = val ? 1 : INNER_FOLDS;
    int *fold = sb_malloc(N * sizeof(int));
    if (val) {
        for (size_t i = 0; i < N; i++)
            fold[i] = i < ntr ? -1 : 0;
    } else {
        uint32_t *lab = sb_malloc(ntr * sizeof(uint32_t));
        for (size_t k = 0; k < K; k++) {
            size_t m = 0;
            for (size_t i = 0; i < ntr; i++)
                if (y[i] == (int)k)
                    lab[m++] = (uint32_t)i;
            shuffle(lab, m, &rng);
            /* a label with a single row is never held out: it could not be learnt */
            for (size_t j = 0; j < m; j++)
                fold[lab[j]] = m >= 2 ? (int)((j + k) % (size_t)nfolds) : -1;
        }
        free(lab);
    }

    static const double grid[] = {0.25, 0.5, 1.0, 2.0};
    size_t ngrid = opts->c > 0 ? 1 : sizeof(grid) / sizeof(grid[0]);
    /* out-of-fold scores of every held-out row for every C */
    double *oof = sb_calloc(ngrid * N * K, sizeof(double));
    uint32_t *sel = sb_malloc(N * sizeof(uint32_t));
    uint32_t *hsel = sb_malloc(N * sizeof(uint32_t));
    int *ysel = sb_malloc(N * sizeof(int));
    double *S = sb_malloc(K * sizeof(double));
    for (int f = 0; f < nfolds; f++) {
        size_t nfit = 0, nheld = 0;
        for (size_t i = 0; i < N; i++) {
            if (fold[i] == f) {
                hsel[nheld++] = (uint32_t)i;
            } else if (i < ntr) {
                ysel[nfit] = y[i];
                sel[nfit++] = (uint32_t)i;
            }
        }
        if (nheld == 0)
            continue;
        struct vocab voc;
        vocab_build(&voc, rows, sel, nfit, mindf);
        size_t F = voc.nfeat;
        struct csr X, H;
        csr_build(&X, texts, sel, nfit, &cfg, &voc);
        csr_build(&H, texts, hsel, nheld, &cfg, &voc);
        if (opts->verbose)
            fprintf(stderr, "train: fold %d/%d: %zu fit rows, %zu held-out rows, %zu features\n",
                    f + 1, nfolds, nfit, nheld, F);
        float *r = (cfg.extra & SB__NLU_F_NB) ? nb_ratios(&X, ysel, K, F) : NULL;
        float *w = sb_malloc(K * (F + 1) * sizeof(float));
        for (size_t g = 0; g < ngrid; g++) {
            solve_ovr(&X, ysel, K, F, opts->c > 0 ? opts->c : grid[g], seed + (uint64_t)f, r, w);
            for (size_t j = 0; j < nheld; j++)
                scores_of(&H, j, w, K, F, oof + (g * N + hsel[j]) * K);
        }
        free(w);
        free(r);
        csr_cleanup(&X);
        csr_cleanup(&H);
        vocab_cleanup(&voc);
    }

    /* choose C by held-out accuracy; calibrate and tune the threshold on its scores */
    size_t nh = 0;
    for (size_t i = 0; i < N; i++)
        if (fold[i] >= 0)
            hsel[nh++] = (uint32_t)i;
    double *P = sb_malloc((nh ? nh : 1) * K * sizeof(double));
    int *yh = sb_malloc((nh ? nh : 1) * sizeof(int));
    for (size_t j = 0; j < nh; j++)
        yh[j] = y[hsel[j]];
    size_t bestg = 0;
    double bestacc = -1;
    for (size_t g = 0; g < ngrid && nh; g++) {
        size_t ok = 0, n = 0;
        for (size_t j = 0; j < nh; j++) {
            const double *s = oof + (g * N + hsel[j]) * K;
            if (yh[j] < 0)
                continue;
            size_t b = 0;
            for (size_t k = 1; k < K; k++)
                if (s[k] > s[b])
                    b = k;
            ok += (size_t)(b == (size_t)yh[j]);
            n++;
        }
        double acc = n ? (double)ok / (double)n : 0;
        if (opts->verbose)
            fprintf(stderr, "train: C=%g held-out accuracy %.4f\n",
                    opts->c > 0 ? opts->c : grid[g], acc);
        if (acc > bestacc + 1e-9) {
            bestacc = acc;
            bestg = g;
        }
    }
    double bestc = opts->c > 0 ? opts->c : grid[bestg];
    double temperature = 1.0, threshold = 0;
    if (nh) {
        for (size_t j = 0; j < nh; j++)
            memcpy(P + j * K, oof + (bestg * N + hsel[j]) * K, K * sizeof(double));
        temperature = fit_temperature(P, yh, nh, K);
        for (size_t j = 0; j < nh; j++)
            sb__nlu_softmax(P + j * K, K, temperature);
        if (opts->kind == SB_NLU_INTENT)
            threshold = tune_threshold(P, yh, nh, K, oos, opts->verbose);
    }
    if (opts->kind == SB_NLU_INTENT && opts->oos_threshold >= 0)
        threshold = opts->oos_threshold;
    if (opts->verbose)
        fprintf(stderr, "train: chose C=%g, temperature %.3f, oos threshold %.3f\n", bestc,
                temperature, threshold);
    free(oof);
    free(P);
    free(yh);

    /* the final fit: every training row, and the validation rows unless told not to */
    size_t nfit = 0;
    for (size_t i = 0; i < N; i++)
        if (i < ntr || (!opts->no_refit && y[i] != -1)) {
            ysel[nfit] = y[i];
            sel[nfit++] = (uint32_t)i;
        }
    struct vocab voc;
    vocab_build(&voc, rows, sel, nfit, mindf);
    size_t F = voc.nfeat;
    struct csr X;
    csr_build(&X, texts, sel, nfit, &cfg, &voc);
    float *r = (cfg.extra & SB__NLU_F_NB) ? nb_ratios(&X, ysel, K, F) : NULL;
    float *wbest = sb_malloc(K * (F + 1) * sizeof(float));
    solve_ovr(&X, ysel, K, F, bestc, seed, r, wbest);
    if (opts->verbose)
        fprintf(stderr, "train: final fit on %zu rows, %zu features\n", nfit, F);

    /* the model: feature-major int8 rows with a scale each */
    struct sb_nlu_model *m = sb_calloc(1, sizeof(*m));
    atomic_init(&m->refs, 1);
    m->kind = opts->kind;
    m->cfg = cfg;
    m->nlabels = (uint32_t)K;
    m->labels = labels;
    m->oos_index = oos;
    m->temperature = (float)temperature;
    m->oos_threshold = (float)threshold;
    m->nfeat = (uint32_t)F;
    m->hashes = sb_malloc((F ? F : 1) * sizeof(uint64_t));
    memcpy(m->hashes, voc.hashes, F * sizeof(uint64_t));
    m->idf = sb_malloc((F ? F : 1) * sizeof(float));
    memcpy(m->idf, voc.idf, F * sizeof(float));
    m->wq = sb_malloc((F ? F : 1) * K);
    m->wscale = sb_malloc((F ? F : 1) * sizeof(float));
    m->bias = sb_malloc(K * sizeof(float));
    for (size_t f = 0; f < F; f++) {
        float mx = 0;
        for (size_t k = 0; k < K; k++) {
            float a = fabsf(wbest[k * (F + 1) + f]);
            if (a > mx)
                mx = a;
        }
        float sc = mx > 0 ? mx / 127.0f : 1.0f;
        m->wscale[f] = sc;
        for (size_t k = 0; k < K; k++)
            m->wq[f * K + k] = (int8_t)lrintf(wbest[k * (F + 1) + f] / sc);
    }
    for (size_t k = 0; k < K; k++)
        m->bias[k] = wbest[k * (F + 1) + F];
    sb__nlu_model_index(m);

    for (size_t i = 0; i < N; i++)
        free(rows[i].h);
    free(rows);
    vocab_cleanup(&voc);
    csr_cleanup(&X);
    free(r);
    free(wbest);
    free(S);
    free(texts);
    free(y);
    free(fold);
    free(sel);
    free(hsel);
    free(ysel);
    *out = m;
    return 0;
}
