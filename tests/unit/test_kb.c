/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/kb: the analysers (English stemming and stop words, Chinese bigrams, mixed
 * and broken text), the importers (sections with heading paths, catalogue rows, errors that name
 * the file and line, all-or-nothing imports), ranking on a small fixture, edits visible to the
 * next search without a rebuild, persistence across reopen, grounded answers and abstention,
 * and searches running while another thread edits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/kb/kb_internal.h"
#include "sb/cli.h"
#include "sb/kb.h"
#include "sb/mem.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

static char *terms_of(const char *text, const char *lang)
{
    struct sb__kb_tokens t = {0};
    sb__kb_analyze(text, strlen(text), lang, &t);
    struct sb_buf b;
    sb_buf_init(&b, 0);
    sb_buf_appends(&b, "");
    for (size_t i = 0; i < t.n; i++) {
        if (i)
            sb_buf_appends(&b, " ");
        sb_buf_appends(&b, t.buf + t.off[i]);
    }
    sb__kb_tokens_cleanup(&t);
    return sb_buf_steal(&b, NULL);
}

#define ASSERT_TERMS(text, lang, want)              \
    do {                                            \
        char *got_ = terms_of((text), (lang));      \
        assert_string_equal(got_, (want));          \
        free(got_);                                 \
    } while (0)

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/sb-kb-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return sb_strdup(d);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void rm_rf(const char *dir)
{
    char *cmd = sb_strdupf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static struct sb_kb_doc faq(const char *id, const char *q, const char *a)
{
    struct sb_kb_doc d = {0};
    d.id = (char *)id;
    d.kind = SB_KB_FAQ;
    d.title = (char *)q;
    d.body = (char *)a;
    d.link = (char *)"https://shop.example/help";
    return d;
}

static char *top_id(struct sb_kb *kb, const char *q)
{
    struct sb_kb_hit *h = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_search(kb, 1, q, "en", 5, &h, &n, NULL), 0);
    char *id = n ? sb_strdup(h[0].id) : NULL;
    sb_kb_hits_free(h, n);
    return id;
}

/* ---- analysers ---- */

static void test_analyze_english(void **state)
{
    (void)state;
    ASSERT_TERMS("How do I return the running shoes?", "en", "return run shoe");
    ASSERT_TERMS("Deleting my Facebook account", NULL, "delet facebook account");
    /* NFKC: full-width letters and ligatures; case folding; accents stripped */
    ASSERT_TERMS("ＯＳＬＯ café ﬁle", "en", "oslo cafe file");
    ASSERT_TERMS("order #12345 it's", "en", "order 12345");
    /* stop words only: nothing left; question words stay (they tell FAQ entries apart) */
    ASSERT_TERMS("is it that you do", "en", "");
    ASSERT_TERMS("where is my order", "en", "where order");
}

static void test_analyze_chinese_and_mixed(void **state)
{
    (void)state;
    ASSERT_TERMS("退货政策", "zh", "退货 货政 政策");
    ASSERT_TERMS("沙", "zh", "沙");
    /* mixed script: the Latin word is stemmed, the Han run becomes bigrams */
    ASSERT_TERMS("Oslo沙发 prices", "zh", "oslo 沙发 price");
    /* question words are not topic bigrams */
    ASSERT_TERMS("怎么退货", "zh", "么退 退货");
    /* invalid UTF-8 is tolerated (replaced by a separator) */
    ASSERT_TERMS("sofa\xff\xfe" "beds", "en", "sofa bed");
}

/* ---- importers ---- */

static void test_parse_markdown_sections(void **state)
{
    (void)state;
    const char *md = "---\nlink: https://x.example/returns\n---\n# Returns\n\nIntro text.\n\n"
                     "## Refunds\nMoney back in 5 days.\n```\n# not a heading\n```\n"
                     "### Cards\nCard refunds.\n## Exchanges\nSwap sizes.\n";
    struct sb_kb_doc *d = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    assert_int_equal(sb_kb_parse("help/returns.md", md, strlen(md), &d, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(d[0].id, "returns#1");
    assert_string_equal(d[0].title, "Returns");
    assert_string_equal(d[0].heading, "");
    assert_string_equal(d[0].body, "Intro text.");
    assert_string_equal(d[1].heading, "Refunds");
    assert_non_null(strstr(d[1].body, "# not a heading"));
    assert_string_equal(d[2].heading, "Refunds > Cards");
    assert_string_equal(d[3].heading, "Exchanges");
    assert_string_equal(d[3].parent, "returns");
    assert_string_equal(d[3].link, "https://x.example/returns");
    sb_kb_doc_list_free(d, n);
}

static void test_parse_html_and_text(void **state)
{
    (void)state;
    const char *html = "<html><head><title>Pay</title><style>h1{}</style></head><body>"
                       "<h2>Methods</h2><p>Visa &amp; PayPal &euro;5</p><!-- c -->"
                       "<script>var a='<h1>x</h1>';</script><h2>Invoice</h2><p>14 days</p>";
    struct sb_kb_doc *d = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_parse("pay.html", html, strlen(html), &d, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(d[0].title, "Pay");
    assert_string_equal(d[0].heading, "Methods");
    assert_string_equal(d[0].body, "Visa & PayPal \xE2\x82\xAC" "5");
    assert_string_equal(d[1].heading, "Invoice");
    sb_kb_doc_list_free(d, n);

    d = NULL;
    n = 0;
    const char *txt = "Opening hours\n\nWe are open 10-18.\nClosed on Sundays.\n";
    assert_int_equal(sb_kb_parse("hours.txt", txt, strlen(txt), &d, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].title, "Opening hours");
    assert_string_equal(d[0].body, "We are open 10-18. Closed on Sundays.");
    sb_kb_doc_list_free(d, n);
}

static void test_parse_csv_catalogue(void **state)
{
    (void)state;
    const char *csv = "sku,name,price,currency,dimensions,colour,description\n"
                      "SOFA-1,Oslo sofa,899,€,210 × 90 cm,blue,\"Three seats, oak frame\"\n"
                      "\n"
                      "LAMP-1,\"Nord \"\"floor\"\" lamp\",129,€,,black,\"two\nlines\"\n";
    struct sb_kb_doc *d = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_parse("cat.csv", csv, strlen(csv), &d, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].kind, SB_KB_PRODUCT);
    assert_string_equal(d[0].id, "SOFA-1");
    assert_string_equal(d[0].price, "899 €");
    assert_string_equal(d[0].attrs_json, "{\"dimensions\":\"210 × 90 cm\",\"colour\":\"blue\"}");
    assert_string_equal(d[1].title, "Nord \"floor\" lamp");
    assert_string_equal(d[1].body, "two\nlines");
    sb_kb_doc_list_free(d, n);
}

static void expect_parse_error(const char *name, const char *text, const char *where)
{
    struct sb_kb_doc *d = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_kb_parse(name, text, strlen(text), &d, &n, &err);
    sb_kb_doc_list_free(d, n);
    assert_true(rc < 0);
    if (!strstr(err.msg, where))
        fail_msg("error '%s' does not name '%s'", err.msg, where);
}

static void test_parse_errors_name_line(void **state)
{
    (void)state;
    expect_parse_error("faq.jsonl",
                       "{\"id\":\"a\",\"question\":\"q\",\"answer\":\"a\"}\n\n{\"id\":\"b\",", 
                       "faq.jsonl:3: invalid JSON");
    expect_parse_error("faq.jsonl", "{\"id\":\"a\",\"question\":\"q\"}\n",
                       "faq.jsonl:1: FAQ line needs");
    expect_parse_error("faq.jsonl", "{\"id\":\"a\",\"text\":\"t\"}\n[1]\n", "faq.jsonl:2: not");
    expect_parse_error("c.jsonl", "{\"text\":\"t\"}\n", "c.jsonl:1: missing \"id\"");
    expect_parse_error("cat.csv", "sku,name,price\nA,Sofa,1\nB,Bed\n", "cat.csv:3: 2 fields");
    expect_parse_error("cat.csv", "sku,name\nA,\"Sofa\n", "cat.csv:2: unterminated");
    expect_parse_error("cat.csv", "colour,price\nred,1\n", "cat.csv:1: header needs");
    expect_parse_error("a.md", "# T\nok\nbad \xC3\x28 byte\n", "a.md:3: invalid UTF-8");
    expect_parse_error("p.html", "<p>ok</p>\n<p>open <b", "p.html:2: unterminated tag");
    expect_parse_error("x.pdf", "%PDF", "unknown file type");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The evaluation readers count blank lines too (an error names the line an editor shows)
 * and read CRLF files. */
static void test_eval_files_name_line(void **state)
{
    (void)state;
    char dir[] = "/tmp/sb-test-kbeval-XXXXXX", q[64], r[64];
    assert_non_null(mkdtemp(dir));
    snprintf(q, sizeof(q), "%s/q.jsonl", dir);
    snprintf(r, sizeof(r), "%s/r.tsv", dir);
    struct sb__kb_qset set = {0};
    struct sb_error err = {0};
    write_text(q, "{\"id\":\"1\",\"text\":\"a\"}\r\n\r\n\nnot json\n");
    assert_int_equal(sb__kb_load_queries(q, &set, &err), SB_EPARSE);
    if (!strstr(err.msg, "q.jsonl:4:"))
        fail_msg("error '%s' does not name line 4", err.msg);
    sb__kb_qset_cleanup(&set);
    memset(&set, 0, sizeof(set));
    write_text(q, "{\"id\":\"1\",\"text\":\"a\"}\r\n\n{\"id\":\"2\",\"text\":\"b\"}\r\n");
    assert_int_equal(sb__kb_load_queries(q, &set, &err), 0);
    assert_int_equal(set.n, 2);
    write_text(r, "query_id\tdoc_id\trelevance\r\n2\td7\t1\r\n\n2 d8 1\n");
    assert_int_equal(sb__kb_load_qrels(r, &set, &err), SB_EPARSE);
    if (!strstr(err.msg, "r.tsv:4:"))
        fail_msg("error '%s' does not name line 4", err.msg);
    assert_int_equal(set.q[1].nrel, 1);
    assert_string_equal(set.q[1].rel[0], "d7");
    sb__kb_qset_cleanup(&set);
    unlink(q);
    unlink(r);
    rmdir(dir);
}

/* `eval retrieval --predictions --depth N`: N entries per query, best first, with scores. */
static void test_eval_predictions_depth(void **state)
{
    (void)state;
    char dir[] = "/tmp/sb-test-kbpred-XXXXXX", c[64], q[64], r[64], o[64];
    assert_non_null(mkdtemp(dir));
    snprintf(c, sizeof(c), "%s/c.jsonl", dir);
    snprintf(q, sizeof(q), "%s/q.jsonl", dir);
    snprintf(r, sizeof(r), "%s/r.tsv", dir);
    snprintf(o, sizeof(o), "%s/o.jsonl", dir);
    write_text(c, "{\"id\":\"a\",\"question\":\"reset my password\",\"answer\":\"Use the link.\"}\n"
                  "{\"id\":\"b\",\"question\":\"change my password\",\"answer\":\"Settings.\"}\n"
                  "{\"id\":\"c\",\"question\":\"delete my account\",\"answer\":\"Write to us.\"}\n");
    write_text(q, "{\"id\":\"1\",\"text\":\"how do I reset the password\"}\n");
    write_text(r, "query_id\tdoc_id\trelevance\n1\ta\t1\n");
    char *argv[] = {"retrieval", "--corpus", c, "--queries", q, "--qrels", r,
                    "--predictions", o, "--depth", "2", "--json"};
    assert_int_equal(sb_kb_cmd_eval((int)(sizeof(argv) / sizeof(argv[0])), argv), 0);
    json_error_t je;
    json_t *p = json_load_file(o, JSON_DECODE_ANY, &je);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "query_id")), "1");
    json_t *rk = json_object_get(p, "ranking"), *sc = json_object_get(p, "scores");
    assert_int_equal(json_array_size(rk), 2);
    assert_int_equal(json_array_size(sc), 2);
    assert_string_equal(json_string_value(json_array_get(rk, 0)), "a");
    assert_true(json_real_value(json_array_get(sc, 0)) >= json_real_value(json_array_get(sc, 1)));
    json_decref(p);
    /* a depth out of range is a usage error */
    argv[10] = "0";
    assert_int_equal(sb_kb_cmd_eval((int)(sizeof(argv) / sizeof(argv[0])), argv), 2);
    unlink(c);
    unlink(q);
    unlink(r);
    unlink(o);
    rmdir(dir);
}

static void test_import_all_or_nothing(void **state)
{
    (void)state;
    char *dir = tmpdir();
    char *good = sb_strdupf("%s/good.jsonl", dir);
    char *bad = sb_strdupf("%s/bad.csv", dir);
    write_file(good, "{\"id\":\"f1\",\"question\":\"Do you ship abroad?\",\"answer\":\"Yes.\"}\n");
    write_file(bad, "sku,name\nA,Sofa\nB\n");
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    const char *both[] = {good, bad};
    struct sb_error err = {0};
    assert_int_equal(sb_kb_import_files(kb, 1, both, 2, NULL, &err), SB_EPARSE);
    assert_non_null(strstr(err.msg, "bad.csv:3"));
    assert_int_equal(sb_kb_count(kb, 1), 0);
    sb_kb_close(kb);
    /* nothing was persisted either */
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    assert_int_equal(sb_kb_count(kb, 1), 0);
    size_t n = 0;
    assert_int_equal(sb_kb_import_files(kb, 1, both, 1, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sb_kb_count(kb, 1), 1);
    assert_int_equal(sb_kb_count(kb, 2), 0); /* tenants are separate */
    sb_kb_close(kb);
    rm_rf(dir);
    free(good);
    free(bad);
    free(dir);
}

/* ---- ranking, edits, persistence ---- */

static void put_fixture(struct sb_kb *kb)
{
    struct sb_kb_doc docs[] = {
        faq("ship", "How long does delivery take?", "Parcels arrive in 2-4 working days."),
        faq("return", "How do I return an item?", "Print a return label in your account."),
        faq("pay", "Which payment methods do you accept?", "Visa, Mastercard and PayPal."),
        faq("pay2", "Which payment methods do you accept?", "Invoice for companies."),
        faq("zh-return", "如何退货？", "收货后30天内可以退货。"),
    };
    assert_int_equal(sb_kb_put(kb, 1, docs, 5, NULL), 0);
}

static void test_ranking_fixture(void **state)
{
    (void)state;
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(NULL, &kb, NULL), 0);
    put_fixture(kb);
    char *id;
    id = top_id(kb, "when will my delivery arrive");
    assert_string_equal(id, "ship");
    free(id);
    id = top_id(kb, "returning items");
    assert_string_equal(id, "return");
    free(id);
    id = top_id(kb, "我想退货");
    assert_string_equal(id, "zh-return");
    free(id);
    id = top_id(kb, "can I pay by paypal");
    assert_string_equal(id, "pay");
    free(id);
    /* a misspelt word still finds its entry */
    id = top_id(kb, "delievery time");
    assert_string_equal(id, "ship");
    free(id);
    /* both answers of one question come together */
    struct sb_kb_hit *h = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_search(kb, 1, "payment methods", "en", 5, &h, &n, NULL), 0);
    assert_true(n >= 2);
    assert_true(strncmp(h[0].id, "pay", 3) == 0 && strncmp(h[1].id, "pay", 3) == 0);
    sb_kb_hits_free(h, n);
    /* no match, other tenant */
    assert_null(top_id(kb, "zebra"));
    assert_int_equal(sb_kb_search(kb, 7, "delivery", "en", 5, &h, &n, NULL), 0);
    assert_int_equal(n, 0);
    sb_kb_close(kb);
}

static void test_edit_visible_at_once(void **state)
{
    (void)state;
    char *dir = tmpdir();
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    put_fixture(kb);
    char *id = top_id(kb, "warranty on sofas");
    assert_null(id);
    struct sb_kb_doc w = faq("warranty", "What warranty do sofas have?", "Five years.");
    assert_int_equal(sb_kb_put(kb, 1, &w, 1, NULL), 0);
    id = top_id(kb, "warranty on sofas");
    assert_string_equal(id, "warranty");
    free(id);
    /* an update replaces the old text in the index */
    w.title = (char *)"Can I assemble beds myself?";
    assert_int_equal(sb_kb_put(kb, 1, &w, 1, NULL), 0);
    assert_null(top_id(kb, "warranty on sofas"));
    id = top_id(kb, "assembling my bed");
    assert_string_equal(id, "warranty");
    free(id);
    struct sb_kb_doc got = {0};
    assert_int_equal(sb_kb_get(kb, 1, "warranty", &got, NULL), 0);
    assert_string_equal(got.title, "Can I assemble beds myself?");
    sb_kb_doc_cleanup(&got);
    /* persisted: a new process sees it */
    sb_kb_close(kb);
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    assert_int_equal(sb_kb_count(kb, 1), 6);
    id = top_id(kb, "assembling my bed");
    assert_string_equal(id, "warranty");
    free(id);
    /* delete */
    assert_int_equal(sb_kb_delete(kb, 1, "warranty", NULL), 0);
    assert_null(top_id(kb, "assembling my bed"));
    assert_int_equal(sb_kb_delete(kb, 1, "warranty", NULL), SB_ENOTFOUND);
    struct sb_kb_doc *list = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_list(kb, 1, "", 2, &list, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, "pay");
    assert_string_equal(list[1].id, "pay2");
    sb_kb_doc_list_free(list, n);
    assert_int_equal(sb_kb_list(kb, 1, "return", 10, &list, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, "ship");
    sb_kb_doc_list_free(list, n);
    /* bad entries are refused whole */
    struct sb_kb_doc bad[2] = {faq("ok", "q", "a"), faq("", "q", "a")};
    assert_int_equal(sb_kb_put(kb, 1, bad, 2, NULL), SB_EINVAL);
    assert_int_equal(sb_kb_count(kb, 1), 5);
    sb_kb_close(kb);
    rm_rf(dir);
    free(dir);
}

static void test_article_reimport_replaces_sections(void **state)
{
    (void)state;
    char *dir = tmpdir();
    char *md = sb_strdupf("%s/returns.md", dir);
    write_file(md, "# Returns\n## Period\n30 days.\n## Refunds\n5 days.\n## Pickup\nAt door.\n");
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    const char *p[] = {md};
    assert_int_equal(sb_kb_import_files(kb, 1, p, 1, NULL, NULL), 0);
    assert_int_equal(sb_kb_count(kb, 1), 3);
    write_file(md, "# Returns\n## Period\n60 days now.\n");
    assert_int_equal(sb_kb_import_files(kb, 1, p, 1, NULL, NULL), 0);
    assert_int_equal(sb_kb_count(kb, 1), 1);
    sb_kb_close(kb);
    assert_int_equal(sb_kb_open(dir, &kb, NULL), 0);
    assert_int_equal(sb_kb_count(kb, 1), 1);
    assert_int_equal(sb_kb_delete(kb, 1, "returns", NULL), 0); /* the article: all sections */
    assert_int_equal(sb_kb_count(kb, 1), 0);
    sb_kb_close(kb);
    rm_rf(dir);
    free(md);
    free(dir);
}

/* ---- answers ---- */

static void test_answer_and_abstain(void **state)
{
    (void)state;
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(NULL, &kb, NULL), 0);
    put_fixture(kb);
    struct sb_kb_doc sofa = {0};
    sofa.id = (char *)"SOFA-OSLO";
    sofa.kind = SB_KB_PRODUCT;
    sofa.title = (char *)"Oslo sofa";
    sofa.sku = (char *)"SOFA-OSLO";
    sofa.price = (char *)"899 €";
    sofa.attrs_json = (char *)"{\"dimensions\":\"210 × 90 cm\",\"colour\":\"blue\"}";
    sofa.link = (char *)"https://shop.example/p/oslo";
    assert_int_equal(sb_kb_put(kb, 1, &sofa, 1, NULL), 0);

    struct sb_kb_answer *a = NULL;
    assert_int_equal(sb_kb_answer(kb, 1, "How long does delivery take?", "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ANSWER);
    assert_string_equal(a->text, "Parcels arrive in 2-4 working days.");
    assert_true(a->n_citations >= 1);
    assert_string_equal(a->citations[0].doc_id, "ship");
    assert_string_equal(a->citations[0].link, "https://shop.example/help");
    assert_true(a->confidence >= sb_kb_threshold(kb) && a->confidence <= 1.0);
    sb_kb_answer_free(a);

    assert_int_equal(sb_kb_answer(kb, 1, "size and price of the Oslo sofa", "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ANSWER);
    assert_non_null(strstr(a->text, "Oslo sofa"));
    assert_non_null(strstr(a->text, "210 × 90 cm"));
    assert_non_null(strstr(a->text, "899 €"));
    assert_string_equal(a->citations[0].doc_id, "SOFA-OSLO");
    sb_kb_answer_free(a);

    /* the KB knows nothing about this: abstain, with no text */
    assert_int_equal(sb_kb_answer(kb, 1, "Can I bring my dog to the concert?", "en", &a, NULL),
                     0);
    assert_int_equal(a->decision, SB_KB_ABSTAIN);
    assert_null(a->text);
    assert_true(a->confidence < sb_kb_threshold(kb));
    sb_kb_answer_free(a);
    /* an empty KB abstains too */
    assert_int_equal(sb_kb_answer(kb, 99, "How long does delivery take?", "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ABSTAIN);
    assert_int_equal(a->n_citations, 0);
    sb_kb_answer_free(a);
    /* the threshold decides */
    sb_kb_set_threshold(kb, 1.0);
    assert_int_equal(sb_kb_answer(kb, 1, "How long does delivery take?", "en", &a, NULL), 0);
    assert_int_equal(a->decision, SB_KB_ABSTAIN);
    sb_kb_answer_free(a);
    sb_kb_close(kb);
}

/* ---- threads ---- */

struct reader_arg {
    struct sb_kb *kb;
    int found;
};

static void *reader(void *p)
{
    struct reader_arg *r = p;
    for (int i = 0; i < 300; i++) {
        struct sb_kb_answer *a = NULL;
        if (sb_kb_answer(r->kb, 1, "which payment methods", "en", &a, NULL) == 0 &&
            a->decision == SB_KB_ANSWER)
            r->found++;
        sb_kb_answer_free(a);
    }
    return NULL;
}

static void test_concurrent_reads_and_edits(void **state)
{
    (void)state;
    struct sb_kb *kb = NULL;
    assert_int_equal(sb_kb_open(NULL, &kb, NULL), 0);
    put_fixture(kb);
    pthread_t th[3];
    struct reader_arg ra[3];
    for (int i = 0; i < 3; i++) {
        ra[i].kb = kb;
        ra[i].found = 0;
        pthread_create(&th[i], NULL, reader, &ra[i]);
    }
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof(id), "extra-%d", i % 20);
        struct sb_kb_doc d = faq(id, "Do you sell gift cards?", "Yes, from 25 euros.");
        assert_int_equal(sb_kb_put(kb, 1, &d, 1, NULL), 0);
        if (i % 3 == 0)
            assert_int_equal(sb_kb_delete(kb, 1, id, NULL), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ra[i].found, 300);
    }
    sb_kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analyze_english),
        cmocka_unit_test(test_analyze_chinese_and_mixed),
        cmocka_unit_test(test_parse_markdown_sections),
        cmocka_unit_test(test_parse_html_and_text),
        cmocka_unit_test(test_parse_csv_catalogue),
        cmocka_unit_test(test_parse_errors_name_line),
        cmocka_unit_test(test_import_all_or_nothing),
        cmocka_unit_test(test_ranking_fixture),
        cmocka_unit_test(test_eval_predictions_depth),
        cmocka_unit_test(test_edit_visible_at_once),
        cmocka_unit_test(test_article_reimport_replaces_sections),
        cmocka_unit_test(test_answer_and_abstain),
        cmocka_unit_test(test_concurrent_reads_and_edits),
        cmocka_unit_test(test_eval_files_name_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
