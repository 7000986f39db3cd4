/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the query expansions of session 5 (src/kb/wordnet.c, src/kb/index.c): WordNet
 * relations besides synonyms (derivations and attributes: far -> distance; similar-to /
 * also-see), words joined across a stop word ("back up" -> backup) and the analyser variant
 * that keeps stop words. Each ranking test checks the effect both ways: with the expansion's
 * weight at 0 the other entry wins, with the default weights the related entry does. The
 * WordNet tests skip when Debian's wordnet-base is not installed (scripts/deps.d/kb.list).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/kb/kb_internal.h"
#include "sb/kb.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

static int has(const char **list, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], want) == 0)
            return 1;
    }
    return 0;
}

static void put_faq(struct sb__kb_index *ix, const char *id, const char *question,
                    const char *answer)
{
    struct sb_kb_doc d = {0};
    d.id = (char *)id;
    d.kind = SB_KB_FAQ;
    d.parent = d.collection = d.lang = d.questions = d.heading = (char *)"";
    d.link = d.sku = d.price = d.attrs_json = (char *)"";
    d.title = (char *)question;
    d.body = (char *)answer;
    sb__kb_index_put(ix, &d, NULL);
}

/* Id of the best entry for `query` (borrowed from the index), NULL when nothing matches. */
static const char *top(const struct sb__kb_index *ix, const char *query,
                       const struct sb__kb_params *p)
{
    struct sb__kb_scored out[4];
    size_t n = sb__kb_index_search(ix, query, "en", p, 4, out, NULL);
    return n ? sb__kb_index_doc(ix, out[0].slot)->id : NULL;
}

static void test_analyze_all_keeps_stop_words(void **state)
{
    (void)state;
    struct sb__kb_tokens a = {0}, b = {0};
    const char *text = "How do I back up my photos?";
    sb__kb_analyze(text, strlen(text), "en", &a);
    sb__kb_analyze_all(text, strlen(text), "en", &b);
    assert_int_equal(a.n, 2); /* back, photo */
    assert_int_equal(b.n, 7);
    assert_string_equal(b.buf + b.off[3], "back");
    assert_string_equal(b.buf + b.off[4], "up");
    assert_string_equal(b.buf + b.off[6], "photo");
    sb__kb_tokens_cleanup(&a);
    sb__kb_tokens_cleanup(&b);
}

static void test_wordnet_relations(void **state)
{
    (void)state;
    if (!sb__kb_wordnet_load())
        skip();
    const char *r[32];
    size_t n = sb__kb_wordnet_related("far", SB__KB_WN_DERIV, r, 32);
    assert_true(has(r, n, "distanc")); /* attribute of the adjective */
    n = sb__kb_wordnet_related("far", SB__KB_WN_SIMILAR, r, 32);
    assert_true(has(r, n, "distant"));
    assert_false(has(r, n, "far")); /* never the word itself */
    /* and back: the noun's attribute values */
    n = sb__kb_wordnet_related("distanc", SB__KB_WN_DERIV, r, 32);
    assert_true(has(r, n, "far"));
    /* a lexical derivation pointer of another word of the synset is not taken: "remove" (verb)
     * shares a synset with "withdraw", whose derivation "withdrawal" is not the remover's;
     * its own (remotion) is */
    n = sb__kb_wordnet_related("remov", SB__KB_WN_DERIV, r, 32);
    assert_true(has(r, n, "remot"));
    assert_false(has(r, n, "withdraw"));
    assert_int_equal(sb__kb_wordnet_related("far", SB__KB_WN_NREL, r, 32), 0);
    assert_int_equal(sb__kb_wordnet_related("qzxv", SB__KB_WN_DERIV, r, 32), 0);
}

static void test_attribute_expansion_ranks(void **state)
{
    (void)state;
    if (!sb__kb_wordnet_load())
        skip();
    struct sb__kb_index *ix = sb__kb_index_new();
    put_faq(ix, "distance", "How do I measure the distance between two places?",
            "Right-click the map and choose Measure distance.");
    put_faq(ix, "password", "How do I change my password?", "Open Settings, then Security.");
    struct sb__kb_params p;
    sb__kb_params_default(&p);
    assert_true(p.wnd > 0);
    assert_string_equal(top(ix, "how far is it", &p), "distance");
    p.wnd = 0; /* "far" has no synonym in this KB: nothing matches */
    assert_null(top(ix, "how far is it", &p));
    /* a relative weighs less than a word of the question itself */
    sb__kb_params_default(&p);
    assert_string_equal(top(ix, "how far is my password", &p), "password");
    sb__kb_index_free(ix);
}

static void test_join_across_stop_word(void **state)
{
    (void)state;
    struct sb__kb_index *ix = sb__kb_index_new();
    put_faq(ix, "backup", "Backup of your photos", "Turn on automatic backup in Settings.");
    put_faq(ix, "back", "Go back to the previous page", "Press Back in the toolbar.");
    struct sb__kb_params p;
    sb__kb_params_default(&p);
    p.wn = p.wnd = p.wns = 0; /* the join alone, with or without WordNet */
    assert_true(p.sjoin > 0);
    assert_string_equal(top(ix, "how can I back up", &p), "backup");
    p.sjoin = 0;
    assert_string_equal(top(ix, "how can I back up", &p), "back");
    /* two content words are not joined by this rule (p->join does that) */
    p.join = 0;
    p.sjoin = 1.5;
    assert_string_equal(top(ix, "go back", &p), "back");
    sb__kb_index_free(ix);
}

static void test_params_parse_new_keys(void **state)
{
    (void)state;
    struct sb__kb_params p;
    sb__kb_params_default(&p);
    assert_int_equal(sb__kb_params_parse(&p, "wnd=0.25,wns=0,sjoin=2", NULL), 0);
    assert_true(p.wnd == 0.25 && p.wns == 0 && p.sjoin == 2);
    struct sb_error err = {0};
    assert_int_equal(sb__kb_params_parse(&p, "wng=1", &err), SB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analyze_all_keeps_stop_words),
        cmocka_unit_test(test_wordnet_relations),
        cmocka_unit_test(test_attribute_expansion_ranks),
        cmocka_unit_test(test_join_across_stop_word),
        cmocka_unit_test(test_params_parse_new_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
