/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the sentence encoder (src/embed), float32 against int8, on StackFAQ: the 999
 * train queries (queries.jsonl) and the 719 FAQ entries (faq.jsonl, embedded as question + " " +
 * answer). Loads the model twice (SB_EMBED_PRECISION=float32, then =int8; SB_EMBED_KERNEL is
 * passed through to the int8 load) and reports
 *   - the queries' piece counts (min / median / p90 / p99 / max);
 *   - accuracy: cosine of the int8 embedding with the float32 one (min / p1 / median), queries
 *     and entries separately, and dense-only retrieval MRR@10 of each precision (rank the 719
 *     entries by cosine with the query; qrels.tsv, relevance > 0);
 *   - speed (one thread): per-query latency of sb_embed_text over the 999 queries (median, p90,
 *     p99, max per pass; passes alternate float32 / int8) and the entries' throughput.
 * Usage: embed_bench [--data DIR] [--passes N] [--no-speed] [--no-accuracy]
 * [--only float32|int8] (speed of one precision) [--no-entries] (query latency only). Build and
 * run: bench/embed/run.sh (README.md there).
 */
#include "sb/embed.h"

#include "../../src/embed/embed_internal.h" /* sb__embed_model_kernel */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXQ 4096
#define MAXD 4096

struct text {
    char *id;
    char *text;
    char *thread;
};

static struct text qs[MAXQ], ds[MAXD];
static int nq, nd;

static void die(const char *what)
{
    fprintf(stderr, "embed_bench: %s\n", what);
    exit(1);
}

static int read_jsonl(const char *path, struct text *out, int max, int faq)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    static char line[1 << 20];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o || n == max)
            die(path);
        out[n].id = strdup(json_string_value(json_object_get(o, "id")));
        if (faq) {
            const char *q = json_string_value(json_object_get(o, "question"));
            const char *a = json_string_value(json_object_get(o, "answer"));
            size_t len = strlen(q) + strlen(a) + 2;
            out[n].text = malloc(len);
            snprintf(out[n].text, len, "%s %s", q, a);
        } else {
            out[n].text = strdup(json_string_value(json_object_get(o, "text")));
        }
        json_decref(o);
        n++;
    }
    fclose(f);
    return n;
}

/* qrels: rel[q][d] as a bitmap (relevance > 0) */
static unsigned char *rel;

static int find(const struct text *t, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].id, id) == 0)
            return i;
    return -1;
}

static void read_qrels(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    rel = calloc((size_t)nq * nd, 1);
    char line[512];
    int first = 1;
    while (fgets(line, sizeof line, f)) {
        if (first) {
            first = 0;
            continue;
        }
        char qid[128], did[128];
        int r;
        if (sscanf(line, "%127s %127s %d", qid, did, &r) != 3)
            continue;
        int qi = find(qs, nq, qid), di = find(ds, nd, did);
        if (qi >= 0 && di >= 0 && r > 0)
            rel[(size_t)qi * nd + di] = 1;
    }
    fclose(f);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static struct sb_embed_model *load(const char *prec)
{
    setenv("SB_EMBED_PRECISION", prec, 1);
    struct sb_embed_model *m = NULL;
    struct sb_error err = {0};
    if (sb_embed_load(NULL, &m, &err) < 0) {
        fprintf(stderr, "load %s: %s\n", prec, err.msg);
        exit(1);
    }
    return m;
}

static void embed_all(struct sb_embed_model *m, struct text *t, int n, float *out)
{
    struct sb_error err = {0};
    for (int i = 0; i < n; i++)
        if (sb_embed_text(m, t[i].text, out + (size_t)i * SB_EMBED_DIM, &err) < 0)
            die(err.msg);
}

static double mrr10(const float *qe, const float *de)
{
    double sum = 0;
    for (int q = 0; q < nq; q++) {
        double best = 0;
        /* rank of the first relevant entry: 1 + number of entries scoring strictly higher
         * (ties broken by entry order) */
        for (int d = 0; d < nd; d++) {
            if (!rel[(size_t)q * nd + d])
                continue;
            float s = sb_embed_cosine(qe + (size_t)q * SB_EMBED_DIM, de + (size_t)d * SB_EMBED_DIM);
            int rank = 1;
            for (int o = 0; o < nd; o++) {
                float so =
                    sb_embed_cosine(qe + (size_t)q * SB_EMBED_DIM, de + (size_t)o * SB_EMBED_DIM);
                if (so > s || (so == s && o < d))
                    rank++;
            }
            if (rank <= 10 && 1.0 / rank > best)
                best = 1.0 / rank;
        }
        sum += best;
    }
    return sum / nq;
}

static void cos_stats(const char *what, const float *a, const float *b, int n)
{
    double *c = malloc((size_t)n * sizeof *c);
    for (int i = 0; i < n; i++)
        c[i] = sb_embed_cosine(a + (size_t)i * SB_EMBED_DIM, b + (size_t)i * SB_EMBED_DIM);
    double mn = pct(c, n, 0), p1 = pct(c, n, 0.01), med = pct(c, n, 0.5);
    printf("cosine int8 vs float32, %s (%d): min %.6f  p1 %.6f  median %.6f\n", what, n, mn, p1,
           med);
    free(c);
}

int main(int argc, char **argv)
{
    const char *data = "/work/shared/bench/data/stackfaq";
    int passes = 3, speed = 1, acc = 1, only = -1, entries = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            passes = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--no-speed") == 0)
            speed = 0;
        else if (strcmp(argv[i], "--no-accuracy") == 0)
            acc = 0;
        else if (strcmp(argv[i], "--no-entries") == 0)
            entries = 0;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = strcmp(argv[++i], "int8") == 0;
        else
            die("usage: embed_bench [--data DIR] [--passes N] [--no-speed] [--no-accuracy] [--only "
                "float32|int8] [--no-entries]");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/queries.jsonl", data);
    nq = read_jsonl(path, qs, MAXQ, 0);
    snprintf(path, sizeof path, "%s/faq.jsonl", data);
    nd = read_jsonl(path, ds, MAXD, 1);
    snprintf(path, sizeof path, "%s/qrels.tsv", data);
    read_qrels(path);

    struct sb_embed_model *mf = load("float32"), *mq = load("int8");
    printf("queries %d, entries %d; int8 kernel: %s\n", nq, nd, sb__embed_model_kernel(mq));

    double *pc = malloc((size_t)nq * sizeof *pc);
    for (int i = 0; i < nq; i++) {
        size_t n = 0;
        struct sb_error err = {0};
        sb_embed_tokenize(mf, qs[i].text, NULL, 0, &n, &err);
        pc[i] = (double)n;
    }
    printf("query pieces: min %.0f  median %.0f  p90 %.0f  p99 %.0f  max %.0f\n", pct(pc, nq, 0),
           pct(pc, nq, 0.5), pct(pc, nq, 0.9), pct(pc, nq, 0.99), pct(pc, nq, 1));

    if (acc) {
        float *qf = malloc((size_t)nq * SB_EMBED_DIM * sizeof *qf);
        float *qq = malloc((size_t)nq * SB_EMBED_DIM * sizeof *qq);
        float *df = malloc((size_t)nd * SB_EMBED_DIM * sizeof *df);
        float *dq = malloc((size_t)nd * SB_EMBED_DIM * sizeof *dq);
        embed_all(mf, qs, nq, qf);
        embed_all(mq, qs, nq, qq);
        embed_all(mf, ds, nd, df);
        embed_all(mq, ds, nd, dq);
        cos_stats("queries", qf, qq, nq);
        cos_stats("entries", df, dq, nd);
        double a = mrr10(qf, df), b = mrr10(qq, dq);
        printf("dense MRR@10: float32 %.4f  int8 %.4f  (difference %+.4f)\n", a, b, b - a);
        free(qf);
        free(qq);
        free(df);
        free(dq);
    }

    if (speed) {
        struct sb_embed_model *ms[2] = {mf, mq};
        const char *names[2] = {"float32", "int8"};
        double *t = malloc((size_t)nq * sizeof *t);
        float e[SB_EMBED_DIM];
        struct sb_error err = {0};
        for (int w = 0; w < 2; w++) /* warm-up */
            for (int i = 0; i < 50 && i < nq; i++)
                sb_embed_text(ms[w], qs[i].text, e, &err);
        for (int p = 0; p < passes; p++) {
            for (int w = 0; w < 2; w++) {
                if (only >= 0 && w != only)
                    continue;
                for (int i = 0; i < nq; i++) {
                    double t0 = now();
                    sb_embed_text(ms[w], qs[i].text, e, &err);
                    t[i] = (now() - t0) * 1e3;
                }
                double med = pct(t, nq, 0.5), p90 = pct(t, nq, 0.9), p99 = pct(t, nq, 0.99),
                       mx = pct(t, nq, 1);
                double t0 = now();
                for (int i = 0; i < nd && entries; i++)
                    sb_embed_text(ms[w], ds[i].text, e, &err);
                double el = now() - t0;
                printf("pass %d %-7s queries ms: median %.3f  p90 %.3f  p99 %.3f  max %.3f", p + 1,
                       names[w], med, p90, p99, mx);
                if (entries)
                    printf(" | entries: %.2f s, %.0f/s", el, nd / el);
                printf("\n");
                fflush(stdout);
            }
        }
        free(t);
    }
    sb_embed_free(mf);
    sb_embed_free(mq);
    return 0;
}
