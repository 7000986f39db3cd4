/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the engine over a real SQLite store in a temporary directory: every ingest is
 * acknowledged once, writes are grouped (fewer transactions than messages under concurrency),
 * the bot greets / offers a person / hands off, replies are published, and the basic policy's
 * phrase detection works in English and Chinese.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    struct sb_store *st;
    struct sb_pool *pool;
    struct sb_engine *e;
    sb_id tenant, inbox;
    atomic_int commits, replies, published, bot_messages;
};

static void on_publish(void *ud, const struct sb_engine_event *ev)
{
    struct fixture *f = ud;
    atomic_fetch_add(&f->published, 1);
    if (strstr(ev->json, "\"kind\":\"bot\""))
        atomic_fetch_add(&f->bot_messages, 1);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/sb-engine-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct sb_error err = {0};
    assert_int_equal(sb_store_open(&f->st, f->dir, &err), 0);
    int from, to;
    assert_int_equal(sb_store_migrate(f->st, &from, &to, &err), 0);
    assert_int_equal(sb_store_tenant_create(f->st, "t", "T", &f->tenant, &err), 0);
    assert_int_equal(sb_store_inbox_create(f->st, f->tenant, "api", "api", NULL, &f->inbox, &err),
                     0);
    f->pool = sb_pool_new(3, 100000);
    struct sb_engine_options o = {.store = f->st, .pool = f->pool, .batch_max = 256,
                                  .publish = on_publish, .publish_ud = f};
    assert_int_equal(sb_engine_new(&o, &f->e, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sb_engine_free(f->e);
    sb_pool_free(f->pool);
    sb_store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int committed, replied;
    struct sb_ingest_result res;
    char reply_text[512];
    char reply_reason[64];
};

static void w_commit(void *ud, const struct sb_ingest_result *r)
{
    struct waiter *w = ud;
    pthread_mutex_lock(&w->mu);
    w->res = *r;
    w->committed = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void w_reply(void *ud, int rc, const struct sb_message *m)
{
    struct waiter *w = ud;
    (void)rc;
    pthread_mutex_lock(&w->mu);
    if (m) {
        snprintf(w->reply_text, sizeof(w->reply_text), "%s", m->text);
        const char *r = m->annotations_json ? strstr(m->annotations_json, "\"reason\": \"") : NULL;
        if (r)
            snprintf(w->reply_reason, sizeof(w->reply_reason), "%.*s",
                     (int)strcspn(r + 11, "\""), r + 11);
    }
    w->replied = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Sends one message and waits for the bot's turn. */
static void say(struct fixture *f, const char *customer, const char *text, struct waiter *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    struct sb_ingest in = {.tenant_id = f->tenant, .inbox_id = f->inbox,
                           .customer_ext_id = customer, .text = text};
    assert_int_equal(sb_engine_ingest(f->e, &in, w_commit, w_reply, w), 0);
    pthread_mutex_lock(&w->mu);
    while (!w->replied)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    assert_true(w->committed);
    assert_int_equal(w->res.rc, 0);
}

static void test_bot_greets_offers_and_hands_off(void **state)
{
    struct fixture *f = *state;
    struct waiter w;
    say(f, "c1", "Hello!", &w);
    assert_string_equal(w.reply_reason, "greeting");
    say(f, "c1", "what is the warranty on the Oslo sofa?", &w);
    assert_string_equal(w.reply_reason, "no_answer");
    assert_null(strstr(w.reply_text, "warranty")); /* it does not pretend to know */
    sb_id conv = w.res.conversation_id;
    say(f, "c1", "and the delivery time?", &w);
    assert_string_equal(w.reply_reason, "repeated_failure");
    struct sb_conversation c = {0};
    assert_int_equal(sb_store_conversation_get(f->st, f->tenant, conv, &c, NULL), 0);
    assert_string_equal(c.status, SB_CONV_QUEUED);
    sb_conversation_cleanup(&c);
    /* once queued for a human, the bot stays silent */
    say(f, "c1", "hello?", &w);
    assert_string_equal(w.reply_text, "");

    say(f, "c2", "请帮我转人工客服", &w);
    assert_string_equal(w.reply_reason, "asked_for_human");
    assert_true(atomic_load(&f->bot_messages) >= 4);
}

struct load {
    struct fixture *f;
    int thread;
};

static void count_commit(void *ud, const struct sb_ingest_result *r)
{
    struct fixture *f = ud;
    assert_int_equal(r->rc, 0);
    atomic_fetch_add(&f->commits, 1);
}

static void *load_thread(void *arg)
{
    struct load *l = arg;
    for (int i = 0; i < 250; i++) {
        char cust[32], mid[32];
        snprintf(cust, sizeof(cust), "load-%d", i % 20);
        snprintf(mid, sizeof(mid), "t%d-%d", l->thread, i);
        struct sb_ingest in = {.tenant_id = l->f->tenant, .inbox_id = l->f->inbox,
                               .customer_ext_id = cust, .provider_msg_id = mid,
                               .text = "where is my order?"};
        assert_int_equal(sb_engine_ingest(l->f->e, &in, count_commit, NULL, l->f), 0);
    }
    return NULL;
}

static void test_concurrent_ingest_is_grouped(void **state)
{
    struct fixture *f = *state;
    pthread_t t[4];
    struct load l[4];
    for (int i = 0; i < 4; i++) {
        l[i] = (struct load){f, i};
        pthread_create(&t[i], NULL, load_thread, &l[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    while (atomic_load(&f->commits) < 1000)
        usleep(1000);
    struct sb_engine_stats st;
    sb_engine_stats(f->e, &st);
    assert_int_equal(st.ingested, 1000);
    /* group commit: far fewer durable transactions than messages (replies included) */
    assert_true(st.commit_batches < 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bot_greets_offers_and_hands_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_ingest_is_grouped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
