/* SPDX-License-Identifier: MIT */
/* Fuzz target: bounded JSON parsing of request bodies and WebSocket messages. */
#include "sb/json.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    struct sb_error err = {0};
    int depth = sb_json_depth((const char *)data, size);
    if (sb_json_parse((const char *)data, size, 65536, 32, &v, &err) == 0) {
        if (depth > 32)
            abort(); /* the depth limit must hold */
        json_decref(v);
    } else if (!err.msg[0]) {
        abort(); /* every failure explains itself */
    }
    return 0;
}
