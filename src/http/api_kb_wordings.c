/* SPDX-License-Identifier: MIT */
/*
 * Teaching the knowledge base from the console (docs/kb.md, "Learned phrasings"): any agent
 * proposes that a customer message was answered by a KB entry (POST /api/v1/kb/wordings with
 * the message id and the entry; the wording is the message's text with its PII cut out, taken
 * from the store, never from the request); supervisors list the proposals and approve them
 * (the wording becomes a question phrasing of the entry, live at once) or dismiss them. The
 * message, the entry and the proposal are all looked up within the caller's tenant.
 * PII is removed here, in the HTTP layer, because the KB module does not link the NLU.
 */
#include "api.h"

#include "sb/kb.h"
#include "sb/mem.h"
#include "sb/nlu.h"
#include "sb/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 500
#define AGENTS_CACHED 16

/* A small per-request cache of agent names for rendering lists. */
struct names {
    sb_id id[AGENTS_CACHED];
    char name[AGENTS_CACHED][256];
    size_t n;
};

static json_t *agent_json(struct sb_http_req *r, sb_id id, struct names *c)
{
    if (!id)
        return json_null();
    for (size_t i = 0; i < c->n; i++) {
        if (c->id[i] == id)
            return json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", c->name[i]);
    }
    struct sb_agent a;
    memset(&a, 0, sizeof(a));
    const char *name = "";
    if (sb_store_agent_get(r->srv->store, r->who.tenant_id, id, &a, NULL) == 0)
        name = a.name[0] ? a.name : a.email;
    if (c->n < AGENTS_CACHED) {
        c->id[c->n] = id;
        snprintf(c->name[c->n], sizeof(c->name[0]), "%s", name);
        c->n++;
    }
    return json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", name);
}

static json_t *render(struct sb_http_req *r, struct sb_kb *kb, const struct sb_kb_wording *w,
                      struct names *c)
{
    struct sb_kb_doc d = {0};
    int have = sb_kb_get(kb, r->who.tenant_id, w->entry, &d, NULL) == 0;
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:s,s:I,s:o,s:s,s:I}", "id", (json_int_t)w->id, "entry", w->entry,
        "entry_title", have && d.title ? d.title : "", "wording", w->wording, "message_id",
        (json_int_t)w->message_id, "proposed_by", agent_json(r, w->agent_id, c), "status",
        sb_kb_wording_status_name(w->status), "created_at", (json_int_t)w->created_ms);
    json_object_set_new(o, "decided_by", w->status ? agent_json(r, w->decided_by, c) : json_null());
    json_object_set_new(o, "decided_at", w->status ? json_integer(w->decided_ms) : json_null());
    if (have)
        sb_kb_doc_cleanup(&d);
    return o;
}

/* The customer's text with every PII span (e-mail, phone, card, id, IBAN) replaced by "…":
 * a phrasing must not carry personal data, nor tags the analyser would index as words.
 * NULL when the text could not be checked (then nothing is stored). */
static char *without_pii(const char *text)
{
    struct sb_nlu_span *spans = NULL;
    size_t n = 0, len = strlen(text);
    char *masked = NULL;
    if (sb_nlu_redact(text, len, NULL, SB_NLU_PII_MASK, &masked, &spans, &n) != 0) {
        free(masked);
        free(spans);
        return NULL;
    }
    free(masked);
    struct sb_buf b;
    sb_buf_init(&b, 0);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (spans[i].start < at || spans[i].end > len || spans[i].end < spans[i].start)
            continue; /* spans are sorted and disjoint; be safe anyway */
        sb_buf_append(&b, text + at, spans[i].start - at);
        sb_buf_appends(&b, "…");
        at = spans[i].end;
    }
    sb_buf_append(&b, text + at, len - at);
    free(spans);
    sb_buf_appends(&b, "");
    return sb_buf_steal(&b, NULL);
}

/* POST /api/v1/kb/wordings {"message_id": N, "entry": "faq-..."} */
void sb__api_kb_wording_propose(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    json_t *body = kb ? sb__api_body(r) : NULL;
    if (!body)
        return;
    int bad = 0;
    struct sb_message m;
    memset(&m, 0, sizeof(m));
    int have_msg = 0;
    char *text = NULL;
    const char *entry = sb__api_str(r, body, "entry", 1, SB_KB_ID_MAX, &bad);
    if (bad)
        goto out;
    json_t *mid = json_object_get(body, "message_id");
    if (!json_is_integer(mid) || json_integer_value(mid) <= 0) {
        sb__http_error(r, SB_EINVAL, "field 'message_id' must be a positive integer");
        goto out;
    }
    sb_id msg_id = json_integer_value(mid);
    struct sb_error err = {0};
    int rc = sb_store_message_get(r->srv->store, r->who.tenant_id, msg_id, &m, &err);
    if (rc == SB_ENOTFOUND) {
        sb__http_error(r, rc, "field 'message_id': no message %lld", (long long)msg_id);
        goto out;
    }
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    have_msg = 1;
    if (strcmp(m.sender_kind, SB_SENDER_CUSTOMER) != 0) {
        sb__http_error(r, SB_EINVAL, "field 'message_id': message %lld is not a customer's message",
                       (long long)msg_id);
        goto out;
    }
    if (!m.text || !m.text[0]) {
        sb__http_error(r, SB_EINVAL, "field 'message_id': message %lld has no text",
                       (long long)msg_id);
        goto out;
    }
    if (strlen(m.text) > SB_KB_WORDING_MAX) {
        sb__http_error(r, SB_ETOOBIG,
                       "field 'message_id': the text of message %lld is longer than %d bytes; "
                       "a learned phrasing is one question",
                       (long long)msg_id, SB_KB_WORDING_MAX);
        goto out;
    }
    text = without_pii(m.text);
    if (!text) {
        sb__http_error(r, SB_EINTERNAL,
                       "the message's text could not be checked for personal "
                       "data; nothing was stored");
        goto out;
    }
    struct sb_kb_wording w = {0};
    int created = 0;
    rc = sb_kb_wording_propose(kb, r->who.tenant_id, entry, text, msg_id, r->who.agent_id, &w,
                               &created, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    struct names c = {0};
    json_t *o = render(r, kb, &w, &c);
    json_object_set_new(o, "created", json_boolean(created));
    sb_kb_wording_cleanup(&w);
    sb__http_respond_json(r, created ? 201 : 200, o);
out:
    free(text);
    if (have_msg)
        sb_message_cleanup(&m);
    json_decref(body);
}

/* GET /api/v1/kb/wordings?status=pending|approved|dismissed|all&limit=&before= */
void sb__api_kb_wording_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    if (!kb)
        return;
    char st[16] = "pending";
    int bad = 0;
    sb__http_query(r, "status", st, sizeof(st));
    int status = strcmp(st, "all") == 0 ? -1 : sb_kb_wording_status_parse(st);
    if (status == -1 && strcmp(st, "all") != 0) {
        sb__http_error(r, SB_EINVAL,
                       "query parameter 'status' must be pending, approved, "
                       "dismissed or all");
        return;
    }
    size_t limit = (size_t)sb__api_query_int(r, "limit", 100, 1, LIST_MAX, &bad);
    int64_t before = sb__api_query_int(r, "before", 0, 0, INT64_MAX, &bad);
    if (bad)
        return;
    struct sb_kb_wording *w = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_kb_wording_list(kb, r->who.tenant_id, status, before, limit, &w, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    struct names c = {0};
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, render(r, kb, &w[i], &c));
    json_t *o = json_pack("{s:o}", "wordings", a);
    json_object_set_new(o, "next_before", n == limit ? json_integer(w[n - 1].id) : json_null());
    sb_kb_wordings_free(w, n);
    sb__http_respond_json(r, 200, o);
}

static void decide(struct sb_http_req *r, sb_id wid, int approve)
{
    struct sb_kb *kb = sb__api_kb(r);
    if (!kb)
        return;
    struct sb_kb_wording w = {0};
    struct sb_error err = {0};
    int rc = approve ? sb_kb_wording_approve(kb, r->who.tenant_id, wid, r->who.agent_id, &w, &err)
                     : sb_kb_wording_dismiss(kb, r->who.tenant_id, wid, r->who.agent_id, &w, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    struct names c = {0};
    json_t *o = render(r, kb, &w, &c);
    sb_kb_wording_cleanup(&w);
    sb__http_respond_json(r, 200, o);
}

void sb__api_kb_wording_approve(struct sb_http_req *r, const sb_id *id)
{
    decide(r, id[0], 1);
}

void sb__api_kb_wording_dismiss(struct sb_http_req *r, const sb_id *id)
{
    decide(r, id[0], 0);
}
