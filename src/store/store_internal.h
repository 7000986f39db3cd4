/* SPDX-License-Identifier: MIT */
/*
 * What the store's front (src/store/store.c) and its backends share: the common head of every
 * backend's store object, the size limits of stored values, and the argument checks that are
 * the same whatever the backend (lengths of fixed-size fields, known statuses and roles, list
 * limits, one ingest item, one new message). A backend trusts what the public functions
 * checked; it runs the per-item checks itself because a bad item fails alone.
 */
#ifndef SB_STORE_INTERNAL_H
#define SB_STORE_INTERNAL_H

#include "sb/store.h"

#include <stddef.h>

/*
 * The head of every backend's store object: backends define their own struct whose first
 * member is this one, so that `struct sb_store *` converts to and from it.
 */
struct sb_store {
    const struct sb_store_ops *ops;
};

/* Largest values the store accepts (SB_ETOOBIG beyond). */
#define SB_STORE_TEXT_MAX (1u << 20)  /* message text and every JSON column */
#define SB_STORE_KEY_MAX 255          /* provider message ids, external ids, hashes */
#define SB_STORE_LIST_MAX 500         /* messages, conversations, contacts, outbox items */
#define SB_STORE_EVENT_LIST_MAX 10000 /* events per event_list call */
#define SB_STORE_PREVIEW_MAX 200      /* bytes of conversation.last_message_preview */

/*
 * Checks that `value` fits a field of `size` bytes (with its NUL); `required` also rejects
 * NULL and "". SB_EINVAL / SB_ETOOBIG naming `field`.
 */
int sb__store_check_str(const char *field, const char *value, size_t size, int required,
                        struct sb_error *err);
/* NULL or a text of at most SB_STORE_TEXT_MAX bytes. */
int sb__store_check_text(const char *field, const char *value, struct sb_error *err);
/* `id` > 0 (SB_EINVAL naming `field`). */
int sb__store_check_id(const char *field, sb_id id, struct sb_error *err);
/* 1 <= limit <= max. */
int sb__store_check_limit(size_t limit, size_t max, struct sb_error *err);
/* One of SB_CONV_*. */
int sb__store_check_status(const char *field, const char *status, struct sb_error *err);
/* One of SB_ROLE_*. */
int sb__store_check_role(const char *role, struct sb_error *err);
/* Everything about one ingest item that needs no lookup (ids, lengths, UTF-8 text). */
int sb__store_check_ingest(const struct sb_ingest *in, struct sb_error *err);
/* The same for a bot/agent/system message. */
int sb__store_check_message_new(const struct sb_message_new *m, struct sb_error *err);

/* Length of the longest prefix of `text` that is at most `max` bytes and ends on a UTF-8
 * character boundary. */
size_t sb__store_preview_len(const char *text, size_t max);

/* `[{"type":"text","text":TEXT}]` for a message given without parts. Free with free().
 * SB_EINVAL when `text` is not valid UTF-8. */
int sb__store_default_parts(const char *text, char **out, struct sb_error *err);

#endif
