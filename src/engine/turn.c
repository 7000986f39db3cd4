/* SPDX-License-Identifier: MIT */
/*
 * The bot turn for one committed customer message, on a worker thread: publish the message,
 * enrich it (annotations), and — while the bot owns the conversation — let the policy decide:
 * reply, hand off to a human (conversation → queued), or stay silent. The annotations and the
 * reply are written through the group committer without waiting for the disk: the worker moves
 * on, and the reply is published and reported when its round is durable. Turns of one
 * conversation are serialised so that two quick messages do not get two greetings.
 */
#include "engine_internal.h"
#include "routing_internal.h"

#include "sb/clock.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

#define HISTORY_MAX 12 /* the policy looks at the opening of a conversation the bot still owns */

/* Runs a completion `fn(arg)` on the pool ahead of waiting turns (a backlog of turns must not
 * delay replies already stored), or here when the pool is full (never lose a completion). */
static void run_on_pool(struct sb_engine *e, sb_job_fn fn, void *arg)
{
    if (sb_pool_submit_first(e->opt.pool, fn, arg) != 0)
        fn(arg);
}

/* The end of a turn: report to the caller and let the engine know it may stop. */
static void turn_done(struct sb_engine *e, sb_reply_cb on_reply, void *ud, int rc,
                      const struct sb_message *reply)
{
    if (rc)
        atomic_fetch_add(&e->turn_errors, 1);
    if (on_reply)
        on_reply(ud, rc, reply);
    atomic_fetch_sub(&e->turns_running, 1);
}

/* ---- annotations ---- */

struct note_job {
    struct commit_item it; /* first: the committer hands back &it */
    struct sb_engine *e;
    struct sb_annotation note;
    sb_id conversation_id;
    char *json;
};

static void publish_annotated(void *arg)
{
    struct note_job *j = arg;
    struct sb_engine *e = j->e;
    if (j->it.rc == 0) {
        struct sb_event ev = {.seq = j->it.seq, .tenant_id = j->note.tenant_id,
                              .conversation_id = j->conversation_id,
                              .message_id = j->note.message_id};
        memcpy(ev.type, "message.annotated", sizeof("message.annotated"));
        sb_id contact = 0;
        char *text = sb__engine_heard(e, j->it.seq)
                         ? sb_engine_render_event(e, &ev, &contact, NULL)
                         : NULL;
        if (text) {
            struct sb_engine_event pe = {j->note.tenant_id, j->conversation_id, contact,
                                         j->it.seq, "message.annotated", text, 1};
            e->opt.publish(e->opt.publish_ud, &pe);
        }
        free(text);
        sb__routing_refresh(e, j->note.tenant_id, j->conversation_id, j->note.message_id);
    } else if (j->it.rc) {
        SB_LOG(SB_LOG_WARN, "engine", "annotating message %lld failed: %s",
               (long long)j->note.message_id, sb_strerror(j->it.rc));
    }
    atomic_fetch_sub(&e->turns_running, 1);
    free(j->json);
    free(j);
}

static void note_stored(struct commit_item *it)
{
    struct note_job *j = (struct note_job *)it;
    run_on_pool(j->e, publish_annotated, j);
}

/* Queues the annotations and the reply (when there is one) for the committer: the same round
 * unless annotations are backed up (ROUND_MAX_NOTES in engine.c). */
static int submit(struct sb_engine *e, struct note_job *note, struct commit_item *reply)
{
    struct commit_item *items[2] = {NULL, NULL};
    size_t n = 0;
    if (note)
        items[n++] = &note->it;
    if (reply)
        items[n++] = reply;
    int rc = sb__engine_submit(e, items, n);
    if (rc && note) {
        atomic_fetch_sub(&e->turns_running, 1);
        free(note->json);
        free(note);
    }
    return rc;
}

/* Computes the annotations and keeps them on `m` for the policy; returns their write, to be
 * submitted with the reply. */
static struct note_job *annotate(struct sb_engine *e, struct sb_message *m)
{
    if (!e->opt.annotate)
        return NULL;
    char *json = e->opt.annotate(e->opt.annotate_ud, m);
    if (!json)
        return NULL;
    free(m->annotations_json);
    m->annotations_json = sb_strdup(json);
    struct note_job *j = sb_calloc(1, sizeof(*j));
    j->e = e;
    j->json = json;
    j->conversation_id = m->conversation_id;
    j->note = (struct sb_annotation){m->tenant_id, m->id, json};
    j->it.kind = COMMIT_ANNOTATE;
    j->it.note = &j->note;
    j->it.on_done = note_stored;
    atomic_fetch_add(&e->turns_running, 1); /* the write is part of the turn's work */
    return j;
}

/* ---- the bot's reply ---- */

struct reply_job {
    struct commit_item it; /* first */
    struct sb_engine *e;
    struct sb_message_new msg;
    char *text;
    char *annotations;
    int handoff;
    sb_reply_cb on_reply;
    void *ud;
};

static void hand_off(struct sb_engine *e, sb_id tenant, sb_id conversation)
{
    struct sb_conversation_update u = {.status = SB_CONV_QUEUED, .expect_status = SB_CONV_BOT};
    struct sb_error err = {0};
    int rc = sb_engine_update(e, tenant, conversation, &u, NULL, &err);
    if (rc == 0)
        atomic_fetch_add(&e->handoffs, 1);
    else if (rc != SB_ESTATE) /* ESTATE: an agent took it meanwhile, nothing to hand off */
        SB_LOG(SB_LOG_WARN, "engine", "handing off conversation %lld failed: %s",
               (long long)conversation, err.msg);
}

static void finish_reply(void *arg)
{
    struct reply_job *j = arg;
    struct sb_engine *e = j->e;
    struct sb_message reply = {0};
    int rc = j->it.rc;
    if (rc == 0)
        rc = sb_store_message_get(e->opt.store, j->msg.tenant_id, j->it.post_id, &reply, NULL);
    if (rc == 0) {
        atomic_fetch_add(&e->bot_replies, 1);
        sb__engine_publish_message(e, &reply, j->it.seq);
    } else {
        SB_LOG(SB_LOG_WARN, "engine", "storing the bot's reply failed: %s", sb_strerror(rc));
    }
    if (j->handoff)
        hand_off(e, j->msg.tenant_id, j->msg.conversation_id);
    turn_done(e, j->on_reply, j->ud, rc, rc == 0 ? &reply : NULL);
    sb_message_cleanup(&reply);
    free(j->text);
    free(j->annotations);
    free(j);
}

static void reply_stored(struct commit_item *it)
{
    struct reply_job *j = (struct reply_job *)it;
    run_on_pool(j->e, finish_reply, j);
}

/*
 * Runs the policy and carries out its decision. Returns 1 when a reply was queued (its
 * completion ends the turn), 0 when the turn is over now, with *rc set.
 */
static int bot_turn(struct sb_engine *e, const struct sb_message *m,
                    const struct sb_conversation *c, const struct turn_job *job,
                    struct note_job **note, int *rc)
{
    struct sb_message *history = NULL;
    size_t n_history = 0;
    struct sb_error err = {0};
    *rc = sb_store_message_list(e->opt.store, m->tenant_id, c->id, 0, HISTORY_MAX, &history,
                                &n_history, &err);
    if (*rc)
        return 0;
    struct sb_turn turn = {c, m, history, n_history};
    struct sb_decision d = {0};
    if (!sb__routing_escalate(e, m, c, &d)) /* escalation triggers come before the policy */
        *rc = e->opt.policy->decide(e->opt.policy_self, &turn, &d);
    sb_message_list_free(history, n_history);
    int queued = 0;
    if (*rc || d.action == SB_ACT_NONE)
        goto out;
    if (!d.text || !*d.text) {
        if (d.action == SB_ACT_HANDOFF)
            hand_off(e, m->tenant_id, c->id);
        goto out;
    }
    struct reply_job *j = sb_calloc(1, sizeof(*j));
    j->e = e;
    j->text = d.text;
    j->annotations = d.annotations_json;
    d.text = d.annotations_json = NULL; /* the job owns them now */
    j->handoff = d.action == SB_ACT_HANDOFF;
    j->on_reply = job->on_reply;
    j->ud = job->ud;
    j->msg = (struct sb_message_new){
        .tenant_id = m->tenant_id,
        .conversation_id = c->id,
        .direction = SB_DIR_OUT,
        .sender_kind = SB_SENDER_BOT,
        .text = j->text,
        .annotations_json = j->annotations,
        .created_ms = sb_now_ms(),
    };
    j->it.kind = COMMIT_POST;
    j->it.post = &j->msg;
    j->it.on_done = reply_stored;
    *rc = submit(e, *note, &j->it);
    *note = NULL; /* submitted (or freed) with the reply */
    if (*rc) {
        free(j->text);
        free(j->annotations);
        free(j);
        goto out;
    }
    queued = 1;
out:
    if (*rc)
        SB_LOG(SB_LOG_WARN, "engine", "bot turn for message %lld failed: %s", (long long)m->id,
               err.code ? err.msg : sb_strerror(*rc));
    sb_decision_cleanup(&d);
    return queued;
}

/* Publishes a committed customer message at once, ahead of waiting bot turns: consoles see
 * it without waiting for the turns queued before it (the turn itself may take a while). */
struct publish_job {
    struct sb_engine *e;
    sb_id tenant_id, message_id;
    int64_t seq;
};

static void publish_ingested(void *arg)
{
    struct publish_job *p = arg;
    struct sb_message m = {0};
    if (sb_store_message_get(p->e->opt.store, p->tenant_id, p->message_id, &m, NULL) == 0)
        sb__engine_publish_message(p->e, &m, p->seq);
    sb_message_cleanup(&m);
    atomic_fetch_sub(&p->e->turns_running, 1);
    free(p);
}

void sb__engine_publish_ingested(struct sb_engine *e, sb_id tenant, sb_id message, int64_t seq)
{
    if (!sb__engine_heard(e, seq))
        return;
    if (sb__routing_publish_later(e, tenant, message, seq) == 0)
        return; /* the routing hub's thread (full priority) publishes it */
    struct publish_job *p = sb_calloc(1, sizeof(*p));
    *p = (struct publish_job){e, tenant, message, seq};
    atomic_fetch_add(&e->turns_running, 1); /* the engine waits for it when stopping */
    run_on_pool(e, publish_ingested, p);
}

void sb__engine_turn(void *arg)
{
    struct turn_job *job = arg;
    struct sb_engine *e = job->e;
    struct sb_message m = {0};
    struct sb_conversation c = {0};
    int queued = 0;
    int rc = sb_store_message_get(e->opt.store, job->tenant_id, job->message_id, &m, NULL);
    if (rc == 0) {
        pthread_mutex_t *lane = &e->stripes[(uint64_t)m.conversation_id % SB_ENGINE_STRIPES];
        pthread_mutex_lock(lane);
        /* message.created was published at commit (sb__engine_publish_ingested) */
        struct note_job *note = annotate(e, &m);
        rc = sb_store_conversation_get(e->opt.store, job->tenant_id, m.conversation_id, &c,
                                       NULL);
        if (rc == 0 && strcmp(c.status, SB_CONV_BOT) == 0)
            queued = bot_turn(e, &m, &c, job, &note, &rc);
        if (note)
            submit(e, note, NULL);
        pthread_mutex_unlock(lane);
    }
    if (!queued)
        turn_done(e, job->on_reply, job->ud, rc, NULL);
    sb_message_cleanup(&m);
    sb_conversation_cleanup(&c);
    free(job);
}
