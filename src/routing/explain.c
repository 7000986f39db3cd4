/* SPDX-License-Identifier: MIT */
/*
 * Routing explanations as JSON for the API and the console: the terms that made a
 * conversation's priority, the tags it requires, how the agents split (offline, away, full,
 * lacking a skill, eligible), what decided between the eligible ones, and one plain sentence.
 */
#include "routing_internal.h"

#include "sb/mem.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason_name(enum sb_routing_reason r)
{
    switch (r) {
    case SB_ROUTING_R_NONE: return "none";
    case SB_ROUTING_R_LEAST_LOADED: return "least_loaded";
    case SB_ROUTING_R_NEXT_IN_QUEUE: return "next_in_queue";
    case SB_ROUTING_R_TRANSFER: return "transfer";
    case SB_ROUTING_R_REQUEUED: return "requeued";
    case SB_ROUTING_R_NO_AGENT: return "no_agent";
    }
    return "unknown";
}

static const char *tiebreak_name(enum sb_routing_tiebreak t)
{
    switch (t) {
    case SB_ROUTING_TB_ONLY: return "only_eligible";
    case SB_ROUTING_TB_LOAD: return "lowest_load";
    case SB_ROUTING_TB_IDLE: return "longest_idle";
    case SB_ROUTING_TB_ID: return "lowest_id";
    }
    return "unknown";
}

/* Points rounded to 2 decimals, so the JSON stays readable. */
static json_t *pts(double v)
{
    return json_real(round(v * 100) / 100);
}

static json_t *tags(const struct sb_routing *r, const uint64_t *set, struct sb_buf *text)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < SB_ROUTING_TAGS_MAX; i++)
        if ((set[i / 64] >> (i % 64)) & 1) {
            const char *name = sb_routing_tag_name(r, i);
            if (!name)
                continue;
            json_array_append_new(a, json_string(name));
            if (text)
                sb_buf_appendf(text, "%s%s", text->len ? ", " : "", name);
        }
    return a;
}

static void sentence(const struct sb_routing *r, const struct sb_routing_explain *x,
                     struct sb_buf *b)
{
    struct sb_buf miss;
    sb_buf_init(&miss, 4096);
    json_decref(tags(r, x->missing, &miss));
    const char *missing = miss.len ? miss.data : "";
    switch (x->reason) {
    case SB_ROUTING_R_LEAST_LOADED:
        sb_buf_appendf(b, "Agent %lld has every required skill and ", (long long)x->agent);
        if (x->tiebreak == SB_ROUTING_TB_ONLY)
            sb_buf_appendf(b, "was the only online agent with free capacity who has them");
        else if (x->tiebreak == SB_ROUTING_TB_LOAD)
            sb_buf_appendf(b, "the lowest load (%d of %d) of the %u eligible agents",
                           x->agent_load, x->agent_capacity, x->n_eligible);
        else if (x->tiebreak == SB_ROUTING_TB_IDLE)
            sb_buf_appendf(b, "the lowest load (%d of %d) of the %u eligible agents, tied with "
                              "another and idle longer (%lld s)",
                           x->agent_load, x->agent_capacity, x->n_eligible,
                           (long long)(x->agent_idle_ms / 1000));
        else
            sb_buf_appendf(b, "tied on load and idle time with another of the %u eligible "
                              "agents, and has the lower id",
                           x->n_eligible);
        break;
    case SB_ROUTING_R_NEXT_IN_QUEUE:
        sb_buf_appendf(b, "Agent %lld had free capacity (%d of %d) and this was the "
                          "highest-priority of the %u waiting conversations the agent has the "
                          "skills for",
                       (long long)x->agent, x->agent_load, x->agent_capacity,
                       x->waiting_eligible);
        break;
    case SB_ROUTING_R_TRANSFER:
        sb_buf_appendf(b, "Transferred by hand to agent %lld", (long long)x->agent);
        if (x->forced)
            sb_buf_appendf(b, ", over capacity (%d of %d)", x->agent_load, x->agent_capacity);
        if (x->skills_missing)
            sb_buf_appendf(b, "; the agent lacks %s", missing);
        break;
    case SB_ROUTING_R_REQUEUED:
    case SB_ROUTING_R_NO_AGENT:
        if (x->reason == SB_ROUTING_R_REQUEUED)
            sb_buf_appendf(b, "Back in the queue from agent %lld; no other agent now: ",
                           (long long)x->from_agent);
        else
            sb_buf_appendf(b, "Waiting; no agent now: ");
        if (!x->n_full && !x->n_missing_skills)
            sb_buf_appendf(b, "%s is online (%u offline, %u away)",
                           x->from_agent ? "no other agent" : "nobody", x->n_offline,
                           x->n_away);
        else if (miss.len)
            sb_buf_appendf(b, "no online agent has %s", missing);
        else if (!x->n_missing_skills)
            sb_buf_appendf(b, "every online agent is at capacity (%u)", x->n_full);
        else if (x->n_full)
            sb_buf_appendf(b, "%u online agents are at capacity and %u with free capacity "
                              "lack a required skill",
                           x->n_full, x->n_missing_skills);
        else
            sb_buf_appendf(b, "the %u online agents with free capacity lack a required skill",
                           x->n_missing_skills);
        break;
    case SB_ROUTING_R_NONE:
        sb_buf_appendf(b, "Nothing to decide");
        break;
    }
    sb_buf_appendf(b, ". Priority %.1f = %.1f fixed + %.1f for %lld s waited.",
                   x->priority.total, x->priority.fixed, x->priority.waiting,
                   (long long)(x->priority.waited_ms / 1000));
    sb_buf_cleanup(&miss);
}

char *sb_routing_explain_json(const struct sb_routing *r, const struct sb_routing_explain *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation", json_integer(x->conversation));
    json_object_set_new(o, "agent", x->agent ? json_integer(x->agent) : json_null());
    if (x->from_agent)
        json_object_set_new(o, "from_agent", json_integer(x->from_agent));
    json_object_set_new(o, "reason", json_string(reason_name(x->reason)));
    if (x->reason == SB_ROUTING_R_LEAST_LOADED)
        json_object_set_new(o, "tiebreak", json_string(tiebreak_name(x->tiebreak)));

    const struct sb_routing_priority *p = &x->priority;
    json_t *terms = json_object();
    json_object_set_new(terms, "vip", pts(p->vip));
    json_object_set_new(terms, "ltv", pts(p->ltv));
    json_object_set_new(terms, "complaint", pts(p->complaint));
    json_object_set_new(terms, "negative_trend", pts(p->negative));
    json_object_set_new(terms, "repeat_contact", pts(p->repeat));
    json_t *prio = json_object();
    json_object_set_new(prio, "total", pts(p->total));
    json_object_set_new(prio, "fixed", pts(p->fixed));
    json_object_set_new(prio, "waiting", pts(p->waiting));
    json_object_set_new(prio, "waited_s", json_integer(p->waited_ms / 1000));
    json_object_set_new(prio, "terms", terms);
    json_object_set_new(o, "priority", prio);
    json_object_set_new(o, "required", tags(r, x->required, NULL));

    if (x->agent) {
        json_t *a = json_object();
        json_object_set_new(a, "id", json_integer(x->agent));
        json_object_set_new(a, "load", json_integer(x->agent_load));
        json_object_set_new(a, "capacity", json_integer(x->agent_capacity));
        json_object_set_new(a, "idle_s", json_integer(x->agent_idle_ms / 1000));
        json_object_set_new(o, "agent_state", a);
    }
    if (x->reason == SB_ROUTING_R_LEAST_LOADED || x->reason == SB_ROUTING_R_NO_AGENT ||
        x->reason == SB_ROUTING_R_REQUEUED) {
        json_t *c = json_object();
        json_object_set_new(c, "total", json_integer(x->n_agents));
        json_object_set_new(c, "offline", json_integer(x->n_offline));
        json_object_set_new(c, "away", json_integer(x->n_away));
        json_object_set_new(c, "full", json_integer(x->n_full));
        json_object_set_new(c, "missing_skills", json_integer(x->n_missing_skills));
        json_object_set_new(c, "eligible", json_integer(x->n_eligible));
        json_object_set_new(o, "agents", c);
    }
    if (x->reason == SB_ROUTING_R_NEXT_IN_QUEUE)
        json_object_set_new(o, "waiting_eligible", json_integer(x->waiting_eligible));
    if (x->reason == SB_ROUTING_R_TRANSFER) {
        json_object_set_new(o, "forced", json_boolean(x->forced));
    }
    int any_missing = 0;
    for (int i = 0; i < TAG_WORDS; i++)
        any_missing |= x->missing[i] != 0;
    if (any_missing)
        json_object_set_new(o, "missing_skills", tags(r, x->missing, NULL));

    struct sb_buf b;
    sb_buf_init(&b, 0);
    sentence(r, x, &b);
    json_object_set_new(o, "why", json_string(b.data));
    sb_buf_cleanup(&b);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}
