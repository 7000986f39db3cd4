/* SPDX-License-Identifier: MIT */
/*
 * Routing conversations to human agents (src/routing/): the pure decision core that the
 * engine and the REST API drive. One `struct sb_routing` holds, in memory, one tenant's
 * agents (presence, capacity, load, skills, teams) and the conversations waiting for or held
 * by a human, and decides who gets what: the queue is ordered by a priority that combines
 * contact value, risk and waiting time (weights per tenant), and every change (a conversation
 * queued, an agent freed, going offline, a transfer) returns the assignments it caused, each
 * with an explanation of the priority and of why this agent (or why nobody) was chosen.
 * Escalation triggers (when the bot should hand off) are pure functions at the end.
 *
 * Nothing here touches the store or the clock: callers pass `now_ms` and persist what the
 * returned changes say (docs/routing.md has the wiring). Skills are string tags: a
 * conversation's required tags are derived from its language ("lang:en"), intent group
 * ("intent:billing"), product line ("product:sofa") and team ("team:<id>"); an agent has the
 * tags it is given plus "team:<id>" for each of its teams. An agent can take a conversation
 * when it has every required tag.
 *
 * Threads: a `struct sb_routing` is not thread-safe; the caller serialises calls on one
 * router (one mutex per tenant). The escalation functions are pure and thread-safe.
 */
#ifndef SB_ROUTING_H
#define SB_ROUTING_H

#include "sb/error.h"
#include "sb/store.h"

#include <stddef.h>
#include <stdint.h>

#define SB_ROUTING_TAGS_MAX 512        /* distinct skill tags per router */
#define SB_ROUTING_TAG_MAX 64          /* bytes of one tag, NUL included */
#define SB_ROUTING_SKILLS_MAX 64       /* tags given for one agent or conversation */
#define SB_ROUTING_CAPACITY_MAX 1000   /* concurrent conversations of one agent */
#define SB_ROUTING_AGENTS_MAX 100000
#define SB_ROUTING_CONVS_MAX 2000000   /* conversations known to one router */
#define SB_ROUTING_CLASSES_MAX 65536   /* distinct required-tag sets alive at once */

/* ---- configuration ------------------------------------------------------------------- */

/* What happens to an agent's conversations when the agent goes away or offline. */
enum sb_routing_leave { SB_ROUTING_KEEP = 0, SB_ROUTING_REQUEUE = 1 };

/*
 * Per-tenant settings. Priority is in points; with the default w_wait one point is one minute
 * of waiting, so every other weight reads as "counts as this many minutes of waiting".
 *   priority = w_vip·vip + w_ltv·ltv_term + w_complaint·complaint + w_negative·negative_trend
 *            + w_repeat·repeat_contact + w_wait·minutes_waited
 * ltv_term = ln(1 + min(ltv, ltv_cap)) / ln(1 + ltv_cap), in [0, 1]. All terms but waiting are
 * bounded, so a conversation that has waited (sum of the other weights)/w_wait minutes longer
 * than another is ahead of it whatever their values: nothing starves.
 */
struct sb_routing_config {
    double w_wait;       /* points per minute waited; > 0 (default 1) */
    double w_vip;        /* VIP contact (default 10) */
    double w_ltv;        /* lifetime value at or above ltv_cap (default 5) */
    double ltv_cap;      /* LTV where its term saturates, currency units, > 0 (default 10000) */
    double w_complaint;  /* complaint intent (default 8) */
    double w_negative;   /* negative-sentiment trend of 1.0 (default 6) */
    double w_repeat;     /* repeat contact within repeat_window_ms (default 4) */
    int64_t repeat_window_ms; /* default 7 days */
    enum sb_routing_leave on_offline; /* default SB_ROUTING_REQUEUE */
    enum sb_routing_leave on_away;    /* default SB_ROUTING_KEEP */

    /* escalation triggers (sb_routing_escalation_check) */
    int esc_asks_human;        /* 1: a request for a person escalates (default 1) */
    int esc_complaint;         /* 1: complaint intent escalates (default 1) */
    int esc_negative_streak;   /* N consecutive negative customer messages; 0 off (default 3) */
    int esc_abstentions;       /* N bot abstentions or failed turns; 0 off (default 2) */
    int esc_vip;               /* 1: a VIP contact goes to a person at once (default 0) */
    double esc_intent_min_conf; /* intent confidence needed to count (default 0.6) */
};

/* Weights are bounded to [0, 1000] points (w_wait to (0, 1000]). */
#define SB_ROUTING_WEIGHT_MAX 1000.0

/* Fills `c` with the defaults above. */
void sb_routing_config_default(struct sb_routing_config *c);
/* Checks bounds: SB_EINVAL naming the first field out of range. */
int sb_routing_config_check(const struct sb_routing_config *c, struct sb_error *err);
/*
 * Reads settings from a JSON object (the tenant's stored routing settings or a REST body):
 * members named like the fields above ("w_vip": 12, "on_offline": "keep"|"requeue", ...),
 * applied over the current contents of `c`; an unknown member or a bad type or value is
 * SB_EINVAL naming it. At most 16 KiB (SB_ETOOBIG). `c` is unchanged on failure.
 */
int sb_routing_config_from_json(const char *json, size_t len, struct sb_routing_config *c,
                                struct sb_error *err);
/* The settings as a JSON object (all members). Free with free(). */
char *sb_routing_config_to_json(const struct sb_routing_config *c);

/* ---- the router ---------------------------------------------------------------------- */

struct sb_routing; /* opaque; one per tenant */

enum sb_routing_presence {
    SB_ROUTING_OFFLINE = 0,
    SB_ROUTING_AWAY = 1,   /* keeps (or re-queues, per config) what it has, gets nothing new */
    SB_ROUTING_ONLINE = 2, /* gets conversations up to its capacity */
};
/* "offline"/"away"/"online" and back (-1 for an unknown name). */
const char *sb_routing_presence_name(enum sb_routing_presence p);
int sb_routing_presence_parse(const char *name);

/* A new router with a checked copy of `cfg` (NULL: defaults). Free with sb_routing_free(). */
int sb_routing_new(const struct sb_routing_config *cfg, struct sb_routing **out,
                   struct sb_error *err);
void sb_routing_free(struct sb_routing *r);
/* The router's settings (borrowed; valid until the next set_config). */
const struct sb_routing_config *sb_routing_config(const struct sb_routing *r);
/* Replaces the settings (checked first) and re-orders the queue under the new weights.
 * Nobody is reassigned by this call. */
int sb_routing_set_config(struct sb_routing *r, const struct sb_routing_config *cfg,
                          struct sb_error *err);

/* ---- explanations -------------------------------------------------------------------- */

/* The terms of a conversation's priority at `now`, in points. */
struct sb_routing_priority {
    double vip, ltv, complaint, negative, repeat; /* weighted terms */
    double fixed;   /* their sum: the part that does not grow with time */
    double waiting; /* w_wait * minutes waited */
    double total;   /* fixed + waiting */
    int64_t waited_ms;
};

enum sb_routing_reason {
    SB_ROUTING_R_NONE = 0,
    SB_ROUTING_R_LEAST_LOADED,  /* offer: the eligible agent with the lowest load/capacity */
    SB_ROUTING_R_NEXT_IN_QUEUE, /* pull: the best waiting conversation the agent can take */
    SB_ROUTING_R_TRANSFER,      /* manual transfer to this agent */
    SB_ROUTING_R_REQUEUED,      /* back in the queue (agent left, hand-back, transfer) */
    SB_ROUTING_R_NO_AGENT,      /* waits: nobody eligible now (see the counts) */
};

/* What decided the agent among the eligible ones. */
enum sb_routing_tiebreak {
    SB_ROUTING_TB_ONLY = 0,   /* the only eligible agent */
    SB_ROUTING_TB_LOAD,       /* strictly lowest load/capacity */
    SB_ROUTING_TB_IDLE,       /* same load ratio; idle longest */
    SB_ROUTING_TB_ID,         /* same ratio and idle time; lowest id */
};

/*
 * Why one conversation got (or did not get) one agent. For an offer the agent counts say how
 * the agents split: every agent is counted once, in the first of offline, away, full (online,
 * no free capacity), missing_skills (online, free, lacks a required tag) or eligible. For a
 * pull, `waiting_eligible` is how many waiting conversations the agent could take.
 */
struct sb_routing_explain {
    sb_id conversation;
    sb_id agent;     /* 0: nobody */
    sb_id from_agent; /* the agent it came from (transfer, re-queue), else 0 */
    enum sb_routing_reason reason;
    enum sb_routing_tiebreak tiebreak;
    struct sb_routing_priority priority;
    int agent_load, agent_capacity; /* of `agent`, before this assignment */
    int64_t agent_idle_ms;          /* since the agent last got a conversation */
    uint32_t n_agents, n_offline, n_away, n_full, n_missing_skills, n_eligible;
    uint32_t waiting_eligible;
    int forced;             /* transfer over capacity */
    int skills_missing;     /* transfer to an agent without every required tag */
    /* Bitsets of tag numbers (see sb_routing_tag_name): the tags the conversation requires,
     * and — when nobody was eligible, or for a transfer — those that no online agent (resp.
     * the receiving agent) has. */
    uint64_t required[SB_ROUTING_TAGS_MAX / 64];
    uint64_t missing[SB_ROUTING_TAGS_MAX / 64];
};

/* The tag with number `i` (borrowed; valid while the router lives), NULL if none. */
const char *sb_routing_tag_name(const struct sb_routing *r, unsigned i);

/*
 * The explanation as a JSON object: {"conversation", "agent", "reason", "priority": {"total",
 * "fixed", "waiting", "waited_s", "terms": {...}}, "required": [tags], "agents": {counts},
 * "missing_skills": [tags no online agent has, when nobody was eligible], "why": "a sentence"}.
 * Free with free().
 */
char *sb_routing_explain_json(const struct sb_routing *r, const struct sb_routing_explain *x);

/* ---- changes returned by mutating calls ----------------------------------------------- */

/* One change to persist: conversation `conversation` now belongs to `agent` (status
 * "assigned") or, with agent 0, waits in the queue (status "queued", assignee 0). */
struct sb_routing_change {
    sb_id conversation;
    sb_id agent;
    struct sb_routing_explain why;
};

/* A growing list the caller owns; each mutating call appends to it (it is never reset by the
 * router). Zero-initialise, then sb_routing_changes_cleanup(). */
struct sb_routing_changes {
    struct sb_routing_change *v;
    size_t n, cap;
};
void sb_routing_changes_cleanup(struct sb_routing_changes *c);

/* ---- agents -------------------------------------------------------------------------- */

struct sb_routing_agent_spec {
    sb_id id;                       /* > 0 */
    enum sb_routing_presence presence;
    int capacity;                   /* 0..SB_ROUTING_CAPACITY_MAX */
    const char *const *skills;      /* tags such as "lang:en", "intent:billing", "product:tv" */
    size_t n_skills;
    const sb_id *teams;             /* each adds the tag "team:<id>" */
    size_t n_teams;
};

/*
 * Adds the agent or replaces its skills, teams, capacity and presence (a presence change
 * behaves as sb_routing_agent_set_presence). Then, if it is online with free capacity, it
 * takes waiting conversations. Errors: SB_EINVAL (bad id, capacity, tag), SB_ETOOBIG (too many
 * tags/agents); on error nothing changed.
 */
int sb_routing_agent_upsert(struct sb_routing *r, const struct sb_routing_agent_spec *a,
                            int64_t now_ms, struct sb_routing_changes *out, struct sb_error *err);
/* Removes an agent; its conversations are re-queued (their waiting time kept) and offered to
 * others. SB_ENOTFOUND for an unknown agent. */
int sb_routing_agent_remove(struct sb_routing *r, sb_id agent, int64_t now_ms,
                            struct sb_routing_changes *out);
/*
 * Online → the agent takes waiting conversations up to capacity. Away/offline → its
 * conversations are kept or re-queued per on_away/on_offline; re-queued ones keep their
 * original waiting time and are offered to other agents, best priority first.
 */
int sb_routing_agent_set_presence(struct sb_routing *r, sb_id agent,
                                  enum sb_routing_presence p, int64_t now_ms,
                                  struct sb_routing_changes *out);
/* A lower capacity never takes conversations away (the agent gets nothing new until its load
 * is below it); a higher one lets the agent take waiting conversations at once. */
int sb_routing_agent_set_capacity(struct sb_routing *r, sb_id agent, int capacity,
                                  int64_t now_ms, struct sb_routing_changes *out);

struct sb_routing_agent_info {
    sb_id id;
    enum sb_routing_presence presence;
    int capacity, load;
    int64_t last_assigned_ms; /* idle since (came online or last got a conversation) */
};
int sb_routing_agent_get(const struct sb_routing *r, sb_id agent,
                         struct sb_routing_agent_info *out);
/* Conversations the agent holds, up to `max` ids into `ids`; returns how many it holds. */
size_t sb_routing_agent_conversations(const struct sb_routing *r, sb_id agent, sb_id *ids,
                                      size_t max);

/* ---- conversations ------------------------------------------------------------------- */

struct sb_routing_conv_spec {
    sb_id id;                  /* > 0 */
    const char *language;      /* "en", "zh"... → "lang:<x>"; NULL or "" requires none */
    const char *intent_group;  /* → "intent:<x>"; NULL or "" none */
    const char *product_line;  /* → "product:<x>"; NULL or "" none */
    sb_id team;                /* → "team:<id>"; 0 any team */
    const char *const *extra_skills; /* further required tags, as given */
    size_t n_extra_skills;
    /* value */
    int vip;
    double ltv;                /* lifetime value, >= 0 */
    /* risk */
    int complaint;             /* complaint intent seen */
    double negative_trend;     /* 0..1, e.g. share of recent customer messages negative */
    int64_t prev_contact_ms;   /* the contact's previous conversation, 0 none */
    int64_t enqueue_ms;        /* when it started waiting; 0 = now */
};

/*
 * Queues a conversation and offers it to the best eligible agent (least loaded, then idle
 * longest, then lowest id). SB_EEXIST when the router already has this id (use
 * sb_routing_conv_update), SB_EINVAL/SB_ETOOBIG for bad input; nothing changed on error.
 */
int sb_routing_enqueue(struct sb_routing *r, const struct sb_routing_conv_spec *c, int64_t now_ms,
                       struct sb_routing_changes *out, struct sb_error *err);
/* Records a conversation that storage says is already assigned to `agent` (daemon start),
 * counting toward the agent's load even over capacity. No other assignment happens. */
int sb_routing_restore_assigned(struct sb_routing *r, const struct sb_routing_conv_spec *c,
                                sb_id agent, struct sb_error *err);
/* After restoring: offers every waiting conversation, best priority first. */
int sb_routing_dispatch(struct sb_routing *r, int64_t now_ms, struct sb_routing_changes *out);
/*
 * New value/risk/skill signals for a known conversation (enqueue_ms of `c` is ignored: the
 * waiting time is kept). A waiting one is re-ordered and offered again (its skills may have
 * changed); an assigned one keeps its agent.
 */
int sb_routing_conv_update(struct sb_routing *r, const struct sb_routing_conv_spec *c,
                           int64_t now_ms, struct sb_routing_changes *out, struct sb_error *err);
/* The conversation leaves routing (resolved, back to the bot, deleted). If an agent held it,
 * that agent takes the next waiting conversation it can. SB_ENOTFOUND when unknown. */
int sb_routing_release(struct sb_routing *r, sb_id conversation, int64_t now_ms,
                       struct sb_routing_changes *out);
/*
 * Manual transfer to an agent (supervisor or agent action): the agent must exist and not be
 * offline (SB_ESTATE); skills are not required (the explanation lists any missing); an agent
 * at capacity is SB_EBUSY unless `force`. The previous holder takes its next conversation.
 */
int sb_routing_transfer_to_agent(struct sb_routing *r, sb_id conversation, sb_id agent,
                                 int force, int64_t now_ms, struct sb_routing_changes *out,
                                 struct sb_error *err);
/*
 * Transfer to a team: the conversation's team requirement becomes `team` (0: any), it waits
 * with its original waiting time and is offered to the team's agents — never to the agent it
 * came from in this step. That agent then takes its next conversation (other than this one).
 */
int sb_routing_transfer_to_team(struct sb_routing *r, sb_id conversation, sb_id team,
                                int64_t now_ms, struct sb_routing_changes *out,
                                struct sb_error *err);
/* The holder gives the conversation back to the queue (same rules as a team transfer without
 * changing the team). SB_ESTATE when it is not assigned. */
int sb_routing_requeue(struct sb_routing *r, sb_id conversation, int64_t now_ms,
                       struct sb_routing_changes *out);

struct sb_routing_conv_info {
    sb_id id;
    sb_id agent; /* 0 while waiting */
    int64_t enqueue_ms;
    struct sb_routing_priority priority; /* at the `now_ms` asked */
};
int sb_routing_conv_get(const struct sb_routing *r, sb_id conversation, int64_t now_ms,
                        struct sb_routing_conv_info *out);

/* ---- decisions without changes (what the next change would do) ------------------------ */

/* The agent that would get waiting conversation `conversation` now, 0 if none; `x` (may be
 * NULL) explains. SB_ENOTFOUND when unknown, SB_ESTATE when it is not waiting. */
int sb_routing_best_agent(const struct sb_routing *r, sb_id conversation, int64_t now_ms,
                          sb_id *agent, struct sb_routing_explain *x);
/* The waiting conversation `agent` would take next, 0 if none (or the agent is not online
 * with free capacity); `x` (may be NULL) explains. SB_ENOTFOUND for an unknown agent. */
int sb_routing_next_for_agent(const struct sb_routing *r, sb_id agent, int64_t now_ms,
                              sb_id *conversation, struct sb_routing_explain *x);

/* ---- the queue as people see it ------------------------------------------------------ */

struct sb_routing_queued {
    sb_id id;
    int64_t enqueue_ms;
    struct sb_routing_priority priority;
};
/*
 * Waiting conversations in queue order (priority, then waiting time, then id), skipping
 * `offset`, at most `limit`; when `agent` > 0 only those that agent could take (its skills).
 * `*out` is a new array (free with free(), NULL when empty), `*n` its length.
 */
int sb_routing_queue_list(const struct sb_routing *r, sb_id agent, int64_t now_ms, size_t offset,
                          size_t limit, struct sb_routing_queued **out, size_t *n);

struct sb_routing_stats {
    size_t waiting, assigned, agents, agents_online;
    int64_t longest_wait_ms; /* at now_ms; 0 when nobody waits */
    size_t classes;          /* distinct required-tag sets in use */
};
void sb_routing_stats(const struct sb_routing *r, int64_t now_ms, struct sb_routing_stats *out);

/* ---- escalation triggers (pure) ------------------------------------------------------ */

/* Customer-message sentiment as the annotator labels it. */
enum sb_routing_sentiment { SB_ROUTING_SENT_NONE = 0, SB_ROUTING_SENT_NEG = -1,
                            SB_ROUTING_SENT_NEU = 1, SB_ROUTING_SENT_POS = 2 };

#define SB_ROUTING_SUMMARY_SENTIMENTS 32

/* What the escalation check looks at. Strings are borrowed. */
struct sb_routing_summary {
    const char *last_text;   /* the newest customer message, NULL if none */
    const char *intent;      /* its intent label, NULL if none or out of scope */
    char intent_buf[64];     /* storage for `intent` when built by summary_from_messages */
    double intent_conf;
    int complaint;           /* 1 when any recent customer message had the complaint intent */
    /* sentiment of the customer's messages, oldest first (the newest
     * SB_ROUTING_SUMMARY_SENTIMENTS are kept) */
    enum sb_routing_sentiment sentiments[SB_ROUTING_SUMMARY_SENTIMENTS];
    size_t n_sentiments;
    int abstentions;         /* bot turns that said it could not answer */
    int failed_turns;        /* bot turns that failed (errors) */
    int vip;
    /* The phrase detector for "asks for a person" (the engine passes sb_policy_asks_for_human,
     * which lives in the engine); NULL uses only the intent. */
    int (*asks_for_human)(const char *text);
};

enum sb_routing_trigger {
    SB_ROUTING_T_NONE = 0,
    SB_ROUTING_T_ASKS_HUMAN = 1 << 0,
    SB_ROUTING_T_COMPLAINT = 1 << 1,
    SB_ROUTING_T_NEGATIVE_STREAK = 1 << 2,
    SB_ROUTING_T_ABSTENTIONS = 1 << 3,
    SB_ROUTING_T_VIP = 1 << 4,
};

struct sb_routing_escalation {
    enum sb_routing_trigger trigger; /* the first that fired, in the order above; NONE */
    unsigned fired;                  /* every trigger that fired (bits) */
    char why[192];                   /* a sentence naming the trigger and the numbers */
};

/*
 * Evaluates the triggers enabled in `cfg` over `s` and fills `out`. Returns 1 when one fired,
 * else 0. Triggers: a request for a person (the phrase detector on last_text, or intent
 * "talk_to_human" at esc_intent_min_conf); complaint intent (s->complaint or the last intent
 * "complaint" at the confidence); the newest esc_negative_streak customer messages all
 * negative; abstentions + failed_turns >= esc_abstentions; a VIP contact (esc_vip).
 */
int sb_routing_escalation_check(const struct sb_routing_config *cfg,
                                const struct sb_routing_summary *s,
                                struct sb_routing_escalation *out);
/* "asks_human", "complaint", "negative_streak", "abstentions", "vip", or "none". */
const char *sb_routing_trigger_name(enum sb_routing_trigger t);

/*
 * Builds a summary from stored messages of one conversation, oldest first (annotations as
 * src/nlu writes them: intent {label, confidence, oos}, sentiment {label}; bot messages whose
 * annotations say "reason": "no_answer" are abstentions, "turn_error" failed turns). The last
 * customer message gives last_text, intent and intent_conf; `complaint` is set when any
 * customer message had the complaint intent at `min_conf` or more. `vip` and `asks_for_human`
 * are left for the caller (zeroed). `s->last_text` borrows from `msgs`; `s->intent` points into
 * `s->intent_buf`. Internal notes and system messages are skipped; malformed annotations are
 * ignored.
 */
void sb_routing_summary_from_messages(const struct sb_message *msgs, size_t n, double min_conf,
                                      struct sb_routing_summary *s);
/* Folds one more message, newer than those already in `s`, into `s` (what
 * sb_routing_summary_from_messages does for each message): a summary kept up to date message
 * by message equals one built from all of them. `s->last_text` borrows from `m`. */
void sb_routing_summary_add(struct sb_routing_summary *s, const struct sb_message *m,
                            double min_conf);
/* Share of the newest `window` sentiments that are negative, in [0, 1] (0 when none): a
 * negative_trend for sb_routing_conv_spec. */
double sb_routing_negative_trend(const struct sb_routing_summary *s, size_t window);

#endif
