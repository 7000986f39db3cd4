/* SPDX-License-Identifier: MIT */
/*
 * A light stand-in for many agent consoles (bench/server/run_agent_events.sh): opens one
 * /ws/agent WebSocket per session token on one libwebsockets loop, and for every
 * message.created event whose text starts "bench <tag> <sent-epoch-ms>" records now minus
 * the send time (CLOCK_REALTIME; the sender, on the same machine, wrote the time just before
 * POSTing). Written in C so that the clients take little of the CPU the daemon needs.
 *   agent_console_client PORT TOKENS_FILE SECONDS READY_FILE
 * Writes READY_FILE once every console has its "ready" event, runs SECONDS more, then prints
 * one JSON line: consoles, deliveries, conversation_updates, p50/p90/p99/max in ms.
 */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LAT 4000000

static double *lat;
static size_t n_lat;
static int ready, updates, failed;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void on_text(const char *p, size_t len)
{
    double t = now_ms();
    size_t head = len < 48 ? len : 48;
    if (memmem(p, head, "\"ready\"", 7)) {
        ready++;
        return;
    }
    if (memmem(p, head, "conversation.updated", 20)) {
        updates++;
        return;
    }
    if (!memmem(p, head, "message.created", 15))
        return;
    static const char mark[] = "\"text\":\"bench ";
    const char *m = memmem(p, len, mark, sizeof(mark) - 1);
    if (!m)
        return;
    const char *q = m + sizeof(mark) - 1, *end = p + len;
    while (q < end && *q >= '0' && *q <= '9')
        q++; /* the tag */
    if (q >= end || *q != ' ')
        return;
    char buf[32];
    size_t k = 0;
    for (q++; q < end && k + 1 < sizeof(buf) && ((*q >= '0' && *q <= '9') || *q == '.'); q++)
        buf[k++] = *q;
    buf[k] = '\0';
    double sent = strtod(buf, NULL);
    if (sent > 0 && n_lat < MAX_LAT)
        lat[n_lat++] = t - sent;
}

struct conn {
    char *rx;
    size_t len;
};

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        failed++;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        c->rx = realloc(c->rx, c->len + len + 1);
        memcpy(c->rx + c->len, in, len);
        c->len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            on_text(c->rx, c->len);
            c->len = 0;
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        free(c->rx);
        c->rx = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(struct conn), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double q(double p)
{
    if (!n_lat)
        return -1;
    size_t i = (size_t)(p * (double)n_lat);
    return lat[i < n_lat ? i : n_lat - 1];
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT TOKENS_FILE SECONDS READY_FILE\n", argv[0]);
        return 2;
    }
    int port = (int)strtol(argv[1], NULL, 10);
    double secs = strtod(argv[3], NULL);
    json_t *tokens = json_load_file(argv[2], 0, NULL);
    if (!json_is_array(tokens))
        return 2;
    lat = malloc(MAX_LAT * sizeof(double));
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info = {0};
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = 4096;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx)
        return 1;
    size_t n = json_array_size(tokens);
    for (size_t i = 0; i < n; i++) {
        char path[700];
        snprintf(path, sizeof(path), "/ws/agent?token=%s",
                 json_string_value(json_array_get(tokens, i)));
        struct lws_client_connect_info ci = {0};
        ci.context = ctx;
        ci.address = "127.0.0.1";
        ci.port = port;
        ci.path = path;
        ci.host = "127.0.0.1";
        ci.protocol = NULL;
        ci.local_protocol_name = "http";
        if (!lws_client_connect_via_info(&ci))
            failed++;
        lws_service(ctx, 0);
    }
    double deadline = now_ms() + 60000;
    while (ready + failed < (int)n && now_ms() < deadline)
        lws_service(ctx, 50);
    FILE *f = fopen(argv[4], "w");
    if (f)
        fclose(f);
    double end = now_ms() + secs * 1000.0;
    while (now_ms() < end)
        lws_service(ctx, 50);
    qsort(lat, n_lat, sizeof(double), cmp);
    printf("{\"consoles\":%d,\"failed\":%d,\"deliveries\":%zu,\"conversation_updates\":%d,"
           "\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f}\n",
           ready, failed, n_lat, updates, q(0.5), q(0.9), q(0.99), q(1.0));
    lws_context_destroy(ctx);
    json_decref(tokens);
    free(lat);
    return 0;
}
