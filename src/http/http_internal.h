/* SPDX-License-Identifier: MIT */
/*
 * Shared between the HTTP files: the request object that travels from the network loop to a
 * worker and back, the principal a request is authenticated as, and the helpers handlers use
 * to answer. Ownership: a request is reference-counted; the loop holds one reference while
 * the connection lives, a worker or engine callback holds another until it has responded.
 */
#ifndef SB_HTTP_INTERNAL_H
#define SB_HTTP_INTERNAL_H

#include "sb/config.h"
#include "sb/engine.h"
#include "sb/server.h"

#include <jansson.h>
#include <stdatomic.h>
#include <uv.h>

enum sb_method { SB_GET = 1, SB_POST, SB_PUT, SB_PATCH, SB_DELETE, SB_OPTIONS };

enum sb_auth_kind {
    SB_AUTH_NONE = 0,  /* public */
    SB_AUTH_VISITOR,   /* a widget visitor token */
    SB_AUTH_AGENT,     /* an agent session or an API key, any role */
    SB_AUTH_ADMIN,     /* an admin session or admin API key */
    SB_AUTH_SUPERVISOR, /* a supervisor or admin session or API key */
};

struct sb_principal {
    sb_id tenant_id;
    sb_id agent_id;   /* 0 for API keys and visitors */
    sb_id key_id;     /* the API key, 0 otherwise */
    char role[16];    /* admin | supervisor | agent | visitor */
    sb_id inbox_id;   /* visitors: their widget inbox */
    char visitor[64]; /* visitors: their id */
};

struct sb_http_req {
    atomic_int refs;
    atomic_int responded;
    struct sb_server *srv;
    struct lws *wsi; /* loop thread only; NULL once the connection closed */
    enum sb_method method;
    char path[512];
    char query[1024];
    char authorization[600];
    char content_type[128];
    char origin[256];
    char ip[64];
    char *body;
    size_t body_len;
    int body_too_big;
    struct sb_principal who;
    char key[256]; /* a "{key}" path segment (URL-decoded), e.g. a knowledge-base entry id */
    /* response, written once by whoever responds */
    int status;
    char *resp;
    size_t resp_len;
    size_t resp_sent;
    int headers_sent;
    const char *resp_type;
    char resp_headers[256]; /* extra "Name: value\r\n" lines */
    /* wait_reply: the loop answers with what it has once the deadline passes */
    int64_t wait_deadline_ns;
    char *pending; /* JSON text of the response so far (ids), completed by the reply */
    struct sb_http_req *next_done; /* in the server's done queue */
    struct sb_http_req *next_wait; /* in the arm / waiting lists (a request can be in both) */
};

struct sb_server {
    struct sb_server_options opt;
    const struct sb_config *cfg;
    struct sb_store *store;
    struct sb_pool *pool;
    struct sb_engine *engine;
    struct lws_context *lws;
    struct lws_vhost *vhost;
    uv_loop_t loop;
    uv_async_t wake;
    uv_signal_t sigterm, sigint;
    uv_timer_t tick, drain;
    int draining;
    int destroying; /* lws_context_destroy has been called once (from the loop) */
    int64_t drain_deadline_ns;
    atomic_int inflight; /* requests accepted and not yet answered */
    int port;
    atomic_int stopping;
    pthread_mutex_t mu; /* guards the queues below */
    struct sb_http_req *done_head, *done_tail;
    struct sb_http_req *arm_head; /* requests that start waiting for a bot reply */
    struct pending_event *ev_head, *ev_tail;
    struct sb_http_req *waiting; /* loop thread only */
    struct ws_client *clients;   /* loop thread only */
    struct ws_client *ws_pending; /* loop thread only: filtered, not yet established */
    int64_t newest_seq;          /* loop thread only: highest event seq seen */
    atomic_int ws_sockets;       /* established WebSockets, live or still authenticating */
    _Atomic int64_t unheard_seq; /* highest seq left unpublished while ws_sockets was 0 */
    struct ws_job_result *wsr_head; /* finished WebSocket auth/resume jobs */
    struct ws_bind *bind_head;      /* visitors whose contact became known */
    struct ratelimit *rl_key, *rl_ip;
    atomic_uint_fast64_t requests, responses_4xx, responses_5xx, ws_open, events_sent,
        rate_limited;
    unsigned char secret[32];
};

/* Request lifetime. */
void sb__http_req_ref(struct sb_http_req *r);
void sb__http_req_unref(struct sb_http_req *r);

/* Answers the request (any thread; only the first answer counts). Takes ownership of `body`
 * (malloc'd). */
void sb__http_respond(struct sb_http_req *r, int status, const char *type, char *body,
                      size_t len, const char *extra_headers);
/* Answers with a JSON value (reference stolen). */
void sb__http_respond_json(struct sb_http_req *r, int status, json_t *body);
/* Answers {"error": {"code": "EINVAL", "message": "..."}} with the code's HTTP status. */
void sb__http_error(struct sb_http_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The loop arms a deadline for a request that waits for the bot's reply (any thread). */
void sb__http_arm_wait(struct sb_http_req *r, int64_t deadline_ns);

/* Runs the route of a request (worker thread). */
void sb__http_dispatch(void *req);

/* Authentication. */
int sb__auth_check(struct sb_server *s, struct sb_http_req *r, enum sb_auth_kind need);
int sb__auth_bearer(struct sb_server *s, const char *token, struct sb_principal *who,
                    struct sb_error *err);
/* Drops every cached credential (after a revocation or logout). */
void sb__auth_forget_all(void);
/* sha256 hex of `s` with a domain label, for stored key and token hashes. */
void sb__auth_hash(const char *label, const char *s, char out[65]);
/* A new random secret string with `prefix`, e.g. "sbk_" + 43 base64url chars. */
char *sb__auth_new_secret(const char *prefix);
/* Creates an API key row for `key`. */
int sb__auth_store_key(struct sb_store *st, sb_id tenant, const char *name, const char *role,
                       const char *key, struct sb_error *err);
/* Visitor tokens: "v1.<tenant>.<inbox>.<visitor>.<expiry>.<mac>". */
char *sb__visitor_token_new(struct sb_server *s, sb_id tenant, sb_id inbox, const char *visitor);
int sb__visitor_token_check(struct sb_server *s, const char *token, struct sb_principal *who);

/* JSON request parsing with the depth limit. */
json_t *sb__http_parse_json(struct sb_http_req *r);
/* Query-string parameter `name` into `out` (URL-decoded); 1 if present. */
int sb__http_query(const struct sb_http_req *r, const char *name, char *out, size_t cap);
/* Largest attachment body accepted (images and audio alike; api_attachments.c). */
#define SB__ATTACH_MAX_BYTES (10 * 1024 * 1024)
/* The body limit of a request path: SB__ATTACH_MAX_BYTES for the upload routes (when larger
 * than max_body_bytes), max_body_bytes otherwise. Any thread. */
long long sb__http_body_limit(const struct sb_config *cfg, const char *path);

/* Rate limiting (loop thread): 1 when a request from `id` may pass now; else *retry_after_s. */
struct ratelimit;
struct ratelimit *sb__ratelimit_new(void);
void sb__ratelimit_free(struct ratelimit *rl);
int sb__ratelimit_take(struct ratelimit *rl, const char *id, double rate, double burst,
                       int64_t now_ns, int *retry_after_s);

/* Bytes of per-connection state libwebsockets keeps for us (HTTP or WebSocket). */
#define SB_CONN_PSS_BYTES 48

/* WebSockets (websocket.c). */
struct lws;
int sb__ws_callback(struct lws *wsi, int reason, void *user, void *in, size_t len);
void sb__ws_publish(struct sb_server *s, const struct sb_engine_event *ev); /* any thread */
int sb__ws_audience(struct sb_server *s, int64_t seq); /* any thread: see sb_audience_fn */
void sb__ws_loop_drain(struct sb_server *s); /* loop thread: deliver queued events, results */
void sb__ws_free_all(struct sb_server *s); /* after the loop ended */
/* Tells live widget sockets of this visitor which contact they are (any thread). */
void sb__ws_bind_visitor(struct sb_server *s, const struct sb_principal *who, sb_id contact_id);

/* /metrics text (worker thread). */
char *sb__metrics_render(struct sb_server *s, size_t *len);
/* OpenAPI document. */
const char *sb__openapi_json(void);

#endif
