/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ensemble trainer (src/nlu/train.c) and model format v2: every member kind
 * (TF-IDF SVM, NB-SVM, MLP) trains, is deterministic for a seed and independent of row order,
 * round-trips through a file bit-exactly; the combined probabilities are calibrated on a noisy
 * synthetic fixture (mean confidence close to accuracy on unseen rows); a version 1 file still
 * loads and an unknown future version is refused with a clear message.
 */
/* clang-format off: cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "sb/nlu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A synthetic 3-class set: each row mixes words of its class with words of the others, so
 * that the classes overlap and probabilities below 1 are the right answer. */
static const char *const vocab[3][8] = {
    {"parcel", "track", "shipping", "arrive", "courier", "delivery", "where", "late"},
    {"refund", "money", "back", "return", "charged", "twice", "repay", "cancel"},
    {"hello", "hi", "morning", "thanks", "great", "nice", "hey", "cheers"},
};
static const char *const names[3] = {"delivery", "refund", "smalltalk"};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static struct sb_nlu_dataset *synth(size_t n, uint64_t seed, size_t rot)
{
    struct sb_nlu_dataset *ds = calloc(1, sizeof(*ds));
    ds->n = n;
    ds->text = calloc(n, sizeof(char *));
    ds->label = calloc(n, sizeof(char *));
    ds->line = calloc(n, sizeof(size_t));
    char **t = calloc(n, sizeof(char *));
    char **l = calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        size_t c = next(&seed) % 3;
        char buf[256] = "";
        size_t len = 0;
        for (int w = 0; w < 5; w++) {
            /* 60 % of the words from the row's class, the rest from any class */
            size_t from = next(&seed) % 10 < 6 ? c : next(&seed) % 3;
            const char *word = vocab[from][next(&seed) % 8];
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", w ? " " : "", word);
        }
        t[i] = strdup(buf);
        l[i] = strdup(names[c]);
    }
    for (size_t i = 0; i < n; i++) {
        ds->text[i] = t[(i + rot) % n];
        ds->label[i] = l[(i + rot) % n];
        ds->line[i] = i + 2;
    }
    free(t);
    free(l);
    return ds;
}

static struct sb_nlu_model *train(const struct sb_nlu_dataset *ds, const char *features,
                                  uint64_t seed)
{
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.kind = SB_NLU_SENTIMENT;
    o.features = features;
    o.seed = seed;
    struct sb_nlu_model *m = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_train(ds, NULL, &o, "synth", &m, &err), 0);
    return m;
}

static void test_members_deterministic_and_order_free(void **state)
{
    (void)state;
    struct sb_nlu_dataset *a = synth(300, 7, 0), *b = synth(300, 7, 111);
    const char *specs[] = {"w2 c2-5 ens=svm", "w2 c2-5 ens=nb", "w2 c2-5 ens=mlp",
                           "w2 c2-5 ens=svm+nb+mlp"};
    for (size_t s = 0; s < 4; s++) {
        struct sb_nlu_model *m1 = train(a, specs[s], 3), *m2 = train(a, specs[s], 3);
        struct sb_nlu_model *m3 = train(b, specs[s], 3);
        const char *probe[] = {"where is my parcel", "refund my money", "hello thanks",
                               "late refund hello", "courier charged twice"};
        for (size_t i = 0; i < 5; i++) {
            struct sb_nlu_result r1, r2, r3;
            sb_nlu_classify(m1, probe[i], strlen(probe[i]), -1, &r1);
            sb_nlu_classify(m2, probe[i], strlen(probe[i]), -1, &r2);
            sb_nlu_classify(m3, probe[i], strlen(probe[i]), -1, &r3);
            assert_true(r1.confidence == r2.confidence); /* same seed: bit-identical */
            /* the rows are put in a canonical order first: the file's order does not matter */
            assert_true(r1.confidence == r3.confidence);
            assert_string_equal(r1.label, r3.label);
        }
        assert_string_equal(sb_nlu_model_label(m1, 0), "delivery");
        sb_nlu_model_free(m1);
        sb_nlu_model_free(m2);
        sb_nlu_model_free(m3);
    }
    sb_nlu_dataset_free(a);
    sb_nlu_dataset_free(b);
}

static void test_calibrated_on_unseen_rows(void **state)
{
    (void)state;
    struct sb_nlu_dataset *tr = synth(600, 11, 0), *te = synth(600, 12345, 0);
    struct sb_nlu_model *m = train(tr, "w2 c2-5 ens=svm+nb+mlp", 1);
    double conf = 0, ok = 0, brier = 0;
    for (size_t i = 0; i < te->n; i++) {
        struct sb_nlu_result r;
        assert_int_equal(sb_nlu_classify(m, te->text[i], strlen(te->text[i]), -1, &r), 0);
        int hit = strcmp(r.label, te->label[i]) == 0;
        conf += r.confidence;
        ok += hit;
        brier += (r.confidence - hit) * (r.confidence - hit);
    }
    conf /= (double)te->n;
    ok /= (double)te->n;
    brier /= (double)te->n;
    /* the classes overlap: accuracy well above chance but below 1; confidence tracks it */
    assert_true(ok > 0.6 && ok < 0.98);
    assert_true(fabs(conf - ok) < 0.06);
    assert_true(brier < 0.2);
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(tr);
    sb_nlu_dataset_free(te);
}

static void test_ensemble_round_trip(void **state)
{
    (void)state;
    struct sb_nlu_dataset *tr = synth(300, 5, 0);
    struct sb_nlu_model *m = train(tr, "w2 c2-5 ens=svm+nb+mlp", 1), *l = NULL;
    char path[] = "/tmp/sb_nlu_ensXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_model_save(m, path, &err), 0);
    assert_int_equal(sb_nlu_model_load(path, SB_NLU_SENTIMENT, &l, &err), 0);
    for (size_t i = 0; i < tr->n; i += 7) {
        struct sb_nlu_result r1, r2;
        sb_nlu_classify(m, tr->text[i], strlen(tr->text[i]), -1, &r1);
        sb_nlu_classify(l, tr->text[i], strlen(tr->text[i]), -1, &r2);
        assert_string_equal(r1.label, r2.label);
        assert_true(r1.confidence == r2.confidence);
    }
    /* a bad ensemble spec is refused */
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    struct sb_nlu_model *bad = NULL;
    o.features = "w2 ens=svm+svm";
    assert_int_equal(sb_nlu_train(tr, NULL, &o, "synth", &bad, &err), SB_EINVAL);
    o.features = "w2 ens=tree";
    assert_int_equal(sb_nlu_train(tr, NULL, &o, "synth", &bad, &err), SB_EINVAL);
    assert_null(bad);
    unlink(path);
    sb_nlu_model_free(l);
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(tr);
}

/* ---- a version 1 file, written by hand ---------------------------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static void put(unsigned char *b, size_t *n, const void *p, size_t len)
{
    memcpy(b + *n, p, len); /* the test host is little-endian, like the file format */
    *n += len;
}

static size_t v1_model(unsigned char *b, uint32_t version)
{
    size_t n = 0;
    uint32_t u;
    float f;
    put(b, &n, "SBNLUMDL", 8);
    put(b, &n, &version, 4);
    u = 2; /* sentiment */
    put(b, &n, &u, 4);
    unsigned char cfg[8] = {1, 0, 0, 0, 0, 0, 0, 0}; /* word unigrams only, no stemming */
    put(b, &n, cfg, 8);
    f = 1;
    put(b, &n, &f, 4);
    put(b, &n, &f, 4);
    u = 2;
    put(b, &n, &u, 4);
    uint16_t l = 3;
    put(b, &n, &l, 2);
    put(b, &n, "neg", 3);
    put(b, &n, &l, 2);
    put(b, &n, "pos", 3);
    int32_t oos = -1;
    put(b, &n, &oos, 4);
    f = 1; /* temperature */
    put(b, &n, &f, 4);
    f = 0; /* threshold */
    put(b, &n, &f, 4);
    u = 0; /* no features: the biases decide */
    put(b, &n, &u, 4);
    float bias[2] = {0.0f, 2.0f};
    put(b, &n, bias, 8);
    uint32_t crc = crc32_of(b, n);
    put(b, &n, &crc, 4);
    return n;
}

static void test_versions(void **state)
{
    (void)state;
    unsigned char b[256];
    char path[] = "/tmp/sb_nlu_v1XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = v1_model(b, 1);
    assert_int_equal(write(fd, b, n), (ssize_t)n);
    close(fd);
    struct sb_nlu_model *m = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_model_load(path, SB_NLU_SENTIMENT, &m, &err), 0);
    struct sb_nlu_result r;
    assert_int_equal(sb_nlu_classify(m, "anything", 8, -1, &r), 0);
    assert_string_equal(r.label, "pos");
    assert_true(fabs(r.confidence - 1.0 / (1.0 + exp(-2.0))) < 1e-6);
    sb_nlu_model_free(m);
    /* an unknown (future) version is refused, naming the file and the versions read */
    FILE *f = fopen(path, "wb");
    n = v1_model(b, 9);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    m = NULL;
    assert_int_equal(sb_nlu_model_load(path, 0, &m, &err), SB_EPARSE);
    assert_null(m);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "version 9 is not supported"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_deterministic_and_order_free),
        cmocka_unit_test(test_calibrated_on_unseen_rows),
        cmocka_unit_test(test_ensemble_round_trip),
        cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
