/* SPDX-License-Identifier: MIT */
/*
 * Live events over WebSocket. /ws/widget?token=VISITOR_TOKEN&since=SEQ for customers (Origin
 * allow-list), /ws/agent?token=SESSION_OR_KEY&since=SEQ for agents. A new socket is
 * authenticated on a worker (token checks may read the store); the same job loads the events
 * after `since` from the store so a client that reconnects misses nothing, and a ring of
 * recent events covers the moment between that query and the socket going live. Clients
 * de-duplicate by `seq`. Messages larger than max_ws_message_bytes close the socket with 1009.
 */
#include "http_internal.h"

#include "sb/engine_routing.h"
#include "sb/json.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define RING_SIZE 4096
#define MAX_QUEUED_PER_CLIENT 2048
#define RESUME_MAX 2000

enum ws_kind { WS_WIDGET = 1, WS_AGENT = 2 };

struct out_msg {
    struct out_msg *next;
    size_t len;
    char data[]; /* LWS_PRE bytes of headroom, then the text */
};

struct ws_client {
    atomic_int refs;
    struct ws_client *next, *prev; /* live list (loop thread) */
    struct lws *wsi;               /* NULL once closed */
    struct sb_server *srv;
    enum ws_kind kind;
    int live;
    int close_code; /* non-zero: close with this code at the next writable */
    struct sb_principal who;
    sb_id contact_id; /* widgets: the visitor's contact (0 until their first message) */
    int64_t since; /* events with seq <= since are not sent (the client has them) */
    struct out_msg *out_head, *out_tail;
    size_t out_count;
    char *rx;
    size_t rx_len;
    char *token; /* until authenticated */
};

struct ws_conn {
    int is_ws;
    struct ws_client *cl;
};
_Static_assert(sizeof(struct ws_conn) <= SB_CONN_PSS_BYTES, "per-session data too small");

/* An event waiting for the loop, and the loop's ring of recent ones. */
struct pending_event {
    struct pending_event *next;
    sb_id tenant_id, contact_id;
    int64_t seq;
    int agents_only;
    char json[];
};

struct ring {
    struct pending_event *ev[RING_SIZE];
    size_t next;
};

/* A finished authentication + resume job, handed back to the loop. */
struct ws_job_result {
    struct ws_job_result *next;
    struct ws_client *cl;
    int rc;
    struct sb_principal who;
    sb_id contact_id;
    char **events; /* rendered, oldest first */
    int64_t *seqs;
    size_t n;
};

static struct ring *ring_of(struct sb_server *s)
{
    static struct ring *rings; /* one server per process */
    (void)s;
    if (!rings)
        rings = sb_calloc(1, sizeof(*rings));
    return rings;
}

static void client_unref(struct ws_client *cl)
{
    if (atomic_fetch_sub(&cl->refs, 1) != 1)
        return;
    while (cl->out_head) {
        struct out_msg *m = cl->out_head;
        cl->out_head = m->next;
        free(m);
    }
    free(cl->rx);
    free(cl->token);
    free(cl);
}

static void queue_text(struct ws_client *cl, const char *text, size_t len)
{
    if (!cl->wsi || cl->close_code)
        return;
    if (cl->out_count >= MAX_QUEUED_PER_CLIENT) {
        cl->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION; /* a reader this slow is gone */
        lws_callback_on_writable(cl->wsi);
        return;
    }
    struct out_msg *m = sb_malloc(sizeof(*m) + LWS_PRE + len);
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, text, len);
    if (cl->out_tail)
        cl->out_tail->next = m;
    else
        cl->out_head = m;
    cl->out_tail = m;
    cl->out_count++;
    lws_callback_on_writable(cl->wsi);
}

static int wants(const struct ws_client *cl, const struct pending_event *ev)
{
    if (cl->who.tenant_id != ev->tenant_id)
        return 0;
    if (cl->kind == WS_AGENT)
        return 1;
    return !ev->agents_only && cl->contact_id && cl->contact_id == ev->contact_id;
}

/* A visitor's first message creates their contact; the API tells the loop which contact a
 * visitor is so that their open sockets start receiving events. */
struct ws_bind {
    struct ws_bind *next;
    sb_id tenant_id, inbox_id, contact_id;
    char visitor[64];
};

void sb__ws_bind_visitor(struct sb_server *s, const struct sb_principal *who, sb_id contact_id)
{
    struct ws_bind *b = sb_calloc(1, sizeof(*b));
    b->tenant_id = who->tenant_id;
    b->inbox_id = who->inbox_id;
    b->contact_id = contact_id;
    memcpy(b->visitor, who->visitor, sizeof(b->visitor));
    pthread_mutex_lock(&s->mu);
    b->next = s->bind_head;
    s->bind_head = b;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
}

static void apply_binds(struct sb_server *s, struct ws_bind *b)
{
    while (b) {
        struct ws_bind *next = b->next;
        for (struct ws_client *cl = s->clients; cl; cl = cl->next)
            if (cl->kind == WS_WIDGET && !cl->contact_id && cl->who.tenant_id == b->tenant_id &&
                cl->who.inbox_id == b->inbox_id && !strcmp(cl->who.visitor, b->visitor))
                cl->contact_id = b->contact_id;
        free(b);
        b = next;
    }
}

static void deliver(struct ws_client *cl, const struct pending_event *ev)
{
    if (ev->seq <= cl->since)
        return;
    atomic_fetch_add(&cl->srv->events_sent, 1);
    queue_text(cl, ev->json, strlen(ev->json));
}

void sb__ws_publish(struct sb_server *s, const struct sb_engine_event *ev)
{
    size_t len = strlen(ev->json);
    struct pending_event *p = sb_malloc(sizeof(*p) + len + 1);
    p->next = NULL;
    p->tenant_id = ev->tenant_id;
    p->contact_id = ev->contact_id;
    p->seq = ev->seq;
    p->agents_only = ev->agents_only;
    memcpy(p->json, ev->json, len + 1);
    pthread_mutex_lock(&s->mu);
    if (s->ev_tail)
        s->ev_tail->next = p;
    else
        s->ev_head = p;
    s->ev_tail = p;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
}

/* With no socket open or opening, an event reaches no one and is not rendered. Its seq is
 * remembered so that a socket opening later starts after it, as if it had been delivered;
 * the socket counts itself before reading the seq, so an event is either counted here or
 * already in the store when the socket's resume job reads the log. */
int sb__ws_audience(struct sb_server *s, int64_t seq)
{
    if (atomic_load(&s->ws_sockets) > 0)
        return 1;
    int64_t seen = atomic_load(&s->unheard_seq);
    while (seq > seen && !atomic_compare_exchange_weak(&s->unheard_seq, &seen, seq))
        ;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void go_live(struct sb_server *s, struct ws_job_result *res)
{
    struct ws_client *cl = res->cl;
    if (!cl->wsi)
        return;
    if (res->rc) {
        cl->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
        lws_callback_on_writable(cl->wsi);
        return;
    }
    cl->who = res->who;
    cl->contact_id = res->contact_id;
    int64_t newest = cl->since;
    for (size_t i = 0; i < res->n; i++) {
        queue_text(cl, res->events[i], strlen(res->events[i]));
        if (res->seqs[i] > newest)
            newest = res->seqs[i];
    }
    /* Events published while the job ran are in the ring; skip those the job loaded. */
    struct ring *rg = ring_of(s);
    for (size_t k = 0; k < RING_SIZE; k++) {
        struct pending_event *ev = rg->ev[(rg->next + k) % RING_SIZE];
        if (!ev || !wants(cl, ev) ||
            (ev->seq <= newest && res->n &&
             bsearch(&ev->seq, res->seqs, res->n, sizeof(int64_t), cmp_i64)))
            continue;
        deliver(cl, ev);
    }
    cl->live = 1;
    cl->next = s->clients;
    cl->prev = NULL;
    if (s->clients)
        s->clients->prev = cl;
    s->clients = cl;
    atomic_fetch_add(&s->ws_open, 1);
    if (cl->kind == WS_AGENT && cl->who.agent_id) /* presence: an open console is online */
        sb_engine_agent_socket(s->engine, cl->who.tenant_id, cl->who.agent_id, 1);
    char hello[160];
    int n = snprintf(hello, sizeof(hello), "{\"type\":\"ready\",\"seq\":%lld}",
                     (long long)newest);
    queue_text(cl, hello, (size_t)n);
}

void sb__ws_loop_drain(struct sb_server *s)
{
    pthread_mutex_lock(&s->mu);
    struct pending_event *evs = s->ev_head;
    s->ev_head = s->ev_tail = NULL;
    struct ws_job_result *res = s->wsr_head;
    s->wsr_head = NULL;
    struct ws_bind *binds = s->bind_head;
    s->bind_head = NULL;
    pthread_mutex_unlock(&s->mu);
    apply_binds(s, binds);

    struct ring *rg = ring_of(s);
    while (evs) {
        struct pending_event *ev = evs;
        evs = ev->next;
        for (struct ws_client *cl = s->clients; cl; cl = cl->next)
            if (wants(cl, ev))
                deliver(cl, ev);
        if (ev->seq > s->newest_seq)
            s->newest_seq = ev->seq;
        free(rg->ev[rg->next]);
        rg->ev[rg->next] = ev;
        rg->next = (rg->next + 1) % RING_SIZE;
    }
    while (res) {
        struct ws_job_result *r = res;
        res = r->next;
        go_live(s, r);
        for (size_t i = 0; i < r->n; i++)
            free(r->events[i]);
        free(r->events);
        free(r->seqs);
        client_unref(r->cl);
        free(r);
    }
}

/* ---- the worker job: authenticate, find the visitor's contact, load missed events ---- */

static void add_event(struct ws_job_result *res, size_t *cap, char *json, int64_t seq)
{
    if (res->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        res->events = sb_realloc(res->events, *cap * sizeof(char *));
        res->seqs = sb_realloc(res->seqs, *cap * sizeof(int64_t));
    }
    res->events[res->n] = json;
    res->seqs[res->n] = seq;
    res->n++;
}

static void load_events(struct sb_server *s, struct ws_job_result *res, sb_id conversation,
                        int64_t since, int for_agent, size_t *cap)
{
    struct sb_event *evs = NULL;
    size_t n = 0;
    if (sb_store_event_list(s->store, res->who.tenant_id, conversation, since, RESUME_MAX, &evs,
                            &n, NULL))
        return;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(evs[i].type, "message.annotated"))
            continue;
        int agents_only = 0;
        char *json = sb_engine_render_event(s->engine, &evs[i], NULL, &agents_only);
        if (json && agents_only && !for_agent)
            free(json);
        else if (json)
            add_event(res, cap, json, evs[i].seq);
    }
    sb_event_list_free(evs, n);
}

static int cmp_seq(const void *a, const void *b, void *arg)
{
    const int64_t *seqs = arg;
    int64_t x = seqs[*(const size_t *)a], y = seqs[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

static void sort_by_seq(struct ws_job_result *res)
{
    if (res->n < 2)
        return;
    size_t *idx = sb_malloc(res->n * sizeof(size_t));
    for (size_t i = 0; i < res->n; i++)
        idx[i] = i;
    qsort_r(idx, res->n, sizeof(size_t), cmp_seq, res->seqs);
    char **ev = sb_malloc(res->n * sizeof(char *));
    int64_t *sq = sb_malloc(res->n * sizeof(int64_t));
    for (size_t i = 0; i < res->n; i++) {
        ev[i] = res->events[idx[i]];
        sq[i] = res->seqs[idx[i]];
    }
    free(res->events);
    free(res->seqs);
    free(idx);
    res->events = ev;
    res->seqs = sq;
}

static void auth_job(void *arg)
{
    struct ws_job_result *res = arg;
    struct ws_client *cl = res->cl;
    struct sb_server *s = cl->srv;
    struct sb_error err = {0};
    if (cl->kind == WS_WIDGET)
        res->rc = sb__visitor_token_check(s, cl->token, &res->who);
    else
        res->rc = sb__auth_bearer(s, cl->token, &res->who, &err);
    size_t cap = 0;
    if (res->rc == 0 && cl->kind == WS_WIDGET) {
        struct sb_contact c = {0};
        if (sb_store_contact_find(s->store, res->who.tenant_id, res->who.inbox_id,
                                  res->who.visitor, &c, NULL) == 0) {
            res->contact_id = c.id;
            sb_contact_cleanup(&c);
            if (cl->since > 0) {
                struct sb_conversation_filter f = {.contact_id = res->contact_id, .limit = 20};
                struct sb_conversation *cs = NULL;
                size_t n = 0;
                if (sb_store_conversation_list(s->store, res->who.tenant_id, &f, &cs, &n,
                                               NULL) == 0) {
                    for (size_t i = 0; i < n; i++)
                        load_events(s, res, cs[i].id, cl->since, 0, &cap);
                    sb_conversation_list_free(cs, n);
                }
            }
        }
    } else if (res->rc == 0 && cl->since > 0) {
        load_events(s, res, 0, cl->since, 1, &cap);
    }
    sort_by_seq(res);
    pthread_mutex_lock(&s->mu);
    res->next = s->wsr_head;
    s->wsr_head = res;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
}

/* ---- libwebsockets callbacks (loop thread) ---- */

static int origin_allowed(struct sb_server *s, struct lws *wsi)
{
    char origin[256] = "", host[256] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) >= (int)sizeof(origin))
        return 0;
    lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
    if (!origin[0])
        return 1; /* not a browser: the token is the only credential that matters */
    const char *list = sb_config_str(s->cfg, "widget_origins");
    if (list[0]) {
        size_t ol = strlen(origin);
        for (const char *p = list; *p;) {
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, " ");
            if (n == ol && !strncmp(p, origin, n))
                return 1;
            if (n == 1 && *p == '*')
                return 1;
            p += n;
        }
        return 0;
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) < (int)sizeof(host))
        lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST);
    const char *o = strstr(origin, "://");
    return o && host[0] && !strcmp(o + 3, host);
}

static char *query_param(struct lws *wsi, const char *name)
{
    char frag[700];
    size_t nl = strlen(name);
    for (int i = 0; i < 16; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        if (!strncmp(frag, name, nl) && frag[nl] == '=')
            return sb_strdup(frag + nl + 1);
    }
    return NULL;
}

static int on_filter(struct sb_server *s, struct lws *wsi, struct ws_conn *c)
{
    char uri[128] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) < (int)sizeof(uri))
        lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    enum ws_kind kind = !strcmp(uri, "/ws/widget") ? WS_WIDGET
                        : !strcmp(uri, "/ws/agent") ? WS_AGENT
                                                    : 0;
    if (!kind || atomic_load(&s->stopping) || s->draining)
        return 1;
    if (kind == WS_WIDGET && !origin_allowed(s, wsi))
        return 1;
    char *token = query_param(wsi, "token");
    if (!token)
        return 1;
    struct ws_client *cl = sb_calloc(1, sizeof(*cl));
    atomic_init(&cl->refs, 1);
    cl->srv = s;
    cl->kind = kind;
    cl->token = token;
    char *since = query_param(wsi, "since");
    cl->since = since ? strtoll(since, NULL, 10) : 0;
    if (cl->since < 0)
        cl->since = 0;
    free(since);
    /* libwebsockets may give the connection fresh per-session memory when it binds the
     * WebSocket protocol, so the client waits on a list until ESTABLISHED claims it. */
    cl->wsi = wsi;
    cl->next = s->ws_pending;
    s->ws_pending = cl;
    (void)c;
    return 0;
}

static struct ws_client *claim_pending(struct sb_server *s, struct lws *wsi)
{
    for (struct ws_client **link = &s->ws_pending; *link; link = &(*link)->next) {
        struct ws_client *cl = *link;
        if (cl->wsi == wsi) {
            *link = cl->next;
            cl->next = NULL;
            return cl;
        }
    }
    return NULL;
}

/* Collision indicator: an agent's {"type": "viewing"|"typing"|"left", "conversation": ID}
 * goes at once to the tenant's other agents as {"type": "agent.activity", ...}. It is not
 * stored and has no seq; the console lets it expire after expires_ms unless it is repeated. */
#define ACTIVITY_EXPIRES_MS 8000
static void relay_activity(struct sb_server *s, struct ws_client *from, const char *type,
                           json_t *conv)
{
    if (!json_is_integer(conv) || json_integer_value(conv) < 0)
        return;
    char msg[200];
    int n = snprintf(msg, sizeof(msg),
                     "{\"type\":\"agent.activity\",\"activity\":\"%s\",\"conversation\":%lld,"
                     "\"agent_id\":%lld,\"expires_ms\":%d}",
                     type, (long long)json_integer_value(conv), (long long)from->who.agent_id,
                     ACTIVITY_EXPIRES_MS);
    for (struct ws_client *cl = s->clients; cl; cl = cl->next)
        if (cl->kind == WS_AGENT && cl->who.tenant_id == from->who.tenant_id &&
            cl->who.agent_id != from->who.agent_id)
            queue_text(cl, msg, (size_t)n);
}

static int on_receive(struct sb_server *s, struct lws *wsi, struct ws_client *cl, const void *in,
                      size_t len)
{
    size_t max = (size_t)sb_config_int(s->cfg, "max_ws_message_bytes");
    if (cl->rx_len + len > max) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         (unsigned char *)"message too large", 17);
        return -1;
    }
    cl->rx = sb_realloc(cl->rx, cl->rx_len + len + 1);
    if (len)
        memcpy(cl->rx + cl->rx_len, in, len);
    cl->rx_len += len;
    cl->rx[cl->rx_len] = '\0';
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    json_t *msg = NULL;
    sb_json_parse(cl->rx, cl->rx_len, max, (int)sb_config_int(s->cfg, "max_json_depth"), &msg,
                  NULL);
    cl->rx_len = 0;
    const char *type = msg ? json_string_value(json_object_get(msg, "type")) : NULL;
    if (type && !strcmp(type, "ping"))
        queue_text(cl, "{\"type\":\"pong\"}", 15);
    else if (type && cl->kind == WS_AGENT && cl->who.agent_id &&
             (!strcmp(type, "viewing") || !strcmp(type, "typing") || !strcmp(type, "left")))
        relay_activity(s, cl, type, json_object_get(msg, "conversation"));
    json_decref(msg);
    return 0;
}

int sb__ws_callback(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
    struct sb_server *s = lws_context_user(lws_get_context(wsi));
    struct ws_conn *c = user;
    struct ws_client *cl = c ? c->cl : NULL;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_filter(s, wsi, c);
    case LWS_CALLBACK_ESTABLISHED: {
        cl = claim_pending(s, wsi);
        if (!cl)
            return -1;
        c->is_ws = 1;
        c->cl = cl;
        atomic_fetch_add(&s->ws_sockets, 1); /* before the seq is read: sb__ws_audience */
        if (cl->since == 0) { /* a fresh client gets what happens from now on */
            int64_t unheard = atomic_load(&s->unheard_seq);
            cl->since = s->newest_seq > unheard ? s->newest_seq : unheard;
        }
        struct ws_job_result *job = sb_calloc(1, sizeof(*job));
        job->cl = cl;
        atomic_fetch_add(&cl->refs, 1); /* the job's reference */
        if (sb_pool_submit(s->pool, auth_job, job) != 0) {
            client_unref(cl);
            free(job);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (!cl || !cl->live)
            return 0; /* nothing is accepted before authentication */
        return on_receive(s, wsi, cl, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!cl)
            return -1;
        if (cl->close_code) {
            /* lws 4.1 sends no close frame when a callback returns -1 on its own initiative,
             * so the frame carrying the code is written here first. 4 is LWS_WRITE_CLOSE,
             * which the public header hides but the ABI keeps. */
            unsigned char frame[LWS_PRE + 2];
            frame[LWS_PRE] = (unsigned char)(cl->close_code >> 8);
            frame[LWS_PRE + 1] = (unsigned char)(cl->close_code & 0xff);
            lws_write(wsi, frame + LWS_PRE, 2, (enum lws_write_protocol)4);
            return -1;
        }
        struct out_msg *m = cl->out_head;
        if (!m)
            return 0;
        if (lws_write(wsi, (unsigned char *)m->data + LWS_PRE, m->len, LWS_WRITE_TEXT) <
            (int)m->len)
            return -1;
        cl->out_head = m->next;
        if (!cl->out_head)
            cl->out_tail = NULL;
        cl->out_count--;
        free(m);
        if (cl->out_head)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (!cl) {
            cl = claim_pending(s, wsi); /* closed before it was established */
            if (cl)
                client_unref(cl);
            return 0;
        }
        if (cl->live) {
            if (cl->prev)
                cl->prev->next = cl->next;
            else
                s->clients = cl->next;
            if (cl->next)
                cl->next->prev = cl->prev;
            atomic_fetch_sub(&s->ws_open, 1);
            if (cl->kind == WS_AGENT && cl->who.agent_id)
                sb_engine_agent_socket(s->engine, cl->who.tenant_id, cl->who.agent_id, 0);
        }
        atomic_fetch_sub(&s->ws_sockets, 1);
        cl->wsi = NULL;
        c->cl = NULL;
        client_unref(cl);
        return 0;
    default:
        return 0;
    }
}

void sb__ws_free_all(struct sb_server *s)
{
    struct ring *rg = ring_of(s);
    for (size_t i = 0; i < RING_SIZE; i++) {
        free(rg->ev[i]);
        rg->ev[i] = NULL;
    }
    while (s->ev_head) {
        struct pending_event *e = s->ev_head;
        s->ev_head = e->next;
        free(e);
    }
    apply_binds(s, s->bind_head);
    s->bind_head = NULL;
    while (s->ws_pending) {
        struct ws_client *cl = s->ws_pending;
        s->ws_pending = cl->next;
        client_unref(cl);
    }
}
