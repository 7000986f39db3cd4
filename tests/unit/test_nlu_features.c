/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the feature extractor's optional views: the default cross-boundary character
 * n-grams anchored on Han characters (Chinese text gets them, English text does not), the
 * `xmix` restriction, the default chat-text marks (URLs as one token, capitals, emoticons,
 * elongations), the first/last-sentence view, and the defaults by model kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/nlu/nlu_internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sorted feature hashes of `text` under `cfg`. */
static struct sb__nlu_hvec feats(const char *text, const struct sb__nlu_feat_cfg *cfg)
{
    struct sb__nlu_hvec v = {0};
    sb__nlu_features(text, strlen(text), cfg, &v);
    if (v.n)
        qsort(v.h, v.n, sizeof(*v.h), cmp_u64);
    return v;
}

static size_t count(const char *text, const struct sb__nlu_feat_cfg *cfg)
{
    struct sb__nlu_hvec v = feats(text, cfg);
    size_t n = v.n;
    sb__nlu_hvec_cleanup(&v);
    return n;
}

static int same(const char *a, const char *b, const struct sb__nlu_feat_cfg *cfg)
{
    struct sb__nlu_hvec x = feats(a, cfg), y = feats(b, cfg);
    int eq = x.n == y.n && (x.n == 0 || memcmp(x.h, y.h, x.n * sizeof(*x.h)) == 0);
    sb__nlu_hvec_cleanup(&x);
    sb__nlu_hvec_cleanup(&y);
    return eq;
}

static void test_cross_han_default(void **state)
{
    (void)state;
    struct sb__nlu_feat_cfg d, none;
    sb__nlu_feat_cfg_default(&d);
    none = d;
    none.cross = 0;
    assert_int_equal(d.cross, 2 << 4 | 4);
    assert_true(d.extra & SB__NLU_F_XHAN);
    /* English text: no cross n-gram holds a Han character, nothing is added */
    assert_int_equal(count("the food was great!! 5 stars", &d),
                     count("the food was great!! 5 stars", &none));
    /* Chinese text: 2..4-grams across punctuation and digits are added */
    const char *zh = "好吃！5星，送餐快";
    size_t with = count(zh, &d), without = count(zh, &none);
    assert_true(with > without);
    /* every cross n-gram holding a Han character: with all cross n-grams there are more */
    struct sb__nlu_feat_cfg all = d;
    all.extra &= (uint8_t)~SB__NLU_F_XHAN;
    assert_true(count(zh, &all) > with);
    /* xmix leaves out n-grams inside one Han run (the token n-grams see them) */
    struct sb__nlu_feat_cfg mix = d;
    mix.extra |= SB__NLU_F_XMIX;
    assert_true(count("好吃好吃好吃", &mix) < count("好吃好吃好吃", &d));
    /* the training-side extractor gives the cross n-grams alone */
    struct sb__nlu_hvec x = {0};
    sb__nlu_cross_features(zh, strlen(zh), &d, &x);
    assert_int_equal(x.n, with - without);
    for (size_t i = 0; i < x.n; i++)
        assert_true(x.h[i] & SB__NLU_CHAR_BIT);
    sb__nlu_hvec_cleanup(&x);
}

static void test_chat_marks(void **state)
{
    (void)state;
    struct sb__nlu_feat_cfg c, plain;
    sb__nlu_feat_cfg_default(&c);
    assert_true(c.extra & SB__NLU_F_CHAT); /* on by default */
    plain = c;
    plain.extra &= (uint8_t)~SB__NLU_F_CHAT;
    /* a URL is one token: its random path does not matter */
    assert_true(same("see http://t.co/AbC123 now", "see http://t.co/XyZ987 now", &c));
    assert_false(same("see http://t.co/AbC123 now", "see http://t.co/XyZ987 now", &plain));
    /* a word in capitals adds one mark (case folding made them equal before) */
    assert_int_equal(count("NEVER again", &c), count("never again", &c) + 1);
    assert_true(same("NEVER again", "never again", &plain));
    /* handles in capitals are names, not shouting */
    assert_int_equal(count("@ABC thanks", &c), count("@abc thanks", &c));
    /* emoticons: one mark each; the "://" of a URL is none */
    assert_int_equal(count("thanks :)", &c), count("thanks", &c) + 1);
    assert_int_equal(count("late again :(", &c), count("late again", &c) + 1);
    assert_int_equal(count("x http://a.b y", &c), count("x http://c.d y", &c));
    /* an elongation: "soooo" is read as "soo" plus a mark */
    assert_int_equal(count("soooo good", &c), count("sooo good", &c));
}

static void test_ends_view(void **state)
{
    (void)state;
    struct sb__nlu_feat_cfg e, plain;
    sb__nlu_feat_cfg_default(&e);
    plain = e;
    e.extra |= SB__NLU_F_ENDS;
    /* one sentence: nothing added; two: both again as unigrams and bigrams */
    assert_int_equal(count("房间很大", &e), count("房间很大", &plain));
    const char *two = "房间很大。早餐太差！";
    /* 房间很大: 4 + 3; 早餐太差 and "!" (a token): 5 + 4 */
    assert_int_equal(count(two, &e), count(two, &plain) + (4 + 3) + (5 + 4));
}

/* The defaults depend on the kind: sentiment models get the Han cross n-grams, intents not;
   both get the chat marks. */
static void test_defaults_by_kind(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        {"great food, fast delivery", "positive"}, {"好吃！送餐快", "positive"},
        {"loved it :)", "positive"},               {"味道很好，5星", "positive"},
        {"cold and late", "negative"},             {"太慢了，1个小时才到", "negative"},
        {"never again!!", "negative"},             {"不好吃", "negative"},
    };
    size_t n = sizeof(rows) / sizeof(*rows);
    struct sb_nlu_dataset ds = {0};
    char *text[8], *label[8];
    for (size_t i = 0; i < n; i++) {
        text[i] = (char *)rows[i][0];
        label[i] = (char *)rows[i][1];
    }
    ds.n = n;
    ds.text = text;
    ds.label = label;
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    struct sb_nlu_model *m = NULL;
    o.kind = SB_NLU_SENTIMENT;
    assert_int_equal(sb_nlu_train(&ds, NULL, &o, "toy", &m, NULL), 0);
    assert_int_equal(m->cfg.cross, 2 << 4 | 4);
    assert_true(m->cfg.extra & SB__NLU_F_XHAN);
    assert_true(m->cfg.extra & SB__NLU_F_CHAT);
    sb_nlu_model_free(m);
    o.kind = SB_NLU_INTENT;
    assert_int_equal(sb_nlu_train(&ds, NULL, &o, "toy", &m, NULL), 0);
    assert_int_equal(m->cfg.cross, 0);
    assert_true(m->cfg.extra & SB__NLU_F_CHAT);
    sb_nlu_model_free(m);
    /* asked for explicitly, intents get them too */
    o.features = "x2-4 xhan";
    assert_int_equal(sb_nlu_train(&ds, NULL, &o, "toy", &m, NULL), 0);
    assert_int_equal(m->cfg.cross, 2 << 4 | 4);
    sb_nlu_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_han_default),
        cmocka_unit_test(test_chat_marks),
        cmocka_unit_test(test_ends_view),
        cmocka_unit_test(test_defaults_by_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
