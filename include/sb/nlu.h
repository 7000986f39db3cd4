/* SPDX-License-Identifier: MIT */
/*
 * Understanding of customer text (src/nlu/): Unicode normalisation and tokenisation for
 * English and Chinese, linear intent and sentiment models trained in C from `text<TAB>label`
 * TSV files, out-of-scope detection, entities (order numbers, e-mail, phone, amounts, dates),
 * PII detection with checksum validators and redaction, and language identification.
 *
 * Threads: a loaded model is read-only and may be shared by any number of threads; every
 * function below is safe to call concurrently unless it says otherwise. Text inputs are UTF-8
 * byte strings with an explicit length (invalid sequences are tolerated and treated as
 * U+FFFD); inputs longer than SB_NLU_TEXT_MAX bytes are truncated for classification and
 * rejected with SB_ETOOBIG by the entity functions.
 */
#ifndef SB_NLU_H
#define SB_NLU_H

#include "sb/error.h"

#include <stddef.h>
#include <stdint.h>

#define SB_NLU_TEXT_MAX (64 * 1024)  /* bytes of one text */
#define SB_NLU_LABEL_MAX 128         /* bytes of one label */
#define SB_NLU_OOS_LABEL "oos"       /* the label that means "fits no intent" */

/* ---- text core ---------------------------------------------------------------------- */

/*
 * NFKC + case folding (+ lumping of look-alike punctuation) of `len` bytes of `text`.
 * Returns a new NUL-terminated string (free with free()) or NULL when len > SB_NLU_TEXT_MAX.
 * Invalid UTF-8 bytes become U+FFFD.
 */
char *sb_nlu_normalize(const char *text, size_t len);

/*
 * Tokens of `text` after normalisation, for tests and tools: English words are stemmed
 * (Snowball), each Han character is one token, numbers become "<num>", '?' '!' and emoji are
 * tokens, other punctuation separates. Writes up to `max` tokens, NUL-separated, into a new
 * string (free with free()), and their number in *n. NULL when the text is too long.
 */
char *sb_nlu_tokens(const char *text, size_t len, size_t *n);

/* Language of `text`: "en", "zh" or "other" ("other" also for text without letters).
 * Returns a static string. A few microseconds for a sentence. */
const char *sb_nlu_langid(const char *text, size_t len);

/* ---- data sets ---------------------------------------------------------------------- */

/* Rows of a `text<TAB>label` file. Strings are owned by the data set. */
struct sb_nlu_dataset {
    size_t n;
    char **text;
    char **label;
    size_t *line; /* 1-based line number of each row in its file */
};

#define SB_NLU_TSV_MAX_BYTES ((size_t)512 << 20)
#define SB_NLU_TSV_MAX_ROWS 2000000

/*
 * Parses TSV bytes: a header line `text<TAB>label`, then one row per line split at its single
 * TAB; LF or CRLF; blank lines are skipped. Errors (SB_EPARSE, SB_ETOOBIG) name `name` and the
 * line: a missing header, a row without a TAB or with two, an empty text or label, invalid
 * UTF-8, a line longer than SB_NLU_TEXT_MAX, a label longer than SB_NLU_LABEL_MAX, more than
 * SB_NLU_TSV_MAX_ROWS rows, no rows at all. On success *out is a new data set (free with
 * sb_nlu_dataset_free()); on failure *out is untouched.
 */
int sb_nlu_tsv_parse(const char *data, size_t len, const char *name, struct sb_nlu_dataset **out,
                     struct sb_error *err);
/* Reads and parses a file (at most SB_NLU_TSV_MAX_BYTES). */
int sb_nlu_tsv_read(const char *path, struct sb_nlu_dataset **out, struct sb_error *err);
void sb_nlu_dataset_free(struct sb_nlu_dataset *ds);

/* ---- models --------------------------------------------------------------------------- */

enum sb_nlu_kind { SB_NLU_INTENT = 1, SB_NLU_SENTIMENT = 2 };

/* "intent" / "sentiment" and back (0 for an unknown name). */
const char *sb_nlu_kind_name(enum sb_nlu_kind kind);
enum sb_nlu_kind sb_nlu_kind_parse(const char *name);

struct sb_nlu_model; /* opaque, immutable after training or loading, reference-counted */

struct sb_nlu_train_opts {
    enum sb_nlu_kind kind;
    uint64_t seed;        /* shuffling and the held-out split; 0 means 1 */
    double c;             /* regularisation; 0 = choose on validation data from a small grid */
    int verbose;          /* progress lines on stderr */
    double oos_threshold; /* < 0: tune on validation data (default); otherwise use this */
    int no_refit;         /* 1: the final model is fitted on `train` only, not train + val */
    /*
     * Feature set and learners, NULL for the default "w2 c2-5 h3 stem ens=svm+mlp": `wN` token
     * n-grams up to N (1..3), `cA-B` character n-grams of lengths A..B inside words (`c0`
     * none), `hN` Han n-grams up to N, `xA-B` character n-grams across word boundaries,
     * `stem`/`nostem`, `mindf=N` (drop features seen in fewer than N training rows), `neg`
     * (negated unigrams after an English negation cue), `pN` (ordered pairs of non-Han tokens
     * 2..N apart); `ens=M+M..` the ensemble members (`svm` TF-IDF linear SVM, `nb` NB-SVM on
     * binary features, `mlp` one-hidden-layer network; their combination weights are chosen
     * on held-out data), `hid=N`, `ep=N`, `lr=X`, `drop=X` the MLP's settings.
     */
    const char *features;
};

/* Sets the defaults (kind intent, seed 1, C chosen, threshold tuned). */
void sb_nlu_train_opts_init(struct sb_nlu_train_opts *o);

/*
 * Trains a model on `train`. The regularisation, the probability calibration (a softmax
 * temperature) and the out-of-scope threshold are chosen on `val` when given (then the final
 * model is fitted on train + val unless opts->no_refit), otherwise by a seeded, stratified
 * 3-fold cross-validation on `train` (then fitted on all of it). The threshold is tuned only
 * when the held-out rows include out-of-scope examples; otherwise it is 0 (none).
 * Rows labelled SB_NLU_OOS_LABEL are examples of out-of-scope input (intent models).
 * Fails with SB_EINVAL when `train` has fewer than two labels (message names `name`).
 * Deterministic for a given seed. On success *out is a new model (sb_nlu_model_free()).
 */
int sb_nlu_train(const struct sb_nlu_dataset *train, const struct sb_nlu_dataset *val,
                 const struct sb_nlu_train_opts *opts, const char *name,
                 struct sb_nlu_model **out, struct sb_error *err);

/*
 * Writes the model to `path` atomically (a temporary file in the same directory, fsync,
 * rename): a reader never sees a half-written model. Errors name the path.
 */
int sb_nlu_model_save(const struct sb_nlu_model *m, const char *path, struct sb_error *err);

/*
 * Loads a model file. `kind` 0 accepts either kind; otherwise a model of another kind fails
 * with SB_EINVAL and a message naming the file and both kinds. Bad magic, an unsupported
 * version, a truncated or corrupted file (checksum) fail with SB_EPARSE. Free with
 * sb_nlu_model_free().
 */
int sb_nlu_model_load(const char *path, enum sb_nlu_kind kind, struct sb_nlu_model **out,
                      struct sb_error *err);

/* Adds a reference (for a reader that keeps the model while the daemon swaps in a reloaded
 * one); returns `m`. sb_nlu_model_free drops one reference; NULL is a no-op. */
struct sb_nlu_model *sb_nlu_model_ref(struct sb_nlu_model *m);
void sb_nlu_model_free(struct sb_nlu_model *m);

enum sb_nlu_kind sb_nlu_model_kind(const struct sb_nlu_model *m);
size_t sb_nlu_model_nlabels(const struct sb_nlu_model *m);
/* Borrowed; valid while the model is. */
const char *sb_nlu_model_label(const struct sb_nlu_model *m, size_t i);
/* The out-of-scope threshold stored in the model (0 = none). */
double sb_nlu_model_oos_threshold(const struct sb_nlu_model *m);

#define SB_NLU_TOPK 3

struct sb_nlu_result {
    const char *label;  /* borrowed from the model; SB_NLU_OOS_LABEL when out of scope */
    double confidence;  /* calibrated probability of the best in-model label, 0..1 */
    int is_oos;         /* 1 when the text fits no intent (best label oos, or below threshold) */
    int index;          /* index of the best label in the model */
    int ntop;
    struct {
        const char *label;
        double p;
    } top[SB_NLU_TOPK]; /* the best labels, best first */
};

/*
 * Classifies `text`. `oos_threshold` < 0 uses the model's stored threshold; 0 disables the
 * threshold; a value in (0,1] overrides it (per-tenant configuration; 1 rejects everything). Sentiment models never
 * report out of scope. Never fails for valid arguments (empty text gets the prior); returns
 * SB_EINVAL for NULL arguments. Thread-safe.
 */
int sb_nlu_classify(const struct sb_nlu_model *m, const char *text, size_t len,
                    double oos_threshold, struct sb_nlu_result *res);

/* ---- entities and PII ------------------------------------------------------------------ */

enum sb_nlu_entity_type {
    SB_NLU_ENT_ORDER_ID = 0,
    SB_NLU_ENT_EMAIL,
    SB_NLU_ENT_PHONE,
    SB_NLU_ENT_AMOUNT,
    SB_NLU_ENT_DATE,
    SB_NLU_ENT_BANK_CARD,
    SB_NLU_ENT_CN_ID,
    SB_NLU_ENT_IBAN,
    SB_NLU_ENT_COUNT
};

#define SB_NLU_PII_MASK                                                                  \
    ((1u << SB_NLU_ENT_EMAIL) | (1u << SB_NLU_ENT_PHONE) | (1u << SB_NLU_ENT_BANK_CARD) | \
     (1u << SB_NLU_ENT_CN_ID) | (1u << SB_NLU_ENT_IBAN))

/* "order_id", "email", "phone", "amount", "date", "bank_card", "cn_id", "iban". */
const char *sb_nlu_entity_name(enum sb_nlu_entity_type t);

#define SB_NLU_VALUE_MAX 64

struct sb_nlu_span {
    enum sb_nlu_entity_type type;
    size_t start, end;              /* byte offsets into the input, end exclusive */
    char value[SB_NLU_VALUE_MAX];   /* normalised value: "+8613812345678", "2024-05-01",
                                       "12.50 USD", digits of a card, upper-case IBAN... */
    int pii;                        /* 1 for the SB_NLU_PII_MASK types */
};

struct sb_nlu_entity_opts {
    /*
     * Tenant patterns for order numbers, each a small pattern language (no regex engine, no
     * backtracking blow-up): `#` a digit, `A` an ASCII letter (either case), `*` a letter or
     * digit, `{n}` / `{n,m}` repeat the previous item, anything else literal (case-insensitive).
     * Example: "SO-#{8}" or "A{2}#{6,10}". NULL/0: built-in rule (an alphanumeric code with at
     * least four digits right after "order", "order number", "订单", "单号", ...).
     */
    const char *const *order_patterns;
    size_t n_order_patterns;
    int64_t now_ms;     /* reference time for relative dates ("yesterday"); 0 = now */
    int tz_offset_min;  /* the customer's UTC offset in minutes, for relative dates */
};

/* Compiles-checks an order pattern (for config validation): 0 or SB_EINVAL with a message. */
int sb_nlu_order_pattern_check(const char *pattern, struct sb_error *err);

/*
 * Finds entities in `text`, sorted by start, non-overlapping. *spans is a new array (free with
 * free(); NULL when *n is 0). `opts` may be NULL. SB_ETOOBIG when len > SB_NLU_TEXT_MAX.
 */
int sb_nlu_entities(const char *text, size_t len, const struct sb_nlu_entity_opts *opts,
                    struct sb_nlu_span **spans, size_t *n);

/*
 * Redaction: finds the entities whose type bit is in `mask` (SB_NLU_PII_MASK for PII) and
 * returns the text with each replaced by a tag such as "[PHONE]" in *masked (free with free()),
 * and the spans found (offsets into the original; free with free(); may pass NULL to skip).
 */
int sb_nlu_redact(const char *text, size_t len, const struct sb_nlu_entity_opts *opts,
                  unsigned mask, char **masked, struct sb_nlu_span **spans, size_t *n);

/* Validators (digits only unless said otherwise), exposed for tests and other modules. */
int sb_nlu_luhn_valid(const char *digits, size_t n);
/* 18 characters, last may be 'X'/'x': GB 11643 check digit and a plausible birth date. */
int sb_nlu_cn_id_valid(const char *s, size_t n);
/* Letters and digits, no spaces: ISO 13616 mod-97 check and length 15..34. */
int sb_nlu_iban_valid(const char *s, size_t n);

/* ---- pipeline annotation ---------------------------------------------------------------- */

struct sb_nlu_annotate_opts {
    const struct sb_nlu_model *intent;    /* may be NULL: no "intent" member */
    const struct sb_nlu_model *sentiment; /* may be NULL: no "sentiment" member */
    double oos_threshold;                 /* as in sb_nlu_classify (< 0: model's) */
    const struct sb_nlu_entity_opts *entities; /* may be NULL */
};

/*
 * The annotation object stored on a message, as compact JSON:
 * {"language":"en","intent":{"label":"refund","confidence":0.91,"oos":false},
 *  "sentiment":{"label":"negative","confidence":0.8},
 *  "entities":[{"type":"order_id","start":20,"end":30,"value":"A123456"}],
 *  "pii":[{"type":"phone","start":40,"end":51}]}
 * Entity values of PII types are not repeated in "entities" (they would leak into storage
 * and logs); "pii" lists where they are. Returns a new string (free with free()) or NULL when
 * the text is too long. Thread-safe.
 */
char *sb_nlu_annotate_json(const char *text, size_t len, const struct sb_nlu_annotate_opts *o);

#endif
