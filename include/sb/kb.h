/* SPDX-License-Identifier: MIT */
/*
 * The knowledge base: what the bot may answer from. A KB holds, per tenant, FAQ entries (one or
 * more question phrasings and an answer), articles (Markdown, HTML or plain text, split into
 * sections that keep their heading path) and product catalogue entries (SKU, name, attributes,
 * price, description). Every entry is persisted in its own SQLite file (DATA/kb.db, separate
 * from the core store) and indexed in memory; an edit is searchable as soon as the call that
 * made it returns (the index is updated incrementally, never rebuilt).
 *
 * Retrieval is BM25F over three fields (title/questions, body, meta) with English analysis
 * (NFKC + case folding, stop words, Snowball stemming) and Chinese character bigrams; see
 * docs/kb.md for the measurements behind the choices. Answers are extractive: the best FAQ
 * answer, article section or catalogue entry rendered as a sentence, always with citations and a
 * calibrated confidence; below the threshold the answer is an abstention (hand off to a human).
 *
 * Threads: one `struct sb_kb` is shared by all threads. Searches and answers take a read lock and
 * run in parallel; edits take the write lock for the in-memory update only (the SQLite commit is
 * done before, under a separate writer mutex), so a search waits at most for one index update.
 *
 * Ownership: every input pointer is borrowed for the duration of the call. Every returned object
 * says how to free it. All functions return 0 or a negative SB_E* code and fill `err` (may be
 * NULL) with a message naming the file/line/field at fault.
 */
#ifndef SB_KB_H
#define SB_KB_H

#include "sb/error.h"

#include <stddef.h>
#include <stdint.h>

struct sb_kb; /* opaque */

/* Kinds of entries. */
enum sb_kb_kind {
    SB_KB_FAQ = 1,     /* question phrasings + answer */
    SB_KB_SECTION = 2, /* one section of an article (or a plain passage) */
    SB_KB_PRODUCT = 3, /* a catalogue entry */
};

/* Limits on what an entry may hold (SB_ETOOBIG beyond them). */
#define SB_KB_ID_MAX 128          /* bytes of a document id */
#define SB_KB_TEXT_MAX (1 << 20)  /* bytes of one field */
#define SB_KB_FILE_MAX (64 << 20) /* bytes of one imported file */

/*
 * One entry. As input (sb_kb_put) all strings are borrowed and may be NULL (= ""), except `id`.
 * As output (sb_kb_get, sb_kb_list) every string is owned by the struct: free with
 * sb_kb_doc_cleanup().
 *  - FAQ: title = the main question; questions = further phrasings, one per line; body = answer.
 *  - SECTION: title = article title; heading = heading path ("Returns > Refunds"); body = text.
 *  - PRODUCT: title = product name; sku; attrs_json = {"Width":"210 cm",...}; price = "899 €";
 *    body = description.
 */
struct sb_kb_doc {
    char *id;         /* unique per tenant; <= SB_KB_ID_MAX bytes, no control characters */
    int kind;         /* enum sb_kb_kind */
    char *parent;     /* article id for sections ("" otherwise); deleting it deletes them */
    char *collection; /* free grouping ("faq", "help", "catalogue", ...) */
    char *lang;       /* "en", "zh", ... ("" = "en" analysis; CJK is detected by script) */
    char *title;
    char *questions;
    char *heading;
    char *body;
    char *link;
    char *sku;
    char *price;
    char *attrs_json; /* a flat JSON object of strings/numbers, "" when none */
    int64_t updated_ms;
};

void sb_kb_doc_cleanup(struct sb_kb_doc *d);
void sb_kb_doc_list_free(struct sb_kb_doc *docs, size_t n);

/*
 * Opens the KB of `data_dir` (creating DATA/kb.db and its tables when missing) and loads every
 * tenant's entries into the in-memory index. `data_dir` NULL gives a memory-only KB (used by the
 * evaluation commands and tests): nothing is persisted. Free with sb_kb_close().
 */
int sb_kb_open(const char *data_dir, struct sb_kb **out, struct sb_error *err);
/* Closes and frees; no call may be running on `kb`. NULL is a no-op. */
void sb_kb_close(struct sb_kb *kb);

/*
 * Inserts or replaces `n` entries of `tenant` in one transaction: either all are stored and
 * indexed, or none (the error names the first bad entry). Searchable when this returns.
 * Thread-safe.
 */
int sb_kb_put(struct sb_kb *kb, int64_t tenant, const struct sb_kb_doc *docs, size_t n,
              struct sb_error *err);

/* Deletes entry `id` of `tenant` and every entry whose parent is `id` (the sections of an
 * article). SB_ENOTFOUND when nothing had that id. Thread-safe. */
int sb_kb_delete(struct sb_kb *kb, int64_t tenant, const char *id, struct sb_error *err);

/* Copies entry `id` into `out` (free with sb_kb_doc_cleanup). SB_ENOTFOUND. Thread-safe. */
int sb_kb_get(struct sb_kb *kb, int64_t tenant, const char *id, struct sb_kb_doc *out,
              struct sb_error *err);

/* Lists up to `limit` (1..1000) entries of `tenant` with id > `after_id` ("" = from the start),
 * ordered by id. *out is NULL when there are none; free with sb_kb_doc_list_free(). */
int sb_kb_list(struct sb_kb *kb, int64_t tenant, const char *after_id, size_t limit,
               struct sb_kb_doc **out, size_t *n, struct sb_error *err);

/* Number of entries of `tenant` (0 for an unknown tenant). */
size_t sb_kb_count(struct sb_kb *kb, int64_t tenant);

/*
 * Parses files into entries and stores them with sb_kb_put, all files in ONE transaction:
 * .md/.markdown (articles, split at headings), .html/.htm (articles, split at h1-h6), .txt
 * (articles, split at blank-line paragraphs groups), .csv (catalogue: header row with columns
 * sku,name,price,description,link,collection,lang and any other columns as attributes), .jsonl
 * (FAQ lines {"id","question","answer"} with optional "questions":[..], "link", "lang",
 * "collection", "title"; or corpus lines {"id","text"}). A malformed file fails with SB_EPARSE
 * naming the file and line, and nothing of any file is stored. `n_docs` (may be NULL) receives
 * the number of entries stored.
 */
int sb_kb_import_files(struct sb_kb *kb, int64_t tenant, const char *const *paths, size_t n_paths,
                       size_t *n_docs, struct sb_error *err);

/*
 * Parses one file's bytes (`name` decides the format by its extension and names the file in
 * errors) into entries appended to *docs and *n (grown with sb_realloc; the caller frees them with
 * sb_kb_doc_list_free even on failure). Used by the importer and the fuzz targets.
 */
int sb_kb_parse(const char *name, const char *data, size_t len, struct sb_kb_doc **docs,
                size_t *n, struct sb_error *err);

/* One search result. */
struct sb_kb_hit {
    char *id;
    int kind;
    char *title;
    char *heading;
    char *link;
    double score; /* BM25F score (comparable within one query only) */
};

/*
 * Ranks `tenant`'s entries for `text` (analysed as `lang`, NULL = "en") and returns the best
 * `k` (1..100) in *hits (NULL when none match; free with sb_kb_hits_free). Thread-safe (read
 * lock); about 0.1-1 ms for 10,000 entries (docs/kb.md).
 */
int sb_kb_search(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang, size_t k,
                 struct sb_kb_hit **hits, size_t *n, struct sb_error *err);
void sb_kb_hits_free(struct sb_kb_hit *hits, size_t n);

enum sb_kb_decision { SB_KB_ABSTAIN = 0, SB_KB_ANSWER = 1 };

struct sb_kb_citation {
    char *doc_id;
    char *title;
    char *link; /* "" when the entry has none */
};

/*
 * A grounded answer. `text` is extractive (the FAQ answer, the article section, or the product's
 * attributes as a sentence), never invented; citations[0] is the entry it comes from, further
 * citations are the runners-up. `confidence` is the estimated probability that citations[0]
 * answers the question (calibrated on StackFAQ cross-validation, docs/kb.md). When the decision
 * is SB_KB_ABSTAIN, `text` is NULL but citations (possibly none) still list the closest entries
 * for the human who takes over.
 */
struct sb_kb_answer {
    int decision; /* enum sb_kb_decision */
    char *text;
    double confidence;
    struct sb_kb_citation *citations;
    size_t n_citations;
};

/*
 * Answers `text` for `tenant` from its KB: retrieves, builds an extractive answer from the best
 * entry with up to 3 citations, and abstains when the confidence is below the KB's threshold
 * (sb_kb_set_threshold; default in docs/kb.md). *out is always set on success; free it with
 * sb_kb_answer_free(). Thread-safe (read lock), callable from any worker thread.
 */
int sb_kb_answer(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang,
                 struct sb_kb_answer **out, struct sb_error *err);
void sb_kb_answer_free(struct sb_kb_answer *a);

/* Sets the abstention threshold (0..1) on the confidence of the shipped models (without a
 * call each uses its own fitted threshold); thread-safe. */
void sb_kb_set_threshold(struct sb_kb *kb, double threshold);
/* The threshold English questions are answered with (the set one, or the shipped model's for
 * the KB's ranking: fused with the sentence encoder when it is installed, else lexical). */
double sb_kb_threshold(const struct sb_kb *kb);

/* ---- confidence model and its calibration (src/kb/calibrate.c) ---- */

/*
 * The answer's confidence is a logistic model over SB_KB_CONF_NF features of the ranking (in
 * this order: top, gap, cover, ctitle, known, nterms, ratio, agree_t, agree_b, phr, unk, lfc,
 * lrc, lbg, tm, tm_gap, tm_top, dcos, dgap; docs/kb.md); the bot answers when it is >= the threshold.
 * Every tenant uses the shipped coefficients (fitted on StackFAQ train queries) with the KB's
 * threshold unless a model was fitted for it (sb_kb_calibrate) and set with
 * sb_kb_set_conf_model.
 */
#define SB_KB_CONF_NF 19

/* Name of feature i (0 <= i < SB_KB_CONF_NF), e.g. "top"; NULL past the end. */
const char *sb_kb_conf_feature_name(size_t i);

struct sb_kb_conf_model {
    double bias;
    double w[SB_KB_CONF_NF];
    double threshold; /* answer when the confidence is >= this (0..1) */
};

/* The shipped coefficients with the default threshold. */
void sb_kb_conf_model_default(struct sb_kb_conf_model *m);

/*
 * Sets `tenant`'s confidence model (its threshold included; NULL = back to the shipped model
 * and the KB's threshold). Persisted in kb.db (table kb_model) when the KB has a data directory,
 * so it survives restarts; applies to the next answer. SB_EINVAL for a non-finite value or a
 * threshold outside 0..1. Thread-safe.
 */
int sb_kb_set_conf_model(struct sb_kb *kb, int64_t tenant, const struct sb_kb_conf_model *m,
                         struct sb_error *err);
/* The model `tenant`'s answers use; returns 1 when it is the tenant's own, 0 for the shipped
 * one (then m->threshold is the KB's threshold). */
int sb_kb_get_conf_model(struct sb_kb *kb, int64_t tenant, struct sb_kb_conf_model *m);

/*
 * The confidence features of the bot's real decision path for `text` (what sb_kb_answer
 * computes), written to x; *answer (may be NULL) receives the answer as sb_kb_answer gives it
 * (free with sb_kb_answer_free). For collecting calibration samples. Thread-safe.
 */
int sb_kb_conf_features(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang,
                        double x[SB_KB_CONF_NF], struct sb_kb_answer **answer,
                        struct sb_error *err);

/* One labelled question for calibration. */
struct sb_kb_calib_sample {
    const char *query_id; /* borrowed; the cross-validation fold is sha256(query_id) mod folds,
                           * so the same question falls in the same fold in every sample set */
    int answerable;       /* 1 when a relevant entry is in the KB */
    int right;            /* 1 when the top citation is relevant (answering would be right) */
    double x[SB_KB_CONF_NF];
};

struct sb_kb_calib_opts {
    double l2;        /* L2 penalty per sample (bias not penalised); default 1e-3 */
    double precision; /* goal: precision of given answers >= this; default 0.95 */
    double abstain;   /* goal: share of unanswerable questions abstained >= this; default 0.90 */
    int folds;        /* cross-validation folds (2..20; 0 or 1 = no cross-validation); 5 */
    int guard;        /* 1: apply the unknown-topic guard of the answer path (docs/kb.md) when
                       * deciding; default 1 */
    const struct sb_kb_conf_model *prior; /* the L2 penalty pulls the coefficients towards
                                           * these (NULL: towards 0); default NULL */
    int oof_threshold; /* 1: choose the threshold on out-of-fold confidences of an inner
                        * cross-validation (folds) instead of in-sample ones; default 0 */
};

void sb_kb_calib_opts_default(struct sb_kb_calib_opts *o);

/* Decisions of a model on a sample set. */
struct sb_kb_calib_outcome {
    size_t answerable, unanswerable;
    size_t answered_right, answered_wrong, unanswerable_answered;
    double precision, answered, abstained; /* rates as in `eval answer` */
};

struct sb_kb_calib_report {
    struct sb_kb_calib_outcome cv;  /* out-of-fold decisions pooled (every fold's model and
                                     * threshold fitted on the other folds); zero without CV */
    struct sb_kb_calib_outcome fit; /* the returned model on all samples (in-sample) */
    int met;         /* 1 when a threshold met both goals on all samples */
    double brier;    /* Brier score of the out-of-fold confidences (of in-sample without CV) */
    int iterations;  /* Newton steps of the final fit */
};

/*
 * Fits the confidence model to `n` samples: L2-regularised logistic regression (Newton's
 * method; label = answerable && right), then the lowest threshold on a 0.005 grid meeting both
 * goals on the samples (0.995 when none does, report->met = 0). With opts->folds >= 2 the
 * whole procedure is also cross-validated over the questions (report->cv). SB_EINVAL when the
 * samples hold no positive or no negative label, or n == 0. `opts` NULL = defaults; `report`
 * may be NULL. Pure computation: no KB needed.
 */
int sb_kb_calibrate(const struct sb_kb_calib_sample *s, size_t n,
                    const struct sb_kb_calib_opts *opts, struct sb_kb_conf_model *out,
                    struct sb_kb_calib_report *report, struct sb_error *err);

/* ---- gap report: what the bot could not answer ---- */

#define SB_KB_GAP_QUESTION_MAX 1024 /* bytes of a recorded question (longer ones are cut) */

/*
 * Records a question the bot abstained on for `tenant` (persisted in kb.db table kb_gap; kept in
 * memory for a memory-only KB). `a` (may be NULL) is the abstention: its first citation and
 * confidence are kept as the closest entry at the time. `at_ms` 0 = now. Call it after an
 * SB_KB_ABSTAIN from the worker that answered; PII should be redacted from `question` first
 * (the console shows it to knowledge owners). Thread-safe.
 */
int sb_kb_gap_record(struct sb_kb *kb, int64_t tenant, const char *question, const char *lang,
                     const struct sb_kb_answer *a, int64_t at_ms, struct sb_error *err);

/* One group of similar abstained questions. All strings are owned by the group. */
struct sb_kb_gap {
    char *question;            /* a representative wording (the group's most central one) */
    char **examples;           /* up to 5 distinct wordings, most recent first */
    size_t n_examples;
    size_t count;              /* questions in the group */
    int64_t first_ms, last_ms; /* first and last time asked */
    double confidence_now;     /* the KB's confidence for the representative today */
    int answered_now;          /* 1 when the KB would now answer it (the gap was filled) */
    struct sb_kb_citation *closest; /* the closest entries today (up to 3) */
    size_t n_closest;
};

/*
 * Groups `tenant`'s abstained questions recorded at or after `since_ms` (0 = all; the 5,000
 * most recent are considered) by word overlap (stemmed, stop words removed; Chinese bigrams),
 * largest groups first, at most `limit` (1..500) groups. *out is NULL when there are none; free
 * with sb_kb_gaps_free(). Thread-safe; a few milliseconds per thousand questions.
 */
int sb_kb_gaps(struct sb_kb *kb, int64_t tenant, int64_t since_ms, size_t limit,
               struct sb_kb_gap **out, size_t *n, struct sb_error *err);
void sb_kb_gaps_free(struct sb_kb_gap *g, size_t n);

/* Deletes `tenant`'s recorded questions older than `before_ms` (retention); returns how many
 * were deleted, or a negative SB_E* code. */
long sb_kb_gaps_prune(struct sb_kb *kb, int64_t tenant, int64_t before_ms, struct sb_error *err);

/* ---- learned phrasings proposed by agents (src/kb/wordings.c) ---- */

/*
 * Agents know which entry answered a customer's question; a proposal records that as a
 * "customer wording -> entry" pair (kb.db table kb_wording; in memory for a memory-only KB).
 * A supervisor approves it (the wording becomes one more question phrasing of the entry through
 * sb_kb_put: searchable when the call returns) or dismisses it. Only FAQ entries and catalogue
 * entries (kinds SB_KB_FAQ and SB_KB_PRODUCT without a parent) take phrasings. The wording
 * should be redacted of PII by the caller (the KB module does not link the NLU).
 */
#define SB_KB_WORDING_MAX 1024 /* bytes of a proposed wording (after whitespace is folded) */
#define SB_KB_PHRASINGS_MAX 50 /* question phrasings an entry may hold, approval refuses more */

enum sb_kb_wording_status {
    SB_KB_WORDING_PENDING = 0,
    SB_KB_WORDING_APPROVED = 1,
    SB_KB_WORDING_DISMISSED = 2,
};

/* "pending", "approved", "dismissed" ("?" for another value); parse: -1 when unknown. */
const char *sb_kb_wording_status_name(int status);
int sb_kb_wording_status_parse(const char *name);

/* One proposal. Strings are owned: free with sb_kb_wording_cleanup() (or the list with
 * sb_kb_wordings_free()). */
struct sb_kb_wording {
    int64_t id;
    int64_t tenant;
    char *entry;        /* the entry id it was proposed for */
    char *wording;      /* the customer's question, whitespace folded to single spaces */
    int64_t message_id; /* the customer message it came from (0: none) */
    int64_t agent_id;   /* who proposed it (0: an API key) */
    int status;         /* enum sb_kb_wording_status */
    int64_t decided_by; /* who approved or dismissed it (0: nobody yet, or an API key) */
    int64_t created_ms, decided_ms;
};

void sb_kb_wording_cleanup(struct sb_kb_wording *w);
void sb_kb_wordings_free(struct sb_kb_wording *w, size_t n);

/*
 * Proposes `wording` as a phrasing of entry `entry` of `tenant`. Control characters become
 * spaces, runs of whitespace one space, ends trimmed. The same wording (ignoring ASCII case and
 * whitespace) for the same entry is stored once: a repeat returns the existing proposal, in
 * whatever status it is, with *created = 0 (1 for a new one; `created` may be NULL). `out` (may
 * be NULL) receives the proposal (free with sb_kb_wording_cleanup).
 * Errors (naming the field): SB_EINVAL empty 'entry' or 'wording', or an entry that takes no
 * phrasings (an article section); SB_ETOOBIG 'wording' over SB_KB_WORDING_MAX bytes or 'entry'
 * over SB_KB_ID_MAX; SB_ENOTFOUND no such entry; SB_EEXIST the entry already has this wording
 * as its title or a phrasing; SB_ESTORE. Thread-safe.
 */
int sb_kb_wording_propose(struct sb_kb *kb, int64_t tenant, const char *entry,
                          const char *wording, int64_t message_id, int64_t agent_id,
                          struct sb_kb_wording *out, int *created, struct sb_error *err);

/*
 * Lists `tenant`'s proposals in `status` (-1 = any), newest first, at most `limit` (1..500),
 * with id < `before_id` (0 = from the newest). *out is NULL when there are none; free with
 * sb_kb_wordings_free(). Thread-safe.
 */
int sb_kb_wording_list(struct sb_kb *kb, int64_t tenant, int status, int64_t before_id,
                       size_t limit, struct sb_kb_wording **out, size_t *n,
                       struct sb_error *err);

/* Copies proposal `id` of `tenant` into `out` (free with sb_kb_wording_cleanup).
 * SB_ENOTFOUND (also for another tenant's proposal). Thread-safe. */
int sb_kb_wording_get(struct sb_kb *kb, int64_t tenant, int64_t id, struct sb_kb_wording *out,
                      struct sb_error *err);

/*
 * Approves pending proposal `id` of `tenant` as `decided_by`: its wording is appended to the
 * entry's question phrasings with sb_kb_put (live when this returns; nothing is added when the
 * entry already has it), then the proposal is marked approved. `out` (may be NULL) receives
 * the decided proposal. Errors: SB_ENOTFOUND no such proposal, or its entry was deleted;
 * SB_ESTATE it was already decided, or the entry already holds SB_KB_PHRASINGS_MAX phrasings
 * (nothing changes); SB_EINVAL the entry no longer takes phrasings; SB_ESTORE. Approvals are
 * serialised, so two at once cannot lose a phrasing. Thread-safe.
 */
int sb_kb_wording_approve(struct sb_kb *kb, int64_t tenant, int64_t id, int64_t decided_by,
                          struct sb_kb_wording *out, struct sb_error *err);

/* Dismisses pending proposal `id` (the KB is not changed). SB_ENOTFOUND, SB_ESTATE when it
 * was already decided, SB_ESTORE. `out` as for approve. Thread-safe. */
int sb_kb_wording_dismiss(struct sb_kb *kb, int64_t tenant, int64_t id, int64_t decided_by,
                          struct sb_kb_wording *out, struct sb_error *err);

#endif
