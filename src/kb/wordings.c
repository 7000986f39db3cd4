/* SPDX-License-Identifier: MIT */
/*
 * Learned phrasings proposed by agents: "this customer wording was answered by that entry".
 * Proposals live in kb.db (table kb_wording, created with the KB's schema in kb.c; in the
 * in-memory database of a memory-only KB), one row per (tenant, entry, folded wording), so the
 * same wording proposed twice for one entry is stored once. A supervisor approves a proposal --
 * the wording is appended to the entry's question phrasings through sb_kb_put, the same live
 * edit the REST PUT uses, so the bot recognises it as soon as the call returns -- or dismisses
 * it. Approvals are serialised by one mutex: an approval reads the entry and writes it back,
 * and two at once must not lose a phrasing. Docs: docs/kb.md, "Learned phrasings".
 */
#include "kb_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t decide_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const status_names[] = {"pending", "approved", "dismissed"};

const char *sb_kb_wording_status_name(int status)
{
    return status >= 0 && status <= 2 ? status_names[status] : "?";
}

int sb_kb_wording_status_parse(const char *name)
{
    for (int i = 0; name && i <= 2; i++) {
        if (!strcmp(name, status_names[i]))
            return i;
    }
    return -1;
}

void sb_kb_wording_cleanup(struct sb_kb_wording *w)
{
    if (!w)
        return;
    free(w->entry);
    free(w->wording);
    memset(w, 0, sizeof(*w));
}

void sb_kb_wordings_free(struct sb_kb_wording *w, size_t n)
{
    for (size_t i = 0; w && i < n; i++)
        sb_kb_wording_cleanup(&w[i]);
    free(w);
}

/* `s` with control characters as spaces, whitespace runs folded to one space, ends trimmed
 * (a phrasing is one line: the KB keeps phrasings newline-separated). */
static char *fold(const char *s)
{
    size_t n = strlen(s), j = 0;
    char *o = sb_malloc(n + 1);
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f) {
            space = j > 0;
            continue;
        }
        if (space)
            o[j++] = ' ';
        space = 0;
        o[j++] = (char)c;
    }
    o[j] = '\0';
    return o;
}

/* The dedupe key: the folded text with ASCII letters lower-cased. */
static char *key_of(const char *s, size_t len)
{
    char *t = sb_strndup(s, len);
    char *f = fold(t);
    free(t);
    for (char *p = f; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return f;
}

/* 1 when the entry's title or one of its phrasings has the key `key`. */
static int has_phrasing(const struct sb_kb_doc *d, const char *key)
{
    char *t = key_of(d->title ? d->title : "", d->title ? strlen(d->title) : 0);
    int found = !strcmp(t, key);
    free(t);
    for (const char *p = d->questions; p && *p && !found;) {
        size_t n = strcspn(p, "\n");
        char *q = key_of(p, n);
        found = !strcmp(q, key);
        free(q);
        p += n + (p[n] == '\n');
    }
    return found;
}

static size_t count_phrasings(const struct sb_kb_doc *d)
{
    size_t k = 0;
    for (const char *p = d->questions; p && *p;) {
        size_t n = strcspn(p, "\n");
        k += n > 0;
        p += n + (p[n] == '\n');
    }
    return k;
}

/* Reads entry `entry` into `d` and checks that it takes phrasings. */
static int entry_for_phrasings(struct sb_kb *kb, int64_t tenant, const char *entry,
                               struct sb_kb_doc *d, struct sb_error *err)
{
    if (sb_kb_get(kb, tenant, entry, d, NULL) != 0)
        return sb_error_set(err, SB_ENOTFOUND, "field 'entry': no knowledge-base entry '%s'",
                            entry);
    if ((d->kind != SB_KB_FAQ && d->kind != SB_KB_PRODUCT) || (d->parent && d->parent[0])) {
        sb_kb_doc_cleanup(d);
        return sb_error_set(err, SB_EINVAL,
                            "field 'entry': '%s' is an article section; only FAQ and catalogue "
                            "entries take question phrasings",
                            entry);
    }
    return 0;
}

#define COLS "id,tenant,entry,wording,message_id,agent_id,status,decided_by,created_ms,decided_ms"

static void read_row(sqlite3_stmt *st, struct sb_kb_wording *w)
{
    const unsigned char *e = sqlite3_column_text(st, 2), *t = sqlite3_column_text(st, 3);
    w->id = sqlite3_column_int64(st, 0);
    w->tenant = sqlite3_column_int64(st, 1);
    w->entry = sb_strdup(e ? (const char *)e : "");
    w->wording = sb_strdup(t ? (const char *)t : "");
    w->message_id = sqlite3_column_int64(st, 4);
    w->agent_id = sqlite3_column_int64(st, 5);
    w->status = sqlite3_column_int(st, 6);
    w->decided_by = sqlite3_column_int64(st, 7);
    w->created_ms = sqlite3_column_int64(st, 8);
    w->decided_ms = sqlite3_column_int64(st, 9);
}

static sqlite3 *db_of(struct sb_kb *kb, struct sb_error *err)
{
    sqlite3 *db = kb ? sb__kb_gap_db(kb) : NULL; /* kb.db, or the memory-only KB's database */
    if (!db)
        sb_error_set(err, SB_ESTORE, "kb wordings: no database");
    return db;
}

int sb_kb_wording_get(struct sb_kb *kb, int64_t tenant, int64_t id, struct sb_kb_wording *out,
                      struct sb_error *err)
{
    sqlite3 *db = db_of(kb, err);
    if (!db)
        return SB_ESTORE;
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(db, "SELECT " COLS " FROM kb_wording WHERE tenant=? AND id=?", -1, &st,
                           NULL) != SQLITE_OK)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_int64(st, 2, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        read_row(st, out);
        rc = 0;
    } else if (step == SQLITE_DONE) {
        rc = sb_error_set(err, SB_ENOTFOUND, "no proposed wording %lld", (long long)id);
    } else {
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}

int sb_kb_wording_propose(struct sb_kb *kb, int64_t tenant, const char *entry, const char *wording,
                          int64_t message_id, int64_t agent_id, struct sb_kb_wording *out,
                          int *created, struct sb_error *err)
{
    if (!entry || !entry[0])
        return sb_error_set(err, SB_EINVAL, "field 'entry' is required");
    if (strlen(entry) > SB_KB_ID_MAX)
        return sb_error_set(err, SB_ETOOBIG, "field 'entry' is longer than %d bytes", SB_KB_ID_MAX);
    sqlite3 *db = db_of(kb, err);
    if (!db)
        return SB_ESTORE;
    char *text = fold(wording ? wording : "");
    char *key = NULL;
    struct sb_kb_doc d = {0};
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (!text[0]) {
        rc = sb_error_set(err, SB_EINVAL, "field 'wording' is empty");
        goto out;
    }
    if (strlen(text) > SB_KB_WORDING_MAX) {
        rc = sb_error_set(err, SB_ETOOBIG,
                          "field 'wording' is longer than %d bytes; a phrasing is one question",
                          SB_KB_WORDING_MAX);
        goto out;
    }
    key = key_of(text, strlen(text));
    if ((rc = entry_for_phrasings(kb, tenant, entry, &d, err)))
        goto out;
    if (has_phrasing(&d, key)) {
        rc = sb_error_set(err, SB_EEXIST, "entry '%s' already has this wording", entry);
        goto out;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO kb_wording(tenant,entry,wording,wkey,message_id,"
                           "agent_id,created_ms) VALUES(?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, entry, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, message_id);
    sqlite3_bind_int64(st, 6, agent_id);
    sqlite3_bind_int64(st, 7, sb_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
        goto out;
    }
    int fresh = sqlite3_changes(db) > 0;
    sqlite3_finalize(st);
    st = NULL;
    if (created)
        *created = fresh;
    if (out) {
        if (sqlite3_prepare_v2(db,
                               "SELECT " COLS " FROM kb_wording WHERE tenant=? AND entry=? AND "
                               "wkey=?",
                               -1, &st, NULL) != SQLITE_OK) {
            rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_bind_int64(st, 1, tenant);
        sqlite3_bind_text(st, 2, entry, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            read_row(st, out);
        else
            rc = sb_error_set(err, SB_ESTORE, "kb.db: the proposal vanished");
    }
out:
    sqlite3_finalize(st);
    sb_kb_doc_cleanup(&d);
    free(key);
    free(text);
    return rc;
}

int sb_kb_wording_list(struct sb_kb *kb, int64_t tenant, int status, int64_t before_id,
                       size_t limit, struct sb_kb_wording **out, size_t *n, struct sb_error *err)
{
    if (!out || !n || limit < 1 || limit > 500)
        return sb_error_set(err, SB_EINVAL, "kb_wording_list: limit must be 1..500");
    *out = NULL;
    *n = 0;
    sqlite3 *db = db_of(kb, err);
    if (!db)
        return SB_ESTORE;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT " COLS " FROM kb_wording WHERE tenant=?1 AND "
                           "(?2 < 0 OR status=?2) AND (?3 = 0 OR id < ?3) ORDER BY id DESC "
                           "LIMIT ?4",
                           -1, &st, NULL) != SQLITE_OK)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_int(st, 2, status);
    sqlite3_bind_int64(st, 3, before_id);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
    struct sb_kb_wording *w = sb_calloc(limit, sizeof(*w));
    size_t k = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && k < limit)
        read_row(st, &w[k++]);
    int rc = 0;
    if (step != SQLITE_DONE && step != SQLITE_ROW) {
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
        sb_kb_wordings_free(w, k);
    } else if (k == 0) {
        free(w);
    } else {
        *out = w;
        *n = k;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Appends the proposal's wording to its entry's phrasings (nothing when already there). */
static int add_phrasing(struct sb_kb *kb, int64_t tenant, const struct sb_kb_wording *w,
                        struct sb_error *err)
{
    struct sb_kb_doc d = {0};
    struct sb_error e2 = {0};
    int rc = entry_for_phrasings(kb, tenant, w->entry, &d, &e2);
    if (rc == SB_ENOTFOUND)
        return sb_error_set(err, rc, "entry '%s' of proposed wording %lld no longer exists",
                            w->entry, (long long)w->id);
    if (rc)
        return sb_error_set(err, rc, "%s", e2.msg);
    char *key = key_of(w->wording, strlen(w->wording));
    if (!has_phrasing(&d, key)) {
        if (count_phrasings(&d) >= SB_KB_PHRASINGS_MAX) {
            rc = sb_error_set(err, SB_ESTATE,
                              "entry '%s' already has %d question phrasings; edit it to make "
                              "room first",
                              w->entry, SB_KB_PHRASINGS_MAX);
        } else {
            size_t ql = d.questions ? strlen(d.questions) : 0;
            while (ql > 0 && d.questions[ql - 1] == '\n')
                ql--;
            char *qs =
                sb_strdupf("%.*s%s%s", (int)ql, ql ? d.questions : "", ql ? "\n" : "", w->wording);
            free(d.questions);
            d.questions = qs;
            d.updated_ms = 0; /* now */
            rc = sb_kb_put(kb, tenant, &d, 1, err);
        }
    }
    free(key);
    sb_kb_doc_cleanup(&d);
    return rc;
}

static int decide(struct sb_kb *kb, int64_t tenant, int64_t id, int status, int64_t decided_by,
                  struct sb_kb_wording *out, struct sb_error *err)
{
    sqlite3 *db = db_of(kb, err);
    if (!db)
        return SB_ESTORE;
    struct sb_kb_wording w = {0};
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&decide_mu);
    int rc = sb_kb_wording_get(kb, tenant, id, &w, err);
    if (rc)
        goto out;
    if (w.status != SB_KB_WORDING_PENDING) {
        rc = sb_error_set(err, SB_ESTATE, "proposed wording %lld was already %s", (long long)id,
                          sb_kb_wording_status_name(w.status));
        goto out;
    }
    /* the phrasing first: a failure after it leaves the proposal pending, and approving it
     * again finds the phrasing there and only marks it */
    if (status == SB_KB_WORDING_APPROVED && (rc = add_phrasing(kb, tenant, &w, err)))
        goto out;
    int64_t now = sb_now_ms();
    if (sqlite3_prepare_v2(db,
                           "UPDATE kb_wording SET status=?, decided_by=?, decided_ms=? WHERE "
                           "tenant=? AND id=? AND status=0",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int(st, 1, status);
    sqlite3_bind_int64(st, 2, decided_by);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, tenant);
    sqlite3_bind_int64(st, 5, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
        goto out;
    }
    w.status = status;
    w.decided_by = decided_by;
    w.decided_ms = now;
    if (out) {
        *out = w;
        memset(&w, 0, sizeof(w));
    }
out:
    pthread_mutex_unlock(&decide_mu);
    sqlite3_finalize(st);
    sb_kb_wording_cleanup(&w);
    return rc;
}

int sb_kb_wording_approve(struct sb_kb *kb, int64_t tenant, int64_t id, int64_t decided_by,
                          struct sb_kb_wording *out, struct sb_error *err)
{
    return decide(kb, tenant, id, SB_KB_WORDING_APPROVED, decided_by, out, err);
}

int sb_kb_wording_dismiss(struct sb_kb *kb, int64_t tenant, int64_t id, int64_t decided_by,
                          struct sb_kb_wording *out, struct sb_error *err)
{
    return decide(kb, tenant, id, SB_KB_WORDING_DISMISSED, decided_by, out, err);
}
