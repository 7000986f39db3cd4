/* SPDX-License-Identifier: MIT */
/*
 * Single-precision matrix multiply for the inference runtime: C[M×N] += A[M×K] · B[K×N], all
 * row-major with leading dimensions. Cache-blocked in the usual way (panels of B packed 16
 * columns wide, panels of A packed 6 rows high, a 6×16 register tile in the inner kernel).
 * On x86-64 the inner kernel has an AVX2+FMA version chosen at run time (GCC target
 * attribute, no special build flags); elsewhere, or on an older CPU, a plain C kernel that GCC
 * vectorises with the baseline instruction set. Packing buffers are the caller's scratch, so
 * the function itself allocates nothing and is safe to call from many threads at once.
 */
#include "nn_internal.h"

#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NN_HAVE_AVX2 1
#endif

#define MR 6
#define NR 16
#define KC 256
#define MC 72
#define NC 2048

/* Packs rows [0, mc) × columns [0, kc) of A into MR-row panels, column-interleaved, zero-padded. */
static void pack_a(const float *a, size_t lda, size_t mc, size_t kc, float *dst)
{
    for (size_t i = 0; i < mc; i += MR) {
        size_t mr = mc - i < MR ? mc - i : MR;
        for (size_t k = 0; k < kc; k++) {
            for (size_t r = 0; r < mr; r++)
                dst[r] = a[(i + r) * lda + k];
            for (size_t r = mr; r < MR; r++)
                dst[r] = 0.0f;
            dst += MR;
        }
    }
}

/* Packs rows [0, kc) × columns [0, nc) of B into NR-column panels, zero-padded. */
static void pack_b(const float *b, size_t ldb, size_t kc, size_t nc, float *dst)
{
    for (size_t j = 0; j < nc; j += NR) {
        size_t nr = nc - j < NR ? nc - j : NR;
        for (size_t k = 0; k < kc; k++) {
            const float *src = b + k * ldb + j;
            if (nr == NR) {
                memcpy(dst, src, NR * sizeof(float));
            } else {
                memcpy(dst, src, nr * sizeof(float));
                memset(dst + nr, 0, (NR - nr) * sizeof(float));
            }
            dst += NR;
        }
    }
}

/* c[MR×NR] (leading dimension ldc) += packed A panel · packed B panel over kc. */
static void kernel_generic(size_t kc, const float *a, const float *b, float *c, size_t ldc)
{
    float acc[MR][NR];
    memset(acc, 0, sizeof(acc));
    for (size_t k = 0; k < kc; k++) {
        for (int r = 0; r < MR; r++) {
            float av = a[r];
            for (int q = 0; q < NR; q++)
                acc[r][q] += av * b[q];
        }
        a += MR;
        b += NR;
    }
    for (int r = 0; r < MR; r++)
        for (int q = 0; q < NR; q++)
            c[(size_t)r * ldc + (size_t)q] += acc[r][q];
}

#ifdef NN_HAVE_AVX2
__attribute__((target("avx2,fma"))) static void kernel_avx2(size_t kc, const float *a,
                                                            const float *b, float *c, size_t ldc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 av;
        av = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(av, b0, c00);
        c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(av, b0, c10);
        c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(av, b0, c20);
        c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(av, b0, c30);
        c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(av, b0, c40);
        c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(av, b0, c50);
        c51 = _mm256_fmadd_ps(av, b1, c51);
        a += MR;
        b += NR;
    }
#define ACC(r, lo, hi)                                                                             \
    do {                                                                                           \
        float *cr = c + (r)*ldc;                                                                   \
        _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), lo));                              \
        _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), hi));                      \
    } while (0)
    ACC(0, c00, c01);
    ACC(1, c10, c11);
    ACC(2, c20, c21);
    ACC(3, c30, c31);
    ACC(4, c40, c41);
    ACC(5, c50, c51);
#undef ACC
}
#endif

typedef void (*kernel_fn)(size_t kc, const float *a, const float *b, float *c, size_t ldc);

static kernel_fn pick_kernel(void)
{
#ifdef NN_HAVE_AVX2
    /* __builtin_cpu_supports initialises itself on first use and is safe to call repeatedly. */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return kernel_avx2;
#endif
    return kernel_generic;
}

size_t sb__nn_gemm_scratch(size_t m, size_t n, size_t k)
{
    size_t mc = m < MC ? m : MC, nc = n < NC ? n : NC, kc = k < KC ? k : KC;
    size_t ma = (mc + MR - 1) / MR * MR, nb = (nc + NR - 1) / NR * NR;
    return (ma * kc + nb * kc) * sizeof(float);
}

size_t sb__nn_gemm_packed_size(size_t m, size_t k)
{
    return (m + MR - 1) / MR * MR * k;
}

/* The packed A is every (K block, M block) panel set in the order the loops below visit them:
 * K-major, so the block at (pc, ic) starts at pc * Mp + ic * kc (MC is a multiple of MR). */
void sb__nn_gemm_pack(size_t m, size_t k, const float *a, size_t lda, float *dst)
{
    size_t mp = (m + MR - 1) / MR * MR;
    for (size_t pc = 0; pc < k; pc += KC) {
        size_t kc = k - pc < KC ? k - pc : KC;
        for (size_t ic = 0; ic < m; ic += MC) {
            size_t mc = m - ic < MC ? m - ic : MC;
            pack_a(a + ic * lda + pc, lda, mc, kc, dst + pc * mp + ic * kc);
        }
    }
}

static void gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *ap,
                 const float *b, size_t ldb, float *c, size_t ldc, float *scratch)
{
    if (m == 0 || n == 0 || k == 0)
        return;
    kernel_fn kern = pick_kernel();
    size_t mcmax = m < MC ? m : MC, kcmax = k < KC ? k : KC;
    size_t mp = (m + MR - 1) / MR * MR;
    float *pa = scratch;
    float *pb = ap ? scratch : pa + (mcmax + MR - 1) / MR * MR * kcmax;
    float tile[MR * NR];
    for (size_t jc = 0; jc < n; jc += NC) {
        size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = k - pc < KC ? k - pc : KC;
            pack_b(b + pc * ldb + jc, ldb, kc, nc, pb);
            for (size_t ic = 0; ic < m; ic += MC) {
                size_t mc = m - ic < MC ? m - ic : MC;
                const float *pap;
                if (ap) {
                    pap = ap + pc * mp + ic * kc;
                } else {
                    pack_a(a + ic * lda + pc, lda, mc, kc, pa);
                    pap = pa;
                }
                for (size_t jr = 0; jr < nc; jr += NR) {
                    size_t nr = nc - jr < NR ? nc - jr : NR;
                    const float *bp = pb + jr * kc;
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        size_t mr = mc - ir < MR ? mc - ir : MR;
                        float *cp = c + (ic + ir) * ldc + jc + jr;
                        if (mr == MR && nr == NR) {
                            kern(kc, pap + ir * kc, bp, cp, ldc);
                            continue;
                        }
                        memset(tile, 0, sizeof(tile));
                        kern(kc, pap + ir * kc, bp, tile, NR);
                        for (size_t r = 0; r < mr; r++)
                            for (size_t q = 0; q < nr; q++)
                                cp[r * ldc + q] += tile[r * NR + q];
                    }
                }
            }
        }
    }
}

void sb__nn_gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                 size_t ldb, float *c, size_t ldc, float *scratch)
{
    gemm(m, n, k, a, lda, NULL, b, ldb, c, ldc, scratch);
}

void sb__nn_gemm_packed(size_t m, size_t n, size_t k, const float *ap, const float *b, size_t ldb,
                        float *c, size_t ldc, float *scratch)
{
    gemm(m, n, k, NULL, 0, ap, b, ldb, c, ldc, scratch);
}

void sb_nn_matmul(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                  size_t ldb, float *c, size_t ldc)
{
    if (m == 0 || n == 0 || k == 0)
        return;
    float *scratch = sb_malloc(sb__nn_gemm_scratch(m, n, k));
    gemm(m, n, k, a, lda, NULL, b, ldb, c, ldc, scratch);
    free(scratch);
}
