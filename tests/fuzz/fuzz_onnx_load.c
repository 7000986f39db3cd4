/* SPDX-License-Identifier: MIT */
/* libFuzzer target: loading an ONNX model from memory (src/nn: the protobuf reader, the graph
 * checks and the load-time rewrites, which run the kernels on constant sub-graphs) must never
 * crash, leak or over-read, whatever the bytes. A failed load must say why. */
#include "sb/nn.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    struct sb_nn_model *m = NULL;
    struct sb_error err = {0};
    if (sb_nn_load_mem(data, size, &m, &err) == 0) {
        int64_t dims[SB_NN_MAX_DIMS];
        int nd = -1;
        sb_nn_input_shape(m, dims, &nd);
        if (nd < -1 || nd > SB_NN_MAX_DIMS)
            abort();
        sb_nn_free(m);
    } else if (m || err.code == 0 || !err.msg[0]) {
        abort();
    }
    return 0;
}
