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
#include "sb/clock.h"
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

struct mlp_params {
    int hidden, epochs;
    double lr;
    double drop; /* input feature dropout rate during training */
};

/* spread of the MLP's input rows at the start (uniform in ±MLP_INIT; docs/nlu.md) */
#define MLP_INIT 0.02

/* What to train: the members and their fixed settings (parsed from the feature spec). */
struct plan {
    int nm;
    int type[SB__NLU_MAX_MEMBERS];
    struct mlp_params mlp;
    int lexlang;    /* 0 the languages of the data, 1 English entries only, 2 Chinese only */
    int lexmin;     /* Chinese entries matched fewer times in the training rows are dropped */
    unsigned lexwn; /* SB__NLU_LEX_WN_*: VADER widened over WordNet */
};

/* How many MLP members come before member mi (each MLP copy gets its own seeds). */
static uint64_t mlp_copy(const struct plan *pl, int mi)
{
    uint64_t c = 0;
    for (int i = 0; i < mi; i++)
        c += pl->type[i] == SB__NLU_M_MLP;
    return c;
}

/* Default members by kind, chosen by cross-validation (docs/nlu.md): NB-SVM helps long
   reviews whose vocabulary leaves no room for the MLP; for intents it adds little and would
   take banking77's training past its 30 s budget. */
#define DEFAULT_ENSEMBLE "svm+mlp"
#define DEFAULT_ENSEMBLE_SENTIMENT "svm+nb+mlp"

static int parse_ensemble(const char *s, struct plan *pl, struct sb_error *err)
{
    pl->nm = 0;
    while (*s) {
        const char *e = s;
        while (*e && *e != '+')
            e++;
        size_t n = (size_t)(e - s);
        int t = n == 3 && memcmp(s, "svm", 3) == 0   ? SB__NLU_M_SVM
                : n == 2 && memcmp(s, "nb", 2) == 0  ? SB__NLU_M_NB
                : n == 3 && memcmp(s, "mlp", 3) == 0 ? SB__NLU_M_MLP
                                                     : 0;
        if (!t || pl->nm >= SB__NLU_MAX_MEMBERS)
            return sb_error_set(err, SB_EINVAL, "features: bad ensemble member in 'ens=%s'", s);
        for (int i = 0; i < pl->nm; i++)
            if (pl->type[i] == t && t != SB__NLU_M_MLP) /* MLPs differ by their seeds */
                return sb_error_set(err, SB_EINVAL, "features: member repeated in ensemble");
        pl->type[pl->nm++] = t;
        s = *e ? e + 1 : e;
    }
    if (pl->nm == 0)
        return sb_error_set(err, SB_EINVAL, "features: empty ensemble");
    return 0;
}

/* Least document frequency of a kept feature: all features, and cross-boundary n-grams. */
struct dfmin {
    int all, cross;
    const struct counter *xset; /* the cross n-grams seen in training (when cross > 1) */
};

static int parse_features(const char *spec, enum sb_nlu_kind kind, struct sb__nlu_feat_cfg *c,
                          struct dfmin *mindf, struct plan *pl, struct sb_error *err)
{
    sb__nlu_feat_cfg_default(c);
    if (kind != SB_NLU_SENTIMENT) {
        /* the cross n-grams helped Chinese sentiment; on the demo's Chinese intents they did
           not (docs/nlu.md): intents keep the features they were measured with */
        c->cross = 0;
        c->extra &= (uint8_t)~SB__NLU_F_XHAN;
    } else {
        /* sentiment lexicon features (VADER, and Chinese words projected through CC-CEDICT)
           with the negation/intensifier/contrast rules: +0.9 on twitter, +0.3 on the Chinese
           sets (docs/nlu.md, fourth round); off with a notice when the lexicons are missing */
        c->lexopts = SB__NLU_LEX_TOK | SB__NLU_LEX_DOC;
    }
    pl->mlp.hidden = 64;
    pl->mlp.epochs = 10;
    pl->mlp.lr = 0.1;
    pl->mlp.drop = 0;
    pl->lexlang = 0;
    pl->lexmin = 1;
    pl->lexwn = 0;
    int rc = parse_ensemble(
        kind == SB_NLU_SENTIMENT ? DEFAULT_ENSEMBLE_SENTIMENT : DEFAULT_ENSEMBLE, pl, err);
    if (rc || !spec)
        return rc;
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
        char tok[48];
        if (n >= sizeof(tok))
            return sb_error_set(err, SB_EINVAL, "features: item too long");
        memcpy(tok, p, n);
        tok[n] = '\0';
        long a = 0, b = 0;
        char *end;
        if (strcmp(tok, "stem") == 0) {
            c->stem = 1;
        } else if (strncmp(tok, "ens=", 4) == 0) {
            rc = parse_ensemble(tok + 4, pl, err);
            if (rc)
                return rc;
        } else if (strncmp(tok, "hid=", 4) == 0 || strncmp(tok, "ep=", 3) == 0) {
            a = strtol(strchr(tok, '=') + 1, &end, 10);
            if (*end || a < 1 || a > 512)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            if (tok[0] == 'h')
                pl->mlp.hidden = (int)a;
            else
                pl->mlp.epochs = (int)a;
        } else if (strncmp(tok, "drop=", 5) == 0) {
            double v = strtod(tok + 5, &end);
            if (*end || !(v >= 0 && v < 0.95))
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            pl->mlp.drop = v;
        } else if (strncmp(tok, "lr=", 3) == 0) {
            double v = strtod(tok + 3, &end);
            if (*end || !(v > 0 && v <= 10))
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            pl->mlp.lr = v;
        } else if (strcmp(tok, "edge") == 0) {
            c->extra |= SB__NLU_F_EDGE;
        } else if (strcmp(tok, "chat") == 0) {
            c->extra |= SB__NLU_F_CHAT;
        } else if (strcmp(tok, "nochat") == 0) {
            c->extra &= (uint8_t)~SB__NLU_F_CHAT;
        } else if (strcmp(tok, "xhan") == 0) {
            c->extra |= SB__NLU_F_XHAN;
        } else if (strcmp(tok, "xall") == 0) {
            c->extra &= (uint8_t) ~(SB__NLU_F_XHAN | SB__NLU_F_XMIX);
        } else if (strcmp(tok, "xmix") == 0) {
            c->extra |= SB__NLU_F_XMIX;
        } else if (strcmp(tok, "ends") == 0) {
            c->extra |= SB__NLU_F_ENDS;
        } else if (strcmp(tok, "neg") == 0) {
            c->extra |= SB__NLU_F_NEG;
        } else if (strcmp(tok, "lex") == 0) {
            c->lexopts |= SB__NLU_LEX_TOK | SB__NLU_LEX_DOC;
        } else if (strcmp(tok, "lextok") == 0) {
            c->lexopts = (c->lexopts & ~SB__NLU_LEX_DOC) | SB__NLU_LEX_TOK;
        } else if (strcmp(tok, "lexdoc") == 0) {
            c->lexopts = (c->lexopts & ~SB__NLU_LEX_TOK) | SB__NLU_LEX_DOC;
        } else if (strcmp(tok, "lexlast") == 0) {
            c->lexopts |= SB__NLU_LEX_LAST;
        } else if (strcmp(tok, "lexraw") == 0) {
            c->lexopts |= SB__NLU_LEX_RAW;
        } else if (strcmp(tok, "lexzh") == 0 || strcmp(tok, "lexen") == 0) {
            pl->lexlang = tok[3] == 'z' ? 2 : 1; /* only one language's entries */
        } else if (strncmp(tok, "lexrep=", 7) == 0) {
            a = strtol(tok + 7, &end, 10);
            if (*end || a < 1 || a > 15)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            c->lexopts = (c->lexopts & ~(15u << SB__NLU_LEX_REP_SHIFT)) |
                         (uint32_t)a << SB__NLU_LEX_REP_SHIFT;
        } else if (strncmp(tok, "lexmin=", 7) == 0) {
            a = strtol(tok + 7, &end, 10);
            if (*end || a < 0 || a > 1000)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            pl->lexmin = (int)a;
        } else if (strncmp(tok, "lexwn=", 6) == 0) {
            a = strtol(tok + 6, &end, 10);
            if (*end || a < 0 || a > 7)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            pl->lexwn = (unsigned)a;
        } else if (strcmp(tok, "nolex") == 0) {
            c->lexopts = 0;
        } else if (tok[0] == 'p' && tok[1] >= '0' && tok[1] <= '9') {
            a = strtol(tok + 1, &end, 10);
            if (*end || a < 0 || a > 8)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            c->pair_window = (uint8_t)a;
        } else if (tok[0] == 'x' && tok[1] >= '0' && tok[1] <= '9') {
            a = strtol(tok + 1, &end, 10);
            if (*end == '-')
                b = strtol(end + 1, &end, 10);
            else
                b = a;
            if (*end || a < 0 || b < a || b > 15 || (a == 0 && b != 0))
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            c->cross = (uint8_t)(a << 4 | b);
        } else if (strcmp(tok, "skip") == 0) {
            c->extra |= SB__NLU_F_SKIP;
        } else if (strcmp(tok, "nostem") == 0) {
            c->stem = 0;
        } else if (strncmp(tok, "mindf=", 6) == 0) {
            a = strtol(tok + 6, &end, 10);
            if (*end || a < 1 || a > 1000)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            mindf->all = (int)a;
        } else if (strncmp(tok, "xmindf=", 7) == 0) {
            a = strtol(tok + 7, &end, 10);
            if (*end || a < 1 || a > 1000)
                return sb_error_set(err, SB_EINVAL, "features: bad '%s'", tok);
            mindf->cross = (int)a;
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

/* Per-row feature hashes, sorted, with repeats (the row's term frequencies). */
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

static int64_t counter_lookup(const void *ctx, uint64_t h);

static uint32_t dfmin_of(const struct dfmin *d, uint64_t h)
{
    return (uint32_t)(d->xset && counter_lookup(d->xset, h) >= 0 ? d->cross : d->all);
}

static void vocab_build(struct vocab *v, const struct rowfeat *rows, const uint32_t *sel, size_t n,
                        struct dfmin mindf)
{
    struct counter df = {0};
    counter_grow(&df);
    for (size_t i = 0; i < n; i++) {
        const struct rowfeat *r = &rows[sel[i]];
        for (uint32_t j = 0; j < r->n; j++)
            if (j == 0 || r->h[j] != r->h[j - 1])
                (*counter_slot(&df, r->h[j]))++;
    }
    size_t kept = 0;
    for (size_t i = 0; i < df.cap; i++)
        if (df.k[i] && df.v[i] >= dfmin_of(&mindf, df.k[i]))
            kept++;
    v->nfeat = (uint32_t)kept;
    v->hashes = sb_malloc((kept ? kept : 1) * sizeof(uint64_t));
    size_t o = 0;
    for (size_t i = 0; i < df.cap; i++)
        if (df.k[i] && df.v[i] >= dfmin_of(&mindf, df.k[i]))
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

/* Rows in both views (same indices): TF-IDF values and binary values. */
struct csr {
    size_t n;
    size_t *ptr;
    uint32_t *idx;
    float *val;
    float *bin;
    float *sq;  /* squared norm of each TF-IDF row, with the bias feature */
    float *sqb; /* the same for the binary view */
};

#define MAX_ROW 16384
#define INNER_FOLDS 3 /* folds that choose C and calibrate when there is no validation file */

/* Rows `sel`, vectorised against `v` from their cached feature hashes. */
static void csr_build(struct csr *x, const struct rowfeat *rows, const uint32_t *sel, size_t n,
                      const struct sb__nlu_feat_cfg *cfg, const struct vocab *v)
{
    x->n = n;
    x->ptr = sb_malloc((n + 1) * sizeof(size_t));
    x->sq = sb_malloc((n ? n : 1) * sizeof(float));
    x->sqb = sb_malloc((n ? n : 1) * sizeof(float));
    size_t cap = 1 << 16, used = 0;
    x->idx = sb_malloc(cap * sizeof(uint32_t));
    x->val = sb_malloc(cap * sizeof(float));
    x->bin = sb_malloc(cap * sizeof(float));
    struct sb__nlu_hvec f = {0};
    uint32_t *idx = sb_malloc(MAX_ROW * sizeof(uint32_t));
    float *val = sb_malloc(MAX_ROW * sizeof(float));
    float *bin = sb_malloc(MAX_ROW * sizeof(float));
    x->ptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const struct rowfeat *r = &rows[sel[i]];
        if (f.cap < r->n) {
            f.cap = r->n;
            f.h = sb_realloc(f.h, f.cap * sizeof(uint64_t));
        }
        memcpy(f.h, r->h, r->n * sizeof(uint64_t));
        f.n = r->n;
        size_t m =
            sb__nlu_vectorize(&f, cfg, v->idf, counter_lookup, &v->index, idx, val, bin, MAX_ROW);
        while (used + m > cap) {
            cap *= 2;
            x->idx = sb_realloc(x->idx, cap * sizeof(uint32_t));
            x->val = sb_realloc(x->val, cap * sizeof(float));
            x->bin = sb_realloc(x->bin, cap * sizeof(float));
        }
        double sq = 1.0, sqb = 1.0; /* bias feature, value 1 */
        for (size_t j = 0; j < m; j++) {
            x->idx[used + j] = idx[j];
            x->val[used + j] = val[j];
            x->bin[used + j] = bin[j];
            sq += (double)val[j] * val[j];
            sqb += (double)bin[j] * bin[j];
        }
        used += m;
        x->ptr[i + 1] = used;
        x->sq[i] = (float)sq;
        x->sqb[i] = (float)sqb;
    }
    sb__nlu_hvec_cleanup(&f);
    free(idx);
    free(val);
    free(bin);
}

static void csr_cleanup(struct csr *x)
{
    free(x->ptr);
    free(x->idx);
    free(x->val);
    free(x->bin);
    free(x->sq);
    free(x->sqb);
}

/* ---- solver: one-vs-rest dual coordinate descent ---------------------------------------- */

/*
 * Weights of class k are w[k * (F + 1) .. ], the last one the bias. y[i] is the row's class
 * (-2: a negative for every class). `bin` selects the binary view; `r` (K x F, may be NULL)
 * scales the features of problem k. alpha (K x n) holds the dual variables: with `warm` they
 * start from the previous solution (one for a smaller C is feasible for a larger one).
 */
static void solve_ovr(const struct csr *x, int bin, const int *y, size_t K, size_t F, double C,
                      uint64_t seed, const float *r, float *w, double *alpha_all, int warm)
{
    size_t n = x->n, nnz = x->ptr[n];
    const float *base = bin ? x->bin : x->val;
    const float *xsq = bin ? x->sqb : x->sq;
    /* with per-class scaling, the scaled values of problem k are materialised once */
    float *scaled = r ? sb_malloc((nnz ? nnz : 1) * sizeof(float)) : NULL;
    float *qd = sb_malloc((n ? n : 1) * sizeof(float));
    uint32_t *index = sb_malloc((n ? n : 1) * sizeof(uint32_t));
    const double D = 0.5 / C, eps = 0.1;
    const int max_iter = 200;
    for (size_t k = 0; k < K; k++) {
        float *wk = w + k * (F + 1);
        double *alpha = alpha_all + k * n;
        const float *xv = base;
        if (r) {
            const float *rk = r + k * F;
            for (size_t j = 0; j < nnz; j++)
                scaled[j] = base[j] * rk[x->idx[j]];
            xv = scaled;
        }
        memset(wk, 0, (F + 1) * sizeof(float));
        if (!warm)
            memset(alpha, 0, n * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            double q = xsq[i];
            if (r) {
                q = 1.0;
                for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                    q += (double)xv[j] * xv[j];
            }
            qd[i] = (float)q;
            if (warm && alpha[i] != 0) {
                double d = alpha[i] * (y[i] == (int)k ? 1.0 : -1.0);
                for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                    wk[x->idx[j]] += (float)(d * xv[j]);
                wk[F] += (float)d;
            }
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
                for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                    dot += (double)wk[x->idx[j]] * xv[j];
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
                    if (d != 0) {
                        for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                            wk[x->idx[j]] += (float)(d * xv[j]);
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
    free(scaled);
    free(qd);
    free(index);
}

/*
 * Naive-Bayes log-count ratios per class (Wang & Manning 2012), used to scale the binary
 * features of each one-vs-rest problem: r[k][f] = |log((p_kf / |p_k|) / (q_kf / |q_k|))| with
 * p the (smoothed) number of rows of class k that have feature f and q the same for the other
 * rows. (The sign does not matter: the L2-regularised solver learns it.)
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

static void scores_of(const struct csr *x, int bin, size_t i, const float *w, size_t K, size_t F,
                      double *s)
{
    const float *xv = bin ? x->bin : x->val;
    for (size_t k = 0; k < K; k++) {
        const float *wk = w + k * (F + 1);
        double d = wk[F];
        for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
            d += (double)wk[x->idx[j]] * xv[j];
        s[k] = d;
    }
}

/* ---- the MLP member ---------------------------------------------------------------------- */

/*
 * One hidden ReLU layer over the TF-IDF view: h = relu(E^T x + b1), scores = W2 h + b2,
 * softmax cross-entropy, plain SGD with a linearly decaying step, rows in a seeded order.
 * Rows with y -2 (out-of-scope examples when no label is 'oos') have a uniform target.
 */
struct mlp {
    size_t F, H, K;
    float *E;  /* F x H */
    float *b1; /* H */
    float *W2; /* K x H */
    float *b2; /* K */
};

static double urand(uint64_t *rng)
{
    return (double)(rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

static void axpy_f(float *restrict z, const float *restrict e, float v, size_t n)
{
    for (size_t h = 0; h < n; h++)
        z[h] += v * e[h];
}

/* Forward pass of row i; `keep` (NULL: all) marks the features kept by dropout, whose values
 * are scaled by `gain`. */
static void mlp_forward(const struct mlp *m, const struct csr *x, size_t i, const uint8_t *keep,
                        float gain, float *z, double *o)
{
    memcpy(z, m->b1, m->H * sizeof(float));
    for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
        if (!keep || keep[j - x->ptr[i]])
            axpy_f(z, m->E + (size_t)x->idx[j] * m->H, x->val[j] * gain, m->H);
    for (size_t k = 0; k < m->K; k++) {
        const float *w = m->W2 + k * m->H;
        float d = m->b2[k];
        for (size_t h = 0; h < m->H; h++)
            d += w[h] * (z[h] > 0 ? z[h] : 0);
        o[k] = d;
    }
}

static void mlp_fit(struct mlp *m, const struct csr *x, const int *y, const uint32_t *order,
                    size_t K, size_t F, const struct mlp_params *mp, uint64_t seed)
{
    size_t H = (size_t)mp->hidden, n = x->n;
    m->F = F;
    m->H = H;
    m->K = K;
    m->E = sb_malloc((F ? F : 1) * H * sizeof(float));
    m->b1 = sb_calloc(H, sizeof(float));
    m->W2 = sb_malloc(K * H * sizeof(float));
    m->b2 = sb_calloc(K, sizeof(float));
    uint64_t rng = seed * 0xd1342543de82ef95ull + 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < F * H; i++)
        m->E[i] = (float)((urand(&rng) * 2 - 1) * MLP_INIT);
    double a2 = sqrt(6.0 / (double)(H + K));
    for (size_t i = 0; i < K * H; i++)
        m->W2[i] = (float)((urand(&rng) * 2 - 1) * a2);
    uint32_t *idx = sb_malloc((n ? n : 1) * sizeof(uint32_t));
    memcpy(idx, order, n * sizeof(uint32_t));
    float *z = sb_malloc(H * sizeof(float));
    float *gz = sb_malloc(H * sizeof(float));
    double *o = sb_malloc(K * sizeof(double));
    size_t total = (size_t)mp->epochs * n, step = 0, keepcap = 0;
    uint8_t *keep = NULL;
    const float gain = (float)(1.0 / (1.0 - mp->drop));
    for (int ep = 0; ep < mp->epochs; ep++) {
        shuffle(idx, n, &rng);
        for (size_t s = 0; s < n; s++, step++) {
            size_t i = idx[s];
            if (y[i] == -1)
                continue;
            float lr = (float)(mp->lr * (1.0 - (double)step / (double)total));
            size_t len = x->ptr[i + 1] - x->ptr[i];
            if (len > keepcap) {
                keepcap = len;
                keep = sb_realloc(keep, keepcap);
            }
            for (size_t j = 0; j < len; j++)
                keep[j] = urand(&rng) >= mp->drop;
            mlp_forward(m, x, i, keep, gain, z, o);
            sb__nlu_softmax(o, K, 1.0);
            for (size_t k = 0; k < K; k++)
                o[k] -= y[i] >= 0 ? (y[i] == (int)k) : 1.0 / (double)K;
            memset(gz, 0, H * sizeof(float));
            for (size_t k = 0; k < K; k++) {
                float g = (float)o[k];
                if (g == 0)
                    continue;
                float *w = m->W2 + k * H;
                for (size_t h = 0; h < H; h++) {
                    float a = z[h] > 0 ? z[h] : 0;
                    gz[h] += g * w[h];
                    w[h] -= lr * g * a;
                }
                m->b2[k] -= lr * g;
            }
            for (size_t h = 0; h < H; h++) {
                gz[h] = z[h] > 0 ? gz[h] * lr : 0;
                m->b1[h] -= gz[h];
            }
            for (size_t j = x->ptr[i]; j < x->ptr[i + 1]; j++)
                if (keep[j - x->ptr[i]])
                    axpy_f(m->E + (size_t)x->idx[j] * H, gz, -x->val[j] * gain, H);
        }
    }
    free(keep);
    free(idx);
    free(z);
    free(gz);
    free(o);
}

static void mlp_cleanup(struct mlp *m)
{
    free(m->E);
    free(m->b1);
    free(m->W2);
    free(m->b2);
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
    double a = log(0.01), b = log(200.0);
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

static double accuracy_of(const double *S, const int *y, size_t n, size_t K)
{
    size_t ok = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0)
            continue;
        const double *s = S + i * K;
        size_t b = 0;
        for (size_t k = 1; k < K; k++)
            if (s[k] > s[b])
                b = k;
        ok += (size_t)(b == (size_t)y[i]);
        m++;
    }
    return m ? (double)ok / (double)m : 0;
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

/*
 * The sentiment lexicon for these rows: English entries when a row holds a Latin letter,
 * Chinese ones when a row holds a Han character (lang 1/2 keeps one of them). NULL, with a
 * notice on stderr, when the lexicon packages are not installed: training goes on without.
 */
static struct sb__nlu_lex *load_lexicon(char *const *texts, size_t n, int lang, int keep_min,
                                        unsigned wn, int verbose)
{
    int en = 0, zh = 0;
    for (size_t i = 0; i < n && !(en && zh); i++)
        for (const unsigned char *p = (const unsigned char *)texts[i]; *p && !(en && zh); p++) {
            if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
                en = 1;
            else if (*p >= 0xE3 && *p <= 0xE9) /* U+3000..U+9FFF lead bytes: CJK */
                zh = 1;
        }
    if (lang == 1)
        zh = 0;
    if (lang == 2)
        en = 0;
    struct sb__nlu_lex *lx = NULL;
    char notice[512];
    int rc = sb__nlu_lex_load_wn(NULL, en, zh, wn, &lx, notice, sizeof(notice));
    if (notice[0])
        fprintf(stderr, "train: notice: %s\n", notice);
    if (rc || !lx) {
        if (!notice[0])
            fprintf(stderr, "train: notice: no sentiment lexicon entries for this data; "
                            "lexicon features are off\n");
        return NULL;
    }
    if (zh && keep_min > 0) {
        /* Chinese entries the training rows never use are left out: 25 k entries make a
           table too large for the cache, and scoring long reviews twice as slow */
        uint32_t *cnt = sb_calloc(lx->n, sizeof(uint32_t));
        for (size_t i = 0; i < n; i++)
            sb__nlu_lex_count_text(lx, texts[i], strlen(texts[i]), cnt);
        struct sb__nlu_lex *kept = sb__nlu_lex_keep(lx, cnt, (uint32_t)keep_min);
        free(cnt);
        sb__nlu_lex_free(lx);
        lx = kept;
    }
    if (verbose)
        fprintf(stderr, "train: sentiment lexicon: %u entries (max Han length %u)\n", lx->n,
                lx->maxhan);
    return lx;
}

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
        rows[i].n = (uint32_t)f.n;
        rows[i].h = sb_malloc((f.n ? f.n : 1) * sizeof(uint64_t));
        memcpy(rows[i].h, f.h, f.n * sizeof(uint64_t));
    }
    sb__nlu_hvec_cleanup(&f);
}

/* A row's identity for ordering: its text and label, so the file's row order does not matter. */
struct rowkey {
    uint64_t h;
    uint32_t i;
};

static int cmp_rowkey(const void *a, const void *b)
{
    const struct rowkey *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* A permutation of 0..n-1 ordering the rows `sel` by the hash of text + label. */
static void canonical_order(char *const *texts, const int *y, const uint32_t *sel, size_t n,
                            uint32_t *order)
{
    struct rowkey *k = sb_malloc((n ? n : 1) * sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[sel[i]];
        uint64_t h = 0xcbf29ce484222325ull;
        for (const unsigned char *p = (const unsigned char *)t; *p; p++)
            h = (h ^ *p) * 0x100000001b3ull;
        h = (h ^ (uint64_t)(y[sel[i]] + 3)) * 0x100000001b3ull;
        k[i].h = h;
        k[i].i = (uint32_t)i;
    }
    qsort(k, n, sizeof(*k), cmp_rowkey);
    for (size_t i = 0; i < n; i++)
        order[i] = k[i].i;
    free(k);
}

/* A member fitted on some rows: linear weights (K x (F + 1)) or an MLP. */
struct fitted {
    float *w;
    struct mlp net;
};

static void fitted_cleanup(struct fitted *f)
{
    free(f->w);
    if (f->net.E)
        mlp_cleanup(&f->net);
    memset(f, 0, sizeof(*f));
}

/* Quantises one feature-major block: rows of `width` values get an int8 row and a scale. */
static void quantize_rows(const float *src, size_t F, size_t width, size_t src_row_stride,
                          size_t src_col_stride, int8_t *dst, float *scale)
{
    for (size_t f = 0; f < F; f++) {
        float mx = 0;
        for (size_t k = 0; k < width; k++) {
            float a = fabsf(src[f * src_row_stride + k * src_col_stride]);
            if (a > mx)
                mx = a;
        }
        float sc = mx > 0 ? mx / 127.0f : 1.0f;
        scale[f] = sc;
        for (size_t k = 0; k < width; k++)
            dst[f * width + k] = (int8_t)lrintf(src[f * src_row_stride + k * src_col_stride] / sc);
    }
}

#define MODEL_BUDGET (16u << 20) /* bytes a model may take (the limit is 20 MB) */
#define MLP_MIN_HIDDEN 16

static const double grid[] = {0.0625, 0.125, 0.25, 0.5, 1.0, 2.0};
#define NGRID (sizeof(grid) / sizeof(grid[0]))

int sb_nlu_train(const struct sb_nlu_dataset *train, const struct sb_nlu_dataset *val,
                 const struct sb_nlu_train_opts *opts, const char *name, struct sb_nlu_model **out,
                 struct sb_error *err)
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
    struct plan plan;
    struct dfmin mindf = {1, 2, NULL}; /* cross n-grams seen once are mostly noise */
    int rc = parse_features(opts->features, opts->kind, &cfg, &mindf, &plan, err);
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
    struct sb__nlu_lex *lex = NULL; /* the model takes it */
    struct counter xset = {0};
    if (cfg.lexopts & (SB__NLU_LEX_TOK | SB__NLU_LEX_DOC)) {
        lex = load_lexicon(texts, N, plan.lexlang, plan.lexmin, plan.lexwn, opts->verbose);
        cfg.lex = lex;
        if (!lex)
            cfg.lexopts = 0;
    } else {
        cfg.lexopts = 0;
    }
    extract_rows(texts, N, &cfg, rows);
    if (cfg.cross && mindf.cross > 1) {
        counter_grow(&xset);
        struct sb__nlu_hvec f = {0};
        for (size_t i = 0; i < N; i++) {
            f.n = 0;
            sb__nlu_cross_features(texts[i], strlen(texts[i]), &cfg, &f);
            for (size_t j = 0; j < f.n; j++)
                *counter_slot(&xset, f.h[j]) = 1;
        }
        sb__nlu_hvec_cleanup(&f);
        mindf.xset = &xset;
    }

    /*
     * Model size: each feature costs about 20 bytes + K per linear member + the MLP's hidden
     * units. The hidden layer shrinks so that the model stays within MODEL_BUDGET; below
     * MLP_MIN_HIDDEN units the MLP member is left out.
     */
    {
        uint32_t *all = sb_malloc(N * sizeof(uint32_t));
        size_t na = 0;
        for (size_t i = 0; i < N; i++)
            if (y[i] != -1)
                all[na++] = (uint32_t)i;
        struct vocab v0;
        vocab_build(&v0, rows, all, na, mindf);
        size_t Fall = v0.nfeat ? v0.nfeat : 1;
        vocab_cleanup(&v0);
        free(all);
        size_t per = 20, nmlp = 0;
        for (int mi = 0; mi < plan.nm; mi++) {
            if (plan.type[mi] != SB__NLU_M_MLP)
                per += 4 + K;
            else
                nmlp++;
        }
        double room =
            nmlp ? ((double)MODEL_BUDGET / (double)Fall - (double)per) / (double)nmlp - 4 : 0;
        if (nmlp && room < plan.mlp.hidden) {
            if (room >= MLP_MIN_HIDDEN || nmlp == (size_t)plan.nm) {
                plan.mlp.hidden = room >= MLP_MIN_HIDDEN ? (int)room : MLP_MIN_HIDDEN;
            } else {
                int o = 0;
                for (int mi = 0; mi < plan.nm; mi++)
                    if (plan.type[mi] != SB__NLU_M_MLP)
                        plan.type[o++] = plan.type[mi];
                plan.nm = o;
            }
            if (opts->verbose)
                fprintf(stderr, "train: %zu features: MLP hidden units %d\n", Fall,
                        room >= MLP_MIN_HIDDEN ? plan.mlp.hidden : 0);
        }
    }

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
        uint32_t *ord = sb_malloc(ntr * sizeof(uint32_t));
        for (size_t k = 0; k < K; k++) {
            size_t m = 0;
            for (size_t i = 0; i < ntr; i++)
                if (y[i] == (int)k)
                    lab[m++] = (uint32_t)i;
            /* canonical order first, so the split does not depend on the file's row order */
            canonical_order(texts, y, lab, m, ord);
            for (size_t j = 0; j < m; j++)
                ord[j] = lab[ord[j]];
            shuffle(ord, m, &rng);
            /* a label with a single row is never held out: it could not be learnt */
            for (size_t j = 0; j < m; j++)
                fold[ord[j]] = m >= 2 ? (int)((j + k) % (size_t)nfolds) : -1;
        }
        free(lab);
        free(ord);
    }

    /*
     * Out-of-fold scores of every held-out row: for linear members one set per C of the grid,
     * for the MLP one. oof[m] has (linear ? NGRID : 1) x N x K entries.
     */
    size_t fixed_c = opts->c > 0;
    size_t ngrid = fixed_c ? 1 : NGRID;
    double *oof[SB__NLU_MAX_MEMBERS];
    for (int mi = 0; mi < plan.nm; mi++)
        oof[mi] = sb_calloc((plan.type[mi] == SB__NLU_M_MLP ? 1 : ngrid) * N * K, sizeof(double));
    uint32_t *sel = sb_malloc(N * sizeof(uint32_t));
    uint32_t *hsel = sb_malloc(N * sizeof(uint32_t));
    uint32_t *order = sb_malloc(N * sizeof(uint32_t));
    int *ysel = sb_malloc(N * sizeof(int));
    for (int f = 0; f < nfolds; f++) {
        size_t nfit = 0, nheld = 0;
        for (size_t i = 0; i < N; i++) {
            if (fold[i] == f) {
                hsel[nheld++] = (uint32_t)i;
            } else if (i < ntr) {
                sel[nfit++] = (uint32_t)i;
            }
        }
        if (nheld == 0)
            continue;
        canonical_order(texts, y, sel, nfit, order);
        /* fit rows in canonical order: nothing below depends on the file's row order */
        for (size_t j = 0; j < nfit; j++)
            order[j] = sel[order[j]];
        memcpy(sel, order, nfit * sizeof(uint32_t));
        for (size_t j = 0; j < nfit; j++) {
            ysel[j] = y[sel[j]];
            order[j] = (uint32_t)j;
        }
        struct vocab voc;
        vocab_build(&voc, rows, sel, nfit, mindf);
        size_t F = voc.nfeat;
        struct csr X, H;
        csr_build(&X, rows, sel, nfit, &cfg, &voc);
        csr_build(&H, rows, hsel, nheld, &cfg, &voc);
        if (opts->verbose)
            fprintf(stderr, "train: fold %d/%d: %zu fit rows, %zu held-out rows, %zu features\n",
                    f + 1, nfolds, nfit, nheld, F);
        double *alpha = sb_malloc(K * (nfit ? nfit : 1) * sizeof(double));
        float *w = sb_malloc(K * (F + 1) * sizeof(float));
        for (int mi = 0; mi < plan.nm; mi++) {
            int64_t t0 = sb_mono_ns();
            if (plan.type[mi] == SB__NLU_M_MLP) {
                struct mlp net;
                mlp_fit(&net, &X, ysel, order, K, F, &plan.mlp,
                        seed + 100 + (uint64_t)f + 7919 * mlp_copy(&plan, mi));
                float *z = sb_malloc(net.H * sizeof(float));
                for (size_t j = 0; j < nheld; j++)
                    mlp_forward(&net, &H, j, NULL, 1.0f, z, oof[mi] + (size_t)hsel[j] * K);
                free(z);
                mlp_cleanup(&net);
            } else {
                int bin = plan.type[mi] == SB__NLU_M_NB;
                float *r = bin ? nb_ratios(&X, ysel, K, F) : NULL;
                for (size_t g = 0; g < ngrid; g++) {
                    solve_ovr(&X, bin, ysel, K, F, fixed_c ? opts->c : grid[g], seed + (uint64_t)f,
                              r, w, alpha, g > 0);
                    for (size_t j = 0; j < nheld; j++)
                        scores_of(&H, bin, j, w, K, F, oof[mi] + (g * N + hsel[j]) * K);
                }
                free(r);
            }
            if (opts->verbose)
                fprintf(stderr, "train: fold %d member %d: %.2f s\n", f + 1, plan.type[mi],
                        (double)(sb_mono_ns() - t0) / 1e9);
        }
        free(alpha);
        free(w);
        csr_cleanup(&X);
        csr_cleanup(&H);
        vocab_cleanup(&voc);
    }

    /*
     * Per member: C by held-out accuracy, then a temperature (minimum held-out log-loss). Then
     * the combination weights (a grid on the simplex, step 0.1) by held-out accuracy of the
     * summed calibrated scores, log-loss breaking ties; a last temperature on the sum, and the
     * out-of-scope threshold on its probabilities.
     */
    size_t nh = 0;
    for (size_t i = 0; i < N; i++)
        if (fold[i] >= 0)
            hsel[nh++] = (uint32_t)i;
    {
        /* in the canonical order: the calibration's sums then do not depend on the file's row
           order, to the last bit */
        uint32_t *ord = sb_malloc((nh ? nh : 1) * sizeof(uint32_t));
        uint32_t *hs = sb_malloc((nh ? nh : 1) * sizeof(uint32_t));
        canonical_order(texts, y, hsel, nh, ord);
        for (size_t j = 0; j < nh; j++)
            hs[j] = hsel[ord[j]];
        memcpy(hsel, hs, nh * sizeof(uint32_t));
        free(ord);
        free(hs);
    }
    int *yh = sb_malloc((nh ? nh : 1) * sizeof(int));
    for (size_t j = 0; j < nh; j++)
        yh[j] = y[hsel[j]];
    double *Sm[SB__NLU_MAX_MEMBERS];
    double cm[SB__NLU_MAX_MEMBERS], tm[SB__NLU_MAX_MEMBERS], wm[SB__NLU_MAX_MEMBERS];
    for (int mi = 0; mi < plan.nm; mi++) {
        Sm[mi] = sb_malloc((nh ? nh : 1) * K * sizeof(double));
        size_t bestg = 0;
        double bestacc = -1;
        size_t ng = plan.type[mi] == SB__NLU_M_MLP ? 1 : ngrid;
        for (size_t g = 0; g < ng; g++) {
            for (size_t j = 0; j < nh; j++)
                memcpy(Sm[mi] + j * K, oof[mi] + (g * N + hsel[j]) * K, K * sizeof(double));
            double acc = accuracy_of(Sm[mi], yh, nh, K);
            if (opts->verbose)
                fprintf(stderr, "train: member %d C=%g held-out accuracy %.4f\n", plan.type[mi],
                        fixed_c ? opts->c : grid[g], acc);
            if (acc > bestacc + 1e-9) {
                bestacc = acc;
                bestg = g;
            }
        }
        cm[mi] = fixed_c ? opts->c : grid[bestg];
        for (size_t j = 0; j < nh; j++)
            memcpy(Sm[mi] + j * K, oof[mi] + (bestg * N + hsel[j]) * K, K * sizeof(double));
        tm[mi] = nh ? fit_temperature(Sm[mi], yh, nh, K) : 1.0;
        free(oof[mi]);
    }
    double *P = sb_malloc((nh ? nh : 1) * K * sizeof(double));
    double *tmpk = sb_malloc(K * sizeof(double));
    for (int mi = 0; mi < plan.nm; mi++)
        wm[mi] = mi == 0 ? 1.0 : 0.0;
    if (plan.nm > 1 && nh) {
        double best_acc = -1, best_nll = INFINITY;
        int steps[SB__NLU_MAX_MEMBERS] = {0};
        /* enumerate integer compositions of 10 into plan.nm parts */
        for (;;) {
            int sum = 0;
            for (int mi = 0; mi < plan.nm - 1; mi++)
                sum += steps[mi];
            if (sum <= 10) {
                steps[plan.nm - 1] = 10 - sum;
                for (size_t j = 0; j < nh * K; j++) {
                    double v = 0;
                    for (int mi = 0; mi < plan.nm; mi++)
                        v += steps[mi] * 0.1 * tm[mi] * Sm[mi][j];
                    P[j] = v;
                }
                double acc = accuracy_of(P, yh, nh, K);
                double nll = nll_at(P, yh, nh, K, 1.0, tmpk);
                if (acc > best_acc + 1e-9 || (acc > best_acc - 1e-9 && nll < best_nll)) {
                    best_acc = acc;
                    best_nll = nll;
                    for (int mi = 0; mi < plan.nm; mi++)
                        wm[mi] = steps[mi] * 0.1;
                }
            }
            int d = 0;
            while (d < plan.nm - 1 && ++steps[d] > 10)
                steps[d++] = 0;
            if (d == plan.nm - 1)
                break;
        }
    }
    for (size_t j = 0; j < nh * K; j++) {
        double v = 0;
        for (int mi = 0; mi < plan.nm; mi++)
            v += wm[mi] * tm[mi] * Sm[mi][j];
        P[j] = v;
    }
    double temperature = 1.0, threshold = 0;
    if (nh) {
        if (opts->verbose) {
            for (int mi = 0; mi < plan.nm; mi++)
                fprintf(stderr, "train: member %d: C=%g temperature %.3f weight %.1f\n",
                        plan.type[mi], cm[mi], tm[mi], wm[mi]);
            fprintf(stderr, "train: ensemble held-out accuracy %.4f\n", accuracy_of(P, yh, nh, K));
        }
        temperature = fit_temperature(P, yh, nh, K);
        for (size_t j = 0; j < nh; j++)
            sb__nlu_softmax(P + j * K, K, temperature);
        if (opts->kind == SB_NLU_INTENT)
            threshold = tune_threshold(P, yh, nh, K, oos, opts->verbose);
    }
    if (opts->kind == SB_NLU_INTENT && opts->oos_threshold >= 0)
        threshold = opts->oos_threshold;
    if (opts->verbose)
        fprintf(stderr, "train: temperature %.3f, oos threshold %.3f\n", temperature, threshold);
    for (int mi = 0; mi < plan.nm; mi++)
        free(Sm[mi]);
    free(P);
    free(tmpk);
    free(yh);

    /* the final fit: every training row, and the validation rows unless told not to */
    size_t nfit = 0;
    for (size_t i = 0; i < N; i++)
        if (i < ntr || (!opts->no_refit && y[i] != -1))
            sel[nfit++] = (uint32_t)i;
    canonical_order(texts, y, sel, nfit, order);
    for (size_t j = 0; j < nfit; j++)
        order[j] = sel[order[j]];
    memcpy(sel, order, nfit * sizeof(uint32_t));
    for (size_t j = 0; j < nfit; j++) {
        ysel[j] = y[sel[j]];
        order[j] = (uint32_t)j;
    }
    struct vocab voc;
    vocab_build(&voc, rows, sel, nfit, mindf);
    size_t F = voc.nfeat;
    struct csr X;
    csr_build(&X, rows, sel, nfit, &cfg, &voc);
    if (opts->verbose)
        fprintf(stderr, "train: final fit on %zu rows, %zu features\n", nfit, F);

    struct sb_nlu_model *m = sb_calloc(1, sizeof(*m));
    atomic_init(&m->refs, 1);
    m->kind = opts->kind;
    m->cfg = cfg;
    m->lex = lex;
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
    double *alpha = sb_malloc(K * (nfit ? nfit : 1) * sizeof(double));
    for (int mi = 0; mi < plan.nm; mi++) {
        if (wm[mi] <= 0)
            continue; /* a member the ensemble does not use is not fitted or stored */
        struct sb__nlu_member *mb = &m->member[m->nmembers++];
        mb->type = (uint8_t)plan.type[mi];
        mb->weight = (float)(wm[mi] * tm[mi]);
        struct fitted ft = {0};
        if (plan.type[mi] == SB__NLU_M_MLP) {
            mlp_fit(&ft.net, &X, ysel, order, K, F, &plan.mlp,
                    seed + 100 + 7919 * mlp_copy(&plan, mi));
            size_t Hh = ft.net.H;
            mb->width = (uint32_t)Hh;
            mb->wq = sb_malloc((F ? F : 1) * Hh);
            mb->wscale = sb_malloc((F ? F : 1) * sizeof(float));
            quantize_rows(ft.net.E, F, Hh, Hh, 1, mb->wq, mb->wscale);
            mb->bias = sb_malloc(Hh * sizeof(float));
            memcpy(mb->bias, ft.net.b1, Hh * sizeof(float));
            mb->w2 = sb_malloc(K * Hh * sizeof(float));
            memcpy(mb->w2, ft.net.W2, K * Hh * sizeof(float));
            mb->b2 = sb_malloc(K * sizeof(float));
            memcpy(mb->b2, ft.net.b2, K * sizeof(float));
        } else {
            int bin = plan.type[mi] == SB__NLU_M_NB;
            float *r = bin ? nb_ratios(&X, ysel, K, F) : NULL;
            ft.w = sb_malloc(K * (F + 1) * sizeof(float));
            solve_ovr(&X, bin, ysel, K, F, cm[mi], seed, r, ft.w, alpha, 0);
            free(r);
            mb->width = (uint32_t)K;
            mb->wq = sb_malloc((F ? F : 1) * K);
            mb->wscale = sb_malloc((F ? F : 1) * sizeof(float));
            quantize_rows(ft.w, F, K, 1, F + 1, mb->wq, mb->wscale);
            mb->bias = sb_malloc(K * sizeof(float));
            for (size_t k = 0; k < K; k++)
                mb->bias[k] = ft.w[k * (F + 1) + F];
        }
        fitted_cleanup(&ft);
    }
    free(alpha);
    sb__nlu_model_index(m);

    for (size_t i = 0; i < N; i++)
        free(rows[i].h);
    free(rows);
    free(xset.k);
    free(xset.v);
    vocab_cleanup(&voc);
    csr_cleanup(&X);
    free(texts);
    free(y);
    free(fold);
    free(sel);
    free(hsel);
    free(order);
    free(ysel);
    *out = m;
    return 0;
}
