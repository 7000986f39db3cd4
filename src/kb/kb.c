/* SPDX-License-Identifier: MIT */
/*
 * The knowledge-base object: persistence of entries in DATA/kb.db (SQLite, our own file, apart
 * from the core store) and the per-tenant in-memory indexes that make every edit searchable at
 * once. Writers serialise on a mutex, commit to SQLite first and then update the index under
 * the write side of a rwlock; searches and answers take the read side, so worker threads read
 * in parallel and wait at most for one in-memory update.
 */
#include "kb_internal.h"

#include "sb/clock.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct tenant_index {
    int64_t tenant;
    struct sb__kb_index *ix;
    size_t adapted_at; /* entries when its encoder map was fitted (0: never) */
};

/* A tenant's own confidence model (sb_kb_set_conf_model). */
struct tenant_model {
    int64_t tenant;
    struct sb_kb_conf_model m;
};

struct sb_kb {
    pthread_rwlock_t lock;   /* indexes, threshold, models */
    pthread_mutex_t wmu;     /* one writer at a time (SQLite + index) */
    sqlite3 *db;             /* NULL: memory-only */
    sqlite3 *gapdb;          /* memory-only KBs keep abstained questions here */
    struct tenant_index *tenants;
    size_t ntenants;
    struct sb__kb_params params;
    double threshold;
    struct tenant_model *models;
    size_t nmodels;
    const struct sb_embed_model *enc; /* the shared sentence encoder (NULL: lexical only) */
    int adapt;                        /* fit encoder maps to tenants' KBs (adapt.c) */
};

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS kb_doc ("
    " tenant INTEGER NOT NULL, id TEXT NOT NULL, kind INTEGER NOT NULL,"
    " parent TEXT NOT NULL DEFAULT '', collection TEXT NOT NULL DEFAULT '',"
    " lang TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '',"
    " questions TEXT NOT NULL DEFAULT '', heading TEXT NOT NULL DEFAULT '',"
    " body TEXT NOT NULL DEFAULT '', link TEXT NOT NULL DEFAULT '',"
    " sku TEXT NOT NULL DEFAULT '', price TEXT NOT NULL DEFAULT '',"
    " attrs_json TEXT NOT NULL DEFAULT '', updated_ms INTEGER NOT NULL,"
    " vec BLOB," /* the entry's embedding, SB_EMBED_DIM float32 (dense.c); NULL when none */
    " PRIMARY KEY (tenant, id));"
    "CREATE INDEX IF NOT EXISTS kb_doc_parent ON kb_doc(tenant, parent);"
    "CREATE TABLE IF NOT EXISTS kb_gap ("
    " id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL, question TEXT NOT NULL,"
    " lang TEXT NOT NULL DEFAULT '', closest TEXT NOT NULL DEFAULT '',"
    " confidence REAL NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS kb_gap_tenant ON kb_gap(tenant, created_ms);"
    "CREATE TABLE IF NOT EXISTS kb_adapter (" /* a tenant's encoder map (adapt.c) */
    " tenant INTEGER PRIMARY KEY, entries INTEGER NOT NULL, map BLOB NOT NULL,"
    " updated_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS kb_model ("
    " tenant INTEGER PRIMARY KEY, model TEXT NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS kb_wording (" /* agents' proposals (wordings.c) */
    " id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL, entry TEXT NOT NULL,"
    " wording TEXT NOT NULL, wkey TEXT NOT NULL, message_id INTEGER NOT NULL DEFAULT 0,"
    " agent_id INTEGER NOT NULL DEFAULT 0, status INTEGER NOT NULL DEFAULT 0,"
    " decided_by INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,"
    " decided_ms INTEGER NOT NULL DEFAULT 0, UNIQUE (tenant, entry, wkey));"
    "CREATE INDEX IF NOT EXISTS kb_wording_status ON kb_wording(tenant, status, id);"
    "PRAGMA user_version = 1;";

void sb_kb_doc_cleanup(struct sb_kb_doc *d)
{
    if (!d)
        return;
    free(d->id);
    free(d->parent);
    free(d->collection);
    free(d->lang);
    free(d->title);
    free(d->questions);
    free(d->heading);
    free(d->body);
    free(d->link);
    free(d->sku);
    free(d->price);
    free(d->attrs_json);
    memset(d, 0, sizeof(*d));
}

void sb_kb_doc_list_free(struct sb_kb_doc *docs, size_t n)
{
    for (size_t i = 0; docs && i < n; i++)
        sb_kb_doc_cleanup(&docs[i]);
    free(docs);
}

static struct tenant_index *tenant_of(struct sb_kb *kb, int64_t tenant)
{
    for (size_t i = 0; i < kb->ntenants; i++) {
        if (kb->tenants[i].tenant == tenant)
            return &kb->tenants[i];
    }
    return NULL;
}

static struct sb__kb_index *tenant_ix(struct sb_kb *kb, int64_t tenant, int create)
{
    struct tenant_index *t = tenant_of(kb, tenant);
    if (t)
        return t->ix;
    if (!create)
        return NULL;
    kb->tenants = sb_realloc(kb->tenants, (kb->ntenants + 1) * sizeof(*kb->tenants));
    kb->tenants[kb->ntenants].tenant = tenant;
    kb->tenants[kb->ntenants].ix = sb__kb_index_new();
    kb->tenants[kb->ntenants].adapted_at = 0;
    return kb->tenants[kb->ntenants++].ix;
}

const struct sb__kb_index *sb__kb_tenant_index(struct sb_kb *kb, int64_t tenant)
{
    return tenant_ix(kb, tenant, 0);
}

void sb__kb_rdlock(struct sb_kb *kb)
{
    pthread_rwlock_rdlock(&kb->lock);
}

void sb__kb_unlock(struct sb_kb *kb)
{
    pthread_rwlock_unlock(&kb->lock);
}

void *sb__kb_gap_db(struct sb_kb *kb)
{
    if (kb->db)
        return kb->db;
    pthread_mutex_lock(&kb->wmu);
    if (!kb->gapdb && sqlite3_open_v2(":memory:", &kb->gapdb,
                                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_FULLMUTEX,
                                      NULL) == SQLITE_OK)
        sqlite3_exec(kb->gapdb, schema, NULL, NULL, NULL);
    pthread_mutex_unlock(&kb->wmu);
    return kb->gapdb;
}

struct sb__kb_params *sb__kb_params_of(struct sb_kb *kb)
{
    return &kb->params;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

static int exec(sqlite3 *db, const char *sql, struct sb_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* Stores the embeddings of the entries with ok[i] set (one transaction). */
static int db_set_vectors(sqlite3 *db, int64_t tenant, const struct sb_kb_doc *docs, size_t n,
                          const float *vecs, const unsigned char *ok, struct sb_error *err)
{
    if (!db)
        return 0;
    int rc = exec(db, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "UPDATE kb_doc SET vec=? WHERE tenant=? AND id=?", -1, &st,
                           NULL) != SQLITE_OK)
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    for (size_t i = 0; i < n && !rc; i++) {
        if (!ok[i])
            continue;
        sqlite3_bind_blob(st, 1, vecs + i * SB_EMBED_DIM, SB_EMBED_DIM * sizeof(float),
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, tenant);
        sqlite3_bind_text(st, 3, docs[i].id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = exec(db, "COMMIT", err);
    if (rc)
        exec(db, "ROLLBACK", NULL);
    return rc;
}

/* kb.db files from before entries had embeddings get the column. */
static int add_vec_column(sqlite3 *db, struct sb_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('kb_doc') WHERE name='vec'", -1,
                           &st, NULL) != SQLITE_OK)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    int has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return has ? 0 : exec(db, "ALTER TABLE kb_doc ADD COLUMN vec BLOB", err);
}

static int load_all(struct sb_kb *kb, struct sb_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(kb->db,
                                "SELECT tenant,id,kind,parent,collection,lang,title,questions,"
                                "heading,body,link,sku,price,attrs_json,updated_ms,vec FROM kb_doc",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sb_kb_doc d = {
            .id = (char *)col(st, 1),
            .kind = sqlite3_column_int(st, 2),
            .parent = (char *)col(st, 3),
            .collection = (char *)col(st, 4),
            .lang = (char *)col(st, 5),
            .title = (char *)col(st, 6),
            .questions = (char *)col(st, 7),
            .heading = (char *)col(st, 8),
            .body = (char *)col(st, 9),
            .link = (char *)col(st, 10),
            .sku = (char *)col(st, 11),
            .price = (char *)col(st, 12),
            .attrs_json = (char *)col(st, 13),
            .updated_ms = sqlite3_column_int64(st, 14),
        };
        const void *vec = sqlite3_column_blob(st, 15);
        if (sqlite3_column_bytes(st, 15) != SB_EMBED_DIM * (int)sizeof(float))
            vec = NULL;
        sb__kb_index_put(tenant_ix(kb, sqlite3_column_int64(st, 0), 1), &d, vec);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
    return 0;
}

/* A kb.db written before entries had embeddings (or while no encoder was installed) gets them
 * now, once: computed for every English entry without one, stored, and indexed. */
static int backfill_vectors(struct sb_kb *kb, struct sb_error *err)
{
    if (!kb->enc)
        return 0;
    int rc = 0;
    for (size_t t = 0; t < kb->ntenants && !rc; t++) {
        struct sb__kb_index *ix = kb->tenants[t].ix;
        size_t ns = sb__kb_index_nslots(ix), n = 0;
        struct sb_kb_doc *docs = sb_malloc((ns ? ns : 1) * sizeof(*docs));
        uint32_t *slots = sb_malloc((ns ? ns : 1) * sizeof(*slots));
        for (uint32_t s = 0; s < ns; s++) {
            const struct sb_kb_doc *d = sb__kb_index_doc(ix, s);
            if (d && !sb__kb_index_vec(ix, s)) {
                docs[n] = *d; /* borrowed: the index does not change until the end */
                slots[n++] = s;
            }
        }
        if (n) {
            float *vecs = sb_malloc(n * SB_EMBED_DIM * sizeof(float));
            unsigned char *ok = sb_malloc(n);
            sb__kb_dense_entries(kb->enc, docs, n, vecs, ok);
            size_t made = 0;
            for (size_t i = 0; i < n; i++)
                made += ok[i];
            if (made) {
                SB_LOG(SB_LOG_INFO, "kb", "tenant %lld: embedded %zu entries stored without one",
                       (long long)kb->tenants[t].tenant, made);
                rc = db_set_vectors(kb->db, kb->tenants[t].tenant, docs, n, vecs, ok, err);
                for (size_t i = 0; i < n && !rc; i++) {
                    if (ok[i])
                        sb__kb_index_set_vec(ix, slots[i], vecs + i * SB_EMBED_DIM);
                }
            }
            free(vecs);
            free(ok);
        }
        free(docs);
        free(slots);
    }
    return rc;
}

/* ---- per-tenant encoder maps (adapt.c) ---- */

#define ADAPT_SAMPLE 1024 /* entries a map is fitted on at most (two embeddings each) */
#define ADAPT_BATCH 16    /* a put of this many entries refits */

/* Stores the map of `tenant` fitted at `entries` entries (NULL: drops it); caller holds wmu. */
static int db_set_adapter(sqlite3 *db, int64_t tenant, const float *map, size_t entries,
                          struct sb_error *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql = map ? "INSERT OR REPLACE INTO kb_adapter(tenant,entries,map,updated_ms) "
                            "VALUES (?,?,?,?)"
                          : "DELETE FROM kb_adapter WHERE tenant=?";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, tenant);
    if (map) {
        sqlite3_bind_int64(st, 2, (sqlite3_int64)entries);
        sqlite3_bind_blob(st, 3, map, SB_EMBED_DIM * SB_EMBED_DIM * sizeof(float),
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, sb_now_ms());
    }
    int rc = sqlite3_step(st) == SQLITE_DONE
                 ? 0
                 : sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

/* Fits the encoder map of `tenant` to its entries: the texts are taken under the read lock,
 * embedded and fitted outside every lock (about a second for a thousand entries), then the map
 * is stored and swapped in. Too few groups drop the map (the plain encoder is used). */
static int adapt_refit(struct sb_kb *kb, int64_t tenant, struct sb_error *err)
{
    char **anchor = sb_malloc(ADAPT_SAMPLE * sizeof(char *));
    char **positive = sb_malloc(ADAPT_SAMPLE * sizeof(char *));
    uint32_t *group = sb_malloc(ADAPT_SAMPLE * sizeof(uint32_t));
    size_t ngroups = 0, n = 0, entries = 0;
    pthread_rwlock_rdlock(&kb->lock);
    const struct sb__kb_index *ix = tenant_ix(kb, tenant, 0);
    if (ix) {
        entries = sb__kb_index_count(ix);
        n = sb__kb_adapt_texts(ix, ADAPT_SAMPLE, anchor, positive, group, &ngroups);
    }
    int had = sb__kb_index_adapter(ix) != NULL;
    pthread_rwlock_unlock(&kb->lock);
    float *map = NULL;
    if (ngroups >= SB__KB_ADAPT_MIN_GROUPS) {
        map = sb_malloc(SB_EMBED_DIM * SB_EMBED_DIM * sizeof(float));
        if (sb__kb_adapt_build(kb->enc, anchor, positive, group, n, map) != 0) {
            free(map);
            map = NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(anchor[i]);
        free(positive[i]);
    }
    free(anchor);
    free(positive);
    free(group);
    if (!map && !had)
        return 0; /* nothing to store or drop */
    pthread_mutex_lock(&kb->wmu);
    int rc = kb->db ? db_set_adapter(kb->db, tenant, map, entries, err) : 0;
    if (!rc) {
        pthread_rwlock_wrlock(&kb->lock);
        struct tenant_index *t = tenant_of(kb, tenant);
        if (t) {
            sb__kb_index_set_adapter(t->ix, map);
            t->adapted_at = map ? entries : 0;
        }
        pthread_rwlock_unlock(&kb->lock);
    }
    pthread_mutex_unlock(&kb->wmu);
    free(map);
    return rc;
}

/* After a put of n entries: a large batch, or a quarter more or fewer entries than at the last
 * fit, refits the map; a single edit is mapped through the current one. */
static int adapt_due(struct sb_kb *kb, int64_t tenant, size_t n)
{
    if (!kb->enc || !kb->adapt)
        return 0;
    pthread_rwlock_rdlock(&kb->lock);
    struct tenant_index *t = tenant_of(kb, tenant);
    size_t now = t ? sb__kb_index_count(t->ix) : 0, at = t ? t->adapted_at : 0;
    pthread_rwlock_unlock(&kb->lock);
    if (now < SB__KB_ADAPT_MIN_GROUPS)
        return 0;
    return n >= ADAPT_BATCH || !at || now * 4 >= at * 5 || now * 4 <= at * 3;
}

/* The stored maps, at open; tenants with entries but no map (a kb.db from before maps) get
 * one fitted now. */
static int load_adapters(struct sb_kb *kb, struct sb_error *err)
{
    if (!kb->enc || !kb->adapt)
        return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(kb->db, "SELECT tenant, entries, map FROM kb_adapter", -1, &st,
                           NULL) != SQLITE_OK)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct tenant_index *t = tenant_of(kb, sqlite3_column_int64(st, 0));
        const void *map = sqlite3_column_blob(st, 2);
        if (!t || !map ||
            sqlite3_column_bytes(st, 2) != SB_EMBED_DIM * SB_EMBED_DIM * (int)sizeof(float))
            continue; /* a tenant without entries, or a map of another encoder: refitted */
        sb__kb_index_set_adapter(t->ix, map);
        t->adapted_at = (size_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    int rc = 0;
    for (size_t i = 0; i < kb->ntenants && !rc; i++) {
        if (adapt_due(kb, kb->tenants[i].tenant, 0))
            rc = adapt_refit(kb, kb->tenants[i].tenant, err);
    }
    return rc;
}

/* ---- per-tenant confidence models ---- */

static char *model_json(const struct sb_kb_conf_model *m)
{
    json_t *w = json_object();
    for (size_t i = 0; i < SB_KB_CONF_NF; i++)
        json_object_set_new(w, sb_kb_conf_feature_name(i), json_real(m->w[i]));
    json_t *o = json_pack("{s:f,s:o,s:f}", "bias", m->bias, "weights", w, "threshold",
                          m->threshold);
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s;
}

/* 0 when `text` is a model with every current feature; -1 otherwise (a model written by
 * another version of the feature set is ignored: the shipped model applies). */
static int model_parse(const char *text, struct sb_kb_conf_model *m)
{
    json_t *o = json_loads(text, 0, NULL);
    json_t *w = json_object_get(o, "weights");
    int rc = json_is_number(json_object_get(o, "bias")) &&
                     json_is_number(json_object_get(o, "threshold")) && json_is_object(w)
                 ? 0
                 : -1;
    if (!rc) {
        m->bias = json_number_value(json_object_get(o, "bias"));
        m->threshold = json_number_value(json_object_get(o, "threshold"));
        for (size_t i = 0; i < SB_KB_CONF_NF && !rc; i++) {
            json_t *v = json_object_get(w, sb_kb_conf_feature_name(i));
            if (!json_is_number(v))
                rc = -1;
            else
                m->w[i] = json_number_value(v);
        }
    }
    json_decref(o);
    return rc;
}

static struct tenant_model *model_of(struct sb_kb *kb, int64_t tenant)
{
    for (size_t i = 0; i < kb->nmodels; i++) {
        if (kb->models[i].tenant == tenant)
            return &kb->models[i];
    }
    return NULL;
}

static void model_store(struct sb_kb *kb, int64_t tenant, const struct sb_kb_conf_model *m)
{
    struct tenant_model *tm = model_of(kb, tenant);
    if (!m) {
        if (tm)
            *tm = kb->models[--kb->nmodels];
        return;
    }
    if (!tm) {
        kb->models = sb_realloc(kb->models, (kb->nmodels + 1) * sizeof(*kb->models));
        tm = &kb->models[kb->nmodels++];
        tm->tenant = tenant;
    }
    tm->m = *m;
}

static int load_models(struct sb_kb *kb, struct sb_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(kb->db, "SELECT tenant, model FROM kb_model", -1, &st, NULL) !=
        SQLITE_OK)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sb_kb_conf_model m;
        const char *text = (const char *)sqlite3_column_text(st, 1);
        if (text && model_parse(text, &m) == 0)
            model_store(kb, sqlite3_column_int64(st, 0), &m);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
    return 0;
}

int sb_kb_set_conf_model(struct sb_kb *kb, int64_t tenant, const struct sb_kb_conf_model *m,
                         struct sb_error *err)
{
    if (!kb)
        return sb_error_set(err, SB_EINVAL, "kb_set_conf_model: no KB");
    if (m) {
        int ok = isfinite(m->bias) && m->threshold >= 0 && m->threshold <= 1;
        for (size_t i = 0; i < SB_KB_CONF_NF && ok; i++)
            ok = isfinite(m->w[i]);
        if (!ok)
            return sb_error_set(err, SB_EINVAL, "kb_set_conf_model: a coefficient is not a "
                                                "number or the threshold is outside 0..1");
    }
    pthread_mutex_lock(&kb->wmu);
    int rc = 0;
    if (kb->db) {
        sqlite3_stmt *st = NULL;
        const char *sql = m ? "INSERT OR REPLACE INTO kb_model(tenant, model, updated_ms) "
                              "VALUES (?, ?, ?)"
                            : "DELETE FROM kb_model WHERE tenant = ?";
        char *js = m ? model_json(m) : NULL;
        if (sqlite3_prepare_v2(kb->db, sql, -1, &st, NULL) != SQLITE_OK) {
            rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
        } else {
            sqlite3_bind_int64(st, 1, tenant);
            if (m) {
                sqlite3_bind_text(st, 2, js, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 3, sb_now_ms());
            }
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
        }
        sqlite3_finalize(st);
        free(js);
    }
    if (!rc) {
        pthread_rwlock_wrlock(&kb->lock);
        model_store(kb, tenant, m);
        pthread_rwlock_unlock(&kb->lock);
    }
    pthread_mutex_unlock(&kb->wmu);
    return rc;
}

/* The model of `tenant` (caller holds the lock): its own, else the shipped one for lexical
 * or fused (`dense`) ranking with the KB's threshold when one was set. */
static void model_in_use(struct sb_kb *kb, int64_t tenant, int dense, struct sb_kb_conf_model *m,
                         int *own)
{
    const struct tenant_model *tm = model_of(kb, tenant);
    if (tm) {
        *m = tm->m;
    } else {
        sb__kb_conf_model_shipped(m, dense);
        if (kb->threshold >= 0)
            m->threshold = kb->threshold;
    }
    if (own)
        *own = tm != NULL;
}

int sb_kb_get_conf_model(struct sb_kb *kb, int64_t tenant, struct sb_kb_conf_model *m)
{
    int own = 0;
    pthread_rwlock_rdlock(&kb->lock);
    model_in_use(kb, tenant, kb->enc != NULL, m, &own);
    pthread_rwlock_unlock(&kb->lock);
    return own;
}

int sb__kb_answer(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang,
                  struct sb_kb_answer **out, struct sb__kb_features *f, struct sb_error *err)
{
    if (!kb || !text || !out)
        return sb_error_set(err, SB_EINVAL, "kb_answer: text required");
    if (strlen(text) > 4096)
        return sb_error_set(err, SB_ETOOBIG, "kb_answer: question longer than 4096 bytes");
    float qv[SB_EMBED_DIM];
    int has_qv = sb__kb_query_vec(kb, text, lang, qv); /* before the lock */
    pthread_rwlock_rdlock(&kb->lock);
    const struct sb__kb_index *ix = tenant_ix(kb, tenant, 0);
    int dense = has_qv && sb__kb_index_nvec(ix) > 0;
    struct sb_kb_conf_model m;
    model_in_use(kb, tenant, dense, &m, NULL);
    int rc = sb__kb_build_answer(ix, text, lang, dense ? qv : NULL, &kb->params, &m, out, f);
    pthread_rwlock_unlock(&kb->lock);
    return rc;
}

int sb_kb_conf_features(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang,
                        double x[SB_KB_CONF_NF], struct sb_kb_answer **answer,
                        struct sb_error *err)
{
    if (!kb || !text || !x)
        return sb_error_set(err, SB_EINVAL, "kb_conf_features: text required");
    struct sb_kb_answer *a = NULL;
    struct sb__kb_features f;
    int rc = sb__kb_answer(kb, tenant, text, lang, &a, &f, err);
    if (rc)
        return rc;
    sb__kb_features_vec(&f, x);
    if (answer)
        *answer = a;
    else
        sb_kb_answer_free(a);
    return 0;
}

/* The sentence encoder, unless SB_KB_DENSE=0: loaded once per process and shared by every KB
 * (read-only, ~30 MB); without it (model not installed) KBs rank lexically, said once. */
static struct sb_embed_model *shared_enc;
static pthread_once_t enc_once = PTHREAD_ONCE_INIT;

static void load_shared_encoder(void)
{
    struct sb_error e = {0};
    if (sb_embed_load(NULL, &shared_enc, &e) != 0) {
        shared_enc = NULL;
        SB_LOG(SB_LOG_WARN, "kb", "no sentence encoder (%s): lexical ranking only", e.msg);
    }
}

static void load_encoder(struct sb_kb *kb)
{
    const char *env = getenv("SB_KB_DENSE");
    if (env && strcmp(env, "0") == 0)
        return;
    pthread_once(&enc_once, load_shared_encoder);
    kb->enc = shared_enc;
}

const struct sb_embed_model *sb__kb_encoder(struct sb_kb *kb)
{
    return kb->enc;
}

int sb__kb_query_vec(struct sb_kb *kb, const char *text, const char *lang,
                     float v[SB_EMBED_DIM])
{
    if (!kb->enc || kb->params.dense <= 0 || !sb__kb_dense_applies(text, lang))
        return 0;
    /* invalid UTF-8 has no embedding: the question then ranks lexically */
    return sb_embed_text(kb->enc, text, v, NULL) == 0;
}

int sb_kb_open(const char *data_dir, struct sb_kb **out, struct sb_error *err)
{
    struct sb_kb *kb = sb_calloc(1, sizeof(*kb));
    pthread_rwlock_init(&kb->lock, NULL);
    pthread_mutex_init(&kb->wmu, NULL);
    sb__kb_params_default(&kb->params);
    if (kb->params.wn > 0 || kb->params.wnd > 0 || kb->params.wns > 0)
        sb__kb_wordnet_load(); /* once per process; queries never wait for it */
    kb->threshold = -1; /* the shipped model's own */
    load_encoder(kb);
    const char *ad = getenv("SB_KB_ADAPT");
    kb->adapt = !(ad && strcmp(ad, "0") == 0);
    int rc = 0;
    if (data_dir) {
        if (mkdir(data_dir, 0750) != 0 && errno != EEXIST) {
            rc = sb_error_set(err, SB_EIO, "cannot create data directory %s: %s", data_dir,
                              strerror(errno));
            goto out;
        }
        char *path = sb_strdupf("%s/kb.db", data_dir);
        int src = sqlite3_open_v2(path, &kb->db,
                                  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                      SQLITE_OPEN_FULLMUTEX,
                                  NULL);
        if (src != SQLITE_OK) {
            rc = sb_error_set(err, SB_ESTORE, "%s: %s", path,
                              kb->db ? sqlite3_errmsg(kb->db) : "cannot open");
            free(path);
            goto out;
        }
        free(path);
        sqlite3_busy_timeout(kb->db, 5000);
        char *msg = NULL;
        if (sqlite3_exec(kb->db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                         &msg) != SQLITE_OK ||
            sqlite3_exec(kb->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
            rc = sb_error_set(err, SB_ESTORE, "kb.db schema: %s", msg ? msg : "?");
            sqlite3_free(msg);
            goto out;
        }
        rc = add_vec_column(kb->db, err);
        if (!rc)
            rc = load_all(kb, err);
        if (!rc)
            rc = backfill_vectors(kb, err);
        if (!rc)
            rc = load_adapters(kb, err);
        if (!rc)
            rc = load_models(kb, err);
    }
out:
    if (rc) {
        sb_kb_close(kb);
        return rc;
    }
    *out = kb;
    return 0;
}

void sb_kb_close(struct sb_kb *kb)
{
    if (!kb)
        return;
    for (size_t i = 0; i < kb->ntenants; i++)
        sb__kb_index_free(kb->tenants[i].ix);
    free(kb->tenants);
    free(kb->models);
    if (kb->db)
        sqlite3_close(kb->db);
    if (kb->gapdb)
        sqlite3_close(kb->gapdb);
    pthread_rwlock_destroy(&kb->lock);
    pthread_mutex_destroy(&kb->wmu);
    free(kb);
}

static int check_doc(const struct sb_kb_doc *d, size_t i, struct sb_error *err)
{
    if (!d->id || !d->id[0])
        return sb_error_set(err, SB_EINVAL, "entry %zu: empty id", i + 1);
    size_t n = strlen(d->id);
    if (n > SB_KB_ID_MAX)
        return sb_error_set(err, SB_ETOOBIG, "entry %zu: id longer than %d bytes", i + 1,
                            SB_KB_ID_MAX);
    for (size_t j = 0; j < n; j++) {
        if ((unsigned char)d->id[j] < 0x20 || d->id[j] == 0x7f)
            return sb_error_set(err, SB_EINVAL, "entry %zu: control character in id", i + 1);
    }
    if (d->kind < SB_KB_FAQ || d->kind > SB_KB_PRODUCT)
        return sb_error_set(err, SB_EINVAL, "entry '%s': unknown kind %d", d->id, d->kind);
    const char *fields[] = {d->parent, d->collection, d->lang, d->title, d->questions,
                            d->heading, d->body, d->link, d->sku, d->price, d->attrs_json};
    for (size_t j = 0; j < sizeof(fields) / sizeof(fields[0]); j++) {
        if (fields[j] && strlen(fields[j]) > SB_KB_TEXT_MAX)
            return sb_error_set(err, SB_ETOOBIG, "entry '%s': a field exceeds %d bytes", d->id,
                                SB_KB_TEXT_MAX);
    }
    if (d->lang && strlen(d->lang) > 16)
        return sb_error_set(err, SB_EINVAL, "entry '%s': bad lang", d->id);
    int has_text = (d->title && d->title[0]) || (d->body && d->body[0]);
    if (!has_text)
        return sb_error_set(err, SB_EINVAL, "entry '%s': neither title nor body", d->id);
    return 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Distinct non-empty parents of the batch: their old sections are replaced. */
static size_t batch_parents(const struct sb_kb_doc *docs, size_t n, const char **parents)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        if (!docs[i].parent || !docs[i].parent[0])
            continue;
        size_t j;
        for (j = 0; j < np && strcmp(parents[j], docs[i].parent) != 0; j++)
            ;
        if (j == np)
            parents[np++] = docs[i].parent;
    }
    return np;
}

static int db_put(sqlite3 *db, int64_t tenant, const struct sb_kb_doc *docs, size_t n,
                  const float *vecs, const unsigned char *ok, const char **parents, size_t np,
                  int64_t now, struct sb_error *err)
{
    int rc = exec(db, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    sqlite3_stmt *del = NULL, *ins = NULL;
    if (sqlite3_prepare_v2(db, "DELETE FROM kb_doc WHERE tenant=? AND parent=?", -1, &del,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO kb_doc(tenant,id,kind,parent,collection,lang,"
                           "title,questions,heading,body,link,sku,price,attrs_json,updated_ms,vec)"
                           " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &ins, NULL) != SQLITE_OK) {
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
        goto out;
    }
    for (size_t i = 0; i < np; i++) {
        sqlite3_bind_int64(del, 1, tenant);
        sqlite3_bind_text(del, 2, parents[i], -1, SQLITE_STATIC);
        if (sqlite3_step(del) != SQLITE_DONE) {
            rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_reset(del);
    }
    for (size_t i = 0; i < n; i++) {
        const struct sb_kb_doc *d = &docs[i];
        sqlite3_bind_int64(ins, 1, tenant);
        sqlite3_bind_text(ins, 2, d->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 3, d->kind);
        const char *txt[] = {d->parent, d->collection, d->lang, d->title, d->questions,
                             d->heading, d->body, d->link, d->sku, d->price, d->attrs_json};
        for (int j = 0; j < 11; j++)
            sqlite3_bind_text(ins, 4 + j, nz(txt[j]), -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 15, d->updated_ms ? d->updated_ms : now);
        if (ok[i])
            sqlite3_bind_blob(ins, 16, vecs + i * SB_EMBED_DIM, SB_EMBED_DIM * sizeof(float),
                              SQLITE_STATIC);
        else
            sqlite3_bind_null(ins, 16);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = sb_error_set(err, SB_ESTORE, "kb.db: entry '%s': %s", d->id,
                              sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_reset(ins);
    }
    rc = exec(db, "COMMIT", err);
out:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    if (rc)
        exec(db, "ROLLBACK", NULL);
    return rc;
}

int sb_kb_put(struct sb_kb *kb, int64_t tenant, const struct sb_kb_doc *docs, size_t n,
              struct sb_error *err)
{
    if (!kb || (!docs && n))
        return sb_error_set(err, SB_EINVAL, "kb_put: no KB or entries");
    for (size_t i = 0; i < n; i++) {
        int rc = check_doc(&docs[i], i, err);
        if (rc)
            return rc;
    }
    const char **parents = sb_malloc((n ? n : 1) * sizeof(*parents));
    size_t np = batch_parents(docs, n, parents);
    int64_t now = sb_now_ms();
    /* embeddings first, outside every lock (milliseconds per entry) */
    float *vecs = sb_malloc((n ? n : 1) * SB_EMBED_DIM * sizeof(float));
    unsigned char *ok = sb_malloc(n ? n : 1);
    sb__kb_dense_entries(kb->enc, docs, n, vecs, ok);
    pthread_mutex_lock(&kb->wmu);
    int rc = kb->db ? db_put(kb->db, tenant, docs, n, vecs, ok, parents, np, now, err) : 0;
    if (rc == 0) {
        pthread_rwlock_wrlock(&kb->lock);
        struct sb__kb_index *ix = tenant_ix(kb, tenant, 1);
        for (size_t i = 0; i < np; i++)
            sb__kb_index_delete(ix, parents[i]);
        for (size_t i = 0; i < n; i++) {
            struct sb_kb_doc d = docs[i];
            if (!d.updated_ms)
                d.updated_ms = now;
            sb__kb_index_put(ix, &d, ok[i] ? vecs + i * SB_EMBED_DIM : NULL);
        }
        pthread_rwlock_unlock(&kb->lock);
    }
    pthread_mutex_unlock(&kb->wmu);
    free(vecs);
    free(ok);
    free(parents);
    if (rc == 0 && adapt_due(kb, tenant, n)) {
        /* the entries are stored: a map that cannot be stored only keeps the old one */
        struct sb_error e = {0};
        if (adapt_refit(kb, tenant, &e) != 0)
            SB_LOG(SB_LOG_WARN, "kb", "tenant %lld: encoder map not refitted: %s",
                   (long long)tenant, e.msg);
    }
    return rc;
}

int sb_kb_delete(struct sb_kb *kb, int64_t tenant, const char *id, struct sb_error *err)
{
    if (!kb || !id || !id[0])
        return sb_error_set(err, SB_EINVAL, "kb_delete: empty id");
    pthread_mutex_lock(&kb->wmu);
    int rc = 0;
    if (kb->db) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(kb->db, "DELETE FROM kb_doc WHERE tenant=? AND (id=? OR parent=?)",
                               -1, &st, NULL) != SQLITE_OK) {
            rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
        } else {
            sqlite3_bind_int64(st, 1, tenant);
            sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(kb->db));
            else if (sqlite3_changes(kb->db) == 0)
                rc = sb_error_set(err, SB_ENOTFOUND, "no entry '%s'", id);
        }
        sqlite3_finalize(st);
    }
    if (rc == 0) {
        pthread_rwlock_wrlock(&kb->lock);
        struct sb__kb_index *ix = tenant_ix(kb, tenant, 0);
        size_t removed = ix ? sb__kb_index_delete(ix, id) : 0;
        pthread_rwlock_unlock(&kb->lock);
        if (!kb->db && removed == 0)
            rc = sb_error_set(err, SB_ENOTFOUND, "no entry '%s'", id);
    }
    pthread_mutex_unlock(&kb->wmu);
    return rc;
}

static void doc_dup(struct sb_kb_doc *dst, const struct sb_kb_doc *s)
{
    dst->id = sb_strdup(s->id);
    dst->kind = s->kind;
    dst->parent = sb_strdup(s->parent);
    dst->collection = sb_strdup(s->collection);
    dst->lang = sb_strdup(s->lang);
    dst->title = sb_strdup(s->title);
    dst->questions = sb_strdup(s->questions);
    dst->heading = sb_strdup(s->heading);
    dst->body = sb_strdup(s->body);
    dst->link = sb_strdup(s->link);
    dst->sku = sb_strdup(s->sku);
    dst->price = sb_strdup(s->price);
    dst->attrs_json = sb_strdup(s->attrs_json);
    dst->updated_ms = s->updated_ms;
}

int sb_kb_get(struct sb_kb *kb, int64_t tenant, const char *id, struct sb_kb_doc *out,
              struct sb_error *err)
{
    if (!kb || !id)
        return sb_error_set(err, SB_EINVAL, "kb_get: no id");
    pthread_rwlock_rdlock(&kb->lock);
    const struct sb_kb_doc *d = sb__kb_index_find(tenant_ix(kb, tenant, 0), id);
    if (d)
        doc_dup(out, d);
    pthread_rwlock_unlock(&kb->lock);
    return d ? 0 : sb_error_set(err, SB_ENOTFOUND, "no entry '%s'", id);
}

int sb_kb_list(struct sb_kb *kb, int64_t tenant, const char *after_id, size_t limit,
               struct sb_kb_doc **out, size_t *n, struct sb_error *err)
{
    if (!kb || limit < 1 || limit > 1000)
        return sb_error_set(err, SB_EINVAL, "kb_list: limit must be 1..1000");
    const struct sb_kb_doc **tmp = sb_malloc(limit * sizeof(*tmp));
    pthread_rwlock_rdlock(&kb->lock);
    size_t k = sb__kb_index_list(tenant_ix(kb, tenant, 0), after_id, tmp, limit);
    struct sb_kb_doc *docs = k ? sb_calloc(k, sizeof(*docs)) : NULL;
    for (size_t i = 0; i < k; i++)
        doc_dup(&docs[i], tmp[i]);
    pthread_rwlock_unlock(&kb->lock);
    free(tmp);
    *out = docs;
    *n = k;
    return 0;
}

size_t sb_kb_count(struct sb_kb *kb, int64_t tenant)
{
    pthread_rwlock_rdlock(&kb->lock);
    size_t n = sb__kb_index_count(tenant_ix(kb, tenant, 0));
    pthread_rwlock_unlock(&kb->lock);
    return n;
}

int sb_kb_search(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang, size_t k,
                 struct sb_kb_hit **hits, size_t *n, struct sb_error *err)
{
    if (!kb || !text || k < 1 || k > 100)
        return sb_error_set(err, SB_EINVAL, "kb_search: text and k in 1..100 required");
    if (strlen(text) > 4096)
        return sb_error_set(err, SB_ETOOBIG, "kb_search: query longer than 4096 bytes");
    struct sb__kb_scored top[100];
    float qv[SB_EMBED_DIM];
    int has_qv = sb__kb_query_vec(kb, text, lang, qv); /* before the lock */
    pthread_rwlock_rdlock(&kb->lock);
    const struct sb__kb_index *ix = tenant_ix(kb, tenant, 0);
    size_t m = sb__kb_rank(ix, text, lang, has_qv ? qv : NULL, &kb->params, k, top, NULL);
    struct sb_kb_hit *h = m ? sb_calloc(m, sizeof(*h)) : NULL;
    for (size_t i = 0; i < m; i++) {
        const struct sb_kb_doc *d = sb__kb_index_doc(ix, top[i].slot);
        h[i].id = sb_strdup(d->id);
        h[i].kind = d->kind;
        h[i].title = sb_strdup(d->title);
        h[i].heading = sb_strdup(d->heading);
        h[i].link = sb_strdup(d->link);
        h[i].score = top[i].score;
    }
    pthread_rwlock_unlock(&kb->lock);
    *hits = h;
    *n = m;
    return 0;
}

void sb_kb_hits_free(struct sb_kb_hit *hits, size_t n)
{
    for (size_t i = 0; hits && i < n; i++) {
        free(hits[i].id);
        free(hits[i].title);
        free(hits[i].heading);
        free(hits[i].link);
    }
    free(hits);
}

int sb_kb_answer(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang,
                 struct sb_kb_answer **out, struct sb_error *err)
{
    return sb__kb_answer(kb, tenant, text, lang, out, NULL, err);
}

void sb_kb_set_threshold(struct sb_kb *kb, double threshold)
{
    pthread_rwlock_wrlock(&kb->lock);
    kb->threshold = threshold < 0 ? 0 : threshold > 1 ? 1 : threshold;
    pthread_rwlock_unlock(&kb->lock);
}

double sb_kb_threshold(const struct sb_kb *kb)
{
    if (kb->threshold >= 0)
        return kb->threshold;
    struct sb_kb_conf_model m;
    sb__kb_conf_model_shipped(&m, kb->enc != NULL);
    return m.threshold;
}

char *sb__kb_next_line(char **cursor)
{
    char *l = *cursor;
    if (!l || !*l)
        return NULL;
    char *nl = strchr(l, '\n');
    *cursor = nl ? nl + 1 : l + strlen(l);
    if (nl)
        *nl = '\0';
    size_t n = strlen(l);
    if (n && l[n - 1] == '\r')
        l[n - 1] = '\0';
    return l;
}

int sb__kb_read_file(const char *path, char **data, size_t *len, struct sb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sb_error_set(err, SB_EIO, "%s: %s", path, strerror(errno));
    struct sb_buf b;
    sb_buf_init(&b, SB_KB_FILE_MAX);
    char chunk[65536];
    size_t k;
    int rc = 0;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (sb_buf_append(&b, chunk, k)) {
            rc = sb_error_set(err, SB_ETOOBIG, "%s: larger than %d bytes", path, SB_KB_FILE_MAX);
            break;
        }
    }
    if (!rc && ferror(f))
        rc = sb_error_set(err, SB_EIO, "%s: read error", path);
    fclose(f);
    if (rc) {
        sb_buf_cleanup(&b);
        return rc;
    }
    if (!b.data)
        sb_buf_appends(&b, "");
    *data = sb_buf_steal(&b, len);
    return 0;
}
