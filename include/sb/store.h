/* SPDX-License-Identifier: MIT */
/*
 * The storage contract. Everything Switchboard keeps — tenants, inboxes, contacts and their
 * per-channel identities, conversations, messages, agents, API keys, sessions, the append-only
 * event log and the outbox — is reached through `struct sb_store_ops`, so that SQLite (the
 * default, src/store/sqlite.c) and a later PostgreSQL backend are interchangeable and run the
 * same test suite.
 *
 * Rules every backend keeps:
 *  - Every call that reads or changes tenant data takes the tenant id and never touches rows of
 *    another tenant (a row of another tenant is SB_ENOTFOUND).
 *  - A call that returns 0 has committed durably (fsync'd) before returning, when it changed
 *    anything. A failing call changed nothing.
 *  - Calls are thread-safe: any thread may call any function at any time.
 *  - Output structs are filled only on success; free them with the matching _cleanup /
 *    _list_free function. Input pointers are borrowed for the duration of the call.
 *  - Times are milliseconds since the Unix epoch (UTC). Ids are positive 64-bit integers.
 *  - JSON columns (parts, annotations, tags, config, payload) are stored and returned as JSON
 *    text; the store does not interpret them.
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include "sb/error.h"

#include <stddef.h>
#include <stdint.h>

typedef int64_t sb_id;

struct sb_store; /* opaque */

/* Conversation states, in the order a conversation usually passes through them. */
#define SB_CONV_BOT "bot"           /* the bot is handling it */
#define SB_CONV_QUEUED "queued"     /* waiting for a human */
#define SB_CONV_ASSIGNED "assigned" /* an agent has it */
#define SB_CONV_RESOLVED "resolved" /* closed; a new customer message reopens it */

/* Message sender kinds and directions. */
#define SB_SENDER_CUSTOMER "customer"
#define SB_SENDER_BOT "bot"
#define SB_SENDER_AGENT "agent"
#define SB_SENDER_SYSTEM "system"
#define SB_DIR_IN "in"
#define SB_DIR_OUT "out"

/* Roles of agents and API keys. */
#define SB_ROLE_ADMIN "admin"
#define SB_ROLE_SUPERVISOR "supervisor"
#define SB_ROLE_AGENT "agent"

struct sb_tenant {
    sb_id id;
    char slug[64];
    char name[128];
    int64_t created_ms;
};

struct sb_inbox {
    sb_id id;
    sb_id tenant_id;
    char kind[32]; /* "api", "web", "telegram", ... */
    char name[128];
    char *config_json; /* channel settings, "{}" when none */
    int64_t created_ms;
};

struct sb_contact {
    sb_id id;
    sb_id tenant_id;
    char name[128];
    char *attributes_json; /* "{}" when none */
    int64_t created_ms;
};

/* One way of reaching a contact: (inbox, external id) is unique per inbox. */
struct sb_contact_identity {
    sb_id inbox_id;
    char external_id[256];
};

struct sb_conversation {
    sb_id id;
    sb_id tenant_id;
    sb_id inbox_id;
    sb_id contact_id;
    char status[16];  /* SB_CONV_* */
    int priority;     /* higher first; 0 normal */
    sb_id assignee_id; /* agent id, 0 when unassigned */
    char *tags_json;  /* JSON array of strings, "[]" when none */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t last_message_ms;
    char *last_message_preview; /* first <=200 bytes (UTF-8 safe) of the last text, "" if none */
    char contact_name[128];
    /* routing (schema step 2) */
    sb_id team_id;      /* the team it is routed to, 0 any */
    int64_t queued_ms;  /* when it started waiting for a person (kept across re-queues), 0 */
    char *routing_json; /* the last routing explanation (JSON object), "{}" when none */
    /* workspace (schema step 3) */
    char resolve_reason[256]; /* why an agent resolved it ("" when none given) */
    /* conversation facts (schema step 4; kept by the store's write paths, docs/metrics.md);
     * times are 0 until the thing happened */
    int64_t first_customer_ms; /* the first customer message */
    int64_t handoff_ms;        /* first queued/assigned, or an agent's reply taking it over */
    int64_t first_response_ms; /* the first agent message to the customer after the hand-off */
    int64_t resolved_ms;       /* the latest resolution; 0 while not resolved */
    int64_t reopened_ms;       /* the first customer message (or status change) after one */
    int customer_messages, bot_messages, agent_messages; /* agent: to the customer, no notes */
    char intent[64]; /* the first in-scope intent of a customer message, "" if none yet */
};

struct sb_message {
    sb_id id;
    sb_id tenant_id;
    sb_id conversation_id;
    sb_id inbox_id;
    char direction[4];     /* SB_DIR_* */
    char sender_kind[16];  /* SB_SENDER_* */
    sb_id sender_id;       /* contact id for customers, agent id for agents, 0 otherwise */
    char *provider_msg_id; /* NULL when none */
    char *text;            /* plain-text rendering of the parts, "" if none */
    char *parts_json;      /* JSON array of {"type": "text"|"image"|"audio"|"file", ...} */
    char *annotations_json; /* JSON object, "{}" until enrichment writes it */
    int64_t created_ms;
};

struct sb_agent {
    sb_id id;
    sb_id tenant_id;
    char email[256];
    char name[128];
    char role[16];        /* SB_ROLE_* */
    char pw_hash[256];    /* libsodium crypto_pwhash_str (argon2id) */
    int64_t created_ms;
};

struct sb_api_key {
    sb_id id;
    sb_id tenant_id;
    char name[128];
    char role[16];
    char prefix[32];  /* public part of the key, used to find it */
    char hash[128];   /* hex hash of the whole key; the key itself is never stored */
    int revoked;
    int64_t created_ms;
};

struct sb_session {
    sb_id tenant_id;
    sb_id agent_id;
    int64_t expires_ms;
};

/* One row of the append-only event log. `seq` increases across the whole store. */
struct sb_event {
    int64_t seq;
    sb_id tenant_id;
    sb_id conversation_id; /* 0 when not about a conversation */
    sb_id message_id;      /* 0 when not about a message */
    char type[48];         /* "message.created", "conversation.updated", "audit.login", ... */
    char *payload_json;    /* "{}" when none */
    int64_t created_ms;
};

/* One customer message arriving on a channel (see sb_store_ingest_batch). */
struct sb_ingest {
    sb_id tenant_id;
    sb_id inbox_id;
    const char *provider_msg_id; /* dedupe key within the inbox; NULL = never a duplicate */
    const char *customer_ext_id; /* the customer's id on this inbox (required) */
    const char *customer_name;   /* NULL or "" keeps the stored name */
    const char *text;            /* plain text of the message, may be "" */
    const char *parts_json;      /* NULL = [{"type":"text","text":text}] */
    int64_t created_ms;
};

struct sb_ingest_result {
    int rc;          /* 0, or the SB_E* code of this item alone */
    int duplicate;   /* 1: provider_msg_id was seen before; ids are those of the first */
    int conversation_created; /* 1: a new conversation was opened (or a resolved one reopened) */
    sb_id contact_id;
    sb_id conversation_id;
    sb_id message_id;
    int64_t event_seq; /* seq of the message.created event (0 for a duplicate) */
};

/* A message written by the bot, an agent or the system. */
struct sb_message_new {
    sb_id tenant_id;
    sb_id conversation_id;
    const char *direction;   /* SB_DIR_OUT for replies, SB_DIR_IN for internal notes */
    const char *sender_kind; /* SB_SENDER_BOT / AGENT / SYSTEM */
    sb_id sender_id;
    const char *text;
    const char *parts_json;       /* NULL = [{"type":"text","text":text}] */
    const char *annotations_json; /* NULL = "{}" */
    const char *provider_msg_id;  /* NULL; for idempotent agent replies: duplicate -> EEXIST */
    int64_t created_ms;
};

/* New annotations for a stored message (see sb_store_message_annotate_batch). */
struct sb_annotation {
    sb_id tenant_id;
    sb_id message_id;
    const char *annotations_json;
};

/* One round of the group committer (see sb_store_write_batch); the caller provides the result
 * arrays, each with as many slots as its input. */
struct sb_write_batch {
    const struct sb_ingest *ingests;
    struct sb_ingest_result *ingest_results;
    size_t n_ingests;
    const struct sb_message_new *posts;
    sb_id *post_ids;
    int64_t *post_seqs;
    int *post_rcs;
    size_t n_posts;
    const struct sb_annotation *notes;
    int64_t *note_seqs;
    int *note_rcs;
    size_t n_notes;
};

struct sb_conversation_filter {
    const char *status; /* NULL: any status */
    sb_id assignee_id;  /* 0: any, -1: unassigned only, >0: that agent */
    sb_id contact_id;   /* 0: any */
    sb_id before_id;    /* cursor: only ids < before_id; 0 = from the newest */
    size_t limit;       /* 1..500 */
};

/* Changes to a conversation; fields left at their "keep" value are not changed. */
struct sb_conversation_update {
    const char *status;    /* NULL keeps */
    int set_assignee;      /* 1: set assignee_id (0 = unassign) */
    sb_id assignee_id;
    int set_priority;
    int priority;
    const char *tags_json; /* NULL keeps */
    const char *expect_status; /* NULL, or fail with SB_ESTATE unless the status is this */
    /* routing (schema step 2) */
    int set_team;             /* 1: set team_id (0 = any team) */
    sb_id team_id;
    int set_queued_ms;        /* 1: set queued_ms */
    int64_t queued_ms;
    const char *routing_json; /* NULL keeps; the latest routing explanation */
    /* workspace (schema step 3) */
    const char *resolve_reason; /* NULL keeps; "" clears; < SB_STORE_RESOLVE_REASON_MAX bytes */
};

struct sb_outbox_item {
    sb_id id;
    sb_id tenant_id;
    sb_id message_id;
    sb_id inbox_id;
    char idempotency_key[128];
    char *payload_json;
    int attempts;
    int64_t next_attempt_ms;
};

/* Routing (schema step 2): teams, each agent's routing profile, per-tenant settings. */
struct sb_team {
    sb_id id;
    sb_id tenant_id;
    char name[128];
    int64_t created_ms;
};

#define SB_STORE_AGENT_TEAMS_MAX 32 /* teams one agent can be in */

struct sb_agent_routing {
    sb_id agent_id;
    sb_id tenant_id;
    char presence[16];   /* "online" | "away" | "offline": the agent's own choice */
    int capacity;        /* concurrent conversations, 0..1000 */
    char *skills_json;   /* JSON array of skill tags ("lang:en", "intent:billing"), "[]" */
    sb_id teams[SB_STORE_AGENT_TEAMS_MAX];
    size_t n_teams;
    int64_t updated_ms;
};

#define SB_STORE_SETTING_KEY_MAX 64      /* bytes of a setting key, NUL included */
#define SB_STORE_SETTING_MAX (64 * 1024) /* bytes of one setting's JSON */

/* Workspace (schema step 3): agents' internal notes, canned replies, CSAT ratings. */
#define SB_STORE_RESOLVE_REASON_MAX 256 /* bytes of a resolve reason, NUL included */
#define SB_STORE_NOTE_MAX 16384         /* bytes of one note's text */
#define SB_STORE_CANNED_SHORTCUT_MAX 64 /* bytes of a shortcut, NUL included: [a-z0-9_-] */
#define SB_STORE_CANNED_TEXT_MAX 8192   /* bytes of a canned reply's text */
#define SB_STORE_CSAT_COMMENT_MAX 2000  /* bytes of a CSAT comment */

/* An internal note on a conversation: agents only, never sent to the customer. */
struct sb_note {
    sb_id id;
    sb_id tenant_id;
    sb_id conversation_id;
    sb_id agent_id; /* 0 when written with an API key */
    char *text;
    int64_t created_ms;
};

struct sb_canned_reply {
    sb_id id;
    sb_id tenant_id;
    char shortcut[SB_STORE_CANNED_SHORTCUT_MAX]; /* typed after "/" in the composer */
    char title[128];
    char *text;
    int64_t created_ms;
};

/* A customer's rating of a resolved conversation (at most one per conversation). */
struct sb_csat {
    sb_id conversation_id;
    sb_id tenant_id;
    sb_id agent_id; /* the conversation's assignee when rated, 0 when none */
    int rating;     /* 1..5 */
    char *comment;  /* "" when none */
    int64_t created_ms;
};

/* The dashboard's figures (schema step 4; the definitions are in docs/metrics.md). */
#define SB_METRICS_QUEUE (1u << 0)     /* live: waiting conversations, longest wait */
#define SB_METRICS_AGENTS (1u << 1)    /* live: agents, presence, load, capacity */
#define SB_METRICS_VOLUME (1u << 2)    /* period: conversations and messages per channel */
#define SB_METRICS_OUTCOMES (1u << 3)  /* period: hand-off, resolved, bot-resolved */
#define SB_METRICS_TIMES (1u << 4)     /* period: first response and resolution times */
#define SB_METRICS_CSAT (1u << 5)      /* period: CSAT ratings, overall and per agent */
#define SB_METRICS_SENTIMENT (1u << 6) /* period: customer sentiment per local day */
#define SB_METRICS_INTENTS (1u << 7)   /* period: top intents of customer messages */
#define SB_METRICS_ALL 0xffu

#define SB_METRICS_DAYS_MAX 366     /* days of a sentiment trend (longer periods: SB_EINVAL) */
#define SB_METRICS_TOP_MAX 50       /* top intents */
#define SB_METRICS_REOPEN_MS (24 * 3600 * 1000LL) /* the bot-resolved window */

struct sb_metrics_query {
    int64_t from_ms, to_ms; /* the period [from, to), to > from */
    int64_t now_ms;         /* "now" for the live figures and the reopen window; 0 = clock */
    int tz_offset_min;      /* local days = UTC + offset, -840..840, a multiple of 15 */
    unsigned sections;      /* SB_METRICS_* bits; 0 = all */
    size_t top_intents;     /* 1..SB_METRICS_TOP_MAX; 0 = 10 */
};

/* Median and 90th percentile (nearest rank) of n durations. */
struct sb_metrics_dist {
    int64_t n;
    int64_t median_ms, p90_ms, max_ms; /* 0 when n is 0 */
};

struct sb_metrics_channel {
    char kind[32];         /* the inbox kind: "web", "api", "telegram", ... */
    int64_t conversations; /* started in the period */
    int64_t customer_messages, bot_messages, agent_messages; /* written in the period */
};

struct sb_metrics_agent {
    sb_id agent_id;
    char name[128];
    char role[16];
    char presence[16]; /* the stored choice: "online" | "away" | "offline" ("offline": none) */
    int capacity;      /* the routing profile's; -1 when the agent has none */
    int64_t assigned;  /* conversations it holds now (status assigned) */
    int64_t csat_n;    /* ratings of its conversations in the period */
    double csat_mean;
};

struct sb_metrics_day {
    int64_t start_ms; /* local midnight, in UTC milliseconds */
    int64_t positive, neutral, negative, other;
};

struct sb_metrics_label {
    char label[64];
    int64_t n;
};

struct sb_metrics {
    /* live */
    int64_t queued, longest_wait_ms, assigned, with_bot;
    struct sb_metrics_agent *agents;
    size_t n_agents;
    /* conversations started in the period (channels: also the messages written in it) */
    int64_t conversations, handed_off, resolved, bot_resolved, bot_resolved_provisional,
        reopened;
    struct sb_metrics_channel *channels; /* most conversations first */
    size_t n_channels;
    /* first responses made and resolutions done in the period */
    struct sb_metrics_dist first_response, resolution;
    int64_t awaiting_first_response; /* with people now, no agent reply yet */
    /* ratings given in the period (csat_hist[k]: ratings k+1) */
    int64_t csat_n, csat_hist[5];
    double csat_mean;
    /* customer messages of the period */
    struct sb_metrics_day *days;
    size_t n_days;
    struct sb_metrics_label *intents; /* most frequent first, in-scope labels only */
    size_t n_intents;
    int64_t intent_messages, intent_oos; /* labelled messages, of which out of scope */
};

/* One conversation of a report (CSV export). */
struct sb_conversation_report {
    struct sb_conversation c;
    char inbox_kind[32];
    char inbox_name[128];
    char assignee_name[128];
    int csat_rating; /* 0: not rated */
};

/*
 * The backend contract. All members are mandatory (sb_store_register_check rejects an ops
 * table with a missing one). The public functions below dispatch to these; see them for the
 * meaning of each.
 */
struct sb_store_ops {
    const char *name; /* "sqlite" */
    int (*open)(struct sb_store **out, const char *location, struct sb_error *err);
    void (*close)(struct sb_store *st);
    int (*migrate)(struct sb_store *st, int *from_version, int *to_version, struct sb_error *err);

    int (*tenant_create)(struct sb_store *st, const char *slug, const char *name, sb_id *id,
                         struct sb_error *err);
    int (*tenant_get)(struct sb_store *st, sb_id id, struct sb_tenant *out, struct sb_error *err);
    int (*tenant_find)(struct sb_store *st, const char *slug, struct sb_tenant *out,
                       struct sb_error *err);

    int (*inbox_create)(struct sb_store *st, sb_id tenant, const char *kind, const char *name,
                        const char *config_json, sb_id *id, struct sb_error *err);
    int (*inbox_get)(struct sb_store *st, sb_id tenant, sb_id id, struct sb_inbox *out,
                     struct sb_error *err);
    int (*inbox_find)(struct sb_store *st, sb_id tenant, const char *name, struct sb_inbox *out,
                      struct sb_error *err);
    int (*inbox_list)(struct sb_store *st, sb_id tenant, struct sb_inbox **out, size_t *n,
                      struct sb_error *err);

    int (*ingest_batch)(struct sb_store *st, const struct sb_ingest *in,
                        struct sb_ingest_result *out, size_t n, struct sb_error *err);
    int (*message_append)(struct sb_store *st, const struct sb_message_new *m, sb_id *id,
                          int64_t *event_seq, struct sb_error *err);
    int (*message_append_batch)(struct sb_store *st, const struct sb_message_new *m, size_t n,
                                sb_id *ids, int64_t *event_seqs, int *rcs,
                                struct sb_error *err);
    int (*message_get)(struct sb_store *st, sb_id tenant, sb_id id, struct sb_message *out,
                       struct sb_error *err);
    int (*message_list)(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id after_id,
                        size_t limit, struct sb_message **out, size_t *n, struct sb_error *err);
    int (*message_annotate)(struct sb_store *st, sb_id tenant, sb_id id,
                            const char *annotations_json, int64_t *event_seq,
                            struct sb_error *err);
    int (*write_batch)(struct sb_store *st, struct sb_write_batch *b, struct sb_error *err);

    int (*conversation_get)(struct sb_store *st, sb_id tenant, sb_id id,
                            struct sb_conversation *out, struct sb_error *err);
    int (*conversation_list)(struct sb_store *st, sb_id tenant,
                             const struct sb_conversation_filter *f, struct sb_conversation **out,
                             size_t *n, struct sb_error *err);
    int (*conversation_update)(struct sb_store *st, sb_id tenant, sb_id id,
                               const struct sb_conversation_update *u, int64_t *event_seq,
                               struct sb_error *err);

    int (*contact_get)(struct sb_store *st, sb_id tenant, sb_id id, struct sb_contact *out,
                       struct sb_contact_identity **ids, size_t *n_ids, struct sb_error *err);
    int (*contact_list)(struct sb_store *st, sb_id tenant, sb_id before_id, size_t limit,
                        struct sb_contact **out, size_t *n, struct sb_error *err);
    int (*contact_find)(struct sb_store *st, sb_id tenant, sb_id inbox, const char *external_id,
                        struct sb_contact *out, struct sb_error *err);

    int (*agent_create)(struct sb_store *st, sb_id tenant, const char *email, const char *name,
                        const char *role, const char *pw_hash, sb_id *id, struct sb_error *err);
    int (*agent_get)(struct sb_store *st, sb_id tenant, sb_id id, struct sb_agent *out,
                     struct sb_error *err);
    int (*agent_find)(struct sb_store *st, sb_id tenant, const char *email, struct sb_agent *out,
                      struct sb_error *err);
    int (*agent_list)(struct sb_store *st, sb_id tenant, struct sb_agent **out, size_t *n,
                      struct sb_error *err);

    int (*apikey_create)(struct sb_store *st, sb_id tenant, const char *name, const char *role,
                         const char *prefix, const char *hash, sb_id *id, struct sb_error *err);
    int (*apikey_find)(struct sb_store *st, const char *prefix, struct sb_api_key *out,
                       struct sb_error *err);
    int (*apikey_list)(struct sb_store *st, sb_id tenant, struct sb_api_key **out, size_t *n,
                       struct sb_error *err);
    int (*apikey_revoke)(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err);

    int (*session_create)(struct sb_store *st, sb_id tenant, sb_id agent, const char *token_hash,
                          int64_t expires_ms, struct sb_error *err);
    int (*session_find)(struct sb_store *st, const char *token_hash, struct sb_session *out,
                        struct sb_error *err);
    int (*session_delete)(struct sb_store *st, const char *token_hash, struct sb_error *err);

    int (*event_append)(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id message,
                        const char *type, const char *payload_json, int64_t *seq,
                        struct sb_error *err);
    int (*event_list)(struct sb_store *st, sb_id tenant, sb_id conversation, int64_t after_seq,
                      size_t limit, struct sb_event **out, size_t *n, struct sb_error *err);

    int (*outbox_enqueue)(struct sb_store *st, sb_id tenant, sb_id message, sb_id inbox,
                          const char *idempotency_key, const char *payload_json, sb_id *id,
                          struct sb_error *err);
    int (*outbox_claim)(struct sb_store *st, int64_t now_ms, int64_t lease_ms, size_t limit,
                        struct sb_outbox_item **out, size_t *n, struct sb_error *err);
    int (*outbox_finish)(struct sb_store *st, sb_id id, int delivered, int64_t retry_at_ms,
                         const char *error, struct sb_error *err);

    /* routing (schema step 2) */
    int (*setting_get)(struct sb_store *st, sb_id tenant, const char *key, char **value_json,
                       struct sb_error *err);
    int (*setting_put)(struct sb_store *st, sb_id tenant, const char *key,
                       const char *value_json, struct sb_error *err);
    int (*team_create)(struct sb_store *st, sb_id tenant, const char *name, sb_id *id,
                       struct sb_error *err);
    int (*team_list)(struct sb_store *st, sb_id tenant, struct sb_team **out, size_t *n,
                     struct sb_error *err);
    int (*agent_routing_get)(struct sb_store *st, sb_id tenant, sb_id agent,
                             struct sb_agent_routing *out, struct sb_error *err);
    int (*agent_routing_put)(struct sb_store *st, sb_id tenant, const struct sb_agent_routing *a,
                             struct sb_error *err);
    int (*agent_routing_list)(struct sb_store *st, sb_id tenant, struct sb_agent_routing **out,
                              size_t *n, struct sb_error *err);

    /* workspace (schema step 3) */
    int (*note_add)(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id agent,
                    const char *text, struct sb_note *out, int64_t *event_seq,
                    struct sb_error *err);
    int (*note_list)(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id after_id,
                     size_t limit, struct sb_note **out, size_t *n, struct sb_error *err);
    int (*canned_create)(struct sb_store *st, sb_id tenant, const char *shortcut,
                         const char *title, const char *text, sb_id *id, struct sb_error *err);
    int (*canned_list)(struct sb_store *st, sb_id tenant, struct sb_canned_reply **out,
                       size_t *n, struct sb_error *err);
    int (*canned_delete)(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err);
    int (*csat_put)(struct sb_store *st, sb_id tenant, sb_id conversation, int rating,
                    const char *comment, struct sb_csat *out, int64_t *event_seq,
                    struct sb_error *err);
    int (*csat_get)(struct sb_store *st, sb_id tenant, sb_id conversation, struct sb_csat *out,
                    struct sb_error *err);

    /* metrics (schema step 4) */
    int (*metrics)(struct sb_store *st, sb_id tenant, const struct sb_metrics_query *q,
                   struct sb_metrics *out, struct sb_error *err);
    int (*conversation_report)(struct sb_store *st, sb_id tenant, int64_t from_ms,
                               int64_t to_ms, sb_id after_id, size_t limit,
                               struct sb_conversation_report **out, size_t *n,
                               struct sb_error *err);
};

extern const struct sb_store_ops sb_store_sqlite_ops;

/* Checks that every member of `ops` is set; SB_EINVAL naming the first missing one. */
int sb_store_register_check(const struct sb_store_ops *ops, struct sb_error *err);

/*
 * Opens the store at `location`: "sqlite:PATH", or a plain PATH (SQLite), or a directory
 * (SQLite file DIR/switchboard.db). "postgres://..." is reserved for the PostgreSQL backend
 * and fails with SB_EUNSUPPORTED until it exists. Does not migrate. Free with sb_store_close().
 */
int sb_store_open(struct sb_store **out, const char *location, struct sb_error *err);
void sb_store_close(struct sb_store *st);
const struct sb_store_ops *sb_store_ops_of(const struct sb_store *st);

/* Brings the schema to the newest version in one transaction; reports both versions. */
int sb_store_migrate(struct sb_store *st, int *from_version, int *to_version,
                     struct sb_error *err);

int sb_store_tenant_create(struct sb_store *st, const char *slug, const char *name, sb_id *id,
                           struct sb_error *err);
int sb_store_tenant_get(struct sb_store *st, sb_id id, struct sb_tenant *out,
                        struct sb_error *err);
int sb_store_tenant_find(struct sb_store *st, const char *slug, struct sb_tenant *out,
                         struct sb_error *err);

/* Inbox names are unique per tenant (SB_EEXIST). config_json NULL = "{}". */
int sb_store_inbox_create(struct sb_store *st, sb_id tenant, const char *kind, const char *name,
                          const char *config_json, sb_id *id, struct sb_error *err);
int sb_store_inbox_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_inbox *out,
                       struct sb_error *err);
int sb_store_inbox_find(struct sb_store *st, sb_id tenant, const char *name,
                        struct sb_inbox *out, struct sb_error *err);
int sb_store_inbox_list(struct sb_store *st, sb_id tenant, struct sb_inbox **out, size_t *n,
                        struct sb_error *err);

/*
 * Stores up to n customer messages in ONE durable transaction (group commit). For each item:
 * a message whose (inbox, provider_msg_id) was stored before is a duplicate (its first ids are
 * returned, nothing is written); otherwise the contact is found or created by
 * (inbox, customer_ext_id), the contact's open conversation in that inbox (status other than
 * resolved) is found or a new one opened with status "bot", the message is appended, the
 * conversation's last-message fields are updated and a "message.created" event is appended.
 * An item that fails alone (bad inbox: SB_ENOTFOUND) gets its rc in out[i].rc and does not
 * affect the others. Returns non-zero only when the whole batch failed (nothing stored).
 */
int sb_store_ingest_batch(struct sb_store *st, const struct sb_ingest *in,
                          struct sb_ingest_result *out, size_t n, struct sb_error *err);

/* Appends a bot/agent/system message and its "message.created" event; updates the
 * conversation's last-message fields. */
int sb_store_message_append(struct sb_store *st, const struct sb_message_new *m, sb_id *id,
                            int64_t *event_seq, struct sb_error *err);
/*
 * Appends n messages as sb_store_message_append does, in ONE durable transaction (group commit
 * of bot and agent replies). rcs[i] is 0 or the code of item i alone (each item in a
 * savepoint); ids[i] and event_seqs[i] are set for the items that succeeded. Returns non-zero
 * only when the whole batch failed.
 */
int sb_store_message_append_batch(struct sb_store *st, const struct sb_message_new *m, size_t n,
                                  sb_id *ids, int64_t *event_seqs, int *rcs,
                                  struct sb_error *err);
int sb_store_message_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_message *out,
                         struct sb_error *err);
/* Messages of a conversation with id > after_id, oldest first, at most `limit` (1..500). */
int sb_store_message_list(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id after_id,
                          size_t limit, struct sb_message **out, size_t *n,
                          struct sb_error *err);
/* Replaces the annotations of a message and appends a "message.annotated" event. */
int sb_store_message_annotate(struct sb_store *st, sb_id tenant, sb_id id,
                              const char *annotations_json, int64_t *event_seq,
                              struct sb_error *err);

/*
 * Everything the group committer has gathered in one round, stored in ONE durable
 * transaction: customer messages (as sb_store_ingest_batch), bot/agent/system messages (as
 * sb_store_message_append_batch) and annotations (as sb_store_message_annotate), in that
 * order. Every item runs in its own savepoint; its own code goes to its result slot. Returns
 * non-zero only when the whole round failed (then every slot holds that code).
 */
int sb_store_write_batch(struct sb_store *st, struct sb_write_batch *b, struct sb_error *err);

int sb_store_conversation_get(struct sb_store *st, sb_id tenant, sb_id id,
                              struct sb_conversation *out, struct sb_error *err);
/* Newest first (by id) with the filter; out is NULL and n 0 when nothing matches. */
int sb_store_conversation_list(struct sb_store *st, sb_id tenant,
                               const struct sb_conversation_filter *f,
                               struct sb_conversation **out, size_t *n, struct sb_error *err);
/* Applies `u` and appends a "conversation.updated" event, atomically. An unknown status
 * string is SB_EINVAL; expect_status not matching is SB_ESTATE. */
int sb_store_conversation_update(struct sb_store *st, sb_id tenant, sb_id id,
                                 const struct sb_conversation_update *u, int64_t *event_seq,
                                 struct sb_error *err);

/* `ids`/`n_ids` may be NULL when the identities are not wanted. */
int sb_store_contact_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_contact *out,
                         struct sb_contact_identity **ids, size_t *n_ids, struct sb_error *err);
int sb_store_contact_list(struct sb_store *st, sb_id tenant, sb_id before_id, size_t limit,
                          struct sb_contact **out, size_t *n, struct sb_error *err);
/* The contact reached as `external_id` on `inbox` (SB_ENOTFOUND when none). */
int sb_store_contact_find(struct sb_store *st, sb_id tenant, sb_id inbox,
                          const char *external_id, struct sb_contact *out, struct sb_error *err);

/* E-mail is unique per tenant (case-insensitive): SB_EEXIST. */
int sb_store_agent_create(struct sb_store *st, sb_id tenant, const char *email, const char *name,
                          const char *role, const char *pw_hash, sb_id *id,
                          struct sb_error *err);
int sb_store_agent_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_agent *out,
                       struct sb_error *err);
int sb_store_agent_find(struct sb_store *st, sb_id tenant, const char *email,
                        struct sb_agent *out, struct sb_error *err);
int sb_store_agent_list(struct sb_store *st, sb_id tenant, struct sb_agent **out, size_t *n,
                        struct sb_error *err);

/* Key prefixes are unique across the store. A revoked key is still found (revoked = 1). */
int sb_store_apikey_create(struct sb_store *st, sb_id tenant, const char *name, const char *role,
                           const char *prefix, const char *hash, sb_id *id,
                           struct sb_error *err);
int sb_store_apikey_find(struct sb_store *st, const char *prefix, struct sb_api_key *out,
                         struct sb_error *err);
int sb_store_apikey_list(struct sb_store *st, sb_id tenant, struct sb_api_key **out, size_t *n,
                         struct sb_error *err);
int sb_store_apikey_revoke(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err);

int sb_store_session_create(struct sb_store *st, sb_id tenant, sb_id agent,
                            const char *token_hash, int64_t expires_ms, struct sb_error *err);
/* An expired session is SB_ENOTFOUND. */
int sb_store_session_find(struct sb_store *st, const char *token_hash, struct sb_session *out,
                          struct sb_error *err);
int sb_store_session_delete(struct sb_store *st, const char *token_hash, struct sb_error *err);

/* Appends to the audit/event log (payload_json NULL = "{}"). */
int sb_store_event_append(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id message,
                          const char *type, const char *payload_json, int64_t *seq,
                          struct sb_error *err);
/* Events with seq > after_seq, oldest first; conversation 0 = all of the tenant's. */
int sb_store_event_list(struct sb_store *st, sb_id tenant, sb_id conversation, int64_t after_seq,
                        size_t limit, struct sb_event **out, size_t *n, struct sb_error *err);

/* Outbox: messages to deliver to external channels, with retry. The idempotency key is unique
 * (SB_EEXIST). claim leases up to `limit` due items for lease_ms (a crashed sender's lease
 * expires and the item is claimed again); finish marks delivered or schedules a retry. */
int sb_store_outbox_enqueue(struct sb_store *st, sb_id tenant, sb_id message, sb_id inbox,
                            const char *idempotency_key, const char *payload_json, sb_id *id,
                            struct sb_error *err);
int sb_store_outbox_claim(struct sb_store *st, int64_t now_ms, int64_t lease_ms, size_t limit,
                          struct sb_outbox_item **out, size_t *n, struct sb_error *err);
int sb_store_outbox_finish(struct sb_store *st, sb_id id, int delivered, int64_t retry_at_ms,
                           const char *error, struct sb_error *err);

/*
 * Routing (schema step 2).
 * Settings: one JSON value per (tenant, key), e.g. "routing" (docs/routing.md), "sla". get is
 * SB_ENOTFOUND when never set; *value_json is malloc'd (free with free()). put replaces it; key
 * at most SB_STORE_SETTING_KEY_MAX-1 bytes, value at most SB_STORE_SETTING_MAX (SB_ETOOBIG).
 * Teams: names unique per tenant (SB_EEXIST); listed by id.
 * Agent routing: one row per agent (presence, capacity, skills, teams); get is SB_ENOTFOUND
 * when the agent has none yet; put replaces the row and the agent's team memberships at once
 * (an agent or team of another tenant is SB_ENOTFOUND); list gives every row of the tenant by
 * agent id. Free with sb_agent_routing_cleanup / sb_agent_routing_list_free.
 */
int sb_store_setting_get(struct sb_store *st, sb_id tenant, const char *key, char **value_json,
                         struct sb_error *err);
int sb_store_setting_put(struct sb_store *st, sb_id tenant, const char *key,
                         const char *value_json, struct sb_error *err);
int sb_store_team_create(struct sb_store *st, sb_id tenant, const char *name, sb_id *id,
                         struct sb_error *err);
int sb_store_team_list(struct sb_store *st, sb_id tenant, struct sb_team **out, size_t *n,
                       struct sb_error *err);
int sb_store_agent_routing_get(struct sb_store *st, sb_id tenant, sb_id agent,
                               struct sb_agent_routing *out, struct sb_error *err);
int sb_store_agent_routing_put(struct sb_store *st, sb_id tenant,
                               const struct sb_agent_routing *a, struct sb_error *err);
int sb_store_agent_routing_list(struct sb_store *st, sb_id tenant,
                                struct sb_agent_routing **out, size_t *n, struct sb_error *err);
void sb_agent_routing_cleanup(struct sb_agent_routing *x);
void sb_agent_routing_list_free(struct sb_agent_routing *xs, size_t n);
void sb_team_list_free(struct sb_team *xs, size_t n);

/*
 * Workspace (schema step 3).
 * Notes: note_add stores an internal note on a conversation of the tenant (SB_ENOTFOUND
 * otherwise; text 1..SB_STORE_NOTE_MAX bytes of UTF-8) and appends a "note.created" event in
 * the same transaction; `out` (may be NULL) receives the stored note, *event_seq (may be NULL)
 * the event's seq. note_list gives the notes with id > after_id, oldest first, at most
 * `limit` (1..500); a conversation of another tenant is SB_ENOTFOUND.
 * Canned replies: shortcut unique per tenant (SB_EEXIST), 1..63 bytes of a-z 0-9 '_' '-';
 * title 1..127 bytes; text 1..SB_STORE_CANNED_TEXT_MAX bytes. Listed by shortcut. delete is
 * SB_ENOTFOUND for an id of another tenant.
 * CSAT: csat_put rates a RESOLVED conversation of the tenant (SB_ESTATE when it is not
 * resolved, SB_EEXIST when it was rated before, SB_ENOTFOUND for another tenant's; rating
 * 1..5, comment NULL or at most SB_STORE_CSAT_COMMENT_MAX bytes of UTF-8), recording the
 * conversation's assignee as the rated agent, and appends a "csat.created" event in the same
 * transaction. csat_get is SB_ENOTFOUND when there is no rating.
 * Free with sb_note_cleanup / sb_note_list_free, sb_canned_list_free, sb_csat_cleanup.
 */
int sb_store_note_add(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id agent,
                      const char *text, struct sb_note *out, int64_t *event_seq,
                      struct sb_error *err);
int sb_store_note_list(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id after_id,
                       size_t limit, struct sb_note **out, size_t *n, struct sb_error *err);
int sb_store_canned_create(struct sb_store *st, sb_id tenant, const char *shortcut,
                           const char *title, const char *text, sb_id *id,
                           struct sb_error *err);
int sb_store_canned_list(struct sb_store *st, sb_id tenant, struct sb_canned_reply **out,
                         size_t *n, struct sb_error *err);
int sb_store_canned_delete(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err);
int sb_store_csat_put(struct sb_store *st, sb_id tenant, sb_id conversation, int rating,
                      const char *comment, struct sb_csat *out, int64_t *event_seq,
                      struct sb_error *err);
int sb_store_csat_get(struct sb_store *st, sb_id tenant, sb_id conversation, struct sb_csat *out,
                      struct sb_error *err);
void sb_note_cleanup(struct sb_note *x);
void sb_note_list_free(struct sb_note *xs, size_t n);
void sb_canned_list_free(struct sb_canned_reply *xs, size_t n);
void sb_csat_cleanup(struct sb_csat *x);

/*
 * Metrics (schema step 4; definitions in docs/metrics.md). sb_store_metrics computes the
 * sections of `q` for the tenant from the conversation facts and the message-label buckets
 * (never by scanning messages); `out` is filled only on success, free it with
 * sb_metrics_cleanup. SB_EINVAL naming the field for a bad period, offset or top count.
 * sb_store_conversation_report lists the conversations created in [from, to), oldest first
 * (by created time, then id), after the conversation `after_id` (0: from the start), at most
 * `limit` (1..SB_STORE_REPORT_MAX); free with sb_conversation_report_list_free.
 */
#define SB_STORE_REPORT_MAX 5000
int sb_store_metrics(struct sb_store *st, sb_id tenant, const struct sb_metrics_query *q,
                     struct sb_metrics *out, struct sb_error *err);
int sb_store_conversation_report(struct sb_store *st, sb_id tenant, int64_t from_ms,
                                 int64_t to_ms, sb_id after_id, size_t limit,
                                 struct sb_conversation_report **out, size_t *n,
                                 struct sb_error *err);
void sb_metrics_cleanup(struct sb_metrics *m);
void sb_conversation_report_list_free(struct sb_conversation_report *xs, size_t n);

/* Freeing what the store returns. Each accepts NULL. */
void sb_inbox_cleanup(struct sb_inbox *x);
void sb_contact_cleanup(struct sb_contact *x);
void sb_conversation_cleanup(struct sb_conversation *x);
void sb_message_cleanup(struct sb_message *x);
void sb_event_cleanup(struct sb_event *x);
void sb_outbox_item_cleanup(struct sb_outbox_item *x);
void sb_inbox_list_free(struct sb_inbox *xs, size_t n);
void sb_contact_list_free(struct sb_contact *xs, size_t n);
void sb_conversation_list_free(struct sb_conversation *xs, size_t n);
void sb_message_list_free(struct sb_message *xs, size_t n);
void sb_event_list_free(struct sb_event *xs, size_t n);
void sb_outbox_list_free(struct sb_outbox_item *xs, size_t n);
void sb_agent_list_free(struct sb_agent *xs, size_t n);
void sb_apikey_list_free(struct sb_api_key *xs, size_t n);
void sb_identity_list_free(struct sb_contact_identity *xs, size_t n);

#endif
