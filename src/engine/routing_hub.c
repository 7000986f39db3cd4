/* SPDX-License-Identifier: MIT */
/*
 * The engine's routers: one `struct sb_routing` per tenant behind its own mutex, loaded from
 * the store the first time the tenant is touched (settings, agents offline, queued and
 * assigned conversations), then kept in step with the store. Every assignment a router
 * reports is persisted (status, assignee, routing_json = the explanation) with the status it
 * had just been read with as the expected one, so a concurrent resolve is never overwritten,
 * and published as conversation.updated. Presence: console sockets opening and closing are
 * queued to a ticker thread (the network loop never waits on the store), which also turns an
 * agent offline once its last socket has been closed for the grace period.
 */
#include "routing_internal.h"

#include "engine_internal.h"
#include "sb/clock.h"
#include "sb/log.h"
#include "sb/mem.h"
#include "sb/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CAPACITY 3
#define DEFAULT_GRACE_MS 30000
#define GRACE_MAX_S 86400
#define TICK_MS 100
/* Message summaries of waiting conversations kept between refreshes, per tenant (direct
 * mapped by conversation id: two conversations that share a slot cost a full re-read). */
#define FOLD_SLOTS 1024
#define FOLD_RECHECK_MS 5000

struct agent_conn {
    sb_id id;
    int sockets;
    int64_t offline_at; /* 0: no pending offline */
};

struct tenant_router {
    struct tenant_router *next;
    sb_id tenant;
    pthread_mutex_t mu;
    int loaded;
    struct sb_routing *r;
    json_t *intent_groups; /* {intent: group} */
    int require_language;
    int default_capacity;
    int64_t grace_ms;
    struct agent_conn *conns;
    size_t n_conns, cap_conns;
    struct sb__fold *folds; /* FOLD_SLOTS, by conversation id; allocated on first refresh */
};

struct sock_ev {
    struct sock_ev *next;
    sb_id tenant, agent;
    int connected;
};

/* A committed customer message to publish (see sb__routing_publish_later). */
struct pub_ev {
    struct pub_ev *next;
    sb_id tenant, message;
    int64_t seq;
};

#define PUBLISH_QUEUE_MAX 1000

struct sb__routing_hub {
    struct sb_engine *e;
    pthread_mutex_t mu; /* the list head, the event queues, stop */
    pthread_cond_t cv;
    struct tenant_router *list;
    struct sock_ev *ev_head, *ev_tail;
    struct pub_ev *pub_head, *pub_tail;
    size_t n_pub;
    int stop;
    pthread_t ticker;
};

/* ---- settings ---- */

static void extras_default(struct tenant_router *tr)
{
    json_decref(tr->intent_groups);
    tr->intent_groups = json_object();
    tr->require_language = 0;
    tr->default_capacity = DEFAULT_CAPACITY;
    tr->grace_ms = DEFAULT_GRACE_MS;
}

/* Takes the engine's own members out of `o` (removing them) into the router's extras;
 * `o` keeps what sb_routing_config_from_json reads. */
static int take_extras(json_t *o, json_t **groups, int *req_lang, int *def_cap, int64_t *grace,
                       struct sb_error *err)
{
    json_t *v;
    if ((v = json_object_get(o, "intent_groups"))) {
        if (!json_is_object(v) || json_object_size(v) > 256)
            return sb_error_set(err, SB_EINVAL,
                                "field 'intent_groups' must be an object {intent: group} "
                                "of at most 256 members");
        const char *k;
        json_t *g;
        json_object_foreach(v, k, g) {
            if (!json_is_string(g) || !json_string_length(g) || json_string_length(g) > 48 ||
                strlen(k) > 63)
                return sb_error_set(err, SB_EINVAL,
                                    "field 'intent_groups.%.64s' must be a group name of 1 to "
                                    "48 bytes",
                                    k);
            for (const char *p = json_string_value(g); *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    return sb_error_set(err, SB_EINVAL, "field 'intent_groups.%.64s' holds a "
                                        "control character", k);
        }
        json_decref(*groups);
        *groups = json_deep_copy(v);
        json_object_del(o, "intent_groups");
    }
    if ((v = json_object_get(o, "require_language"))) {
        if (!json_is_boolean(v))
            return sb_error_set(err, SB_EINVAL, "field 'require_language' must be true or false");
        *req_lang = json_is_true(v);
        json_object_del(o, "require_language");
    }
    if ((v = json_object_get(o, "default_capacity"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > SB_ROUTING_CAPACITY_MAX)
            return sb_error_set(err, SB_EINVAL, "field 'default_capacity' must be from 0 to %d",
                                SB_ROUTING_CAPACITY_MAX);
        *def_cap = (int)json_integer_value(v);
        json_object_del(o, "default_capacity");
    }
    if ((v = json_object_get(o, "offline_grace_s"))) {
        if (!json_is_number(v) || json_number_value(v) < 0 ||
            json_number_value(v) > GRACE_MAX_S)
            return sb_error_set(err, SB_EINVAL, "field 'offline_grace_s' must be from 0 to %d",
                                GRACE_MAX_S);
        *grace = (int64_t)(json_number_value(v) * 1000);
        json_object_del(o, "offline_grace_s");
    }
    return 0;
}

static json_t *settings_json(const struct tenant_router *tr)
{
    char *c = sb_routing_config_to_json(sb_routing_config(tr->r));
    json_t *o = json_loads(c, 0, NULL);
    free(c);
    if (!o)
        o = json_object();
    json_object_set(o, "intent_groups", tr->intent_groups);
    json_object_set_new(o, "require_language", json_boolean(tr->require_language));
    json_object_set_new(o, "default_capacity", json_integer(tr->default_capacity));
    json_object_set_new(o, "offline_grace_s", json_real((double)tr->grace_ms / 1000.0));
    return o;
}

/* ---- agents ---- */

static struct agent_conn *conn_of(struct tenant_router *tr, sb_id agent)
{
    for (size_t i = 0; i < tr->n_conns; i++)
        if (tr->conns[i].id == agent)
            return &tr->conns[i];
    if (tr->n_conns == tr->cap_conns) {
        tr->cap_conns = tr->cap_conns ? tr->cap_conns * 2 : 16;
        tr->conns = sb_realloc(tr->conns, tr->cap_conns * sizeof(*tr->conns));
    }
    struct agent_conn *c = &tr->conns[tr->n_conns++];
    memset(c, 0, sizeof(*c));
    c->id = agent;
    return c;
}

/* Skill tags of a stored profile (borrowed from `arr`, which the caller frees). */
static size_t skills_of(const char *skills_json, json_t **arr, const char **tags, size_t max)
{
    *arr = skills_json ? json_loads(skills_json, 0, NULL) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(*arr) && n < max; i++)
        if (json_is_string(json_array_get(*arr, i)))
            tags[n++] = json_string_value(json_array_get(*arr, i));
    return n;
}

/* Gives the router the agent's profile (NULL: defaults) with presence `p`. */
static int upsert_agent(struct tenant_router *tr, sb_id agent, const struct sb_agent_routing *p,
                        enum sb_routing_presence presence, int64_t now,
                        struct sb_routing_changes *ch, struct sb_error *err)
{
    const char *tags[SB_ROUTING_SKILLS_MAX];
    json_t *arr = NULL;
    size_t n = p ? skills_of(p->skills_json, &arr, tags, SB_ROUTING_SKILLS_MAX) : 0;
    struct sb_routing_agent_spec s = {
        .id = agent, .presence = presence,
        .capacity = p ? p->capacity : tr->default_capacity,
        .skills = tags, .n_skills = n,
        .teams = p ? p->teams : NULL, .n_teams = p ? p->n_teams : 0,
    };
    int rc = sb_routing_agent_upsert(tr->r, &s, now, ch, err);
    json_decref(arr);
    return rc;
}

/* Makes sure the router knows `agent` (loading its profile; offline). */
static int ensure_agent(struct sb_engine *e, struct tenant_router *tr, sb_id agent, int64_t now,
                        struct sb_routing_changes *ch)
{
    struct sb_routing_agent_info info;
    if (sb_routing_agent_get(tr->r, agent, &info) == 0)
        return 0;
    struct sb_agent a;
    if (sb_store_agent_get(e->opt.store, tr->tenant, agent, &a, NULL))
        return SB_ENOTFOUND;
    struct sb_agent_routing p = {0};
    int have = sb_store_agent_routing_get(e->opt.store, tr->tenant, agent, &p, NULL) == 0;
    int rc = upsert_agent(tr, agent, have ? &p : NULL, SB_ROUTING_OFFLINE, now, ch, NULL);
    sb_agent_routing_cleanup(&p);
    return rc;
}

/* ---- conversations ---- */

struct spec_buf {
    struct sb_routing_conv_spec s;
    char language[16];
    char group[64];
};

/* The routing spec of conversation c, from its fold `f` (sb__routing_fold) or, with f NULL,
 * from all of its messages. */
static int conv_spec(struct sb_engine *e, struct tenant_router *tr,
                     const struct sb_conversation *c, const struct sb__fold *f,
                     struct spec_buf *b)
{
    memset(b, 0, sizeof(*b));
    struct sb__signals sig;
    int rc = 0;
    if (f)
        sb__routing_signals_from_fold(e, c, f, &sig);
    else
        rc = sb__routing_signals(e, c, NULL, sb_routing_config(tr->r)->esc_intent_min_conf,
                                 &sig);
    if (rc)
        return rc;
    b->s.id = c->id;
    if (tr->require_language && sig.language[0]) {
        memcpy(b->language, sig.language, sizeof(b->language));
        b->s.language = b->language;
    }
    const char *g = sig.sum.intent
                        ? json_string_value(json_object_get(tr->intent_groups, sig.sum.intent))
                        : NULL;
    if (g && strlen(g) < sizeof(b->group)) {
        memcpy(b->group, g, strlen(g) + 1);
        b->s.intent_group = b->group;
    }
    b->s.team = c->team_id;
    b->s.vip = sig.vip;
    b->s.ltv = sig.ltv;
    b->s.complaint = sig.sum.complaint;
    b->s.negative_trend = sb_routing_negative_trend(&sig.sum, SB__ROUTING_TREND_WINDOW);
    b->s.prev_contact_ms = sig.prev_contact_ms;
    b->s.enqueue_ms = c->queued_ms;
    return 0;
}

/* Persists and publishes the router's changes, in order. `queued_conv` gets queued_ms set
 * with its first change (a new hand-off). */
static void apply(struct sb_engine *e, struct tenant_router *tr, struct sb_routing_changes *ch,
                  size_t from, sb_id queued_conv, int64_t queued_ms)
{
    for (size_t i = from; i < ch->n; i++) {
        const struct sb_routing_change *x = &ch->v[i];
        struct sb_conversation c = {0};
        if (sb_store_conversation_get(e->opt.store, tr->tenant, x->conversation, &c, NULL))
            continue;
        if (strcmp(c.status, SB_CONV_QUEUED) && strcmp(c.status, SB_CONV_ASSIGNED)) {
            /* resolved or back with the bot meanwhile: its own sync will release it */
            sb_conversation_cleanup(&c);
            continue;
        }
        char *why = sb_routing_explain_json(tr->r, &x->why);
        struct sb_conversation_update u = {
            .status = x->agent ? SB_CONV_ASSIGNED : SB_CONV_QUEUED,
            .set_assignee = 1,
            .assignee_id = x->agent,
            .expect_status = c.status,
            .routing_json = why,
        };
        if (x->conversation == queued_conv && queued_ms) {
            u.set_queued_ms = 1;
            u.queued_ms = queued_ms;
            queued_conv = 0;
        } else if (!c.queued_ms) { /* taken by hand before it ever waited */
            u.set_queued_ms = 1;
            u.queued_ms = x->why.priority.waited_ms >= 0 ? sb_now_ms() - x->why.priority.waited_ms
                                                         : sb_now_ms();
        }
        struct sb_error err = {0};
        int rc = sb__engine_update_raw(e, tr->tenant, x->conversation, &u, NULL, &err);
        if (rc && rc != SB_ESTATE)
            SB_LOG(SB_LOG_WARN, "routing", "persisting the routing of conversation %lld: %s",
                   (long long)x->conversation, err.msg);
        free(why);
        sb_conversation_cleanup(&c);
    }
}

/* ---- loading a tenant ---- */

static int load_status(struct sb_engine *e, struct tenant_router *tr, const char *status,
                       int64_t now)
{
    sb_id before = 0;
    for (;;) {
        struct sb_conversation_filter f = {.status = status, .before_id = before, .limit = 500};
        struct sb_conversation *cs = NULL;
        size_t n = 0;
        int rc = sb_store_conversation_list(e->opt.store, tr->tenant, &f, &cs, &n, NULL);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            struct spec_buf b;
            if (conv_spec(e, tr, &cs[i], NULL, &b))
                continue;
            if (!b.s.enqueue_ms)
                b.s.enqueue_ms = cs[i].updated_ms;
            struct sb_routing_changes ch = {0};
            if (!strcmp(status, SB_CONV_QUEUED)) {
                /* every agent is offline while loading: the only change is "no agent" */
                sb_routing_enqueue(tr->r, &b.s, now, &ch, NULL);
            } else if (cs[i].assignee_id && ensure_agent(e, tr, cs[i].assignee_id, now, &ch) == 0) {
                sb_routing_restore_assigned(tr->r, &b.s, cs[i].assignee_id, NULL);
            }
            sb_routing_changes_cleanup(&ch);
        }
        before = n ? cs[n - 1].id : 0;
        sb_conversation_list_free(cs, n);
        if (n < 500)
            return 0;
    }
}

static int load(struct sb_engine *e, struct tenant_router *tr, struct sb_error *err)
{
    extras_default(tr);
    struct sb_routing_config cfg;
    sb_routing_config_default(&cfg);
    char *stored = NULL;
    if (sb_store_setting_get(e->opt.store, tr->tenant, "routing", &stored, NULL) == 0) {
        json_t *o = json_loads(stored, 0, NULL);
        free(stored);
        if (o && take_extras(o, &tr->intent_groups, &tr->require_language, &tr->default_capacity,
                             &tr->grace_ms, err) == 0) {
            char *rest = json_dumps(o, JSON_COMPACT);
            if (sb_routing_config_from_json(rest, strlen(rest), &cfg, err))
                SB_LOG(SB_LOG_WARN, "routing", "tenant %lld: stored routing settings: %s",
                       (long long)tr->tenant, err->msg);
            free(rest);
        }
        json_decref(o);
    }
    int rc = sb_routing_new(&cfg, &tr->r, err);
    if (rc)
        return rc;
    int64_t now = sb_now_ms();
    struct sb_agent *as = NULL;
    size_t na = 0, np = 0;
    struct sb_agent_routing *ps = NULL;
    if ((rc = sb_store_agent_list(e->opt.store, tr->tenant, &as, &na, err)) ||
        (rc = sb_store_agent_routing_list(e->opt.store, tr->tenant, &ps, &np, err)))
        goto fail;
    for (size_t i = 0; i < na; i++) {
        const struct sb_agent_routing *p = NULL;
        for (size_t j = 0; j < np && !p; j++)
            if (ps[j].agent_id == as[i].id)
                p = &ps[j];
        struct sb_routing_changes ch = {0};
        upsert_agent(tr, as[i].id, p, SB_ROUTING_OFFLINE, now, &ch, NULL);
        sb_routing_changes_cleanup(&ch);
    }
    if ((rc = load_status(e, tr, SB_CONV_ASSIGNED, now)) ||
        (rc = load_status(e, tr, SB_CONV_QUEUED, now)))
        goto fail;
    sb_agent_list_free(as, na);
    sb_agent_routing_list_free(ps, np);
    tr->loaded = 1;
    return 0;
fail:
    sb_agent_list_free(as, na);
    sb_agent_routing_list_free(ps, np);
    sb_routing_free(tr->r);
    tr->r = NULL;
    return sb_error_set(err, rc, "loading the routing state of tenant %lld failed",
                        (long long)tr->tenant);
}

/* The tenant's router, locked; NULL (unlocked) when it cannot be loaded, or — with
 * `only_loaded` — when it is not loaded yet. */
static struct tenant_router *tr_get(struct sb_engine *e, sb_id tenant, int only_loaded,
                                    struct sb_error *err)
{
    struct sb__routing_hub *h = e->routing;
    if (!h)
        return NULL;
    pthread_mutex_lock(&h->mu);
    struct tenant_router *tr = h->list;
    while (tr && tr->tenant != tenant)
        tr = tr->next;
    if (!tr && !only_loaded) {
        tr = sb_calloc(1, sizeof(*tr));
        tr->tenant = tenant;
        pthread_mutex_init(&tr->mu, NULL);
        tr->next = h->list;
        h->list = tr;
    }
    pthread_mutex_unlock(&h->mu);
    if (!tr)
        return NULL;
    pthread_mutex_lock(&tr->mu);
    if (!tr->loaded && (only_loaded || load(e, tr, err))) {
        pthread_mutex_unlock(&tr->mu);
        return NULL;
    }
    return tr;
}

static void tr_unlock(struct tenant_router *tr)
{
    pthread_mutex_unlock(&tr->mu);
}

int sb__routing_tenant_config(struct sb_engine *e, sb_id tenant, struct sb_routing_config *out)
{
    struct tenant_router *tr = tr_get(e, tenant, 0, NULL);
    if (!tr)
        return SB_ENOTFOUND;
    *out = *sb_routing_config(tr->r);
    tr_unlock(tr);
    return 0;
}

/* ---- keeping the router in step with the store ---- */

/* Brings the router's view of one conversation in line with the store (locked). */
static void sync_locked(struct sb_engine *e, struct tenant_router *tr, sb_id conv, int64_t now)
{
    struct sb_conversation c = {0};
    if (sb_store_conversation_get(e->opt.store, tr->tenant, conv, &c, NULL))
        return;
    struct sb_routing_conv_info info;
    int known = sb_routing_conv_get(tr->r, conv, now, &info) == 0;
    struct sb_routing_changes ch = {0};
    sb_id queued_conv = 0;
    int64_t queued_ms = 0;
    if (!strcmp(c.status, SB_CONV_BOT) || !strcmp(c.status, SB_CONV_RESOLVED)) {
        if (known)
            sb_routing_release(tr->r, conv, now, &ch);
    } else if (!strcmp(c.status, SB_CONV_QUEUED)) {
        if (!known) {
            struct spec_buf b;
            if (conv_spec(e, tr, &c, NULL, &b) == 0) {
                if (!b.s.enqueue_ms) {
                    b.s.enqueue_ms = now;
                    queued_conv = conv;
                    queued_ms = now;
                }
                struct sb_error err = {0};
                if (sb_routing_enqueue(tr->r, &b.s, now, &ch, &err))
                    SB_LOG(SB_LOG_WARN, "routing", "queueing conversation %lld: %s",
                           (long long)conv, err.msg);
            }
        } else if (info.agent) {
            sb_routing_requeue(tr->r, conv, now, &ch);
        }
    } else if (!strcmp(c.status, SB_CONV_ASSIGNED) && c.assignee_id) {
        ensure_agent(e, tr, c.assignee_id, now, &ch);
        if (!known) {
            struct spec_buf b;
            if (conv_spec(e, tr, &c, NULL, &b) == 0) {
                if (!b.s.enqueue_ms)
                    b.s.enqueue_ms = now;
                sb_routing_restore_assigned(tr->r, &b.s, c.assignee_id, NULL);
            }
        } else if (info.agent != c.assignee_id) {
            /* someone took it by hand (replied, assigned): it counts toward their load */
            if (sb_routing_transfer_to_agent(tr->r, conv, c.assignee_id, 1, now, &ch, NULL)) {
                struct spec_buf b;
                sb_routing_release(tr->r, conv, now, &ch);
                if (conv_spec(e, tr, &c, NULL, &b) == 0) {
                    b.s.enqueue_ms = info.enqueue_ms;
                    sb_routing_restore_assigned(tr->r, &b.s, c.assignee_id, NULL);
                }
            }
        }
    }
    sb_conversation_cleanup(&c);
    apply(e, tr, &ch, 0, queued_conv, queued_ms);
    sb_routing_changes_cleanup(&ch);
}

void sb__routing_sync(struct sb_engine *e, sb_id tenant, sb_id conversation)
{
    struct sb_error err = {0};
    struct tenant_router *tr = tr_get(e, tenant, 0, &err);
    if (!tr) {
        if (err.code)
            SB_LOG(SB_LOG_WARN, "routing", "%s", err.msg);
        return;
    }
    sync_locked(e, tr, conversation, sb_now_ms());
    tr_unlock(tr);
}

void sb__routing_refresh(struct sb_engine *e, sb_id tenant, sb_id conversation,
                         sb_id message)
{
    struct tenant_router *tr = tr_get(e, tenant, 1, NULL);
    if (!tr)
        return;
    int64_t now = sb_now_ms();
    struct sb_routing_conv_info info;
    if (sb_routing_conv_get(tr->r, conversation, now, &info) != 0 || info.agent != 0) {
        tr_unlock(tr);
        return;
    }
    if (!tr->folds)
        tr->folds = sb_calloc(FOLD_SLOTS, sizeof(*tr->folds));
    struct sb__fold *f = &tr->folds[(uint64_t)conversation % FOLD_SLOTS];
    int changed = 1;
    struct sb_conversation c = {0};
    /* nothing routing reads moved: the spec stands (the contact's value is read again after
     * FOLD_RECHECK_MS, so a customer made VIP while waiting counts at their next message) */
    if (sb__routing_fold(e, tenant, conversation, message,
                         sb_routing_config(tr->r)->esc_intent_min_conf, f, &changed) == 0 &&
        (changed || now - f->routed_ms >= FOLD_RECHECK_MS) &&
        sb_store_conversation_get(e->opt.store, tenant, conversation, &c, NULL) == 0) {
        struct spec_buf b;
        struct sb_routing_changes ch = {0};
        f->routed_ms = now;
        if (conv_spec(e, tr, &c, f, &b) == 0 &&
            sb_routing_conv_update(tr->r, &b.s, now, &ch, NULL) == 0)
            apply(e, tr, &ch, 0, 0, 0);
        sb_routing_changes_cleanup(&ch);
        sb_conversation_cleanup(&c);
    }
    tr_unlock(tr);
}

/* ---- presence ---- */

static void set_presence(struct sb_engine *e, struct tenant_router *tr, sb_id agent,
                         enum sb_routing_presence p, int64_t now)
{
    struct sb_routing_changes ch = {0};
    if (ensure_agent(e, tr, agent, now, &ch) == 0 &&
        sb_routing_agent_set_presence(tr->r, agent, p, now, &ch) == 0)
        apply(e, tr, &ch, 0, 0, 0);
    sb_routing_changes_cleanup(&ch);
}

static void socket_event(struct sb_engine *e, const struct sock_ev *ev)
{
    struct tenant_router *tr = tr_get(e, ev->tenant, 0, NULL);
    if (!tr)
        return;
    int64_t now = sb_now_ms();
    struct agent_conn *c = conn_of(tr, ev->agent);
    if (ev->connected) {
        c->sockets++;
        c->offline_at = 0;
        struct sb_routing_agent_info info;
        int known = sb_routing_agent_get(tr->r, ev->agent, &info) == 0;
        if (!known || info.presence == SB_ROUTING_OFFLINE) {
            struct sb_agent_routing p = {0};
            int away = sb_store_agent_routing_get(e->opt.store, tr->tenant, ev->agent, &p,
                                                  NULL) == 0 &&
                       !strcmp(p.presence, "away");
            sb_agent_routing_cleanup(&p);
            set_presence(e, tr, ev->agent, away ? SB_ROUTING_AWAY : SB_ROUTING_ONLINE, now);
        }
    } else if (c->sockets > 0 && --c->sockets == 0) {
        c->offline_at = now + tr->grace_ms;
        if (c->offline_at == now)
            c->offline_at = now ? now : 1;
    }
    tr_unlock(tr);
}

static void expire_presence(struct sb_engine *e, struct tenant_router *tr, int64_t now)
{
    pthread_mutex_lock(&tr->mu);
    if (tr->loaded)
        for (size_t i = 0; i < tr->n_conns; i++) {
            struct agent_conn *c = &tr->conns[i];
            if (c->sockets == 0 && c->offline_at && c->offline_at <= now) {
                c->offline_at = 0;
                set_presence(e, tr, c->id, SB_ROUTING_OFFLINE, now);
            }
        }
    pthread_mutex_unlock(&tr->mu);
}

static void *ticker(void *arg)
{
    struct sb__routing_hub *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        if (!h->ev_head && !h->pub_head && !h->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += TICK_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        }
        struct sock_ev *evs = h->ev_head;
        h->ev_head = h->ev_tail = NULL;
        struct pub_ev *pubs = h->pub_head;
        h->pub_head = h->pub_tail = NULL;
        h->n_pub = 0;
        int stop = h->stop;
        struct tenant_router *list = h->list; /* the list only grows until the hub is freed */
        pthread_mutex_unlock(&h->mu);
        while (pubs) { /* first: consoles are waiting for these */
            struct pub_ev *p = pubs;
            pubs = p->next;
            struct sb_message m = {0};
            if (sb_store_message_get(h->e->opt.store, p->tenant, p->message, &m, NULL) == 0)
                sb__engine_publish_message(h->e, &m, p->seq);
            sb_message_cleanup(&m);
            free(p);
        }
        while (evs) {
            struct sock_ev *ev = evs;
            evs = ev->next;
            if (!stop)
                socket_event(h->e, ev);
            free(ev);
        }
        if (stop)
            break;
        int64_t now = sb_now_ms();
        for (struct tenant_router *tr = list; tr; tr = tr->next)
            expire_presence(h->e, tr, now);
    }
    return NULL;
}

void sb_engine_agent_socket(struct sb_engine *e, sb_id tenant, sb_id agent, int connected)
{
    struct sb__routing_hub *h = e ? e->routing : NULL;
    if (!h || agent <= 0 || tenant <= 0)
        return;
    struct sock_ev *ev = sb_calloc(1, sizeof(*ev));
    ev->tenant = tenant;
    ev->agent = agent;
    ev->connected = connected;
    pthread_mutex_lock(&h->mu);
    if (h->ev_tail)
        h->ev_tail->next = ev;
    else
        h->ev_head = ev;
    h->ev_tail = ev;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

int sb__routing_publish_later(struct sb_engine *e, sb_id tenant, sb_id message, int64_t seq)
{
    struct sb__routing_hub *h = e->routing;
    if (!h)
        return SB_EBUSY;
    struct pub_ev *p = sb_calloc(1, sizeof(*p));
    *p = (struct pub_ev){NULL, tenant, message, seq};
    pthread_mutex_lock(&h->mu);
    int rc = h->stop || h->n_pub >= PUBLISH_QUEUE_MAX ? SB_EBUSY : 0;
    if (!rc) {
        if (h->pub_tail)
            h->pub_tail->next = p;
        else
            h->pub_head = p;
        h->pub_tail = p;
        h->n_pub++;
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    if (rc)
        free(p);
    return rc;
}

struct sb__routing_hub *sb__routing_hub_new(struct sb_engine *e)
{
    struct sb__routing_hub *h = sb_calloc(1, sizeof(*h));
    h->e = e;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->ticker, NULL, ticker, h) != 0) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h);
        return NULL;
    }
    return h;
}

void sb__routing_hub_stop(struct sb__routing_hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    int joined = h->stop;
    h->stop = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (!joined)
        pthread_join(h->ticker, NULL);
}

void sb__routing_hub_free(struct sb__routing_hub *h)
{
    if (!h)
        return;
    sb__routing_hub_stop(h);
    while (h->pub_head) { /* cannot happen (refused once stopped), kept for safety */
        struct pub_ev *p = h->pub_head;
        h->pub_head = p->next;
        free(p);
    }
    while (h->ev_head) { /* queued after the ticker stopped */
        struct sock_ev *ev = h->ev_head;
        h->ev_head = ev->next;
        free(ev);
    }
    while (h->list) {
        struct tenant_router *tr = h->list;
        h->list = tr->next;
        sb_routing_free(tr->r);
        json_decref(tr->intent_groups);
        free(tr->conns);
        free(tr->folds);
        pthread_mutex_destroy(&tr->mu);
        free(tr);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

/* ---- operations for the API ---- */

json_t *sb_engine_routing_config_get(struct sb_engine *e, sb_id tenant)
{
    struct tenant_router *tr = tr_get(e, tenant, 0, NULL);
    if (!tr)
        return NULL;
    json_t *o = settings_json(tr);
    tr_unlock(tr);
    return o;
}

int sb_engine_routing_config_put(struct sb_engine *e, sb_id tenant, json_t *body, json_t **out,
                                 struct sb_error *err)
{
    if (!json_is_object(body))
        return sb_error_set(err, SB_EINVAL, "expected a JSON object of routing settings");
    struct tenant_router *tr = tr_get(e, tenant, 0, err);
    if (!tr)
        return err && err->code ? err->code : SB_EINTERNAL;
    json_t *o = json_deep_copy(body);
    json_t *groups = json_deep_copy(tr->intent_groups);
    int req_lang = tr->require_language, def_cap = tr->default_capacity;
    int64_t grace = tr->grace_ms;
    struct sb_routing_config cfg = *sb_routing_config(tr->r);
    int rc = take_extras(o, &groups, &req_lang, &def_cap, &grace, err);
    char *rest = rc ? NULL : json_dumps(o, JSON_COMPACT);
    if (!rc)
        rc = sb_routing_config_from_json(rest, strlen(rest), &cfg, err);
    if (!rc)
        rc = sb_routing_config_check(&cfg, err);
    json_t *saved = NULL;
    if (!rc) {
        /* store first, then switch: a failed write changes nothing */
        char *c = sb_routing_config_to_json(&cfg);
        saved = json_loads(c, 0, NULL);
        free(c);
        json_object_set(saved, "intent_groups", groups);
        json_object_set_new(saved, "require_language", json_boolean(req_lang));
        json_object_set_new(saved, "default_capacity", json_integer(def_cap));
        json_object_set_new(saved, "offline_grace_s", json_real((double)grace / 1000.0));
        char *text = json_dumps(saved, JSON_COMPACT);
        rc = sb_store_setting_put(e->opt.store, tenant, "routing", text, err);
        free(text);
    }
    if (!rc && (rc = sb_routing_set_config(tr->r, &cfg, err)) == 0) {
        json_decref(tr->intent_groups);
        tr->intent_groups = groups;
        groups = NULL;
        tr->require_language = req_lang;
        tr->default_capacity = def_cap;
        tr->grace_ms = grace;
    }
    tr_unlock(tr);
    free(rest);
    json_decref(o);
    json_decref(groups);
    if (!rc && out)
        *out = saved;
    else
        json_decref(saved);
    return rc;
}

static json_t *agent_json(const struct tenant_router *tr, const struct sb_agent *a,
                          const struct sb_agent_routing *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "agent_id", json_integer(a->id));
    json_object_set_new(o, "name", json_string(a->name));
    json_object_set_new(o, "email", json_string(a->email));
    json_object_set_new(o, "role", json_string(a->role));
    json_object_set_new(o, "skills", p ? sb_render_json_text(p->skills_json, json_array())
                                       : json_array());
    json_t *teams = json_array();
    for (size_t i = 0; p && i < p->n_teams; i++)
        json_array_append_new(teams, json_integer(p->teams[i]));
    json_object_set_new(o, "teams", teams);
    json_object_set_new(o, "chosen_presence", json_string(p ? p->presence : "offline"));
    struct sb_routing_agent_info info;
    if (sb_routing_agent_get(tr->r, a->id, &info) == 0) {
        json_object_set_new(o, "presence", json_string(sb_routing_presence_name(info.presence)));
        json_object_set_new(o, "capacity", json_integer(info.capacity));
        json_object_set_new(o, "load", json_integer(info.load));
    } else {
        json_object_set_new(o, "presence", json_string("offline"));
        json_object_set_new(o, "capacity", json_integer(p ? p->capacity : tr->default_capacity));
        json_object_set_new(o, "load", json_integer(0));
    }
    return o;
}

static int check_tag(const char *t, struct sb_error *err)
{
    size_t n = strlen(t);
    if (n == 0 || n >= SB_ROUTING_TAG_MAX)
        return sb_error_set(err, SB_EINVAL, "field 'skills': a skill has 1 to %d bytes",
                            SB_ROUTING_TAG_MAX - 1);
    for (const char *p = t; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return sb_error_set(err, SB_EINVAL, "field 'skills': a skill holds a control "
                                "character");
    return 0;
}

int sb_engine_agent_routing_put(struct sb_engine *e, sb_id tenant, sb_id agent,
                                const char *const *skills, size_t n_skills, const sb_id *teams,
                                size_t n_teams, int capacity, json_t **out, struct sb_error *err)
{
    if (skills && n_skills > SB_ROUTING_SKILLS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "field 'skills': at most %d skills",
                            SB_ROUTING_SKILLS_MAX);
    for (size_t i = 0; skills && i < n_skills; i++) {
        int rc = check_tag(skills[i], err);
        if (rc)
            return rc;
    }
    if (teams && n_teams > SB_STORE_AGENT_TEAMS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "field 'teams': at most %d teams",
                            SB_STORE_AGENT_TEAMS_MAX);
    if (capacity > SB_ROUTING_CAPACITY_MAX || capacity < -1)
        return sb_error_set(err, SB_EINVAL, "field 'capacity' must be from 0 to %d",
                            SB_ROUTING_CAPACITY_MAX);
    struct sb_agent a;
    int rc = sb_store_agent_get(e->opt.store, tenant, agent, &a, err);
    if (rc)
        return rc;
    struct tenant_router *tr = tr_get(e, tenant, 0, err);
    if (!tr)
        return err && err->code ? err->code : SB_EINTERNAL;
    struct sb_agent_routing p = {0};
    if (sb_store_agent_routing_get(e->opt.store, tenant, agent, &p, NULL)) {
        memset(&p, 0, sizeof(p));
        p.agent_id = agent;
        memcpy(p.presence, "offline", 8);
        p.capacity = tr->default_capacity;
        p.skills_json = sb_strdup("[]");
    }
    if (skills) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n_skills; i++)
            json_array_append_new(arr, json_string(skills[i]));
        free(p.skills_json);
        p.skills_json = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
    }
    if (teams) {
        memcpy(p.teams, teams, n_teams * sizeof(sb_id));
        p.n_teams = n_teams;
    }
    if (capacity >= 0)
        p.capacity = capacity;
    rc = sb_store_agent_routing_put(e->opt.store, tenant, &p, err);
    if (!rc) {
        int64_t now = sb_now_ms();
        struct sb_routing_agent_info info;
        enum sb_routing_presence pr = sb_routing_agent_get(tr->r, agent, &info) == 0
                                          ? info.presence
                                          : SB_ROUTING_OFFLINE;
        struct sb_routing_changes ch = {0};
        rc = upsert_agent(tr, agent, &p, pr, now, &ch, err);
        apply(e, tr, &ch, 0, 0, 0);
        sb_routing_changes_cleanup(&ch);
    }
    if (!rc && out)
        *out = agent_json(tr, &a, &p);
    tr_unlock(tr);
    sb_agent_routing_cleanup(&p);
    return rc;
}

int sb_engine_routing_agents(struct sb_engine *e, sb_id tenant, json_t **out,
                             struct sb_error *err)
{
    struct sb_agent *as = NULL;
    struct sb_agent_routing *ps = NULL;
    size_t na = 0, np = 0;
    int rc = sb_store_agent_list(e->opt.store, tenant, &as, &na, err);
    if (!rc)
        rc = sb_store_agent_routing_list(e->opt.store, tenant, &ps, &np, err);
    struct tenant_router *tr = rc ? NULL : tr_get(e, tenant, 0, err);
    if (!rc && !tr)
        rc = err && err->code ? err->code : SB_EINTERNAL;
    if (!rc) {
        json_t *arr = json_array();
        for (size_t i = 0; i < na; i++) {
            const struct sb_agent_routing *p = NULL;
            for (size_t j = 0; j < np && !p; j++)
                if (ps[j].agent_id == as[i].id)
                    p = &ps[j];
            json_array_append_new(arr, agent_json(tr, &as[i], p));
        }
        tr_unlock(tr);
        *out = arr;
    }
    sb_agent_list_free(as, na);
    sb_agent_routing_list_free(ps, np);
    return rc;
}

int sb_engine_agent_presence_put(struct sb_engine *e, sb_id tenant, sb_id agent,
                                 const char *presence, struct sb_error *err)
{
    int p = presence ? sb_routing_presence_parse(presence) : -1;
    if (p < 0)
        return sb_error_set(err, SB_EINVAL, "field 'presence' must be online, away or offline");
    struct tenant_router *tr = tr_get(e, tenant, 0, err);
    if (!tr)
        return err && err->code ? err->code : SB_EINTERNAL;
    struct sb_agent_routing r = {0};
    if (sb_store_agent_routing_get(e->opt.store, tenant, agent, &r, NULL)) {
        memset(&r, 0, sizeof(r));
        r.agent_id = agent;
        r.capacity = tr->default_capacity;
        r.skills_json = sb_strdup("[]");
    }
    snprintf(r.presence, sizeof(r.presence), "%s", sb_routing_presence_name(p));
    int rc = sb_store_agent_routing_put(e->opt.store, tenant, &r, err);
    sb_agent_routing_cleanup(&r);
    if (!rc) {
        int64_t now = sb_now_ms();
        set_presence(e, tr, agent, (enum sb_routing_presence)p, now);
        struct agent_conn *c = conn_of(tr, agent);
        c->offline_at = 0; /* an explicit choice overrides a pending timeout */
    }
    tr_unlock(tr);
    return rc;
}

static json_t *priority_json(const struct sb_routing_priority *p)
{
    return json_pack("{s:f, s:f, s:f, s:I, s:{s:f, s:f, s:f, s:f, s:f}}", "total", p->total,
                     "fixed", p->fixed, "waiting", p->waiting, "waited_s",
                     (json_int_t)(p->waited_ms / 1000), "terms", "vip", p->vip, "ltv", p->ltv,
                     "complaint", p->complaint, "negative_trend", p->negative, "repeat_contact",
                     p->repeat);
}

/* A queue entry: the conversation as the console lists it, with priority and the stored
 * explanation. */
static json_t *queue_item(struct sb_engine *e, sb_id tenant, sb_id id,
                          const struct sb_routing_priority *p, int64_t enqueue_ms)
{
    struct sb_conversation c = {0};
    json_t *o;
    if (sb_store_conversation_get(e->opt.store, tenant, id, &c, NULL) == 0) {
        o = sb_render_conversation(&c); /* "routing" holds the last explanation */
        sb_conversation_cleanup(&c);
    } else {
        o = json_pack("{s:I}", "id", (json_int_t)id);
    }
    json_object_set_new(o, "queued_at", json_integer(enqueue_ms));
    json_object_set_new(o, "routing_priority", priority_json(p));
    return o;
}

int sb_engine_queue(struct sb_engine *e, sb_id tenant, sb_id agent, size_t offset, size_t limit,
                    json_t **out, struct sb_error *err)
{
    if (limit < 1 || limit > 200)
        return sb_error_set(err, SB_EINVAL, "limit must be from 1 to 200");
    struct tenant_router *tr = tr_get(e, tenant, 0, err);
    if (!tr)
        return err && err->code ? err->code : SB_EINTERNAL;
    int64_t now = sb_now_ms();
    struct sb_routing_queued *q = NULL;
    size_t n = 0;
    sb_routing_queue_list(tr->r, agent, now, offset, limit, &q, &n);
    struct sb_routing_stats st;
    sb_routing_stats(tr->r, now, &st);
    size_t held = 0;
    sb_id *mine = NULL;
    struct sb_routing_conv_info *mine_info = NULL;
    if (agent > 0) {
        held = sb_routing_agent_conversations(tr->r, agent, NULL, 0);
        mine = sb_calloc(held ? held : 1, sizeof(*mine));
        held = sb_routing_agent_conversations(tr->r, agent, mine, held);
        mine_info = sb_calloc(held ? held : 1, sizeof(*mine_info));
        for (size_t i = 0; i < held; i++)
            sb_routing_conv_get(tr->r, mine[i], now, &mine_info[i]);
    }
    tr_unlock(tr);
    /* store reads outside the router's lock */
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, queue_item(e, tenant, q[i].id, &q[i].priority,
                                                q[i].enqueue_ms));
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:o}", "waiting", (json_int_t)st.waiting,
                          "longest_wait_s", (json_int_t)(st.longest_wait_ms / 1000), "offset",
                          (json_int_t)offset, "limit", (json_int_t)limit, "items", items);
    if (agent > 0) {
        json_t *m = json_array();
        for (size_t i = 0; i < held; i++)
            json_array_append_new(m, queue_item(e, tenant, mine[i], &mine_info[i].priority,
                                                mine_info[i].enqueue_ms));
        json_object_set_new(o, "mine", m);
    }
    free(q);
    free(mine);
    free(mine_info);
    *out = o;
    return 0;
}

static int conversation_out(struct sb_engine *e, sb_id tenant, sb_id conv, json_t **out)
{
    if (!out)
        return 0;
    struct sb_conversation c = {0};
    int rc = sb_store_conversation_get(e->opt.store, tenant, conv, &c, NULL);
    if (rc)
        return rc;
    *out = sb_render_conversation(&c);
    sb_conversation_cleanup(&c);
    return 0;
}

/* The router's state for `conv` after syncing with the store; SB_ESTATE when it is not with
 * people (bot or resolved). Locked. */
static int with_people(struct sb_engine *e, struct tenant_router *tr, sb_id conv, int64_t now,
                       struct sb_routing_conv_info *info, struct sb_error *err)
{
    struct sb_conversation c = {0};
    int rc = sb_store_conversation_get(e->opt.store, tr->tenant, conv, &c, err);
    if (rc)
        return rc;
    int people = !strcmp(c.status, SB_CONV_QUEUED) || !strcmp(c.status, SB_CONV_ASSIGNED);
    sb_conversation_cleanup(&c);
    if (!people)
        return sb_error_set(err, SB_ESTATE, "conversation %lld is not with people (status is "
                            "bot or resolved)", (long long)conv);
    sync_locked(e, tr, conv, now);
    if (sb_routing_conv_get(tr->r, conv, now, info))
        return sb_error_set(err, SB_ESTATE, "conversation %lld is not in routing",
                            (long long)conv);
    return 0;
}

int sb_engine_transfer(struct sb_engine *e, sb_id tenant, sb_id conversation, sb_id agent,
                       sb_id team, int force, json_t **out, struct sb_error *err)
{
    if (agent > 0) {
        struct sb_agent a;
        if (sb_store_agent_get(e->opt.store, tenant, agent, &a, NULL))
            return sb_error_set(err, SB_ENOTFOUND, "field 'agent': no such agent");
    } else if (team > 0) {
        struct sb_team *ts = NULL;
        size_t n = 0, found = 0;
        int rc = sb_store_team_list(e->opt.store, tenant, &ts, &n, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++)
            found |= ts[i].id == team;
        sb_team_list_free(ts, n);
        if (!found)
            return sb_error_set(err, SB_ENOTFOUND, "field 'team': no such team");
    }
    struct tenant_router *tr = tr_get(e, tenant, 0, err);
    if (!tr)
        return err && err->code ? err->code : SB_EINTERNAL;
    int64_t now = sb_now_ms();
    struct sb_routing_conv_info info;
    struct sb_routing_changes ch = {0};
    int rc = with_people(e, tr, conversation, now, &info, err);
    if (!rc && agent > 0) {
        ensure_agent(e, tr, agent, now, &ch);
        rc = sb_routing_transfer_to_agent(tr->r, conversation, agent, force, now, &ch, err);
        if (rc == SB_ESTATE)
            sb_error_set(err, rc, "agent %lld is offline", (long long)agent);
        else if (rc == SB_EBUSY)
            sb_error_set(err, rc, "agent %lld is at capacity (send \"force\": true to transfer "
                         "anyway)", (long long)agent);
    } else if (!rc) {
        rc = sb_routing_transfer_to_team(tr->r, conversation, team, now, &ch, err);
        if (!rc) {
            /* the team is part of the conversation's routing from now on */
            struct sb_conversation_update u = {.set_team = 1, .team_id = team};
            sb__engine_update_raw(e, tenant, conversation, &u, NULL, NULL);
        }
    }
    if (!rc)
        apply(e, tr, &ch, 0, 0, 0);
    sb_routing_changes_cleanup(&ch);
    tr_unlock(tr);
    return rc ? rc : conversation_out(e, tenant, conversation, out);
}

int sb_engine_requeue(struct sb_engine *e, sb_id tenant, sb_id conversation, json_t **out,
                      struct sb_error *err)
{
    struct tenant_router *tr = tr_get(e, tenant, 0, err);
    if (!tr)
        return err && err->code ? err->code : SB_EINTERNAL;
    int64_t now = sb_now_ms();
    struct sb_routing_conv_info info;
    struct sb_routing_changes ch = {0};
    int rc = with_people(e, tr, conversation, now, &info, err);
    if (!rc && !info.agent)
        rc = sb_error_set(err, SB_ESTATE, "conversation %lld is already waiting",
                          (long long)conversation);
    if (!rc && (rc = sb_routing_requeue(tr->r, conversation, now, &ch)) == 0)
        apply(e, tr, &ch, 0, 0, 0);
    sb_routing_changes_cleanup(&ch);
    tr_unlock(tr);
    return rc ? rc : conversation_out(e, tenant, conversation, out);
}

int sb_engine_routing_explain(struct sb_engine *e, sb_id tenant, sb_id conversation,
                              json_t **out, struct sb_error *err)
{
    struct sb_conversation c = {0};
    int rc = sb_store_conversation_get(e->opt.store, tenant, conversation, &c, err);
    if (rc)
        return rc;
    json_t *o = json_object();
    json_object_set_new(o, "conversation", json_integer(conversation));
    json_object_set_new(o, "status", json_string(c.status));
    json_object_set_new(o, "assignee_id", c.assignee_id ? json_integer(c.assignee_id)
                                                        : json_null());
    json_object_set_new(o, "team_id", c.team_id ? json_integer(c.team_id) : json_null());
    json_object_set_new(o, "queued_at", c.queued_ms ? json_integer(c.queued_ms) : json_null());
    json_object_set_new(o, "last_decision", sb_render_json_text(c.routing_json, json_object()));
    sb_conversation_cleanup(&c);
    struct tenant_router *tr = tr_get(e, tenant, 0, NULL);
    json_t *now_j = json_null(), *prio = json_null();
    if (tr) {
        int64_t now = sb_now_ms();
        struct sb_routing_conv_info info;
        if (sb_routing_conv_get(tr->r, conversation, now, &info) == 0) {
            prio = priority_json(&info.priority);
            if (!info.agent) {
                struct sb_routing_explain x;
                sb_id best = 0;
                if (sb_routing_best_agent(tr->r, conversation, now, &best, &x) == 0) {
                    char *j = sb_routing_explain_json(tr->r, &x);
                    json_decref(now_j);
                    now_j = sb_render_json_text(j, json_null());
                    free(j);
                }
            }
        }
        tr_unlock(tr);
    }
    json_object_set_new(o, "priority", prio);
    json_object_set_new(o, "if_offered_now", now_j);
    *out = o;
    return 0;
}

void sb_engine_routing_stats(struct sb_engine *e, sb_id tenant, struct sb_routing_stats *out)
{
    memset(out, 0, sizeof(*out));
    struct tenant_router *tr = tr_get(e, tenant, 0, NULL);
    if (!tr)
        return;
    sb_routing_stats(tr->r, sb_now_ms(), out);
    tr_unlock(tr);
}
