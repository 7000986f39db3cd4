/* SPDX-License-Identifier: MIT */
/*
 * The SQLite backend of the storage contract: opening and closing a store (one write
 * connection in WAL mode with synchronous=FULL, read connections opened on demand) and the
 * `sb_store_sqlite_ops` table. The operations themselves live in
 * sqlite_tenancy.c, sqlite_people.c, sqlite_ingest.c, sqlite_messages.c,
 * sqlite_conversations.c and sqlite_events.c; the schema in sqlite_schema.c.
 */
#include "sqlite_internal.h"

#include "sb/mem.h"

#include <stdlib.h>

static void sq_close(struct sb_store *base)
{
    struct sq_store *st = sq_of(base);
    if (!st)
        return;
    /* the writer closes last: the last connection checkpoints the WAL and removes it */
    for (int i = 0; i < st->n_open; i++)
        sb__sq_conn_close(st->readers[i]);
    sb__sq_conn_close(st->writer);
    pthread_mutex_destroy(&st->write_mu);
    pthread_mutex_destroy(&st->group_mu);
    pthread_cond_destroy(&st->group_cv);
    pthread_mutex_destroy(&st->read_mu);
    pthread_cond_destroy(&st->read_cv);
    free(st->path);
    free(st);
}

static int sq_open(struct sb_store **out, const char *path, struct sb_error *err)
{
    if (!sqlite3_threadsafe())
        return sb_error_set(err, SB_EUNSUPPORTED, "this SQLite library is not thread-safe");
    struct sq_store *st = sb_calloc(1, sizeof(*st));
    st->base.ops = &sb_store_sqlite_ops;
    st->path = sb_strdup(path);
    pthread_mutex_init(&st->write_mu, NULL);
    pthread_mutex_init(&st->group_mu, NULL);
    pthread_cond_init(&st->group_cv, NULL);
    pthread_mutex_init(&st->read_mu, NULL);
    pthread_cond_init(&st->read_cv, NULL);
    int version = 0;
    int rc = sb__sq_conn_open(path, SQ_WRITER, &st->writer, err);
    if (!rc)
        rc = sb__sq_schema_version(st->writer, &version, err);
    if (!rc && version > sb__sq_schema_latest())
        rc = sb_error_set(err, SB_EUNSUPPORTED,
                          "%s has schema version %d, newer than this switchboard knows (%d): "
                          "upgrade switchboard",
                          path, version, sb__sq_schema_latest());
    if (rc) {
        sq_close(&st->base);
        return rc;
    }
    *out = &st->base;
    return 0;
}

const struct sb_store_ops sb_store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .migrate = sb__sq_migrate,
    .tenant_create = sb__sq_tenant_create,
    .tenant_get = sb__sq_tenant_get,
    .tenant_find = sb__sq_tenant_find,
    .inbox_create = sb__sq_inbox_create,
    .inbox_get = sb__sq_inbox_get,
    .inbox_find = sb__sq_inbox_find,
    .inbox_list = sb__sq_inbox_list,
    .ingest_batch = sb__sq_ingest_batch,
    .message_append = sb__sq_message_append,
    .message_append_batch = sb__sq_message_append_batch,
    .message_get = sb__sq_message_get,
    .message_list = sb__sq_message_list,
    .message_annotate = sb__sq_message_annotate,
    .write_batch = sb__sq_write_batch,
    .conversation_get = sb__sq_conversation_get,
    .conversation_list = sb__sq_conversation_list,
    .conversation_update = sb__sq_conversation_update,
    .contact_get = sb__sq_contact_get,
    .contact_list = sb__sq_contact_list,
    .contact_find = sb__sq_contact_find,
    .agent_create = sb__sq_agent_create,
    .agent_get = sb__sq_agent_get,
    .agent_find = sb__sq_agent_find,
    .agent_list = sb__sq_agent_list,
    .apikey_create = sb__sq_apikey_create,
    .apikey_find = sb__sq_apikey_find,
    .apikey_list = sb__sq_apikey_list,
    .apikey_revoke = sb__sq_apikey_revoke,
    .session_create = sb__sq_session_create,
    .session_find = sb__sq_session_find,
    .session_delete = sb__sq_session_delete,
    .event_append = sb__sq_event_append,
    .event_list = sb__sq_event_list,
    .outbox_enqueue = sb__sq_outbox_enqueue,
    .outbox_claim = sb__sq_outbox_claim,
    .outbox_finish = sb__sq_outbox_finish,
    .setting_get = sb__sq_setting_get,
    .setting_put = sb__sq_setting_put,
    .team_create = sb__sq_team_create,
    .team_list = sb__sq_team_list,
    .agent_routing_get = sb__sq_agent_routing_get,
    .agent_routing_put = sb__sq_agent_routing_put,
    .agent_routing_list = sb__sq_agent_routing_list,
    .note_add = sb__sq_note_add,
    .note_list = sb__sq_note_list,
    .canned_create = sb__sq_canned_create,
    .canned_list = sb__sq_canned_list,
    .canned_delete = sb__sq_canned_delete,
    .csat_put = sb__sq_csat_put,
    .csat_get = sb__sq_csat_get,
    .metrics = sb__sq_metrics,
    .conversation_report = sb__sq_conversation_report,
};
