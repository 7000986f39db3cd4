/* SPDX-License-Identifier: MIT */
/*
 * The bot policy seam: given a customer's message in a conversation the bot is handling,
 * decide whether to reply, hand off to a human, or stay silent. The understanding (NLU) and
 * knowledge-base modules plug in here; the built-in "basic" policy only does what it can do
 * honestly without them: greet, offer a human, hand off when asked (or after it failed twice).
 */
#ifndef SB_POLICY_H
#define SB_POLICY_H

#include "sb/store.h"

enum sb_action { SB_ACT_NONE = 0, SB_ACT_REPLY, SB_ACT_HANDOFF };

/* What the policy sees. All borrowed for the duration of decide(). */
struct sb_turn {
    const struct sb_conversation *conversation;
    const struct sb_message *message;   /* the customer's message being answered */
    const struct sb_message *history;   /* earlier messages of the conversation, oldest first */
    size_t n_history;
};

/* What the policy decides. `text` and `annotations_json` are malloc'd by the policy and freed
 * by the engine (sb_decision_cleanup). For SB_ACT_HANDOFF, `text` (optional) is said to the
 * customer before the conversation is queued for a human. */
struct sb_decision {
    enum sb_action action;
    char *text;
    char *annotations_json; /* why: {"policy": "...", "reason": "..."} */
};

struct sb_policy_ops {
    const char *name;
    /* Fills `out`; returns 0 or an SB_E* code (the engine then stays silent). Called from
     * worker threads concurrently: must be thread-safe. */
    int (*decide)(void *self, const struct sb_turn *turn, struct sb_decision *out);
};

extern const struct sb_policy_ops sb_policy_basic;

void sb_decision_cleanup(struct sb_decision *d);

/* 1 when `text` asks for a human (English or Chinese phrasings), else 0. */
int sb_policy_asks_for_human(const char *text);

#endif
