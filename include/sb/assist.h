/* SPDX-License-Identifier: MIT */
/*
 * The bot's understanding and knowledge, wired into the pipeline: an annotator that stores
 * language, intent, sentiment, entities and PII spans on each customer message (src/nlu), and
 * the "assist" policy that answers from the tenant's knowledge base with citations (src/kb),
 * hands off on request or on escalation signals, and otherwise says it does not know.
 */
#ifndef SB_ASSIST_H
#define SB_ASSIST_H

#include "sb/kb.h"
#include "sb/nlu.h"
#include "sb/policy.h"

#include <pthread.h>

/* What the annotator and the policy share; it outlives the engine. */
struct sb_assist {
    /* The models in use, each may be NULL. Owned (one reference each); replaced by
     * sb_assist_models_reload under `models_lock`, so readers on other threads take their
     * own references with sb_assist_models_get instead of reading these members. */
    struct sb_nlu_model *intent;
    struct sb_nlu_model *sentiment;
    char *models_dir;             /* owned: DATA/models */
    pthread_mutex_t models_lock;  /* guards intent and sentiment (initialised by init) */
    struct sb_kb *kb;               /* may be NULL: never answers from knowledge */
    char *media_dir; /* owned (sb_assist_init): DATA/media, attachments by tenant; NULL none */
    struct sb_llm *llm; /* owned (sb_assist_configure_llm): LLM phrasing; NULL = extractive */
};

struct sb_config;
/*
 * Sets up the optional LLM phrasing of KB answers from the settings llm_url (empty = none),
 * llm_model, llm_key_file (else the SB_LLM_KEY environment variable) and llm_timeout_ms.
 * Call after sb_assist_init; freed by sb_assist_cleanup. SB_EINVAL for a bad URL or model,
 * the file's error for an unreadable key file.
 */
int sb_assist_configure_llm(struct sb_assist *a, const struct sb_config *cfg,
                            struct sb_error *err);

/*
 * Sets up `a` for a data directory: loads DATA/models/intent.model and
 * DATA/models/sentiment.model, training each first when missing (from DEMO/intents/shop.tsv
 * and DEMO/sentiment/shop.tsv; a missing demo sentiment file means no sentiment); opens
 * DATA/kb.db and, when the default tenant's knowledge base is empty, imports the files of DEMO/kb.
 * Free with sb_assist_cleanup().
 */
int sb_assist_init(struct sb_assist *a, const char *data_dir, const char *demo_dir,
                   int64_t default_tenant, struct sb_error *err);
void sb_assist_cleanup(struct sb_assist *a);

/*
 * References to the models in use now (either may be NULL); the caller drops them with
 * sb_nlu_model_free. A reload that happens meanwhile does not affect them. Thread-safe.
 */
void sb_assist_models_get(struct sb_assist *a, struct sb_nlu_model **intent,
                          struct sb_nlu_model **sentiment);

/* What sb_assist_models_reload found for one model file. */
struct sb_assist_model_info {
    enum sb_nlu_kind kind;
    int loaded;       /* 1: read and now in use; 0: no such file, the current model stays */
    char path[4200];
    size_t nlabels;
    long long bytes;  /* file size */
    double load_ms;
};

/*
 * Re-reads DATA/models/intent.model and DATA/models/sentiment.model (info[0], info[1]) and
 * swaps them in atomically for readers: all or nothing. A file that is absent keeps the
 * current model. A file that does not load (corrupt, truncated, wrong kind: SB_EPARSE,
 * SB_EINVAL, SB_EIO, message naming the file) leaves both models as they were. Thread-safe;
 * concurrent reloads are serialised.
 */
int sb_assist_models_reload(struct sb_assist *a, struct sb_assist_model_info info[2],
                            struct sb_error *err);

/* sb_annotate_fn for the engine: `ud` is a struct sb_assist. */
char *sb_assist_annotate(void *ud, const struct sb_message *msg);

/*
 * Media understanding for the annotator (src/engine/annotate_media.c): runs OCR over the image
 * parts and ASR over the audio parts of `msg` (files under media_dir/<tenant>/<sha256>, see
 * src/http/api_attachments.c) with time limits. Adds "ocr": {"text", "fields", "confidence"},
 * "asr": {"text", "confidence", "engine"} or "media_error" to `annotations` (a JSON object
 * of jansson, passed as void * to keep jansson out of this header) and returns what the
 * customer said in voice notes (malloc'd, NULL when none). Never fails: a corrupt file becomes
 * "media_error".
 */
char *sb_assist_media_annotate(const char *media_dir, const struct sb_message *msg,
                               void *annotations);

/* The policy; `self` is a struct sb_assist. */
extern const struct sb_policy_ops sb_policy_assist;

#endif
