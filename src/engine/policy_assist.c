/* SPDX-License-Identifier: MIT */
/*
 * The "assist" bot policy: the basic policy's honesty plus understanding and knowledge.
 * In order: a request for a person (phrase or confident talk_to_human intent) hands off; a
 * complaint with negative sentiment hands off (escalation); a greeting is answered; a question
 * the knowledge base answers above its confidence threshold gets the extractive answer with
 * its citations; anything else falls back to the basic policy, which says it cannot answer and
 * offers a person. Every sentence the bot says comes from the KB or is a fixed, truthful
 * statement about the bot itself.
 *
 * Optional LLM phrasing (settings llm_url, llm_model, llm_key_file / SB_LLM_KEY,
 * llm_timeout_ms): the KB's extractive answer is re-phrased by an OpenAI-compatible endpoint
 * from the cited entry only, with PII masked in the prompt; every sentence of the reply must be
 * supported by the cited text (sb_llm_grounded), otherwise, on any error or after the timeout,
 * the extractive answer is sent. The annotations say which ("phrasing": "llm"/"extractive").
 */
#include "sb/assist.h"

#include "sb/clock.h"
#include "sb/config.h"
#include "sb/file.h"
#include "sb/llm.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define LLM_KEY_MAX 4096 /* bytes of an API key file */

int sb_assist_configure_llm(struct sb_assist *a, const struct sb_config *cfg,
                            struct sb_error *err)
{
    const char *url = sb_config_str(cfg, "llm_url");
    if (!url || !url[0])
        return 0; /* no LLM: extractive answers */
    const char *model = sb_config_str(cfg, "llm_model");
    const char *key_file = sb_config_str(cfg, "llm_key_file");
    char *key = NULL;
    if (key_file && key_file[0]) {
        size_t len = 0;
        int rc = sb_file_read(key_file, LLM_KEY_MAX, &key, &len, err);
        if (rc)
            return sb_error_set(err, rc, "llm_key_file %s: %s", key_file,
                                err ? err->msg : "cannot read");
        char *k = sb_realloc(key, len + 1);
        key = k;
        key[len] = '\0';
        while (len && (key[len - 1] == '\n' || key[len - 1] == '\r' || key[len - 1] == ' '))
            key[--len] = '\0';
    } else if (getenv("SB_LLM_KEY")) {
        key = sb_strdup(getenv("SB_LLM_KEY"));
    }
    struct sb_llm_config lc = {
        .url = url,
        .model = model,
        .api_key = key,
        .timeout_ms = (long)sb_config_int(cfg, "llm_timeout_ms"),
    };
    struct sb_llm *llm = NULL;
    int rc = sb_llm_new(&lc, &llm, err);
    if (key) {
        sodium_memzero(key, strlen(key));
        free(key);
    }
    if (rc)
        return rc;
    sb_llm_free(a->llm);
    a->llm = llm;
    SB_LOG(SB_LOG_INFO, "assist", "answers are phrased by the LLM at %s (model %s, timeout %lld ms)",
           url, model, (long long)sb_config_int(cfg, "llm_timeout_ms"));
    return 0;
}

#define INTENT_MIN_CONFIDENCE 0.6

struct understanding {
    const char *intent;
    double intent_conf;
    const char *sentiment;
    const char *language;
    json_t *root;
};

static void understand(const struct sb_message *m, struct understanding *u)
{
    memset(u, 0, sizeof(*u));
    u->root = m->annotations_json ? json_loads(m->annotations_json, 0, NULL) : NULL;
    json_t *intent = json_object_get(u->root, "intent");
    if (intent && !json_is_true(json_object_get(intent, "oos"))) {
        u->intent = json_string_value(json_object_get(intent, "label"));
        u->intent_conf = json_number_value(json_object_get(intent, "confidence"));
    }
    u->sentiment =
        json_string_value(json_object_get(json_object_get(u->root, "sentiment"), "label"));
    u->language = json_string_value(json_object_get(u->root, "language"));
}

static int is_intent(const struct understanding *u, const char *label)
{
    return u->intent && u->intent_conf >= INTENT_MIN_CONFIDENCE && !strcmp(u->intent, label);
}

static void handoff(struct sb_decision *out, int zh, const char *en_text, const char *zh_text,
                    const char *reason)
{
    out->action = SB_ACT_HANDOFF;
    out->text = sb_strdup(zh ? zh_text : en_text);
    out->annotations_json = sb_strdupf("{\"policy\": \"assist\", \"reason\": \"%s\"}", reason);
}

/* Why the LLM's reply was not used, for the annotations (no message text: it may quote the
 * customer or the endpoint). */
static const char *fallback_reason(const struct sb_error *e)
{
    switch (e->code) {
    case SB_ETIMEDOUT:
        return "timeout";
    case SB_EINVAL:
        return strstr(e->msg, "not in the passages") ? "ungrounded" : "refused";
    case SB_EPARSE:
    case SB_ETOOBIG:
        return "bad_response";
    default:
        return "error";
    }
}

/*
 * The KB's answer as the bot's reply, with citations and confidence in the annotations. With an
 * LLM configured the answer is re-phrased from the cited entry (its title and the extractive
 * text) and checked sentence by sentence; any failure keeps the extractive text.
 */
static void answer(struct sb_decision *out, const struct sb_kb_answer *a, struct sb_llm *llm,
                   const char *question)
{
    out->action = SB_ACT_REPLY;
    const char *phrasing = "extractive";
    const char *why = NULL;
    long llm_ms = -1;
    if (llm) {
        const char *passages[2] = {a->text, a->n_citations ? a->citations[0].title : ""};
        struct sb_error e = {0};
        int used = 0;
        int64_t t0 = sb_now_ms();
        if (sb_llm_phrase(llm, question, a->text, passages, 2, &out->text, &used, &e) == 0 &&
            used) {
            phrasing = "llm";
        } else {
            why = e.code ? fallback_reason(&e) : "error";
            SB_LOG(SB_LOG_WARN, "assist", "LLM phrasing not used (%s): %s", why, e.msg);
        }
        llm_ms = (long)(sb_now_ms() - t0);
    }
    if (!out->text)
        out->text = sb_strdup(a->text);
    json_t *o = json_pack("{s:s,s:s,s:f,s:s}", "policy", "assist", "reason", "kb_answer",
                          "confidence", a->confidence, "phrasing", phrasing);
    if (why)
        json_object_set_new(o, "llm_fallback", json_string(why));
    if (llm_ms >= 0)
        json_object_set_new(o, "llm_ms", json_integer(llm_ms));
    json_t *cites = json_array();
    for (size_t i = 0; i < a->n_citations; i++)
        json_array_append_new(cites, json_pack("{s:s,s:s,s:s}", "doc_id", a->citations[i].doc_id,
                                               "title", a->citations[i].title, "link",
                                               a->citations[i].link));
    json_object_set_new(o, "citations", cites);
    out->annotations_json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
}

/* Keeps the question the KB could not answer for the gap report, with PII masked first. */
static void record_gap(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang,
                       const struct sb_kb_answer *a)
{
    char *masked = NULL;
    size_t n_spans = 0;
    if (sb_nlu_redact(text, strlen(text), NULL, SB_NLU_PII_MASK, &masked, NULL, &n_spans) != 0)
        return; /* never store what could not be redacted */
    sb_kb_gap_record(kb, tenant, masked, lang, a, sb_now_ms(), NULL);
    free(masked);
}

/* The question without its PII (e-mail addresses, phone and card numbers...: blanked), for
 * the KB: such tokens are words the KB has never seen and would make it abstain on "How much
 * is the Oslo sofa? Mail me at jane@example.com". NULL when nothing was found. */
static char *without_pii(const char *text)
{
    struct sb_nlu_span *spans = NULL;
    size_t n = 0;
    char *masked = NULL;
    if (sb_nlu_redact(text, strlen(text), NULL, SB_NLU_PII_MASK, &masked, &spans, &n) != 0 ||
        n == 0) {
        free(masked);
        free(spans);
        return NULL;
    }
    free(masked);
    char *q = sb_strdup(text);
    size_t len = strlen(q);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = spans[i].start; j < spans[i].end && j < len; j++)
            q[j] = ' ';
    }
    free(spans);
    return q;
}

static int decide(void *self, const struct sb_turn *t, struct sb_decision *out)
{
    const struct sb_assist *as = self;
    const char *text = t->message->text ? t->message->text : "";
    struct understanding u;
    understand(t->message, &u);
    int zh = u.language && !strcmp(u.language, "zh");
    int rc = 0;
    memset(out, 0, sizeof(*out));

    if (sb_policy_asks_for_human(text) || is_intent(&u, "talk_to_human")) {
        handoff(out, zh,
                "Sure — I'm connecting you with a person. Someone from the team will reply "
                "here shortly.",
                "好的，正在为您转接人工客服，请稍候，客服会在这里回复您。", "asked_for_human");
        goto out;
    }
    if (is_intent(&u, "complaint") && u.sentiment && !strcmp(u.sentiment, "negative")) {
        handoff(out, zh,
                "I'm sorry about this. I'm passing your conversation to a person who can sort "
                "it out; they will reply here.",
                "非常抱歉给您带来不便，已为您转接人工客服处理，请稍候。", "complaint");
        goto out;
    }
    if (is_intent(&u, "greeting") && strlen(text) <= 40) {
        out->action = SB_ACT_REPLY;
        out->text = sb_strdup(
            zh ? "您好！我是自动助手，会根据本店的帮助文档和商品目录回答，并注明出处。"
                 "如需人工客服，请随时回复“人工”。"
               : "Hello! I'm the automated assistant. I answer from the shop's help pages and "
                 "catalogue and show where each answer comes from. Reply \"agent\" at any time "
                 "to talk to a person.");
        out->annotations_json = sb_strdup("{\"policy\": \"assist\", \"reason\": \"greeting\"}");
        goto out;
    }
    if (is_intent(&u, "thanks") || is_intent(&u, "goodbye")) {
        out->action = SB_ACT_REPLY;
        out->text = sb_strdup(zh ? "不客气！如果还有其他问题，随时告诉我。"
                                 : "You're welcome! If there is anything else, just write here.");
        out->annotations_json = sb_strdup("{\"policy\": \"assist\", \"reason\": \"thanks\"}");
        goto out;
    }
    if (as->kb && !is_intent(&u, "greeting")) {
        struct sb_kb_answer *a = NULL;
        char *kbq = without_pii(text);
        int krc = sb_kb_answer(as->kb, t->conversation->tenant_id, kbq ? kbq : text, u.language,
                               &a, NULL);
        free(kbq);
        if (krc == 0 &&
            a->decision == SB_KB_ANSWER && a->text) {
            answer(out, a, as->llm, text);
            sb_kb_answer_free(a);
            goto out;
        }
        if (a)
            record_gap(as->kb, t->conversation->tenant_id, text, u.language, a);
        sb_kb_answer_free(a);
    }
    rc = sb_policy_basic.decide(NULL, t, out);
out:
    json_decref(u.root);
    return rc;
}

const struct sb_policy_ops sb_policy_assist = {
    .name = "assist",
    .decide = decide,
};
