/* SPDX-License-Identifier: MIT */
/*
 * Routing in the running engine (src/engine/routing_*.c): one `struct sb_routing` per tenant
 * behind a mutex, built from the store the first time the tenant is touched (agents start
 * offline; queued and assigned conversations are restored), kept in step with every
 * conversation change made through sb_engine_update (a hand-off enqueues, an agent taking a
 * conversation transfers it, resolving or going back to the bot releases it), and driven by
 * agent presence (WebSocket connect/disconnect with a grace period, or set explicitly). Every
 * assignment the router makes is persisted with the explanation (conversations.routing_json)
 * and published as conversation.updated. The escalation check of the bot turn and the
 * hand-off summary the agent sees first live here too. docs/routing.md describes the rules.
 *
 * Threads: every function is thread-safe. sb_engine_agent_socket never blocks on the store
 * (it may be called from the network loop); the others read and write the store.
 * JSON results are new references (json_decref them).
 */
#ifndef SB_ENGINE_ROUTING_H
#define SB_ENGINE_ROUTING_H

#include "sb/engine.h"
#include "sb/routing.h"

#include <jansson.h>

/*
 * The tenant's routing settings: every member of struct sb_routing_config plus
 * "intent_groups" ({intent: group}, intents not listed require no intent skill),
 * "require_language" (bool, default false: when true a conversation requires "lang:<its
 * language>"), "default_capacity" (agents without a profile, default 3) and
 * "offline_grace_s" (seconds after an agent's last console socket closes before it counts
 * as offline, default 30).
 */
json_t *sb_engine_routing_config_get(struct sb_engine *e, sb_id tenant);
/* Applies the members present in `body` over the current settings (all checked first,
 * SB_EINVAL naming the field), stores them (tenant setting "routing") and re-orders the
 * queue. `*out` (may be NULL) receives the new settings. */
int sb_engine_routing_config_put(struct sb_engine *e, sb_id tenant, json_t *body, json_t **out,
                                 struct sb_error *err);

/* An agent's routing profile: skill tags (NULL keeps; each at most 63 bytes, at most 64),
 * teams (NULL keeps; each a team of the tenant), capacity (-1 keeps). Stored, then given to
 * the router (which may assign waiting conversations at once). `*out` (may be NULL) receives
 * the profile with the live presence and load. SB_ENOTFOUND for an agent or team of another
 * tenant. */
int sb_engine_agent_routing_put(struct sb_engine *e, sb_id tenant, sb_id agent,
                                const char *const *skills, size_t n_skills, const sb_id *teams,
                                size_t n_teams, int capacity, json_t **out, struct sb_error *err);
/* Every agent of the tenant with profile, presence, load and capacity. */
int sb_engine_routing_agents(struct sb_engine *e, sb_id tenant, json_t **out,
                             struct sb_error *err);

/* The agent's own presence choice ("online", "away", "offline"): stored and applied now
 * (going away/offline keeps or re-queues per the settings). */
int sb_engine_agent_presence_put(struct sb_engine *e, sb_id tenant, sb_id agent,
                                 const char *presence, struct sb_error *err);
/* A console socket of the agent opened (connected = 1) or closed (0). The first open makes
 * the agent online (unless its own choice is "away"); the last close makes it offline after
 * the grace period unless one opens again. Never blocks on the store. */
void sb_engine_agent_socket(struct sb_engine *e, sb_id tenant, sb_id agent, int connected);

/* The waiting queue in order, `offset`/`limit` (1..200): {"total", "items": [{conversation,
 * priority terms, waited_s, explanation}]}; with `agent` > 0 only what that agent can take,
 * plus "mine": the conversations it holds. */
int sb_engine_queue(struct sb_engine *e, sb_id tenant, sb_id agent, size_t offset, size_t limit,
                    json_t **out, struct sb_error *err);

/* Manual transfer to an agent (force: even over capacity) or, with agent 0, to team `team`
 * (0: any team). SB_ESTATE when the conversation is not with people or the agent is
 * offline, SB_EBUSY when the agent is full and not forced. `*out` (may be NULL): the
 * conversation after the change. */
int sb_engine_transfer(struct sb_engine *e, sb_id tenant, sb_id conversation, sb_id agent,
                       sb_id team, int force, json_t **out, struct sb_error *err);
/* The holder hands the conversation back to the queue (it goes to someone else). */
int sb_engine_requeue(struct sb_engine *e, sb_id tenant, sb_id conversation, json_t **out,
                      struct sb_error *err);
/* Why the conversation is where it is: the stored explanation of the last decision, the
 * priority now, and for a waiting one who would get it now and why. */
int sb_engine_routing_explain(struct sb_engine *e, sb_id tenant, sb_id conversation,
                              json_t **out, struct sb_error *err);
/* Live figures of the tenant's router (dashboard). */
void sb_engine_routing_stats(struct sb_engine *e, sb_id tenant, struct sb_routing_stats *out);

/* The hand-off summary an agent sees first: intent, entities (order numbers, amounts...),
 * what the bot answered and from which sources, sentiment trend, why it was handed off, the
 * contact (VIP, lifetime value), its other channels and past conversations. */
int sb_engine_handoff_summary(struct sb_engine *e, sb_id tenant, sb_id conversation,
                              json_t **out, struct sb_error *err);

/* 1 when `text` asks for a person: sb_policy_asks_for_human plus phrasings such as "can I
 * speak with somebody", "put me through to a manager", "我要投诉找你们领导" (en + zh). */
int sb_engine_asks_for_human(const char *text);

#endif
