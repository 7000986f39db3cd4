/* SPDX-License-Identifier: MIT */
/*
 * The OpenAI-compatible chat-completions client (libcurl) and the phrasing of grounded answers:
 * PII is redacted from the question before it leaves the process, the reply must pass the
 * sentence-by-sentence grounding check (ground.c), and every failure, slow reply or unsupported
 * sentence falls back to the knowledge base's extractive answer. Each call owns its own curl
 * handle; the timeout bounds the whole transfer, so a hung server never delays a reply by more.
 */
#include "sb/llm.h"

#include "sb/json.h"
#include "sb/mem.h"
#include "sb/nlu.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 3000
#define DEFAULT_MAX_RESPONSE (256 * 1024)
#define PROMPT_MAX (64 * 1024) /* bytes of passages put in one prompt */

struct sb_llm {
    char *endpoint;
    char *model;
    char *auth; /* "Authorization: Bearer ..." or NULL */
    long timeout_ms;
    size_t max_response;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int sb_llm_new(const struct sb_llm_config *cfg, struct sb_llm **out, struct sb_error *err)
{
    if (!cfg || !out)
        return sb_error_set(err, SB_EINVAL, "llm: no configuration");
    if (!cfg->url || (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8)))
        return sb_error_set(err, SB_EINVAL, "llm.url: must start with http:// or https://");
    if (strlen(cfg->url) > 2048)
        return sb_error_set(err, SB_ETOOBIG, "llm.url: longer than 2048 bytes");
    if (!cfg->model || !cfg->model[0] || strlen(cfg->model) > 256)
        return sb_error_set(err, SB_EINVAL, "llm.model: required (at most 256 bytes)");
    if (cfg->api_key && (strlen(cfg->api_key) > 4096 || strpbrk(cfg->api_key, "\r\n")))
        return sb_error_set(err, SB_EINVAL, "llm.api_key: bad key");
    if (cfg->timeout_ms < 0 || cfg->timeout_ms > 600000)
        return sb_error_set(err, SB_EINVAL, "llm.timeout_ms: 0..600000");
    pthread_once(&curl_once, curl_init_once);
    struct sb_llm *l = sb_calloc(1, sizeof(*l));
    size_t ul = strlen(cfg->url);
    while (ul && cfg->url[ul - 1] == '/')
        ul--;
    const char *suffix = "/chat/completions";
    if (ul >= strlen(suffix) && memcmp(cfg->url + ul - strlen(suffix), suffix, strlen(suffix)) == 0)
        l->endpoint = sb_strndup(cfg->url, ul);
    else
        l->endpoint = sb_strdupf("%.*s%s", (int)ul, cfg->url, suffix);
    l->model = sb_strdup(cfg->model);
    if (cfg->api_key && cfg->api_key[0])
        l->auth = sb_strdupf("Authorization: Bearer %s", cfg->api_key);
    l->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    l->max_response = cfg->max_response ? cfg->max_response : DEFAULT_MAX_RESPONSE;
    *out = l;
    return 0;
}

void sb_llm_free(struct sb_llm *llm)
{
    if (!llm)
        return;
    free(llm->endpoint);
    free(llm->model);
    free(llm->auth);
    free(llm);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct sb_buf *b = user;
    size_t n = size * nmemb;
    /* returning less than n aborts the transfer with CURLE_WRITE_ERROR */
    return sb_buf_append(b, data, n) == 0 ? n : 0;
}

int sb_llm_chat(struct sb_llm *llm, const char *system, const char *user, char **reply,
                struct sb_error *err)
{
    if (!llm || !user || !reply)
        return sb_error_set(err, SB_EINVAL, "llm_chat: no client or message");
    json_t *req = json_pack("{s:s, s:f, s:[{s:s, s:s}, {s:s, s:s}]}", "model", llm->model,
                            "temperature", 0.0, "messages", "role", "system", "content",
                            system ? system : "", "role", "user", "content", user);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return sb_error_set(err, SB_EINVAL, "llm_chat: message is not valid UTF-8");
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct sb_buf resp;
    sb_buf_init(&resp, llm->max_response);
    int rc = 0;
    if (!c) {
        rc = sb_error_set(err, SB_EINTERNAL, "llm_chat: curl_easy_init failed");
        goto out;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    if (llm->auth)
        h = curl_slist_append(h, llm->auth);
    curl_easy_setopt(c, CURLOPT_URL, llm->endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, llm->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, llm->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = sb_error_set(err, SB_ETIMEDOUT, "llm: no reply within %ld ms", llm->timeout_ms);
        goto out;
    }
    if (cc == CURLE_WRITE_ERROR) {
        rc = sb_error_set(err, SB_ETOOBIG, "llm: response larger than %zu bytes",
                          llm->max_response);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = sb_error_set(err, SB_EIO, "llm: %s", curl_easy_strerror(cc));
        goto out;
    }
    if (status != 200) {
        rc = sb_error_set(err, SB_EIO, "llm: HTTP status %ld", status);
        goto out;
    }
    json_t *doc = NULL;
    rc = sb_json_parse(resp.data ? resp.data : "", resp.len, llm->max_response, 32, &doc, err);
    if (rc) {
        rc = sb_error_set(err, SB_EPARSE, "llm: response is not JSON (%s)", err ? err->msg : "");
        goto out;
    }
    json_t *content = json_object_get(
        json_object_get(json_array_get(json_object_get(doc, "choices"), 0), "message"),
        "content");
    if (!json_is_string(content))
        rc = sb_error_set(err, SB_EPARSE, "llm: response has no choices[0].message.content");
    else
        *reply = sb_strdup(json_string_value(content));
    json_decref(doc);
out:
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
    sb_buf_cleanup(&resp);
    free(body);
    return rc;
}

/* Every sentence of the reply is checked against the passages (sb_llm_grounded), so the prompt
 * asks for nothing but restated facts: a greeting or a pleasantry ("Sure!", "Hope this helps")
 * is a sentence without a source and sends the customer the extractive answer instead. */
static const char *const system_prompt =
    "You are a customer-service assistant. Answer the customer's question using ONLY the facts "
    "in the passages below, reusing their words. Do not add facts, numbers, names or promises "
    "that are not in them. Every sentence must state a fact from the passages: no greetings, "
    "apologies, offers of further help or other pleasantries. At most three sentences, in the "
    "customer's language. If the passages do not answer the question, repeat the draft answer "
    "word for word.";

int sb_llm_phrase(struct sb_llm *llm, const char *question, const char *extractive,
                  const char *const *passages, size_t n_passages, char **out, int *used_llm,
                  struct sb_error *err)
{
    if (!question || !extractive || !out || (n_passages && !passages))
        return sb_error_set(err, SB_EINVAL, "llm_phrase: question and answer required");
    if (used_llm)
        *used_llm = 0;
    *out = NULL;
    if (!llm) {
        *out = sb_strdup(extractive);
        return 0;
    }
    char *masked = NULL;
    if (sb_nlu_redact(question, strlen(question), NULL, SB_NLU_PII_MASK, &masked, NULL, NULL) ||
        !masked) {
        /* never send what we could not redact */
        sb_error_set(err, SB_EINVAL, "llm: question could not be redacted");
        free(masked);
        *out = sb_strdup(extractive);
        return 0;
    }
    struct sb_buf p;
    sb_buf_init(&p, PROMPT_MAX);
    sb_buf_appends(&p, "Passages:\n");
    for (size_t i = 0; i < n_passages; i++) {
        if (sb_buf_appendf(&p, "[%zu] %s\n", i + 1, passages[i] ? passages[i] : ""))
            break; /* the cap: keep the passages that fit */
    }
    sb_buf_appendf(&p, "\nDraft answer: %s\n\nCustomer question: %s\n", extractive, masked);
    free(masked);
    char *reply = NULL;
    int rc = sb_llm_chat(llm, system_prompt, p.data ? p.data : "", &reply, err);
    sb_buf_cleanup(&p);
    size_t bad = 0;
    if (rc == 0 && sb_llm_grounded(reply, passages, n_passages, &bad)) {
        *out = reply;
        if (used_llm)
            *used_llm = 1;
        return 0;
    }
    if (rc == 0)
        sb_error_set(err, SB_EINVAL, "llm: sentence %zu of the reply is not in the passages", bad + 1);
    free(reply);
    *out = sb_strdup(extractive);
    return 0;
}
