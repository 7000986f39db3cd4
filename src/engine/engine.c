/* SPDX-License-Identifier: MIT */
/*
 * The engine object and its committer thread. Writers (channel ingests, agent and bot posts)
 * queue items; the committer takes everything queued — up to batch_max of each kind, fewer
 * annotations — and stores it in one transaction, so under load many messages share one
 * fsync (group commit) while a lone message is stored at once. Only after the store returns
 * is a message acknowledged and its bot turn queued on the worker pool.
 */
#include "engine_internal.h"
#include "routing_internal.h"

#include "sb/clock.h"
#include "sb/log.h"
#include "sb/mem.h"
#include "sb/render.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Annotations stored per round, at most. Bot turns finish in bursts when they get the CPU
 * back, and a round that stored a burst of a few hundred annotations held every customer
 * message queued behind it, which made the next round bigger still: under an even 4,000
 * messages/s the p99 acknowledgement was 101 ms with no cap and 16 ms with this one
 * (docs/store.md). Annotations wait a round or two instead; nothing waits for them. */
#define ROUND_MAX_NOTES 32

static void enqueue(struct sb_engine *e, struct commit_item *it)
{
    it->next = NULL;
    if (e->tail)
        e->tail->next = it;
    else
        e->head = it;
    e->tail = it;
    e->queued++;
    pthread_cond_signal(&e->cv);
}

/* Copies the strings of `m` into one allocation owned by the item. */
static void copy_ingest(struct commit_item *it, const struct sb_ingest *m)
{
    const char *src[5] = {m->provider_msg_id, m->customer_ext_id, m->customer_name, m->text,
                          m->parts_json};
    size_t len[5], total = 0;
    for (int i = 0; i < 5; i++) {
        len[i] = src[i] ? strlen(src[i]) + 1 : 0;
        total += len[i];
    }
    it->strings = sb_malloc(total ? total : 1);
    char *p = it->strings;
    const char *dst[5];
    for (int i = 0; i < 5; i++) {
        dst[i] = src[i] ? p : NULL;
        if (src[i]) {
            memcpy(p, src[i], len[i]);
            p += len[i];
        }
    }
    it->in = *m;
    it->in.provider_msg_id = dst[0];
    it->in.customer_ext_id = dst[1];
    it->in.customer_name = dst[2];
    it->in.text = dst[3];
    it->in.parts_json = dst[4];
    if (!it->in.created_ms)
        it->in.created_ms = sb_now_ms();
}

int sb_engine_ingest(struct sb_engine *e, const struct sb_ingest *m, sb_ingest_cb on_commit,
                     sb_reply_cb on_reply, void *ud)
{
    struct commit_item *it = sb_calloc(1, sizeof(*it));
    it->kind = COMMIT_INGEST;
    copy_ingest(it, m);
    it->on_commit = on_commit;
    it->on_reply = on_reply;
    it->ud = ud;
    pthread_mutex_lock(&e->mu);
    if (e->stopping) {
        pthread_mutex_unlock(&e->mu);
        free(it->strings);
        free(it);
        return SB_EBUSY;
    }
    enqueue(e, it);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static void start_turn(struct sb_engine *e, const struct commit_item *it,
                       const struct sb_ingest_result *r)
{
    struct turn_job *job = sb_calloc(1, sizeof(*job));
    job->e = e;
    job->tenant_id = it->in.tenant_id;
    job->message_id = r->message_id;
    job->seq = r->event_seq;
    job->on_reply = it->on_reply;
    job->ud = it->ud;
    sb__engine_publish_ingested(e, job->tenant_id, job->message_id, job->seq);
    atomic_fetch_add(&e->turns_running, 1);
    if (sb_pool_submit(e->opt.pool, sb__engine_turn, job) != 0) {
        SB_LOG(SB_LOG_WARN, "engine", "worker pool full: no bot turn for message %lld",
               (long long)r->message_id);
        atomic_fetch_sub(&e->turns_running, 1);
        if (job->on_reply)
            job->on_reply(job->ud, SB_EBUSY, NULL);
        free(job);
    }
}

/* After the round's commit: acknowledge each customer message and start its bot turn. */
static void finish_ingests(struct sb_engine *e, struct commit_item **items,
                           const struct sb_ingest_result *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct commit_item *it = items[i];
        const struct sb_ingest_result *r = &out[i];
        it->on_commit(it->ud, r);
        if (r->rc == 0 && !r->duplicate) {
            atomic_fetch_add(&e->ingested, 1);
            start_turn(e, it, r);
        } else {
            if (r->duplicate)
                atomic_fetch_add(&e->duplicates, 1);
            if (it->on_reply)
                it->on_reply(it->ud, r->rc, NULL);
        }
        free(it->strings);
        free(it);
    }
}

/* After the round's commit: wake the callers blocked in wait_committed, and hand the
 * asynchronous items to their completion (which owns them from then on). */
static void finish_waiting(struct sb_engine *e, struct commit_item **items, size_t n,
                           const int *rcs, const sb_id *ids, const int64_t *seqs)
{
    /* The asynchronous items are set apart first: once `done` is set and the lock released,
     * a waiter returns and its (stack) item must not be touched again. */
    struct commit_item **async = sb_calloc(n ? n : 1, sizeof(*async));
    size_t n_async = 0;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < n; i++) {
        items[i]->rc = rcs[i];
        items[i]->post_id = ids ? ids[i] : 0;
        items[i]->seq = seqs[i];
        if (items[i]->on_done)
            async[n_async++] = items[i];
        else
            items[i]->done = 1;
    }
    pthread_cond_broadcast(&e->post_cv);
    pthread_mutex_unlock(&e->mu);
    for (size_t i = 0; i < n_async; i++)
        async[i]->on_done(async[i]);
    free(async);
}

/* One round: everything taken from the queue in ONE durable transaction. */
static void commit_round(struct sb_engine *e, struct commit_item ***taken, const size_t *n)
{
    size_t ni = n[COMMIT_INGEST], np = n[COMMIT_POST], na = n[COMMIT_ANNOTATE];
    struct sb_ingest *in = sb_calloc(ni, sizeof(*in));
    struct sb_ingest_result *in_out = sb_calloc(ni, sizeof(*in_out));
    struct sb_message_new *posts = sb_calloc(np, sizeof(*posts));
    sb_id *post_ids = sb_calloc(np, sizeof(sb_id));
    int64_t *post_seqs = sb_calloc(np, sizeof(int64_t));
    int *post_rcs = sb_calloc(np, sizeof(int));
    struct sb_annotation *notes = sb_calloc(na, sizeof(*notes));
    int64_t *note_seqs = sb_calloc(na, sizeof(int64_t));
    int *note_rcs = sb_calloc(na, sizeof(int));
    for (size_t i = 0; i < ni; i++)
        in[i] = taken[COMMIT_INGEST][i]->in;
    for (size_t i = 0; i < np; i++)
        posts[i] = *taken[COMMIT_POST][i]->post;
    for (size_t i = 0; i < na; i++)
        notes[i] = *taken[COMMIT_ANNOTATE][i]->note;
    struct sb_write_batch b = {
        .ingests = in, .ingest_results = in_out, .n_ingests = ni,
        .posts = posts, .post_ids = post_ids, .post_seqs = post_seqs, .post_rcs = post_rcs,
        .n_posts = np,
        .notes = notes, .note_seqs = note_seqs, .note_rcs = note_rcs, .n_notes = na,
    };
    struct sb_error err = {0};
    if (sb_store_write_batch(e->opt.store, &b, &err))
        SB_LOG(SB_LOG_ERROR, "engine", "storing a round of %zu writes failed: %s", ni + np + na,
               err.msg);
    /* Whether anyone listens is settled for the whole round now, not when each event is
     * published later (on other threads): a socket that opens in between must start after
     * this round's events, as it would had they been delivered (sb_audience_fn). */
    int64_t top = 0;
    for (size_t i = 0; i < ni; i++)
        top = in_out[i].event_seq > top ? in_out[i].event_seq : top;
    for (size_t i = 0; i < np; i++)
        top = post_seqs[i] > top ? post_seqs[i] : top;
    for (size_t i = 0; i < na; i++)
        top = note_seqs[i] > top ? note_seqs[i] : top;
    if (top)
        (void)sb__engine_heard(e, top);
    atomic_fetch_add(&e->batches, 1);
    atomic_fetch_add(&e->items, ni + np + na);
    finish_ingests(e, taken[COMMIT_INGEST], in_out, ni);
    finish_waiting(e, taken[COMMIT_POST], np, post_rcs, post_ids, post_seqs);
    finish_waiting(e, taken[COMMIT_ANNOTATE], na, note_rcs, NULL, note_seqs);
    free(in);
    free(in_out);
    free(posts);
    free(post_ids);
    free(post_seqs);
    free(post_rcs);
    free(notes);
    free(note_seqs);
    free(note_rcs);
}

static void *committer(void *arg)
{
    struct sb_engine *e = arg;
    pthread_setname_np(pthread_self(), "sb-commit");
    size_t max = e->opt.batch_max ? e->opt.batch_max : 256;
    size_t max_notes = max < ROUND_MAX_NOTES ? max : ROUND_MAX_NOTES;
    struct commit_item **taken[COMMIT_KINDS];
    for (int k = 0; k < COMMIT_KINDS; k++)
        taken[k] = sb_calloc(max, sizeof(struct commit_item *));
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->head && !e->stopping)
            pthread_cond_wait(&e->cv, &e->mu);
        if (!e->head && e->stopping) {
            pthread_mutex_unlock(&e->mu);
            break;
        }
        /* Take up to `max` of each kind, keeping the rest queued in order. */
        size_t n[COMMIT_KINDS] = {0};
        struct commit_item **link = &e->head, *last = NULL;
        while (*link) {
            struct commit_item *it = *link;
            if (n[it->kind] < (it->kind == COMMIT_ANNOTATE ? max_notes : max)) {
                *link = it->next;
                e->queued--;
                taken[it->kind][n[it->kind]++] = it;
            } else {
                last = it;
                link = &it->next;
            }
        }
        e->tail = last;
        pthread_mutex_unlock(&e->mu);
        commit_round(e, taken, n);
    }
    for (int k = 0; k < COMMIT_KINDS; k++)
        free(taken[k]);
    return NULL;
}

/* Queues `it` and blocks until the committer has stored it; returns its code. */
static int wait_committed(struct sb_engine *e, struct commit_item *it)
{
    pthread_mutex_lock(&e->mu);
    if (e->stopping) {
        pthread_mutex_unlock(&e->mu);
        return SB_EBUSY;
    }
    enqueue(e, it);
    while (!it->done)
        pthread_cond_wait(&e->post_cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
    return it->rc;
}

int sb__engine_submit(struct sb_engine *e, struct commit_item *const *items, size_t n)
{
    pthread_mutex_lock(&e->mu);
    int rc = e->stopping ? SB_EBUSY : 0;
    for (size_t i = 0; !rc && i < n; i++)
        enqueue(e, items[i]);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int sb_engine_post(struct sb_engine *e, const struct sb_message_new *m, struct sb_message *out,
                   struct sb_error *err)
{
    struct commit_item it = {.kind = COMMIT_POST, .post = m};
    int rc = wait_committed(e, &it);
    if (rc)
        return sb_error_set(err, rc, "storing the message failed: %s", sb_strerror(rc));
    struct sb_message stored = {0};
    rc = sb_store_message_get(e->opt.store, m->tenant_id, it.post_id, &stored, err);
    if (rc)
        return rc;
    sb__engine_publish_message(e, &stored, it.seq);
    if (out)
        *out = stored;
    else
        sb_message_cleanup(&stored);
    return 0;
}

int sb_engine_update(struct sb_engine *e, sb_id tenant, sb_id conversation,
                     const struct sb_conversation_update *u, struct sb_conversation *out,
                     struct sb_error *err)
{
    int rc = sb__engine_update_raw(e, tenant, conversation, u, NULL, err);
    if (rc)
        return rc;
    /* the router follows the stored state; what it decides is persisted and published */
    sb__routing_sync(e, tenant, conversation);
    return out ? sb_store_conversation_get(e->opt.store, tenant, conversation, out, err) : 0;
}

int sb__engine_update_raw(struct sb_engine *e, sb_id tenant, sb_id conversation,
                          const struct sb_conversation_update *u, struct sb_conversation *out,
                          struct sb_error *err)
{
    int64_t seq = 0;
    int rc = sb_store_conversation_update(e->opt.store, tenant, conversation, u, &seq, err);
    if (rc)
        return rc;
    struct sb_conversation c = {0};
    rc = sb_store_conversation_get(e->opt.store, tenant, conversation, &c, err);
    if (rc)
        return rc;
    sb__engine_publish_conversation(e, &c, seq);
    if (out)
        *out = c;
    else
        sb_conversation_cleanup(&c);
    return 0;
}

int sb_message_is_internal(const struct sb_message *m)
{
    return strcmp(m->direction, SB_DIR_IN) == 0 && strcmp(m->sender_kind, SB_SENDER_CUSTOMER) != 0;
}

int sb__engine_heard(struct sb_engine *e, int64_t seq)
{
    return e->opt.publish && (!e->opt.audience || e->opt.audience(e->opt.publish_ud, seq));
}

static void publish_json(struct sb_engine *e, const char *type, sb_id tenant, sb_id conv,
                         sb_id contact, int64_t seq, int agents_only, json_t *obj)
{
    if (!e->opt.publish) {
        json_decref(obj);
        return;
    }
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    struct sb_engine_event ev = {tenant, conv, contact, seq, type, text, agents_only};
    e->opt.publish(e->opt.publish_ud, &ev);
    free(text);
}

static json_t *event_object(const char *type, int64_t seq)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "seq", json_integer(seq));
    return o;
}

void sb__engine_publish_message(struct sb_engine *e, const struct sb_message *m, int64_t seq)
{
    struct sb_conversation c = {0};
    if (!sb__engine_heard(e, seq) ||
        sb_store_conversation_get(e->opt.store, m->tenant_id, m->conversation_id, &c, NULL))
        return;
    json_t *o = event_object("message.created", seq);
    json_object_set_new(o, "conversation", sb_render_conversation(&c));
    json_object_set_new(o, "message", sb_render_message(m));
    publish_json(e, "message.created", m->tenant_id, c.id, c.contact_id, seq,
                 sb_message_is_internal(m), o);
    sb_conversation_cleanup(&c);
}

void sb__engine_publish_conversation(struct sb_engine *e, const struct sb_conversation *c,
                                     int64_t seq)
{
    if (!sb__engine_heard(e, seq))
        return;
    json_t *o = event_object("conversation.updated", seq);
    json_object_set_new(o, "conversation", sb_render_conversation(c));
    publish_json(e, "conversation.updated", c->tenant_id, c->id, c->contact_id, seq, 0, o);
}

char *sb_engine_render_event(struct sb_engine *e, const struct sb_event *ev, sb_id *contact_id,
                             int *agents_only)
{
    if (agents_only)
        *agents_only = 0;
    struct sb_conversation c = {0};
    if (!ev->conversation_id ||
        sb_store_conversation_get(e->opt.store, ev->tenant_id, ev->conversation_id, &c, NULL))
        return NULL;
    json_t *o = NULL;
    if (strcmp(ev->type, "message.created") == 0 || strcmp(ev->type, "message.annotated") == 0) {
        struct sb_message m = {0};
        if (sb_store_message_get(e->opt.store, ev->tenant_id, ev->message_id, &m, NULL) == 0) {
            o = event_object(ev->type, ev->seq);
            json_object_set_new(o, "conversation", sb_render_conversation(&c));
            json_object_set_new(o, "message", sb_render_message(&m));
            if (agents_only)
                *agents_only = sb_message_is_internal(&m);
            sb_message_cleanup(&m);
        }
    } else if (strcmp(ev->type, "conversation.updated") == 0) {
        o = event_object(ev->type, ev->seq);
        json_object_set_new(o, "conversation", sb_render_conversation(&c));
    }
    if (contact_id)
        *contact_id = c.contact_id;
    sb_conversation_cleanup(&c);
    if (!o)
        return NULL;
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

int sb_engine_new(const struct sb_engine_options *opt, struct sb_engine **out,
                  struct sb_error *err)
{
    if (!opt->store || !opt->pool)
        return sb_error_set(err, SB_EINVAL, "engine needs a store and a worker pool");
    struct sb_engine *e = sb_calloc(1, sizeof(*e));
    e->opt = *opt;
    if (!e->opt.policy)
        e->opt.policy = &sb_policy_basic;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    pthread_cond_init(&e->post_cv, NULL);
    for (int i = 0; i < SB_ENGINE_STRIPES; i++)
        pthread_mutex_init(&e->stripes[i], NULL);
    e->routing = sb__routing_hub_new(e);
    if (pthread_create(&e->committer, NULL, committer, e) != 0) {
        sb__routing_hub_free(e->routing);
        free(e);
        return sb_error_set(err, SB_EINTERNAL, "cannot start the committer thread");
    }
    *out = e;
    return 0;
}

void sb_engine_free(struct sb_engine *e)
{
    if (!e)
        return;
    sb__routing_hub_stop(e->routing); /* no presence changes while shutting down */
    /* Turns post replies through the committer: let them finish before it stops. */
    while (atomic_load(&e->turns_running) > 0) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&e->mu);
    e->stopping = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->committer, NULL);
    while (atomic_load(&e->turns_running) > 0) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    sb__routing_hub_free(e->routing);
    for (int i = 0; i < SB_ENGINE_STRIPES; i++)
        pthread_mutex_destroy(&e->stripes[i]);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    pthread_cond_destroy(&e->post_cv);
    free(e);
}

void sb_engine_stats(struct sb_engine *e, struct sb_engine_stats *out)
{
    out->ingested = atomic_load(&e->ingested);
    out->duplicates = atomic_load(&e->duplicates);
    out->commit_batches = atomic_load(&e->batches);
    out->committed_items = atomic_load(&e->items);
    out->bot_replies = atomic_load(&e->bot_replies);
    out->handoffs = atomic_load(&e->handoffs);
    out->turn_errors = atomic_load(&e->turn_errors);
    pthread_mutex_lock(&e->mu);
    out->queued = e->queued;
    pthread_mutex_unlock(&e->mu);
}
