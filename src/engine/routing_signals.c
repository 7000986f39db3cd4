/* SPDX-License-Identifier: MIT */
/*
 * What routing reads from a conversation: the escalation summary built from its stored
 * messages (intent, complaint, sentiment streak, bot abstentions), its language, and the
 * contact's value (attributes "vip", "ltv") and previous contact; the escalation check the
 * bot turn runs before the policy; and the "asks for a person" phrase detector (the policy's
 * word list plus verb-and-object phrasings in English and Chinese).
 */
#include "routing_internal.h"

#include "engine_internal.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MESSAGES_MAX 500

int sb__routing_messages(struct sb_engine *e, sb_id tenant, sb_id conversation,
                         const struct sb_message *fresh, struct sb_message **out, size_t *n)
{
    /* Pages from the oldest; only the newest MESSAGES_MAX are kept. */
    struct sb_message *all = NULL;
    size_t n_all = 0;
    sb_id after = 0;
    for (;;) {
        struct sb_message *page = NULL;
        size_t np = 0;
        int rc = sb_store_message_list(e->opt.store, tenant, conversation, after, MESSAGES_MAX,
                                       &page, &np, NULL);
        if (rc) {
            sb_message_list_free(all, n_all);
            return rc;
        }
        if (np == 0)
            break;
        after = page[np - 1].id;
        if (n_all + np > MESSAGES_MAX) {
            size_t drop = n_all + np - MESSAGES_MAX;
            if (drop > n_all)
                drop = n_all;
            for (size_t i = 0; i < drop; i++)
                sb_message_cleanup(&all[i]);
            memmove(all, all + drop, (n_all - drop) * sizeof(*all));
            n_all -= drop;
        }
        all = sb_realloc(all, (n_all + np) * sizeof(*all));
        memcpy(all + n_all, page, np * sizeof(*page));
        n_all += np;
        free(page); /* the elements moved into `all` */
        if (np < MESSAGES_MAX)
            break;
        if (n_all > MESSAGES_MAX) {
            size_t drop = n_all - MESSAGES_MAX;
            for (size_t i = 0; i < drop; i++)
                sb_message_cleanup(&all[i]);
            memmove(all, all + drop, (n_all - drop) * sizeof(*all));
            n_all -= drop;
        }
    }
    if (fresh)
        for (size_t i = 0; i < n_all; i++)
            if (all[i].id == fresh->id && fresh->annotations_json) {
                free(all[i].annotations_json);
                all[i].annotations_json = sb_strdup(fresh->annotations_json);
            }
    *out = all;
    *n = n_all;
    return 0;
}

static void contact_value(const char *attributes, int *vip, double *ltv)
{
    json_t *a = attributes ? json_loads(attributes, 0, NULL) : NULL;
    json_t *v = json_object_get(a, "vip");
    *vip = json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0) ||
           (json_is_string(v) && (!strcasecmp(json_string_value(v), "true") ||
                                  !strcmp(json_string_value(v), "1")));
    json_t *l = json_object_get(a, "ltv");
    double x = json_is_number(l) ? json_number_value(l)
               : json_is_string(l) ? strtod(json_string_value(l), NULL)
                                   : 0;
    *ltv = x > 0 && x < 1e15 ? x : 0;
    json_decref(a);
}

/* The message's language when its annotations name one ("und" is none). */
static int language_of(const struct sb_message *m, char out[16])
{
    if (strcmp(m->sender_kind, SB_SENDER_CUSTOMER) != 0 || !m->annotations_json)
        return 0;
    json_t *a = json_loads(m->annotations_json, 0, NULL);
    const char *lang = json_string_value(json_object_get(a, "language"));
    int ok = lang && strlen(lang) >= 2 && strlen(lang) < 16 && strcmp(lang, "und") != 0;
    if (ok)
        memcpy(out, lang, strlen(lang) + 1);
    json_decref(a);
    return ok;
}

/* The contact's value and previous conversation. */
static void contact_signals(struct sb_engine *e, const struct sb_conversation *c,
                            struct sb__signals *out)
{
    struct sb_contact k = {0};
    if (sb_store_contact_get(e->opt.store, c->tenant_id, c->contact_id, &k, NULL, NULL, NULL) ==
        0) {
        contact_value(k.attributes_json, &out->vip, &out->ltv);
        sb_contact_cleanup(&k);
    }
    out->sum.vip = out->vip;
    struct sb_conversation_filter f = {.contact_id = c->contact_id, .before_id = c->id,
                                       .limit = 1};
    struct sb_conversation *prev = NULL;
    size_t np = 0;
    if (sb_store_conversation_list(e->opt.store, c->tenant_id, &f, &prev, &np, NULL) == 0) {
        if (np)
            out->prev_contact_ms = prev[0].last_message_ms ? prev[0].last_message_ms
                                                           : prev[0].created_ms;
        sb_conversation_list_free(prev, np);
    }
}

int sb__routing_signals(struct sb_engine *e, const struct sb_conversation *c,
                        const struct sb_message *fresh, double min_conf, struct sb__signals *out)
{
    memset(out, 0, sizeof(*out));
    struct sb_message *ms = NULL;
    size_t n = 0;
    int rc = sb__routing_messages(e, c->tenant_id, c->id, fresh, &ms, &n);
    if (rc)
        return rc;
    sb_routing_summary_from_messages(ms, n, min_conf, &out->sum);
    out->sum.last_text = NULL;
    for (size_t i = n; i-- > 0;)
        if (language_of(&ms[i], out->language))
            break;
    sb_message_list_free(ms, n);
    contact_signals(e, c, out);
    return 0;
}

/* What routing reads from the summary (conv_spec in routing_hub.c): equal views route alike. */
static int same_view(const struct sb__fold *a, const struct sb__fold *b)
{
    const char *ia = a->sum.intent ? a->sum.intent_buf : "";
    const char *ib = b->sum.intent ? b->sum.intent_buf : "";
    return !strcmp(a->language, b->language) && !strcmp(ia, ib) &&
           a->sum.complaint == b->sum.complaint &&
           sb_routing_negative_trend(&a->sum, SB__ROUTING_TREND_WINDOW) ==
               sb_routing_negative_trend(&b->sum, SB__ROUTING_TREND_WINDOW);
}

int sb__routing_fold(struct sb_engine *e, sb_id tenant, sb_id conversation, sb_id through,
                     double min_conf, struct sb__fold *f, int *changed)
{
    /* a message already folded in has new annotations (a later OCR or transcript): again */
    *changed = f->conversation != conversation || through <= f->upto;
    if (*changed) {
        memset(f, 0, sizeof(*f));
        f->conversation = conversation;
    }
    struct sb__fold before = *f;
    for (;;) {
        struct sb_message *ms = NULL;
        size_t n = 0;
        /* the first fold reads the newest MESSAGES_MAX, as sb__routing_signals does */
        int initial = f->upto == 0;
        int rc = initial ? sb__routing_messages(e, tenant, conversation, NULL, &ms, &n)
                         : sb_store_message_list(e->opt.store, tenant, conversation, f->upto,
                                                 MESSAGES_MAX, &ms, &n, NULL);
        if (rc) {
            f->conversation = 0; /* start again next time */
            return rc;
        }
        size_t i = 0;
        for (; i < n && ms[i].id <= through; i++) {
            sb_routing_summary_add(&f->sum, &ms[i], min_conf);
            language_of(&ms[i], f->language);
            f->upto = ms[i].id;
        }
        f->sum.last_text = NULL;
        sb_message_list_free(ms, n);
        if (initial || i < n || n < MESSAGES_MAX)
            break;
    }
    *changed = *changed || !same_view(&before, f);
    return 0;
}

void sb__routing_signals_from_fold(struct sb_engine *e, const struct sb_conversation *c,
                                   const struct sb__fold *f, struct sb__signals *out)
{
    memset(out, 0, sizeof(*out));
    out->sum = f->sum;
    if (out->sum.intent) /* it pointed into f's copy of the buffer */
        out->sum.intent = out->sum.intent_buf;
    memcpy(out->language, f->language, sizeof(out->language));
    contact_signals(e, c, out);
}

/* ---- "asks for a person" ---- */

/* Lower-cased ASCII copy with runs of non-letters made single spaces, bounded. */
static void fold(const char *in, char *out, size_t cap)
{
    size_t j = 0;
    int space = 1;
    for (const unsigned char *p = (const unsigned char *)in; *p && j + 2 < cap; p++) {
        if (isalpha(*p) || *p >= 0x80) {
            out[j++] = (char)tolower(*p);
            space = 0;
        } else if (!space) {
            out[j++] = ' ';
            space = 1;
        }
    }
    out[j] = '\0';
}

static int has_word(const char *text, const char *w)
{
    size_t wl = strlen(w);
    for (const char *p = strstr(text, w); p; p = strstr(p + 1, w))
        if ((p == text || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\0'))
            return 1;
    return 0;
}

int sb_engine_asks_for_human(const char *text)
{
    if (!text || !*text)
        return 0;
    if (sb_policy_asks_for_human(text))
        return 1;
    static const char *const zh[] = {"找个人", "真人", "人来", "主管", "经理", "领导",
                                     "负责人", "人工服务", "工作人员", "打电话给我", NULL};
    for (int i = 0; zh[i]; i++)
        if (strstr(text, zh[i]))
            return 1;
    char t[1024];
    fold(text, t, sizeof(t));
    /* a verb of talking and a word for a person; "need"/"want" only with a role ("I want a
     * manager"), not with "someone" ("I want someone to deliver it on Saturday") */
    static const char *const talk[] = {"speak", "talk", "chat", "connect", "transfer",
                                       "put me through", "escalate", "call me", "get me", NULL};
    static const char *const wish[] = {"need", "want", NULL};
    static const char *const anyone[] = {"somebody", "someone", NULL};
    /* no "man", "people"...: "a sofa for 4 people", "men's jacket" are not requests */
    static const char *const roles[] = {"manager", "supervisor", "humans", "employee",
                                        "colleague", "boss", "team member", NULL};
    int v_talk = 0, v_wish = 0, p_any = 0, p_role = 0;
    for (int i = 0; talk[i]; i++)
        v_talk |= has_word(t, talk[i]);
    for (int i = 0; wish[i]; i++)
        v_wish |= has_word(t, wish[i]);
    for (int i = 0; anyone[i]; i++)
        p_any |= has_word(t, anyone[i]);
    for (int i = 0; roles[i]; i++)
        p_role |= has_word(t, roles[i]);
    if ((v_talk && (p_any || p_role)) || (v_wish && p_role))
        return 1;
    static const char *const phrases[] = {"not a bot", "not a robot", "stop the bot",
                                          "are you a bot", "are you a robot", "real agent",
                                          "live agent", "live person", NULL};
    for (int i = 0; phrases[i]; i++)
        if (strstr(t, phrases[i]))
            return 1;
    return 0;
}

/* ---- the escalation check of the bot turn ---- */

static int has_cjk(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s >= 0xe3 && (unsigned char)*s <= 0xe9)
            return 1;
    return 0;
}

int sb__routing_escalate(struct sb_engine *e, const struct sb_message *m,
                         const struct sb_conversation *c, struct sb_decision *d)
{
    struct sb_routing_config cfg;
    if (sb__routing_tenant_config(e, c->tenant_id, &cfg))
        return 0;
    struct sb__signals sig;
    if (sb__routing_signals(e, c, m, cfg.esc_intent_min_conf, &sig))
        return 0;
    sig.sum.last_text = m->text;
    sig.sum.asks_for_human = sb_engine_asks_for_human;
    struct sb_routing_escalation out;
    if (!sb_routing_escalation_check(&cfg, &sig.sum, &out))
        return 0;
    int zh = !strcmp(sig.language, "zh") || has_cjk(m->text);
    const char *text;
    switch (out.trigger) {
    case SB_ROUTING_T_ASKS_HUMAN:
        text = zh ? "好的，正在为您转接人工客服，请稍候，客服会在这里回复您。"
                  : "Sure — I'm connecting you with a person. Someone from the team will "
                    "reply here shortly.";
        break;
    case SB_ROUTING_T_COMPLAINT:
    case SB_ROUTING_T_NEGATIVE_STREAK:
        text = zh ? "非常抱歉给您带来不便，已为您转接人工客服处理，请稍候。"
                  : "I'm sorry about this. I'm passing your conversation to a person who can "
                    "sort it out; they will reply here.";
        break;
    case SB_ROUTING_T_ABSTENTIONS:
        text = zh ? "抱歉我帮不上忙，已为您转接人工客服，请稍候。"
                  : "I'm sorry I couldn't help. I'm passing your conversation to a person, "
                    "who will reply here.";
        break;
    default:
        text = zh ? "感谢您的留言，我们的客服人员会尽快在这里回复您。"
                  : "Thank you for writing — a person from our team will reply here shortly.";
        break;
    }
    json_t *fired = json_array();
    for (unsigned b = 1; b <= SB_ROUTING_T_VIP; b <<= 1)
        if (out.fired & b)
            json_array_append_new(fired, json_string(sb_routing_trigger_name(b)));
    /* the reasons the policies use for the same hand-offs, so readers need one vocabulary */
    const char *reason = out.trigger == SB_ROUTING_T_ASKS_HUMAN   ? "asked_for_human"
                         : out.trigger == SB_ROUTING_T_ABSTENTIONS ? "repeated_failure"
                                                                   : sb_routing_trigger_name(
                                                                         out.trigger);
    json_t *a = json_pack("{s:s, s:s, s:b, s:s, s:o, s:s}", "policy", "routing", "reason", reason,
                          "escalation", 1, "trigger", sb_routing_trigger_name(out.trigger),
                          "fired", fired, "why", out.why);
    memset(d, 0, sizeof(*d));
    d->action = SB_ACT_HANDOFF;
    d->text = sb_strdup(text);
    /* ", " and ": " separators, as the policies write theirs (some readers match text) */
    d->annotations_json = json_dumps(a, JSON_PRESERVE_ORDER);
    json_decref(a);
    SB_LOG(SB_LOG_INFO, "routing", "conversation %lld escalated: %s", (long long)c->id, out.why);
    return 1;
}
