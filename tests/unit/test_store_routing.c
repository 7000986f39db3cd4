/* SPDX-License-Identifier: MIT */
/*
 * Contract tests of the store's routing part (schema step 2), through the public sb_store_*
 * functions only: per-tenant settings, teams, agents' routing profiles with their team
 * memberships, and the routing fields of conversations (team, queue time, explanation).
 * Every test also checks that another tenant sees nothing and cannot write across.
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
    sb_id t1, t2, in1, a1, a2, b1; /* tenants, an inbox of t1, agents a1 a2 (t1), b1 (t2) */
};

static sb_id agent(struct fx *f, sb_id t, const char *email)
{
    sb_id id = 0;
    struct sb_error err = {0};
    if (sb_store_agent_create(f->st, t, email, "A", SB_ROLE_AGENT, "x", &id, &err))
        fail_msg("agent: %s", err.msg);
    return id;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->st = store_fixture_open(&f->p, "route", 1);
    struct sb_error err = {0};
    f->t1 = store_fixture_tenant(f->st, "route");
    f->t2 = store_fixture_tenant(f->st, "route");
    if (sb_store_inbox_create(f->st, f->t1, "api", "main", NULL, &f->in1, &err))
        fail_msg("inbox: %s", err.msg);
    f->a1 = agent(f, f->t1, "a1@x");
    f->a2 = agent(f, f->t1, "a2@x");
    f->b1 = agent(f, f->t2, "b1@x");
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

static void test_settings(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    char *v = NULL;
    assert_int_equal(sb_store_setting_get(f->st, f->t1, "routing", &v, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_setting_put(f->st, f->t1, "routing", "{\"w_vip\":12}", &err), 0);
    assert_int_equal(sb_store_setting_put(f->st, f->t1, "sla", "{\"first_response_s\":60}", &err),
                     0);
    assert_int_equal(sb_store_setting_get(f->st, f->t1, "routing", &v, &err), 0);
    assert_string_equal(v, "{\"w_vip\":12}");
    free(v);
    /* replaced, not duplicated */
    assert_int_equal(sb_store_setting_put(f->st, f->t1, "routing", "{\"w_vip\":3}", &err), 0);
    assert_int_equal(sb_store_setting_get(f->st, f->t1, "routing", &v, &err), 0);
    assert_string_equal(v, "{\"w_vip\":3}");
    free(v);
    /* tenant scoping */
    assert_int_equal(sb_store_setting_get(f->st, f->t2, "routing", &v, &err), SB_ENOTFOUND);
    /* bad keys and sizes */
    assert_int_equal(sb_store_setting_put(f->st, f->t1, "Bad Key", "{}", &err), SB_EINVAL);
    assert_int_equal(sb_store_setting_put(f->st, f->t1, "", "{}", &err), SB_EINVAL);
    char *big = malloc(SB_STORE_SETTING_MAX + 2);
    memset(big, ' ', SB_STORE_SETTING_MAX + 1);
    big[SB_STORE_SETTING_MAX + 1] = '\0';
    assert_int_equal(sb_store_setting_put(f->st, f->t1, "routing", big, &err), SB_ETOOBIG);
    free(big);
    assert_int_equal(sb_store_setting_put(f->st, 999999, "routing", "{}", &err), SB_ENOTFOUND);
}

static void test_teams(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    sb_id x = 0, y = 0, z = 0;
    assert_int_equal(sb_store_team_create(f->st, f->t1, "billing", &x, &err), 0);
    assert_int_equal(sb_store_team_create(f->st, f->t1, "vip", &y, &err), 0);
    assert_int_equal(sb_store_team_create(f->st, f->t1, "billing", &z, &err), SB_EEXIST);
    assert_int_equal(sb_store_team_create(f->st, f->t2, "billing", &z, &err), 0); /* per tenant */
    assert_int_equal(sb_store_team_create(f->st, f->t1, "", &z, &err), SB_EINVAL);
    struct sb_team *ts = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_team_list(f->st, f->t1, &ts, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ts[0].id, x);
    assert_string_equal(ts[0].name, "billing");
    assert_string_equal(ts[1].name, "vip");
    sb_team_list_free(ts, n);
    assert_int_equal(sb_store_team_list(f->st, f->t2, &ts, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ts[0].id, z);
    sb_team_list_free(ts, n);
}

static void test_agent_routing(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    sb_id billing = 0, vip = 0, other = 0;
    assert_int_equal(sb_store_team_create(f->st, f->t1, "billing", &billing, &err), 0);
    assert_int_equal(sb_store_team_create(f->st, f->t1, "vip", &vip, &err), 0);
    assert_int_equal(sb_store_team_create(f->st, f->t2, "theirs", &other, &err), 0);
    struct sb_agent_routing got = {0};
    assert_int_equal(sb_store_agent_routing_get(f->st, f->t1, f->a1, &got, &err), SB_ENOTFOUND);

    struct sb_agent_routing a = {.agent_id = f->a1, .capacity = 4,
                                 .skills_json = "[\"lang:en\",\"intent:billing\"]",
                                 .teams = {vip, billing}, .n_teams = 2};
    memcpy(a.presence, "online", 7);
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &a, &err), 0);
    assert_int_equal(sb_store_agent_routing_get(f->st, f->t1, f->a1, &got, &err), 0);
    assert_string_equal(got.presence, "online");
    assert_int_equal(got.capacity, 4);
    assert_string_equal(got.skills_json, "[\"lang:en\",\"intent:billing\"]");
    assert_int_equal(got.n_teams, 2);
    assert_int_equal(got.teams[0], billing); /* ordered by id */
    assert_int_equal(got.teams[1], vip);
    sb_agent_routing_cleanup(&got);

    /* replace: fewer teams, other presence */
    a.n_teams = 1;
    a.teams[0] = vip;
    memcpy(a.presence, "away", 5);
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &a, &err), 0);
    struct sb_agent_routing b = {.agent_id = f->a2, .capacity = 0, .skills_json = "[]"};
    memcpy(b.presence, "offline", 8);
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &b, &err), 0);
    struct sb_agent_routing *all = NULL;
    size_t n = 0;
    assert_int_equal(sb_store_agent_routing_list(f->st, f->t1, &all, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(all[0].agent_id, f->a1);
    assert_string_equal(all[0].presence, "away");
    assert_int_equal(all[0].n_teams, 1);
    assert_int_equal(all[0].teams[0], vip);
    assert_int_equal(all[1].agent_id, f->a2);
    assert_int_equal(all[1].n_teams, 0);
    sb_agent_routing_list_free(all, n);

    /* tenant scoping: another tenant's agent or team is not found, and nothing changed */
    assert_int_equal(sb_store_agent_routing_get(f->st, f->t2, f->a1, &got, &err), SB_ENOTFOUND);
    struct sb_agent_routing c = a;
    c.teams[0] = other;
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &c, &err), SB_ENOTFOUND);
    c = a;
    c.agent_id = f->b1;
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &c, &err), SB_ENOTFOUND);
    assert_int_equal(sb_store_agent_routing_list(f->st, f->t2, &all, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sb_store_agent_routing_get(f->st, f->t1, f->a1, &got, &err), 0);
    assert_int_equal(got.teams[0], vip);
    sb_agent_routing_cleanup(&got);

    /* bad input */
    c = a;
    memcpy(c.presence, "busy", 5);
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &c, &err), SB_EINVAL);
    c = a;
    c.capacity = 1001;
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &c, &err), SB_EINVAL);
    c = a;
    c.n_teams = SB_STORE_AGENT_TEAMS_MAX + 1;
    assert_int_equal(sb_store_agent_routing_put(f->st, f->t1, &c, &err), SB_ETOOBIG);
}

static void test_conversation_routing_fields(void **state)
{
    struct fx *f = *state;
    struct sb_error err = {0};
    struct sb_ingest in = {.tenant_id = f->t1, .inbox_id = f->in1, .customer_ext_id = "c1",
                           .text = "hello", .created_ms = 1000};
    struct sb_ingest_result r = {0};
    assert_int_equal(sb_store_ingest_batch(f->st, &in, &r, 1, &err), 0);
    assert_int_equal(r.rc, 0);
    struct sb_conversation c = {0};
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_int_equal(c.team_id, 0);
    assert_int_equal(c.queued_ms, 0);
    assert_string_equal(c.routing_json, "{}");
    sb_conversation_cleanup(&c);

    sb_id team = 0;
    assert_int_equal(sb_store_team_create(f->st, f->t1, "billing", &team, &err), 0);
    struct sb_conversation_update u = {.status = SB_CONV_QUEUED, .set_team = 1, .team_id = team,
                                       .set_queued_ms = 1, .queued_ms = 5000,
                                       .routing_json = "{\"reason\":\"no_agent\"}"};
    int64_t seq = 0;
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u, &seq, &err),
                     0);
    assert_true(seq > 0);
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_string_equal(c.status, SB_CONV_QUEUED);
    assert_int_equal(c.team_id, team);
    assert_int_equal(c.queued_ms, 5000);
    assert_string_equal(c.routing_json, "{\"reason\":\"no_agent\"}");
    sb_conversation_cleanup(&c);

    /* only the explanation changes; the rest is kept */
    struct sb_conversation_update u2 = {.status = SB_CONV_ASSIGNED, .set_assignee = 1,
                                        .assignee_id = f->a1, .expect_status = SB_CONV_QUEUED,
                                        .routing_json = "{\"reason\":\"least_loaded\"}"};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u2, &seq, &err),
                     0);
    assert_int_equal(sb_store_conversation_get(f->st, f->t1, r.conversation_id, &c, &err), 0);
    assert_int_equal(c.assignee_id, f->a1);
    assert_int_equal(c.team_id, team);
    assert_int_equal(c.queued_ms, 5000);
    assert_string_equal(c.routing_json, "{\"reason\":\"least_loaded\"}");
    sb_conversation_cleanup(&c);
    /* expect_status guards routing writes too: nothing changes */
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &u2, &seq, &err),
                     SB_ESTATE);
    /* another tenant cannot touch it */
    assert_int_equal(sb_store_conversation_update(f->st, f->t2, r.conversation_id, &u, &seq, &err),
                     SB_ENOTFOUND);
    struct sb_conversation_update bad = {.set_queued_ms = 1, .queued_ms = -1};
    assert_int_equal(sb_store_conversation_update(f->st, f->t1, r.conversation_id, &bad, &seq,
                                                  &err),
                     SB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_teams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversation_routing_fields, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
