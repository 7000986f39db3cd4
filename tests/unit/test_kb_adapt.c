/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the encoder map fitted to a KB (src/kb/adapt.c and its use in kb.c): on
 * synthetic vectors (no model needed) the fit learns to ignore dimensions that carry no pair
 * information, is deterministic, and refuses too few groups; with the real encoder (installed
 * by scripts/deps.sh; skipped with a message without it) a KB large enough gets a map, stores
 * it, loads it at the next open without refitting, refits one that is missing, and a small KB
 * or SB_KB_ADAPT=0 gets none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/kb/kb_internal.h"
#include "kb_fixture.h"
#include "sb/kb.h"
#include "sb/mem.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define D SB_EMBED_DIM
#define NG 64

static double gauss(uint64_t *s)
{
    /* Box-Muller over a 64-bit LCG: reproducible without libc's rand */
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    double u = ((*s >> 11) + 1.0) / 9007199254740994.0;
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    double v = (*s >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void unit(float *v)
{
    double s = 0;
    for (int j = 0; j < D; j++)
        s += (double)v[j] * v[j];
    for (int j = 0; j < D; j++)
        v[j] /= (float)sqrt(s);
}

/* Pairs that share a signal in the first half of the dimensions and carry independent, larger
 * noise in the second half: plain cosines are dominated by the noise. */
static void make_pairs(float *a, float *p)
{
    uint64_t s = 7;
    for (int i = 0; i < NG; i++) {
        for (int j = 0; j < D / 2; j++)
            a[i * D + j] = p[i * D + j] = (float)gauss(&s);
        for (int j = D / 2; j < D; j++) {
            a[i * D + j] = (float)(2.5 * gauss(&s));
            p[i * D + j] = (float)(2.5 * gauss(&s));
        }
        unit(a + i * D);
        unit(p + i * D);
    }
}

/* Share of anchors whose own positive is the nearest positive, both mapped through m. */
static double top1(const float *m, const float *a, const float *p)
{
    float *ma = sb_malloc(NG * D * sizeof(float)), *mp = sb_malloc(NG * D * sizeof(float));
    sb__kb_adapt_map(m, a, NG, ma);
    sb__kb_adapt_map(m, p, NG, mp);
    int right = 0;
    for (int i = 0; i < NG; i++) {
        int best = -1;
        double bs = -2;
        for (int k = 0; k < NG; k++) {
            double c = 0;
            for (int j = 0; j < D; j++)
                c += (double)ma[i * D + j] * mp[k * D + j];
            if (c > bs) {
                bs = c;
                best = k;
            }
        }
        right += best == i;
    }
    free(ma);
    free(mp);
    return (double)right / NG;
}

static void test_fit_synthetic(void **state)
{
    (void)state;
    float *a = sb_malloc(NG * D * sizeof(float)), *p = sb_malloc(NG * D * sizeof(float));
    make_pairs(a, p);
    uint32_t group[NG];
    for (uint32_t i = 0; i < NG; i++)
        group[i] = i * 3; /* sparse group ids */
    float *id = sb_calloc((size_t)D * D, sizeof(float));
    for (int i = 0; i < D; i++)
        id[i * D + i] = 1;
    double before = top1(id, a, p);

    float *m = sb_malloc((size_t)D * D * sizeof(float));
    float *m2 = sb_malloc((size_t)D * D * sizeof(float));
    assert_int_equal(sb__kb_adapt_fit(a, p, group, NG, m), 0);
    double after = top1(m, a, p);
    print_message("top-1 pair retrieval: plain %.2f, mapped %.2f\n", before, after);
    assert_true(before < 0.8);
    assert_true(after >= 0.95);
    /* deterministic */
    assert_int_equal(sb__kb_adapt_fit(a, p, group, NG, m2), 0);
    assert_memory_equal(m, m2, (size_t)D * D * sizeof(float));
    /* pairs of one group are one group: too few groups make no map, m untouched */
    for (uint32_t i = 0; i < NG; i++)
        group[i] = i % (SB__KB_ADAPT_MIN_GROUPS - 1);
    memcpy(m2, id, (size_t)D * D * sizeof(float));
    assert_int_equal(sb__kb_adapt_fit(a, p, group, NG, m2), SB_EINVAL);
    assert_memory_equal(m2, id, (size_t)D * D * sizeof(float));
    free(a);
    free(p);
    free(id);
    free(m);
    free(m2);
}

/* ---- with the encoder ---- */

static const char *const topics[] = {
    "password",   "e-mail address", "delivery address", "invoice",     "credit card",
    "newsletter", "profile photo",  "username",         "phone number", "language",
    "time zone",  "subscription",   "gift card",        "wish list",    "order",
    "return",     "refund",         "coupon",           "review",       "account",
    "avatar",     "billing plan",   "shipping method",  "notification", "privacy setting",
    "two-factor login", "saved cart", "loyalty points", "store pickup", "warranty",
    "size chart", "receipt",        "bank transfer",    "tax number",   "company name",
    "team member"};
#define NTOPICS (sizeof(topics) / sizeof(topics[0]))

/* One FAQ per topic (n of them). */
static void put_faqs(struct sb_kb *kb, size_t n)
{
    struct sb_kb_doc *d = sb_calloc(n, sizeof(*d));
    char **s = sb_calloc(3 * n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        s[3 * i] = sb_strdupf("faq-%zu", i);
        s[3 * i + 1] = sb_strdupf("How do I change my %s?", topics[i]);
        s[3 * i + 2] = sb_strdupf("Open Settings, choose %s and press Edit; the new %s is "
                                  "saved at once.",
                                  topics[i], topics[i]);
        d[i] = (struct sb_kb_doc){.id = s[3 * i], .kind = SB_KB_FAQ, .title = s[3 * i + 1],
                                  .body = s[3 * i + 2]};
    }
    assert_int_equal(sb_kb_put(kb, 1, d, n, NULL), 0);
    for (size_t i = 0; i < 3 * n; i++)
        free(s[i]);
    free(s);
    free(d);
}

/* A copy of the tenant's map, or NULL when it has none. */
static float *map_of(struct sb_kb *kb)
{
    sb__kb_rdlock(kb);
    const float *m = sb__kb_index_adapter(sb__kb_tenant_index(kb, 1));
    float *c = NULL;
    if (m) {
        c = sb_malloc((size_t)D * D * sizeof(float));
        memcpy(c, m, (size_t)D * D * sizeof(float));
    }
    sb__kb_unlock(kb);
    return c;
}

static void test_kb_map_stored_and_loaded(void **state)
{
    (void)state;
    char dir[] = "/tmp/sb_kb_adapt_XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sb_kb *kb = kb_fixture_open_encoded(dir);
    if (!kb) {
        rmdir(dir);
        return;
    }
    put_faqs(kb, NTOPICS);
    float *m = map_of(kb);
    assert_non_null(m);
    sb_kb_close(kb);
    /* loaded, not refitted: changing the stored map changes what is loaded */
    kb_fixture_sql(dir, "UPDATE kb_adapter SET map = zeroblob(length(map))");
    kb = kb_fixture_open_encoded(dir);
    float *z = map_of(kb);
    assert_non_null(z);
    assert_true(z[0] == 0.0f && z[D + 1] == 0.0f);
    free(z);
    sb_kb_close(kb);
    /* a kb.db without a map (from before maps) gets the same one fitted at open */
    kb_fixture_sql(dir, "DELETE FROM kb_adapter");
    kb = kb_fixture_open_encoded(dir);
    float *r = map_of(kb);
    assert_non_null(r);
    assert_memory_equal(m, r, (size_t)D * D * sizeof(float));
    /* the map is used: a question and its entry are compared in the mapped space */
    struct sb_kb_hit *hits = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_search(kb, 1, "I forgot my password", "en", 3, &hits, &n, NULL), 0);
    assert_true(n >= 1);
    assert_string_equal(hits[0].id, "faq-0");
    sb_kb_hits_free(hits, n);
    sb_kb_close(kb);
    free(m);
    free(r);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_small_kb_or_disabled_has_none(void **state)
{
    (void)state;
    struct sb_kb *kb = kb_fixture_open_encoded(NULL);
    if (!kb)
        return;
    put_faqs(kb, SB__KB_ADAPT_MIN_GROUPS - 1);
    float *m = map_of(kb);
    assert_null(m);
    sb_kb_close(kb);

    setenv("SB_KB_ADAPT", "0", 1);
    kb = kb_fixture_open_encoded(NULL);
    unsetenv("SB_KB_ADAPT");
    put_faqs(kb, NTOPICS);
    m = map_of(kb);
    assert_null(m);
    sb_kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_synthetic),
        cmocka_unit_test(test_kb_map_stored_and_loaded),
        cmocka_unit_test(test_small_kb_or_disabled_has_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
