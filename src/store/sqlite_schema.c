/* SPDX-License-Identifier: MIT */
/*
 * The SQLite schema and its versioned migrations. The schema version is PRAGMA user_version;
 * `steps` is the ordered list of changes, step k taking the schema from version k-1 to k.
 * Migrating applies every step above the stored version in ONE transaction (a crash leaves
 * the old version intact) and records each in schema_migrations. A database whose version is
 * newer than the last step was written by a newer Switchboard and is refused.
 *
 * Steps are append-only: a released step is never edited; a change is a new step.
 */
#include "sqlite_internal.h"

#include "sb/clock.h"

#include <stdio.h>

struct step {
    int version;
    const char *name;
    const char *sql;
};

static const struct step steps[] = {
    {1, "initial schema",
     "CREATE TABLE schema_migrations (\n"
     "  version INTEGER PRIMARY KEY,\n"
     "  name TEXT NOT NULL,\n"
     "  applied_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE TABLE tenants (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  slug TEXT NOT NULL UNIQUE,\n"
     "  name TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE TABLE inboxes (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  kind TEXT NOT NULL,\n"
     "  name TEXT NOT NULL,\n"
     "  config_json TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  UNIQUE (tenant_id, name)\n"
     ");\n"
     "CREATE TABLE contacts (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  name TEXT NOT NULL,\n"
     "  attributes_json TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX contacts_by_tenant ON contacts (tenant_id, id);\n"
     "CREATE TABLE contact_identities (\n"
     "  inbox_id INTEGER NOT NULL REFERENCES inboxes(id),\n"
     "  external_id TEXT NOT NULL,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  contact_id INTEGER NOT NULL REFERENCES contacts(id),\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  PRIMARY KEY (inbox_id, external_id)\n"
     ") WITHOUT ROWID;\n"
     "CREATE INDEX contact_identities_by_contact ON contact_identities (contact_id);\n"
     "CREATE TABLE agents (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  email TEXT NOT NULL,\n"
     "  name TEXT NOT NULL,\n"
     "  role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),\n"
     "  pw_hash TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE UNIQUE INDEX agents_by_email ON agents (tenant_id, email COLLATE NOCASE);\n"
     "CREATE TABLE conversations (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  inbox_id INTEGER NOT NULL REFERENCES inboxes(id),\n"
     "  contact_id INTEGER NOT NULL REFERENCES contacts(id),\n"
     "  status TEXT NOT NULL CHECK (status IN ('bot', 'queued', 'assigned', 'resolved')),\n"
     "  priority INTEGER NOT NULL DEFAULT 0,\n"
     "  assignee_id INTEGER REFERENCES agents(id),\n"
     "  tags_json TEXT NOT NULL DEFAULT '[]',\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  updated_ms INTEGER NOT NULL,\n"
     "  last_message_ms INTEGER NOT NULL DEFAULT 0,\n"
     "  last_message_preview TEXT NOT NULL DEFAULT ''\n"
     ");\n"
     "CREATE INDEX conversations_by_tenant ON conversations (tenant_id, id);\n"
     "CREATE INDEX conversations_by_status ON conversations (tenant_id, status, id);\n"
     "CREATE INDEX conversations_by_assignee ON conversations (tenant_id, assignee_id, id);\n"
     "CREATE INDEX conversations_by_contact ON conversations (tenant_id, contact_id, id);\n"
     "CREATE INDEX conversations_open ON conversations (contact_id, inbox_id)\n"
     "  WHERE status <> 'resolved';\n"
     "CREATE TABLE messages (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  conversation_id INTEGER NOT NULL REFERENCES conversations(id),\n"
     "  inbox_id INTEGER NOT NULL REFERENCES inboxes(id),\n"
     "  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),\n"
     "  sender_kind TEXT NOT NULL\n"
     "    CHECK (sender_kind IN ('customer', 'bot', 'agent', 'system')),\n"
     "  sender_id INTEGER NOT NULL DEFAULT 0,\n"
     "  provider_msg_id TEXT,\n"
     "  text TEXT NOT NULL,\n"
     "  parts_json TEXT NOT NULL,\n"
     "  annotations_json TEXT NOT NULL DEFAULT '{}',\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE UNIQUE INDEX messages_by_provider_id ON messages (inbox_id, provider_msg_id)\n"
     "  WHERE provider_msg_id IS NOT NULL;\n"
     "CREATE INDEX messages_by_conversation ON messages (conversation_id, id);\n"
     "CREATE TABLE api_keys (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  name TEXT NOT NULL,\n"
     "  role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),\n"
     "  prefix TEXT NOT NULL UNIQUE,\n"
     "  hash TEXT NOT NULL,\n"
     "  revoked INTEGER NOT NULL DEFAULT 0,\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);\n"
     "CREATE TABLE sessions (\n"
     "  token_hash TEXT PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  agent_id INTEGER NOT NULL REFERENCES agents(id),\n"
     "  expires_ms INTEGER NOT NULL,\n"
     "  created_ms INTEGER NOT NULL\n"
     ") WITHOUT ROWID;\n"
     "CREATE INDEX sessions_by_expiry ON sessions (expires_ms);\n"
     "CREATE TABLE events (\n"
     "  seq INTEGER PRIMARY KEY AUTOINCREMENT,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  conversation_id INTEGER NOT NULL DEFAULT 0,\n"
     "  message_id INTEGER NOT NULL DEFAULT 0,\n"
     "  type TEXT NOT NULL,\n"
     "  payload_json TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX events_by_tenant ON events (tenant_id, seq);\n"
     "CREATE INDEX events_by_conversation ON events (tenant_id, conversation_id, seq);\n"
     "CREATE TABLE outbox (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  message_id INTEGER NOT NULL DEFAULT 0,\n"
     "  inbox_id INTEGER NOT NULL REFERENCES inboxes(id),\n"
     "  idempotency_key TEXT NOT NULL UNIQUE,\n"
     "  payload_json TEXT NOT NULL,\n"
     "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered')),\n"
     "  attempts INTEGER NOT NULL DEFAULT 0,\n"
     "  due_ms INTEGER NOT NULL,\n"
     "  last_error TEXT NOT NULL DEFAULT '',\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  delivered_ms INTEGER NOT NULL DEFAULT 0\n"
     ");\n"
     "CREATE INDEX outbox_due ON outbox (due_ms, id) WHERE state = 'pending';\n"},
    {2, "routing",
     "CREATE TABLE teams (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  name TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  UNIQUE (tenant_id, name)\n"
     ");\n"
     "CREATE TABLE agent_teams (\n"
     "  agent_id INTEGER NOT NULL REFERENCES agents(id),\n"
     "  team_id INTEGER NOT NULL REFERENCES teams(id),\n"
     "  PRIMARY KEY (agent_id, team_id)\n"
     ") WITHOUT ROWID;\n"
     "CREATE TABLE agent_routing (\n"
     "  agent_id INTEGER PRIMARY KEY REFERENCES agents(id),\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  presence TEXT NOT NULL DEFAULT 'offline'\n"
     "    CHECK (presence IN ('online', 'away', 'offline')),\n"
     "  capacity INTEGER NOT NULL DEFAULT 3 CHECK (capacity BETWEEN 0 AND 1000),\n"
     "  skills_json TEXT NOT NULL DEFAULT '[]',\n"
     "  updated_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX agent_routing_by_tenant ON agent_routing (tenant_id, agent_id);\n"
     "CREATE TABLE tenant_settings (\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  key TEXT NOT NULL,\n"
     "  value_json TEXT NOT NULL,\n"
     "  updated_ms INTEGER NOT NULL,\n"
     "  PRIMARY KEY (tenant_id, key)\n"
     ") WITHOUT ROWID;\n"
     "ALTER TABLE conversations ADD COLUMN team_id INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN queued_ms INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN routing_json TEXT NOT NULL DEFAULT '{}';\n"},
    {3, "workspace",
     "CREATE TABLE notes (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  conversation_id INTEGER NOT NULL REFERENCES conversations(id),\n"
     "  agent_id INTEGER NOT NULL DEFAULT 0,\n"
     "  text TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX notes_by_conversation ON notes (tenant_id, conversation_id, id);\n"
     "CREATE TABLE canned_replies (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  shortcut TEXT NOT NULL,\n"
     "  title TEXT NOT NULL,\n"
     "  text TEXT NOT NULL,\n"
     "  created_ms INTEGER NOT NULL,\n"
     "  UNIQUE (tenant_id, shortcut)\n"
     ");\n"
     "CREATE TABLE csat (\n"
     "  conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),\n"
     "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),\n"
     "  agent_id INTEGER NOT NULL DEFAULT 0,\n"
     "  rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),\n"
     "  comment TEXT NOT NULL DEFAULT '',\n"
     "  created_ms INTEGER NOT NULL\n"
     ");\n"
     "CREATE INDEX csat_by_tenant ON csat (tenant_id, created_ms);\n"
     "ALTER TABLE conversations ADD COLUMN resolve_reason TEXT NOT NULL DEFAULT '';\n"},
    {4, "conversation facts",
     /* What the dashboard and the reports read (docs/metrics.md), kept by the write paths in
      * the transaction of the message or update that changes them (sqlite_ingest.c,
      * sqlite_conversations.c); message labels by the triggers below. */
     "ALTER TABLE conversations ADD COLUMN first_customer_ms INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN handoff_ms INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN first_response_ms INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN resolved_ms INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN reopened_ms INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN customer_messages INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN bot_messages INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN agent_messages INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE conversations ADD COLUMN intent TEXT NOT NULL DEFAULT '';\n"
     /* covering, one range per inbox: the period's conversations are counted without
      * reading their rows or sorting them (these columns change a few times in a
      * conversation's life, not with every message); by_created orders the report */
     "CREATE INDEX conversations_by_inbox_created ON conversations\n"
     "  (tenant_id, inbox_id, created_ms, status, handoff_ms, resolved_ms, reopened_ms);\n"
     "CREATE INDEX conversations_by_created ON conversations (tenant_id, created_ms);\n"
     "CREATE INDEX conversations_by_status_facts ON conversations\n"
     "  (tenant_id, status, assignee_id, handoff_ms, queued_ms, first_response_ms);\n"
     "CREATE INDEX conversations_by_first_response\n"
     "  ON conversations (tenant_id, first_response_ms, handoff_ms) WHERE first_response_ms > 0;\n"
     "CREATE INDEX conversations_by_resolved\n"
     "  ON conversations (tenant_id, resolved_ms, first_customer_ms, created_ms)\n"
     "  WHERE resolved_ms > 0;\n"
     /* messages per 15 minutes (UTC), inbox and sender (agents: to the customer only), kept
      * by sqlite_ingest.c with each message */
     "CREATE TABLE message_volume (\n"
     "  tenant_id INTEGER NOT NULL,\n"
     "  bucket INTEGER NOT NULL,\n"
     "  inbox_id INTEGER NOT NULL,\n"
     "  sender_kind TEXT NOT NULL,\n"
     "  n INTEGER NOT NULL,\n"
     "  PRIMARY KEY (tenant_id, inbox_id, sender_kind, bucket)\n"
     ") WITHOUT ROWID;\n"
     "INSERT INTO message_volume (tenant_id, bucket, inbox_id, sender_kind, n)\n"
     "  SELECT tenant_id, created_ms / 900000, inbox_id, sender_kind, count(*) FROM messages\n"
     "  WHERE sender_kind IN ('customer', 'bot') OR (sender_kind = 'agent' AND direction = 'out')\n"
     "  GROUP BY 1, 2, 3, 4;\n"
     /* customer-message labels per 15 minutes (UTC), for the sentiment trend and top intents
      * over any period without reading the messages */
     "CREATE TABLE message_labels (\n"
     "  tenant_id INTEGER NOT NULL,\n"
     "  kind TEXT NOT NULL CHECK (kind IN ('sentiment', 'intent')),\n"
     "  bucket INTEGER NOT NULL,\n"
     "  label TEXT NOT NULL,\n"
     "  n INTEGER NOT NULL,\n"
     "  PRIMARY KEY (tenant_id, kind, bucket, label)\n"
     ") WITHOUT ROWID;\n"
     "CREATE VIEW message_label_values AS SELECT id, tenant_id, conversation_id,"
     " created_ms / 900000 AS bucket,"
     " CASE WHEN json_valid(annotations_json)"
     "  AND json_type(annotations_json, '$.sentiment.label') = 'text'"
     "  THEN json_extract(annotations_json, '$.sentiment.label') END AS sentiment,"
     " CASE WHEN NOT json_valid(annotations_json) THEN NULL"
     "  WHEN json_type(annotations_json, '$.intent.oos') = 'true' THEN 'oos'"
     "  WHEN json_type(annotations_json, '$.intent.label') = 'text'"
     "  THEN json_extract(annotations_json, '$.intent.label') END AS intent"
     " FROM messages WHERE sender_kind = 'customer';\n"
     "CREATE TRIGGER message_labels_insert AFTER INSERT ON messages\n"
     "WHEN NEW.sender_kind = 'customer' AND NEW.annotations_json <> '{}' BEGIN\n"
     "  INSERT INTO message_labels (tenant_id, kind, bucket, label, n)\n"
     "    SELECT tenant_id, 'sentiment', bucket, sentiment, 1 FROM message_label_values\n"
     "    WHERE id = NEW.id AND sentiment IS NOT NULL\n"
     "    ON CONFLICT DO UPDATE SET n = n + 1;\n"
     "  INSERT INTO message_labels (tenant_id, kind, bucket, label, n)\n"
     "    SELECT tenant_id, 'intent', bucket, intent, 1 FROM message_label_values\n"
     "    WHERE id = NEW.id AND intent IS NOT NULL\n"
     "    ON CONFLICT DO UPDATE SET n = n + 1;\n"
     "  UPDATE conversations SET intent = (SELECT intent FROM message_label_values\n"
     "    WHERE id = NEW.id) WHERE id = NEW.conversation_id AND intent = ''\n"
     "    AND (SELECT intent FROM message_label_values WHERE id = NEW.id) NOT IN ('', 'oos');\n"
     "END;\n"
     /* an update replaces the message's labels: the old ones are taken back first */
     "CREATE TRIGGER message_labels_update\n"
     "BEFORE UPDATE OF annotations_json ON messages\n"
     "WHEN OLD.sender_kind = 'customer' AND OLD.annotations_json <> '{}' BEGIN\n"
     "  UPDATE message_labels SET n = n - 1 WHERE (tenant_id, kind, bucket, label) IN\n"
     "    (SELECT tenant_id, 'sentiment', bucket, sentiment FROM message_label_values\n"
     "     WHERE id = OLD.id AND sentiment IS NOT NULL\n"
     "     UNION ALL SELECT tenant_id, 'intent', bucket, intent FROM message_label_values\n"
     "     WHERE id = OLD.id AND intent IS NOT NULL);\n"
     "END;\n"
     "CREATE TRIGGER message_labels_updated\n"
     "AFTER UPDATE OF annotations_json ON messages\n"
     "WHEN NEW.sender_kind = 'customer' AND NEW.annotations_json <> '{}' BEGIN\n"
     "  INSERT INTO message_labels (tenant_id, kind, bucket, label, n)\n"
     "    SELECT tenant_id, 'sentiment', bucket, sentiment, 1 FROM message_label_values\n"
     "    WHERE id = NEW.id AND sentiment IS NOT NULL\n"
     "    ON CONFLICT DO UPDATE SET n = n + 1;\n"
     "  INSERT INTO message_labels (tenant_id, kind, bucket, label, n)\n"
     "    SELECT tenant_id, 'intent', bucket, intent, 1 FROM message_label_values\n"
     "    WHERE id = NEW.id AND intent IS NOT NULL\n"
     "    ON CONFLICT DO UPDATE SET n = n + 1;\n"
     "  UPDATE conversations SET intent = (SELECT intent FROM message_label_values\n"
     "    WHERE id = NEW.id) WHERE id = NEW.conversation_id AND intent = ''\n"
     "    AND (SELECT intent FROM message_label_values WHERE id = NEW.id) NOT IN ('', 'oos');\n"
     "END;\n"
     /* backfill of what was stored before this step */
     "INSERT INTO message_labels (tenant_id, kind, bucket, label, n)\n"
     "  SELECT tenant_id, 'sentiment', bucket, sentiment, count(*) FROM message_label_values\n"
     "  WHERE sentiment IS NOT NULL GROUP BY tenant_id, bucket, sentiment;\n"
     "INSERT INTO message_labels (tenant_id, kind, bucket, label, n)\n"
     "  SELECT tenant_id, 'intent', bucket, intent, count(*) FROM message_label_values\n"
     "  WHERE intent IS NOT NULL GROUP BY tenant_id, bucket, intent;\n"
     "UPDATE conversations SET intent = IFNULL((SELECT v.intent FROM message_label_values v\n"
     "  WHERE v.conversation_id = conversations.id AND v.intent NOT IN ('', 'oos')\n"
     "  ORDER BY v.id LIMIT 1), '');\n"
     "UPDATE conversations SET\n"
     "  first_customer_ms = IFNULL((SELECT MIN(created_ms) FROM messages m\n"
     "    WHERE m.conversation_id = conversations.id AND m.sender_kind = 'customer'), 0),\n"
     "  customer_messages = (SELECT count(*) FROM messages m\n"
     "    WHERE m.conversation_id = conversations.id AND m.sender_kind = 'customer'),\n"
     "  bot_messages = (SELECT count(*) FROM messages m\n"
     "    WHERE m.conversation_id = conversations.id AND m.sender_kind = 'bot'),\n"
     "  agent_messages = (SELECT count(*) FROM messages m WHERE m.conversation_id ="
     " conversations.id AND m.sender_kind = 'agent' AND m.direction = 'out'),\n"
     /* the first time the event log shows it with people; the queue time route kept */
     "  handoff_ms = IFNULL((SELECT MIN(e.created_ms) FROM events e\n"
     "    WHERE e.tenant_id = conversations.tenant_id AND e.conversation_id = conversations.id\n"
     "    AND e.type = 'conversation.updated' AND json_valid(e.payload_json)\n"
     "    AND json_extract(e.payload_json, '$.status') IN ('queued', 'assigned')),\n"
     "    CASE WHEN queued_ms > 0 THEN queued_ms ELSE 0 END),\n"
     "  resolved_ms = CASE WHEN status <> 'resolved' THEN 0 ELSE IFNULL(\n"
     "    (SELECT MAX(e.created_ms) FROM events e WHERE e.tenant_id = conversations.tenant_id\n"
     "     AND e.conversation_id = conversations.id AND e.type = 'conversation.updated'\n"
     "     AND json_valid(e.payload_json)\n"
     "     AND json_extract(e.payload_json, '$.status') = 'resolved'), updated_ms) END;\n"
     /* an agent who replied without a hand-off took the conversation over at that reply */
     "UPDATE conversations SET handoff_ms = (SELECT MIN(created_ms) FROM messages m\n"
     "  WHERE m.conversation_id = conversations.id AND m.sender_kind = 'agent'\n"
     "  AND m.direction = 'out') WHERE agent_messages > 0 AND (handoff_ms = 0 OR handoff_ms >\n"
     "  (SELECT MIN(created_ms) FROM messages m WHERE m.conversation_id = conversations.id\n"
     "   AND m.sender_kind = 'agent' AND m.direction = 'out'));\n"
     "UPDATE conversations SET first_response_ms = IFNULL((SELECT MIN(created_ms) FROM messages m\n"
     "  WHERE m.conversation_id = conversations.id AND m.sender_kind = 'agent'\n"
     "  AND m.direction = 'out' AND m.created_ms >= conversations.handoff_ms), 0)\n"
     "  WHERE handoff_ms > 0;\n"
     /* reopened: the next customer message of the contact in that inbox came after it */
     "UPDATE conversations SET reopened_ms = IFNULL((SELECT MIN(n.first_customer_ms)\n"
     "  FROM conversations n WHERE n.tenant_id = conversations.tenant_id\n"
     "  AND n.contact_id = conversations.contact_id AND n.inbox_id = conversations.inbox_id\n"
     "  AND n.id > conversations.id AND n.first_customer_ms > 0), 0)\n"
     "  WHERE status = 'resolved';\n"},
};

#define N_STEPS ((int)(sizeof(steps) / sizeof(steps[0])))

int sb__sq_schema_latest(void)
{
    return steps[N_STEPS - 1].version;
}

int sb__sq_schema_version(struct sq_conn *c, int *version, struct sb_error *err)
{
    int64_t v = 0;
    int rc = sb__sq_int(c, &v, "schema version", err, "PRAGMA user_version", "");
    if (!rc)
        *version = (int)v;
    return rc;
}

int sb__sq_migrate(struct sb_store *base, int *from_version, int *to_version,
                   struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    int from = 0;
    if ((rc = sb__sq_schema_version(w, &from, err)))
        goto out;
    if (from > sb__sq_schema_latest()) {
        rc = sb_error_set(err, SB_EUNSUPPORTED,
                          "the database has schema version %d, newer than this switchboard "
                          "knows (%d): upgrade switchboard",
                          from, sb__sq_schema_latest());
        goto out;
    }
    for (int i = 0; i < N_STEPS; i++) {
        if (steps[i].version <= from)
            continue;
        char *msg = NULL;
        int src = sqlite3_exec(w->db, steps[i].sql, NULL, NULL, &msg);
        if (src != SQLITE_OK) {
            rc = sb_error_set(err, SB_ESTORE, "migration %d (%s): %s", steps[i].version,
                              steps[i].name, msg ? msg : sqlite3_errstr(src));
            sqlite3_free(msg);
            goto out;
        }
        if ((rc = sb__sq_exec(w, NULL, err,
                              "INSERT INTO schema_migrations (version, name, applied_ms) "
                              "VALUES (?, ?, ?)",
                              "dsi", steps[i].version, steps[i].name, sb_now_ms())))
            goto out;
    }
    if (from < sb__sq_schema_latest()) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", sb__sq_schema_latest());
        rc = sb__sq_exec(w, NULL, err, pragma, "");
    }
out:
    rc = sb__sq_end(st, rc, err);
    if (!rc) {
        *from_version = from;
        *to_version = sb__sq_schema_latest();
    }
    return rc;
}
