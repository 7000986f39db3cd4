/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the dense scores in KB ranking (src/kb/dense.c and their use in kb.c): which
 * texts the English-only encoder embeds, the text an entry is embedded as, the fusion of lexical
 * scores with cosines (on hand-made vectors, so the arithmetic is checked without the model),
 * and, with the real encoder (installed by scripts/deps.sh; these tests say so and skip without
 * it), a paraphrase the fusion ranks right where lexical ranking does not, embeddings stored in
 * kb.db, backfilled for entries stored without one, and a kb.db from before the column.
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

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_applies(void **state)
{
    (void)state;
    assert_true(sb__kb_dense_applies("where is my order", NULL));
    assert_true(sb__kb_dense_applies("where is my order", "en-GB"));
    assert_false(sb__kb_dense_applies("where is my order", "zh"));
    assert_false(sb__kb_dense_applies("我的订单到哪里了", NULL));
    assert_true(sb__kb_dense_applies("order status for 订单 A-1234, please", NULL));
    assert_false(sb__kb_dense_applies("12345 !!", NULL)); /* no letters: nothing to embed */
}

static void test_entry_text(void **state)
{
    (void)state;
    /* NULL fields are "" (as sb_kb_put accepts them) */
    struct sb_kb_doc faq = {.id = "f", .kind = SB_KB_FAQ, .title = "Can I return it?",
                            .body = "Yes, within 30 days."};
    char *t = sb__kb_dense_entry_text(&faq);
    assert_string_equal(t, "Can I return it? Yes, within 30 days.");
    free(t);
    struct sb_kb_doc sec = {.id = "s", .kind = SB_KB_SECTION, .title = "Shipping",
                            .heading = "Shipping > Abroad", .body = "We ship to the EU."};
    t = sb__kb_dense_entry_text(&sec);
    assert_string_equal(t, "Shipping Shipping > Abroad We ship to the EU.");
    free(t);
    struct sb_kb_doc prod = {.id = "p", .kind = SB_KB_PRODUCT, .title = "Oslo sofa",
                             .sku = "SOFA-OSLO", .price = "899 €",
                             .attrs_json = "{\"Width\":\"210 cm\"}", .body = "Three seats."};
    t = sb__kb_dense_entry_text(&prod);
    assert_non_null(strstr(t, "Oslo sofa"));
    assert_non_null(strstr(t, "width 210 cm"));
    assert_non_null(strstr(t, "899 €"));
    free(t);
    struct sb_kb_doc zh = {.id = "z", .kind = SB_KB_FAQ, .title = "怎么退货", .body = "30天内可以退货。"};
    assert_null(sb__kb_dense_entry_text(&zh));
    struct sb_kb_doc en_zh = {.id = "e", .kind = SB_KB_FAQ, .lang = "zh", .title = "Returns",
                              .body = "Within 30 days."};
    assert_null(sb__kb_dense_entry_text(&en_zh)); /* the entry's language decides */
}

/* Unit vector along axis i. */
static void axis(float v[SB_EMBED_DIM], int i)
{
    memset(v, 0, SB_EMBED_DIM * sizeof(float));
    v[i] = 1.0f;
}

static void put(struct sb__kb_index *ix, const char *id, const char *q, const char *a,
                const float *vec)
{
    struct sb_kb_doc d = {0};
    d.id = (char *)id;
    d.kind = SB_KB_FAQ;
    d.parent = d.collection = d.lang = d.questions = d.heading = (char *)"";
    d.link = d.sku = d.price = d.attrs_json = (char *)"";
    d.title = (char *)q;
    d.body = (char *)a;
    sb__kb_index_put(ix, &d, vec);
}

static const char *id_of(const struct sb__kb_index *ix, const struct sb__kb_scored *s)
{
    return sb__kb_index_doc(ix, s->slot)->id;
}

static void test_fusion_arithmetic(void **state)
{
    (void)state;
    struct sb__kb_index *ix = sb__kb_index_new();
    float v[3][SB_EMBED_DIM];
    for (int i = 0; i < 3; i++)
        axis(v[i], i);
    put(ix, "delivery", "delivery times", "parcels arrive in three days", v[0]);
    put(ix, "abroad", "sending parcels abroad", "we send to every EU country", v[1]);
    put(ix, "gift", "gift cards", "gift cards never expire", v[2]);
    assert_int_equal(sb__kb_index_nvec(ix), 3);
    struct sb__kb_params p;
    sb__kb_params_default(&p);
    float q[SB_EMBED_DIM];
    axis(q, 1); /* the question means "abroad" */
    struct sb__kb_scored out[3];
    /* lexically "delivery" wins ("delivery" in its title, "parcels" in both) */
    size_t n = sb__kb_rank(ix, "delivery of parcels", "en", NULL, &p, 3, out, NULL);
    assert_int_equal(n, 2);
    assert_string_equal(id_of(ix, &out[0]), "delivery");
    assert_true(out[0].lex == out[0].score && out[0].cos == 0);
    double lex_abroad = out[1].lex / out[0].lex;
    /* fused: lex / best lex + w · cos */
    n = sb__kb_rank(ix, "delivery of parcels", "en", q, &p, 3, out, NULL);
    assert_int_equal(n, 2); /* only lexical candidates are rescored (dense_depth > 0) */
    assert_string_equal(id_of(ix, &out[0]), "abroad");
    assert_true(fabs(out[0].score - (lex_abroad + p.dense)) < 1e-9);
    assert_true(fabs(out[0].cos - 1.0) < 1e-6);
    assert_true(fabs(out[1].score - 1.0) < 1e-9 && out[1].cos == 0);
    /* weight 0: lexical order */
    struct sb__kb_params p0 = p;
    p0.dense = 0;
    sb__kb_rank(ix, "delivery of parcels", "en", q, &p0, 3, out, NULL);
    assert_string_equal(id_of(ix, &out[0]), "delivery");
    /* dense_depth 0: every entry, the ones without a lexical match too */
    struct sb__kb_params pa = p;
    pa.dense_depth = 0;
    axis(q, 2);
    n = sb__kb_rank(ix, "delivery of parcels", "en", q, &pa, 3, out, NULL);
    assert_int_equal(n, 3);
    assert_string_equal(id_of(ix, &out[0]), "gift");
    /* deleting an entry drops its vector */
    assert_int_equal(sb__kb_index_delete(ix, "gift"), 1);
    assert_int_equal(sb__kb_index_nvec(ix), 2);
    sb__kb_index_free(ix);
}

static void put_faq(struct sb_kb *kb, const char *id, const char *q, const char *a)
{
    struct sb_kb_doc d = {.id = (char *)id, .kind = SB_KB_FAQ, .title = (char *)q,
                          .body = (char *)a};
    assert_int_equal(sb_kb_put(kb, 1, &d, 1, NULL), 0);
}

static void shop_faq(struct sb_kb *kb)
{
    put_faq(kb, "cancel", "How do I cancel my subscription?",
            "Open Settings, then Billing, and choose End plan. You keep access until the period "
            "ends.");
    put_faq(kb, "refund", "How long does a refund take?",
            "Refunds reach your card within 5 business days after we receive the item.");
    put_faq(kb, "abroad", "Do you deliver abroad?",
            "We send parcels to every EU country; delivery takes 3 to 7 days.");
    put_faq(kb, "password", "I forgot my password",
            "Use the reset link on the sign-in page; it is valid for one hour.");
    put_faq(kb, "hours", "When is customer service open?",
            "Our team answers Monday to Friday, 9:00 to 17:00.");
}

static const char *search_top(struct sb_kb *kb, const char *q, char *buf, size_t cap)
{
    struct sb_kb_hit *h = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_search(kb, 1, q, NULL, 3, &h, &n, NULL), 0);
    snprintf(buf, cap, "%s", n ? h[0].id : "");
    sb_kb_hits_free(h, n);
    return buf;
}

static void test_paraphrase_ranked_right(void **state)
{
    (void)state;
    struct sb_kb *kb = kb_fixture_open_encoded(NULL);
    if (!kb)
        return;
    shop_faq(kb);
    const char *q = "is my order going to take long to arrive abroad";
    char buf[64];
    struct sb__kb_params *p = sb__kb_params_of(kb);
    double w = p->dense;
    p->dense = 0; /* lexically, "long" and "take" pull the refund entry up */
    assert_string_equal(search_top(kb, q, buf, sizeof buf), "refund");
    p->dense = w;
    assert_string_equal(search_top(kb, q, buf, sizeof buf), "abroad");
    /* a Chinese question is ranked lexically (no embedding), and still works */
    put_faq(kb, "zh-return", "怎么退货", "收到商品后30天内可以退货。");
    assert_string_equal(search_top(kb, "我想退货", buf, sizeof buf), "zh-return");
    sb_kb_close(kb);
}

/* Number of rows of kb.db in `dir` with a vector of the right size. */
static int stored_vectors(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/kb.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM kb_doc WHERE length(vec) = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(st, 1, SB_EMBED_DIM * (int)sizeof(float));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_vectors_persist_and_backfill(void **state)
{
    (void)state;
    char dir[] = "/tmp/sb_kb_dense_XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sb_kb *kb = kb_fixture_open_encoded(dir);
    if (!kb) {
        rmdir(dir);
        return;
    }
    shop_faq(kb);
    sb_kb_close(kb);
    assert_int_equal(stored_vectors(dir), 5);
    /* entries stored without one (an older version, or no encoder then) get it at open */
    kb_fixture_sql(dir, "UPDATE kb_doc SET vec = NULL WHERE id IN ('abroad', 'refund')");
    assert_int_equal(stored_vectors(dir), 3);
    kb = kb_fixture_open_encoded(dir);
    assert_int_equal(stored_vectors(dir), 5);
    char buf[64];
    assert_string_equal(
        search_top(kb, "is my order going to take long to arrive abroad", buf, sizeof buf),
        "abroad");
    sb_kb_close(kb);
    /* a kb.db from before the column: opened, the column added, every entry embedded */
    kb_fixture_sql(dir, "ALTER TABLE kb_doc DROP COLUMN vec");
    kb = kb_fixture_open_encoded(dir);
    assert_int_equal(sb_kb_count(kb, 1), 5);
    sb_kb_close(kb);
    assert_int_equal(stored_vectors(dir), 5);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_applies),
        cmocka_unit_test(test_entry_text),
        cmocka_unit_test(test_fusion_arithmetic),
        cmocka_unit_test(test_paraphrase_ranked_right),
        cmocka_unit_test(test_vectors_persist_and_backfill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
