/* SPDX-License-Identifier: MIT */
/*
 * The sentence encoder (src/embed) against the package's own JavaScript: piece ids of a few
 * texts from @energetic-ai/embeddings' tokenizer (tests/fixtures/embed/tokens.tsv), and
 * embeddings of four sentences written for this test plus the empty text, computed with
 * @tensorflow/tfjs's CPU backend on the same model files (tests/fixtures/embed/ref.tsv: a JSON
 * string, then 512 floats; the fourth text has 153 pieces, so the 128-piece clip is exercised).
 * Each C embedding must have cosine ≥ 0.9999 with its reference on the float32 path
 * (SB_EMBED_PRECISION=float32) and ≥ 0.998 on the default int8 path; every int8 kernel the CPU
 * runs (scalar, AVX2, AVX512-VNNI, forced with SB_EMBED_KERNEL) gives bit-identical vectors, and
 * the int8 products match a plain reference. Invalid UTF-8 is rejected with SB_EINVAL. Two
 * threads sharing the model agree with one. Skipped when the model is not installed
 * (scripts/deps.sh installs it); the int8 product test runs without it.
 */
#include "sb/embed.h"

#include "../../src/embed/embed_internal.h" /* kernels, sb__embed_model_kernel */

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* after setjmp.h, stdarg.h and stddef.h, which it needs */
#include <cmocka.h>

static struct sb_embed_model *model;
static char skip_why[SB_ERROR_MSG_MAX];
static int load_rc; /* a load failure other than "not installed" fails the tests */

static int setup(void **state)
{
    (void)state;
    struct sb_error err = {0};
    if (sb_embed_load(NULL, &model, &err) < 0) {
        model = NULL;
        load_rc = err.code == SB_ENOTFOUND ? 0 : err.code;
        snprintf(skip_why, sizeof skip_why, "%s", err.msg);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_embed_free(model);
    return 0;
}

#define NEED_MODEL()                                                                               \
    do {                                                                                           \
        if (!model) {                                                                              \
            if (load_rc)                                                                           \
                fail_msg("model failed to load: %s", skip_why);                                    \
            printf("skipped: USE-lite model not installed (%s)\n", skip_why);                      \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* One fixture line: the JSON-quoted text (decoded into *text, free()) and the rest. */
static const char *split_line(char *line, char **text)
{
    char *tab = strchr(line, '\t');
    assert_non_null(tab);
    *tab = '\0';
    json_error_t je;
    json_t *s = json_loads(line, JSON_DECODE_ANY, &je);
    assert_non_null(s);
    assert_true(json_is_string(s));
    *text = strdup(json_string_value(s));
    json_decref(s);
    return tab + 1;
}

static FILE *open_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/embed/%s", SB_SOURCE_DIR, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    return f;
}

static void test_tokens(void **state)
{
    (void)state;
    NEED_MODEL();
    FILE *f = open_fixture("tokens.tsv");
    static char line[65536];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *text;
        const char *rest = split_line(line, &text);
        int32_t want[512], got[512];
        size_t nw = 0, ng = 0;
        char *end;
        for (const char *p = rest; *p; p = end) {
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            want[nw++] = (int32_t)v;
        }
        struct sb_error err = {0};
        assert_int_equal(sb_embed_tokenize(model, text, got, 512, &ng, &err), 0);
        if (ng != nw || memcmp(got, want, nw * sizeof *got) != 0) {
            fprintf(stderr, "tokens differ for \"%s\":", text);
            for (size_t i = 0; i < ng; i++)
                fprintf(stderr, " %d", got[i]);
            fprintf(stderr, "\n");
        }
        assert_int_equal(ng, nw);
        assert_memory_equal(got, want, nw * sizeof *got);
        free(text);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 5);
}

/* Embeds every text of ref.tsv with `m`; each must have cosine ≥ `bar` with the tfjs vector.
 * The vectors go to out[case][512] when out is not NULL. Returns the number of texts. */
static int check_reference(const struct sb_embed_model *m, double bar, float (*out)[SB_EMBED_DIM],
                           int max)
{
    FILE *f = open_fixture("ref.tsv");
    static char line[65536];
    int cases = 0, clipped = 0;
    double worst = 1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *text;
        const char *rest = split_line(line, &text);
        float ref[SB_EMBED_DIM], got[SB_EMBED_DIM];
        char *end;
        for (int i = 0; i < SB_EMBED_DIM; i++, rest = end) {
            ref[i] = strtof(rest, &end);
            assert_true(end != rest);
        }
        struct sb_error err = {0};
        assert_int_equal(sb_embed_text(m, text, got, &err), 0);
        double dot = 0, nr = 0, ng = 0;
        for (int i = 0; i < SB_EMBED_DIM; i++) {
            dot += (double)got[i] * ref[i];
            nr += (double)ref[i] * ref[i];
            ng += (double)got[i] * got[i];
        }
        double cosv = dot / sqrt(nr * ng);
        worst = cosv < worst ? cosv : worst;
        printf("%s cos %.9f  %.40s\n", sb__embed_model_kernel(m), cosv, text);
        assert_true(cosv >= bar);
        assert_true(fabs(ng - 1.0) < 1e-4);
        size_t n = 0;
        assert_int_equal(sb_embed_tokenize(m, text, NULL, 0, &n, &err), 0);
        if (n > SB_EMBED_MAX_TOKENS)
            clipped++;
        assert_true(cases < max);
        if (out)
            memcpy(out[cases], got, sizeof got);
        free(text);
        cases++;
    }
    fclose(f);
    assert_int_equal(clipped, 1);
    printf("%s: worst cosine with tfjs %.9f (bar %.4f)\n", sb__embed_model_kernel(m), worst, bar);
    return cases;
}

/* A model loaded with the given SB_EMBED_PRECISION / SB_EMBED_KERNEL (NULL: unset). */
static int load_with(const char *precision, const char *kernel, struct sb_embed_model **m,
                     struct sb_error *err)
{
    if (precision)
        setenv("SB_EMBED_PRECISION", precision, 1);
    else
        unsetenv("SB_EMBED_PRECISION");
    if (kernel)
        setenv("SB_EMBED_KERNEL", kernel, 1);
    else
        unsetenv("SB_EMBED_KERNEL");
    int rc = sb_embed_load(NULL, m, err);
    unsetenv("SB_EMBED_PRECISION");
    unsetenv("SB_EMBED_KERNEL");
    return rc;
}

/* The default model (int8 weights and activations where the CPU has AVX2 or AVX512-VNNI):
 * cosine ≥ 0.998 with tfjs' float32 output
 * (0.99892 is the lowest measured over the 1718 StackFAQ texts, docs/embed.md). */
static void test_reference_embeddings(void **state)
{
    (void)state;
    NEED_MODEL();
    if (sb__embed_kernel_best() == EMBED_K_SCALAR) /* no SIMD int8 kernel: float32 default */
        assert_string_equal(sb__embed_model_kernel(model), "float32");
    else
        assert_string_not_equal(sb__embed_model_kernel(model), "float32");
    assert_int_equal(check_reference(model, 0.998, NULL, 16), 5);
}

/* SB_EMBED_PRECISION=float32: the reference path, cosine ≥ 0.9999 (1 − cos < 1e-9 measured). */
static void test_reference_float32(void **state)
{
    (void)state;
    NEED_MODEL();
    struct sb_embed_model *m = NULL;
    struct sb_error err = {0};
    assert_int_equal(load_with("float32", NULL, &m, &err), 0);
    assert_string_equal(sb__embed_model_kernel(m), "float32");
    assert_int_equal(check_reference(m, 0.9999, NULL, 16), 5);
    sb_embed_free(m);
}

/* Every int8 kernel this CPU runs (scalar always) gives bit-identical embeddings: the integer
 * sums are exact and everything around them is shared code. */
static void test_kernels_agree(void **state)
{
    (void)state;
    NEED_MODEL();
    static float want[16][SB_EMBED_DIM], got[16][SB_EMBED_DIM];
    struct sb_embed_model *m = NULL;
    struct sb_error err = {0};
    assert_int_equal(load_with("int8", "scalar", &m, &err), 0);
    assert_string_equal(sb__embed_model_kernel(m), "scalar");
    const int n = check_reference(m, 0.998, want, 16);
    sb_embed_free(m);
    const char *kernels[] = {"auto", "avx2", "avx512vnni"};
    int ran = 0;
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        struct sb_error e2 = {0};
        int rc = load_with("int8", kernels[k], &m, &e2);
        if (rc == SB_EUNSUPPORTED) {
            printf("kernel %s: not supported by this CPU, skipped (%s)\n", kernels[k], e2.msg);
            continue;
        }
        assert_int_equal(rc, 0);
        if (strcmp(kernels[k], "auto") != 0)
            assert_string_equal(sb__embed_model_kernel(m), kernels[k]);
        assert_int_equal(check_reference(m, 0.998, got, 16), n);
        for (int i = 0; i < n; i++)
            assert_memory_equal(got[i], want[i], sizeof got[i]);
        /* the empty text and a one-piece text take the 1-row remainder tiles */
        float a[SB_EMBED_DIM], b[SB_EMBED_DIM];
        const char *short_texts[] = {"", "hi", "a b c d e f g"};
        for (size_t t = 0; t < 3; t++) {
            struct sb_embed_model *ms = NULL;
            assert_int_equal(load_with("int8", "scalar", &ms, &e2), 0);
            assert_int_equal(sb_embed_text(ms, short_texts[t], a, &e2), 0);
            assert_int_equal(sb_embed_text(m, short_texts[t], b, &e2), 0);
            assert_memory_equal(a, b, sizeof a);
            sb_embed_free(ms);
        }
        sb_embed_free(m);
        ran++;
    }
    assert_true(ran >= 1);
}

/* The int8 products against a plain reference, for every kernel the CPU runs, with row counts
 * 1..13 (every remainder of the 4- and 6-row tiles) and a matrix with a zero column. */
static void test_qgemm(void **state)
{
    (void)state;
    enum { K = 96, N = 128, M = 13 };
    static float w[K * N], x[M * K], y[M * N];
    static int8_t wq[K * N], xq[M * K];
    static int32_t acc[M * N];
    float xs[M];
    int32_t xsum[M];
    uint32_t seed = 12345;
    for (int i = 0; i < K * N; i++) {
        seed = seed * 1664525u + 1013904223u;
        w[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * (i % N == 7 ? 0.0f : 1.0f);
    }
    for (int i = 0; i < M * K; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * (float)(1 + i % 5);
    }
    /* the reference quantisation of w: per column, round(w·127/max|w|) */
    for (int j = 0; j < N; j++) {
        float mx = 0;
        for (int k = 0; k < K; k++)
            mx = fabsf(w[k * N + j]) > mx ? fabsf(w[k * N + j]) : mx;
        for (int k = 0; k < K; k++)
            wq[k * N + j] = (int8_t)(mx > 0 ? lroundf(w[k * N + j] * 127.0f / mx) : 0);
    }
    int ran = 0;
    for (int kernel = EMBED_K_SCALAR; kernel <= EMBED_K_VNNI; kernel++) {
        if (!sb__embed_kernel_supported(kernel))
            continue;
        struct embed_qmat q;
        assert_int_equal(sb__embed_qmat_init(&q, w, K, N, kernel), 0);
        for (int m = 1; m <= M; m++) {
            sb__embed_quantize_rows(kernel, x, m, K, xq, xs, xsum);
            sb__embed_qmatmul_i32(kernel, xq, m, &q, acc);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < N; j++) {
                    int32_t r = 0;
                    for (int k = 0; k < K; k++)
                        r += xq[i * K + k] * wq[k * N + j];
                    assert_int_equal(acc[i * N + j] - (q.u8 ? 128 * xsum[i] : 0), r);
                }
            sb__embed_qmatmul(kernel, xq, xs, xsum, m, &q, NULL, acc, y);
            /* rounding bound: |x|·sw/2 + |w|·sx/2 + sx·sw/4 per term, plus float slack */
            for (int i = 0; i < m; i++)
                for (int j = 0; j < N; j++) {
                    double r = 0, bound = 1e-5;
                    for (int k = 0; k < K; k++) {
                        r += (double)x[i * K + k] * w[k * N + j];
                        bound += fabs(x[i * K + k]) * q.scale[j] / 2 +
                                 fabs(w[k * N + j]) * xs[i] / 2 + xs[i] * q.scale[j] / 4;
                    }
                    assert_true(fabs(y[i * N + j] - r) <= bound * 1.001);
                }
        }
        /* the same quantised activations whatever the kernel */
        int8_t xq2[M * K];
        float xs2[M];
        int32_t xsum2[M];
        sb__embed_quantize_rows(EMBED_K_SCALAR, x, M, K, xq2, xs2, xsum2);
        sb__embed_quantize_rows(kernel, x, M, K, xq, xs, xsum);
        assert_memory_equal(xq, xq2, sizeof xq2);
        assert_memory_equal(xs, xs2, sizeof xs2);
        assert_memory_equal(xsum, xsum2, sizeof xsum2);
        sb__embed_qmat_free(&q);
        printf("qgemm kernel %s: matches the reference\n", sb__embed_kernel_name(kernel));
        ran++;
    }
    assert_true(ran >= 1);
    struct embed_qmat bad;
    assert_int_equal(sb__embed_qmat_init(&bad, w, 6, N, EMBED_K_SCALAR), SB_EINVAL);
}

/* Unknown SB_EMBED_PRECISION / SB_EMBED_KERNEL values are load errors, not silent defaults. */
static void test_env_errors(void **state)
{
    (void)state;
    NEED_MODEL();
    struct sb_embed_model *m = NULL;
    struct sb_error err = {0};
    assert_int_equal(load_with("float16", NULL, &m, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "SB_EMBED_PRECISION"));
    assert_null(m);
    struct sb_error err2 = {0};
    assert_int_equal(load_with("int8", "neon", &m, &err2), SB_EINVAL);
    assert_non_null(strstr(err2.msg, "SB_EMBED_KERNEL"));
    assert_null(m);
}

static void test_empty_text(void **state)
{
    (void)state;
    NEED_MODEL();
    struct sb_error err = {0};
    size_t n = 99;
    assert_int_equal(sb_embed_tokenize(model, "", NULL, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    float e[SB_EMBED_DIM];
    assert_int_equal(sb_embed_text(model, "", e, &err), 0);
    assert_true(fabsf(sb_embed_cosine(e, e) - 1.0f) < 1e-4f);
}

/* Pieces past the 128th do not change the embedding. */
static void test_clip(void **state)
{
    (void)state;
    NEED_MODEL();
    static char a[8192], b[8192];
    size_t la = 0;
    for (int i = 0; i < 200; i++)
        la += (size_t)snprintf(a + la, sizeof a - la, "w%d ", i % 10);
    memcpy(b, a, la + 1);
    snprintf(b + la, sizeof b - la, "something entirely different at the end");
    struct sb_error err = {0};
    size_t n = 0;
    assert_int_equal(sb_embed_tokenize(model, a, NULL, 0, &n, &err), 0);
    assert_true(n > SB_EMBED_MAX_TOKENS + 20);
    float ea[SB_EMBED_DIM], eb[SB_EMBED_DIM];
    assert_int_equal(sb_embed_text(model, a, ea, &err), 0);
    assert_int_equal(sb_embed_text(model, b, eb, &err), 0);
    assert_memory_equal(ea, eb, sizeof ea);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    NEED_MODEL();
    float e[SB_EMBED_DIM];
    for (int i = 0; i < SB_EMBED_DIM; i++)
        e[i] = 7.0f;
    struct sb_error err = {0};
    assert_int_equal(sb_embed_text(model, "abc \xff def", e, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "byte 4"));
    assert_true(e[0] == 7.0f);
    struct sb_error err2 = {0};
    assert_int_equal(sb_embed_text(model, "caf\xc3", e, &err2), SB_EINVAL);
    struct sb_error err3 = {0};
    size_t n = 0;
    assert_int_equal(sb_embed_tokenize(model, "\xed\xa0\x80", NULL, 0, &n, &err3), SB_EINVAL);
}

/* Two threads sharing the model get the same vectors as one thread. */
struct job {
    const char *text;
    float e[SB_EMBED_DIM];
    int rc;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    struct sb_error err = {0};
    for (int i = 0; i < 5 && j->rc == 0; i++)
        j->rc = sb_embed_text(model, j->text, j->e, &err);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    NEED_MODEL();
    struct job jobs[2] = {{.text = "Where is my parcel? It was due on Monday."},
                          {.text = "Can I pay the invoice by bank transfer instead of card?"}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        float e[SB_EMBED_DIM];
        struct sb_error err = {0};
        assert_int_equal(jobs[i].rc, 0);
        assert_int_equal(sb_embed_text(model, jobs[i].text, e, &err), 0);
        assert_memory_equal(e, jobs[i].e, sizeof e);
    }
}

static void test_load_errors(void **state)
{
    (void)state;
    struct sb_error err = {0};
    struct sb_embed_model *m = NULL;
    assert_int_equal(sb_embed_load("/nonexistent/embed-model", &m, &err), SB_ENOTFOUND);
    assert_null(m);
    assert_non_null(strstr(err.msg, "model.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_reference_embeddings),
        cmocka_unit_test(test_reference_float32),
        cmocka_unit_test(test_kernels_agree),
        cmocka_unit_test(test_qgemm),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_empty_text),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
