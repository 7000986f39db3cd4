/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the files of src/nlu: the feature extractor (hashed word n-grams and
 * character n-grams), the in-memory model layout, and the linear solver. Not a public contract.
 */
#ifndef SB_NLU_INTERNAL_H
#define SB_NLU_INTERNAL_H

#include "sb/nlu.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Feature configuration, stored in the model file so that inference matches training. */
struct sb__nlu_feat_cfg {
    uint8_t word_ngrams; /* 1..3: token unigrams, bigrams, trigrams */
    uint8_t char_min;    /* char n-grams inside a word (with < > boundary marks) */
    uint8_t char_max;    /* 0 = none */
    uint8_t han_max;     /* extra Han-character n-grams of length 3..han_max in a Han run */
    uint8_t stem;        /* 1 = Snowball-stem English words */
    uint8_t extra;       /* SB__NLU_F_* bits */
    uint8_t pair_window; /* ordered non-Han token pairs 2..pair_window apart (0 = none) */
    uint8_t cross;       /* char n-grams across word boundaries: lengths (cross >> 4) ..
                            (cross & 15) over the text with blank runs as one space; 0 none */
    float word_weight;   /* each block is L2-normalised, then scaled by its weight */
    float char_weight;
    /* sentiment lexicon features (model v3): borrowed from the model, which owns it; NULL or
       lexopts 0 = none */
    const struct sb__nlu_lex *lex;
    uint32_t lexopts; /* SB__NLU_LEX_* bits */
};

void sb__nlu_feat_cfg_default(struct sb__nlu_feat_cfg *c);

/* A growable array of 64-bit feature hashes. Bit 63 marks the character block. */
struct sb__nlu_hvec {
    uint64_t *h;
    size_t n, cap;
    int borrowed; /* h is the caller's buffer (not freed; copied to the heap to grow) */
};

void sb__nlu_hvec_cleanup(struct sb__nlu_hvec *v);
void sb__nlu_hvec_push(struct sb__nlu_hvec *v, uint64_t h);

/*
 * Sentiment lexicon (lexicon.c): normalised words (English words, Chinese words of Han
 * characters) with a valence (VADER scale, -4..4). Immutable once built.
 */
#define SB__NLU_LEX_WORD_MAX 64   /* bytes of one entry */
#define SB__NLU_LEX_MAX 200000    /* entries a model file may hold */
#define SB__NLU_LEX_TOK 1u        /* a feature per lexicon hit: its valence bucket */
#define SB__NLU_LEX_DOC 2u        /* document score bins, counts of positive/negative hits */
#define SB__NLU_LEX_RAW 4u        /* no negation/intensifier/contrast rules */
#define SB__NLU_LEX_REP_SHIFT 8   /* bits 8..11: each lexicon feature repeated N times (0 = 1) */
#define SB__NLU_LEX_LAST 16u       /* the valence of the last clause with a hit */
#define SB__NLU_LEX_ALL                                                                             \
    (SB__NLU_LEX_TOK | SB__NLU_LEX_DOC | SB__NLU_LEX_RAW | SB__NLU_LEX_LAST | (15u << 8))

struct sb__nlu_lexslot {
    uint64_t h;
    uint32_t e; /* entry index + 1 */
};

struct sb__nlu_lex {
    uint32_t n;      /* entries */
    char *words;     /* the entries, NUL-terminated, back to back */
    uint32_t *off;   /* n + 1 offsets into words */
    float *val;      /* n valences */
    /* open addressing on the word's hash (e 0 = empty): [0] words starting with a byte below
       0xE0 (English), [1] the others (Han), so that Chinese text probes a table of its size */
    struct sb__nlu_lexslot *slot[2];
    size_t mask[2];
    uint64_t *pfx;   /* hashes of the proper prefixes of Han entries (0 = empty), so that the
                        longest match stops as soon as no entry can continue */
    size_t pmask;
    uint32_t maxhan; /* longest Han entry, in characters */
    uint8_t first[(0xA000 - 0x3400) / 8]; /* bit c - 0x3400: a Han entry starts with c */
};

/* A token as the lexicon scan sees it: normalised, unstemmed text. */
enum { SB__NLU_LT_WORD = 1, SB__NLU_LT_HAN = 2, SB__NLU_LT_BREAK = 3, SB__NLU_LT_OTHER = 4 };
struct sb__nlu_ltok {
    const char *s;
    uint32_t len;
    uint8_t type;
};

/* Where the lexicon packages are looked for: $SB_NLU_LEXICON_DIR, else the build's
 * third_party/lexicons/node_modules. Static or environment string. */
const char *sb__nlu_lex_dir(void);
/*
 * Loads VADER from `dir` (NULL: sb__nlu_lex_dir()) and, with want_zh, the Chinese words
 * projected through CC-CEDICT; with want_en 0 the English entries only serve the projection.
 * On success *out is a new lexicon (sb__nlu_lex_free). SB_ENOTFOUND when VADER is missing
 * (nothing loaded); `notice` (may be NULL) then says which file is missing and that the
 * features are off; a missing CC-CEDICT alone loads English and leaves a notice too.
 */
int sb__nlu_lex_load(const char *dir, int want_en, int want_zh, struct sb__nlu_lex **out,
                     char *notice, size_t notice_cap);
/* The same, with VADER widened over WordNet (wordnet-base files in $SB_WORDNET_DIR or
 * /usr/share/wordnet; without them, as sb__nlu_lex_load): `wn` SB__NLU_LEX_WN_ZH projects
 * the Chinese words through the widened English lexicon (with SB__NLU_LEX_WN_FB only those
 * that get no entry through VADER alone), SB__NLU_LEX_WN_EN makes it the
 * English entries too. */
#define SB__NLU_LEX_WN_ZH 1u
#define SB__NLU_LEX_WN_EN 2u
#define SB__NLU_LEX_WN_FB 4u /* only words VADER gives none, holding no VADER-projected word */
int sb__nlu_lex_load_wn(const char *dir, int want_en, int want_zh, unsigned wn,
                        struct sb__nlu_lex **out, char *notice, size_t notice_cap);
/* A lexicon from given words and valences (model loading, tests); `normalize` 1 normalises
 * the words first (sb_nlu_normalize), 0 takes them as they are. A repeated word keeps its
 * first valence. Free with sb__nlu_lex_free. */
struct sb__nlu_lex *sb__nlu_lex_from_entries(const char *const *words, const float *val, size_t n,
                                             int normalize);
void sb__nlu_lex_free(struct sb__nlu_lex *lx);
/* Entry index of a normalised word or -1. */
int64_t sb__nlu_lex_find(const struct sb__nlu_lex *lx, const char *w, size_t n);
/* Pushes the lexicon features (opts: SB__NLU_LEX_*) of tokens `t` to `out` (may be NULL) and
 * returns the text's valence after the rules (the sum over hits). */
double sb__nlu_lex_features(const struct sb__nlu_lex *lx, unsigned opts,
                            const struct sb__nlu_ltok *t, size_t n, struct sb__nlu_hvec *out);
/* Adds 1 to counts[e] for each hit of entry e in tokens `t` (counts holds lx->n entries). */
void sb__nlu_lex_count(const struct sb__nlu_lex *lx, const struct sb__nlu_ltok *t, size_t n,
                       uint32_t *counts);
/* A new lexicon with the English entries of `lx` and the Han entries counted >= min times. */
struct sb__nlu_lex *sb__nlu_lex_keep(const struct sb__nlu_lex *lx, const uint32_t *counts,
                                     uint32_t min);
/* The hits of each entry in `text` added to counts (text.c: tokenises as the features do). */
void sb__nlu_lex_count_text(const struct sb__nlu_lex *lx, const char *text, size_t len,
                            uint32_t *counts);
/* The valence of a text after the rules (tests and tools). */
double sb__nlu_lex_score(const struct sb__nlu_lex *lx, const char *text, size_t len);

/* Appends the hashed features of `text` (with repeats) to `out`. Text beyond SB_NLU_TEXT_MAX
 * is ignored. Thread-safe (the stemmer is per thread). */
void sb__nlu_features(const char *text, size_t len, const struct sb__nlu_feat_cfg *cfg,
                      struct sb__nlu_hvec *out);

/* Only the cross-boundary character n-grams of `text` (training counts them apart). */
void sb__nlu_cross_features(const char *text, size_t len, const struct sb__nlu_feat_cfg *cfg,
                            struct sb__nlu_hvec *out);

#define SB__NLU_CHAR_BIT (1ull << 63)
#define SB__NLU_F_EDGE 1u /* bigrams with the start and end of the text */
#define SB__NLU_F_SKIP 2u /* token pairs with one token between them */
#define SB__NLU_F_NB 4u   /* unused since model v2 (was: naive-Bayes scaled TF-IDF problems) */
#define SB__NLU_F_NEG 8u  /* negated unigrams after an English negation cue */
#define SB__NLU_F_CHAT 16u  /* chat text: URLs as one token, elongations, capitals, emoticons */
#define SB__NLU_F_ENDS 32u  /* first and last sentence as features of their own */
#define SB__NLU_F_XMIX 64u  /* cross n-grams only where they mix scripts or punctuation */
#define SB__NLU_F_XHAN 128u /* cross n-grams only where they hold a Han character */

/* The model as it sits in memory. */
struct sb__nlu_slot {
    uint64_t key; /* 0 = empty slot */
    uint32_t val; /* feature index */
};

struct sb__nlu_table {
    struct sb__nlu_slot *slots;
    size_t mask;
};

/*
 * Members of the ensemble. Every member scores the same features of a text, seen through one
 * of two views: TF-IDF (1 + log tf) * idf, or binary (1 per present feature); in both each
 * block (words, characters) is L2-normalised and scaled by its weight.
 *   SVM: one-vs-rest squared-hinge linear SVMs on the TF-IDF view.
 *   NB:  one-vs-rest squared-hinge linear SVMs on the binary view scaled per class by
 *        naive-Bayes log-count ratios (NB-SVM); the ratios are folded into the weights.
 *   MLP: one hidden ReLU layer over the TF-IDF view (a sparse embedding sum), softmax output.
 */
enum { SB__NLU_M_SVM = 1, SB__NLU_M_NB = 2, SB__NLU_M_MLP = 3 };
#define SB__NLU_MAX_MEMBERS 4

struct sb__nlu_member {
    uint8_t type;
    float weight;   /* combined score = sum of weight * member score */
    uint32_t width; /* columns of a feature row: K for linear members, hidden units for MLP */
    int8_t *wq;     /* nfeat rows of `width` int8, row scale in wscale; both moved into the
                       model's fused records by sb__nlu_model_index (then NULL) */
    float *wscale;  /* nfeat */
    uint32_t off;   /* byte offset of this member's row inside a fused record */
    float *bias;    /* width */
    float *w2;      /* MLP: K x width output weights */
    float *b2;      /* MLP: K */
};

struct sb_nlu_model {
    atomic_int refs;
    enum sb_nlu_kind kind;
    struct sb__nlu_feat_cfg cfg;
    uint32_t nlabels;
    char **labels;
    int oos_index;       /* label index of SB_NLU_OOS_LABEL or -1 */
    float temperature;   /* probabilities = softmax(temperature * combined scores) */
    float oos_threshold; /* 0 = none */
    uint32_t nfeat;
    uint64_t *hashes; /* nfeat, sorted */
    float *idf;       /* nfeat */
    uint32_t nmembers;
    struct sb__nlu_member member[SB__NLU_MAX_MEMBERS];
    struct sb__nlu_table table;
    struct sb__nlu_lex *lex; /* owned; cfg.lex points to it (NULL: no lexicon features) */
    /*
     * Everything scoring needs about feature f in one place (one or two cache lines): record
     * f at rec + f * stride is f32 idf, f32 scale[nmembers], then each member's int8 row.
     */
    unsigned char *rec;
    size_t stride;
};

/* Feature f's idf, member j's row scale and row in the fused records. */
static inline float sb__nlu_rec_idf(const struct sb_nlu_model *m, size_t f)
{
    float v;
    memcpy(&v, m->rec + f * m->stride, sizeof(v));
    return v;
}
static inline float sb__nlu_rec_scale(const struct sb_nlu_model *m, size_t f, size_t j)
{
    float v;
    memcpy(&v, m->rec + f * m->stride + 4 + 4 * j, sizeof(v));
    return v;
}
static inline const int8_t *sb__nlu_rec_row(const struct sb_nlu_model *m, size_t f, size_t j)
{
    return (const int8_t *)(m->rec + f * m->stride + m->member[j].off);
}

void sb__nlu_member_cleanup(struct sb__nlu_member *mb);

/* Builds the hash → feature index table of a model from its hashes, and the fused records
 * from idf and the members' rows (whose separate arrays are freed). */
void sb__nlu_model_index(struct sb_nlu_model *m);
/* Feature index of a hash or -1. */
int64_t sb__nlu_model_find(const struct sb_nlu_model *m, uint64_t h);

/*
 * Sparse vector of a text for model `m`-style features: repeats are counted (a small local
 * hash table, in first-seen order), each distinct hash looked up by `lookup`, weighted (1 + log tf)
 * * idf into `val` and, when `bin` is not NULL, 1 into `bin`; each block L2-normalised and scaled.
 * The hashes in `scratch` are kept. idx/val/bin must hold `cap` entries; returns the number
 * written.
 */
typedef int64_t (*sb__nlu_lookup_fn)(const void *ctx, uint64_t h);
size_t sb__nlu_vectorize(struct sb__nlu_hvec *scratch, const struct sb__nlu_feat_cfg *cfg,
                         const float *idf, sb__nlu_lookup_fn lookup, const void *ctx, uint32_t *idx,
                         float *val, float *bin, size_t cap);

/* Softmax of `n` scores times `t`, in place. */
void sb__nlu_softmax(double *s, size_t n, double t);

#endif
