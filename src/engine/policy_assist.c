/* SPDX-License-Identifier: MIT */
/*
 * The "assist" bot policy: the basic policy's honesty plus understanding and knowledge.
 * In order: a request for a person (phrase or confident talk_to_human intent) hands off; a
 * complaint with negative sentiment hands off (escalation); a greeting is answered; a question
 * the knowledge base answers above its confidence threshold gets the extractive answer with
 * its citations; anything else falls back to the basic policy, which says it cannot answer and
 * offers a person. Every sentence the bot says comes from the KB or is a fixed, truthful
 * statement about the bot itself.
 */
#include "sb/assist.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

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

/* The KB's answer as the bot's reply, with citations and confidence in the annotations. */
static void answer(struct sb_decision *out, const struct sb_kb_answer *a)
{
    out->action = SB_ACT_REPLY;
    out->text = sb_strdup(a->text);
    json_t *o = json_pack("{s:s,s:s,s:f}", "policy", "assist", "reason", "kb_answer",
                          "confidence", a->confidence);
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
        if (sb_kb_answer(as->kb, t->conversation->tenant_id, text, u.language, &a, NULL) == 0 &&
            a->decision == SB_KB_ANSWER && a->text) {
            answer(out, a);
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
