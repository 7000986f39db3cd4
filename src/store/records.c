/* SPDX-License-Identifier: MIT */
/*
 * Freeing the records the store returns (the _cleanup and _list_free functions of
 * sb/store.h). A cleanup frees what the record owns and zeroes it, so a second cleanup is
 * harmless; a list free cleans each element and frees the array. Every one accepts NULL.
 */
#include "sb/store.h"

#include <stdlib.h>
#include <string.h>

void sb_inbox_cleanup(struct sb_inbox *x)
{
    if (!x)
        return;
    free(x->config_json);
    memset(x, 0, sizeof(*x));
}

void sb_contact_cleanup(struct sb_contact *x)
{
    if (!x)
        return;
    free(x->attributes_json);
    memset(x, 0, sizeof(*x));
}

void sb_conversation_cleanup(struct sb_conversation *x)
{
    if (!x)
        return;
    free(x->tags_json);
    free(x->last_message_preview);
    free(x->routing_json);
    memset(x, 0, sizeof(*x));
}

void sb_message_cleanup(struct sb_message *x)
{
    if (!x)
        return;
    free(x->provider_msg_id);
    free(x->text);
    free(x->parts_json);
    free(x->annotations_json);
    memset(x, 0, sizeof(*x));
}

void sb_event_cleanup(struct sb_event *x)
{
    if (!x)
        return;
    free(x->payload_json);
    memset(x, 0, sizeof(*x));
}

void sb_outbox_item_cleanup(struct sb_outbox_item *x)
{
    if (!x)
        return;
    free(x->payload_json);
    memset(x, 0, sizeof(*x));
}

/* Defines NAME(T *xs, size_t n) that cleans each element with CLEAN (if any) and frees xs. */
#define LIST_FREE(name, type, clean)       \
    void name(type *xs, size_t n)          \
    {                                      \
        if (!xs)                           \
            return;                        \
        for (size_t i = 0; i < n; i++)     \
            clean(&xs[i]);                 \
        free(xs);                          \
    }
#define NOTHING_TO_CLEAN(x) ((void)(x))

LIST_FREE(sb_inbox_list_free, struct sb_inbox, sb_inbox_cleanup)
LIST_FREE(sb_contact_list_free, struct sb_contact, sb_contact_cleanup)
LIST_FREE(sb_conversation_list_free, struct sb_conversation, sb_conversation_cleanup)
LIST_FREE(sb_message_list_free, struct sb_message, sb_message_cleanup)
LIST_FREE(sb_event_list_free, struct sb_event, sb_event_cleanup)
LIST_FREE(sb_outbox_list_free, struct sb_outbox_item, sb_outbox_item_cleanup)
LIST_FREE(sb_agent_list_free, struct sb_agent, NOTHING_TO_CLEAN)
LIST_FREE(sb_apikey_list_free, struct sb_api_key, NOTHING_TO_CLEAN)
LIST_FREE(sb_identity_list_free, struct sb_contact_identity, NOTHING_TO_CLEAN)
