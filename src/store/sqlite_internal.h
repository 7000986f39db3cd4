/* SPDX-License-Identifier: MIT */
/*
 * Internals of the SQLite backend, shared by its files: the store object (one write
 * connection behind a mutex, a pool of read-only connections), per-connection caches of
 * prepared statements, and the helpers every query goes through — bind by a format string,
 * step, map a row to a struct, map SQLite errors to SB_E* codes — so that no file repeats the
 * prepare/bind/step/reset dance.
 *
 * Threading: a connection is used by one thread at a time. Writes take the write mutex for a
 * whole transaction (sb__sq_begin .. sb__sq_end); reads borrow a pooled read connection
 * (sb__sq_reader .. sb__sq_reader_done) and so never wait behind a write's fsync.
 */
#ifndef SB_STORE_SQLITE_INTERNAL_H
#define SB_STORE_SQLITE_INTERNAL_H

#include "store_internal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#define SQ_CACHE_SLOTS 256 /* prepared statements per connection (open addressing) */
#define SQ_READERS_MAX 8   /* read connections per store */
#define SQ_BUSY_TIMEOUT_MS 10000

struct sq_cached {
    uint64_t hash;
    char *sql;
    sqlite3_stmt *stmt;
};

struct sq_conn {
    sqlite3 *db;
    struct sq_conn *next_free; /* in the reader pool */
    struct sq_cached cache[SQ_CACHE_SLOTS];
};

struct sq_store {
    struct sb_store base; /* first: struct sb_store * converts to struct sq_store * */
    char *path;

    pthread_mutex_t write_mu; /* held while one job runs on the writer (sqlite_commit.c) */
    struct sq_conn *writer;
    /* group commit (sqlite_commit.c); the tx_* fields are guarded by write_mu */
    int tx_open;            /* a transaction is open on the writer */
    int tx_jobs;            /* jobs it holds */
    int64_t tx_started_ns;  /* when it began */
    pthread_mutex_t group_mu; /* guards the fields below */
    pthread_cond_t group_cv;
    int writers_waiting;         /* threads waiting in sb__sq_begin for the writer */
    struct sq_follower *followers; /* jobs of the open transaction waiting for its commit */

    pthread_mutex_t read_mu;
    pthread_cond_t read_cv;
    struct sq_conn *readers[SQ_READERS_MAX];
    int n_readers;             /* opened or being opened */
    int n_open;                /* readers[0..n_open) are open */
    struct sq_conn *free_list; /* idle readers */
};

static inline struct sq_store *sq_of(struct sb_store *st)
{
    return (struct sq_store *)st;
}

enum sq_role {
    SQ_WRITER, /* creates the file; WAL, synchronous=FULL */
    SQ_READER  /* read-only */
};

/* Opens a connection to `path` with the pragmas its role needs. Close with
 * sb__sq_conn_close(). */
int sb__sq_conn_open(const char *path, enum sq_role role, struct sq_conn **out,
                     struct sb_error *err);
void sb__sq_conn_close(struct sq_conn *c);

/* Maps a SQLite result code to an SB_E* code and records `what` and SQLite's message. */
int sb__sq_fail(struct sq_conn *c, int sqlite_rc, const char *what, struct sb_error *err);

/*
 * Write jobs (sqlite_commit.c). sb__sq_begin gives the caller the writer, inside a
 * transaction and a savepoint of its own; sb__sq_end(rc) undoes the job when rc is non-zero,
 * and returns only once the job is durable (committed, fsync'd) or has failed, with rc or the
 * commit's failure. Jobs of threads that arrive while another job runs share its transaction
 * and its fsync (group commit); each still succeeds or fails alone, except that a failed
 * commit fails every job of the transaction.
 */
struct sq_follower;
int sb__sq_begin(struct sq_store *st, struct sq_conn **writer, struct sb_error *err);
int sb__sq_end(struct sq_store *st, int rc, struct sb_error *err);

/* Borrows a read connection (waits while all SQ_READERS_MAX are busy); give it back with
 * sb__sq_reader_done. */
int sb__sq_reader(struct sq_store *st, struct sq_conn **out, struct sb_error *err);
void sb__sq_reader_done(struct sq_store *st, struct sq_conn *c);

/*
 * Query helpers. `sql` is prepared once per connection and cached; `fmt` has one letter per
 * parameter, taken from the variable arguments in order:
 *   'i' int64_t (sb_id), 'd' int, 'n' int64_t stored as NULL when 0, 's' const char * (NULL
 *   binds NULL).
 * A row function copies the current row of `stmt` into the struct at `out`.
 */
typedef void (*sq_row_fn)(sqlite3_stmt *stmt, void *out);

/* Runs a statement to completion; *changes (may be NULL) receives the number of rows it
 * changed. A UNIQUE violation is SB_EEXIST, a FOREIGN KEY violation SB_ENOTFOUND. */
int sb__sq_exec(struct sq_conn *c, int *changes, struct sb_error *err, const char *sql,
                const char *fmt, ...);
/* The same for an INSERT: *rowid receives the new row's id. */
int sb__sq_insert(struct sq_conn *c, int64_t *rowid, struct sb_error *err, const char *sql,
                  const char *fmt, ...);
/* One statement in its own write transaction (changes and rowid may be NULL). */
int sb__sq_write(struct sq_store *st, int *changes, int64_t *rowid, struct sb_error *err,
                 const char *sql, const char *fmt, ...);
/* The first row into `out` by `fn`; SB_ENOTFOUND ("<what> not found") when there is none.
 * `out` is written only when a row was found. With `what` NULL, SB_ENOTFOUND leaves `err`
 * alone (for lookups where absence is normal). */
int sb__sq_one(struct sq_conn *c, sq_row_fn fn, void *out, const char *what,
               struct sb_error *err, const char *sql, const char *fmt, ...);
/* sb__sq_one on a borrowed read connection. */
int sb__sq_read_one(struct sq_store *st, sq_row_fn fn, void *out, const char *what,
                    struct sb_error *err, const char *sql, const char *fmt, ...);
/* Every row into a new array of `size`-byte elements (*out NULL and *n 0 when none). On
 * failure nothing is returned. `cleanup` (may be NULL) frees one element. */
int sb__sq_list(struct sq_conn *c, sq_row_fn fn, size_t size, void (*cleanup)(void *),
                void **out, size_t *n, struct sb_error *err, const char *sql, const char *fmt,
                ...);
/* sb__sq_list on a borrowed read connection. */
int sb__sq_read_list(struct sq_store *st, sq_row_fn fn, size_t size, void (*cleanup)(void *),
                     void **out, size_t *n, struct sb_error *err, const char *sql,
                     const char *fmt, ...);
/* The first column of the first row as an integer; SB_ENOTFOUND when there is no row. */
int sb__sq_int(struct sq_conn *c, int64_t *out, const char *what, struct sb_error *err,
               const char *sql, const char *fmt, ...);

/* Column i as text into a fixed-size field (truncated to fit; "" when NULL). */
void sb__sq_col_str(sqlite3_stmt *s, int i, char *dst, size_t size);
/* Column i as a new string (free with free()); NULL when the column is NULL. */
char *sb__sq_col_dup(sqlite3_stmt *s, int i);

/* The newest schema version this code knows, and migration to it (sqlite_schema.c). */
int sb__sq_schema_latest(void);
int sb__sq_schema_version(struct sq_conn *c, int *version, struct sb_error *err);
int sb__sq_migrate(struct sb_store *st, int *from_version, int *to_version,
                   struct sb_error *err);

/* Appends an event on the writer inside the current transaction; *seq gets its seq. */
int sb__sq_event_insert(struct sq_conn *w, sb_id tenant, sb_id conversation, sb_id message,
                        const char *type, const char *payload_json, int64_t *seq,
                        struct sb_error *err);

/* The ops members, one group per file. */
/* sqlite_tenancy.c */
int sb__sq_tenant_create(struct sb_store *st, const char *slug, const char *name, sb_id *id,
                         struct sb_error *err);
int sb__sq_tenant_get(struct sb_store *st, sb_id id, struct sb_tenant *out,
                      struct sb_error *err);
int sb__sq_tenant_find(struct sb_store *st, const char *slug, struct sb_tenant *out,
                       struct sb_error *err);
int sb__sq_inbox_create(struct sb_store *st, sb_id tenant, const char *kind, const char *name,
                        const char *config_json, sb_id *id, struct sb_error *err);
int sb__sq_inbox_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_inbox *out,
                     struct sb_error *err);
int sb__sq_inbox_find(struct sb_store *st, sb_id tenant, const char *name, struct sb_inbox *out,
                      struct sb_error *err);
int sb__sq_inbox_list(struct sb_store *st, sb_id tenant, struct sb_inbox **out, size_t *n,
                      struct sb_error *err);
/* sqlite_people.c */
int sb__sq_agent_create(struct sb_store *st, sb_id tenant, const char *email, const char *name,
                        const char *role, const char *pw_hash, sb_id *id, struct sb_error *err);
int sb__sq_agent_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_agent *out,
                     struct sb_error *err);
int sb__sq_agent_find(struct sb_store *st, sb_id tenant, const char *email, struct sb_agent *out,
                      struct sb_error *err);
int sb__sq_agent_list(struct sb_store *st, sb_id tenant, struct sb_agent **out, size_t *n,
                      struct sb_error *err);
int sb__sq_apikey_create(struct sb_store *st, sb_id tenant, const char *name, const char *role,
                         const char *prefix, const char *hash, sb_id *id, struct sb_error *err);
int sb__sq_apikey_find(struct sb_store *st, const char *prefix, struct sb_api_key *out,
                       struct sb_error *err);
int sb__sq_apikey_list(struct sb_store *st, sb_id tenant, struct sb_api_key **out, size_t *n,
                       struct sb_error *err);
int sb__sq_apikey_revoke(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err);
int sb__sq_session_create(struct sb_store *st, sb_id tenant, sb_id agent, const char *token_hash,
                          int64_t expires_ms, struct sb_error *err);
int sb__sq_session_find(struct sb_store *st, const char *token_hash, struct sb_session *out,
                        struct sb_error *err);
int sb__sq_session_delete(struct sb_store *st, const char *token_hash, struct sb_error *err);
/* sqlite_ingest.c */
int sb__sq_ingest_batch(struct sb_store *st, const struct sb_ingest *in,
                        struct sb_ingest_result *out, size_t n, struct sb_error *err);
int sb__sq_message_append(struct sb_store *st, const struct sb_message_new *m, sb_id *id,
                          int64_t *event_seq, struct sb_error *err);
int sb__sq_message_append_batch(struct sb_store *st, const struct sb_message_new *m, size_t n,
                                sb_id *ids, int64_t *event_seqs, int *rcs,
                                struct sb_error *err);
int sb__sq_write_batch(struct sb_store *st, struct sb_write_batch *b, struct sb_error *err);
/* sqlite_messages.c */
int sb__sq_message_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_message *out,
                       struct sb_error *err);
int sb__sq_message_list(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id after_id,
                        size_t limit, struct sb_message **out, size_t *n, struct sb_error *err);
/* Replaces one message's annotations and appends its event, inside the caller's transaction. */
int sb__sq_annotate_one(struct sq_conn *w, const struct sb_annotation *a, int64_t *seq,
                        struct sb_error *err);
int sb__sq_message_annotate(struct sb_store *st, sb_id tenant, sb_id id,
                            const char *annotations_json, int64_t *event_seq,
                            struct sb_error *err);
/* sqlite_conversations.c */
int sb__sq_conversation_get(struct sb_store *st, sb_id tenant, sb_id id,
                            struct sb_conversation *out, struct sb_error *err);
int sb__sq_conversation_list(struct sb_store *st, sb_id tenant,
                             const struct sb_conversation_filter *f, struct sb_conversation **out,
                             size_t *n, struct sb_error *err);
int sb__sq_conversation_update(struct sb_store *st, sb_id tenant, sb_id id,
                               const struct sb_conversation_update *u, int64_t *event_seq,
                               struct sb_error *err);
int sb__sq_contact_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_contact *out,
                       struct sb_contact_identity **ids, size_t *n_ids, struct sb_error *err);
int sb__sq_contact_list(struct sb_store *st, sb_id tenant, sb_id before_id, size_t limit,
                        struct sb_contact **out, size_t *n, struct sb_error *err);
int sb__sq_contact_find(struct sb_store *st, sb_id tenant, sb_id inbox, const char *external_id,
                        struct sb_contact *out, struct sb_error *err);
/* sqlite_events.c */
int sb__sq_event_append(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id message,
                        const char *type, const char *payload_json, int64_t *seq,
                        struct sb_error *err);
int sb__sq_event_list(struct sb_store *st, sb_id tenant, sb_id conversation, int64_t after_seq,
                      size_t limit, struct sb_event **out, size_t *n, struct sb_error *err);
int sb__sq_outbox_enqueue(struct sb_store *st, sb_id tenant, sb_id message, sb_id inbox,
                          const char *idempotency_key, const char *payload_json, sb_id *id,
                          struct sb_error *err);
int sb__sq_outbox_claim(struct sb_store *st, int64_t now_ms, int64_t lease_ms, size_t limit,
                        struct sb_outbox_item **out, size_t *n, struct sb_error *err);
int sb__sq_outbox_finish(struct sb_store *st, sb_id id, int delivered, int64_t retry_at_ms,
                         const char *error, struct sb_error *err);
/* sqlite_routing.c */
int sb__sq_setting_get(struct sb_store *st, sb_id tenant, const char *key, char **value_json,
                       struct sb_error *err);
int sb__sq_setting_put(struct sb_store *st, sb_id tenant, const char *key,
                       const char *value_json, struct sb_error *err);
int sb__sq_team_create(struct sb_store *st, sb_id tenant, const char *name, sb_id *id,
                       struct sb_error *err);
int sb__sq_team_list(struct sb_store *st, sb_id tenant, struct sb_team **out, size_t *n,
                     struct sb_error *err);
int sb__sq_agent_routing_get(struct sb_store *st, sb_id tenant, sb_id agent,
                             struct sb_agent_routing *out, struct sb_error *err);
int sb__sq_agent_routing_put(struct sb_store *st, sb_id tenant, const struct sb_agent_routing *a,
                             struct sb_error *err);
int sb__sq_agent_routing_list(struct sb_store *st, sb_id tenant, struct sb_agent_routing **out,
                              size_t *n, struct sb_error *err);
/* sqlite_workspace.c */
int sb__sq_note_add(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id agent,
                    const char *text, struct sb_note *out, int64_t *event_seq,
                    struct sb_error *err);
int sb__sq_note_list(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id after_id,
                     size_t limit, struct sb_note **out, size_t *n, struct sb_error *err);
int sb__sq_canned_create(struct sb_store *st, sb_id tenant, const char *shortcut,
                         const char *title, const char *text, sb_id *id, struct sb_error *err);
int sb__sq_canned_list(struct sb_store *st, sb_id tenant, struct sb_canned_reply **out,
                       size_t *n, struct sb_error *err);
int sb__sq_canned_delete(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err);
int sb__sq_csat_put(struct sb_store *st, sb_id tenant, sb_id conversation, int rating,
                    const char *comment, struct sb_csat *out, int64_t *event_seq,
                    struct sb_error *err);
int sb__sq_csat_get(struct sb_store *st, sb_id tenant, sb_id conversation, struct sb_csat *out,
                    struct sb_error *err);
/* sqlite_metrics.c */
int sb__sq_metrics(struct sb_store *st, sb_id tenant, const struct sb_metrics_query *q,
                   struct sb_metrics *out, struct sb_error *err);
int sb__sq_conversation_report(struct sb_store *st, sb_id tenant, int64_t from_ms,
                               int64_t to_ms, sb_id after_id, size_t limit,
                               struct sb_conversation_report **out, size_t *n,
                               struct sb_error *err);

#endif
