/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the sentiment lexicon features (src/nlu/lexicon.c): loading a small VADER
 * and CC-CEDICT fixture written by the test into a temporary package folder, the Chinese
 * projection through English glosses, the rules (negation, intensifiers, contrast words) in
 * English and Chinese, the features a text gets, a model trained with them that keeps its
 * lexicon in the file (version 3) and scores the same after loading, and training without
 * the lexicon packages (features off, a notice, a version 2 file), and the defaults by kind.
 */
/* cmocka needs these first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "../../src/nlu/nlu_internal.h"
#include "sb/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

/* A package folder laid out like node_modules, with a few entries of each source. */
static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sb_nlu_lex_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char p[512];
    snprintf(p, sizeof(p), "%s/vader-sentiment", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/vader-sentiment/vader_lexicon.txt", dir);
    write_file(p, "good\t1.9\t0.9\t[2, 2]\n"
                  "great\t3.1\t0.7\t[3, 3]\n"
                  "bad\t-2.5\t0.6\t[-2, -3]\n"
                  "terrible\t-2.1\t0.8\t[-2, -2]\n"
                  "delicious\t2.7\t0.5\t[3, 3]\n"
                  "dirty\t-1.9\t0.7\t[-2, -2]\n"
                  "broken line without a number\n"
                  "Happy\t2.7\t0.6\t[3, 3]\n");
    snprintf(p, sizeof(p), "%s/@nlpjs", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/@nlpjs/lang-zh", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/@nlpjs/lang-zh/src", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/@nlpjs/lang-zh/src/cedict_ts.u8.js", dir);
    write_file(p, "module.exports = `# CC-CEDICT test fixture\n"
                  "好吃 好吃 [hao3 chi1] /tasty/delicious/\n"
                  "髒 脏 [zang1] /dirty/filthy/\n"
                  "糟糕 糟糕 [zao1 gao1] /too bad/how terrible/what bad luck/\n"
                  "桌子 桌子 [zhuo1 zi5] /table/desk/\n"
                  "好 好 [hao3] /good/well/proper/to be fond of/(particle)/\n"
                  "不好 不好 [bu4 hao3] /not good/\n"
                  "张 张 [Zhang1] /surname Zhang/\n`\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static float valence(const struct sb__nlu_lex *lx, const char *w)
{
    int64_t e = sb__nlu_lex_find(lx, w, strlen(w));
    assert_true(e >= 0);
    return lx->val[e];
}

static void test_load_and_project(void **state)
{
    (void)state;
    struct sb__nlu_lex *lx = NULL;
    char notice[512];
    assert_int_equal(sb__nlu_lex_load(dir, 1, 1, &lx, notice, sizeof(notice)), 0);
    assert_string_equal(notice, "");
    /* English as given (normalised: "Happy" is found as "happy"); a bad line is skipped */
    assert_true(fabsf(valence(lx, "good") - 1.9f) < 1e-6);
    assert_true(fabsf(valence(lx, "happy") - 2.7f) < 1e-6);
    assert_true(sb__nlu_lex_find(lx, "broken line without a number", 28) < 0);
    /* Chinese through the glosses: mean of the glosses that carry valence */
    assert_true(fabsf(valence(lx, "好吃") - 2.7f) < 1e-5);
    assert_true(fabsf(valence(lx, "脏") - (-1.9f)) < 1e-5);
    assert_true(valence(lx, "糟糕") < -1.5f);
    /* a negated gloss flips ("not good"); no valence, no entry ("table", "surname Zhang") */
    assert_true(valence(lx, "不好") < 0);
    assert_true(sb__nlu_lex_find(lx, "桌子", strlen("桌子")) < 0);
    assert_true(sb__nlu_lex_find(lx, "张", strlen("张")) < 0);
    /* one character with several senses needs half of its glosses to agree: 好 has 1 of 4 */
    assert_true(sb__nlu_lex_find(lx, "好", strlen("好")) < 0);
    assert_int_equal(lx->maxhan, 2);
    sb__nlu_lex_free(lx);

    /* only Chinese entries: English ones only serve the projection */
    assert_int_equal(sb__nlu_lex_load(dir, 0, 1, &lx, NULL, 0), 0);
    assert_true(sb__nlu_lex_find(lx, "good", 4) < 0);
    assert_true(sb__nlu_lex_find(lx, "好吃", strlen("好吃")) >= 0);
    sb__nlu_lex_free(lx);
}

static double score(const struct sb__nlu_lex *lx, const char *t)
{
    return sb__nlu_lex_score(lx, t, strlen(t));
}

static void test_rules(void **state)
{
    (void)state;
    const char *w[] = {"good", "bad", "great", "好吃", "脏", "满意"};
    const float v[] = {2.0f, -2.0f, 3.0f, 2.0f, -2.0f, 2.0f};
    struct sb__nlu_lex *lx = sb__nlu_lex_from_entries(w, v, 6, 1);
    assert_int_equal(lx->n, 6);
    assert_true(fabs(score(lx, "good") - 2.0) < 1e-6);
    assert_true(fabs(score(lx, "the food was good") - 2.0) < 1e-6);
    /* negation flips and damps, within three words and the same clause only */
    assert_true(score(lx, "not good") < 0);
    assert_true(score(lx, "it wasn't good") < 0);
    assert_true(score(lx, "I don't think it is good") > 0); /* four words back */
    assert_true(score(lx, "no, good") > 0);                 /* another clause */
    assert_true(fabs(score(lx, "not good") + score(lx, "good") * 0.6) < 1e-6);
    /* intensifiers and softeners */
    assert_true(score(lx, "very good") > score(lx, "good"));
    assert_true(score(lx, "slightly good") < score(lx, "good"));
    /* a contrast word: the verdict after it weighs more */
    assert_true(score(lx, "good but bad") < 0);
    assert_true(score(lx, "bad but good") > 0);
    assert_true(fabs(score(lx, "good. bad")) < 1e-6); /* two sentences: no contrast */
    /* Chinese: forward matching in a Han run, cues right before the word */
    assert_true(fabs(score(lx, "很好吃") - 2.0 * 1.3) < 1e-5);
    assert_true(score(lx, "不好吃") < 0);
    assert_true(score(lx, "房间很脏") < 0);
    assert_true(score(lx, "房间不脏") > 0);
    assert_true(score(lx, "好吃，但是房间脏") < 0);
    assert_true(score(lx, "房间脏，可是好吃") > 0);
    /* a repeated word keeps its first valence */
    const char *d[] = {"good", "GOOD"};
    const float dv[] = {1.0f, -1.0f};
    struct sb__nlu_lex *dup = sb__nlu_lex_from_entries(d, dv, 2, 1);
    assert_int_equal(dup->n, 1);
    assert_true(fabsf(valence(dup, "good") - 1.0f) < 1e-6);
    sb__nlu_lex_free(dup);
    sb__nlu_lex_free(lx);
}

static size_t nfeat(const char *text, const struct sb__nlu_feat_cfg *cfg)
{
    struct sb__nlu_hvec v = {0};
    sb__nlu_features(text, strlen(text), cfg, &v);
    size_t n = v.n;
    sb__nlu_hvec_cleanup(&v);
    return n;
}

static void test_features(void **state)
{
    (void)state;
    const char *w[] = {"good", "bad"};
    const float v[] = {2.0f, -2.0f};
    struct sb__nlu_lex *lx = sb__nlu_lex_from_entries(w, v, 2, 1);
    struct sb__nlu_feat_cfg off, tok, doc, both;
    sb__nlu_feat_cfg_default(&off);
    assert_null(off.lex);
    assert_int_equal(off.lexopts, 0);
    tok = doc = both = off;
    tok.lex = doc.lex = both.lex = lx;
    tok.lexopts = SB__NLU_LEX_TOK;
    doc.lexopts = SB__NLU_LEX_DOC;
    both.lexopts = SB__NLU_LEX_TOK | SB__NLU_LEX_DOC;
    const char *t = "good food, bad service";
    size_t n0 = nfeat(t, &off);
    assert_int_equal(nfeat(t, &tok), n0 + 2); /* one bucket per hit */
    assert_int_equal(nfeat(t, &doc), n0 + 4); /* score bin, counts of each sign, balance */
    assert_int_equal(nfeat(t, &both), n0 + 6);
    assert_int_equal(nfeat("nothing here", &both), nfeat("nothing here", &off) + 4);
    /* lexrep=N: each lexicon feature N times (a larger TF-IDF value) */
    struct sb__nlu_feat_cfg rep = both;
    rep.lexopts |= 3u << SB__NLU_LEX_REP_SHIFT;
    assert_int_equal(nfeat(t, &rep), n0 + 2 * 3 + 3 * 3 + 1);
    /* a lexicon without options, or options without a lexicon, add nothing */
    struct sb__nlu_feat_cfg none = off;
    none.lex = lx;
    assert_int_equal(nfeat(t, &none), n0);
    none.lex = NULL;
    none.lexopts = SB__NLU_LEX_TOK | SB__NLU_LEX_DOC;
    assert_int_equal(nfeat(t, &none), n0);
    /* lexicon features live in the word block */
    struct sb__nlu_hvec a = {0};
    sb__nlu_features(t, strlen(t), &both, &a);
    size_t words = 0;
    for (size_t i = 0; i < a.n; i++)
        words += (a.h[i] & SB__NLU_CHAR_BIT) == 0;
    struct sb__nlu_hvec b = {0};
    sb__nlu_features(t, strlen(t), &off, &b);
    size_t words0 = 0;
    for (size_t i = 0; i < b.n; i++)
        words0 += (b.h[i] & SB__NLU_CHAR_BIT) == 0;
    assert_int_equal(words, words0 + 6);
    sb__nlu_hvec_cleanup(&a);
    sb__nlu_hvec_cleanup(&b);
    sb__nlu_lex_free(lx);
}

/* A small sentiment set: the lexicon words are in it, so the model has their features. */
static struct sb_nlu_dataset *small_set(void)
{
    struct sb_buf b;
    sb_buf_init(&b, 0);
    (void)sb_buf_append(&b, "text\tlabel\n", 11);
    static const char *const pos[] = {"good food", "great service", "really good",   "delicious",
                                      "好吃",      "很好吃",        "happy with it", "great!"};
    static const char *const neg[] = {"bad food", "terrible service", "not good", "dirty room",
                                      "不好吃",   "房间很脏",         "bad!",     "糟糕"};
    for (int r = 0; r < 3; r++)
        for (size_t i = 0; i < 8; i++) {
            char line[128];
            int n = snprintf(line, sizeof(line), "%s %d\tpositive\n%s %d\tnegative\n", pos[i], r,
                             neg[i], r);
            (void)sb_buf_append(&b, line, (size_t)n);
        }
    struct sb_nlu_dataset *ds = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_tsv_parse(b.data, b.len, "small.tsv", &ds, &err), 0);
    sb_buf_cleanup(&b);
    return ds;
}

/* A model of `kind` trained on `ds` with the feature spec `features` (training must work). */
static struct sb_nlu_model *train_small(const struct sb_nlu_dataset *ds, enum sb_nlu_kind kind,
                                        const char *features)
{
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.kind = kind;
    o.features = features;
    struct sb_nlu_model *m = NULL;
    struct sb_error err = {0};
    if (sb_nlu_train(ds, NULL, &o, "small.tsv", &m, &err))
        fail_msg("training with '%s' failed: %s", features, err.msg);
    return m;
}

static uint32_t file_version(const char *path)
{
    unsigned char h[12];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(h, 1, 12, f), 12);
    fclose(f);
    return (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 | (uint32_t)h[11] << 24;
}

static void test_model_keeps_lexicon(void **state)
{
    (void)state;
    setenv("SB_NLU_LEXICON_DIR", dir, 1);
    struct sb_nlu_dataset *ds = small_set();
    struct sb_nlu_model *m = train_small(ds, SB_NLU_SENTIMENT, "lex ens=svm");
    struct sb_error err = {0};
    assert_non_null(m->lex);
    assert_ptr_equal(m->cfg.lex, m->lex);
    assert_int_equal(m->cfg.lexopts, SB__NLU_LEX_TOK | SB__NLU_LEX_DOC);
    assert_true(sb__nlu_lex_find(m->lex, "好吃", strlen("好吃")) >= 0);
    char path[300];
    snprintf(path, sizeof(path), "%s/m.model", dir);
    assert_int_equal(sb_nlu_model_save(m, path, &err), 0);
    assert_int_equal(file_version(path), 3);
    /* the lexicon travels in the file: loading needs no lexicon package */
    setenv("SB_NLU_LEXICON_DIR", "/nonexistent/lexicons", 1);
    struct sb_nlu_model *l = NULL;
    assert_int_equal(sb_nlu_model_load(path, SB_NLU_SENTIMENT, &l, &err), 0);
    assert_non_null(l->lex);
    assert_int_equal(l->lex->n, m->lex->n);
    assert_int_equal(l->cfg.lexopts, m->cfg.lexopts);
    const char *probe[] = {"not good at all", "very happy", "超级好吃", "房间不脏", "meh"};
    for (size_t i = 0; i < 5; i++) {
        struct sb_nlu_result a, b;
        assert_int_equal(sb_nlu_classify(m, probe[i], strlen(probe[i]), -1, &a), 0);
        assert_int_equal(sb_nlu_classify(l, probe[i], strlen(probe[i]), -1, &b), 0);
        assert_string_equal(a.label, b.label);
        assert_true(fabs(a.confidence - b.confidence) < 1e-6);
    }
    /* a corrupted lexicon section is refused (the checksum catches it first) */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -10, SEEK_END);
    fputc('X', f);
    fclose(f);
    struct sb_nlu_model *bad = NULL;
    assert_int_equal(sb_nlu_model_load(path, 0, &bad, &err), SB_EPARSE);
    assert_null(bad);
    unlink(path);
    sb_nlu_model_free(l);
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(ds);
    unsetenv("SB_NLU_LEXICON_DIR");
}

static void test_missing_lexicon(void **state)
{
    (void)state;
    struct sb__nlu_lex *lx = (struct sb__nlu_lex *)1;
    char notice[512];
    assert_int_equal(sb__nlu_lex_load("/nonexistent/lexicons", 1, 1, &lx, notice, sizeof(notice)),
                     SB_ENOTFOUND);
    assert_null(lx);
    assert_non_null(strstr(notice, "vader_lexicon.txt"));
    assert_non_null(strstr(notice, "off"));
    /* training still works: no lexicon features, a version 2 file */
    setenv("SB_NLU_LEXICON_DIR", "/nonexistent/lexicons", 1);
    struct sb_nlu_dataset *ds = small_set();
    struct sb_nlu_model *m = train_small(ds, SB_NLU_SENTIMENT, "lex ens=svm");
    struct sb_error err = {0};
    assert_null(m->lex);
    assert_int_equal(m->cfg.lexopts, 0);
    char path[300];
    snprintf(path, sizeof(path), "%s/m2.model", dir);
    assert_int_equal(sb_nlu_model_save(m, path, &err), 0);
    assert_int_equal(file_version(path), 2);
    struct sb_nlu_model *l = NULL;
    assert_int_equal(sb_nlu_model_load(path, SB_NLU_SENTIMENT, &l, &err), 0);
    assert_null(l->lex);
    sb_nlu_model_free(l);
    unlink(path);
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(ds);
    /* only the Chinese source missing: English entries load, with a notice */
    char vdir[300];
    snprintf(vdir, sizeof(vdir), "%s/@nlpjs/lang-zh/src/cedict_ts.u8.js", dir);
    char moved[320];
    snprintf(moved, sizeof(moved), "%s.away", vdir);
    assert_int_equal(rename(vdir, moved), 0);
    assert_int_equal(sb__nlu_lex_load(dir, 1, 1, &lx, notice, sizeof(notice)), 0);
    assert_non_null(strstr(notice, "cedict_ts.u8.js"));
    assert_true(sb__nlu_lex_find(lx, "good", 4) >= 0);
    assert_true(sb__nlu_lex_find(lx, "好吃", strlen("好吃")) < 0);
    sb__nlu_lex_free(lx);
    assert_int_equal(rename(moved, vdir), 0);
    unsetenv("SB_NLU_LEXICON_DIR");
}

static void test_defaults_by_kind(void **state)
{
    (void)state;
    setenv("SB_NLU_LEXICON_DIR", dir, 1);
    struct sb_nlu_dataset *ds = small_set();
    struct sb_nlu_model *m = train_small(ds, SB_NLU_SENTIMENT, "ens=svm");
    assert_non_null(m->lex); /* sentiment: lexicon features by default */
    assert_int_equal(m->cfg.lexopts, SB__NLU_LEX_TOK | SB__NLU_LEX_DOC);
    sb_nlu_model_free(m);
    m = train_small(ds, SB_NLU_SENTIMENT, "nolex ens=svm");
    assert_null(m->lex);
    sb_nlu_model_free(m);
    m = train_small(ds, SB_NLU_INTENT, "ens=svm"); /* intents: not unless asked for */
    assert_null(m->lex);
    assert_int_equal(m->cfg.lexopts, 0);
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(ds);
    unsetenv("SB_NLU_LEXICON_DIR");
}

/* VADER widened over a tiny WordNet: "slow" (no VADER entry) is similar to "sluggish" (one),
 * "speedy" is the antonym of "slow" (sign flipped, decayed in the second round), and the projection
 * gives the Chinese word glossed "slow" a valence only through the widened lexicon. */
static void test_wordnet_widening(void **state)
{
    (void)state;
    char wdir[300], p[400];
    snprintf(wdir, sizeof(wdir), "%s/wordnet", dir);
    mkdir(wdir, 0755);
    snprintf(p, sizeof(p), "%s/data.adj", wdir);
    write_file(p, "  1 license header line\n"
                  "00000100 00 a 01 slow 0 002 & 00000200 s 0000 ! 00000300 a 0101 | not fast\n"
                  "00000200 00 s 01 sluggish 0 001 & 00000100 a 0000 | lacking energy\n"
                  "00000300 00 a 01 speedy 0 001 ! 00000100 a 0101 | fast\n");
    snprintf(p, sizeof(p), "%s/index.adj", wdir);
    write_file(p, "  1 license header line\n"
                  "slow a 1 2 ! & 1 0 00000100  \n"
                  "sluggish a 1 1 & 1 0 00000200  \n"
                  "speedy a 1 1 ! 1 0 00000300  \n");
    snprintf(p, sizeof(p), "%s/@nlpjs/lang-zh/src/cedict_ts.u8.js", dir);
    char moved[420];
    snprintf(moved, sizeof(moved), "%s.orig", p);
    assert_int_equal(rename(p, moved), 0);
    write_file(p, "慢 慢 [man4] /slow/\n好吃 好吃 [hao3 chi1] /tasty/delicious/\n");
    char vp[400], vmoved[420];
    snprintf(vp, sizeof(vp), "%s/vader-sentiment/vader_lexicon.txt", dir);
    snprintf(vmoved, sizeof(vmoved), "%s.orig", vp);
    assert_int_equal(rename(vp, vmoved), 0);
    write_file(vp, "sluggish\t-2.5\t0.5\t[-2]\ndelicious\t2.7\t0.5\t[3]\n");
    setenv("SB_WORDNET_DIR", wdir, 1);
    struct sb__nlu_lex *lx = NULL;
    assert_int_equal(sb__nlu_lex_load_wn(dir, 1, 1, 0, &lx, NULL, 0), 0);
    assert_true(sb__nlu_lex_find(lx, "慢", strlen("慢")) < 0);
    assert_true(sb__nlu_lex_find(lx, "slow", 4) < 0);
    sb__nlu_lex_free(lx);
    /* the projection only */
    assert_int_equal(sb__nlu_lex_load_wn(dir, 1, 1, SB__NLU_LEX_WN_ZH, &lx, NULL, 0), 0);
    assert_true(sb__nlu_lex_find(lx, "slow", 4) < 0);
    /* slow: 0.5 x sluggish (its only scored neighbour in the first round) */
    assert_true(fabsf(valence(lx, "慢") - (-1.25f)) < 1e-5);
    /* 好吃: "tasty" has no WordNet entry here, so "delicious" alone */
    assert_true(fabsf(valence(lx, "好吃") - 2.7f) < 1e-5);
    sb__nlu_lex_free(lx);
    /* English entries too: speedy = -0.5 x slow (second round) */
    assert_int_equal(
        sb__nlu_lex_load_wn(dir, 1, 0, SB__NLU_LEX_WN_ZH | SB__NLU_LEX_WN_EN, &lx, NULL, 0), 0);
    assert_true(fabsf(valence(lx, "slow") - (-1.25f)) < 1e-5);
    assert_true(fabsf(valence(lx, "speedy") - 0.625f) < 1e-5);
    assert_true(fabsf(valence(lx, "sluggish") - (-2.5f)) < 1e-5);
    sb__nlu_lex_free(lx);
    /* no WordNet files: as without widening */
    setenv("SB_WORDNET_DIR", "/nonexistent/wordnet", 1);
    assert_int_equal(sb__nlu_lex_load_wn(dir, 1, 1, SB__NLU_LEX_WN_ZH, &lx, NULL, 0), 0);
    assert_true(sb__nlu_lex_find(lx, "慢", strlen("慢")) < 0);
    sb__nlu_lex_free(lx);
    unsetenv("SB_WORDNET_DIR");
    assert_int_equal(rename(moved, p), 0);
    assert_int_equal(rename(vmoved, vp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_project), cmocka_unit_test(test_rules),
        cmocka_unit_test(test_features),         cmocka_unit_test(test_model_keeps_lexicon),
        cmocka_unit_test(test_missing_lexicon),  cmocka_unit_test(test_defaults_by_kind),
        cmocka_unit_test(test_wordnet_widening),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
