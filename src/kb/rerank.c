/* SPDX-License-Identifier: MIT */
/*
 * The learned second stage of KB ranking: the first stage (BM25F with group lift and query
 * expansion, index.c) proposes SB__KB_RERANK_DEPTH entries; a linear model over corpus-
 * independent features of each candidate (field scores scaled by the query's upper bound,
 * coverage of the query by the entry, its group and its best-matching phrasing, the share of
 * the phrasing's own words the query has, adjacent word pairs, rank) reorders them. The
 * weights were fitted by pairwise logistic regression with 5-fold cross-validation on the
 * StackFAQ train queries (bench/kb/rerank_fit.py, docs/kb.md); the same weights serve every
 * corpus, as no feature names a word.
 */
#include "kb_internal.h"

#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

/* Weights of the features in enum order (bench/kb/rerank_fit.py). */
static const double rr_w[SB__KB_RF_N] = {0.6938, -0.7110, 1.7836, 0.2209, 1.7512, -0.1359, 2.0302,
                                         2.8852, 0.0979,  0.3872,  1.0122, -0.5770, -1.1016};

/* The lexical stages: BM25F (+ the learned reranker or the phrasing lift), best `k`. */
static size_t lexical(const struct sb__kb_index *ix, const char *query, const char *lang,
                      const struct sb__kb_params *p, size_t k, struct sb__kb_scored *out,
                      struct sb__kb_qinfo *qi)
{
    if (!p->rerank && p->phrase <= 0)
        return sb__kb_index_search(ix, query, lang, p, k, out, qi);
    size_t depth = k > SB__KB_RERANK_DEPTH ? k : SB__KB_RERANK_DEPTH;
    struct sb__kb_scored *cand = sb_malloc(depth * sizeof(*cand));
    size_t n = sb__kb_index_search(ix, query, lang, p, depth, cand, qi);
    if (n > 1) {
        double (*f)[SB__KB_RF_N] = sb_malloc(n * sizeof(*f));
        sb__kb_index_features(ix, query, lang, p, cand, n, f);
        for (size_t i = 0; i < n; i++) {
            if (p->rerank) {
                double s = 0;
                for (int j = 0; j < SB__KB_RF_N; j++)
                    s += rr_w[j] * f[i][j];
                cand[i].score = s;
            } else {
                /* first-stage score plus the best phrasing's share of its own words that
                 * the question has ("where is my order" is all of "Where is my order?") */
                cand[i].score = f[i][SB__KB_RF_BASE] + p->phrase * f[i][SB__KB_RF_LRC];
            }
        }
        free(f);
        qsort(cand, n, sizeof(*cand), sb__kb_scored_cmp);
    }
    if (n > k)
        n = k;
    memcpy(out, cand, n * sizeof(*out));
    free(cand);
    return n;
}

/* Lexical candidates the fusion sees when it rescores every entry (p->dense_depth = 0). */
#define ALL_ENTRIES_DEPTH 1000

size_t sb__kb_rank(const struct sb__kb_index *ix, const char *query, const char *lang,
                   const float *qvec, const struct sb__kb_params *p, size_t k,
                   struct sb__kb_scored *out, struct sb__kb_qinfo *qi)
{
    int dense = qvec && p->dense > 0 && sb__kb_index_nvec(ix) > 0;
    size_t depth = k;
    if (dense) {
        size_t dd = p->dense_depth > 0 ? (size_t)p->dense_depth : ALL_ENTRIES_DEPTH;
        depth = dd > k ? dd : k;
    }
    struct sb__kb_scored *cand = sb_malloc((depth ? depth : 1) * sizeof(*cand));
    size_t n = lexical(ix, query, lang, p, depth, cand, qi);
    for (size_t i = 0; i < n; i++) {
        cand[i].lex = cand[i].score;
        cand[i].cos = 0;
    }
    if (dense && n > 0) {
        n = sb__kb_dense_fuse(ix, qvec, p, cand, n, k, out);
    } else {
        n = n > k ? k : n;
        memcpy(out, cand, n * sizeof(*out));
    }
    free(cand);
    return n;
}
