/* SPDX-License-Identifier: MIT */
/*
 * SQLite connections and the query helpers of the SQLite backend (see sqlite_internal.h):
 * opening a connection with its pragmas, the per-connection statement cache, binding by a
 * format string, row-to-struct helpers, error mapping and the pool of read connections.
 * Write transactions are in sqlite_commit.c.
 */
#include "sqlite_internal.h"

#include "sb/mem.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int sb__sq_fail(struct sq_conn *c, int sqlite_rc, const char *what, struct sb_error *err)
{
    int code;
    switch (sqlite_rc & 0xff) {
    case SQLITE_CONSTRAINT:
        code = sqlite_rc == SQLITE_CONSTRAINT_UNIQUE || sqlite_rc == SQLITE_CONSTRAINT_PRIMARYKEY
                   ? SB_EEXIST
                   : sqlite_rc == SQLITE_CONSTRAINT_FOREIGNKEY ? SB_ENOTFOUND : SB_EINVAL;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = SB_EBUSY;
        break;
    case SQLITE_NOMEM:
        code = SB_ENOMEM;
        break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
        code = SB_EIO;
        break;
    case SQLITE_TOOBIG:
        code = SB_ETOOBIG;
        break;
    default:
        code = SB_ESTORE;
    }
    return sb_error_set(err, code, "%s: %s", what,
                        c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(sqlite_rc));
}

static int exec_plain(struct sq_conn *c, const char *sql, struct sb_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = sb__sq_fail(c, rc, sql, err);
        sqlite3_free(msg);
        return code;
    }
    return 0;
}

/* Switches the database to WAL (a property of the file, kept across opens). */
static int use_wal(struct sq_conn *c, const char *path, struct sb_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    int wal = rc == SQLITE_ROW &&
              sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (wal)
        return 0;
    return rc == SQLITE_ROW ? sb_error_set(err, SB_ESTORE, "%s: cannot use WAL mode", path)
                            : sb__sq_fail(c, rc, path, err);
}

int sb__sq_conn_open(const char *path, enum sq_role role, struct sq_conn **out,
                     struct sb_error *err)
{
    struct sq_conn *c = sb_calloc(1, sizeof(*c));
    int flags = SQLITE_OPEN_NOMUTEX;
    flags |= role == SQ_WRITER ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                               : SQLITE_OPEN_READONLY;
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = sb__sq_fail(c, rc, path, err);
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    if ((rc = exec_plain(c, "PRAGMA foreign_keys=ON", err)))
        goto fail;
    /* WAL: readers never block the writer. synchronous=FULL: a commit has reached the disk
     * (WAL fsync'd) when COMMIT returns, which is what "acknowledged" means, and a checkpoint
     * syncs the database file before the WAL is reused. Checkpoints stay automatic (every
     * 1000 WAL pages, inside the commit that crosses the mark): a checkpoint thread of its
     * own was measured slower here (docs/store.md). */
    if (role == SQ_WRITER &&
        ((rc = use_wal(c, path, err)) ||
         (rc = exec_plain(c, "PRAGMA synchronous=FULL", err)) ||
         (rc = exec_plain(c, "PRAGMA journal_size_limit=67108864", err)) ||
         (rc = exec_plain(c, "PRAGMA temp_store=MEMORY", err))))
        goto fail;
    *out = c;
    return 0;
fail:
    sb__sq_conn_close(c);
    return rc;
}

void sb__sq_conn_close(struct sq_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SQ_CACHE_SLOTS; i++) {
        sqlite3_finalize(c->cache[i].stmt);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
    free(c);
}

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The cached statement for `sql`, prepared on first use. Statements stay in the cache until
 * the connection closes; callers reset them after use (stmt_done). */
static int prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct sb_error *err)
{
    uint64_t h = hash_sql(sql);
    size_t slot = h % SQ_CACHE_SLOTS;
    for (size_t probe = 0; probe < SQ_CACHE_SLOTS; probe++) {
        struct sq_cached *e = &c->cache[(slot + probe) % SQ_CACHE_SLOTS];
        if (e->stmt && e->hash == h && strcmp(e->sql, sql) == 0) {
            *out = e->stmt;
            return 0;
        }
        if (!e->stmt) {
            int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->stmt,
                                        NULL);
            if (rc != SQLITE_OK) {
                e->stmt = NULL;
                return sb__sq_fail(c, rc, "preparing a query", err);
            }
            e->hash = h;
            e->sql = sb_strdup(sql);
            *out = e->stmt;
            return 0;
        }
    }
    /* a fixed set of queries fills at most a fraction of the cache: this is a bug */
    return sb_error_set(err, SB_EINTERNAL, "statement cache full (%d)", SQ_CACHE_SLOTS);
}

static void stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static int bind(struct sq_conn *c, sqlite3_stmt *s, const char *fmt, va_list ap,
                struct sb_error *err)
{
    for (int i = 0; fmt[i]; i++) {
        int rc;
        switch (fmt[i]) {
        case 'i':
            rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = sqlite3_bind_int(s, i + 1, va_arg(ap, int));
            break;
        case 'n': {
            int64_t v = va_arg(ap, int64_t);
            rc = v ? sqlite3_bind_int64(s, i + 1, v) : sqlite3_bind_null(s, i + 1);
            break;
        }
        case 's': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(s, i + 1, v, -1, SQLITE_STATIC)
                   : sqlite3_bind_null(s, i + 1);
            break;
        }
        default:
            return sb_error_set(err, SB_EINTERNAL, "bad bind format '%c'", fmt[i]);
        }
        if (rc != SQLITE_OK)
            return sb__sq_fail(c, rc, "binding a query parameter", err);
    }
    return 0;
}

/* Prepares and binds: the common start of every helper. */
static int start(struct sq_conn *c, const char *sql, const char *fmt, va_list ap,
                 sqlite3_stmt **out, struct sb_error *err)
{
    int rc = prepare(c, sql, out, err);
    if (rc)
        return rc;
    if ((rc = bind(c, *out, fmt, ap, err)))
        stmt_done(*out);
    return rc;
}

static int vexec(struct sq_conn *c, int *changes, int64_t *rowid, struct sb_error *err,
                 const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *s;
    int rc = start(c, sql, fmt, ap, &s, err);
    if (rc)
        return rc;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW)
        ;
    rc = step == SQLITE_DONE ? 0 : sb__sq_fail(c, step, "storing", err);
    if (!rc && changes)
        *changes = sqlite3_changes(c->db);
    if (!rc && rowid)
        *rowid = sqlite3_last_insert_rowid(c->db);
    stmt_done(s);
    return rc;
}

int sb__sq_exec(struct sq_conn *c, int *changes, struct sb_error *err, const char *sql,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vexec(c, changes, NULL, err, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int sb__sq_insert(struct sq_conn *c, int64_t *rowid, struct sb_error *err, const char *sql,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vexec(c, NULL, rowid, err, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int sb__sq_write(struct sq_store *st, int *changes, int64_t *rowid, struct sb_error *err,
                 const char *sql, const char *fmt, ...)
{
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    rc = vexec(w, changes, rowid, err, sql, fmt, ap);
    va_end(ap);
    return sb__sq_end(st, rc, err);
}

static int one(struct sq_conn *c, sq_row_fn fn, void *out, const char *what,
               struct sb_error *err, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *s;
    int rc = start(c, sql, fmt, ap, &s, err);
    if (rc)
        return rc;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        fn(s, out); /* only the first row is wanted: the reset below ends the statement */
    } else if (step == SQLITE_DONE) {
        rc = what ? sb_error_set(err, SB_ENOTFOUND, "%s not found", what) : SB_ENOTFOUND;
    } else {
        rc = sb__sq_fail(c, step, what ? what : "looking up", err);
    }
    stmt_done(s);
    return rc;
}

int sb__sq_one(struct sq_conn *c, sq_row_fn fn, void *out, const char *what,
               struct sb_error *err, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = one(c, fn, out, what, err, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int sb__sq_read_one(struct sq_store *st, sq_row_fn fn, void *out, const char *what,
                    struct sb_error *err, const char *sql, const char *fmt, ...)
{
    struct sq_conn *c;
    int rc = sb__sq_reader(st, &c, err);
    if (rc)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    rc = one(c, fn, out, what, err, sql, fmt, ap);
    va_end(ap);
    sb__sq_reader_done(st, c);
    return rc;
}

static void row_int0(sqlite3_stmt *s, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(s, 0);
}

int sb__sq_int(struct sq_conn *c, int64_t *out, const char *what, struct sb_error *err,
               const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int64_t v = 0;
    int rc = one(c, row_int0, &v, what, err, sql, fmt, ap);
    va_end(ap);
    if (!rc)
        *out = v;
    return rc;
}

static int list(struct sq_conn *c, sq_row_fn fn, size_t size, void (*cleanup)(void *),
                void **out, size_t *n, struct sb_error *err, const char *sql, const char *fmt,
                va_list ap)
{
    sqlite3_stmt *s;
    int rc = start(c, sql, fmt, ap, &s, err);
    if (rc)
        return rc;
    char *items = NULL;
    size_t len = 0, cap = 0;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            items = sb_realloc(items, cap * size);
        }
        void *item = items + len * size;
        memset(item, 0, size);
        fn(s, item);
        len++;
    }
    if (step != SQLITE_DONE) {
        rc = sb__sq_fail(c, step, "listing", err);
        for (size_t i = 0; cleanup && i < len; i++)
            cleanup(items + i * size);
        free(items);
    } else {
        *out = items;
        *n = len;
    }
    stmt_done(s);
    return rc;
}

int sb__sq_list(struct sq_conn *c, sq_row_fn fn, size_t size, void (*cleanup)(void *),
                void **out, size_t *n, struct sb_error *err, const char *sql, const char *fmt,
                ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = list(c, fn, size, cleanup, out, n, err, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int sb__sq_read_list(struct sq_store *st, sq_row_fn fn, size_t size, void (*cleanup)(void *),
                     void **out, size_t *n, struct sb_error *err, const char *sql,
                     const char *fmt, ...)
{
    struct sq_conn *c;
    int rc = sb__sq_reader(st, &c, err);
    if (rc)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    rc = list(c, fn, size, cleanup, out, n, err, sql, fmt, ap);
    va_end(ap);
    sb__sq_reader_done(st, c);
    return rc;
}

void sb__sq_col_str(sqlite3_stmt *s, int i, char *dst, size_t size)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    size_t n = v ? (size_t)sqlite3_column_bytes(s, i) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, v, n);
    dst[n] = '\0';
}

char *sb__sq_col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    if (!v)
        return NULL;
    return sb_strndup((const char *)v, (size_t)sqlite3_column_bytes(s, i));
}

int sb__sq_reader(struct sq_store *st, struct sq_conn **out, struct sb_error *err)
{
    pthread_mutex_lock(&st->read_mu);
    for (;;) {
        if (st->free_list) {
            struct sq_conn *c = st->free_list;
            st->free_list = c->next_free;
            pthread_mutex_unlock(&st->read_mu);
            *out = c;
            return 0;
        }
        if (st->n_readers < SQ_READERS_MAX)
            break;
        pthread_cond_wait(&st->read_cv, &st->read_mu);
    }
    /* reserve a place, then open outside the lock: opening reads the schema from disk */
    st->n_readers++;
    pthread_mutex_unlock(&st->read_mu);
    struct sq_conn *c = NULL;
    int rc = sb__sq_conn_open(st->path, SQ_READER, &c, err);
    pthread_mutex_lock(&st->read_mu);
    if (rc) {
        st->n_readers--;
        pthread_cond_signal(&st->read_cv);
    } else {
        st->readers[st->n_open++] = c;
        *out = c;
    }
    pthread_mutex_unlock(&st->read_mu);
    return rc;
}

void sb__sq_reader_done(struct sq_store *st, struct sq_conn *c)
{
    pthread_mutex_lock(&st->read_mu);
    c->next_free = st->free_list;
    st->free_list = c;
    pthread_cond_signal(&st->read_cv);
    pthread_mutex_unlock(&st->read_mu);
}
