/* SPDX-License-Identifier: MIT */
/* Fuzz target: the jsonl FAQ/corpus importer of the knowledge base (see fuzz_kb_run.h). */
#include "fuzz_kb_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run("fuzz.jsonl", data, size);
    return 0;
}
