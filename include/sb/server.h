/* SPDX-License-Identifier: MIT */
/*
 * The HTTP + WebSocket server (libwebsockets on a libuv loop). One network thread parses
 * requests and writes responses; every API request is handled on the worker pool and its
 * response handed back to the loop. Live events from the engine fan out to agent and widget
 * sockets. Stops gracefully on SIGTERM/SIGINT: stops accepting, drains, flushes.
 */
#ifndef SB_SERVER_H
#define SB_SERVER_H

#include "sb/config.h"
#include "sb/assist.h"
#include "sb/engine.h"

struct sb_server; /* opaque */

struct sb_server_options {
    const struct sb_config *config; /* borrowed */
    struct sb_store *store;         /* borrowed */
    struct sb_pool *pool;           /* borrowed: API requests */
    struct sb_pool *bot_pool;       /* borrowed: bot turns (lower priority) */
    sb_id default_tenant;
    sb_id default_api_inbox;
    sb_id default_web_inbox;
    const unsigned char *secret; /* 32 bytes: signs visitor tokens */
    const char *web_dir;
    struct sb_assist *assist; /* borrowed; NULL: the basic policy without annotations */
};

/* Creates the server and binds the listening socket; the engine is created inside, with the
 * server's publish function. Free with sb_server_free(). */
int sb_server_new(const struct sb_server_options *opt, struct sb_server **out,
                  struct sb_error *err);
/* The port actually bound (useful with port 0). */
int sb_server_port(const struct sb_server *s);
/* Runs the loop until SIGTERM/SIGINT or sb_server_stop(). */
int sb_server_run(struct sb_server *s);
/* Asks the loop to stop (thread-safe). */
void sb_server_stop(struct sb_server *s);
void sb_server_free(struct sb_server *s);

#endif
