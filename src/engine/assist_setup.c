/* SPDX-License-Identifier: MIT */
/*
 * Loading the bot's models and knowledge at start (see sb_assist_init), and reloading the
 * models while the daemon runs (sb_assist_models_reload). The demo tenant gets the shop's
 * intents and sentiment (each trained here in well under a second) and knowledge base, so that
 * `switchboard serve` with no configuration has a bot that understands and answers.
 */
#include "sb/assist.h"

#include "sb/llm.h"
#include "sb/log.h"
#include "sb/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Trains a model of `kind` on the demo TSV `tsv` and saves it at `model_path`. */
static int train_demo(enum sb_nlu_kind kind, const char *tsv, const char *model_path,
                      struct sb_nlu_model **out, struct sb_error *err)
{
    struct sb_nlu_dataset *ds = NULL;
    int rc = sb_nlu_tsv_read(tsv, &ds, err);
    if (rc)
        return rc;
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.kind = kind;
    char name[64];
    snprintf(name, sizeof(name), "demo shop %s", sb_nlu_kind_name(kind));
    rc = sb_nlu_train(ds, NULL, &o, name, out, err);
    sb_nlu_dataset_free(ds);
    if (rc == 0 && (rc = sb_nlu_model_save(*out, model_path, err))) {
        sb_nlu_model_free(*out);
        *out = NULL;
    }
    if (rc == 0)
        SB_LOG(SB_LOG_INFO, "assist", "trained the %s model from %s into %s",
               sb_nlu_kind_name(kind), tsv, model_path);
    return rc;
}

/*
 * Loads DATA/models/<kind>.model, or trains it first from DEMO/<demo_sub>/shop.tsv when the
 * model is missing. `optional`: a missing demo file too means no model (0, *out NULL).
 */
static int load_or_train(const char *models, const char *demo_dir, enum sb_nlu_kind kind,
                         const char *demo_sub, int optional, struct sb_nlu_model **out,
                         struct sb_error *err)
{
    char path[4200], src[4200];
    snprintf(path, sizeof(path), "%s/%s.model", models, sb_nlu_kind_name(kind));
    if (access(path, F_OK) == 0)
        return sb_nlu_model_load(path, kind, out, err);
    snprintf(src, sizeof(src), "%s/%s/shop.tsv", demo_dir, demo_sub);
    if (optional && access(src, F_OK) != 0) {
        SB_LOG(SB_LOG_INFO, "assist", "no %s and no %s: messages get no %s", path, src,
               sb_nlu_kind_name(kind));
        return 0;
    }
    return train_demo(kind, src, path, out, err);
}

static int import_demo_kb(struct sb_kb *kb, const char *dir, int64_t tenant, struct sb_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no demo knowledge: nothing to import */
    char *paths[64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 64)
        if (de->d_name[0] != '.')
            paths[n++] = sb_strdupf("%s/%s", dir, de->d_name);
    closedir(d);
    size_t docs = 0;
    int rc = n ? sb_kb_import_files(kb, tenant, (const char *const *)paths, n, &docs, err) : 0;
    if (rc == 0 && n)
        SB_LOG(SB_LOG_INFO, "assist", "imported the demo knowledge base: %zu entries", docs);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    return rc;
}

int sb_assist_init(struct sb_assist *a, const char *data_dir, const char *demo_dir,
                   int64_t default_tenant, struct sb_error *err)
{
    memset(a, 0, sizeof(*a));
    pthread_mutex_init(&a->models_lock, NULL);
    a->media_dir = sb_strdupf("%s/media", data_dir);
    a->models_dir = sb_strdupf("%s/models", data_dir);
    char src[4200];
    int rc;
    if (mkdir(a->models_dir, 0700) != 0 && errno != EEXIST) {
        rc = sb_error_set(err, SB_EIO, "%s: %s", a->models_dir, strerror(errno));
        goto fail;
    }
    if ((rc = load_or_train(a->models_dir, demo_dir, SB_NLU_INTENT, "intents", 0, &a->intent,
                            err)) ||
        (rc = load_or_train(a->models_dir, demo_dir, SB_NLU_SENTIMENT, "sentiment", 1,
                            &a->sentiment, err)))
        goto fail;

    if ((rc = sb_kb_open(data_dir, &a->kb, err)))
        goto fail;
    if (sb_kb_count(a->kb, default_tenant) == 0) {
        snprintf(src, sizeof(src), "%s/kb", demo_dir);
        if ((rc = import_demo_kb(a->kb, src, default_tenant, err)))
            goto fail;
    }
    return 0;
fail:
    sb_assist_cleanup(a);
    return rc;
}

void sb_assist_models_get(struct sb_assist *a, struct sb_nlu_model **intent,
                          struct sb_nlu_model **sentiment)
{
    pthread_mutex_lock(&a->models_lock);
    *intent = a->intent ? sb_nlu_model_ref(a->intent) : NULL;
    *sentiment = a->sentiment ? sb_nlu_model_ref(a->sentiment) : NULL;
    pthread_mutex_unlock(&a->models_lock);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Serialises reloads (the route and SIGHUP may race); the swap itself is under models_lock. */
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

int sb_assist_models_reload(struct sb_assist *a, struct sb_assist_model_info info[2],
                            struct sb_error *err)
{
    static const enum sb_nlu_kind kinds[2] = {SB_NLU_INTENT, SB_NLU_SENTIMENT};
    struct sb_nlu_model *fresh[2] = {NULL, NULL};
    int rc = 0;
    pthread_mutex_lock(&reload_lock);
    for (int i = 0; i < 2; i++) {
        struct sb_assist_model_info *in = &info[i];
        memset(in, 0, sizeof(*in));
        in->kind = kinds[i];
        snprintf(in->path, sizeof(in->path), "%s/%s.model", a->models_dir,
                 sb_nlu_kind_name(kinds[i]));
        struct stat st;
        if (stat(in->path, &st) != 0) {
            if (errno == ENOENT)
                continue; /* absent: the current model stays */
            rc = sb_error_set(err, SB_EIO, "%s: %s", in->path, strerror(errno));
            goto out;
        }
        in->bytes = (long long)st.st_size;
        double t0 = now_ms();
        if ((rc = sb_nlu_model_load(in->path, kinds[i], &fresh[i], err)))
            goto out;
        in->load_ms = now_ms() - t0;
        in->nlabels = sb_nlu_model_nlabels(fresh[i]);
        in->loaded = 1;
    }
    pthread_mutex_lock(&a->models_lock);
    struct sb_nlu_model **slot[2] = {&a->intent, &a->sentiment};
    for (int i = 0; i < 2; i++) {
        if (!fresh[i])
            continue;
        struct sb_nlu_model *old = *slot[i];
        *slot[i] = fresh[i];
        fresh[i] = old; /* dropped below: readers keep their own references */
    }
    pthread_mutex_unlock(&a->models_lock);
    for (int i = 0; i < 2; i++)
        if (info[i].loaded)
            SB_LOG(SB_LOG_INFO, "assist", "reloaded %s: %zu labels, %lld bytes, %.1f ms",
                   info[i].path, info[i].nlabels, info[i].bytes, info[i].load_ms);
out:
    for (int i = 0; i < 2; i++)
        sb_nlu_model_free(fresh[i]);
    pthread_mutex_unlock(&reload_lock);
    return rc;
}

void sb_assist_cleanup(struct sb_assist *a)
{
    sb_nlu_model_free(a->intent);
    sb_nlu_model_free(a->sentiment);
    sb_kb_close(a->kb);
    sb_llm_free(a->llm);
    free(a->media_dir);
    free(a->models_dir);
    pthread_mutex_destroy(&a->models_lock);
    memset(a, 0, sizeof(*a));
}
