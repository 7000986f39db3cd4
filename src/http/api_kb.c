/* SPDX-License-Identifier: MIT */
/*
 * The knowledge base over REST: search, the bot's answer for a question (with citations),
 * entries (list, get, create or replace, delete — live at once, no restart), import of a file's
 * bytes, and the gap report of questions the bot could not answer. Scoped to the caller's
 * tenant like everything else.
 */
#include "api.h"

#include "sb/kb.h"
#include "sb/mem.h"
#include "sb/render.h"

#include <stdlib.h>
#include <string.h>

#define QUERY_MAX 1024

static const char *const kind_names[] = {"", "faq", "section", "product"};

struct sb_kb *sb__api_kb(struct sb_http_req *r)
{
    struct sb_kb *kb = r->srv->opt.assist ? r->srv->opt.assist->kb : NULL;
    if (!kb)
        sb__http_error(r, SB_EUNSUPPORTED,
                       "the knowledge base is off (serve with --bot-policy assist)");
    return kb;
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

static json_t *render_doc(const struct sb_kb_doc *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(d->id));
    json_object_set_new(o, "kind",
                        json_string(d->kind >= 1 && d->kind <= 3 ? kind_names[d->kind] : "?"));
    json_object_set_new(o, "parent", str_or_empty(d->parent));
    json_object_set_new(o, "collection", str_or_empty(d->collection));
    json_object_set_new(o, "lang", str_or_empty(d->lang));
    json_object_set_new(o, "title", str_or_empty(d->title));
    json_t *qs = json_array();
    for (const char *p = d->questions; p && *p;) {
        size_t n = strcspn(p, "\n");
        if (n)
            json_array_append_new(qs, json_stringn(p, n));
        p += n + (p[n] == '\n');
    }
    json_object_set_new(o, "questions", qs);
    json_object_set_new(o, "heading", str_or_empty(d->heading));
    json_object_set_new(o, "body", str_or_empty(d->body));
    json_object_set_new(o, "link", str_or_empty(d->link));
    json_object_set_new(o, "sku", str_or_empty(d->sku));
    json_object_set_new(o, "price", str_or_empty(d->price));
    json_object_set_new(o, "attributes", sb_render_json_text(d->attrs_json, json_object()));
    json_object_set_new(o, "updated_at", json_integer(d->updated_ms));
    return o;
}

static json_t *render_citations(const struct sb_kb_citation *c, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "doc_id", c[i].doc_id, "title",
                                           c[i].title, "link", c[i].link));
    return a;
}

/* The `q` query parameter, or NULL after answering 400. */
static const char *question(struct sb_http_req *r, char *buf, size_t cap)
{
    if (!sb__http_query(r, "q", buf, cap) || !buf[0]) {
        sb__http_error(r, SB_EINVAL, "query parameter 'q' (the question) is required");
        return NULL;
    }
    return buf;
}

void sb__api_kb_search(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    char q[QUERY_MAX], lang[16] = "";
    int bad = 0;
    if (!kb || !question(r, q, sizeof(q)))
        return;
    size_t k = (size_t)sb__api_query_int(r, "k", 10, 1, 100, &bad);
    if (bad)
        return;
    sb__http_query(r, "lang", lang, sizeof(lang));
    struct sb_kb_hit *hits = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_kb_search(kb, r->who.tenant_id, q, lang[0] ? lang : NULL, k, &hits, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:f}", "id", hits[i].id,
                                           "kind", kind_names[hits[i].kind % 4], "title",
                                           hits[i].title, "heading", hits[i].heading, "link",
                                           hits[i].link, "score", hits[i].score));
    sb_kb_hits_free(hits, n);
    sb__http_respond_json(r, 200, json_pack("{s:o}", "hits", a));
}

void sb__api_kb_answer(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    char q[QUERY_MAX], lang[16] = "";
    if (!kb || !question(r, q, sizeof(q)))
        return;
    sb__http_query(r, "lang", lang, sizeof(lang));
    struct sb_kb_answer *a = NULL;
    struct sb_error err = {0};
    int rc = sb_kb_answer(kb, r->who.tenant_id, q, lang[0] ? lang : NULL, &a, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *o = json_pack("{s:s,s:f,s:o}", "decision",
                          a->decision == SB_KB_ANSWER ? "answer" : "abstain", "confidence",
                          a->confidence, "citations",
                          render_citations(a->citations, a->n_citations));
    json_object_set_new(o, "text", a->text ? json_string(a->text) : json_null());
    sb_kb_answer_free(a);
    sb__http_respond_json(r, 200, o);
}

void sb__api_kb_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    char after[256] = "";
    int bad = 0;
    if (!kb)
        return;
    size_t limit = (size_t)sb__api_query_int(r, "limit", 100, 1, 1000, &bad);
    if (bad)
        return;
    sb__http_query(r, "after", after, sizeof(after));
    struct sb_kb_doc *docs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_kb_list(kb, r->who.tenant_id, after, limit, &docs, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, render_doc(&docs[i]));
    json_t *o = json_pack("{s:o,s:I}", "entries", a, "total",
                          (json_int_t)sb_kb_count(kb, r->who.tenant_id));
    json_object_set_new(o, "next_after", n == limit ? json_string(docs[n - 1].id) : json_null());
    sb_kb_doc_list_free(docs, n);
    sb__http_respond_json(r, 200, o);
}

void sb__api_kb_get(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    if (!kb)
        return;
    struct sb_kb_doc d = {0};
    struct sb_error err = {0};
    int rc = sb_kb_get(kb, r->who.tenant_id, r->key, &d, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb__http_respond_json(r, 200, render_doc(&d));
    sb_kb_doc_cleanup(&d);
}

/* Joins the "questions" array into the newline-separated form the KB stores. */
static int join_questions(struct sb_http_req *r, json_t *qs, struct sb_buf *out)
{
    if (!qs || json_is_null(qs))
        return 0;
    if (!json_is_array(qs)) {
        sb__http_error(r, SB_EINVAL, "field 'questions' must be an array of strings");
        return -1;
    }
    size_t i;
    json_t *q;
    json_array_foreach(qs, i, q) {
        const char *s = json_string_value(q);
        if (!s || strchr(s, '\n')) {
            sb__http_error(r, SB_EINVAL, "field 'questions[%zu]' must be a one-line string", i);
            return -1;
        }
        if (sb_buf_appendf(out, "%s%s", out->len ? "\n" : "", s)) {
            sb__http_error(r, SB_ETOOBIG, "field 'questions' is too long");
            return -1;
        }
    }
    return 0;
}

void sb__api_kb_put(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    json_t *body = kb ? sb__api_body(r) : NULL;
    if (!body)
        return;
    int bad = 0;
    struct sb_kb_doc d = {.id = r->key};
    const char *kind = sb__api_str(r, body, "kind", 1, 16, &bad);
    d.title = (char *)sb__api_str(r, body, "title", 1, SB_KB_TEXT_MAX, &bad);
    d.body = (char *)sb__api_str(r, body, "body", 0, SB_KB_TEXT_MAX, &bad);
    d.parent = (char *)sb__api_str(r, body, "parent", 0, SB_KB_ID_MAX, &bad);
    d.collection = (char *)sb__api_str(r, body, "collection", 0, 128, &bad);
    d.lang = (char *)sb__api_str(r, body, "lang", 0, 16, &bad);
    d.heading = (char *)sb__api_str(r, body, "heading", 0, 4096, &bad);
    d.link = (char *)sb__api_str(r, body, "link", 0, 2048, &bad);
    d.sku = (char *)sb__api_str(r, body, "sku", 0, 128, &bad);
    d.price = (char *)sb__api_str(r, body, "price", 0, 128, &bad);
    struct sb_buf qs;
    sb_buf_init(&qs, SB_KB_TEXT_MAX);
    char *attrs = NULL;
    if (bad)
        goto out;
    for (d.kind = 1; d.kind <= 3 && strcmp(kind, kind_names[d.kind]); d.kind++)
        ;
    if (d.kind > 3) {
        sb__http_error(r, SB_EINVAL, "field 'kind' must be faq, section or product");
        goto out;
    }
    if (join_questions(r, json_object_get(body, "questions"), &qs))
        goto out;
    d.questions = qs.data;
    json_t *a = json_object_get(body, "attributes");
    if (a && !json_is_object(a)) {
        sb__http_error(r, SB_EINVAL, "field 'attributes' must be an object");
        goto out;
    }
    attrs = a ? json_dumps(a, JSON_COMPACT) : NULL;
    d.attrs_json = attrs;
    struct sb_error err = {0};
    int rc = sb_kb_put(kb, r->who.tenant_id, &d, 1, &err);
    if (rc) {
        sb__http_error(r, rc == SB_EIO || rc == SB_ESTORE ? rc : SB_EINVAL, "%s", err.msg);
        goto out;
    }
    struct sb_kb_doc stored = {0};
    if (sb_kb_get(kb, r->who.tenant_id, r->key, &stored, &err) == 0) {
        sb__http_respond_json(r, 200, render_doc(&stored));
        sb_kb_doc_cleanup(&stored);
    } else {
        sb__api_store_error(r, &err, SB_ESTORE);
    }
out:
    free(attrs);
    sb_buf_cleanup(&qs);
    json_decref(body);
}

void sb__api_kb_delete(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    if (!kb)
        return;
    struct sb_error err = {0};
    int rc = sb_kb_delete(kb, r->who.tenant_id, r->key, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb__http_respond_json(r, 200, json_pack("{s:s,s:b}", "id", r->key, "deleted", 1));
}

/* POST /api/v1/kb/import?name=FILE.ext with the file's bytes as the body. */
void sb__api_kb_import(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    char name[256];
    if (!kb)
        return;
    if (!sb__http_query(r, "name", name, sizeof(name)) || !strchr(name, '.')) {
        sb__http_error(r, SB_EINVAL, "query parameter 'name' (a file name with its extension: "
                                     ".md .html .txt .csv .jsonl) is required");
        return;
    }
    struct sb_kb_doc *docs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_kb_parse(name, r->body ? r->body : "", r->body_len, &docs, &n, &err);
    if (rc == 0)
        rc = sb_kb_put(kb, r->who.tenant_id, docs, n, &err);
    if (rc)
        sb__http_error(r, rc == SB_EIO || rc == SB_ESTORE ? rc : SB_EINVAL, "%s", err.msg);
    else
        sb__http_respond_json(r, 201, json_pack("{s:s,s:I}", "file", name, "imported",
                                                (json_int_t)n));
    sb_kb_doc_list_free(docs, n);
}

void sb__api_kb_gaps(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_kb *kb = sb__api_kb(r);
    int bad = 0;
    if (!kb)
        return;
    int64_t since = sb__api_query_int(r, "since", 0, 0, INT64_MAX, &bad);
    size_t limit = (size_t)sb__api_query_int(r, "limit", 50, 1, 500, &bad);
    if (bad)
        return;
    struct sb_kb_gap *g = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_kb_gaps(kb, r->who.tenant_id, since, limit, &g, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *ex = json_array();
        for (size_t j = 0; j < g[i].n_examples; j++)
            json_array_append_new(ex, json_string(g[i].examples[j]));
        json_array_append_new(
            a, json_pack("{s:s,s:o,s:I,s:I,s:I,s:f,s:b,s:o}", "question", g[i].question,
                         "examples", ex, "count", (json_int_t)g[i].count, "first_at",
                         (json_int_t)g[i].first_ms, "last_at", (json_int_t)g[i].last_ms,
                         "confidence_now", g[i].confidence_now, "answered_now",
                         g[i].answered_now, "closest",
                         render_citations(g[i].closest, g[i].n_closest)));
    }
    sb_kb_gaps_free(g, n);
    sb__http_respond_json(r, 200, json_pack("{s:o}", "gaps", a));
}
