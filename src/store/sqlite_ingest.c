/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: writing messages — the ingest of customer messages (the hot path: the
 * group-commit thread stores up to a few hundred at once) and the append of bot, agent and
 * system messages. A batch is ONE transaction, so one fsync acknowledges all its messages;
 * each item runs in its own SAVEPOINT so that an item that fails (unknown inbox, bad text) is
 * undone alone. Storing a message always means: the message row, the conversation's
 * last-message fields and a "message.created" event, together.
 */
#include "sqlite_internal.h"

#include "sb/clock.h"
#include "sb/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message row about to be written, whoever wrote it. */
struct row {
    sb_id tenant, conversation, inbox;
    const char *direction, *sender_kind;
    sb_id sender_id;
    const char *provider_msg_id, *text, *parts_json, *annotations_json;
    int64_t created_ms;
};

/* The 15-minute slot of a time (floor, also before 1970). */
static int64_t volume_bucket(int64_t ms)
{
    int64_t q = ms / 900000;
    return ms < 0 && ms % 900000 ? q - 1 : q;
}

/* Writes the message, brings its conversation's last-message fields and facts up to date,
 * counts it in message_volume and appends the "message.created" event. */
static int store_message(struct sq_conn *w, const struct row *m, int conversation_created,
                         sb_id *id, int64_t *seq, struct sb_error *err)
{
    char *parts = NULL;
    int rc = 0;
    if (!m->parts_json && (rc = sb__store_default_parts(m->text, &parts, err)))
        return rc;
    rc = sb__sq_insert(w, id, err,
                       "INSERT INTO messages (tenant_id, conversation_id, inbox_id, direction,"
                       " sender_kind, sender_id, provider_msg_id, text, parts_json,"
                       " annotations_json, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       "iiississssi", m->tenant, m->conversation, m->inbox, m->direction,
                       m->sender_kind, m->sender_id, m->provider_msg_id, m->text,
                       parts ? parts : m->parts_json, m->annotations_json, m->created_ms);
    free(parts);
    if (rc == SB_EEXIST)
        return sb_error_set(err, rc, "a message with this provider_msg_id was already stored");
    if (rc)
        return rc;
    char preview[SB_STORE_PREVIEW_MAX + 1];
    size_t n = sb__store_preview_len(m->text, SB_STORE_PREVIEW_MAX);
    memcpy(preview, m->text, n);
    preview[n] = '\0';
    /* the message counts of the conversation facts (schema step 4, docs/metrics.md) change
     * with every message; they are in no index, so this stays one cheap row update */
    int agent_out = !strcmp(m->sender_kind, SB_SENDER_AGENT) && !strcmp(m->direction, SB_DIR_OUT);
    rc = sb__sq_exec(w, NULL, err,
                     "UPDATE conversations SET last_message_ms = MAX(last_message_ms, ?1),"
                     " last_message_preview = ?2, updated_ms = ?3,"
                     " customer_messages = customer_messages + (?5 = 'customer'),"
                     " bot_messages = bot_messages + (?5 = 'bot'),"
                     " agent_messages = agent_messages + ?6"
                     " WHERE id = ?4",
                     "isiisd", m->created_ms, preview, sb_now_ms(), m->conversation,
                     m->sender_kind, agent_out);
    /* the first agent reply to the customer is the first response; finding no hand-off, it
     * is the moment the agent took the conversation over, so the hand-off too */
    if (!rc && agent_out)
        rc = sb__sq_exec(w, NULL, err,
                         "UPDATE conversations SET first_response_ms = ?1,"
                         " handoff_ms = CASE WHEN handoff_ms = 0 THEN ?1 ELSE handoff_ms END"
                         " WHERE id = ?2 AND first_response_ms = 0",
                         "ii", m->created_ms, m->conversation);
    /* messages per 15 minutes, inbox and sender, for the dashboard's volume */
    if (!rc && (agent_out || !strcmp(m->sender_kind, SB_SENDER_CUSTOMER) ||
                !strcmp(m->sender_kind, SB_SENDER_BOT)))
        rc = sb__sq_exec(w, NULL, err,
                         "INSERT INTO message_volume (tenant_id, bucket, inbox_id, sender_kind, n)"
                         " VALUES (?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET n = n + 1",
                         "iiis", m->tenant, volume_bucket(m->created_ms), m->inbox,
                         m->sender_kind);
    if (rc)
        return rc;
    char payload[96];
    snprintf(payload, sizeof(payload), "{\"sender_kind\":\"%s\",\"conversation_created\":%s}",
             m->sender_kind, conversation_created ? "true" : "false");
    return sb__sq_event_insert(w, m->tenant, m->conversation, *id, "message.created", payload,
                               seq, err);
}

static void row_duplicate(sqlite3_stmt *s, void *out)
{
    struct sb_ingest_result *r = out;
    r->message_id = sqlite3_column_int64(s, 0);
    r->conversation_id = sqlite3_column_int64(s, 1);
    r->contact_id = sqlite3_column_int64(s, 2);
}

/* The contact reached as the item's customer on its inbox, created on first contact; a
 * non-empty customer name replaces the stored one. */
static int contact_of(struct sq_conn *w, const struct sb_ingest *in, int64_t now, sb_id *contact,
                      struct sb_error *err)
{
    int rc = sb__sq_int(w, contact, NULL, err,
                        "SELECT contact_id FROM contact_identities "
                        "WHERE inbox_id = ? AND external_id = ? AND tenant_id = ?",
                        "isi", in->inbox_id, in->customer_ext_id, in->tenant_id);
    const char *name = in->customer_name ? in->customer_name : "";
    if (rc == 0) {
        if (!*name)
            return 0;
        return sb__sq_exec(w, NULL, err, "UPDATE contacts SET name = ?1 WHERE id = ?2 AND name <> ?1",
                           "si", name, *contact);
    }
    if (rc != SB_ENOTFOUND)
        return rc;
    if ((rc = sb__sq_insert(w, contact, err,
                            "INSERT INTO contacts (tenant_id, name, attributes_json, created_ms) "
                            "VALUES (?, ?, '{}', ?)",
                            "isi", in->tenant_id, name, now)))
        return rc;
    return sb__sq_exec(w, NULL, err,
                       "INSERT INTO contact_identities (inbox_id, external_id, tenant_id,"
                       " contact_id, created_ms) VALUES (?, ?, ?, ?, ?)",
                       "isiii", in->inbox_id, in->customer_ext_id, in->tenant_id, *contact, now);
}

/* The contact's open conversation in the inbox, or a new one (a resolved conversation is
 * history: the next message opens a new conversation). */
static int conversation_of(struct sq_conn *w, const struct sb_ingest *in, sb_id contact,
                           int64_t created_ms, sb_id *conversation, int *created,
                           struct sb_error *err)
{
    int rc = sb__sq_int(w, conversation, NULL, err,
                        "SELECT id FROM conversations WHERE contact_id = ? AND inbox_id = ?"
                        " AND status <> 'resolved' AND tenant_id = ? ORDER BY id DESC LIMIT 1",
                        "iii", contact, in->inbox_id, in->tenant_id);
    *created = rc == SB_ENOTFOUND;
    if (rc != SB_ENOTFOUND)
        return rc;
    /* the customer wrote again after a resolution: the last resolved conversation of this
     * contact in this inbox was reopened now (conversation facts, docs/metrics.md) */
    if ((rc = sb__sq_exec(w, NULL, err,
                          "UPDATE conversations SET reopened_ms = ?1 WHERE id = (SELECT id"
                          " FROM conversations WHERE tenant_id = ?2 AND contact_id = ?3"
                          " AND inbox_id = ?4 AND status = 'resolved' ORDER BY id DESC LIMIT 1)"
                          " AND reopened_ms = 0",
                          "iiii", created_ms, in->tenant_id, contact, in->inbox_id)))
        return rc;
    /* its first message is this customer's (conversation facts) */
    return sb__sq_insert(w, conversation, err,
                         "INSERT INTO conversations (tenant_id, inbox_id, contact_id, status,"
                         " created_ms, updated_ms, first_customer_ms)"
                         " VALUES (?1, ?2, ?3, 'bot', ?4, ?5, ?4)",
                         "iiiii", in->tenant_id, in->inbox_id, contact, created_ms, sb_now_ms());
}

static int ingest_one(struct sq_conn *w, const struct sb_ingest *in, int64_t now,
                      struct sb_ingest_result *r, struct sb_error *err)
{
    int rc = sb__store_check_ingest(in, err);
    if (rc)
        return rc;
    int64_t found;
    if ((rc = sb__sq_int(w, &found, "inbox", err,
                         "SELECT 1 FROM inboxes WHERE id = ? AND tenant_id = ?", "ii",
                         in->inbox_id, in->tenant_id)))
        return rc;
    if (in->provider_msg_id) {
        /* seen before, in an earlier batch or earlier in this one: the first ids answer */
        rc = sb__sq_one(w, row_duplicate, r, NULL, err,
                        "SELECT id, conversation_id, sender_id FROM messages "
                        "WHERE inbox_id = ? AND provider_msg_id = ? AND tenant_id = ?",
                        "isi", in->inbox_id, in->provider_msg_id, in->tenant_id);
        if (rc == 0) {
            r->duplicate = 1;
            return 0;
        }
        if (rc != SB_ENOTFOUND)
            return rc;
    }
    int64_t created_ms = in->created_ms ? in->created_ms : now;
    if ((rc = contact_of(w, in, now, &r->contact_id, err)) ||
        (rc = conversation_of(w, in, r->contact_id, created_ms, &r->conversation_id,
                              &r->conversation_created, err)))
        return rc;
    struct row m = {
        .tenant = in->tenant_id,
        .conversation = r->conversation_id,
        .inbox = in->inbox_id,
        .direction = SB_DIR_IN,
        .sender_kind = SB_SENDER_CUSTOMER,
        .sender_id = r->contact_id,
        .provider_msg_id = in->provider_msg_id,
        .text = in->text ? in->text : "",
        .parts_json = in->parts_json,
        .annotations_json = "{}",
        .created_ms = created_ms,
    };
    return store_message(w, &m, r->conversation_created, &r->message_id, &r->event_seq, err);
}

static int append_one(struct sq_conn *w, const struct sb_message_new *in, sb_id *id,
                      int64_t *seq, struct sb_error *err)
{
    int rc = sb__store_check_message_new(in, err);
    if (rc)
        return rc;
    int64_t inbox, found;
    if ((rc = sb__sq_int(w, &inbox, "conversation", err,
                         "SELECT inbox_id FROM conversations WHERE id = ? AND tenant_id = ?",
                         "ii", in->conversation_id, in->tenant_id)))
        return rc;
    if (strcmp(in->sender_kind, SB_SENDER_AGENT) == 0 && in->sender_id > 0 &&
        (rc = sb__sq_int(w, &found, "agent", err,
                         "SELECT 1 FROM agents WHERE id = ? AND tenant_id = ?", "ii",
                         in->sender_id, in->tenant_id)))
        return rc;
    struct row m = {
        .tenant = in->tenant_id,
        .conversation = in->conversation_id,
        .inbox = inbox,
        .direction = in->direction,
        .sender_kind = in->sender_kind,
        .sender_id = in->sender_id,
        .provider_msg_id = in->provider_msg_id,
        .text = in->text ? in->text : "",
        .parts_json = in->parts_json,
        .annotations_json = in->annotations_json ? in->annotations_json : "{}",
        .created_ms = in->created_ms ? in->created_ms : sb_now_ms(),
    };
    return store_message(w, &m, 0, id, seq, err);
}

/*
 * Runs item i of a batch in a savepoint. Returns the item's own code (its effects undone when
 * non-zero), or sets *fatal when the failure ended the whole transaction (I/O error, disk
 * full): then nothing of the batch can be kept.
 */
struct batch {
    const struct sb_ingest *in;
    struct sb_ingest_result *out;
    const struct sb_message_new *msgs;
    const struct sb_annotation *notes;
    sb_id *ids;
    int64_t *seqs;
};

static int run_item(struct sq_conn *w, const struct batch *b, size_t i, int64_t now, int *fatal,
                    struct sb_error *err)
{
    int rc = sb__sq_exec(w, NULL, err, "SAVEPOINT item", "");
    if (rc) {
        *fatal = 1;
        return rc;
    }
    struct sb_error item_err = {0};
    if (b->in) {
        memset(&b->out[i], 0, sizeof(b->out[i]));
        rc = ingest_one(w, &b->in[i], now, &b->out[i], &item_err);
    } else if (b->notes) {
        int64_t seq = 0;
        rc = sb__sq_annotate_one(w, &b->notes[i], &seq, &item_err);
        if (!rc)
            b->seqs[i] = seq;
    } else {
        sb_id id = 0;
        int64_t seq = 0;
        rc = append_one(w, &b->msgs[i], &id, &seq, &item_err);
        if (!rc && b->ids)
            b->ids[i] = id;
        if (!rc && b->seqs)
            b->seqs[i] = seq;
    }
    if (rc && b->in)
        memset(&b->out[i], 0, sizeof(b->out[i]));
    if (rc && sqlite3_get_autocommit(w->db)) {
        *fatal = 1;
        *err = item_err;
        return rc;
    }
    if (rc && sb__sq_exec(w, NULL, err, "ROLLBACK TO item", "")) {
        *fatal = 1;
        return rc;
    }
    if (rc)
        SB_LOG(SB_LOG_INFO, "store", "batch item %zu not stored: %s", i, item_err.msg);
    int rel = sb__sq_exec(w, NULL, err, "RELEASE item", "");
    if (rel) {
        *fatal = 1;
        return rel;
    }
    return rc;
}

/* Runs the items of `b` inside the caller's transaction; returns non-zero when one failure
 * ended the whole transaction. */
static int run_items(struct sq_conn *w, const struct batch *b, size_t n, int *rcs, int64_t now,
                     struct sb_error *err)
{
    int fatal = 0, rc = 0;
    for (size_t i = 0; i < n && !fatal; i++) {
        int item = run_item(w, b, i, now, &fatal, err);
        rcs[i] = item;
        if (fatal)
            rc = item;
    }
    return rc;
}

static int run_batch(struct sq_store *st, const struct batch *b, size_t n, int *rcs,
                     struct sb_error *err)
{
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    rc = run_items(w, b, n, rcs, sb_now_ms(), err);
    return sb__sq_end(st, rc, err);
}

int sb__sq_ingest_batch(struct sb_store *st, const struct sb_ingest *in,
                        struct sb_ingest_result *out, size_t n, struct sb_error *err)
{
    int *rcs = calloc(n, sizeof(*rcs));
    if (!rcs)
        return sb_error_set(err, SB_ENOMEM, "out of memory for %zu results", n);
    struct batch b = {.in = in, .out = out};
    int rc = run_batch(sq_of(st), &b, n, rcs, err);
    for (size_t i = 0; i < n; i++) {
        if (rc)
            memset(&out[i], 0, sizeof(out[i]));
        out[i].rc = rc ? rc : rcs[i];
    }
    free(rcs);
    return rc;
}

int sb__sq_message_append_batch(struct sb_store *st, const struct sb_message_new *m, size_t n,
                                sb_id *ids, int64_t *event_seqs, int *rcs,
                                struct sb_error *err)
{
    struct batch b = {.msgs = m, .ids = ids, .seqs = event_seqs};
    int rc = run_batch(sq_of(st), &b, n, rcs, err);
    for (size_t i = 0; rc && i < n; i++)
        rcs[i] = rc;
    return rc;
}

int sb__sq_write_batch(struct sb_store *base, struct sb_write_batch *wb, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    size_t ni = wb->n_ingests;
    int *ingest_rcs = calloc(ni ? ni : 1, sizeof(int));
    if (!ingest_rcs)
        return sb_error_set(err, SB_ENOMEM, "out of memory for %zu results", ni);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (!rc) {
        int64_t now = sb_now_ms();
        struct batch in = {.in = wb->ingests, .out = wb->ingest_results};
        struct batch posts = {.msgs = wb->posts, .ids = wb->post_ids, .seqs = wb->post_seqs};
        struct batch notes = {.notes = wb->notes, .seqs = wb->note_seqs};
        rc = run_items(w, &in, ni, ingest_rcs, now, err);
        if (!rc)
            rc = run_items(w, &posts, wb->n_posts, wb->post_rcs, now, err);
        if (!rc)
            rc = run_items(w, &notes, wb->n_notes, wb->note_rcs, now, err);
        rc = sb__sq_end(st, rc, err);
    }
    for (size_t i = 0; i < ni; i++) {
        if (rc)
            memset(&wb->ingest_results[i], 0, sizeof(wb->ingest_results[i]));
        wb->ingest_results[i].rc = rc ? rc : ingest_rcs[i];
    }
    for (size_t i = 0; rc && i < wb->n_posts; i++)
        wb->post_rcs[i] = rc;
    for (size_t i = 0; rc && i < wb->n_notes; i++)
        wb->note_rcs[i] = rc;
    free(ingest_rcs);
    return rc;
}

int sb__sq_message_append(struct sb_store *base, const struct sb_message_new *m, sb_id *id,
                          int64_t *event_seq, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    sb_id mid = 0;
    int64_t seq = 0;
    rc = append_one(w, m, &mid, &seq, err);
    rc = sb__sq_end(st, rc, err);
    if (!rc && id)
        *id = mid;
    if (!rc && event_seq)
        *event_seq = seq;
    return rc;
}
