/* SPDX-License-Identifier: MIT */
/* Operational endpoints: health, Prometheus metrics, the OpenAPI document. */
#include "api.h"

#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

void sb__api_healthz(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_tenant t;
    int ok = sb_store_tenant_get(r->srv->store, r->srv->opt.default_tenant, &t, NULL) == 0;
    json_t *o = json_pack("{s:s,s:s}", "status", ok ? "ok" : "degraded", "store",
                          ok ? "ok" : "unavailable");
    sb__http_respond_json(r, ok ? 200 : 503, o);
}

char *sb__metrics_render(struct sb_server *s, size_t *len)
{
    struct sb_engine_stats es;
    sb_engine_stats(s->engine, &es);
    struct sb_buf b;
    sb_buf_init(&b, 0);
#define COUNTER(name, help, value)                                                          \
    sb_buf_appendf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, \
                   (unsigned long long)(value))
#define GAUGE(name, help, value)                                                          \
    sb_buf_appendf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name, \
                   (unsigned long long)(value))
    COUNTER("switchboard_http_requests_total", "HTTP requests received.",
            atomic_load(&s->requests));
    COUNTER("switchboard_http_client_errors_total", "HTTP responses with a 4xx status.",
            atomic_load(&s->responses_4xx));
    COUNTER("switchboard_http_server_errors_total", "HTTP responses with a 5xx status.",
            atomic_load(&s->responses_5xx));
    COUNTER("switchboard_http_rate_limited_total", "Requests refused with 429.",
            atomic_load(&s->rate_limited));
    GAUGE("switchboard_websockets_open", "Live WebSocket connections.", atomic_load(&s->ws_open));
    COUNTER("switchboard_websocket_events_sent_total", "Events queued to WebSocket clients.",
            atomic_load(&s->events_sent));
    COUNTER("switchboard_messages_ingested_total", "Customer messages stored.", es.ingested);
    COUNTER("switchboard_messages_duplicate_total", "Customer messages recognised as repeats.",
            es.duplicates);
    COUNTER("switchboard_commit_batches_total", "Durable transactions of the group committer.",
            es.commit_batches);
    COUNTER("switchboard_commit_items_total", "Messages stored by the group committer.",
            es.committed_items);
    COUNTER("switchboard_bot_replies_total", "Replies sent by the bot.", es.bot_replies);
    COUNTER("switchboard_handoffs_total", "Conversations handed to humans by the bot.",
            es.handoffs);
    COUNTER("switchboard_bot_turn_errors_total", "Bot turns that failed.", es.turn_errors);
    GAUGE("switchboard_commit_queue", "Writes waiting for the group committer.", es.queued);
    GAUGE("switchboard_worker_jobs", "API requests waiting or running on the worker pool.",
          sb_pool_pending(s->pool));
    if (s->opt.bot_pool)
        GAUGE("switchboard_bot_jobs", "Bot turns and their completions waiting or running.",
              sb_pool_pending(s->opt.bot_pool));
#undef COUNTER
#undef GAUGE
    return sb_buf_steal(&b, len);
}

void sb__api_metrics(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    size_t len;
    char *text = sb__metrics_render(r->srv, &len);
    sb__http_respond(r, 200, "text/plain; version=0.0.4", text, len, NULL);
}

void sb__api_openapi(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    const char *doc = sb__openapi_json();
    sb__http_respond(r, 200, "application/json", sb_strdup(doc), strlen(doc), NULL);
}
