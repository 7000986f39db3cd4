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

/* tile[MR×NR] = packed A panel · packed B panel over kc. */
static void kernel_generic(size_t kc, const float *a, const float *b, float *tile)
{
    float acc[MR][NR];
    memset(acc, 0, sizeof(acc));
    for (size_t k = 0; k < kc; k++) {
        for (int r = 0; r < MR; r++) {
            float av = a[r];
            for (int c = 0; c < NR; c++)
                acc[r][c] += av * b[c];
        }
        a += MR;
        b += NR;
    }
    memcpy(tile, acc, sizeof(acc));
}

#ifdef NN_HAVE_AVX2
__attribute__((target("avx2,fma"))) static void kernel_avx2(size_t kc, const float *a,
                                                             const float *b, float *tile)
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
    _mm256_storeu_ps(tile + 0 * NR, c00);
    _mm256_storeu_ps(tile + 0 * NR + 8, c01);
    _mm256_storeu_ps(tile + 1 * NR, c10);
    _mm256_storeu_ps(tile + 1 * NR + 8, c11);
    _mm256_storeu_ps(tile + 2 * NR, c20);
    _mm256_storeu_ps(tile + 2 * NR + 8, c21);
    _mm256_storeu_ps(tile + 3 * NR, c30);
    _mm256_storeu_ps(tile + 3 * NR + 8, c31);
    _mm256_storeu_ps(tile + 4 * NR, c40);
    _mm256_storeu_ps(tile + 4 * NR + 8, c41);
    _mm256_storeu_ps(tile + 5 * NR, c50);
    _mm256_storeu_ps(tile + 5 * NR + 8, c51);
}
#endif

typedef void (*kernel_fn)(size_t kc, const float *a, const float *b, float *tile);

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
    return (ma * kc + nb * kc + MR * NR) * sizeof(float);
}

void sb__nn_gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                 size_t ldb, float *c, size_t ldc, float *scratch)
{
    if (m == 0 || n == 0 || k == 0)
        return;
    kernel_fn kern = pick_kernel();
    size_t mcmax = m < MC ? m : MC, kcmax = k < KC ? k : KC;
    float *pa = scratch;
    float *pb = pa + (mcmax + MR - 1) / MR * MR * kcmax;
    float tile[MR * NR];
    for (size_t jc = 0; jc < n; jc += NC) {
        size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = k - pc < KC ? k - pc : KC;
            pack_b(b + pc * ldb + jc, ldb, kc, nc, pb);
            for (size_t ic = 0; ic < m; ic += MC) {
                size_t mc = m - ic < MC ? m - ic : MC;
                pack_a(a + ic * lda + pc, lda, mc, kc, pa);
                for (size_t jr = 0; jr < nc; jr += NR) {
                    size_t nr = nc - jr < NR ? nc - jr : NR;
                    const float *bp = pb + jr * kc;
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        size_t mr = mc - ir < MR ? mc - ir : MR;
                        kern(kc, pa + ir * kc, bp, tile);
                        float *cp = c + (ic + ir) * ldc + jc + jr;
                        for (size_t r = 0; r < mr; r++)
                            for (size_t q = 0; q < nr; q++)
                                cp[r * ldc + q] += tile[r * NR + q];
                    }
                }
            }
        }
    }
}
