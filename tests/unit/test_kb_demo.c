/* SPDX-License-Identifier: MIT */
/*
 * The demo shop's knowledge base (demo/kb) answers its own obvious questions with the right
 * citation and abstains on what it does not say: the confidence model was fitted on StackFAQ
 * only, so these check that it carries over to short shop questions, catalogue entries,
 * articles and Chinese FAQ entries. Needs the WordNet database for "Germany" (skipped without).
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

#include <stdlib.h>
#include <string.h>

static void expect(struct sb_kb *kb, const char *q, const char *cite)
{
    struct sb_kb_answer *a = NULL;
    assert_int_equal(sb_kb_answer(kb, 1, q, NULL, &a, NULL), 0);
    if (cite) {
        if (a->decision != SB_KB_ANSWER)
            fail_msg("'%s': abstained (confidence %.3f)", q, a->confidence);
        assert_true(a->n_citations > 0);
        if (strcmp(a->citations[0].doc_id, cite) != 0)
            fail_msg("'%s': cites %s, want %s", q, a->citations[0].doc_id, cite);
        assert_non_null(a->text);
    } else if (a->decision != SB_KB_ABSTAIN) {
        fail_msg("'%s': answered from %s (confidence %.3f), want abstain", q,
                 a->citations[0].doc_id, a->confidence);
    }
    sb_kb_answer_free(a);
}

static void test_demo_answers(void **state)
{
    (void)state;
    struct sb_kb *kb = kb_fixture_demo(NULL);
    expect(kb, "how long do I have to return something", "faq-return-period");
    expect(kb, "how much is the Oslo sofa", "SOFA-OSLO-BLU");
    expect(kb, "what are the dimensions of the Oslo sofa", "SOFA-OSLO-BLU");
    expect(kb, "what colour is the Fjord bed", "BED-FJORD-160");
    expect(kb, "where is my order", "faq-order-status");
    expect(kb, "how much does shipping cost", "shipping#2");
    expect(kb, "怎么退货", "faq-zh-return");
    expect(kb, "可以开发票吗", "faq-zh-invoice");
    expect(kb, "我的订单到哪里了", "faq-zh-order-status");
    if (sb__kb_wordnet_load())
        expect(kb, "do you ship to Germany", "shipping#3");
    sb_kb_close(kb);
}

static void test_demo_abstains(void **state)
{
    (void)state;
    struct sb_kb *kb = kb_fixture_demo(NULL);
    expect(kb, "can I pay with bitcoin", NULL);
    expect(kb, "do you sell garden furniture", NULL);
    expect(kb, "how do I reset my password", NULL);
    expect(kb, "what is the meaning of life", NULL);
    sb_kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_answers),
        cmocka_unit_test(test_demo_abstains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
