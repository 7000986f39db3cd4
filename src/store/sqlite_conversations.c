/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: conversations (get, filtered lists with a cursor, updates that append a
 * "conversation.updated" event in the same transaction) and contacts with their per-inbox
 * identities. Contacts and conversations are created by ingest (sqlite_ingest.c).
 */
#include "sqlite_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CONV_COLUMNS                                                                        \
    "SELECT c.id, c.tenant_id, c.inbox_id, c.contact_id, c.status, c.priority,"            \
    " IFNULL(c.assignee_id, 0), c.tags_json, c.created_ms, c.updated_ms, c.last_message_ms," \
    " c.last_message_preview, k.name, c.team_id, c.queued_ms, c.routing_json,"                \
    " c.first_customer_ms, c.handoff_ms, c.first_response_ms, c.resolved_ms, c.reopened_ms,"  \
    " c.customer_messages, c.bot_messages, c.agent_messages, c.intent, c.resolve_reason"      \
    " FROM conversations c JOIN contacts k ON k.id = c.contact_id "
#define CONTACT_COLUMNS "SELECT id, tenant_id, name, attributes_json, created_ms FROM contacts "

static void row_conversation(sqlite3_stmt *s, void *out)
{
    struct sb_conversation *c = out;
    c->id = sqlite3_column_int64(s, 0);
    c->tenant_id = sqlite3_column_int64(s, 1);
    c->inbox_id = sqlite3_column_int64(s, 2);
    c->contact_id = sqlite3_column_int64(s, 3);
    sb__sq_col_str(s, 4, c->status, sizeof(c->status));
    c->priority = sqlite3_column_int(s, 5);
    c->assignee_id = sqlite3_column_int64(s, 6);
    c->tags_json = sb__sq_col_dup(s, 7);
    c->created_ms = sqlite3_column_int64(s, 8);
    c->updated_ms = sqlite3_column_int64(s, 9);
    c->last_message_ms = sqlite3_column_int64(s, 10);
    c->last_message_preview = sb__sq_col_dup(s, 11);
    sb__sq_col_str(s, 12, c->contact_name, sizeof(c->contact_name));
    c->team_id = sqlite3_column_int64(s, 13);
    c->queued_ms = sqlite3_column_int64(s, 14);
    c->routing_json = sb__sq_col_dup(s, 15);
    c->first_customer_ms = sqlite3_column_int64(s, 16);
    c->handoff_ms = sqlite3_column_int64(s, 17);
    c->first_response_ms = sqlite3_column_int64(s, 18);
    c->resolved_ms = sqlite3_column_int64(s, 19);
    c->reopened_ms = sqlite3_column_int64(s, 20);
    c->customer_messages = sqlite3_column_int(s, 21);
    c->bot_messages = sqlite3_column_int(s, 22);
    c->agent_messages = sqlite3_column_int(s, 23);
    sb__sq_col_str(s, 24, c->intent, sizeof(c->intent));
    sb__sq_col_str(s, 25, c->resolve_reason, sizeof(c->resolve_reason));
}

static void conversation_cleanup(void *x)
{
    sb_conversation_cleanup(x);
}

static void row_contact(sqlite3_stmt *s, void *out)
{
    struct sb_contact *c = out;
    c->id = sqlite3_column_int64(s, 0);
    c->tenant_id = sqlite3_column_int64(s, 1);
    sb__sq_col_str(s, 2, c->name, sizeof(c->name));
    c->attributes_json = sb__sq_col_dup(s, 3);
    c->created_ms = sqlite3_column_int64(s, 4);
}

static void contact_cleanup(void *x)
{
    sb_contact_cleanup(x);
}

static void row_identity(sqlite3_stmt *s, void *out)
{
    struct sb_contact_identity *x = out;
    x->inbox_id = sqlite3_column_int64(s, 0);
    sb__sq_col_str(s, 1, x->external_id, sizeof(x->external_id));
}

/* A "before" cursor of 0 means "from the newest": compare with the largest id instead, so one
 * query (and one index range) serves both. */
static sb_id cursor_or_max(sb_id before_id)
{
    return before_id ? before_id : INT64_MAX;
}

int sb__sq_conversation_get(struct sb_store *st, sb_id tenant, sb_id id,
                            struct sb_conversation *out, struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_conversation, out, "conversation", err,
                           CONV_COLUMNS "WHERE c.id = ? AND c.tenant_id = ?", "ii", id, tenant);
}

int sb__sq_conversation_list(struct sb_store *st, sb_id tenant,
                             const struct sb_conversation_filter *f, struct sb_conversation **out,
                             size_t *n, struct sb_error *err)
{
    /* Only the filters in use appear in the query, so that SQLite picks the index that
     * matches them; the parameters keep fixed numbers (unused ones are bound and ignored).
     * At most 8 distinct queries result, each cached like any other. */
    char sql[1024];
    snprintf(sql, sizeof(sql), CONV_COLUMNS "WHERE c.tenant_id = ?1%s%s%s AND c.id < ?5 "
                                            "ORDER BY c.id DESC LIMIT ?6",
             f->status ? " AND c.status = ?2" : "",
             f->assignee_id == -1  ? " AND c.assignee_id IS NULL"
             : f->assignee_id > 0 ? " AND c.assignee_id = ?3"
                                  : "",
             f->contact_id ? " AND c.contact_id = ?4" : "");
    return sb__sq_read_list(sq_of(st), row_conversation, sizeof(**out), conversation_cleanup,
                            (void **)out, n, err, sql, "isiiii", tenant, f->status, f->assignee_id,
                            f->contact_id, cursor_or_max(f->before_id), (int64_t)f->limit);
}

/* The event payload of an update: the fields it set. */
static void update_payload(const struct sb_conversation_update *u, const char *old_status,
                           char *buf, size_t size)
{
    int len = snprintf(buf, size, "{\"from_status\":\"%s\"", old_status);
    if (u->status)
        len += snprintf(buf + len, size - (size_t)len, ",\"status\":\"%s\"", u->status);
    if (u->set_assignee)
        len += snprintf(buf + len, size - (size_t)len, ",\"assignee_id\":%lld",
                        (long long)u->assignee_id);
    if (u->set_priority)
        len += snprintf(buf + len, size - (size_t)len, ",\"priority\":%d", u->priority);
    if (u->tags_json)
        len += snprintf(buf + len, size - (size_t)len, ",\"tags_changed\":true");
    snprintf(buf + len, size - (size_t)len, "}");
}

static void row_status(sqlite3_stmt *s, void *out)
{
    sb__sq_col_str(s, 0, out, sizeof(((struct sb_conversation *)0)->status));
}

int sb__sq_conversation_update(struct sb_store *base, sb_id tenant, sb_id id,
                               const struct sb_conversation_update *u, int64_t *event_seq,
                               struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    char status[sizeof(((struct sb_conversation *)0)->status)];
    int64_t seq = 0, found;
    rc = sb__sq_one(w, row_status, status, "conversation", err,
                    "SELECT status FROM conversations WHERE id = ? AND tenant_id = ?", "ii", id,
                    tenant);
    if (rc)
        goto out;
    if (u->expect_status && strcmp(u->expect_status, status) != 0) {
        rc = sb_error_set(err, SB_ESTATE, "conversation is %s, not %s", status, u->expect_status);
        goto out;
    }
    if (u->set_assignee && u->assignee_id > 0 &&
        (rc = sb__sq_int(w, &found, "agent", err,
                         "SELECT 1 FROM agents WHERE id = ? AND tenant_id = ?", "ii",
                         u->assignee_id, tenant)))
        goto out;
    if (!u->status && !u->set_assignee && !u->set_priority && !u->tags_json && !u->set_team &&
        !u->set_queued_ms && !u->routing_json && !u->resolve_reason)
        goto out; /* nothing to change: no event either */
    int64_t now = sb_now_ms();
    rc = sb__sq_exec(w, NULL, err,
                     "UPDATE conversations SET status = IFNULL(?1, status),"
                     " assignee_id = CASE WHEN ?2 THEN ?3 ELSE assignee_id END,"
                     " priority = CASE WHEN ?4 THEN ?5 ELSE priority END,"
                     " tags_json = IFNULL(?6, tags_json), updated_ms = ?7"
                     " WHERE id = ?8 AND tenant_id = ?9",
                     "sdndds" "iii", u->status, u->set_assignee, u->assignee_id, u->set_priority,
                     u->priority, u->tags_json, now, id, tenant);
    if (rc)
        goto out;
    if ((u->set_team || u->set_queued_ms || u->routing_json) &&
        (rc = sb__sq_exec(w, NULL, err,
                          "UPDATE conversations SET"
                          " team_id = CASE WHEN ?1 THEN ?2 ELSE team_id END,"
                          " queued_ms = CASE WHEN ?3 THEN ?4 ELSE queued_ms END,"
                          " routing_json = IFNULL(?5, routing_json)"
                          " WHERE id = ?6 AND tenant_id = ?7",
                          "didisii", u->set_team, u->team_id, u->set_queued_ms, u->queued_ms,
                          u->routing_json, id, tenant)))
        goto out;
    /* conversation facts (schema step 4, docs/metrics.md): the first time it is with people,
     * the latest resolution, and the first time it left "resolved" again */
    if (u->status &&
        (rc = sb__sq_exec(w, NULL, err,
                          "UPDATE conversations SET"
                          " handoff_ms = CASE WHEN ?1 IN ('queued', 'assigned') AND handoff_ms = 0"
                          "  THEN ?2 ELSE handoff_ms END,"
                          " resolved_ms = CASE WHEN ?1 <> 'resolved' THEN 0"
                          "  WHEN ?3 = 'resolved' AND resolved_ms > 0 THEN resolved_ms ELSE ?2 END,"
                          " reopened_ms = CASE WHEN ?3 = 'resolved' AND ?1 <> 'resolved'"
                          "  AND reopened_ms = 0 THEN ?2 ELSE reopened_ms END"
                          " WHERE id = ?4 AND tenant_id = ?5",
                          "sisii", u->status, now, status, id, tenant)))
        goto out;
    if (u->resolve_reason &&
        (rc = sb__sq_exec(w, NULL, err,
                          "UPDATE conversations SET resolve_reason = ?1"
                          " WHERE id = ?2 AND tenant_id = ?3",
                          "sii", u->resolve_reason, id, tenant)))
        goto out;
    char payload[256];
    update_payload(u, status, payload, sizeof(payload));
    rc = sb__sq_event_insert(w, tenant, id, 0, "conversation.updated", payload, &seq, err);
out:
    rc = sb__sq_end(st, rc, err);
    if (!rc && event_seq)
        *event_seq = seq;
    return rc;
}

int sb__sq_contact_get(struct sb_store *base, sb_id tenant, sb_id id, struct sb_contact *out,
                       struct sb_contact_identity **ids, size_t *n_ids, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *r;
    int rc = sb__sq_reader(st, &r, err);
    if (rc)
        return rc;
    struct sb_contact c = {0};
    rc = sb__sq_one(r, row_contact, &c, "contact", err,
                    CONTACT_COLUMNS "WHERE id = ? AND tenant_id = ?", "ii", id, tenant);
    if (!rc && ids)
        rc = sb__sq_list(r, row_identity, sizeof(**ids), NULL, (void **)ids, n_ids, err,
                         "SELECT inbox_id, external_id FROM contact_identities "
                         "WHERE contact_id = ? AND tenant_id = ? ORDER BY created_ms, inbox_id",
                         "ii", id, tenant);
    sb__sq_reader_done(st, r);
    if (rc)
        sb_contact_cleanup(&c);
    else
        *out = c;
    return rc;
}

int sb__sq_contact_list(struct sb_store *st, sb_id tenant, sb_id before_id, size_t limit,
                        struct sb_contact **out, size_t *n, struct sb_error *err)
{
    return sb__sq_read_list(sq_of(st), row_contact, sizeof(**out), contact_cleanup, (void **)out,
                            n, err,
                            CONTACT_COLUMNS "WHERE tenant_id = ? AND id < ? "
                                            "ORDER BY id DESC LIMIT ?",
                            "iii", tenant, cursor_or_max(before_id), (int64_t)limit);
}

int sb__sq_contact_find(struct sb_store *st, sb_id tenant, sb_id inbox, const char *external_id,
                        struct sb_contact *out, struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_contact, out, "contact", err,
                           "SELECT k.id, k.tenant_id, k.name, k.attributes_json, k.created_ms "
                           "FROM contact_identities i JOIN contacts k ON k.id = i.contact_id "
                           "WHERE i.inbox_id = ? AND i.external_id = ? AND i.tenant_id = ?",
                           "isi", inbox, external_id, tenant);
}
