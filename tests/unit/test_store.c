/* SPDX-License-Identifier: MIT */
/*
 * Contract tests of the store, written against the public sb_store_* functions only, so that
 * every backend runs the same suite. The backend under test is chosen in ONE place,
 * open_fixture(): SB_TEST_STORE names a location that all tests share (each test makes its
 * own tenants with unique slugs, so a shared database is fine); without it each test gets a
 * fresh SQLite database in a new temporary directory. SQLite-only checks (location parsing,
 * crash recovery, integrity) live in test_store_sqlite.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/clock.h"
#include "sb/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char dir[256];      /* temporary directory ("" when SB_TEST_STORE is used) */
    char location[512]; /* what sb_store_open gets */
    struct sb_store *st;
    sb_id t1, t2;       /* two tenants */
    sb_id in1, in1b;    /* two inboxes of t1 */
    sb_id in2;          /* an inbox of t2 */
};

static int unique_counter;

static void open_store(struct fx *f)
{
    struct sb_error err = {0};
    int rc = sb_store_open(&f->st, f->location, &err);
    if (rc)
        fail_msg("open %s: %s", f->location, err.msg);
    int from = -1, to = -1;
    rc = sb_store_migrate(f->st, &from, &to, &err);
    if (rc)
        fail_msg("migrate: %s", err.msg);
    assert_true(to >= 1);
}

static sb_id make_tenant(struct fx *f, const char *what)
{
    char slug[64];
    snprintf(slug, sizeof(slug), "%s-%d-%d", what, (int)getpid(), ++unique_counter);
    sb_id id = 0;
    struct sb_error err = {0};
    if (sb_store_tenant_create(f->st, slug, "Test tenant", &id, &err))
        fail_msg("tenant: %s", err.msg);
    return id;
}

static sb_id make_inbox(struct fx *f, sb_id tenant, const char *name)
{
    sb_id id = 0;
    struct sb_error err = {0};
    if (sb_store_inbox_create(f->st, tenant, "api", name, NULL, &id, &err))
        fail_msg("inbox: %s", err.msg);
    return id;
}

static int open_fixture(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *shared = getenv("SB_TEST_STORE");
    if (shared && *shared) {
        snprintf(f->location, sizeof(f->location), "%s", shared);
    } else {
        snprintf(f->dir, sizeof(f->dir), "/tmp/sb-test-store-XXXXXX");
        if (!mkdtemp(f->dir))
            fail_msg("mkdtemp failed");
        snprintf(f->location, sizeof(f->location), "sqlite:%s/test.db", f->dir);
    }
    open_store(f);
    f->t1 = make_tenant(f, "one");
    f->t2 = make_tenant(f, "two");
    f->in1 = make_inbox(f, f->t1, "api");
    f->in1b = make_inbox(f, f->t1, "web");
    f->in2 = make_inbox(f, f->t2, "api");
    *state = f;
    return 0;
}

static int close_fixture(void **state)
{
    struct fx *f = *state;
    sb_store_close(f->st);
    if (f->dir[0]) {
        const char *suffix[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            char p[600];
            snprintf(p, sizeof(p), "%s/test.db%s", f->dir, suffix[i]);
            unlink(p);
        }
        rmdir(f->dir);
    }
    free(f);
    return 0;
}

/* One customer message in; fails the test when the batch as a whole fails. */
static struct sb_ingest_result ingest(struct fx *f, sb_id tenant, sb_id inbox, const char *pid,
                                      const char *customer, const char *text)
{
    struct sb_ingest in = {.tenant_id = tenant,
                           .inbox_id = inbox,
                           .provider_msg_id = pid,
                           .customer_ext_id = customer,
                           .customer_name = "Ann",
                           .text = text,
                           .created_ms = sb_now_ms()};
    struct sb_ingest_result r = {0};
    struct sb_error err = {0};
    if (sb_store_ingest_batch(f->st, &in, &r, 1, &err))
        fail_msg("ingest: %s", err.msg);
    return r;
}

static sb_id make_agent(struct fx *f, sb_id tenant, const char *email)
{
    sb_id id = 0;
    struct sb_error err = {0};
    if (sb_store_agent_create(f->st, tenant, email, "Agent", SB_ROLE_AGENT, "$argon2id$x", &id,
                              &err))
        fail_msg("agent: %s", err.msg);
    return id;
}

/* ---- schema ---- */

static void test_migrate_idempotent_and_reopen(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    int from = -1, to = -1;
    assert_int_equal(sb_store_migrate(f->st, &from, &to, &err), 0);
    assert_int_equal(from, to);
    int latest = to;
    struct sb_tenant t;
    assert_int_equal(sb_store_tenant_get(f->st, f->t1, &t, &err), 0);
    sb_store_close(f->st);
    f->st = NULL;
    assert_int_equal(sb_store_open(&f->st, f->location, &err), 0);
    assert_int_equal(sb_store_migrate(f->st, &from, &to, &err), 0);
    assert_int_equal(from, latest);
    assert_int_equal(to, latest);
    struct sb_tenant again;
    assert_int_equal(sb_store_tenant_find(f->st, t.slug, &again, &err), 0);
    assert_int_equal(again.id, f->t1);
    assert_string_equal(again.name, "Test tenant");
    assert_true(sb_store_ops_of(f->st) != NULL);
    assert_int_equal(sb_store_register_check(sb_store_ops_of(f->st), &err), 0);
}

/* ---- tenants and inboxes ---- */

static void test_tenants_and_inboxes(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_tenant t;
    assert_int_equal(sb_store_tenant_get(f->st, f->t1, &t, &err), 0);
    assert_int_equal(sb_store_tenant_create(f->st, t.slug, "dup", NULL, &err), SB_EEXIST);
    assert_int_equal(sb_store_tenant_get(f->st, 999999, &t, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_tenant_find(f->st, "no-such-tenant", &t, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_tenant_create(f->st, "", "x", NULL, &err), SB_EINVAL);
    char longslug[100];
    memset(longslug, 'a', sizeof(longslug) - 1);
    longslug[sizeof(longslug) - 1] = '\0';
    assert_int_equal(sb_store_tenant_create(f->st, longslug, "x", NULL, &err), SB_ETOOBIG);
    assert_non_null(strstr(err.msg, "slug"));

    /* inbox names are unique per tenant, not across tenants */
    assert_int_equal(sb_store_inbox_create(f->st, f->t1, "api", "api", NULL, NULL, &err),
                     SB_EEXIST);
    struct sb_inbox b;
    assert_int_equal(sb_store_inbox_find(f->st, f->t1, "web", &b, &err), 0);
    assert_int_equal(b.id, f->in1b);
    assert_string_equal(b.config_json, "{}");
    sb_inbox_cleanup(&b);
    sb_id cfg_inbox;
    assert_int_equal(sb_store_inbox_create(f->st, f->t1, "telegram", "tg", "{\"token\":\"x\"}",
                                           &cfg_inbox, &err),
                     0);
    assert_int_equal(sb_store_inbox_get(f->st, f->t1, cfg_inbox, &b, &err), 0);
    assert_string_equal(b.kind, "telegram");
    assert_string_equal(b.config_json, "{\"token\":\"x\"}");
    sb_inbox_cleanup(&b);
    struct sb_inbox *list = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_inbox_list(f->st, f->t1, &list, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].id, f->in1);
    sb_inbox_list_free(list, n);
    assert_int_equal(sb_store_inbox_create(f->st, 999999, "api", "x", NULL, NULL, &err),
                     SB_ENOTFOUND);
}

/* ---- ingest ---- */

static void test_ingest_creates_contact_conversation_message_event(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    int64_t t0 = sb_now_ms();
    struct sb_ingest_result r = ingest(f, f->t1, f->in1, "m-1", "cust-1", "Where is my order?");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.duplicate, 0);
    assert_int_equal(r.conversation_created, 1);
    assert_true(r.contact_id > 0 && r.conversation_id > 0 && r.message_id > 0);
    assert_true(r.event_seq > 0);

    struct sb_contact c;
    struct sb_contact_identity *ids = NULL;
    size_t n_ids = 0;
    assert_int_equal(sb_store_contact_get(f->st, f->t1, r.contact_id, &c, &ids, &n_ids, &err), 0);
    assert_string_equal(c.name, "Ann");
    assert_string_equal(c.attributes_json, "{}");
    assert_int_equal(n_ids, 1);
    assert_int_equal(ids[0].inbox_id, f->in1);
    assert_string_equal(ids[0].external_id, "cust-1");
    sb_identity_list_free(ids, n_ids);
    sb_contact_cleanup(&c);
    assert_int_equal(sb_store_contact_find(f->st, f->t1, f->in1, "cust-1", &c, &err), 0);
    assert_int_equal(c.id, r.contact_id);
    sb_contact_cleanup(&c);
    assert_int_equal(sb_store_contact_find(f->st, f->t1, f->in1b, "cust-1", &c, &err),
                     SB_ENOTFOUND);

    struct sb_conversation cv;
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &cv, &err), 0);
    assert_string_equal(cv.status, SB_CONV_BOT);
    assert_int_equal(cv.contact_id, r.contact_id);
    assert_int_equal(cv.inbox_id, f->in1);
    assert_int_equal(cv.assignee_id, 0);
    assert_int_equal(cv.priority, 0);
    assert_string_equal(cv.tags_json, "[]");
    assert_string_equal(cv.last_message_preview, "Where is my order?");
    assert_string_equal(cv.contact_name, "Ann");
    assert_true(cv.last_message_ms >= t0);
    sb_conversation_cleanup(&cv);

    struct sb_message m;
    assert_int_equal(sb_store_message_get(f->st, f->t1, r.message_id, &m, &err), 0);
    assert_string_equal(m.direction, SB_DIR_IN);
    assert_string_equal(m.sender_kind, SB_SENDER_CUSTOMER);
    assert_int_equal(m.sender_id, r.contact_id);
    assert_string_equal(m.provider_msg_id, "m-1");
    assert_string_equal(m.text, "Where is my order?");
    assert_string_equal(m.parts_json, "[{\"type\":\"text\",\"text\":\"Where is my order?\"}]");
    assert_string_equal(m.annotations_json, "{}");
    sb_message_cleanup(&m);

    struct sb_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(
        sb_store_event_list(f->st, f->t1, r.conversation_id, 0, 100, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "message.created");
    assert_int_equal(ev[0].seq, r.event_seq);
    assert_int_equal(ev[0].message_id, r.message_id);
    sb_event_list_free(ev, n);

    /* a second message from the same customer joins the open conversation; a new name sticks;
     * the same customer id on another inbox is another identity (another contact) */
    struct sb_ingest in = {.tenant_id = f->t1, .inbox_id = f->in1, .customer_ext_id = "cust-1",
                           .customer_name = "Ann Lee", .text = "hello?"};
    struct sb_ingest_result r2;
    assert_int_equal(sb_store_ingest_batch(f->st, &in, &r2, 1, &err), 0);
    assert_int_equal(r2.rc, 0);
    assert_int_equal(r2.conversation_created, 0);
    assert_int_equal(r2.conversation_id, r.conversation_id);
    assert_int_equal(r2.contact_id, r.contact_id);
    assert_int_equal(sb_store_contact_get(f->st, f->t1, r.contact_id, &c, NULL, NULL, &err), 0);
    assert_string_equal(c.name, "Ann Lee");
    sb_contact_cleanup(&c);
    struct sb_ingest_result r3 = ingest(f, f->t1, f->in1b, NULL, "cust-1", "other inbox");
    assert_int_not_equal(r3.contact_id, r.contact_id);
    assert_int_not_equal(r3.conversation_id, r.conversation_id);
}

static void test_ingest_dedupe(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest_result first = ingest(f, f->t1, f->in1, "dup-1", "c", "one");
    struct sb_ingest_result again = ingest(f, f->t1, f->in1, "dup-1", "c", "one, resent");
    assert_int_equal(again.rc, 0);
    assert_int_equal(again.duplicate, 1);
    assert_int_equal(again.message_id, first.message_id);
    assert_int_equal(again.conversation_id, first.conversation_id);
    assert_int_equal(again.contact_id, first.contact_id);
    assert_int_equal(again.event_seq, 0);
    assert_int_equal(again.conversation_created, 0);

    /* within one batch: the second copy answers with the first copy's ids */
    struct sb_ingest in[3] = {
        {.tenant_id = f->t1, .inbox_id = f->in1, .provider_msg_id = "dup-2",
         .customer_ext_id = "d", .text = "a"},
        {.tenant_id = f->t1, .inbox_id = f->in1, .provider_msg_id = "dup-2",
         .customer_ext_id = "d", .text = "a"},
        /* the same provider id on another inbox is another message */
        {.tenant_id = f->t1, .inbox_id = f->in1b, .provider_msg_id = "dup-2",
         .customer_ext_id = "d", .text = "a"},
    };
    struct sb_ingest_result out[3];
    assert_int_equal(sb_store_ingest_batch(f->st, in, out, 3, &err), 0);
    assert_int_equal(out[0].duplicate, 0);
    assert_int_equal(out[1].duplicate, 1);
    assert_int_equal(out[1].message_id, out[0].message_id);
    assert_int_equal(out[1].conversation_id, out[0].conversation_id);
    assert_int_equal(out[2].duplicate, 0);
    assert_int_not_equal(out[2].message_id, out[0].message_id);

    struct sb_message *ms = NULL;
    size_t n = 0;
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, first.conversation_id, 0, 500, &ms, &n, &err), 0);
    assert_int_equal(n, 1); /* the resent copy was not stored */
    sb_message_list_free(ms, n);
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, out[0].conversation_id, 0, 500, &ms, &n, &err), 0);
    assert_int_equal(n, 1);
    sb_message_list_free(ms, n);

    /* NULL provider ids are never duplicates */
    struct sb_ingest_result a = ingest(f, f->t1, f->in1, NULL, "e", "x");
    struct sb_ingest_result b = ingest(f, f->t1, f->in1, NULL, "e", "x");
    assert_int_equal(b.duplicate, 0);
    assert_int_not_equal(a.message_id, b.message_id);
}

static void test_ingest_item_failures_are_alone(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    char big[300];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct sb_ingest in[6] = {
        {.tenant_id = f->t1, .inbox_id = f->in1, .provider_msg_id = "ok-1",
         .customer_ext_id = "p", .text = "first"},
        {.tenant_id = f->t1, .inbox_id = 999999, .provider_msg_id = "bad-inbox",
         .customer_ext_id = "p", .text = "x"},
        {.tenant_id = f->t1, .inbox_id = f->in1, .provider_msg_id = "no-customer",
         .customer_ext_id = NULL, .text = "x"},
        {.tenant_id = f->t1, .inbox_id = f->in1, .provider_msg_id = "bad-utf8",
         .customer_ext_id = "p", .text = "caf\xc3("},
        {.tenant_id = f->t1, .inbox_id = f->in1, .provider_msg_id = big,
         .customer_ext_id = "p", .text = "x"},
        {.tenant_id = f->t1, .inbox_id = f->in1, .provider_msg_id = "ok-2",
         .customer_ext_id = "p", .text = "last"},
    };
    struct sb_ingest_result out[6];
    assert_int_equal(sb_store_ingest_batch(f->st, in, out, 6, &err), 0);
    assert_int_equal(out[0].rc, 0);
    assert_int_equal(out[1].rc, SB_ENOTFOUND);
    assert_int_equal(out[2].rc, SB_EINVAL);
    assert_int_equal(out[3].rc, SB_EINVAL);
    assert_int_equal(out[4].rc, SB_ETOOBIG);
    assert_int_equal(out[5].rc, 0);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(out[i].message_id, 0);
    assert_int_equal(out[5].conversation_id, out[0].conversation_id);
    struct sb_message *ms = NULL;
    size_t n = 0;
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, out[0].conversation_id, 0, 500, &ms, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ms[0].text, "first");
    assert_string_equal(ms[1].text, "last");
    sb_message_list_free(ms, n);
    /* the failed items left no trace: the bad-inbox one can be stored later on a good inbox */
    struct sb_ingest_result later = ingest(f, f->t1, f->in1, "bad-inbox", "p", "now fine");
    assert_int_equal(later.duplicate, 0);
}

static void test_resolved_conversation_is_not_reused(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest_result a = ingest(f, f->t1, f->in1, "r-1", "res", "help");
    struct sb_conversation_update u = {.status = SB_CONV_RESOLVED};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, a.conversation_id, &u, NULL, &err),
                     0);
    struct sb_ingest_result b = ingest(f, f->t1, f->in1, "r-2", "res", "me again");
    assert_int_equal(b.conversation_created, 1);
    assert_int_not_equal(b.conversation_id, a.conversation_id);
    assert_int_equal(b.contact_id, a.contact_id);
    struct sb_conversation c;
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, a.conversation_id, &c, &err), 0);
    assert_string_equal(c.status, SB_CONV_RESOLVED);
    assert_string_equal(c.last_message_preview, "help");
    sb_conversation_cleanup(&c);
    struct sb_ingest_result d = ingest(f, f->t1, f->in1, "r-3", "res", "still me");
    assert_int_equal(d.conversation_created, 0);
    assert_int_equal(d.conversation_id, b.conversation_id);
}

static void test_preview_is_cut_on_a_character(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    /* 150 x "é" (2 bytes) = 300 bytes: the preview keeps 100 characters, 200 bytes */
    char text[302];
    for (int i = 0; i < 150; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2);
    text[300] = '\0';
    struct sb_ingest_result r = ingest(f, f->t1, f->in1, NULL, "pv", text);
    assert_int_equal(r.rc, 0);
    struct sb_conversation c;
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_int_equal(strlen(c.last_message_preview), 200);
    sb_conversation_cleanup(&c);
    /* "a" + 150 x "é": 200 bytes would split a character, so 199 */
    text[0] = 'a';
    for (int i = 0; i < 150; i++)
        memcpy(text + 1 + 2 * i, "\xc3\xa9", 2);
    text[301] = '\0';
    r = ingest(f, f->t1, f->in1, NULL, "pv", text);
    assert_int_equal(r.rc, 0);
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_int_equal(strlen(c.last_message_preview), 199);
    sb_conversation_cleanup(&c);
}

/* ---- messages ---- */

static void test_message_append_and_list(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest_result r = ingest(f, f->t1, f->in1, "q", "ml", "question");
    sb_id agent = make_agent(f, f->t1, "a@example.com");
    sb_id ids[5];
    for (int i = 0; i < 5; i++) {
        char text[16];
        snprintf(text, sizeof(text), "reply %d", i);
        struct sb_message_new m = {.tenant_id = f->t1, .conversation_id = r.conversation_id,
                                   .direction = SB_DIR_OUT, .sender_kind = SB_SENDER_BOT,
                                   .text = text};
        int64_t seq = 0;
        assert_int_equal(sb_store_message_append(f->st, &m, &ids[i], &seq, &err), 0);
        assert_true(seq > r.event_seq);
    }
    struct sb_message *ms = NULL;
    size_t n = 0;
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, r.conversation_id, 0, 500, &ms, &n, &err), 0);
    assert_int_equal(n, 6);
    assert_int_equal(ms[0].id, r.message_id);
    assert_string_equal(ms[5].text, "reply 4");
    assert_string_equal(ms[5].direction, SB_DIR_OUT);
    assert_string_equal(ms[5].sender_kind, SB_SENDER_BOT);
    assert_null(ms[5].provider_msg_id);
    sb_message_list_free(ms, n);
    /* cursor and limit: after the 2nd reply, two at a time, oldest first */
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, r.conversation_id, ids[1], 2, &ms, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ms[0].id, ids[2]);
    assert_int_equal(ms[1].id, ids[3]);
    sb_message_list_free(ms, n);
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, r.conversation_id, ids[4], 10, &ms, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(ms);
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, r.conversation_id, 0, 0, &ms, &n, &err), SB_EINVAL);
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, r.conversation_id, 0, 501, &ms, &n, &err), SB_EINVAL);
    assert_int_equal(sb_store_message_list(f->st, f->t1, 999999, 0, 10, &ms, &n, &err),
                     SB_ENOTFOUND);

    struct sb_conversation c;
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_string_equal(c.last_message_preview, "reply 4");
    sb_conversation_cleanup(&c);

    /* an agent reply with an idempotency id: the repeat is SB_EEXIST */
    struct sb_message_new m = {.tenant_id = f->t1, .conversation_id = r.conversation_id,
                               .direction = SB_DIR_OUT, .sender_kind = SB_SENDER_AGENT,
                               .sender_id = agent, .text = "on it",
                               .parts_json = "[{\"type\":\"text\",\"text\":\"on it\"}]",
                               .provider_msg_id = "agent-reply-1"};
    sb_id id;
    assert_int_equal(sb_store_message_append(f->st, &m, &id, NULL, &err), 0);
    assert_int_equal(sb_store_message_append(f->st, &m, &id, NULL, &err), SB_EEXIST);
    /* bad arguments */
    m.provider_msg_id = NULL;
    m.sender_kind = SB_SENDER_CUSTOMER;
    assert_int_equal(sb_store_message_append(f->st, &m, &id, NULL, &err), SB_EINVAL);
    m.sender_kind = SB_SENDER_AGENT;
    m.direction = "sideways";
    assert_int_equal(sb_store_message_append(f->st, &m, &id, NULL, &err), SB_EINVAL);
    m.direction = SB_DIR_OUT;
    m.conversation_id = 999999;
    assert_int_equal(sb_store_message_append(f->st, &m, &id, NULL, &err), SB_ENOTFOUND);
    m.conversation_id = r.conversation_id;
    m.sender_id = 999999; /* no such agent */
    assert_int_equal(sb_store_message_append(f->st, &m, &id, NULL, &err), SB_ENOTFOUND);

    /* a batch with a bad item in the middle */
    struct sb_message_new batch[3] = {
        {.tenant_id = f->t1, .conversation_id = r.conversation_id, .direction = SB_DIR_OUT,
         .sender_kind = SB_SENDER_BOT, .text = "b1"},
        {.tenant_id = f->t1, .conversation_id = 999999, .direction = SB_DIR_OUT,
         .sender_kind = SB_SENDER_BOT, .text = "lost"},
        {.tenant_id = f->t1, .conversation_id = r.conversation_id, .direction = SB_DIR_IN,
         .sender_kind = SB_SENDER_SYSTEM, .text = "b3", .annotations_json = "{\"internal\":true}"},
    };
    sb_id bids[3] = {0};
    int64_t bseqs[3] = {0};
    int rcs[3] = {-99, -99, -99};
    assert_int_equal(sb_store_message_append_batch(f->st, batch, 3, bids, bseqs, rcs, &err), 0);
    assert_int_equal(rcs[0], 0);
    assert_int_equal(rcs[1], SB_ENOTFOUND);
    assert_int_equal(rcs[2], 0);
    assert_true(bids[0] > 0 && bids[2] > bids[0] && bseqs[2] > bseqs[0]);
    struct sb_message got;
    assert_int_equal(sb_store_message_get(f->st, f->t1, bids[2], &got, &err), 0);
    assert_string_equal(got.annotations_json, "{\"internal\":true}");
    assert_string_equal(got.direction, SB_DIR_IN);
    sb_message_cleanup(&got);
}

static void test_message_annotate(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest_result r = ingest(f, f->t1, f->in1, NULL, "an", "refund please");
    int64_t seq = 0;
    const char *ann = "{\"intent\":\"refund\",\"confidence\":0.91}";
    assert_int_equal(sb_store_message_annotate(f->st, f->t1, r.message_id, ann, &seq, &err), 0);
    assert_true(seq > r.event_seq);
    struct sb_message m;
    assert_int_equal(sb_store_message_get(f->st, f->t1, r.message_id, &m, &err), 0);
    assert_string_equal(m.annotations_json, ann);
    sb_message_cleanup(&m);
    struct sb_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(
        sb_store_event_list(f->st, f->t1, r.conversation_id, r.event_seq, 10, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "message.annotated");
    assert_int_equal(ev[0].message_id, r.message_id);
    assert_int_equal(ev[0].seq, seq);
    sb_event_list_free(ev, n);
    assert_int_equal(sb_store_message_annotate(f->st, f->t1, 999999, ann, &seq, &err),
                     SB_ENOTFOUND);
}

static void test_write_batch(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest_result first = ingest(f, f->t1, f->in1, "wb-0", "wb", "before");
    struct sb_ingest in[2] = {
        {.tenant_id = f->t1, .inbox_id = f->in1, .provider_msg_id = "wb-1",
         .customer_ext_id = "wb", .text = "new"},
        {.tenant_id = f->t1, .inbox_id = 999999, .customer_ext_id = "wb", .text = "lost"},
    };
    struct sb_ingest_result in_out[2];
    struct sb_message_new posts[2] = {
        {.tenant_id = f->t1, .conversation_id = first.conversation_id, .direction = SB_DIR_OUT,
         .sender_kind = SB_SENDER_BOT, .text = "answer"},
        {.tenant_id = f->t2, .conversation_id = first.conversation_id, .direction = SB_DIR_OUT,
         .sender_kind = SB_SENDER_BOT, .text = "wrong tenant"},
    };
    sb_id post_ids[2] = {0};
    int64_t post_seqs[2] = {0};
    int post_rcs[2] = {-99, -99};
    struct sb_annotation notes[2] = {
        {.tenant_id = f->t1, .message_id = first.message_id, .annotations_json = "{\"a\":1}"},
        {.tenant_id = f->t2, .message_id = first.message_id, .annotations_json = "{}"},
    };
    int64_t note_seqs[2] = {0};
    int note_rcs[2] = {-99, -99};
    struct sb_write_batch b = {.ingests = in, .ingest_results = in_out, .n_ingests = 2,
                               .posts = posts, .post_ids = post_ids, .post_seqs = post_seqs,
                               .post_rcs = post_rcs, .n_posts = 2,
                               .notes = notes, .note_seqs = note_seqs, .note_rcs = note_rcs,
                               .n_notes = 2};
    assert_int_equal(sb_store_write_batch(f->st, &b, &err), 0);
    assert_int_equal(in_out[0].rc, 0);
    assert_int_equal(in_out[0].conversation_id, first.conversation_id);
    assert_int_equal(in_out[1].rc, SB_ENOTFOUND);
    assert_int_equal(post_rcs[0], 0);
    assert_int_equal(post_rcs[1], SB_ENOTFOUND);
    assert_int_equal(note_rcs[0], 0);
    assert_int_equal(note_rcs[1], SB_ENOTFOUND);
    /* in that order: ingests, then posts, then annotations */
    assert_true(in_out[0].event_seq < post_seqs[0] && post_seqs[0] < note_seqs[0]);
    struct sb_message m;
    assert_int_equal(sb_store_message_get(f->st, f->t1, first.message_id, &m, &err), 0);
    assert_string_equal(m.annotations_json, "{\"a\":1}");
    sb_message_cleanup(&m);
    struct sb_message *ms = NULL;
    size_t n = 0;
    assert_int_equal(
        sb_store_message_list(f->st, f->t1, first.conversation_id, 0, 500, &ms, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ms[2].id, post_ids[0]);
    sb_message_list_free(ms, n);
}

/* ---- conversations ---- */

static void ids_of(struct sb_conversation *cs, size_t n, sb_id *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = cs[i].id;
    sb_conversation_list_free(cs, n);
}

static size_t list_conv(struct fx *f, struct sb_conversation_filter flt, sb_id *out)
{
    struct sb_conversation *cs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    if (sb_store_conversation_list(f->st, f->t1, &flt, &cs, &n, &err))
        fail_msg("list: %s", err.msg);
    ids_of(cs, n, out);
    return n;
}

static void test_conversation_list_filters(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    sb_id a1 = make_agent(f, f->t1, "one@example.com");
    sb_id a2 = make_agent(f, f->t1, "two@example.com");
    sb_id conv[6], contact[6];
    for (int i = 0; i < 6; i++) {
        char who[16];
        snprintf(who, sizeof(who), "cl-%d", i);
        struct sb_ingest_result r = ingest(f, f->t1, f->in1, NULL, who, "hi");
        conv[i] = r.conversation_id;
        contact[i] = r.contact_id;
    }
    /* 0,1 bot; 2 queued; 3,4 assigned to a1; 5 assigned to a2 */
    struct sb_conversation_update q = {.status = SB_CONV_QUEUED};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, conv[2], &q, NULL, &err), 0);
    struct sb_conversation_update as1 = {.status = SB_CONV_ASSIGNED, .set_assignee = 1,
                                         .assignee_id = a1};
    struct sb_conversation_update as2 = {.status = SB_CONV_ASSIGNED, .set_assignee = 1,
                                         .assignee_id = a2};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, conv[3], &as1, NULL, &err), 0);
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, conv[4], &as1, NULL, &err), 0);
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, conv[5], &as2, NULL, &err), 0);

    sb_id got[500];
    size_t n = list_conv(f, (struct sb_conversation_filter){.limit = 500}, got);
    assert_int_equal(n, 6);
    assert_int_equal(got[0], conv[5]); /* newest first */
    assert_int_equal(got[5], conv[0]);
    n = list_conv(f, (struct sb_conversation_filter){.status = SB_CONV_BOT, .limit = 500}, got);
    assert_int_equal(n, 2);
    assert_int_equal(got[0], conv[1]);
    n = list_conv(f, (struct sb_conversation_filter){.status = SB_CONV_QUEUED, .limit = 500}, got);
    assert_int_equal(n, 1);
    assert_int_equal(got[0], conv[2]);
    n = list_conv(f, (struct sb_conversation_filter){.assignee_id = -1, .limit = 500}, got);
    assert_int_equal(n, 3);
    n = list_conv(f, (struct sb_conversation_filter){.assignee_id = a1, .limit = 500}, got);
    assert_int_equal(n, 2);
    assert_int_equal(got[0], conv[4]);
    assert_int_equal(got[1], conv[3]);
    n = list_conv(f,
                  (struct sb_conversation_filter){.status = SB_CONV_ASSIGNED, .assignee_id = a2,
                                                  .limit = 500},
                  got);
    assert_int_equal(n, 1);
    assert_int_equal(got[0], conv[5]);
    n = list_conv(f, (struct sb_conversation_filter){.contact_id = contact[3], .limit = 500}, got);
    assert_int_equal(n, 1);
    assert_int_equal(got[0], conv[3]);
    /* paging with before_id */
    n = list_conv(f, (struct sb_conversation_filter){.limit = 4}, got);
    assert_int_equal(n, 4);
    assert_int_equal(got[3], conv[2]);
    n = list_conv(f, (struct sb_conversation_filter){.before_id = got[3], .limit = 4}, got);
    assert_int_equal(n, 2);
    assert_int_equal(got[0], conv[1]);
    assert_int_equal(got[1], conv[0]);

    struct sb_conversation *cs = NULL;
    struct sb_conversation_filter bad = {.status = "open", .limit = 10};
    assert_int_equal(sb_store_conversation_list(f->st, f->t1, &bad, &cs, &n, &err), SB_EINVAL);
    bad = (struct sb_conversation_filter){.limit = 0};
    assert_int_equal(sb_store_conversation_list(f->st, f->t1, &bad, &cs, &n, &err), SB_EINVAL);
}

static void test_conversation_update(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    sb_id agent = make_agent(f, f->t1, "up@example.com");
    struct sb_ingest_result r = ingest(f, f->t1, f->in1, NULL, "cu", "hi");
    struct sb_conversation_update u = {.status = SB_CONV_QUEUED, .expect_status = SB_CONV_BOT,
                                       .set_priority = 1, .priority = 5,
                                       .tags_json = "[\"vip\"]"};
    int64_t seq = 0;
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u, &seq, &err),
                     0);
    assert_true(seq > r.event_seq);
    /* expecting "bot" again fails: it is queued now, and nothing changes */
    u = (struct sb_conversation_update){.status = SB_CONV_ASSIGNED, .set_assignee = 1,
                                        .assignee_id = agent, .expect_status = SB_CONV_BOT};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u, NULL, &err),
                     SB_ESTATE);
    struct sb_conversation c;
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_string_equal(c.status, SB_CONV_QUEUED);
    assert_int_equal(c.priority, 5);
    assert_string_equal(c.tags_json, "[\"vip\"]");
    assert_int_equal(c.assignee_id, 0);
    sb_conversation_cleanup(&c);
    u.expect_status = SB_CONV_QUEUED;
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u, NULL, &err),
                     0);
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_string_equal(c.status, SB_CONV_ASSIGNED);
    assert_int_equal(c.assignee_id, agent);
    assert_int_equal(c.priority, 5); /* kept */
    sb_conversation_cleanup(&c);
    /* unassign */
    u = (struct sb_conversation_update){.set_assignee = 1, .assignee_id = 0};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u, NULL, &err),
                     0);
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_int_equal(c.assignee_id, 0);
    sb_conversation_cleanup(&c);

    u = (struct sb_conversation_update){.status = "closed"};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u, NULL, &err),
                     SB_EINVAL);
    u = (struct sb_conversation_update){.set_assignee = 1, .assignee_id = 999999};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u, NULL, &err),
                     SB_ENOTFOUND);
    u = (struct sb_conversation_update){.status = SB_CONV_BOT};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, 999999, &u, NULL, &err),
                     SB_ENOTFOUND);

    struct sb_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(
        sb_store_event_list(f->st, f->t1, r.conversation_id, r.event_seq, 100, &ev, &n, &err), 0);
    assert_int_equal(n, 3); /* queued, assigned, unassigned */
    for (size_t i = 0; i < n; i++)
        assert_string_equal(ev[i].type, "conversation.updated");
    assert_non_null(strstr(ev[0].payload_json, "\"status\":\"queued\""));
    sb_event_list_free(ev, n);
}

/* ---- contacts ---- */

static void test_contact_list(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    sb_id ids[5];
    for (int i = 0; i < 5; i++) {
        char who[16];
        snprintf(who, sizeof(who), "co-%d", i);
        ids[i] = ingest(f, f->t1, f->in1, NULL, who, "x").contact_id;
    }
    struct sb_contact *cs = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_contact_list(f->st, f->t1, 0, 3, &cs, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(cs[0].id, ids[4]);
    sb_id last = cs[2].id;
    sb_contact_list_free(cs, n);
    assert_int_equal(sb_store_contact_list(f->st, f->t1, last, 10, &cs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(cs[1].id, ids[0]);
    sb_contact_list_free(cs, n);
}

/* ---- agents, keys, sessions ---- */

static void test_agents(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    sb_id a = make_agent(f, f->t1, "Mia@Example.com");
    assert_int_equal(sb_store_agent_create(f->st, f->t1, "mia@example.COM", "x", SB_ROLE_ADMIN,
                                           "h", NULL, &err),
                     SB_EEXIST);
    /* the same e-mail in another tenant is another agent */
    assert_int_equal(sb_store_agent_create(f->st, f->t2, "mia@example.com", "x", SB_ROLE_ADMIN,
                                           "h", NULL, &err),
                     0);
    struct sb_agent got;
    assert_int_equal(sb_store_agent_find(f->st, f->t1, "MIA@EXAMPLE.COM", &got, &err), 0);
    assert_int_equal(got.id, a);
    assert_string_equal(got.email, "Mia@Example.com");
    assert_string_equal(got.role, SB_ROLE_AGENT);
    assert_string_equal(got.pw_hash, "$argon2id$x");
    assert_int_equal(sb_store_agent_get(f->st, f->t1, a, &got, &err), 0);
    assert_string_equal(got.name, "Agent");
    assert_int_equal(sb_store_agent_create(f->st, f->t1, "b@example.com", "x", "boss", "h", NULL,
                                           &err),
                     SB_EINVAL);
    struct sb_agent *list = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_agent_list(f->st, f->t1, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    sb_agent_list_free(list, n);
}

static void test_apikeys(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "sbk_%d_%d", (int)getpid(), ++unique_counter);
    sb_id id = 0;
    assert_int_equal(sb_store_apikey_create(f->st, f->t1, "ci", SB_ROLE_ADMIN, prefix, "abcdef",
                                            &id, &err),
                     0);
    assert_int_equal(sb_store_apikey_create(f->st, f->t2, "x", SB_ROLE_ADMIN, prefix, "zz", NULL,
                                            &err),
                     SB_EEXIST);
    struct sb_api_key k;
    assert_int_equal(sb_store_apikey_find(f->st, prefix, &k, &err), 0);
    assert_int_equal(k.id, id);
    assert_int_equal(k.tenant_id, f->t1);
    assert_string_equal(k.hash, "abcdef");
    assert_string_equal(k.role, SB_ROLE_ADMIN);
    assert_int_equal(k.revoked, 0);
    assert_int_equal(sb_store_apikey_revoke(f->st, f->t1, id, &err), 0);
    assert_int_equal(sb_store_apikey_find(f->st, prefix, &k, &err), 0);
    assert_int_equal(k.revoked, 1);
    assert_int_equal(sb_store_apikey_find(f->st, "sbk_none", &k, &err), SB_ENOTFOUND);
    struct sb_api_key *list = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_apikey_list(f->st, f->t1, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].revoked, 1);
    sb_apikey_list_free(list, n);
}

static void test_sessions(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    sb_id agent = make_agent(f, f->t1, "s@example.com");
    char live[64], dead[64];
    snprintf(live, sizeof(live), "live-%d-%d", (int)getpid(), ++unique_counter);
    snprintf(dead, sizeof(dead), "dead-%d-%d", (int)getpid(), ++unique_counter);
    int64_t now = sb_now_ms();
    assert_int_equal(sb_store_session_create(f->st, f->t1, agent, live, now + 3600000, &err), 0);
    assert_int_equal(sb_store_session_create(f->st, f->t1, agent, dead, now - 1, &err), 0);
    struct sb_session s;
    assert_int_equal(sb_store_session_find(f->st, live, &s, &err), 0);
    assert_int_equal(s.tenant_id, f->t1);
    assert_int_equal(s.agent_id, agent);
    assert_int_equal(s.expires_ms, now + 3600000);
    assert_int_equal(sb_store_session_find(f->st, dead, &s, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_session_delete(f->st, live, &err), 0);
    assert_int_equal(sb_store_session_find(f->st, live, &s, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_session_create(f->st, f->t1, 999999, live, now + 1000, &err),
                     SB_ENOTFOUND);
}

/* ---- events ---- */

static void test_event_list_cursors(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest_result a = ingest(f, f->t1, f->in1, NULL, "ev-a", "a1");
    struct sb_ingest_result b = ingest(f, f->t1, f->in1, NULL, "ev-b", "b1");
    struct sb_ingest_result a2 = ingest(f, f->t1, f->in1, NULL, "ev-a", "a2");
    int64_t login = 0;
    assert_int_equal(sb_store_event_append(f->st, f->t1, 0, 0, "audit.login", NULL, &login, &err),
                     0);
    ingest(f, f->t2, f->in2, NULL, "ev-other", "other tenant");

    struct sb_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_event_list(f->st, f->t1, 0, 0, 100, &ev, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ev[0].seq, a.event_seq);
    assert_int_equal(ev[3].seq, login);
    assert_string_equal(ev[3].type, "audit.login");
    assert_string_equal(ev[3].payload_json, "{}");
    assert_int_equal(ev[3].conversation_id, 0);
    for (size_t i = 1; i < n; i++)
        assert_true(ev[i].seq > ev[i - 1].seq);
    sb_event_list_free(ev, n);
    assert_int_equal(sb_store_event_list(f->st, f->t1, 0, b.event_seq, 100, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].seq, a2.event_seq);
    sb_event_list_free(ev, n);
    assert_int_equal(sb_store_event_list(f->st, f->t1, 0, 0, 2, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    sb_event_list_free(ev, n);
    /* per conversation */
    assert_int_equal(
        sb_store_event_list(f->st, f->t1, a.conversation_id, 0, 100, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ev[1].seq, a2.event_seq);
    sb_event_list_free(ev, n);
    assert_int_equal(sb_store_event_list(f->st, f->t1, a.conversation_id, a.event_seq, 100, &ev,
                                         &n, &err),
                     0);
    assert_int_equal(n, 1);
    sb_event_list_free(ev, n);
    int64_t seq;
    assert_int_equal(sb_store_event_append(f->st, f->t1, a.conversation_id, a.message_id,
                                           "note.added", "{\"k\":1}", &seq, &err),
                     0);
    assert_true(seq > login);
    assert_int_equal(sb_store_event_append(f->st, 999999, 0, 0, "x", NULL, &seq, &err),
                     SB_ENOTFOUND);
}

/* ---- outbox ---- */

static void test_outbox(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest_result r = ingest(f, f->t1, f->in1, NULL, "ob", "hi");
    char key1[64], key2[64];
    snprintf(key1, sizeof(key1), "k1-%d-%d", (int)getpid(), ++unique_counter);
    snprintf(key2, sizeof(key2), "k2-%d-%d", (int)getpid(), ++unique_counter);
    sb_id o1 = 0, o2 = 0;
    assert_int_equal(sb_store_outbox_enqueue(f->st, f->t1, r.message_id, f->in1, key1,
                                             "{\"to\":\"x\"}", &o1, &err),
                     0);
    assert_int_equal(sb_store_outbox_enqueue(f->st, f->t1, 0, f->in1, key2, NULL, &o2, &err), 0);
    assert_int_equal(sb_store_outbox_enqueue(f->st, f->t1, 0, f->in1, key1, NULL, NULL, &err),
                     SB_EEXIST);

    /* claims are global; with a shared database other tests' items may be due too, so look
     * only at ours */
    int64_t now = sb_now_ms();
    struct sb_outbox_item *items = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_outbox_claim(f->st, now, 10000, 500, &items, &n, &err), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].id == o1) {
            seen++;
            assert_int_equal(items[i].attempts, 1);
            assert_string_equal(items[i].payload_json, "{\"to\":\"x\"}");
            assert_string_equal(items[i].idempotency_key, key1);
            assert_int_equal(items[i].message_id, r.message_id);
            assert_int_equal(items[i].next_attempt_ms, now + 10000);
        }
        if (items[i].id == o2)
            seen++;
    }
    assert_int_equal(seen, 2);
    sb_outbox_list_free(items, n);
    /* leased: not claimed again before the lease ends */
    assert_int_equal(sb_store_outbox_claim(f->st, now + 5000, 10000, 500, &items, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(items[i].id != o1 && items[i].id != o2);
    sb_outbox_list_free(items, n);
    /* o1 delivered; o2 fails and is retried at now + 1000 */
    assert_int_equal(sb_store_outbox_finish(f->st, o1, 1, 0, NULL, &err), 0);
    assert_int_equal(sb_store_outbox_finish(f->st, o2, 0, now + 1000, "HTTP 503", &err), 0);
    assert_int_equal(sb_store_outbox_finish(f->st, o1, 1, 0, NULL, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_outbox_claim(f->st, now + 999, 10000, 500, &items, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(items[i].id != o1 && items[i].id != o2);
    sb_outbox_list_free(items, n);
    assert_int_equal(sb_store_outbox_claim(f->st, now + 1000, 10000, 500, &items, &n, &err), 0);
    seen = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(items[i].id != o1);
        if (items[i].id == o2) {
            seen = 1;
            assert_int_equal(items[i].attempts, 2);
        }
    }
    assert_int_equal(seen, 1);
    sb_outbox_list_free(items, n);
    /* a crashed sender: its lease expires and the item is claimed again */
    assert_int_equal(sb_store_outbox_claim(f->st, now + 1000 + 10000, 10, 500, &items, &n, &err),
                     0);
    seen = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].id == o2)
            seen = items[i].attempts;
    assert_int_equal(seen, 3);
    sb_outbox_list_free(items, n);
    assert_int_equal(sb_store_outbox_claim(f->st, now, 0, 10, &items, &n, &err), SB_EINVAL);
}

/* ---- tenant isolation ---- */

static void test_tenant_isolation(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    /* everything of t1 */
    struct sb_ingest_result r = ingest(f, f->t1, f->in1, "iso-1", "iso", "secret");
    sb_id agent = make_agent(f, f->t1, "iso@example.com");
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "iso_%d_%d", (int)getpid(), ++unique_counter);
    sb_id key = 0;
    assert_int_equal(
        sb_store_apikey_create(f->st, f->t1, "k", SB_ROLE_AGENT, prefix, "h", &key, &err), 0);

    /* t2 sees none of it */
    sb_id t = f->t2;
    struct sb_inbox b;
    assert_int_equal(sb_store_inbox_get(f->st, t, f->in1, &b, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_inbox_find(f->st, t, "web", &b, &err), SB_ENOTFOUND);
    struct sb_inbox *bs = NULL;
    size_t n = 99;
    assert_int_equal(sb_store_inbox_list(f->st, t, &bs, &n, &err), 0);
    assert_int_equal(n, 1); /* its own */
    assert_int_equal(bs[0].id, f->in2);
    sb_inbox_list_free(bs, n);

    struct sb_message m;
    assert_int_equal(sb_store_message_get(f->st, t, r.message_id, &m, &err), SB_ENOTFOUND);
    struct sb_message *ms = NULL;
    assert_int_equal(sb_store_message_list(f->st, t, r.conversation_id, 0, 10, &ms, &n, &err),
                     SB_ENOTFOUND);
    assert_int_equal(sb_store_message_annotate(f->st, t, r.message_id, "{}", NULL, &err),
                     SB_ENOTFOUND);
    struct sb_message_new post = {.tenant_id = t, .conversation_id = r.conversation_id,
                                  .direction = SB_DIR_OUT, .sender_kind = SB_SENDER_BOT,
                                  .text = "x"};
    assert_int_equal(sb_store_message_append(f->st, &post, NULL, NULL, &err), SB_ENOTFOUND);

    struct sb_conversation c;
    assert_int_equal(sb_store_conversation_get(f->st, t, r.conversation_id, &c, &err),
                     SB_ENOTFOUND);
    struct sb_conversation *cs = NULL;
    struct sb_conversation_filter flt = {.limit = 500};
    assert_int_equal(sb_store_conversation_list(f->st, t, &flt, &cs, &n, &err), 0);
    assert_int_equal(n, 0);
    flt.contact_id = r.contact_id;
    assert_int_equal(sb_store_conversation_list(f->st, t, &flt, &cs, &n, &err), 0);
    assert_int_equal(n, 0);
    struct sb_conversation_update u = {.status = SB_CONV_RESOLVED};
    assert_int_equal(sb_store_conversation_update(f->st, t, r.conversation_id, &u, NULL, &err),
                     SB_ENOTFOUND);

    struct sb_contact k;
    assert_int_equal(sb_store_contact_get(f->st, t, r.contact_id, &k, NULL, NULL, &err),
                     SB_ENOTFOUND);
    assert_int_equal(sb_store_contact_find(f->st, t, f->in1, "iso", &k, &err), SB_ENOTFOUND);
    struct sb_contact *ks = NULL;
    assert_int_equal(sb_store_contact_list(f->st, t, 0, 500, &ks, &n, &err), 0);
    assert_int_equal(n, 0);

    struct sb_agent a;
    assert_int_equal(sb_store_agent_get(f->st, t, agent, &a, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_agent_find(f->st, t, "iso@example.com", &a, &err), SB_ENOTFOUND);
    struct sb_agent *as = NULL;
    assert_int_equal(sb_store_agent_list(f->st, t, &as, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sb_store_session_create(f->st, t, agent, "iso-token", sb_now_ms() + 1000,
                                             &err),
                     SB_ENOTFOUND);

    struct sb_api_key *keys = NULL;
    assert_int_equal(sb_store_apikey_list(f->st, t, &keys, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sb_store_apikey_revoke(f->st, t, key, &err), SB_ENOTFOUND);

    struct sb_event *ev = NULL;
    assert_int_equal(sb_store_event_list(f->st, t, 0, 0, 100, &ev, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sb_store_event_list(f->st, t, r.conversation_id, 0, 100, &ev, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        sb_store_event_append(f->st, t, r.conversation_id, 0, "x", NULL, NULL, &err),
        SB_ENOTFOUND);
    assert_int_equal(sb_store_event_append(f->st, t, 0, r.message_id, "x", NULL, NULL, &err),
                     SB_ENOTFOUND);

    assert_int_equal(sb_store_outbox_enqueue(f->st, t, 0, f->in1, "iso-key", NULL, NULL, &err),
                     SB_ENOTFOUND);
    assert_int_equal(
        sb_store_outbox_enqueue(f->st, t, r.message_id, f->in2, "iso-key", NULL, NULL, &err),
        SB_ENOTFOUND);

    /* ingest naming t1's inbox under t2 fails that item; the same provider id in t2's own
     * inbox is no duplicate of t1's */
    struct sb_ingest_result x = ingest(f, t, f->in1, "iso-1", "iso", "x");
    assert_int_equal(x.rc, SB_ENOTFOUND);
    x = ingest(f, t, f->in2, "iso-1", "iso", "x");
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.duplicate, 0);
    /* and t2's own conversation cannot be assigned to t1's agent */
    u = (struct sb_conversation_update){.set_assignee = 1, .assignee_id = agent};
    assert_int_equal(sb_store_conversation_update(f->st, t, x.conversation_id, &u, NULL, &err),
                     SB_ENOTFOUND);
}

/* ---- durability and threads ---- */

static void test_reopen_keeps_everything(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest_result r = ingest(f, f->t1, f->in1, "keep-1", "keep", "remember me");
    struct sb_conversation_update u = {.status = SB_CONV_QUEUED};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u, NULL, &err),
                     0);
    sb_store_close(f->st);
    f->st = NULL;
    assert_int_equal(sb_store_open(&f->st, f->location, &err), 0);
    struct sb_message m;
    assert_int_equal(sb_store_message_get(f->st, f->t1, r.message_id, &m, &err), 0);
    assert_string_equal(m.text, "remember me");
    sb_message_cleanup(&m);
    struct sb_conversation c;
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_string_equal(c.status, SB_CONV_QUEUED);
    sb_conversation_cleanup(&c);
    struct sb_ingest_result again = ingest(f, f->t1, f->in1, "keep-1", "keep", "remember me");
    assert_int_equal(again.duplicate, 1);
    assert_int_equal(again.message_id, r.message_id);
}

#define THREADS 4
#define ROUNDS 25

struct worker {
    struct fx *f;
    int index;
    int failures;
};

/* Each thread ingests its own customers' messages and reads them back between writes. */
static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct fx *f = wk->f;
    for (int round = 0; round < ROUNDS; round++) {
        struct sb_ingest in[4];
        char pid[4][32], who[32];
        snprintf(who, sizeof(who), "thread-%d", wk->index);
        for (int i = 0; i < 4; i++) {
            snprintf(pid[i], sizeof(pid[i]), "t%d-r%d-%d", wk->index, round, i);
            in[i] = (struct sb_ingest){.tenant_id = f->t1, .inbox_id = f->in1,
                                       .provider_msg_id = pid[i], .customer_ext_id = who,
                                       .text = "concurrent"};
        }
        struct sb_ingest_result out[4];
        struct sb_error err = {0};
        if (sb_store_ingest_batch(f->st, in, out, 4, &err) || out[3].rc) {
            wk->failures++;
            continue;
        }
        struct sb_message *ms = NULL;
        size_t n = 0;
        if (sb_store_message_list(f->st, f->t1, out[0].conversation_id, 0, 500, &ms, &n, &err) ||
            n != (size_t)(round + 1) * 4)
            wk->failures++;
        sb_message_list_free(ms, n);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fx *f = *state;
    pthread_t th[THREADS];
    struct worker wk[THREADS];
    for (int i = 0; i < THREADS; i++) {
        wk[i] = (struct worker){.f = f, .index = i};
        pthread_create(&th[i], NULL, worker_main, &wk[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(wk[i].failures, 0);
    }
    struct sb_event *ev = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    assert_int_equal(sb_store_event_list(f->st, f->t1, 0, 0, 10000, &ev, &n, &err), 0);
    assert_int_equal(n, THREADS * ROUNDS * 4);
    sb_event_list_free(ev, n);
}

struct racer {
    struct fx *f;
    sb_id conversation;
    int rc;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    struct sb_conversation_update u = {.status = SB_CONV_QUEUED, .expect_status = SB_CONV_BOT};
    r->rc = sb_store_conversation_update(r->f->st, r->f->t1, r->conversation, &u, NULL, NULL);
    return NULL;
}

/* Writers racing on one conversation: exactly one state change wins, the others see it. */
static void test_concurrent_updates_one_winner(void **state)
{
    struct fx *f = *state;
    for (int round = 0; round < 5; round++) {
        struct sb_ingest_result r = ingest(f, f->t1, f->in1, NULL, "race", "hi");
        pthread_t th[8];
        struct racer rs[8];
        for (int i = 0; i < 8; i++) {
            rs[i] = (struct racer){.f = f, .conversation = r.conversation_id};
            pthread_create(&th[i], NULL, racer_main, &rs[i]);
        }
        int won = 0, lost = 0;
        for (int i = 0; i < 8; i++) {
            pthread_join(th[i], NULL);
            won += rs[i].rc == 0;
            lost += rs[i].rc == SB_ESTATE;
        }
        assert_int_equal(won, 1);
        assert_int_equal(lost, 7);
        struct sb_conversation_update done = {.status = SB_CONV_RESOLVED};
        assert_int_equal(
            sb_store_conversation_update(f->st, f->t1, r.conversation_id, &done, NULL, NULL), 0);
    }
}

/* A sanity check of the hot path, not a timing assertion: prints the rate it measured. */
static void test_ingest_rate_sanity(void **state)
{
    struct fx *f = *state;
    enum { BATCH = 64, BATCHES = 20 };
    struct sb_ingest in[BATCH];
    struct sb_ingest_result out[BATCH];
    char pid[BATCH][32], who[BATCH][32];
    int64_t t0 = sb_mono_ns();
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < BATCH; i++) {
            snprintf(pid[i], sizeof(pid[i]), "rate-%d-%d", b, i);
            snprintf(who[i], sizeof(who[i]), "rate-cust-%d", (b * BATCH + i) % 200);
            in[i] = (struct sb_ingest){.tenant_id = f->t1, .inbox_id = f->in1,
                                       .provider_msg_id = pid[i], .customer_ext_id = who[i],
                                       .customer_name = "Rate", .text = "a typical question"};
        }
        struct sb_error err = {0};
        assert_int_equal(sb_store_ingest_batch(f->st, in, out, BATCH, &err), 0);
        for (int i = 0; i < BATCH; i++)
            assert_int_equal(out[i].rc, 0);
    }
    double s = (double)(sb_mono_ns() - t0) / 1e9;
    print_message("ingest: %d messages in %.3f s (%.0f messages/s, %.2f ms per batch of %d)\n",
                  BATCH * BATCHES, s, BATCH * BATCHES / s, s * 1000 / BATCHES, BATCH);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, open_fixture, close_fixture)
    const struct CMUnitTest tests[] = {
        T(test_migrate_idempotent_and_reopen),
        T(test_tenants_and_inboxes),
        T(test_ingest_creates_contact_conversation_message_event),
        T(test_ingest_dedupe),
        T(test_ingest_item_failures_are_alone),
        T(test_resolved_conversation_is_not_reused),
        T(test_preview_is_cut_on_a_character),
        T(test_message_append_and_list),
        T(test_message_annotate),
        T(test_write_batch),
        T(test_conversation_list_filters),
        T(test_conversation_update),
        T(test_contact_list),
        T(test_agents),
        T(test_apikeys),
        T(test_sessions),
        T(test_event_list_cursors),
        T(test_outbox),
        T(test_tenant_isolation),
        T(test_reopen_keeps_everything),
        T(test_threads),
        T(test_concurrent_updates_one_winner),
        T(test_ingest_rate_sanity),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
