/* SPDX-License-Identifier: MIT */
/*
 * Optional LLM phrasing of grounded answers. Switchboard ships NO language model: this is a
 * client for an OpenAI-compatible chat-completions endpoint the operator runs or rents (an
 * on-premises llama.cpp / vLLM / Ollama server, or a cloud API), configured by URL, model and
 * key. The LLM never decides what to say: the knowledge base chooses the entry and builds an
 * extractive answer (sb_kb_answer); the LLM may only re-phrase it from the cited passages.
 * Before the prompt leaves the process, PII is redacted (sb_nlu_redact); the reply is checked
 * sentence by sentence against the passages (sb_llm_grounded) and the extractive answer is used
 * whenever any sentence is unsupported, the call fails, or it takes longer than the timeout.
 *
 * Threads: a `struct sb_llm` is immutable after sb_llm_new and may be shared; every call makes
 * its own libcurl handle, so calls run in parallel. Calls block for up to the timeout: run them
 * on a worker thread, never on the network loop. Ownership: inputs are borrowed; returned
 * strings are new (free with free()).
 */
#ifndef SB_LLM_H
#define SB_LLM_H

#include "sb/error.h"

#include <stddef.h>

struct sb_llm;

struct sb_llm_config {
    const char *url;     /* base URL, e.g. "http://127.0.0.1:8080/v1"; "/chat/completions" is
                          * appended unless the URL already ends with it */
    const char *model;   /* e.g. "llama-3.1-8b-instruct" */
    const char *api_key; /* sent as "Authorization: Bearer KEY"; NULL/"" = none */
    long timeout_ms;     /* whole call, connect included; 0 = 3000 */
    size_t max_response; /* bytes of the HTTP response body; 0 = 256 KiB */
};

/* Validates and copies `cfg` (http/https URL, model required). Free with sb_llm_free(). */
int sb_llm_new(const struct sb_llm_config *cfg, struct sb_llm **out, struct sb_error *err);
void sb_llm_free(struct sb_llm *llm);

/*
 * One chat completion: a system and a user message at temperature 0; *reply receives
 * choices[0].message.content (free with free()). Errors: SB_ETIMEDOUT (timeout), SB_EIO
 * (connection, HTTP status other than 200, with the status in the message), SB_ETOOBIG (body
 * above max_response), SB_EPARSE (not JSON or no content). No redaction here: see
 * sb_llm_phrase.
 */
int sb_llm_chat(struct sb_llm *llm, const char *system, const char *user, char **reply,
                struct sb_error *err);

/*
 * The grounding check. `text` is split into sentences (at . ! ? 。！？ and line breaks); a
 * sentence is supported when every number in it occurs in the passages and at least 80 % of its
 * content words (Latin words of 3+ letters that are not function words; each CJK character)
 * occur in them (words compared case-insensitively on their first 4 letters, so "refunds" /
 * "refunded" match). Returns 1 when every sentence is supported (and there is at least one),
 * else 0 with the 0-based index of the first unsupported sentence in *bad (may be NULL).
 */
int sb_llm_grounded(const char *text, const char *const *passages, size_t n_passages,
                    size_t *bad);

/*
 * Phrases a grounded answer: redacts PII from `question`, asks the LLM to answer it using only
 * `passages` (the cited entries' text) and `extractive` (the KB's answer), checks the reply with
 * sb_llm_grounded and returns it in *out; on any failure or unsupported sentence *out is a copy
 * of `extractive`. *used_llm (may be NULL) says which. Returns 0 whenever *out is set (the
 * reason for a fallback is in `err` with its code, for logging), a negative code only for bad
 * arguments. `llm` NULL = no LLM configured: the extractive answer.
 */
int sb_llm_phrase(struct sb_llm *llm, const char *question, const char *extractive,
                  const char *const *passages, size_t n_passages, char **out, int *used_llm,
                  struct sb_error *err);

#endif
