/* SPDX-License-Identifier: MIT */
/* Fuzz target: the config file parser. */
#include "sb/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    struct sb_config *c = sb_config_new();
    struct sb_error err = {0};
    if (sb_config_load_stream(c, f, "fuzz.conf", &err) != 0 && !err.msg[0])
        abort();
    (void)sb_config_int(c, "workers");
    sb_config_free(c);
    fclose(f);
    return 0;
}
