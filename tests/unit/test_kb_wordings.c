/* SPDX-License-Identifier: MIT */
/*
 * Learned phrasings proposed by agents (src/kb/wordings.c) on the demo shop's knowledge base:
 * a repeated wording is stored once; approving adds it to the entry's phrasings so the next
 * answer and search find the entry for it (and it survives a restart); dismissing changes
 * nothing; one tenant never sees or decides another's proposals; bad input is refused naming
 * the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kb_fixture.h"
#include "sb/kb.h"
#include "sb/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARCEL "My package hasn't shown up yet"

/* The bot's decision for `q`: the cited entry when it answers, NULL when it abstains (the
 * returned string is static). */
static const char *answered_by(struct sb_kb *kb, int64_t tenant, const char *q)
{
    static char id[SB_KB_ID_MAX + 1];
    struct sb_kb_answer *a = NULL;
    assert_int_equal(sb_kb_answer(kb, tenant, q, NULL, &a, NULL), 0);
    const char *r = NULL;
    if (a->decision == SB_KB_ANSWER && a->n_citations) {
        snprintf(id, sizeof(id), "%s", a->citations[0].doc_id);
        r = id;
    }
    sb_kb_answer_free(a);
    return r;
}

static int has_question(struct sb_kb *kb, int64_t tenant, const char *entry, const char *q)
{
    struct sb_kb_doc d = {0};
    assert_int_equal(sb_kb_get(kb, tenant, entry, &d, NULL), 0);
    int found = 0;
    for (const char *p = d.questions; p && *p;) {
        size_t n = strcspn(p, "\n");
        found |= n == strlen(q) && !memcmp(p, q, n);
        p += n + (p[n] == '\n');
    }
    sb_kb_doc_cleanup(&d);
    return found;
}

static void test_propose_dedupe_approve(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/sb-kb-wordings-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    struct sb_kb *kb = kb_fixture_demo(dir);
    assert_null(answered_by(kb, 1, PARCEL)); /* the bot abstains today */

    struct sb_kb_wording w = {0}, again = {0};
    struct sb_error err = {0};
    int created = -1;
    assert_int_equal(sb_kb_wording_propose(kb, 1, "faq-order-status", PARCEL, 42, 7, &w,
                                           &created, &err),
                     0);
    assert_int_equal(created, 1);
    assert_true(w.id > 0);
    assert_string_equal(w.entry, "faq-order-status");
    assert_string_equal(w.wording, PARCEL);
    assert_int_equal(w.message_id, 42);
    assert_int_equal(w.agent_id, 7);
    assert_int_equal(w.status, SB_KB_WORDING_PENDING);
    assert_true(w.created_ms > 0);

    /* the same wording (case, spaces, a line break) by another agent: stored once */
    assert_int_equal(sb_kb_wording_propose(kb, 1, "faq-order-status",
                                           "  my package\nHASN'T  shown up yet ", 43, 8, &again,
                                           &created, &err),
                     0);
    assert_int_equal(created, 0);
    assert_int_equal(again.id, w.id);
    assert_int_equal(again.agent_id, 7);
    sb_kb_wording_cleanup(&again);
    /* ... but the same wording for another entry is another proposal */
    assert_int_equal(sb_kb_wording_propose(kb, 1, "faq-cancel-order", PARCEL, 42, 7, &again,
                                           &created, &err),
                     0);
    assert_int_equal(created, 1);
    assert_int_not_equal(again.id, w.id);

    struct sb_kb_wording *list = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_wording_list(kb, 1, SB_KB_WORDING_PENDING, 0, 10, &list, &n, &err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, again.id); /* newest first */
    assert_int_equal(list[1].id, w.id);
    sb_kb_wordings_free(list, n);
    /* paging */
    assert_int_equal(sb_kb_wording_list(kb, 1, -1, again.id, 10, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, w.id);
    sb_kb_wordings_free(list, n);

    /* approve: the phrasing is live when the call returns */
    struct sb_kb_wording done = {0};
    assert_int_equal(sb_kb_wording_approve(kb, 1, w.id, 3, &done, &err), 0);
    assert_int_equal(done.status, SB_KB_WORDING_APPROVED);
    assert_int_equal(done.decided_by, 3);
    assert_true(done.decided_ms >= done.created_ms);
    sb_kb_wording_cleanup(&done);
    assert_true(has_question(kb, 1, "faq-order-status", PARCEL));
    assert_true(has_question(kb, 1, "faq-order-status", "My package has not arrived yet"));
    const char *by = answered_by(kb, 1, PARCEL);
    assert_non_null(by);
    assert_string_equal(by, "faq-order-status");
    struct sb_kb_hit *hits = NULL;
    assert_int_equal(sb_kb_search(kb, 1, PARCEL, NULL, 3, &hits, &n, &err), 0);
    assert_true(n >= 1);
    assert_string_equal(hits[0].id, "faq-order-status");
    sb_kb_hits_free(hits, n);

    /* decided once only; the wording is now the entry's own */
    assert_int_equal(sb_kb_wording_approve(kb, 1, w.id, 3, NULL, &err), SB_ESTATE);
    assert_non_null(strstr(err.msg, "already approved"));
    assert_int_equal(sb_kb_wording_dismiss(kb, 1, w.id, 3, NULL, &err), SB_ESTATE);
    assert_int_equal(sb_kb_wording_propose(kb, 1, "faq-order-status", PARCEL, 44, 9, NULL, NULL,
                                           &err),
                     SB_EEXIST);

    /* everything survives a restart */
    sb_kb_close(kb);
    assert_int_equal(sb_kb_open(dir, &kb, &err), 0);
    assert_true(has_question(kb, 1, "faq-order-status", PARCEL));
    struct sb_kb_wording got = {0};
    assert_int_equal(sb_kb_wording_get(kb, 1, w.id, &got, &err), 0);
    assert_int_equal(got.status, SB_KB_WORDING_APPROVED);
    assert_int_equal(got.message_id, 42);
    sb_kb_wording_cleanup(&got);
    assert_int_equal(sb_kb_wording_list(kb, 1, SB_KB_WORDING_PENDING, 0, 10, &list, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].entry, "faq-cancel-order");
    sb_kb_wordings_free(list, n);
    sb_kb_wording_cleanup(&w);
    sb_kb_wording_cleanup(&again);
    sb_kb_close(kb);
    char *cmd = sb_strdupf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_dismiss(void **state)
{
    (void)state;
    struct sb_kb *kb = kb_fixture_demo(NULL); /* memory-only KBs keep proposals too */
    struct sb_kb_doc before = {0}, after = {0};
    assert_int_equal(sb_kb_get(kb, 1, "faq-order-status", &before, NULL), 0);
    struct sb_kb_wording w = {0};
    struct sb_error err = {0};
    assert_int_equal(sb_kb_wording_propose(kb, 1, "faq-order-status", PARCEL, 1, 2, &w, NULL,
                                           &err),
                     0);
    struct sb_kb_wording done = {0};
    assert_int_equal(sb_kb_wording_dismiss(kb, 1, w.id, 5, &done, &err), 0);
    assert_int_equal(done.status, SB_KB_WORDING_DISMISSED);
    assert_int_equal(done.decided_by, 5);
    sb_kb_wording_cleanup(&done);
    assert_int_equal(sb_kb_get(kb, 1, "faq-order-status", &after, NULL), 0);
    assert_string_equal(before.questions, after.questions);
    assert_null(answered_by(kb, 1, PARCEL));
    assert_int_equal(sb_kb_wording_approve(kb, 1, w.id, 5, NULL, &err), SB_ESTATE);
    assert_non_null(strstr(err.msg, "already dismissed"));
    /* proposing it again returns the dismissed proposal: the supervisor's decision stands */
    struct sb_kb_wording again = {0};
    int created = -1;
    assert_int_equal(sb_kb_wording_propose(kb, 1, "faq-order-status", PARCEL, 9, 9, &again,
                                           &created, &err),
                     0);
    assert_int_equal(created, 0);
    assert_int_equal(again.status, SB_KB_WORDING_DISMISSED);
    struct sb_kb_wording *list = NULL;
    size_t n = 7;
    assert_int_equal(sb_kb_wording_list(kb, 1, SB_KB_WORDING_PENDING, 0, 10, &list, &n, &err),
                     0);
    assert_int_equal(n, 0);
    assert_null(list);
    assert_int_equal(sb_kb_wording_list(kb, 1, SB_KB_WORDING_DISMISSED, 0, 10, &list, &n, &err),
                     0);
    assert_int_equal(n, 1);
    sb_kb_wordings_free(list, n);
    sb_kb_wording_cleanup(&again);
    sb_kb_wording_cleanup(&w);
    sb_kb_doc_cleanup(&before);
    sb_kb_doc_cleanup(&after);
    sb_kb_close(kb);
}

static void test_tenant_isolation(void **state)
{
    (void)state;
    struct sb_kb *kb = kb_fixture_demo(NULL);
    struct sb_kb_doc d = {.id = "faq-order-status", .kind = SB_KB_FAQ,
                          .title = "Where is my order?", .body = "Tenant 2's answer."};
    assert_int_equal(sb_kb_put(kb, 2, &d, 1, NULL), 0);
    struct sb_kb_wording w = {0}, got = {0};
    struct sb_error err = {0};
    assert_int_equal(sb_kb_wording_propose(kb, 1, "faq-order-status", PARCEL, 1, 2, &w, NULL,
                                           &err),
                     0);
    /* tenant 2 neither sees nor decides tenant 1's proposal */
    struct sb_kb_wording *list = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_wording_list(kb, 2, -1, 0, 10, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sb_kb_wording_get(kb, 2, w.id, &got, &err), SB_ENOTFOUND);
    assert_int_equal(sb_kb_wording_approve(kb, 2, w.id, 1, NULL, &err), SB_ENOTFOUND);
    assert_int_equal(sb_kb_wording_dismiss(kb, 2, w.id, 1, NULL, &err), SB_ENOTFOUND);
    assert_false(has_question(kb, 2, "faq-order-status", PARCEL));
    /* approving in tenant 1 changes tenant 1's entry only */
    assert_int_equal(sb_kb_wording_approve(kb, 1, w.id, 1, NULL, &err), 0);
    assert_true(has_question(kb, 1, "faq-order-status", PARCEL));
    assert_false(has_question(kb, 2, "faq-order-status", PARCEL));
    /* a tenant proposes only for its own entries */
    assert_int_equal(sb_kb_wording_propose(kb, 3, "faq-order-status", PARCEL, 1, 2, NULL, NULL,
                                           &err),
                     SB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "'entry'"));
    sb_kb_wording_cleanup(&w);
    sb_kb_close(kb);
}

static void test_errors_and_limits(void **state)
{
    (void)state;
    struct sb_kb *kb = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_kb_open(NULL, &kb, &err), 0);
    struct sb_kb_doc docs[3] = {
        {.id = "guide", .kind = SB_KB_SECTION, .title = "Guide", .body = "Intro."},
        {.id = "guide#care", .kind = SB_KB_SECTION, .parent = "guide", .title = "Guide",
         .heading = "Care", .body = "Wipe with a damp cloth."},
        {.id = "sku-1", .kind = SB_KB_PRODUCT, .title = "Oslo sofa", .body = "A sofa.",
         .sku = "1"},
    };
    assert_int_equal(sb_kb_put(kb, 1, docs, 3, &err), 0);

    assert_int_equal(sb_kb_wording_propose(kb, 1, "guide#care", "how to clean it", 0, 0, NULL,
                                           NULL, &err),
                     SB_EINVAL);
    assert_non_null(strstr(err.msg, "'entry'"));
    assert_non_null(strstr(err.msg, "article section"));
    assert_int_equal(sb_kb_wording_propose(kb, 1, "", "x", 0, 0, NULL, NULL, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "'entry'"));
    assert_int_equal(sb_kb_wording_propose(kb, 1, "nope", "x", 0, 0, NULL, NULL, &err),
                     SB_ENOTFOUND);
    assert_int_equal(sb_kb_wording_propose(kb, 1, "sku-1", " \n\t ", 0, 0, NULL, NULL, &err),
                     SB_EINVAL);
    assert_non_null(strstr(err.msg, "'wording'"));
    char *big = sb_malloc(SB_KB_WORDING_MAX + 2);
    memset(big, 'a', SB_KB_WORDING_MAX + 1);
    big[SB_KB_WORDING_MAX + 1] = '\0';
    assert_int_equal(sb_kb_wording_propose(kb, 1, "sku-1", big, 0, 0, NULL, NULL, &err),
                     SB_ETOOBIG);
    assert_non_null(strstr(err.msg, "'wording'"));
    big[SB_KB_WORDING_MAX] = '\0'; /* exactly the limit is fine */
    assert_int_equal(sb_kb_wording_propose(kb, 1, "sku-1", big, 0, 0, NULL, NULL, &err), 0);
    free(big);
    char id[SB_KB_ID_MAX + 2];
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_int_equal(sb_kb_wording_propose(kb, 1, id, "q", 0, 0, NULL, NULL, &err), SB_ETOOBIG);
    /* the product's own name is not a new wording */
    assert_int_equal(sb_kb_wording_propose(kb, 1, "sku-1", "oslo SOFA", 0, 0, NULL, NULL, &err),
                     SB_EEXIST);

    /* a catalogue entry takes phrasings, up to SB_KB_PHRASINGS_MAX */
    struct sb_kb_wording w = {0};
    assert_int_equal(sb_kb_wording_propose(kb, 1, "sku-1", "the grey couch", 0, 0, &w, NULL,
                                           &err),
                     0);
    struct sb_buf qs;
    sb_buf_init(&qs, 1 << 20);
    for (int i = 0; i < SB_KB_PHRASINGS_MAX; i++)
        assert_int_equal(sb_buf_appendf(&qs, "%sphrasing %d", i ? "\n" : "", i), 0);
    struct sb_kb_doc full = {.id = "sku-1", .kind = SB_KB_PRODUCT, .title = "Oslo sofa",
                             .body = "A sofa.", .sku = "1", .questions = qs.data};
    assert_int_equal(sb_kb_put(kb, 1, &full, 1, &err), 0);
    assert_int_equal(sb_kb_wording_approve(kb, 1, w.id, 1, NULL, &err), SB_ESTATE);
    assert_non_null(strstr(err.msg, "50 question phrasings"));
    assert_false(has_question(kb, 1, "sku-1", "the grey couch"));
    struct sb_kb_wording still = {0};
    assert_int_equal(sb_kb_wording_get(kb, 1, w.id, &still, &err), 0);
    assert_int_equal(still.status, SB_KB_WORDING_PENDING);
    sb_kb_wording_cleanup(&still);
    /* room made: now it is added */
    full.questions = "phrasing 0";
    assert_int_equal(sb_kb_put(kb, 1, &full, 1, &err), 0);
    assert_int_equal(sb_kb_wording_approve(kb, 1, w.id, 1, NULL, &err), 0);
    assert_true(has_question(kb, 1, "sku-1", "the grey couch"));
    assert_true(has_question(kb, 1, "sku-1", "phrasing 0"));
    sb_buf_cleanup(&qs);

    /* an entry deleted before the approval */
    sb_kb_wording_cleanup(&w);
    assert_int_equal(sb_kb_wording_propose(kb, 1, "sku-1", "sofa from oslo", 0, 0, &w, NULL,
                                           &err),
                     0);
    assert_int_equal(sb_kb_delete(kb, 1, "sku-1", &err), 0);
    assert_int_equal(sb_kb_wording_approve(kb, 1, w.id, 1, NULL, &err), SB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no longer exists"));
    assert_int_equal(sb_kb_wording_get(kb, 1, 999999, &w, &err), SB_ENOTFOUND);
    struct sb_kb_wording *list = NULL;
    size_t n = 0;
    assert_int_equal(sb_kb_wording_list(kb, 1, -1, 0, 0, &list, &n, &err), SB_EINVAL);
    assert_int_equal(sb_kb_wording_list(kb, 1, -1, 0, 501, &list, &n, &err), SB_EINVAL);
    assert_string_equal(sb_kb_wording_status_name(SB_KB_WORDING_DISMISSED), "dismissed");
    assert_int_equal(sb_kb_wording_status_parse("approved"), SB_KB_WORDING_APPROVED);
    assert_int_equal(sb_kb_wording_status_parse("bogus"), -1);
    sb_kb_wording_cleanup(&w);
    sb_kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_propose_dedupe_approve),
        cmocka_unit_test(test_dismiss),
        cmocka_unit_test(test_tenant_isolation),
        cmocka_unit_test(test_errors_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
