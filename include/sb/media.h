/* SPDX-License-Identifier: MIT */
/*
 * Media understanding: images → text lines and receipt/invoice key fields (OCR), voice notes →
 * transcripts (ASR). Two engine contracts, `struct sb_ocr_ops` and `struct sb_asr_ops`, let a
 * better engine replace the first ones (tesseract, pocketsphinx, and a small spoken-digit
 * recogniser of our own) without touching callers. The pipeline calls the two entry points
 * sb_media_ocr_image() and sb_media_asr_wav() from worker threads: they take the raw bytes a
 * customer sent, check size and type, decode with limits, run the engine under a time limit and
 * return an owned result. A corrupt or hostile input gives a negative SB_E* code and a message,
 * never a crash.
 *
 * Thread-safety: every function here may be called from any number of threads at once. Engine
 * state (a tesseract handle per language, a pocketsphinx decoder) is kept per thread and reused
 * by later calls on the same thread; it is freed when the thread exits (or by
 * sb_media_thread_cleanup()).
 */
#ifndef SB_MEDIA_H
#define SB_MEDIA_H

#include "sb/error.h"

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * Type sniffing
 */

enum sb_media_kind {
    SB_MEDIA_UNKNOWN = 0,
    SB_MEDIA_IMAGE, /* image/jpeg, image/png, image/gif, image/bmp, image/tiff, image/webp */
    SB_MEDIA_AUDIO, /* audio/x-wav (RIFF WAVE) */
};

/*
 * Sniffs the type of `n` bytes from their content (libmagic), never from a client's claim.
 * Writes the MIME type ("image/png", "application/octet-stream"…) to `mime` (NUL-terminated,
 * truncated to `mime_size`; may be NULL) and returns its kind. Only the kinds above are
 * accepted by the recognisers. Thread-safe (one magic handle per thread).
 */
enum sb_media_kind sb_media_sniff(const void *data, size_t n, char *mime, size_t mime_size);

/* ---------------------------------------------------------------------------------------------
 * Images and OCR
 */

/* An 8-bit greyscale image, rows top to bottom. */
struct sb_image {
    int width, height;
    size_t stride; /* bytes per row, >= width */
    uint8_t *px;   /* owned by whoever made the image; sb_image_cleanup frees it */
};

void sb_image_cleanup(struct sb_image *img);

/* Axis-aligned box in pixels of the original (decoded) image. */
struct sb_box {
    int x, y, w, h;
};

/* One recognised word (engines that give words fill them; the line's text is the words joined
 * by single spaces, possibly after correction). */
struct sb_ocr_word {
    char *text;        /* UTF-8, no white space; owned by the page */
    struct sb_box box; /* in original-image pixels */
    float conf;        /* 0..1 */
};

struct sb_ocr_line {
    char *text;        /* UTF-8, no newline; owned by the page */
    struct sb_box box; /* in original-image pixels */
    float conf;        /* 0..1 */
    struct sb_ocr_word *words; /* NULL / 0 when the engine gives no words; owned by the page */
    size_t n_words;
};

struct sb_ocr_page {
    struct sb_ocr_line *lines; /* reading order */
    size_t n_lines;
    char *text;       /* lines joined by '\n' (owned) */
    float conf;       /* mean line confidence weighted by text length, 0..1 */
    int width, height; /* of the original image */
};

/* Frees everything a page owns and zeroes it. NULL is a no-op. */
void sb_ocr_page_cleanup(struct sb_ocr_page *page);

/* Appends a copy of `text` as a line (used by engines and tests). */
void sb_ocr_page_add_line(struct sb_ocr_page *page, const char *text, struct sb_box box,
                          float conf);
/* Appends a copy of `text` as a word of the page's last line (engines, tests); the line's text
 * is not changed (sb_ocr_line_join_words rebuilds it). No-op without a line. */
void sb_ocr_page_add_word(struct sb_ocr_page *page, const char *text, struct sb_box box,
                          float conf);
/* Rebuilds line->text from its words (single spaces); no-op for a line without words. */
void sb_ocr_line_join_words(struct sb_ocr_line *line);
/* Rebuilds page->text and page->conf from the lines; first joins amounts that a line's words
 * split after the decimal point ("170." "00" -> "170.00"). */
void sb_ocr_page_finish(struct sb_ocr_page *page);

/* Pre-processing steps (bit set). Each was kept only where it helped on the training receipts:
 * see docs/media.md. */
enum {
    SB_OCR_PRE_UPSCALE = 1u << 0,   /* enlarge small print to ~16 px character height */
    SB_OCR_PRE_DESKEW = 1u << 1,    /* straighten a skewed page */
    SB_OCR_PRE_BINARIZE = 1u << 2,  /* adaptive (Sauvola) thresholding */
    SB_OCR_PRE_NORMALIZE = 1u << 3, /* flatten uneven background (photos) */
    SB_OCR_PRE_REREAD = 1u << 4,    /* read doubtful lines again, cut out and enlarged */
    SB_OCR_PRE_MERGE = 1u << 5,     /* lang eng: a second reading with tesseract's Latin model
                                       (tesseract-ocr-script-latn), merged word by word; skipped
                                       when that model is not installed */
    SB_OCR_PRE_PPOCR = 1u << 6,     /* words tesseract doubts read again by the PaddleOCR
                                       PP-OCRv4 recognition network (src/nn) and replaced where it
                                       is sure; when its model is not installed
                                       (third_party/ocr-models), MERGE if set, else nothing */
};
#define SB_OCR_PRE_DEFAULT (~0u) /* sentinel: use the measured default set */

struct sb_ocr_lexicon; /* below */

struct sb_ocr_opts {
    const char *lang;        /* tesseract language(s): "eng", "chi_sim", "eng+chi_sim"; NULL eng */
    int psm;                 /* page segmentation mode; 0 = the measured default */
    unsigned preprocess;     /* SB_OCR_PRE_* bits, or SB_OCR_PRE_DEFAULT */
    uint32_t time_limit_ms;  /* 0 = none; past it the engine stops and SB_ETIMEDOUT is returned */
    size_t max_bytes;        /* encoded input limit; 0 = SB_MEDIA_IMAGE_MAX_BYTES */
    uint64_t max_pixels;     /* decoded size limit; 0 = SB_MEDIA_IMAGE_MAX_PIXELS */
    int key_fields;          /* non-zero: also extract receipt key fields */
    /* optional, borrowed: words not in it are corrected towards it (sb_ocr_lexicon_correct with
     * min_df 2) before the key fields; NULL = none */
    const struct sb_ocr_lexicon *lexicon;
};

#define SB_MEDIA_IMAGE_MAX_BYTES (20u * 1024 * 1024)
#define SB_MEDIA_IMAGE_MAX_PIXELS (40ull * 1000 * 1000)

/*
 * Decodes an image (JPEG, PNG, GIF, BMP, TIFF, WebP through leptonica) into 8-bit grey. The
 * header is read first and SB_ETOOBIG returned before decoding when the pixel count exceeds
 * max_pixels (0 = default) or n exceeds max_bytes (0 = default); SB_EPARSE for bytes that are
 * not a decodable image. The image is owned by the caller (sb_image_cleanup).
 */
int sb_media_image_decode(const void *data, size_t n, size_t max_bytes, uint64_t max_pixels,
                          struct sb_image *out, struct sb_error *err);

#define SB_OCR_API_VERSION 1

/*
 * An OCR engine. One const instance per engine, filled with designated initializers and checked
 * by sb_ocr_engine_check(). The engine receives a pre-processed grey image (borrowed for the
 * call) and fills `out` (zero-initialised by the caller) with lines in reading order and boxes
 * in the coordinates of the image it received; the caller maps them back. It must honour
 * opts->time_limit_ms (SB_ETIMEDOUT) and be callable from several threads at once.
 */
struct sb_ocr_ops {
    int api_version; /* SB_OCR_API_VERSION */
    const char *name;
    /* mandatory */
    int (*recognize)(const struct sb_image *img, const struct sb_ocr_opts *opts,
                     struct sb_ocr_page *out, struct sb_error *err);
    /* optional: frees per-thread state of the calling thread */
    void (*thread_cleanup)(void);
};

extern const struct sb_ocr_ops sb_ocr_tesseract;

/* SB_EINVAL with a message when `ops` is not usable (version, missing name or method). */
int sb_ocr_engine_check(const struct sb_ocr_ops *ops, struct sb_error *err);

/*
 * Receipt lexicon (docs/media.md, fifth round): document frequencies of upper-cased white-space
 * tokens of labelled transcripts. Free with sb_ocr_lexicon_free() (NULL is a no-op). Not
 * thread-safe while being filled; read-only use (correct, df) from many threads is fine.
 */
struct sb_ocr_lexicon;
struct sb_ocr_lexicon *sb_ocr_lexicon_new(void);
void sb_ocr_lexicon_free(struct sb_ocr_lexicon *lex);
/* Counts the tokens of one transcript (one document; tokens over 64 bytes are skipped). */
void sb_ocr_lexicon_add_text(struct sb_ocr_lexicon *lex, const char *text);
/* On how many documents `word` (any case) occurs. */
unsigned sb_ocr_lexicon_df(const struct sb_ocr_lexicon *lex, const char *word);
/* Replaces each word of `page` (its words, or the tokens of lines without words) that is not in
 * the lexicon, has >= 2 ASCII letters and >= 3 bytes, by the upper-case lexicon word one
 * OCR-confusion substitution away with the highest document frequency >= min_df (ties: no
 * change); a number-like word (a digit, <= 1 letter) whose shape (digits as 9) is on fewer than
 * min_df documents gets the one ',' <-> '.' swap that makes its shape the most frequent one
 * >= min_df. Rebuilds the texts. Returns the number of words changed. */
size_t sb_ocr_lexicon_correct(const struct sb_ocr_lexicon *lex, struct sb_ocr_page *page,
                              unsigned min_df);

/* Receipt/invoice key fields; each string owned by the struct, "" when not found. */
struct sb_receipt_fields {
    char *company, *date, *address, *total;
    float conf[4]; /* 0..1 per field, in the order above */
};

void sb_receipt_fields_cleanup(struct sb_receipt_fields *f);

/*
 * Extracts company, date, address and total from OCR lines using their positions, sizes and
 * confidences (see docs/media.md for the method). Pure function of `page`; thread-safe.
 */
void sb_media_receipt_fields(const struct sb_ocr_page *page, struct sb_receipt_fields *out);

/* What sb_media_ocr_image returns. Free with sb_media_ocr_result_cleanup(). */
struct sb_ocr_result {
    struct sb_ocr_page page;
    struct sb_receipt_fields fields; /* filled when opts->key_fields */
    char mime[64];
    double seconds; /* wall time of decoding + recognition */
};

void sb_media_ocr_result_cleanup(struct sb_ocr_result *r);

/*
 * The pipeline's image entry point: sniffs, decodes (limits in opts), pre-processes, runs
 * `engine` (NULL = tesseract) and optionally extracts key fields. `opts` may be NULL (defaults).
 * Returns 0 and fills `out` (zero-initialised by the caller), or a negative code with `err`:
 * SB_EUNSUPPORTED (not an image), SB_ETOOBIG, SB_EPARSE (corrupt), SB_ETIMEDOUT, SB_ECONFIG
 * (language data missing). On failure `out` is left empty.
 */
int sb_media_ocr_image(const void *data, size_t n, const struct sb_ocr_opts *opts,
                       const struct sb_ocr_ops *engine, struct sb_ocr_result *out,
                       struct sb_error *err);

/* ---------------------------------------------------------------------------------------------
 * Audio and ASR
 */

/* Mono 16-bit PCM. */
struct sb_audio {
    int16_t *samples; /* owned; sb_audio_cleanup frees */
    size_t n;
    int rate; /* Hz */
};

void sb_audio_cleanup(struct sb_audio *a);

#define SB_MEDIA_WAV_MAX_BYTES (16u * 1024 * 1024)
#define SB_MEDIA_WAV_MAX_SECONDS 300

/*
 * Parses a RIFF/WAVE file: PCM 8/16/24/32-bit integer or 32-bit float (also in
 * WAVE_FORMAT_EXTENSIBLE), 1–8 channels (mixed down to mono), 4–96 kHz. SB_ETOOBIG when n >
 * max_bytes or the audio is longer than max_seconds (0 = the defaults above); SB_EPARSE with a
 * message naming the chunk/field for malformed files; SB_EUNSUPPORTED for compressed formats.
 * The samples are owned by the caller (sb_audio_cleanup).
 */
int sb_media_wav_parse(const void *data, size_t n, size_t max_bytes, uint32_t max_seconds,
                       struct sb_audio *out, struct sb_error *err);

/*
 * Resamples `in` to `rate` Hz (windowed-sinc low-pass, so downsampling does not alias) into a
 * new `out` (caller owns). Same rate gives a copy. SB_EINVAL for rates outside 1k–192k.
 */
int sb_media_resample(const struct sb_audio *in, int rate, struct sb_audio *out);

enum sb_asr_mode {
    SB_ASR_FREE = 0, /* open vocabulary (English) */
    SB_ASR_DIGITS,   /* a sequence of spoken digits "zero" … "nine" ("oh" = zero) */
    SB_ASR_YESNO,    /* "yes" or "no" */
    SB_ASR_OPTIONS,  /* one of opts->options (short phrases of dictionary words) */
};

struct sb_asr_opts {
    enum sb_asr_mode mode;
    const char *const *options; /* SB_ASR_OPTIONS: lower-case phrases */
    size_t n_options;
    uint32_t time_limit_ms; /* 0 = none; checked between chunks of audio (SB_ETIMEDOUT) */
    size_t max_bytes;       /* 0 = SB_MEDIA_WAV_MAX_BYTES */
    uint32_t max_seconds;   /* 0 = SB_MEDIA_WAV_MAX_SECONDS */
};

struct sb_asr_result {
    char *text;           /* lower-case transcript, words separated by one space (owned) */
    float conf;           /* 0..1 */
    double audio_seconds; /* length of the input */
    double seconds;       /* wall time of recognition */
    const char *engine;   /* name of the engine that produced the text (static) */
};

void sb_media_asr_result_cleanup(struct sb_asr_result *r);

#define SB_ASR_API_VERSION 1

/*
 * An ASR engine. `supports` says whether it handles a mode (mandatory); `recognize` receives
 * mono 16-bit audio at any rate (the engine resamples as it needs; borrowed) and fills `out`
 * (zero-initialised by the caller). It must honour opts->time_limit_ms and be callable from
 * several threads at once.
 */
struct sb_asr_ops {
    int api_version; /* SB_ASR_API_VERSION */
    const char *name;
    int (*supports)(enum sb_asr_mode mode);
    int (*recognize)(const struct sb_audio *audio, const struct sb_asr_opts *opts,
                     struct sb_asr_result *out, struct sb_error *err);
    void (*thread_cleanup)(void); /* optional */
};

/* pocketsphinx 5prealpha with Debian's en-us model: all modes. */
extern const struct sb_asr_ops sb_asr_pocketsphinx;
/* Our MFCC + DTW nearest-neighbour recogniser of isolated spoken digits (SB_ASR_DIGITS; one
 * digit per utterance), trained on FSDD training recordings; see docs/media.md. */
extern const struct sb_asr_ops sb_asr_digits;

int sb_asr_engine_check(const struct sb_asr_ops *ops, struct sb_error *err);

/*
 * The pipeline's voice-note entry point: sniffs, parses the WAV (limits in opts), picks an
 * engine when `engine` is NULL (the digit recogniser for SB_ASR_DIGITS when its model is
 * available, pocketsphinx otherwise) and recognises. `opts` may be NULL (free recognition).
 * Returns 0 and fills `out` (zero-initialised), or SB_EUNSUPPORTED / SB_ETOOBIG / SB_EPARSE /
 * SB_ETIMEDOUT / SB_ECONFIG (model missing) with `err`; on failure `out` is left empty.
 */
int sb_media_asr_wav(const void *data, size_t n, const struct sb_asr_opts *opts,
                     const struct sb_asr_ops *engine, struct sb_asr_result *out,
                     struct sb_error *err);

/*
 * Debian's tesseract is built with OpenMP and asks for 4 threads per call (an explicit
 * num_threads the API cannot lower); on a shared worker pool those busy-waiting teams cost
 * about 5x the CPU for nothing (here 0.33 s vs 1.8-2.1 s per receipt). Only OMP_THREAD_LIMIT,
 * read when libgomp loads, caps them. Likewise, where the machine's libblas is OpenBLAS
 * (sphinxbase links libblas), it starts a thread pool when it loads, before main() can block
 * signals: such a thread takes a SIGHUP
 * meant for `serve`'s signal thread and the default action ends the process; only
 * OPENBLAS_NUM_THREADS=1, read at load, stops it. This re-executes the current binary as
 * `switchboard COMMAND argv...` with both set to 1 (those not already set) when either is
 * unset, and returns 0 without doing anything when both are. Call it first thing in a command
 * that runs OCR (eval ocr/asr and serve do). Returns non-zero only when the exec failed.
 */
int sb_media_single_thread_reexec(const char *command, int argc, char **argv);

/* Frees the calling thread's engine state now (it is freed at thread exit anyway). */
void sb_media_thread_cleanup(void);

#endif
