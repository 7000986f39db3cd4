/* SPDX-License-Identifier: MIT */
/* SQLite backend: tenants and their inboxes (the channels' entry points). */
#include "sqlite_internal.h"

#include "sb/clock.h"

#define TENANT_COLUMNS "SELECT id, slug, name, created_ms FROM tenants "
#define INBOX_COLUMNS "SELECT id, tenant_id, kind, name, config_json, created_ms FROM inboxes "

static void row_tenant(sqlite3_stmt *s, void *out)
{
    struct sb_tenant *t = out;
    t->id = sqlite3_column_int64(s, 0);
    sb__sq_col_str(s, 1, t->slug, sizeof(t->slug));
    sb__sq_col_str(s, 2, t->name, sizeof(t->name));
    t->created_ms = sqlite3_column_int64(s, 3);
}

static void row_inbox(sqlite3_stmt *s, void *out)
{
    struct sb_inbox *b = out;
    b->id = sqlite3_column_int64(s, 0);
    b->tenant_id = sqlite3_column_int64(s, 1);
    sb__sq_col_str(s, 2, b->kind, sizeof(b->kind));
    sb__sq_col_str(s, 3, b->name, sizeof(b->name));
    b->config_json = sb__sq_col_dup(s, 4);
    b->created_ms = sqlite3_column_int64(s, 5);
}

static void inbox_cleanup(void *x)
{
    sb_inbox_cleanup(x);
}

int sb__sq_tenant_create(struct sb_store *st, const char *slug, const char *name, sb_id *id,
                         struct sb_error *err)
{
    int64_t rowid = 0;
    int rc = sb__sq_write(sq_of(st), NULL, &rowid, err,
                          "INSERT INTO tenants (slug, name, created_ms) VALUES (?, ?, ?)", "ssi",
                          slug, name, sb_now_ms());
    if (rc == SB_EEXIST)
        return sb_error_set(err, rc, "a tenant with slug '%s' already exists", slug);
    if (!rc && id)
        *id = rowid;
    return rc;
}

int sb__sq_tenant_get(struct sb_store *st, sb_id id, struct sb_tenant *out, struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_tenant, out, "tenant", err,
                           TENANT_COLUMNS "WHERE id = ?", "i", id);
}

int sb__sq_tenant_find(struct sb_store *st, const char *slug, struct sb_tenant *out,
                       struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_tenant, out, "tenant", err,
                           TENANT_COLUMNS "WHERE slug = ?", "s", slug);
}

int sb__sq_inbox_create(struct sb_store *st, sb_id tenant, const char *kind, const char *name,
                        const char *config_json, sb_id *id, struct sb_error *err)
{
    int64_t rowid = 0;
    int rc = sb__sq_write(sq_of(st), NULL, &rowid, err,
                          "INSERT INTO inboxes (tenant_id, kind, name, config_json, created_ms) "
                          "VALUES (?, ?, ?, ?, ?)",
                          "isssi", tenant, kind, name, config_json, sb_now_ms());
    if (rc == SB_EEXIST)
        return sb_error_set(err, rc, "an inbox named '%s' already exists", name);
    if (rc == SB_ENOTFOUND)
        return sb_error_set(err, rc, "tenant not found");
    if (!rc && id)
        *id = rowid;
    return rc;
}

int sb__sq_inbox_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_inbox *out,
                     struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_inbox, out, "inbox", err,
                           INBOX_COLUMNS "WHERE id = ? AND tenant_id = ?", "ii", id, tenant);
}

int sb__sq_inbox_find(struct sb_store *st, sb_id tenant, const char *name, struct sb_inbox *out,
                      struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_inbox, out, "inbox", err,
                           INBOX_COLUMNS "WHERE tenant_id = ? AND name = ?", "is", tenant, name);
}

int sb__sq_inbox_list(struct sb_store *st, sb_id tenant, struct sb_inbox **out, size_t *n,
                      struct sb_error *err)
{
    return sb__sq_read_list(sq_of(st), row_inbox, sizeof(**out), inbox_cleanup, (void **)out, n,
                            err, INBOX_COLUMNS "WHERE tenant_id = ? ORDER BY id", "i", tenant);
}
