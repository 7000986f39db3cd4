/* SPDX-License-Identifier: MIT */
/* Shared between the engine's files: the engine object and its committer queue. */
#ifndef SB_ENGINE_INTERNAL_H
#define SB_ENGINE_INTERNAL_H

#include "sb/engine.h"

#include <pthread.h>
#include <stdatomic.h>

enum commit_kind { COMMIT_INGEST, COMMIT_POST, COMMIT_ANNOTATE, COMMIT_KINDS };

/* One queued write. Ingests carry their own copies of the input strings; posts and
 * annotations are borrowed from a caller that waits until `done`. */
struct commit_item {
    struct commit_item *next;
    enum commit_kind kind;
    /* ingest */
    struct sb_ingest in;
    char *strings; /* one allocation holding the copied strings of `in` */
    sb_ingest_cb on_commit;
    sb_reply_cb on_reply;
    void *ud;
    /* post (agent/system/bot message) or annotation: the caller waits on `done` */
    const struct sb_message_new *post;
    const struct sb_annotation *note;
    sb_id post_id;
    int64_t seq;
    int rc;
    int done;
    /* Asynchronous items: called on the committer thread once stored (rc, post_id, seq set);
     * it owns the item from then on and must not block. */
    void (*on_done)(struct commit_item *it);
};

/* Queues asynchronous posts or annotations (on_done set) together, so that they share a
 * round. All or none: SB_EBUSY when stopping. */
int sb__engine_submit(struct sb_engine *e, struct commit_item *const *items, size_t n);

#define SB_ENGINE_STRIPES 64

struct sb_engine {
    struct sb_engine_options opt;
    pthread_t committer;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* committer waits for work */
    pthread_cond_t post_cv; /* posters wait for their item */
    struct commit_item *head, *tail;
    size_t queued;
    int stopping;
    atomic_int turns_running;
    pthread_mutex_t stripes[SB_ENGINE_STRIPES]; /* one bot turn per conversation at a time */
    atomic_uint_fast64_t ingested, duplicates, batches, items, bot_replies, handoffs,
        turn_errors;
    struct sb__routing_hub *routing; /* per-tenant routers (routing_hub.c) */
};

/* Runs the bot turn for a committed message (worker thread). Takes ownership of `job`. */
struct turn_job {
    struct sb_engine *e;
    sb_id tenant_id;
    sb_id message_id;
    int64_t seq;
    sb_reply_cb on_reply;
    void *ud;
};
void sb__engine_turn(void *job);
/* Publishes a committed customer message's message.created ahead of waiting turns. */
/* Whether an event with this seq would reach anyone (publish set, and an audience). */
int sb__engine_heard(struct sb_engine *e, int64_t seq);
void sb__engine_publish_ingested(struct sb_engine *e, sb_id tenant, sb_id message, int64_t seq);

/* Publishes message.created / conversation.updated for stored rows. */
void sb__engine_publish_message(struct sb_engine *e, const struct sb_message *m, int64_t seq);
void sb__engine_publish_conversation(struct sb_engine *e, const struct sb_conversation *c,
                                     int64_t seq);

#endif
