/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the trainer and model files: a separable toy intent set (English and Chinese)
 * must be learnt, training is deterministic for a seed and independent of row order, a
 * single-label set is refused, save/load round-trips exactly, a model of the wrong kind and a
 * corrupted file are refused with clear messages, and out-of-scope thresholds apply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/nlu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const toy[][2] = {
    {"where is my parcel", "order_status"},  {"has my order shipped yet", "order_status"},
    {"track my package please", "order_status"}, {"my order has not arrived", "order_status"},
    {"when will my order arrive", "order_status"}, {"order status please", "order_status"},
    {"我的快递到哪了", "order_status"},          {"查一下我的订单物流", "order_status"},
    {"i want my money back", "refund"},         {"please refund me", "refund"},
    {"how do i get a refund", "refund"},        {"refund the payment", "refund"},
    {"give me a refund now", "refund"},         {"money back for this item", "refund"},
    {"我要退款", "refund"},                      {"钱什么时候退给我", "refund"},
    {"hello there", "greeting"},                {"hi", "greeting"},
    {"good morning", "greeting"},               {"hey hello", "greeting"},
    {"hi there good evening", "greeting"},      {"hello hello", "greeting"},
    {"你好", "greeting"},                        {"您好在吗", "greeting"},
};
#define NTOY (sizeof(toy) / sizeof(toy[0]))

static struct sb_nlu_dataset *make(size_t n, size_t rot)
{
    struct sb_nlu_dataset *ds = calloc(1, sizeof(*ds));
    ds->n = n;
    ds->text = calloc(n, sizeof(char *));
    ds->label = calloc(n, sizeof(char *));
    ds->line = calloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        size_t j = (i + rot) % n;
        ds->text[i] = strdup(toy[j][0]);
        ds->label[i] = strdup(toy[j][1]);
        ds->line[i] = i + 2;
    }
    return ds;
}

static const char *classify(const struct sb_nlu_model *m, const char *t, double thr)
{
    struct sb_nlu_result r;
    assert_int_equal(sb_nlu_classify(m, t, strlen(t), thr, &r), 0);
    return r.label;
}

static void test_learns_toy_set(void **state)
{
    (void)state;
    struct sb_nlu_dataset *ds = make(NTOY, 0);
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.oos_threshold = 0;
    struct sb_nlu_model *m = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_train(ds, NULL, &o, "toy", &m, &err), 0);
    assert_int_equal(sb_nlu_model_nlabels(m), 3);
    /* every training row, and a few unseen paraphrases */
    for (size_t i = 0; i < NTOY; i++)
        assert_string_equal(classify(m, toy[i][0], 0), toy[i][1]);
    assert_string_equal(classify(m, "where is my package", 0), "order_status");
    assert_string_equal(classify(m, "I want a refund", 0), "refund");
    assert_string_equal(classify(m, "hello!", 0), "greeting");
    assert_string_equal(classify(m, "我想退款", 0), "refund");
    struct sb_nlu_result r;
    sb_nlu_classify(m, "please refund me", 16, 0, &r);
    assert_true(r.confidence > 0.34 && r.confidence <= 1.0);
    assert_int_equal(r.ntop, 3);
    assert_true(r.top[0].p >= r.top[1].p && r.top[1].p >= r.top[2].p);
    /* a per-call threshold above every confidence makes everything out of scope */
    assert_string_equal(classify(m, "please refund me", 1.0), SB_NLU_OOS_LABEL);
    assert_string_equal(classify(m, "please refund me", 0.01), "refund");
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(ds);
}

static void test_deterministic_and_order_free(void **state)
{
    (void)state;
    struct sb_nlu_dataset *a = make(NTOY, 0), *b = make(NTOY, 7);
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.c = 1;
    struct sb_nlu_model *ma, *ma2, *mb;
    assert_int_equal(sb_nlu_train(a, a, &o, "a", &ma, NULL), 0);
    assert_int_equal(sb_nlu_train(a, a, &o, "a", &ma2, NULL), 0);
    assert_int_equal(sb_nlu_train(b, b, &o, "b", &mb, NULL), 0);
    const char *probe[] = {"refund my order", "where is it", "hi", "退款", "random words"};
    for (size_t i = 0; i < 5; i++) {
        struct sb_nlu_result r1, r2, r3;
        sb_nlu_classify(ma, probe[i], strlen(probe[i]), 0, &r1);
        sb_nlu_classify(ma2, probe[i], strlen(probe[i]), 0, &r2);
        sb_nlu_classify(mb, probe[i], strlen(probe[i]), 0, &r3);
        assert_true(r1.confidence == r2.confidence); /* same seed: bit-identical */
        assert_string_equal(r1.label, r3.label);     /* row order does not change the answer */
    }
    sb_nlu_model_free(ma);
    sb_nlu_model_free(ma2);
    sb_nlu_model_free(mb);
    sb_nlu_dataset_free(a);
    sb_nlu_dataset_free(b);
}

static void test_single_label_refused(void **state)
{
    (void)state;
    struct sb_nlu_dataset *ds = make(6, 0); /* the first six rows are all order_status */
    struct sb_nlu_model *m = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_train(ds, NULL, NULL, "one.tsv", &m, &err), SB_EINVAL);
    assert_null(m);
    assert_non_null(strstr(err.msg, "one.tsv"));
    assert_non_null(strstr(err.msg, "order_status"));
    sb_nlu_dataset_free(ds);
}

static void test_save_load(void **state)
{
    (void)state;
    struct sb_nlu_dataset *ds = make(NTOY, 0);
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.kind = SB_NLU_SENTIMENT; /* labels are arbitrary; the kind is what matters here */
    struct sb_nlu_model *m, *l;
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_train(ds, NULL, &o, "toy", &m, &err), 0);
    char dir[] = "/tmp/sb_nlu_testXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/m.bin", dir);
    assert_int_equal(sb_nlu_model_save(m, path, &err), 0);
    assert_int_equal(sb_nlu_model_load(path, SB_NLU_SENTIMENT, &l, &err), 0);
    assert_int_equal(sb_nlu_model_kind(l), SB_NLU_SENTIMENT);
    for (size_t i = 0; i < NTOY; i++) {
        struct sb_nlu_result r1, r2;
        sb_nlu_classify(m, toy[i][0], strlen(toy[i][0]), -1, &r1);
        sb_nlu_classify(l, toy[i][0], strlen(toy[i][0]), -1, &r2);
        assert_string_equal(r1.label, r2.label);
        assert_true(r1.confidence == r2.confidence);
    }
    /* the wrong kind is refused, naming the file and both kinds */
    struct sb_nlu_model *w = NULL;
    assert_int_equal(sb_nlu_model_load(path, SB_NLU_INTENT, &w, &err), SB_EINVAL);
    assert_null(w);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "is a sentiment model, but a intent model is needed"));
    /* a flipped byte in the weights fails the checksum; a truncated file fails too */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -10, SEEK_END);
    int c = fgetc(f);
    fseek(f, -10, SEEK_END);
    fputc(c ^ 0x40, f);
    fclose(f);
    assert_int_equal(sb_nlu_model_load(path, 0, &w, &err), SB_EPARSE);
    assert_non_null(strstr(err.msg, "checksum"));
    assert_int_equal(truncate(path, 100), 0);
    assert_int_equal(sb_nlu_model_load(path, 0, &w, &err), SB_EPARSE);
    assert_int_equal(sb_nlu_model_load("/nonexistent/m.bin", 0, &w, &err), SB_ENOTFOUND);
    /* reference counting: the loaded model survives its first free while referenced */
    struct sb_nlu_model *ref = sb_nlu_model_ref(l);
    sb_nlu_model_free(l);
    assert_string_equal(classify(ref, "hello", 0), "greeting");
    sb_nlu_model_free(ref);
    sb_nlu_model_free(NULL);
    unlink(path);
    rmdir(dir);
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(ds);
}

static void test_oos_threshold_tuned(void **state)
{
    (void)state;
    /* validation data with oos rows: a threshold is tuned and stored */
    struct sb_nlu_dataset *tr = make(NTOY, 0);
    const char *vt[] = {"where is my order", "refund please", "hello", "what is the weather",
                        "tell me a joke", "who won the football game"};
    const char *vl[] = {"order_status", "refund", "greeting", "oos", "oos", "oos"};
    struct sb_nlu_dataset va = {6, (char **)vt, (char **)vl, NULL};
    struct sb_nlu_model *m;
    assert_int_equal(sb_nlu_train(tr, &va, NULL, "toy", &m, NULL), 0);
    double t = sb_nlu_model_oos_threshold(m);
    assert_true(t > 0 && t < 1);
    assert_string_equal(classify(m, "where is my order", -1), "order_status");
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(tr);
}

static void test_no_oos_examples_no_threshold(void **state)
{
    (void)state;
    /* nothing shows what out-of-scope input looks like: no threshold, every row classified */
    struct sb_nlu_dataset *tr = make(NTOY, 3);
    struct sb_nlu_model *m;
    assert_int_equal(sb_nlu_train(tr, NULL, NULL, "toy", &m, NULL), 0);
    assert_true(sb_nlu_model_oos_threshold(m) == 0);
    assert_string_equal(classify(m, "has my order shipped yet", -1), "order_status");
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(tr);
}

static void test_extra_features_round_trip(void **state)
{
    (void)state;
    struct sb_nlu_dataset *tr = make(NTOY, 0);
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.features = "w2 c2-5 h3 stem neg p3";
    struct sb_nlu_model *m, *l;
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_train(tr, NULL, &o, "toy", &m, &err), 0);
    char path[] = "/tmp/sb_nlu_featXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sb_nlu_model_save(m, path, &err), 0);
    assert_int_equal(sb_nlu_model_load(path, SB_NLU_INTENT, &l, &err), 0);
    const char *q = "i did not get my money back";
    assert_string_equal(classify(l, q, 0), classify(m, q, 0));
    assert_string_equal(classify(l, q, 0), "refund");
    o.features = "w2 p9";
    struct sb_nlu_model *bad = NULL;
    assert_int_equal(sb_nlu_train(tr, NULL, &o, "toy", &bad, &err), SB_EINVAL);
    unlink(path);
    sb_nlu_model_free(l);
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_toy_set),
        cmocka_unit_test(test_deterministic_and_order_free),
        cmocka_unit_test(test_single_label_refused),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_oos_threshold_tuned),
        cmocka_unit_test(test_no_oos_examples_no_threshold),
        cmocka_unit_test(test_extra_features_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
