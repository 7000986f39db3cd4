/* SPDX-License-Identifier: MIT */
/*
 * The gap report: questions the bot abstained on, recorded per tenant in kb.db (table kb_gap)
 * and grouped so that knowledge owners see what to write next. Grouping is greedy and
 * dictionary-free: every question becomes the set of its retrieval terms (the KB analyser:
 * stemmed English words without stop words, Chinese bigrams); a question joins the group whose
 * first member shares the most terms with it when their Dice overlap is at least GROUP_DICE,
 * else it starts a group. Each group reports a central wording, recent examples, counts, dates,
 * and what the KB says about it today (closest entries, and whether it would now answer).
 */
#include "kb_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_DICE 0.5   /* term-set overlap that puts two questions in one group */
#define CONSIDER_MAX 5000
#define EXAMPLES_MAX 5
#define CENTRAL_MAX 50   /* members compared to pick the central wording */

int sb_kb_gap_record(struct sb_kb *kb, int64_t tenant, const char *question, const char *lang,
                     const struct sb_kb_answer *a, int64_t at_ms, struct sb_error *err)
{
    if (!kb || !question || !question[0])
        return sb_error_set(err, SB_EINVAL, "kb_gap_record: empty question");
    sqlite3 *db = sb__kb_gap_db(kb);
    if (!db)
        return sb_error_set(err, SB_ESTORE, "kb_gap_record: no database");
    size_t len = strlen(question);
    if (len > SB_KB_GAP_QUESTION_MAX) {
        len = SB_KB_GAP_QUESTION_MAX;
        while (len > 0 && ((unsigned char)question[len] & 0xC0) == 0x80)
            len--; /* do not cut a UTF-8 sequence */
    }
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO kb_gap(tenant,question,lang,closest,confidence,created_ms)"
                           " VALUES(?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, question, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, lang ? lang : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a && a->n_citations ? a->citations[0].doc_id : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_double(st, 5, a ? a->confidence : 0);
    sqlite3_bind_int64(st, 6, at_ms ? at_ms : sb_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    return rc;
}

long sb_kb_gaps_prune(struct sb_kb *kb, int64_t tenant, int64_t before_ms, struct sb_error *err)
{
    sqlite3 *db = kb ? sb__kb_gap_db(kb) : NULL;
    if (!db)
        return sb_error_set(err, SB_EINVAL, "kb_gaps_prune: no database");
    sqlite3_stmt *st = NULL;
    long n;
    if (sqlite3_prepare_v2(db, "DELETE FROM kb_gap WHERE tenant=? AND created_ms<?", -1, &st,
                           NULL) != SQLITE_OK) {
        n = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    } else {
        sqlite3_bind_int64(st, 1, tenant);
        sqlite3_bind_int64(st, 2, before_ms);
        n = sqlite3_step(st) == SQLITE_DONE ? (long)sqlite3_changes(db)
                                            : sb_error_set(err, SB_ESTORE, "kb.db: %s",
                                                           sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return n;
}

/* ---- grouping ---- */

struct question {
    char *text;
    char *lang;
    int64_t at;
    char **terms; /* sorted, distinct */
    size_t nterms;
    size_t group;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void term_set(struct question *q)
{
    struct sb__kb_tokens t = {0};
    sb__kb_analyze(q->text, strlen(q->text), q->lang[0] ? q->lang : NULL, &t);
    q->terms = sb_malloc((t.n ? t.n : 1) * sizeof(char *));
    for (size_t i = 0; i < t.n; i++)
        q->terms[i] = t.buf + t.off[i];
    qsort(q->terms, t.n, sizeof(char *), cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (n == 0 || strcmp(q->terms[n - 1], q->terms[i]) != 0)
            q->terms[n++] = q->terms[i];
    }
    /* copy the strings out of the token buffer */
    for (size_t i = 0; i < n; i++)
        q->terms[i] = sb_strdup(q->terms[i]);
    q->nterms = n;
    sb__kb_tokens_cleanup(&t);
}

static double dice(const struct question *a, const struct question *b)
{
    if (!a->nterms || !b->nterms) /* questions without terms group by exact text */
        return strcmp(a->text, b->text) == 0 ? 1.0 : 0.0;
    size_t i = 0, j = 0, common = 0;
    while (i < a->nterms && j < b->nterms) {
        int c = strcmp(a->terms[i], b->terms[j]);
        if (c == 0) {
            common++;
            i++;
            j++;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    return 2.0 * (double)common / (double)(a->nterms + b->nterms);
}

struct group {
    size_t seed;     /* index of the first (most recent) question */
    size_t count;
    size_t *members; /* up to CENTRAL_MAX, most recent first */
    size_t nmembers;
    int64_t first, last;
};

static int cmp_group(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->last < y->last ? 1 : x->last > y->last ? -1 : 0;
}

static void copy_citations(struct sb_kb_gap *g, const struct sb_kb_answer *a)
{
    g->n_closest = a->n_citations;
    g->closest = a->n_citations ? sb_calloc(a->n_citations, sizeof(*g->closest)) : NULL;
    for (size_t i = 0; i < a->n_citations; i++) {
        g->closest[i].doc_id = sb_strdup(a->citations[i].doc_id);
        g->closest[i].title = sb_strdup(a->citations[i].title);
        g->closest[i].link = sb_strdup(a->citations[i].link);
    }
}

int sb_kb_gaps(struct sb_kb *kb, int64_t tenant, int64_t since_ms, size_t limit,
               struct sb_kb_gap **out, size_t *n_out, struct sb_error *err)
{
    if (!kb || !out || !n_out || limit < 1 || limit > 500)
        return sb_error_set(err, SB_EINVAL, "kb_gaps: limit must be 1..500");
    *out = NULL;
    *n_out = 0;
    sqlite3 *db = sb__kb_gap_db(kb);
    if (!db)
        return sb_error_set(err, SB_ESTORE, "kb_gaps: no database");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT question, lang, created_ms FROM kb_gap WHERE tenant=? AND "
                           "created_ms>=? ORDER BY created_ms DESC, id DESC LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int(st, 3, CONSIDER_MAX);
    struct question *qs = NULL;
    size_t nq = 0, cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (nq == cap) {
            cap = cap ? cap * 2 : 64;
            qs = sb_realloc(qs, cap * sizeof(*qs));
        }
        struct question *q = &qs[nq++];
        memset(q, 0, sizeof(*q));
        const unsigned char *t = sqlite3_column_text(st, 0), *l = sqlite3_column_text(st, 1);
        q->text = sb_strdup(t ? (const char *)t : "");
        q->lang = sb_strdup(l ? (const char *)l : "");
        q->at = sqlite3_column_int64(st, 2);
        term_set(q);
    }
    if (step != SQLITE_DONE)
        rc = sb_error_set(err, SB_ESTORE, "kb.db: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);

    struct group *gs = NULL;
    size_t ng = 0, gcap = 0;
    for (size_t i = 0; rc == 0 && i < nq; i++) {
        size_t best = ng;
        double best_sim = GROUP_DICE;
        for (size_t g = 0; g < ng; g++) {
            double s = dice(&qs[i], &qs[gs[g].seed]);
            if (s >= best_sim) {
                best_sim = s;
                best = g;
            }
        }
        if (best == ng) {
            if (ng == gcap) {
                gcap = gcap ? gcap * 2 : 32;
                gs = sb_realloc(gs, gcap * sizeof(*gs));
            }
            memset(&gs[ng], 0, sizeof(gs[ng]));
            gs[ng].seed = i;
            gs[ng].members = sb_malloc(CENTRAL_MAX * sizeof(size_t));
            gs[ng].first = gs[ng].last = qs[i].at;
            ng++;
        }
        struct group *g = &gs[best];
        g->count++;
        if (g->nmembers < CENTRAL_MAX)
            g->members[g->nmembers++] = i;
        if (qs[i].at < g->first)
            g->first = qs[i].at;
        if (qs[i].at > g->last)
            g->last = qs[i].at;
        qs[i].group = best;
    }
    if (rc == 0 && ng) {
        qsort(gs, ng, sizeof(*gs), cmp_group);
        size_t n = ng < limit ? ng : limit;
        struct sb_kb_gap *res = sb_calloc(n, sizeof(*res));
        for (size_t gi = 0; gi < n; gi++) {
            struct group *g = &gs[gi];
            struct sb_kb_gap *r = &res[gi];
            /* the central wording: most overlap with the other members */
            size_t central = g->members[0];
            double best = -1;
            for (size_t a = 0; a < g->nmembers; a++) {
                double s = 0;
                for (size_t b = 0; b < g->nmembers; b++)
                    s += a == b ? 0 : dice(&qs[g->members[a]], &qs[g->members[b]]);
                if (s > best) {
                    best = s;
                    central = g->members[a];
                }
            }
            r->question = sb_strdup(qs[central].text);
            r->count = g->count;
            r->first_ms = g->first;
            r->last_ms = g->last;
            r->examples = sb_calloc(EXAMPLES_MAX, sizeof(char *));
            for (size_t m = 0; m < g->nmembers && r->n_examples < EXAMPLES_MAX; m++) {
                const char *t = qs[g->members[m]].text;
                int dup = 0;
                for (size_t e = 0; e < r->n_examples && !dup; e++)
                    dup = strcmp(r->examples[e], t) == 0;
                if (!dup)
                    r->examples[r->n_examples++] = sb_strdup(t);
            }
            struct sb_kb_answer *a = NULL;
            if (sb_kb_answer(kb, tenant, r->question,
                             qs[central].lang[0] ? qs[central].lang : NULL, &a, NULL) == 0) {
                r->confidence_now = a->confidence;
                r->answered_now = a->decision == SB_KB_ANSWER;
                copy_citations(r, a);
                sb_kb_answer_free(a);
            }
        }
        *out = res;
        *n_out = n;
    }
    for (size_t g = 0; g < ng; g++)
        free(gs[g].members);
    free(gs);
    for (size_t i = 0; i < nq; i++) {
        for (size_t t = 0; t < qs[i].nterms; t++)
            free(qs[i].terms[t]);
        free(qs[i].terms);
        free(qs[i].text);
        free(qs[i].lang);
    }
    free(qs);
    return rc;
}

void sb_kb_gaps_free(struct sb_kb_gap *g, size_t n)
{
    for (size_t i = 0; g && i < n; i++) {
        free(g[i].question);
        for (size_t e = 0; e < g[i].n_examples; e++)
            free(g[i].examples[e]);
        free(g[i].examples);
        for (size_t c = 0; c < g[i].n_closest; c++) {
            free(g[i].closest[c].doc_id);
            free(g[i].closest[c].title);
            free(g[i].closest[c].link);
        }
        free(g[i].closest);
    }
    free(g);
}
