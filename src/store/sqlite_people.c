/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: who may act — agents (e-mail unique per tenant, compared without ASCII case),
 * API keys (found by their public prefix across tenants, never stored in clear) and agent
 * sessions (found by the hash of their token until they expire).
 */
#include "sqlite_internal.h"

#include "sb/clock.h"

#define AGENT_COLUMNS "SELECT id, tenant_id, email, name, role, pw_hash, created_ms FROM agents "
#define APIKEY_COLUMNS \
    "SELECT id, tenant_id, name, role, prefix, hash, revoked, created_ms FROM api_keys "

static void row_agent(sqlite3_stmt *s, void *out)
{
    struct sb_agent *a = out;
    a->id = sqlite3_column_int64(s, 0);
    a->tenant_id = sqlite3_column_int64(s, 1);
    sb__sq_col_str(s, 2, a->email, sizeof(a->email));
    sb__sq_col_str(s, 3, a->name, sizeof(a->name));
    sb__sq_col_str(s, 4, a->role, sizeof(a->role));
    sb__sq_col_str(s, 5, a->pw_hash, sizeof(a->pw_hash));
    a->created_ms = sqlite3_column_int64(s, 6);
}

static void row_apikey(sqlite3_stmt *s, void *out)
{
    struct sb_api_key *k = out;
    k->id = sqlite3_column_int64(s, 0);
    k->tenant_id = sqlite3_column_int64(s, 1);
    sb__sq_col_str(s, 2, k->name, sizeof(k->name));
    sb__sq_col_str(s, 3, k->role, sizeof(k->role));
    sb__sq_col_str(s, 4, k->prefix, sizeof(k->prefix));
    sb__sq_col_str(s, 5, k->hash, sizeof(k->hash));
    k->revoked = sqlite3_column_int(s, 6);
    k->created_ms = sqlite3_column_int64(s, 7);
}

static void row_session(sqlite3_stmt *s, void *out)
{
    struct sb_session *x = out;
    x->tenant_id = sqlite3_column_int64(s, 0);
    x->agent_id = sqlite3_column_int64(s, 1);
    x->expires_ms = sqlite3_column_int64(s, 2);
}

int sb__sq_agent_create(struct sb_store *st, sb_id tenant, const char *email, const char *name,
                        const char *role, const char *pw_hash, sb_id *id, struct sb_error *err)
{
    int64_t rowid = 0;
    int rc = sb__sq_write(sq_of(st), NULL, &rowid, err,
                          "INSERT INTO agents (tenant_id, email, name, role, pw_hash, created_ms) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          "issssi",
                          tenant, email, name, role, pw_hash, sb_now_ms());
    if (rc == SB_EEXIST)
        return sb_error_set(err, rc, "an agent with e-mail '%s' already exists", email);
    if (rc == SB_ENOTFOUND)
        return sb_error_set(err, rc, "tenant not found");
    if (!rc && id)
        *id = rowid;
    return rc;
}

int sb__sq_agent_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_agent *out,
                     struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_agent, out, "agent", err,
                           AGENT_COLUMNS "WHERE id = ? AND tenant_id = ?", "ii", id, tenant);
}

int sb__sq_agent_find(struct sb_store *st, sb_id tenant, const char *email, struct sb_agent *out,
                      struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_agent, out, "agent", err,
                           AGENT_COLUMNS "WHERE tenant_id = ? AND email = ? COLLATE NOCASE", "is",
                           tenant, email);
}

int sb__sq_agent_list(struct sb_store *st, sb_id tenant, struct sb_agent **out, size_t *n,
                      struct sb_error *err)
{
    return sb__sq_read_list(sq_of(st), row_agent, sizeof(**out), NULL, (void **)out, n, err,
                            AGENT_COLUMNS "WHERE tenant_id = ? ORDER BY id", "i", tenant);
}

int sb__sq_apikey_create(struct sb_store *st, sb_id tenant, const char *name, const char *role,
                         const char *prefix, const char *hash, sb_id *id, struct sb_error *err)
{
    int64_t rowid = 0;
    int rc = sb__sq_write(sq_of(st), NULL, &rowid, err,
                          "INSERT INTO api_keys (tenant_id, name, role, prefix, hash, created_ms) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          "issssi", tenant, name, role, prefix, hash, sb_now_ms());
    if (rc == SB_EEXIST)
        return sb_error_set(err, rc, "an API key with this prefix already exists");
    if (rc == SB_ENOTFOUND)
        return sb_error_set(err, rc, "tenant not found");
    if (!rc && id)
        *id = rowid;
    return rc;
}

int sb__sq_apikey_find(struct sb_store *st, const char *prefix, struct sb_api_key *out,
                       struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_apikey, out, "API key", err,
                           APIKEY_COLUMNS "WHERE prefix = ?", "s", prefix);
}

int sb__sq_apikey_list(struct sb_store *st, sb_id tenant, struct sb_api_key **out, size_t *n,
                       struct sb_error *err)
{
    return sb__sq_read_list(sq_of(st), row_apikey, sizeof(**out), NULL, (void **)out, n, err,
                            APIKEY_COLUMNS "WHERE tenant_id = ? ORDER BY id", "i", tenant);
}

int sb__sq_apikey_revoke(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err)
{
    int changes = 0;
    int rc = sb__sq_write(sq_of(st), &changes, NULL, err,
                          "UPDATE api_keys SET revoked = 1 WHERE id = ? AND tenant_id = ?", "ii",
                          id, tenant);
    if (!rc && changes == 0)
        return sb_error_set(err, SB_ENOTFOUND, "API key not found");
    return rc;
}

int sb__sq_session_create(struct sb_store *base, sb_id tenant, sb_id agent,
                          const char *token_hash, int64_t expires_ms, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    int64_t now = sb_now_ms(), found;
    /* the agent must belong to the tenant (a foreign key cannot say that) */
    rc = sb__sq_int(w, &found, "agent", err, "SELECT 1 FROM agents WHERE id = ? AND tenant_id = ?",
                    "ii", agent, tenant);
    /* expired sessions are of no use to anyone: drop them while we hold the write lock */
    if (!rc)
        rc = sb__sq_exec(w, NULL, err, "DELETE FROM sessions WHERE expires_ms <= ?", "i", now);
    if (!rc)
        rc = sb__sq_exec(w, NULL, err,
                         "INSERT INTO sessions (token_hash, tenant_id, agent_id, expires_ms, "
                         "created_ms) VALUES (?, ?, ?, ?, ?)",
                         "siiii", token_hash, tenant, agent, expires_ms, now);
    if (rc == SB_EEXIST)
        sb_error_set(err, rc, "a session with this token already exists");
    return sb__sq_end(st, rc, err);
}

int sb__sq_session_find(struct sb_store *st, const char *token_hash, struct sb_session *out,
                        struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_session, out, "session", err,
                           "SELECT tenant_id, agent_id, expires_ms FROM sessions "
                           "WHERE token_hash = ? AND expires_ms > ?",
                           "si", token_hash, sb_now_ms());
}

int sb__sq_session_delete(struct sb_store *st, const char *token_hash, struct sb_error *err)
{
    int changes = 0;
    int rc = sb__sq_write(sq_of(st), &changes, NULL, err,
                          "DELETE FROM sessions WHERE token_hash = ?", "s", token_hash);
    if (!rc && changes == 0)
        return sb_error_set(err, SB_ENOTFOUND, "session not found");
    return rc;
}
