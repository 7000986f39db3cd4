/* SPDX-License-Identifier: MIT */
/*
 * Understanding of images and voice notes for the annotator (worker thread): for each image
 * part of a customer message OCR with receipt key fields, for each audio part speech
 * recognition, each as a job in a child process under the configured time and memory limits
 * (include/sb/media_job.h: media_ocr_time_ms, media_asr_time_ms, media_job_memory_mb), on the
 * bytes stored by the attachment upload
 * (DATA/media/<tenant>/<sha256>). The results become annotations ("ocr", "asr") and their text
 * is handed back so that intent and entities are computed over what the customer showed or
 * said (speech; text in images is handled by annotate.c). A missing, corrupt or unsupported file becomes a "media_error" annotation; the message
 * itself is never affected.
 */
#include "sb/assist.h"

#include "sb/log.h"
#include "sb/media.h"
#include "sb/media_job.h"
#include "sb/file.h"
#include "sb/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MEDIA_BYTES (16u * 1024 * 1024)
#define MAX_MEDIA_PARTS 4

static int is_sha(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* Reads the stored file into a malloc'd buffer. */
static int read_media(const char *dir, sb_id tenant, const char *sha, char **out, size_t *n,
                      struct sb_error *err)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%lld/%s", dir, (long long)tenant, sha);
    int rc = sb_file_read(path, MAX_MEDIA_BYTES, out, n, NULL);
    if (rc == SB_ENOTFOUND)
        return sb_error_set(err, rc, "media %.12s… is not stored", sha);
    if (rc == SB_ETOOBIG)
        return sb_error_set(err, rc, "media %.12s… is too large", sha);
    if (rc)
        return sb_error_set(err, rc, "media %.12s… could not be read", sha);
    return 0;
}

static json_t *ocr(const char *data, size_t n, uint32_t time_ms, struct sb_buf *text,
                   struct sb_error *err)
{
    struct sb_ocr_opts o = {.preprocess = SB_OCR_PRE_DEFAULT,
                            .time_limit_ms = time_ms,
                            .key_fields = 1};
    struct sb_ocr_result res = {0};
    if (sb_media_ocr_image(data, n, &o, NULL, &res, err))
        return NULL;
    json_t *f = json_object();
    json_object_set_new(f, "company", json_string(res.fields.company ? res.fields.company : ""));
    json_object_set_new(f, "date", json_string(res.fields.date ? res.fields.date : ""));
    json_object_set_new(f, "address", json_string(res.fields.address ? res.fields.address : ""));
    json_object_set_new(f, "total", json_string(res.fields.total ? res.fields.total : ""));
    json_t *o2 = json_object();
    const char *t = res.page.text ? res.page.text : "";
    json_object_set_new(o2, "text", json_string(t));
    json_object_set_new(o2, "fields", f);
    json_object_set_new(o2, "confidence", json_real(res.page.conf));
    json_object_set_new(o2, "seconds", json_real(res.seconds));
    (void)text; /* text in an image is evidence, not the customer's words: see annotate.c */
    sb_media_ocr_result_cleanup(&res);
    return o2;
}

static enum sb_asr_mode asr_mode(const char *grammar)
{
    if (grammar && strcmp(grammar, "digits") == 0)
        return SB_ASR_DIGITS;
    if (grammar && strcmp(grammar, "yesno") == 0)
        return SB_ASR_YESNO;
    return SB_ASR_FREE;
}

static json_t *asr(const char *data, size_t n, const char *grammar, uint32_t time_ms,
                   struct sb_buf *text, struct sb_error *err)
{
    struct sb_asr_opts o = {.mode = asr_mode(grammar), .time_limit_ms = time_ms};
    struct sb_asr_result res = {0};
    if (sb_media_asr_wav(data, n, &o, NULL, &res, err))
        return NULL;
    json_t *a = json_object();
    const char *t = res.text ? res.text : "";
    json_object_set_new(a, "text", json_string(t));
    json_object_set_new(a, "confidence", json_real(res.conf));
    json_object_set_new(a, "engine", json_string(res.engine ? res.engine : ""));
    json_object_set_new(a, "audio_seconds", json_real(res.audio_seconds));
    if (*t) {
        sb_buf_appends(text, "\n");
        sb_buf_appends(text, t);
    }
    sb_media_asr_result_cleanup(&res);
    return a;
}

/* One recognition job (run in a child process under the limits of media_job.h). */
struct job {
    int is_ocr;
    const char *data;
    size_t n;
    const char *grammar;
    uint32_t time_ms;
};

static int job_fn(void *arg, struct sb_buf *out, struct sb_error *err)
{
    struct job *j = arg;
    struct sb_buf unused;
    sb_buf_init(&unused, 1u << 20);
    json_t *res = j->is_ocr ? ocr(j->data, j->n, j->time_ms, &unused, err)
                            : asr(j->data, j->n, j->grammar, j->time_ms, &unused, err);
    sb_buf_cleanup(&unused);
    if (!res)
        return err->code ? err->code : sb_error_set(err, SB_EINTERNAL, "no result");
    char *s = json_dumps(res, JSON_COMPACT);
    json_decref(res);
    int rc = s ? sb_buf_appends(out, s) : SB_ENOMEM;
    free(s);
    return rc ? sb_error_set(err, rc, "result too large") : 0;
}

/* Runs OCR or ASR over `data` under the configured per-job limits; the annotation object, or
 * NULL with `err` set. Appends a transcript to `text`. */
static json_t *recognise(int is_ocr, const char *data, size_t n, const char *grammar,
                         struct sb_buf *text, struct sb_error *err)
{
    struct sb_media_job_limits lim;
    sb_media_job_limits_get(!is_ocr, &lim);
    /* engine state is loaded here, once per thread, and inherited by each job's child */
    if (lim.isolate)
        sb_media_job_warm_up(!is_ocr, is_ocr ? 0 : (int)asr_mode(grammar));
    struct job j = {is_ocr, data, n, grammar, lim.time_ms};
    char *out = NULL;
    size_t len = 0;
    if (sb_media_job_run(&lim, job_fn, &j, &out, &len, err))
        return NULL;
    json_t *res = json_loadb(out, len, 0, NULL);
    free(out);
    if (!json_is_object(res)) {
        json_decref(res);
        sb_error_set(err, SB_EINTERNAL, "the job's result is not a JSON object");
        return NULL;
    }
    const char *t = json_string_value(json_object_get(res, "text"));
    if (!is_ocr && t && *t) {
        sb_buf_appends(text, "\n");
        sb_buf_appends(text, t);
    }
    return res;
}

char *sb_assist_media_annotate(const char *media_dir, const struct sb_message *msg,
                               void *annotations)
{
    json_t *out = annotations;
    if (!msg->parts_json || !strstr(msg->parts_json, "\"media\""))
        return NULL;
    json_t *parts = json_loads(msg->parts_json, 0, NULL);
    if (!json_is_array(parts)) {
        json_decref(parts);
        return NULL;
    }
    struct sb_buf text;
    sb_buf_init(&text, 1u << 20);
    size_t i, done = 0;
    json_t *p;
    json_array_foreach(parts, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *sha = json_string_value(json_object_get(p, "media"));
        if (!type || (strcmp(type, "image") && strcmp(type, "audio")) || !sha)
            continue;
        if (done++ == MAX_MEDIA_PARTS)
            break;
        const char *key = strcmp(type, "image") == 0 ? "ocr" : "asr";
        if (json_object_get(out, key))
            continue; /* the first image and the first voice note are understood */
        struct sb_error err = {0};
        char *data = NULL;
        size_t n = 0;
        json_t *res = NULL;
        int rc;
        if (!media_dir || !is_sha(sha))
            rc = sb_error_set(&err, SB_EINVAL, "part without a stored media file");
        else
            rc = read_media(media_dir, msg->tenant_id, sha, &data, &n, &err);
        if (rc == 0)
            res = recognise(key[0] == 'o', data, n,
                            json_string_value(json_object_get(p, "grammar")), &text, &err);
        free(data);
        if (res) {
            json_object_set_new(out, key, res);
        } else {
            if (!err.code)
                sb_error_set(&err, SB_EINTERNAL, "no result");
            char msgbuf[320];
            snprintf(msgbuf, sizeof(msgbuf), "%s: %s: %s", key, sb_err_name(err.code),
                     err.msg);
            SB_LOG(SB_LOG_WARN, "media", "message %lld: %s", (long long)msg->id, msgbuf);
            json_object_set_new(out, "media_error", json_string(msgbuf));
        }
    }
    json_decref(parts);
    size_t len = 0;
    char *s = sb_buf_steal(&text, &len);
    if (!s || len == 0) {
        free(s);
        return NULL;
    }
    return s;
}
