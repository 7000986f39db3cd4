/* SPDX-License-Identifier: MIT */
/*
 * The network loop: libwebsockets on a libuv loop we own. It parses HTTP requests (bounded
 * headers and body), rate-limits them, hands API requests to the worker pool and writes the
 * responses workers hand back through a queue + uv_async wake-up. Static files of the web UI
 * are served from web_dir. Nothing here blocks: no store access, no inference.
 */
#include "http_internal.h"

#include "sb/clock.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_HEADER_BYTES 8192
#define WRITE_CHUNK 16384

/* Per-connection state of an HTTP connection; WebSocket connections use the same memory for
 * websocket.c's state, which also starts with `is_ws`. */
struct conn {
    int is_ws;
    struct sb_http_req *req;
    struct sb_http_req *dispatched; /* the request already handed to a worker */
};
_Static_assert(sizeof(struct conn) <= SB_CONN_PSS_BYTES, "per-session data too small");

void sb__http_req_ref(struct sb_http_req *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void sb__http_req_unref(struct sb_http_req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    free(r->body);
    free(r->resp);
    free(r->pending);
    free(r);
}

static void push_done(struct sb_server *s, struct sb_http_req *r)
{
    pthread_mutex_lock(&s->mu);
    r->next_done = NULL;
    if (s->done_tail)
        s->done_tail->next_done = r;
    else
        s->done_head = r;
    s->done_tail = r;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
}

void sb__http_respond(struct sb_http_req *r, int status, const char *type, char *body,
                      size_t len, const char *extra_headers)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&r->responded, &expected, 1)) {
        free(body);
        return;
    }
    atomic_fetch_sub(&r->srv->inflight, 1);
    r->status = status;
    r->resp = body;
    r->resp_len = len;
    r->resp_type = type;
    snprintf(r->resp_headers, sizeof(r->resp_headers), "%s", extra_headers ? extra_headers : "");
    if (status >= 500)
        atomic_fetch_add(&r->srv->responses_5xx, 1);
    else if (status >= 400)
        atomic_fetch_add(&r->srv->responses_4xx, 1);
    sb__http_req_ref(r); /* the done queue's reference */
    push_done(r->srv, r);
}

void sb__http_respond_json(struct sb_http_req *r, int status, json_t *body)
{
    /* 15 significant digits: 0.6 reads 0.6, not 0.59999999999999998 */
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    sb__http_respond(r, status, "application/json", text, strlen(text), NULL);
}

void sb__http_error(struct sb_http_req *r, int code, const char *fmt, ...)
{
    char msg[SB_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(sb_err_name(code)));
    json_object_set_new(e, "message", json_string(msg));
    json_t *o = json_object();
    json_object_set_new(o, "error", e);
    sb__http_respond_json(r, sb_err_http_status(code), o);
}

void sb__http_arm_wait(struct sb_http_req *r, int64_t deadline_ns)
{
    struct sb_server *s = r->srv;
    r->wait_deadline_ns = deadline_ns;
    sb__http_req_ref(r); /* the waiting list's reference */
    pthread_mutex_lock(&s->mu);
    r->next_wait = s->arm_head;
    s->arm_head = r;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
}

/* ---- writing responses (loop thread) ---- */

static int write_response(struct lws *wsi, struct sb_http_req *r)
{
    if (!r->headers_sent) {
        unsigned char buf[LWS_PRE + 2048];
        unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
        if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->resp_type, r->resp_len, &p,
                                        end))
            return -1;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                        (const unsigned char *)"no-store", 8, &p, end))
            return -1;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                        (const unsigned char *)"nosniff", 7, &p, end))
            return -1;
        /* extra headers are "Name: value\r\n" lines */
        char *line = r->resp_headers;
        while (*line) {
            char *eol = strstr(line, "\r\n");
            char *colon = strchr(line, ':');
            if (!eol || !colon || colon > eol)
                break;
            char name[64];
            size_t nl = (size_t)(colon - line) + 1;
            if (nl >= sizeof(name))
                break;
            for (size_t i = 0; i < nl; i++)
                name[i] = (char)((line[i] >= 'A' && line[i] <= 'Z') ? line[i] + 32 : line[i]);
            name[nl] = '\0';
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            if (lws_add_http_header_by_name(wsi, (unsigned char *)name, (const unsigned char *)v,
                                            (int)(eol - v), &p, end))
                return -1;
            line = eol + 2;
        }
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        r->headers_sent = 1;
        /* the body in the same callback while the socket takes more: a second writable
         * round trip cost two epoll_ctl calls and a loop pass per response */
        if (r->resp_len && lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    size_t left = r->resp_len - r->resp_sent;
    if (left) {
        size_t n = left > WRITE_CHUNK ? WRITE_CHUNK : left;
        unsigned char buf[LWS_PRE + WRITE_CHUNK];
        memcpy(buf + LWS_PRE, r->resp + r->resp_sent, n);
        int final = n == left;
        if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
            (int)n)
            return -1;
        r->resp_sent += n;
        if (!final) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    return 1; /* finished */
}

/* ---- reading requests (loop thread) ---- */

static enum sb_method method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return SB_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return SB_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI))
        return SB_PUT;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI))
        return SB_PATCH;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
        return SB_DELETE;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI))
        return SB_OPTIONS;
    return 0;
}

static void copy_header(struct lws *wsi, enum lws_token_indexes t, char *out, size_t cap)
{
    out[0] = '\0';
    if (lws_hdr_total_length(wsi, t) < (int)cap)
        lws_hdr_copy(wsi, out, (int)cap, t);
}

static void copy_query(struct lws *wsi, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 32; i++) {
        char frag[512];
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        int w = snprintf(out + used, cap - used, "%s%s", used ? "&" : "", frag);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
}

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js") || !strcmp(dot, ".mjs"))
        return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    if (!strcmp(dot, ".png"))
        return "image/png";
    if (!strcmp(dot, ".json"))
        return "application/json";
    if (!strcmp(dot, ".ico"))
        return "image/x-icon";
    return "application/octet-stream";
}

/* Serves web_dir files; "/" → index.html, "/widget" → widget.html, "/console" → console.html,
 * "/console/kb-gaps" → kb-gaps.html, "/console/dashboard" → dashboard.html.
 * Returns -1 to close, 0 when the file transfer runs, 1 when not a static path. */
static int serve_static(struct sb_server *s, struct lws *wsi, const char *path)
{
    const char *file = NULL;
    char rel[512];
    if (!strcmp(path, "/"))
        file = "index.html";
    else if (!strcmp(path, "/widget") || !strcmp(path, "/widget/"))
        file = "widget.html";
    else if (!strcmp(path, "/console") || !strcmp(path, "/console/"))
        file = "console.html";
    else if (!strcmp(path, "/console/kb-gaps"))
        file = "kb-gaps.html";
    else if (!strcmp(path, "/console/dashboard"))
        file = "dashboard.html";
    else if (!strncmp(path, "/static/", 8) && !strstr(path, "..") && !strstr(path, "//")) {
        snprintf(rel, sizeof(rel), "%s", path + 1);
        file = rel;
    }
    if (!file)
        return 1;
    char full[1024];
    snprintf(full, sizeof(full), "%s/%s", s->opt.web_dir, file);
    struct stat st;
    if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
        return 1;
    static const char headers[] = "cache-control: no-cache\r\n"
                                  "x-content-type-options: nosniff\r\n"
                                  "referrer-policy: same-origin\r\n";
    int n = lws_serve_http_file(wsi, full, mime_of(full), headers, (int)strlen(headers));
    if (n < 0)
        return -1;
    if (n > 0 && lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

static int reject(struct lws *wsi, int status, const char *msg, int retry_after)
{
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                     status == 429 ? "ERATE" : status == 413 ? "ETOOBIG" : "EINVAL", msg);
    if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json", (unsigned)n, &p,
                                    end))
        return -1;
    if (retry_after) {
        char ra[16];
        int l = snprintf(ra, sizeof(ra), "%d", retry_after);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                        (unsigned char *)ra, l, &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    memcpy(start, body, (size_t)n);
    if (lws_write(wsi, start, (size_t)n, LWS_WRITE_HTTP_FINAL) != n)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int rate_ok(struct sb_server *s, struct sb_http_req *r, int *retry_after)
{
    int64_t now = sb_mono_ns();
    double burst = (double)sb_config_int(s->cfg, "rate_burst_seconds");
    double ip_rate = (double)sb_config_int(s->cfg, "rate_per_ip");
    double key_rate = (double)sb_config_int(s->cfg, "rate_per_key");
    if (!sb__ratelimit_take(s->rl_ip, r->ip, ip_rate, ip_rate * burst, now, retry_after))
        return 0;
    if (r->authorization[0] &&
        !sb__ratelimit_take(s->rl_key, r->authorization, key_rate, key_rate * burst, now,
                            retry_after))
        return 0;
    return 1;
}

static void dispatch(struct sb_server *s, struct conn *c)
{
    struct sb_http_req *r = c->req;
    /* A body of "Content-Length: 0" is dispatched at once, and libwebsockets still reports
     * its completion: the second call must not run the handler again. */
    if (c->dispatched == r)
        return;
    c->dispatched = r;
    atomic_fetch_add(&s->inflight, 1); /* until it is answered */
    if (s->draining) {
        sb__http_error(r, SB_EBUSY, "server is shutting down");
        return;
    }
    sb__http_req_ref(r); /* the worker's reference */
    if (sb_pool_submit(s->pool, sb__http_dispatch, r) != 0) {
        sb__http_req_unref(r);
        sb__http_error(r, SB_EBUSY, "server busy, retry later");
    }
}

static int on_http(struct sb_server *s, struct lws *wsi, struct conn *c, const char *uri)
{
    atomic_fetch_add(&s->requests, 1);
    struct sb_http_req *r = sb_calloc(1, sizeof(*r));
    atomic_init(&r->refs, 1); /* the connection's reference */
    r->srv = s;
    r->wsi = wsi;
    r->method = method_of(wsi);
    snprintf(r->path, sizeof(r->path), "%s", uri);
    copy_query(wsi, r->query, sizeof(r->query));
    copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, r->authorization, sizeof(r->authorization));
    copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, r->content_type, sizeof(r->content_type));
    copy_header(wsi, WSI_TOKEN_ORIGIN, r->origin, sizeof(r->origin));
    lws_get_peer_simple(wsi, r->ip, sizeof(r->ip));
    c->req = r;
    c->dispatched = NULL; /* a new request (its address may be a freed one's) */

    int retry_after = 1;
    if (!rate_ok(s, r, &retry_after)) {
        atomic_fetch_add(&s->rate_limited, 1);
        return reject(wsi, 429, "rate limit exceeded", retry_after);
    }
    if (r->method == SB_GET && strncmp(r->path, "/api/", 5) != 0 &&
        strcmp(r->path, "/healthz") != 0 && strcmp(r->path, "/metrics") != 0) {
        int rc = serve_static(s, wsi, r->path);
        if (rc <= 0)
            return rc;
    }
    if (r->method == SB_POST || r->method == SB_PUT || r->method == SB_PATCH) {
        char cl[32];
        copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof(cl));
        long long n = cl[0] ? strtoll(cl, NULL, 10) : 0;
        if (n > sb__http_body_limit(s->cfg, r->path))
            return reject(wsi, 413, "request body too large", 0);
        if (n > 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING))
            return 0; /* wait for LWS_CALLBACK_HTTP_BODY_COMPLETION */
    }
    dispatch(s, c);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    struct sb_server *s = ctx ? lws_context_user(ctx) : NULL;
    struct conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!s || !c)
            return -1;
        return on_http(s, wsi, c, in);
    case LWS_CALLBACK_HTTP_BODY:
        if (c && c->req) {
            struct sb_http_req *r = c->req;
            size_t max = (size_t)sb__http_body_limit(s->cfg, r->path);
            if (r->body_len + len > max) {
                r->body_too_big = 1;
                return 0;
            }
            r->body = sb_realloc(r->body, r->body_len + len + 1);
            if (len)
                memcpy(r->body + r->body_len, in, len);
            r->body_len += len;
            r->body[r->body_len] = '\0';
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!c || !c->req)
            return -1;
        if (c->req->body_too_big)
            return reject(wsi, 413, "request body too large", 0);
        dispatch(s, c);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!c || !c->req || !atomic_load(&c->req->responded) || !c->req->resp_type)
            return 0;
        int rc = write_response(wsi, c->req);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            struct sb_http_req *r = c->req;
            c->req = NULL;
            r->wsi = NULL;
            sb__http_req_unref(r);
            if (lws_http_transaction_completed(wsi))
                return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c && !c->is_ws && c->req) {
            c->req->wsi = NULL;
            sb__http_req_unref(c->req);
            c->req = NULL;
        }
        break;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
        return sb__ws_callback(wsi, (int)reason, user, in, len);
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- loop plumbing ---- */

static void begin_drain(struct sb_server *s);

static void finish_waiting(struct sb_server *s, int64_t now)
{
    struct sb_http_req **link = &s->waiting;
    while (*link) {
        struct sb_http_req *r = *link;
        if (atomic_load(&r->responded) || now >= r->wait_deadline_ns) {
            *link = r->next_wait;
            if (!atomic_load(&r->responded) && r->pending) {
                json_t *o = json_loads(r->pending, 0, NULL);
                json_object_set_new(o, "reply", json_null());
                json_object_set_new(o, "reply_pending", json_true());
                sb__http_respond_json(r, 200, o);
            }
            sb__http_req_unref(r);
        } else {
            link = &r->next_wait;
        }
    }
}

static void on_wake(uv_async_t *h)
{
    struct sb_server *s = h->data;
    pthread_mutex_lock(&s->mu);
    struct sb_http_req *done = s->done_head, *arm = s->arm_head;
    s->done_head = s->done_tail = NULL;
    s->arm_head = NULL;
    pthread_mutex_unlock(&s->mu);
    while (arm) {
        struct sb_http_req *next = arm->next_wait;
        arm->next_wait = s->waiting;
        s->waiting = arm;
        arm = next;
    }
    while (done) {
        struct sb_http_req *next = done->next_done;
        if (done->wsi)
            lws_callback_on_writable(done->wsi);
        sb__http_req_unref(done); /* the done queue's reference */
        done = next;
    }
    sb__ws_loop_drain(s);
    if (atomic_load(&s->stopping))
        begin_drain(s);
}

static void on_tick(uv_timer_t *t)
{
    struct sb_server *s = t->data;
    finish_waiting(s, sb_mono_ns());
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct sb_server *s = h->data;
    SB_LOG(SB_LOG_INFO, "server", "received signal %d: stopping", signum);
    begin_drain(s);
}

static void publish(void *ud, const struct sb_engine_event *ev)
{
    sb__ws_publish(ud, ev);
}

static int audience(void *ud, int64_t seq)
{
    return sb__ws_audience(ud, seq);
}

static const struct lws_protocols protocols[] = {
    {"http", callback, SB_CONN_PSS_BYTES, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void split_listen(const char *listen, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon) {
        snprintf(host, cap, "%s", listen);
        *port = 8080;
        return;
    }
    snprintf(host, cap, "%.*s", (int)(colon - listen), listen);
    *port = (int)strtol(colon + 1, NULL, 10);
}

static void lws_log_to_ours(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    SB_LOG(level & LLL_ERR ? SB_LOG_ERROR : SB_LOG_DEBUG, "lws", "%.*s", (int)n, line);
}

int sb_server_new(const struct sb_server_options *opt, struct sb_server **out,
                  struct sb_error *err)
{
    struct sb_server *s = sb_calloc(1, sizeof(*s));
    s->opt = *opt;
    s->cfg = opt->config;
    s->store = opt->store;
    s->pool = opt->pool;
    memcpy(s->secret, opt->secret, sizeof(s->secret));
    pthread_mutex_init(&s->mu, NULL);
    s->rl_key = sb__ratelimit_new();
    s->rl_ip = sb__ratelimit_new();

    struct sb_engine_options eo = {
        .store = s->store,
        .pool = opt->bot_pool ? opt->bot_pool : s->pool,
        .batch_max = (size_t)sb_config_int(s->cfg, "commit_batch_max"),
        .publish = publish,
        .publish_ud = s,
        .audience = audience,
    };
    if (opt->assist) {
        eo.annotate = sb_assist_annotate;
        eo.annotate_ud = opt->assist;
        eo.policy = &sb_policy_assist;
        eo.policy_self = opt->assist;
    }
    int rc = sb_engine_new(&eo, &s->engine, err);
    if (rc)
        goto fail;

    uv_loop_init(&s->loop);
    uv_async_init(&s->loop, &s->wake, on_wake);
    s->wake.data = s;
    uv_timer_init(&s->loop, &s->tick);
    s->tick.data = s;
    uv_timer_init(&s->loop, &s->drain);
    s->drain.data = s;
    uv_signal_init(&s->loop, &s->sigterm);
    s->sigterm.data = s;
    uv_signal_init(&s->loop, &s->sigint);
    s->sigint.data = s;

    lws_set_log_level(sb_log_min_level <= SB_LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO
                                                       : LLL_ERR,
                      lws_log_to_ours);
    char host[256];
    int port;
    split_listen(sb_config_str(s->cfg, "listen"), host, sizeof(host), &port);
    void *foreign[1] = {&s->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    info.foreign_loops = foreign;
    info.user = s;
    info.max_http_header_data = MAX_HEADER_BYTES;
    info.timeout_secs = 30;
    info.pt_serv_buf_size = 32768;
    info.server_string = "switchboard";
    s->lws = lws_create_context(&info);
    if (!s->lws) {
        rc = sb_error_set(err, SB_EIO, "cannot listen on %s", sb_config_str(s->cfg, "listen"));
        goto fail;
    }
    s->vhost = lws_get_vhost_by_name(s->lws, "default");
    s->port = s->vhost ? lws_get_vhost_listen_port(s->vhost) : port;
    *out = s;
    return 0;
fail:
    sb_engine_free(s->engine);
    sb__ratelimit_free(s->rl_key);
    sb__ratelimit_free(s->rl_ip);
    free(s);
    return rc;
}

int sb_server_port(const struct sb_server *s)
{
    return s->port;
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Drain finished (or timed out): close every connection and our own handles; uv_run returns
 * once libwebsockets has closed its handles too. */
static void shut_down(struct sb_server *s)
{
    SB_LOG(SB_LOG_INFO, "server", "closing connections (%d requests still in flight)",
           atomic_load(&s->inflight));
    finish_waiting(s, INT64_MAX);
    close_handle((uv_handle_t *)&s->tick);
    close_handle((uv_handle_t *)&s->drain);
    close_handle((uv_handle_t *)&s->sigterm);
    close_handle((uv_handle_t *)&s->sigint);
    close_handle((uv_handle_t *)&s->wake);
    lws_context_destroy(s->lws); /* with a foreign loop: closes its handles, finishes later */
    s->destroying = 1;
}

static void on_drain_tick(uv_timer_t *t)
{
    struct sb_server *s = t->data;
    if (atomic_load(&s->inflight) == 0 || sb_mono_ns() >= s->drain_deadline_ns)
        shut_down(s);
}

static void begin_drain(struct sb_server *s)
{
    if (s->draining)
        return;
    s->draining = 1;
    SB_LOG(SB_LOG_INFO, "server", "draining: refusing new requests");
    s->drain_deadline_ns = sb_mono_ns() + sb_config_int(s->cfg, "drain_ms") * 1000000;
    uv_timer_start(&s->drain, on_drain_tick, 0, 10);
}

int sb_server_run(struct sb_server *s)
{
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_timer_start(&s->tick, on_tick, 20, 20);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return 0;
}

void sb_server_stop(struct sb_server *s)
{
    atomic_store(&s->stopping, 1);
    uv_async_send(&s->wake);
}

void sb_server_free(struct sb_server *s)
{
    if (!s)
        return;
    if (s->lws) {
        /* After a run, the loop has closed what lws asked it to: this second call frees the
         * context. A server that never ran is destroyed the same way. */
        if (!s->destroying)
            lws_context_destroy(s->lws);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        lws_context_destroy(s->lws);
        s->lws = NULL;
    }
    /* Whatever is still queued for the committer is stored before we exit. */
    sb_engine_free(s->engine);
    uv_loop_close(&s->loop);
    sb__ws_free_all(s);
    sb__ratelimit_free(s->rl_key);
    sb__ratelimit_free(s->rl_ip);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
