/* SPDX-License-Identifier: MIT */
/*
 * Customer messages in: the generic API channel (POST /api/v1/messages, with an API key) and
 * the web widget (visitor sessions and their messages). Both hand the message to the engine
 * and answer only once it is durably stored; with "wait_reply" the answer also carries the
 * bot's reply, waiting at most wait_reply_ms.
 */
#include "api.h"

#include "sb/clock.h"
#include "sb/mem.h"
#include "sb/render.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT_BYTES 16384
#define MAX_ID_BYTES 256
#define MAX_NAME_BYTES 127

struct ingest_ctx {
    struct sb_http_req *r;
    int wait_reply;
    int bind_visitor;
};

static json_t *result_json(const struct sb_ingest_result *res)
{
    json_t *o = json_object();
    json_object_set_new(o, "conversation_id", json_integer(res->conversation_id));
    json_object_set_new(o, "message_id", json_integer(res->message_id));
    json_object_set_new(o, "duplicate", json_boolean(res->duplicate));
    return o;
}

static void on_commit(void *ud, const struct sb_ingest_result *res)
{
    struct ingest_ctx *ctx = ud;
    struct sb_http_req *r = ctx->r;
    if (res->rc) {
        if (res->rc == SB_ENOTFOUND)
            sb__http_error(r, res->rc, "inbox not found");
        else
            sb__http_error(r, res->rc, "the message could not be stored");
    } else {
        if (ctx->bind_visitor)
            sb__ws_bind_visitor(r->srv, &r->who, res->contact_id);
        json_t *o = result_json(res);
        if (ctx->wait_reply && !res->duplicate) {
            r->pending = json_dumps(o, JSON_COMPACT); /* completed by on_reply or the loop */
            json_decref(o);
            int64_t wait_ms = sb_config_int(r->srv->cfg, "wait_reply_ms");
            sb__http_arm_wait(r, sb_mono_ns() + wait_ms * 1000000);
            return;
        }
        sb__http_respond_json(r, res->duplicate ? 200 : 201, o);
    }
    if (!ctx->wait_reply) {
        sb__http_req_unref(r);
        free(ctx);
    }
}

static void on_reply(void *ud, int rc, const struct sb_message *reply)
{
    struct ingest_ctx *ctx = ud;
    struct sb_http_req *r = ctx->r;
    if (r->pending && !atomic_load(&r->responded)) {
        json_t *o = json_loads(r->pending, 0, NULL);
        json_object_set_new(o, "reply", reply ? sb_render_message(reply) : json_null());
        if (rc)
            json_object_set_new(o, "reply_error", json_string(sb_err_name(rc)));
        sb__http_respond_json(r, 201, o);
    }
    sb__http_req_unref(r);
    free(ctx);
}

/* Hands one message to the engine; answers now on failure, later otherwise. */
static void ingest(struct sb_http_req *r, const struct sb_ingest *in, int wait_reply,
                   int bind_visitor)
{
    struct ingest_ctx *ctx = sb_calloc(1, sizeof(*ctx));
    ctx->r = r;
    ctx->wait_reply = wait_reply;
    ctx->bind_visitor = bind_visitor;
    sb__http_req_ref(r); /* the engine callbacks' reference */
    if (sb_engine_ingest(r->srv->engine, in, on_commit, wait_reply ? on_reply : NULL, ctx)) {
        sb__http_req_unref(r);
        free(ctx);
        sb__http_error(r, SB_EBUSY, "server is shutting down");
    }
}

static int wait_flag(struct sb_http_req *r, json_t *body, int *bad)
{
    json_t *w = json_object_get(body, "wait_reply");
    if (w && !json_is_boolean(w)) {
        *bad = 1;
        sb__http_error(r, SB_EINVAL, "field 'wait_reply' must be true or false");
        return 0;
    }
    return json_is_true(w);
}

static sb_id resolve_inbox(struct sb_http_req *r, const char *name)
{
    struct sb_server *s = r->srv;
    if (!name && r->who.tenant_id == s->opt.default_tenant)
        return s->opt.default_api_inbox;
    struct sb_inbox ib = {0};
    struct sb_error err = {0};
    int rc = sb_store_inbox_find(s->store, r->who.tenant_id, name ? name : "api", &ib, &err);
    if (rc) {
        if (rc == SB_ENOTFOUND)
            sb__http_error(r, rc, "field 'inbox': no inbox named '%s'", name ? name : "api");
        else
            sb__api_store_error(r, &err, rc);
        return 0;
    }
    sb_id id = ib.id;
    sb_inbox_cleanup(&ib);
    return id;
}

void sb__api_message_post(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    json_t *customer = json_object_get(body, "customer");
    if (!json_is_object(customer)) {
        sb__http_error(r, SB_EINVAL, "field 'customer' must be an object with an 'id'");
        goto out;
    }
    const char *inbox = sb__api_str(r, body, "inbox", 0, MAX_NAME_BYTES, &bad);
    const char *cust_id = sb__api_str(r, customer, "id", 1, MAX_ID_BYTES, &bad);
    const char *cust_name = sb__api_str(r, customer, "name", 0, MAX_NAME_BYTES, &bad);
    const char *msg_id = sb__api_str(r, body, "message_id", 0, MAX_ID_BYTES, &bad);
    const char *text = sb__api_str(r, body, "text", 1, MAX_TEXT_BYTES, &bad);
    int wait = wait_flag(r, body, &bad);
    if (bad)
        goto out;
    sb_id inbox_id = resolve_inbox(r, inbox);
    if (!inbox_id)
        goto out;
    struct sb_ingest in = {
        .tenant_id = r->who.tenant_id,
        .inbox_id = inbox_id,
        .provider_msg_id = msg_id && *msg_id ? msg_id : NULL,
        .customer_ext_id = cust_id,
        .customer_name = cust_name,
        .text = text,
    };
    ingest(r, &in, wait, 0);
out:
    json_decref(body);
}

/* ---- the web widget ---- */

void sb__api_widget_session(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_server *s = r->srv;
    struct sb_principal who;
    json_t *body = r->body_len ? sb__api_body(r) : json_object();
    if (!body)
        return;
    int bad = 0;
    const char *token = sb__api_str(r, body, "visitor_token", 0, 400, &bad);
    if (bad)
        goto out;
    char *fresh = NULL;
    if (!token || sb__visitor_token_check(s, token, &who) != 0) {
        unsigned char raw[12];
        char visitor[25];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(visitor, sizeof(visitor), raw, sizeof(raw));
        fresh = sb__visitor_token_new(s, s->opt.default_tenant, s->opt.default_web_inbox,
                                      visitor);
        token = fresh;
        sb__visitor_token_check(s, token, &who);
    }
    json_t *o = json_object();
    json_object_set_new(o, "visitor_token", json_string(token));
    json_object_set_new(o, "visitor_id", json_string(who.visitor));
    json_object_set_new(o, "inbox_id", json_integer(who.inbox_id));
    sb__http_respond_json(r, fresh ? 201 : 200, o);
    free(fresh);
out:
    json_decref(body);
}

void sb__api_widget_message_post(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *text = sb__api_str(r, body, "text", 1, MAX_TEXT_BYTES, &bad);
    const char *msg_id = sb__api_str(r, body, "message_id", 0, MAX_ID_BYTES, &bad);
    const char *name = sb__api_str(r, body, "name", 0, MAX_NAME_BYTES, &bad);
    int wait = wait_flag(r, body, &bad);
    if (bad)
        goto out;
    char default_name[48];
    snprintf(default_name, sizeof(default_name), "Visitor %.6s", r->who.visitor);
    struct sb_ingest in = {
        .tenant_id = r->who.tenant_id,
        .inbox_id = r->who.inbox_id,
        .provider_msg_id = msg_id && *msg_id ? msg_id : NULL,
        .customer_ext_id = r->who.visitor,
        .customer_name = name && *name ? name : default_name,
        .text = text,
    };
    ingest(r, &in, wait, 1);
out:
    json_decref(body);
}

/* The visitor's latest conversation and its messages after `after`. Internal notes (messages
 * "in" from an agent or the system) are not shown to customers. */
void sb__api_widget_messages(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_server *s = r->srv;
    int bad = 0;
    int64_t after = sb__api_query_int(r, "after", 0, 0, INT64_MAX, &bad);
    if (bad)
        return;
    json_t *o = json_object();
    json_t *list = json_array();
    struct sb_contact c = {0};
    struct sb_conversation *cs = NULL;
    size_t n = 0;
    if (sb_store_contact_find(s->store, r->who.tenant_id, r->who.inbox_id, r->who.visitor, &c,
                              NULL) == 0) {
        struct sb_conversation_filter f = {.contact_id = c.id, .limit = 1};
        if (sb_store_conversation_list(s->store, r->who.tenant_id, &f, &cs, &n, NULL) == 0 && n) {
            struct sb_message *ms = NULL;
            size_t nm = 0;
            if (sb_store_message_list(s->store, r->who.tenant_id, cs[0].id, after, 500, &ms, &nm,
                                      NULL) == 0) {
                for (size_t i = 0; i < nm; i++)
                    if (strcmp(ms[i].sender_kind, SB_SENDER_CUSTOMER) == 0 ||
                        strcmp(ms[i].direction, SB_DIR_OUT) == 0)
                        json_array_append_new(list, sb_render_message(&ms[i]));
                sb_message_list_free(ms, nm);
            }
            json_object_set_new(o, "conversation", sb_render_conversation(&cs[0]));
        }
        sb_conversation_list_free(cs, n);
        sb_contact_cleanup(&c);
    }
    json_object_set_new(o, "messages", list);
    sb__http_respond_json(r, 200, o);
}
