/* SPDX-License-Identifier: MIT */
/*
 * The gap report: abstained questions are recorded per tenant, persisted in kb.db, grouped by
 * word overlap with counts and the closest entries, flagged once the KB can answer them, and
 * pruned by age.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/kb.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void record(struct sb_kb *kb, int64_t tenant, const char *q, int64_t at)
{
    struct sb_kb_answer *a = NULL;
    assert_int_equal(sb_kb_answer(kb, tenant, q, NULL, &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ABSTAIN);
    assert_int_equal(sb_kb_gap_record(kb, tenant, q, "en", a, at, NULL), 0);
    sb_kb_answer_free(a);
}

static void put_faq(struct sb_kb *kb, const char *id, const char *q, const char *ans)
{
    struct sb_kb_doc d = {0};
    d.id = (char *)id;
    d.kind = SB_KB_FAQ;
    d.title = (char *)q;
    d.body = (char *)ans;
    assert_int_equal(sb_kb_put(kb, 1, &d, 1, NULL), 0);
}

static void test_gaps_grouped_and_persisted(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/sb-kb-gaps-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    put_faq(kb, "ship", "How long does delivery take?", "Parcels arrive in 2-4 working days.");
    put_faq(kb, "pay", "How can I pay for my order?", "Visa, Mastercard and PayPal.");
    record(kb, 1, "Can I pay with bitcoin?", 1000);
    record(kb, 1, "do you sell garden furniture", 1500);
    record(kb, 1, "paying in bitcoin?", 2000);
    record(kb, 1, "can i pay with bitcoin", 3000);
    record(kb, 2, "can i pay with bitcoin", 3000); /* another tenant */
    sb_kb_close(kb);

    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0); /* persisted */
    struct sb_kb_gap *g = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_gaps(kb, 1, 0, 10, &g, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(g[0].count, 3);
    assert_non_null(strstr(g[0].question, "bitcoin"));
    assert_int_equal(g[0].first_ms, 1000);
    assert_int_equal(g[0].last_ms, 3000);
    assert_int_equal(g[0].n_examples, 3);
    assert_string_equal(g[0].examples[0], "can i pay with bitcoin"); /* most recent first */
    assert_int_equal(g[0].answered_now, 0);
    assert_true(g[0].n_closest >= 1);
    assert_string_equal(g[0].closest[0].doc_id, "pay");
    assert_int_equal(g[1].count, 1);
    assert_string_equal(g[1].question, "do you sell garden furniture");
    sb_kb_gaps_free(g, n);

    /* since: only the later questions */
    assert_int_equal(sb_kb_gaps(kb, 1, 1800, 10, &g, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].count, 2);
    sb_kb_gaps_free(g, n);

    /* the owner writes the missing entry: the group shows it is answered now */
    put_faq(kb, "bitcoin", "Can I pay with bitcoin?", "No, we do not accept cryptocurrencies.");
    assert_int_equal(sb_kb_gaps(kb, 1, 0, 1, &g, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].answered_now, 1);
    assert_string_equal(g[0].closest[0].doc_id, "bitcoin");
    sb_kb_gaps_free(g, n);

    /* retention */
    assert_int_equal(sb_kb_gaps_prune(kb, 1, 2500, NULL), 3);
    assert_int_equal(sb_kb_gaps(kb, 1, 0, 10, &g, &n, NULL), 0);
    assert_int_equal(n, 1);
    sb_kb_gaps_free(g, n);
    assert_int_equal(sb_kb_gaps(kb, 2, 0, 10, &g, &n, NULL), 0);
    assert_int_equal(n, 1);
    sb_kb_gaps_free(g, n);
    assert_int_equal(sb_kb_gaps(kb, 1, 0, 0, &g, &n, NULL), SB_EINVAL);
    sb_kb_close(kb);
    char *cmd = sb_strdupf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_gaps_memory_kb_and_limits(void **state)
{
    (void)state;
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(NULL, &kb, NULL), 0);
    struct sb_kb_gap *g = NULL;
    size_t n = 7;
    assert_int_equal(sb_kb_gaps(kb, 1, 0, 10, &g, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(g);
    /* a long question is cut, not refused; an empty one is refused */
    char *big = sb_malloc(5000);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    assert_int_equal(sb_kb_gap_record(kb, 1, big, NULL, NULL, 0, NULL), 0);
    assert_int_equal(sb_kb_gap_record(kb, 1, "", NULL, NULL, 0, NULL), SB_EINVAL);
    assert_int_equal(sb_kb_gaps(kb, 1, 0, 10, &g, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(strlen(g[0].question), SB_KB_GAP_QUESTION_MAX);
    sb_kb_gaps_free(g, n);
    free(big);
    sb_kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gaps_grouped_and_persisted),
        cmocka_unit_test(test_gaps_memory_kb_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
