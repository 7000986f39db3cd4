/* SPDX-License-Identifier: MIT */
/*
 * The built-in bot policy for a tenant with no understanding or knowledge modules: it greets,
 * says plainly that it cannot answer questions itself, offers a person, and hands off when the
 * customer asks for one or after it has failed to help twice. It never pretends to know.
 */
#include "sb/policy.h"

#include "sb/mem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FAILED_TURNS 2

static const char *const human_words_en[] = {
    "human", "person", "agent", "representative", "real people", "someone real",
    "operator", "staff", "customer service", "support team", "talk to someone",
    "speak to someone", "live chat", NULL,
};
static const char *const human_words_zh[] = {
    "人工", "真人", "客服", "转接", "找人", "接线员", NULL,
};
static const char *const greetings[] = {
    "hi", "hello", "hey", "good morning", "good afternoon", "good evening", "你好", "您好",
    "在吗", "hallo", NULL,
};

/* Case-insensitive search for `word` at word boundaries (ASCII); CJK words anywhere. */
static int contains_word(const char *text, const char *word)
{
    size_t wl = strlen(word);
    int ascii = (unsigned char)word[0] < 0x80;
    for (const char *p = text; *p; p++) {
        if (strncasecmp(p, word, wl) != 0)
            continue;
        if (!ascii)
            return 1;
        int left_ok = p == text || !isalnum((unsigned char)p[-1]);
        int right_ok = !isalnum((unsigned char)p[wl]);
        if (left_ok && right_ok)
            return 1;
    }
    return 0;
}

static int contains_any(const char *text, const char *const *words)
{
    for (; *words; words++)
        if (contains_word(text, *words))
            return 1;
    return 0;
}

int sb_policy_asks_for_human(const char *text)
{
    return text && (contains_any(text, human_words_en) || contains_any(text, human_words_zh));
}

/* A short message that is only a greeting ("hi!", "你好"), not a question with a greeting. */
static int is_greeting(const char *text)
{
    size_t n = strlen(text);
    return n <= 24 && contains_any(text, greetings) && !strchr(text, '?');
}

static int has_cjk(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0xe3 && (unsigned char)*s <= 0xe9)
            return 1;
    return 0;
}

static size_t count_reason(const struct sb_turn *t, const char *reason)
{
    size_t n = 0;
    char needle[64];
    snprintf(needle, sizeof(needle), "\"reason\": \"%s\"", reason);
    for (size_t i = 0; i < t->n_history; i++) {
        const struct sb_message *m = &t->history[i];
        if (strcmp(m->sender_kind, SB_SENDER_BOT) == 0 && m->annotations_json &&
            strstr(m->annotations_json, needle))
            n++;
    }
    return n;
}

static void decide_as(struct sb_decision *out, enum sb_action action, const char *text,
                      const char *reason)
{
    out->action = action;
    out->text = sb_strdup(text);
    out->annotations_json = sb_strdupf("{\"policy\": \"basic\", \"reason\": \"%s\"}", reason);
}

static int decide(void *self, const struct sb_turn *t, struct sb_decision *out)
{
    (void)self;
    const char *text = t->message->text ? t->message->text : "";
    int zh = has_cjk(text);
    memset(out, 0, sizeof(*out));

    if (sb_policy_asks_for_human(text)) {
        decide_as(out, SB_ACT_HANDOFF,
                  zh ? "好的，正在为您转接人工客服，请稍候，客服会在这里回复您。"
                     : "Sure — I'm connecting you with a person. Someone from the team will "
                       "reply here shortly.",
                  "asked_for_human");
        return 0;
    }
    if (is_greeting(text)) {
        decide_as(out, SB_ACT_REPLY,
                  zh ? "您好！我是自动助手。我还不能自己回答问题；如需人工客服，请回复“人工”。"
                     : "Hello! I'm the automated assistant. I can't answer questions on my own "
                       "yet — reply \"agent\" at any time to talk to a person.",
                  "greeting");
        return 0;
    }
    if (count_reason(t, "no_answer") >= MAX_FAILED_TURNS - 1) {
        decide_as(out, SB_ACT_HANDOFF,
                  zh ? "抱歉我帮不上忙，已为您转接人工客服，请稍候。"
                     : "I'm sorry I couldn't help. I'm passing your conversation to a person, "
                       "who will reply here.",
                  "repeated_failure");
        return 0;
    }
    decide_as(out, SB_ACT_REPLY,
              zh ? "抱歉，我还不能回答这个问题。需要人工客服吗？请回复“人工”。"
                 : "Sorry, I can't answer that myself. Would you like to talk to a person? "
                   "Reply \"agent\".",
              "no_answer");
    return 0;
}

const struct sb_policy_ops sb_policy_basic = {
    .name = "basic",
    .decide = decide,
};

void sb_decision_cleanup(struct sb_decision *d)
{
    if (!d)
        return;
    free(d->text);
    free(d->annotations_json);
    d->text = d->annotations_json = NULL;
}
