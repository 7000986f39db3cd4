/* SPDX-License-Identifier: MIT */
/*
 * `switchboard eval intent|sentiment --model MODEL --data TEST.tsv [--json]
 * [--predictions OUT.jsonl] [--oos-threshold T]`: classifies every row and reports accuracy,
 * macro-F1 and the time per item; with an `oos` label in the data also in-scope accuracy and
 * out-of-scope recall and precision. Predictions are written atomically, one JSON line per row
 * in input order.
 */
#include "sb/clock.h"
#include "sb/cli.h"
#include "sb/mem.h"
#include "sb/nlu.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void eval_usage(FILE *f)
{
    fprintf(f, "usage: switchboard eval intent|sentiment --model MODEL --data TEST.tsv [--json]\n"
               "         [--predictions OUT.jsonl] [--oos-threshold T]\n");
}

struct labelset {
    char **name;
    size_t n, cap;
};

static size_t label_id(struct labelset *ls, const char *s)
{
    for (size_t i = 0; i < ls->n; i++)
        if (strcmp(ls->name[i], s) == 0)
            return i;
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? ls->cap * 2 : 64;
        ls->name = sb_realloc(ls->name, ls->cap * sizeof(char *));
    }
    ls->name[ls->n] = sb_strdup(s);
    return ls->n++;
}

int sb_nlu_cmd_eval(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        eval_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    enum sb_nlu_kind kind = sb_nlu_kind_parse(argv[0]);
    if (!kind) {
        fprintf(stderr, "switchboard eval: unknown kind '%s'\n", argv[0]);
        return 2;
    }
    const char *modelp = NULL, *datap = NULL, *predp = NULL;
    int json = 0;
    double thr = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            eval_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "switchboard eval: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--model") == 0)
            modelp = v;
        else if (strcmp(a, "--data") == 0)
            datap = v;
        else if (strcmp(a, "--predictions") == 0)
            predp = v;
        else if (strcmp(a, "--oos-threshold") == 0) {
            char *end;
            thr = strtod(v, &end);
            if (end == v || *end || thr < 0 || thr > 1) {
                fprintf(stderr, "switchboard eval: --oos-threshold takes 0..1\n");
                return 2;
            }
        } else {
            fprintf(stderr, "switchboard eval: unknown option '%s'\n", a);
            return 2;
        }
    }
    if (!modelp || !datap) {
        fprintf(stderr, "switchboard eval: --model and --data are required\n");
        eval_usage(stderr);
        return 2;
    }
    struct sb_error err = {0};
    struct sb_nlu_model *m = NULL;
    struct sb_nlu_dataset *ds = NULL;
    struct labelset ls = {0};
    size_t *gold = NULL, *pred = NULL;
    double *conf = NULL;
    char *tmp = NULL;
    FILE *pf = NULL;
    int status = 1;
    int64_t tl0 = sb_mono_ns();
    if (sb_nlu_model_load(modelp, kind, &m, &err)) {
        fprintf(stderr, "switchboard eval: %s\n", err.msg);
        goto out;
    }
    int64_t tl1 = sb_mono_ns();
    if (sb_nlu_tsv_read(datap, &ds, &err)) {
        fprintf(stderr, "switchboard eval: %s\n", err.msg);
        goto out;
    }
    gold = sb_malloc(ds->n * sizeof(size_t));
    pred = sb_malloc(ds->n * sizeof(size_t));
    conf = sb_malloc(ds->n * sizeof(double));
    size_t oos_id = label_id(&ls, SB_NLU_OOS_LABEL);
    const char **plabel = sb_malloc(ds->n * sizeof(char *));
    int64_t t0 = sb_mono_ns();
    for (size_t i = 0; i < ds->n; i++) {
        struct sb_nlu_result r;
        sb_nlu_classify(m, ds->text[i], strlen(ds->text[i]), thr, &r);
        plabel[i] = r.label;
        conf[i] = r.confidence;
    }
    int64_t t1 = sb_mono_ns();
    int has_oos = 0;
    for (size_t i = 0; i < ds->n; i++) {
        gold[i] = label_id(&ls, ds->label[i]);
        pred[i] = label_id(&ls, plabel[i]);
        if (gold[i] == oos_id)
            has_oos = 1;
    }
    free(plabel);

    size_t L = ls.n, ok = 0;
    size_t *tp = sb_calloc(L, sizeof(size_t)), *fp = sb_calloc(L, sizeof(size_t)),
           *fn = sb_calloc(L, sizeof(size_t));
    size_t in_n = 0, in_ok = 0, oos_n = 0, oos_hit = 0, oos_pred = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (gold[i] == pred[i]) {
            ok++;
            tp[gold[i]]++;
        } else {
            fp[pred[i]]++;
            fn[gold[i]]++;
        }
        if (gold[i] == oos_id) {
            oos_n++;
            oos_hit += pred[i] == oos_id;
        } else {
            in_n++;
            in_ok += pred[i] == gold[i];
        }
        oos_pred += pred[i] == oos_id;
    }
    double f1sum = 0;
    size_t f1n = 0;
    for (size_t l = 0; l < L; l++) {
        if (tp[l] + fn[l] == 0 && fp[l] == 0)
            continue; /* neither in the data nor predicted (e.g. the unused oos slot) */
        double p = tp[l] + fp[l] ? (double)tp[l] / (tp[l] + fp[l]) : 0;
        double r = tp[l] + fn[l] ? (double)tp[l] / (tp[l] + fn[l]) : 0;
        f1sum += p + r > 0 ? 2 * p * r / (p + r) : 0;
        f1n++;
    }
    free(tp);
    free(fp);
    free(fn);
    double acc = (double)ok / ds->n, mf1 = f1n ? f1sum / f1n : 0;
    double us = (double)(t1 - t0) / 1e3 / ds->n;

    if (predp) {
        tmp = sb_strdupf("%s.tmp.XXXXXX", predp);
        int fd = mkstemp(tmp);
        if (fd < 0 || !(pf = fdopen(fd, "w"))) {
            fprintf(stderr, "switchboard eval: %s: cannot create: %s\n", predp, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto out;
        }
        for (size_t i = 0; i < ds->n; i++) {
            json_t *o = json_pack("{s:s, s:f}", "label", ls.name[pred[i]], "confidence",
                                  (double)(long)(conf[i] * 10000 + 0.5) / 10000);
            char *s = json_dumps(o, JSON_COMPACT);
            fprintf(pf, "%s\n", s);
            free(s);
            json_decref(o);
        }
        int bad = fflush(pf) != 0 || ferror(pf) || fsync(fileno(pf)) != 0;
        bad |= fclose(pf) != 0;
        pf = NULL;
        if (bad || rename(tmp, predp) != 0) {
            fprintf(stderr, "switchboard eval: %s: write failed: %s\n", predp, strerror(errno));
            unlink(tmp);
            goto out;
        }
    }

    if (json) {
        json_t *o = json_pack("{s:I, s:f, s:f, s:f}", "n", (json_int_t)ds->n, "accuracy", acc,
                              "macro_f1", mf1, "us_per_item", us);
        if (has_oos) {
            json_object_set_new(o, "in_scope_accuracy", json_real(in_n ? (double)in_ok / in_n : 0));
            json_object_set_new(o, "oos_recall", json_real(oos_n ? (double)oos_hit / oos_n : 0));
            json_object_set_new(o, "oos_precision",
                                json_real(oos_pred ? (double)oos_hit / oos_pred : 0));
        }
        json_object_set_new(o, "model_load_ms", json_real((double)(tl1 - tl0) / 1e6));
        char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("rows          %zu\naccuracy      %.4f\nmacro_f1      %.4f\n", ds->n, acc, mf1);
        if (has_oos)
            printf("in_scope_acc  %.4f\noos_recall    %.4f\noos_precision %.4f\n",
                   in_n ? (double)in_ok / in_n : 0, oos_n ? (double)oos_hit / oos_n : 0,
                   oos_pred ? (double)oos_hit / oos_pred : 0);
        printf("us_per_item   %.1f\nmodel_load_ms %.1f\n", us, (double)(tl1 - tl0) / 1e6);
    }
    status = 0;
out:
    if (pf)
        fclose(pf);
    free(tmp);
    for (size_t i = 0; i < ls.n; i++)
        free(ls.name[i]);
    free(ls.name);
    free(gold);
    free(pred);
    free(conf);
    sb_nlu_dataset_free(ds);
    sb_nlu_model_free(m);
    return status;
}
