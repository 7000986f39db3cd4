/* SPDX-License-Identifier: MIT */
/*
 * Conversations for agents: list (filters + cursor), get, messages, reply, assign, resolve.
 * Every store call is scoped to the caller's tenant: another tenant's ids are simply not found.
 */
#include "api.h"

#include "sb/clock.h"
#include "sb/mem.h"
#include "sb/render.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 500

static int valid_status(const char *s)
{
    return !strcmp(s, SB_CONV_BOT) || !strcmp(s, SB_CONV_QUEUED) ||
           !strcmp(s, SB_CONV_ASSIGNED) || !strcmp(s, SB_CONV_RESOLVED);
}

void sb__api_conversation_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    int bad = 0;
    struct sb_conversation_filter f = {0};
    char status[16] = "", assignee[24] = "";
    if (sb__http_query(r, "status", status, sizeof(status))) {
        if (!valid_status(status)) {
            sb__http_error(r, SB_EINVAL,
                           "query parameter 'status' must be bot, queued, assigned or resolved");
            return;
        }
        f.status = status;
    }
    if (sb__http_query(r, "assignee", assignee, sizeof(assignee))) {
        if (!strcmp(assignee, "me"))
            f.assignee_id = r->who.agent_id ? r->who.agent_id : -1;
        else if (!strcmp(assignee, "none"))
            f.assignee_id = -1;
        else
            f.assignee_id = sb__api_query_int(r, "assignee", 0, 1, INT64_MAX, &bad);
    }
    f.contact_id = sb__api_query_int(r, "contact", 0, 1, INT64_MAX, &bad);
    f.before_id = sb__api_query_int(r, "before", 0, 1, INT64_MAX, &bad);
    f.limit = (size_t)sb__api_query_int(r, "limit", 50, 1, PAGE_MAX, &bad);
    if (bad)
        return;
    struct sb_conversation *cs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_conversation_list(r->srv->store, r->who.tenant_id, &f, &cs, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *o = json_object(), *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, sb_render_conversation(&cs[i]));
    json_object_set_new(o, "conversations", a);
    /* a full page may have more: the cursor is the last id */
    json_object_set_new(o, "next_before", n == f.limit ? json_integer(cs[n - 1].id) : json_null());
    sb_conversation_list_free(cs, n);
    sb__http_respond_json(r, 200, o);
}

void sb__api_conversation_get(struct sb_http_req *r, const sb_id *id)
{
    struct sb_conversation c = {0};
    struct sb_error err = {0};
    int rc = sb_store_conversation_get(r->srv->store, r->who.tenant_id, id[0], &c, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb__http_respond_json(r, 200, sb_render_conversation(&c));
    sb_conversation_cleanup(&c);
}

void sb__api_conversation_messages(struct sb_http_req *r, const sb_id *id)
{
    int bad = 0;
    int64_t after = sb__api_query_int(r, "after", 0, 0, INT64_MAX, &bad);
    size_t limit = (size_t)sb__api_query_int(r, "limit", 100, 1, PAGE_MAX, &bad);
    if (bad)
        return;
    struct sb_conversation c = {0};
    struct sb_error err = {0};
    int rc = sb_store_conversation_get(r->srv->store, r->who.tenant_id, id[0], &c, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb_conversation_cleanup(&c);
    struct sb_message *ms = NULL;
    size_t n = 0;
    rc = sb_store_message_list(r->srv->store, r->who.tenant_id, id[0], after, limit, &ms, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *o = json_object(), *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, sb_render_message(&ms[i]));
    json_object_set_new(o, "messages", a);
    json_object_set_new(o, "next_after", n == limit ? json_integer(ms[n - 1].id) : json_null());
    sb_message_list_free(ms, n);
    sb__http_respond_json(r, 200, o);
}

/* An agent's reply. With "internal": true it is a note that only agents see. Replying takes
 * the conversation: a bot or queued conversation becomes assigned to the replying agent. */
void sb__api_conversation_reply(struct sb_http_req *r, const sb_id *id)
{
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *text = sb__api_str(r, body, "text", 1, 16384, &bad);
    const char *msg_id = sb__api_str(r, body, "message_id", 0, 256, &bad);
    json_t *internal = json_object_get(body, "internal");
    if (!bad && internal && !json_is_boolean(internal)) {
        bad = 1;
        sb__http_error(r, SB_EINVAL, "field 'internal' must be true or false");
    }
    if (bad)
        goto out;
    struct sb_server *s = r->srv;
    struct sb_error err = {0};
    struct sb_conversation c = {0};
    int rc = sb_store_conversation_get(s->store, r->who.tenant_id, id[0], &c, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    int is_note = json_is_true(internal);
    struct sb_message_new m = {
        .tenant_id = r->who.tenant_id,
        .conversation_id = id[0],
        .direction = is_note ? SB_DIR_IN : SB_DIR_OUT,
        .sender_kind = SB_SENDER_AGENT,
        .sender_id = r->who.agent_id,
        .text = text,
        .annotations_json = is_note ? "{\"internal\": true}" : NULL,
        .provider_msg_id = msg_id && *msg_id ? msg_id : NULL,
        .created_ms = sb_now_ms(),
    };
    struct sb_message out = {0};
    rc = sb_engine_post(s->engine, &m, &out, &err);
    if (rc) {
        sb_conversation_cleanup(&c);
        if (rc == SB_EEXIST)
            sb__http_error(r, rc, "field 'message_id': a reply with this id was already stored");
        else
            sb__api_store_error(r, &err, rc);
        goto out;
    }
    if (!is_note && r->who.agent_id &&
        (!strcmp(c.status, SB_CONV_BOT) || !strcmp(c.status, SB_CONV_QUEUED))) {
        struct sb_conversation_update u = {.status = SB_CONV_ASSIGNED,
                                           .set_assignee = 1,
                                           .assignee_id = r->who.agent_id};
        sb_engine_update(s->engine, r->who.tenant_id, id[0], &u, NULL, NULL);
    }
    sb_conversation_cleanup(&c);
    sb__http_respond_json(r, 201, sb_render_message(&out));
    sb_message_cleanup(&out);
out:
    json_decref(body);
}

static void update_and_answer(struct sb_http_req *r, sb_id conv,
                              const struct sb_conversation_update *u)
{
    struct sb_conversation c = {0};
    struct sb_error err = {0};
    int rc = sb_engine_update(r->srv->engine, r->who.tenant_id, conv, u, &c, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb__http_respond_json(r, 200, sb_render_conversation(&c));
    sb_conversation_cleanup(&c);
}

/* {"agent_id": N} or {"agent_id": "me"}; {"agent_id": null} unassigns (back to the queue). */
void sb__api_conversation_assign(struct sb_http_req *r, const sb_id *id)
{
    json_t *body = r->body_len ? sb__api_body(r) : json_pack("{s:s}", "agent_id", "me");
    if (!body)
        return;
    json_t *a = json_object_get(body, "agent_id");
    struct sb_conversation_update u = {.set_assignee = 1};
    if (json_is_string(a) && !strcmp(json_string_value(a), "me")) {
        if (!r->who.agent_id) {
            sb__http_error(r, SB_EINVAL, "field 'agent_id': \"me\" needs an agent session");
            goto out;
        }
        u.assignee_id = r->who.agent_id;
    } else if (json_is_integer(a) && json_integer_value(a) > 0) {
        struct sb_agent ag;
        if (sb_store_agent_get(r->srv->store, r->who.tenant_id, json_integer_value(a), &ag,
                               NULL)) {
            sb__http_error(r, SB_ENOTFOUND, "field 'agent_id': no such agent");
            goto out;
        }
        u.assignee_id = ag.id;
    } else if (!json_is_null(a)) {
        sb__http_error(r, SB_EINVAL, "field 'agent_id' must be an agent id, \"me\" or null");
        goto out;
    }
    u.status = u.assignee_id ? SB_CONV_ASSIGNED : SB_CONV_QUEUED;
    update_and_answer(r, id[0], &u);
out:
    json_decref(body);
}

/* An optional body {"reason": "..."} records why (shown in the console and reports). */
void sb__api_conversation_resolve(struct sb_http_req *r, const sb_id *id)
{
    json_t *body = r->body_len ? sb__api_body(r) : json_object();
    if (!body)
        return;
    int bad = 0;
    const char *reason =
        sb__api_str(r, body, "reason", 0, SB_STORE_RESOLVE_REASON_MAX - 1, &bad);
    if (!bad) {
        struct sb_conversation_update u = {.status = SB_CONV_RESOLVED, .resolve_reason = reason};
        update_and_answer(r, id[0], &u);
    }
    json_decref(body);
}
