/* SPDX-License-Identifier: MIT */
/*
 * The conversation pipeline: ingest → durable commit → acknowledge → enrich → decide →
 * deliver → publish. Channels and the HTTP API hand customer messages to sb_engine_ingest();
 * a committer thread stores them in groups (one fsync per group, so throughput does not pay
 * one disk flush per message) and only then reports them committed; the bot turn for each
 * new message runs on the worker pool; every change is published as a JSON event to the
 * callback the daemon registers (which fans out to WebSockets).
 */
#ifndef SB_ENGINE_H
#define SB_ENGINE_H

#include "sb/policy.h"
#include "sb/pool.h"
#include "sb/store.h"

struct sb_engine; /* opaque */

/* An event for subscribers. `json` is the whole event object as text:
 * {"type": "message.created", "seq": N, "conversation": {...}, "message": {...}} or
 * {"type": "conversation.updated", "seq": N, "conversation": {...}}. Borrowed for the call. */
struct sb_engine_event {
    sb_id tenant_id;
    sb_id conversation_id;
    sb_id contact_id;
    int64_t seq;
    const char *type;
    const char *json;
    int agents_only; /* an internal note: never sent to customers */
};

/* Called from engine threads (committer or workers); must not block for long. */
typedef void (*sb_publish_fn)(void *ud, const struct sb_engine_event *ev);

/* Whether anyone could receive the event with this seq now (`ud` is publish_ud). When no one
 * could, the engine neither renders nor publishes it: the store's event log keeps every event
 * for clients that connect later. The committer asks once per round, with the round's newest
 * seq, as soon as the round is durable — events it publishes later on other threads count as
 * settled then (a client that connects in between starts after them). Engine threads; must be
 * cheap. */
typedef int (*sb_audience_fn)(void *ud, int64_t seq);

/* Produces the annotations JSON of an inbound message (language, intent, entities...) or
 * NULL for none; malloc'd, freed by the engine. Runs on worker threads. */
typedef char *(*sb_annotate_fn)(void *ud, const struct sb_message *msg);

struct sb_engine_options {
    struct sb_store *store; /* borrowed; outlives the engine */
    struct sb_pool *pool;   /* borrowed; outlives the engine: runs the bot turns (and, ahead
                             * of waiting turns, the publication of stored replies) */
    size_t batch_max;       /* most items per durable transaction */
    sb_publish_fn publish;  /* may be NULL */
    void *publish_ud;
    sb_audience_fn audience; /* may be NULL: every event is published */
    sb_annotate_fn annotate; /* may be NULL */
    void *annotate_ud;
    const struct sb_policy_ops *policy; /* NULL: sb_policy_basic */
    void *policy_self;
};

int sb_engine_new(const struct sb_engine_options *opt, struct sb_engine **out,
                  struct sb_error *err);
/* Stores everything still queued, waits for running turns, stops. NULL is a no-op. */
void sb_engine_free(struct sb_engine *e);

/* Called once when the message is durably stored (or failed: r->rc). Committer thread. */
typedef void (*sb_ingest_cb)(void *ud, const struct sb_ingest_result *r);
/* Called once after the bot turn for the message: `reply` is the bot's message or NULL (no
 * reply, duplicate, or rc != 0). Borrowed for the call. Worker or committer thread. */
typedef void (*sb_reply_cb)(void *ud, int rc, const struct sb_message *reply);

/*
 * Queues one customer message (copied; `m` is not kept). `on_commit` is called exactly once;
 * if `on_reply` is not NULL it is called exactly once afterwards. SB_EBUSY when the engine is
 * stopping (no callback is called then). Thread-safe.
 */
int sb_engine_ingest(struct sb_engine *e, const struct sb_ingest *m, sb_ingest_cb on_commit,
                     sb_reply_cb on_reply, void *ud);

/*
 * Stores a message from an agent (or the system) through the group committer, publishes it
 * and returns the stored message in `out` (free with sb_message_cleanup). Blocks the calling
 * (worker) thread until committed. SB_ENOTFOUND for a conversation of another tenant.
 */
int sb_engine_post(struct sb_engine *e, const struct sb_message_new *m, struct sb_message *out,
                   struct sb_error *err);

/* Updates a conversation and publishes conversation.updated; `out` (may be NULL) receives
 * the new state (free with sb_conversation_cleanup). */
int sb_engine_update(struct sb_engine *e, sb_id tenant, sb_id conversation,
                     const struct sb_conversation_update *u, struct sb_conversation *out,
                     struct sb_error *err);

/* Renders one stored event as the JSON text subscribers get (NULL if the event's rows are
 * gone). Free with free(). Used for WebSocket resume. */
char *sb_engine_render_event(struct sb_engine *e, const struct sb_event *ev, sb_id *contact_id,
                             int *agents_only);

/* 1 when the message is an internal note (agents only): inbound but not from the customer. */
int sb_message_is_internal(const struct sb_message *m);

/* Counters for /metrics. */
struct sb_engine_stats {
    uint64_t ingested, duplicates, commit_batches, committed_items, bot_replies, handoffs,
        turn_errors;
    size_t queued; /* waiting for the committer */
};
void sb_engine_stats(struct sb_engine *e, struct sb_engine_stats *out);

#endif
