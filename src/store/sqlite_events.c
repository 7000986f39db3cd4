/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: the append-only event log (one global `seq`, listed per tenant or per
 * conversation after a cursor) and the outbox of deliveries to external channels, whose items
 * are leased by claim (due_ms moves to the end of the lease, so a crashed sender's items come
 * due again) and finished as delivered or rescheduled.
 */
#include "sqlite_internal.h"

#include "sb/clock.h"

#define EVENT_COLUMNS \
    "SELECT seq, tenant_id, conversation_id, message_id, type, payload_json, created_ms FROM events "

static void row_event(sqlite3_stmt *s, void *out)
{
    struct sb_event *e = out;
    e->seq = sqlite3_column_int64(s, 0);
    e->tenant_id = sqlite3_column_int64(s, 1);
    e->conversation_id = sqlite3_column_int64(s, 2);
    e->message_id = sqlite3_column_int64(s, 3);
    sb__sq_col_str(s, 4, e->type, sizeof(e->type));
    e->payload_json = sb__sq_col_dup(s, 5);
    e->created_ms = sqlite3_column_int64(s, 6);
}

static void event_cleanup(void *x)
{
    sb_event_cleanup(x);
}

static void row_outbox(sqlite3_stmt *s, void *out)
{
    struct sb_outbox_item *o = out;
    o->id = sqlite3_column_int64(s, 0);
    o->tenant_id = sqlite3_column_int64(s, 1);
    o->message_id = sqlite3_column_int64(s, 2);
    o->inbox_id = sqlite3_column_int64(s, 3);
    sb__sq_col_str(s, 4, o->idempotency_key, sizeof(o->idempotency_key));
    o->payload_json = sb__sq_col_dup(s, 5);
    o->attempts = sqlite3_column_int(s, 6);
    o->next_attempt_ms = sqlite3_column_int64(s, 7);
}

static void outbox_cleanup(void *x)
{
    sb_outbox_item_cleanup(x);
}

int sb__sq_event_insert(struct sq_conn *w, sb_id tenant, sb_id conversation, sb_id message,
                        const char *type, const char *payload_json, int64_t *seq,
                        struct sb_error *err)
{
    return sb__sq_insert(w, seq, err,
                         "INSERT INTO events (tenant_id, conversation_id, message_id, type, "
                         "payload_json, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                         "iiissi", tenant, conversation, message, type, payload_json,
                         sb_now_ms());
}

/* SB_ENOTFOUND unless row `id` of `table` (0 = none, always fine) belongs to `tenant`. */
static int owned(struct sq_conn *w, const char *sql, const char *what, sb_id tenant, sb_id id,
                 struct sb_error *err)
{
    int64_t found;
    return id ? sb__sq_int(w, &found, what, err, sql, "ii", id, tenant) : 0;
}

#define OWNED_CONVERSATION "SELECT 1 FROM conversations WHERE id = ? AND tenant_id = ?"
#define OWNED_MESSAGE "SELECT 1 FROM messages WHERE id = ? AND tenant_id = ?"
#define OWNED_INBOX "SELECT 1 FROM inboxes WHERE id = ? AND tenant_id = ?"

int sb__sq_event_append(struct sb_store *base, sb_id tenant, sb_id conversation, sb_id message,
                        const char *type, const char *payload_json, int64_t *seq,
                        struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    int64_t s = 0;
    if (!(rc = owned(w, OWNED_CONVERSATION, "conversation", tenant, conversation, err)) &&
        !(rc = owned(w, OWNED_MESSAGE, "message", tenant, message, err)))
        rc = sb__sq_event_insert(w, tenant, conversation, message, type, payload_json, &s, err);
    if (rc == SB_ENOTFOUND && !conversation && !message)
        sb_error_set(err, rc, "tenant not found");
    rc = sb__sq_end(st, rc, err);
    if (!rc && seq)
        *seq = s;
    return rc;
}

int sb__sq_event_list(struct sb_store *st, sb_id tenant, sb_id conversation, int64_t after_seq,
                      size_t limit, struct sb_event **out, size_t *n, struct sb_error *err)
{
    if (conversation)
        return sb__sq_read_list(sq_of(st), row_event, sizeof(**out), event_cleanup,
                                (void **)out, n, err,
                                EVENT_COLUMNS "WHERE tenant_id = ? AND conversation_id = ? "
                                              "AND seq > ? ORDER BY seq LIMIT ?",
                                "iiii", tenant, conversation, after_seq, (int64_t)limit);
    return sb__sq_read_list(sq_of(st), row_event, sizeof(**out), event_cleanup, (void **)out, n,
                            err,
                            EVENT_COLUMNS "WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                            "iii", tenant, after_seq, (int64_t)limit);
}

int sb__sq_outbox_enqueue(struct sb_store *base, sb_id tenant, sb_id message, sb_id inbox,
                          const char *idempotency_key, const char *payload_json, sb_id *id,
                          struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    int64_t now = sb_now_ms(), rowid = 0;
    if (!(rc = owned(w, OWNED_INBOX, "inbox", tenant, inbox, err)) &&
        !(rc = owned(w, OWNED_MESSAGE, "message", tenant, message, err)))
        rc = sb__sq_insert(w, &rowid, err,
                           "INSERT INTO outbox (tenant_id, message_id, inbox_id, idempotency_key,"
                           " payload_json, due_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           "iiissii", tenant, message, inbox, idempotency_key, payload_json, now,
                           now);
    if (rc == SB_EEXIST)
        sb_error_set(err, rc, "an outbox item with idempotency key '%s' already exists",
                     idempotency_key);
    rc = sb__sq_end(st, rc, err);
    if (!rc && id)
        *id = rowid;
    return rc;
}

int sb__sq_outbox_claim(struct sb_store *base, int64_t now_ms, int64_t lease_ms, size_t limit,
                        struct sb_outbox_item **out, size_t *n, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    struct sb_outbox_item *items = NULL;
    size_t len = 0;
    rc = sb__sq_list(w, row_outbox, sizeof(*items), outbox_cleanup, (void **)&items, &len, err,
                     "UPDATE outbox SET due_ms = ?1 + ?2, attempts = attempts + 1 "
                     "WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND due_ms <= ?1"
                     " ORDER BY due_ms, id LIMIT ?3) "
                     "RETURNING id, tenant_id, message_id, inbox_id, idempotency_key, "
                     "payload_json, attempts, due_ms",
                     "iii", now_ms, lease_ms, (int64_t)limit);
    rc = sb__sq_end(st, rc, err);
    if (rc) {
        sb_outbox_list_free(items, len);
        return rc;
    }
    *out = items;
    *n = len;
    return 0;
}

int sb__sq_outbox_finish(struct sb_store *st, sb_id id, int delivered, int64_t retry_at_ms,
                         const char *error, struct sb_error *err)
{
    int changes = 0, rc;
    if (delivered)
        rc = sb__sq_write(sq_of(st), &changes, NULL, err,
                          "UPDATE outbox SET state = 'delivered', delivered_ms = ?, "
                          "last_error = '' WHERE id = ? AND state = 'pending'",
                          "ii", sb_now_ms(), id);
    else
        rc = sb__sq_write(sq_of(st), &changes, NULL, err,
                          "UPDATE outbox SET due_ms = ?, last_error = IFNULL(?, '') "
                          "WHERE id = ? AND state = 'pending'",
                          "isi", retry_at_ms, error, id);
    if (!rc && changes == 0)
        return sb_error_set(err, SB_ENOTFOUND, "outbox item not found or already delivered");
    return rc;
}
