/* SPDX-License-Identifier: MIT */
/*
 * Escalation triggers: when should the bot hand a conversation to a person? Pure functions
 * over a small summary of the conversation (the newest customer message and its intent, the
 * sentiment of the customer's messages, how often the bot could not answer, the contact's VIP
 * flag), with thresholds from the tenant's routing settings. Each answer names the trigger and
 * the numbers that made it fire, so the hand-off can say why.
 */
#include "routing_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int intent_is(const struct sb_routing_summary *s, const char *label, double min_conf)
{
    return s->intent && s->intent_conf >= min_conf && strcmp(s->intent, label) == 0;
}

static size_t negative_run(const struct sb_routing_summary *s)
{
    size_t run = 0;
    size_t n = s->n_sentiments < SB_ROUTING_SUMMARY_SENTIMENTS ? s->n_sentiments
                                                               : SB_ROUTING_SUMMARY_SENTIMENTS;
    while (run < n && s->sentiments[n - 1 - run] == SB_ROUTING_SENT_NEG)
        run++;
    return run;
}

int sb_routing_escalation_check(const struct sb_routing_config *cfg,
                                const struct sb_routing_summary *s,
                                struct sb_routing_escalation *out)
{
    memset(out, 0, sizeof(*out));
    char why[5][96];
    memset(why, 0, sizeof(why));
    double mc = cfg->esc_intent_min_conf;
    if (cfg->esc_asks_human) {
        int phrase = s->asks_for_human && s->last_text && s->asks_for_human(s->last_text);
        int intent = intent_is(s, "talk_to_human", mc);
        if (phrase || intent) {
            out->fired |= SB_ROUTING_T_ASKS_HUMAN;
            if (phrase)
                snprintf(why[0], sizeof(why[0]), "the customer asked for a person");
            else
                snprintf(why[0], sizeof(why[0]),
                         "the customer asked for a person (intent talk_to_human, %.2f)",
                         s->intent_conf);
        }
    }
    if (cfg->esc_complaint) {
        int now = intent_is(s, "complaint", mc);
        if (now || s->complaint) {
            out->fired |= SB_ROUTING_T_COMPLAINT;
            if (now)
                snprintf(why[1], sizeof(why[1]), "complaint intent (%.2f)", s->intent_conf);
            else
                snprintf(why[1], sizeof(why[1]), "a complaint earlier in the conversation");
        }
    }
    if (cfg->esc_negative_streak > 0) {
        size_t run = negative_run(s);
        if (run >= (size_t)cfg->esc_negative_streak) {
            out->fired |= SB_ROUTING_T_NEGATIVE_STREAK;
            snprintf(why[2], sizeof(why[2]),
                     "%zu negative customer messages in a row (threshold %d)", run,
                     cfg->esc_negative_streak);
        }
    }
    if (cfg->esc_abstentions > 0) {
        long total = (long)s->abstentions + (long)s->failed_turns;
        if (total >= cfg->esc_abstentions) {
            out->fired |= SB_ROUTING_T_ABSTENTIONS;
            snprintf(why[3], sizeof(why[3]),
                     "the bot could not help %d times and failed %d times (threshold %d)",
                     s->abstentions, s->failed_turns, cfg->esc_abstentions);
        }
    }
    if (cfg->esc_vip && s->vip) {
        out->fired |= SB_ROUTING_T_VIP;
        snprintf(why[4], sizeof(why[4]), "VIP contact");
    }
    for (int i = 0; i < 5; i++)
        if (out->fired & (1u << i)) {
            out->trigger = (enum sb_routing_trigger)(1u << i);
            snprintf(out->why, sizeof(out->why), "%.95s", why[i]);
            break;
        }
    if (!out->fired)
        snprintf(out->why, sizeof(out->why), "no escalation trigger fired");
    return out->fired != 0;
}

const char *sb_routing_trigger_name(enum sb_routing_trigger t)
{
    switch (t) {
    case SB_ROUTING_T_NONE: return "none";
    case SB_ROUTING_T_ASKS_HUMAN: return "asks_human";
    case SB_ROUTING_T_COMPLAINT: return "complaint";
    case SB_ROUTING_T_NEGATIVE_STREAK: return "negative_streak";
    case SB_ROUTING_T_ABSTENTIONS: return "abstentions";
    case SB_ROUTING_T_VIP: return "vip";
    }
    return "none";
}

static void push_sentiment(struct sb_routing_summary *s, enum sb_routing_sentiment v)
{
    if (s->n_sentiments == SB_ROUTING_SUMMARY_SENTIMENTS) {
        memmove(s->sentiments, s->sentiments + 1,
                (SB_ROUTING_SUMMARY_SENTIMENTS - 1) * sizeof(s->sentiments[0]));
        s->n_sentiments--;
    }
    s->sentiments[s->n_sentiments++] = v;
}

static void customer_message(struct sb_routing_summary *s, const struct sb_message *m,
                             double min_conf)
{
    s->last_text = m->text;
    s->intent = NULL;
    s->intent_conf = 0;
    s->intent_buf[0] = '\0';
    json_t *root = m->annotations_json ? json_loads(m->annotations_json, 0, NULL) : NULL;
    json_t *in = json_object_get(root, "intent");
    const char *label = json_string_value(json_object_get(in, "label"));
    if (label && !json_is_true(json_object_get(in, "oos")) &&
        strlen(label) < sizeof(s->intent_buf)) {
        memcpy(s->intent_buf, label, strlen(label) + 1);
        s->intent = s->intent_buf;
        s->intent_conf = json_number_value(json_object_get(in, "confidence"));
        if (!strcmp(label, "complaint") && s->intent_conf >= min_conf)
            s->complaint = 1;
    }
    const char *sent =
        json_string_value(json_object_get(json_object_get(root, "sentiment"), "label"));
    if (sent) {
        if (!strcmp(sent, "negative"))
            push_sentiment(s, SB_ROUTING_SENT_NEG);
        else if (!strcmp(sent, "positive"))
            push_sentiment(s, SB_ROUTING_SENT_POS);
        else
            push_sentiment(s, SB_ROUTING_SENT_NEU);
    }
    json_decref(root);
}

static void bot_message(struct sb_routing_summary *s, const struct sb_message *m)
{
    json_t *root = m->annotations_json ? json_loads(m->annotations_json, 0, NULL) : NULL;
    const char *reason = json_string_value(json_object_get(root, "reason"));
    if (reason && !strcmp(reason, "no_answer"))
        s->abstentions++;
    else if (reason && !strcmp(reason, "turn_error"))
        s->failed_turns++;
    json_decref(root);
}

void sb_routing_summary_add(struct sb_routing_summary *s, const struct sb_message *m,
                            double min_conf)
{
    if (!strcmp(m->sender_kind, SB_SENDER_CUSTOMER) && !strcmp(m->direction, SB_DIR_IN))
        customer_message(s, m, min_conf);
    else if (!strcmp(m->sender_kind, SB_SENDER_BOT))
        bot_message(s, m);
}

void sb_routing_summary_from_messages(const struct sb_message *msgs, size_t n, double min_conf,
                                      struct sb_routing_summary *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < n; i++)
        sb_routing_summary_add(s, &msgs[i], min_conf);
}

double sb_routing_negative_trend(const struct sb_routing_summary *s, size_t window)
{
    size_t n = s->n_sentiments < SB_ROUTING_SUMMARY_SENTIMENTS ? s->n_sentiments
                                                               : SB_ROUTING_SUMMARY_SENTIMENTS;
    if (window == 0 || n == 0)
        return 0;
    size_t k = window < n ? window : n, neg = 0;
    for (size_t i = n - k; i < n; i++)
        neg += s->sentiments[i] == SB_ROUTING_SENT_NEG;
    return (double)neg / (double)k;
}
