/* SPDX-License-Identifier: MIT */
/* Shared between the engine's routing files (routing_hub.c, routing_signals.c,
 * routing_summary.c) and the engine hooks that drive them (engine.c, turn.c). */
#ifndef SB_ENGINE_ROUTING_INTERNAL_H
#define SB_ENGINE_ROUTING_INTERNAL_H

#include "sb/engine_routing.h"
#include "sb/policy.h"

struct sb__routing_hub;

/* The hub of per-tenant routers and the presence ticker thread. Free after the last turn. */
struct sb__routing_hub *sb__routing_hub_new(struct sb_engine *e);
void sb__routing_hub_free(struct sb__routing_hub *h);
/* Hands a committed customer message to the hub's thread, which publishes message.created
 * before anything else it does (not behind bot turns on the niced bot pool). SB_EBUSY when
 * stopped or 1,000 are already waiting: the caller publishes another way. */
int sb__routing_publish_later(struct sb_engine *e, sb_id tenant, sb_id message, int64_t seq);
/* Stops the presence ticker (no more presence changes); the routers stay usable. */
void sb__routing_hub_stop(struct sb__routing_hub *h);

/* After a conversation changed through sb_engine_update: brings the tenant's router in step
 * with the stored state (enqueue, transfer, release...) and persists what that caused. */
void sb__routing_sync(struct sb_engine *e, sb_id tenant, sb_id conversation);
/* New annotations on `message` of a waiting conversation (stored, so every message before it
 * is final): brings its signals up to date. Does nothing for a tenant whose router is not
 * loaded or a conversation it does not hold. */
void sb__routing_refresh(struct sb_engine *e, sb_id tenant, sb_id conversation,
                         sb_id message);

/* The bot turn's escalation check (before the policy). Returns 1 and fills `d` with a
 * hand-off (text in the customer's language, annotations naming the trigger and why) when a
 * trigger fired; else 0 and `d` untouched. `m` carries its fresh annotations. */
int sb__routing_escalate(struct sb_engine *e, const struct sb_message *m,
                         const struct sb_conversation *c, struct sb_decision *d);

/* The tenant's routing settings (loads its router when needed). */
int sb__routing_tenant_config(struct sb_engine *e, sb_id tenant, struct sb_routing_config *out);

/* What routing and the summary read from a conversation's stored messages and contact. */
struct sb__signals {
    struct sb_routing_summary sum; /* last_text is NULL here (messages are freed) */
    char language[16];             /* of the newest customer message that has one */
    int vip;
    double ltv;
    int64_t prev_contact_ms;       /* the contact's previous conversation, 0 none */
};
/* Messages of the conversation (oldest first, up to the newest 500), with `fresh` (may be
 * NULL) replacing the stored copy of the same message. Free with sb_message_list_free. */
int sb__routing_messages(struct sb_engine *e, sb_id tenant, sb_id conversation,
                         const struct sb_message *fresh, struct sb_message **out, size_t *n);
int sb__routing_signals(struct sb_engine *e, const struct sb_conversation *c,
                        const struct sb_message *fresh, double min_conf, struct sb__signals *out);

/* A conversation's message summary kept up to date message by message, so that refreshing
 * the signals of a waiting conversation after each new message reads and parses that message
 * only — not the conversation's whole history again. */
struct sb__fold {
    sb_id conversation;            /* 0: empty */
    sb_id upto;                    /* the newest message folded in */
    struct sb_routing_summary sum; /* last_text NULL */
    char language[16];
    int64_t routed_ms;             /* when routing last read the signals (routing_hub.c) */
};
/* Messages of a sentiment trend for routing (conv_spec). */
#define SB__ROUTING_TREND_WINDOW 3
/* Folds the stored messages of `conversation` after f->upto up to and including `through` (a
 * message whose annotations are stored, so every message before it is final) into `f`, which
 * is reset first when it holds another conversation or `through` was folded already (new
 * annotations on an old message). *changed: whether what routing reads from the summary
 * (language, intent, complaint, sentiment trend) may differ from before. The summary equals
 * sb__routing_signals' over the same messages; past 500 messages the fold remembers more of
 * the conversation than that function's window of the newest 500. */
int sb__routing_fold(struct sb_engine *e, sb_id tenant, sb_id conversation, sb_id through,
                     double min_conf, struct sb__fold *f, int *changed);
/* sb__routing_signals from a fold of c (the contact is read now). */
void sb__routing_signals_from_fold(struct sb_engine *e, const struct sb_conversation *c,
                                   const struct sb__fold *f, struct sb__signals *out);

/* sb_engine_update without the routing step (what routing itself uses to persist). */
int sb__engine_update_raw(struct sb_engine *e, sb_id tenant, sb_id conversation,
                          const struct sb_conversation_update *u, struct sb_conversation *out,
                          struct sb_error *err);

#endif
