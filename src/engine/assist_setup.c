/* SPDX-License-Identifier: MIT */
/*
 * Loading the bot's models and knowledge at start (see sb_assist_init). The demo tenant gets
 * the shop's intents (trained here in well under a second) and knowledge base, so that
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
#include <unistd.h>

static int train_intents(const char *tsv, const char *model_path, struct sb_nlu_model **out,
                         struct sb_error *err)
{
    struct sb_nlu_dataset *ds = NULL;
    int rc = sb_nlu_tsv_read(tsv, &ds, err);
    if (rc)
        return rc;
    struct sb_nlu_train_opts o;
    sb_nlu_train_opts_init(&o);
    o.kind = SB_NLU_INTENT;
    rc = sb_nlu_train(ds, NULL, &o, "demo shop intents", out, err);
    sb_nlu_dataset_free(ds);
    if (rc == 0)
        rc = sb_nlu_model_save(*out, model_path, err);
    if (rc == 0)
        SB_LOG(SB_LOG_INFO, "assist", "trained the intent model from %s into %s", tsv,
               model_path);
    return rc;
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
    a->media_dir = sb_strdupf("%s/media", data_dir);
    char models[4096], path[4200], src[4200];
    snprintf(models, sizeof(models), "%s/models", data_dir);
    if (mkdir(models, 0700) != 0 && errno != EEXIST)
        return sb_error_set(err, SB_EIO, "%s: %s", models, strerror(errno));

    snprintf(path, sizeof(path), "%s/intent.model", models);
    int rc;
    if (access(path, F_OK) == 0) {
        rc = sb_nlu_model_load(path, SB_NLU_INTENT, &a->intent, err);
    } else {
        snprintf(src, sizeof(src), "%s/intents/shop.tsv", demo_dir);
        rc = train_intents(src, path, &a->intent, err);
    }
    if (rc)
        goto fail;
    snprintf(path, sizeof(path), "%s/sentiment.model", models);
    if (access(path, F_OK) == 0 &&
        (rc = sb_nlu_model_load(path, SB_NLU_SENTIMENT, &a->sentiment, err)))
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

void sb_assist_cleanup(struct sb_assist *a)
{
    sb_nlu_model_free(a->intent);
    sb_nlu_model_free(a->sentiment);
    sb_kb_close(a->kb);
    sb_llm_free(a->llm);
    free(a->media_dir);
    memset(a, 0, sizeof(*a));
}
