/* SPDX-License-Identifier: MIT */
/*
 * `switchboard eval retrieval|answer`: measures the knowledge base on a BEIR-style collection.
 * retrieval: corpus (faq.jsonl or corpus.jsonl) + queries + qrels -> MRR@10, NDCG@10,
 * recall@5, success@1, time per query. answer: a KB file (possibly missing some threads) +
 * queries + qrels -> how often the bot answers right, answers wrong or abstains, through the
 * same code path the pipeline uses (sb__kb_build_answer). Hidden options for development:
 * --params SPEC (ranking parameters), --threshold T, --features OUT.tsv (confidence features
 * per query, to fit the calibration), --repeat N (latency runs).
 */
#include "sb/cli.h"
#include "sb/kb.h"
#include "kb_internal.h"

#include "sb/clock.h"
#include "sb/mem.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb__kb_qset_cleanup(struct sb__kb_qset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->q[i].id);
        free(s->q[i].text);
        for (size_t j = 0; j < s->q[i].nrel; j++)
            free(s->q[i].rel[j]);
        free(s->q[i].rel);
    }
    free(s->q);
}

int sb__kb_load_queries(const char *path, struct sb__kb_qset *s, struct sb_error *err)
{
    char *data;
    size_t len;
    int rc = sb__kb_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    int line = 0;
    char *cursor = data;
    for (char *l; (l = sb__kb_next_line(&cursor));) {
        line++;
        if (!l[0])
            continue;
        json_t *o = json_loads(l, 0, NULL);
        json_t *id = json_object_get(o, "id"), *t = json_object_get(o, "text");
        if (!json_is_string(id) || !json_is_string(t)) {
            json_decref(o);
            rc = sb_error_set(err, SB_EPARSE, "%s:%d: expected {\"id\",\"text\"}", path, line);
            break;
        }
        s->q = sb_realloc(s->q, (s->n + 1) * sizeof(*s->q));
        memset(&s->q[s->n], 0, sizeof(s->q[0]));
        s->q[s->n].id = sb_strdup(json_string_value(id));
        s->q[s->n].text = sb_strdup(json_string_value(t));
        s->n++;
        json_decref(o);
    }
    free(data);
    return rc;
}

int sb__kb_load_qrels(const char *path, struct sb__kb_qset *s, struct sb_error *err)
{
    char *data;
    size_t len;
    int rc = sb__kb_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    int line = 0;
    char *cursor = data;
    for (char *l; (l = sb__kb_next_line(&cursor));) {
        line++;
        if (!l[0])
            continue;
        char *t1 = strchr(l, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2) {
            rc = sb_error_set(err, SB_EPARSE, "%s:%d: expected query_id<TAB>doc_id<TAB>rel",
                              path, line);
            break;
        }
        *t1 = *t2 = '\0';
        if (line == 1 && strcmp(l, "query_id") == 0)
            continue;
        if (strtol(t2 + 1, NULL, 10) <= 0)
            continue;
        for (size_t i = 0; i < s->n; i++) {
            if (strcmp(s->q[i].id, l) == 0) {
                struct sb__kb_query *q = &s->q[i];
                q->rel = sb_realloc(q->rel, (q->nrel + 1) * sizeof(char *));
                q->rel[q->nrel++] = sb_strdup(t1 + 1);
                break;
            }
        }
    }
    free(data);
    return rc;
}

static int is_rel(const struct sb__kb_query *q, const char *doc)
{
    for (size_t i = 0; i < q->nrel; i++) {
        if (strcmp(q->rel[i], doc) == 0)
            return 1;
    }
    return 0;
}

/*
 * Learned phrasings: each learn query becomes an extra question phrasing of the FAQ entries its
 * qrels mark relevant (what a deployment learns from resolved conversations).
 */
static void add_phrasings(struct sb_kb_doc *docs, size_t n, const struct sb__kb_qset *learn)
{
    for (size_t i = 0; i < n; i++) {
        if (docs[i].kind != SB_KB_FAQ)
            continue;
        struct sb_buf b;
        sb_buf_init(&b, SB_KB_TEXT_MAX);
        sb_buf_appends(&b, docs[i].questions ? docs[i].questions : "");
        for (size_t j = 0; j < learn->n; j++) {
            if (!is_rel(&learn->q[j], docs[i].id))
                continue;
            if ((b.len && sb_buf_appends(&b, "\n")) || sb_buf_appends(&b, learn->q[j].text))
                break; /* the cap: keep what fits */
        }
        free(docs[i].questions);
        docs[i].questions = sb_buf_steal(&b, NULL);
    }
}

static int load_kb(const char *path, const struct sb__kb_qset *learn, struct sb_kb **kb,
                   struct sb_error *err)
{
    char *data;
    size_t len;
    int rc = sb__kb_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    struct sb_kb_doc *docs = NULL;
    size_t n = 0;
    rc = sb_kb_parse(path, data, len, &docs, &n, err);
    free(data);
    if (!rc && learn->n)
        add_phrasings(docs, n, learn);
    if (!rc)
        rc = sb_kb_open(NULL, kb, err);
    if (!rc) {
        rc = sb_kb_put(*kb, 1, docs, n, err);
        if (rc) {
            sb_kb_close(*kb);
            *kb = NULL;
        }
    }
    sb_kb_doc_list_free(docs, n);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void eval_usage(FILE *out)
{
    fprintf(out,
            "usage: switchboard eval retrieval --corpus FILE --queries FILE --qrels FILE "
            "[--json] [--predictions OUT.jsonl [--depth N]]\n"
            "       switchboard eval answer --kb FILE --queries FILE --qrels FILE [--json] "
            "[--predictions OUT.jsonl]\n"
            "Both take --learn-queries FILE --learn-qrels FILE: past questions (never the\n"
            "evaluated ones) added to the FAQ entries they were resolved with, as phrasings.\n"
            "Retrieval predictions hold each query's top N entries (--depth, default 10, at\n"
            "most 1000) and their scores, e.g. to fuse with another ranker's.\n");
}

int sb_kb_cmd_eval(int argc, char **argv)
{
    if (argc < 1)
        return 2;
    int answer_mode = strcmp(argv[0], "answer") == 0;
    const char *corpus = NULL, *queries = NULL, *qrels = NULL, *pred = NULL, *params = NULL,
               *features = NULL, *lq = NULL, *lqrels = NULL, *rankfeat = NULL;
    double threshold = -1;
    int json = 0;
    long repeat = 1, depth = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            eval_usage(stdout);
            return 0;
        }
        if (!v) {
            eval_usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, answer_mode ? "--kb" : "--corpus") == 0)
            corpus = v;
        else if (strcmp(a, "--queries") == 0)
            queries = v;
        else if (strcmp(a, "--qrels") == 0)
            qrels = v;
        else if (strcmp(a, "--predictions") == 0)
            pred = v;
        else if (strcmp(a, "--params") == 0)
            params = v;
        else if (strcmp(a, "--features") == 0)
            features = v;
        else if (strcmp(a, "--rank-features") == 0)
            rankfeat = v;
        else if (strcmp(a, "--threshold") == 0)
            threshold = strtod(v, NULL);
        else if (strcmp(a, "--learn-queries") == 0)
            lq = v;
        else if (strcmp(a, "--learn-qrels") == 0)
            lqrels = v;
        else if (strcmp(a, "--repeat") == 0)
            repeat = strtol(v, NULL, 10);
        else if (strcmp(a, "--depth") == 0)
            depth = strtol(v, NULL, 10);
        else {
            fprintf(stderr, "switchboard eval %s: unknown option '%s'\n", argv[0], a);
            eval_usage(stderr);
            return 2;
        }
    }
    if (!corpus || !queries || !qrels || repeat < 1 || repeat > 1000 || depth < 1 ||
        depth > 1000 || !lq != !lqrels) {
        eval_usage(stderr);
        return 2;
    }
    struct sb_error err = {0};
    struct sb__kb_qset set = {0}, learn = {0};
    struct sb_kb *kb = NULL;
    FILE *pf = NULL, *ff = NULL, *rf = NULL;
    double *times = NULL;
    int status = 0;
    if (sb__kb_load_queries(queries, &set, &err) || sb__kb_load_qrels(qrels, &set, &err) ||
        (lq && (sb__kb_load_queries(lq, &learn, &err) ||
                sb__kb_load_qrels(lqrels, &learn, &err)))) {
        fprintf(stderr, "switchboard eval %s: %s\n", argv[0], err.msg);
        status = 1;
        goto out;
    }
    for (size_t i = 0; i < learn.n; i++) {
        for (size_t j = 0; j < set.n; j++) {
            if (strcmp(learn.q[i].id, set.q[j].id) == 0 ||
                strcmp(learn.q[i].text, set.q[j].text) == 0) {
                fprintf(stderr, "switchboard eval %s: learn query %s is also evaluated\n",
                        argv[0], learn.q[i].id);
                status = 2;
                goto out;
            }
        }
    }
    if (load_kb(corpus, &learn, &kb, &err)) {
        fprintf(stderr, "switchboard eval %s: %s\n", argv[0], err.msg);
        status = 1;
        goto out;
    }
    struct sb__kb_params *p = sb__kb_params_of(kb);
    if (params && sb__kb_params_parse(p, params, &err)) {
        fprintf(stderr, "switchboard eval %s: %s\n", argv[0], err.msg);
        status = 2;
        goto out;
    }
    if (p->wn > 0 || p->wnd > 0 || p->wns > 0)
        sb__kb_wordnet_load();
    if (threshold >= 0)
        sb_kb_set_threshold(kb, threshold);
    if (pred && !(pf = fopen(pred, "w"))) {
        fprintf(stderr, "switchboard eval %s: cannot write %s\n", argv[0], pred);
        status = 1;
        goto out;
    }
    if (features && !(ff = fopen(features, "w"))) {
        fprintf(stderr, "switchboard eval %s: cannot write %s\n", argv[0], features);
        status = 1;
        goto out;
    }
    if (rankfeat && !(rf = fopen(rankfeat, "w"))) {
        fprintf(stderr, "switchboard eval %s: cannot write %s\n", argv[0], rankfeat);
        status = 1;
        goto out;
    }
    const struct sb__kb_index *ix = sb__kb_tenant_index(kb, 1);
    size_t used = 0;
    times = sb_malloc((set.n ? set.n : 1) * (size_t)repeat * sizeof(double));
    size_t ntimes = 0;
    if (!answer_mode) {
        double mrr = 0, ndcg = 0, rec5 = 0, s1 = 0;
        for (size_t i = 0; i < set.n; i++) {
            struct sb__kb_query *q = &set.q[i];
            if (q->nrel == 0)
                continue;
            used++;
            struct sb__kb_scored top[10];
            size_t n = 0;
            float qv[SB_EMBED_DIM];
            int has_qv = 0;
            for (long r = 0; r < repeat; r++) {
                /* timed as the bot does it: the question's embedding, then the ranking */
                int64_t t0 = sb_mono_ns();
                has_qv = sb__kb_query_vec(kb, q->text, NULL, qv);
                n = sb__kb_rank(ix, q->text, NULL, has_qv ? qv : NULL, p, 10, top, NULL);
                times[ntimes++] = (double)(sb_mono_ns() - t0) / 1e6;
            }
            if (rf) {
                /* first-stage candidates and their reranking features, to fit the model */
                struct sb__kb_params p1 = *p;
                p1.rerank = 0;
                struct sb__kb_scored cand[SB__KB_RERANK_DEPTH];
                size_t nc = sb__kb_index_search(ix, q->text, NULL, &p1, SB__KB_RERANK_DEPTH,
                                                cand, NULL);
                double(*fv)[SB__KB_RF_N] = sb_malloc((nc ? nc : 1) * sizeof(*fv));
                sb__kb_index_features(ix, q->text, NULL, &p1, cand, nc, fv);
                for (size_t c = 0; c < nc; c++) {
                    const char *id = sb__kb_index_doc(ix, cand[c].slot)->id;
                    fprintf(rf, "%s\t%s\t%d", q->id, id, is_rel(q, id));
                    for (int j = 0; j < SB__KB_RF_N; j++)
                        fprintf(rf, "\t%.6f", fv[c][j]);
                    fprintf(rf, "\n");
                }
                free(fv);
            }
            double dcg = 0, idcg = 0;
            size_t found5 = 0;
            int first = 0;
            for (size_t r = 0; r < n; r++) {
                const char *id = sb__kb_index_doc(ix, top[r].slot)->id;
                if (is_rel(q, id)) {
                    dcg += 1.0 / log2((double)r + 2.0);
                    if (!first)
                        first = (int)r + 1;
                    if (r < 5)
                        found5++;
                }
            }
            for (size_t r = 0; r < q->nrel && r < 10; r++)
                idcg += 1.0 / log2((double)r + 2.0);
            ndcg += idcg > 0 ? dcg / idcg : 0;
            mrr += first ? 1.0 / first : 0;
            rec5 += (double)found5 / (double)q->nrel;
            s1 += first == 1;
            if (pf) {
                /* the metrics stay at 10; the file may go deeper (an untimed second search) */
                struct sb__kb_scored *deep = top;
                size_t nd = n;
                if (depth != 10) {
                    deep = sb_malloc((size_t)depth * sizeof(*deep));
                    nd = sb__kb_rank(ix, q->text, NULL, has_qv ? qv : NULL, p, (size_t)depth,
                                     deep, NULL);
                }
                json_t *rk = json_array(), *sc = json_array();
                for (size_t r = 0; r < nd; r++) {
                    json_array_append_new(rk,
                                          json_string(sb__kb_index_doc(ix, deep[r].slot)->id));
                    json_array_append_new(sc, json_real(deep[r].score));
                }
                if (deep != top)
                    free(deep);
                json_t *o = json_pack("{s:s,s:o,s:o}", "query_id", q->id, "ranking", rk,
                                      "scores", sc);
                char *s = json_dumps(o, JSON_COMPACT);
                fprintf(pf, "%s\n", s);
                free(s);
                json_decref(o);
            }
        }
        qsort(times, ntimes, sizeof(double), cmp_double);
        double sum = 0;
        for (size_t i = 0; i < ntimes; i++)
            sum += times[i];
        double d = used ? (double)used : 1;
        double msq = ntimes ? sum / (double)ntimes : 0;
        double p50 = ntimes ? times[ntimes / 2] : 0;
        double p99 = ntimes ? times[(size_t)((double)(ntimes - 1) * 0.99)] : 0;
        if (json)
            printf("{\"queries\": %zu, \"documents\": %zu, \"mrr@10\": %.4f, \"ndcg@10\": %.4f, "
                   "\"recall@5\": %.4f, \"success@1\": %.4f, \"ms_per_query\": %.4f, "
                   "\"p50_ms\": %.4f, \"p99_ms\": %.4f}\n",
                   used, sb__kb_index_count(ix), mrr / d, ndcg / d, rec5 / d, s1 / d, msq, p50,
                   p99);
        else
            printf("queries %zu, documents %zu\nMRR@10     %.4f\nNDCG@10    %.4f\nrecall@5   "
                   "%.4f\nsuccess@1  %.4f\nms/query   %.4f (p50 %.4f, p99 %.4f)\n",
                   used, sb__kb_index_count(ix), mrr / d, ndcg / d, rec5 / d, s1 / d, msq, p50,
                   p99);
    } else {
        size_t answerable = 0, correct = 0, wrong = 0, abstained = 0, unanswerable = 0,
               un_answered = 0;
        double thr = sb_kb_threshold(kb);
        for (size_t i = 0; i < set.n; i++) {
            struct sb__kb_query *q = &set.q[i];
            int can = 0;
            for (size_t j = 0; j < q->nrel && !can; j++)
                can = sb__kb_index_find(ix, q->rel[j]) != NULL;
            struct sb_kb_answer *a = NULL;
            struct sb__kb_features f;
            int64_t t0 = sb_mono_ns();
            if (sb__kb_answer(kb, 1, q->text, NULL, &a, &f, &err)) {
                fprintf(stderr, "switchboard eval %s: %s: %s\n", argv[0], q->id, err.msg);
                status = 1;
                goto out;
            }
            times[ntimes++] = (double)(sb_mono_ns() - t0) / 1e6;
            int right = a->n_citations && is_rel(q, a->citations[0].doc_id);
            int ans = a->decision == SB_KB_ANSWER;
            if (can) {
                answerable++;
                if (!ans)
                    abstained++;
                else if (right)
                    correct++;
                else
                    wrong++;
            } else {
                unanswerable++;
                un_answered += ans;
            }
            if (ff) {
                /* query, answerable, right, the model's features in order, confidence */
                double x[SB_KB_CONF_NF];
                sb__kb_features_vec(&f, x);
                fprintf(ff, "%s\t%d\t%d", q->id, can, right);
                for (int j = 0; j < SB_KB_CONF_NF; j++)
                    fprintf(ff, "\t%.6f", x[j]);
                fprintf(ff, "\t%.6f\n", a->confidence);
            }
            if (pf) {
                json_t *c = json_array();
                for (size_t j = 0; j < a->n_citations; j++)
                    json_array_append_new(c, json_string(a->citations[j].doc_id));
                json_t *o = json_pack("{s:s,s:s,s:o}", "query_id", q->id, "decision",
                                      ans ? "answer" : "abstain", "citations", c);
                char *s = json_dumps(o, JSON_COMPACT);
                fprintf(pf, "%s\n", s);
                free(s);
                json_decref(o);
            }
            sb_kb_answer_free(a);
        }
        qsort(times, ntimes, sizeof(double), cmp_double);
        double tsum = 0;
        for (size_t i = 0; i < ntimes; i++)
            tsum += times[i];
        double msq = ntimes ? tsum / (double)ntimes : 0;
        double p99 = ntimes ? times[(size_t)((double)(ntimes - 1) * 0.99)] : 0;
        size_t given = correct + wrong + un_answered;
        double prec = given ? (double)correct / (double)given : 0;
        double ans_rate = answerable ? (double)(correct + wrong) / (double)answerable : 0;
        double abst = unanswerable ? 1.0 - (double)un_answered / (double)unanswerable : 0;
        if (json)
            printf("{\"answerable\": %zu, \"answered_correct\": %zu, \"answered_wrong\": %zu, "
                   "\"abstained\": %zu, \"unanswerable\": %zu, \"unanswerable_answered\": %zu, "
                   "\"precision\": %.4f, \"answered_rate\": %.4f, \"unanswerable_abstained_rate\":"
                   " %.4f, \"threshold\": %.3f, \"ms_per_query\": %.4f, \"p99_ms\": %.4f}\n",
                   answerable, correct, wrong, abstained, unanswerable, un_answered, prec,
                   ans_rate, abst, thr, msq, p99);
        else
            printf("answerable %zu: correct %zu, wrong %zu, abstained %zu\n"
                   "unanswerable %zu: answered %zu\n"
                   "precision of given answers %.4f, answerable answered %.4f, unanswerable "
                   "abstained %.4f (threshold %.3f)\nms/query %.4f (p99 %.4f)\n",
                   answerable, correct, wrong, abstained, unanswerable, un_answered, prec,
                   ans_rate, abst, thr, msq, p99);
    }
out:
    if (pf)
        fclose(pf);
    if (ff)
        fclose(ff);
    if (rf)
        fclose(rf);
    free(times);
    sb_kb_close(kb);
    sb__kb_qset_cleanup(&set);
    sb__kb_qset_cleanup(&learn);
    return status;
}
