/* SPDX-License-Identifier: MIT */
/*
 * Int8 matrix products for the sentence encoder: y[m×n] = dequant(xq[m×k] · Wq[k×n]) + bias,
 * with weights quantised once at load (symmetric, one scale per output column, values in
 * [-127, 127]) and activations quantised per row at run time (symmetric, [-127, 127]). The
 * integer products are accumulated exactly in int32 by one of three kernels chosen at load:
 *   - AVX512-VNNI: vpdpbusd multiplies u8 by s8, so the weights are stored shifted to u8
 *     (w + 128) and the activations are the s8 operand (broadcast from memory); the shift is
 *     removed with 128·Σ_k x[i][k] per row;
 *   - AVX2: vpmaddubsw multiplies u8 by s8 into saturating int16 pairs; the activation's sign is
 *     moved onto the weight (vpsignb) and its magnitude (≤ 127) is the u8 side, so a pair is at
 *     most 2·127·127 = 32258 and never saturates; vpmaddwd then sums pairs into int32;
 *   - plain C.
 * All three give bit-identical int32 sums, and the rescaling to float is one shared C loop, so
 * the encoder's output does not depend on the kernel (tests/unit/test_embed.c checks this).
 * Packed weight layout: blocks of 16 output columns, within a block k/4 groups of [16 columns ×
 * 4 consecutive k] bytes (the VNNI dword layout), so one 64-byte load covers 16 columns × 4 k.
 */
#include "embed_internal.h"

#include "sb/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(SB_EMBED_NO_SIMD)
#include <immintrin.h>
#define EMBED_HAVE_X86 1
#endif

#define COLS 16 /* columns per packed block */

const char *sb__embed_kernel_name(int kernel)
{
    switch (kernel) {
    case EMBED_K_VNNI:
        return "avx512vnni";
    case EMBED_K_AVX2:
        return "avx2";
    default:
        return "scalar";
    }
}

int sb__embed_kernel_supported(int kernel)
{
    switch (kernel) {
    case EMBED_K_SCALAR:
        return 1;
#ifdef EMBED_HAVE_X86
    case EMBED_K_AVX2: /* FMA for the encoder's float attention compiled alongside */
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case EMBED_K_VNNI:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    default:
        return 0;
    }
}

int sb__embed_kernel_best(void)
{
    if (sb__embed_kernel_supported(EMBED_K_VNNI))
        return EMBED_K_VNNI;
    if (sb__embed_kernel_supported(EMBED_K_AVX2))
        return EMBED_K_AVX2;
    return EMBED_K_SCALAR;
}

static int8_t clamp127(float v)
{
    /* round half away from zero; |v| ≤ 127.5 by construction, clamped anyway */
    long r = lroundf(v);
    return (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
}

int sb__embed_qmat_init(struct embed_qmat *q, const float *w, int k, int n, int kernel)
{
    memset(q, 0, sizeof *q);
    if (k <= 0 || n <= 0 || k % 4 || n % EMBED_QN)
        return SB_EINVAL;
    q->k = k;
    q->n = n;
    q->scale = sb_malloc((size_t)n * sizeof *q->scale);
    q->w = sb_malloc((size_t)k * n);
    for (int j = 0; j < n; j++) {
        float mx = 0;
        for (int i = 0; i < k; i++) {
            float a = fabsf(w[(size_t)i * n + j]);
            mx = a > mx ? a : mx;
        }
        q->scale[j] = mx / 127.0f;
        const float inv = mx > 0 ? 127.0f / mx : 0.0f;
        /* block j/16, group i/4, column j%16, lane i%4 */
        int8_t *blk = q->w + (size_t)(j / COLS) * COLS * k;
        for (int i = 0; i < k; i++) {
            int8_t v = clamp127(w[(size_t)i * n + j] * inv);
            size_t at = (size_t)(i / 4) * COLS * 4 + (size_t)(j % COLS) * 4 + (size_t)(i % 4);
            /* VNNI reads the weights as u8: w + 128 has the bit pattern w ^ 0x80 */
            blk[at] = kernel == EMBED_K_VNNI ? (int8_t)((uint8_t)v ^ 0x80u) : v;
        }
    }
    q->u8 = kernel == EMBED_K_VNNI;
    return 0;
}

void sb__embed_qmat_free(struct embed_qmat *q)
{
    if (!q)
        return;
    free(q->w);
    free(q->scale);
    memset(q, 0, sizeof *q);
}

/* x·inv rounded half away from zero, clamped to ±127 (|x·inv| ≤ 127 by construction). */
static void quantize_row_c(const float *xr, int k, float inv, int8_t *qr, int32_t *sum)
{
    int32_t s = 0;
    for (int j = 0; j < k; j++) {
        float v = xr[j] * inv;
        int r = (int)(v + (v >= 0 ? 0.5f : -0.5f));
        r = r > 127 ? 127 : r < -127 ? -127 : r;
        qr[j] = (int8_t)r;
        s += r;
    }
    *sum += s;
}

static float maxabs_c(const float *xr, int k)
{
    float mx = 0;
    for (int j = 0; j < k; j++) {
        float a = fabsf(xr[j]);
        mx = a > mx ? a : mx;
    }
    return mx;
}

static void quantize_c(const float *x, int m, int k, int8_t *xq, float *xs, int32_t *xsum)
{
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * k;
        const float mx = maxabs_c(xr, k);
        xsum[i] = 0;
        quantize_row_c(xr, k, mx > 0 ? 127.0f / mx : 0.0f, xq + (size_t)i * k, &xsum[i]);
        xs[i] = mx / 127.0f;
    }
}

#ifdef EMBED_HAVE_X86
/* The same operations as quantize_c, 8 floats at a time (max and the rounding are exact, so
 * the bytes are identical). */
__attribute__((target("avx2"))) static void quantize_avx2(const float *x, int m, int k, int8_t *xq,
                                                          float *xs, int32_t *xsum)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 half = _mm256_set1_ps(0.5f), signbit = _mm256_set1_ps(-0.0f);
    const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const int kv = k & ~31;
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * k;
        int8_t *qr = xq + (size_t)i * k;
        __m256 vm = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= k; j += 8)
            vm = _mm256_max_ps(vm, _mm256_and_ps(_mm256_loadu_ps(xr + j), absmask));
        float lanes[8];
        _mm256_storeu_ps(lanes, vm);
        float mx = maxabs_c(xr + j, k - j);
        for (int t = 0; t < 8; t++)
            mx = lanes[t] > mx ? lanes[t] : mx;
        const float inv = mx > 0 ? 127.0f / mx : 0.0f;
        const __m256 vinv = _mm256_set1_ps(inv);
        __m256i vs = _mm256_setzero_si256();
        __m256i r[4];
        for (j = 0; j < kv; j += 32) {
            for (int t = 0; t < 4; t++) {
                __m256 v = _mm256_mul_ps(_mm256_loadu_ps(xr + j + 8 * t), vinv);
                v = _mm256_add_ps(v, _mm256_or_ps(half, _mm256_and_ps(v, signbit)));
                r[t] = _mm256_max_epi32(_mm256_min_epi32(_mm256_cvttps_epi32(v), lim), nlim);
                vs = _mm256_add_epi32(vs, r[t]);
            }
            __m256i p =
                _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]), _mm256_packs_epi32(r[2], r[3]));
            _mm256_storeu_si256((__m256i *)(qr + j), _mm256_permutevar8x32_epi32(p, order));
        }
        int32_t sl[8];
        _mm256_storeu_si256((__m256i *)sl, vs);
        xsum[i] = sl[0] + sl[1] + sl[2] + sl[3] + sl[4] + sl[5] + sl[6] + sl[7];
        quantize_row_c(xr + kv, k - kv, inv, qr + kv, &xsum[i]);
        xs[i] = mx / 127.0f;
    }
}
#endif

void sb__embed_quantize_rows(int kernel, const float *x, int m, int k, int8_t *xq, float *xs,
                             int32_t *xsum)
{
#ifdef EMBED_HAVE_X86
    if (kernel != EMBED_K_SCALAR) {
        quantize_avx2(x, m, k, xq, xs, xsum);
        return;
    }
#endif
    (void)kernel;
    quantize_c(x, m, k, xq, xs, xsum);
}

/* ---- kernels: acc[i][j0 .. j0+EMBED_QN) = Σ_k xq[i][k]·w[k][j] for rows i in [0, m) ---- */

static void kernel_scalar(const int8_t *xq, int m, int k, const int8_t *wp, int j0, int32_t *acc,
                          int ldc)
{
    for (int b = 0; b < EMBED_QN / COLS; b++) {
        const int8_t *blk = wp + (size_t)(j0 / COLS + b) * COLS * k;
        for (int i = 0; i < m; i++) {
            const int8_t *xr = xq + (size_t)i * k;
            int32_t s[COLS] = {0};
            for (int g = 0; g < k / 4; g++) {
                const int8_t *wg = blk + (size_t)g * COLS * 4;
                const int8_t *xg = xr + 4 * g;
                for (int c = 0; c < COLS; c++)
                    s[c] += xg[0] * wg[4 * c] + xg[1] * wg[4 * c + 1] + xg[2] * wg[4 * c + 2] +
                            xg[3] * wg[4 * c + 3];
            }
            memcpy(acc + (size_t)i * ldc + j0 + b * COLS, s, sizeof s);
        }
    }
}

#ifdef EMBED_HAVE_X86
static inline int32_t load_x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* AVX2: 16 columns (one block, two ymm of 8 columns × 4 k) × up to 4 rows per pass. */
#define A2_MR 4
__attribute__((target("avx2"), always_inline)) static inline void
a2_tile(const int8_t *xq, int mr, int k, const int8_t *blk, int32_t *c, int ldc)
{
    __m256i acc[A2_MR][2];
    for (int r = 0; r < A2_MR; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int g = 0; g < k / 4; g++) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(blk + (size_t)g * 64));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(blk + (size_t)g * 64 + 32));
        for (int r = 0; r < mr; r++) {
            const __m256i a = _mm256_set1_epi32(load_x4(xq + (size_t)r * k + 4 * g));
            const __m256i aa = _mm256_abs_epi8(a);
            __m256i p0 = _mm256_maddubs_epi16(aa, _mm256_sign_epi8(w0, a));
            __m256i p1 = _mm256_maddubs_epi16(aa, _mm256_sign_epi8(w1, a));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(p0, ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(p1, ones));
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm256_storeu_si256((__m256i *)(c + (size_t)r * ldc), acc[r][0]);
        _mm256_storeu_si256((__m256i *)(c + (size_t)r * ldc + 8), acc[r][1]);
    }
}

__attribute__((target("avx2"))) static void
kernel_avx2(const int8_t *xq, int m, int k, const int8_t *wp, int j0, int32_t *acc, int ldc)
{
    for (int b = 0; b < EMBED_QN / COLS; b++) {
        const int8_t *blk = wp + (size_t)(j0 / COLS + b) * COLS * k;
        for (int i = 0; i < m; i += A2_MR) {
            const int mr = m - i < A2_MR ? m - i : A2_MR;
            int32_t *c = acc + (size_t)i * ldc + j0 + b * COLS;
            switch (mr) {
            case 4:
                a2_tile(xq + (size_t)i * k, 4, k, blk, c, ldc);
                break;
            case 3:
                a2_tile(xq + (size_t)i * k, 3, k, blk, c, ldc);
                break;
            case 2:
                a2_tile(xq + (size_t)i * k, 2, k, blk, c, ldc);
                break;
            default:
                a2_tile(xq + (size_t)i * k, 1, k, blk, c, ldc);
                break;
            }
        }
    }
}

/* AVX512-VNNI: 64 columns (four blocks) × up to 6 rows per pass, 24 zmm accumulators. */
#define V_MR 6
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void
v_tile(const int8_t *xq, int mr, int k, const int8_t *w0p, size_t bstride, int32_t *c, int ldc)
{
    __m512i acc[V_MR][4];
    for (int r = 0; r < V_MR; r++)
        for (int t = 0; t < 4; t++)
            acc[r][t] = _mm512_setzero_si512();
    for (int g = 0; g < k / 4; g++) {
        const int8_t *wg = w0p + (size_t)g * 64;
        const __m512i b0 = _mm512_loadu_si512((const void *)wg);
        const __m512i b1 = _mm512_loadu_si512((const void *)(wg + bstride));
        const __m512i b2 = _mm512_loadu_si512((const void *)(wg + 2 * bstride));
        const __m512i b3 = _mm512_loadu_si512((const void *)(wg + 3 * bstride));
        for (int r = 0; r < mr; r++) {
            const __m512i a = _mm512_set1_epi32(load_x4(xq + (size_t)r * k + 4 * g));
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], b0, a);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], b1, a);
            acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], b2, a);
            acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], b3, a);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < 4; t++)
            _mm512_storeu_si512((void *)(c + (size_t)r * ldc + 16 * t), acc[r][t]);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
kernel_vnni(const int8_t *xq, int m, int k, const int8_t *wp, int j0, int32_t *acc, int ldc)
{
    const size_t bstride = (size_t)COLS * k;
    const int8_t *w0p = wp + (size_t)(j0 / COLS) * bstride;
    for (int i = 0; i < m; i += V_MR) {
        const int mr = m - i < V_MR ? m - i : V_MR;
        const int8_t *x = xq + (size_t)i * k;
        int32_t *c = acc + (size_t)i * ldc + j0;
        switch (mr) {
        case 6:
            v_tile(x, 6, k, w0p, bstride, c, ldc);
            break;
        case 5:
            v_tile(x, 5, k, w0p, bstride, c, ldc);
            break;
        case 4:
            v_tile(x, 4, k, w0p, bstride, c, ldc);
            break;
        case 3:
            v_tile(x, 3, k, w0p, bstride, c, ldc);
            break;
        case 2:
            v_tile(x, 2, k, w0p, bstride, c, ldc);
            break;
        default:
            v_tile(x, 1, k, w0p, bstride, c, ldc);
            break;
        }
    }
}
#endif

void sb__embed_qmatmul_i32(int kernel, const int8_t *xq, int m, const struct embed_qmat *q,
                           int32_t *acc)
{
    for (int j0 = 0; j0 < q->n; j0 += EMBED_QN) {
        switch (kernel) {
#ifdef EMBED_HAVE_X86
        case EMBED_K_VNNI:
            kernel_vnni(xq, m, q->k, q->w, j0, acc, q->n);
            break;
        case EMBED_K_AVX2:
            kernel_avx2(xq, m, q->k, q->w, j0, acc, q->n);
            break;
#endif
        default:
            kernel_scalar(xq, m, q->k, q->w, j0, acc, q->n);
            break;
        }
    }
}

void sb__embed_qmatmul(int kernel, const int8_t *xq, const float *xs, const int32_t *xsum, int m,
                       const struct embed_qmat *q, const float *bias, int32_t *acc, float *y)
{
    sb__embed_qmatmul_i32(kernel, xq, m, q, acc);
    const int n = q->n;
    for (int i = 0; i < m; i++) {
        const int32_t *ar = acc + (size_t)i * n;
        float *yr = y + (size_t)i * n;
        const int32_t corr = q->u8 ? 128 * xsum[i] : 0;
        const float s = xs[i];
        for (int j = 0; j < n; j++)
            yr[j] = (float)(ar[j] - corr) * (s * q->scale[j]) + (bias ? bias[j] : 0.0f);
    }
}
