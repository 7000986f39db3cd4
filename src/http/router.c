/* SPDX-License-Identifier: MIT */
/*
 * The route table and request dispatch (worker thread): match method + path (numeric `{id}`
 * segments become parameters), authenticate as the route requires, run the handler. Also the
 * request-parsing helpers handlers share: the JSON body with its depth limit, typed members
 * with field-naming errors, query parameters.
 */
#include "api.h"

#include "sb/json.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct route {
    enum sb_method method;
    const char *pattern; /* "{id}" matches a positive integer segment */
    enum sb_auth_kind auth;
    sb_handler fn;
};

static const struct route routes[] = {
    {SB_GET, "/healthz", SB_AUTH_NONE, sb__api_healthz},
    {SB_GET, "/metrics", SB_AUTH_NONE, sb__api_metrics},
    {SB_GET, "/api/v1/openapi.json", SB_AUTH_NONE, sb__api_openapi},
    {SB_POST, "/api/v1/models/reload", SB_AUTH_ADMIN, sb__api_models_reload},
    {SB_POST, "/api/v1/messages", SB_AUTH_AGENT, sb__api_message_post},
    {SB_POST, "/api/v1/widget/session", SB_AUTH_NONE, sb__api_widget_session},
    {SB_POST, "/api/v1/widget/messages", SB_AUTH_VISITOR, sb__api_widget_message_post},
    {SB_GET, "/api/v1/widget/messages", SB_AUTH_VISITOR, sb__api_widget_messages},
    {SB_GET, "/api/v1/conversations", SB_AUTH_AGENT, sb__api_conversation_list},
    {SB_GET, "/api/v1/conversations/{id}", SB_AUTH_AGENT, sb__api_conversation_get},
    {SB_GET, "/api/v1/conversations/{id}/messages", SB_AUTH_AGENT, sb__api_conversation_messages},
    {SB_POST, "/api/v1/conversations/{id}/messages", SB_AUTH_AGENT, sb__api_conversation_reply},
    {SB_POST, "/api/v1/conversations/{id}/assign", SB_AUTH_AGENT, sb__api_conversation_assign},
    {SB_POST, "/api/v1/conversations/{id}/resolve", SB_AUTH_AGENT, sb__api_conversation_resolve},
    {SB_GET, "/api/v1/conversations/{id}/notes", SB_AUTH_AGENT, sb__api_note_list},
    {SB_POST, "/api/v1/conversations/{id}/notes", SB_AUTH_AGENT, sb__api_note_add},
    {SB_GET, "/api/v1/conversations/{id}/suggestions", SB_AUTH_AGENT, sb__api_conversation_suggestions},
    {SB_GET, "/api/v1/canned-replies", SB_AUTH_AGENT, sb__api_canned_list},
    {SB_POST, "/api/v1/canned-replies", SB_AUTH_SUPERVISOR, sb__api_canned_create},
    {SB_DELETE, "/api/v1/canned-replies/{id}", SB_AUTH_SUPERVISOR, sb__api_canned_delete},
    {SB_GET, "/api/v1/settings/sla", SB_AUTH_AGENT, sb__api_sla_get},
    {SB_PUT, "/api/v1/settings/sla", SB_AUTH_SUPERVISOR, sb__api_sla_put},
    {SB_GET, "/api/v1/widget/csat", SB_AUTH_VISITOR, sb__api_widget_csat_get},
    {SB_POST, "/api/v1/widget/csat", SB_AUTH_VISITOR, sb__api_widget_csat_post},
    {SB_GET, "/api/v1/contacts", SB_AUTH_AGENT, sb__api_contact_list},
    {SB_GET, "/api/v1/contacts/{id}", SB_AUTH_AGENT, sb__api_contact_get},
    {SB_GET, "/api/v1/inboxes", SB_AUTH_AGENT, sb__api_inbox_list},
    {SB_POST, "/api/v1/inboxes", SB_AUTH_ADMIN, sb__api_inbox_create},
    {SB_GET, "/api/v1/api-keys", SB_AUTH_ADMIN, sb__api_key_list},
    {SB_POST, "/api/v1/api-keys", SB_AUTH_ADMIN, sb__api_key_create},
    {SB_DELETE, "/api/v1/api-keys/{id}", SB_AUTH_ADMIN, sb__api_key_revoke},
    {SB_GET, "/api/v1/agents", SB_AUTH_AGENT, sb__api_agent_list},
    {SB_POST, "/api/v1/agents", SB_AUTH_SUPERVISOR, sb__api_agent_create},
    {SB_POST, "/api/v1/auth/login", SB_AUTH_NONE, sb__api_login},
    {SB_POST, "/api/v1/auth/logout", SB_AUTH_AGENT, sb__api_logout},
    {SB_GET, "/api/v1/me", SB_AUTH_AGENT, sb__api_me},
    {SB_GET, "/api/v1/kb/search", SB_AUTH_AGENT, sb__api_kb_search},
    {SB_GET, "/api/v1/kb/answer", SB_AUTH_AGENT, sb__api_kb_answer},
    {SB_GET, "/api/v1/kb/entries", SB_AUTH_AGENT, sb__api_kb_list},
    {SB_GET, "/api/v1/kb/entries/{key}", SB_AUTH_AGENT, sb__api_kb_get},
    {SB_PUT, "/api/v1/kb/entries/{key}", SB_AUTH_ADMIN, sb__api_kb_put},
    {SB_DELETE, "/api/v1/kb/entries/{key}", SB_AUTH_ADMIN, sb__api_kb_delete},
    {SB_POST, "/api/v1/kb/import", SB_AUTH_ADMIN, sb__api_kb_import},
    {SB_GET, "/api/v1/kb/gaps", SB_AUTH_AGENT, sb__api_kb_gaps},
    {SB_POST, "/api/v1/kb/wordings", SB_AUTH_AGENT, sb__api_kb_wording_propose},
    {SB_GET, "/api/v1/kb/wordings", SB_AUTH_SUPERVISOR, sb__api_kb_wording_list},
    {SB_POST, "/api/v1/kb/wordings/{id}/approve", SB_AUTH_SUPERVISOR, sb__api_kb_wording_approve},
    {SB_POST, "/api/v1/kb/wordings/{id}/dismiss", SB_AUTH_SUPERVISOR, sb__api_kb_wording_dismiss},
    {SB_POST, "/api/v1/widget/attachments", SB_AUTH_VISITOR, sb__api_widget_attachment_post},
    {SB_POST, "/api/v1/attachments", SB_AUTH_AGENT, sb__api_attachment_post},
    {SB_GET, "/api/v1/media/{key}", SB_AUTH_AGENT, sb__api_media_get},
    {SB_GET, "/api/v1/widget/media/{key}", SB_AUTH_VISITOR, sb__api_widget_media_get},
    {SB_GET, "/api/v1/routing/config", SB_AUTH_SUPERVISOR, sb__api_routing_config_get},
    {SB_PUT, "/api/v1/routing/config", SB_AUTH_SUPERVISOR, sb__api_routing_config_put},
    {SB_GET, "/api/v1/routing/agents", SB_AUTH_AGENT, sb__api_routing_agents},
    {SB_GET, "/api/v1/teams", SB_AUTH_AGENT, sb__api_team_list},
    {SB_POST, "/api/v1/teams", SB_AUTH_SUPERVISOR, sb__api_team_create},
    {SB_PUT, "/api/v1/agents/me/presence", SB_AUTH_AGENT, sb__api_presence_put},
    {SB_PUT, "/api/v1/agents/{id}/routing", SB_AUTH_SUPERVISOR, sb__api_agent_routing_put},
    {SB_GET, "/api/v1/queue", SB_AUTH_AGENT, sb__api_queue},
    {SB_POST, "/api/v1/conversations/{id}/transfer", SB_AUTH_AGENT, sb__api_conversation_transfer},
    {SB_POST, "/api/v1/conversations/{id}/requeue", SB_AUTH_AGENT, sb__api_conversation_requeue},
    {SB_GET, "/api/v1/conversations/{id}/routing", SB_AUTH_AGENT, sb__api_conversation_routing},
    {SB_GET, "/api/v1/conversations/{id}/summary", SB_AUTH_AGENT, sb__api_conversation_summary},
    {SB_GET, "/api/v1/dashboard", SB_AUTH_SUPERVISOR, sb__api_dashboard},
    {SB_GET, "/api/v1/reports/conversations.csv", SB_AUTH_SUPERVISOR, sb__api_report_csv},
};

#define MAX_PARAMS 4

static int hexval(int c);

/* Copies one URL-encoded path segment into `out`, decoded; 0 when empty, too long or holding
 * a control character. */
static int take_segment(const char **path, char *out, size_t cap)
{
    size_t j = 0;
    const char *p = *path;
    while (*p && *p != '/') {
        int c = (unsigned char)*p, h1, h2;
        if (c == '%' && (h1 = hexval(p[1])) >= 0 && (h2 = hexval(p[2])) >= 0) {
            c = h1 * 16 + h2;
            p += 3;
        } else {
            p++;
        }
        if (c < 0x20 || c == 0x7f || j + 1 >= cap)
            return 0;
        out[j++] = (char)c;
    }
    out[j] = '\0';
    *path = p;
    return j > 0;
}

/* 1 when `path` matches `pattern`, with the {id} values in `ids` and {key} in `key`. */
static int match(const char *pattern, const char *path, sb_id *ids, char *key, size_t key_cap)
{
    int n = 0;
    while (*pattern && *path) {
        if (!strncmp(pattern, "{key}", 5)) {
            if (!take_segment(&path, key, key_cap))
                return 0;
            pattern += 5;
            continue;
        }
        if (!strncmp(pattern, "{id}", 4)) {
            char *end;
            errno = 0;
            long long v = strtoll(path, &end, 10);
            if (end == path || errno || v <= 0 || !isdigit((unsigned char)*path) ||
                n == MAX_PARAMS)
                return 0;
            ids[n++] = v;
            path = end;
            pattern += 4;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return !*pattern && !*path;
}

void sb__http_dispatch(void *arg)
{
    struct sb_http_req *r = arg;
    sb_id ids[MAX_PARAMS] = {0};
    int path_known = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *rt = &routes[i];
        if (!match(rt->pattern, r->path, ids, r->key, sizeof(r->key)))
            continue;
        path_known = 1;
        if (rt->method != r->method)
            continue;
        int rc = sb__auth_check(r->srv, r, rt->auth);
        if (rc == SB_EAUTH)
            sb__http_error(r, rc, "missing or invalid credentials (Authorization: Bearer ...)");
        else if (rc == SB_EFORBIDDEN)
            sb__http_error(r, rc, "this needs the %s role",
                           rt->auth == SB_AUTH_SUPERVISOR ? "supervisor or admin" : "admin");
        else if (rc)
            sb__http_error(r, rc, "authentication failed");
        else
            rt->fn(r, ids);
        goto out;
    }
    if (path_known)
        sb__http_error(r, SB_EMETHOD, "method not allowed on %s", r->path);
    else
        sb__http_error(r, SB_ENOTFOUND, "no such endpoint: %s", r->path);
out:
    sb__http_req_unref(r); /* the worker's reference */
}

json_t *sb__http_parse_json(struct sb_http_req *r)
{
    json_t *v = NULL;
    struct sb_error err = {0};
    if (sb_json_parse(r->body ? r->body : "", r->body_len,
                      (size_t)sb_config_int(r->srv->cfg, "max_body_bytes"),
                      (int)sb_config_int(r->srv->cfg, "max_json_depth"), &v, &err)) {
        sb__http_error(r, err.code, "request body: %s", err.msg);
        return NULL;
    }
    return v;
}

json_t *sb__api_body(struct sb_http_req *r)
{
    json_t *v = sb__http_parse_json(r);
    if (v && !json_is_object(v)) {
        json_decref(v);
        sb__http_error(r, SB_EINVAL, "request body: expected a JSON object");
        return NULL;
    }
    return v;
}

const char *sb__api_str(struct sb_http_req *r, json_t *o, const char *name, int required,
                        size_t max, int *bad)
{
    json_t *v = json_object_get(o, name);
    if (*bad)
        return NULL;
    if (!v || json_is_null(v)) {
        if (required) {
            *bad = 1;
            sb__http_error(r, SB_EINVAL, "field '%s' is required", name);
        }
        return NULL;
    }
    if (!json_is_string(v)) {
        *bad = 1;
        sb__http_error(r, SB_EINVAL, "field '%s' must be a string", name);
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (required && len == 0) {
        *bad = 1;
        sb__http_error(r, SB_EINVAL, "field '%s' must not be empty", name);
        return NULL;
    }
    if (len > max) {
        *bad = 1;
        sb__http_error(r, SB_EINVAL, "field '%s' is longer than %zu bytes", name, max);
        return NULL;
    }
    if (memchr(s, '\0', len)) {
        *bad = 1;
        sb__http_error(r, SB_EINVAL, "field '%s' contains a NUL character", name);
        return NULL;
    }
    return s;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int sb__http_query(const struct sb_http_req *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = r->query; *p;) {
        size_t seg = strcspn(p, "&");
        if (seg > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t j = 0;
            for (size_t i = nl + 1; i < seg && j + 1 < cap; i++) {
                int h1, h2;
                if (p[i] == '%' && i + 2 < seg && (h1 = hexval(p[i + 1])) >= 0 &&
                    (h2 = hexval(p[i + 2])) >= 0) {
                    out[j++] = (char)(h1 * 16 + h2);
                    i += 2;
                } else {
                    out[j++] = p[i] == '+' ? ' ' : p[i];
                }
            }
            out[j] = '\0';
            return 1;
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    return 0;
}

int64_t sb__api_query_int(struct sb_http_req *r, const char *name, int64_t def, int64_t lo,
                          int64_t hi, int *bad)
{
    char v[32];
    if (*bad || !sb__http_query(r, name, v, sizeof(v)))
        return def;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        *bad = 1;
        sb__http_error(r, SB_EINVAL, "query parameter '%s' must be an integer from %lld to %lld",
                       name, (long long)lo, (long long)hi);
        return def;
    }
    return x;
}

void sb__api_store_error(struct sb_http_req *r, const struct sb_error *err, int rc)
{
    if (rc == SB_ENOTFOUND)
        sb__http_error(r, rc, "%s", err->code ? err->msg : "not found");
    else if (rc == SB_ESTORE || rc == SB_EIO || rc == SB_EINTERNAL) {
        SB_LOG(SB_LOG_ERROR, "api", "%s %s: %s", r->path, sb_err_name(rc), err->msg);
        sb__http_error(r, rc, "internal storage error");
    } else
        sb__http_error(r, rc, "%s", err->code ? err->msg : sb_strerror(rc));
}
