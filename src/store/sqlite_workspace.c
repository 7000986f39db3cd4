/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend for the agent workspace (schema step 3): internal notes on conversations
 * (each stored with a "note.created" event in one transaction), the tenant's canned replies,
 * and customers' CSAT ratings of resolved conversations (one per conversation, stored with a
 * "csat.created" event). Every statement is scoped by tenant: a row of another tenant is
 * simply not found.
 */
#include "sqlite_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_COLUMNS "SELECT id, tenant_id, conversation_id, agent_id, text, created_ms FROM notes "
#define CANNED_COLUMNS \
    "SELECT id, tenant_id, shortcut, title, text, created_ms FROM canned_replies "
#define CSAT_COLUMNS \
    "SELECT conversation_id, tenant_id, agent_id, rating, comment, created_ms FROM csat "

static void row_note(sqlite3_stmt *s, void *out)
{
    struct sb_note *x = out;
    x->id = sqlite3_column_int64(s, 0);
    x->tenant_id = sqlite3_column_int64(s, 1);
    x->conversation_id = sqlite3_column_int64(s, 2);
    x->agent_id = sqlite3_column_int64(s, 3);
    x->text = sb__sq_col_dup(s, 4);
    x->created_ms = sqlite3_column_int64(s, 5);
}

static void note_cleanup(void *x)
{
    sb_note_cleanup(x);
}

static void row_canned(sqlite3_stmt *s, void *out)
{
    struct sb_canned_reply *x = out;
    x->id = sqlite3_column_int64(s, 0);
    x->tenant_id = sqlite3_column_int64(s, 1);
    sb__sq_col_str(s, 2, x->shortcut, sizeof(x->shortcut));
    sb__sq_col_str(s, 3, x->title, sizeof(x->title));
    x->text = sb__sq_col_dup(s, 4);
    x->created_ms = sqlite3_column_int64(s, 5);
}

static void canned_cleanup(void *x)
{
    free(((struct sb_canned_reply *)x)->text);
}

static void row_csat(sqlite3_stmt *s, void *out)
{
    struct sb_csat *x = out;
    x->conversation_id = sqlite3_column_int64(s, 0);
    x->tenant_id = sqlite3_column_int64(s, 1);
    x->agent_id = sqlite3_column_int64(s, 2);
    x->rating = sqlite3_column_int(s, 3);
    x->comment = sb__sq_col_dup(s, 4);
    x->created_ms = sqlite3_column_int64(s, 5);
}

/* The status and assignee of a conversation, read inside a write transaction. */
struct conv_state {
    char status[16];
    sb_id assignee;
};

static void row_conv_state(sqlite3_stmt *s, void *out)
{
    struct conv_state *c = out;
    sb__sq_col_str(s, 0, c->status, sizeof(c->status));
    c->assignee = sqlite3_column_int64(s, 1);
}

int sb__sq_note_add(struct sb_store *base, sb_id tenant, sb_id conversation, sb_id agent,
                    const char *text, struct sb_note *out, int64_t *event_seq,
                    struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    struct conv_state cs = {0};
    int64_t id = 0, seq = 0, now = sb_now_ms();
    if ((rc = sb__sq_one(w, row_conv_state, &cs, "conversation", err,
                         "SELECT status, IFNULL(assignee_id, 0) FROM conversations "
                         "WHERE id = ? AND tenant_id = ?",
                         "ii", conversation, tenant)))
        goto out;
    if ((rc = sb__sq_insert(w, &id, err,
                            "INSERT INTO notes (tenant_id, conversation_id, agent_id, text, "
                            "created_ms) VALUES (?, ?, ?, ?, ?)",
                            "iiisi", tenant, conversation, agent, text, now)))
        goto out;
    char payload[96];
    snprintf(payload, sizeof(payload), "{\"note_id\":%lld,\"agent_id\":%lld}", (long long)id,
             (long long)agent);
    rc = sb__sq_event_insert(w, tenant, conversation, 0, "note.created", payload, &seq, err);
out:
    rc = sb__sq_end(st, rc, err);
    if (rc)
        return rc;
    if (out) {
        out->id = id;
        out->tenant_id = tenant;
        out->conversation_id = conversation;
        out->agent_id = agent;
        out->text = sb_strdup(text);
        out->created_ms = now;
    }
    if (event_seq)
        *event_seq = seq;
    return 0;
}

int sb__sq_note_list(struct sb_store *base, sb_id tenant, sb_id conversation, sb_id after_id,
                     size_t limit, struct sb_note **out, size_t *n, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *r;
    int rc = sb__sq_reader(st, &r, err);
    if (rc)
        return rc;
    int64_t found;
    rc = sb__sq_int(r, &found, "conversation", err,
                    "SELECT 1 FROM conversations WHERE id = ? AND tenant_id = ?", "ii",
                    conversation, tenant);
    if (!rc)
        rc = sb__sq_list(r, row_note, sizeof(**out), note_cleanup, (void **)out, n, err,
                         NOTE_COLUMNS "WHERE tenant_id = ? AND conversation_id = ? AND id > ? "
                                      "ORDER BY id LIMIT ?",
                         "iiii", tenant, conversation, after_id, (int64_t)limit);
    sb__sq_reader_done(st, r);
    return rc;
}

int sb__sq_canned_create(struct sb_store *st, sb_id tenant, const char *shortcut,
                         const char *title, const char *text, sb_id *id, struct sb_error *err)
{
    int64_t rowid = 0;
    int rc = sb__sq_write(sq_of(st), NULL, &rowid, err,
                          "INSERT INTO canned_replies (tenant_id, shortcut, title, text, "
                          "created_ms) VALUES (?, ?, ?, ?, ?)",
                          "isssi", tenant, shortcut, title, text, sb_now_ms());
    if (rc == SB_EEXIST)
        return sb_error_set(err, rc, "a canned reply with the shortcut '%s' already exists",
                            shortcut);
    if (rc == SB_ENOTFOUND)
        return sb_error_set(err, rc, "tenant not found");
    if (!rc)
        *id = rowid;
    return rc;
}

int sb__sq_canned_list(struct sb_store *st, sb_id tenant, struct sb_canned_reply **out,
                       size_t *n, struct sb_error *err)
{
    return sb__sq_read_list(sq_of(st), row_canned, sizeof(**out), canned_cleanup, (void **)out,
                            n, err, CANNED_COLUMNS "WHERE tenant_id = ? ORDER BY shortcut, id",
                            "i", tenant);
}

int sb__sq_canned_delete(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err)
{
    int changes = 0;
    int rc = sb__sq_write(sq_of(st), &changes, NULL, err,
                          "DELETE FROM canned_replies WHERE id = ? AND tenant_id = ?", "ii", id,
                          tenant);
    if (!rc && changes == 0)
        rc = sb_error_set(err, SB_ENOTFOUND, "canned reply not found");
    return rc;
}

int sb__sq_csat_put(struct sb_store *base, sb_id tenant, sb_id conversation, int rating,
                    const char *comment, struct sb_csat *out, int64_t *event_seq,
                    struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    struct conv_state cs = {0};
    int64_t seq = 0, now = sb_now_ms();
    if ((rc = sb__sq_one(w, row_conv_state, &cs, "conversation", err,
                         "SELECT status, IFNULL(assignee_id, 0) FROM conversations "
                         "WHERE id = ? AND tenant_id = ?",
                         "ii", conversation, tenant)))
        goto out;
    if (strcmp(cs.status, SB_CONV_RESOLVED) != 0) {
        rc = sb_error_set(err, SB_ESTATE, "the conversation is %s: only a resolved one is rated",
                          cs.status);
        goto out;
    }
    rc = sb__sq_exec(w, NULL, err,
                     "INSERT INTO csat (conversation_id, tenant_id, agent_id, rating, comment, "
                     "created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                     "iiidsi", conversation, tenant, cs.assignee, rating, comment, now);
    if (rc == SB_EEXIST) {
        rc = sb_error_set(err, rc, "this conversation was already rated");
        goto out;
    }
    if (rc)
        goto out;
    char payload[96];
    snprintf(payload, sizeof(payload), "{\"rating\":%d,\"agent_id\":%lld}", rating,
             (long long)cs.assignee);
    rc = sb__sq_event_insert(w, tenant, conversation, 0, "csat.created", payload, &seq, err);
out:
    rc = sb__sq_end(st, rc, err);
    if (rc)
        return rc;
    if (out) {
        out->conversation_id = conversation;
        out->tenant_id = tenant;
        out->agent_id = cs.assignee;
        out->rating = rating;
        out->comment = sb_strdup(comment);
        out->created_ms = now;
    }
    if (event_seq)
        *event_seq = seq;
    return 0;
}

int sb__sq_csat_get(struct sb_store *st, sb_id tenant, sb_id conversation, struct sb_csat *out,
                    struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_csat, out, "rating", err,
                           CSAT_COLUMNS "WHERE conversation_id = ? AND tenant_id = ?", "ii",
                           conversation, tenant);
}
