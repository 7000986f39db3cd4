/* SPDX-License-Identifier: MIT */
/*
 * Prints the retrieval terms of JSON lines as the KB's analyser makes them (stemming, stop
 * words, CJK bigrams): "id<TAB>field<TAB>term term ..." for each named string field of each
 * line of stdin. For the Python prototypes of bench/kb/rank_experiments.py, which must see the
 * same terms as the C index. Build like kb_cli (docs/kb.md) with -Isrc/kb.
 *
 * usage: kb_tokens FIELD... < FILE.jsonl
 */
#include "kb_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    static char line[1 << 20];
    while (fgets(line, sizeof(line), stdin)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        for (int a = 1; id && a < argc; a++) {
            const char *t = json_string_value(json_object_get(j, argv[a]));
            if (!t)
                continue;
            struct sb__kb_tokens tk = {0};
            sb__kb_analyze(t, strlen(t), NULL, &tk);
            printf("%s\t%s\t", id, argv[a]);
            for (size_t i = 0; i < tk.n; i++)
                printf("%s%s", i ? " " : "", tk.buf + tk.off[i]);
            printf("\n");
            sb__kb_tokens_cleanup(&tk);
        }
        json_decref(j);
    }
    return 0;
}
