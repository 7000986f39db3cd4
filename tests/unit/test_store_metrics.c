/* SPDX-License-Identifier: MIT */
/*
 * Tests of the conversation facts (schema step 4) and of every dashboard figure on a small
 * fixture whose answers are worked out by hand below, through the public sb_store_* calls:
 * the facts the write paths keep (first customer message, hand-off, first response,
 * resolution, reopening, message counts, intent), the message-label buckets under
 * re-annotation, each section of sb_store_metrics (queue, agents, volume per channel,
 * outcomes with the 24 h bot-resolved window, first response and resolution percentiles,
 * CSAT, sentiment per local day, top intents), tenant isolation, the report, argument checks,
 * and that the migration's backfill rebuilds the same facts from the messages and events.
 *
 * Times of status changes come from the wall clock, so the test reads them back (and checks
 * they fall within the call) and derives the expected durations from them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/clock.h"
#include "sb/store.h"
#include "store_fixture.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define SLOT_MS 900000LL

struct fx {
    struct store_paths p; /* never the shared SB_TEST_STORE: test_backfill edits the file */
    struct sb_store *st;
    sb_id t1, t2, web, tg, other_inbox, a1, a2;
    int64_t t0, from, to;
    /* conversations A..G (see build_fixture) and their read-back times */
    sb_id A, B, C, D, E, F, G;
    int64_t hA, rA, rB, rC, hE, gReply;
    sb_id mA, mB, mC, mD, mE, mG; /* customer messages */
};

static sb_id customer(struct fx *f, sb_id t, sb_id inbox, const char *who, int64_t at,
                      sb_id *message)
{
    struct sb_ingest in = {.tenant_id = t, .inbox_id = inbox, .customer_ext_id = who,
                           .text = "hello", .created_ms = at};
    struct sb_ingest_result r = {0};
    struct sb_error err = {0};
    if (sb_store_ingest_batch(f->st, &in, &r, 1, &err) || r.rc)
        fail_msg("ingest: %s", err.msg);
    if (message)
        *message = r.message_id;
    return r.conversation_id;
}

static void annotate(struct fx *f, sb_id t, sb_id message, const char *intent, int oos,
                     const char *sentiment)
{
    char ann[256];
    snprintf(ann, sizeof(ann),
             "{\"language\":\"en\",\"intent\":{\"label\":\"%s\",\"confidence\":0.9,"
             "\"oos\":%s},\"sentiment\":{\"label\":\"%s\",\"confidence\":0.8}}",
             intent, oos ? "true" : "false", sentiment);
    struct sb_error err = {0};
    if (sb_store_message_annotate(f->st, t, message, ann, NULL, &err))
        fail_msg("annotate: %s", err.msg);
}

static void post(struct fx *f, sb_id conv, const char *kind, const char *dir, sb_id sender,
                 int64_t at)
{
    struct sb_message_new m = {.tenant_id = f->t1, .conversation_id = conv, .direction = dir,
                               .sender_kind = kind, .sender_id = sender, .text = "reply",
                               .created_ms = at};
    struct sb_error err = {0};
    if (sb_store_message_append(f->st, &m, NULL, NULL, &err))
        fail_msg("append: %s", err.msg);
}

static void get(struct fx *f, sb_id conv, struct sb_conversation *c)
{
    struct sb_error err = {0};
    if (sb_store_conversation_get(f->st, f->t1, conv, c, &err))
        fail_msg("get: %s", err.msg);
}

/* Sets the status (and assignee when > 0); returns the time the store gave the change, which
 * must lie within the call. */
static int64_t set_status(struct fx *f, sb_id conv, const char *status, sb_id assignee,
                          int64_t *field_of_interest_out)
{
    struct sb_conversation_update u = {.status = status};
    if (assignee) {
        u.set_assignee = 1;
        u.assignee_id = assignee;
    }
    int64_t before = sb_now_ms();
    struct sb_error err = {0};
    if (sb_store_conversation_update(f->st, f->t1, conv, &u, NULL, &err))
        fail_msg("update: %s", err.msg);
    int64_t after = sb_now_ms();
    struct sb_conversation c = {0};
    get(f, conv, &c);
    int64_t v = !strcmp(status, SB_CONV_RESOLVED) ? c.resolved_ms : c.handoff_ms;
    sb_conversation_cleanup(&c);
    if (field_of_interest_out) {
        assert_true(v >= before && v <= after);
        *field_of_interest_out = v;
    }
    return v;
}

/*
 * The fixture (tenant t1; inboxes "web" (kind web) and "tg" (kind telegram)):
 *  A web  customer at t0 (refund, negative); bot reply; queued (hand-off hA); agent a1 replies
 *         at hA + 60 s; assigned to a1; resolved (rA).
 *  B web  customer at t0+1s (order_status, positive); bot reply; resolved (rB) — bot-resolved.
 *  C tg   customer at t0+2s (order_status, neutral); bot reply; resolved (rC); the customer
 *         writes again 1 h after rC, which opens D and reopens C — so C is not bot-resolved.
 *  D tg   that message (oos, neutral); stays with the bot: the customer went quiet.
 *  E tg   customer at t0+3s (complaint, negative); queued (hE) and still waiting.
 *  F web  customer two days before t0 (greeting, positive): outside the period.
 *  G web  customer at t0+4s (delivery, positive); agent a2 replies at t0+9s without any
 *         hand-off (takes it over: hand-off = first response); then assigned to a2.
 * Tenant t2 has one conversation of its own that t1 must never see.
 */
static void build_fixture(struct fx *f)
{
    int64_t now = sb_now_ms();
    /* t0 two hours ago, on a 15-minute slot so that the period edges are exact */
    f->t0 = (now - 2 * HOUR_MS) / SLOT_MS * SLOT_MS;
    f->from = f->t0 - HOUR_MS;
    f->to = f->t0 + 11 * HOUR_MS;

    f->A = customer(f, f->t1, f->web, "alice", f->t0, &f->mA);
    annotate(f, f->t1, f->mA, "refund", 0, "negative");
    post(f, f->A, SB_SENDER_BOT, SB_DIR_OUT, 0, f->t0 + 500);
    set_status(f, f->A, SB_CONV_QUEUED, 0, &f->hA);
    post(f, f->A, SB_SENDER_AGENT, SB_DIR_IN, f->a1, f->hA + 30000); /* a note: not a reply */
    post(f, f->A, SB_SENDER_AGENT, SB_DIR_OUT, f->a1, f->hA + MIN_MS);
    set_status(f, f->A, SB_CONV_ASSIGNED, f->a1, NULL);
    set_status(f, f->A, SB_CONV_RESOLVED, 0, &f->rA);

    f->B = customer(f, f->t1, f->web, "bob", f->t0 + 1000, &f->mB);
    annotate(f, f->t1, f->mB, "order_status", 0, "positive");
    post(f, f->B, SB_SENDER_BOT, SB_DIR_OUT, 0, f->t0 + 1500);
    set_status(f, f->B, SB_CONV_RESOLVED, 0, &f->rB);

    f->C = customer(f, f->t1, f->tg, "carol", f->t0 + 2000, &f->mC);
    annotate(f, f->t1, f->mC, "order_status", 0, "neutral");
    post(f, f->C, SB_SENDER_BOT, SB_DIR_OUT, 0, f->t0 + 2500);
    set_status(f, f->C, SB_CONV_RESOLVED, 0, &f->rC);
    f->D = customer(f, f->t1, f->tg, "carol", f->rC + HOUR_MS, &f->mD);
    assert_int_not_equal(f->D, f->C);
    annotate(f, f->t1, f->mD, "oos", 1, "neutral");

    f->E = customer(f, f->t1, f->tg, "dave", f->t0 + 3000, &f->mE);
    annotate(f, f->t1, f->mE, "complaint", 0, "negative");
    set_status(f, f->E, SB_CONV_QUEUED, 0, &f->hE);

    sb_id mF;
    f->F = customer(f, f->t1, f->web, "erin", f->t0 - 2 * DAY_MS, &mF);
    annotate(f, f->t1, mF, "greeting", 0, "positive");

    f->G = customer(f, f->t1, f->web, "frank", f->t0 + 4000, &f->mG);
    annotate(f, f->t1, f->mG, "delivery", 0, "positive");
    f->gReply = f->t0 + 9000;
    post(f, f->G, SB_SENDER_AGENT, SB_DIR_OUT, f->a2, f->gReply);
    set_status(f, f->G, SB_CONV_ASSIGNED, f->a2, NULL);

    sb_id m2;
    customer(f, f->t2, f->other_inbox, "zed", f->t0, &m2);
    annotate(f, f->t2, m2, "refund", 0, "negative");
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->st = store_fixture_open(&f->p, "metrics", 0);
    struct sb_error err = {0};
    f->t1 = store_fixture_tenant(f->st, "metrics");
    f->t2 = store_fixture_tenant(f->st, "metrics");
    if (sb_store_inbox_create(f->st, f->t1, "web", "web", NULL, &f->web, &err) ||
        sb_store_inbox_create(f->st, f->t1, "telegram", "tg", NULL, &f->tg, &err) ||
        sb_store_inbox_create(f->st, f->t2, "web", "web", NULL, &f->other_inbox, &err) ||
        sb_store_agent_create(f->st, f->t1, "a1@x", "Ann", SB_ROLE_AGENT, "x", &f->a1, &err) ||
        sb_store_agent_create(f->st, f->t1, "a2@x", "Ben", SB_ROLE_AGENT, "x", &f->a2, &err))
        fail_msg("setup: %s", err.msg);
    build_fixture(f);
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

static void test_facts(void **state)
{
    struct fx *f = *state;
    struct sb_conversation c = {0};

    get(f, f->A, &c);
    assert_int_equal(c.first_customer_ms, f->t0);
    assert_int_equal(c.handoff_ms, f->hA);
    assert_int_equal(c.first_response_ms, f->hA + MIN_MS); /* the note did not count */
    assert_int_equal(c.resolved_ms, f->rA);
    assert_int_equal(c.reopened_ms, 0);
    assert_int_equal(c.customer_messages, 1);
    assert_int_equal(c.bot_messages, 1);
    assert_int_equal(c.agent_messages, 1);
    assert_string_equal(c.intent, "refund");
    sb_conversation_cleanup(&c);

    get(f, f->B, &c);
    assert_int_equal(c.handoff_ms, 0);
    assert_int_equal(c.first_response_ms, 0);
    assert_int_equal(c.resolved_ms, f->rB);
    assert_int_equal(c.agent_messages, 0);
    sb_conversation_cleanup(&c);

    get(f, f->C, &c);
    assert_int_equal(c.reopened_ms, f->rC + HOUR_MS);
    assert_string_equal(c.status, SB_CONV_RESOLVED);
    sb_conversation_cleanup(&c);

    get(f, f->D, &c);
    assert_int_equal(c.first_customer_ms, f->rC + HOUR_MS);
    assert_string_equal(c.intent, ""); /* out of scope is no intent */
    assert_int_equal(c.resolved_ms, 0);
    sb_conversation_cleanup(&c);

    get(f, f->G, &c);
    assert_int_equal(c.handoff_ms, f->gReply);
    assert_int_equal(c.first_response_ms, f->gReply);
    sb_conversation_cleanup(&c);

    /* leaving "resolved" clears the resolution and counts as a reopening, once */
    int64_t h = set_status(f, f->B, SB_CONV_ASSIGNED, f->a1, NULL);
    get(f, f->B, &c);
    assert_int_equal(c.resolved_ms, 0);
    assert_int_equal(c.reopened_ms, h);
    assert_int_equal(c.handoff_ms, h);
    sb_conversation_cleanup(&c);
    int64_t r2 = 0;
    set_status(f, f->B, SB_CONV_RESOLVED, 0, &r2);
    set_status(f, f->B, SB_CONV_RESOLVED, 0, NULL); /* resolving again keeps the time */
    get(f, f->B, &c);
    assert_int_equal(c.resolved_ms, r2);
    assert_int_equal(c.reopened_ms, h);
    sb_conversation_cleanup(&c);
}

static void query(struct fx *f, sb_id t, int64_t now, int tz, struct sb_metrics *m)
{
    struct sb_metrics_query q = {.from_ms = f->from, .to_ms = f->to, .now_ms = now,
                                 .tz_offset_min = tz};
    struct sb_error err = {0};
    if (sb_store_metrics(f->st, t, &q, m, &err))
        fail_msg("metrics: %s", err.msg);
}

static void test_live(void **state)
{
    struct fx *f = *state;
    struct sb_metrics m = {0};
    int64_t now = f->hE + 5 * MIN_MS;
    query(f, f->t1, now, 0, &m);
    assert_int_equal(m.queued, 1);                  /* E */
    assert_int_equal(m.longest_wait_ms, 5 * MIN_MS); /* since its hand-off */
    assert_int_equal(m.assigned, 1);                /* G */
    assert_int_equal(m.with_bot, 2);                /* D, F */
    assert_int_equal(m.awaiting_first_response, 1); /* E */
    assert_int_equal(m.n_agents, 2);
    assert_int_equal(m.agents[0].agent_id, f->a1);
    assert_string_equal(m.agents[0].name, "Ann");
    assert_int_equal(m.agents[0].assigned, 0); /* A is resolved */
    assert_int_equal(m.agents[0].capacity, -1);
    assert_string_equal(m.agents[0].presence, "offline");
    assert_int_equal(m.agents[1].assigned, 1);
    sb_metrics_cleanup(&m);

    /* a routing profile gives presence and capacity */
    struct sb_agent_routing p = {.agent_id = f->a1, .capacity = 5, .skills_json = "[]"};
    snprintf(p.presence, sizeof(p.presence), "online");
    struct sb_error err = {0};
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &p, &err), 0);
    query(f, f->t1, now, 0, &m);
    assert_int_equal(m.agents[0].capacity, 5);
    assert_string_equal(m.agents[0].presence, "online");
    sb_metrics_cleanup(&m);

    /* the other tenant: its own conversation only */
    query(f, f->t2, now, 0, &m);
    assert_int_equal(m.queued, 0);
    assert_int_equal(m.with_bot, 1);
    assert_int_equal(m.n_agents, 0);
    assert_int_equal(m.conversations, 1);
    sb_metrics_cleanup(&m);
}

static void test_volume_and_outcomes(void **state)
{
    struct fx *f = *state;
    struct sb_metrics m = {0};
    int64_t last = f->rC > f->rB ? f->rC : f->rB;
    query(f, f->t1, last + 25 * HOUR_MS, 0, &m); /* every 24 h window has passed */
    assert_int_equal(m.conversations, 6); /* A B C D E G; F is older */
    assert_int_equal(m.handed_off, 3);    /* A E G */
    assert_int_equal(m.resolved, 3);      /* A B C */
    assert_int_equal(m.bot_resolved, 1); /* B: A had people, C was reopened within 24 h */
    assert_int_equal(m.bot_resolved_provisional, 0);
    assert_int_equal(m.reopened, 1); /* C */
    assert_int_equal(m.n_channels, 2);
    assert_string_equal(m.channels[0].kind, "telegram"); /* 3 and 3 each: by name */
    assert_int_equal(m.channels[0].conversations, 3);     /* C D E */
    assert_int_equal(m.channels[0].customer_messages, 3);
    assert_int_equal(m.channels[0].bot_messages, 1);
    assert_int_equal(m.channels[0].agent_messages, 0);
    assert_string_equal(m.channels[1].kind, "web"); /* A B G */
    assert_int_equal(m.channels[1].conversations, 3);
    assert_int_equal(m.channels[1].bot_messages, 2);
    assert_int_equal(m.channels[1].agent_messages, 2);
    sb_metrics_cleanup(&m);

    /* messages count by when they were written: erin writes again today in F, which started
     * two days ago — a web customer message of the period, not a conversation of it */
    assert_int_equal(customer(f, f->t1, f->web, "erin", f->t0 + 5000, NULL), f->F);
    query(f, f->t1, last + 25 * HOUR_MS, 0, &m);
    assert_int_equal(m.conversations, 6);
    assert_string_equal(m.channels[0].kind, "web"); /* a tie in conversations: more messages */
    assert_int_equal(m.channels[0].conversations, 3);
    assert_int_equal(m.channels[0].customer_messages, 4);
    sb_metrics_cleanup(&m);

    /* now: B's window is still open, so it is provisional */
    query(f, f->t1, f->rB + HOUR_MS, 0, &m);
    assert_int_equal(m.bot_resolved, 0);
    assert_int_equal(m.bot_resolved_provisional, 1);
    sb_metrics_cleanup(&m);
}

static void test_times(void **state)
{
    struct fx *f = *state;
    struct sb_metrics m = {0};
    query(f, f->t1, 0, 0, &m);
    /* first responses: G 0 s, A 60 s -> median (rank 1 of 2) 0, p90 (rank 2) 60 s */
    assert_int_equal(m.first_response.n, 2);
    assert_int_equal(m.first_response.median_ms, 0);
    assert_int_equal(m.first_response.p90_ms, MIN_MS);
    assert_int_equal(m.first_response.max_ms, MIN_MS);
    /* resolutions: from the first customer message to the resolution */
    int64_t v[3] = {f->rA - f->t0, f->rB - (f->t0 + 1000), f->rC - (f->t0 + 2000)};
    for (int i = 0; i < 3; i++) /* sort three by hand */
        for (int j = i + 1; j < 3; j++)
            if (v[j] < v[i]) {
                int64_t x = v[i];
                v[i] = v[j];
                v[j] = x;
            }
    assert_int_equal(m.resolution.n, 3);
    assert_int_equal(m.resolution.median_ms, v[1]); /* rank ceil(1.5) = 2 */
    assert_int_equal(m.resolution.p90_ms, v[2]);    /* rank ceil(2.7) = 3 */
    sb_metrics_cleanup(&m);
}

static int64_t day_of(int64_t t, int tz)
{
    int64_t x = t + (int64_t)tz * MIN_MS;
    return x >= 0 ? x / DAY_MS : -((-x + DAY_MS - 1) / DAY_MS);
}

static void test_sentiment_and_intents(void **state)
{
    struct fx *f = *state;
    static const int tzs[] = {0, -300, 330, 840};
    for (size_t k = 0; k < sizeof(tzs) / sizeof(tzs[0]); k++) {
        int tz = tzs[k];
        struct sb_metrics m = {0};
        query(f, f->t1, 0, tz, &m);
        int64_t d0 = day_of(f->from, tz);
        assert_int_equal(m.n_days, day_of(f->to - 1, tz) - d0 + 1);
        assert_int_equal(day_of(m.days[0].start_ms, tz), d0);
        assert_int_equal((m.days[0].start_ms + tz * MIN_MS) % DAY_MS, 0);
        /* expected per day, from the message times */
        struct {
            int64_t t;
            char s;
        } msgs[] = {{f->t0, 'n'},          {f->t0 + 1000, 'p'}, {f->t0 + 2000, 'u'},
                    {f->rC + HOUR_MS, 'u'}, {f->t0 + 3000, 'n'}, {f->t0 + 4000, 'p'}};
        int64_t pos = 0, neu = 0, neg = 0;
        for (size_t i = 0; i < m.n_days; i++) {
            int64_t ep = 0, eu = 0, en = 0;
            for (size_t j = 0; j < sizeof(msgs) / sizeof(msgs[0]); j++) {
                if (day_of(msgs[j].t, tz) - d0 != (int64_t)i)
                    continue;
                ep += msgs[j].s == 'p';
                eu += msgs[j].s == 'u';
                en += msgs[j].s == 'n';
            }
            assert_int_equal(m.days[i].positive, ep);
            assert_int_equal(m.days[i].neutral, eu);
            assert_int_equal(m.days[i].negative, en);
            assert_int_equal(m.days[i].other, 0);
            pos += m.days[i].positive;
            neu += m.days[i].neutral;
            neg += m.days[i].negative;
        }
        assert_int_equal(pos, 2); /* B G (F is outside) */
        assert_int_equal(neu, 2); /* C D */
        assert_int_equal(neg, 2); /* A E */

        assert_int_equal(m.intent_messages, 6);
        assert_int_equal(m.intent_oos, 1);
        assert_int_equal(m.n_intents, 4);
        assert_string_equal(m.intents[0].label, "order_status");
        assert_int_equal(m.intents[0].n, 2);
        assert_string_equal(m.intents[1].label, "complaint"); /* ties by name */
        assert_string_equal(m.intents[2].label, "delivery");
        assert_string_equal(m.intents[3].label, "refund");
        assert_int_equal(m.intents[3].n, 1);
        sb_metrics_cleanup(&m);
    }

    /* re-annotating replaces the message's labels rather than adding to them */
    annotate(f, f->t1, f->mB, "refund", 0, "negative");
    struct sb_metrics m = {0};
    struct sb_metrics_query q = {.from_ms = f->from, .to_ms = f->to, .top_intents = 1,
                                 .sections = SB_METRICS_SENTIMENT | SB_METRICS_INTENTS};
    struct sb_error err = {0};
    assert_int_equal(sb_store_metrics(f->st, f->t1, &q, &m, &err), 0);
    int64_t pos = 0, neg = 0;
    for (size_t i = 0; i < m.n_days; i++) {
        pos += m.days[i].positive;
        neg += m.days[i].negative;
    }
    assert_int_equal(pos, 1);
    assert_int_equal(neg, 3);
    assert_int_equal(m.n_intents, 1); /* top 1 */
    assert_string_equal(m.intents[0].label, "refund");
    assert_int_equal(m.intents[0].n, 2);
    assert_int_equal(m.intent_messages, 6);
    assert_int_equal(m.conversations, 0); /* sections not asked for stay empty */
    assert_null(m.agents);
    sb_metrics_cleanup(&m);
    /* an annotation that is not JSON is stored and simply has no labels */
    assert_int_equal(sb_store_message_annotate(f->st, f->t1, f->mB, "not json", NULL, &err), 0);
    assert_int_equal(sb_store_metrics(f->st, f->t1, &q, &m, &err), 0);
    assert_int_equal(m.intent_messages, 5);
    sb_metrics_cleanup(&m);
    /* the other tenant sees its own message only */
    query(f, f->t2, 0, 0, &m);
    assert_int_equal(m.intent_messages, 1);
    assert_string_equal(m.intents[0].label, "refund");
    sb_metrics_cleanup(&m);
}

static void test_csat_and_checks(void **state)
{
    struct fx *f = *state;
    struct sb_metrics m = {0};
    query(f, f->t1, 0, 0, &m);
    assert_int_equal(m.csat_n, 0);
    assert_true(m.csat_mean == 0);
    sb_metrics_cleanup(&m);
    /* A (agent Ann) 4, B (nobody) 5, C (nobody) 2 */
    struct sb_error err = {0};
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->A, 4, "ok", NULL, NULL, &err), 0);
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->B, 5, NULL, NULL, NULL, &err), 0);
    assert_int_equal(sb_store_csat_put(f->st, f->t1, f->C, 2, NULL, NULL, NULL, &err), 0);
    int64_t after = sb_now_ms() + 1;
    struct sb_metrics_query cq = {.from_ms = f->from, .to_ms = after,
                                  .sections = SB_METRICS_CSAT};
    assert_int_equal(sb_store_metrics(f->st, f->t1, &cq, &m, &err), 0);
    assert_int_equal(m.csat_n, 3);
    assert_true(m.csat_mean > 11.0 / 3 - 1e-9 && m.csat_mean < 11.0 / 3 + 1e-9);
    int64_t hist[5] = {0, 1, 0, 1, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(m.csat_hist[i], hist[i]);
    assert_int_equal(m.agents[0].agent_id, f->a1);
    assert_int_equal(m.agents[0].csat_n, 1);
    assert_true(m.agents[0].csat_mean == 4.0);
    assert_int_equal(m.agents[1].csat_n, 0);
    sb_metrics_cleanup(&m);
    /* ratings are counted by when they were given */
    cq.to_ms = f->from + 1;
    assert_int_equal(sb_store_metrics(f->st, f->t1, &cq, &m, &err), 0);
    assert_int_equal(m.csat_n, 0);
    sb_metrics_cleanup(&m);
    assert_int_equal(sb_store_metrics(f->st, f->t2, &cq, &m, &err), 0);
    assert_int_equal(m.csat_n, 0);
    sb_metrics_cleanup(&m);
    struct sb_conversation_report *rs = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_conversation_report(f->st, f->t1, f->from, f->to, 0, 1, &rs, &n,
                                                  &err),
                     0);
    assert_int_equal(rs[0].csat_rating, 4);
    sb_conversation_report_list_free(rs, n);

    struct sb_metrics_query q = {.from_ms = 10, .to_ms = 10};
    assert_int_equal(sb_store_metrics(f->st, f->t1, &q, &m, &err), SB_EINVAL);
    q.to_ms = 20;
    q.tz_offset_min = 7;
    assert_int_equal(sb_store_metrics(f->st, f->t1, &q, &m, &err), SB_EINVAL);
    q.tz_offset_min = 900;
    assert_int_equal(sb_store_metrics(f->st, f->t1, &q, &m, &err), SB_EINVAL);
    q.tz_offset_min = 0;
    q.top_intents = SB_METRICS_TOP_MAX + 1;
    assert_int_equal(sb_store_metrics(f->st, f->t1, &q, &m, &err), SB_EINVAL);
    q.top_intents = 0;
    q.to_ms = q.from_ms + 400 * DAY_MS;
    assert_int_equal(sb_store_metrics(f->st, f->t1, &q, &m, &err), SB_EINVAL);
    q.sections = SB_METRICS_OUTCOMES; /* long periods are fine without the daily trend */
    assert_int_equal(sb_store_metrics(f->st, f->t1, &q, &m, &err), 0);
    sb_metrics_cleanup(&m);
}

static void test_report(void **state)
{
    struct fx *f = *state;
    struct sb_conversation_report *rs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    assert_int_equal(sb_store_conversation_report(f->st, f->t1, f->from, f->to, 0, 100, &rs, &n,
                                                  &err),
                     0);
    assert_int_equal(n, 6);
    /* oldest first: A B C E G D */
    sb_id order[6] = {f->A, f->B, f->C, f->E, f->G, f->D};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs[i].c.id, order[i]);
    assert_string_equal(rs[0].inbox_kind, "web");
    assert_string_equal(rs[0].c.contact_name, "");
    assert_int_equal(rs[0].c.first_response_ms, f->hA + MIN_MS);
    assert_string_equal(rs[0].c.intent, "refund");
    assert_string_equal(rs[4].assignee_name, "Ben");
    assert_string_equal(rs[2].inbox_kind, "telegram");
    assert_int_equal(rs[0].csat_rating, 0);
    sb_conversation_report_list_free(rs, n);
    /* pages follow the cursor */
    assert_int_equal(sb_store_conversation_report(f->st, f->t1, f->from, f->to, f->C, 2, &rs, &n,
                                                  &err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(rs[0].c.id, f->E);
    assert_int_equal(rs[1].c.id, f->G);
    sb_conversation_report_list_free(rs, n);
    /* another tenant's conversation is no cursor; limits are checked */
    assert_int_equal(sb_store_conversation_report(f->st, f->t2, f->from, f->to, f->C, 2, &rs, &n,
                                                  &err),
                     SB_ENOTFOUND);
    assert_int_equal(sb_store_conversation_report(f->st, f->t1, f->from, f->to, 0, 0, &rs, &n,
                                                  &err),
                     SB_EINVAL);
    assert_int_equal(sb_store_conversation_report(f->st, f->t1, f->from, f->to, 0,
                                                  SB_STORE_REPORT_MAX + 1, &rs, &n, &err),
                     SB_EINVAL);
}

/* What the facts are for one conversation, to compare before and after the backfill. */
struct facts {
    sb_id id;
    int64_t first_customer, handoff, first_response, resolved, reopened;
    int cm, bm, am;
    char intent[64];
};

static size_t read_facts(struct fx *f, struct facts *out, size_t cap)
{
    struct sb_conversation_filter flt = {.limit = 100};
    struct sb_conversation *cs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    if (sb_store_conversation_list(f->st, f->t1, &flt, &cs, &n, &err))
        fail_msg("list: %s", err.msg);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        out[i] = (struct facts){cs[i].id,           cs[i].first_customer_ms, cs[i].handoff_ms,
                                cs[i].first_response_ms, cs[i].resolved_ms,
                                cs[i].reopened_ms,  cs[i].customer_messages,
                                cs[i].bot_messages, cs[i].agent_messages, ""};
        snprintf(out[i].intent, sizeof(out[i].intent), "%s", cs[i].intent);
    }
    sb_conversation_list_free(cs, n);
    return n;
}

static void raw(struct fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(f->p.path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("sql: %s", msg);
    sqlite3_close(db);
}

static void test_backfill(void **state)
{
    struct fx *f = *state;
    struct facts before[16], after[16];
    size_t n = read_facts(f, before, 16);
    struct sb_metrics mb = {0}, ma = {0};
    int64_t now = f->rC + 25 * HOUR_MS;
    query(f, f->t1, now, 0, &mb);

    /* take the database back to before step 4, keeping the messages and events */
    sb_store_close(f->st);
    f->st = NULL;
    raw(f, "DROP TRIGGER message_labels_insert; DROP TRIGGER message_labels_update;"
           "DROP TRIGGER message_labels_updated; DROP VIEW message_label_values;"
           "DROP TABLE message_labels; DROP INDEX conversations_by_created;"
           "DROP INDEX conversations_by_first_response; DROP INDEX conversations_by_resolved;"
           "DROP INDEX conversations_by_status_facts; DROP TABLE message_volume;"
           "DROP INDEX conversations_by_inbox_created;"
           "ALTER TABLE conversations DROP COLUMN first_customer_ms;"
           "ALTER TABLE conversations DROP COLUMN handoff_ms;"
           "ALTER TABLE conversations DROP COLUMN first_response_ms;"
           "ALTER TABLE conversations DROP COLUMN resolved_ms;"
           "ALTER TABLE conversations DROP COLUMN reopened_ms;"
           "ALTER TABLE conversations DROP COLUMN customer_messages;"
           "ALTER TABLE conversations DROP COLUMN bot_messages;"
           "ALTER TABLE conversations DROP COLUMN agent_messages;"
           "ALTER TABLE conversations DROP COLUMN intent;"
           "DELETE FROM schema_migrations WHERE version = 4; PRAGMA user_version = 3;");
    struct sb_error err = {0};
    int from = 0, to = 0;
    if (sb_store_open(&f->st, f->p.location, &err) || sb_store_migrate(f->st, &from, &to, &err))
        fail_msg("migrate: %s", err.msg);
    assert_int_equal(from, 3);
    assert_true(to >= 4);

    assert_int_equal(read_facts(f, after, 16), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(after[i].id, before[i].id);
        assert_int_equal(after[i].first_customer, before[i].first_customer);
        /* a status change's time and its event's time may be a millisecond apart */
        assert_true(llabs(after[i].handoff - before[i].handoff) <= 50);
        assert_true(llabs(after[i].resolved - before[i].resolved) <= 50);
        assert_int_equal(after[i].first_response, before[i].first_response);
        assert_int_equal(after[i].reopened, before[i].reopened);
        assert_int_equal(after[i].cm, before[i].cm);
        assert_int_equal(after[i].bm, before[i].bm);
        assert_int_equal(after[i].am, before[i].am);
        assert_string_equal(after[i].intent, before[i].intent);
    }
    query(f, f->t1, now, 0, &ma);
    assert_int_equal(ma.conversations, mb.conversations);
    assert_int_equal(ma.handed_off, mb.handed_off);
    assert_int_equal(ma.resolved, mb.resolved);
    assert_int_equal(ma.bot_resolved, mb.bot_resolved);
    assert_int_equal(ma.reopened, mb.reopened);
    assert_true(llabs(ma.first_response.p90_ms - mb.first_response.p90_ms) <= 50);
    assert_int_equal(ma.intent_messages, mb.intent_messages);
    assert_int_equal(ma.n_intents, mb.n_intents);
    assert_int_equal(ma.n_days, mb.n_days);
    for (size_t i = 0; i < ma.n_days; i++) {
        assert_int_equal(ma.days[i].positive, mb.days[i].positive);
        assert_int_equal(ma.days[i].negative, mb.days[i].negative);
        assert_int_equal(ma.days[i].neutral, mb.days[i].neutral);
    }
    sb_metrics_cleanup(&ma);
    sb_metrics_cleanup(&mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_facts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volume_and_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentiment_and_intents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csat_and_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backfill, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
