/* SPDX-License-Identifier: MIT */
/* Fuzz target: the article importers (Markdown, HTML, text) of the knowledge base (see fuzz_kb_run.h). */
#include "fuzz_kb_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* one input, three readers */
    run("fuzz.md", data, size);
    run("fuzz.html", data, size);
    run("fuzz.txt", data, size);
    return 0;
}
