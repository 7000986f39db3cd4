/* SPDX-License-Identifier: MIT */
/*
 * Tenant administration and identity: contacts, inboxes, API keys, agents, agent login and
 * logout. Secrets are shown once, at creation, and stored only as hashes.
 */
#include "api.h"

#include "sb/clock.h"
#include "sb/mem.h"
#include "sb/render.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static int valid_role(const char *role)
{
    return !strcmp(role, SB_ROLE_ADMIN) || !strcmp(role, SB_ROLE_SUPERVISOR) ||
           !strcmp(role, SB_ROLE_AGENT);
}

void sb__api_contact_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    int bad = 0;
    int64_t before = sb__api_query_int(r, "before", 0, 1, INT64_MAX, &bad);
    size_t limit = (size_t)sb__api_query_int(r, "limit", 50, 1, 500, &bad);
    if (bad)
        return;
    struct sb_contact *cs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_contact_list(r->srv->store, r->who.tenant_id, before, limit, &cs, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *o = json_object(), *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, sb_render_contact(&cs[i], NULL, 0));
    json_object_set_new(o, "contacts", a);
    json_object_set_new(o, "next_before", n == limit ? json_integer(cs[n - 1].id) : json_null());
    sb_contact_list_free(cs, n);
    sb__http_respond_json(r, 200, o);
}

void sb__api_contact_get(struct sb_http_req *r, const sb_id *id)
{
    struct sb_contact c = {0};
    struct sb_contact_identity *ids = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_contact_get(r->srv->store, r->who.tenant_id, id[0], &c, &ids, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb__http_respond_json(r, 200, sb_render_contact(&c, ids, n));
    sb_identity_list_free(ids, n);
    sb_contact_cleanup(&c);
}

void sb__api_inbox_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_inbox *xs = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_inbox_list(r->srv->store, r->who.tenant_id, &xs, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *o = json_object(), *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, sb_render_inbox(&xs[i]));
    json_object_set_new(o, "inboxes", a);
    sb_inbox_list_free(xs, n);
    sb__http_respond_json(r, 200, o);
}

void sb__api_inbox_create(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *name = sb__api_str(r, body, "name", 1, 127, &bad);
    const char *kind = sb__api_str(r, body, "kind", 0, 31, &bad);
    json_t *config = json_object_get(body, "config");
    if (!bad && config && !json_is_object(config)) {
        bad = 1;
        sb__http_error(r, SB_EINVAL, "field 'config' must be an object");
    }
    if (!bad && kind && strcmp(kind, "api") && strcmp(kind, "web")) {
        bad = 1;
        sb__http_error(r, SB_EINVAL, "field 'kind' must be \"api\" or \"web\"");
    }
    if (bad)
        goto out;
    char *cfg = config ? json_dumps(config, JSON_COMPACT) : NULL;
    sb_id new_id = 0;
    struct sb_error err = {0};
    int rc = sb_store_inbox_create(r->srv->store, r->who.tenant_id, kind ? kind : "api", name,
                                   cfg, &new_id, &err);
    free(cfg);
    if (rc == SB_EEXIST) {
        sb__http_error(r, rc, "field 'name': an inbox named '%s' exists", name);
        goto out;
    }
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    struct sb_inbox ib = {0};
    if (sb_store_inbox_get(r->srv->store, r->who.tenant_id, new_id, &ib, &err) == 0) {
        sb__http_respond_json(r, 201, sb_render_inbox(&ib));
        sb_inbox_cleanup(&ib);
    } else {
        sb__api_store_error(r, &err, SB_ESTORE);
    }
out:
    json_decref(body);
}

void sb__api_key_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_api_key *ks = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_apikey_list(r->srv->store, r->who.tenant_id, &ks, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *o = json_object(), *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, sb_render_api_key(&ks[i]));
    json_object_set_new(o, "api_keys", a);
    sb_apikey_list_free(ks, n);
    sb__http_respond_json(r, 200, o);
}

void sb__api_key_create(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *name = sb__api_str(r, body, "name", 1, 127, &bad);
    const char *role = sb__api_str(r, body, "role", 0, 15, &bad);
    if (!bad && role && !valid_role(role)) {
        bad = 1;
        sb__http_error(r, SB_EINVAL, "field 'role' must be admin, supervisor or agent");
    }
    if (bad)
        goto out;
    char *key = sb__auth_new_secret("sbk_");
    struct sb_error err = {0};
    int rc = sb__auth_store_key(r->srv->store, r->who.tenant_id, name, role ? role : "agent", key,
                                &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
    } else {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "role", json_string(role ? role : "agent"));
        json_object_set_new(o, "key", json_string(key)); /* shown once */
        sb__http_respond_json(r, 201, o);
    }
    sodium_memzero(key, strlen(key));
    free(key);
out:
    json_decref(body);
}

void sb__api_key_revoke(struct sb_http_req *r, const sb_id *id)
{
    struct sb_error err = {0};
    int rc = sb_store_apikey_revoke(r->srv->store, r->who.tenant_id, id[0], &err);
    sb__auth_forget_all();
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    sb__http_respond_json(r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id[0], "revoked", 1));
}

void sb__api_agent_list(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_agent *as = NULL;
    size_t n = 0;
    struct sb_error err = {0};
    int rc = sb_store_agent_list(r->srv->store, r->who.tenant_id, &as, &n, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
        return;
    }
    json_t *o = json_object(), *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, sb_render_agent(&as[i]));
    json_object_set_new(o, "agents", a);
    sb_agent_list_free(as, n);
    sb__http_respond_json(r, 200, o);
}

void sb__api_agent_create(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *email = sb__api_str(r, body, "email", 1, 255, &bad);
    const char *name = sb__api_str(r, body, "name", 1, 127, &bad);
    const char *password = sb__api_str(r, body, "password", 1, 1024, &bad);
    const char *role = sb__api_str(r, body, "role", 0, 15, &bad);
    if (!bad && !strchr(email, '@')) {
        bad = 1;
        sb__http_error(r, SB_EINVAL, "field 'email' must be an e-mail address");
    }
    if (!bad && strlen(password) < 8) {
        bad = 1;
        sb__http_error(r, SB_EINVAL, "field 'password' must have at least 8 characters");
    }
    if (!bad && role && !valid_role(role)) {
        bad = 1;
        sb__http_error(r, SB_EINVAL, "field 'role' must be admin, supervisor or agent");
    }
    /* supervisors staff their teams; only an admin hands out supervisor or admin rights */
    if (!bad && role && strcmp(role, SB_ROLE_AGENT) != 0 &&
        strcmp(r->who.role, SB_ROLE_ADMIN) != 0) {
        bad = 1;
        sb__http_error(r, SB_EFORBIDDEN, "field 'role': only an admin may create a %s", role);
    }
    if (bad)
        goto out;
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        sb__http_error(r, SB_ENOMEM, "password hashing failed");
        goto out;
    }
    sb_id new_id = 0;
    struct sb_error err = {0};
    int rc = sb_store_agent_create(r->srv->store, r->who.tenant_id, email, name,
                                   role ? role : "agent", hash, &new_id, &err);
    if (rc == SB_EEXIST) {
        sb__http_error(r, rc, "field 'email': an agent with this e-mail exists");
        goto out;
    }
    if (rc) {
        sb__api_store_error(r, &err, rc);
        goto out;
    }
    struct sb_agent a;
    if (sb_store_agent_get(r->srv->store, r->who.tenant_id, new_id, &a, &err) == 0)
        sb__http_respond_json(r, 201, sb_render_agent(&a));
    else
        sb__api_store_error(r, &err, SB_ESTORE);
out:
    json_decref(body);
}

/* A real hash to verify against when the e-mail is unknown, so both cases cost the same. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
    if (crypto_pwhash_str(dummy_hash, "unused", 6, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0';
}

/* {"email", "password", "tenant"?} → {"token", "agent"}. The same answer and about the same
 * time for an unknown e-mail as for a wrong password. */
void sb__api_login(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *body = sb__api_body(r);
    if (!body)
        return;
    int bad = 0;
    const char *email = sb__api_str(r, body, "email", 1, 255, &bad);
    const char *password = sb__api_str(r, body, "password", 1, 1024, &bad);
    const char *tenant = sb__api_str(r, body, "tenant", 0, 63, &bad);
    if (bad)
        goto out;
    struct sb_server *s = r->srv;
    sb_id tenant_id = s->opt.default_tenant;
    if (tenant) {
        struct sb_tenant t;
        tenant_id = sb_store_tenant_find(s->store, tenant, &t, NULL) == 0 ? t.id : 0;
    }
    struct sb_agent a = {0};
    int found = tenant_id && sb_store_agent_find(s->store, tenant_id, email, &a, NULL) == 0;
    pthread_once(&dummy_once, make_dummy_hash);
    int ok = crypto_pwhash_str_verify(found ? a.pw_hash : dummy_hash, password,
                                      strlen(password)) == 0;
    if (!found || !ok) {
        sb__http_error(r, SB_EAUTH, "wrong e-mail or password");
        goto out;
    }
    char *token = sb__auth_new_secret("sbs_");
    char hash[65];
    sb__auth_hash("session", token, hash);
    int64_t hours = sb_config_int(s->cfg, "session_hours");
    struct sb_error err = {0};
    int rc = sb_store_session_create(s->store, tenant_id, a.id, hash,
                                     sb_now_ms() + hours * 3600 * 1000, &err);
    if (rc) {
        sb__api_store_error(r, &err, rc);
    } else {
        sb_store_event_append(s->store, tenant_id, 0, 0, "audit.login", NULL, NULL, NULL);
        json_t *o = json_object();
        json_object_set_new(o, "token", json_string(token));
        json_object_set_new(o, "agent", sb_render_agent(&a));
        sb__http_respond_json(r, 200, o);
    }
    free(token);
out:
    json_decref(body);
}

void sb__api_logout(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    const char *token = r->authorization + 7;
    if (strncmp(token, "sbs_", 4) == 0) {
        char hash[65];
        sb__auth_hash("session", token, hash);
        sb_store_session_delete(r->srv->store, hash, NULL);
        sb__auth_forget_all();
    }
    sb__http_respond_json(r, 200, json_pack("{s:b}", "logged_out", 1));
}

void sb__api_me(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    json_t *o = json_object();
    json_object_set_new(o, "tenant_id", json_integer(r->who.tenant_id));
    json_object_set_new(o, "role", json_string(r->who.role));
    if (r->who.agent_id) {
        struct sb_agent a;
        if (sb_store_agent_get(r->srv->store, r->who.tenant_id, r->who.agent_id, &a, NULL) == 0)
            json_object_set_new(o, "agent", sb_render_agent(&a));
    }
    if (r->who.key_id)
        json_object_set_new(o, "api_key_id", json_integer(r->who.key_id));
    sb__http_respond_json(r, 200, o);
}
