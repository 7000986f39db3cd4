/* SPDX-License-Identifier: MIT */
/*
 * The bot turn for one committed customer message, on a worker thread: publish the message,
 * enrich it (annotations), and — while the bot owns the conversation — let the policy decide:
 * reply, hand off to a human (conversation → queued), or stay silent. Turns of one
 * conversation are serialised so that two quick messages do not get two greetings.
 */
#include "engine_internal.h"

#include "sb/clock.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

#define HISTORY_MAX 50

static void annotate(struct sb_engine *e, struct sb_message *m)
{
    if (!e->opt.annotate)
        return;
    char *json = e->opt.annotate(e->opt.annotate_ud, m);
    if (!json)
        return;
    int64_t seq = 0;
    struct sb_error err = {0};
    if (sb_store_message_annotate(e->opt.store, m->tenant_id, m->id, json, &seq, &err) == 0) {
        free(m->annotations_json);
        m->annotations_json = json;
        json = NULL;
        struct sb_event ev = {.seq = seq, .tenant_id = m->tenant_id,
                              .conversation_id = m->conversation_id, .message_id = m->id};
        memcpy(ev.type, "message.annotated", sizeof("message.annotated"));
        sb_id contact = 0;
        char *text = sb_engine_render_event(e, &ev, &contact, NULL);
        if (text && e->opt.publish) {
            struct sb_engine_event pe = {m->tenant_id, m->conversation_id, contact, seq,
                                         "message.annotated", text, 0};
            e->opt.publish(e->opt.publish_ud, &pe);
        }
        free(text);
    } else {
        SB_LOG(SB_LOG_WARN, "engine", "annotating message %lld failed: %s", (long long)m->id,
               err.msg);
    }
    free(json);
}

/* Runs the policy and carries out its decision; *reply receives the bot's message if any. */
static int bot_turn(struct sb_engine *e, const struct sb_message *m,
                    const struct sb_conversation *c, struct sb_message *reply, int *replied)
{
    struct sb_message *history = NULL;
    size_t n_history = 0;
    struct sb_error err = {0};
    int rc = sb_store_message_list(e->opt.store, m->tenant_id, c->id, 0, HISTORY_MAX, &history,
                                   &n_history, &err);
    if (rc)
        return rc;
    struct sb_turn turn = {c, m, history, n_history};
    struct sb_decision d = {0};
    rc = e->opt.policy->decide(e->opt.policy_self, &turn, &d);
    sb_message_list_free(history, n_history);
    if (rc || d.action == SB_ACT_NONE)
        goto out;
    if (d.text && *d.text) {
        struct sb_message_new bot = {
            .tenant_id = m->tenant_id,
            .conversation_id = c->id,
            .direction = SB_DIR_OUT,
            .sender_kind = SB_SENDER_BOT,
            .text = d.text,
            .annotations_json = d.annotations_json,
            .created_ms = sb_now_ms(),
        };
        rc = sb_engine_post(e, &bot, reply, &err);
        if (rc)
            goto out;
        *replied = 1;
        atomic_fetch_add(&e->bot_replies, 1);
    }
    if (d.action == SB_ACT_HANDOFF) {
        struct sb_conversation_update u = {.status = SB_CONV_QUEUED, .expect_status = SB_CONV_BOT};
        rc = sb_engine_update(e, m->tenant_id, c->id, &u, NULL, &err);
        if (rc == SB_ESTATE) /* an agent took it meanwhile: nothing to hand off */
            rc = 0;
        else if (rc == 0)
            atomic_fetch_add(&e->handoffs, 1);
    }
out:
    if (rc)
        SB_LOG(SB_LOG_WARN, "engine", "bot turn for message %lld failed: %s", (long long)m->id,
               err.code ? err.msg : sb_strerror(rc));
    sb_decision_cleanup(&d);
    return rc;
}

void sb__engine_turn(void *arg)
{
    struct turn_job *job = arg;
    struct sb_engine *e = job->e;
    struct sb_message m = {0}, reply = {0};
    struct sb_conversation c = {0};
    int replied = 0;
    int rc = sb_store_message_get(e->opt.store, job->tenant_id, job->message_id, &m, NULL);
    if (rc)
        goto out;
    pthread_mutex_t *lane = &e->stripes[(uint64_t)m.conversation_id % SB_ENGINE_STRIPES];
    pthread_mutex_lock(lane);
    sb__engine_publish_message(e, &m, job->seq);
    annotate(e, &m);
    rc = sb_store_conversation_get(e->opt.store, job->tenant_id, m.conversation_id, &c, NULL);
    if (rc == 0 && strcmp(c.status, SB_CONV_BOT) == 0)
        rc = bot_turn(e, &m, &c, &reply, &replied);
    pthread_mutex_unlock(lane);
out:
    if (rc)
        atomic_fetch_add(&e->turn_errors, 1);
    if (job->on_reply)
        job->on_reply(job->ud, rc, replied ? &reply : NULL);
    if (replied)
        sb_message_cleanup(&reply);
    sb_message_cleanup(&m);
    sb_conversation_cleanup(&c);
    atomic_fetch_sub(&e->turns_running, 1);
    free(job);
}
