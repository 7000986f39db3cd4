/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/routing: the priority formula and queue order (value, risk, waiting time,
 * ties), starvation, capacity, skills, least-loaded choice and its tie-breaks, presence
 * changes, transfers, hand-back, restore, settings (checks, JSON), explanations and the
 * escalation triggers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/routing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN 60000LL
#define T0 1700000000000LL

static struct sb_routing *router(const struct sb_routing_config *cfg)
{
    struct sb_routing *r = NULL;
    struct sb_error err = {0};
    assert_int_equal(sb_routing_new(cfg, &r, &err), 0);
    return r;
}

static void agent(struct sb_routing *r, sb_id id, enum sb_routing_presence p, int cap,
                  const char *skills_csv, sb_id team, int64_t now, struct sb_routing_changes *ch)
{
    const char *skills[16];
    char buf[256];
    size_t n = 0;
    snprintf(buf, sizeof(buf), "%s", skills_csv ? skills_csv : "");
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        skills[n++] = t;
    struct sb_routing_agent_spec a = {.id = id, .presence = p, .capacity = cap,
                                      .skills = skills, .n_skills = n,
                                      .teams = &team, .n_teams = team ? 1 : 0};
    struct sb_error err = {0};
    assert_int_equal(sb_routing_agent_upsert(r, &a, now, ch, &err), 0);
}

static void conv(struct sb_routing *r, struct sb_routing_conv_spec c, int64_t now,
                 struct sb_routing_changes *ch)
{
    struct sb_error err = {0};
    int rc = sb_routing_enqueue(r, &c, now, ch, &err);
    if (rc)
        fprintf(stderr, "enqueue: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

static sb_id holder(struct sb_routing *r, sb_id c)
{
    struct sb_routing_conv_info info;
    assert_int_equal(sb_routing_conv_get(r, c, T0, &info), 0);
    return info.agent;
}

static int load(struct sb_routing *r, sb_id a)
{
    struct sb_routing_agent_info info;
    assert_int_equal(sb_routing_agent_get(r, a, &info), 0);
    return info.load;
}

static void queue_ids(struct sb_routing *r, int64_t now, sb_id *ids, size_t *n)
{
    struct sb_routing_queued *q = NULL;
    assert_int_equal(sb_routing_queue_list(r, 0, now, 0, 1000, &q, n), 0);
    for (size_t i = 0; i < *n; i++)
        ids[i] = q[i].id;
    free(q);
}

/* ---- settings ---- */

static void test_config(void **state)
{
    (void)state;
    struct sb_routing_config c;
    struct sb_error err = {0};
    sb_routing_config_default(&c);
    assert_int_equal(sb_routing_config_check(&c, &err), 0);
    assert_true(c.w_wait == 1 && c.w_vip == 10 && c.w_complaint == 8);
    assert_int_equal(c.on_offline, SB_ROUTING_REQUEUE);
    assert_int_equal(c.on_away, SB_ROUTING_KEEP);

    struct sb_routing_config bad = c;
    bad.w_wait = 0; /* would let old conversations starve */
    assert_int_equal(sb_routing_config_check(&bad, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "w_wait"));
    bad = c;
    bad.w_vip = -1;
    assert_int_equal(sb_routing_config_check(&bad, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "w_vip"));
    bad = c;
    bad.w_repeat = NAN;
    assert_int_equal(sb_routing_config_check(&bad, &err), SB_EINVAL);
    struct sb_routing *r = NULL;
    assert_int_equal(sb_routing_new(&bad, &r, &err), SB_EINVAL);
    assert_null(r);

    const char *js = "{\"w_vip\": 20, \"on_offline\": \"keep\", \"esc_negative_streak\": 4}";
    assert_int_equal(sb_routing_config_from_json(js, strlen(js), &c, &err), 0);
    assert_true(c.w_vip == 20);
    assert_int_equal(c.on_offline, SB_ROUTING_KEEP);
    assert_int_equal(c.esc_negative_streak, 4);
    struct sb_routing_config before = c;
    const char *bads[] = {"{\"w_vip\": \"x\"}", "{\"nope\": 1}", "{\"on_away\": \"drop\"}",
                          "{\"w_wait\": 0}", "[1]", "{\"esc_vip\": 1.5}", "{"};
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        assert_int_not_equal(sb_routing_config_from_json(bads[i], strlen(bads[i]), &c, &err), 0);
        assert_memory_equal(&c, &before, sizeof(c)); /* unchanged on failure */
    }
    assert_int_equal(sb_routing_config_from_json("{\"nope\": 1}", 11, &c, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "nope"));

    char *out = sb_routing_config_to_json(&c);
    struct sb_routing_config back;
    sb_routing_config_default(&back);
    assert_int_equal(sb_routing_config_from_json(out, strlen(out), &back, &err), 0);
    assert_memory_equal(&back, &c, sizeof(c));
    free(out);
}

/* ---- priority and order ---- */

static void test_priority_terms(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    conv(r, (struct sb_routing_conv_spec){.id = 1, .vip = 1, .ltv = 99, .complaint = 1,
                                          .negative_trend = 0.5,
                                          .prev_contact_ms = T0 - 3 * 24 * 3600 * 1000LL,
                                          .enqueue_ms = T0},
         T0, NULL);
    conv(r, (struct sb_routing_conv_spec){.id = 2, .ltv = 1e9,
                                          .prev_contact_ms = T0 - 8 * 24 * 3600 * 1000LL,
                                          .enqueue_ms = T0},
         T0, NULL);
    struct sb_routing_conv_info a, b;
    assert_int_equal(sb_routing_conv_get(r, 1, T0 + 90000, &a), 0);
    assert_true(fabs(a.priority.vip - 10) < 1e-9);
    assert_true(fabs(a.priority.ltv - 5 * log(100) / log(10001)) < 1e-9);
    assert_true(fabs(a.priority.complaint - 8) < 1e-9);
    assert_true(fabs(a.priority.negative - 3) < 1e-9);
    assert_true(fabs(a.priority.repeat - 4) < 1e-9); /* 3 days ago: within 7 */
    assert_true(fabs(a.priority.waiting - 1.5) < 1e-9);
    assert_true(fabs(a.priority.total - (25 + 5 * log(100) / log(10001) + 1.5)) < 1e-9);
    assert_int_equal(a.priority.waited_ms, 90000);
    assert_int_equal(sb_routing_conv_get(r, 2, T0, &b), 0);
    assert_true(fabs(b.priority.ltv - 5) < 1e-9); /* capped */
    assert_true(b.priority.repeat == 0);          /* 8 days ago: not a repeat */
    assert_int_equal(sb_routing_conv_get(r, 3, T0, &b), SB_ENOTFOUND);
    sb_routing_free(r);
}

static void test_order_and_ties(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    /* no agents: everything waits */
    conv(r, (struct sb_routing_conv_spec){.id = 10, .enqueue_ms = T0}, T0, NULL);
    conv(r, (struct sb_routing_conv_spec){.id = 11, .vip = 1, .enqueue_ms = T0 + MIN}, T0, NULL);
    conv(r, (struct sb_routing_conv_spec){.id = 12, .complaint = 1, .enqueue_ms = T0 + MIN},
         T0, NULL);
    /* same fixed part, enqueued later: behind 10 */
    conv(r, (struct sb_routing_conv_spec){.id = 9, .enqueue_ms = T0 + 1}, T0, NULL);
    /* exact tie with 10 on priority and waiting time: lower id first */
    conv(r, (struct sb_routing_conv_spec){.id = 8, .enqueue_ms = T0}, T0, NULL);
    /* the same priority as 10 reached by value instead of time: a complaint (8 points)
     * enqueued 8 minutes after 20 -> equal priority, so the one that waited longer (20) goes
     * first */
    conv(r, (struct sb_routing_conv_spec){.id = 21, .complaint = 1, .enqueue_ms = T0 + 8 * MIN},
         T0, NULL);
    conv(r, (struct sb_routing_conv_spec){.id = 20, .enqueue_ms = T0}, T0, NULL);
    sb_id ids[16];
    size_t n;
    queue_ids(r, T0 + 10 * MIN, ids, &n);
    /* 11: 10+9=19, 12: 8+9=17, 8/10/20: 10, 21: 8+2=10 (waited less: after them), 9: 10
     * minus a millisecond of waiting */
    sb_id want[] = {11, 12, 8, 10, 20, 21, 9};
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    /* the order does not change as time passes */
    queue_ids(r, T0 + 1000 * MIN, ids, &n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    /* a freed agent takes them in that order */
    struct sb_routing_changes ch = {0};
    agent(r, 1, SB_ROUTING_ONLINE, 3, NULL, 0, T0 + 10 * MIN, &ch);
    assert_int_equal(ch.n, 3);
    assert_int_equal(ch.v[0].conversation, 11);
    assert_int_equal(ch.v[1].conversation, 12);
    assert_int_equal(ch.v[2].conversation, 8);
    assert_int_equal(ch.v[0].why.reason, SB_ROUTING_R_NEXT_IN_QUEUE);
    assert_int_equal(ch.v[0].why.waiting_eligible, 7);
    assert_int_equal(ch.v[2].why.waiting_eligible, 5);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

static void test_starvation(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    /* the most a conversation can get besides waiting: 10 + 5 + 8 + 6 + 4 = 33 points */
    struct sb_routing_conv_spec top = {.vip = 1, .ltv = 1e6, .complaint = 1,
                                       .negative_trend = 1, .prev_contact_ms = T0};
    conv(r, (struct sb_routing_conv_spec){.id = 1, .enqueue_ms = T0}, T0, NULL);
    top.id = 2;
    top.enqueue_ms = T0 + 34 * MIN; /* 34 minutes later: the old plain one stays ahead */
    top.prev_contact_ms = top.enqueue_ms - 1;
    conv(r, top, T0 + 34 * MIN, NULL);
    conv(r, (struct sb_routing_conv_spec){.id = 3, .enqueue_ms = T0 + 2 * MIN}, T0, NULL);
    top.id = 4;
    top.enqueue_ms = T0 + 34 * MIN; /* 32 minutes after 3: overtakes it */
    conv(r, top, T0 + 34 * MIN, NULL);
    sb_id ids[8];
    size_t n;
    queue_ids(r, T0 + 34 * MIN, ids, &n);
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2); /* ties 4 on priority; lower id */
    assert_int_equal(ids[2], 4);
    assert_int_equal(ids[3], 3);
    /* a stream of new top-priority conversations never passes one that waited long enough */
    struct sb_routing *q = router(NULL);
    conv(q, (struct sb_routing_conv_spec){.id = 1000, .enqueue_ms = T0}, T0, NULL);
    struct sb_routing_changes ch = {0};
    agent(q, 1, SB_ROUTING_ONLINE, 1, NULL, 0, T0, &ch); /* takes 1000 at once */
    sb_routing_release(q, 1000, T0, &ch);
    conv(q, (struct sb_routing_conv_spec){.id = 1, .enqueue_ms = T0}, T0, &ch);
    /* 1 is assigned to the free agent; now keep the agent busy and add VIPs every minute */
    int64_t t = T0;
    sb_id served_old = 0;
    conv(q, (struct sb_routing_conv_spec){.id = 2, .enqueue_ms = T0 + 1}, T0, &ch);
    for (int i = 0; i < 60 && !served_old; i++) {
        t += MIN;
        top.id = 100 + i;
        top.enqueue_ms = t;
        top.prev_contact_ms = t;
        conv(q, top, t, &ch);
        /* the agent finishes its current conversation and takes the next */
        sb_id cur[1];
        assert_int_equal(sb_routing_agent_conversations(q, 1, cur, 1), 1);
        size_t before = ch.n;
        sb_routing_release(q, cur[0], t, &ch);
        assert_int_equal(ch.n, before + 1);
        if (ch.v[before].conversation == 2)
            served_old = i + 1;
    }
    /* 2 waited with 0 points while VIPs arrived each minute: served once it had waited more
     * than 33 minutes longer than the newest, and the backlog of earlier VIPs was cleared */
    assert_true(served_old > 0);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(q);
    sb_routing_free(r);
}

/* ---- capacity, skills, agent choice ---- */

static void test_capacity(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    agent(r, 1, SB_ROUTING_ONLINE, 2, "lang:en", 0, T0, &ch);
    for (sb_id i = 1; i <= 4; i++)
        conv(r, (struct sb_routing_conv_spec){.id = i, .language = "en", .enqueue_ms = T0 + i},
             T0 + 10, &ch);
    assert_int_equal(ch.n, 4);
    assert_int_equal(ch.v[0].agent, 1);
    assert_int_equal(ch.v[1].agent, 1);
    assert_int_equal(ch.v[2].agent, 0);
    assert_int_equal(ch.v[2].why.reason, SB_ROUTING_R_NO_AGENT);
    assert_int_equal(ch.v[2].why.n_full, 1);
    assert_int_equal(load(r, 1), 2);
    /* a release lets the agent take the next one in order */
    ch.n = 0;
    assert_int_equal(sb_routing_release(r, 1, T0 + 20, &ch), 0);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.v[0].conversation, 3);
    assert_int_equal(ch.v[0].agent, 1);
    assert_int_equal(ch.v[0].why.agent_load, 1); /* before this assignment */
    /* more capacity: takes the rest at once */
    ch.n = 0;
    assert_int_equal(sb_routing_agent_set_capacity(r, 1, 5, T0 + 30, &ch), 0);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.v[0].conversation, 4);
    assert_int_equal(load(r, 1), 3);
    /* less capacity: nothing taken away, nothing new */
    ch.n = 0;
    assert_int_equal(sb_routing_agent_set_capacity(r, 1, 1, T0 + 40, &ch), 0);
    assert_int_equal(ch.n, 0);
    assert_int_equal(load(r, 1), 3);
    conv(r, (struct sb_routing_conv_spec){.id = 5, .language = "en"}, T0 + 50, &ch);
    assert_int_equal(holder(r, 5), 0);
    sb_routing_release(r, 2, T0 + 60, &ch);
    sb_routing_release(r, 3, T0 + 60, &ch);
    assert_int_equal(holder(r, 5), 0); /* load 1 = capacity 1 */
    ch.n = 0;
    sb_routing_release(r, 4, T0 + 70, &ch);
    assert_int_equal(holder(r, 5), 1);
    assert_int_equal(sb_routing_agent_set_capacity(r, 1, -1, T0, &ch), SB_EINVAL);
    assert_int_equal(sb_routing_agent_set_capacity(r, 99, 1, T0, &ch), SB_ENOTFOUND);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

static void test_skills(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    agent(r, 1, SB_ROUTING_ONLINE, 3, "lang:en,intent:billing", 0, T0, &ch);
    agent(r, 2, SB_ROUTING_ONLINE, 3, "lang:en", 7, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 1, .language = "zh", .intent_group = "billing"},
         T0, &ch);
    assert_int_equal(ch.v[0].agent, 0);
    assert_int_equal(ch.v[0].why.n_missing_skills, 2);
    char *js = sb_routing_explain_json(r, &ch.v[0].why);
    assert_non_null(strstr(js, "\"missing_skills\":[\"lang:zh\"]"));
    assert_non_null(strstr(js, "\"required\":[\"lang:zh\",\"intent:billing\"]") ||
                    strstr(js, "\"required\":[\"intent:billing\",\"lang:zh\"]"));
    assert_non_null(strstr(js, "no online agent has lang:zh"));
    free(js);
    conv(r, (struct sb_routing_conv_spec){.id = 2, .language = "en", .intent_group = "billing"},
         T0, &ch);
    assert_int_equal(holder(r, 2), 1); /* only agent 1 has billing */
    conv(r, (struct sb_routing_conv_spec){.id = 3, .language = "en", .team = 7}, T0, &ch);
    assert_int_equal(holder(r, 3), 2); /* only agent 2 is in team 7 */
    conv(r, (struct sb_routing_conv_spec){.id = 4, .language = "en", .product_line = "tv"},
         T0, &ch);
    assert_int_equal(holder(r, 4), 0);
    const char *extra[] = {"vip-desk"};
    conv(r, (struct sb_routing_conv_spec){.id = 5, .extra_skills = extra, .n_extra_skills = 1},
         T0, &ch);
    assert_int_equal(holder(r, 5), 0);
    /* a Chinese-speaking billing agent comes online: takes 1 (the only one it can) */
    ch.n = 0;
    agent(r, 3, SB_ROUTING_ONLINE, 3, "lang:zh,intent:billing", 0, T0 + MIN, &ch);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.v[0].conversation, 1);
    assert_int_equal(ch.v[0].why.waiting_eligible, 1);
    /* agent 2 learns tv and vip-desk: takes 4 and 5 */
    ch.n = 0;
    agent(r, 2, SB_ROUTING_ONLINE, 3, "lang:en,product:tv,vip-desk", 7, T0 + MIN, &ch);
    assert_int_equal(ch.n, 2);
    /* filtered queue view for an agent */
    conv(r, (struct sb_routing_conv_spec){.id = 6, .language = "zh"}, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 7, .language = "fr"}, T0, &ch);
    struct sb_routing_queued *q;
    size_t n;
    assert_int_equal(sb_routing_queue_list(r, 1, T0, 0, 10, &q, &n), 0);
    assert_int_equal(n, 0);
    free(q);
    assert_int_equal(sb_routing_queue_list(r, 0, T0, 0, 10, &q, &n), 0);
    assert_int_equal(n, 1); /* 6 went to agent 3 at once; 7 waits */
    assert_int_equal(q[0].id, 7);
    free(q);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

static void test_least_loaded_and_ties(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    agent(r, 5, SB_ROUTING_ONLINE, 4, NULL, 0, T0, &ch);
    agent(r, 6, SB_ROUTING_ONLINE, 2, NULL, 0, T0, &ch);
    agent(r, 7, SB_ROUTING_ONLINE, 2, NULL, 0, T0 - MIN, &ch); /* online longest */
    agent(r, 8, SB_ROUTING_AWAY, 2, NULL, 0, T0, &ch);
    agent(r, 9, SB_ROUTING_OFFLINE, 2, NULL, 0, T0, &ch);
    /* all at 0 load: 7 has been idle longest */
    conv(r, (struct sb_routing_conv_spec){.id = 1}, T0 + 1000, &ch);
    assert_int_equal(ch.v[0].agent, 7);
    assert_int_equal(ch.v[0].why.tiebreak, SB_ROUTING_TB_IDLE);
    assert_int_equal(ch.v[0].why.n_eligible, 3);
    assert_int_equal(ch.v[0].why.n_away, 1);
    assert_int_equal(ch.v[0].why.n_offline, 1);
    assert_int_equal(ch.v[0].why.agent_idle_ms, MIN + 1000);
    /* 5 and 6 at 0 with the same idle time: lower id */
    conv(r, (struct sb_routing_conv_spec){.id = 2}, T0 + 2000, &ch);
    assert_int_equal(ch.v[1].agent, 5);
    assert_int_equal(ch.v[1].why.tiebreak, SB_ROUTING_TB_ID);
    /* 5: 1/4, 6: 0/2, 7: 1/2 → 6 by load */
    conv(r, (struct sb_routing_conv_spec){.id = 3}, T0 + 3000, &ch);
    assert_int_equal(ch.v[2].agent, 6);
    assert_int_equal(ch.v[2].why.tiebreak, SB_ROUTING_TB_LOAD);
    /* 5: 1/4 beats 6 and 7 at 1/2 */
    conv(r, (struct sb_routing_conv_spec){.id = 4}, T0 + 4000, &ch);
    assert_int_equal(ch.v[3].agent, 5);
    /* 5: 2/4, 6: 1/2, 7: 1/2 — equal ratios; 7 got its last one first (T0+1000) */
    conv(r, (struct sb_routing_conv_spec){.id = 5}, T0 + 5000, &ch);
    assert_int_equal(ch.v[4].agent, 7);
    assert_int_equal(ch.v[4].why.tiebreak, SB_ROUTING_TB_IDLE);
    char *js = sb_routing_explain_json(r, &ch.v[4].why);
    assert_non_null(strstr(js, "\"tiebreak\":\"longest_idle\""));
    assert_non_null(strstr(js, "\"eligible\":3"));
    free(js);
    /* the decision without a change says the same */
    conv(r, (struct sb_routing_conv_spec){.id = 6}, T0 + 6000, &ch);
    sb_id a = 0;
    struct sb_routing_explain x;
    assert_int_equal(sb_routing_best_agent(r, 6, T0, &a, &x), SB_ESTATE); /* assigned */
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

/* ---- presence ---- */

static void test_offline_requeue(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    agent(r, 1, SB_ROUTING_ONLINE, 2, NULL, 0, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 1, .enqueue_ms = T0}, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 2, .vip = 1, .enqueue_ms = T0 + MIN}, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 3, .enqueue_ms = T0 + 2 * MIN}, T0, &ch);
    agent(r, 2, SB_ROUTING_ONLINE, 1, NULL, 0, T0, &ch); /* takes 3 */
    assert_int_equal(holder(r, 3), 2);
    sb_routing_release(r, 3, T0 + 3 * MIN, &ch);
    /* agent 1 goes away: kept by default */
    ch.n = 0;
    assert_int_equal(sb_routing_agent_set_presence(r, 1, SB_ROUTING_AWAY, T0 + 5 * MIN, &ch), 0);
    assert_int_equal(ch.n, 0);
    assert_int_equal(load(r, 1), 2);
    /* offline: re-queued, best first; agent 2 (capacity 1) gets the VIP, 1 waits */
    assert_int_equal(sb_routing_agent_set_presence(r, 1, SB_ROUTING_OFFLINE, T0 + 6 * MIN, &ch),
                     0);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.v[0].conversation, 2);
    assert_int_equal(ch.v[0].agent, 2);
    assert_int_equal(ch.v[0].why.from_agent, 1);
    assert_int_equal(ch.v[1].conversation, 1);
    assert_int_equal(ch.v[1].agent, 0);
    assert_int_equal(ch.v[1].why.reason, SB_ROUTING_R_REQUEUED);
    assert_int_equal(load(r, 1), 0);
    /* the original waiting time is kept */
    struct sb_routing_conv_info info;
    assert_int_equal(sb_routing_conv_get(r, 1, T0 + 6 * MIN, &info), 0);
    assert_int_equal(info.enqueue_ms, T0);
    assert_int_equal(info.priority.waited_ms, 6 * MIN);
    /* back online: takes it again */
    ch.n = 0;
    sb_routing_agent_set_presence(r, 1, SB_ROUTING_ONLINE, T0 + 7 * MIN, &ch);
    assert_int_equal(ch.n, 1);
    assert_int_equal(holder(r, 1), 1);
    /* removing an agent re-queues too */
    ch.n = 0;
    assert_int_equal(sb_routing_agent_remove(r, 1, T0 + 8 * MIN, &ch), 0);
    assert_int_equal(ch.n, 1);
    assert_int_equal(holder(r, 1), 0);
    assert_int_equal(sb_routing_agent_remove(r, 1, T0, &ch), SB_ENOTFOUND);
    struct sb_routing_stats st;
    sb_routing_stats(r, T0 + 8 * MIN, &st);
    assert_int_equal(st.waiting, 1);
    assert_int_equal(st.assigned, 1);
    assert_int_equal(st.agents, 1);
    assert_int_equal(st.longest_wait_ms, 8 * MIN);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);

    /* with on_offline = keep and on_away = requeue */
    struct sb_routing_config c;
    sb_routing_config_default(&c);
    c.on_offline = SB_ROUTING_KEEP;
    c.on_away = SB_ROUTING_REQUEUE;
    r = router(&c);
    agent(r, 1, SB_ROUTING_ONLINE, 2, NULL, 0, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 1}, T0, &ch);
    sb_routing_agent_set_presence(r, 1, SB_ROUTING_OFFLINE, T0, &ch);
    assert_int_equal(holder(r, 1), 1);
    sb_routing_agent_set_presence(r, 1, SB_ROUTING_AWAY, T0, &ch);
    assert_int_equal(holder(r, 1), 0);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

/* ---- transfers ---- */

static void test_transfer(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    struct sb_error err = {0};
    agent(r, 1, SB_ROUTING_ONLINE, 1, "lang:en", 3, T0, &ch);
    agent(r, 2, SB_ROUTING_ONLINE, 1, "lang:en", 3, T0 + 1, &ch);
    agent(r, 3, SB_ROUTING_OFFLINE, 1, "lang:en", 0, T0, &ch);
    agent(r, 4, SB_ROUTING_ONLINE, 1, "lang:en", 9, T0 + 2, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 1, .language = "en", .enqueue_ms = T0}, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 2, .language = "en", .enqueue_ms = T0 + 1}, T0,
         &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 3, .language = "en", .enqueue_ms = T0 + 2}, T0,
         &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 4, .language = "en", .enqueue_ms = T0 + 3}, T0,
         &ch);
    assert_int_equal(holder(r, 1), 1);
    assert_int_equal(holder(r, 2), 2);
    assert_int_equal(holder(r, 3), 4);
    assert_int_equal(holder(r, 4), 0);
    /* to a full agent: busy unless forced */
    assert_int_equal(sb_routing_transfer_to_agent(r, 1, 2, 0, T0, &ch, &err), SB_EBUSY);
    assert_non_null(strstr(err.msg, "capacity"));
    assert_int_equal(sb_routing_transfer_to_agent(r, 1, 3, 1, T0, &ch, &err), SB_ESTATE);
    assert_int_equal(sb_routing_transfer_to_agent(r, 1, 99, 1, T0, &ch, &err), SB_ENOTFOUND);
    ch.n = 0;
    assert_int_equal(sb_routing_transfer_to_agent(r, 1, 2, 1, T0 + MIN, &ch, &err), 0);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.v[0].conversation, 1);
    assert_int_equal(ch.v[0].agent, 2);
    assert_true(ch.v[0].why.forced);
    assert_int_equal(ch.v[0].why.reason, SB_ROUTING_R_TRANSFER);
    assert_int_equal(ch.v[0].why.from_agent, 1);
    /* the freed agent 1 takes the waiting 4 */
    assert_int_equal(ch.v[1].conversation, 4);
    assert_int_equal(ch.v[1].agent, 1);
    assert_int_equal(load(r, 2), 2);
    /* transfer to an agent without the skills is allowed and explained */
    agent(r, 5, SB_ROUTING_ONLINE, 2, "lang:zh", 0, T0, &ch);
    ch.n = 0;
    assert_int_equal(sb_routing_transfer_to_agent(r, 2, 5, 0, T0 + MIN, &ch, &err), 0);
    assert_true(ch.v[0].why.skills_missing);
    char *js = sb_routing_explain_json(r, &ch.v[0].why);
    assert_non_null(strstr(js, "the agent lacks"));
    assert_non_null(strstr(js, "lang:en"));
    free(js);

    /* to a team: goes to a member of team 9 other than the holder */
    agent(r, 6, SB_ROUTING_ONLINE, 2, "lang:en", 9, T0, &ch);
    ch.n = 0;
    assert_int_equal(sb_routing_transfer_to_team(r, 1, 9, T0 + 2 * MIN, &ch, &err), 0);
    assert_int_equal(ch.v[0].conversation, 1);
    assert_int_equal(ch.v[0].agent, 6);
    assert_int_equal(ch.v[0].why.from_agent, 2);
    struct sb_routing_conv_info info;
    sb_routing_conv_get(r, 1, T0 + 2 * MIN, &info);
    assert_int_equal(info.enqueue_ms, T0); /* waiting time kept */
    /* 3 (held by agent 4, team 9) to team 3: agent 1 is full (it holds 4), agent 2 holds
     * nothing any more (1 went to team 9, 2 to agent 5) */
    assert_int_equal(load(r, 2), 0);
    ch.n = 0;
    assert_int_equal(sb_routing_transfer_to_team(r, 3, 3, T0 + 3 * MIN, &ch, &err), 0);
    assert_int_equal(holder(r, 3), 2);
    assert_int_equal(ch.v[0].why.from_agent, 4);
    assert_int_equal(load(r, 4), 0);
    /* to a team nobody is in: waits, explained */
    ch.n = 0;
    assert_int_equal(sb_routing_transfer_to_team(r, 3, 55, T0 + 4 * MIN, &ch, &err), 0);
    assert_int_equal(holder(r, 3), 0);
    js = sb_routing_explain_json(r, &ch.v[0].why);
    assert_non_null(strstr(js, "no online agent has team:55"));
    free(js);
    assert_int_equal(sb_routing_transfer_to_team(r, 3, -1, T0, &ch, &err), SB_EINVAL);
    assert_int_equal(sb_routing_transfer_to_team(r, 333, 1, T0, &ch, &err), SB_ENOTFOUND);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

static void test_hand_back(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    agent(r, 1, SB_ROUTING_ONLINE, 2, NULL, 0, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 1, .enqueue_ms = T0}, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 2, .enqueue_ms = T0 + 1}, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 3, .enqueue_ms = T0 + 2}, T0, &ch);
    /* 1 and 2 with agent 1; 3 waits. Agent 1 hands back 1 (the oldest): it is not given it
     * again in this step; instead it takes 3. */
    ch.n = 0;
    assert_int_equal(sb_routing_requeue(r, 1, T0 + MIN, &ch), 0);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.v[0].conversation, 1);
    assert_int_equal(ch.v[0].agent, 0);
    assert_int_equal(ch.v[0].why.reason, SB_ROUTING_R_REQUEUED);
    assert_int_equal(ch.v[1].conversation, 3);
    assert_int_equal(ch.v[1].agent, 1);
    assert_int_equal(holder(r, 1), 0);
    assert_int_equal(sb_routing_requeue(r, 1, T0, &ch), SB_ESTATE);
    /* another agent comes online and takes it */
    ch.n = 0;
    agent(r, 2, SB_ROUTING_ONLINE, 2, NULL, 0, T0 + 2 * MIN, &ch);
    assert_int_equal(ch.n, 1);
    assert_int_equal(holder(r, 1), 2);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

/* ---- restore, update, settings change ---- */

static void test_restore_update_reconfigure(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    struct sb_error err = {0};
    agent(r, 1, SB_ROUTING_OFFLINE, 1, NULL, 0, T0, &ch);
    struct sb_routing_conv_spec s = {.id = 1, .enqueue_ms = T0};
    assert_int_equal(sb_routing_restore_assigned(r, &s, 1, &err), 0);
    s.id = 2;
    assert_int_equal(sb_routing_restore_assigned(r, &s, 1, &err), 0); /* over capacity: ok */
    assert_int_equal(load(r, 1), 2);
    s.id = 3;
    assert_int_equal(sb_routing_restore_assigned(r, &s, 42, &err), SB_ENOTFOUND);
    s.enqueue_ms = 0;
    assert_int_equal(sb_routing_restore_assigned(r, &s, 1, &err), SB_EINVAL);
    conv(r, (struct sb_routing_conv_spec){.id = 10, .enqueue_ms = T0}, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 11, .enqueue_ms = T0 + 5 * MIN}, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 12, .enqueue_ms = T0 + 6 * MIN}, T0, &ch);
    /* duplicates and bad input change nothing */
    assert_int_equal(sb_routing_enqueue(r, &(struct sb_routing_conv_spec){.id = 10}, T0, &ch,
                                        &err),
                     SB_EEXIST);
    assert_int_equal(sb_routing_enqueue(r, &(struct sb_routing_conv_spec){.id = 0}, T0, &ch,
                                        &err),
                     SB_EINVAL);
    assert_int_equal(sb_routing_enqueue(r,
                                        &(struct sb_routing_conv_spec){.id = 50,
                                                                       .negative_trend = 2},
                                        T0, &ch, &err),
                     SB_EINVAL);
    char longtag[100];
    memset(longtag, 'x', sizeof(longtag) - 1);
    longtag[99] = 0;
    assert_int_equal(sb_routing_enqueue(r,
                                        &(struct sb_routing_conv_spec){.id = 51,
                                                                       .language = longtag},
                                        T0, &ch, &err),
                     SB_ETOOBIG);
    /* new signals: 12 becomes a complaint and moves ahead of 11 (and of 10: 8 > 6 minutes) */
    struct sb_routing_conv_spec u = {.id = 12, .complaint = 1};
    assert_int_equal(sb_routing_conv_update(r, &u, T0 + 7 * MIN, &ch, &err), 0);
    sb_id ids[8];
    size_t n;
    queue_ids(r, T0 + 7 * MIN, ids, &n);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 12);
    assert_int_equal(ids[1], 10);
    assert_int_equal(ids[2], 11);
    /* a weight change re-orders: complaints count for less than waiting now */
    struct sb_routing_config c = *sb_routing_config(r);
    c.w_complaint = 1;
    assert_int_equal(sb_routing_set_config(r, &c, &err), 0);
    queue_ids(r, T0 + 7 * MIN, ids, &n);
    assert_int_equal(ids[0], 10);
    assert_int_equal(ids[1], 11);
    assert_int_equal(ids[2], 12);
    c.w_wait = -1;
    assert_int_equal(sb_routing_set_config(r, &c, &err), SB_EINVAL);
    /* dispatch after restore: an agent that comes online by upsert pulls; dispatch offers */
    agent(r, 2, SB_ROUTING_ONLINE, 0, NULL, 0, T0, &ch);
    ch.n = 0;
    assert_int_equal(sb_routing_dispatch(r, T0 + 8 * MIN, &ch), 0);
    assert_int_equal(ch.n, 0); /* capacity 0 */
    sb_routing_agent_set_capacity(r, 2, 2, T0 + 8 * MIN, &ch);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.v[0].conversation, 10);
    assert_int_equal(ch.v[1].conversation, 11);
    sb_id next = 99;
    struct sb_routing_explain x;
    assert_int_equal(sb_routing_next_for_agent(r, 2, T0, &next, &x), 0);
    assert_int_equal(next, 0); /* full */
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

static void test_limits(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    struct sb_error err = {0};
    char tag[32];
    const char *one[1] = {tag};
    for (int i = 0; i < SB_ROUTING_TAGS_MAX; i++) {
        snprintf(tag, sizeof(tag), "t%d", i);
        struct sb_routing_conv_spec s = {.id = i + 1, .extra_skills = one, .n_extra_skills = 1};
        assert_int_equal(sb_routing_enqueue(r, &s, T0, &ch, &err), 0);
    }
    snprintf(tag, sizeof(tag), "one-too-many");
    struct sb_routing_conv_spec s = {.id = 100000, .extra_skills = one, .n_extra_skills = 1};
    assert_int_equal(sb_routing_enqueue(r, &s, T0, &ch, &err), SB_ETOOBIG);
    snprintf(tag, sizeof(tag), "t7"); /* known tags still work */
    assert_int_equal(sb_routing_enqueue(r, &s, T0, &ch, &err), 0);
    const char *ctl[1] = {"a\nb"};
    struct sb_routing_agent_spec a = {.id = 1, .presence = SB_ROUTING_ONLINE, .capacity = 1,
                                      .skills = ctl, .n_skills = 1};
    assert_int_equal(sb_routing_agent_upsert(r, &a, T0, &ch, &err), SB_EINVAL);
    a.skills = NULL;
    a.n_skills = 0;
    a.capacity = SB_ROUTING_CAPACITY_MAX + 1;
    assert_int_equal(sb_routing_agent_upsert(r, &a, T0, &ch, &err), SB_EINVAL);
    struct sb_routing_stats st;
    sb_routing_stats(r, T0, &st);
    assert_int_equal(st.agents, 0);
    assert_int_equal(st.waiting, SB_ROUTING_TAGS_MAX + 1);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
    sb_routing_free(NULL);
}

static void test_explain_json(void **state)
{
    (void)state;
    struct sb_routing *r = router(NULL);
    struct sb_routing_changes ch = {0};
    agent(r, 3, SB_ROUTING_ONLINE, 4, "lang:en", 0, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 77, .language = "en", .vip = 1, .complaint = 1,
                                          .enqueue_ms = T0 - 90 * 1000},
         T0, &ch);
    char *js = sb_routing_explain_json(r, &ch.v[0].why);
    assert_non_null(strstr(js, "\"conversation\":77"));
    assert_non_null(strstr(js, "\"agent\":3"));
    assert_non_null(strstr(js, "\"reason\":\"least_loaded\""));
    assert_non_null(strstr(js, "\"vip\":10.0"));
    assert_non_null(strstr(js, "\"complaint\":8.0"));
    assert_non_null(strstr(js, "\"waiting\":1.5"));
    assert_non_null(strstr(js, "\"total\":19.5"));
    assert_non_null(strstr(js, "\"waited_s\":90"));
    assert_non_null(strstr(js, "only online agent"));
    free(js);
    /* nobody online */
    sb_routing_agent_set_presence(r, 3, SB_ROUTING_OFFLINE, T0, &ch);
    js = sb_routing_explain_json(r, &ch.v[ch.n - 1].why);
    assert_non_null(strstr(js, "no other agent is online (1 offline, 0 away)"));
    free(js);
    /* everyone full */
    sb_routing_agent_set_presence(r, 3, SB_ROUTING_ONLINE, T0, &ch);
    sb_routing_agent_set_capacity(r, 3, 1, T0, &ch);
    conv(r, (struct sb_routing_conv_spec){.id = 78, .language = "en"}, T0, &ch);
    js = sb_routing_explain_json(r, &ch.v[ch.n - 1].why);
    assert_non_null(strstr(js, "every online agent is at capacity"));
    free(js);
    sb_routing_release(r, 77, T0, &ch);
    js = sb_routing_explain_json(r, &ch.v[ch.n - 1].why);
    assert_non_null(strstr(js, "\"reason\":\"next_in_queue\""));
    assert_non_null(strstr(js, "\"waiting_eligible\":1"));
    free(js);
    assert_string_equal(sb_routing_presence_name(SB_ROUTING_AWAY), "away");
    assert_int_equal(sb_routing_presence_parse("online"), SB_ROUTING_ONLINE);
    assert_int_equal(sb_routing_presence_parse("busy"), -1);
    sb_routing_changes_cleanup(&ch);
    sb_routing_free(r);
}

/* ---- escalation ---- */

/* Stands in for sb_policy_asks_for_human (which lives in the engine). */
static int fake_detector(const char *text)
{
    return strstr(text, "人工") != NULL || strstr(text, "a person") != NULL;
}

static void test_escalation(void **state)
{
    (void)state;
    struct sb_routing_config c;
    sb_routing_config_default(&c);
    struct sb_routing_escalation e;
    struct sb_routing_summary s = {0};
    assert_int_equal(sb_routing_escalation_check(&c, &s, &e), 0);
    assert_int_equal(e.trigger, SB_ROUTING_T_NONE);

    s.last_text = "转人工";
    s.asks_for_human = fake_detector;
    assert_int_equal(sb_routing_escalation_check(&c, &s, &e), 1);
    assert_int_equal(e.trigger, SB_ROUTING_T_ASKS_HUMAN);
    assert_string_equal(sb_routing_trigger_name(e.trigger), "asks_human");
    /* by intent alone, any phrasing */
    s.last_text = "can I get someone who actually works there";
    s.intent = "talk_to_human";
    s.intent_conf = 0.7;
    assert_int_equal(sb_routing_escalation_check(&c, &s, &e), 1);
    assert_non_null(strstr(e.why, "talk_to_human"));
    s.intent_conf = 0.5; /* below the confidence */
    assert_int_equal(sb_routing_escalation_check(&c, &s, &e), 0);
    c.esc_asks_human = 0;
    s.last_text = "a person please";
    assert_int_equal(sb_routing_escalation_check(&c, &s, &e), 0);
    sb_routing_config_default(&c);

    struct sb_routing_summary t = {.intent = "complaint", .intent_conf = 0.9};
    assert_int_equal(sb_routing_escalation_check(&c, &t, &e), 1);
    assert_int_equal(e.trigger, SB_ROUTING_T_COMPLAINT);
    /* a negative streak of exactly N fires, N-1 does not, a break resets it */
    struct sb_routing_summary n = {0};
    enum sb_routing_sentiment seq[] = {SB_ROUTING_SENT_NEG, SB_ROUTING_SENT_POS,
                                       SB_ROUTING_SENT_NEG, SB_ROUTING_SENT_NEG};
    memcpy(n.sentiments, seq, sizeof(seq));
    n.n_sentiments = 4;
    assert_int_equal(sb_routing_escalation_check(&c, &n, &e), 0);
    n.sentiments[4] = SB_ROUTING_SENT_NEG;
    n.n_sentiments = 5;
    assert_int_equal(sb_routing_escalation_check(&c, &n, &e), 1);
    assert_int_equal(e.trigger, SB_ROUTING_T_NEGATIVE_STREAK);
    assert_non_null(strstr(e.why, "3 negative"));
    assert_true(fabs(sb_routing_negative_trend(&n, 4) - 0.75) < 1e-9);
    c.esc_negative_streak = 0;
    assert_int_equal(sb_routing_escalation_check(&c, &n, &e), 0);
    sb_routing_config_default(&c);

    struct sb_routing_summary a = {.abstentions = 1};
    assert_int_equal(sb_routing_escalation_check(&c, &a, &e), 0);
    a.failed_turns = 1;
    assert_int_equal(sb_routing_escalation_check(&c, &a, &e), 1);
    assert_int_equal(e.trigger, SB_ROUTING_T_ABSTENTIONS);

    struct sb_routing_summary v = {.vip = 1};
    assert_int_equal(sb_routing_escalation_check(&c, &v, &e), 0); /* off by default */
    c.esc_vip = 1;
    assert_int_equal(sb_routing_escalation_check(&c, &v, &e), 1);
    assert_int_equal(e.trigger, SB_ROUTING_T_VIP);
    /* several at once: all in `fired`, the first named */
    v.intent = "complaint";
    v.intent_conf = 1;
    assert_int_equal(sb_routing_escalation_check(&c, &v, &e), 1);
    assert_int_equal(e.trigger, SB_ROUTING_T_COMPLAINT);
    assert_int_equal(e.fired, SB_ROUTING_T_COMPLAINT | SB_ROUTING_T_VIP);
}

static void test_summary_from_messages(void **state)
{
    (void)state;
    struct sb_message m[6];
    memset(m, 0, sizeof(m));
    const char *ann[6] = {
        "{\"intent\":{\"label\":\"complaint\",\"confidence\":0.8,\"oos\":false},"
        "\"sentiment\":{\"label\":\"negative\",\"confidence\":0.9}}",
        "{\"policy\":\"assist\",\"reason\":\"no_answer\"}",
        "{\"intent\":{\"label\":\"refund\",\"confidence\":0.4,\"oos\":true},"
        "\"sentiment\":{\"label\":\"negative\"}}",
        "{\"policy\":\"basic\",\"reason\":\"no_answer\"}",
        "not json",
        "{\"intent\":{\"label\":\"talk_to_human\",\"confidence\":0.95,\"oos\":false},"
        "\"sentiment\":{\"label\":\"negative\"}}",
    };
    const char *kinds[6] = {SB_SENDER_CUSTOMER, SB_SENDER_BOT, SB_SENDER_CUSTOMER,
                            SB_SENDER_BOT, SB_SENDER_AGENT, SB_SENDER_CUSTOMER};
    for (int i = 0; i < 6; i++) {
        snprintf(m[i].sender_kind, sizeof(m[i].sender_kind), "%s", kinds[i]);
        snprintf(m[i].direction, sizeof(m[i].direction), "%s",
                 strcmp(kinds[i], SB_SENDER_CUSTOMER) ? SB_DIR_OUT : SB_DIR_IN);
        m[i].annotations_json = (char *)ann[i];
        m[i].text = (char *)(i == 5 ? "我要找真人" : "x");
    }
    struct sb_routing_summary s;
    sb_routing_summary_from_messages(m, 6, 0.6, &s);
    assert_string_equal(s.last_text, "我要找真人");
    assert_string_equal(s.intent, "talk_to_human");
    assert_true(s.complaint);
    assert_int_equal(s.abstentions, 2);
    assert_int_equal(s.n_sentiments, 3);
    struct sb_routing_config c;
    sb_routing_config_default(&c);
    struct sb_routing_escalation e;
    assert_int_equal(sb_routing_escalation_check(&c, &s, &e), 1);
    assert_int_equal(e.fired, SB_ROUTING_T_ASKS_HUMAN | SB_ROUTING_T_COMPLAINT |
                                  SB_ROUTING_T_NEGATIVE_STREAK | SB_ROUTING_T_ABSTENTIONS);
    /* an out-of-scope last message has no intent */
    sb_routing_summary_from_messages(m, 3, 0.6, &s);
    assert_null(s.intent);
    /* a low-confidence complaint does not set the flag */
    sb_routing_summary_from_messages(m, 1, 0.85, &s);
    assert_false(s.complaint);
    /* folded one message at a time (what a refresh after each message does), the summary is
     * the same after every prefix, over more messages than the sentiment window keeps */
    struct sb_message many[80];
    for (int i = 0; i < 80; i++)
        many[i] = m[(i * 7) % 6];
    struct sb_routing_summary inc, all;
    memset(&inc, 0, sizeof(inc));
    for (size_t n = 1; n <= 80; n++) {
        sb_routing_summary_add(&inc, &many[n - 1], 0.6);
        sb_routing_summary_from_messages(many, n, 0.6, &all);
        assert_int_equal(inc.complaint, all.complaint);
        assert_int_equal(inc.abstentions, all.abstentions);
        assert_int_equal(inc.failed_turns, all.failed_turns);
        assert_int_equal(inc.n_sentiments, all.n_sentiments);
        assert_memory_equal(inc.sentiments, all.sentiments, sizeof(inc.sentiments));
        assert_true(inc.intent == NULL ? all.intent == NULL : !strcmp(inc.intent, all.intent));
        assert_true(inc.last_text == all.last_text);
    }
    assert_int_equal(inc.n_sentiments, SB_ROUTING_SUMMARY_SENTIMENTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_priority_terms),
        cmocka_unit_test(test_order_and_ties),
        cmocka_unit_test(test_starvation),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_skills),
        cmocka_unit_test(test_least_loaded_and_ties),
        cmocka_unit_test(test_offline_requeue),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_hand_back),
        cmocka_unit_test(test_restore_update_reconfigure),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_explain_json),
        cmocka_unit_test(test_escalation),
        cmocka_unit_test(test_summary_from_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
