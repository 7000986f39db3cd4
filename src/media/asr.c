/* SPDX-License-Identifier: MIT */
/*
 * ASR front door: the engine registration check, the result type and sb_media_asr_wav(), the
 * entry point the pipeline calls from worker threads (sniff → bounded WAV parse → engine choice
 * → recognition under the job's time limit). Engine choice: for spoken digits our own
 * recogniser (asr_digits.c) when it can answer, pocketsphinx for everything else.
 */
#include "media_internal.h"
#include "sb/clock.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

int sb_asr_engine_check(const struct sb_asr_ops *ops, struct sb_error *err)
{
    if (!ops)
        return sb_error_set(err, SB_EINVAL, "asr engine: NULL");
    if (ops->api_version != SB_ASR_API_VERSION)
        return sb_error_set(err, SB_EINVAL, "asr engine %s: api version %d, expected %d",
                            ops->name ? ops->name : "?", ops->api_version, SB_ASR_API_VERSION);
    if (!ops->name || !ops->name[0])
        return sb_error_set(err, SB_EINVAL, "asr engine: no name");
    if (!ops->supports || !ops->recognize)
        return sb_error_set(err, SB_EINVAL, "asr engine %s: supports and recognize are mandatory",
                            ops->name);
    return 0;
}

void sb_media_asr_result_cleanup(struct sb_asr_result *r)
{
    if (!r)
        return;
    free(r->text);
    memset(r, 0, sizeof(*r));
}

void sb_media_thread_cleanup(void)
{
    if (sb_ocr_tesseract.thread_cleanup)
        sb_ocr_tesseract.thread_cleanup();
    if (sb_asr_pocketsphinx.thread_cleanup)
        sb_asr_pocketsphinx.thread_cleanup();
    if (sb_asr_digits.thread_cleanup)
        sb_asr_digits.thread_cleanup();
}

int sb_media_asr_wav(const void *data, size_t n, const struct sb_asr_opts *opts,
                     const struct sb_asr_ops *engine, struct sb_asr_result *out,
                     struct sb_error *err)
{
    static const struct sb_asr_opts defaults = {.mode = SB_ASR_FREE};
    if (!opts)
        opts = &defaults;
    if (opts->mode == SB_ASR_OPTIONS && (!opts->options || !opts->n_options))
        return sb_error_set(err, SB_EINVAL, "asr: option mode without options");
    if (!engine)
        engine = opts->mode == SB_ASR_DIGITS && sb_asr_digits.supports(SB_ASR_DIGITS)
                     ? &sb_asr_digits
                     : &sb_asr_pocketsphinx;
    int rc = sb_asr_engine_check(engine, err);
    if (rc)
        return rc;
    if (!engine->supports(opts->mode))
        return sb_error_set(err, SB_EUNSUPPORTED, "asr: engine %s does not do this mode",
                            engine->name);
    size_t max = opts->max_bytes ? opts->max_bytes : SB_MEDIA_WAV_MAX_BYTES;
    if (n > max)
        return sb_error_set(err, SB_ETOOBIG, "audio: %zu bytes, limit %zu", n, max);
    char mime[64];
    if (sb_media_sniff(data, n, mime, sizeof mime) != SB_MEDIA_AUDIO)
        return sb_error_set(err, SB_EUNSUPPORTED, "audio: type %s is not WAV", mime);
    struct sb_audio a = {0};
    rc = sb_media_wav_parse(data, n, max, opts->max_seconds, &a, err);
    if (rc)
        return rc;
    struct sb_asr_result r = {0};
    int64_t t0 = sb_mono_ns();
    rc = engine->recognize(&a, opts, &r, err);
    if (rc == 0) {
        r.seconds = (double)(sb_mono_ns() - t0) / 1e9;
        r.audio_seconds = (double)a.n / a.rate;
        if (!r.engine)
            r.engine = engine->name;
        if (!r.text)
            r.text = sb_strdup("");
        *out = r;
    } else {
        sb_media_asr_result_cleanup(&r);
    }
    sb_audio_cleanup(&a);
    return rc;
}
