/* SPDX-License-Identifier: MIT */
/*
 * `switchboard chat`: talk to a running server from the terminal as a customer would through
 * the web widget. Each line typed is sent (and acknowledged durably) with wait_reply, so the
 * bot's answer prints at once; a second thread polls for what agents write later.
 */
#include "sb/cli.h"
#include "sb/mem.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESPONSE_MAX (4 << 20)
#define LINE_MAX_BYTES 16384

struct chat {
    char base[512];
    char *token;
    pthread_mutex_t mu;
    long long shown; /* highest message id printed */
    int done;
};

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    struct sb_buf *b = ud;
    return sb_buf_append(b, data, size * n) == 0 ? size * n : 0;
}

/* One request; returns the parsed JSON answer (json_decref it) or NULL with a message. */
static json_t *call(struct chat *c, const char *method, const char *path, json_t *body,
                    long *status)
{
    CURL *h = curl_easy_init();
    struct sb_buf resp;
    sb_buf_init(&resp, RESPONSE_MAX);
    char url[1024], auth[600];
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (c->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (text)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(h);
    json_t *out = NULL;
    *status = 0;
    if (rc != CURLE_OK) {
        fprintf(stderr, "chat: %s: %s\n", url, curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        out = resp.data ? json_loads(resp.data, 0, NULL) : NULL;
        if (*status >= 400) {
            json_t *msg = json_object_get(json_object_get(out, "error"), "message");
            fprintf(stderr, "chat: %s answered %ld: %s\n", path, *status,
                    msg ? json_string_value(msg) : "(no message)");
            json_decref(out);
            out = NULL;
        }
    }
    free(text);
    curl_slist_free_all(hdrs);
    sb_buf_cleanup(&resp);
    curl_easy_cleanup(h);
    return out;
}

static void show(struct chat *c, json_t *m)
{
    long long id = json_integer_value(json_object_get(m, "id"));
    const char *kind = json_string_value(json_object_get(json_object_get(m, "sender"), "kind"));
    const char *text = json_string_value(json_object_get(m, "text"));
    pthread_mutex_lock(&c->mu);
    if (id > c->shown) {
        c->shown = id;
        if (kind && strcmp(kind, "customer") != 0)
            printf("\r%s> %s\nyou> ", kind, text ? text : "");
        fflush(stdout);
    }
    pthread_mutex_unlock(&c->mu);
}

static void *poll_agents(void *arg)
{
    struct chat *c = arg;
    while (!c->done) {
        char path[128];
        pthread_mutex_lock(&c->mu);
        snprintf(path, sizeof(path), "/api/v1/widget/messages?after=%lld", c->shown);
        pthread_mutex_unlock(&c->mu);
        long status;
        json_t *r = call(c, "GET", path, NULL, &status);
        json_t *ms = json_object_get(r, "messages");
        for (size_t i = 0; i < json_array_size(ms); i++)
            show(c, json_array_get(ms, i));
        json_decref(r);
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int sb_cmd_chat(int argc, char **argv)
{
    struct chat c = {.shown = 0};
    snprintf(c.base, sizeof(c.base), "http://127.0.0.1:8080");
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--server") && i + 1 < argc) {
            snprintf(c.base, sizeof(c.base), "%s", argv[++i]);
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else {
            fprintf(stderr, "usage: switchboard chat [--server URL] [--name NAME]\n"
                            "Talk to a running Switchboard as a customer; Ctrl-D quits.\n");
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&c.mu, NULL);
    long status;
    json_t *empty = json_object();
    json_t *s = call(&c, "POST", "/api/v1/widget/session", empty, &status);
    json_decref(empty);
    if (!s) {
        fprintf(stderr, "chat: cannot start a session at %s (is `switchboard serve` running?)\n",
                c.base);
        return 1;
    }
    c.token = sb_strdup(json_string_value(json_object_get(s, "visitor_token")));
    json_decref(s);
    printf("Connected to %s. Type a message; Ctrl-D quits.\nyou> ", c.base);
    fflush(stdout);
    pthread_t poller;
    pthread_create(&poller, NULL, poll_agents, &c);
    char line[LINE_MAX_BYTES];
    unsigned seq = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) {
            printf("you> ");
            fflush(stdout);
            continue;
        }
        char mid[64];
        snprintf(mid, sizeof(mid), "chat-%ld-%u", (long)getpid(), ++seq);
        json_t *body = json_pack("{s:s,s:s,s:b}", "text", line, "message_id", mid, "wait_reply",
                                 1);
        if (name)
            json_object_set_new(body, "name", json_string(name));
        json_t *r = call(&c, "POST", "/api/v1/widget/messages", body, &status);
        json_decref(body);
        if (!r) {
            rc = 1;
            break;
        }
        pthread_mutex_lock(&c.mu);
        long long mine = json_integer_value(json_object_get(r, "message_id"));
        if (mine > c.shown)
            c.shown = mine;
        pthread_mutex_unlock(&c.mu);
        json_t *reply = json_object_get(r, "reply");
        if (json_is_object(reply))
            show(&c, reply);
        else {
            printf("you> ");
            fflush(stdout);
        }
        json_decref(r);
    }
    c.done = 1;
    pthread_join(poller, NULL);
    printf("\n");
    free(c.token);
    curl_global_cleanup();
    return rc;
}
