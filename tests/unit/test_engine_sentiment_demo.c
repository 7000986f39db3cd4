/* SPDX-License-Identifier: MIT */
/*
 * The demo shop's sentiment set (demo/sentiment/shop.tsv) trains and gets obvious English and
 * Chinese customer messages right; sb_assist_init trains both demo models into DATA/models at
 * first start; sb_assist_models_reload swaps in new model files, keeps the old ones when a file
 * is corrupt, and a reader's reference survives a swap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/assist.h"
#include "sb/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void expect(const struct sb_nlu_model *m, const char *text, const char *label)
{
    struct sb_nlu_result r;
    assert_int_equal(sb_nlu_classify(m, text, strlen(text), -1, &r), 0);
    if (strcmp(r.label, label))
        fail_msg("'%s': expected %s, got %s (%.2f)", text, label, r.label, r.confidence);
}

static void test_demo_set_trains_and_classifies(void **state)
{
    (void)state;
    struct sb_nlu_dataset *ds = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_tsv_read(SB_SOURCE_DIR "/demo/sentiment/shop.tsv", &ds, &err), 0);
    assert_true(ds->n >= 500);
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.kind = SB_NLU_SENTIMENT;
    struct sb_nlu_model *m = NULL;
    double t0 = now_s();
    assert_int_equal(sb_nlu_train(ds, NULL, &o, "demo", &m, &err), 0);
    assert_true(now_s() - t0 < 3.0);
    sb_nlu_dataset_free(ds);
    assert_int_equal(sb_nlu_model_nlabels(m), 3);
    /* Messages that are not in the file, with words that are. */
    expect(m, "this is terrible, my parcel is late again and nobody answers", "negative");
    expect(m, "I am really angry, you charged me twice", "negative");
    expect(m, "thank you so much, great service!", "positive");
    expect(m, "can you tell me how long shipping to France takes", "neutral");
    expect(m, "太差了，快递到现在还没到，气死我了", "negative");
    expect(m, "谢谢你们，服务很好", "positive");
    expect(m, "请问可以用微信付款吗", "neutral");
    sb_nlu_model_free(m);
}

struct dirs {
    char data[64], demo[64];
};

static void make_dirs(struct dirs *d)
{
    snprintf(d->data, sizeof(d->data), "/tmp/sb-sent-data-XXXXXX");
    snprintf(d->demo, sizeof(d->demo), "/tmp/sb-sent-demo-XXXXXX");
    assert_non_null(mkdtemp(d->data));
    assert_non_null(mkdtemp(d->demo));
    char *p = sb_strdupf("%s/intents", d->demo);
    assert_int_equal(mkdir(p, 0700), 0);
    free(p);
    p = sb_strdupf("%s/sentiment", d->demo);
    assert_int_equal(mkdir(p, 0700), 0);
    free(p);
    p = sb_strdupf("%s/intents/shop.tsv", d->demo);
    assert_int_equal(symlink(SB_SOURCE_DIR "/demo/intents/shop.tsv", p), 0);
    free(p);
    p = sb_strdupf("%s/sentiment/shop.tsv", d->demo);
    assert_int_equal(symlink(SB_SOURCE_DIR "/demo/sentiment/shop.tsv", p), 0);
    free(p);
}

static void remove_dirs(const struct dirs *d)
{
    char *cmd = sb_strdupf("rm -rf '%s' '%s'", d->data, d->demo);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void write_file(const char *path, const char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void test_init_trains_and_reload_swaps(void **state)
{
    (void)state;
    struct dirs d;
    make_dirs(&d);
    struct sb_assist a;
    struct sb_error err = {0};
    assert_int_equal(sb_assist_init(&a, d.data, d.demo, 1, &err), 0);
    assert_non_null(a.intent);
    assert_non_null(a.sentiment);
    char *spath = sb_strdupf("%s/models/sentiment.model", d.data);
    char *ipath = sb_strdupf("%s/models/intent.model", d.data);
    assert_int_equal(access(spath, F_OK), 0);
    assert_int_equal(access(ipath, F_OK), 0);

    /* A reader's references outlive a reload. */
    struct sb_nlu_model *ri, *rs;
    sb_assist_models_get(&a, &ri, &rs);
    struct sb_assist_model_info info[2];
    assert_int_equal(sb_assist_models_reload(&a, info, &err), 0);
    assert_int_equal(info[0].loaded, 1);
    assert_int_equal(info[1].loaded, 1);
    assert_int_equal(info[1].nlabels, 3);
    assert_true(info[1].bytes > 0);
    assert_ptr_not_equal(a.sentiment, rs);
    expect(rs, "worst service ever", "negative");
    sb_nlu_model_free(ri);
    sb_nlu_model_free(rs);

    /* A corrupt file: an error naming it, nothing swapped (the intent model either). */
    struct sb_nlu_model *before_i = a.intent, *before_s = a.sentiment;
    write_file(spath, "SBNLU garbage", 13);
    err = (struct sb_error){0};
    assert_int_not_equal(sb_assist_models_reload(&a, info, &err), 0);
    assert_non_null(strstr(err.msg, "sentiment.model"));
    assert_ptr_equal(a.intent, before_i);
    assert_ptr_equal(a.sentiment, before_s);

    /* An absent file keeps the current model. */
    assert_int_equal(unlink(spath), 0);
    assert_int_equal(sb_assist_models_reload(&a, info, &err), 0);
    assert_int_equal(info[1].loaded, 0);
    assert_ptr_equal(a.sentiment, before_s);
    sb_assist_cleanup(&a);
    free(spath);
    free(ipath);
    remove_dirs(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_set_trains_and_classifies),
        cmocka_unit_test(test_init_trains_and_reload_swaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
