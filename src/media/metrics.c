/* SPDX-License-Identifier: MIT */
/*
 * Scoring for the OCR and ASR evaluations: case-insensitive bag-of-words F1, character error
 * rate and word error rate (Levenshtein distances), and the normalisation used for exact key
 * field comparison. Texts are compared case-folded (ASCII) with runs of white space collapsed.
 */
#include "media_internal.h"
#include "media_metrics.h"
#include "sb/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *sb__media_norm(const char *s)
{
    size_t n = strlen(s);
    char *o = sb_malloc(n + 1);
    size_t k = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            space = k > 0;
            continue;
        }
        if (space)
            o[k++] = ' ';
        space = 0;
        o[k++] = (char)toupper(c);
    }
    o[k] = 0;
    return o;
}

struct words {
    char **w;
    size_t n;
};

static struct words split_words(const char *s)
{
    char *norm = sb__media_norm(s);
    struct words ws = {0};
    size_t cap = 0;
    char *save = NULL;
    for (char *t = strtok_r(norm, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (ws.n == cap) {
            cap = cap ? cap * 2 : 32;
            ws.w = sb_realloc(ws.w, cap * sizeof(char *));
        }
        ws.w[ws.n++] = sb_strdup(t);
    }
    free(norm);
    return ws;
}

static void words_free(struct words *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        free(ws->w[i]);
    free(ws->w);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

double sb__media_word_f1(const char *pred, const char *ref)
{
    struct words p = split_words(pred), r = split_words(ref);
    double f1;
    if (p.n == 0 || r.n == 0) {
        f1 = p.n == r.n ? 1.0 : 0.0;
        goto out;
    }
    qsort(p.w, p.n, sizeof(char *), cmp_str);
    qsort(r.w, r.n, sizeof(char *), cmp_str);
    size_t i = 0, j = 0, common = 0;
    while (i < p.n && j < r.n) {
        int c = strcmp(p.w[i], r.w[j]);
        if (c == 0) {
            common++;
            i++;
            j++;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    double prec = (double)common / p.n, rec = (double)common / r.n;
    f1 = common ? 2 * prec * rec / (prec + rec) : 0;
out:
    words_free(&p);
    words_free(&r);
    return f1;
}

/* Levenshtein distance between two sequences given by element comparison. */
static size_t lev(size_t n, size_t m, int (*eq)(const void *, size_t, const void *, size_t),
                  const void *a, const void *b)
{
    size_t *row = sb_malloc((m + 1) * sizeof(size_t));
    for (size_t j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j];
            size_t best = diag + (eq(a, i - 1, b, j - 1) ? 0 : 1);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[m];
    free(row);
    return d;
}

static int eq_char(const void *a, size_t i, const void *b, size_t j)
{
    return ((const char *)a)[i] == ((const char *)b)[j];
}

static int eq_word(const void *a, size_t i, const void *b, size_t j)
{
    return strcmp(((char *const *)a)[i], ((char *const *)b)[j]) == 0;
}

double sb__media_cer(const char *pred, const char *ref, size_t *dist, size_t *ref_len)
{
    char *p = sb__media_norm(pred), *r = sb__media_norm(ref);
    size_t n = strlen(p), m = strlen(r);
    size_t d = lev(n, m, eq_char, p, r);
    free(p);
    free(r);
    if (dist)
        *dist = d;
    if (ref_len)
        *ref_len = m;
    return m ? (double)d / m : (n ? 1.0 : 0.0);
}

double sb__media_wer(const char *pred, const char *ref, size_t *dist, size_t *ref_len)
{
    struct words p = split_words(pred), r = split_words(ref);
    size_t d = lev(p.n, r.n, eq_word, p.w, r.w);
    size_t m = r.n, n = p.n;
    words_free(&p);
    words_free(&r);
    if (dist)
        *dist = d;
    if (ref_len)
        *ref_len = m;
    return m ? (double)d / m : (n ? 1.0 : 0.0);
}
