/* SPDX-License-Identifier: MIT */
/*
 * Who is calling. API keys and agent session tokens arrive as `Authorization: Bearer ...`;
 * neither is ever stored: the store keeps a public lookup prefix and a SHA-256 hash, and the
 * hash is compared in constant time. (Keys and tokens are 256-bit random strings, so a fast
 * hash is enough; agent passwords, which are low-entropy, use argon2id instead.) Visitor
 * tokens of the widget are stateless: tenant, inbox, visitor id and expiry signed with
 * HMAC-SHA-256 under the server secret.
 */
#include "http_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VISITOR_TOKEN_DAYS 30
#define CACHE_SLOTS 1024
#define CACHE_TTL_MS 5000

/*
 * Verified credentials, so that a busy API client costs one store lookup every few seconds
 * rather than one per request. Keyed by the token's hash; an entry lives CACHE_TTL_MS, and a
 * revocation or logout in this process empties the cache at once (other nodes see it within
 * the TTL).
 */
struct cached {
    char hash[65];
    struct sb_principal who;
    int64_t until_ms;
};
static struct cached cache[CACHE_SLOTS];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static int cache_get(const char *hash, struct sb_principal *who)
{
    struct cached *c = &cache[strtoul(hash + 56, NULL, 16) % CACHE_SLOTS];
    pthread_mutex_lock(&cache_mu);
    int hit = c->until_ms > sb_now_ms() && sb_memeq_consttime(c->hash, hash, 64);
    if (hit)
        *who = c->who;
    pthread_mutex_unlock(&cache_mu);
    return hit;
}

static void cache_put(const char *hash, const struct sb_principal *who)
{
    struct cached *c = &cache[strtoul(hash + 56, NULL, 16) % CACHE_SLOTS];
    pthread_mutex_lock(&cache_mu);
    memcpy(c->hash, hash, 65);
    c->who = *who;
    c->until_ms = sb_now_ms() + CACHE_TTL_MS;
    pthread_mutex_unlock(&cache_mu);
}

void sb__auth_forget_all(void)
{
    pthread_mutex_lock(&cache_mu);
    memset(cache, 0, sizeof(cache));
    pthread_mutex_unlock(&cache_mu);
}

void sb__auth_hash(const char *label, const char *s, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)label, strlen(label));
    crypto_hash_sha256_update(&st, (const unsigned char *)":", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)s, strlen(s));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

char *sb__auth_new_secret(const char *prefix)
{
    unsigned char raw[32];
    char b64[64];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return sb_strdupf("%s%s", prefix, b64);
}

/* The lookup prefix of a key: derived from the key itself, so any string can be a key. */
static void key_prefix(const char *key, char out[17])
{
    char h[65];
    sb__auth_hash("prefix", key, h);
    memcpy(out, h, 16);
    out[16] = '\0';
}

int sb__auth_store_key(struct sb_store *st, sb_id tenant, const char *name, const char *role,
                       const char *key, struct sb_error *err)
{
    char prefix[17], hash[65];
    key_prefix(key, prefix);
    sb__auth_hash("key", key, hash);
    struct sb_api_key existing = {0};
    if (sb_store_apikey_find(st, prefix, &existing, NULL) == 0)
        return 0; /* already known (e.g. SWITCHBOARD_ADMIN_KEY on a restart) */
    sb_id id;
    return sb_store_apikey_create(st, tenant, name, role, prefix, hash, &id, err);
}

static int verify(struct sb_server *s, const char *token, struct sb_principal *who,
                  struct sb_error *err);

int sb__auth_bearer(struct sb_server *s, const char *token, struct sb_principal *who,
                    struct sb_error *err)
{
    memset(who, 0, sizeof(*who));
    if (!token || !*token || strlen(token) > 512)
        return sb_error_set(err, SB_EAUTH, "missing or malformed credentials");
    char hash[65];
    sb__auth_hash("any", token, hash);
    if (cache_get(hash, who))
        return 0;
    int rc = verify(s, token, who, err);
    if (rc == 0)
        cache_put(hash, who);
    return rc;
}

static int verify(struct sb_server *s, const char *token, struct sb_principal *who,
                  struct sb_error *err)
{
    char hash[65];
    if (!strncmp(token, "sbs_", 4)) {
        sb__auth_hash("session", token, hash);
        struct sb_session sess;
        if (sb_store_session_find(s->store, hash, &sess, NULL) != 0)
            return sb_error_set(err, SB_EAUTH, "session expired or unknown: log in again");
        struct sb_agent a;
        if (sb_store_agent_get(s->store, sess.tenant_id, sess.agent_id, &a, NULL) != 0)
            return sb_error_set(err, SB_EAUTH, "agent no longer exists");
        who->tenant_id = sess.tenant_id;
        who->agent_id = sess.agent_id;
        snprintf(who->role, sizeof(who->role), "%s", a.role);
        return 0;
    }
    char prefix[17];
    key_prefix(token, prefix);
    sb__auth_hash("key", token, hash);
    struct sb_api_key k;
    if (sb_store_apikey_find(s->store, prefix, &k, NULL) != 0 || strlen(k.hash) != 64 ||
        !sb_memeq_consttime(k.hash, hash, 64) || k.revoked)
        return sb_error_set(err, SB_EAUTH, "invalid or revoked API key");
    who->tenant_id = k.tenant_id;
    who->key_id = k.id;
    snprintf(who->role, sizeof(who->role), "%s", k.role);
    return 0;
}

/* ---- visitor tokens ---- */

static void visitor_mac(struct sb_server *s, const char *payload, char out[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, (const unsigned char *)payload, strlen(payload), s->secret);
    sodium_bin2hex(out, 65, mac, sizeof(mac));
}

char *sb__visitor_token_new(struct sb_server *s, sb_id tenant, sb_id inbox, const char *visitor)
{
    char payload[256], mac[65];
    long long expiry = sb_now_ms() / 1000 + VISITOR_TOKEN_DAYS * 86400;
    snprintf(payload, sizeof(payload), "v1.%lld.%lld.%s.%lld", (long long)tenant,
             (long long)inbox, visitor, expiry);
    visitor_mac(s, payload, mac);
    return sb_strdupf("%s.%s", payload, mac);
}

int sb__visitor_token_check(struct sb_server *s, const char *token, struct sb_principal *who)
{
    memset(who, 0, sizeof(*who));
    if (!token || strlen(token) > 400)
        return SB_EAUTH;
    const char *dot = strrchr(token, '.');
    if (!dot || strlen(dot + 1) != 64)
        return SB_EAUTH;
    char payload[400], mac[65];
    snprintf(payload, sizeof(payload), "%.*s", (int)(dot - token), token);
    visitor_mac(s, payload, mac);
    if (!sb_memeq_consttime(mac, dot + 1, 64))
        return SB_EAUTH;
    long long tenant, inbox, expiry;
    char visitor[64];
    if (sscanf(payload, "v1.%lld.%lld.%63[A-Za-z0-9_-].%lld", &tenant, &inbox, visitor,
               &expiry) != 4)
        return SB_EAUTH;
    if (expiry < sb_now_ms() / 1000)
        return SB_EAUTH;
    who->tenant_id = tenant;
    who->inbox_id = inbox;
    snprintf(who->visitor, sizeof(who->visitor), "%s", visitor);
    snprintf(who->role, sizeof(who->role), "visitor");
    return 0;
}

/* ---- the check a route asks for ---- */

int sb__auth_check(struct sb_server *s, struct sb_http_req *r, enum sb_auth_kind need)
{
    if (need == SB_AUTH_NONE)
        return 0;
    const char *h = r->authorization;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return SB_EAUTH;
    const char *token = h + 7;
    if (need == SB_AUTH_VISITOR)
        return sb__visitor_token_check(s, token, &r->who);
    int rc = sb__auth_bearer(s, token, &r->who, NULL);
    if (rc)
        return rc;
    if (need == SB_AUTH_ADMIN && strcmp(r->who.role, SB_ROLE_ADMIN) != 0)
        return SB_EFORBIDDEN;
    if (need == SB_AUTH_SUPERVISOR && strcmp(r->who.role, SB_ROLE_ADMIN) != 0 &&
        strcmp(r->who.role, SB_ROLE_SUPERVISOR) != 0)
        return SB_EFORBIDDEN;
    return 0;
}
