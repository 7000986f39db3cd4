/* SPDX-License-Identifier: MIT */
/*
 * Latency of the bot's answer path (sb_kb_answer: the question's embedding, ranking,
 * confidence features, answer and citations) on a KB file, one thread. Every query is run `reps` times; prints the p50/p99
 * of the first pass (wall clock, includes whatever else the machine is doing) and of each
 * query's fastest pass (the cost of the query itself, without preemption by other processes),
 * and the slowest queries by that measure.
 *
 * build: gcc -O2 -Iinclude -Isrc/kb bench/kb/answer_latency.c build-rel/libsb_kb.a \
 *          build-rel/libsb_embed.a build-rel/libsb_nn.a build-rel/libsb_core.a -lutf8proc -lstemmer -lsqlite3 -ljansson -lsodium -lpthread \
 *          -lm -o answer_latency
 * usage: answer_latency KB.jsonl QUERIES.jsonl [REPS=3]
 */
#include "kb_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERIES_MAX 100000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p)
{
    return n ? sorted[(size_t)((double)(n - 1) * p)] : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s KB.jsonl QUERIES.jsonl [REPS=3]\n", argv[0]);
        return 2;
    }
    long reps = argc > 3 ? strtol(argv[3], NULL, 10) : 3;
    if (reps < 1 || reps > 100)
        reps = 3;
    struct sb_kb *kb = NULL;
    struct sb_error err = {0};
    const char *paths[1] = {argv[1]};
    size_t nd = 0;
    if (sb_kb_open(NULL, &kb, &err) || sb_kb_import_files(kb, 1, paths, 1, &nd, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    char **texts = sb_calloc(QUERIES_MAX, sizeof(char *));
    size_t n = 0;
    char line[16384];
    while (n < QUERIES_MAX && fgets(line, sizeof(line), f)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *t = json_string_value(json_object_get(o, "text"));
        if (t)
            texts[n++] = sb_strdup(t);
        json_decref(o);
    }
    fclose(f);
    sb__kb_wordnet_load(); /* once per process, not part of a query */
    double *first = sb_calloc(n ? n : 1, sizeof(double)), *best = sb_calloc(n ? n : 1, sizeof(double));
    for (long r = 0; r < reps; r++) {
        for (size_t i = 0; i < n; i++) {
            struct sb_kb_answer *a = NULL;
            int64_t t0 = sb_mono_ns();
            if (sb_kb_answer(kb, 1, texts[i], NULL, &a, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            double ms = (double)(sb_mono_ns() - t0) / 1e6;
            sb_kb_answer_free(a);
            if (r == 0)
                first[i] = best[i] = ms;
            else if (ms < best[i])
                best[i] = ms;
        }
    }
    double *s1 = sb_malloc((n ? n : 1) * sizeof(double)), *sb = sb_malloc((n ? n : 1) * sizeof(double));
    memcpy(s1, first, n * sizeof(double));
    memcpy(sb, best, n * sizeof(double));
    qsort(s1, n, sizeof(double), cmp_double);
    qsort(sb, n, sizeof(double), cmp_double);
    printf("{\"documents\": %zu, \"queries\": %zu, \"first_pass_p50_ms\": %.4f, "
           "\"first_pass_p99_ms\": %.4f, \"best_of_%ld_p50_ms\": %.4f, \"best_of_%ld_p99_ms\": "
           "%.4f, \"best_of_%ld_max_ms\": %.4f}\n",
           nd, n, pct(s1, n, 0.5), pct(s1, n, 0.99), reps, pct(sb, n, 0.5), reps,
           pct(sb, n, 0.99), reps, n ? sb[n - 1] : 0);
    for (int k = 0; k < 3 && n; k++) {
        size_t w = 0;
        for (size_t i = 1; i < n; i++)
            if (best[i] > best[w])
                w = i;
        printf("  slowest %.3f ms: %s\n", best[w], texts[w]);
        best[w] = -1;
    }
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(first);
    free(best);
    free(s1);
    free(sb);
    sb_kb_close(kb);
    return 0;
}
