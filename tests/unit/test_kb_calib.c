/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the confidence calibration in C (src/kb/calibrate.c) and of per-tenant models
 * (src/kb/kb.c): the logistic fit separates a synthetic separable set and recovers the sign of
 * the informative feature, the threshold meets the goals (also when chosen on inner out-of-fold
 * confidences), a strong prior holds the coefficients, cross-validation reports out-of-fold
 * figures, bad input is refused, a fitted model changes the tenant's decisions, survives a
 * reopen of kb.db, and other tenants keep the shipped model; the translation-model scores learned
 * from a tiny KB.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include "../../src/kb/kb_internal.h"
#include "sb/kb.h"
#include "sb/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 400 questions: feature "cover" (index 2) decides rightness, "top" (index 0) is noise;
 * every fifth question is unanswerable. */
static struct sb_kb_calib_sample *synthetic(size_t *n, char ***ids)
{
    size_t m = 400;
    struct sb_kb_calib_sample *s = sb_calloc(m, sizeof(*s));
    *ids = sb_calloc(m, sizeof(char *));
    uint32_t r = 12345;
    for (size_t i = 0; i < m; i++) {
        (*ids)[i] = sb_strdupf("q%03zu", i);
        s[i].query_id = (*ids)[i];
        s[i].answerable = i % 5 != 0;
        r = r * 1103515245u + 12345u;
        double u = (double)(r >> 8) / (double)(1u << 24);
        s[i].right = s[i].answerable && i % 3 != 0;
        /* separable: right questions have cover in 0.6..1, the others 0..0.4 */
        s[i].x[2] = s[i].right ? 0.6 + 0.4 * u : 0.4 * u;
        s[i].x[0] = u;
        s[i].x[5] = 1.0; /* a constant column must not break the solve */
    }
    *n = m;
    return s;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void test_fit_separable(void **state)
{
    (void)state;
    size_t n;
    char **ids;
    struct sb_kb_calib_sample *s = synthetic(&n, &ids);
    struct sb_kb_calib_opts o;
    sb_kb_calib_opts_default(&o);
    o.guard = 0;
    struct sb_kb_conf_model m;
    struct sb_kb_calib_report rep;
    assert_int_equal(sb_kb_calibrate(s, n, &o, &m, &rep, NULL), 0);
    assert_true(m.w[2] > 5.0);          /* cover: strongly positive */
    assert_true(fabs(m.w[0]) < m.w[2]); /* noise: smaller */
    assert_true(rep.met);
    assert_true(m.threshold > 0 && m.threshold < 1);
    /* the lowest threshold meeting the goals: almost every right question is answered */
    assert_true(rep.fit.precision >= 0.95);
    assert_true(rep.fit.abstained >= 0.9);
    assert_true(rep.fit.answered_right >= 200); /* of 213 right ones */
    /* the CV covered every question once */
    assert_int_equal(rep.cv.answerable + rep.cv.unanswerable, n);
    assert_true(rep.cv.precision >= 0.95);
    assert_true(rep.cv.abstained >= 0.9);
    assert_true(rep.brier < 0.05);
    /* the confidence of a clear case */
    double hi[SB_KB_CONF_NF] = {0.5, 0, 0.95, 0, 0, 1.0},
           lo[SB_KB_CONF_NF] = {0.5, 0, 0.05, 0, 0, 1.0};
    assert_true(sb__kb_conf_apply(&m, hi, 0) >= m.threshold);
    assert_true(sb__kb_conf_apply(&m, lo, 0) < m.threshold);
    /* the unknown-topic guard caps the confidence at 0.5 */
    double unk[SB_KB_CONF_NF] = {0.5, 0, 0.45, 0, 0, 1.0};
    unk[SB__KB_CF_UNK] = 1;
    assert_true(sb__kb_conf_apply(&m, unk, 1) <= 0.5);
    /* the threshold chosen on inner out-of-fold confidences still meets the goals here */
    o.oof_threshold = 1;
    struct sb_kb_conf_model m2;
    assert_int_equal(sb_kb_calibrate(s, n, &o, &m2, &rep, NULL), 0);
    assert_true(rep.met);
    assert_true(m2.threshold > 0 && m2.threshold < 1);
    assert_true(rep.cv.precision >= 0.95);
    /* a strong prior keeps the coefficients at the prior */
    struct sb_kb_conf_model prior;
    sb_kb_conf_model_default(&prior);
    o.oof_threshold = 0;
    o.prior = &prior;
    o.l2 = 1e4;
    assert_int_equal(sb_kb_calibrate(s, n, &o, &m2, &rep, NULL), 0);
    for (int j = 0; j < SB_KB_CONF_NF; j++)
        assert_true(fabs(m2.w[j] - prior.w[j]) < 0.01);
    free(s);
    free_ids(ids, n);
}

static void test_fit_errors_and_unmet_goals(void **state)
{
    (void)state;
    size_t n;
    char **ids;
    struct sb_kb_calib_sample *s = synthetic(&n, &ids);
    struct sb_kb_conf_model m;
    struct sb_error err = {0};
    assert_int_equal(sb_kb_calibrate(s, 0, NULL, &m, NULL, &err), SB_EINVAL);
    /* one label only */
    for (size_t i = 0; i < n; i++)
        s[i].right = 0;
    assert_int_equal(sb_kb_calibrate(s, n, NULL, &m, NULL, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "both"));
    /* not a number */
    s[0].right = 1;
    s[1].right = 1;
    s[1].answerable = 1;
    s[3].x[4] = NAN;
    assert_int_equal(sb_kb_calibrate(s, n, NULL, &m, NULL, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "known"));
    s[3].x[4] = 0;
    /* noise only: precision 0.95 is reached only by (almost) never answering */
    uint32_t r = 7;
    for (size_t i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        s[i].answerable = 1;
        s[i].right = (r >> 16) & 1;
        memset(s[i].x, 0, sizeof(s[i].x));
        s[i].x[0] = (double)((r >> 4) & 255) / 255.0;
    }
    struct sb_kb_calib_opts o;
    sb_kb_calib_opts_default(&o);
    o.folds = 0;
    struct sb_kb_calib_report rep;
    assert_int_equal(sb_kb_calibrate(s, n, &o, &m, &rep, NULL), 0);
    assert_true(rep.fit.answered < 0.05);
    /* goals outside 0..1 are refused */
    o.abstain = 1.01;
    assert_int_equal(sb_kb_calibrate(s, n, &o, &m, &rep, NULL), SB_EINVAL);
    o.abstain = 0.9;
    for (size_t i = 0; i < n; i++)
        s[i].answerable = 0; /* unanswerable; a "right" flag on them does not count */
    s[0].answerable = s[0].right = 1;
    s[1].right = 1;
    o.precision = 1.0;
    o.abstain = 1.0;
    assert_int_equal(sb_kb_calibrate(s, n, &o, &m, &rep, NULL), 0);
    assert_true(rep.met); /* never answering meets both */
    assert_int_equal(rep.fit.unanswerable, n - 1);
    assert_int_equal(rep.cv.answerable, 0); /* no CV asked */
    free(s);
    free_ids(ids, n);
}

static struct sb_kb_doc faq(const char *id, const char *q, const char *a)
{
    struct sb_kb_doc d = {0};
    d.id = (char *)id;
    d.kind = SB_KB_FAQ;
    d.title = (char *)q;
    d.body = (char *)a;
    return d;
}

static void put_fixture(struct sb_kb *kb, int64_t tenant)
{
    struct sb_kb_doc d[3] = {
        faq("ret", "How do I return an item?", "Send it back within 30 days for a refund."),
        faq("ship", "How much does shipping cost?", "Shipping is free above 50 euros."),
        faq("pay", "Which payment methods do you accept?", "Cards and bank transfer."),
    };
    assert_int_equal(sb_kb_put(kb, tenant, d, 3, NULL), 0);
}

static void test_tenant_model_persists(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/sb-kb-calib-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    put_fixture(kb, 1);
    put_fixture(kb, 2);
    const char *q = "how do I return an item";
    struct sb_kb_answer *a = NULL;
    assert_int_equal(sb_kb_answer(kb, 1, q, "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ANSWER);
    double shipped = a->confidence;
    sb_kb_answer_free(a);
    /* the features of the answer path, and the shipped model reproduces its confidence */
    double x[SB_KB_CONF_NF];
    assert_int_equal(sb_kb_conf_features(kb, 1, q, "en", x, &a, NULL), 0);
    assert_string_equal(a->citations[0].doc_id, "ret");
    sb_kb_answer_free(a);
    struct sb_kb_conf_model m;
    assert_int_equal(sb_kb_get_conf_model(kb, 1, &m), 0);
    assert_true(fabs(sb__kb_conf_apply(&m, x, 1) - shipped) < 1e-9);
    /* a model that never answers, for tenant 1 only */
    memset(&m, 0, sizeof(m));
    m.bias = -20;
    m.threshold = 0.5;
    struct sb_error err = {0};
    assert_int_equal(sb_kb_set_conf_model(kb, 1, &m, &err), 0);
    m.threshold = 2;
    assert_int_equal(sb_kb_set_conf_model(kb, 1, &m, &err), SB_EINVAL);
    assert_int_equal(sb_kb_answer(kb, 1, q, "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ABSTAIN);
    sb_kb_answer_free(a);
    assert_int_equal(sb_kb_answer(kb, 2, q, "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ANSWER);
    sb_kb_answer_free(a);
    sb_kb_close(kb);
    /* reopen: still there */
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    assert_int_equal(sb_kb_get_conf_model(kb, 1, &m), 1);
    assert_true(m.bias == -20 && m.threshold == 0.5);
    assert_int_equal(sb_kb_get_conf_model(kb, 2, &m), 0);
    assert_int_equal(sb_kb_answer(kb, 1, q, "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ABSTAIN);
    sb_kb_answer_free(a);
    /* reset */
    assert_int_equal(sb_kb_set_conf_model(kb, 1, NULL, NULL), 0);
    assert_int_equal(sb_kb_get_conf_model(kb, 1, &m), 0);
    assert_int_equal(sb_kb_answer(kb, 1, q, "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ANSWER);
    sb_kb_answer_free(a);
    sb_kb_close(kb);
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    assert_int_equal(sb_kb_get_conf_model(kb, 1, &m), 0);
    sb_kb_close(kb);
    char *cmd = sb_strdupf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* The translation model learns "remove" ~ "delete" from answers that use both, follows edits
 * at once, and ranks the paraphrased question above an unrelated one. */
static void test_translation_features(void **state)
{
    (void)state;
    struct sb__kb_index *ix = sb__kb_index_new();
    struct sb_kb_doc d[4] = {
        faq("del", "How do I delete my account?",
            "Open settings and remove the account; deleting it removes your data."),
        faq("pw", "How do I change my password?", "Open settings and choose a new password."),
        faq("del2", "Can I delete a message?", "Yes: remove it from the conversation menu."),
        faq("ship", "How much does shipping cost?", "Shipping is free above 50 euros."),
    };
    for (int i = 0; i < 4; i++) {
        d[i].lang = (char *)"en";
        sb__kb_index_put(ix, &d[i], NULL);
    }
    uint32_t slot[3];
    const char *ids[3] = {"del", "pw", "ship"};
    for (int i = 0; i < 3; i++) {
        const struct sb_kb_doc *doc = sb__kb_index_find(ix, ids[i]);
        assert_non_null(doc);
        slot[i] = 0;
        while (sb__kb_index_doc(ix, slot[i]) != doc)
            slot[i]++;
    }
    double tm[3];
    sb__kb_index_translation(ix, "remove my account", "en", slot, 3, tm);
    assert_true(tm[0] > tm[1]); /* delete-account beats password and shipping */
    assert_true(tm[0] > tm[2]);
    double before = tm[0];
    /* "remove" never in a question: only the association lifts "delete" */
    sb__kb_index_translation(ix, "remove", "en", slot, 3, tm);
    assert_true(tm[0] > 0);
    assert_true(tm[0] > tm[2]);
    /* an edit that drops the association is seen at once */
    struct sb_kb_doc e = faq("del2", "Can I delete a message?", "Yes, from the conversation menu.");
    e.lang = (char *)"en";
    sb__kb_index_put(ix, &e, NULL);
    double after[3];
    sb__kb_index_translation(ix, "remove my account", "en", slot, 3, after);
    assert_true(after[0] != before);
    /* an unknown word: only the KB-wide part, log(lambda p) - log(p) = log 0.2, for all */
    sb__kb_index_translation(ix, "zzzqx", "en", slot, 3, tm);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(tm[i] - log(0.2)) < 1e-9);
    /* nothing to score */
    sb__kb_index_translation(ix, "", "en", slot, 3, tm);
    assert_true(tm[0] == 0 && tm[1] == 0 && tm[2] == 0);
    sb__kb_index_free(ix);
}

static void test_feature_names(void **state)
{
    (void)state;
    assert_string_equal(sb_kb_conf_feature_name(0), "top");
    assert_string_equal(sb_kb_conf_feature_name(SB__KB_CF_COVER), "cover");
    assert_string_equal(sb_kb_conf_feature_name(SB__KB_CF_UNK), "unk");
    assert_string_equal(sb_kb_conf_feature_name(13), "lbg");
    assert_string_equal(sb_kb_conf_feature_name(16), "tm_top");
    assert_string_equal(sb_kb_conf_feature_name(SB_KB_CONF_NF - 1), "dgap");
    assert_null(sb_kb_conf_feature_name(SB_KB_CONF_NF));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_separable),
        cmocka_unit_test(test_fit_errors_and_unmet_goals),
        cmocka_unit_test(test_tenant_model_persists),
        cmocka_unit_test(test_translation_features),
        cmocka_unit_test(test_feature_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
