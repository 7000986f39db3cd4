/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the files of src/kb: the retrieval analyser, the per-tenant in-memory
 * BM25F index, ranking parameters, the answer builder and the evaluation helpers. Nothing here is
 * a contract for other modules (see include/sb/kb.h for that).
 */
#ifndef SB_KB_INTERNAL_H
#define SB_KB_INTERNAL_H

#include "sb/embed.h"
#include "sb/kb.h"

#include <stddef.h>
#include <stdint.h>

/* ---- analysis (analyze.c) ---- */

/* Terms of a text, NUL-separated in `buf`; term i starts at buf + off[i]. */
struct sb__kb_tokens {
    char *buf;
    size_t len, cap;
    uint32_t *off;
    size_t n, ncap;
};

void sb__kb_tokens_cleanup(struct sb__kb_tokens *t);
/*
 * Appends the retrieval terms of `text` (`len` bytes, invalid UTF-8 tolerated) to `t`:
 * NFKC + case folding + accent stripping; Latin-script words lose stop words and are stemmed
 * with the Snowball stemmer of `lang` (English when NULL/unknown); runs of CJK characters become
 * overlapping character bigrams (a lone character stays a unigram). Thread-safe (one stemmer
 * per thread and language).
 */
void sb__kb_analyze(const char *text, size_t len, const char *lang, struct sb__kb_tokens *t);
/* Same terms with the stop words kept (stemmed like the others): for word sequences such as
 * "back up" or "cross out" that the stop list would cut. */
void sb__kb_analyze_all(const char *text, size_t len, const char *lang, struct sb__kb_tokens *t);
/* 1 if `w` (case-folded) is an English stop word. */
int sb__kb_is_stopword(const char *w, size_t len);
/* 1 for the English question words the analyser keeps (what, when, where, which, who, why):
 * they tell FAQ phrasings apart but are not the topic, so coverage measures ignore them. */
int sb__kb_is_question_word(const char *term);

/* ---- WordNet synonyms (wordnet.c) ---- */

#ifndef SB__KB_WORDNET_DIR
#define SB__KB_WORDNET_DIR "/usr/share/wordnet" /* Debian wordnet-base */
#endif
/* Loads the database once per process (SB_WORDNET_DIR or SB__KB_WORDNET_DIR); 1 when
 * synonyms are available. Thread-safe; about 0.3 s the first time. */
int sb__kb_wordnet_load(void);
int sb__kb_wordnet_ready(void);
/* Synonyms of a stemmed English term (stemmed, borrowed for the process lifetime). */
size_t sb__kb_wordnet_synonyms(const char *stem, const char **out, size_t max);
/* Kinds of WordNet relations kept besides synonyms (wordnet.c). */
enum {
    SB__KB_WN_DERIV = 0,   /* derivationally related forms of the lemma, attributes (far ->
                            * distance) */
    SB__KB_WN_SIMILAR = 1, /* similar-to and also-see (adjectives, some verbs) */
    SB__KB_WN_NREL
};
/* Stems related to a stemmed English term by relation `kind` (borrowed for the process
 * lifetime); 0 when none or WordNet is not loaded. */
size_t sb__kb_wordnet_related(const char *stem, int kind, const char **out, size_t max);
/* Other instances of the class of a stemmed proper noun (Germany -> Norway, Sweden, ...: the
 * instances of "European country"); borrowed for the process lifetime. */
size_t sb__kb_wordnet_siblings(const char *stem, const char **out, size_t max);

/* ---- ranking parameters ---- */

enum { SB__KB_F_TITLE = 0, SB__KB_F_BODY = 1, SB__KB_F_META = 2, SB__KB_NF = 3 };

struct sb__kb_params {
    double k1;
    double b[SB__KB_NF];
    double w[SB__KB_NF];
    double group;    /* weight of the best score of the entry's group (FAQ entries sharing a
                      * question) added to its own score */
    int prf_docs;    /* pseudo relevance feedback: top groups used (0 = off) */
    int prf_terms;   /* expansion terms taken from them */
    double prf_weight;
    double fuzzy;    /* query weight of the closest spelling of an unknown word (0 = off) */
    double gsum;     /* 0: a group scores its best member; >0: the mean of its members' scores
                      * (1 = plain mean; between 0 and 1 leans towards the sum) */
    double join;     /* query weight of two adjacent words joined ("git hub") (0 = off) */
    double wn;       /* query weight of WordNet synonyms of English query terms (0 = off) */
    double wnd;      /* ... of their derivationally related forms and attributes (0 = off) */
    double wns;      /* ... of similar-to / also-see words (0 = off) */
    double sjoin;    /* query weight of two words joined across a stop word ("back up" ->
                      * backup) (0 = off) */
    double phrase;   /* weight of the best phrasing's word share (SB__KB_RF_LRC) added to the
                      * scaled first-stage score of the top candidates (0 = off) */
    int rerank;      /* 1: reorder the first stage with the learned reranker (rerank.c) */
    double sub;      /* query weight of index terms containing a query term or contained in
                      * it, 4+ letters ("striked"/"strikethrough", "reupload") (0 = off) */
    double dense;    /* weight of the embeddings' cosine added to lexical score / the query's
                      * best lexical score (0 = lexical ranking only; dense.c) */
    double dense_adapted; /* the same when the KB has an encoder map (adapt.c) */
    int dense_depth; /* lexical candidates the fusion rescores (0 = every entry) */
};

/* The defaults chosen by cross-validation (docs/kb.md). */
void sb__kb_params_default(struct sb__kb_params *p);
/* Parses "k1=1.2,bt=0.5,bb=0.75,bm=0.5,wt=3,wb=1,wm=1,group=1,prfd=0,prft=0,prfw=0.3" over
 * `p`; SB_EINVAL naming the bad key. */
int sb__kb_params_parse(struct sb__kb_params *p, const char *spec, struct sb_error *err);

/* ---- in-memory index of one tenant (index.c); not locked: callers hold the KB lock ---- */

struct sb__kb_index;

struct sb__kb_scored {
    uint32_t slot;
    double score; /* what the ranking orders by */
    double lex;   /* the lexical (BM25F + group lift) score (= score without dense fusion) */
    double cos;   /* cosine of the question's and the entry's embeddings (0 without) */
};

/* qsort order of scored entries: score descending, then slot ascending (deterministic). */
int sb__kb_scored_cmp(const void *a, const void *b);

/* Query-level evidence for the answer's confidence. */
struct sb__kb_qinfo {
    double qmax;        /* upper bound of a document's score for this query */
    size_t n_terms;     /* distinct query terms */
    size_t n_known;     /* of which occur in the index */
    size_t n_unfixed;   /* unknown words (not CJK) that no close spelling stands in for */
};

struct sb__kb_index *sb__kb_index_new(void);
void sb__kb_index_free(struct sb__kb_index *ix);
/* Copies `d` (and its embedding `vec`, SB_EMBED_DIM floats, may be NULL) into the index,
 * replacing an entry with the same id. */
void sb__kb_index_put(struct sb__kb_index *ix, const struct sb_kb_doc *d, const float *vec);
/* Removes `id` and the entries whose parent is `id`; returns how many were removed. */
size_t sb__kb_index_delete(struct sb__kb_index *ix, const char *id);
/* Borrowed; valid until the next change of the index. */
const struct sb_kb_doc *sb__kb_index_find(const struct sb__kb_index *ix, const char *id);
const struct sb_kb_doc *sb__kb_index_doc(const struct sb__kb_index *ix, uint32_t slot);
size_t sb__kb_index_count(const struct sb__kb_index *ix);
/* The embedding of the entry in `slot` (NULL when it has none or the slot is free). */
const float *sb__kb_index_vec(const struct sb__kb_index *ix, uint32_t slot);
/* Sets the embedding of the live entry in `slot`. */
void sb__kb_index_set_vec(struct sb__kb_index *ix, uint32_t slot, const float *vec);
/* Live entries with an embedding. */
size_t sb__kb_index_nvec(const struct sb__kb_index *ix);
/* The KB's adapted encoder space (adapt.c): sets the map (SB_EMBED_DIM² floats, copied; NULL =
 * none) and maps every entry's embedding through it; sb__kb_index_vec then returns the mapped
 * vectors. sb__kb_index_map_query writes the question's vector in the same space into out. */
void sb__kb_index_set_adapter(struct sb__kb_index *ix, const float *map);
const float *sb__kb_index_adapter(const struct sb__kb_index *ix);
void sb__kb_index_map_query(const struct sb__kb_index *ix, const float *q, float *out);
/* Slots in use or free (slot numbers are below this). */
size_t sb__kb_index_nslots(const struct sb__kb_index *ix);
/* Group of a slot (entries sharing a FAQ question share a group). */
uint32_t sb__kb_index_group(const struct sb__kb_index *ix, uint32_t slot);
/*
 * Query-term coverage of the entry in `slot`: the idf-weighted fraction of the distinct query
 * terms that occur anywhere in it (*any) and in its title/questions field (*title).
 */
void sb__kb_index_coverage(const struct sb__kb_index *ix, uint32_t slot, const char *query,
                           const char *lang, double *any, double *title);
/* Ids in order, for listing: fills up to `max` borrowed docs with id > after. */
size_t sb__kb_index_list(const struct sb__kb_index *ix, const char *after,
                         const struct sb_kb_doc **out, size_t max);
/*
 * Ranks the entries for `query`; writes the best `k` to `out` (sorted by score, descending),
 * returns how many. `qi` (may be NULL) receives query-level evidence. Thread-safe for
 * concurrent readers (scratch memory is per call).
 */
size_t sb__kb_index_search(const struct sb__kb_index *ix, const char *query, const char *lang,
                           const struct sb__kb_params *p, size_t k, struct sb__kb_scored *out,
                           struct sb__kb_qinfo *qi);

/* ---- reranking (index.c features, rerank.c model) ---- */

/* Features of a candidate entry for the learned reranker (all scaled to about 0..1). */
enum {
    SB__KB_RF_BASE,  /* first-stage score (BM25F + group lift) / its upper bound */
    SB__KB_RF_TITLE, /* BM25 of the query's own terms in the title field / bound */
    SB__KB_RF_BODY,  /* same in body + meta */
    SB__KB_RF_EXTRA, /* score of expansion terms (synonyms, spellings, joins) / bound */
    SB__KB_RF_COV,   /* idf-weighted share of the query's words found in the entry */
    SB__KB_RF_COVT,  /* ... in its title field */
    SB__KB_RF_COVG,  /* ... in any candidate of its group */
    SB__KB_RF_GBODY, /* best body score of its group among the candidates */
    SB__KB_RF_LFC,   /* best phrasing: share of the query's words it has */
    SB__KB_RF_LRC,   /* best phrasing: idf-weighted share of its words the query has */
    SB__KB_RF_LBG,   /* best phrasing: share of the query's adjacent word pairs it has */
    SB__KB_RF_LLEN,  /* best phrasing: log(1 + terms) */
    SB__KB_RF_RANK,  /* log(1 + first-stage rank) */
    SB__KB_RF_N
};

/* Features of `n` candidates (from sb__kb_index_search) for `query`. */
void sb__kb_index_features(const struct sb__kb_index *ix, const char *query, const char *lang,
                           const struct sb__kb_params *p, const struct sb__kb_scored *cand,
                           size_t n, double (*feat)[SB__KB_RF_N]);

/*
 * Translation-model score of each of the `n` (at most 8) entries in `slots` for `query`: the
 * mean over query words of log p(word | entry's questions) - log p(word | KB), with the word
 * associations of the KB's own question/answer pairs (index.c). out[i] for slots[i]; entries
 * past the 8th get 0.
 */
void sb__kb_index_translation(const struct sb__kb_index *ix, const char *query, const char *lang,
                              const uint32_t *slots, size_t n, double *out);

#define SB__KB_RERANK_DEPTH 30 /* first-stage candidates the reranker reorders */

/*
 * The ranking the bot uses: the first stage (sb__kb_index_search) for the best
 * SB__KB_RERANK_DEPTH entries, reordered by the learned reranker when p->rerank is set; then,
 * when `qvec` (the question's embedding, may be NULL) is given and p->dense > 0, the best
 * p->dense_depth lexical entries rescored with their cosine (sb__kb_dense_fuse); cut to `k`.
 * Same contract as sb__kb_index_search; out[].lex and out[].cos are set.
 */
size_t sb__kb_rank(const struct sb__kb_index *ix, const char *query, const char *lang,
                   const float *qvec, const struct sb__kb_params *p, size_t k,
                   struct sb__kb_scored *out, struct sb__kb_qinfo *qi);

/* ---- dense scores (dense.c) ---- */

/* 1 when the encoder (English only) should embed `text` of language `lang` (NULL/"" = detect:
 * not when CJK letters are more than a quarter of the Latin ones). */
int sb__kb_dense_applies(const char *text, const char *lang);
/* The text of an entry the encoder embeds (title, heading of a section, body), or NULL when
 * the entry is not English. Free with free(). */
char *sb__kb_dense_entry_text(const struct sb_kb_doc *d);
/* Embeddings of n entries into vecs (n × SB_EMBED_DIM); ok[i] = 1 where one was computed. Uses
 * one thread per core for larger batches. */
void sb__kb_dense_entries(const struct sb_embed_model *enc, const struct sb_kb_doc *docs,
                          size_t n, float *vecs, unsigned char *ok);
/* Embeddings of n texts (NULL: none; the caller has checked sb__kb_dense_applies) into vecs,
 * ok[i] = 1 where computed; threads as sb__kb_dense_entries. */
void sb__kb_dense_texts(const struct sb_embed_model *enc, char *const *texts, size_t n,
                        float *vecs, unsigned char *ok);
/* Rescores the `n` lexical candidates (cand[].lex set, any order) — or every entry when
 * p->dense_depth is 0 — as lex / best lex + w · cos(q, entry), w = p->dense or, with an encoder
 * map, p->dense_adapted; best `k` into out. */
size_t sb__kb_dense_fuse(const struct sb__kb_index *ix, const float *q,
                         const struct sb__kb_params *p, const struct sb__kb_scored *cand, size_t n,
                         size_t k, struct sb__kb_scored *out);

/* ---- answers (answer.c) ---- */

/* Features of the top result that predict whether it answers the question. */
struct sb__kb_features {
    double top;     /* top score / qmax */
    double gap;     /* (top - best score of another group) / qmax */
    double cover;   /* idf-weighted fraction of query terms found in the top entry */
    double known;   /* fraction of query terms present in the index */
    double ctitle;  /* idf-weighted fraction of query terms in the top entry's title field */
    double nterms;  /* distinct query terms (log(1+n)) */
    double ratio;   /* best score of another group / top score */
    double agree_t; /* 1 when ranking by titles/questions alone puts the same group first */
    double agree_b; /* 1 when ranking by bodies alone puts the same group first */
    double phr;     /* log(1 + extra question phrasings of the top entry) */
    double unk;     /* 1 when a word of the question is unknown to the KB (and no close
                     * spelling of it is): the rarest word of all, so likely the topic */
    double lfc;     /* the top entry's best phrasing: share of the question's words it has */
    double lrc;     /* ... idf-weighted share of its own words the question has */
    double lbg;     /* ... share of the question's adjacent word pairs it has */
    double tm;      /* translation-model score of the top entry's questions (index.c) */
    double tm_gap;  /* tm minus the best tm of the other cited groups' entries */
    double tm_top;  /* 1 when no other cited entry has a higher tm */
    double dcos;    /* cosine of the question's and the top entry's embeddings (0 without) */
    double dgap;    /* dcos minus the best cosine of another group's candidate */
};

/* Positions of features in the model's vector (sb_kb_conf_feature_name order). */
enum {
    SB__KB_CF_COVER = 2,
    SB__KB_CF_UNK = 10,
    SB__KB_CF_TM = 14,
    SB__KB_CF_TM_GAP = 15,
    SB__KB_CF_TM_TOP = 16
};

/* A question with a word the KB has never seen (and no close spelling of it) whose known words
 * carry less than this share of its idf mass is about something the KB lacks ("can I pay with
 * bitcoin"): the confidence is capped at 0.5 whatever the model says (docs/kb.md). */
#define SB__KB_UNKNOWN_TOPIC_COVER 0.5

/* The features as the model's vector. */
void sb__kb_features_vec(const struct sb__kb_features *f, double x[SB_KB_CONF_NF]);
/* The model's confidence for x; guard: apply the unknown-topic cap (calibrate.c). */
double sb__kb_conf_apply(const struct sb_kb_conf_model *m, const double x[SB_KB_CONF_NF],
                         int guard);
/* A catalogue entry as a sentence: "Oslo sofa (SKU SOFA-OSLO): width 210 cm, colour blue.
 * Price: 899 €. <description>" (free with free()). */
char *sb__kb_render_product(const struct sb_kb_doc *d);
/* The shipped model for lexical ranking (dense = 0) or ranking fused with the encoder's
 * cosine (dense = 1), with its fitted threshold. */
void sb__kb_conf_model_shipped(struct sb_kb_conf_model *m, int dense);
/* Builds the answer for `query` (its embedding `qvec` may be NULL) with model `m` (its
 * threshold included); borrowed index, caller holds the read lock. */
int sb__kb_build_answer(const struct sb__kb_index *ix, const char *query, const char *lang,
                        const float *qvec, const struct sb__kb_params *p,
                        const struct sb_kb_conf_model *m, struct sb_kb_answer **out,
                        struct sb__kb_features *feat_out);

/* Default abstention threshold on the confidence. */
#define SB__KB_DEFAULT_THRESHOLD 0.81 /* docs/kb.md: precision >= 0.95 on train KBs */

/* ---- the encoder adapted to a KB (adapt.c) ---- */

/* Fewer groups than this (distinct FAQ questions, articles) do not make a map. */
#define SB__KB_ADAPT_MIN_GROUPS 32
/* Fits the map m (SB_EMBED_DIM² floats, row-major: a vector v maps to v·m, then unit length)
 * from n pairs of embeddings (anchor: an entry's title; positive: its body), group[i] the
 * group of pair i. Deterministic. SB_EINVAL (m untouched) with too few groups. */
int sb__kb_adapt_fit(const float *anchor, const float *positive, const uint32_t *group, size_t n,
                     float *m);
/* out (n × SB_EMBED_DIM) = the rows of in mapped through m, unit length. */
void sb__kb_adapt_map(const float *m, const float *in, size_t n, float *out);
/* The texts to fit a map on: of up to `max` entries of ix with an embedding (evenly spaced when
 * there are more), the anchor (question, title + heading, name) and positive (body) texts and
 * the group; returns how many (caller frees the strings), *ngroups the distinct groups. */
size_t sb__kb_adapt_texts(const struct sb__kb_index *ix, size_t max, char **anchor,
                          char **positive, uint32_t *group, size_t *ngroups);
/* Embeds those texts (threads as sb__kb_dense_texts) and fits the map into m. */
int sb__kb_adapt_build(const struct sb_embed_model *enc, char *const *anchor,
                       char *const *positive, const uint32_t *group, size_t n, float *m);

/* ---- the KB object (kb.c) ---- */

/* sb_kb_answer with the features of the decision in *f (may be NULL). */
int sb__kb_answer(struct sb_kb *kb, int64_t tenant, const char *text, const char *lang,
                  struct sb_kb_answer **out, struct sb__kb_features *f, struct sb_error *err);

/* The index of `tenant` (NULL when it has no entries); caller holds the read lock. */
const struct sb__kb_index *sb__kb_tenant_index(struct sb_kb *kb, int64_t tenant);
void sb__kb_rdlock(struct sb_kb *kb);
void sb__kb_unlock(struct sb_kb *kb);
/* The KB's sentence encoder (NULL when not installed or disabled with SB_KB_DENSE=0). */
const struct sb_embed_model *sb__kb_encoder(struct sb_kb *kb);
/* The embedding of question `text` into v when the KB ranks with dense scores; 1 when computed
 * (0: no encoder, fusion off, not an English question, or invalid UTF-8). No lock needed. */
int sb__kb_query_vec(struct sb_kb *kb, const char *text, const char *lang,
                     float v[SB_EMBED_DIM]);
/* Ranking parameters in use (set once before concurrent use, e.g. by the eval command). */
struct sb__kb_params *sb__kb_params_of(struct sb_kb *kb);

/* The SQLite handle (sqlite3 *) holding abstained questions: kb.db, or an in-memory database
 * for a memory-only KB. Full-mutex handle: callable from any thread. */
void *sb__kb_gap_db(struct sb_kb *kb);

/* ---- evaluation sets (cmd_eval.c) ---- */

struct sb__kb_query {
    char *id;
    char *text;
    char **rel; /* relevant doc ids */
    size_t nrel;
};

struct sb__kb_qset {
    struct sb__kb_query *q;
    size_t n;
};

/* Appends the {"id","text"} lines of `path` to s; SB_EPARSE naming the line. */
int sb__kb_load_queries(const char *path, struct sb__kb_qset *s, struct sb_error *err);
/* Adds the relevant docs of a qrels TSV (query_id, doc_id, relevance > 0) to s's queries. */
int sb__kb_load_qrels(const char *path, struct sb__kb_qset *s, struct sb_error *err);
void sb__kb_qset_cleanup(struct sb__kb_qset *s);

/* ---- `switchboard kb calibrate` (cmd_calibrate.c); argv[0] = "calibrate" ---- */
int sb__kb_cmd_calibrate(int argc, char **argv);
/* Tenant id from a number or a slug (DATA/switchboard.db; "demo" = 1 without a store); -1 with
 * a message on stderr when unknown (cmd_kb.c). */
int sb__kb_resolve_tenant(const char *data, const char *t, int64_t *id);

/* Reads a whole file (at most SB_KB_FILE_MAX bytes) into a NUL-terminated buffer. */
int sb__kb_read_file(const char *path, char **data, size_t *len, struct sb_error *err);
/* The next line of the buffer at *cursor (cut in place, a trailing '\r' removed; "" for a
 * blank line, so that callers count every line), advancing *cursor; NULL at the end. */
char *sb__kb_next_line(char **cursor);

#endif
