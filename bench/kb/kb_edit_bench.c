/* SPDX-License-Identifier: MIT */
/*
 * Edit latency: how long until a changed entry is searchable, on a KB of the size given by a
 * JSONL file (e.g. bench/kb/make_10k.py output) persisted in a data directory. Times, per edit,
 * sb_kb_put of one FAQ entry (SQLite commit with fsync + incremental index update) and then the
 * first search that must find it; also the cold start (loading kb.db into the index).
 * usage: kb_edit_bench FILE.jsonl DATADIR (DATADIR is created; use an empty one)
 */
#include "sb/clock.h"
#include "sb/kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv);
int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    struct sb_error err = {0};
    struct sb_kb *kb = NULL;
    if (sb_kb_open(argv[2], &kb, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    const char *paths[] = {argv[1]};
    int64_t t0 = sb_mono_ns();
    if (sb_kb_import_files(kb, 1, paths, 1, NULL, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    printf("import of %zu entries: %.1f ms\n", sb_kb_count(kb, 1),
           (double)(sb_mono_ns() - t0) / 1e6);
    sb_kb_close(kb);
    t0 = sb_mono_ns();
    if (sb_kb_open(argv[2], &kb, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    printf("cold open (load + index): %.1f ms\n", (double)(sb_mono_ns() - t0) / 1e6);
    enum { EDITS = 100 };
    double put_ms[EDITS], vis_ms[EDITS];
    for (int i = 0; i < EDITS; i++) {
        char id[32], q[96];
        snprintf(id, sizeof(id), "edit-%d", i);
        snprintf(q, sizeof(q), "Can I pay with zorblax%d coupons?", i);
        struct sb_kb_doc d = {.id = id, .kind = SB_KB_FAQ, .title = q,
                              .body = (char *)"Yes, at checkout."};
        int64_t a = sb_mono_ns();
        if (sb_kb_put(kb, 1, &d, 1, &err))
            return fprintf(stderr, "%s\n", err.msg), 1;
        int64_t b = sb_mono_ns();
        struct sb_kb_hit *h = NULL;
        size_t n = 0;
        char w[32];
        snprintf(w, sizeof(w), "zorblax%d", i);
        sb_kb_search(kb, 1, w, "en", 1, &h, &n, NULL);
        int64_t c = sb_mono_ns();
        if (n != 1 || strcmp(h[0].id, id) != 0)
            return fprintf(stderr, "edit %d not visible\n", i), 1;
        sb_kb_hits_free(h, n);
        put_ms[i] = (double)(b - a) / 1e6;
        vis_ms[i] = (double)(c - a) / 1e6;
    }
    qsort(put_ms, EDITS, sizeof(double), cmp);
    qsort(vis_ms, EDITS, sizeof(double), cmp);
    printf("edit (put, fsync'd): p50 %.2f ms, p99 %.2f ms; edit -> visible in search: p50 %.2f ms,"
           " p99 %.2f ms\n", put_ms[EDITS / 2], put_ms[EDITS - 2], vis_ms[EDITS / 2],
           vis_ms[EDITS - 2]);
    sb_kb_close(kb);
    return 0;
}
