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

/* What the annotator and the policy share. All members borrowed; they outlive the engine. */
struct sb_assist {
    struct sb_nlu_model *intent;    /* may be NULL */
    struct sb_nlu_model *sentiment; /* may be NULL */
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
 * Sets up `a` for a data directory: loads DATA/models/intent.model (training it first from
 * DEMO/intents/shop.tsv when missing) and DATA/models/sentiment.model when present; opens
 * DATA/kb.db and, when the default tenant's knowledge base is empty, imports the files of DEMO/kb.
 * Free with sb_assist_cleanup().
 */
int sb_assist_init(struct sb_assist *a, const char *data_dir, const char *demo_dir,
                   int64_t default_tenant, struct sb_error *err);
void sb_assist_cleanup(struct sb_assist *a);

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
