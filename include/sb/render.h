/* SPDX-License-Identifier: MIT */
/*
 * JSON renderings of stored objects, shared by the REST API and published events so a client
 * sees the same shape everywhere. Each returns a new jansson reference (json_decref it).
 */
#ifndef SB_RENDER_H
#define SB_RENDER_H

#include "sb/store.h"

#include <jansson.h>

json_t *sb_render_message(const struct sb_message *m);
json_t *sb_render_conversation(const struct sb_conversation *c);
json_t *sb_render_contact(const struct sb_contact *c, const struct sb_contact_identity *ids,
                          size_t n_ids);
json_t *sb_render_inbox(const struct sb_inbox *x);
json_t *sb_render_agent(const struct sb_agent *a); /* never includes the password hash */
json_t *sb_render_api_key(const struct sb_api_key *k); /* never includes the hash */
/* Parses stored JSON text; a corrupt or NULL value renders as `fallback` (a new reference). */
json_t *sb_render_json_text(const char *text, json_t *fallback);

#endif
