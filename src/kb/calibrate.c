/* SPDX-License-Identifier: MIT */
/*
 * Calibration of the answer confidence in C, so that a tenant's model can be refitted without
 * Python: L2-regularised logistic regression over the SB_KB_CONF_NF ranking features (Newton's
 * method with a Cholesky solve; the bias is not penalised), the lowest abstention threshold on a
 * 0.005 grid that meets the precision and abstention goals, and cross-validation of that whole
 * procedure over questions (folds by sha256 of the question id, as bench/kb/calibrate.py, which
 * stays as a numpy cross-check). Also the shipped model's defaults and feature names.
 */
#include "kb_internal.h"

#include "sb/mem.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NP (SB_KB_CONF_NF + 1) /* parameters: bias + weights */
#define NEWTON_MAX 100

static const char *const names[SB_KB_CONF_NF] = {
    "top", "gap", "cover", "ctitle", "known", "nterms", "ratio",  "agree_t", "agree_b",
    "phr", "unk", "lfc",   "lrc",    "lbg",   "tm",     "tm_gap", "tm_top", "dcos", "dgap"};

const char *sb_kb_conf_feature_name(size_t i)
{
    return i < SB_KB_CONF_NF ? names[i] : NULL;
}

void sb_kb_calib_opts_default(struct sb_kb_calib_opts *o)
{
    o->l2 = 1e-3;
    o->precision = 0.95;
    o->abstain = 0.90;
    o->folds = 5;
    o->guard = 1;
    o->prior = NULL;
    o->oof_threshold = 0;
}

double sb__kb_conf_apply(const struct sb_kb_conf_model *m, const double x[SB_KB_CONF_NF], int guard)
{
    double z = m->bias;
    for (int i = 0; i < SB_KB_CONF_NF; i++)
        z += m->w[i] * x[i];
    z = z < -30 ? -30 : z > 30 ? 30 : z;
    double c = 1.0 / (1.0 + exp(-z));
    if (guard && x[SB__KB_CF_UNK] > 0 && x[SB__KB_CF_COVER] < SB__KB_UNKNOWN_TOPIC_COVER && c > 0.5)
        c = 0.5;
    return c;
}

/* Fold of a question id: the sha256 digest read as a big-endian number, modulo k (as
 * bench/kb/calibrate.py). `salt` (may be NULL) is hashed before the id: the inner folds of a
 * threshold choice differ from the outer ones. */
static int fold_of(const char *id, int k, const char *salt)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    if (salt)
        crypto_hash_sha256_update(&st, (const unsigned char *)salt, strlen(salt));
    crypto_hash_sha256_update(&st, (const unsigned char *)id, strlen(id));
    crypto_hash_sha256_final(&st, h);
    unsigned r = 0;
    for (size_t i = 0; i < sizeof(h); i++)
        r = (r * 256 + h[i]) % (unsigned)k;
    return (int)r;
}

/* Solves A x = b for a symmetric positive definite A (n <= NP) by Cholesky; 0 on success. */
static int chol_solve(double a[NP][NP], const double *b, double *x, int n)
{
    double l[NP][NP] = {{0}};
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
            double s = a[i][j];
            for (int k = 0; k < j; k++)
                s -= l[i][k] * l[j][k];
            if (i == j) {
                if (s <= 0)
                    return -1;
                l[i][i] = sqrt(s);
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    double y[NP];
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= l[i][k] * y[k];
        y[i] = s / l[i][i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = y[i];
        for (int k = i + 1; k < n; k++)
            s -= l[k][i] * x[k];
        x[i] = s / l[i][i];
    }
    return 0;
}

/* Newton's method on the L2-regularised log-loss over the samples with use[i] set. Returns
 * the steps taken. */
static int fit_logistic(const struct sb_kb_calib_sample *s, size_t n, const unsigned char *use,
                        double l2, const struct sb_kb_conf_model *prior, double w[NP])
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += use[i];
    double reg = l2 * (double)m;
    double w0[NP] = {0};
    if (prior) {
        w0[0] = prior->bias;
        memcpy(w0 + 1, prior->w, SB_KB_CONF_NF * sizeof(double));
    }
    memcpy(w, w0, NP * sizeof(double));
    int it;
    for (it = 0; it < NEWTON_MAX; it++) {
        double g[NP] = {0}, h[NP][NP] = {{0}};
        for (size_t i = 0; i < n; i++) {
            if (!use[i])
                continue;
            double xv[NP];
            xv[0] = 1;
            memcpy(xv + 1, s[i].x, SB_KB_CONF_NF * sizeof(double));
            double z = 0;
            for (int j = 0; j < NP; j++)
                z += w[j] * xv[j];
            z = z < -30 ? -30 : z > 30 ? 30 : z;
            double p = 1.0 / (1.0 + exp(-z));
            double y = s[i].answerable && s[i].right;
            double r = p - y, q = p * (1 - p);
            for (int j = 0; j < NP; j++) {
                g[j] += r * xv[j];
                for (int k = 0; k <= j; k++)
                    h[j][k] += q * xv[j] * xv[k];
            }
        }
        for (int j = 0; j < NP; j++) {
            for (int k = 0; k < j; k++)
                h[k][j] = h[j][k];
            if (j > 0) {
                g[j] += reg * (w[j] - w0[j]);
                h[j][j] += reg;
            }
            h[j][j] += 1e-9; /* keeps a constant or separable column solvable */
        }
        double step[NP];
        if (chol_solve(h, g, step, NP) != 0)
            break;
        double big = 0;
        for (int j = 0; j < NP; j++) {
            w[j] -= step[j];
            if (fabs(step[j]) > big)
                big = fabs(step[j]);
        }
        if (big < 1e-10) {
            it++;
            break;
        }
    }
    return it;
}

static void to_model(const double w[NP], struct sb_kb_conf_model *m)
{
    m->bias = w[0];
    memcpy(m->w, w + 1, SB_KB_CONF_NF * sizeof(double));
}

static void outcome_add(struct sb_kb_calib_outcome *o, const struct sb_kb_calib_sample *s,
                        int answered)
{
    if (s->answerable) {
        o->answerable++;
        if (answered && s->right)
            o->answered_right++;
        else if (answered)
            o->answered_wrong++;
    } else {
        o->unanswerable++;
        o->unanswerable_answered += answered != 0;
    }
}

static void outcome_rates(struct sb_kb_calib_outcome *o)
{
    size_t given = o->answered_right + o->answered_wrong + o->unanswerable_answered;
    o->precision = given ? (double)o->answered_right / (double)given : 1.0;
    o->answered =
        o->answerable ? (double)(o->answered_right + o->answered_wrong) / (double)o->answerable : 0;
    o->abstained =
        o->unanswerable ? 1.0 - (double)o->unanswerable_answered / (double)o->unanswerable : 1.0;
}

/*
 * Lowest threshold on the 0.005 grid meeting both goals on the samples with use[i] set, given
 * their confidences c[i]; *met = 0 and 0.995 when none does.
 */
static double choose_threshold(const struct sb_kb_calib_sample *s, size_t n,
                               const unsigned char *use, const double *c,
                               const struct sb_kb_calib_opts *o, int *met)
{
    /* counts above each grid step, in one pass over the samples */
    enum { STEPS = 199 };
    size_t right[STEPS + 1] = {0}, given[STEPS + 1] = {0}, un_ans[STEPS + 1] = {0};
    size_t nun = 0;
    for (size_t i = 0; i < n; i++) {
        if (!use[i])
            continue;
        nun += !s[i].answerable;
        /* answered at step t (threshold 0.005 * (t + 1)) iff c >= threshold */
        long top = (long)floor(c[i] / 0.005 + 1e-9) - 1; /* highest step answered */
        if (top < 0)
            continue;
        if (top >= STEPS)
            top = STEPS - 1;
        given[top]++;
        right[top] += s[i].answerable && s[i].right;
        un_ans[top] += !s[i].answerable;
    }
    /* suffix sums from the top: answered at step t = all with top >= t */
    for (long t = STEPS - 2; t >= 0; t--) {
        given[t] += given[t + 1];
        right[t] += right[t + 1];
        un_ans[t] += un_ans[t + 1];
    }
    for (int t = 0; t < STEPS; t++) {
        double prec = given[t] ? (double)right[t] / (double)given[t] : 1.0;
        double abst = nun ? 1.0 - (double)un_ans[t] / (double)nun : 1.0;
        if (prec >= o->precision && abst >= o->abstain) {
            *met = 1;
            return 0.005 * (t + 1);
        }
    }
    *met = 0;
    return 0.995;
}

/*
 * Fits the model on the samples with use[i] set and chooses its threshold: on the in-sample
 * confidences, or (o->oof_threshold, o->folds >= 2) on out-of-fold confidences of an inner
 * cross-validation over those samples, which are less optimistic near the precision goal.
 * c[] (n) is scratch. Returns the Newton steps of the fit.
 */
static int fit_threshold(const struct sb_kb_calib_sample *s, size_t n, const unsigned char *use,
                         const struct sb_kb_calib_opts *o, double *c, struct sb_kb_conf_model *m,
                         int *met)
{
    double w[NP];
    int it = fit_logistic(s, n, use, o->l2, o->prior, w);
    to_model(w, m);
    if (o->oof_threshold && o->folds >= 2) {
        unsigned char *in = sb_malloc(n);
        int *fold = sb_malloc(n * sizeof(int));
        for (size_t i = 0; i < n; i++)
            fold[i] = use[i] ? fold_of(s[i].query_id ? s[i].query_id : "", o->folds, "inner|") : -1;
        for (int g = 0; g < o->folds; g++) {
            size_t ntrain = 0, tpos = 0;
            for (size_t i = 0; i < n; i++) {
                in[i] = use[i] && fold[i] != g;
                ntrain += in[i];
                tpos += in[i] && s[i].answerable && s[i].right;
            }
            struct sb_kb_conf_model mi = *m;
            if (ntrain && tpos && tpos < ntrain) {
                double wi[NP];
                fit_logistic(s, n, in, o->l2, o->prior, wi);
                to_model(wi, &mi);
            }
            for (size_t i = 0; i < n; i++) {
                if (fold[i] == g)
                    c[i] = sb__kb_conf_apply(&mi, s[i].x, o->guard);
            }
        }
        free(fold);
        free(in);
    } else {
        for (size_t i = 0; i < n; i++)
            c[i] = sb__kb_conf_apply(m, s[i].x, o->guard);
    }
    m->threshold = choose_threshold(s, n, use, c, o, met);
    return it;
}

int sb_kb_calibrate(const struct sb_kb_calib_sample *s, size_t n,
                    const struct sb_kb_calib_opts *opts, struct sb_kb_conf_model *out,
                    struct sb_kb_calib_report *report, struct sb_error *err)
{
    struct sb_kb_calib_opts o;
    if (opts)
        o = *opts;
    else
        sb_kb_calib_opts_default(&o);
    if (!s || !n || !out)
        return sb_error_set(err, SB_EINVAL, "kb calibrate: no samples");
    if (!(o.l2 >= 0) || !(o.precision >= 0 && o.precision <= 1) ||
        !(o.abstain >= 0 && o.abstain <= 1) || o.folds < 0 || o.folds > 20)
        return sb_error_set(err, SB_EINVAL,
                            "kb calibrate: l2, precision, abstain or folds out "
                            "of range");
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        pos += s[i].answerable && s[i].right;
        for (int j = 0; j < SB_KB_CONF_NF; j++) {
            if (!isfinite(s[i].x[j]))
                return sb_error_set(err, SB_EINVAL,
                                    "kb calibrate: sample %zu (%s): feature %s "
                                    "is not a number",
                                    i + 1, s[i].query_id ? s[i].query_id : "?", names[j]);
        }
    }
    if (pos == 0 || pos == n)
        return sb_error_set(err, SB_EINVAL,
                            "kb calibrate: the samples need both questions the "
                            "top entry answers and questions it does not");
    struct sb_kb_calib_report rep;
    memset(&rep, 0, sizeof(rep));
    unsigned char *use = sb_malloc(n);
    double *c = sb_malloc(n * sizeof(double));
    struct sb_kb_conf_model m;
    double brier = 0;
    if (o.folds >= 2) {
        int *fold = sb_malloc(n * sizeof(int));
        for (size_t i = 0; i < n; i++)
            fold[i] = fold_of(s[i].query_id ? s[i].query_id : "", o.folds, NULL);
        for (int f = 0; f < o.folds; f++) {
            size_t ntrain = 0, nheld = 0, tpos = 0;
            for (size_t i = 0; i < n; i++) {
                use[i] = fold[i] != f;
                ntrain += use[i];
                nheld += !use[i];
                tpos += use[i] && s[i].answerable && s[i].right;
            }
            if (!nheld)
                continue;
            if (!ntrain || tpos == 0 || tpos == ntrain) {
                /* a degenerate training part: abstain on the held questions */
                for (size_t i = 0; i < n; i++) {
                    if (!use[i])
                        outcome_add(&rep.cv, &s[i], 0);
                }
                continue;
            }
            int met;
            fit_threshold(s, n, use, &o, c, &m, &met);
            double t = m.threshold;
            for (size_t i = 0; i < n; i++) {
                if (use[i])
                    continue;
                c[i] = sb__kb_conf_apply(&m, s[i].x, o.guard);
                double y = s[i].answerable && s[i].right;
                brier += (c[i] - y) * (c[i] - y);
                outcome_add(&rep.cv, &s[i], c[i] >= t);
            }
        }
        free(fold);
        outcome_rates(&rep.cv);
    }
    memset(use, 1, n);
    rep.iterations = fit_threshold(s, n, use, &o, c, out, &rep.met);
    for (size_t i = 0; i < n; i++)
        c[i] = sb__kb_conf_apply(out, s[i].x, o.guard);
    for (size_t i = 0; i < n; i++) {
        outcome_add(&rep.fit, &s[i], c[i] >= out->threshold);
        if (o.folds < 2) {
            double y = s[i].answerable && s[i].right;
            brier += (c[i] - y) * (c[i] - y);
        }
    }
    outcome_rates(&rep.fit);
    rep.brier = brier / (double)n;
    free(use);
    free(c);
    if (report)
        *report = rep;
    return 0;
}
