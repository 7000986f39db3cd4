/* SPDX-License-Identifier: MIT */
/*
 * Contract tests of the store's workspace part (schema step 3), through the public sb_store_*
 * functions only: internal notes (with their event, paging, tenant scoping), canned replies
 * (unique shortcuts, alphabet, delete), CSAT ratings (only for resolved conversations, once,
 * 1..5, comment limits, the rated agent) and the resolve reason of a conversation.
 * SB_TEST_STORE names a shared store; otherwise each test gets a fresh SQLite file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/store.h"
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    struct store_paths p;
    struct sb_store *st;
    sb_id t1, t2, in1, a1, conv; /* tenants, an inbox of t1, an agent of t1, a conversation */
};

static sb_id conversation(struct fx *f, const char *customer)
{
    struct sb_ingest in = {.tenant_id = f->t1, .inbox_id = f->in1, .customer_ext_id = customer,
                           .text = "hello", .created_ms = 1000};
    struct sb_ingest_result r = {0};
    struct sb_error err = {0};
    if (sb_store_ingest_batch(f->st, &in, &r, 1, &err) || r.rc)
        fail_msg("ingest: %s", err.msg);
    return r.conversation_id;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->st = store_fixture_open(&f->p, "ws", 1);
    struct sb_error err = {0};
    f->t1 = store_fixture_tenant(f->st, "ws");
    f->t2 = store_fixture_tenant(f->st, "ws");
    if (sb_store_inbox_create(f->st, f->t1, "api", "main", NULL, &f->in1, &err))
        fail_msg("inbox: %s", err.msg);
    if (sb_store_agent_create(f->st, f->t1, "a1@x", "A", SB_ROLE_AGENT, "x", &f->a1, &err))
        fail_msg("agent: %s", err.msg);
    f->conv = conversation(f, "c1");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_fixture_close(f->st, &f->p);
    free(f);
    return 0;
}

static void test_notes(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_note n1 = {0};
    int64_t seq = 0;
    assert_int_equal(sb_store_note_add(f->st, f->t1, f->conv, f->a1, "VIP: offer a refund", &n1,
                                       &seq, &err),
                     0);
    assert_true(n1.id > 0);
    assert_true(seq > 0);
    assert_string_equal(n1.text, "VIP: offer a refund");
    assert_int_equal(n1.agent_id, f->a1);
    sb_note_cleanup(&n1);
    /* the event is in the log, on the conversation */
    struct sb_event *evs = NULL;
    size_t ne = 0;
    assert_int_equal(sb_store_event_list(f->st, f->t1, f->conv, seq - 1, 10, &evs, &ne, &err), 0);
    assert_int_equal(ne, 1);
    assert_string_equal(evs[0].type, "note.created");
    assert_non_null(strstr(evs[0].payload_json, "\"note_id\""));
    sb_event_list_free(evs, ne);

    assert_int_equal(sb_store_note_add(f->st, f->t1, f->conv, 0, "自动备注", NULL, NULL, &err), 0);
    struct sb_note *ns = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_note_list(f->st, f->t1, f->conv, 0, 50, &ns, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ns[0].text, "VIP: offer a refund"); /* oldest first */
    assert_string_equal(ns[1].text, "自动备注");
    assert_int_equal(ns[1].agent_id, 0);
    sb_id first = ns[0].id;
    sb_note_list_free(ns, n);
    /* paging after an id */
    assert_int_equal(sb_store_note_list(f->st, f->t1, f->conv, first, 50, &ns, &n, &err), 0);
    assert_int_equal(n, 1);
    sb_note_list_free(ns, n);
    /* notes are not messages: the conversation's messages are unchanged */
    struct sb_message *ms = NULL;
    size_t nm = 0;
    assert_int_equal(sb_store_message_list(f->st, f->t1, f->conv, 0, 50, &ms, &nm, &err), 0);
    assert_int_equal(nm, 1);
    sb_message_list_free(ms, nm);

    /* tenant scoping and checks */
    assert_int_equal(sb_store_note_add(f->st, f->t2, f->conv, 0, "x", NULL, NULL, &err),
                     SB_ENOTFOUND);
    assert_int_equal(sb_store_note_list(f->st, f->t2, f->conv, 0, 50, &ns, &n, &err),
                     SB_ENOTFOUND);
    assert_int_equal(sb_store_note_add(f->st, f->t1, f->conv, 0, "", NULL, NULL, &err), SB_EINVAL);
    assert_int_equal(sb_store_note_add(f->st, f->t1, f->conv, 0, "bad \xff utf8", NULL, NULL, &err),
                     SB_EINVAL);
    char *big = malloc(SB_STORE_NOTE_MAX + 2);
    memset(big, 'a', SB_STORE_NOTE_MAX + 1);
    big[SB_STORE_NOTE_MAX + 1] = '\0';
    assert_int_equal(sb_store_note_add(f->st, f->t1, f->conv, 0, big, NULL, NULL, &err),
                     SB_ETOOBIG);
    big[SB_STORE_NOTE_MAX] = '\0'; /* exactly the limit is fine */
    assert_int_equal(sb_store_note_add(f->st, f->t1, f->conv, 0, big, NULL, NULL, &err), 0);
    free(big);
    assert_int_equal(sb_store_note_list(f->st, f->t1, f->conv, 0, 0, &ns, &n, &err), SB_EINVAL);
}

static void test_canned(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    sb_id x = 0, y = 0, z = 0;
    assert_int_equal(sb_store_canned_create(f->st, f->t1, "thanks", "Thanks",
                                            "Thank you for your patience!", &x, &err),
                     0);
    assert_int_equal(sb_store_canned_create(f->st, f->t1, "refund-zh", "退款",
                                            "您的退款将在 5 个工作日内到账。", &y, &err),
                     0);
    assert_int_equal(sb_store_canned_create(f->st, f->t1, "thanks", "Again", "x", &z, &err),
                     SB_EEXIST);
    assert_int_equal(sb_store_canned_create(f->st, f->t2, "thanks", "Theirs", "x", &z, &err), 0);
    assert_int_equal(sb_store_canned_create(f->st, f->t1, "Bad Shortcut", "t", "x", &z, &err),
                     SB_EINVAL);
    assert_int_equal(sb_store_canned_create(f->st, f->t1, "ok", "", "x", &z, &err), SB_EINVAL);
    assert_int_equal(sb_store_canned_create(f->st, f->t1, "ok", "t", "", &z, &err), SB_EINVAL);
    char *big = malloc(SB_STORE_CANNED_TEXT_MAX + 2);
    memset(big, 'a', SB_STORE_CANNED_TEXT_MAX + 1);
    big[SB_STORE_CANNED_TEXT_MAX + 1] = '\0';
    assert_int_equal(sb_store_canned_create(f->st, f->t1, "big", "t", big, &z, &err), SB_ETOOBIG);
    free(big);

    struct sb_canned_reply *cs = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_canned_list(f->st, f->t1, &cs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(cs[0].shortcut, "refund-zh"); /* by shortcut */
    assert_string_equal(cs[0].title, "退款");
    assert_string_equal(cs[1].shortcut, "thanks");
    assert_string_equal(cs[1].text, "Thank you for your patience!");
    sb_canned_list_free(cs, n);

    /* another tenant cannot delete ours */
    assert_int_equal(sb_store_canned_delete(f->st, f->t2, x, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_canned_delete(f->st, f->t1, x, &err), 0);
    assert_int_equal(sb_store_canned_delete(f->st, f->t1, x, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_canned_list(f->st, f->t1, &cs, &n, &err), 0);
    assert_int_equal(n, 1);
    sb_canned_list_free(cs, n);
    /* the shortcut is free again */
    assert_int_equal(sb_store_canned_create(f->st, f->t1, "thanks", "Thanks", "Thanks!", &x, &err),
                     0);
}

static void test_csat(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_csat c = {0};
    /* not resolved yet */
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->conv, 5, NULL, NULL, NULL, &err),
                     SB_ESTATE);
    struct sb_conversation_update u = {.status = SB_CONV_RESOLVED, .set_assignee = 1,
                                       .assignee_id = f->a1, .resolve_reason = "answered"};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, f->conv, &u, NULL, &err), 0);
    /* range and comment checks change nothing */
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->conv, 0, NULL, NULL, NULL, &err),
                     SB_EINVAL);
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->conv, 6, NULL, NULL, NULL, &err),
                     SB_EINVAL);
    char *big = malloc(SB_STORE_CSAT_COMMENT_MAX + 2);
    memset(big, 'a', SB_STORE_CSAT_COMMENT_MAX + 1);
    big[SB_STORE_CSAT_COMMENT_MAX + 1] = '\0';
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->conv, 4, big, NULL, NULL, &err),
                     SB_ETOOBIG);
    free(big);
    assert_int_equal(sb_store_csat_get(f->st, f->t1, f->conv, &c, &err), SB_ENOTFOUND);
    /* another tenant cannot rate it */
    assert_int_equal(sb_store_csat_put(f->st, f->t2, f->conv, 1, NULL, NULL, NULL, &err),
                     SB_ENOTFOUND);

    int64_t seq = 0;
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->conv, 4, "quick and kind", &c, &seq, &err),
                     0);
    assert_true(seq > 0);
    assert_int_equal(c.agent_id, f->a1); /* the agent who had it */
    sb_csat_cleanup(&c);
    /* once per conversation */
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->conv, 1, NULL, NULL, NULL, &err),
                     SB_EEXIST);
    assert_int_equal(sb_store_csat_get(f->st, f->t1, f->conv, &c, &err), 0);
    assert_int_equal(c.rating, 4);
    assert_string_equal(c.comment, "quick and kind");
    sb_csat_cleanup(&c);
    assert_int_equal(sb_store_csat_get(f->st, f->t2, f->conv, &c, &err), SB_ENOTFOUND);

    /* a rating without a comment, on a conversation nobody was assigned */
    sb_id other = conversation(f, "c2");
    struct sb_conversation_update r = {.status = SB_CONV_RESOLVED};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, other, &r, NULL, &err), 0);
    assert_int_equal(sb_store_csat_put(f->st, f->t1, other, 1, NULL, NULL, NULL, &err), 0);
    assert_int_equal(sb_store_csat_get(f->st, f->t1, other, &c, &err), 0);
    assert_int_equal(c.agent_id, 0);
    assert_string_equal(c.comment, "");
    sb_csat_cleanup(&c);
}

static void test_resolve_reason(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_conversation c = {0};
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, f->conv, &c, &err), 0);
    assert_string_equal(c.resolve_reason, "");
    sb_conversation_cleanup(&c);
    struct sb_conversation_update u = {.status = SB_CONV_RESOLVED,
                                       .resolve_reason = "refund issued"};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, f->conv, &u, NULL, &err), 0);
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, f->conv, &c, &err), 0);
    assert_string_equal(c.status, SB_CONV_RESOLVED);
    assert_string_equal(c.resolve_reason, "refund issued");
    sb_conversation_cleanup(&c);
    /* an update without a reason keeps it; "" clears it */
    struct sb_conversation_update keep = {.set_priority = 1, .priority = 2};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, f->conv, &keep, NULL, &err), 0);
    struct sb_conversation_filter flt = {.status = SB_CONV_RESOLVED, .limit = 10};
    struct sb_conversation *cs = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_conversation_list(f->st, f->t1, &flt, &cs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(cs[0].resolve_reason, "refund issued");
    sb_conversation_list_free(cs, n);
    struct sb_conversation_update clear = {.resolve_reason = ""};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, f->conv, &clear, NULL, &err), 0);
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, f->conv, &c, &err), 0);
    assert_string_equal(c.resolve_reason, "");
    sb_conversation_cleanup(&c);
    /* too long */
    char big[SB_STORE_RESOLVE_REASON_MAX + 1];
    memset(big, 'r', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct sb_conversation_update bad = {.resolve_reason = big};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, f->conv, &bad, NULL, &err),
                     SB_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_notes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_reason, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
