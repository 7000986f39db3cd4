/* SPDX-License-Identifier: MIT */
/*
 * Internal shapes of the inference runtime shared by its files: the tensor, the loaded graph
 * (values and nodes), the protobuf wire reader, the op kernels and the GEMM. Nothing here is
 * part of the public contract (include/sb/nn.h).
 */
#ifndef SB_NN_INTERNAL_H
#define SB_NN_INTERNAL_H

#include "sb/error.h"
#include "sb/nn.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "src/nn reads little-endian tensor data in place; a big-endian port must swap bytes"
#endif

#define NN_MAX_DIMS SB_NN_MAX_DIMS
#define NN_MAX_NODES 100000
#define NN_MAX_NAME 4096
#define NN_MAX_ATTRS 64
#define NN_MAX_ATTR_INTS 1024
#define NN_MAX_IO 64                  /* inputs or outputs of one node */
#define NN_MAX_ELEMS (1ll << 28)      /* elements of one tensor */
#define NN_MAX_RUN_BYTES (1ull << 31) /* all live buffers of one run */

/* Element types (the ONNX TensorProto.DataType numbers). INT32 data is widened to INT64. */
enum { NN_F32 = 1, NN_I64 = 7 };

struct nn_tensor {
    int dtype;
    int ndim;
    int64_t dims[NN_MAX_DIMS];
    size_t n;   /* element count */
    void *data; /* float * or int64_t * */
};

enum nn_op {
    NN_OP_CONSTANT = 1,
    NN_OP_CONV,
    NN_OP_BATCHNORM,
    NN_OP_ADD,
    NN_OP_SUB,
    NN_OP_MUL,
    NN_OP_DIV,
    NN_OP_POW,
    NN_OP_SQRT,
    NN_OP_RELU,
    NN_OP_SIGMOID,
    NN_OP_HARDSIGMOID,
    NN_OP_CLIP,
    NN_OP_GLOBALAVGPOOL,
    NN_OP_AVGPOOL,
    NN_OP_SHAPE,
    NN_OP_CAST,
    NN_OP_SLICE,
    NN_OP_CONCAT,
    NN_OP_RESHAPE,
    NN_OP_TRANSPOSE,
    NN_OP_REDUCEMEAN,
    NN_OP_MATMUL,
    NN_OP_SQUEEZE,
    NN_OP_UNSQUEEZE,
    NN_OP_SOFTMAX,
    NN_OP_IDENTITY,
    NN_OP_HARDSWISH, /* fused at load: x * clip(x + 3, 0, 6) / 6 */
    NN_OP_SWISH,     /* fused at load: x * sigmoid(x) */
};

/* The parameters of a node, read from its attributes at load. */
struct nn_params {
    int64_t kernel[2], strides[2], pads[4], dilations[2], group;
    int64_t axis;
    int64_t perm[NN_MAX_DIMS];
    int nperm;
    int64_t axes[NN_MAX_DIMS];
    int naxes;
    int has_axes;
    int64_t starts[NN_MAX_DIMS], ends[NN_MAX_DIMS];
    int nstarts, nends;
    int keepdims;
    int count_include_pad;
    int allowzero;
    int to;
    float alpha, beta, epsilon;
    float fmin, fmax;
    int has_min, has_max;
    float post_mul, post_add; /* affine after a fused HARDSWISH (1, 0 when none) */
    int act;     /* Conv: an activation op applied to its output (fused at load), 0 none;
                    its parameters are the fields above */
    int wpacked; /* Conv: weights (input 1) hold per-group GEMM-packed panels (dims unchanged,
                    n = the packed size) */
};

struct nn_node {
    int op;
    char *name;    /* owned, may be "" */
    char *op_type; /* owned */
    int nin, nout;
    int in[NN_MAX_IO]; /* value index, -1 for an absent optional input */
    int out[NN_MAX_IO];
    struct nn_params p;
    int dead; /* removed by a load-time rewrite */
};

struct nn_value {
    char *name; /* owned */
    int is_const;
    struct nn_tensor t; /* the constant (data owned) when is_const */
    int producer;       /* node index, -1 for constants and the graph input */
    int nuse;           /* consuming live nodes */
    int last_use;       /* last consuming node index, -1 when none */
};

struct sb_nn_model {
    struct nn_value *vals;
    int nvals, cap_vals;
    struct nn_node *nodes;
    int nnodes, cap_nodes;
    int input;  /* value index of the graph input */
    int output; /* value index of the first graph output */
    int in_ndim;
    int64_t in_dims[NN_MAX_DIMS]; /* -1 where dynamic */
    int64_t opset;
    size_t const_bytes;
};

/* Parses an ONNX ModelProto into `m` (zeroed by the caller): values, nodes (unordered checks
 * only), input and output. SB_EPARSE / SB_ETOOBIG / SB_EUNSUPPORTED with err set. */
int sb__nn_parse(struct sb_nn_model *m, const uint8_t *buf, size_t len, struct sb_error *err);

/* Releases everything `m` owns, not `m` itself. */
void sb__nn_model_cleanup(struct sb_nn_model *m);

/* Maps an op_type to NN_OP_*; 0 when not implemented. */
int sb__nn_op_lookup(const char *op_type);

/* Per-call allocation context of the executor (see run.c). */
struct nn_ctx;

/* Allocates t->data for t->n elements of t->dtype from the call's pool. */
int sb__nn_alloc(struct nn_ctx *c, struct nn_tensor *t, struct sb_error *err);
/* The model's opset (op semantics that changed between opsets). */
int64_t sb__nn_ctx_opset(const struct nn_ctx *c);
/* Scratch of at least `bytes` for the duration of one op (reused across ops). */
float *sb__nn_scratch(struct nn_ctx *c, int slot, size_t bytes, struct sb_error *err);

/* Runs one node: `in` are its inputs (NULL for absent optional ones), `out` its outputs,
 * which the kernel shapes and allocates with sb__nn_alloc. */
int sb__nn_exec(struct nn_ctx *c, const struct nn_node *node, const struct nn_tensor *const *in,
                struct nn_tensor *out, struct sb_error *err);

/* Element count of dims (0 on overflow past NN_MAX_ELEMS, -1 for a negative dim). */
int64_t sb__nn_numel(const int64_t *dims, int ndim);

/* GEMM: C[m×n] += A[m×k]·B[k×n] (row-major, leading dimensions lda/ldb/ldc). `scratch` must
 * hold sb__nn_gemm_scratch(m, n, k) bytes. Thread-safe; allocates nothing. */
void sb__nn_gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
                 size_t ldb, float *c, size_t ldc, float *scratch);
size_t sb__nn_gemm_scratch(size_t m, size_t n, size_t k);
/* A packed once (weights, at load): sb__nn_gemm_packed_size(m, k) floats filled by
 * sb__nn_gemm_pack; sb__nn_gemm_packed then skips the per-call packing of A. */
size_t sb__nn_gemm_packed_size(size_t m, size_t k);
void sb__nn_gemm_pack(size_t m, size_t k, const float *a, size_t lda, float *dst);
void sb__nn_gemm_packed(size_t m, size_t n, size_t k, const float *ap, const float *b, size_t ldb,
                        float *c, size_t ldc, float *scratch);

#endif
