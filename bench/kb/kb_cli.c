/* SPDX-License-Identifier: MIT */
/*
 * A stand-alone driver for the knowledge-base commands (`kb ...`, `eval retrieval|answer ...`)
 * that links only sb_kb and sb_core, for benchmarking while the full `switchboard` binary does
 * not link yet (or to measure the KB in isolation). Same functions as `switchboard kb` and
 * `switchboard eval`: main passes argv the same way src/core/main.c does. Build: docs/kb.md.
 */
#include "sb/cli.h"
#include <string.h>
int main(int argc, char **argv);
int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "kb") == 0)
        return sb_cmd_kb(argc - 1, argv + 1);
    if (argc >= 3 && strcmp(argv[1], "eval") == 0)
        return sb_kb_cmd_eval(argc - 2, argv + 2);
    return 2;
}
