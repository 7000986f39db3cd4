/* SPDX-License-Identifier: MIT */
/*
 * The store's front for routing (schema step 2): argument checks that do not depend on the
 * backend, then dispatch, for per-tenant settings, teams and agents' routing profiles; and the
 * functions that free what those calls return.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#define NEED(cond, what)                                                \
    do {                                                                \
        if (!(cond))                                                    \
            return sb_error_set(err, SB_EINVAL, "%s is required", what); \
    } while (0)
#define CHECK(call)       \
    do {              \
        int rc_ = (call); \
        if (rc_)          \
            return rc_;   \
    } while (0)

static int check_key(const char *key, struct sb_error *err)
{
    CHECK(sb__store_check_str("key", key, SB_STORE_SETTING_KEY_MAX, 1, err));
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return sb_error_set(err, SB_EINVAL,
                                "field 'key' may hold only a-z, 0-9, '_' and '.'");
    return 0;
}

int sb_store_setting_get(struct sb_store *st, sb_id tenant, const char *key, char **value_json,
                         struct sb_error *err)
{
    NEED(st && value_json, "an output");
    CHECK(check_key(key, err));
    return st->ops->setting_get(st, tenant, key, value_json, err);
}

int sb_store_setting_put(struct sb_store *st, sb_id tenant, const char *key,
                         const char *value_json, struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(check_key(key, err));
    NEED(value_json && *value_json, "field 'value_json'");
    if (strlen(value_json) > SB_STORE_SETTING_MAX)
        return sb_error_set(err, SB_ETOOBIG, "field 'value_json' is longer than %d bytes",
                            SB_STORE_SETTING_MAX);
    return st->ops->setting_put(st, tenant, key, value_json, err);
}

int sb_store_team_create(struct sb_store *st, sb_id tenant, const char *name, sb_id *id,
                         struct sb_error *err)
{
    NEED(st && id, "an output");
    CHECK(sb__store_check_str("name", name, sizeof(((struct sb_team *)0)->name), 1, err));
    return st->ops->team_create(st, tenant, name, id, err);
}

int sb_store_team_list(struct sb_store *st, sb_id tenant, struct sb_team **out, size_t *n,
                       struct sb_error *err)
{
    NEED(st && out && n, "an output");
    return st->ops->team_list(st, tenant, out, n, err);
}

int sb_store_agent_routing_get(struct sb_store *st, sb_id tenant, sb_id agent,
                               struct sb_agent_routing *out, struct sb_error *err)
{
    NEED(st && out, "an output");
    CHECK(sb__store_check_id("agent_id", agent, err));
    return st->ops->agent_routing_get(st, tenant, agent, out, err);
}

int sb_store_agent_routing_put(struct sb_store *st, sb_id tenant,
                               const struct sb_agent_routing *a, struct sb_error *err)
{
    NEED(st && a, "an agent routing profile");
    CHECK(sb__store_check_id("agent_id", a->agent_id, err));
    if (strcmp(a->presence, "online") && strcmp(a->presence, "away") &&
        strcmp(a->presence, "offline"))
        return sb_error_set(err, SB_EINVAL, "field 'presence' must be online, away or offline");
    if (a->capacity < 0 || a->capacity > 1000)
        return sb_error_set(err, SB_EINVAL, "field 'capacity' must be from 0 to 1000");
    NEED(a->skills_json, "field 'skills_json'");
    CHECK(sb__store_check_text("skills_json", a->skills_json, err));
    if (a->n_teams > SB_STORE_AGENT_TEAMS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "an agent can be in at most %d teams",
                            SB_STORE_AGENT_TEAMS_MAX);
    for (size_t i = 0; i < a->n_teams; i++)
        CHECK(sb__store_check_id("teams", a->teams[i], err));
    return st->ops->agent_routing_put(st, tenant, a, err);
}

int sb_store_agent_routing_list(struct sb_store *st, sb_id tenant,
                                struct sb_agent_routing **out, size_t *n, struct sb_error *err)
{
    NEED(st && out && n, "an output");
    return st->ops->agent_routing_list(st, tenant, out, n, err);
}

void sb_agent_routing_cleanup(struct sb_agent_routing *x)
{
    if (!x)
        return;
    free(x->skills_json);
    memset(x, 0, sizeof(*x));
}

void sb_agent_routing_list_free(struct sb_agent_routing *xs, size_t n)
{
    if (!xs)
        return;
    for (size_t i = 0; i < n; i++)
        sb_agent_routing_cleanup(&xs[i]);
    free(xs);
}

void sb_team_list_free(struct sb_team *xs, size_t n)
{
    (void)n;
    free(xs);
}
