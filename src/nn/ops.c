/* SPDX-License-Identifier: MIT */
/*
 * The op kernels of the inference runtime, float32 (and int64 for shape arithmetic): numpy-style
 * broadcasting element-wise ops, Conv (im2col + GEMM, depthwise convolutions direct), pooling,
 * MatMul (GEMM, batched with broadcasting), the shape ops and the reductions. Each kernel checks
 * the shapes it is given (SB_EINVAL naming the node when they do not fit), shapes its output
 * and allocates it from the call's pool; it never keeps state, so kernels run concurrently.
 */
#include "nn_internal.h"

#include <math.h>
#include <string.h>

#define FAIL(code, ...) sb_error_set(err, code, __VA_ARGS__)

static int setup_out(struct nn_ctx *c, struct nn_tensor *o, int dtype, const int64_t *dims,
                     int ndim, struct sb_error *err)
{
    if (ndim < 0 || ndim > NN_MAX_DIMS)
        return FAIL(SB_ETOOBIG, "output of more than %d dims", NN_MAX_DIMS);
    int64_t n = sb__nn_numel(dims, ndim);
    if (n < 0)
        return FAIL(SB_EINVAL, "negative output dimension");
    if (n > NN_MAX_ELEMS)
        return FAIL(SB_ETOOBIG, "output of more than 2^28 elements");
    o->dtype = dtype;
    o->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        o->dims[i] = dims[i];
    o->n = (size_t)n;
    return sb__nn_alloc(c, o, err);
}

static size_t esize(int dtype)
{
    return dtype == NN_F32 ? 4 : 8;
}

static int norm_axis(int64_t axis, int ndim, int64_t *out)
{
    if (axis < -ndim || axis >= ndim)
        return -1;
    *out = axis < 0 ? axis + ndim : axis;
    return 0;
}

/* Reads a 1-D int64 tensor (an optional input giving axes, starts, shape...). */
static int read_ints(const struct nn_tensor *t, int64_t *dst, int max, int *n, const char *what,
                     const char *node, struct sb_error *err)
{
    if (t->dtype != NN_I64 || t->ndim > 1)
        return FAIL(SB_EINVAL, "node '%s': %s must be a 1-D int64 tensor", node, what);
    if (t->n > (size_t)max)
        return FAIL(SB_EINVAL, "node '%s': %s has %zu values (max %d)", node, what, t->n, max);
    memcpy(dst, t->data, t->n * 8);
    *n = (int)t->n;
    return 0;
}

/* ---- strided copy (Slice, Transpose) ---- */

/* dst (contiguous, dims odims) ← src + off with element strides sstr (may be negative). */
static void copy_strided(void *dst, const void *src, int ndim, const int64_t *odims,
                         const int64_t *sstr, int64_t off, size_t es)
{
    int64_t idx[NN_MAX_DIMS] = {0};
    size_t total = 1;
    for (int i = 0; i < ndim; i++)
        total *= (size_t)odims[i];
    if (total == 0)
        return;
    if (ndim == 0) {
        memcpy(dst, (const char *)src + off * (int64_t)es, es);
        return;
    }
    int64_t inner = odims[ndim - 1], is = sstr[ndim - 1];
    char *d = dst;
    const char *s = src;
    for (size_t done = 0; done < total; done += (size_t)inner) {
        int64_t o = off;
        for (int i = 0; i < ndim - 1; i++)
            o += idx[i] * sstr[i];
        if (is == 1) {
            memcpy(d, s + o * (int64_t)es, (size_t)inner * es);
            d += (size_t)inner * es;
        } else if (es == 4) {
            const float *sp = (const float *)(const void *)s + o;
            float *dp = (float *)(void *)d;
            for (int64_t j = 0; j < inner; j++)
                dp[j] = sp[j * is];
            d += (size_t)inner * 4;
        } else {
            const int64_t *sp = (const int64_t *)(const void *)s + o;
            int64_t *dp = (int64_t *)(void *)d;
            for (int64_t j = 0; j < inner; j++)
                dp[j] = sp[j * is];
            d += (size_t)inner * 8;
        }
        for (int i = ndim - 2; i >= 0; i--) {
            if (++idx[i] < odims[i])
                break;
            idx[i] = 0;
        }
    }
}

/* ---- element-wise binary with broadcasting ---- */

#define BIN_LOOP(NAME, T, EXPR)                                                                    \
    static void NAME(T *restrict o, const T *restrict a, const T *restrict b, int64_t n, int sa,   \
                     int sb)                                                                       \
    {                                                                                              \
        if (sa && sb) {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i], y = b[i];                                                              \
                o[i] = EXPR;                                                                       \
            }                                                                                      \
        } else if (sa) {                                                                           \
            T y = b[0];                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i];                                                                        \
                o[i] = EXPR;                                                                       \
            }                                                                                      \
        } else if (sb) {                                                                           \
            T x = a[0];                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T y = b[i];                                                                        \
                o[i] = EXPR;                                                                       \
            }                                                                                      \
        } else {                                                                                   \
            T x = a[0], y = b[0];                                                                  \
            T v = EXPR;                                                                            \
            for (int64_t i = 0; i < n; i++)                                                        \
                o[i] = v;                                                                          \
        }                                                                                          \
    }

BIN_LOOP(f_add, float, x + y)
BIN_LOOP(f_sub, float, x - y)
BIN_LOOP(f_mul, float, x *y)
BIN_LOOP(f_div, float, x / y)
BIN_LOOP(f_pow, float, (y == 2.0f ? x * x : y == 0.5f ? sqrtf(x) : powf(x, y)))
BIN_LOOP(i_add, int64_t, (int64_t)((uint64_t)x + (uint64_t)y))
BIN_LOOP(i_sub, int64_t, (int64_t)((uint64_t)x - (uint64_t)y))
BIN_LOOP(i_mul, int64_t, (int64_t)((uint64_t)x *(uint64_t)y))
BIN_LOOP(i_div, int64_t, (y == 0 || (y == -1 && x == INT64_MIN)) ? 0 : x / y)

static int op_binary(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *A,
                     const struct nn_tensor *B, struct nn_tensor *O, struct sb_error *err)
{
    if (A->dtype != B->dtype)
        return FAIL(SB_EINVAL, "node '%s' (%s): operands of different types", nd->name,
                    nd->op_type);
    int nd_ = A->ndim > B->ndim ? A->ndim : B->ndim;
    int64_t da[NN_MAX_DIMS], db[NN_MAX_DIMS], od[NN_MAX_DIMS];
    for (int i = 0; i < nd_; i++) {
        int ia = i - (nd_ - A->ndim), ib = i - (nd_ - B->ndim);
        da[i] = ia >= 0 ? A->dims[ia] : 1;
        db[i] = ib >= 0 ? B->dims[ib] : 1;
        if (da[i] != db[i] && da[i] != 1 && db[i] != 1)
            return FAIL(SB_EINVAL,
                        "node '%s' (%s): shapes do not broadcast (dim %d: %lld vs "
                        "%lld)",
                        nd->name, nd->op_type, i, (long long)da[i], (long long)db[i]);
        od[i] = da[i] == 1 ? db[i] : da[i];
    }
    int rc = setup_out(c, O, A->dtype, od, nd_, err);
    if (rc < 0 || O->n == 0)
        return rc;
    /* Strides (0 along broadcast dims), then merge dims that iterate alike. */
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS], sz[NN_MAX_DIMS];
    int64_t ra = 1, rb = 1;
    for (int i = nd_ - 1; i >= 0; i--) {
        sa[i] = da[i] == 1 ? 0 : ra;
        sb[i] = db[i] == 1 ? 0 : rb;
        ra *= da[i];
        rb *= db[i];
    }
    int k = 0;
    int64_t ms[NN_MAX_DIMS], ma[NN_MAX_DIMS], mb[NN_MAX_DIMS];
    for (int i = 0; i < nd_; i++) {
        if (od[i] == 1)
            continue;
        if (k > 0 && ma[k - 1] == sa[i] * od[i] && mb[k - 1] == sb[i] * od[i]) {
            ms[k - 1] *= od[i];
            ma[k - 1] = sa[i];
            mb[k - 1] = sb[i];
            continue;
        }
        ms[k] = od[i];
        ma[k] = sa[i];
        mb[k] = sb[i];
        k++;
    }
    if (k == 0) {
        ms[0] = 1;
        ma[0] = mb[0] = 0;
        k = 1;
    }
    for (int i = 0; i < k; i++)
        sz[i] = ms[i];
    int64_t inner = sz[k - 1];
    int ia = ma[k - 1] != 0, ib = mb[k - 1] != 0;
    int64_t idx[NN_MAX_DIMS] = {0};
    size_t es = esize(A->dtype);
    for (size_t done = 0; done < O->n; done += (size_t)inner) {
        int64_t oa = 0, ob = 0;
        for (int i = 0; i < k - 1; i++) {
            oa += idx[i] * ma[i];
            ob += idx[i] * mb[i];
        }
        const void *pa = (const char *)A->data + oa * (int64_t)es;
        const void *pb = (const char *)B->data + ob * (int64_t)es;
        void *po = (char *)O->data + done * es;
        if (A->dtype == NN_F32) {
            switch (nd->op) {
            case NN_OP_ADD:
                f_add(po, pa, pb, inner, ia, ib);
                break;
            case NN_OP_SUB:
                f_sub(po, pa, pb, inner, ia, ib);
                break;
            case NN_OP_MUL:
                f_mul(po, pa, pb, inner, ia, ib);
                break;
            case NN_OP_DIV:
                f_div(po, pa, pb, inner, ia, ib);
                break;
            default:
                f_pow(po, pa, pb, inner, ia, ib);
                break;
            }
        } else {
            switch (nd->op) {
            case NN_OP_ADD:
                i_add(po, pa, pb, inner, ia, ib);
                break;
            case NN_OP_SUB:
                i_sub(po, pa, pb, inner, ia, ib);
                break;
            case NN_OP_MUL:
                i_mul(po, pa, pb, inner, ia, ib);
                break;
            case NN_OP_DIV:
                i_div(po, pa, pb, inner, ia, ib);
                break;
            default:
                return FAIL(SB_EUNSUPPORTED, "node '%s': Pow on int64", nd->name);
            }
        }
        for (int i = k - 2; i >= 0; i--) {
            if (++idx[i] < sz[i])
                break;
            idx[i] = 0;
        }
    }
    return 0;
}

/* ---- element-wise unary (also the activations fused into a Conv) ---- */

/* The activation loops, written once and expanded for a copy (x → y, no aliasing, so GCC
 * vectorises without a run-time overlap check) and for in place (y → y). */
#define ACT_LOOPS(X, Y)                                                                            \
    switch (op) {                                                                                  \
    case NN_OP_SQRT:                                                                               \
        for (size_t i = 0; i < n; i++)                                                             \
            Y[i] = sqrtf(X[i]);                                                                    \
        break;                                                                                     \
    case NN_OP_RELU:                                                                               \
        for (size_t i = 0; i < n; i++)                                                             \
            Y[i] = X[i] > 0.0f ? X[i] : 0.0f;                                                      \
        break;                                                                                     \
    case NN_OP_SIGMOID:                                                                            \
        for (size_t i = 0; i < n; i++)                                                             \
            Y[i] = 1.0f / (1.0f + expf(-X[i]));                                                    \
        break;                                                                                     \
    case NN_OP_SWISH: /* x * sigmoid(alpha * x) */                                                 \
        for (size_t i = 0; i < n; i++)                                                             \
            Y[i] = X[i] / (1.0f + expf(-p->alpha * X[i]));                                         \
        break;                                                                                     \
    case NN_OP_HARDSIGMOID: {                                                                      \
        float a = p->alpha, b = p->beta;                                                           \
        for (size_t i = 0; i < n; i++) {                                                           \
            float v = a * X[i] + b;                                                                \
            Y[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;                                          \
        }                                                                                          \
        break;                                                                                     \
    }                                                                                              \
    case NN_OP_HARDSWISH: { /* (x * clip(x + alpha, min, max) / beta) * post_mul + post_add */     \
        float a = p->alpha, d = p->beta, pm = p->post_mul, pa = p->post_add;                       \
        for (size_t i = 0; i < n; i++) {                                                           \
            float v = X[i] + a;                                                                    \
            v = v < lo ? lo : v > hi ? hi : v;                                                     \
            Y[i] = (X[i] * v) / d * pm + pa;                                                       \
        }                                                                                          \
        break;                                                                                     \
    }                                                                                              \
    default: /* NN_OP_CLIP */                                                                      \
        for (size_t i = 0; i < n; i++) {                                                           \
            float v = X[i];                                                                        \
            Y[i] = v < lo ? lo : v > hi ? hi : v;                                                  \
        }                                                                                          \
        break;                                                                                     \
    }

/* lo/hi: the clip bounds of CLIP and HARDSWISH. Both compiled for AVX2 and the baseline,
 * chosen at run time (the baseline vectorises 4 floats at a time). */
__attribute__((target_clones("avx2", "default"))) static void
act_copy(int op, const struct nn_params *p, float lo, float hi, const float *restrict x,
         float *restrict y, size_t n)
{
    ACT_LOOPS(x, y)
}

__attribute__((target_clones("avx2", "default"))) static void
act_inplace(int op, const struct nn_params *p, float lo, float hi, float *y, size_t n)
{
    ACT_LOOPS(y, y)
}

static void clip_bounds(const struct nn_params *p, float *lo, float *hi)
{
    *lo = p->has_min ? p->fmin : -INFINITY;
    *hi = p->has_max ? p->fmax : INFINITY;
}

static int op_unary(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *const *in,
                    struct nn_tensor *O, struct sb_error *err)
{
    const struct nn_tensor *X = in[0];
    if (X->dtype != NN_F32)
        return FAIL(SB_EINVAL, "node '%s' (%s): float input expected", nd->name, nd->op_type);
    float lo, hi;
    clip_bounds(&nd->p, &lo, &hi);
    if (nd->op == NN_OP_CLIP && nd->nin > 1 && in[1]) {
        if (in[1]->dtype != NN_F32 || in[1]->n != 1)
            return FAIL(SB_EINVAL, "node '%s': Clip min must be a float scalar", nd->name);
        lo = *(const float *)in[1]->data;
    }
    if (nd->op == NN_OP_CLIP && nd->nin > 2 && in[2]) {
        if (in[2]->dtype != NN_F32 || in[2]->n != 1)
            return FAIL(SB_EINVAL, "node '%s': Clip max must be a float scalar", nd->name);
        hi = *(const float *)in[2]->data;
    }
    int rc = setup_out(c, O, NN_F32, X->dims, X->ndim, err);
    if (rc < 0)
        return rc;
    act_copy(nd->op, &nd->p, lo, hi, X->data, O->data, X->n);
    return 0;
}

/* ---- Conv ---- */

/* 8 floats; GCC lowers it to one AVX register or two SSE ones. */
typedef float v8f __attribute__((vector_size(32)));

/* One channel of a depthwise convolution. The input plane is first copied into `pad` with its
 * zero border, so that the inner loops have no bounds checks; each output vector then
 * accumulates all kernel taps in a register before it is stored once. Compiled twice (AVX2 and
 * baseline), chosen at run time. */
__attribute__((target_clones("avx2", "default"))) static void
conv_depthwise(const float *x, int64_t H, int64_t W, const float *w, int64_t kh, int64_t kw,
               float bias, const struct nn_params *p, float *y, int64_t Ho, int64_t Wo, float *pad)
{
    int64_t sh = p->strides[0], sw = p->strides[1], dh = p->dilations[0], dw = p->dilations[1];
    int64_t pt = p->pads[0], pl = p->pads[1];
    int64_t Hp = H + p->pads[0] + p->pads[2], Wp = W + p->pads[1] + p->pads[3];
    memset(pad, 0, (size_t)(pt * Wp) * 4);
    for (int64_t r = 0; r < H; r++) {
        float *d = pad + (pt + r) * Wp;
        memset(d, 0, (size_t)pl * 4);
        memcpy(d + pl, x + r * W, (size_t)W * 4);
        memset(d + pl + W, 0, (size_t)(Wp - pl - W) * 4);
    }
    memset(pad + (pt + H) * Wp, 0, (size_t)((Hp - pt - H) * Wp) * 4);
    for (int64_t oy = 0; oy < Ho; oy++) {
        float *yr = y + oy * Wo;
        const float *base = pad + oy * sh * Wp;
        int64_t ox = 0;
        if (sw == 1) {
            /* four independent accumulators: the adds of one chain would otherwise wait on
             * each other (latency-bound), and a 5x5 kernel has 25 of them per vector */
            for (; ox + 32 <= Wo; ox += 32) {
                v8f a0 = {bias, bias, bias, bias, bias, bias, bias, bias};
                v8f a1 = a0, a2 = a0, a3 = a0;
                for (int64_t ky = 0; ky < kh; ky++) {
                    const float *r = base + ky * dh * Wp + ox;
                    const float *wr = w + ky * kw;
                    for (int64_t kx = 0; kx < kw; kx++) {
                        v8f v0, v1, v2, v3;
                        const float *q = r + kx * dw;
                        memcpy(&v0, q, sizeof(v0));
                        memcpy(&v1, q + 8, sizeof(v1));
                        memcpy(&v2, q + 16, sizeof(v2));
                        memcpy(&v3, q + 24, sizeof(v3));
                        float wv = wr[kx];
                        a0 += wv * v0;
                        a1 += wv * v1;
                        a2 += wv * v2;
                        a3 += wv * v3;
                    }
                }
                memcpy(yr + ox, &a0, sizeof(a0));
                memcpy(yr + ox + 8, &a1, sizeof(a1));
                memcpy(yr + ox + 16, &a2, sizeof(a2));
                memcpy(yr + ox + 24, &a3, sizeof(a3));
            }
            for (; ox + 8 <= Wo; ox += 8) {
                v8f acc = {bias, bias, bias, bias, bias, bias, bias, bias};
                for (int64_t ky = 0; ky < kh; ky++) {
                    const float *r = base + ky * dh * Wp + ox;
                    const float *wr = w + ky * kw;
                    for (int64_t kx = 0; kx < kw; kx++) {
                        v8f v;
                        memcpy(&v, r + kx * dw, sizeof(v));
                        acc += wr[kx] * v;
                    }
                }
                memcpy(yr + ox, &acc, sizeof(acc));
            }
        }
        for (; ox < Wo; ox++) {
            float acc = bias;
            for (int64_t ky = 0; ky < kh; ky++) {
                const float *r = base + ky * dh * Wp + ox * sw;
                for (int64_t kx = 0; kx < kw; kx++)
                    acc += w[ky * kw + kx] * r[kx * dw];
            }
            yr[ox] = acc;
        }
    }
}

static void im2col(const float *x, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                   const struct nn_params *p, int64_t Ho, int64_t Wo, float *col)
{
    int64_t sh = p->strides[0], sw = p->strides[1], dh = p->dilations[0], dw = p->dilations[1];
    int64_t ph = p->pads[0], pw = p->pads[1];
    for (int64_t ch = 0; ch < C; ch++) {
        const float *xc = x + ch * H * W;
        for (int64_t ky = 0; ky < kh; ky++) {
            for (int64_t kx = 0; kx < kw; kx++) {
                float *row = col + ((ch * kh + ky) * kw + kx) * Ho * Wo;
                int64_t off = kx * dw - pw;
                int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int64_t hi = (W - 1 - off) >= 0 ? (W - 1 - off) / sw + 1 : 0;
                if (hi > Wo)
                    hi = Wo;
                if (lo > hi)
                    lo = hi;
                for (int64_t oy = 0; oy < Ho; oy++) {
                    float *r = row + oy * Wo;
                    int64_t iy = oy * sh - ph + ky * dh;
                    if (iy < 0 || iy >= H) {
                        memset(r, 0, (size_t)Wo * 4);
                        continue;
                    }
                    const float *xr = xc + iy * W;
                    for (int64_t ox = 0; ox < lo; ox++)
                        r[ox] = 0.0f;
                    if (sw == 1) {
                        memcpy(r + lo, xr + lo + off, (size_t)(hi - lo) * 4);
                    } else {
                        for (int64_t ox = lo; ox < hi; ox++)
                            r[ox] = xr[ox * sw + off];
                    }
                    for (int64_t ox = hi; ox < Wo; ox++)
                        r[ox] = 0.0f;
                }
            }
        }
    }
}

static int op_conv(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *const *in,
                   struct nn_tensor *O, struct sb_error *err)
{
    const struct nn_tensor *X = in[0], *Wt = in[1], *Bt = nd->nin > 2 ? in[2] : NULL;
    const struct nn_params *p = &nd->p;
    if (X->dtype != NN_F32 || Wt->dtype != NN_F32 || X->ndim != 4 || Wt->ndim != 4)
        return FAIL(SB_EINVAL,
                    "node '%s' (Conv): only 2-D float convolutions (4-D input and "
                    "weights)",
                    nd->name);
    int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], W = X->dims[3];
    int64_t M = Wt->dims[0], Cg = Wt->dims[1], kh = Wt->dims[2], kw = Wt->dims[3];
    int64_t G = p->group;
    if (Cg * G != C || M % G != 0)
        return FAIL(SB_EINVAL,
                    "node '%s' (Conv): %lld input channels, weights for %lld x %lld "
                    "groups",
                    nd->name, (long long)C, (long long)Cg, (long long)G);
    if (p->kernel[0] != -1 && (p->kernel[0] != kh || p->kernel[1] != kw))
        return FAIL(SB_EINVAL, "node '%s' (Conv): kernel_shape differs from the weights", nd->name);
    if (Bt && (Bt->dtype != NN_F32 || Bt->n != (size_t)M))
        return FAIL(SB_EINVAL, "node '%s' (Conv): bias of %zu values for %lld channels", nd->name,
                    Bt->n, (long long)M);
    int64_t eh = p->dilations[0] * (kh - 1) + 1, ew = p->dilations[1] * (kw - 1) + 1;
    int64_t Ho = (H + p->pads[0] + p->pads[2] - eh), Wo = (W + p->pads[1] + p->pads[3] - ew);
    if (Ho < 0 || Wo < 0)
        return FAIL(SB_EINVAL, "node '%s' (Conv): input %lldx%lld smaller than the kernel",
                    nd->name, (long long)H, (long long)W);
    Ho = Ho / p->strides[0] + 1;
    Wo = Wo / p->strides[1] + 1;
    int64_t od[4] = {N, M, Ho, Wo};
    int rc = setup_out(c, O, NN_F32, od, 4, err);
    if (rc < 0 || O->n == 0)
        return rc;
    const float *x = X->data, *w = Wt->data, *b = Bt ? Bt->data : NULL;
    float *y = O->data;
    int64_t Mg = M / G, HWo = Ho * Wo, K = Cg * kh * kw;
    float lo, hi;
    clip_bounds(p, &lo, &hi);
    if (Cg == 1 && Mg == 1) {
        int64_t padn = (H + p->pads[0] + p->pads[2]) * (W + p->pads[1] + p->pads[3]);
        if (padn > NN_MAX_ELEMS)
            return FAIL(SB_ETOOBIG, "node '%s' (Conv): padded plane too large", nd->name);
        float *pad = sb__nn_scratch(c, 0, (size_t)padn * 4 + 4, err);
        if (!pad)
            return err ? err->code : SB_ETOOBIG;
        for (int64_t n = 0; n < N; n++)
            for (int64_t m = 0; m < M; m++) {
                float *ym = y + (n * M + m) * HWo;
                conv_depthwise(x + (n * C + m) * H * W, H, W, w + m * kh * kw, kh, kw,
                               b ? b[m] : 0.0f, p, ym, Ho, Wo, pad);
                if (p->act) /* while the plane is in cache */
                    act_inplace(p->act, p, lo, hi, ym, (size_t)HWo);
            }
        return 0;
    }
    int direct = kh == 1 && kw == 1 && p->strides[0] == 1 && p->strides[1] == 1 &&
                 p->pads[0] == 0 && p->pads[1] == 0 && p->pads[2] == 0 && p->pads[3] == 0;
    float *col = NULL;
    if (!direct) {
        if ((uint64_t)K * (uint64_t)HWo > (uint64_t)NN_MAX_ELEMS)
            return FAIL(SB_ETOOBIG, "node '%s' (Conv): im2col buffer too large", nd->name);
        col = sb__nn_scratch(c, 0, (size_t)(K * HWo) * 4, err);
        if (!col)
            return err ? err->code : SB_ETOOBIG;
    }
    float *gs = sb__nn_scratch(c, 1, sb__nn_gemm_scratch((size_t)Mg, (size_t)HWo, (size_t)K), err);
    if (!gs)
        return err ? err->code : SB_ETOOBIG;
    for (int64_t n = 0; n < N; n++) {
        for (int64_t g = 0; g < G; g++) {
            const float *xg = x + (n * C + g * Cg) * H * W;
            const float *bm = xg;
            if (!direct) {
                im2col(xg, Cg, H, W, kh, kw, p, Ho, Wo, col);
                bm = col;
            }
            float *yg = y + (n * M + g * Mg) * HWo;
            for (int64_t m = 0; m < Mg; m++) {
                float bv = b ? b[g * Mg + m] : 0.0f;
                float *r = yg + m * HWo;
                for (int64_t i = 0; i < HWo; i++)
                    r[i] = bv;
            }
            if (p->wpacked)
                sb__nn_gemm_packed((size_t)Mg, (size_t)HWo, (size_t)K,
                                   w + (size_t)g * sb__nn_gemm_packed_size((size_t)Mg, (size_t)K),
                                   bm, (size_t)HWo, yg, (size_t)HWo, gs);
            else
                sb__nn_gemm((size_t)Mg, (size_t)HWo, (size_t)K, w + g * Mg * K, (size_t)K, bm,
                            (size_t)HWo, yg, (size_t)HWo, gs);
            if (p->act)
                act_inplace(p->act, p, lo, hi, yg, (size_t)(Mg * HWo));
        }
    }
    return 0;
}

/* ---- BatchNormalization (when not folded into a Conv) ---- */

static int op_batchnorm(struct nn_ctx *c, const struct nn_node *nd,
                        const struct nn_tensor *const *in, struct nn_tensor *O,
                        struct sb_error *err)
{
    const struct nn_tensor *X = in[0];
    if (X->dtype != NN_F32 || X->ndim < 2)
        return FAIL(SB_EINVAL, "node '%s' (BatchNormalization): float input of rank >= 2",
                    nd->name);
    int64_t C = X->dims[1];
    for (int i = 1; i < 5; i++)
        if (in[i]->dtype != NN_F32 || in[i]->n != (size_t)C)
            return FAIL(SB_EINVAL,
                        "node '%s' (BatchNormalization): parameter %d has %zu values "
                        "for %lld channels",
                        nd->name, i, in[i]->n, (long long)C);
    int rc = setup_out(c, O, NN_F32, X->dims, X->ndim, err);
    if (rc < 0)
        return rc;
    int64_t inner = 1;
    for (int i = 2; i < X->ndim; i++)
        inner *= X->dims[i];
    const float *s = in[1]->data, *bb = in[2]->data, *mean = in[3]->data, *var = in[4]->data;
    const float *x = X->data;
    float *y = O->data;
    for (int64_t n = 0; n < X->dims[0]; n++)
        for (int64_t ch = 0; ch < C; ch++) {
            float k = s[ch] / sqrtf(var[ch] + nd->p.epsilon), a = bb[ch] - mean[ch] * k;
            const float *xp = x + (n * C + ch) * inner;
            float *yp = y + (n * C + ch) * inner;
            for (int64_t i = 0; i < inner; i++)
                yp[i] = xp[i] * k + a;
        }
    return 0;
}

/* ---- pooling ---- */

static int op_gap(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *X,
                  struct nn_tensor *O, struct sb_error *err)
{
    if (X->dtype != NN_F32 || X->ndim < 3)
        return FAIL(SB_EINVAL, "node '%s' (GlobalAveragePool): float input of rank >= 3", nd->name);
    int64_t od[NN_MAX_DIMS];
    int64_t inner = 1;
    for (int i = 0; i < X->ndim; i++) {
        od[i] = i < 2 ? X->dims[i] : 1;
        if (i >= 2)
            inner *= X->dims[i];
    }
    int rc = setup_out(c, O, NN_F32, od, X->ndim, err);
    if (rc < 0)
        return rc;
    const float *x = X->data;
    float *y = O->data;
    for (size_t i = 0; i < O->n; i++) {
        float s = 0.0f;
        for (int64_t j = 0; j < inner; j++)
            s += x[(int64_t)i * inner + j];
        y[i] = inner ? s / (float)inner : 0.0f;
    }
    return 0;
}

static int op_avgpool(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *X,
                      struct nn_tensor *O, struct sb_error *err)
{
    const struct nn_params *p = &nd->p;
    if (X->dtype != NN_F32 || X->ndim != 4)
        return FAIL(SB_EINVAL, "node '%s' (AveragePool): only 2-D pooling of a 4-D float input",
                    nd->name);
    int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], W = X->dims[3];
    int64_t kh = p->kernel[0], kw = p->kernel[1];
    int64_t Ho = H + p->pads[0] + p->pads[2] - kh, Wo = W + p->pads[1] + p->pads[3] - kw;
    if (Ho < 0 || Wo < 0)
        return FAIL(SB_EINVAL, "node '%s' (AveragePool): input smaller than the kernel", nd->name);
    Ho = Ho / p->strides[0] + 1;
    Wo = Wo / p->strides[1] + 1;
    int64_t od[4] = {N, C, Ho, Wo};
    int rc = setup_out(c, O, NN_F32, od, 4, err);
    if (rc < 0)
        return rc;
    const float *x = X->data;
    float *y = O->data;
    for (int64_t pl = 0; pl < N * C; pl++) {
        const float *xp = x + pl * H * W;
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++) {
                int64_t y0 = oy * p->strides[0] - p->pads[0], x0 = ox * p->strides[1] - p->pads[1];
                float s = 0.0f;
                int64_t cnt = 0;
                for (int64_t ky = 0; ky < kh; ky++)
                    for (int64_t kx = 0; kx < kw; kx++) {
                        int64_t iy = y0 + ky, ix = x0 + kx;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                            continue;
                        s += xp[iy * W + ix];
                        cnt++;
                    }
                if (p->count_include_pad)
                    cnt = kh * kw;
                y[(pl * Ho + oy) * Wo + ox] = cnt ? s / (float)cnt : 0.0f;
            }
    }
    return 0;
}

/* ---- shape ops ---- */

static int op_shape(struct nn_ctx *c, const struct nn_tensor *X, struct nn_tensor *O,
                    struct sb_error *err)
{
    int64_t d = X->ndim;
    int rc = setup_out(c, O, NN_I64, &d, 1, err);
    if (rc < 0)
        return rc;
    memcpy(O->data, X->dims, (size_t)X->ndim * 8);
    return 0;
}

static int op_cast(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *X,
                   struct nn_tensor *O, struct sb_error *err)
{
    int to = nd->p.to == 1 ? NN_F32 : NN_I64;
    int rc = setup_out(c, O, to, X->dims, X->ndim, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < X->n; i++) {
        if (X->dtype == NN_F32 && to == NN_F32) {
            ((float *)O->data)[i] = ((const float *)X->data)[i];
        } else if (X->dtype == NN_F32) {
            float v = ((const float *)X->data)[i];
            if (!(v > -9.2e18f && v < 9.2e18f))
                v = 0.0f; /* NaN / out of range: undefined in ONNX; pick 0 */
            int64_t iv = (int64_t)v;
            ((int64_t *)O->data)[i] = nd->p.to == 6 ? (int32_t)(uint32_t)(uint64_t)iv : iv;
        } else if (to == NN_F32) {
            ((float *)O->data)[i] = (float)((const int64_t *)X->data)[i];
        } else {
            int64_t iv = ((const int64_t *)X->data)[i];
            ((int64_t *)O->data)[i] = nd->p.to == 6 ? (int32_t)(uint32_t)(uint64_t)iv : iv;
        }
    }
    return 0;
}

static int op_slice(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *const *in,
                    struct nn_tensor *O, struct sb_error *err)
{
    const struct nn_tensor *X = in[0];
    const struct nn_params *p = &nd->p;
    int64_t starts[NN_MAX_DIMS], ends[NN_MAX_DIMS], axes[NN_MAX_DIMS], steps[NN_MAX_DIMS];
    int ns = 0, ne = 0, na = 0, nst, rc;
    if (p->nstarts) {
        ns = ne = na = p->nstarts;
        memcpy(starts, p->starts, sizeof(starts));
        memcpy(ends, p->ends, sizeof(ends));
        memcpy(axes, p->axes, sizeof(axes));
    } else {
        if (nd->nin < 3 || !in[1] || !in[2])
            return FAIL(SB_EINVAL, "node '%s' (Slice): no starts/ends", nd->name);
        if ((rc = read_ints(in[1], starts, NN_MAX_DIMS, &ns, "starts", nd->name, err)) < 0 ||
            (rc = read_ints(in[2], ends, NN_MAX_DIMS, &ne, "ends", nd->name, err)) < 0)
            return rc;
        if (ns != ne)
            return FAIL(SB_EINVAL, "node '%s' (Slice): starts and ends differ in length", nd->name);
        na = ns;
        for (int i = 0; i < ns; i++)
            axes[i] = i;
        if (nd->nin > 3 && in[3] &&
            (rc = read_ints(in[3], axes, NN_MAX_DIMS, &na, "axes", nd->name, err)) < 0)
            return rc;
        if (na != ns)
            return FAIL(SB_EINVAL, "node '%s' (Slice): axes and starts differ in length", nd->name);
    }
    nst = ns;
    for (int i = 0; i < ns; i++)
        steps[i] = 1;
    if (nd->nin > 4 && in[4] &&
        (rc = read_ints(in[4], steps, NN_MAX_DIMS, &nst, "steps", nd->name, err)) < 0)
        return rc;
    if (nst != ns)
        return FAIL(SB_EINVAL, "node '%s' (Slice): steps and starts differ in length", nd->name);
    int64_t st[NN_MAX_DIMS], sp[NN_MAX_DIMS], od[NN_MAX_DIMS];
    for (int i = 0; i < X->ndim; i++) {
        st[i] = 0;
        sp[i] = 1;
        od[i] = X->dims[i];
    }
    int seen = 0;
    for (int i = 0; i < ns; i++) {
        int64_t ax;
        if (norm_axis(axes[i], X->ndim, &ax) < 0 || (seen & (1 << ax)))
            return FAIL(SB_EINVAL, "node '%s' (Slice): bad axis %lld", nd->name,
                        (long long)axes[i]);
        seen |= 1 << ax;
        int64_t d = X->dims[ax], s = starts[i], e = ends[i], k = steps[i];
        if (k == 0 || k == INT64_MIN)
            return FAIL(SB_EINVAL, "node '%s' (Slice): bad step", nd->name);
        if (s < 0)
            s += d;
        if (e < 0)
            e += d;
        if (k > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            e = e < 0 ? 0 : e > d ? d : e;
            od[ax] = e > s ? (e - s + k - 1) / k : 0;
        } else {
            s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            od[ax] = s > e ? (s - e + (-k) - 1) / (-k) : 0;
        }
        st[ax] = s;
        sp[ax] = k;
    }
    rc = setup_out(c, O, X->dtype, od, X->ndim, err);
    if (rc < 0 || O->n == 0)
        return rc;
    int64_t sstr[NN_MAX_DIMS], r = 1, off = 0;
    for (int i = X->ndim - 1; i >= 0; i--) {
        sstr[i] = r * sp[i];
        off += st[i] * r;
        r *= X->dims[i];
    }
    copy_strided(O->data, X->data, X->ndim, od, sstr, off, esize(X->dtype));
    return 0;
}

static int op_concat(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *const *in,
                     struct nn_tensor *O, struct sb_error *err)
{
    const struct nn_tensor *A = in[0];
    int64_t ax;
    if (norm_axis(nd->p.axis, A->ndim, &ax) < 0)
        return FAIL(SB_EINVAL, "node '%s' (Concat): bad axis", nd->name);
    int64_t od[NN_MAX_DIMS];
    memcpy(od, A->dims, sizeof(od));
    od[ax] = 0;
    for (int i = 0; i < nd->nin; i++) {
        const struct nn_tensor *T = in[i];
        if (!T || T->dtype != A->dtype || T->ndim != A->ndim)
            return FAIL(SB_EINVAL, "node '%s' (Concat): input %d differs in type or rank", nd->name,
                        i);
        for (int d = 0; d < A->ndim; d++)
            if (d != ax && T->dims[d] != A->dims[d])
                return FAIL(SB_EINVAL, "node '%s' (Concat): input %d differs in dim %d", nd->name,
                            i, d);
        od[ax] += T->dims[ax];
    }
    int rc = setup_out(c, O, A->dtype, od, A->ndim, err);
    if (rc < 0 || O->n == 0)
        return rc;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < ax; d++)
        outer *= od[d];
    for (int d = (int)ax + 1; d < A->ndim; d++)
        inner *= od[d];
    size_t es = esize(A->dtype);
    char *dst = O->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < nd->nin; i++) {
            size_t chunk = (size_t)(in[i]->dims[ax] * inner) * es;
            memcpy(dst, (const char *)in[i]->data + (size_t)o * chunk, chunk);
            dst += chunk;
        }
    return 0;
}

static int op_reshape(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *X,
                      const struct nn_tensor *S, struct nn_tensor *O, struct sb_error *err)
{
    int64_t sh[NN_MAX_DIMS];
    int n = 0, rc, neg = -1;
    if ((rc = read_ints(S, sh, NN_MAX_DIMS, &n, "shape", nd->name, err)) < 0)
        return rc;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        if (sh[i] == 0 && !nd->p.allowzero) {
            if (i >= X->ndim)
                return FAIL(SB_EINVAL, "node '%s' (Reshape): 0 at dim %d past the input rank",
                            nd->name, i);
            sh[i] = X->dims[i];
        }
        if (sh[i] == -1) {
            if (neg >= 0)
                return FAIL(SB_EINVAL, "node '%s' (Reshape): two -1 dims", nd->name);
            neg = i;
            continue;
        }
        if (sh[i] < 0 || (sh[i] && known > NN_MAX_ELEMS / sh[i]))
            return FAIL(SB_EINVAL, "node '%s' (Reshape): bad dim %lld", nd->name, (long long)sh[i]);
        known *= sh[i];
    }
    if (neg >= 0) {
        if (known == 0 || (int64_t)X->n % known)
            return FAIL(SB_EINVAL, "node '%s' (Reshape): cannot infer the -1 dim", nd->name);
        sh[neg] = (int64_t)X->n / known;
        known *= sh[neg];
    }
    if (known != (int64_t)X->n)
        return FAIL(SB_EINVAL, "node '%s' (Reshape): %zu elements into %lld", nd->name, X->n,
                    (long long)known);
    if ((rc = setup_out(c, O, X->dtype, sh, n, err)) < 0)
        return rc;
    memcpy(O->data, X->data, X->n * esize(X->dtype));
    return 0;
}

static int op_transpose(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *X,
                        struct nn_tensor *O, struct sb_error *err)
{
    int64_t perm[NN_MAX_DIMS], od[NN_MAX_DIMS], istr[NN_MAX_DIMS], sstr[NN_MAX_DIMS];
    int nd_ = X->ndim;
    if (nd->p.nperm) {
        if (nd->p.nperm != nd_)
            return FAIL(SB_EINVAL, "node '%s' (Transpose): perm of %d for rank %d", nd->name,
                        nd->p.nperm, nd_);
        memcpy(perm, nd->p.perm, sizeof(perm));
    } else {
        for (int i = 0; i < nd_; i++)
            perm[i] = nd_ - 1 - i;
    }
    int seen = 0;
    for (int i = 0; i < nd_; i++) {
        if (perm[i] < 0 || perm[i] >= nd_ || (seen & (1 << perm[i])))
            return FAIL(SB_EINVAL, "node '%s' (Transpose): bad perm", nd->name);
        seen |= 1 << perm[i];
    }
    int64_t r = 1;
    for (int i = nd_ - 1; i >= 0; i--) {
        istr[i] = r;
        r *= X->dims[i];
    }
    for (int i = 0; i < nd_; i++) {
        od[i] = X->dims[perm[i]];
        sstr[i] = istr[perm[i]];
    }
    int rc = setup_out(c, O, X->dtype, od, nd_, err);
    if (rc < 0 || O->n == 0)
        return rc;
    copy_strided(O->data, X->data, nd_, od, sstr, 0, esize(X->dtype));
    return 0;
}

/* Axes from the attribute or the optional second input; bitmask of normalised axes. */
static int get_axes(const struct nn_node *nd, const struct nn_tensor *const *in, int ndim,
                    int *mask, int *count, struct sb_error *err)
{
    int64_t axes[NN_MAX_DIMS];
    int n = 0, rc;
    if (nd->p.has_axes) {
        n = nd->p.naxes;
        memcpy(axes, nd->p.axes, sizeof(axes));
    } else if (nd->nin > 1 && in[1]) {
        if ((rc = read_ints(in[1], axes, NN_MAX_DIMS, &n, "axes", nd->name, err)) < 0)
            return rc;
    }
    *mask = 0;
    for (int i = 0; i < n; i++) {
        int64_t a;
        if (norm_axis(axes[i], ndim, &a) < 0 || (*mask & (1 << a)))
            return FAIL(SB_EINVAL, "node '%s' (%s): bad axis %lld", nd->name, nd->op_type,
                        (long long)axes[i]);
        *mask |= 1 << a;
    }
    *count = n;
    return 0;
}

static int op_reducemean(struct nn_ctx *c, const struct nn_node *nd,
                         const struct nn_tensor *const *in, struct nn_tensor *O,
                         struct sb_error *err)
{
    const struct nn_tensor *X = in[0];
    int mask, cnt, rc;
    if (X->dtype != NN_F32)
        return FAIL(SB_EINVAL, "node '%s' (ReduceMean): float input expected", nd->name);
    if ((rc = get_axes(nd, in, X->ndim, &mask, &cnt, err)) < 0)
        return rc;
    if (cnt == 0)
        mask = (1 << X->ndim) - 1;
    int64_t od[NN_MAX_DIMS], kd[NN_MAX_DIMS], ostr[NN_MAX_DIMS];
    int on = 0;
    int64_t red = 1;
    for (int i = 0; i < X->ndim; i++) {
        kd[i] = (mask & (1 << i)) ? 1 : X->dims[i];
        if (mask & (1 << i))
            red *= X->dims[i];
        if (!(mask & (1 << i)) || nd->p.keepdims)
            od[on++] = kd[i];
    }
    if ((rc = setup_out(c, O, NN_F32, od, on, err)) < 0)
        return rc;
    const float *x = X->data;
    float *y = O->data;
    if (X->ndim > 0 && mask == (1 << (X->ndim - 1))) { /* last axis: row means */
        int64_t len = X->dims[X->ndim - 1];
        for (size_t r = 0; r < O->n; r++) {
            float s = 0.0f;
            for (int64_t j = 0; j < len; j++)
                s += x[(int64_t)r * len + j];
            y[r] = len ? s / (float)len : NAN;
        }
        return 0;
    }
    int64_t rr = 1;
    for (int i = X->ndim - 1; i >= 0; i--) {
        ostr[i] = (mask & (1 << i)) ? 0 : rr;
        rr *= kd[i];
    }
    memset(y, 0, O->n * 4);
    int64_t idx[NN_MAX_DIMS] = {0};
    for (size_t i = 0; i < X->n; i++) {
        int64_t o = 0;
        for (int d = 0; d < X->ndim; d++)
            o += idx[d] * ostr[d];
        y[o] += x[i];
        for (int d = X->ndim - 1; d >= 0; d--) {
            if (++idx[d] < X->dims[d])
                break;
            idx[d] = 0;
        }
    }
    for (size_t i = 0; i < O->n; i++)
        y[i] = red ? y[i] / (float)red : NAN;
    return 0;
}

static int op_squeeze(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *const *in,
                      struct nn_tensor *O, struct sb_error *err)
{
    const struct nn_tensor *X = in[0];
    int mask, cnt, rc, on = 0;
    int64_t od[NN_MAX_DIMS];
    if (nd->op == NN_OP_SQUEEZE) {
        if ((rc = get_axes(nd, in, X->ndim, &mask, &cnt, err)) < 0)
            return rc;
        for (int i = 0; i < X->ndim; i++) {
            int drop = cnt ? (mask >> i) & 1 : X->dims[i] == 1;
            if (drop && X->dims[i] != 1)
                return FAIL(SB_EINVAL, "node '%s' (Squeeze): dim %d is %lld, not 1", nd->name, i,
                            (long long)X->dims[i]);
            if (!drop)
                od[on++] = X->dims[i];
        }
    } else {
        /* Unsqueeze: axes refer to the output rank. */
        int64_t axes[NN_MAX_DIMS];
        int n = 0;
        if (nd->p.has_axes) {
            n = nd->p.naxes;
            memcpy(axes, nd->p.axes, sizeof(axes));
        } else if (nd->nin > 1 && in[1]) {
            if ((rc = read_ints(in[1], axes, NN_MAX_DIMS, &n, "axes", nd->name, err)) < 0)
                return rc;
        }
        int orank = X->ndim + n;
        if (n == 0 || orank > NN_MAX_DIMS)
            return FAIL(SB_EINVAL, "node '%s' (Unsqueeze): bad axes", nd->name);
        mask = 0;
        for (int i = 0; i < n; i++) {
            int64_t a;
            if (norm_axis(axes[i], orank, &a) < 0 || (mask & (1 << a)))
                return FAIL(SB_EINVAL, "node '%s' (Unsqueeze): bad axis", nd->name);
            mask |= 1 << a;
        }
        int j = 0;
        for (int i = 0; i < orank; i++)
            od[on++] = (mask >> i) & 1 ? 1 : X->dims[j++];
    }
    if ((rc = setup_out(c, O, X->dtype, od, on, err)) < 0)
        return rc;
    memcpy(O->data, X->data, X->n * esize(X->dtype));
    return 0;
}

static int op_softmax(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *X,
                      int64_t opset, struct nn_tensor *O, struct sb_error *err)
{
    int64_t ax;
    if (X->dtype != NN_F32 || norm_axis(nd->p.axis, X->ndim, &ax) < 0)
        return FAIL(SB_EINVAL, "node '%s' (Softmax): float input and a valid axis expected",
                    nd->name);
    int rc = setup_out(c, O, NN_F32, X->dims, X->ndim, err);
    if (rc < 0 || X->n == 0)
        return rc;
    int64_t outer = 1, len = 1, inner = 1;
    for (int i = 0; i < X->ndim; i++) {
        if (i < ax)
            outer *= X->dims[i];
        else if (i == ax || opset < 13)
            len *= X->dims[i]; /* before opset 13 the input is flattened at `axis` */
        else
            inner *= X->dims[i];
    }
    const float *x = X->data;
    float *y = O->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < inner; k++) {
            const float *xp = x + o * len * inner + k;
            float *yp = y + o * len * inner + k;
            float mx = -INFINITY;
            for (int64_t j = 0; j < len; j++)
                mx = xp[j * inner] > mx ? xp[j * inner] : mx;
            float s = 0.0f;
            for (int64_t j = 0; j < len; j++) {
                float e = expf(xp[j * inner] - mx);
                yp[j * inner] = e;
                s += e;
            }
            float inv = 1.0f / s;
            for (int64_t j = 0; j < len; j++)
                yp[j * inner] *= inv;
        }
    return 0;
}

/* ---- MatMul ---- */

static int op_matmul(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *A,
                     const struct nn_tensor *B, struct nn_tensor *O, struct sb_error *err)
{
    if (A->dtype != NN_F32 || B->dtype != NN_F32 || A->ndim < 1 || B->ndim < 1)
        return FAIL(SB_EINVAL, "node '%s' (MatMul): float operands of rank >= 1", nd->name);
    int64_t ad[NN_MAX_DIMS], bd[NN_MAX_DIMS];
    int an = A->ndim, bn = B->ndim;
    memcpy(ad, A->dims, sizeof(ad));
    memcpy(bd, B->dims, sizeof(bd));
    int a1 = an == 1, b1 = bn == 1;
    if (a1) { /* [K] → [1, K] */
        ad[1] = ad[0];
        ad[0] = 1;
        an = 2;
    }
    if (b1) { /* [K] → [K, 1] */
        bd[1] = 1;
        bn = 2;
    }
    int64_t M = ad[an - 2], K = ad[an - 1], K2 = bd[bn - 2], N = bd[bn - 1];
    if (K != K2)
        return FAIL(SB_EINVAL, "node '%s' (MatMul): inner dims %lld and %lld differ", nd->name,
                    (long long)K, (long long)K2);
    int bat = (an > bn ? an : bn) - 2;
    int64_t od[NN_MAX_DIMS], sa[NN_MAX_DIMS], sb[NN_MAX_DIMS];
    int64_t ra = M * K, rb = K * N;
    for (int i = bat - 1; i >= 0; i--) {
        int ia = i - (bat - (an - 2)), ib = i - (bat - (bn - 2));
        int64_t x = ia >= 0 ? ad[ia] : 1, y = ib >= 0 ? bd[ib] : 1;
        if (x != y && x != 1 && y != 1)
            return FAIL(SB_EINVAL, "node '%s' (MatMul): batch dims do not broadcast", nd->name);
        od[i] = x == 1 ? y : x;
        sa[i] = x == 1 ? 0 : ra;
        sb[i] = y == 1 ? 0 : rb;
        ra *= x;
        rb *= y;
    }
    int on = bat;
    if (!a1)
        od[on++] = M;
    if (!b1)
        od[on++] = N;
    int rc = setup_out(c, O, NN_F32, od, on, err);
    if (rc < 0 || O->n == 0)
        return rc;
    memset(O->data, 0, O->n * 4);
    int64_t batches = 1;
    for (int i = 0; i < bat; i++)
        batches *= od[i];
    const float *a = A->data, *b = B->data;
    float *y = O->data;
    /* A's batch contiguous against one B: one GEMM with M * batches rows. */
    int b_shared = 1;
    for (int i = 0; i < bat; i++)
        if (sb[i] != 0)
            b_shared = 0;
    int a_full = 1;
    for (int i = 0; i < bat; i++)
        if (sa[i] == 0 && od[i] != 1)
            a_full = 0;
    float *gs;
    if (b_shared && a_full) {
        gs = sb__nn_scratch(c, 1, sb__nn_gemm_scratch((size_t)(M * batches), (size_t)N, (size_t)K),
                            err);
        if (!gs)
            return err ? err->code : SB_ETOOBIG;
        sb__nn_gemm((size_t)(M * batches), (size_t)N, (size_t)K, a, (size_t)K, b, (size_t)N, y,
                    (size_t)N, gs);
        return 0;
    }
    gs = sb__nn_scratch(c, 1, sb__nn_gemm_scratch((size_t)M, (size_t)N, (size_t)K), err);
    if (!gs)
        return err ? err->code : SB_ETOOBIG;
    int64_t idx[NN_MAX_DIMS] = {0};
    for (int64_t t = 0; t < batches; t++) {
        int64_t oa = 0, ob = 0;
        for (int i = 0; i < bat; i++) {
            oa += idx[i] * sa[i];
            ob += idx[i] * sb[i];
        }
        sb__nn_gemm((size_t)M, (size_t)N, (size_t)K, a + oa, (size_t)K, b + ob, (size_t)N,
                    y + t * M * N, (size_t)N, gs);
        for (int i = bat - 1; i >= 0; i--) {
            if (++idx[i] < od[i])
                break;
            idx[i] = 0;
        }
    }
    return 0;
}

/* ---- dispatch ---- */

int sb__nn_exec(struct nn_ctx *c, const struct nn_node *nd, const struct nn_tensor *const *in,
                struct nn_tensor *out, struct sb_error *err)
{
    int64_t opset = sb__nn_ctx_opset(c);
    switch (nd->op) {
    case NN_OP_CONV:
        return op_conv(c, nd, in, out, err);
    case NN_OP_BATCHNORM:
        return op_batchnorm(c, nd, in, out, err);
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_DIV:
    case NN_OP_POW:
        return op_binary(c, nd, in[0], in[1], out, err);
    case NN_OP_SQRT:
    case NN_OP_RELU:
    case NN_OP_SIGMOID:
    case NN_OP_HARDSIGMOID:
    case NN_OP_CLIP:
    case NN_OP_SWISH:
    case NN_OP_HARDSWISH:
        return op_unary(c, nd, in, out, err);
    case NN_OP_GLOBALAVGPOOL:
        return op_gap(c, nd, in[0], out, err);
    case NN_OP_AVGPOOL:
        return op_avgpool(c, nd, in[0], out, err);
    case NN_OP_SHAPE:
        return op_shape(c, in[0], out, err);
    case NN_OP_CAST:
        return op_cast(c, nd, in[0], out, err);
    case NN_OP_SLICE:
        return op_slice(c, nd, in, out, err);
    case NN_OP_CONCAT:
        return op_concat(c, nd, in, out, err);
    case NN_OP_RESHAPE:
        return op_reshape(c, nd, in[0], in[1], out, err);
    case NN_OP_TRANSPOSE:
        return op_transpose(c, nd, in[0], out, err);
    case NN_OP_REDUCEMEAN:
        return op_reducemean(c, nd, in, out, err);
    case NN_OP_MATMUL:
        return op_matmul(c, nd, in[0], in[1], out, err);
    case NN_OP_SQUEEZE:
    case NN_OP_UNSQUEEZE:
        return op_squeeze(c, nd, in, out, err);
    case NN_OP_SOFTMAX:
        return op_softmax(c, nd, in[0], opset, out, err);
    case NN_OP_IDENTITY: {
        int rc = setup_out(c, out, in[0]->dtype, in[0]->dims, in[0]->ndim, err);
        if (rc == 0)
            memcpy(out->data, in[0]->data, in[0]->n * esize(in[0]->dtype));
        return rc;
    }
    default:
        return FAIL(SB_EINTERNAL, "node '%s': op %d has no kernel", nd->name, nd->op);
    }
}
