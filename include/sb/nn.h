/* SPDX-License-Identifier: MIT */
/*
 * A small ONNX inference runtime (src/nn): loads a model file (our own protobuf reader, no
 * onnxruntime) and runs its graph in float32 on the calling thread. It implements the op set
 * of convolutional / small-transformer recognisers such as PaddleOCR's PP-OCRv4 text
 * recogniser (see docs/nn.md for the op list and limits). One float32 input, first output.
 *
 * Errors: SB_EPARSE for a malformed file (the message names the field or node), SB_EUNSUPPORTED
 * for an op, attribute or data type we do not implement (named, reported at load, never first at
 * run time for an op), SB_ETOOBIG when a limit is passed (file 256 MB, 100000 nodes, 8 dims,
 * 2^28 elements per tensor, 2 GB of live buffers per run), SB_EINVAL for an input whose rank or
 * fixed dimensions do not match the model's, or a shape the graph cannot compute, SB_ENOTFOUND /
 * SB_EIO when the file cannot be read.
 */
#ifndef SB_NN_H
#define SB_NN_H

#include "sb/error.h"

#include <stddef.h>
#include <stdint.h>

#define SB_NN_MAX_DIMS 8
#define SB_NN_MAX_FILE (256u << 20)

/* A loaded model: immutable after load, so one model may be shared by any number of threads. */
struct sb_nn_model;

/*
 * Loads the ONNX model at `path` (at most SB_NN_MAX_FILE bytes). Checks the whole graph (node
 * order, every op and attribute supported, tensor sizes), folds BatchNormalization and constant
 * per-channel affine steps into the preceding Conv, evaluates nodes whose inputs are all
 * constant, fuses hard-swish / swish chains. On success *out receives the model (free with
 * sb_nn_free()); on failure *out is untouched and `err` (may be NULL) says why.
 */
int sb_nn_load(const char *path, struct sb_nn_model **out, struct sb_error *err);

/* As sb_nn_load, from `len` bytes at `buf` (borrowed; not referenced after the call). */
int sb_nn_load_mem(const void *buf, size_t len, struct sb_nn_model **out, struct sb_error *err);

/* Frees a model; NULL is a no-op. No sb_nn_run on it may still be in progress. */
void sb_nn_free(struct sb_nn_model *m);

/*
 * The model's input shape: *ndim dims written to dims (-1 where the model leaves a dimension
 * free, e.g. the batch and the width of PP-OCRv4's [N, 3, 48, W]); *ndim is -1 when the model
 * does not declare the input's shape at all (then any rank is accepted).
 */
void sb_nn_input_shape(const struct sb_nn_model *m, int64_t dims[SB_NN_MAX_DIMS], int *ndim);

/*
 * Runs the graph on one float32 input `in` of shape dims[0..ndim) (borrowed). On success *out
 * receives the first graph output as float32 (free with free()), out_dims / *out_ndim its
 * shape. All memory of the run is allocated per call and released before returning, so any
 * number of threads may run one model at the same time. On failure *out is untouched.
 * SB_EINVAL for a rank or fixed-dimension mismatch with the model's input (or a shape the graph
 * rejects), SB_ETOOBIG past the limits above.
 */
int sb_nn_run(const struct sb_nn_model *m, const float *in, const int64_t *dims, int ndim,
              float **out, int64_t out_dims[SB_NN_MAX_DIMS], int *out_ndim, struct sb_error *err);

/*
 * The runtime's blocked GEMM for other modules' dense layers (src/embed): C[m×n] += A[m×k]·B[k×n]
 * in float32, row-major with leading dimensions lda/ldb/ldc (AVX2+FMA when the CPU has it).
 * Thread-safe; allocates its packing scratch per call.
 */
void sb_nn_matmul(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                  size_t ldb, float *c, size_t ldc);

#endif
