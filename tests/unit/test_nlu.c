/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/nlu's text core and extractors: normalisation, tokenisation (English,
 * Chinese, mixed), language id, the TSV reader's errors with line numbers, each PII validator
 * with its checksum edge cases, entity extraction, redaction and the annotation JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/nlu.h"

#include <stdlib.h>
#include <string.h>

#define S(x) x, strlen(x)

static void test_normalize(void **state)
{
    (void)state;
    char *n = sb_nlu_normalize(S("ＨＥＬＬＯ Straße ①"));
    assert_string_equal(n, "hello strasse 1");
    free(n);
    n = sb_nlu_normalize(S("我的快递，到哪了？"));
    assert_string_equal(n, "我的快递,到哪了?");
    free(n);
    /* invalid UTF-8 is replaced, not a failure */
    n = sb_nlu_normalize("ab\xff\xfe" "c", 5);
    assert_non_null(n);
    assert_non_null(strstr(n, "ab"));
    free(n);
    /* soft hyphen and zero-width space are ignorable */
    n = sb_nlu_normalize(S("re\xc2\xad" "fund\xe2\x80\x8b"));
    assert_string_equal(n, "refund");
    free(n);
    assert_null(sb_nlu_normalize("x", SB_NLU_TEXT_MAX + 1));
}

/* Joins the NUL-separated tokens with '|' for easy comparison. */
static char *joined(const char *text)
{
    size_t n;
    char *t = sb_nlu_tokens(text, strlen(text), &n);
    assert_non_null(t);
    static char buf[1024];
    size_t o = 0;
    const char *p = t;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(p);
        if (i)
            buf[o++] = '|';
        memcpy(buf + o, p, l);
        o += l;
        p += l + 1;
    }
    buf[o] = '\0';
    free(t);
    return buf;
}

static void test_tokens(void **state)
{
    (void)state;
    assert_string_equal(joined("Where's my parcel?? I ordered 3 items"),
                        "where|my|parcel|?|?|i|order|<num>|item");
    assert_string_equal(joined("Refunds were REFUNDED, refunding!"), "refund|were|refund|refund|!");
    assert_string_equal(joined("我的快递到哪了"), "我|的|快|递|到|哪|了");
    assert_string_equal(joined("我想退货 iPhone15 的订单"),
                        "我|想|退|货|iphone15|的|订|单");
    assert_string_equal(joined("  ...  "), "");
    assert_string_equal(joined("great 😀"), "great|😀");
}

static void test_langid(void **state)
{
    (void)state;
    assert_string_equal(sb_nlu_langid(S("Where is my order?")), "en");
    assert_string_equal(sb_nlu_langid(S("我的快递到哪了")), "zh");
    assert_string_equal(sb_nlu_langid(S("我想退 iPhone 15")), "zh");
    assert_string_equal(sb_nlu_langid(S("Où est ma commande ? Je ne l'ai pas reçue")), "other");
    assert_string_equal(sb_nlu_langid(S("Wo ist meine Bestellung? Ich habe sie nicht")), "other");
    assert_string_equal(sb_nlu_langid(S("注文はどこですか")), "other");
    assert_string_equal(sb_nlu_langid(S("Где мой заказ")), "other");
    assert_string_equal(sb_nlu_langid(S("12345 !!!")), "other");
    assert_string_equal(sb_nlu_langid(S("refund pls")), "en");
}

static void test_tsv_errors(void **state)
{
    (void)state;
    struct sb_error err = {0};
    struct sb_nlu_dataset *ds = NULL;
    const char *ok = "text\tlabel\nhello there\tgreeting\r\n\nwhere is it\torder_status\n";
    assert_int_equal(sb_nlu_tsv_parse(S(ok), "ok.tsv", &ds, &err), 0);
    assert_int_equal(ds->n, 2);
    assert_string_equal(ds->text[0], "hello there");
    assert_string_equal(ds->label[0], "greeting");
    assert_int_equal(ds->line[1], 4);
    sb_nlu_dataset_free(ds);

    struct {
        const char *data;
        int code;
        const char *msg;
    } bad[] = {
        {"", SB_EPARSE, "x.tsv:1: empty file"},
        {"text\tlabel\n", SB_EPARSE, "x.tsv:1: no rows"},
        {"words\tlabels\nx\ty\n", SB_EPARSE, "x.tsv:1: expected the header"},
        {"text\tlabel\na\tb\nno tab here\n", SB_EPARSE, "x.tsv:3: no TAB"},
        {"text\tlabel\na\tb\tc\n", SB_EPARSE, "x.tsv:2: more than one TAB"},
        {"text\tlabel\n \tb\n", SB_EPARSE, "x.tsv:2: empty text"},
        {"text\tlabel\na\t\n", SB_EPARSE, "x.tsv:2: empty label"},
        {"text\tlabel\na\tb\n\xff\tb\n", SB_EPARSE, "x.tsv:3: not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ds = NULL;
        sb_error_clear(&err);
        assert_int_equal(sb_nlu_tsv_parse(S(bad[i].data), "x.tsv", &ds, &err), bad[i].code);
        assert_null(ds);
        if (strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, err.msg, bad[i].msg);
    }
    /* limits: a line and a label that are too long */
    size_t big = SB_NLU_TEXT_MAX + 20;
    char *b = malloc(big + 32);
    memcpy(b, "text\tlabel\n", 11);
    memset(b + 11, 'a', big);
    memcpy(b + 11 + big, "\tx\n", 3);
    assert_int_equal(sb_nlu_tsv_parse(b, 11 + big + 3, "big.tsv", &ds, &err), SB_ETOOBIG);
    assert_string_equal(err.msg, "big.tsv:2: line longer than 65536 bytes");
    memcpy(b, "text\tlabel\nhi\t", 14);
    memset(b + 14, 'l', 200);
    b[214] = '\n';
    assert_int_equal(sb_nlu_tsv_parse(b, 215, "lab.tsv", &ds, &err), SB_ETOOBIG);
    free(b);
    assert_int_equal(sb_nlu_tsv_read("/nonexistent/x.tsv", &ds, &err), SB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/x.tsv"));
}

static void test_luhn(void **state)
{
    (void)state;
    assert_true(sb_nlu_luhn_valid(S("4111111111111111")));
    assert_true(sb_nlu_luhn_valid(S("79927398713")));
    assert_false(sb_nlu_luhn_valid(S("4111111111111112")));
    assert_false(sb_nlu_luhn_valid(S("79927398710")));
    assert_true(sb_nlu_luhn_valid(S("0000000000000000"))); /* valid checksum, all zeros */
    assert_false(sb_nlu_luhn_valid(S("4111-1111")));
    assert_false(sb_nlu_luhn_valid(S("0")));
    assert_false(sb_nlu_luhn_valid(NULL, 0));
}

static void test_cn_id(void **state)
{
    (void)state;
    /* the standard's example numbers: one ending in a digit, one in X */
    assert_true(sb_nlu_cn_id_valid(S("11010519491231002X")));
    assert_true(sb_nlu_cn_id_valid(S("11010519491231002x")));
    assert_true(sb_nlu_cn_id_valid(S("440524188001010014")));
    assert_false(sb_nlu_cn_id_valid(S("440524188001010015"))); /* wrong check digit */
    assert_false(sb_nlu_cn_id_valid(S("110105194912310021")));
    /* right check digit but impossible birth dates: 1949-13-31, 1949-02-30 */
    char id[19] = "11010519491331002";
    static const char check[] = "10X98765432";
    static const int wt[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (id[i] - '0') * wt[i];
    id[17] = check[sum % 11];
    id[18] = '\0';
    assert_false(sb_nlu_cn_id_valid(id, 18));
    assert_false(sb_nlu_cn_id_valid(S("11010519491231002")));
    assert_false(sb_nlu_cn_id_valid(S("1101051949123100XX")));
}

static void test_iban(void **state)
{
    (void)state;
    assert_true(sb_nlu_iban_valid(S("DE89370400440532013000")));
    assert_true(sb_nlu_iban_valid(S("GB82WEST12345698765432")));
    assert_true(sb_nlu_iban_valid(S("gb82west12345698765432")));
    assert_false(sb_nlu_iban_valid(S("GB82WEST12345698765433")));
    assert_false(sb_nlu_iban_valid(S("DE8937040044053201300"))); /* one digit short */
    assert_false(sb_nlu_iban_valid(S("1289370400440532013000")));
    assert_false(sb_nlu_iban_valid(S("DE89")));
}

static const struct sb_nlu_span *find(const struct sb_nlu_span *sp, size_t n,
                                      enum sb_nlu_entity_type t)
{
    for (size_t i = 0; i < n; i++)
        if (sp[i].type == t)
            return &sp[i];
    return NULL;
}

static void expect(const char *text, const struct sb_nlu_entity_opts *o,
                   enum sb_nlu_entity_type t, const char *value, const char *surface)
{
    struct sb_nlu_span *sp;
    size_t n;
    assert_int_equal(sb_nlu_entities(text, strlen(text), o, &sp, &n), 0);
    const struct sb_nlu_span *s = find(sp, n, t);
    if (!s)
        fail_msg("no %s in '%s'", sb_nlu_entity_name(t), text);
    assert_string_equal(s->value, value);
    if (surface) {
        size_t l = s->end - s->start;
        if (l != strlen(surface) || memcmp(text + s->start, surface, l) != 0)
            fail_msg("span '%.*s' != '%s'", (int)l, text + s->start, surface);
    }
    free(sp);
}

static void expect_none(const char *text, enum sb_nlu_entity_type t)
{
    struct sb_nlu_span *sp;
    size_t n;
    assert_int_equal(sb_nlu_entities(text, strlen(text), NULL, &sp, &n), 0);
    if (find(sp, n, t))
        fail_msg("unexpected %s in '%s'", sb_nlu_entity_name(t), text);
    free(sp);
}

static void test_entities(void **state)
{
    (void)state;
    /* 2024-05-10 12:00 UTC */
    struct sb_nlu_entity_opts o = {.now_ms = 1715342400000LL};
    expect("mail me at John.Doe+x@Example.co.uk.", &o, SB_NLU_ENT_EMAIL,
           "John.Doe+x@Example.co.uk", "John.Doe+x@Example.co.uk");
    expect_none("email me @ home", SB_NLU_ENT_EMAIL);
    expect("call +44 20 7946 0958 please", &o, SB_NLU_ENT_PHONE, "+442079460958",
           "+44 20 7946 0958");
    expect("我的手机是13812345678", &o, SB_NLU_ENT_PHONE, "+8613812345678", "13812345678");
    expect("电话：１３８１２３４５６７８", &o, SB_NLU_ENT_PHONE, "+8613812345678", NULL);
    expect("call (415) 555-0100", &o, SB_NLU_ENT_PHONE, "+14155550100", "(415) 555-0100");
    expect("座机 010-62345678", &o, SB_NLU_ENT_PHONE, "01062345678", "010-62345678");
    expect("card 4111 1111 1111 1111 was charged", &o, SB_NLU_ENT_BANK_CARD, "4111111111111111",
           "4111 1111 1111 1111");
    expect_none("card 4111 1111 1111 1112 was charged", SB_NLU_ENT_BANK_CARD);
    expect("身份证11010519491231002X", &o, SB_NLU_ENT_CN_ID, "11010519491231002X",
           "11010519491231002X");
    expect_none("id 110105194912310021", SB_NLU_ENT_CN_ID);
    expect("IBAN DE89 3704 0044 0532 0130 00 thanks", &o, SB_NLU_ENT_IBAN,
           "DE89370400440532013000", "DE89 3704 0044 0532 0130 00");
    expect_none("IBAN DE89 3704 0044 0532 0130 01 thanks", SB_NLU_ENT_IBAN);
    expect("I was charged $1,234.50 twice", &o, SB_NLU_ENT_AMOUNT, "1234.50 USD", "$1,234.50");
    expect("退我300元", &o, SB_NLU_ENT_AMOUNT, "300 CNY", "300元");
    expect("it cost 20 euros", &o, SB_NLU_ENT_AMOUNT, "20 EUR", "20 euros");
    expect("paid ¥99.9", &o, SB_NLU_ENT_AMOUNT, "99.9 CNY", "¥99.9");
    expect("delivered on 2024-05-01?", &o, SB_NLU_ENT_DATE, "2024-05-01", "2024-05-01");
    expect("I ordered it yesterday", &o, SB_NLU_ENT_DATE, "2024-05-09", "yesterday");
    expect("我昨天下的单", &o, SB_NLU_ENT_DATE, "2024-05-09", "昨天");
    expect("前天到的", &o, SB_NLU_ENT_DATE, "2024-05-08", "前天");
    expect("5月20日之前", &o, SB_NLU_ENT_DATE, "2024-05-20", "5月20日");
    expect("on March 3rd, 2023", &o, SB_NLU_ENT_DATE, "2023-03-03", "March 3rd, 2023");
    expect("ordered 3 days ago", &o, SB_NLU_ENT_DATE, "2024-05-07", "3 days ago");
    /* relative dates follow the customer's time zone: 2024-05-10 23:30 UTC is the 11th in +08 */
    struct sb_nlu_entity_opts tz = {.now_ms = 1715383800000LL, .tz_offset_min = 480};
    expect("昨天", &tz, SB_NLU_ENT_DATE, "2024-05-10", NULL);
    expect("where is order #A123456?", &o, SB_NLU_ENT_ORDER_ID, "A123456", "A123456");
    expect("订单号是 2024051012345", &o, SB_NLU_ENT_ORDER_ID, "2024051012345", NULL);
    expect_none("order something nice", SB_NLU_ENT_ORDER_ID);
    /* tenant patterns */
    const char *pats[] = {"SO-#{6,8}", "A{2}#{4}"};
    struct sb_nlu_entity_opts t = {.order_patterns = pats, .n_order_patterns = 2};
    expect("status of so-1234567 please", &t, SB_NLU_ENT_ORDER_ID, "SO-1234567", "so-1234567");
    expect("ref XY9876", &t, SB_NLU_ENT_ORDER_ID, "XY9876", "XY9876");
    struct sb_error err = {0};
    assert_int_equal(sb_nlu_order_pattern_check("#{3", &err), SB_EINVAL);
    assert_int_equal(sb_nlu_order_pattern_check("{3}", &err), SB_EINVAL);
    assert_int_equal(sb_nlu_order_pattern_check("#", &err), SB_EINVAL);
    assert_int_equal(sb_nlu_order_pattern_check("#{200}", &err), SB_EINVAL);
    assert_int_equal(sb_nlu_order_pattern_check("SO-#{8}", &err), 0);
}

static void test_redact(void **state)
{
    (void)state;
    const char *text = "I'm bob@example.com, 13812345678, card 4111111111111111, order A123456.";
    char *masked;
    struct sb_nlu_span *sp;
    size_t n;
    assert_int_equal(sb_nlu_redact(S(text), NULL, SB_NLU_PII_MASK, &masked, &sp, &n), 0);
    assert_string_equal(masked, "I'm [EMAIL], [PHONE], card [CARD], order A123456.");
    assert_int_equal(n, 3);
    assert_int_equal(sp[0].type, SB_NLU_ENT_EMAIL);
    assert_int_equal(sp[0].start, 4);
    assert_true(sp[2].pii);
    free(masked);
    free(sp);
    assert_int_equal(sb_nlu_redact(S("nothing here"), NULL, SB_NLU_PII_MASK, &masked, NULL, NULL),
                     0);
    assert_string_equal(masked, "nothing here");
    free(masked);
}

static void test_annotate_without_models(void **state)
{
    (void)state;
    struct sb_nlu_annotate_opts o = {.oos_threshold = -1};
    char *j = sb_nlu_annotate_json(S("my phone is 13812345678, order A123456"), &o);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"language\":\"en\""));
    assert_non_null(strstr(j, "\"pii\":[{\"type\":\"phone\""));
    assert_null(strstr(j, "13812345678")); /* PII values are not copied */
    assert_non_null(strstr(j, "\"value\":\"A123456\""));
    assert_null(strstr(j, "\"intent\""));
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),   cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_langid),      cmocka_unit_test(test_tsv_errors),
        cmocka_unit_test(test_luhn),        cmocka_unit_test(test_cn_id),
        cmocka_unit_test(test_iban),        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_redact),      cmocka_unit_test(test_annotate_without_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
