/* SPDX-License-Identifier: MIT */
/* Fuzz target: the csv catalogue importer of the knowledge base (see fuzz_kb_run.h). */
#include "fuzz_kb_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run("fuzz.csv", data, size);
    return 0;
}
