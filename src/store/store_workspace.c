/* SPDX-License-Identifier: MIT */
/*
 * The store's front for the agent workspace (schema step 3): argument checks that do not
 * depend on the backend (lengths, UTF-8, shortcut alphabet, rating range), then dispatch, for
 * internal notes, canned replies and CSAT ratings; and the functions that free what those
 * calls return.
 */
#include "store_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NEED(cond, what)                                                \
    do {                                                                \
        if (!(cond))                                                    \
            return sb_error_set(err, SB_EINVAL, "%s is required", what); \
    } while (0)
#define CHECK(call)       \
    do {                  \
        int rc_ = (call); \
        if (rc_)          \
            return rc_;   \
    } while (0)

/* A text of 1..max bytes (0..max when !required) of valid UTF-8. */
static int check_utf8_text(const char *field, const char *text, size_t max, int required,
                           struct sb_error *err)
{
    if (!text || !*text) {
        if (required)
            return sb_error_set(err, SB_EINVAL, "field '%s' is required", field);
        return 0;
    }
    if (strnlen(text, max + 1) > max)
        return sb_error_set(err, SB_ETOOBIG, "field '%s' is longer than %zu bytes", field, max);
    json_t *probe = json_string(text); /* jansson refuses invalid UTF-8 */
    if (!probe)
        return sb_error_set(err, SB_EINVAL, "field '%s' is not valid UTF-8", field);
    json_decref(probe);
    return 0;
}

static int check_shortcut(const char *s, struct sb_error *err)
{
    CHECK(sb__store_check_str("shortcut", s, SB_STORE_CANNED_SHORTCUT_MAX, 1, err));
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return sb_error_set(err, SB_EINVAL,
                                "field 'shortcut' may hold only a-z, 0-9, '_' and '-'");
    return 0;
}

int sb_store_note_add(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id agent,
                      const char *text, struct sb_note *out, int64_t *event_seq,
                      struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("conversation_id", conversation, err));
    if (agent < 0)
        return sb_error_set(err, SB_EINVAL, "field 'agent_id' must not be negative");
    CHECK(check_utf8_text("text", text, SB_STORE_NOTE_MAX, 1, err));
    return st->ops->note_add(st, tenant, conversation, agent, text, out, event_seq, err);
}

int sb_store_note_list(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id after_id,
                       size_t limit, struct sb_note **out, size_t *n, struct sb_error *err)
{
    NEED(st && out && n, "an output");
    CHECK(sb__store_check_id("conversation_id", conversation, err));
    CHECK(sb__store_check_limit(limit, SB_STORE_LIST_MAX, err));
    if (after_id < 0)
        return sb_error_set(err, SB_EINVAL, "field 'after_id' must not be negative");
    return st->ops->note_list(st, tenant, conversation, after_id, limit, out, n, err);
}

int sb_store_canned_create(struct sb_store *st, sb_id tenant, const char *shortcut,
                           const char *title, const char *text, sb_id *id,
                           struct sb_error *err)
{
    NEED(st && id, "an output");
    CHECK(check_shortcut(shortcut, err));
    CHECK(check_utf8_text("title", title, sizeof(((struct sb_canned_reply *)0)->title) - 1, 1,
                          err));
    CHECK(check_utf8_text("text", text, SB_STORE_CANNED_TEXT_MAX, 1, err));
    return st->ops->canned_create(st, tenant, shortcut, title, text, id, err);
}

int sb_store_canned_list(struct sb_store *st, sb_id tenant, struct sb_canned_reply **out,
                         size_t *n, struct sb_error *err)
{
    NEED(st && out && n, "an output");
    return st->ops->canned_list(st, tenant, out, n, err);
}

int sb_store_canned_delete(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("id", id, err));
    return st->ops->canned_delete(st, tenant, id, err);
}

int sb_store_csat_put(struct sb_store *st, sb_id tenant, sb_id conversation, int rating,
                      const char *comment, struct sb_csat *out, int64_t *event_seq,
                      struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("conversation_id", conversation, err));
    if (rating < 1 || rating > 5)
        return sb_error_set(err, SB_EINVAL, "field 'rating' must be from 1 to 5");
    CHECK(check_utf8_text("comment", comment, SB_STORE_CSAT_COMMENT_MAX, 0, err));
    return st->ops->csat_put(st, tenant, conversation, rating, comment ? comment : "", out,
                             event_seq, err);
}

int sb_store_csat_get(struct sb_store *st, sb_id tenant, sb_id conversation, struct sb_csat *out,
                      struct sb_error *err)
{
    NEED(st && out, "an output");
    CHECK(sb__store_check_id("conversation_id", conversation, err));
    return st->ops->csat_get(st, tenant, conversation, out, err);
}

void sb_note_cleanup(struct sb_note *x)
{
    if (!x)
        return;
    free(x->text);
    memset(x, 0, sizeof(*x));
}

void sb_note_list_free(struct sb_note *xs, size_t n)
{
    for (size_t i = 0; xs && i < n; i++)
        sb_note_cleanup(&xs[i]);
    free(xs);
}

void sb_canned_list_free(struct sb_canned_reply *xs, size_t n)
{
    for (size_t i = 0; xs && i < n; i++)
        free(xs[i].text);
    free(xs);
}

void sb_csat_cleanup(struct sb_csat *x)
{
    if (!x)
        return;
    free(x->comment);
    memset(x, 0, sizeof(*x));
}
