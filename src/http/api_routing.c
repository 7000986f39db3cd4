/* SPDX-License-Identifier: MIT */
/*
 * Routing and escalation over REST: the tenant's routing settings, teams, agents' routing
 * profiles and presence, the queue (all of it, or what one agent can take plus what it
 * holds), transfers to an agent or a team, handing a conversation back, why a conversation
 * is where it is, and the hand-off summary. Supervisor routes are checked by the route
 * table (SB_AUTH_SUPERVISOR); per-conversation rules (an agent may transfer or hand back only
 * what it holds) here. Every call is scoped to the caller's tenant.
 */
#include "api.h"

#include "sb/engine_routing.h"
#include "sb/render.h"

#include <stdlib.h>
#include <string.h>

static int is_supervisor(const struct sb_http_req *r)
{
    return !strcmp(r->who.role, SB_ROLE_ADMIN) || !strcmp(r->who.role, SB_ROLE_SUPERVISOR);
}

static void answer(struct sb_http_req *r, int rc, const struct sb_error *err, int status,
                   json_t *body)
{
    if (rc)
        sb__api_store_error(r, err, rc);
    else
        sb__http_respond_json(r, status, body);
}

void sb__api_routing_config_get(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *o = sb_engine_routing_config_get(r->srv->engine, r->who.tenant_id);
    if (!o)
        sb__http_error(r, SB_EINTERNAL, "routing state could not be loaded");
    else
        sb__http_respond_json(r, 200, o);
}

void sb__api_routing_config_put(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    json_t *out = NULL;
    struct sb_error err = {0};
    int rc = sb_engine_routing_config_put(r->srv->engine, r->who.tenant_id, body, &out, &err);
    json_decref(body);
    answer(r, rc, &err, 200, out);
}

void sb__api_team_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_team *ts = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_team_list(r->srv->store, r->who.tenant_id, &ts, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:I, s:s, s:I}", "id", (json_int_t)ts[i].id, "name",
                                           ts[i].name, "created_at",
                                           (json_int_t)ts[i].created_ms));
    sb_team_list_free(ts, n);
    sb__http_respond_json(r, 200, json_pack("{s:o}", "teams", a));
}

void sb__api_team_create(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *name = sb__api_str(r, body, "name", 1, 127, &bad);
    if (!bad) {
        sb_id tid = 0;
        struct sb_error err = {0};
        int rc = sb_store_team_create(r->srv->store, r->who.tenant_id, name, &tid, &err);
        answer(r, rc, &err, 201, rc ? NULL : json_pack("{s:I, s:s}", "id", (json_int_t)tid,
                                                       "name", name));
    }
    json_decref(body);
}

void sb__api_routing_agents(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *a = NULL;
    struct sb_error err = {0};
    int rc = sb_engine_routing_agents(r->srv->engine, r->who.tenant_id, &a, &err);
    answer(r, rc, &err, 200, rc ? NULL : json_pack("{s:o}", "agents", a));
}

/* {"skills": ["lang:en", ...], "teams": [1, 2], "capacity": 4}; absent members keep. */
void sb__api_agent_routing_put(struct sb_http_req *r, const sb_id *id)
{
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    const char *skills[SB_ROUTING_SKILLS_MAX];
    sb_id teams[SB_STORE_AGENT_TEAMS_MAX];
    size_t ns = 0, nt = 0;
    int capacity = -1;
    json_t *js = json_object_get(body, "skills"), *jt = json_object_get(body, "teams"),
           *jc = json_object_get(body, "capacity");
    if (js && (!json_is_array(js) || json_array_size(js) > SB_ROUTING_SKILLS_MAX)) {
        sb__http_error(r, SB_EINVAL, "field 'skills' must be an array of at most %d strings",
                       SB_ROUTING_SKILLS_MAX);
        goto out;
    }
    for (size_t i = 0; js && i < json_array_size(js); i++) {
        json_t *v = json_array_get(js, i);
        if (!json_is_string(v)) {
            sb__http_error(r, SB_EINVAL, "field 'skills[%zu]' must be a string", i);
            goto out;
        }
        skills[ns++] = json_string_value(v);
    }
    if (jt && (!json_is_array(jt) || json_array_size(jt) > SB_STORE_AGENT_TEAMS_MAX)) {
        sb__http_error(r, SB_EINVAL, "field 'teams' must be an array of at most %d team ids",
                       SB_STORE_AGENT_TEAMS_MAX);
        goto out;
    }
    for (size_t i = 0; jt && i < json_array_size(jt); i++) {
        json_t *v = json_array_get(jt, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            sb__http_error(r, SB_EINVAL, "field 'teams[%zu]' must be a team id", i);
            goto out;
        }
        teams[nt++] = json_integer_value(v);
    }
    if (jc) {
        if (!json_is_integer(jc) || json_integer_value(jc) < 0 ||
            json_integer_value(jc) > SB_ROUTING_CAPACITY_MAX) {
            sb__http_error(r, SB_EINVAL, "field 'capacity' must be an integer from 0 to %d",
                           SB_ROUTING_CAPACITY_MAX);
            goto out;
        }
        capacity = (int)json_integer_value(jc);
    }
    json_t *o = NULL;
    struct sb_error err = {0};
    int rc = sb_engine_agent_routing_put(r->srv->engine, r->who.tenant_id, id[0],
                                         js ? skills : NULL, ns, jt ? teams : NULL, nt, capacity,
                                         &o, &err);
    answer(r, rc, &err, 200, o);
out:
    json_decref(body);
}

void sb__api_presence_put(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    if (!r->who.agent_id) {
        sb__http_error(r, SB_EINVAL, "presence belongs to an agent: sign in as the agent");
        return;
    }
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *p = sb__api_str(r, body, "presence", 1, 16, &bad);
    if (!bad) {
        struct sb_error err = {0};
        int rc = sb_engine_agent_presence_put(r->srv->engine, r->who.tenant_id, r->who.agent_id,
                                              p, &err);
        answer(r, rc, &err, 200, rc ? NULL : json_pack("{s:I, s:s}", "agent_id",
                                                       (json_int_t)r->who.agent_id, "presence",
                                                       p));
    }
    json_decref(body);
}

void sb__api_queue(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    int bad = 0;
    int mine = (int)sb__api_query_int(r, "mine", 0, 0, 1, &bad);
    size_t offset = (size_t)sb__api_query_int(r, "offset", 0, 0, 1000000, &bad);
    size_t limit = (size_t)sb__api_query_int(r, "limit", 50, 1, 200, &bad);
    if (bad)
        return;
    if (mine && !r->who.agent_id) {
        sb__http_error(r, SB_EINVAL, "query parameter 'mine' needs an agent session");
        return;
    }
    json_t *o = NULL;
    struct sb_error err = {0};
    int rc = sb_engine_queue(r->srv->engine, r->who.tenant_id, mine ? r->who.agent_id : 0, offset,
                             limit, &o, &err);
    answer(r, rc, &err, 200, o);
}

/* An agent may move only a conversation it holds; supervisors any. */
static int may_move(struct sb_http_req *r, sb_id conv)
{
    struct sb_conversation c = {0};
    struct sb_error err = {0};
    int rc = sb_store_conversation_get(r->srv->store, r->who.tenant_id, conv, &c, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return 0;
    }
    int ok = is_supervisor(r) || (r->who.agent_id && c.assignee_id == r->who.agent_id);
    sb_conversation_cleanup(&c);
    if (!ok)
        sb__http_error(r, SB_EFORBIDDEN, "only the agent holding the conversation or a "
                       "supervisor may move it");
    return ok;
}

/* {"agent": id, "force": bool} or {"team": id} (0 or null: any team). */
void sb__api_conversation_transfer(struct sb_http_req *r, const sb_id *id)
{
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    json_t *ja = json_object_get(body, "agent"), *jt = json_object_get(body, "team"),
           *jf = json_object_get(body, "force");
    int has_agent = ja && !json_is_null(ja), has_team = jt != NULL;
    if (has_agent == has_team) {
        sb__http_error(r, SB_EINVAL, "give exactly one of 'agent' and 'team'");
        goto out;
    }
    if (has_agent && (!json_is_integer(ja) || json_integer_value(ja) <= 0)) {
        sb__http_error(r, SB_EINVAL, "field 'agent' must be an agent id");
        goto out;
    }
    if (has_team && !json_is_null(jt) && (!json_is_integer(jt) || json_integer_value(jt) < 0)) {
        sb__http_error(r, SB_EINVAL, "field 'team' must be a team id, 0 or null (any team)");
        goto out;
    }
    if (jf && !json_is_boolean(jf)) {
        sb__http_error(r, SB_EINVAL, "field 'force' must be true or false");
        goto out;
    }
    if (!may_move(r, id[0]))
        goto out;
    json_t *o = NULL;
    struct sb_error err = {0};
    int rc = sb_engine_transfer(r->srv->engine, r->who.tenant_id, id[0],
                                has_agent ? json_integer_value(ja) : 0,
                                has_team && json_is_integer(jt) ? json_integer_value(jt) : 0,
                                json_is_true(jf), &o, &err);
    answer(r, rc, &err, 200, o);
out:
    json_decref(body);
}

void sb__api_conversation_requeue(struct sb_http_req *r, const sb_id *id)
{
    if (!may_move(r, id[0]))
        return;
    json_t *o = NULL;
    struct sb_error err = {0};
    int rc = sb_engine_requeue(r->srv->engine, r->who.tenant_id, id[0], &o, &err);
    answer(r, rc, &err, 200, o);
}

void sb__api_conversation_routing(struct sb_http_req *r, const sb_id *id)
{
    json_t *o = NULL;
    struct sb_error err = {0};
    int rc = sb_engine_routing_explain(r->srv->engine, r->who.tenant_id, id[0], &o, &err);
    answer(r, rc, &err, 200, o);
}

void sb__api_conversation_summary(struct sb_http_req *r, const sb_id *id)
{
    json_t *o = NULL;
    struct sb_error err = {0};
    int rc = sb_engine_handoff_summary(r->srv->engine, r->who.tenant_id, id[0], &o, &err);
    answer(r, rc, &err, 200, o);
}
