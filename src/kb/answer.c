/* SPDX-License-Identifier: MIT */
/*
 * Grounded answers: the ranked entries of a question become an extractive answer (a FAQ's
 * answer, an article section, a product's attributes rendered as a sentence) with citations and
 * a calibrated confidence; below the threshold the bot abstains and hands off. Nothing in an
 * answer is generated: every sentence is copied from, or rendered field by field out of, the
 * cited entry. The confidence is a logistic model over score features whose coefficients were
 * fitted on StackFAQ train queries against KBs missing 20 % of the threads (bench/kb/, docs/kb.md).
 */
#include "kb_internal.h"

#include "sb/mem.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX 1500  /* bytes of section text quoted in an answer */
#define CITATIONS_MAX 3
#define CANDIDATES 20

/* Logistic coefficients for lexical ranking: bias, then the features in struct order (top,
 * gap, cover, ctitle, known, nterms, ratio, agree_t, agree_b, phr, unk, lfc, lrc, lbg, tm,
 * tm_gap, tm_top, dcos, dgap); the first 14 fitted by bench/kb/calibrate.py (session 3); the
 * translation-model features weigh 0: they raised StackFAQ CV but lowered the demo KB's
 * confidences (docs/kb.md). A tenant's own fit (switchboard kb calibrate) may use them. */
static const double coef[1 + SB_KB_CONF_NF] = {
    -2.6803, 0.9534, 1.0847, 1.6360, 0.9303, -0.1776, 1.1099, -2.9012, 0.8810, 0.5232,
    0.0000,  -0.1047, 1.3824, 1.1588, 0.2313, 0.0,    0.0,    0.0,     0.0,    0.0};

/* The same refitted for ranking fused with the sentence encoder's cosine, in the KB's adapted
 * encoder space (sessions 7-8: `switchboard kb calibrate --prior zero --oof-threshold` over the
 * StackFAQ train queries against ten KBs missing 20 % of the threads, each with its own encoder
 * map; CV precision 0.949, answered 0.506, abstained 0.940). The cosine features (dcos, dgap)
 * and the translation features weigh 0: with them the CV reaches 0.577 answered, but a model
 * fitted on StackFAQ alone with cosine features abstained on the demo shop's plain questions,
 * whose catalogue variants and related FAQs are near neighbours (docs/kb.md). A tenant's own
 * fit may use them. */
static const double coef_dense[1 + SB_KB_CONF_NF] = {
    -2.7466, 0.6317, 1.1789, 0.8405, 0.9473, -0.0942, 0.8949, -0.9006, 0.7929, 0.4748,
    0.0000,  -0.0954, 1.4122, 0.8953, 0.4967, 0.0,    0.0,    0.0,     0.0,    0.0};
#define DENSE_THRESHOLD 0.83

void sb__kb_conf_model_shipped(struct sb_kb_conf_model *m, int dense)
{
    const double *c = dense ? coef_dense : coef;
    m->bias = c[0];
    memcpy(m->w, c + 1, sizeof(m->w));
    m->threshold = dense ? DENSE_THRESHOLD : SB__KB_DEFAULT_THRESHOLD;
}

void sb_kb_conf_model_default(struct sb_kb_conf_model *m)
{
    sb__kb_conf_model_shipped(m, 0);
}

void sb__kb_features_vec(const struct sb__kb_features *f, double x[SB_KB_CONF_NF])
{
    const double v[SB_KB_CONF_NF] = {f->top,     f->gap,     f->cover, f->ctitle, f->known,
                                     f->nterms,  f->ratio,   f->agree_t, f->agree_b, f->phr,
                                     f->unk,     f->lfc,     f->lrc,   f->lbg,    f->tm,
                                     f->tm_gap,  f->tm_top,  f->dcos,  f->dgap};
    memcpy(x, v, sizeof(v));
}

/* Group of the best entry when only field `keep` counts (the others weigh 0). */
static int top_group_by_field(const struct sb__kb_index *ix, const char *query, const char *lang,
                              const struct sb__kb_params *p, int keep, uint32_t *g)
{
    struct sb__kb_params q = *p;
    for (int f = 0; f < SB__KB_NF; f++) {
        if (f != keep)
            q.w[f] = 0;
    }
    q.prf_docs = 0;
    struct sb__kb_scored top;
    if (sb__kb_index_search(ix, query, lang, &q, 1, &top, NULL) != 1 || top.score <= 0)
        return 0;
    *g = sb__kb_index_group(ix, top.slot);
    return 1;
}

/* Cuts `s` to at most `max` bytes at a paragraph, sentence or word boundary. */
static char *excerpt(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return sb_strdup(s);
    size_t cut = 0;
    for (size_t i = max / 2; i < max; i++) {
        if (s[i] == '\n' || ((s[i] == '.' || s[i] == '!' || s[i] == '?') && s[i + 1] == ' '))
            cut = i + 1;
    }
    if (!cut) {
        for (size_t i = max; i > max / 2 && !cut; i--) {
            if (s[i] == ' ')
                cut = i;
        }
    }
    if (!cut) {
        cut = max;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--; /* do not split a UTF-8 sequence */
    }
    char *out = sb_malloc(cut + 4);
    memcpy(out, s, cut);
    memcpy(out + cut, "\xE2\x80\xA6", 4); /* … */
    return out;
}

/* "Oslo sofa (SKU SOFA-OSLO): width 210 cm, depth 90 cm, colour blue. Price: 899 €." */
char *sb__kb_render_product(const struct sb_kb_doc *d)
{
    struct sb_buf b;
    sb_buf_init(&b, 0);
    sb_buf_appends(&b, d->title);
    if (d->sku[0])
        sb_buf_appendf(&b, " (SKU %s)", d->sku);
    json_t *a = d->attrs_json[0] ? json_loads(d->attrs_json, 0, NULL) : NULL;
    int first = 1;
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v)
        {
            char num[64];
            const char *val = json_is_string(v) ? json_string_value(v) : NULL;
            if (json_is_number(v)) {
                snprintf(num, sizeof(num), "%g", json_number_value(v));
                val = num;
            }
            if (!val || !val[0])
                continue;
            sb_buf_appends(&b, first ? ": " : ", ");
            first = 0;
            for (const char *p = k; *p; p++) {
                char c = *p == '_' ? ' ' : *p;
                if (c >= 'A' && c <= 'Z')
                    c = (char)(c | 0x20);
                sb_buf_append(&b, &c, 1);
            }
            sb_buf_appendf(&b, " %s", val);
        }
    }
    json_decref(a);
    sb_buf_appends(&b, ".");
    if (d->price[0])
        sb_buf_appendf(&b, " Price: %s.", d->price);
    if (d->body[0]) {
        char *e = excerpt(d->body, 400);
        sb_buf_appendf(&b, " %s", e);
        free(e);
    }
    return sb_buf_steal(&b, NULL);
}

static char *render(const struct sb_kb_doc *d)
{
    if (d->kind == SB_KB_PRODUCT)
        return sb__kb_render_product(d);
    return excerpt(d->body[0] ? d->body : d->title, ANSWER_MAX);
}

static void cite(struct sb_kb_citation *c, const struct sb_kb_doc *d)
{
    c->doc_id = sb_strdup(d->id);
    if (d->kind == SB_KB_SECTION && d->heading[0] && strcmp(d->heading, d->title) != 0)
        c->title = sb_strdupf("%s — %s", d->title, d->heading);
    else
        c->title = sb_strdup(d->title[0] ? d->title : d->id);
    c->link = sb_strdup(d->link);
}

int sb__kb_build_answer(const struct sb__kb_index *ix, const char *query, const char *lang,
                        const float *qvec, const struct sb__kb_params *p,
                        const struct sb_kb_conf_model *m, struct sb_kb_answer **out,
                        struct sb__kb_features *feat_out)
{
    double threshold = m->threshold;
    struct sb_kb_answer *a = sb_calloc(1, sizeof(*a));
    a->decision = SB_KB_ABSTAIN;
    struct sb__kb_scored top[CANDIDATES];
    struct sb__kb_qinfo qi;
    size_t n = sb__kb_rank(ix, query, lang, qvec, p, CANDIDATES, top, &qi);
    struct sb__kb_features f = {0};
    if (n > 0 && qi.qmax > 0) {
        double norm = (1.0 + (p->group > 0 ? p->group : 0)) * qi.qmax;
        uint32_t g0 = sb__kb_index_group(ix, top[0].slot);
        /* lexical evidence of the cited entry against the best lexical score of another
         * group; the same for the cosine (both 0 without an embedding of the question) */
        double second = 0, second_cos = 0;
        int seen_other = 0;
        for (size_t i = 1; i < n; i++) {
            if (sb__kb_index_group(ix, top[i].slot) == g0)
                continue;
            second = !seen_other || top[i].lex > second ? top[i].lex : second;
            second_cos = !seen_other || top[i].cos > second_cos ? top[i].cos : second_cos;
            seen_other = 1;
        }
        f.top = top[0].lex / norm;
        f.gap = (top[0].lex - second) / norm;
        f.dcos = top[0].cos;
        f.dgap = top[0].cos - second_cos;
        f.known = qi.n_terms ? (double)qi.n_known / (double)qi.n_terms : 0;
        f.nterms = log(1.0 + (double)qi.n_terms);
        sb__kb_index_coverage(ix, top[0].slot, query, lang, &f.cover, &f.ctitle);
        f.ratio = top[0].lex > 0 ? second / top[0].lex : 0;
        const struct sb_kb_doc *d0 = sb__kb_index_doc(ix, top[0].slot);
        size_t nphr = d0->questions[0] ? 1 : 0;
        for (const char *c = d0->questions; *c; c++)
            nphr += *c == '\n';
        f.phr = log(1.0 + (double)nphr);
        f.unk = qi.n_unfixed > 0;
        double rf[1][SB__KB_RF_N];
        sb__kb_index_features(ix, query, lang, p, top, 1, rf);
        f.lfc = rf[0][SB__KB_RF_LFC];
        f.lrc = rf[0][SB__KB_RF_LRC];
        f.lbg = rf[0][SB__KB_RF_LBG];
        uint32_t gt, gb;
        f.agree_t = top_group_by_field(ix, query, lang, p, SB__KB_F_TITLE, &gt) && gt == g0;
        f.agree_b = top_group_by_field(ix, query, lang, p, SB__KB_F_BODY, &gb) && gb == g0;
        /* translation-model evidence of the cited entries (the top one and the best of two
         * other groups); computed when the model uses it or the caller wants the features */
        if (feat_out || m->w[SB__KB_CF_TM] != 0 || m->w[SB__KB_CF_TM_GAP] != 0 ||
            m->w[SB__KB_CF_TM_TOP] != 0) {
            uint32_t cs[CITATIONS_MAX], cg[CITATIONS_MAX];
            size_t nc = 0;
            for (size_t i = 0; i < n && nc < CITATIONS_MAX; i++) {
                uint32_t g = sb__kb_index_group(ix, top[i].slot);
                int dup = 0;
                for (size_t j = 0; j < nc && !dup; j++)
                    dup = cg[j] == g;
                if (!dup) {
                    cg[nc] = g;
                    cs[nc++] = top[i].slot;
                }
            }
            double tms[CITATIONS_MAX];
            sb__kb_index_translation(ix, query, lang, cs, nc, tms);
            double other = 0;
            for (size_t j = 1; j < nc; j++)
                other = j == 1 || tms[j] > other ? tms[j] : other;
            f.tm = tms[0];
            f.tm_gap = tms[0] - other;
            f.tm_top = tms[0] >= other;
        }
        double x[SB_KB_CONF_NF];
        sb__kb_features_vec(&f, x);
        a->confidence = sb__kb_conf_apply(m, x, 1); /* with the unknown-topic guard */
        /* citations: the best entry, then runners-up from other groups */
        a->citations = sb_calloc(CITATIONS_MAX, sizeof(*a->citations));
        uint32_t groups[CITATIONS_MAX];
        for (size_t i = 0; i < n && a->n_citations < CITATIONS_MAX; i++) {
            uint32_t g = sb__kb_index_group(ix, top[i].slot);
            int dup = 0;
            for (size_t j = 0; j < a->n_citations && !dup; j++)
                dup = groups[j] == g;
            if (dup)
                continue;
            groups[a->n_citations] = g;
            cite(&a->citations[a->n_citations++], sb__kb_index_doc(ix, top[i].slot));
        }
        if (a->confidence >= threshold) {
            a->decision = SB_KB_ANSWER;
            a->text = render(sb__kb_index_doc(ix, top[0].slot));
        }
    }
    if (feat_out)
        *feat_out = f;
    *out = a;
    return 0;
}

void sb_kb_answer_free(struct sb_kb_answer *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_citations; i++) {
        free(a->citations[i].doc_id);
        free(a->citations[i].title);
        free(a->citations[i].link);
    }
    free(a->citations);
    free(a->text);
    free(a);
}
