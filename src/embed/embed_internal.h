/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of src/embed: the weight store (weights.c, a TF.js weightsManifest and
 * its shards), the SentencePiece unigram tokenizer (tokenizer.c) and the encoder (encoder.c).
 */
#ifndef SB_EMBED_INTERNAL_H
#define SB_EMBED_INTERNAL_H

#include "sb/embed.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- weights.c ---- */
#define EMBED_MAX_WEIGHTS 256
#define EMBED_MAX_SHAPE 4

struct embed_weight {
    char *name;
    int ndim;
    int64_t shape[EMBED_MAX_SHAPE];
    int is_int;       /* int32 instead of float32 */
    size_t count;     /* elements */
    const void *data; /* into embed_weights.blob */
};

struct embed_weights {
    struct embed_weight w[EMBED_MAX_WEIGHTS];
    size_t n;
    char *blob; /* all shards, concatenated in manifest order */
    size_t blob_len;
};

/* Reads <dir>/model.json's weightsManifest and the shard files it names (each at most 64 MB,
 * 512 MB in all, 256 tensors, float32 or int32, no quantisation). */
/* Reads and parses the JSON file dir/name (at most `max` bytes); its path goes to path[4096]
 * for the caller's messages. On success *root is the caller's (json_decref). */
int sb__embed_json_load(const char *dir, const char *name, size_t max, char path[4096],
                        json_t **root, struct sb_error *err);
int sb__embed_weights_load(const char *dir, struct embed_weights *ws, struct sb_error *err);
void sb__embed_weights_free(struct embed_weights *ws);
/* The float32 tensor `name` with exactly the given dims (ndim of them); NULL + SB_EPARSE
 * naming the tensor when it is missing or shaped otherwise. */
const float *sb__embed_weight(const struct embed_weights *ws, const char *name, int ndim,
                              const int64_t *dims, struct sb_error *err);

/* ---- tokenizer.c ---- */
struct embed_trie_node {
    int32_t child; /* first child, -1 none */
    int32_t next;  /* next sibling, -1 none */
    uint32_t cp;   /* code point on the edge into this node */
    int32_t id;    /* piece id ending here, -1 none */
    double score;
};

struct embed_tokenizer {
    size_t n_pieces;
    int32_t *u16len; /* each piece's length in UTF-16 units (the JS backtrack steps by it) */
    struct embed_trie_node *nodes;
    size_t n_nodes, cap_nodes;
    /* (parent node, code point) → child node, open addressing, built after the trie: the
     * tokenizer's lookups (sibling lists at the root are hundreds long) */
    uint64_t *hkey; /* (parent << 32) | cp; UINT64_MAX empty */
    int32_t *hval;
    size_t hmask;
};

/* Reads <dir>/vocab.json ([[piece, score], ...], at most 4 MB and 100000 pieces). */
int sb__embed_tokenizer_load(const char *dir, struct embed_tokenizer *t, struct sb_error *err);
void sb__embed_tokenizer_free(struct embed_tokenizer *t);
/* Pieces of `utf8` (all of them; *ids allocated, free with free()). */
int sb__embed_tokenize(const struct embed_tokenizer *t, const char *utf8, int32_t **ids, size_t *n,
                       struct sb_error *err);

/* ---- qgemm.c: int8 matrix products (see the file's comment) ---- */
enum { EMBED_K_SCALAR = 0, EMBED_K_AVX2 = 1, EMBED_K_VNNI = 2 };
#define EMBED_QN 64 /* output columns per kernel pass: n must be a multiple */

/* A k×n weight matrix quantised to int8 with one scale per column, packed for one kernel. */
struct embed_qmat {
    int k, n;
    int u8;       /* stored as w + 128 (the VNNI kernel's layout) */
    int8_t *w;    /* k·n bytes, packed (qgemm.c) */
    float *scale; /* [n]: w[k][j] ≈ scale[j]·q[k][j] */
};

const char *sb__embed_kernel_name(int kernel);
/* Whether this CPU can run `kernel` (EMBED_K_*). */
int sb__embed_kernel_supported(int kernel);
int sb__embed_kernel_best(void);
/* Quantises row-major w[k][n] for `kernel`; SB_EINVAL unless k % 4 == 0 and n % EMBED_QN == 0.
 * Free with sb__embed_qmat_free. */
int sb__embed_qmat_init(struct embed_qmat *q, const float *w, int k, int n, int kernel);
void sb__embed_qmat_free(struct embed_qmat *q);
/* Rows of x[m][k] to int8: xq[m][k], scales xs[m] (x ≈ xs·xq) and the rows' sums xsum[m].
 * Every kernel's CPU features give the same bytes (the non-scalar ones use AVX2). */
void sb__embed_quantize_rows(int kernel, const float *x, int m, int k, int8_t *xq, float *xs,
                             int32_t *xsum);
/* acc[m][n] = xq·q exactly (with the +128 shift of a u8 matrix still in it). */
void sb__embed_qmatmul_i32(int kernel, const int8_t *xq, int m, const struct embed_qmat *q,
                           int32_t *acc);
/* y[m][n] = xs[i]·scale[j]·Σ_k xq[i][k]·q[k][j] + bias[j] (bias may be NULL); acc is m·n
 * int32 scratch. `kernel` must be the one q was packed for. */
void sb__embed_qmatmul(int kernel, const int8_t *xq, const float *xs, const int32_t *xsum, int m,
                       const struct embed_qmat *q, const float *bias, int32_t *acc, float *y);
/* ---- encoder.c ---- */
/* "float32", or the int8 kernel's name ("scalar", "avx2", "avx512vnni"): for tests/benches. */
const char *sb__embed_model_kernel(const struct sb_embed_model *m);

#endif
