/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the files of src/media: one-time library set-up, image pre-processing,
 * MFCC features and the spoken-digit model. Not part of the public contract.
 */
#ifndef SB_MEDIA_INTERNAL_H
#define SB_MEDIA_INTERNAL_H

#include "sb/media.h"

#include <stddef.h>
#include <stdint.h>

/* Idempotent, thread-safe: silences leptonica, creates thread keys. */
void sb__media_init(void);

/* Applies SB_OCR_PRE_* `steps` to `in`; `out` is new (sb_image_cleanup); *scale is the factor
 * by which coordinates in `out` exceed those in `in`. */
int sb__media_preprocess(const struct sb_image *in, unsigned steps, struct sb_image *out,
                         double *scale);
/* Median height in pixels of the dark connected components of a grey image that could be
 * characters (global Otsu threshold), 0 when there are none. */
int sb__media_text_height(const struct sb_image *img);

/* The measured defaults (docs/media.md). */
#define SB__OCR_DEFAULT_PSM 6
/* PPOCR when its model is installed, else MERGE (tess_recognize) */
#define SB__OCR_DEFAULT_PRE (SB_OCR_PRE_UPSCALE | SB_OCR_PRE_PPOCR | SB_OCR_PRE_MERGE)
#define SB__OCR_TEXT_HEIGHT 16    /* upscaling aims at characters this tall (pixels) */
#define SB__OCR_WORD_MIN_CONF 40  /* words tesseract is less sure of (0..100) are dropped */
#define SB__OCR_REREAD_CONF 0.90  /* SB_OCR_PRE_REREAD: lines less sure than this are read again */
#define SB__OCR_REREAD_SCALE 2
#define SB__OCR_LINE_MAX_WORDS 256 /* words kept per line (a line of more is cut there) */

/* SB_OCR_PRE_MERGE (ocr_merge.c): the second reading's language and the merge's parameters,
 * chosen by shop-grouped 5-fold cross-validation (docs/media.md, fifth round). */
#define SB__OCR_SECOND_LANG "Latin"
#define SB__OCR_MERGE_ALONE 0.80f        /* a word only the second reading has: min confidence */
#define SB__OCR_MERGE_MARGIN_ALPHA 0.00f /* the second reading wins a group by more than this */
#define SB__OCR_MERGE_MARGIN_NUM 0.05f   /* ... and by more than this on numeric groups */
#define SB__OCR_MERGE_MASK_CONF 0.90f    /* main-reading lines this sure are not read again */
#define SB__OCR_TIGHT_COMMA 0.35         /* ocr_commas.c: widest blank run, in text heights */
#define SB__OCR_LEXICON_MIN_DF 2         /* opts->lexicon: a correction's minimum document count */

/* SB_OCR_PRE_PPOCR (ocr_ppocr.c): chosen on the training receipts (docs/media.md, sixth round). */
#define SB__PPOCR_SURE 0.90f    /* tesseract words this sure are kept as they are */
#define SB__PPOCR_REPLACE 0.70f /* the network's reading replaces a doubtful word when its least
                                   sure character is at least this probable */
#define SB__PPOCR_RESCUE 0.60f  /* ... and keeps a word tesseract would drop at this */
#define SB__PPOCR_GAP 2.0       /* a run of words to read ends at a gap of this many heights */
#define SB__PPOCR_PAD_X 0.5     /* paper left around a run, in text heights */
#define SB__PPOCR_PAD_Y 0.3
#define SB__PPOCR_REACH 0.6     /* a character is a word's within this many heights of its box */

/* The text band of words [a, b) of a line (ocr.c): height (at least 1) and, when yc is not
 * NULL, vertical centre — medians weighted by word width, so that neither the specks tesseract
 * reports as tiny words nor a word whose box took in a mark of the next line stretch it. */
void sb__ocr_text_band(const struct sb_ocr_line *l, size_t a, size_t b, int *h, double *yc);
/* Joins word j + 1 of the line onto word j (texts concatenated, boxes united, the lower
 * confidence); the line's text is not rebuilt. */
void sb__ocr_merge_next_word(struct sb_ocr_line *l, size_t j);
/* ocr_commas.c: a comma that the print sets tight against the next word ("BAHRU,JOHOR") but
 * tesseract read as a word end is joined to it; see the file. Rebuilds the texts it changes. */
void sb__ocr_join_tight_commas(const struct sb_image *img, struct sb_ocr_page *page);

/* ocr_wordlist.c: whether `w` (outer marks ignored) is a word of the English word list, of at
 * least SB__OCR_KNOWN_MIN letters. The list is read once per process (thread-safe);
 * sb__ocr_wordlist_load() reads it ahead (before jobs fork). */
#define SB__OCR_KNOWN_MIN 4
int sb__ocr_known_word(const char *w);
void sb__ocr_wordlist_load(void);

/* Whether the recognition model and its character list are installed; *why (may be NULL)
 * says what is missing. Loaded once per process, on first call; thread-safe. */
int sb__ocr_ppocr_available(const char **why);
/* The reading kept for one word (ocr_ppocr.c): tesseract's `tess` (its confidence `conf`), the
 * network's `net` ("" where it read nothing; `net_min` its least sure character), or NULL for
 * none. Returns one of the two pointers. */
const char *sb__ocr_pick_reading(const char *tess, float conf, const char *net, float net_min);
/* Reads the doubtful words of `page` (tesseract's reading of `img`, every word kept, in the
 * pixel coordinates of `img`) again with the network and merges: see ocr_ppocr.c. Drops the
 * words tesseract is least sure of unless the network confirms them; rebuilds the page text.
 * SB_ETIMEDOUT past the deadline, or the runtime's error. */
int sb__ocr_ppocr_reread(const struct sb_image *img, struct sb_ocr_page *page, int64_t deadline,
                         struct sb_error *err);

struct sb__ocr_merge_params {
    float alone_min_conf, margin_alpha, margin_num;
};

/* Merges the words of `second` into `page` word by word (both in the same pixel coordinates;
 * lines of `page` without words are left alone), then rebuilds the page text. */
void sb__ocr_merge_readings(struct sb_ocr_page *page, const struct sb_ocr_page *second,
                            const struct sb__ocr_merge_params *p);

/* Deadline helpers: 0 = none. */
int64_t sb__media_deadline(uint32_t time_limit_ms);
int sb__media_past(int64_t deadline_ns);

/* ---- spoken digits (mfcc.c, asr_digits.c) ---- */

#define SB__MFCC_MELS 26
#define SB__MFCC_CEPS 13
#define SB__MFCC_DIM (2 * SB__MFCC_CEPS) /* cepstra + deltas */
#define SB__MFCC_TRIM_DB 35

/* Features of one utterance: n_frames rows of SB__MFCC_DIM floats (owned). */
struct sb__mfcc {
    float *f;
    size_t n_frames;
    int dim;
};

/* Features of `in` (any rate; resampled to 8 kHz). SB_EINVAL for audio under ~40 ms. */
int sb__media_mfcc(const struct sb_audio *in, struct sb__mfcc *out);
void sb__mfcc_cleanup(struct sb__mfcc *m);
/* Fills the delta half of every frame from the cepstra. */
void sb__mfcc_deltas(struct sb__mfcc *m);
/* Length-normalised dynamic-time-warping distance with per-dimension weights. */
float sb__media_dtw(const struct sb__mfcc *a, const struct sb__mfcc *b, const float *weight);

/* Chosen by cross-validation (docs/media.md). */
#define SB__DIGITS_K 1
#define SB__DIGITS_DELTA_WEIGHT 1.0

/* A template set: features and labels (0-9) of training utterances. */
struct sb__digits_model {
    size_t n;
    struct sb__mfcc *t;
    uint8_t *label;
    float weight[SB__MFCC_DIM];
    int k; /* neighbours that vote */
};

void sb__digits_model_free(struct sb__digits_model *m);
/* Adds one labelled utterance to `m` (takes ownership of f->f). */
void sb__digits_model_add(struct sb__digits_model *m, struct sb__mfcc *f, int label);
/* Classifies; returns the digit and writes a 0..1 confidence. -1 for an empty model. */
int sb__digits_classify(const struct sb__digits_model *m, const struct sb__mfcc *f, float *conf);
/* Serialises (quantised to 8 bits per value) / parses a model; parse checks every size. */
struct sb_buf;
int sb__digits_model_save(const struct sb__digits_model *m, struct sb_buf *out);
int sb__digits_model_load(const void *data, size_t n, struct sb__digits_model *m,
                          struct sb_error *err);

#endif
