/* SPDX-License-Identifier: MIT */
/*
 * Dense scores for KB ranking: the sentence encoder (src/embed, USE-lite) turns an entry's text
 * and a question into unit vectors, and the ranking adds w · cosine to the lexical score scaled
 * by the question's best lexical score. Lexical ranking misses paraphrases that share no word
 * with the entry ("is it safe to run two at once" / "concurrent instances"); the encoder alone is
 * weak (StackFAQ MRR@10 0.69 against 0.84), the sum of both is better than either (docs/kb.md,
 * session 7). The encoder is English only, so entries and questions in other languages or
 * mostly in CJK script get no vector and rank lexically.
 */
#include "kb_internal.h"

#include "sb/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sb__kb_dense_applies(const char *text, const char *lang)
{
    if (lang && lang[0] && strncmp(lang, "en", 2) != 0)
        return 0;
    /* letters in CJK scripts (lead bytes E3..ED: U+3040..U+D7FF) against ASCII letters */
    size_t cjk = 0, latin = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        if (*s >= 0xE3 && *s <= 0xED)
            cjk++;
        else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')
            latin++;
    }
    return latin > 0 && cjk * 4 <= latin;
}

char *sb__kb_dense_entry_text(const struct sb_kb_doc *in)
{
    /* entries given to sb_kb_put may leave fields NULL (= "") */
    struct sb_kb_doc nd = *in, *d = &nd;
    char **fields[] = {&nd.parent, &nd.collection, &nd.lang, &nd.title, &nd.questions,
                       &nd.heading, &nd.body, &nd.link, &nd.sku, &nd.price, &nd.attrs_json};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (!*fields[i])
            *fields[i] = (char *)"";
    }
    /* what the encoder was measured on: the question (or title) and the answer (or body);
     * a section's heading path says what the section is about; a product is what the bot
     * would say about it (name, attributes, price, description) */
    char *text;
    if (d->kind == SB_KB_PRODUCT) {
        text = sb__kb_render_product(d);
    } else {
        struct sb_buf b;
        sb_buf_init(&b, 0);
        const char *parts[] = {d->title, d->kind == SB_KB_SECTION ? d->heading : NULL, d->body};
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            if (!parts[i] || !parts[i][0] || (i == 1 && !strcmp(parts[i], d->title)))
                continue;
            if (b.len)
                sb_buf_appends(&b, " ");
            sb_buf_appends(&b, parts[i]);
        }
        text = sb_buf_steal(&b, NULL);
    }
    if (!text || !sb__kb_dense_applies(text, d->lang)) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- entries, on as many threads as there are cores ---- */

struct embed_job {
    const struct sb_embed_model *enc;
    char *const *texts;
    float *vecs;
    unsigned char *ok;
    size_t n, next;
    pthread_mutex_t mu;
};

static void *embed_worker(void *arg)
{
    struct embed_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n)
            return NULL;
        const char *text = j->texts[i];
        j->ok[i] =
            text && sb_embed_text(j->enc, text, j->vecs + i * SB_EMBED_DIM, NULL) == 0 ? 1 : 0;
    }
}

void sb__kb_dense_entries(const struct sb_embed_model *enc, const struct sb_kb_doc *docs,
                          size_t n, float *vecs, unsigned char *ok)
{
    memset(ok, 0, n);
    if (!enc || !n)
        return;
    char **texts = sb_malloc(n * sizeof(*texts));
    for (size_t i = 0; i < n; i++)
        texts[i] = sb__kb_dense_entry_text(&docs[i]);
    sb__kb_dense_texts(enc, texts, n, vecs, ok);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
}

void sb__kb_dense_texts(const struct sb_embed_model *enc, char *const *texts, size_t n,
                        float *vecs, unsigned char *ok)
{
    memset(ok, 0, n);
    if (!enc || !n)
        return;
    struct embed_job j = {.enc = enc, .texts = texts, .vecs = vecs, .ok = ok, .n = n};
    pthread_mutex_init(&j.mu, NULL);
    /* the calling thread works too: one helper thread per further core, at most 7, none for a
     * handful of entries */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = cores > 1 ? (size_t)cores - 1 : 0;
    if (nt > 7)
        nt = 7;
    if (nt > n / 8)
        nt = n / 8;
    pthread_t th[7];
    size_t started = 0;
    for (; started < nt; started++) {
        if (pthread_create(&th[started], NULL, embed_worker, &j) != 0)
            break;
    }
    embed_worker(&j);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&j.mu);
}

/* ---- fusion ---- */

static double dot(const float *a, const float *b)
{
    float s[8] = {0};
    for (int i = 0; i < SB_EMBED_DIM; i += 8) {
        for (int j = 0; j < 8; j++)
            s[j] += a[i + j] * b[i + j];
    }
    return (double)(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
}

size_t sb__kb_dense_fuse(const struct sb__kb_index *ix, const float *q,
                         const struct sb__kb_params *p, const struct sb__kb_scored *cand, size_t n,
                         size_t k, struct sb__kb_scored *out)
{
    float qm[SB_EMBED_DIM]; /* in the KB's adapted space, as its entries */
    sb__kb_index_map_query(ix, q, qm);
    q = qm;
    double w = sb__kb_index_adapter(ix) ? p->dense_adapted : p->dense;
    double top = 0;
    for (size_t i = 0; i < n; i++)
        top = cand[i].lex > top ? cand[i].lex : top;
    struct sb__kb_scored *all = NULL;
    size_t m = n;
    if (p->dense_depth <= 0) {
        /* every entry: the lexical candidates keep their scores, the others have none */
        size_t ns = sb__kb_index_nslots(ix);
        double *lex = sb_calloc(ns ? ns : 1, sizeof(double));
        for (size_t i = 0; i < n; i++)
            lex[cand[i].slot] = cand[i].lex;
        all = sb_malloc((ns ? ns : 1) * sizeof(*all));
        m = 0;
        for (uint32_t s = 0; s < ns; s++) {
            if (sb__kb_index_doc(ix, s))
                all[m++] = (struct sb__kb_scored){.slot = s, .lex = lex[s]};
        }
        free(lex);
    } else {
        all = sb_malloc((n ? n : 1) * sizeof(*all));
        memcpy(all, cand, n * sizeof(*all));
    }
    for (size_t i = 0; i < m; i++) {
        const float *v = sb__kb_index_vec(ix, all[i].slot);
        all[i].cos = v ? dot(q, v) : 0;
        all[i].score = (top > 0 ? all[i].lex / top : 0) + w * all[i].cos;
    }
    qsort(all, m, sizeof(*all), sb__kb_scored_cmp);
    if (m > k)
        m = k;
    memcpy(out, all, m * sizeof(*out));
    free(all);
    return m;
}
