/* SPDX-License-Identifier: MIT */
/*
 * The hand-off summary: what an agent reads first so the customer never repeats themselves.
 * Built from the stored conversation on request (so it is never stale): the customer's
 * intents (newest first, with confidence), the entities they gave (order numbers, amounts,
 * dates... as the annotator found them; PII is never copied), every bot answer with its
 * sources, the sentiment of each customer message and its trend, why the bot handed off,
 * the contact's value attributes, its other channels and its past conversations.
 */
#include "routing_internal.h"

#include "engine_internal.h"
#include "sb/mem.h"
#include "sb/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTITIES_MAX 50
#define ANSWERS_MAX 20
#define PAST_MAX 10

static int entity_seen(json_t *arr, const char *type, const char *value)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        if (!strcmp(json_string_value(json_object_get(x, "type")), type) &&
            !strcmp(json_string_value(json_object_get(x, "value")), value))
            return 1;
    }
    return 0;
}

static void customer_message(json_t *a, const struct sb_message *m, json_t *intents,
                             json_t *entities, json_t *sentiments)
{
    json_t *in = json_object_get(a, "intent");
    if (json_is_object(in) && !json_is_true(json_object_get(in, "oos")) &&
        json_is_string(json_object_get(in, "label")))
        json_array_insert_new(intents, 0,
                              json_pack("{s:O, s:O, s:I}", "label", json_object_get(in, "label"),
                                        "confidence", json_object_get(in, "confidence")
                                                          ? json_object_get(in, "confidence")
                                                          : json_null(),
                                        "message_id", (json_int_t)m->id));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(a, "entities"), i, x) {
        const char *type = json_string_value(json_object_get(x, "type"));
        const char *value = json_string_value(json_object_get(x, "value"));
        if (type && value && json_array_size(entities) < ENTITIES_MAX &&
            !entity_seen(entities, type, value))
            json_array_append_new(entities, json_pack("{s:s, s:s, s:I}", "type", type, "value",
                                                      value, "message_id", (json_int_t)m->id));
    }
    const char *s = json_string_value(json_object_get(json_object_get(a, "sentiment"), "label"));
    if (s)
        json_array_append_new(sentiments, json_string(s));
}

static void bot_message(json_t *a, const struct sb_message *m, json_t *answers, json_t **handoff)
{
    const char *reason = json_string_value(json_object_get(a, "reason"));
    if (reason && (json_is_true(json_object_get(a, "escalation")) ||
                   !strcmp(reason, "asked_for_human") || !strcmp(reason, "complaint") ||
                   !strcmp(reason, "repeated_failure"))) {
        json_decref(*handoff);
        *handoff = json_pack("{s:s, s:O, s:O, s:I}", "reason", reason, "trigger",
                             json_object_get(a, "trigger") ? json_object_get(a, "trigger")
                                                           : json_null(),
                             "why", json_object_get(a, "why") ? json_object_get(a, "why")
                                                              : json_null(),
                             "message_id", (json_int_t)m->id);
        return;
    }
    if (json_array_size(answers) >= ANSWERS_MAX)
        json_array_remove(answers, 0); /* keep the newest */
    json_t *cites = json_object_get(a, "citations");
    json_array_append_new(answers,
                          json_pack("{s:s, s:s, s:O, s:O, s:I}", "text", m->text ? m->text : "",
                                    "reason", reason ? reason : "",
                                    "sources", json_is_array(cites) ? cites : json_array(),
                                    "confidence", json_object_get(a, "confidence")
                                                      ? json_object_get(a, "confidence")
                                                      : json_null(),
                                    "message_id", (json_int_t)m->id));
}

static json_t *trend_json(json_t *labels)
{
    size_t n = json_array_size(labels), neg = 0, pos = 0, recent_neg = 0;
    size_t recent = n < 3 ? n : 3;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(labels, i));
        int is_neg = !strcmp(s, "negative");
        neg += is_neg;
        pos += !strcmp(s, "positive");
        if (i >= n - recent)
            recent_neg += is_neg;
    }
    const char *dir = "none";
    if (n) {
        double all = (double)neg / (double)n, last = (double)recent_neg / (double)recent;
        dir = last > all + 0.01 ? "worsening" : last + 0.01 < all ? "improving" : "steady";
    }
    return json_pack("{s:O, s:I, s:I, s:I, s:f, s:s}", "messages", labels, "negative",
                     (json_int_t)neg, "positive", (json_int_t)pos, "total", (json_int_t)n,
                     "negative_share_recent", recent ? (double)recent_neg / (double)recent : 0.0,
                     "direction", dir);
}

static json_t *channels_json(struct sb_engine *e, sb_id tenant, const struct sb_contact_identity *ids,
                             size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        struct sb_inbox in = {0};
        json_t *x = json_pack("{s:I, s:s}", "inbox_id", (json_int_t)ids[i].inbox_id,
                              "external_id", ids[i].external_id);
        if (sb_store_inbox_get(e->opt.store, tenant, ids[i].inbox_id, &in, NULL) == 0) {
            json_object_set_new(x, "kind", json_string(in.kind));
            json_object_set_new(x, "inbox", json_string(in.name));
            sb_inbox_cleanup(&in);
        }
        json_array_append_new(arr, x);
    }
    return arr;
}

int sb_engine_handoff_summary(struct sb_engine *e, sb_id tenant, sb_id conversation,
                              json_t **out, struct sb_error *err)
{
    struct sb_conversation c = {0};
    int rc = sb_store_conversation_get(e->opt.store, tenant, conversation, &c, err);
    if (rc)
        return rc;
    struct sb_message *ms = NULL;
    size_t n = 0;
    if ((rc = sb__routing_messages(e, tenant, conversation, NULL, &ms, &n))) {
        sb_conversation_cleanup(&c);
        return sb_error_set(err, rc, "reading the conversation's messages failed");
    }
    json_t *intents = json_array(), *entities = json_array(), *sentiments = json_array(),
           *answers = json_array(), *handoff = json_null();
    const char *language = NULL;
    char lang_buf[16] = "";
    size_t n_customer = 0, n_bot = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sb_message *m = &ms[i];
        if (sb_message_is_internal(m))
            continue;
        json_t *a = m->annotations_json ? json_loads(m->annotations_json, 0, NULL) : NULL;
        if (!strcmp(m->sender_kind, SB_SENDER_CUSTOMER)) {
            n_customer++;
            customer_message(a, m, intents, entities, sentiments);
            const char *l = json_string_value(json_object_get(a, "language"));
            if (l && strlen(l) < sizeof(lang_buf)) {
                memcpy(lang_buf, l, strlen(l) + 1);
                language = lang_buf;
            }
        } else if (!strcmp(m->sender_kind, SB_SENDER_BOT)) {
            n_bot++;
            bot_message(a, m, answers, &handoff);
        }
        json_decref(a);
    }
    sb_message_list_free(ms, n);

    json_t *o = json_object();
    json_object_set_new(o, "conversation", json_integer(conversation));
    json_object_set_new(o, "status", json_string(c.status));
    json_object_set_new(o, "language", language ? json_string(language) : json_null());
    json_object_set_new(o, "intent", json_array_size(intents) ? json_incref(json_array_get(intents, 0))
                                                             : json_null());
    json_object_set_new(o, "intents", intents);
    json_object_set_new(o, "entities", entities);
    json_object_set_new(o, "bot_answers", answers);
    json_object_set_new(o, "sentiment", trend_json(sentiments));
    json_decref(sentiments);
    json_object_set_new(o, "handoff", handoff);
    json_object_set_new(o, "messages", json_pack("{s:I, s:I}", "customer", (json_int_t)n_customer,
                                                 "bot", (json_int_t)n_bot));

    /* the contact: value, channels, past conversations */
    struct sb_contact k = {0};
    struct sb_contact_identity *ids = NULL;
    size_t n_ids = 0;
    json_t *contact = json_null();
    if (sb_store_contact_get(e->opt.store, tenant, c.contact_id, &k, &ids, &n_ids, NULL) == 0) {
        contact = json_object();
        json_object_set_new(contact, "id", json_integer(k.id));
        json_object_set_new(contact, "name", json_string(k.name));
        json_t *attrs = sb_render_json_text(k.attributes_json, json_object());
        json_object_set(contact, "vip", json_object_get(attrs, "vip") ? json_object_get(attrs, "vip")
                                                                      : json_false());
        json_object_set(contact, "ltv", json_object_get(attrs, "ltv") ? json_object_get(attrs, "ltv")
                                                                      : json_null());
        json_object_set_new(contact, "attributes", attrs);
        json_object_set_new(contact, "channels", channels_json(e, tenant, ids, n_ids));
        sb_identity_list_free(ids, n_ids);
        sb_contact_cleanup(&k);
    }
    json_object_set_new(o, "contact", contact);
    struct sb_conversation_filter f = {.contact_id = c.contact_id, .limit = PAST_MAX + 1};
    struct sb_conversation *past = NULL;
    size_t np = 0;
    json_t *pa = json_array();
    if (sb_store_conversation_list(e->opt.store, tenant, &f, &past, &np, NULL) == 0) {
        for (size_t i = 0; i < np; i++)
            if (past[i].id != conversation && json_array_size(pa) < PAST_MAX)
                json_array_append_new(
                    pa, json_pack("{s:I, s:I, s:s, s:I, s:I, s:s}", "id", (json_int_t)past[i].id,
                                  "inbox_id", (json_int_t)past[i].inbox_id, "status",
                                  past[i].status, "created_at", (json_int_t)past[i].created_ms,
                                  "last_message_at", (json_int_t)past[i].last_message_ms,
                                  "preview",
                                  past[i].last_message_preview ? past[i].last_message_preview
                                                               : ""));
        sb_conversation_list_free(past, np);
    }
    json_object_set_new(o, "past_conversations", pa);

    /* one line for the top of the console */
    char line[512];
    json_t *top = json_object_get(o, "intent");
    const char *dir = json_string_value(json_object_get(json_object_get(o, "sentiment"),
                                                        "direction"));
    int len = snprintf(line, sizeof(line), "%s%s; %zu entit%s; %zu bot answer%s; sentiment %s",
                       top ? "Intent " : "No recognised intent",
                       top ? json_string_value(json_object_get(top, "label")) : "",
                       json_array_size(entities), json_array_size(entities) == 1 ? "y" : "ies",
                       json_array_size(answers), json_array_size(answers) == 1 ? "" : "s",
                       dir ? dir : "none");
    const char *why = json_string_value(json_object_get(handoff, "why"));
    if (why && len > 0 && (size_t)len < sizeof(line))
        snprintf(line + len, sizeof(line) - (size_t)len, "; handed off: %s", why);
    json_object_set_new(o, "text", json_string(line));
    sb_conversation_cleanup(&c);
    *out = o;
    return 0;
}
