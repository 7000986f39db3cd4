/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend for routing (schema step 2): per-tenant JSON settings (tenant_settings),
 * teams, and each agent's routing profile (agent_routing + agent_teams: presence chosen by the
 * agent, capacity, skill tags, team memberships). A profile and its memberships are replaced
 * in one transaction; rows of another tenant are never read or written.
 */
#include "sqlite_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

#define ROUTING_COLUMNS \
    "SELECT agent_id, tenant_id, presence, capacity, skills_json, updated_ms FROM agent_routing "

static void row_text(sqlite3_stmt *s, void *out)
{
    *(char **)out = sb__sq_col_dup(s, 0);
}

static void row_team(sqlite3_stmt *s, void *out)
{
    struct sb_team *t = out;
    t->id = sqlite3_column_int64(s, 0);
    t->tenant_id = sqlite3_column_int64(s, 1);
    sb__sq_col_str(s, 2, t->name, sizeof(t->name));
    t->created_ms = sqlite3_column_int64(s, 3);
}

static void row_routing(sqlite3_stmt *s, void *out)
{
    struct sb_agent_routing *a = out;
    a->agent_id = sqlite3_column_int64(s, 0);
    a->tenant_id = sqlite3_column_int64(s, 1);
    sb__sq_col_str(s, 2, a->presence, sizeof(a->presence));
    a->capacity = sqlite3_column_int(s, 3);
    a->skills_json = sb__sq_col_dup(s, 4);
    a->updated_ms = sqlite3_column_int64(s, 5);
}

static void routing_cleanup(void *x)
{
    sb_agent_routing_cleanup(x);
}

/* (agent, team) pairs of a membership query. */
struct pair {
    sb_id agent, team;
};

static void row_pair(sqlite3_stmt *s, void *out)
{
    struct pair *p = out;
    p->agent = sqlite3_column_int64(s, 0);
    p->team = sqlite3_column_int64(s, 1);
}

static void attach_teams(struct sb_agent_routing *a, size_t n, const struct pair *ps, size_t np)
{
    /* both are ordered by agent id */
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < np && ps[j].agent < a[i].agent_id)
            j++;
        for (; j < np && ps[j].agent == a[i].agent_id; j++)
            if (a[i].n_teams < SB_STORE_AGENT_TEAMS_MAX)
                a[i].teams[a[i].n_teams++] = ps[j].team;
    }
}

int sb__sq_setting_get(struct sb_store *st, sb_id tenant, const char *key, char **value_json,
                       struct sb_error *err)
{
    return sb__sq_read_one(sq_of(st), row_text, value_json, "setting", err,
                           "SELECT value_json FROM tenant_settings WHERE tenant_id = ? AND key = ?",
                           "is", tenant, key);
}

int sb__sq_setting_put(struct sb_store *st, sb_id tenant, const char *key,
                       const char *value_json, struct sb_error *err)
{
    int rc = sb__sq_write(sq_of(st), NULL, NULL, err,
                          "INSERT INTO tenant_settings (tenant_id, key, value_json, updated_ms) "
                          "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, key) DO UPDATE SET "
                          "value_json = excluded.value_json, updated_ms = excluded.updated_ms",
                          "issi", tenant, key, value_json, sb_now_ms());
    if (rc == SB_ENOTFOUND)
        return sb_error_set(err, rc, "tenant not found");
    return rc;
}

int sb__sq_team_create(struct sb_store *st, sb_id tenant, const char *name, sb_id *id,
                       struct sb_error *err)
{
    int64_t rowid = 0;
    int rc = sb__sq_write(sq_of(st), NULL, &rowid, err,
                          "INSERT INTO teams (tenant_id, name, created_ms) VALUES (?, ?, ?)",
                          "isi", tenant, name, sb_now_ms());
    if (rc == SB_EEXIST)
        return sb_error_set(err, rc, "a team named '%s' already exists", name);
    if (rc == SB_ENOTFOUND)
        return sb_error_set(err, rc, "tenant not found");
    if (!rc)
        *id = rowid;
    return rc;
}

int sb__sq_team_list(struct sb_store *st, sb_id tenant, struct sb_team **out, size_t *n,
                     struct sb_error *err)
{
    return sb__sq_read_list(sq_of(st), row_team, sizeof(**out), NULL, (void **)out, n, err,
                            "SELECT id, tenant_id, name, created_ms FROM teams "
                            "WHERE tenant_id = ? ORDER BY id",
                            "i", tenant);
}

int sb__sq_agent_routing_get(struct sb_store *base, sb_id tenant, sb_id agent,
                             struct sb_agent_routing *out, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *r;
    int rc = sb__sq_reader(st, &r, err);
    if (rc)
        return rc;
    struct sb_agent_routing a = {0};
    struct pair *ps = NULL;
    size_t np = 0;
    rc = sb__sq_one(r, row_routing, &a, "agent routing profile", err,
                    ROUTING_COLUMNS "WHERE agent_id = ? AND tenant_id = ?", "ii", agent, tenant);
    if (!rc)
        rc = sb__sq_list(r, row_pair, sizeof(*ps), NULL, (void **)&ps, &np, err,
                         "SELECT m.agent_id, m.team_id FROM agent_teams m "
                         "JOIN teams t ON t.id = m.team_id "
                         "WHERE m.agent_id = ? AND t.tenant_id = ? ORDER BY m.team_id",
                         "ii", agent, tenant);
    sb__sq_reader_done(st, r);
    if (rc) {
        sb_agent_routing_cleanup(&a);
        return rc;
    }
    attach_teams(&a, 1, ps, np);
    free(ps);
    *out = a;
    return 0;
}

int sb__sq_agent_routing_put(struct sb_store *base, sb_id tenant,
                             const struct sb_agent_routing *a, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *w;
    int rc = sb__sq_begin(st, &w, err);
    if (rc)
        return rc;
    int64_t found = 0;
    if ((rc = sb__sq_int(w, &found, "agent", err,
                         "SELECT 1 FROM agents WHERE id = ? AND tenant_id = ?", "ii", a->agent_id,
                         tenant)))
        goto out;
    for (size_t i = 0; i < a->n_teams; i++)
        if ((rc = sb__sq_int(w, &found, "team", err,
                             "SELECT 1 FROM teams WHERE id = ? AND tenant_id = ?", "ii",
                             a->teams[i], tenant))) {
            sb_error_set(err, rc, "team %lld not found", (long long)a->teams[i]);
            goto out;
        }
    if ((rc = sb__sq_exec(w, NULL, err,
                          "INSERT INTO agent_routing (agent_id, tenant_id, presence, capacity,"
                          " skills_json, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                          " ON CONFLICT (agent_id) DO UPDATE SET presence = excluded.presence,"
                          " capacity = excluded.capacity, skills_json = excluded.skills_json,"
                          " updated_ms = excluded.updated_ms",
                          "iisdsi", a->agent_id, tenant, a->presence, a->capacity, a->skills_json,
                          sb_now_ms())))
        goto out;
    if ((rc = sb__sq_exec(w, NULL, err, "DELETE FROM agent_teams WHERE agent_id = ?", "i",
                          a->agent_id)))
        goto out;
    for (size_t i = 0; i < a->n_teams; i++)
        if ((rc = sb__sq_exec(w, NULL, err,
                              "INSERT OR IGNORE INTO agent_teams (agent_id, team_id) VALUES (?, ?)",
                              "ii", a->agent_id, a->teams[i])))
            goto out;
out:
    return sb__sq_end(st, rc, err);
}

int sb__sq_agent_routing_list(struct sb_store *base, sb_id tenant, struct sb_agent_routing **out,
                              size_t *n, struct sb_error *err)
{
    struct sq_store *st = sq_of(base);
    struct sq_conn *r;
    int rc = sb__sq_reader(st, &r, err);
    if (rc)
        return rc;
    struct sb_agent_routing *as = NULL;
    size_t na = 0, np = 0;
    struct pair *ps = NULL;
    rc = sb__sq_list(r, row_routing, sizeof(*as), routing_cleanup, (void **)&as, &na, err,
                     ROUTING_COLUMNS "WHERE tenant_id = ? ORDER BY agent_id", "i", tenant);
    if (!rc)
        rc = sb__sq_list(r, row_pair, sizeof(*ps), NULL, (void **)&ps, &np, err,
                         "SELECT m.agent_id, m.team_id FROM agent_teams m "
                         "JOIN teams t ON t.id = m.team_id WHERE t.tenant_id = ? "
                         "ORDER BY m.agent_id, m.team_id",
                         "i", tenant);
    sb__sq_reader_done(st, r);
    if (rc) {
        sb_agent_routing_list_free(as, na);
        return rc;
    }
    attach_teams(as, na, ps, np);
    free(ps);
    *out = as;
    *n = na;
    return 0;
}
