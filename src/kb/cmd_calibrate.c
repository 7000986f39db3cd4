/* SPDX-License-Identifier: MIT */
/*
 * `switchboard kb calibrate`: fits a tenant's answer-confidence model and abstention threshold
 * in C (sb_kb_calibrate), from labelled questions asked against the tenant's stored KB
 * (--queries/--qrels: a question is answerable when one of its relevant entries is in the KB)
 * and/or from feature files written by `eval answer --features` (several KB draws pooled, as
 * for the shipped model). Prints the cross-validated and in-sample decisions and the model;
 * --save stores it for the tenant in kb.db (used by the next answers and after restarts),
 * --reset goes back to the shipped model.
 */
#include "kb_internal.h"
#include "sb/kb.h"

#include "sb/mem.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALIB_SAMPLES_MAX 2000000 /* rows of feature files read at most */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: switchboard kb calibrate [FEATURES.tsv...] [--queries Q.jsonl --qrels R.tsv]\n"
            "           [--data DIR] [--tenant T] [--l2 X] [--precision P] [--abstain A]\n"
            "           [--folds K] [--prior shipped|zero] [--no-guard] [--json]\n"
            "           [--save | --reset]\n"
            "Fits the answer confidence (logistic regression over the ranking features) and the\n"
            "lowest threshold meeting precision >= P (0.95) and unanswerable abstained >= A\n"
            "(0.90), with K-fold cross-validation over the questions (5). The L2 penalty (X,\n"
            "1e-3 per question) pulls the coefficients towards the shipped model (or 0).\n"
            "Questions come from\n"
            "--queries/--qrels asked against the tenant's KB (no relevant entry in the KB =\n"
            "unanswerable) and/or from `eval answer --features` files. --save stores the model\n"
            "for the tenant; --reset returns it to the shipped model.\n");
}

struct samples {
    struct sb_kb_calib_sample *s;
    char **ids; /* owned ids the samples borrow */
    size_t n, cap;
};

static struct sb_kb_calib_sample *add_sample(struct samples *ss, const char *id)
{
    if (ss->n == ss->cap) {
        ss->cap = ss->cap ? ss->cap * 2 : 1024;
        ss->s = sb_realloc(ss->s, ss->cap * sizeof(*ss->s));
        ss->ids = sb_realloc(ss->ids, ss->cap * sizeof(*ss->ids));
    }
    ss->ids[ss->n] = sb_strdup(id);
    struct sb_kb_calib_sample *s = &ss->s[ss->n++];
    memset(s, 0, sizeof(*s));
    s->query_id = ss->ids[ss->n - 1];
    return s;
}

static void samples_cleanup(struct samples *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        free(ss->ids[i]);
    free(ss->ids);
    free(ss->s);
}

/* Rows "query<TAB>answerable<TAB>right<TAB>14 features[<TAB>more columns]". */
static int read_features(const char *path, struct samples *ss, struct sb_error *err)
{
    char *data;
    size_t len;
    int rc = sb__kb_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    int line = 0;
    char *cursor = data;
    for (char *l; !rc && (l = sb__kb_next_line(&cursor));) {
        line++;
        if (!l[0])
            continue;
        if (ss->n >= CALIB_SAMPLES_MAX) {
            rc = sb_error_set(err, SB_ETOOBIG, "%s:%d: more than %d samples", path, line,
                              CALIB_SAMPLES_MAX);
            break;
        }
        char *tab = strchr(l, '\t');
        if (!tab) {
            rc = sb_error_set(err, SB_EPARSE,
                              "%s:%d: expected query<TAB>answerable<TAB>right"
                              "<TAB>%d features",
                              path, line, SB_KB_CONF_NF);
            break;
        }
        *tab = '\0';
        struct sb_kb_calib_sample *s = add_sample(ss, l);
        char *p = tab + 1, *end;
        double v[2 + SB_KB_CONF_NF];
        for (int j = 0; j < 2 + SB_KB_CONF_NF; j++) {
            v[j] = strtod(p, &end);
            if (end == p || (*end != '\t' && *end != '\0' && *end != '\r') || !isfinite(v[j])) {
                rc = sb_error_set(err, SB_EPARSE,
                                  "%s:%d: column %d is not a number (expected "
                                  "%d features)",
                                  path, line, j + 2, SB_KB_CONF_NF);
                break;
            }
            p = *end == '\t' ? end + 1 : end;
        }
        s->answerable = v[0] > 0;
        s->right = v[1] > 0;
        memcpy(s->x, v + 2, sizeof(s->x));
    }
    free(data);
    return rc;
}

/* Asks every question of the set against the tenant's KB through the answer path. */
static int ask_questions(struct sb_kb *kb, int64_t tenant, const struct sb__kb_qset *set,
                         struct samples *ss, struct sb_error *err)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct sb__kb_query *q = &set->q[i];
        double x[SB_KB_CONF_NF];
        struct sb_kb_answer *a = NULL;
        int rc = sb_kb_conf_features(kb, tenant, q->text, NULL, x, &a, err);
        if (rc)
            return rc;
        struct sb_kb_calib_sample *s = add_sample(ss, q->id);
        memcpy(s->x, x, sizeof(x));
        for (size_t j = 0; j < q->nrel && !s->answerable; j++) {
            struct sb_kb_doc d;
            if (sb_kb_get(kb, tenant, q->rel[j], &d, NULL) == 0) {
                s->answerable = 1;
                sb_kb_doc_cleanup(&d);
            }
        }
        for (size_t j = 0; a->n_citations && j < q->nrel && !s->right; j++)
            s->right = strcmp(a->citations[0].doc_id, q->rel[j]) == 0;
        sb_kb_answer_free(a);
    }
    return 0;
}

static json_t *outcome_json(const struct sb_kb_calib_outcome *o)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f}", "answerable", (json_int_t)o->answerable,
                     "answered_correct", (json_int_t)o->answered_right, "answered_wrong",
                     (json_int_t)o->answered_wrong, "unanswerable", (json_int_t)o->unanswerable,
                     "unanswerable_answered", (json_int_t)o->unanswerable_answered, "precision",
                     o->precision, "answered_rate", o->answered, "unanswerable_abstained_rate",
                     o->abstained);
}

static double num_opt(const char *v, const char *name, int *bad)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d)) {
        fprintf(stderr, "switchboard kb calibrate: %s needs a number\n", name);
        *bad = 1;
    }
    return d;
}

int sb__kb_cmd_calibrate(int argc, char **argv)
{
    const char *data = getenv("SB_DATA");
    if (!data || !data[0])
        data = "./data";
    const char *tenant_s = "demo", *queries = NULL, *qrels = NULL;
    int json = 0, save = 0, reset = 0, bad = 0, use_prior = 1;
    struct sb_kb_calib_opts o;
    sb_kb_calib_opts_default(&o);
    struct sb_kb_conf_model shipped;
    sb_kb_conf_model_default(&shipped);
    const char **files = sb_calloc((size_t)argc + 1, sizeof(char *));
    size_t nfiles = 0;
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            free(files);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--save") == 0) {
            save = 1;
        } else if (strcmp(a, "--reset") == 0) {
            reset = 1;
        } else if (strcmp(a, "--oof-threshold") == 0) {
            o.oof_threshold = 1;
        } else if (strcmp(a, "--no-guard") == 0) {
            o.guard = 0;
        } else if (a[0] == '-' && a[1] && !v) {
            fprintf(stderr, "switchboard kb calibrate: %s needs a value\n", a);
            bad = 1;
        } else if (strcmp(a, "--data") == 0) {
            data = argv[++i];
        } else if (strcmp(a, "--tenant") == 0) {
            tenant_s = argv[++i];
        } else if (strcmp(a, "--queries") == 0) {
            queries = argv[++i];
        } else if (strcmp(a, "--qrels") == 0) {
            qrels = argv[++i];
        } else if (strcmp(a, "--l2") == 0) {
            o.l2 = num_opt(argv[++i], a, &bad);
        } else if (strcmp(a, "--precision") == 0) {
            o.precision = num_opt(argv[++i], a, &bad);
        } else if (strcmp(a, "--abstain") == 0) {
            o.abstain = num_opt(argv[++i], a, &bad);
        } else if (strcmp(a, "--prior") == 0) {
            const char *pv = argv[++i];
            if (strcmp(pv, "zero") == 0) {
                use_prior = 0;
            } else if (strcmp(pv, "shipped") != 0) {
                fprintf(stderr, "switchboard kb calibrate: --prior is shipped or zero\n");
                bad = 1;
            }
        } else if (strcmp(a, "--folds") == 0) {
            o.folds = (int)num_opt(argv[++i], a, &bad);
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "switchboard kb calibrate: unknown option '%s'\n", a);
            bad = 1;
        } else {
            files[nfiles++] = a;
        }
    }
    if (!bad && ((!queries) != (!qrels) || (!reset && !queries && !nfiles) ||
                 (reset && (save || queries || nfiles)))) {
        usage(stderr);
        bad = 1;
    }
    if (bad) {
        free(files);
        return 2;
    }
    o.prior = use_prior ? &shipped : NULL;
    int status = 0;
    struct sb_error err = {0};
    struct sb_kb *kb = NULL;
    struct samples ss = {0};
    struct sb__kb_qset set = {0};
    int64_t tenant = 1;
    if (queries || save || reset) {
        if (sb__kb_resolve_tenant(data, tenant_s, &tenant)) {
            status = 1;
            goto out;
        }
        if (sb_kb_open(data, &kb, &err)) {
            fprintf(stderr, "switchboard kb calibrate: %s\n", err.msg);
            status = 1;
            goto out;
        }
    }
    if (reset) {
        if (sb_kb_set_conf_model(kb, tenant, NULL, &err)) {
            fprintf(stderr, "switchboard kb calibrate: %s\n", err.msg);
            status = 1;
        } else {
            printf("tenant %lld: back to the shipped confidence model\n", (long long)tenant);
        }
        goto out;
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (read_features(files[i], &ss, &err)) {
            fprintf(stderr, "switchboard kb calibrate: %s\n", err.msg);
            status = 1;
            goto out;
        }
    }
    if (queries) {
        if (sb__kb_load_queries(queries, &set, &err) || sb__kb_load_qrels(qrels, &set, &err) ||
            ask_questions(kb, tenant, &set, &ss, &err)) {
            fprintf(stderr, "switchboard kb calibrate: %s\n", err.msg);
            status = 1;
            goto out;
        }
    }
    struct sb_kb_conf_model m;
    struct sb_kb_calib_report rep;
    if (sb_kb_calibrate(ss.s, ss.n, &o, &m, &rep, &err)) {
        fprintf(stderr, "switchboard kb calibrate: %s\n", err.msg);
        status = 1;
        goto out;
    }
    if (json) {
        json_t *w = json_object();
        for (size_t i = 0; i < SB_KB_CONF_NF; i++)
            json_object_set_new(w, sb_kb_conf_feature_name(i), json_real(m.w[i]));
        json_t *out =
            json_pack("{s:I,s:o,s:o,s:b,s:f,s:i,s:f,s:o,s:f}", "samples", (json_int_t)ss.n, "cv",
                      outcome_json(&rep.cv), "fit", outcome_json(&rep.fit), "goals_met", rep.met,
                      "brier", rep.brier, "iterations", rep.iterations, "bias", m.bias, "weights",
                      w, "threshold", m.threshold);
        char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
        printf("%s\n", s);
        free(s);
        json_decref(out);
    } else {
        printf("%zu questions (%zu answerable, %zu unanswerable)\n", ss.n, rep.fit.answerable,
               rep.fit.unanswerable);
        if (o.folds >= 2)
            printf("%d-fold CV: precision %.4f, answerable answered %.4f, unanswerable "
                   "abstained %.4f (Brier %.4f)\n",
                   o.folds, rep.cv.precision, rep.cv.answered, rep.cv.abstained, rep.brier);
        printf("fitted on all: threshold %.3f%s -> precision %.4f, answered %.4f, abstained "
               "%.4f (in-sample; %d Newton steps)\n",
               m.threshold, rep.met ? "" : " (goals not met: abstains almost always)",
               rep.fit.precision, rep.fit.answered, rep.fit.abstained, rep.iterations);
        printf("bias %.4f\n", m.bias);
        for (size_t i = 0; i < SB_KB_CONF_NF; i++)
            printf("%-8s %.4f\n", sb_kb_conf_feature_name(i), m.w[i]);
    }
    if (save) {
        if (sb_kb_set_conf_model(kb, tenant, &m, &err)) {
            fprintf(stderr, "switchboard kb calibrate: %s\n", err.msg);
            status = 1;
        } else {
            fprintf(json ? stderr : stdout, "saved for tenant %lld%s\n", (long long)tenant,
                    rep.met ? "" : " (warning: the goals were not met)");
        }
    }
out:
    sb_kb_close(kb);
    sb__kb_qset_cleanup(&set);
    samples_cleanup(&ss);
    free(files);
    return status;
}
