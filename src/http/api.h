/* SPDX-License-Identifier: MIT */
/* The REST handlers. Each runs on a worker thread, with the request authenticated as its route
 * demands, and answers exactly once (possibly later, from an engine callback). `id` holds the
 * numeric path parameters in order. */
#ifndef SB_HTTP_API_H
#define SB_HTTP_API_H

#include "http_internal.h"

typedef void (*sb_handler)(struct sb_http_req *r, const sb_id *id);

void sb__api_healthz(struct sb_http_req *r, const sb_id *id);
void sb__api_metrics(struct sb_http_req *r, const sb_id *id);
void sb__api_openapi(struct sb_http_req *r, const sb_id *id);
void sb__api_models_reload(struct sb_http_req *r, const sb_id *id);

void sb__api_message_post(struct sb_http_req *r, const sb_id *id);
void sb__api_widget_session(struct sb_http_req *r, const sb_id *id);
void sb__api_widget_message_post(struct sb_http_req *r, const sb_id *id);
void sb__api_widget_messages(struct sb_http_req *r, const sb_id *id);

void sb__api_conversation_list(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_get(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_messages(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_reply(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_assign(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_resolve(struct sb_http_req *r, const sb_id *id);

void sb__api_contact_list(struct sb_http_req *r, const sb_id *id);
void sb__api_contact_get(struct sb_http_req *r, const sb_id *id);
void sb__api_inbox_list(struct sb_http_req *r, const sb_id *id);
void sb__api_inbox_create(struct sb_http_req *r, const sb_id *id);
void sb__api_key_list(struct sb_http_req *r, const sb_id *id);
void sb__api_key_create(struct sb_http_req *r, const sb_id *id);
void sb__api_key_revoke(struct sb_http_req *r, const sb_id *id);
void sb__api_agent_list(struct sb_http_req *r, const sb_id *id);
void sb__api_agent_create(struct sb_http_req *r, const sb_id *id);
void sb__api_login(struct sb_http_req *r, const sb_id *id);
void sb__api_logout(struct sb_http_req *r, const sb_id *id);
void sb__api_me(struct sb_http_req *r, const sb_id *id);

void sb__api_kb_search(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_answer(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_list(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_get(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_put(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_delete(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_import(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_gaps(struct sb_http_req *r, const sb_id *id);
/* Proposed wordings (api_kb_wordings.c): agents propose, supervisors approve or dismiss. */
void sb__api_kb_wording_propose(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_wording_list(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_wording_approve(struct sb_http_req *r, const sb_id *id);
void sb__api_kb_wording_dismiss(struct sb_http_req *r, const sb_id *id);

/* Attachments (api_attachments.c): uploads of images and WAV voice notes, media download. */
void sb__api_widget_attachment_post(struct sb_http_req *r, const sb_id *id);
void sb__api_attachment_post(struct sb_http_req *r, const sb_id *id);
void sb__api_media_get(struct sb_http_req *r, const sb_id *id);
void sb__api_widget_media_get(struct sb_http_req *r, const sb_id *id);
/* Copies `in` (a JPEG) to `out` (at least n bytes) without its metadata segments (APP1
 * EXIF/XMP, APP13, COM…: sb_media_strip_jpeg); returns the new length, or 0 when it does not
 * start like a JPEG. */
size_t sb__jpeg_strip_app1(const unsigned char *in, size_t n, unsigned char *out);
/* DATA/media/<tenant>/<sha> (sha NULL or "": the tenant's directory) into `out`. */
int sb__media_path(const struct sb_config *cfg, sb_id tenant, const char *sha, char *out,
                   size_t cap);

/* Routing (api_routing.c). */
void sb__api_routing_config_get(struct sb_http_req *r, const sb_id *id);
void sb__api_routing_config_put(struct sb_http_req *r, const sb_id *id);
void sb__api_team_list(struct sb_http_req *r, const sb_id *id);
void sb__api_team_create(struct sb_http_req *r, const sb_id *id);
void sb__api_routing_agents(struct sb_http_req *r, const sb_id *id);
void sb__api_agent_routing_put(struct sb_http_req *r, const sb_id *id);
void sb__api_presence_put(struct sb_http_req *r, const sb_id *id);
void sb__api_queue(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_transfer(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_requeue(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_routing(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_summary(struct sb_http_req *r, const sb_id *id);

/* Agent workspace (api_workspace.c): notes, canned replies, suggested replies, SLA, CSAT. */
void sb__api_note_list(struct sb_http_req *r, const sb_id *id);
void sb__api_note_add(struct sb_http_req *r, const sb_id *id);
void sb__api_canned_list(struct sb_http_req *r, const sb_id *id);
void sb__api_canned_create(struct sb_http_req *r, const sb_id *id);
void sb__api_canned_delete(struct sb_http_req *r, const sb_id *id);
void sb__api_conversation_suggestions(struct sb_http_req *r, const sb_id *id);
void sb__api_sla_get(struct sb_http_req *r, const sb_id *id);
void sb__api_sla_put(struct sb_http_req *r, const sb_id *id);
void sb__api_widget_csat_get(struct sb_http_req *r, const sb_id *id);
void sb__api_widget_csat_post(struct sb_http_req *r, const sb_id *id);
/* Writes the demo canned replies (English and Chinese) once, for the tenant with slug "demo";
 * other tenants are left alone. Called by `serve` at start. */
int sb__workspace_seed(struct sb_store *st, sb_id tenant, struct sb_error *err);

/* Supervisor dashboard (api_dashboard.c): figures of a period, CSV export per conversation. */
void sb__api_dashboard(struct sb_http_req *r, const sb_id *id);
void sb__api_report_csv(struct sb_http_req *r, const sb_id *id);
/* Appends `s` as one RFC 4180 field: quoted when it holds , " CR or LF (quotes doubled), and
 * prefixed with ' inside quotes when it starts with = + - @ TAB or CR (no formula when opened
 * in a spreadsheet). SB_ETOOBIG when the buffer's limit is reached. */
struct sb_buf;
int sb__csv_cell(struct sb_buf *b, const char *s);

/* Helpers for handlers. */
/* The request's JSON object body, or NULL after answering 400 naming the problem. */
json_t *sb__api_body(struct sb_http_req *r);
/* A string member: NULL if absent; answers 400 and sets *bad when present but not a string,
 * empty when `required`, or longer than `max` bytes. */
const char *sb__api_str(struct sb_http_req *r, json_t *o, const char *name, int required,
                        size_t max, int *bad);
/* Query parameter as an integer within [lo, hi], `def` when absent; 400 + *bad otherwise. */
int64_t sb__api_query_int(struct sb_http_req *r, const char *name, int64_t def, int64_t lo,
                          int64_t hi, int *bad);
/* Answers with the store error (its code's status, its message). */
void sb__api_store_error(struct sb_http_req *r, const struct sb_error *err, int rc);
struct sb_kb;
/* The daemon's knowledge base, or NULL after answering that it is off (SB_EUNSUPPORTED). */
struct sb_kb *sb__api_kb(struct sb_http_req *r);

#endif
