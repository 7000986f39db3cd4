/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: reading messages (one, or a conversation's page after a cursor) and
 * replacing a message's annotations together with its "message.annotated" event. Messages are
 * written by sqlite_ingest.c.
 */
#include "sqlite_internal.h"

#define MESSAGE_COLUMNS                                                                      \
    "SELECT id, tenant_id, conversation_id, inbox_id, direction, sender_kind, sender_id,"   \
    " provider_msg_id, text, parts_json, annotations_json, created_ms FROM messages "

static void row_message(sqlite3_stmt *s, void *out)
{
    struct sb_message *m = out;
    m->id = sqlite3_column_int64(s, 0);
    m->tenant_id = sqlite3_column_int64(s, 1);
    m->conversation_id = sqlite3_column_int64(s, 2);
    m->inbox_id = sqlite3_column_int64(s, 3);
    sb__sq_col_str(s, 4, m->direction, sizeof(m->direction));
    sb__sq_col_str(s, 5, m->sender_kind, sizeof(m->sender_kind));
    m->sender_id = sqlite3_column_int64(s, 6);
    m->provider_msg_id = sb__sq_col_dup(s, 7);
    m->text = sb__sq_col_dup(s, 8);
    m->parts_json = sb__sq_col_dup(s, 9);
    m->annotations_json = sb__sq_col_dup(s, 10);
    m->created_ms = sqlite3_column_int64(s, 11);
}

static void message_cleanup(void *x)
{
    sb_message_cleanup(x);
}

int sb__sq_message_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_message *out,
                       struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_message, out, "message", err,
                           MESSAGE_COLUMNS "WHERE id = ? AND tenant_id = ?", "ii", id, tenant);
}

int sb__sq_message_list(struct sb_store *base, sb_id tenant, sb_id conversation, sb_id after_id,
                        size_t limit, struct sb_message **out, size_t *n, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *r;
    int rc = sb__sq_reader(st, &r, err);
    if (rc)
        return rc;
    /* an unknown conversation (or another tenant's) is an error, not an empty page */
    int64_t found;
    rc = sb__sq_int(r, &found, "conversation", err,
                    "SELECT 1 FROM conversations WHERE id = ? AND tenant_id = ?", "ii",
                    conversation, tenant);
    if (!rc)
        rc = sb__sq_list(r, row_message, sizeof(**out), message_cleanup, (void **)out, n, err,
                         MESSAGE_COLUMNS "WHERE conversation_id = ? AND tenant_id = ? AND id > ?"
                                         " ORDER BY id LIMIT ?",
                         "iiii", conversation, tenant, after_id, (int64_t)limit);
    sb__sq_reader_done(st, r);
    return rc;
}

static void row_conversation_id(sqlite3_stmt *s, void *out)
{
    *(sb_id *)out = sqlite3_column_int64(s, 0);
}

int sb__sq_annotate_one(struct sq_conn *w, const struct sb_annotation *a, int64_t *seq,
                        struct sb_error *err)
{
    sb_id conversation = 0;
    int rc = sb__sq_one(w, row_conversation_id, &conversation, "message", err,
                        "UPDATE messages SET annotations_json = ? WHERE id = ? AND tenant_id = ? "
                        "RETURNING conversation_id",
                        "sii", a->annotations_json, a->message_id, a->tenant_id);
    if (!rc)
        rc = sb__sq_event_insert(w, a->tenant_id, conversation, a->message_id,
                                 "message.annotated", "{}", seq, err);
    return rc;
}

int sb__sq_message_annotate(struct sb_store *base, sb_id tenant, sb_id id,
                            const char *annotations_json, int64_t *event_seq,
                            struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    int64_t seq = 0;
    struct sb_annotation a = {tenant, id, annotations_json};
    rc = sb__sq_annotate_one(w, &a, &seq, err);
    rc = sb__sq_end(st, rc, err);
    if (!rc && event_seq)
        *event_seq = seq;
    return rc;
}
