/* SPDX-License-Identifier: MIT */
/*
 * The store's front: parses a location and opens the backend it names, checks backend ops
 * tables, and implements every public sb_store_* function as "check the arguments that do
 * not depend on the backend, then dispatch through the ops table". Backends therefore see
 * only well-formed arguments (per-item checks of batches excepted: those fail one item).
 */
#include "store_internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DB_FILE_NAME "switchboard.db"

/* Every function member of struct sb_store_ops, in declaration order. */
#define SB_STORE_OPS_MEMBERS(XX)                                                           \
    XX(open) XX(close) XX(migrate) XX(tenant_create) XX(tenant_get) XX(tenant_find)        \
    XX(inbox_create) XX(inbox_get) XX(inbox_find) XX(inbox_list) XX(ingest_batch)          \
    XX(message_append) XX(message_append_batch) XX(message_get) XX(message_list)           \
    XX(message_annotate) XX(write_batch) XX(conversation_get) XX(conversation_list)        \
    XX(conversation_update) XX(contact_get) XX(contact_list) XX(contact_find)              \
    XX(agent_create) XX(agent_get) XX(agent_find) XX(agent_list) XX(apikey_create)         \
    XX(apikey_find) XX(apikey_list) XX(apikey_revoke) XX(session_create) XX(session_find)  \
    XX(session_delete) XX(event_append) XX(event_list) XX(outbox_enqueue) XX(outbox_claim) \
    XX(outbox_finish) XX(setting_get) XX(setting_put) XX(team_create) XX(team_list)         \
    XX(agent_routing_get) XX(agent_routing_put) XX(agent_routing_list) XX(metrics)           \
    XX(conversation_report) XX(note_add) XX(note_list) XX(canned_create) XX(canned_list)     \
    XX(canned_delete) XX(csat_put) XX(csat_get)

int sb_store_register_check(const struct sb_store_ops *ops, struct sb_error *err)
{
    if (!ops)
        return sb_error_set(err, SB_EINVAL, "store backend: no ops table");
    if (!ops->name || !*ops->name)
        return sb_error_set(err, SB_EINVAL, "store backend: member 'name' is not set");
#define XX(member)                                                                           \
    if (!ops->member)                                                                       \
        return sb_error_set(err, SB_EINVAL, "store backend '%s': member '%s' is not set", \
                            ops->name, #member);
    SB_STORE_OPS_MEMBERS(XX)
#undef XX
    return 0;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Resolves a SQLite location to the database file: "sqlite:PATH" or PATH, where an existing
 * directory stands for DIR/switchboard.db. */
static int sqlite_path(const char *location, char *path, size_t size, struct sb_error *err)
{
    const char *p = has_prefix(location, "sqlite:") ? location + strlen("sqlite:") : location;
    if (!*p)
        return sb_error_set(err, SB_EINVAL, "store location '%s' names no file", location);
    struct stat sb;
    int n;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
        n = snprintf(path, size, "%s%s%s", p, p[strlen(p) - 1] == '/' ? "" : "/", DB_FILE_NAME);
    else
        n = snprintf(path, size, "%s", p);
    if (n < 0 || (size_t)n >= size)
        return sb_error_set(err, SB_ETOOBIG, "store location is longer than %zu bytes",
                            size - 1);
    return 0;
}

int sb_store_open(struct sb_store **out, const char *location, struct sb_error *err)
{
    if (!out || !location || !*location)
        return sb_error_set(err, SB_EINVAL, "store location is empty");
    if (has_prefix(location, "postgres://") || has_prefix(location, "postgresql://"))
        return sb_error_set(err, SB_EUNSUPPORTED,
                            "the PostgreSQL store backend is not built into this version; "
                            "use a directory, a file or sqlite:PATH");
    const char *scheme_end = strstr(location, "://");
    if (scheme_end && !has_prefix(location, "sqlite:"))
        return sb_error_set(err, SB_EUNSUPPORTED,
                            "store location '%.*s://...': unknown scheme (use sqlite:PATH)",
                            (int)(scheme_end - location), location);
    char path[PATH_MAX];
    int rc = sqlite_path(location, path, sizeof(path), err);
    if (rc)
        return rc;
    const struct sb_store_ops *ops = &sb_store_sqlite_ops;
    if ((rc = sb_store_register_check(ops, err)))
        return rc;
    struct sb_store *st = NULL;
    if ((rc = ops->open(&st, path, err)))
        return rc;
    st->ops = ops;
    *out = st;
    return 0;
}

void sb_store_close(struct sb_store *st)
{
    if (st)
        st->ops->close(st);
}

const struct sb_store_ops *sb_store_ops_of(const struct sb_store *st)
{
    return st ? st->ops : NULL;
}

/* The wrappers below share these two guards. */
#define NEED(cond, what)                                                \
    do {                                                                \
        if (!(cond))                                                    \
            return sb_error_set(err, SB_EINVAL, "%s is required", what); \
    } while (0)
#define CHECK(call)          \
    do {                     \
        int rc_ = (call);    \
        if (rc_)             \
            return rc_;      \
    } while (0)

#define FIELD_SIZE(type, field) sizeof(((struct type *)0)->field)

int sb_store_migrate(struct sb_store *st, int *from_version, int *to_version,
                     struct sb_error *err)
{
    NEED(st, "a store");
    int from = 0, to = 0;
    CHECK(st->ops->migrate(st, &from, &to, err));
    if (from_version)
        *from_version = from;
    if (to_version)
        *to_version = to;
    return 0;
}

int sb_store_tenant_create(struct sb_store *st, const char *slug, const char *name, sb_id *id,
                           struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_str("slug", slug, FIELD_SIZE(sb_tenant, slug), 1, err));
    CHECK(sb__store_check_str("name", name, FIELD_SIZE(sb_tenant, name), 0, err));
    return st->ops->tenant_create(st, slug, name ? name : "", id, err);
}

int sb_store_tenant_get(struct sb_store *st, sb_id id, struct sb_tenant *out,
                        struct sb_error *err)
{
    NEED(st && out, "an output");
    return st->ops->tenant_get(st, id, out, err);
}

int sb_store_tenant_find(struct sb_store *st, const char *slug, struct sb_tenant *out,
                         struct sb_error *err)
{
    NEED(st && out, "an output");
    NEED(slug, "field 'slug'");
    return st->ops->tenant_find(st, slug, out, err);
}

int sb_store_inbox_create(struct sb_store *st, sb_id tenant, const char *kind, const char *name,
                          const char *config_json, sb_id *id, struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("tenant", tenant, err));
    CHECK(sb__store_check_str("kind", kind, FIELD_SIZE(sb_inbox, kind), 1, err));
    CHECK(sb__store_check_str("name", name, FIELD_SIZE(sb_inbox, name), 1, err));
    CHECK(sb__store_check_text("config_json", config_json, err));
    return st->ops->inbox_create(st, tenant, kind, name, config_json ? config_json : "{}", id,
                                 err);
}

int sb_store_inbox_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_inbox *out,
                       struct sb_error *err)
{
    NEED(st && out, "an output");
    return st->ops->inbox_get(st, tenant, id, out, err);
}

int sb_store_inbox_find(struct sb_store *st, sb_id tenant, const char *name,
                        struct sb_inbox *out, struct sb_error *err)
{
    NEED(st && out, "an output");
    NEED(name, "field 'name'");
    return st->ops->inbox_find(st, tenant, name, out, err);
}

int sb_store_inbox_list(struct sb_store *st, sb_id tenant, struct sb_inbox **out, size_t *n,
                        struct sb_error *err)
{
    NEED(st && out && n, "an output");
    return st->ops->inbox_list(st, tenant, out, n, err);
}

int sb_store_ingest_batch(struct sb_store *st, const struct sb_ingest *in,
                          struct sb_ingest_result *out, size_t n, struct sb_error *err)
{
    NEED(st && (n == 0 || (in && out)), "an input and an output");
    if (n == 0)
        return 0;
    return st->ops->ingest_batch(st, in, out, n, err);
}

int sb_store_message_append(struct sb_store *st, const struct sb_message_new *m, sb_id *id,
                            int64_t *event_seq, struct sb_error *err)
{
    NEED(st && m, "a message");
    CHECK(sb__store_check_message_new(m, err));
    return st->ops->message_append(st, m, id, event_seq, err);
}

int sb_store_message_append_batch(struct sb_store *st, const struct sb_message_new *m, size_t n,
                                  sb_id *ids, int64_t *event_seqs, int *rcs,
                                  struct sb_error *err)
{
    NEED(st && (n == 0 || (m && rcs)), "messages and their result codes");
    if (n == 0)
        return 0;
    return st->ops->message_append_batch(st, m, n, ids, event_seqs, rcs, err);
}

int sb_store_message_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_message *out,
                         struct sb_error *err)
{
    NEED(st && out, "an output");
    return st->ops->message_get(st, tenant, id, out, err);
}

int sb_store_message_list(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id after_id,
                          size_t limit, struct sb_message **out, size_t *n,
                          struct sb_error *err)
{
    NEED(st && out && n, "an output");
    CHECK(sb__store_check_limit(limit, SB_STORE_LIST_MAX, err));
    return st->ops->message_list(st, tenant, conversation, after_id, limit, out, n, err);
}

int sb_store_write_batch(struct sb_store *st, struct sb_write_batch *b, struct sb_error *err)
{
    NEED(st && b, "a batch");
    NEED(!b->n_ingests || (b->ingests && b->ingest_results), "ingest results");
    NEED(!b->n_posts || (b->posts && b->post_ids && b->post_seqs && b->post_rcs), "post results");
    NEED(!b->n_notes || (b->notes && b->note_seqs && b->note_rcs), "annotation results");
    for (size_t i = 0; i < b->n_notes; i++) {
        NEED(b->notes[i].annotations_json, "field 'annotations_json'");
        CHECK(sb__store_check_text("annotations_json", b->notes[i].annotations_json, err));
    }
    return st->ops->write_batch(st, b, err);
}

int sb_store_message_annotate(struct sb_store *st, sb_id tenant, sb_id id,
                              const char *annotations_json, int64_t *event_seq,
                              struct sb_error *err)
{
    NEED(st, "a store");
    NEED(annotations_json, "field 'annotations_json'");
    CHECK(sb__store_check_text("annotations_json", annotations_json, err));
    return st->ops->message_annotate(st, tenant, id, annotations_json, event_seq, err);
}

int sb_store_conversation_get(struct sb_store *st, sb_id tenant, sb_id id,
                              struct sb_conversation *out, struct sb_error *err)
{
    NEED(st && out, "an output");
    return st->ops->conversation_get(st, tenant, id, out, err);
}

int sb_store_conversation_list(struct sb_store *st, sb_id tenant,
                               const struct sb_conversation_filter *f,
                               struct sb_conversation **out, size_t *n, struct sb_error *err)
{
    NEED(st && f && out && n, "a filter and an output");
    if (f->status)
        CHECK(sb__store_check_status("status", f->status, err));
    if (f->assignee_id < -1 || f->contact_id < 0 || f->before_id < 0)
        return sb_error_set(err, SB_EINVAL, "filter ids must be 0, -1 (assignee) or positive");
    CHECK(sb__store_check_limit(f->limit, SB_STORE_LIST_MAX, err));
    return st->ops->conversation_list(st, tenant, f, out, n, err);
}

int sb_store_conversation_update(struct sb_store *st, sb_id tenant, sb_id id,
                                 const struct sb_conversation_update *u, int64_t *event_seq,
                                 struct sb_error *err)
{
    NEED(st && u, "an update");
    if (u->status)
        CHECK(sb__store_check_status("status", u->status, err));
    if (u->expect_status)
        CHECK(sb__store_check_status("expect_status", u->expect_status, err));
    if (u->set_assignee && u->assignee_id < 0)
        return sb_error_set(err, SB_EINVAL, "field 'assignee_id' must not be negative");
    CHECK(sb__store_check_text("tags_json", u->tags_json, err));
    CHECK(sb__store_check_text("routing_json", u->routing_json, err));
    CHECK(sb__store_check_str("resolve_reason", u->resolve_reason, SB_STORE_RESOLVE_REASON_MAX,
                              0, err));
    if ((u->set_team && u->team_id < 0) || (u->set_queued_ms && u->queued_ms < 0))
        return sb_error_set(err, SB_EINVAL, "fields 'team_id' and 'queued_ms' must not be negative");
    return st->ops->conversation_update(st, tenant, id, u, event_seq, err);
}

int sb_store_contact_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_contact *out,
                         struct sb_contact_identity **ids, size_t *n_ids, struct sb_error *err)
{
    NEED(st && out, "an output");
    NEED(!ids == !n_ids, "both or neither of 'ids' and 'n_ids'");
    return st->ops->contact_get(st, tenant, id, out, ids, n_ids, err);
}

int sb_store_contact_list(struct sb_store *st, sb_id tenant, sb_id before_id, size_t limit,
                          struct sb_contact **out, size_t *n, struct sb_error *err)
{
    NEED(st && out && n, "an output");
    NEED(before_id >= 0, "a cursor that is not negative");
    CHECK(sb__store_check_limit(limit, SB_STORE_LIST_MAX, err));
    return st->ops->contact_list(st, tenant, before_id, limit, out, n, err);
}

int sb_store_contact_find(struct sb_store *st, sb_id tenant, sb_id inbox,
                          const char *external_id, struct sb_contact *out, struct sb_error *err)
{
    NEED(st && out, "an output");
    NEED(external_id, "field 'external_id'");
    return st->ops->contact_find(st, tenant, inbox, external_id, out, err);
}

int sb_store_agent_create(struct sb_store *st, sb_id tenant, const char *email, const char *name,
                          const char *role, const char *pw_hash, sb_id *id,
                          struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("tenant", tenant, err));
    CHECK(sb__store_check_str("email", email, FIELD_SIZE(sb_agent, email), 1, err));
    CHECK(sb__store_check_str("name", name, FIELD_SIZE(sb_agent, name), 0, err));
    CHECK(sb__store_check_role(role, err));
    CHECK(sb__store_check_str("pw_hash", pw_hash, FIELD_SIZE(sb_agent, pw_hash), 0, err));
    return st->ops->agent_create(st, tenant, email, name ? name : "", role,
                                 pw_hash ? pw_hash : "", id, err);
}

int sb_store_agent_get(struct sb_store *st, sb_id tenant, sb_id id, struct sb_agent *out,
                       struct sb_error *err)
{
    NEED(st && out, "an output");
    return st->ops->agent_get(st, tenant, id, out, err);
}

int sb_store_agent_find(struct sb_store *st, sb_id tenant, const char *email,
                        struct sb_agent *out, struct sb_error *err)
{
    NEED(st && out, "an output");
    NEED(email, "field 'email'");
    return st->ops->agent_find(st, tenant, email, out, err);
}

int sb_store_agent_list(struct sb_store *st, sb_id tenant, struct sb_agent **out, size_t *n,
                        struct sb_error *err)
{
    NEED(st && out && n, "an output");
    return st->ops->agent_list(st, tenant, out, n, err);
}

int sb_store_apikey_create(struct sb_store *st, sb_id tenant, const char *name, const char *role,
                           const char *prefix, const char *hash, sb_id *id,
                           struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("tenant", tenant, err));
    CHECK(sb__store_check_str("name", name, FIELD_SIZE(sb_api_key, name), 0, err));
    CHECK(sb__store_check_role(role, err));
    CHECK(sb__store_check_str("prefix", prefix, FIELD_SIZE(sb_api_key, prefix), 1, err));
    CHECK(sb__store_check_str("hash", hash, FIELD_SIZE(sb_api_key, hash), 1, err));
    return st->ops->apikey_create(st, tenant, name ? name : "", role, prefix, hash, id, err);
}

int sb_store_apikey_find(struct sb_store *st, const char *prefix, struct sb_api_key *out,
                         struct sb_error *err)
{
    NEED(st && out, "an output");
    NEED(prefix, "field 'prefix'");
    return st->ops->apikey_find(st, prefix, out, err);
}

int sb_store_apikey_list(struct sb_store *st, sb_id tenant, struct sb_api_key **out, size_t *n,
                         struct sb_error *err)
{
    NEED(st && out && n, "an output");
    return st->ops->apikey_list(st, tenant, out, n, err);
}

int sb_store_apikey_revoke(struct sb_store *st, sb_id tenant, sb_id id, struct sb_error *err)
{
    NEED(st, "a store");
    return st->ops->apikey_revoke(st, tenant, id, err);
}

int sb_store_session_create(struct sb_store *st, sb_id tenant, sb_id agent,
                            const char *token_hash, int64_t expires_ms, struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("tenant", tenant, err));
    CHECK(sb__store_check_id("agent", agent, err));
    CHECK(sb__store_check_str("token_hash", token_hash, SB_STORE_KEY_MAX + 1, 1, err));
    return st->ops->session_create(st, tenant, agent, token_hash, expires_ms, err);
}

int sb_store_session_find(struct sb_store *st, const char *token_hash, struct sb_session *out,
                          struct sb_error *err)
{
    NEED(st && out, "an output");
    NEED(token_hash, "field 'token_hash'");
    return st->ops->session_find(st, token_hash, out, err);
}

int sb_store_session_delete(struct sb_store *st, const char *token_hash, struct sb_error *err)
{
    NEED(st, "a store");
    NEED(token_hash, "field 'token_hash'");
    return st->ops->session_delete(st, token_hash, err);
}

int sb_store_event_append(struct sb_store *st, sb_id tenant, sb_id conversation, sb_id message,
                          const char *type, const char *payload_json, int64_t *seq,
                          struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("tenant", tenant, err));
    NEED(conversation >= 0 && message >= 0, "conversation and message ids that are not negative");
    CHECK(sb__store_check_str("type", type, FIELD_SIZE(sb_event, type), 1, err));
    CHECK(sb__store_check_text("payload_json", payload_json, err));
    return st->ops->event_append(st, tenant, conversation, message, type,
                                 payload_json ? payload_json : "{}", seq, err);
}

int sb_store_event_list(struct sb_store *st, sb_id tenant, sb_id conversation, int64_t after_seq,
                        size_t limit, struct sb_event **out, size_t *n, struct sb_error *err)
{
    NEED(st && out && n, "an output");
    CHECK(sb__store_check_limit(limit, SB_STORE_EVENT_LIST_MAX, err));
    return st->ops->event_list(st, tenant, conversation, after_seq, limit, out, n, err);
}

int sb_store_outbox_enqueue(struct sb_store *st, sb_id tenant, sb_id message, sb_id inbox,
                            const char *idempotency_key, const char *payload_json, sb_id *id,
                            struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_id("tenant", tenant, err));
    CHECK(sb__store_check_id("inbox", inbox, err));
    NEED(message >= 0, "a message id that is not negative");
    CHECK(sb__store_check_str("idempotency_key", idempotency_key,
                              FIELD_SIZE(sb_outbox_item, idempotency_key), 1, err));
    CHECK(sb__store_check_text("payload_json", payload_json, err));
    return st->ops->outbox_enqueue(st, tenant, message, inbox, idempotency_key,
                                   payload_json ? payload_json : "{}", id, err);
}

int sb_store_outbox_claim(struct sb_store *st, int64_t now_ms, int64_t lease_ms, size_t limit,
                          struct sb_outbox_item **out, size_t *n, struct sb_error *err)
{
    NEED(st && out && n, "an output");
    NEED(lease_ms > 0, "a positive lease");
    CHECK(sb__store_check_limit(limit, SB_STORE_LIST_MAX, err));
    return st->ops->outbox_claim(st, now_ms, lease_ms, limit, out, n, err);
}

int sb_store_outbox_finish(struct sb_store *st, sb_id id, int delivered, int64_t retry_at_ms,
                           const char *error, struct sb_error *err)
{
    NEED(st, "a store");
    CHECK(sb__store_check_text("error", error, err));
    return st->ops->outbox_finish(st, id, delivered, retry_at_ms, error, err);
}
