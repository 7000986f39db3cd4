/* SPDX-License-Identifier: MIT */
/*
 * The pocketsphinx engine (Debian's 5prealpha API, US English acoustic model, CMU dictionary and
 * the general language model). One decoder per worker thread, created on first use (about a
 * second: the dictionary is large) and kept; constrained modes are JSGF grammars registered on
 * it (digits and yes/no once, option lists per call). Audio is resampled to the model's 16 kHz
 * and fed in quarter-second chunks so the job's deadline is checked while decoding.
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <math.h>
#include <pocketsphinx.h>
#include <pthread.h>
#include <sphinxbase/err.h>
#include <stdlib.h>
#include <string.h>

#ifndef SB_PSPHINX_MODELDIR
#define SB_PSPHINX_MODELDIR "/usr/share/pocketsphinx/model"
#endif

#define PS_RATE 16000
#define CHUNK (PS_RATE / 4)
#define OPTIONS_MAX 64
#define OPTION_LEN_MAX 200

struct ps_thread {
    ps_decoder_t *ps;
    cmd_ln_t *config;
    char *options_jsgf; /* the option grammar last compiled on this decoder */
};

static pthread_key_t ps_key;
static pthread_once_t ps_once = PTHREAD_ONCE_INIT;

static void ps_thread_free(void *p)
{
    struct ps_thread *t = p;
    if (!t)
        return;
    if (t->ps)
        ps_free(t->ps);
    if (t->config)
        cmd_ln_free_r(t->config);
    free(t->options_jsgf);
    free(t);
}

static void ps_key_init(void)
{
    pthread_key_create(&ps_key, ps_thread_free);
    err_set_logfp(NULL); /* pocketsphinx logs every step to stderr otherwise */
}

static void ps_thread_cleanup(void)
{
    pthread_once(&ps_once, ps_key_init);
    struct ps_thread *t = pthread_getspecific(ps_key);
    pthread_setspecific(ps_key, NULL);
    ps_thread_free(t);
}

static const char digits_jsgf[] =
    "#JSGF V1.0;\ngrammar digits;\npublic <digits> = <digit>+;\n"
    "<digit> = zero | oh | one | two | three | four | five | six | seven | eight | nine;\n";
static const char yesno_jsgf[] = "#JSGF V1.0;\ngrammar yesno;\npublic <yn> = yes | no;\n";

static ps_decoder_t *ps_handle(struct sb_error *err)
{
    pthread_once(&ps_once, ps_key_init);
    struct ps_thread *t = pthread_getspecific(ps_key);
    if (t)
        return t->ps;
    const char *dir = getenv("SB_POCKETSPHINX_MODEL");
    char *hmm = dir ? sb_strdupf("%s/en-us", dir) : sb_strdupf("%s/en-us/en-us", SB_PSPHINX_MODELDIR);
    char *dict = dir ? sb_strdupf("%s/cmudict-en-us.dict", dir)
                     : sb_strdupf("%s/en-us/cmudict-en-us.dict", SB_PSPHINX_MODELDIR);
    char *lm = dir ? sb_strdupf("%s/en-us.lm.bin", dir)
                   : sb_strdupf("%s/en-us/en-us.lm.bin", SB_PSPHINX_MODELDIR);
    t = sb_calloc(1, sizeof(*t));
    t->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-dict", dict, "-lm", lm,
                            "-logfn", "/dev/null", NULL);
    if (t->config)
        t->ps = ps_init(t->config);
    if (t->ps) {
        if (ps_set_jsgf_string(t->ps, "digits", digits_jsgf) != 0 ||
            ps_set_jsgf_string(t->ps, "yesno", yesno_jsgf) != 0) {
            ps_free(t->ps);
            t->ps = NULL;
        }
    }
    if (!t->ps) {
        sb_error_set(err, SB_ECONFIG, "asr: pocketsphinx model not loadable from %s", hmm);
        ps_thread_free(t);
        t = NULL;
    } else {
        pthread_setspecific(ps_key, t);
    }
    free(hmm);
    free(dict);
    free(lm);
    return t ? t->ps : NULL;
}

static int ps_supports(enum sb_asr_mode mode)
{
    return mode == SB_ASR_FREE || mode == SB_ASR_DIGITS || mode == SB_ASR_YESNO ||
           mode == SB_ASR_OPTIONS;
}

/* JSGF for a list of phrases; every word must be in the dictionary. */
static int options_grammar(ps_decoder_t *ps, const struct sb_asr_opts *opts, struct sb_buf *g,
                           struct sb_error *err)
{
    if (opts->n_options > OPTIONS_MAX)
        return sb_error_set(err, SB_ETOOBIG, "asr: %zu options, limit %d", opts->n_options,
                            OPTIONS_MAX);
    sb_buf_appends(g, "#JSGF V1.0;\ngrammar options;\npublic <opt> = ");
    for (size_t i = 0; i < opts->n_options; i++) {
        const char *o = opts->options[i];
        if (!o || !o[0] || strlen(o) > OPTION_LEN_MAX)
            return sb_error_set(err, SB_EINVAL, "asr: option %zu empty or too long", i);
        sb_buf_appends(g, i ? " | (" : "(");
        char *copy = sb_strdup(o), *save = NULL;
        int words = 0;
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
            for (char *c = w; *c; c++) {
                if (!((*c >= 'a' && *c <= 'z') || *c == '\'')) {
                    free(copy);
                    return sb_error_set(err, SB_EINVAL, "asr: option %zu: only lower-case "
                                                        "words", i);
                }
            }
            char *pron = ps_lookup_word(ps, w);
            if (!pron) {
                sb_error_set(err, SB_EINVAL, "asr: option %zu: '%.40s' not in the dictionary",
                             i, w);
                free(copy);
                return SB_EINVAL;
            }
            ckd_free(pron);
            sb_buf_appendf(g, "%s%s", words++ ? " " : "", w);
        }
        free(copy);
        if (!words)
            return sb_error_set(err, SB_EINVAL, "asr: option %zu has no words", i);
        sb_buf_appends(g, ")");
    }
    sb_buf_appends(g, ";\n");
    return 0;
}

static int ps_recognize(const struct sb_audio *audio, const struct sb_asr_opts *opts,
                        struct sb_asr_result *out, struct sb_error *err)
{
    int64_t deadline = sb__media_deadline(opts->time_limit_ms);
    ps_decoder_t *ps = ps_handle(err);
    if (!ps)
        return SB_ECONFIG;
    const char *search = "_default";
    int rc = 0;
    if (opts->mode == SB_ASR_DIGITS) {
        search = "digits";
    } else if (opts->mode == SB_ASR_YESNO) {
        search = "yesno";
    } else if (opts->mode == SB_ASR_OPTIONS) {
        struct sb_buf g;
        sb_buf_init(&g, 0);
        rc = options_grammar(ps, opts, &g, err);
        /* sphinxbase's JSGF compiler leaks a few KB per grammar: compile a menu only when it
         * differs from the last one used on this thread (menus repeat) */
        struct ps_thread *t = pthread_getspecific(ps_key);
        if (!rc && !(t->options_jsgf && strcmp(t->options_jsgf, g.data) == 0)) {
            if (ps_set_jsgf_string(ps, "options", g.data) != 0) {
                rc = sb_error_set(err, SB_EINVAL, "asr: option grammar rejected");
            } else {
                free(t->options_jsgf);
                t->options_jsgf = sb_strdup(g.data);
            }
        }
        sb_buf_cleanup(&g);
        if (rc)
            return rc;
        search = "options";
    }
    if (ps_set_search(ps, search) != 0)
        return sb_error_set(err, SB_EINTERNAL, "asr: search %s missing", search);

    struct sb_audio a16 = {0};
    rc = sb_media_resample(audio, PS_RATE, &a16);
    if (rc)
        return sb_error_set(err, rc, "asr: cannot resample %d Hz", audio->rate);
    if (ps_start_utt(ps) != 0) {
        rc = sb_error_set(err, SB_EINTERNAL, "asr: decoder would not start");
        goto out;
    }
    for (size_t off = 0; off < a16.n; off += CHUNK) {
        size_t len = a16.n - off < CHUNK ? a16.n - off : CHUNK;
        if (ps_process_raw(ps, a16.samples + off, len, FALSE, FALSE) < 0) {
            ps_end_utt(ps);
            rc = sb_error_set(err, SB_EINTERNAL, "asr: decoding failed");
            goto out;
        }
        if (sb__media_past(deadline)) {
            ps_end_utt(ps);
            rc = sb_error_set(err, SB_ETIMEDOUT, "asr: time limit of %u ms passed",
                              opts->time_limit_ms);
            goto out;
        }
    }
    ps_end_utt(ps);
    int32 score = 0;
    const char *hyp = ps_get_hyp(ps, &score);
    int32 prob = ps_get_prob(ps);
    out->text = sb_strdup(hyp ? hyp : "");
    /* "oh" is how many people say zero in digit strings */
    if (opts->mode == SB_ASR_DIGITS) {
        struct sb_buf b;
        sb_buf_init(&b, 0);
        char *save = NULL;
        for (char *w = strtok_r(out->text, " ", &save); w; w = strtok_r(NULL, " ", &save))
            sb_buf_appendf(&b, "%s%s", b.len ? " " : "", strcmp(w, "oh") == 0 ? "zero" : w);
        free(out->text);
        out->text = b.data ? sb_buf_steal(&b, NULL) : sb_strdup("");
        sb_buf_cleanup(&b);
    }
    double p = prob ? logmath_exp(ps_get_logmath(ps), prob) : 0;
    out->conf = (float)(p > 1 ? 1 : p < 0 ? 0 : p);
    out->engine = "pocketsphinx";
out:
    sb_audio_cleanup(&a16);
    return rc;
}

const struct sb_asr_ops sb_asr_pocketsphinx = {
    .api_version = SB_ASR_API_VERSION,
    .name = "pocketsphinx",
    .supports = ps_supports,
    .recognize = ps_recognize,
    .thread_cleanup = ps_thread_cleanup,
};
