/* SPDX-License-Identifier: MIT */
/*
 * The agent workspace over REST (schema step 3): internal notes on a conversation (agents
 * only, published live to the tenant's agents, never to the customer), the tenant's canned
 * replies, suggested replies from the knowledge base for the customer's latest questions
 * (grounded KB answers with their citations, none when the KB abstains), the SLA setting
 * (first response and resolution targets), and the widget's CSAT rating of a resolved
 * conversation. Also the demo canned replies written at the first start.
 * Every call is scoped to the caller's tenant; a visitor only reaches their own conversations.
 */
#include "api.h"

#include "sb/assist.h"
#include "sb/kb.h"
#include "sb/log.h"
#include "sb/mem.h"
#include "sb/render.h"

#include <stdlib.h>
#include <string.h>

#define NOTES_PAGE_MAX 500
#define SUGGEST_QUESTIONS 3  /* the latest customer messages that are tried */
#define SUGGEST_TEXT_MAX 1024 /* bytes of a customer message sent to the KB */
#define SLA_MAX_S (30 * 86400)
#define SLA_DEFAULT_FIRST_RESPONSE_S 300
#define SLA_DEFAULT_RESOLUTION_S 86400
#define SEEDED_KEY "workspace.seeded"

/* ---- rendering and publishing ---- */

static json_t *render_note(const struct sb_note *n)
{
    return json_pack("{s:I,s:I,s:o,s:s,s:I}", "id", (json_int_t)n->id, "conversation_id",
                     (json_int_t)n->conversation_id, "agent_id",
                     n->agent_id ? json_integer(n->agent_id) : json_null(), "text", n->text,
                     "created_at", (json_int_t)n->created_ms);
}

static json_t *render_canned(const struct sb_canned_reply *c)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:I}", "id", (json_int_t)c->id, "shortcut", c->shortcut,
                     "title", c->title, "text", c->text, "created_at", (json_int_t)c->created_ms);
}

static json_t *render_csat(const struct sb_csat *c)
{
    return json_pack("{s:I,s:i,s:s,s:o,s:I}", "conversation_id", (json_int_t)c->conversation_id,
                     "rating", c->rating, "comment", c->comment ? c->comment : "", "agent_id",
                     c->agent_id ? json_integer(c->agent_id) : json_null(), "created_at",
                     (json_int_t)c->created_ms);
}

/* Publishes an agents-only event {"type": type, "seq": seq, "conversation_id": id, key: v}. */
static void publish_agents(struct sb_http_req *r, const char *type, int64_t seq, sb_id conv,
                           const char *key, json_t *value)
{
    json_t *o = json_pack("{s:s,s:I,s:I,s:o}", "type", type, "seq", (json_int_t)seq,
                          "conversation_id", (json_int_t)conv, key, value);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return;
    struct sb_engine_event ev = {.tenant_id = r->who.tenant_id,
                                 .conversation_id = conv,
                                 .seq = seq,
                                 .type = type,
                                 .json = text,
                                 .agents_only = 1};
    sb__ws_publish(r->srv, &ev);
    free(text);
}

/* ---- notes ---- */

void sb__api_note_list(struct sb_http_req *r, const sb_id *id)
{
    int bad = 0;
    int64_t after = sb__api_query_int(r, "after", 0, 0, INT64_MAX, &bad);
    size_t limit = (size_t)sb__api_query_int(r, "limit", 100, 1, NOTES_PAGE_MAX, &bad);
    if (bad)
        return;
    struct sb_note *ns = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_note_list(r->srv->store, r->who.tenant_id, id[0], after, limit, &ns, &n,
                                &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, render_note(&ns[i]));
    json_t *o = json_pack("{s:o}", "notes", a);
    json_object_set_new(o, "next_after", n == limit ? json_integer(ns[n - 1].id) : json_null());
    sb_note_list_free(ns, n);
    sb__http_respond_json(r, 200, o);
}

void sb__api_note_add(struct sb_http_req *r, const sb_id *id)
{
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *text = sb__api_str(r, body, "text", 1, SB_STORE_NOTE_MAX, &bad);
    if (bad)
        goto out;
    struct sb_note note = {0};
    int64_t seq = 0;
    struct sb_error err = {0};
    int rc = sb_store_note_add(r->srv->store, r->who.tenant_id, id[0], r->who.agent_id, text,
                               &note, &seq, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    publish_agents(r, "note.created", seq, id[0], "note", render_note(&note));
    sb__http_respond_json(r, 201, render_note(&note));
    sb_note_cleanup(&note);
out:
    json_decref(body);
}

/* ---- canned replies ---- */

void sb__api_canned_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_canned_reply *cs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_canned_list(r->srv->store, r->who.tenant_id, &cs, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, render_canned(&cs[i]));
    sb_canned_list_free(cs, n);
    sb__http_respond_json(r, 200, json_pack("{s:o}", "canned_replies", a));
}

void sb__api_canned_create(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *shortcut =
        sb__api_str(r, body, "shortcut", 1, SB_STORE_CANNED_SHORTCUT_MAX - 1, &bad);
    const char *title = sb__api_str(r, body, "title", 1, 127, &bad);
    const char *text = sb__api_str(r, body, "text", 1, SB_STORE_CANNED_TEXT_MAX, &bad);
    if (bad)
        goto out;
    sb_id cid = 0;
    struct sb_error err = {0};
    int rc = sb_store_canned_create(r->srv->store, r->who.tenant_id, shortcut, title, text, &cid,
                                    &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    struct sb_canned_reply c = {.id = cid, .tenant_id = r->who.tenant_id, .text = (char *)text,
                                .created_ms = 0};
    snprintf(c.shortcut, sizeof(c.shortcut), "%s", shortcut);
    snprintf(c.title, sizeof(c.title), "%s", title);
    json_t *o = render_canned(&c);
    json_object_del(o, "created_at");
    sb__http_respond_json(r, 201, o);
out:
    json_decref(body);
}

void sb__api_canned_delete(struct sb_http_req *r, const sb_id *id)
{
    struct sb_error err = {0};
    int rc = sb_store_canned_delete(r->srv->store, r->who.tenant_id, id[0], &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb__http_respond_json(r, 200, json_pack("{s:b}", "deleted", 1));
}

/* Demo canned replies, English and Chinese, written once per tenant (a tenant setting
 * remembers it, so replies an admin deleted do not come back). */
static const struct {
    const char *shortcut, *title, *text;
} demo_canned[] = {
    {"hello", "Greeting", "Hi! Thanks for contacting Demo Shop. How can I help you today?"},
    {"order", "Ask for the order number",
     "Could you send me your order number? It starts with # and is in your confirmation "
     "e-mail."},
    {"refund", "Refund timeline",
     "Your refund has been issued. It usually reaches your account within 5 business days."},
    {"thanks", "Closing", "Thank you for your patience! Is there anything else I can do for you?"},
    {"hello-zh", "问候", "您好！感谢联系 Demo Shop，请问有什么可以帮您？"},
    {"order-zh", "询问订单号", "请提供您的订单号（以 # 开头，可在确认邮件中找到）。"},
    {"refund-zh", "退款时效", "您的退款已经提交，一般会在 5 个工作日内退回原支付账户。"},
    {"thanks-zh", "结束语", "感谢您的耐心等待！请问还有其他可以帮您的吗？"},
};

int sb__workspace_seed(struct sb_store *st, sb_id tenant, struct sb_error *err)
{
    struct sb_tenant t;
    int rc = sb_store_tenant_get(st, tenant, &t, err);
    if (rc)
        return rc;
    if (strcmp(t.slug, "demo") != 0)
        return 0;
    char *v = NULL;
    rc = sb_store_setting_get(st, tenant, SEEDED_KEY, &v, NULL);
    free(v);
    if (rc == 0)
        return 0;
    for (size_t i = 0; i < sizeof(demo_canned) / sizeof(demo_canned[0]); i++) {
        sb_id id;
        rc = sb_store_canned_create(st, tenant, demo_canned[i].shortcut, demo_canned[i].title,
                                    demo_canned[i].text, &id, err);
        if (rc && rc != SB_EEXIST)
            return rc;
    }
    return sb_store_setting_put(st, tenant, SEEDED_KEY, "{\"canned_replies\":true}", err);
}

/* ---- suggested replies ---- */

/* The language the annotator found for a message ("" when none). */
static void message_language(const struct sb_message *m, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *a = sb_render_json_text(m->annotations_json, json_object());
    const char *l = json_string_value(json_object_get(a, "language"));
    if (l && strlen(l) < cap)
        memcpy(out, l, strlen(l) + 1);
    json_decref(a);
}

static json_t *render_citations(const struct sb_kb_answer *a)
{
    json_t *c = json_array();
    for (size_t i = 0; i < a->n_citations; i++)
        json_array_append_new(c, json_pack("{s:s,s:s,s:s}", "doc_id", a->citations[i].doc_id,
                                           "title", a->citations[i].title, "link",
                                           a->citations[i].link ? a->citations[i].link : ""));
    return c;
}

/* Keeps the newest `max` customer messages with text (ring in `keep`, newest last). */
static size_t latest_questions(struct sb_server *s, sb_id tenant, sb_id conv,
                               struct sb_message *keep, size_t max, struct sb_error *err,
                               int *rc)
{
    size_t kept = 0;
    sb_id after = 0;
    *rc = 0;
    for (int page = 0; page < 40; page++) {
        struct sb_message *ms = NULL;
        size_t n = 0;
        if ((*rc = sb_store_message_list(s->store, tenant, conv, after, 500, &ms, &n, err)))
            break;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(ms[i].sender_kind, SB_SENDER_CUSTOMER) != 0 || !ms[i].text ||
                !ms[i].text[0])
                continue;
            if (kept == max) {
                sb_message_cleanup(&keep[0]);
                memmove(keep, keep + 1, (max - 1) * sizeof(*keep));
                kept--;
            }
            keep[kept++] = ms[i];
            memset(&ms[i], 0, sizeof(ms[i])); /* moved */
        }
        after = n ? ms[n - 1].id : after;
        sb_message_list_free(ms, n);
        if (n < 500)
            break;
    }
    return kept;
}

void sb__api_conversation_suggestions(struct sb_http_req *r, const sb_id *id)
{
    struct sb_server *s = r->srv;
    struct sb_error err = {0};
    struct sb_conversation c = {0};
    int rc = sb_store_conversation_get(s->store, r->who.tenant_id, id[0], &c, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb_conversation_cleanup(&c);
    json_t *out = json_object(), *list = json_array();
    json_object_set_new(out, "suggestions", list);
    json_object_set_new(out, "related", json_array());
    struct sb_kb *kb = s->opt.assist ? s->opt.assist->kb : NULL;
    if (!kb) {
        json_object_set_new(out, "knowledge_base", json_string("off"));
        sb__http_respond_json(r, 200, out);
        return;
    }
    json_object_set_new(out, "knowledge_base", json_string("on"));
    struct sb_message qs[SUGGEST_QUESTIONS];
    memset(qs, 0, sizeof(qs));
    size_t nq = latest_questions(s, r->who.tenant_id, id[0], qs, SUGGEST_QUESTIONS, &err, &rc);
    if (rc) {
        json_decref(out);
        for (size_t i = 0; i < nq; i++)
            sb_message_cleanup(&qs[i]);
        sb__api_store_error(r, &err, rc);
        return;
    }
    /* newest first; one suggestion per KB entry (a repeated question gives the same one) */
    for (size_t k = nq; k-- > 0;) {
        char q[SUGGEST_TEXT_MAX + 1], lang[16];
        size_t len = strlen(qs[k].text);
        if (len > SUGGEST_TEXT_MAX) {
            len = SUGGEST_TEXT_MAX;
            while (len && ((unsigned char)qs[k].text[len] & 0xC0) == 0x80)
                len--; /* cut on a character boundary */
        }
        memcpy(q, qs[k].text, len);
        q[len] = '\0';
        message_language(&qs[k], lang, sizeof(lang));
        struct sb_kb_answer *a = NULL;
        if (sb_kb_answer(kb, r->who.tenant_id, q, lang[0] ? lang : NULL, &a, &err) != 0) {
            SB_LOG(SB_LOG_WARN, "api", "suggestions: kb answer failed: %s", err.msg);
            continue;
        }
        if (a->decision == SB_KB_ANSWER && a->text && a->n_citations) {
            int dup = 0;
            for (size_t j = 0; j < json_array_size(list); j++) {
                json_t *prev = json_array_get(json_object_get(json_array_get(list, j), "citations"), 0);
                if (!strcmp(json_string_value(json_object_get(prev, "doc_id")),
                            a->citations[0].doc_id))
                    dup = 1;
            }
            if (!dup)
                json_array_append_new(
                    list, json_pack("{s:s,s:f,s:o,s:{s:I,s:s}}", "text", a->text, "confidence",
                                    a->confidence, "citations", render_citations(a), "question",
                                    "message_id", (json_int_t)qs[k].id, "text", q));
        } else if (k == nq - 1) {
            /* the latest question had no supported answer: the closest entries are shown as
             * reading for the agent, never as a reply */
            json_object_set_new(out, "related", render_citations(a));
        }
        sb_kb_answer_free(a);
    }
    for (size_t i = 0; i < nq; i++)
        sb_message_cleanup(&qs[i]);
    sb__http_respond_json(r, 200, out);
}

/* ---- SLA setting ---- */

static json_t *sla_value(struct sb_store *st, sb_id tenant)
{
    char *v = NULL;
    json_t *o = NULL;
    if (sb_store_setting_get(st, tenant, "sla", &v, NULL) == 0) {
        o = sb_render_json_text(v, json_object());
        free(v);
    }
    if (!o)
        o = json_object();
    if (!json_is_integer(json_object_get(o, "first_response_s")))
        json_object_set_new(o, "first_response_s", json_integer(SLA_DEFAULT_FIRST_RESPONSE_S));
    if (!json_is_integer(json_object_get(o, "resolution_s")))
        json_object_set_new(o, "resolution_s", json_integer(SLA_DEFAULT_RESOLUTION_S));
    return o;
}

void sb__api_sla_get(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    sb__http_respond_json(r, 200, sla_value(r->srv->store, r->who.tenant_id));
}

void sb__api_sla_put(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    static const char *const fields[] = {"first_response_s", "resolution_s"};
    json_t *cur = sla_value(r->srv->store, r->who.tenant_id);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, fields[0]) && strcmp(key, fields[1])) {
            sb__http_error(r, SB_EINVAL, "unknown field '%.64s' (first_response_s, resolution_s)",
                           key);
            goto out;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > SLA_MAX_S) {
            sb__http_error(r, SB_EINVAL, "field '%s' must be an integer from 0 (off) to %d",
                           key, SLA_MAX_S);
            goto out;
        }
        json_object_set(cur, key, v);
    }
    char *text = json_dumps(cur, JSON_COMPACT);
    struct sb_error err = {0};
    int rc = sb_store_setting_put(r->srv->store, r->who.tenant_id, "sla", text, &err);
    free(text);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    sb__http_respond_json(r, 200, json_incref(cur));
out:
    json_decref(cur);
    json_decref(body);
}

/* ---- CSAT from the widget ---- */

/* The visitor's conversation: `want` (0 = the latest) if it is theirs. */
static int visitor_conversation(struct sb_http_req *r, sb_id want, struct sb_conversation *out)
{
    struct sb_server *s = r->srv;
    struct sb_contact k = {0};
    if (sb_store_contact_find(s->store, r->who.tenant_id, r->who.inbox_id, r->who.visitor, &k,
                              NULL) != 0)
        return SB_ENOTFOUND;
    sb_id contact = k.id;
    sb_contact_cleanup(&k);
    if (want) {
        int rc = sb_store_conversation_get(s->store, r->who.tenant_id, want, out, NULL);
        if (rc)
            return rc;
        if (out->contact_id != contact || out->inbox_id != r->who.inbox_id) {
            sb_conversation_cleanup(out);
            return SB_ENOTFOUND; /* another visitor's: not found, not forbidden */
        }
        return 0;
    }
    struct sb_conversation_filter f = {.contact_id = contact, .limit = 1};
    struct sb_conversation *cs = NULL;
    size_t n = 0;
    int rc = sb_store_conversation_list(s->store, r->who.tenant_id, &f, &cs, &n, NULL);
    if (rc)
        return rc;
    if (!n)
        return SB_ENOTFOUND;
    *out = cs[0];
    memset(&cs[0], 0, sizeof(cs[0]));
    sb_conversation_list_free(cs, n);
    return 0;
}

void sb__api_widget_csat_get(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    int bad = 0;
    sb_id want = sb__api_query_int(r, "conversation", 0, 1, INT64_MAX, &bad);
    if (bad)
        return;
    struct sb_conversation c = {0};
    if (visitor_conversation(r, want, &c)) {
        sb__http_error(r, SB_ENOTFOUND, "no such conversation for this visitor");
        return;
    }
    json_t *o = json_pack("{s:I,s:s}", "conversation_id", (json_int_t)c.id, "status", c.status);
    struct sb_csat x = {0};
    if (sb_store_csat_get(r->srv->store, r->who.tenant_id, c.id, &x, NULL) == 0) {
        json_t *rated = render_csat(&x);
        json_object_del(rated, "agent_id");
        json_object_set_new(o, "csat", rated);
        sb_csat_cleanup(&x);
    } else {
        json_object_set_new(o, "csat", json_null());
    }
    json_object_set_new(o, "can_rate",
                        json_boolean(!strcmp(c.status, SB_CONV_RESOLVED) &&
                                     json_is_null(json_object_get(o, "csat"))));
    sb_conversation_cleanup(&c);
    sb__http_respond_json(r, 200, o);
}

void sb__api_widget_csat_post(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    json_t *jr = json_object_get(body, "rating"), *jc = json_object_get(body, "conversation_id");
    const char *comment = sb__api_str(r, body, "comment", 0, SB_STORE_CSAT_COMMENT_MAX, &bad);
    if (bad)
        goto out;
    if (!json_is_integer(jr) || json_integer_value(jr) < 1 || json_integer_value(jr) > 5) {
        sb__http_error(r, SB_EINVAL, "field 'rating' must be an integer from 1 to 5");
        goto out;
    }
    if (jc && !json_is_null(jc) && (!json_is_integer(jc) || json_integer_value(jc) < 1)) {
        sb__http_error(r, SB_EINVAL, "field 'conversation_id' must be a conversation id");
        goto out;
    }
    struct sb_conversation c = {0};
    if (visitor_conversation(r, json_is_integer(jc) ? json_integer_value(jc) : 0, &c)) {
        sb__http_error(r, SB_ENOTFOUND, "no such conversation for this visitor");
        goto out;
    }
    struct sb_csat x = {0};
    int64_t seq = 0;
    struct sb_error err = {0};
    int rc = sb_store_csat_put(r->srv->store, r->who.tenant_id, c.id,
                               (int)json_integer_value(jr), comment, &x, &seq, &err);
    sb_id conv = c.id;
    sb_conversation_cleanup(&c);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    publish_agents(r, "csat.created", seq, conv, "csat", render_csat(&x));
    json_t *o = render_csat(&x);
    json_object_del(o, "agent_id"); /* the customer is not told internal ids */
    sb__http_respond_json(r, 201, o);
    sb_csat_cleanup(&x);
out:
    json_decref(body);
}
