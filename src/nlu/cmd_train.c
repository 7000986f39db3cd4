/* SPDX-License-Identifier: MIT */
/*
 * `switchboard train intent|sentiment --data TRAIN.tsv [--val VAL.tsv] --out MODEL`: reads the
 * examples, trains, and writes the model atomically. Every failure is reported on stderr with
 * the file and line at fault, exit status 1 (2 for usage errors), and no output file is left.
 */
#include "sb/clock.h"
#include "sb/cli.h"
#include "sb/nlu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: switchboard train intent|sentiment --data TRAIN.tsv [--val VAL.tsv] "
            "--out MODEL\n"
            "         [--seed N] [--c C] [--oos-threshold T] [--features SPEC] [--no-refit]\n"
            "         [--quiet]\n\n"
            "TRAIN.tsv and VAL.tsv are UTF-8 files with the header 'text<TAB>label' and one\n"
            "example per line. For intents, label out-of-scope examples 'oos'. VAL chooses the\n"
            "settings, then the model is fitted on TRAIN and VAL together; without --val, a\n"
            "3-fold cross-validation on TRAIN (stratified, seeded) chooses them.\n"
            "  --seed N           shuffling and split seed (default 1)\n"
            "  --c C              regularisation (default: chosen on validation data)\n"
            "  --oos-threshold T  fixed out-of-scope confidence threshold (default: tuned)\n"
            "  --features SPEC    features and learners; default for intents\n"
            "                     \"w2 c2-5 h3 chat stem ens=svm+mlp\", for sentiment\n"
            "                     \"w2 c2-5 h3 x2-4 xhan xmindf=2 chat stem lex\n"
            "                     ens=svm+nb+mlp\" (lex: sentiment lexicon features, read from\n"
            "                     third_party/lexicons or $SB_NLU_LEXICON_DIR; see docs/nlu.md)\n"
            "  --no-refit         fit the final model on TRAIN only (to measure on VAL)\n");
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int sb_cmd_train(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        train_usage(stdout);
        return 0;
    }
    if (argc < 2) {
        train_usage(stderr);
        return 2;
    }
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.verbose = 1;
    o.kind = sb_nlu_kind_parse(argv[1]);
    if (!o.kind) {
        fprintf(stderr, "switchboard train: unknown kind '%s' (intent or sentiment)\n", argv[1]);
        return 2;
    }
    const char *data = NULL, *valp = NULL, *outp = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        if (strcmp(a, "--quiet") == 0) {
            o.verbose = 0;
            continue;
        }
        if (strcmp(a, "--no-refit") == 0) {
            o.no_refit = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            train_usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "switchboard train: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--data") == 0)
            data = v;
        else if (strcmp(a, "--val") == 0)
            valp = v;
        else if (strcmp(a, "--out") == 0)
            outp = v;
        else if (strcmp(a, "--features") == 0)
            o.features = v;
        else if (strcmp(a, "--seed") == 0 && parse_double(v, 1, 1e15, &d) == 0)
            o.seed = (uint64_t)d;
        else if (strcmp(a, "--c") == 0 && parse_double(v, 1e-4, 1e4, &d) == 0)
            o.c = d;
        else if (strcmp(a, "--oos-threshold") == 0 && parse_double(v, 0, 1, &d) == 0)
            o.oos_threshold = d;
        else {
            fprintf(stderr, "switchboard train: bad option '%s %s'\n", a, v);
            return 2;
        }
        i++;
    }
    if (!data || !outp) {
        fprintf(stderr, "switchboard train: --data and --out are required\n");
        train_usage(stderr);
        return 2;
    }
    struct sb_error err = {0};
    struct sb_nlu_dataset *tr = NULL, *va = NULL;
    struct sb_nlu_model *m = NULL;
    int status = 1;
    int64_t t0 = sb_mono_ns();
    if (sb_nlu_tsv_read(data, &tr, &err) || (valp && sb_nlu_tsv_read(valp, &va, &err))) {
        fprintf(stderr, "switchboard train: %s\n", err.msg);
        goto out;
    }
    if (sb_nlu_train(tr, va, &o, data, &m, &err)) {
        fprintf(stderr, "switchboard train: %s\n", err.msg);
        goto out;
    }
    int64_t t1 = sb_mono_ns();
    if (sb_nlu_model_save(m, outp, &err)) {
        fprintf(stderr, "switchboard train: %s\n", err.msg);
        goto out;
    }
    struct stat st;
    long long size = stat(outp, &st) == 0 ? (long long)st.st_size : -1;
    if (o.verbose)
        fprintf(stderr,
                "trained %s model: %zu labels from %zu rows in %.2f s, oos threshold %.3f; "
                "wrote %s (%lld bytes)\n",
                sb_nlu_kind_name(o.kind), sb_nlu_model_nlabels(m), tr->n,
                (double)(t1 - t0) / 1e9, sb_nlu_model_oos_threshold(m), outp, size);
    status = 0;
out:
    sb_nlu_model_free(m);
    sb_nlu_dataset_free(tr);
    sb_nlu_dataset_free(va);
    return status;
}
